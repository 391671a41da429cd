//! A cluster run's prepared records when some records hold several values of a kind:
//! every value, and the whole table's counts, reach the executors. (Its own test binary:
//! `shard.rs` removes every file this process wrote, as an interrupt does.)

use spirit_engine::shard;
use spirit_matching::blocking::{BlockKeys, BlockingRule};
use spirit_matching::{PrepareOptions, RecordTable};
use spirit_model::AttrKind;

#[test]
fn records_holding_several_values_read_back_with_all_of_them() {
    let rec = |vals: &[(AttrKind, &str)]| -> Vec<(AttrKind, String)> {
        vals.iter().map(|(k, v)| (*k, v.to_string())).collect()
    };
    let values = vec![
        rec(&[
            (AttrKind::Surname, "smith"),
            (AttrKind::Email, "a@x.org"),
            (AttrKind::Email, "b@y.org"),
        ]),
        rec(&[(AttrKind::Surname, "jones"), (AttrKind::Email, "b@y.org")]),
        rec(&[(AttrKind::Surname, "smith")]),
        rec(&[
            (AttrKind::Email, "c@z.org"),
            (AttrKind::Email, "b@y.org"),
            (AttrKind::Email, "a@x.org"),
        ]),
    ];
    let table = RecordTable::build(&values, vec![0, 1, 0, 1], &PrepareOptions::default());
    let rules = vec![BlockingRule::parse(&["email:exact"]).unwrap()];
    let keys = BlockKeys::compute(&table, rules, 100);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prepared.arrow");
    shard::write(&path, &table, &keys, 7).unwrap();

    let part = shard::read_records(&path, 7, &[0, 2, 3]).unwrap();
    let (whole, col) = (
        table.column(AttrKind::Email).unwrap(),
        part.table.column(AttrKind::Email).unwrap(),
    );
    for (local, global) in [(0u32, 0u32), (1, 2), (2, 3)] {
        assert_eq!(
            col.values_of(local),
            whole.values_of(global),
            "record {global}"
        );
        assert_eq!(
            part.keys.keys[0][local as usize],
            keys.keys[0][global as usize]
        );
    }
    assert_eq!(col.values_of(2), ["c@z.org", "b@y.org", "a@x.org"]);
    // Counts (so term frequencies) are the whole table's, the further values' too.
    let count = |c: &spirit_matching::table::Column, v: &str| {
        c.counts[c.values.iter().position(|x| &**x == v).unwrap()]
    };
    assert_eq!(count(col, "b@y.org"), 3);
    assert_eq!(count(col, "a@x.org"), 2);
    assert_eq!(col.non_null, 3);
    shard::remove(&path);
}
