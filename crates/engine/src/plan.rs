//! Candidate generation and scoring as an Apache DataFusion plan.
//!
//! Each blocking rule's pairs form a table `pairs{r}(a, b, rule, first)`
//! ([`PairsTable`]): its keys hash-partitioned by key, each partition sorted and swept
//! block by block (the `pairs` module). A pair that an earlier rule proposes too is
//! flagged (`first = false`) or left out, so every candidate pair is scored exactly once
//! without a global distinct. With a model the sweep scores the pairs it makes with
//! SPIRIT's batch scorer: training tables carry the packed agreement pattern `p`
//! (aggregated by `GROUP BY`, so EM works on counts), scoring tables the match weight
//! `w` (filtered at the edge floor, so only edges leave the plan). The session runs
//! with a memory limit; operators that can spill do so.
//!
//! The same plan runs in this process or on a cluster ([`SessionFactory`]): the pair
//! tables and their plan nodes carry a [`DataSpec`] (where the run's prepared records
//! were written for executors to read) and the model, and [`encode_table`] /
//! [`encode_exec`] give the bytes a distributed engine's codec ships. An executor reads
//! only the records of its own blocks.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    Array, BooleanArray, Float64Array, Int64Array, UInt8Array, UInt32Array, UInt64Array,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::Result as DfResult;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use spirit_matching::Model;
use spirit_matching::model::PatternCount;

use crate::EngineError;
pub use crate::data::{DataHandle, DataSpec, Prepared, fingerprint};
use crate::pairs::{KeysExec, PairOptions, PairsExec, PairsTable, Score, Scoring, df_err};
use spirit_matching::blocking::{RuleMask, rule_in, with_rule};
use spirit_matching::settings::LinkType;

/// Pairs `(a, b, weight)` the plan scored at or above the edge floor.
pub type ScoredPairs = Vec<(u32, u32, f64)>;

/// Counts pairs as the plan processes them, for progress display.
pub type PairCounter = Arc<AtomicU64>;

fn plan_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Plan(e.to_string())
}

/// Makes the session the plan runs in. The default is DataFusion in this process;
/// `spirit-cluster` makes one whose queries run on a Ballista cluster.
pub trait SessionFactory: Send + Sync + std::fmt::Debug {
    /// A session for one run of `records` records; `runtime` is the run's tokio runtime.
    fn session(
        &self,
        runtime: &tokio::runtime::Runtime,
        records: u32,
    ) -> Result<SessionContext, EngineError>;

    /// A folder every node reads at the same path, where the client writes the run's
    /// prepared records for the executors; `None` for the folder of the first input.
    fn shared_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
}

/// What a SPIRIT table or plan node carries to another process: the data spec and
/// what the node is.
#[derive(Serialize, Deserialize)]
struct Shipped {
    data: DataSpec,
    node: Node,
}

#[derive(Serialize, Deserialize)]
enum Node {
    PairsTable {
        rule: usize,
        options: PairOptions,
        model: Option<Box<Model>>,
    },
    Keys {
        rule: usize,
        scale: u64,
        partitions: usize,
        projection: Option<Vec<usize>>,
    },
    Pairs {
        rule: usize,
        options: PairOptions,
        model: Option<Box<Model>>,
    },
}

fn model_of(scoring: &Option<Scoring>) -> Option<Box<Model>> {
    scoring.as_ref().map(|s| Box::new((*s.model).clone()))
}

/// Scoring on an executor: the shipped model, and a counter no one reads (the client
/// counts pairs by the plan's results).
fn scoring_of(model: Option<Box<Model>>) -> Option<Scoring> {
    model.map(|m| Scoring::new(Arc::new(*m), Arc::new(AtomicU64::new(0))))
}

fn ship(data: &DataHandle, node: Node) -> DfResult<Option<Vec<u8>>> {
    let data = data.spec().cloned().ok_or_else(|| {
        df_err("this run's data was not read from files, so it cannot run on a cluster")
    })?;
    serde_json::to_vec(&Shipped { data, node })
        .map(Some)
        .map_err(df_err)
}

fn unship(buf: &[u8]) -> DfResult<(Arc<DataHandle>, Node)> {
    let s: Shipped = serde_json::from_slice(buf)
        .map_err(|e| df_err(format!("a SPIRIT plan node could not be read: {e}")))?;
    Ok((DataHandle::from_spec(s.data), s.node))
}

/// The bytes of a SPIRIT pair table for a codec, or `None` for another table.
pub fn encode_table(table: &dyn TableProvider) -> DfResult<Option<Vec<u8>>> {
    let Some(t) = (table as &dyn std::any::Any).downcast_ref::<PairsTable>() else {
        return Ok(None);
    };
    let node = Node::PairsTable {
        rule: t.rule,
        options: t.options,
        model: model_of(&t.scoring),
    };
    ship(&t.data, node)
}

/// A pair table from [`encode_table`]'s bytes.
pub fn decode_table(buf: &[u8]) -> DfResult<Arc<dyn TableProvider>> {
    match unship(buf)? {
        (
            data,
            Node::PairsTable {
                rule,
                options,
                model,
            },
        ) => Ok(Arc::new(PairsTable::new(
            data,
            rule,
            options,
            scoring_of(model),
        ))),
        _ => Err(df_err("a SPIRIT table arrived as another node")),
    }
}

/// The bytes of a SPIRIT plan node (a key scan or a pair sweep) for a codec, or `None`
/// for another node.
pub fn encode_exec(plan: &dyn ExecutionPlan) -> DfResult<Option<Vec<u8>>> {
    if let Some(e) = plan.downcast_ref::<KeysExec>() {
        let node = Node::Keys {
            rule: e.rule,
            scale: e.scale,
            partitions: e.partitions,
            projection: e.projection.clone(),
        };
        return ship(&e.data, node);
    }
    if let Some(e) = plan.downcast_ref::<PairsExec>() {
        let node = Node::Pairs {
            rule: e.rule,
            options: e.options,
            model: model_of(&e.scoring),
        };
        return ship(&e.data, node);
    }
    Ok(None)
}

/// A SPIRIT plan node from [`encode_exec`]'s bytes and its decoded `inputs`.
pub fn decode_exec(
    buf: &[u8],
    inputs: &[Arc<dyn ExecutionPlan>],
) -> DfResult<Arc<dyn ExecutionPlan>> {
    match unship(buf)? {
        (
            data,
            Node::Keys {
                rule,
                scale,
                partitions,
                projection,
            },
        ) => Ok(Arc::new(KeysExec::new(
            data, rule, scale, partitions, projection,
        )?)),
        (
            data,
            Node::Pairs {
                rule,
                options,
                model,
            },
        ) => {
            let [input] = inputs else {
                return Err(df_err("a SPIRIT pair sweep arrived without its one input"));
            };
            Ok(Arc::new(PairsExec::new(
                data,
                rule,
                options,
                scoring_of(model),
                input.clone(),
            )))
        }
        _ => Err(df_err("a SPIRIT plan node arrived as another node")),
    }
}

/// The DataFusion session and the registered key tables of one run.
pub struct CandidatePlan {
    ctx: SessionContext,
    data: Arc<DataHandle>,
    rules: usize,
    link_type: LinkType,
    runtime: tokio::runtime::Runtime,
    /// The model the pair tables score with, once registered.
    scoring: Mutex<Option<Scoring>>,
    /// Rules left out of candidate generation (after training saw them).
    left_out: Mutex<RuleMask>,
}

impl CandidatePlan {
    /// Registers the key tables of `data` in a session made by `factory`, or in one of
    /// this process (with a memory pool of `memory_limit_mb`) when there is none.
    pub fn with_session(
        data: Arc<DataHandle>,
        link_type: LinkType,
        memory_limit_mb: usize,
        factory: Option<&dyn SessionFactory>,
    ) -> Result<CandidatePlan, EngineError> {
        let prepared = data
            .whole()
            .ok_or_else(|| EngineError::Plan("a plan needs the prepared table".into()))?;
        let rules = prepared.keys.rules.len();
        if rules > usize::from(u8::MAX) {
            return Err(EngineError::Invalid(format!(
                "{rules} blocking rules given; at most {} are supported",
                u8::MAX
            )));
        }
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .map_err(plan_err)?;
        let ctx = match factory {
            Some(f) => f.session(&runtime, prepared.table.len)?,
            None => {
                let runtime_env = RuntimeEnvBuilder::new()
                    .with_memory_limit(memory_limit_mb.max(64) * 1024 * 1024, 1.0)
                    .build_arc()
                    .map_err(plan_err)?;
                let config = SessionConfig::new()
                    .with_target_partitions(threads)
                    .with_batch_size(16 * 1024)
                    .with_information_schema(false);
                SessionContext::new_with_config_rt(config, runtime_env)
            }
        };
        let plan = CandidatePlan {
            ctx,
            data,
            rules,
            link_type,
            runtime,
            scoring: Mutex::new(None),
            left_out: Mutex::new(RuleMask::default()),
        };
        // One pair table per rule; only the pairs each rule is the first to propose.
        plan.register_pairs("pairs", true, &[], Score::None)?;
        Ok(plan)
    }

    /// Registers a pair table `{prefix}{r}` per rule (replacing any of that name):
    /// only the pairs each rule is the first to propose, or all with their flag; of the
    /// blocks whose key is 0 modulo `scale[r]` (1 when absent); scored as `score` says
    /// with the registered model.
    fn register_pairs(
        &self,
        prefix: &str,
        only_first: bool,
        scale: &[u64],
        score: Score,
    ) -> Result<(), EngineError> {
        let scoring = self
            .scoring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if score != Score::None && scoring.is_none() {
            return Err(EngineError::Plan(
                "pairs are scored only after a model is registered".into(),
            ));
        }
        let left_out = self.left_out();
        for r in 0..self.rules {
            let options = PairOptions {
                link: self.link_type == LinkType::Link,
                only_first,
                scale: scale.get(r).copied().unwrap_or(1).max(1),
                score,
                left_out,
            };
            let table = PairsTable::new(self.data.clone(), r, options, scoring.clone());
            let name = format!("{prefix}{r}");
            self.ctx.deregister_table(name.as_str()).map_err(plan_err)?;
            self.ctx
                .register_table(name, Arc::new(table))
                .map_err(plan_err)?;
        }
        Ok(())
    }

    /// SQL of the union of every rule's table `{prefix}{r}`: `(a, b, rule, first)` and
    /// `extra` (`w`, `p` or nothing) when the tables have it.
    fn union_sql(&self, prefix: &str, extra: Score) -> String {
        let (col, null) = match extra {
            Score::None => ("", ""),
            Score::Weight => (", w", ", CAST(NULL AS DOUBLE) AS w"),
            Score::Pattern => (", p", ", CAST(NULL AS BIGINT UNSIGNED) AS p"),
        };
        let left_out = self.left_out();
        let kept: Vec<usize> = (0..self.rules)
            .filter(|&r| !rule_in(&left_out, r))
            .collect();
        if kept.is_empty() {
            return format!(
                "SELECT CAST(NULL AS INT UNSIGNED) AS a, CAST(NULL AS INT UNSIGNED) AS b, \
                 CAST(NULL AS TINYINT UNSIGNED) AS rule, CAST(NULL AS BOOLEAN) AS first{null} \
                 WHERE FALSE"
            );
        }
        let parts: Vec<String> = kept
            .iter()
            .map(|r| format!("SELECT a, b, rule, first{col} FROM {prefix}{r}"))
            .collect();
        parts.join(" UNION ALL ")
    }

    fn left_out(&self) -> RuleMask {
        *self.left_out.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Leaves `rules` out of candidate generation from now on: their pairs are no
    /// longer made, and a pair one of them proposes counts as the first of the next
    /// rule still in use that proposes it (in every table registered after this call:
    /// call it once training has its histogram).
    pub fn leave_out(&self, rules: &[usize]) -> Result<(), EngineError> {
        {
            let mut mask = self.left_out.lock().unwrap_or_else(|e| e.into_inner());
            for &r in rules {
                *mask = with_rule(*mask, r);
            }
        }
        let score = if self
            .scoring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            Score::Weight
        } else {
            Score::None
        };
        self.register_pairs("pairs", true, &[], score)
    }

    /// Registers the model the pair tables score with (and `counter`, which counts the
    /// pairs scored in this process): the scoring tables `pairs{r}` now carry `w`.
    pub fn register_model(
        &self,
        model: Arc<Model>,
        counter: PairCounter,
    ) -> Result<(), EngineError> {
        *self.scoring.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Scoring::new(model, counter));
        self.register_pairs("pairs", true, &[], Score::Weight)
    }

    /// The histogram of agreement patterns over the training strata, computed by the
    /// plan (`GROUP BY` over the patterns the sweeps score): for each rule, its pairs — when the rule
    /// proposes many, those of a sample of its blocks (every block whose key is 0 modulo
    /// `scale[r]`, about one in `scale[r]`). Sampling blocks, not pairs, drops keys
    /// before any pair is made.
    pub fn pattern_histogram(&self, scale: &[u64]) -> Result<Vec<PatternCount>, EngineError> {
        self.register_pairs("sample", false, scale, Score::Pattern)?;
        let sql = format!(
            "SELECT rule, first, p, COUNT(*) AS n FROM ({}) GROUP BY rule, first, p",
            self.union_sql("sample", Score::Pattern)
        );
        let batches = self.collect(&sql)?;
        let mut out = Vec::new();
        for b in &batches {
            let rule = column::<UInt8Array>(b, 0)?;
            let first = column::<BooleanArray>(b, 1)?;
            let p = column::<UInt64Array>(b, 2)?;
            let n = column::<Int64Array>(b, 3)?;
            for i in 0..b.num_rows() {
                out.push(PatternCount {
                    rule: rule.value(i),
                    first: first.value(i),
                    pattern: p.value(i),
                    count: n.value(i) as u64,
                });
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Pairs whose match weight is at least `floor_weight`, with that weight, and the
    /// number of candidate pairs scored for each rule (the pairs it was the first to
    /// propose).
    pub fn edges(&self, floor_weight: f64) -> Result<(ScoredPairs, Vec<u64>), EngineError> {
        // The weight is computed once per pair in the plan. Pairs under the floor
        // collapse into one group per rule that only counts them, so only edges (and a
        // count per rule and partition) leave the plan, wherever it runs.
        let above = if floor_weight.is_finite() {
            format!("w >= {floor_weight:e}")
        } else if floor_weight < 0.0 {
            "TRUE".into()
        } else {
            "FALSE".into()
        };
        let sql = format!(
            "SELECT CASE WHEN e THEN a END AS a, CASE WHEN e THEN b END AS b, \
             CASE WHEN e THEN w END AS w, rule, COUNT(*) AS n FROM \
             (SELECT a, b, w, rule, {above} AS e FROM ({})) \
             GROUP BY 1, 2, 3, 4",
            self.union_sql("pairs", Score::Weight)
        );
        let mut out = Vec::new();
        let mut scored = vec![0u64; self.rules];
        self.stream(&sql, |batch| {
            let (a, b, w) = (
                column::<UInt32Array>(batch, 0)?,
                column::<UInt32Array>(batch, 1)?,
                column::<Float64Array>(batch, 2)?,
            );
            let rule = column::<UInt8Array>(batch, 3)?;
            let n = column::<Int64Array>(batch, 4)?;
            for i in 0..batch.num_rows() {
                if let Some(s) = scored.get_mut(usize::from(rule.value(i))) {
                    *s += n.value(i) as u64;
                }
                if w.is_valid(i) && w.value(i) >= floor_weight {
                    out.push((a.value(i), b.value(i), w.value(i)));
                }
            }
            Ok(())
        })?;
        out.sort_unstable_by_key(|x| (x.0, x.1));
        Ok((out, scored))
    }

    fn stream(
        &self,
        sql: &str,
        mut each: impl FnMut(&RecordBatch) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        self.runtime.block_on(async {
            let df = self.ctx.sql(sql).await.map_err(plan_err)?;
            let mut stream = df.execute_stream().await.map_err(plan_err)?;
            while let Some(batch) = stream.next().await {
                each(&batch.map_err(plan_err)?)?;
            }
            Ok(())
        })
    }

    /// Streams every candidate pair to `sink` (for `--keep-candidates`).
    pub fn for_each_candidate(
        &self,
        mut sink: impl FnMut(u32, u32) -> Result<(), EngineError>,
    ) -> Result<u64, EngineError> {
        self.register_pairs("candidates", true, &[], Score::None)?;
        let sql = format!(
            "SELECT a, b FROM ({})",
            self.union_sql("candidates", Score::None)
        );
        let mut n = 0u64;
        self.stream(&sql, |batch| {
            let (a, b) = (
                column::<UInt32Array>(batch, 0)?,
                column::<UInt32Array>(batch, 1)?,
            );
            for i in 0..batch.num_rows() {
                sink(a.value(i), b.value(i))?;
                n += 1;
            }
            Ok(())
        })?;
        Ok(n)
    }

    fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>, EngineError> {
        self.runtime.block_on(async {
            let df = self.ctx.sql(sql).await.map_err(plan_err)?;
            df.collect().await.map_err(plan_err)
        })
    }
}

impl Drop for CandidatePlan {
    /// Removes the prepared records written for a cluster's executors: the plan, the
    /// only reader, is gone.
    fn drop(&mut self) {
        if let Some(spec) = self.data.spec() {
            crate::shard::remove(&spec.shared);
        }
    }
}

fn column<T: 'static>(batch: &RecordBatch, i: usize) -> Result<&T, EngineError> {
    batch
        .column(i)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| EngineError::Plan(format!("column {i} has an unexpected type")))
}
