//! The batch re-run of a whole workspace: every stored record goes through the plan
//! (block, train or keep the model, score), the edges are clustered under every
//! judgement in force, and the result is stored through `spirit-store` in one
//! transaction (model, rules and edges replaced; entity ids carried over by overlap).

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use spirit_matching::RecordTable;
use spirit_matching::cluster::cluster_edges;
use spirit_model::Progress;
use spirit_store::Workspace;
use spirit_store::entities::Changes;
use spirit_store::resolve::{
    Resolution, active_judgements, current_model, finish_resolution, load_all, store_resolution,
};

use crate::EngineError;
use crate::pipeline::{effective_link_type, score_table};

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
    /// What the check after training found (empty when the model was kept).
    pub training_warnings: Vec<String>,
    pub phase_seconds: Vec<(String, f64)>,
}

/// Re-resolves everything stored. With `keep_model`, the current model scores the
/// store again; otherwise a model is trained from the store.
pub fn resolve(
    ws: &mut Workspace,
    keep_model: bool,
    progress: &dyn Progress,
) -> Result<ResolveReport, EngineError> {
    // Refused before the (long) scoring, with the store's own words.
    ws.require_write()?;
    let mut phases: Vec<(String, f64)> = Vec::new();
    let mut t0 = Instant::now();
    progress.phase("load store", None);
    let stored = load_all(ws.connection())?;
    if stored.ids.is_empty() {
        return Err(EngineError::Invalid(format!(
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
            current_model(ws.connection())?
                .ok_or_else(|| {
                    EngineError::Invalid(
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
    let judgements = active_judgements(ws.connection())?;
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
    progress.done();
    phases.push(("cluster".into(), t0.elapsed().as_secs_f64()));
    t0 = Instant::now();

    let resolution = Resolution {
        records: &stored,
        model: &scored.model,
        rules: &scored.rules,
        settings: &settings,
        edges: &scored.edges,
        labels: &labels,
    };
    let done = store_resolution(ws, &resolution, progress)?;
    phases.push(("write".into(), t0.elapsed().as_secs_f64()));
    let report = ResolveReport {
        run: done.run,
        model: done.model,
        records: n as u64,
        candidate_pairs: scored.candidate_pairs,
        edges: scored.edges.len() as u64,
        entities: done.entities,
        judgements: judgements.len() as u64,
        changes: done.changes,
        rules: scored.rules.iter().map(ToString::to_string).collect(),
        training_warnings: if keep_model {
            Vec::new()
        } else {
            scored.model.training.warnings.clone()
        },
        phase_seconds: phases,
    };
    let summary = serde_json::to_string(&report).expect("report serialises");
    finish_resolution(ws, &done, &summary)?;
    Ok(report)
}
