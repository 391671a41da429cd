//! Stylometry: a writing-style profile per account, and an authorship-verification score
//! between two profiles, calibrated to a probability.
//!
//! ```
//! use spirit_text::style::{Profile, ProfileBuilder, verify};
//! let mut b = ProfileBuilder::new();
//! b.add_text("hey guys, anyone got a plug for the new batch?? lol");
//! b.add_timestamp(1_700_000_000);
//! let a = b.finish();
//! let stored = a.to_serialised(); // "spirit-style/1:…", an attribute of the account
//! let back = Profile::parse(&stored).unwrap();
//! assert_eq!(back, a);
//! let other = Profile::from_texts(["It is a truth universally acknowledged."]);
//! let v = verify(&back, &other);
//! assert!((0.0..=1.0).contains(&v.probability));
//! assert_eq!(v.probability, verify(&other, &back).probability);
//! ```
//!
//! # The profile
//!
//! [`ProfileBuilder`] reads each text once, character by character (linear work, counted by
//! [`ProfileBuilder::work`]; memory bounded by the n-gram space), and counts:
//!
//! - **character 3- and 4-grams**, hashed into 2^20 buckets over a lightly normalised
//!   stream (whitespace runs are one space, digits are `0`; case and punctuation are kept,
//!   they are style); the [`NGRAM_KEEP`] most frequent buckets are kept;
//! - **function words**: [`FUNCTION_WORDS`], English closed-class words and a few chat forms;
//! - **format habits**: [`FORMAT_COUNTERS`] — punctuation marks, curly versus straight quotes,
//!   dashes, ellipses, repeated `!?`, emoticons and emoji, capitals, digits, line breaks,
//!   blank lines, double spaces, all-caps and capitalised words, sentences begun in lowercase;
//! - **lengths**: word-length and sentence-length histograms (so their means);
//! - **posting hours** (UTC), when timestamps are given with [`ProfileBuilder::add_timestamp`].
//!
//! A profile is plain counts: deterministic for the same texts in the same order. Its
//! serialised form ([`Profile::to_serialised`], [`Profile::parse`]) is versioned
//! (`spirit-style/1:` + base64 of varints, about 11 KB from 500 words on); damaged input is a
//! [`StyleError`] naming the field.
//!
//! # The score
//!
//! [`PairFeatures::between`] compares two profiles group by group (see [`FEATURE_NAMES`]):
//! cosine and min–max similarity of relative n-gram and function-word frequencies; the same
//! frequencies standardised against a [`Reference`] (means and spreads fitted on reference
//! accounts: all function words and the [`REFERENCE_NGRAMS`] most frequent n-gram buckets)
//! compared by cosine and by Burrows' Delta; a distance of format-habit rates; distances of
//! the word- and sentence-length distributions; and the length of the shorter side. A
//! [`Calibration`] — that reference plus a logistic model over the features — turns them
//! into log-odds of one author at even prior odds: an estimate of the log likelihood ratio,
//! which is what a match model adds up. [`verify`] uses [`Calibration::DEFAULT`];
//! [`Reference::fit`] and [`Calibration::fit`] refit on other labelled accounts. Every
//! feature is exactly symmetric, so the score is too.
//!
//! The posting-hour similarity is reported beside the score
//! ([`Verification::hour_similarity`], from [`MIN_TIMESTAMPS`] timestamps a side) but is not
//! part of it: no ground truth with timestamps was available to calibrate it.
//!
//! # Calibration of the shipped constants, and what it is worth
//!
//! [`fitted`] says how [`Calibration::DEFAULT`] was fitted: 26 of 52 real authors (U.S.
//! presidents' annual messages, the Federalist papers, the Brontës, Elizabethan drama,
//! Butler's Iliad; all from PyPI packages, laid out by `bench/style/setup`), accounts of
//! 500–2,000 consecutive words. On the 26 held-out authors (`bench/style/run`;
//! `docs/benchmarks.md` has the full tables): ROC AUC 0.903 / 0.935 / 0.958 and equal-error
//! rate 18.5% / 15.2% / 11.5% at 500 / 1,000 / 2,000 words; top-1 attribution among 50
//! candidate accounts 36% / 47% / 62%. On held-out authors the calibration is somewhat
//! over-confident in the middle (pairs scored 0.6–0.7 at 2,000 words were same-author
//! about half the time, at even odds) and good at the ends.
//!
//! The score is **advisory evidence**. It was fitted on edited English prose; forum and chat
//! text is shorter, noisier and sometimes by many hands, and topic and genre move the
//! features too (accounts cut from one author's text share topics, which flatters these
//! figures). Show the probability with its calibration, and never merge on it alone.

mod bands;
mod calibration;
mod codec;
mod features;
pub mod fitted;
mod lexicon;
mod profile;
pub mod sample;
mod verify;

pub use calibration::Calibration;
pub use codec::{FORMAT_VERSION, MAX_SERIALISED_LEN};
pub use features::{
    FEATURE_NAMES, MIN_TIMESTAMPS, N_FEATURES, PairFeatures, REFERENCE_NGRAMS, Reference,
    hour_similarity,
};
pub use lexicon::{FORMAT_COUNTERS, FORMAT_PER_WORD, FUNCTION_WORDS};
pub use profile::{NGRAM_BITS, NGRAM_KEEP, Profile, ProfileBuilder, SENT_LEN_BINS, WORD_LEN_BINS};
pub use verify::{BAND_M, BAND_U, BANDS, CALIBRATION_NAME, MIN_WORDS, Verification, band, verify};

/// What can go wrong reading a serialised profile or fitting a calibration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StyleError {
    /// The text does not start with `spirit-style/<version>:`.
    #[error(
        "not a serialised style profile (expected \"spirit-style/<version>:\", found {found:?})"
    )]
    Prefix {
        /// The start of what was found.
        found: String,
    },
    /// A version this build does not read.
    #[error(
        "style profile version {found} is not supported (this build reads version {supported})"
    )]
    Version {
        /// The version found.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The body is not URL-safe base64 without padding.
    #[error("style profile body is not valid base64: {0}")]
    Base64(String),
    /// Longer than [`MAX_SERIALISED_LEN`].
    #[error("serialised style profile is {len} bytes, more than the {max} accepted", max = MAX_SERIALISED_LEN)]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The body ends inside a field.
    #[error("style profile is truncated in field {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// A field holds an impossible value.
    #[error("style profile field {field} is invalid: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Bytes left after the last field.
    #[error("style profile has {bytes} unexpected trailing bytes")]
    Trailing {
        /// How many.
        bytes: usize,
    },
    /// [`Calibration::fit`] could not fit.
    #[error("cannot fit the style calibration: {0}")]
    Fit(String),
}
