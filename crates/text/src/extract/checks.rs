//! Checksums and decoders: each function answers "is this a valid identifier of its kind?"
//! and returns its normalised form. All of them are allocation-light and total (no panics).

use sha2::{Digest, Sha256};
use tiny_keccak::{Hasher, Keccak, Sha3};

/// The Bitcoin (and Monero) base58 alphabet.
pub const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_value(c: u8) -> Option<u8> {
    // A small search beats a table for the few candidates that reach here.
    BASE58
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// Keccak-256 (the pre-standard SHA-3 used by Ethereum and Monero).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut k = Keccak::v256();
    k.update(data);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

/// SHA3-256 (FIPS 202), used by Tor onion v3 checksums.
pub fn sha3_256(parts: &[&[u8]]) -> [u8; 32] {
    let mut k = Sha3::v256();
    for p in parts {
        k.update(p);
    }
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

/// SHA-256 of SHA-256.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    let first = Sha256::digest(data);
    let second = Sha256::digest(first);
    let mut out = [0u8; 32];
    out.copy_from_slice(&second);
    out
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(H[usize::from(b >> 4)]));
        s.push(char::from(H[usize::from(b & 15)]));
    }
    s
}

/// Decodes Bitcoin base58 (big-endian base-58 number, leading '1's are zero bytes).
/// `None` for characters outside the alphabet or results longer than `max_len` bytes.
pub fn base58_decode(s: &[u8], max_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(max_len);
    let zeros = s.iter().take_while(|&&c| c == b'1').count();
    // Little-endian accumulator.
    for &c in &s[zeros..] {
        let mut carry = u32::from(base58_value(c)?);
        for b in out.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.push((carry & 0xff) as u8);
            carry >>= 8;
        }
        if out.len() + zeros > max_len {
            return None;
        }
    }
    out.extend(std::iter::repeat_n(0, zeros));
    out.reverse();
    Some(out)
}

/// Encodes bytes as Bitcoin base58.
pub fn base58_encode(data: &[u8]) -> String {
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    let mut digits: Vec<u8> = Vec::new(); // little-endian base 58
    for &b in &data[zeros..] {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(
        digits
            .iter()
            .rev()
            .map(|&d| char::from(BASE58[usize::from(d)])),
    );
    s
}

/// A base58check Bitcoin address (P2PKH '1…', P2SH '3…', testnet 'm/n/2…'): 25 bytes, a known
/// version byte, and the first four bytes of SHA-256d as checksum.
pub fn bitcoin_base58(s: &str) -> bool {
    if !(25..=35).contains(&s.len()) {
        return false;
    }
    let Some(bytes) = base58_decode(s.as_bytes(), 25) else {
        return false;
    };
    if bytes.len() != 25 || !matches!(bytes[0], 0x00 | 0x05 | 0x6f | 0xc4) {
        return false;
    }
    sha256d(&bytes[..21])[..4] == bytes[21..]
}

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32M_CONST: u32 = 0x2bc8_30a3;

fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let b = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &[u8]) -> impl Iterator<Item = u8> + '_ {
    hrp.iter()
        .map(|c| c >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| c & 31))
}

fn convert_bits(data: &[u8], from: u32, to: u32, pad: bool) -> Option<Vec<u8>> {
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let maxv: u32 = (1 << to) - 1;
    let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
    for &v in data {
        let v = u32::from(v);
        if v >> from != 0 {
            return None;
        }
        acc = (acc << from) | v;
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(((acc >> bits) & maxv) as u8);
        }
    }
    if pad {
        if bits > 0 {
            out.push(((acc << (to - bits)) & maxv) as u8);
        }
    } else if bits >= from || ((acc << (to - bits)) & maxv) != 0 {
        return None;
    }
    Some(out)
}

/// A segwit address (BIP-173 bech32 for version 0, BIP-350 bech32m for versions 1–16) with
/// human-readable part "bc" (mainnet) or "tb" (testnet). Returns it lowercased.
pub fn bitcoin_segwit(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if !(14..=90).contains(&b.len()) {
        return None;
    }
    let lower = b.iter().any(u8::is_ascii_lowercase);
    let upper = b.iter().any(u8::is_ascii_uppercase);
    if lower && upper {
        return None;
    }
    let s = s.to_ascii_lowercase();
    let b = s.as_bytes();
    let sep = b.iter().rposition(|&c| c == b'1')?;
    let (hrp, data) = (&b[..sep], &b[sep + 1..]);
    if !(hrp == b"bc" || hrp == b"tb") || data.len() < 7 {
        return None;
    }
    let mut values = Vec::with_capacity(data.len());
    for &c in data {
        let v = BECH32_CHARSET.iter().position(|&a| a == c)?;
        values.push(v as u8);
    }
    let check = bech32_polymod(hrp_expand(hrp).chain(values.iter().copied()));
    let version = values[0];
    let program = convert_bits(&values[1..values.len() - 6], 5, 8, false)?;
    let ok = match version {
        0 => check == 1 && (program.len() == 20 || program.len() == 32),
        1..=16 => check == BECH32M_CONST && (2..=40).contains(&program.len()),
        _ => false,
    };
    ok.then_some(s)
}

/// Encodes a segwit address (bech32 for version 0, bech32m otherwise).
pub fn segwit_encode(hrp: &str, version: u8, program: &[u8]) -> String {
    let mut values = vec![version];
    values.extend(convert_bits(program, 8, 5, true).unwrap_or_default());
    let c = if version == 0 { 1 } else { BECH32M_CONST };
    let poly = bech32_polymod(
        hrp_expand(hrp.as_bytes())
            .chain(values.iter().copied())
            .chain([0u8; 6]),
    ) ^ c;
    for i in 0..6 {
        values.push(((poly >> (5 * (5 - i))) & 31) as u8);
    }
    let mut s = String::from(hrp);
    s.push('1');
    s.extend(
        values
            .iter()
            .map(|&v| char::from(BECH32_CHARSET[usize::from(v)])),
    );
    s
}

/// "0x" and 40 hex digits: all-lowercase and all-uppercase addresses carry no checksum and are
/// accepted; mixed case must match EIP-55. Returns the lowercase address.
pub fn ethereum(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 42 || !(b.starts_with(b"0x") || b.starts_with(b"0X")) {
        return None;
    }
    let h = &b[2..];
    if !h.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let lower = h.iter().any(u8::is_ascii_lowercase);
    let upper = h.iter().any(u8::is_ascii_uppercase);
    let low = format!("0x{}", s[2..].to_ascii_lowercase());
    if lower && upper && eip55(&low[2..]) != s[2..] {
        return None;
    }
    Some(low)
}

/// EIP-55 mixed-case form of 40 lowercase hex digits (without "0x").
pub fn eip55(lower_hex: &str) -> String {
    let hash = keccak256(lower_hex.as_bytes());
    lower_hex
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 15;
            if c.is_ascii_alphabetic() && nibble >= 8 {
                char::from(c.to_ascii_uppercase())
            } else {
                char::from(c)
            }
        })
        .collect()
}

/// Sizes of Monero base58 blocks: `ENCODED[n]` characters encode `n` bytes.
const MONERO_ENCODED: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];

/// Decodes Monero's base58 (8-byte blocks as 11 characters, the last block shorter).
pub fn monero_base58_decode(s: &[u8]) -> Option<Vec<u8>> {
    let full = s.len() / 11;
    let rest = s.len() % 11;
    let last_bytes = MONERO_ENCODED.iter().position(|&e| e == rest)?;
    let mut out = Vec::with_capacity(full * 8 + last_bytes);
    for (i, chunk) in s.chunks(11).enumerate() {
        let size = if i < full { 8 } else { last_bytes };
        let mut num: u128 = 0;
        for &c in chunk {
            num = num * 58 + u128::from(base58_value(c)?);
        }
        if size < 16 && num >> (8 * size) != 0 {
            return None;
        }
        let be = num.to_be_bytes();
        out.extend_from_slice(&be[16 - size..]);
    }
    Some(out)
}

/// Encodes bytes in Monero's base58.
pub fn monero_base58_encode(data: &[u8]) -> String {
    let mut s = String::new();
    for chunk in data.chunks(8) {
        let mut num: u128 = 0;
        for &b in chunk {
            num = (num << 8) | u128::from(b);
        }
        let width = MONERO_ENCODED[chunk.len()];
        let mut buf = vec![b'1'; width];
        for slot in buf.iter_mut().rev() {
            *slot = BASE58[(num % 58) as usize];
            num /= 58;
        }
        s.extend(buf.iter().map(|&c| char::from(c)));
    }
    s
}

/// A Monero mainnet address: standard ('4…', 95 chars), subaddress ('8…', 95) or integrated
/// ('4…', 106), checksum = first four bytes of Keccak-256 of the rest.
pub fn monero(s: &str) -> bool {
    let b = s.as_bytes();
    let expect = match (b.len(), b.first()) {
        (95, Some(b'4')) => 18u8,
        (95, Some(b'8')) => 42,
        (106, Some(b'4')) => 19,
        _ => return false,
    };
    let Some(bytes) = monero_base58_decode(b) else {
        return false;
    };
    let n = bytes.len();
    if n < 5 || bytes[0] != expect {
        return false;
    }
    keccak256(&bytes[..n - 4])[..4] == bytes[n - 4..]
}

/// IBAN lengths by country (SWIFT registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The IBAN length of a country code, if it has IBANs.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.as_slice() == country)
        .map(|&(_, l)| l)
}

/// Mod-97 remainder of an IBAN given compact and uppercase (country and check digits moved
/// to the end, letters as 10..35).
pub fn iban_mod97(compact: &[u8]) -> Option<u32> {
    if compact.len() < 5 {
        return None;
    }
    let mut r: u32 = 0;
    for &c in compact[4..].iter().chain(&compact[..4]) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    Some(r)
}

/// A compact uppercase IBAN: known country, its length, check digits by mod-97.
pub fn iban(compact: &[u8]) -> bool {
    compact.len() >= 15
        && compact[..2].iter().all(u8::is_ascii_uppercase)
        && compact[2..4].iter().all(u8::is_ascii_digit)
        && iban_length(&compact[..2]) == Some(compact.len())
        && iban_mod97(compact) == Some(1)
}

/// Luhn (mod 10) over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        if !d.is_ascii_digit() {
            return false;
        }
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// The payment-card scheme whose issuer prefix and length fit `digits`, if any.
pub fn card_scheme(digits: &[u8]) -> Option<&'static str> {
    let n = digits.len();
    let prefix = |k: usize| -> u32 {
        digits[..k.min(n)]
            .iter()
            .fold(0u32, |a, &d| a * 10 + u32::from(d.wrapping_sub(b'0')))
    };
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    let p6 = prefix(6);
    if p1 == 4 && matches!(n, 13 | 16 | 19) {
        return Some("visa");
    }
    if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16 {
        return Some("mastercard");
    }
    if (p2 == 34 || p2 == 37) && n == 15 {
        return Some("amex");
    }
    if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622_126..=622_925).contains(&p6))
        && (16..=19).contains(&n)
    {
        return Some("discover");
    }
    if (3528..=3589).contains(&p4) && (16..=19).contains(&n) {
        return Some("jcb");
    }
    if ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&n) {
        return Some("diners");
    }
    if (2200..=2204).contains(&p4) && (16..=19).contains(&n) {
        return Some("mir");
    }
    if p2 == 62 && (16..=19).contains(&n) {
        return Some("unionpay");
    }
    if (p2 == 50 || (56..=69).contains(&p2)) && (13..=19).contains(&n) {
        return Some("maestro");
    }
    None
}

/// A card number: 13–19 digits, a known scheme's prefix and length, Luhn.
pub fn card(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && card_scheme(digits).is_some() && luhn(digits)
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &c in s {
        let c = c.to_ascii_lowercase();
        let v = BASE32.iter().position(|&a| a == c)? as u64;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Base32 (RFC 4648, lowercase, no padding).
pub fn base32_encode(data: &[u8]) -> String {
    let mut s = String::new();
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in data {
        acc = (acc << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            s.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        s.push(char::from(BASE32[((acc << (5 - bits)) & 31) as usize]));
    }
    s
}

/// A Tor v3 onion service label (56 base32 characters): public key, two checksum bytes of
/// SHA3-256(".onion checksum" ‖ pubkey ‖ version) and version 3.
pub fn onion_v3(label: &str) -> bool {
    if label.len() != 56 {
        return false;
    }
    let Some(b) = base32_decode(label.as_bytes()) else {
        return false;
    };
    if b.len() != 35 || b[34] != 3 {
        return false;
    }
    let sum = sha3_256(&[b".onion checksum", &b[..32], &[3]]);
    sum[..2] == b[32..34]
}

/// The onion v3 label of a 32-byte public key.
pub fn onion_encode(pubkey: &[u8; 32]) -> String {
    let sum = sha3_256(&[b".onion checksum", pubkey, &[3]]);
    let mut b = pubkey.to_vec();
    b.extend_from_slice(&sum[..2]);
    b.push(3);
    base32_encode(&b)
}

/// OpenPGP ASCII-armour CRC-24.
pub fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00b7_04ce;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4cfb;
            }
        }
    }
    crc & 0x00ff_ffff
}

/// The fingerprint (uppercase hex) of the first packet of an OpenPGP message when it is a
/// public-key packet: v4 SHA-1(0x99 ‖ len16 ‖ body); v5 SHA-256(0x9A ‖ len32 ‖ body);
/// v6 SHA-256(0x9B ‖ len32 ‖ body).
pub fn pgp_fingerprint(packets: &[u8]) -> Option<String> {
    let (&tag_byte, rest) = packets.split_first()?;
    if tag_byte & 0x80 == 0 {
        return None;
    }
    let (tag, len, rest) = if tag_byte & 0x40 != 0 {
        // New format.
        let tag = tag_byte & 0x3f;
        let (&l0, r) = rest.split_first()?;
        match l0 {
            0..=191 => (tag, usize::from(l0), r),
            192..=223 => {
                let (&l1, r) = r.split_first()?;
                (
                    tag,
                    ((usize::from(l0) - 192) << 8) + usize::from(l1) + 192,
                    r,
                )
            }
            255 => {
                let l = r.get(..4)?;
                (
                    tag,
                    u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize,
                    &r[4..],
                )
            }
            _ => return None,
        }
    } else {
        let tag = (tag_byte >> 2) & 0x0f;
        match tag_byte & 3 {
            0 => (tag, usize::from(*rest.first()?), &rest[1..]),
            1 => {
                let l = rest.get(..2)?;
                (
                    tag,
                    usize::from(u16::from_be_bytes([l[0], l[1]])),
                    &rest[2..],
                )
            }
            2 => {
                let l = rest.get(..4)?;
                (
                    tag,
                    u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize,
                    &rest[4..],
                )
            }
            _ => return None,
        }
    };
    if tag != 6 {
        return None;
    }
    let body = rest.get(..len)?;
    let version = *body.first()?;
    let mut out = match version {
        4 if body.len() >= 6 => {
            use sha1::Sha1;
            let mut h = Sha1::new();
            h.update([0x99]);
            h.update(u16::try_from(body.len()).ok()?.to_be_bytes());
            h.update(body);
            hex(&h.finalize())
        }
        5 | 6 if body.len() >= 10 => {
            let mut h = Sha256::new();
            h.update([if version == 5 { 0x9a } else { 0x9b }]);
            h.update(u32::try_from(body.len()).ok()?.to_be_bytes());
            h.update(body);
            hex(&h.finalize())
        }
        _ => return None,
    };
    out.make_ascii_uppercase();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_vectors() {
        assert!(bitcoin_base58("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(bitcoin_base58("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
        assert!(bitcoin_base58("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
        assert!(!bitcoin_base58("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
        // BIP-173 / BIP-350 valid vectors.
        for a in [
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "BC1SW50QGDZ25J",
            "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
            "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        ] {
            assert!(bitcoin_segwit(a).is_some(), "{a}");
        }
        // BIP-350 invalid: v0 with bech32m, v1 with bech32, mixed case.
        for a in [
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
        ] {
            assert!(bitcoin_segwit(a).is_none(), "{a}");
        }
        let prog = [7u8; 32];
        assert!(bitcoin_segwit(&segwit_encode("bc", 1, &prog)).is_some());
    }

    #[test]
    fn eip55_vectors() {
        for a in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            assert_eq!(ethereum(a), Some(a.to_ascii_lowercase()), "{a}");
        }
        assert!(ethereum("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD").is_none());
        assert!(ethereum("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").is_some());
    }

    #[test]
    fn monero_roundtrip_and_vector() {
        // The Monero project's donation address.
        assert!(monero(
            "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
        ));
        assert!(!monero(
            "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3B"
        ));
        let mut data = vec![42u8];
        data.extend([9u8; 64]);
        let sum = keccak256(&data);
        data.extend_from_slice(&sum[..4]);
        let s = monero_base58_encode(&data);
        assert_eq!(s.len(), 95);
        assert!(monero(&s));
    }

    #[test]
    fn iban_and_luhn() {
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(!iban(b"GB82WEST12345698765433"));
        assert!(card(b"4111111111111111"));
        assert!(card(b"378282246310005"));
        assert!(card(b"5555555555554444"));
        assert!(!card(b"4111111111111112"));
        assert!(!card(b"1234567812345670"));
    }

    #[test]
    fn onion() {
        // The Tor Project's onion service.
        assert!(onion_v3(
            "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid"
        ));
        assert!(!onion_v3(
            "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wie"
        ));
        assert!(onion_v3(&onion_encode(&[1u8; 32])));
    }
}
