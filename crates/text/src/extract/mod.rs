//! Identifier extraction: finds e-mail addresses, telephone numbers, cryptocurrency addresses,
//! IBANs, payment cards, IP addresses, domains and URLs, onion services, PGP keys and
//! fingerprints, and messaging handles in free text or HTML, each validated (checksums,
//! numbering plans, registries) and normalised.
//!
//! ```
//! use spirit_text::extract::{Extractor, Kind};
//! let x = Extractor::new("GB");
//! let found = x.extract_text("Mail john [at] example [dot] com or call 0161 496 0000.");
//! assert_eq!(found[0].kind, Kind::Email);
//! assert_eq!(found[0].value, "john@example.com");
//! assert_eq!(found[0].raw, "john [at] example [dot] com");
//! assert_eq!(found[1].kind, Kind::Phone);
//! assert_eq!(found[1].value, "+441614960000");
//! ```
//!
//! # How it works
//!
//! 1. **Text.** Plain text is read as UTF-8 (invalid bytes become U+FFFD). HTML goes through
//!    html5ever's tokenizer ([`looks_like_html`] sniffs it): scripts and styles are dropped,
//!    block tags become line breaks, link targets (`href`) are kept as text.
//! 2. **De-obfuscation.** Zero-width and bidi characters and soft hyphens are removed,
//!    full-width characters and exotic spaces and dashes become ASCII, and "[at]", "(at)",
//!    "{at}", "[dot]", "(dot)", "[.]" (with the spaces around them) become '@' and '.'.
//!    "name at domain dot com" written out in words is matched by its own pattern, accepted
//!    only when the context makes an address likely (a webmail domain, a local part with a
//!    digit, dot or underscore, or "mail"/"contact" just before).
//! 3. **Candidates.** Byte scans propose candidates: one over runs of letters and digits
//!    (crypto addresses, IBAN and fingerprint starts; a bitmap of word bytes, built eight
//!    bytes at a time, finds the runs of four or more bytes without visiting shorter words),
//!    one over runs of digits with light separators (phones, cards; it jumps to the next
//!    digit eight bytes at a time), and memchr searches ('@', '/', "://", '.', ':', the word
//!    "at") that decide which finders run at all and where. A few linear-time
//!    regular expressions (the `regex` crate: no backtracking, so no catastrophic patterns)
//!    then run only where those scans found something they can match: the domain and IPv4
//!    patterns only on whitespace-delimited chunks holding a dot before a real TLD or three
//!    dots between digits, the URL pattern only from five bytes before a "://", the
//!    written-out e-mail pattern only next to an "at" that a domain follows. Each shortcut
//!    finds exactly what its pattern finds (property tests compare them on random input).
//! 4. **Validation.** Only candidates that pass their kind's check are reported: Luhn and
//!    issuer prefixes for cards, mod-97 and the country length for IBANs, base58check /
//!    bech32 / bech32m for Bitcoin, EIP-55 for mixed-case Ethereum addresses, Keccak checksums
//!    for Monero, the SHA3 checksum of onion v3 addresses, `phonenumber`'s parsing and
//!    validity for phones (the crate's parsing steps for a string of digits and its
//!    numbering-plan patterns, compiled once per region: the same E.164 value and verdict as
//!    `phonenumber::parse` and `phonenumber::is_valid` at about a quarter of the cost),
//!    the standard library's parsers for IP addresses, a compiled list of real TLDs for
//!    domains, CRC-24 and packet parsing for armoured PGP keys.
//! 5. **Overlaps.** Among overlapping candidates the longest wins (then the more specific
//!    kind). URLs and PGP key blocks are containers: identifiers inside a URL (an onion
//!    address, an Ethereum address in a block-explorer link, an e-mail in a query) are
//!    reported too, but not the URL's own domain.
//!
//! # Offsets
//!
//! [`Finding::start`] and [`Finding::end`] are **byte offsets into the original input** (the
//! HTML file itself, not its extracted text), always on character boundaries of the input.
//! Where the text was rewritten (an entity such as `&#64;`, "[at]", a full-width digit) the
//! span covers the whole source that produced it, so `raw` (the input's bytes in the span)
//! shows what was really written — for HTML possibly with tags inside, e.g.
//! `j<span>@</span>x.org`.
//!
//! # Normalised values
//!
//! E-mails, jabber ids, domains, onion addresses and handles in lowercase; phones in E.164;
//! Ethereum addresses lowercase; segwit addresses lowercase (base58 and Monero addresses are
//! case-sensitive and kept as written); IBANs uppercase without spaces; PGP fingerprints
//! uppercase hex without spaces; IP addresses in their canonical text form. Payment cards are
//! never output in full: `value` and `raw` are masked (`411111******1111`) and `hash` holds the
//! SHA-256 (hex, unkeyed) of the digits for exact matching.

pub mod checks;
mod html;
mod map;
mod phone;
mod scan;
#[doc(hidden)]
pub use scan::profile;
mod tld;

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use serde::Serialize;

pub use html::looks_like_html;
use map::SpanMap;

/// What was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An ASCII-armoured OpenPGP public key block; the value is the primary key's fingerprint.
    PgpKey,
    /// An http(s)/ftp URL (also "hxxp" defanged, and bare "host/path").
    Url,
    /// An e-mail address.
    Email,
    /// An XMPP/Jabber id ("xmpp:" prefix or a known XMPP server).
    Jabber,
    /// A Telegram username (t.me/name, telegram.me/name); the value is "@name".
    Telegram,
    /// An International Bank Account Number.
    Iban,
    /// A payment-card number (masked in the output).
    Card,
    /// A telephone number (E.164).
    Phone,
    /// A Bitcoin address (base58check or segwit).
    Bitcoin,
    /// An Ethereum address.
    Ethereum,
    /// A Monero address (standard, subaddress or integrated).
    Monero,
    /// A Tor onion service v3 address.
    Onion,
    /// An OpenPGP fingerprint (40 hex digits, spaced in groups of four or next to "fingerprint").
    PgpFingerprint,
    /// An IPv6 address.
    Ipv6,
    /// An IPv4 address.
    Ipv4,
    /// A domain name with a real top-level domain.
    Domain,
    /// A social-media handle ("@name").
    Handle,
}

impl Kind {
    /// Every kind, in priority order (earlier wins a tie between overlapping candidates).
    pub const ALL: [Kind; 17] = [
        Kind::PgpKey,
        Kind::Url,
        Kind::Email,
        Kind::Jabber,
        Kind::Telegram,
        Kind::Iban,
        Kind::Card,
        Kind::Phone,
        Kind::Bitcoin,
        Kind::Ethereum,
        Kind::Monero,
        Kind::Onion,
        Kind::PgpFingerprint,
        Kind::Ipv6,
        Kind::Ipv4,
        Kind::Domain,
        Kind::Handle,
    ];

    /// The kind's name as in JSON output ("email", "pgp_fingerprint", …).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PgpKey => "pgp_key",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Jabber => "jabber",
            Kind::Telegram => "telegram",
            Kind::Iban => "iban",
            Kind::Card => "card",
            Kind::Phone => "phone",
            Kind::Bitcoin => "bitcoin",
            Kind::Ethereum => "ethereum",
            Kind::Monero => "monero",
            Kind::Onion => "onion",
            Kind::PgpFingerprint => "pgp_fingerprint",
            Kind::Ipv6 => "ipv6",
            Kind::Ipv4 => "ipv4",
            Kind::Domain => "domain",
            Kind::Handle => "handle",
        }
    }

    /// The kind named `s` (as [`Kind::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn is_container(self) -> bool {
        matches!(self, Kind::Url | Kind::PgpKey)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One identifier found in the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is.
    pub kind: Kind,
    /// The normalised value (masked for cards).
    pub value: String,
    /// Byte offset of the first byte in the original input.
    pub start: usize,
    /// Byte offset just past the last byte in the original input.
    pub end: usize,
    /// The input's text in `start..end` as written (masked for cards). No unkeyed hash of
    /// a card is given: one could be reversed by hashing every number with the same first
    /// six and last four digits; the store keeps cards as keyed hashes.
    pub raw: String,
}

/// How to read the input of [`Extractor::extract_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// HTML when [`looks_like_html`] says so, else text.
    Auto,
    /// Plain text.
    Text,
    /// HTML.
    Html,
}

/// A configured extractor: cheap to build, immutable, shareable between threads.
#[derive(Clone, Copy, Debug)]
pub struct Extractor {
    region: Option<Id>,
    trunk_zero: bool,
}

/// A candidate in derived-text offsets.
#[derive(Clone, Debug)]
pub(crate) struct Cand {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub value: String,
    /// Reported even when inside a container of another kind (an onion host inside its URL).
    pub nested: bool,
}

impl Cand {
    pub(crate) fn new(kind: Kind, start: usize, end: usize, value: String) -> Cand {
        Cand {
            kind,
            start,
            end,
            value,
            nested: false,
        }
    }
}

impl Extractor {
    /// An extractor reading national phone numbers in `default_region` (ISO 3166 alpha-2,
    /// "UK" means GB); an unknown or empty region accepts only international numbers.
    pub fn new(default_region: &str) -> Extractor {
        let code = default_region.trim().to_ascii_uppercase();
        let code = if code == "UK" { "GB".to_string() } else { code };
        let region = code
            .parse::<Id>()
            .ok()
            .filter(|id| DATABASE.by_id(id.as_ref()).is_some());
        let trunk_zero = region
            .and_then(|id| DATABASE.by_id(id.as_ref()))
            .and_then(|m| m.national_prefix())
            == Some("0");
        Extractor { region, trunk_zero }
    }

    /// Identifiers in plain text; offsets are byte offsets into `text`.
    pub fn extract_text(&self, text: &str) -> Vec<Finding> {
        self.run(text, text.as_bytes(), None)
    }

    /// Identifiers in an HTML page; offsets are byte offsets into `html`.
    pub fn extract_html(&self, html: &str) -> Vec<Finding> {
        let (text, map) = html::html_to_text(html);
        self.run(&text, html.as_bytes(), Some(&map))
    }

    /// Identifiers in raw bytes (any encoding errors are replaced); offsets are byte offsets
    /// into `input`.
    pub fn extract_bytes(&self, input: &[u8], format: Format) -> Vec<Finding> {
        let html = match format {
            Format::Auto => looks_like_html(input),
            Format::Text => false,
            Format::Html => true,
        };
        match (std::str::from_utf8(input), html) {
            (Ok(s), false) => self.extract_text(s),
            (Ok(s), true) => self.extract_html(s),
            (Err(_), false) => {
                let (text, map) = map::decode_lossy(input);
                self.run(&text, input, Some(&map))
            }
            (Err(_), true) => {
                let (text, map1) = map::decode_lossy(input);
                let (t2, map2) = html::html_to_text(&text);
                let mut found = self.run(&t2, text.as_bytes(), Some(&map2));
                for f in &mut found {
                    f.start = map1.start(f.start);
                    f.end = map1.end(f.end).max(f.start);
                    f.raw = raw_text(input, f.start, f.end);
                    if f.kind == Kind::Card {
                        f.raw = mask_digits(&f.raw);
                    }
                }
                found
            }
        }
    }

    /// Scans `text` (derived from `source` by `map`, or `source` itself).
    fn run(&self, text: &str, source: &[u8], map: Option<&SpanMap>) -> Vec<Finding> {
        let cleaned = map::clean(text);
        let (t, clean_map) = match &cleaned {
            Some((t, m)) => (t.as_str(), Some(m)),
            None => (text, None),
        };
        let cands = resolve(scan::scan(self, t));
        let mut out = Vec::with_capacity(cands.len());
        for c in cands {
            let (mut s, mut e) = (c.start, c.end);
            if let Some(m) = clean_map {
                (s, e) = (m.start(s), m.end(e));
            }
            if let Some(m) = map {
                (s, e) = (m.start(s), m.end(e));
            }
            let s = floor_boundary(source, s.min(source.len()));
            let e = ceil_boundary(source, e.min(source.len()).max(s));
            let mut raw = raw_text(source, s, e);
            if c.kind == Kind::Card {
                raw = mask_digits(&raw);
            }
            out.push(Finding {
                kind: c.kind,
                value: c.value,
                start: s,
                end: e,
                raw,
            });
        }
        out.sort_by_cached_key(|f| (f.start, std::cmp::Reverse(f.end), f.kind));
        out
    }

    /// E.164 of a phone-number candidate valid in the numbering plan.
    pub(crate) fn phone(&self, digits: &str, international: bool) -> Option<String> {
        let region = if international {
            None
        } else {
            Some(self.region?)
        };
        // In regions whose trunk prefix is 0, a national number is written with it: a bare
        // "1706659200" is a timestamp, not +44 1706 659200.
        if !international && self.trunk_zero && !digits.starts_with('0') {
            return None;
        }
        let meta = region.and_then(|id| DATABASE.by_id(id.as_ref()));
        phone::parse_valid(meta, international, digits)
    }
}

/// Identifiers in plain text with phones read in `default_region`; see [`Extractor`].
pub fn extract(text: &str, default_region: &str) -> Vec<Finding> {
    Extractor::new(default_region).extract_text(text)
}

fn raw_text(source: &[u8], s: usize, e: usize) -> String {
    String::from_utf8_lossy(&source[s..e]).into_owned()
}

fn is_boundary(source: &[u8], i: usize) -> bool {
    i == 0 || i >= source.len() || (source[i] as i8) >= -0x40
}

fn floor_boundary(source: &[u8], mut i: usize) -> usize {
    while !is_boundary(source, i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(source: &[u8], mut i: usize) -> usize {
    while !is_boundary(source, i) {
        i += 1;
    }
    i.min(source.len())
}

/// Replaces all digits but the first six and the last four with '*'.
pub fn mask_digits(s: &str) -> String {
    let n = s.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen > 6 && seen + 4 <= n { '*' } else { c }
            } else if c.is_numeric() {
                // Full-width and other digits: always masked.
                '*'
            } else {
                c
            }
        })
        .collect()
}

/// Keeps the longest candidate of overlapping ones (ties: kind priority), separately for
/// containers (URLs, PGP blocks) and the rest; then drops domains and IP addresses inside a kept URL and
/// anything inside a PGP block.
fn resolve(cands: Vec<Cand>) -> Vec<Cand> {
    let (containers, others): (Vec<Cand>, Vec<Cand>) =
        cands.into_iter().partition(|c| c.kind.is_container());
    let mut containers = greedy(containers);
    let others = greedy(others);
    // Containers do not overlap each other: sorted by start, the only one that can overlap
    // a span is the last one starting before the span ends.
    containers.sort_by_key(|k| k.start);
    let last_before = |end: usize| {
        let i = containers.partition_point(|k| k.start < end);
        i.checked_sub(1).map(|i| &containers[i])
    };
    let mut out: Vec<Cand> = others
        .into_iter()
        .filter(|c| match last_before(c.end) {
            Some(k) if k.end > c.start => match k.kind {
                Kind::PgpKey => !(k.start <= c.start && c.end <= k.end),
                _ => c.nested || !matches!(c.kind, Kind::Domain | Kind::Ipv4 | Kind::Ipv6),
            },
            _ => true,
        })
        .collect();
    out.extend(containers);
    out
}

fn greedy(mut cands: Vec<Cand>) -> Vec<Cand> {
    // Sorting small keys (with their index) and then moving each candidate once is much
    // cheaper than sorting the candidates themselves; the order is the same (stable).
    cands.sort_by_cached_key(|c| {
        (
            std::cmp::Reverse(c.end.wrapping_sub(c.start)),
            c.kind,
            c.start,
            std::cmp::Reverse(c.nested),
        )
    });
    let mut kept: std::collections::BTreeMap<usize, usize> = Default::default();
    let mut out = Vec::with_capacity(cands.len());
    for c in cands {
        if c.end <= c.start {
            continue;
        }
        if let Some((_, &e)) = kept.range(..c.end).next_back()
            && e > c.start
        {
            continue;
        }
        kept.insert(c.start, c.end);
        out.push(c);
    }
    out
}

/// The visible text of an HTML page or fragment (scripts and styles dropped, block
/// elements as line breaks): what a reader sees, for stylometry over HTML posts.
pub fn visible_text(html: &str) -> String {
    html::html_to_text(html).0
}
