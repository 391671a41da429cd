//! The attacker's plain sample as seen in one segment: its distinct values, their
//! features (q-grams) and how often each occurs.

use rustc_hash::FxHashMap;
use spirit_model::AttrKind;

use crate::encode::features;
use crate::schema::ResolvedField;

/// One value of the plain sample in one segment.
pub(super) struct PlainValue {
    pub(super) features: Vec<u32>,
    /// Bits per feature (k) of each feature in this value, from the schema's weights.
    pub(super) ks: Vec<u32>,
    pub(super) count: usize,
    /// The first sample record with this value.
    pub(super) first: u32,
}

/// The sample as seen in one segment.
pub(super) struct PlainSegment {
    /// Value id of each sample record (`None`: no value).
    pub(super) of_record: Vec<Option<u32>>,
    pub(super) values: Vec<PlainValue>,
    pub(super) n_features: usize,
}

/// The sample's values and their features in one segment.
pub(super) fn plain_segment(
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
