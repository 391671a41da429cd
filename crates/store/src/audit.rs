//! The audit log: every read and write of the store through the server and the
//! administrative verbs — who, when, which case, for what purpose, what action on what
//! target — appended to one table whose entries are hash-chained.
//!
//! Entry `n` stores `hash_n = SHA-256(hash_{n-1} || canonical(entry_n))` (with 32 zero
//! bytes before the first entry) and `prev = hash_{n-1}`; the canonical form is every
//! field, the sequence number included, length-prefixed. The newest (sequence, hash) is
//! also kept in `meta` as the head. [`verify`] recomputes the chain and names the first
//! entry that was altered, removed or moved, and notices entries cut from the end.
//!
//! Each entry is also sealed: `mac_n = HMAC-SHA256(key, hash_n)` under the workspace's
//! audit key ([`crate::keys::AuditKey`]), which is kept outside the database. Whoever can
//! write the file but does not hold the key cannot rewrite an entry and recompute the
//! chain: the seals no longer fit. Entries written before the workspace had a key (the
//! key file records the first sealed entry) are checked by the chain alone. Anchors
//! are signed checkpoints an auditor keeps outside the workspace;
//! [`verify`] checks the log against them too, which catches a rewrite even by someone
//! holding the key, and a tail cut below the last anchor (the `anchor` module).
//!
//! SQLite triggers refuse `UPDATE` and `DELETE` on the table; there is no function to edit
//! it. Entries never hold deleted personal data: an erasure is logged by counts and
//! internal ids, and search texts and erased record keys only as keyed hashes
//! ([`crate::keys::AuditKey::term`]).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::Value;

use crate::keys::AuditKey;
pub use crate::schema::AUDIT;
pub use crate::util::clip;
use crate::util::{hex, sha256};
use crate::workspace::DATABASE;
use crate::{StoreError, now};

/// Longest purpose, target and detail texts kept (longer ones are cut).
pub const MAX_FIELD: usize = 2_000;

/// One entry to append.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    /// Who: a user name, or `cli:<os user>` for a command-line verb.
    pub actor: String,
    pub case: Option<String>,
    pub purpose: Option<String>,
    /// What: `entity.read`, `search`, `record.erase`, `login`, …
    pub action: String,
    /// On what: an entity id, a record key, a query.
    pub target: Option<String>,
    /// `ok`, `denied`, `not_found`, `invalid`, `error`.
    pub outcome: String,
    pub detail: Value,
}

impl Entry {
    pub fn new(actor: &str, action: &str) -> Entry {
        Entry {
            actor: actor.to_string(),
            case: None,
            purpose: None,
            action: action.to_string(),
            target: None,
            outcome: "ok".into(),
            detail: Value::Object(serde_json::Map::new()),
        }
    }
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stored {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub case: Option<String>,
    pub purpose: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Value,
    /// Hex of the entry's chain hash.
    pub hash: String,
}

fn field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(v) => {
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// The canonical bytes of an entry as stored.
#[allow(clippy::too_many_arguments)]
fn canonical(
    seq: i64,
    at: &str,
    actor: &str,
    case: Option<&str>,
    purpose: Option<&str>,
    action: &str,
    target: Option<&str>,
    outcome: &str,
    detail: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + detail.len());
    out.extend_from_slice(b"spirit-audit-v1");
    field(&mut out, Some(&seq.to_string()));
    for f in [
        Some(at),
        Some(actor),
        case,
        purpose,
        Some(action),
        target,
        Some(outcome),
        Some(detail),
    ] {
        field(&mut out, f);
    }
    out
}

fn chain(prev: &[u8], canonical: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(prev.len() + canonical.len());
    buf.extend_from_slice(prev);
    buf.extend_from_slice(canonical);
    sha256(&buf)
}

/// The head of the chain: the last sequence number and its hash (0 and zeros when empty).
fn head(conn: &Connection) -> Result<(i64, Vec<u8>), StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, vec![0u8; 32])))
}

/// Appends entries inside the caller's write transaction (which must have taken the
/// database's write lock, e.g. `BEGIN IMMEDIATE`, so that no other writer appends between
/// the read of the head and the insert), each sealed under `key`. Returns their sequence
/// numbers.
pub fn append(
    conn: &Connection,
    key: &AuditKey,
    entries: &[Entry],
) -> Result<Vec<i64>, StoreError> {
    let (mut seq, mut prev) = head(conn)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit(seq, at, actor, case_name, purpose, action, target, outcome, detail, prev, hash, mac) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let at = now();
        let detail = e.detail.to_string();
        let detail = clip(&detail, MAX_FIELD * 4);
        let (actor, action, outcome) = (
            clip(&e.actor, 200),
            clip(&e.action, 100),
            clip(&e.outcome, 100),
        );
        let case = e.case.as_deref().map(|c| clip(c, 200));
        let purpose = e.purpose.as_deref().map(|p| clip(p, MAX_FIELD));
        let target = e.target.as_deref().map(|t| clip(t, MAX_FIELD));
        let hash = chain(
            &prev,
            &canonical(
                seq, &at, actor, case, purpose, action, target, outcome, detail,
            ),
        );
        let mac = key.seal(&hash);
        insert.execute(params![
            seq, at, actor, case, purpose, action, target, outcome, detail, prev, hash, mac
        ])?;
        prev = hash;
        out.push(seq);
    }
    if !entries.is_empty() {
        conn.prepare_cached(
            "INSERT INTO meta(key, value) VALUES ('audit_head', ?1) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?
        .execute([format!("{seq}:{}", hex(&prev))])?;
    }
    Ok(out)
}

/// Appends entries in a transaction of their own.
pub fn append_now(
    conn: &mut Connection,
    key: &AuditKey,
    entries: &[Entry],
) -> Result<Vec<i64>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seqs = append(&tx, key, entries)?;
    tx.commit()?;
    Ok(seqs)
}

/// Appends entries to a workspace opened for writing, in a transaction of their own.
pub fn append_to(ws: &mut crate::Workspace, entries: &[Entry]) -> Result<Vec<i64>, StoreError> {
    ws.require_write()?;
    let key = ws.audit_key()?;
    append_now(&mut ws.conn, &key, entries)
}

/// Appends entries for a command-line verb, on a workspace opened either way: through
/// the writer's connection when the handle writes, else in a short write transaction of
/// its own (which waits for a writer, as the server's appender does, and takes no
/// writers' lock). A workspace on a read-only file system gives
/// [`StoreError::ReadOnly`]: its log cannot grow, and the caller says so.
pub fn log_verb(ws: &mut crate::Workspace, entries: &[Entry]) -> Result<Vec<i64>, StoreError> {
    let dir = ws.dir().to_path_buf();
    if ws.writable() {
        let key = ws.audit_key()?;
        return append_now(&mut ws.conn, &key, entries)
            .map_err(|e| crate::workspace::map_store_error(&dir, e));
    }
    let db = ws.dir().join(DATABASE);
    let read_only = |message: String| StoreError::ReadOnly {
        path: ws.dir().to_path_buf(),
        message,
    };
    let mut conn = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| read_only(e.to_string()))?;
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Err(read_only("the database file cannot be written".into()));
    }
    let key = ws.audit_key()?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    append_now(&mut conn, &key, entries).map_err(|e| match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, m))
            if matches!(
                f.code,
                rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen
            ) =>
        {
            read_only(m.unwrap_or_else(|| f.to_string()))
        }
        e => crate::workspace::map_store_error(&dir, e),
    })
}

/// A problem [`verify`] found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// The sequence number of the entry at fault (for a cut tail: the first missing one).
    pub seq: i64,
    pub message: String,
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verification {
    pub entries: u64,
    pub head: i64,
    pub problems: Vec<Problem>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Problems reported at most (the first is the one that matters).
pub const MAX_PROBLEMS: usize = 100;

/// Recomputes the chain and reports every entry that does not fit: altered (its hash is
/// not that of its content), removed (a gap in the sequence), moved (content that hashes
/// under another position), or a chain link broken (an entry's `prev` is not the hash
/// before it); an entry whose seal is missing or is not the key's (rewritten by someone
/// without the key, chain recomputed or not); entries cut from the end (the head in
/// `meta` is beyond the last); and a head that is missing or unreadable.
///
/// `key` is the workspace's audit key; without it the seals cannot be checked, which is
/// itself reported for a log that has sealed entries.
///
/// The entries and the head are read in one snapshot (a savepoint, which opens a read
/// transaction or nests in the caller's), so an entry appended while the log is verified
/// is never taken for a cut tail.
pub fn verify(conn: &Connection, key: Option<&AuditKey>) -> Result<Verification, StoreError> {
    conn.execute_batch("SAVEPOINT audit_verify")?;
    let out = verify_snapshot(conn, key);
    let released = conn.execute_batch("RELEASE audit_verify");
    let out = out?;
    released?;
    Ok(out)
}

fn verify_snapshot(conn: &Connection, key: Option<&AuditKey>) -> Result<Verification, StoreError> {
    let mut problems: Vec<Problem> = Vec::new();
    let recorded = crate::keys::sealed_from(conn)?;
    let sealed_from: Option<i64> = match (&recorded, key) {
        (Some(text), key) => match text.parse::<i64>() {
            Ok(v) => {
                if let Some(k) = key.filter(|k| k.keyed_from != v) {
                    problems.push(Problem {
                        seq: v.min(k.keyed_from),
                        message: format!(
                            "the log records entries sealed from {v} on, the audit key ({}) from {}: one of them was changed",
                            k.path.display(),
                            k.keyed_from
                        ),
                    });
                }
                Some(key.map_or(v, |k| k.keyed_from.min(v)))
            }
            Err(_) => {
                problems.push(Problem {
                    seq: 1,
                    message: format!(
                        "the first sealed entry recorded in meta ({text:?}) is unreadable"
                    ),
                });
                Some(key.map_or(1, |k| k.keyed_from))
            }
        },
        (None, Some(k)) => Some(k.keyed_from),
        (None, None) => None,
    };
    if let (Some(from), None) = (sealed_from, key) {
        problems.push(Problem {
            seq: from,
            message: format!(
                "entries from {from} on are sealed, but the audit key is not available here, so the seals were not checked (set SPIRIT_KEY_DIR or the settings' keys.dir to the key folder)"
            ),
        });
    }
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, case_name, purpose, action, target, outcome, detail, prev, hash, mac \
         FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expect_seq = 1i64;
    let mut prev_hash = vec![0u8; 32];
    let mut entries = 0u64;
    let mut last = 0i64;
    let push = |p: Problem, problems: &mut Vec<Problem>| {
        if problems.len() < MAX_PROBLEMS {
            problems.push(p);
        }
    };
    while let Some(row) = rows.next()? {
        entries += 1;
        let seq: i64 = row.get(0)?;
        let text = |i: usize| row.get::<_, Option<String>>(i);
        let (at, actor, case, purpose, action, target, outcome, detail) = (
            text(1)?.unwrap_or_default(),
            text(2)?.unwrap_or_default(),
            text(3)?,
            text(4)?,
            text(5)?.unwrap_or_default(),
            text(6)?,
            text(7)?.unwrap_or_default(),
            text(8)?.unwrap_or_default(),
        );
        let prev: Vec<u8> = row.get(9)?;
        let hash: Vec<u8> = row.get(10)?;
        let mac: Option<Vec<u8>> = row.get(11)?;
        if seq != expect_seq {
            let message = if seq > expect_seq {
                if expect_seq + 1 == seq {
                    format!("entry {expect_seq} is missing (removed from the log)")
                } else {
                    format!(
                        "entries {expect_seq} to {} are missing (removed from the log)",
                        seq - 1
                    )
                }
            } else {
                format!("entry {seq} is out of order")
            };
            push(
                Problem {
                    seq: expect_seq,
                    message,
                },
                &mut problems,
            );
        }
        let canon = canonical(
            seq,
            &at,
            &actor,
            case.as_deref(),
            purpose.as_deref(),
            &action,
            target.as_deref(),
            &outcome,
            &detail,
        );
        let recomputed = chain(&prev, &canon);
        if recomputed != hash {
            push(
                Problem {
                    seq,
                    message: format!(
                        "entry {seq} was altered or moved: its content does not hash to the stored hash"
                    ),
                },
                &mut problems,
            );
        } else if prev != prev_hash && seq == expect_seq {
            push(
                Problem {
                    seq: seq - 1,
                    message: format!(
                        "entry {} was altered and its hash recomputed: entry {seq} recorded another hash for it",
                        seq - 1
                    ),
                },
                &mut problems,
            );
        }
        if let Some(key) = key {
            let must = sealed_from.is_some_and(|from| seq >= from);
            match &mac {
                Some(m) if *m != key.seal(&hash) => push(
                    Problem {
                        seq,
                        message: format!(
                            "entry {seq} is not sealed by the audit key: it was written or rewritten without the key"
                        ),
                    },
                    &mut problems,
                ),
                None if must => push(
                    Problem {
                        seq,
                        message: format!(
                            "entry {seq} has no seal although the log is sealed from entry {} on: it was written or rewritten without the key",
                            sealed_from.unwrap_or(1)
                        ),
                    },
                    &mut problems,
                ),
                _ => {}
            }
        }
        prev_hash = hash;
        expect_seq = seq.max(expect_seq) + 1;
        last = seq;
    }
    drop(rows);
    let head: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'audit_head'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let parsed = head.as_deref().map(|h| {
        h.split_once(':')
            .and_then(|(seq, hash)| Some((seq.parse::<i64>().ok()?, hash)))
    });
    match parsed {
        None if entries > 0 => problems.push(Problem {
            seq: last,
            message: "the recorded head of the log (meta.audit_head) is missing".into(),
        }),
        None => {}
        Some(None) => problems.push(Problem {
            seq: last,
            message: format!(
                "the recorded head of the log (meta.audit_head) is unreadable: {:?}",
                clip(head.as_deref().unwrap_or_default(), 100)
            ),
        }),
        Some(Some((seq, hash))) => {
            if seq > last {
                problems.push(Problem {
                    seq: last + 1,
                    message: format!(
                        "entries {} to {seq} were removed from the end of the log (the recorded head is {seq})",
                        last + 1
                    ),
                });
            } else if seq < last {
                problems.push(Problem {
                    seq: seq + 1,
                    message: format!(
                        "entries {} to {last} follow the recorded head ({seq}): they were added outside SPIRIT",
                        seq + 1
                    ),
                });
            } else if hash != hex(&prev_hash) {
                problems.push(Problem {
                    seq,
                    message: format!("entry {seq} is not the entry the recorded head names"),
                });
            }
        }
    }
    Ok(Verification {
        entries,
        head: last,
        problems,
    })
}

/// Filters of an audit query.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Entries after this sequence number.
    pub after: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub case: Option<String>,
    pub limit: usize,
}

/// Entries matching a filter, oldest first.
pub fn query(conn: &Connection, filter: &Filter) -> Result<Vec<Stored>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STORED_COLUMNS} FROM audit \
         WHERE seq > ?1 AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3) \
         AND (?4 IS NULL OR case_name = ?4) ORDER BY seq LIMIT ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            filter.after.unwrap_or(0),
            filter.actor,
            filter.action,
            filter.case,
            filter.limit.min(1000) as i64
        ],
        stored,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The columns every read of stored entries selects, in [`stored`]'s order.
const STORED_COLUMNS: &str =
    "seq, at, actor, case_name, purpose, action, target, outcome, detail, hash";

/// A stored entry from a row of [`STORED_COLUMNS`].
fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    let detail: String = r.get(8)?;
    let hash: Vec<u8> = r.get(9)?;
    Ok(Stored {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        case: r.get(3)?,
        purpose: r.get(4)?,
        action: r.get(5)?,
        target: r.get(6)?,
        outcome: r.get(7)?,
        detail: match serde_json::from_str(&detail) {
            Ok(v @ Value::Object(_)) => v,
            Ok(Value::Null) | Err(_) => Value::Object(serde_json::Map::new()),
            Ok(other) => serde_json::json!({ "value": other }),
        },
        hash: hex(&hash),
    })
}

/// Entries that logged a term (a search text, an erased record key) as its keyed hash
/// ([`AuditKey::term`]), as their target or inside their detail; newest last.
pub fn find_term(
    conn: &Connection,
    key: &AuditKey,
    text: &str,
    limit: usize,
) -> Result<Vec<Stored>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {STORED_COLUMNS} FROM audit WHERE target = ?1 OR instr(detail, ?1) > 0 \
         ORDER BY seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![key.term(text), limit as i64], stored)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

type Request = (Entry, SyncSender<Result<i64, String>>);

/// Appends entries from many threads with group commit: a thread of its own owns a
/// connection, takes every entry waiting, appends them in one transaction, and answers
/// each caller once its entry is durable.
pub struct Appender {
    send: Option<SyncSender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Appender {
    /// Starts the appender on the workspace in `dir` (whose schema must be current),
    /// sealing entries under `key`.
    pub fn start(dir: &std::path::Path, key: AuditKey) -> Result<Appender, StoreError> {
        let db = dir.join(DATABASE);
        let conn = Connection::open(&db)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let (send, recv) = sync_channel::<Request>(4096);
        let thread = std::thread::spawn(move || run_appender(conn, key, recv));
        Ok(Appender {
            send: Some(send),
            thread: Some(thread),
        })
    }

    /// Appends an entry and waits until it is committed; returns its sequence number.
    pub fn log(&self, entry: Entry) -> Result<i64, StoreError> {
        let (reply, answer) = sync_channel(1);
        let send = self
            .send
            .as_ref()
            .ok_or_else(|| StoreError::Invalid("the audit log is closed".into()))?;
        send.send((entry, reply))
            .map_err(|_| StoreError::Invalid("the audit log is closed".into()))?;
        answer
            .recv()
            .map_err(|_| StoreError::Invalid("the audit log is closed".into()))?
            .map_err(|e| StoreError::Invalid(format!("cannot write the audit log: {e}")))
    }
}

impl Drop for Appender {
    fn drop(&mut self) {
        drop(self.send.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Entries committed together at most.
const MAX_GROUP: usize = 512;

fn run_appender(mut conn: Connection, key: AuditKey, recv: Receiver<Request>) {
    while let Ok(first) = recv.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match recv.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let entries: Vec<Entry> = group.iter().map(|(e, _)| e.clone()).collect();
        match append_now(&mut conn, &key, &entries) {
            Ok(seqs) => {
                for ((_, reply), seq) in group.into_iter().zip(seqs) {
                    let _ = reply.send(Ok(seq));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (_, reply) in group {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}
