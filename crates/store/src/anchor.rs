//! Anchors: signed checkpoints of the audit log that an auditor keeps outside the
//! workspace.
//!
//! An anchor names the log's head (sequence number and chain hash), how many entries the
//! log held and when, and is signed with the workspace's Ed25519 anchor key
//! ([`crate::keys::AuditKey`]). It is one line of JSON, appended to a file the auditor
//! keeps (or sent to syslog). Because each chain hash commits to every entry before it, an
//! anchor vouches for the whole log up to its head: [`check`] then finds a rewrite even by
//! someone holding the keys (the hash at the anchored entry changes), entries removed,
//! reordered or cut from the end below the anchor, and an anchor forged or signed by
//! another key.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Problem, Verification};
use crate::keys::{AuditKey, parse_hex};
use crate::util::hex;
use crate::{StoreError, now};

/// One signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// Format version (1).
    pub anchor: u32,
    /// The head's sequence number.
    pub seq: i64,
    /// The head's chain hash (hex).
    pub hash: String,
    /// Entries in the log at that time.
    pub entries: i64,
    /// When the anchor was taken.
    pub at: String,
    /// The Ed25519 public key that signed it (hex).
    pub public_key: String,
    /// The signature over the fields above (hex).
    pub signature: String,
}

fn message(seq: i64, hash: &str, entries: i64, at: &str, public_key: &str) -> Vec<u8> {
    let mut out = b"spirit-audit-anchor-v1".to_vec();
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&entries.to_be_bytes());
    for f in [hash, at, public_key] {
        out.extend_from_slice(&(f.len() as u32).to_be_bytes());
        out.extend_from_slice(f.as_bytes());
    }
    out
}

/// Takes an anchor of the log's current head, signed with `key`.
pub fn take(conn: &Connection, key: &AuditKey) -> Result<Anchor, StoreError> {
    let (seq, hash, entries): (i64, Vec<u8>, i64) = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0), \
                COALESCE((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1), zeroblob(32)), \
                COUNT(*) FROM audit",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let (hash, at) = (hex(&hash), now());
    let public_key = hex(key.public_key().as_bytes());
    let signature = hex(&key.sign(&message(seq, &hash, entries, &at, &public_key)));
    Ok(Anchor {
        anchor: 1,
        seq,
        hash,
        entries,
        at,
        public_key,
        signature,
    })
}

/// Where anchors go besides the caller: a file the auditor keeps (appended to, synced),
/// or the system log (facility auth), from where a log shipper takes them off the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    File(std::path::PathBuf),
    Syslog,
}

impl std::fmt::Display for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::File(path) => write!(f, "{}", path.display()),
            Sink::Syslog => f.write_str("syslog"),
        }
    }
}

/// Logs the anchoring (`audit.anchor`, by `actor`, naming the sink), then takes the anchor
/// of the log's head, which that entry now is, and hands it to `sink`.
pub fn anchor_to(
    ws: &mut crate::Workspace,
    actor: &str,
    sink: Option<&Sink>,
) -> Result<Anchor, StoreError> {
    let key = ws.audit_key()?;
    let mut e = audit::Entry::new(actor, "audit.anchor");
    e.detail = serde_json::json!({ "to": sink.map_or("stdout".into(), |s| s.to_string()) });
    audit::append_to(ws, &[e])?;
    let a = take(ws.connection(), &key)?;
    if let Some(sink) = sink {
        deliver(&a, sink)?;
    }
    Ok(a)
}

/// Appends the anchor as one JSON line to the sink.
pub fn deliver(a: &Anchor, sink: &Sink) -> Result<(), StoreError> {
    let line = serde_json::to_string(a).expect("an anchor serialises");
    match sink {
        Sink::File(path) => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| StoreError::io(path, e))?;
            writeln!(f, "{line}")
                .and_then(|()| f.sync_all())
                .map_err(|e| StoreError::io(path, e))
        }
        Sink::Syslog => {
            let text = std::ffi::CString::new(format!("spirit audit anchor {line}"))
                .expect("JSON has no NUL byte");
            // SAFETY: the strings are NUL-terminated and outlive the calls; "%s" takes one
            // C string argument, which is given.
            unsafe {
                libc::openlog(c"spirit".as_ptr(), libc::LOG_PID, libc::LOG_AUTH);
                libc::syslog(libc::LOG_NOTICE, c"%s".as_ptr(), text.as_ptr());
                libc::closelog();
            }
            Ok(())
        }
    }
}

impl Anchor {
    /// Checks the signature under the anchor's own public key.
    pub fn signed(&self) -> bool {
        let Some(pk) =
            parse_hex::<32>(&self.public_key).and_then(|b| VerifyingKey::from_bytes(&b).ok())
        else {
            return false;
        };
        let Some(sig) = parse_hex::<64>(&self.signature) else {
            return false;
        };
        let msg = message(
            self.seq,
            &self.hash,
            self.entries,
            &self.at,
            &self.public_key,
        );
        pk.verify(&msg, &Signature::from_bytes(&sig)).is_ok()
    }
}

/// Reads anchors, one JSON object a line (blank lines skipped); an unreadable line is
/// an error that names it.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Anchor>, StoreError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let a: Anchor = serde_json::from_str(line).map_err(|e| {
            StoreError::Invalid(format!("{origin}, line {}: not an anchor: {e}", i + 1))
        })?;
        out.push(a);
    }
    Ok(out)
}

/// [`audit::verify`], and checks the log against anchors an auditor kept ([`check`];
/// `trusted` is the anchor key the auditor pinned, hex), in one snapshot.
pub fn verify(
    conn: &Connection,
    key: Option<&AuditKey>,
    anchors: &[Anchor],
    trusted: Option<&str>,
) -> Result<Verification, StoreError> {
    conn.execute_batch("SAVEPOINT anchor_verify")?;
    let out = audit::verify(conn, key).and_then(|mut v| {
        let mut found = check(conn, anchors, trusted, key)?;
        found.truncate(audit::MAX_PROBLEMS);
        v.problems.extend(found);
        Ok(v)
    });
    let released = conn.execute_batch("RELEASE anchor_verify");
    let out = out?;
    released?;
    Ok(out)
}

/// Checks the log against anchors an auditor kept. `trusted` is the public key the
/// auditor pinned (hex); without it, every anchor must carry the workspace key's public
/// key (`key`), or, when the key is not available here, the first anchor's.
pub fn check(
    conn: &Connection,
    anchors: &[Anchor],
    trusted: Option<&str>,
    key: Option<&AuditKey>,
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    let expected: Option<String> = trusted
        .map(|t| t.trim().to_ascii_lowercase())
        .or_else(|| key.map(|k| hex(k.public_key().as_bytes())))
        .or_else(|| anchors.first().map(|a| a.public_key.clone()));
    let last: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))?;
    let mut stmt = conn.prepare("SELECT hash FROM audit WHERE seq = ?1")?;
    for (i, a) in anchors.iter().enumerate() {
        let name = format!("anchor {} (entry {}, {})", i + 1, a.seq, a.at);
        if !a.signed() {
            problems.push(Problem {
                seq: a.seq,
                message: format!(
                    "{name}: its signature is not valid: the anchor was altered or forged"
                ),
            });
            continue;
        }
        if expected.as_deref() != Some(a.public_key.as_str()) {
            problems.push(Problem {
                seq: a.seq,
                message: format!(
                    "{name} is signed by key {}, not by the trusted key {}",
                    a.public_key,
                    expected.as_deref().unwrap_or("-")
                ),
            });
            continue;
        }
        if a.seq == 0 {
            continue;
        }
        if a.seq > last {
            problems.push(Problem {
                seq: last + 1,
                message: format!(
                    "{name} vouches for {} entries, but the log ends at entry {last}: entries {} to {} were removed",
                    a.entries,
                    last + 1,
                    a.seq
                ),
            });
            continue;
        }
        let hash: Option<Vec<u8>> = stmt.query_row([a.seq], |r| r.get(0)).optional()?;
        match hash {
            None => problems.push(Problem {
                seq: a.seq,
                message: format!("{name}: entry {} is missing from the log", a.seq),
            }),
            Some(h) if hex(&h) != a.hash => problems.push(Problem {
                seq: a.seq,
                message: format!(
                    "{name}: the log up to entry {} is not the log the anchor vouches for: entries were rewritten, removed or reordered",
                    a.seq
                ),
            }),
            Some(_) => {
                let count: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM audit WHERE seq <= ?1",
                    [a.seq],
                    |r| r.get(0),
                )?;
                if count != a.entries {
                    problems.push(Problem {
                        seq: a.seq,
                        message: format!(
                            "{name} counted {} entries up to entry {}, the log holds {count}",
                            a.entries, a.seq
                        ),
                    });
                }
            }
        }
    }
    Ok(problems)
}
