//! The store when writing fails, through the library: a database that may not grow
//! (a full disk, made with `PRAGMA max_page_count`) and one that refuses writes
//! (`PRAGMA query_only`). Each must give a clear error naming the workspace, keep what
//! was committed before, stay sound, and take the same work again once the cause is gone.
//! `crates/cli/tests/store_reliability.rs` does the same with a real tmpfs and a
//! read-only mount where the machine allows mounting.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use spirit_model::NoProgress;
use spirit_store::ingest::INGEST_CHUNK;
use spirit_store::stream::{StreamOptions, add_stream};
use spirit_store::workspace::Access;
use spirit_store::{StoreError, Workspace, check, ingest, parse_entity};

const PEOPLE: &str = include_str!("../../../demo/people.csv");

/// Demo rows stored with `ingest` before the model is trained; the rest are streamed.
const INGESTED: usize = 1500;

/// The demo header and rows (the file has no quoted fields).
fn demo() -> (Vec<&'static str>, Vec<Vec<&'static str>>) {
    let mut lines = PEOPLE.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2000);
    (header, rows)
}

/// Writes a CSV file of `n` rows made from the demo rows, ids `b00000`, `b00001`, …
fn big_csv(dir: &Path, n: usize) -> PathBuf {
    let (header, rows) = demo();
    let mut text = header.join(",");
    text.push('\n');
    for i in 0..n {
        let mut row = rows[i % rows.len()].clone();
        let id = format!("b{i:05}");
        row[0] = &id;
        text.push_str(&row.join(","));
        text.push('\n');
    }
    let path = dir.join("big.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// The streamed demo rows: their ids and JSON Lines text.
fn stream() -> (Vec<String>, String) {
    let (header, rows) = demo();
    let mut ids = Vec::new();
    let mut text = String::new();
    for row in &rows[INGESTED..] {
        let object: serde_json::Map<String, serde_json::Value> = header
            .iter()
            .zip(row)
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        text.push_str(&serde_json::Value::Object(object).to_string());
        text.push('\n');
        ids.push(row[0].to_string());
    }
    (ids, text)
}

/// A workspace in `dir` holding the first [`INGESTED`] demo rows (source `people`),
/// resolved once so that records can be added.
fn resolved_workspace(dir: &Path) -> Workspace {
    let (header, rows) = demo();
    let mut text = header.join(",");
    text.push('\n');
    for row in &rows[..INGESTED] {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    let file = dir.join("first.csv");
    std::fs::write(&file, text).unwrap();
    let ws_dir = dir.join("ws");
    let mut ws = Workspace::init(&ws_dir, None).unwrap();
    ingest::ingest(&mut ws, Some("people"), &file, None, &NoProgress).unwrap();
    spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
    ws
}

fn page_count(ws: &Workspace) -> i64 {
    ws.connection()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap()
}

/// Lets the database grow by at most `pages` pages over its current size: past that,
/// SQLite reports SQLITE_FULL exactly as on a full disk.
fn cap_growth(ws: &Workspace, pages: i64) {
    let cap = page_count(ws) + pages;
    ws.connection()
        .pragma_update(None, "max_page_count", cap)
        .unwrap();
    let now: i64 = ws
        .connection()
        .query_row("PRAGMA max_page_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(now, cap);
}

fn scalar(ws: &Workspace, sql: &str) -> i64 {
    ws.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Runs the integrity check and asserts it found nothing.
fn assert_sound(ws: &Workspace) -> check::CheckReport {
    let report = check::check(ws).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    report
}

/// The entity of `stream:id`, if the record is stored and resolved.
fn entity_of(ws: &Workspace, id: &str) -> Option<i64> {
    ws.connection()
        .query_row(
            "SELECT m.entity FROM records r JOIN sources s ON s.id = r.source \
             JOIN membership m ON m.record = r.id WHERE s.name = 'stream' AND r.record_id = ?1",
            [id],
            |r| r.get(0),
        )
        .ok()
}

/// The entity `e` became: itself while live, else the end of its merges.
fn live_entity(ws: &Workspace, mut e: i64) -> i64 {
    for _ in 0..1000 {
        let into: Option<i64> = ws
            .connection()
            .query_row(
                "SELECT retired_into FROM entities WHERE id = ?1",
                [e],
                |r| r.get(0),
            )
            .unwrap();
        match into {
            Some(next) => e = next,
            None => return e,
        }
    }
    panic!("a cycle of merges from E{e}");
}

/// A full disk in the middle of an ingest: `DiskFull` naming the workspace, the chunks
/// committed before kept whole, the store sound; once there is room, the same ingest
/// stores the rest, each row once.
#[test]
fn a_full_disk_during_ingest_keeps_the_committed_chunks() {
    const ROWS: usize = 3 * INGEST_CHUNK;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ws");
    let file = big_csv(tmp.path(), ROWS);
    let mut ws = Workspace::init(&dir, None).unwrap();
    // One chunk of demo rows takes about 650 pages of 4 KiB, the file about 2,000.
    cap_growth(&ws, 1000);
    let e = ingest::ingest(&mut ws, Some("big"), &file, None, &NoProgress).unwrap_err();
    assert!(matches!(&e, StoreError::DiskFull(p) if p == &dir), "{e:?}");
    let message = e.to_string();
    assert!(
        message.contains("disk full") && message.contains(&dir.display().to_string()),
        "{message}"
    );
    drop(ws);

    let ws = Workspace::open(&dir, Access::Read).unwrap();
    let report = assert_sound(&ws);
    let before = report.records as usize;
    assert!(
        before.is_multiple_of(INGEST_CHUNK) && (INGEST_CHUNK..ROWS).contains(&before),
        "{before} records stored: expected whole chunks of {INGEST_CHUNK}, fewer than {ROWS}"
    );
    // The first rows of the file, each once.
    assert_eq!(
        scalar(&ws, "SELECT count(DISTINCT record_id) FROM records") as usize,
        before
    );
    let last: String = ws
        .connection()
        .query_row("SELECT max(record_id) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(last, format!("b{:05}", before - 1));
    drop(ws);

    // The cap belonged to the connection: a new one has room again.
    let mut ws = Workspace::open(&dir, Access::Write).unwrap();
    let r = ingest::ingest(&mut ws, Some("big"), &file, None, &NoProgress).unwrap();
    assert_eq!(r.read as usize, ROWS);
    assert_eq!(r.stored as usize, ROWS - before);
    assert_eq!(r.already_stored as usize, before);
    assert!(r.conflicts.is_empty(), "{:?}", r.conflicts);
    let report = assert_sound(&ws);
    assert_eq!(report.records as usize, ROWS);
}

/// A full disk in the middle of a stream of additions: `DiskFull`, and exactly the
/// acknowledged records are stored, in the entities they were acknowledged with; the
/// whole stream sent again acknowledges them again and adds the rest.
#[test]
fn a_full_disk_during_add_keeps_exactly_the_acknowledged_records() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = resolved_workspace(tmp.path());
    let dir = ws.dir().to_path_buf();
    let (ids, text) = stream();
    let mut options = StreamOptions::new("stream");
    options.max_batch = 10;
    cap_growth(&ws, 40);
    let (mut acks, mut problems) = (Vec::new(), Vec::new());
    let e = add_stream(
        &mut ws,
        Cursor::new(text.clone().into_bytes()),
        &mut acks,
        &mut problems,
        &options,
    )
    .unwrap_err();
    assert!(matches!(&e, StoreError::DiskFull(p) if p == &dir), "{e:?}");
    assert!(e.to_string().contains(&dir.display().to_string()), "{e}");
    let acks = String::from_utf8(acks).unwrap();
    let acked: Vec<(&str, i64)> = acks
        .lines()
        .map(|l| {
            let (id, e) = l.split_once(',').unwrap();
            (id, parse_entity(e).unwrap())
        })
        .collect();
    assert!(
        !acked.is_empty() && acked.len() < ids.len(),
        "{} of {} records acknowledged: adjust the cap",
        acked.len(),
        ids.len()
    );
    eprintln!(
        "{} of {} records acknowledged before the disk was full",
        acked.len(),
        ids.len()
    );
    drop(ws);

    let ws = Workspace::open(&dir, Access::Read).unwrap();
    let report = assert_sound(&ws);
    assert_eq!(report.records as usize, INGESTED + acked.len());
    assert_eq!(report.unresolved_records, 0);
    for (i, (id, e)) in acked.iter().enumerate() {
        assert_eq!(*id, ids[i], "acknowledgement {i} out of order");
        let now = entity_of(&ws, id).unwrap_or_else(|| panic!("stream:{id} was acked, not stored"));
        assert_eq!(live_entity(&ws, *e), now, "stream:{id}");
    }
    drop(ws);

    let mut ws = Workspace::open(&dir, Access::Write).unwrap();
    let mut again = Vec::new();
    let r = add_stream(
        &mut ws,
        Cursor::new(text.into_bytes()),
        &mut again,
        &mut problems,
        &options,
    )
    .unwrap();
    assert_eq!(r.totals.already_stored as usize, acked.len());
    assert_eq!(r.totals.stored as usize, ids.len() - acked.len());
    assert_eq!(r.totals.rejected, 0);
    assert_eq!(String::from_utf8(again).unwrap().lines().count(), ids.len());
    let report = assert_sound(&ws);
    assert_eq!(report.records as usize, INGESTED + ids.len());
    assert_eq!(report.unresolved_records, 0);
    assert!(
        problems.is_empty(),
        "{}",
        String::from_utf8_lossy(&problems)
    );
}

/// A database that refuses writes: ingest and add fail with `ReadOnly` naming the
/// workspace, nothing is written, and the store stays sound and usable.
#[test]
fn a_read_only_database_refuses_ingest_and_add_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = resolved_workspace(tmp.path());
    let dir = ws.dir().to_path_buf();
    let file = big_csv(tmp.path(), 10);
    let (_, text) = stream();
    let runs = scalar(&ws, "SELECT count(*) FROM runs");
    ws.connection()
        .pragma_update(None, "query_only", true)
        .unwrap();

    let e = ingest::ingest(&mut ws, Some("big"), &file, None, &NoProgress).unwrap_err();
    assert!(
        matches!(&e, StoreError::ReadOnly { path, .. } if path == &dir),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains(&format!("workspace {} is read-only", dir.display())),
        "{e}"
    );
    let (mut acks, mut problems) = (Vec::new(), Vec::new());
    let e = add_stream(
        &mut ws,
        Cursor::new(text.clone().into_bytes()),
        &mut acks,
        &mut problems,
        &StreamOptions::new("stream"),
    )
    .unwrap_err();
    assert!(
        matches!(&e, StoreError::ReadOnly { path, .. } if path == &dir),
        "{e:?}"
    );
    assert!(acks.is_empty());
    let e = spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap_err();
    assert!(
        matches!(&e, StoreError::ReadOnly { path, .. } if path == &dir),
        "{e:?}"
    );

    // Nothing was written, not even the start of a run.
    assert_eq!(scalar(&ws, "SELECT count(*) FROM runs"), runs);
    let report = assert_sound(&ws);
    assert_eq!(report.records as usize, INGESTED);

    // Writable again, the same work goes through.
    ws.connection()
        .pragma_update(None, "query_only", false)
        .unwrap();
    let r = ingest::ingest(&mut ws, Some("big"), &file, None, &NoProgress).unwrap();
    assert_eq!(r.stored, 10);
    let r = add_stream(
        &mut ws,
        Cursor::new(text.into_bytes()),
        &mut acks,
        &mut problems,
        &StreamOptions::new("stream"),
    )
    .unwrap();
    assert_eq!(r.totals.stored as usize, 2000 - INGESTED);
    assert_eq!(assert_sound(&ws).records as usize, 2000 + 10);
}

/// A workspace opened for reading refuses every writer with a clear error.
#[test]
fn a_workspace_opened_for_reading_refuses_writers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ws");
    drop(Workspace::init(&dir, None).unwrap());
    let file = big_csv(tmp.path(), 10);
    let mut ws = Workspace::open(&dir, Access::Read).unwrap();
    let e = ingest::ingest(&mut ws, Some("big"), &file, None, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("reading only"), "{e}");
    let (mut acks, mut problems) = (Vec::new(), Vec::new());
    let e = add_stream(
        &mut ws,
        Cursor::new(Vec::new()),
        &mut acks,
        &mut problems,
        &StreamOptions::new("stream"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("reading only"), "{e}");
    assert_eq!(assert_sound(&ws).records, 0);
}
