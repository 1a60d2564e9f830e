//! Reads events from a file, one record at a time. A malformed record is
//! reported with its line (or record number) and a reason that never quotes
//! message text; reading goes on with the next record.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use prost::Message;

use crate::pb::v1::MessageEvent;

/// How a file of events is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFormat {
    /// One canonical-JSON `MessageEvent` per line.
    JsonLines,
    /// Varint length prefix, then the binary message, repeated.
    LengthDelimited,
}

impl EventFormat {
    /// Picks the format from the extension, else from the first byte.
    pub fn detect(path: &Path, first_byte: Option<u8>) -> EventFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "json" | "ndjson") => EventFormat::JsonLines,
            Some("pb" | "bin" | "binpb") => EventFormat::LengthDelimited,
            _ if matches!(first_byte, Some(b'{' | b' ' | b'\n' | b'\r' | b'\t')) => {
                EventFormat::JsonLines
            }
            _ => EventFormat::LengthDelimited,
        }
    }
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// 1-based line (JSONL) or record number (binary).
    pub line: u64,
    /// Why, without message text.
    pub reason: String,
}

/// Replaces every quoted string in a parser message, so that an error about
/// a misplaced value never echoes message text.
pub fn redact_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut in_quote: Option<char> = None;
    for c in msg.chars() {
        match (in_quote, c) {
            (None, '"' | '`') => {
                in_quote = Some(c);
                out.push(c);
                out.push('…');
            }
            (Some(q), c) if c == q => {
                in_quote = None;
                out.push(c);
            }
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out
}

/// Reads `MessageEvent`s from a JSONL or length-delimited file.
pub struct EventReader<R: BufRead> {
    input: R,
    format: EventFormat,
    record: u64,
    line: String,
    buf: Vec<u8>,
}

impl EventReader<BufReader<File>> {
    /// Opens a file, detecting its format.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut input = BufReader::with_capacity(1 << 20, File::open(path)?);
        let first = input.fill_buf()?.first().copied();
        let format = EventFormat::detect(path, first);
        Ok(EventReader::new(input, format))
    }
}

impl<R: BufRead> EventReader<R> {
    /// Reads from `input` in `format`.
    pub fn new(input: R, format: EventFormat) -> Self {
        EventReader {
            input,
            format,
            record: 0,
            line: String::new(),
            buf: Vec::new(),
        }
    }

    /// The 1-based line (JSONL) or record number (binary) of the record
    /// last returned.
    pub fn position(&self) -> u64 {
        self.record
    }

    /// The format being read.
    pub fn format(&self) -> EventFormat {
        self.format
    }

    /// The next record: `None` at the end, `Some(Err)` for a malformed one
    /// (the reader stays usable), and an I/O error as `Some(Err)` with line 0
    /// followed by the end.
    pub fn next_record(&mut self) -> Option<Result<MessageEvent, RecordError>> {
        match self.format {
            EventFormat::JsonLines => self.next_json(),
            EventFormat::LengthDelimited => self.next_binary(),
        }
    }

    fn next_json(&mut self) -> Option<Result<MessageEvent, RecordError>> {
        loop {
            self.line.clear();
            match self.input.read_line(&mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.record += 1;
                    let line = self.record;
                    // Skip the rest of a line that is not UTF-8.
                    let mut sink = Vec::new();
                    let _ = self.input.read_until(b'\n', &mut sink);
                    return Some(Err(RecordError {
                        line,
                        reason: format!("unreadable line: {e}"),
                    }));
                }
            }
            self.record += 1;
            let text = self.line.trim();
            if text.is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str::<MessageEvent>(text).map_err(|e| RecordError {
                    line: self.record,
                    reason: format!("invalid JSON event: {}", redact_quoted(&e.to_string())),
                }),
            );
        }
    }

    fn next_binary(&mut self) -> Option<Result<MessageEvent, RecordError>> {
        let available = match self.input.fill_buf() {
            Ok(b) => b.len(),
            Err(e) => {
                return Some(Err(RecordError {
                    line: self.record + 1,
                    reason: format!("read error: {e}"),
                }))
            }
        };
        if available == 0 {
            return None;
        }
        self.record += 1;
        let len = match read_varint(&mut self.input) {
            Ok(n) => n,
            Err(e) => {
                // Framing is lost: nothing after this point can be trusted.
                self.drain();
                return Some(Err(RecordError {
                    line: self.record,
                    reason: format!("bad length prefix: {e}; the rest of the file is skipped"),
                }));
            }
        };
        if len > 4 * 1024 * 1024 {
            self.drain();
            return Some(Err(RecordError {
                line: self.record,
                reason: format!("record of {len} bytes is over the 4 MiB limit; the rest of the file is skipped"),
            }));
        }
        self.buf.resize(len as usize, 0);
        if let Err(e) = self.input.read_exact(&mut self.buf) {
            self.drain();
            return Some(Err(RecordError {
                line: self.record,
                reason: format!("truncated record: {e}"),
            }));
        }
        Some(
            MessageEvent::decode(self.buf.as_slice()).map_err(|e| RecordError {
                line: self.record,
                reason: format!("invalid protobuf event: {e}"),
            }),
        )
    }

    fn drain(&mut self) {
        let _ = io::copy(&mut self.input, &mut io::sink());
    }
}

fn read_varint<R: Read>(r: &mut R) -> io::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let mut byte = [0u8; 1];
        r.read_exact(&mut byte)?;
        value |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "varint longer than 10 bytes",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::v1::Direction;

    fn event(id: &str) -> MessageEvent {
        MessageEvent {
            event_id: id.into(),
            tenant_id: "t".into(),
            account_id: "a".into(),
            user_id: "u".into(),
            direction: Direction::Inbound as i32,
            timestamp_ms: 1,
            text: "private words".into(),
            ..Default::default()
        }
    }

    #[test]
    fn jsonl_malformed_lines_are_reported_and_skipped() {
        let good = serde_json::to_string(&event("e1")).expect("json");
        let src = format!(
            "{good}\nnot json\n\n{{\"eventId\": 5, \"text\": \"private words\"}}\n{{\"direction\": \"SIDEWAYS\"}}\n{good}\n"
        );
        let mut r = EventReader::new(src.as_bytes(), EventFormat::JsonLines);
        let mut ok = 0;
        let mut bad = Vec::new();
        while let Some(rec) = r.next_record() {
            match rec {
                Ok(_) => ok += 1,
                Err(e) => bad.push(e),
            }
        }
        assert_eq!(ok, 2);
        assert_eq!(
            bad.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 4, 5]
        );
        assert!(bad.iter().all(|e| !e.reason.contains("private")), "{bad:?}");
    }

    #[test]
    fn length_delimited_round_trip_and_truncation() {
        let mut bytes = Vec::new();
        for id in ["a", "b"] {
            event(id)
                .encode_length_delimited(&mut bytes)
                .expect("encode");
        }
        let whole = bytes.clone();
        let mut r = EventReader::new(whole.as_slice(), EventFormat::LengthDelimited);
        let ids: Vec<String> = std::iter::from_fn(|| r.next_record())
            .map(|x| x.expect("valid").event_id)
            .collect();
        assert_eq!(ids, vec!["a", "b"]);
        bytes.truncate(bytes.len() - 3);
        let mut r = EventReader::new(bytes.as_slice(), EventFormat::LengthDelimited);
        assert!(r.next_record().is_some_and(|x| x.is_ok()));
        assert!(r
            .next_record()
            .is_some_and(|x| x.is_err_and(|e| e.line == 2)));
        assert!(r.next_record().is_none());
    }

    #[test]
    fn format_detection() {
        assert_eq!(
            EventFormat::detect(Path::new("x.jsonl"), Some(0x0a)),
            EventFormat::JsonLines
        );
        assert_eq!(
            EventFormat::detect(Path::new("x.pb"), Some(b'{')),
            EventFormat::LengthDelimited
        );
        assert_eq!(
            EventFormat::detect(Path::new("x"), Some(b'{')),
            EventFormat::JsonLines
        );
        assert_eq!(
            EventFormat::detect(Path::new("x"), Some(0x0a)),
            EventFormat::JsonLines
        );
        assert_eq!(
            EventFormat::detect(Path::new("x"), Some(0x12)),
            EventFormat::LengthDelimited
        );
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_quoted("invalid type: string \"secret\", expected i64"),
            "invalid type: string \"…\", expected i64"
        );
        assert_eq!(redact_quoted("unknown variant `X`"), "unknown variant `…`");
    }
}
