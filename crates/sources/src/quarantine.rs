//! The quarantine: rows that could not be read, kept with their source, line and reason
//! so a user can fix and re-send them. There is one writer, used by the batch run
//! (`quarantine.csv` in its output folder) and by the store (`quarantine/<source>-run<N>.csv`
//! in the workspace); it masks every payment card in the reason and the raw row, so no
//! quarantine file holds a card number in clear.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::SourceError;
use crate::mask::mask_cards;

/// A row that could not be read, kept for the quarantine file.
#[derive(Clone, Debug, PartialEq)]
pub struct QuarantinedRow {
    /// The 1-based line (CSV, JSON Lines) or row number (Parquet).
    pub line: u64,
    pub reason: String,
    /// The row as it was written (cards are masked when it is written out).
    pub raw: String,
}

/// The columns of every quarantine file.
pub const QUARANTINE_HEADER: [&str; 4] = ["source", "line", "reason", "raw"];

/// Writes `rows` (each with its source's name) to `path` as CSV with the columns
/// [`QUARANTINE_HEADER`], cards masked. The file is written to a temporary sibling and
/// renamed into place, so an interrupted write never leaves half a file; the folder is
/// created when missing.
pub fn write_quarantine<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = (&'a str, &'a QuarantinedRow)>,
) -> Result<(), SourceError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| SourceError::io(dir, e))?;
    }
    let tmp: PathBuf = path.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(|e| SourceError::io(&tmp, e))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let csv_err = |e: csv::Error| SourceError::io(&tmp, std::io::Error::other(e));
    w.write_record(QUARANTINE_HEADER).map_err(csv_err)?;
    for (source, q) in rows {
        let (line, reason, raw) = (
            q.line.to_string(),
            mask_cards(&q.reason),
            mask_cards(&q.raw),
        );
        let cells = [source, &line, &reason, &raw].map(crate::cell::safe);
        w.write_record(cells.iter().map(|c| c.as_bytes()))
            .map_err(csv_err)?;
    }
    let mut inner = w
        .into_inner()
        .map_err(|e| SourceError::io(&tmp, e.into_error()))?;
    inner.flush().map_err(|e| SourceError::io(&tmp, e))?;
    drop(inner);
    std::fs::rename(&tmp, path).map_err(|e| SourceError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_card_in_a_quarantine_file_is_masked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q").join("people-run1.csv");
        let rows = [
            QuarantinedRow {
                line: 3,
                reason: "3 fields where the header has 2".into(),
                raw: "7,4111111111111111,extra".into(),
            },
            QuarantinedRow {
                line: 9,
                reason: "duplicate record id 5500 0000 0000 0004".into(),
                raw: r#"{"id":"5500 0000 0000 0004","card":"4111-1111-1111-1111 12/29"}"#.into(),
            },
        ];
        write_quarantine(&path, rows.iter().map(|r| ("people", r))).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("source,line,reason,raw\n"), "{text}");
        for clear in [
            "4111111111111111",
            "5500 0000 0000 0004",
            "4111-1111-1111-1111",
        ] {
            assert!(!text.contains(clear), "{clear} in {text}");
        }
        assert!(text.contains("people,3,"), "{text}");
        assert!(text.contains("411111******1111"), "{text}");
        assert!(!path.with_extension("partial").exists());
    }
}
