//! E-mail addresses.
//!
//! An e-mail address is an identifier: two records with the same address very likely belong
//! to the same person. [`normalise_email`] removes the differences that do not change the
//! mailbox in practice (case, surrounding text, `mailto:`, plus-addressing tags) and rejects
//! strings that are not addresses. It is provider-neutral: it does not remove dots in the
//! local part, since only some providers ignore them.

/// Normalises an e-mail address; `None` when `s` is not one.
///
/// Steps: trim whitespace, quotes and brackets (`"Name" <a@b.com>` keeps the part between
/// `<` and `>`); strip a `mailto:` prefix and any `?query`; lowercase; drop a plus-addressing
/// tag from the local part ("a.b+news@x.com" → "a.b@x.com"); drop one trailing dot of the
/// domain. The result must contain exactly one `@`, a non-empty local part, and a domain with
/// a dot between two non-empty labels; no whitespace or control characters anywhere.
///
/// ```
/// use spirit_text::normalise_email;
/// assert_eq!(normalise_email(" A.B+news@Example.COM "), Some("a.b@example.com".into()));
/// assert_eq!(normalise_email("mailto:x@y.org"), Some("x@y.org".into()));
/// assert_eq!(normalise_email("not an email"), None);
/// ```
pub fn normalise_email(s: &str) -> Option<String> {
    let mut t = s.trim();
    if let (Some(open), Some(close)) = (t.find('<'), t.rfind('>'))
        && open < close
    {
        t = &t[open + 1..close];
    }
    t = t.trim_matches(|c: char| c.is_whitespace() || "\"'()[]<>,;:".contains(c));
    if t.len() >= 7 && t.is_char_boundary(7) && t[..7].eq_ignore_ascii_case("mailto:") {
        t = &t[7..];
    }
    if let Some(q) = t.find('?') {
        t = &t[..q];
    }
    let (local, domain) = t.split_once('@')?;
    let local = match local.find('+') {
        Some(plus) if plus > 0 => &local[..plus],
        _ => local,
    };
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if !valid_local(local) || !valid_domain(domain) {
        return None;
    }
    let mut out = String::with_capacity(local.len() + 1 + domain.len());
    push_lower(&mut out, local);
    out.push('@');
    push_lower(&mut out, domain);
    Some(out)
}

/// `(local, domain)` of a normalised e-mail address; `None` without exactly one `@` or with an
/// empty part.
///
/// ```
/// assert_eq!(spirit_text::split_email("a.b@example.com"), Some(("a.b", "example.com")));
/// ```
pub fn split_email(e: &str) -> Option<(&str, &str)> {
    let (local, domain) = e.split_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return None;
    }
    Some((local, domain))
}

fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

fn forbidden(c: char) -> bool {
    c.is_whitespace() || c.is_control() || "@<>()[],;:\\\"".contains(c)
}

fn valid_local(local: &str) -> bool {
    !local.is_empty() && !local.chars().any(forbidden)
}

fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && domain.chars().all(|c| {
            c.is_alphanumeric() || c == '-' || c == '.' || (!c.is_ascii() && !forbidden(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> Option<String> {
        normalise_email(s)
    }

    #[test]
    fn normalises_case_space_and_tags() {
        assert_eq!(
            e("John.Smith@Example.com"),
            Some("john.smith@example.com".into())
        );
        assert_eq!(e("  a.b+news@x.com\n"), Some("a.b@x.com".into()));
        assert_eq!(e("a.b+news+more@x.com"), Some("a.b@x.com".into()));
        assert_eq!(
            e("MAILTO:Someone@Host.co.uk"),
            Some("someone@host.co.uk".into())
        );
        assert_eq!(e("mailto:x@y.org?subject=hi"), Some("x@y.org".into()));
        assert_eq!(
            e("\"Jane Doe\" <Jane.Doe@Mail.net>"),
            Some("jane.doe@mail.net".into())
        );
        assert_eq!(e("<x@y.org>,"), Some("x@y.org".into()));
        assert_eq!(e("x@y.org."), Some("x@y.org".into()));
        // Dots are kept: only some providers ignore them.
        assert_eq!(e("j.o.h.n@gmail.com"), Some("j.o.h.n@gmail.com".into()));
    }

    #[test]
    fn international_addresses() {
        assert_eq!(e("Зоя@Пример.рф"), Some("зоя@пример.рф".into()));
        assert_eq!(e("MÜLLER@beispiel.de"), Some("müller@beispiel.de".into()));
        assert_eq!(e("用户@例子.中国"), Some("用户@例子.中国".into()));
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@b .com",
            "a@.com",
            "a@b..com",
            "a@b.com.com@",
            "mailto:",
        ] {
            assert_eq!(e(bad), None, "{bad:?}");
        }
        // A tag alone is not removed (the local part would be empty).
        assert_eq!(e("+tag@x.com"), Some("+tag@x.com".into()));
    }

    #[test]
    fn split_parts() {
        assert_eq!(split_email("a.b@example.com"), Some(("a.b", "example.com")));
        assert_eq!(split_email("no-at-sign"), None);
        assert_eq!(split_email("@x.com"), None);
        assert_eq!(split_email("a@"), None);
        assert_eq!(split_email("a@b@c"), None);
    }

    #[test]
    fn idempotent() {
        for s in [
            "A.B+news@Example.COM",
            "\"Jane\" <J@x.org>",
            "Зоя@Пример.рф",
        ] {
            let once = e(s).unwrap_or_default();
            assert_eq!(e(&once), Some(once.clone()), "{s}");
        }
    }
}
