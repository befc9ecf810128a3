//! API keys: made from the OS random source, stored only as a SHA-256 hash, compared in
//! constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every key starts with this, so it is recognisable in a config file or a leak scan.
pub const KEY_PREFIX: &str = "uc_";

/// How many characters of a key are kept to tell keys apart in `keys list`.
pub const DISPLAY_PREFIX_LEN: usize = 11;

/// A new random key: `uc_` and 48 hex digits (192 bits).
pub fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", hex(&bytes)))
}

/// The hash stored for a key.
pub fn hash(key: &str) -> String {
    hex(&Sha256::digest(key.trim().as_bytes()))
}

/// The part of a key shown in listings.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(DISPLAY_PREFIX_LEN).collect()
}

/// Whether a presented key matches a stored hash, without leaking where they differ.
pub fn matches(key: &str, stored_hash: &str) -> bool {
    hash(key).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// Who was given the key: the message says where a new one goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHolder {
    /// `usercom ingest` (--api-key or USERCOM_API_KEY).
    Cli,
    /// A client of `usercom serve`.
    Server,
}

/// Why a key is refused: revoked (its id), or unknown (None). One wording for every
/// front-end.
pub fn refusal(revoked: Option<i64>, holder: KeyHolder) -> String {
    let (pass_it, database) = match holder {
        KeyHolder::Cli => (" and pass it with --api-key or USERCOM_API_KEY", "--db"),
        KeyHolder::Server => ("", "the server's --db"),
    };
    match revoked {
        Some(id) => format!(
            "API key {id} was revoked: create a new one with `usercom keys create`{pass_it}"
        ),
        None => format!(
            "unknown API key: create one with `usercom keys create`{pass_it} (keys belong to \
             one database: check {database})"
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + 48);
        let h = hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a[KEY_PREFIX.len()..]));
        assert!(matches(&a, &h));
        assert!(!matches(&b, &h));
        assert_eq!(display_prefix(&a).len(), DISPLAY_PREFIX_LEN);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let revoked = refusal(Some(3), KeyHolder::Server);
        assert_eq!(
            revoked,
            "API key 3 was revoked: create a new one with `usercom keys create`"
        );
        let unknown = refusal(None, KeyHolder::Cli);
        assert!(unknown.starts_with(
            "unknown API key: create one with `usercom keys create` and pass it with --api-key"
        ));
        assert!(unknown.ends_with("check --db)"));
        assert!(refusal(None, KeyHolder::Server).ends_with("check the server's --db)"));
    }
}
