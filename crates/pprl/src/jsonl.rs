//! The exchange format of encodings: JSON Lines, a first line `{"spirit_pprl": <meta>}`
//! ([`EncodingMeta`]: format, schema fingerprint, key check, length, hardening — nothing
//! secret), then one line `{"id": …, "clk": <base64>}` per record. It is what a party
//! writes with `spirit pprl encode`, uploads to a linkage unit and links locally.
//!
//! Reading is strict and names the line of every problem: a missing or malformed header,
//! a filter of the wrong length, an empty, over-long or repeated id, an invalid
//! description (length not a multiple of 64, segments outside the filter). No plain value
//! can be carried: a row holds nothing but its id and its bits.

use std::io::{BufRead, Write};

use serde::Deserialize;

use crate::dice::{FilterSet, filter_to_base64};
use crate::encode::{EncodedTable, EncodingMeta, FORMAT};
use crate::error::{PprlError, Result};

/// Longest record id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// Longest filter accepted, in bits (1 MiB of bits per record).
pub const MAX_BITS: u32 = 1 << 23;

/// Writes `table` in the exchange format.
pub fn write_encodings(out: &mut impl Write, table: &EncodedTable) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(out);
    writeln!(out, "{}", serde_json::json!({ "spirit_pprl": &table.meta }))?;
    for (i, id) in table.ids.iter().enumerate() {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "id": id, "clk": filter_to_base64(table.filters.get(i)) })
        )?;
    }
    out.flush()
}

/// Reads encodings in the exchange format; every error names its line.
pub fn read_encodings(reader: impl BufRead) -> Result<EncodedTable> {
    #[derive(Deserialize)]
    struct Head {
        spirit_pprl: EncodingMeta,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Row {
        id: String,
        clk: String,
    }
    let line_err = |line: usize, reason: String| PprlError::Line { line, reason };
    let mut lines = reader.lines().enumerate().map(|(i, l)| {
        l.map(|l| (i + 1, l))
            .map_err(|e| line_err(i + 1, format!("cannot be read: {e}")))
    });
    let (head_line, meta) = loop {
        let Some(next) = lines.next() else {
            return Err(line_err(
                1,
                "empty: expected a first line {\"spirit_pprl\": …}".into(),
            ));
        };
        let (n, line) = next?;
        if line.trim().is_empty() {
            continue;
        }
        let head: Head = serde_json::from_str(&line).map_err(|e| {
            line_err(
                n,
                format!(
                    "not an encodings file (the first line must be {{\"spirit_pprl\": …}}): {e}"
                ),
            )
        })?;
        break (n, head.spirit_pprl);
    };
    check_meta(&meta).map_err(|reason| line_err(head_line, reason))?;
    let mut filters = FilterSet::new(meta.bits as usize)?;
    let mut ids: Vec<String> = Vec::new();
    let mut seen = rustc_hash::FxHashMap::default();
    for next in lines {
        let (n, line) = next?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(&line)
            .map_err(|e| line_err(n, format!("expected {{\"id\": …, \"clk\": …}}: {e}")))?;
        if row.id.is_empty() || row.id.len() > MAX_ID_BYTES {
            return Err(line_err(
                n,
                format!("a record id must have 1 to {MAX_ID_BYTES} bytes"),
            ));
        }
        if let Some(first) = seen.insert(row.id.clone(), n) {
            return Err(line_err(
                n,
                format!("record id {:?} repeats line {first}", row.id),
            ));
        }
        filters.push_base64(&row.clk).map_err(|e| {
            line_err(
                n,
                match e {
                    PprlError::FilterText { reason, .. } => reason,
                    other => other.to_string(),
                },
            )
        })?;
        ids.push(row.id);
    }
    Ok(EncodedTable { meta, ids, filters })
}

/// What makes a description unusable, if anything.
fn check_meta(meta: &EncodingMeta) -> std::result::Result<(), String> {
    if meta.format != FORMAT {
        return Err(format!(
            "format {:?} is not {FORMAT:?} (encoded by another version?)",
            meta.format
        ));
    }
    if meta.bits == 0 || !meta.bits.is_multiple_of(64) || meta.bits > MAX_BITS {
        return Err(format!(
            "filter length {} must be a positive multiple of 64 of at most {MAX_BITS}",
            meta.bits
        ));
    }
    for (i, s) in meta.segments.iter().enumerate() {
        if s.bits == 0 || !s.offset.is_multiple_of(64) || !s.bits.is_multiple_of(64) {
            return Err(format!(
                "segment {i} must start and end on a 64-bit boundary"
            ));
        }
        if u64::from(s.offset) + u64::from(s.bits) > u64::from(meta.bits) {
            return Err(format!(
                "segment {i} lies outside the {}-bit filter",
                meta.bits
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Encoder, Schema, Secret};
    use spirit_model::AttrKind;

    fn table() -> EncodedTable {
        let enc = Encoder::new(
            &Schema::for_kinds(&[AttrKind::GivenName, AttrKind::Surname]),
            &Secret::from_bytes([5; 32]),
        )
        .unwrap();
        let recs = vec![
            vec![
                (AttrKind::GivenName, "Ann".to_string()),
                (AttrKind::Surname, "Lee".to_string()),
            ],
            vec![(AttrKind::Surname, "Okafor".to_string())],
        ];
        enc.encode_table(&["a", "b"], &recs).unwrap()
    }

    fn text() -> String {
        let mut out = Vec::new();
        write_encodings(&mut out, &table()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn round_trip() {
        let t = table();
        let back = read_encodings(text().as_bytes()).unwrap();
        assert_eq!(back.meta, t.meta);
        assert_eq!(back.ids, t.ids);
        assert_eq!(back.filters.data(), t.filters.data());
    }

    fn error_of(text: &str) -> String {
        read_encodings(text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_line() {
        let good = text();
        let lines: Vec<&str> = good.lines().collect();
        assert!(error_of("").contains("line 1: empty"));
        assert!(error_of("id,clk\n").contains("line 1: not an encodings file"));
        let repeated = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[1]);
        assert_eq!(
            error_of(&repeated),
            "line 3: record id \"a\" repeats line 2"
        );
        let short = format!("{}\n{{\"id\":\"x\",\"clk\":\"AAAA\"}}\n", lines[0]);
        assert!(
            error_of(&short).starts_with("line 2: 3 bytes where a filter"),
            "{}",
            error_of(&short)
        );
        let extra = format!(
            "{}\n{{\"id\":\"x\",\"clk\":\"AAAA\",\"name\":\"Ann\"}}\n",
            lines[0]
        );
        assert!(error_of(&extra).contains("unknown field `name`"));
        let not_b64 = format!("{}\n{{\"id\":\"x\",\"clk\":\"!!\"}}\n", lines[0]);
        assert!(error_of(&not_b64).starts_with("line 2: not base64"));
        let long_id = format!(
            "{}\n{{\"id\":\"{}\",\"clk\":\"\"}}\n",
            lines[0],
            "x".repeat(300)
        );
        assert!(error_of(&long_id).starts_with("line 2: a record id must have"));
        let bad_bits = lines[0].replace("\"bits\":1024", "\"bits\":100");
        assert!(
            error_of(&bad_bits).contains("line 1: filter length 100"),
            "{}",
            error_of(&bad_bits)
        );
        let bad_format = lines[0].replace("spirit-pprl/1", "other/9");
        assert!(error_of(&bad_format).contains("line 1: format \"other/9\""));
        assert!(
            read_encodings(&b"\xff\xfe\n"[..])
                .unwrap_err()
                .to_string()
                .starts_with("line 1")
        );
    }
}
