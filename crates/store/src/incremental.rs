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
use spirit_matching::cold::cold_start_functions;
use spirit_matching::table::Appender;
use spirit_matching::{LinkType, Settings};
use spirit_matching::{Model, RecordTable, Scorer};
use spirit_model::{AttrKind, Edge, Progress, probability_to_weight};

use crate::entities::{Changes, reconcile};
use crate::ingest::{Incoming, Normaliser, Stored, store_record};
use crate::resolve::{StoredModel, current_model, insert_model, load_all, pack_partials};
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

/// Resolves records into a workspace with its current model, or the cold-start model
/// ([`spirit_matching::cold`]) while the workspace has never been trained.
pub struct Resolver<'w> {
    guard: Held<'w>,
    core: Core,
}

/// The workspace a resolver works in, with the checkpointer it runs beside it; dropping
/// it hands checkpoints back to the workspace's connection.
struct Held<'w> {
    ws: &'w mut Workspace,
    checkpointer: Checkpointer,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.checkpointer.stop(&self.ws.conn);
    }
}

/// What a resolver keeps in memory, apart from the workspace it works in.
struct Core {
    /// The model in force; `None` until a cold-start workspace sees its first record.
    model: Option<StoredModel>,
    resident: Resident,
    /// Set when a batch failed after the resident index took some of its records: the
    /// index no longer matches the store, so the resolver refuses more work.
    poisoned: bool,
    /// Seconds spent loading the resident index.
    load_seconds: f64,
    normaliser: Normaliser,
    settings: Settings,
    run: i64,
    threshold_weight: f64,
    floor_weight: f64,
    totals: AddTotals,
}

/// A resolver between two batches, without its workspace: the server closes the
/// workspace (and lets other writers in) between the batches of an upload, and keeps
/// the resident index rather than loading it again for every batch. [`Parked::resume`]
/// checks that the store is as the index left it, and loads the index again when
/// another writer added or erased records or stored a model meanwhile.
pub struct Parked {
    core: Core,
    stamp: Stamp,
}

/// The `meta` key counting the records erased so far (kept by the erasure).
pub(crate) const RECORDS_ERASED: &str = "records_erased";

/// What the resident index depends on: the last record stored, the records erased so
/// far, the last model stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    last_record: i64,
    erased: i64,
    last_model: i64,
}

impl Stamp {
    fn of(conn: &Connection) -> Result<Stamp, StoreError> {
        Ok(conn.query_row(
            "SELECT (SELECT ifnull(max(id), 0) FROM records), \
                    (SELECT ifnull(max(CAST(value AS INTEGER)), 0) FROM meta WHERE key = ?1), \
                    (SELECT ifnull(max(id), 0) FROM models)",
            [RECORDS_ERASED],
            |r| {
                Ok(Stamp {
                    last_record: r.get(0)?,
                    erased: r.get(1)?,
                    last_model: r.get(2)?,
                })
            },
        )?)
    }
}

/// The model in force (with the settings' say on writing style) and the resident index
/// under its rules.
fn load_index(
    conn: &Connection,
    settings: &Settings,
) -> Result<(Option<StoredModel>, Resident, f64), StoreError> {
    let mut model = current_model(conn)?;
    if let Some(model) = &mut model {
        model
            .model
            .set_style_can_link(settings.resolve.style_can_link);
    }
    let t = Instant::now();
    let rules = model.as_ref().map(|m| m.rules.clone()).unwrap_or_default();
    let resident = Resident::load(conn, &rules)?;
    Ok((model, resident, t.elapsed().as_secs_f64()))
}

impl<'w> Resolver<'w> {
    /// Prepares to add records: loads the model in force and the resident index. A
    /// workspace that was never resolved gets the cold-start model with its first
    /// records.
    pub fn new(ws: &'w mut Workspace) -> Result<Resolver<'w>, StoreError> {
        ws.require_write()?;
        let settings = ws.settings().clone();
        let (model, resident, load_seconds) = load_index(&ws.conn, &settings)?;
        let run = Workspace::start_run(&ws.conn, "add").map_err(|e| ws.write_error(e))?;
        let card_key = ws.card_key()?;
        let checkpointer = Checkpointer::start(ws)?;
        Ok(Resolver {
            guard: Held { ws, checkpointer },
            core: Core {
                resident,
                poisoned: false,
                load_seconds,
                normaliser: Normaliser::new(&settings, card_key),
                threshold_weight: probability_to_weight(settings.resolve.threshold),
                floor_weight: probability_to_weight(settings.resolve.edge_floor),
                settings,
                model,
                run,
                totals: AddTotals::default(),
            },
        })
    }

    /// Seconds spent loading the resident index (again, when a resumed resolver found
    /// the store changed).
    pub fn load_seconds(&self) -> f64 {
        self.core.load_seconds
    }

    /// The totals so far.
    pub fn totals(&self) -> &AddTotals {
        &self.core.totals
    }

    /// Lets the workspace go, keeping the resident index for [`Parked::resume`].
    pub fn park(self) -> Result<Parked, StoreError> {
        let Resolver { guard, core } = self;
        let stamp = Stamp::of(&guard.ws.conn)?;
        drop(guard);
        Ok(Parked { core, stamp })
    }

    /// The workspace settings in force.
    pub fn settings(&self) -> &Settings {
        &self.core.settings
    }

    /// Stores and resolves a batch of records in one transaction. When it returns `Ok`,
    /// every outcome is durable. An error rolls the whole batch back.
    pub fn add_batch(&mut self, batch: &[Incoming]) -> Result<Vec<AddOutcome>, StoreError> {
        self.in_transaction(batch, |tx, ctx, resident, totals| {
            let normaliser = ctx.normaliser;
            let mut out = Vec::with_capacity(batch.len());
            for rec in batch {
                totals.records += 1;
                let t = Instant::now();
                let stored = store_record(tx, ctx.run, normaliser, rec)?;
                totals.seconds_store += t.elapsed().as_secs_f64();
                let entity = match stored {
                    Stored::New(id, norm) => {
                        totals.stored += 1;
                        let source = resident.source_index(&rec.source);
                        let dense = resident.push(id, &norm, source);
                        Ok(ctx.link(tx, resident, dense, totals)?)
                    }
                    Stored::Existing(id) => {
                        totals.already_stored += 1;
                        match entity_of(tx, id)? {
                            Some(e) => Ok(e),
                            // Stored but never resolved: it is in the resident index.
                            None => Ok(ctx.link(tx, resident, resident.dense_of(id)?, totals)?),
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
            Ok(out)
        })
    }

    /// Resolves every stored record that has no entity yet (stored by `ingest` since
    /// the last resolution), in the order they were stored, `batch` records per
    /// transaction; an interruption keeps the batches already committed. Returns how
    /// many records it resolved.
    pub fn resolve_stored(
        &mut self,
        batch: usize,
        progress: &dyn Progress,
    ) -> Result<u64, StoreError> {
        let pending: Vec<i64> = self
            .guard
            .ws
            .conn
            .prepare(
                "SELECT r.id FROM records r WHERE NOT EXISTS \
                 (SELECT 1 FROM membership m WHERE m.record = r.id) ORDER BY r.id",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        progress.phase("resolve stored records", Some(pending.len() as u64));
        let mut done = 0u64;
        for chunk in pending.chunks(batch.max(1)) {
            self.in_transaction(&[], |tx, ctx, resident, totals| {
                for &id in chunk {
                    totals.records += 1;
                    totals.already_stored += 1;
                    ctx.link(tx, resident, resident.dense_of(id)?, totals)?;
                }
                Ok(())
            })?;
            done += chunk.len() as u64;
            progress.set(done);
        }
        progress.done();
        Ok(done)
    }

    /// Runs `work` in one transaction with what linking needs, the cold-start model
    /// first extended to the kinds of `incoming`; commits and adds up the totals. An
    /// error rolls everything back and refuses further work (the resident index may
    /// hold records the store does not).
    fn in_transaction<T>(
        &mut self,
        incoming: &[Incoming],
        work: impl FnOnce(&Connection, &Context, &mut Resident, &mut AddTotals) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.core.poisoned {
            return Err(StoreError::Invalid(
                "an earlier batch failed; open the workspace again to go on".into(),
            ));
        }
        self.core.poisoned = true;
        let dir = self.guard.ws.dir().to_path_buf();
        let result = (|| {
            // Immediate: the write lock is taken (waiting for the server's audit appender)
            // before anything is read, so a commit by another connection between this
            // batch's reads and its first write cannot fail it with a stale snapshot.
            let tx = self
                .guard
                .ws
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if self
                .core
                .model
                .as_ref()
                .is_none_or(|m| m.model.is_cold_start())
            {
                extend_cold_start(
                    &tx,
                    &mut self.core.model,
                    &mut self.core.resident,
                    &self.core.settings,
                    incoming,
                )?;
            }
            let Some(model) = &self.core.model else {
                return Err(StoreError::Invalid(
                    "none of the records carries an attribute SPIRIT can compare (names, dates \
                     of birth, e-mails, phones, addresses, identifiers, …): name their columns \
                     in the settings' [input.columns]"
                        .into(),
                ));
            };
            let ctx = Context {
                model,
                settings: &self.core.settings,
                normaliser: &self.core.normaliser,
                run: self.core.run,
                threshold_weight: self.core.threshold_weight,
                floor_weight: self.core.floor_weight,
            };
            let mut totals = AddTotals::default();
            let out = work(&tx, &ctx, &mut self.core.resident, &mut totals)?;
            let t = Instant::now();
            tx.commit()?;
            totals.seconds_commit += t.elapsed().as_secs_f64();
            totals.batches = 1;
            self.core.totals += totals;
            Ok(out)
        })()
        .map_err(|e| crate::workspace::map_store_error(&dir, e));
        self.guard.checkpointer.nudge();
        self.core.poisoned = result.is_err();
        result
    }

    /// Closes the run with its totals.
    pub fn finish(mut self) -> Result<AddTotals, StoreError> {
        self.guard.checkpointer.stop(&self.guard.ws.conn);
        let summary = serde_json::to_string(&self.core.totals).expect("totals serialise");
        let model = self.core.model.as_ref().map(|m| m.id);
        Workspace::finish_run(&self.guard.ws.conn, self.core.run, model, &summary)
            .map_err(|e| self.guard.ws.write_error(e))?;
        Ok(self.core.totals.clone())
    }
}

impl Parked {
    /// Takes a workspace (opened for writing) again for the next batch. Records another
    /// writer added since [`Resolver::park`] are appended to the resident index; when
    /// records were erased or a model stored, the model and the index are loaded again.
    /// Judgements and reads change neither.
    pub fn resume(self, ws: &mut Workspace) -> Result<Resolver<'_>, StoreError> {
        ws.require_write()?;
        let Parked { mut core, stamp } = self;
        let now = Stamp::of(&ws.conn)?;
        if now != stamp {
            let t = Instant::now();
            if now.erased == stamp.erased && now.last_model == stamp.last_model {
                // Records added by another writer (an upload beside this one): the index
                // takes them as they are, without loading everything again.
                let rules = core
                    .model
                    .as_ref()
                    .map(|m| m.rules.clone())
                    .unwrap_or_default();
                core.resident
                    .catch_up(&ws.conn, stamp.last_record, &rules)?;
            } else {
                let (model, resident, _) = load_index(&ws.conn, &core.settings)?;
                core.model = model;
                core.resident = resident;
            }
            core.load_seconds += t.elapsed().as_secs_f64();
        }
        let checkpointer = Checkpointer::start(ws)?;
        Ok(Resolver {
            guard: Held { ws, checkpointer },
            core,
        })
    }

    /// The workspace settings in force.
    pub fn settings(&self) -> &Settings {
        &self.core.settings
    }

    /// The totals so far.
    pub fn totals(&self) -> &AddTotals {
        &self.core.totals
    }
}

/// Keeps a cold-start workspace's model comparing every kind its records carry:
/// when the store and `batch` hold kinds the model in force does not compare, a
/// cold-start model over all of them is stored (in the batch's transaction) and the
/// resident index is keyed under its blocking rules. Records scored before keep
/// their edges under the earlier model.
fn extend_cold_start(
    conn: &Connection,
    current: &mut Option<StoredModel>,
    resident: &mut Resident,
    settings: &Settings,
    batch: &[Incoming],
) -> Result<(), StoreError> {
    let mut kinds = resident.table.kinds();
    for rec in batch {
        let given: Vec<AttrKind> = match &rec.normalised {
            Some(norm) => norm.iter().map(|(k, _)| *k).collect(),
            None => rec.values.iter().map(|(k, _)| *k).collect(),
        };
        for k in given {
            // A full name is compared as its given name and surname.
            let parts: &[AttrKind] = if k == AttrKind::FullName {
                &[AttrKind::GivenName, AttrKind::Surname]
            } else {
                std::slice::from_ref(&k)
            };
            for &p in parts {
                if !kinds.contains(&p) {
                    kinds.push(p);
                }
            }
        }
    }
    let functions = cold_start_functions(&kinds);
    if functions.is_empty()
        || current
            .as_ref()
            .is_some_and(|m| m.model.functions() == functions)
    {
        return Ok(());
    }
    let mut model = Model::cold_start(&functions);
    model.set_style_can_link(settings.resolve.style_can_link);
    let rules = settings
        .blocking_rules(&kinds)
        .map_err(StoreError::Invalid)?;
    let id = insert_model(conn, &model, &rules, settings)?;
    resident.rekey(&rules);
    *current = Some(StoredModel { id, model, rules });
    Ok(())
}

/// Resolves every stored record that has no entity yet, one by one with the model in
/// force (the cold-start model in a workspace never resolved): what `ingest` stored
/// since the last resolution, without the batch plan. See [`Resolver::resolve_stored`].
pub fn resolve_stored(
    ws: &mut Workspace,
    progress: &dyn Progress,
) -> Result<AddTotals, StoreError> {
    let mut resolver = Resolver::new(ws)?;
    resolver.resolve_stored(RESOLVE_STORED_BATCH, progress)?;
    resolver.finish()
}

/// Records per transaction when stored records are resolved one by one.
const RESOLVE_STORED_BATCH: usize = 1000;

/// Keys of added records kept in the resident index's hash map at least, before they are
/// folded into its sorted array.
const FOLD_MIN: usize = 1 << 16;

/// Candidate sets at least this large are scored in parallel.
const PARALLEL_CANDIDATES: usize = 64;

/// What linking needs, borrowed from the resolver.
struct Context<'a> {
    model: &'a StoredModel,
    settings: &'a Settings,
    normaliser: &'a Normaliser,
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
/// search in one sorted array; records added since, in a hash map, folded into the array
/// once it holds an eighth as many keys (a hash map entry costs several times an array
/// entry, and a long upload adds millions of keys).
struct Resident {
    table: RecordTable,
    appender: Appender,
    /// Store id of each dense index.
    ids: Vec<i64>,
    /// (rule, key, dense index), sorted.
    base: Vec<(u32, u64, u32)>,
    added: FxHashMap<(u32, u64), Vec<u32>>,
    /// Keys in `added`.
    added_keys: usize,
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
        let mut resident = Resident {
            appender: Appender::new(&table),
            table,
            ids: stored.ids,
            base: Vec::new(),
            added: FxHashMap::default(),
            added_keys: 0,
            sources,
        };
        resident.rekey(rules);
        Ok(resident)
    }

    /// Keys every record in the index under `rules`.
    fn rekey(&mut self, rules: &[BlockingRule]) {
        let keys = BlockKeys::compute(&self.table, rules.to_vec(), usize::MAX);
        self.base.clear();
        for (rule, rule_keys) in keys.keys.iter().enumerate() {
            for (i, k) in rule_keys.iter().enumerate() {
                if let Some(k) = k {
                    self.base.push((rule as u32, *k, i as u32));
                }
            }
        }
        self.base.sort_unstable();
        self.added = FxHashMap::default();
        self.added_keys = 0;
    }

    /// Moves the keys of records added since the last fold into the sorted array.
    fn fold_added(&mut self) {
        let added = std::mem::take(&mut self.added);
        self.base.reserve(self.added_keys);
        for ((rule, key), dense) in added {
            self.base.extend(dense.into_iter().map(|d| (rule, key, d)));
        }
        self.base.sort_unstable();
        self.added_keys = 0;
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

    /// Appends the records stored after record `after` (by other writers), with their
    /// keys under `rules`, as a reload would have them.
    fn catch_up(
        &mut self,
        conn: &Connection,
        after: i64,
        rules: &[BlockingRule],
    ) -> Result<(), StoreError> {
        let records: Vec<(i64, String)> = conn
            .prepare(
                "SELECT r.id, s.name FROM records r JOIN sources s ON s.id = r.source \
                 WHERE r.id > ?1 ORDER BY r.id",
            )?
            .query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut values: FxHashMap<i64, Vec<(AttrKind, Box<str>)>> = FxHashMap::default();
        let mut stmt = conn.prepare(
            "SELECT record, kind, value FROM attributes WHERE record > ?1 AND value IS NOT NULL",
        )?;
        let mut rows = stmt.query([after])?;
        while let Some(row) = rows.next()? {
            let kind: String = row.get(1)?;
            if let Some(kind) = AttrKind::from_name(&kind) {
                let value: String = row.get(2)?;
                values
                    .entry(row.get(0)?)
                    .or_default()
                    .push((kind, value.into()));
            }
        }
        for (id, source) in records {
            let source = self.source_index(&source);
            let norm = values.remove(&id).unwrap_or_default();
            let dense = self.push(id, &norm, source);
            for (rule, keys) in BlockingRule::keys_of(rules, &self.table, dense)
                .into_iter()
                .enumerate()
            {
                for key in keys {
                    self.add_key(rule as u32, key, dense);
                }
            }
        }
        self.fold_if_large();
        Ok(())
    }

    /// Adds `dense` under (rule, key) unless it is there; the block's size before.
    fn add_key(&mut self, rule: u32, key: u64, dense: u32) -> (std::ops::Range<usize>, bool) {
        let lo = self.base.partition_point(|e| (e.0, e.1) < (rule, key));
        let hi = self.base.partition_point(|e| (e.0, e.1) <= (rule, key));
        let added = self.added.entry((rule, key)).or_default();
        let fresh = !added.contains(&dense) && !self.base[lo..hi].iter().any(|e| e.2 == dense);
        if fresh {
            added.push(dense);
            self.added_keys += 1;
        }
        (lo..hi, fresh)
    }

    fn fold_if_large(&mut self) {
        if self.added_keys > FOLD_MIN.max(self.base.len() / 8) {
            self.fold_added();
        }
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
        let keys = BlockingRule::keys_of(rules, &self.table, dense);
        for (rule, key) in keys
            .into_iter()
            .enumerate()
            .flat_map(|(rule, keys)| keys.into_iter().map(move |k| (rule, k)))
        {
            let rule = rule as u32;
            let (in_base, _) = self.add_key(rule, key, dense);
            let added = &self.added[&(rule, key)];
            // The block as it was before this record joined it, and the record.
            if in_base.len() + added.len() <= cap {
                found.extend(self.base[in_base].iter().map(|e| e.2));
                found.extend(added.iter().copied());
            }
        }
        self.fold_if_large();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds demo rows `range` to the workspace as a stream.
    fn add_demo(ws: &mut Workspace, range: std::ops::Range<usize>) {
        let demo = include_str!("../../../demo/people.csv");
        let mut lines = demo.lines();
        let mut rows = format!("{}\n", lines.next().unwrap());
        for l in lines.skip(range.start).take(range.len()) {
            rows.push_str(l);
            rows.push('\n');
        }
        let mut options = crate::stream::StreamOptions::new("people");
        options.format = crate::stream::StreamFormat::Csv;
        options.id_column = Some("rec_id".into());
        crate::stream::add_stream(
            ws,
            std::io::Cursor::new(rows.into_bytes()),
            &mut std::io::sink(),
            &mut std::io::sink(),
            &options,
        )
        .unwrap();
    }

    /// Pushes a copy of every record of `from` into both indexes: each gets the same
    /// candidates from both. Returns how many had candidates.
    fn same_candidates(
        from: &crate::resolve::StoredRecords,
        a: &mut Resident,
        b: &mut Resident,
        rules: &[BlockingRule],
        mut between: impl FnMut(usize, &mut Resident),
    ) -> usize {
        let next = a.ids.last().copied().unwrap_or(0) + 1;
        let mut linked = 0;
        for (i, (values, &source)) in from.values.iter().zip(&from.sources).enumerate() {
            let id = next + i as i64;
            let (x, y) = (a.push(id, values, source), b.push(id, values, source));
            assert_eq!(x, y);
            let found = a.candidates(x, rules, 1000, false);
            assert_eq!(found, b.candidates(y, rules, 1000, false), "record {i}");
            linked += usize::from(!found.is_empty());
            between(i, a);
        }
        linked
    }

    /// Records another writer stores while a resolver is parked: the index that caught
    /// up with them proposes what a reloaded one does.
    #[test]
    fn catching_up_gives_the_candidates_a_reload_gives() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init(dir.path(), None).unwrap();
        add_demo(&mut ws, 0..300);
        let model = current_model(ws.connection()).unwrap().unwrap();
        let mut caught = Resident::load(ws.connection(), &model.rules).unwrap();
        let last = *caught.ids.last().unwrap();
        add_demo(&mut ws, 300..600);
        let conn = ws.connection();
        assert_eq!(current_model(conn).unwrap().unwrap().id, model.id);
        caught.catch_up(conn, last, &model.rules).unwrap();
        let mut reloaded = Resident::load(conn, &model.rules).unwrap();
        assert_eq!(caught.ids, reloaded.ids);
        assert_eq!(caught.ids.len(), 600);
        let stored = load_all(conn).unwrap();
        let linked = same_candidates(&stored, &mut caught, &mut reloaded, &model.rules, |_, _| {});
        assert!(linked > 500, "{linked}");
    }

    /// Copies of stored records pushed into two resident indexes, one folding its added
    /// keys into the sorted array every few records, one never: every candidate set is
    /// the same.
    #[test]
    fn folding_added_keys_changes_no_candidate_set() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::init(dir.path(), None).unwrap();
        add_demo(&mut ws, 0..400);
        let conn = ws.connection();
        let rules = current_model(conn).unwrap().unwrap().rules;
        let stored = load_all(conn).unwrap();
        let (mut folding, mut plain) = (
            Resident::load(conn, &rules).unwrap(),
            Resident::load(conn, &rules).unwrap(),
        );
        let linked = same_candidates(&stored, &mut folding, &mut plain, &rules, |i, r| {
            if i % 7 == 0 {
                r.fold_added();
                assert!(r.added.is_empty() && r.added_keys == 0);
            }
        });
        assert!(plain.added_keys > 0 && linked > 300, "{linked}");
        assert!(folding.base.len() > plain.base.len());
    }
}
