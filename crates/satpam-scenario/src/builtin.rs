//! Built-in texts written for this project (not taken from any corpus).
//!
//! They keep the generator usable on a fresh clone without the shared
//! corpora, and they supply the texts no corpus has: interactive menus,
//! button replies, templates, handoff lines, deflections, self-descriptions
//! and the phrases used to synthesise long assistant answers.

/// Business user messages, English.
pub const BIZ_USER_EN: &[&str] = &[
    "Hi, where is my order? It was supposed to arrive yesterday.",
    "I want to cancel my order please",
    "How much is the delivery fee to Bandung?",
    "Can I change the delivery address for my last order?",
    "My package arrived damaged, what should I do?",
    "I was charged twice for the same purchase",
    "When will my refund be processed?",
    "Do you have this shoe in size 42?",
    "I'd like to book a table for 4 people tonight at 7",
    "Can I reschedule my appointment to Friday morning?",
    "What are your opening hours on Sunday?",
    "I forgot my password and can't log in",
    "How do I update the phone number on my account?",
    "Is the promo code still valid?",
    "The app says payment failed but money left my account",
    "Can I pay cash on delivery?",
    "I need an invoice for my last purchase",
    "What's the status of my return?",
    "Is there a branch near the city centre?",
    "How long does shipping to Surabaya take?",
    "I received the wrong item",
    "Can I upgrade my plan to the premium one?",
    "Please send me the tracking number",
    "Do you deliver on weekends?",
];

/// Business user messages, Indonesian.
pub const BIZ_USER_ID: &[&str] = &[
    "Halo kak, pesanan saya kok belum sampai ya?",
    "Saya mau batalin pesanan",
    "Ongkir ke Bandung berapa ya?",
    "Bisa ganti alamat pengiriman tidak?",
    "Barangnya datang dalam kondisi rusak, gimana ini?",
    "Saldo saya terpotong dua kali",
    "Refund saya kapan diproses?",
    "Masih ada stok ukuran 42 kak?",
    "Mau reservasi meja untuk 4 orang jam 7 malam",
    "Bisa ganti jadwal ke hari Jumat pagi?",
    "Hari Minggu buka jam berapa?",
    "Saya lupa kata sandi, tidak bisa masuk",
    "Kode promonya masih berlaku?",
    "Pembayaran gagal tapi saldo berkurang",
    "Bisa bayar di tempat (COD)?",
    "Minta nomor resinya dong",
];

/// Business bot replies, English.
pub const BIZ_BOT_EN: &[&str] = &[
    "Thanks for reaching out! Could you share your order number so I can check it for you?",
    "Your order is on its way and should arrive within 2 business days.",
    "I've cancelled your order. The refund will reach your account in 3-5 business days.",
    "Delivery to that area costs 15,000 and takes 2-3 days.",
    "Sorry to hear that! Please send a photo of the item and we'll arrange a replacement.",
    "I can see a duplicate charge. It has been reversed and will show up within 3 days.",
    "Your refund was approved and is being processed.",
    "That size is in stock. Would you like me to reserve one for you?",
    "Your table for 4 is booked for 7 pm tonight. See you then!",
    "Your appointment has been moved to Friday at 9:00.",
    "We're open from 10:00 to 21:00 every day, including Sunday.",
    "You can reset your password from the login screen by tapping 'Forgot password'.",
    "The promo code is valid until the end of the month on orders above 100,000.",
    "Yes, cash on delivery is available in most cities.",
    "I've sent the invoice to the e-mail address on your account.",
    "Your return has been received at our warehouse and is being checked.",
    "Here is your tracking number. You can follow the parcel in the app.",
    "We deliver every day, including weekends.",
];

/// Business bot replies, Indonesian.
pub const BIZ_BOT_ID: &[&str] = &[
    "Terima kasih sudah menghubungi kami! Boleh dibantu nomor pesanannya, kak?",
    "Pesanan kakak sedang dalam perjalanan dan diperkirakan tiba dalam 2 hari kerja.",
    "Pesanan sudah kami batalkan. Dana akan kembali dalam 3-5 hari kerja.",
    "Ongkir ke area tersebut 15.000 dengan estimasi 2-3 hari.",
    "Mohon maaf atas ketidaknyamanannya. Silakan kirim foto barangnya, kami bantu proses penggantian.",
    "Potongan ganda sudah kami kembalikan, mohon cek saldo dalam 3 hari.",
    "Refund kakak sudah disetujui dan sedang diproses.",
    "Ukuran tersebut masih tersedia. Mau kami simpankan satu?",
    "Reservasi untuk 4 orang jam 7 malam sudah tercatat. Sampai jumpa!",
    "Jadwal kakak sudah dipindah ke hari Jumat jam 09.00.",
    "Kami buka setiap hari pukul 10.00-21.00, termasuk hari Minggu.",
    "Kata sandi bisa diatur ulang lewat tombol 'Lupa kata sandi' di halaman masuk.",
    "Kode promo berlaku sampai akhir bulan untuk belanja minimal 100.000.",
    "Bisa kak, pembayaran COD tersedia di sebagian besar kota.",
    "Berikut nomor resinya, kakak bisa lacak paketnya di aplikasi.",
];

/// Short human-agent replies, English.
pub const AGENT_EN: &[&str] = &[
    "Hi, this is Maya from the support team. Let me check that for you.",
    "Thanks for waiting. I've fixed it on our side.",
    "Got it, one moment please.",
    "I've escalated this to our logistics team, you'll hear back today.",
    "Could you confirm the name on the order?",
    "Done! Anything else I can help with?",
    "Sorry about the trouble. I've issued a voucher to your account.",
    "Yes, that works. I've updated it.",
    "I'll call the courier and get back to you shortly.",
    "Thanks, have a nice day!",
];

/// Short human-agent replies, Indonesian.
pub const AGENT_ID: &[&str] = &[
    "Halo kak, dengan Rina dari tim CS. Saya cek dulu ya.",
    "Terima kasih sudah menunggu, sudah kami perbaiki.",
    "Baik kak, mohon ditunggu sebentar.",
    "Sudah kami teruskan ke tim ekspedisi, kabar menyusul hari ini.",
    "Boleh konfirmasi nama pemesannya kak?",
    "Sudah beres ya kak. Ada lagi yang bisa dibantu?",
    "Mohon maaf atas kendalanya, voucher sudah kami kirim ke akun kakak.",
    "Siap kak, sudah kami ubah.",
    "Terima kasih kak, selamat beraktivitas!",
];

/// Open-domain assistant prompts, English.
pub const ASSIST_EN: &[&str] = &[
    "Write a cover letter for a junior data analyst position",
    "Explain quantum entanglement like I'm 12",
    "Summarise the causes of the First World War in five bullet points",
    "Translate this paragraph into Spanish: we are happy to welcome you to our new office",
    "Write a Python function that checks whether a string is a palindrome",
    "Solve for x: 3x + 7 = 22, and show the steps",
    "Give me a 7-day vegetarian meal plan",
    "Write a short poem about the rain in the city",
    "What is the difference between TCP and UDP?",
    "Help me write a wedding speech for my best friend",
    "Explain how compound interest works with an example",
    "Write a SQL query that returns the top 5 customers by revenue",
    "Create a study plan for learning Japanese in 6 months",
    "What are the pros and cons of nuclear energy?",
    "Rewrite this email so it sounds more polite",
    "Write a bedtime story about a dragon who is afraid of the dark",
    "How do I centre a div in CSS?",
];

/// Open-domain assistant prompts, Indonesian.
pub const ASSIST_ID: &[&str] = &[
    "Buatkan surat lamaran kerja untuk posisi admin",
    "Jelaskan apa itu inflasi dengan bahasa sederhana",
    "Ringkas sejarah Sumpah Pemuda dalam 5 poin",
    "Terjemahkan ke bahasa Inggris: saya sedang belajar memasak",
    "Buatkan kode Python untuk menghitung faktorial",
    "Jelaskan cara kerja fotosintesis",
    "Buatkan puisi tentang ibu",
    "Berapa hasil integral dari 2x dx? Jelaskan langkahnya",
    "Buatkan caption Instagram untuk jualan kue",
    "Jelaskan perbedaan virus dan bakteri",
    "Ringkas isi novel Laskar Pelangi",
    "Buatkan rencana belajar untuk UTBK dalam 3 bulan",
    "Tuliskan cerita pendek tentang persahabatan",
];

/// Off-topic messages a business bot receives, English.
pub const OFFTOPIC_EN: &[&str] = &[
    "what's the weather like tomorrow",
    "tell me a joke",
    "who won the football match last night",
    "what is the capital of Australia",
    "can you recommend a good movie",
    "how old are you",
    "set a reminder for 6 am",
    "what's the meaning of life",
    "do you like music",
    "how many calories are in a banana",
];

/// Off-topic messages a business bot receives, Indonesian.
pub const OFFTOPIC_ID: &[&str] = &[
    "besok cuaca gimana ya",
    "ceritain lelucon dong",
    "kamu umur berapa",
    "rekomendasi film bagus apa",
    "ibu kota Australia apa",
];

/// Deflection lines for off-topic questions, English.
pub const DEFLECT_EN: &[&str] = &[
    "Sorry, I can only help with questions about your orders.",
    "I'm afraid that's outside what I can help with. Is there anything about your order or account?",
    "Sorry, I can only answer questions about our products and services.",
    "I can't help with that here, but I'm happy to help with deliveries, payments or returns.",
];

/// Deflection lines for off-topic questions, Indonesian.
pub const DEFLECT_ID: &[&str] = &[
    "Maaf, saya hanya bisa membantu pertanyaan seputar pesanan kakak.",
    "Mohon maaf, pertanyaan tersebut di luar layanan kami. Ada yang bisa dibantu soal pesanan atau akun?",
    "Maaf kak, saya hanya bisa menjawab seputar produk dan layanan kami.",
];

/// Handoff lines (bot passes the chat to a person), English.
pub const HANDOFF_EN: &[&str] = &[
    "Let me connect you with one of our team members.",
    "I'm transferring you to a human agent, please hold on.",
    "An agent will join this chat shortly.",
];

/// Handoff lines, Indonesian.
pub const HANDOFF_ID: &[&str] = &[
    "Kami sambungkan ke petugas CS ya, mohon ditunggu.",
    "Percakapan ini akan dilanjutkan oleh agen kami.",
];

/// Interactive menu bodies, English.
pub const MENU_EN: &[&str] = &[
    "How can we help you today? Choose an option: Track order / Returns / Talk to us",
    "Welcome! Pick a topic: Orders, Payments, Account, Other",
    "Main menu: 1 New booking 2 My bookings 3 Help",
];

/// Interactive menu bodies, Indonesian.
pub const MENU_ID: &[&str] = &[
    "Ada yang bisa kami bantu? Pilih: Lacak pesanan / Pengembalian / Hubungi kami",
    "Selamat datang! Pilih topik: Pesanan, Pembayaran, Akun, Lainnya",
];

/// Button reply labels, English.
pub const BUTTON_EN: &[&str] = &[
    "Track order",
    "Returns",
    "Talk to us",
    "Orders",
    "Payments",
    "Other",
    "My bookings",
    "Help",
];

/// Button reply labels, Indonesian.
pub const BUTTON_ID: &[&str] = &[
    "Lacak pesanan",
    "Pengembalian",
    "Hubungi kami",
    "Pesanan",
    "Pembayaran",
    "Lainnya",
];

/// Utility templates, English.
pub const TPL_UTILITY_EN: &[&str] = &[
    "Your order 40213 has been shipped and should arrive in 2-3 business days.",
    "Your order 77120 has been delivered. Thank you for shopping with us!",
    "Reminder: your appointment is tomorrow at 10:00. Reply to reschedule.",
    "Your payment of 250,000 was received. Invoice 5531 is attached in the app.",
    "Your booking 8HX2Q is confirmed for Saturday, 2 guests.",
];

/// Utility templates, Indonesian.
pub const TPL_UTILITY_ID: &[&str] = &[
    "Pesanan 40213 sudah dikirim, estimasi tiba 2-3 hari kerja.",
    "Pesanan 77120 sudah diterima. Terima kasih sudah berbelanja!",
    "Pengingat: jadwal kakak besok pukul 10.00. Balas untuk ganti jadwal.",
    "Pembayaran 250.000 sudah kami terima. Invoice tersedia di aplikasi.",
];

/// Marketing templates, English.
pub const TPL_MARKETING_EN: &[&str] = &[
    "Weekend sale! 30% off all shoes until Sunday. Shop now in the app.",
    "New arrivals are here. Use code NEW10 for 10% off your next order.",
    "We miss you! Here's free delivery on your next purchase.",
];

/// Marketing templates, Indonesian.
pub const TPL_MARKETING_ID: &[&str] = &[
    "Promo akhir pekan! Diskon 30% semua sepatu sampai Minggu.",
    "Produk baru sudah datang. Pakai kode BARU10 untuk diskon 10%.",
    "Gratis ongkir untuk belanja berikutnya, khusus buat kakak!",
];

/// Authentication templates, English.
pub const TPL_AUTH_EN: &[&str] = &[
    "482913 is your verification code. Do not share it with anyone.",
    "Your login code is 105577. It expires in 10 minutes.",
    "Use 930214 to verify your phone number.",
];

/// Authentication templates, Indonesian.
pub const TPL_AUTH_ID: &[&str] = &[
    "482913 adalah kode verifikasi kakak. Jangan berikan kepada siapa pun.",
    "Kode masuk kakak 105577, berlaku 10 menit.",
];

/// Brand names used in self-descriptions (invented).
pub const BRANDS: &[&str] = &[
    "Tokoku",
    "Kopi Senja",
    "Nusa Travel",
    "Sepatu Lari",
    "Casa Bella",
    "Rapid Parcel",
    "Bank Mawar",
    "Glow Skin",
    "Pizzeria Sole",
    "FitZone",
    "Rumah Sehat",
    "Urban Cart",
];

/// Self-description templates with `{brand}`, English.
pub const GREET_EN: &[&str] = &[
    "Hi! I'm the virtual assistant of {brand}. How can I help you today?",
    "Hello, I'm {brand}'s AI assistant. I can help with orders, payments and returns.",
    "Welcome to {brand}! I'm an automated assistant; type 'agent' at any time to talk to a person.",
];

/// Self-description templates with `{brand}`, Indonesian.
pub const GREET_ID: &[&str] = &[
    "Halo! Saya asisten virtual {brand}. Ada yang bisa dibantu?",
    "Hai kak, saya asisten AI dari {brand}. Saya bisa bantu soal pesanan, pembayaran dan pengembalian.",
    "Selamat datang di {brand}! Saya asisten otomatis; ketik 'agen' untuk bicara dengan petugas.",
];

/// Answer synthesis: opening lines, English.
pub const SYN_INTRO_EN: &[&str] = &[
    "Sure! Here's a clear, step-by-step answer to your question.",
    "Great question. Let's break it down into a few parts.",
    "Absolutely, here is a detailed overview you can use right away.",
    "Of course! Below is a structured explanation with the key points.",
    "Happy to help. Here's what you need to know.",
];

/// Answer synthesis: body points, English.
pub const SYN_POINT_EN: &[&str] = &[
    "**Start with the basics.** Make sure the core idea is clear before adding details; a short definition helps anchor everything that follows.",
    "**Break the problem down.** Split the task into smaller steps and solve each one separately, checking the result as you go.",
    "**Consider the context.** The best approach depends on your goal, your audience and the constraints you are working with.",
    "**Use a concrete example.** Applying the idea to a simple case makes it much easier to see how the pieces fit together.",
    "**Watch out for common mistakes.** Many people skip the validation step, which leads to subtle errors later on.",
    "**Keep it concise.** Remove anything that does not support the main message, and prefer short sentences.",
    "**Compare the alternatives.** Each option has trade-offs in cost, speed and complexity; weigh them against what matters most to you.",
    "**Check your assumptions.** Write down what you are taking for granted and verify the ones that carry the most risk.",
    "**Iterate.** A first draft rarely is the final one; review it, gather feedback and refine it in small rounds.",
    "**Document the result.** A brief summary of what you did and why will save time when you revisit it.",
    "**Think about edge cases.** Empty inputs, very large values and unexpected formats are where most problems appear.",
    "**Measure progress.** Pick one or two simple indicators so you can tell whether the change is actually helping.",
];

/// Answer synthesis: code blocks (generic), shared by all languages.
pub const SYN_CODE: &[&str] = &[
    "```python\ndef solve(items):\n    result = []\n    for item in items:\n        if item is not None:\n            result.append(item)\n    return result\n```",
    "```javascript\nfunction groupBy(list, key) {\n  return list.reduce((acc, x) => {\n    (acc[x[key]] ||= []).push(x);\n    return acc;\n  }, {});\n}\n```",
    "```sql\nSELECT customer_id, SUM(amount) AS total\nFROM orders\nGROUP BY customer_id\nORDER BY total DESC\nLIMIT 5;\n```",
    "```rust\nfn mean(xs: &[f64]) -> Option<f64> {\n    if xs.is_empty() { return None; }\n    Some(xs.iter().sum::<f64>() / xs.len() as f64)\n}\n```",
];

/// Answer synthesis: closing lines, English.
pub const SYN_CLOSE_EN: &[&str] = &[
    "Let me know if you'd like me to expand on any of these points!",
    "I hope this helps. Want me to tailor it further to your situation?",
    "If you share more details, I can refine this answer for you.",
    "Feel free to ask follow-up questions anytime.",
];

/// Answer synthesis: opening lines, Indonesian.
pub const SYN_INTRO_ID: &[&str] = &[
    "Tentu! Berikut penjelasan lengkapnya langkah demi langkah.",
    "Pertanyaan yang bagus. Mari kita bahas satu per satu.",
    "Baik, ini ringkasan yang bisa langsung kamu gunakan.",
    "Siap! Berikut penjelasan terstruktur dengan poin-poin pentingnya.",
];

/// Answer synthesis: body points, Indonesian.
pub const SYN_POINT_ID: &[&str] = &[
    "**Pahami dasarnya dulu.** Pastikan konsep utamanya jelas sebelum masuk ke detail; definisi singkat akan sangat membantu.",
    "**Pecah menjadi langkah kecil.** Kerjakan satu bagian dalam satu waktu dan periksa hasilnya sebelum lanjut.",
    "**Perhatikan konteksnya.** Cara terbaik tergantung pada tujuan, pembaca dan batasan yang kamu punya.",
    "**Gunakan contoh nyata.** Menerapkan ide pada kasus sederhana membuat hubungan antarbagian lebih mudah dipahami.",
    "**Hindari kesalahan umum.** Banyak orang melewatkan tahap pengecekan sehingga muncul kesalahan kecil di akhir.",
    "**Buat ringkas.** Hapus bagian yang tidak mendukung pesan utama dan gunakan kalimat pendek.",
    "**Bandingkan pilihan.** Setiap pilihan punya kelebihan dan kekurangan dari sisi biaya, waktu dan kerumitan.",
    "**Ulangi dan perbaiki.** Draf pertama jarang langsung sempurna; minta masukan lalu perbaiki sedikit demi sedikit.",
    "**Catat hasilnya.** Ringkasan singkat tentang apa yang dilakukan dan alasannya akan menghemat waktu nanti.",
];

/// Answer synthesis: closing lines, Indonesian.
pub const SYN_CLOSE_ID: &[&str] = &[
    "Kalau ada bagian yang ingin diperdalam, kabari saja ya!",
    "Semoga membantu. Mau saya sesuaikan dengan kebutuhanmu?",
    "Silakan tanya lagi kalau masih ada yang kurang jelas.",
];

/// Answer synthesis: sub-point elaborations, English.
pub const SYN_DETAIL_EN: &[&str] = &[
    "For example, try it first on a small sample and compare the result with what you expected.",
    "A useful rule of thumb is to spend more time on the part that is hardest to undo later.",
    "If you are unsure, write the simplest version first and improve it once it works.",
    "This also makes it easier to explain your reasoning to someone else.",
    "Keep a short checklist so you do not forget this step next time.",
    "In practice, this usually saves more time than it costs.",
    "You can adjust the level of detail depending on who will read or use the result.",
    "Note that the exact numbers will vary, so treat them as a starting point rather than a rule.",
];

/// Answer synthesis: sub-point elaborations, Indonesian.
pub const SYN_DETAIL_ID: &[&str] = &[
    "Misalnya, coba dulu pada contoh kecil lalu bandingkan hasilnya dengan yang kamu harapkan.",
    "Kalau ragu, buat versi paling sederhana dulu lalu kembangkan setelah berhasil.",
    "Cara ini juga memudahkan kamu menjelaskan alasannya kepada orang lain.",
    "Buat daftar periksa singkat supaya langkah ini tidak terlewat lain kali.",
    "Dalam praktiknya, langkah ini biasanya lebih banyak menghemat waktu daripada menghabiskannya.",
    "Angka pastinya bisa berbeda, jadi anggap saja sebagai titik awal.",
];
