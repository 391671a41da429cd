//! Names in another script: a register in Ukrainian Cyrillic linked with the same people
//! written in Ukraine's official Latin spelling (the passport form: `Григорій` is
//! `Hryhorii`, `Гнатюк` is `Hnatiuk`). A Russian-style transliteration (`grigorii`,
//! `gnatiuk`) would put most of them in different blocks.

use std::fmt::Write as _;

use spirit_engine::evaluate::{EvaluateOptions, evaluate_files};
use spirit_engine::pipeline::{ResolveRequest, resolve};
use spirit_matching::eval::Scope;
use spirit_matching::settings::LinkType;
use spirit_matching::{CardKey, Settings};
use spirit_model::NoProgress;
use spirit_text::translit::Scheme;

const GIVEN: [(&str, &str); 10] = [
    ("Григорій", "Hryhorii"),
    ("Олег", "Oleh"),
    ("Ігор", "Ihor"),
    ("Євген", "Yevhen"),
    ("Юлія", "Yuliia"),
    ("Ганна", "Hanna"),
    ("Микола", "Mykola"),
    ("Дмитро", "Dmytro"),
    ("Віктор", "Viktor"),
    ("Наталія", "Nataliia"),
];

const FAMILY: [(&str, &str); 10] = [
    ("Гнатюк", "Hnatiuk"),
    ("Шевченко", "Shevchenko"),
    ("Гончаренко", "Honcharenko"),
    ("Мельник", "Melnyk"),
    ("Ковальчук", "Kovalchuk"),
    ("Бондаренко", "Bondarenko"),
    ("Ткаченко", "Tkachenko"),
    ("Литвиненко", "Lytvynenko"),
    ("Грищенко", "Hryshchenko"),
    ("Кравчук", "Kravchuk"),
];

#[test]
fn ukrainian_cyrillic_links_with_the_official_latin_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let header = "rec_id,given_name,surname,date_of_birth\n";
    let (mut a, mut b, mut truth) = (
        header.to_string(),
        header.to_string(),
        "left,right\n".to_string(),
    );
    for i in 0..60usize {
        let (g, f) = (GIVEN[i % 10], FAMILY[(i * 3 + i / 10) % 10]);
        let dob = format!(
            "{}-{:02}-{:02}",
            1960 + i % 40,
            1 + i % 12,
            1 + (i * 7) % 28
        );
        let _ = writeln!(a, "a{i},{},{},{dob}", g.0, f.0);
        let _ = writeln!(b, "b{i},{},{},{dob}", g.1, f.1);
        let _ = writeln!(truth, "a{i},b{i}");
    }
    std::fs::write(d.join("a.csv"), a).unwrap();
    std::fs::write(d.join("b.csv"), b).unwrap();
    std::fs::write(d.join("truth.csv"), truth).unwrap();

    // Records whose letters say Ukrainian (і, ї, є, ґ) are spelled so on their own; the
    // others (`Олег Мельник`) need the source's language from the settings.
    let by_letters = f1_of(d, None);
    assert!(by_letters >= 0.9, "by letters alone: F1 {by_letters}");
    let by_setting = f1_of(d, Some(Scheme::Ukrainian));
    assert!(by_setting >= 0.99, "with the language set: F1 {by_setting}");
    assert!(by_setting > by_letters);
}

fn f1_of(d: &std::path::Path, transliteration: Option<Scheme>) -> f64 {
    let mut settings = Settings::default();
    settings.resolve.link_type = LinkType::Link;
    settings.normalise.transliteration = transliteration;
    let out = d.join(format!("out-{transliteration:?}"));
    let request = ResolveRequest {
        inputs: vec![d.join("a.csv"), d.join("b.csv")],
        settings,
        id_column: None,
        model: None,
        labels: None,
        out: out.clone(),
        keep_candidates: false,
        card_key: CardKey::random().unwrap(),
    };
    resolve(&request, &NoProgress).unwrap();
    let result = evaluate_files(
        &out.join("clusters.csv"),
        &d.join("truth.csv"),
        None,
        &EvaluateOptions {
            scope: Scope::CrossSource,
        },
    )
    .unwrap();
    result.report.pairwise.f1
}
