//! Multi-number WABAs in the baseline family: in every block of
//! [`GROUP_EVERY`] accounts, the last [`GROUP_SIZE`] are the numbers of one
//! WABA of one tenant. Even blocks are one assistant spread thin over its
//! numbers ([`Archetype::WabaSpreadAssistant`], violating: each number
//! stays below the per-number thresholds); odd blocks a large retailer
//! whose numbers are each a support or AI business bot
//! ([`Archetype::MultiNumberRetailer`], allowed: the harm check of a
//! WABA-level rule). The group's members replace whatever archetype their
//! index drew; every other account is drawn exactly as before.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::archetype::Archetype;
use super::market::draw_tenant;
use super::mix::mix64;

/// Accounts per block; one WABA group at the end of each.
pub(crate) const GROUP_EVERY: u32 = 200;
/// Numbers of one group's WABA.
pub(crate) const GROUP_SIZE: u32 = 12;

/// A multi-number WABA an account belongs to.
pub(crate) struct Group {
    /// The archetype every number of the group is labelled with.
    pub label: Archetype,
    /// The archetype each number behaves as.
    pub behaves_as: Archetype,
    /// The group's tenant.
    pub tenant: u8,
    /// The group's WABA.
    pub waba: u64,
    /// The number's conversation rate per hour, when the group sets it.
    pub conv_per_h: Option<f64>,
}

/// The group of account `index`, if it is one of a WABA's numbers.
pub(crate) fn group_of(seed: u64, index: u32) -> Option<Group> {
    if index % GROUP_EVERY < GROUP_EVERY - GROUP_SIZE {
        return None;
    }
    let block = index / GROUP_EVERY;
    let mut rng = ChaCha8Rng::seed_from_u64(mix64(
        mix64(seed) ^ mix64(u64::from(block).wrapping_add(0x3ABA_0000)),
    ));
    let tenant = draw_tenant(&mut rng);
    let waba = 100_000_000_000_000 + rng.random_range(0..900_000_000_000_000u64);
    let member = index % GROUP_EVERY - (GROUP_EVERY - GROUP_SIZE);
    Some(if block % 2 == 0 {
        Group {
            label: Archetype::WabaSpreadAssistant,
            behaves_as: Archetype::AssistantDistributor,
            tenant,
            waba,
            // An assistant's reach over a dozen numbers: each number opens
            // a conversation every two or three hours (a few users an hour
            // at most), below what any per-number rule needs.
            conv_per_h: Some(0.3 + 0.025 * f64::from(member)),
        }
    } else {
        Group {
            label: Archetype::MultiNumberRetailer,
            behaves_as: if member % 2 == 0 {
                Archetype::SupportBot
            } else {
                Archetype::AiBusinessBot
            },
            tenant,
            waba,
            conv_per_h: None,
        }
    })
}
