//! Phonetic codes of names.
//!
//! [`double_metaphone`] wraps the Double Metaphone encoder of the `rphonetic` crate so that it
//! is safe on any input: the encoder indexes its input by bytes and panics on non-ASCII text,
//! so SPIRIT transliterates to ASCII and keeps only the letters a–z before encoding.

use rphonetic::DoubleMetaphone;

/// Letters of the input considered by [`double_metaphone`]; longer names are cut (the codes
/// are at most [`CODE_LEN`] characters long and only depend on the start of a long name).
pub const MAX_INPUT_LETTERS: usize = 32;

/// Length of the codes returned by [`double_metaphone`]: 4, as in the original algorithm.
pub const CODE_LEN: usize = 4;

/// Double Metaphone `(primary, alternate)` codes of a name, at most [`CODE_LEN`] characters
/// each.
///
/// Safe on any input: the name is transliterated to ASCII (so "Müller", "Мюллер" and "Muller"
/// are encoded alike), everything but the letters a–z is dropped (spaces included, so "Van
/// Dyke" is encoded as "vandyke"), and at most [`MAX_INPUT_LETTERS`] letters are kept. Input
/// without letters gives `("", "")`; otherwise both codes are empty or neither is.
///
/// ```
/// use spirit_text::double_metaphone;
/// assert_eq!(double_metaphone("Smith"), ("SM0".to_string(), "XMT".to_string()));
/// assert_eq!(double_metaphone("Catherine"), double_metaphone("Katherine"));
/// assert_eq!(double_metaphone("  "), (String::new(), String::new()));
/// ```
pub fn double_metaphone(s: &str) -> (String, String) {
    let mut buf = [0u8; MAX_INPUT_LETTERS];
    let len = ascii_letters(s, &mut buf);
    if len == 0 {
        return (String::new(), String::new());
    }
    // `buf[..len]` holds ASCII letters only, which is valid UTF-8.
    let Ok(letters) = std::str::from_utf8(&buf[..len]) else {
        return (String::new(), String::new());
    };
    let codes = DoubleMetaphone::new(Some(CODE_LEN)).double_metaphone(letters);
    let (primary, alternate) = (
        without_spaces(codes.primary()),
        without_spaces(codes.alternate()),
    );
    // A code that came out empty next to a non-empty one takes its value, so that both codes
    // are empty or neither is.
    match (primary.is_empty(), alternate.is_empty()) {
        (false, true) => (primary.clone(), primary),
        (true, false) => (alternate.clone(), alternate),
        _ => (primary, alternate),
    }
}

/// The encoder writes a space into the alternate code for some letters (a final "J"); codes
/// are compared for equality, so the space is removed.
fn without_spaces(mut code: String) -> String {
    code.retain(|c| c != ' ');
    code
}

/// Writes the ASCII letters of `s` (transliterated, lowercased) into `buf`; returns how many.
fn ascii_letters(s: &str, buf: &mut [u8; MAX_INPUT_LETTERS]) -> usize {
    let mut len = 0;
    let mut push = |b: u8| {
        if b.is_ascii_alphabetic() && len < buf.len() {
            buf[len] = b.to_ascii_lowercase();
            len += 1;
        }
        len < buf.len()
    };
    for c in s.chars() {
        let more = if c.is_ascii() {
            push(c as u8)
        } else if c.is_alphabetic() {
            match deunicode::deunicode_char(c) {
                Some(t) => t.bytes().all(&mut push),
                None => true,
            }
        } else {
            true
        };
        if !more {
            break;
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dm(s: &str) -> (String, String) {
        double_metaphone(s)
    }

    fn codes(p: &str, a: &str) -> (String, String) {
        (p.to_string(), a.to_string())
    }

    #[test]
    fn known_codes() {
        assert_eq!(dm("Smith"), codes("SM0", "XMT"));
        assert_eq!(dm("Schmidt"), codes("XMT", "SMT"));
        assert_eq!(dm("Thompson"), codes("TMPS", "TMPS"));
        assert_eq!(dm("Williamson"), codes("ALMS", "FLMS"));
        // The encoder's alternate code for a final "J" carries a space, which is removed;
        // an alternate left empty takes the primary.
        assert_eq!(dm("Raj"), codes("RJ", "R"));
        assert_eq!(dm("Hj"), codes("J", "J"));
    }

    #[test]
    fn spelling_variants_share_codes() {
        assert_eq!(dm("Catherine"), dm("Katherine"));
        assert_eq!(dm("Jonathan"), dm("Jonathon"));
        assert_eq!(dm("Smith").0, dm("Smyth").0);
    }

    #[test]
    fn non_ascii_is_transliterated_not_panicking() {
        assert_eq!(dm("MÜLLER"), dm("muller"));
        assert_eq!(dm("Zoë"), dm("zoe"));
        assert_eq!(dm("Мюллер"), dm("miuller"));
        assert_eq!(dm("Γιώργος"), dm("giorgos"));
        assert!(!dm("王小明").0.is_empty());
        assert!(!dm("محمد").0.is_empty());
        assert_eq!(dm("Ça"), dm("ca"));
    }

    #[test]
    fn empty_and_letterless_inputs() {
        assert_eq!(dm(""), codes("", ""));
        assert_eq!(dm("1234 -- !!"), codes("", ""));
        assert_eq!(dm("😀"), codes("", ""));
    }

    #[test]
    fn spaces_and_punctuation_are_ignored_and_length_is_capped() {
        assert_eq!(dm("Van Dyke"), dm("vandyke"));
        assert_eq!(dm("O'Brien"), dm("obrien"));
        let long = "a".repeat(10_000) + "smith";
        let (p, a) = dm(&long);
        assert!(p.len() <= CODE_LEN && a.len() <= CODE_LEN);
    }
}
