//! Log output of `serve`: the filter (`SATPAM_LOG`) and the format
//! (`SATPAM_LOG_FORMAT` = `text` or `json`), read by the caller and handed
//! in. JSON is one object per line with the same fields as the text form
//! (timestamp, level, target, message and the event's key-value fields);
//! neither form ever carries message text, because no log statement does.
//! JSON lines logged inside a sampled trace span add `trace_id` and
//! `span_id` (see [`super::trace_ids`]).

use anyhow::{bail, Result};
use opentelemetry_sdk::trace::Tracer;
use satpam::telemetry::spans;
use tracing::Level;
use tracing_subscriber::filter::{filter_fn, FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::{Identity, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::trace_ids;

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
/// string (`info` when unset or invalid). With `tracer` (`[tracing]` on),
/// the spans of [`satpam::telemetry::spans`] go to it and JSON lines
/// written inside a sampled span carry its `trace_id` and `span_id`. The
/// log layer never sees those spans, so the text and JSON forms are the
/// same with tracing on or off, and with it off nothing listens to them.
pub fn init(filter: Option<&str>, format: LogFormat, tracer: Option<Tracer>) {
    if subscriber(filter, format, tracer).try_init().is_ok() {
        // `try_init` forwards the `log` crate to tracing at the subscriber's
        // level hint, which the per-layer filters leave at TRACE. rdkafka's
        // binding logs a `trace!` on every message it frees, so each record
        // would cross into tracing only to be filtered out there: the `log`
        // crate's own gate is set to what the filter can let through.
        log::set_max_level(log_max_level(filter));
    }
}

/// The most verbose `log` level that `filter` (as [`init`] reads it) lets
/// through.
fn log_max_level(filter: Option<&str>) -> log::LevelFilter {
    let hint = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"))
        .max_level_hint();
    match hint {
        Some(LevelFilter::OFF) => log::LevelFilter::Off,
        Some(LevelFilter::ERROR) => log::LevelFilter::Error,
        Some(LevelFilter::WARN) => log::LevelFilter::Warn,
        Some(LevelFilter::INFO) => log::LevelFilter::Info,
        Some(LevelFilter::DEBUG) => log::LevelFilter::Debug,
        // TRACE, or no hint (a filter the hint cannot bound).
        _ => log::LevelFilter::Trace,
    }
}

/// The subscriber [`init`] installs.
fn subscriber(
    filter: Option<&str>,
    format: LogFormat,
    tracer: Option<Tracer>,
) -> impl tracing::Subscriber + Send + Sync + 'static {
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let logs_only = filter.and(filter_fn(|m| m.target() != spans::TARGET));
    let with_ids = tracer.is_some();
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => {
            let json = tracing_subscriber::fmt::format()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false);
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .json()
                .event_format(trace_ids::WithTraceIds::new(json, with_ids))
                .boxed()
        }
    };
    // Off, a layer that wants nothing stands in: an absent (`None`) layer
    // would count as one that wants everything and bring the spans to life.
    let otel = match tracer {
        Some(t) => tracing_opentelemetry::layer()
            .with_tracer(t)
            .with_filter(Targets::new().with_target(spans::TARGET, Level::INFO))
            .boxed(),
        None => Identity::new().with_filter(Targets::new()).boxed(),
    };
    tracing_subscriber::registry()
        .with(logs.with_filter(logs_only))
        .with(otel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_crate_gate_follows_the_filter() {
        let cases: &[(Option<&str>, log::LevelFilter)] = &[
            (None, log::LevelFilter::Info),
            (Some("not a filter ["), log::LevelFilter::Info),
            (Some("warn"), log::LevelFilter::Warn),
            (Some("error,satpam=debug"), log::LevelFilter::Debug),
            (Some("info,rdkafka=trace"), log::LevelFilter::Trace),
            (Some("off"), log::LevelFilter::Off),
        ];
        for (filter, want) in cases {
            assert_eq!(log_max_level(*filter), *want, "{filter:?}");
        }
    }

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

    /// Whether a trace span and an info log event are enabled under the
    /// subscriber of `filter`, `format` and `tracer`.
    fn enabled(filter: &str, format: LogFormat, tracer: Option<Tracer>) -> (bool, bool) {
        tracing::subscriber::with_default(subscriber(Some(filter), format, tracer), || {
            let span = !spans::engine_batch(1).is_disabled();
            let log = tracing::enabled!(target: "satpam::pipeline", Level::INFO);
            (span, log)
        })
    }

    #[test]
    fn trace_spans_exist_only_with_a_tracer_and_logs_stay_as_filtered() {
        for format in [LogFormat::Text, LogFormat::Json] {
            // Off: no layer listens to the spans, whatever the log filter.
            for filter in ["info", "trace", "satpam::trace=trace"] {
                assert!(!enabled(filter, format, None).0, "{filter}");
            }
            assert!(enabled("info", format, None).1);
            assert!(!enabled("warn", format, None).1);
            // On: the spans are recorded, and the log filter still rules the logs.
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
            let tracer = || Some(opentelemetry::trace::TracerProvider::tracer(&provider, "t"));
            assert_eq!(enabled("warn", format, tracer()), (true, false));
            assert_eq!(enabled("info", format, tracer()), (true, true));
        }
    }
}
