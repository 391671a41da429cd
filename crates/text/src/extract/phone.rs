//! Validity of a parsed telephone number against its numbering plan, with the plan's
//! patterns compiled once.
//!
//! [`is_valid`] gives the same answer as `phonenumber::is_valid` (the number's region is
//! chosen the same way, and a number is valid when it matches the region's general pattern
//! and one of its number types), from the same metadata. The crate looks each pattern up in
//! a regex cache keyed by the pattern text on every call, which made validation the most
//! expensive step of extraction; here each region's patterns are compiled once, anchored at
//! the start (the crate accepts a pattern match that starts at offset 0), on first use.

use std::sync::{Arc, LazyLock, Mutex};

use phonenumber::PhoneNumber;
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
    general: Desc,
    /// The types `phonenumber::validator::number_type` tries (mobile, fixed line, toll free,
    /// premium rate, shared cost, VoIP, personal, pager, UAN, voicemail).
    types: Vec<Desc>,
    leading_digits: Option<Regex>,
}

impl Plan {
    fn new(m: &Metadata) -> Option<Plan> {
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
        Some(Plan {
            general: Desc::new(d.general())?,
            types,
            leading_digits,
        })
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
pub(crate) fn is_valid(number: &PhoneNumber) -> bool {
    let national = number.national().to_string();
    source(number.code().value(), &national)
        .is_some_and(|(p, typed)| typed.unwrap_or_else(|| p.has_type(&national)))
}

/// E.164 form of a number (as `phonenumber`'s E.164 formatter writes it).
pub(crate) fn e164(number: &PhoneNumber) -> String {
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
