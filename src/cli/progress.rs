//! Progress bars for the long file commands (`replay`, `eval`): drawn on
//! stderr only when it is a terminal, so pipes, files and CI logs get
//! nothing but the results.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::path::Path;

use indicatif::{ProgressBar, ProgressBarIter, ProgressDrawTarget, ProgressStyle};
use satpam::io::{EventFormat, EventReader};

/// A bar over `len` bytes of `what`, hidden unless stderr is a terminal.
pub fn bytes_bar(len: u64, what: &str) -> ProgressBar {
    let target = if io::stderr().is_terminal() {
        ProgressDrawTarget::stderr_with_hz(4)
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar
}

/// Opens an events file (format detected as [`EventReader::open`] does)
/// with a bar that follows the bytes read; finish the bar when done.
pub fn open_events(
    path: &Path,
    what: &str,
) -> io::Result<(EventReader<BufReader<ProgressBarIter<File>>>, ProgressBar)> {
    let file = File::open(path)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = bytes_bar(len, what);
    let mut input = BufReader::with_capacity(1 << 20, bar.wrap_read(file));
    let first = input.fill_buf()?.first().copied();
    let format = EventFormat::detect(path, first);
    Ok((EventReader::new(input, format), bar))
}
