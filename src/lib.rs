//! satpam: keeps general-purpose AI assistants off the WhatsApp Business Platform.
pub mod pb;
pub mod scenario;
