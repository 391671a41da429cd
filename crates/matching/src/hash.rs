//! The fixed, platform-independent hash (FNV-1a) of keys and tokens.

/// A fixed, platform-independent 64-bit hash (FNV-1a) used for keys and tokens.
pub fn hash_str(s: &str) -> u64 {
    hash_bytes(0xcbf2_9ce4_8422_2325, s.as_bytes())
}

/// Continues an FNV-1a hash over more bytes.
pub fn hash_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
