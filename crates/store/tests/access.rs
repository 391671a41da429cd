//! Users, cases, scopes, the hash-chained audit log and erasure with cascade, against a
//! real store.

use std::path::Path;

use rusqlite::Connection;
use serde_json::json;
use spirit_model::NoProgress;
use spirit_store::access::{self, Role};
use spirit_store::audit::{self, Entry};
use spirit_store::workspace::{Access, DATABASE};
use spirit_store::{Workspace, check, ingest, retention, scope, search};

fn demo_rows(n: usize) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv"),
    )
    .unwrap();
    text.lines().take(n + 1).collect::<Vec<_>>().join("\n") + "\n"
}

/// A resolved workspace of 300 demo records in source `people` of case `op`.
fn workspace(dir: &Path) -> Workspace {
    let mut ws = Workspace::init(dir, None).unwrap();
    access::create_case(ws.connection(), "op").unwrap();
    access::create_source(ws.connection(), "people", "op", "test", Some(0)).unwrap();
    let file = dir.join("people.csv");
    std::fs::write(&file, demo_rows(300)).unwrap();
    ingest::ingest(&mut ws, Some("people"), &file, Some("rec_id"), &NoProgress).unwrap();
    spirit_store::incremental::resolve_stored(&mut ws, &NoProgress).unwrap();
    ws
}

fn entries(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            let mut e = Entry::new("alice", "entity.read");
            e.case = Some("op".into());
            e.purpose = Some(format!("lead {i}"));
            e.target = Some(format!("E{i}"));
            e.detail = json!({ "records": i });
            e
        })
        .collect()
}

#[test]
fn the_audit_log_is_append_only_and_verify_names_each_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::init(dir.path(), None).unwrap();
    let seqs = audit::append_to(&mut ws, &entries(10)).unwrap();
    let key = ws.audit_key().unwrap();
    assert_eq!(seqs, (1..=10).collect::<Vec<i64>>());
    let v = audit::verify(ws.connection(), ws.audit_key_if_any()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.entries, v.head), (10, 10));
    // The triggers refuse changes.
    let e = ws
        .connection()
        .execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = ws
        .connection()
        .execute("DELETE FROM audit WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    drop(ws);

    // Each tampering on a copy of the log, with the triggers dropped as an attacker with
    // the file would.
    let tamper = |sql: &str| -> audit::Verification {
        let copy = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join(DATABASE), copy.path().join(DATABASE)).unwrap();
        let conn = Connection::open(copy.path().join(DATABASE)).unwrap();
        conn.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
            .unwrap();
        conn.execute_batch(sql).unwrap();
        audit::verify(&conn, Some(&key)).unwrap()
    };
    let first = |v: &audit::Verification| {
        assert!(!v.ok());
        (v.problems[0].seq, v.problems[0].message.clone())
    };
    // Altered content.
    let (seq, m) = first(&tamper(
        "UPDATE audit SET purpose = 'nothing to see' WHERE seq = 4",
    ));
    assert_eq!(seq, 4, "{m}");
    assert!(m.contains("entry 4") && m.contains("altered"), "{m}");
    // Altered content with its own hash recomputed (from the stored previous hash): the
    // next entry's link gives it away.
    let (seq, m) = first(&tamper(
        "UPDATE audit SET hash = (SELECT hash FROM audit WHERE seq = 2) WHERE seq = 6",
    ));
    assert!(seq == 6 || seq == 7, "{m}");
    // Removed from the middle.
    let (seq, m) = first(&tamper("DELETE FROM audit WHERE seq = 5"));
    assert_eq!(seq, 5, "{m}");
    assert!(m.contains("missing"), "{m}");
    // Reordered: entries 3 and 8 swap places.
    let (seq, m) = first(&tamper(
        "UPDATE audit SET seq = -3 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 8; \
         UPDATE audit SET seq = 8 WHERE seq = -3;",
    ));
    assert_eq!(seq, 3, "{m}");
    assert!(m.contains("moved") || m.contains("altered"), "{m}");
    // Cut from the end.
    let (seq, m) = first(&tamper("DELETE FROM audit WHERE seq >= 9"));
    assert_eq!(seq, 9, "{m}");
    assert!(m.contains("removed from the end"), "{m}");
}

#[test]
fn verifying_while_entries_are_appended_never_reports_a_cut_tail() {
    let dir = tempfile::tempdir().unwrap();
    let key = Workspace::init(dir.path(), None)
        .unwrap()
        .audit_key()
        .unwrap();
    let appender = audit::Appender::start(dir.path(), key.clone()).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for e in entries(400) {
                appender.log(e).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let conn = Connection::open(dir.path().join(DATABASE)).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .unwrap();
        let mut checks = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) || checks == 0 {
            let v = audit::verify(&conn, Some(&key)).unwrap();
            assert!(v.ok(), "after {} entries: {:?}", v.entries, v.problems);
            checks += 1;
        }
        assert!(checks > 1, "the log was verified only once");
    });
    let conn = Connection::open(dir.path().join(DATABASE)).unwrap();
    assert_eq!(audit::verify(&conn, Some(&key)).unwrap().head, 400);
}

#[test]
fn the_appender_commits_groups_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let key = Workspace::init(dir.path(), None)
        .unwrap()
        .audit_key()
        .unwrap();
    let appender = std::sync::Arc::new(audit::Appender::start(dir.path(), key).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let a = appender.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let mut e = Entry::new(&format!("user{t}"), "search");
                    e.target = Some(format!("q{i}"));
                    a.log(e).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(appender);
    let ws = Workspace::open(dir.path(), Access::Read).unwrap();
    let v = audit::verify(ws.connection(), ws.audit_key_if_any()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!(v.entries, 100);
}

#[test]
fn users_tokens_and_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), None).unwrap();
    let conn = ws.connection();
    let made = access::create_user(conn, "alice", Role::Analyst).unwrap();
    assert!(access::create_user(conn, "alice", Role::Admin).is_err());
    // Only hashes are stored.
    let stored: String = conn
        .query_row("SELECT password FROM users WHERE name = 'alice'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(&made.password));
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM tokens WHERE instr(hex(hash), ?1) > 0",
            [made
                .token
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
    let who = access::authenticate(conn, &made.token).unwrap().unwrap();
    assert_eq!(who.user.name, "alice");
    assert!(access::authenticate(conn, "spirit_nope").unwrap().is_none());
    assert!(access::login(conn, "alice", "wrong").unwrap().is_none());
    assert!(
        access::login(conn, "nobody", &made.password)
            .unwrap()
            .is_none()
    );
    let session = access::login(conn, "alice", &made.password)
        .unwrap()
        .unwrap();
    let s = access::authenticate(conn, &session.token).unwrap().unwrap();
    assert!(s.csrf_hash.is_some());
    assert!(access::revoke_token(conn, who.token_id).unwrap());
    assert!(access::authenticate(conn, &made.token).unwrap().is_none());
}

#[test]
fn erasure_deletes_everything_derived_and_re_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = workspace(dir.path());
    let conn = ws.connection();
    // An entity of several records.
    let (entity, first): (i64, i64) = conn
        .query_row(
            "SELECT entity, min(record) FROM membership GROUP BY entity ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let view = spirit_store::query::record_by_id(conn, first)
        .unwrap()
        .unwrap();
    let all = scope::Scope::everything(conn).unwrap();
    let members = scope::visible_members(conn, &all, entity).unwrap();
    assert!(members.len() >= 2);
    let email = view
        .attributes
        .iter()
        .find(|a| a.0 == "email")
        .and_then(|a| a.2.clone())
        .unwrap();
    let mut entry = Entry::new("cli:test", "record.erase");
    entry.target = Some(view.key.clone());
    let report = retention::erase(&mut ws, &[first], entry).unwrap();
    assert_eq!(report.records, 1);
    assert!(report.attributes > 0 && report.edges > 0, "{report:?}");
    let conn = ws.connection();
    for (table, column) in [
        ("records", "id"),
        ("attributes", "record"),
        ("membership", "record"),
        ("search_postings", "record"),
    ] {
        let n: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE {column} = ?1"),
                [first],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{table} still holds the erased record");
    }
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM edges WHERE a = ?1 OR b = ?1",
            [first],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
    // Its unique e-mail is no longer searchable or stored as a term.
    assert!(
        search::search(conn, None, &email, 10)
            .unwrap()
            .iter()
            .all(|h| h.record != first)
    );
    let terms: i64 = conn
        .query_row(
            "SELECT count(*) FROM search_terms WHERE term = ?1",
            [&email],
            |r| r.get(0),
        )
        .unwrap();
    let holders: i64 = conn
        .query_row(
            "SELECT count(*) FROM attributes WHERE value = ?1",
            [&email],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        terms > 0,
        holders > 0,
        "a term outlived every record holding it"
    );
    // The rest of the entity is still resolved and the store checks out.
    let left =
        scope::visible_members(conn, &scope::Scope::everything(conn).unwrap(), entity).unwrap();
    assert_eq!(left.len(), members.len() - 1);
    let c = check::check(&ws).unwrap();
    assert!(c.ok(), "{:?}", c.problems);
    // The audit entry has counts, not content.
    let log = audit::query(
        ws.connection(),
        &audit::Filter {
            limit: 10,
            ..Default::default()
        },
    )
    .unwrap();
    let e = log.iter().find(|e| e.action == "record.erase").unwrap();
    assert_eq!(e.detail["records"], 1);
    assert!(!e.detail.to_string().contains(&email));
    assert!(
        audit::verify(ws.connection(), ws.audit_key_if_any())
            .unwrap()
            .ok()
    );
}

#[test]
fn retention_erases_what_has_expired() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = workspace(dir.path());
    // A second source kept for ten years.
    access::create_source(ws.connection(), "kept", "op", "test", Some(3650)).unwrap();
    let file = dir.path().join("kept.csv");
    std::fs::write(&file, demo_rows(5)).unwrap();
    ingest::ingest(&mut ws, Some("kept"), &file, Some("rec_id"), &NoProgress).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 1000;
    // As of ten days ago nothing had expired… (the records did not exist yet)
    let report = retention::apply_retention(&mut ws, "cli:test", now - 10 * 86_400_000).unwrap();
    assert_eq!(report.total.records, 0);
    // …now every `people` record has (0 days), none of `kept`.
    let report = retention::apply_retention(&mut ws, "cli:test", now).unwrap();
    assert_eq!(report.total.records, 300, "{report:?}");
    let conn = ws.connection();
    let left: Vec<String> = conn
        .prepare("SELECT DISTINCT s.name FROM records r JOIN sources s ON s.id = r.source")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(left, vec!["kept".to_string()]);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM edges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    let c = check::check(&ws).unwrap();
    assert!(c.ok(), "{:?}", c.problems);
    let log = audit::query(
        ws.connection(),
        &audit::Filter {
            action: Some("retention.erase".into()),
            limit: 100,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!log.is_empty());
    assert_eq!(
        log.iter()
            .map(|e| e.detail["records"].as_u64().unwrap())
            .sum::<u64>(),
        300
    );
}

#[test]
fn scopes_show_only_their_cases() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let conn = ws.connection();
    access::create_case(conn, "other").unwrap();
    let bob = access::create_user(conn, "bob", Role::Analyst).unwrap();
    access::add_member(conn, "other", "bob").unwrap();
    let alice = access::create_user(conn, "alice", Role::Analyst).unwrap();
    access::add_member(conn, "op", "alice").unwrap();
    let (b, a) = (
        scope::Scope::for_user(conn, bob.user.id).unwrap(),
        scope::Scope::for_user(conn, alice.user.id).unwrap(),
    );
    assert!(scope::record(conn, &b, "people:0").is_err());
    assert!(scope::record(conn, &a, "people:0").is_ok());
    assert!(scope::entity(conn, &b, "E1").is_err());
    assert!(scope::entity(conn, &a, "E1").is_ok());
    assert!(
        scope::search(conn, &b, None, "heather wright", 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        !scope::search(conn, &a, None, "heather wright", 10)
            .unwrap()
            .is_empty()
    );
    assert!(scope::export(conn, &b, 0, 1000).unwrap().is_empty());
    assert_eq!(scope::export(conn, &a, 0, 1000).unwrap().len(), 300);
}

#[test]
fn the_cases_of_sources_are_named_once_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), None).unwrap();
    let conn = ws.connection();
    access::create_case(conn, "zulu").unwrap();
    access::create_case(conn, "alpha").unwrap();
    access::create_source(conn, "tips", "zulu", "test", None).unwrap();
    access::create_source(conn, "police", "alpha", "test", None).unwrap();
    access::create_source(conn, "more", "alpha", "test", None).unwrap();
    assert_eq!(
        access::cases_of_sources(conn, &["tips", "police", "more", "police"]).unwrap(),
        ["alpha", "zulu"]
    );
    assert_eq!(
        access::cases_of_sources(conn, &["more"]).unwrap(),
        ["alpha"]
    );
    assert!(
        access::cases_of_sources(conn, &["no-such-source"])
            .unwrap()
            .is_empty()
    );
}
