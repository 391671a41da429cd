//! The prepared record table: one interned, normalised column per attribute kind.
//!
//! Values are normalised once, interned per column (so equality is an integer compare
//! and term frequencies are counts), and derived data that comparisons need — phonetic
//! codes, parsed dates, address tokens — is computed once per *distinct* value.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use spirit_model::AttrKind;
use spirit_text::{DateOrder, PartialDate, PhoneNormaliser};

use crate::evidence;
use crate::evidence::CardKey;
use crate::field::FieldValues;
pub use crate::hash::{hash_bytes, hash_str};
use crate::values::MoreValues;

/// Marks a missing value in [`Column::ids`].
pub const NULL_ID: u32 = u32::MAX;

/// Options for normalisation.
#[derive(Clone, Debug)]
pub struct PrepareOptions {
    pub default_region: String,
    pub date_order: DateOrder,
    /// The secret key of payment-card hashes ([`crate::evidence::payment_card`]): the
    /// store keeps one per workspace, the batch pipeline draws one per run. Defaults to
    /// [`CardKey::process`] (random, drawn once per process), never a public value.
    pub card_key: CardKey,
    /// The romanisation of Cyrillic or Greek names whose record's letters do not tell
    /// their language ([`spirit_text::translit`]); `None` keeps the general one.
    pub transliteration: Option<spirit_text::translit::Scheme>,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            transliteration: None,
            default_region: "GB".into(),
            date_order: DateOrder::Dmy,
            card_key: CardKey::process(),
        }
    }
}

/// Data derived once per distinct value of a column.
#[derive(Clone, Debug)]
pub enum Derived {
    None,
    /// Double Metaphone primary code and nickname groups of each name value.
    Names {
        metaphone: Vec<Box<str>>,
        nicknames: Vec<&'static [u32]>,
    },
    /// Parsed date of each value.
    Dates {
        dates: Vec<PartialDate>,
    },
    /// Sorted, deduplicated token hashes and the house/unit numbers of each address.
    Addresses {
        tokens: Vec<Vec<u64>>,
        numbers: Vec<Vec<Box<str>>>,
    },
    /// The trailing national digits of each phone (last nine digits at most).
    Phones {
        tail: Vec<Box<str>>,
    },
    /// The pHash and mirror pHash of each image-hash value.
    ImageHashes {
        hashes: Vec<(u64, Option<u64>)>,
    },
    /// The sub-fingerprints of each audio-fingerprint value and its min-hash blocking
    /// keys ([`evidence::audio_minhash`]).
    AudioFingerprints {
        prints: Vec<Vec<u32>>,
        minhash: Vec<[u64; evidence::AUDIO_MINHASH_KEYS as usize]>,
    },
    /// The parsed writing-style profile of each value (`None` if it does not parse).
    StyleProfiles {
        profiles: Vec<Option<Box<spirit_text::style::Profile>>>,
    },
    /// What the comparisons of a field need of each value.
    Fields(FieldValues),
}

/// One interned column of normalised values.
#[derive(Clone, Debug)]
pub struct Column {
    pub kind: AttrKind,
    /// Value id per record, [`NULL_ID`] where missing.
    pub ids: Vec<u32>,
    /// Distinct normalised values, indexed by value id.
    pub values: Vec<Box<str>>,
    /// Number of records holding each value id.
    pub counts: Vec<u32>,
    /// Number of records with a value.
    pub non_null: u32,
    pub derived: Derived,
    /// The values after their first of records holding several (a multi-valued kind,
    /// [`AttrKind::is_multi_valued`], or a name's further spellings,
    /// [`AttrKind::has_spellings`]); `None` when no record holds more than one.
    pub more: Option<MoreValues>,
}

impl Column {
    /// Value of record `r`, if present.
    #[inline]
    pub fn get(&self, r: u32) -> Option<&str> {
        let id = self.ids[r as usize];
        (id != NULL_ID).then(|| &*self.values[id as usize])
    }

    /// Value id of record `r`, if present.
    #[inline]
    pub fn id(&self, r: u32) -> Option<u32> {
        let id = self.ids[r as usize];
        (id != NULL_ID).then_some(id)
    }

    /// Every value id of record `r`: its first value's, then the others'.
    #[inline]
    pub fn all_ids(&self, r: u32) -> impl Iterator<Item = u32> + Clone + '_ {
        let more = self.more.as_ref().map_or(&[][..], |m| m.of(r));
        self.id(r).into_iter().chain(more.iter().copied())
    }

    /// True when record `r` holds more than one value.
    #[inline]
    pub fn has_more(&self, r: u32) -> bool {
        self.more.as_ref().is_some_and(|m| !m.of(r).is_empty())
    }

    /// Every value of record `r`, its first first.
    pub fn values_of(&self, r: u32) -> Vec<&str> {
        self.all_ids(r)
            .map(|id| &*self.values[id as usize])
            .collect()
    }

    /// The value two records share for an exact agreement: the rarest value both hold
    /// (the most telling), else the first value of `a`.
    pub fn shared_id(&self, a: u32, b: u32) -> Option<u32> {
        if !(self.has_more(a) || self.has_more(b)) {
            return self.id(a);
        }
        self.all_ids(a)
            .filter(|x| self.all_ids(b).any(|y| y == *x))
            .min_by_key(|&x| self.counts[x as usize])
            .or_else(|| self.id(a))
    }

    /// Relative frequency of a value among records that have one.
    #[inline]
    pub fn frequency(&self, id: u32) -> f64 {
        f64::from(self.counts[id as usize]) / f64::from(self.non_null.max(1))
    }

    /// Σ p² over values: the probability that two random records with values agree.
    pub fn agreement_probability(&self) -> f64 {
        let n = f64::from(self.non_null.max(1));
        self.counts
            .iter()
            .map(|&c| (f64::from(c) / n).powi(2))
            .sum()
    }
}

/// All prepared columns of one run, plus each record's source index.
#[derive(Clone, Debug, Default)]
pub struct RecordTable {
    pub len: u32,
    /// Source index of every record (position of its input in the run).
    pub sources: Vec<u16>,
    pub columns: Vec<Column>,
}

impl RecordTable {
    /// The column of a kind, if the run has one.
    pub fn column(&self, kind: AttrKind) -> Option<&Column> {
        self.columns.iter().find(|c| c.kind == kind)
    }

    /// Index of the column of a kind.
    pub fn column_index(&self, kind: AttrKind) -> Option<usize> {
        self.columns.iter().position(|c| c.kind == kind)
    }

    /// Kinds present in the table.
    pub fn kinds(&self) -> Vec<AttrKind> {
        self.columns.iter().map(|c| c.kind).collect()
    }

    /// Builds the table from raw attribute values: `records[i]` holds record i's
    /// (kind, raw value) pairs and `sources[i]` its source index. Full names fill given
    /// name and surname where those are absent. Normalisation runs in parallel and is
    /// deterministic.
    pub fn build<R>(records: &[R], sources: Vec<u16>, options: &PrepareOptions) -> RecordTable
    where
        R: AsRef<[(AttrKind, String)]> + Sync,
    {
        assert_eq!(records.len(), sources.len(), "one source per record");
        let n = records.len();
        // The phone metadata takes a while to load: only when there are phones.
        let phones = std::sync::LazyLock::new(|| PhoneNormaliser::new(&options.default_region));
        let (kinds, split_full) = present_kinds(records.iter().map(|r| r.as_ref()));

        // Each kind normalises every record's value in parallel, then interns; kinds run
        // in parallel too, so one column's interning overlaps another's normalising.
        let columns: Vec<Column> = kinds
            .par_iter()
            .map(|&kind| {
                // Lists of values only when some record holds several: one value each
                // normalises the same way on the common path, without a list per record.
                let several = |r: &R| {
                    r.as_ref()
                        .iter()
                        .filter(|(k, _)| *k == kind)
                        .nth(1)
                        .is_some()
                };
                if kind.is_multi_valued() && records.par_iter().any(several) {
                    let normalised: Vec<Vec<String>> = records
                        .par_iter()
                        .map(|r| normalise_all(r.as_ref(), kind, options, &phones))
                        .collect();
                    return intern_lists(kind, normalised.iter().map(|v| v.iter()));
                }
                let normalised: Vec<Option<String>> = records
                    .par_iter()
                    .map(|r| normalise_kind(r.as_ref(), kind, split_full, options, &phones))
                    .collect();
                if kind.has_spellings() {
                    // Names in another script keep each of their spellings.
                    let spelled: FxHashMap<usize, Vec<String>> = records
                        .par_iter()
                        .enumerate()
                        .filter_map(|(i, r)| {
                            let all = name_spellings(r.as_ref(), kind, options)?;
                            (all.len() > 1).then_some((i, all))
                        })
                        .collect();
                    if !spelled.is_empty() {
                        return intern_lists(
                            kind,
                            normalised
                                .iter()
                                .enumerate()
                                .map(|(i, v)| match spelled.get(&i) {
                                    Some(all) => all.as_slice().iter(),
                                    None => v.as_slice().iter(),
                                }),
                        );
                    }
                }
                intern_column(kind, &normalised)
            })
            .collect();

        RecordTable {
            len: n as u32,
            sources,
            columns,
        }
    }

    /// Builds the table from values already normalised by [`normalise_record`] (the form
    /// the identity store keeps): only interning and derived data are computed, so a
    /// table of a few records costs microseconds. The result equals [`RecordTable::build`]
    /// over the raw values.
    pub fn from_normalised<R>(records: &[R], sources: Vec<u16>) -> RecordTable
    where
        R: AsRef<[(AttrKind, Box<str>)]>,
    {
        assert_eq!(records.len(), sources.len(), "one source per record");
        let (kinds, _) = present_kinds(records.iter().map(|r| r.as_ref()));
        let columns = kinds
            .into_iter()
            .map(|kind| {
                // A kind of one value per record takes the first it finds.
                let take = if kind.holds_several() { usize::MAX } else { 1 };
                intern_lists(
                    kind,
                    records.iter().map(|r| {
                        r.as_ref()
                            .iter()
                            .filter(move |(k, _)| *k == kind)
                            .map(|(_, v)| &**v)
                            .take(take)
                    }),
                )
            })
            .collect();
        RecordTable {
            len: records.len() as u32,
            sources,
            columns,
        }
    }
}

/// Normalises one record's raw values into the (kind, value) pairs a table holds:
/// unusable values dropped, a full name split into given name and surname where those
/// are absent. Kinds come out in [`AttrKind::ALL`] order.
pub fn normalise_record(
    values: &[(AttrKind, String)],
    options: &PrepareOptions,
    phones: &PhoneNormaliser,
) -> Vec<(AttrKind, Box<str>)> {
    let (kinds, split_full) = present_kinds(std::iter::once(values));
    let mut out = Vec::with_capacity(values.len());
    for kind in kinds {
        if kind.is_multi_valued() {
            let all = normalise_all(values, kind, options, &phones);
            out.extend(all.into_iter().map(|v| (kind, v.into())));
        } else if let Some(all) = name_spellings(values, kind, options) {
            out.extend(all.into_iter().map(|v| (kind, v.into())));
        } else if let Some(v) = normalise_kind(values, kind, split_full, options, &phones) {
            out.push((kind, v.into()));
        }
    }
    out
}

/// The spellings of a record's own name of a kind that has them, when it is written in
/// another script (`None` for a name in Latin letters, or split from a full name): the
/// first is what [`normalise_kind`] gives.
fn name_spellings(
    r: &[(AttrKind, String)],
    kind: AttrKind,
    options: &PrepareOptions,
) -> Option<Vec<String>> {
    if !kind.has_spellings() {
        return None;
    }
    let (_, raw) = r.iter().find(|(k, _)| *k == kind)?;
    if raw.is_ascii() {
        return None;
    }
    let hint = spirit_text::translit::Scheme::detect_all(r.iter().map(|(_, v)| v.as_str()))
        .or(options.transliteration);
    Some(spirit_text::names::name_spellings(raw, hint))
}

/// Every usable value of a multi-valued kind in a record, normalised, each once, in the
/// record's order.
fn normalise_all<P: std::ops::Deref<Target = PhoneNormaliser>>(
    r: &[(AttrKind, String)],
    kind: AttrKind,
    options: &PrepareOptions,
    phones: &P,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, raw) in r.iter().filter(|(k, _)| *k == kind) {
        if let Some(v) = normalise_with(kind, raw, options, || &**phones)
            && !out.contains(&v)
        {
            out.push(v);
        }
    }
    out
}

/// The kinds of a table over these records' values, and whether a full name is split:
/// built-in kinds in [`AttrKind::ALL`] order (a full name becomes given name and
/// surname), then fields by name.
fn present_kinds<'r, K, V: 'r>(records: impl Iterator<Item = &'r [(K, V)]>) -> (Vec<AttrKind>, bool)
where
    K: std::borrow::Borrow<AttrKind> + 'r,
{
    let mut present = [false; AttrKind::ALL.len()];
    let mut fields: Vec<AttrKind> = Vec::new();
    for r in records {
        for (k, _) in r {
            let k = *k.borrow();
            match k.index() {
                Some(i) => present[i] = true,
                None if !fields.contains(&k) => fields.push(k),
                None => {}
            }
        }
    }
    let at = |k: AttrKind| k.index().unwrap_or(0);
    let split_full = present[at(AttrKind::FullName)];
    if split_full {
        present[at(AttrKind::GivenName)] = true;
        present[at(AttrKind::Surname)] = true;
    }
    fields.sort_by_key(|k| k.name());
    let kinds = AttrKind::ALL
        .into_iter()
        .filter(|k| present[at(*k)] && *k != AttrKind::FullName)
        .chain(fields)
        .collect();
    (kinds, split_full)
}

/// The normalised value of one kind of a record, from its own column or, for given name
/// and surname, split from its full name.
/// `phones` is dereferenced only for a phone value, so a lazily built normaliser (its
/// metadata takes a while to load) is never built for data without phones.
fn normalise_kind<P: std::ops::Deref<Target = PhoneNormaliser>>(
    r: &[(AttrKind, String)],
    kind: AttrKind,
    split_full: bool,
    options: &PrepareOptions,
    phones: &P,
) -> Option<String> {
    let direct = r.iter().find(|(k, _)| *k == kind).and_then(|(_, raw)| {
        let name = matches!(
            kind,
            AttrKind::GivenName | AttrKind::MiddleName | AttrKind::Surname
        );
        if name && !raw.is_ascii() {
            // A name in Cyrillic or Greek is spelled in its record's language.
            let hint = spirit_text::translit::Scheme::detect_all(r.iter().map(|(_, v)| v.as_str()))
                .or(options.transliteration);
            return spirit_text::normalise_name_as(raw, hint);
        }
        normalise_with(kind, raw, options, || &**phones)
    });
    if direct.is_some() || !split_full {
        return direct;
    }
    let full = r.iter().find(|(k, _)| *k == AttrKind::FullName)?;
    let hint = if full.1.is_ascii() {
        None
    } else {
        spirit_text::translit::Scheme::detect_all(r.iter().map(|(_, v)| v.as_str()))
            .or(options.transliteration)
    };
    let (given, surname) = spirit_text::split_full_name_as(&full.1, hint);
    match kind {
        AttrKind::GivenName => given,
        AttrKind::Surname => surname,
        _ => None,
    }
}

/// Interns one column of normalised values and derives what comparisons need.
fn intern_column<S: AsRef<str>>(kind: AttrKind, normalised: &[Option<S>]) -> Column {
    intern_lists(kind, normalised.iter().map(|v| v.iter()))
}

/// Interns one column from each record's normalised values (none, one, or several of a
/// multi-valued kind: the first is the record's value, the others go to
/// [`Column::more`], each once). A value's count is the number of records holding it.
fn intern_lists<'v, S, I>(kind: AttrKind, records: impl Iterator<Item = I>) -> Column
where
    S: AsRef<str> + ?Sized + 'v,
    I: Iterator<Item = &'v S>,
{
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    let mut values: Vec<Box<str>> = Vec::new();
    let mut counts: Vec<u32> = Vec::new();
    let mut ids = Vec::new();
    let mut non_null = 0u32;
    let mut more = MoreValues::new();
    let mut rest: Vec<u32> = Vec::new();
    for record in records {
        let mut first = NULL_ID;
        rest.clear();
        for v in record {
            let v = v.as_ref();
            let id = *index.entry(v).or_insert_with(|| {
                values.push(v.into());
                counts.push(0);
                (values.len() - 1) as u32
            });
            if first == NULL_ID {
                first = id;
            } else if id != first && !rest.contains(&id) {
                rest.push(id);
            } else {
                continue;
            }
            counts[id as usize] += 1;
        }
        non_null += u32::from(first != NULL_ID);
        ids.push(first);
        more.push(&rest);
    }
    drop(index);
    let derived = derive(kind, &values);
    Column {
        kind,
        ids,
        values,
        counts,
        non_null,
        derived,
        more: (!more.is_empty()).then_some(more),
    }
}

/// A column of some records of a larger table (`normalised` their values, the first
/// then any others) whose counts are the larger table's: `counts[r][i]` is how many
/// records of the whole table hold record `r`'s `i`th value, `non_null` how many hold
/// one. Term frequencies computed from it are the whole table's.
pub fn column_with_counts<S: AsRef<str>>(
    kind: AttrKind,
    normalised: &[Vec<S>],
    counts: &[Vec<u32>],
    non_null: u32,
) -> Column {
    let mut column = intern_lists(kind, normalised.iter().map(|v| v.iter()));
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    for (values, counts) in normalised.iter().zip(counts) {
        for (v, &n) in values.iter().zip(counts) {
            index.insert(v.as_ref(), n);
        }
    }
    for (id, v) in column.values.iter().enumerate() {
        if let Some(&n) = index.get(&**v) {
            column.counts[id] = n;
        }
    }
    column.non_null = non_null;
    column
}

/// Normalises one raw value of a kind; `None` when nothing usable remains.
pub fn normalise(
    kind: AttrKind,
    raw: &str,
    options: &PrepareOptions,
    phones: &PhoneNormaliser,
) -> Option<String> {
    normalise_with(kind, raw, options, || phones)
}

/// [`normalise`], asking for the phone normaliser only for a phone value.
fn normalise_with<'p>(
    kind: AttrKind,
    raw: &str,
    options: &PrepareOptions,
    phones: impl FnOnce() -> &'p PhoneNormaliser,
) -> Option<String> {
    match kind {
        AttrKind::GivenName | AttrKind::MiddleName | AttrKind::Surname | AttrKind::FullName => {
            spirit_text::normalise_name(raw)
        }
        AttrKind::DateOfBirth => spirit_text::parse_date(raw, options.date_order).map(|d| d.key()),
        AttrKind::Email => spirit_text::normalise_email(raw),
        AttrKind::Phone => phones().normalise(raw),
        AttrKind::Address => spirit_text::normalise_address(raw),
        AttrKind::Postcode => spirit_text::normalise_postcode(raw),
        AttrKind::Gender => {
            let f = spirit_text::fold(raw);
            match f.as_str() {
                "m" | "male" | "man" | "mr" => Some("m".into()),
                "f" | "female" | "woman" | "w" => Some("f".into()),
                "" | "u" | "unknown" => None,
                other => Some(other.into()),
            }
        }
        AttrKind::NationalId | AttrKind::Username => {
            let f: String = spirit_text::fold(raw)
                .chars()
                .filter(|c| *c != ' ')
                .collect();
            (!f.is_empty()).then_some(f)
        }
        AttrKind::City | AttrKind::Region | AttrKind::Country => {
            let f = spirit_text::fold(raw);
            (!f.is_empty()).then_some(f)
        }
        AttrKind::CryptoAddress => evidence::crypto_address(raw),
        AttrKind::Iban => evidence::iban(raw),
        AttrKind::PaymentCard => evidence::payment_card(raw, options.card_key.as_bytes()),
        AttrKind::IpAddress => evidence::ip_address(raw),
        AttrKind::OnionAddress => evidence::onion_address(raw),
        AttrKind::PgpFingerprint => evidence::pgp_fingerprint(raw),
        AttrKind::JabberId => evidence::jabber_id(raw),
        AttrKind::ImageHash => evidence::image_hash(raw),
        AttrKind::CameraSerial => evidence::camera_serial(raw),
        AttrKind::GeoPosition => evidence::geo_position(raw),
        AttrKind::AudioFingerprint => evidence::audio_fingerprint(raw),
        AttrKind::StyleProfile => evidence::style_profile(raw),
        AttrKind::Field(_) => crate::field::normalise_field(raw, options.date_order),
    }
}

/// The derived data of every distinct value, in value order: chunks of values derive
/// in parallel and are appended in order, so the result is deterministic.
fn derive(kind: AttrKind, values: &[Box<str>]) -> Derived {
    let parts: Vec<Derived> = values
        .par_chunks(4096)
        .map(|chunk| {
            let mut part = empty_derived(kind);
            for v in chunk {
                derive_one(&mut part, v);
            }
            part
        })
        .collect();
    let mut derived = empty_derived(kind);
    for part in parts {
        derived.append(part);
    }
    derived
}

impl Derived {
    /// Appends `other`'s values (derived data of the same kind) after this one's.
    fn append(&mut self, other: Derived) {
        match (self, other) {
            (
                Derived::Names {
                    metaphone,
                    nicknames,
                },
                Derived::Names {
                    metaphone: m,
                    nicknames: n,
                },
            ) => {
                metaphone.extend(m);
                nicknames.extend(n);
            }
            (Derived::Dates { dates }, Derived::Dates { dates: d }) => dates.extend(d),
            (
                Derived::Addresses { tokens, numbers },
                Derived::Addresses {
                    tokens: t,
                    numbers: n,
                },
            ) => {
                tokens.extend(t);
                numbers.extend(n);
            }
            (Derived::Phones { tail }, Derived::Phones { tail: t }) => tail.extend(t),
            (Derived::ImageHashes { hashes }, Derived::ImageHashes { hashes: h }) => {
                hashes.extend(h)
            }
            (
                Derived::AudioFingerprints { prints, minhash },
                Derived::AudioFingerprints {
                    prints: p,
                    minhash: m,
                },
            ) => {
                prints.extend(p);
                minhash.extend(m);
            }
            (Derived::StyleProfiles { profiles }, Derived::StyleProfiles { profiles: p }) => {
                profiles.extend(p)
            }
            (Derived::Fields(values), Derived::Fields(v)) => values.append(v),
            (Derived::None, Derived::None) => {}
            (this, other) => unreachable!(
                "derived data of one kind only: {:?} and {:?}",
                std::mem::discriminant(this),
                std::mem::discriminant(&other)
            ),
        }
    }
}

/// Derived data of a kind, for no value yet.
fn empty_derived(kind: AttrKind) -> Derived {
    match kind {
        AttrKind::GivenName | AttrKind::Surname | AttrKind::MiddleName => Derived::Names {
            metaphone: Vec::new(),
            nicknames: Vec::new(),
        },
        AttrKind::DateOfBirth => Derived::Dates { dates: Vec::new() },
        AttrKind::Address => Derived::Addresses {
            tokens: Vec::new(),
            numbers: Vec::new(),
        },
        AttrKind::Phone => Derived::Phones { tail: Vec::new() },
        AttrKind::ImageHash => Derived::ImageHashes { hashes: Vec::new() },
        AttrKind::AudioFingerprint => Derived::AudioFingerprints {
            prints: Vec::new(),
            minhash: Vec::new(),
        },
        AttrKind::StyleProfile => Derived::StyleProfiles {
            profiles: Vec::new(),
        },
        AttrKind::Field(_) => Derived::Fields(Default::default()),
        _ => Derived::None,
    }
}

/// Appends the derived data of one more distinct value.
fn derive_one(derived: &mut Derived, v: &str) {
    match derived {
        Derived::Names {
            metaphone,
            nicknames,
        } => {
            metaphone.push(spirit_text::double_metaphone(v).0.into_boxed_str());
            nicknames.push(spirit_text::nickname_groups(v));
        }
        Derived::Dates { dates } => dates.push(date_from_key(v)),
        Derived::Addresses { tokens, numbers } => {
            tokens.push(token_hashes(v));
            numbers.push(
                spirit_text::address_numbers(v)
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            );
        }
        Derived::Phones { tail } => tail.push(phone_tail(v)),
        Derived::ImageHashes { hashes } => {
            hashes.push(evidence::parse_image_hash(v).unwrap_or((0, None)));
        }
        Derived::AudioFingerprints { prints, minhash } => {
            let fp = evidence::parse_audio_fingerprint(v).unwrap_or_default();
            minhash.push(std::array::from_fn(|i| {
                evidence::audio_minhash(&fp, evidence::AUDIO_MINHASH_BITS, i as u8).unwrap_or(0)
            }));
            prints.push(fp);
        }
        Derived::StyleProfiles { profiles } => {
            profiles.push(spirit_text::style::Profile::parse(v).ok().map(Box::new));
        }
        Derived::Fields(values) => values.push(v),
        Derived::None => {}
    }
}

/// Appends records to a prepared table one at a time (the incremental path). Value ids
/// are found through one map per column, so a new record costs a few hash lookups plus
/// the derived data of its new values; counts (and so term frequencies) grow with it.
/// A kind the table lacks gets a new column.
#[derive(Debug, Default)]
pub struct Appender {
    maps: Vec<FxHashMap<Box<str>, u32>>,
}

impl Appender {
    /// Indexes the values of every column of `table`.
    pub fn new(table: &RecordTable) -> Appender {
        Appender {
            maps: table
                .columns
                .iter()
                .map(|c| {
                    c.values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (v.clone(), i as u32))
                        .collect()
                })
                .collect(),
        }
    }

    /// Appends a record given by its normalised values (as [`normalise_record`] makes
    /// them); returns its index. `table` must be the one this appender was made for.
    pub fn push(
        &mut self,
        table: &mut RecordTable,
        values: &[(AttrKind, Box<str>)],
        source: u16,
    ) -> u32 {
        for (kind, _) in values {
            if *kind != AttrKind::FullName && table.column_index(*kind).is_none() {
                table.columns.push(Column {
                    kind: *kind,
                    ids: vec![NULL_ID; table.len as usize],
                    values: Vec::new(),
                    counts: Vec::new(),
                    non_null: 0,
                    derived: empty_derived(*kind),
                    more: None,
                });
                self.maps.push(FxHashMap::default());
            }
        }
        let records = table.len as usize;
        for (col, map) in table.columns.iter_mut().zip(&mut self.maps) {
            let take = if col.kind.holds_several() {
                usize::MAX
            } else {
                1
            };
            let mut ids: Vec<u32> = Vec::new();
            for (_, value) in values.iter().filter(|(k, _)| *k == col.kind).take(take) {
                let id = match map.get(value) {
                    Some(&id) => id,
                    None => {
                        let id = col.values.len() as u32;
                        col.values.push(value.clone());
                        col.counts.push(0);
                        derive_one(&mut col.derived, value);
                        map.insert(value.clone(), id);
                        id
                    }
                };
                if !ids.contains(&id) {
                    col.counts[id as usize] += 1;
                    ids.push(id);
                }
            }
            col.ids.push(ids.first().copied().unwrap_or(NULL_ID));
            col.non_null += u32::from(!ids.is_empty());
            if ids.len() > 1 && col.more.is_none() {
                col.more = Some(MoreValues::empty(records));
            }
            if let Some(more) = &mut col.more {
                more.push(ids.get(1..).unwrap_or(&[]));
            }
        }
        table.sources.push(source);
        table.len += 1;
        table.len - 1
    }
}

/// The last nine digits of a phone number: equal tails mean the same line written with
/// or without country code or trunk prefix.
pub fn phone_tail(v: &str) -> Box<str> {
    let digits: Vec<u8> = v.bytes().filter(u8::is_ascii_digit).collect();
    let start = digits.len().saturating_sub(9);
    String::from_utf8_lossy(&digits[start..]).into()
}

fn date_from_key(key: &str) -> PartialDate {
    let num = |s: &str| s.parse::<u16>().ok().filter(|v| *v != 0);
    PartialDate {
        year: key.get(0..4).and_then(num),
        month: key.get(4..6).and_then(num).map(|v| v as u8),
        day: key.get(6..8).and_then(num).map(|v| v as u8),
    }
}

/// Sorted, deduplicated 64-bit hashes of the whitespace tokens of a value.
pub fn token_hashes(v: &str) -> Vec<u64> {
    let mut t: Vec<u64> = v.split_whitespace().map(hash_str).collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// A table of one source built from literal rows, for tests.
#[cfg(test)]
pub(crate) fn table_of(rows: &[&[(AttrKind, &str)]]) -> RecordTable {
    let records: Vec<Vec<(AttrKind, String)>> = rows
        .iter()
        .map(|r| r.iter().map(|(k, v)| (*k, v.to_string())).collect())
        .collect();
    let n = records.len();
    RecordTable::build(&records, vec![0; n], &PrepareOptions::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(AttrKind, &str)]) -> Vec<(AttrKind, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn interns_and_counts_values() {
        let records = vec![
            rec(&[(AttrKind::Surname, "Smith"), (AttrKind::GivenName, "John")]),
            rec(&[(AttrKind::Surname, "SMITH "), (AttrKind::GivenName, "")]),
            rec(&[(AttrKind::Surname, "Jones")]),
        ];
        let t = RecordTable::build(&records, vec![0, 0, 1], &PrepareOptions::default());
        let s = t.column(AttrKind::Surname).unwrap();
        assert_eq!(s.ids[0], s.ids[1]);
        assert_ne!(s.ids[0], s.ids[2]);
        assert_eq!(s.counts[s.ids[0] as usize], 2);
        assert_eq!(s.non_null, 3);
        let g = t.column(AttrKind::GivenName).unwrap();
        assert_eq!(g.get(1), None);
        assert_eq!(g.non_null, 1);
        assert!((s.agreement_probability() - (4.0 / 9.0 + 1.0 / 9.0)).abs() < 1e-12);
    }

    #[test]
    fn full_name_fills_given_and_surname() {
        let records = vec![rec(&[(AttrKind::FullName, "Smith, John")])];
        let t = RecordTable::build(&records, vec![0], &PrepareOptions::default());
        assert_eq!(t.column(AttrKind::GivenName).unwrap().get(0), Some("john"));
        assert_eq!(t.column(AttrKind::Surname).unwrap().get(0), Some("smith"));
        assert!(t.column(AttrKind::FullName).is_none());
    }

    #[test]
    fn dates_are_parsed_once_per_value() {
        let records = vec![
            rec(&[(AttrKind::DateOfBirth, "1980-03-05")]),
            rec(&[(AttrKind::DateOfBirth, "05/03/1980")]),
            rec(&[(AttrKind::DateOfBirth, "1980")]),
        ];
        let t = RecordTable::build(&records, vec![0; 3], &PrepareOptions::default());
        let c = t.column(AttrKind::DateOfBirth).unwrap();
        assert_eq!(c.ids[0], c.ids[1]);
        let Derived::Dates { dates } = &c.derived else {
            panic!("dates expected")
        };
        assert_eq!(dates.len(), 2);
        let year_only = dates[c.ids[2] as usize];
        assert_eq!(year_only.year, Some(1980));
        assert_eq!(year_only.month, None);
    }

    #[test]
    fn phone_tails_ignore_country_code() {
        assert_eq!(phone_tail("+19045356889"), phone_tail("9045356889"));
        assert_eq!(&*phone_tail("123"), "123");
    }

    #[test]
    fn normalised_records_build_the_same_table() {
        let records = vec![
            rec(&[
                (AttrKind::FullName, "Dr. Jon Smith"),
                (AttrKind::DateOfBirth, "5 Mar 1980"),
                (AttrKind::Phone, "07700 900123"),
            ]),
            rec(&[
                (AttrKind::GivenName, "JOHN"),
                (AttrKind::Surname, "Smyth"),
                (AttrKind::Address, "12 High Street"),
            ]),
            rec(&[(AttrKind::Email, "J.Smith+x@Example.com")]),
        ];
        let options = PrepareOptions::default();
        let direct = RecordTable::build(&records, vec![0, 0, 1], &options);
        let phones = PhoneNormaliser::new(&options.default_region);
        let normalised: Vec<_> = records
            .iter()
            .map(|r| normalise_record(r, &options, &phones))
            .collect();
        let rebuilt = RecordTable::from_normalised(&normalised, vec![0, 0, 1]);
        assert_eq!(direct.kinds(), rebuilt.kinds());
        for (a, b) in direct.columns.iter().zip(&rebuilt.columns) {
            assert_eq!(a.ids, b.ids, "{:?}", a.kind);
            assert_eq!(a.values, b.values, "{:?}", a.kind);
            assert_eq!(a.counts, b.counts, "{:?}", a.kind);
        }
        assert_eq!(
            rebuilt.column(AttrKind::GivenName).unwrap().get(0),
            Some("jon")
        );
    }

    #[test]
    fn appending_equals_building_at_once() {
        let raw = [
            rec(&[(AttrKind::GivenName, "Ann"), (AttrKind::Surname, "Lee")]),
            rec(&[
                (AttrKind::GivenName, "Anne"),
                (AttrKind::DateOfBirth, "1980-01-02"),
            ]),
            rec(&[
                (AttrKind::GivenName, "Ann"),
                (AttrKind::Phone, "07700 900123"),
                (AttrKind::Address, "1 High St"),
            ]),
        ];
        let options = PrepareOptions::default();
        let phones = PhoneNormaliser::new(&options.default_region);
        let norm: Vec<_> = raw
            .iter()
            .map(|r| normalise_record(r, &options, &phones))
            .collect();
        let whole = RecordTable::from_normalised(&norm, vec![0, 1, 1]);
        let mut grown = RecordTable::from_normalised(&norm[..1], vec![0]);
        let mut appender = Appender::new(&grown);
        assert_eq!(appender.push(&mut grown, &norm[1], 1), 1);
        assert_eq!(appender.push(&mut grown, &norm[2], 1), 2);
        assert_eq!(grown.len, 3);
        assert_eq!(grown.sources, whole.sources);
        for kind in whole.kinds() {
            let (a, b) = (whole.column(kind).unwrap(), grown.column(kind).unwrap());
            for r in 0..3 {
                assert_eq!(a.get(r), b.get(r), "{kind:?} {r}");
            }
            assert_eq!(a.non_null, b.non_null, "{kind:?}");
            let ann = |c: &Column| c.id(0).map(|id| c.counts[id as usize]);
            assert_eq!(ann(a), ann(b), "{kind:?}");
        }
        // Derived data follows the values: the phone's tail and the address tokens.
        match &grown.column(AttrKind::Phone).unwrap().derived {
            Derived::Phones { tail } => assert_eq!(&*tail[0], "700900123"),
            other => panic!("{other:?}"),
        }
    }
}
