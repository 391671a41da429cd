//! Synthetic writing in two fixed house styles, deterministic by seed: for tests and
//! examples of the style comparison, where two accounts must write alike or unlike on
//! purpose. Never used to fit or report the calibration, which rests on real authors
//! (`bench/style`).

/// Deterministic text of `words` words in one of two house styles: `0` is chat (slang,
/// `!!`, `...`), any other value formal prose (semicolons, sentences).
pub fn house_style(style: u8, seed: u64, words: usize) -> String {
    let chat = [
        "lol", "u", "got", "the", "stuff", "rn", "bro", "its", "legit", "no", "cap", "ship",
        "fast", "ya", "dm", "me", "fr", "gonna", "be", "fire", "tho", "ok", "ur", "pack",
    ];
    let formal = [
        "Moreover",
        "the",
        "shipment",
        "was",
        "dispatched",
        "promptly",
        "however",
        "customers",
        "should",
        "consider",
        "that",
        "delivery",
        "therefore",
        "remains",
        "subject",
        "to",
        "customs",
        "inspection",
        "accordingly",
        "I",
        "recommend",
        "patience",
        "and",
        "discretion",
    ];
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = String::new();
    for i in 0..words {
        let w = if style == 0 {
            chat[(next() % chat.len() as u64) as usize]
        } else {
            formal[(next() % formal.len() as u64) as usize]
        };
        out.push_str(w);
        let r = next() % 12;
        match (style, r) {
            (0, 0) => out.push_str("!! "),
            (0, 1) => out.push_str("... "),
            (0, _) => out.push(' '),
            (_, 0) => out.push_str("; "),
            (_, 1) if i % 3 == 0 => out.push_str(". "),
            (_, 2) => out.push_str(", "),
            _ => out.push(' '),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::house_style;
    use crate::style::{Profile, verify};

    #[test]
    fn one_house_style_reads_as_one_author_and_two_do_not() {
        let p = |style, seed| Profile::from_texts([house_style(style, seed, 1500)]);
        assert_eq!(
            house_style(1, 7, 50),
            house_style(1, 7, 50),
            "deterministic"
        );
        assert_eq!(house_style(0, 7, 50).split_whitespace().count(), 50);
        let same = verify(&p(0, 1), &p(0, 2)).log_odds;
        let other = verify(&p(0, 1), &p(1, 2)).log_odds;
        assert!(
            same > other + 1.0,
            "same style {same:.2}, other style {other:.2}"
        );
    }
}
