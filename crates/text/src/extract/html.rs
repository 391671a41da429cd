//! HTML to text, with offsets back into the HTML.
//!
//! The page goes through html5ever's tokenizer (the WHATWG tokenizer of a browser: character
//! references, comments, CDATA, raw-text elements). Scripts, styles and other raw-text
//! elements are dropped; block-level tags become a line break; the `href` of links is kept as
//! text (it often holds `mailto:`, `tel:` or `t.me` identifiers the visible text lacks).
//!
//! Offsets: the source is fed to the tokenizer in pieces split before each `<`, `&`, CR, LF
//! and NUL, so every text token the tokenizer emits comes from the piece being fed. Text that
//! is a verbatim suffix of its piece maps byte for byte; decoded text (a character reference)
//! maps to the source range it came from as a whole. No recursion: nesting depth costs
//! nothing.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use super::map::SpanMap;

enum Emitted {
    Text(StrTendril),
    Break,
    Attr(StrTendril),
}

#[derive(Default)]
struct Sink {
    emitted: RefCell<Vec<Emitted>>,
    raw: RefCell<bool>,
}

/// Elements whose tags do not separate words (obfuscation often splits an address with them).
fn is_inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "cite"
            | "code"
            | "data"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "ins"
            | "kbd"
            | "label"
            | "mark"
            | "nobr"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
            | "wbr"
    )
}

impl Sink {
    fn tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        if tag.kind == TagKind::EndTag {
            *self.raw.borrow_mut() = false;
            if !is_inline(name) {
                self.emitted.borrow_mut().push(Emitted::Break);
            }
            return TokenSinkResult::Continue;
        }
        let mut em = self.emitted.borrow_mut();
        if !is_inline(name) {
            em.push(Emitted::Break);
        }
        if name == "a" || name == "link" || name == "area" {
            for a in &tag.attrs {
                if &*a.name.local == "href" && !a.value.is_empty() {
                    em.push(Emitted::Break);
                    em.push(Emitted::Attr(a.value.clone()));
                    em.push(Emitted::Break);
                }
            }
        }
        if tag.self_closing {
            return TokenSinkResult::Continue;
        }
        let raw = match name {
            "script" => Some(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => Some(RawKind::Rawtext),
            "title" | "textarea" => Some(RawKind::Rcdata),
            _ => None,
        };
        match raw {
            Some(kind) => {
                // Title and textarea text is kept; script and style text is not.
                *self.raw.borrow_mut() = !matches!(kind, RawKind::Rcdata);
                TokenSinkResult::RawData(kind)
            }
            None => TokenSinkResult::Continue,
        }
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(t) => {
                if !*self.raw.borrow() {
                    self.emitted.borrow_mut().push(Emitted::Text(t));
                }
                TokenSinkResult::Continue
            }
            Token::TagToken(tag) => self.tag(&tag),
            Token::CommentToken(_) | Token::DoctypeToken(_) => {
                self.emitted.borrow_mut().push(Emitted::Break);
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

/// Text of an HTML page and the map from text offsets to byte offsets in `html`.
pub(crate) fn html_to_text(html: &str) -> (String, SpanMap) {
    let tok = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let queue = BufferQueue::default();
    let mut text = String::with_capacity(html.len() / 2);
    let mut map = SpanMap::default();
    let mut bufs = Bufs::default();
    let bytes = html.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        // The piece runs to just before the next special byte (after the first byte).
        let end = memchr_special(&bytes[start + 1..]).map_or(bytes.len(), |p| start + 1 + p);
        queue.push_back(StrTendril::from_slice(&html[start..end]));
        let _ = tok.feed(&queue);
        place(&tok.sink, html, start, end, &mut text, &mut map, &mut bufs);
        start = end;
    }
    tok.end();
    place(
        &tok.sink,
        html,
        bytes.len(),
        bytes.len(),
        &mut text,
        &mut map,
        &mut bufs,
    );
    (text, map)
}

fn memchr_special(b: &[u8]) -> Option<usize> {
    let a = memchr::memchr3(b'<', b'&', b'\n', b);
    let c = memchr::memchr2(b'\r', b'\0', &b[..a.unwrap_or(b.len())]);
    c.or(a)
}

/// Lists reused from piece to piece.
#[derive(Default)]
struct Bufs {
    emitted: Vec<Emitted>,
    pos: Vec<(usize, usize, bool)>,
}

/// Appends what the tokenizer emitted while `html[start..end]` was fed, aligning text tokens
/// right to left with the end of the piece.
fn place(
    sink: &Sink,
    html: &str,
    start: usize,
    end: usize,
    text: &mut String,
    map: &mut SpanMap,
    bufs: &mut Bufs,
) {
    if sink.emitted.borrow().is_empty() {
        return;
    }
    // Swap the sink's list with an empty one that keeps its capacity.
    std::mem::swap(&mut *sink.emitted.borrow_mut(), &mut bufs.emitted);
    let emitted = &bufs.emitted;
    let piece = &html[start..end];
    // Source position of each emitted item: (src, len, verbatim).
    let pos = &mut bufs.pos;
    pos.clear();
    pos.resize(emitted.len(), (start, 0, false));
    let mut cursor = end;
    let mut aligned = true;
    for (i, e) in emitted.iter().enumerate().rev() {
        match e {
            Emitted::Text(t) if aligned && html[start..cursor].ends_with(&**t) => {
                cursor -= t.len();
                pos[i] = (cursor, t.len(), true);
            }
            Emitted::Text(_) => {
                aligned = false;
                pos[i] = (start, cursor - start, false);
            }
            Emitted::Attr(v) => {
                // Attribute values sit inside the tag, before the text that follows it.
                match memchr::memmem::find(&piece.as_bytes()[..cursor - start], v.as_bytes()) {
                    Some(p) => pos[i] = (start + p, v.len(), true),
                    None => pos[i] = (start, cursor - start, false),
                }
                aligned = false;
            }
            Emitted::Break => {
                pos[i] = (start, 0, false);
                aligned = false;
            }
        }
    }
    for (e, &(src, len, verbatim)) in emitted.iter().zip(pos.iter()) {
        match e {
            Emitted::Text(t) | Emitted::Attr(t) => {
                if t.is_empty() {
                    continue;
                }
                if verbatim {
                    map.verbatim(text.len(), src);
                } else {
                    map.replaced(text.len(), src, len);
                }
                text.push_str(t);
            }
            Emitted::Break => {
                if !text.is_empty() && !text.ends_with('\n') {
                    map.replaced(text.len(), src, 0);
                    text.push('\n');
                }
            }
        }
    }
    bufs.emitted.clear();
}

/// True when `bytes` look like HTML: a doctype or one of the common structural tags near the
/// start (after whitespace and a BOM).
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let trimmed = lower
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(&lower);
    let trimmed = &trimmed[trimmed
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(trimmed.len())..];
    if trimmed.starts_with(b"<!doctype html") || trimmed.starts_with(b"<html") {
        return true;
    }
    [
        b"<html".as_slice(),
        b"<head",
        b"<body",
        b"<div",
        b"<p>",
        b"<table",
        b"<meta ",
        b"<a href",
        b"<br",
    ]
    .iter()
    .filter(|t| memchr::memmem::find(&lower, t).is_some())
    .count()
        >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find_back<'a>(html: &'a str, text: &str, map: &SpanMap, needle: &str) -> &'a str {
        let p = text.find(needle).unwrap();
        &html[map.start(p)..map.end(p + needle.len())]
    }

    #[test]
    fn text_and_offsets() {
        let html = "<html><head><style>a{b:c}</style><script>var x='a@b.com';</script></head>\
                    <body><p>Mail john&#64;example.com</p><div>Tel&nbsp;01632 960123</div>\
                    <a href=\"mailto:x@y.org\">me</a>j<span>@</span>x.org</body></html>";
        let (text, map) = html_to_text(html);
        assert!(!text.contains("a@b.com"), "{text}");
        assert!(!text.contains("b:c"), "{text}");
        assert!(text.contains("john@example.com"), "{text}");
        assert_eq!(
            find_back(html, &text, &map, "john@example.com"),
            "john&#64;example.com"
        );
        assert_eq!(find_back(html, &text, &map, "01632 960123"), "01632 960123");
        assert_eq!(
            find_back(html, &text, &map, "mailto:x@y.org"),
            "mailto:x@y.org"
        );
        assert!(text.contains("j@x.org"), "{text}");
        assert_eq!(
            find_back(html, &text, &map, "j@x.org"),
            "j<span>@</span>x.org"
        );
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_html(b"<!DOCTYPE html><html>"));
        assert!(looks_like_html(b"  <div>a</div><br>"));
        assert!(!looks_like_html(b"plain text with a < b"));
    }
}
