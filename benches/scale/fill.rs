//! The state of a BSP's day: `accounts` numbers with ten conversations
//! each, every conversation an inbound message and a bot reply, then idle.

use satpam::event::Direction;
use satpam::{Engine, Event, Scratch};

use crate::text_turn::{text_turn, TurnIds};

/// Conversations per account (1M accounts: 10M conversations).
pub const CONVERSATIONS_PER_ACCOUNT: usize = 10;
/// Tenants (BSPs) the accounts are spread over, so no tenant reaches the
/// default per-tenant caps (100k accounts, 1M conversations per shard).
pub const TENANTS: usize = 32;
/// Numbers (accounts) per WABA, unless `SATPAM_SCALE_NUMBERS_PER_WABA`
/// says otherwise (a WABA tracks at most 128 of them).
pub const NUMBERS_PER_WABA: usize = 10;
/// Event time of the first pre-fill event (2026-01-01 00:00 UTC).
pub const START_MS: i64 = 1_767_225_600_000;
/// Event time the pre-fill is spread over.
pub const FILL_SPAN_MS: i64 = 2 * 3_600_000;

/// The ids of account `a`: tenant, account, WABA.
pub fn account_ids(a: usize) -> (String, String, String) {
    let waba = a / numbers_per_waba();
    (
        format!("bsp-{:02}", waba % TENANTS),
        format!("acc-{a:07}"),
        format!("waba-{waba}"),
    )
}

/// [`NUMBERS_PER_WABA`], or `SATPAM_SCALE_NUMBERS_PER_WABA` when set (read once).
pub fn numbers_per_waba() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("SATPAM_SCALE_NUMBERS_PER_WABA")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(NUMBERS_PER_WABA)
    })
}

/// The user of conversation `c` of account `a`.
pub fn user_id(a: usize, c: usize) -> String {
    format!("u-{a:08x}{c:08x}")
}

fn event(a: usize, c: usize, seq: u64, ts: i64, direction: Direction) -> Event {
    let (tenant_id, account_id, waba_id) = account_ids(a);
    let ids = TurnIds {
        tenant_id,
        account_id,
        waba_id,
        user_id: user_id(a, c),
    };
    text_turn(ids, format!("wamid.f{seq:015x}"), ts, direction)
}

/// Fills `engine` with `accounts` accounts of [`CONVERSATIONS_PER_ACCOUNT`]
/// conversations, in event-time order over [`FILL_SPAN_MS`]; returns the
/// events processed.
pub fn fill(engine: &Engine, accounts: usize) -> u64 {
    let mut scratch = Scratch::default();
    let total = accounts * CONVERSATIONS_PER_ACCOUNT;
    let step = FILL_SPAN_MS as f64 / total as f64;
    let mut seq = 0u64;
    for c in 0..CONVERSATIONS_PER_ACCOUNT {
        for a in 0..accounts {
            let ts = START_MS + ((c * accounts + a) as f64 * step) as i64;
            for (dir, dt) in [(Direction::Inbound, 0), (Direction::Outbound, 2_000)] {
                seq += 1;
                std::hint::black_box(engine.process(&event(a, c, seq, ts + dt, dir), &mut scratch));
            }
        }
    }
    seq
}
