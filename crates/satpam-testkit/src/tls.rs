//! Certificates made at test time (rcgen): a CA, server certificates for
//! `localhost` / `127.0.0.1`, client certificates, written as PEM files;
//! and an HTTP/1.0 GET over TLS (rustls, optionally with a client
//! certificate).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A test CA whose certificate is at [`Ca::cert_file`].
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate (PEM).
    pub cert_pem: String,
    /// Where the CA certificate is written.
    pub cert_file: PathBuf,
}

/// A certificate and its key, issued by a [`Ca`], as PEM text and files.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// The private key (PEM, PKCS#8).
    pub key_pem: String,
    /// Where the certificate is written.
    pub cert_file: PathBuf,
    /// Where the key is written.
    pub key_file: PathBuf,
}

impl Ca {
    /// A new CA named `name`, its certificate written to `dir/<name>-ca.pem`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.self_signed(&key).expect("CA certificate");
        let cert_file = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&cert_file, cert.pem()).expect("write CA");
        Ca {
            issuer: Issuer::new(p, key),
            cert_pem: cert.pem(),
            cert_file,
        }
    }

    /// A server certificate for `localhost` and `127.0.0.1`, files `dir/<name>.pem` and `dir/<name>-key.pem`.
    pub fn server(&self, dir: &Path, name: &str) -> Issued {
        let mut p = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("params");
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(dir, name, p)
    }

    /// A client certificate with subject `CN=<common_name>, O=<org>`.
    pub fn client(&self, dir: &Path, name: &str, common_name: &str, org: &str) -> Issued {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, common_name);
        p.distinguished_name.push(DnType::OrganizationName, org);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(dir, name, p)
    }

    fn issue(&self, dir: &Path, name: &str, p: CertificateParams) -> Issued {
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &self.issuer).expect("certificate");
        let issued = Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_file: dir.join(format!("{name}.pem")),
            key_file: dir.join(format!("{name}-key.pem")),
        };
        std::fs::write(&issued.cert_file, &issued.cert_pem).expect("write certificate");
        std::fs::write(&issued.key_file, &issued.key_pem).expect("write key");
        issued
    }
}

/// GET `path` over TLS from `addr` (HTTP/1.0), trusting `ca_pem`, naming
/// the server `localhost`, presenting `client` when given; (status, body).
pub fn https_get(
    addr: SocketAddr,
    path: &str,
    ca_pem: &str,
    client: Option<&Issued>,
) -> std::io::Result<(u16, String)> {
    let io = |e: String| std::io::Error::other(e);
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(c.map_err(|e| io(e.to_string()))?)
            .map_err(|e| io(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io(e.to_string()))?
        .with_root_certificates(roots);
    let config = match client {
        Some(c) => {
            let certs = CertificateDer::pem_slice_iter(c.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| io(e.to_string()))?;
            let key = PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes())
                .map_err(|e| io(e.to_string()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| io(e.to_string()))?
        }
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from("localhost").map_err(|e| io(e.to_string()))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name.to_owned())
        .map_err(|e| io(e.to_string()))?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        // A server that closes without close_notify: keep what came.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let text = String::from_utf8_lossy(&raw);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, body.to_string()))
}

/// stunnel (Debian's `stunnel4`) terminating TLS on `accept` and forwarding
/// to `connect` in plaintext; stopped when dropped.
pub struct Stunnel {
    child: std::process::Child,
    log: PathBuf,
}

impl Stunnel {
    /// Starts stunnel with `server`'s certificate, writing its config and
    /// log in `dir`; waits until `accept` takes connections.
    pub fn start(dir: &Path, accept: SocketAddr, connect: SocketAddr, server: &Issued) -> Stunnel {
        let conf = dir.join("stunnel.conf");
        let log = dir.join("stunnel.log");
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\npid =\ndebug = 4\noutput = {log}\n\
                 [kafka]\naccept = {accept}\nconnect = {connect}\ncert = {cert}\nkey = {key}\n",
                log = log.display(),
                cert = server.cert_file.display(),
                key = server.key_file.display(),
            ),
        )
        .expect("stunnel.conf");
        let bin = ["stunnel4", "stunnel"]
            .into_iter()
            .find(|b| {
                std::process::Command::new("sh")
                    .args(["-c", &format!("command -v {b}")])
                    .stdout(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .expect("stunnel is not installed (Debian: apt-get install stunnel4)");
        let child = std::process::Command::new(bin)
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start stunnel");
        let s = Stunnel { child, log };
        crate::http::wait_until(
            &format!("stunnel listening on {accept} (log {})", s.log.display()),
            Duration::from_secs(10),
            || TcpStream::connect_timeout(&accept, Duration::from_millis(200)).is_ok(),
        );
        s
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
