//! Step 1, frequency alignment: groups of near-identical encodings, aligned with the
//! sample's most frequent values.

use rustc_hash::FxHashMap;

use crate::block::{Blocking, candidates};
use crate::dice::FilterSet;
use crate::error::Result;

use super::AttackConfig;
use super::plain::PlainSegment;

/// Union-find.
struct Dsu(Vec<u32>);

impl Dsu {
    fn find(&mut self, x: u32) -> u32 {
        let mut r = x;
        while self.0[r as usize] != r {
            r = self.0[r as usize];
        }
        let mut y = x;
        while self.0[y as usize] != r {
            let next = self.0[y as usize];
            self.0[y as usize] = r;
            y = next;
        }
        r
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi as usize] = lo;
        }
    }
}

/// Step 1: aligns the groups (largest first) with the sample's values (most frequent
/// first) while their frequencies agree and the order is not a toss-up.
pub(super) fn align(
    groups: &[Vec<u32>],
    values_by_count: &[u32],
    plain: &PlainSegment,
    n_coded: usize,
    m_sample: usize,
    cfg: &AttackConfig,
) -> Vec<Option<u32>> {
    let mut group_value: Vec<Option<u32>> = vec![None; groups.len()];
    for (r, (g, &v)) in groups
        .iter()
        .zip(values_by_count)
        .take(cfg.max_aligned)
        .enumerate()
    {
        if g.len() < cfg.min_support {
            break;
        }
        let fg = g.len() as f64 / n_coded as f64;
        let fv = plain.values[v as usize].count as f64 / m_sample.max(1) as f64;
        if (fg - fv).abs() / fg.max(fv) > cfg.frequency_tolerance {
            break;
        }
        group_value[r] = Some(v);
        // The next value must be clearly rarer, or the order is a toss-up.
        let next = values_by_count
            .get(r + 1)
            .map_or(0, |&w| plain.values[w as usize].count);
        if (next as f64) > 0.85 * plain.values[v as usize].count as f64 {
            break;
        }
    }
    group_value
}

/// Groups of identical or near-identical encodings (empty encodings left out), largest
/// first.
pub(super) fn near_identical_groups(
    set: &FilterSet,
    thresholds: &[f64],
) -> Result<Vec<Vec<Vec<u32>>>> {
    let n = set.len();
    let mut exact: FxHashMap<&[u64], u32> = FxHashMap::default();
    let mut base = Dsu((0..n as u32).collect());
    for i in 0..n {
        if set.count(i) == 0 {
            continue;
        }
        let first = *exact.entry(set.get(i)).or_insert(i as u32);
        base.union(first, i as u32);
    }
    // Mostly distinct encodings, as noise makes them: near-duplicate pairs, found once at
    // the loosest threshold.
    let loosest = thresholds.iter().copied().fold(1.0f64, f64::min);
    let mut reps: Vec<u32> = exact.values().copied().collect();
    reps.sort_unstable();
    let pairs = if loosest < 1.0 && exact.len() > n / 2 {
        let rep_set = set.select(&reps);
        candidates(&rep_set, &rep_set, &Blocking::Auto, loosest)?.0
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(thresholds.len());
    for &t in thresholds {
        let mut dsu = Dsu(base.0.clone());
        for c in pairs.iter().filter(|c| c.a != c.b && c.score >= t) {
            dsu.union(reps[c.a as usize], reps[c.b as usize]);
        }
        let mut groups: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for i in 0..n {
            if set.count(i) > 0 {
                groups.entry(dsu.find(i as u32)).or_default().push(i as u32);
            }
        }
        let mut groups: Vec<Vec<u32>> = groups.into_values().collect();
        groups.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
        out.push(groups);
    }
    Ok(out)
}
