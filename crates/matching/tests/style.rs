//! The style comparison in the match model: levels from the calibrated bands, fixed
//! (never trained) parameters, and advisory weight unless the settings allow it to link.

use spirit_matching::Scorer;
use spirit_matching::comparison::{Bound, Function};
use spirit_matching::model::{Model, PatternCount, TrainingData};
use spirit_matching::table::{PrepareOptions, RecordTable};
use spirit_model::AttrKind;
use spirit_text::style::sample::house_style as text;
use spirit_text::style::{BAND_M, BAND_U, Profile};

fn profile(style: u8, seed: u64, words: usize) -> String {
    Profile::from_texts([text(style, seed, words)]).to_serialised()
}

/// Records: 0 and 1 one author (chat style), 2 another (formal), 3 a short account of
/// the first style, 4 without a profile.
fn table() -> RecordTable {
    let rows: Vec<Vec<(AttrKind, String)>> = vec![
        vec![
            (AttrKind::Username, "a1".into()),
            (AttrKind::StyleProfile, profile(0, 1, 900)),
        ],
        vec![
            (AttrKind::Username, "a2".into()),
            (AttrKind::StyleProfile, profile(0, 2, 900)),
        ],
        vec![
            (AttrKind::Username, "b1".into()),
            (AttrKind::StyleProfile, profile(1, 3, 900)),
        ],
        vec![
            (AttrKind::Username, "a3".into()),
            (AttrKind::StyleProfile, profile(0, 4, 120)),
        ],
        vec![(AttrKind::Username, "c1".into())],
    ];
    RecordTable::build(&rows, vec![0; rows.len()], &PrepareOptions::default())
}

fn label(t: &RecordTable, a: u32, b: u32) -> &'static str {
    let l = Bound::new(Function::Style, t).level(t, a, b);
    if l == 0 {
        "null"
    } else {
        Function::Style.levels()[l as usize - 1]
    }
}

#[test]
fn levels_come_from_the_calibrated_bands() {
    let t = table();
    assert!(Function::defaults_for(&t.kinds()).contains(&Function::Style));
    assert_eq!(label(&t, 0, 1), "strong");
    assert_eq!(label(&t, 1, 0), "strong");
    assert_eq!(label(&t, 0, 2), "else");
    assert_eq!(
        label(&t, 0, 3),
        "null",
        "fewer words than the calibration covers"
    );
    assert_eq!(label(&t, 0, 4), "null", "no profile");
    // A damaged profile is missing, not an error.
    let rows = vec![vec![(
        AttrKind::StyleProfile,
        "spirit-style/1:AAAA".to_string(),
    )]];
    let t2 = RecordTable::build(&rows, vec![0], &PrepareOptions::default());
    assert!(
        t2.column(AttrKind::StyleProfile)
            .is_none_or(|c| c.non_null == 0)
    );
}

fn model(t: &RecordTable) -> Model {
    let functions = [Function::Identifier(AttrKind::Username), Function::Style];
    let mut m = Model::initial(t, &functions, 1000, false, 7).unwrap();
    m.prior = 0.05;
    m
}

#[test]
fn style_is_advisory_unless_allowed_to_link() {
    let t = table();
    let mut m = model(&t);
    let style = &m.comparisons[1];
    assert!(style.advisory, "advisory by default");
    let got_m: Vec<f64> = style.levels.iter().map(|l| l.m).collect();
    let got_u: Vec<f64> = style.levels.iter().map(|l| l.u).collect();
    assert_eq!(got_m, BAND_M.to_vec());
    assert_eq!(got_u, BAND_U.to_vec());
    let strong = (BAND_M[0] / BAND_U[0]).log2();

    let s = Scorer::new(m.clone(), &t);
    let (w, partials) = s.score(0, 1);
    assert!(
        (f64::from(partials[1]) - strong).abs() < 1e-4,
        "{partials:?}"
    );
    let without_style = s.weight(0, 1);
    assert_eq!(w, without_style);
    let e = s.explain(0, 1);
    let item = &e.items[1];
    assert!(item.advisory);
    assert_eq!(item.level, "strong");
    let note = item.calibration.as_deref().unwrap();
    assert!(
        note.contains(spirit_text::style::CALIBRATION_NAME),
        "{note}"
    );
    assert!(item.left.as_deref().unwrap().contains("words"), "{item:?}");
    let sum: f64 = e.prior_weight
        + e.items
            .iter()
            .filter(|i| !i.advisory)
            .map(|i| i.partial_weight)
            .sum::<f64>();
    assert!(
        (sum - e.match_weight).abs() < 1e-9,
        "the waterfall adds up without advisory lines"
    );

    m.set_style_can_link(true);
    assert!(!m.comparisons[1].advisory);
    let s2 = Scorer::new(m.clone(), &t);
    assert!((s2.weight(0, 1) - (without_style + strong)).abs() < 1e-9);
    assert!(
        s2.weight(0, 2) < without_style,
        "a clear difference in style counts against"
    );

    // The flag survives model.json, and is absent from a model without style.
    let back = Model::from_json(&m.to_json()).unwrap();
    assert!(!back.comparisons[1].advisory);
    let mut advisory = m.clone();
    advisory.set_style_can_link(false);
    assert!(advisory.to_json().contains("\"advisory\": true"));
    assert!(Model::from_json(&advisory.to_json()).unwrap().comparisons[1].advisory);
    let plain = Model::initial(
        &t,
        &[Function::Identifier(AttrKind::Username)],
        100,
        false,
        7,
    )
    .unwrap();
    assert!(!plain.to_json().contains("advisory"));
}

#[test]
fn training_leaves_the_calibrated_levels_alone() {
    let t = table();
    let mut m = model(&t);
    let before = m.comparisons[1].clone();
    // Patterns: username level | style level << 4.
    let h = [
        PatternCount {
            rule: 0,
            first: true,
            pattern: 1 | (1 << 4),
            count: 30,
        },
        PatternCount {
            rule: 0,
            first: true,
            pattern: 3 | (4 << 4),
            count: 500,
        },
        PatternCount {
            rule: 0,
            first: true,
            pattern: 3 | (1 << 4),
            count: 40,
        },
        PatternCount {
            rule: 0,
            first: true,
            pattern: 2 | (3 << 4),
            count: 20,
        },
    ];
    let covered = vec![vec![false, false]];
    m.train(
        TrainingData {
            histogram: &h,
            covered: &covered,
            rule_scale: &[1.0],
            possible_pairs: 5000.0,
        },
        50,
    );
    assert_eq!(m.comparisons[1], before);
    assert_ne!(
        m.comparisons[0].levels[0].m,
        model(&t).comparisons[0].levels[0].m
    );
}
