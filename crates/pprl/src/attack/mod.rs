//! An attack on Bloom-filter encodings, to run against your own encodings before they
//! leave the building.
//!
//! The attacker has (a) the encodings, (b) the public schema and encoding metadata
//! (Kerckhoffs: everything but the secret), and (c) a plain-text sample of similar records
//! — a voter list, a leaked customer file — that includes some of the encoded people. The
//! attack decodes, per segment (the CLK, or each field's filter), the plain value behind as
//! many encodings as it can, and names the sample record it believes is the same person.
//! [`score_values`] counts the encoded records whose plain values it recovered;
//! [`score`] counts the records it linked to the right person.
//!
//! It combines the published frequency attacks on Bloom filters:
//!
//! 1. **Frequency alignment** (Kuzu et al. 2011; the cluster variant of Christen et al.):
//!    encodings of one value are identical (with noise, nearly so), so encodings whose
//!    Dice is at least [`AttackConfig::cluster_dice`] (chosen from the data unless set)
//!    are grouped, and the largest groups
//!    are aligned with the sample's most frequent values while the frequencies agree
//!    within [`AttackConfig::frequency_tolerance`] and the order is not a toss-up.
//! 2. **Pattern mining, bootstrapped** (after Christen, Ranbaduge, Vatsalan & Schnell
//!    2017/2018): every decoded value teaches the bit positions of its q-grams — the
//!    positions set in all decoded encodings that contain a q-gram, or, with one such
//!    encoding, the longest set of its positions jointly set in as many records as the
//!    q-gram's sample frequency predicts (a frequent itemset). A q-gram's positions are
//!    accepted only when the records having them are as frequent as the q-gram.
//! 3. **Decoding by q-grams**: an encoding whose identified q-grams (those with nearly all
//!    positions set) match exactly one undecoded sample value — or, for a frequent group,
//!    exactly one value of matching frequency — and whose unexplained bits fit that
//!    value's unidentified q-grams under the schema's weights, is decoded as that value.
//!    Steps 2 and 3 repeat while they make progress.
//!
//! Finally a record is linked to a sample record when at least
//! [`AttackConfig::min_fields`] segments were decoded and exactly one sample record has
//! all of those values.
//!
//! What defeats it: the diffusion layer removes the per-position structure steps 2 and 3
//! need; record-level CLKs of several fields give each person an (almost) unique
//! encoding, so step 1 finds nothing to align; salting splits every value's frequency
//! over the salt values. What nothing defeats: identical records give near-identical
//! encodings under any similarity-preserving encoding, so *value frequencies* leak
//! whenever values repeat — frequent values of a field-level filter (or of a CLK of one
//! or two fields) can be aligned with a population sample even through diffusion and
//! BLIP. Not implemented: graph-matching attacks (Vidanage et al. 2020) and attacks on the
//! arithmetic of double hashing; a low rate here is necessary, not sufficient, for safety.
//!
//! The code follows the steps: `align` (step 1), `mine` (steps 2 and 3), `plain` (the
//! sample as the attacker sees it) and `score` (what the attack achieved).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use spirit_matching::table::{PrepareOptions, normalise_record};
use spirit_model::AttrKind;
use spirit_text::PhoneNormaliser;

use crate::dice::FilterSet;
use crate::encode::EncodingMeta;
use crate::error::{PprlError, Result, config};
use crate::schema::{Layout, ResolvedField, Schema};

mod align;
mod mine;
mod plain;
mod score;

pub use score::{ReIdentification, score, score_values};

use align::{align, near_identical_groups};
use mine::Bootstrap;
use plain::{PlainSegment, plain_segment};

/// Attack settings. The defaults suit samples of a few thousand records or more.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttackConfig {
    /// Values, groups and q-grams seen fewer times than this are not used.
    pub min_support: usize,
    /// Encodings with at least this Dice are taken to encode the same value; `None`
    /// tries 0.95, 0.9, 0.85 and 0.8 and keeps the grouping that aligns most records.
    pub cluster_dice: Option<f64>,
    /// Largest relative difference of two frequencies still aligned
    /// (|f₁ − f₂| / max(f₁, f₂)).
    pub frequency_tolerance: f64,
    /// At most this many values are aligned by frequency per segment.
    pub max_aligned: usize,
    /// Share of a q-gram's positions an encoding may miss (noise) and still count as
    /// having the q-gram.
    pub noise_tolerance: f64,
    /// Field-level layout: segments that must be decoded before a record is guessed.
    pub min_fields: usize,
}

impl Default for AttackConfig {
    fn default() -> Self {
        AttackConfig {
            min_support: 5,
            cluster_dice: None,
            frequency_tolerance: 0.35,
            max_aligned: 400,
            noise_tolerance: 0.1,
            min_fields: 2,
        }
    }
}

/// What the attack achieved on one segment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentReport {
    /// The field's kind (field-level), `None` for a CLK.
    pub kind: Option<AttrKind>,
    /// Groups of near-identical encodings of at least `min_support` records.
    pub groups: usize,
    /// Groups aligned with a sample value by frequency.
    pub aligned: usize,
    /// q-grams whose bit positions pattern mining identified.
    pub qgrams_identified: usize,
    /// Encoded records whose value in this segment the attack decoded.
    pub decoded: usize,
}

/// The attack's output.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttackOutcome {
    /// For each encoded record, the sample record it was re-identified as.
    pub guesses: Vec<Option<u32>>,
    /// Per segment.
    pub segments: Vec<SegmentReport>,
    /// Per segment and encoded record: a sample record holding the value the attack
    /// decoded for that segment (for diagnostics: compare the values).
    pub decoded: Vec<Vec<Option<u32>>>,
}

/// Runs the attack; see the module docs. `schema` is the (public) schema the encodings
/// were made with, `meta` their metadata, `sample` the attacker's plain records.
pub fn attack<R>(
    encodings: &FilterSet,
    meta: &EncodingMeta,
    schema: &Schema,
    sample: &[R],
    cfg: &AttackConfig,
) -> Result<AttackOutcome>
where
    R: AsRef<[(AttrKind, String)]>,
{
    if encodings.bits() != meta.bits as usize {
        return Err(PprlError::Incompatible(format!(
            "encodings of {} bits, metadata says {}",
            encodings.bits(),
            meta.bits
        )));
    }
    if schema.fingerprint() != meta.schema_fingerprint {
        return Err(PprlError::Incompatible(format!(
            "the schema (fingerprint {}) is not the one the encodings were made with ({})",
            schema.fingerprint(),
            meta.schema_fingerprint
        )));
    }
    if cfg.cluster_dice.is_some_and(|c| !(0.0..=1.0).contains(&c))
        || !(0.0..0.5).contains(&cfg.noise_tolerance)
    {
        return Err(config(
            "attack",
            "cluster_dice must be between 0 and 1, noise_tolerance between 0 and 0.5",
        ));
    }
    let fields = schema.resolved_fields();
    let n = encodings.len();
    let options = PrepareOptions::default();
    let phones = PhoneNormaliser::new(&options.default_region);
    let normalised: Vec<Vec<(AttrKind, Box<str>)>> = sample
        .iter()
        .map(|r| normalise_record(r.as_ref(), &options, &phones))
        .collect();
    // Segment → the fields it holds.
    let seg_fields: Vec<Vec<ResolvedField>> = match meta.layout {
        Layout::Record => vec![fields.clone()],
        Layout::Field => fields.iter().map(|f| vec![*f]).collect(),
    };
    if seg_fields.len() != meta.segments.len() {
        return Err(PprlError::Incompatible(
            "the schema does not describe these encodings (segment count differs)".into(),
        ));
    }
    let mut decoded: Vec<Vec<Option<u32>>> = Vec::new();
    let mut plains = Vec::new();
    let mut reports = Vec::new();
    for (s, seg) in meta.segments.iter().enumerate() {
        let plain = plain_segment(&normalised, &seg_fields[s]);
        let words: Vec<u64> = (0..n)
            .flat_map(|i| {
                let f = encodings.get(i);
                let (a, b) = (
                    seg.offset as usize / 64,
                    (seg.offset + seg.bits) as usize / 64,
                );
                f[a..b].to_vec()
            })
            .collect();
        let seg_set = FilterSet::from_words(seg.bits as usize, words)?;
        let (dec, mut report) = attack_segment(&seg_set, &plain, cfg)?;
        report.kind = seg.kind;
        decoded.push(dec);
        plains.push(plain);
        reports.push(report);
    }
    // Combine: sample records by their tuple of value ids, indexed per (segment, value).
    let m = sample.len();
    let mut tuples: Vec<(Vec<Option<u32>>, Vec<u32>)> = Vec::new();
    let mut tuple_of: FxHashMap<Vec<Option<u32>>, usize> = FxHashMap::default();
    for j in 0..m {
        let key: Vec<Option<u32>> = plains.iter().map(|p| p.of_record[j]).collect();
        let t = *tuple_of.entry(key.clone()).or_insert_with(|| {
            tuples.push((key, Vec::new()));
            tuples.len() - 1
        });
        tuples[t].1.push(j as u32);
    }
    let mut by_value: Vec<FxHashMap<u32, Vec<u32>>> = vec![FxHashMap::default(); plains.len()];
    for (t, (key, _)) in tuples.iter().enumerate() {
        for (s, v) in key.iter().enumerate() {
            if let Some(v) = v {
                by_value[s].entry(*v).or_default().push(t as u32);
            }
        }
    }
    let min_fields = match meta.layout {
        Layout::Record => 1,
        Layout::Field => cfg.min_fields.clamp(1, meta.segments.len()),
    };
    let mut guesses = vec![None; n];
    for (i, guess) in guesses.iter_mut().enumerate() {
        let known: Vec<(usize, u32)> = decoded
            .iter()
            .enumerate()
            .filter_map(|(s, d)| d[i].map(|v| (s, v)))
            .collect();
        if known.len() < min_fields {
            continue;
        }
        // Candidates from the rarest known value, filtered by the others.
        let lists: Vec<&Vec<u32>> = known
            .iter()
            .filter_map(|(s, v)| by_value[*s].get(v))
            .collect();
        if lists.len() < known.len() {
            continue;
        }
        let Some(shortest) = lists.iter().min_by_key(|l| l.len()) else {
            continue;
        };
        let mut hits = shortest.iter().filter(|&&t| {
            known
                .iter()
                .all(|&(s, v)| tuples[t as usize].0[s] == Some(v))
        });
        if let (Some(&t), None) = (hits.next(), hits.next())
            && let [only] = tuples[t as usize].1.as_slice()
        {
            *guess = Some(*only);
        }
    }
    let decoded = decoded
        .iter()
        .zip(&plains)
        .map(|(d, p)| {
            d.iter()
                .map(|v| v.map(|v| p.values[v as usize].first))
                .collect()
        })
        .collect();
    Ok(AttackOutcome {
        guesses,
        segments: reports,
        decoded,
    })
}

/// Groups of encodings (record indices), largest first.
type Groups = Vec<Vec<u32>>;

/// Decodes one segment: the value id (of the plain segment) of each encoded record, where
/// the attack decided one.
fn attack_segment(
    set: &FilterSet,
    plain: &PlainSegment,
    cfg: &AttackConfig,
) -> Result<(Vec<Option<u32>>, SegmentReport)> {
    let n = set.len();
    let mut report = SegmentReport::default();
    let mut decoded: Vec<Option<u32>> = vec![None; n];
    if n == 0 || plain.values.is_empty() {
        return Ok((decoded, report));
    }
    let m_sample: usize = plain.values.iter().map(|v| v.count).sum();
    let n_coded = (0..n).filter(|&i| set.count(i) > 0).count().max(1);

    // Step 1: groups of near-identical encodings, aligned by frequency.
    let mut values_by_count: Vec<u32> = (0..plain.values.len() as u32)
        .filter(|&v| plain.values[v as usize].count >= cfg.min_support)
        .collect();
    values_by_count.sort_unstable_by(|&a, &b| {
        plain.values[b as usize]
            .count
            .cmp(&plain.values[a as usize].count)
            .then(a.cmp(&b))
    });
    // The grouping threshold: the one given, or, tried from strict to loose, the one
    // whose groups align with the most sample records (the attacker can judge that
    // without the truth).
    let thresholds: Vec<f64> = match cfg.cluster_dice {
        Some(t) => vec![t],
        None => vec![0.95, 0.9, 0.85, 0.8],
    };
    let mut best: Option<(usize, Groups, Vec<Option<u32>>)> = None;
    for groups in near_identical_groups(set, &thresholds)? {
        let group_value = align(&groups, &values_by_count, plain, n_coded, m_sample, cfg);
        let aligned: usize = groups
            .iter()
            .zip(&group_value)
            .filter(|(_, v)| v.is_some())
            .map(|(g, _)| g.len())
            .sum();
        if best.as_ref().is_none_or(|(b, _, _)| aligned > *b) {
            best = Some((aligned, groups, group_value));
        }
    }
    let Some((_, groups, group_value)) = best else {
        return Ok((decoded, report));
    };
    report.groups = groups.iter().filter(|g| g.len() >= cfg.min_support).count();
    report.aligned = group_value.iter().filter(|v| v.is_some()).count();

    // Step 2: bootstrap — q-gram positions from decoded values, more values from q-grams.
    let mut boot = Bootstrap::new(set, plain, &groups, group_value, cfg);
    boot.run();
    report.qgrams_identified = boot.positions.len();
    for (g, v) in groups.iter().zip(&boot.group_value) {
        for &i in g {
            decoded[i as usize] = *v;
        }
    }
    report.decoded = decoded.iter().filter(|d| d.is_some()).count();
    Ok((decoded, report))
}
