//! HMAC tokens of exact identifiers, for deconfliction.
//!
//! An identifier (e-mail, phone, national id, username) that agrees exactly is strong
//! evidence on its own, and fuzzy encodings are the wrong tool for it. Each party sends
//! `HMAC-SHA256(k_kind, normalised value)` instead, with a per-kind key derived from the
//! shared secret; equal tokens mean equal normalised identifiers. The linkage unit can use
//! them to confirm or break ties between Bloom-filter candidates without learning the
//! values. Values are normalised first with the plain pipeline's normaliser, so
//! `J.Smith@Example.com` and `j.smith@example.com` give one token.
//!
//! Tokens of low-entropy values can be reversed by anyone holding the key (by hashing
//! every candidate value), so the secret must stay with the data holders.
//!
//! ```
//! use spirit_model::AttrKind;
//! use spirit_pprl::{Secret, Tokeniser};
//! let t = Tokeniser::new(&Secret::from_bytes([5; 32]));
//! let a = t.token(AttrKind::Email, "J.Smith@Example.com").unwrap();
//! let b = t.token(AttrKind::Email, " j.smith@example.com ").unwrap();
//! assert_eq!(a, b);
//! assert_eq!(a.len(), 64);
//! assert_eq!(t.token(AttrKind::Email, "not an e-mail"), None);
//! ```

use std::sync::OnceLock;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use spirit_matching::table::{PrepareOptions, normalise};
use spirit_model::AttrKind;
use spirit_text::PhoneNormaliser;

use crate::keys::{Purpose, Secret, hex};

/// Makes HMAC tokens of normalised values; one key per attribute kind.
pub struct Tokeniser {
    macs: Vec<Hmac<Sha256>>,
    /// Fields (columns with no built-in kind) get their keys on demand.
    secret: Secret,
    options: PrepareOptions,
    phones: OnceLock<PhoneNormaliser>,
}

impl std::fmt::Debug for Tokeniser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokeniser")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The HMAC keyed for the tokens of one kind.
fn mac_for(secret: &Secret, kind: AttrKind) -> Hmac<Sha256> {
    let key = secret.derive(Purpose::Token(kind));
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        // HMAC accepts keys of any length.
        Err(_) => unreachable!("HMAC takes 32-byte keys"),
    }
}

impl Tokeniser {
    /// A tokeniser normalising with `PrepareOptions::default()`.
    pub fn new(secret: &Secret) -> Tokeniser {
        Tokeniser::with_options(secret, PrepareOptions::default())
    }

    /// A tokeniser with other normalisation options (both parties must agree); payment
    /// cards are hashed under a key derived from `secret`, never `options.card_key`.
    pub fn with_options(secret: &Secret, options: PrepareOptions) -> Tokeniser {
        // Cards are hashed under a key from the secret, whatever `options` says.
        let options = PrepareOptions {
            card_key: spirit_matching::CardKey::from_bytes(
                *secret.derive(Purpose::CardKey).as_bytes(),
            ),
            ..options
        };
        let macs = AttrKind::ALL.iter().map(|&k| mac_for(secret, k)).collect();
        Tokeniser {
            macs,
            secret: secret.clone(),
            options,
            phones: OnceLock::new(),
        }
    }

    /// The token (64 hex digits) of a raw value of `kind`, or `None` when nothing usable
    /// remains after normalisation.
    pub fn token(&self, kind: AttrKind, raw: &str) -> Option<String> {
        let phones = self
            .phones
            .get_or_init(|| PhoneNormaliser::new(&self.options.default_region));
        let value = normalise(kind, raw, &self.options, phones)?;
        Some(self.token_normalised(kind, &value))
    }

    /// The token of a value already normalised.
    pub fn token_normalised(&self, kind: AttrKind, value: &str) -> String {
        let mut mac = match kind.index() {
            Some(i) => self.macs[i].clone(),
            None => mac_for(&self.secret, kind),
        };
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Tokens of a record's identifier values (kinds for which
    /// [`AttrKind::is_identifier`] holds), in input order.
    pub fn record_tokens(&self, values: &[(AttrKind, String)]) -> Vec<(AttrKind, String)> {
        values
            .iter()
            .filter(|(k, _)| k.is_identifier())
            .filter_map(|(k, v)| self.token(*k, v).map(|t| (*k, t)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_tokens_follow_the_secret_not_the_options() {
        let secret = Secret::from_bytes([3; 32]);
        let other = PrepareOptions {
            card_key: spirit_matching::CardKey::from_bytes([9; 32]),
            ..PrepareOptions::default()
        };
        let card = "4111 1111 1111 1111";
        let a = Tokeniser::new(&secret).token(AttrKind::PaymentCard, card);
        let b = Tokeniser::with_options(&secret, other).token(AttrKind::PaymentCard, card);
        assert!(a.is_some());
        assert_eq!(a, b, "both parties hash cards under the secret's card key");
        let c = Tokeniser::new(&Secret::from_bytes([4; 32])).token(AttrKind::PaymentCard, card);
        assert_ne!(a, c);
    }

    #[test]
    fn tokens_follow_normalisation_and_keys() {
        let s = Secret::from_bytes([1; 32]);
        let t = Tokeniser::new(&s);
        let t2 = Tokeniser::new(&Secret::from_bytes([2; 32]));
        assert_eq!(
            t.token(AttrKind::Phone, "07700 900123"),
            t.token(AttrKind::Phone, "+44 7700 900123")
        );
        assert_ne!(
            t.token(AttrKind::Phone, "07700 900123"),
            t2.token(AttrKind::Phone, "07700 900123")
        );
        // Same text, different kinds: unrelated tokens.
        assert_ne!(
            t.token_normalised(AttrKind::Username, "x"),
            t.token_normalised(AttrKind::NationalId, "x")
        );
        let rec = vec![
            (AttrKind::GivenName, "Ann".to_string()),
            (AttrKind::Email, "a@b.org".to_string()),
            (AttrKind::NationalId, "AB 12 34 56 C".to_string()),
        ];
        let toks = t.record_tokens(&rec);
        assert_eq!(toks.len(), 2);
        assert_eq!(
            toks[1].1,
            t.token(AttrKind::NationalId, "ab123456c").unwrap()
        );
    }
}
