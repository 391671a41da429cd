//! Robustness of identifier extraction: no panics on arbitrary input, offsets on character
//! boundaries inside the input, bounded time on pathological pages.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use spirit_text::extract::{Extractor, Finding, Format};

fn check(input: &[u8], found: &[Finding]) {
    let s = std::str::from_utf8(input).ok();
    for f in found {
        assert!(f.start <= f.end && f.end <= input.len(), "{f:?}");
        if let Some(s) = s {
            assert!(
                s.is_char_boundary(f.start) && s.is_char_boundary(f.end),
                "{f:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_string(s in "\\PC{0,300}") {
        let x = Extractor::new("GB");
        check(s.as_bytes(), &x.extract_text(&s));
        check(s.as_bytes(), &x.extract_html(&s));
    }

    #[test]
    fn identifier_alphabet(s in "[a-zA-Z0-9@.:/ \\[\\]()+<>&;#\u{200B}\u{FF10}-\u{FF19}x-]{0,200}") {
        let x = Extractor::new("US");
        check(s.as_bytes(), &x.extract_text(&s));
        check(s.as_bytes(), &x.extract_html(&s));
    }

    #[test]
    fn any_bytes(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        let x = Extractor::new("GB");
        for f in [Format::Auto, Format::Text, Format::Html] {
            check(&b, &x.extract_bytes(&b, f));
        }
    }
}

#[test]
fn raw_matches_offsets_in_html_and_bytes() {
    let x = Extractor::new("GB");
    let html = "<p>a&amp;b john&#64;example.org &lt;x@example.net&gt; caf\u{e9} 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2</p>";
    let found = x.extract_html(html);
    assert_eq!(found.len(), 3, "{found:?}");
    for f in &found {
        assert_eq!(f.raw, &html[f.start..f.end]);
    }
    let mut bytes = b"\xff\xfe junk ".to_vec();
    bytes.extend_from_slice(b"mail x@example.com \xc3\x28 end");
    let found = x.extract_bytes(&bytes, Format::Auto);
    assert_eq!(found.len(), 1);
    assert_eq!(&bytes[found[0].start..found[0].end], b"x@example.com");
}

#[test]
fn cards_are_never_output_in_full() {
    let x = Extractor::new("GB");
    let found = x.extract_text("card 4111 1111 1111 1111 and 5555555555554444");
    assert_eq!(found.len(), 2);
    for f in &found {
        assert!(!f.value.contains("1111 1111 1111") && !f.raw.contains("1111 1111 1111"));
        assert!(!f.value.contains("5555555555554444") && !f.raw.contains("5555555555554444"));
        let json = serde_json::to_string(f).unwrap();
        assert!(!json.contains("hash"), "no unkeyed card hash: {json}");
    }
    assert_eq!(found[0].value, "411111******1111");
    assert_eq!(found[0].raw, "4111 11** **** 1111");
}

fn bounded<F: FnOnce() -> usize>(what: &str, limit: Duration, f: F) {
    let t = Instant::now();
    let n = f();
    let took = t.elapsed();
    assert!(took < limit, "{what} took {took:?}");
    println!("{what}: {took:?}, {n} findings");
}

#[test]
fn pathological_inputs_finish() {
    let x = Extractor::new("GB");
    // One 5 MB line of candidate-like junk.
    let line = "a.b-c@d.e:f/1.2.3.4.5 0x12 ab:cd:: +44 [at] (dot) ".repeat(5 << 20 >> 6);
    bounded("5 MB single line", Duration::from_secs(60), || {
        x.extract_text(&line).len()
    });
    // Long runs of digits, dots, colons, hex and base58.
    for junk in ["9", "1.", ":", "f", "z", "@a", "a.", "1 "] {
        let s = junk.repeat(1 << 20);
        bounded(
            &format!("1 MB of {junk:?}"),
            Duration::from_secs(60),
            || x.extract_text(&s).len(),
        );
    }
    // Deeply nested HTML.
    let depth = 20_000;
    let mut html = "<div>".repeat(depth);
    html.push_str("x@example.com");
    html.push_str(&"</div>".repeat(depth));
    bounded("20k nested divs", Duration::from_secs(60), || {
        let found = x.extract_html(&html);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].raw, "x@example.com");
        found.len()
    });
    let mut html = "<span>".repeat(depth);
    html.push_str("y@example.com");
    bounded("20k unclosed spans", Duration::from_secs(60), || {
        x.extract_html(&html).len()
    });
}
