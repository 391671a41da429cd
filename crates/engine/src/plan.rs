//! Candidate generation and scoring as an Apache DataFusion plan.
//!
//! Each blocking rule's keys form a small table `keys{r}(idx, src, k)` ([`KeysTable`],
//! scanned by [`KeysExec`]); each rule is a self hash-join on `k`. A pair that an earlier
//! rule proposes too is not scored again (the UDFs know every rule's keys), so every
//! candidate pair is scored exactly once without a global distinct. SPIRIT's comparison
//! kernels are registered as scalar UDFs: `spirit_pattern(a, b, rule)` returns the packed
//! agreement pattern (for EM, over per-rule training strata, aggregated by `GROUP BY` so
//! training works on counts) and `spirit_weight(a, b, rule)` the match weight (for
//! scoring, filtered at the edge floor so only edges leave the plan). The session runs
//! with a memory limit; operators that can spill do so.
//!
//! The same plan runs in this process or on a cluster ([`SessionFactory`]): the key
//! tables and the UDFs carry a [`DataSpec`] (where the inputs are and the settings) and
//! the model, so an executor elsewhere rebuilds the prepared table from the same files
//! with the same code ([`DataHandle::get`]) and checks it is the table the client has
//! (a fingerprint), and [`encode_udf`] / [`encode_keys_table`] / [`encode_keys_exec`]
//! give the bytes a distributed engine's codec ships.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, UInt8Array, UInt16Array, UInt32Array,
    UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TableType,
    Volatility,
};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use spirit_matching::blocking::BlockKeys;
use spirit_matching::model::BatchScorer;
use spirit_matching::model::PatternCount;
use spirit_matching::{CardKey, Model, RecordTable, Scorer};
use spirit_model::RecordKey;

use crate::EngineError;
use spirit_matching::settings::{LinkType, Settings};

/// Pairs `(a, b, weight)` the plan scored at or above the edge floor.
pub type ScoredPairs = Vec<(u32, u32, f64)>;

/// Counts pairs as the plan processes them, for progress display.
pub type PairCounter = Arc<AtomicU64>;

fn plan_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Plan(e.to_string())
}

fn df_err(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(e.to_string())
}

/// Makes the session the plan runs in. The default is DataFusion in this process;
/// `spirit-cluster` makes one whose queries run on a Ballista cluster.
pub trait SessionFactory: Send + Sync + std::fmt::Debug {
    /// A session for one run; `runtime` is the run's tokio runtime.
    fn session(&self, runtime: &tokio::runtime::Runtime) -> Result<SessionContext, EngineError>;
}

/// Where a run's prepared data comes from, so that an executor on another machine can
/// rebuild it: the inputs (absolute paths every executor can read), the settings, the id
/// column and the run's payment-card key (so executors hash cards as the client did; its
/// `Debug` form hides it), with the record count and a fingerprint of the table the
/// client prepared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// SPIRIT's version: every node must run the same kernels.
    pub version: String,
    pub inputs: Vec<PathBuf>,
    pub settings: Settings,
    pub id_column: Option<String>,
    pub card_key: CardKey,
    pub records: u32,
    pub fingerprint: u64,
}

/// The prepared table and its block keys.
pub struct Prepared {
    pub table: Arc<RecordTable>,
    pub keys: Arc<BlockKeys>,
}

/// A run's prepared data: present where the run was prepared (the client, the embedded
/// path), rebuilt from its [`DataSpec`] on first use elsewhere (an executor).
pub struct DataHandle {
    spec: Option<DataSpec>,
    data: OnceLock<Arc<Prepared>>,
}

impl std::fmt::Debug for DataHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataHandle")
            .field("records", &self.spec.as_ref().map(|s| s.records))
            .field("ready", &self.data.get().is_some())
            .finish()
    }
}

/// Prepared tables this process rebuilt from specs, newest last (an executor serves
/// one run's training and scoring jobs from one preparation).
static REBUILT: Mutex<Vec<(DataSpec, Arc<Prepared>)>> = Mutex::new(Vec::new());
const REBUILT_KEPT: usize = 2;

impl DataHandle {
    /// Data prepared in this process; `spec` says how to rebuild it elsewhere.
    pub fn ready(
        table: Arc<RecordTable>,
        keys: Arc<BlockKeys>,
        spec: Option<DataSpec>,
    ) -> Arc<DataHandle> {
        let data = OnceLock::new();
        let _ = data.set(Arc::new(Prepared { table, keys }));
        Arc::new(DataHandle { spec, data })
    }

    /// Data to rebuild from `spec` when first used.
    pub fn from_spec(spec: DataSpec) -> Arc<DataHandle> {
        Arc::new(DataHandle {
            spec: Some(spec),
            data: OnceLock::new(),
        })
    }

    /// How to rebuild the data, if it can be.
    pub fn spec(&self) -> Option<&DataSpec> {
        self.spec.as_ref()
    }

    /// The prepared data, rebuilt from the spec (once per process) if needed.
    pub fn get(&self) -> Result<Arc<Prepared>, EngineError> {
        if let Some(d) = self.data.get() {
            return Ok(d.clone());
        }
        let spec = self
            .spec
            .as_ref()
            .ok_or_else(|| EngineError::Plan("a key table without data or spec".into()))?;
        let mut rebuilt = REBUILT.lock().unwrap_or_else(|e| e.into_inner());
        let found = rebuilt
            .iter()
            .find(|(s, _)| s == spec)
            .map(|(_, p)| p.clone());
        let prepared = match found {
            Some(p) => p,
            None => {
                let p = Arc::new(rebuild(spec)?);
                rebuilt.push((spec.clone(), p.clone()));
                let excess = rebuilt.len().saturating_sub(REBUILT_KEPT);
                rebuilt.drain(..excess);
                p
            }
        };
        let _ = self.data.set(prepared.clone());
        Ok(prepared)
    }
}

/// Rebuilds a run's prepared table from its spec, with the same code the client ran,
/// and refuses a table that is not the client's.
fn rebuild(spec: &DataSpec) -> Result<Prepared, EngineError> {
    let here = env!("CARGO_PKG_VERSION");
    if spec.version != here {
        return Err(EngineError::Plan(format!(
            "the client runs SPIRIT {} and this executor SPIRIT {here}; every node must run the same version",
            spec.version
        )));
    }
    let loaded = crate::prepare::load(
        &spec.inputs,
        &spec.settings,
        spec.id_column.as_deref(),
        spec.card_key,
        &spirit_model::NoProgress,
    )?;
    let rules = crate::prepare::blocking_rules(&spec.settings, &loaded.table)?;
    let keys = BlockKeys::compute(&loaded.table, rules, spec.settings.resolve.max_block_size);
    let fp = fingerprint(&loaded.keys, &loaded.table, &keys);
    if loaded.table.len != spec.records || fp != spec.fingerprint {
        let inputs: Vec<String> = spec
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(EngineError::Plan(format!(
            "this executor read {} records from {} but the client prepared {} (or their content differs): \
             every executor must read the same files at the same paths as the client",
            loaded.table.len,
            inputs.join(", "),
            spec.records
        )));
    }
    Ok(Prepared {
        table: Arc::new(loaded.table),
        keys: Arc::new(keys),
    })
}

/// A fingerprint of a prepared table: its record keys, sources and every rule's block
/// keys (which derive from the normalised values). Stable within one SPIRIT build.
pub fn fingerprint(record_keys: &[RecordKey], table: &RecordTable, keys: &BlockKeys) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    table.len.hash(&mut h);
    for k in record_keys {
        k.source.hash(&mut h);
        k.record_id.hash(&mut h);
    }
    table.sources.hash(&mut h);
    for rule in &keys.keys {
        rule.hash(&mut h);
    }
    h.finish()
}

/// The schema of every key table.
fn keys_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("idx", DataType::UInt32, false),
        Field::new("src", DataType::UInt16, false),
        Field::new("k", DataType::UInt64, false),
    ]))
}

/// One blocking rule's keys as a table `(idx, src, k)` of the records with a key.
#[derive(Debug)]
pub struct KeysTable {
    data: Arc<DataHandle>,
    rule: usize,
}

impl KeysTable {
    pub fn new(data: Arc<DataHandle>, rule: usize) -> KeysTable {
        KeysTable { data, rule }
    }
}

#[async_trait::async_trait]
impl TableProvider for KeysTable {
    fn schema(&self) -> SchemaRef {
        keys_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // One partition: emitting keys that are already computed is cheap, and the
        // hash join repartitions them by key over all cores (or tasks) anyway. A
        // distributed engine that cannot slice an unknown leaf per task (Ballista runs
        // every partition of it in every task) then still reads each key once.
        let _ = state;
        Ok(Arc::new(KeysExec::new(
            self.data.clone(),
            self.rule,
            1,
            projection.cloned(),
        )?))
    }
}

/// Scans one rule's key table in `partitions` slices of record indices (the key table
/// scans with one). The data is
/// looked up (or rebuilt from its spec) only when a partition runs, so a scheduler can
/// plan the scan without holding the records.
#[derive(Debug)]
pub struct KeysExec {
    data: Arc<DataHandle>,
    rule: usize,
    partitions: usize,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl KeysExec {
    pub fn new(
        data: Arc<DataHandle>,
        rule: usize,
        partitions: usize,
        projection: Option<Vec<usize>>,
    ) -> DfResult<KeysExec> {
        let full = keys_schema();
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full,
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(partitions.max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(KeysExec {
            data,
            rule,
            partitions: partitions.max(1),
            projection,
            schema,
            properties,
        })
    }

    /// One partition's rows.
    fn batch(
        data: &Prepared,
        rule: usize,
        partition: usize,
        partitions: usize,
        projection: Option<&[usize]>,
    ) -> DfResult<RecordBatch> {
        let n = data.table.len as usize;
        let chunk = n.div_ceil(partitions).max(1);
        let (lo, hi) = ((partition * chunk).min(n), ((partition + 1) * chunk).min(n));
        let rule_keys = data
            .keys
            .keys
            .get(rule)
            .ok_or_else(|| df_err(format!("no blocking rule {rule}")))?;
        let rows: Vec<(u32, u64)> = (lo..hi)
            .filter_map(|i| rule_keys[i].map(|k| (i as u32, k)))
            .collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|p| p.0))),
            Arc::new(UInt16Array::from_iter_values(
                rows.iter().map(|p| data.table.sources[p.0 as usize]),
            )),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|p| p.1))),
        ];
        let batch = RecordBatch::try_new(keys_schema(), cols)?;
        Ok(match projection {
            Some(p) => batch.project(p)?,
            None => batch,
        })
    }
}

impl DisplayAs for KeysExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "SpiritKeysExec: rule={}, partitions={}",
            self.rule, self.partitions
        )
    }
}

impl ExecutionPlan for KeysExec {
    fn name(&self) -> &str {
        "SpiritKeysExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let (data, rule, partitions) = (self.data.clone(), self.rule, self.partitions);
        let projection = self.projection.clone();
        // Rebuilding the table (on an executor's first task) reads files: off the
        // async threads.
        let fut = async move {
            tokio::task::spawn_blocking(move || {
                let prepared = data.get().map_err(df_err)?;
                KeysExec::batch(
                    &prepared,
                    rule,
                    partition,
                    partitions,
                    projection.as_deref(),
                )
            })
            .await
            .map_err(df_err)?
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::once(fut),
        )))
    }
}

/// What a key table, its scan or a SPIRIT UDF carries to another process.
#[derive(Serialize, Deserialize)]
struct Shipped {
    data: DataSpec,
    rule: Option<usize>,
    partitions: Option<usize>,
    projection: Option<Vec<usize>>,
    udf: Option<String>,
    model: Option<Model>,
}

fn ship(s: &Shipped) -> DfResult<Vec<u8>> {
    serde_json::to_vec(s).map_err(df_err)
}

fn unship(buf: &[u8]) -> DfResult<Shipped> {
    serde_json::from_slice(buf)
        .map_err(|e| df_err(format!("a SPIRIT plan node could not be read: {e}")))
}

fn spec_of(data: &DataHandle) -> DfResult<DataSpec> {
    data.spec().cloned().ok_or_else(|| {
        df_err("this run's data was not read from files, so it cannot run on a cluster")
    })
}

/// The bytes of a SPIRIT key table for a codec, or `None` for another table.
pub fn encode_keys_table(table: &dyn TableProvider) -> DfResult<Option<Vec<u8>>> {
    let Some(t) = (table as &dyn std::any::Any).downcast_ref::<KeysTable>() else {
        return Ok(None);
    };
    ship(&Shipped {
        data: spec_of(&t.data)?,
        rule: Some(t.rule),
        partitions: None,
        projection: None,
        udf: None,
        model: None,
    })
    .map(Some)
}

/// A key table from [`encode_keys_table`]'s bytes.
pub fn decode_keys_table(buf: &[u8]) -> DfResult<Arc<dyn TableProvider>> {
    let s = unship(buf)?;
    let rule = s
        .rule
        .ok_or_else(|| df_err("a key table without its rule"))?;
    Ok(Arc::new(KeysTable::new(
        DataHandle::from_spec(s.data),
        rule,
    )))
}

/// The bytes of a SPIRIT key-table scan for a codec, or `None` for another plan.
pub fn encode_keys_exec(plan: &dyn ExecutionPlan) -> DfResult<Option<Vec<u8>>> {
    let Some(e) = plan.downcast_ref::<KeysExec>() else {
        return Ok(None);
    };
    ship(&Shipped {
        data: spec_of(&e.data)?,
        rule: Some(e.rule),
        partitions: Some(e.partitions),
        projection: e.projection.clone(),
        udf: None,
        model: None,
    })
    .map(Some)
}

/// A key-table scan from [`encode_keys_exec`]'s bytes.
pub fn decode_keys_exec(buf: &[u8]) -> DfResult<Arc<dyn ExecutionPlan>> {
    let s = unship(buf)?;
    let rule = s
        .rule
        .ok_or_else(|| df_err("a key scan without its rule"))?;
    let partitions = s.partitions.unwrap_or(1);
    Ok(Arc::new(KeysExec::new(
        DataHandle::from_spec(s.data),
        rule,
        partitions,
        s.projection,
    )?))
}

/// The bytes of a SPIRIT UDF (its data spec and model) for a codec, or `None` for
/// another function.
pub fn encode_udf(udf: &ScalarUDF) -> DfResult<Option<Vec<u8>>> {
    let Some(u) = udf.inner().downcast_ref::<SpiritUdf>() else {
        return Ok(None);
    };
    ship(&Shipped {
        data: spec_of(&u.kernel.data)?,
        rule: None,
        partitions: None,
        projection: None,
        udf: Some(u.name.to_string()),
        model: Some((*u.kernel.model).clone()),
    })
    .map(Some)
}

/// A SPIRIT UDF from [`encode_udf`]'s bytes; `Ok(None)` when the bytes are not one.
pub fn decode_udf(name: &str, buf: &[u8]) -> DfResult<Option<Arc<ScalarUDF>>> {
    let Some(known) = UDF_NAMES.iter().find(|n| **n == name) else {
        return Ok(None);
    };
    let s = unship(buf)?;
    let model = s
        .model
        .ok_or_else(|| df_err(format!("{name} arrived without its model")))?;
    let kernel = Kernel::new(
        DataHandle::from_spec(s.data),
        Arc::new(model),
        Arc::new(AtomicU64::new(0)),
    );
    Ok(Some(Arc::new(ScalarUDF::from(SpiritUdf::new(
        known, kernel,
    )))))
}

const UDF_NAMES: [&str; 3] = ["spirit_pattern", "spirit_weight", "spirit_first"];

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
        // One small table per rule — (idx, src, k) of the records that have a key for
        // it — so each join builds its hash table over one key column only.
        for r in 0..rules {
            ctx.register_table(
                format!("keys{r}"),
                Arc::new(KeysTable::new(data.clone(), r)),
            )
            .map_err(plan_err)?;
        }
        Ok(CandidatePlan {
            ctx,
            data,
            rules,
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

    /// SQL producing the training strata: for each rule, its pairs — when the rule
    /// proposes many, those of a sample of its blocks (every block whose key is 0 modulo
    /// `scale[r]`, about one in `scale[r]`). Sampling blocks, not pairs, filters the key
    /// tables before the join, so the join builds only the sampled blocks.
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
                    // Block keys are hashes: their residues are uniform.
                    let m = format!("CAST({m} AS BIGINT UNSIGNED)");
                    cond.push(format!("l.k % {m} = 0 AND r.k % {m} = 0"));
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

    /// Registers the scoring UDFs for a model over the plan's data.
    pub fn register_model(&self, model: Arc<Model>, counter: PairCounter) {
        let kernel = Kernel::new(self.data.clone(), model, counter);
        for name in UDF_NAMES {
            self.ctx
                .register_udf(ScalarUDF::from(SpiritUdf::new(name, kernel.clone())));
        }
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
            let n = column::<Int64Array>(b, 2)?;
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
             (SELECT a, b, spirit_weight(a, b, rule) AS w FROM ({})) WHERE w IS NOT NULL) \
             GROUP BY 1, 2, 3",
            self.rule_pairs_sql()
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
        let prepared = self.kernel.data.get().map_err(df_err)?;
        let keys = &prepared.keys;
        let first = |i: usize| -> bool { keys.is_first(av[i], bv[i], usize::from(rules[i])) };
        if self.name == "spirit_first" {
            let v: BooleanArray = (0..n).map(|i| Some(first(i))).collect();
            return Ok(ColumnarValue::Array(Arc::new(v)));
        }
        let scorer = self.kernel.scorer(&prepared);
        let table = &prepared.table;
        let out: ArrayRef = if self.name == "spirit_pattern" {
            self.kernel.counter.fetch_add(n as u64, Ordering::Relaxed);
            let mut v = Vec::new();
            scorer.patterns(table, av, bv, &mut v);
            for (i, p) in v.iter_mut().enumerate() {
                if first(i) {
                    *p |= FIRST_BIT;
                }
            }
            Arc::new(UInt64Array::from(v))
        } else {
            // Only the pairs this rule is the first to propose are scored; the others
            // stay null.
            let chosen: Vec<usize> = (0..n).filter(|&i| first(i)).collect();
            let a: Vec<u32> = chosen.iter().map(|&i| av[i]).collect();
            let b: Vec<u32> = chosen.iter().map(|&i| bv[i]).collect();
            let mut w = Vec::new();
            scorer.weights(table, &a, &b, &mut w);
            self.kernel
                .counter
                .fetch_add(chosen.len() as u64, Ordering::Relaxed);
            let mut v: Vec<Option<f64>> = vec![None; n];
            for (i, w) in chosen.into_iter().zip(w) {
                v[i] = Some(w);
            }
            Arc::new(Float64Array::from(v))
        };
        Ok(ColumnarValue::Array(out))
    }
}
