//! Mentions: identifiers found in a document (a post's body, a page, a photo's EXIF),
//! each kept with its provenance — the record it is an attribute of, the record of the
//! document it came from (`origin`: the post for an account's mention), the document's
//! name, byte offsets into it and a short snippet around it (card numbers masked).
//!
//! Schema version 4 adds the table; erasing a record deletes the mentions
//! it holds and those that came from it (the `retention` module).

use rusqlite::{Connection, params};
use serde::Serialize;
use spirit_model::AttrKind;
use spirit_text::extract::{Finding, Kind};

use crate::StoreError;
use crate::schema::MENTIONS;

/// Bytes of context kept on each side of a mention in its snippet.
pub const SNIPPET_CONTEXT: usize = 40;

/// One mention on its way into the store.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mention {
    pub kind: AttrKind,
    /// Normalised value (as the attribute holds it).
    pub value: String,
    /// What the extractor called it (`bitcoin`, `iban`, `exif_serial`, …).
    pub found_as: String,
    /// The document: `file:line` of a post, a page's path.
    pub document: String,
    /// Byte offsets into the document's text (a post's body, a page's bytes).
    pub start: usize,
    pub end: usize,
    pub snippet: String,
}

/// A stored mention, as entity views show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MentionView {
    pub kind: String,
    pub value: String,
    pub found_as: String,
    /// The record the mention is an attribute of (`source:record_id`).
    pub record: String,
    /// The record of the document it was found in.
    pub origin: String,
    pub document: String,
    pub start: i64,
    pub end: i64,
    pub snippet: String,
}

/// The attribute kind an extracted identifier becomes, if any. URLs, domains, handles
/// and Telegram names are not attributes (a link or a handle in a post names someone
/// else as often as its author).
pub fn attr_kind(kind: Kind) -> Option<AttrKind> {
    Some(match kind {
        Kind::Email => AttrKind::Email,
        Kind::Phone => AttrKind::Phone,
        Kind::Jabber => AttrKind::JabberId,
        Kind::Iban => AttrKind::Iban,
        Kind::Card => AttrKind::PaymentCard,
        Kind::Bitcoin | Kind::Ethereum | Kind::Monero => AttrKind::CryptoAddress,
        Kind::Onion => AttrKind::OnionAddress,
        Kind::PgpFingerprint | Kind::PgpKey => AttrKind::PgpFingerprint,
        Kind::Ipv4 | Kind::Ipv6 => AttrKind::IpAddress,
        Kind::Url | Kind::Domain | Kind::Handle | Kind::Telegram => return None,
    })
}

/// The raw value to normalise for a finding: the card's digits from the document (the
/// finding itself holds only the masked form), else the extractor's normalised value
/// (for an armoured PGP key, its fingerprint).
pub fn raw_value(doc: &[u8], f: &Finding) -> String {
    if f.kind == Kind::Card {
        doc.get(f.start..f.end)
            .unwrap_or_default()
            .iter()
            .filter(|b| b.is_ascii_digit())
            .map(|&b| char::from(b))
            .collect()
    } else {
        f.value.clone()
    }
}

/// A one-line snippet of `doc` around `start..end`: [`SNIPPET_CONTEXT`] bytes each side
/// (widened to character boundaries), whitespace runs as one space, `…` where cut.
pub fn snippet(doc: &str, start: usize, end: usize) -> String {
    let floor = |mut i: usize| {
        i = i.min(doc.len());
        while !doc.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let ceil = |mut i: usize| {
        i = i.min(doc.len());
        while !doc.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let a = floor(start.saturating_sub(SNIPPET_CONTEXT));
    let b = ceil(end.saturating_add(SNIPPET_CONTEXT));
    let mut out = String::new();
    if a > 0 {
        out.push('…');
    }
    out.push_str(&doc[a..b].split_whitespace().collect::<Vec<_>>().join(" "));
    if b < doc.len() {
        out.push('…');
    }
    out
}

/// Stores the mentions of `record` that came from document record `origin`.
pub(crate) fn insert(
    conn: &Connection,
    record: i64,
    origin: i64,
    mentions: &[Mention],
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO {MENTIONS}(record, origin, kind, value, found_as, document, start, end, snippet) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    for m in mentions {
        stmt.execute(params![
            record,
            origin,
            m.kind.name(),
            m.value,
            m.found_as,
            m.document,
            m.start as i64,
            m.end as i64,
            m.snippet
        ])?;
    }
    Ok(())
}

/// Mentions held by one record, first found first; with `kind_value`, only those of that
/// attribute value.
pub fn of_record(
    conn: &Connection,
    record: i64,
    kind_value: Option<(&str, &str)>,
    limit: usize,
) -> Result<Vec<MentionView>, StoreError> {
    let sql = format!(
        "SELECT m.kind, m.value, m.found_as, s1.name || ':' || r1.record_id, \
                s2.name || ':' || r2.record_id, m.document, m.start, m.end, m.snippet \
         FROM {MENTIONS} AS m \
         JOIN records AS r1 ON r1.id = m.record JOIN sources AS s1 ON s1.id = r1.source \
         JOIN records AS r2 ON r2.id = m.origin JOIN sources AS s2 ON s2.id = r2.source \
         WHERE m.record = ?1 AND (?2 IS NULL OR (m.kind = ?2 AND m.value = ?3)) \
         ORDER BY m.id LIMIT ?4"
    );
    let (k, v) = kind_value.unzip();
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params![record, k, v, limit as i64], |r| {
            Ok(MentionView {
                kind: r.get(0)?,
                value: r.get(1)?,
                found_as: r.get(2)?,
                record: r.get(3)?,
                origin: r.get(4)?,
                document: r.get(5)?,
                start: r.get(6)?,
                end: r.get(7)?,
                snippet: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Deletes the mentions held by, or found in, the given records; returns how many.
pub(crate) fn erase(conn: &Connection, records_json: &str) -> Result<u64, StoreError> {
    Ok(conn.execute(
        &format!(
            "DELETE FROM {MENTIONS} WHERE record IN (SELECT value FROM json_each(?1)) \
             OR origin IN (SELECT value FROM json_each(?1))"
        ),
        [records_json],
    )? as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_one_line_and_cut_on_characters() {
        let doc = format!(
            "{}pay to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\nthanks{}",
            "é".repeat(30),
            "x".repeat(60)
        );
        let start = doc.find("1Boat").unwrap();
        let s = snippet(&doc, start, start + 34);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(
            s.contains("pay to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT thanks"),
            "{s}"
        );
    }

    #[test]
    fn cards_are_masked_in_place() {
        let text = "card 4111 1111 1111 1111 exp 12/29";
        let found = spirit_text::extract::extract(text, "GB");
        let card = found.iter().find(|f| f.kind == Kind::Card).unwrap();
        assert_eq!(raw_value(text.as_bytes(), card), "4111111111111111");
        let mut doc = text.as_bytes().to_vec();
        spirit_sources::mask::mask_card_spans(&mut doc, &found);
        let masked = String::from_utf8(doc).unwrap();
        assert_eq!(masked.len(), text.len());
        assert!(masked.contains("4111 11** **** 1111"), "{masked}");
    }
}
