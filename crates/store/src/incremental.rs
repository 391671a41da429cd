//! Incremental resolution: records resolved one by one as they arrive.
//!
//! A [`Resolver`] first loads a *resident index* of the store: every record's
//! normalised values as a prepared table (the batch kernels' input) and the blocking
//! keys of the stored model's rules, sorted for binary search. Both are derived from the
//! stored attributes, so nothing is lost with the process; SQLite holds the durable
//! state. Then, for each record: store it (raw, normalised, searchable); append it to
//! the table; look its keys up (blocks over the cap are skipped, as in batch); score the
//! candidates with the stored model — term frequencies from the counts of the whole
//! table, as in batch; keep the edges at or above the floor; then re-cluster the
//! entities the record reaches with an edge at or above the threshold, together with the
//! record, from their stored edges and judgements. The outcome — attach, create, merge
//! or split — gets entity ids by overlap and events.
//!
//! [`Resolver::add_batch`] runs a batch in one transaction (group commit): the caller
//! acknowledges records only after it returns.

use std::time::Instant;

use rayon::prelude::*;
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use spirit_matching::blocking::{BlockKeys, BlockingRule};
use spirit_matching::cluster::cluster_edges;
use spirit_matching::table::Appender;
use spirit_matching::{LinkType, Settings};
use spirit_matching::{RecordTable, Scorer};
use spirit_model::{AttrKind, Edge, probability_to_weight};

use crate::entities::{Changes, reconcile};
use crate::ingest::{Incoming, Normaliser, Stored, store_record};
use crate::resolve::{StoredModel, current_model, load_all, pack_partials};
use crate::workspace::Checkpointer;
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

impl std::ops::AddAssign for AddTotals {
    fn add_assign(&mut self, o: AddTotals) {
        self.records += o.records;
        self.stored += o.stored;
        self.already_stored += o.already_stored;
        self.rejected += o.rejected;
        self.candidates += o.candidates;
        self.edges += o.edges;
        self.batches += o.batches;
        self.changes += o.changes;
        self.seconds_store += o.seconds_store;
        self.seconds_block += o.seconds_block;
        self.seconds_score += o.seconds_score;
        self.seconds_cluster += o.seconds_cluster;
        self.seconds_commit += o.seconds_commit;
    }
}

/// Resolves records into a workspace with its current model.
pub struct Resolver<'w> {
    ws: &'w mut Workspace,
    model: StoredModel,
    resident: Resident,
    /// Set when a batch failed after the resident index took some of its records: the
    /// index no longer matches the store, so the resolver refuses more work.
    poisoned: bool,
    /// Seconds spent loading the resident index.
    pub load_seconds: f64,
    normaliser: Normaliser,
    settings: Settings,
    run: i64,
    threshold_weight: f64,
    floor_weight: f64,
    pub totals: AddTotals,
    checkpointer: Checkpointer,
}

impl Drop for Resolver<'_> {
    fn drop(&mut self) {
        self.checkpointer.stop(&self.ws.conn);
    }
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
        let mut model = model;
        model
            .model
            .set_style_can_link(settings.resolve.style_can_link);
        let t = Instant::now();
        let resident = Resident::load(&ws.conn, &model.rules)?;
        let load_seconds = t.elapsed().as_secs_f64();
        let run = Workspace::start_run(&ws.conn, "add").map_err(|e| ws.write_error(e))?;
        let card_key = crate::ingest::card_key(&ws.conn).map_err(|e| ws.write_error(e))?;
        let checkpointer = Checkpointer::start(ws)?;
        Ok(Resolver {
            checkpointer,
            resident,
            poisoned: false,
            load_seconds,
            normaliser: Normaliser::new(&settings, card_key),
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
        if self.poisoned {
            return Err(StoreError::Invalid(
                "an earlier batch failed; open the workspace again to go on".into(),
            ));
        }
        self.poisoned = true;
        let result = self.add_batch_inner(batch);
        self.poisoned = result.is_err();
        result
    }

    fn add_batch_inner(&mut self, batch: &[Incoming]) -> Result<Vec<AddOutcome>, StoreError> {
        let dir = self.ws.dir().to_path_buf();
        let tx = self.ws.conn.transaction()?;
        let mut out = Vec::with_capacity(batch.len());
        let mut totals = AddTotals::default();
        let resident = &mut self.resident;
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
                    let source = resident.source_index(&rec.source);
                    let dense = resident.push(id, &norm, source);
                    Ok(ctx.link(&tx, resident, dense, &mut totals)?)
                }
                Stored::Existing(id) => {
                    totals.already_stored += 1;
                    match entity_of(&tx, id)? {
                        Some(e) => Ok(e),
                        None => {
                            // Stored but never resolved: it is in the resident index.
                            let dense = resident.dense_of(id)?;
                            Ok(ctx.link(&tx, resident, dense, &mut totals)?)
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
        self.checkpointer.nudge();
        totals.batches = 1;
        self.totals += totals;
        Ok(out)
    }

    /// Closes the run with its totals.
    pub fn finish(mut self) -> Result<AddTotals, StoreError> {
        self.checkpointer.stop(&self.ws.conn);
        let summary = serde_json::to_string(&self.totals).expect("totals serialise");
        Workspace::finish_run(&self.ws.conn, self.run, Some(self.model.id), &summary)
            .map_err(|e| self.ws.write_error(e))?;
        Ok(self.totals.clone())
    }
}

/// Candidate sets at least this large are scored in parallel.
const PARALLEL_CANDIDATES: usize = 64;

/// What linking needs, borrowed from the resolver.
struct Context<'a> {
    model: &'a StoredModel,
    settings: &'a Settings,
    run: i64,
    threshold_weight: f64,
    floor_weight: f64,
}

impl Context<'_> {
    /// Finds, scores and clusters one record already in the resident index (at `dense`)
    /// and in the store; returns its entity.
    fn link(
        &self,
        conn: &Connection,
        resident: &mut Resident,
        dense: u32,
        totals: &mut AddTotals,
    ) -> Result<i64, StoreError> {
        let t = Instant::now();
        let link_only = self.settings.resolve.link_type == LinkType::Link;
        let candidates = resident.candidates(
            dense,
            &self.model.rules,
            self.settings.resolve.max_block_size,
            link_only,
        );
        totals.candidates += candidates.len() as u64;
        totals.seconds_block += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let scorer = Scorer::new(self.model.model.clone(), &resident.table);
        let mut insert = conn.prepare_cached(
            "INSERT OR REPLACE INTO edges(a, b, weight, partials, model) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let id = resident.ids[dense as usize];
        let mut strong = Vec::new();
        // Scored as batch scores a pair: the smaller index first. Large candidate sets
        // (records with common names) are scored on every core.
        let weigh = |&c: &u32| (c, scorer.weight(dense.min(c), dense.max(c)));
        let weights: Vec<(u32, f64)> = if candidates.len() >= PARALLEL_CANDIDATES {
            candidates.par_iter().map(weigh).collect()
        } else {
            candidates.iter().map(weigh).collect()
        };
        for (c, w) in weights {
            let other = resident.ids[c as usize];
            if w >= self.floor_weight {
                let (_, partials) = scorer.score(dense.min(c), dense.max(c));
                insert.execute(params![
                    id.min(other),
                    id.max(other),
                    w,
                    pack_partials(&partials),
                    self.model.id
                ])?;
                totals.edges += 1;
            }
            if w >= self.threshold_weight {
                strong.push(other);
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

/// The resident index: every stored record prepared for the comparison kernels, and the
/// blocking keys under the model's rules. Records loaded at start are found by binary
/// search in one sorted array; records added since, in a hash map.
struct Resident {
    table: RecordTable,
    appender: Appender,
    /// Store id of each dense index.
    ids: Vec<i64>,
    /// (rule, key, dense index), sorted.
    base: Vec<(u32, u64, u32)>,
    added: FxHashMap<(u32, u64), Vec<u32>>,
    sources: FxHashMap<String, u16>,
}

impl Resident {
    fn load(conn: &Connection, rules: &[BlockingRule]) -> Result<Resident, StoreError> {
        let stored = load_all(conn)?;
        let mut sources: FxHashMap<String, u16> = FxHashMap::default();
        for (key, &s) in stored.keys.iter().zip(&stored.sources) {
            sources.entry(key.source.clone()).or_insert(s);
        }
        let table = RecordTable::from_normalised(&stored.values, stored.sources);
        let keys = BlockKeys::compute(&table, rules.to_vec(), usize::MAX);
        let mut base = Vec::new();
        for (rule, rule_keys) in keys.keys.iter().enumerate() {
            for (i, k) in rule_keys.iter().enumerate() {
                if let Some(k) = k {
                    base.push((rule as u32, *k, i as u32));
                }
            }
        }
        base.sort_unstable();
        Ok(Resident {
            appender: Appender::new(&table),
            table,
            ids: stored.ids,
            base,
            added: FxHashMap::default(),
            sources,
        })
    }

    fn source_index(&mut self, name: &str) -> u16 {
        let next = self.sources.len().min(usize::from(u16::MAX)) as u16;
        *self.sources.entry(name.to_string()).or_insert(next)
    }

    fn dense_of(&self, id: i64) -> Result<u32, StoreError> {
        // Ids only grow, and records enter the index in id order.
        self.ids
            .binary_search(&id)
            .map(|i| i as u32)
            .map_err(|_| StoreError::Invalid(format!("record {id} is not in the resident index")))
    }

    fn push(&mut self, id: i64, norm: &[(AttrKind, Box<str>)], source: u16) -> u32 {
        self.ids.push(id);
        self.appender.push(&mut self.table, norm, source)
    }

    /// The records sharing a key with record `dense` under some rule (blocks over `cap`
    /// skipped), after adding the record's own keys to the index.
    fn candidates(
        &mut self,
        dense: u32,
        rules: &[BlockingRule],
        cap: usize,
        link_only: bool,
    ) -> Vec<u32> {
        let mut found: Vec<u32> = Vec::new();
        for (rule, r) in rules.iter().enumerate() {
            let Some(key) = r.key(&self.table, dense) else {
                continue;
            };
            let rule = rule as u32;
            let lo = self.base.partition_point(|e| (e.0, e.1) < (rule, key));
            let hi = self.base.partition_point(|e| (e.0, e.1) <= (rule, key));
            let added = self.added.entry((rule, key)).or_default();
            let fresh = !added.contains(&dense) && !self.base[lo..hi].iter().any(|e| e.2 == dense);
            let size = hi - lo + added.len() + usize::from(fresh);
            if size <= cap {
                found.extend(self.base[lo..hi].iter().map(|e| e.2));
                found.extend(added.iter().copied());
            }
            if fresh {
                added.push(dense);
            }
        }
        let source = self.table.sources[dense as usize];
        found.retain(|&c| c != dense && !(link_only && self.table.sources[c as usize] == source));
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// The record's entity, if it has one.
pub(crate) fn entity_of(conn: &Connection, record: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT entity FROM membership WHERE record = ?1")?
        .query_row([record], |r| r.get(0))
        .optional()?)
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
