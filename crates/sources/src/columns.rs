//! Column mapping shared by every reader: which column is the record id, which columns
//! hold which attribute kinds (settings first, then recognised headers), and how one
//! row's values are assembled (several columns of one kind joined by a space; missing
//! tokens such as `NA` skipped). Also the duplicate-id check of a file.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use spirit_matching::settings::InputSettings;
use spirit_model::{AttrKind, FieldId, is_id_column, is_truth_column};

use crate::quarantine::QuarantinedRow;
use crate::record::RawRecord;
use crate::{SourceError, input_error};

/// The largest read buffer of the file readers.
const READ_BUFFER: usize = 1 << 18;

/// A reader of `file` with a buffer of [`READ_BUFFER`] bytes, or of the file's size when
/// it is smaller: a folder of small files costs no 256 kB buffer per file.
pub(crate) fn buffered(file: std::fs::File) -> std::io::BufReader<std::fs::File> {
    let len = file.metadata().map_or(u64::MAX, |m| m.len());
    let size =
        usize::try_from(len.saturating_add(1)).map_or(READ_BUFFER, |n| n.clamp(8192, READ_BUFFER));
    std::io::BufReader::with_capacity(size, file)
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
    pub fn map(&mut self, fields: &[(String, String)]) -> Result<MappedRow, SourceError> {
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

/// True for values that mean "no value": empty, `null`, `NA`, `N/A`, `NaN`, `none`, `\N`.
pub fn is_missing(value: &str) -> bool {
    match value.len() {
        0 => true,
        1..=4 => ["null", "na", "n/a", "nan", "none", "\\n"]
            .iter()
            .any(|m| value.eq_ignore_ascii_case(m)),
        _ => false,
    }
}

/// Separates the values of a multi-valued kind inside a row's slot (a control
/// character, which [`split_values`] never leaves in a value).
const VALUE_SEPARATOR: char = '\u{1f}';

/// The values a cell of a multi-valued kind lists: split at `;`, `|` and `,` (which no
/// e-mail address, phone number, handle, wallet or other identifier holds), trimmed,
/// missing tokens left out. `a@x.org; b@y.org` is two addresses.
pub fn split_values(cell: &str) -> impl Iterator<Item = &str> {
    cell.split([';', '|', ',', VALUE_SEPARATOR])
        .map(str::trim)
        .filter(|v| !is_missing(v))
}

// ---------------------------------------------------------------------------------------
// Column mapping
// ---------------------------------------------------------------------------------------

/// How the columns of one file are read.
#[derive(Debug)]
pub(crate) struct ColumnPlan {
    /// Trimmed headers (keys for JSON Lines, field names for Parquet), in column order.
    pub(crate) headers: Vec<String>,
    pub(crate) id_col: Option<usize>,
    /// (column, slot) for every attribute column read, in column order.
    pub(crate) reads: Vec<(usize, usize)>,
    /// The kind of each slot; one slot per distinct kind, in order of first column.
    pub(crate) kinds: Vec<AttrKind>,
    pub(crate) mapping: Vec<(String, AttrKind)>,
    pub(crate) ignored: Vec<String>,
}

/// Indices of the headers equal to `name`; when none is, those equal ignoring ASCII case.
pub(crate) fn find_columns(headers: &[String], name: &str) -> Vec<usize> {
    let name = name.trim();
    let exact: Vec<usize> = (0..headers.len()).filter(|&i| headers[i] == name).collect();
    if !exact.is_empty() {
        return exact;
    }
    (0..headers.len())
        .filter(|&i| headers[i].eq_ignore_ascii_case(name))
        .collect()
}

pub(crate) fn column_list(headers: &[String]) -> String {
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
pub(crate) fn plan_columns(
    path: &Path,
    headers: Vec<String>,
    nested: &[bool],
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<ColumnPlan, SourceError> {
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
                // A column with no built-in kind is kept as a field under its own name;
                // the batch engine decides from its values how (or whether) to compare it.
                kind_of[i] = AttrKind::recognise_column(&headers[i]).or_else(|| {
                    (settings.use_all_columns && !is_truth_column(&headers[i]))
                        .then(|| FieldId::of_header(&headers[i]).map(AttrKind::Field))
                        .flatten()
                });
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
pub(crate) struct RowBuilder {
    kinds: Vec<AttrKind>,
    bufs: Vec<String>,
}

impl RowBuilder {
    pub(crate) fn new(kinds: &[AttrKind]) -> RowBuilder {
        RowBuilder {
            kinds: kinds.to_vec(),
            bufs: vec![String::new(); kinds.len()],
        }
    }

    pub(crate) fn clear(&mut self) {
        for b in &mut self.bufs {
            b.clear();
        }
    }

    /// Adds one cell's value to its kind's slot: several columns of a kind that holds
    /// one value are joined by a space (`address1`, `address2`); a multi-valued kind
    /// ([`AttrKind::is_multi_valued`]) keeps every column's value, and a cell of it may
    /// list several ([`split_values`]).
    pub(crate) fn push(&mut self, slot: usize, value: &str) {
        let value = value.trim();
        if is_missing(value) {
            return;
        }
        let multi = self.kinds.get(slot).is_some_and(|k| k.is_multi_valued());
        let Some(buf) = self.bufs.get_mut(slot) else {
            return;
        };
        if !multi {
            if !buf.is_empty() {
                buf.push(' ');
            }
            buf.push_str(value);
            return;
        }
        for v in split_values(value) {
            if !buf.is_empty() {
                buf.push(VALUE_SEPARATOR);
            }
            buf.push_str(v);
        }
    }

    /// Adds the items of one cell that holds a list (a JSON array): each a value of a
    /// multi-valued kind; for a column with no built-in kind, a list its profile reads
    /// as one (`a; b`); else words of one value.
    pub(crate) fn push_list<S: AsRef<str>>(&mut self, slot: usize, items: &[S]) {
        match self.kinds.get(slot) {
            Some(k) if k.field().is_some() => {
                let items: Vec<&str> = items
                    .iter()
                    .map(|i| i.as_ref().trim())
                    .filter(|i| !is_missing(i))
                    .collect();
                self.push(slot, &items.join("; "));
            }
            _ => {
                for item in items {
                    self.push(slot, item.as_ref());
                }
            }
        }
    }

    pub(crate) fn take(&self) -> Vec<(AttrKind, String)> {
        let count = self.bufs.iter().filter(|b| !b.is_empty()).count();
        let mut values = Vec::with_capacity(count);
        for (buf, &kind) in self.bufs.iter().zip(&self.kinds) {
            if buf.is_empty() {
                continue;
            }
            if kind.is_multi_valued() {
                values.extend(buf.split(VALUE_SEPARATOR).map(|v| (kind, v.to_owned())));
            } else {
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
pub(crate) struct Collected {
    pub(crate) records: Vec<RawRecord>,
    pub(crate) quarantined: Vec<QuarantinedRow>,
    pub(crate) hasher: std::collections::hash_map::RandomState,
    pub(crate) seen: FxHashMap<u64, usize>,
    pub(crate) same_hash: Vec<usize>,
    /// Data rows seen so far (quarantined ones included): the id when there is no id column.
    pub(crate) rows: u64,
    pub(crate) by_row_number: bool,
    pub(crate) keep_payload: bool,
}

const NO_RECORD: usize = usize::MAX;

impl Collected {
    pub(crate) fn new(by_row_number: bool, keep_payload: bool) -> Collected {
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
    pub(crate) fn next_row(&mut self) {
        self.rows += 1;
    }

    pub(crate) fn quarantine(&mut self, line: u64, reason: impl Into<String>, raw: String) {
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
    pub(crate) fn accept(
        &mut self,
        id: &str,
        line: u64,
        row: &RowBuilder,
        raw: impl FnOnce() -> String,
    ) {
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

    pub(crate) fn finish(mut self) -> Collected {
        self.seen = FxHashMap::default();
        self.same_hash = Vec::new();
        self.records.shrink_to_fit();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
