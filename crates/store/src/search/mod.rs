//! Fuzzy search over the names and identifiers of stored records (`spirit search ws/ "jon
//! smiht"`).
//!
//! # What is indexed
//!
//! The index holds *distinct terms*, not documents, so its fuzzy part grows with the number
//! of different names rather than with the number of records. A term is
//!
//! - a name word: each space-separated word of a record's given name, middle name, surname
//!   or full name, folded ([`spirit_text::fold()`]) — "smith", "obrien", "muller";
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
//!
//! [`SEARCH_TERMS`]: crate::schema::SEARCH_TERMS
//! [`SEARCH_POSTINGS`]: crate::schema::SEARCH_POSTINGS
//! [`SEARCH_TRIGRAMS`]: crate::schema::SEARCH_TRIGRAMS
//! [`SEARCH_KEYS`]: crate::schema::SEARCH_KEYS

mod index;
mod rank;
mod terms;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timing;
mod tokens;

pub use index::unindex_record;
pub(crate) use index::{index_record, index_stored_records};
pub use rank::{
    KEY_CANDIDATES, MAX_NEIGHBOURHOOD_LETTERS, MAX_POSTINGS_PER_QUERY, MAX_POSTINGS_PER_TERM,
    MAX_TERMS_PER_TOKEN, MAX_TRIGRAMS, MIN_SIMILARITY, NICKNAME_SIMILARITY, ONE_EDIT_SIMILARITY,
    PHONETIC_GATE, PHONETIC_SIMILARITY, PREFIX_CANDIDATES, SearchHit, TRIGRAM_CANDIDATES, search,
};
pub use terms::{MAX_FUZZY_LETTERS, MAX_TERM_BYTES};
pub use tokens::{MAX_QUERY_BYTES, MAX_QUERY_TOKENS, PHONE_REGION};
