//! A workspace that was never resolved: records are resolved from the first one with the
//! cold-start model, which grows with the kinds the records carry.

use std::collections::BTreeMap;
use std::io::Cursor;

use spirit_model::NoProgress;
use spirit_store::stream::{StreamOptions, add_stream};
use spirit_store::{Workspace, ingest, query, resolve};

const PEOPLE: &str = include_str!("../../../demo/people.csv");

/// Demo rows `range` as JSON Lines (every column a string, the truth left out).
fn jsonl(range: std::ops::Range<usize>) -> String {
    let mut rdr = csv::Reader::from_reader(PEOPLE.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let mut out = String::new();
    for rec in rdr.records().skip(range.start).take(range.len()) {
        let rec = rec.unwrap();
        let obj: serde_json::Map<String, serde_json::Value> = header
            .iter()
            .zip(rec.iter())
            .filter(|(k, _)| *k != "cluster_id")
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.to_string())))
            .collect();
        out.push_str(&serde_json::Value::Object(obj).to_string());
        out.push('\n');
    }
    out
}

fn add(ws: &mut Workspace, text: &str) -> (Vec<String>, String) {
    let (mut acks, mut problems) = (Vec::new(), Vec::new());
    add_stream(
        ws,
        Cursor::new(text.as_bytes().to_vec()),
        &mut acks,
        &mut problems,
        &StreamOptions::new("people"),
    )
    .unwrap();
    (
        String::from_utf8(acks)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
        String::from_utf8(problems).unwrap(),
    )
}

/// Pairwise precision and recall of `got` (record → entity) against the demo truth.
fn precision_recall(got: &BTreeMap<String, i64>) -> (f64, f64) {
    let mut rdr = csv::Reader::from_reader(PEOPLE.as_bytes());
    let truth: BTreeMap<String, String> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .filter(|(k, _)| got.contains_key(k))
        .collect();
    let keys: Vec<&String> = got.keys().collect();
    let (mut tp, mut fp, mut fneg) = (0u64, 0u64, 0u64);
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            match (got[*a] == got[*b], truth[*a] == truth[*b]) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fneg += 1,
                _ => {}
            }
        }
    }
    (
        tp as f64 / (tp + fp).max(1) as f64,
        tp as f64 / (tp + fneg).max(1) as f64,
    )
}

fn entities(ws: &Workspace) -> BTreeMap<String, i64> {
    query::memberships(ws.connection())
        .unwrap()
        .into_iter()
        .map(|(_, record_id, entity)| (record_id, entity))
        .collect()
}

#[test]
fn a_fresh_workspace_resolves_from_the_first_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let (acks, problems) = add(&mut ws, &jsonl(0..1));
    assert!(problems.is_empty(), "{problems}");
    assert_eq!(acks.len(), 1);
    let first = query::record(ws.connection(), "people:0").unwrap().unwrap();
    assert!(first.entity.is_some(), "{first:?}");
    let model = resolve::current_model(ws.connection()).unwrap().unwrap();
    assert!(model.model.is_cold_start());

    // The rest of the demo, one stream: every record acknowledged and in an entity,
    // duplicates found without a single training run.
    let (acks, problems) = add(&mut ws, &jsonl(1..2000));
    assert!(problems.is_empty(), "{problems}");
    assert_eq!(acks.len(), 1999);
    let got = entities(&ws);
    assert_eq!(got.len(), 2000);
    let (p, r) = precision_recall(&got);
    // Without any training: 0.996 precision and 0.991 recall when measured (the
    // figures of `spirit add` into a fresh workspace, docs/benchmarks.md).
    assert!(p >= 0.98 && r >= 0.97, "precision {p}, recall {r}");
}

#[test]
fn the_cold_start_model_grows_with_the_kinds_records_carry() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    add(
        &mut ws,
        "{\"rec_id\": \"a\", \"first_name\": \"Jane\", \"surname\": \"Kowalski\"}\n",
    );
    let first = resolve::current_model(ws.connection()).unwrap().unwrap();
    let names: Vec<String> = first
        .model
        .comparisons
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(names, ["given_name", "surname"]);
    // Same name, and an e-mail: the model now compares e-mails too; the two records
    // still do not link on a name alone.
    add(
        &mut ws,
        "{\"rec_id\": \"b\", \"first_name\": \"Jane\", \"surname\": \"Kowalski\", \"email\": \"jk@example.org\"}\n",
    );
    let second = resolve::current_model(ws.connection()).unwrap().unwrap();
    assert!(second.id > first.id && second.model.is_cold_start());
    assert!(second.model.comparisons.iter().any(|c| c.name == "email"));
    let entity = |ws: &Workspace, key: &str| {
        query::record(ws.connection(), key)
            .unwrap()
            .unwrap()
            .entity
            .unwrap()
    };
    assert_ne!(entity(&ws, "people:a"), entity(&ws, "people:b"));
    // A third record with the same name and e-mail joins b.
    add(
        &mut ws,
        "{\"rec_id\": \"c\", \"first_name\": \"Jane\", \"surname\": \"Kowalsky\", \"email\": \"jk@example.org\"}\n",
    );
    assert_eq!(entity(&ws, "people:b"), entity(&ws, "people:c"));
    let third = resolve::current_model(ws.connection()).unwrap().unwrap();
    assert_eq!(third.id, second.id, "no new kind, no new model");
}

#[test]
fn ingested_records_are_resolved_in_place_without_a_batch_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(&dir.path().join("ws"), None).unwrap();
    let file = dir.path().join("people.csv");
    let text: Vec<&str> = PEOPLE.lines().take(301).collect();
    std::fs::write(&file, text.join("\n") + "\n").unwrap();
    ingest::ingest(&mut ws, None, &file, None, &NoProgress).unwrap();
    assert!(entities(&ws).is_empty());
    let totals = spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
    assert_eq!(totals.records, 300);
    assert_eq!(entities(&ws).len(), 300);
    // Nothing left to do the second time.
    let again = spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
    assert_eq!(again.records, 0);
    let report = spirit_store::check::check(&ws).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

#[test]
fn records_with_nothing_to_compare_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let (acks, problems) = add(&mut ws, "{\"rec_id\": \"a\", \"colour\": \"blue\"}\n");
    assert!(acks.is_empty(), "{acks:?}");
    assert!(problems.contains(":1:"), "{problems}");
    assert!(problems.contains("colour"), "{problems}");
    assert!(resolve::current_model(ws.connection()).unwrap().is_none());
    assert!(
        query::record(ws.connection(), "people:a")
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_streamed_record_joins_by_any_of_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let (acks, problems) = add(
        &mut ws,
        "{\"rec_id\": \"a\", \"first_name\": \"Jane\", \"surname\": \"Kowalski\", \
          \"email\": [\"jk@home.example\", \"jane.k@work.example\"]}\n\
         {\"rec_id\": \"b\", \"first_name\": \"Jane\", \"surname\": \"Kowalski\", \
          \"email\": \"other@else.example\"}\n\
         {\"rec_id\": \"c\", \"first_name\": \"Jane\", \"surname\": \"Kowalsky\", \
          \"email\": \"Jane.K@work.example; jk2@mail.example\"}\n",
    );
    assert!(problems.is_empty(), "{problems}");
    assert_eq!(acks.len(), 3);
    let a = query::record(ws.connection(), "people:a").unwrap().unwrap();
    let emails: Vec<Option<String>> = a
        .attributes
        .iter()
        .filter(|(k, _, _)| k == "email")
        .map(|(_, _, v)| v.clone())
        .collect();
    assert_eq!(
        emails,
        [
            Some("jk@home.example".to_string()),
            Some("jane.k@work.example".to_string())
        ]
    );
    let entity = |key: &str| {
        query::record(ws.connection(), key)
            .unwrap()
            .unwrap()
            .entity
            .unwrap()
    };
    // c shares a's second address (and c's is the first of two): one person. b has the
    // name only.
    assert_eq!(entity("people:a"), entity("people:c"));
    assert_ne!(entity("people:a"), entity("people:b"));
}
