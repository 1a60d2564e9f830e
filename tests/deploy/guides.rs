//! The README and the deploy guide.

use super::*;

#[test]
fn the_readme_links_the_deploy_guide_and_the_guide_covers_the_stack() {
    let readme = read("README.md");
    assert!(
        readme.contains("](deploy/README.md)"),
        "README links deploy/README.md"
    );
    assert!(
        readme.contains("\ndeploy/"),
        "README's Layout lists deploy/"
    );
    let guide = read("deploy/README.md");
    for want in [
        "docker compose -f deploy/compose.yaml up --build",
        "--profile loadgen",
        "kubectl apply -k deploy/k8s",
        "SATPAM_KAFKA__BROKERS",
        "satpam health",
        "admin/admin",
        "http://127.0.0.1:3000",
        "http://127.0.0.1:9090",
        "loadtest/README.md",
        "promtool",
        "No Docker engine",
    ] {
        assert!(
            guide.contains(want),
            "deploy/README.md does not mention {want:?}"
        );
    }
}
