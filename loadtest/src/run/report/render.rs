//! A report's figures into words: the ratio and targets filled in, the
//! summary table, the Markdown results file with the machine and command.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::*;

impl Report {
    /// Fills `ratio` and `targets` from the figures.
    pub fn finish(&mut self, main_at_70pct_of_saturation: bool) {
        let satpam = if let Some(c) = &self.catch_up {
            Some((c.rate, "catch-up"))
        } else if let Some(d) = self.drain_rate {
            Some((d, "drain"))
        } else if self.mode == "max" {
            Some((self.achieved_rate, "max"))
        } else if let Some(s) = self.saturation_rate {
            Some((s, "saturation"))
        } else {
            Some((self.achieved_rate, "achieved"))
        };
        if let (Some((rate, basis)), Some(base)) = (satpam, self.baseline_rate) {
            if base > 0.0 {
                self.ratio = Some(round3(rate / base));
                self.ratio_basis = Some(basis);
            }
        }
        self.targets = Targets {
            ratio_ge_0_7: if self.target == "kafka" {
                self.ratio.map(|r| r >= TARGET_RATIO)
            } else {
                None
            },
            in_service_p99_le_1ms_at_70pct: if main_at_70pct_of_saturation {
                self.in_service_ms
                    .map(|q| q.p99 <= TARGET_IN_SERVICE_P99_MS)
            } else {
                None
            },
        };
    }

    /// The human summary: one row per phase, then the headline figures.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "satpam-loadgen run: {} {} (run {})",
            self.target, self.endpoint, self.run_id
        );
        let _ = writeln!(
            o,
            "traffic: {} accounts ({} violating), {:.1} h of event time per loop of {} events, {:.0} B/event, texts {}",
            self.scenario.pool.accounts,
            self.scenario.pool.violating_accounts,
            self.scenario.pool.span_hours,
            self.scenario.pool.events,
            self.scenario.pool.mean_event_bytes,
            self.scenario.text_source
        );
        let _ = writeln!(
            o,
            "{:<10} {:>10} {:>10} {:>10} {:>9} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "phase",
            "offered/s",
            "sent/s",
            "achieved/s",
            "backlog",
            "sat",
            "e2e p50",
            "e2e p99",
            "e2e p99.9",
            "e2e max",
            "ack p99",
            "svc p99"
        );
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        for p in &self.phases {
            let _ = writeln!(
                o,
                "{:<10} {:>10} {:>10.0} {:>10.0} {:>9} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                p.name,
                p.offered_rate
                    .map_or("max".to_string(), |r| format!("{r:.0}")),
                p.sent_rate,
                p.achieved_rate,
                p.backlog,
                if p.saturated { "yes" } else { "" },
                ms(p.latency_ms.map(|l| l.p50)),
                ms(p.latency_ms.map(|l| l.p99)),
                ms(p.latency_ms.map(|l| l.p999)),
                ms(p.latency_ms.map(|l| l.max)),
                ms(p.ack_latency_ms.map(|l| l.p99)),
                ms(p.in_service_ms.map(|q| q.p99)),
            );
        }
        let _ = writeln!(o, "(latencies in ms, from each event's intended send time; svc = satpam's in-service stage)");
        let rate = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} events/s"));
        let _ = writeln!(
            o,
            "main: offered {:.0}/s, sent {:.0}/s, achieved {:.0}/s over {:.1} s{}",
            self.offered_rate,
            self.sent_rate,
            self.achieved_rate,
            self.duration_s,
            if self.saturated { " (saturated)" } else { "" }
        );
        if let Some(s) = self.saturation_rate {
            let _ = writeln!(o, "saturation (sweep): {s:.0} events/s");
        }
        if let Some(d) = &self.drain {
            let _ = writeln!(
                o,
                "drain: {} events, backlog {} when the last was sent, processed at {:.0} events/s (10-90%){}",
                d.events,
                d.backlog_at_producer_done,
                d.rate,
                if d.producer_limited {
                    " (producer-limited: a lower bound)"
                } else {
                    ""
                }
            );
            if let Some(r) = d.satpam_events_rate {
                let _ = writeln!(
                    o,
                    "  satpam_events_total over the whole drain: {r:.0}/s (webhook: messages and delivery reports)"
                );
            }
            if !d.cpu_s.is_empty() {
                let _ = writeln!(
                    o,
                    "  CPU over the drain: {}",
                    cpu::describe(&d.cpu_s, d.events, d.seconds)
                );
            }
        }
        if let Some(c) = &self.catch_up {
            let _ = writeln!(
                o,
                "catch-up: satpam started on group {} after the burst ({:.1} s to /metrics), {} events processed at {:.0} events/s (10-90%), all in {:.1} s",
                c.group, c.startup_s, c.events, c.rate, c.seconds
            );
            if !c.cpu_s.is_empty() {
                let _ = writeln!(
                    o,
                    "  CPU over the catch-up: {}",
                    cpu::describe(&c.cpu_s, c.events, c.seconds)
                );
            }
            if !c.satpam_threads_cpu_s.is_empty() {
                let threads: Vec<String> = c
                    .satpam_threads_cpu_s
                    .iter()
                    .map(|(n, s)| format!("{n} {:.2}", s / c.seconds.max(1e-9)))
                    .collect();
                let _ = writeln!(o, "  satpam's threads, CPUs: {}", threads.join(", "));
            }
        }
        if let Some(b) = &self.baseline {
            let _ = writeln!(
                o,
                "baseline: {} over {} events: {}{}",
                b.method,
                b.events,
                rate(Some(b.rate)),
                if b.complete { "" } else { " (incomplete)" }
            );
            if !b.cpu_s.is_empty() {
                let _ = writeln!(
                    o,
                    "  CPU over the baseline: {}",
                    cpu::describe(&b.cpu_s, b.events, b.seconds)
                );
            }
        }
        if let Some(w) = &self.webhook {
            let _ = writeln!(
                o,
                "webhook: {} requests ({} not 200), {:.2} events/request, main {:.0} requests/s; satpam's parse+map alone {} on one thread",
                w.requests,
                w.refused,
                w.events_per_request,
                w.requests_rate,
                rate(w.parse_map_rate)
            );
            if w.reports > 0 {
                let _ = writeln!(
                    o,
                    "  statuses: {} in answered requests, {:.2} updates (events and statuses) per request",
                    w.reports, w.updates_per_request
                );
            }
            if let Some(f) = &w.http_floor {
                let _ = writeln!(
                    o,
                    "http floor: {}: {:.0} requests/s, {:.0} events/s",
                    f.method, f.requests_rate, f.events_rate
                );
                if !f.cpu_s.is_empty() {
                    let _ = writeln!(
                        o,
                        "  CPU over the floor: {}",
                        cpu::describe(&f.cpu_s, f.requests, f.seconds)
                    );
                }
            }
        }
        if let (Some(r), Some(basis)) = (self.ratio, self.ratio_basis) {
            let verdict = match self.targets.ratio_ge_0_7 {
                Some(true) => "  [target >= 0.7: met]",
                Some(false) => "  [target >= 0.7: missed]",
                None => "",
            };
            let _ = writeln!(o, "ratio ({basis} / baseline): {r:.3}{verdict}");
        }
        if let Some(l) = &self.latency_ms {
            let _ = writeln!(
                o,
                "end-to-end (main, {} signals): p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
                l.samples, l.p50, l.p99, l.p999, l.max
            );
        }
        if let Some(s) = &self.latency_split_ms {
            let _ = writeln!(
                o,
                "  to decision: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; decision to seen: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                s.to_decision.p50,
                s.to_decision.p99,
                s.to_decision.max,
                s.from_decision.p50,
                s.from_decision.p99,
                s.from_decision.max
            );
        }
        if let Some(l) = &self.ack_latency_ms {
            let what = match self.target {
                "grpc" => "gRPC ack (main, batches",
                "webhook" => "request latency (main, requests",
                _ => "produce ack (main, events",
            };
            let _ = writeln!(
                o,
                "{what} {}): p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
                l.samples, l.p50, l.p99, l.p999, l.max
            );
        }
        if let Some(q) = &self.in_service_ms {
            let verdict = match self.targets.in_service_p99_le_1ms_at_70pct {
                Some(true) => "  [target <= 1 ms at 70% of saturation: met]",
                Some(false) => "  [target <= 1 ms at 70% of saturation: missed]",
                None => "",
            };
            let _ = writeln!(
                o,
                "in-service (satpam, end of main): p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms{verdict}",
                q.p50, q.p99, q.p999, q.max
            );
        }
        let _ = writeln!(
            o,
            "events sent {}, processed {}, signals seen {}, late {}, duplicates {}, rejected {}",
            self.events_sent,
            self.events_processed,
            self.signals_seen,
            self.late_events,
            self.duplicate_events,
            self.rejected_events
        );
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        o
    }

    /// The results file: date, machine, command line, the table and the JSON.
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# satpam-loadgen run: {} at {}\n",
            self.target,
            if self.mode == "catch-up" {
                "catch-up".to_string()
            } else if self.mode == "max" {
                "max rate".to_string()
            } else {
                format!("{:.0} events/s", self.offered_rate)
            }
        );
        let m = &self.machine;
        let _ = writeln!(o, "- date: {}", self.date);
        let _ = writeln!(
            o,
            "- machine: {} CPUs ({}), kernel {}, {:.1} GiB memory; load average {} at the start, {} at the end",
            m.nproc, m.cpu, m.kernel, m.memory_gib, m.loadavg_start, m.loadavg_end
        );
        let _ = writeln!(o, "- command: `{}`", self.command);
        let _ = writeln!(o, "- run id: {}\n", self.run_id);
        let _ = writeln!(o, "```\n{}```\n", self.table());
        let json = serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("\"{e}\""));
        let _ = writeln!(o, "```json\n{json}\n```");
        o
    }

    /// Writes the results file into `dir` as `YYYY-MM-DD-<target>-<rate>.md`
    /// (`-2`, `-3`, ... when taken); returns its path.
    pub fn record(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let day = self.date.get(..10).unwrap_or("undated");
        let rate = if self.mode == "max" || self.mode == "catch-up" {
            self.mode.to_string()
        } else {
            format!("{:.0}", self.offered_rate)
        };
        let stem = format!("{day}-{}-{rate}", self.target);
        let mut path = dir.join(format!("{stem}.md"));
        let mut n = 2;
        while path.exists() {
            path = dir.join(format!("{stem}-{n}.md"));
            n += 1;
        }
        std::fs::write(&path, self.markdown())?;
        Ok(path)
    }
}
