//! The cold-start model: what a workspace resolves with before it has been trained.
//!
//! Every default comparison of the kinds the records carry (as many as a model holds),
//! with level probabilities fixed in advance:
//! m (how often the records of one person reach each level) as measured by EM on
//! synthetic people with typical corruptions (typos, nicknames, swapped names, date
//! errors, moves, e-mail and phone variants), rounded; u (how often two different
//! people reach it) at population scale — about one pair of strangers in a hundred
//! shares a given name, one in two hundred a surname, one in twenty thousand a date of
//! birth, almost none an e-mail, phone or identifier — since a young store's own
//! frequencies are not yet representative. For the same reason the model does not
//! adjust exact agreement by the value's frequency. The prior is conservative: a link
//! needs agreement on a name and on a date of birth, an identifier or a place, never
//! on a name alone. The first batch `resolve` trains a model on the store and replaces
//! this one, re-checking every entity.

use spirit_model::AttrKind;

use crate::comparison::Function;
use crate::initial::household_applies;
use crate::params::{
    ComparisonParams, LevelParams, MAX_COMPARISONS, MODEL_FORMAT, Model, TrainingInfo,
};

/// The method a cold-start model's [`TrainingInfo`] names.
pub const COLD_START_METHOD: &str = "cold-start";

/// Probability that two random records are the same person, before training.
const PRIOR: f64 = 1e-4;
/// Probability that two random records are different members of one household.
const HOUSEHOLD_PRIOR: f64 = 1e-5;

/// (m, u) per level of a function, strongest level first, *else* last.
fn levels(function: Function) -> Vec<(f64, f64)> {
    match function {
        // exact, close, variant, swapped, similar, initial, else
        Function::GivenName => vec![
            (0.57, 1e-2),
            (0.22, 3e-3),
            (0.03, 2e-3),
            (0.055, 1e-5),
            (0.02, 6e-3),
            (0.055, 3e-2),
            (0.05, 0.95),
        ],
        // exact, close, swapped, similar, else
        Function::Surname => vec![
            (0.59, 5e-3),
            (0.24, 2e-3),
            (0.055, 1e-5),
            (0.025, 5e-3),
            (0.09, 0.99),
        ],
        // exact, partial, transposed, typo, near, else
        Function::DateOfBirth => vec![
            (0.84, 5e-5),
            (0.01, 1e-5),
            (0.03, 1e-5),
            (0.1, 1e-3),
            (0.01, 7e-4),
            (0.01, 0.998),
        ],
        // exact, same user at another domain, close, else
        Function::Email => vec![(0.78, 1e-6), (0.09, 1e-5), (0.02, 2e-5), (0.11, 1.0)],
        // exact, close, else
        Function::Phone => vec![(0.88, 1e-6), (0.07, 1e-6), (0.05, 1.0)],
        // exact, close, similar, else
        Function::Address => vec![(0.73, 1e-6), (0.18, 5e-6), (0.025, 1e-4), (0.065, 1.0)],
        // postcode and city, postcode, postcode one off, city, region, else
        Function::Area => vec![
            (0.73, 2e-3),
            (0.08, 1e-4),
            (0.08, 1e-4),
            (0.025, 1e-3),
            (0.005, 1e-2),
            (0.08, 0.985),
        ],
        // exact, one edit off, else
        // One edit off is weak: handles such as john1 and john2 are common.
        Function::Identifier(_) => vec![(0.8, 1e-6), (0.05, 1e-3), (0.15, 1.0)],
        // Fields are profiled and trained in a batch run; a cold model has none, and
        // these are only a neutral start: exact, two weaker levels, else.
        Function::Year(_) | Function::Number(_) | Function::Text(_) | Function::List(_) => {
            vec![(0.8, 1e-2), (0.08, 2e-2), (0.04, 5e-2), (0.08, 0.92)]
        }
        Function::Date(_) => levels(Function::DateOfBirth),
        // A categorical value (gender, country) is shared by many people.
        Function::Category(_) => vec![(0.95, 0.4), (0.05, 0.6)],
        // A person may hold several wallets, cards or addresses: agreement is strong,
        // disagreement weak.
        Function::Exact(_) => vec![(0.5, 1e-7), (0.5, 1.0)],
        // near duplicate, close, similar, else: one person posts many different pictures.
        Function::ImageHash => vec![(0.3, 1e-6), (0.1, 1e-5), (0.05, 1e-3), (0.55, 1.0)],
        // same recording, similar, else
        Function::AudioFingerprint => vec![(0.3, 1e-7), (0.1, 1e-5), (0.6, 1.0)],
        Function::Style => spirit_text::style::BAND_M
            .iter()
            .copied()
            .zip(spirit_text::style::BAND_U.iter().copied())
            .collect(),
    }
}

/// Normalises a column of probabilities to sum to 1.
fn normalised(values: impl Iterator<Item = f64> + Clone) -> Vec<f64> {
    let sum: f64 = values.clone().sum();
    values.map(|v| v / sum).collect()
}

impl Model {
    /// The cold-start model over `functions` (see the module documentation).
    pub fn cold_start(functions: &[Function]) -> Model {
        let comparisons = functions
            .iter()
            .map(|&function| {
                let table = levels(function);
                debug_assert_eq!(table.len(), function.levels().len(), "{function:?}");
                let m = normalised(table.iter().map(|l| l.0));
                let u = normalised(table.iter().map(|l| l.1));
                let shared = function.shared_by_household();
                ComparisonParams {
                    name: function.default_name(),
                    function,
                    levels: function
                        .levels()
                        .iter()
                        .zip(m.iter().zip(&u))
                        .map(|(label, (&m, &u))| LevelParams {
                            label: (*label).to_string(),
                            m,
                            u,
                            h: if shared { m } else { u },
                            tf: false,
                        })
                        .collect(),
                    advisory: function.is_calibrated(),
                }
            })
            .collect();
        Model {
            format: MODEL_FORMAT.into(),
            prior: PRIOR,
            household_prior: if household_applies(functions) {
                HOUSEHOLD_PRIOR
            } else {
                0.0
            },
            comparisons,
            tf_min_frequency: 0.0,
            training: TrainingInfo {
                method: COLD_START_METHOD.into(),
                ..TrainingInfo::default()
            },
        }
    }

    /// True for a model that was never trained on data ([`Model::cold_start`]).
    pub fn is_cold_start(&self) -> bool {
        self.training.method == COLD_START_METHOD
    }
}

/// The comparisons of a cold-start model for records carrying `kinds`: the defaults,
/// most telling first, as many as a model holds.
pub fn cold_start_functions(kinds: &[AttrKind]) -> Vec<Function> {
    let mut functions = Function::defaults_for(kinds);
    functions.truncate(MAX_COMPARISONS);
    functions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PrepareOptions, RecordTable, Scorer};
    use AttrKind::*;

    fn row(values: &[(AttrKind, &str)]) -> Vec<(AttrKind, String)> {
        values.iter().map(|(k, v)| (*k, (*v).to_string())).collect()
    }

    /// Match probability of records 0 and 1 under the cold-start model of their kinds.
    fn probability(a: &[(AttrKind, &str)], b: &[(AttrKind, &str)]) -> f64 {
        let rows = vec![row(a), row(b)];
        let table = RecordTable::build(&rows, vec![0, 1], &PrepareOptions::default());
        let model = Model::cold_start(&cold_start_functions(&table.kinds()));
        let w = Scorer::new(model, &table).weight(0, 1);
        1.0 / (1.0 + (-w).exp2())
    }

    #[test]
    fn the_cold_start_model_is_valid_for_every_default_comparison() {
        let all = Function::defaults_for(&AttrKind::ALL);
        for f in &all {
            let model = Model::cold_start(&[*f]);
            model.validate().unwrap_or_else(|e| panic!("{f:?}: {e}"));
            let c = &model.comparisons[0];
            let (m, u): (f64, f64) = c
                .levels
                .iter()
                .map(|l| (l.m, l.u))
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            assert!((m - 1.0).abs() < 1e-9 && (u - 1.0).abs() < 1e-9, "{f:?}");
            // Agreement is evidence for, disagreement against.
            assert!(c.partial(1) > 0.0, "{f:?}");
            assert!(c.partial(c.levels.len() as u8) < c.partial(1), "{f:?}");
            assert!(c.levels.iter().all(|l| !l.tf), "{f:?}");
        }
        let capped = cold_start_functions(&AttrKind::ALL);
        assert_eq!(capped.len(), MAX_COMPARISONS);
        assert_eq!(capped[..], all[..MAX_COMPARISONS]);
        let model = Model::cold_start(&capped);
        model.validate().unwrap();
        assert!(model.is_cold_start() && model.household_prior > 0.0);
    }

    #[test]
    fn a_name_alone_does_not_link_but_a_name_with_a_date_or_an_identifier_does() {
        let jane = [(GivenName, "Jane"), (Surname, "Kowalski")];
        let p = probability(&jane, &jane);
        assert!(p < 0.5, "name alone: {p}");
        let with = |extra: (AttrKind, &'static str)| {
            let mut v = jane.to_vec();
            v.push(extra);
            v
        };
        for extra in [
            (DateOfBirth, "1980-04-02"),
            (Email, "jk@example.org"),
            (Phone, "+44 20 7946 0001"),
            (NationalId, "AB123456"),
        ] {
            let p = probability(&with(extra), &with(extra));
            assert!(p > 0.99, "name and {extra:?}: {p}");
        }
        // A typo'd name and the same date of birth still link; another date does not.
        let a = [
            (GivenName, "Jane"),
            (Surname, "Kowalski"),
            (DateOfBirth, "1980-04-02"),
        ];
        let b = [
            (GivenName, "Jane"),
            (Surname, "Kowalsky"),
            (DateOfBirth, "1980-04-02"),
        ];
        let c = [
            (GivenName, "Jane"),
            (Surname, "Kowalski"),
            (DateOfBirth, "1967-11-23"),
        ];
        assert!(probability(&a, &b) > 0.5);
        assert!(probability(&a, &c) < 0.5);
        // A shared phone with nothing else alike is a household or a coincidence.
        let x = [
            (GivenName, "Zebedee"),
            (Surname, "Quaternion"),
            (DateOfBirth, "1901-01-01"),
            (Phone, "498-006-7809"),
        ];
        let y = [
            (GivenName, "Ottoline"),
            (Surname, "Varga"),
            (DateOfBirth, "1902-02-02"),
            (Phone, "498-006-7809"),
        ];
        assert!(probability(&x, &y) < 0.5);
    }
}
