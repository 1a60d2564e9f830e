//! The measured traffic: scenario events (texts, kinds, directions from
//! the corpora's scenario, as in `hotpath`) re-addressed to conversations
//! drawn uniformly from the whole pre-filled state, encoded as protobuf.

use prost::Message;
use satpam::pb::v1::MessageEvent;

use crate::fill::{account_ids, user_id, CONVERSATIONS_PER_ACCOUNT};

/// splitmix64: a fixed sequence per seed, so every run draws the same conversations.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// One batch: where it starts in event time and how it is drawn.
pub struct Spec {
    /// Accounts in the state (conversations are drawn from all of them).
    pub accounts: usize,
    /// Seed of the draw and prefix of the event ids (unique per batch).
    pub seed: u64,
    /// Event time of the first event.
    pub t0_ms: i64,
    /// Event time between two events.
    pub dt_ms: f64,
    /// Withhold the text (send its length only).
    pub metadata_only: bool,
}

/// `template`'s events re-addressed by `spec`, encoded.
pub fn batch(template: &[MessageEvent], spec: &Spec) -> Vec<Vec<u8>> {
    let mut draw = Draw(spec.seed);
    template
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let r = draw.next();
            let a = (r % spec.accounts as u64) as usize;
            let c = ((r >> 40) % CONVERSATIONS_PER_ACCOUNT as u64) as usize;
            let (tenant_id, account_id, waba_id) = account_ids(a);
            let mut m = MessageEvent {
                event_id: format!("wamid.b{:04x}{i:011x}", spec.seed),
                tenant_id,
                account_id,
                waba_id,
                user_id: user_id(a, c),
                conversation_id: String::new(),
                timestamp_ms: spec.t0_ms + (i as f64 * spec.dt_ms) as i64,
                reply_to: String::new(),
                ..t.clone()
            };
            if spec.metadata_only && !m.text.is_empty() {
                m.text_length = u32::try_from(m.text.chars().count()).unwrap_or(u32::MAX);
                m.text = String::new();
            }
            m.encode_to_vec()
        })
        .collect()
}
