//! Structure of a text, without keeping it: lists, headings and code are
//! what long assistant answers look like.

/// The code fence's searcher, built once rather than on every call.
static FENCE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"```"));

/// Whether `text` has list, heading or code structure: a code fence, a
/// markdown heading, or three or more list lines. Lines are found with
/// `memchr`, the fence with `memmem`: long texts cost a fraction of a
/// byte-by-byte pass.
pub fn is_structured(text: &str) -> bool {
    if text.len() < 40 {
        return false;
    }
    let bytes = text.as_bytes();
    if FENCE.find(bytes).is_some() {
        return true;
    }
    let mut list_lines = 0;
    let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
    for start in starts {
        let Some(rest) = text.get(start..) else {
            continue;
        };
        // Leading whitespace of this line only (never past its end).
        let l = rest.trim_start_matches(|c: char| c.is_whitespace() && c != '\n');
        let b = l.as_bytes();
        if b.first() == Some(&b'#') && b.get(1).is_some_and(|c| *c == b' ' || *c == b'#') {
            return true;
        }
        let bullet = l.starts_with("- ") || l.starts_with("* ") || l.starts_with("• ");
        let digits = b.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
        let numbered = (1..=2).contains(&digits)
            && matches!(b.get(digits), Some(b'.') | Some(b')'))
            && b.get(digits + 1) == Some(&b' ');
        if bullet || numbered {
            list_lines += 1;
            if list_lines >= 3 {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::is_structured;

    /// The definition, line by line with `str::lines`, as first written.
    fn by_lines(text: &str) -> bool {
        if text.len() < 40 {
            return false;
        }
        if text.contains("```") {
            return true;
        }
        let mut list_lines = 0;
        for line in text.lines() {
            let l = line.trim_start();
            let b = l.as_bytes();
            if b.first() == Some(&b'#') && b.get(1).is_some_and(|c| *c == b' ' || *c == b'#') {
                return true;
            }
            let bullet = l.starts_with("- ") || l.starts_with("* ") || l.starts_with("• ");
            let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
            let numbered = (1..=2).contains(&digits)
                && matches!(b.get(digits), Some(b'.') | Some(b')'))
                && b.get(digits + 1) == Some(&b' ');
            if bullet || numbered {
                list_lines += 1;
                if list_lines >= 3 {
                    return true;
                }
            }
        }
        false
    }

    proptest::proptest! {
        #[test]
        fn equals_the_line_by_line_definition(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "- ", "* ", "• ", "#", "# ", "\n", "\r\n", " ", "\t", "\u{a0}", "1", "12", "123",
                    ".", ")", "`", "``", "x", "word ", "é",
                ]),
                0..60,
            ),
        ) {
            let text: String = parts.concat();
            proptest::prop_assert_eq!(is_structured(&text), by_lines(&text), "{:?}", text);
        }
    }

    #[test]
    fn table() {
        let cases: &[(&str, bool)] = &[
            (
                "Your order ships tomorrow. Anything else I can help with?",
                false,
            ),
            (
                "Here are the steps:\n1. Open the app\n2. Tap settings\n3. Choose language",
                true,
            ),
            (
                "Options:\n- one thing here\n- two things here\n- three things here",
                true,
            ),
            (
                "Two items only:\n- first item here\n- second item here ok",
                false,
            ),
            (
                "Sure, here is the code you asked for:\n```python\nprint(1)\n```",
                true,
            ),
            (
                "## Summary of the book\nThe book is about a long journey.",
                true,
            ),
            (
                "#1 best seller in town, come and visit our shop today!",
                false,
            ),
            ("short", false),
            // Blank and whitespace-only lines never borrow the next line's bullet.
            (
                "Two items and blanks:\n   \n- first item here\n \t \n- second item here",
                false,
            ),
            (
                "Windows line ends:\r\n- one\r\n- two\r\n- three\r\n and more text",
                true,
            ),
            (
                "Indented:\n  1) one\n\t2) two\n   10. ten, long enough text",
                true,
            ),
            (
                "Numbers are not lists:\n123. no\n2024) no\n1.no space here at all",
                false,
            ),
            (
                "Unicode space before a heading:\n\u{a0}# Heading here and more text",
                true,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(is_structured(text), *want, "{text:?}");
        }
    }
}
