//! Blocking rules chosen from the data: when the default rules together propose more
//! candidate pairs than the budget, the rules whose added pairs training expects to be
//! almost never matches are left out, and accuracy holds.

use std::path::{Path, PathBuf};

use spirit_engine::evaluate::{EvaluateOptions, evaluate_files};
use spirit_engine::pipeline::{ResolveOutput, ResolveRequest, resolve};
use spirit_matching::Settings;
use spirit_matching::eval::Scope;
use spirit_matching::settings::BlockingRuleSetting;
use spirit_model::NoProgress;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv")
}

fn run(dir: &Path, name: &str, settings: Settings) -> (ResolveOutput, f64) {
    let mut settings = settings;
    settings.input.exclude_columns = vec!["cluster_id".into()];
    let out = dir.join(name);
    let request = ResolveRequest {
        id_column: Some("rec_id".into()),
        ..ResolveRequest::new(vec![demo()], settings, out.clone()).unwrap()
    };
    let output = resolve(&request, &NoProgress).unwrap();
    let f1 = evaluate_files(
        &out.join("clusters.csv"),
        &demo(),
        None,
        &EvaluateOptions {
            scope: Scope::AllPairs,
        },
    )
    .unwrap()
    .report
    .pairwise
    .f1;
    (output, f1)
}

#[test]
fn poor_rules_are_left_out_over_the_pair_budget_and_accuracy_holds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Within the default budget nothing is left out, and every rule says what it adds.
    let (all, all_f1) = run(d, "all", Settings::default());
    let rules = &all.summary.blocking_rules;
    assert!(rules.len() > 4, "{} default rules", rules.len());
    assert!(rules.iter().all(|r| !r.left_out));
    assert!(rules.iter().all(|r| r.added_pairs.is_some()));
    assert!(all_f1 > 0.95, "F1 {all_f1}");
    // Each candidate pair is scored for the one rule that proposed it first.
    let scored: u64 = rules.iter().map(|r| r.scored_pairs).sum();
    assert_eq!(scored, all.summary.candidate_pairs);
    assert!(rules[0].scored_pairs > 0);

    // A budget every rule set exceeds, and a floor of one match in ten added pairs:
    // the rules rarely adding matches go.
    let mut tight = Settings::default();
    tight.resolve.pairs_per_record = 0.01;
    tight.resolve.min_rule_yield = 0.1;
    let (few, few_f1) = run(d, "few", tight.clone());
    let out: Vec<_> = few
        .summary
        .blocking_rules
        .iter()
        .filter(|r| r.left_out)
        .collect();
    assert!(!out.is_empty(), "no rule was left out");
    for r in &out {
        assert_eq!(r.scored_pairs, 0, "{} was left out", r.rule);
        let (pairs, matches) = (r.added_pairs.unwrap(), r.expected_matches.unwrap());
        assert!(
            (matches as f64) < 0.1 * pairs as f64 + 1.0,
            "{}: {matches} matches in {pairs} pairs",
            r.rule
        );
    }
    assert!(
        out.len() < few.summary.blocking_rules.len(),
        "rules that find matches stay"
    );
    assert!(
        few.summary.candidate_pairs < all.summary.candidate_pairs,
        "{} candidate pairs, {} with every rule",
        few.summary.candidate_pairs,
        all.summary.candidate_pairs
    );
    assert!(few_f1 >= all_f1 - 0.005, "F1 {few_f1} against {all_f1}");
    // Every edge left is an edge of the full run, with the same weight.
    let full: std::collections::HashMap<(u32, u32), f64> = all
        .edges
        .iter()
        .map(|e| ((e.left, e.right), e.weight))
        .collect();
    for e in &few.edges {
        assert_eq!(full.get(&(e.left, e.right)), Some(&e.weight));
    }

    // No floor: nothing goes, whatever the budget.
    let mut no_floor = tight.clone();
    no_floor.resolve.min_rule_yield = 0.0;
    let (kept, _) = run(d, "kept", no_floor);
    assert!(kept.summary.blocking_rules.iter().all(|r| !r.left_out));
    assert_eq!(kept.summary.candidate_pairs, all.summary.candidate_pairs);

    // Rules the settings give are the user's: none is left out.
    let mut given = tight;
    given.blocking = vec![
        BlockingRuleSetting {
            keys: vec!["surname:exact".into()],
        },
        BlockingRuleSetting {
            keys: vec!["postcode:exact".into()],
        },
    ];
    let (theirs, _) = run(d, "theirs", given);
    assert!(theirs.summary.blocking_rules.iter().all(|r| !r.left_out));
}
