//! Incremental resolution: records resolved one by one as they arrive.
//!
//! For each record: store it (raw, normalised, counted, searchable); compute its keys
//! under the stored model's blocking rules and look them up in the persistent key index
//! (blocks over the cap are skipped, as in batch); score the candidates with the stored
//! model — the batch kernels, over a small table of the record and its candidates, with
//! term frequencies from the store's value counts; keep the edges at or above the floor;
//! then re-cluster the entities the record reaches with an edge at or above the
//! threshold, together with the record, from their stored edges and judgements. The
//! outcome — attach, create, merge or split — gets entity ids by overlap and events.
//!
//! [`Resolver::add_batch`] runs a batch in one transaction (group commit): the caller
//! acknowledges records only after it returns.

use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use spirit_engine::pipeline::cluster_edges;
use spirit_engine::settings::Settings;
use spirit_matching::blocking::{BlockKeys, BlockingRule};
use spirit_matching::model::Model;
use spirit_matching::table::NULL_ID;
use spirit_matching::{RecordTable, Scorer};
use spirit_model::{AttrKind, Edge, probability_to_weight};

use crate::entities::{Changes, reconcile};
use crate::ingest::{Incoming, Normaliser, Stored, store_record};
use crate::resolve::{StoredModel, current_model, pack_partials};
use crate::{StoreError, Workspace};

/// The outcome of adding one record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AddOutcome {
    pub source: String,
    pub record_id: String,
    /// The record's entity, or why it was not stored.
    pub entity: Result<i64, String>,
}

/// Running totals of a stream of additions.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AddTotals {
    pub records: u64,
    pub stored: u64,
    pub already_stored: u64,
    pub rejected: u64,
    pub candidates: u64,
    pub edges: u64,
    pub batches: u64,
    pub changes: Changes,
    /// Seconds spent per step: storing records, finding candidates, scoring them,
    /// clustering, committing.
    pub seconds_store: f64,
    pub seconds_block: f64,
    pub seconds_score: f64,
    pub seconds_cluster: f64,
    pub seconds_commit: f64,
}

/// Resolves records into a workspace with its current model.
pub struct Resolver<'w> {
    ws: &'w mut Workspace,
    model: StoredModel,
    normaliser: Normaliser,
    settings: Settings,
    run: i64,
    threshold_weight: f64,
    floor_weight: f64,
    pub totals: AddTotals,
}

impl<'w> Resolver<'w> {
    /// Prepares to add records; the workspace must have been resolved once (that is
    /// where the model and the key index come from).
    pub fn new(ws: &'w mut Workspace) -> Result<Resolver<'w>, StoreError> {
        ws.require_write()?;
        let model = current_model(&ws.conn)?.ok_or_else(|| {
            StoreError::Invalid(format!(
                "workspace {} has no model yet: store some records with `spirit ingest` and \
                 run `spirit resolve {}` once before adding records one by one",
                ws.dir().display(),
                ws.dir().display()
            ))
        })?;
        let settings = ws.settings().clone();
        let run = Workspace::start_run(&ws.conn, "add").map_err(|e| ws.write_error(e))?;
        Ok(Resolver {
            normaliser: Normaliser::new(&settings),
            threshold_weight: probability_to_weight(settings.resolve.threshold),
            floor_weight: probability_to_weight(settings.resolve.edge_floor),
            settings,
            model,
            run,
            ws,
            totals: AddTotals::default(),
        })
    }

    /// The workspace settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Stores and resolves a batch of records in one transaction. When it returns `Ok`,
    /// every outcome is durable. An error rolls the whole batch back.
    pub fn add_batch(&mut self, batch: &[Incoming]) -> Result<Vec<AddOutcome>, StoreError> {
        let dir = self.ws.dir().to_path_buf();
        let tx = self.ws.conn.transaction()?;
        let mut out = Vec::with_capacity(batch.len());
        let mut totals = AddTotals::default();
        let ctx = Context {
            model: &self.model,
            settings: &self.settings,
            run: self.run,
            threshold_weight: self.threshold_weight,
            floor_weight: self.floor_weight,
        };
        for rec in batch {
            totals.records += 1;
            let t = Instant::now();
            let stored = store_record(&tx, self.run, &self.normaliser, rec)
                .map_err(|e| crate::workspace::map_store_error(&dir, e))?;
            totals.seconds_store += t.elapsed().as_secs_f64();
            let entity = match stored {
                Stored::New(id, norm) => {
                    totals.stored += 1;
                    Ok(ctx.link(&tx, id, &norm, &mut totals)?)
                }
                Stored::Existing(id) => {
                    totals.already_stored += 1;
                    match entity_of(&tx, id)? {
                        Some(e) => Ok(e),
                        None => {
                            let norm = normalised_values(&tx, id)?;
                            Ok(ctx.link(&tx, id, &norm, &mut totals)?)
                        }
                    }
                }
                Stored::Conflict(message) => {
                    totals.rejected += 1;
                    Err(message)
                }
            };
            out.push(AddOutcome {
                source: rec.source.clone(),
                record_id: rec.record_id.clone(),
                entity,
            });
        }
        let t = Instant::now();
        tx.commit()
            .map_err(|e| crate::workspace::map_store_error(&dir, e.into()))?;
        totals.seconds_commit += t.elapsed().as_secs_f64();
        totals.batches = 1;
        let t = &mut self.totals;
        t.records += totals.records;
        t.stored += totals.stored;
        t.already_stored += totals.already_stored;
        t.rejected += totals.rejected;
        t.candidates += totals.candidates;
        t.edges += totals.edges;
        t.batches += 1;
        t.changes += totals.changes;
        t.seconds_store += totals.seconds_store;
        t.seconds_block += totals.seconds_block;
        t.seconds_score += totals.seconds_score;
        t.seconds_cluster += totals.seconds_cluster;
        t.seconds_commit += totals.seconds_commit;
        Ok(out)
    }

    /// Closes the run with its totals.
    pub fn finish(self) -> Result<AddTotals, StoreError> {
        let summary = serde_json::to_string(&self.totals).expect("totals serialise");
        Workspace::finish_run(&self.ws.conn, self.run, Some(self.model.id), &summary)
            .map_err(|e| self.ws.write_error(e))?;
        Ok(self.totals)
    }
}

/// What linking needs, borrowed from the resolver.
struct Context<'a> {
    model: &'a StoredModel,
    settings: &'a Settings,
    run: i64,
    threshold_weight: f64,
    floor_weight: f64,
}

impl Context<'_> {
    /// Finds, scores and clusters one stored record; returns its entity.
    fn link(
        &self,
        conn: &Connection,
        id: i64,
        norm: &[(AttrKind, Box<str>)],
        totals: &mut AddTotals,
    ) -> Result<i64, StoreError> {
        let t = Instant::now();
        let candidates = candidates(
            conn,
            id,
            norm,
            &self.model.rules,
            self.settings.resolve.max_block_size,
        )?;
        totals.candidates += candidates.len() as u64;
        totals.seconds_block += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let scored = score_candidates(conn, &self.model.model, norm, &candidates)?;
        let mut insert = conn.prepare_cached(
            "INSERT OR REPLACE INTO edges(a, b, weight, partials, model) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut strong = Vec::new();
        for (c, w, partials) in scored {
            if w >= self.floor_weight {
                insert.execute(params![
                    id.min(c),
                    id.max(c),
                    w,
                    pack_partials(&partials),
                    self.model.id
                ])?;
                totals.edges += 1;
            }
            if w >= self.threshold_weight {
                strong.push(c);
            }
        }
        strong.push(id);
        totals.seconds_score += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (entities, changes) = recluster(conn, self.run, self.settings, &strong)?;
        totals.changes += changes;
        totals.seconds_cluster += t.elapsed().as_secs_f64();
        entities
            .get(&id)
            .copied()
            .ok_or_else(|| StoreError::Invalid(format!("record {id} was left without an entity")))
    }
}

/// The record's entity, if it has one.
pub(crate) fn entity_of(conn: &Connection, record: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT entity FROM membership WHERE record = ?1")?
        .query_row([record], |r| r.get(0))
        .optional()?)
}

/// The stored normalised values of a record.
pub(crate) fn normalised_values(
    conn: &Connection,
    record: i64,
) -> Result<Vec<(AttrKind, Box<str>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, value FROM attributes WHERE record = ?1 AND value IS NOT NULL",
    )?;
    let rows = stmt.query_map([record], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, value) = row?;
        if let Some(kind) = AttrKind::from_name(&kind) {
            out.push((kind, value.into_boxed_str()));
        }
    }
    Ok(out)
}

/// Adds the record's keys to the index and returns the records sharing a key under
/// some rule, skipping blocks over the cap (the record itself included in the count).
fn candidates(
    conn: &Connection,
    id: i64,
    norm: &[(AttrKind, Box<str>)],
    rules: &[BlockingRule],
    cap: usize,
) -> Result<Vec<i64>, StoreError> {
    let one = RecordTable::from_normalised(&[norm], vec![0]);
    let keys = BlockKeys::compute(&one, rules.to_vec(), usize::MAX);
    let mut lookup =
        conn.prepare_cached("SELECT record FROM block_keys WHERE rule = ?1 AND key = ?2 LIMIT ?3")?;
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO block_keys(rule, key, record) VALUES (?1, ?2, ?3)",
    )?;
    let mut found: Vec<i64> = Vec::new();
    for (rule, rule_keys) in keys.keys.iter().enumerate() {
        let Some(key) = rule_keys[0] else { continue };
        let key = key as i64;
        let block: Vec<i64> = lookup
            .query_map(params![rule as i64, key, cap as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        // With the record itself the block would hold block.len() + 1 records.
        if block.len() < cap {
            found.extend(block.into_iter().filter(|&r| r != id));
        }
        insert.execute(params![rule as i64, key, id])?;
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Scores the record against each candidate with the batch kernels; term frequencies
/// of the record's values come from the store's counts. Returns (candidate, weight,
/// partial weights).
fn score_candidates(
    conn: &Connection,
    model: &Model,
    norm: &[(AttrKind, Box<str>)],
    candidates: &[i64],
) -> Result<Vec<(i64, f64, Vec<f32>)>, StoreError> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<Vec<(AttrKind, Box<str>)>> = Vec::with_capacity(candidates.len() + 1);
    rows.push(norm.to_vec());
    for &c in candidates {
        rows.push(normalised_values(conn, c)?);
    }
    let mut table = RecordTable::from_normalised(&rows, vec![0; rows.len()]);
    let mut count_value =
        conn.prepare_cached("SELECT count FROM value_counts WHERE kind = ?1 AND value = ?2")?;
    let mut count_kind = conn.prepare_cached("SELECT count FROM kind_counts WHERE kind = ?1")?;
    for col in &mut table.columns {
        let id = col.ids[0];
        if id == NULL_ID {
            continue;
        }
        let kind = col.kind.name();
        let count: Option<u32> = count_value
            .query_row(params![kind, &*col.values[id as usize]], |r| r.get(0))
            .optional()?;
        let total: Option<u32> = count_kind.query_row([kind], |r| r.get(0)).optional()?;
        if let (Some(count), Some(total)) = (count, total) {
            col.counts[id as usize] = count.max(1);
            col.non_null = total.max(1);
        }
    }
    let scorer = Scorer::new(model.clone(), &table);
    Ok(candidates
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let (w, partials) = scorer.score(0, i as u32 + 1);
            (c, w, partials)
        })
        .collect())
}

/// Re-clusters the entities of `seeds` together with the seeds themselves, from their
/// stored edges and judgements, and writes the outcome. Returns each member's entity.
pub(crate) fn recluster(
    conn: &Connection,
    run: i64,
    settings: &Settings,
    seeds: &[i64],
) -> Result<(FxHashMap<i64, i64>, Changes), StoreError> {
    let mut members: FxHashSet<i64> = seeds.iter().copied().collect();
    let mut old: FxHashMap<i64, i64> = FxHashMap::default();
    let mut entities: FxHashSet<i64> = FxHashSet::default();
    for &s in seeds {
        if let Some(e) = entity_of(conn, s)? {
            entities.insert(e);
        }
    }
    let mut of_entity = conn.prepare_cached("SELECT record FROM membership WHERE entity = ?1")?;
    let mut sorted_entities: Vec<i64> = entities.into_iter().collect();
    sorted_entities.sort_unstable();
    for &e in &sorted_entities {
        for r in of_entity.query_map([e], |r| r.get::<_, i64>(0))? {
            let r = r?;
            members.insert(r);
            old.insert(r, e);
        }
    }
    let mut list: Vec<i64> = members.into_iter().collect();
    list.sort_unstable();
    let index: FxHashMap<i64, u32> = list
        .iter()
        .enumerate()
        .map(|(i, &r)| (r, i as u32))
        .collect();

    let mut edges = Vec::new();
    let mut from = conn.prepare_cached("SELECT b, weight FROM edges WHERE a = ?1")?;
    for &r in &list {
        for row in from.query_map([r], |x| Ok((x.get::<_, i64>(0)?, x.get::<_, f64>(1)?)))? {
            let (b, w) = row?;
            if let Some(&j) = index.get(&b) {
                edges.push(Edge {
                    left: index[&r],
                    right: j,
                    weight: w,
                    probability: 0.0,
                    partials: Vec::new(),
                });
            }
        }
    }
    let (mut must, mut cannot) = (Vec::new(), Vec::new());
    let mut judged = conn.prepare_cached(
        "SELECT a, b, verdict FROM judgements j WHERE (a = ?1 OR b = ?1) \
         AND id = (SELECT max(id) FROM judgements k WHERE k.a = j.a AND k.b = j.b)",
    )?;
    for &r in &list {
        for row in judged.query_map([r], |x| {
            Ok((
                x.get::<_, i64>(0)?,
                x.get::<_, i64>(1)?,
                x.get::<_, String>(2)?,
            ))
        })? {
            let (a, b, verdict) = row?;
            if let (Some(&i), Some(&j)) = (index.get(&a), index.get(&b)) {
                match verdict.as_str() {
                    "same" => must.push((i, j)),
                    "not-same" => cannot.push((i, j)),
                    _ => {}
                }
            }
        }
    }
    let labels = cluster_edges(list.len(), &edges, settings, &must, &cannot);
    let groups_n = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut groups: Vec<Vec<i64>> = vec![Vec::new(); groups_n];
    for (i, &l) in labels.iter().enumerate() {
        groups[l as usize].push(list[i]);
    }
    let (ids, changes) = reconcile(conn, run, &groups, &old, true)?;
    let mut out = FxHashMap::default();
    for (g, members) in groups.iter().enumerate() {
        for &r in members {
            out.insert(r, ids[g]);
        }
    }
    Ok((out, changes))
}
