//! `[kafka.security]`: TLS and SASL for every Kafka client satpam makes
//! (the consumer, the producer of signals and dead letters, the reader of
//! the signal fence). The typed settings become librdkafka properties under
//! `[kafka.consumer]` / `[kafka.producer]`, which still win for anything
//! set there. librdkafka is built with OpenSSL vendored, so `ssl`,
//! `sasl_ssl` and SASL SCRAM need nothing installed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::KafkaSection;

/// The `security.protocol` values librdkafka takes.
const PROTOCOLS: [&str; 4] = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];

/// The SASL mechanisms satpam supports (GSSAPI and OAUTHBEARER are not built in).
const MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// `[kafka.security]`. The SASL password comes from `sasl_password`, or the
/// environment variable `sasl_password_env` names, or the file
/// `sasl_password_file` names (trailing newline dropped); it is never
/// printed by `--print-config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSecuritySection {
    /// `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub protocol: String,
    /// CA certificates (PEM) that sign the brokers' certificates; empty: the
    /// system's (librdkafka probes the usual locations).
    pub ca_file: String,
    /// Client certificate (PEM) for brokers that require one.
    pub cert_file: String,
    /// The client certificate's private key (PEM).
    pub key_file: String,
    /// Check the broker's certificate names its host (default true).
    pub verify_hostname: bool,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (the `sasl_*` protocols).
    pub sasl_mechanism: String,
    /// The SASL user.
    pub sasl_username: String,
    /// The SASL password.
    #[serde(serialize_with = "redacted")]
    pub sasl_password: String,
    /// Environment variable holding the SASL password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sasl_password_env: String,
    /// File holding the SASL password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sasl_password_file: String,
}

impl Default for KafkaSecuritySection {
    fn default() -> Self {
        KafkaSecuritySection {
            protocol: "plaintext".into(),
            ca_file: String::new(),
            cert_file: String::new(),
            key_file: String::new(),
            verify_hostname: true,
            sasl_mechanism: String::new(),
            sasl_username: String::new(),
            sasl_password: String::new(),
            sasl_password_env: String::new(),
            sasl_password_file: String::new(),
        }
    }
}

fn redacted<S: serde::Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}

impl KafkaSecuritySection {
    fn tls(&self) -> bool {
        self.protocol.ends_with("ssl")
    }

    fn sasl(&self) -> bool {
        self.protocol.starts_with("sasl_")
    }

    /// Reads the password named by `sasl_password_env` or `sasl_password_file`.
    pub(crate) fn resolve_secrets(&mut self, env: &HashMap<String, String>) -> Result<(), String> {
        super::webhook::secret(
            &mut self.sasl_password,
            &self.sasl_password_env,
            &self.sasl_password_file,
            env,
            "kafka.security.sasl_password",
        )
    }

    /// Checks the settings; errors start with the key they are about.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let k = "kafka.security";
        if !PROTOCOLS.contains(&self.protocol.as_str()) {
            return Err(format!(
                "{k}.protocol: `{}` is not one of {}",
                self.protocol,
                PROTOCOLS.join(", ")
            ));
        }
        let files = [
            ("ca_file", &self.ca_file),
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
        ];
        for (name, file) in files {
            if file.is_empty() {
                continue;
            }
            if !self.tls() {
                return Err(format!(
                    "{k}.{name}: set, but protocol `{}` does not use TLS (ssl or sasl_ssl)",
                    self.protocol
                ));
            }
            if !Path::new(file).is_file() {
                return Err(format!("{k}.{name}: `{file}` is not a readable file"));
            }
        }
        if self.cert_file.is_empty() != self.key_file.is_empty() {
            return Err(format!("{k}.cert_file: cert_file and key_file go together"));
        }
        let sasl_set = !self.sasl_mechanism.is_empty()
            || !self.sasl_username.is_empty()
            || !self.sasl_password.is_empty();
        if !self.sasl() {
            if sasl_set {
                return Err(format!(
                    "{k}.sasl_mechanism: SASL settings need protocol sasl_ssl or sasl_plaintext, not `{}`",
                    self.protocol
                ));
            }
            return Ok(());
        }
        if !MECHANISMS.contains(&self.sasl_mechanism.as_str()) {
            return Err(format!(
                "{k}.sasl_mechanism: `{}` is not one of {}",
                self.sasl_mechanism,
                MECHANISMS.join(", ")
            ));
        }
        if self.sasl_username.is_empty() || self.sasl_password.is_empty() {
            return Err(format!(
                "{k}.sasl_username: protocol `{}` needs sasl_username and sasl_password (or sasl_password_env / sasl_password_file)",
                self.protocol
            ));
        }
        Ok(())
    }

    /// The librdkafka properties these settings stand for.
    pub fn properties(&self) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        let mut set = |k: &str, v: &str| {
            if !v.is_empty() {
                p.insert(k.to_string(), v.to_string());
            }
        };
        set("security.protocol", &self.protocol);
        if self.tls() {
            // The vendored OpenSSL's default CA path is its build directory,
            // not the system's: without a CA file, librdkafka probes the
            // usual system locations instead.
            set(
                "ssl.ca.location",
                if self.ca_file.is_empty() {
                    "probe"
                } else {
                    &self.ca_file
                },
            );
            set("ssl.certificate.location", &self.cert_file);
            set("ssl.key.location", &self.key_file);
            set(
                "ssl.endpoint.identification.algorithm",
                if self.verify_hostname {
                    "https"
                } else {
                    "none"
                },
            );
        }
        if self.sasl() {
            set("sasl.mechanism", &self.sasl_mechanism);
            set("sasl.username", &self.sasl_username);
            set("sasl.password", &self.sasl_password);
        }
        p
    }
}

impl KafkaSection {
    /// `[kafka.security]`'s properties, then `[kafka.consumer]` (which wins):
    /// every consumer satpam makes is configured with these.
    pub fn consumer_properties(&self) -> BTreeMap<String, String> {
        with_raw(self.security.properties(), &self.consumer)
    }

    /// `[kafka.security]`'s properties, then `[kafka.producer]` (which wins).
    pub fn producer_properties(&self) -> BTreeMap<String, String> {
        with_raw(self.security.properties(), &self.producer)
    }
}

fn with_raw(
    mut typed: BTreeMap<String, String>,
    raw: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    typed.extend(raw.iter().map(|(k, v)| (k.clone(), v.clone())));
    typed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_ssl_scram_becomes_exactly_these_librdkafka_properties() {
        let s = KafkaSecuritySection {
            protocol: "sasl_ssl".into(),
            ca_file: "/etc/hostname".into(),
            sasl_mechanism: "SCRAM-SHA-512".into(),
            sasl_username: "satpam".into(),
            sasl_password: "007".into(),
            ..KafkaSecuritySection::default()
        };
        assert_eq!(s.validate(), Ok(()));
        let want: BTreeMap<String, String> = [
            ("security.protocol", "sasl_ssl"),
            ("ssl.ca.location", "/etc/hostname"),
            ("ssl.endpoint.identification.algorithm", "https"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "satpam"),
            ("sasl.password", "007"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(s.properties(), want);
        let plain = KafkaSecuritySection {
            protocol: "sasl_plaintext".into(),
            sasl_mechanism: "PLAIN".into(),
            sasl_username: "u".into(),
            sasl_password: "p".into(),
            ..KafkaSecuritySection::default()
        };
        assert_eq!(plain.validate(), Ok(()));
        let p = plain.properties();
        assert_eq!(p["sasl.mechanism"], "PLAIN");
        assert!(!p.contains_key("ssl.endpoint.identification.algorithm"));
        assert!(!p.contains_key("ssl.ca.location"));
        let system_cas = KafkaSecuritySection {
            protocol: "ssl".into(),
            ..KafkaSecuritySection::default()
        };
        assert_eq!(system_cas.properties()["ssl.ca.location"], "probe");
    }

    #[test]
    fn librdkafka_is_built_with_tls_and_scram() {
        // Without OpenSSL built in, creating such a client fails with
        // "OpenSSL not available at build time" (and SCRAM needs OpenSSL too).
        for (protocol, mechanism) in [
            ("ssl", ""),
            ("sasl_ssl", "SCRAM-SHA-512"),
            ("sasl_plaintext", "SCRAM-SHA-256"),
            ("sasl_ssl", "PLAIN"),
        ] {
            let sasl = !mechanism.is_empty();
            let s = KafkaSecuritySection {
                protocol: protocol.into(),
                sasl_mechanism: mechanism.into(),
                sasl_username: if sasl { "u".into() } else { String::new() },
                sasl_password: if sasl { "p".into() } else { String::new() },
                ..KafkaSecuritySection::default()
            };
            assert_eq!(s.validate(), Ok(()));
            let mut c = rdkafka::ClientConfig::new();
            c.set("bootstrap.servers", "127.0.0.1:1");
            for (k, v) in s.properties() {
                c.set(k, v);
            }
            let created: Result<rdkafka::producer::BaseProducer, _> = c.create();
            assert!(
                created.is_ok(),
                "{protocol} {mechanism}: {:?}",
                created.err()
            );
        }
    }

    #[test]
    fn the_raw_maps_win_and_the_default_adds_only_plaintext() {
        let mut k = KafkaSection::default();
        assert_eq!(
            k.consumer_properties().into_iter().collect::<Vec<_>>(),
            [("security.protocol".to_string(), "plaintext".to_string())]
        );
        k.security.protocol = "ssl".into();
        k.security.verify_hostname = false;
        k.producer.insert(
            "ssl.endpoint.identification.algorithm".into(),
            "https".into(),
        );
        k.consumer
            .insert("security.protocol".into(), "sasl_ssl".into());
        assert_eq!(
            k.producer_properties()["ssl.endpoint.identification.algorithm"],
            "https"
        );
        assert_eq!(k.producer_properties()["security.protocol"], "ssl");
        assert_eq!(k.consumer_properties()["security.protocol"], "sasl_ssl");
        assert_eq!(
            k.consumer_properties()["ssl.endpoint.identification.algorithm"],
            "none"
        );
    }

    #[test]
    fn bad_settings_say_which_key_and_why() {
        let base = KafkaSecuritySection::default;
        let cases: Vec<(KafkaSecuritySection, &str)> = vec![
            (
                KafkaSecuritySection {
                    protocol: "tls".into(),
                    ..base()
                },
                "kafka.security.protocol: `tls` is not one of",
            ),
            (
                KafkaSecuritySection {
                    protocol: "ssl".into(),
                    ca_file: "/nonexistent/ca.pem".into(),
                    ..base()
                },
                "kafka.security.ca_file: `/nonexistent/ca.pem` is not a readable file",
            ),
            (
                KafkaSecuritySection {
                    ca_file: "/etc/hostname".into(),
                    ..base()
                },
                "kafka.security.ca_file: set, but protocol `plaintext`",
            ),
            (
                KafkaSecuritySection {
                    protocol: "ssl".into(),
                    cert_file: "/etc/hostname".into(),
                    ..base()
                },
                "kafka.security.cert_file: cert_file and key_file go together",
            ),
            (
                KafkaSecuritySection {
                    protocol: "sasl_ssl".into(),
                    sasl_mechanism: "GSSAPI".into(),
                    sasl_username: "u".into(),
                    sasl_password: "p".into(),
                    ..base()
                },
                "kafka.security.sasl_mechanism: `GSSAPI` is not one of PLAIN",
            ),
            (
                KafkaSecuritySection {
                    protocol: "sasl_plaintext".into(),
                    sasl_mechanism: "PLAIN".into(),
                    sasl_username: "u".into(),
                    ..base()
                },
                "kafka.security.sasl_username: protocol `sasl_plaintext` needs",
            ),
            (
                KafkaSecuritySection {
                    protocol: "ssl".into(),
                    sasl_username: "u".into(),
                    ..base()
                },
                "kafka.security.sasl_mechanism: SASL settings need",
            ),
        ];
        for (s, want) in cases {
            let e = s.validate().expect_err(want);
            assert!(e.starts_with(want), "{e}");
        }
    }
}

#[cfg(test)]
mod config_tests {
    use crate::service::Config;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_password_comes_from_the_environment_and_is_never_printed() {
        let src = "[kafka]\nbrokers = \"b:9093\"\n[kafka.security]\nprotocol = \"sasl_ssl\"\n\
                   sasl_mechanism = \"SCRAM-SHA-256\"\nsasl_username = \"satpam\"\n\
                   sasl_password_env = \"KAFKA_PW\"\n";
        let c =
            Config::from_toml(src, "t.toml", env(&[("KAFKA_PW", "0042-secret")])).expect("config");
        assert_eq!(
            c.kafka.producer_properties()["sasl.password"],
            "0042-secret"
        );
        assert_eq!(
            c.kafka.consumer_properties()["sasl.mechanism"],
            "SCRAM-SHA-256"
        );
        let printed = c.to_toml();
        assert!(!printed.contains("0042-secret"), "{printed}");
        assert!(printed.contains("KAFKA_PW"), "{printed}");
        // An all-digit password from SATPAM_* stays a string.
        let c = Config::from_toml(
            &src.replace("sasl_password_env = \"KAFKA_PW\"\n", ""),
            "t.toml",
            env(&[("SATPAM_KAFKA__SECURITY__SASL_PASSWORD", "007")]),
        )
        .expect("config");
        assert_eq!(c.kafka.security.sasl_password, "007");
    }

    #[test]
    fn errors_name_the_line_of_the_tls_key() {
        let e = Config::from_toml(
            "[kafka]\nbrokers = \"b:9093\"\n[kafka.security]\nprotocol = \"ssl\"\nca_file = \"/nonexistent/ca.pem\"\n",
            "t.toml",
            env(&[]),
        )
        .expect_err("missing CA");
        assert!(
            e.to_string()
                .starts_with("t.toml:5: kafka.security.ca_file:"),
            "{e}"
        );
        let e = Config::from_toml(
            "[grpc]\nlisten = \"127.0.0.1:0\"\n[grpc.tls]\ncert_file = \"/nonexistent/c.pem\"\nkey_file = \"/nonexistent/k.pem\"\n",
            "t.toml",
            env(&[]),
        )
        .expect_err("missing certificate");
        assert!(
            e.to_string().starts_with("t.toml:4: grpc.tls.cert_file:"),
            "{e}"
        );
        let e = Config::from_toml(
            "[kafka]\nbrokers = \"b:9093\"\n",
            "t.toml",
            env(&[("SATPAM_KAFKA__SECURITY__SASL_MECHANISM", "OAUTHBEARER")]),
        )
        .expect_err("SASL without a sasl_* protocol");
        assert!(
            e.to_string()
                .ends_with("(set by SATPAM_KAFKA__SECURITY__SASL_MECHANISM)"),
            "{e}"
        );
    }
}
