//! `spirit demo`: resolves the bundled demo data (2,000 synthetic people with known
//! duplicates) with the default settings, then scores the result against its truth.

use std::path::Path;

use anyhow::{Context, Result};
use spirit_engine::evaluate::{EvaluateOptions, evaluate_files};
use spirit_engine::pipeline::{self, ResolveRequest};
use spirit_matching::Settings;
use spirit_matching::eval::Scope;

use crate::Bars;

/// The demo data: synthetic people; `cluster_id` is the ground truth.
const PEOPLE: &str = include_str!("../../../demo/people.csv");

pub fn run(out: &Path, bars: &Bars) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let input = out.join("people.csv");
    std::fs::write(&input, PEOPLE).with_context(|| format!("writing {}", input.display()))?;
    let mut settings = Settings::default();
    // The truth column must never reach the engine.
    settings.input.exclude_columns.push("cluster_id".into());
    let request = ResolveRequest {
        keep_candidates: true,
        ..ResolveRequest::new(vec![input.clone()], settings, out)?
    };
    let output = pipeline::resolve(&request, bars)?;
    bars.clear();
    crate::print_summary(&output.summary);
    println!();
    let result = evaluate_files(
        &out.join("clusters.csv"),
        &input,
        Some(&out.join("candidates.csv")),
        &EvaluateOptions {
            scope: Scope::AllPairs,
        },
    )?;
    println!("Against the ground truth (cluster_id):");
    println!("{result}");
    if let Some(e) = output
        .edges
        .iter()
        .find(|e| e.probability > 0.5 && e.probability < 0.999)
    {
        let scorer = spirit_matching::Scorer::new(output.model.clone(), &output.table);
        let ex = scorer.explain(e.left, e.right);
        println!(
            "Why {} and {} are linked (spirit explain):",
            output.keys[e.left as usize], output.keys[e.right as usize]
        );
        print!("{}", spirit_engine::report::waterfall(&ex));
    }
    println!("\nOutputs: {}", out.display());
    Ok(())
}
