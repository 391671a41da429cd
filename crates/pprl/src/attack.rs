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

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use spirit_matching::table::{PrepareOptions, normalise_record};
use spirit_model::AttrKind;
use spirit_text::PhoneNormaliser;

use crate::block::{Blocking, candidates};
use crate::dice::FilterSet;
use crate::encode::{EncodingMeta, features};
use crate::error::{PprlError, Result, config};
use crate::schema::{Layout, ResolvedField, Schema};

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

/// How well the attack did against the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReIdentification {
    /// Encoded records.
    pub total: usize,
    /// Records the attack named a sample record for.
    pub guessed: usize,
    /// Guesses that name the right person.
    pub correct: usize,
    /// `correct / total`: the share of encoded records linked to the right person.
    pub share: f64,
    /// Records whose plain values the attack recovered ([`score_values`]).
    pub values_recovered: usize,
    /// `values_recovered / total`.
    pub value_share: f64,
}

/// Scores guesses: `encoded_truth[i]` and `sample_truth[j]` identify the person behind
/// encoded record i and sample record j; a guess is correct when they are equal.
pub fn score<K: PartialEq>(
    outcome: &AttackOutcome,
    encoded_truth: &[K],
    sample_truth: &[K],
) -> ReIdentification {
    let mut r = ReIdentification {
        total: outcome.guesses.len(),
        ..ReIdentification::default()
    };
    for (i, g) in outcome.guesses.iter().enumerate() {
        if let Some(j) = g {
            r.guessed += 1;
            if let (Some(a), Some(b)) = (encoded_truth.get(i), sample_truth.get(*j as usize))
                && a == b
            {
                r.correct += 1;
            }
        }
    }
    r.share = if r.total == 0 {
        0.0
    } else {
        r.correct as f64 / r.total as f64
    };
    r
}

/// Scores recovered values: a record counts when the attack decoded at least
/// `min(min_fields, segments with a value)` of its segments and every segment it decoded
/// holds the record's true value. `encoded_plain[i]` is the plain record behind encoding
/// i (known to whoever assesses their own encodings), `sample` the attacker's sample as
/// passed to [`attack`]. The person-level fields (`correct`, `share`) are left at 0: see
/// [`score`].
pub fn score_values<R, S>(
    outcome: &AttackOutcome,
    schema: &Schema,
    encoded_plain: &[R],
    sample: &[S],
    cfg: &AttackConfig,
) -> ReIdentification
where
    R: AsRef<[(AttrKind, String)]>,
    S: AsRef<[(AttrKind, String)]>,
{
    let options = PrepareOptions::default();
    let phones = PhoneNormaliser::new(&options.default_region);
    let fields = schema.resolved_fields();
    let segs: Vec<Vec<AttrKind>> = match schema.layout {
        Layout::Record => vec![fields.iter().map(|f| f.kind).collect()],
        Layout::Field => fields.iter().map(|f| vec![f.kind]).collect(),
    };
    let values_of = |r: &[(AttrKind, String)]| {
        let n = normalise_record(r, &options, &phones);
        segs.iter()
            .map(|kinds| {
                let v: Vec<&str> = kinds
                    .iter()
                    .map(|k| n.iter().find(|(kk, _)| kk == k).map_or("", |(_, v)| &**v))
                    .collect();
                let joined = v.join("\u{1f}");
                (!v.iter().all(|x| x.is_empty())).then_some(joined)
            })
            .collect::<Vec<Option<String>>>()
    };
    let mut r = ReIdentification {
        total: outcome.guesses.len(),
        guessed: outcome.guesses.iter().filter(|g| g.is_some()).count(),
        ..ReIdentification::default()
    };
    let sample_values: Vec<Vec<Option<String>>> =
        sample.iter().map(|s| values_of(s.as_ref())).collect();
    for (i, rec) in encoded_plain.iter().enumerate().take(r.total) {
        let truth = values_of(rec.as_ref());
        let with_value = truth.iter().filter(|t| t.is_some()).count();
        let need = cfg.min_fields.clamp(1, with_value.max(1));
        let mut decoded = 0;
        let mut all_right = true;
        for (s, t) in truth.iter().enumerate() {
            let Some(j) = outcome
                .decoded
                .get(s)
                .and_then(|d| d.get(i))
                .copied()
                .flatten()
            else {
                continue;
            };
            decoded += 1;
            if sample_values.get(j as usize).and_then(|v| v[s].as_ref()) != t.as_ref() {
                all_right = false;
            }
        }
        if with_value > 0 && decoded >= need && all_right {
            r.values_recovered += 1;
        }
    }
    r.value_share = if r.total == 0 {
        0.0
    } else {
        r.values_recovered as f64 / r.total as f64
    };
    r
}

/// One value of the plain sample in one segment.
struct PlainValue {
    features: Vec<u32>,
    /// Bits per feature (k) of each feature in this value, from the schema's weights.
    ks: Vec<u32>,
    count: usize,
    /// The first sample record with this value.
    first: u32,
}

/// The sample as seen in one segment.
struct PlainSegment {
    /// Value id of each sample record (`None`: no value).
    of_record: Vec<Option<u32>>,
    values: Vec<PlainValue>,
    n_features: usize,
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

/// The sample's values and their features in one segment.
fn plain_segment(
    normalised: &[Vec<(AttrKind, Box<str>)>],
    fields: &[ResolvedField],
) -> PlainSegment {
    let mut feature_ids: FxHashMap<Vec<u8>, u32> = FxHashMap::default();
    let mut value_ids: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
    let mut values: Vec<PlainValue> = Vec::new();
    let mut of_record = Vec::with_capacity(normalised.len());
    let (mut chars, mut arena, mut tokens) = (Vec::new(), Vec::new(), Vec::new());
    for rec in normalised {
        let mut feats: Vec<(u32, u32)> = Vec::new();
        let mut any = false;
        for (fi, f) in fields.iter().enumerate() {
            let Some((_, v)) = rec.iter().find(|(k, _)| *k == f.kind) else {
                continue;
            };
            any = true;
            features(
                v,
                f.q,
                f.positional,
                &[],
                &mut chars,
                &mut arena,
                &mut tokens,
            );
            let k = f.weight.k(tokens.len());
            for r in &tokens {
                let mut key = vec![fi as u8];
                key.extend_from_slice(&arena[r.clone()]);
                let next = feature_ids.len() as u32;
                feats.push((*feature_ids.entry(key).or_insert(next), k));
            }
        }
        if !any {
            of_record.push(None);
            continue;
        }
        feats.sort_unstable();
        feats.dedup_by_key(|(f, _)| *f);
        let ids: Vec<u32> = feats.iter().map(|(f, _)| *f).collect();
        let next = values.len() as u32;
        let id = *value_ids.entry(ids.clone()).or_insert_with(|| {
            values.push(PlainValue {
                features: ids,
                ks: feats.iter().map(|(_, k)| *k).collect(),
                count: 0,
                first: of_record.len() as u32,
            });
            next
        });
        values[id as usize].count += 1;
        of_record.push(Some(id));
    }
    PlainSegment {
        of_record,
        values,
        n_features: feature_ids.len(),
    }
}

/// Groups of encodings (record indices), largest first.
type Groups = Vec<Vec<u32>>;

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

/// Step 1: aligns the groups (largest first) with the sample's values (most frequent
/// first) while their frequencies agree and the order is not a toss-up.
fn align(
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
fn near_identical_groups(set: &FilterSet, thresholds: &[f64]) -> Result<Vec<Vec<Vec<u32>>>> {
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

/// The column of every bit position: the records (bitset over `n`) it is set in.
fn columns(set: &FilterSet) -> Vec<u64> {
    let n = set.len();
    let nw = n.div_ceil(64);
    let mut cols = vec![0u64; set.bits() * nw];
    for i in 0..n {
        for (w, &word) in set.get(i).iter().enumerate() {
            let mut x = word;
            while x != 0 {
                let b = w * 64 + x.trailing_zeros() as usize;
                cols[b * nw + i / 64] |= 1 << (i % 64);
                x &= x - 1;
            }
        }
    }
    cols
}

/// The bootstrap of step 2: decoded values teach q-gram positions, known q-gram positions
/// decode more values.
struct Bootstrap<'a> {
    plain: &'a PlainSegment,
    groups: &'a [Vec<u32>],
    cfg: &'a AttackConfig,
    cols: Vec<u64>,
    nw: usize,
    /// Records with any bit set.
    all: Vec<u64>,
    n_coded: f64,
    /// Sample size.
    m_sample: f64,
    /// Segment length in bits.
    bits: f64,
    /// Frequency of each q-gram in the sample.
    freq: Vec<f64>,
    /// The consensus (bitwise majority) encoding of each group.
    consensus: Vec<Vec<u64>>,
    /// The value decoded for each group.
    group_value: Vec<Option<u32>>,
    value_taken: Vec<bool>,
    /// Identified q-grams and their positions.
    positions: FxHashMap<u32, Vec<u32>>,
    /// q-grams tried without success, with the number of anchors they had then.
    tried: FxHashMap<u32, usize>,
}

impl<'a> Bootstrap<'a> {
    fn new(
        set: &'a FilterSet,
        plain: &'a PlainSegment,
        groups: &'a [Vec<u32>],
        group_value: Vec<Option<u32>>,
        cfg: &'a AttackConfig,
    ) -> Bootstrap<'a> {
        let n = set.len();
        let nw = n.div_ceil(64);
        let mut all = vec![0u64; nw];
        for i in 0..n {
            if set.count(i) > 0 {
                all[i / 64] |= 1 << (i % 64);
            }
        }
        let total: usize = plain.values.iter().map(|v| v.count).sum();
        let mut freq = vec![0f64; plain.n_features];
        for v in &plain.values {
            for &f in &v.features {
                freq[f as usize] += v.count as f64 / total.max(1) as f64;
            }
        }
        let words = set.words();
        let consensus = groups
            .iter()
            .map(|g| {
                if g.len() <= 2 {
                    return set.get(g[0] as usize).to_vec();
                }
                let mut counts = vec![0u32; words * 64];
                for &i in g {
                    for (w, &word) in set.get(i as usize).iter().enumerate() {
                        let mut x = word;
                        while x != 0 {
                            counts[w * 64 + x.trailing_zeros() as usize] += 1;
                            x &= x - 1;
                        }
                    }
                }
                let mut f = vec![0u64; words];
                for (b, &c) in counts.iter().enumerate() {
                    if 2 * c as usize > g.len() {
                        f[b / 64] |= 1 << (b % 64);
                    }
                }
                f
            })
            .collect();
        let mut value_taken = vec![false; plain.values.len()];
        for v in group_value.iter().flatten() {
            value_taken[*v as usize] = true;
        }
        Bootstrap {
            plain,
            groups,
            cfg,
            cols: columns(set),
            nw,
            n_coded: f64::from(crate::dice::popcount(&all)).max(1.0),
            m_sample: total.max(1) as f64,
            bits: set.bits() as f64,
            all,
            freq,
            consensus,
            group_value,
            value_taken,
            positions: FxHashMap::default(),
            tried: FxHashMap::default(),
        }
    }

    fn col(&self, b: usize) -> &[u64] {
        &self.cols[b * self.nw..(b + 1) * self.nw]
    }

    /// Records having all but a tolerated share of `positions`.
    fn having(&self, positions: &[u32]) -> Vec<u64> {
        let allowed = (self.cfg.noise_tolerance * positions.len() as f64).floor() as usize;
        let mut missing = vec![0u16; self.nw * 64];
        for &p in positions {
            for (w, (&r, &c)) in self.all.iter().zip(self.col(p as usize)).enumerate() {
                let mut x = r & !c;
                while x != 0 {
                    let i = w * 64 + x.trailing_zeros() as usize;
                    missing[i] = missing[i].saturating_add(1);
                    x &= x - 1;
                }
            }
        }
        let mut with = vec![0u64; self.nw];
        for (w, &r) in self.all.iter().enumerate() {
            let mut x = r;
            while x != 0 {
                let i = w * 64 + x.trailing_zeros() as usize;
                if usize::from(missing[i]) <= allowed {
                    with[w] |= 1 << (i % 64);
                }
                x &= x - 1;
            }
        }
        with
    }

    fn run(&mut self) {
        for _round in 0..24 {
            let learned = self.learn();
            let decoded = self.decode();
            if learned == 0 && decoded == 0 {
                break;
            }
        }
    }

    /// Infers the positions of q-grams that occur in decoded values. Returns how many.
    fn learn(&mut self) -> usize {
        // Decoded groups containing each q-gram.
        let mut holders: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        for (g, v) in self.group_value.iter().enumerate() {
            if let Some(v) = v {
                for &f in &self.plain.values[*v as usize].features {
                    if !self.positions.contains_key(&f) {
                        holders.entry(f).or_default().push(g);
                    }
                }
            }
        }
        let mut feats: Vec<(u32, Vec<usize>)> = holders.into_iter().collect();
        feats.sort_unstable_by_key(|(f, _)| *f);
        let eps = self.cfg.noise_tolerance;
        let min = self.cfg.min_support as f64;
        let mut learned = 0;
        for (f, hs) in feats {
            if self.tried.get(&f) == Some(&hs.len()) {
                continue;
            }
            self.tried.insert(f, hs.len());
            let expect = self.freq[f as usize] * self.n_coded;
            if expect < min {
                continue;
            }
            // Positions set in every holder: the q-gram's, and few collisions.
            let mut common = self.consensus[hs[0]].clone();
            for &h in &hs[1..] {
                for (x, y) in common.iter_mut().zip(&self.consensus[h]) {
                    *x &= *y;
                }
            }
            let cand: Vec<u32> = bits_of(&common);
            let cand = if hs.len() == 1 {
                // One holder: the positions jointly set at the q-gram's frequency.
                self.itemset(&cand, expect)
            } else {
                cand
            };
            if cand.len() < 2 || cand.len() > crate::schema::MAX_K as usize * 2 {
                continue;
            }
            // Keep the positions whose records contain the q-gram's records.
            let r = self.having(&cand);
            let size = f64::from(crate::dice::popcount(&r));
            if size < 0.5 * expect {
                continue;
            }
            let pos: Vec<u32> = cand
                .iter()
                .copied()
                .filter(|&b| {
                    f64::from(crate::dice::intersection(&r, self.col(b as usize)))
                        >= (1.0 - eps) * size
                })
                .collect();
            if pos.len() < MIN_QGRAM_POSITIONS || pos.len() > crate::schema::MAX_K as usize {
                continue;
            }
            let got = f64::from(crate::dice::popcount(&self.having(&pos)));
            if (got - expect).abs() > 2.0 * eps * expect.max(got) + 3.0 * expect.sqrt() + 2.0 {
                continue;
            }
            self.positions.insert(f, pos);
            learned += 1;
        }
        learned
    }

    /// The longest subset of `cand` jointly set in about `target` records, grown from
    /// the position whose support is closest to the target by Jaccard similarity of
    /// columns (Christen et al.'s longest frequent itemset, restricted to one encoding).
    fn itemset(&self, cand: &[u32], target: f64) -> Vec<u32> {
        let floor = target * (1.0 - self.cfg.noise_tolerance);
        let sup: Vec<(u32, f64)> = cand
            .iter()
            .map(|&b| (b, f64::from(crate::dice::popcount(self.col(b as usize)))))
            .filter(|&(_, c)| c >= floor)
            .collect();
        let mut best: Vec<u32> = Vec::new();
        let mut order = sup.clone();
        order.sort_unstable_by(|x, y| {
            (x.1 - target)
                .abs()
                .total_cmp(&(y.1 - target).abs())
                .then(x.0.cmp(&y.0))
        });
        for &(seed, _) in order.iter().take(4) {
            let mut inter = self.col(seed as usize).to_vec();
            let mut size = f64::from(crate::dice::popcount(&inter));
            let mut chosen = vec![seed];
            loop {
                let mut pick: Option<(f64, u32, f64)> = None;
                for &(b, s) in &sup {
                    if chosen.contains(&b) {
                        continue;
                    }
                    let c = f64::from(crate::dice::intersection(&inter, self.col(b as usize)));
                    if c < floor {
                        continue;
                    }
                    let j = c / (size + s - c);
                    if pick.is_none_or(|(pj, _, _)| j > pj) {
                        pick = Some((j, b, c));
                    }
                }
                let Some((_, b, c)) = pick else { break };
                for (x, y) in inter.iter_mut().zip(self.col(b as usize)) {
                    *x &= *y;
                }
                size = c;
                chosen.push(b);
            }
            if chosen.len() > best.len() {
                best = chosen;
            }
        }
        best.sort_unstable();
        best
    }

    /// Decodes groups by the identified q-grams their encoding contains: a group is
    /// decoded as the one undecoded value that has exactly those identified q-grams (and
    /// at least two of them). Returns how many groups were decoded.
    fn decode(&mut self) -> usize {
        if self.positions.len() < 2 {
            return 0;
        }
        let mut known: Vec<(u32, &Vec<u32>)> =
            self.positions.iter().map(|(f, p)| (*f, p)).collect();
        known.sort_unstable_by_key(|(f, _)| *f);
        let words = known.len().div_ceil(64);
        let index: FxHashMap<u32, usize> = known
            .iter()
            .enumerate()
            .map(|(k, (f, _))| (*f, k))
            .collect();
        // Values by their signature over the identified q-grams.
        let mut by_sig: FxHashMap<Vec<u64>, Vec<u32>> = FxHashMap::default();
        for (v, val) in self.plain.values.iter().enumerate() {
            if self.value_taken[v] {
                continue;
            }
            let mut sig = vec![0u64; words];
            let mut hits = 0;
            for f in &val.features {
                if let Some(&k) = index.get(f) {
                    sig[k / 64] |= 1 << (k % 64);
                    hits += 1;
                }
            }
            if hits >= 1 {
                by_sig.entry(sig).or_default().push(v as u32);
            }
        }
        let eps = self.cfg.noise_tolerance;
        let mut claims: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        for (g, members) in self.groups.iter().enumerate() {
            if self.group_value[g].is_some() || members.is_empty() {
                continue;
            }
            let f = &self.consensus[g];
            let mut sig = vec![0u64; words];
            for (k, (_, pos)) in known.iter().enumerate() {
                let set = pos
                    .iter()
                    .filter(|&&b| (f[(b >> 6) as usize] >> (b & 63)) & 1 == 1)
                    .count();
                if set as f64 >= (1.0 - eps) * pos.len() as f64 {
                    sig[k / 64] |= 1 << (k % 64);
                }
            }
            let Some(vals) = by_sig.get(&sig) else {
                continue;
            };
            // Bits of the encoding no identified q-gram explains, against what each value
            // would leave unexplained (its unidentified q-grams, and the positions of its
            // identified ones beyond the core the attack knows), given the weights.
            let mut explained = vec![0u64; f.len()];
            for (k, (_, pos)) in known.iter().enumerate() {
                if (sig[k / 64] >> (k % 64)) & 1 == 1 {
                    for &b in pos.iter() {
                        explained[(b >> 6) as usize] |= 1 << (b & 63);
                    }
                }
            }
            let ones = crate::dice::popcount(f);
            let unexplained = f64::from(ones - crate::dice::intersection(f, &explained));
            let free = 1.0 - f64::from(crate::dice::popcount(&explained)) / self.bits;
            let plausible = |v: u32| {
                let val = &self.plain.values[v as usize];
                let expect: f64 = val
                    .features
                    .iter()
                    .zip(&val.ks)
                    .map(|(feat, &k)| {
                        let core = self.positions.get(feat).map_or(0, |p| p.len() as u32);
                        f64::from(k.saturating_sub(core))
                    })
                    .sum::<f64>()
                    * free;
                (unexplained - expect).abs() <= 0.35 * expect.max(unexplained) + 8.0
            };
            let vals: Vec<u32> = vals.iter().copied().filter(|&v| plausible(v)).collect();
            if let [v] = vals.as_slice() {
                claims.entry(*v).or_default().push(g);
                continue;
            }
            if vals.is_empty() {
                continue;
            }
            // Several values fit the q-grams: a frequent group takes the one value whose
            // frequency matches its size, if there is exactly one.
            if members.len() >= self.cfg.min_support {
                let fg = members.len() as f64 / self.n_coded;
                let mut fitting = vals.iter().filter(|&&v| {
                    let fv = self.plain.values[v as usize].count as f64 / self.m_sample;
                    (fg - fv).abs() / fg.max(fv) <= self.cfg.frequency_tolerance
                });
                if let (Some(&v), None) = (fitting.next(), fitting.next()) {
                    claims.entry(v).or_default().push(g);
                }
            }
        }
        let mut decoded = 0;
        for (v, gs) in claims {
            // A value claimed by several groups: keep the largest group only.
            let Some(&g) = gs
                .iter()
                .max_by_key(|&&g| (self.groups[g].len(), usize::MAX - g))
            else {
                continue;
            };
            self.group_value[g] = Some(v);
            self.value_taken[v as usize] = true;
            decoded += 1;
        }
        decoded
    }
}

fn bits_of(words: &[u64]) -> Vec<u32> {
    let mut out = Vec::new();
    for (w, &word) in words.iter().enumerate() {
        let mut x = word;
        while x != 0 {
            out.push((w * 64) as u32 + x.trailing_zeros());
            x &= x - 1;
        }
    }
    out
}

/// Fewer positions than this are too likely to be set by chance in a dense filter for
/// a q-gram to be identified by them.
const MIN_QGRAM_POSITIONS: usize = 5;
