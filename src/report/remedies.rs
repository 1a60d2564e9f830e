//! What the business can change, from the features the active rules read:
//! a path to a human, declining requests outside the business, keeping
//! answers to its topics. In English and Indonesian.

use super::facts::Facts;
use super::lang::Lang;
use super::words::behind;

/// Features about what users ask for, off the business's topics.
const OFF_TOPIC: &[&str] = &[
    "account.open_domain_task_share",
    "account.topics_1h",
    "account.topical_share",
    "account.business_marker_share",
];

/// Features about reaching a person.
const NO_HUMAN: &[&str] = &["account.handoff_rate", "account.human_share"];

/// Features about open-ended conversations.
const OPEN_ENDED: &[&str] = &[
    "account.turns_per_session",
    "account.returning_share_24h",
    "account.replies_per_inbound",
];

/// Features about replies like a general assistant's.
const ASSISTANT_REPLIES: &[&str] = &[
    "account.out_len_p50",
    "account.very_long_reply_share",
    "account.long_reply_share",
    "account.long_prompt_share",
    "account.structured_share",
    "account.assistant_opener_share",
    "account.ai_disclosure_share",
];

/// Features about templates and menus.
const FLOWS: &[&str] = &[
    "account.reply_latency_p50_s",
    "account.template_share",
    "account.interactive_share",
    "account.button_reply_share",
];

/// Each remedy: the features that call for it, its English and Indonesian text.
const REMEDIES: &[(&[&str], &str, &str)] = &[
    (
        OFF_TOPIC,
        "Keep sessions on your business's topics: decline requests outside it (essays, homework, coding, general questions) and point users back to your products and services.",
        "Jaga agar percakapan tetap membahas bisnis Anda: tolak permintaan di luar bisnis (esai, pekerjaan rumah, pemrograman, pertanyaan umum) dan arahkan pengguna kembali ke produk dan layanan Anda.",
    ),
    (
        NO_HUMAN,
        "Offer a way to reach a human, and hand conversations over when a customer asks or the bot cannot help.",
        "Sediakan cara untuk menghubungi petugas manusia, dan alihkan percakapan ketika pelanggan memintanya atau bot tidak dapat membantu.",
    ),
    (
        OPEN_ENDED,
        "Keep conversations to an errand (an order, a booking, a question about your service) rather than open-ended chat.",
        "Batasi percakapan pada satu keperluan (pesanan, reservasi, pertanyaan tentang layanan Anda), bukan obrolan bebas tanpa ujung.",
    ),
    (
        ASSISTANT_REPLIES,
        "Keep answers short and about your business; do not run a general-purpose assistant (ChatGPT-, Copilot-, Perplexity-style) on this number.",
        "Buat jawaban singkat dan seputar bisnis Anda; jangan menjalankan asisten AI serba guna (seperti ChatGPT, Copilot, atau Perplexity) di nomor ini.",
    ),
    (
        FLOWS,
        "Use templates and menus for business flows (notifications, choices), not as a front for open-ended chat.",
        "Gunakan template dan menu untuk alur bisnis (notifikasi, pilihan), bukan sebagai kedok untuk obrolan bebas.",
    ),
];

/// What the business can change, from the features the active rules read,
/// in `lang`; the last item (review your AI agents) is always there.
pub fn remedies(f: &Facts, lang: Lang) -> Vec<String> {
    let names = behind(f);
    let any = |keys: &[&str]| keys.iter().any(|k| names.iter().any(|n| n == k));
    let mut out: Vec<String> = REMEDIES
        .iter()
        .filter(|(keys, _, _)| any(keys))
        .map(|(_, en, id)| lang.pick(en, id).to_string())
        .collect();
    out.push(
        lang.pick(
            "Review the AI agents you run on this number and keep each to your business's use.",
            "Tinjau agen AI yang Anda jalankan di nomor ini dan pastikan masing-masing hanya dipakai untuk keperluan bisnis Anda.",
        )
        .to_string(),
    );
    out
}
