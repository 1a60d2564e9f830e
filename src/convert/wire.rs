//! A reader of `satpam.v1.MessageEvent` records written the usual way,
//! into the decoder's reused message, in step with prost's `merge`.
//!
//! prost decodes a record field by field through its generic machinery
//! and checks every string with `core::str::from_utf8`: on the metadata
//! hot path that was about a sixth of an event's instructions, and on a
//! text event the UTF-8 check of the text alone was another 4%. This
//! reader knows the message's fields, decodes them in one loop, and checks
//! strings with `simdutf8` (the same answer as `from_utf8`, SIMD for long
//! texts).
//!
//! It takes only records prost accepts, and leaves each field as prost
//! would (the last value of a scalar or a string wins; repeated delivery
//! reports merge; unknown fields are skipped). Anything it does not take
//! (a group, a wrong wire type, a varint prost refuses, a length past the
//! end, a string that is not UTF-8) is [`Unusual`]: the caller clears the
//! message and decodes the record with prost, whose result and error text
//! stand. So the reader can only be faster, never different; the tests
//! and the `event_protobuf` fuzz target hold it to prost byte for byte.

use crate::pb::v1 as pb;

/// The record is not one this reader takes: decode it with prost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unusual;

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// Merges the record `wire` into `m`, as `prost::Message::merge` does, or
/// says it is [`Unusual`] (then `m` is partly written: clear it).
pub(super) fn merge(m: &mut pb::MessageEvent, wire: &[u8]) -> Result<(), Unusual> {
    let mut buf = wire;
    while !buf.is_empty() {
        let (tag, wire_type) = key(&mut buf)?;
        match (tag, wire_type) {
            (1, LEN) => string(&mut buf, &mut m.event_id)?,
            (2, LEN) => string(&mut buf, &mut m.tenant_id)?,
            (3, LEN) => string(&mut buf, &mut m.account_id)?,
            (4, LEN) => string(&mut buf, &mut m.waba_id)?,
            (5, LEN) => string(&mut buf, &mut m.user_id)?,
            (6, LEN) => string(&mut buf, &mut m.conversation_id)?,
            // Enums are int32 on the wire: the varint's low 32 bits.
            (7, VARINT) => m.direction = varint(&mut buf)? as i32,
            (8, VARINT) => m.kind = varint(&mut buf)? as i32,
            (9, VARINT) => m.template_category = varint(&mut buf)? as i32,
            (10, VARINT) => m.sender = varint(&mut buf)? as i32,
            (11, VARINT) => m.timestamp_ms = varint(&mut buf)? as i64,
            (12, LEN) => string(&mut buf, &mut m.text)?,
            (13, VARINT) => m.text_length = varint(&mut buf)? as u32,
            (14, LEN) => string(&mut buf, &mut m.user_country)?,
            (15, VARINT) => m.handoff = varint(&mut buf)? != 0,
            (16, LEN) => string(&mut buf, &mut m.reply_to)?,
            (17, LEN) => {
                let body = delimited(&mut buf)?;
                delivery(m.delivery.get_or_insert_with(Default::default), body)?;
            }
            (18, LEN) => string(&mut buf, &mut m.business_id)?,
            (1..=18, _) => return Err(Unusual),
            (_, wire_type) => skip(&mut buf, wire_type)?,
        }
    }
    Ok(())
}

/// Merges a delivery report's body into `d`.
fn delivery(d: &mut pb::DeliveryReport, mut buf: &[u8]) -> Result<(), Unusual> {
    while !buf.is_empty() {
        let (tag, wire_type) = key(&mut buf)?;
        match (tag, wire_type) {
            (1, VARINT) => d.state = varint(&mut buf)? as i32,
            (2, LEN) => string(&mut buf, &mut d.message_id)?,
            (3, VARINT) => d.pricing_category = varint(&mut buf)? as i32,
            (4, VARINT) => d.billable = varint(&mut buf)? != 0,
            (1..=4, _) => return Err(Unusual),
            (_, wire_type) => skip(&mut buf, wire_type)?,
        }
    }
    Ok(())
}

/// A field's key: its tag and wire type. prost refuses a key past
/// `u32::MAX` and tag 0; groups (3, 4) and wire types 6 and 7 are left
/// to prost too.
#[inline(always)]
fn key(buf: &mut &[u8]) -> Result<(u32, u64), Unusual> {
    let key = varint(buf)?;
    let key = u32::try_from(key).map_err(|_| Unusual)?;
    let tag = key >> 3;
    let wire_type = u64::from(key & 7);
    if tag == 0 || !matches!(wire_type, VARINT | FIXED64 | LEN | FIXED32) {
        return Err(Unusual);
    }
    Ok((tag, wire_type))
}

/// Skips an unknown field's value.
fn skip(buf: &mut &[u8], wire_type: u64) -> Result<(), Unusual> {
    let n = match wire_type {
        VARINT => return varint(buf).map(drop),
        FIXED64 => 8,
        FIXED32 => 4,
        _ => return delimited(buf).map(drop),
    };
    *buf = buf.get(n..).ok_or(Unusual)?;
    Ok(())
}

/// A length-delimited value's bytes, taken off the front of `buf`.
#[inline(always)]
fn delimited<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], Unusual> {
    let len = usize::try_from(varint(buf)?).map_err(|_| Unusual)?;
    if len > buf.len() {
        return Err(Unusual);
    }
    let (value, rest) = buf.split_at(len);
    *buf = rest;
    Ok(value)
}

/// Replaces `out` with a string value (its buffer is kept and reused).
#[inline(always)]
fn string(buf: &mut &[u8], out: &mut String) -> Result<(), Unusual> {
    let value = delimited(buf)?;
    // simdutf8 hands inputs shorter than its 64-byte block to `from_utf8`
    // anyway: ids go there directly.
    let value = if value.len() < 64 {
        std::str::from_utf8(value).map_err(|_| Unusual)?
    } else {
        simdutf8::basic::from_utf8(value).map_err(|_| Unusual)?
    };
    out.clear();
    out.push_str(value);
    Ok(())
}

/// A varint, as prost reads one: at most ten bytes, the tenth at most 1.
/// Longer encodings than needed (`0x80 0x00` for 0) are valid.
#[inline(always)]
fn varint(buf: &mut &[u8]) -> Result<u64, Unusual> {
    let (&first, rest) = buf.split_first().ok_or(Unusual)?;
    if first < 0x80 {
        *buf = rest;
        return Ok(u64::from(first));
    }
    let mut value = u64::from(first & 0x7f);
    for (i, &b) in rest.iter().enumerate().take(9) {
        if i == 8 && b > 1 {
            return Err(Unusual);
        }
        value |= u64::from(b & 0x7f) << (7 * (i + 1));
        if b < 0x80 {
            *buf = &rest[i + 1..];
            return Ok(value);
        }
    }
    Err(Unusual)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;

    use super::*;

    /// prost's answer for `wire`, from a fresh message.
    fn prost_merge(wire: &[u8]) -> Result<pb::MessageEvent, prost::DecodeError> {
        let mut m = pb::MessageEvent::default();
        m.merge(wire).map(|()| m)
    }

    /// The reader's answer, from a fresh message.
    fn read(wire: &[u8]) -> Result<pb::MessageEvent, Unusual> {
        let mut m = pb::MessageEvent::default();
        merge(&mut m, wire).map(|()| m)
    }

    fn key_bytes(tag: u32, wire_type: u32) -> Vec<u8> {
        let mut out = Vec::new();
        prost::encoding::encode_varint(u64::from(tag << 3 | wire_type), &mut out);
        out
    }

    fn full() -> pb::MessageEvent {
        pb::MessageEvent {
            event_id: "wamid.HBgLMTIzNDU2Nzg5MBUCABIYFjNFQjBDNzE".into(),
            tenant_id: "bsp-1".into(),
            account_id: "acct-1".into(),
            waba_id: "waba-1".into(),
            user_id: "6281234567890".into(),
            conversation_id: "c-1".into(),
            direction: 2,
            kind: 1,
            template_category: 2,
            sender: 4,
            timestamp_ms: 1_767_225_600_000,
            text: "Certainly! Here is a summary — ringkasan singkat, 要約 🙂".into(),
            text_length: 7,
            user_country: "ID".into(),
            handoff: true,
            reply_to: "wamid.prev".into(),
            delivery: Some(pb::DeliveryReport {
                state: 2,
                message_id: "wamid.x".into(),
                pricing_category: 1,
                billable: true,
            }),
            business_id: "biz-1".into(),
        }
    }

    #[test]
    fn a_record_prost_wrote_is_read_as_prost_reads_it() {
        let cases = [
            pb::MessageEvent::default(),
            full(),
            pb::MessageEvent {
                direction: -1,
                timestamp_ms: -5,
                kind: i32::MAX,
                ..full()
            },
        ];
        for m in cases {
            let wire = m.encode_to_vec();
            assert_eq!(read(&wire), Ok(m.clone()));
            assert_eq!(prost_merge(&wire).ok(), Some(m));
        }
    }

    /// Each row: bytes, and whether the reader takes them (when it does,
    /// its message must be prost's).
    #[test]
    fn unusual_records_are_left_to_prost() {
        let mut text_twice = key_bytes(12, 2);
        text_twice.extend([2, b'h', b'i']);
        text_twice.extend(key_bytes(12, 2));
        text_twice.extend([1, b'x']);
        let mut two_reports = key_bytes(17, 2);
        two_reports.extend([2, 8, 3]); // state = 3
        two_reports.extend(key_bytes(17, 2));
        two_reports.extend([2, 32, 1]); // billable = true
        let mut unknown = key_bytes(99, 0);
        unknown.extend([0xff, 0x01]);
        unknown.extend(key_bytes(98, 1));
        unknown.extend([0; 8]);
        unknown.extend(key_bytes(97, 5));
        unknown.extend([0; 4]);
        unknown.extend(key_bytes(96, 2));
        unknown.extend([3, 1, 2, 3]);
        let mut overlong_zero = key_bytes(7, 0);
        overlong_zero.extend([0x81, 0x80, 0x00]);
        let mut ten_byte_varint = key_bytes(11, 0);
        ten_byte_varint.extend([0xff; 9]);
        ten_byte_varint.push(0x01);
        let mut eleven_byte_varint = key_bytes(11, 0);
        eleven_byte_varint.extend([0xff; 9]);
        eleven_byte_varint.push(0x02);
        let mut group = key_bytes(40, 3);
        group.extend(key_bytes(40, 4));
        let mut wrong_type = key_bytes(1, 0);
        wrong_type.push(1);
        let mut bad_utf8 = key_bytes(12, 2);
        bad_utf8.extend([2, 0xc3, 0x28]);
        let mut past_end = key_bytes(3, 2);
        past_end.extend([5, b'a']);
        let mut report_past_its_end = key_bytes(17, 2);
        report_past_its_end.extend([2, 18, 3, b'a', b'b', b'c']);
        let mut big_key = vec![0xff, 0xff, 0xff, 0xff, 0x7f];
        big_key.push(0);
        let rows: Vec<(&str, Vec<u8>, bool)> = vec![
            ("empty", vec![], true),
            ("the last text wins", text_twice, true),
            ("reports merge", two_reports, true),
            ("unknown fields skipped", unknown, true),
            ("an overlong varint", overlong_zero, true),
            ("a ten-byte varint", ten_byte_varint, true),
            ("a varint prost refuses", eleven_byte_varint, false),
            ("a group", group, false),
            ("a wrong wire type", wrong_type, false),
            ("text that is not UTF-8", bad_utf8, false),
            ("a length past the end", past_end, false),
            ("a report field past the report", report_past_its_end, false),
            ("a key past u32", big_key, false),
            ("tag 0", vec![0, 0], false),
            ("wire type 7", vec![0x0f, 0], false),
            ("a cut varint", vec![0x58, 0x80], false),
        ];
        for (name, wire, taken) in rows {
            let ours = read(&wire);
            assert_eq!(ours.is_ok(), taken, "{name}");
            if let Ok(ours) = ours {
                assert_eq!(prost_merge(&wire).ok(), Some(ours), "{name}");
            }
        }
    }

    /// One field of a record as a generator writes it: the right wire
    /// type or not, known or not.
    fn field() -> impl Strategy<Value = Vec<u8>> {
        let value = prop_oneof![
            any::<u64>().prop_map(|v| (0u32, {
                let mut b = Vec::new();
                prost::encoding::encode_varint(v, &mut b);
                b
            })),
            any::<[u8; 8]>().prop_map(|b| (1u32, b.to_vec())),
            any::<[u8; 4]>().prop_map(|b| (5u32, b.to_vec())),
            prop_oneof![
                ".{0,12}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..12),
            ]
            .prop_map(|b| (2u32, {
                let mut out = Vec::new();
                prost::encoding::encode_varint(b.len() as u64, &mut out);
                out.extend(b);
                out
            })),
        ];
        (1u32..24, value).prop_map(|(tag, (wire_type, body))| {
            let mut out = key_bytes(tag, wire_type);
            out.extend(body);
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the reader takes, prost takes, to the same message.
        #[test]
        fn what_the_reader_takes_prost_reads_the_same(
            fields in proptest::collection::vec(field(), 0..12),
            cut in any::<prop::sample::Index>(),
            whole in any::<bool>(),
        ) {
            let mut wire: Vec<u8> = fields.concat();
            if !whole && !wire.is_empty() {
                wire.truncate(cut.index(wire.len()));
            }
            if let Ok(ours) = read(&wire) {
                prop_assert_eq!(prost_merge(&wire).ok(), Some(ours));
            }
        }

        /// Every record prost writes, the reader takes, to the same message.
        #[test]
        fn every_record_prost_writes_is_taken(
            ids in proptest::collection::vec(".{0,16}", 10),
            ints in proptest::collection::vec(any::<i32>(), 7),
            timestamp_ms in any::<i64>(),
            text_length in any::<u32>(),
            flags in any::<(bool, bool, bool)>(),
            text in "(.|\n){0,200}",
        ) {
            let m = pb::MessageEvent {
                event_id: ids[0].clone(),
                tenant_id: ids[1].clone(),
                account_id: ids[2].clone(),
                waba_id: ids[3].clone(),
                user_id: ids[4].clone(),
                conversation_id: ids[5].clone(),
                direction: ints[0],
                kind: ints[1],
                template_category: ints[2],
                sender: ints[3],
                timestamp_ms,
                text,
                text_length,
                user_country: ids[6].clone(),
                handoff: flags.0,
                reply_to: ids[7].clone(),
                delivery: flags.1.then(|| pb::DeliveryReport {
                    state: ints[4],
                    message_id: ids[8].clone(),
                    pricing_category: ints[5],
                    billable: flags.2,
                }),
                business_id: ids[9].clone(),
            };
            prop_assert_eq!(read(&m.encode_to_vec()), Ok(m));
        }

        /// Arbitrary bytes: the same.
        #[test]
        fn arbitrary_bytes_are_read_as_prost_reads_them_or_left_to_it(
            wire in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Ok(ours) = read(&wire) {
                prop_assert_eq!(prost_merge(&wire).ok(), Some(ours));
            }
        }
    }
}
