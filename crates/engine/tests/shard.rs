//! The prepared records a cluster run writes for its executors: readable by their owner
//! only, read back as written, and removed on an interrupt.

use spirit_engine::shard;
use spirit_matching::blocking::{BlockKeys, BlockingRule};
use spirit_matching::{PrepareOptions, RecordTable};
use spirit_model::AttrKind;

#[test]
fn the_shared_file_is_private_reads_back_and_goes_on_interrupt() {
    let values: Vec<Vec<(AttrKind, String)>> = ["smith", "smith", "jones"]
        .iter()
        .map(|s| vec![(AttrKind::Surname, s.to_string())])
        .collect();
    let table = RecordTable::build(&values, vec![0, 1, 0], &PrepareOptions::default());
    let rules = vec![BlockingRule::parse(&["surname:exact"]).unwrap()];
    let keys = BlockKeys::compute(&table, rules, 100);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prepared.arrow");
    shard::write(&path, &table, &keys, 99).unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    // Records 0 and 2 read back as a table of two, with the whole table's counts.
    let part = shard::read_records(&path, 99, &[0, 2]).unwrap();
    let col = part.table.column(AttrKind::Surname).unwrap();
    assert_eq!((col.get(0), col.get(1)), (Some("smith"), Some("jones")));
    assert_eq!(col.counts[col.id(0).unwrap() as usize], 2);
    assert_eq!(col.non_null, 3);
    assert_eq!(part.table.sources, vec![0, 0]);
    assert_eq!(part.keys.keys[0][0], keys.keys[0][0]);
    // Another run's fingerprint is refused in words.
    let e = shard::read_keys(&path, 98, 0, (0, 3), 1).unwrap_err();
    assert!(e.to_string().contains("not this run's records"), "{e}");

    shard::remove_all();
    assert!(!path.exists());
}
