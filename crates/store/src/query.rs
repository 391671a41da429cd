//! Read views of the store: one record, one entity with the evidence that holds it
//! together, and an entity's history.

use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use serde_json::Value;
use spirit_model::weight_to_probability;

use crate::resolve::unpack_partials;
use crate::{StoreError, entity_label, parse_entity};

/// One stored record.
#[derive(Clone, Debug, Serialize)]
pub struct RecordView {
    pub key: String,
    pub source: String,
    pub record_id: String,
    pub payload: String,
    pub provenance: String,
    pub stored_at: String,
    /// (kind, raw value, normalised value)
    pub attributes: Vec<(String, String, Option<String>)>,
    pub entity: Option<String>,
}

impl RecordView {
    /// The normalised value of the record's first attribute of `kind`.
    pub fn value(&self, kind: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _, _)| k == kind)
            .and_then(|(_, _, v)| v.as_deref())
    }
}

/// One edge between members of an entity, with its partial weights.
#[derive(Clone, Debug, Serialize)]
pub struct EdgeView {
    pub left: String,
    pub right: String,
    pub weight: f64,
    pub probability: f64,
    /// The partial weights that make up the match weight.
    pub partials: Vec<(String, f64)>,
    /// Advisory partial weights (writing style, unless the settings let it link): shown,
    /// not counted.
    pub advisory: Vec<crate::resolve::AdvisoryPartial>,
}

/// A judgement touching an entity's records.
#[derive(Clone, Debug, Serialize)]
pub struct JudgementView {
    pub id: i64,
    pub left: String,
    pub right: String,
    pub verdict: String,
    pub author: String,
    pub reason: String,
    pub at: String,
    /// False when a later judgement on the same pair replaced it.
    pub in_force: bool,
}

/// An entity: its records, its attribute values and why its records are together.
#[derive(Clone, Debug, Serialize)]
pub struct EntityView {
    pub entity: String,
    pub created_at: String,
    /// `None` while live; else when it retired and into which entity.
    pub retired: Option<(String, Option<String>)>,
    pub records: Vec<RecordView>,
    /// Per kind, the distinct normalised values and how many records hold each.
    pub attributes: Vec<(String, Vec<(String, u64)>)>,
    /// Edges between its records, strongest first (at most [`ENTITY_EDGES`]).
    pub edges: Vec<EdgeView>,
    pub edge_count: u64,
    pub judgements: Vec<JudgementView>,
    pub events: u64,
    /// For each identifier attribute of its records that was found in a document, the
    /// first mention it came from (document, byte offsets, snippet); at most
    /// [`ENTITY_MENTIONS`].
    pub mentions: Vec<crate::mentions::MentionView>,
}

/// Mentions shown in an entity view at most.
pub const ENTITY_MENTIONS: usize = 200;

/// Edges shown in an entity view at most.
pub const ENTITY_EDGES: usize = 50;

/// One event of an entity's history.
#[derive(Clone, Debug, Serialize)]
pub struct EventView {
    pub id: i64,
    pub at: String,
    pub run: Option<i64>,
    pub kind: String,
    pub entity: String,
    pub other: Option<String>,
    pub record: Option<String>,
    pub detail: Value,
}

fn key_of(conn: &Connection, record: i64) -> Result<String, StoreError> {
    crate::judge::record_key(conn, record)
}

/// The stored record with internal id `id`.
pub fn record_by_id(conn: &Connection, id: i64) -> Result<Option<RecordView>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT s.name, r.record_id, r.payload, r.provenance, u.started_at, m.entity \
             FROM records r JOIN sources s ON s.id = r.source JOIN runs u ON u.id = r.run \
             LEFT JOIN membership m ON m.record = r.id WHERE r.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .optional()?;
    let Some((source, record_id, payload, provenance, stored_at, entity)) = row else {
        return Ok(None);
    };
    let attributes = conn
        .prepare_cached("SELECT kind, raw, value FROM attributes WHERE record = ?1")?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(RecordView {
        key: format!("{source}:{record_id}"),
        source,
        record_id,
        payload,
        provenance,
        stored_at,
        attributes,
        entity: entity.map(entity_label),
    }))
}

/// A record given as `source:record_id` or a unique bare record id; `None` if absent.
pub fn record(conn: &Connection, text: &str) -> Result<Option<RecordView>, StoreError> {
    if text.trim().starts_with(['E', 'e']) && parse_entity(text).is_some() {
        // An entity id is not a record here; only records with such an id match.
        let id: Option<i64> = conn
            .prepare_cached("SELECT id FROM records WHERE record_id = ?1 LIMIT 1")?
            .query_row([text.trim()], |r| r.get(0))
            .optional()?;
        return id.map_or(Ok(None), |id| record_by_id(conn, id));
    }
    match crate::judge::find_record(conn, text) {
        Ok(id) => record_by_id(conn, id),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// An entity by id (`E12`); `None` if it never existed.
pub fn entity(conn: &Connection, text: &str) -> Result<Option<EntityView>, StoreError> {
    let Some(id) = parse_entity(text) else {
        return Err(StoreError::Invalid(format!(
            "{text:?} is not an entity id (entity ids look like E12)"
        )));
    };
    let row: Option<(String, Option<String>, Option<i64>)> = conn
        .query_row(
            "SELECT created_at, retired_at, retired_into FROM entities WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((created_at, retired_at, retired_into)) = row else {
        return Ok(None);
    };
    let members: Vec<i64> = conn
        .prepare_cached("SELECT record FROM membership WHERE entity = ?1 ORDER BY record")?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut records = Vec::with_capacity(members.len());
    let mut record_ids = Vec::with_capacity(members.len());
    for &m in &members {
        if let Some(v) = record_by_id(conn, m)? {
            record_ids.push(m);
            records.push(v);
        }
    }
    let attributes = attribute_summary(&records);

    let member_set: rustc_hash::FxHashSet<i64> = members.iter().copied().collect();
    let mut raw_edges: Vec<(i64, i64, f64, Vec<u8>, i64)> = Vec::new();
    {
        let mut stmt =
            conn.prepare_cached("SELECT b, weight, partials, model FROM edges WHERE a = ?1")?;
        for &m in &members {
            for row in stmt.query_map([m], |r| {
                Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })? {
                let (b, w, p, model) = row?;
                if member_set.contains(&b) {
                    raw_edges.push((m, b, w, p, model));
                }
            }
        }
    }
    raw_edges.sort_by(|x, y| y.2.total_cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    let edge_count = raw_edges.len() as u64;
    let mut names: FxHashMap<i64, Option<spirit_matching::model::Model>> = FxHashMap::default();
    let mut edges = Vec::new();
    for (a, b, w, p, model) in raw_edges.into_iter().take(ENTITY_EDGES) {
        if let std::collections::hash_map::Entry::Vacant(v) = names.entry(model) {
            let json: Option<String> = conn
                .query_row("SELECT model FROM models WHERE id = ?1", [model], |r| {
                    r.get(0)
                })
                .optional()?;
            v.insert(json.and_then(|j| spirit_matching::model::Model::from_json(&j).ok()));
        }
        let (partials, advisory) =
            crate::resolve::split_partials(names[&model].as_ref(), &unpack_partials(&p));
        edges.push(EdgeView {
            left: key_of(conn, a)?,
            right: key_of(conn, b)?,
            weight: w,
            probability: weight_to_probability(w),
            partials,
            advisory,
        });
    }
    let mut judgements = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT id, a, b, verdict, author, reason, at, \
             id = (SELECT max(id) FROM judgements k WHERE k.a = j.a AND k.b = j.b) \
             FROM judgements j WHERE a = ?1 OR b = ?1 ORDER BY id",
        )?;
        let mut seen = rustc_hash::FxHashSet::default();
        for &m in &members {
            for row in stmt.query_map([m], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, bool>(7)?,
                ))
            })? {
                let (jid, a, b, verdict, author, reason, at, in_force) = row?;
                if seen.insert(jid) {
                    judgements.push(JudgementView {
                        id: jid,
                        left: key_of(conn, a)?,
                        right: key_of(conn, b)?,
                        verdict,
                        author,
                        reason,
                        at,
                        in_force,
                    });
                }
            }
        }
        judgements.sort_by_key(|j| j.id);
    }
    let events: i64 = conn.query_row(
        // A judgement between two entities is one event however many rows it has.
        "SELECT count(DISTINCT CASE WHEN kind = 'judgement' \
         THEN 'j' || json_extract(detail, '$.judgement') ELSE id END) \
         FROM events WHERE entity = ?1 OR other = ?1",
        [id],
        |r| r.get(0),
    )?;
    let events = events as u64;
    let mut mentions = Vec::new();
    'records: for (&m, rec) in record_ids.iter().zip(&records) {
        for (kind, _, value) in &rec.attributes {
            let Some(value) = value else { continue };
            if mentions.len() >= ENTITY_MENTIONS {
                break 'records;
            }
            mentions.extend(crate::mentions::of_record(
                conn,
                m,
                Some((kind.as_str(), value.as_str())),
                1,
            )?);
        }
    }
    Ok(Some(EntityView {
        mentions,
        entity: entity_label(id),
        created_at,
        retired: retired_at.map(|at| (at, retired_into.map(entity_label))),
        records,
        attributes,
        edges,
        edge_count,
        judgements,
        events,
    }))
}

/// Every event that names the entity (as subject or as the other side), in order.
pub fn history(conn: &Connection, text: &str) -> Result<Option<Vec<EventView>>, StoreError> {
    let Some(id) = parse_entity(text) else {
        return Err(StoreError::Invalid(format!(
            "{text:?} is not an entity id (entity ids look like E12)"
        )));
    };
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM entities WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    let mut stmt = conn.prepare(
        "SELECT id, at, run, kind, entity, other, record, detail FROM events \
         WHERE entity = ?1 OR other = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, Option<i64>>(6)?,
            r.get::<_, String>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    // A judgement between two entities is an event of each; the history shows it once.
    let mut judgements = FxHashSet::default();
    for row in rows {
        let (eid, at, run, kind, entity, other, record, detail) = row?;
        let detail: Value = serde_json::from_str(&detail).unwrap_or(Value::Null);
        if kind == "judgement"
            && let Some(j) = detail.get("judgement").and_then(Value::as_i64)
            && !judgements.insert(j)
        {
            continue;
        }
        out.push(EventView {
            id: eid,
            at,
            run,
            kind,
            entity: entity_label(entity),
            other: other.map(entity_label),
            record: record.map(|r| key_of(conn, r)).transpose()?,
            detail,
        });
    }
    Ok(Some(out))
}

/// (source, record id, entity) of every resolved record, in the order they were stored.
pub fn memberships(conn: &Connection) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.name, r.record_id, m.entity FROM records r JOIN sources s ON s.id = r.source \
         JOIN membership m ON m.record = r.id ORDER BY r.id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Writes `source,record_id,entity_id` for every resolved record (the layout of the
/// batch pipeline's `clusters.csv`, so `spirit evaluate` reads it). Returns the rows
/// written.
pub fn export_clusters(conn: &Connection, out: &std::path::Path) -> Result<u64, StoreError> {
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let csv_err = |e: csv::Error| StoreError::Invalid(format!("{}: {e}", tmp.display()));
    w.write_record(["source", "record_id", "entity_id"])
        .map_err(csv_err)?;
    let mut n = 0u64;
    for (source, record_id, entity) in memberships(conn)? {
        let entity = entity_label(entity);
        let cells = [&source, &record_id, &entity].map(|c| spirit_sources::cell::safe(c));
        w.write_record(cells.iter().map(|c| c.as_bytes()))
            .map_err(csv_err)?;
        n += 1;
    }
    w.flush().map_err(|e| StoreError::io(&tmp, e))?;
    drop(w);
    std::fs::rename(&tmp, out).map_err(|e| StoreError::io(out, e))?;
    Ok(n)
}

/// Per kind, the distinct normalised values of the records and how many hold each.
pub(crate) fn attribute_summary(records: &[RecordView]) -> Vec<(String, Vec<(String, u64)>)> {
    let mut values: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
        std::collections::BTreeMap::new();
    for r in records {
        for (kind, raw, value) in &r.attributes {
            // A style profile is kilobytes of counts: its summary (`built from N posts
            // (W words, T timestamps)`) stands for it.
            let value = if kind == "style_profile" {
                value.as_ref().map(|_| raw)
            } else {
                value.as_ref()
            };
            if let Some(v) = value {
                *values
                    .entry(kind.clone())
                    .or_default()
                    .entry(v.clone())
                    .or_default() += 1;
            }
        }
    }
    let mut out: Vec<(String, Vec<(String, u64)>)> = values
        .into_iter()
        .map(|(k, vs)| {
            let mut vs: Vec<(String, u64)> = vs.into_iter().collect();
            vs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            (k, vs)
        })
        .collect();
    // Built-in kinds in their order, then fields by name.
    let order = |k: &str| {
        let index = spirit_model::AttrKind::from_name(k).and_then(|k| k.index());
        index.unwrap_or(usize::MAX)
    };
    out.sort_by(|(a, _), (b, _)| order(a).cmp(&order(b)).then(a.cmp(b)));
    out
}
