//! The further values of records that hold several values of one kind (a person's
//! e-mail addresses, phones, handles, wallets: [`spirit_model::AttrKind::is_multi_valued`];
//! or the other plausible spellings of a name written in another script:
//! [`spirit_model::AttrKind::has_spellings`]).
//!
//! A column keeps each record's first value in its `ids`, as for every kind; the others
//! are kept here, record by record (offsets into one array of value ids), only when some
//! record of the column has more than one. Comparisons take the best-matching pair of
//! values ([`best_pair`]) and blocking proposes the records that share any value.

/// Each record's value ids after its first, as offsets into one array.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MoreValues {
    /// `offsets[r]..offsets[r + 1]` are record `r`'s further values in `ids`.
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

impl MoreValues {
    /// No record holds a further value yet.
    pub fn new() -> MoreValues {
        MoreValues {
            offsets: vec![0],
            ids: Vec::new(),
        }
    }

    /// For `records` records none of which holds a further value.
    pub fn empty(records: usize) -> MoreValues {
        MoreValues {
            offsets: vec![0; records + 1],
            ids: Vec::new(),
        }
    }

    /// Appends the next record's further values.
    pub fn push(&mut self, ids: &[u32]) {
        self.ids.extend_from_slice(ids);
        self.offsets.push(self.ids.len() as u32);
    }

    /// Record `r`'s further value ids (empty for a record past the end).
    #[inline]
    pub fn of(&self, r: u32) -> &[u32] {
        let r = r as usize;
        match (self.offsets.get(r), self.offsets.get(r + 1)) {
            (Some(&lo), Some(&hi)) => &self.ids[lo as usize..hi as usize],
            _ => &[],
        }
    }

    /// Number of further values over all records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no record holds a further value.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The best level a single-value `kernel` gives over every pair of the two value lists
/// (a lower level is a better one; 0 means no value and never wins), with the value ids
/// that give it; `None` when either list is empty.
pub fn best_pair(
    left: impl Iterator<Item = u32> + Clone,
    right: impl Iterator<Item = u32> + Clone,
    mut kernel: impl FnMut(u32, u32) -> u8,
) -> Option<(u8, u32, u32)> {
    let mut best: Option<(u8, u32, u32)> = None;
    for x in left {
        for y in right.clone() {
            let level = kernel(x, y);
            if level != 0 && best.is_none_or(|(b, _, _)| level < b) {
                best = Some((level, x, y));
                if level == 1 {
                    return best;
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_own_further_values() {
        let mut more = MoreValues::new();
        more.push(&[]);
        more.push(&[4, 7]);
        more.push(&[]);
        more.push(&[2]);
        assert_eq!(more.of(0), &[] as &[u32]);
        assert_eq!(more.of(1), &[4, 7]);
        assert_eq!(more.of(2), &[] as &[u32]);
        assert_eq!(more.of(3), &[2]);
        assert_eq!(more.of(9), &[] as &[u32]);
        assert_eq!(more.len(), 3);
        assert!(!more.is_empty() && MoreValues::empty(5).is_empty());
        assert_eq!(MoreValues::empty(5).of(4), &[] as &[u32]);
    }

    #[test]
    fn the_best_pair_is_the_lowest_level_and_a_null_never_wins() {
        // Levels by |x - y|: 1 when equal, 2 when one apart, else 3; 9 never compares.
        let kernel = |x: u32, y: u32| {
            if x == 9 || y == 9 {
                0
            } else {
                match x.abs_diff(y) {
                    0 => 1,
                    1 => 2,
                    _ => 3,
                }
            }
        };
        let b = |l: &[u32], r: &[u32]| best_pair(l.iter().copied(), r.iter().copied(), kernel);
        assert_eq!(b(&[1, 5], &[6, 20]), Some((2, 5, 6)));
        assert_eq!(b(&[1, 5], &[20, 5]), Some((1, 5, 5)));
        assert_eq!(b(&[9], &[9, 9]), None);
        assert_eq!(b(&[9, 30], &[1]), Some((3, 30, 1)));
        assert_eq!(b(&[], &[1]), None);
    }

    use crate::blocking::{BlockKeys, BlockingRule};
    use crate::comparison::{Bound, Function};
    use crate::table::{Appender, RecordTable, table_of};
    use spirit_model::AttrKind::{Email, GivenName, Phone};

    #[test]
    fn a_record_with_several_values_matches_on_any_of_them() {
        let t = table_of(&[
            &[
                (GivenName, "ann"),
                (Email, "ann@home.org"),
                (Email, "a.smith@work.com"),
            ],
            &[(GivenName, "anne"), (Email, "A.Smith@work.com")],
            &[(GivenName, "bob"), (Email, "bob@else.org")],
            &[
                (GivenName, "cy"),
                (Email, "ann@home.org"),
                (Email, "ann@home.org"),
            ],
        ]);
        let col = t.column(Email).unwrap();
        assert_eq!(col.values_of(0), ["ann@home.org", "a.smith@work.com"]);
        // A value repeated in one record is held once, and counted once.
        assert_eq!(col.values_of(3), ["ann@home.org"]);
        let home = col.id(0).unwrap();
        assert_eq!(col.counts[home as usize], 2);
        assert_eq!(col.non_null, 4);

        let email = Bound::new(Function::Email, &t);
        assert_eq!(email.level(&t, 0, 1), 1, "the work address is shared");
        assert_eq!(email.level(&t, 1, 0), 1);
        assert_eq!(email.level(&t, 0, 3), 1, "the home address is shared");
        let apart = email.level(&t, 0, 2);
        assert!(apart > 1, "{apart}");
        let mut batch = Vec::new();
        email.levels(&t, &[0, 1, 0], &[1, 0, 2], &mut batch);
        assert_eq!(batch, [1, 1, apart]);
        // The explanation names the values that matched; the term frequency is theirs.
        assert_eq!(
            email.matched_values(&t, 0, 1),
            Some(("a.smith@work.com", "a.smith@work.com"))
        );
        assert_eq!(email.matched_values(&t, 2, 1), None, "one value each");
        let work = col.id(1).unwrap();
        assert_eq!(
            email.exact_frequency(&t, 0, 1, 1),
            Some(col.frequency(work))
        );
        assert_eq!(
            email.exact_frequency(&t, 0, 3, 1),
            Some(col.frequency(home))
        );

        // Blocking on e-mail proposes every record sharing any address.
        let rules = vec![BlockingRule::parse(&["email:exact"]).unwrap()];
        let keys = BlockKeys::compute(&t, rules.clone(), 100);
        let k = &keys.keys[0];
        assert!(k[0].is_some() && k[0] == k[1] && k[0] == k[3], "{k:?}");
        assert_ne!(k[0], k[2]);
        // One record at a time (the store), a key per value.
        let of = |r| BlockingRule::keys_of(&rules, &t, r).remove(0);
        assert_eq!(of(0).len(), 2);
        assert!(of(0).contains(&of(1)[0]) && of(0).contains(&of(3)[0]));
        assert!(!of(0).contains(&of(2)[0]));
    }

    #[test]
    fn a_common_value_does_not_join_unrelated_records_in_one_block() {
        let t = table_of(&[
            &[(Phone, "+44 7700 900001"), (Phone, "+44 7700 900999")],
            &[(Phone, "+44 7700 900002"), (Phone, "+44 7700 900999")],
            &[(Phone, "+44 7700 900999")],
            &[(Phone, "+44 7700 900001")],
        ]);
        let rules = vec![BlockingRule::parse(&["phone:exact"]).unwrap()];
        // The shared number is held by three records, over a cap of two.
        let k = &BlockKeys::compute(&t, rules.clone(), 2).keys[0];
        assert!(k[0].is_some() && k[0] == k[3], "{k:?}");
        assert_ne!(k[0], k[1]);
        // Under a cap it fits, the shared number joins them all.
        let k = &BlockKeys::compute(&t, rules, 10).keys[0];
        assert!(k.iter().all(|x| x.is_some() && *x == k[0]), "{k:?}");
    }

    #[test]
    fn a_name_in_another_script_keeps_each_spelling() {
        use spirit_model::AttrKind::Surname;
        let rows: &[&[(spirit_model::AttrKind, &str)]] = &[
            &[(GivenName, "Григорій"), (Surname, "Гнатюк")],
            &[(GivenName, "Grigoriy"), (Surname, "Gnatyuk")],
            &[(GivenName, "Hryhorii"), (Surname, "Hnatiuk")],
        ];
        let t = table_of(rows);
        let g = t.column(GivenName).unwrap();
        assert_eq!(g.values_of(0), ["hryhorii", "grigorii"]);
        assert_eq!(g.values_of(1), ["grigoriy"]);
        let given = Bound::new(Function::GivenName, &t);
        let surname = Bound::new(Function::Surname, &t);
        assert_eq!(given.level(&t, 0, 2), 1, "the Ukrainian spelling");
        assert_eq!(surname.level(&t, 0, 2), 1);
        // The Russian-style spelling: `grigorii` is one letter from `grigoriy`, and
        // `gnatyuk` is the Latin record's own.
        assert_eq!(given.level(&t, 0, 1), 2);
        assert_eq!(given.level(&t, 1, 0), 2);
        assert_eq!(surname.level(&t, 0, 1), 1);
        assert!(given.level(&t, 1, 2) > 2, "two Latin spellings keep theirs");
        // The store keeps the spellings and builds the same table from them.
        let options = crate::PrepareOptions::default();
        let phones = spirit_text::PhoneNormaliser::new("GB");
        let norm: Vec<_> = rows
            .iter()
            .map(|row| {
                let raw: Vec<_> = row.iter().map(|(k, v)| (*k, v.to_string())).collect();
                crate::table::normalise_record(&raw, &options, &phones)
            })
            .collect();
        let stored = RecordTable::from_normalised(&norm, vec![0; 3]);
        let sg = stored.column(GivenName).unwrap();
        for r in 0..3 {
            assert_eq!(sg.values_of(r), g.values_of(r));
        }
    }

    #[test]
    fn appending_records_keeps_their_values_as_building_does() {
        let rows: &[&[(spirit_model::AttrKind, &str)]] = &[
            &[(GivenName, "ann"), (Email, "a@x.org")],
            &[(Email, "b@x.org"), (Email, "a@x.org"), (Email, "b@x.org")],
            &[(GivenName, "cy")],
        ];
        let whole = table_of(rows);
        let mut grown = table_of(&rows[..1]);
        let mut appender = Appender::new(&grown);
        let options = crate::PrepareOptions::default();
        let phones = spirit_text::PhoneNormaliser::new("GB");
        for row in &rows[1..] {
            let raw: Vec<_> = row.iter().map(|(k, v)| (*k, v.to_string())).collect();
            let norm = crate::table::normalise_record(&raw, &options, &phones);
            appender.push(&mut grown, &norm, 0);
        }
        let values = |t: &RecordTable| -> Vec<Vec<String>> {
            let c = t.column(Email).unwrap();
            (0..t.len)
                .map(|r| c.values_of(r).iter().map(|v| v.to_string()).collect())
                .collect()
        };
        assert_eq!(values(&grown), values(&whole));
        assert_eq!(values(&whole)[1], ["b@x.org", "a@x.org"]);
        let (g, w) = (grown.column(Email).unwrap(), whole.column(Email).unwrap());
        assert_eq!((g.non_null, w.non_null), (2, 2));
        let count = |c: &crate::table::Column, v: &str| {
            c.counts[c.values.iter().position(|x| &**x == v).unwrap()]
        };
        assert_eq!((count(g, "a@x.org"), count(w, "a@x.org")), (2, 2));
    }
}
