//! The serialised form of a [`Profile`]: `spirit-style/<version>:` followed by URL-safe
//! base64 (no padding) of LEB128 varints, in this order: texts, chars, words, sentences,
//! lines, n-gram total, number of kept n-gram buckets, then (bucket delta, count) pairs,
//! then the function-word counts, the format counters, the word-length histogram, the
//! sentence-length histogram and the 24 posting hours. About 11 KB for an account of 500
//! words or more.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::StyleError;
use super::lexicon::FUNCTION_WORDS;
use super::profile::{N_FORMAT, NGRAM_BITS, NGRAM_KEEP, Profile, SENT_LEN_BINS, WORD_LEN_BINS};

/// Version of the serialised form (and of the vocabularies and hashing it implies).
pub const FORMAT_VERSION: u32 = 1;
const PREFIX: &str = "spirit-style/";
/// Longest serialised profile accepted by [`Profile::parse`], in bytes.
pub const MAX_SERIALISED_LEN: usize = 1 << 20;

impl Profile {
    /// The compact, versioned text form, for storing as an attribute of an account.
    pub fn to_serialised(&self) -> String {
        let mut out = Vec::with_capacity(64 + self.ngrams.len() * 4 + 400);
        for v in [
            self.texts,
            self.chars,
            self.words,
            self.sentences,
            self.lines,
            self.ngram_total,
            self.ngrams.len() as u64,
        ] {
            put(&mut out, v);
        }
        let mut last = 0u32;
        for (i, &(bucket, count)) in self.ngrams.iter().enumerate() {
            put(&mut out, (bucket - if i == 0 { 0 } else { last }) as u64);
            put(&mut out, count as u64);
            last = bucket;
        }
        self.function.iter().for_each(|&v| put(&mut out, v as u64));
        self.format.iter().for_each(|&v| put(&mut out, v));
        self.word_len.iter().for_each(|&v| put(&mut out, v as u64));
        self.sent_len.iter().for_each(|&v| put(&mut out, v as u64));
        self.hours.iter().for_each(|&v| put(&mut out, v as u64));
        format!("{PREFIX}{FORMAT_VERSION}:{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Reads a profile written by [`Profile::to_serialised`]. Any damage (wrong prefix or
    /// version, bad base64, a truncated or over-long body, counts that contradict each
    /// other) is an error naming the field, never a panic.
    pub fn parse(s: &str) -> Result<Profile, StyleError> {
        let s = s.trim();
        if s.len() > MAX_SERIALISED_LEN {
            return Err(StyleError::TooLong { len: s.len() });
        }
        let rest = s.strip_prefix(PREFIX).ok_or_else(|| StyleError::Prefix {
            found: s.chars().take(24).collect(),
        })?;
        let (version, body) = rest.split_once(':').ok_or(StyleError::Prefix {
            found: s.chars().take(24).collect(),
        })?;
        let version: u32 = version.parse().map_err(|_| StyleError::Prefix {
            found: s.chars().take(24).collect(),
        })?;
        if version != FORMAT_VERSION {
            return Err(StyleError::Version {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| StyleError::Base64(e.to_string()))?;
        let mut r = Reader { b: &bytes, at: 0 };
        let texts = r.get("texts")?;
        let chars = r.get("chars")?;
        let words = r.get("words")?;
        let sentences = r.get("sentences")?;
        let lines = r.get("lines")?;
        let ngram_total = r.get("ngram_total")?;
        let n = r.get("ngram_count")?;
        if n > NGRAM_KEEP as u64 {
            return Err(invalid("ngram_count", format!("{n} > {NGRAM_KEEP}")));
        }
        let mut ngrams = Vec::with_capacity(n as usize);
        let mut bucket = 0u64;
        let mut sum = 0u64;
        for i in 0..n {
            let delta = r.get("ngram bucket")?;
            if i > 0 && delta == 0 {
                return Err(invalid("ngram bucket", "buckets not strictly increasing"));
            }
            bucket = bucket.saturating_add(delta);
            if bucket >= 1 << NGRAM_BITS {
                return Err(invalid("ngram bucket", format!("{bucket} out of range")));
            }
            let count = r.get_u32("ngram count")?;
            sum += count as u64;
            ngrams.push((bucket as u32, count));
        }
        if sum > ngram_total {
            return Err(invalid("ngram_total", "smaller than the kept counts"));
        }
        let mut function = vec![0u32; FUNCTION_WORDS.len()];
        for v in function.iter_mut() {
            *v = r.get_u32("function word")?;
        }
        let mut format = vec![0u64; N_FORMAT];
        for v in format.iter_mut() {
            *v = r.get("format counter")?;
        }
        let mut word_len = [0u32; WORD_LEN_BINS];
        for v in word_len.iter_mut() {
            *v = r.get_u32("word length")?;
        }
        let mut sent_len = [0u32; SENT_LEN_BINS];
        for v in sent_len.iter_mut() {
            *v = r.get_u32("sentence length")?;
        }
        let mut hours = [0u32; 24];
        for v in hours.iter_mut() {
            *v = r.get_u32("hour")?;
        }
        if r.at != bytes.len() {
            return Err(StyleError::Trailing {
                bytes: bytes.len() - r.at,
            });
        }
        if word_len.iter().map(|&v| v as u64).sum::<u64>() > words {
            return Err(invalid(
                "word length",
                "more words in the histogram than words",
            ));
        }
        if sent_len.iter().map(|&v| v as u64).sum::<u64>() > sentences {
            return Err(invalid(
                "sentence length",
                "more sentences in the histogram than sentences",
            ));
        }
        Ok(Profile {
            texts,
            chars,
            words,
            sentences,
            lines,
            ngram_total,
            ngrams,
            function,
            format,
            word_len,
            sent_len,
            hours,
        })
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> StyleError {
    StyleError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn get(&mut self, field: &'static str) -> Result<u64, StyleError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.b.get(self.at) else {
                return Err(StyleError::Truncated { field });
            };
            self.at += 1;
            let bits = (byte & 0x7F) as u64;
            if shift == 63 && bits > 1 {
                return Err(invalid(field, "varint overflows 64 bits"));
            }
            v |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(invalid(field, "varint longer than 10 bytes"))
    }

    fn get_u32(&mut self, field: &'static str) -> Result<u32, StyleError> {
        let v = self.get(field)?;
        u32::try_from(v).map_err(|_| invalid(field, format!("{v} does not fit 32 bits")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Profile {
        let mut b = super::super::ProfileBuilder::new();
        b.add_text(
            "It was the best of times, it was the worst of times; it was the age of wisdom...",
        );
        b.add_text("lol ok :) see u at 9!!\nbye");
        b.add_timestamp(1_700_000_000);
        b.finish()
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let s = p.to_serialised();
        assert!(s.starts_with("spirit-style/1:"), "{s}");
        assert_eq!(Profile::parse(&s).unwrap(), p);
        let empty = Profile::from_texts(Vec::<String>::new());
        assert_eq!(Profile::parse(&empty.to_serialised()).unwrap(), empty);
    }

    #[test]
    fn malformed_forms_are_errors() {
        let s = sample().to_serialised();
        let body = s.strip_prefix("spirit-style/1:").unwrap();
        assert!(matches!(
            Profile::parse("hello"),
            Err(StyleError::Prefix { .. })
        ));
        assert!(matches!(
            Profile::parse(&format!("spirit-style/2:{body}")),
            Err(StyleError::Version { found: 2, .. })
        ));
        assert!(matches!(
            Profile::parse("spirit-style/1:***"),
            Err(StyleError::Base64(_))
        ));
        // Every truncation is an error, never a panic.
        let bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        for cut in 0..bytes.len() {
            let t = format!("spirit-style/1:{}", URL_SAFE_NO_PAD.encode(&bytes[..cut]));
            assert!(Profile::parse(&t).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let t = format!("spirit-style/1:{}", URL_SAFE_NO_PAD.encode(&longer));
        assert!(matches!(
            Profile::parse(&t),
            Err(StyleError::Trailing { bytes: 1 })
        ));
        // An n-gram count above the kept maximum.
        let mut big = Vec::new();
        for v in [1u64, 1, 1, 1, 1, 1, NGRAM_KEEP as u64 + 1] {
            put(&mut big, v);
        }
        let t = format!("spirit-style/1:{}", URL_SAFE_NO_PAD.encode(&big));
        assert!(matches!(
            Profile::parse(&t),
            Err(StyleError::Invalid {
                field: "ngram_count",
                ..
            })
        ));
    }
}
