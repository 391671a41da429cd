//! Spreadsheet-safe CSV cells. A cell that starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is read as a formula by spreadsheet programs (formula injection: a
//! record id such as `=HYPERLINK(…)` runs when an analyst opens an export). Every CSV that
//! SPIRIT writes passes its cells through [`safe`], which puts a `'` in front of such a
//! cell (the convention spreadsheets show as text); [`unsafe_back`] undoes it when SPIRIT
//! reads its own files back, so ids round-trip exactly.

use std::borrow::Cow;

const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// True when `text`, after any leading `'`, starts like a formula.
fn formula_like(text: &str) -> bool {
    text.trim_start_matches('\'').starts_with(FORMULA)
}

/// The cell as written: `'` in front of anything a spreadsheet would run.
pub fn safe(text: &str) -> Cow<'_, str> {
    if formula_like(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The value of a cell [`safe`] wrote.
pub fn unsafe_back(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formulas_are_neutralised() {
        for (raw, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+2", "'+1+2"),
            ("-5", "'-5"),
            ("@SUM(1)", "'@SUM(1)"),
            ("\tx", "'\tx"),
            ("'=x", "''=x"),
            ("rec-1", "rec-1"),
            ("'quoted", "'quoted"),
            ("", ""),
        ] {
            assert_eq!(safe(raw), written, "{raw:?}");
            assert_eq!(unsafe_back(written), raw, "{written:?}");
        }
    }

    proptest! {
        #[test]
        fn every_value_round_trips_and_no_cell_starts_like_a_formula(text in "['=+@a-z\\-\t]{0,6}") {
            let cell = safe(&text);
            prop_assert!(!cell.starts_with(FORMULA));
            prop_assert_eq!(unsafe_back(&cell), text.as_str());
        }
    }
}
