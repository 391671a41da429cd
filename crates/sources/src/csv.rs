//! CSV and TSV files: the delimiter sniffed from the header when it is not the default,
//! a byte order mark skipped, file lines kept exact (blank lines, CRLF, quoted newlines),
//! malformed rows quarantined as they were written.

use std::fs::File;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::Path;

use spirit_matching::settings::InputSettings;

use crate::columns::{Collected, ColumnPlan, RowBuilder, buffered, plan_columns};
use crate::{SourceError, input_error};

/// When the header line lacks the default delimiter, picks the most frequent of `,` tab
/// `;` `|` in it (a semicolon CSV from a spreadsheet, a tab-separated `.txt`).
fn sniff_delimiter(head: &[u8], default: u8) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if line.contains(&default) {
        return default;
    }
    [b',', b'\t', b';', b'|']
        .into_iter()
        .map(|d| (line.iter().filter(|&&b| b == d).count(), d))
        .filter(|&(count, _)| count > 0)
        .max_by_key(|&(count, _)| count)
        .map_or(default, |(_, d)| d)
}

fn csv_error(path: &Path, e: csv::Error) -> SourceError {
    let line = e.position().map(|p| p.line());
    let message = format!("cannot read CSV: {e}");
    match e.into_kind() {
        csv::ErrorKind::Io(io) => SourceError::io(path, io),
        _ => input_error(path, line, message),
    }
}

/// The row as CSV text (for the quarantine file).
fn csv_raw(record: &csv::ByteRecord, delimiter: u8) -> String {
    let trimmed;
    let record = match record.iter().next_back() {
        Some(last) if last.ends_with(b"\r") => {
            let n = record.len();
            let mut copy: csv::ByteRecord = record.iter().take(n - 1).collect();
            copy.push_field(&last[..last.len() - 1]);
            trimmed = copy;
            &trimmed
        }
        _ => record,
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let written = writer.write_byte_record(record).is_ok();
    match writer.into_inner() {
        Ok(mut bytes) if written => {
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => record
            .iter()
            .map(String::from_utf8_lossy)
            .collect::<Vec<_>>()
            .join(&char::from(delimiter).to_string()),
    }
}

/// A record that is a blank line: one field of nothing but whitespace (a `\r\n` blank
/// line reads as one field holding `\r`, since only `\n` ends a record).
fn is_blank_record(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty())
}

/// The size of the file and whether its last byte is `\n`.
fn file_end(file: &mut File) -> std::io::Result<(u64, bool)> {
    use std::io::Read;
    let len = file.metadata()?.len();
    let mut last = [0u8];
    if len > 0 {
        file.seek(SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
        file.seek(SeekFrom::Start(0))?;
    }
    Ok((len, last[0] == b'\n'))
}

/// The file line a record starts on. The csv crate reports the position where parsing
/// started, which lies before any blank lines it skipped; instead count back from where
/// the record ended: its terminating `\n` (absent only at the end of a file without a
/// final newline) and the newlines inside its quoted fields.
fn record_start_line(
    end: &csv::Position,
    record: &csv::ByteRecord,
    file_len: u64,
    ends_with_newline: bool,
) -> u64 {
    let inside = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
    let terminated = end.byte() < file_len || ends_with_newline;
    end.line()
        .saturating_sub(inside + u64::from(terminated))
        .max(1)
}

pub(crate) fn read_csv(
    path: &Path,
    mut file: File,
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<(ColumnPlan, Collected), SourceError> {
    let io = |e| SourceError::io(path, e);
    let (file_len, ends_with_newline) = file_end(&mut file).map_err(io)?;
    let mut input = buffered(file);
    let delimiter = match settings.delimiter {
        Some(c) if c.is_ascii() && c != '\n' && c != '"' => c as u8,
        Some(c) => {
            return Err(input_error(
                path,
                None,
                format!(
                    "the delimiter must be one ASCII character other than a quote or a newline, got {c:?}"
                ),
            ));
        }
        None => {
            let tsv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
            let default = if tsv { b'\t' } else { b',' };
            sniff_delimiter(input.fill_buf().map_err(io)?, default)
        }
    };
    // Only `\n` ends a record, so that line numbers can be counted exactly; the `\r` of a
    // CRLF line ending is trimmed with the rest of the surrounding whitespace.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut next_record = |record: &mut csv::ByteRecord| -> Result<Option<u64>, SourceError> {
        loop {
            if !reader
                .read_byte_record(record)
                .map_err(|e| csv_error(path, e))?
            {
                return Ok(None);
            }
            if !is_blank_record(record) {
                let end = reader.position();
                return Ok(Some(record_start_line(
                    end,
                    record,
                    file_len,
                    ends_with_newline,
                )));
            }
        }
    };

    let Some(header_line) = next_record(&mut record)? else {
        return Err(input_error(path, None, "empty file: no header row"));
    };
    let mut headers = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(field) else {
            return Err(input_error(
                path,
                Some(header_line),
                format!("header of column {} is not valid UTF-8", i + 1),
            ));
        };
        let text = if i == 0 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        headers.push(text.trim().to_owned());
    }
    let plan = plan_columns(path, headers, &[], settings, id_arg)?;
    let width = plan.headers.len();

    let mut collected = Collected::new(plan.id_col.is_none(), settings.keep_payload);
    let mut row = RowBuilder::new(&plan.kinds);
    while let Some(line) = next_record(&mut record)? {
        collected.next_row();
        if record.len() != width {
            let reason = format!("expected {width} fields, found {}", record.len());
            collected.quarantine(line, reason, csv_raw(&record, delimiter));
            continue;
        }
        row.clear();
        let mut bad_column = None;
        for &(column, slot) in &plan.reads {
            match std::str::from_utf8(record.get(column).unwrap_or_default()) {
                Ok(text) => row.push(slot, text),
                Err(_) => {
                    bad_column = Some(column);
                    break;
                }
            }
        }
        let mut id = "";
        if bad_column.is_none()
            && let Some(column) = plan.id_col
        {
            match std::str::from_utf8(record.get(column).unwrap_or_default()) {
                Ok(text) => id = text,
                Err(_) => bad_column = Some(column),
            }
        }
        if let Some(column) = bad_column {
            let name = plan.headers.get(column).map_or("", String::as_str);
            let reason = format!("field \"{name}\" is not valid UTF-8");
            collected.quarantine(line, reason, csv_raw(&record, delimiter));
            continue;
        }
        collected.accept(id, line, &row, || csv_raw(&record, delimiter));
    }
    Ok((plan, collected.finish()))
}
