//! Parquet: read with the arrow reader in batches, only the columns used; typed values
//! (dates, timestamps, decimals, numbers) become text; a decoder panic on a corrupt file
//! is an error naming the file.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::reader::{ChunkReader, Length};
use spirit_matching::settings::InputSettings;

use crate::columns::{Collected, ColumnPlan, RowBuilder, plan_columns};
use crate::{SourceError, input_error};

/// One Parquet column of a batch, readable as text row by row.
struct TextColumn<'a> {
    nulls: Option<NullBuffer>,
    values: TextValues<'a>,
}

enum TextValues<'a> {
    Utf8(&'a arrow::array::StringArray),
    LargeUtf8(&'a arrow::array::LargeStringArray),
    Utf8View(&'a arrow::array::StringViewArray),
    Binary(&'a arrow::array::BinaryArray),
    LargeBinary(&'a arrow::array::LargeBinaryArray),
    BinaryView(&'a arrow::array::BinaryViewArray),
    Other(ArrayFormatter<'a>),
}

/// Formatting failed for a value (for example an out-of-range timestamp).
struct Unformattable;

impl<'a> TextColumn<'a> {
    fn new(array: &'a ArrayRef) -> Result<TextColumn<'a>, String> {
        let nulls = array.logical_nulls();
        let values = if let Some(a) = array.as_string_opt::<i32>() {
            TextValues::Utf8(a)
        } else if let Some(a) = array.as_string_opt::<i64>() {
            TextValues::LargeUtf8(a)
        } else if let Some(a) = array.as_string_view_opt() {
            TextValues::Utf8View(a)
        } else if let Some(a) = array.as_binary_opt::<i32>() {
            TextValues::Binary(a)
        } else if let Some(a) = array.as_binary_opt::<i64>() {
            TextValues::LargeBinary(a)
        } else if let Some(a) = array.as_binary_view_opt() {
            TextValues::BinaryView(a)
        } else {
            let options = FormatOptions::new().with_display_error(false);
            TextValues::Other(
                ArrayFormatter::try_new(array.as_ref(), &options).map_err(|e| {
                    format!(
                        "values of type {} cannot be read as text: {e}",
                        array.data_type()
                    )
                })?,
            )
        };
        Ok(TextColumn { nulls, values })
    }

    /// The value at `row` as text; `None` when null.
    fn value(&self, row: usize) -> Result<Option<Cow<'a, str>>, Unformattable> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            return Ok(None);
        }
        let text = match &self.values {
            TextValues::Utf8(a) => Cow::Borrowed(a.value(row)),
            TextValues::LargeUtf8(a) => Cow::Borrowed(a.value(row)),
            TextValues::Utf8View(a) => Cow::Borrowed(a.value(row)),
            TextValues::Binary(a) => String::from_utf8_lossy(a.value(row)),
            TextValues::LargeBinary(a) => String::from_utf8_lossy(a.value(row)),
            TextValues::BinaryView(a) => String::from_utf8_lossy(a.value(row)),
            TextValues::Other(f) => {
                use std::fmt::Write;
                let mut s = String::new();
                write!(s, "{}", f.value(row)).map_err(|_| Unformattable)?;
                Cow::Owned(s)
            }
        };
        Ok(Some(text))
    }
}

/// Dictionary-encoded columns are decoded first (to their value type's text).
fn decode_dictionary(array: &ArrayRef) -> ArrayRef {
    match array.data_type() {
        DataType::Dictionary(_, value) => {
            let target = match value.as_ref() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
                other => other.clone(),
            };
            cast(array, &target).unwrap_or_else(|_| array.clone())
        }
        _ => array.clone(),
    }
}

/// A Parquet file whose readers fail when asked to read past its end, rather than
/// answering 0 bytes. The Parquet crate skips the unknown fields of a page header with
/// `io::copy(reader.take(n), sink)`, which takes an early end of input as success: a
/// corrupt header that lists 2^28 UUIDs made a 1 kB file cost 2^28 empty reads, each a
/// system call (41 s). A valid file never asks for bytes past its end: the footer and
/// the page headers are read with `read_exact` or a bounded `take` inside the file.
struct EndIsError(File);

impl Length for EndIsError {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl ChunkReader for EndIsError {
    type T = EndIsErrorRead<<File as ChunkReader>::T>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(EndIsErrorRead(self.0.get_read(start)?))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// A reader of [`EndIsError`].
struct EndIsErrorRead<R>(R);

impl<R: Read> Read for EndIsErrorRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        if n == 0 && !buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the Parquet data runs past the end of the file",
            ));
        }
        Ok(n)
    }
}

/// Checks that every dictionary page holds as many values as it says. The decoder sizes
/// a dictionary by the count in its page header before it reads a value: a 1 kB file
/// whose header claims 932 million 8-byte values made it allocate 7.4 GB. Plain
/// encoding spends at least a bit on a boolean, four bytes on a string (its length) and
/// the type's width on any other value, so a count the page's bytes cannot hold is
/// refused. Only page headers are read, and the dictionary pages themselves.
fn check_dictionaries(file: EndIsError) -> Result<(), String> {
    use parquet::basic::Type;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(|e| e.to_string())?;
        for c in 0..group.num_columns() {
            let column = schema.column(c);
            // The fewest bits one value takes in a plain-encoded dictionary.
            let bits: u64 = match column.physical_type() {
                Type::BOOLEAN => 1,
                Type::INT32 | Type::FLOAT | Type::BYTE_ARRAY => 32,
                Type::INT64 | Type::DOUBLE => 64,
                Type::INT96 => 96,
                Type::FIXED_LEN_BYTE_ARRAY => 8 * u64::try_from(column.type_length()).unwrap_or(0),
            }
            .max(1);
            let mut pages = group.get_column_page_reader(c).map_err(|e| e.to_string())?;
            while let Some(meta) = pages.peek_next_page().map_err(|e| e.to_string())? {
                if !meta.is_dict {
                    pages.skip_next_page().map_err(|e| e.to_string())?;
                    continue;
                }
                let Some(parquet::column::page::Page::DictionaryPage {
                    buf, num_values, ..
                }) = pages.get_next_page().map_err(|e| e.to_string())?
                else {
                    continue;
                };
                if u64::from(num_values) * bits > buf.len() as u64 * 8 {
                    return Err(format!(
                        "the dictionary of column {:?} says it holds {num_values} values in \
                         {} bytes",
                        column.path().string(),
                        buf.len()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Reads a Parquet file, turning a panic inside the decoder (which corrupt files can
/// still cause in the Parquet/Arrow crates) into an error naming the file.
pub(crate) fn read_parquet_guarded(
    path: &Path,
    file: File,
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<(ColumnPlan, Collected), SourceError> {
    let read = std::panic::AssertUnwindSafe(|| read_parquet(path, file, settings, id_arg));
    std::panic::catch_unwind(read).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(input_error(
            path,
            None,
            format!("cannot read Parquet file: corrupt or unsupported data ({detail})"),
        ))
    })
}

fn read_parquet(
    path: &Path,
    file: File,
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<(ColumnPlan, Collected), SourceError> {
    // The Parquet schema's own logical types (strings, dates, timestamps, decimals) are
    // all that text values need; skipping the embedded Arrow schema also avoids decoding
    // a second, easily corrupted, schema.
    let copy = file.try_clone().map_err(|e| SourceError::io(path, e))?;
    check_dictionaries(EndIsError(copy))
        .map_err(|e| input_error(path, None, format!("cannot read Parquet file: {e}")))?;
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(EndIsError(file), options)
        .map_err(|e| input_error(path, None, format!("cannot read Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let headers: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().trim().to_owned())
        .collect();
    let nested: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_nested())
        .collect();
    let plan = plan_columns(path, headers, &nested, settings, id_arg)?;

    let mut needed: Vec<usize> = plan
        .reads
        .iter()
        .map(|&(c, _)| c)
        .chain(plan.id_col)
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let position = |column: usize| needed.binary_search(&column).ok();
    let reads: Vec<(usize, usize, usize)> = plan
        .reads
        .iter()
        .filter_map(|&(c, slot)| Some((position(c)?, slot, c)))
        .collect();
    let id_position = plan.id_col.and_then(position);

    let mask = ProjectionMask::roots(builder.parquet_schema(), needed.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(|e| input_error(path, None, format!("cannot read Parquet file: {e}")))?;

    let mut collected = Collected::new(plan.id_col.is_none(), settings.keep_payload);
    let mut row = RowBuilder::new(&plan.kinds);
    let mut row_number = 0u64;
    let name_of = |c: usize| plan.headers.get(c).map_or("", String::as_str);
    for batch in reader {
        let batch = batch.map_err(|e| {
            input_error(
                path,
                Some(row_number + 1),
                format!("cannot decode Parquet data: {e}"),
            )
        })?;
        if batch.num_columns() != needed.len() {
            return Err(input_error(
                path,
                Some(row_number + 1),
                format!(
                    "expected {} columns in a Parquet batch, found {}",
                    needed.len(),
                    batch.num_columns()
                ),
            ));
        }
        let arrays: Vec<ArrayRef> = batch.columns().iter().map(decode_dictionary).collect();
        let mut columns = Vec::with_capacity(arrays.len());
        for (array, &c) in arrays.iter().zip(&needed) {
            let column = TextColumn::new(array).map_err(|message| {
                input_error(path, None, format!("column \"{}\": {message}", name_of(c)))
            })?;
            columns.push(column);
        }
        let raw = |r: usize| {
            let mut object = serde_json::Map::new();
            for (column, &c) in columns.iter().zip(&needed) {
                let value = match column.value(r) {
                    Ok(Some(text)) => serde_json::Value::String(text.into_owned()),
                    _ => serde_json::Value::Null,
                };
                object.insert(name_of(c).to_owned(), value);
            }
            serde_json::Value::Object(object).to_string()
        };
        for r in 0..batch.num_rows() {
            row_number += 1;
            collected.next_row();
            row.clear();
            let mut bad_column = None;
            for &(p, slot, c) in &reads {
                match columns.get(p).map(|col| col.value(r)) {
                    Some(Ok(Some(text))) => row.push(slot, &text),
                    Some(Ok(None)) | None => {}
                    Some(Err(Unformattable)) => {
                        bad_column = Some(c);
                        break;
                    }
                }
            }
            let mut id = Cow::Borrowed("");
            if bad_column.is_none()
                && let (Some(p), Some(c)) = (id_position, plan.id_col)
            {
                match columns.get(p).map(|col| col.value(r)) {
                    Some(Ok(Some(text))) => id = text,
                    Some(Ok(None)) | None => {}
                    Some(Err(Unformattable)) => bad_column = Some(c),
                }
            }
            if let Some(c) = bad_column {
                let reason = format!("value of column \"{}\" cannot be formatted", name_of(c));
                collected.quarantine(row_number, reason, raw(r));
                continue;
            }
            collected.accept(&id, row_number, &row, || raw(r));
        }
    }
    Ok((plan, collected.finish()))
}
