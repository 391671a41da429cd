//! Reading a query: its name words, identifiers and phone numbers as tokens, each with
//! the strings looked up exactly.

use std::sync::LazyLock;

use spirit_matching::evidence;
use spirit_text::{PhoneNormaliser, fold, normalise_email, normalise_name};

use super::terms::MAX_TERM_BYTES;
use crate::util::clip;

/// Query tokens used; later ones are ignored.
pub const MAX_QUERY_TOKENS: usize = 8;
/// Queries are cut to this many bytes.
pub const MAX_QUERY_BYTES: usize = 1_000;
/// Region in which a phone number written without its country code is read.
pub const PHONE_REGION: &str = "GB";

/// One token of a query.
#[derive(Debug, PartialEq)]
pub(super) struct QueryToken {
    /// As reported in [`SearchHit::matched`](super::SearchHit::matched).
    pub(super) text: String,
    /// Strings looked up exactly among the terms.
    pub(super) exact: Vec<String>,
    /// For a name token, the word matched fuzzily.
    pub(super) name: Option<String>,
}

impl QueryToken {
    fn name(word: &str) -> QueryToken {
        let word = clip(word, MAX_TERM_BYTES).to_string();
        QueryToken {
            text: word.clone(),
            exact: vec![word.clone()],
            name: Some(word),
        }
    }

    fn identifier(text: &str, lookups: impl IntoIterator<Item = String>) -> Option<QueryToken> {
        let mut exact: Vec<String> = Vec::new();
        for l in lookups {
            let l = clip(l.trim(), MAX_TERM_BYTES);
            if !l.is_empty() && !exact.iter().any(|e| e == l) {
                exact.push(l.to_string());
            }
        }
        (!exact.is_empty()).then(|| QueryToken {
            text: text.to_string(),
            exact,
            name: None,
        })
    }
}

static PHONES: LazyLock<PhoneNormaliser> = LazyLock::new(|| PhoneNormaliser::new(PHONE_REGION));

/// A word written only with digits and `+-().`, with at least one digit.
fn is_number_like(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_digit())
        && word
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-().".contains(&b))
}

/// Splits a query into tokens (see the module documentation).
#[cfg(test)]
pub(super) fn parse_query(query: &str) -> Vec<QueryToken> {
    parse_query_with(query, None)
}

/// [`parse_query`], with the workspace's card key so a card number finds its hash.
pub(super) fn parse_query_with(query: &str, card_key: Option<&[u8]>) -> Vec<QueryToken> {
    let query = clip(query, MAX_QUERY_BYTES);
    // A whole query that is one identifier written with spaces (an IBAN, a PGP
    // fingerprint, a card number) is one token.
    if query.trim().contains(' ') {
        let forms = evidence::identifier_forms(query, card_key);
        if let Some(t) = QueryToken::identifier(query.trim(), forms.into_iter().map(|(_, v)| v)) {
            return vec![t];
        }
    }
    let words: Vec<&str> = query.split_whitespace().collect();
    let mut identifiers: Vec<QueryToken> = Vec::new();
    let mut name = String::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if is_number_like(word) {
            let start = i;
            while i < words.len() && is_number_like(words[i]) {
                i += 1;
            }
            let run = words[start..i].join(" ");
            let digits: String = run.chars().filter(char::is_ascii_digit).collect();
            let lookups = [
                PHONES.normalise(&run),
                Some(format!("+{digits}")),
                Some(digits),
            ];
            let forms = evidence::identifier_forms(&run, card_key);
            identifiers.extend(QueryToken::identifier(
                &run,
                lookups
                    .into_iter()
                    .flatten()
                    .chain(forms.into_iter().map(|(_, v)| v)),
            ));
            continue;
        }
        i += 1;
        let forms = evidence::identifier_forms(word, card_key);
        let forms = forms.into_iter().map(|(_, v)| v);
        if word.contains('@')
            && let Some(email) = normalise_email(word)
        {
            identifiers.extend(QueryToken::identifier(word, forms.chain([email])));
        } else if word.bytes().any(|b| b.is_ascii_digit()) || word.ends_with(".onion") {
            let compact: String = fold(word).chars().filter(|c| *c != ' ').collect();
            identifiers.extend(QueryToken::identifier(
                word,
                forms.chain([compact, word.to_lowercase()]),
            ));
        } else {
            name.push_str(word);
            name.push(' ');
        }
    }
    let folded = fold(&name);
    let plain: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let normal = normalise_name(&name).unwrap_or_else(|| folded.clone());
    let normal: Vec<&str> = normal.split(' ').filter(|w| !w.is_empty()).collect();
    // A particle joins the next word ("ben smith" → "bensmith", "van der berg" →
    // "vanderberg"), as in stored surnames; but in a query it may as well start a given
    // name, so a joined word's parts are searched too, last (first to go past
    // MAX_QUERY_TOKENS).
    let parts = normal
        .iter()
        .filter(|w| !plain.contains(w))
        .flat_map(|w| joined_from(w, &plain))
        .map(QueryToken::name);
    let mut tokens: Vec<QueryToken> = Vec::new();
    let all = normal
        .iter()
        .map(|w| QueryToken::name(w))
        .chain(identifiers)
        .chain(parts);
    for token in all {
        if !tokens.iter().any(|t| t.exact == token.exact) {
            tokens.push(token);
        }
    }
    tokens.truncate(MAX_QUERY_TOKENS);
    tokens
}

/// The run of two or more consecutive `words` whose concatenation is `joined`, if any.
pub(super) fn joined_from<'w>(joined: &str, words: &[&'w str]) -> Vec<&'w str> {
    for start in 0..words.len() {
        let mut len = 0;
        for end in start..words.len() {
            len += words[end].len();
            if len > joined.len() || !joined[len - words[end].len()..].starts_with(words[end]) {
                break;
            }
            if len == joined.len() && end > start {
                return words[start..=end].to_vec();
            }
        }
    }
    Vec::new()
}
