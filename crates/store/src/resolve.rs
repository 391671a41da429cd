//! Models and batch resolutions in the store: every stored record for the batch engine to
//! score ([`load_all`]), the judgements in force, the model in force, and storing a
//! resolution the engine computed ([`store_resolution`]): model, rules and edges
//! replaced and entity ids carried over by overlap, in one transaction, so an interrupted
//! re-run leaves the previous state intact. The batch re-run itself is
//! `spirit_engine::workspace::resolve`.

use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use serde::Serialize;
use spirit_matching::blocking::BlockingRule;
use spirit_matching::model::Model;
use spirit_matching::{RecordTable, Scorer, Settings};
use spirit_model::{AttrKind, Edge, Progress, RecordKey};

use crate::entities::{Changes, reconcile};
use crate::{StoreError, Workspace, now};

/// The model in force and the blocking rules it was trained with.
#[derive(Clone, Debug)]
pub struct StoredModel {
    pub id: i64,
    pub model: Model,
    pub rules: Vec<BlockingRule>,
}

/// The newest model, if the store was ever resolved.
pub fn current_model(conn: &Connection) -> Result<Option<StoredModel>, StoreError> {
    let row: Option<(i64, String, String)> = conn
        .query_row(
            "SELECT id, model, rules FROM models ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, model, rules)) = row else {
        return Ok(None);
    };
    let model = Model::from_json(&model)
        .map_err(|e| StoreError::Invalid(format!("stored model {id} is unusable: {e}")))?;
    let rules: Vec<Vec<String>> = serde_json::from_str(&rules)
        .map_err(|e| StoreError::Invalid(format!("stored rules of model {id}: {e}")))?;
    let rules = rules
        .iter()
        .map(|keys| BlockingRule::parse(keys).map_err(StoreError::Invalid))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(StoredModel { id, model, rules }))
}

/// Stores a model with the blocking rules and settings it runs under; returns its id.
pub(crate) fn insert_model(
    conn: &Connection,
    model: &Model,
    rules: &[BlockingRule],
    settings: &Settings,
) -> Result<i64, StoreError> {
    let rules_json = serde_json::to_string(&rules.iter().map(rule_keys).collect::<Vec<_>>())
        .expect("rules serialise");
    let settings_text = toml::to_string(settings).expect("settings serialise");
    conn.execute(
        "INSERT INTO models(created_at, model, rules, settings) VALUES (?1, ?2, ?3, ?4)",
        params![now(), model.to_json(), rules_json, settings_text],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Names of the partial weights a model writes with every edge.
pub fn partial_names(model: &Model) -> Vec<String> {
    Scorer::new(model.clone(), &RecordTable::default()).partial_names()
}

/// An advisory partial weight of an edge: shown, never part of its match weight.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdvisoryPartial {
    pub comparison: String,
    /// The level the pair reached.
    pub level: String,
    pub weight: f64,
    /// Where the level parameters come from (the style calibration's name and version).
    pub calibration: Option<String>,
    /// Whether the settings let it count towards the link decision (always false here:
    /// a comparison that counts is an ordinary partial weight).
    pub counts: bool,
}

/// Splits an edge's stored partial weights under its model into those that make up its
/// match weight, (name, weight), and the advisory ones that were compared (an advisory
/// comparison at level null, weight 0, is left out).
pub fn split_partials(
    model: Option<&Model>,
    partials: &[f32],
) -> (Vec<(String, f64)>, Vec<AdvisoryPartial>) {
    let names = model.map(partial_names).unwrap_or_default();
    let mut counted = Vec::new();
    let mut advisory = Vec::new();
    for (i, &v) in partials.iter().enumerate() {
        let name = names.get(i).cloned().unwrap_or_else(|| format!("#{i}"));
        let c = model.and_then(|m| m.comparisons.get(i));
        match c {
            Some(c) if c.advisory => {
                // Not compared (a side without a profile): nothing to show.
                let Some(level) = (1..=c.levels.len() as u8)
                    .find(|&l| (c.partial(l) - f64::from(v)).abs() < 1e-3)
                    .map(|l| c.levels[l as usize - 1].label.clone())
                else {
                    continue;
                };
                advisory.push(AdvisoryPartial {
                    comparison: name,
                    level,
                    weight: f64::from(v),
                    calibration: c
                        .function
                        .is_calibrated()
                        .then(|| spirit_text::style::CALIBRATION_NAME.to_string()),
                    counts: false,
                });
            }
            _ => counted.push((name, f64::from(v))),
        }
    }
    (counted, advisory)
}

/// The keys of a rule, as the settings file writes them.
pub(crate) fn rule_keys(rule: &BlockingRule) -> Vec<String> {
    rule.to_string().split(" & ").map(str::to_owned).collect()
}

/// Partial weights packed for the `edges.partials` column (little-endian f32).
pub(crate) fn pack_partials(partials: &[f32]) -> Vec<u8> {
    partials.iter().flat_map(|p| p.to_le_bytes()).collect()
}

/// Unpacks the `edges.partials` column.
pub fn unpack_partials(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Every stored record (internal ids ascending), its key and normalised values.
pub struct StoredRecords {
    pub ids: Vec<i64>,
    pub keys: Vec<RecordKey>,
    pub sources: Vec<u16>,
    pub values: Vec<Vec<(AttrKind, Box<str>)>>,
}

pub fn load_all(conn: &Connection) -> Result<StoredRecords, StoreError> {
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    let mut sources = Vec::new();
    let mut source_index: FxHashMap<i64, u16> = FxHashMap::default();
    let mut stmt = conn.prepare(
        "SELECT r.id, r.source, s.name, r.record_id FROM records r \
         JOIN sources s ON s.id = r.source ORDER BY r.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let source: i64 = row.get(1)?;
        let next = source_index.len();
        let index = *source_index.entry(source).or_insert(next as u16);
        if next > usize::from(u16::MAX) {
            return Err(StoreError::Invalid("more than 65535 sources".into()));
        }
        ids.push(row.get::<_, i64>(0)?);
        keys.push(RecordKey {
            source: row.get(2)?,
            record_id: row.get(3)?,
        });
        sources.push(index);
    }
    let mut values: Vec<Vec<(AttrKind, Box<str>)>> = vec![Vec::new(); ids.len()];
    let mut stmt = conn.prepare(
        "SELECT record, kind, value FROM attributes WHERE value IS NOT NULL ORDER BY record",
    )?;
    let mut rows = stmt.query([])?;
    let mut at = 0usize;
    while let Some(row) = rows.next()? {
        let record: i64 = row.get(0)?;
        while at < ids.len() && ids[at] < record {
            at += 1;
        }
        if at == ids.len() || ids[at] != record {
            continue;
        }
        let kind: String = row.get(1)?;
        let Some(kind) = AttrKind::from_name(&kind) else {
            continue;
        };
        let value: String = row.get(2)?;
        values[at].push((kind, value.into()));
    }
    Ok(StoredRecords {
        ids,
        keys,
        sources,
        values,
    })
}

/// The judgements in force (the latest per pair) as (a, b, verdict).
pub fn active_judgements(conn: &Connection) -> Result<Vec<(i64, i64, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT a, b, verdict FROM judgements j \
         WHERE id = (SELECT max(id) FROM judgements k WHERE k.a = j.a AND k.b = j.b) \
         ORDER BY a, b",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A batch resolution of everything stored, ready to be stored: the model trained (or
/// kept) with the rules that proposed its pairs, the edges between records (indices into
/// [`StoredRecords`]) and the entities as groups of those indices.
pub struct Resolution<'a> {
    pub records: &'a StoredRecords,
    pub model: &'a Model,
    pub rules: &'a [BlockingRule],
    pub settings: &'a Settings,
    pub edges: &'a [Edge],
    pub labels: &'a [u32],
}

/// What storing a resolution did.
#[derive(Clone, Debug)]
pub struct Stored {
    pub run: i64,
    pub model: i64,
    pub entities: u64,
    pub changes: Changes,
}

/// Stores a batch resolution: the model with its rules and settings, the edges (replacing
/// all), and the entities (ids carried over by overlap), in one transaction of a new
/// `resolve` run, so an interrupted re-run leaves the previous state intact. Finish the
/// run with [`finish_resolution`] once its report is known.
pub fn store_resolution(
    ws: &mut Workspace,
    resolution: &Resolution<'_>,
    progress: &dyn Progress,
) -> Result<Stored, StoreError> {
    ws.require_write()?;
    let ids = &resolution.records.ids;
    let entities = resolution
        .labels
        .iter()
        .copied()
        .max()
        .map_or(0, |m| u64::from(m) + 1);
    let mut groups: Vec<Vec<i64>> = vec![Vec::new(); entities as usize];
    for (i, &l) in resolution.labels.iter().enumerate() {
        groups[l as usize].push(ids[i]);
    }
    progress.phase("write store", Some(2));
    let dir = ws.dir().to_path_buf();
    let write = |conn: &mut Connection| -> Result<Stored, StoreError> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let run = Workspace::start_run(&tx, "resolve")?;
        let model_id = insert_model(&tx, resolution.model, resolution.rules, resolution.settings)?;
        tx.execute("DELETE FROM edges", [])?;
        {
            let edges = resolution.edges;
            let mut sorted: Vec<(i64, i64, usize)> = edges
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (a, b) = (ids[e.left as usize], ids[e.right as usize]);
                    (a.min(b), a.max(b), i)
                })
                .filter(|(a, b, _)| a != b)
                .collect();
            sorted.sort_unstable();
            sorted.dedup_by_key(|x| (x.0, x.1));
            let mut insert = tx.prepare_cached(
                "INSERT INTO edges(a, b, weight, partials, model) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (a, b, i) in sorted {
                let e = &edges[i];
                insert.execute(params![
                    a,
                    b,
                    e.weight,
                    pack_partials(&e.partials),
                    model_id
                ])?;
            }
        }
        progress.set(1);
        let old = load_membership(&tx)?;
        let (_, changes) = reconcile(&tx, run, &groups, &old, false)?;
        progress.set(2);
        tx.commit()?;
        Ok(Stored {
            run,
            model: model_id,
            entities,
            changes,
        })
    };
    let stored = write(&mut ws.conn).map_err(|e| crate::workspace::map_store_error(&dir, e))?;
    progress.done();
    Ok(stored)
}

/// Ends a `resolve` run begun by [`store_resolution`], keeping its report (JSON).
pub fn finish_resolution(
    ws: &Workspace,
    stored: &Stored,
    report_json: &str,
) -> Result<(), StoreError> {
    Workspace::finish_run(&ws.conn, stored.run, Some(stored.model), report_json)
        .map_err(|e| ws.write_error(e))
}

/// Every record's current entity.
pub(crate) fn load_membership(conn: &Connection) -> Result<FxHashMap<i64, i64>, StoreError> {
    let mut stmt = conn.prepare("SELECT record, entity FROM membership")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<FxHashMap<_, _>, _>>()?)
}
