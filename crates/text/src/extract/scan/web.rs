//! URLs, domains, IP addresses and messaging handles.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

use crate::extract::checks;
use crate::extract::tld::{is_file_like, is_tld};
use crate::extract::{Cand, Kind};

use super::{before, is_word, re, window_before};

pub(super) static URL: LazyLock<Regex> =
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

pub(super) fn handles(t: &str, out: &mut Vec<Cand>) {
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
pub(super) fn url_matches(t: &str) -> impl Iterator<Item = regex::Match<'_>> + '_ {
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

pub(super) fn urls(t: &str, out: &mut Vec<Cand>) {
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
pub(super) fn dotted(t: &str, out: &mut Vec<Cand>) {
    dotted_with(t, out, true);
}

/// [`dotted`], with or without the cheap pre-check of each chunk (tests compare the two).
pub(super) fn dotted_with(t: &str, out: &mut Vec<Cand>, prefilter: bool) {
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

pub(super) fn ipv6(t: &str, out: &mut Vec<Cand>) {
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
