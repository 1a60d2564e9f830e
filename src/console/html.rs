//! HTML building: escaping (every value that came from outside goes
//! through [`esc`] or [`Html::text`]), the page frame with its navigation
//! and auth banner, and the stylesheet embedded in the binary.

use std::fmt::Write;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::Viewer;

/// The console's stylesheet, served at `/static/console.css`.
pub const CSS: &str = include_str!("console.css");

/// `s` escaped for HTML text and double-quoted attribute values (the
/// report's escaper: one for the whole library).
pub use crate::report::render::esc;

/// `s` percent-encoded for a URL path segment or query value.
pub fn url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A page body under construction: markup is pushed as is, text escaped.
#[derive(Default)]
pub struct Html(String);

impl Html {
    /// Appends markup written by the console itself (never outside values).
    pub fn raw(&mut self, markup: &str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Appends `text`, escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.0.push_str(&esc(text));
        self
    }

    /// The markup.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A full page: the frame (title, navigation, who is signed in, the auth
/// banner) around `body`.
pub fn page(title: &str, viewer: Option<&Viewer>, body: &str) -> String {
    page_refreshed(title, viewer, body, None)
}

/// [`page`], reloaded by the browser every `refresh_s` seconds when set
/// (a running backtest's progress).
pub fn page_refreshed(
    title: &str,
    viewer: Option<&Viewer>,
    body: &str,
    refresh_s: Option<u32>,
) -> String {
    let mut h = Html::default();
    h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    if let Some(s) = refresh_s {
        h.raw(&format!("<meta http-equiv=\"refresh\" content=\"{s}\">"));
    }
    h.raw("<title>")
        .text(title)
        .raw(" · satpam console</title><link rel=\"stylesheet\" href=\"/static/console.css\"></head><body><header><a class=\"brand\" href=\"/\">satpam</a>");
    if let Some(v) = viewer {
        h.raw("<nav><a href=\"/\">Queue</a><a href=\"/rules\">Rules</a><a href=\"/backtest\">Backtest</a></nav><span class=\"who\">signed in as <b id=\"who\">")
            .text(&v.principal.name)
            .raw("</b>");
        if v.session.is_some() {
            h.raw("<form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"")
                .text(&v.csrf)
                .raw("\"><button>Sign out</button></form>");
        }
        h.raw("</span>");
    }
    h.raw("</header>");
    if viewer.is_some_and(|v| v.auth_off) {
        h.raw("<p class=\"banner\" id=\"auth-off\">Authentication is off: no [[auth.principals]] are configured, so anyone who reaches this console may read and decide everything.</p>");
    }
    h.raw("<main>").raw(body).raw("</main></body></html>");
    h.into_string()
}

/// An HTML response.
pub fn respond(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// A page with a message only (errors, refusals).
pub fn message(status: StatusCode, viewer: Option<&Viewer>, title: &str, text: &str) -> Response {
    let mut b = Html::default();
    b.raw("<h1>")
        .text(title)
        .raw("</h1><p class=\"error\">")
        .text(text)
        .raw("</p>");
    respond(status, page(title, viewer, &b.into_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(url("a b/<c>"), "a%20b%2F%3Cc%3E");
    }
}
