//! The linkage entry points: encodings of two or more parties in, links or clusters out.
//!
//! [`link_two`] checks that both sides were encoded with the same schema and secret,
//! generates candidates ([`crate::block`]: all pairs or Hamming LSH), keeps those with
//! Dice ≥ threshold and solves 1:1 greedily ([`crate::solve`]). [`link_parties`] does the
//! same for every pair of parties and clusters the union of the candidates with at most
//! one record per party.

use serde::{Deserialize, Serialize};

use crate::block::{self, BlockStats, Blocking, Candidate};
use crate::dice::FilterSet;
use crate::encode::EncodedTable;
use crate::error::{PprlError, Result, config};
use crate::solve::{self, PartyCandidate, RecordRef};

/// Linkage settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConfig {
    /// Pairs below this Dice are never linked. `None` (the default) derives it from the
    /// data with [`auto_threshold`]: Dice scales differ a lot between encodings (random
    /// pairs of plain CLKs score 0.6–0.75, of hardened ones about 0.43), so no fixed
    /// default suits all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Candidate generation.
    pub blocking: Blocking,
    /// Several parties: share of cross pairs that must be candidates before two clusters
    /// of two or more records merge.
    pub min_link_share: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            threshold: None,
            blocking: Blocking::Auto,
            min_link_share: 0.5,
        }
    }
}

/// The result of a two-party linkage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwoPartyLinkage {
    /// The Dice threshold used.
    pub threshold: f64,
    /// Linked pairs (indices into A and B), sorted by A.
    pub links: Vec<Candidate>,
    /// Candidates at or above the threshold before solving.
    pub candidates: usize,
    /// What candidate generation did.
    pub stats: BlockStats,
}

/// The result of a linkage of several parties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiPartyLinkage {
    /// The Dice threshold used.
    pub threshold: f64,
    /// Clusters of two or more records, at most one per party.
    pub clusters: Vec<Vec<RecordRef>>,
    /// Candidate generation per pair of parties (p, q), p < q, in order.
    pub stats: Vec<((u16, u16), BlockStats)>,
}

/// Links two tables of encodings 1:1; see the module docs.
pub fn link_two(a: &EncodedTable, b: &EncodedTable, cfg: &LinkConfig) -> Result<TwoPartyLinkage> {
    a.meta.check_compatible(&b.meta)?;
    link_two_filters(&a.filters, &b.filters, cfg)
}

/// [`link_two`] on bare filter sets (no metadata check).
pub fn link_two_filters(a: &FilterSet, b: &FilterSet, cfg: &LinkConfig) -> Result<TwoPartyLinkage> {
    check(cfg)?;
    let threshold = match cfg.threshold {
        Some(t) => t,
        None => auto_threshold(a, b)?,
    };
    let (cands, stats) = block::candidates(a, b, &cfg.blocking, threshold)?;
    let links = solve::greedy_one_to_one(&cands, threshold);
    Ok(TwoPartyLinkage {
        threshold,
        links,
        candidates: cands.len(),
        stats,
    })
}

/// Links three or more (or two) parties into clusters; see the module docs.
pub fn link_parties(parties: &[&EncodedTable], cfg: &LinkConfig) -> Result<MultiPartyLinkage> {
    check(cfg)?;
    if parties.len() > usize::from(u16::MAX) {
        return Err(config("parties", "at most 65,535 parties"));
    }
    if let Some(first) = parties.first() {
        for p in &parties[1..] {
            first.meta.check_compatible(&p.meta)?;
        }
    }
    let threshold = match cfg.threshold {
        Some(t) => t,
        None => {
            let mut t: f64 = 0.0;
            for p in 0..parties.len() {
                for q in p + 1..parties.len() {
                    t = t.max(auto_threshold(&parties[p].filters, &parties[q].filters)?);
                }
            }
            t
        }
    };
    let mut edges = Vec::new();
    let mut stats = Vec::new();
    for p in 0..parties.len() {
        for q in p + 1..parties.len() {
            let (cands, st) = block::candidates(
                &parties[p].filters,
                &parties[q].filters,
                &cfg.blocking,
                threshold,
            )?;
            let (pp, qq) = (p as u16, q as u16);
            edges.extend(cands.into_iter().map(|c| PartyCandidate {
                left: RecordRef {
                    party: pp,
                    index: c.a,
                },
                right: RecordRef {
                    party: qq,
                    index: c.b,
                },
                score: c.score,
            }));
            stats.push(((pp, qq), st));
        }
    }
    let clusters = solve::cluster_parties(&edges, threshold, cfg.min_link_share);
    Ok(MultiPartyLinkage {
        threshold,
        clusters,
        stats,
    })
}

/// Pairs sampled by [`auto_threshold`].
pub const AUTO_SAMPLE_PAIRS: usize = 200_000;

/// A Dice threshold from the data. The Dice of random pairs of A and B (almost all
/// non-matches) is sampled ([`AUTO_SAMPLE_PAIRS`] pairs, deterministically) and fitted by
/// a normal distribution with robust estimates (median, and 1.4826 × the median absolute
/// deviation, so the few true matches in the sample do not widen it); the threshold is
/// put where the fit leaves a tail of 0.1 / max(|A|, |B|) — about one random pair per ten
/// records above it, most of which the 1:1 solver then discards. Clamped to
/// [0.3, 0.95]; 0.8 when a side is empty.
pub fn auto_threshold(a: &FilterSet, b: &FilterSet) -> Result<f64> {
    if a.words() != b.words() {
        return Err(PprlError::Incompatible(format!(
            "filters of {} and {} bits",
            a.bits(),
            b.bits()
        )));
    }
    if a.is_empty() || b.is_empty() {
        return Ok(0.8);
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((u128::from(state >> 1) * n as u128) >> 63) as usize
    };
    let pairs = AUTO_SAMPLE_PAIRS.min(a.len().saturating_mul(b.len()));
    let mut dice: Vec<f64> = (0..pairs)
        .map(|_| {
            let (i, j) = (next(a.len()), next(b.len()));
            a.dice_with(i, b, j)
        })
        .collect();
    let tail = 0.1 / a.len().max(b.len()) as f64;
    let mid = pairs / 2;
    let (_, median, _) = dice.select_nth_unstable_by(mid, f64::total_cmp);
    let median = *median;
    let mut dev: Vec<f64> = dice.iter().map(|d| (d - median).abs()).collect();
    let (_, mad, _) = dev.select_nth_unstable_by(mid, f64::total_cmp);
    let sd = 1.4826 * *mad;
    let t = median + normal_quantile(tail) * sd;
    Ok(t.clamp(0.3, 0.95))
}

/// z with P(Z > z) = p for a standard normal Z (Abramowitz & Stegun 26.2.23, error
/// below 4.5e-4), for 0 < p ≤ 0.5.
fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-300, 0.5);
    let t = (-2.0 * p.ln()).sqrt();
    t - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
        / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t)
}

fn check(cfg: &LinkConfig) -> Result<()> {
    if let Some(t) = cfg.threshold
        && !(0.0..=1.0).contains(&t)
    {
        return Err(config(
            "threshold",
            format!("Dice threshold {t} must be between 0 and 1"),
        ));
    }
    if !(0.0..=1.0).contains(&cfg.min_link_share) {
        return Err(PprlError::Config {
            field: "min_link_share",
            reason: format!("{} must be between 0 and 1", cfg.min_link_share),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{Encoder, Schema, Secret};
    use spirit_model::AttrKind;

    fn table(secret: u8, kinds: &[AttrKind]) -> EncodedTable {
        let enc =
            Encoder::new(&Schema::for_kinds(kinds), &Secret::from_bytes([secret; 32])).unwrap();
        let recs = vec![vec![(AttrKind::Surname, "Meyer".to_string())]];
        enc.encode_table(&["r1"], &recs).unwrap()
    }

    #[test]
    fn mismatched_encodings_are_refused() {
        let a = table(1, &[AttrKind::Surname]);
        let cfg = LinkConfig::default();
        assert!(link_two(&a, &table(1, &[AttrKind::Surname]), &cfg).is_ok());
        assert!(matches!(
            link_two(&a, &table(2, &[AttrKind::Surname]), &cfg),
            Err(PprlError::Incompatible(_))
        ));
        assert!(matches!(
            link_two(&a, &table(1, &[AttrKind::Surname, AttrKind::City]), &cfg),
            Err(PprlError::Incompatible(_))
        ));
        let bad = LinkConfig {
            threshold: Some(1.5),
            ..LinkConfig::default()
        };
        assert!(matches!(
            link_two(&a, &a, &bad),
            Err(PprlError::Config { .. })
        ));
        let out = link_parties(&[&a, &a, &a], &LinkConfig::default()).unwrap();
        assert_eq!(out.clusters.len(), 1);
        assert_eq!(out.clusters[0].len(), 3);
        assert!(link_parties(&[], &cfg).unwrap().clusters.is_empty());
    }

    #[test]
    fn normal_quantiles() {
        assert!((normal_quantile(0.5)).abs() < 1e-3);
        assert!((normal_quantile(0.025) - 1.96).abs() < 1e-3);
        assert!((normal_quantile(1e-6) - 4.753).abs() < 1e-2);
    }
}
