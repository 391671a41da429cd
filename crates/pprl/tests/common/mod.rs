//! Shared helpers of the tests and examples: reading the small CSV files used for quality
//! checks (no quoted fields in them) and pairwise precision / recall / F1.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::Path;

use spirit_matching::model::SplitMix64;
use spirit_model::AttrKind;

/// A CSV file as header + rows (split on commas; the files used here have no quotes).
pub fn read_csv(path: &Path) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()?
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|s| s.trim().to_owned()).collect())
        .collect();
    Some((header, rows))
}

/// Maps a row to (kind, value) pairs by recognising the header; several columns of one
/// kind are joined with a space (as SPIRIT's readers do). `skip` names columns left out.
pub fn to_record(header: &[String], row: &[String], skip: &[&str]) -> Vec<(AttrKind, String)> {
    let mut out: Vec<(AttrKind, String)> = Vec::new();
    for (h, v) in header.iter().zip(row) {
        if skip.contains(&h.as_str()) || v.is_empty() {
            continue;
        }
        let Some(kind) = AttrKind::recognise_column(h) else {
            continue;
        };
        match out.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, acc)) => {
                acc.push(' ');
                acc.push_str(v);
            }
            None => out.push((kind, v.clone())),
        }
    }
    out
}

/// FEBRL4 location, if the benchmark data is present.
pub fn febrl4_dir() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from)?;
    let dir = home.join(".cache/spirit-bench/data");
    dir.join("febrl4_a.csv").exists().then_some(dir)
}

/// One FEBRL4 side: ids and records (soc_sec_id excluded).
pub fn febrl_side(path: &Path) -> (Vec<String>, Vec<Vec<(AttrKind, String)>>) {
    let (header, rows) = read_csv(path).expect("FEBRL file");
    let id_col = header.iter().position(|h| h == "rec_id").expect("rec_id");
    let ids = rows.iter().map(|r| r[id_col].clone()).collect();
    let recs = rows
        .iter()
        .map(|r| to_record(&header, r, &["rec_id", "soc_sec_id"]))
        .collect();
    (ids, recs)
}

/// Precision, recall, F1 of predicted pairs against true pairs.
pub fn prf(predicted: &[(String, String)], truth: &HashSet<(String, String)>) -> (f64, f64, f64) {
    let tp = predicted.iter().filter(|p| truth.contains(*p)).count() as f64;
    let p = if predicted.is_empty() {
        1.0
    } else {
        tp / predicted.len() as f64
    };
    let r = if truth.is_empty() {
        1.0
    } else {
        tp / truth.len() as f64
    };
    let f = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f)
}

/// The attribute kinds of FEBRL's columns (street number joins the address).
pub const FEBRL_KINDS: [AttrKind; 7] = [
    AttrKind::GivenName,
    AttrKind::Surname,
    AttrKind::Address,
    AttrKind::City,
    AttrKind::Postcode,
    AttrKind::Region,
    AttrKind::DateOfBirth,
];

/// A small deterministic PRNG for test data (the project's SplitMix64).
pub struct Rng(pub SplitMix64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0.next()
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Draws from a Zipf(1) distribution over `n` ranks using the cumulative weights.
pub struct Zipf(Vec<f64>);

impl Zipf {
    pub fn new(n: usize, s: f64) -> Zipf {
        let mut acc = 0.0;
        let cum = (1..=n)
            .map(|r| {
                acc += 1.0 / (r as f64).powf(s);
                acc
            })
            .collect();
        Zipf(cum)
    }

    pub fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.0.last().unwrap();
        let u = rng.unit() * total;
        self.0.partition_point(|&c| c < u).min(self.0.len() - 1)
    }
}

/// Distinct lower-case given names and surnames of the demo file (the vocabulary of
/// synthetic populations), in file order.
pub fn demo_vocabulary() -> (Vec<String>, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/people.csv");
    if let Err(e) = std::fs::read_to_string(&path) {
        panic!("{}: {e}", path.display());
    }
    let (header, rows) = read_csv(&path).expect("demo/people.csv has a header");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (g, s) = (col("first_name"), col("surname"));
    let mut given = Vec::new();
    let mut sur = Vec::new();
    let mut seen = HashSet::new();
    for r in &rows {
        for (c, out) in [(g, &mut given), (s, &mut sur)] {
            let v = r[c].to_lowercase();
            if v.len() >= 2 && v.chars().all(|c| c.is_ascii_lowercase()) && seen.insert(v.clone()) {
                out.push(v);
            }
        }
    }
    (given, sur)
}

/// A synthetic person: given name, surname and date of birth, with Zipf-distributed names.
pub fn population(n: usize, seed: u64) -> Vec<Vec<(AttrKind, String)>> {
    let (given, sur) = demo_vocabulary();
    let (zg, zs) = (Zipf::new(given.len(), 1.0), Zipf::new(sur.len(), 1.0));
    let mut rng = Rng(SplitMix64(seed));
    (0..n)
        .map(|_| {
            let y = 1930 + rng.below(75);
            let m = 1 + rng.below(12);
            let d = 1 + rng.below(28);
            vec![
                (AttrKind::GivenName, given[zg.draw(&mut rng)].clone()),
                (AttrKind::Surname, sur[zs.draw(&mut rng)].clone()),
                (AttrKind::DateOfBirth, format!("{y:04}-{m:02}-{d:02}")),
            ]
        })
        .collect()
}
