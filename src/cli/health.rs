//! `satpam health`: asks a running service's `grpc.health.v1.Health/Check`
//! and exits 0 when it is SERVING, 1 otherwise (not serving, unknown
//! service, nothing listening, timeout, bad address). Container health
//! checks run it (`deploy/Dockerfile`), so it never exits 2: Docker reserves
//! that code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// TLS for the check, when the gRPC listener has `[grpc.tls]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HealthTls {
    /// CA certificate (PEM) of the server's certificate; set: connect over TLS.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for a listener that requires one (mTLS).
    #[arg(long, requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, requires = "cert_file")]
    pub key_file: Option<PathBuf>,
    /// Name the server's certificate must carry; default: the address's host.
    #[arg(long)]
    pub tls_domain: Option<String>,
}

impl HealthTls {
    /// The tonic client TLS config, `None` without `--ca-file`.
    fn client_config(&self) -> Result<Option<ClientTlsConfig>> {
        let Some(ca) = &self.ca_file else {
            return Ok(None);
        };
        let read =
            |p: &PathBuf| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
        if let (Some(c), Some(k)) = (&self.cert_file, &self.key_file) {
            tls = tls.identity(Identity::from_pem(read(c)?, read(k)?));
        }
        if let Some(d) = &self.tls_domain {
            tls = tls.domain_name(d.clone());
        }
        Ok(Some(tls))
    }
}

/// What one health check found.
#[derive(Debug)]
enum Outcome {
    /// The server answered with this status.
    Status(ServingStatus),
    /// The server does not know the service (gRPC NOT_FOUND).
    UnknownService,
}

/// Runs `satpam health`: `grpc` is `host:port` or a URI, `service` the
/// health service name (`""`: the whole server), `timeout_ms` the limit for
/// connecting and answering together.
pub fn run(grpc: &str, service: &str, timeout_ms: u64, tls: &HealthTls) -> Result<ExitCode> {
    let tls = tls.client_config()?;
    let uri = if grpc.contains("://") {
        grpc.to_string()
    } else if tls.is_some() {
        format!("https://{grpc}")
    } else {
        format!("http://{grpc}")
    };
    let timeout = Duration::from_millis(timeout_ms.max(1));
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
        .and_then(|rt| {
            rt.block_on(async {
                tokio::time::timeout(timeout, check(&uri, service, tls))
                    .await
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {timeout_ms} ms")))
            })
        });
    let shown = if service.is_empty() {
        String::new()
    } else {
        format!(" service {service:?}")
    };
    Ok(match outcome {
        Ok(Outcome::Status(ServingStatus::Serving)) => {
            println!("SERVING");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Status(status)) => {
            println!("{}", status.as_str_name());
            eprintln!("satpam health: {grpc}{shown} is {}", status.as_str_name());
            ExitCode::from(1)
        }
        Ok(Outcome::UnknownService) => {
            println!("SERVICE_UNKNOWN");
            eprintln!("satpam health: {grpc} does not know{shown}");
            ExitCode::from(1)
        }
        Err(e) => {
            println!("UNREACHABLE");
            eprintln!("satpam health: cannot check {grpc}: {e:#}");
            ExitCode::from(1)
        }
    })
}

/// One check; the caller bounds it with the timeout, so a server that
/// accepts and never answers reads as "no answer within N ms".
async fn check(uri: &str, service: &str, tls: Option<ClientTlsConfig>) -> Result<Outcome> {
    let mut endpoint = Endpoint::from_shared(uri.to_string())
        .with_context(|| format!("`{uri}` is not a gRPC address"))?;
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls).context("TLS")?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))
        .context("connect")?;
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await;
    match reply {
        Ok(r) => Ok(Outcome::Status(
            ServingStatus::try_from(r.into_inner().status).unwrap_or(ServingStatus::Unknown),
        )),
        Err(s) if s.code() == tonic::Code::NotFound => Ok(Outcome::UnknownService),
        Err(s) => Err(anyhow::anyhow!("{}: {}", s.code(), s.message())).context("Health/Check"),
    }
}

/// The error and its sources on one line (tonic's transport error alone
/// says only "transport error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        // hyper and tonic repeat a layer's message in its source.
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
