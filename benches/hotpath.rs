//! The hot path per event, measured the way the service runs it:
//! protobuf bytes -> decode and validate -> state -> features -> rules ->
//! decision, on one core, over scenario traffic built from the corpora.
//!
//! cargo bench --bench hotpath                  # every group
//! cargo bench --bench hotpath -- hotpath/      # the three of record
//!
//! Groups (criterion throughput in elements = events):
//! - `hotpath/decode_only`: decode and validate each event, nothing else;
//!   the baseline the hot path is quoted against.
//! - `hotpath/text`: the whole hot path over events with message text.
//! - `hotpath/metadata`: the same traffic with the text withheld.
//! - `hotpath/decode_only_metadata`: the baseline of `hotpath/metadata`.
//! - `json/decode_only`, `json/text`: the same two over the same events as
//!   JSON lines (canonical proto3 JSON, what `satpam replay` reads), for
//!   what JSON decoding costs against protobuf.
//! - `matcher/scan`: the rule matcher alone, one scan per text.
//! - `matcher/aho_corasick_crate`: the same terms through the aho-corasick
//!   crate's own searcher (its DFA, the fastest of its automata, which it
//!   would not pick on its own for the inbound side's 393 terms; its
//!   prefilters; every overlapping match, no whole-word check): what the
//!   crate's best general scan costs on these texts, as a floor for any
//!   matcher built on it. `matcher/aho_corasick_crate_leftmost`: its
//!   fastest mode (leftmost-first, non-overlapping, so fewer matches than
//!   the rules need), for the same floor with every shortcut the crate
//!   takes.
//! - `matcher/evaluate`: the compiled conditions alone, over feature
//!   vectors captured from a replay.
//! - `state/one_thread`, `state/two_threads`: the engine over decoded
//!   events, from one thread and from two threads at once, laid out as the
//!   service lays out partitions: accounts split between the threads, one
//!   engine shard each over one shared context (rules, policy, overrides,
//!   rule hit counters).
//! - `state/two_threads_one_shard`: two threads updating one shard's state
//!   store at once (as two gRPC streams can), for the cost of sharing it.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use prost::Message;
use satpam::clock::ManualClock;
use satpam::convert::EventDecoder;
use satpam::decide::CountryPolicy;
use satpam::event::Direction;
use satpam::pb::v1::MessageEvent;
use satpam::rules::normalise_term;
use satpam::rules::spec::{RuleFileSpec, SideSpec};
use satpam::{Engine, EngineConfig, Event, Outcome, RuleSet, Scratch};

/// Accounts and hours of the bench traffic (about 230k events).
const ACCOUNTS: usize = 200;
const HOURS: f64 = 6.0;

fn engine(rules: &Arc<RuleSet>) -> Engine {
    Engine::new(
        rules.clone(),
        CountryPolicy::default(),
        Arc::new(ManualClock::new(0)),
        EngineConfig::default(),
    )
}

fn decode(wire: &[u8]) -> Option<Event> {
    MessageEvent::decode(wire)
        .ok()
        .and_then(|m| Event::try_from(m).ok())
}

/// Decodes one protobuf record the way the Kafka workers do: into the
/// worker's reused [`EventDecoder`], then validated.
#[allow(clippy::ptr_arg)] // `hot_path` hands it `&T` of a `[Vec<u8>]`
fn decode_wire<'d>(wire: &Vec<u8>, d: &'d mut EventDecoder) -> Option<&'d Event> {
    d.decode(wire).ok()
}

/// Decode and process every event into `engine` (protobuf records or JSON
/// lines, by `decode`); returns the signals. Never inlined, so that
/// callgrind's `--toggle-collect='hotpath::hot_path*'` finds it whatever
/// the profile's LTO does.
#[inline(never)]
fn hot_path<T, D>(engine: &Engine, items: &[T], decode: D, scratch: &mut Scratch) -> u64
where
    D: for<'d> Fn(&T, &'d mut EventDecoder) -> Option<&'d Event>,
{
    let mut decoder = EventDecoder::new();
    let mut signals = 0;
    for item in items {
        if let Some(e) = decode(item, &mut decoder) {
            if let Outcome::Processed(Some(_)) = engine.process(e, scratch) {
                signals += 1;
            }
        }
    }
    signals
}

/// Decode (and validate) every item, nothing else: the baseline groups.
/// Returns how many of the decoded events `counted` holds for, so the work
/// cannot be optimised away. Never inlined, as `hot_path`.
#[inline(never)]
fn decode_all<T, D>(items: &[T], decode: D, counted: impl Fn(&Event) -> bool) -> u64
where
    D: for<'d> Fn(&T, &'d mut EventDecoder) -> Option<&'d Event>,
{
    let mut decoder = EventDecoder::new();
    let mut n = 0u64;
    for item in items {
        if let Some(e) = decode(item, &mut decoder) {
            n += u64::from(counted(e));
            black_box(e);
        }
    }
    n
}

fn hotpath(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::default_pack());
    let text = common::traffic(ACCOUNTS, HOURS, false);
    let metadata = common::traffic(ACCOUNTS, HOURS, true);
    eprintln!(
        "hotpath: {} events, {:.0} B of text per event, texts from {}",
        text.wire.len(),
        text.text_bytes as f64 / text.wire.len() as f64,
        text.source
    );

    let mut g = c.benchmark_group("hotpath");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(text.wire.len() as u64));
    g.bench_function("decode_only", |b| {
        b.iter(|| decode_all(&text.wire, decode_wire, Event::has_text))
    });
    g.bench_function("text", |b| {
        let mut scratch = Scratch::default();
        b.iter_batched(
            || engine(&rules),
            |e| {
                hot_path(&e, &text.wire, decode_wire, &mut scratch);
                e
            },
            BatchSize::PerIteration,
        )
    });
    g.throughput(Throughput::Elements(metadata.wire.len() as u64));
    g.bench_function("decode_only_metadata", |b| {
        b.iter(|| decode_all(&metadata.wire, decode_wire, |e| e.text_len > 0))
    });
    g.bench_function("metadata", |b| {
        let mut scratch = Scratch::default();
        b.iter_batched(
            || engine(&rules),
            |e| {
                hot_path(&e, &metadata.wire, decode_wire, &mut scratch);
                e
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Parse one JSON line the way `satpam replay` does, then validate.
#[allow(clippy::ptr_arg)] // `hot_path` hands it `&T` of a `[String]`
fn decode_json<'d>(line: &String, d: &'d mut EventDecoder) -> Option<&'d Event> {
    let m = serde_json::from_str::<MessageEvent>(line).ok()?;
    d.convert(m).ok()
}

fn json(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::default_pack());
    let text = common::traffic(ACCOUNTS, HOURS, false);
    let lines: Vec<String> = text
        .wire
        .iter()
        .map(|w| {
            let m = MessageEvent::decode(w.as_slice()).expect("bench traffic decodes");
            serde_json::to_string(&m).expect("an event renders as JSON")
        })
        .collect();
    eprintln!(
        "json: {} events, {:.0} B per JSON line, {:.0} B per protobuf record",
        lines.len(),
        lines.iter().map(|l| l.len() + 1).sum::<usize>() as f64 / lines.len() as f64,
        text.wire.iter().map(Vec::len).sum::<usize>() as f64 / text.wire.len() as f64
    );

    let mut g = c.benchmark_group("json");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("decode_only", |b| {
        b.iter(|| decode_all(&lines, decode_json, Event::has_text))
    });
    g.bench_function("text", |b| {
        let mut scratch = Scratch::default();
        b.iter_batched(
            || engine(&rules),
            |e| {
                hot_path(&e, &lines, decode_json, &mut scratch);
                e
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn matcher(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::default_pack());
    let traffic = common::traffic(ACCOUNTS, HOURS, false);
    let events: Vec<Event> = traffic.wire.iter().filter_map(|w| decode(w)).collect();
    let texts: Vec<&Event> = events.iter().filter(|e| e.has_text()).collect();
    // Feature vectors as the engine computed them, for the conditions alone.
    let e = engine(&rules);
    let mut scratch = Scratch::default();
    let features: Vec<Vec<f64>> = events
        .iter()
        .map(|ev| {
            e.process(ev, &mut scratch);
            scratch.features().values().to_vec()
        })
        .collect();

    let mut g = c.benchmark_group("matcher");
    g.sample_size(20);
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("scan", |b| {
        b.iter(|| {
            let mut hits = 0u32;
            for ev in &texts {
                hits |= rules.matcher().scan(&ev.text, ev.direction).pattern_hits;
            }
            hits
        })
    });
    /// Matches of one text: every overlapping one (as the rules need), or
    /// leftmost-first ones only.
    type Count = fn(&AhoCorasick, &str) -> usize;
    let overlapping: Count = |ac, t| ac.find_overlapping_iter(t).count();
    let leftmost: Count = |ac, t| ac.find_iter(t).count();
    for (name, kind, count) in [
        ("aho_corasick_crate", MatchKind::Standard, overlapping),
        (
            "aho_corasick_crate_leftmost",
            MatchKind::LeftmostFirst,
            leftmost,
        ),
    ] {
        let (inbound, outbound) = crate_searchers(kind);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0usize;
                for ev in &texts {
                    let ac = match ev.direction {
                        Direction::Inbound => &inbound,
                        Direction::Outbound => &outbound,
                    };
                    n += count(ac, ev.text.as_str());
                }
                n
            })
        });
    }
    g.throughput(Throughput::Elements(features.len() as u64));
    g.bench_function("evaluate", |b| {
        let mut fired = Vec::new();
        b.iter(|| {
            let mut n = 0usize;
            for f in &features {
                rules.evaluate(f, &mut fired);
                n += fired.len();
            }
            n
        })
    });
    g.finish();
}

/// The default pack's terms per side (inbound: its topics and inbound
/// pattern sets; outbound: its outbound sets), normalised as the matcher
/// normalises them, in the aho-corasick crate's own searcher.
fn crate_searchers(kind: MatchKind) -> (AhoCorasick, AhoCorasick) {
    let spec: RuleFileSpec =
        yaml_serde::from_str(include_str!("../rules/default.yaml")).expect("the default pack");
    // The term as the matcher reads it; whole words are the matcher's
    // check, not the crate's, so a prefix term is just its word here.
    let norm = |t: &String| normalise_term(t).map(|(term, _prefix)| term);
    let mut inbound: Vec<String> = spec
        .topics
        .values()
        .flat_map(|l| l.values().flatten())
        .filter_map(norm)
        .collect();
    let mut outbound = Vec::new();
    for set in spec.pattern_sets.values() {
        let terms = set.terms.values().flatten().filter_map(norm);
        match set.side {
            SideSpec::Inbound => inbound.extend(terms),
            SideSpec::Outbound => outbound.extend(terms),
        }
    }
    // One pattern per distinct term, as the matcher keeps them (a term in
    // two sets is one term feeding both).
    for terms in [&mut inbound, &mut outbound] {
        terms.sort();
        terms.dedup();
    }
    let build = |terms: &[String]| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(kind)
            .kind(Some(AhoCorasickKind::DFA))
            .build(terms)
            .expect("the crate builds the default pack's terms")
    };
    let (i, o) = (build(&inbound), build(&outbound));
    eprintln!(
        "aho-corasick crate, {kind:?}: {} inbound terms ({:?}), {} outbound ({:?})",
        inbound.len(),
        i.kind(),
        outbound.len(),
        o.kind()
    );
    (i, o)
}

fn state(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::default_pack());
    let traffic = common::traffic(ACCOUNTS, HOURS, false);
    let events: Vec<Event> = traffic.wire.iter().filter_map(|w| decode(w)).collect();
    // Split by account, as a consumer group splits partitions.
    let (left, right): (Vec<&Event>, Vec<&Event>) = events
        .iter()
        .partition(|e| xxhash_rust::xxh3::xxh3_64(e.account_id.as_bytes()) % 2 == 0);

    let mut g = c.benchmark_group("state");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("one_thread", |b| {
        let mut scratch = Scratch::default();
        b.iter_batched(
            || engine(&rules),
            |e| {
                for ev in &events {
                    black_box(e.process(ev, &mut scratch));
                }
                e
            },
            BatchSize::PerIteration,
        )
    });
    let two_threads = |engines: &[Engine; 2]| {
        std::thread::scope(|s| {
            for (e, half) in engines.iter().zip([&left, &right]) {
                s.spawn(move || {
                    let mut scratch = Scratch::default();
                    for ev in half.iter() {
                        black_box(e.process(ev, &mut scratch));
                    }
                });
            }
        });
    };
    g.bench_function("two_threads", |b| {
        b.iter_batched(
            || {
                let first = engine(&rules);
                let second = Engine::with_context(first.context().clone());
                [first, second]
            },
            |engines| {
                two_threads(&engines);
                engines
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("two_threads_one_shard", |b| {
        b.iter_batched(
            || Arc::new(engine(&rules)),
            |e| {
                std::thread::scope(|s| {
                    for half in [&left, &right] {
                        let e = &e;
                        s.spawn(move || {
                            let mut scratch = Scratch::default();
                            for ev in half.iter() {
                                black_box(e.process(ev, &mut scratch));
                            }
                        });
                    }
                });
                e
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, hotpath, json, matcher, state);
criterion_main!(benches);
