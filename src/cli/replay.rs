//! `satpam replay`: a file of events through the engine, with a summary.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use satpam::decide::Action;
use satpam::io::SignalWriter;
use satpam::replay::{ReplaySummary, Replayer};
use satpam::EngineConfig;

use super::load::load;
use crate::EngineFiles;

/// Runs the replay.
pub fn run(events: &Path, files: &EngineFiles, out: Option<&Path>, json: bool) -> Result<ExitCode> {
    let loaded = load(files)?;
    let (mut reader, bar) = super::progress::open_events(events, "replay")
        .with_context(|| format!("cannot open {}", events.display()))?;
    let sink: Option<Box<dyn Write>> = match out {
        Some(p) if p == Path::new("-") => Some(Box::new(io::stdout().lock())),
        Some(p) => Some(Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        None => None,
    };
    let mut writer = sink.map(SignalWriter::new);
    let mut replayer = Replayer::new(
        loaded.rules,
        loaded.policy,
        loaded.overrides,
        EngineConfig::default(),
    );
    while let Some(record) = reader.next_record() {
        if let Some(signal) = replayer.feed(reader.position(), record) {
            if let Some(w) = writer.as_mut() {
                w.write(&signal).context("writing signals")?;
            }
        }
    }
    bar.finish_and_clear();
    if let Some(w) = writer {
        w.finish().context("writing signals")?;
    }
    let (summary, _engine) = replayer.finish();
    if json {
        println!("{}", summary_json(&summary));
    } else {
        print_summary(&summary, events, out);
    }
    Ok(ExitCode::SUCCESS)
}

fn summary_json(s: &ReplaySummary) -> serde_json::Value {
    let signals: serde_json::Map<String, serde_json::Value> = Action::SIGNALLED
        .iter()
        .map(|a| (a.name().to_string(), s.signals(*a).into()))
        .collect();
    serde_json::json!({
        "records": s.records,
        "events": s.engine.events,
        "malformed": s.malformed,
        "errors": s.errors.iter().map(|e| serde_json::json!({"line": e.line, "reason": e.reason})).collect::<Vec<_>>(),
        "duplicates": s.engine.duplicates,
        "late": s.engine.late,
        "refused": s.engine.refused,
        "accounts": s.store.accounts,
        "conversations": s.store.conversations,
        "state_bytes": s.store.account_bytes + s.store.conversation_bytes,
        "signals": signals,
        "rule_set_version": s.rule_set_version,
        "rule_hits": s.rule_hits.iter().map(|r| serde_json::json!({"id": r.id, "version": r.version, "shadow": r.shadow, "hits": r.hits})).collect::<Vec<_>>(),
        "elapsed_s": s.elapsed_s,
        "events_per_sec": s.events_per_sec(),
    })
}

fn print_summary(s: &ReplaySummary, events: &Path, out: Option<&Path>) {
    // The summary goes to stderr when signals go to stdout.
    let to_stderr = out == Some(Path::new("-"));
    let mut w: Box<dyn Write> = if to_stderr {
        Box::new(io::stderr())
    } else {
        Box::new(io::stdout())
    };
    let _ = writeln!(w, "replay of {}", events.display());
    let _ = writeln!(w, "  records        {:>12}", s.records);
    let _ = writeln!(
        w,
        "  events         {:>12}   ({} duplicates, {} late)",
        s.engine.events, s.engine.duplicates, s.engine.late
    );
    let _ = writeln!(
        w,
        "  malformed      {:>12}   ({} refused for their event time)",
        s.malformed, s.engine.refused
    );
    for e in &s.errors {
        let _ = writeln!(w, "    line {}: {}", e.line, e.reason);
    }
    if s.malformed > s.errors.len() as u64 {
        let _ = writeln!(
            w,
            "    ... and {} more",
            s.malformed - s.errors.len() as u64
        );
    }
    let _ = writeln!(w, "  accounts       {:>12}", s.store.accounts);
    let _ = writeln!(w, "  conversations  {:>12}", s.store.conversations);
    let _ = writeln!(
        w,
        "  state          {:>12} bytes",
        s.store.account_bytes + s.store.conversation_bytes
    );
    let _ = writeln!(w, "  signals");
    for a in Action::SIGNALLED {
        let _ = writeln!(w, "    {:<12} {:>12}", a.name(), s.signals(a));
    }
    let _ = writeln!(w, "  rules ({})", s.rule_set_version);
    for r in &s.rule_hits {
        let mode = if r.shadow { " (shadow)" } else { "" };
        let _ = writeln!(
            w,
            "    {:<32} v{:<3} {:>12} hits{mode}",
            r.id, r.version, r.hits
        );
    }
    let _ = writeln!(w, "  wall time      {:>12.2} s", s.elapsed_s);
    let _ = writeln!(w, "  throughput     {:>12.0} events/s", s.events_per_sec());
}
