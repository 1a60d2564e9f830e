//! The key of an account's record in the fleet's one-partition tables (the
//! overrides and actions topics): tenant, the unit separator, account.
//! Ids refuse control characters at the edge (`crate::convert`), so the
//! key splits back unambiguously.

/// The separator between tenant and account.
const SEPARATOR: char = '\u{1f}';

/// The key of `account_id` of `tenant_id`.
pub fn account_key(tenant_id: &str, account_id: &str) -> String {
    let mut k = String::with_capacity(tenant_id.len() + 1 + account_id.len());
    k.push_str(tenant_id);
    k.push(SEPARATOR);
    k.push_str(account_id);
    k
}

/// Tenant and account back from a key; None when the key has no separator.
pub fn split_account_key(key: &str) -> Option<(&str, &str)> {
    key.split_once(SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_tenant_unit_separator_account_and_splits_back() {
        // Pinned: records already on the overrides topic use this key.
        assert_eq!(account_key("bsp-1", "6281"), "bsp-1\u{1f}6281");
        assert_eq!(
            split_account_key("bsp-1\u{1f}6281"),
            Some(("bsp-1", "6281"))
        );
        assert_eq!(split_account_key("\u{1f}"), Some(("", "")));
        assert_eq!(split_account_key("no-separator"), None);
    }
}
