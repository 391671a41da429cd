//! What a user may see: the records of the cases they are a member of, and nothing
//! derived from other records.
//!
//! Every view here takes a [`Scope`] and filters by it before anything leaves the
//! store: an entity spanning cases shows only its visible records, the values they hold,
//! the edges and judgements between visible records; an entity with no visible record
//! is "not found" (the same answer as for an entity that never existed). Networks and
//! paths walk only through visible records, so they cannot reveal that an invisible
//! record joins two entities.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use spirit_model::{AttrKind, probability_to_weight, weight_to_probability};

use crate::query::{EntityView, RecordView, attribute_summary};
use crate::resolve::unpack_partials;
use crate::util::clip;
use crate::{StoreError, entity_label, parse_entity};

/// A shared identifier held by more records than this is a *hub*: it is reported with
/// its count but not followed.
pub const HUB_CAP: i64 = 200;
/// Records of one entity looked at when finding its neighbours.
pub const MAX_NEIGHBOUR_MEMBERS: usize = 2_000;
/// Entities a path search expands at most.
pub const MAX_PATH_EXPANSIONS: usize = 2_000;
/// Longest path searched, in links.
pub const MAX_PATH_DEPTH: usize = 6;

/// The cases a user may see, as the sources in them.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub cases: Vec<i64>,
    sources: FxHashSet<i64>,
    source_names: FxHashSet<String>,
}

impl Scope {
    /// The scope of a user: the cases they are a member of.
    pub fn for_user(conn: &Connection, user: i64) -> Result<Scope, StoreError> {
        let cases = crate::access::member_cases(conn, user)?;
        Scope::for_cases(conn, &cases)
    }

    /// The scope of a set of cases.
    pub fn for_cases(conn: &Connection, cases: &[i64]) -> Result<Scope, StoreError> {
        let mut scope = Scope {
            cases: cases.to_vec(),
            ..Scope::default()
        };
        let mut stmt = conn.prepare_cached("SELECT id, name FROM sources WHERE case_id = ?1")?;
        for &c in cases {
            for row in stmt.query_map([c], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
                let (id, name) = row?;
                scope.sources.insert(id);
                scope.source_names.insert(name);
            }
        }
        Ok(scope)
    }

    /// Every source, with a case or without: the rights of the workspace's owner at the
    /// command line.
    pub fn everything(conn: &Connection) -> Result<Scope, StoreError> {
        let mut scope = Scope::default();
        let mut stmt = conn.prepare("SELECT id, name FROM sources")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, name) = row?;
            scope.sources.insert(id);
            scope.source_names.insert(name);
        }
        scope.cases = conn
            .prepare("SELECT id FROM cases")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(scope)
    }

    /// True if the source (by name) is in a visible case.
    pub fn source_visible(&self, name: &str) -> bool {
        self.source_names.contains(name)
    }

    /// True if the record key `source:record_id` is of a visible source.
    pub fn key_visible(&self, key: &str) -> bool {
        key.split_once(':')
            .is_some_and(|(s, _)| self.source_names.contains(s))
    }

    /// True if the record (internal id) is visible.
    pub fn record_visible(&self, conn: &Connection, record: i64) -> Result<bool, StoreError> {
        let source: Option<i64> = conn
            .prepare_cached("SELECT source FROM records WHERE id = ?1")?
            .query_row([record], |r| r.get(0))
            .optional()?;
        Ok(source.is_some_and(|s| self.sources.contains(&s)))
    }
}

fn not_found(what: &str) -> StoreError {
    StoreError::NotFound(format!("{what} not found"))
}

/// The internal id of a record given as `source:record_id`, if it is visible.
pub fn record_id(conn: &Connection, scope: &Scope, key: &str) -> Result<i64, StoreError> {
    let Some((source, rid)) = key.trim().split_once(':') else {
        return Err(StoreError::Invalid(format!(
            "record {:?} must be written source:record_id",
            clip(key, 100)
        )));
    };
    if !scope.source_visible(source) {
        return Err(not_found(&format!("record {}", clip(key, 100))));
    }
    conn.prepare_cached(
        "SELECT r.id FROM records r JOIN sources s ON s.id = r.source \
         WHERE s.name = ?1 AND r.record_id = ?2",
    )?
    .query_row(params![source, rid], |r| r.get(0))
    .optional()?
    .ok_or_else(|| not_found(&format!("record {}", clip(key, 100))))
}

/// A visible record.
pub fn record(conn: &Connection, scope: &Scope, key: &str) -> Result<RecordView, StoreError> {
    let id = record_id(conn, scope, key)?;
    crate::query::record_by_id(conn, id)?.ok_or_else(|| not_found("record"))
}

fn entity_number(text: &str) -> Result<i64, StoreError> {
    parse_entity(text).ok_or_else(|| {
        StoreError::Invalid(format!(
            "{:?} is not an entity id (entity ids look like E12)",
            clip(text, 100)
        ))
    })
}

/// The visible members of an entity, in id order.
pub fn visible_members(
    conn: &Connection,
    scope: &Scope,
    entity: i64,
) -> Result<Vec<i64>, StoreError> {
    let all: Vec<(i64, i64)> = conn
        .prepare_cached(
            "SELECT m.record, r.source FROM membership m JOIN records r ON r.id = m.record \
             WHERE m.entity = ?1 ORDER BY m.record",
        )?
        .query_map([entity], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(all
        .into_iter()
        .filter(|(_, s)| scope.sources.contains(s))
        .map(|(r, _)| r)
        .collect())
}

/// An entity as the scope shows it; "not found" when none of its records is visible.
pub fn entity(conn: &Connection, scope: &Scope, text: &str) -> Result<EntityView, StoreError> {
    let id = entity_number(text)?;
    let label = entity_label(id);
    let mut view =
        crate::query::entity(conn, &label)?.ok_or_else(|| not_found(&format!("entity {label}")))?;
    view.records.retain(|r| scope.source_visible(&r.source));
    if view.records.is_empty() {
        return Err(not_found(&format!("entity {label}")));
    }
    view.attributes = attribute_summary(&view.records);
    view.edges
        .retain(|e| scope.key_visible(&e.left) && scope.key_visible(&e.right));
    view.edge_count = entity_edges(conn, scope, &label, 0, 0)?.0;
    view.judgements
        .retain(|j| scope.key_visible(&j.left) && scope.key_visible(&j.right));
    Ok(view)
}

/// The history of an entity (merges, splits, records joining, judgements, erasures) as
/// far as `scope` may see it: an event about a record of another case, or a judgement
/// on a pair with a record of another case, is left out. NotFound when the entity has no
/// visible record now and never had one in an event the scope sees.
pub fn history(
    conn: &Connection,
    scope: &Scope,
    text: &str,
) -> Result<Vec<crate::query::EventView>, StoreError> {
    let id = entity_number(text)?;
    let label = entity_label(id);
    let events = crate::query::history(conn, &label)?
        .ok_or_else(|| not_found(&format!("entity {label}")))?;
    let visible_now = !visible_members(conn, scope, id)?.is_empty();
    let key_ok = |v: &serde_json::Value| v.as_str().is_none_or(|k| scope.key_visible(k));
    // Counts of records at the time of an event would tell a reader who does not see
    // every source that records exist outside their cases: they are left out.
    let sources: i64 = conn.query_row("SELECT COUNT(*) FROM sources", [], |r| r.get(0))?;
    let partial = scope.sources.len() < sources as usize;
    let shown: Vec<_> = events
        .into_iter()
        .filter(|e| {
            e.record.as_deref().is_none_or(|k| scope.key_visible(k))
                && key_ok(&e.detail["left"])
                && key_ok(&e.detail["right"])
        })
        .map(|mut e| {
            if partial && let Some(d) = e.detail.as_object_mut() {
                d.remove("records");
            }
            e
        })
        .collect();
    if !visible_now && !shown.iter().any(|e| e.record.is_some()) {
        return Err(not_found(&format!("entity {label}")));
    }
    Ok(shown)
}

/// One edge with its explanation: the match weight is the prior weight plus the partial
/// weight of every comparison plus `adjustment` (the household correction, if any).
#[derive(Clone, Debug, Serialize)]
pub struct EdgeExplanation {
    pub left: String,
    pub right: String,
    pub weight: f64,
    pub probability: f64,
    pub prior_weight: f64,
    pub partials: Vec<(String, f64)>,
    pub adjustment: f64,
    /// Advisory partial weights (writing style, unless the settings let it link): shown
    /// with their level and calibration, not part of the sum.
    pub advisory: Vec<crate::resolve::AdvisoryPartial>,
}

/// The edges between visible members of an entity, strongest first: the total and the
/// page `offset..offset + limit`.
pub fn entity_edges(
    conn: &Connection,
    scope: &Scope,
    text: &str,
    offset: usize,
    limit: usize,
) -> Result<(u64, Vec<EdgeExplanation>), StoreError> {
    let id = entity_number(text)?;
    let members = visible_members(conn, scope, id)?;
    if members.is_empty() {
        return Err(not_found(&format!("entity {}", entity_label(id))));
    }
    let set: FxHashSet<i64> = members.iter().copied().collect();
    let mut raw: Vec<(i64, i64, f64)> = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT b, weight FROM edges WHERE a = ?1")?;
    for &m in &members {
        for row in stmt.query_map([m], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))? {
            let (b, w) = row?;
            if set.contains(&b) {
                raw.push((m, b, w));
            }
        }
    }
    raw.sort_by(|x, y| y.2.total_cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    let total = raw.len() as u64;
    type Known = (Option<spirit_matching::model::Model>, f64);
    let mut models: FxHashMap<i64, Known> = FxHashMap::default();
    let mut out = Vec::new();
    for (a, b, w) in raw.into_iter().skip(offset).take(limit) {
        let (partials, model): (Vec<u8>, i64) = conn
            .prepare_cached("SELECT partials, model FROM edges WHERE a = ?1 AND b = ?2")?
            .query_row([a, b], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if let std::collections::hash_map::Entry::Vacant(v) = models.entry(model) {
            let json: Option<String> = conn
                .query_row("SELECT model FROM models WHERE id = ?1", [model], |r| {
                    r.get(0)
                })
                .optional()?;
            let parsed = json.and_then(|j| spirit_matching::model::Model::from_json(&j).ok());
            let prior = parsed
                .as_ref()
                .map_or(0.0, |m| probability_to_weight(m.prior));
            v.insert((parsed, prior));
        }
        let (parsed, prior) = &models[&model];
        let (partials, advisory) =
            crate::resolve::split_partials(parsed.as_ref(), &unpack_partials(&partials));
        let sum: f64 = partials.iter().map(|(_, v)| v).sum();
        out.push(EdgeExplanation {
            left: crate::judge::record_key(conn, a)?,
            right: crate::judge::record_key(conn, b)?,
            weight: w,
            probability: weight_to_probability(w),
            prior_weight: *prior,
            adjustment: w - prior - sum,
            partials,
            advisory,
        });
    }
    Ok((total, out))
}

/// A search hit the scope may see.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    pub record: String,
    pub entity: Option<String>,
    pub score: f64,
    pub matched: Vec<(String, String)>,
}

/// Fuzzy search restricted to visible records, best first, at most `limit` (≤ 100).
pub fn search(
    conn: &Connection,
    scope: &Scope,
    card_key: Option<&[u8; 32]>,
    query: &str,
    limit: usize,
) -> Result<Vec<Hit>, StoreError> {
    let limit = limit.min(100);
    if scope.sources.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    // Hits of other cases are dropped after ranking: ask for more than wanted.
    let hits = crate::search::search(conn, card_key, query, (limit * 20).min(2_000))?;
    let mut out = Vec::new();
    for h in hits {
        if out.len() == limit {
            break;
        }
        if !scope.record_visible(conn, h.record)? {
            continue;
        }
        let (key, entity): (String, Option<i64>) = conn
            .prepare_cached(
                "SELECT s.name || ':' || r.record_id, m.entity FROM records r \
                 JOIN sources s ON s.id = r.source LEFT JOIN membership m ON m.record = r.id \
                 WHERE r.id = ?1",
            )?
            .query_row([h.record], |r| Ok((r.get(0)?, r.get(1)?)))?;
        out.push(Hit {
            record: key,
            entity: entity.map(entity_label),
            score: h.score,
            matched: h.matched,
        });
    }
    Ok(out)
}

/// How a neighbouring entity is reached.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Neighbour {
    pub entity: String,
    /// Edges (scored pairs below the clustering's decision) between the two entities.
    pub edges: u64,
    pub max_weight: Option<f64>,
    /// Identifiers both hold, as `kind:value`.
    pub shared: Vec<String>,
    /// One record pair that links them (this entity's record, the neighbour's).
    pub via: (String, String),
}

/// A shared identifier too common to follow.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hub {
    pub kind: String,
    pub value: String,
    pub records: i64,
}

/// The neighbourhood of an entity.
#[derive(Clone, Debug, Serialize)]
pub struct Network {
    pub entity: String,
    /// Neighbours in all.
    pub total: u64,
    pub offset: usize,
    /// This page of neighbours, strongest first.
    pub neighbours: Vec<Neighbour>,
    pub hubs: Vec<Hub>,
    /// True when the entity had more records than were looked at.
    pub truncated: bool,
}

struct Acc {
    edges: u64,
    max_weight: Option<f64>,
    shared: BTreeSet<String>,
    via: (i64, i64),
}

/// Neighbours with how they are reached, the hubs met, and whether members were cut.
type Neighbourhood = (BTreeMap<i64, Acc>, BTreeSet<Hub>, bool);

/// Entities linked to `entity` by an edge or a shared identifier between visible records.
fn neighbours(conn: &Connection, scope: &Scope, entity: i64) -> Result<Neighbourhood, StoreError> {
    let mut members = visible_members(conn, scope, entity)?;
    if members.is_empty() {
        return Err(not_found(&format!("entity {}", entity_label(entity))));
    }
    let truncated = members.len() > MAX_NEIGHBOUR_MEMBERS;
    members.truncate(MAX_NEIGHBOUR_MEMBERS);
    let mut out: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut hubs = BTreeSet::new();
    let other = |conn: &Connection, s: i64| -> Result<Option<i64>, StoreError> {
        if !scope.record_visible(conn, s)? {
            return Ok(None);
        }
        let e = crate::incremental::entity_of(conn, s)?;
        Ok(e.filter(|&e| e != entity))
    };
    let identifiers: Vec<&str> = AttrKind::ALL
        .into_iter()
        .filter(|k| k.is_identifier())
        .map(|k| k.name())
        .collect();
    for &r in &members {
        let linked: Vec<(i64, f64)> = conn
            .prepare_cached(
                "SELECT b, weight FROM edges WHERE a = ?1 UNION ALL SELECT a, weight FROM edges WHERE b = ?1",
            )?
            .query_map([r], |x| Ok((x.get(0)?, x.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (s, w) in linked {
            if let Some(f) = other(conn, s)? {
                let acc = out.entry(f).or_insert_with(|| Acc {
                    edges: 0,
                    max_weight: None,
                    shared: BTreeSet::new(),
                    via: (r, s),
                });
                acc.edges += 1;
                if acc.max_weight.is_none_or(|m| w > m) {
                    acc.max_weight = Some(w);
                    acc.via = (r, s);
                }
            }
        }
        let values: Vec<(String, String)> = conn
            .prepare_cached(
                "SELECT kind, value FROM attributes WHERE record = ?1 AND value IS NOT NULL",
            )?
            .query_map([r], |x| Ok((x.get(0)?, x.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (kind, value) in values {
            if !identifiers.contains(&kind.as_str()) {
                continue;
            }
            let term = clip(value.trim(), crate::search::MAX_TERM_BYTES);
            let found: Option<(i64, i64)> = conn
                .prepare_cached("SELECT id, postings FROM search_terms WHERE term = ?1")?
                .query_row([term], |x| Ok((x.get(0)?, x.get(1)?)))
                .optional()?;
            let Some((term_id, postings)) = found else {
                continue;
            };
            if postings > HUB_CAP {
                hubs.insert(Hub {
                    kind: kind.clone(),
                    value: value.clone(),
                    records: postings,
                });
                continue;
            }
            let holders: Vec<i64> = conn
                .prepare_cached("SELECT record FROM search_postings WHERE term = ?1")?
                .query_map([term_id], |x| x.get(0))?
                .collect::<Result<_, _>>()?;
            for s in holders {
                if s == r {
                    continue;
                }
                if let Some(f) = other(conn, s)? {
                    let acc = out.entry(f).or_insert_with(|| Acc {
                        edges: 0,
                        max_weight: None,
                        shared: BTreeSet::new(),
                        via: (r, s),
                    });
                    acc.shared.insert(format!("{kind}:{value}"));
                }
            }
        }
    }
    Ok((out, hubs, truncated))
}

fn strength(a: &Acc) -> (usize, f64) {
    (a.shared.len(), a.max_weight.unwrap_or(f64::NEG_INFINITY))
}

fn to_neighbour(conn: &Connection, e: i64, a: &Acc) -> Result<Neighbour, StoreError> {
    Ok(Neighbour {
        entity: entity_label(e),
        edges: a.edges,
        max_weight: a.max_weight,
        shared: a.shared.iter().cloned().collect(),
        via: (
            crate::judge::record_key(conn, a.via.0)?,
            crate::judge::record_key(conn, a.via.1)?,
        ),
    })
}

/// The entities around `entity`, strongest link first (most shared identifiers, then the
/// strongest edge, then the entity id), the page `offset..offset + limit`.
pub fn network(
    conn: &Connection,
    scope: &Scope,
    text: &str,
    offset: usize,
    limit: usize,
) -> Result<Network, StoreError> {
    let id = entity_number(text)?;
    let (found, hubs, truncated) = neighbours(conn, scope, id)?;
    let mut list: Vec<(&i64, &Acc)> = found.iter().collect();
    list.sort_by(|x, y| {
        let (sx, sy) = (strength(x.1), strength(y.1));
        sy.0.cmp(&sx.0)
            .then(sy.1.total_cmp(&sx.1))
            .then(x.0.cmp(y.0))
    });
    let mut page = Vec::new();
    for (e, a) in list.iter().skip(offset).take(limit) {
        page.push(to_neighbour(conn, **e, a)?);
    }
    Ok(Network {
        entity: entity_label(id),
        total: list.len() as u64,
        offset,
        neighbours: page,
        hubs: hubs.into_iter().collect(),
        truncated,
    })
}

/// A path between two entities.
#[derive(Clone, Debug, Serialize)]
pub struct PathView {
    pub from: String,
    pub to: String,
    pub found: bool,
    /// The entities along the path, `from` first and `to` last (empty if not found).
    pub entities: Vec<String>,
    /// How each step is made: the link from `entities[i]` to `entities[i + 1]`.
    pub links: Vec<Neighbour>,
    /// Entities expanded by the search.
    pub explored: u64,
    /// True when the search stopped at its bounds before exhausting the graph.
    pub bounded: bool,
}

/// The shortest path (fewest links) from one entity to another through edges and shared
/// identifiers between visible records, at most `max_depth` (≤ [`MAX_PATH_DEPTH`]) links,
/// expanding at most [`MAX_PATH_EXPANSIONS`] entities.
pub fn path(
    conn: &Connection,
    scope: &Scope,
    from: &str,
    to: &str,
    max_depth: usize,
) -> Result<PathView, StoreError> {
    let (a, b) = (entity_number(from)?, entity_number(to)?);
    for e in [a, b] {
        if visible_members(conn, scope, e)?.is_empty() {
            return Err(not_found(&format!("entity {}", entity_label(e))));
        }
    }
    let max_depth = max_depth.clamp(1, MAX_PATH_DEPTH);
    let mut view = PathView {
        from: entity_label(a),
        to: entity_label(b),
        found: false,
        entities: Vec::new(),
        links: Vec::new(),
        explored: 0,
        bounded: false,
    };
    if a == b {
        view.found = true;
        view.entities.push(entity_label(a));
        return Ok(view);
    }
    // parent: entity → (previous entity, link from it)
    let mut parent: FxHashMap<i64, (i64, Neighbour)> = FxHashMap::default();
    let mut queue: VecDeque<(i64, usize)> = VecDeque::from([(a, 0)]);
    let mut seen: FxHashSet<i64> = FxHashSet::from_iter([a]);
    'search: while let Some((e, depth)) = queue.pop_front() {
        if depth >= max_depth {
            view.bounded = true;
            continue;
        }
        if view.explored as usize >= MAX_PATH_EXPANSIONS {
            view.bounded = true;
            break;
        }
        view.explored += 1;
        let (found, _, truncated) = neighbours(conn, scope, e)?;
        view.bounded |= truncated;
        for (f, acc) in &found {
            if seen.insert(*f) {
                parent.insert(*f, (e, to_neighbour(conn, *f, acc)?));
                if *f == b {
                    break 'search;
                }
                queue.push_back((*f, depth + 1));
            }
        }
    }
    if parent.contains_key(&b) {
        let mut chain = vec![b];
        let mut links = Vec::new();
        let mut at = b;
        while let Some((p, link)) = parent.get(&at) {
            links.push(link.clone());
            chain.push(*p);
            at = *p;
        }
        chain.reverse();
        links.reverse();
        view.found = true;
        view.entities = chain.into_iter().map(entity_label).collect();
        view.links = links;
    }
    Ok(view)
}

/// `source,record_id,entity_id` rows of visible, resolved records, in record order: the
/// page `offset..offset + limit`.
pub fn export(
    conn: &Connection,
    scope: &Scope,
    offset: usize,
    limit: usize,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let cases = serde_json::to_string(&scope.cases).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn.prepare(
        "SELECT s.name, r.record_id, m.entity FROM records r JOIN sources s ON s.id = r.source \
         JOIN membership m ON m.record = r.id \
         WHERE s.case_id IN (SELECT value FROM json_each(?1)) ORDER BY r.id LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt.query_map(params![cases, limit as i64, offset as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, entity_label(r.get(2)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
