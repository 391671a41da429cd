//! Fuzzy search over the names and identifiers of stored records (`spirit search ws/ "jon
//! smiht"`).
//!
//! # What is indexed
//!
//! The index holds *distinct terms*, not documents, so its fuzzy part grows with the number
//! of different names rather than with the number of records. A term is
//!
//! - a name word: each space-separated word of a record's given name, middle name, surname
//!   or full name, folded ([`spirit_text::fold`]) — "smith", "obrien", "muller";
//! - a whole identifier as the store normalised it: an e-mail address ("j.smith@example.com")
//!   and its local part ("j.smith"), a phone number in E.164 ("+447700900123"), a username
//!   or a national id.
//!
//! Four tables hold the index (the fourth, [`SEARCH_KEYS`], is an addition to the three of
//! the original design: it lets a phonetic code or nickname group find its few *terms*,
//! which are then scored, instead of the postings of every record that sounds alike):
//!
//! | table | rows |
//! |---|---|
//! | [`SEARCH_TERMS`] `(id, term UNIQUE, postings)` | one per distinct term, with its number of postings |
//! | [`SEARCH_POSTINGS`] `(term, record)` | which records hold which term (clustered by term; indexed by record for erasure) |
//! | [`SEARCH_TRIGRAMS`] | contentless FTS5 `trigram` index of the *name-shaped* terms (3 to 40 letters a–z), rowid = term id |
//! | [`SEARCH_KEYS`] `(key, term)` | for name-shaped terms: `#CODE` for each Double Metaphone code, `~canonical` for each nickname group |
//!
//! Identifiers are matched exactly (they are not in the trigram index: nearly every record
//! has its own, and their trigrams would swamp those of the names).
//!
//! # How a query runs
//!
//! 1. **Tokens.** The query is split on whitespace. A run of words made only of digits and
//!    `+-().` is one phone-like token, looked up as E.164 (read with region
//!    [`PHONE_REGION`]), as its digits and as `+digits`. A word that is an e-mail address is
//!    looked up normalised ([`spirit_text::normalise_email`]); another word with a digit is
//!    looked up folded without spaces (how usernames and national ids are stored) and
//!    lowercased. The remaining words are a name: normalised like stored names
//!    ([`spirit_text::normalise_name`]: titles dropped, particles joined) and split into
//!    name tokens; a word joined from a particle ("ben smith" → "bensmith") is also
//!    searched as its parts, since in a query the particle may be a given name. Duplicate
//!    tokens count once; at most [`MAX_QUERY_TOKENS`] are used (name words, then
//!    identifiers, then particle parts).
//! 2. **Candidate terms of each token**, each with a similarity to the token:
//!    - the exact term (similarity 1);
//!    - for a name token: the terms sharing one of its keys — nickname group (similarity at
//!      least [`NICKNAME_SIMILARITY`]) or Double Metaphone code (at least
//!      [`PHONETIC_SIMILARITY`] when Jaro-Winkler is at least [`PHONETIC_GATE`]);
//!    - for a name token of 3+ letters: the [`TRIGRAM_CANDIDATES`] terms ranked best by FTS5
//!      (bm25) for the OR of the token's trigrams, and, up to
//!      [`MAX_NEIGHBOURHOOD_LETTERS`] letters, every term one edit away (looked up exactly,
//!      since one edit can destroy all the trigrams of a short word);
//!    - for a 2-letter token, the first [`PREFIX_CANDIDATES`] terms it prefixes; a 1-letter
//!      token is matched exactly only.
//!
//!    Fuzzy candidates are scored with the project's kernels
//!    ([`spirit_matching::comparison::jaro_winkler`], raised to [`ONE_EDIT_SIMILARITY`] by
//!    [`spirit_matching::comparison::within_one_edit`] for words of 3+ letters), those below
//!    [`MIN_SIMILARITY`] are dropped, and the best [`MAX_TERMS_PER_TOKEN`] are kept.
//! 3. **Postings.** All (token, term) pairs are visited best similarity first and their
//!    postings read. A record's score is the sum, over the query tokens, of the similarity
//!    of the best term it holds for that token; each token counts once and each stored term
//!    serves one token, so "jon smiht" ranks a record holding {jon, smith} (≈ 1.95) above
//!    one holding only {smith} (≈ 0.95), and "john johnson" cannot score twice on one
//!    "john".
//! 4. **Ranking**: score descending, ties broken by record id ascending (deterministic).
//!
//! # Bounds
//!
//! The work per query is bounded independently of the store's size: at most
//! [`MAX_QUERY_TOKENS`] tokens, [`MAX_TERMS_PER_TOKEN`] terms per token, and the postings of
//! a term are skipped when it has more than [`MAX_POSTINGS_PER_TERM`] of them or when they
//! would take the query past [`MAX_POSTINGS_PER_QUERY`] — except for each token's exact
//! terms and, when it has none, its best candidate, which are always read (so "jamws" still
//! finds the "james" of a million records). Terms and queries are cut to [`MAX_TERM_BYTES`] and
//! [`MAX_QUERY_BYTES`]. The per-term posting counts are kept in [`SEARCH_TERMS`] so that no
//! list has to be scanned to be skipped.
//!
//! # Erasure
//!
//! `unindex_record` removes a record's postings; a term left without postings is deleted
//! with its keys and trigram-index entry. The trigram index is created with FTS5's
//! `secure-delete` option so that a deleted term leaves no trace in the FTS5 index itself.

use std::fmt::Write as _;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rustc_hash::{FxHashMap, FxHashSet};
use spirit_matching::comparison::{jaro_winkler, within_one_edit};
use spirit_matching::evidence;
use spirit_model::AttrKind;
use spirit_text::names::nickname_group_name;
use spirit_text::{
    PhoneNormaliser, are_name_variants, double_metaphone, fold, nickname_groups, normalise_email,
    normalise_name, split_email,
};

use crate::StoreError;
use crate::schema::{ATTRIBUTES, SEARCH_KEYS, SEARCH_POSTINGS, SEARCH_TERMS, SEARCH_TRIGRAMS};
use crate::util::clip;

/// Candidate terms scoring below this similarity to a query token are dropped.
pub const MIN_SIMILARITY: f64 = 0.8;
/// Similarity of a term in one of the token's nickname groups ("bill" ~ "william").
pub const NICKNAME_SIMILARITY: f64 = 0.9;
/// Similarity of a term one edit away from a token, both of 3+ letters ("kohn" ~ "john",
/// "cxo" ~ "cox"): the rule of the name comparisons' "close" level.
pub const ONE_EDIT_SIMILARITY: f64 = 0.85;
/// Similarity of a term with the token's Double Metaphone code, when their Jaro-Winkler
/// similarity reaches [`PHONETIC_GATE`].
pub const PHONETIC_SIMILARITY: f64 = 0.82;
/// Jaro-Winkler similarity below which a shared phonetic code does not count.
pub const PHONETIC_GATE: f64 = 0.7;
/// Query tokens used; later ones are ignored.
pub const MAX_QUERY_TOKENS: usize = 8;
/// Candidate terms kept per query token.
pub const MAX_TERMS_PER_TOKEN: usize = 50;
/// Terms fetched from the trigram index per query token (then scored and cut to
/// [`MAX_TERMS_PER_TOKEN`]).
pub const TRIGRAM_CANDIDATES: usize = 100;
/// Terms fetched per phonetic or nickname key.
pub const KEY_CANDIDATES: usize = 500;
/// Name tokens of up to this many letters also look up every word one edit away: an edit
/// in the middle of a short word can destroy all of its trigrams ("brgwn", "limnan").
pub const MAX_NEIGHBOURHOOD_LETTERS: usize = 6;
/// Terms fetched for a 2-letter token's prefix search.
pub const PREFIX_CANDIDATES: usize = 50;
/// A candidate term with more postings than this is skipped, unless it is exact or its
/// token's best.
pub const MAX_POSTINGS_PER_TERM: i64 = 20_000;
/// Postings read per query, beyond which candidate terms are skipped (unless exact or their
/// token's best).
pub const MAX_POSTINGS_PER_QUERY: i64 = 200_000;
/// Terms and query tokens are cut to this many bytes.
pub const MAX_TERM_BYTES: usize = 100;
/// Queries are cut to this many bytes.
pub const MAX_QUERY_BYTES: usize = 1_000;
/// Name-shaped terms longer than this are matched exactly only.
pub const MAX_FUZZY_LETTERS: usize = 40;
/// Distinct trigrams of a token used in its trigram query.
pub const MAX_TRIGRAMS: usize = 24;
/// Region in which a phone number written without its country code is read.
pub const PHONE_REGION: &str = "GB";

/// One search result.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SearchHit {
    /// The record's id in the store.
    pub record: i64,
    /// Sum over the query tokens of the similarity (0–1) of the record's best term for the
    /// token: 2.0 is a perfect two-word match.
    pub score: f64,
    /// Which query tokens matched which stored terms, in query order, e.g.
    /// `("smiht", "smith")`.
    pub matched: Vec<(String, String)>,
}

/// Indexes every record already in the store from its normalised values in the
/// attributes table (the backfill of schema migration 1 → 2).
pub(crate) fn index_stored_records(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let kinds = AttrKind::ALL
        .into_iter()
        .filter(|k| is_indexed(*k))
        .map(|k| format!("'{}'", k.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = tx.prepare(&format!(
        "SELECT record, kind, value FROM {ATTRIBUTES} \
         WHERE value IS NOT NULL AND kind IN ({kinds}) ORDER BY record"
    ))?;
    let mut rows = rows.query([])?;
    let mut current: Option<i64> = None;
    let mut values: Vec<(AttrKind, String)> = Vec::new();
    let flush = |record: Option<i64>, values: &mut Vec<(AttrKind, String)>| {
        let result = match record {
            Some(r) => {
                let refs: Vec<(AttrKind, &str)> =
                    values.iter().map(|(k, v)| (*k, v.as_str())).collect();
                index_record(tx, r, &refs)
            }
            None => Ok(()),
        };
        values.clear();
        result
    };
    while let Some(row) = rows.next()? {
        let record: i64 = row.get(0)?;
        let kind: String = row.get(1)?;
        let value: String = row.get(2)?;
        if current != Some(record) {
            flush(current, &mut values)?;
            current = Some(record);
        }
        if let Some(kind) = AttrKind::from_name(&kind) {
            values.push((kind, value));
        }
    }
    flush(current, &mut values)
}

/// Indexes one stored record from its normalised attribute values; kinds other than names
/// and identifiers are ignored. Called inside the transaction that stores the record.
/// Indexing the same values again changes nothing; to replace a record's values, call
/// [`unindex_record`] first.
pub(crate) fn index_record(
    conn: &Connection,
    record: i64,
    values: &[(AttrKind, &str)],
) -> Result<(), StoreError> {
    let mut add_posting = conn.prepare_cached(&SQL.insert_posting)?;
    let mut count_posting = conn.prepare_cached(&SQL.count_posting)?;
    for term in record_terms(values) {
        let id = term_id(conn, &term)?;
        if add_posting.execute(params![id, record])? == 1 {
            count_posting.execute([id])?;
        }
    }
    Ok(())
}

/// Removes a record from the index (for erasure). Terms no other record holds are deleted,
/// with their keys and their trigram-index entry.
pub fn unindex_record(conn: &Connection, record: i64) -> Result<(), StoreError> {
    let terms: Vec<i64> = conn
        .prepare_cached(&SQL.terms_of_record)?
        .query_map([record], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    conn.prepare_cached(&SQL.delete_postings_of_record)?
        .execute([record])?;
    let mut uncount = conn.prepare_cached(&SQL.uncount_posting)?;
    for id in terms {
        let (left, term): (i64, String) =
            uncount.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if left <= 0 {
            conn.prepare_cached(&SQL.delete_keys_of_term)?
                .execute([id])?;
            if is_fuzzy(&term) {
                conn.prepare_cached(&SQL.delete_trigrams)?.execute([id])?;
            }
            conn.prepare_cached(&SQL.delete_term)?.execute([id])?;
        }
    }
    Ok(())
}

/// Ranked hits for a free-text query, best first, at most `limit`. An empty query, or one
/// with nothing searchable in it, gives no hits.
pub fn search(conn: &Connection, query: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
    // The workspace's card key, so a card number finds its hash (none: no card search).
    let card_key: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'card_key'", [], |r| {
            r.get(0)
        })
        .ok();
    let card_key = card_key.and_then(|hex| {
        (hex.len() == 64)
            .then(|| {
                (0..32)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
            .flatten()
    });
    let tokens = parse_query_with(query, card_key.as_deref());
    if limit == 0 || tokens.is_empty() {
        return Ok(Vec::new());
    }
    let mut pairs: Vec<Pair> = Vec::new();
    for (t, token) in tokens.iter().enumerate() {
        pairs.extend(candidates(conn, token)?.into_iter().map(|candidate| Pair {
            token: t,
            candidate,
        }));
    }
    // Best similarity first: a record's first hit for a token is its best for it.
    pairs.sort_by(|a, b| {
        b.candidate
            .similarity
            .total_cmp(&a.candidate.similarity)
            .then(a.token.cmp(&b.token))
            .then(a.candidate.id.cmp(&b.candidate.id))
    });

    let mut scores: FxHashMap<i64, Score> = FxHashMap::default();
    let mut budget = MAX_POSTINGS_PER_QUERY;
    let mut postings = conn.prepare_cached(&SQL.postings)?;
    for (p, pair) in pairs.iter().enumerate() {
        let c = &pair.candidate;
        if !c.always && (c.postings > MAX_POSTINGS_PER_TERM || c.postings > budget) {
            continue;
        }
        budget -= c.postings;
        let bit = 1u16 << pair.token;
        // `p` < MAX_QUERY_TOKENS * (MAX_TERMS_PER_TOKEN + exact lookups), well within u16.
        let pick = u16::try_from(p).map_err(|_| StoreError::Invalid("too many terms".into()))?;
        let mut rows = postings.query([c.id])?;
        while let Some(row) = rows.next()? {
            let record: i64 = row.get(0)?;
            let s = scores.entry(record).or_default();
            if s.tokens & bit != 0 || s.holds(c.id, &pairs) {
                continue;
            }
            s.tokens |= bit;
            s.score += c.similarity;
            s.picks[pair.token] = pick;
        }
    }

    let mut ranked: Vec<(i64, Score)> = scores.into_iter().collect();
    let order =
        |a: &(i64, Score), b: &(i64, Score)| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0));
    if ranked.len() > limit {
        ranked.select_nth_unstable_by(limit - 1, order);
        ranked.truncate(limit);
    }
    ranked.sort_unstable_by(order);
    Ok(ranked
        .into_iter()
        .map(|(record, s)| SearchHit {
            record,
            score: s.score,
            matched: (0..tokens.len())
                .filter(|t| s.tokens & (1 << t) != 0)
                .map(|t| {
                    let term = &pairs[usize::from(s.picks[t])].candidate.term;
                    (tokens[t].text.clone(), term.clone())
                })
                .collect(),
        })
        .collect())
}

/// The SQL the module runs, with the table names of the schema module filled in.
struct Sql {
    term_id: String,
    insert_term: String,
    insert_trigrams: String,
    insert_key: String,
    insert_posting: String,
    count_posting: String,
    terms_of_record: String,
    delete_postings_of_record: String,
    uncount_posting: String,
    delete_keys_of_term: String,
    delete_trigrams: String,
    delete_term: String,
    lookup: String,
    key_terms: String,
    trigram_terms: String,
    prefix_terms: String,
    listed_terms: String,
    postings: String,
}

static SQL: LazyLock<Sql> = LazyLock::new(|| Sql {
    term_id: format!("SELECT id FROM {SEARCH_TERMS} WHERE term = ?1"),
    insert_term: format!("INSERT INTO {SEARCH_TERMS}(term) VALUES (?1)"),
    insert_trigrams: format!("INSERT INTO {SEARCH_TRIGRAMS}(rowid, term) VALUES (?1, ?2)"),
    insert_key: format!("INSERT OR IGNORE INTO {SEARCH_KEYS}(key, term) VALUES (?1, ?2)"),
    insert_posting: format!(
        "INSERT OR IGNORE INTO {SEARCH_POSTINGS}(term, record) VALUES (?1, ?2)"
    ),
    count_posting: format!("UPDATE {SEARCH_TERMS} SET postings = postings + 1 WHERE id = ?1"),
    terms_of_record: format!("SELECT term FROM {SEARCH_POSTINGS} WHERE record = ?1"),
    delete_postings_of_record: format!("DELETE FROM {SEARCH_POSTINGS} WHERE record = ?1"),
    uncount_posting: format!(
        "UPDATE {SEARCH_TERMS} SET postings = postings - 1 WHERE id = ?1 \
         RETURNING postings, term"
    ),
    delete_keys_of_term: format!("DELETE FROM {SEARCH_KEYS} WHERE term = ?1"),
    delete_trigrams: format!("DELETE FROM {SEARCH_TRIGRAMS} WHERE rowid = ?1"),
    delete_term: format!("DELETE FROM {SEARCH_TERMS} WHERE id = ?1"),
    lookup: format!("SELECT id, postings FROM {SEARCH_TERMS} WHERE term = ?1"),
    key_terms: format!(
        "SELECT t.id, t.term, t.postings FROM {SEARCH_KEYS} AS k \
         JOIN {SEARCH_TERMS} AS t ON t.id = k.term WHERE k.key = ?1 LIMIT ?2"
    ),
    trigram_terms: format!(
        "SELECT t.id, t.term, t.postings FROM ( \
             SELECT rowid AS id FROM {SEARCH_TRIGRAMS} WHERE {SEARCH_TRIGRAMS} MATCH ?1 \
             ORDER BY rank, rowid LIMIT ?2 \
         ) AS f JOIN {SEARCH_TERMS} AS t ON t.id = f.id"
    ),
    prefix_terms: format!(
        "SELECT id, term, postings FROM {SEARCH_TERMS} \
         WHERE term > ?1 AND term < ?2 ORDER BY term LIMIT ?3"
    ),
    listed_terms: format!(
        "SELECT id, term, postings FROM {SEARCH_TERMS} \
         WHERE term IN (SELECT value FROM json_each(?1))"
    ),
    postings: format!("SELECT record FROM {SEARCH_POSTINGS} WHERE term = ?1"),
});

/// Whether values of this kind are indexed.
fn is_indexed(kind: AttrKind) -> bool {
    is_name(kind) || kind.is_identifier()
}

fn is_name(kind: AttrKind) -> bool {
    matches!(
        kind,
        AttrKind::GivenName | AttrKind::MiddleName | AttrKind::Surname | AttrKind::FullName
    )
}

/// The distinct terms of a record's normalised values, sorted.
fn record_terms(values: &[(AttrKind, &str)]) -> Vec<String> {
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

/// The id of `term`, inserting it (with its trigram entry and keys) when it is new.
fn term_id(conn: &Connection, term: &str) -> Result<i64, StoreError> {
    let found = conn
        .prepare_cached(&SQL.term_id)?
        .query_row([term], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    conn.prepare_cached(&SQL.insert_term)?.execute([term])?;
    let id = conn.last_insert_rowid();
    if is_fuzzy(term) {
        conn.prepare_cached(&SQL.insert_trigrams)?
            .execute(params![id, term])?;
    }
    let mut insert_key = conn.prepare_cached(&SQL.insert_key)?;
    for key in name_keys(term) {
        insert_key.execute(params![key, id])?;
    }
    Ok(id)
}

/// A word of letters a–z only: the shape of a name token.
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_FUZZY_LETTERS && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// A term matched through the trigram index: a word of 3 to [`MAX_FUZZY_LETTERS`] letters.
/// A function of the text alone, so a term's place in the index never depends on which
/// kind of value brought it in first.
fn is_fuzzy(term: &str) -> bool {
    term.len() >= 3 && is_word(term)
}

/// Keys of a word: `~canonical` for each of its nickname groups, `#CODE` for each of its
/// Double Metaphone codes (words of 3+ letters). Sorted, deduplicated; none for other terms.
fn name_keys(word: &str) -> Vec<String> {
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

/// One token of a query.
#[derive(Debug, PartialEq)]
struct QueryToken {
    /// As reported in [`SearchHit::matched`].
    text: String,
    /// Strings looked up exactly among the terms.
    exact: Vec<String>,
    /// For a name token, the word matched fuzzily.
    name: Option<String>,
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
fn parse_query(query: &str) -> Vec<QueryToken> {
    parse_query_with(query, None)
}

/// [`parse_query`], with the workspace's card key so a card number finds its hash.
fn parse_query_with(query: &str, card_key: Option<&[u8]>) -> Vec<QueryToken> {
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
fn joined_from<'w>(joined: &str, words: &[&'w str]) -> Vec<&'w str> {
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

/// A stored term proposed for a query token.
#[derive(Debug)]
struct Candidate {
    id: i64,
    term: String,
    postings: i64,
    similarity: f64,
    /// Equal to one of the token's exact lookups, or the token's best candidate when it has
    /// no exact one: its postings are read whatever their number.
    always: bool,
}

/// A query token (by index) and one of its candidate terms.
struct Pair {
    token: usize,
    candidate: Candidate,
}

/// A record's running score.
#[derive(Clone, Copy, Default)]
struct Score {
    score: f64,
    /// Bit `t` is set once query token `t` has been matched.
    tokens: u16,
    /// For each matched token, the index of the pair that matched it.
    picks: [u16; MAX_QUERY_TOKENS],
}

impl Score {
    /// True when stored term `id` already matched one of the record's tokens.
    fn holds(&self, id: i64, pairs: &[Pair]) -> bool {
        (0..MAX_QUERY_TOKENS).any(|t| {
            self.tokens & (1 << t) != 0 && pairs[usize::from(self.picks[t])].candidate.id == id
        })
    }
}

/// A term found for a token before scoring.
struct Found {
    term: String,
    postings: i64,
    exact: bool,
    phonetic: bool,
}

/// The candidate terms of one token, best first, at most [`MAX_TERMS_PER_TOKEN`] beside the
/// exact ones.
fn candidates(conn: &Connection, token: &QueryToken) -> Result<Vec<Candidate>, StoreError> {
    let mut found: FxHashMap<i64, Found> = FxHashMap::default();
    let mut lookup = conn.prepare_cached(&SQL.lookup)?;
    for term in &token.exact {
        let row: Option<(i64, i64)> = lookup
            .query_row([term], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((id, postings)) = row {
            found.insert(
                id,
                Found {
                    term: term.clone(),
                    postings,
                    exact: true,
                    phonetic: false,
                },
            );
        }
    }
    let mut add = |id: i64, term: String, postings: i64, phonetic: bool| {
        let f = found.entry(id).or_insert(Found {
            term,
            postings,
            exact: false,
            phonetic: false,
        });
        f.phonetic |= phonetic;
    };
    let mut read = |stmt: &mut rusqlite::CachedStatement<'_>,
                    args: &[&dyn rusqlite::ToSql],
                    phonetic: bool|
     -> Result<(), StoreError> {
        let mut rows = stmt.query(args)?;
        while let Some(r) = rows.next()? {
            add(r.get(0)?, r.get(1)?, r.get(2)?, phonetic);
        }
        Ok(())
    };
    let word = token.name.as_deref().filter(|w| is_word(w));
    if let Some(word) = word {
        let mut keyed = conn.prepare_cached(&SQL.key_terms)?;
        for key in name_keys(word) {
            let phonetic = key.starts_with('#');
            read(&mut keyed, &[&key, &(KEY_CANDIDATES as i64)], phonetic)?;
        }
        if is_fuzzy(word) {
            let mut trigram = conn.prepare_cached(&SQL.trigram_terms)?;
            let query = trigram_query(word);
            read(&mut trigram, &[&query, &(TRIGRAM_CANDIDATES as i64)], false)?;
            if word.len() <= MAX_NEIGHBOURHOOD_LETTERS {
                let mut listed = conn.prepare_cached(&SQL.listed_terms)?;
                read(&mut listed, &[&one_edit_neighbourhood(word)], false)?;
            }
        } else if word.len() == 2 {
            let mut prefix = conn.prepare_cached(&SQL.prefix_terms)?;
            let upper = prefix_upper_bound(word);
            read(
                &mut prefix,
                &[&word, &upper, &(PREFIX_CANDIDATES as i64)],
                false,
            )?;
        }
    }

    let mut exact = Vec::new();
    let mut fuzzy = Vec::new();
    for (id, f) in found {
        if f.exact {
            exact.push(Candidate {
                id,
                term: f.term,
                postings: f.postings,
                similarity: 1.0,
                always: true,
            });
            continue;
        }
        let Some(word) = word else { continue };
        let similarity = similarity(word, &f.term, f.phonetic);
        if similarity >= MIN_SIMILARITY {
            fuzzy.push(Candidate {
                id,
                term: f.term,
                postings: f.postings,
                similarity,
                always: false,
            });
        }
    }
    fuzzy.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.id.cmp(&b.id)));
    fuzzy.truncate(MAX_TERMS_PER_TOKEN);
    if exact.is_empty()
        && let Some(best) = fuzzy.first_mut()
    {
        best.always = true;
    }
    exact.sort_by_key(|c| c.id);
    exact.extend(fuzzy);
    Ok(exact)
}

/// Similarity (0–1) of a stored term to a query word: Jaro-Winkler, raised for one-edit
/// neighbours, nickname variants and (when close enough) same-sounding words.
fn similarity(word: &str, term: &str, phonetic: bool) -> f64 {
    if word == term {
        return 1.0;
    }
    let jw = jaro_winkler(word, term);
    let mut s = jw;
    if word.len() >= 3 && term.len() >= 3 && within_one_edit(word, term) {
        s = s.max(ONE_EDIT_SIMILARITY);
    }
    if are_name_variants(word, term) {
        s = s.max(NICKNAME_SIMILARITY);
    }
    if phonetic && jw >= PHONETIC_GATE {
        s = s.max(PHONETIC_SIMILARITY);
    }
    s
}

/// FTS5 query matching the terms that share a trigram with `word` (letters a–z only, so
/// the quoted trigrams need no escaping).
fn trigram_query(word: &str) -> String {
    let mut seen: FxHashSet<&[u8]> = FxHashSet::default();
    let mut query = String::new();
    for gram in word.as_bytes().windows(3) {
        if seen.len() == MAX_TRIGRAMS {
            break;
        }
        if seen.insert(gram) {
            if !query.is_empty() {
                query.push_str(" OR ");
            }
            // `word` is ASCII, so every window is a str.
            let _ = write!(query, "\"{}\"", String::from_utf8_lossy(gram));
        }
    }
    query
}

/// The words one edit (deletion, adjacent transposition, substitution or insertion of a
/// letter a–z) away from `word` (letters a–z), as a JSON array for `json_each`.
fn one_edit_neighbourhood(word: &str) -> String {
    let w = word.as_bytes();
    let mut variants: Vec<Vec<u8>> = Vec::with_capacity(w.len() * 54 + 26);
    for i in 0..w.len() {
        let mut v = w.to_vec();
        v.remove(i);
        variants.push(v);
        if i + 1 < w.len() && w[i] != w[i + 1] {
            let mut v = w.to_vec();
            v.swap(i, i + 1);
            variants.push(v);
        }
        for c in b'a'..=b'z' {
            if c != w[i] {
                let mut v = w.to_vec();
                v[i] = c;
                variants.push(v);
            }
        }
    }
    for i in 0..=w.len() {
        for c in b'a'..=b'z' {
            let mut v = w.to_vec();
            v.insert(i, c);
            variants.push(v);
        }
    }
    variants.sort_unstable();
    variants.dedup();
    let mut json = String::with_capacity(variants.len() * (w.len() + 4));
    json.push('[');
    for (i, v) in variants.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push('"');
        json.push_str(&String::from_utf8_lossy(v));
        json.push('"');
    }
    json.push(']');
    json
}

/// The smallest string greater than every string that starts with `word` (letters a–z).
fn prefix_upper_bound(word: &str) -> String {
    let mut bytes = word.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use spirit_matching::table::{PrepareOptions, normalise as normalise_value};

    const ATTRIBUTES_V1: &str = "CREATE TABLE attributes (
        record INTEGER NOT NULL,
        kind TEXT NOT NULL,
        raw TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (record, kind)
    ) WITHOUT ROWID;";

    /// An in-memory store at schema version 2 (the search tables) with an empty
    /// attributes table.
    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.execute_batch(ATTRIBUTES_V1).unwrap();
        let tx = conn.transaction().unwrap();
        crate::migrate::v2(&tx).unwrap();
        tx.commit().unwrap();
        conn
    }

    /// Normalises raw values as the store does.
    fn normalised(raw: &[(AttrKind, &str)]) -> Vec<(AttrKind, String)> {
        let options = PrepareOptions::default();
        let phones = PhoneNormaliser::new(&options.default_region);
        raw.iter()
            .filter_map(|(k, v)| normalise_value(*k, v, &options, &phones).map(|n| (*k, n)))
            .collect()
    }

    /// Stores (indexes) a record from raw values.
    fn add(conn: &Connection, record: i64, raw: &[(AttrKind, &str)]) {
        let values = normalised(raw);
        let refs: Vec<(AttrKind, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        index_record(conn, record, &refs).unwrap();
    }

    fn person(conn: &Connection, record: i64, given: &str, surname: &str) {
        add(
            conn,
            record,
            &[(AttrKind::GivenName, given), (AttrKind::Surname, surname)],
        );
    }

    fn ids(conn: &Connection, query: &str) -> Vec<i64> {
        search(conn, query, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.record)
            .collect()
    }

    fn pair(q: &str, t: &str) -> (String, String) {
        (q.to_string(), t.to_string())
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_typo_finds_the_name() {
        let conn = store();
        person(&conn, 1, "John", "Smith");
        person(&conn, 2, "Mary", "Jones");
        let hits = search(&conn, "smiht", 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].record, 1);
        assert_eq!(hits[0].matched, vec![pair("smiht", "smith")]);
        assert!(hits[0].score > MIN_SIMILARITY && hits[0].score < 1.0);
        assert_eq!(ids(&conn, "Jonse")[0], 2);
    }

    #[test]
    fn a_transposition_finds_the_name() {
        let conn = store();
        person(&conn, 1, "John", "Smith");
        person(&conn, 2, "Mary", "Jones");
        // "jhon" shares no trigram with "john": found through the phonetic key.
        assert_eq!(ids(&conn, "jhon"), vec![1]);
        assert_eq!(ids(&conn, "jonh")[0], 1);
        assert_eq!(ids(&conn, "Mray"), vec![2]);
        // An edit in the middle of a short word destroys all its trigrams.
        person(&conn, 3, "Ann", "Linman");
        person(&conn, 4, "Ann", "Gray");
        assert_eq!(ids(&conn, "limnan"), vec![3]);
        assert_eq!(ids(&conn, "gay"), vec![4]);
        assert_eq!(ids(&conn, "brgwn"), Vec::<i64>::new());
        person(&conn, 5, "Ann", "Brown");
        assert_eq!(ids(&conn, "brgwn"), vec![5]);
        person(&conn, 6, "Ann", "Cox");
        assert_eq!(parse_query("cxo")[0].text, "cxo");
        assert_eq!(ids(&conn, "cxo"), vec![6]);
    }

    #[test]
    fn a_nickname_finds_the_formal_name_and_back() {
        let conn = store();
        person(&conn, 1, "William", "Brown");
        person(&conn, 2, "Bill", "Green");
        person(&conn, 3, "Robert", "Brown");
        let hits = search(&conn, "bill brown", 10).unwrap();
        assert_eq!(hits[0].record, 1);
        assert_eq!(
            hits[0].matched,
            vec![pair("bill", "william"), pair("brown", "brown")]
        );
        assert!((hits[0].score - (1.0 + NICKNAME_SIMILARITY)).abs() < 1e-9);
        assert_eq!(ids(&conn, "william"), vec![1, 2]);
        assert_eq!(ids(&conn, "Bob"), vec![3]);
    }

    #[test]
    fn both_tokens_beat_one() {
        let conn = store();
        person(&conn, 1, "Peter", "Smith");
        person(&conn, 2, "Jon", "Taylor");
        person(&conn, 3, "Jon", "Smith");
        person(&conn, 4, "Jane", "Smyth");
        let hits = search(&conn, "jon smiht", 10).unwrap();
        assert_eq!(hits[0].record, 3);
        assert_eq!(
            hits[0].matched,
            vec![pair("jon", "jon"), pair("smiht", "smith")]
        );
        assert!(hits[0].score > 1.9);
        assert!(hits.iter().skip(1).all(|h| h.score < hits[0].score - 0.1));
        let rest: Vec<i64> = hits.iter().map(|h| h.record).collect();
        assert!(rest.contains(&1) && rest.contains(&2));
    }

    #[test]
    fn a_stored_term_serves_one_query_token() {
        let conn = store();
        add(&conn, 1, &[(AttrKind::GivenName, "John")]);
        let hits = search(&conn, "john johnson", 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].score, 1.0);
        assert_eq!(hits[0].matched, vec![pair("john", "john")]);
    }

    #[test]
    fn an_email_finds_its_record() {
        let conn = store();
        add(
            &conn,
            7,
            &[
                (AttrKind::Surname, "Smith"),
                (AttrKind::Email, "J.Smith+news@Example.com"),
            ],
        );
        add(&conn, 8, &[(AttrKind::Surname, "Smith")]);
        for q in [
            "j.smith@example.com",
            "J.SMITH@EXAMPLE.COM",
            "<j.smith@example.com>",
        ] {
            let hits = search(&conn, q, 10).unwrap();
            assert_eq!(hits.len(), 1, "{q}");
            assert_eq!(hits[0].record, 7);
            assert_eq!(hits[0].matched[0].1, "j.smith@example.com");
        }
        // The local part is a term too.
        assert!(ids(&conn, "smith").contains(&7));
    }

    #[test]
    fn a_phone_number_finds_its_record_however_written() {
        let conn = store();
        add(
            &conn,
            5,
            &[
                (AttrKind::GivenName, "Ann"),
                (AttrKind::Phone, "07700 900123"),
            ],
        );
        add(&conn, 6, &[(AttrKind::Phone, "+1 415 555 2671")]);
        for q in [
            "+44 7700 900123",
            "07700900123",
            "07700 900123",
            "(07700) 900-123",
            "447700900123",
            "+447700900123",
        ] {
            let hits = search(&conn, q, 10).unwrap();
            assert_eq!(hits.len(), 1, "{q}");
            assert_eq!(hits[0].record, 5, "{q}");
            assert_eq!(hits[0].matched, vec![pair(q, "+447700900123")]);
        }
        assert_eq!(ids(&conn, "+1 (415) 555-2671"), vec![6]);
        assert_eq!(ids(&conn, "ann 07700 900123"), vec![5]);
        assert_eq!(search(&conn, "ann 07700 900123", 1).unwrap()[0].score, 2.0);
    }

    #[test]
    fn usernames_and_national_ids_match_exactly() {
        let conn = store();
        add(
            &conn,
            1,
            &[
                (AttrKind::Username, "J_Smith99"),
                (AttrKind::NationalId, "AB 12 34 56 C"),
            ],
        );
        assert_eq!(ids(&conn, "j_smith99"), vec![1]);
        assert_eq!(ids(&conn, "AB123456C"), vec![1]);
    }

    #[test]
    fn unicode_queries_are_folded() {
        let conn = store();
        person(&conn, 1, "Zoë", "Müller");
        assert_eq!(ids(&conn, "Müller"), vec![1]);
        assert_eq!(ids(&conn, "MULLER"), vec![1]);
        assert_eq!(ids(&conn, "zoe mueller"), vec![1]);
        assert_eq!(ids(&conn, "Мюллер"), vec![1]);
        let hits = search(&conn, "Müller", 10).unwrap();
        assert_eq!(hits[0].matched, vec![pair("muller", "muller")]);
    }

    #[test]
    fn names_are_normalised_like_stored_names() {
        let conn = store();
        person(&conn, 1, "Hans", "van der Berg");
        person(&conn, 2, "Sean", "O'Brien");
        assert_eq!(ids(&conn, "Dr Hans van der Berg"), vec![1]);
        assert_eq!(search(&conn, "hans van der berg", 1).unwrap()[0].score, 2.0);
        assert_eq!(ids(&conn, "o'brien"), vec![2]);
        // A particle in a query may start a given name.
        person(&conn, 3, "Ben", "Smith");
        person(&conn, 4, "Al", "Jones");
        let hits = search(&conn, "ben smith", 10).unwrap();
        assert_eq!((hits[0].record, hits[0].score), (3, 2.0));
        assert_eq!(ids(&conn, "al jones"), vec![4]);
        assert_eq!(ids(&conn, "van der berg")[0], 1);
    }

    #[test]
    fn short_tokens_match_exactly_or_by_prefix() {
        let conn = store();
        person(&conn, 1, "Jo", "Li");
        person(&conn, 2, "Joseph", "Lim");
        person(&conn, 3, "Al", "Lee");
        assert_eq!(ids(&conn, "li"), vec![1, 2]);
        assert_eq!(ids(&conn, "jo li")[0], 1);
        // A 1-letter token only matches exactly.
        assert!(ids(&conn, "j").is_empty());
    }

    #[test]
    fn empty_and_unsearchable_queries_give_nothing() {
        let conn = store();
        person(&conn, 1, "John", "Smith");
        for q in ["", "   ", "?!.,;:", "()+-", "😀 ★", "\u{0}\t\n"] {
            assert_eq!(search(&conn, q, 10).unwrap(), vec![], "{q:?}");
        }
        assert_eq!(search(&conn, "smith", 0).unwrap(), vec![]);
        assert!(ids(&conn, "zzyzx").is_empty());
    }

    #[test]
    fn ties_are_broken_by_record_id_and_limit_applies() {
        let conn = store();
        for r in [9, 3, 5] {
            person(&conn, r, "Ann", "Lee");
        }
        assert_eq!(ids(&conn, "ann lee"), vec![3, 5, 9]);
        let hits = search(&conn, "ann lee", 2).unwrap();
        assert_eq!(
            hits.iter().map(|h| h.record).collect::<Vec<_>>(),
            vec![3, 5]
        );
    }

    #[test]
    fn indexing_twice_changes_nothing() {
        let conn = store();
        person(&conn, 1, "John", "Smith");
        person(&conn, 1, "John", "Smith");
        assert_eq!(count(&conn, "SELECT max(postings) FROM search_terms"), 1);
        assert_eq!(count(&conn, "SELECT count(*) FROM search_postings"), 2);
    }

    #[test]
    fn unindexing_removes_the_record_and_its_orphan_terms() {
        let conn = store();
        add(
            &conn,
            1,
            &[
                (AttrKind::GivenName, "John"),
                (AttrKind::Surname, "Smith"),
                (AttrKind::Email, "john@example.com"),
            ],
        );
        person(&conn, 2, "John", "Smyth");
        unindex_record(&conn, 1).unwrap();
        assert_eq!(ids(&conn, "smith"), vec![2]);
        assert!(ids(&conn, "john@example.com").is_empty());
        let terms: Vec<String> = conn
            .prepare("SELECT term FROM search_terms ORDER BY term")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(terms, vec!["john", "smyth"]);
        assert_eq!(
            count(
                &conn,
                "SELECT postings FROM search_terms WHERE term = 'john'"
            ),
            1
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM search_keys WHERE term NOT IN (SELECT id FROM search_terms)"
            ),
            0
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM search_trigrams WHERE search_trigrams MATCH '\"mit\"'"
            ),
            0
        );
        // Unindexing again, or an unknown record, is harmless.
        unindex_record(&conn, 1).unwrap();
        unindex_record(&conn, 42).unwrap();
        unindex_record(&conn, 2).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM search_terms"), 0);
        assert_eq!(count(&conn, "SELECT count(*) FROM search_keys"), 0);
        assert!(ids(&conn, "john").is_empty());
        // A term deleted and indexed again is found again.
        person(&conn, 3, "John", "Smith");
        assert_eq!(ids(&conn, "jon smiht"), vec![3]);
    }

    #[test]
    fn migrate_backfills_the_stored_records() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(ATTRIBUTES_V1).unwrap();
        let rows: &[(i64, &str, &str, Option<&str>)] = &[
            (1, "given_name", "John", Some("john")),
            (1, "surname", "Smith", Some("smith")),
            (1, "date_of_birth", "1980-01-02", Some("1980-01-02")),
            (2, "full_name", "Mary Jones", None),
            (2, "email", "Mary@Example.com", Some("mary@example.com")),
            (2, "city", "Leeds", Some("leeds")),
            (3, "phone", "07700 900123", Some("+447700900123")),
            (3, "postcode", "LS1 1AA", Some("ls11aa")),
        ];
        for (record, kind, raw, value) in rows {
            conn.execute(
                "INSERT INTO attributes(record, kind, raw, value) VALUES (?1, ?2, ?3, ?4)",
                params![record, kind, raw, value],
            )
            .unwrap();
        }
        let tx = conn.transaction().unwrap();
        crate::migrate::v2(&tx).unwrap();
        tx.commit().unwrap();
        assert_eq!(ids(&conn, "jon smiht"), vec![1]);
        assert_eq!(ids(&conn, "mary@example.com"), vec![2]);
        assert_eq!(ids(&conn, "07700 900123"), vec![3]);
        // Only names and identifiers are indexed.
        assert!(ids(&conn, "leeds").is_empty());
        assert!(ids(&conn, "ls11aa").is_empty());
        assert!(ids(&conn, "jones").is_empty());
        assert_eq!(count(&conn, "SELECT count(*) FROM search_postings"), 5);
    }

    #[test]
    fn the_trigram_index_ranks_terms_sharing_more_trigrams_first() {
        let conn = store();
        for (r, surname) in ["Smith", "Smithson", "Smirnov", "Mihai", "Goldsmith"]
            .into_iter()
            .enumerate()
        {
            add(&conn, r as i64, &[(AttrKind::Surname, surname)]);
        }
        let terms: Vec<String> = conn
            .prepare(&SQL.trigram_terms)
            .unwrap()
            .query_map(params![trigram_query("smithsen"), 3], |r| r.get(1))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(terms.len(), 3);
        assert!(terms.contains(&"smithson".to_string()), "{terms:?}");
        // Found through the trigram index only: no shared phonetic code or nickname.
        assert_ne!(double_metaphone("smiht"), double_metaphone("goldsmith"));
        assert_eq!(ids(&conn, "goldsmiht"), vec![4]);
    }

    #[test]
    fn large_posting_lists_are_skipped_unless_exact_or_best() {
        let conn = store();
        person(&conn, 1, "Ann", "James");
        person(&conn, 2, "Ann", "Jameson");
        // Pretend both lists are huge: only the posting counts drive the skipping.
        conn.execute(
            "UPDATE search_terms SET postings = 1000000 WHERE term LIKE 'james%'",
            [],
        )
        .unwrap();
        // "jamess": "james" is the best candidate (read), "jameson" is skipped.
        assert_eq!(ids(&conn, "jamess"), vec![1]);
        assert_eq!(ids(&conn, "jameson"), vec![2]);
        assert_eq!(ids(&conn, "ann"), vec![1, 2]);
        // The list lookup probes the term index once per listed word.
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", SQL.listed_terms))
            .unwrap()
            .query_map(["[]"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|p| p.contains("USING INDEX")), "{plan:?}");
    }

    #[test]
    fn query_parsing() {
        let texts =
            |q: &str| -> Vec<String> { parse_query(q).into_iter().map(|t| t.text).collect() };
        assert_eq!(texts("Mr John  SMITH"), vec!["john", "smith"]);
        assert_eq!(texts("smith smith"), vec!["smith"]);
        assert_eq!(texts("Ben Smith"), vec!["bensmith", "ben", "smith"]);
        assert_eq!(
            texts("hans van der berg"),
            vec!["hans", "vanderberg", "van", "der", "berg"]
        );
        assert_eq!(joined_from("abc", &["x", "a", "bc", "d"]), vec!["a", "bc"]);
        assert!(joined_from("abc", &["abc"]).is_empty());
        assert!(joined_from("abc", &["ab", "cd"]).is_empty());
        assert_eq!(
            texts("john +44 7700 900123 j.s@x.com ab12"),
            vec!["john", "+44 7700 900123", "j.s@x.com", "ab12"]
        );
        assert_eq!(parse_query("a b c d e f g h i j k").len(), MAX_QUERY_TOKENS);
        assert_eq!(
            texts("al jones 07700900123"),
            vec!["aljones", "07700900123", "al", "jones"]
        );
        assert_eq!(trigram_query("smiht"), "\"smi\" OR \"mih\" OR \"iht\"");
        assert_eq!(trigram_query("aaaa"), "\"aaa\"");
        assert_eq!(prefix_upper_bound("jo"), "jp");
        let n = one_edit_neighbourhood("ab");
        for v in ["\"b\"", "\"a\"", "\"ba\"", "\"zb\"", "\"abz\"", "\"cab\""] {
            assert!(n.contains(v), "{v} in {n}");
        }
        assert!(!n.contains("\"ab\""));
        assert_eq!(clip("zoë", 3), "zo");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn search_never_fails(query in any::<String>(), typed in "[a-zA-Z0-9 @.+()'_-]{0,40}") {
            let conn = store();
            person(&conn, 1, "John", "Smith");
            add(&conn, 2, &[(AttrKind::Email, "a.b@example.com"), (AttrKind::Phone, "07700 900123")]);
            for q in [&query, &typed] {
                let hits = search(&conn, q, 5).unwrap();
                prop_assert!(hits.len() <= 5);
                prop_assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
            }
        }

        #[test]
        fn any_stored_name_is_found_by_itself(
            given in "[A-Za-zÀ-ÿ' -]{0,20}",
            surname in "[\\p{L}\\p{M}' .,-]{0,20}",
        ) {
            let conn = store();
            add(&conn, 1, &[(AttrKind::GivenName, &given), (AttrKind::Surname, &surname)]);
            person(&conn, 2, "Someone", "Else");
            for raw in [&given, &surname] {
                if normalise_name(raw).is_some() {
                    let hits = search(&conn, raw, 5).unwrap();
                    prop_assert!(hits.iter().any(|h| h.record == 1), "{:?}", raw);
                }
            }
        }

        #[test]
        fn indexing_never_fails(values in proptest::collection::vec((0usize..15, any::<String>()), 0..6)) {
            let conn = store();
            let values: Vec<(AttrKind, &str)> =
                values.iter().map(|(k, v)| (AttrKind::ALL[*k], v.as_str())).collect();
            index_record(&conn, 1, &values).unwrap();
            unindex_record(&conn, 1).unwrap();
            prop_assert_eq!(count(&conn, "SELECT count(*) FROM search_terms"), 0);
        }
    }
}

/// Timing harness: builds an on-disk index of synthetic records and prints query latency
/// percentiles. Run with
/// `cargo test -- --ignored --nocapture search_latency` (records:
/// `SPIRIT_SEARCH_BENCH_RECORDS`, default 200,000). No timed assertions.
#[cfg(test)]
mod timing {
    use std::time::{Duration, Instant};

    use super::*;

    /// xorshift64*: deterministic and dependency-free.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn below(&mut self, n: usize) -> usize {
            (self.unit() * n as f64) as usize
        }
        /// Skewed towards small indexes: the most frequent of `n` values is drawn with
        /// probability about n^(-2/3) (3.6% for 150 names).
        fn skewed(&mut self, n: usize) -> usize {
            ((self.unit().powf(1.5) * n as f64) as usize).min(n - 1)
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len())]
        }
    }

    #[rustfmt::skip]
    const GIVEN: &[&str] = &[
        "james", "john", "robert", "michael", "william", "david", "richard", "joseph", "thomas",
        "charles", "mary", "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan",
        "jessica", "sarah", "karen", "daniel", "matthew", "anthony", "mark", "donald", "steven",
        "paul", "andrew", "joshua", "kenneth", "nancy", "betty", "margaret", "sandra", "ashley",
        "kimberly", "emily", "donna", "michelle", "dorothy", "kevin", "brian", "george",
        "edward", "ronald", "timothy", "jason", "jeffrey", "ryan", "jacob", "carol", "amanda",
        "melissa", "deborah", "stephanie", "rebecca", "sharon", "laura", "cynthia", "kathleen",
        "gary", "nicholas", "eric", "jonathan", "stephen", "larry", "justin", "scott",
        "brandon", "benjamin", "amy", "shirley", "angela", "helen", "anna", "brenda", "pamela",
        "nicole", "emma", "samantha", "oliver", "harry", "jack", "charlie", "jacob", "alfie",
        "freddie", "oscar", "leo", "archie", "olivia", "amelia", "isla", "ava", "mia", "ivy",
        "lily", "isabella", "rosie", "sophia", "bill", "bob", "jim", "liz", "peggy", "tom",
        "dick", "kate", "katie", "jon", "jo", "al", "ed", "sam", "alex", "chris", "pat",
        "mohammed", "muhammad", "ali", "fatima", "aisha", "wei", "li", "ming", "raj", "priya",
        "arjun", "sofia", "lucas", "mateo", "camila", "valentina", "jose", "juan", "maria",
        "luis", "carlos", "ana", "pierre", "jean", "marie", "hans", "anna", "klaus", "jurgen",
        "zoe", "chloe",
    ];
    #[rustfmt::skip]
    const SURNAMES: &[&str] = &[
        "smith", "jones", "williams", "taylor", "brown", "davies", "evans", "wilson", "thomas",
        "johnson", "roberts", "robinson", "thompson", "wright", "walker", "white", "edwards",
        "hughes", "green", "hall", "lewis", "harris", "clarke", "patel", "jackson", "wood",
        "turner", "martin", "cooper", "hill", "ward", "morris", "moore", "clark", "lee", "king",
        "baker", "harrison", "morgan", "allen", "james", "scott", "phillips", "watson", "davis",
        "parker", "price", "bennett", "young", "griffiths", "mitchell", "kelly", "cook",
        "carter", "richardson", "bailey", "collins", "bell", "shaw", "murphy", "miller", "cox",
        "richards", "khan", "marshall", "anderson", "simpson", "ellis", "adams", "singh",
        "begum", "wilkinson", "foster", "chapman", "powell", "webb", "rogers", "gray", "mason",
        "ali", "hunt", "hussain", "campbell", "matthews", "owen", "palmer", "holmes", "mills",
        "barnes", "knight", "lloyd", "butler", "russell", "barker", "fisher", "stevens",
        "jenkins", "murray", "dixon", "harvey", "muller", "schmidt", "garcia", "rodriguez",
        "nguyen", "wang", "obrien", "vanderberg",
    ];
    #[rustfmt::skip]
    const SYLLABLES: &[&str] = &[
        "ab", "ber", "cal", "dor", "el", "fen", "gar", "hol", "ing", "jor", "kas", "lin", "mor",
        "nor", "ol", "pen", "quin", "ros", "sel", "tor", "ul", "van", "wes", "yar", "zel",
        "ash", "bro", "cren", "dal", "fal", "gil", "hart", "kel", "lock", "mar", "ned", "orr",
        "pol", "rad", "stan",
    ];
    #[rustfmt::skip]
    const ENDINGS: &[&str] = &[
        "son", "ton", "ley", "field", "wood", "man", "er", "ford", "ham", "well", "by", "dale",
        "worth", "ridge", "stone", "more", "ski", "ova", "ez", "ini",
    ];
    #[rustfmt::skip]
    const DOMAINS: &[&str] = &[
        "example.com", "mail.example", "post.example.org", "web.example.net",
    ];
    #[rustfmt::skip]
    const NICKNAMES: &[&str] = &[
        "bill", "bob", "peggy", "jim", "liz", "kate", "dick", "harry",
    ];

    struct Person {
        given: String,
        surname: String,
        email: Option<String>,
        phone: Option<String>,
    }

    fn person(rng: &mut Rng) -> Person {
        let given = if rng.unit() < 0.9 {
            GIVEN[rng.skewed(GIVEN.len())].to_string()
        } else {
            format!("{}{}", rng.pick(SYLLABLES), rng.pick(SYLLABLES))
        };
        let u = rng.unit();
        let surname = if u < 0.45 {
            SURNAMES[rng.skewed(SURNAMES.len())].to_string()
        } else if u < 0.75 {
            let i = rng.skewed(SYLLABLES.len() * ENDINGS.len());
            format!(
                "{}{}",
                SYLLABLES[i % SYLLABLES.len()],
                ENDINGS[i / SYLLABLES.len()]
            )
        } else {
            format!(
                "{}{}{}",
                rng.pick(SYLLABLES),
                rng.pick(SYLLABLES),
                rng.pick(ENDINGS)
            )
        };
        let email = (rng.unit() < 0.7)
            .then(|| format!("{given}.{surname}{}@{}", rng.below(1000), rng.pick(DOMAINS)));
        let phone = (rng.unit() < 0.6).then(|| format!("+447{:09}", rng.below(1_000_000_000)));
        Person {
            given,
            surname,
            email,
            phone,
        }
    }

    /// One random edit (substitution, deletion, insertion or transposition) after the
    /// first letter.
    fn typo(rng: &mut Rng, word: &str) -> String {
        let mut b = word.as_bytes().to_vec();
        if b.len() < 3 {
            return word.to_string();
        }
        let i = 1 + rng.below(b.len() - 2);
        let letter = b'a' + rng.below(26) as u8;
        match rng.below(4) {
            0 => b[i] = letter,
            1 => {
                b.remove(i);
            }
            2 => b.insert(i, letter),
            _ => b.swap(i, i + 1),
        }
        String::from_utf8(b).unwrap_or_else(|_| word.to_string())
    }

    fn percentile(sorted: &[Duration], p: f64) -> Duration {
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i]
    }

    #[test]
    #[ignore = "timing harness: run explicitly with --ignored --nocapture"]
    fn search_latency() {
        let n: usize = std::env::var("SPIRIT_SEARCH_BENCH_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("search.db");
        let mut conn = Connection::open(&path).unwrap();
        // The store's connection settings.
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.pragma_update(None, "cache_size", -65_536).unwrap();
        conn.pragma_update(None, "temp_store", "MEMORY").unwrap();
        conn.execute_batch(
            "CREATE TABLE attributes (record INTEGER NOT NULL, kind TEXT NOT NULL, \
             raw TEXT NOT NULL, value TEXT, PRIMARY KEY (record, kind)) WITHOUT ROWID;",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        crate::migrate::v2(&tx).unwrap();
        tx.commit().unwrap();

        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        let people: Vec<Person> = (0..n).map(|_| person(&mut rng)).collect();
        let started = Instant::now();
        for (chunk_no, chunk) in people.chunks(10_000).enumerate() {
            let tx = conn.transaction().unwrap();
            for (i, p) in chunk.iter().enumerate() {
                let mut values = vec![
                    (AttrKind::GivenName, p.given.as_str()),
                    (AttrKind::Surname, p.surname.as_str()),
                ];
                values.extend(p.email.as_deref().map(|e| (AttrKind::Email, e)));
                values.extend(p.phone.as_deref().map(|e| (AttrKind::Phone, e)));
                let record = (chunk_no * 10_000 + i + 1) as i64;
                index_record(&tx, record, &values).unwrap();
            }
            tx.commit().unwrap();
        }
        let indexing = started.elapsed();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
            .unwrap();
        let bytes = std::fs::metadata(&path).unwrap().len();
        let stat = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        println!(
            "{n} records indexed in {:.1} s ({:.0} µs/record); file {:.1} MiB; {} terms, {} postings, {} keys; largest posting list {}",
            indexing.as_secs_f64(),
            indexing.as_secs_f64() * 1e6 / n as f64,
            bytes as f64 / (1 << 20) as f64,
            stat("SELECT count(*) FROM search_terms"),
            stat("SELECT count(*) FROM search_postings"),
            stat("SELECT count(*) FROM search_keys"),
            stat("SELECT max(postings) FROM search_terms"),
        );
        println!(
            "  most terms under one key: {}",
            stat("SELECT max(n) FROM (SELECT count(*) AS n FROM search_keys GROUP BY key)")
        );

        const KINDS: [&str; 8] = [
            "full name, typo",
            "full name",
            "surname, typo",
            "nickname + surname",
            "email",
            "phone (national)",
            "given name only",
            "2 letters + surname",
        ];
        let mut queries: Vec<(usize, String)> = Vec::new();
        for q in 0..2_400 {
            let p = &people[rng.below(n)];
            let kind = q % KINDS.len();
            let text = match kind {
                0 => format!("{} {}", p.given, typo(&mut rng, &p.surname)),
                1 => format!("{} {}", p.given, p.surname),
                2 => typo(&mut rng, &p.surname),
                3 => format!("{} {}", rng.pick(NICKNAMES), p.surname),
                4 => p.email.clone().unwrap_or_else(|| p.surname.clone()),
                5 => p.phone.as_ref().map_or_else(
                    || p.surname.clone(),
                    |ph| format!("0{} {}", &ph[3..7], &ph[7..]),
                ),
                6 => p.given.clone(),
                _ => format!("{} {}", &p.given[..2.min(p.given.len())], p.surname),
            };
            queries.push((kind, text));
        }
        // Warm-up: the first queries load the pages.
        for (_, q) in queries.iter().take(400) {
            search(&conn, q, 20).unwrap();
        }
        let mut all = Vec::new();
        let mut by_kind: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
        let mut missed = Vec::new();
        for (kind, q) in &queries[400..] {
            let t = Instant::now();
            let hits = search(&conn, q, 20).unwrap();
            let d = t.elapsed();
            if hits.is_empty() {
                missed.push(q.as_str());
            }
            all.push(d);
            by_kind[*kind].push(d);
        }
        all.sort();
        println!(
            "{} queries: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; no hit for {:?}",
            all.len(),
            percentile(&all, 0.5).as_secs_f64() * 1e3,
            percentile(&all, 0.9).as_secs_f64() * 1e3,
            percentile(&all, 0.99).as_secs_f64() * 1e3,
            all.last().unwrap().as_secs_f64() * 1e3,
            missed,
        );
        for (kind, mut ds) in by_kind.into_iter().enumerate() {
            ds.sort();
            println!(
                "  {:<22} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
                KINDS[kind],
                percentile(&ds, 0.5).as_secs_f64() * 1e3,
                percentile(&ds, 0.99).as_secs_f64() * 1e3,
                ds.last().unwrap().as_secs_f64() * 1e3,
            );
        }
        // The v1 → v2 backfill of up to 200,000 stored records.
        let backfilled = n.min(200_000);
        let mut old = Connection::open(dir.path().join("backfill.db")).unwrap();
        old.pragma_update(None, "journal_mode", "WAL").unwrap();
        old.pragma_update(None, "cache_size", -65_536).unwrap();
        old.pragma_update(None, "foreign_keys", "ON").unwrap();
        old.execute_batch(
            "CREATE TABLE attributes (record INTEGER NOT NULL, kind TEXT NOT NULL, \
             raw TEXT NOT NULL, value TEXT, PRIMARY KEY (record, kind)) WITHOUT ROWID;",
        )
        .unwrap();
        let tx = old.transaction().unwrap();
        {
            let mut insert = tx
                .prepare("INSERT INTO attributes(record, kind, raw, value) VALUES (?1, ?2, ?3, ?3)")
                .unwrap();
            for (i, p) in people.iter().take(backfilled).enumerate() {
                let record = i as i64 + 1;
                insert
                    .execute(params![record, "given_name", p.given])
                    .unwrap();
                insert
                    .execute(params![record, "surname", p.surname])
                    .unwrap();
                if let Some(e) = &p.email {
                    insert.execute(params![record, "email", e]).unwrap();
                }
                if let Some(ph) = &p.phone {
                    insert.execute(params![record, "phone", ph]).unwrap();
                }
            }
        }
        tx.commit().unwrap();
        let started = Instant::now();
        let tx = old.transaction().unwrap();
        crate::migrate::v2(&tx).unwrap();
        tx.commit().unwrap();
        println!(
            "backfill (migrate) of {backfilled} records: {:.1} s",
            started.elapsed().as_secs_f64()
        );

        // A sample of answers, to eyeball the ranking.
        let phone = people.iter().find_map(|p| p.phone.as_deref()).unwrap();
        let phone = format!("0{} {}", &phone[3..7], &phone[7..]);
        for q in [
            "jon smiht",
            "bill wilson",
            "mary",
            "jo smith",
            "cxo",
            &phone,
        ] {
            let hits = search(&conn, q, 3).unwrap();
            let shown: Vec<_> = hits
                .iter()
                .map(|h| (h.record, (h.score * 1e3).round() / 1e3, &h.matched))
                .collect();
            println!("  {q:?} → {shown:?}");
        }
    }
}
