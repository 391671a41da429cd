//! A run's prepared records as one Arrow IPC file on a folder every executor reads, so
//! that no executor holds the whole prepared table.
//!
//! The client writes, per record and in record order, its source, every rule's block
//! key and, per column, the normalised value with the number of records of the whole
//! table that hold it ([`write`]). A key scan reads its slice of one rule's key column
//! ([`read_keys`]); a block sweep reads only the records its blocks hold and builds a
//! table of them ([`read_records`]) whose values, derived data and term frequencies are
//! those of the whole table, so their pairs score exactly as on the client.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ListArray, StringArray, UInt16Array, UInt32Array};
use datafusion::arrow::array::{ListBuilder, StringBuilder, UInt32Builder, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::record_batch::RecordBatch;
use spirit_matching::RecordTable;
use spirit_matching::blocking::{BlockKeys, BlockingRule};
use spirit_matching::table::column_with_counts;
use spirit_model::AttrKind;

use crate::EngineError;
use crate::data::Prepared;

/// Records per batch of the file: a key scan of records `lo..hi` reads only the batches
/// that hold them.
pub const BATCH_ROWS: usize = 8192;

const META: &str = "spirit.prepared";

/// Files this process wrote and has not removed yet: an interrupted run removes them
/// ([`remove_all`]), as they hold normalised personal data.
static WRITTEN: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn written() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    WRITTEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes a file [`write`] wrote.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    written().retain(|p| p != path);
}

/// Removes every file [`write`] wrote that is still there (on an interrupt).
pub fn remove_all() {
    for p in written().drain(..) {
        let _ = std::fs::remove_file(p);
    }
}

/// What the file says of itself (in the schema's metadata).
#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    version: String,
    records: u32,
    fingerprint: u64,
    /// Every rule, as written in settings.
    rules: Vec<String>,
    /// Every column's kind and how many records of the whole table hold a value.
    columns: Vec<(AttrKind, u32)>,
    /// The columns some of whose records hold several values: each has two more file
    /// columns, `m{c}` (the values after the first) and `mn{c}` (their counts).
    #[serde(default)]
    multi: Vec<usize>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Plan(format!("prepared records {}: {e}", path.display()))
}

/// Column positions in the file: `src`, then `k{r}` per rule, then `v{c}` and `n{c}`
/// per column, then `m{c}` and `mn{c}` per multi-valued column.
fn key_column(rule: usize) -> usize {
    1 + rule
}

fn value_column(rules: usize, column: usize) -> usize {
    1 + rules + 2 * column
}

/// The position of the `j`th multi-valued column's further values.
fn more_column(rules: usize, columns: usize, j: usize) -> usize {
    1 + rules + 2 * columns + 2 * j
}

/// Writes `table` and its `keys` to `path` (readable by its owner only: it holds
/// normalised personal data). The file stays until [`remove`] or [`remove_all`]; one
/// that cannot be written whole is removed at once.
pub fn write(
    path: &Path,
    table: &RecordTable,
    keys: &BlockKeys,
    fingerprint: u64,
) -> Result<(), EngineError> {
    let rules = keys.rules.len();
    let mut fields = vec![Field::new("src", DataType::UInt16, false)];
    for r in 0..rules {
        fields.push(Field::new(format!("k{r}"), DataType::UInt64, true));
    }
    for c in 0..table.columns.len() {
        fields.push(Field::new(format!("v{c}"), DataType::Utf8, true));
        fields.push(Field::new(format!("n{c}"), DataType::UInt32, true));
    }
    let multi: Vec<usize> = (0..table.columns.len())
        .filter(|&c| table.columns[c].more.is_some())
        .collect();
    for &c in &multi {
        let item = |t| Arc::new(Field::new("item", t, true));
        fields.push(Field::new(
            format!("m{c}"),
            DataType::List(item(DataType::Utf8)),
            false,
        ));
        fields.push(Field::new(
            format!("mn{c}"),
            DataType::List(item(DataType::UInt32)),
            false,
        ));
    }
    let meta = Meta {
        version: env!("CARGO_PKG_VERSION").to_string(),
        records: table.len,
        fingerprint,
        rules: keys.rules.iter().map(ToString::to_string).collect(),
        columns: table.columns.iter().map(|c| (c.kind, c.non_null)).collect(),
        multi,
    };
    let meta = serde_json::to_string(&meta).map_err(|e| err(path, e))?;
    let schema =
        Arc::new(Schema::new(fields).with_metadata(HashMap::from([(META.to_string(), meta)])));
    let file = create_private(path)?;
    written().push(path.to_path_buf());
    let out = write_batches(path, file, &schema, table, keys);
    if out.is_err() {
        remove(path);
    }
    out
}

fn write_batches(
    path: &Path,
    file: File,
    schema: &Arc<Schema>,
    table: &RecordTable,
    keys: &BlockKeys,
) -> Result<(), EngineError> {
    let mut writer = FileWriter::try_new_buffered(file, schema).map_err(|e| err(path, e))?;
    let n = table.len as usize;
    for lo in (0..n).step_by(BATCH_ROWS) {
        let hi = (lo + BATCH_ROWS).min(n);
        let mut cols: Vec<Arc<dyn Array>> =
            vec![Arc::new(UInt16Array::from(table.sources[lo..hi].to_vec()))];
        for rule_keys in &keys.keys {
            cols.push(Arc::new(UInt64Array::from(rule_keys[lo..hi].to_vec())));
        }
        for c in &table.columns {
            cols.push(Arc::new(StringArray::from_iter(
                (lo..hi).map(|r| c.get(r as u32)),
            )));
            cols.push(Arc::new(UInt32Array::from_iter(
                (lo..hi).map(|r| c.id(r as u32).map(|id| c.counts[id as usize])),
            )));
        }
        for c in table.columns.iter().filter(|c| c.more.is_some()) {
            let mut values = ListBuilder::new(StringBuilder::new());
            let mut counts = ListBuilder::new(UInt32Builder::new());
            for r in lo..hi {
                for id in c.all_ids(r as u32).skip(1) {
                    values.values().append_value(&c.values[id as usize]);
                    counts.values().append_value(c.counts[id as usize]);
                }
                values.append(true);
                counts.append(true);
            }
            cols.push(Arc::new(values.finish()));
            cols.push(Arc::new(counts.finish()));
        }
        let batch = RecordBatch::try_new(schema.clone(), cols).map_err(|e| err(path, e))?;
        writer.write(&batch).map_err(|e| err(path, e))?;
    }
    writer.finish().map_err(|e| err(path, e))?;
    Ok(())
}

fn create_private(path: &Path) -> Result<File, EngineError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| EngineError::io(path, e))
}

/// An open file of prepared records, checked to be the run's.
struct Reader {
    reader: FileReader<BufReader<File>>,
    meta: Meta,
}

/// Opens the file with `projection` (all columns when `None`); the schema's metadata
/// survives a projection, so the file is read once.
fn open(
    path: &Path,
    fingerprint: u64,
    projection: Option<Vec<usize>>,
) -> Result<Reader, EngineError> {
    let file = File::open(path).map_err(|e| {
        err(
            path,
            format!("{e} (every executor must read the folder given by --shared-dir at the same path as the client)"),
        )
    })?;
    let reader = FileReader::try_new_buffered(file, projection).map_err(|e| err(path, e))?;
    let meta: Meta = reader
        .schema()
        .metadata()
        .get(META)
        .ok_or_else(|| err(path, "not a file of SPIRIT prepared records"))
        .and_then(|m| serde_json::from_str(m).map_err(|e| err(path, e)))?;
    let here = env!("CARGO_PKG_VERSION");
    if meta.version != here {
        return Err(err(
            path,
            format!(
                "written by SPIRIT {} and read by SPIRIT {here}; every node must run the same version",
                meta.version
            ),
        ));
    }
    if meta.fingerprint != fingerprint {
        return Err(err(path, "these are not this run's records"));
    }
    Ok(Reader { reader, meta })
}

fn downcast<'a, T: 'static>(
    path: &Path,
    b: &'a RecordBatch,
    i: usize,
) -> Result<&'a T, EngineError> {
    b.column(i)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| err(path, format!("column {i} has an unexpected type")))
}

/// Rows `(idx, src, k)` of rule `rule` for records `lo..hi` whose key is 0 modulo `scale`.
pub fn read_keys(
    path: &Path,
    fingerprint: u64,
    rule: usize,
    (lo, hi): (usize, usize),
    scale: u64,
) -> Result<Vec<(u32, u16, u64)>, EngineError> {
    let mut r = open(path, fingerprint, Some(vec![0, key_column(rule)]))?;
    if rule >= r.meta.rules.len() {
        return Err(err(path, format!("no blocking rule {rule}")));
    }
    let hi = hi.min(r.meta.records as usize);
    let mut out = Vec::new();
    if lo >= hi {
        return Ok(out);
    }
    r.reader
        .set_index(lo / BATCH_ROWS)
        .map_err(|e| err(path, e))?;
    for batch_no in lo / BATCH_ROWS..=(hi - 1) / BATCH_ROWS {
        let batch = r
            .reader
            .next()
            .ok_or_else(|| err(path, "the file ends early"))?
            .map_err(|e| err(path, e))?;
        let (src, k) = (
            downcast::<UInt16Array>(path, &batch, 0)?,
            downcast::<UInt64Array>(path, &batch, 1)?,
        );
        let start = batch_no * BATCH_ROWS;
        for j in 0..batch.num_rows() {
            let idx = start + j;
            if idx < lo || idx >= hi || k.is_null(j) {
                continue;
            }
            let key = k.value(j);
            if key % scale == 0 {
                out.push((idx as u32, src.value(j), key));
            }
        }
    }
    Ok(out)
}

/// The records `wanted` (sorted, distinct record indices of the whole table) as a table
/// of their own — record `i` of it is `wanted[i]` — with their block keys.
pub fn read_records(
    path: &Path,
    fingerprint: u64,
    wanted: &[u32],
) -> Result<Prepared, EngineError> {
    debug_assert!(wanted.windows(2).all(|w| w[0] < w[1]));
    let mut r = open(path, fingerprint, None)?;
    let (rules, columns) = (r.meta.rules.len(), r.meta.columns.len());
    let mut sources = Vec::with_capacity(wanted.len());
    let mut keys: Vec<Vec<Option<u64>>> = vec![Vec::with_capacity(wanted.len()); rules];
    // Each record's values of each column (the first, then any others) and their counts.
    let mut values: Vec<Vec<Vec<String>>> = vec![Vec::with_capacity(wanted.len()); columns];
    let mut counts: Vec<Vec<Vec<u32>>> = vec![Vec::with_capacity(wanted.len()); columns];
    let multi = r.meta.multi.clone();
    let mut next = 0usize;
    let mut start = 0usize;
    while next < wanted.len() {
        let first = wanted[next] as usize / BATCH_ROWS;
        if first > start / BATCH_ROWS {
            r.reader.set_index(first).map_err(|e| err(path, e))?;
            start = first * BATCH_ROWS;
        }
        let batch = r
            .reader
            .next()
            .ok_or_else(|| err(path, "the file ends before the records asked for"))?
            .map_err(|e| err(path, e))?;
        let end = start + batch.num_rows();
        let src = downcast::<UInt16Array>(path, &batch, 0)?;
        let ks = (0..rules)
            .map(|i| downcast::<UInt64Array>(path, &batch, key_column(i)))
            .collect::<Result<Vec<_>, _>>()?;
        let vs = (0..columns)
            .map(|c| {
                let at = value_column(rules, c);
                Ok((
                    downcast::<StringArray>(path, &batch, at)?,
                    downcast::<UInt32Array>(path, &batch, at + 1)?,
                ))
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        let ms = (0..multi.len())
            .map(|j| {
                let at = more_column(rules, columns, j);
                Ok((
                    downcast::<ListArray>(path, &batch, at)?,
                    downcast::<ListArray>(path, &batch, at + 1)?,
                ))
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        while next < wanted.len() && (wanted[next] as usize) < end {
            let j = wanted[next] as usize - start;
            sources.push(src.value(j));
            for (out, k) in keys.iter_mut().zip(&ks) {
                out.push((!k.is_null(j)).then(|| k.value(j)));
            }
            for (c, (v, n)) in vs.iter().enumerate() {
                let present = !v.is_null(j);
                values[c].push(
                    present
                        .then(|| v.value(j).to_string())
                        .into_iter()
                        .collect(),
                );
                counts[c].push(present.then(|| n.value(j)).into_iter().collect());
            }
            for (&c, (m, mn)) in multi.iter().zip(&ms) {
                let (m, mn) = (m.value(j), mn.value(j));
                let (Some(m), Some(mn)) = (
                    m.as_any().downcast_ref::<StringArray>(),
                    mn.as_any().downcast_ref::<UInt32Array>(),
                ) else {
                    return Err(err(path, format!("column m{c} is not a list of values")));
                };
                let (Some(vc), Some(nc)) = (values.get_mut(c), counts.get_mut(c)) else {
                    return Err(err(path, format!("column m{c} names no column")));
                };
                let (Some(vr), Some(nr)) = (vc.last_mut(), nc.last_mut()) else {
                    continue;
                };
                vr.extend(m.iter().flatten().map(str::to_string));
                nr.extend(mn.iter().flatten());
            }
            next += 1;
        }
        start = end;
    }
    let table = RecordTable {
        len: wanted.len() as u32,
        sources,
        columns: r
            .meta
            .columns
            .iter()
            .zip(values.iter().zip(&counts))
            .map(|(&(kind, non_null), (v, n))| column_with_counts(kind, v, n, non_null))
            .collect(),
    };
    let rules = r
        .meta
        .rules
        .iter()
        .map(|text| {
            BlockingRule::parse(&text.split(" & ").collect::<Vec<_>>())
                .map_err(|e| err(path, format!("rule {text:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let keys = BlockKeys::from_keys(rules, keys, wanted.len());
    Ok(Prepared {
        table: Arc::new(table),
        keys: Arc::new(keys),
    })
}
