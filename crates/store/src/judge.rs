//! Analyst judgements: same, not-same or unsure on a pair of records (or of entities,
//! through a record of each), with author, time and reason.
//!
//! The latest judgement on a pair is the one in force; earlier ones stay as history, so
//! every judgement can be withdrawn (`unsure`) or reversed by a later one. "same" and
//! "not-same" are hard constraints for every clustering (batch and incremental); a
//! judgement that would contradict those in force — a "not-same" between records that
//! "same" judgements chain together — is refused with the judgements it contradicts.
//! A judgement re-clusters the entities it touches at once.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::json;
use spirit_matching::cluster::{ScoredPair, connected_components};

use crate::entities::Changes;
use crate::incremental::{entity_of, recluster};
use crate::resolve::active_judgements;
use crate::{StoreError, Workspace, entity_label, now, parse_entity};

/// An analyst's verdict on a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Same,
    NotSame,
    Unsure,
}

impl Verdict {
    /// `same`, `not-same` (or `not_same`, `different`), `unsure`.
    pub fn parse(text: &str) -> Option<Verdict> {
        match text.trim().to_ascii_lowercase().as_str() {
            "same" => Some(Verdict::Same),
            "not-same" | "not_same" | "notsame" | "different" => Some(Verdict::NotSame),
            "unsure" => Some(Verdict::Unsure),
            _ => None,
        }
    }

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Same => "same",
            Verdict::NotSame => "not-same",
            Verdict::Unsure => "unsure",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a judgement did.
#[derive(Clone, Debug, Serialize)]
pub struct JudgeReport {
    pub judgement: i64,
    pub verdict: Verdict,
    pub left: String,
    pub right: String,
    /// Entities of the two records after re-clustering.
    pub left_entity: Option<String>,
    pub right_entity: Option<String>,
    pub changes: Changes,
}

/// Finds a record by `source:record_id`, by a bare record id when it is unique, or by an
/// entity id (`E12`: the entity's first record).
pub fn find_record(conn: &Connection, text: &str) -> Result<i64, StoreError> {
    let text = text.trim();
    if let Some((source, rid)) = text.split_once(':')
        && let Some(id) = conn
            .prepare_cached(
                "SELECT r.id FROM records r JOIN sources s ON s.id = r.source \
                 WHERE s.name = ?1 AND r.record_id = ?2",
            )?
            .query_row(params![source, rid], |r| r.get(0))
            .optional()?
    {
        return Ok(id);
    }
    let hits: Vec<i64> = conn
        .prepare_cached("SELECT id FROM records WHERE record_id = ?1 LIMIT 2")?
        .query_map([text], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match hits.as_slice() {
        [one] => return Ok(*one),
        [_, _] => {
            return Err(StoreError::Invalid(format!(
                "record id {text:?} is in several sources; write it as source:record_id"
            )));
        }
        _ => {}
    }
    if text.starts_with(['E', 'e'])
        && let Some(e) = parse_entity(text)
    {
        let first: Option<i64> = conn
            .prepare_cached("SELECT min(record) FROM membership WHERE entity = ?1")?
            .query_row([e], |r| r.get(0))?;
        return first.ok_or_else(|| {
            StoreError::NotFound(format!("entity {text} has no records (it may be retired)"))
        });
    }
    Err(StoreError::NotFound(format!(
        "no record {text:?} in the store (write source:record_id, a record id, or an entity id like E12)"
    )))
}

/// `source:record_id` of a stored record.
pub fn record_key(conn: &Connection, record: i64) -> Result<String, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT s.name || ':' || r.record_id FROM records r JOIN sources s ON s.id = r.source \
             WHERE r.id = ?1",
        )?
        .query_row([record], |r| r.get(0))?)
}

/// Records a judgement and re-clusters the entities of the two records.
pub fn judge(
    ws: &mut Workspace,
    verdict: Verdict,
    left: &str,
    right: &str,
    author: &str,
    reason: &str,
) -> Result<JudgeReport, StoreError> {
    ws.require_write()?;
    if author.trim().is_empty() {
        return Err(StoreError::Invalid("a judgement needs an author".into()));
    }
    if verdict != Verdict::Unsure && reason.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a same or not-same judgement needs a reason (--reason \"…\")".into(),
        ));
    }
    let settings = ws.settings().clone();
    let dir = ws.dir().to_path_buf();
    let tx = ws
        .conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let run = Workspace::start_run(&tx, "judge")?;
    let (x, y) = (find_record(&tx, left)?, find_record(&tx, right)?);
    if x == y {
        return Err(StoreError::Invalid(format!(
            "{left} and {right} are the same record; judge two different records"
        )));
    }
    let (a, b) = (x.min(y), x.max(y));
    if verdict != Verdict::Unsure {
        check_consistent(&tx, a, b, verdict)?;
    }
    let at = now();
    tx.execute(
        "INSERT INTO judgements(a, b, verdict, author, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![a, b, verdict.name(), author.trim(), reason.trim(), at],
    )?;
    let judgement = tx.last_insert_rowid();
    let before = (entity_of(&tx, x)?, entity_of(&tx, y)?);
    let mut event = tx.prepare_cached(
        "INSERT INTO events(at, run, kind, entity, other, record, detail) \
         VALUES (?1, ?6, 'judgement', ?2, ?3, ?4, ?5)",
    )?;
    let detail = json!({
        "judgement": judgement,
        "verdict": verdict.name(),
        "left": record_key(&tx, x)?,
        "right": record_key(&tx, y)?,
        "author": author.trim(),
        "reason": reason.trim(),
    })
    .to_string();
    // One event per entity judged; `other` names the other entity when there are two.
    let other = |e: Option<i64>, of: Option<i64>| e.filter(|_| e != of);
    if let Some(ea) = before.0 {
        event.execute(params![at, ea, other(before.1, before.0), x, detail, run])?;
    }
    if let Some(eb) = before.1
        && before.1 != before.0
    {
        event.execute(params![at, eb, other(before.0, before.1), y, detail, run])?;
    }
    drop(event);
    // Records without an entity (stored, never resolved) are left to the next resolve.
    let seeds: Vec<i64> = [(x, before.0), (y, before.1)]
        .iter()
        .filter(|(_, e)| e.is_some())
        .map(|(r, _)| *r)
        .collect();
    let (entities, changes) = if seeds.is_empty() {
        (FxHashMap::default(), Changes::default())
    } else {
        recluster(&tx, run, &settings, &seeds)?
    };
    let report = JudgeReport {
        judgement,
        verdict,
        left: record_key(&tx, x)?,
        right: record_key(&tx, y)?,
        left_entity: entities.get(&x).copied().or(before.0).map(entity_label),
        right_entity: entities.get(&y).copied().or(before.1).map(entity_label),
        changes,
    };
    let summary = serde_json::to_string(&report).expect("report serialises");
    Workspace::finish_run(&tx, run, None, &summary)?;
    tx.commit()
        .map_err(|e| crate::workspace::map_store_error(&dir, e.into()))?;
    Ok(report)
}

/// Refuses a judgement on (a, b) that contradicts the judgements in force.
fn check_consistent(conn: &Connection, a: i64, b: i64, verdict: Verdict) -> Result<(), StoreError> {
    let mut active: Vec<(i64, i64, String)> = active_judgements(conn)?
        .into_iter()
        .filter(|(x, y, _)| !(*x == a && *y == b))
        .collect();
    active.push((a, b, verdict.name().to_string()));
    // Records that "same" judgements chain together: components over dense indices.
    let mut index: FxHashMap<i64, u32> = FxHashMap::default();
    for (x, y, _) in &active {
        for r in [*x, *y] {
            let next = index.len() as u32;
            index.entry(r).or_insert(next);
        }
    }
    let same: Vec<ScoredPair> = active
        .iter()
        .filter(|(_, _, v)| v == "same")
        .map(|(x, y, _)| ScoredPair {
            left: index[x],
            right: index[y],
            weight: 1.0,
        })
        .collect();
    let component = connected_components(index.len(), &same, 0.0);
    for (x, y, v) in &active {
        if v == "not-same" && component[index[x] as usize] == component[index[y] as usize] {
            return Err(StoreError::Contradiction {
                left: record_key(conn, *x)?,
                right: record_key(conn, *y)?,
            });
        }
    }
    Ok(())
}
