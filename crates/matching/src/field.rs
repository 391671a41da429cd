//! Field values: columns with no built-in kind ([`spirit_model::AttrKind::Field`]).
//!
//! A field's values are normalised lightly ([`normalise_field`]: case and spacing, or a
//! canonical `YYYY-MM-DD` for a full date), and what its comparisons need is derived once
//! per distinct value ([`FieldValues`]: words, list items, a number, a date). How a field
//! column is compared is decided from its values by [`crate::profile`].

use spirit_text::{DateOrder, PartialDate};

use crate::hash::hash_str;

/// The longest field value kept, in bytes; longer values are cut at a character
/// boundary.
pub const MAX_FIELD_VALUE: usize = 256;

/// Normalises a field value: a full date becomes `YYYY-MM-DD`; anything else is
/// lowercased with its whitespace collapsed, cut at [`MAX_FIELD_VALUE`] bytes.
pub fn normalise_field(raw: &str, order: DateOrder) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if let Some(date) = full_date(raw, order) {
        return Some(date);
    }
    let mut out = String::with_capacity(raw.len().min(MAX_FIELD_VALUE));
    for word in raw.split_whitespace() {
        for c in word.chars().flat_map(char::to_lowercase).chain([' ']) {
            if out.len() + c.len_utf8() > MAX_FIELD_VALUE {
                break;
            }
            out.push(c);
        }
    }
    let out = out.trim_end().to_owned();
    (!out.is_empty()).then_some(out)
}

/// `YYYY-MM-DD` when `raw` is a complete date written with separators or month names
/// (a bare number such as `19800305` or `1980` stays a number).
fn full_date(raw: &str, order: DateOrder) -> Option<String> {
    if raw.len() > 40 || raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let d = spirit_text::parse_date(raw, order).filter(PartialDate::is_complete)?;
    Some(format!("{:04}-{:02}-{:02}", d.year?, d.month?, d.day?))
}

/// The date of a normalised field value, when it is a full date.
fn date_of(v: &str) -> PartialDate {
    let b = v.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return PartialDate::default();
    }
    let num = |r: std::ops::Range<usize>| v[r].parse::<u16>().ok().filter(|x| *x != 0);
    PartialDate {
        year: num(0..4),
        month: num(5..7).map(|m| m as u8),
        day: num(8..10).map(|d| d as u8),
    }
}

/// The number a normalised value spells (`1990`, `-3.5`, `1,5` with a decimal comma,
/// `12 000`), or NaN.
fn number_of(v: &str) -> f64 {
    let compact: String = v.chars().filter(|c| *c != ' ' && *c != '_').collect();
    let text = if compact.matches(',').count() == 1 && !compact.contains('.') {
        compact.replace(',', ".")
    } else {
        compact
    };
    let starts_right = text
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'+' || b == b'.');
    match text.parse::<f64>() {
        Ok(x) if starts_right && x.is_finite() => x,
        _ => f64::NAN,
    }
}

/// Sorted, deduplicated hashes of the folded parts of `v` split where `split` says.
fn part_hashes(v: &str, split: impl Fn(char) -> bool) -> Box<[u64]> {
    let mut h: Vec<u64> = v
        .split(split)
        .map(spirit_text::fold)
        .filter(|p| !p.is_empty())
        .map(|p| hash_str(&p))
        .collect();
    h.sort_unstable();
    h.dedup();
    h.into_boxed_slice()
}

/// True for the characters that separate the items of a list (`a; b | c, d / e`).
fn is_list_separator(c: char) -> bool {
    matches!(c, ';' | '|' | ',' | '/' | '\n')
}

/// What field comparisons need of each distinct value, in value order.
#[derive(Clone, Debug, Default)]
pub struct FieldValues {
    /// Folded words (runs of letters and digits), hashed.
    pub words: Vec<Box<[u64]>>,
    /// List items (split at `;`, `|`, `,`, `/`), folded and hashed.
    pub items: Vec<Box<[u64]>>,
    /// The value as a number, NaN when it is not one.
    pub numbers: Vec<f64>,
    /// The value as a full date (all parts `None` when it is not one).
    pub dates: Vec<PartialDate>,
}

impl FieldValues {
    pub fn push(&mut self, v: &str) {
        self.words.push(part_hashes(v, |c| !c.is_alphanumeric()));
        self.items.push(part_hashes(v, is_list_separator));
        self.numbers.push(number_of(v));
        self.dates.push(date_of(v));
    }

    pub fn append(&mut self, other: FieldValues) {
        self.words.extend(other.words);
        self.items.extend(other.items);
        self.numbers.extend(other.numbers);
        self.dates.extend(other.dates);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_normalise_lightly_and_dates_canonically() {
        let o = DateOrder::Dmy;
        assert_eq!(
            normalise_field("  ACME  Ltd ", o).as_deref(),
            Some("acme ltd")
        );
        assert_eq!(
            normalise_field("5 March 1980", o).as_deref(),
            Some("1980-03-05")
        );
        assert_eq!(
            normalise_field("05/03/1980", o).as_deref(),
            Some("1980-03-05")
        );
        assert_eq!(normalise_field("1980", o).as_deref(), Some("1980"));
        assert_eq!(normalise_field("19800305", o).as_deref(), Some("19800305"));
        assert_eq!(normalise_field("   ", o), None);
        let long = "é".repeat(400);
        assert!(normalise_field(&long, o).unwrap().len() <= MAX_FIELD_VALUE);
        assert!(number_of("1990") == 1990.0 && number_of("1,5") == 1.5);
        assert!(number_of("12 000") == 12000.0 && number_of("-3.25") == -3.25);
        assert!(number_of("inf").is_nan() && number_of("a1").is_nan());
        let mut v = FieldValues::default();
        v.push("Ann; Bob | Cy");
        v.push("1980-03-05");
        assert_eq!(v.items[0].len(), 3);
        assert_eq!(v.words[0].len(), 3);
        assert!(v.dates[1].is_complete() && !v.dates[0].is_complete());
    }
}
