//! Assessing one's own encodings: the attack of [`crate::attack`] run with an attacker's
//! plain sample and, when the plain records behind the encodings are known, scored
//! against them. What `spirit pprl assess` reports.

use serde::Serialize;
use spirit_model::AttrKind;

use crate::attack::{AttackConfig, SegmentReport, attack, score_values};
use crate::encode::EncodedTable;
use crate::error::{PprlError, Result};
use crate::schema::Schema;

/// The plain records behind the encodings, by record id: what the owner of the encodings
/// knows and the attacker does not.
pub type Truth<'a> = [(&'a str, &'a [(AttrKind, String)])];

/// What an assessment found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AssessReport {
    /// Encoded records attacked.
    pub encodings: usize,
    /// Records in the attacker's sample.
    pub sample: usize,
    /// Encoded records the attack named a sample record for.
    pub named: usize,
    /// `named / encodings` (0 without encodings): an upper bound of the share re-identified.
    pub named_share: f64,
    /// With the truth: encoded records whose plain values the attack recovered
    /// ([`score_values`]).
    pub re_identified: Option<usize>,
    /// With the truth: `re_identified / encodings`.
    pub re_identified_share: Option<f64>,
    /// With the truth: encoded record ids it does not hold (they count as not
    /// re-identified).
    pub truth_missing: usize,
    /// What the attack achieved per segment.
    pub segments: Vec<SegmentReport>,
}

/// Attacks `table` (encoded with `schema`) with the plain `sample`, and scores the result
/// against `truth` when given. Errors when the table was not encoded with `schema`, or as
/// [`attack`] does.
pub fn assess(
    table: &EncodedTable,
    schema: &Schema,
    sample: &[&[(AttrKind, String)]],
    truth: Option<&Truth<'_>>,
    cfg: &AttackConfig,
) -> Result<AssessReport> {
    if schema.fingerprint() != table.meta.schema_fingerprint {
        return Err(PprlError::Incompatible(format!(
            "not encoded with this schema (fingerprint {} vs {})",
            schema.fingerprint(),
            table.meta.schema_fingerprint
        )));
    }
    let outcome = attack(&table.filters, &table.meta, schema, sample, cfg)?;
    let total = table.len();
    let named = outcome.guesses.iter().filter(|g| g.is_some()).count();
    let share = |k: usize| {
        if total == 0 {
            0.0
        } else {
            k as f64 / total as f64
        }
    };
    let mut truth_missing = 0;
    let right = truth.map(|truth| {
        let by_id: std::collections::HashMap<&str, &[(AttrKind, String)]> =
            truth.iter().copied().collect();
        let empty: &[(AttrKind, String)] = &[];
        let behind: Vec<&[(AttrKind, String)]> = table
            .ids
            .iter()
            .map(|id| {
                by_id.get(id.as_str()).copied().unwrap_or_else(|| {
                    truth_missing += 1;
                    empty
                })
            })
            .collect();
        score_values(&outcome, schema, &behind, sample, cfg)
    });
    Ok(AssessReport {
        encodings: total,
        sample: sample.len(),
        named,
        named_share: share(named),
        re_identified: right.map(|r| r.values_recovered),
        re_identified_share: right.map(|r| r.value_share),
        truth_missing,
        segments: outcome.segments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Encoder, HardeningConfig, Layout, Secret};

    fn person(i: usize) -> Vec<(AttrKind, String)> {
        // Few distinct surnames, so field-level filters repeat and the attack has
        // frequencies to align.
        let surnames = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans"];
        let given = ["Anna", "Ben", "Carl", "Dora", "Emil", "Fay", "Gus", "Hana"];
        vec![
            (
                AttrKind::GivenName,
                given[(i * 7) % given.len()].to_string(),
            ),
            (
                AttrKind::Surname,
                surnames[(i * i + 3 * i) % surnames.len()].to_string(),
            ),
        ]
    }

    #[test]
    fn reports_named_and_recovered_records_and_refuses_another_schema() {
        let mut schema = Schema::for_kinds(&[AttrKind::GivenName, AttrKind::Surname]);
        schema.layout = Layout::Field;
        schema.hardening = HardeningConfig::none();
        let secret = Secret::from_bytes([3; 32]);
        let encoder = Encoder::new(&schema, &secret).unwrap();
        let records: Vec<_> = (0..300).map(person).collect();
        let ids: Vec<String> = (0..records.len()).map(|i| format!("r{i}")).collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let table = encoder.encode_table(&id_refs, &records).unwrap();
        let sample: Vec<&[(AttrKind, String)]> = records.iter().map(Vec::as_slice).collect();
        let cfg = AttackConfig::default();

        let without = assess(&table, &schema, &sample, None, &cfg).unwrap();
        assert_eq!(without.encodings, 300);
        assert_eq!(without.sample, 300);
        assert_eq!(without.re_identified, None);
        assert_eq!(without.segments.len(), 2);

        // The truth misses one id: it counts as not re-identified.
        let truth: Vec<(&str, &[(AttrKind, String)])> = id_refs[1..]
            .iter()
            .zip(&records[1..])
            .map(|(id, r)| (*id, r.as_slice()))
            .collect();
        let with = assess(&table, &schema, &sample, Some(&truth), &cfg).unwrap();
        assert_eq!(with.truth_missing, 1);
        let recovered = with.re_identified.unwrap();
        assert!(recovered > 0, "{with:?}");
        assert_eq!(with.re_identified_share, Some(recovered as f64 / 300.0));
        assert_eq!(with.named, without.named);
        assert_eq!(with.named_share, with.named as f64 / 300.0);

        let other = Schema::for_kinds(&[AttrKind::Surname]);
        let err = assess(&table, &other, &sample, None, &cfg).unwrap_err();
        assert!(
            err.to_string().contains("not encoded with this schema"),
            "{err}"
        );
    }
}
