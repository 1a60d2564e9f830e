//! A small WebDriver client over plain HTTP, enough to drive Debian's
//! headless `chromium` through `chromedriver`: start the driver on a free
//! port, open a session, go to pages, find elements by CSS selector, type,
//! click, read text and the page source, take screenshots.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::http::{free_port, request, wait_until};

/// The WebDriver element key (W3C).
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` on PATH (or `SATPAM_CHROMEDRIVER`), if there is one.
pub fn chromedriver() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SATPAM_CHROMEDRIVER") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromedriver"))
            .find(|p| p.is_file())
    })
}

/// The chromium binary (`SATPAM_CHROMIUM`, else `/usr/bin/chromium`).
pub fn chromium() -> PathBuf {
    std::env::var("SATPAM_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/bin/chromium"))
}

/// A running chromedriver with one headless browser session; both end on drop.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

fn call(addr: SocketAddr, method: &str, path: &str, body: &Value) -> Value {
    let text = if method == "GET" || method == "DELETE" {
        String::new()
    } else {
        body.to_string()
    };
    let reply = request(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        &text,
    )
    .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
    let v: Value = serde_json::from_str(&reply.body)
        .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}: {}", reply.body));
    assert!(
        reply.status < 300,
        "webdriver {method} {path}: {} {}",
        reply.status,
        reply.body
    );
    v["value"].clone()
}

impl Browser {
    /// Starts `driver` and a headless chromium session with a profile in `dir`.
    pub fn start(driver: &Path, dir: &Path) -> Browser {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_until("chromedriver", Duration::from_secs(30), || {
            request(addr, "GET", "/status", &[], "").is_ok_and(|r| r.status == 200)
        });
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium().display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         format!("--user-data-dir={}", dir.join("profile").display())]
            }
        }}});
        let mut b = Browser {
            driver: child,
            addr,
            session: String::new(),
        };
        let v = call(addr, "POST", "/session", &caps);
        b.session = v["sessionId"].as_str().expect("session id").to_string();
        // Finding an element waits for it (a page still loading after a click).
        call(
            addr,
            "POST",
            &b.at("/timeouts"),
            &json!({ "implicit": 10_000 }),
        );
        b
    }

    /// Waits until the current URL contains `part` (after a click that
    /// navigates); panics after 10 s.
    pub fn wait_url(&self, part: &str) {
        wait_until(
            &format!("a URL with {part}"),
            Duration::from_secs(10),
            || self.url().contains(part),
        );
    }

    /// Waits until the text of `selector` contains `part`; panics after 10 s.
    pub fn wait_text(&self, selector: &str, part: &str) {
        wait_until(
            &format!("{selector} to show {part}"),
            Duration::from_secs(10),
            || self.try_text(selector).is_some_and(|t| t.contains(part)),
        );
    }

    /// Waits until the text of `selector` contains `part`, reloading the
    /// page between looks (a page that refreshes itself, e.g. a running
    /// backtest); panics after `secs` seconds.
    pub fn wait_text_reloading(&self, selector: &str, part: &str, secs: u64) {
        wait_until(
            &format!("{selector} to show {part}"),
            Duration::from_secs(secs),
            || {
                let url = self.url();
                let found = self.try_text(selector).is_some_and(|t| t.contains(part));
                if !found {
                    self.goto(&url);
                }
                found
            },
        );
    }

    fn try_text(&self, selector: &str) -> Option<String> {
        let found = request(
            self.addr,
            "POST",
            &self.at("/element"),
            &[("Content-Type", "application/json")],
            &json!({"using": "css selector", "value": selector}).to_string(),
        )
        .ok()
        .filter(|r| r.status == 200)?;
        let v: Value = serde_json::from_str(&found.body).ok()?;
        let e = v["value"][ELEMENT].as_str()?.to_string();
        let r = request(
            self.addr,
            "GET",
            &self.at(&format!("/element/{e}/text")),
            &[],
            "",
        )
        .ok()
        .filter(|r| r.status == 200)?;
        let v: Value = serde_json::from_str(&r.body).ok()?;
        v["value"].as_str().map(str::to_string)
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Goes to `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        call(self.addr, "POST", &self.at("/url"), &json!({ "url": url }));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        call(self.addr, "GET", &self.at("/url"), &Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The element of CSS `selector` (panics when there is none).
    pub fn find(&self, selector: &str) -> String {
        let v = call(
            self.addr,
            "POST",
            &self.at("/element"),
            &json!({"using": "css selector", "value": selector}),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {selector}"))
            .to_string()
    }

    /// Types `text` into the element of `selector`.
    pub fn type_into(&self, selector: &str, text: &str) {
        let e = self.find(selector);
        call(
            self.addr,
            "POST",
            &self.at(&format!("/element/{e}/value")),
            &json!({ "text": text }),
        );
    }

    /// Clicks the element of `selector`.
    pub fn click(&self, selector: &str) {
        let e = self.find(selector);
        call(
            self.addr,
            "POST",
            &self.at(&format!("/element/{e}/click")),
            &json!({}),
        );
    }

    /// The visible text of the element of `selector`.
    pub fn text(&self, selector: &str) -> String {
        let e = self.find(selector);
        call(
            self.addr,
            "GET",
            &self.at(&format!("/element/{e}/text")),
            &Value::Null,
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The page's HTML source.
    pub fn source(&self) -> String {
        call(self.addr, "GET", &self.at("/source"), &Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Writes a PNG screenshot of the page to `path`.
    pub fn screenshot(&self, path: &Path) {
        let v = call(self.addr, "GET", &self.at("/screenshot"), &Value::Null);
        let png = base64(v.as_str().unwrap_or_default());
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("screenshot written");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(self.addr, "DELETE", &self.at(""), &[], "");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 decoding (padding and unknown bytes skipped).
fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::base64("aGVsbG8="), b"hello");
    }
}
