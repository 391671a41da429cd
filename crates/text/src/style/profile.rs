//! Building a [`Profile`] from texts: one linear pass over the characters of each text.

use rustc_hash::FxHashMap;

use super::lexicon::{FORMAT_COUNTERS, FUNCTION_WORDS, MAX_FUNCTION_WORD, fc};

/// Bits of the hashed character n-gram space (3- and 4-grams share it).
pub const NGRAM_BITS: u32 = 20;
/// How many of the most frequent n-gram buckets a finished profile keeps.
pub const NGRAM_KEEP: usize = 3000;
/// Word-length histogram bins: lengths 1..=19 characters, then 20 or more.
pub const WORD_LEN_BINS: usize = 20;
/// Sentence-length histogram bins of five words each (1–5, 6–10, …), the last open-ended.
pub const SENT_LEN_BINS: usize = 13;

pub(crate) const N_FORMAT: usize = FORMAT_COUNTERS.len();

/// A writing-style profile of one account: what its texts have in common, as counts.
///
/// Built with [`ProfileBuilder`] (or [`Profile::from_texts`]), stored with
/// [`Profile::to_serialised`] and read back with [`Profile::parse`], compared with
/// the style module's `verify`. All counts are raw counts; rates are taken at comparison time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub(crate) texts: u64,
    pub(crate) chars: u64,
    pub(crate) words: u64,
    pub(crate) sentences: u64,
    pub(crate) lines: u64,
    /// Count of all n-grams seen (3- and 4-grams), before keeping the most frequent.
    pub(crate) ngram_total: u64,
    /// The kept n-gram buckets, sorted by bucket, with their counts.
    pub(crate) ngrams: Vec<(u32, u32)>,
    pub(crate) function: Vec<u32>,
    pub(crate) format: Vec<u64>,
    pub(crate) word_len: [u32; WORD_LEN_BINS],
    pub(crate) sent_len: [u32; SENT_LEN_BINS],
    pub(crate) hours: [u32; 24],
}

impl Profile {
    /// A profile of the given texts, without timestamps.
    pub fn from_texts<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> Profile {
        let mut b = ProfileBuilder::new();
        for t in texts {
            b.add_text(t.as_ref());
        }
        b.finish()
    }

    /// Number of texts added.
    pub fn texts(&self) -> u64 {
        self.texts
    }
    /// Number of characters read.
    pub fn chars(&self) -> u64 {
        self.chars
    }
    /// Number of words (runs of letters and digits, with inner apostrophes).
    pub fn words(&self) -> u64 {
        self.words
    }
    /// Number of sentences.
    pub fn sentences(&self) -> u64 {
        self.sentences
    }
    /// Posting-hour histogram (UTC hours 0–23) of the timestamps added.
    pub fn hours(&self) -> &[u32; 24] {
        &self.hours
    }
    /// Number of timestamps added.
    pub fn timestamps(&self) -> u64 {
        self.hours.iter().map(|&h| h as u64).sum()
    }
    /// Mean word length in characters (0 without words).
    pub fn mean_word_length(&self) -> f64 {
        let letters: u64 = self
            .word_len
            .iter()
            .enumerate()
            .map(|(i, &n)| (i as u64 + 1) * n as u64)
            .sum();
        ratio(letters, self.words)
    }
    /// Mean sentence length in words (0 without sentences).
    pub fn mean_sentence_length(&self) -> f64 {
        ratio(self.words, self.sentences)
    }
    /// Count of each function word, in the order of
    /// [`FUNCTION_WORDS`](super::FUNCTION_WORDS).
    pub fn function_word_counts(&self) -> &[u32] {
        &self.function
    }
    /// Count of each format counter, in the order of
    /// [`FORMAT_COUNTERS`](super::FORMAT_COUNTERS).
    pub fn format_counts(&self) -> &[u64] {
        &self.format
    }
    /// Number of n-gram buckets kept (at most [`NGRAM_KEEP`]).
    pub fn ngram_buckets(&self) -> usize {
        self.ngrams.len()
    }
}

pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Accumulates texts (and posting times) of one account into a [`Profile`].
///
/// Each text is read once, character by character; the work is linear in its length
/// ([`ProfileBuilder::work`] counts it) and memory is bounded by the n-gram space.
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    ngrams: FxHashMap<u32, u32>,
    ngram_total: u64,
    function: Vec<u32>,
    function_index: FxHashMap<&'static str, usize>,
    format: [u64; N_FORMAT],
    word_len: [u32; WORD_LEN_BINS],
    sent_len: [u32; SENT_LEN_BINS],
    hours: [u32; 24],
    texts: u64,
    chars: u64,
    words: u64,
    sentences: u64,
    lines: u64,
    work: u64,
}

impl Default for ProfileBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// State of the pass over one text.
struct Pass {
    /// Last three n-gram characters (normalised), oldest first; `None` before the start.
    window: [Option<char>; 3],
    prev: [char; 3],
    word: String,
    word_chars: usize,
    word_upper: usize,
    word_letters: usize,
    word_first_upper: bool,
    sentence_words: u32,
    sentence_start_pending: bool,
    sentence_end_pending: bool,
    newlines_in_a_row: u32,
    spaces_in_a_row: u32,
}

impl ProfileBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        ProfileBuilder {
            ngrams: FxHashMap::default(),
            ngram_total: 0,
            function: vec![0; FUNCTION_WORDS.len()],
            function_index: FUNCTION_WORDS
                .iter()
                .enumerate()
                .map(|(i, w)| (*w, i))
                .collect(),
            format: [0; N_FORMAT],
            word_len: [0; WORD_LEN_BINS],
            sent_len: [0; SENT_LEN_BINS],
            hours: [0; 24],
            texts: 0,
            chars: 0,
            words: 0,
            sentences: 0,
            lines: 0,
            work: 0,
        }
    }

    /// Elementary steps taken so far: one per character read, one per n-gram counted, one
    /// per character copied into the word buffer, one per function-word look-up. At most
    /// five per character, whatever the input.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Adds a posting time (Unix seconds, UTC) to the posting-hour histogram.
    pub fn add_timestamp(&mut self, unix_seconds: i64) {
        let hour = unix_seconds.rem_euclid(86_400) / 3_600;
        self.hours[hour as usize] = self.hours[hour as usize].saturating_add(1);
    }

    /// Adds one text (a post, a message, a page's text). Strip markup first: a profile
    /// of HTML source measures the markup.
    pub fn add_text(&mut self, text: &str) {
        self.texts += 1;
        if !text.is_empty() {
            self.lines += 1;
        }
        let mut p = Pass {
            window: [None; 3],
            prev: [' '; 3],
            word: String::with_capacity(MAX_FUNCTION_WORD + 4),
            word_chars: 0,
            word_upper: 0,
            word_letters: 0,
            word_first_upper: false,
            sentence_words: 0,
            sentence_start_pending: true,
            sentence_end_pending: false,
            newlines_in_a_row: 0,
            spaces_in_a_row: 0,
        };
        for c in text.chars() {
            self.work += 1;
            self.chars += 1;
            self.step(&mut p, c);
            p.prev = [p.prev[1], p.prev[2], c];
        }
        self.end_word(&mut p);
        self.end_sentence(&mut p);
    }

    fn step(&mut self, p: &mut Pass, c: char) {
        // Character n-grams over a normalised stream: whitespace runs are one space,
        // digits are '0', everything else as written (case and punctuation are style).
        let n = if c.is_whitespace() {
            ' '
        } else if c.is_ascii_digit() {
            '0'
        } else {
            c
        };
        if !(n == ' ' && p.window[2] == Some(' ')) {
            if let [Some(a), Some(b), Some(d)] = p.window {
                self.count_ngram(trigram_key(b, d, n));
                self.count_ngram(mix(trigram_key(a, b, d) ^ ((n as u64) | (1 << 62))));
            } else if let [None, Some(b), Some(d)] = p.window {
                self.count_ngram(trigram_key(b, d, n));
            }
            p.window = [p.window[1], p.window[2], Some(n)];
        }

        let is_word_char =
            c.is_alphanumeric() || ((c == '\'' || c == '\u{2019}') && p.word_chars > 0);
        if is_word_char {
            if p.word_chars == 0 && p.sentence_end_pending {
                self.end_sentence(p);
            }
            p.word_chars += 1;
            if p.word.len() <= MAX_FUNCTION_WORD {
                self.work += 1;
                if c == '\u{2019}' {
                    p.word.push('\'');
                } else {
                    p.word.extend(c.to_lowercase());
                }
            }
            if c.is_alphabetic() {
                p.word_letters += 1;
                if c.is_uppercase() {
                    p.word_upper += 1;
                    if p.word_chars == 1 {
                        p.word_first_upper = true;
                    }
                }
            }
        } else {
            self.end_word(p);
        }

        let f = &mut self.format;
        let [p3, p2, p1] = p.prev;
        match c {
            ',' => f[fc::COMMA] += 1,
            '.' => {
                f[fc::PERIOD] += 1;
                if p1 == '.' && p2 == '.' && p3 != '.' {
                    f[fc::ELLIPSIS] += 1;
                }
            }
            ';' => f[fc::SEMICOLON] += 1,
            ':' => f[fc::COLON] += 1,
            '!' | '?' => {
                f[if c == '!' {
                    fc::EXCLAMATION
                } else {
                    fc::QUESTION
                }] += 1;
                if (p1 == '!' || p1 == '?') && p2 != '!' && p2 != '?' {
                    f[fc::REPEATED] += 1;
                }
            }
            '\'' => f[fc::APOSTROPHE] += 1,
            '\u{2018}' | '\u{2019}' => f[fc::CURLY_SINGLE] += 1,
            '"' => f[fc::DQUOTE] += 1,
            '\u{201C}' | '\u{201D}' | '\u{00AB}' | '\u{00BB}' => f[fc::CURLY_DOUBLE] += 1,
            '-' => f[fc::HYPHEN] += 1,
            '\u{2013}' | '\u{2014}' => f[fc::DASH] += 1,
            '(' | ')' => f[fc::PAREN] += 1,
            '[' | ']' | '{' | '}' => f[fc::BRACKET] += 1,
            '\u{2026}' => f[fc::ELLIPSIS] += 1,
            '*' => f[fc::ASTERISK] += 1,
            '&' => f[fc::AMPERSAND] += 1,
            '/' => f[fc::SLASH] += 1,
            '#' | '$' | '%' | '@' | '+' | '=' | '~' | '^' | '|' | '\\' | '<' | '>' | '_' => {
                f[fc::OTHER_SYMBOL] += 1
            }
            _ => {}
        }
        // Emoticons: an eye (: ; =), an optional nose (- ' o), a mouth.
        if matches!(c, ')' | '(' | 'D' | 'P' | 'p' | '|' | ']' | '[' | '/' | '3')
            && (matches!(p1, ':' | ';' | '=')
                || (matches!(p1, '-' | '\'' | 'o') && matches!(p2, ':' | ';' | '=')))
            && !p2.is_alphanumeric()
        {
            f[fc::EMOTICON] += 1;
        }
        if matches!(c as u32, 0x1F300..=0x1FAFF | 0x2600..=0x27BF) {
            f[fc::EMOTICON] += 1;
        }
        if c.is_uppercase() {
            f[fc::UPPER] += 1;
        }
        if c.is_ascii_digit() {
            f[fc::DIGIT] += 1;
        }
        if c.is_alphabetic() && !c.is_ascii() {
            f[fc::NON_ASCII_LETTER] += 1;
        }

        // Lines, paragraphs, spaces, sentence ends.
        if c == '\n' {
            self.format[fc::LINE_BREAK] += 1;
            self.lines += 1;
            p.newlines_in_a_row += 1;
            if p.newlines_in_a_row == 2 {
                self.format[fc::BLANK_LINE] += 1;
                // A paragraph break ends a sentence even without punctuation.
                self.end_sentence(p);
            }
        } else if c != '\r' && !(c.is_whitespace() && p.newlines_in_a_row > 0) {
            // Indentation after a line break does not end the run of line breaks.
            if !c.is_whitespace() {
                p.newlines_in_a_row = 0;
            }
        }
        if c == ' ' {
            p.spaces_in_a_row += 1;
            if p.spaces_in_a_row == 2 && p1 != '\n' {
                self.format[fc::DOUBLE_SPACE] += 1;
            }
        } else {
            p.spaces_in_a_row = 0;
        }
        match c {
            '.' | '!' | '?' | '\u{2026}' => p.sentence_end_pending = true,
            // Closing quotes and brackets after the terminator keep it pending.
            '"' | '\'' | '\u{2019}' | '\u{201D}' | ')' | ']' => {}
            _ if c.is_whitespace() => {}
            _ if is_word_char => {}
            _ => p.sentence_end_pending = false,
        }
    }

    fn count_ngram(&mut self, key: u64) {
        self.work += 1;
        self.ngram_total += 1;
        let bucket = (mix(key) >> (64 - NGRAM_BITS)) as u32;
        let e = self.ngrams.entry(bucket).or_insert(0);
        *e = e.saturating_add(1);
    }

    fn end_word(&mut self, p: &mut Pass) {
        if p.word_chars == 0 {
            return;
        }
        // Trailing apostrophes belong to punctuation, not to the word.
        while p.word.ends_with('\'') {
            p.word.pop();
            p.word_chars -= 1;
        }
        if p.word_chars > 0 {
            self.words += 1;
            self.work += 1;
            if let Some(&i) = self.function_index.get(p.word.as_str()) {
                self.function[i] = self.function[i].saturating_add(1);
            }
            let bin = p.word_chars.min(WORD_LEN_BINS) - 1;
            self.word_len[bin] = self.word_len[bin].saturating_add(1);
            if p.word_letters >= 2 && p.word_upper == p.word_letters {
                self.format[fc::ALL_CAPS_WORD] += 1;
            } else if p.word_first_upper {
                self.format[fc::CAPITALISED_WORD] += 1;
            }
            if p.sentence_start_pending && p.word_letters > 0 {
                if !p.word_first_upper {
                    self.format[fc::LOWER_SENTENCE_START] += 1;
                }
                p.sentence_start_pending = false;
            }
            p.sentence_words += 1;
        }
        p.word.clear();
        p.word_chars = 0;
        p.word_upper = 0;
        p.word_letters = 0;
        p.word_first_upper = false;
    }

    fn end_sentence(&mut self, p: &mut Pass) {
        p.sentence_end_pending = false;
        if p.sentence_words == 0 {
            return;
        }
        self.sentences += 1;
        let bin = ((p.sentence_words as usize - 1) / 5).min(SENT_LEN_BINS - 1);
        self.sent_len[bin] = self.sent_len[bin].saturating_add(1);
        p.sentence_words = 0;
        p.sentence_start_pending = true;
    }

    /// The finished profile: counts as accumulated, with the [`NGRAM_KEEP`] most frequent
    /// n-gram buckets (ties broken by bucket number, so the result is deterministic).
    pub fn finish(&self) -> Profile {
        let mut all: Vec<(u32, u32)> = self.ngrams.iter().map(|(&b, &n)| (b, n)).collect();
        if all.len() > NGRAM_KEEP {
            all.select_nth_unstable_by(NGRAM_KEEP - 1, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(NGRAM_KEEP);
        }
        all.sort_unstable();
        Profile {
            texts: self.texts,
            chars: self.chars,
            words: self.words,
            sentences: self.sentences,
            lines: self.lines,
            ngram_total: self.ngram_total,
            ngrams: all,
            function: self.function.clone(),
            format: self.format.to_vec(),
            word_len: self.word_len,
            sent_len: self.sent_len,
            hours: self.hours,
        }
    }
}

fn trigram_key(a: char, b: char, c: char) -> u64 {
    ((a as u64) << 42) | ((b as u64) << 21) | (c as u64)
}

/// SplitMix64's finaliser: a fixed, platform-independent 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::lexicon::FUNCTION_WORDS;

    fn fw(p: &Profile, w: &str) -> u32 {
        p.function[FUNCTION_WORDS.iter().position(|x| *x == w).unwrap()]
    }

    #[test]
    fn counts_words_sentences_and_habits() {
        let p = Profile::from_texts([
            "Hello there!! I don’t know... what THE deal is :) ok?\n\nnew para here 42.",
        ]);
        assert_eq!(p.words(), 14, "{p:?}");
        assert_eq!(p.sentences(), 4);
        assert_eq!(fw(&p, "don't"), 1);
        assert_eq!(fw(&p, "the"), 1);
        assert_eq!(fw(&p, "ok"), 1);
        assert_eq!(p.format[fc::REPEATED], 1);
        assert_eq!(p.format[fc::ELLIPSIS], 1);
        assert_eq!(p.format[fc::EMOTICON], 1);
        assert_eq!(p.format[fc::ALL_CAPS_WORD], 1);
        assert_eq!(p.format[fc::BLANK_LINE], 1);
        assert_eq!(p.format[fc::CURLY_SINGLE], 1);
        assert_eq!(p.format[fc::DIGIT], 2);
        assert_eq!(p.format[fc::LOWER_SENTENCE_START], 2, "'what' and 'new'");
    }

    #[test]
    fn keeps_at_most_ngram_keep_buckets_sorted() {
        let text: String = (0..20_000u32)
            .filter_map(char::from_u32)
            .filter(|c| !c.is_control())
            .collect();
        let p = Profile::from_texts([text.as_str()]);
        assert_eq!(p.ngrams.len(), NGRAM_KEEP);
        assert!(p.ngrams.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(p.ngram_total as usize > NGRAM_KEEP);
    }

    #[test]
    fn timestamps_fill_utc_hours() {
        let mut b = ProfileBuilder::new();
        b.add_timestamp(0);
        b.add_timestamp(-1); // 23:59:59 the day before
        b.add_timestamp(13 * 3600 + 5);
        let p = b.finish();
        assert_eq!(p.hours[0], 1);
        assert_eq!(p.hours[23], 1);
        assert_eq!(p.hours[13], 1);
        assert_eq!(p.timestamps(), 3);
    }
}
