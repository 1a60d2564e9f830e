//! Progress of `satpam-loadgen scenario` on stderr (indicatif): a spinner
//! while the corpora load and the traffic is generated, then a bar over the
//! events written. Drawn only when stderr is a terminal; quiet otherwise.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target() -> ProgressDrawTarget {
    if io::stderr().is_terminal() {
        ProgressDrawTarget::stderr_with_hz(4)
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A spinner showing `msg` until finished.
pub fn spinner(msg: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    if let Ok(s) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}") {
        bar.set_style(s);
    }
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// A bar over `len` events written.
pub fn events_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target());
    if let Ok(s) = ProgressStyle::with_template(
        "writing [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} events eta {eta}",
    ) {
        bar.set_style(s);
    }
    bar
}

/// A writer that advances `bar` by one per line (event) written through it.
pub struct LineCounter<W> {
    inner: W,
    bar: ProgressBar,
}

impl<W: Write> LineCounter<W> {
    /// Counts the lines written to `inner` on `bar`.
    pub fn new(inner: W, bar: ProgressBar) -> Self {
        LineCounter { inner, bar }
    }
}

impl<W: Write> Write for LineCounter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let lines = buf[..n].iter().filter(|&&b| b == b'\n').count();
        self.bar.inc(lines as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_counts_lines_and_passes_bytes_through() {
        let bar = ProgressBar::hidden();
        bar.set_length(3);
        let mut w = LineCounter::new(Vec::new(), bar.clone());
        w.write_all(b"{\"a\":1}\n{\"a\":2}\n{\"a\"").expect("write");
        w.write_all(b":3}\n").expect("write");
        assert_eq!(bar.position(), 3);
        assert_eq!(w.inner, b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
    }
}
