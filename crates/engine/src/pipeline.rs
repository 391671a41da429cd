//! The batch pipeline: read → prepare → block → train → score → cluster → write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use spirit_matching::blocking::{BlockKeys, BlockingRule};
use spirit_matching::cluster::cluster_edges;
use spirit_matching::model::{Explanation, Model, TrainingData};
use spirit_matching::profile::FieldProfile;
use spirit_matching::select::{rule_yields, rules_to_drop};
use spirit_matching::settings::{ClusterMethod, LinkType, Settings};
use spirit_matching::{CardKey, Function, RecordTable, Scorer};
use spirit_model::{NoProgress, Progress, RecordKey, probability_to_weight};
use spirit_sources::write_quarantine;

use crate::EngineError;
use crate::plan::{CandidatePlan, DataHandle, DataSpec, SessionFactory, fingerprint};
pub use crate::prepare::{Loaded, SourceSummary, blocking_rules, load, profile_fields};

/// What `spirit resolve` is asked to do.
#[derive(Clone, Debug)]
pub struct ResolveRequest {
    pub inputs: Vec<PathBuf>,
    pub settings: Settings,
    /// Overrides the settings' id column for every input.
    pub id_column: Option<String>,
    /// A trained model to score with instead of training.
    pub model: Option<Model>,
    /// Labelled pairs (`left,right,label` with `source:record_id` or bare ids) to fit m and u.
    pub labels: Option<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Also write `candidates.csv` (every candidate pair).
    pub keep_candidates: bool,
    /// The key payment cards are hashed under: [`CardKey::random`] for each run unless the
    /// user gives one to compare hashes across runs. Shipped to cluster executors, never
    /// written to an output.
    pub card_key: CardKey,
}

impl ResolveRequest {
    /// A run of `inputs` under `settings` into `out`: the settings' id column, a model
    /// trained on the inputs, no labels, no `candidates.csv`, and a card key drawn for
    /// this run.
    pub fn new(
        inputs: Vec<PathBuf>,
        settings: Settings,
        out: impl Into<PathBuf>,
    ) -> Result<ResolveRequest, spirit_matching::evidence::CardKeyError> {
        Ok(ResolveRequest {
            inputs,
            settings,
            id_column: None,
            model: None,
            labels: None,
            out: out.into(),
            keep_candidates: false,
            card_key: CardKey::random()?,
        })
    }
}

/// Per-rule figures of blocking.
#[derive(Clone, Debug, Serialize)]
pub struct RuleSummary {
    pub rule: String,
    /// Pairs inside the rule's blocks (before earlier rules and link-type filters).
    pub block_pairs: u64,
    pub capped_blocks: u64,
    pub capped_records: u64,
    /// Pairs the rule adds to the earlier rules', estimated by training (absent when a
    /// model was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_pairs: Option<u64>,
    /// Expected true matches among them under the trained model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_matches: Option<u64>,
    /// Left out of scoring: over the pair budget, it added almost no matches.
    pub left_out: bool,
    /// Candidate pairs scored that this rule was the first (in use) to propose.
    pub scored_pairs: u64,
}

/// The run summary written to `summary.json` and printed by the CLI.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub link_type: LinkType,
    pub records: u64,
    pub sources: Vec<SourceSummary>,
    /// Columns with no built-in kind: what each became, or why it was left out.
    pub fields: Vec<FieldProfile>,
    pub comparisons: Vec<String>,
    pub blocking_rules: Vec<RuleSummary>,
    pub candidate_pairs: u64,
    /// Share of all possible pairs that blocking avoided comparing.
    pub blocking_reduction: f64,
    pub edges: u64,
    pub entities: u64,
    pub threshold: f64,
    pub cluster_method: ClusterMethod,
    pub model_trained: bool,
    pub prior: f64,
    pub em_iterations: usize,
    /// What the check after training found ([`Model::check_training`]).
    pub training_warnings: Vec<String>,
    pub phase_seconds: Vec<(String, f64)>,
    pub out: PathBuf,
}

/// Everything a resolve run leaves in memory, for callers that go on using it
/// (explain, tests).
pub struct ResolveOutput {
    pub summary: RunSummary,
    pub table: Arc<RecordTable>,
    pub keys: Vec<RecordKey>,
    pub model: Model,
    pub clusters: Vec<u32>,
    pub edges: Vec<spirit_model::Edge>,
}

/// The effective link type: dedupe over several inputs means dedupe their union.
pub fn effective_link_type(requested: LinkType, inputs: usize) -> Result<LinkType, EngineError> {
    match (requested, inputs) {
        (LinkType::Link, n) if n < 2 => Err(EngineError::Invalid(
            "link type `link` needs at least two inputs".into(),
        )),
        (LinkType::Dedupe, n) if n > 1 => Ok(LinkType::LinkAndDedupe),
        (t, _) => Ok(t),
    }
}

/// Runs the whole batch pipeline and writes its outputs into `request.out`.
pub fn resolve(
    request: &ResolveRequest,
    progress: &dyn Progress,
) -> Result<ResolveOutput, EngineError> {
    resolve_with(request, None, progress)
}

/// [`resolve`] with candidate generation and scoring run in the sessions `factory`
/// makes (a cluster), or in this process when there is none. Reading, training (EM on
/// the histogram the plan aggregates), clustering and writing run here either way.
pub fn resolve_with(
    request: &ResolveRequest,
    factory: Option<&dyn SessionFactory>,
    progress: &dyn Progress,
) -> Result<ResolveOutput, EngineError> {
    let settings = &request.settings;
    let link_type = effective_link_type(settings.resolve.link_type, request.inputs.len())?;
    let mut phases: Vec<(String, f64)> = Vec::new();
    let clock = Instant::now();
    let lap = |name: &str, phases: &mut Vec<(String, f64)>, start: &mut Instant| {
        phases.push((name.to_string(), start.elapsed().as_secs_f64()));
        *start = Instant::now();
    };

    std::fs::create_dir_all(&request.out).map_err(|e| EngineError::io(&request.out, e))?;
    let loaded = load(
        &request.inputs,
        settings,
        request.id_column.as_deref(),
        request.card_key,
        progress,
    )?;
    let Loaded {
        table,
        keys: record_keys,
        sources,
        quarantined,
        phase_seconds: load_phases,
    } = loaded;
    phases.extend(load_phases);
    let table = Arc::new(table);
    let n = table.len as u64;

    // On a cluster, executors read the prepared records from a shared folder: the
    // factory's, or the first input's (which every executor must read anyway).
    let source = match factory {
        Some(f) => {
            let dir = match f.shared_dir() {
                Some(d) => d,
                None => {
                    let first = request
                        .inputs
                        .first()
                        .ok_or_else(|| EngineError::Invalid("no input to resolve".into()))?;
                    let first =
                        std::path::absolute(first).map_err(|e| EngineError::io(first, e))?;
                    first.parent().map(Path::to_path_buf).unwrap_or_default()
                }
            };
            let dir = std::path::absolute(&dir).map_err(|e| EngineError::io(&dir, e))?;
            Some((f, dir))
        }
        None => None,
    };
    let scored = score_table_with(
        &table,
        &record_keys,
        settings,
        link_type,
        request.model.clone(),
        request.labels.as_deref(),
        source,
        progress,
    )?;
    phases.extend(scored.phase_seconds.iter().cloned());
    let mut t0 = Instant::now();
    let Scored {
        model,
        edges,
        partial_names,
        rule_summaries,
        candidate_pairs,
        possible_pairs: possible,
        plan,
        fields,
        ..
    } = scored;

    // Cluster.
    progress.phase("cluster", None);
    let clusters = cluster_edges(n as usize, &edges, settings, &[], &[]);
    let entities = clusters
        .iter()
        .copied()
        .max()
        .map_or(0, |m| u64::from(m) + 1);
    progress.done();
    lap("cluster", &mut phases, &mut t0);

    // Write.
    progress.phase("write", None);
    write_clusters(&request.out.join("clusters.csv"), &record_keys, &clusters)?;
    write_edges(
        &request.out.join("edges.csv"),
        &record_keys,
        &partial_names,
        &edges,
    )?;
    write_atomic(&request.out.join("model.json"), model.to_json().as_bytes())?;
    if !quarantined.is_empty() {
        write_quarantine(
            &request.out.join("quarantine.csv"),
            quarantined.iter().map(|(s, q)| (s.as_str(), q)),
        )?;
    }
    if request.keep_candidates {
        write_candidates(&request.out.join("candidates.csv"), &record_keys, &plan)?;
    }
    progress.done();
    lap("write", &mut phases, &mut t0);
    phases.push(("total".into(), clock.elapsed().as_secs_f64()));

    let summary = RunSummary {
        link_type,
        records: n,
        sources,
        fields,
        comparisons: model.comparisons.iter().map(|c| c.name.clone()).collect(),
        blocking_rules: rule_summaries,
        candidate_pairs,
        blocking_reduction: if possible == 0 {
            0.0
        } else {
            1.0 - candidate_pairs as f64 / possible as f64
        },
        edges: edges.len() as u64,
        entities,
        threshold: settings.resolve.threshold,
        cluster_method: settings.resolve.cluster,
        model_trained: request.model.is_none(),
        prior: model.prior,
        em_iterations: model.training.em_iterations,
        training_warnings: model.training.warnings.clone(),
        phase_seconds: phases,
        out: request.out.clone(),
    };
    let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
    write_atomic(&request.out.join("summary.json"), json.as_bytes())?;
    Ok(ResolveOutput {
        summary,
        table,
        keys: record_keys,
        model,
        clusters,
        edges,
    })
}

/// What scoring a prepared table leaves: the model (trained or given), the edges at or
/// above the floor with their partial weights, and the blocking figures.
pub struct Scored {
    pub model: Model,
    pub edges: Vec<spirit_model::Edge>,
    /// Names of the partial weights, in the order of [`spirit_model::Edge::partials`].
    pub partial_names: Vec<String>,
    pub rules: Vec<BlockingRule>,
    pub rule_summaries: Vec<RuleSummary>,
    pub candidate_pairs: u64,
    pub possible_pairs: u64,
    pub phase_seconds: Vec<(String, f64)>,
    pub plan: CandidatePlan,
    /// What each field column became (empty when a model was given).
    pub fields: Vec<FieldProfile>,
}

/// Blocks, trains (unless `given` holds a model) and scores a prepared table: the
/// middle of the batch pipeline, shared by `spirit resolve` over files and by the
/// identity store's batch re-run.
pub fn score_table(
    table: &Arc<RecordTable>,
    record_keys: &[RecordKey],
    settings: &Settings,
    link_type: LinkType,
    given: Option<Model>,
    labels: Option<&Path>,
    progress: &dyn Progress,
) -> Result<Scored, EngineError> {
    score_table_with(
        table,
        record_keys,
        settings,
        link_type,
        given,
        labels,
        None,
        progress,
    )
}

/// [`score_table`] with the plan run in a session made by a factory (a cluster) whose
/// executors read the prepared records the client writes to the folder `source` names
/// (removed when the plan is dropped).
#[allow(clippy::too_many_arguments)]
pub fn score_table_with(
    table: &Arc<RecordTable>,
    record_keys: &[RecordKey],
    settings: &Settings,
    link_type: LinkType,
    given: Option<Model>,
    labels: Option<&Path>,
    source: Option<(&dyn SessionFactory, PathBuf)>,
    progress: &dyn Progress,
) -> Result<Scored, EngineError> {
    let mut phases: Vec<(String, f64)> = Vec::new();
    let lap = |name: &str, phases: &mut Vec<(String, f64)>, start: &mut Instant| {
        phases.push((name.to_string(), start.elapsed().as_secs_f64()));
        *start = Instant::now();
    };
    let mut t0 = Instant::now();
    let n = table.len as u64;
    let table = table.clone();
    // Comparisons: the model's when one is given, else the defaults for the kinds present
    // and a comparison for each field its profile finds usable.
    let (functions, fields) = match &given {
        Some(m) => (m.functions(), Vec::new()),
        None => {
            let fields = profile_fields(&table, settings);
            let mut functions = Function::defaults_for(&table.kinds());
            functions.extend(fields.iter().filter_map(|f| f.function));
            (functions, fields)
        }
    };
    if functions.is_empty() {
        return Err(EngineError::Invalid(
            "no attribute that SPIRIT can compare was found in the inputs".into(),
        ));
    }

    // Blocking.
    progress.phase("block", None);
    let rules = blocking_rules(settings, &table)?;
    let block_keys = Arc::new(BlockKeys::compute(
        &table,
        rules,
        settings.resolve.max_block_size,
    ));
    let mut rule_summaries: Vec<RuleSummary> = block_keys
        .rules
        .iter()
        .zip(block_keys.pairs_per_rule().iter().copied())
        .enumerate()
        .map(|(i, (r, pairs))| RuleSummary {
            rule: r.to_string(),
            block_pairs: pairs,
            capped_blocks: block_keys.capped_blocks[i],
            capped_records: block_keys.capped_records[i],
            added_pairs: None,
            expected_matches: None,
            left_out: false,
            scored_pairs: 0,
        })
        .collect();
    let (factory, spec) = match source {
        Some((f, dir)) => {
            let fingerprint = fingerprint(record_keys, &table, &block_keys);
            let shared = dir.join(format!(
                ".spirit-prepared-{fingerprint:016x}-{}.arrow",
                std::process::id()
            ));
            crate::shard::write(&shared, &table, &block_keys, fingerprint).map_err(|e| {
                EngineError::Invalid(format!(
                    "{e}; executors read a run's prepared records from a folder they share with the client: give one with --shared-dir"
                ))
            })?;
            let spec = DataSpec {
                version: env!("CARGO_PKG_VERSION").to_string(),
                records: table.len,
                fingerprint,
                shared,
            };
            (Some(f), Some(spec))
        }
        None => (None, None),
    };
    let data = DataHandle::ready(table.clone(), block_keys.clone(), spec);
    let plan =
        CandidatePlan::with_session(data, link_type, settings.resolve.memory_limit_mb, factory)?;
    progress.done();
    lap("block", &mut phases, &mut t0);

    let possible = match link_type {
        LinkType::Link => {
            let mut per: FxHashMap<u16, u64> = FxHashMap::default();
            for s in &table.sources {
                *per.entry(*s).or_default() += 1;
            }
            let same: u64 = per.values().map(|k| k * k.saturating_sub(1) / 2).sum();
            n * n.saturating_sub(1) / 2 - same
        }
        _ => n * n.saturating_sub(1) / 2,
    };
    // Model: train unless one was given.
    let link_only = link_type == LinkType::Link;
    let mut model = match &given {
        Some(m) => m.clone(),
        None => Model::initial(
            &table,
            &functions,
            settings.resolve.u_sample_pairs,
            link_only,
            settings.resolve.seed,
        )
        .map_err(|e| EngineError::Invalid(e.to_string()))?,
    };
    // Writing style is advisory unless the settings let it link (a given model too:
    // the setting in force decides, not the one it was trained under).
    model.set_style_can_link(settings.resolve.style_can_link);
    let estimate: u64 = rule_summaries.iter().map(|r| r.block_pairs).sum();
    let counter = Arc::new(AtomicU64::new(0));
    if given.is_none() {
        progress.phase("train", Some(estimate));
        plan.register_model(Arc::new(model.clone()), counter.clone())?;
        let cap = settings.resolve.em_pairs_per_rule.max(1) as u64;
        let scale: Vec<u64> = rule_summaries
            .iter()
            .map(|r| r.block_pairs.div_ceil(cap).max(1))
            .collect();
        let histogram = with_progress(progress, &counter, || plan.pattern_histogram(&scale))?;
        let covered: Vec<Vec<bool>> = block_keys
            .rules
            .iter()
            .map(|rule| {
                let kinds = rule.covered_kinds();
                functions
                    .iter()
                    .map(|f| {
                        spirit_matching::explain_kinds(*f)
                            .iter()
                            .any(|k| kinds.contains(k))
                    })
                    .collect()
            })
            .collect();
        let rule_scale: Vec<f64> = scale.iter().map(|&s| s as f64).collect();
        let data = TrainingData {
            histogram: &histogram,
            covered: &covered,
            rule_scale: &rule_scale,
            possible_pairs: possible as f64,
        };
        model.train(data, settings.resolve.em_max_iterations);
        if let Some(labels) = labels {
            let (matches, non_matches) = read_labels(labels, record_keys)?;
            model.fit_labels(&table, &matches, &non_matches);
        }
        // Rules that add pairs but almost no matches are left out when the rules
        // together are over the pair budget (the defaults only: rules the settings
        // give are kept).
        let yields = rule_yields(&model, &histogram, &rule_scale, rule_summaries.len());
        let left_out = if settings.blocking.is_empty() {
            rules_to_drop(
                &yields,
                settings.resolve.pairs_per_record * n as f64,
                settings.resolve.min_rule_yield,
                |_| true,
            )
        } else {
            Vec::new()
        };
        for (r, (s, y)) in rule_summaries.iter_mut().zip(&yields).enumerate() {
            s.added_pairs = Some(y.pairs.round() as u64);
            s.expected_matches = Some(y.matches.round() as u64);
            s.left_out = left_out.contains(&r);
        }
        plan.leave_out(&left_out)?;
        progress.done();
        lap("train", &mut phases, &mut t0);
    }
    model.tf_min_frequency = 0.0;
    // A model that training left unusable is reported, never written or used.
    model
        .validate()
        .map_err(|e| EngineError::Invalid(format!("training produced an unusable model: {e}")))?;

    // Score: only edges at or above the floor leave the plan.
    progress.phase("score", Some(estimate));
    counter.store(0, std::sync::atomic::Ordering::Relaxed);
    let model_arc = Arc::new(model.clone());
    plan.register_model(model_arc, counter.clone())?;
    let floor_weight = probability_to_weight(settings.resolve.edge_floor);
    let (scored, per_rule) = with_progress(progress, &counter, || plan.edges(floor_weight))?;
    let candidate_pairs = per_rule.iter().sum();
    for (s, n) in rule_summaries.iter_mut().zip(per_rule) {
        s.scored_pairs = n;
    }
    let scorer = Scorer::new(model.clone(), &table);
    let edges: Vec<spirit_model::Edge> = scored
        .par_iter()
        .map(|&(a, b, _)| {
            let (w, partials) = scorer.score(a, b);
            spirit_model::Edge {
                left: a,
                right: b,
                weight: w,
                probability: spirit_model::weight_to_probability(w),
                partials,
            }
        })
        .collect();
    progress.done();
    lap("score", &mut phases, &mut t0);

    Ok(Scored {
        partial_names: scorer.partial_names(),
        model,
        edges,
        rules: block_keys.rules.clone(),
        rule_summaries,
        candidate_pairs,
        possible_pairs: possible,
        phase_seconds: phases,
        plan,
        fields,
    })
}

/// Explains one pair under a model: the waterfall of partial weights. Payment cards are
/// hashed under `card_key` (the values shown are those hashes).
pub fn explain(
    inputs: &[PathBuf],
    settings: &Settings,
    id_column: Option<&str>,
    card_key: CardKey,
    model: Model,
    left: &str,
    right: &str,
) -> Result<(RecordKey, RecordKey, Explanation), EngineError> {
    let loaded = load(inputs, settings, id_column, card_key, &NoProgress)?;
    let (a, b) = (loaded.find(left)?, loaded.find(right)?);
    let scorer = Scorer::new(model, &loaded.table);
    let e = scorer.explain(a, b);
    Ok((
        loaded.keys[a as usize].clone(),
        loaded.keys[b as usize].clone(),
        e,
    ))
}

/// Reads a model file.
pub fn load_model(path: &Path) -> Result<Model, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
    Model::from_json(&text).map_err(|e| EngineError::Model {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Runs `work` while a scoped thread copies the pair counter into the progress display.
fn with_progress<T>(progress: &dyn Progress, counter: &AtomicU64, work: impl FnOnce() -> T) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                progress.set(counter.load(Ordering::Relaxed));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let out = work();
        stop.store(true, Ordering::Relaxed);
        out
    })
}

/// Writes a file atomically: to a temporary sibling, then renamed into place, so an
/// interrupted run never leaves a half-written output.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(|e| EngineError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| EngineError::io(path, e))
}

fn csv_writer(
    path: &Path,
) -> Result<(csv::Writer<std::io::BufWriter<std::fs::File>>, PathBuf), EngineError> {
    let tmp = path.with_extension("partial");
    let f = std::fs::File::create(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
    Ok((
        csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, f)),
        tmp,
    ))
}

fn finish_csv(
    w: csv::Writer<std::io::BufWriter<std::fs::File>>,
    tmp: PathBuf,
    path: &Path,
) -> Result<(), EngineError> {
    let mut inner = w
        .into_inner()
        .map_err(|e| EngineError::io(&tmp, e.into_error()))?;
    inner.flush().map_err(|e| EngineError::io(&tmp, e))?;
    drop(inner);
    std::fs::rename(&tmp, path).map_err(|e| EngineError::io(path, e))
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> EngineError + '_ {
    move |e| EngineError::io(path, std::io::Error::other(e))
}

/// Writes a CSV file atomically: `header`, then `row(i)` for `i` in `0..rows`. Rows are
/// formatted in parallel, a chunk per task, and written in order.
fn write_rows(
    path: &Path,
    header: &[String],
    rows: usize,
    row: impl Fn(usize, &mut Vec<String>) + Sync,
) -> Result<(), EngineError> {
    const CHUNK: usize = 1 << 14;
    let format = |range: std::ops::Range<usize>| -> Result<Vec<u8>, EngineError> {
        let mut w = csv::Writer::from_writer(Vec::with_capacity(range.len() * 64));
        let mut fields = Vec::with_capacity(header.len());
        for i in range {
            fields.clear();
            row(i, &mut fields);
            for f in fields.iter_mut() {
                let fixed = match spirit_sources::cell::safe(f) {
                    std::borrow::Cow::Owned(s) => Some(s),
                    std::borrow::Cow::Borrowed(_) => None,
                };
                if let Some(s) = fixed {
                    *f = s;
                }
            }
            w.write_record(&fields).map_err(csv_err(path))?;
        }
        w.into_inner()
            .map_err(|e| EngineError::io(path, e.into_error()))
    };
    let (mut w, tmp) = csv_writer(path)?;
    w.write_record(header).map_err(csv_err(path))?;
    w.flush().map_err(|e| EngineError::io(&tmp, e))?;
    let mut inner = w
        .into_inner()
        .map_err(|e| EngineError::io(&tmp, e.into_error()))?;
    let threads = rayon::current_num_threads().max(1);
    for group in (0..rows).step_by(CHUNK * threads * 2) {
        let end = (group + CHUNK * threads * 2).min(rows);
        let parts: Vec<Result<Vec<u8>, EngineError>> = (group..end)
            .step_by(CHUNK)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|lo| format(lo..(lo + CHUNK).min(end)))
            .collect();
        for part in parts {
            inner
                .write_all(&part?)
                .map_err(|e| EngineError::io(&tmp, e))?;
        }
    }
    inner.flush().map_err(|e| EngineError::io(&tmp, e))?;
    drop(inner);
    std::fs::rename(&tmp, path).map_err(|e| EngineError::io(path, e))
}

fn write_clusters(path: &Path, keys: &[RecordKey], clusters: &[u32]) -> Result<(), EngineError> {
    let header = ["source", "record_id", "entity_id"].map(String::from);
    write_rows(path, &header, keys.len().min(clusters.len()), |i, row| {
        row.push(keys[i].source.clone());
        row.push(keys[i].record_id.clone());
        row.push(clusters[i].to_string());
    })
}

fn write_edges(
    path: &Path,
    keys: &[RecordKey],
    partial_names: &[String],
    edges: &[spirit_model::Edge],
) -> Result<(), EngineError> {
    let mut header = vec![
        "left".to_string(),
        "right".into(),
        "match_weight".into(),
        "probability".into(),
    ];
    header.extend(partial_names.iter().map(|n| format!("w_{n}")));
    write_rows(path, &header, edges.len(), |i, row| {
        let e = &edges[i];
        row.push(keys[e.left as usize].to_string());
        row.push(keys[e.right as usize].to_string());
        row.push(fixed(e.weight, 4));
        row.push(fixed(e.probability, 6));
        row.extend(e.partials.iter().map(|p| fixed(f64::from(*p), 4)));
    })
}

/// `v` with `digits` decimals, by integer arithmetic (much faster than `{:.N}` for the
/// millions of numbers in `edges.csv`); non-finite values print as Rust prints them.
fn fixed(v: f64, digits: u32) -> String {
    let scale = 10f64.powi(digits as i32);
    let scaled = (v * scale).round();
    if !scaled.is_finite() || scaled.abs() >= 9.0e15 {
        return format!("{v:.prec$}", prec = digits as usize);
    }
    let n = scaled as i64;
    let unit = 10i64.pow(digits);
    let sign = if n < 0 { "-" } else { "" };
    let (int, frac) = (
        n.unsigned_abs() / unit as u64,
        n.unsigned_abs() % unit as u64,
    );
    format!("{sign}{int}.{frac:0width$}", width = digits as usize)
}

fn write_candidates(
    path: &Path,
    keys: &[RecordKey],
    plan: &CandidatePlan,
) -> Result<(), EngineError> {
    let (mut w, tmp) = csv_writer(path)?;
    w.write_record(["left", "right"]).map_err(csv_err(path))?;
    plan.for_each_candidate(|a, b| {
        w.write_record([keys[a as usize].to_string(), keys[b as usize].to_string()])
            .map_err(csv_err(path))
    })?;
    finish_csv(w, tmp, path)
}

/// Labelled pairs: (matches, non-matches) as record indices.
type LabelledPairs = (Vec<(u32, u32)>, Vec<(u32, u32)>);

/// Reads labelled pairs: CSV `left,right,label` where label is 1/0, true/false,
/// match/non-match or same/not-same; ids are `source:record_id` or bare record ids.
fn read_labels(path: &Path, keys: &[RecordKey]) -> Result<LabelledPairs, EngineError> {
    let mut by_key: FxHashMap<String, Option<u32>> = FxHashMap::default();
    for (i, k) in keys.iter().enumerate() {
        by_key.insert(k.to_string(), Some(i as u32));
        by_key
            .entry(k.record_id.clone())
            .and_modify(|v| *v = None)
            .or_insert(Some(i as u32));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| EngineError::Input {
            path: path.into(),
            line: None,
            message: e.to_string(),
        })?;
    let (mut matches, mut non) = (Vec::new(), Vec::new());
    for row in rdr.records() {
        let row = row.map_err(|e| EngineError::Input {
            path: path.into(),
            line: e.position().map(|p| p.line()),
            message: e.to_string(),
        })?;
        let line = row.position().map(|p| p.line());
        let bad = |message: String| EngineError::Input {
            path: path.into(),
            line,
            message,
        };
        if row.len() < 3 {
            return Err(bad("expected left,right,label".into()));
        }
        let id = |s: &str| -> Result<u32, EngineError> {
            match by_key.get(s) {
                Some(Some(i)) => Ok(*i),
                Some(None) => Err(bad(format!(
                    "record id {s:?} is ambiguous; write source:record_id"
                ))),
                None => Err(bad(format!("record {s:?} is in none of the inputs"))),
            }
        };
        let (a, b) = (id(&row[0])?, id(&row[1])?);
        match row[2].trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "match" | "same" | "yes" => matches.push((a, b)),
            "0" | "false" | "non-match" | "nonmatch" | "not-same" | "no" => non.push((a, b)),
            other => {
                return Err(bad(format!(
                    "label {other:?} is not 1/0, match/non-match or same/not-same"
                )));
            }
        }
    }
    Ok((matches, non))
}

#[cfg(test)]
mod tests {
    use super::fixed;

    #[test]
    fn fixed_point_formatting_matches_rust() {
        for v in [
            0.0, 1.5, -1.5, 12.34567, -0.00004, -0.00006, 0.99999951, 1234.5, -7.0, 3.0e-7,
        ] {
            for d in [4u32, 6] {
                let want = format!("{v:.prec$}", prec = d as usize);
                let want = if want
                    .trim_start_matches('-')
                    .chars()
                    .all(|c| c == '0' || c == '.')
                {
                    want.trim_start_matches('-').to_string()
                } else {
                    want
                };
                assert_eq!(fixed(v, d), want, "{v} with {d} digits");
            }
        }
        assert_eq!(fixed(f64::INFINITY, 4), "inf");
    }
}
