//! # spirit-text — SPIRIT's normalisers
//!
//! Every attribute SPIRIT compares or blocks on passes through one of these functions first,
//! in the batch pipeline, in the incremental resolver and in privacy-preserving encodings alike,
//! so that the same raw value always yields the same normalised value everywhere.
//!
//! | module | what it normalises | main entry points |
//! |---|---|---|
//! | [`fold`](mod@fold) | any text: NFKC, transliteration to ASCII, lowercase, punctuation to spaces | [`fold()`] |
//! | [`names`] | given names, surnames, full names; the nickname (name-variant) table | [`normalise_name`], [`split_full_name`], [`nickname_groups`], [`are_name_variants`] |
//! | [`skeleton`] | the consonants of a name, which meet an unvowelled (Arabic-script) value with its Latin spellings | [`skeleton::name_skeleton`], [`skeleton::is_skeletal`] |
//! | [`phonetic`] | Double Metaphone codes of names, safe on any input | [`double_metaphone`] |
//! | [`dates`] | dates of birth and other dates in many written formats, partial dates | [`parse_date`], [`PartialDate`], [`DateOrder`] |
//! | [`phone`] | telephone numbers to E.164 | [`normalise_phone`], [`PhoneNormaliser`] |
//! | [`email`] | e-mail addresses | [`normalise_email`], [`split_email`] |
//! | [`postcode`] | postcodes and ZIP codes | [`normalise_postcode`] |
//! | [`address`] | street addresses: canonical street-type and unit tokens | [`normalise_address`], [`address_numbers`] |
//! | [`style`] | writing style of an account: character n-grams, function words, punctuation and format habits, lengths, posting hours; a calibrated authorship-verification score | [`style::ProfileBuilder`], [`style::Profile`], [`style::verify`] |
//! | [`extract`] | identifiers found in free text or HTML (e-mails, phones, crypto addresses, IBANs, cards, IPs, domains, URLs, onions, PGP, handles), validated, with offsets | [`extract::Extractor`], [`extract::extract`] |
//!
//! Guarantees that hold for every function in this crate:
//!
//! - **No I/O, no async, deterministic.** The output depends on the input only (the date parser
//!   does not read the clock; its two-digit-year pivot is the constant
//!   [`dates::TWO_DIGIT_YEAR_PIVOT`]).
//! - **Never panics**, whatever the input: arbitrary Unicode, control characters, huge strings.
//!   Property tests in `tests/props.rs` hold every public function to it.
//! - **Idempotent where it makes sense**: `fold(fold(x)) == fold(x)`, and a normalised name,
//!   e-mail, postcode or address normalises to itself.
//! - **Allocation-light**: the common path of each normaliser allocates its output string and
//!   little else, because these functions run once per attribute on millions of records.

#![warn(missing_docs)]

pub mod address;
pub mod dates;
pub mod email;
pub mod extract;
pub mod fold;
pub mod names;
pub mod phone;
pub mod phonetic;
pub mod postcode;
pub mod skeleton;
pub mod style;
pub mod translit;

pub use address::{address_numbers, normalise_address};
pub use dates::{DateOrder, PartialDate, parse_date};
pub use email::{normalise_email, split_email};
pub use fold::fold;
pub use names::{
    are_name_variants, is_patronymic, nickname_groups, normalise_name, normalise_name_as,
    split_full_name, split_full_name_as,
};
pub use phone::{PhoneNormaliser, normalise_phone};
pub use phonetic::double_metaphone;
pub use postcode::normalise_postcode;
