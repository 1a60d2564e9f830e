//! `satpam config check` through the binary: a deployment's files (config,
//! rules, country policy, overrides) checked before rollout, every problem
//! reported as `file:line: reason`, exit 1 on any.
//!
//! The country policy's format is being rewritten elsewhere, so its cases
//! only cover a missing and a garbled file.

use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn check(dir: &Path, config: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_satpam"));
    cmd.args(["config", "check"]).current_dir(dir);
    if let Some(c) = config {
        cmd.args(["--config", c]);
    }
    // Only the variables a case sets: the runner's own SATPAM_* must not leak in.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SATPAM_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("satpam config check")
}

/// A deployment directory: good copies of every file, then `broken` written over.
fn deployment(broken: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    let copy = |from: &str, to: &str| {
        std::fs::copy(Path::new(ROOT).join(from), p.join(to)).expect("copy");
    };
    copy("rules/default.yaml", "rules.yaml");
    copy("rules/countries.yaml", "countries.yaml");
    std::fs::write(
        p.join("overrides.yaml"),
        "overrides:\n  - tenant_id: t1\n    account_id: a1\n    mode: allow\n    reason: cleared appeal\n",
    )
    .expect("overrides");
    std::fs::write(p.join("satpam.toml"), GOOD_CONFIG).expect("config");
    for (name, text) in broken {
        std::fs::write(p.join(name), text).expect("broken file");
    }
    dir
}

const GOOD_CONFIG: &str = "\
[engine]
rules = \"rules.yaml\"
policy = \"countries.yaml\"
overrides = \"overrides.yaml\"

[grpc]
listen = \"127.0.0.1:50051\"

[metrics]
listen = \"127.0.0.1:9464\"
";

const BROKEN_RULE: &str = "version: t\nrules:\n  - id: broken\n    version: 1\n    description: typo in a feature\n    score: 0.5\n    when: account.user_24h > 3\n";

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
    /// Each must be a line of stderr's start (file:line: ...).
    problems: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "TOML syntax error in the config",
        files: &[("satpam.toml", "[engine]\nrules = \"rules.yaml\"\n\n[grpc\nlisten = \"x\"\n")],
        env: &[],
        problems: &["satpam.toml:4: "],
    },
    Case {
        name: "unknown key in the config",
        files: &[(
            "satpam.toml",
            "[engine]\nrules = \"rules.yaml\"\n\n[kafka]\nworkers = 2\nbroker = \"b:9092\"\n",
        )],
        env: &[],
        problems: &["satpam.toml:6: unknown field `broker`"],
    },
    Case {
        name: "a listen address that cannot work",
        files: &[(
            "satpam.toml",
            "[engine]\nrules = \"rules.yaml\"\n\n[metrics]\n# metrics\nlisten = \"localhost\"\n",
        )],
        env: &[],
        problems: &["satpam.toml:6: metrics.listen: `localhost` is not an ip:port address"],
    },
    Case {
        name: "the environment is applied as serve applies it",
        files: &[],
        env: &[("SATPAM_GRPC__LISTEN", "nowhere")],
        problems: &["satpam.toml: grpc.listen: `nowhere`"],
    },
    Case {
        name: "a rule reading a feature that does not exist",
        files: &[("rules.yaml", BROKEN_RULE)],
        env: &[],
        problems: &["rules.yaml:7: rule `broken`: unknown feature"],
    },
    Case {
        name: "a rules file that is not there",
        files: &[(
            "satpam.toml",
            "[engine]\nrules = \"missing-rules.yaml\"\n",
        )],
        env: &[],
        problems: &["missing-rules.yaml:0: cannot read"],
    },
    Case {
        name: "an override with a mode that does not exist",
        files: &[(
            "overrides.yaml",
            "overrides:\n  - tenant_id: t1\n    account_id: a1\n    mode: bogus\n    reason: r\n",
        )],
        env: &[],
        problems: &["overrides.yaml:4: overrides[0].mode: unknown variant `bogus`"],
    },
    Case {
        name: "garbled overrides",
        files: &[("overrides.yaml", "overrides:\n  - tenant_id: [t1\n")],
        env: &[],
        problems: &["overrides.yaml:"],
    },
    Case {
        name: "a policy file that is not there",
        files: &[(
            "satpam.toml",
            "[engine]\npolicy = \"missing-countries.yaml\"\n",
        )],
        env: &[],
        problems: &["missing-countries.yaml: "],
    },
    Case {
        name: "a garbled policy file",
        files: &[("countries.yaml", "\u{0}\u{1}: [: : :\n\t- }")],
        env: &[],
        problems: &["countries.yaml"],
    },
    Case {
        name: "every broken file at once is reported, not just the first",
        files: &[
            ("rules.yaml", BROKEN_RULE),
            ("countries.yaml", "\u{0}\u{1}: [: : :\n\t- }"),
            ("overrides.yaml", "overrides:\n  - tenant_id: t1\n    account_id: a1\n    mode: bogus\n    reason: r\n"),
        ],
        env: &[],
        problems: &[
            "rules.yaml:7: rule `broken`: unknown feature",
            "countries.yaml",
            "overrides.yaml:4: ",
        ],
    },
];

#[test]
fn a_good_deployment_passes_and_names_each_file() {
    let dir = deployment(&[]);
    let out = check(dir.path(), Some("satpam.toml"), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "config satpam.toml: ok",
        "rules rules.yaml: ok, version ",
        "policy countries.yaml: ok",
        "overrides overrides.yaml: ok",
        "config check: ok",
    ] {
        assert!(stdout.contains(want), "{want} not in\n{stdout}");
    }
    // No config: the embedded default and the built-in files, as `serve`.
    let out = check(dir.path(), None, &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("rules: built-in"));
    // An overrides file that does not exist yet is fine, as for `serve`.
    std::fs::remove_file(dir.path().join("overrides.yaml")).expect("rm");
    let out = check(dir.path(), Some("satpam.toml"), &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("overrides overrides.yaml: absent"));
}

#[test]
fn a_key_that_no_longer_applies_passes_with_a_warning_naming_it() {
    let config = format!("{GOOD_CONFIG}\n[kafka]\nqueue_capacity = 4096\n");
    let dir = deployment(&[("satpam.toml", config.as_str())]);
    let out = check(dir.path(), Some("satpam.toml"), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("config check: ok"), "{stdout}");
    assert!(
        stderr.contains("satpam.toml: warning: kafka.queue_capacity = 4096 is ignored"),
        "{stderr}"
    );
    // Without the key: no warning.
    let dir = deployment(&[]);
    let out = check(dir.path(), Some("satpam.toml"), &[]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn each_broken_file_is_reported_with_its_file_and_line() {
    let mut failures = Vec::new();
    for case in CASES {
        let dir = deployment(case.files);
        let out = check(dir.path(), Some("satpam.toml"), case.env);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(1) {
            failures.push(format!(
                "{}: exit {:?}, stderr:\n{stderr}",
                case.name,
                out.status.code()
            ));
            continue;
        }
        let lines: Vec<&str> = stderr.lines().collect();
        for want in case.problems {
            if !lines.iter().any(|l| l.starts_with(want)) {
                failures.push(format!(
                    "{}: no line starting `{want}` in\n{stderr}",
                    case.name
                ));
            }
        }
        let n = case.problems.len();
        let summary = format!("config check: {n} problem{}", if n == 1 { "" } else { "s" });
        if lines.last() != Some(&summary.as_str()) {
            failures.push(format!(
                "{}: last line is not `{summary}`:\n{stderr}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
