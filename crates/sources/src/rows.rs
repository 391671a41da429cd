//! Records that arrive one at a time (a stream on standard input, an upload): each line
//! of JSON Lines, or each row of a CSV with a header, becomes the record's
//! (column, value) pairs and the payload kept for it, or an error naming the line. The
//! batch readers of whole files are [`crate::read_source`]'s; this is the streaming form
//! `spirit add` and the HTTP upload share.

use std::io::BufRead;

/// The format of a stream of records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFormat {
    /// One JSON object per line.
    JsonLines,
    /// CSV with a header row.
    Csv,
}

/// One record of a stream, as read.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRow {
    /// The 1-based line it starts on.
    pub line: u64,
    /// (column, value) in the order written; scalars as text, nested JSON as its text,
    /// `null` as empty.
    pub fields: Vec<(String, String)>,
    /// The row as kept with the record: the JSON line, or a CSV row as a JSON object.
    pub payload: String,
}

/// A line that is not a usable record.
#[derive(Clone, Debug, PartialEq)]
pub struct RowError {
    /// The 1-based line (0 when the reader could not tell).
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Reads `input` as `format`, calling `each` with every record or error in order until
/// the input ends or `each` returns false. A CSV whose header cannot be read gives one
/// error for line 1 and nothing else; blank JSON lines are skipped.
pub fn read_rows<R: BufRead>(
    input: R,
    format: StreamFormat,
    mut each: impl FnMut(Result<StreamRow, RowError>) -> bool,
) {
    match format {
        StreamFormat::JsonLines => {
            for (i, line) in input.lines().enumerate() {
                let n = i as u64 + 1;
                let item = match line {
                    Err(e) => Err(RowError {
                        line: n,
                        message: format!("cannot read: {e}"),
                    }),
                    Ok(line) if line.trim().is_empty() => continue,
                    Ok(line) => match json_fields(&line) {
                        Ok(fields) => Ok(StreamRow {
                            line: n,
                            fields,
                            payload: line,
                        }),
                        Err(message) => Err(RowError { line: n, message }),
                    },
                };
                if !each(item) {
                    return;
                }
            }
        }
        StreamFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
            let headers: Vec<String> = match reader.headers() {
                Ok(h) if !h.is_empty() && !h.iter().all(str::is_empty) => {
                    h.iter().map(str::to_owned).collect()
                }
                Ok(_) => {
                    each(Err(RowError {
                        line: 1,
                        message: "the CSV has no header row".into(),
                    }));
                    return;
                }
                Err(e) => {
                    each(Err(RowError {
                        line: 1,
                        message: format!("cannot read the header: {e}"),
                    }));
                    return;
                }
            };
            for row in reader.records() {
                let item = match row {
                    Err(e) => Err(RowError {
                        line: e.position().map_or(0, |p| p.line()),
                        message: e.to_string(),
                    }),
                    Ok(row) => {
                        let line = row.position().map_or(0, |p| p.line());
                        if row.len() != headers.len() {
                            Err(RowError {
                                line,
                                message: format!(
                                    "{} fields where the header has {}",
                                    row.len(),
                                    headers.len()
                                ),
                            })
                        } else {
                            let fields: Vec<(String, String)> = headers
                                .iter()
                                .cloned()
                                .zip(row.iter().map(str::to_owned))
                                .collect();
                            let payload = serde_json::Value::Object(
                                fields
                                    .iter()
                                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                                    .collect(),
                            )
                            .to_string();
                            Ok(StreamRow {
                                line,
                                fields,
                                payload,
                            })
                        }
                    }
                };
                if !each(item) {
                    return;
                }
            }
        }
    }
}

/// The (key, value) pairs of a JSON object line; scalars become text, nested values
/// their JSON text.
pub fn json_fields(line: &str) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("a record must be a JSON object".into());
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, format: StreamFormat) -> Vec<Result<StreamRow, RowError>> {
        let mut out = Vec::new();
        read_rows(text.as_bytes(), format, |r| {
            out.push(r);
            true
        });
        out
    }

    #[test]
    fn json_lines_give_fields_and_name_bad_lines() {
        let rows = all(
            "{\"id\":1,\"name\":\"Ann\",\"x\":null}\n\nnot json\n[1]\n",
            StreamFormat::JsonLines,
        );
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.line, 1);
        assert!(first.fields.contains(&("id".into(), "1".into())));
        assert!(first.fields.contains(&("x".into(), String::new())));
        let e = rows[1].as_ref().unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("not valid JSON"), "{e}");
        assert!(
            rows[2]
                .as_ref()
                .unwrap_err()
                .message
                .contains("JSON object")
        );
    }

    #[test]
    fn csv_rows_keep_lines_and_refuse_wrong_widths() {
        let rows = all(
            "id,name\n1,Ann\n2,Bo,extra\n3,\"C\nD\"\n4,Ed\n",
            StreamFormat::Csv,
        );
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].as_ref().unwrap().line, 2);
        assert!(
            rows[0]
                .as_ref()
                .unwrap()
                .payload
                .contains("\"name\":\"Ann\"")
        );
        let e = rows[1].as_ref().unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "3 fields where the header has 2")
        );
        assert_eq!(rows[3].as_ref().unwrap().line, 6);
        let header = all("", StreamFormat::Csv);
        assert_eq!(header.len(), 1);
        assert!(header[0].is_err());
    }

    #[test]
    fn a_consumer_can_stop_early() {
        let mut seen = 0;
        read_rows("{}\n{}\n{}\n".as_bytes(), StreamFormat::JsonLines, |_| {
            seen += 1;
            seen < 2
        });
        assert_eq!(seen, 2);
    }
}
