//! The starting model: u from value frequencies (exact levels) and a sample of random
//! pairs (the other levels), a geometric guess for m, and the seedable generator the
//! sample draws from.

use crate::comparison::{Bound, Function};
use crate::params::{
    ComparisonParams, LevelParams, MAX_COMPARISONS, MODEL_FORMAT, Model, ModelError, TrainingInfo,
};
use crate::table::RecordTable;

impl Model {
    /// A starting model: u from the table (value frequencies for exact levels and a
    /// random sample for the others) and an initial guess for m and the prior.
    pub fn initial(
        table: &RecordTable,
        functions: &[Function],
        sample_pairs: usize,
        link_only: bool,
        seed: u64,
    ) -> Result<Model, ModelError> {
        if functions.len() > MAX_COMPARISONS {
            return Err(ModelError::TooMany(functions.len()));
        }
        let bounds: Vec<Bound> = functions.iter().map(|f| Bound::new(*f, table)).collect();
        let sampled = sample_levels(table, &bounds, sample_pairs, link_only, seed);
        let comparisons = functions
            .iter()
            .zip(&bounds)
            .zip(&sampled)
            .map(|((f, _), counts)| {
                let labels = f.levels();
                let n = labels.len();
                let total: f64 = counts.iter().sum();
                let mut u: Vec<f64> = counts
                    .iter()
                    .map(|c| (c + 0.5) / (total + 0.5 * n as f64))
                    .collect();
                if let Some(exact_u) = exact_u_from_frequencies(table, *f) {
                    let rest: f64 = u[1..].iter().sum();
                    let scale = if rest > 0.0 {
                        (1.0 - exact_u) / rest
                    } else {
                        0.0
                    };
                    u[0] = exact_u;
                    for x in &mut u[1..] {
                        *x *= scale;
                    }
                }
                let mut m = initial_m(n);
                if f.is_calibrated() {
                    m = spirit_text::style::BAND_M.to_vec();
                    u = spirit_text::style::BAND_U.to_vec();
                }
                let shared = f.shared_by_household();
                let levels = labels
                    .iter()
                    .zip(u.iter().zip(&m))
                    .enumerate()
                    .map(|(i, (label, (u, m)))| LevelParams {
                        label: (*label).to_string(),
                        m: *m,
                        u: u.max(1e-12),
                        h: if shared { *m } else { u.max(1e-12) },
                        tf: i == 0 && tf_applies(*f),
                    })
                    .collect();
                ComparisonParams {
                    name: f.default_name(),
                    function: *f,
                    levels,
                    advisory: f.is_calibrated(),
                }
            })
            .collect();
        let household = household_applies(functions);
        Ok(Model {
            format: MODEL_FORMAT.into(),
            prior: 0.01,
            household_prior: if household { 1e-3 } else { 0.0 },
            comparisons,
            tf_min_frequency: 0.0,
            training: TrainingInfo {
                method: "unsupervised".into(),
                u_sample_pairs: sample_pairs as u64,
                ..TrainingInfo::default()
            },
        })
    }
}

/// A household class only makes sense where both a household's shared attributes
/// (surname, location) and a person's own ones (given name, date of birth) exist.
pub(crate) fn household_applies(functions: &[Function]) -> bool {
    functions.contains(&Function::Surname)
        && (functions.contains(&Function::Address) || functions.contains(&Function::Area))
        && (functions.contains(&Function::GivenName) || functions.contains(&Function::DateOfBirth))
}

fn tf_applies(f: Function) -> bool {
    // A built-in category (gender, country) has few values; a field's categories (an
    // organisation, a unit) are many, and sharing a rare one is strong evidence.
    !matches!(
        f,
        Function::ImageHash | Function::AudioFingerprint | Function::Style
    ) && !matches!(f, Function::Category(k) if k.field().is_none())
}

fn exact_u_from_frequencies(table: &RecordTable, f: Function) -> Option<f64> {
    let kind = match f {
        Function::GivenName => spirit_model::AttrKind::GivenName,
        Function::Surname => spirit_model::AttrKind::Surname,
        Function::DateOfBirth => spirit_model::AttrKind::DateOfBirth,
        Function::Email => spirit_model::AttrKind::Email,
        // Identifiers, categories and fields; none for the multi-column comparisons.
        other => other.attribute()?,
    };
    let col = table.column(kind)?;
    (col.non_null > 1).then(|| col.agreement_probability().max(1e-12))
}

/// A geometric starting guess: most matches agree exactly, few fall to *else*.
fn initial_m(levels: usize) -> Vec<f64> {
    let mut m: Vec<f64> = (0..levels).map(|i| 0.5f64.powi(i as i32 + 1)).collect();
    if let Some(last) = m.last_mut() {
        *last = 0.02;
    }
    let s: f64 = m.iter().sum();
    m.iter().map(|x| x / s).collect()
}

/// Counts of each level among random pairs, per comparison (null pairs not counted).
/// Pairs are drawn in fixed-size chunks, each from its own seed, so the counts are the
/// same whatever the number of threads.
fn sample_levels(
    table: &RecordTable,
    bounds: &[Bound],
    pairs: usize,
    link_only: bool,
    seed: u64,
) -> Vec<Vec<f64>> {
    use rayon::prelude::*;
    const CHUNK: usize = 8192;
    let empty: Vec<Vec<f64>> = bounds
        .iter()
        .map(|b| vec![0.0; b.function.levels().len()])
        .collect();
    let n = u64::from(table.len);
    if n < 2 {
        return empty;
    }
    let chunks = pairs.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut counts = empty.clone();
            let mut rng =
                SplitMix64(seed ^ 0x5851_f42d_4c95_7f2d ^ (chunk as u64).wrapping_mul(0x9e37_79b9));
            let want = CHUNK.min(pairs - chunk * CHUNK);
            let (mut left, mut right) = (Vec::with_capacity(want), Vec::with_capacity(want));
            let mut attempts = 0usize;
            while left.len() < want && attempts < want * 20 {
                attempts += 1;
                let a = (rng.next() % n) as u32;
                let b = (rng.next() % n) as u32;
                if a == b || (link_only && table.sources[a as usize] == table.sources[b as usize]) {
                    continue;
                }
                left.push(a);
                right.push(b);
            }
            let mut levels = Vec::with_capacity(left.len());
            for (acc, bound) in counts.iter_mut().zip(bounds) {
                if bound.function.is_calibrated() {
                    continue; // its u is measured on ground truth, not sampled
                }
                bound.levels(table, &left, &right, &mut levels);
                for &l in &levels {
                    if l > 0 {
                        acc[l as usize - 1] += 1.0;
                    }
                }
            }
            counts
        })
        .reduce(
            || empty.clone(),
            |mut x, y| {
                for (xa, ya) in x.iter_mut().zip(&y) {
                    for (p, q) in xa.iter_mut().zip(ya) {
                        *p += q;
                    }
                }
                x
            },
        )
}

/// A small, fast, seedable generator (SplitMix64) for deterministic sampling.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A draw in `0..n` (multiply-shift: no modulo bias worth speaking of).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_is_deterministic() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        assert_eq!(
            (0..5).map(|_| a.next()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next()).collect::<Vec<_>>()
        );
    }
}
