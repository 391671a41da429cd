//! Comparisons: named functions of a record pair that return one of their ordered levels.
//!
//! Level 0 is always *null* (a value is missing on either side; partial weight 0).
//! Levels 1.. run from the strongest agreement to *else* (the last level). Each
//! similarity is computed once per pair and bucketed into a level: a comparison never
//! recomputes a similarity per level.

use serde::{Deserialize, Serialize};
use spirit_model::AttrKind;
use spirit_text::PartialDate;

use crate::table::{Column, Derived, NULL_ID, RecordTable};

/// The comparison functions SPIRIT knows. Each one fixes its levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "function", content = "attribute")]
pub enum Function {
    /// Given names: exact, close spelling, nickname variant, swapped with the surname,
    /// similar (phonetic, Jaro-Winkler, or an unvowelled name's consonants:
    /// [`same_skeleton`]), initial, else.
    GivenName,
    /// Surnames: exact, close spelling, swapped with the given name, similar, else.
    Surname,
    /// Dates of birth: exact, partial (only the known parts, all equal), day/month
    /// transposed, one-character typo, near (same year and month, or same day and month
    /// a year apart), else.
    DateOfBirth,
    /// E-mail: exact, same local part at another domain, close spelling, else.
    Email,
    /// Phone: exact (or same national digits), one digit off, else.
    Phone,
    /// The street address: exact, close (same numbers and most words, or one edit
    /// apart with spaces ignored, so "walkercrescent" is "walker crescent"), similar
    /// (some words, or house number and street word), else.
    Address,
    /// The area a person lives in, from postcode, city and region together (they are
    /// strongly dependent, so they form one comparison): postcode and city, postcode,
    /// postcode one character off in the same city, city, region, else.
    Area,
    /// An identifier attribute (national id, username, …): exact, one edit off, else.
    Identifier(AttrKind),
    /// A categorical attribute (gender, country, …): exact, else.
    Category(AttrKind),
    /// An identifier that is checksum-validated and canonical (crypto address, IBAN,
    /// card, IP, onion, PGP fingerprint, Jabber id, camera serial): a one-character
    /// difference is another wallet or account, so only exact, else.
    Exact(AttrKind),
    /// Perceptual image hashes by Hamming distance (direct or mirrored):
    /// near duplicate (≤ 5 bits), close (≤ 11), similar (≤ 17), else; the thresholds
    /// are [`crate::evidence::IMAGE_HASH_LEVELS`].
    ImageHash,
    /// Audio fingerprints by their best common segment of ≥ 2 s (Chromaprint's matcher,
    /// so a trimmed copy matches its original): same recording (≤ 3 of 32 bit errors),
    /// similar (≤ 5), else; the thresholds are [`crate::evidence::AUDIO_BIT_ERROR_LEVELS`].
    AudioFingerprint,
    /// Writing-style profiles by the calibrated authorship-verification score
    /// ([`spirit_text::style::verify`]): its log-odds bucketed into the bands of
    /// [`spirit_text::style::BANDS`] — strong, likely, possible — else; null when either
    /// side has no profile or fewer than [`spirit_text::style::MIN_WORDS`] words. Its m and
    /// u are the calibration's measured shares ([`spirit_text::style::BAND_M`],
    /// [`spirit_text::style::BAND_U`]), never trained; and it is *advisory* unless the
    /// settings say otherwise (`ComparisonParams::advisory` in the model).
    Style,
    /// A field (a column with no built-in kind) whose values are years: exact, one
    /// apart, three apart, else.
    Year(AttrKind),
    /// A numeric field: exact, within 2 % (or one, for whole numbers), within 10 %, else.
    Number(AttrKind),
    /// A field of full dates, graded as dates of birth are.
    Date(AttrKind),
    /// A free-text field: exact, close spelling (one edit, Jaro-Winkler ≥ 0.92), most
    /// words shared, else.
    Text(AttrKind),
    /// A field listing several items (`a; b; c`): the same items, at least half of all
    /// items shared, some shared, else.
    List(AttrKind),
}

const NAME_GIVEN: &[&str] = &[
    "exact", "close", "variant", "swapped", "similar", "initial", "else",
];
const NAME_SURNAME: &[&str] = &["exact", "close", "swapped", "similar", "else"];
const DOB: &[&str] = &["exact", "partial", "transposed", "typo", "near", "else"];
const EMAIL: &[&str] = &["exact", "same_user", "close", "else"];
const PHONE: &[&str] = &["exact", "close", "else"];
const ADDRESS: &[&str] = &["exact", "close", "similar", "else"];
const AREA: &[&str] = &[
    "exact",
    "postcode",
    "postcode_close",
    "city",
    "region",
    "else",
];
const IDENT: &[&str] = &["exact", "close", "else"];
const CATEGORY: &[&str] = &["exact", "else"];
const IMAGE: &[&str] = &["near_duplicate", "close", "similar", "else"];
const AUDIO: &[&str] = &["same_recording", "similar", "else"];
const STYLE: &[&str] = &["strong", "likely", "possible", "else"];

/// The identifier kinds compared by [`Function::Exact`] by default, in order.
pub const EXACT_IDENTIFIERS: [AttrKind; 8] = [
    AttrKind::CryptoAddress,
    AttrKind::Iban,
    AttrKind::PaymentCard,
    AttrKind::IpAddress,
    AttrKind::OnionAddress,
    AttrKind::PgpFingerprint,
    AttrKind::JabberId,
    AttrKind::CameraSerial,
];

impl Function {
    /// Level labels, strongest first, *else* last; level `i` (1-based) is `levels()[i-1]`.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Function::GivenName => NAME_GIVEN,
            Function::Surname => NAME_SURNAME,
            Function::DateOfBirth => DOB,
            Function::Email => EMAIL,
            Function::Phone => PHONE,
            Function::Address => ADDRESS,
            Function::Area => AREA,
            Function::Identifier(_) => IDENT,
            Function::Category(_) | Function::Exact(_) => CATEGORY,
            Function::ImageHash => IMAGE,
            Function::AudioFingerprint => AUDIO,
            Function::Style => STYLE,
            Function::Year(_) => field::YEAR,
            Function::Number(_) => field::NUMBER,
            Function::Date(_) => DOB,
            Function::Text(_) => field::TEXT,
            Function::List(_) => field::LIST,
        }
    }

    /// The attribute a function of one attribute compares (identifiers, categories and
    /// fields), `None` for the built-in comparisons.
    pub fn attribute(self) -> Option<AttrKind> {
        match self {
            Function::Identifier(k)
            | Function::Category(k)
            | Function::Exact(k)
            | Function::Year(k)
            | Function::Number(k)
            | Function::Date(k)
            | Function::Text(k)
            | Function::List(k) => Some(k),
            _ => None,
        }
    }

    /// True for a comparison whose level parameters come from a calibration measured on
    /// ground truth (the style comparison): EM and labels leave them as they are.
    pub fn is_calibrated(self) -> bool {
        matches!(self, Function::Style)
    }

    /// True for what members of one household usually share (surname, where they live,
    /// a landline): the household class starts from agreement on these.
    pub fn shared_by_household(self) -> bool {
        matches!(
            self,
            Function::Surname | Function::Address | Function::Area | Function::Phone
        )
    }

    /// The default name of a comparison using this function.
    pub fn default_name(self) -> String {
        match self {
            Function::GivenName => "given_name".into(),
            Function::Surname => "surname".into(),
            Function::DateOfBirth => "date_of_birth".into(),
            Function::Email => "email".into(),
            Function::Phone => "phone".into(),
            Function::Address => "address".into(),
            Function::Area => "area".into(),
            Function::ImageHash => "image_hash".into(),
            Function::AudioFingerprint => "audio_fingerprint".into(),
            Function::Style => "writing_style".into(),
            other => other.attribute().map_or("", AttrKind::name).into(),
        }
    }

    /// The comparisons SPIRIT uses by default for the kinds present in a run.
    pub fn defaults_for(kinds: &[AttrKind]) -> Vec<Function> {
        let has = |k: AttrKind| kinds.contains(&k);
        let mut out = Vec::new();
        if has(AttrKind::GivenName) {
            out.push(Function::GivenName);
        }
        if has(AttrKind::Surname) {
            out.push(Function::Surname);
        }
        if has(AttrKind::DateOfBirth) {
            out.push(Function::DateOfBirth);
        }
        if has(AttrKind::Email) {
            out.push(Function::Email);
        }
        if has(AttrKind::Phone) {
            out.push(Function::Phone);
        }
        if has(AttrKind::Address) {
            out.push(Function::Address);
        }
        if has(AttrKind::Postcode) || has(AttrKind::City) || has(AttrKind::Region) {
            out.push(Function::Area);
        }
        for k in [AttrKind::NationalId, AttrKind::Username] {
            if has(k) {
                out.push(Function::Identifier(k));
            }
        }
        for k in EXACT_IDENTIFIERS {
            if has(k) {
                out.push(Function::Exact(k));
            }
        }
        if has(AttrKind::ImageHash) {
            out.push(Function::ImageHash);
        }
        if has(AttrKind::AudioFingerprint) {
            out.push(Function::AudioFingerprint);
        }
        if has(AttrKind::StyleProfile) {
            out.push(Function::Style);
        }
        for k in [AttrKind::Gender, AttrKind::Country] {
            if has(k) {
                out.push(Function::Category(k));
            }
        }
        out
    }
}

/// A comparison bound to the columns of one record table.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub function: Function,
    cols: [Option<usize>; 4],
}

impl Bound {
    /// Binds a function to a table's columns.
    pub fn new(function: Function, table: &RecordTable) -> Bound {
        let c = |k| table.column_index(k);
        let cols = match function {
            Function::GivenName => [c(AttrKind::GivenName), c(AttrKind::Surname), None, None],
            Function::Surname => [c(AttrKind::Surname), c(AttrKind::GivenName), None, None],
            Function::DateOfBirth => [c(AttrKind::DateOfBirth), None, None, None],
            Function::Email => [c(AttrKind::Email), None, None, None],
            Function::Phone => [c(AttrKind::Phone), None, None, None],
            Function::Address => [c(AttrKind::Address), None, None, None],
            Function::Area => [
                c(AttrKind::Postcode),
                c(AttrKind::City),
                c(AttrKind::Region),
                None,
            ],
            Function::ImageHash => [c(AttrKind::ImageHash), None, None, None],
            Function::AudioFingerprint => [c(AttrKind::AudioFingerprint), None, None, None],
            Function::Style => [c(AttrKind::StyleProfile), None, None, None],
            other => [other.attribute().and_then(c), None, None, None],
        };
        Bound { function, cols }
    }

    /// The level of the pair (a, b): 0 for null, else 1-based into `levels()`.
    pub fn level(&self, t: &RecordTable, a: u32, b: u32) -> u8 {
        let col = |i: usize| self.cols[i].map(|c| &t.columns[c]);
        if let Some(kernel) = self.kernel() {
            return by_ids(col(0), a, b, kernel);
        }
        match self.function {
            Function::GivenName => given_name_level(col(0), col(1), a, b),
            Function::Surname => surname_level(col(0), col(1), a, b),
            Function::Area => area_level(col(0), col(1), col(2), a, b),
            Function::ImageHash => image_hash_level(col(0), a, b),
            Function::AudioFingerprint => audio_level(col(0), a, b),
            Function::Style => {
                style_verification(col(0), a, b).map_or(0, |v| spirit_text::style::band(v.log_odds))
            }
            _ => 0,
        }
    }

    /// The levels of a batch of pairs `(a[j], b[j])` into `out` (cleared first): the
    /// same levels as [`Bound::level`], with the function chosen once per batch, so the
    /// loop over pairs runs one kernel without dispatch.
    pub fn levels(&self, t: &RecordTable, a: &[u32], b: &[u32], out: &mut Vec<u8>) {
        debug_assert_eq!(a.len(), b.len());
        out.clear();
        out.reserve(a.len());
        let col = |i: usize| self.cols[i].map(|c| &t.columns[c]);
        let pairs = a.iter().copied().zip(b.iter().copied());
        match self.function {
            Function::GivenName => {
                let (g, s) = (col(0), col(1));
                out.extend(pairs.map(|(x, y)| given_name_level(g, s, x, y)));
            }
            Function::Surname => {
                let (s, g) = (col(0), col(1));
                out.extend(pairs.map(|(x, y)| surname_level(s, g, x, y)));
            }
            Function::DateOfBirth => batch_by_ids(col(0), a, b, out, dob_ids),
            Function::Email => batch_by_ids(col(0), a, b, out, email_ids),
            Function::Phone => batch_by_ids(col(0), a, b, out, phone_ids),
            Function::Address => batch_by_ids(col(0), a, b, out, address_ids),
            Function::Area => {
                let (p, c, r) = (col(0), col(1), col(2));
                out.extend(pairs.map(|(x, y)| area_level(p, c, r, x, y)));
            }
            Function::Identifier(_) => batch_by_ids(col(0), a, b, out, ident_ids),
            Function::Category(_) | Function::Exact(_) => {
                batch_by_ids(col(0), a, b, out, category_ids)
            }
            Function::Year(_) => batch_by_ids(col(0), a, b, out, field::year_ids),
            Function::Number(_) => batch_by_ids(col(0), a, b, out, field::number_ids),
            Function::Date(_) => batch_by_ids(col(0), a, b, out, field::date_ids),
            Function::Text(_) => batch_by_ids(col(0), a, b, out, field::text_ids),
            Function::List(_) => batch_by_ids(col(0), a, b, out, field::list_ids),
            Function::ImageHash | Function::AudioFingerprint | Function::Style => {
                out.extend(pairs.map(|(x, y)| self.level(t, x, y)));
            }
        }
    }

    /// The column a comparison's exact level (and its term frequency) is about.
    pub fn main_column<'t>(&self, t: &'t RecordTable) -> Option<&'t Column> {
        self.cols[0].map(|c| &t.columns[c])
    }

    /// For the style comparison, the calibrated verification of the pair (`None` when
    /// the comparison is another, or the pair's level is null).
    pub fn style_verification(
        &self,
        t: &RecordTable,
        a: u32,
        b: u32,
    ) -> Option<spirit_text::style::Verification> {
        if self.function != Function::Style {
            return None;
        }
        style_verification(self.cols[0].map(|c| &t.columns[c]), a, b)
    }

    /// For an exact-level pair, the relative frequency of the shared value (the rarest
    /// both hold, [`Column::shared_id`]), used for the term-frequency adjustment. `None`
    /// when the level is not exact.
    pub fn exact_frequency(&self, t: &RecordTable, a: u32, b: u32, level: u8) -> Option<f64> {
        if level != 1 {
            return None;
        }
        let col = &t.columns[self.cols[0]?];
        col.shared_id(a, b).map(|id| col.frequency(id))
    }

    /// For a comparison of one multi-valued column, the values of the pair that give
    /// its level (the best-matching pair, [`crate::values::best_pair`]) when either
    /// record holds several; `None` otherwise.
    pub fn matched_values<'t>(
        &self,
        t: &'t RecordTable,
        a: u32,
        b: u32,
    ) -> Option<(&'t str, &'t str)> {
        let col = self.main_column(t)?;
        if !(col.has_more(a) || col.has_more(b)) || self.cols[1].is_some() {
            return None;
        }
        let kernel = self.kernel()?;
        let (_, x, y) = best_ids(col, a, b, kernel)?;
        Some((&col.values[x as usize], &col.values[y as usize]))
    }

    /// The value-id kernel of a comparison of one column, if it is one.
    fn kernel(&self) -> Option<fn(&Column, u32, u32) -> u8> {
        Some(match self.function {
            Function::DateOfBirth => dob_ids,
            Function::Email => email_ids,
            Function::Phone => phone_ids,
            Function::Address => address_ids,
            Function::Identifier(_) => ident_ids,
            Function::Category(_) | Function::Exact(_) => category_ids,
            Function::Year(_) => field::year_ids,
            Function::Number(_) => field::number_ids,
            Function::Date(_) => field::date_ids,
            Function::Text(_) => field::text_ids,
            Function::List(_) => field::list_ids,
            _ => return None,
        })
    }
}

/// The level of a single-column comparison for records `a` and `b`: 0 when either has
/// no value, else `kernel` of their value ids (of their best-matching values when either
/// holds several).
#[inline]
fn by_ids(col: Option<&Column>, a: u32, b: u32, kernel: fn(&Column, u32, u32) -> u8) -> u8 {
    let Some(col) = col else { return 0 };
    if col.more.is_some() {
        return best_ids(col, a, b, kernel).map_or(0, |(level, _, _)| level);
    }
    match pair_ids(Some(col), a, b) {
        Some((x, y)) => kernel(col, x, y),
        None => 0,
    }
}

/// The best level of `kernel` over every pair of the two records' values, with the
/// value ids that give it.
fn best_ids(
    col: &Column,
    a: u32,
    b: u32,
    kernel: impl Fn(&Column, u32, u32) -> u8,
) -> Option<(u8, u32, u32)> {
    crate::values::best_pair(col.all_ids(a), col.all_ids(b), |x, y| kernel(col, x, y))
}

/// [`by_ids`] over a batch: the value ids of the left and the right records are
/// gathered first in tight loops (independent loads the processor overlaps), then the
/// kernel runs over the two id arrays.
fn batch_by_ids(
    col: Option<&Column>,
    a: &[u32],
    b: &[u32],
    out: &mut Vec<u8>,
    kernel: impl Fn(&Column, u32, u32) -> u8,
) {
    let Some(col) = col else {
        out.resize(a.len(), 0);
        return;
    };
    if col.more.is_some() {
        out.extend(
            a.iter()
                .zip(b)
                .map(|(&x, &y)| best_ids(col, x, y, &kernel).map_or(0, |(level, _, _)| level)),
        );
        return;
    }
    let gather = |r: &[u32]| -> Vec<u32> { r.iter().map(|&x| col.ids[x as usize]).collect() };
    let (ia, ib) = (gather(a), gather(b));
    out.extend(ia.iter().zip(&ib).map(|(&x, &y)| {
        if x == NULL_ID || y == NULL_ID {
            0
        } else {
            kernel(col, x, y)
        }
    }));
}

fn pair_ids(col: Option<&Column>, a: u32, b: u32) -> Option<(u32, u32)> {
    let col = col?;
    Some((col.id(a)?, col.id(b)?))
}

/// The fewest letters of a consonant skeleton that comparisons and blocking use. One:
/// `ليلى` is `ll`, whose skeleton `l` is all that `layla`, `leila` and `lola` have in
/// common with it. Only an unvowelled side ([`spirit_text::skeleton::is_skeletal`], two
/// letters or more) is compared so, so two spelled names never meet by one letter.
pub const MIN_SKELETON: usize = 1;

/// True when one of two names is written without vowels (an Arabic-script name,
/// [`spirit_text::skeleton::is_skeletal`]) and both have the same consonant skeleton of
/// at least [`MIN_SKELETON`] letters: `mhmd` and `mohammed`. Two spelled names never
/// meet this way.
pub fn same_skeleton(a: &str, b: &str) -> bool {
    use spirit_text::skeleton::{is_skeletal, name_skeleton};
    if !(is_skeletal(a) || is_skeletal(b)) {
        return false;
    }
    let skeleton = name_skeleton(a);
    skeleton.len() >= MIN_SKELETON && skeleton == name_skeleton(b)
}

fn metaphone(col: &Column, id: u32) -> &str {
    match &col.derived {
        Derived::Names { metaphone, .. } => &metaphone[id as usize],
        _ => "",
    }
}

/// Whether two name values share a nickname group (from the groups derived per value).
fn name_variants(col: &Column, x: u32, y: u32) -> bool {
    match &col.derived {
        Derived::Names { nicknames, .. } => {
            let (gx, gy) = (nicknames[x as usize], nicknames[y as usize]);
            !gx.is_empty() && gx.iter().any(|g| gy.contains(g))
        }
        _ => false,
    }
}

/// True when `a` and `b` are at most one insertion, deletion, substitution or adjacent
/// transposition apart (optimal string alignment distance ≤ 1).
pub fn within_one_edit(a: &str, b: &str) -> bool {
    within_one_edit_bytes(a.as_bytes(), b.as_bytes())
}

/// [`within_one_edit`] with spaces ignored, so that a space put in or left out
/// ("walkercrescent", "kirklandc ircuit") costs nothing. Values longer than 128 bytes
/// without their spaces are never close.
pub fn within_one_edit_ignoring_spaces(a: &str, b: &str) -> bool {
    fn compact<'b>(s: &str, buf: &'b mut [u8; 128]) -> Option<&'b [u8]> {
        let mut n = 0;
        for &c in s.as_bytes() {
            if c != b' ' {
                *buf.get_mut(n)? = c;
                n += 1;
            }
        }
        Some(&buf[..n])
    }
    let (mut x, mut y) = ([0u8; 128], [0u8; 128]);
    match (compact(a, &mut x), compact(b, &mut y)) {
        (Some(x), Some(y)) => within_one_edit_bytes(x, y),
        _ => false,
    }
}

fn within_one_edit_bytes(a: &[u8], b: &[u8]) -> bool {
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if prefix == la && la == lb {
        return true;
    }
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    if la == lb {
        // substitution or adjacent transposition
        if ra[1..] == rb[1..] {
            return true;
        }
        ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..]
    } else if la > lb {
        ra[1..] == *rb
    } else {
        *ra == rb[1..]
    }
}

/// Jaro-Winkler similarity in [0, 1] (prefix weight 0.1, prefix up to 4), over bytes:
/// normalised values are ASCII.
#[inline]
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    rapidfuzz::distance::jaro_winkler::similarity(a.bytes(), b.bytes())
}

/// True when the Jaro-Winkler similarity of `a` and `b` reaches `threshold`; skips the
/// computation when the lengths alone rule it out.
#[inline]
pub fn jaro_winkler_at_least(a: &str, b: &str, threshold: f64) -> bool {
    NameSimilarity::new(a, b).at_least(threshold)
}

/// An upper bound of [`jaro_winkler`] from the letters the two values share and their
/// common prefix, at a fraction of its cost. Jaro counts `m` matching characters, each a
/// character of one value that occurs in the other, so `m` is at most the number of
/// characters of either value found in the other's set; Jaro ≤ (m/|a| + m/|b| + 1)/3,
/// and Winkler adds 0.1·(1 − Jaro) per common prefix character, up to four.
fn jaro_winkler_bound(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let set = |v: &[u8]| v.iter().fold(0u64, |m, &c| m | 1 << (c & 63));
    let (sa, sb) = (set(a), set(b));
    let found = |v: &[u8], other: u64| v.iter().filter(|&&c| other >> (c & 63) & 1 == 1).count();
    let m = found(a, sb).min(found(b, sa)) as f64;
    if m == 0.0 {
        return 0.0;
    }
    let (la, lb) = (a.len() as f64, b.len() as f64);
    let jaro = (m / la + m / lb + 1.0) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + 0.1 * prefix * (1.0 - jaro)
}

fn close_name(a: &str, b: &str) -> bool {
    NameSimilarity::new(a, b).close()
}

/// Two name values and their Jaro-Winkler similarity, computed at most once (the levels
/// of a name comparison test it against two thresholds).
struct NameSimilarity<'a> {
    a: &'a str,
    b: &'a str,
    jw: Option<f64>,
}

impl<'a> NameSimilarity<'a> {
    fn new(a: &'a str, b: &'a str) -> Self {
        NameSimilarity { a, b, jw: None }
    }

    /// Whether the similarity reaches `threshold`, computed only when the lengths do
    /// not rule it out, and remembered once computed.
    fn at_least(&mut self, threshold: f64) -> bool {
        if let Some(jw) = self.jw {
            return jw >= threshold;
        }
        let (la, lb) = (self.a.len() as f64, self.b.len() as f64);
        if la == 0.0 || lb == 0.0 {
            return la == lb && threshold <= 1.0;
        }
        // Jaro ≤ (m/|a| + m/|b| + 1)/3 with m ≤ min length; the prefix adds at most
        // 0.4·(1−jaro).
        let shorter = la.min(lb);
        let jaro_max = (shorter / la + shorter / lb + 1.0) / 3.0;
        if jaro_max + 0.4 * (1.0 - jaro_max) < threshold {
            return false;
        }
        if jaro_winkler_bound(self.a.as_bytes(), self.b.as_bytes()) < threshold - 1e-9 {
            return false;
        }
        let jw = jaro_winkler(self.a, self.b);
        self.jw = Some(jw);
        jw >= threshold
    }

    /// One typo apart (both at least three letters) or Jaro-Winkler ≥ 0.94.
    fn close(&mut self) -> bool {
        (self.a.len() >= 3 && self.b.len() >= 3 && within_one_edit(self.a, self.b))
            || self.at_least(0.94)
    }
}

/// The level of a name comparison: `kernel` of the two records' names, or of their
/// closest spellings when either is written in another script and has several.
#[inline]
fn name_level(
    col: Option<&Column>,
    other: Option<&Column>,
    a: u32,
    b: u32,
    kernel: fn(&Column, Option<&Column>, u32, u32, u32, u32) -> u8,
) -> u8 {
    let Some(col) = col else { return 0 };
    if col.more.is_some() && (col.has_more(a) || col.has_more(b)) {
        return best_ids(col, a, b, |c, x, y| kernel(c, other, a, b, x, y))
            .map_or(0, |(level, _, _)| level);
    }
    match (col.id(a), col.id(b)) {
        (Some(ia), Some(ib)) => kernel(col, other, a, b, ia, ib),
        _ => 0,
    }
}

fn given_name_level(g: Option<&Column>, s: Option<&Column>, a: u32, b: u32) -> u8 {
    name_level(g, s, a, b, given_name_ids)
}

/// The given-name level of records `a` and `b` for their spellings `ia` and `ib`.
fn given_name_ids(g: &Column, s: Option<&Column>, a: u32, b: u32, ia: u32, ib: u32) -> u8 {
    if ia == ib {
        return 1;
    }
    let (va, vb) = (&*g.values[ia as usize], &*g.values[ib as usize]);
    if swapped(g, s, a, b) {
        return 4;
    }
    let mut sim = NameSimilarity::new(va, vb);
    if sim.close() {
        return 2;
    }
    if name_variants(g, ia, ib) {
        return 3;
    }
    let (ma, mb) = (metaphone(g, ia), metaphone(g, ib));
    if (!ma.is_empty() && ma == mb) || sim.at_least(0.85) || same_skeleton(va, vb) {
        return 5;
    }
    let initial = |x: &str, y: &str| x.len() == 1 && y.starts_with(x);
    if initial(va, vb) || initial(vb, va) {
        return 6;
    }
    7
}

fn surname_level(s: Option<&Column>, g: Option<&Column>, a: u32, b: u32) -> u8 {
    name_level(s, g, a, b, surname_ids)
}

/// The surname level of records `a` and `b` for their spellings `ia` and `ib`.
fn surname_ids(s: &Column, g: Option<&Column>, a: u32, b: u32, ia: u32, ib: u32) -> u8 {
    if ia == ib {
        return 1;
    }
    if g.is_some_and(|g| swapped(g, Some(s), a, b)) {
        return 3;
    }
    let (va, vb) = (&*s.values[ia as usize], &*s.values[ib as usize]);
    let mut sim = NameSimilarity::new(va, vb);
    if sim.close() {
        return 2;
    }
    let (ma, mb) = (metaphone(s, ia), metaphone(s, ib));
    if (!ma.is_empty() && ma == mb) || sim.at_least(0.85) || same_skeleton(va, vb) {
        return 4;
    }
    5
}

/// Given name of one record is the surname of the other, both ways (one of the two
/// crossings may carry a typo).
fn swapped(g: &Column, s: Option<&Column>, a: u32, b: u32) -> bool {
    let Some(s) = s else { return false };
    let (Some(ga), Some(gb), Some(sa), Some(sb)) = (g.get(a), g.get(b), s.get(a), s.get(b)) else {
        return false;
    };
    // Each crossed pair equal or one typo apart, and at least one of them exact, so two
    // typos never pass for a swap.
    // The exact crossing first: it is the cheap test that rules most pairs out.
    let near = |x: &str, y: &str| x == y || close_name(x, y);
    ga != gb && (ga == sb || sa == gb) && near(ga, sb) && near(sa, gb)
}

fn dob_ids(col: &Column, ia: u32, ib: u32) -> u8 {
    let Derived::Dates { dates } = &col.derived else {
        return 0;
    };
    let (da, db): (PartialDate, PartialDate) = (dates[ia as usize], dates[ib as usize]);
    if ia == ib && da.is_complete() {
        return 1;
    }
    if !da.is_complete() || !db.is_complete() {
        fn agree<T: PartialEq>(x: Option<T>, y: Option<T>) -> bool {
            x.is_none() || y.is_none() || x == y
        }
        let known_equal =
            agree(da.year, db.year) && agree(da.month, db.month) && agree(da.day, db.day);
        return if known_equal && da.year.is_some() && db.year.is_some() {
            2
        } else {
            6
        };
    }
    if da.year == db.year && da.month == db.day && da.day == db.month {
        return 3;
    }
    if within_one_edit(&col.values[ia as usize], &col.values[ib as usize]) {
        return 4;
    }
    let years_apart = da
        .year
        .zip(db.year)
        .map(|(x, y)| x.abs_diff(y))
        .unwrap_or(u16::MAX);
    if (da.year == db.year && da.month == db.month)
        || (years_apart <= 1 && da.month == db.month && da.day == db.day)
    {
        return 5;
    }
    6
}

fn email_ids(col: &Column, ia: u32, ib: u32) -> u8 {
    if ia == ib {
        return 1;
    }
    let (va, vb) = (&*col.values[ia as usize], &*col.values[ib as usize]);
    fn local(e: &str) -> &str {
        e.split('@').next().unwrap_or("")
    }
    let (la, lb) = (local(va), local(vb));
    if la.len() >= 3 && la == lb {
        return 2;
    }
    if within_one_edit(va, vb) || jaro_winkler_at_least(va, vb, 0.94) {
        return 3;
    }
    4
}

fn phone_ids(col: &Column, ia: u32, ib: u32) -> u8 {
    if ia == ib {
        return 1;
    }
    let Derived::Phones { tail } = &col.derived else {
        return 0;
    };
    let (ta, tb) = (&*tail[ia as usize], &*tail[ib as usize]);
    if ta.len() >= 7 && ta == tb {
        return 1;
    }
    if within_one_edit(ta, tb) {
        return 2;
    }
    3
}

/// Jaccard similarity of two sorted, deduplicated token sets.
pub fn token_jaccard(x: &[u64], y: &[u64]) -> f64 {
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let common = shared_tokens(x, y);
    common as f64 / (x.len() + y.len() - common) as f64
}

/// The number of tokens two sorted, deduplicated token sets share.
pub fn shared_tokens(x: &[u64], y: &[u64]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common
}

fn address_ids(col: &Column, x: u32, y: u32) -> u8 {
    if x == y {
        return 1;
    }
    let Derived::Addresses { tokens, numbers } = &col.derived else {
        return 0;
    };
    let (x, y) = (x as usize, y as usize);
    let jac = token_jaccard(&tokens[x], &tokens[y]);
    let numbers_agree = numbers[x] == numbers[y];
    if (jac >= 0.6 && numbers_agree)
        || within_one_edit_ignoring_spaces(&col.values[x], &col.values[y])
    {
        return 2;
    }
    if jac >= 0.34 || (numbers_agree && !numbers[x].is_empty() && jac > 0.0) {
        return 3;
    }
    4
}

fn area_level(
    post: Option<&Column>,
    city: Option<&Column>,
    region: Option<&Column>,
    a: u32,
    b: u32,
) -> u8 {
    let post_ids = pair_ids(post, a, b);
    let city_ids = pair_ids(city, a, b);
    let region_ids = pair_ids(region, a, b);
    if post_ids.is_none() && city_ids.is_none() && region_ids.is_none() {
        return 0;
    }
    let same = |p: Option<(u32, u32)>| p.map(|(x, y)| x == y);
    let (post_same, city_same) = (same(post_ids), same(city_ids));
    if post_same == Some(true) {
        return if city_same == Some(false) { 2 } else { 1 };
    }
    let post_close = match (post, post_ids) {
        (Some(c), Some((x, y))) => within_one_edit(&c.values[x as usize], &c.values[y as usize]),
        _ => false,
    };
    if city_same == Some(true) {
        return if post_close { 3 } else { 4 };
    }
    if same(region_ids) == Some(true) {
        return 5;
    }
    6
}

fn ident_ids(col: &Column, ia: u32, ib: u32) -> u8 {
    if ia == ib {
        return 1;
    }
    if within_one_edit(&col.values[ia as usize], &col.values[ib as usize]) {
        return 2;
    }
    3
}

fn audio_level(col: Option<&Column>, a: u32, b: u32) -> u8 {
    let Some((ia, ib)) = pair_ids(col, a, b) else {
        return 0;
    };
    let Some(Column {
        derived: Derived::AudioFingerprints { prints, .. },
        ..
    }) = col
    else {
        return 0;
    };
    let (x, y) = (&prints[ia as usize], &prints[ib as usize]);
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    if ia == ib {
        return 1;
    }
    crate::evidence::audio_fingerprint_level(x, y)
}

fn image_hash_level(col: Option<&Column>, a: u32, b: u32) -> u8 {
    let Some((ia, ib)) = pair_ids(col, a, b) else {
        return 0;
    };
    let col = col.expect("checked above");
    let Derived::ImageHashes { hashes } = &col.derived else {
        return 0;
    };
    let d = crate::evidence::image_hash_distance(hashes[ia as usize], hashes[ib as usize]);
    crate::evidence::image_hash_level(d)
}

/// The verification of two records' style profiles, when both have one long enough.
fn style_verification(
    col: Option<&Column>,
    a: u32,
    b: u32,
) -> Option<spirit_text::style::Verification> {
    let (ia, ib) = pair_ids(col, a, b)?;
    let Derived::StyleProfiles { profiles } = &col?.derived else {
        return None;
    };
    let (pa, pb) = (
        profiles[ia as usize].as_deref()?,
        profiles[ib as usize].as_deref()?,
    );
    let min = spirit_text::style::MIN_WORDS;
    if pa.words() < min || pb.words() < min {
        return None;
    }
    Some(spirit_text::style::verify(pa, pb))
}

fn category_ids(_col: &Column, x: u32, y: u32) -> u8 {
    if x == y { 1 } else { 2 }
}

pub mod field;
#[cfg(test)]
mod tests;
