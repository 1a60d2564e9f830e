//! Log output of `serve`: the filter (`SATPAM_LOG`) and the format
//! (`SATPAM_LOG_FORMAT` = `text` or `json`), read by the caller and handed
//! in. JSON is one object per line with the same fields as the text form
//! (timestamp, level, target, message and the event's key-value fields);
//! neither form ever carries message text, because no log statement does.

use anyhow::{bail, Result};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (ANSI colours on a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Parses `SATPAM_LOG_FORMAT`; unset or empty is `text`.
    pub fn parse(value: Option<&str>) -> Result<LogFormat> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => bail!("SATPAM_LOG_FORMAT: `{other}`: expected `text` or `json`"),
        }
    }
}

/// Installs the global subscriber; `filter` is an `EnvFilter` directive
/// string (`info` when unset or invalid).
pub fn init(filter: Option<&str>, format: LogFormat) {
    let filter = filter
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_anything_else_is_refused() {
        assert_eq!(LogFormat::parse(None).expect("unset"), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("")).expect("empty"), LogFormat::Text);
        assert_eq!(
            LogFormat::parse(Some("json")).expect("json"),
            LogFormat::Json
        );
        let e = LogFormat::parse(Some("JSONL")).expect_err("unknown");
        assert!(e.to_string().contains("`JSONL`"), "{e}");
    }
}
