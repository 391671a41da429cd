//! Parsing and validity of telephone numbers against their numbering plans, with the plans'
//! patterns compiled once.
//!
//! [`parse_valid`] gives, for a candidate written as digits (optionally led by '+'), the same
//! answer as `phonenumber::parse` followed by `phonenumber::is_valid` and E.164 formatting,
//! from the same metadata: it takes the crate's parsing steps for a string of digits (the
//! international prefix, the country code, the national prefix and its transform rule, the
//! length checks) and its validity rule (the number's region chosen the same way, valid when
//! the region's general pattern and one of its number types match). The crate parses with
//! nom and looks each pattern up in a regex cache keyed by the pattern text on every call
//! (about 45,000 instructions a number, the most expensive step of extraction); here each
//! region's patterns are compiled once, anchored at the start (the crate accepts a pattern
//! match that starts at offset 0), on first use. Property tests compare the two on random
//! digit strings in every region.

use std::sync::{Arc, LazyLock, Mutex};

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};
use rustc_hash::FxHashMap;

/// One number type: its possible lengths and its national-number pattern.
struct Desc {
    lengths: Vec<u16>,
    re: Regex,
}

impl Desc {
    fn new(d: &Descriptor) -> Option<Desc> {
        Some(Desc {
            lengths: d.possible_length().to_vec(),
            re: anchored(d.national_number().as_str())?,
        })
    }

    /// `phonenumber`'s `Descriptor::is_match`.
    fn is_match(&self, v: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(v.len() as u16))) && self.re.is_match(v)
    }
}

/// The compiled plan of one region.
struct Plan {
    meta: &'static Metadata,
    general: Desc,
    /// The general descriptor's lengths possible for local dialling only.
    general_local: Vec<u16>,
    /// The international dialling prefix (IDD), anchored.
    idd: Option<Regex>,
    national_prefix: Option<String>,
    /// The national prefix for parsing, anchored.
    prefix_for_parsing: Option<Regex>,
    transform_rule: Option<String>,
    /// The types `phonenumber::validator::number_type` tries (mobile, fixed line, toll free,
    /// premium rate, shared cost, VoIP, personal, pager, UAN, voicemail).
    types: Vec<Desc>,
    leading_digits: Option<Regex>,
}

impl Plan {
    fn new(m: &'static Metadata) -> Option<Plan> {
        let d = m.descriptors();
        let mut types = Vec::new();
        // Any match makes the number valid, so the common types go first.
        for t in [
            d.mobile(),
            d.fixed_line(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        {
            types.push(Desc::new(t)?);
        }
        let leading_digits = match m.leading_digits() {
            Some(r) => Some(anchored(r.as_str())?),
            None => None,
        };
        let compile = |r: Option<&str>| match r {
            Some(r) => anchored(r).map(Some),
            None => Some(None),
        };
        Some(Plan {
            meta: m,
            general: Desc::new(d.general())?,
            general_local: d.general().possible_local_length().to_vec(),
            idd: compile(m.international_prefix().map(|r| r.as_str()))?,
            national_prefix: m.national_prefix().map(str::to_string),
            prefix_for_parsing: compile(m.national_prefix_for_parsing().map(|r| r.as_str()))?,
            transform_rule: m.national_prefix_transform_rule().map(str::to_string),
            types,
            leading_digits,
        })
    }

    /// `phonenumber::validator::length(meta, number, Type::Unknown)` for a national number
    /// of `len` digits.
    fn length(&self, len: usize) -> Length {
        let len = len as u16;
        let possible = &self.general.lengths;
        let (Some(&min), Some(&max)) = (possible.first(), possible.last()) else {
            return Length::Invalid;
        };
        if self.general_local.contains(&len) || len == min {
            Length::Possible
        } else if len < min {
            Length::TooShort
        } else if len > max {
            Length::Invalid
        } else if possible.contains(&len) {
            Length::Possible
        } else {
            Length::Invalid
        }
    }

    /// `number_type(meta, v) != Type::Unknown`.
    fn has_type(&self, v: &str) -> bool {
        self.general.is_match(v) && self.types.iter().any(|t| t.is_match(v))
    }
}

/// The pattern as the metadata loader compiles it (whitespace ignored), anchored at the start.
fn anchored(pattern: &str) -> Option<Regex> {
    // The newline ends a trailing comment the pattern might have.
    RegexBuilder::new(&format!("^(?:{pattern}\n)"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

/// Compiled plans by region metadata (keyed by its address in the static database).
static PLANS: LazyLock<Mutex<FxHashMap<usize, Option<Arc<Plan>>>>> =
    LazyLock::new(Default::default);

fn plan(m: &'static Metadata) -> Option<Arc<Plan>> {
    let key = m as *const Metadata as usize;
    let mut plans = PLANS.lock().unwrap_or_else(|e| e.into_inner());
    plans
        .entry(key)
        .or_insert_with(|| Plan::new(m).map(Arc::new))
        .clone()
}

/// The plan of the region `phonenumber::validator::source_for` picks for a number, and
/// whether the number has a type there when that was already found out on the way.
fn source(code: u16, national: &str) -> Option<(Arc<Plan>, Option<bool>)> {
    let regions = DATABASE.region(&code)?;
    if regions.len() == 1 {
        let meta = if regions[0] == "001" {
            DATABASE.by_code(&code)?.into_iter().next()?
        } else {
            regions[0].parse::<phonenumber::country::Id>().ok()?;
            DATABASE.by_id(regions[0])?
        };
        return Some((plan(meta)?, None));
    }
    for region in regions {
        let p = plan(DATABASE.by_id(region)?)?;
        let (hit, typed) = match &p.leading_digits {
            Some(ld) => (ld.is_match(national), None),
            None => {
                let t = p.has_type(national);
                (t, Some(t))
            }
        };
        if hit {
            region.parse::<phonenumber::country::Id>().ok()?;
            return Some((p, typed));
        }
    }
    None
}

/// True when `number` is valid in its numbering plan (as `phonenumber::is_valid`).
#[cfg(test)]
fn is_valid(number: &phonenumber::PhoneNumber) -> bool {
    let national = number.national().to_string();
    source(number.code().value(), &national)
        .is_some_and(|(p, typed)| typed.unwrap_or_else(|| p.has_type(&national)))
}

/// What `phonenumber::validator::length` says, as far as parsing needs it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Length {
    Possible,
    TooShort,
    Invalid,
}

/// Country codes that have metadata (`DATABASE.by_code(code).is_some()`), by code.
static CODES: LazyLock<Vec<bool>> = LazyLock::new(|| {
    (0..1000u16)
        .map(|c| DATABASE.by_code(&c).is_some())
        .collect()
});

fn known_code(code: u16) -> bool {
    CODES.get(usize::from(code)).copied().unwrap_or(false)
}

/// The E.164 form of `digits` (ASCII digits; led by '+' in the written number when `plus`)
/// read in `region`, when it is a valid number: the same as `phonenumber::parse` followed by
/// `phonenumber::is_valid` and E.164 formatting, without the crate's parser (a nom parser
/// and regex-cache lookups that hash each pattern's text on every use, about 40,000
/// instructions a number). Each step below is the crate's step for a string of digits:
/// viability, the international prefix, the country code, the region's national prefix
/// (with its transform rule), the national number's length.
pub(crate) fn parse_valid(
    region: Option<&'static Metadata>,
    plus: bool,
    digits: &str,
) -> Option<String> {
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // `is_viable`: at least three digits (or two without a '+').
    if digits.len() < 2 || (plus && digits.len() < 3) {
        return None;
    }
    let region = match region {
        Some(m) => Some(plan(m)?),
        None => None,
    };
    let mut national: &str = digits;
    // The international dialling prefix of the default region, unless a 0 follows it.
    let mut has_code = plus;
    if let Some(m) = region
        .as_ref()
        .and_then(|p| p.idd.as_ref())
        .and_then(|r| r.find(national))
        && !national[m.end()..].starts_with('0')
    {
        national = &national[m.end()..];
        has_code = true;
    }
    let code = if has_code {
        if national.len() <= 2 || national.starts_with('0') {
            return None;
        }
        let len = (1..=3).find(|&l| national[..l].parse().is_ok_and(known_code))?;
        let code = national[..len].parse().ok()?;
        national = &national[len..];
        code
    } else {
        let p = region.as_ref()?;
        let code = p.meta.country_code();
        let code_str = code.to_string();
        if national.starts_with(&code_str)
            && (!p.general.is_match(national) || p.length(national.len()) != Length::Possible)
        {
            national = &national[code_str.len()..];
        }
        code
    };
    // The region whose national prefix applies.
    let meta = match region {
        Some(p) => Some(p),
        None => source(code, national.trim_start_matches('0')).map(|(p, _)| p),
    };
    let mut national = std::borrow::Cow::Borrowed(national);
    if let Some(p) = meta {
        let mut potential = national_number(&p, &national);
        if let Some(prefix) = &p.national_prefix
            && potential.starts_with(prefix.as_str())
        {
            potential = std::borrow::Cow::Owned(potential[prefix.len()..].to_string());
        }
        if p.length(potential.len()) != Length::TooShort {
            national = std::borrow::Cow::Owned(potential.into_owned());
        }
    }
    if !(2..=17).contains(&national.len()) {
        return None;
    }
    // `NationalNumber`: leading zeros and a value below 2^56.
    let value: u64 = national.trim_start_matches('0').parse().ok()?;
    if value >= 1 << 56 {
        return None;
    }
    let valid = source(code, &national)
        .is_some_and(|(p, typed)| typed.unwrap_or_else(|| p.has_type(&national)));
    valid.then(|| format!("+{code}{national}"))
}

/// `phonenumber::parser::helper::national_number`: the national number without the
/// region's national prefix (and carrier code), transformed by the region's rule.
fn national_number<'a>(p: &Plan, national: &'a str) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    let Some(re) = &p.prefix_for_parsing else {
        return match &p.national_prefix {
            Some(prefix) if national.starts_with(prefix.as_str()) => {
                Cow::Borrowed(&national[prefix.len()..])
            }
            _ => Cow::Borrowed(national),
        };
    };
    let Some(caps) = re.captures(national) else {
        return Cow::Borrowed(national);
    };
    let end = caps.get(0).map_or(0, |m| m.end());
    let last = caps.get(caps.len() - 1);
    match &p.transform_rule {
        Some(rule) if last.is_some() => {
            let viable = p.general.is_match(national);
            let transformed = re.replace(national, rule.as_str()).into_owned();
            if viable && !p.general.is_match(&transformed) {
                Cow::Borrowed(national)
            } else {
                Cow::Owned(transformed)
            }
        }
        _ => Cow::Borrowed(&national[end..]),
    }
}

/// E.164 form of a number (as `phonenumber`'s E.164 formatter writes it).
#[cfg(test)]
fn e164(number: &phonenumber::PhoneNumber) -> String {
    format!("+{}{}", number.code().value(), number.national())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_crate() {
        let mut seen = 0;
        for (region, s) in [
            (Some("GB"), "07911 123456"),
            (Some("GB"), "0161 496 0000"),
            (Some("GB"), "0161 496 000"),
            (Some("US"), "(650) 253-0000"),
            (Some("US"), "253-0000"),
            (None, "+44 7911 123456"),
            (None, "+44 1481 123456"),
            (None, "+44 1624 123456"),
            (None, "+1 242 357 1234"),
            (None, "+7 912 345 67 89"),
            (None, "+7 701 123 4567"),
            (None, "+39 02 3661 8300"),
            (None, "+800 1234 5678"),
            (None, "+979 123456789"),
            (None, "+61 4 1234 5678"),
            (None, "+1 2530000"),
            (None, "+999 1234567"),
        ] {
            let id = region.map(|r| r.parse().unwrap());
            let Ok(p) = phonenumber::parse(id, s) else {
                continue;
            };
            seen += 1;
            assert_eq!(is_valid(&p), phonenumber::is_valid(&p), "{s}");
            assert_eq!(
                e164(&p),
                p.format().mode(phonenumber::Mode::E164).to_string(),
                "{s}"
            );
        }
        assert!(seen >= 15);
    }

    /// Every region id in the metadata.
    fn all_regions() -> Vec<String> {
        let mut v: Vec<String> = (1..1000u16)
            .filter_map(|c| DATABASE.region(&c))
            .flatten()
            .filter(|r| *r != "001")
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// `phonenumber::parse` + `phonenumber::is_valid` + E.164, the reference of [`parse_valid`].
    fn reference(region: Option<&str>, plus: bool, digits: &str) -> Option<String> {
        let id = region.map(|r| r.parse::<phonenumber::country::Id>().unwrap());
        let s = if plus {
            format!("+{digits}")
        } else {
            digits.to_string()
        };
        std::panic::catch_unwind(|| {
            let p = phonenumber::parse(id, &s).ok()?;
            phonenumber::is_valid(&p).then(|| p.format().mode(phonenumber::Mode::E164).to_string())
        })
        .ok()
        .flatten()
    }

    fn fast(region: Option<&str>, plus: bool, digits: &str) -> Option<String> {
        parse_valid(region.and_then(|r| DATABASE.by_id(r)), plus, digits)
    }

    #[test]
    fn every_region_compiles() {
        let regions = all_regions();
        assert!(regions.len() > 200, "{}", regions.len());
        for r in &regions {
            let m = DATABASE.by_id(r.as_str()).unwrap();
            assert!(plan(m).is_some(), "{r}");
        }
    }

    #[test]
    fn parse_valid_examples() {
        for (region, plus, digits) in [
            (Some("GB"), false, "07911123456"),
            (Some("GB"), false, "01614960000"),
            (Some("GB"), false, "0161496000"),
            (Some("US"), false, "6502530000"),
            (Some("US"), false, "0116502530000"),
            (Some("US"), false, "011447911123456"),
            (Some("AR"), false, "0111512345678"),
            (Some("MX"), false, "0445512345678"),
            (Some("BR"), false, "0211155512345"),
            (Some("DE"), false, "030123456"),
            (Some("IT"), false, "0236618300"),
            (None, true, "447911123456"),
            (None, true, "12423571234"),
            (None, true, "79123456789"),
            (None, true, "80012345678"),
            (None, true, "390236618300"),
            (None, true, "5491112345678"),
            (None, true, "0447911123456"),
            (None, true, "99912345"),
        ] {
            assert_eq!(
                fast(region, plus, digits),
                reference(region, plus, digits),
                "{region:?} {plus} {digits}"
            );
        }
        assert_eq!(
            fast(Some("GB"), false, "07911123456").as_deref(),
            Some("+447911123456")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]
        /// Random digit strings, in every region and international: the same E.164 value (or
        /// none) as the crate's parser and validator.
        #[test]
        fn parse_valid_agrees(
            region in proptest::option::of(proptest::sample::select(all_regions())),
            plus in proptest::bool::ANY,
            lead in proptest::sample::select(vec!["", "0", "00", "011", "1", "44", "7", "39", "49", "54", "52", "55", "86", "91", "800", "979", "8"]),
            digits in "[0-9]{0,14}",
        ) {
            let d = format!("{lead}{digits}");
            proptest::prop_assert_eq!(
                fast(region.as_deref(), plus, &d),
                reference(region.as_deref(), plus, &d),
                "{:?} {} {}", region, plus, d
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 1000, ..Default::default() })]
        /// Random digit strings, national in a few regions and international: the same
        /// verdict and the same E.164 form as the crate.
        #[test]
        fn random_numbers_agree(
            region in proptest::sample::select(vec!["", "GB", "US", "DE", "IT", "RU", "IN", "BR", "FR", "AU", "CN", "JE"]),
            lead in proptest::sample::select(vec!["+1", "+44", "+7", "+39", "+49", "+86", "+91", "+800", "+979", "+", "0", "00", ""]),
            digits in "[0-9]{5,13}",
        ) {
            let id = if region.is_empty() { None } else { Some(region.parse().unwrap()) };
            let s = format!("{lead}{digits}");
            if let Ok(p) = phonenumber::parse(id, &s) {
                let want = phonenumber::is_valid(&p);
                proptest::prop_assert_eq!(is_valid(&p), want, "{}", s);
                if want {
                    proptest::prop_assert_eq!(
                        e164(&p),
                        p.format().mode(phonenumber::Mode::E164).to_string()
                    );
                }
            }
        }
    }
}
