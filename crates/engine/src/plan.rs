//! Candidate generation and scoring as an Apache DataFusion plan.
//!
//! Each blocking rule's keys form a small table `keys{r}(idx, src, k)`; each rule is a
//! self hash-join on `k`. A pair that an earlier rule proposes too is not scored again
//! (the UDFs know every rule's keys), so every candidate pair is scored exactly once
//! without a global distinct. SPIRIT's comparison kernels are registered as scalar UDFs:
//! `spirit_pattern(a, b, rule)` returns the packed agreement pattern (for EM, over
//! per-rule training strata, aggregated by `GROUP BY` so training works on counts) and
//! `spirit_weight(a, b, rule)` the match weight (for scoring, filtered at the edge floor
//! so only edges leave the plan). The session runs with a memory limit; operators that
//! can spill do so.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use rayon::prelude::*;
use spirit_matching::blocking::BlockKeys;
use spirit_matching::model::PatternCount;
use spirit_matching::{Model, RecordTable, Scorer};

use crate::EngineError;
use crate::settings::LinkType;

/// Counts pairs as the plan processes them, for progress display.
pub type PairCounter = Arc<AtomicU64>;

fn plan_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Plan(e.to_string())
}

/// The DataFusion session and the registered key table of one run.
pub struct CandidatePlan {
    ctx: SessionContext,
    rules: usize,
    link_type: LinkType,
    runtime: tokio::runtime::Runtime,
}

impl CandidatePlan {
    /// Registers the key table. `memory_limit_mb` bounds the plan's memory pool.
    pub fn new(
        table: &RecordTable,
        keys: &BlockKeys,
        link_type: LinkType,
        memory_limit_mb: usize,
    ) -> Result<CandidatePlan, EngineError> {
        if keys.rules.len() > usize::from(u8::MAX) {
            return Err(EngineError::Invalid(format!(
                "{} blocking rules given; at most {} are supported",
                keys.rules.len(),
                u8::MAX
            )));
        }
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .map_err(plan_err)?;
        let runtime_env = RuntimeEnvBuilder::new()
            .with_memory_limit(memory_limit_mb.max(64) * 1024 * 1024, 1.0)
            .build_arc()
            .map_err(plan_err)?;
        let config = SessionConfig::new()
            .with_target_partitions(threads)
            .with_batch_size(16 * 1024)
            .with_information_schema(false);
        let ctx = SessionContext::new_with_config_rt(config, runtime_env);

        // One small table per rule — (idx, src, k) of the records that have a key for
        // it — so each join builds its hash table over one key column only.
        let schema = Arc::new(Schema::new(vec![
            Field::new("idx", DataType::UInt32, false),
            Field::new("src", DataType::UInt16, false),
            Field::new("k", DataType::UInt64, false),
        ]));
        for (r, rule_keys) in keys.keys.iter().enumerate() {
            let rows: Vec<(u32, u64)> = rule_keys
                .iter()
                .enumerate()
                .filter_map(|(i, k)| k.map(|k| (i as u32, k)))
                .collect();
            let chunk = rows.len().div_ceil(threads.max(1)).max(1);
            let mut partitions = Vec::new();
            for part in rows.chunks(chunk) {
                let cols: Vec<ArrayRef> = vec![
                    Arc::new(UInt32Array::from_iter_values(part.iter().map(|p| p.0))),
                    Arc::new(UInt16Array::from_iter_values(
                        part.iter().map(|p| table.sources[p.0 as usize]),
                    )),
                    Arc::new(UInt64Array::from_iter_values(part.iter().map(|p| p.1))),
                ];
                let batch = RecordBatch::try_new(schema.clone(), cols).map_err(plan_err)?;
                partitions.push(vec![batch]);
            }
            if partitions.is_empty() {
                partitions.push(vec![RecordBatch::new_empty(schema.clone())]);
            }
            let mem = MemTable::try_new(schema.clone(), partitions).map_err(plan_err)?;
            ctx.register_table(format!("keys{r}"), Arc::new(mem))
                .map_err(plan_err)?;
        }
        Ok(CandidatePlan {
            ctx,
            rules: keys.rules.len(),
            link_type,
            runtime,
        })
    }

    /// SQL producing, for each rule, its pairs `(a, b)`, `a < b`, with the rule's
    /// index — a pair appears once per rule that proposes it; `spirit_first(a, b, rule)`
    /// tells the one rule that counts it.
    pub fn rule_pairs_sql(&self) -> String {
        self.rules_sql(None)
    }

    /// SQL producing the training strata: for each rule, its pairs (every `scale[r]`-th
    /// of them, by a hash of the pair, when the rule proposes many).
    pub fn training_sql(&self, scale: &[u64]) -> String {
        self.rules_sql(Some(scale))
    }

    fn rules_sql(&self, training: Option<&[u64]>) -> String {
        if self.rules == 0 {
            return "SELECT CAST(NULL AS INT UNSIGNED) AS a, CAST(NULL AS INT UNSIGNED) AS b, \
                    CAST(NULL AS TINYINT UNSIGNED) AS rule WHERE FALSE"
                .into();
        }
        let mut parts = Vec::new();
        for r in 0..self.rules {
            let mut cond = vec!["l.idx < r.idx".to_string()];
            if self.link_type == LinkType::Link {
                cond.push("l.src <> r.src".into());
            }
            if let Some(scale) = training {
                let m = scale.get(r).copied().unwrap_or(1).max(1);
                if m > 1 {
                    cond.push(format!(
                        "(CAST(l.idx AS BIGINT) * 40503 + CAST(r.idx AS BIGINT) * 7) % {m} = 0"
                    ));
                }
            }
            parts.push(format!(
                "SELECT l.idx AS a, r.idx AS b, CAST({r} AS TINYINT UNSIGNED) AS rule \
                 FROM keys{r} l JOIN keys{r} r ON l.k = r.k WHERE {}",
                cond.join(" AND ")
            ));
        }
        parts.join(" UNION ALL ")
    }

    /// Registers the scoring UDFs for a model over a table and its block keys.
    pub fn register_model(
        &self,
        table: Arc<RecordTable>,
        keys: Arc<BlockKeys>,
        model: Arc<Model>,
        counter: PairCounter,
    ) {
        let kernel = Kernel {
            table,
            keys,
            model,
            counter,
        };
        self.ctx.register_udf(ScalarUDF::from(SpiritUdf::new(
            "spirit_pattern",
            kernel.clone(),
        )));
        self.ctx.register_udf(ScalarUDF::from(SpiritUdf::new(
            "spirit_weight",
            kernel.clone(),
        )));
        self.ctx
            .register_udf(ScalarUDF::from(SpiritUdf::new("spirit_first", kernel)));
    }

    /// The histogram of agreement patterns over all candidate pairs, computed by the
    /// plan (`GROUP BY` over the pattern UDF).
    pub fn pattern_histogram(&self, scale: &[u64]) -> Result<Vec<PatternCount>, EngineError> {
        let sql = format!(
            "SELECT rule, p, COUNT(*) AS n FROM \
             (SELECT rule, spirit_pattern(a, b, rule) AS p FROM ({})) GROUP BY rule, p",
            self.training_sql(scale)
        );
        let batches = self.collect(&sql)?;
        let mut out = Vec::new();
        for b in &batches {
            let rule = column::<UInt8Array>(b, 0)?;
            let p = column::<UInt64Array>(b, 1)?;
            let n = b.column(2);
            let n = n
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .ok_or_else(|| EngineError::Plan("count column has an unexpected type".into()))?;
            for i in 0..b.num_rows() {
                out.push(PatternCount {
                    rule: rule.value(i),
                    first: p.value(i) & FIRST_BIT != 0,
                    pattern: p.value(i) & !FIRST_BIT,
                    count: n.value(i) as u64,
                });
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Pairs whose match weight is at least `floor_weight`, with that weight.
    pub fn edges(&self, floor_weight: f64) -> Result<Vec<(u32, u32, f64)>, EngineError> {
        // The weight is computed once per pair in the plan; the floor is applied as the
        // batches stream out, so only edges are ever held in memory.
        let sql = format!(
            "SELECT a, b, spirit_weight(a, b, rule) AS w FROM ({})",
            self.rule_pairs_sql()
        );
        let mut out = Vec::new();
        self.stream(&sql, |batch| {
            let (a, b, w) = (
                column::<UInt32Array>(batch, 0)?,
                column::<UInt32Array>(batch, 1)?,
                column::<Float64Array>(batch, 2)?,
            );
            for i in 0..batch.num_rows() {
                if w.is_valid(i) && w.value(i) >= floor_weight {
                    out.push((a.value(i), b.value(i), w.value(i)));
                }
            }
            Ok(())
        })?;
        out.sort_unstable_by_key(|x| (x.0, x.1));
        Ok(out)
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
        let sql = format!(
            "SELECT a, b FROM ({}) WHERE spirit_first(a, b, rule)",
            self.rule_pairs_sql()
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

fn column<T: 'static>(batch: &RecordBatch, i: usize) -> Result<&T, EngineError> {
    batch
        .column(i)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| EngineError::Plan(format!("column {i} has an unexpected type")))
}

/// What the UDFs share: the prepared table, the model and a progress counter.
#[derive(Clone)]
struct Kernel {
    table: Arc<RecordTable>,
    keys: Arc<BlockKeys>,
    model: Arc<Model>,
    counter: PairCounter,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("records", &self.table.len)
            .finish()
    }
}

/// Bit set in `spirit_pattern`'s result when the pair's rule is the first rule that
/// proposes it (no earlier rule's key agrees), so each candidate is counted once.
const FIRST_BIT: u64 = 1 << 63;

/// A SPIRIT kernel as a DataFusion scalar UDF over `(a UInt32, b UInt32, rule UInt8)`:
/// two record indices and the rule that proposed the pair.
/// - `spirit_pattern` → UInt64, the packed agreement pattern (with [`FIRST_BIT`]);
/// - `spirit_weight` → Float64, the match weight, NULL when an earlier rule proposes
///   the pair too (so it is scored once);
/// - `spirit_first` → Boolean, whether `rule` is the first rule proposing the pair.
#[derive(Debug)]
struct SpiritUdf {
    name: &'static str,
    signature: Signature,
    kernel: Kernel,
}

impl SpiritUdf {
    fn new(name: &'static str, kernel: Kernel) -> SpiritUdf {
        let args = vec![DataType::UInt32, DataType::UInt32, DataType::UInt8];
        // Volatile, although the kernels are pure: it keeps the optimiser from copying a
        // call into both a filter and a projection, which would score every pair twice.
        let signature = Signature::exact(args, Volatility::Volatile);
        SpiritUdf {
            name,
            signature,
            kernel,
        }
    }
}

impl PartialEq for SpiritUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && Arc::ptr_eq(&self.kernel.table, &other.kernel.table)
            && Arc::ptr_eq(&self.kernel.model, &other.kernel.model)
    }
}

impl Eq for SpiritUdf {}

impl Hash for SpiritUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for SpiritUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(match self.name {
            "spirit_pattern" => DataType::UInt64,
            "spirit_first" => DataType::Boolean,
            _ => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let as_u32 = |a: &ArrayRef| -> DfResult<UInt32Array> {
            a.as_any()
                .downcast_ref::<UInt32Array>()
                .cloned()
                .ok_or_else(|| {
                    DataFusionError::Internal(format!("{} expects UInt32 arguments", self.name))
                })
        };
        let (a, b) = (as_u32(&arrays[0])?, as_u32(&arrays[1])?);
        let rules = arrays[2]
            .as_any()
            .downcast_ref::<UInt8Array>()
            .ok_or_else(|| {
                DataFusionError::Internal(format!("{} expects a UInt8 rule", self.name))
            })?
            .values();
        let n = a.len();
        let (av, bv) = (a.values(), b.values());
        let keys = &self.kernel.keys;
        let first = |i: usize| -> bool { keys.is_first(av[i], bv[i], usize::from(rules[i])) };
        if self.name == "spirit_first" {
            let v: BooleanArray = (0..n).map(|i| Some(first(i))).collect();
            return Ok(ColumnarValue::Array(Arc::new(v)));
        }
        let scorer = Scorer::new((*self.kernel.model).clone(), &self.kernel.table);
        let out: ArrayRef = if self.name == "spirit_pattern" {
            self.kernel.counter.fetch_add(n as u64, Ordering::Relaxed);
            let v: Vec<u64> = (0..n)
                .into_par_iter()
                .with_min_len(1024)
                .map(|i| {
                    let p = scorer.pattern(av[i], bv[i]);
                    if first(i) { p | FIRST_BIT } else { p }
                })
                .collect();
            Arc::new(UInt64Array::from(v))
        } else {
            let v: Vec<Option<f64>> = (0..n)
                .into_par_iter()
                .with_min_len(1024)
                .map(|i| first(i).then(|| scorer.weight(av[i], bv[i])))
                .collect();
            let scored = v.iter().filter(|w| w.is_some()).count();
            self.kernel
                .counter
                .fetch_add(scored as u64, Ordering::Relaxed);
            Arc::new(Float64Array::from(v))
        };
        Ok(ColumnarValue::Array(out))
    }
}
