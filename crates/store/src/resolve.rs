//! The batch re-run over everything stored: the engine's plan blocks, trains and scores
//! the whole store; clusters honour every judgement; entity ids carry over by overlap;
//! the model with its rules and the edges are replaced in one transaction, so an
//! interrupted re-run leaves the previous state intact.

use std::sync::Arc;
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use serde::Serialize;
use spirit_engine::pipeline::{Progress, cluster_edges, effective_link_type, score_table};
use spirit_matching::blocking::BlockingRule;
use spirit_matching::model::Model;
use spirit_matching::{RecordTable, Scorer};
use spirit_model::{AttrKind, RecordKey};

use crate::entities::{Changes, reconcile};
use crate::{StoreError, Workspace, now};

/// What a batch re-run did.
#[derive(Clone, Debug, Serialize)]
pub struct ResolveReport {
    pub run: i64,
    pub model: i64,
    pub records: u64,
    pub candidate_pairs: u64,
    pub edges: u64,
    pub entities: u64,
    pub judgements: u64,
    pub changes: Changes,
    pub rules: Vec<String>,
    pub phase_seconds: Vec<(String, f64)>,
}

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
pub(crate) struct StoredRecords {
    pub ids: Vec<i64>,
    pub keys: Vec<RecordKey>,
    pub sources: Vec<u16>,
    pub values: Vec<Vec<(AttrKind, Box<str>)>>,
}

pub(crate) fn load_all(conn: &Connection) -> Result<StoredRecords, StoreError> {
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
pub(crate) fn active_judgements(conn: &Connection) -> Result<Vec<(i64, i64, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT a, b, verdict FROM judgements j \
         WHERE id = (SELECT max(id) FROM judgements k WHERE k.a = j.a AND k.b = j.b) \
         ORDER BY a, b",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Re-resolves everything stored. With `keep_model`, the current model scores the
/// store again; otherwise a model is trained from the store.
pub fn resolve(
    ws: &mut Workspace,
    keep_model: bool,
    progress: &dyn Progress,
) -> Result<ResolveReport, StoreError> {
    ws.require_write()?;
    let mut phases: Vec<(String, f64)> = Vec::new();
    let mut t0 = Instant::now();
    progress.phase("load store", None);
    let stored = load_all(&ws.conn)?;
    if stored.ids.is_empty() {
        return Err(StoreError::Invalid(format!(
            "workspace {} holds no records yet; store some with `spirit ingest`",
            ws.dir().display()
        )));
    }
    let n = stored.ids.len();
    let table = Arc::new(RecordTable::from_normalised(
        &stored.values,
        stored.sources.clone(),
    ));
    progress.done();
    phases.push(("load".into(), t0.elapsed().as_secs_f64()));

    let settings = ws.settings().clone();
    let source_count = stored
        .sources
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    let link_type = effective_link_type(settings.resolve.link_type, source_count)?;
    let given = if keep_model {
        Some(
            current_model(&ws.conn)?
                .ok_or_else(|| {
                    StoreError::Invalid(
                        "there is no model to keep yet: run without --keep-model".into(),
                    )
                })?
                .model,
        )
    } else {
        None
    };
    let scored = score_table(
        &table,
        &stored.keys,
        &settings,
        link_type,
        given,
        None,
        progress,
    )?;
    phases.extend(scored.phase_seconds.iter().cloned());

    progress.phase("cluster", None);
    t0 = Instant::now();
    let index_of = |id: i64| stored.ids.binary_search(&id).ok().map(|i| i as u32);
    let judgements = active_judgements(&ws.conn)?;
    let (mut must, mut cannot) = (Vec::new(), Vec::new());
    for (a, b, verdict) in &judgements {
        if let (Some(a), Some(b)) = (index_of(*a), index_of(*b)) {
            match verdict.as_str() {
                "same" => must.push((a, b)),
                "not-same" => cannot.push((a, b)),
                _ => {}
            }
        }
    }
    let labels = cluster_edges(n, &scored.edges, &settings, &must, &cannot);
    let entities = labels.iter().copied().max().map_or(0, |m| u64::from(m) + 1);
    let mut groups: Vec<Vec<i64>> = vec![Vec::new(); entities as usize];
    for (i, &l) in labels.iter().enumerate() {
        groups[l as usize].push(stored.ids[i]);
    }
    progress.done();
    phases.push(("cluster".into(), t0.elapsed().as_secs_f64()));
    t0 = Instant::now();

    progress.phase("write store", Some(2));
    let dir = ws.dir().to_path_buf();
    let write = |conn: &mut Connection| -> Result<(i64, i64, Changes), StoreError> {
        let tx = conn.transaction()?;
        let run = Workspace::start_run(&tx, "resolve")?;
        let rules_json =
            serde_json::to_string(&scored.rules.iter().map(rule_keys).collect::<Vec<_>>())
                .expect("rules serialise");
        let settings_text = toml::to_string(&settings).expect("settings serialise");
        tx.execute(
            "INSERT INTO models(created_at, model, rules, settings) VALUES (?1, ?2, ?3, ?4)",
            params![now(), scored.model.to_json(), rules_json, settings_text],
        )?;
        let model_id = tx.last_insert_rowid();
        tx.execute("DELETE FROM edges", [])?;
        {
            let mut sorted: Vec<(i64, i64, usize)> = scored
                .edges
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (a, b) = (stored.ids[e.left as usize], stored.ids[e.right as usize]);
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
                let e = &scored.edges[i];
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
        Ok((run, model_id, changes))
    };
    let (run, model_id, changes) =
        write(&mut ws.conn).map_err(|e| crate::workspace::map_store_error(&dir, e))?;
    progress.done();
    phases.push(("write".into(), t0.elapsed().as_secs_f64()));
    let report = ResolveReport {
        run,
        model: model_id,
        records: n as u64,
        candidate_pairs: scored.candidate_pairs,
        edges: scored.edges.len() as u64,
        entities,
        judgements: judgements.len() as u64,
        changes,
        rules: scored.rules.iter().map(ToString::to_string).collect(),
        phase_seconds: phases,
    };
    let summary = serde_json::to_string(&report).expect("report serialises");
    Workspace::finish_run(&ws.conn, run, Some(model_id), &summary)
        .map_err(|e| ws.write_error(e))?;
    Ok(report)
}

/// Every record's current entity.
pub(crate) fn load_membership(conn: &Connection) -> Result<FxHashMap<i64, i64>, StoreError> {
    let mut stmt = conn.prepare("SELECT record, entity FROM membership")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<FxHashMap<_, _>, _>>()?)
}
