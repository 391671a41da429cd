//! The audit log against someone who holds the database file: entries sealed under a key
//! kept outside it, and anchors an auditor keeps. A forger who drops the triggers,
//! rewrites entries and recomputes the chain and the head is caught by the seals; one who
//! also holds the key is caught by the anchors; so are deletion, reordering and a tail
//! cut below an anchor.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use spirit_store::Workspace;
use spirit_store::anchor::{self, Anchor};
use spirit_store::audit::{self, Entry};
use spirit_store::keys::{self, AuditKey};
use spirit_store::workspace::{Access, DATABASE};

fn entries(n: usize, from: usize) -> Vec<Entry> {
    (from..from + n)
        .map(|i| {
            let mut e = Entry::new("alice", "entity.read");
            e.case = Some("op".into());
            e.purpose = Some(format!("lead {i}"));
            e.target = Some(format!("E{i}"));
            e
        })
        .collect()
}

/// A workspace with 20 entries and anchors taken after entries 8 and 16 (each anchor
/// logs itself first, so they vouch for entries 9 and 18).
fn logged(dir: &Path) -> (PathBuf, AuditKey, Vec<Anchor>) {
    let ws_dir = dir.join("ws");
    let mut ws = Workspace::init(&ws_dir, None).unwrap();
    let key = ws.audit_key().unwrap();
    let mut anchors = Vec::new();
    for round in 0..2 {
        audit::append_to(&mut ws, &entries(8, round * 8)).unwrap();
        audit::append_to(&mut ws, &[Entry::new("auditor", "audit.anchor")]).unwrap();
        anchors.push(anchor::take(ws.connection(), &key).unwrap());
    }
    audit::append_to(&mut ws, &entries(2, 16)).unwrap();
    assert_eq!(
        anchors.iter().map(|a| a.seq).collect::<Vec<_>>(),
        vec![9, 18]
    );
    (ws_dir, key, anchors)
}

/// A copy of the store with the triggers dropped, as an attacker with the file has it.
fn tampered(ws_dir: &Path, sql: &str) -> (tempfile::TempDir, Connection) {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(ws_dir.join(DATABASE), copy.path().join(DATABASE)).unwrap();
    let conn = Connection::open(copy.path().join(DATABASE)).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
    conn.execute_batch(sql).unwrap();
    (copy, conn)
}

fn field(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(v) => {
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// Recomputes every entry's chain hash (and, given the key, its seal) and the recorded
/// head, as a forger who read the format would.
fn rechain(conn: &Connection, key: Option<&AuditKey>) {
    let rows: Vec<(i64, Vec<Option<String>>)> = conn
        .prepare(
            "SELECT seq, at, actor, case_name, purpose, action, target, outcome, detail \
             FROM audit ORDER BY seq",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                (1..9)
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect::<Result<Vec<_>, _>>()?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev = vec![0u8; 32];
    let mut last = 0;
    for (seq, f) in rows {
        let mut canon = b"spirit-audit-v1".to_vec();
        field(&mut canon, Some(&seq.to_string()));
        for v in &f {
            field(&mut canon, v.as_deref());
        }
        let mut buf = prev.clone();
        buf.extend_from_slice(&canon);
        let hash = Sha256::digest(&buf).to_vec();
        let mac = key.map(|k| k.seal(&hash));
        conn.execute(
            "UPDATE audit SET prev = ?2, hash = ?3, mac = COALESCE(?4, mac) WHERE seq = ?1",
            params![seq, prev, hash, mac],
        )
        .unwrap();
        prev = hash;
        last = seq;
    }
    let head: String = prev.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [format!("{last}:{head}")],
    )
    .unwrap();
}

fn problems(v: &audit::Verification) -> String {
    v.problems
        .iter()
        .map(|p| format!("{}: {}", p.seq, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn an_intact_log_verifies_with_its_key_and_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let (ws_dir, key, anchors) = logged(dir.path());
    let ws = Workspace::open(&ws_dir, Access::Read).unwrap();
    let v = anchor::verify(ws.connection(), Some(&key), &anchors, None).unwrap();
    assert!(v.ok(), "{}", problems(&v));
    assert_eq!(v.entries, 20);
    // Anchors are lines of JSON that read back as written.
    let text: String = anchors
        .iter()
        .map(|a| serde_json::to_string(a).unwrap() + "\n")
        .collect();
    assert_eq!(anchor::parse(&text, "anchors.jsonl").unwrap(), anchors);
    let err = anchor::parse("{\"anchor\":1}\n", "kept.jsonl")
        .unwrap_err()
        .to_string();
    assert!(err.contains("kept.jsonl, line 1"), "{err}");
    // The key is outside the workspace folder and the database.
    assert!(!key.path.starts_with(&ws_dir), "{}", key.path.display());
    assert_eq!(key.path, dir.path().join("ws.keys").join(keys::AUDIT_KEY));
}

#[test]
fn a_forged_chain_fails_by_its_seals_and_by_the_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let (ws_dir, key, anchors) = logged(dir.path());
    // Without the key: an entry rewritten, the chain and the head recomputed.
    let (_copy, conn) = tampered(
        &ws_dir,
        "UPDATE audit SET purpose = 'routine check', actor = 'bob' WHERE seq = 4",
    );
    rechain(&conn, None);
    // The forger's chain is consistent: without the key only the seals stay unchecked.
    let blind = audit::verify(&conn, None).unwrap();
    assert_eq!(blind.problems.len(), 1, "{}", problems(&blind));
    assert!(
        blind.problems[0].message.contains("seals were not checked"),
        "{}",
        problems(&blind)
    );
    let v = audit::verify(&conn, Some(&key)).unwrap();
    assert!(!v.ok());
    assert_eq!(v.problems[0].seq, 4, "{}", problems(&v));
    assert!(
        v.problems[0]
            .message
            .contains("not sealed by the audit key"),
        "{}",
        problems(&v)
    );
    let v = anchor::verify(&conn, None, &anchors, None).unwrap();
    assert!(
        problems(&v).contains("anchor 1 (entry 9") && problems(&v).contains("rewritten"),
        "{}",
        problems(&v)
    );
    // Seals removed as well (a forger pretending the log predates keys).
    let (_copy, conn) = tampered(
        &ws_dir,
        "UPDATE audit SET purpose = 'routine check' WHERE seq = 4; UPDATE audit SET mac = NULL; \
         DELETE FROM meta WHERE key = 'audit_keyed_from';",
    );
    rechain(&conn, None);
    let v = audit::verify(&conn, Some(&key)).unwrap();
    assert_eq!(v.problems[0].seq, 1, "{}", problems(&v));
    assert!(problems(&v).contains("has no seal"), "{}", problems(&v));

    // With the key: the seals fit, the anchors do not.
    let (_copy, conn) = tampered(&ws_dir, "UPDATE audit SET target = 'E99' WHERE seq = 12");
    rechain(&conn, Some(&key));
    assert!(audit::verify(&conn, Some(&key)).unwrap().ok());
    let v = anchor::verify(&conn, Some(&key), &anchors, None).unwrap();
    assert_eq!(v.problems.len(), 1, "{}", problems(&v));
    assert!(v.problems[0].message.contains("anchor 2 (entry 18"));
}

#[test]
fn deletion_reordering_and_truncation_fail_against_the_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let (ws_dir, key, anchors) = logged(dir.path());
    let check = |sql: &str| -> String {
        let (_copy, conn) = tampered(&ws_dir, sql);
        rechain(&conn, Some(&key));
        let v = anchor::verify(&conn, Some(&key), &anchors, None).unwrap();
        assert!(!v.ok(), "{sql}: passed");
        problems(&v)
    };
    // An entry deleted and the rest renumbered, so no gap shows.
    let p = check("DELETE FROM audit WHERE seq = 3; UPDATE audit SET seq = seq - 1 WHERE seq > 3;");
    assert!(p.contains("anchor 1"), "{p}");
    // Two entries swapped.
    let p = check(
        "UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 7; \
         UPDATE audit SET seq = 7 WHERE seq = -2;",
    );
    assert!(p.contains("anchor 1"), "{p}");
    // Cut below the last anchor, head rewritten to match.
    let p = check("DELETE FROM audit WHERE seq > 12;");
    assert!(
        p.contains("anchor 2") && p.contains("the log ends at entry 12"),
        "{p}"
    );
    // A forged anchor, and one signed by another key.
    let mut forged = anchors[1].clone();
    forged.seq = 20;
    let ws = Workspace::open(&ws_dir, Access::Read).unwrap();
    let v = anchor::verify(ws.connection(), Some(&key), &[forged], None).unwrap();
    assert!(
        problems(&v).contains("signature is not valid"),
        "{}",
        problems(&v)
    );
    let other = AuditKey::load(&dir.path().join("other"), Some(1))
        .unwrap()
        .unwrap();
    let foreign = anchor::take(ws.connection(), &other).unwrap();
    let v = anchor::verify(
        ws.connection(),
        Some(&key),
        std::slice::from_ref(&foreign),
        None,
    )
    .unwrap();
    assert!(
        problems(&v).contains("not by the trusted key"),
        "{}",
        problems(&v)
    );
    // The auditor's pinned key wins over the workspace's.
    let v = anchor::verify(
        ws.connection(),
        Some(&key),
        std::slice::from_ref(&foreign),
        Some(&foreign.public_key),
    )
    .unwrap();
    assert!(v.ok(), "{}", problems(&v));
}

#[test]
fn a_garbled_or_missing_head_and_a_missing_key_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (ws_dir, key, _) = logged(dir.path());
    for sql in [
        "UPDATE meta SET value = 'garbage' WHERE key = 'audit_head'",
        "UPDATE meta SET value = 'x:y' WHERE key = 'audit_head'",
        "DELETE FROM meta WHERE key = 'audit_head'",
    ] {
        let (_copy, conn) = tampered(&ws_dir, sql);
        let v = audit::verify(&conn, Some(&key)).unwrap();
        assert!(
            problems(&v).contains("recorded head of the log"),
            "{sql}: {}",
            problems(&v)
        );
    }
    // Rows appended behind the head's back.
    let (_copy, conn) = tampered(
        &ws_dir,
        "INSERT INTO audit(seq, at, actor, action, outcome, detail, prev, hash) \
         SELECT 21, at, actor, action, outcome, detail, hash, hash FROM audit WHERE seq = 20",
    );
    let v = audit::verify(&conn, Some(&key)).unwrap();
    assert!(!v.ok());

    // The key folder moved away: the log can be neither verified nor extended.
    std::fs::rename(dir.path().join("ws.keys"), dir.path().join("elsewhere")).unwrap();
    let mut ws = Workspace::open(&ws_dir, Access::Write).unwrap();
    let err = audit::append_to(&mut ws, &entries(1, 0))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ws.keys/audit.key is missing") && err.contains("SPIRIT_KEY_DIR"),
        "{err}"
    );
    let v = audit::verify(ws.connection(), ws.audit_key_if_any()).unwrap();
    assert!(
        problems(&v).contains("not available here"),
        "{}",
        problems(&v)
    );
}

#[test]
fn an_older_stores_card_key_leaves_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let ws_dir = dir.path().join("ws");
    drop(Workspace::init(&ws_dir, None).unwrap());
    std::fs::remove_dir_all(dir.path().join("ws.keys")).unwrap();
    let legacy = "ab".repeat(32);
    {
        let conn = Connection::open(ws_dir.join(DATABASE)).unwrap();
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('card_key', ?1)",
            [&legacy],
        )
        .unwrap();
        // An older store had no sealed log.
        conn.execute("DELETE FROM meta WHERE key = 'audit_keyed_from'", [])
            .unwrap();
    }
    let ws = Workspace::open(&ws_dir, Access::Write).unwrap();
    assert_eq!(ws.card_key().unwrap(), [0xab; 32]);
    let kept = std::fs::read_to_string(dir.path().join("ws.keys").join(keys::CARD_KEY)).unwrap();
    assert_eq!(kept.trim(), legacy);
    let in_meta: i64 = ws
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM meta WHERE key = 'card_key'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_meta, 0);
    drop(ws);
    // No copy of it is left in the database file or its write-ahead log.
    for name in [DATABASE, "spirit.db-wal"] {
        if let Ok(bytes) = std::fs::read(ws_dir.join(name)) {
            assert!(
                !bytes.windows(legacy.len()).any(|w| w == legacy.as_bytes()),
                "{name} still holds the card key"
            );
        }
    }
    // A new workspace's log is sealed from its first entry.
    let v = {
        let mut ws = Workspace::open(&ws_dir, Access::Write).unwrap();
        audit::append_to(&mut ws, &[Entry::new("a", "x")]).unwrap();
        audit::verify(ws.connection(), ws.audit_key_if_any()).unwrap()
    };
    assert!(v.ok(), "{}", problems(&v));
}
