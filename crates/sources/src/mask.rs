//! Card masking, in one place: every copy of a row, value or document that SPIRIT keeps
//! outside the keyed hash (quarantine files, stored payloads, raw attribute text, mention
//! snippets) shows a payment card as its first six and last four digits only
//! (`411111******1111`).

use spirit_model::AttrKind;
use spirit_text::extract::{Finding, Kind};

/// `raw` with every payment-card number in it masked (`411111******1111`), so the
/// quarantine file never holds a card in clear: each run of digits, spaces and dashes
/// that is a card number by `checks::card` (scheme prefix, length, Luhn). A rejected
/// JSON line may write a card's digits, spaces or dashes as `\uXXXX` escapes; those
/// escapes are decoded first, so the card is masked all the same.
pub fn mask_cards(raw: &str) -> String {
    let raw = decode_numeric_escapes(raw);
    let mut out = String::with_capacity(raw.len());
    let mut rest: &str = &raw;
    while !rest.is_empty() {
        let in_run = |c: char| c.is_ascii_digit() || c == ' ' || c == '-';
        let split = rest.find(|c: char| !in_run(c)).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(split);
        out.push_str(&mask_card_groups(run));
        let next = tail.chars().next().map_or(0, char::len_utf8);
        out.push_str(&tail[..next]);
        rest = &tail[next..];
    }
    out
}

/// `text` with each JSON escape `\uXXXX` of a digit, a space or a dash written as the
/// character itself (an escaped backslash `\\` is kept, with what follows it). The
/// meaning of a JSON string is unchanged; a card hidden behind escapes becomes a run.
fn decode_numeric_escapes(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("\\u") {
        return std::borrow::Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut k = 0;
    while k < b.len() {
        if b[k] != b'\\' {
            k += 1;
            continue;
        }
        if b.get(k + 1) == Some(&b'u')
            && let Some(hex) = text.get(k + 2..k + 6)
            && let Ok(code) = u32::from_str_radix(hex, 16)
            && let Some(c) =
                char::from_u32(code).filter(|c| c.is_ascii_digit() || *c == ' ' || *c == '-')
        {
            out.push_str(&text[copied..k]);
            out.push(c);
            k += 6;
            copied = k;
        } else {
            // An escape of something else, or an escaped backslash: keep both bytes.
            k += 2;
        }
    }
    out.push_str(&text[copied.min(text.len())..]);
    std::borrow::Cow::Owned(out)
}

/// Masks the payment cards in every string (keys included) of a JSON value, in place;
/// true when something was masked.
pub fn mask_cards_in_json(value: &mut serde_json::Value) -> bool {
    mask_strings(value, &mask_cards)
}

/// A run of digit groups separated by spaces or dashes, with every card in it masked:
/// any window of consecutive groups holding 13–19 digits that pass Luhn, so a card
/// followed by an expiry date or a security code in the same field is still found.
fn mask_card_groups(run: &str) -> String {
    // (start, end) byte offsets of each group of digits (the run is ASCII).
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let b = run.as_bytes();
    let mut k = 0;
    while k < b.len() {
        if b[k].is_ascii_digit() {
            let start = k;
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            groups.push((start, k));
        } else {
            k += 1;
        }
    }
    let mut out = String::with_capacity(run.len());
    let mut copied = 0;
    let mut i = 0;
    while i < groups.len() {
        let mut found = None;
        let mut digits: Vec<u8> = Vec::new();
        for (j, &(s, e)) in groups.iter().enumerate().skip(i) {
            digits.extend_from_slice(&b[s..e]);
            if digits.len() > 19 {
                break;
            }
            if digits.len() >= 13 && spirit_text::extract::checks::card(&digits) {
                found = Some(j);
            }
        }
        match found {
            Some(j) => {
                let (start, end) = (groups[i].0, groups[j].1);
                out.push_str(&run[copied..start]);
                out.push_str(&spirit_text::extract::mask_digits(&run[start..end]));
                copied = end;
                i = j + 1;
            }
            None => i += 1,
        }
    }
    out.push_str(&run[copied..]);
    out
}

/// The raw text kept for a value: payment cards masked (`411111******1111`), so no card
/// number is stored in clear in the attributes.
pub fn masked_value(kind: AttrKind, raw: &str) -> String {
    if kind == AttrKind::PaymentCard {
        spirit_text::extract::mask_digits(raw)
    } else {
        raw.to_string()
    }
}

/// The payload with every payment-card value of the record masked where it appears, so
/// the stored copy of the row holds no card number in clear either. A JSON payload is
/// masked in its decoded strings and written again, so a card written with JSON escapes
/// (`4111\u00201111…`) is masked too; other text is masked where the value appears.
pub fn mask_card_values(payload: &str, values: &[(AttrKind, String)]) -> String {
    let cards: Vec<&str> = values
        .iter()
        .filter(|(kind, raw)| {
            *kind == AttrKind::PaymentCard && raw.bytes().filter(u8::is_ascii_digit).count() >= 12
        })
        .map(|(_, raw)| raw.trim())
        .collect();
    if cards.is_empty() {
        return payload.to_string();
    }
    let mask = |text: &str| {
        cards.iter().fold(text.to_string(), |out, raw| {
            out.replace(raw, &spirit_text::extract::mask_digits(raw))
        })
    };
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(mut value @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            mask_strings(&mut value, &mask);
            value.to_string()
        }
        _ => mask(payload),
    }
}

/// Applies `mask` to every string (keys included) of a JSON value, and to the digits of
/// every number: a number that `mask` changes (a card written as a JSON number) becomes
/// the masked string. True when `mask` changed something.
fn mask_strings(value: &mut serde_json::Value, mask: &dyn Fn(&str) -> String) -> bool {
    use serde_json::Value;
    let apply = |s: &mut String| {
        let masked = mask(s);
        let changed = masked != *s;
        if changed {
            *s = masked;
        }
        changed
    };
    match value {
        Value::String(s) => apply(s),
        Value::Number(n) => {
            let mut text = n.to_string();
            let changed = apply(&mut text);
            if changed {
                *value = Value::String(text);
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| mask_strings(v, mask) | changed),
        Value::Object(map) => {
            let old = std::mem::take(map);
            let mut changed = false;
            for (mut k, mut v) in old {
                changed |= mask_strings(&mut v, mask);
                changed |= apply(&mut k);
                map.insert(k, v);
            }
            changed
        }
        _ => false,
    }
}

/// Masks, in place and keeping every byte offset, the digits of each card span (all but
/// the first six and last four; other numeric characters by `*` of their byte length).
pub fn mask_card_spans(doc: &mut [u8], findings: &[Finding]) {
    for f in findings.iter().filter(|f| f.kind == Kind::Card) {
        let Some(span) = doc.get(f.start..f.end) else {
            continue;
        };
        let n = span.iter().filter(|b| b.is_ascii_digit()).count();
        let mut seen = 0;
        let mut masked = Vec::with_capacity(span.len());
        let text = String::from_utf8_lossy(span).into_owned();
        for c in text.chars() {
            if c.is_ascii_digit() {
                seen += 1;
                masked.push(if seen > 6 && seen + 4 <= n {
                    b'*'
                } else {
                    c as u8
                });
            } else if c.is_numeric() {
                masked.extend(std::iter::repeat_n(b'*', c.len_utf8()));
            } else {
                let mut buf = [0u8; 4];
                masked.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        if masked.len() == f.end - f.start {
            doc[f.start..f.end].copy_from_slice(&masked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_in_text_are_masked_with_what_follows_them() {
        assert_eq!(mask_cards("a,4111111111111111,b"), "a,411111******1111,b");
        assert_eq!(
            mask_cards("x 4111 1111 1111 1111 123"),
            "x 4111 11** **** 1111 123"
        );
        assert_eq!(
            mask_cards("4111111111111111 12-25"),
            "411111******1111 12-25"
        );
        // Not cards: a long number that fails Luhn, a phone number.
        assert_eq!(mask_cards("4111111111111112"), "4111111111111112");
        assert_eq!(mask_cards("+44 20 7946 0958"), "+44 20 7946 0958");
    }

    #[test]
    fn cards_written_with_json_escapes_are_masked() {
        let line = r#"{"card":"4111\u00201111\u0020\u0031111 1111","x":"\\u0031"}"#;
        let masked = mask_cards(line);
        assert!(masked.contains(r#""4111 11** **** 1111""#), "{masked}");
        assert!(!masked.contains("u0020"), "{masked}");
        // An escaped backslash before "u0031" is text, not an escape.
        assert!(masked.contains(r#""x":"\\u0031""#), "{masked}");
        // Other escapes are left as written; a cut escape at the end is kept.
        assert_eq!(mask_cards(r#"a\u00e9b\u00"#), r#"a\u00e9b\u00"#);
    }

    #[test]
    fn cards_anywhere_in_a_json_value_are_masked() {
        let mut v: serde_json::Value = serde_json::from_str(
            r#"{"title":"card 4111-1111-1111-1111","n":4111111111111111,"tags":["5500 0000 0000 0004"]}"#,
        )
        .unwrap();
        assert!(mask_cards_in_json(&mut v));
        let text = v.to_string();
        assert!(!text.contains("4111-1111-1111-1111"), "{text}");
        assert!(
            !text.contains("4111111111111111"),
            "a card as a number: {text}"
        );
        assert!(!text.contains("5500 0000 0000 0004"), "{text}");
        let mut plain = serde_json::json!({"title": "hello 2026", "n": 12345678901234567u64});
        assert!(!mask_cards_in_json(&mut plain));
    }

    #[test]
    fn card_values_are_masked_in_payloads_and_raw_text() {
        let values = vec![(AttrKind::PaymentCard, " 4111 1111 1111 1111 ".to_string())];
        let payload = r#"{"card":"4111 1111 1111 1111","name":"Ann"}"#;
        let masked = mask_card_values(payload, &values);
        assert!(!masked.contains("4111 1111 1111 1111"), "{masked}");
        assert!(masked.contains("\"name\":\"Ann\""), "{masked}");
        // Written with JSON escapes, the card decodes to the same value: still masked.
        let escaped = r#"{"id":"r1","card_number":"4111\u00201111 1111 1111","note":["4111 1111 1111 1111"]}"#;
        let masked = mask_card_values(escaped, &values);
        assert!(!masked.contains("1111 1111 1111"), "{masked}");
        assert!(!masked.contains("u0020"), "{masked}");
        assert_eq!(masked, mask_card_values(escaped, &values), "deterministic");
        let back: serde_json::Value = serde_json::from_str(&masked).unwrap();
        assert_eq!(back["id"], "r1");
        // A card written as a JSON number.
        let numeric = r#"{"id":"r2","card_number":4111111111111111}"#;
        let values = vec![(AttrKind::PaymentCard, "4111111111111111".to_string())];
        let masked = mask_card_values(numeric, &values);
        assert!(!masked.contains("4111111111111111"), "{masked}");
        assert_eq!(masked_value(AttrKind::Surname, "4111"), "4111");
        assert!(!masked_value(AttrKind::PaymentCard, "4111111111111111").contains("11111111"));
    }
}
