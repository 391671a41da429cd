//! Folding: the one text canonicalisation every other normaliser starts from.
//!
//! [`fold()`] maps any string onto the alphabet `[a-z0-9 ]`: Unicode compatibility
//! normalisation (NFKC), transliteration of every letter and digit to ASCII (a Cyrillic or
//! Greek value whose letters tell its language, and any Georgian or Armenian, by that
//! language's national romanisation,
//! Arabic script as its consonants, [`crate::translit`]; everything else — Russian, Hebrew,
//! CJK, … — via `deunicode`), lowercase, and every other character (punctuation,
//! symbols, emoji, whitespace) turned into a single separating space. The result has no leading,
//! trailing or repeated spaces, so folding is idempotent.

use unicode_normalization::UnicodeNormalization;

use crate::translit::{Scheme, respell};

/// Folds `s` to lowercase ASCII words separated by single spaces.
///
/// Steps: NFKC; transliterate letters and digits to ASCII; lowercase; every character that is
/// not a letter or digit becomes a space; runs of spaces collapse; the result is trimmed.
/// Symbols and emoji are separators (they are not spelled out), combining marks vanish.
///
/// ```
/// assert_eq!(spirit_text::fold("  Zoë  O'Brien-Smith "), "zoe o brien smith");
/// assert_eq!(spirit_text::fold("МЮЛЛЕР"), "miuller");
/// assert_eq!(spirit_text::fold("?!"), "");
/// ```
///
/// Idempotent: `fold(&fold(s)) == fold(s)` for every `s`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_chars(s, &mut out, false, None);
    out
}

/// Like [`fold()`], but writes into `out` (cleared first) so that a caller folding many values
/// in a loop can reuse one buffer.
pub fn fold_into(s: &str, out: &mut String) {
    out.clear();
    fold_chars(s, out, false, None);
}

/// Folds for names: as [`fold()`], except that an apostrophe between two letters is deleted
/// rather than turned into a space, so "O'Brien" and "D’Angelo" stay one word ("obrien",
/// "dangelo").
pub(crate) fn fold_name(s: &str) -> String {
    fold_name_as(s, None)
}

/// [`fold_name`], spelling Cyrillic or Greek by `hint` when the value's own letters do not
/// tell its language.
pub(crate) fn fold_name_as(s: &str, hint: Option<Scheme>) -> String {
    let mut out = String::with_capacity(s.len());
    fold_chars(s, &mut out, true, hint);
    out
}

/// [`fold_name_as`] with the general transliteration of every script, whatever the
/// letters say of the language (`Григорій` is `grigorii`).
pub(crate) fn fold_name_general(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut sink = Sink {
        out: &mut out,
        start: 0,
        gap: false,
    };
    fold_iter(s.nfkc(), &mut sink, true);
    out
}

/// Appends the fold of `s` to `out` (which must be empty, or end with a complete word).
fn fold_chars(s: &str, out: &mut String, join_apostrophes: bool, hint: Option<Scheme>) {
    let start = out.len();
    let mut sink = Sink {
        out,
        start,
        gap: false,
    };
    if s.is_ascii() {
        // NFKC is the identity on ASCII; skip it on the common path.
        fold_iter(s.chars(), &mut sink, join_apostrophes);
    } else if let Some(scheme) = Scheme::detect(s).or(hint) {
        // Cyrillic or Greek whose letters tell the language: its national spelling.
        fold_iter(
            respell(s.nfkc(), scheme).chars(),
            &mut sink,
            join_apostrophes,
        );
    } else {
        fold_iter(s.nfkc(), &mut sink, join_apostrophes);
    }
}

fn fold_iter<I: Iterator<Item = char>>(chars: I, sink: &mut Sink<'_>, join_apostrophes: bool) {
    let mut chars = chars.peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_alphanumeric() {
            sink.word_byte(c as u8);
            continue;
        }
        if join_apostrophes
            && is_apostrophe(c)
            && sink.inside_word()
            && chars.peek().is_some_and(|n| n.is_alphabetic())
        {
            continue;
        }
        if c.is_ascii() {
            sink.gap();
            continue;
        }
        match deunicode::deunicode_char(c) {
            Some(ascii) if c.is_alphanumeric() => {
                for b in ascii.bytes() {
                    if b.is_ascii_alphanumeric() {
                        sink.word_byte(b);
                    } else if b != b'\'' && b != b'`' {
                        // Transliterations such as "Wang " carry their own word breaks; an
                        // apostrophe (Cyrillic soft sign, …) stays inside the word.
                        sink.gap();
                    }
                }
            }
            // Combining marks, zero-width joiners and the like: invisible, not separators.
            Some("") => {}
            // Punctuation, symbols, emoji, unknown characters.
            _ => sink.gap(),
        }
    }
}

/// Characters used as apostrophes in names.
pub(crate) fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '`'
            | '\u{00B4}'
            | '\u{02B9}'
            | '\u{02BB}'
            | '\u{02BC}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{2032}'
    )
}

/// Output builder: lowercases, inserts one space between words, never a leading or trailing one.
struct Sink<'a> {
    out: &'a mut String,
    start: usize,
    gap: bool,
}

impl Sink<'_> {
    #[inline]
    fn word_byte(&mut self, b: u8) {
        if self.gap && self.out.len() > self.start {
            self.out.push(' ');
        }
        self.gap = false;
        self.out.push(char::from(b.to_ascii_lowercase()));
    }

    #[inline]
    fn gap(&mut self) {
        self.gap = true;
    }

    #[inline]
    fn inside_word(&self) -> bool {
        !self.gap && self.out.len() > self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_latin_accents_and_punctuation() {
        assert_eq!(fold("  Zoë  O'Brien-Smith "), "zoe o brien smith");
        assert_eq!(fold("MÜLLER"), "muller");
        assert_eq!(fold("José  Álvarez\t\n"), "jose alvarez");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Ørsted & Æbelø"), "orsted aebelo");
    }

    #[test]
    fn folds_non_latin_scripts() {
        assert_eq!(fold("Мюллер"), "miuller");
        assert_eq!(fold("Γιώργος Παπαδόπουλος"), "giorgos papadopoulos");
        assert_eq!(fold("王小明"), "wang xiao ming");
        assert_eq!(fold("محمد"), "mhmd");
        assert_eq!(fold("김민준"), "gimminjun");
        // Cyrillic soft sign transliterates to an apostrophe, which stays inside the word.
        assert_eq!(fold("Игорь"), "igor");
    }

    #[test]
    fn compatibility_forms_and_combining_marks() {
        assert_eq!(fold("ＡＢＣ１２３"), "abc123");
        assert_eq!(fold("ﬁne"), "fine");
        assert_eq!(fold("Zoe\u{0308}"), "zoe");
        assert_eq!(fold("a\u{200B}b"), "a b");
    }

    #[test]
    fn symbols_and_emoji_are_separators() {
        assert_eq!(fold("😀 Zoë"), "zoe");
        assert_eq!(fold("a€b"), "a b");
        assert_eq!(fold("-"), "");
        assert_eq!(fold(""), "");
        assert_eq!(fold("   "), "");
    }

    #[test]
    fn name_fold_joins_apostrophes_between_letters() {
        assert_eq!(fold_name("O'Brien"), "obrien");
        assert_eq!(fold_name("D’Angelo"), "dangelo");
        assert_eq!(fold_name("' O' Neill '"), "o neill");
        assert_eq!(fold_name("Rock 'n' Roll"), "rock n roll");
    }

    #[test]
    fn fold_into_reuses_buffer() {
        let mut buf = String::from("old contents");
        fold_into("New Value", &mut buf);
        assert_eq!(buf, "new value");
    }

    #[test]
    fn idempotent_on_examples() {
        for s in ["  Zoë  O'Brien-Smith ", "王小明", "a--b__c", "ＡＢＣ"] {
            let once = fold(s);
            assert_eq!(fold(&once), once);
        }
    }
}
