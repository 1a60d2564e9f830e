//! CPU time spent by loadgen and by the processes named with `--watch-pid`
//! (satpam, the broker) over a measurement, so a run can say where the
//! machine's CPUs went: per event, per process.
//!
//! Read from `/proc/<pid>/stat` (user + system time in clock ticks of
//! 1/100 s, the fixed USER_HZ of /proc), so it works for processes on this
//! machine only; in a container network, leave `--watch-pid` out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;

/// The name loadgen's own CPU time is reported under.
pub const LOADGEN: &str = "loadgen";

/// The processes whose CPU time a run reports.
#[derive(Debug, Clone)]
pub struct CpuWatch {
    procs: Vec<(String, PathBuf)>,
}

/// CPU seconds of each watched process at one moment (`None`: unreadable,
/// e.g. the process ended).
#[derive(Debug, Clone)]
pub struct CpuSample(Vec<Option<f64>>);

/// CPU seconds each watched process used between two samples.
pub type CpuUse = BTreeMap<String, f64>;

impl CpuWatch {
    /// loadgen itself and each `(name, pid)`; fails with the name and pid
    /// when a process cannot be read now, or a name is used twice.
    pub fn new(watched: &[(String, u32)]) -> anyhow::Result<CpuWatch> {
        let mut procs = vec![(LOADGEN.to_string(), PathBuf::from("/proc/self/stat"))];
        for (name, pid) in watched {
            anyhow::ensure!(
                !procs.iter().any(|(n, _)| n == name),
                "--watch-pid {name}={pid}: the name `{name}` is taken{}",
                if name == LOADGEN {
                    " (loadgen's own CPU is always reported)"
                } else {
                    ""
                }
            );
            let path = PathBuf::from(format!("/proc/{pid}/stat"));
            cpu_seconds(&path)
                .with_context(|| format!("--watch-pid {name}={pid}: no such process here"))?;
            procs.push((name.clone(), path));
        }
        Ok(CpuWatch { procs })
    }

    /// The same processes and `(name, pid)` besides (a process loadgen
    /// started itself); fails when the name is taken or the process
    /// cannot be read.
    pub fn with(&self, name: &str, pid: u32) -> anyhow::Result<CpuWatch> {
        anyhow::ensure!(
            !self.procs.iter().any(|(n, _)| n == name),
            "--watch-pid {name}=...: the name `{name}` is the process loadgen starts and watches itself"
        );
        let path = PathBuf::from(format!("/proc/{pid}/stat"));
        cpu_seconds(&path).with_context(|| format!("{name}={pid}: no such process here"))?;
        let mut w = self.clone();
        w.procs.push((name.to_string(), path));
        Ok(w)
    }

    /// Every watched process's CPU seconds now.
    pub fn sample(&self) -> CpuSample {
        CpuSample(
            self.procs
                .iter()
                .map(|(_, p)| cpu_seconds(p).ok())
                .collect(),
        )
    }

    /// CPU seconds used since `start`, by name (processes readable at both ends).
    pub fn since(&self, start: &CpuSample) -> CpuUse {
        let now = self.sample();
        self.procs
            .iter()
            .zip(start.0.iter().zip(now.0.iter()))
            .filter_map(|((name, _), (a, b))| Some((name.clone(), round2((*b)? - (*a)?))))
            .collect()
    }
}

/// Microseconds of CPU per event, by name.
pub fn per_event_us(used: &CpuUse, events: u64) -> CpuUse {
    used.iter()
        .map(|(n, s)| (n.clone(), round2(s * 1e6 / events.max(1) as f64)))
        .collect()
}

/// `satpam 4.10, broker 2.03, loadgen 0.51 us/event; 1.93 CPUs busy`.
pub fn describe(used: &CpuUse, events: u64, seconds: f64) -> String {
    let per = per_event_us(used, events);
    let parts: Vec<String> = per.iter().map(|(n, us)| format!("{n} {us:.2}")).collect();
    let busy: f64 = used.values().sum::<f64>() / seconds.max(1e-9);
    format!("{} us/event; {busy:.2} CPUs busy", parts.join(", "))
}

/// User + system CPU seconds of the process whose stat file is `path`.
pub fn cpu_seconds(path: &std::path::Path) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(path)?;
    parse_stat(&stat).with_context(|| format!("{}: unexpected format", path.display()))
}

/// utime + stime of one `/proc/<pid>/stat` line, in seconds.
fn parse_stat(stat: &str) -> Option<f64> {
    // Fields after the command name (which may contain spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after ")".
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Parses `NAME=PID`.
pub fn parse_watch(s: &str) -> Result<(String, u32), String> {
    let (name, pid) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=PID, e.g. satpam=4242"))?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("`{s}`: the name must be letters, digits, - or _"));
    }
    let pid: u32 = pid
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: `{}` is not a process id", pid.trim()))?;
    Ok((name.to_string(), pid))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn stat_lines_parse_with_spaces_in_the_command() {
        let line =
            "4242 (tokio rt (w)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 9 0 1 2 3";
        assert_eq!(parse_stat(line), Some(12.90));
        assert_eq!(parse_stat("4242 (x) S 1"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn watch_arguments_parse_or_say_why() {
        assert_eq!(parse_watch("satpam=4242"), Ok(("satpam".into(), 4242)));
        assert_eq!(parse_watch(" broker = 7 "), Ok(("broker".into(), 7)));
        for (bad, why) in [
            ("satpam", "expected NAME=PID"),
            ("=12", "the name must be"),
            ("a b=12", "the name must be"),
            ("satpam=x", "is not a process id"),
            ("satpam=-1", "is not a process id"),
        ] {
            let e = parse_watch(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn a_missing_process_or_a_taken_name_is_refused() {
        let e = CpuWatch::new(&[("satpam".into(), u32::MAX)]).expect_err("no such pid");
        assert!(e.to_string().contains("satpam="), "{e}");
        let me = std::process::id();
        let e = CpuWatch::new(&[(LOADGEN.into(), me)]).expect_err("reserved");
        assert!(e.to_string().contains("always reported"), "{e}");
        let e = CpuWatch::new(&[("a".into(), me), ("a".into(), me)]).expect_err("twice");
        assert!(e.to_string().contains("taken"), "{e}");
    }

    #[test]
    fn cpu_use_grows_with_work_for_each_watched_process() {
        let watch = CpuWatch::new(&[("me".into(), std::process::id())]).expect("self");
        let start = watch.sample();
        let self_stat = std::path::Path::new("/proc/self/stat");
        let before = cpu_seconds(self_stat).expect("own stat");
        // Burn 0.1 s of CPU (not of wall time: the machine may be busy).
        let mut x = 0u64;
        let t = Instant::now();
        while cpu_seconds(self_stat).expect("own stat") < before + 0.1
            && t.elapsed() < Duration::from_secs(20)
        {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        let used = watch.since(&start);
        assert!(used[LOADGEN] >= 0.09, "{used:?}");
        assert!(used["me"] >= 0.09, "{used:?}");
        let per = per_event_us(&used, 1_000);
        assert!((per["me"] - used["me"] * 1e3).abs() < 0.02, "{per:?}");
        let line = describe(&used, 1_000, 0.15);
        assert!(line.starts_with("loadgen "), "{line}");
        assert!(line.contains(", me "), "{line}");
        assert!(line.ends_with("CPUs busy"), "{line}");
    }
}
