//! Where records come from: reading CSV/TSV, JSON Lines and Parquet files (and streams of
//! records) into records, with the column mapping, the quarantine of rows that cannot be
//! read and the masking of payment cards in everything kept outside the keyed hash.
//!
//! Columns are mapped to attribute kinds by the settings (`[input.columns]`) and, unless
//! switched off, by recognising common headers. Several columns of one kind (for example
//! FEBRL's `street_number`, `address_1`, `address_2`) are joined into one value.
//!
//! A row that cannot be read (wrong field count, invalid UTF-8, not a JSON object, empty
//! or duplicate id) is quarantined with its line and the reason; the rest of the file is
//! still read. Only a file that is unusable as a whole (missing, unknown format, no header,
//! a named column missing, nothing to map) is an error.
//!
//! Module map (dependencies point up this list only):
//! - [`mask`]: card masking for text, stored payloads and documents.
//! - [`quarantine`]: the one quarantine writer (cards masked).
//! - [`record`]: a record as read, and the file formats.
//! - [`columns`]: the column plan and row assembly every reader shares; [`RowMapper`].
//! - `csv`, `jsonl`, `parquet`: one reader per format.
//! - [`read`]: [`read_source`], a whole file into a [`SourceTable`].
//! - [`rows`]: streams of records (`spirit add`, uploads), a line at a time.
//!
//! Reads files, never writes them except the quarantine; no DataFusion (Parquet through
//! the `parquet` crate's arrow reader).

pub mod cell;
pub mod columns;
mod csv;
mod jsonl;
pub mod mask;
mod parquet;
pub mod quarantine;
pub mod read;
pub mod record;
pub mod rows;

use std::path::{Path, PathBuf};

pub use columns::{MappedRow, RowMapper, is_missing};
pub use quarantine::{QuarantinedRow, write_quarantine};
pub use read::{SourceTable, read_source};
pub use record::{Format, RawRecord, SUPPORTED_EXTENSIONS};
pub use rows::{RowError, StreamFormat, StreamRow, read_rows};
use spirit_matching::Settings;

/// Everything that can go wrong reading a source, each variant naming where. All are the
/// user's to fix (a file to correct or to make readable).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The settings file is not valid.
    #[error("settings file {}: {message}", path.display())]
    Settings { path: PathBuf, message: String },
    /// An input file is unusable as a whole (unknown format, missing column, no header…).
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Input {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
}

impl SourceError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> SourceError {
        SourceError::Io {
            path: path.into(),
            source,
        }
    }
}

pub(crate) fn input_error(
    path: &Path,
    line: Option<u64>,
    message: impl Into<String>,
) -> SourceError {
    SourceError::Input {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Reads a settings file. Errors name the file and, for TOML errors, the line.
pub fn load_settings(path: &Path) -> Result<Settings, SourceError> {
    let text = std::fs::read_to_string(path).map_err(|e| SourceError::io(path, e))?;
    Settings::parse(&text).map_err(|message| SourceError::Settings {
        path: path.to_path_buf(),
        message,
    })
}
