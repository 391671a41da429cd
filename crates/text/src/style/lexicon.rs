//! The fixed vocabularies of format version 1: function words and format counters.
//! Changing either list changes the serialised form, so it needs a new
//! [`FORMAT_VERSION`](super::FORMAT_VERSION).

/// English function words (and a few chat-style forms) whose relative frequencies are
/// part of a profile, in their serialised order. Looked up after lowercasing, with `’`
/// read as `'`.
pub const FUNCTION_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "almost",
    "along",
    "also",
    "although",
    "always",
    "am",
    "among",
    "an",
    "and",
    "another",
    "any",
    "anything",
    "are",
    "around",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "cannot",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "done",
    "down",
    "during",
    "each",
    "either",
    "enough",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "indeed",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "least",
    "less",
    "like",
    "many",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "neither",
    "never",
    "no",
    "nor",
    "not",
    "nothing",
    "now",
    "of",
    "off",
    "often",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "others",
    "otherwise",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "perhaps",
    "quite",
    "rather",
    "same",
    "shall",
    "she",
    "should",
    "since",
    "so",
    "some",
    "something",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "therefore",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "till",
    "to",
    "too",
    "toward",
    "towards",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "was",
    "we",
    "well",
    "were",
    "what",
    "whatever",
    "when",
    "where",
    "whereas",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "don't",
    "can't",
    "won't",
    "didn't",
    "isn't",
    "i'm",
    "it's",
    "that's",
    "dont",
    "cant",
    "im",
    "thats",
    "u",
    "ur",
    "lol",
    "ok",
    "okay",
    "yeah",
    "gonna",
    "wanna",
];

/// Longest entry of [`FUNCTION_WORDS`] in bytes; longer words are not looked up.
pub(crate) const MAX_FUNCTION_WORD: usize = 10;

/// Format and punctuation counters of a profile, in serialised order, with what each
/// counts. Rates are taken per character except where [`FORMAT_PER_WORD`] says per word.
pub const FORMAT_COUNTERS: &[&str] = &[
    "comma",
    "period",
    "semicolon",
    "colon",
    "exclamation",
    "question",
    "apostrophe (straight ')",
    "apostrophe or quote (curly ‘ ’)",
    "double quote (straight \")",
    "double quote (curly “ ” « »)",
    "hyphen -",
    "dash (– —)",
    "parenthesis ( )",
    "bracket or brace [ ] { }",
    "ellipsis (… or ...)",
    "repeated ! or ? (start of a run of two or more)",
    "emoticon (:) ;-) :D =P ...) or emoji",
    "uppercase letter",
    "digit",
    "line break",
    "blank line (paragraph break)",
    "double space",
    "non-ASCII letter",
    "asterisk *",
    "ampersand &",
    "slash /",
    "other symbol (# $ % @ + = ~ ^ | \\ < > _)",
    "all-caps word (two letters or more)",
    "capitalised word",
    "sentence starting in lowercase",
];

/// Index into [`FORMAT_COUNTERS`] of the first counter rated per word (the last three:
/// all-caps words and capitalised words per word, lowercase sentence starts per sentence).
pub const FORMAT_PER_WORD: usize = 27;

pub(crate) mod fc {
    pub const COMMA: usize = 0;
    pub const PERIOD: usize = 1;
    pub const SEMICOLON: usize = 2;
    pub const COLON: usize = 3;
    pub const EXCLAMATION: usize = 4;
    pub const QUESTION: usize = 5;
    pub const APOSTROPHE: usize = 6;
    pub const CURLY_SINGLE: usize = 7;
    pub const DQUOTE: usize = 8;
    pub const CURLY_DOUBLE: usize = 9;
    pub const HYPHEN: usize = 10;
    pub const DASH: usize = 11;
    pub const PAREN: usize = 12;
    pub const BRACKET: usize = 13;
    pub const ELLIPSIS: usize = 14;
    pub const REPEATED: usize = 15;
    pub const EMOTICON: usize = 16;
    pub const UPPER: usize = 17;
    pub const DIGIT: usize = 18;
    pub const LINE_BREAK: usize = 19;
    pub const BLANK_LINE: usize = 20;
    pub const DOUBLE_SPACE: usize = 21;
    pub const NON_ASCII_LETTER: usize = 22;
    pub const ASTERISK: usize = 23;
    pub const AMPERSAND: usize = 24;
    pub const SLASH: usize = 25;
    pub const OTHER_SYMBOL: usize = 26;
    pub const ALL_CAPS_WORD: usize = 27;
    pub const CAPITALISED_WORD: usize = 28;
    pub const LOWER_SENTENCE_START: usize = 29;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_are_consistent() {
        let mut seen = std::collections::HashSet::new();
        for w in FUNCTION_WORDS {
            assert!(seen.insert(*w), "duplicate function word {w}");
            assert!(w.len() <= MAX_FUNCTION_WORD, "{w}");
            assert_eq!(w.to_lowercase(), *w);
        }
        assert_eq!(FORMAT_COUNTERS.len(), fc::LOWER_SENTENCE_START + 1);
        assert_eq!(FORMAT_PER_WORD, fc::ALL_CAPS_WORD);
    }
}
