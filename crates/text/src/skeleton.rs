//! Consonant skeletons: how a name written without its vowels meets its Latin spellings.
//!
//! Arabic script writes most vowels not at all (`محمد` is m-ḥ-m-d), so no single Latin
//! spelling of it is right: registers write `Mohammed`, `Muhammad`, `Mohamed`. What they
//! share is their consonants. [`name_skeleton`] keeps those of a folded name, its words
//! joined (`abdullah` is `عبد الله`): the first letter (a vowel as `a`), then every
//! consonant, with `y` and `w` counted as
//! vowels (Arabic writes long vowels with the same letters), `q` as `k`, and runs of one
//! letter as one (doubled consonants are not written either). `mohammed`, `muhammad` and
//! the transliteration of `محمد` (`mhmd`, [`crate::translit`]) all give `mhmd`.
//!
//! A skeleton is coarse: `mohammed` and `mahmoud` meet, and so do `hassan` and
//! `hussein`. Comparisons use it only when one side is [`is_skeletal`] (a value written
//! without vowels, as Arabic transliterates), never between two fully spelled names.

/// The consonant skeleton of a folded name (`[a-z0-9 ]`): words joined, the first letter
/// kept (a vowel as `a`), later vowels, `y` and `w` dropped, `q` as `k`, repeated letters
/// as one.
///
/// ```
/// use spirit_text::skeleton::name_skeleton;
/// assert_eq!(name_skeleton("mohammed"), "mhmd");
/// assert_eq!(name_skeleton("yousef"), "ysf");
/// assert_eq!(name_skeleton("abdul rahman"), "abdlrhmn");
/// assert_eq!(name_skeleton("omar"), "amr");
/// ```
pub fn name_skeleton(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len());
    let mut last = None;
    for (i, c) in folded.chars().filter(|c| *c != ' ').enumerate() {
        let c = match c {
            'q' => 'k',
            c if i == 0 && is_vowel(c) => 'a',
            c if i > 0 && (is_vowel(c) || c == 'y' || c == 'w') => continue,
            c => c,
        };
        if last != Some(c) {
            out.push(c);
        }
        last = Some(c);
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
            (&["fatima", "fatma", "ftm"][..], "ftm"),
            (&["khaled", "khalid", "khld"][..], "khld"),
            (&["qasim", "kasim", "ksm"][..], "ksm"),
            (&["ibrahim", "ebrahim", "abrhm"][..], "abrhm"),
            (&["haddad", "hadad", "hdd"][..], "hd"),
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
