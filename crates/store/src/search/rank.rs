//! Running a query: the candidate terms of each token (exact, by key, by trigram, one
//! edit away, by prefix), their similarity, and the records ranked by the sum over the
//! tokens of their best term's similarity.

use std::fmt::Write as _;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension};
use rustc_hash::{FxHashMap, FxHashSet};
use spirit_matching::comparison::{jaro_winkler, within_one_edit};
use spirit_text::are_name_variants;

use super::terms::{is_fuzzy, is_word, name_keys};
use super::tokens::{MAX_QUERY_TOKENS, QueryToken, parse_query_with};
use crate::StoreError;
use crate::schema::{SEARCH_KEYS, SEARCH_POSTINGS, SEARCH_TERMS, SEARCH_TRIGRAMS};

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
/// Distinct trigrams of a token used in its trigram query.
pub const MAX_TRIGRAMS: usize = 24;

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

/// Ranked hits for a free-text query, best first, at most `limit`. An empty query, or one
/// with nothing searchable in it, gives no hits. `card_key` is the workspace's payment-card
/// key ([`crate::Workspace::card_key_if_any`]), so that a card number finds its keyed hash;
/// without it cards are not searched.
pub fn search(
    conn: &Connection,
    card_key: Option<&[u8; 32]>,
    query: &str,
    limit: usize,
) -> Result<Vec<SearchHit>, StoreError> {
    let tokens = parse_query_with(query, card_key.map(|k| &k[..]));
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

/// The SQL that reads the index, with the table names of the schema module filled in.
pub(super) struct Sql {
    pub(super) lookup: String,
    pub(super) key_terms: String,
    pub(super) trigram_terms: String,
    pub(super) prefix_terms: String,
    pub(super) listed_terms: String,
    pub(super) postings: String,
}

pub(super) static SQL: LazyLock<Sql> = LazyLock::new(|| Sql {
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
pub(super) fn trigram_query(word: &str) -> String {
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
pub(super) fn one_edit_neighbourhood(word: &str) -> String {
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
pub(super) fn prefix_upper_bound(word: &str) -> String {
    let mut bytes = word.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
