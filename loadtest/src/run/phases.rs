//! Phases of a run and how they are measured: the probe that counts what
//! the target processed, one phase through the generator, waiting for the
//! target to catch up, the sweep, and the drain.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cpu::{self, CpuWatch};
use super::generator::{self, EventSink, Pace, PhasePlan, PhaseRun};
use super::grpc::AckStats;
use super::kafka::{DeliveryStats, KafkaProbe};
use super::latency::round3;
use super::metrics_scrape::{MetricsEndpoint, Scrape};
use super::parse::Sweep;
use super::progress::Progress;
use super::report::{DrainReport, PhaseReport};
use super::shared::Shared;
use super::throughput::CountSeries;

/// How many of the run's events the target has processed.
pub trait Probe: Sync {
    /// Events processed, and when that was read.
    fn processed(&self) -> anyhow::Result<(u64, Instant)>;
    /// Events handed to the target so far (Kafka: acknowledged by the broker).
    fn sent(&self) -> u64;
    /// How often to ask while waiting: a scrape of satpam's /metrics costs
    /// satpam work (it walks its state for the gauges), an atomic does not.
    fn interval(&self) -> Duration;
}

/// Kafka: satpam's events counter, and the producer's delivery reports.
pub struct KafkaCounter {
    /// The counter on /metrics.
    pub probe: KafkaProbe,
    /// Events the broker acknowledged.
    pub delivered: Arc<DeliveryStats>,
}

impl Probe for KafkaCounter {
    fn processed(&self) -> anyhow::Result<(u64, Instant)> {
        self.probe.processed()
    }
    fn sent(&self) -> u64 {
        self.delivered.delivered.load(Ordering::Relaxed)
    }
    fn interval(&self) -> Duration {
        Duration::from_millis(200)
    }
}

/// gRPC: events acknowledged in BatchAcks.
pub struct AckCounter {
    /// The acks of one sink.
    pub acks: Arc<AckStats>,
    /// For the events sent.
    pub shared: Arc<Shared>,
    /// `shared.sent` when this sink started.
    pub offset: u64,
}

impl Probe for AckCounter {
    fn processed(&self) -> anyhow::Result<(u64, Instant)> {
        if let Some(e) = self.acks.error() {
            anyhow::bail!("gRPC Ingest stream failed: {e}");
        }
        Ok((self.acks.events.load(Ordering::Relaxed), Instant::now()))
    }
    fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed) - self.offset
    }
    fn interval(&self) -> Duration {
        Duration::from_millis(20)
    }
}

/// How long satpam may process nothing at all, with events waiting, before
/// the run stops.
const STALL: Duration = Duration::from_secs(60);

/// A phase's figures before its latencies are final.
#[derive(Debug)]
pub struct PhaseOutcome {
    /// The figures (latencies filled in at the end of the run).
    pub report: PhaseReport,
    /// What the generator did.
    pub run: PhaseRun,
    /// Events processed when the phase started.
    pub processed_start: u64,
}

/// The parts of a run that phases share.
pub struct Runner {
    /// Shared with the generator and the readers.
    pub shared: Arc<Shared>,
    /// The progress bar.
    pub progress: Progress,
    /// satpam's /metrics.
    pub metrics: MetricsEndpoint,
    /// Whose CPU time the phases report.
    pub cpu: CpuWatch,
    /// Longest wait for a backlog to be worked off.
    pub settle_timeout: Duration,
    /// Sequence number of the next event.
    pub next_seq: u64,
    /// Notes for the report.
    pub notes: Vec<String>,
    /// Processed counts seen since the current phase started.
    pub series: CountSeries,
}

impl Runner {
    /// satpam's metrics now, if reachable.
    pub fn scrape(&self) -> Option<Scrape> {
        self.metrics.scrape().ok()
    }

    /// Runs one phase through `sink`, measuring with `probe`.
    pub fn phase(
        &mut self,
        name: &str,
        plan: PhasePlan,
        sink: &mut dyn EventSink,
        probe: &dyn Probe,
    ) -> anyhow::Result<PhaseOutcome> {
        let (p0, t0) = probe.processed()?;
        let latency0 = self.scrape();
        let cpu0 = self.cpu.sample();
        let blocked0 = sink.blocked();
        self.series.clear();
        self.series.push(p0, t0);
        let first_seq = self.next_seq;
        let sent0 = self.shared.sent.load(Ordering::Relaxed);
        let len = plan.deadline.is_none().then_some(plan.events);
        self.progress.phase(name, len);
        let shared = self.shared.clone();
        let progress = &self.progress;
        let series = &mut self.series;
        let run = std::thread::scope(|s| {
            let generator = s.spawn(|| generator::run_phase(&shared, sink, plan, first_seq));
            let mut processed = p0;
            while !generator.is_finished() {
                std::thread::sleep(probe.interval().max(Duration::from_millis(100)));
                if let Ok((p, t)) = probe.processed() {
                    processed = p;
                    series.push(p, t);
                }
                let sent = shared.sent.load(Ordering::Relaxed) - sent0;
                let secs = t0.elapsed().as_secs_f64().max(1e-3);
                progress.update(
                    sent,
                    format!(
                        "sent {:.0}/s, processed {:.0}/s, signals {}",
                        sent as f64 / secs,
                        (processed - p0) as f64 / secs,
                        shared.signals.load(Ordering::Relaxed)
                    ),
                );
            }
            generator
                .join()
                .map_err(|_| anyhow::anyhow!("the generator panicked"))?
        })?;
        self.next_seq += run.events;
        let (p1, t1) = probe.processed()?;
        self.series.push(p1, t1);
        let seconds = (run.last_sent - run.started).as_secs_f64().max(1e-9);
        let sent_rate = run.events as f64 / seconds;
        let achieved = (p1 - p0) as f64 / (t1 - t0).as_secs_f64().max(1e-9);
        let backlog = probe.sent().saturating_sub(p1);
        let offered = match plan.pace {
            Pace::Open(r) => Some(r),
            Pace::Max => None,
        };
        // Behind: under 90% of what was sent got processed, or more than two
        // seconds' worth is still waiting (pipeline latency alone, e.g. a
        // broker holding fetches, accounts for well under that).
        // Sending fell short of the schedule: the target pushing back (the
        // client's window or queue was full for over a tenth of the phase)
        // is saturation; otherwise the generator itself could not keep up.
        let pushed_back = (sink.blocked() - blocked0).as_secs_f64() > 0.1 * seconds;
        let short = offered.is_some_and(|r| sent_rate < 0.95 * r);
        let saturated = offered.is_some()
            && (achieved < 0.9 * sent_rate
                || backlog as f64 > 2.0 * sent_rate
                || (short && pushed_back));
        let generator_limited = short && !pushed_back;
        let in_service = self
            .scrape()
            .and_then(|s| s.stage_ms(latency0.as_ref(), "in_service"));
        let cpu_s = self.cpu.since(&cpu0);
        let cpu = cpu_s.get(cpu::LOADGEN).copied();
        let report = PhaseReport {
            name: name.to_string(),
            kind: if offered.is_some() {
                "open-loop"
            } else {
                "max"
            },
            offered_rate: offered.map(|r| r.round()),
            events: run.events,
            seconds: round3(seconds),
            sent_rate: sent_rate.round(),
            achieved_rate: achieved.round(),
            backlog,
            saturated,
            generator_limited,
            latency_ms: None,
            latency_split_ms: None,
            ack_latency_ms: None,
            in_service_ms: in_service,
            loadgen_cpu_s: cpu,
            cpu_s,
        };
        self.progress.println(&format!(
            "{name}: offered {}, sent {:.0}/s, achieved {:.0}/s, backlog {backlog}, loadgen CPU {}{}{}",
            offered.map_or("max".into(), |r| format!("{r:.0}/s")),
            sent_rate,
            achieved,
            cpu.map_or("-".into(), |c| format!("{:.2} us/event", c * 1e6 / run.events.max(1) as f64)),
            if saturated { ", saturated" } else { "" },
            if generator_limited {
                ", generator-limited"
            } else {
                ""
            },
        ));
        Ok(PhaseOutcome {
            report,
            run,
            processed_start: p0,
        })
    }

    /// Waits until the target has processed everything sent; returns when
    /// it had (interpolated between probes), or `None` on timeout.
    pub fn settle(&mut self, probe: &dyn Probe) -> anyhow::Result<Option<Instant>> {
        let target = probe.sent();
        let started = Instant::now();
        self.progress.phase("settle", None);
        let mut prev: Option<(u64, Instant)> = None;
        let mut moved = (probe.processed()?.0, Instant::now());
        loop {
            let (p, t) = probe.processed()?;
            self.series.push(p, t);
            if p != moved.0 {
                moved = (p, t);
            }
            if p >= target {
                let at = match prev {
                    Some((pp, tp)) if p > pp && target > pp => {
                        tp + (t - tp).mul_f64((target - pp) as f64 / (p - pp) as f64)
                    }
                    _ => t,
                };
                return Ok(Some(at));
            }
            // Nothing processed at all for a while: satpam is not consuming
            // (wrong topic or metrics endpoint, a failed start): stop here.
            if moved.1.elapsed() >= STALL {
                anyhow::bail!(
                    "satpam processed nothing for {} s with {} events waiting: is it consuming what loadgen sends (topic, --metrics of the right instance)?",
                    STALL.as_secs(),
                    target - p
                );
            }
            if started.elapsed() >= self.settle_timeout {
                self.notes.push(format!(
                    "satpam had not processed {} of the events sent after {:.0} s; went on",
                    target - p,
                    self.settle_timeout.as_secs_f64()
                ));
                return Ok(None);
            }
            self.progress
                .update(0, format!("waiting for satpam: backlog {}", target - p));
            prev = Some((p, t));
            std::thread::sleep(probe.interval());
        }
    }

    /// Runs the sweep: open-loop steps of `step` each at growing rates until
    /// one saturates (or the generator cannot keep up). Returns the steps
    /// and the saturation rate: the highest rate processed in any step,
    /// when a step saturated.
    pub fn sweep(
        &mut self,
        sweep: &Sweep,
        auto: (f64, f64, f64),
        step: Duration,
        sink: &mut dyn EventSink,
        probe: &dyn Probe,
    ) -> anyhow::Result<(Vec<PhaseOutcome>, Option<f64>)> {
        let (start, factor, max) = auto;
        let rates: Vec<f64> = match sweep {
            Sweep::Rates(r) => r.clone(),
            Sweep::Auto => std::iter::successors(Some(start), |r| Some(r * factor))
                .take_while(|r| *r <= max)
                .take(64)
                .collect(),
        };
        let mut steps = Vec::new();
        for (i, rate) in rates.into_iter().enumerate() {
            let plan = PhasePlan {
                pace: Pace::Open(rate),
                events: (rate * step.as_secs_f64()).ceil() as u64,
                deadline: None,
            };
            let o = self.phase(&format!("sweep-{}", i + 1), plan, sink, probe)?;
            self.settle(probe)?;
            let (saturated, limited) = (o.report.saturated, o.report.generator_limited);
            steps.push(o);
            if limited {
                self.notes.push(format!(
                    "the generator could not offer {rate:.0}/s on this machine; the sweep stopped there"
                ));
                break;
            }
            if saturated {
                break;
            }
        }
        let saturation = if steps.iter().any(|o| o.report.saturated) {
            steps
                .iter()
                .map(|o| o.report.achieved_rate)
                .reduce(f64::max)
        } else {
            self.notes.push(
                "the sweep did not saturate satpam; no saturation rate (raise --sweep-max or list higher rates)".into(),
            );
            None
        };
        Ok((steps, saturation))
    }

    /// Sends `events` as fast as possible and times how fast the target
    /// works through them (between 10% and 90% of them). `kafka`: the
    /// producer is much faster than satpam, so most of the burst is a
    /// backlog satpam drains with the producer idle.
    pub fn drain(
        &mut self,
        name: &str,
        events: u64,
        kafka: bool,
        sink: &mut dyn EventSink,
        probe: &dyn Probe,
    ) -> anyhow::Result<(PhaseOutcome, Option<DrainReport>)> {
        let plan = PhasePlan {
            pace: Pace::Max,
            events,
            deadline: None,
        };
        let cpu0 = self.cpu.sample();
        let counted0 = self.scrape();
        let o = self.phase(name, plan, sink, probe)?;
        let done_at = self.settle(probe)?;
        let cpu_s = self.cpu.since(&cpu0);
        let counted = counted0
            .zip(self.scrape())
            .map(|(a, b)| (b.events_all() - a.events_all(), b.at - a.at));
        let rate = self.series.rate_10_90(o.processed_start, o.run.events);
        let report = match (done_at, rate) {
            (Some(end), Some(rate)) => {
                let backlog = o.report.backlog;
                Some(DrainReport {
                    events: o.run.events,
                    backlog_at_producer_done: backlog,
                    seconds: round3((end - o.run.started).as_secs_f64()),
                    rate: rate.round(),
                    producer_limited: kafka && (backlog as f64) < 0.1 * o.run.events as f64,
                    satpam_events_rate: counted
                        .filter(|(_, d)| !d.is_zero())
                        .map(|(n, d)| (n / d.as_secs_f64()).round()),
                    cpu_us_per_event: cpu::per_event_us(&cpu_s, o.run.events),
                    cpu_s,
                })
            }
            _ => {
                self.notes.push(format!(
                    "the {name} phase did not complete; no rate from it"
                ));
                None
            }
        };
        Ok((o, report))
    }
}
