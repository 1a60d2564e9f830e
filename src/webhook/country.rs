//! The end user's country: from the profile's `country_code` when the
//! webhook names it, else from the phone number's calling code (libphonenumber
//! metadata through the `phonenumber` crate), else from the ISO prefix of a
//! business-scoped user id (`US.13491208655302741918`).

use crate::event::Country;

/// The country of a phone number given as WhatsApp writes it (digits with the
/// calling code, no `+`); `None` when it does not parse or names no region.
pub fn from_phone(number: &str) -> Option<Country> {
    let digits = number.trim().trim_start_matches('+');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 17 {
        return None;
    }
    let mut e164 = String::with_capacity(digits.len() + 1);
    e164.push('+');
    e164.push_str(digits);
    let parsed = phonenumber::parse(None, &e164).ok()?;
    let id = parsed.country().id()?;
    Country::parse(id.as_ref()).filter(Country::is_known)
}

/// The country prefix of a business-scoped user id (`CC.digits` or
/// `CC.ENT.digits`); `None` for anything else.
pub fn from_bsuid(user_id: &str) -> Option<Country> {
    let (prefix, rest) = user_id.split_once('.')?;
    if prefix.len() != 2 || rest.is_empty() || !prefix.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Country::parse(prefix).filter(Country::is_known)
}

/// Whether `id` looks like a business-scoped user id rather than a phone number.
pub fn is_bsuid(id: &str) -> bool {
    from_bsuid(id).is_some()
}

/// The first of: an explicit code, the phone's calling code, the id's prefix.
pub fn resolve(explicit: &str, phone: &str, user_id: &str) -> Country {
    Country::parse(explicit.trim())
        .filter(Country::is_known)
        .or_else(|| from_phone(phone))
        .or_else(|| from_bsuid(user_id))
        .unwrap_or(Country::UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_codes_name_their_region() {
        let cases = [
            ("972987654321", Some("IL")),
            ("6281234567890", Some("ID")),
            ("+447400123456", Some("GB")),
            ("16505551234", Some("US")),
            ("5511987654321", Some("BR")),
            ("", None),
            ("PHONE_NUMBER", None),
            ("2", None),
        ];
        for (phone, want) in cases {
            assert_eq!(
                from_phone(phone).map(|c| c.as_str().to_string()).as_deref(),
                want,
                "{phone}"
            );
        }
    }

    #[test]
    fn bsuid_prefixes_and_precedence() {
        assert_eq!(
            from_bsuid("US.13491208655302741918")
                .map(|c| c.to_string())
                .as_deref(),
            Some("US")
        );
        assert_eq!(
            from_bsuid("US.ENT.11815799212886844830")
                .map(|c| c.to_string())
                .as_deref(),
            Some("US")
        );
        assert_eq!(from_bsuid("BSUID_123"), None);
        assert_eq!(from_bsuid("972987654321"), None);
        assert_eq!(resolve("in", "972987654321", "US.1").as_str(), "IN");
        assert_eq!(resolve("", "972987654321", "US.1").as_str(), "IL");
        assert_eq!(resolve("", "", "US.1").as_str(), "US");
        assert_eq!(resolve("", "", ""), Country::UNKNOWN);
    }
}
