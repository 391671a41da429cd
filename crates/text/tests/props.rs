//! Property tests for spirit-text: idempotence, output alphabets, round trips, symmetry, and
//! that no public function panics on arbitrary input.

use proptest::prelude::*;
use spirit_text::dates::TWO_DIGIT_YEAR_PIVOT;
use spirit_text::{
    DateOrder, PartialDate, PhoneNormaliser, address_numbers, are_name_variants, double_metaphone,
    fold, nickname_groups, normalise_address, normalise_email, normalise_name, normalise_phone,
    normalise_postcode, parse_date, split_email, split_full_name,
};

/// Inputs that look like names: letters of several scripts, apostrophes, hyphens, particles,
/// titles, initials.
fn name_like() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[A-Za-z]{1,8}",
        "[a-z]{1,2}",
        Just("van".to_string()),
        Just("der".to_string()),
        Just("de".to_string()),
        Just("la".to_string()),
        Just("o".to_string()),
        Just("saint".to_string()),
        Just("St.".to_string()),
        Just("Mr".to_string()),
        Just("Dr.".to_string()),
        Just("Sir".to_string()),
        Just("Jr".to_string()),
        Just("III".to_string()),
        Just("md".to_string()),
        Just("da".to_string()),
        Just("me".to_string()),
        Just("l".to_string()),
        Just("brien".to_string()),
        Just("null".to_string()),
        "[À-ÿ]{1,6}",
        "[А-я]{1,6}",
        "[α-ω]{1,6}",
        "[一-龥]{1,3}",
        "[ء-ي]{1,5}",
    ];
    let sep = prop_oneof![
        Just(" "),
        Just("  "),
        Just("-"),
        Just("'"),
        Just("’"),
        Just(", "),
        Just(". ")
    ];
    prop::collection::vec((word, sep), 0..6).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, s)| format!("{w}{s}"))
            .collect::<String>()
    })
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "\\PC*", name_like()]
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn valid_ymd() -> impl Strategy<Value = (u16, u8, u8)> {
    (1000u16..=2100, 1u8..=12, 1u8..=31).prop_filter("valid date", |&(y, m, d)| {
        PartialDate::new(Some(y), Some(m), Some(d)).is_some()
    })
}

fn ordinal(d: u8) -> &'static str {
    match (d % 10, d % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

fn is_phone_shaped(p: &str) -> bool {
    let digits = p.strip_prefix('+').unwrap_or(p);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fold_is_idempotent_and_ascii(s in any_text()) {
        let once = fold(&s);
        prop_assert_eq!(fold(&once), once.clone());
        prop_assert!(once.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
        prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
    }

    #[test]
    fn normalise_name_is_idempotent(s in any_text()) {
        if let Some(once) = normalise_name(&s) {
            prop_assert!(!once.is_empty());
            prop_assert_eq!(normalise_name(&once), Some(once.clone()), "input {:?}", s);
        }
    }

    #[test]
    fn split_full_name_outputs_are_normalised(s in any_text()) {
        let (given, surname) = split_full_name(&s);
        for part in [given, surname].into_iter().flatten() {
            prop_assert_eq!(normalise_name(&part), Some(part.clone()), "input {:?}", s);
        }
    }

    #[test]
    fn are_name_variants_is_symmetric(
        a in prop_oneof![
            prop::sample::select(vec![
                "bill", "william", "liam", "harry", "henry", "harold", "alex", "alexander",
                "alexandra", "sasha", "chris", "christine", "christina", "christopher", "jan",
                "jane", "johann", "kate", "katya", "mo", "mohammed", "", "zzz", "al", "ali",
            ]).prop_map(str::to_string),
            any_text(),
        ],
        b in prop_oneof![
            prop::sample::select(vec![
                "billy", "will", "hal", "harry", "alec", "sandy", "kit", "tina", "jenny",
                "hans", "cathy", "ekaterina", "muhammad", "", "zzz", "albert", "alison",
            ]).prop_map(str::to_string),
            any_text(),
        ],
    ) {
        prop_assert_eq!(are_name_variants(&a, &b), are_name_variants(&b, &a));
        prop_assert_eq!(are_name_variants(&a, &a), !a.is_empty());
    }

    #[test]
    fn nickname_groups_are_sorted_and_unique(s in any_text()) {
        let g = nickname_groups(&s);
        prop_assert!(g.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn double_metaphone_codes_are_short_uppercase_ascii(s in any_text()) {
        let (p, a) = double_metaphone(&s);
        for code in [&p, &a] {
            prop_assert!(code.len() <= 4);
            prop_assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
        prop_assert_eq!(p.is_empty(), a.is_empty());
    }

    #[test]
    fn phone_output_is_digits_with_optional_plus(
        s in prop_oneof![any_text(), "[+0-9 ().-]{0,30}", "(tel:|00|\\+)?[0-9]{6,16}( ?(x|ext) ?[0-9]{1,4})?"],
        region in prop::sample::select(vec!["GB", "US", "AU", "DE", "FR", "IN", "BR", "", "zz", "uk"]),
    ) {
        if let Some(p) = normalise_phone(&s, region) {
            prop_assert!(is_phone_shaped(&p), "{:?} -> {:?}", s, p);
            let digits = p.trim_start_matches('+').len();
            prop_assert!((6..=17).contains(&digits), "{:?} -> {:?}", s, p);
        }
    }

    #[test]
    fn phone_normalisation_is_idempotent(
        s in "(\\+|00)?[0-9]{6,15}",
        region in prop::sample::select(vec![
            "GB", "US", "AU", "DE", "FR", "IT", "ES", "NL", "IN", "BR", "MX", "RU", "CN", "JP",
            "NG", "ZA", "AR", "AS", "JE", "",
        ]),
    ) {
        let n = PhoneNormaliser::new(region);
        if let Some(once) = n.normalise(&s) {
            prop_assert_eq!(n.normalise(&once), Some(once.clone()), "input {:?}", s);
        }
    }

    #[test]
    fn postcode_output_is_uppercase_alphanumeric(s in any_text()) {
        if let Some(p) = normalise_postcode(&s) {
            prop_assert!(!p.is_empty());
            prop_assert!(p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            prop_assert_eq!(normalise_postcode(&p), Some(p.clone()));
        }
    }

    #[test]
    fn address_normalisation_is_idempotent(s in any_text()) {
        if let Some(a) = normalise_address(&s) {
            prop_assert_eq!(normalise_address(&a), Some(a.clone()));
            for n in address_numbers(&a) {
                prop_assert!(n.as_bytes()[0].is_ascii_digit());
            }
        }
    }

    #[test]
    fn email_normalisation_is_idempotent(
        s in prop_oneof![
            "[ <\"]{0,2}(mailto:)?[A-Za-z0-9._%+-]{1,12}@[A-Za-z0-9-]{1,10}(\\.[A-Za-z]{2,4}){1,2}[ >.]{0,2}",
            any_text(),
        ],
    ) {
        if let Some(e) = normalise_email(&s) {
            prop_assert_eq!(e.matches('@').count(), 1);
            prop_assert!(split_email(&e).is_some());
            if e.is_ascii() {
                prop_assert_eq!(normalise_email(&e), Some(e.clone()));
            }
        }
    }

    #[test]
    fn nothing_panics_on_arbitrary_input(s in any_text(), t in any_text()) {
        let _ = fold(&s);
        let _ = normalise_name(&s);
        let _ = split_full_name(&s);
        let _ = nickname_groups(&s);
        let _ = are_name_variants(&s, &t);
        let _ = double_metaphone(&s);
        for order in [DateOrder::Dmy, DateOrder::Mdy, DateOrder::Ymd] {
            if let Some(d) = parse_date(&s, order) {
                prop_assert!(PartialDate::new(d.year, d.month, d.day).is_some());
                prop_assert_eq!(d.key().len(), 8);
            }
        }
        let _ = normalise_phone(&s, &t);
        let _ = PhoneNormaliser::new(&s).normalise(&t);
        let _ = normalise_email(&s);
        let _ = split_email(&s);
        let _ = normalise_postcode(&s);
        let _ = normalise_address(&s);
        let _ = address_numbers(&s);
    }

    #[test]
    fn parse_date_round_trips_numeric_formats((y, m, d) in valid_ymd()) {
        let want = Some(PartialDate { year: Some(y), month: Some(m), day: Some(d) });
        let cases = [
            (format!("{y:04}-{m:02}-{d:02}"), DateOrder::Dmy),
            (format!("{y:04}-{m:02}-{d:02}"), DateOrder::Mdy),
            (format!("{y:04}/{m:02}/{d:02}"), DateOrder::Ymd),
            (format!("{y}.{m}.{d}"), DateOrder::Dmy),
            (format!("{y:04}-{m:02}-{d:02}T12:34:56Z"), DateOrder::Dmy),
            (format!("{y:04}-{m:02}-{d:02}T12:34:56.789+05:30"), DateOrder::Mdy),
            (format!("{y:04}-{m:02}-{d:02} 10:20"), DateOrder::Dmy),
            (format!("{d:02}/{m:02}/{y}"), DateOrder::Dmy),
            (format!("{m:02}/{d:02}/{y}"), DateOrder::Mdy),
            (format!("{d}-{m}-{y}"), DateOrder::Dmy),
            (format!("{d:02}.{m:02}.{y}"), DateOrder::Dmy),
            (format!("{d:02}/{m:02}/{y} 23:59:59"), DateOrder::Dmy),
            (format!("{y:04}{m:02}{d:02}"), DateOrder::Dmy),
            (format!("{y:04}{m:02}{d:02}"), DateOrder::Mdy),
        ];
        for (s, order) in cases {
            prop_assert_eq!(parse_date(&s, order), want, "{:?} {:?}", s, order);
        }
    }

    #[test]
    fn parse_date_round_trips_month_names((y, m, d) in valid_ymd(), order in prop::sample::select(vec![DateOrder::Dmy, DateOrder::Mdy, DateOrder::Ymd])) {
        let want = Some(PartialDate { year: Some(y), month: Some(m), day: Some(d) });
        let full = MONTHS[usize::from(m - 1)];
        let abbr = &full[..3];
        let upper = abbr.to_uppercase();
        let suffix = ordinal(d);
        let cases = [
            format!("{d} {abbr} {y}"),
            format!("{d}{suffix} {full} {y}"),
            format!("{d}{suffix} of {full}, {y}"),
            format!("{full} {d}, {y}"),
            format!("{full} {d}{suffix} {y}"),
            format!("{d:02}-{upper}-{y}"),
            format!("{d:02}{upper}{y}"),
            format!("{y} {abbr} {d}"),
        ];
        for s in cases {
            prop_assert_eq!(parse_date(&s, order), want, "{:?} {:?}", s, order);
        }
    }

    #[test]
    fn parse_date_round_trips_partial_and_two_digit_years(
        (y, m, d) in valid_ymd(),
        yy_year in (1900 + TWO_DIGIT_YEAR_PIVOT + 1)..=(2000 + TWO_DIGIT_YEAR_PIVOT),
    ) {
        let full = MONTHS[usize::from(m - 1)];
        let ym = Some(PartialDate { year: Some(y), month: Some(m), day: None });
        prop_assert_eq!(parse_date(&format!("{y}"), DateOrder::Dmy),
            Some(PartialDate { year: Some(y), month: None, day: None }));
        prop_assert_eq!(parse_date(&format!("{y}-{m:02}"), DateOrder::Dmy), ym);
        prop_assert_eq!(parse_date(&format!("{m:02}/{y}"), DateOrder::Mdy), ym);
        prop_assert_eq!(parse_date(&format!("{full} {y}"), DateOrder::Dmy), ym);

        // Two-digit years inside the pivot window come back as the same four-digit year.
        if let Some(want) = PartialDate::new(Some(yy_year), Some(m), Some(d)) {
            let yy = yy_year % 100;
            prop_assert_eq!(parse_date(&format!("{d:02}/{m:02}/{yy:02}"), DateOrder::Dmy), Some(want));
            prop_assert_eq!(parse_date(&format!("{m:02}/{d:02}/{yy:02}"), DateOrder::Mdy), Some(want));
            prop_assert_eq!(parse_date(&format!("{d} {full} {yy:02}"), DateOrder::Dmy), Some(want));
        }
    }
}
