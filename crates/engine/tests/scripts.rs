//! Names in another script: a register in Ukrainian Cyrillic linked with the same people
//! written in Ukraine's official Latin spelling (the passport form: `Григорій` is
//! `Hryhorii`, `Гнатюк` is `Hnatiuk`). A Russian-style transliteration (`grigorii`,
//! `gnatiuk`) would put most of them in different blocks, so a name in Cyrillic keeps
//! both spellings, and links with registers that wrote it the Russian way too. Georgian and Armenian registers
//! link with their passport spellings without any setting.

use std::fmt::Write as _;

use spirit_engine::evaluate::{EvaluateOptions, evaluate_files};
use spirit_engine::pipeline::{ResolveRequest, resolve};
use spirit_matching::Settings;
use spirit_matching::eval::Scope;
use spirit_matching::settings::LinkType;
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

const GEORGIAN_GIVEN: [(&str, &str); 10] = [
    ("გიორგი", "Giorgi"),
    ("ნინო", "Nino"),
    ("დავით", "Davit"),
    ("თამარ", "Tamar"),
    ("ლევან", "Levan"),
    ("მარიამ", "Mariam"),
    ("ირაკლი", "Irakli"),
    ("ნათია", "Natia"),
    ("ზურაბ", "Zurab"),
    ("ხატია", "Khatia"),
];

const GEORGIAN_FAMILY: [(&str, &str); 10] = [
    ("ბერიძე", "Beridze"),
    ("კაპანაძე", "Kapanadze"),
    ("გელაშვილი", "Gelashvili"),
    ("მაისურაძე", "Maisuradze"),
    ("ლომიძე", "Lomidze"),
    ("ჭავჭავაძე", "Chavchavadze"),
    ("წერეთელი", "Tsereteli"),
    ("ხარაიშვილი", "Kharaishvili"),
    ("ქავთარაძე", "Kavtaradze"),
    ("ჯაფარიძე", "Japaridze"),
];

const ARMENIAN_GIVEN: [(&str, &str); 10] = [
    ("Արամ", "Aram"),
    ("Անի", "Ani"),
    ("Դավիթ", "Davit"),
    ("Նարեկ", "Narek"),
    ("Լուսինե", "Lusine"),
    ("Տիգրան", "Tigran"),
    ("Գայանե", "Gayane"),
    ("Հայկ", "Hayk"),
    ("Մարիամ", "Mariam"),
    ("Վարդան", "Vardan"),
];

const ARMENIAN_FAMILY: [(&str, &str); 10] = [
    ("Պետրոսյան", "Petrosyan"),
    ("Խաչատրյան", "Khachatryan"),
    ("Հովհաննիսյան", "Hovhannisyan"),
    ("Սարգսյան", "Sargsyan"),
    ("Ղազարյան", "Ghazaryan"),
    ("Ծատուրյան", "Tsaturyan"),
    ("Եղիազարյան", "Yeghiazaryan"),
    ("Ոսկանյան", "Voskanyan"),
    ("Թադևոսյան", "Tadevosyan"),
    ("Մկրտչյան", "Mkrtchyan"),
];

const ARABIC_GIVEN: [(&str, &str); 10] = [
    ("محمد", "Mohammed"),
    ("أحمد", "Ahmed"),
    ("يوسف", "Yousef"),
    ("فاطمة", "Fatima"),
    ("خالد", "Khaled"),
    ("حسين", "Hussein"),
    ("عمر", "Omar"),
    ("مريم", "Maryam"),
    ("مصطفى", "Mustafa"),
    ("ليلى", "Layla"),
];

const ARABIC_FAMILY: [(&str, &str); 10] = [
    ("المصري", "Al-Masri"),
    ("حداد", "Haddad"),
    ("خليل", "Khalil"),
    ("ناصر", "Nasser"),
    ("صالح", "Saleh"),
    ("حمدان", "Hamdan"),
    ("عزيز", "Aziz"),
    ("منصور", "Mansour"),
    ("خوري", "Khoury"),
    ("إبراهيم", "Ibrahim"),
];

const HEBREW_GIVEN: [(&str, &str); 10] = [
    ("משה", "Moshe"),
    ("אברהם", "Avraham"),
    ("יצחק", "Yitzhak"),
    ("יעקב", "Yaakov"),
    ("שרה", "Sarah"),
    ("רחל", "Rachel"),
    ("רבקה", "Rivka"),
    ("יוסף", "Yosef"),
    ("דוד", "David"),
    ("מרים", "Miriam"),
];

const HEBREW_FAMILY: [(&str, &str); 10] = [
    ("כהן", "Cohen"),
    ("לוי", "Levi"),
    ("מזרחי", "Mizrahi"),
    ("פרידמן", "Friedman"),
    ("גולדברג", "Goldberg"),
    ("שפירא", "Shapira"),
    ("ביטון", "Biton"),
    ("אזולאי", "Azoulay"),
    ("פרץ", "Peretz"),
    ("אוחיון", "Ohayon"),
];

/// Writes `a.csv` (names in their own script), `b.csv` (the same people in the Latin
/// passport spelling) and `truth.csv` into `d`: 60 people, each with a birth date.
fn write_pair_sets(d: &std::path::Path, given: &[(&str, &str); 10], family: &[(&str, &str); 10]) {
    let header = "rec_id,given_name,surname,date_of_birth\n";
    let (mut a, mut b, mut truth) = (
        header.to_string(),
        header.to_string(),
        "left,right\n".to_string(),
    );
    for i in 0..60usize {
        let (g, f) = (given[i % 10], family[(i * 3 + i / 10) % 10]);
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
}

#[test]
fn ukrainian_cyrillic_links_with_the_official_latin_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pair_sets(d, &GIVEN, &FAMILY);

    // Records whose letters say Ukrainian (і, ї, є, ґ) are spelled so on their own; the
    // others (`Олег Мельник`) are also spelled under each national scheme, Ukraine's
    // among them (0.974 with one spelling per name), or take the source's language from
    // the settings.
    let by_letters = f1_of(d, None);
    assert!(by_letters >= 0.99, "by letters alone: F1 {by_letters}");
    let by_setting = f1_of(d, Some(Scheme::Ukrainian));
    assert!(by_setting >= 0.99, "with the language set: F1 {by_setting}");
}

/// The same Ukrainian names as older documents and foreign registers write them, the
/// Russian way (`Grigoriy Gnatyuk`): each name in Cyrillic is also spelled so, with no
/// setting.
const GIVEN_RUSSIAN_STYLE: [(&str, &str); 10] = [
    ("Григорій", "Grigoriy"),
    ("Олег", "Oleg"),
    ("Ігор", "Igor"),
    ("Євген", "Yevgeniy"),
    ("Юлія", "Yuliya"),
    ("Ганна", "Ganna"),
    ("Микола", "Mikola"),
    ("Дмитро", "Dmitro"),
    ("Віктор", "Viktor"),
    ("Наталія", "Nataliya"),
];

const FAMILY_RUSSIAN_STYLE: [(&str, &str); 10] = [
    ("Гнатюк", "Gnatyuk"),
    ("Шевченко", "Shevchenko"),
    ("Гончаренко", "Goncharenko"),
    ("Мельник", "Melnik"),
    ("Ковальчук", "Kovalchuk"),
    ("Бондаренко", "Bondarenko"),
    ("Ткаченко", "Tkachenko"),
    ("Литвиненко", "Litvinenko"),
    ("Грищенко", "Grishchenko"),
    ("Кравчук", "Kravchuk"),
];

#[test]
fn ukrainian_cyrillic_links_with_a_russian_style_spelling() {
    // 0.909 with one spelling per name (the Ukrainian one): `hanna`/`ganna`,
    // `hnatiuk`/`gnatyuk` and `mykola`/`mikola` missed.
    let f1 = unprompted_f1(&GIVEN_RUSSIAN_STYLE, &FAMILY_RUSSIAN_STYLE);
    assert!(f1 >= 0.99, "F1 {f1}");
}

#[test]
fn georgian_and_armenian_link_with_their_passport_spelling_unprompted() {
    for (given, family) in [
        (&GEORGIAN_GIVEN, &GEORGIAN_FAMILY),
        (&ARMENIAN_GIVEN, &ARMENIAN_FAMILY),
    ] {
        let f1 = unprompted_f1(given, family);
        assert!(f1 >= 0.99, "{}: F1 {f1}", given[0].1);
    }
}

/// The cross-source F1 of a link between names in their script and their Latin
/// spellings ([`write_pair_sets`]), with no transliteration setting.
fn unprompted_f1(given: &[(&str, &str); 10], family: &[(&str, &str); 10]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    write_pair_sets(dir.path(), given, family);
    f1_of(dir.path(), None)
}

fn f1_of(d: &std::path::Path, transliteration: Option<Scheme>) -> f64 {
    let mut settings = Settings::default();
    settings.resolve.link_type = LinkType::Link;
    settings.normalise.transliteration = transliteration;
    let out = d.join(format!("out-{transliteration:?}"));
    let inputs = vec![d.join("a.csv"), d.join("b.csv")];
    let request = ResolveRequest::new(inputs, settings, out.clone()).unwrap();
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

#[test]
fn arabic_links_with_common_latin_spellings() {
    let f1 = unprompted_f1(&ARABIC_GIVEN, &ARABIC_FAMILY);
    assert!(f1 >= 0.99, "F1 {f1}");
}

/// Hebrew writes a consonantal `ו` in `דוד` (David) and `לוי` (Levi) with the letter that
/// writes a vowel elsewhere (`יוסף`, Yosef): those two names miss their Latin spelling's
/// skeleton, the other eighteen meet it. The 12 people with one of the two are missed
/// (recall 0.8, F1 0.889); no other pair is. No name agrees exactly across the two
/// scripts, so this also needs EM to keep what it learnt of the `similar` level
/// (`Model::unobserved_levels_take_cold_m`).
#[test]
fn hebrew_links_with_common_latin_spellings() {
    let f1 = unprompted_f1(&HEBREW_GIVEN, &HEBREW_FAMILY);
    assert!(f1 >= 0.88, "F1 {f1}");
}

/// The consonant-skeleton blocking rule is added for a run whose names are written
/// without vowels, and only then: a Latin-script run with a few vowel-less typos (under
/// one record in a thousand) keeps its rules.
#[test]
fn only_unvowelled_names_add_the_skeleton_rule() {
    use spirit_engine::prepare::unvowelled_names;
    use spirit_matching::{PrepareOptions, RecordTable};
    use spirit_model::AttrKind;
    let table = |names: &[(&str, &str)]| {
        let records: Vec<Vec<(AttrKind, String)>> = names
            .iter()
            .map(|(g, s)| {
                vec![
                    (AttrKind::GivenName, g.to_string()),
                    (AttrKind::Surname, s.to_string()),
                ]
            })
            .collect();
        RecordTable::build(&records, vec![0; names.len()], &PrepareOptions::default())
    };
    let arabic: Vec<(&str, &str)> = ARABIC_GIVEN
        .iter()
        .zip(ARABIC_FAMILY.iter())
        .flat_map(|(g, s)| [(g.0, s.0), (g.1, s.1)])
        .collect();
    assert!(unvowelled_names(&table(&arabic)));
    let mut latin: Vec<(&str, &str)> = (0..2100).map(|i| (GIVEN_LATIN[i % 12], "Smith")).collect();
    latin.extend([("Jhn", "Smth"); 2]);
    assert!(!unvowelled_names(&table(&latin)));
    latin.extend([("Jhn", "Smth"); 2]);
    assert!(unvowelled_names(&table(&latin)));
}

const GIVEN_LATIN: [&str; 12] = [
    "John", "Mary", "Peter", "Anne", "Lynn", "Ann", "Paul", "Sarah", "David", "Emma", "Wynn",
    "Glyn",
];
