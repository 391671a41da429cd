//! Dates (of birth, of events) written in the many ways records write them.
//!
//! [`parse_date`] reads numeric dates in ISO, European and US orders, compact "YYYYMMDD",
//! dates with month names (English, and French, German, Spanish, Italian, Portuguese and
//! Dutch month names), timestamps (the time is ignored) and partial dates ("Mar 1980", "1980").
//! The result is a [`PartialDate`]: unknown parts stay `None`, and [`PartialDate::key`] gives a
//! fixed-width sortable key for blocking.
//!
//! The parser never reads the clock. Two-digit years are resolved with the fixed pivot
//! [`TWO_DIGIT_YEAR_PIVOT`]: `00..=30` → 2000..=2030, `31..=99` → 1931..=1999.

use crate::phone::digit_value;

/// Two-digit years up to this value are 20yy, larger ones 19yy.
pub const TWO_DIGIT_YEAR_PIVOT: u16 = 30;

/// Earliest year accepted.
pub const MIN_YEAR: u16 = 1000;

/// Latest year accepted.
pub const MAX_YEAR: u16 = 2100;

/// Longest input considered (longer strings are not dates).
const MAX_INPUT_BYTES: usize = 128;

/// A date whose parts may be unknown ("1980", "March 1980", "5 March").
///
/// Every `PartialDate` produced by this crate is valid: the year is in
/// [`MIN_YEAR`]..=[`MAX_YEAR`], the month in 1..=12, the day exists in that month (29 February
/// only in leap years, or when the year is unknown), and a day is only known with its month.
/// Ordering is by year, then month, then day, with unknown parts first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    /// Year, 1000..=2100.
    pub year: Option<u16>,
    /// Month, 1..=12.
    pub month: Option<u8>,
    /// Day of the month, 1..=31.
    pub day: Option<u8>,
}

/// How to read an all-numeric date whose order is ambiguous (both of the first two numbers
/// ≤ 12, or all three numbers two digits long).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DateOrder {
    /// Day, month, year: "05/03/1980" is 5 March 1980 (most of the world).
    #[default]
    Dmy,
    /// Month, day, year: "05/03/1980" is 3 May 1980 (United States).
    Mdy,
    /// Year, month, day: "80/03/05" is 5 March 1980. Dates written with the year last are
    /// read as day, month, year.
    Ymd,
}

impl PartialDate {
    /// A validated partial date; `None` when a part is out of range, the day does not exist in
    /// the month, or a day is given without a month.
    ///
    /// ```
    /// use spirit_text::PartialDate;
    /// assert!(PartialDate::new(Some(1980), Some(2), Some(29)).is_some());
    /// assert!(PartialDate::new(Some(1981), Some(2), Some(29)).is_none());
    /// ```
    pub fn new(year: Option<u16>, month: Option<u8>, day: Option<u8>) -> Option<PartialDate> {
        if let Some(y) = year
            && !(MIN_YEAR..=MAX_YEAR).contains(&y)
        {
            return None;
        }
        if let Some(m) = month
            && !(1..=12).contains(&m)
        {
            return None;
        }
        if let Some(d) = day {
            let m = month?;
            if d == 0 || d > days_in_month(year, m) {
                return None;
            }
        }
        Some(PartialDate { year, month, day })
    }

    /// "YYYYMMDD", with zeros for unknown parts: "19800305", "19800300" (day unknown),
    /// "19800000" (year only), "00000305" (year unknown).
    ///
    /// ```
    /// use spirit_text::PartialDate;
    /// let d = PartialDate { year: Some(1980), month: None, day: None };
    /// assert_eq!(d.key(), "19800000");
    /// ```
    pub fn key(&self) -> String {
        let mut out = String::with_capacity(8);
        push_padded(&mut out, u32::from(self.year.unwrap_or(0)), 4);
        push_padded(&mut out, u32::from(self.month.unwrap_or(0)), 2);
        push_padded(&mut out, u32::from(self.day.unwrap_or(0)), 2);
        out
    }

    /// True when year, month and day are all known.
    pub fn is_complete(&self) -> bool {
        self.year.is_some() && self.month.is_some() && self.day.is_some()
    }
}

fn push_padded(out: &mut String, value: u32, width: u32) {
    let value = value % 10u32.pow(width);
    for p in (0..width).rev() {
        let digit = (value / 10u32.pow(p)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Days in `month` of `year`; February has 29 days when the year is unknown.
fn days_in_month(year: Option<u16>, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_none_or(is_leap) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses a date written in one of many formats; `None` when `s` is not a valid date.
///
/// Accepted, with any of `-`, `/`, `.`, spaces or commas as separators:
///
/// - ISO and year-first: "1980-03-05", "1980/03/05", "1980.3.5", with an optional time
///   ("1980-03-05T12:30:00Z", "1980-03-05 12:30", "… +01:00"), which is ignored;
/// - day-month-year or month-day-year: "05/03/1980", "5-3-1980", "05.03.1980". When one of the
///   first two numbers is greater than 12 it is the day; otherwise `order` decides;
/// - two-digit years ("05/03/80"): see [`TWO_DIGIT_YEAR_PIVOT`]; with three two-digit numbers
///   `order` decides which one is the year (a first number above 31 is always the year);
/// - compact "YYYYMMDD" ("19800305"); "DDMMYYYY" (or "MMDDYYYY" with [`DateOrder::Mdy`]) only
///   when the digits are not a valid "YYYYMMDD";
/// - month names, full or abbreviated, with optional ordinal suffixes and weekday names: "5 Mar
///   1980", "5th March 1980", "March 5, 1980", "Wed, 5 March 1980", "05-MAR-80", "5 de marzo
///   de 1980", "5. März 1980"; year-month-day kanji/hangul markers ("1980年3月5日");
/// - partial dates: "Mar 1980", "March 5" (no year), "1980-03", "03/1980", "1980".
///
/// Validation: year 1000..=2100, month 1..=12, day valid for the month (leap years honoured).
/// Anything else (unknown words, too many numbers, impossible dates) gives `None`.
///
/// ```
/// use spirit_text::{parse_date, DateOrder, PartialDate};
/// let d = |y, m, dd| Some(PartialDate { year: Some(y), month: Some(m), day: Some(dd) });
/// assert_eq!(parse_date("1980-03-05", DateOrder::Dmy), d(1980, 3, 5));
/// assert_eq!(parse_date("05/03/1980", DateOrder::Dmy), d(1980, 3, 5));
/// assert_eq!(parse_date("05/03/1980", DateOrder::Mdy), d(1980, 5, 3));
/// assert_eq!(parse_date("March 5th, 1980", DateOrder::Dmy), d(1980, 3, 5));
/// assert_eq!(parse_date("31/02/1980", DateOrder::Dmy), None);
/// ```
pub fn parse_date(s: &str, order: DateOrder) -> Option<PartialDate> {
    if s.len() > MAX_INPUT_BYTES {
        return None;
    }
    let tokens = tokenize(s)?;
    interpret(&tokens.items[..tokens.len], order)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Num { value: u32, digits: u8 },
    Month(u8),
}

const MAX_TOKENS: usize = 4;

struct Tokens {
    items: [Tok; MAX_TOKENS],
    len: usize,
}

impl Tokens {
    fn push(&mut self, t: Tok) -> Option<()> {
        let slot = self.items.get_mut(self.len)?;
        *slot = t;
        self.len += 1;
        Some(())
    }
}

/// Splits `s` into numbers and month names; times, weekday names, ordinal suffixes and filler
/// words are skipped; any other word makes the input not a date.
fn tokenize(s: &str) -> Option<Tokens> {
    let mut tokens = Tokens {
        items: [Tok::Month(0); MAX_TOKENS],
        len: 0,
    };
    let mut chars = s.chars().peekable();
    let mut seen_time = false;
    let mut prev_sep: Option<char> = None;
    while let Some(&c) = chars.peek() {
        if digit_value(c).is_some() {
            let mut value: u32 = 0;
            let mut digits: u8 = 0;
            while let Some(v) = chars.peek().and_then(|&c| digit_value(c)) {
                chars.next();
                if digits >= 9 {
                    return None;
                }
                value = value * 10 + u32::from(v);
                digits += 1;
            }
            if chars.peek() == Some(&':') {
                // A time (hh:mm[:ss[.fff]]) or a UTC offset (+hh:mm): skipped.
                while chars
                    .peek()
                    .is_some_and(|&c| digit_value(c).is_some() || matches!(c, ':' | '.' | ','))
                {
                    chars.next();
                }
                seen_time = true;
            } else if seen_time && matches!(prev_sep, Some('+' | '-')) {
                // A UTC offset without a colon after a time ("… 12:30:00 -0500").
            } else {
                tokens.push(Tok::Num { value, digits })?;
            }
            prev_sep = None;
        } else if is_date_marker(c) {
            chars.next();
            prev_sep = Some(c);
        } else if c.is_alphabetic() {
            let mut word = [0u8; 12];
            let mut len = 0usize;
            let mut too_long = false;
            while let Some(&c) = chars.peek() {
                if !c.is_alphabetic() || is_date_marker(c) {
                    break;
                }
                chars.next();
                let mut push = |b: u8| {
                    if b.is_ascii_alphabetic() {
                        if len < word.len() {
                            word[len] = b.to_ascii_lowercase();
                            len += 1;
                        } else {
                            too_long = true;
                        }
                    }
                };
                if c.is_ascii() {
                    push(c as u8);
                } else if let Some(t) = deunicode::deunicode_char(c) {
                    t.bytes().for_each(&mut push);
                }
            }
            if too_long {
                return None;
            }
            let word = std::str::from_utf8(&word[..len]).ok()?;
            if let Some(m) = month_number(word) {
                tokens.push(Tok::Month(m))?;
            } else if !is_filler(word) {
                return None;
            }
            prev_sep = None;
        } else {
            chars.next();
            if !c.is_whitespace() {
                prev_sep = Some(c);
            }
        }
    }
    Some(tokens)
}

/// Year/month/day markers of Chinese, Japanese and Korean dates, read as separators.
fn is_date_marker(c: char) -> bool {
    matches!(c, '年' | '月' | '日' | '년' | '월' | '일')
}

/// Words that may appear in a written date without changing it.
fn is_filler(w: &str) -> bool {
    matches!(
        w,
        "" | "st"
            | "nd"
            | "rd"
            | "th"
            | "er"
            | "of"
            | "the"
            | "on"
            | "at"
            | "t"
            | "z"
            | "utc"
            | "gmt"
            | "am"
            | "pm"
            | "de"
            | "del"
            | "le"
            | "den"
            | "monday"
            | "mon"
            | "tuesday"
            | "tue"
            | "tues"
            | "wednesday"
            | "wed"
            | "thursday"
            | "thu"
            | "thur"
            | "thurs"
            | "friday"
            | "fri"
            | "saturday"
            | "sat"
            | "sunday"
            | "sun"
    )
}

/// Month number of a (folded) month name or abbreviation.
fn month_number(w: &str) -> Option<u8> {
    Some(match w {
        "january" | "jan" | "janv" | "janvier" | "januar" | "janner" | "enero" | "ene"
        | "gennaio" | "gen" | "janeiro" | "januari" => 1,
        "february" | "feb" | "febr" | "fevrier" | "fevr" | "fev" | "februar" | "febrero"
        | "febbraio" | "fevereiro" | "februari" => 2,
        "march" | "mar" | "mars" | "marz" | "maerz" | "marzo" | "marco" | "maart" | "mrt" => 3,
        "april" | "apr" | "avril" | "avr" | "abril" | "abr" | "aprile" => 4,
        "may" | "mai" | "mayo" | "maggio" | "mag" | "maio" | "mei" => 5,
        "june" | "jun" | "juin" | "juni" | "junio" | "giugno" | "giu" | "junho" => 6,
        "july" | "jul" | "juillet" | "juil" | "juli" | "julio" | "luglio" | "lug" | "julho" => 7,
        "august" | "aug" | "aout" | "agosto" | "ago" | "augustus" => 8,
        "september" | "sep" | "sept" | "septembre" | "septiembre" | "setiembre" | "settembre"
        | "set" | "setembro" => 9,
        "october" | "oct" | "octobre" | "oktober" | "okt" | "octubre" | "ottobre" | "ott"
        | "outubro" | "out" => 10,
        "november" | "nov" | "novembre" | "noviembre" | "novembro" => 11,
        "december" | "dec" | "decembre" | "dezember" | "dez" | "diciembre" | "dic" | "dicembre"
        | "dezembro" => 12,
        _ => return None,
    })
}

#[derive(Clone, Copy)]
struct Num {
    value: u32,
    digits: u8,
}

impl Num {
    /// The number as a year: four digits as written, two digits through the pivot.
    fn year(self) -> Option<u16> {
        let v = u16::try_from(self.value).ok()?;
        match self.digits {
            4 => Some(v),
            1 | 2 if v <= TWO_DIGIT_YEAR_PIVOT => Some(2000 + v),
            1 | 2 => Some(1900 + v),
            _ => None,
        }
    }

    /// The number as a day or month (at most two digits).
    fn small(self) -> Option<u8> {
        if self.digits <= 2 {
            u8::try_from(self.value).ok()
        } else {
            None
        }
    }

    /// Could only be a year (three or more digits, or more than 31).
    fn must_be_year(self) -> bool {
        self.digits >= 3 || self.value > 31
    }
}

fn date(year: Option<u16>, month: Option<u8>, day: Option<u8>) -> Option<PartialDate> {
    PartialDate::new(year, month, day)
}

fn interpret(tokens: &[Tok], order: DateOrder) -> Option<PartialDate> {
    let mut nums = [Num {
        value: 0,
        digits: 0,
    }; 3];
    let mut count = 0usize;
    let mut month: Option<(u8, usize)> = None;
    for t in tokens {
        match *t {
            Tok::Num { value, digits } => {
                *nums.get_mut(count)? = Num { value, digits };
                count += 1;
            }
            Tok::Month(m) => {
                if month.is_some() {
                    return None;
                }
                month = Some((m, count));
            }
        }
    }
    let nums = &nums[..count];
    match (month, nums) {
        (Some((m, _)), [n]) => {
            if n.must_be_year() {
                date(n.year(), Some(m), None)
            } else {
                date(None, Some(m), n.small())
            }
        }
        (Some((m, before)), [a, b]) => match (a.must_be_year(), b.must_be_year()) {
            (true, false) => date(a.year(), Some(m), b.small()),
            (false, true) => date(b.year(), Some(m), a.small()),
            (true, true) => None,
            (false, false) if before == 2 && order == DateOrder::Ymd => {
                date(a.year(), Some(m), b.small())
            }
            (false, false) => date(b.year(), Some(m), a.small()),
        },
        (Some(_), _) => None,
        (None, [n]) => match n.digits {
            4 => date(n.year(), None, None),
            8 => compact(n.value, order),
            _ => None,
        },
        (None, [a, b]) => match (a.digits, b.digits) {
            (4, 1 | 2) => date(a.year(), b.small(), None),
            (1 | 2, 4) => date(b.year(), a.small(), None),
            _ => None,
        },
        (None, [a, b, c]) => {
            if a.digits == 4 {
                if b.digits > 2 || c.digits > 2 {
                    return None;
                }
                return date(a.year(), b.small(), c.small());
            }
            if a.digits > 2 || b.digits > 2 || !matches!(c.digits, 1 | 2 | 4) {
                return None;
            }
            let year_first = c.digits != 4 && (order == DateOrder::Ymd || a.value > 31);
            if year_first && let Some(d) = date(a.year(), b.small(), c.small()) {
                return Some(d);
            }
            let (day, mon) = day_month(*a, *b, order);
            date(c.year(), mon.small(), day.small())
        }
        (None, _) => None,
    }
}

/// Which of two numbers written before the year is the day: a number above 12 must be the day;
/// otherwise the order decides (year-first order falls back to day first).
fn day_month(a: Num, b: Num, order: DateOrder) -> (Num, Num) {
    match (a.value > 12, b.value > 12) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        _ if order == DateOrder::Mdy => (b, a),
        _ => (a, b),
    }
}

/// "YYYYMMDD", or when that is not a valid date "DDMMYYYY" ("MMDDYYYY" in month-first order).
fn compact(v: u32, order: DateOrder) -> Option<PartialDate> {
    let part = |div: u32, modulo: u32| (v / div) % modulo;
    let ymd = date(
        u16::try_from(part(10_000, 10_000)).ok(),
        u8::try_from(part(100, 100)).ok(),
        u8::try_from(part(1, 100)).ok(),
    );
    if ymd.is_some() {
        return ymd;
    }
    let (first, second) = (part(1_000_000, 100), part(10_000, 100));
    let (d, m) = if order == DateOrder::Mdy {
        (second, first)
    } else {
        (first, second)
    };
    date(
        u16::try_from(part(1, 10_000)).ok(),
        u8::try_from(m).ok(),
        u8::try_from(d).ok(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use DateOrder::{Dmy, Mdy, Ymd};

    fn ymd(y: u16, m: u8, d: u8) -> Option<PartialDate> {
        Some(PartialDate {
            year: Some(y),
            month: Some(m),
            day: Some(d),
        })
    }

    fn pd(y: Option<u16>, m: Option<u8>, d: Option<u8>) -> Option<PartialDate> {
        Some(PartialDate {
            year: y,
            month: m,
            day: d,
        })
    }

    #[test]
    fn iso_and_year_first() {
        assert_eq!(parse_date("1980-03-05", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("1980-03-05", Mdy), ymd(1980, 3, 5));
        assert_eq!(parse_date("1980/03/05", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("1980.3.5", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date(" 1980-03-05 ", Dmy), ymd(1980, 3, 5));
    }

    #[test]
    fn timestamps_ignore_the_time() {
        for s in [
            "1980-03-05T12:30:00Z",
            "1980-03-05T12:30:00.123456+01:00",
            "1980-03-05 12:30",
            "1980-03-05 00:00:00 -0500",
            "1980-03-05T23:59:59-05:00",
            "05/03/1980 10:20 pm",
            "12:30 05/03/1980",
        ] {
            assert_eq!(parse_date(s, Dmy), ymd(1980, 3, 5), "{s}");
        }
    }

    #[test]
    fn day_month_order() {
        assert_eq!(parse_date("05/03/1980", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("05/03/1980", Mdy), ymd(1980, 5, 3));
        assert_eq!(parse_date("05-03-1980", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("05.03.1980", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("5/3/1980", Dmy), ymd(1980, 3, 5));
        // A number above 12 decides, whatever the order.
        assert_eq!(parse_date("25/03/1980", Mdy), ymd(1980, 3, 25));
        assert_eq!(parse_date("03/25/1980", Dmy), ymd(1980, 3, 25));
        // Year-first order reads year-last dates day first.
        assert_eq!(parse_date("05/03/1980", Ymd), ymd(1980, 3, 5));
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(parse_date("05/03/80", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("05/03/80", Mdy), ymd(1980, 5, 3));
        assert_eq!(parse_date("05/03/12", Dmy), ymd(2012, 3, 5));
        assert_eq!(parse_date("05/03/30", Dmy), ymd(2030, 3, 5));
        assert_eq!(parse_date("05/03/31", Dmy), ymd(1931, 3, 5));
        assert_eq!(parse_date("80/03/05", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("12/03/05", Ymd), ymd(2012, 3, 5));
        // Year-first reading impossible: fall back to day first.
        assert_eq!(parse_date("05/03/80", Ymd), ymd(1980, 3, 5));
        assert_eq!(parse_date("05-MAR-80", Dmy), ymd(1980, 3, 5));
    }

    #[test]
    fn compact_forms() {
        assert_eq!(parse_date("19800305", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("19800305", Mdy), ymd(1980, 3, 5));
        assert_eq!(parse_date("05031980", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("05031980", Mdy), ymd(1980, 5, 3));
        assert_eq!(parse_date("99999999", Dmy), None);
        assert_eq!(parse_date("198003", Dmy), None);
    }

    #[test]
    fn month_names() {
        for s in [
            "5 Mar 1980",
            "5 March 1980",
            "5th March 1980",
            "5th of March, 1980",
            "March 5, 1980",
            "March 5th 1980",
            "Mar. 5, 1980",
            "Wed, 5 March 1980",
            "Wednesday 5th March 1980",
            "1980 Mar 5",
            "5-mar-1980",
            "05MAR1980",
            "5 de marzo de 1980",
            "5. März 1980",
            "5 mars 1980",
            "5 maart 1980",
            "MARCH 5 1980",
        ] {
            assert_eq!(parse_date(s, Dmy), ymd(1980, 3, 5), "{s}");
            assert_eq!(parse_date(s, Mdy), ymd(1980, 3, 5), "{s}");
        }
        assert_eq!(parse_date("1er décembre 1999", Dmy), ymd(1999, 12, 1));
        assert_eq!(parse_date("Sept 30 2001", Dmy), ymd(2001, 9, 30));
    }

    #[test]
    fn cjk_markers() {
        assert_eq!(parse_date("1980年3月5日", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("1980년 3월 5일", Dmy), ymd(1980, 3, 5));
        assert_eq!(parse_date("１９８０年３月５日", Dmy), ymd(1980, 3, 5));
    }

    #[test]
    fn partial_dates() {
        assert_eq!(parse_date("1980", Dmy), pd(Some(1980), None, None));
        assert_eq!(parse_date("1980-03", Dmy), pd(Some(1980), Some(3), None));
        assert_eq!(parse_date("03/1980", Dmy), pd(Some(1980), Some(3), None));
        assert_eq!(parse_date("Mar 1980", Dmy), pd(Some(1980), Some(3), None));
        assert_eq!(parse_date("March 80", Dmy), pd(Some(1980), Some(3), None));
        assert_eq!(parse_date("5 March", Dmy), pd(None, Some(3), Some(5)));
        assert_eq!(parse_date("29 February", Dmy), pd(None, Some(2), Some(29)));
    }

    #[test]
    fn validation() {
        assert_eq!(parse_date("1980-02-29", Dmy), ymd(1980, 2, 29));
        assert_eq!(parse_date("2000-02-29", Dmy), ymd(2000, 2, 29));
        assert_eq!(parse_date("1900-02-29", Dmy), None);
        assert_eq!(parse_date("1981-02-29", Dmy), None);
        assert_eq!(parse_date("1980-04-31", Dmy), None);
        assert_eq!(parse_date("1980-13-01", Dmy), None);
        assert_eq!(parse_date("1980-00-10", Dmy), None);
        assert_eq!(parse_date("1980-01-00", Dmy), None);
        assert_eq!(parse_date("0999-01-01", Dmy), None);
        assert_eq!(parse_date("2101-01-01", Dmy), None);
        assert_eq!(parse_date("2100-12-31", Dmy), ymd(2100, 12, 31));
        assert_eq!(parse_date("1000-01-01", Dmy), ymd(1000, 1, 1));
        assert_eq!(parse_date("13/13/1980", Dmy), None);
        assert_eq!(parse_date("32 March 1980", Dmy), None);
    }

    #[test]
    fn rejects_non_dates() {
        for s in [
            "",
            "   ",
            "unknown",
            "n/a",
            "abc 1980",
            "12",
            "1980-03-05-07",
            "5 March April 1980",
            "1 2 3 4",
            "Иван",
            "王小明",
            "1234567890123",
            "March",
            "12/05",
            "1980-03-1981",
        ] {
            assert_eq!(parse_date(s, Dmy), None, "{s:?}");
        }
        assert_eq!(parse_date(&"1".repeat(1000), Dmy), None);
    }

    #[test]
    fn keys_and_completeness() {
        let full = ymd(1980, 3, 5).unwrap_or_default();
        assert_eq!(full.key(), "19800305");
        assert!(full.is_complete());
        let year_only = pd(Some(1980), None, None).unwrap_or_default();
        assert_eq!(year_only.key(), "19800000");
        assert!(!year_only.is_complete());
        let no_year = pd(None, Some(3), Some(5)).unwrap_or_default();
        assert_eq!(no_year.key(), "00000305");
        assert_eq!(PartialDate::default().key(), "00000000");
    }

    #[test]
    fn ordering_is_chronological() {
        let a = ymd(1980, 3, 5);
        let b = ymd(1980, 12, 1);
        let c = pd(Some(1981), None, None);
        assert!(a < b && b < c);
    }
}
