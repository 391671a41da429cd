//! Normalisers and kernels for the attribute kinds that texts and media carry: crypto
//! addresses, IBANs, payment cards, IP and onion addresses, PGP fingerprints, Jabber ids,
//! perceptual image hashes, camera serials, positions and audio fingerprints.
//!
//! Every normaliser validates with the same checks the text extractor uses
//! ([`spirit_text::extract::checks`]): a value that fails its checksum is *missing*
//! (`None`), never an error; the store counts such values per kind.
//!
//! Canonical forms:
//!
//! | kind | canonical value |
//! |---|---|
//! | `crypto_address` | Bitcoin base58 as written (case matters), segwit and Ethereum lowercase, Monero as written; a `bitcoin:`/`ethereum:`/`monero:` URI scheme and query are dropped |
//! | `iban` | uppercase, no spaces (mod-97 and the country's length checked) |
//! | `payment_card` | `card:<last 4>:<24 hex>` — the last four digits and the first 96 bits of HMAC-SHA256 under a secret key ([`PrepareOptions::card_key`](crate::PrepareOptions::card_key)); the number is never kept in clear |
//! | `ip_address` | the standard library's canonical text (IPv4-mapped IPv6 becomes IPv4) |
//! | `onion_address` | `<56 base32>.onion`, lowercase (v3 checksum checked; scheme, path and subdomains dropped) |
//! | `pgp_fingerprint` | 40 (v4) or 64 (v5/v6) uppercase hex digits |
//! | `jabber_id` | `user@server`, lowercase, resource dropped |
//! | `image_hash` | 16 hex digits (pHash), optionally `:` and the mirror image's pHash |
//! | `camera_serial` | `<make>:<SERIAL>` — the make's first word folded (empty if unknown), the serial's letters and digits uppercase |
//! | `geo_position` | `lat,lon` rounded to 4 decimals (about 11 m) |
//! | `audio_fingerprint` | `chromaprint:` and the URL-safe base64 (no padding) of the Chromaprint sub-fingerprints (preset `TEST2`, one `u32` per ~0.124 s, little-endian), at most [`AUDIO_MAX_SUBPRINTS`] (the first ~127 s) |
//! | `style_profile` | a serialised writing-style profile (`spirit-style/<version>:…`) that parses, as written |

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use spirit_model::AttrKind;
use spirit_text::extract::checks;

/// pHash distance levels of the `image_hash` comparison: at most 5, 11 and 17 differing
/// bits (the smaller of direct and mirrored). They are the FPR ≤ 10⁻⁵, ≤ 10⁻⁴ and
/// ≤ 10⁻³ points of pHash on the media benchmark (`bench/media/README.md`: recall 0.736,
/// 0.855 and 0.953 on real photographs under ten edits), not tuned on any test here.
pub const IMAGE_HASH_LEVELS: [u32; 3] = [5, 11, 17];

/// Number of 8-bit segments of an image hash used as blocking keys: two hashes within
/// `IMAGE_HASH_SEGMENTS - 1` = 7 bits share at least one segment (pigeonhole), so every
/// pair at the first level, and most at the second, are proposed.
pub const IMAGE_HASH_SEGMENTS: u8 = 8;

/// Prefix of the canonical `audio_fingerprint` form.
pub const AUDIO_PREFIX: &str = "chromaprint:";

/// Most sub-fingerprints kept in an `audio_fingerprint` value: 1,024, the first ~127 s
/// (AcoustID also fingerprints the first two minutes). A clip cut from later in a long
/// recording is not found through this attribute.
pub const AUDIO_MAX_SUBPRINTS: usize = 1024;

/// Fewest sub-fingerprints (~2 s, the shortest common segment that counts) and fewest
/// distinct sub-fingerprints (silence or a constant tone repeats one value) of a value
/// that is not *missing*.
pub const AUDIO_MIN_SUBPRINTS: usize = 16;
/// See [`AUDIO_MIN_SUBPRINTS`].
pub const AUDIO_MIN_DISTINCT: usize = 4;

/// Shortest common segment, in seconds, that counts as audio evidence.
pub const AUDIO_MIN_SECONDS: f32 = 2.0;

/// Bit-error levels of the `audio_fingerprint` comparison: the best common segment of at
/// least [`AUDIO_MIN_SECONDS`] has a mean bit error (of 32) ≤ 3 (*same recording*) or
/// ≤ 5 (*similar*). From the audio evaluation of `bench/media` (342 real and synthesised
/// clips, `crates/media/examples/audio_eval.rs`), not from any test here: ≤ 3 is the
/// rule with no false match among 583,110 pairs of distinct clips (recall 0.956 on
/// copies trimmed by 30 %, −6 dB and MP3 at 64 kbit/s; `AudioThresholds::default` in
/// `spirit-media`); ≤ 5 finds 1.000 with 146 false matches (all music clips repeating a
/// passage of one track), a rate of 2.5·10⁻⁴, weighed by the model like any weaker level.
pub const AUDIO_BIT_ERROR_LEVELS: [f64; 2] = [3.0, 5.0];

/// Number of min-hash blocking keys of an audio fingerprint (rules
/// `audio_fingerprint:minhash0` … `minhash19`), and the number of top bits of each
/// sub-fingerprint that make its features. Chosen on the even-numbered clips of the
/// audio evaluation set (features of at least 16 bits, so that a key can take enough
/// values to keep blocks small in a large store; recall ≥ 0.95 on copies trimmed by
/// 30 %, −6 dB and MP3 at 64 kbit/s; then the fewest candidate pairs) and measured on
/// the odd ones: 95.3 % of copies share a key with their original, and 0.37 % of pairs
/// of distinct clips are proposed (`crates/matching/examples/audio_block_eval.rs`,
/// docs/benchmarks.md). Trimming is what costs: Chromaprint's frames no longer fall on
/// the same samples, so fewer sub-fingerprints survive exactly in their top bits.
pub const AUDIO_MINHASH_KEYS: u8 = 20;
/// See [`AUDIO_MINHASH_KEYS`].
pub const AUDIO_MINHASH_BITS: u32 = 20;

/// The secret key of payment-card hashes ([`payment_card`]): 32 random bytes. There is
/// no public default: a card hash made under a known key could be reversed by hashing
/// every card number that fits its BIN and last four digits. The store keeps one key
/// per workspace; the batch pipeline draws one per run ([`CardKey::random`]) and ships
/// it to cluster executors inside the plan, never into an output. Its `Debug` form does
/// not show the bytes; it serialises as 64 hex digits (for the plan only).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CardKey([u8; 32]);

/// Why a card key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CardKeyError {
    #[error("no random numbers for the payment-card key: {0}")]
    Randomness(String),
    #[error("a payment-card key is 64 hexadecimal digits (32 bytes); this one is not")]
    Malformed,
}

impl CardKey {
    /// A fresh key from the operating system's random number generator.
    pub fn random() -> Result<CardKey, CardKeyError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| CardKeyError::Randomness(e.to_string()))?;
        Ok(CardKey(key))
    }

    /// The key drawn once for this process (what [`crate::PrepareOptions::default`]
    /// uses): tables prepared in one process agree, hashes differ between processes.
    ///
    /// # Panics
    /// If the operating system gives no random numbers (the standard library's hash
    /// maps fail alike); paths that face users call [`CardKey::random`] instead.
    pub fn process() -> CardKey {
        static KEY: std::sync::OnceLock<CardKey> = std::sync::OnceLock::new();
        *KEY.get_or_init(|| match CardKey::random() {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        })
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> CardKey {
        CardKey(bytes)
    }

    /// Reads 64 hexadecimal digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<CardKey, CardKeyError> {
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CardKeyError::Malformed);
        }
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = u8::from_str_radix(&t[2 * i..2 * i + 2], 16)
                .map_err(|_| CardKeyError::Malformed)?;
        }
        Ok(CardKey(key))
    }

    /// Lower-case hexadecimal, 64 digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for CardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardKey(..)")
    }
}

impl serde::Serialize for CardKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for CardKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CardKey, D::Error> {
        let text = String::deserialize(d)?;
        CardKey::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A crypto-currency address in canonical form, if checksum-valid.
pub fn crypto_address(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    for scheme in ["bitcoin:", "ethereum:", "monero:"] {
        if s.len() > scheme.len()
            && s.get(..scheme.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
        {
            s = &s[scheme.len()..];
        }
    }
    let s = s.split(['?', '@', '/']).next().unwrap_or("").trim();
    if s.starts_with("0x") || s.starts_with("0X") {
        return checks::ethereum(s);
    }
    if let Some(segwit) = checks::bitcoin_segwit(s) {
        return Some(segwit);
    }
    if checks::bitcoin_base58(s) || checks::monero(s) {
        return Some(s.to_string());
    }
    None
}

/// An IBAN, uppercase without spaces, if valid.
pub fn iban(raw: &str) -> Option<String> {
    let mut compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    if compact.starts_with("IBAN") && compact.len() > 4 {
        compact.drain(..4);
        compact = compact.trim_start_matches(':').to_string();
    }
    checks::iban(compact.as_bytes()).then_some(compact)
}

/// True for a value already in the `payment_card` canonical form.
fn is_card_token(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5 + 4 + 1 + 24
        && s.starts_with("card:")
        && b[5..9].iter().all(u8::is_ascii_digit)
        && b[9] == b':'
        && b[10..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// A payment card as `card:<last4>:<keyed hash>`: the digits (spaces and dashes allowed)
/// must pass the issuer prefix, length and Luhn checks. A value already in that form is
/// kept as it is.
pub fn payment_card(raw: &str, key: &[u8]) -> Option<String> {
    let t = raw.trim();
    if is_card_token(t) {
        return Some(t.to_string());
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        return None;
    }
    let digits: Vec<u8> = t.bytes().filter(u8::is_ascii_digit).collect();
    if !checks::card(&digits) {
        return None;
    }
    Some(card_token(&digits, key))
}

/// The canonical form of valid card digits under `key`.
pub fn card_token(digits: &[u8], key: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(digits);
    let tag = mac.finalize().into_bytes();
    let last4 = String::from_utf8_lossy(&digits[digits.len().saturating_sub(4)..]).into_owned();
    format!("card:{last4}:{}", checks::hex(&tag[..12]))
}

/// An IP address in canonical text form.
pub fn ip_address(raw: &str) -> Option<String> {
    let s = raw.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = s.parse().ok()?;
    Some(ip.to_canonical().to_string())
}

/// A Tor v3 onion address, `<label>.onion`, if its checksum holds.
pub fn onion_address(raw: &str) -> Option<String> {
    let mut s = raw.trim().to_ascii_lowercase();
    for scheme in ["http://", "https://"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            s = rest.to_string();
        }
    }
    let host = s.split(['/', ':', '?', '#']).next().unwrap_or("");
    let host = host.strip_suffix(".onion").unwrap_or(host);
    let label = host.rsplit('.').next().unwrap_or("");
    checks::onion_v3(label).then(|| format!("{label}.onion"))
}

/// A PGP fingerprint: 40 or 64 hex digits (spaces and a `0x` prefix allowed), uppercase.
pub fn pgp_fingerprint(raw: &str) -> Option<String> {
    let t = raw.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let compact: String = t
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    let ok = matches!(compact.len(), 40 | 64) && compact.bytes().all(|b| b.is_ascii_hexdigit());
    // An all-zero "fingerprint" is a placeholder, not a key.
    (ok && compact.bytes().any(|b| b != b'0')).then(|| compact.to_ascii_uppercase())
}

/// A Jabber/XMPP id `user@server` (an `xmpp:` prefix and a `/resource` dropped).
pub fn jabber_id(raw: &str) -> Option<String> {
    let t = raw.trim().to_lowercase();
    let t = t.strip_prefix("xmpp:").unwrap_or(&t);
    let bare = t.split('/').next().unwrap_or("");
    let (local, domain) = bare.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 1023
        && !local
            .chars()
            .any(|c| c.is_whitespace() || "\"&'/:<>@".contains(c));
    let domain_ok = domain.len() >= 3
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    (local_ok && domain_ok).then(|| format!("{local}@{domain}"))
}

/// An image hash: 16 hex digits, or 16 hex digits, `:` and the mirror's 16.
pub fn image_hash(raw: &str) -> Option<String> {
    let t = raw.trim().to_ascii_lowercase();
    let (h, m) = parse_image_hash(&t)?;
    Some(match m {
        Some(m) => format!("{h:016x}:{m:016x}"),
        None => format!("{h:016x}"),
    })
}

/// The pHash and, if present, the mirror pHash of a canonical `image_hash` value.
pub fn parse_image_hash(v: &str) -> Option<(u64, Option<u64>)> {
    let hex = |s: &str| {
        (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(s, 16).ok())
            .flatten()
    };
    match v.split_once(':') {
        Some((h, m)) => Some((hex(h)?, Some(hex(m)?))),
        None => Some((hex(v)?, None)),
    }
}

/// The distance of two image hashes (0–64): the smaller of the direct pHash distance
/// and the distance between one image and the other's mirror (where known).
pub fn image_hash_distance(a: (u64, Option<u64>), b: (u64, Option<u64>)) -> u32 {
    let mut d = (a.0 ^ b.0).count_ones();
    if let Some(am) = a.1 {
        d = d.min((am ^ b.0).count_ones());
    }
    if let Some(bm) = b.1 {
        d = d.min((a.0 ^ bm).count_ones());
    }
    d
}

/// The level of an image-hash distance: 1, 2, 3 within [`IMAGE_HASH_LEVELS`], 4 beyond.
pub fn image_hash_level(distance: u32) -> u8 {
    IMAGE_HASH_LEVELS
        .iter()
        .position(|&t| distance <= t)
        .map_or(IMAGE_HASH_LEVELS.len() as u8 + 1, |i| i as u8 + 1)
}

/// The `i`-th of [`IMAGE_HASH_SEGMENTS`] 8-bit segments of a pHash.
pub fn image_hash_segment(hash: u64, i: u8) -> u8 {
    (hash >> (8 * u32::from(i % 8))) as u8
}

/// A camera serial: `make|serial` or the serial alone. Serials of fewer than three
/// letters and digits, or all zeros (a placeholder some cameras write), are missing.
pub fn camera_serial(raw: &str) -> Option<String> {
    let (make, serial) = match raw.split_once(['|', ':']) {
        Some((m, s)) => (m, s),
        None => ("", raw),
    };
    let make = spirit_text::fold(make);
    let make = make.split_whitespace().next().unwrap_or("");
    let serial: String = serial
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if serial.len() < 3 || serial.bytes().all(|b| b == b'0') {
        return None;
    }
    Some(format!("{make}:{serial}"))
}

/// A serialised writing-style profile ([`spirit_text::style::Profile::to_serialised`]):
/// kept as written when it parses, else missing.
pub fn style_profile(raw: &str) -> Option<String> {
    let t = raw.trim();
    spirit_text::style::Profile::parse(t)
        .ok()
        .map(|_| t.to_string())
}

/// A position `lat,lon` (or separated by `;` or spaces) in decimal degrees, rounded to
/// four decimals. Out-of-range values and the null island (0, 0) are missing.
pub fn geo_position(raw: &str) -> Option<String> {
    let mut parts = raw
        .split([',', ';', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let lat: f64 = parts.next()?.parse().ok()?;
    let lon: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some()
        || !lat.is_finite()
        || !lon.is_finite()
        || lat.abs() > 90.0
        || lon.abs() > 180.0
        || (lat == 0.0 && lon == 0.0)
    {
        return None;
    }
    let r = |x: f64| {
        let v = (x * 10_000.0).round() / 10_000.0;
        if v == 0.0 { 0.0 } else { v }
    };
    Some(format!("{:.4},{:.4}", r(lat), r(lon)))
}

/// The canonical `audio_fingerprint` of Chromaprint sub-fingerprints (`TEST2` preset),
/// cut to [`AUDIO_MAX_SUBPRINTS`]; `None` when too short or uninformative.
pub fn encode_audio_fingerprint(subprints: &[u32]) -> Option<String> {
    let fp = &subprints[..subprints.len().min(AUDIO_MAX_SUBPRINTS)];
    if !audio_informative(fp) {
        return None;
    }
    let bytes: Vec<u8> = fp.iter().flat_map(|x| x.to_le_bytes()).collect();
    Some(format!("{AUDIO_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

fn audio_informative(fp: &[u32]) -> bool {
    if fp.len() < AUDIO_MIN_SUBPRINTS {
        return false;
    }
    let mut distinct: Vec<u32> = fp.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() >= AUDIO_MIN_DISTINCT
}

/// An audio fingerprint: the canonical form (`chromaprint:<base64url>`, padding
/// tolerated), or the comma-separated integers `fpcalc -raw` prints (unsigned or
/// signed, optionally after `FINGERPRINT=`). Too short, silent, or malformed values are
/// missing.
pub fn audio_fingerprint(raw: &str) -> Option<String> {
    let t = raw.trim();
    let fp = if let Some(b64) = t.strip_prefix(AUDIO_PREFIX) {
        let bytes = URL_SAFE_NO_PAD.decode(b64.trim_end_matches('=')).ok()?;
        if bytes.len() % 4 != 0 {
            return None;
        }
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<u32>>()
    } else {
        let list = t.strip_prefix("FINGERPRINT=").unwrap_or(t);
        if list.is_empty() {
            return None;
        }
        list.split(',')
            .take(AUDIO_MAX_SUBPRINTS)
            .map(|x| {
                let v: i64 = x.trim().parse().ok()?;
                (-(1i64 << 31)..(1i64 << 32))
                    .contains(&v)
                    .then_some(v as u32)
            })
            .collect::<Option<Vec<u32>>>()?
    };
    encode_audio_fingerprint(&fp)
}

/// The sub-fingerprints of a canonical `audio_fingerprint` value.
pub fn parse_audio_fingerprint(v: &str) -> Option<Vec<u32>> {
    let bytes = URL_SAFE_NO_PAD.decode(v.strip_prefix(AUDIO_PREFIX)?).ok()?;
    (bytes.len() % 4 == 0).then(|| {
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

/// A stretch of audio common to two fingerprints.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioSegment {
    /// Where it starts in the first and the second recording, seconds.
    pub start_left: f32,
    pub start_right: f32,
    pub seconds: f32,
    /// Mean bit errors of the aligned sub-fingerprints (of 32; 0 identical, ~16 unrelated).
    pub bit_errors: f64,
}

/// Seconds of audio covered by `n` sub-fingerprints.
pub fn audio_seconds(n: usize) -> f32 {
    rusty_chromaprint::Configuration::preset_test2().item_duration_in_seconds() * n as f32
}

/// The best (fewest bit errors) common segment of two fingerprints of at least
/// [`AUDIO_MIN_SECONDS`], by Chromaprint's matcher (the one the audio evaluation
/// measured); `None` when there is none.
pub fn audio_best_segment(a: &[u32], b: &[u32]) -> Option<AudioSegment> {
    let config = rusty_chromaprint::Configuration::preset_test2();
    let segments = rusty_chromaprint::match_fingerprints(a, b, &config).ok()?;
    segments
        .iter()
        .map(|s| AudioSegment {
            start_left: s.start1(&config),
            start_right: s.start2(&config),
            seconds: s.duration(&config),
            bit_errors: s.score,
        })
        .filter(|s| s.seconds >= AUDIO_MIN_SECONDS)
        .min_by(|x, y| x.bit_errors.total_cmp(&y.bit_errors))
}

/// The level of two fingerprints: 1 *same recording*, 2 *similar*, 3 *else* (see
/// [`AUDIO_BIT_ERROR_LEVELS`]).
pub fn audio_fingerprint_level(a: &[u32], b: &[u32]) -> u8 {
    let else_level = AUDIO_BIT_ERROR_LEVELS.len() as u8 + 1;
    let Some(AudioSegment {
        bit_errors: errors, ..
    }) = audio_best_segment(a, b)
    else {
        return else_level;
    };
    AUDIO_BIT_ERROR_LEVELS
        .iter()
        .position(|&t| errors <= t)
        .map_or(else_level, |i| i as u8 + 1)
}

/// The `i`-th min-hash of a fingerprint's features (the distinct top `bits` bits of its
/// sub-fingerprints): two recordings whose feature sets overlap with Jaccard index J
/// share it with probability J, so a copy trimmed, re-encoded or made quieter shares
/// at least one of a few keys with its original while unrelated recordings rarely do.
/// `None` for an empty fingerprint.
pub fn audio_minhash(fp: &[u32], bits: u32, i: u8) -> Option<u64> {
    let bits = bits.clamp(1, 32);
    let seed = 0x243f_6a88_85a3_08d3u64.wrapping_mul(u64::from(i) + 1);
    fp.iter()
        .map(|&x| u64::from(x >> (32 - bits)))
        .map(|f| splitmix(f ^ seed))
        .min()
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The canonical forms `text` has as any of the exact identifiers from texts (crypto
/// address, IBAN, onion, PGP fingerprint, IP address, Jabber id; payment card when a key
/// is given): how a search query finds stored values.
pub fn identifier_forms(text: &str, card_key: Option<&[u8]>) -> Vec<(AttrKind, String)> {
    let mut out = Vec::new();
    let mut push = |k: AttrKind, v: Option<String>| {
        if let Some(v) = v {
            out.push((k, v));
        }
    };
    push(AttrKind::CryptoAddress, crypto_address(text));
    push(AttrKind::Iban, iban(text));
    push(AttrKind::OnionAddress, onion_address(text));
    push(AttrKind::PgpFingerprint, pgp_fingerprint(text));
    push(AttrKind::IpAddress, ip_address(text));
    if text.contains('@') {
        push(AttrKind::JabberId, jabber_id(text));
    }
    if let Some(key) = card_key {
        push(AttrKind::PaymentCard, payment_card(text, key));
    }
    out
}

/// Pseudo-random sub-fingerprints (xorshift), for the audio tests of this crate.
#[cfg(test)]
pub(crate) fn test_prints(seed: u64, n: usize) -> Vec<u32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// No normaliser panics, and each is idempotent on what it accepts.
        #[test]
        fn normalisers_never_panic_and_are_idempotent(s in "\\PC{0,80}", t in "[0-9a-zA-Z:./@ -]{0,70}") {
            let key = *CardKey::from_bytes([7; 32]).as_bytes();
            for x in [&s, &t] {
                type Normalise = fn(&str) -> Option<String>;
                let all: [(Normalise, &str); 10] = [
                    (crypto_address, "crypto"), (iban, "iban"), (ip_address, "ip"),
                    (onion_address, "onion"), (pgp_fingerprint, "pgp"), (jabber_id, "jabber"),
                    (image_hash, "image"), (camera_serial, "serial"), (geo_position, "geo"),
                    (audio_fingerprint, "audio"),
                ];
                for (f, name) in all {
                    if let Some(v) = f(x) {
                        prop_assert_eq!(f(&v), Some(v.clone()), "{} {:?}", name, x);
                    }
                }
                if let Some(v) = payment_card(x, &key) {
                    prop_assert_eq!(payment_card(&v, &key), Some(v.clone()));
                }
                let _ = identifier_forms(x, Some(&key));
            }
        }
    }

    #[test]
    fn card_keys_are_random_hidden_and_read_back() {
        let (a, b) = (CardKey::random().unwrap(), CardKey::random().unwrap());
        assert_ne!(a, b, "two draws of 256 bits");
        assert_eq!(CardKey::process(), CardKey::process(), "once per process");
        assert_eq!(CardKey::from_hex(&a.to_hex()).unwrap(), a);
        assert_eq!(CardKey::from_hex(&format!(" {}\n", a.to_hex())).unwrap(), a);
        assert!(!format!("{a:?}").contains(&a.to_hex()[..8]));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<CardKey>(&json).unwrap(), a);
        for bad in ["", "00", &"g".repeat(64), &"0".repeat(66)] {
            assert!(
                matches!(CardKey::from_hex(bad), Err(CardKeyError::Malformed)),
                "{bad}"
            );
        }
        let card = "4111 1111 1111 1111";
        assert_ne!(
            payment_card(card, a.as_bytes()),
            payment_card(card, b.as_bytes()),
            "hashes under two random keys differ"
        );
    }

    #[test]
    fn crypto_addresses_are_validated() {
        // Well-known addresses: the genesis block's, BIP-173's and BIP-350's examples.
        let genesis = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
        assert_eq!(crypto_address(genesis).as_deref(), Some(genesis));
        assert_eq!(
            crypto_address(&format!("bitcoin:{genesis}?amount=1")).as_deref(),
            Some(genesis)
        );
        assert_eq!(crypto_address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"), None);
        assert_eq!(
            crypto_address("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4").as_deref(),
            Some("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
        );
        assert_eq!(
            crypto_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").as_deref(),
            Some("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
        );
        // Broken EIP-55 checksum (one letter's case flipped).
        assert_eq!(
            crypto_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
            None
        );
        assert_eq!(crypto_address("hello"), None);
    }

    #[test]
    fn ibans_cards_and_network_ids() {
        assert_eq!(
            iban("GB82 WEST 1234 5698 7654 32").as_deref(),
            Some("GB82WEST12345698765432")
        );
        assert_eq!(iban("GB83 WEST 1234 5698 7654 32"), None);
        let key = *CardKey::from_bytes([7; 32]).as_bytes();
        let t = payment_card("4111 1111 1111 1111", &key).unwrap();
        assert!(t.starts_with("card:1111:") && !t.contains("411111"), "{t}");
        assert_eq!(payment_card("4111-1111-1111-1111", &key), Some(t.clone()));
        assert_eq!(payment_card(&t, &key), Some(t.clone()), "idempotent");
        assert_ne!(payment_card("4111111111111111", b"other key"), Some(t));
        assert_eq!(payment_card("4111 1111 1111 1112", &key), None, "Luhn");
        assert_eq!(ip_address(" 192.0.2.1 ").as_deref(), Some("192.0.2.1"));
        assert_eq!(
            ip_address("[2001:DB8:0::1]").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(ip_address("::ffff:192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(ip_address("300.1.1.1"), None);
        let onion = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";
        assert_eq!(
            onion_address(&format!("http://www.{}/x", onion.to_uppercase())).as_deref(),
            Some(onion)
        );
        assert_eq!(
            onion_address("2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wie.onion"),
            None
        );
        assert_eq!(
            pgp_fingerprint("0x4aee 18f8 3afd eb23 1ff1  0b3e 5ad5 0c4f 7b1e 7ac2").as_deref(),
            Some("4AEE18F83AFDEB231FF10B3E5AD50C4F7B1E7AC2")
        );
        assert_eq!(pgp_fingerprint("4AEE18F83AFDEB23"), None);
        assert_eq!(
            jabber_id("xmpp:Vendor@Jabber.CCC.de/phone").as_deref(),
            Some("vendor@jabber.ccc.de")
        );
        assert_eq!(jabber_id("no at sign"), None);
        let forms = identifier_forms("GB82 WEST 1234 5698 7654 32", None);
        assert_eq!(forms, [(AttrKind::Iban, "GB82WEST12345698765432".into())]);
        assert!(identifier_forms("4111 1111 1111 1111", None).is_empty());
        assert_eq!(identifier_forms("4111 1111 1111 1111", Some(&key)).len(), 1);
    }

    proptest! {
        /// Any sub-fingerprints round-trip through the canonical form; any bytes after
        /// the prefix are either missing or canonical.
        #[test]
        fn audio_values_round_trip(fp in proptest::collection::vec(any::<u32>(), 0..1100),
                                   junk in "[A-Za-z0-9_=+/-]{0,90}") {
            match encode_audio_fingerprint(&fp) {
                Some(v) => {
                    let kept = &fp[..fp.len().min(AUDIO_MAX_SUBPRINTS)];
                    prop_assert_eq!(parse_audio_fingerprint(&v), Some(kept.to_vec()));
                    prop_assert_eq!(audio_fingerprint(&v), Some(v.clone()));
                    let list: Vec<String> = kept.iter().map(|x| (*x as i32).to_string()).collect();
                    prop_assert_eq!(audio_fingerprint(&list.join(",")), Some(v));
                }
                None => prop_assert!(fp.len() < AUDIO_MIN_SUBPRINTS || fp.iter().collect::<std::collections::BTreeSet<_>>().len() < AUDIO_MIN_DISTINCT),
            }
            if let Some(v) = audio_fingerprint(&format!("{AUDIO_PREFIX}{junk}")) {
                prop_assert_eq!(audio_fingerprint(&v), Some(v.clone()));
            }
        }
    }

    use super::test_prints as noise;

    #[test]
    fn audio_fingerprint_values_and_levels() {
        let a = noise(1, 300);
        let v = encode_audio_fingerprint(&a).unwrap();
        assert!(v.starts_with("chromaprint:"), "{v}");
        assert_eq!(
            v.len(),
            "chromaprint:".len() + (300usize * 4 * 4).div_ceil(3)
        );
        assert_eq!(audio_fingerprint(&format!("  {v}== ")), Some(v.clone()));
        let raw: Vec<String> = a.iter().map(u32::to_string).collect();
        assert_eq!(
            audio_fingerprint(&format!("FINGERPRINT={}", raw.join(","))),
            Some(v.clone())
        );
        // Malformed, too short, silent: missing.
        assert_eq!(audio_fingerprint("chromaprint:not base64!"), None);
        assert_eq!(
            audio_fingerprint("chromaprint:AAAAAA"),
            None,
            "not whole words"
        );
        assert_eq!(audio_fingerprint("1,2,3"), None, "too short");
        assert_eq!(
            encode_audio_fingerprint(&[7; 400]),
            None,
            "one repeated value"
        );
        assert_eq!(audio_fingerprint("1,2,x,4"), None);
        assert_eq!(audio_fingerprint(""), None);
        assert_eq!(audio_fingerprint("99999999999,1"), None);
        // Long recordings are cut to the first ~127 s.
        let long = noise(2, 3000);
        let cut = parse_audio_fingerprint(&encode_audio_fingerprint(&long).unwrap()).unwrap();
        assert_eq!(cut, long[..AUDIO_MAX_SUBPRINTS]);

        // Levels by Chromaprint's matcher: the same, a trimmed copy with a few bits
        // flipped, and another recording.
        assert_eq!(audio_fingerprint_level(&a, &a), 1);
        let mut flips = noise(3, 300).into_iter();
        let trimmed: Vec<u32> = a[90..]
            .iter()
            .map(|x| {
                // One bit in 16 flipped: about 2 of 32 per sub-fingerprint.
                let f = flips.next().unwrap();
                x ^ ((1 << (f % 32)) | (1 << ((f >> 8) % 32)))
            })
            .collect();
        let seg = audio_best_segment(&a, &trimmed).unwrap();
        assert!(
            seg.seconds > 20.0 && (1.0..=3.0).contains(&seg.bit_errors),
            "{seg:?}"
        );
        // The copy starts 90 sub-fingerprints (~11 s) into the original.
        assert!((seg.start_left - audio_seconds(90)).abs() < 1.0, "{seg:?}");
        assert_eq!(audio_fingerprint_level(&a, &trimmed), 1);
        let five: Vec<u32> = a
            .iter()
            .zip(noise(4, 300))
            .map(|(x, f)| {
                // Four or five distinct bits flipped.
                let mut y = *x;
                for k in 0..5 {
                    y ^= 1 << ((f >> (6 * k)) % 32);
                }
                y
            })
            .collect();
        let errors = audio_best_segment(&a, &five).unwrap().bit_errors;
        assert!((3.0..=5.0).contains(&errors), "{errors}");
        assert_eq!(audio_fingerprint_level(&a, &five), 2);
        assert_eq!(audio_fingerprint_level(&a, &noise(5, 300)), 3);
    }

    #[test]
    fn media_values() {
        assert_eq!(
            image_hash(" 00FF00FF00FF00FF ").as_deref(),
            Some("00ff00ff00ff00ff")
        );
        assert_eq!(image_hash("00ff"), None);
        let a = parse_image_hash("00000000000000ff:ff00000000000000").unwrap();
        let b = parse_image_hash("ff00000000000001").unwrap();
        assert_eq!(image_hash_distance(a, b), 1, "the mirror is near");
        assert_eq!(image_hash_distance(b, a), 1);
        assert_eq!(image_hash_level(0), 1);
        assert_eq!(image_hash_level(5), 1);
        assert_eq!(image_hash_level(6), 2);
        assert_eq!(image_hash_level(17), 3);
        assert_eq!(image_hash_level(18), 4);
        assert_eq!(
            camera_serial("Canon Inc.|0 123-456").as_deref(),
            Some("canon:0123456")
        );
        assert_eq!(camera_serial("0000000"), None);
        assert_eq!(
            geo_position("51.500729, -0.124625").as_deref(),
            Some("51.5007,-0.1246")
        );
        assert_eq!(geo_position("95,1"), None);
        assert_eq!(geo_position("0,0"), None);
    }
}
