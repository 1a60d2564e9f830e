//! The chart's values that land in satpam.toml: principals, tracing, the
//! console and webhook listeners, each rendered and loaded as a `Config`.

use super::*;

#[test]
fn auth_principals_flow_into_the_config_and_load() {
    let objects = render(&[
        "auth.insecure=false",
        "auth.principals[0].name=bsp-1-ingest",
        "auth.principals[0].tokenSha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "auth.principals[0].roles={ingest,watch}",
        "auth.principals[0].tenants={bsp-1,bsp-2}",
        "auth.principals[1].name=ops",
        "auth.principals[1].certSubject=CN=ops",
        "auth.principals[1].roles={read}",
        "auth.principals[1].tenants={*}",
    ]);
    let toml = scalar(&objects["ConfigMap/satpam-config"]["data"]["satpam.toml"]);
    let c = Config::from_toml(&toml, "helm", Vec::new())
        .unwrap_or_else(|e| panic!("the chart's satpam.toml does not load: {e}\n{toml}"));
    assert!(!c.auth.insecure);
    let names: Vec<&str> = c.auth.principals.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["bsp-1-ingest", "ops"]);
    assert_eq!(c.auth.principals[0].tenants, ["bsp-1", "bsp-2"]);
    assert_eq!(c.auth.principals[1].cert_subject.as_deref(), Some("CN=ops"));
    // Without principals and without insecure, the chart's 0.0.0.0 listener is refused.
    let open = render(&["auth.insecure=false"]);
    let toml = scalar(&open["ConfigMap/satpam-config"]["data"]["satpam.toml"]);
    let e = Config::from_toml(&toml, "helm", Vec::new()).expect_err("refused");
    assert!(e.to_string().contains("not a loopback address"), "{e}");
}

#[test]
fn tracing_is_off_by_default_and_its_values_reach_the_config() {
    let toml = |sets: &[&str]| {
        let objects = render(sets);
        scalar(&objects["ConfigMap/satpam-config"]["data"]["satpam.toml"])
    };
    let off = toml(&[]);
    assert!(!off.contains("[tracing]"), "{off}");
    let on = toml(&[
        "tracing.otlpEndpoint=http://otel-agent:4317",
        "tracing.sampleRatio=1",
        "tracing.serviceName=satpam-eu",
    ]);
    let c = Config::from_toml(&on, "helm", Vec::new())
        .unwrap_or_else(|e| panic!("the chart's satpam.toml does not load: {e}\n{on}"));
    assert!(c.tracing.enabled());
    assert_eq!(c.tracing.otlp_endpoint, "http://otel-agent:4317");
    assert_eq!(c.tracing.sample_ratio, 1.0);
    assert_eq!(c.tracing.service_name, "satpam-eu");
}

#[test]
fn the_console_and_webhook_listeners_are_off_by_default_and_their_values_reach_the_config() {
    let rendered = |sets: &[&str]| {
        let objects = render(sets);
        let toml = scalar(&objects["ConfigMap/satpam-config"]["data"]["satpam.toml"]);
        let ports = strings_of_ports(&objects["Deployment/satpam"]);
        (toml, ports)
    };
    let (off, ports) = rendered(&[]);
    assert!(
        !off.contains("[console]") && !off.contains("[webhook]"),
        "{off}"
    );
    assert!(!ports.contains(&"console".to_string()), "{ports:?}");
    let (on, ports) = rendered(&[
        "console.enabled=true",
        "console.port=8089",
        "console.trustedHeader=X-Forwarded-User",
        "console.backtestDir=/data/recorded",
        "auth.principals[0].name=analyst",
        &format!("auth.principals[0].tokenSha256={}", "ab".repeat(32)),
        "auth.principals[0].roles={read,override}",
        "auth.principals[0].tenants={bsp-1}",
        "webhook.enabled=true",
        "webhook.port=8443",
        "webhook.apps[0].tenantId=bsp-1",
        "webhook.apps[0].appSecretEnv=SATPAM_APP_SECRET_BSP1",
        "webhook.apps[0].verifyTokenEnv=SATPAM_VERIFY_TOKEN_BSP1",
    ]);
    assert!(ports.contains(&"console".to_string()) && ports.contains(&"webhook".to_string()));
    let env = vec![
        ("SATPAM_APP_SECRET_BSP1".to_string(), "s3cret".to_string()),
        ("SATPAM_VERIFY_TOKEN_BSP1".to_string(), "v".to_string()),
    ];
    let c = Config::from_toml(&on, "helm", env)
        .unwrap_or_else(|e| panic!("the chart's satpam.toml does not load: {e}\n{on}"));
    assert_eq!(c.console.listen, "0.0.0.0:8089");
    assert_eq!(c.console.trusted_header, "X-Forwarded-User");
    assert_eq!(c.console.backtest_dir, "/data/recorded");
    assert_eq!(c.webhook.listen, "0.0.0.0:8443");
    assert_eq!(c.webhook.apps.len(), 1);
    assert_eq!(c.webhook.apps[0].tenant_id, "bsp-1");
    assert_eq!(
        c.webhook.apps[0].app_secret, "s3cret",
        "the secret from the environment"
    );
}
