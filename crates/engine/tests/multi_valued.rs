//! Records that hold several values of a kind: a register with a landline and a mobile
//! per person, and forum accounts that list several e-mail addresses in one cell. An
//! account shares with its person's register record only a value that is not the
//! first of its kind on one side, so it links only if every value is evidence.

use std::fmt::Write as _;
use std::path::Path;

use spirit_engine::evaluate::{EvaluateOptions, evaluate_files};
use spirit_engine::pipeline::{ResolveRequest, resolve};
use spirit_matching::eval::Scope;
use spirit_matching::{LinkType, Settings};
use spirit_model::{AttrKind, NoProgress};

const GIVEN: [&str; 16] = [
    "ali", "maria", "john", "anna", "omar", "li", "ivan", "sara", "tom", "eva", "yusuf", "mei",
    "piotr", "ines", "kofi", "lena",
];
const FAMILY: [&str; 16] = [
    "smith", "khan", "novak", "chen", "silva", "okafor", "berg", "rossi", "haddad", "kowalski",
    "tanaka", "moreau", "popescu", "nagy", "dubois", "ferreira",
];

/// Person `p`'s name, spread over 256 names.
fn name(p: usize) -> (&'static str, &'static str) {
    let h = p.wrapping_mul(0x9e37_79b9) >> 7;
    (GIVEN[h % 16], FAMILY[(h / 16) % 16])
}

/// Person `p`'s e-mail address, unlike the others'.
fn address(p: usize) -> String {
    format!(
        "{}{:06x}@mail.example",
        name(p).0,
        p.wrapping_mul(0x9e37_79b9) % 0xff_ffff
    )
}

/// The last five digits of person `p`'s mobile, far apart from the others'.
fn mobile(p: usize) -> usize {
    (p * 7_919 + 4_241) % 100_000
}

/// `people` people in a register (two phones each) and `people` forum accounts under
/// the people's names. The first `linked` accounts belong to their register person and
/// share an address and a phone with them, neither the first of its kind on both sides;
/// the others are namesakes, with values of their own. The truth goes to `truth.csv`.
fn write_sources(dir: &Path, people: usize, linked: usize) {
    let mut register = String::from("id,first_name,surname,email,phone,mobile\n");
    let mut forum = String::from("id,name,handle,email,phone\n");
    let mut truth = String::from("rec_id,cluster_id\n");
    for p in 0..people {
        let (g, f) = name(p);
        let _ = writeln!(
            register,
            "r{p},{g},{f},{},020 7946 {p:04},07700 9{:05}",
            address(p),
            mobile(p)
        );
        let _ = writeln!(truth, "r{p},{p}");
    }
    for a in 0..people {
        let _ = writeln!(truth, "f{a},{}", if a < linked { a } else { people + a });
        let handle = format!("shadow{}", a * 7 + 3);
        let (g, f) = name(a);
        let row = if a >= linked {
            let own = (a * 7_919 + 12_345) % 1_000_000;
            format!("f{a},{g} {f},{handle},{handle}@forum.example,07811 {own:06}")
        } else {
            // The register's address second in the cell, and its second phone (the
            // mobile).
            format!(
                "f{a},{g} {f},{handle},{handle}@forum.example; {},+44 7700 9{:05}",
                address(a),
                mobile(a)
            )
        };
        let _ = writeln!(forum, "{row}");
    }
    std::fs::write(dir.join("register.csv"), register).unwrap();
    std::fs::write(dir.join("forum.csv"), forum).unwrap();
    std::fs::write(dir.join("truth.csv"), truth).unwrap();
}

#[test]
fn accounts_link_by_any_of_their_values() {
    let dir = tempfile::tempdir().unwrap();
    write_sources(dir.path(), 200, 150);
    let mut settings = Settings::default();
    settings.resolve.link_type = LinkType::Link;
    let inputs = vec![
        dir.path().join("register.csv"),
        dir.path().join("forum.csv"),
    ];
    let request = ResolveRequest::new(inputs, settings, dir.path().join("out")).unwrap();
    let output = resolve(&request, &NoProgress).unwrap();
    // Every register record holds two phones; half the linked accounts two addresses.
    let phones = output.table.column(AttrKind::Phone).unwrap();
    assert_eq!(phones.values_of(0).len(), 2);
    let emails = output.table.column(AttrKind::Email).unwrap();
    assert_eq!(
        (0..output.table.len)
            .filter(|&r| emails.has_more(r))
            .count(),
        150
    );
    let result = evaluate_files(
        &dir.path().join("out").join("clusters.csv"),
        &dir.path().join("truth.csv"),
        None,
        &EvaluateOptions {
            scope: Scope::AllPairs,
        },
    )
    .unwrap();
    let pairwise = &result.report.pairwise;
    assert!(
        pairwise.precision >= 0.99 && pairwise.recall >= 0.95,
        "precision {} recall {}",
        pairwise.precision,
        pairwise.recall
    );
}
