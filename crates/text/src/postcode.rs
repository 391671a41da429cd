//! Postcodes and ZIP codes.
//!
//! Postcode formats differ by country, but their spacing and case do not carry meaning, so
//! SPIRIT compares them as uppercase ASCII alphanumerics only: "sw1a 1aa" and "SW1A1AA" agree,
//! and a ZIP code keeps its leading zeros ("02134").

/// Uppercase ASCII alphanumerics of a postcode; `None` when there are none.
///
/// Full-width forms (common in East Asian data) count as their ASCII equivalents; every other
/// character (spaces, dashes, "〒", letters of other scripts) is dropped.
///
/// ```
/// use spirit_text::normalise_postcode;
/// assert_eq!(normalise_postcode("sw1a 1aa"), Some("SW1A1AA".into()));
/// assert_eq!(normalise_postcode("02134"), Some("02134".into()));
/// assert_eq!(normalise_postcode(" - "), None);
/// ```
pub fn normalise_postcode(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len().min(16));
    for c in s.chars() {
        // Full-width ASCII variants U+FF01..=U+FF5E sit at a fixed offset from ASCII.
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(' '),
            _ => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_us_and_other_formats() {
        assert_eq!(normalise_postcode("sw1a 1aa"), Some("SW1A1AA".into()));
        assert_eq!(normalise_postcode(" SW1A-1AA "), Some("SW1A1AA".into()));
        assert_eq!(normalise_postcode("02134"), Some("02134".into()));
        assert_eq!(normalise_postcode("02134-1234"), Some("021341234".into()));
        assert_eq!(normalise_postcode("75008 Paris"), Some("75008PARIS".into()));
        assert_eq!(normalise_postcode("〒100-0001"), Some("1000001".into()));
        assert_eq!(
            normalise_postcode("１００－０００１"),
            Some("1000001".into())
        );
        assert_eq!(normalise_postcode("K1A 0B1"), Some("K1A0B1".into()));
    }

    #[test]
    fn nothing_left_is_none() {
        assert_eq!(normalise_postcode(""), None);
        assert_eq!(normalise_postcode("  -  "), None);
        assert_eq!(normalise_postcode("Москва"), None);
    }

    #[test]
    fn idempotent() {
        let once = normalise_postcode("sw1a 1aa").unwrap_or_default();
        assert_eq!(normalise_postcode(&once), Some(once));
    }
}
