//! Candidate finders and their validation. Every finder works on the cleaned text and
//! returns candidates in its byte offsets.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;

use super::checks;
use super::tld::{is_file_like, is_tld};
use super::{Cand, Extractor, Kind, mask_digits};

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid built-in pattern")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i-u)[a-z0-9._%+\-]{1,64}@[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?)+",
    )
});
static SPACED_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i-u)\b[a-z0-9][a-z0-9._\-]{0,63} +at +[a-z0-9][a-z0-9\-]{0,62}(?:(?: +dot +|\.)[a-z0-9][a-z0-9\-]{0,62})+\b",
    )
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i-u:\b(?:https?|hxxps?|ftp)://)[^\s<>"'`{}|\\^\[\]]+"#));
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i-u:\b(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24}|xn--[a-z0-9\-]{1,59})\b)(?:/[^\s<>"'`{}|\\^\[\]]*)?"#,
    )
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u)\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b"));
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i-u)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})?")
});
/// The digit runs [`digit_runs`] finds, as a regular expression (the reference it is tested
/// against).
#[cfg(test)]
static DIGITS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u)\+?\(?[0-9](?:[ \-.()/]{0,3}[0-9]){6,24}"));
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u)\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}"));
/// The spaced fingerprints [`pgp_spaced_len`] finds, as a regular expression (the reference
/// it is tested against).
#[cfg(test)]
static PGP_SPACED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i-u)\b[0-9a-f]{4}(?: {1,2}[0-9a-f]{4}){9}\b"));

/// Time spent per finder (for tuning).
#[doc(hidden)]
pub fn profile(x: &Extractor, t: &str) -> Vec<(&'static str, f64)> {
    type F = fn(&Extractor, &str, &mut Vec<Cand>);
    let fs: [(&'static str, F); 10] = [
        ("emails", |_, t, o| emails(t, o)),
        ("handles", |_, t, o| handles(t, o)),
        ("spaced", |_, t, o| spaced_emails(t, o)),
        ("urls", |_, t, o| urls(t, o)),
        ("dotted", |_, t, o| dotted(t, o)),
        ("ipv6", |_, t, o| ipv6(t, o)),
        ("digits", digits),
        ("tokens", |_, t, o| tokens(t, o)),
        ("pgp_blocks", |_, t, o| pgp_blocks(t, o)),
        ("clean", |_, t, _| {
            let _ = super::map::clean(t);
        }),
    ];
    fs.iter()
        .map(|(n, f)| {
            let mut o = Vec::new();
            let s = std::time::Instant::now();
            f(x, t, &mut o);
            (*n, s.elapsed().as_secs_f64())
        })
        .collect()
}

/// All candidates in `t`.
pub(crate) fn scan(x: &Extractor, t: &str) -> Vec<Cand> {
    let mut out = Vec::new();
    let b = t.as_bytes();
    let has = |c: u8| memchr::memchr(c, b).is_some();
    if has(b'@') {
        emails(t, &mut out);
        handles(t, &mut out);
    }
    spaced_emails(t, &mut out);
    if has(b'/') {
        urls(t, &mut out);
    }
    if has(b'.') {
        dotted(t, &mut out);
    }
    if has(b':') {
        ipv6(t, &mut out);
    }
    digits(x, t, &mut out);
    tokens(t, &mut out);
    if memchr::memmem::find(b, b"-----BEGIN PGP PUBLIC KEY BLOCK-----").is_some() {
        pgp_blocks(t, &mut out);
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// At most `n` bytes of `t` before `s`, on character boundaries.
fn window_before(t: &str, s: usize, n: usize) -> &str {
    let mut from = s.saturating_sub(n);
    while !t.is_char_boundary(from) {
        from += 1;
    }
    &t[from..s]
}

fn before(b: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).map(|j| b[j])
}

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

fn emails(t: &str, out: &mut Vec<Cand>) {
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

fn spaced_emails(t: &str, out: &mut Vec<Cand>) {
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
fn at_words(b: &[u8]) -> Vec<usize> {
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
fn next_spaced<'t>(t: &'t str, pos: usize, ats: &[usize]) -> Option<regex::Match<'t>> {
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

fn handles(t: &str, out: &mut Vec<Cand>) {
    const STOP: &[&str] = &[
        "param",
        "return",
        "returns",
        "override",
        "media",
        "import",
        "font",
        "keyframes",
        "charset",
        "page",
        "deprecated",
        "author",
        "see",
        "since",
        "throws",
        "type",
        "example",
        "interface",
        "property",
        "end",
        "implementation",
        "supports",
        "namespace",
        "layer",
    ];
    let b = t.as_bytes();
    for at in memchr::memchr_iter(b'@', b) {
        if let Some(p) = before(b, at)
            && (is_word(p) || matches!(p, b'.' | b'-' | b'@' | b'+' | b'%'))
        {
            continue;
        }
        let name_end = b[at + 1..]
            .iter()
            .position(|&c| !is_word(c))
            .map_or(b.len(), |p| at + 1 + p);
        let name = &t[at + 1..name_end];
        let len = name.len();
        if !(3..=32).contains(&len) || name.as_bytes()[0].is_ascii_digit() {
            continue;
        }
        match b.get(name_end) {
            Some(b'@' | b'-') => continue,
            Some(b'.')
                if b.get(name_end + 1)
                    .is_some_and(|c| c.is_ascii_alphanumeric()) =>
            {
                continue;
            }
            _ => {}
        }
        let lower = name.to_ascii_lowercase();
        if STOP.contains(&lower.as_str()) {
            continue;
        }
        out.push(Cand::new(Kind::Handle, at, name_end, format!("@{lower}")));
    }
}

/// Strips trailing punctuation from a URL or path (keeps a ')' that closes a '(').
fn trim_url_end(s: &str) -> usize {
    let mut end = s.len();
    loop {
        let Some(&c) = s.as_bytes()[..end].last() else {
            return 0;
        };
        match c {
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'*' => end -= 1,
            b')' => {
                let open = s[..end].bytes().filter(|&c| c == b'(').count();
                let close = s[..end].bytes().filter(|&c| c == b')').count();
                if close > open {
                    end -= 1;
                } else {
                    return end;
                }
            }
            _ => return end,
        }
    }
}

/// A Telegram username from a t.me path ("name", "name/123"): `(name, length used)`.
fn telegram_name(path: &str) -> Option<(&str, usize)> {
    let p = path.strip_prefix('/')?;
    let n = p.bytes().take_while(|&c| is_word(c)).count();
    let name = &p[..n];
    const RESERVED: &[&str] = &[
        "joinchat",
        "addstickers",
        "share",
        "proxy",
        "iv",
        "socks",
        "s",
        "c",
    ];
    if !(4..=32).contains(&n)
        || !name.as_bytes()[0].is_ascii_alphabetic()
        || RESERVED.contains(&name.to_ascii_lowercase().as_str())
    {
        return None;
    }
    Some((name, n + 1))
}

fn is_telegram_host(h: &str) -> bool {
    matches!(
        h,
        "t.me" | "telegram.me" | "telegram.dog" | "www.t.me" | "www.telegram.me"
    )
}

/// Validates a URL host; `Some(onion label)` data is returned separately by the caller.
fn host_ok(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok();
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    let Some((rest, tld)) = host.rsplit_once('.') else {
        return false;
    };
    if tld == "onion" {
        let label = rest.rsplit('.').next().unwrap_or("");
        return checks::onion_v3(label);
    }
    !rest.is_empty()
        && is_tld(tld)
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
}

/// The matches of [`URL`] in `t` (as `URL.find_iter(t)`), looked for only where a "://"
/// follows: a match holds "://" three to five bytes after its start (after "ftp", "http",
/// "https", "hxxp" or "hxxps"), so no match starts more than five bytes before the next
/// "://" at or after the search position, and the pattern can start there.
fn url_matches(t: &str) -> impl Iterator<Item = regex::Match<'_>> + '_ {
    let b = t.as_bytes();
    let seps = memchr::memmem::Finder::new(b"://");
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos > t.len() {
            return None;
        }
        let p = pos + seps.find(&b[pos..])?;
        let mut from = pos.max(p.saturating_sub(5));
        while !t.is_char_boundary(from) {
            from -= 1;
        }
        let m = URL.find_at(t, from)?;
        pos = m.end().max(m.start() + 1);
        Some(m)
    })
}

fn urls(t: &str, out: &mut Vec<Cand>) {
    for m in url_matches(t) {
        let s = m.start();
        let e = s + trim_url_end(m.as_str());
        let url = &t[s..e];
        let Some((scheme, rest)) = url.split_once("://") else {
            continue;
        };
        let scheme = scheme.to_ascii_lowercase().replace("xx", "tt");
        let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..auth_end];
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if hostport.starts_with('[') {
            hostport.find(']').map_or(hostport, |i| &hostport[..=i])
        } else {
            hostport.split(':').next().unwrap_or("")
        };
        let host_l = host.to_ascii_lowercase().trim_end_matches('.').to_string();
        if !host_ok(&host_l) {
            continue;
        }
        let path = &rest[auth_end..];
        let host_start = s + scheme.len() + 3 + (authority.len() - hostport.len());
        if is_telegram_host(&host_l)
            && let Some((name, _)) = telegram_name(path)
        {
            let end = s + scheme.len() + 3 + auth_end + 1 + name.len();
            let mut c = Cand::new(
                Kind::Telegram,
                s,
                end,
                format!("@{}", name.to_ascii_lowercase()),
            );
            c.nested = true;
            out.push(c);
            continue;
        }
        if host_l.ends_with(".onion") {
            let mut c = Cand::new(
                Kind::Onion,
                host_start,
                host_start + host.len(),
                onion_value(&host_l),
            );
            c.nested = true;
            out.push(c);
        }
        let value = format!(
            "{scheme}://{}{}{}",
            &authority[..authority.len() - hostport.len()],
            host_l,
            &rest[host.len() + authority.len() - hostport.len()..]
        );
        out.push(Cand::new(Kind::Url, s, e, value));
    }
}

fn onion_value(host: &str) -> String {
    let mut labels: Vec<&str> = host.rsplit('.').take(2).collect();
    labels.reverse();
    labels.join(".")
}

/// Domains and IPv4 addresses: the two patterns run only on the whitespace-delimited chunks
/// that contain a dot between two letters or digits.
fn dotted(t: &str, out: &mut Vec<Cand>) {
    dotted_with(t, out, true);
}

/// [`dotted`], with or without the cheap pre-check of each chunk (tests compare the two).
fn dotted_with(t: &str, out: &mut Vec<Cand>, prefilter: bool) {
    let b = t.as_bytes();
    let mut next = 0;
    for dot in memchr::memchr_iter(b'.', b) {
        if dot < next || dot == 0 || dot + 1 >= b.len() {
            continue;
        }
        if !b[dot - 1].is_ascii_alphanumeric() || !b[dot + 1].is_ascii_alphanumeric() {
            continue;
        }
        let mut s = dot;
        while s > 0 && dot - s < 300 && !b[s - 1].is_ascii_whitespace() {
            s -= 1;
        }
        let mut e = dot;
        while e < b.len() && e - dot < 4096 && !b[e].is_ascii_whitespace() {
            e += 1;
        }
        while !t.is_char_boundary(s) {
            s += 1;
        }
        while !t.is_char_boundary(e) {
            e += 1;
        }
        let hay = &t[..e];
        let (domain, ip) = chunk_may_hold(b, s, e);
        if domain || !prefilter {
            domains(hay, s, out);
        }
        if ip || !prefilter {
            ipv4(hay, s, out);
        }
        next = e;
    }
}

/// Whether `b[s..e]` can hold a domain (a dot followed by a real TLD, "onion" or "xn--" as a
/// whole word) and an IPv4 address (three dots between digits): the patterns run only then.
fn chunk_may_hold(b: &[u8], s: usize, e: usize) -> (bool, bool) {
    let (mut domain, mut ip_dots) = (false, 0);
    for d in memchr::memchr_iter(b'.', &b[s..e]) {
        let d = s + d;
        if d > s && d + 1 < e && b[d - 1].is_ascii_digit() && b[d + 1].is_ascii_digit() {
            ip_dots += 1;
        }
        if !domain {
            domain = tld_word_at(&b[d + 1..e]);
        }
        if domain && ip_dots >= 3 {
            break;
        }
    }
    (domain, ip_dots >= 3)
}

/// True when `b` starts with a whole word that is a top-level domain (or "onion"), or with
/// "xn--".
fn tld_word_at(b: &[u8]) -> bool {
    let n = b.iter().take_while(|&&c| is_word(c)).count();
    if n == 2 && b[..2].eq_ignore_ascii_case(b"xn") && b.get(2..4) == Some(b"--") {
        return true;
    }
    if !(2..=24).contains(&n) || !b[..n].iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let mut buf = [0u8; 24];
    for (o, c) in buf.iter_mut().zip(&b[..n]) {
        *o = c.to_ascii_lowercase();
    }
    let w = std::str::from_utf8(&buf[..n]).unwrap_or("");
    w == "onion" || is_tld(w)
}

fn domains(t: &str, from: usize, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    let mut pos = from;
    while let Some(m) = DOMAIN.find_at(t, pos) {
        pos = m.end().max(m.start() + 1);
        let s = m.start();
        if let Some(p) = before(b, s)
            && (matches!(p, b'@' | b'.' | b'-' | b'/' | b':' | b'_' | b'\\')
                || p.is_ascii_alphanumeric())
        {
            continue;
        }
        let text = m.as_str();
        let (host, path) = match text.find('/') {
            Some(i) => (&text[..i], &text[i..]),
            None => (text, ""),
        };
        let Some((rest, tld)) = host.rsplit_once('.') else {
            continue;
        };
        let tld_lower = tld.to_ascii_lowercase();
        let host_l = host.to_ascii_lowercase();
        if tld_lower == "onion" {
            let label = rest.rsplit('.').next().unwrap_or("");
            if checks::onion_v3(label) {
                let label_start = s + rest.len() - label.len();
                out.push(Cand::new(
                    Kind::Onion,
                    label_start,
                    s + host.len(),
                    onion_value(&host_l),
                ));
            }
            continue;
        }
        let case_ok = tld.bytes().all(|c| !c.is_ascii_uppercase())
            || host.bytes().all(|c| !c.is_ascii_lowercase());
        if !case_ok || !is_tld(&tld_lower) {
            continue;
        }
        // All-numeric labels: version numbers and decimals ("1.2.de" is not a domain).
        if rest
            .split('.')
            .all(|l| l.bytes().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        if is_file_like(&tld_lower) && !host_l.starts_with("www.") {
            continue;
        }
        if is_telegram_host(&host_l)
            && let Some((name, used)) = telegram_name(path)
        {
            out.push(Cand::new(
                Kind::Telegram,
                s,
                s + host.len() + used,
                format!("@{}", name.to_ascii_lowercase()),
            ));
            continue;
        }
        let path_len = trim_url_end(path);
        if path_len > 1 {
            let e = s + host.len() + path_len;
            out.push(Cand::new(
                Kind::Url,
                s,
                e,
                format!("{host_l}{}", &path[..path_len]),
            ));
        } else {
            out.push(Cand::new(Kind::Domain, s, s + host.len(), host_l));
        }
    }
}

fn ipv4(t: &str, from: usize, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    let mut pos = from;
    while let Some(m) = IPV4.find_at(t, pos) {
        pos = m.end().max(m.start() + 1);
        let (s, e) = (m.start(), m.end());
        // Version numbers: "1.2.3.4.5", "v1.2.3.4", "version 1.2.3.4".
        if before(b, s) == Some(b'.') && s >= 2 && b[s - 2].is_ascii_digit() {
            continue;
        }
        if b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        if matches!(before(b, s), Some(b'v' | b'V')) {
            continue;
        }
        let ctx = window_before(t, s, 12).to_ascii_lowercase();
        if ctx.contains("version") || ctx.contains("ver.") {
            continue;
        }
        if let Ok(ip) = m.as_str().parse::<Ipv4Addr>() {
            out.push(Cand::new(Kind::Ipv4, s, e, ip.to_string()));
        }
    }
}

fn ipv6(t: &str, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    for m in IPV6.find_iter(t) {
        let (s, e) = (m.start(), m.end());
        if before(b, s).is_some_and(|p| p.is_ascii_alphanumeric() || p == b':' || p == b'_')
            || b.get(e)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b':' || c == b'_')
        {
            continue;
        }
        let text = m.as_str();
        let hexdigits = text.bytes().filter(u8::is_ascii_hexdigit).count();
        let groups = text.split(':').filter(|g| !g.is_empty()).count();
        if hexdigits < 4 || groups < 2 {
            continue;
        }
        if let Ok(ip) = text.parse::<Ipv6Addr>() {
            out.push(Cand::new(Kind::Ipv6, s, e, ip.to_string()));
        }
    }
}

/// Phone numbers and payment cards: runs of digits with light separators.
fn digits(x: &Extractor, t: &str, out: &mut Vec<Cand>) {
    let b = t.as_bytes();
    // The same number recurs on a page: validate each digit string once.
    let mut cache: rustc_hash::FxHashMap<(bool, String), Option<String>> = Default::default();
    for (s, mut e) in digit_runs(b) {
        // Leading '(' without a closing one, trailing separators.
        if let Some(p) = before(b, s)
            && (is_word(p) || matches!(p, b'.' | b'/' | b'-' | b'$' | b'#' | b','))
        {
            continue;
        }
        if b.get(e).is_some_and(|&c| is_word(c) || c == b'@')
            || (b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit))
        {
            continue;
        }
        let text = &t[s..e];
        if let Some(c) = card_candidate(text, s) {
            out.push(c);
            continue;
        }
        // Phones: the whole run, else without one or two groups at either end (a run can
        // swallow a neighbouring number: "0117 496 0123 (24").
        let (spans, n_groups) = group_starts(text);
        let groups = &spans[..n_groups];
        let n = groups.len();
        let mut tries = 0;
        'spans: for drop in 0..=2usize.min(n.saturating_sub(1)) {
            for lead in 0..=drop {
                let trail = drop - lead;
                if lead + trail >= n {
                    continue;
                }
                let (gs, _) = groups[lead];
                let (_, ge) = groups[n - 1 - trail];
                let sub = &text[gs..ge];
                tries += 1;
                if let Some(v) = phone_candidate(x, sub, &mut cache) {
                    out.push(Cand::new(Kind::Phone, s + gs, s + ge, v));
                    break 'spans;
                }
                if tries >= 6 {
                    break 'spans;
                }
            }
        }
        let _ = &mut e;
    }
}

/// One high bit per byte of `x` that is an ASCII digit (exact per byte: no carry or borrow
/// crosses a byte; "Determine if a word has a byte between m and n", Bit Twiddling Hacks).
fn digit_bits(x: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    // Bytes with 0x2F < value < 0x3A.
    let (m, n) = (0x2F, 0x3A);
    let low = x & (ONES * 127);
    (ONES * (127 + n)).wrapping_sub(low) & !x & low.wrapping_add(ONES * (127 - m)) & (ONES * 128)
}

/// The first ASCII digit at or after `i` (`b.len()` if none), eight bytes at a time.
fn next_digit(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = b.get(i..i + 8) {
        let bits = digit_bits(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
        if bits != 0 {
            return i + (bits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

fn is_digit_sep(c: u8) -> bool {
    matches!(c, b' ' | b'-' | b'.' | b'(' | b')' | b'/')
}

/// Runs of 7 to 25 digits with at most three separators (space, '-', '.', '(', ')', '/')
/// between two digits, optionally led by '+' and/or '(': the leftmost-first, non-overlapping
/// matches of `\+?\(?[0-9](?:[ \-.()/]{0,3}[0-9]){6,24}`, found by one forward byte scan.
///
/// A match holds a digit at most two bytes after its start, so the scan jumps to the next
/// digit and takes the "+(", "+" or "(" just before it (not before where the scan stands) as
/// the start; should the digits from there not make a match, no later start inside them does
/// either (it has fewer digits after it), so the scan goes on after them.
fn digit_runs(b: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let n = b.len();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < n {
            let d = next_digit(b, i);
            if d >= n {
                i = n;
                break;
            }
            let mut s = d;
            if s > i && matches!(b[s - 1], b'(' | b'+') {
                s -= 1;
                if b[s] == b'(' && s > i && b[s - 1] == b'+' {
                    s -= 1;
                }
            }
            // Separators and digits are disjoint, so greedy matching never backtracks.
            let mut end = d + 1;
            let mut reps = 0;
            while reps < 24 {
                let mut k = end;
                while k < n && k - end < 3 && is_digit_sep(b[k]) {
                    k += 1;
                }
                if k < n && b[k].is_ascii_digit() {
                    end = k + 1;
                    reps += 1;
                } else {
                    break;
                }
            }
            i = end;
            if reps >= 6 {
                return Some((s, end));
            }
        }
        None
    })
}

/// The most groups a digit run can have (one digit each).
const MAX_GROUPS: usize = 25;

/// Spans of the space-separated groups of a digit run (a leading '+' or '(' stays with its
/// group; a trailing '(' or ')' does not).
fn group_starts(text: &str) -> ([(usize, usize); MAX_GROUPS], usize) {
    let b = text.as_bytes();
    // A run holds at most 25 digits, so at most 25 groups: no allocation per run.
    let mut out = [(0, 0); MAX_GROUPS];
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i] != b' ' {
            i += 1;
        }
        let mut e = i;
        while e > s && !b[e - 1].is_ascii_digit() && b[e - 1] != b')' {
            e -= 1;
        }
        if e > s && n < MAX_GROUPS && b[s..e].iter().any(u8::is_ascii_digit) {
            out[n] = (s, e);
            n += 1;
        }
    }
    (out, n)
}

fn card_candidate(text: &str, s: usize) -> Option<Cand> {
    if text
        .bytes()
        .any(|c| matches!(c, b'.' | b'(' | b')' | b'+' | b'/'))
    {
        return None;
    }
    // Card numbers have 13 to 19 digits: count before collecting them.
    if !(13..=19).contains(&text.bytes().filter(u8::is_ascii_digit).count()) {
        return None;
    }
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
    if !checks::card(&digits) {
        return None;
    }
    let d = String::from_utf8(digits).ok()?;
    Some(Cand::new(Kind::Card, s, s + text.len(), mask_digits(&d)))
}

fn phone_candidate(
    x: &Extractor,
    text: &str,
    cache: &mut rustc_hash::FxHashMap<(bool, String), Option<String>>,
) -> Option<String> {
    let bytes = text.as_bytes();
    let mut plus = bytes.first() == Some(&b'+');
    let mut groups = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty());
    let first = [groups.next(), groups.next(), groups.next()];
    let (mut n_groups, mut longest) = (0, 0);
    for g in first.iter().flatten().copied().chain(groups) {
        n_groups += 1;
        longest = longest.max(g.len());
    }
    // Dates and times: 2024-01-31, 31.01.2024, 31/01/2024 10:30.
    if let [Some(a), Some(b2), Some(c)] = first {
        let first_sep = text.bytes().find(|c| !c.is_ascii_digit()).unwrap_or(b' ');
        let year = |g: &str| g.len() == 4 && (g.starts_with("19") || g.starts_with("20"));
        if matches!(first_sep, b'-' | b'.' | b'/')
            && ((year(a) && b2.len() <= 2 && c.len() <= 2)
                || (a.len() <= 2 && b2.len() <= 2 && year(c)))
        {
            return None;
        }
    }
    if text.contains('/') {
        return None;
    }
    // IPv4-like dotted quads and decimals.
    if text.bytes().filter(|&c| c == b'.').count() >= 1 && n_groups <= 4 && longest <= 3 {
        return None;
    }
    let mut digits = String::with_capacity(20);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        // "+44 (0) 20 …": the bracketed trunk zero is not dialled from abroad.
        if plus && c == b'(' && bytes.get(i + 1) == Some(&b'0') && bytes.get(i + 2) == Some(&b')') {
            i += 3;
            continue;
        }
        if c.is_ascii_digit() {
            digits.push(char::from(c));
        }
        i += 1;
    }
    if !plus && digits.starts_with("00") {
        plus = true;
        digits.drain(..2);
    }
    if !(7..=15).contains(&digits.len()) {
        return None;
    }
    let key = (plus, digits);
    if let Some(v) = cache.get(&key) {
        return v.clone();
    }
    let v = x.phone(&key.1, plus);
    cache.insert(key, v.clone());
    v
}

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
fn pgp_spaced_len(b: &[u8], s: usize) -> Option<usize> {
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
fn word_bits(x: u64) -> u64 {
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
struct WordBits {
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
fn tokens(t: &str, out: &mut Vec<Cand>) {
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
fn tokens_bytewise(t: &str, out: &mut Vec<Cand>) {
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

fn pgp_blocks(t: &str, out: &mut Vec<Cand>) {
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

    fn spans(c: &[Cand]) -> Vec<(Kind, usize, usize, String)> {
        let mut v: Vec<_> = c
            .iter()
            .map(|c| (c.kind, c.start, c.end, c.value.clone()))
            .collect();
        v.sort();
        v
    }

    /// Inputs built from the pieces the fast paths look at.
    fn pieces() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[0-9]{1,5}",
            "[a-fA-F0-9]{4}",
            "[ .()/+-]{1,4}",
            "[a-zA-Z]{1,8}",
            Just(".".to_string()),
            Just(" ".to_string()),
            Just("  ".to_string()),
            Just("\n".to_string()),
            prop::sample::select(vec![
                ".com",
                ".co.uk",
                ".onion",
                ".xn--p1ai",
                ".pdf",
                ".js",
                ".e",
                "www.",
                "xn--",
                "_",
                "@",
                ":",
                "é",
                "+44 ",
                "(0)",
                "10.0.0.",
                "192.168.",
                "1.2.3.4",
                "GB82 ",
            ])
            .prop_map(str::to_string),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn digit_runs_match_the_pattern(s in pieces()) {
            let fast: Vec<_> = digit_runs(s.as_bytes()).collect();
            let slow: Vec<_> = DIGITS.find_iter(&s).map(|m| (m.start(), m.end())).collect();
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn spaced_fingerprints_match_the_pattern(s in pieces()) {
            let b = s.as_bytes();
            for i in 0..b.len() {
                if i > 0 && is_word(b[i - 1]) {
                    continue;
                }
                let fast = pgp_spaced_len(b, i);
                let slow = PGP_SPACED
                    .find_at(&s, i)
                    .filter(|m| m.start() == i)
                    .map(|m| m.len());
                if s.is_char_boundary(i) {
                    prop_assert_eq!(fast, slow, "at {}", i);
                }
            }
        }

        #[test]
        fn dotted_prefilter_drops_nothing(s in pieces()) {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            dotted_with(&s, &mut fast, true);
            dotted_with(&s, &mut slow, false);
            prop_assert_eq!(spans(&fast), spans(&slow));
        }
    }

    /// Inputs with written-out addresses and near-misses.
    fn spaced() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z0-9]{1,6}",
            "[ ._-]{1,3}",
            prop::sample::select(vec![
                " at ", " AT ", " aT ", "  at  ", " dot ", " DOT ", ".", " ", "com", "_", "@", "é",
                "\n",
            ])
            .prop_map(str::to_string),
        ];
        prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn spaced_search_matches_the_pattern(s in spaced()) {
            let ats = at_words(s.as_bytes());
            for pos in (0..=s.len()).filter(|&p| s.is_char_boundary(p)) {
                let fast = next_spaced(&s, pos, &ats).map(|m| m.range());
                let slow = SPACED_EMAIL.find_at(&s, pos).map(|m| m.range());
                prop_assert_eq!(fast, slow, "from {}", pos);
            }
        }
    }

    /// Text with the pieces word runs are made of: long letter and digit runs, IBAN and
    /// fingerprint starts, '_', '@', '-', non-ASCII.
    fn wordy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z0-9]{1,40}",
            "[A-Z]{2}[0-9]{2}[A-Z0-9 ]{0,30}",
            "[0-9a-fA-F]{4} ",
            "[ .@_/\n-]{1,3}",
            prop::sample::select(vec![
                "é",
                "GB82 WEST 1234 5698 7654 32",
                "0x",
                "bc1",
                "fingerprint ",
                "_",
                "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
                "0x52908400098527886E0F7030069857D2E4169EE7",
                "4",
                "8",
            ])
            .prop_map(str::to_string),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn token_bitmap_finds_what_the_byte_scan_finds(s in wordy()) {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            tokens(&s, &mut fast);
            tokens_bytewise(&s, &mut slow);
            prop_assert_eq!(spans(&fast), spans(&slow));
        }

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

    /// Text around URLs: schemes (any case, defanged), "://" without a scheme, non-ASCII.
    fn urlish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z0-9]{1,6}",
            "[ ./:<>\"-]{1,3}",
            prop::sample::select(vec![
                "http",
                "https",
                "HTTP",
                "hxxps",
                "ftp",
                "://",
                "http://",
                "ftp://x.org",
                "https://example.org/p?q=1",
                "é",
                "€",
                "xhttp://",
                "\n",
                "[",
                "]",
            ])
            .prop_map(str::to_string),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn url_search_matches_the_pattern(s in urlish()) {
            let fast: Vec<_> = url_matches(&s).map(|m| m.range()).collect();
            let slow: Vec<_> = URL.find_iter(&s).map(|m| m.range()).collect();
            prop_assert_eq!(fast, slow);
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

    #[test]
    fn digit_bits_are_exact_per_byte() {
        for v in 0..=255u8 {
            for fill in [b'a', b'0', 0x80, 0xFF, 0x00, b'/', b':'] {
                for at in 0..8 {
                    let mut w = [fill; 8];
                    w[at] = v;
                    let bits = digit_bits(u64::from_le_bytes(w));
                    for (k, &c) in w.iter().enumerate() {
                        let set = bits >> (8 * k + 7) & 1 == 1;
                        assert_eq!(set, c.is_ascii_digit(), "{v} at {at} in {fill}, byte {k}");
                    }
                }
            }
        }
    }

    #[test]
    fn spaced_search_examples() {
        let t = "seen at home, mail x.y_z at example dot com or a at b.org";
        let ats = at_words(t.as_bytes());
        assert_eq!(ats.len(), 3);
        let m = next_spaced(t, 0, &ats).unwrap();
        assert_eq!(m.as_str(), "x.y_z at example dot com");
        let m = next_spaced(t, m.end(), &ats).unwrap();
        assert_eq!(m.as_str(), "a at b.org");
        assert!(next_spaced(t, m.end(), &ats).is_none());
    }

    #[test]
    fn spaced_fingerprint_examples() {
        let fp = "0123 4567 89AB CDEF 0123  4567 89ab cdef 0123 4567";
        assert_eq!(pgp_spaced_len(fp.as_bytes(), 0), Some(fp.len()));
        assert_eq!(pgp_spaced_len(format!("{fp}x").as_bytes(), 0), None);
        assert_eq!(pgp_spaced_len(b"4111 1111 1111 1111", 0), None);
    }
}
