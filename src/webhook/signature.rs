//! `X-Hub-Signature-256`: the HMAC-SHA256 of the raw body under the app
//! secret, as `sha256=<64 hex digits>`, compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header Meta signs webhooks with.
pub const HEADER: &str = "x-hub-signature-256";

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header.
    #[error("no X-Hub-Signature-256 header")]
    Missing,
    /// Not `sha256=` and 64 hex digits.
    #[error("X-Hub-Signature-256 is not sha256=<64 hex digits>")]
    Malformed,
    /// Well-formed, but not the body's HMAC under this secret.
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut m = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    m.update(body);
    m.finalize().into_bytes().into()
}

/// The header value for `body` under `secret` (`sha256=<hex>`): for senders and tests.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in mac(secret, body) {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// The 32 bytes of a `sha256=<hex>` header value.
fn decode(header: &str) -> Result<[u8; 32], SignatureError> {
    let hex = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(SignatureError::Malformed),
    };
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Ok(out)
}

/// Checks `header` (the `X-Hub-Signature-256` value, if any) against the
/// HMAC-SHA256 of the raw `body` under `secret`, in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let got = decode(header.ok_or(SignatureError::Missing)?)?;
    let want = mac(secret, body);
    if bool::from(want.ct_eq(&got)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The index of the first secret `header` verifies `body` under.
pub fn find_signer<'a>(
    secrets: impl IntoIterator<Item = &'a [u8]>,
    body: &[u8],
    header: Option<&str>,
) -> Result<usize, SignatureError> {
    let got = decode(header.ok_or(SignatureError::Missing)?)?;
    // Every secret is tried, so the time taken does not say which one matched.
    let mut found = None;
    for (i, s) in secrets.into_iter().enumerate() {
        if bool::from(mac(s, body).ct_eq(&got)) && found.is_none() {
            found = Some(i);
        }
    }
    found.ok_or(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}"#;

    #[test]
    fn known_answer_rfc_4231_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn good_bad_missing_wrong_app_and_changed_whitespace() {
        let good = sign(b"secret-a", BODY);
        assert_eq!(verify(b"secret-a", BODY, Some(&good)), Ok(()));
        assert_eq!(
            verify(
                b"secret-a",
                BODY,
                Some(&good.to_uppercase().replace("SHA256=", "sha256="))
            ),
            Ok(()),
            "hex digits in either case"
        );
        let mut bad = good.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
        let bad = String::from_utf8(bad).expect("ascii");
        assert_eq!(
            verify(b"secret-a", BODY, Some(&bad)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret-a", BODY, None),
            Err(SignatureError::Missing)
        );
        for malformed in [
            "",
            "sha1=abc",
            "sha256=xyz",
            &good[..good.len() - 1],
            &good.replace("sha256=", ""),
        ] {
            assert_eq!(
                verify(b"secret-a", BODY, Some(malformed)),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
        assert_eq!(
            verify(b"secret-b", BODY, Some(&good)),
            Err(SignatureError::Mismatch),
            "another app's secret"
        );
        let reformatted = String::from_utf8(BODY.to_vec())
            .expect("utf-8")
            .replace(",", ", ");
        assert_eq!(
            verify(b"secret-a", reformatted.as_bytes(), Some(&good)),
            Err(SignatureError::Mismatch),
            "the same JSON with whitespace changed after signing"
        );
    }

    #[test]
    fn the_signer_is_found_among_several_apps() {
        let secrets: [&[u8]; 3] = [b"a", b"b", b"c"];
        assert_eq!(find_signer(secrets, BODY, Some(&sign(b"b", BODY))), Ok(1));
        assert_eq!(
            find_signer(secrets, BODY, Some(&sign(b"z", BODY))),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            find_signer(secrets, BODY, None),
            Err(SignatureError::Missing)
        );
    }
}
