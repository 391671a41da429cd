//! Person names: normalisation, splitting full names, and the name-variant (nickname) table.
//!
//! [`normalise_name`] folds a name (see [`crate::fold()`]; apostrophes inside a word are dropped so
//! "O'Brien" stays one word), removes honorifics at the front ("Mr", "Dr", "Prof", …) and
//! suffixes at the end ("Jr", "III", "PhD", …), and joins surname particles to the word that
//! follows them ("van der Berg" → "vanderberg", "de la Cruz" → "delacruz", "Mc Donald" →
//! "mcdonald", "St John" → "stjohn"), so that the spellings of one surname with and without
//! spaces meet.
//!
//! [`nickname_groups`] and [`are_name_variants`] answer "can these two given names belong to
//! the same person?" from a table of name-variant groups (diminutives, spelling variants and
//! common international forms) kept in `data/nicknames.txt`.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use crate::fold::{fold_name, fold_name_as};

/// Normalises a given name, surname or full name.
///
/// Steps: fold (lowercase ASCII words; an apostrophe between letters is dropped, so "O'Brien"
/// → "obrien"); drop honorifics from the front and suffixes from the end; join surname
/// particles to the following word.
///
/// - Honorifics that are never names ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev",
///   "capt", "sgt", "mme", "herr", "sra", …) are dropped even when nothing else is left.
///   Title words that are also names or surnames ("sir", "lord", "lady", "major", "father",
///   "hon", …) are dropped only when another word follows them.
/// - Suffixes ("jr", "sr", "jnr", "snr", "ii", "iii", "iv", "phd", "esq", "obe", "qc", …) are
///   dropped from the end; "md" only when another word precedes it (it is also a common
///   abbreviation of Mohammed).
/// - Particles: al, el, ben, bin, bint, ibn, ap, da, das, de, dei, del, dela, della, delle,
///   dello, degli, den, der, des, di, do, dos, du, la, las, le, les, los, mc, st, ste, te, ten,
///   ter, van, vande, vanden, vander, von, zu. A particle joins the word after it, chains of
///   particles join together ("van der berg" → "vanderberg"); "saint"/"sainte" followed by a
///   word become "st"/"ste" first. A single spaced "o" joins only a known Irish surname stem
///   ("o brien" → "obrien"), because a lone "o" is more often an initial. A particle that
///   ends the name stays a separate word.
///
/// Returns `None` when nothing remains: empty input, only punctuation, only honorifics, and
/// placeholders such as "n/a", "null", "none", "unknown", "not known", "-", "?".
///
/// The result is idempotent: `normalise_name(n) == Some(n)` for every returned `n`.
///
/// ```
/// use spirit_text::normalise_name;
/// assert_eq!(normalise_name("Dr. Hans van der Berg Jr."), Some("hans vanderberg".into()));
/// assert_eq!(normalise_name("  Zoë  O'Brien-Smith "), Some("zoe obrien smith".into()));
/// assert_eq!(normalise_name("N/A"), None);
/// ```
pub fn normalise_name(s: &str) -> Option<String> {
    normalise_name_as(s, None)
}

/// [`normalise_name`], spelling a Cyrillic or Greek name by `hint` (the language of the
/// record it belongs to, [`crate::translit::Scheme::detect_all`]) when its own letters do
/// not tell the language.
pub fn normalise_name_as(s: &str, hint: Option<crate::translit::Scheme>) -> Option<String> {
    if is_raw_placeholder(s) {
        return None;
    }
    normalise_folded(fold_name_as(s, hint))
}

/// The plausible Latin spellings of a raw name, the first being [`normalise_name_as`]'s.
/// A Cyrillic name is also spelled the general (Russian-style) way, as older documents
/// and foreign registers write it (`Григорій`: `hryhorii`, `grigorii`); when its letters
/// do not tell its language (`Олег`), also under each national scheme (`oleg`, `oleh`). A
/// Greek name is also spelled the classical way. Other names have one spelling.
///
/// ```
/// use spirit_text::names::name_spellings;
/// assert_eq!(name_spellings("Григорій", None), ["hryhorii", "grigorii"]);
/// assert_eq!(name_spellings("Олег", None), ["oleg", "oleh"]);
/// assert_eq!(name_spellings("Smith", None), ["smith"]);
/// ```
pub fn name_spellings(s: &str, hint: Option<crate::translit::Scheme>) -> Vec<String> {
    use crate::translit::Scheme;
    let Some(first) = normalise_name_as(s, hint) else {
        return Vec::new();
    };
    let mut out = vec![first];
    if s.is_ascii() {
        return out;
    }
    let own = Scheme::detect(s);
    let cyrillic = s.chars().any(crate::translit::is_cyrillic_letter);
    let others: &[Option<Scheme>] = match own {
        Some(_) if cyrillic => &[None],
        Some(Scheme::Greek) => &[None],
        None if cyrillic => &[
            None,
            Some(Scheme::Ukrainian),
            Some(Scheme::Belarusian),
            Some(Scheme::Bulgarian),
            Some(Scheme::Serbian),
            Some(Scheme::Macedonian),
        ],
        _ => &[],
    };
    for &scheme in others {
        let spelled = match scheme {
            None => normalise_folded(crate::fold::fold_name_general(s)),
            Some(scheme) => normalise_name_as(s, Some(scheme)),
        };
        if let Some(v) = spelled
            && !out.contains(&v)
        {
            out.push(v);
        }
    }
    out
}

/// [`normalise_name_as`] of a name already folded: titles, suffixes and particles.
fn normalise_folded(folded: String) -> Option<String> {
    if folded.is_empty() || is_placeholder(&folded) {
        return None;
    }
    if is_plain(&folded) {
        // Common path: no honorific, suffix or particle; the folded string is the answer.
        return Some(folded);
    }
    let all: Vec<&str> = folded.split(' ').collect();
    let tokens = strip_titles(&all);
    if tokens.is_empty() {
        return None;
    }
    let mut joined = join_particles(tokens);
    // Joining can create a new particle ("de" + "l" = "del"); repeat until nothing changes so
    // that the result is a fixed point (idempotence).
    while let Some(next) = joined.as_deref().and_then(|j| {
        let t: Vec<&str> = j.split(' ').collect();
        join_particles(&t)
    }) {
        joined = Some(next);
    }
    let out = joined.unwrap_or_else(|| tokens.join(" "));
    if is_placeholder(&out) {
        None
    } else {
        Some(out)
    }
}

/// Splits a raw full name into normalised `(given, surname)`.
///
/// - "Surname, Given Middle" (a comma): the surname is the part before the first comma, the
///   given name the first word after it. A part after a comma that is only a suffix or title
///   ("John Smith, Jr.") is ignored.
/// - "Given Middle Surname": the given name is the first word; the surname is the last word
///   together with any particles written before it ("Maria de la Cruz" → "delacruz", "Hans
///   van der Berg" → "vanderberg"). Middle names are dropped.
/// - A single word is returned as the given name, with no surname.
///
/// Words are whitespace-separated parts of the raw input, so a hyphenated name stays whole:
/// "Jean-Pierre O'Brien-Smith" → ("jean pierre", "obrien smith"), exactly what
/// [`normalise_name`] returns for "Jean-Pierre" and "O'Brien-Smith" on their own. Honorifics
/// and suffixes are dropped as in [`normalise_name`]; both outputs are normalised like it.
///
/// ```
/// use spirit_text::split_full_name;
/// assert_eq!(split_full_name("Mr John Paul Smith"), (Some("john".into()), Some("smith".into())));
/// assert_eq!(split_full_name("Smith, John"), (Some("john".into()), Some("smith".into())));
/// assert_eq!(split_full_name("Ben de la Cruz"), (Some("ben".into()), Some("delacruz".into())));
/// ```
pub fn split_full_name(s: &str) -> (Option<String>, Option<String>) {
    split_full_name_as(s, None)
}

/// [`split_full_name`], spelling a Cyrillic or Greek name by `hint` when the name's own
/// letters do not tell its language. A patronymic (`Иванович`, `Petrivna`) is recognised
/// and dropped, so "Ivanov Ivan Ivanovich" is given name "ivan", surname "ivanov", and
/// "Ivan Ivanovich Petrov" is "ivan", "petrov".
pub fn split_full_name_as(
    s: &str,
    hint: Option<crate::translit::Scheme>,
) -> (Option<String>, Option<String>) {
    // The whole name tells its language better than any one word of it.
    let hint = crate::translit::Scheme::detect(s).or(hint);
    let normalise_name = |w: &str| normalise_name_as(w, hint);
    let words = |p: &'_ str| -> Vec<(String, String)> {
        p.split_whitespace()
            .filter_map(|w| normalise_name(w).map(|n| (w.to_owned(), n)))
            .collect()
    };
    let parts: Vec<&str> = s
        .split([',', ';'])
        .filter(|p| normalise_name(p).is_some())
        .collect();
    if parts.len() >= 2 {
        let surname = normalise_name(parts[0]);
        let given = words(parts[1]).into_iter().next().map(|(_, n)| n);
        return (given, surname);
    }
    let Some(whole) = parts.first() else {
        return (None, None);
    };
    let mut words: Vec<(String, String)> = words(whole);
    // Title words that are also names ("Lord", "Major") are titles when a name follows them.
    while words.len() >= 2 && is_ambiguous_title(&words[0].1) {
        words.remove(0);
    }
    while words.len() >= 2 && words[words.len() - 1].1 == "md" {
        words.pop();
    }
    if words.len() == 3 {
        if is_patronymic(&words[2].1) {
            // Surname, given name, patronymic: the order of Russian and Ukrainian documents.
            return (Some(words[1].1.clone()), Some(words[0].1.clone()));
        }
        if is_patronymic(&words[1].1) {
            return (Some(words[0].1.clone()), Some(words[2].1.clone()));
        }
    }
    match words.len() {
        0 => (None, None),
        1 => (words.into_iter().next().map(|(_, n)| n), None),
        n => {
            // The surname starts at the last word and extends back over particles.
            let mut start = n - 1;
            while start > 1 && joins_next(&words[start - 1].1, &words[start].1) {
                start -= 1;
            }
            let raw_surname = words[start..]
                .iter()
                .map(|(raw, _)| raw.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let given = words.into_iter().next().map(|(_, n)| n);
            (given, normalise_name(&raw_surname))
        }
    }
}

/// True for an East Slavic patronymic, folded (`ivanovich`, `petrivna`, `ilinichna`):
/// one word of at least seven letters ending in a patronymic suffix.
pub fn is_patronymic(word: &str) -> bool {
    const SUFFIXES: [&str; 10] = [
        "ovich", "evich", "ovych", "evych", "avich", "ovna", "evna", "ivna", "avna", "ichna",
    ];
    word.len() >= 7 && !word.contains(' ') && SUFFIXES.iter().any(|s| word.ends_with(s))
}

/// True when the normalised word `word` is a particle that would join `next`.
fn joins_next(word: &str, next: &str) -> bool {
    is_particle(word) || word == "saint" || word == "sainte" || (word == "o" && is_o_stem(next))
}

/// "n/a" and friends, recognised before folding (folding would turn "n/a" into "n a").
fn is_raw_placeholder(s: &str) -> bool {
    let t = s.trim();
    if t == "NaN" {
        return true;
    }
    t.len() <= 5
        && ["n/a", "n.a.", "n.a", "n\\a", "#n/a", "n/a."]
            .iter()
            .any(|p| t.eq_ignore_ascii_case(p))
}

/// Whole-value placeholders meaning "no name", after folding.
fn is_placeholder(folded: &str) -> bool {
    matches!(
        folded,
        "null"
            | "none"
            | "unknown"
            | "not known"
            | "not available"
            | "not applicable"
            | "not provided"
            | "not given"
            | "not stated"
            | "no name"
            | "undefined"
            | "redacted"
            | "withheld"
    )
}

/// True when no word of `folded` needs stripping or joining (so the fold is already final).
fn is_plain(folded: &str) -> bool {
    let first = folded.split(' ').next().unwrap_or("");
    let last = folded.rsplit(' ').next().unwrap_or("");
    !(is_honorific(first)
        || is_ambiguous_title(first)
        || is_suffix(last)
        || last == "md"
        || folded
            .split(' ')
            .any(|w| is_particle(w) || w == "o" || w == "saint" || w == "sainte"))
}

/// The tokens left after removing honorifics from the front and suffixes from the end,
/// repeatedly (each removal can expose another).
fn strip_titles<'a, 'b>(tokens: &'b [&'a str]) -> &'b [&'a str] {
    let (mut start, mut end) = (0, tokens.len());
    loop {
        let before = (start, end);
        while start < end
            && (is_honorific(tokens[start])
                || (is_ambiguous_title(tokens[start]) && end - start >= 2))
        {
            start += 1;
        }
        while start < end
            && (is_suffix(tokens[end - 1]) || (tokens[end - 1] == "md" && end - start >= 2))
        {
            end -= 1;
        }
        if (start, end) == before {
            return &tokens[start..end];
        }
    }
}

/// Joins particles to the following word. Returns `None` when nothing was joined.
fn join_particles(tokens: &[&str]) -> Option<String> {
    let mut out = String::with_capacity(tokens.iter().map(|t| t.len() + 1).sum());
    let mut changed = false;
    let mut i = 0;
    while i < tokens.len() {
        if !out.is_empty() {
            out.push(' ');
        }
        let start = out.len();
        let mut last = tokens[i];
        if i + 1 < tokens.len() && (last == "saint" || last == "sainte") {
            last = if last == "saint" { "st" } else { "ste" };
            changed = true;
        }
        out.push_str(last);
        i += 1;
        while i < tokens.len() {
            let next = tokens[i];
            let current = &out[start..];
            let joins =
                is_particle(last) || is_particle(current) || (last == "o" && is_o_stem(next));
            if !joins || would_be_dropped(current, next) {
                break;
            }
            out.push_str(next);
            last = next;
            changed = true;
            i += 1;
        }
    }
    changed.then_some(out)
}

/// True when `a + b` would be a word that normalisation drops (joining must not create one,
/// or normalising the result again would change it).
fn would_be_dropped(a: &str, b: &str) -> bool {
    let mut buf = [0u8; 24];
    let len = a.len() + b.len();
    if len > buf.len() {
        return false;
    }
    buf[..a.len()].copy_from_slice(a.as_bytes());
    buf[a.len()..len].copy_from_slice(b.as_bytes());
    let Ok(w) = std::str::from_utf8(&buf[..len]) else {
        return false;
    };
    is_honorific(w) || is_ambiguous_title(w) || is_suffix(w) || w == "md" || is_placeholder(w)
}

/// Titles that are never a name on their own; dropped from the front even if nothing remains.
fn is_honorific(w: &str) -> bool {
    matches!(
        w,
        "mr" | "mrs"
            | "ms"
            | "miss"
            | "mx"
            | "mstr"
            | "messrs"
            | "mister"
            | "missus"
            | "dr"
            | "prof"
            | "rev"
            | "revd"
            | "capt"
            | "cpt"
            | "col"
            | "lt"
            | "sgt"
            | "cpl"
            | "maj"
            | "insp"
            | "supt"
            | "mme"
            | "mlle"
            | "mmes"
            | "herr"
            | "frau"
            | "fraulein"
            | "sra"
            | "srta"
            | "sr"
            | "dott"
            | "ing"
    )
}

/// Title words that are also names or surnames; dropped only when another word follows.
fn is_ambiguous_title(w: &str) -> bool {
    matches!(
        w,
        "sir"
            | "dame"
            | "lady"
            | "lord"
            | "master"
            | "madam"
            | "madame"
            | "mademoiselle"
            | "monsieur"
            | "senor"
            | "senora"
            | "senorita"
            | "signor"
            | "signora"
            | "signorina"
            | "doctor"
            | "professor"
            | "reverend"
            | "father"
            | "sister"
            | "brother"
            | "captain"
            | "colonel"
            | "major"
            | "general"
            | "sergeant"
            | "hon"
            | "honourable"
            | "honorable"
            | "fr"
            | "rabbi"
            | "imam"
            | "pastor"
            | "gen"
    )
}

/// Suffixes dropped from the end of a name.
fn is_suffix(w: &str) -> bool {
    matches!(
        w,
        "jr" | "jnr"
            | "junr"
            | "sr"
            | "snr"
            | "senr"
            | "ii"
            | "iii"
            | "iv"
            | "2nd"
            | "3rd"
            | "phd"
            | "dphil"
            | "esq"
            | "dds"
            | "dmd"
            | "mba"
            | "msc"
            | "bsc"
            | "llb"
            | "llm"
            | "obe"
            | "mbe"
            | "cbe"
            | "kbe"
            | "dbe"
            | "qc"
            | "kc"
            | "cpa"
            | "rn"
    )
}

/// Surname particles joined to the word that follows them.
fn is_particle(w: &str) -> bool {
    matches!(
        w,
        "al" | "el"
            | "ben"
            | "bin"
            | "bint"
            | "binti"
            | "ibn"
            | "ap"
            | "da"
            | "das"
            | "de"
            | "dei"
            | "del"
            | "dela"
            | "della"
            | "delle"
            | "dello"
            | "degli"
            | "delos"
            | "den"
            | "der"
            | "des"
            | "di"
            | "do"
            | "dos"
            | "du"
            | "la"
            | "las"
            | "le"
            | "les"
            | "los"
            | "mc"
            | "st"
            | "ste"
            | "te"
            | "ten"
            | "ter"
            | "van"
            | "vande"
            | "vanden"
            | "vander"
            | "von"
            | "zu"
    )
}

/// Irish surnames written "O'…": a spaced "o" before one of these is the same surname.
fn is_o_stem(w: &str) -> bool {
    matches!(
        w,
        "beirne"
            | "boyle"
            | "brian"
            | "brien"
            | "bryan"
            | "byrne"
            | "callaghan"
            | "carroll"
            | "connell"
            | "connor"
            | "conner"
            | "conor"
            | "dea"
            | "doherty"
            | "donnell"
            | "donoghue"
            | "donohue"
            | "donovan"
            | "dowd"
            | "driscoll"
            | "dwyer"
            | "farrell"
            | "flaherty"
            | "flynn"
            | "gara"
            | "gorman"
            | "grady"
            | "hagan"
            | "halloran"
            | "hanlon"
            | "hara"
            | "hare"
            | "hea"
            | "hearn"
            | "higgins"
            | "keefe"
            | "keeffe"
            | "kane"
            | "kelly"
            | "leary"
            | "loughlin"
            | "mahoney"
            | "mahony"
            | "malley"
            | "mara"
            | "meara"
            | "neal"
            | "neil"
            | "neill"
            | "regan"
            | "reilly"
            | "riordan"
            | "rourke"
            | "shaughnessy"
            | "shea"
            | "sullivan"
            | "toole"
    )
}

// ---------------------------------------------------------------------------------------------
// Name-variant (nickname) table.

/// The raw table: one group per line, names comma-separated, `#` starts a comment.
const NICKNAMES_TXT: &str = include_str!("../data/nicknames.txt");

struct NicknameTable {
    /// Normalised name → sorted, deduplicated group ids.
    groups_of: FxHashMap<Box<str>, Box<[u32]>>,
    /// Group id → canonical (first) name of the group.
    canonical: Vec<Box<str>>,
}

static NICKNAMES: LazyLock<NicknameTable> = LazyLock::new(|| {
    let mut lists: FxHashMap<Box<str>, Vec<u32>> = FxHashMap::default();
    let mut canonical: Vec<Box<str>> = Vec::new();
    for line in NICKNAMES_TXT.lines() {
        let line = line.split('#').next().unwrap_or("");
        let names: Vec<String> = line
            .split(',')
            .map(crate::fold::fold)
            .filter(|n| !n.is_empty())
            .collect();
        if names.len() < 2 {
            continue;
        }
        let Ok(id) = u32::try_from(canonical.len()) else {
            break;
        };
        canonical.push(names[0].clone().into_boxed_str());
        for name in names {
            lists.entry(name.into_boxed_str()).or_default().push(id);
        }
    }
    let groups_of = lists
        .into_iter()
        .map(|(name, mut ids)| {
            ids.sort_unstable();
            ids.dedup();
            (name, ids.into_boxed_slice())
        })
        .collect();
    NicknameTable {
        groups_of,
        canonical,
    }
});

/// Name-variant groups of a normalised given name, sorted and deduplicated.
///
/// A group gathers a name with its diminutives, spelling variants and common international
/// forms: "william", "will", "bill", "billy", "liam" share one; "robert", "rob", "bob",
/// "bobby" another. A name may belong to several groups ("harry" to both henry's and
/// harold's, "alex" to alexander's and alexandra's, "chris" to christopher's, christine's,
/// christina's and christian's); all are returned. Names not in the table give an empty slice.
///
/// The input should be a single normalised word (see [`normalise_name`]); other input is
/// folded before the lookup.
///
/// ```
/// use spirit_text::nickname_groups;
/// assert!(!nickname_groups("bill").is_empty());
/// assert!(nickname_groups("harry").len() >= 2);
/// assert!(nickname_groups("zzyzx").is_empty());
/// ```
pub fn nickname_groups(name: &str) -> &'static [u32] {
    let table: &'static NicknameTable = &NICKNAMES;
    if let Some(ids) = table.groups_of.get(name) {
        return ids;
    }
    let is_folded = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if is_folded {
        return &[];
    }
    let folded = fold_name(name);
    table.groups_of.get(folded.as_str()).map_or(&[], |ids| ids)
}

/// The canonical (first-listed) name of a nickname group, e.g. "william" for the group of
/// "bill"; `None` for an unknown id.
pub fn nickname_group_name(group: u32) -> Option<&'static str> {
    let table: &'static NicknameTable = &NICKNAMES;
    table.canonical.get(group as usize).map(|n| &**n)
}

/// Number of groups in the nickname table.
pub fn nickname_group_count() -> usize {
    NICKNAMES.canonical.len()
}

/// True when the normalised given names `a` and `b` are equal or share a nickname group.
///
/// Symmetric. Empty names are never variants of anything (two empty values are missing data,
/// not agreement). Not transitive: "harry" is a variant of both "henry" and "harold", which are
/// not variants of each other.
///
/// ```
/// use spirit_text::are_name_variants;
/// assert!(are_name_variants("bill", "william"));
/// assert!(are_name_variants("peggy", "margaret"));
/// assert!(!are_name_variants("henry", "harold"));
/// ```
pub fn are_name_variants(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let (ga, gb) = (nickname_groups(a), nickname_groups(b));
    let (mut i, mut j) = (0, 0);
    while i < ga.len() && j < gb.len() {
        match ga[i].cmp(&gb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Option<String> {
        normalise_name(s)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn plain_names_fold() {
        assert_eq!(n("John"), some("john"));
        assert_eq!(n("  MÜLLER "), some("muller"));
        assert_eq!(n("Zoë"), some("zoe"));
        assert_eq!(n("  Zoë  O'Brien-Smith "), some("zoe obrien smith"));
        assert_eq!(n("Anne-Marie"), some("anne marie"));
    }

    #[test]
    fn non_latin_names() {
        assert_eq!(n("Дмитрий Иванов"), some("dmitrii ivanov"));
        assert_eq!(n("Γιώργος"), some("giorgos"));
        assert_eq!(n("王小明"), some("wang xiao ming"));
        assert_eq!(n("محمد"), some("mhmd"));
        assert_eq!(n("Nguyễn"), some("nguyen"));
    }

    #[test]
    fn honorifics_and_suffixes() {
        assert_eq!(n("Mr. John Smith"), some("john smith"));
        assert_eq!(n("Dr Prof Jane Doe PhD"), some("jane doe"));
        assert_eq!(n("Martin Luther King Jr."), some("martin luther king"));
        assert_eq!(n("Henry Ford III"), some("henry ford"));
        assert_eq!(n("Sir Elton John"), some("elton john"));
        assert_eq!(n("Mrs"), None);
        assert_eq!(n("Jr."), None);
        // Title words that are also surnames survive on their own.
        assert_eq!(n("Lord"), some("lord"));
        assert_eq!(n("Major"), some("major"));
        // "Md" is a common abbreviation of Mohammed at the front.
        assert_eq!(n("Md Rahman"), some("md rahman"));
        assert_eq!(n("Md"), some("md"));
        assert_eq!(n("John Smith MD"), some("john smith"));
        // Titles are only dropped at the ends.
        assert_eq!(n("Miss Dr"), None);
    }

    #[test]
    fn particles_join() {
        assert_eq!(n("van der Berg"), some("vanderberg"));
        assert_eq!(n("Hans van der Berg"), some("hans vanderberg"));
        assert_eq!(n("de la Cruz"), some("delacruz"));
        assert_eq!(n("O'Brien"), some("obrien"));
        assert_eq!(n("O Brien"), some("obrien"));
        assert_eq!(n("o brien"), some("obrien"));
        assert_eq!(n("Mc Donald"), some("mcdonald"));
        assert_eq!(n("McDonald"), some("mcdonald"));
        assert_eq!(n("St. John"), some("stjohn"));
        assert_eq!(n("Saint John"), some("stjohn"));
        assert_eq!(n("Ludwig von Beethoven"), some("ludwig vonbeethoven"));
        assert_eq!(
            n("Abdullah bin Hamad Al-Thani"),
            some("abdullah binhamad althani")
        );
        assert_eq!(n("D'Angelo"), some("dangelo"));
        assert_eq!(n("dos Santos"), some("dossantos"));
        // A lone "o" is an initial unless an Irish surname stem follows.
        assert_eq!(n("J O Smith"), some("j o smith"));
        // A particle at the end stays a word.
        assert_eq!(n("Smith de"), some("smith de"));
        // Chains that form a new particle keep joining.
        assert_eq!(n("de l cruz"), some("delcruz"));
    }

    #[test]
    fn joining_never_creates_a_dropped_word() {
        // "da" + "me" would be "dame", a title.
        assert_eq!(n("Da Me"), some("da me"));
        assert_eq!(n("da me"), n("da me").and_then(|x| n(&x)));
    }

    #[test]
    fn long_inputs_stay_linear() {
        let titles = "mr ".repeat(200_000) + "john " + &"jr ".repeat(200_000);
        assert_eq!(n(&titles), some("john"));
        let particles = "de ".repeat(100_000) + "cruz";
        assert_eq!(n(&particles).map(|x| x.len()), Some(2 * 100_000 + 4));
    }

    #[test]
    fn placeholders_are_none() {
        for p in [
            "",
            "   ",
            "-",
            "?",
            "...",
            "N/A",
            "n/a",
            "NULL",
            "None",
            "unknown",
            "UNKNOWN",
            "Not Known",
            "NaN",
            "#N/A",
            "Mr.",
        ] {
            assert_eq!(n(p), None, "{p:?}");
        }
        // Real names that look like placeholders are kept.
        assert_eq!(n("Na"), some("na"));
        assert_eq!(n("Nan"), some("nan"));
    }

    #[test]
    fn idempotent_on_examples() {
        for s in [
            "Dr. Hans van der Berg Jr.",
            "Maria de la Cruz",
            "O'Brien",
            "Da Me",
            "de l cruz",
            "sir",
            "Mr Saint John",
            "van",
            "van der",
            "lord van",
            "o de a",
        ] {
            let once = n(s);
            if let Some(once) = &once {
                assert_eq!(n(once).as_ref(), Some(once), "{s:?}");
            }
        }
    }

    #[test]
    fn split_simple_and_comma_forms() {
        let p = |s: &str| split_full_name(s);
        let pair = |g: &str, s: &str| (Some(g.to_string()), Some(s.to_string()));
        assert_eq!(p("John Smith"), pair("john", "smith"));
        assert_eq!(p("Mr John Paul Smith Jr"), pair("john", "smith"));
        assert_eq!(p("Smith, John"), pair("john", "smith"));
        assert_eq!(p("SMITH, Mr John Paul"), pair("john", "smith"));
        assert_eq!(p("van der Berg, Jan"), pair("jan", "vanderberg"));
        assert_eq!(p("John Smith, Jr."), pair("john", "smith"));
        assert_eq!(p("Hans van der Berg"), pair("hans", "vanderberg"));
        assert_eq!(p("Maria de la Cruz"), pair("maria", "delacruz"));
        assert_eq!(p("Ben Smith"), pair("ben", "smith"));
        assert_eq!(p("John O Brien"), pair("john", "obrien"));
        assert_eq!(p("Zoë O'Brien-Smith"), pair("zoe", "obrien smith"));
        assert_eq!(p("Jean-Pierre Dupont"), pair("jean pierre", "dupont"));
        assert_eq!(p("Иван Петров"), pair("ivan", "petrov"));
        assert_eq!(p("Sir Elton John"), pair("elton", "john"));
        assert_eq!(p("Jane Doe MD"), pair("jane", "doe"));
        assert_eq!(p("Γιώργος Παπαδόπουλος"), pair("giorgos", "papadopoulos"));
    }

    #[test]
    fn split_degenerate_inputs() {
        assert_eq!(split_full_name(""), (None, None));
        assert_eq!(split_full_name("  ,  "), (None, None));
        assert_eq!(split_full_name("Mr"), (None, None));
        assert_eq!(split_full_name("Madonna"), (Some("madonna".into()), None));
        assert_eq!(
            split_full_name("王小明"),
            (Some("wang xiao ming".into()), None)
        );
        assert_eq!(split_full_name("N/A"), (None, None));
    }

    #[test]
    fn split_agrees_with_normalise_name_on_surnames() {
        for (full, surname) in [
            ("Jan van der Berg", "van der Berg"),
            ("Ana de la Cruz", "de la Cruz"),
            ("Sean O'Brien-Smith", "O'Brien-Smith"),
            ("Mary St John", "St John"),
        ] {
            assert_eq!(split_full_name(full).1, normalise_name(surname), "{full}");
        }
    }

    #[test]
    fn nickname_table_is_well_formed() {
        assert!(nickname_group_count() >= 300, "{}", nickname_group_count());
        for line in NICKNAMES_TXT.lines() {
            let line = line.split('#').next().unwrap_or("");
            for name in line.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                // Every entry must already be in normalised single-word form, or lookups of
                // normalised names could never find it.
                assert_eq!(crate::fold::fold(name), name, "entry {name:?}");
                assert!(!name.contains(' '), "entry {name:?}");
                assert_eq!(
                    normalise_name(name).as_deref(),
                    Some(name),
                    "entry {name:?}"
                );
            }
        }
        for id in 0..nickname_group_count() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let canonical = nickname_group_name(id).unwrap_or("");
            assert!(nickname_groups(canonical).contains(&id), "{canonical}");
        }
        assert_eq!(nickname_group_name(u32::MAX), None);
    }

    #[test]
    fn nickname_examples() {
        for group in [
            &["bill", "will", "billy", "william", "liam", "willy"][..],
            &["bob", "robert", "rob", "bobby", "robbie"],
            &["peggy", "margaret", "maggie", "meg"],
            &["sasha", "alexander", "alex"],
            &["sasha", "alexandra", "alex"],
            &["johann", "hans"],
            &["giuseppe", "beppe"],
            &["francisco", "paco", "pancho"],
            &["aleksandr", "sasha"],
            &["ekaterina", "katya"],
            &["mohammed", "muhammad", "mohamed", "mohammad"],
            &["elizabeth", "liz", "beth", "betty", "eliza"],
            &["richard", "dick", "rick"],
            &["edward", "ted", "ned", "eddie"],
        ] {
            for a in group {
                for b in group {
                    assert!(are_name_variants(a, b), "{a} ~ {b}");
                }
            }
        }
    }

    #[test]
    fn names_in_several_groups() {
        let harry = nickname_groups("harry");
        assert!(harry.len() >= 2);
        assert!(
            harry.windows(2).all(|w| w[0] < w[1]),
            "sorted and deduplicated"
        );
        assert!(are_name_variants("harry", "henry"));
        assert!(are_name_variants("harry", "harold"));
        assert!(!are_name_variants("henry", "harold"));
        assert!(are_name_variants("alex", "alexander"));
        assert!(are_name_variants("alex", "alexandra"));
        assert!(!are_name_variants("alexander", "alexandra"));
        for other in ["christopher", "christine", "christina"] {
            assert!(are_name_variants("chris", other), "{other}");
        }
        assert!(!are_name_variants("christopher", "christine"));
    }

    #[test]
    fn variants_negative_and_edge_cases() {
        assert!(!are_name_variants("john", "william"));
        assert!(!are_name_variants("bill", "bob"));
        assert!(!are_name_variants("", ""));
        assert!(!are_name_variants("john", ""));
        assert!(are_name_variants("zzyzx", "zzyzx"));
        assert!(nickname_groups("").is_empty());
        assert!(nickname_groups("zzyzx").is_empty());
        // Un-normalised input is folded first.
        assert_eq!(nickname_groups("Bill"), nickname_groups("bill"));
        assert_eq!(nickname_groups("Zoë"), nickname_groups("zoe"));
    }
}
