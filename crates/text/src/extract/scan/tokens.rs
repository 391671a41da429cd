//! Runs of letters and digits (cryptocurrency addresses, IBANs, PGP fingerprints) and
//! armoured PGP key blocks.

use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;

use crate::extract::checks;
use crate::extract::{Cand, Kind};

use super::digits::digit_bits;
use super::{before, is_word, re, window_before};

static IBAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u)\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}"));
/// The spaced fingerprints [`pgp_spaced_len`] finds, as a regular expression (the reference
/// it is tested against).
#[cfg(test)]
pub(super) static PGP_SPACED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i-u)\b[0-9a-f]{4}(?: {1,2}[0-9a-f]{4}){9}\b"));

/// An IBAN starting at `s` (compact or in groups).
fn iban_at(t: &str, s: usize, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    let Some(len) = checks::iban_length(&b[s..s + 2]) else {
        return;
    };
    let mut end = (s + 48).min(b.len());
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(m) = IBAN.find_at(&t[..end], s).filter(|m| m.start() == s) {
        let mut compact = Vec::with_capacity(34);
        let mut end = s;
        for (i, &c) in m.as_str().as_bytes().iter().enumerate() {
            if c != b' ' {
                compact.push(c);
                end = s + i + 1;
                if compact.len() == len {
                    break;
                }
            }
        }
        if compact.len() != len || b.get(end).is_some_and(|&c| is_word(c)) {
            return;
        }
        if checks::iban(&compact) {
            let value = String::from_utf8(compact).unwrap_or_default();
            out.push(Cand::new(Kind::Iban, s, end, value));
        }
    }
}

/// A fingerprint in ten groups of four hex digits starting at `s`.
fn pgp_spaced_at(t: &str, s: usize, out: &mut Vec<Cand>) {
    if let Some(len) = pgp_spaced_len(t.as_bytes(), s) {
        let e = s + len;
        let value: String = t[s..e]
            .bytes()
            .filter(|c| c.is_ascii_hexdigit())
            .map(|c| char::from(c.to_ascii_uppercase()))
            .collect();
        // Ten groups of digits only are more likely numbers than a fingerprint.
        if value.bytes().all(|c| c.is_ascii_digit()) {
            return;
        }
        out.push(Cand::new(Kind::PgpFingerprint, s, e, value));
    }
}

/// Length of a fingerprint written as ten groups of four hex digits separated by one or two
/// spaces, starting at `s` where a word starts (`\b[0-9a-f]{4}(?: {1,2}[0-9a-f]{4}){9}\b`,
/// any case).
pub(super) fn pgp_spaced_len(b: &[u8], s: usize) -> Option<usize> {
    let hex4 = |i: usize| {
        b.get(i..i + 4)
            .is_some_and(|g| g.iter().all(u8::is_ascii_hexdigit))
    };
    if !hex4(s) {
        return None;
    }
    let mut i = s + 4;
    for _ in 0..9 {
        let spaces = b[i..].iter().take(2).take_while(|&&c| c == b' ').count();
        if spaces == 0 || !hex4(i + spaces) {
            return None;
        }
        i += spaces + 4;
    }
    (!b.get(i).is_some_and(|&c| is_word(c))).then_some(i - s)
}

/// True when the line before `s` names a key fingerprint.
fn pgp_context(t: &str, s: usize) -> bool {
    let window = window_before(t, s, 80);
    let line = window
        .rsplit('\n')
        .next()
        .unwrap_or(window)
        .to_ascii_lowercase();
    ["fingerprint", "pgp", "gpg", "openpgp", "key id", "keyid"]
        .iter()
        .any(|k| line.contains(k))
}

/// One high bit per byte of `x` that is a word byte (ASCII letter, digit or '_'), exact per
/// byte like [`digit_bits`].
pub(super) fn word_bits(x: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES * 128;
    // Letters: with bit 5 set, 0x60 < value < 0x7B (only 'A'..='Z' and 'a'..='z' land there).
    let y = x | (ONES * 0x20);
    let low = y & (ONES * 127);
    let letters =
        (ONES * (127 + 0x7B)).wrapping_sub(low) & !y & low.wrapping_add(ONES * (127 - 0x60)) & HIGH;
    // '_': the bytes of x ^ "________" that are zero.
    let v = x ^ (ONES * u64::from(b'_'));
    let underscore = !(((v & (ONES * 127)) + ONES * 127) | v) & HIGH;
    digit_bits(x) | letters | underscore
}

/// The word bytes of eight bytes as the low eight bits.
fn word_byte_mask(w: [u8; 8]) -> u64 {
    // The eight high bits gathered into the top byte (no two partial products overlap).
    (word_bits(u64::from_le_bytes(w)) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Bit k set for each word byte k of `b` (at most 64 bytes).
fn word_mask(b: &[u8]) -> u64 {
    let mut m = 0;
    let chunks = b.chunks_exact(8);
    let rest = chunks.remainder();
    let mut k = 0;
    for chunk in chunks {
        m |= word_byte_mask(chunk.try_into().unwrap_or([0; 8])) << (8 * k);
        k += 1;
    }
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        m |= word_byte_mask(w) << (8 * k);
    }
    m
}

/// A bitmap of the word bytes (`[A-Za-z0-9_]`) of a text: bit k of `bits[j]` is byte
/// `64 * j + k` (bits past the end are clear).
pub(super) struct WordBits {
    bits: Vec<u64>,
    len: usize,
}

impl WordBits {
    fn new(b: &[u8]) -> WordBits {
        WordBits {
            bits: b.chunks(64).map(word_mask).collect(),
            len: b.len(),
        }
    }

    /// Bit i is byte `64 * j + i + k` (`k` in 1..64).
    fn shifted(&self, j: usize, k: u32) -> u64 {
        let next = self.bits.get(j + 1).copied().unwrap_or(0);
        (self.bits[j] >> k) | (next << (64 - k))
    }

    /// The first byte at or after `p` that is not a word byte (`len` if none).
    fn next_clear(&self, p: usize) -> usize {
        let mut j = p / 64;
        let Some(&w) = self.bits.get(j) else {
            return self.len;
        };
        let mut w = !w & (u64::MAX << (p % 64));
        while w == 0 {
            j += 1;
            match self.bits.get(j) {
                Some(&x) => w = !x,
                None => return self.len,
            }
        }
        (j * 64 + w.trailing_zeros() as usize).min(self.len)
    }
}

/// Runs of letters and digits: Bitcoin, Ethereum, Monero, compact PGP fingerprints, and the
/// starts of IBANs and spaced fingerprints.
pub(super) fn tokens(t: &str, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    // Only runs of four or more bytes can hold anything: a bitmap of the word bytes (built
    // eight bytes at a time) finds their starts without visiting the shorter words.
    let words = WordBits::new(b);
    for j in 0..words.bits.len() {
        let m = words.bits[j];
        if m == 0 {
            continue;
        }
        let carry = if j > 0 { words.bits[j - 1] >> 63 } else { 0 };
        let starts = m & !((m << 1) | carry);
        let mut long = starts & words.shifted(j, 1) & words.shifted(j, 2) & words.shifted(j, 3);
        while long != 0 {
            let s = j * 64 + long.trailing_zeros() as usize;
            long &= long - 1;
            let e = words.next_clear(s + 4);
            token(t, s, e, out);
        }
    }
}

/// [`tokens`] one byte at a time (the reference the bitmap scan is tested against).
#[cfg(test)]
pub(super) fn tokens_bytewise(t: &str, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !is_word(b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && is_word(b[i]) {
            i += 1;
        }
        token(t, s, i, out);
    }
}

/// The candidates of the word run `t[s..e]`.
fn token(t: &str, s: usize, e: usize, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    let n = e - s;
    if n >= 4
        && b[s].is_ascii_uppercase()
        && b[s + 1].is_ascii_uppercase()
        && b[s + 2].is_ascii_digit()
        && b[s + 3].is_ascii_digit()
    {
        iban_at(t, s, out);
    }
    if n == 4 && b.get(e) == Some(&b' ') && b[s..e].iter().all(u8::is_ascii_hexdigit) {
        pgp_spaced_at(t, s, out);
    }
    if !(14..=110).contains(&n) {
        return;
    }
    // Part of a longer token joined by '-' or '/'+word: still fine; but not inside e-mails.
    if matches!(before(b, s), Some(b'@' | b'-')) || matches!(b.get(e), Some(b'@' | b'-')) {
        return;
    }
    let tok = &t[s..e];
    if tok.contains('_') {
        return;
    }
    let tb = tok.as_bytes();
    let lower2 = [
        tb[0].to_ascii_lowercase(),
        tb[1].to_ascii_lowercase(),
        tb[2],
    ];
    if &lower2 == b"bc1" || &lower2 == b"tb1" {
        if let Some(v) = checks::bitcoin_segwit(tok) {
            out.push(Cand::new(Kind::Bitcoin, s, e, v));
        }
        return;
    }
    match n {
        25..=35
            if matches!(tb[0], b'1' | b'3' | b'm' | b'n' | b'2') && checks::bitcoin_base58(tok) =>
        {
            out.push(Cand::new(Kind::Bitcoin, s, e, tok.to_string()));
        }
        42 if tb[0] == b'0' && (tb[1] == b'x' || tb[1] == b'X') => {
            if let Some(v) = checks::ethereum(tok) {
                out.push(Cand::new(Kind::Ethereum, s, e, v));
            }
        }
        40 if tb.iter().all(u8::is_ascii_hexdigit)
            && pgp_context(t, s)
            && !tb.iter().all(u8::is_ascii_digit) =>
        {
            out.push(Cand::new(
                Kind::PgpFingerprint,
                s,
                e,
                tok.to_ascii_uppercase(),
            ));
        }
        95 | 106 if matches!(tb[0], b'4' | b'8') && checks::monero(tok) => {
            out.push(Cand::new(Kind::Monero, s, e, tok.to_string()));
        }
        _ => {}
    }
}

pub(super) fn pgp_blocks(t: &str, out: &mut Vec<Cand>) {
    const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
    const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
    let mut from = 0;
    while let Some(p) = t[from..].find(BEGIN) {
        let s = from + p;
        let body_start = s + BEGIN.len();
        let Some(q) = t[body_start..].find(END) else {
            break;
        };
        let e = body_start + q + END.len();
        from = e;
        if let Some(fp) = armored_fingerprint(&t[body_start..body_start + q]) {
            out.push(Cand::new(Kind::PgpKey, s, e, fp));
        }
    }
}

/// The fingerprint of the armoured key body (between the BEGIN and END lines).
fn armored_fingerprint(body: &str) -> Option<String> {
    let lines: Vec<&str> = body.lines().map(str::trim).collect();
    // Headers ("Version: …") end at the first blank line, if there are any.
    let mut start = 0;
    while start < lines.len() && lines[start].is_empty() {
        start += 1;
    }
    if lines.get(start).is_some_and(|l| l.contains(": ")) {
        while start < lines.len() && !lines[start].is_empty() {
            start += 1;
        }
    }
    let mut b64 = String::with_capacity(body.len());
    let mut crc: Option<&str> = None;
    for l in &lines[start..] {
        if let Some(c) = l.strip_prefix('=')
            && c.len() == 4
        {
            crc = Some(c);
            break;
        }
        b64.extend(l.chars().filter(|c| !c.is_whitespace()));
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .ok()?;
    if let Some(c) = crc {
        let want = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
        let got = checks::crc24(&data).to_be_bytes();
        if want.as_slice() != &got[1..] {
            return None;
        }
    }
    checks::pgp_fingerprint(&data)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn word_bitmap_is_exact(b in prop::collection::vec(any::<u8>(), 0..300), p in 0usize..300) {
            let w = WordBits::new(&b);
            for (i, &c) in b.iter().enumerate() {
                prop_assert_eq!(w.bits[i / 64] >> (i % 64) & 1 == 1, is_word(c), "byte {}", i);
            }
            let want = (p..b.len()).find(|&i| !is_word(b[i])).unwrap_or(b.len()).max(p.min(b.len()));
            prop_assert_eq!(w.next_clear(p).max(p.min(b.len())), want);
        }
    }

    #[test]
    fn word_bits_are_exact_per_byte() {
        for v in 0..=255u8 {
            for fill in [
                b'a', b'_', b'Z', 0x80, 0xFF, 0x00, b'@', b'`', b'[', b'{', 0x7F,
            ] {
                for at in 0..8 {
                    let mut w = [fill; 8];
                    w[at] = v;
                    let bits = word_bits(u64::from_le_bytes(w));
                    for (k, &c) in w.iter().enumerate() {
                        let set = bits >> (8 * k + 7) & 1 == 1;
                        assert_eq!(set, is_word(c), "{v} at {at} in {fill}, byte {k}");
                    }
                }
            }
        }
    }
}
