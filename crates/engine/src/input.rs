//! Input readers: one CSV/TSV, JSON Lines or Parquet file becomes a [`SourceTable`] of
//! [`RawRecord`]s (record id, file line, non-empty attribute values by kind).
//!
//! Columns are mapped to attribute kinds by the settings (`[input.columns]`) and, unless
//! switched off, by recognising common headers. Several columns of one kind (for example
//! FEBRL's `street_number`, `address_1`, `address_2`) are joined into one value.
//!
//! A row that cannot be read (wrong field count, invalid UTF-8, not a JSON object, empty
//! or duplicate id) is quarantined with its line and the reason; the rest of the file is
//! still read. Only a file that is unusable as a whole (missing, unknown format, no header,
//! a named column missing, nothing to map) is an error.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use spirit_model::{AttrKind, is_id_column};

use crate::EngineError;
use crate::settings::InputSettings;

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

/// A row that could not be read, kept for the quarantine file.
#[derive(Clone, Debug, PartialEq)]
pub struct QuarantinedRow {
    pub line: u64,
    pub reason: String,
    pub raw: String,
}

/// The format of an input file, decided by its extension.
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

/// Everything read from one input file.
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
) -> Result<SourceTable, EngineError> {
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
    let file = File::open(path).map_err(|e| EngineError::io(path, e))?;
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

/// Maps records that arrive one at a time (a JSON object per line, a CSV row with its
/// header) to an id and attribute values, under the same column rules as files. The
/// column plan is cached while the headers stay the same.
pub struct RowMapper {
    settings: InputSettings,
    id_column: Option<String>,
    origin: PathBuf,
    plan: Option<ColumnPlan>,
}

/// One mapped record: its id (`None` when no id column was found) and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedRow {
    pub id: Option<String>,
    pub values: Vec<(AttrKind, String)>,
}

impl RowMapper {
    /// `origin` names the stream in messages (for example `<stdin>`).
    pub fn new(settings: &InputSettings, id_column: Option<&str>, origin: &Path) -> RowMapper {
        RowMapper {
            settings: settings.clone(),
            id_column: id_column.map(str::to_owned),
            origin: origin.to_path_buf(),
            plan: None,
        }
    }

    /// Maps one record given as (column, value) pairs; missing values (`""`, `null`,
    /// `NA`, …) are skipped. The error names the problem (no mappable column, an id
    /// column that is absent).
    pub fn map(&mut self, fields: &[(String, String)]) -> Result<MappedRow, EngineError> {
        let same = self.plan.as_ref().is_some_and(|p| {
            p.headers.len() == fields.len() && p.headers.iter().zip(fields).all(|(h, f)| *h == f.0)
        });
        if !same {
            let headers = fields.iter().map(|f| f.0.trim().to_owned()).collect();
            self.plan = Some(plan_columns(
                &self.origin,
                headers,
                &[],
                &self.settings,
                self.id_column.as_deref(),
            )?);
        }
        let plan = self.plan.as_ref().expect("planned above");
        let mut row = RowBuilder::new(&plan.kinds);
        for &(col, slot) in &plan.reads {
            row.push(slot, &fields[col].1);
        }
        let id = plan
            .id_col
            .map(|c| fields[c].1.trim())
            .filter(|v| !is_missing(v))
            .map(str::to_owned);
        Ok(MappedRow {
            id,
            values: row.take(),
        })
    }
}

fn input_error(path: &Path, line: Option<u64>, message: impl Into<String>) -> EngineError {
    EngineError::Input {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// True for values that mean "no value": empty, `null`, `NA`, `N/A`, `NaN`, `none`, `\N`.
fn is_missing(value: &str) -> bool {
    match value.len() {
        0 => true,
        1..=4 => ["null", "na", "n/a", "nan", "none", "\\n"]
            .iter()
            .any(|m| value.eq_ignore_ascii_case(m)),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Column mapping
// ---------------------------------------------------------------------------------------

/// How the columns of one file are read.
#[derive(Debug)]
struct ColumnPlan {
    /// Trimmed headers (keys for JSON Lines, field names for Parquet), in column order.
    headers: Vec<String>,
    id_col: Option<usize>,
    /// (column, slot) for every attribute column read, in column order.
    reads: Vec<(usize, usize)>,
    /// The kind of each slot; one slot per distinct kind, in order of first column.
    kinds: Vec<AttrKind>,
    mapping: Vec<(String, AttrKind)>,
    ignored: Vec<String>,
}

/// Indices of the headers equal to `name`; when none is, those equal ignoring ASCII case.
fn find_columns(headers: &[String], name: &str) -> Vec<usize> {
    let name = name.trim();
    let exact: Vec<usize> = (0..headers.len()).filter(|&i| headers[i] == name).collect();
    if !exact.is_empty() {
        return exact;
    }
    (0..headers.len())
        .filter(|&i| headers[i].eq_ignore_ascii_case(name))
        .collect()
}

fn column_list(headers: &[String]) -> String {
    if headers.is_empty() {
        return "(none)".into();
    }
    const SHOWN: usize = 60;
    let mut list = headers
        .iter()
        .take(SHOWN)
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    if headers.len() > SHOWN {
        list.push_str(&format!(" and {} more", headers.len() - SHOWN));
    }
    list
}

/// Decides the id column and the attribute columns. `nested[i]` marks a column whose
/// values are not scalars (Parquet lists/structs): never recognised, an error if named.
fn plan_columns(
    path: &Path,
    headers: Vec<String>,
    nested: &[bool],
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<ColumnPlan, EngineError> {
    let n = headers.len();
    let is_nested = |i: usize| nested.get(i).copied().unwrap_or(false);
    let missing = |role: &str, name: &str| {
        input_error(
            path,
            None,
            format!(
                "{role} \"{name}\" not found; available columns: {}",
                column_list(&headers)
            ),
        )
    };

    let mut excluded = vec![false; n];
    for name in &settings.exclude_columns {
        for i in find_columns(&headers, name) {
            excluded[i] = true;
        }
    }

    let id_col = match id_arg.or(settings.id_column.as_deref()) {
        Some(name) => {
            let Some(&i) = find_columns(&headers, name).first() else {
                return Err(missing("id column", name));
            };
            if excluded[i] {
                return Err(input_error(
                    path,
                    None,
                    format!(
                        "id column \"{}\" is also listed in exclude_columns",
                        headers[i]
                    ),
                ));
            }
            if is_nested(i) {
                return Err(input_error(
                    path,
                    None,
                    format!(
                        "id column \"{}\" holds nested values, not scalars",
                        headers[i]
                    ),
                ));
            }
            Some(i)
        }
        None => (0..n).find(|&i| !excluded[i] && !is_nested(i) && is_id_column(&headers[i])),
    };

    let mut kind_of: Vec<Option<AttrKind>> = vec![None; n];
    let mut named = vec![false; n];
    for (name, &kind) in &settings.columns {
        let found = find_columns(&headers, name);
        if found.is_empty() {
            return Err(missing("column named in [input.columns]", name));
        }
        for i in found {
            named[i] = true;
            if Some(i) == id_col || excluded[i] {
                continue;
            }
            if is_nested(i) {
                return Err(input_error(
                    path,
                    None,
                    format!(
                        "column \"{}\" holds nested values and cannot be read as {kind}",
                        headers[i]
                    ),
                ));
            }
            kind_of[i] = Some(kind);
        }
    }
    if settings.columns.is_empty() || settings.recognise_columns {
        for i in 0..n {
            if !named[i] && Some(i) != id_col && !excluded[i] && !is_nested(i) {
                kind_of[i] = AttrKind::recognise_column(&headers[i]);
            }
        }
    }

    let mut reads = Vec::new();
    let mut kinds: Vec<AttrKind> = Vec::new();
    let mut mapping = Vec::new();
    let mut ignored = Vec::new();
    for i in 0..n {
        match kind_of[i] {
            Some(kind) => {
                let slot = match kinds.iter().position(|&k| k == kind) {
                    Some(s) => s,
                    None => {
                        kinds.push(kind);
                        kinds.len() - 1
                    }
                };
                reads.push((i, slot));
                mapping.push((headers[i].clone(), kind));
            }
            None if Some(i) != id_col => ignored.push(headers[i].clone()),
            None => {}
        }
    }
    if reads.is_empty() {
        return Err(input_error(
            path,
            None,
            format!(
                "no column could be mapped to an attribute kind; columns are: {}; name them in \
                 a settings file [input.columns]",
                column_list(&headers)
            ),
        ));
    }
    Ok(ColumnPlan {
        headers,
        id_col,
        reads,
        kinds,
        mapping,
        ignored,
    })
}

// ---------------------------------------------------------------------------------------
// Row assembly shared by the readers
// ---------------------------------------------------------------------------------------

/// Collects one row's values per slot, joining several columns of one kind with a space.
struct RowBuilder {
    kinds: Vec<AttrKind>,
    bufs: Vec<String>,
}

impl RowBuilder {
    fn new(kinds: &[AttrKind]) -> RowBuilder {
        RowBuilder {
            kinds: kinds.to_vec(),
            bufs: vec![String::new(); kinds.len()],
        }
    }

    fn clear(&mut self) {
        for b in &mut self.bufs {
            b.clear();
        }
    }

    fn push(&mut self, slot: usize, value: &str) {
        let value = value.trim();
        if is_missing(value) {
            return;
        }
        if let Some(buf) = self.bufs.get_mut(slot) {
            if !buf.is_empty() {
                buf.push(' ');
            }
            buf.push_str(value);
        }
    }

    fn take(&self) -> Vec<(AttrKind, String)> {
        let count = self.bufs.iter().filter(|b| !b.is_empty()).count();
        let mut values = Vec::with_capacity(count);
        for (buf, &kind) in self.bufs.iter().zip(&self.kinds) {
            if !buf.is_empty() {
                values.push((kind, buf.as_str().to_owned()));
            }
        }
        values
    }
}

/// Accepted records and quarantined rows of one file; checks ids.
///
/// Duplicate ids are found without a second copy of every id: `seen` maps a keyed hash
/// of an id to the last accepted record with that hash, and `same_hash` chains records
/// whose ids share a hash (rare), so equality is always checked on the ids themselves.
struct Collected {
    records: Vec<RawRecord>,
    quarantined: Vec<QuarantinedRow>,
    hasher: std::collections::hash_map::RandomState,
    seen: FxHashMap<u64, usize>,
    same_hash: Vec<usize>,
    /// Data rows seen so far (quarantined ones included): the id when there is no id column.
    rows: u64,
    by_row_number: bool,
    keep_payload: bool,
}

const NO_RECORD: usize = usize::MAX;

impl Collected {
    fn new(by_row_number: bool, keep_payload: bool) -> Collected {
        Collected {
            records: Vec::new(),
            quarantined: Vec::new(),
            hasher: Default::default(),
            seen: FxHashMap::default(),
            same_hash: Vec::new(),
            rows: 0,
            by_row_number,
            keep_payload,
        }
    }

    /// Counts a data row; call once per row before accepting or quarantining it.
    fn next_row(&mut self) {
        self.rows += 1;
    }

    fn quarantine(&mut self, line: u64, reason: impl Into<String>, raw: String) {
        self.quarantined.push(QuarantinedRow {
            line,
            reason: reason.into(),
            raw,
        });
    }

    /// The line of the accepted record with this id, if any.
    fn first_seen(&self, id: &str, hash: u64) -> Option<u64> {
        let mut at = self.seen.get(&hash).copied().unwrap_or(NO_RECORD);
        while let Some(record) = self.records.get(at) {
            if record.id == id {
                return Some(record.line);
            }
            at = self.same_hash.get(at).copied().unwrap_or(NO_RECORD);
        }
        None
    }

    /// Accepts a row with the given id text (ignored when ids are row numbers), or
    /// quarantines it when the id is empty or already seen.
    fn accept(&mut self, id: &str, line: u64, row: &RowBuilder, raw: impl FnOnce() -> String) {
        if self.by_row_number {
            let id = self.rows.to_string();
            let payload = self.keep_payload.then(raw);
            self.records.push(RawRecord {
                id,
                line,
                values: row.take(),
                payload,
            });
            return;
        }
        let id = id.trim();
        if is_missing(id) {
            let reason = if id.is_empty() {
                "empty record id".to_owned()
            } else {
                format!("missing record id ({id})")
            };
            self.quarantine(line, reason, raw());
            return;
        }
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, id);
        if let Some(first) = self.first_seen(id, hash) {
            let reason = format!("duplicate record id {id}, first seen at line {first}");
            self.quarantine(line, reason, raw());
            return;
        }
        let index = self.records.len();
        let previous = self.seen.insert(hash, index).unwrap_or(NO_RECORD);
        self.same_hash.push(previous);
        let payload = self.keep_payload.then(raw);
        self.records.push(RawRecord {
            id: id.to_owned(),
            line,
            values: row.take(),
            payload,
        });
    }

    fn finish(mut self) -> Collected {
        self.seen = FxHashMap::default();
        self.same_hash = Vec::new();
        self.records.shrink_to_fit();
        self
    }
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

const READ_BUFFER: usize = 1 << 18;

/// When the header line lacks the default delimiter, picks the most frequent of `,` tab
/// `;` `|` in it (a semicolon CSV from a spreadsheet, a tab-separated `.txt`).
fn sniff_delimiter(head: &[u8], default: u8) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if line.contains(&default) {
        return default;
    }
    [b',', b'\t', b';', b'|']
        .into_iter()
        .map(|d| (line.iter().filter(|&&b| b == d).count(), d))
        .filter(|&(count, _)| count > 0)
        .max_by_key(|&(count, _)| count)
        .map_or(default, |(_, d)| d)
}

fn csv_error(path: &Path, e: csv::Error) -> EngineError {
    let line = e.position().map(|p| p.line());
    let message = format!("cannot read CSV: {e}");
    match e.into_kind() {
        csv::ErrorKind::Io(io) => EngineError::io(path, io),
        _ => input_error(path, line, message),
    }
}

/// The row as CSV text (for the quarantine file).
fn csv_raw(record: &csv::ByteRecord, delimiter: u8) -> String {
    let trimmed;
    let record = match record.iter().next_back() {
        Some(last) if last.ends_with(b"\r") => {
            let n = record.len();
            let mut copy: csv::ByteRecord = record.iter().take(n - 1).collect();
            copy.push_field(&last[..last.len() - 1]);
            trimmed = copy;
            &trimmed
        }
        _ => record,
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let written = writer.write_byte_record(record).is_ok();
    match writer.into_inner() {
        Ok(mut bytes) if written => {
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => record
            .iter()
            .map(String::from_utf8_lossy)
            .collect::<Vec<_>>()
            .join(&char::from(delimiter).to_string()),
    }
}

/// A record that is a blank line: one field of nothing but whitespace (a `\r\n` blank
/// line reads as one field holding `\r`, since only `\n` ends a record).
fn is_blank_record(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty())
}

/// The size of the file and whether its last byte is `\n`.
fn file_end(file: &mut File) -> std::io::Result<(u64, bool)> {
    use std::io::Read;
    let len = file.metadata()?.len();
    let mut last = [0u8];
    if len > 0 {
        file.seek(SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
        file.seek(SeekFrom::Start(0))?;
    }
    Ok((len, last[0] == b'\n'))
}

/// The file line a record starts on. The csv crate reports the position where parsing
/// started, which lies before any blank lines it skipped; instead count back from where
/// the record ended: its terminating `\n` (absent only at the end of a file without a
/// final newline) and the newlines inside its quoted fields.
fn record_start_line(
    end: &csv::Position,
    record: &csv::ByteRecord,
    file_len: u64,
    ends_with_newline: bool,
) -> u64 {
    let inside = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
    let terminated = end.byte() < file_len || ends_with_newline;
    end.line()
        .saturating_sub(inside + u64::from(terminated))
        .max(1)
}

fn read_csv(
    path: &Path,
    mut file: File,
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<(ColumnPlan, Collected), EngineError> {
    let io = |e| EngineError::io(path, e);
    let (file_len, ends_with_newline) = file_end(&mut file).map_err(io)?;
    let mut input = BufReader::with_capacity(READ_BUFFER, file);
    let delimiter = match settings.delimiter {
        Some(c) if c.is_ascii() && c != '\n' && c != '"' => c as u8,
        Some(c) => {
            return Err(input_error(
                path,
                None,
                format!(
                    "the delimiter must be one ASCII character other than a quote or a newline, got {c:?}"
                ),
            ));
        }
        None => {
            let tsv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
            let default = if tsv { b'\t' } else { b',' };
            sniff_delimiter(input.fill_buf().map_err(io)?, default)
        }
    };
    // Only `\n` ends a record, so that line numbers can be counted exactly; the `\r` of a
    // CRLF line ending is trimmed with the rest of the surrounding whitespace.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut next_record = |record: &mut csv::ByteRecord| -> Result<Option<u64>, EngineError> {
        loop {
            if !reader
                .read_byte_record(record)
                .map_err(|e| csv_error(path, e))?
            {
                return Ok(None);
            }
            if !is_blank_record(record) {
                let end = reader.position();
                return Ok(Some(record_start_line(
                    end,
                    record,
                    file_len,
                    ends_with_newline,
                )));
            }
        }
    };

    let Some(header_line) = next_record(&mut record)? else {
        return Err(input_error(path, None, "empty file: no header row"));
    };
    let mut headers = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(field) else {
            return Err(input_error(
                path,
                Some(header_line),
                format!("header of column {} is not valid UTF-8", i + 1),
            ));
        };
        let text = if i == 0 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        headers.push(text.trim().to_owned());
    }
    let plan = plan_columns(path, headers, &[], settings, id_arg)?;
    let width = plan.headers.len();

    let mut collected = Collected::new(plan.id_col.is_none(), settings.keep_payload);
    let mut row = RowBuilder::new(&plan.kinds);
    while let Some(line) = next_record(&mut record)? {
        collected.next_row();
        if record.len() != width {
            let reason = format!("expected {width} fields, found {}", record.len());
            collected.quarantine(line, reason, csv_raw(&record, delimiter));
            continue;
        }
        row.clear();
        let mut bad_column = None;
        for &(column, slot) in &plan.reads {
            match std::str::from_utf8(record.get(column).unwrap_or_default()) {
                Ok(text) => row.push(slot, text),
                Err(_) => {
                    bad_column = Some(column);
                    break;
                }
            }
        }
        let mut id = "";
        if bad_column.is_none()
            && let Some(column) = plan.id_col
        {
            match std::str::from_utf8(record.get(column).unwrap_or_default()) {
                Ok(text) => id = text,
                Err(_) => bad_column = Some(column),
            }
        }
        if let Some(column) = bad_column {
            let name = plan.headers.get(column).map_or("", String::as_str);
            let reason = format!("field \"{name}\" is not valid UTF-8");
            collected.quarantine(line, reason, csv_raw(&record, delimiter));
            continue;
        }
        collected.accept(id, line, &row, || csv_raw(&record, delimiter));
    }
    Ok((plan, collected.finish()))
}

// ---------------------------------------------------------------------------------------
// JSON Lines
// ---------------------------------------------------------------------------------------

/// Reads the next line into `buf` without its line ending; false at the end of the file.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    if reader.read_until(b'\n', buf)? == 0 {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(true)
}

fn strip_bom(buf: &mut Vec<u8>) {
    if buf.starts_with(b"\xEF\xBB\xBF") {
        buf.drain(..3);
    }
}

fn is_blank(buf: &[u8]) -> bool {
    buf.iter().all(u8::is_ascii_whitespace)
}

/// An object key, borrowed from the line when it has no escapes.
struct JsonKey<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for JsonKey<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = JsonKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonKey(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonKey(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonKey(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A field value: scalars as text, null, or a nested array/object (skipped).
enum JsonScalar<'de> {
    Text(Cow<'de, str>),
    Null,
    Nested,
}

impl<'de> de::Deserialize<'de> for JsonScalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = JsonScalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Borrowed(if v {
                    "true"
                } else {
                    "false"
                })))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonScalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonScalar::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                de::Deserialize::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(JsonScalar::Nested)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonScalar::Nested)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// First pass: the keys of one object that are not yet known, in order.
struct NewKeys<'a> {
    known: &'a FxHashMap<String, usize>,
    new: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for NewKeys<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for NewKeys<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(JsonKey(key)) = map.next_key()? {
            map.next_value::<IgnoredAny>()?;
            if !self.known.contains_key(key.as_ref()) && !self.new.iter().any(|k| *k == key) {
                self.new.push(key.into_owned());
            }
        }
        Ok(())
    }
}

/// What a column of a JSON Lines file is used for.
#[derive(Clone, Copy)]
enum Role {
    Id,
    Attr(usize),
    Skip,
}

/// The id field of one object.
enum IdField<'de> {
    Absent,
    Text(Cow<'de, str>),
    Null,
    Nested,
}

/// Second pass: one object's id and attribute values.
struct RowFields<'a, 'de> {
    columns: &'a FxHashMap<String, usize>,
    roles: &'a [Role],
    row: &'a mut RowBuilder,
    id: &'a mut IdField<'de>,
}

impl<'de> DeserializeSeed<'de> for RowFields<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowFields<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(JsonKey(key)) = map.next_key()? {
            let role = self
                .columns
                .get(key.as_ref())
                .and_then(|&c| self.roles.get(c).copied())
                .unwrap_or(Role::Skip);
            match role {
                Role::Id => {
                    *self.id = match map.next_value::<JsonScalar<'de>>()? {
                        JsonScalar::Text(t) => IdField::Text(t),
                        JsonScalar::Null => IdField::Null,
                        JsonScalar::Nested => IdField::Nested,
                    };
                }
                Role::Attr(slot) => {
                    if let JsonScalar::Text(t) = map.next_value::<JsonScalar<'de>>()? {
                        self.row.push(slot, &t);
                    }
                }
                Role::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn read_json_lines(
    path: &Path,
    file: File,
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<(ColumnPlan, Collected), EngineError> {
    let io = |e| EngineError::io(path, e);

    // Pass 1: the keys, in order of first appearance over the valid objects.
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut buf = Vec::new();
    let mut columns: FxHashMap<String, usize> = FxHashMap::default();
    let mut headers: Vec<String> = Vec::new();
    let mut new_keys = Vec::new();
    let mut line = 0u64;
    let mut seen_content = false;
    while next_line(&mut reader, &mut buf).map_err(io)? {
        line += 1;
        if line == 1 {
            strip_bom(&mut buf);
        }
        if is_blank(&buf) {
            continue;
        }
        if !seen_content {
            seen_content = true;
            if buf.trim_ascii_start().starts_with(b"[") {
                return Err(input_error(
                    path,
                    Some(line),
                    "this file holds a JSON array, not JSON Lines (one object per line); \
                     convert it, for example with jq -c '.[]'",
                ));
            }
        }
        new_keys.clear();
        let mut de = serde_json::Deserializer::from_slice(&buf);
        let parsed = NewKeys {
            known: &columns,
            new: &mut new_keys,
        }
        .deserialize(&mut de);
        if parsed.is_ok() && de.end().is_ok() {
            for key in new_keys.drain(..) {
                columns.insert(key.clone(), headers.len());
                headers.push(key);
            }
        }
    }
    if headers.is_empty() {
        return Err(input_error(
            path,
            None,
            "no field found: the file holds no JSON object with a field \
             (JSON Lines needs one object per line)",
        ));
    }
    let plan = plan_columns(path, headers, &[], settings, id_arg)?;
    let mut roles = vec![Role::Skip; plan.headers.len()];
    for &(c, slot) in &plan.reads {
        roles[c] = Role::Attr(slot);
    }
    if let Some(c) = plan.id_col {
        roles[c] = Role::Id;
    }

    // Pass 2: the records.
    let mut file = reader.into_inner();
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut collected = Collected::new(plan.id_col.is_none(), settings.keep_payload);
    let mut row = RowBuilder::new(&plan.kinds);
    let id_name = plan
        .id_col
        .and_then(|c| plan.headers.get(c))
        .cloned()
        .unwrap_or_default();
    line = 0;
    while next_line(&mut reader, &mut buf).map_err(io)? {
        line += 1;
        if line == 1 {
            strip_bom(&mut buf);
        }
        if is_blank(&buf) {
            continue;
        }
        collected.next_row();
        row.clear();
        let mut id = IdField::Absent;
        let mut de = serde_json::Deserializer::from_slice(&buf);
        let parsed = RowFields {
            columns: &columns,
            roles: &roles,
            row: &mut row,
            id: &mut id,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        let raw = || String::from_utf8_lossy(&buf).into_owned();
        if let Err(e) = parsed {
            collected.quarantine(line, e.to_string(), raw());
            continue;
        }
        let id = match &id {
            _ if collected.by_row_number => "",
            IdField::Text(t) => t.as_ref(),
            IdField::Null => "",
            IdField::Absent => {
                let reason = format!("record id field \"{id_name}\" is missing");
                collected.quarantine(line, reason, raw());
                continue;
            }
            IdField::Nested => {
                let reason = format!("record id field \"{id_name}\" holds an array or object");
                collected.quarantine(line, reason, raw());
                continue;
            }
        };
        collected.accept(id, line, &row, raw);
    }
    Ok((plan, collected.finish()))
}

// ---------------------------------------------------------------------------------------
// Parquet
// ---------------------------------------------------------------------------------------

/// One Parquet column of a batch, readable as text row by row.
struct TextColumn<'a> {
    nulls: Option<NullBuffer>,
    values: TextValues<'a>,
}

enum TextValues<'a> {
    Utf8(&'a datafusion::arrow::array::StringArray),
    LargeUtf8(&'a datafusion::arrow::array::LargeStringArray),
    Utf8View(&'a datafusion::arrow::array::StringViewArray),
    Binary(&'a datafusion::arrow::array::BinaryArray),
    LargeBinary(&'a datafusion::arrow::array::LargeBinaryArray),
    BinaryView(&'a datafusion::arrow::array::BinaryViewArray),
    Other(ArrayFormatter<'a>),
}

/// Formatting failed for a value (for example an out-of-range timestamp).
struct Unformattable;

impl<'a> TextColumn<'a> {
    fn new(array: &'a ArrayRef) -> Result<TextColumn<'a>, String> {
        let nulls = array.logical_nulls();
        let values = if let Some(a) = array.as_string_opt::<i32>() {
            TextValues::Utf8(a)
        } else if let Some(a) = array.as_string_opt::<i64>() {
            TextValues::LargeUtf8(a)
        } else if let Some(a) = array.as_string_view_opt() {
            TextValues::Utf8View(a)
        } else if let Some(a) = array.as_binary_opt::<i32>() {
            TextValues::Binary(a)
        } else if let Some(a) = array.as_binary_opt::<i64>() {
            TextValues::LargeBinary(a)
        } else if let Some(a) = array.as_binary_view_opt() {
            TextValues::BinaryView(a)
        } else {
            let options = FormatOptions::new().with_display_error(false);
            TextValues::Other(
                ArrayFormatter::try_new(array.as_ref(), &options).map_err(|e| {
                    format!(
                        "values of type {} cannot be read as text: {e}",
                        array.data_type()
                    )
                })?,
            )
        };
        Ok(TextColumn { nulls, values })
    }

    /// The value at `row` as text; `None` when null.
    fn value(&self, row: usize) -> Result<Option<Cow<'a, str>>, Unformattable> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            return Ok(None);
        }
        let text = match &self.values {
            TextValues::Utf8(a) => Cow::Borrowed(a.value(row)),
            TextValues::LargeUtf8(a) => Cow::Borrowed(a.value(row)),
            TextValues::Utf8View(a) => Cow::Borrowed(a.value(row)),
            TextValues::Binary(a) => String::from_utf8_lossy(a.value(row)),
            TextValues::LargeBinary(a) => String::from_utf8_lossy(a.value(row)),
            TextValues::BinaryView(a) => String::from_utf8_lossy(a.value(row)),
            TextValues::Other(f) => {
                use std::fmt::Write;
                let mut s = String::new();
                write!(s, "{}", f.value(row)).map_err(|_| Unformattable)?;
                Cow::Owned(s)
            }
        };
        Ok(Some(text))
    }
}

/// Dictionary-encoded columns are decoded first (to their value type's text).
fn decode_dictionary(array: &ArrayRef) -> ArrayRef {
    match array.data_type() {
        DataType::Dictionary(_, value) => {
            let target = match value.as_ref() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
                other => other.clone(),
            };
            cast(array, &target).unwrap_or_else(|_| array.clone())
        }
        _ => array.clone(),
    }
}

/// Reads a Parquet file, turning a panic inside the decoder (which corrupt files can
/// still cause in the Parquet/Arrow crates) into an error naming the file.
fn read_parquet_guarded(
    path: &Path,
    file: File,
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<(ColumnPlan, Collected), EngineError> {
    let read = std::panic::AssertUnwindSafe(|| read_parquet(path, file, settings, id_arg));
    std::panic::catch_unwind(read).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(input_error(
            path,
            None,
            format!("cannot read Parquet file: corrupt or unsupported data ({detail})"),
        ))
    })
}

fn read_parquet(
    path: &Path,
    file: File,
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<(ColumnPlan, Collected), EngineError> {
    // The Parquet schema's own logical types (strings, dates, timestamps, decimals) are
    // all that text values need; skipping the embedded Arrow schema also avoids decoding
    // a second, easily corrupted, schema.
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .map_err(|e| input_error(path, None, format!("cannot read Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let headers: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().trim().to_owned())
        .collect();
    let nested: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_nested())
        .collect();
    let plan = plan_columns(path, headers, &nested, settings, id_arg)?;

    let mut needed: Vec<usize> = plan
        .reads
        .iter()
        .map(|&(c, _)| c)
        .chain(plan.id_col)
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let position = |column: usize| needed.binary_search(&column).ok();
    let reads: Vec<(usize, usize, usize)> = plan
        .reads
        .iter()
        .filter_map(|&(c, slot)| Some((position(c)?, slot, c)))
        .collect();
    let id_position = plan.id_col.and_then(position);

    let mask = ProjectionMask::roots(builder.parquet_schema(), needed.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(|e| input_error(path, None, format!("cannot read Parquet file: {e}")))?;

    let mut collected = Collected::new(plan.id_col.is_none(), settings.keep_payload);
    let mut row = RowBuilder::new(&plan.kinds);
    let mut row_number = 0u64;
    let name_of = |c: usize| plan.headers.get(c).map_or("", String::as_str);
    for batch in reader {
        let batch = batch.map_err(|e| {
            input_error(
                path,
                Some(row_number + 1),
                format!("cannot decode Parquet data: {e}"),
            )
        })?;
        if batch.num_columns() != needed.len() {
            return Err(input_error(
                path,
                Some(row_number + 1),
                format!(
                    "expected {} columns in a Parquet batch, found {}",
                    needed.len(),
                    batch.num_columns()
                ),
            ));
        }
        let arrays: Vec<ArrayRef> = batch.columns().iter().map(decode_dictionary).collect();
        let mut columns = Vec::with_capacity(arrays.len());
        for (array, &c) in arrays.iter().zip(&needed) {
            let column = TextColumn::new(array).map_err(|message| {
                input_error(path, None, format!("column \"{}\": {message}", name_of(c)))
            })?;
            columns.push(column);
        }
        let raw = |r: usize| {
            let mut object = serde_json::Map::new();
            for (column, &c) in columns.iter().zip(&needed) {
                let value = match column.value(r) {
                    Ok(Some(text)) => serde_json::Value::String(text.into_owned()),
                    _ => serde_json::Value::Null,
                };
                object.insert(name_of(c).to_owned(), value);
            }
            serde_json::Value::Object(object).to_string()
        };
        for r in 0..batch.num_rows() {
            row_number += 1;
            collected.next_row();
            row.clear();
            let mut bad_column = None;
            for &(p, slot, c) in &reads {
                match columns.get(p).map(|col| col.value(r)) {
                    Some(Ok(Some(text))) => row.push(slot, &text),
                    Some(Ok(None)) | None => {}
                    Some(Err(Unformattable)) => {
                        bad_column = Some(c);
                        break;
                    }
                }
            }
            let mut id = Cow::Borrowed("");
            if bad_column.is_none()
                && let (Some(p), Some(c)) = (id_position, plan.id_col)
            {
                match columns.get(p).map(|col| col.value(r)) {
                    Some(Ok(Some(text))) => id = text,
                    Some(Ok(None)) | None => {}
                    Some(Err(Unformattable)) => bad_column = Some(c),
                }
            }
            if let Some(c) = bad_column {
                let reason = format!("value of column \"{}\" cannot be formatted", name_of(c));
                collected.quarantine(row_number, reason, raw(r));
                continue;
            }
            collected.accept(&id, row_number, &row, || raw(r));
        }
    }
    Ok((plan, collected.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        let mut f = File::create(&path).unwrap();
        f.write_all(bytes).unwrap();
        path
    }

    fn value(record: &RawRecord, kind: AttrKind) -> Option<&str> {
        record
            .values
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_str())
    }

    fn read(path: &Path) -> SourceTable {
        read_source(path, &InputSettings::default(), None).unwrap()
    }

    #[test]
    fn format_from_path() {
        assert_eq!(Format::from_path(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("b.tsv")), Some(Format::Csv));
        assert_eq!(
            Format::from_path(Path::new("b.NDJSON")),
            Some(Format::JsonLines)
        );
        assert_eq!(Format::from_path(Path::new("b.pq")), Some(Format::Parquet));
        assert_eq!(Format::from_path(Path::new("b.xlsx")), None);
        assert_eq!(Format::from_path(Path::new("csv")), None);
    }

    #[test]
    fn csv_recognised_columns_and_address_join() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            &dir,
            "febrl.csv",
            b"rec_id, given_name ,surname,street_number,address_1,address_2,date_of_birth,soc_sec_id,cluster\n\
              rec-1-org,  Jane ,Smith,12,High Street,,19800304,1234567,c1\n\
              rec-1-dup-0,jane,NULL,,High St,Flat 2,n/a,1234567,c1\n",
        );
        let t = read(&path);
        assert_eq!(t.source, "febrl");
        assert_eq!(t.format, Format::Csv);
        assert_eq!(t.id_column.as_deref(), Some("rec_id"));
        assert_eq!(t.ignored_columns, vec!["cluster".to_owned()]);
        assert_eq!(
            t.mapping
                .iter()
                .map(|(h, k)| (h.as_str(), *k))
                .collect::<Vec<_>>(),
            vec![
                ("given_name", AttrKind::GivenName),
                ("surname", AttrKind::Surname),
                ("street_number", AttrKind::Address),
                ("address_1", AttrKind::Address),
                ("address_2", AttrKind::Address),
                ("date_of_birth", AttrKind::DateOfBirth),
                ("soc_sec_id", AttrKind::NationalId),
            ]
        );
        assert_eq!(t.records.len(), 2);
        assert!(t.quarantined.is_empty());
        let a = &t.records[0];
        assert_eq!((a.id.as_str(), a.line), ("rec-1-org", 2));
        assert_eq!(
            a.values,
            vec![
                (AttrKind::GivenName, "Jane".to_owned()),
                (AttrKind::Surname, "Smith".to_owned()),
                (AttrKind::Address, "12 High Street".to_owned()),
                (AttrKind::DateOfBirth, "19800304".to_owned()),
                (AttrKind::NationalId, "1234567".to_owned()),
            ]
        );
        let b = &t.records[1];
        assert_eq!((b.id.as_str(), b.line), ("rec-1-dup-0", 3));
        assert_eq!(value(b, AttrKind::Surname), None);
        assert_eq!(value(b, AttrKind::DateOfBirth), None);
        assert_eq!(value(b, AttrKind::Address), Some("High St Flat 2"));
    }

    #[test]
    fn explicit_mapping_and_exclusion() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            &dir,
            "p.csv",
            b"key,fn,sn,email,truth\n1,Ann,Lee,a@x.org,7\n2,Bo,,,8\n",
        );
        let mut settings = InputSettings::default();
        settings.columns.insert("fn".into(), AttrKind::GivenName);
        settings.columns.insert("SN".into(), AttrKind::Surname); // case-insensitive match
        settings.exclude_columns = vec!["truth".into()];
        // Explicit columns only: `email` is not recognised.
        let t = read_source(&path, &settings, None).unwrap();
        assert_eq!(t.id_column.as_deref(), Some("key"));
        assert_eq!(
            t.mapping,
            vec![
                ("fn".to_owned(), AttrKind::GivenName),
                ("sn".to_owned(), AttrKind::Surname)
            ]
        );
        assert_eq!(
            t.ignored_columns,
            vec!["email".to_owned(), "truth".to_owned()]
        );
        assert_eq!(
            t.records[1].values,
            vec![(AttrKind::GivenName, "Bo".to_owned())]
        );

        // With recognition on, `email` is read too; `truth` stays excluded.
        settings.recognise_columns = true;
        let t = read_source(&path, &settings, None).unwrap();
        assert_eq!(t.mapping.len(), 3);
        assert_eq!(value(&t.records[0], AttrKind::Email), Some("a@x.org"));

        // An excluded column is never read, even when recognisable, and never the id.
        let path = write_file(
            &dir,
            "q.csv",
            b"key,surname,email\n1,Lee,a@x.org\n2,Ng,b@x.org\n",
        );
        let settings = InputSettings {
            exclude_columns: vec!["email".into(), "key".into()],
            ..Default::default()
        };
        let t = read_source(&path, &settings, None).unwrap();
        assert_eq!(t.id_column, None);
        assert_eq!(t.mapping, vec![("surname".to_owned(), AttrKind::Surname)]);
        assert_eq!(
            t.ignored_columns,
            vec!["key".to_owned(), "email".to_owned()]
        );
        assert_eq!(t.records[1].id, "2");
        assert_eq!(
            t.records[1].values,
            vec![(AttrKind::Surname, "Ng".to_owned())]
        );
        // Naming an excluded column as the id is a contradiction, reported as such.
        let msg = read_source(&path, &settings, Some("key"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("exclude_columns"), "{msg}");
    }

    #[test]
    fn missing_named_columns_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "people.csv", b"id,name\n1,Ann\n");
        let e = read_source(&path, &InputSettings::default(), Some("rec_id")).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, EngineError::Input { .. }), "{msg}");
        assert!(
            msg.contains("rec_id") && msg.contains("people.csv"),
            "{msg}"
        );
        assert!(msg.contains("\"id\", \"name\""), "{msg}");

        let settings = InputSettings {
            id_column: Some("pid".into()),
            ..Default::default()
        };
        let msg = read_source(&path, &settings, None).unwrap_err().to_string();
        assert!(msg.contains("pid"), "{msg}");
        // The CLI argument overrides the settings.
        let t = read_source(&path, &settings, Some("id")).unwrap();
        assert_eq!(t.id_column.as_deref(), Some("id"));

        let mut settings = InputSettings::default();
        settings.columns.insert("surname".into(), AttrKind::Surname);
        let msg = read_source(&path, &settings, None).unwrap_err().to_string();
        assert!(
            msg.contains("surname") && msg.contains("people.csv"),
            "{msg}"
        );

        let path = write_file(&dir, "odd.csv", b"id,colour,size\n1,red,4\n");
        let msg = read_source(&path, &InputSettings::default(), None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no column could be mapped"), "{msg}");
        assert!(
            msg.contains("colour") && msg.contains("[input.columns]"),
            "{msg}"
        );
    }

    #[test]
    fn no_id_column_uses_row_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            &dir,
            "n.csv",
            b"first_name,last_name\nAnn,Lee\nAnn,Lee\n\nBo,Ng,extra\nCy,Do\n",
        );
        let t = read(&path);
        assert_eq!(t.id_column, None);
        let ids: Vec<_> = t.records.iter().map(|r| (r.id.as_str(), r.line)).collect();
        assert_eq!(ids, vec![("1", 2), ("2", 3), ("4", 6)]);
        assert_eq!(t.quarantined.len(), 1);
        assert_eq!(t.quarantined[0].line, 5);
    }

    #[test]
    fn malformed_rows_are_quarantined_with_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"id,name,address\n");
        bytes.extend_from_slice(b"1,Ann,\"12 High St\nLondon\"\n"); // lines 2-3
        bytes.extend_from_slice(b"2,Bo\n"); // line 4: too few fields
        bytes.extend_from_slice(b"3,Cy,x,y\n"); // line 5: too many
        bytes.extend_from_slice(b"4,\xff\xfe,z\n"); // line 6: invalid UTF-8
        bytes.extend_from_slice(b",Di,z\n"); // line 7: empty id
        bytes.extend_from_slice(b"1,Ed,z\n"); // line 8: duplicate
        bytes.extend_from_slice(b"5,Fay,z\r\n"); // line 9
        let path = write_file(&dir, "bad.csv", &bytes);
        let t = read(&path);
        let ok: Vec<_> = t.records.iter().map(|r| (r.id.as_str(), r.line)).collect();
        assert_eq!(ok, vec![("1", 2), ("5", 9)]);
        assert_eq!(
            value(&t.records[0], AttrKind::Address),
            Some("12 High St\nLondon")
        );
        assert_eq!(value(&t.records[1], AttrKind::Address), Some("z"));
        let q: Vec<_> = t
            .quarantined
            .iter()
            .map(|q| (q.line, q.reason.as_str()))
            .collect();
        assert_eq!(
            q,
            vec![
                (4, "expected 3 fields, found 2"),
                (5, "expected 3 fields, found 4"),
                (6, "field \"name\" is not valid UTF-8"),
                (7, "empty record id"),
                (8, "duplicate record id 1, first seen at line 2"),
            ]
        );
        assert_eq!(t.quarantined[0].raw, "2,Bo");
        assert_eq!(t.quarantined[4].raw, "1,Ed,z");
    }

    #[test]
    fn crlf_blank_lines_and_no_final_newline_keep_file_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            &dir,
            "crlf.csv",
            b"\r\nid,surname\r\n1,Lee\r\n\r\n  \r\n2,\"Ng\r\nNg\"\r\n3\r\n\r\n4,\"Do\"\r\n5,Ek,x",
        );
        let t = read(&path);
        assert_eq!(t.mapping, vec![("surname".to_owned(), AttrKind::Surname)]);
        let ok: Vec<_> = t.records.iter().map(|r| (r.id.as_str(), r.line)).collect();
        assert_eq!(ok, vec![("1", 3), ("2", 6), ("4", 10)]);
        assert_eq!(value(&t.records[0], AttrKind::Surname), Some("Lee"));
        assert_eq!(value(&t.records[1], AttrKind::Surname), Some("Ng\r\nNg"));
        assert_eq!(value(&t.records[2], AttrKind::Surname), Some("Do"));
        let q: Vec<_> = t
            .quarantined
            .iter()
            .map(|q| (q.line, q.raw.as_str()))
            .collect();
        assert_eq!(q, vec![(8, "3"), (11, "5,Ek,x")]);
    }

    #[test]
    fn bom_tsv_and_sniffed_delimiters() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "bom.csv", b"\xEF\xBB\xBFid,surname\r\n7,Lee\r\n");
        let t = read(&path);
        assert_eq!(t.id_column.as_deref(), Some("id"));
        assert_eq!(t.records[0].id, "7");

        let path = write_file(
            &dir,
            "t.TSV",
            b"id\tname\taddress\n1\tAnn Lee\t1, High St\n",
        );
        let t = read(&path);
        assert_eq!(value(&t.records[0], AttrKind::FullName), Some("Ann Lee"));
        assert_eq!(value(&t.records[0], AttrKind::Address), Some("1, High St"));

        let path = write_file(&dir, "semi.csv", b"id;name\n1;Ann\n");
        assert_eq!(
            value(&read(&path).records[0], AttrKind::FullName),
            Some("Ann")
        );

        // An explicit delimiter wins.
        let path = write_file(&dir, "pipe.txt", b"id|name\n1|Ann\n");
        let settings = InputSettings {
            delimiter: Some('|'),
            ..Default::default()
        };
        let t = read_source(&path, &settings, None).unwrap();
        assert_eq!(value(&t.records[0], AttrKind::FullName), Some("Ann"));
    }

    #[test]
    fn empty_csv_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for bytes in [&b""[..], b"\n\n", b"\xEF\xBB\xBF"] {
            let path = write_file(&dir, "empty.csv", bytes);
            let msg = read_source(&path, &InputSettings::default(), None)
                .unwrap_err()
                .to_string();
            assert!(msg.contains("empty file: no header row"), "{msg}");
        }
    }

    #[test]
    fn json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            &dir,
            "people.jsonl",
            b"{\"id\": 1, \"first_name\": \"Ann\", \"dob\": null, \"tags\": [1, 2]}\n\
              \n\
              {\"id\": 2, \"first_name\": \"B\\u00f6\", \"phone\": 447700900123}\n\
              not json\n\
              [1, 2]\n\
              {\"id\": [3], \"first_name\": \"Cy\"}\n\
              {\"first_name\": \"Di\"}\n\
              {\"id\": \"4\", \"first_name\": true, \"email\": \"d@x.org\", \"extra\": {\"a\": 1}}\n\
              {\"id\": 1, \"first_name\": \"Dup\"}\n",
        );
        let t = read(&path);
        assert_eq!(t.format, Format::JsonLines);
        assert_eq!(t.id_column.as_deref(), Some("id"));
        assert_eq!(
            t.mapping,
            vec![
                ("first_name".to_owned(), AttrKind::GivenName),
                ("dob".to_owned(), AttrKind::DateOfBirth),
                ("phone".to_owned(), AttrKind::Phone),
                ("email".to_owned(), AttrKind::Email),
            ]
        );
        assert_eq!(
            t.ignored_columns,
            vec!["tags".to_owned(), "extra".to_owned()]
        );
        let ok: Vec<_> = t.records.iter().map(|r| (r.id.as_str(), r.line)).collect();
        assert_eq!(ok, vec![("1", 1), ("2", 3), ("4", 8)]);
        assert_eq!(
            t.records[0].values,
            vec![(AttrKind::GivenName, "Ann".to_owned())]
        );
        assert_eq!(value(&t.records[1], AttrKind::GivenName), Some("Bö"));
        assert_eq!(value(&t.records[1], AttrKind::Phone), Some("447700900123"));
        assert_eq!(value(&t.records[2], AttrKind::GivenName), Some("true"));
        let q: Vec<_> = t.quarantined.iter().map(|q| q.line).collect();
        assert_eq!(q, vec![4, 5, 6, 7, 9]);
        assert!(
            t.quarantined[0].reason.contains("expected"),
            "{}",
            t.quarantined[0].reason
        );
        assert_eq!(t.quarantined[0].raw, "not json");
        assert!(
            t.quarantined[1].reason.contains("JSON object"),
            "{}",
            t.quarantined[1].reason
        );
        assert!(t.quarantined[2].reason.contains("array or object"));
        assert!(t.quarantined[3].reason.contains("missing"));
        assert!(t.quarantined[4].reason.contains("duplicate record id 1"));
    }

    #[test]
    fn json_array_and_empty_json_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "a.json", b"[\n{\"id\": 1}\n]\n");
        let msg = read_source(&path, &InputSettings::default(), None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("JSON array"), "{msg}");
        let path = write_file(&dir, "e.jsonl", b"\n  \n");
        let msg = read_source(&path, &InputSettings::default(), None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no field found"), "{msg}");
    }

    #[test]
    fn parquet_round_trip() {
        use datafusion::arrow::array::{Date32Array, Int64Array, RecordBatch, StringArray};
        use datafusion::arrow::datatypes::{Field, Schema};
        use datafusion::parquet::arrow::ArrowWriter;
        use std::sync::Arc;

        let schema = Arc::new(Schema::new(vec![
            Field::new("rec_id", DataType::Int64, false),
            Field::new("given_name", DataType::Utf8, true),
            Field::new("dob", DataType::Date32, true),
            Field::new("postcode", DataType::Int64, true),
            Field::new("note", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![10, 11, 10])),
                Arc::new(StringArray::from(vec![Some(" Ann "), None, Some("Dup")])),
                // 1980-03-04 is day 3715 since the epoch.
                Arc::new(Date32Array::from(vec![Some(3715), None, None])),
                Arc::new(Int64Array::from(vec![Some(2000), Some(3000), None])),
                Arc::new(StringArray::from(vec!["x", "y", "z"])),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.parquet");
        let mut writer = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let t = read(&path);
        assert_eq!(t.format, Format::Parquet);
        assert_eq!(t.source, "people");
        assert_eq!(t.id_column.as_deref(), Some("rec_id"));
        assert_eq!(t.ignored_columns, vec!["note".to_owned()]);
        assert_eq!(t.records.len(), 2);
        assert_eq!(t.records[0].id, "10");
        assert_eq!(t.records[0].line, 1);
        assert_eq!(
            t.records[0].values,
            vec![
                (AttrKind::GivenName, "Ann".to_owned()),
                (AttrKind::DateOfBirth, "1980-03-04".to_owned()),
                (AttrKind::Postcode, "2000".to_owned()),
            ]
        );
        assert_eq!(t.records[1].id, "11");
        assert_eq!(
            t.records[1].values,
            vec![(AttrKind::Postcode, "3000".to_owned())]
        );
        assert_eq!(t.quarantined.len(), 1);
        assert_eq!(t.quarantined[0].line, 3);
        assert!(
            t.quarantined[0]
                .reason
                .contains("duplicate record id 10, first seen at line 1")
        );
        assert!(
            t.quarantined[0].raw.contains("Dup"),
            "{}",
            t.quarantined[0].raw
        );

        // Not a Parquet file at all.
        let bad = write_file(&dir, "bad.parquet", b"id,name\n1,Ann\n");
        let e = read_source(&bad, &InputSettings::default(), None).unwrap_err();
        assert!(matches!(e, EngineError::Input { .. }));
        assert!(e.to_string().contains("bad.parquet"), "{e}");
    }

    #[test]
    fn missing_file_and_unknown_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.csv");
        let e = read_source(&path, &InputSettings::default(), None).unwrap_err();
        assert!(matches!(e, EngineError::Io { .. }), "{e}");
        assert!(e.to_string().contains("nope.csv"), "{e}");

        let path = write_file(&dir, "data.xlsx", b"id,name\n");
        let e = read_source(&path, &InputSettings::default(), None).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, EngineError::Input { .. }), "{msg}");
        assert!(msg.contains("data.xlsx") && msg.contains(".jsonl") && msg.contains(".parquet"));
    }

    #[test]
    fn missing_value_tokens() {
        for v in ["", "null", "NULL", "NA", "n/a", "NaN", "None", "\\N"] {
            assert!(is_missing(v), "{v}");
        }
        for v in ["Nancy", "0", "N", "nil?"] {
            assert!(!is_missing(v), "{v}");
        }
    }

    #[test]
    fn duplicate_check_follows_hash_collisions() {
        let mut c = Collected::new(false, false);
        let row = RowBuilder::new(&[]);
        c.accept("a", 2, &row, String::new);
        // Pretend "b" collided with "a": both in one chain under one hash.
        let hash_a = std::hash::BuildHasher::hash_one(&c.hasher, "a");
        c.records.push(RawRecord {
            id: "b".into(),
            line: 3,
            payload: None,
            values: vec![],
        });
        c.same_hash
            .push(c.seen.insert(hash_a, 1).unwrap_or(NO_RECORD));
        assert_eq!(c.first_seen("a", hash_a), Some(2));
        assert_eq!(c.first_seen("b", hash_a), Some(3));
        assert_eq!(c.first_seen("c", hash_a), None);
        c.accept("a", 4, &row, || "raw".into());
        assert_eq!(
            c.quarantined[0].reason,
            "duplicate record id a, first seen at line 2"
        );
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn csvish() -> impl Strategy<Value = Vec<u8>> {
            let alphabet: Vec<u8> = b",;\t\"\n\r {}[]:\\id name email 1x\xff\xef\xbb\xbf".to_vec();
            prop::collection::vec(prop::sample::select(alphabet), 0..200)
        }

        /// A small valid Parquet file, to be corrupted.
        fn parquet_bytes() -> Vec<u8> {
            use datafusion::arrow::array::{Date32Array, RecordBatch, StringArray};
            use datafusion::arrow::datatypes::{Field, Schema};
            use datafusion::parquet::arrow::ArrowWriter;
            use std::sync::Arc;
            let schema = Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, true),
                Field::new("surname", DataType::Utf8, true),
                Field::new("dob", DataType::Date32, true),
            ]));
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(vec![
                        Some("a"),
                        Some("b"),
                        None,
                        Some("a"),
                    ])),
                    Arc::new(StringArray::from(vec![
                        Some("Lee"),
                        None,
                        Some("Ng"),
                        Some("Do"),
                    ])),
                    Arc::new(Date32Array::from(vec![
                        Some(1),
                        Some(-40000),
                        None,
                        Some(7),
                    ])),
                ],
            )
            .unwrap();
            let mut writer = ArrowWriter::try_new(Vec::new(), schema, None).unwrap();
            writer.write(&batch).unwrap();
            writer.into_inner().unwrap()
        }

        /// Every single-byte corruption of a small file is read or reported, never a
        /// panic: the Parquet decoder panics on some of them (divide by zero, slice
        /// bounds), which `read_parquet_guarded` must turn into errors.
        #[test]
        fn single_byte_parquet_corruptions_never_panic() {
            let good = parquet_bytes();
            let dir = tempfile::tempdir().unwrap();
            let mut errors = 0;
            for i in 0..good.len() {
                for v in [0u8, 90] {
                    let mut bytes = good.clone();
                    bytes[i] = v;
                    let path = write_file(&dir, "x.parquet", &bytes);
                    if let Err(e) = read_source(&path, &InputSettings::default(), None) {
                        assert!(matches!(e, EngineError::Input { .. }), "{e}");
                        errors += 1;
                    }
                }
            }
            assert!(errors > 0);
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn corrupt_parquet_never_panics(
                flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
                cut in any::<prop::sample::Index>(),
                truncate in any::<bool>(),
            ) {
                let mut bytes = parquet_bytes();
                for (at, byte) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
                if truncate {
                    bytes.truncate(cut.index(bytes.len() + 1));
                }
                let dir = tempfile::tempdir().unwrap();
                let path = write_file(&dir, "x.parquet", &bytes);
                let _ = read_source(&path, &InputSettings::default(), None);
            }

            #[test]
            fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), shaped in csvish()) {
                let dir = tempfile::tempdir().unwrap();
                for data in [&bytes, &shaped] {
                    for name in ["x.csv", "x.jsonl", "x.tsv"] {
                        let path = write_file(&dir, name, data);
                        let _ = read_source(&path, &InputSettings::default(), None);
                    }
                    let mut prefixed = b"id,name,email\n".to_vec();
                    prefixed.extend_from_slice(data);
                    let path = write_file(&dir, "y.csv", &prefixed);
                    let _ = read_source(&path, &InputSettings::default(), None);
                    let mut prefixed = b"{\"id\":1,\"name\":\"a\"}\n".to_vec();
                    prefixed.extend_from_slice(data);
                    let path = write_file(&dir, "y.jsonl", &prefixed);
                    let _ = read_source(&path, &InputSettings::default(), None);
                }
            }
        }
    }
}
