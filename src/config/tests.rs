//! The config's tests: defaults, files, environment overrides, errors
//! with their line.

use std::path::PathBuf;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn errors_name_the_line_of_the_key_they_are_about() {
    let err = |src: &str| {
        Config::from_toml(src, "c.toml", env(&[]))
            .expect_err(src)
            .to_string()
    };
    // A type error and an unknown key: the line from the parser's span.
    let e = err("[grpc]\nlisten = \"0.0.0.0:1\"\n\n[kafka]\nworkers = \"two\"\n");
    assert!(e.starts_with("c.toml:5: "), "{e}");
    let e = err("[engine]\nreload_poll_ms = 5\nrules_file = \"x\"\n");
    assert!(e.starts_with("c.toml:3: "), "{e}");
    assert!(e.contains("rules_file"), "{e}");
    // A value that parses but cannot work: the line of its key.
    let e = err("[metrics]\nlisten = \"0.0.0.0:1\"\n[grpc]\n\nlisten = \"nowhere\"\n");
    assert!(e.starts_with("c.toml:5: grpc.listen"), "{e}");
    // From the environment: no line to give.
    let e = Config::from_toml("", "c.toml", env(&[("SATPAM_GRPC__LISTEN", "nowhere")]))
        .expect_err("env")
        .to_string();
    assert!(e.starts_with("c.toml: grpc.listen"), "{e}");
    assert!(e.ends_with("(set by SATPAM_GRPC__LISTEN)"), "{e}");
}

#[test]
fn embedded_default_has_no_broker_and_documented_addresses() {
    let c = Config::load(None, env(&[])).expect("default");
    assert!(!c.kafka.enabled());
    assert_eq!(c.grpc.listen, "127.0.0.1:50051");
    assert_eq!(c.metrics.listen, "127.0.0.1:9464");
    assert_eq!(c.sinks.jsonl, Some(PathBuf::from("satpam-signals.jsonl")));
}

#[test]
fn env_overrides_win_over_the_file_and_keep_types() {
    let src = "[kafka]\nbrokers = \"a:9092\"\nworkers = 4\n";
    let c = Config::from_toml(
        src,
        "t.toml",
        env(&[
            ("SATPAM_KAFKA__WORKERS", "3"),
            ("SATPAM_KAFKA__GROUP_ID", "g2"),
            ("SATPAM_KAFKA__CONSUMER__SECURITY.PROTOCOL", "ssl"),
            ("HOME", "/root"),
        ]),
    )
    .expect("config");
    assert_eq!(c.kafka.brokers, "a:9092");
    assert_eq!(c.kafka.workers, 3);
    assert_eq!(c.kafka.group_id, "g2");
    assert_eq!(
        c.kafka
            .consumer
            .get("security.protocol")
            .map(String::as_str),
        Some("ssl")
    );
}

#[test]
fn bad_configs_say_where_and_why() {
    /// (TOML, environment, what the error must mention)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "[grpc]\nlisten = 5\n",
            &[],
            "t.toml:2: invalid type: integer `5`, expected a string",
        ),
        (
            "[grpc]\nlisten = \"nowhere\"\n",
            &[],
            "t.toml:2: grpc.listen: `nowhere` is not an ip:port address",
        ),
        (
            "\n[engine]\nbogus = 1\n",
            &[],
            "t.toml:3: unknown field `bogus`, expected one of `rules`",
        ),
        ("\n\n[kafka\n", &[], "t.toml:3: "),
        (
            "",
            &[("SATPAM_KAFKA__WORKERS", "many")],
            "SATPAM_KAFKA__WORKERS=\"many\": invalid type: string \"many\", expected usize",
        ),
        (
            "[kafka]\nbrokers = \"a:1\"\nevents_topic = \"\"\n",
            &[],
            "t.toml:3: kafka.events_topic must be set when kafka.brokers is",
        ),
    ];
    for (src, vars, want) in cases {
        let err = Config::from_toml(src, "t.toml", env(vars))
            .expect_err(src)
            .to_string();
        assert!(err.starts_with(want), "{src:?}: {err}");
    }
}

#[test]
fn empty_paths_mean_none_and_print_back_as_empty() {
    let src = "[engine]\nrules = \"\"\n[kafka]\nstate_dir = \"\"\n[sinks]\njsonl = \"\"\n";
    let c = Config::from_toml(src, "t.toml", env(&[])).expect("config");
    assert_eq!(c.engine.rules, None);
    assert_eq!(c.kafka.state_dir, None);
    assert_eq!(c.sinks.jsonl, None, "empty jsonl is off");
    let again = Config::from_toml(&c.to_toml(), "printed", env(&[])).expect("again");
    assert_eq!(
        again.sinks.jsonl, None,
        "off stays off through --print-config"
    );
    let off = Config::load(None, env(&[("SATPAM_SINKS__JSONL", "")])).expect("env");
    assert_eq!(off.sinks.jsonl, None);
}

#[test]
fn librdkafka_values_stay_strings_whatever_they_look_like() {
    let c = Config::from_toml(
        "[kafka.producer]\n\"linger.ms\" = 5\n\"enable.idempotence\" = true\n",
        "t.toml",
        env(&[
            ("SATPAM_KAFKA__CONSUMER__SESSION.TIMEOUT.MS", "30000"),
            ("SATPAM_KAFKA__CONSUMER__SASL.PASSWORD", "007"),
            ("SATPAM_KAFKA__PRODUCER__BATCH.SIZE", "1.5"),
            ("SATPAM_KAFKA__GROUP_ID", "0042"),
        ]),
    );
    let c = c.expect("config");
    assert_eq!(c.kafka.consumer["session.timeout.ms"], "30000");
    assert_eq!(c.kafka.consumer["sasl.password"], "007");
    assert_eq!(c.kafka.producer["batch.size"], "1.5");
    assert_eq!(c.kafka.producer["linger.ms"], "5");
    assert_eq!(c.kafka.producer["enable.idempotence"], "true");
    assert_eq!(c.kafka.group_id, "0042", "a string key stays a string");
}

#[test]
fn printed_config_loads_back_to_the_same() {
    let c = Config::load(None, env(&[("SATPAM_KAFKA__BROKERS", "b:1")])).expect("c");
    let again = Config::from_toml(&c.to_toml(), "printed", env(&[])).expect("again");
    assert_eq!(c, again);
}

#[test]
fn keys_that_no_longer_apply_load_with_a_warning_naming_them() {
    // kafka.queue_capacity (per-worker queues, gone with the per-partition
    // queues) and metrics.quantile_window_s: old configs still load.
    let src =
        "[kafka]\nbrokers = \"b:1\"\nqueue_capacity = 4096\n[metrics]\nquantile_window_s = 60\n";
    let c = Config::from_toml(src, "old.toml", env(&[])).expect("an old config loads");
    let warnings = c.ignored_keys();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("metrics.quantile_window_s is ignored"));
    assert!(
        warnings[1].starts_with("kafka.queue_capacity = 4096 is ignored")
            && warnings[1].contains("kafka.queue_bytes"),
        "{}",
        warnings[1]
    );
    // Set from the environment, even to 0 (it bounded nothing for a while).
    let c = Config::from_toml(
        "",
        "c.toml",
        env(&[
            ("SATPAM_KAFKA__BROKERS", "b:1"),
            ("SATPAM_KAFKA__QUEUE_CAPACITY", "0"),
        ]),
    )
    .expect("env");
    assert_eq!(c.kafka.queue_capacity, Some(0));
    assert_eq!(c.ignored_keys().len(), 1);
    // Unset: nothing to warn about, and the printed config leaves it out.
    let c = Config::load(None, env(&[("SATPAM_KAFKA__BROKERS", "b:1")])).expect("c");
    assert!(c.ignored_keys().is_empty());
    assert!(!c.to_toml().contains("queue_capacity"), "{}", c.to_toml());
    // queue_bytes still means something and is still checked.
    let e = Config::from_toml(
        "[kafka]\nbrokers = \"b:1\"\nqueue_bytes = 0\n",
        "c.toml",
        env(&[]),
    )
    .expect_err("queue_bytes 0")
    .to_string();
    assert_eq!(e, "c.toml:3: kafka.queue_bytes must be at least 1");
}

#[test]
fn webhook_secrets_come_from_the_value_env_or_file_and_are_never_printed() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("secret");
    std::fs::write(&file, "from-file\n").expect("write");
    let src = format!(
        "[webhook]\nlisten = \"127.0.0.1:0\"\n\
         [[webhook.apps]]\ntenant_id = \"a\"\napp_secret = \"inline\"\n\
         [[webhook.apps]]\ntenant_id = \"b\"\napp_secret_env = \"B_SECRET\"\nverify_token_env = \"B_TOKEN\"\n\
         [[webhook.apps]]\ntenant_id = \"c\"\napp_secret_file = {:?}\n",
        file.display().to_string()
    );
    let c = Config::from_toml(
        &src,
        "t.toml",
        env(&[("B_SECRET", "from-env"), ("B_TOKEN", "token-7f3")]),
    )
    .expect("config");
    let secrets: Vec<&str> = c
        .webhook
        .apps
        .iter()
        .map(|a| a.app_secret.as_str())
        .collect();
    assert_eq!(secrets, ["inline", "from-env", "from-file"]);
    assert_eq!(c.webhook.apps[1].verify_token, "token-7f3");
    assert_eq!(c.webhook.path, "/webhooks/whatsapp");
    let printed = c.to_toml();
    for secret in ["inline", "from-env", "from-file", "token-7f3"] {
        assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
    }
    assert!(
        printed.contains("B_SECRET"),
        "the variable's name is printed"
    );
}

#[test]
fn bad_webhook_configs_say_why() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("[webhook]\nlisten = \"nowhere\"\n", &[], "webhook.listen"),
        ("[webhook]\nlisten = \"127.0.0.1:0\"\n", &[], "no [[webhook.apps]]"),
        (
            "[webhook]\nlisten = \"127.0.0.1:0\"\npath = \"webhooks\"\n[[webhook.apps]]\ntenant_id = \"a\"\napp_secret = \"s\"\n",
            &[],
            "webhook.path",
        ),
        (
            "[webhook]\nlisten = \"127.0.0.1:0\"\n[[webhook.apps]]\ntenant_id = \"a\"\n",
            &[],
            "app_secret",
        ),
        (
            "[webhook]\nlisten = \"127.0.0.1:0\"\n[[webhook.apps]]\ntenant_id = \"a\"\napp_secret_env = \"NOPE\"\n",
            &[],
            "NOPE",
        ),
        (
            "[webhook]\nlisten = \"127.0.0.1:0\"\n[[webhook.apps]]\ntenant_id = \"a\"\napp_secret_file = \"/nonexistent/s\"\n",
            &[],
            "/nonexistent/s",
        ),
    ];
    for (src, vars, want) in cases {
        let err = Config::from_toml(src, "t.toml", env(vars))
            .expect_err(src)
            .to_string();
        assert!(err.contains(want), "{src:?}: {err}");
    }
    let off = Config::from_toml("[webhook]\nlisten = \"\"\n", "t.toml", env(&[])).expect("off");
    assert!(off.webhook.apps.is_empty());
}

#[test]
fn tracing_is_off_by_default_and_its_values_are_checked() {
    let c = Config::load(None, env(&[])).expect("default");
    assert!(!c.tracing.enabled());
    assert_eq!(c.tracing.sample_ratio, 0.01);
    assert_eq!(c.tracing.service_name, "satpam");
    // `1` from the environment is the float 1.0, as the README shows.
    let c = Config::from_toml(
        "",
        "t.toml",
        env(&[
            ("SATPAM_TRACING__OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("SATPAM_TRACING__SAMPLE_RATIO", "1"),
        ]),
    )
    .expect("env");
    assert!(c.tracing.enabled());
    assert_eq!(c.tracing.sample_ratio, 1.0);
    let cases: &[(&str, &str)] = &[
        (
            "[tracing]\n\nsample_ratio = 1.5\n",
            "t.toml:3: tracing.sample_ratio: 1.5 is not between 0.0 and 1.0",
        ),
        (
            "[tracing]\nsample_ratio = -0.1\n",
            "t.toml:2: tracing.sample_ratio: -0.1 is not between",
        ),
        (
            "[tracing]\nsample_ratio = nan\n",
            "t.toml:2: tracing.sample_ratio: NaN is not between",
        ),
        (
            "[tracing]\notlp_endpoint = \"collector:4317\"\n",
            "t.toml:2: tracing.otlp_endpoint: `collector:4317` is not an http:// URL",
        ),
        (
            "[tracing]\notlp_endpoint = \"https://c:4317\"\n",
            "t.toml:2: tracing.otlp_endpoint: `https://c:4317` is not an http:// URL (TLS to the collector is not supported)",
        ),
        (
            "[tracing]\notlp_endpoint = \"http://c:4317\"\nservice_name = \" \"\n",
            "t.toml:3: tracing.service_name must be set",
        ),
    ];
    for (src, want) in cases {
        let err = Config::from_toml(src, "t.toml", env(&[]))
            .expect_err(src)
            .to_string();
        assert!(err.starts_with(want), "{src:?}: {err}");
    }
    // The bounds themselves are fine.
    for ok in ["sample_ratio = 0.0", "sample_ratio = 1.0"] {
        Config::from_toml(&format!("[tracing]\n{ok}\n"), "t.toml", env(&[])).expect(ok);
    }
}

#[test]
fn a_webhook_events_topic_needs_apps_and_no_http_receiver() {
    let kafka = "[kafka]\nbrokers = \"a:1\"\nevents_format = \"webhook\"\n";
    let app = "[[webhook.apps]]\ntenant_id = \"bsp-1\"\napp_secret = \"s\"\n";
    let c = Config::from_toml(&format!("{kafka}{app}"), "t.toml", env(&[])).expect("config");
    assert_eq!(c.kafka.events_format, super::EventsFormat::Webhook);
    let unsigned = format!("{kafka}webhook_unsigned_tenant = \"bsp-u\"\n");
    Config::from_toml(&unsigned, "t.toml", env(&[])).expect("an unsigned tenant is enough");
    for (src, want) in [
        (kafka.to_string(), "needs [[webhook.apps]]"),
        (
            format!("{kafka}[webhook]\nlisten = \"127.0.0.1:0\"\n{app}"),
            "cannot be used with webhook.listen",
        ),
        (
            format!("{kafka}[[webhook.apps]]\ntenant_id = \"bsp-1\"\n"),
            "webhook.apps[0]: tenant_id and app_secret",
        ),
        (
            "[kafka]\nevents_format = \"json\"\n".to_string(),
            "unknown variant `json`",
        ),
    ] {
        let err = Config::from_toml(&src, "t.toml", env(&[]))
            .expect_err(&src)
            .to_string();
        assert!(err.contains(want), "{src:?}: {err}");
    }
}
