//! E-mail addresses (also written out as "name at domain dot com") and Jabber ids.

use std::sync::LazyLock;

use regex::Regex;

use crate::extract::tld::is_tld;
use crate::extract::{Cand, Kind};

use super::{is_word, re, window_before};

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i-u)[a-z0-9._%+\-]{1,64}@[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?)+",
    )
});
pub(super) static SPACED_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i-u)\b[a-z0-9][a-z0-9._\-]{0,63} +at +[a-z0-9][a-z0-9\-]{0,62}(?:(?: +dot +|\.)[a-z0-9][a-z0-9\-]{0,62})+\b",
    )
});

/// Known public XMPP servers (the domain of a Jabber id).
const XMPP_SERVERS: &[&str] = &[
    "jabber.org",
    "jabber.ru",
    "jabber.de",
    "jabber.ccc.de",
    "jabber.cz",
    "jabber.at",
    "jabber.fr",
    "jabber.se",
    "jabber.calyxinstitute.org",
    "xmpp.jp",
    "xmpp.is",
    "xmpp.zone",
    "conversations.im",
    "exploit.im",
    "thesecure.biz",
    "jabb.im",
    "draugr.de",
    "404.city",
    "dismail.de",
    "blabber.im",
    "jabbim.com",
    "jabbim.cz",
    "movim.eu",
    "trashserver.net",
    "yax.im",
    "xmpp.ru",
    "jabber.hot-chilli.net",
    "jabber.sk",
    "xabber.org",
    "jabber.fi",
    "suchat.org",
    "jabber.space",
    "im.koderoot.net",
    "chatterboxtown.us",
    "hot-chilli.net",
];

fn is_xmpp_domain(d: &str) -> bool {
    XMPP_SERVERS.contains(&d) || d.starts_with("jabber.") || d.starts_with("xmpp.")
}

/// Trims trailing labels whose TLD is not real ("x@example.com.Next" → example.com);
/// `None` when nothing valid remains.
fn valid_domain_prefix(domain: &str) -> Option<usize> {
    let mut d = domain;
    loop {
        let (rest, tld) = d.rsplit_once('.')?;
        let lower = tld.to_ascii_lowercase();
        let case_ok = tld.bytes().all(|c| !c.is_ascii_uppercase())
            || tld.bytes().all(|c| !c.is_ascii_lowercase());
        if case_ok && is_tld(&lower) && !rest.is_empty() {
            return Some(d.len());
        }
        d = rest;
    }
}

pub(super) fn emails(t: &str, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    for m in EMAIL.find_iter(t) {
        let (mut s, e) = (m.start(), m.end());
        let at = s + m.as_str().find('@').unwrap_or(0);
        while s < at && matches!(b[s], b'.' | b'-' | b'+' | b'%') {
            s += 1;
        }
        if s >= at || b[at - 1] == b'.' {
            continue;
        }
        let local = &t[s..at];
        if local.contains("..") {
            continue;
        }
        let Some(dlen) = valid_domain_prefix(&t[at + 1..e]) else {
            continue;
        };
        let e = at + 1 + dlen;
        if b.get(e) == Some(&b'@') {
            continue;
        }
        let value = t[s..e].to_ascii_lowercase();
        let domain = &value[at + 1 - s..];
        let prefix = &window_before(t, s, 7).to_ascii_lowercase();
        let (kind, start) = if prefix.ends_with("xmpp:") {
            (Kind::Jabber, s - 5)
        } else if prefix.ends_with("jabber:") {
            (Kind::Jabber, s - 7)
        } else if is_xmpp_domain(domain) {
            (Kind::Jabber, s)
        } else {
            (Kind::Email, s)
        };
        out.push(Cand::new(kind, start, e, value));
    }
}

const AT_STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "i",
    "we",
    "you",
    "they",
    "he",
    "she",
    "it",
    "me",
    "us",
    "him",
    "her",
    "them",
    "this",
    "that",
    "is",
    "was",
    "be",
    "are",
    "were",
    "look",
    "looking",
    "looked",
    "arrive",
    "arrived",
    "arriving",
    "meet",
    "meeting",
    "stay",
    "staying",
    "stayed",
    "work",
    "works",
    "working",
    "worked",
    "live",
    "lives",
    "living",
    "lived",
    "born",
    "based",
    "located",
    "available",
    "found",
    "seen",
    "held",
    "here",
    "there",
    "home",
    "only",
    "even",
    "just",
    "not",
    "all",
    "back",
    "up",
    "out",
    "off",
    "down",
    "eat",
    "sell",
    "sold",
    "buy",
    "bought",
    "shop",
    "play",
    "played",
    "study",
    "studied",
    "office",
    "time",
    "point",
    "least",
    "most",
    "best",
    "once",
    "night",
    "noon",
    "left",
    "right",
    "arrives",
    "started",
    "start",
    "began",
    "ended",
    "end",
    "aimed",
    "aim",
    "shot",
    "fired",
    "laughed",
    "smiled",
    "stared",
    "glanced",
    "good",
    "great",
    "bad",
    "better",
    "worse",
    "staff",
    "students",
    "people",
];

const WEBMAIL: &[&str] = &[
    "gmail",
    "googlemail",
    "yahoo",
    "hotmail",
    "outlook",
    "live",
    "msn",
    "aol",
    "icloud",
    "me",
    "mac",
    "protonmail",
    "proton",
    "pm",
    "tutanota",
    "tuta",
    "gmx",
    "web",
    "mail",
    "yandex",
    "ya",
    "rambler",
    "qq",
    "163",
    "126",
    "zoho",
    "fastmail",
    "hushmail",
    "riseup",
    "cock",
    "disroot",
    "posteo",
    "mailbox",
    "mailfence",
    "onionmail",
    "keemail",
    "ctemplar",
];

pub(super) fn spaced_emails(t: &str, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    if memchr::memmem::find(b, b" at ").is_none()
        && memchr::memmem::find(b, b" AT ").is_none()
        && memchr::memmem::find(b, b" At ").is_none()
    {
        return;
    }
    let ats = at_words(b);
    let mut pos = 0;
    while let Some(m) = next_spaced(t, pos, &ats) {
        let s = m.start();
        let lower = m.as_str().to_ascii_lowercase();
        let local = lower.split(' ').next().unwrap_or("");
        // On rejection, search again from the word after "at": "her at jane.doe at …".
        pos = s + local.len().max(1);
        let mut words = lower.split(' ').filter(|w| !w.is_empty()).skip(2);
        let domain: String = words
            .by_ref()
            .map(|w| if w == "dot" { "." } else { w })
            .collect::<Vec<_>>()
            .concat();
        if AT_STOPWORDS.contains(&local) || local.ends_with('.') || domain.contains("..") {
            continue;
        }
        // Only up to the last label that is a real TLD.
        let Some(dlen) = valid_domain_prefix(&domain) else {
            continue;
        };
        let domain = &domain[..dlen];
        let sld = domain.rsplit('.').nth(1).unwrap_or("");
        let context = window_before(t, s, 48).to_ascii_lowercase();
        let likely = WEBMAIL.contains(&sld)
            || local
                .bytes()
                .any(|c| c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'))
            || ["mail", "contact", "write to", "reach"]
                .iter()
                .any(|k| context.contains(k));
        if !likely {
            continue;
        }
        let Some(off) = spaced_end(m.as_str(), domain) else {
            continue;
        };
        let e = s + off;
        if b.get(e) == Some(&b'@') {
            continue;
        }
        pos = e;
        out.push(Cand::new(Kind::Email, s, e, format!("{local}@{domain}")));
    }
}

/// Positions of the word "at" (any case) between spaces.
pub(super) fn at_words(b: &[u8]) -> Vec<usize> {
    let mut v = Vec::new();
    for pat in [b" at ", b" AT ", b" At ", b" aT "] {
        v.extend(memchr::memmem::find_iter(b, pat).map(|p| p + 1));
    }
    v.sort_unstable();
    v
}

fn is_local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')
}

/// True when a written-out domain can start at `d`: a label, then '.' and a letter or digit,
/// or spaces and "dot" and a space.
fn domain_may_follow(b: &[u8], d: usize) -> bool {
    if !b.get(d).is_some_and(u8::is_ascii_alphanumeric) {
        return false;
    }
    let mut j = d + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-') {
        j += 1;
    }
    match b.get(j) {
        Some(b'.') => b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric),
        Some(b' ') => {
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            b.get(j..j + 3)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"dot"))
                && b.get(j + 3) == Some(&b' ')
        }
        _ => false,
    }
}

/// The first match of [`SPACED_EMAIL`] starting at or after `pos` (as `find_at`), looked
/// for only next to the "at" words `ats` that a domain follows: a match's local part ends
/// just before the spaces in front of its "at", so its start is the leftmost place up to 64
/// bytes before them where a word starts and only local-part characters follow.
pub(super) fn next_spaced<'t>(t: &'t str, pos: usize, ats: &[usize]) -> Option<regex::Match<'t>> {
    let b = t.as_bytes();
    let first = ats.partition_point(|&a| a < pos);
    for &a in &ats[first..] {
        let mut r = a;
        while r > 0 && b[r - 1] == b' ' {
            r -= 1;
        }
        let mut d = a + 2;
        while d < b.len() && b[d] == b' ' {
            d += 1;
        }
        if !domain_may_follow(b, d) {
            continue;
        }
        let lo = pos.max(r.saturating_sub(64));
        let mut k = r;
        while k > lo && is_local_char(b[k - 1]) {
            k -= 1;
        }
        let Some(s) =
            (k..r).find(|&s| b[s].is_ascii_alphanumeric() && (s == 0 || !is_word(b[s - 1])))
        else {
            continue;
        };
        // From the first possible start the regular expression decides (and, should this "at"
        // not make a match after all, finds the next one itself).
        return SPACED_EMAIL.find_at(t, s);
    }
    None
}

/// Byte offset in the written "name at domain dot com" where `domain`'s last label ends.
fn spaced_end(written: &str, domain: &str) -> Option<usize> {
    let lower = written.to_ascii_lowercase();
    let at = lower.find(" at ")?;
    let mut pos = at + 4;
    for (i, label) in domain.split('.').enumerate() {
        if i > 0 {
            let rest = &lower[pos..];
            let skip = if rest.starts_with('.') {
                1
            } else {
                let trimmed = rest.trim_start_matches(' ');
                let after_dot = trimmed.strip_prefix("dot")?.trim_start_matches(' ');
                rest.len() - after_dot.len()
            };
            pos += skip;
        }
        let rest = &lower[pos..];
        let rest_trim = rest.trim_start_matches(' ');
        pos += rest.len() - rest_trim.len();
        if !rest_trim.starts_with(label) {
            return None;
        }
        pos += label.len();
    }
    Some(pos)
}
