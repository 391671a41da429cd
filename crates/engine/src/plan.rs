//! Candidate generation and scoring as an Apache DataFusion plan.
//!
//! Each blocking rule's pairs form a table `pairs{r}(a, b, rule, first)`
//! ([`PairsTable`]): its keys hash-partitioned by key, each partition sorted and swept
//! block by block (the `pairs` module). A pair that an earlier rule proposes too is
//! flagged (`first = false`) or left out, so every candidate pair is scored exactly once
//! without a global distinct. SPIRIT's comparison kernels are registered as scalar UDFs:
//! `spirit_pattern(a, b)` returns the packed agreement pattern (for EM, over per-rule
//! training strata, aggregated by `GROUP BY` so training works on counts) and
//! `spirit_weight(a, b)` the match weight (for scoring, filtered at the edge floor so
//! only edges leave the plan). The session runs with a memory limit; operators that can
//! spill do so.
//!
//! The same plan runs in this process or on a cluster ([`SessionFactory`]): the pair
//! tables, their plan nodes and the UDFs carry a [`DataSpec`] (where the inputs are and
//! the settings) and the model, so an executor elsewhere rebuilds the prepared table
//! from the same files with the same code ([`DataHandle::get`]) and checks it is the
//! table the client has (a fingerprint), and [`encode_table`] / [`encode_exec`] /
//! [`encode_udf`] give the bytes a distributed engine's codec ships.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, UInt8Array, UInt32Array, UInt64Array,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use spirit_matching::model::BatchScorer;
use spirit_matching::model::PatternCount;
use spirit_matching::{Model, Scorer};

use crate::EngineError;
pub use crate::data::{DataHandle, DataSpec, Prepared, fingerprint};
use crate::pairs::{KeysExec, PairOptions, PairsExec, PairsTable, df_err};
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
    /// A session for one run; `runtime` is the run's tokio runtime.
    fn session(&self, runtime: &tokio::runtime::Runtime) -> Result<SessionContext, EngineError>;
}

/// What a SPIRIT table, plan node or UDF carries to another process: the data spec and
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
    },
    Udf {
        name: String,
        model: Box<Model>,
    },
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
    };
    ship(&t.data, node)
}

/// A pair table from [`encode_table`]'s bytes.
pub fn decode_table(buf: &[u8]) -> DfResult<Arc<dyn TableProvider>> {
    match unship(buf)? {
        (data, Node::PairsTable { rule, options }) => {
            Ok(Arc::new(PairsTable::new(data, rule, options)))
        }
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
        (data, Node::Pairs { rule, options }) => {
            let [input] = inputs else {
                return Err(df_err("a SPIRIT pair sweep arrived without its one input"));
            };
            Ok(Arc::new(PairsExec::new(data, rule, options, input.clone())))
        }
        _ => Err(df_err("a SPIRIT plan node arrived as another node")),
    }
}

/// The bytes of a SPIRIT UDF (its data spec and model) for a codec, or `None` for
/// another function.
pub fn encode_udf(udf: &ScalarUDF) -> DfResult<Option<Vec<u8>>> {
    let Some(u) = udf.inner().downcast_ref::<SpiritUdf>() else {
        return Ok(None);
    };
    let node = Node::Udf {
        name: u.name.to_string(),
        model: Box::new((*u.kernel.model).clone()),
    };
    ship(&u.kernel.data, node)
}

/// A SPIRIT UDF from [`encode_udf`]'s bytes; `Ok(None)` when the bytes are not one.
pub fn decode_udf(name: &str, buf: &[u8]) -> DfResult<Option<Arc<ScalarUDF>>> {
    let Some(known) = UDF_NAMES.iter().find(|n| **n == name) else {
        return Ok(None);
    };
    let (data, Node::Udf { model, .. }) = unship(buf)? else {
        return Err(df_err(format!("{name} arrived as another node")));
    };
    let kernel = Kernel::new(data, Arc::new(*model), Arc::new(AtomicU64::new(0)));
    Ok(Some(Arc::new(ScalarUDF::from(SpiritUdf::new(
        known, kernel,
    )))))
}

const UDF_NAMES: [&str; 2] = ["spirit_pattern", "spirit_weight"];

/// The DataFusion session and the registered key tables of one run.
pub struct CandidatePlan {
    ctx: SessionContext,
    data: Arc<DataHandle>,
    rules: usize,
    link_type: LinkType,
    runtime: tokio::runtime::Runtime,
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
        let prepared = data.get()?;
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
            Some(f) => f.session(&runtime)?,
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
        };
        // One pair table per rule; only the pairs each rule is the first to propose.
        plan.register_pairs("pairs", true, &[])?;
        Ok(plan)
    }

    /// Registers a pair table `{prefix}{r}` per rule (replacing any of that name):
    /// only the pairs each rule is the first to propose, or all with their flag; of the
    /// blocks whose key is 0 modulo `scale[r]` (1 when absent).
    fn register_pairs(
        &self,
        prefix: &str,
        only_first: bool,
        scale: &[u64],
    ) -> Result<(), EngineError> {
        for r in 0..self.rules {
            let options = PairOptions {
                link: self.link_type == LinkType::Link,
                only_first,
                scale: scale.get(r).copied().unwrap_or(1).max(1),
            };
            let table = PairsTable::new(self.data.clone(), r, options);
            self.ctx
                .register_table(format!("{prefix}{r}"), Arc::new(table))
                .map_err(plan_err)?;
        }
        Ok(())
    }

    /// SQL of the union of every rule's table `{prefix}{r}`: `(a, b, rule, first)`.
    fn union_sql(&self, prefix: &str) -> String {
        if self.rules == 0 {
            return "SELECT CAST(NULL AS INT UNSIGNED) AS a, CAST(NULL AS INT UNSIGNED) AS b, \
                    CAST(NULL AS TINYINT UNSIGNED) AS rule, CAST(NULL AS BOOLEAN) AS first \
                    WHERE FALSE"
                .into();
        }
        let parts: Vec<String> = (0..self.rules)
            .map(|r| format!("SELECT a, b, rule, first FROM {prefix}{r}"))
            .collect();
        parts.join(" UNION ALL ")
    }

    /// Registers the scoring UDFs for a model over the plan's data.
    pub fn register_model(&self, model: Arc<Model>, counter: PairCounter) {
        let kernel = Kernel::new(self.data.clone(), model, counter);
        for name in UDF_NAMES {
            self.ctx
                .register_udf(ScalarUDF::from(SpiritUdf::new(name, kernel.clone())));
        }
    }

    /// The histogram of agreement patterns over the training strata, computed by the
    /// plan (`GROUP BY` over the pattern UDF): for each rule, its pairs — when the rule
    /// proposes many, those of a sample of its blocks (every block whose key is 0 modulo
    /// `scale[r]`, about one in `scale[r]`). Sampling blocks, not pairs, drops keys
    /// before any pair is made.
    pub fn pattern_histogram(&self, scale: &[u64]) -> Result<Vec<PatternCount>, EngineError> {
        self.register_pairs("sample", false, scale)?;
        let sql = format!(
            "SELECT rule, first, p, COUNT(*) AS n FROM \
             (SELECT rule, first, spirit_pattern(a, b) AS p FROM ({})) GROUP BY rule, first, p",
            self.union_sql("sample")
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
    /// number of candidate pairs scored.
    pub fn edges(&self, floor_weight: f64) -> Result<(ScoredPairs, u64), EngineError> {
        // The weight is computed once per pair in the plan. Pairs under the floor
        // collapse into one group that only counts them, so only edges (and one count
        // per partition) leave the plan, wherever it runs.
        let above = if floor_weight.is_finite() {
            format!("w >= {floor_weight:e}")
        } else if floor_weight < 0.0 {
            "TRUE".into()
        } else {
            "FALSE".into()
        };
        let sql = format!(
            "SELECT CASE WHEN e THEN a END AS a, CASE WHEN e THEN b END AS b, \
             CASE WHEN e THEN w END AS w, COUNT(*) AS n FROM \
             (SELECT a, b, w, {above} AS e FROM \
             (SELECT a, b, spirit_weight(a, b) AS w FROM ({}))) \
             GROUP BY 1, 2, 3",
            self.union_sql("pairs")
        );
        let mut out = Vec::new();
        let mut scored = 0u64;
        self.stream(&sql, |batch| {
            let (a, b, w) = (
                column::<UInt32Array>(batch, 0)?,
                column::<UInt32Array>(batch, 1)?,
                column::<Float64Array>(batch, 2)?,
            );
            let n = column::<Int64Array>(batch, 3)?;
            for i in 0..batch.num_rows() {
                scored += n.value(i) as u64;
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
        let sql = format!("SELECT a, b FROM ({})", self.union_sql("pairs"));
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

/// What the UDFs share: the prepared data, the model, a progress counter and the
/// batch scorer built from the model and the data on first use.
#[derive(Clone)]
struct Kernel {
    data: Arc<DataHandle>,
    model: Arc<Model>,
    counter: PairCounter,
    scorer: Arc<OnceLock<BatchScorer>>,
}

impl Kernel {
    fn new(data: Arc<DataHandle>, model: Arc<Model>, counter: PairCounter) -> Kernel {
        Kernel {
            data,
            model,
            counter,
            scorer: Arc::new(OnceLock::new()),
        }
    }

    /// The batch scorer of the model over `prepared` (built once: its term-frequency
    /// tables cover every value of the compared columns).
    fn scorer(&self, prepared: &Prepared) -> &BatchScorer {
        self.scorer
            .get_or_init(|| BatchScorer::new(&Scorer::new((*self.model).clone(), &prepared.table)))
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("data", &self.data).finish()
    }
}

/// A SPIRIT kernel as a DataFusion scalar UDF over `(a UInt32, b UInt32)`, two record
/// indices:
/// - `spirit_pattern` → UInt64, the packed agreement pattern;
/// - `spirit_weight` → Float64, the match weight.
#[derive(Debug)]
struct SpiritUdf {
    name: &'static str,
    signature: Signature,
    kernel: Kernel,
}

impl SpiritUdf {
    fn new(name: &'static str, kernel: Kernel) -> SpiritUdf {
        let args = vec![DataType::UInt32, DataType::UInt32];
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
            && Arc::ptr_eq(&self.kernel.data, &other.kernel.data)
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
        let (av, bv) = (a.values(), b.values());
        let prepared = self.kernel.data.get().map_err(df_err)?;
        let scorer = self.kernel.scorer(&prepared);
        let table = &prepared.table;
        self.kernel
            .counter
            .fetch_add(av.len() as u64, Ordering::Relaxed);
        let out: ArrayRef = if self.name == "spirit_pattern" {
            let mut v = Vec::new();
            scorer.patterns(table, av, bv, &mut v);
            Arc::new(UInt64Array::from(v))
        } else {
            let mut w = Vec::new();
            scorer.weights(table, av, bv, &mut w);
            Arc::new(Float64Array::from(w))
        };
        Ok(ColumnarValue::Array(out))
    }
}
