//! A snapshot holds a shard's state store, event-time watermark and next
//! sweep time.
//!
//! # Format (version 6; versions 2 to 5 are read too)
//!
//! | bytes | field                                            |
//! |-------|--------------------------------------------------|
//! | 8     | magic `SATPAMSS`                                  |
//! | 4     | format version, u32 little-endian                 |
//! | 8     | payload length in bytes, u64 little-endian        |
//! | 8     | xxh3-64 of the payload, u64 little-endian         |
//! | n     | payload                                           |
//!
//! The payload is [postcard](https://docs.rs/postcard) (its stable 1.0 wire
//! format: varint integers, no field names) of, in order: the watermark
//! (i64), the next sweep time (i64), the store (conversations then accounts,
//! each a key-sorted sequence of `(u128 key, state)`), the per-WABA state (a
//! key-sorted sequence of `(u128 key, WABA entry)`; from version 4), the
//! accounts' delivery windows (a key-sorted sequence of `(u128 key,
//! windows)` for the accounts that have any; from version 5), the
//! per-portfolio state (entries of the WABA section's form; from version
//! 6), and the caller's opaque `extra` bytes. The same state always gives the same bytes.
//!
//! Not stored: the engine's counters, the rules, policy, overrides and clock
//! (all in the shared [`EngineContext`]), and the eviction limits, which are
//! taken from `ctx.config().limits` on restore. Message text is never part of
//! the state. Field order and enum variant order of the state types are part
//! of the format: changing them needs a new
//! [`FORMAT_VERSION`](crate::snapshot::FORMAT_VERSION), and a fixture of the
//! new version beside the old ones (`tests/snapshot_compat.rs` says how; the
//! committed version-2 file there must keep reading, or be refused with a
//! documented migration).
//!
//! Take a snapshot while the shard is paused (no `process` call running on
//! it); otherwise the store and the watermark may not be from the same event.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{Deserialize, DeserializeSeed};
use xxhash_rust::xxh3::xxh3_64;

use crate::decide::AccountDecision;
use crate::engine::{Engine, EngineContext};
use crate::state::{DeliveryWindows, StoreSeed, WabaSeed, WabaStore};

/// The first bytes of every shard snapshot.
pub const MAGIC: [u8; 8] = *b"SATPAMSS";

/// The format version this build writes. Version 6 adds the
/// per-portfolio section after the delivery one (version 5 and older are
/// read with no portfolio state). Version 5 adds the accounts' delivery
/// windows after the WABA section (versions 2 to 4 are read with none).
/// Either fills again from the events after the snapshot. Version 4 adds the per-WABA
/// section after the store (versions 2 and 3 are read with no WABA state:
/// the WABA windows fill again from the events after the snapshot). Version 3: a conversation
/// carries its tenant's hash (for the per-tenant caps) after its other
/// fields, and an account its policy state (Business Agent use, charge
/// ledger) after its ladder state. Version 2 is still read: its
/// conversations get tenant 0 (counted by no cap, still evicted when idle)
/// and its accounts an empty policy state. Version 1 (64-bit event-id
/// hashes) is refused and the partition starts empty at the committed
/// offset.
pub const FORMAT_VERSION: u32 = 6;

/// The oldest format version this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 2;

/// Bytes before the payload: magic, version, payload length, checksum.
pub const HEADER_LEN: usize = 8 + 4 + 8 + 8;

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Reading or writing failed.
    #[error("snapshot I/O failed: {0}")]
    Io(#[from] io::Error),
    /// The data does not start with [`MAGIC`]: not a shard snapshot.
    #[error("not a satpam shard snapshot (the magic bytes are wrong)")]
    BadMagic,
    /// Written by a build with another format version.
    #[error("snapshot format version {found} is not supported (this build reads versions {OLDEST_READABLE_VERSION} to {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version in the header.
        found: u32,
    },
    /// The data ends before the length its header announces.
    #[error("snapshot truncated: {expected} bytes expected, {found} present")]
    Truncated {
        /// Header plus announced payload length.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },
    /// The payload does not match its checksum.
    #[error("snapshot corrupt: payload checksum is {found:016x}, the header says {expected:016x}")]
    Corrupt {
        /// The checksum in the header.
        expected: u64,
        /// The checksum of the payload read.
        found: u64,
    },
    /// The payload passed its checksum but does not decode as shard state
    /// (or the state could not be encoded).
    #[error("snapshot payload does not decode: {0}")]
    Decode(String),
}

impl From<postcard::Error> for SnapshotError {
    fn from(e: postcard::Error) -> Self {
        SnapshotError::Decode(e.to_string())
    }
}

/// Writes a snapshot of `engine`'s shard to `w`.
pub fn write_shard(engine: &Engine, w: &mut impl Write) -> Result<(), SnapshotError> {
    write_shard_with_extra(engine, &[], w)
}

/// Writes a snapshot of `engine`'s shard to `w`, with `extra`: opaque bytes
/// kept beside the state, inside the checksummed payload (say, the input
/// offset the state is consistent with).
pub fn write_shard_with_extra(
    engine: &Engine,
    extra: &[u8],
    w: &mut impl Write,
) -> Result<(), SnapshotError> {
    let (store, watermark_ms, next_sweep_ms) = engine.parts();
    let payload = postcard::to_stdvec(&(
        watermark_ms,
        next_sweep_ms,
        store,
        engine.wabas(),
        store.delivery_section(),
        engine.portfolios(),
        extra,
    ))?;
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..20].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    header[20..28].copy_from_slice(&xxh3_64(&payload).to_le_bytes());
    w.write_all(&header)?;
    w.write_all(&payload)?;
    w.flush()?;
    Ok(())
}

/// Reads a shard snapshot from `r` into a new engine over `ctx` (its limits
/// apply to the restored store). Reads exactly the snapshot's bytes; any
/// `extra` bytes stored with it are dropped.
pub fn read_shard(ctx: Arc<EngineContext>, r: &mut impl Read) -> Result<Engine, SnapshotError> {
    read_shard_with_extra(ctx, r).map(|(engine, _)| engine)
}

/// Reads a shard snapshot from `r` into a new engine over `ctx`, and returns
/// it with the `extra` bytes stored beside the state. Reads exactly the
/// snapshot's bytes.
pub fn read_shard_with_extra(
    ctx: Arc<EngineContext>,
    r: &mut impl Read,
) -> Result<(Engine, Vec<u8>), SnapshotError> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_up_to(r, &mut header)?;
    let magic_len = got.min(MAGIC.len());
    if header[..magic_len] != MAGIC[..magic_len] {
        return Err(SnapshotError::BadMagic);
    }
    if got < HEADER_LEN {
        return Err(SnapshotError::Truncated {
            expected: HEADER_LEN as u64,
            found: got as u64,
        });
    }
    let version = u32::from_le_bytes(le_bytes(&header[8..12]));
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(SnapshotError::UnsupportedVersion { found: version });
    }
    let len = u64::from_le_bytes(le_bytes(&header[12..20]));
    let expected_sum = u64::from_le_bytes(le_bytes(&header[20..28]));

    // Grows as bytes arrive: a corrupt length cannot allocate more than is there.
    let mut payload = Vec::new();
    r.take(len).read_to_end(&mut payload)?;
    if (payload.len() as u64) < len {
        return Err(SnapshotError::Truncated {
            // Saturating: a corrupt length near u64::MAX must not overflow.
            expected: (HEADER_LEN as u64).saturating_add(len),
            found: (HEADER_LEN + payload.len()) as u64,
        });
    }
    let found_sum = xxh3_64(&payload);
    if found_sum != expected_sum {
        return Err(SnapshotError::Corrupt {
            expected: expected_sum,
            found: found_sum,
        });
    }

    let mut de = postcard::Deserializer::from_bytes(&payload);
    let watermark_ms = i64::deserialize(&mut de)?;
    let next_sweep_ms = i64::deserialize(&mut de)?;
    let limits = ctx.config().limits;
    let store = if version == 2 {
        StoreSeed::<AccountDecision>::format_2(limits).deserialize(&mut de)?
    } else {
        StoreSeed::<AccountDecision>::new(limits).deserialize(&mut de)?
    };
    let wabas = if version >= 4 {
        WabaSeed::<AccountDecision>::new(limits).deserialize(&mut de)?
    } else {
        WabaStore::new(limits)
    };
    if version >= 5 {
        store.attach_delivery(Vec::<(u128, DeliveryWindows)>::deserialize(&mut de)?);
    }
    let portfolios = if version >= 6 {
        WabaSeed::<AccountDecision>::new(limits).deserialize(&mut de)?
    } else {
        WabaStore::new(limits)
    };
    let extra = Vec::<u8>::deserialize(&mut de)?;
    let rest = de.finalize()?;
    if !rest.is_empty() {
        return Err(SnapshotError::Decode(format!(
            "{} bytes left over after the state",
            rest.len()
        )));
    }
    Ok((
        Engine::from_parts(ctx, store, watermark_ms, next_sweep_ms)
            .with_wabas(wabas)
            .with_portfolios(portfolios),
        extra,
    ))
}

/// Saves a snapshot of `engine`'s shard, with `extra` beside it, to `path`
/// atomically: writes `path.tmp`, syncs it, renames it over `path` and
/// syncs the directory. After a crash `path` holds the old snapshot or the
/// new one, never a mix.
pub fn save_to_file(engine: &Engine, path: &Path, extra: &[u8]) -> Result<(), SnapshotError> {
    let tmp = tmp_path(path)?;
    let written = (|| -> Result<(), SnapshotError> {
        let mut f = File::create(&tmp)?;
        write_shard_with_extra(engine, extra, &mut f)?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path)?;
    sync_dir(path)?;
    Ok(())
}

/// Loads the snapshot saved at `path` into a new engine over `ctx`, with its
/// `extra` bytes; `Ok(None)` when there is no file (a first start).
pub fn load_from_file(
    ctx: Arc<EngineContext>,
    path: &Path,
) -> Result<Option<(Engine, Vec<u8>)>, SnapshotError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut r = BufReader::new(f);
    let loaded = read_shard_with_extra(ctx, &mut r)?;
    let mut probe = [0u8; 1];
    if read_up_to(&mut r, &mut probe)? != 0 {
        return Err(SnapshotError::Decode(
            "the file goes on after the snapshot".into(),
        ));
    }
    Ok(Some(loaded))
}

/// `path` with `.tmp` appended to its file name.
fn tmp_path(path: &Path) -> Result<PathBuf, SnapshotError> {
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file path", path.display()),
        )
        .into());
    };
    let mut tmp: OsString = name.to_os_string();
    tmp.push(".tmp");
    Ok(path.with_file_name(tmp))
}

/// Syncs the directory holding `path`, so that a rename into it is durable.
#[cfg(unix)]
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for syncing here; the rename is what there is.
#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A fixed-size copy of a header field (the slices are sized by the layout).
fn le_bytes<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::decide::CountryPolicy;
    use crate::engine::{EngineConfig, Scratch};
    use crate::event::{Country, Direction, Event, MessageKind, Sender};
    use crate::rules::RuleSet;

    const T0: i64 = 1_769_990_400_000;

    fn context() -> Arc<EngineContext> {
        Arc::new(EngineContext::new(
            Arc::new(RuleSet::default_pack()),
            CountryPolicy::enforce_everywhere(),
            Arc::new(ManualClock::new(T0)),
            EngineConfig::default(),
        ))
    }

    fn event(n: u32, user: u32, direction: Direction) -> Event {
        Event {
            event_id: format!("e{n}"),
            tenant_id: "t".into(),
            account_id: format!("acc-{}", user % 3),
            waba_id: String::new(),
            user_id: format!("u{user}"),
            conversation_id: format!("acc-{}:u{user}", user % 3),
            direction,
            kind: MessageKind::Text,
            template_category: None,
            sender: Sender::Bot,
            timestamp_ms: T0 + i64::from(n) * 7_000,
            text: if direction == Direction::Inbound {
                "Write a poem about the sea and explain photosynthesis step by step".into()
            } else {
                "Certainly! Here's a clear explanation.\n\n1. First\n2. Next\n3. Then".into()
            },
            text_len: 0,
            user_country: Country::parse("ID").unwrap_or_default(),
            handoff: false,
            reply_to: None,
            delivery: None,
            business_id: String::new(),
        }
    }

    /// A shard with a few accounts and conversations in it.
    fn busy_engine() -> Engine {
        let engine = Engine::with_context(context());
        let mut scratch = Scratch::default();
        for n in 0..60 {
            let dir = if n % 2 == 0 {
                Direction::Inbound
            } else {
                Direction::Outbound
            };
            let mut e = event(n, n / 2 % 7, dir);
            e.text_len = e.text.chars().count() as u32;
            engine.process(&e, &mut scratch);
        }
        engine
    }

    fn snapshot(engine: &Engine, extra: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_shard_with_extra(engine, extra, &mut out).unwrap();
        out
    }

    #[test]
    fn round_trip_is_exact() {
        let a = busy_engine();
        let bytes = snapshot(&a, b"offset=42");
        assert_eq!(&bytes[..8], b"SATPAMSS");
        let (b, extra) = read_shard_with_extra(context(), &mut bytes.as_slice()).unwrap();
        assert_eq!(extra, b"offset=42");
        assert_eq!(b.parts().1, a.parts().1);
        assert_eq!(b.parts().2, a.parts().2);
        assert_eq!(b.store_stats().accounts, 3);
        assert_eq!(b.store_stats().conversations, 7);
        // What came back, against figures taken from the input itself (event
        // n is user n/2 mod 7's, of account user mod 3, at T0 + 7 s n): each
        // account's last event time, events in the hour and distinct users.
        for i in 0..3u32 {
            let id = format!("acc-{i}");
            let mine: Vec<u32> = (0..60u32).filter(|n| n / 2 % 7 % 3 == i).collect();
            let users: std::collections::BTreeSet<u32> = mine.iter().map(|n| n / 2 % 7).collect();
            let got = b.account("t", &id).expect("restored account");
            assert_eq!((&*got.tenant_id, &*got.account_id), ("t", id.as_str()));
            let last = T0 + i64::from(*mine.last().expect("events")) * 7_000;
            assert_eq!(got.behaviour.last_ms(), last, "{id}: last event");
            let totals = got.behaviour.clone().totals(last);
            assert_eq!(totals.events_hour(), mine.len() as u64, "{id}: events");
            assert_eq!(
                totals.users_day_rounded(),
                users.len() as u64,
                "{id}: users"
            );
            // The decision state equals the one the original shard reached.
            let orig = a.account("t", &id).expect("original account");
            assert_eq!(
                (got.slot.decision, got.slot.activity),
                (orig.slot.decision, orig.slot.activity),
                "{id}"
            );
        }
        // The same state gives the same bytes (determinism, not a round-trip proof).
        assert_eq!(snapshot(&b, b"offset=42"), bytes);
    }

    #[test]
    fn empty_shard_round_trips() {
        let a = Engine::with_context(context());
        let mut bytes = Vec::new();
        write_shard(&a, &mut bytes).unwrap();
        let b = read_shard(context(), &mut bytes.as_slice()).unwrap();
        assert_eq!(b.store_stats(), a.store_stats());
        assert_eq!(b.parts().1, i64::MIN);
        assert_eq!(b.parts().2, i64::MIN);
    }

    #[test]
    fn reads_exactly_one_snapshot_from_a_stream() {
        let a = busy_engine();
        let mut stream = snapshot(&a, b"first");
        stream.extend(snapshot(&Engine::with_context(context()), b"second"));
        let mut r = stream.as_slice();
        let (_, x1) = read_shard_with_extra(context(), &mut r).unwrap();
        let (e2, x2) = read_shard_with_extra(context(), &mut r).unwrap();
        assert_eq!(
            (x1.as_slice(), x2.as_slice()),
            (&b"first"[..], &b"second"[..])
        );
        assert_eq!(e2.store_stats().accounts, 0);
        assert!(r.is_empty());
    }

    fn read_err(bytes: &[u8]) -> SnapshotError {
        match read_shard(context(), &mut &bytes[..]) {
            Ok(_) => panic!("read a broken snapshot"),
            Err(e) => e,
        }
    }

    #[test]
    fn broken_snapshots_are_refused_with_their_error() {
        let good = snapshot(&busy_engine(), b"x");
        let payload_len = good.len() - HEADER_LEN;

        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        assert!(matches!(read_err(&bad_magic), SnapshotError::BadMagic));
        assert!(matches!(
            read_err(b"{\"json\": 1}"),
            SnapshotError::BadMagic
        ));
        assert!(matches!(read_err(b"SAT"), SnapshotError::Truncated { .. }));

        let mut version = good.clone();
        version[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        let e = read_err(&version);
        assert!(
            matches!(e, SnapshotError::UnsupportedVersion { found } if found == FORMAT_VERSION + 1)
        );
        assert!(
            e.to_string()
                .contains(&format!("version {}", FORMAT_VERSION + 1)),
            "{e}"
        );

        let mut flipped = good.clone();
        let mid = HEADER_LEN + payload_len / 2;
        flipped[mid] ^= 0x10;
        assert!(matches!(read_err(&flipped), SnapshotError::Corrupt { .. }));
        let mut bad_sum = good.clone();
        bad_sum[20] ^= 1;
        assert!(matches!(read_err(&bad_sum), SnapshotError::Corrupt { .. }));

        for cut in [0, 5, 8, HEADER_LEN - 1, HEADER_LEN, good.len() - 1] {
            match read_err(&good[..cut]) {
                SnapshotError::Truncated { expected, found } => {
                    assert_eq!(found, cut as u64);
                    assert!(expected > found);
                }
                e => panic!("cut at {cut}: {e}"),
            }
        }

        // A payload that passes its checksum but is not shard state.
        let garbage = [0xffu8; 40];
        let mut forged = good[..HEADER_LEN].to_vec();
        forged[12..20].copy_from_slice(&(garbage.len() as u64).to_le_bytes());
        forged[20..28].copy_from_slice(&xxh3_64(&garbage).to_le_bytes());
        forged.extend_from_slice(&garbage);
        assert!(matches!(read_err(&forged), SnapshotError::Decode(_)));
    }

    #[test]
    fn a_bad_country_code_does_not_decode() {
        assert!(postcard::from_bytes::<Country>(b"IT").is_ok());
        assert!(postcard::from_bytes::<Country>(b"??").is_ok());
        assert!(postcard::from_bytes::<Country>(b"i\xff").is_err());
    }

    #[test]
    fn files_are_saved_atomically_and_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard-3.snap");
        assert!(load_from_file(context(), &path).unwrap().is_none());

        let a = busy_engine();
        save_to_file(&a, &path, b"offset=7").unwrap();
        assert!(!dir.path().join("shard-3.snap.tmp").exists());
        let (b, extra) = load_from_file(context(), &path).unwrap().unwrap();
        assert_eq!(extra, b"offset=7");
        assert_eq!(snapshot(&b, &extra), snapshot(&a, b"offset=7"));

        // Saving again replaces the file whole.
        save_to_file(&Engine::with_context(context()), &path, b"").unwrap();
        let (c, extra) = load_from_file(context(), &path).unwrap().unwrap();
        assert!(extra.is_empty());
        assert_eq!(c.store_stats().accounts, 0);

        // A truncated file, and one with bytes after the snapshot.
        let full = snapshot(&a, b"");
        fs::write(&path, &full[..full.len() - 3]).unwrap();
        assert!(matches!(
            load_from_file(context(), &path),
            Err(SnapshotError::Truncated { .. })
        ));
        let mut longer = full.clone();
        longer.push(0);
        fs::write(&path, &longer).unwrap();
        assert!(matches!(
            load_from_file(context(), &path),
            Err(SnapshotError::Decode(_))
        ));
    }

    #[test]
    fn a_failed_save_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.snap");
        save_to_file(&busy_engine(), &path, b"old").unwrap();
        // The temporary file cannot be created: a directory is in the way.
        fs::create_dir(dir.path().join("s.snap.tmp")).unwrap();
        let e = save_to_file(&Engine::with_context(context()), &path, b"new");
        assert!(matches!(e, Err(SnapshotError::Io(_))));
        let (_, extra) = load_from_file(context(), &path).unwrap().unwrap();
        assert_eq!(extra, b"old");
    }
}
