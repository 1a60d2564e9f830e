//! Synthesised assistant answers: an intro, numbered or bulleted points,
//! sometimes a code block, a closing line.

use rand::Rng;

use super::b;

/// Phrase sets for answer synthesis.
pub(super) struct Phrases {
    pub(super) intro: &'static [&'static str],
    pub(super) points: &'static [&'static str],
    pub(super) details: &'static [&'static str],
    pub(super) close: &'static [&'static str],
}

/// A long structured answer: intro, numbered or bulleted points (some with
/// an elaboration), sometimes a code block, a closing line; 400-3000 chars.
pub(super) fn synthesise<R: Rng>(rng: &mut R, ph: &Phrases) -> String {
    const MAX: usize = 3000;
    let target = rng.random_range(400..=MAX);
    let pick = |rng: &mut R, v: &[&'static str]| v[rng.random_range(0..v.len())];
    let mut out = String::from(pick(rng, ph.intro));
    out.push_str("\n\n");
    let numbered = rng.random_bool(0.6);
    let with_code = rng.random_bool(0.35);
    let closing = pick(rng, ph.close);
    let room = MAX - closing.chars().count() - 2;
    let mut order: Vec<usize> = (0..ph.points.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let mut n = 0;
    while out.chars().count() + closing.chars().count() < target && n < order.len() {
        let mut item = if numbered {
            format!("{}. {}\n", n + 1, ph.points[order[n]])
        } else {
            format!("- {}\n", ph.points[order[n]])
        };
        if rng.random_bool(0.6) {
            item.push_str(&format!("   {}\n", pick(rng, ph.details)));
        }
        if with_code && n == 1 {
            item.push('\n');
            item.push_str(pick(rng, b::SYN_CODE));
            item.push_str("\n\n");
        }
        if out.chars().count() + item.chars().count() > room {
            break;
        }
        out.push_str(&item);
        n += 1;
    }
    out.push('\n');
    out.push_str(closing);
    out
}
