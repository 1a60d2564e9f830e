//! The progress bar (indicatif, on stderr): hidden when stderr is not a
//! terminal or with `--json`; phase results are then printed as plain lines.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The run's progress display.
pub struct Progress {
    bar: ProgressBar,
    visible: bool,
}

impl Progress {
    /// A bar on stderr, or a hidden one (`quiet`, or stderr is not a terminal).
    pub fn new(quiet: bool) -> Progress {
        let visible = !quiet && std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        Progress { bar, visible }
    }

    /// Starts a phase of `len` events (a spinner when unknown).
    pub fn phase(&self, name: &str, len: Option<u64>) {
        let style = match len {
            Some(n) => {
                self.bar.set_length(n);
                ProgressStyle::with_template(
                    "{prefix:>9} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} {msg}",
                )
            }
            None => ProgressStyle::with_template("{prefix:>9} [{elapsed_precise}] {spinner} {msg}"),
        };
        if let Ok(s) = style {
            self.bar.set_style(s);
        }
        self.bar.set_prefix(name.to_string());
        self.bar.set_position(0);
        self.bar.reset_elapsed();
    }

    /// Moves the bar to `pos` with a status message.
    pub fn update(&self, pos: u64, msg: String) {
        self.bar.set_position(pos);
        self.bar.set_message(msg);
        if !self.visible {
            return;
        }
        self.bar.tick();
    }

    /// Prints a line above the bar (or to stderr when the bar is hidden).
    pub fn println(&self, line: &str) {
        if self.visible {
            self.bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
