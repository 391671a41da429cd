//! Small helpers on bytes and text that several modules share: hex, SHA-256, random
//! bytes and cutting a text on a character boundary. Nothing here touches the database.

use sha2::{Digest, Sha256};

use crate::StoreError;

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| StoreError::Invalid(format!("no randomness from the OS: {e}")))?;
    Ok(buf)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of a text.
pub fn sha256(text: &[u8]) -> Vec<u8> {
    Sha256::digest(text).to_vec()
}

/// Cuts a text to at most `max` bytes on a character boundary.
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
