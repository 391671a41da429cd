//! A stream added one batch at a time through a lender (`add_stream_lent`, as the server
//! stores an upload): the same entities as a stream that holds the workspace throughout,
//! and records that other writers add or erase between two batches are seen.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use spirit_store::audit::Entry;
use spirit_store::stream::{StreamOptions, add_stream, add_stream_lent};
use spirit_store::workspace::Access;
use spirit_store::{StoreError, Workspace, check, judge, query, retention};

const PEOPLE: &str = include_str!("../../../demo/people.csv");

/// Demo rows `range` as CSV with the header (the truth column left in: it is not a kind
/// SPIRIT compares).
fn rows(range: std::ops::Range<usize>) -> String {
    let mut lines = PEOPLE.lines();
    let header = lines.next().unwrap();
    let mut out = format!("{header}\n");
    for line in lines.skip(range.start).take(range.len()) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Demo row `i` under another record id.
fn copy_of(i: usize, id: &str) -> String {
    let line = PEOPLE.lines().nth(i + 1).unwrap();
    let (_, rest) = line.split_once(',').unwrap();
    format!("{id},{rest}\n")
}

fn options() -> StreamOptions {
    let mut o = StreamOptions::new("people");
    o.format = spirit_store::stream::StreamFormat::Csv;
    o.id_column = Some("rec_id".into());
    o
}

fn add(ws: &mut Workspace, csv: &str) {
    let mut problems = Vec::new();
    add_stream(
        ws,
        Cursor::new(csv.as_bytes().to_vec()),
        &mut std::io::sink(),
        &mut problems,
        &options(),
    )
    .unwrap();
    assert!(
        problems.is_empty(),
        "{}",
        String::from_utf8_lossy(&problems)
    );
}

/// The entities as sets of record ids.
fn partition(ws: &Workspace) -> BTreeSet<BTreeSet<String>> {
    let mut groups: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (_, record_id, entity) in query::memberships(ws.connection()).unwrap() {
        groups.entry(entity).or_default().insert(record_id);
    }
    groups.into_values().collect()
}

fn entity(ws: &Workspace, key: &str) -> String {
    query::record(ws.connection(), key)
        .unwrap()
        .unwrap_or_else(|| panic!("{key} is not stored"))
        .entity
        .unwrap_or_else(|| panic!("{key} has no entity"))
}

#[test]
fn a_lent_stream_resolves_as_a_held_one() {
    let (held_dir, lent_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut held = Workspace::init(held_dir.path(), None).unwrap();
    let mut lent = Workspace::init(lent_dir.path(), None).unwrap();
    for ws in [&mut held, &mut lent] {
        add(ws, &rows(0..300));
    }
    add(&mut held, &rows(300..600));

    // Seven records per batch; each batch opens the workspace anew.
    let mut o = options();
    o.max_batch = 7;
    let mut lends = 0;
    let dir = lent_dir.path().to_path_buf();
    drop(lent);
    let mut lend = |work: &mut dyn FnMut(&mut Workspace) -> Result<(), StoreError>| {
        lends += 1;
        let mut ws = Workspace::open(&dir, Access::Write)?;
        work(&mut ws)
    };
    let report = add_stream_lent(
        &mut lend,
        Cursor::new(rows(300..600).into_bytes()),
        &mut std::io::sink(),
        &mut std::io::sink(),
        &o,
    )
    .unwrap();
    assert_eq!(report.totals.stored, 300);
    assert!(report.batches >= 300 / 7, "{report:?}");
    assert_eq!(
        lends as u64,
        report.batches + 2,
        "one lend per batch, to start, to end"
    );
    let lent = Workspace::open(lent_dir.path(), Access::Read).unwrap();
    assert_eq!(partition(&lent), partition(&held));
    assert!(check::check(&lent).unwrap().ok());
}

#[test]
fn a_lent_stream_sees_what_other_writers_did_between_its_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    add(&mut ws, &rows(0..300));
    drop(ws);
    // A person none of the stored records is, added by another writer after the first
    // batch; and a stored record erased then.
    let newcomer = "z1,9999,Wilhelmina,Zakrzewski,1977-07-07,3 Elm Row,Faraway,77777,wz@example.org,555-010-0199\n";
    let erased = "people:5";
    let mut upload = rows(300..400);
    upload.push_str(&copy_of(5, "dup5"));
    upload.push_str(&newcomer.replacen("z1", "dup-z1", 1));

    let mut o = options();
    o.max_batch = 10;
    let mut lends = 0;
    let path = dir.path().to_path_buf();
    let mut lend = |work: &mut dyn FnMut(&mut Workspace) -> Result<(), StoreError>| {
        lends += 1;
        let mut ws = Workspace::open(&path, Access::Write)?;
        if lends == 3 {
            let header = PEOPLE.lines().next().unwrap();
            add(&mut ws, &format!("{header}\n{newcomer}"));
            let id = judge::find_record(ws.connection(), erased)?;
            retention::erase(&mut ws, &[id], Entry::new("test", "erase"))?;
        }
        work(&mut ws)
    };
    let report = add_stream_lent(
        &mut lend,
        Cursor::new(upload.into_bytes()),
        &mut std::io::sink(),
        &mut std::io::sink(),
        &o,
    )
    .unwrap();
    assert_eq!(report.totals.stored, 102, "{report:?}");
    assert!(lends > 3, "the other writers ran between two batches");

    let ws = Workspace::open(dir.path(), Access::Read).unwrap();
    let report = check::check(&ws).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(query::record(ws.connection(), erased).unwrap().is_none());
    // The copy of the newcomer found the newcomer, stored after the upload began.
    assert_eq!(entity(&ws, "people:dup-z1"), entity(&ws, "people:z1"));
    // The copy of the erased record is in an entity, and no edge leads to a record
    // that is gone.
    entity(&ws, "people:dup5");
    let dangling: i64 = ws
        .connection()
        .query_row(
            "SELECT count(*) FROM edges e WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = e.a) \
             OR NOT EXISTS (SELECT 1 FROM records r WHERE r.id = e.b)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dangling, 0);
}
