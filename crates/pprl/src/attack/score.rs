//! Measuring an attack against the truth: the people it named, the values it recovered.

use serde::{Deserialize, Serialize};
use spirit_matching::table::{PrepareOptions, normalise_record};
use spirit_model::AttrKind;
use spirit_text::PhoneNormaliser;

use crate::schema::{Layout, Schema};

use super::{AttackConfig, AttackOutcome};

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
/// passed to [`attack`](fn@super::attack). The person-level fields (`correct`, `share`) are left at 0: see
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
