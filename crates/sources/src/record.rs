//! What a reader produces: one record as read, and the formats files come in.

use std::fmt;
use std::path::Path;

use spirit_model::AttrKind;

/// One record as read: its id, the 1-based line (CSV/JSONL; for Parquet the 1-based row
/// number) and its non-empty attribute values.
#[derive(Clone, Debug, PartialEq)]
pub struct RawRecord {
    pub id: String,
    pub line: u64,
    pub values: Vec<(AttrKind, String)>,
    /// The row as read (CSV row, JSON line; a Parquet row as JSON) when
    /// [`InputSettings::keep_payload`] is set.
    pub payload: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
    Parquet,
}

/// The extensions [`Format::from_path`] understands (case-insensitive).
pub const SUPPORTED_EXTENSIONS: &str = ".csv, .tsv, .txt, .jsonl, .ndjson, .json, .parquet, .pq";

impl Format {
    /// `.csv .tsv .txt` → CSV, `.jsonl .ndjson .json` → JSON Lines, `.parquet .pq` →
    /// Parquet; case-insensitive. `None` for anything else.
    pub fn from_path(p: &Path) -> Option<Format> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// A human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::JsonLines => "JSON Lines",
            Format::Parquet => "Parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
