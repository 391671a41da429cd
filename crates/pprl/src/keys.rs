//! The shared secret and the keys derived from it.
//!
//! Every party of a linkage holds the same 32-byte [`Secret`], agreed out of band (the
//! linkage unit never sees it). Nothing is ever keyed with the secret directly: each use
//! gets its own 32-byte key derived by HKDF-SHA256 (RFC 5869) with a domain-separated label
//! ([`Purpose`]), so that, for instance, the HMAC tokens of e-mail addresses and the Bloom
//! filter hashing of given names are unrelated functions even though they come from one
//! secret, and learning one derived key reveals nothing about the others.
//!
//! ```
//! use spirit_pprl::keys::{Purpose, Secret};
//! let secret = Secret::generate().unwrap();
//! let text = secret.to_hex();
//! let again = Secret::parse(&text).unwrap();
//! assert_eq!(secret.derive(Purpose::Blip), again.derive(Purpose::Blip));
//! assert_ne!(secret.derive(Purpose::Blip), secret.derive(Purpose::KeyCheck));
//! ```

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use sha2::Sha256;
use spirit_model::AttrKind;

use crate::error::{PprlError, Result};

/// Length of the shared secret and of every derived key, in bytes.
pub const KEY_LEN: usize = 32;

/// The HKDF salt: fixed and public, it only separates SPIRIT's derivations from any other
/// use of the same secret.
const HKDF_SALT: &[u8] = b"spirit-pprl/v1/hkdf-salt";

/// A 32-byte shared secret. `Debug` never shows it; the bytes are overwritten when the
/// value is dropped (best effort: copies the compiler made are not tracked).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; KEY_LEN]);

/// A 32-byte key derived from a [`Secret`] for one [`Purpose`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DerivedKey(pub(crate) [u8; KEY_LEN]);

/// What a derived key is for. Each purpose has its own HKDF label, so keys of different
/// purposes (or of different fields) are independent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Hashing the q-grams of schema field `field` (its position in the schema) of `kind`
    /// into Bloom-filter positions.
    FieldHash {
        /// Position of the field in the schema.
        field: usize,
        /// The field's attribute kind.
        kind: AttrKind,
    },
    /// HMAC tokens of exact identifiers of one kind.
    Token(AttrKind),
    /// The permutation of the balanced filter of one segment.
    Balance {
        /// Segment number (0 for a record-level CLK, the field position for field-level).
        segment: usize,
    },
    /// The taps of the diffusion layer of one segment.
    Diffusion {
        /// Segment number.
        segment: usize,
    },
    /// The pseudo-random bit flips of BLIP (randomised response).
    Blip,
    /// The public key-check value that lets parties confirm they share a secret.
    KeyCheck,
    /// The key payment cards are hashed under before encoding
    /// (`spirit_matching::PrepareOptions::card_key`): both parties hash alike, and no one
    /// without the secret can hash a guessed card number to compare.
    CardKey,
}

impl Purpose {
    /// The HKDF `info` label of this purpose (`spirit-pprl/v1/...`).
    pub fn label(&self) -> String {
        match self {
            Purpose::FieldHash { field, kind } => {
                format!("spirit-pprl/v1/field-hash/{field}/{}", kind.name())
            }
            Purpose::Token(kind) => format!("spirit-pprl/v1/token/{}", kind.name()),
            Purpose::Balance { segment } => format!("spirit-pprl/v1/balance/{segment}"),
            Purpose::Diffusion { segment } => format!("spirit-pprl/v1/diffusion/{segment}"),
            Purpose::Blip => "spirit-pprl/v1/blip".to_owned(),
            Purpose::KeyCheck => "spirit-pprl/v1/key-check".to_owned(),
            Purpose::CardKey => "spirit-pprl/v1/card-key".to_owned(),
        }
    }
}

impl Secret {
    /// A new secret from the operating system's random number generator.
    pub fn generate() -> Result<Secret> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(|e| PprlError::Randomness(e.to_string()))?;
        Ok(Secret(bytes))
    }

    /// A secret from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Secret {
        Secret(bytes)
    }

    /// The raw bytes. Prefer [`Secret::derive`]: the raw secret should key nothing.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Lower-case hexadecimal (64 characters), the form `spirit pprl keygen` prints.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Standard base64 with padding (44 characters).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Reads a secret written as 64 hexadecimal digits or as base64 of 32 bytes (padded or
    /// not, standard or URL-safe alphabet). Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Secret> {
        let t = text.trim();
        if t.len() == 2 * KEY_LEN && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut out = [0u8; KEY_LEN];
            for (i, pair) in t.as_bytes().chunks_exact(2).enumerate() {
                out[i] = (hex_digit(pair[0]) << 4) | hex_digit(pair[1]);
            }
            return Ok(Secret(out));
        }
        let normalised: String = t
            .trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(normalised.as_bytes())
            .map_err(|_| {
                PprlError::InvalidSecret(format!(
                    "expected 64 hexadecimal digits or base64 of {KEY_LEN} bytes, got {} characters",
                    t.len()
                ))
            })?;
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            PprlError::InvalidSecret(format!(
                "base64 decodes to {} bytes, expected {KEY_LEN}",
                decoded.len()
            ))
        })?;
        Ok(Secret(bytes))
    }

    /// The key for one purpose: HKDF-SHA256 with a fixed public salt, this secret as input
    /// keying material and the purpose's label as `info`.
    pub fn derive(&self, purpose: Purpose) -> DerivedKey {
        self.derive_label(&purpose.label())
    }

    /// The key for an arbitrary label (for callers that need their own purposes; use a
    /// prefix of your own so labels never collide with [`Purpose::label`]).
    pub fn derive_label(&self, label: &str) -> DerivedKey {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), &self.0);
        let mut out = [0u8; KEY_LEN];
        // 32 bytes is far below HKDF-SHA256's limit of 255 * 32 bytes: this cannot fail.
        if hk.expand(label.as_bytes(), &mut out).is_err() {
            unreachable!("HKDF-SHA256 can always expand 32 bytes");
        }
        DerivedKey(out)
    }

    /// A public value (16 hexadecimal digits) that is equal for equal secrets and reveals
    /// nothing else: parties and the linkage unit compare it to catch mismatched secrets.
    pub fn key_check(&self) -> String {
        let k = self.derive(Purpose::KeyCheck);
        hex(&k.0[..8])
    }
}

impl DerivedKey {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

/// Lower-case hexadecimal of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn hex_digit(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        let s = Secret::from_bytes(core::array::from_fn(|i| i as u8 * 7));
        assert_eq!(Secret::parse(&s.to_hex()).unwrap(), s);
        assert_eq!(Secret::parse(&s.to_hex().to_uppercase()).unwrap(), s);
        assert_eq!(Secret::parse(&format!("  {}\n", s.to_base64())).unwrap(), s);
        let url = s.to_base64().replace('+', "-").replace('/', "_");
        assert_eq!(Secret::parse(url.trim_end_matches('=')).unwrap(), s);
    }

    #[test]
    fn bad_text_is_an_error_not_a_panic() {
        for bad in ["", "abc", "zz", &"0".repeat(63), &"Q".repeat(60), "€€€€"] {
            assert!(
                matches!(Secret::parse(bad), Err(PprlError::InvalidSecret(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn derivation_is_deterministic_and_separated() {
        let s = Secret::from_bytes([1; 32]);
        let t = Secret::from_bytes([2; 32]);
        let p = Purpose::FieldHash {
            field: 0,
            kind: AttrKind::Surname,
        };
        assert_eq!(s.derive(p), s.derive(p));
        assert_ne!(s.derive(p), t.derive(p));
        assert_ne!(
            s.derive(p),
            s.derive(Purpose::FieldHash {
                field: 1,
                kind: AttrKind::Surname
            })
        );
        assert_ne!(
            s.derive(Purpose::Token(AttrKind::Email)),
            s.derive(Purpose::Token(AttrKind::Phone))
        );
        assert_eq!(s.key_check(), Secret::from_bytes([1; 32]).key_check());
        assert_ne!(s.key_check(), t.key_check());
        assert!(!format!("{s:?}").contains('1'));
    }

    #[test]
    fn generated_secrets_differ() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn hkdf_matches_rfc5869_test_case_1() {
        // RFC 5869 A.1, to pin the HKDF implementation and its digest generation.
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let hk = Hkdf::<Sha256>::new(Some(&salt), &ikm);
        let mut okm = [0u8; 42];
        hk.expand(&info, &mut okm).unwrap();
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }
}
