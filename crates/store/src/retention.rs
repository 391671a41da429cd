//! Retention and erasure: deleting records and everything derived from them.
//!
//! Erasing a post also takes from its account every attribute that came only from
//! erased posts, rebuilds the account's style profile and drops its edges
//! ([`crate::style::after_erasure`]).
//!
//! Erasing a record deletes, in one transaction: its search postings (and terms no other
//! record holds, with their trigram entries, under FTS5 `secure-delete`), its attributes,
//! the edges that touch it, the judgements on it (their events keep only the fact that
//! something was erased), its membership, and the record itself with its payload. The
//! entities it belonged to are re-clustered from the stored edges and judgements of the
//! records that remain (the incremental path's re-clustering, so ids behave as on every
//! other path); an entity left with no record retires. The audit entry written in the
//! same transaction holds counts and the reason, never the erased content.
//!
//! A source may carry a retention period in days (counted from when each record was
//! stored); [`apply_retention`] erases every record older than its source allows.
//! Erasure runs are stored as runs of kind `judge` (the run kinds of schema version 1 are
//! fixed by a CHECK constraint); their summary says `"erasure"`.

use rusqlite::{Connection, TransactionBehavior, params};
use rustc_hash::FxHashSet;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Entry};
use crate::entities::Changes;
use crate::incremental::{entity_of, recluster};
use crate::{StoreError, Workspace, now, timestamp};

/// Records erased per transaction by [`apply_retention`].
pub const ERASE_CHUNK: usize = 2_000;

/// What an erasure deleted and changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Erasure {
    pub records: u64,
    pub attributes: u64,
    /// Mentions held by the erased records or found in them (an account's mentions
    /// that came from an erased post).
    pub mentions: u64,
    pub edges: u64,
    /// What erased posts took from their accounts.
    pub accounts: crate::style::AccountFix,
    pub judgements: u64,
    /// Entities that held an erased record.
    pub entities_touched: u64,
    /// Entities left without records (retired).
    pub entities_emptied: u64,
    pub changes: Changes,
    /// The audit entry of the erasure.
    pub audit_seq: Option<i64>,
}

/// Erases records (internal ids) with everything derived from them, re-resolves the
/// entities they belonged to, and logs `entry` (with the counts added) in the same
/// transaction.
pub fn erase(ws: &mut Workspace, records: &[i64], entry: Entry) -> Result<Erasure, StoreError> {
    ws.require_write()?;
    let settings = ws.settings().clone();
    let dir = ws.dir().to_path_buf();
    let key = ws.audit_key()?;
    let tx = ws
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| crate::workspace::map_store_error(&dir, e.into()))?;
    let mut report = erase_in(&tx, &settings, records)?;
    let mut entry = entry;
    entry.detail = merge_detail(entry.detail, &report);
    report.audit_seq = audit::append(&tx, &key, &[entry])?.first().copied();
    tx.commit()
        .map_err(|e| crate::workspace::map_store_error(&dir, e.into()))?;
    Ok(report)
}

fn merge_detail(detail: serde_json::Value, report: &Erasure) -> serde_json::Value {
    let mut out = json!({
        "records": report.records,
        "attributes": report.attributes,
        "mentions": report.mentions,
        "edges": report.edges,
        "account_attributes_removed": report.accounts.attributes_removed,
        "judgements": report.judgements,
        "entities_touched": report.entities_touched,
        "entities_emptied": report.entities_emptied,
    });
    if let (Some(o), serde_json::Value::Object(extra)) = (out.as_object_mut(), detail) {
        for (k, v) in extra {
            o.insert(k, v);
        }
    }
    out
}

/// The erasure inside the caller's write transaction.
fn erase_in(
    conn: &Connection,
    settings: &spirit_matching::Settings,
    records: &[i64],
) -> Result<Erasure, StoreError> {
    let mut report = Erasure::default();
    let mut ids: Vec<i64> = records.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut exists = conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM records WHERE id = ?1)")?;
    let mut present = Vec::with_capacity(ids.len());
    for id in ids {
        if exists.query_row([id], |r| r.get::<_, bool>(0))? {
            present.push(id);
        }
    }
    drop(exists);
    if present.is_empty() {
        return Ok(report);
    }
    let run = Workspace::start_run(conn, "judge")?;
    let mut entities: FxHashSet<i64> = FxHashSet::default();
    for &r in &present {
        if let Some(e) = entity_of(conn, r)? {
            entities.insert(e);
        }
    }
    let list = serde_json::to_string(&present).unwrap_or_else(|_| "[]".into());
    // Judgements on erased records, and the events that repeat their reasons.
    let judgements: Vec<i64> = conn
        .prepare(
            "SELECT id FROM judgements WHERE a IN (SELECT value FROM json_each(?1)) \
             OR b IN (SELECT value FROM json_each(?1))",
        )?
        .query_map([&list], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let jlist = serde_json::to_string(&judgements).unwrap_or_else(|_| "[]".into());
    let erased = json!({ "erased": true }).to_string();
    conn.execute(
        "UPDATE events SET detail = ?2 WHERE kind = 'judgement' \
         AND json_extract(detail, '$.judgement') IN (SELECT value FROM json_each(?1))",
        params![jlist, erased],
    )?;
    conn.execute(
        "UPDATE events SET record = NULL, detail = ?2 \
         WHERE record IN (SELECT value FROM json_each(?1))",
        params![list, erased],
    )?;
    report.judgements = conn.execute(
        "DELETE FROM judgements WHERE id IN (SELECT value FROM json_each(?1))",
        [&jlist],
    )? as u64;
    let accounts = crate::style::accounts_of(conn, &list)?;
    crate::style::unlink(conn, &list)?;
    report.mentions = crate::mentions::erase(conn, &list)?;
    for &r in &present {
        crate::search::unindex_record(conn, r)?;
        report.attributes += conn
            .prepare_cached("DELETE FROM attributes WHERE record = ?1")?
            .execute([r])? as u64;
        report.edges += conn
            .prepare_cached("DELETE FROM edges WHERE a = ?1")?
            .execute([r])? as u64;
        report.edges += conn
            .prepare_cached("DELETE FROM edges WHERE b = ?1")?
            .execute([r])? as u64;
        conn.prepare_cached("DELETE FROM membership WHERE record = ?1")?
            .execute([r])?;
        report.records += conn
            .prepare_cached("DELETE FROM records WHERE id = ?1")?
            .execute([r])? as u64;
    }
    // A resolver parked between batches loads its resident index again when it sees
    // this count move (`incremental::Parked::resume`).
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET \
         value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
        params![crate::incremental::RECORDS_ERASED, present.len() as i64],
    )?;
    report.accounts = crate::style::after_erasure(conn, &accounts)?;
    report.edges += report.accounts.edges;
    for &a in &accounts {
        if let Some(e) = entity_of(conn, a)? {
            entities.insert(e);
        }
    }
    // Re-resolve what is left of each entity; retire those left empty.
    let mut sorted: Vec<i64> = entities.into_iter().collect();
    sorted.sort_unstable();
    report.entities_touched = sorted.len() as u64;
    let mut seeds = Vec::new();
    let at = now();
    for &e in &sorted {
        let left: Vec<i64> = conn
            .prepare_cached("SELECT record FROM membership WHERE entity = ?1 ORDER BY record")?
            .query_map([e], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if left.is_empty() {
            conn.execute(
                "UPDATE entities SET retired_at = ?2, retired_into = NULL WHERE id = ?1",
                params![e, at],
            )?;
            conn.execute(
                "INSERT INTO events(at, run, kind, entity, other, record, detail) \
                 VALUES (?1, ?2, 'retire', ?3, NULL, NULL, ?4)",
                params![at, run, e, json!({ "reason": "erasure" }).to_string()],
            )?;
            report.entities_emptied += 1;
            report.changes.retired += 1;
        } else {
            seeds.extend(left);
        }
    }
    if !seeds.is_empty() {
        let (_, changes) = recluster(conn, run, settings, &seeds)?;
        report.changes += changes;
    }
    let summary = json!({ "erasure": merge_detail(serde_json::Value::Null, &report) }).to_string();
    Workspace::finish_run(conn, run, None, &summary)?;
    Ok(report)
}

/// What [`apply_retention`] erased, per source.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RetentionReport {
    /// (source, retention days, records erased)
    pub sources: Vec<(String, i64, u64)>,
    pub total: Erasure,
}

/// Erases every record stored longer ago than its source's retention period allows (as
/// of `now_ms`, milliseconds since the Unix epoch), in transactions of [`ERASE_CHUNK`]
/// records, each with its audit entry by `actor`.
pub fn apply_retention(
    ws: &mut Workspace,
    actor: &str,
    now_ms: i64,
) -> Result<RetentionReport, StoreError> {
    ws.require_write()?;
    let policies: Vec<(i64, String, i64, Option<String>)> = ws
        .conn
        .prepare(
            "SELECT s.id, s.name, s.retention_days, c.name FROM sources s \
             LEFT JOIN cases c ON c.id = s.case_id \
             WHERE s.retention_days IS NOT NULL ORDER BY s.name",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut report = RetentionReport::default();
    for (source, name, days, case) in policies {
        let cutoff = timestamp(now_ms - days.saturating_mul(86_400_000));
        let expired: Vec<i64> = ws
            .conn
            .prepare(
                "SELECT r.id FROM records r JOIN runs u ON u.id = r.run \
                 WHERE r.source = ?1 AND u.started_at <= ?2 ORDER BY r.id",
            )?
            .query_map(params![source, cutoff], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut erased = 0u64;
        for chunk in expired.chunks(ERASE_CHUNK) {
            let mut entry = Entry::new(actor, "retention.erase");
            entry.case = case.clone();
            entry.target = Some(format!("source {name}"));
            entry.purpose = Some(format!("retention period of {days} days"));
            entry.detail =
                json!({ "source": name, "retention_days": days, "stored_before": cutoff });
            let e = erase(ws, chunk, entry)?;
            erased += e.records;
            let t = &mut report.total;
            t.records += e.records;
            t.attributes += e.attributes;
            t.edges += e.edges;
            t.judgements += e.judgements;
            t.entities_touched += e.entities_touched;
            t.entities_emptied += e.entities_emptied;
            t.changes += e.changes;
            t.audit_seq = e.audit_seq.or(t.audit_seq);
        }
        report.sources.push((name, days, erased));
    }
    Ok(report)
}
