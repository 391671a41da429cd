//! Candidate finders and their validation. Every finder works on the cleaned text and
//! returns candidates in its byte offsets. The finders are grouped by what they scan:
//! [`email`] (e-mail addresses, written out or not, and Jabber ids), [`web`] (URLs,
//! domains, IP addresses, messaging handles), [`digits`](mod@digits) (telephone numbers and payment
//! cards) and [`tokens`](mod@tokens) (runs of letters and digits: cryptocurrency addresses, IBANs, PGP
//! fingerprints; armoured PGP key blocks).

use regex::Regex;

use crate::extract::{Cand, Extractor};

mod digits;
mod email;
mod tokens;
mod web;

use digits::digits;
use email::{emails, spaced_emails};
use tokens::{pgp_blocks, tokens};
use web::{dotted, handles, ipv6, urls};

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid built-in pattern")
}

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
            let _ = crate::extract::map::clean(t);
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

#[cfg(test)]
mod tests;
