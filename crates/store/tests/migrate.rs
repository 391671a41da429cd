//! Schema migrations, tested against a store written at schema version 1 and kept in
//! `tests/fixtures/v1.db` (120 demo records, ingested and resolved).

use std::path::Path;

use spirit_model::NoProgress;
use spirit_store::schema::{self, CURRENT_VERSION};
use spirit_store::workspace::{Access, DATABASE};
use spirit_store::{Workspace, check, ingest, query, resolve, search};

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.db")
}

#[test]
fn a_version_1_store_is_migrated_and_usable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture(), dir.path().join(DATABASE)).unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join(DATABASE)).unwrap();
        assert_eq!(schema::version(&conn).unwrap(), 1);
    }
    // A reader upgrades it (under the writers' lock) before reading.
    let ws = Workspace::open(dir.path(), Access::Read).unwrap();
    assert_eq!(schema::version(ws.connection()).unwrap(), CURRENT_VERSION);
    let report = check::check(&ws).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.records, 120);
    // The search index was built from the records already there.
    let hits = search::search(ws.connection(), None, "Heather Wrigth", 5).unwrap();
    let first = query::record_by_id(ws.connection(), hits[0].record)
        .unwrap()
        .unwrap();
    assert_eq!(first.key, "people:0");
    // Entities, model and history survive.
    let entity = first.entity.unwrap();
    assert!(query::entity(ws.connection(), &entity).unwrap().is_some());
    assert!(
        !query::history(ws.connection(), &entity)
            .unwrap()
            .unwrap()
            .is_empty()
    );
    drop(ws);
    // Records go on being resolved into it with its model.
    let mut ws = Workspace::open(dir.path(), Access::Write).unwrap();
    let model = resolve::current_model(ws.connection()).unwrap().unwrap();
    assert!(!model.model.is_cold_start());
    let (mut acks, mut problems) = (Vec::new(), Vec::new());
    let line = "{\"rec_id\": \"n1\", \"first_name\": \"Heather\", \"surname\": \"Wright\", \
                \"dob\": \"1950-02-13\", \"email\": \"heather.wright@hotmail.com\"}\n";
    spirit_store::stream::add_stream(
        &mut ws,
        std::io::Cursor::new(line.as_bytes().to_vec()),
        &mut acks,
        &mut problems,
        &spirit_store::stream::StreamOptions::new("people"),
    )
    .unwrap();
    assert!(
        problems.is_empty(),
        "{}",
        String::from_utf8_lossy(&problems)
    );
    let added = query::record(ws.connection(), "people:n1")
        .unwrap()
        .unwrap();
    assert_eq!(added.entity, Some(entity), "{added:?}");
}

#[test]
fn a_store_newer_than_this_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Workspace::init(dir.path(), None).unwrap());
    {
        let conn = rusqlite::Connection::open(dir.path().join(DATABASE)).unwrap();
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
    }
    let e = Workspace::open(dir.path(), Access::Write).err().unwrap();
    assert!(e.to_string().contains("newer than this build"), "{e}");
    let e = Workspace::open(dir.path(), Access::Read).err().unwrap();
    assert!(e.to_string().contains("newer than this build"), "{e}");
}

/// Writes `tests/fixtures/v1.db`: a store of the current build taken back to version 1
/// (version 2 only added the search tables). Run once when the fixture must be remade:
/// `cargo test -p spirit-store --test migrate -- --ignored`.
#[test]
#[ignore]
fn write_version_1_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let people = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv");
    let text = std::fs::read_to_string(people).unwrap();
    let rows: Vec<&str> = text.lines().take(121).collect();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, rows.join("\n") + "\n").unwrap();
    ingest::ingest(&mut ws, None, &file, None, &NoProgress).unwrap();
    spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
    let conn = ws.connection();
    for table in [
        schema::SEARCH_TRIGRAMS,
        schema::SEARCH_KEYS,
        schema::SEARCH_POSTINGS,
        schema::SEARCH_TERMS,
    ] {
        conn.execute_batch(&format!("DROP TABLE {table}")).unwrap();
    }
    conn.pragma_update(None, "user_version", 1).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    conn.execute_batch("VACUUM").unwrap();
    drop(ws);
    std::fs::copy(dir.path().join(DATABASE), fixture()).unwrap();
}
