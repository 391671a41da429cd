//! `spirit pprl`: a shared secret, encodings that carry no plain value, and linkage of two
//! parties' encodings, through the real binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

fn spirit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spirit"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("spirit runs")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Two parties from the demo data: rows 0..1000 and 1000..2000 (same columns), and the
/// truth as rec_id → cluster_id.
fn parties(dir: &Path) -> (String, String, BTreeMap<String, String>) {
    let people = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv");
    let text = std::fs::read_to_string(people).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let write = |name: &str, rows: &[&str]| {
        let p = dir.join(name);
        std::fs::write(&p, format!("{}\n{}\n", lines[0], rows.join("\n"))).unwrap();
        p.display().to_string()
    };
    let a = write("a.csv", &lines[1..1001]);
    let b = write("b.csv", &lines[1001..]);
    let truth = lines[1..]
        .iter()
        .map(|l| {
            let mut f = l.split(',');
            (f.next().unwrap().to_string(), f.next().unwrap().to_string())
        })
        .collect();
    (a, b, truth)
}

#[test]
fn two_parties_link_on_encodings_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, truth) = parties(dir.path());
    let key = dir.path().join("shared.key");
    std::fs::write(&key, ok(&spirit(&["pprl", "keygen"]))).unwrap();
    let key = key.display().to_string();
    let encode = |file: &str, out: &str| {
        let text = ok(&spirit(&[
            "pprl",
            "encode",
            "--key",
            &key,
            "--exclude-column",
            "cluster_id",
            file,
        ]));
        let p = dir.path().join(out);
        std::fs::write(&p, &text).unwrap();
        (p.display().to_string(), text)
    };
    let (enc_a, text_a) = encode(&a, "enc_a.jsonl");
    let (enc_b, _) = encode(&b, "enc_b.jsonl");
    assert_eq!(
        text_a.lines().count(),
        1001,
        "a header line and one per record"
    );
    assert!(text_a.lines().next().unwrap().contains("\"hardened\":true"));
    // Nothing but ids, the public description and bits leaves the party.
    for plain in [
        "Heather",
        "heather",
        "Wright",
        "wright",
        "hotmail",
        "1950-02-13",
    ] {
        assert!(!text_a.contains(plain), "{plain} leaked into the encodings");
    }

    let out = ok(&spirit(&["pprl", "link", &enc_a, &enc_b]));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("left_id,right_id,dice"));
    let links: Vec<(String, String)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect();
    let true_pairs: BTreeSet<(String, String)> = truth
        .iter()
        .filter(|(id, _)| id.parse::<usize>().unwrap() < 1000)
        .flat_map(|(ia, ca)| {
            truth
                .iter()
                .filter(move |(ib, cb)| ib.parse::<usize>().unwrap() >= 1000 && cb == &ca)
                .map(move |(ib, _)| (ia.clone(), ib.clone()))
        })
        .collect();
    let right = links.iter().filter(|l| true_pairs.contains(*l)).count();
    assert!(!links.is_empty());
    // The demo data has households (shared surname, address, phone) that one record-level
    // filter cannot always tell apart from the person; most links must still be right.
    let precision = right as f64 / links.len() as f64;
    assert!(
        precision >= 0.8,
        "precision {precision} over {} links",
        links.len()
    );
    // 1:1: no record is linked twice.
    let lefts: BTreeSet<&String> = links.iter().map(|l| &l.0).collect();
    let rights: BTreeSet<&String> = links.iter().map(|l| &l.1).collect();
    assert_eq!(lefts.len(), links.len());
    assert_eq!(rights.len(), links.len());
}

#[test]
fn mismatched_keys_and_damaged_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = parties(dir.path());
    let mut encoded = Vec::new();
    for (i, file) in [&a, &b].iter().enumerate() {
        let key = dir.path().join(format!("k{i}"));
        std::fs::write(&key, ok(&spirit(&["pprl", "keygen"]))).unwrap();
        let text = ok(&spirit(&[
            "pprl",
            "encode",
            "--key",
            &key.display().to_string(),
            file,
        ]));
        let p = dir.path().join(format!("e{i}.jsonl"));
        std::fs::write(&p, text).unwrap();
        encoded.push(p.display().to_string());
    }
    let o = spirit(&["pprl", "link", &encoded[0], &encoded[1]]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("different secrets"), "{err}");

    let damaged = dir.path().join("damaged.jsonl");
    let text = std::fs::read_to_string(&encoded[0]).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[3] = "{\"id\": \"x\", \"clk\": \"not base64!\"}".into();
    std::fs::write(&damaged, lines.join("\n")).unwrap();
    let o = spirit(&["pprl", "link", &damaged.display().to_string(), &encoded[0]]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("damaged.jsonl:4"), "{err}");

    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "nonsense").unwrap();
    let o = spirit(&[
        "pprl",
        "encode",
        "--key",
        &bad_key.display().to_string(),
        &a,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.key"));
}
