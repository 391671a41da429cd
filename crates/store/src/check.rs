//! The integrity check behind `spirit check`: SQLite's own checks, then the store's
//! invariants — membership only in live entities,
//! every live entity with records, every judgement in force honoured by the current
//! entities, and no index entry pointing at a missing record.

use rusqlite::Connection;
use serde::Serialize;

use crate::resolve::active_judgements;
use crate::{StoreError, Workspace, schema};

/// The outcome of a check: figures, and problems (empty when the store is sound).
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub schema_version: u32,
    pub records: u64,
    pub unresolved_records: u64,
    pub live_entities: u64,
    pub edges: u64,
    pub judgements: u64,
    pub problems: Vec<String>,
}

impl CheckReport {
    /// True when no problem was found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn count(conn: &Connection, sql: &str) -> Result<u64, StoreError> {
    Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
}

/// Checks the workspace's store.
pub fn check(ws: &Workspace) -> Result<CheckReport, StoreError> {
    let conn = ws.connection();
    // One read transaction: every figure comes from the same moment, whatever writers do.
    let snapshot = conn.unchecked_transaction()?;
    let conn: &Connection = &snapshot;
    let mut problems = Vec::new();
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if integrity != ["ok"] {
        problems.extend(
            integrity
                .into_iter()
                .map(|m| format!("SQLite integrity: {m}")),
        );
    }
    let fk: Vec<(String, i64, String)> = conn
        .prepare("PRAGMA foreign_key_check")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (table, rowid, parent) in fk.iter().take(20) {
        problems.push(format!(
            "table {table}, row {rowid}: refers to a missing row of {parent}"
        ));
    }
    if fk.len() > 20 {
        problems.push(format!("… and {} more missing references", fk.len() - 20));
    }
    let version = schema::version(conn)?;
    if version != schema::CURRENT_VERSION {
        problems.push(format!(
            "schema version {version}, expected {}",
            schema::CURRENT_VERSION
        ));
    }
    let mut expect_zero = |sql: &str, what: &str| -> Result<(), StoreError> {
        let n = count(conn, sql)?;
        if n > 0 {
            problems.push(format!("{n} {what}"));
        }
        Ok(())
    };
    expect_zero(
        "SELECT count(*) FROM membership m JOIN entities e ON e.id = m.entity \
         WHERE e.retired_at IS NOT NULL",
        "records belong to a retired entity",
    )?;
    expect_zero(
        "SELECT count(*) FROM entities e WHERE e.retired_at IS NULL AND NOT EXISTS \
         (SELECT 1 FROM membership m WHERE m.entity = e.id)",
        "live entities have no records",
    )?;
    expect_zero(
        "SELECT count(*) FROM membership m WHERE NOT EXISTS \
         (SELECT 1 FROM records r WHERE r.id = m.record)",
        "memberships name a missing record",
    )?;
    expect_zero(
        "SELECT count(*) FROM search_postings p WHERE NOT EXISTS \
         (SELECT 1 FROM records r WHERE r.id = p.record)",
        "search postings name a missing record",
    )?;
    let entity =
        |r: i64| -> Result<Option<i64>, StoreError> { crate::incremental::entity_of(conn, r) };
    let judgements = active_judgements(conn)?;
    for (a, b, verdict) in &judgements {
        let (ea, eb) = (entity(*a)?, entity(*b)?);
        let broken = match (verdict.as_str(), ea, eb) {
            ("same", Some(x), Some(y)) => x != y,
            ("not-same", Some(x), Some(y)) => x == y,
            _ => false,
        };
        if broken {
            problems.push(format!(
                "judgement {verdict} on records {a} and {b} is not honoured by their entities"
            ));
        }
    }
    Ok(CheckReport {
        schema_version: version,
        records: count(conn, "SELECT count(*) FROM records")?,
        unresolved_records: count(
            conn,
            "SELECT count(*) FROM records r WHERE NOT EXISTS \
             (SELECT 1 FROM membership m WHERE m.record = r.id)",
        )?,
        live_entities: count(
            conn,
            "SELECT count(*) FROM entities WHERE retired_at IS NULL",
        )?,
        edges: count(conn, "SELECT count(*) FROM edges")?,
        judgements: judgements.len() as u64,
        problems,
    })
}
