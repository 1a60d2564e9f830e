//! Serving over TLS: an accept loop that does the handshakes off the
//! accept path (one task each, with a time limit), then hands verified
//! connections to tonic (as an incoming stream) or to axum (as a
//! [`Listener`]). [`SubjectLayer`] copies the client certificate's subject
//! from the connection onto each request as a [`ClientCertSubject`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::service::tls::{subject_of, ClientCertSubject};

/// A handshake that has not finished in this long is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once per listener; past it, accepting waits.
const MAX_HANDSHAKES: usize = 1024;

/// Who is on the other end of a TLS connection.
#[derive(Debug, Clone)]
pub struct TlsPeer {
    /// The client's address.
    pub remote_addr: SocketAddr,
    /// The verified client certificate's subject (mTLS only).
    pub subject: Option<ClientCertSubject>,
}

/// A TLS connection after its handshake.
pub struct TlsConn {
    stream: TlsStream<TcpStream>,
    peer: TlsPeer,
}

/// Accepts on `listener` until `stop`, handshaking each connection in its
/// own task; `name` (the config section) labels failures in the log.
pub fn accept(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    name: &'static str,
    mut stop: watch::Receiver<bool>,
) -> mpsc::Receiver<TlsConn> {
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(config);
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let Ok(permit) = handshakes.clone().acquire_owned().await else {
                break;
            };
            let (tcp, remote_addr) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    Err(err) => {
                        tracing::warn!(listener = name, error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop.changed() => break,
            };
            if *stop.borrow() {
                break;
            }
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
                drop(permit);
                match handshake {
                    Ok(Ok(stream)) => {
                        let subject = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .and_then(|c| subject_of(c));
                        let peer = TlsPeer {
                            remote_addr,
                            subject,
                        };
                        let _ = tx.send(TlsConn { stream, peer }).await;
                    }
                    Ok(Err(err)) => {
                        tracing::debug!(listener = name, %remote_addr, error = %err, "TLS handshake refused");
                    }
                    Err(_) => {
                        tracing::debug!(listener = name, %remote_addr, "TLS handshake timed out");
                    }
                }
            });
        }
    });
    rx
}

/// The connections of [`accept`] as tonic's incoming stream.
pub fn incoming(
    rx: mpsc::Receiver<TlsConn>,
) -> impl tokio_stream::Stream<Item = Result<TlsConn, io::Error>> {
    tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}

impl tonic::transport::server::Connected for TlsConn {
    type ConnectInfo = TlsPeer;

    fn connect_info(&self) -> TlsPeer {
        self.peer.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The connections of [`accept`] as an axum listener.
pub struct TlsListener {
    rx: mpsc::Receiver<TlsConn>,
    local_addr: SocketAddr,
}

impl TlsListener {
    /// A listener over [`accept`]'s connections, bound at `local_addr`.
    pub fn new(rx: mpsc::Receiver<TlsConn>, local_addr: SocketAddr) -> Self {
        TlsListener { rx, local_addr }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = TlsPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => (c.stream, c.peer),
            // The accept loop stopped (shutdown): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<TlsPeer> {
        Ok(TlsPeer {
            remote_addr: self.local_addr,
            subject: None,
        })
    }
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, TlsListener>> for TlsPeer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Serves `app` on `listener`, over TLS when `tls` is set, until `stop`;
/// `name` labels errors in the log.
pub async fn serve_http(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    app: axum::Router,
    name: &'static str,
    stop: watch::Receiver<bool>,
) {
    let stopped = stopped(stop.clone());
    let result = match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        }
        Some(config) => {
            let addr = match listener.local_addr() {
                Ok(a) => a,
                Err(err) => {
                    tracing::error!(listener = name, error = %err, "no local address");
                    return;
                }
            };
            let rx = accept(listener, config, name, stop);
            let app = app.layer(SubjectLayer);
            axum::serve(
                TlsListener::new(rx, addr),
                app.into_make_service_with_connect_info::<TlsPeer>(),
            )
            .with_graceful_shutdown(stopped)
            .await
        }
    };
    if let Err(err) = result {
        tracing::error!(listener = name, error = %err, "HTTP server failed");
    }
}

/// Resolves once shutdown is signalled (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            break;
        }
    }
}

/// Puts the connection's [`ClientCertSubject`] on each request.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubjectLayer;

impl<S> tower::Layer<S> for SubjectLayer {
    type Service = SubjectService<S>;

    fn layer(&self, inner: S) -> SubjectService<S> {
        SubjectService { inner }
    }
}

/// The service of [`SubjectLayer`].
#[derive(Debug, Clone)]
pub struct SubjectService<S> {
    inner: S,
}

impl<S, B> tower::Service<axum::http::Request<B>> for SubjectService<S>
where
    S: tower::Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> S::Future {
        let ext = req.extensions();
        let subject = ext
            .get::<TlsPeer>()
            .or_else(|| ext.get::<ConnectInfo<TlsPeer>>().map(|c| &c.0))
            .and_then(|p| p.subject.clone());
        // Never trust one that came any other way.
        req.extensions_mut().remove::<ClientCertSubject>();
        if let Some(s) = subject {
            req.extensions_mut().insert(s);
        }
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{Layer, Service};

    /// Answers with the request's [`ClientCertSubject`].
    struct Echo;

    impl Service<axum::http::Request<()>> for Echo {
        type Response = Option<ClientCertSubject>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: axum::http::Request<()>) -> Self::Future {
            std::future::ready(Ok(req.extensions().get::<ClientCertSubject>().cloned()))
        }
    }

    fn peer(subject: Option<&str>) -> TlsPeer {
        TlsPeer {
            remote_addr: SocketAddr::from(([127, 0, 0, 1], 1)),
            subject: subject.map(|s| ClientCertSubject(s.into())),
        }
    }

    fn through_layer(req: axum::http::Request<()>) -> Option<ClientCertSubject> {
        let mut svc = SubjectLayer.layer(Echo);
        match svc.call(req).into_inner() {
            Ok(s) => s,
            Err(e) => match e {},
        }
    }

    #[test]
    fn the_subject_comes_from_the_connection_only() {
        let subject = Some(ClientCertSubject("CN=a".into()));
        // tonic puts the connection's info on the request as itself ...
        let mut req = axum::http::Request::new(());
        req.extensions_mut().insert(peer(Some("CN=a")));
        assert_eq!(through_layer(req), subject);
        // ... axum as ConnectInfo.
        let mut req = axum::http::Request::new(());
        req.extensions_mut().insert(ConnectInfo(peer(Some("CN=a"))));
        assert_eq!(through_layer(req), subject);
        // No client certificate: none, and one put there by anything else is dropped.
        let mut req = axum::http::Request::new(());
        req.extensions_mut().insert(peer(None));
        req.extensions_mut()
            .insert(ClientCertSubject("CN=forged".into()));
        assert_eq!(through_layer(req), None);
        let mut req = axum::http::Request::new(());
        req.extensions_mut()
            .insert(ClientCertSubject("CN=forged".into()));
        assert_eq!(through_layer(req), None);
    }
}
