//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong in `spirit-pprl`. User errors (a bad secret, schema,
/// configuration or encoded text) name what was wrong and where; nothing in this crate
/// panics on user input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PprlError {
    /// A shared secret could not be read from its text form.
    #[error("invalid secret: {0}")]
    InvalidSecret(String),
    /// The operating system's random number generator failed.
    #[error("operating-system randomness unavailable: {0}")]
    Randomness(String),
    /// A schema field (or the schema as a whole, `field` = "schema") is invalid.
    #[error("invalid schema: {field}: {reason}")]
    Schema {
        /// Where: `fields[2] (surname)`, `hardening.blip`, `length`, …
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A schema text (TOML or JSON) could not be parsed.
    #[error("schema could not be read: {0}")]
    SchemaParse(String),
    /// Two inputs that must have the same length do not.
    #[error("{what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// What was counted ("record ids", "filter words", …).
        what: &'static str,
        /// Expected count.
        expected: usize,
        /// Actual count.
        got: usize,
    },
    /// An encoded filter in text form could not be decoded.
    #[error("encoding #{index}: {reason}")]
    FilterText {
        /// 0-based position of the filter in its list.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// Encodings made with different schemas, secrets or lengths were combined.
    #[error("incompatible encodings: {0}")]
    Incompatible(String),
    /// A file or upload of encodings is malformed; `line` is 1-based.
    #[error("line {line}: {reason}")]
    Line {
        /// The line that is wrong (1-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A linkage, blocking or attack setting is out of range.
    #[error("invalid configuration: {field}: {reason}")]
    Config {
        /// The setting (`threshold`, `lsh.bits_per_band`, …).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = PprlError> = std::result::Result<T, E>;

pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> PprlError {
    PprlError::Config {
        field,
        reason: reason.into(),
    }
}
