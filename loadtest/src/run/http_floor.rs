//! The HTTP floor of the webhook target: the run's baseline bodies sent,
//! one request each, over the same kind of connections to a null HTTP
//! server (axum over hyper, as satpam's receiver; it reads each body and
//! answers 200 without looking at it), on its own runtime with as many
//! workers as satpam's. What this client and an HTTP/1.1 server that does
//! nothing reach on this machine's loopback: the ceiling of satpam's
//! requests/s when the generator shares its cores.

use std::time::Instant;

use anyhow::Context;
use axum::body::Bytes as BodyBytes;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::runtime::Handle;

use super::cpu::{self, CpuWatch};
use super::latency::round3;
use super::report::HttpFloorReport;
use super::webhook::{http_request, read_answer, Rendered, WebhookSettings};

/// Sends `bodies` (one request each, spread over `settings.connections`
/// connections, each one request at a time) to a null server started here,
/// and times them.
pub fn measure(
    rt: &Handle,
    settings: &WebhookSettings,
    bodies: &[Rendered],
    cpu: &CpuWatch,
) -> anyhow::Result<HttpFloorReport> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("null-http")
        .enable_all()
        .build()
        .context("the null HTTP server's runtime")?;
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding the null HTTP server")?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(|body: BodyBytes| async move {
        std::hint::black_box(body.len());
        "ok"
    });
    server_rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let conns = settings.connections.max(1);
    let mut lists: Vec<Vec<Bytes>> = vec![Vec::new(); conns];
    let mut events = 0u64;
    for (i, (body, n, _)) in bodies.iter().enumerate() {
        lists[i % conns].push(http_request(settings, &settings.path, "", body));
        events += n;
    }
    let requests = bodies.len() as u64;
    let cpu0 = cpu.sample();
    let started = Instant::now();
    let answered: anyhow::Result<u64> = rt.block_on(async {
        let mut tasks = Vec::new();
        for list in lists {
            tasks.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let mut buf: Vec<u8> = Vec::with_capacity(4096);
                let mut ok = 0u64;
                for r in list {
                    stream.write_all(&r).await?;
                    let status = read_answer(&mut stream, &mut buf).await?;
                    ok += u64::from(status == 200);
                }
                Ok::<u64, anyhow::Error>(ok)
            }));
        }
        let mut ok = 0;
        for t in tasks {
            ok += t.await.context("a floor connection")??;
        }
        Ok(ok)
    });
    let seconds = started.elapsed().as_secs_f64();
    let cpu_s = cpu.since(&cpu0);
    server_rt.shutdown_background();
    let ok = answered?;
    anyhow::ensure!(
        ok == requests,
        "the null server answered {ok} of {requests} requests with 200"
    );
    let per_s = |n: u64| {
        if seconds > 0.0 {
            (n as f64 / seconds).round()
        } else {
            0.0
        }
    };
    Ok(HttpFloorReport {
        method: format!(
            "the baseline's {requests} bodies ({events} events), one request each over {conns} connections (one request at a time each), to a null axum server in loadgen ({workers} workers; reads the body, answers 200)"
        ),
        requests,
        events,
        seconds: round3(seconds),
        requests_rate: per_s(requests),
        events_rate: per_s(events),
        cpu_us_per_request: cpu::per_event_us(&cpu_s, requests),
        cpu_s,
    })
}
