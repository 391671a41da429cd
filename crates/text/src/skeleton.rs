//! Consonant skeletons: how a name written without its vowels meets its Latin spellings.
//!
//! Arabic script writes most vowels not at all (`محمد` is m-ḥ-m-d), so no single Latin
//! spelling of it is right: registers write `Mohammed`, `Muhammad`, `Mohamed`. What they
//! share is their consonants. [`name_skeleton`] keeps those of a folded name, its words
//! joined (`abdullah` is `عبد الله`): the first letter (a vowel as `a`), then every
//! consonant, with `y` and `w` counted as
//! vowels (Arabic and Hebrew write long vowels with the same letters), the letters that
//! Latin spellings of one Arabic or Hebrew letter disagree on as one (`v` and `b`, `f`
//! and `p`, `ch` and `h`, `sh` and `s`), and runs of one letter as one (doubled
//! consonants are not written either). `mohammed`, `muhammad` and
//! the transliteration of `محمد` (`mhmd`, from the `translit` module) all give `mhmd`.
//!
//! A skeleton is coarse: `mohammed` and `mahmoud` meet, and so do `hassan` and
//! `hussein`. Comparisons use it only when one side is [`is_skeletal`] (a value written
//! without vowels, as Arabic transliterates), never between two fully spelled names.

/// The consonant skeleton of a folded name (`[a-z0-9 ]`): words joined, the first letter
/// kept (a vowel as `a`), later vowels, `y` and `w` dropped; letters that one script
/// spells two ways as one (`sh` `s`, `ch` `h`, `ph` and `f` `p`, `th` `t`, `ts`
/// and `tz` `s`, `v` `b`, `q` and `c` `k`), repeated letters as one, a final `h` dropped.
///
/// ```
/// use spirit_text::skeleton::name_skeleton;
/// assert_eq!(name_skeleton("mohammed"), "mhmd");
/// assert_eq!(name_skeleton("yousef"), "ysp");
/// assert_eq!(name_skeleton("abdul rahman"), "abdlrhmn");
/// assert_eq!(name_skeleton("omar"), "amr");
/// assert_eq!(name_skeleton("avraham"), "abrhm");
/// ```
pub fn name_skeleton(folded: &str) -> String {
    let letters: Vec<char> = folded.chars().filter(|c| *c != ' ').collect();
    let mut out = String::with_capacity(letters.len());
    let mut last = None;
    let mut i = 0;
    while i < letters.len() {
        let (c, used) = match (letters[i], letters.get(i + 1)) {
            ('s', Some('h')) => ('s', 2),
            ('c', Some('h')) => ('h', 2),
            ('p', Some('h')) => ('p', 2),
            ('t', Some('h')) => ('t', 2),
            ('d', Some('h')) => ('d', 2),
            ('g', Some('h')) => ('g', 2),
            ('z', Some('h')) => ('z', 2),
            ('t', Some('s' | 'z')) => ('s', 2),
            ('q' | 'c', _) => ('k', 1),
            ('v', _) => ('b', 1),
            ('f', _) => ('p', 1),
            (c, _) if i == 0 && is_vowel(c) => ('a', 1),
            (c, _) if i > 0 && (is_vowel(c) || c == 'y' || c == 'w') => {
                i += 1;
                continue;
            }
            (c, _) => (c, 1),
        };
        i += used;
        if last != Some(c) {
            out.push(c);
        }
        last = Some(c);
    }
    // A final `h` is written in one spelling and not another (`sarah`, `moshe`).
    if out.len() > 1 && out.ends_with('h') {
        out.pop();
    }
    out
}

/// True when a folded name is written as a skeleton: at least two letters, and no vowel
/// (`a e i o u y`) after the first letter of any word. Arabic names transliterate so
/// (`mhmd`, `ahmd`); spelled names hardly ever are.
pub fn is_skeletal(folded: &str) -> bool {
    folded.len() >= 2
        && folded.split(' ').all(|w| {
            w.chars()
                .skip(1)
                .all(|c| !(is_vowel(c) || c == 'y') && c.is_ascii_alphabetic())
        })
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_spellings_meet_their_skeleton() {
        for (spellings, skeleton) in [
            (&["mohammed", "muhammad", "mohamed", "mhmd"][..], "mhmd"),
            (&["hussein", "husayn", "hsyn"][..], "hsn"),
            (&["fatima", "fatma", "ftm"][..], "ptm"),
            (&["khaled", "khalid", "khld"][..], "khld"),
            (&["qasim", "kasim", "ksm"][..], "ksm"),
            (&["ibrahim", "ebrahim", "abrhm"][..], "abrhm"),
            (&["haddad", "hadad", "hdd"][..], "hd"),
            (&["yitzhak", "yitzchak", "ytshk"][..], "yshk"),
            (&["moshe", "msh"][..], "ms"),
            (&["sarah", "sara", "shrh"][..], "sr"),
        ] {
            for s in spellings {
                assert_eq!(name_skeleton(s), skeleton, "{s}");
            }
        }
        assert_eq!(name_skeleton("abdullah"), name_skeleton("abd allh"));
        assert_ne!(name_skeleton("yousef"), name_skeleton("younis"));
    }

    #[test]
    fn only_unvowelled_values_are_skeletal() {
        assert!(is_skeletal("mhmd") && is_skeletal("ahmd") && is_skeletal("abd alrhmn"));
        assert!(!is_skeletal("mohammed") && !is_skeletal("yousef") && !is_skeletal("m"));
        assert!(!is_skeletal("smyth"));
    }
}
