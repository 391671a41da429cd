//! Street addresses.
//!
//! [`normalise_address`] folds an address and rewrites the words that are written in many
//! ways to one short form each (street types, directions, unit words, ordinal numbers), so
//! that "12 High Street, Flat 3" and "Flat 3 12 High St." share their tokens. It does not
//! reorder tokens or parse the address into fields; token-set comparisons and
//! [`address_numbers`] work on its output.

use crate::fold::fold;

/// Normalises a street address; `None` when nothing is left.
///
/// Steps: [`fold()`](crate::fold()); then each word is mapped to its canonical short form:
///
/// | written | canonical |
/// |---|---|
/// | street, str, st | st |
/// | road, rd | rd |
/// | avenue, ave, av | ave |
/// | boulevard, blvd | blvd |
/// | drive, dr | dr |
/// | lane, ln | ln |
/// | court, ct | ct |
/// | place, pl | pl |
/// | square, sq | sq |
/// | terrace, tce, terr | tce |
/// | crescent, cres | cres |
/// | highway, hwy | hwy |
/// | parkway, pkwy | pkwy |
/// | circle, cir | cir |
/// | close, cl | cl |
/// | way | way |
/// | north/south/east/west, northeast, … | n, s, e, w, ne, nw, se, sw |
/// | apartment, apt, unit, flat, suite, ste | unit |
/// | first … tenth | 1st … 10th |
///
/// "number", "no" and "and" are dropped (a "#" is punctuation and already gone).
///
/// Idempotent: a normalised address normalises to itself.
///
/// ```
/// use spirit_text::normalise_address;
/// assert_eq!(
///     normalise_address("Flat 3, 12 High Street"),
///     Some("unit 3 12 high st".into())
/// );
/// assert_eq!(normalise_address("221B Baker St."), Some("221b baker st".into()));
/// assert_eq!(normalise_address("No. 5, First Avenue North"), Some("5 1st ave n".into()));
/// ```
pub fn normalise_address(s: &str) -> Option<String> {
    let folded = fold(s);
    if folded.is_empty() {
        return None;
    }
    if folded.split(' ').all(|w| canonical(w) == Some(w)) {
        // Common path: already canonical.
        return Some(folded);
    }
    let mut out = String::with_capacity(folded.len());
    for word in folded.split(' ') {
        if let Some(w) = canonical(word) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The canonical form of one folded address word; `None` for words that are dropped.
fn canonical(w: &str) -> Option<&str> {
    Some(match w {
        "street" | "str" | "st" => "st",
        "road" | "rd" => "rd",
        "avenue" | "ave" | "av" => "ave",
        "boulevard" | "blvd" => "blvd",
        "drive" | "dr" => "dr",
        "lane" | "ln" => "ln",
        "court" | "ct" => "ct",
        "place" | "pl" => "pl",
        "square" | "sq" => "sq",
        "terrace" | "tce" | "terr" => "tce",
        "crescent" | "cres" => "cres",
        "highway" | "hwy" => "hwy",
        "parkway" | "pkwy" => "pkwy",
        "circle" | "cir" => "cir",
        "close" | "cl" => "cl",
        "north" | "n" => "n",
        "south" | "s" => "s",
        "east" | "e" => "e",
        "west" | "w" => "w",
        "northeast" | "ne" => "ne",
        "northwest" | "nw" => "nw",
        "southeast" | "se" => "se",
        "southwest" | "sw" => "sw",
        "apartment" | "apt" | "unit" | "flat" | "suite" | "ste" => "unit",
        "first" => "1st",
        "second" => "2nd",
        "third" => "3rd",
        "fourth" => "4th",
        "fifth" => "5th",
        "sixth" => "6th",
        "seventh" => "7th",
        "eighth" => "8th",
        "ninth" => "9th",
        "tenth" => "10th",
        "number" | "no" | "and" => return None,
        other => other,
    })
}

/// The tokens of a normalised address that start with a digit (house numbers, unit numbers,
/// "221b"), in order; ordinal street names ("1st", "22nd") are not numbers.
///
/// ```
/// assert_eq!(spirit_text::address_numbers("12 unit 3 high st"), vec!["12", "3"]);
/// assert_eq!(spirit_text::address_numbers("221b baker st"), vec!["221b"]);
/// assert_eq!(spirit_text::address_numbers("5 1st ave n"), vec!["5"]);
/// ```
pub fn address_numbers(a: &str) -> Vec<&str> {
    a.split_whitespace()
        .filter(|w| w.as_bytes().first().is_some_and(u8::is_ascii_digit) && !is_ordinal(w))
        .collect()
}

/// "1st", "2nd", "3rd", "4th", "11th", "21st", …
fn is_ordinal(w: &str) -> bool {
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    let suffix = &w[digits..];
    digits > 0 && matches!(suffix, "st" | "nd" | "rd" | "th")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Option<String> {
        normalise_address(s)
    }

    #[test]
    fn street_types_and_units() {
        assert_eq!(a("12 High Street"), a("12 high st."));
        assert_eq!(a("12 High Street"), Some("12 high st".into()));
        assert_eq!(
            a("Apartment 4B, 500 Fifth Avenue"),
            Some("unit 4b 500 5th ave".into())
        );
        assert_eq!(
            a("Suite 200, 1 Infinite Loop"),
            Some("unit 200 1 infinite loop".into())
        );
        assert_eq!(a("Flat 3, 12 High Road"), Some("unit 3 12 high rd".into()));
        assert_eq!(
            a("Apt. #5, 10 Downing Street"),
            Some("unit 5 10 downing st".into())
        );
        assert_eq!(
            a("1600 Pennsylvania Avenue NW"),
            Some("1600 pennsylvania ave nw".into())
        );
        assert_eq!(a("10 Park Terrace West"), Some("10 park tce w".into()));
        assert_eq!(a("3 Lime Tree Close"), a("3 Lime Tree Cl"));
        assert_eq!(a("5 Sunset Boulevard"), a("5 sunset blvd"));
        assert_eq!(a("Bath and Wells Crescent"), Some("bath wells cres".into()));
    }

    #[test]
    fn numbers_words_and_no() {
        assert_eq!(a("No. 7 Second Street"), Some("7 2nd st".into()));
        assert_eq!(a("Number 7, Tenth Road"), Some("7 10th rd".into()));
    }

    #[test]
    fn international_addresses() {
        assert_eq!(a("Hauptstraße 5"), Some("hauptstrasse 5".into()));
        assert_eq!(a("ул. Ленина, д. 5"), Some("ul lenina d 5".into()));
        assert_eq!(
            a("東京都千代田区1-1"),
            Some("dong jing du qian dai tian qu 1 1".into())
        );
        assert_eq!(a("Rua São João, 10"), Some("rua sao joao 10".into()));
    }

    #[test]
    fn empty_is_none() {
        assert_eq!(a(""), None);
        assert_eq!(a(" , # "), None);
        assert_eq!(a("No. and"), None);
    }

    #[test]
    fn idempotent() {
        for s in [
            "Apartment 4B, 500 Fifth Avenue",
            "No. 7 Second Street",
            "ул. Ленина, д. 5",
        ] {
            let once = a(s).unwrap_or_default();
            assert_eq!(a(&once), Some(once.clone()), "{s}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(address_numbers("12 unit 3 high st"), vec!["12", "3"]);
        assert_eq!(address_numbers("unit 4b 500 5th ave"), vec!["4b", "500"]);
        assert_eq!(address_numbers("21st century way"), Vec::<&str>::new());
        assert_eq!(address_numbers(""), Vec::<&str>::new());
        assert_eq!(address_numbers("high st"), Vec::<&str>::new());
        assert_eq!(address_numbers("1 1"), vec!["1", "1"]);
    }
}
