//! The behaviours behind a decision in Bahasa Indonesia, written for a
//! small-business owner (formal but plain: "Anda"), with the same figures
//! as the English sentences ([`super::words`]).

use super::lang::Lang;
use super::numbers::Figures;

// Long because it is a table: one arm per feature an analyst reads.
/// A feature's sentence in Indonesian.
pub(super) fn sentence(name: &str, n: &Figures) -> String {
    let id = Lang::Id;
    let Figures {
        v,
        scanned_in,
        scanned_out,
        sessions,
        ..
    } = n;
    let v = *v;
    let pct = id.pct(v);
    match name {
        "account.open_domain_task_share" => format!(
            "{pct} dari {scanned_in} pesan pengguna yang dibaca dalam satu jam terakhir meminta pekerjaan umum di luar bisnis, seperti menulis, menjelaskan, menerjemahkan, matematika, atau pemrograman."
        ),
        "account.business_marker_share" => format!(
            "Hanya {pct} dari {scanned_in} pesan pengguna yang dibaca dalam satu jam terakhir menyebut pesanan, pengiriman, reservasi, harga, pembayaran, atau akun."
        ),
        "account.topics_1h" => format!(
            "Dalam satu jam terakhir, pengguna mengangkat {} topik umum yang berbeda (misalnya pemrograman, sejarah, kesehatan, atau tugas sekolah).",
            id.count(v)
        ),
        "account.topical_share" => format!(
            "{pct} dari {scanned_in} pesan pengguna yang dibaca dalam satu jam terakhir membahas topik seperti itu."
        ),
        "account.assistant_opener_share" => format!(
            "{pct} dari {scanned_out} balasan yang dibaca dalam satu jam terakhir dibuka dengan kalimat baku khas asisten AI umum."
        ),
        "account.ai_disclosure_share" => format!(
            "{pct} dari {scanned_out} balasan yang dibaca dalam satu jam terakhir memperkenalkan bot sebagai model AI umum."
        ),
        "account.structured_share" => format!(
            "{pct} dari {scanned_out} balasan yang dibaca dalam satu jam terakhir disusun seperti jawaban asisten AI (daftar, judul, kode)."
        ),
        "account.handoff_rate" if n.no_handoffs => format!(
            "Tidak ada satu pun dari {sessions} sesi dalam 24 jam terakhir yang dialihkan ke petugas manusia."
        ),
        "account.handoff_rate" => format!(
            "{} dari {sessions} sesi dalam 24 jam terakhir dialihkan ke petugas manusia (jumlah pengalihan: {}).",
            id.pct(v.min(1.0)),
            n.handoffs
        ),
        "account.human_share" => {
            format!("{pct} balasan dalam satu jam terakhir dikirim oleh petugas manusia.")
        }
        "account.bot_share" => format!("{pct} balasan dalam satu jam terakhir dikirim oleh bot."),
        "account.turns_per_session" => format!(
            "Rata-rata satu sesi berisi {} pesan pengguna (satu jam terakhir).",
            id.num(v)
        ),
        "account.returning_share_24h" => format!(
            "{pct} dari {sessions} sesi dalam 24 jam terakhir dibuka oleh pengguna yang kembali lagi."
        ),
        "account.out_len_p50" => format!(
            "Separuh balasan dalam satu jam terakhir lebih panjang dari {} karakter.",
            id.count(v)
        ),
        "account.very_long_reply_share" => format!(
            "{pct} balasan dalam satu jam terakhir sepanjang 800 karakter atau lebih."
        ),
        "account.long_reply_share" => format!(
            "{pct} balasan dalam satu jam terakhir sepanjang 400 karakter atau lebih."
        ),
        "account.long_prompt_share" => format!(
            "{pct} pesan pengguna dalam satu jam terakhir sepanjang 100 karakter atau lebih."
        ),
        "account.replies_per_inbound" => format!(
            "Bot mengirim {} balasan untuk setiap pesan pengguna (satu jam terakhir).",
            id.num(v)
        ),
        "account.reply_latency_p50_s" => format!(
            "Separuh jawaban dalam satu jam terakhir membutuhkan waktu lebih dari {} detik.",
            id.num(v)
        ),
        "account.reply_chars_per_s" => format!(
            "Jawaban dalam satu jam terakhir datang dengan kecepatan {} karakter per detik (manusia mengetik di bawah 10).",
            id.num(v)
        ),
        "account.template_share" => {
            format!("{pct} pesan bisnis dalam satu jam terakhir berupa template.")
        }
        "account.interactive_share" => {
            format!("{pct} pesan bisnis dalam satu jam terakhir berupa menu atau tombol.")
        }
        "account.button_reply_share" => {
            format!("{pct} pesan pengguna dalam satu jam terakhir berupa balasan tombol.")
        }
        other => format!(
            "{other} bernilai {} pada aktivitas terakhir akun.",
            id.num(v)
        ),
    }
}
