//! What the index holds: the terms of a record's names and identifiers, which terms are
//! words (fuzzy-matched through trigrams) and the phonetic and nickname keys of a word.

use spirit_model::AttrKind;
use spirit_text::names::nickname_group_name;
use spirit_text::{double_metaphone, fold, nickname_groups, split_email};

use crate::util::clip;

/// Terms and query tokens are cut to this many bytes.
pub const MAX_TERM_BYTES: usize = 100;
/// Name-shaped terms longer than this are matched exactly only.
pub const MAX_FUZZY_LETTERS: usize = 40;

/// Whether values of this kind are indexed.
pub(super) fn is_indexed(kind: AttrKind) -> bool {
    is_name(kind) || kind.is_identifier()
}

fn is_name(kind: AttrKind) -> bool {
    matches!(
        kind,
        AttrKind::GivenName | AttrKind::MiddleName | AttrKind::Surname | AttrKind::FullName
    )
}

/// The distinct terms of a record's normalised values, sorted.
pub(super) fn record_terms(values: &[(AttrKind, &str)]) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut push = |t: &str| {
        let t = clip(t.trim(), MAX_TERM_BYTES);
        if !t.is_empty() {
            terms.push(t.to_string());
        }
    };
    for &(kind, value) in values {
        if is_name(kind) {
            fold(value).split(' ').for_each(&mut push);
        } else if kind == AttrKind::Email {
            push(value);
            if let Some((local, _)) = split_email(value.trim()) {
                push(local);
            }
        } else if kind.is_identifier() {
            push(value);
        }
    }
    terms.sort_unstable();
    terms.dedup();
    terms
}

/// A word of letters a–z only: the shape of a name token.
pub(super) fn is_word(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_FUZZY_LETTERS && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// A term matched through the trigram index: a word of 3 to [`MAX_FUZZY_LETTERS`] letters.
/// A function of the text alone, so a term's place in the index never depends on which
/// kind of value brought it in first.
pub(super) fn is_fuzzy(term: &str) -> bool {
    term.len() >= 3 && is_word(term)
}

/// Keys of a word: `~canonical` for each of its nickname groups, `#CODE` for each of its
/// Double Metaphone codes (words of 3+ letters). Sorted, deduplicated; none for other terms.
pub(super) fn name_keys(word: &str) -> Vec<String> {
    let mut keys = Vec::new();
    if !is_word(word) {
        return keys;
    }
    for &group in nickname_groups(word) {
        if let Some(canonical) = nickname_group_name(group) {
            keys.push(format!("~{canonical}"));
        }
    }
    if word.len() >= 3 {
        let (primary, alternate) = double_metaphone(word);
        for code in [primary, alternate] {
            if !code.is_empty() {
                keys.push(format!("#{code}"));
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}
