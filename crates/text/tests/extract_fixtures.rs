//! Precision and recall of identifier extraction per kind on the labelled fixture set
//! (`tests/fixtures/extract/labelled.jsonl`, written by `examples/gen_extract_fixtures.rs`).
//!
//! `cargo test -p spirit-text --test extract_fixtures -- --nocapture` prints the table.

use std::collections::BTreeMap;

use spirit_text::extract::{Extractor, Finding, Kind};

const FIXTURE: &str = include_str!("fixtures/extract/labelled.jsonl");

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

fn check_offsets(input: &str, found: &[Finding]) {
    for f in found {
        assert!(f.start <= f.end && f.end <= input.len(), "{f:?}");
        assert!(
            input.is_char_boundary(f.start) && input.is_char_boundary(f.end),
            "{f:?}"
        );
        if f.kind != Kind::Card {
            assert_eq!(f.raw, &input[f.start..f.end], "{f:?}");
        }
    }
}

#[test]
fn precision_and_recall_per_kind() {
    let x = Extractor::new("GB");
    let mut counts: BTreeMap<Kind, Counts> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut lines = 0;
    for line in FIXTURE.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        let v: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
        let text = v["text"].as_str().expect("text");
        let html = v["html"].as_bool().unwrap_or(false);
        let mut expected: Vec<(Kind, String)> = v["expected"]
            .as_array()
            .expect("expected")
            .iter()
            .map(|e| {
                let k = e["kind"].as_str().expect("kind");
                (
                    Kind::parse(k).unwrap_or_else(|| panic!("unknown kind {k}")),
                    e["value"].as_str().expect("value").to_string(),
                )
            })
            .collect();
        let found = if html {
            x.extract_html(text)
        } else {
            x.extract_text(text)
        };
        check_offsets(text, &found);
        for f in &found {
            if f.kind == Kind::Card {
                assert!(!f.raw.contains("111111111111"), "unmasked card {f:?}");
            }
            let c = counts.entry(f.kind).or_default();
            match expected
                .iter()
                .position(|(k, val)| *k == f.kind && *val == f.value)
            {
                Some(i) => {
                    expected.swap_remove(i);
                    c.tp += 1;
                }
                None => {
                    c.fp += 1;
                    errors.push(format!("FP {} {:?} in {text:?}", f.kind, f.value));
                }
            }
        }
        for (k, val) in expected {
            counts.entry(k).or_default().fn_ += 1;
            errors.push(format!("FN {k} {val:?} in {text:?}"));
        }
    }
    println!("{lines} fixture lines");
    println!(
        "{:<16} {:>5} {:>4} {:>4} {:>9} {:>7}",
        "kind", "tp", "fp", "fn", "precision", "recall"
    );
    let mut failed = Vec::new();
    for k in Kind::ALL {
        let c = counts.entry(k).or_default();
        let p = c.tp as f64 / (c.tp + c.fp).max(1) as f64;
        let r = c.tp as f64 / (c.tp + c.fn_).max(1) as f64;
        println!(
            "{:<16} {:>5} {:>4} {:>4} {:>9.3} {:>7.3}",
            k.as_str(),
            c.tp,
            c.fp,
            c.fn_,
            p,
            r
        );
        if c.tp == 0 || p < 0.99 || r < 0.97 {
            failed.push(k);
        }
    }
    for e in &errors {
        println!("{e}");
    }
    assert!(
        failed.is_empty(),
        "below precision 0.99 / recall 0.97 (or untested): {failed:?}"
    );
}
