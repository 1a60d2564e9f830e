//! `trace_id` and `span_id` on JSON log lines written inside a sampled
//! trace span (`[tracing]` on), so a log line and its trace can be found
//! from each other. With tracing off the wrapper formats straight through.

use std::fmt;

use opentelemetry::trace::TraceContextExt as _;
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A JSON event format that appends the current span's trace ids.
pub struct WithTraceIds<F> {
    inner: F,
    on: bool,
}

impl<F> WithTraceIds<F> {
    /// Wraps `inner`; `on` is whether tracing is on at all.
    pub fn new(inner: F, on: bool) -> Self {
        WithTraceIds { inner, on }
    }
}

/// The current span's trace and span ids, hex, when it is sampled.
fn current_ids() -> Option<(String, String)> {
    let span = tracing::Span::current();
    if span.is_none() {
        return None;
    }
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    (sc.is_valid() && sc.is_sampled())
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

/// `line` (one JSON object and a newline) with two more string fields.
fn with_ids(line: &str, trace_id: &str, span_id: &str) -> Option<String> {
    let body = line.trim_end().strip_suffix('}')?;
    Some(format!(
        "{body},\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}\n"
    ))
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    F: FormatEvent<S, N>,
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace_id, span_id)) = self.on.then(current_ids).flatten() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match with_ids(&line, &trace_id, &span_id) {
            Some(l) => writer.write_str(&l),
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_go_inside_the_object() {
        let l = with_ids("{\"level\":\"INFO\"}\n", "ab", "cd").expect("an object");
        assert_eq!(
            l,
            "{\"level\":\"INFO\",\"trace_id\":\"ab\",\"span_id\":\"cd\"}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&l).expect("json");
        assert_eq!(v["trace_id"], "ab");
        assert!(with_ids("not json", "ab", "cd").is_none());
    }
}
