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
    let (threshold, cands, stats) = match cfg.threshold {
        Some(t) => {
            let (cands, stats) = block::candidates(a, b, &cfg.blocking, t)?;
            (t, cands, stats)
        }
        None if a.is_empty() || b.is_empty() => {
            let (cands, stats) = block::candidates(a, b, &cfg.blocking, 0.8)?;
            (0.8, cands, stats)
        }
        None => {
            let (cands, stats, choice) = candidates_auto(a, b, &cfg.blocking)?;
            (choice.threshold, cands, stats)
        }
    };
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
    let mut threshold = cfg.threshold.unwrap_or(0.0);
    let mut edges = Vec::new();
    let mut stats = Vec::new();
    for p in 0..parties.len() {
        for q in p + 1..parties.len() {
            let (a, b) = (&parties[p].filters, &parties[q].filters);
            let (cands, st) = match cfg.threshold {
                Some(t) => block::candidates(a, b, &cfg.blocking, t)?,
                None if a.is_empty() || b.is_empty() => (Vec::new(), BlockStats::default()),
                None => {
                    // Each pair of parties chooses; the strictest choice holds for all.
                    let (cands, st, choice) = candidates_auto(a, b, &cfg.blocking)?;
                    threshold = threshold.max(choice.threshold);
                    (cands, st)
                }
            };
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
    if cfg.threshold.is_none() {
        threshold = if edges.is_empty() && threshold == 0.0 {
            0.8
        } else {
            threshold
        };
        edges.retain(|e| e.score >= threshold);
    }
    let clusters = solve::cluster_parties(&edges, threshold, cfg.min_link_share);
    Ok(MultiPartyLinkage {
        threshold,
        clusters,
        stats,
    })
}

/// Pairs sampled by [`NullTail::sample`].
pub const AUTO_SAMPLE_PAIRS: usize = 200_000;

/// The upper tail of the Dice of *non-matching* pairs of two tables, from a sample of
/// random pairs (almost all non-matches). Dice of random pairs has a heavier upper tail
/// than a normal law (seen on FEBRL4 and synthetic people alike); the tail is modelled as
/// exponential — log P(Dice > s) linear in s — through two sample quantiles of the upper
/// body, chosen far enough from the top that the few true matches in the sample
/// (at most 1 / max(|A|, |B|) of it) cannot move them. Beyond the sample it extrapolates,
/// conservatively where the real tail falls faster.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NullTail {
    /// Median Dice of random pairs.
    pub median: f64,
    /// Share of random pairs above [`NullTail::anchor`].
    pub anchor_share: f64,
    /// The sample quantile the extrapolation starts from.
    pub anchor: f64,
    /// Dice gained per tenfold drop of the share.
    pub per_decade: f64,
}

impl NullTail {
    /// Samples [`AUTO_SAMPLE_PAIRS`] random pairs (deterministically) and fits the tail.
    pub fn sample(a: &FilterSet, b: &FilterSet) -> Result<NullTail> {
        if a.words() != b.words() {
            return Err(PprlError::Incompatible(format!(
                "filters of {} and {} bits",
                a.bits(),
                b.bits()
            )));
        }
        if a.is_empty() || b.is_empty() {
            return Err(config("threshold", "no pairs to sample: a side is empty"));
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
        dice.sort_unstable_by(|x, y| y.total_cmp(x));
        let n = dice.len() as f64;
        let at = |share: f64| dice[((share * n) as usize).min(dice.len() - 1)];
        let larger = a.len().max(b.len()) as f64;
        let anchor_share = (5.0 / larger).max(1e-3).max(20.0 / n).min(0.02);
        let body_share = 0.1;
        let (anchor, body) = (at(anchor_share), at(body_share));
        let per_decade = ((anchor - body) / (body_share / anchor_share).log10()).max(1e-3);
        Ok(NullTail {
            median: at(0.5),
            anchor_share,
            anchor,
            per_decade,
        })
    }

    /// The Dice exceeded by a share `p` of non-matching pairs.
    pub fn quantile(&self, p: f64) -> f64 {
        self.anchor + self.per_decade * (self.anchor_share / p.max(1e-300)).log10()
    }

    /// The share of non-matching pairs with Dice above `s`.
    pub fn share_above(&self, s: f64) -> f64 {
        (self.anchor_share * 10f64.powf((self.anchor - s) / self.per_decade)).min(1.0)
    }
}

/// A Dice threshold from the non-match distribution alone ([`NullTail`]): where about
/// one random pair per hundred records of the larger side lies above it. Used for
/// several parties; two parties get [`choose_threshold`], which also looks at the
/// candidates. Clamped to [0.3, 0.95]; 0.8 when a side is empty.
pub fn auto_threshold(a: &FilterSet, b: &FilterSet) -> Result<f64> {
    if a.is_empty() || b.is_empty() {
        return Ok(0.8);
    }
    let null = NullTail::sample(a, b)?;
    let larger = a.len().max(b.len()) as f64;
    Ok(null.quantile(0.01 / larger).clamp(0.3, 0.95))
}

/// How [`choose_threshold`] chose.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChoice {
    /// The threshold.
    pub threshold: f64,
    /// Candidates were generated down to this Dice.
    pub floor: f64,
    /// The non-match tail.
    pub null: NullTail,
    /// Estimated records of A, and of B, without a partner on the other side.
    pub unmatched: (f64, f64),
}

/// A Dice threshold for two parties from the data: what matters is the records that have
/// no partner on the other side — the 1:1 solver links each of them to its best
/// non-match if that scores above the threshold, while records with a partner are
/// protected by the partner's (higher) score.
///
/// A record without a partner has a best score distributed as the largest of |other|
/// non-match Dice: a narrow (Gumbel) peak at s* = the [`NullTail`] quantile 1/|other|,
/// of width β = per-decade / ln 10. The records whose best candidate lies in
/// [s* − 2β, s* + 3β), less the true matches expected there (the count just above,
/// [s* + 3β, s* + 6β), scaled to the width), estimate the unmatched records U. The
/// threshold is then the Dice where U · |other| · P(non-match > t) — the false links
/// expected — is half a link or 0.2% of the matched records, whichever is larger; with
/// no unmatched records, s* − 2β. The larger of the two sides' thresholds is used.
/// `best_a[i]` / `best_b[j]` are each record's best candidate score (`None`: no candidate
/// at or above `floor`).
pub fn choose_threshold(
    null: &NullTail,
    floor: f64,
    best_a: &[Option<f64>],
    best_b: &[Option<f64>],
) -> ThresholdChoice {
    let beta = null.per_decade / std::f64::consts::LN_10;
    let side = |best: &[Option<f64>], other: usize| {
        let s_star = null.quantile(1.0 / other.max(1) as f64);
        let count = |lo: f64, hi: f64| {
            best.iter()
                .filter(|b| b.is_some_and(|s| s >= lo && s < hi))
                .count() as f64
        };
        let zone = count(s_star - 2.0 * beta, s_star + 3.0 * beta);
        let above = count(s_star + 3.0 * beta, s_star + 6.0 * beta);
        let unmatched = (zone - above * 5.0 / 3.0).max(0.0);
        let with_candidate = best.iter().filter(|b| b.is_some()).count() as f64;
        let matched = (with_candidate - unmatched).max(0.0);
        let tolerated = (0.002 * matched).max(0.5);
        let t = if unmatched < 0.5 {
            s_star - 2.0 * beta
        } else {
            null.quantile(tolerated / (unmatched * other.max(1) as f64))
        };
        (t, unmatched)
    };
    let (ta, ua) = side(best_a, best_b.len());
    let (tb, ub) = side(best_b, best_a.len());
    ThresholdChoice {
        threshold: ta.max(tb).max(floor).clamp(0.3, 0.95),
        floor,
        null: *null,
        unmatched: (ua, ub),
    }
}

/// Candidates of two tables with the threshold chosen from the data
/// ([`choose_threshold`]): generated down to where each record has about ten
/// non-matches above, then cut at the threshold.
pub fn candidates_auto(
    a: &FilterSet,
    b: &FilterSet,
    blocking: &Blocking,
) -> Result<(Vec<Candidate>, BlockStats, ThresholdChoice)> {
    let null = NullTail::sample(a, b)?;
    let larger = a.len().max(b.len()) as f64;
    let floor = null.quantile((10.0 / larger).min(0.5)).clamp(0.3, 0.95);
    let (mut cands, stats) = block::candidates(a, b, blocking, floor)?;
    let mut best_a = vec![None::<f64>; a.len()];
    let mut best_b = vec![None::<f64>; b.len()];
    for c in &cands {
        for slot in [&mut best_a[c.a as usize], &mut best_b[c.b as usize]] {
            if slot.is_none_or(|s| c.score > s) {
                *slot = Some(c.score);
            }
        }
    }
    let choice = choose_threshold(&null, floor, &best_a, &best_b);
    cands.retain(|c| c.score >= choice.threshold);
    Ok((cands, stats, choice))
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
}
