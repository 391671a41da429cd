//! Stable entity ids: new clusters take over the ids of the entities they overlap most,
//! and every creation, merge and split is written down as an event.
//!
//! The same reconciliation serves the batch re-run (all records at once), incremental
//! resolution and judgements (the few entities a change touches), so ids behave alike
//! on every path.

use rusqlite::{Connection, params};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use serde_json::json;

use crate::{StoreError, now};

/// What a reconciliation changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub created: u64,
    pub merged: u64,
    pub split: u64,
    pub retired: u64,
    /// Records whose entity changed or that got their first entity.
    pub moved: u64,
}

impl std::ops::AddAssign for Changes {
    fn add_assign(&mut self, o: Changes) {
        self.created += o.created;
        self.merged += o.merged;
        self.split += o.split;
        self.retired += o.retired;
        self.moved += o.moved;
    }
}

/// Decides which old entity each group keeps: pairs (group, old entity) are taken in
/// order of overlap (most shared records first, then the older entity, then the group),
/// each group and each old entity at most once. `None` means the group needs a new id.
pub(crate) fn assign(groups: &[Vec<i64>], old: &FxHashMap<i64, i64>) -> Vec<Option<i64>> {
    let mut overlap: FxHashMap<(usize, i64), u64> = FxHashMap::default();
    for (g, members) in groups.iter().enumerate() {
        for r in members {
            if let Some(&e) = old.get(r) {
                *overlap.entry((g, e)).or_default() += 1;
            }
        }
    }
    let mut pairs: Vec<((usize, i64), u64)> = overlap.into_iter().collect();
    pairs.sort_unstable_by(|a, b| {
        b.1.cmp(&a.1)
            .then(a.0.1.cmp(&b.0.1))
            .then(a.0.0.cmp(&b.0.0))
    });
    let mut out = vec![None; groups.len()];
    let mut taken: FxHashSet<i64> = FxHashSet::default();
    for ((g, e), _) in pairs {
        if out[g].is_none() && !taken.contains(&e) {
            out[g] = Some(e);
            taken.insert(e);
        }
    }
    out
}

/// Writes the outcome of a clustering of `groups` (records per cluster; together they
/// hold every member of every entity in `old`'s range) into the store: ids by overlap,
/// new entities, membership, retirements and events. With `record_events`, each record
/// that joins an entity gets its own event (incremental path); otherwise attachments
/// are summed per entity (batch path). Returns the entity of each group.
pub(crate) fn reconcile(
    conn: &Connection,
    run: i64,
    groups: &[Vec<i64>],
    old: &FxHashMap<i64, i64>,
    record_events: bool,
) -> Result<(Vec<i64>, Changes), StoreError> {
    let at = now();
    let kept = assign(groups, old);
    let mut changes = Changes::default();
    let mut new_entity =
        conn.prepare_cached("INSERT INTO entities(created_at, created_run) VALUES (?1, ?2)")?;
    let mut event = conn.prepare_cached(
        "INSERT INTO events(at, run, kind, entity, other, record, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut set_member = conn.prepare_cached(
        "INSERT INTO membership(record, entity) VALUES (?1, ?2) \
         ON CONFLICT(record) DO UPDATE SET entity = excluded.entity",
    )?;
    let mut ids = Vec::with_capacity(groups.len());
    // Old entity → (new entity → records moved there).
    let mut transfers: FxHashMap<i64, FxHashMap<i64, u64>> = FxHashMap::default();
    let mut surviving: FxHashSet<i64> = FxHashSet::default();
    for (g, members) in groups.iter().enumerate() {
        let entity = match kept[g] {
            Some(e) => e,
            None => {
                new_entity.execute(params![at, run])?;
                let e = conn.last_insert_rowid();
                changes.created += 1;
                event.execute(params![
                    at,
                    run,
                    "create",
                    e,
                    None::<i64>,
                    None::<i64>,
                    json!({ "records": members.len() }).to_string()
                ])?;
                e
            }
        };
        surviving.insert(entity);
        ids.push(entity);
        let mut attached = 0u64;
        for &r in members {
            match old.get(&r) {
                Some(&e) if e == entity => {}
                Some(&e) => {
                    *transfers.entry(e).or_default().entry(entity).or_default() += 1;
                    set_member.execute(params![r, entity])?;
                    changes.moved += 1;
                }
                None => {
                    set_member.execute(params![r, entity])?;
                    changes.moved += 1;
                    attached += 1;
                    if record_events && kept[g].is_some() {
                        event.execute(params![at, run, "attach", entity, None::<i64>, r, "{}"])?;
                    }
                }
            }
        }
        if !record_events && kept[g].is_some() && attached > 0 {
            event.execute(params![
                at,
                run,
                "attach",
                entity,
                None::<i64>,
                None::<i64>,
                json!({ "records": attached }).to_string()
            ])?;
        }
    }
    let mut retire = conn
        .prepare_cached("UPDATE entities SET retired_at = ?2, retired_into = ?3 WHERE id = ?1")?;
    let mut olds: Vec<(&i64, &FxHashMap<i64, u64>)> = transfers.iter().collect();
    olds.sort_unstable_by_key(|(e, _)| **e);
    for (&from, to) in olds {
        let mut to: Vec<(i64, u64)> = to.iter().map(|(e, n)| (*e, *n)).collect();
        to.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if surviving.contains(&from) {
            for &(into, n) in &to {
                changes.split += 1;
                event.execute(params![
                    at,
                    run,
                    "split",
                    from,
                    into,
                    None::<i64>,
                    json!({ "records": n }).to_string()
                ])?;
            }
        } else {
            for &(into, n) in &to {
                changes.merged += 1;
                event.execute(params![
                    at,
                    run,
                    "merge",
                    into,
                    from,
                    None::<i64>,
                    json!({ "records": n }).to_string()
                ])?;
            }
            retire.execute(params![from, at, to[0].0])?;
            changes.retired += 1;
        }
    }
    // Entities that lost every record without any of them going to another entity
    // (their records left the store) retire too.
    let mut gone: Vec<i64> = old
        .values()
        .copied()
        .filter(|e| !surviving.contains(e) && !transfers.contains_key(e))
        .collect::<FxHashSet<i64>>()
        .into_iter()
        .collect();
    gone.sort_unstable();
    for e in gone {
        retire.execute(params![e, at, None::<i64>])?;
        changes.retired += 1;
    }
    Ok((ids, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old(pairs: &[(i64, i64)]) -> FxHashMap<i64, i64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn ids_follow_the_largest_overlap() {
        // Entity 7 held 1,2,3; entity 9 held 4. New clusters: {1,2} {3,4,5}.
        let o = old(&[(1, 7), (2, 7), (3, 7), (4, 9)]);
        let got = assign(&[vec![1, 2], vec![3, 4, 5]], &o);
        assert_eq!(got, vec![Some(7), Some(9)]);
        // A merge keeps the id of the entity contributing most.
        let got = assign(&[vec![1, 2, 3, 4]], &o);
        assert_eq!(got, vec![Some(7)]);
        // Ties go to the older entity.
        let o = old(&[(1, 9), (2, 7)]);
        assert_eq!(assign(&[vec![1, 2]], &o), vec![Some(7)]);
        // New records only: a new id.
        assert_eq!(assign(&[vec![10]], &o), vec![None]);
    }
}
