//! The comparisons of fields (columns with no built-in kind): value ids in, level out
//! (the caller has handled missing values).

use crate::field::FieldValues;
use crate::table::{Column, Derived};

use super::{jaro_winkler_at_least, shared_tokens, within_one_edit};

// ---------------------------------------------------------------------------------------

pub const YEAR: &[&str] = &["exact", "one_apart", "three_apart", "else"];
pub const NUMBER: &[&str] = &["exact", "close", "near", "else"];
pub const TEXT: &[&str] = &["exact", "close", "similar", "else"];
pub const LIST: &[&str] = &["same", "most", "some", "else"];

fn values(col: &Column) -> Option<&FieldValues> {
    match &col.derived {
        Derived::Fields(f) => Some(f),
        _ => None,
    }
}

/// The two numbers of a pair, `None` when either value is not a number.
fn numbers(col: &Column, x: u32, y: u32) -> Option<(f64, f64)> {
    let f = values(col)?;
    let (a, b) = (f.numbers[x as usize], f.numbers[y as usize]);
    (!a.is_nan() && !b.is_nan()).then_some((a, b))
}

pub(crate) fn year_ids(col: &Column, x: u32, y: u32) -> u8 {
    let Some((a, b)) = numbers(col, x, y) else {
        return 0;
    };
    let d = (a - b).abs();
    if d == 0.0 {
        1
    } else if d <= 1.0 {
        2
    } else if d <= 3.0 {
        3
    } else {
        4
    }
}

pub(crate) fn number_ids(col: &Column, x: u32, y: u32) -> u8 {
    let Some((a, b)) = numbers(col, x, y) else {
        return 0;
    };
    let d = (a - b).abs();
    let scale = a.abs().max(b.abs());
    if d == 0.0 {
        1
    } else if d <= 0.02 * scale || (a.fract() == 0.0 && b.fract() == 0.0 && d <= 1.0) {
        2
    } else if d <= 0.1 * scale {
        3
    } else {
        4
    }
}

pub(crate) fn date_ids(col: &Column, x: u32, y: u32) -> u8 {
    let Some(f) = values(col) else {
        return 0;
    };
    let (a, b) = (f.dates[x as usize], f.dates[y as usize]);
    if !a.is_complete() || !b.is_complete() {
        // Not dates on both sides: only equal text counts.
        return if x == y { 1 } else { 6 };
    }
    if a == b {
        return 1;
    }
    if a.year == b.year && a.month == b.day && a.day == b.month {
        return 3;
    }
    if within_one_edit(&col.values[x as usize], &col.values[y as usize]) {
        return 4;
    }
    let near = (a.year == b.year && a.month == b.month)
        || (a.month == b.month
            && a.day == b.day
            && a.year.zip(b.year).is_some_and(|(p, q)| p.abs_diff(q) == 1));
    if near { 5 } else { 6 }
}

pub(crate) fn text_ids(col: &Column, x: u32, y: u32) -> u8 {
    if x == y {
        return 1;
    }
    let (a, b) = (&*col.values[x as usize], &*col.values[y as usize]);
    if within_one_edit(a, b) || jaro_winkler_at_least(a, b, 0.92) {
        return 2;
    }
    let Some(f) = values(col) else {
        return 4;
    };
    let (wa, wb) = (&f.words[x as usize], &f.words[y as usize]);
    let common = shared_tokens(wa, wb);
    if common > 0 && 2 * common >= wa.len().min(wb.len()) + usize::from(wa.len() != wb.len()) {
        3
    } else {
        4
    }
}

pub(crate) fn list_ids(col: &Column, x: u32, y: u32) -> u8 {
    let Some(f) = values(col) else {
        return if x == y { 1 } else { 4 };
    };
    let (a, b) = (&f.items[x as usize], &f.items[y as usize]);
    if x == y || (!a.is_empty() && a == b) {
        return 1;
    }
    let common = shared_tokens(a, b);
    let union = a.len() + b.len() - common;
    if common == 0 {
        4
    } else if 2 * common >= union {
        2
    } else {
        3
    }
}
