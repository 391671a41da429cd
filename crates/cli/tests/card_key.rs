//! Payment cards in the batch pipeline are hashed under a key drawn per run (or read
//! from `--card-key-file`), never under a public value: two runs give identical results,
//! and no output holds a card number or a hash anyone could recompute.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spirit_matching::CardKey;
use spirit_matching::evidence::payment_card;

/// The public salt the batch pipeline used to hash cards under: SHA-256 of
/// `spirit payment card v1`. A hash under it can be reversed by enumerating card numbers.
const OLD_PUBLIC_KEY: &str = "a34208b9c98bf627d8d1e46860e9f0a70504c0d667c2a2a8639277e72daeb276";

fn spirit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spirit"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("spirit runs")
}

fn ok(o: &Output) -> String {
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

/// A Luhn-valid 16-digit number starting with `prefix` (15 digits).
fn luhn_card(prefix: u64) -> String {
    let body = format!("{prefix:015}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = 2 * d;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// The demo people with a `card_number` column: one card per true entity (a third of
/// the entities have none), written in two styles.
fn people_with_cards(dir: &Path) -> (PathBuf, Vec<String>, (String, String), String) {
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv"),
    )
    .unwrap();
    let mut lines = demo.lines();
    let header = lines.next().unwrap();
    let cluster_col = header.split(',').position(|h| h == "cluster_id").unwrap();
    let mut out = format!("{header},card_number\n");
    let mut cards = Vec::new();
    // The record id of the first record seen of each entity with a card.
    let mut first: std::collections::HashMap<u64, String> = Default::default();
    let mut pair = None;
    for (i, line) in lines.enumerate() {
        let entity: u64 = line.split(',').nth(cluster_col).unwrap().parse().unwrap();
        let card = if entity.is_multiple_of(3) {
            String::new()
        } else {
            let c = luhn_card(411_111_000_000_000 + entity * 7919);
            cards.push(c.clone());
            let id = line.split(',').next().unwrap().to_string();
            match first.get(&entity) {
                Some(f) if pair.is_none() => pair = Some(((f.clone(), id), c.clone())),
                Some(_) => {}
                None => {
                    first.insert(entity, id);
                }
            }
            if i % 2 == 0 {
                c
            } else {
                c.as_bytes()
                    .chunks(4)
                    .map(|g| std::str::from_utf8(g).unwrap())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        out.push_str(&format!("{line},{card}\n"));
    }
    // A malformed row (one field too many) with a card: quarantined, card masked.
    let stray = luhn_card(552_233_000_000_001);
    out.push_str(&format!(
        "99999,99999,Ann,Lee,1970-01-01,1 High St,Leeds,LS1,a@b.c,0113,{stray},x\n"
    ));
    cards.push(stray);
    cards.sort();
    cards.dedup();
    let path = dir.join("people_cards.csv");
    std::fs::write(&path, out).unwrap();
    let (pair, card) = pair.expect("an entity with two records");
    (path, cards, pair, card)
}

fn resolve(input: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "resolve",
        "--input",
        input.to_str().unwrap(),
        "--exclude-column",
        "cluster_id",
        "--keep-candidates",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&spirit(&args));
}

/// Every file under `dir` as text.
fn all_text(dir: &Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && p.file_name().unwrap() != "people_cards.csv" {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
        }
    }
    text
}

/// `spirit explain --json` of two records: the card hashes it shows (left and right).
fn explained_card_hashes(
    input: &Path,
    out: &Path,
    pair: &(String, String),
    extra: &[&str],
) -> (String, String) {
    let model = out.join("model.json");
    let mut args = vec![
        "explain",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[pair.0.as_str(), pair.1.as_str()]);
    let json: serde_json::Value = serde_json::from_str(&ok(&spirit(&args))).unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["comparison"].as_str().unwrap().contains("payment_card"))
        .unwrap_or_else(|| panic!("no card comparison in {json}"));
    (
        item["left"].as_str().unwrap().to_string(),
        item["right"].as_str().unwrap().to_string(),
    )
}

#[test]
fn card_hashes_are_keyed_per_run_and_never_public() {
    let dir = tempfile::tempdir().unwrap();
    let (input, cards, pair, card) = people_with_cards(dir.path());
    assert!(cards.len() > 100, "{} cards", cards.len());
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    resolve(&input, &one, &[]);
    resolve(&input, &two, &[]);

    // Only equality of hashes matters: a fresh key per run changes nothing (candidates
    // come in block-key order, which follows the hashes: compared as a set).
    for f in ["clusters.csv", "edges.csv", "candidates.csv", "model.json"] {
        let lines = |dir: &Path| {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            let mut l: Vec<String> = text.lines().map(str::to_string).collect();
            if f == "candidates.csv" {
                l.sort();
            }
            l
        };
        let (a, b) = (lines(&one), lines(&two));
        assert!(a.len() > 1, "{f} empty");
        assert!(a == b, "{f} differs between two runs");
    }
    let quarantine = std::fs::read_to_string(one.join("quarantine.csv")).unwrap();
    assert!(quarantine.contains("552233******"), "{quarantine}");
    let summary = std::fs::read_to_string(one.join("summary.json")).unwrap();
    assert!(
        summary.contains("payment_card"),
        "cards were not used: {summary}"
    );

    let public = CardKey::from_hex(OLD_PUBLIC_KEY).unwrap();
    for out in [&one, &two] {
        let text = all_text(out);
        for card in &cards {
            let public_hash = payment_card(card, public.as_bytes()).unwrap();
            let hmac_part = public_hash.rsplit(':').next().unwrap();
            assert!(!text.contains(hmac_part), "{out:?} holds a public-key hash");
            assert!(!text.contains(card.as_str()), "{out:?} holds card {card}");
        }
    }

    // `spirit explain` shows hashes under a fresh key each time: equal for the pair's
    // shared card, different between runs, never the public one.
    let public_hash = payment_card(&card, public.as_bytes()).unwrap();
    let (l1, r1) = explained_card_hashes(&input, &one, &pair, &[]);
    let (l2, _) = explained_card_hashes(&input, &one, &pair, &[]);
    assert_eq!(l1, r1, "one card, one hash");
    assert!(l1.starts_with(&format!("card:{}:", &card[12..])), "{l1}");
    assert_ne!(l1, l2, "two runs, two keys");
    assert_ne!(l1, public_hash);
    assert_ne!(l2, public_hash);
}

#[test]
fn a_card_key_file_gives_stable_hashes_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _, pair, card) = people_with_cards(dir.path());
    let key = CardKey::random().unwrap();
    let key_file = dir.path().join("card.key");
    std::fs::write(&key_file, format!("{}\n", key.to_hex())).unwrap();
    let key_arg = key_file.to_str().unwrap();
    let out = dir.path().join("out");
    resolve(&input, &out, &["--card-key-file", key_arg]);
    assert!(
        !all_text(&out).contains(&key.to_hex()),
        "the key reached an output"
    );
    let expected = payment_card(&card, key.as_bytes()).unwrap();
    for _ in 0..2 {
        let (l, r) = explained_card_hashes(&input, &out, &pair, &["--card-key-file", key_arg]);
        assert_eq!(
            (l.as_str(), r.as_str()),
            (expected.as_str(), expected.as_str())
        );
    }

    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, "not a key").unwrap();
    let o = spirit(&[
        "resolve",
        "--input",
        input.to_str().unwrap(),
        "--card-key-file",
        bad.to_str().unwrap(),
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("bad.key") && stderr.contains("64 hexadecimal digits"),
        "{stderr}"
    );
}
