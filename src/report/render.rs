//! A [`Document`] as Markdown or as one self-contained HTML page (inline
//! CSS, no scripts, no external assets). Every piece of text is escaped for
//! its format: tenant and account ids come from input.

use std::fmt::Write;

use super::blocks::{Block, Document};

/// Control characters (a newline in an id) become spaces.
fn flat(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Markdown text: the characters that would start markup are escaped.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in flat(s).chars() {
        if matches!(c, '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` escaped for HTML text and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// HTML text and attribute values, control characters made spaces.
pub fn html_escape(s: &str) -> String {
    esc(&flat(s))
}

/// The document as Markdown.
pub fn markdown(d: &Document) -> String {
    let mut s = format!("# {}\n", md_escape(&d.title));
    for sec in &d.sections {
        let _ = write!(s, "\n## {}\n", md_escape(&sec.heading));
        for b in &sec.blocks {
            s.push('\n');
            match b {
                Block::Para(p) => {
                    let _ = writeln!(s, "{}", md_escape(p));
                }
                Block::List(items) => {
                    for i in items {
                        let _ = writeln!(s, "- {}", md_escape(i));
                    }
                }
                Block::Table(head, rows) => {
                    let row = |cells: &[String]| {
                        let cells: Vec<String> = cells.iter().map(|c| md_escape(c)).collect();
                        format!("| {} |\n", cells.join(" | "))
                    };
                    s.push_str(&row(head));
                    let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
                    for r in rows {
                        s.push_str(&row(r));
                    }
                }
            }
        }
    }
    s
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}\
h1{font-size:1.6rem;border-bottom:2px solid #0b6e4f;padding-bottom:.3rem}h2{font-size:1.2rem;color:#0b6e4f;margin-top:2rem}\
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}\
th{background:#eef5f1}li{margin:.2rem 0}";

/// The document as one HTML page (its `lang` the document's).
pub fn html(d: &Document) -> String {
    let title = html_escape(&d.title);
    let lang = d.lang.code();
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    for sec in &d.sections {
        let _ = writeln!(s, "<h2>{}</h2>", html_escape(&sec.heading));
        for b in &sec.blocks {
            match b {
                Block::Para(p) => {
                    let _ = writeln!(s, "<p>{}</p>", html_escape(p));
                }
                Block::List(items) => {
                    s.push_str("<ul>\n");
                    for i in items {
                        let _ = writeln!(s, "<li>{}</li>", html_escape(i));
                    }
                    s.push_str("</ul>\n");
                }
                Block::Table(head, rows) => {
                    s.push_str("<table>\n<tr>");
                    for h in head {
                        let _ = write!(s, "<th>{}</th>", html_escape(h));
                    }
                    s.push_str("</tr>\n");
                    for r in rows {
                        s.push_str("<tr>");
                        for c in r {
                            let _ = write!(s, "<td>{}</td>", html_escape(c));
                        }
                        s.push_str("</tr>\n");
                    }
                    s.push_str("</table>\n");
                }
            }
        }
    }
    s.push_str("</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_of_each_format() {
        assert_eq!(
            html_escape("<b>\"x\" & 'y'</b>\n"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt; "
        );
        assert_eq!(
            md_escape("a|b *c* [d](e) <f>"),
            "a\\|b \\*c\\* \\[d\\](e) \\<f\\>"
        );
    }
}
