//! `satpam.v1.Signals.Watch`: live signals, filtered by tenant, account and
//! action. A watcher that falls more than `grpc.watch_buffer` signals behind
//! is ended with RESOURCE_EXHAUSTED (the Kafka topic is the durable record).
//! The caller needs the `watch` role and only ever sees its tenants' signals.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::access::auth::{Gate, Role, Rpc, Scope, TenantScope};
use crate::pb::v1 as pb;
use crate::sink::{SignalHub, WireSignal};
use crate::telemetry::Telemetry;

/// The Signals service.
pub struct WatchService {
    hub: Arc<SignalHub>,
    telemetry: Arc<Telemetry>,
    shutdown: watch::Receiver<bool>,
    gate: Arc<Gate>,
}

impl WatchService {
    /// Watch streams over `hub`, callers checked by `gate`; they end when
    /// `shutdown` turns true.
    pub fn new(
        hub: Arc<SignalHub>,
        telemetry: Arc<Telemetry>,
        shutdown: watch::Receiver<bool>,
        gate: Arc<Gate>,
    ) -> Self {
        WatchService {
            hub,
            telemetry,
            shutdown,
            gate,
        }
    }
}

struct Filter {
    tenant_id: String,
    account_id: String,
    actions: Vec<i32>,
    scope: TenantScope,
}

impl Filter {
    fn matches(&self, s: &pb::EnforcementSignal) -> bool {
        self.scope.allows(&s.tenant_id)
            && (self.tenant_id.is_empty() || self.tenant_id == s.tenant_id)
            && (self.account_id.is_empty() || self.account_id == s.account_id)
            && (self.actions.is_empty() || self.actions.contains(&s.action))
    }
}

type SignalStream = Pin<Box<dyn Stream<Item = Result<pb::EnforcementSignal, Status>> + Send>>;

#[tonic::async_trait]
impl pb::signals_server::Signals for WatchService {
    type WatchStream = SignalStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<SignalStream>, Status> {
        let t = &request.get_ref().tenant_id;
        let scope = if t.is_empty() {
            Scope::Any
        } else {
            Scope::Tenant(t, "")
        };
        let caller = self.gate.check(&request, Rpc::Watch, Role::Watch, scope)?;
        let r = request.into_inner();
        for a in &r.actions {
            if pb::Action::try_from(*a).map_or(true, |a| a == pb::Action::Unspecified) {
                return Err(Status::invalid_argument(format!("unknown action {a}")));
            }
        }
        let filter = Filter {
            tenant_id: r.tenant_id,
            account_id: r.account_id,
            actions: r.actions,
            scope: caller.tenants.clone(),
        };
        let mut rx: broadcast::Receiver<WireSignal> = self.hub.subscribe();
        let (tx, out) = mpsc::channel(64);
        let telemetry = self.telemetry.clone();
        let mut shutdown = self.shutdown.clone();
        telemetry.watchers.increment(1.0);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok(s) => {
                            if filter.matches(&s) && tx.send(Ok((*s).clone())).await.is_err() {
                                break;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            telemetry.watchers_lagged.increment(1);
                            let _ = tx.send(Err(Status::resource_exhausted(format!(
                                "watcher fell {n} signals behind; reconnect (the Kafka signals topic keeps every signal)"
                            )))).await;
                            break;
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    _ = tx.closed() => break,
                    _ = shutdown.changed() => break,
                }
            }
            telemetry.watchers.decrement(1.0);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(out))))
    }
}
