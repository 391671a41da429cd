//! Profiles of fields (columns with no built-in kind): how the batch engine compares a
//! field column, decided from its values.
//!
//! Each field column is profiled ([`profile`]) into a generic comparison — a date, a year,
//! a number, a list, a category, a code or free text — trained like any other; a column
//! that is constant or unique per record is left out, with the reason. Settings can name
//! a field's use ([`FieldUse`]).

use serde::{Deserialize, Serialize};

use rustc_hash::FxHashMap;
use spirit_model::AttrKind;

use crate::blocking::BlockingRule;
use crate::comparison::Function;
use crate::table::{Column, Derived, RecordTable};

/// The distinct values a profile looks at (the first ones met).
const PROFILE_SAMPLE: usize = 5000;

/// At most this many distinct values (or a column where every value has at least 50
/// records): a category, compared by exact agreement.
const CATEGORY_VALUES: usize = 20;

/// How a field is compared: chosen from its values (`auto`) or named in the settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldUse {
    #[default]
    Auto,
    /// Exact agreement, with term frequencies.
    Category,
    /// A code: exact, one edit off.
    Identifier,
    /// Free text: exact, close spelling, shared words.
    Text,
    /// A list of items: the same items, most, some.
    List,
    /// A number: exact, within 2 %, within 10 %.
    Number,
    /// A year: exact, one apart, three apart.
    Year,
    /// A date: as dates of birth are compared.
    Date,
    /// Not used.
    Ignore,
}

/// What a field column became in a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldProfile {
    /// The field's kind name (`field:organisation`).
    pub field: String,
    /// Records with a value, and distinct values.
    pub values: u32,
    pub distinct: u32,
    /// The comparison it feeds, or `None` when it is left out.
    #[serde(skip)]
    pub function: Option<Function>,
    /// What it became (`year: exact, one apart, three apart`) or why it is left out.
    pub became: String,
}

/// Profiles a field column of a table of `records` records under its setting.
pub fn profile(col: &Column, setting: FieldUse) -> FieldProfile {
    let kind = col.kind;
    let (n, d) = (col.non_null, col.values.len() as u32);
    let out = |function: Option<Function>, became: String| FieldProfile {
        field: kind.name().to_owned(),
        values: n,
        distinct: d,
        function,
        became,
    };
    let chosen = match setting {
        FieldUse::Ignore => return out(None, "left out by the settings".into()),
        FieldUse::Auto => {
            if n < 2 {
                return out(None, "left out: fewer than two records have a value".into());
            }
            if d == 1 {
                return out(
                    None,
                    "left out: one value for every record (constant)".into(),
                );
            }
            if d == n {
                return out(
                    None,
                    "left out: every value differs (unique per record, like an id)".into(),
                );
            }
            detect(col)
        }
        other => other,
    };
    let function = match chosen {
        FieldUse::Category => Function::Category(kind),
        FieldUse::Identifier => Function::Identifier(kind),
        FieldUse::Text => Function::Text(kind),
        FieldUse::List => Function::List(kind),
        FieldUse::Number => Function::Number(kind),
        FieldUse::Year => Function::Year(kind),
        FieldUse::Date => Function::Date(kind),
        FieldUse::Auto | FieldUse::Ignore => unreachable!("resolved above"),
    };
    let how = match chosen {
        FieldUse::Category => "category (exact, with term frequencies)",
        FieldUse::Identifier => "code (exact, one edit off)",
        FieldUse::Text => "text (exact, close spelling, shared words)",
        FieldUse::List => "list (same items, most, some)",
        FieldUse::Number => "number (exact, within 2 %, within 10 %)",
        FieldUse::Year => "year (exact, one apart, three apart)",
        _ => "date (exact, partial, transposed, typo, near)",
    };
    let by = if setting == FieldUse::Auto {
        ""
    } else {
        ", as the settings say"
    };
    out(Some(function), format!("{how}{by}"))
}

/// The use a column's values suggest, from the share of records (over the first
/// [`PROFILE_SAMPLE`] distinct values) whose value is a date, a year, a number, a list
/// or a code.
fn detect(col: &Column) -> FieldUse {
    let Derived::Fields(f) = &col.derived else {
        return FieldUse::Text;
    };
    let sample = col.values.len().min(PROFILE_SAMPLE);
    let mut total = 0f64;
    let (mut dates, mut years, mut numbers, mut coded_numbers, mut lists, mut codes) =
        (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    for i in 0..sample {
        let w = f64::from(col.counts[i]);
        let v = &*col.values[i];
        total += w;
        if f.dates[i].is_complete() {
            dates += w;
        }
        let x = f.numbers[i];
        if !x.is_nan() {
            numbers += w;
            let digits = v.bytes().filter(u8::is_ascii_digit).count();
            if x.fract() == 0.0 && (1000.0..=2200.0).contains(&x) && v.len() == 4 {
                years += w;
            }
            if (v.starts_with('0') && v.len() > 1 && !v.starts_with("0.")) || digits >= 7 {
                coded_numbers += w;
            }
        }
        if f.items[i].len() >= 2 {
            lists += w;
        }
        if !v.contains(' ') && v.len() >= 4 && v.bytes().any(|b| b.is_ascii_digit()) {
            codes += w;
        }
    }
    let share = |x: f64| x / total.max(1.0);
    let distinct = col.values.len();
    if share(dates) >= 0.9 {
        FieldUse::Date
    } else if share(years) >= 0.9 {
        FieldUse::Year
    } else if share(numbers) >= 0.9 && share(coded_numbers) < 0.5 {
        FieldUse::Number
    } else if share(lists) >= 0.2 {
        FieldUse::List
    } else if distinct <= CATEGORY_VALUES || distinct.saturating_mul(50) <= col.non_null as usize {
        FieldUse::Category
    } else if share(codes) >= 0.8 {
        FieldUse::Identifier
    } else {
        FieldUse::Text
    }
}

/// Blocking rules on fields, so that records whose names disagree still meet through a
/// shared code, date, text or list: each used field on its own (`field:x:exact`), else
/// (a year, a category, or a field too common alone) with a surname or a given name by
/// sound. A rule is kept when
/// its pairs — counted from its keys, blocks over `max_block_size` dropped — stay within
/// `pairs_per_record` per record; rules come in field order.
pub fn field_rules(
    table: &RecordTable,
    profiles: &[FieldProfile],
    pairs_per_record: f64,
    max_block_size: usize,
) -> Vec<BlockingRule> {
    let budget = pairs_per_record * f64::from(table.len);
    let has = |k: AttrKind| table.column(k).is_some();
    let mut out = Vec::new();
    for p in profiles {
        let Some(function) = p.function else {
            continue;
        };
        let Some(kind) = function.attribute() else {
            continue;
        };
        let field = kind.name();
        let mut candidates: Vec<Vec<String>> = Vec::new();
        if !matches!(function, Function::Year(_) | Function::Category(_)) {
            candidates.push(vec![format!("{field}:exact")]);
        }
        for name in [AttrKind::Surname, AttrKind::GivenName] {
            if has(name) && !matches!(function, Function::List(_)) {
                candidates.push(vec![
                    format!("{}:metaphone", name.name()),
                    format!("{field}:exact"),
                ]);
            }
        }
        for keys in candidates {
            let Ok(rule) = BlockingRule::parse(&keys) else {
                continue;
            };
            if (rule_pairs(table, &rule, max_block_size) as f64) <= budget {
                out.push(rule);
                if keys.len() == 1 {
                    // The field alone already proposes every pair a name would narrow.
                    break;
                }
            }
        }
    }
    out
}

/// The pairs a rule's blocks hold, blocks over `max_block_size` records left out.
fn rule_pairs(table: &RecordTable, rule: &BlockingRule, max_block_size: usize) -> u64 {
    let mut sizes: FxHashMap<u64, u64> = FxHashMap::default();
    for r in 0..table.len {
        if let Some(k) = rule.key(table, r) {
            *sizes.entry(k).or_default() += 1;
        }
    }
    sizes
        .values()
        .filter(|&&c| c as usize <= max_block_size)
        .map(|c| c * (c - 1) / 2)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comparison::field::*;
    use crate::table::RecordTable;

    fn column(values: &[&str]) -> (RecordTable, AttrKind) {
        let kind = AttrKind::from_name("field:test_column").unwrap();
        let records: Vec<Vec<(AttrKind, String)>> =
            values.iter().map(|v| vec![(kind, v.to_string())]).collect();
        let n = records.len();
        let t = RecordTable::build(&records, vec![0; n], &Default::default());
        (t, kind)
    }

    fn became(values: &[&str]) -> Option<Function> {
        let (t, kind) = column(values);
        profile(t.column(kind).unwrap(), FieldUse::Auto).function
    }

    #[test]
    fn columns_are_profiled_from_their_values() {
        let kind = |v: &[&str]| became(v).map(|f| f.levels());
        assert_eq!(
            became(&["1990", "1991", "1990", "2001"]).map(|f| f.levels()),
            Some(YEAR)
        );
        assert_eq!(
            kind(&["5 March 1980", "1980-03-05", "1 Jan 1990", "2 Feb 1991"]),
            Some(crate::comparison::Function::DateOfBirth.levels())
        );
        assert_eq!(kind(&["12.5", "13", "12.5", "99.1"]), Some(NUMBER));
        assert_eq!(
            kind(&["ann; bob", "bob; cy", "ann; bob", "dee"]),
            Some(LIST)
        );
        let orgs: Vec<String> = (0..200).map(|i| format!("org {}", i % 5)).collect();
        let orgs: Vec<&str> = orgs.iter().map(String::as_str).collect();
        assert!(matches!(became(&orgs), Some(Function::Category(_))));
        let codes: Vec<String> = (0..200).map(|i| format!("AB{:04}", i / 2)).collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        assert!(matches!(became(&codes), Some(Function::Identifier(_))));
        let text: Vec<String> = (0..200)
            .map(|i| format!("works at shop {}", i / 2))
            .collect();
        let text: Vec<&str> = text.iter().map(String::as_str).collect();
        assert!(matches!(became(&text), Some(Function::Text(_))));
        // An account number with leading zeros is a code, not a quantity.
        let accounts: Vec<String> = (0..200).map(|i| format!("00{:06}", i / 2)).collect();
        let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
        assert!(matches!(became(&accounts), Some(Function::Identifier(_))));
    }

    #[test]
    fn constant_and_unique_columns_are_left_out_with_the_reason() {
        let (t, kind) = column(&["x", "x", "x"]);
        let p = profile(t.column(kind).unwrap(), FieldUse::Auto);
        assert!(
            p.function.is_none() && p.became.contains("constant"),
            "{p:?}"
        );
        let (t, kind) = column(&["a1", "b2", "c3"]);
        let p = profile(t.column(kind).unwrap(), FieldUse::Auto);
        assert!(p.function.is_none() && p.became.contains("unique"), "{p:?}");
        // The settings win over the profile.
        let p = profile(t.column(kind).unwrap(), FieldUse::Text);
        assert!(matches!(p.function, Some(Function::Text(_))), "{p:?}");
        assert!(p.became.contains("as the settings say"));
        let (t, kind) = column(&["a", "b", "a"]);
        let p = profile(t.column(kind).unwrap(), FieldUse::Ignore);
        assert!(p.function.is_none() && p.became.contains("settings"));
    }

    #[test]
    fn selective_fields_become_blocking_rules_within_the_budget() {
        let plate = AttrKind::from_name("field:plate").unwrap();
        let year = AttrKind::from_name("field:year").unwrap();
        let rows: Vec<Vec<(AttrKind, String)>> = (0..400)
            .map(|i| {
                vec![
                    (
                        AttrKind::Surname,
                        ["smith", "jones", "brown"][i % 3].to_string(),
                    ),
                    (plate, format!("ab{:03} x", i / 2)),
                    (year, format!("{}", 1950 + i % 40)),
                ]
            })
            .collect();
        let t = RecordTable::build(&rows, vec![0; rows.len()], &Default::default());
        let profiles: Vec<FieldProfile> = [plate, year]
            .iter()
            .map(|k| profile(t.column(*k).unwrap(), FieldUse::Auto))
            .collect();
        let names = |rules: Vec<BlockingRule>| -> Vec<String> {
            rules.iter().map(ToString::to_string).collect()
        };
        let rules = names(field_rules(&t, &profiles, 10.0, 2000));
        assert!(rules.iter().any(|r| r == "field:plate:exact"), "{rules:?}");
        assert!(
            !rules.iter().any(|r| r.contains("metaphone & field:plate")),
            "{rules:?}"
        );
        assert!(
            rules
                .iter()
                .any(|r| r.contains("surname:metaphone") && r.contains("field:year"))
        );
        // A year alone is never a rule, and a tight budget keeps only selective rules.
        assert!(!rules.iter().any(|r| r == "field:year:exact"));
        let tight = names(field_rules(&t, &profiles, 0.6, 2000));
        assert!(
            tight.contains(&"field:plate:exact".to_string()),
            "{tight:?}"
        );
        assert!(!tight.iter().any(|r| r.contains("field:year")), "{tight:?}");
        // Keys with a field round-trip through the rule's text.
        for r in &rules {
            let keys: Vec<&str> = r.split(" & ").collect();
            assert_eq!(BlockingRule::parse(&keys).unwrap().to_string(), *r);
        }
    }

    #[test]
    fn kernels_grade_agreement() {
        let (t, kind) = column(&["1990", "1991", "1994", "2010", "unknown"]);
        let c = t.column(kind).unwrap();
        let id = |r: u32| c.id(r).unwrap();
        assert_eq!(year_ids(c, id(0), id(0)), 1);
        assert_eq!(year_ids(c, id(0), id(1)), 2);
        assert_eq!(year_ids(c, id(1), id(2)), 3);
        assert_eq!(year_ids(c, id(0), id(3)), 4);
        assert_eq!(year_ids(c, id(0), id(4)), 0);

        let (t, kind) = column(&["100", "101.5", "108", "150", "3", "4"]);
        let c = t.column(kind).unwrap();
        let id = |r: u32| c.id(r).unwrap();
        assert_eq!(number_ids(c, id(0), id(1)), 2);
        assert_eq!(number_ids(c, id(0), id(2)), 3);
        assert_eq!(number_ids(c, id(0), id(3)), 4);
        assert_eq!(number_ids(c, id(4), id(5)), 2);

        let (t, kind) = column(&["ann; bob; cy", "cy;bob;ann", "bob; dee", "eve", "ann; bob"]);
        let c = t.column(kind).unwrap();
        let id = |r: u32| c.id(r).unwrap();
        assert_eq!(list_ids(c, id(0), id(1)), 1);
        assert_eq!(list_ids(c, id(0), id(4)), 2);
        assert_eq!(list_ids(c, id(0), id(2)), 3);
        assert_eq!(list_ids(c, id(0), id(3)), 4);

        let (t, kind) = column(&[
            "northern trading company",
            "northern tradng company",
            "trading company of the north",
            "blue fish",
        ]);
        let c = t.column(kind).unwrap();
        let id = |r: u32| c.id(r).unwrap();
        assert_eq!(text_ids(c, id(0), id(0)), 1);
        assert_eq!(text_ids(c, id(0), id(1)), 2);
        assert_eq!(text_ids(c, id(0), id(2)), 3);
        assert_eq!(text_ids(c, id(0), id(3)), 4);

        let (t, kind) = column(&["1980-03-05", "1980-05-03", "1980-03-06", "1980-03-25"]);
        let c = t.column(kind).unwrap();
        let id = |r: u32| c.id(r).unwrap();
        assert_eq!(date_ids(c, id(0), id(0)), 1);
        assert_eq!(date_ids(c, id(0), id(1)), 3);
        assert_eq!(date_ids(c, id(0), id(2)), 4);
        assert_eq!(date_ids(c, id(2), id(3)), 5);
    }
}
