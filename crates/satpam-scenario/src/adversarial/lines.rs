//! Built-in lines of the adversarial family, written for it (no corpus has
//! them): session openers of disguised assistants, campaign, shipping and
//! booking templates, chatty consumer-assistant replies, FAQ-answer
//! prefaces and closings, and the link parts of cited answers. `{brand}` is
//! filled with one of [`BRANDS`].

/// Invented brand names, none shared with the baseline family's.
pub(crate) const BRANDS: &[&str] = &[
    "Kopi Senja",
    "Mercado Lindo",
    "Lagos Fresh",
    "Nairobi Rides",
    "Saigon Threads",
    "Pune Pharma",
    "Rio Casa",
    "Warung Bu Tini",
    "Cairo Tours",
    "Manila Mart",
];

/// Openers of a template-opener (English): shaped like a business's welcome.
pub(crate) const OPENER_EN: &[&str] = &[
    "Welcome to {brand} Help Center! Reply 1 for orders, 2 for your account, 3 for anything else.",
    "Hi! Thanks for contacting {brand}. How can we help you today? Choose an option below.",
    "Hello from {brand} customer care. Our assistant is ready: type your question.",
    "{brand}: your session has started. Reply MENU at any time to see our services.",
    "Good day! This is {brand} support. Please tell us what you need and we will get back to you right away.",
];

/// Openers of a template-opener (Indonesian).
pub(crate) const OPENER_ID: &[&str] = &[
    "Selamat datang di layanan pelanggan {brand}! Balas 1 untuk pesanan, 2 untuk akun, 3 untuk lainnya.",
    "Halo! Terima kasih telah menghubungi {brand}. Silakan pilih menu di bawah ini.",
    "{brand}: sesi Anda sudah dimulai. Ketik pertanyaan Anda, kami siap membantu.",
];

/// A user's greeting that opens a session (English).
pub(crate) const HELLO_EN: &[&str] = &[
    "Hi",
    "Hello",
    "hi there",
    "Hey",
    "Good morning",
    "hello?",
    "Hi, I have a question",
];

/// A user's greeting that opens a session (Indonesian).
pub(crate) const HELLO_ID: &[&str] = &[
    "Halo",
    "Halo kak",
    "Permisi",
    "Selamat pagi",
    "Hai min",
    "Assalamualaikum",
];

/// Marketing campaign templates (English).
pub(crate) const CAMPAIGN_EN: &[&str] = &[
    "Flash sale at {brand}! 30% off everything until midnight. Tap to shop now. Reply STOP to opt out.",
    "{brand} weekend deals are here: buy 2, get 1 free on selected items. Reply STOP to unsubscribe.",
    "New arrivals at {brand}! Be the first to see our latest collection. Reply STOP to opt out.",
    "Hi! Your {brand} loyalty points expire soon. Use them before Sunday for a free gift.",
    "Payday promo at {brand}: free delivery on orders over 20. Offer ends tonight.",
];

/// Marketing campaign templates (Indonesian).
pub(crate) const CAMPAIGN_ID: &[&str] = &[
    "Promo kilat di {brand}! Diskon 30% untuk semua produk sampai tengah malam. Balas STOP untuk berhenti.",
    "Gratis ongkir di {brand} untuk belanja minimal 100 ribu. Promo berakhir hari ini!",
    "Koleksi terbaru {brand} sudah tersedia. Yuk cek sekarang sebelum kehabisan!",
];

/// Shipping and order updates (English).
pub(crate) const SHIPPING_EN: &[&str] = &[
    "Your {brand} order has been shipped. Track it with the link in your account. Estimated delivery: 2-3 days.",
    "Good news! Your {brand} order is out for delivery today.",
    "Your {brand} order was delivered. Thank you for shopping with us!",
    "We received your payment for your {brand} order. We will let you know when it ships.",
    "Your {brand} parcel is waiting at the pickup point. It will be held for 5 days.",
];

/// Shipping and order updates (Indonesian).
pub(crate) const SHIPPING_ID: &[&str] = &[
    "Pesanan {brand} Anda sudah dikirim. Nomor resi ada di akun Anda. Estimasi tiba 2-3 hari.",
    "Pembayaran untuk pesanan {brand} Anda sudah kami terima. Terima kasih!",
    "Pesanan {brand} Anda sedang diantar kurir hari ini.",
    "Stok produk yang Anda tanyakan di {brand} sudah tersedia kembali. Ongkir ke kota Anda mulai 9 ribu.",
    "Keranjang belanja Anda di {brand} masih menunggu. Selesaikan pesanan sebelum promo berakhir!",
];

/// Booking confirmations and reminders (English).
pub(crate) const BOOKING_EN: &[&str] = &[
    "Your booking with {brand} is confirmed. Reference number: see your account. Reply CHANGE to modify it.",
    "Reminder from {brand}: your reservation is tomorrow. Reply C to confirm or X to cancel.",
    "Your {brand} trip details have been updated. Check-in opens 24 hours before departure.",
    "Thank you for booking with {brand}. Your e-ticket is attached to your account.",
];

/// Booking confirmations and reminders (Indonesian).
pub(crate) const BOOKING_ID: &[&str] = &[
    "Pemesanan Anda di {brand} sudah dikonfirmasi. Balas UBAH untuk mengganti jadwal.",
    "Pengingat dari {brand}: reservasi Anda besok. Balas Y untuk konfirmasi.",
];

/// Short chatty replies of a consumer assistant (English).
pub(crate) const CHATTY_EN: &[&str] = &[
    "Sure! Done. Anything else you want me to remember for today?",
    "Haha, good one! Here's another: why did the scarecrow win an award? Because he was outstanding in his field.",
    "Got it, I'll remind you at 7 tomorrow morning. Sleep well!",
    "Good morning! It's a sunny day, 27 degrees, light wind in the afternoon. Don't forget water if you go out.",
    "Here you go: 250 g flour, 2 eggs, 300 ml milk, a pinch of salt. Whisk, rest 20 minutes, then fry thin. Enjoy!",
    "I translated it for you: 'Where is the nearest pharmacy?' Want me to say it slower in a voice note?",
    "That sounds stressful. Want to talk about it, or should I suggest a 5-minute breathing exercise?",
    "Your shopping list: milk, bread, tomatoes, rice, coffee. I added eggs like you asked yesterday.",
    "Happy birthday to your sister! Here's a short message you can send her, warm and a little funny.",
    "The match ended 2-1, the winning goal came in the 88th minute. Want the highlights summary?",
    "Okay! 15 minutes timer started. I'll ping you when it's done.",
    "I'm always here, day or night. What's on your mind?",
];

/// Short chatty replies of a consumer assistant (Indonesian).
pub(crate) const CHATTY_ID: &[&str] = &[
    "Siap! Sudah aku catat. Ada lagi yang mau diingatkan hari ini?",
    "Selamat pagi! Cuaca cerah, 31 derajat, kemungkinan hujan sore hari. Jangan lupa bawa payung ya.",
    "Ini resepnya: nasi, bawang merah, bawang putih, kecap, telur. Tumis bumbu, masukkan nasi, aduk rata. Selamat mencoba!",
    "Sudah aku terjemahkan: 'Di mana apotek terdekat?' Mau aku kirim versi voice note?",
    "Haha, lucu banget! Mau aku ceritakan satu lagi?",
    "Oke, timer 10 menit sudah jalan. Nanti aku kabari ya.",
    "Aku selalu ada kok, siang atau malam. Lagi mikirin apa?",
];

/// Opening sentences of LLM-written FAQ answers (English).
pub(crate) const FAQ_PREFACE_EN: &[&str] = &[
    "Thanks for reaching out to {brand}! I'd be happy to help with that.",
    "Great question! Here is everything you need to know, step by step.",
    "I understand, and I'm sorry for the trouble. Let me walk you through it.",
    "Of course! At {brand} we want this to be as easy as possible for you.",
];

/// Closing sentences of LLM-written FAQ answers, with the way to a person (English).
pub(crate) const FAQ_CLOSE_EN: &[&str] = &[
    "Is there anything else I can help you with? Type AGENT at any time to talk to a member of our team.",
    "I hope this helps! If it doesn't, reply HUMAN and a colleague will take over.",
    "Let me know if you need more details about your order or account.",
];

/// Opening sentences of LLM-written FAQ answers (Indonesian).
pub(crate) const FAQ_PREFACE_ID: &[&str] = &[
    "Terima kasih sudah menghubungi {brand}! Dengan senang hati kami bantu.",
    "Pertanyaan yang bagus! Berikut penjelasan lengkapnya.",
    "Mohon maaf atas ketidaknyamanannya. Berikut langkah-langkahnya.",
];

/// Closing sentences of LLM-written FAQ answers (Indonesian).
pub(crate) const FAQ_CLOSE_ID: &[&str] = &[
    "Ada lagi yang bisa kami bantu? Ketik CS untuk bicara dengan tim kami.",
    "Semoga membantu! Balas AGEN jika ingin dibantu langsung oleh tim kami.",
];

/// Source sites of cited answers.
pub(crate) const CITE_SITES: &[&str] = &[
    "en.wikipedia.org/wiki",
    "www.britannica.com/topic",
    "www.nature.com/articles",
    "www.reuters.com/world",
    "www.bbc.com/news",
    "www.healthline.com/nutrition",
    "stackoverflow.com/questions",
    "www.investopedia.com/terms",
    "www.nationalgeographic.com/science",
    "arxiv.org/abs",
    "www.nytimes.com/2026",
    "developer.mozilla.org/en-US/docs",
];

/// Words for the path of a cited link.
pub(crate) const CITE_WORDS: &[&str] = &[
    "history",
    "climate",
    "protein",
    "economy",
    "python",
    "energy",
    "travel",
    "vitamin",
    "election",
    "ocean",
    "guide",
    "overview",
    "analysis",
    "explained",
    "market",
    "health",
];

/// Headings of the sources block of a cited answer.
pub(crate) const CITE_HEAD: &[&str] = &["Sources:", "References:", "Sumber:"];
