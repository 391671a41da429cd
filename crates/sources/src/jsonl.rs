//! JSON Lines: one object per line, read with a borrowing deserializer (keys and string
//! values are not copied unless escaped); nested values kept as their JSON text.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use spirit_matching::settings::InputSettings;

use crate::columns::{Collected, ColumnPlan, RowBuilder, buffered, plan_columns};
use crate::{SourceError, input_error};

/// Reads the next line into `buf` without its line ending; false at the end of the file.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    if reader.read_until(b'\n', buf)? == 0 {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(true)
}

/// Reads the next line that is not blank into `buf` (a byte order mark on the first line
/// dropped), counting every line read in `line`; false at the end of the file.
fn next_content_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    line: &mut u64,
) -> std::io::Result<bool> {
    while next_line(reader, buf)? {
        *line += 1;
        if *line == 1 {
            strip_bom(buf);
        }
        if !is_blank(buf) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn strip_bom(buf: &mut Vec<u8>) {
    if buf.starts_with(b"\xEF\xBB\xBF") {
        buf.drain(..3);
    }
}

fn is_blank(buf: &[u8]) -> bool {
    buf.iter().all(u8::is_ascii_whitespace)
}

/// An object key, borrowed from the line when it has no escapes.
struct JsonKey<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for JsonKey<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Keys are strings; they read as scalar text, borrowed when unescaped.
        match <JsonScalar<'de> as de::Deserialize<'de>>::deserialize(deserializer)? {
            JsonScalar::Text(key) => Ok(JsonKey(key)),
            JsonScalar::Null | JsonScalar::List(_) | JsonScalar::Nested => {
                Err(de::Error::custom("a string key"))
            }
        }
    }
}

/// A field value: scalars as text, null, an array (its scalar items as text; nested
/// arrays and objects in it skipped), or an object (skipped).
enum JsonScalar<'de> {
    Text(Cow<'de, str>),
    Null,
    List(Vec<Cow<'de, str>>),
    Nested,
}

impl<'de> de::Deserialize<'de> for JsonScalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = JsonScalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Borrowed(if v {
                    "true"
                } else {
                    "false"
                })))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonScalar::Text(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonScalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonScalar::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                de::Deserialize::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<JsonScalar<'de>>()? {
                    if let JsonScalar::Text(t) = item {
                        items.push(t);
                    }
                }
                Ok(JsonScalar::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonScalar::Nested)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// A visitor of one JSON object that is its own seed: `$visit` is its `visit_map`.
macro_rules! object_visitor {
    ($ty:ty, $de:lifetime, $visit:item) => {
        impl<$de> DeserializeSeed<$de> for $ty {
            type Value = ();
            fn deserialize<D: Deserializer<$de>>(self, deserializer: D) -> Result<(), D::Error> {
                deserializer.deserialize_map(self)
            }
        }

        impl<$de> Visitor<$de> for $ty {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            $visit
        }
    };
}

/// First pass: the keys of one object that are not yet known, in order.
struct NewKeys<'a> {
    known: &'a FxHashMap<String, usize>,
    new: &'a mut Vec<String>,
}

object_visitor!(
    NewKeys<'_>,
    'de,
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(JsonKey(key)) = map.next_key()? {
            map.next_value::<IgnoredAny>()?;
            if !self.known.contains_key(key.as_ref()) && !self.new.iter().any(|k| *k == key) {
                self.new.push(key.into_owned());
            }
        }
        Ok(())
    }
);

/// What a column of a JSON Lines file is used for.
#[derive(Clone, Copy)]
enum Role {
    Id,
    Attr(usize),
    Skip,
}

/// The id field of one object.
enum IdField<'de> {
    Absent,
    Text(Cow<'de, str>),
    Null,
    Nested,
}

/// Second pass: one object's id and attribute values.
struct RowFields<'a, 'de> {
    columns: &'a FxHashMap<String, usize>,
    roles: &'a [Role],
    row: &'a mut RowBuilder,
    id: &'a mut IdField<'de>,
}

object_visitor!(
    RowFields<'_, 'de>,
    'de,
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(JsonKey(key)) = map.next_key()? {
            let role = self
                .columns
                .get(key.as_ref())
                .and_then(|&c| self.roles.get(c).copied())
                .unwrap_or(Role::Skip);
            match role {
                Role::Id => {
                    *self.id = match map.next_value::<JsonScalar<'de>>()? {
                        JsonScalar::Text(t) => IdField::Text(t),
                        JsonScalar::Null => IdField::Null,
                        JsonScalar::List(_) | JsonScalar::Nested => IdField::Nested,
                    };
                }
                // An array gives each of its items: several values of a multi-valued
                // kind, else words joined as several columns of one kind are.
                Role::Attr(slot) => match map.next_value::<JsonScalar<'de>>()? {
                    JsonScalar::Text(t) => self.row.push(slot, &t),
                    JsonScalar::List(items) => self.row.push_list(slot, &items),
                    JsonScalar::Null | JsonScalar::Nested => {}
                },
                Role::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
);

pub(crate) fn read_json_lines(
    path: &Path,
    file: File,
    settings: &InputSettings,
    id_arg: Option<&str>,
) -> Result<(ColumnPlan, Collected), SourceError> {
    let io = |e| SourceError::io(path, e);

    // Pass 1: the keys, in order of first appearance over the valid objects.
    let mut reader = buffered(file);
    let mut buf = Vec::new();
    let mut columns: FxHashMap<String, usize> = FxHashMap::default();
    let mut headers: Vec<String> = Vec::new();
    let mut new_keys = Vec::new();
    let mut line = 0u64;
    let mut seen_content = false;
    while next_content_line(&mut reader, &mut buf, &mut line).map_err(io)? {
        if !seen_content {
            seen_content = true;
            if buf.trim_ascii_start().starts_with(b"[") {
                return Err(input_error(
                    path,
                    Some(line),
                    "this file holds a JSON array, not JSON Lines (one object per line); \
                     convert it, for example with jq -c '.[]'",
                ));
            }
        }
        new_keys.clear();
        let mut de = serde_json::Deserializer::from_slice(&buf);
        let parsed = NewKeys {
            known: &columns,
            new: &mut new_keys,
        }
        .deserialize(&mut de);
        if parsed.is_ok() && de.end().is_ok() {
            for key in new_keys.drain(..) {
                columns.insert(key.clone(), headers.len());
                headers.push(key);
            }
        }
    }
    if headers.is_empty() {
        return Err(input_error(
            path,
            None,
            "no field found: the file holds no JSON object with a field \
             (JSON Lines needs one object per line)",
        ));
    }
    let plan = plan_columns(path, headers, &[], settings, id_arg)?;
    let mut roles = vec![Role::Skip; plan.headers.len()];
    for &(c, slot) in &plan.reads {
        roles[c] = Role::Attr(slot);
    }
    if let Some(c) = plan.id_col {
        roles[c] = Role::Id;
    }

    // Pass 2: the records.
    let mut file = reader.into_inner();
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut reader = buffered(file);
    let mut collected = Collected::new(plan.id_col.is_none(), settings.keep_payload);
    let mut row = RowBuilder::new(&plan.kinds);
    let id_name = plan
        .id_col
        .and_then(|c| plan.headers.get(c))
        .cloned()
        .unwrap_or_default();
    line = 0;
    while next_content_line(&mut reader, &mut buf, &mut line).map_err(io)? {
        collected.next_row();
        row.clear();
        let mut id = IdField::Absent;
        let mut de = serde_json::Deserializer::from_slice(&buf);
        let parsed = RowFields {
            columns: &columns,
            roles: &roles,
            row: &mut row,
            id: &mut id,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        let raw = || String::from_utf8_lossy(&buf).into_owned();
        if let Err(e) = parsed {
            collected.quarantine(line, e.to_string(), raw());
            continue;
        }
        let id = match &id {
            _ if collected.by_row_number => "",
            IdField::Text(t) => t.as_ref(),
            IdField::Null => "",
            IdField::Absent => {
                let reason = format!("record id field \"{id_name}\" is missing");
                collected.quarantine(line, reason, raw());
                continue;
            }
            IdField::Nested => {
                let reason = format!("record id field \"{id_name}\" holds an array or object");
                collected.quarantine(line, reason, raw());
                continue;
            }
        };
        collected.accept(id, line, &row, raw);
    }
    Ok((plan, collected.finish()))
}
