//! Telephone numbers.
//!
//! Numbers are normalised to E.164 ("+441632960123") with the `phonenumber` crate (Google's
//! libphonenumber metadata), interpreting national numbers in a default region. Numbers the
//! metadata cannot place still normalise to their digits, so that two records holding the same
//! unusual number continue to agree.
//!
//! Before the crate sees a number SPIRIT reduces it to an optional '+' and at most
//! [`MAX_DIGITS`] ASCII digits: formatting (spaces, dots, dashes, parentheses, "(0)", "tel:")
//! and extensions ("x123", "ext. 9", ";ext=", "#") are removed first. This keeps the crate's
//! parser on a narrow, well-tested input.

use std::panic::{AssertUnwindSafe, catch_unwind};

use phonenumber::PhoneNumber;
use phonenumber::country::Id;
use phonenumber::metadata::{DATABASE, Metadata};

/// Numbers with more digits than this are not telephone numbers (E.164 allows 15; a trunk
/// prefix or an international access code adds a few).
pub const MAX_DIGITS: usize = 17;

/// Shortest digit string accepted as a telephone number.
pub const MIN_DIGITS: usize = 6;

/// Longest digit string returned when the number cannot be normalised to E.164.
pub const MAX_FALLBACK_DIGITS: usize = 15;

/// Normalises a telephone number to E.164, reading national numbers in `default_region`.
///
/// `default_region` is an ISO 3166 alpha-2 code ("GB", "US", "AU"; "UK" is accepted for GB);
/// an unknown or empty region means "no default region", so only numbers written with their
/// country code ('+' or a leading "00") can be placed.
///
/// - The result is E.164 when the number parses and has a possible length for its country.
///   Validity against the numbering plan is not required, so numbers in reserved or fictional
///   ranges (such as UK drama numbers, +44 1632 960xxx) still normalise the same way whether
///   written nationally or internationally.
/// - Otherwise, a number with [`MIN_DIGITS`]..=[`MAX_FALLBACK_DIGITS`] digits normalises to
///   its digits, keeping a leading '+' if one was written (or an international access code
///   such as "00" was).
/// - Fewer digits, or too many, give `None`.
///
/// The output contains only ASCII digits and an optional leading '+'.
///
/// ```
/// use spirit_text::normalise_phone;
/// assert_eq!(normalise_phone("01632 960123", "GB"), Some("+441632960123".into()));
/// assert_eq!(normalise_phone("(415) 555-2671", "US"), Some("+14155552671".into()));
/// assert_eq!(normalise_phone("0044 1632 960123", "US"), Some("+441632960123".into()));
/// assert_eq!(normalise_phone("123", "GB"), None);
/// ```
pub fn normalise_phone(s: &str, default_region: &str) -> Option<String> {
    PhoneNormaliser::new(default_region).normalise(s)
}

/// A telephone-number normaliser with its default region resolved once; see
/// [`normalise_phone`]. Cheap to copy and safe to share between threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhoneNormaliser {
    region: Option<Id>,
    /// The region's international access code when it is plain digits ("011" for US), or
    /// empty; `idd_len` bytes of it are used.
    idd: [u8; 4],
    idd_len: u8,
}

impl PhoneNormaliser {
    /// A normaliser for national numbers of `default_region` (ISO 3166 alpha-2, any case;
    /// "UK" means GB). An unknown region gives a normaliser without a default region.
    pub fn new(default_region: &str) -> PhoneNormaliser {
        let code = default_region.trim();
        let mut upper = [0u8; 2];
        let region = if code.len() == 2 && code.is_ascii() {
            upper.copy_from_slice(code.as_bytes());
            upper.make_ascii_uppercase();
            let code = match &upper {
                b"UK" => "GB",
                other => std::str::from_utf8(other).unwrap_or(""),
            };
            // Only regions the metadata knows: the parser expects metadata for its region.
            code.parse::<Id>()
                .ok()
                .filter(|id| DATABASE.by_id(id.as_ref()).is_some())
        } else {
            None
        };
        let mut idd = [0u8; 4];
        let mut idd_len = 0u8;
        // The preferred prefix when the metadata has one, else the prefix pattern when it is a
        // plain digit string ("011" for the US); patterns with alternatives are left to the
        // parser.
        let prefix = region
            .and_then(|id| DATABASE.by_id(id.as_ref()))
            .and_then(|meta| {
                meta.preferred_international_prefix()
                    .or_else(|| meta.international_prefix().map(|re| re.as_str()))
            });
        if let Some(prefix) = prefix
            && (1..=idd.len()).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_digit())
        {
            idd[..prefix.len()].copy_from_slice(prefix.as_bytes());
            idd_len = u8::try_from(prefix.len()).unwrap_or(0);
        }
        PhoneNormaliser {
            region,
            idd,
            idd_len,
        }
    }

    /// Normalises one number; see [`normalise_phone`].
    pub fn normalise(&self, s: &str) -> Option<String> {
        let mut digits = Digits::extract(s)?;
        digits.strip_access_code(&self.idd[..usize::from(self.idd_len)]);
        let n = digits.len;
        if n < MIN_DIGITS {
            return None;
        }
        // A number written with its country code ('+', "00" or the region's access code) is
        // parsed in the main region of that country code, not in the default region: the
        // `phonenumber` parser applies the given region's national-prefix rules even to a
        // foreign number ("+44 1632 …" read with region US loses its "1").
        let region = if digits.plus {
            region_of_code(digits.as_str(), self.region)
        } else {
            self.region
        };
        if let Some(e164) = to_e164(region, digits.as_str()) {
            return Some(e164);
        }
        (n <= MAX_FALLBACK_DIGITS).then(|| digits.as_str().to_string())
    }
}

/// The region to parse an international number ("+" and digits) in: `default` when the number
/// starts with its country code, else the main region of the number's country code, else none
/// (non-geographic codes such as +800). Parsing in a region spares the parser its costly
/// search for the region, and gives the same result for the same number whatever the default.
fn region_of_code(international: &str, default: Option<Id>) -> Option<Id> {
    let digits = international.strip_prefix('+')?;
    let default_meta = default.and_then(|r| DATABASE.by_id(r.as_ref()));
    for len in 1..=3.min(digits.len()) {
        let Ok(code) = digits[..len].parse::<u16>() else {
            return None;
        };
        if let Some(meta) = default_meta
            && meta.country_code() == code
            && meta.is_main_country_for_code()
        {
            return default;
        }
        if let Some(metas) = DATABASE.by_code(&code) {
            let main = metas
                .iter()
                .find(|m| m.is_main_country_for_code())
                .or_else(|| metas.first())?;
            return main.id().parse::<Id>().ok();
        }
    }
    None
}

/// E.164 form of `number` ('+' and ASCII digits) when it parses in `region`, has a possible
/// length for its country, and reads back as itself.
///
/// Validity against the numbering plan (`PhoneNumber::is_valid`) is deliberately not
/// required: it is the most expensive call of the crate, valid numbers always have a possible
/// length, and numbers in reserved or fictional ranges should normalise too.
fn to_e164(region: Option<Id>, number: &str) -> Option<String> {
    // The parser is fed '+' and ASCII digits only; should it still fail unexpectedly, the
    // number falls back to its digits rather than taking the caller down.
    catch_unwind(AssertUnwindSafe(|| {
        let parsed = phonenumber::parse(region, number).ok()?;
        if !has_possible_length(&parsed, region) {
            return None;
        }
        let out = e164(&parsed);
        if out == number {
            // Written in E.164 already, and it reads as itself.
            return Some(out);
        }
        // The parser's handling of leading zeros and trunk prefixes is not always stable
        // ("+49000010" reads back as "+490010"); keep only results that read back as
        // themselves, so that normalising a normalised number changes nothing.
        let again = phonenumber::parse(region_of_code(&out, region), &out).ok()?;
        (e164(&again) == out).then_some(out)
    }))
    .ok()
    .flatten()
}

/// "+", country code, national significant number (with its leading zeros).
fn e164(number: &PhoneNumber) -> String {
    use std::fmt::Write;
    let national = number.national();
    let mut out = String::with_capacity(20);
    let _ = write!(out, "+{}", number.code().value());
    for _ in 0..national.zeros() {
        out.push('0');
    }
    let _ = write!(out, "{}", national.value());
    out
}

/// True when the national number's length is possible for the number's country: in the
/// default region when the country code is the region's own (checking every region that shares
/// a country code would accept, say, a 7-digit local number as a full NANP number), else in any
/// region of the country code. Uses no regular expressions.
fn has_possible_length(number: &PhoneNumber, region: Option<Id>) -> bool {
    let national = number.national();
    let mut len = usize::from(national.zeros());
    let mut v = national.value();
    if v == 0 {
        len += 1;
    }
    while v > 0 {
        len += 1;
        v /= 10;
    }
    let Ok(len) = u16::try_from(len) else {
        return false;
    };
    let code = number.code().value();
    if let Some(meta) = region
        .and_then(|r| DATABASE.by_id(r.as_ref()))
        .filter(|m| m.country_code() == code)
    {
        return length_possible(meta, len);
    }
    DATABASE
        .by_code(&code)
        .is_some_and(|metas| metas.iter().any(|m| length_possible(m, len)))
}

/// True when some number type of the region allows national numbers of `len` digits (the
/// general descriptor of this metadata carries no lengths, the per-type ones do).
fn length_possible(meta: &Metadata, len: u16) -> bool {
    let d = meta.descriptors();
    let general = d.general().possible_length();
    if general.contains(&len) {
        return true;
    }
    [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
    .any(|t| t.possible_length().contains(&len))
}

/// An optional '+' and up to [`MAX_DIGITS`] ASCII digits, on the stack: `buf[0]` is always
/// '+', the digits are `buf[1..=len]`.
struct Digits {
    buf: [u8; MAX_DIGITS + 1],
    plus: bool,
    len: usize,
}

impl Digits {
    /// Extracts the number from formatted text; `None` when it has more than [`MAX_DIGITS`]
    /// digits (before any extension).
    fn extract(s: &str) -> Option<Digits> {
        let mut d = Digits {
            buf: [b'+'; MAX_DIGITS + 1],
            plus: false,
            len: 0,
        };
        let mut chars = s.chars().peekable();
        let mut seen_digit = false;
        while let Some(c) = chars.next() {
            if let Some(v) = digit_value(c) {
                seen_digit = true;
                if d.len == MAX_DIGITS {
                    return None;
                }
                d.len += 1;
                d.buf[d.len] = b'0' + v;
                continue;
            }
            if !seen_digit {
                // Labels and prefixes before the number ("Tel:", "Phone", "☎").
                if c == '+' || c == '\u{FF0B}' {
                    d.plus = true;
                }
                continue;
            }
            match c {
                // "+44 (0) 20 …": the (0) is a trunk prefix that is not dialled from abroad.
                '(' if d.plus => {
                    let mut ahead = chars.clone();
                    if ahead.next().and_then(digit_value) == Some(0) && ahead.next() == Some(')') {
                        chars = ahead;
                    }
                }
                c if c.is_whitespace() => {}
                '-' | '.' | '/' | '(' | ')' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{00B7}' => {
                }
                // Anything else ends the number: "x123", "ext. 9", ";ext=9", "#9", ", 2nd line".
                _ => break,
            }
        }
        Some(d)
    }

    /// Treats a leading international access code like a '+': the default region's own
    /// ("011" in the US, "0011" in Australia), else "00", which most of the world dials. The
    /// digits after it must not start with 0 (country codes never do).
    fn strip_access_code(&mut self, region_idd: &[u8]) {
        if !self.plus && !self.strip_prefix(region_idd) {
            self.strip_prefix(b"00");
        }
    }

    fn strip_prefix(&mut self, prefix: &[u8]) -> bool {
        let n = prefix.len();
        if n == 0 || self.len <= n + 1 {
            return false;
        }
        let digits = &self.buf[1..=self.len];
        if !digits.starts_with(prefix) || digits[n] == b'0' {
            return false;
        }
        self.buf.copy_within(1 + n..=self.len, 1);
        self.len -= n;
        self.plus = true;
        true
    }

    fn as_str(&self) -> &str {
        let start = usize::from(!self.plus);
        // Only '+' and ASCII digits are ever stored, so this never fails.
        std::str::from_utf8(&self.buf[start..=self.len]).unwrap_or("")
    }
}

/// Value of a decimal digit in ASCII, full-width, Arabic-Indic, Extended Arabic-Indic
/// (Persian/Urdu), Devanagari or Bengali script.
pub(crate) fn digit_value(c: char) -> Option<u8> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}',
        '\u{0660}'..='\u{0669}' => '\u{0660}',
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}',
        '\u{0966}'..='\u{096F}' => '\u{0966}',
        '\u{09E6}'..='\u{09EF}' => '\u{09E6}',
        _ => return None,
    };
    u8::try_from(c as u32 - zero as u32).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, region: &str) -> Option<String> {
        normalise_phone(s, region)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn national_numbers_in_their_region() {
        assert_eq!(p("020 7946 0958", "GB"), some("+442079460958"));
        assert_eq!(p("01632 960123", "GB"), some("+441632960123"));
        assert_eq!(p("07700 900123", "gb"), some("+447700900123"));
        assert_eq!(p("(415) 555-2671", "US"), some("+14155552671"));
        assert_eq!(p("415.555.2671", "US"), some("+14155552671"));
        assert_eq!(p("0412 345 678", "AU"), some("+61412345678"));
        assert_eq!(p("030 12345678", "DE"), some("+493012345678"));
        assert_eq!(p("01 42 68 53 00", "FR"), some("+33142685300"));
    }

    #[test]
    fn national_forms_of_many_countries() {
        for (s, region, want) in [
            ("06 6982 0000", "IT", "+390669820000"),
            ("+39 06 6982 0000", "", "+390669820000"),
            ("03-1234-5678", "JP", "+81312345678"),
            ("098765 43210", "IN", "+919876543210"),
            ("(11) 91234-5678", "BR", "+5511912345678"),
            ("8 (495) 123-45-67", "RU", "+74951234567"),
            ("+7 495 123 45 67", "", "+74951234567"),
            ("020 123 4567", "NL", "+31201234567"),
            ("(021) 123 4567", "ZA", "+27211234567"),
            ("0803 123 4567", "NG", "+2348031234567"),
            ("55 1234 5678", "MX", "+525512345678"),
            ("0171 1234567", "DE", "+491711234567"),
        ] {
            assert_eq!(p(s, region), some(want), "{s:?} in {region:?}");
            assert_eq!(p(want, region), some(want), "{want:?} in {region:?}");
        }
    }

    #[test]
    fn international_forms_agree() {
        let want = some("+441632960123");
        for s in [
            "+44 1632 960123",
            "+44 (0) 1632 960123",
            "+44(0)1632-960-123",
            "0044 1632 960123",
            "tel:+441632960123",
            "Tel: +44 1632 960123",
            "+44 1632 960123 ext. 45",
            "+44 1632 960123 x45",
            "+44 1632 960123;ext=45",
            "+44 1632 960123 #45",
            "＋４４　１６３２　９６０１２３",
        ] {
            for region in ["GB", "US", "", "ZZ"] {
                assert_eq!(p(s, region), want, "{s:?} in {region:?}");
            }
        }
        assert_eq!(p("011 44 20 7946 0958", "US"), some("+442079460958"));
        assert_eq!(p("0011 44 20 7946 0958", "AU"), some("+442079460958"));
        // An access-code-dialled number keeps the country's own trunk-prefix rules.
        assert_eq!(p("011 27 010000", "US"), p("+27 010000", ""));
        assert_eq!(p("UK: 020 7946 0958", "uk"), some("+442079460958"));
    }

    #[test]
    fn other_scripts_digits() {
        assert_eq!(p("٠٢٠ ٧٩٤٦ ٠٩٥٨", "GB"), some("+442079460958"));
        assert_eq!(p("+۴۴ ۲۰ ۷۹۴۶ ۰۹۵۸", ""), some("+442079460958"));
    }

    #[test]
    fn unplaceable_numbers_fall_back_to_digits() {
        // National number without a region.
        assert_eq!(p("01632 960123", ""), some("01632960123"));
        assert_eq!(p("01632 960123", "XX"), some("01632960123"));
        // Too short for the region's numbering plan, but six digits or more.
        assert_eq!(p("123456", "GB"), some("123456"));
        assert_eq!(p("+999 123 4567", "GB"), some("+9991234567"));
    }

    #[test]
    fn rejects_short_long_and_empty() {
        assert_eq!(p("", "GB"), None);
        assert_eq!(p("12345", "GB"), None);
        assert_eq!(p("phone: n/a", "GB"), None);
        assert_eq!(p("1234567890123456789012", "GB"), None);
        assert_eq!(p("Иван", "RU"), None);
    }

    #[test]
    fn normaliser_is_reusable_and_matches_function() {
        let gb = PhoneNormaliser::new("GB");
        for s in ["020 7946 0958", "+1 650 253 0000", "123456", "x"] {
            assert_eq!(gb.normalise(s), normalise_phone(s, "GB"));
        }
        assert_eq!(PhoneNormaliser::new("uk"), PhoneNormaliser::new("GB"));
        assert_eq!(PhoneNormaliser::new("nowhere"), PhoneNormaliser::new(""));
    }

    #[test]
    fn idempotent_on_outputs() {
        for (s, r) in [
            ("020 7946 0958", "GB"),
            ("01632 960123", ""),
            ("123456", "GB"),
        ] {
            let once = p(s, r).unwrap_or_default();
            assert_eq!(p(&once, r), Some(once.clone()), "{s}");
        }
    }
}
