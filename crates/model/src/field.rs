//! Fields: columns SPIRIT has no built-in kind for (an `organisation`, a `year`, a list of
//! `associates`), kept as evidence under their own name.
//!
//! A field is named by its header, normalised (lowercase, runs of other characters as one
//! `_`). Names are interned once per process, so [`FieldId`] (and so
//! [`crate::AttrKind`]) stays `Copy`; at most [`MAX_FIELDS`] distinct names are
//! interned, and a name is at most [`MAX_FIELD_NAME`] bytes.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

/// The prefix of a field's kind name (`field:organisation`), which keeps field names
/// apart from the built-in kinds'.
pub const FIELD_PREFIX: &str = "field:";

/// The most distinct field names one process interns.
pub const MAX_FIELDS: usize = 4096;

/// The longest field name, in bytes (after normalisation).
pub const MAX_FIELD_NAME: usize = 64;

/// An interned field name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(u16);

#[derive(Default)]
struct Interner {
    names: Vec<&'static str>,
    /// Each name's index in `names`: a lookup costs one hash, however many are taken.
    index: HashMap<&'static str, u16>,
}

static FIELDS: LazyLock<RwLock<Interner>> = LazyLock::new(Default::default);

impl FieldId {
    /// The field of a header: `None` when nothing is left of it after normalisation,
    /// it is longer than [`MAX_FIELD_NAME`], or [`MAX_FIELDS`] names are taken.
    pub fn of_header(header: &str) -> Option<FieldId> {
        FieldId::intern(&field_name(header)?)
    }

    /// The field of an already normalised name (as [`FieldId::name`] gives it).
    pub fn from_name(name: &str) -> Option<FieldId> {
        (field_name(name).as_deref() == Some(name)).then_some(())?;
        FieldId::intern(name)
    }

    fn intern(name: &str) -> Option<FieldId> {
        let find = |i: &Interner| i.index.get(name).copied().map(FieldId);
        if let Some(id) = find(&FIELDS.read().unwrap_or_else(|e| e.into_inner())) {
            return Some(id);
        }
        let mut fields = FIELDS.write().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = find(&fields) {
            return Some(id);
        }
        if fields.names.len() >= MAX_FIELDS {
            return None;
        }
        // Bounded by MAX_FIELDS × MAX_FIELD_NAME bytes per process.
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        let at = fields.names.len() as u16;
        fields.names.push(leaked);
        fields.index.insert(leaked, at);
        Some(FieldId(at))
    }

    /// The field's normalised name (`organisation`, `vehicle_plate`).
    pub fn name(self) -> &'static str {
        FIELDS.read().unwrap_or_else(|e| e.into_inner()).names[usize::from(self.0)]
    }

    /// The kind name of the field: [`FIELD_PREFIX`] and its name.
    pub fn kind_name(self) -> &'static str {
        // Interned alongside the name so that `AttrKind::name` stays `&'static str`.
        let full = format!("{FIELD_PREFIX}{}", self.name());
        let id = FieldId::intern(&full).unwrap_or(self);
        FIELDS.read().unwrap_or_else(|e| e.into_inner()).names[usize::from(id.0)]
    }
}

/// A header's field name: lowercase letters and digits, other runs as one `_`, none at
/// either end.
pub fn field_name(header: &str) -> Option<String> {
    let mut out = String::with_capacity(header.len());
    for c in header.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    (!out.is_empty() && out.len() <= MAX_FIELD_NAME).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_normalise_and_intern_once() {
        let a = FieldId::of_header(" Vehicle  Plate ").unwrap();
        let b = FieldId::of_header("vehicle-plate").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.name(), "vehicle_plate");
        assert_eq!(a.kind_name(), "field:vehicle_plate");
        assert_eq!(FieldId::from_name("vehicle_plate"), Some(a));
        assert_eq!(FieldId::from_name("Vehicle Plate"), None);
        assert_eq!(FieldId::of_header("--"), None);
        assert_eq!(FieldId::of_header(&"x".repeat(MAX_FIELD_NAME + 1)), None);
        assert_eq!(field_name("Организация").as_deref(), Some("организация"));
    }

    #[test]
    fn every_interned_name_finds_its_own_id() {
        let ids: Vec<FieldId> = (0..300)
            .map(|i| FieldId::of_header(&format!("lookup test {i}")).unwrap())
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(id.name(), format!("lookup_test_{i}"));
            assert_eq!(FieldId::from_name(&format!("lookup_test_{i}")), Some(*id));
        }
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }
}
