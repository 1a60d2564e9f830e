//! PromQL selectors: the tokenizer the metric checks read expressions with.

/// One metric selector in an expression: the name and its label matchers.
#[derive(Debug)]
pub(crate) struct Selector {
    pub(crate) name: String,
    pub(crate) matchers: Vec<(String, String, String)>,
}

/// The `satpam_*` selectors of a PromQL expression: a small tokenizer that
/// skips string literals, reads identifiers, and the `{...}` after a name.
pub(crate) fn selectors(expr: &str) -> Vec<Selector> {
    let b = expr.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let string_end = |mut i: usize| {
        let q = b[i];
        i += 1;
        while i < b.len() && b[i] != q {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        i + 1
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i = string_end(i);
        } else if ident(c) && !c.is_ascii_digit() {
            let start = i;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            let name = &expr[start..i];
            if !name.starts_with("satpam_") {
                continue;
            }
            let mut matchers = Vec::new();
            let mut j = i;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            if j < b.len() && b[j] == b'{' {
                let close = expr[j..].find('}').map(|k| j + k).expect("closing }");
                for m in expr[j + 1..close]
                    .split(',')
                    .filter(|m| !m.trim().is_empty())
                {
                    let m = m.trim();
                    let op_at = m.find(['=', '!']).expect("matcher op");
                    let label = m[..op_at].trim().to_string();
                    let rest = &m[op_at..];
                    let op_len = if rest.starts_with("=~")
                        || rest.starts_with("!~")
                        || rest.starts_with("!=")
                    {
                        2
                    } else {
                        1
                    };
                    let value = rest[op_len..].trim().trim_matches('"').to_string();
                    matchers.push((label, rest[..op_len].to_string(), value));
                }
                i = close + 1;
            }
            out.push(Selector {
                name: name.to_string(),
                matchers,
            });
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn the_tokenizer_reads_names_and_matchers_and_skips_strings() {
    let s = selectors(
        r#"sum by (stage) (rate(satpam_stage_latency_seconds_sum{instance=~"$instance", stage="in_service"}[5m])) / 2 and label_replace(up, "x", "satpam_not_a_metric", "", "")"#,
    );
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].name, "satpam_stage_latency_seconds_sum");
    assert_eq!(
        s[0].matchers,
        vec![
            ("instance".into(), "=~".into(), "$instance".into()),
            ("stage".into(), "=".into(), "in_service".into())
        ]
    );
    let t = selectors("topk(10, satpam_rule_hits_total) > satpam_x{a!=\"b\"}");
    let names: Vec<_> = t.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["satpam_rule_hits_total", "satpam_x"]);
    assert_eq!(t[1].matchers, vec![("a".into(), "!=".into(), "b".into())]);
}
