//! Structure of a text, without keeping it: lists, headings and code are
//! what long assistant answers look like.

/// Whether `text` has list, heading or code structure: a code fence, a
/// markdown heading, or three or more list lines.
pub fn is_structured(text: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::is_structured;

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
        ];
        for (text, want) in cases {
            assert_eq!(is_structured(text), *want, "{text:?}");
        }
    }
}
