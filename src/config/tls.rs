//! The `[grpc.tls]`, `[metrics.tls]` and `[webhook.tls]` sections: where
//! the certificate, the key and the client CA are; `service::tls` builds
//! the rustls server config from them.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// `[grpc.tls]`, `[metrics.tls]`, `[webhook.tls]`: off while `cert_file`
/// is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// The server's certificate chain (PEM, leaf first); empty: plaintext.
    pub cert_file: String,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
    /// CA certificates (PEM) that sign client certificates; set: every
    /// client must present a certificate signed by one of them (mTLS).
    pub client_ca_file: String,
}

impl TlsSection {
    /// Whether TLS is on.
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty()
    }

    /// Checks that the settings are complete and the files are there;
    /// `key` is the section (`grpc.tls`), errors start with it.
    pub(crate) fn validate(&self, key: &str) -> Result<(), String> {
        if !self.enabled() {
            if !self.key_file.is_empty() || !self.client_ca_file.is_empty() {
                return Err(format!(
                    "{key}.cert_file: must be set when key_file or client_ca_file is"
                ));
            }
            return Ok(());
        }
        if self.key_file.is_empty() {
            return Err(format!("{key}.key_file: must be set when cert_file is"));
        }
        for (name, file) in [
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
            ("client_ca_file", &self.client_ca_file),
        ] {
            if !file.is_empty() && !Path::new(file).is_file() {
                return Err(format!("{key}.{name}: `{file}` is not a readable file"));
            }
        }
        Ok(())
    }
}
