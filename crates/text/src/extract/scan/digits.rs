//! Runs of digits with light separators: telephone numbers and payment cards.

use crate::extract::checks;
use crate::extract::{Cand, Extractor, Kind, mask_digits};

use super::{before, is_word};

/// The digit runs [`digit_runs`] finds, as a regular expression (the reference it is tested
/// against).
#[cfg(test)]
pub(super) static DIGITS: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| super::re(r"(?-u)\+?\(?[0-9](?:[ \-.()/]{0,3}[0-9]){6,24}"));

/// Phone numbers and payment cards: runs of digits with light separators.
pub(super) fn digits(x: &Extractor, t: &str, out: &mut Vec<Cand>) {
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
pub(super) fn digit_bits(x: u64) -> u64 {
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
pub(super) fn digit_runs(b: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
