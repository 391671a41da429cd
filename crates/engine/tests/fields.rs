//! Every column is evidence: a register whose names are shared by many people and whose
//! strongest evidence sits in columns with no built-in kind (a year, an organisation,
//! a vehicle plate, a list of associates, a date). Resolved with its fields, it must be
//! far more accurate than with them ignored, and the run summary must say what each
//! column became.

use std::fmt::Write as _;
use std::path::Path;

use spirit_engine::evaluate::{EvaluateOptions, evaluate_files};
use spirit_engine::pipeline::{ResolveRequest, resolve};
use spirit_matching::Settings;
use spirit_matching::eval::Scope;
use spirit_model::NoProgress;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const GIVEN: [&str; 8] = ["ali", "maria", "john", "anna", "omar", "li", "ivan", "sara"];
const FAMILY: [&str; 6] = ["smith", "garcia", "khan", "novak", "chen", "silva"];

fn typo(s: &str, rng: &mut Rng) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() > 2 {
        c.remove(rng.below(c.len()));
    }
    c.into_iter().collect()
}

/// Writes `people` people (about 1.8 records each) as `reg.csv` and the truth as
/// `truth.csv`.
fn write_register(dir: &Path, people: usize) {
    let mut rng = Rng(17);
    let orgs: Vec<String> = (0..people / 10)
        .map(|i| format!("Harbour Yard {i}"))
        .collect();
    let pool: Vec<String> = (0..people / 3)
        .map(|i| format!("{} {}{i}", GIVEN[i % 8], FAMILY[i % 6]))
        .collect();
    let mut rows =
        String::from("ref,cluster,name,birth_year,organisation,associates,vehicle,joined\n");
    let mut truth = String::from("rec_id,cluster_id\n");
    let mut id = 0;
    for p in 0..people {
        let given = rng.pick(&GIVEN);
        let family = rng.pick(&FAMILY);
        let year = 1950 + rng.below(50);
        let org = orgs[rng.below(orgs.len())].clone();
        let associates: Vec<String> = (0..1 + rng.below(3))
            .map(|_| pool[rng.below(pool.len())].clone())
            .collect();
        let plate = format!(
            "{}{:03}",
            ["AB", "CD", "EF", "GH"][rng.below(4)],
            rng.below(1000)
        );
        let joined = (2000 + rng.below(20), 1 + rng.below(12), 1 + rng.below(28));
        let copies = 1 + usize::from(rng.below(10) < 6) * (1 + rng.below(2));
        for c in 0..copies {
            let (mut g, mut f, mut y, mut o, mut a, mut v) = (
                given.to_string(),
                family.to_string(),
                year,
                org.clone(),
                associates.clone(),
                plate.clone(),
            );
            let mut date = format!("{}-{:02}-{:02}", joined.0, joined.1, joined.2);
            if c > 0 {
                for _ in 0..1 + rng.below(2) {
                    match rng.below(6) {
                        0 => g = format!("{}.", &g[..1]),
                        1 => f = typo(&f, &mut rng),
                        2 => y += 1,
                        3 => o.clear(),
                        4 => {
                            a.truncate(1);
                            a.push(pool[rng.below(pool.len())].clone());
                        }
                        _ => {
                            v = typo(&v, &mut rng);
                            date = format!("{:02}/{:02}/{}", joined.2, joined.1, joined.0);
                        }
                    }
                }
            }
            let _ = writeln!(
                rows,
                "r{id},{p},{g} {f},{y},{o},\"{}\",{v},{date}",
                a.join("; ")
            );
            let _ = writeln!(truth, "r{id},{p}");
            id += 1;
        }
    }
    std::fs::write(dir.join("reg.csv"), rows).unwrap();
    std::fs::write(dir.join("truth.csv"), truth).unwrap();
}

fn f1(dir: &Path, settings: Settings, out: &str) -> (f64, spirit_engine::pipeline::RunSummary) {
    let request = ResolveRequest {
        id_column: Some("ref".into()),
        ..ResolveRequest::new(vec![dir.join("reg.csv")], settings, dir.join(out)).unwrap()
    };
    let output = resolve(&request, &NoProgress).unwrap();
    let result = evaluate_files(
        &dir.join(out).join("clusters.csv"),
        &dir.join("truth.csv"),
        None,
        &EvaluateOptions {
            scope: Scope::AllPairs,
        },
    )
    .unwrap();
    (result.report.pairwise.f1, output.summary)
}

#[test]
fn columns_with_no_built_in_kind_are_evidence() {
    let dir = tempfile::tempdir().unwrap();
    write_register(dir.path(), 1500);
    let mut settings = Settings::default();
    settings.input.exclude_columns = vec!["cluster".into()];
    let (with_fields, summary) = f1(dir.path(), settings.clone(), "on");
    settings.input.use_all_columns = false;
    let (names_only, _) = f1(dir.path(), settings, "off");

    eprintln!("pairwise F1: names only {names_only:.4}, with fields {with_fields:.4}");
    // Names are shared by many people here: alone they link strangers or miss copies.
    assert!(names_only < 0.5, "names only: F1 {names_only}");
    assert!(with_fields > 0.97, "with fields: F1 {with_fields}");

    let became = |field: &str| {
        summary
            .fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.became.clone())
            .unwrap_or_else(|| panic!("{field} not profiled: {:?}", summary.fields))
    };
    assert!(became("field:birth_year").starts_with("year"));
    assert!(became("field:associates").starts_with("list"));
    assert!(became("field:joined").starts_with("date"));
    assert!(summary.comparisons.contains(&"field:vehicle".to_string()));
    // The truth column was excluded; nothing else is left out here.
    assert!(summary.fields.iter().all(|f| f.function.is_some()));
    // Selective fields propose pairs too.
    assert!(
        summary
            .blocking_rules
            .iter()
            .any(|r| r.rule == "field:vehicle:exact"),
        "{:?}",
        summary.blocking_rules
    );
}

#[test]
fn settings_name_a_fields_use_and_ids_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    write_register(dir.path(), 200);
    let mut settings = Settings::parse(
        "[input]\nexclude_columns = [\"cluster\"]\n[input.fields]\nvehicle = \"ignore\"\n",
    )
    .unwrap();
    // `ref` is no longer the id column: every value differs, so it is left out.
    settings.input.id_column = None;
    let request = ResolveRequest::new(
        vec![dir.path().join("reg.csv")],
        settings,
        dir.path().join("out"),
    )
    .unwrap();
    let summary = resolve(&request, &NoProgress).unwrap().summary;
    let field = |name: &str| summary.fields.iter().find(|f| f.field == name).unwrap();
    assert!(field("field:vehicle").function.is_none());
    assert!(field("field:vehicle").became.contains("settings"));
    assert!(field("field:ref").function.is_none());
    assert!(field("field:ref").became.contains("unique per record"));
    assert!(!summary.comparisons.contains(&"field:vehicle".to_string()));
    let text = spirit_engine::report::summary(&summary);
    assert!(
        text.contains("field:ref") && text.contains("unique per record"),
        "{text}"
    );
}

#[test]
fn a_workspace_keeps_fields_and_links_streamed_records_by_them() {
    use spirit_store::stream::{StreamFormat, StreamOptions, add_stream};
    use spirit_store::{Workspace, ingest, query, resolve as store_resolve};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_register(d, 600);
    // Two thirds are ingested and resolved in batch; the rest arrive one by one.
    let text = std::fs::read_to_string(d.join("reg.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = 1 + (lines.len() - 1) * 2 / 3;
    std::fs::write(d.join("first.csv"), lines[..cut].join("\n") + "\n").unwrap();
    let rest = format!("{}\n{}\n", lines[0], lines[cut..].join("\n"));

    let mut ws = Workspace::init(
        &d.join("ws"),
        Some("[input]\nexclude_columns = [\"cluster\"]\n"),
    )
    .unwrap();
    ingest::ingest(
        &mut ws,
        Some("reg"),
        &d.join("first.csv"),
        Some("ref"),
        &NoProgress,
    )
    .unwrap();
    spirit_engine::workspace::resolve(&mut ws, false, &NoProgress).unwrap();
    let model = store_resolve::current_model(ws.connection())
        .unwrap()
        .unwrap();
    let names: Vec<&str> = model
        .model
        .comparisons
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(names.contains(&"field:vehicle"), "{names:?}");

    let (mut acks, mut problems) = (Vec::new(), Vec::new());
    let options = StreamOptions {
        format: StreamFormat::Csv,
        id_column: Some("ref".into()),
        ..StreamOptions::new("reg")
    };
    add_stream(
        &mut ws,
        std::io::Cursor::new(rest.into_bytes()),
        &mut acks,
        &mut problems,
        &options,
    )
    .unwrap();
    assert!(
        problems.is_empty(),
        "{}",
        String::from_utf8_lossy(&problems)
    );
    // The streamed records' fields were stored, raw and normalised.
    let record = query::record(ws.connection(), &format!("reg:r{}", lines.len() - 2))
        .unwrap()
        .unwrap();
    let shown = format!("{record:?}");
    assert!(shown.contains("field:associates"), "{shown}");

    let out = d.join("clusters.csv");
    query::export_clusters(ws.connection(), &out).unwrap();
    let result = evaluate_files(
        &out,
        &d.join("truth.csv"),
        None,
        &EvaluateOptions {
            scope: Scope::AllPairs,
        },
    )
    .unwrap();
    let f1 = result.report.pairwise.f1;
    assert!(f1 > 0.97, "batch then streamed, by fields: F1 {f1}");
}
