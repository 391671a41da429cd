//! Storing records: raw payload, provenance, attributes raw and normalised, and the
//! search index, in one transaction per chunk.
//!
//! A record is identified by its source and record id. Storing a record that is already
//! there with the same payload is a no-op (so a file or stream can be replayed after a
//! crash); the same id with a different payload is a conflict, reported and skipped.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use spirit_matching::table::normalise_record;
use spirit_matching::{CardKey, PrepareOptions};
use spirit_model::AttrKind;
use spirit_model::Progress;
use spirit_sources::mask::{mask_card_values, masked_value};
use spirit_sources::read_source;
use spirit_text::PhoneNormaliser;

use crate::{StoreError, Workspace, search};

/// A record on its way into the store.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    pub source: String,
    pub record_id: String,
    /// The record as it arrived (a JSON line, a CSV row).
    pub payload: String,
    /// Where it came from: `file:line`, `<stdin>:line`.
    pub provenance: String,
    /// Raw attribute values.
    pub values: Vec<(AttrKind, String)>,
    /// The values normalised already (by a reader thread); normalised on storing if not.
    pub normalised: Option<Vec<(AttrKind, Box<str>)>>,
}

/// What storing one record did.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// Stored now, with its internal id and normalised values.
    New(i64, Vec<(AttrKind, Box<str>)>),
    /// Already stored with the same payload: its internal id.
    Existing(i64),
    /// Already stored with a different payload: the message says so.
    Conflict(String),
}

/// Normalises records the way the batch pipeline does, with the workspace's key for
/// payment-card hashes.
pub struct Normaliser {
    options: PrepareOptions,
    phones: std::sync::OnceLock<PhoneNormaliser>,
}

impl Normaliser {
    /// `card_key` is the workspace's ([`card_key`]).
    pub fn new(settings: &spirit_matching::Settings, card_key: [u8; 32]) -> Normaliser {
        let options = settings.prepare_options(CardKey::from_bytes(card_key));
        Normaliser {
            options,
            phones: std::sync::OnceLock::new(),
        }
    }

    /// The normalised value of one raw value of a kind (`None` when invalid).
    pub fn normalise_one(&self, kind: AttrKind, raw: &str) -> Option<String> {
        let phones = self
            .phones
            .get_or_init(|| PhoneNormaliser::new(&self.options.default_region));
        spirit_matching::table::normalise(kind, raw, &self.options, phones)
    }

    /// The normalised (kind, value) pairs of raw values.
    pub fn normalise(&self, values: &[(AttrKind, String)]) -> Vec<(AttrKind, Box<str>)> {
        let phones = self
            .phones
            .get_or_init(|| PhoneNormaliser::new(&self.options.default_region));
        normalise_record(values, &self.options, phones)
    }
}

/// Counts, per kind, values of the kinds from texts and media (and style profiles) that
/// were present but failed validation (checksum, format): they are stored raw and
/// treated as missing.
pub fn count_invalid(
    raw: &[(AttrKind, String)],
    norm: &[(AttrKind, Box<str>)],
    counts: &mut std::collections::BTreeMap<String, u64>,
) {
    for (kind, value) in raw {
        let validated = kind.is_evidence() || *kind == AttrKind::StyleProfile;
        if validated && !value.trim().is_empty() && !norm.iter().any(|(k, _)| k == kind) {
            *counts.entry(kind.name().to_string()).or_default() += 1;
        }
    }
}

/// Stores one record inside the caller's transaction.
pub(crate) fn store_record(
    conn: &Connection,
    run: i64,
    normaliser: &Normaliser,
    rec: &Incoming,
) -> Result<Stored, StoreError> {
    let source = Workspace::source_id(conn, &rec.source)?;
    let existing: Option<(i64, String)> = conn
        .prepare_cached("SELECT id, payload FROM records WHERE source = ?1 AND record_id = ?2")?
        .query_row(params![source, rec.record_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((id, payload)) = existing {
        return Ok(if payload == mask_card_values(&rec.payload, &rec.values) {
            Stored::Existing(id)
        } else {
            Stored::Conflict(format!(
                "record {}:{} is already stored with different content; it was not changed",
                rec.source, rec.record_id
            ))
        });
    }
    let payload = mask_card_values(&rec.payload, &rec.values);
    conn.prepare_cached(
        "INSERT INTO records(source, record_id, payload, provenance, run) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![source, rec.record_id, payload, rec.provenance, run])?;
    let id = conn.last_insert_rowid();
    let norm = match &rec.normalised {
        Some(n) => n.clone(),
        None => normaliser.normalise(&rec.values),
    };
    let mut insert_attr = conn.prepare_cached(
        "INSERT INTO attributes(record, kind, seq, raw, value) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    // Built-in kinds in their order, then the record's fields in column order.
    let mut fields: Vec<AttrKind> = Vec::new();
    for (k, _) in &rec.values {
        if k.field().is_some() && !fields.contains(k) {
            fields.push(*k);
        }
    }
    for kind in AttrKind::ALL.into_iter().chain(fields) {
        if kind.holds_several() {
            for (seq, (raw, value)) in multi_rows(normaliser, kind, &rec.values, &norm)
                .into_iter()
                .enumerate()
            {
                let raw = masked_value(kind, raw);
                insert_attr.execute(params![id, kind.name(), seq as i64, raw, value])?;
            }
            continue;
        }
        let raw = rec
            .values
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_str());
        let value = norm.iter().find(|(k, _)| *k == kind).map(|(_, v)| &**v);
        if raw.is_none() && value.is_none() {
            continue;
        }
        let raw = masked_value(kind, raw.unwrap_or(""));
        insert_attr.execute(params![id, kind.name(), 0i64, raw, value])?;
    }
    let refs: Vec<(AttrKind, &str)> = norm.iter().map(|(k, v)| (*k, &**v)).collect();
    search::index_record(conn, id, &refs)?;
    Ok(Stored::New(id, norm))
}

/// The attribute rows of a kind a record may hold several values of: each raw value with
/// its normalised value (`None` when it is invalid or repeats an earlier one), then any
/// normalised value no raw value gave (`""` raw). A name's spellings after the first
/// have no raw value of their own.
fn multi_rows<'a>(
    normaliser: &Normaliser,
    kind: AttrKind,
    raw: &'a [(AttrKind, String)],
    norm: &'a [(AttrKind, Box<str>)],
) -> Vec<(&'a str, Option<&'a str>)> {
    let mut left: Vec<&str> = norm
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| &**v)
        .collect();
    if kind.has_spellings() {
        // One raw name, its spellings after the first without one.
        let raw = raw
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("", |(_, v)| v.as_str());
        let mut rows = vec![(raw, (!left.is_empty()).then(|| left.remove(0)))];
        rows.extend(left.into_iter().map(|v| ("", Some(v))));
        rows.retain(|(r, v)| !r.is_empty() || v.is_some());
        return rows;
    }
    let mut rows = Vec::new();
    for (_, r) in raw.iter().filter(|(k, _)| *k == kind) {
        let value = normaliser.normalise_one(kind, r).and_then(|v| {
            let at = left.iter().position(|l| *l == v)?;
            Some(left.remove(at))
        });
        rows.push((r.as_str(), value));
    }
    rows.extend(left.into_iter().map(|v| ("", Some(v))));
    rows
}

/// What an ingest did.
#[derive(Clone, Debug, Serialize)]
pub struct IngestReport {
    pub source: String,
    pub path: PathBuf,
    pub read: u64,
    pub stored: u64,
    pub already_stored: u64,
    /// Records whose id was stored before with other content: (line, message).
    pub conflicts: Vec<(u64, String)>,
    /// Rows the reader could not use.
    pub quarantined: u64,
    /// Where the quarantined rows were written, if any.
    pub quarantine_file: Option<PathBuf>,
    pub mapping: Vec<(String, String)>,
    /// Per kind, values that failed validation (a wallet with a bad checksum, …): kept
    /// raw, treated as missing.
    pub invalid: std::collections::BTreeMap<String, u64>,
    pub run: i64,
}

/// Records committed per transaction during ingest.
pub const INGEST_CHUNK: usize = 5_000;

/// Reads a file (CSV, JSON Lines, Parquet) and stores its records under `source` (the
/// file stem when `None`). Each chunk of [`INGEST_CHUNK`] records is one transaction:
/// an interrupted ingest keeps the chunks committed before, and running it again
/// stores the rest.
pub fn ingest(
    ws: &mut Workspace,
    source: Option<&str>,
    path: &Path,
    id_column: Option<&str>,
    progress: &dyn Progress,
) -> Result<IngestReport, StoreError> {
    ws.require_write()?;
    let mut input = ws.settings().input.clone();
    input.keep_payload = true;
    progress.phase("read", None);
    let table = read_source(path, &input, id_column)?;
    progress.done();
    let source = source.map_or_else(|| table.source.clone(), str::to_owned);
    if source.trim().is_empty() || source.contains(':') {
        return Err(StoreError::Invalid(format!(
            "source name {source:?} must be non-empty and without ':'"
        )));
    }
    let key = ws.card_key()?;
    let normaliser = Normaliser::new(ws.settings(), key);
    let run = Workspace::start_run(&ws.conn, "ingest").map_err(|e| ws.write_error(e))?;
    let mut report = IngestReport {
        source: source.clone(),
        path: path.to_path_buf(),
        read: table.records.len() as u64,
        stored: 0,
        already_stored: 0,
        conflicts: Vec::new(),
        quarantined: table.quarantined.len() as u64,
        quarantine_file: None,
        mapping: table
            .mapping
            .iter()
            .map(|(c, k)| (c.clone(), k.name().to_string()))
            .collect(),
        invalid: Default::default(),
        run,
    };
    let file = path.display().to_string();
    progress.phase("store", Some(report.read));
    let mut done = 0u64;
    for chunk in table.records.chunks(INGEST_CHUNK) {
        let dir = ws.dir().to_path_buf();
        let tx = ws
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for r in chunk {
            let rec = Incoming {
                source: source.clone(),
                record_id: r.id.clone(),
                payload: r.payload.clone().unwrap_or_default(),
                provenance: format!("{file}:{}", r.line),
                values: r.values.clone(),
                normalised: None,
            };
            match store_record(&tx, run, &normaliser, &rec)
                .map_err(|e| crate::workspace::map_store_error(&dir, e))?
            {
                Stored::New(_, norm) => {
                    count_invalid(&rec.values, &norm, &mut report.invalid);
                    report.stored += 1;
                }
                Stored::Existing(_) => report.already_stored += 1,
                Stored::Conflict(m) => report.conflicts.push((r.line, m)),
            }
        }
        tx.commit()
            .map_err(|e| crate::workspace::map_store_error(&dir, e.into()))?;
        done += chunk.len() as u64;
        progress.set(done);
    }
    progress.done();
    if !table.quarantined.is_empty() {
        report.quarantine_file = Some(ws.write_quarantine(&source, run, &table.quarantined)?);
    }
    let summary = serde_json::to_string(&report).expect("report serialises");
    Workspace::finish_run(&ws.conn, run, None, &summary).map_err(|e| ws.write_error(e))?;
    Ok(report)
}
