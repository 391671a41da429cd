//! The workspace re-run with the identity store, through the library: ingest, batch
//! re-run, stable ids, incremental additions agreeing with batch, judgements as
//! constraints, the cold-start model replaced by the first re-run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use spirit_model::NoProgress;
use spirit_store::judge::{Verdict, judge};
use spirit_store::stream::{StreamOptions, add_stream};
use spirit_store::workspace::Access;
use spirit_store::{StoreError, Workspace, check, ingest, query};

const PEOPLE: &str = include_str!("../../../demo/people.csv");

/// The demo rows (header first) as CSV lines.
fn lines() -> Vec<&'static str> {
    PEOPLE.lines().collect()
}

/// Writes rows `range` of the demo data (with its header) as a CSV file.
fn csv_file(dir: &Path, name: &str, range: std::ops::Range<usize>) -> PathBuf {
    let l = lines();
    let mut text = String::from(l[0]);
    text.push('\n');
    for row in &l[1 + range.start..1 + range.end] {
        text.push_str(row);
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Rows `range` of the demo data as JSON Lines.
fn jsonl(range: std::ops::Range<usize>) -> String {
    let l = lines();
    let header: Vec<&str> = l[0].split(',').collect();
    let mut out = String::new();
    for row in &l[1 + range.start..1 + range.end] {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(row.as_bytes());
        let rec = rdr.records().next().unwrap().unwrap();
        let obj: serde_json::Map<String, serde_json::Value> = header
            .iter()
            .zip(rec.iter())
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        out.push_str(&serde_json::Value::Object(obj).to_string());
        out.push('\n');
    }
    out
}

/// Ground truth of the demo data: rec_id → cluster_id.
fn truth() -> BTreeMap<String, String> {
    let mut rdr = csv::Reader::from_reader(PEOPLE.as_bytes());
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect()
}

/// record_id → entity of every resolved record.
fn clusters(ws: &Workspace) -> BTreeMap<String, i64> {
    query::memberships(ws.connection())
        .unwrap()
        .into_iter()
        .map(|(_, record_id, entity)| (record_id, entity))
        .collect()
}

fn pairs<V: Ord + Clone>(m: &BTreeMap<String, V>) -> BTreeSet<(String, String)> {
    let mut groups: BTreeMap<V, Vec<&String>> = BTreeMap::new();
    for (k, v) in m {
        groups.entry(v.clone()).or_default().push(k);
    }
    let mut out = BTreeSet::new();
    for g in groups.values() {
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                out.insert(((*a).clone(), (*b).clone()));
            }
        }
    }
    out
}

/// Pairwise F1 of `got` against `want`, over the records both hold.
fn pairwise_f1<A: Ord + Clone, B: Ord + Clone>(
    got: &BTreeMap<String, A>,
    want: &BTreeMap<String, B>,
) -> f64 {
    let want: BTreeMap<String, B> = want
        .iter()
        .filter(|(k, _)| got.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (g, w) = (pairs(got), pairs(&want));
    let tp = g.intersection(&w).count() as f64;
    let p = if g.is_empty() {
        1.0
    } else {
        tp / g.len() as f64
    };
    let r = if w.is_empty() {
        1.0
    } else {
        tp / w.len() as f64
    };
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// A workspace holding demo rows `0..seed` resolved once.
fn seeded(dir: &Path, seed: usize) -> Workspace {
    let mut ws = Workspace::init(dir, None).unwrap();
    let file = csv_file(dir, "people.csv", 0..seed);
    let report = ingest::ingest(&mut ws, None, &file, None, &NoProgress).unwrap();
    assert_eq!(report.stored, seed as u64);
    spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    ws
}

fn add(ws: &mut Workspace, text: String) -> (String, String) {
    let (mut acks, mut problems) = (Vec::new(), Vec::new());
    add_stream(
        ws,
        Cursor::new(text.into_bytes()),
        &mut acks,
        &mut problems,
        &StreamOptions::new("people"),
    )
    .unwrap();
    (
        String::from_utf8(acks).unwrap(),
        String::from_utf8(problems).unwrap(),
    )
}

#[test]
fn incremental_agrees_with_batch_and_truth() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = seeded(dir.path(), 1500);
    let (acks, problems) = add(&mut ws, jsonl(1500..2000));
    assert_eq!(problems, "");
    let ack_lines: Vec<&str> = acks.lines().collect();
    assert_eq!(ack_lines.len(), 500);
    assert!(ack_lines[0].starts_with("1500,E"), "{}", ack_lines[0]);
    let incremental = clusters(&ws);
    assert_eq!(incremental.len(), 2000);
    // Every acknowledgement names the entity the store holds.
    for line in &ack_lines {
        let (id, entity) = line.split_once(',').unwrap();
        assert_eq!(format!("E{}", incremental[id]), entity);
    }
    assert!(check::check(&ws).unwrap().ok());

    // The batch path over the same records and model.
    spirit_engine::workspace::resolve(&mut ws, true, &NoProgress).unwrap();
    let batch = clusters(&ws);
    let agreement = pairwise_f1(&incremental, &batch);
    assert!(agreement >= 0.99, "incremental vs batch F1 {agreement}");
    let quality = pairwise_f1(&incremental, &truth());
    assert!(quality >= 0.97, "incremental vs truth F1 {quality}");

    // Adding the same stream again changes nothing and acknowledges every record.
    let before = clusters(&ws);
    let (again, problems) = add(&mut ws, jsonl(1500..2000));
    assert_eq!(problems, "");
    assert_eq!(again.lines().count(), 500);
    assert_eq!(clusters(&ws), before);
}

#[test]
fn entity_ids_survive_a_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = seeded(dir.path(), 600);
    let first = clusters(&ws);
    let report = spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    assert_eq!(clusters(&ws), first);
    assert_eq!(report.changes.created, 0);
    assert_eq!(report.changes.moved, 0);
    // New records joining a re-run keep the old ids of the entities they join.
    let file = csv_file(dir.path(), "more.csv", 600..900);
    ingest::ingest(&mut ws, Some("people"), &file, None, &NoProgress).unwrap();
    spirit_engine::workspace::resolve(&mut ws, true, &NoProgress).unwrap();
    let after = clusters(&ws);
    let kept = first.iter().filter(|(k, v)| after[*k] == **v).count();
    assert!(
        kept as f64 >= 0.99 * first.len() as f64,
        "{kept} of {} kept their entity",
        first.len()
    );
    assert!(check::check(&ws).unwrap().ok());
}

/// Two records the clustering put together, and two it kept apart.
fn together_and_apart(ws: &Workspace) -> ((String, String), (String, String)) {
    let c = clusters(ws);
    let mut by_entity: BTreeMap<i64, Vec<&String>> = BTreeMap::new();
    for (k, e) in &c {
        by_entity.entry(*e).or_default().push(k);
    }
    let pair = by_entity.values().find(|v| v.len() == 2).unwrap();
    let together = (pair[0].clone(), pair[1].clone());
    let singles: Vec<&String> = by_entity
        .values()
        .filter(|v| v.len() == 1)
        .map(|v| v[0])
        .take(2)
        .collect();
    (together, (singles[0].clone(), singles[1].clone()))
}

#[test]
fn judgements_split_merge_and_hold_through_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = seeded(dir.path(), 400);
    let ((a, b), (x, y)) = together_and_apart(&ws);
    let entity = |ws: &Workspace, r: &str| clusters(ws)[r];

    // not-same splits two records the model joined.
    let r = judge(
        &mut ws,
        Verdict::NotSame,
        &a,
        &b,
        "ana",
        "different fathers",
    )
    .unwrap();
    assert_ne!(r.left_entity, r.right_entity);
    assert_ne!(entity(&ws, &a), entity(&ws, &b));
    // same joins two records the model kept apart.
    let r = judge(&mut ws, Verdict::Same, &x, &y, "ana", "same passport").unwrap();
    assert_eq!(r.left_entity, r.right_entity);
    assert_eq!(entity(&ws, &x), entity(&ws, &y));
    assert!(check::check(&ws).unwrap().ok());

    // Both hold through a batch re-run, with or without retraining.
    spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    assert_ne!(entity(&ws, &a), entity(&ws, &b));
    assert_eq!(entity(&ws, &x), entity(&ws, &y));

    // A contradiction is refused and changes nothing.
    let e = judge(&mut ws, Verdict::Same, &a, &x, "bo", "typo").unwrap();
    assert_eq!(e.left_entity, e.right_entity);
    let refused = judge(&mut ws, Verdict::Same, &b, &y, "bo", "chain").unwrap_err();
    assert!(
        matches!(refused, StoreError::Contradiction { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("contradicts"), "{refused}");

    // Withdrawing the not-same lets the evidence join a and b again.
    judge(&mut ws, Verdict::Unsure, &a, &x, "bo", "").unwrap();
    judge(&mut ws, Verdict::Unsure, &a, &b, "ana", "withdrawn").unwrap();
    assert_eq!(entity(&ws, &a), entity(&ws, &b));

    // The history shows the split, the merge and the judgements.
    let e = format!("E{}", entity(&ws, &a));
    let history = query::history(ws.connection(), &e).unwrap().unwrap();
    let kinds: BTreeSet<&str> = history.iter().map(|h| h.kind.as_str()).collect();
    assert!(kinds.contains("judgement"), "{kinds:?}");
    assert!(kinds.contains("create"), "{kinds:?}");
    let view = query::entity(ws.connection(), &e).unwrap().unwrap();
    assert!(view.judgements.len() >= 2);
    assert!(view.judgements.iter().any(|j| !j.in_force));
    assert!(check::check(&ws).unwrap().ok());

    // Judging a record with itself, an unknown record or without a reason is refused.
    assert!(judge(&mut ws, Verdict::Same, &a, &a, "ana", "x").is_err());
    assert!(judge(&mut ws, Verdict::Same, &a, "nope:1", "ana", "x").is_err());
    assert!(judge(&mut ws, Verdict::Same, &a, &y, "ana", " ").is_err());
}

#[test]
fn records_and_entities_are_shown_with_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let ws = seeded(dir.path(), 300);
    let ((a, _), _) = together_and_apart(&ws);
    let rec = query::record(ws.connection(), &a).unwrap().unwrap();
    assert_eq!(rec.key, format!("people:{a}"));
    assert!(
        rec.provenance
            .ends_with(&format!(":{}", a.parse::<usize>().unwrap() + 2))
    );
    assert!(rec.payload.starts_with(&format!("{a},")), "{}", rec.payload);
    let entity = rec.entity.clone().unwrap();
    let view = query::entity(ws.connection(), &entity).unwrap().unwrap();
    assert_eq!(view.records.len(), 2);
    assert_eq!(view.edge_count, 1);
    let edge = &view.edges[0];
    let sum: f64 = edge.partials.iter().map(|p| p.1).sum();
    assert!(edge.weight > 0.0);
    // The stored partial weights explain the weight: they sum to it, less the prior.
    let model = spirit_store::resolve::current_model(ws.connection())
        .unwrap()
        .unwrap();
    let prior =
        (model.model.prior / (1.0 - model.model.prior - model.model.household_prior)).log2();
    assert!(
        (sum + prior - edge.weight).abs() < 1e-3,
        "{sum} {prior} {}",
        edge.weight
    );
    assert!(
        query::record(ws.connection(), "people:999999")
            .unwrap()
            .is_none()
    );
    assert!(query::entity(ws.connection(), "E999999").unwrap().is_none());
    assert!(query::entity(ws.connection(), "banana").is_err());
}

#[test]
fn the_first_resolve_replaces_the_cold_start_model_and_rechecks_every_entity() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let (acks, problems) = add(&mut ws, jsonl(0..400));
    assert!(problems.is_empty(), "{problems}");
    assert_eq!(acks.lines().count(), 400);
    let cold = spirit_store::resolve::current_model(ws.connection())
        .unwrap()
        .unwrap();
    assert!(cold.model.is_cold_start());
    let report = spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    let trained = spirit_store::resolve::current_model(ws.connection())
        .unwrap()
        .unwrap();
    assert!(!trained.model.is_cold_start() && trained.id > cold.id);
    assert_eq!(report.records, 400);
    let f1 = pairwise_f1(&clusters(&ws), &truth());
    assert!(f1 >= 0.95, "trained F1 {f1}");
    // Adding goes on with the trained model.
    add(&mut ws, jsonl(400..420));
    assert_eq!(
        spirit_store::resolve::current_model(ws.connection())
            .unwrap()
            .unwrap()
            .id,
        trained.id
    );
    drop(ws);
    let mut reader = Workspace::open(dir.path(), Access::Read).unwrap();
    let e = spirit_engine::workspace::resolve(&mut reader, false, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("reading only"), "{e}");
}

#[test]
fn bad_lines_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = seeded(dir.path(), 200);
    let mut text = jsonl(200..202);
    text.push_str("{not json\n");
    text.push_str("[1, 2]\n");
    text.push_str("{\"first_name\": \"Ann\"}\n");
    // Same id as a stored record, other content: a conflict, not an overwrite.
    text.push_str("{\"rec_id\": \"0\", \"first_name\": \"Zed\"}\n");
    let (acks, problems) = add(&mut ws, text);
    assert_eq!(acks.lines().count(), 2, "{acks}");
    let p: Vec<&str> = problems.lines().collect();
    assert_eq!(p.len(), 4, "{problems}");
    assert!(p[0].starts_with("<stdin>:3: not valid JSON"), "{}", p[0]);
    assert!(p[1].contains("JSON object"), "{}", p[1]);
    assert!(p[2].contains("no record id"), "{}", p[2]);
    assert!(
        p[3].contains("already stored with different content"),
        "{}",
        p[3]
    );
    let rec = query::record(ws.connection(), "people:0").unwrap().unwrap();
    assert!(!rec.payload.contains("Zed"));
}

/// A resolved workspace of demo rows 0..120, made once and copied per case.
fn template() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        drop(seeded(dir.path(), 120));
        dir
    })
    .path()
}

/// Copies the template workspace, and its key folder beside it, into `to`.
fn copy_template(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["spirit.db", "settings.toml"] {
        std::fs::copy(template().join(f), to.join(f)).unwrap();
    }
    let (from_keys, to_keys) = (
        spirit_store::keys::key_dir(template(), None),
        spirit_store::keys::key_dir(to, None),
    );
    std::fs::create_dir_all(&to_keys).unwrap();
    for entry in std::fs::read_dir(&from_keys).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to_keys.join(entry.file_name())).unwrap();
    }
}

#[derive(Clone, Debug)]
enum Op {
    Add(usize),
    Judge(u8, usize, usize),
    Rerun,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (120usize..180).prop_map(Op::Add),
        4 => (0u8..3, 0usize..180, 0usize..180).prop_map(|(v, a, b)| Op::Judge(v, a, b)),
        1 => Just(Op::Rerun),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any sequence of additions, judgements and re-runs leaves clusters that honour
    /// every judgement in force (the check verifies each one) and a sound store.
    #[test]
    fn every_judgement_holds(ops in proptest::collection::vec(op(), 1..14)) {
        let dir = tempfile::tempdir().unwrap();
        let ws_dir = dir.path().join("ws");
        copy_template(&ws_dir);
        let mut ws = Workspace::open(&ws_dir, Access::Write).unwrap();
        let mut stored: BTreeSet<usize> = (0..120).collect();
        for op in ops {
            match op {
                Op::Add(i) => {
                    add(&mut ws, jsonl(i..i + 1));
                    stored.insert(i);
                }
                Op::Judge(v, a, b) => {
                    if a == b || !stored.contains(&a) || !stored.contains(&b) {
                        continue;
                    }
                    let verdict = [Verdict::Same, Verdict::NotSame, Verdict::Unsure][v as usize];
                    match judge(&mut ws, verdict, &a.to_string(), &b.to_string(), "t", "r") {
                        Ok(_) => {}
                        Err(StoreError::Contradiction { .. }) => {}
                        Err(e) => prop_assert!(false, "{}", e),
                    }
                }
                Op::Rerun => {
                    spirit_engine::workspace::resolve(&mut ws, true, &NoProgress).unwrap();
                }
            }
            let report = check::check(&ws).unwrap();
            prop_assert!(report.ok(), "{:?}", report.problems);
        }
    }
}
