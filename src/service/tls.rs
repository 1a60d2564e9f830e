//! TLS for satpam's listeners (gRPC, metrics, webhook): the rustls server
//! config built from a `[*.tls]` section (`config::TlsSection`).
//! With `client_ca_file` set, every client must present a certificate
//! signed by that CA (mTLS); the verified certificate's subject reaches
//! request handlers as a [`ClientCertSubject`] extension
//! ([`crate::service::tls_listen`] puts it there).
//!
//! Certificates and keys are read when the service starts (a restart picks
//! up renewed ones). The ring crypto provider is used explicitly, so no
//! process-wide default has to be installed.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

pub use crate::access::auth::ClientCertSubject;
use crate::config::TlsSection;

impl TlsSection {
    /// The rustls server config, `None` when TLS is off. `alpn` lists the
    /// protocols offered (`h2` for gRPC, `http/1.1` for the HTTP listeners).
    pub fn server_config(
        &self,
        key: &str,
        alpn: &[&[u8]],
    ) -> Result<Option<Arc<ServerConfig>>, String> {
        if !self.enabled() {
            return Ok(None);
        }
        let certs = read_certs(&self.cert_file).map_err(|e| format!("{key}.cert_file: {e}"))?;
        let private = PrivateKeyDer::from_pem_file(&self.key_file)
            .map_err(|e| format!("{key}.key_file: `{}`: {e}", self.key_file))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("{key}: {e}"))?;
        let builder = if self.client_ca_file.is_empty() {
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            for ca in read_certs(&self.client_ca_file)
                .map_err(|e| format!("{key}.client_ca_file: {e}"))?
            {
                roots
                    .add(ca)
                    .map_err(|e| format!("{key}.client_ca_file: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("{key}.client_ca_file: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        };
        let mut config = builder.with_single_cert(certs, private).map_err(|e| {
            format!("{key}: certificate and key do not make a server identity: {e}")
        })?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Some(Arc::new(config)))
    }
}

/// Every certificate in a PEM file; an error when there is none.
fn read_certs(file: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("`{file}`: {e}"))?;
    if certs.is_empty() {
        return Err(format!("`{file}` holds no PEM certificate"));
    }
    Ok(certs)
}

/// The subject of a (verified) DER client certificate.
pub fn subject_of(der: &[u8]) -> Option<ClientCertSubject> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(ClientCertSubject(cert.subject().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_or_missing_files_are_refused_with_their_key() {
        let t = |c: &str, k: &str, ca: &str| TlsSection {
            cert_file: c.into(),
            key_file: k.into(),
            client_ca_file: ca.into(),
        };
        assert_eq!(t("", "", "").validate("grpc.tls"), Ok(()));
        let e = t("", "k.pem", "")
            .validate("grpc.tls")
            .expect_err("no cert");
        assert!(e.starts_with("grpc.tls.cert_file:"), "{e}");
        let e = t("/etc/hostname", "", "").validate("metrics.tls");
        assert!(e.expect_err("no key").starts_with("metrics.tls.key_file:"));
        let e = t("/etc/hostname", "/etc/hostname", "/nonexistent/ca.pem")
            .validate("webhook.tls")
            .expect_err("missing ca");
        assert!(e.starts_with("webhook.tls.client_ca_file:"), "{e}");
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        let e = t("/etc/hostname", "/etc/hostname", "")
            .server_config("grpc.tls", &[b"h2"])
            .expect_err("not PEM");
        assert!(e.starts_with("grpc.tls.cert_file:"), "{e}");
    }
}
