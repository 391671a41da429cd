//! Offset maps between a derived text and the text it was derived from, and the
//! de-obfuscation pass.
//!
//! A [`SpanMap`] is a sorted list of segments of the derived text: a *verbatim* segment was
//! copied byte for byte (offsets shift by a constant), a *replaced* segment stands for a source
//! range as a whole (an HTML entity, a full-width digit, "[at]"). A match in the derived text
//! maps back to the source range from the start of its first byte to the end of its last.

/// One segment: derived bytes from `out` up to the next segment's `out`.
#[derive(Clone, Copy, Debug)]
struct Seg {
    out: usize,
    src: usize,
    src_len: usize,
    verbatim: bool,
}

/// Maps byte offsets of a derived text back to its source; empty means identity.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpanMap {
    segs: Vec<Seg>,
}

impl SpanMap {
    /// Derived bytes from `out` on are copies of source bytes from `src` on.
    pub(crate) fn verbatim(&mut self, out: usize, src: usize) {
        if let Some(l) = self.segs.last()
            && l.verbatim
            && l.out <= out
            && l.src <= src
            && out - l.out == src - l.src
        {
            return;
        }
        self.truncate(out);
        self.segs.push(Seg {
            out,
            src,
            src_len: 0,
            verbatim: true,
        });
    }

    /// Derived bytes from `out` on (up to the next segment) stand for `src..src + len`.
    pub(crate) fn replaced(&mut self, out: usize, src: usize, len: usize) {
        self.truncate(out);
        self.segs.push(Seg {
            out,
            src,
            src_len: len,
            verbatim: false,
        });
    }

    fn truncate(&mut self, out: usize) {
        while self.segs.last().is_some_and(|s| s.out >= out) {
            self.segs.pop();
        }
    }

    fn seg_at(&self, p: usize) -> Option<&Seg> {
        let i = self.segs.partition_point(|s| s.out <= p);
        if i == 0 { None } else { self.segs.get(i - 1) }
    }

    /// Source offset of derived offset `p` taken as the start of a match.
    pub(crate) fn start(&self, p: usize) -> usize {
        if self.segs.is_empty() {
            return p;
        }
        match self.seg_at(p) {
            Some(s) if s.verbatim => s.src + (p - s.out),
            Some(s) => s.src,
            None => 0,
        }
    }

    /// Source offset of derived offset `p` taken as the (exclusive) end of a match.
    pub(crate) fn end(&self, p: usize) -> usize {
        if self.segs.is_empty() || p == 0 {
            return self.start(p);
        }
        match self.seg_at(p - 1) {
            Some(s) if s.verbatim => s.src + (p - s.out),
            Some(s) => s.src + s.src_len,
            None => 0,
        }
    }
}

/// Decodes bytes as UTF-8, replacing invalid sequences with U+FFFD; the map points each
/// replacement at the bytes it stands for.
pub(crate) fn decode_lossy(bytes: &[u8]) -> (String, SpanMap) {
    let mut text = String::with_capacity(bytes.len());
    let mut map = SpanMap::default();
    let mut pos = 0;
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        if !valid.is_empty() {
            map.verbatim(text.len(), pos);
            text.push_str(valid);
            pos += valid.len();
        }
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            map.replaced(text.len(), pos, invalid.len());
            text.push('\u{FFFD}');
            pos += invalid.len();
        }
    }
    (text, map)
}

/// Bytes that start something the cleaner may rewrite.
const fn special_table() -> [bool; 256] {
    let mut t = [false; 256];
    t[b'[' as usize] = true;
    t[b'(' as usize] = true;
    t[b'{' as usize] = true;
    t[0xC2] = true;
    t[0xE2] = true;
    t[0xE3] = true;
    t[0xEF] = true;
    t
}
static SPECIAL: [bool; 256] = special_table();

/// Position of the first byte at or after `from` that starts something the cleaner may
/// rewrite: brackets found with memchr, non-ASCII bytes sixteen at a time.
fn next_special(b: &[u8], from: usize) -> Option<usize> {
    let bracket = memchr::memchr3(b'[', b'(', b'{', &b[from..]).map(|p| from + p);
    let limit = bracket.unwrap_or(b.len());
    let mut k = from;
    while k < limit {
        let chunk = &b[k..limit.min(k + 16)];
        if chunk.is_ascii() {
            k += chunk.len();
            continue;
        }
        for (j, &c) in chunk.iter().enumerate() {
            if SPECIAL[usize::from(c)] {
                return Some(k + j);
            }
        }
        k += chunk.len();
    }
    bracket
}

/// The bracketed obfuscations "[at]", "(at)", "{at}", "[@]", "[dot]", "(dot)", "[.]" (any
/// case, spaces inside allowed) at the start of `s`: the replacement and the length consumed.
fn bracket_token(s: &[u8]) -> Option<(char, usize)> {
    let close = match s.first()? {
        b'[' => b']',
        b'(' => b')',
        b'{' => b'}',
        _ => return None,
    };
    let mut i = 1;
    while s.get(i) == Some(&b' ') {
        i += 1;
    }
    let word_start = i;
    while i < s.len() && i - word_start < 4 && s[i] != b' ' && s[i] != close {
        i += 1;
    }
    let word = &s[word_start..i];
    let rep = if word.eq_ignore_ascii_case(b"at") || word == b"@" {
        '@'
    } else if word.eq_ignore_ascii_case(b"dot") || word == b"." {
        '.'
    } else {
        return None;
    };
    while s.get(i) == Some(&b' ') {
        i += 1;
    }
    (s.get(i) == Some(&close)).then_some((rep, i + 1))
}

/// What the cleaner does with the (multi-byte) character at the start of `s`.
enum Clean {
    Drop(usize),
    Replace(char, usize),
    Keep,
}

fn clean_char(s: &[u8]) -> Clean {
    match s {
        [0xC2, 0xAD, ..] => Clean::Drop(2),              // soft hyphen
        [0xC2, 0xA0, ..] => Clean::Replace(' ', 2),      // no-break space
        [0xE2, 0x80, 0x8B..=0x8F, ..] => Clean::Drop(3), // zero-width space/joiners, LRM, RLM
        [0xE2, 0x80, 0xAA..=0xAE, ..] => Clean::Drop(3), // bidi embeddings
        [0xE2, 0x81, 0xA0..=0xA4, ..] => Clean::Drop(3), // word joiner, invisible operators
        [0xE2, 0x80, 0x80..=0x8A, ..] | [0xE2, 0x80, 0xAF, ..] => Clean::Replace(' ', 3),
        [0xE2, 0x80, 0x90..=0x95, ..] => Clean::Replace('-', 3), // hyphens and dashes
        [0xE3, 0x80, 0x80, ..] => Clean::Replace(' ', 3),        // ideographic space
        [0xEF, 0xBB, 0xBF, ..] => Clean::Drop(3),                // BOM / zero-width no-break space
        [0xEF, 0xBC, b @ 0x81..=0xBF, ..] => {
            // U+FF01..U+FF3F: full-width ASCII.
            Clean::Replace(char::from(0x21 + (b - 0x81)), 3)
        }
        [0xEF, 0xBD, b @ 0x80..=0x9E, ..] => Clean::Replace(char::from(0x60 + (b - 0x80)), 3),
        _ => Clean::Keep,
    }
}

/// The de-obfuscation pass: drops zero-width and bidi characters and soft hyphens, maps
/// full-width ASCII and exotic spaces and dashes to ASCII, and rewrites bracketed "[at]" /
/// "[dot]" forms (with the spaces around them) to '@' and '.'. Returns `None` when the text
/// needs no change (the common case, which then costs one scan).
pub(crate) fn clean(text: &str) -> Option<(String, SpanMap)> {
    let b = text.as_bytes();
    let first = next_special(b, 0)?;
    // Only allocate once something is really rewritten.
    let mut i = first;
    let mut out: Option<(String, SpanMap)> = None;
    let mut copied_to = 0; // source bytes before this are in `out`
    while i < b.len() {
        if !SPECIAL[usize::from(b[i])] {
            match next_special(b, i) {
                Some(j) => i = j,
                None => break,
            }
            continue;
        }
        let action = if matches!(b[i], b'[' | b'(' | b'{') {
            bracket_token(&b[i..]).map(|(c, n)| (c, n, true))
        } else {
            match clean_char(&b[i..]) {
                Clean::Drop(n) => Some(('\0', n, false)),
                Clean::Replace(c, n) => Some((c, n, false)),
                Clean::Keep => None,
            }
        };
        let Some((c, n, bracket)) = action else {
            i += 1;
            continue;
        };
        let (o, map) = out.get_or_insert_with(|| {
            let mut m = SpanMap::default();
            m.verbatim(0, 0);
            (String::with_capacity(text.len()), m)
        });
        // Copy the untouched run.
        if copied_to < i {
            map.verbatim(o.len(), copied_to);
            o.push_str(&text[copied_to..i]);
        }
        let mut src = i;
        let mut end = i + n;
        if bracket {
            // "name [at] domain": the spaces around the token go too.
            let kept = o.trim_end_matches(' ').len();
            src -= o.len() - kept;
            o.truncate(kept);
            while b.get(end) == Some(&b' ') {
                end += 1;
            }
        }
        if c != '\0' {
            map.replaced(o.len(), src, end - src);
            o.push(c);
        }
        copied_to = end;
        i = end;
    }
    let (mut o, mut map) = out?;
    if copied_to < b.len() {
        map.verbatim(o.len(), copied_to);
        o.push_str(&text[copied_to..]);
    }
    Some((o, map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back<'a>(src: &'a str, derived: &str, map: &SpanMap, needle: &str) -> &'a str {
        let p = derived.find(needle).unwrap();
        &src[map.start(p)..map.end(p + needle.len())]
    }

    #[test]
    fn clean_maps_back() {
        let src = "mail john [at] example [dot] com now";
        let (t, m) = clean(src).unwrap();
        assert_eq!(t, "mail john@example.com now");
        assert_eq!(
            back(src, &t, &m, "john@example.com"),
            "john [at] example [dot] com"
        );
        let src = "tel ０７７００\u{200B}９００１２３ ok";
        let (t, m) = clean(src).unwrap();
        assert_eq!(t, "tel 07700900123 ok");
        assert_eq!(
            back(src, &t, &m, "07700900123"),
            "０７７００\u{200B}９００１２３"
        );
        assert_eq!(back(src, &t, &m, "ok"), "ok");
        assert!(clean("plain text (with brackets) [x]").is_none());
    }

    #[test]
    fn lossy_maps_back() {
        let src = b"ab\xffcd";
        let (t, m) = decode_lossy(src);
        assert_eq!(t, "ab\u{FFFD}cd");
        let p = t.find("cd").unwrap();
        assert_eq!((m.start(p), m.end(p + 2)), (3, 5));
        assert_eq!((m.start(2), m.end(5)), (2, 3));
    }
}
