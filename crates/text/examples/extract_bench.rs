//! Throughput of identifier extraction on a generated mixed text (and the same as HTML):
//! `cargo run --release -p spirit-text --example extract_bench [MB]`

use std::time::Instant;

use spirit_text::extract::{Extractor, checks};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "vendor",
    "payment",
    "delivery",
    "contact",
    "price",
    "order",
    "shipping",
    "account",
    "version",
    "report.pdf",
    "v2.1.3",
    "2024-01-31",
    "10:30",
    "£1,250.00",
    "(see",
    "above)",
    "e.g.",
    "Mr.",
    "Smith",
    "London",
    "ID",
    "#4471",
    "3.5%",
    "12/05/2023",
    "x86_64",
    "node.js",
];

fn mixed_text(bytes: usize, rng: &mut Rng) -> String {
    let mut s = String::with_capacity(bytes + 256);
    while s.len() < bytes {
        for _ in 0..12 + rng.below(30) {
            s.push_str(WORDS[rng.below(WORDS.len())]);
            s.push(' ');
        }
        // Roughly one identifier per 250 bytes.
        let id = match rng.below(10) {
            0 => format!("user{}@example.com", rng.below(1000)),
            // Mostly distinct numbers, so validation results are not simply cached.
            1 => format!("07911 {:06}", rng.below(1_000_000)),
            2 => {
                let mut v = vec![0u8];
                v.extend((0..20).map(|_| rng.next() as u8));
                let sum = checks::sha256d(&v);
                v.extend_from_slice(&sum[..4]);
                checks::base58_encode(&v)
            }
            3 => format!("https://example.org/p/{}", rng.below(100_000)),
            4 => format!(
                "10.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                rng.below(256)
            ),
            5 => "GB82 WEST 1234 5698 7654 32".to_string(),
            6 => format!(
                "0x{}",
                checks::hex(&rng.next().to_be_bytes()).repeat(2) + "abcdef01"
            ),
            7 => "4111 1111 1111 1111".to_string(),
            8 => format!("@handle{}", rng.below(100)),
            _ => "shop.example.co.uk".to_string(),
        };
        s.push_str(&id);
        s.push_str(if rng.below(4) == 0 { ".\n" } else { ", " });
    }
    s
}

fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(16);
    let mut rng = Rng(0x0bad_cafe_1234_5678);
    let text = mixed_text(mb << 20, &mut rng);
    let x = Extractor::new("GB");
    // Warm up (lazy regexes, metadata).
    let _ = x.extract_text(&text[..4096]);
    if std::env::var_os("EXTRACT_PROFILE").is_some() {
        for (name, secs) in spirit_text::extract::profile(&x, &text) {
            println!(
                "  {name:<12} {:>8.1} MB/s",
                text.len() as f64 / 1_048_576.0 / secs
            );
        }
    }
    let t = Instant::now();
    let found = x.extract_text(&text);
    let secs = t.elapsed().as_secs_f64();
    let mbs = text.len() as f64 / 1_048_576.0 / secs;
    println!(
        "text: {:.1} MB in {:.3} s = {:.1} MB/s, {} findings",
        text.len() as f64 / 1_048_576.0,
        secs,
        mbs,
        found.len()
    );
    let html: String = text
        .lines()
        .map(|l| {
            format!(
                "<p class=\"post\">{}</p>\n",
                l.replace('&', "&amp;").replace('<', "&lt;")
            )
        })
        .collect();
    let t = Instant::now();
    let found = x.extract_html(&html);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "html: {:.1} MB in {:.3} s = {:.1} MB/s, {} findings",
        html.len() as f64 / 1_048_576.0,
        secs,
        html.len() as f64 / 1_048_576.0 / secs,
        found.len()
    );
}
