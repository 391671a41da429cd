//! Text reports for people: the run summary and the explanation waterfall.

use std::fmt::Write;

use spirit_matching::model::Explanation;

use crate::pipeline::RunSummary;

/// The run summary as a short text report.
pub fn summary(s: &RunSummary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "SPIRIT resolve ({:?})", s.link_type);
    for src in &s.sources {
        let _ = writeln!(
            o,
            "  source {:<16} {:>9} records  {:>5} quarantined  id column: {}",
            src.source,
            src.records,
            src.quarantined,
            src.id_column.as_deref().unwrap_or("(row number)")
        );
        let mapping: Vec<String> = src
            .mapping
            .iter()
            .map(|(c, k)| format!("{c}→{k}"))
            .collect();
        let _ = writeln!(o, "    columns: {}", mapping.join(", "));
        if !src.ignored_columns.is_empty() {
            let _ = writeln!(o, "    ignored: {}", src.ignored_columns.join(", "));
        }
    }
    if !s.fields.is_empty() {
        let _ = writeln!(o, "  fields (columns with no built-in kind)");
        for f in &s.fields {
            let _ = writeln!(
                o,
                "    {:<30} {:>9} values {:>9} distinct  {}",
                f.field, f.values, f.distinct, f.became
            );
        }
    }
    let _ = writeln!(o, "  comparisons      {}", s.comparisons.join(", "));
    let _ = writeln!(o, "  blocking rules");
    for r in &s.blocking_rules {
        let capped = if r.capped_blocks > 0 {
            format!(
                "  ({} blocks over the cap, {} records)",
                r.capped_blocks, r.capped_records
            )
        } else {
            String::new()
        };
        let added = match (r.added_pairs, r.expected_matches) {
            (Some(p), Some(m)) => format!(", adds ~{p} pairs (~{m} matches)"),
            _ => String::new(),
        };
        let scored = if r.left_out {
            String::new()
        } else {
            format!(", {} scored", r.scored_pairs)
        };
        let out = if r.left_out {
            "  LEFT OUT (over the pair budget, almost no matches)"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "    {:<55} {:>12} pairs in blocks{added}{scored}{capped}{out}",
            r.rule, r.block_pairs
        );
    }
    let _ = writeln!(o, "  records          {:>12}", s.records);
    let _ = writeln!(
        o,
        "  candidate pairs  {:>12}  (blocking reduction {:.6})",
        s.candidate_pairs, s.blocking_reduction
    );
    let _ = writeln!(
        o,
        "  model            {}  prior λ = {:.3e}, EM iterations {}",
        if s.model_trained {
            "trained (unsupervised EM)"
        } else {
            "given"
        },
        s.prior,
        s.em_iterations
    );
    for w in &s.training_warnings {
        let _ = writeln!(o, "  warning          {w}");
    }
    let _ = writeln!(o, "  edges            {:>12}", s.edges);
    let _ = writeln!(
        o,
        "  entities         {:>12}  ({:?} clustering at p ≥ {})",
        s.entities, s.cluster_method, s.threshold
    );
    let phases: Vec<String> = s
        .phase_seconds
        .iter()
        .map(|(n, t)| format!("{n} {t:.2}s"))
        .collect();
    let _ = writeln!(o, "  time             {}", phases.join(", "));
    let _ = writeln!(o, "  outputs in       {}", s.out.display());
    o
}

/// The waterfall of one explanation: prior, each comparison's partial weight, total.
pub fn waterfall(e: &Explanation) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<16} {:<11} {:>8}  {:>8}   values",
        "comparison", "level", "weight", "running"
    );
    let mut running = e.prior_weight;
    let _ = writeln!(
        o,
        "{:<16} {:<11} {:>+8.2}  {:>+8.2}",
        "prior", "", e.prior_weight, running
    );
    for it in &e.items {
        if it.advisory {
            let _ = writeln!(
                o,
                "{:<16} {:<11} {:>+8.2}  {:>8}   advisory, not counted: {}",
                it.comparison,
                it.level,
                it.partial_weight,
                "",
                it.calibration.as_deref().unwrap_or("")
            );
            continue;
        }
        running += it.partial_weight;
        let values = match (&it.left, &it.right) {
            (None, None) => String::new(),
            (l, r) => format!(
                "{} | {}",
                l.as_deref().unwrap_or("∅"),
                r.as_deref().unwrap_or("∅")
            ),
        };
        let tf = if it.tf_adjustment.abs() > 0.005 {
            format!("  (term frequency {:+.2})", it.tf_adjustment)
        } else {
            String::new()
        };
        let tf = match &it.calibration {
            Some(c) => format!("{tf}  ({c})"),
            None => tf,
        };
        let _ = writeln!(
            o,
            "{:<16} {:<11} {:>+8.2}  {:>+8.2}   {values}{tf}",
            it.comparison, it.level, it.partial_weight, running
        );
    }
    let _ = writeln!(
        o,
        "{:<16} {:<11} {:>+8.2}   probability {:.6}",
        "match weight", "", e.match_weight, e.probability
    );
    o
}
