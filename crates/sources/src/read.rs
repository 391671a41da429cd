//! Reading one whole file into a [`SourceTable`].

use std::fs::File;
use std::path::{Path, PathBuf};

use spirit_matching::settings::InputSettings;
use spirit_model::AttrKind;

use crate::columns::ColumnPlan;
use crate::csv::read_csv;
use crate::jsonl::read_json_lines;
use crate::parquet::read_parquet_guarded;
use crate::quarantine::QuarantinedRow;
use crate::record::{Format, RawRecord, SUPPORTED_EXTENSIONS};
use crate::{SourceError, input_error};

#[derive(Debug)]
pub struct SourceTable {
    /// The file stem ("people" for /x/people.csv).
    pub source: String,
    pub path: PathBuf,
    pub format: Format,
    /// `None`: row numbers were used as ids (no id column found).
    pub id_column: Option<String>,
    /// Header → kind, in column order, for the columns read.
    pub mapping: Vec<(String, AttrKind)>,
    /// Columns present but neither mapped nor the id (excluded columns included).
    pub ignored_columns: Vec<String>,
    pub records: Vec<RawRecord>,
    pub quarantined: Vec<QuarantinedRow>,
}

/// Reads one input file. `id_column` from the CLI overrides `settings.id_column`.
pub fn read_source(
    path: &Path,
    settings: &InputSettings,
    id_column: Option<&str>,
) -> Result<SourceTable, SourceError> {
    let format = Format::from_path(path).ok_or_else(|| {
        let found = path
            .extension()
            .map(|e| format!("\".{}\"", e.to_string_lossy()))
            .unwrap_or_else(|| "(no extension)".into());
        input_error(
            path,
            None,
            format!(
                "unknown input format {found}; supported extensions are {SUPPORTED_EXTENSIONS}"
            ),
        )
    })?;
    let file = File::open(path).map_err(|e| SourceError::io(path, e))?;
    let (plan, collected) = match format {
        Format::Csv => read_csv(path, file, settings, id_column)?,
        Format::JsonLines => read_json_lines(path, file, settings, id_column)?,
        Format::Parquet => read_parquet_guarded(path, file, settings, id_column)?,
    };
    let source = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ColumnPlan {
        headers,
        id_col,
        mapping,
        ignored,
        ..
    } = plan;
    Ok(SourceTable {
        source,
        path: path.to_path_buf(),
        format,
        id_column: id_col.and_then(|c| headers.get(c).cloned()),
        mapping,
        ignored_columns: ignored,
        records: collected.records,
        quarantined: collected.quarantined,
    })
}
