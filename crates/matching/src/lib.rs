//! SPIRIT's matching core: comparisons with ordered levels, blocking keys, the
//! Fellegi–Sunter model (EM training, term-frequency adjustment), scoring with
//! explanations, clustering that honours judgements, and evaluation against truth.
//!
//! Module map:
//! - [`table`]: the prepared record table (normalised, interned columns).
//! - [`comparison`]: comparison functions and their levels.
//! - [`blocking`]: blocking rules and per-record keys, with the block-size cap.
//! - [`lsh`]: the record signature of the `record:lshN` rules (min-hashed trigrams).
//! - [`model`]: the Fellegi–Sunter model and its training (EM, term frequencies, labels).
//! - [`cold`]: the cold-start model a workspace resolves with before any training.
//! - [`score`]: scoring pairs with a trained model, and the explanation waterfall.
//! - [`cluster`]: connected components and chaining-resistant clustering, and the
//!   clustering policy every path applies ([`cluster::cluster_edges`]).
//! - [`settings`]: the settings file's fields and defaults (parsed from TOML text).
//! - [`evidence`]: normalisers and kernels of the kinds texts and media carry (wallets,
//!   IBANs, cards, onions, image hashes, camera serials, audio fingerprints, …).
//! - [`eval`]: precision, recall and F1 against ground truth.
//!
//! No I/O, no async; deterministic for a seed.

pub mod blocking;
pub mod cluster;
pub mod cold;
pub mod comparison;
pub mod eval;
pub mod evidence;
pub mod field;
mod hash;
mod initial;
pub mod lsh;
pub mod model;
mod params;
pub mod profile;
pub mod score;
pub mod select;
pub mod settings;
pub mod table;
mod train;
pub mod values;

use spirit_model::AttrKind;

pub use comparison::Function;
pub use evidence::CardKey;
pub use model::{Model, Scorer};
pub use settings::{LinkType, Settings};
pub use table::{PrepareOptions, RecordTable};

/// The attribute kinds whose values an explanation shows for a comparison function.
pub fn explain_kinds(function: Function) -> Vec<AttrKind> {
    match function {
        Function::GivenName => vec![AttrKind::GivenName],
        Function::Surname => vec![AttrKind::Surname],
        Function::DateOfBirth => vec![AttrKind::DateOfBirth],
        Function::Email => vec![AttrKind::Email],
        Function::Phone => vec![AttrKind::Phone],
        Function::Address => vec![AttrKind::Address],
        Function::Area => vec![AttrKind::Postcode, AttrKind::City, AttrKind::Region],
        Function::ImageHash => vec![AttrKind::ImageHash],
        Function::AudioFingerprint => vec![AttrKind::AudioFingerprint],
        Function::Style => vec![AttrKind::StyleProfile],
        other => other.attribute().into_iter().collect(),
    }
}
