//! The login page: a bearer token in, a session cookie out (the token is
//! checked against the principals' hashes and never stored).

use crate::console::html::Html;

/// The login page's body, with `error` above the form when set.
pub fn render(error: Option<&str>) -> String {
    let mut h = Html::default();
    h.raw("<h1>Sign in</h1>");
    if let Some(e) = error {
        h.raw("<p class=\"error\" id=\"login-error\">")
            .text(e)
            .raw("</p>");
    }
    h.raw("<form id=\"login\" method=\"post\" action=\"/login\"><label for=\"token\">Your API token (the bearer token of your principal)</label>\
<input id=\"token\" name=\"token\" type=\"password\" size=\"50\" autocomplete=\"off\" required> <button id=\"sign-in\">Sign in</button></form>\
<p class=\"note\">The token is checked and forgotten; the browser keeps only a session cookie.</p>");
    h.into_string()
}
