//! Bloom-filter encoding of records: an [`Encoder`] turns a record's raw values into a
//! fixed-length bit vector (a `Vec<u64>` of `bits / 64` words), deterministically for a
//! schema, a secret and a record id.
//!
//! For each record:
//! 1. The values are normalised by `spirit_matching::table::normalise_record`, the
//!    normaliser of the plain pipeline (names folded and cleaned, dates to `YYYYMMDD`,
//!    phones to E.164, addresses canonical, …). Missing or unusable values set no bits.
//! 2. Each field's value is cut into features (q-grams or positional q-grams, see
//!    [`crate::schema`]).
//! 3. Each feature is hashed once with the field's own key (HKDF-derived) — BLAKE3 keyed
//!    hashing by default, or HMAC-SHA256 — and k bit positions are taken from the hash
//!    (random hashing, or double hashing h1 + i·h2 with the singularity fix; see
//!    [`Hashing`]). With salting, the salt value is part of the hashed input.
//! 4. Each segment (the CLK, or each field's filter) is hardened: XOR-fold, balance,
//!    diffusion (with diffusion on, the Bloom filter of step 3 is `expansion` times longer
//!    than the segment and diffusion compresses it); then BLIP flips bits of the whole
//!    encoding, keyed by the record id (see [`crate::harden`]).
//!
//! Bit `i` of an encoding is bit `i % 64` of word `i / 64`. The text form
//! ([`crate::dice::filter_to_base64`]) writes the words little-endian.
//!
//! ```
//! use spirit_model::AttrKind;
//! use spirit_pprl::{Encoder, Schema, Secret};
//! let schema = Schema::for_kinds(&[AttrKind::GivenName, AttrKind::Surname, AttrKind::DateOfBirth]);
//! let encoder = Encoder::new(&schema, &Secret::from_bytes([42; 32])).unwrap();
//! let rec = |g: &str| vec![
//!     (AttrKind::GivenName, g.to_string()),
//!     (AttrKind::Surname, "Smith".to_string()),
//!     (AttrKind::DateOfBirth, "1980-03-05".to_string()),
//! ];
//! let a = encoder.encode("a1", &rec("Jonathan"));
//! let b = encoder.encode("b7", &rec("Jonathon"));
//! let c = encoder.encode("b9", &rec("Mary"));
//! assert_eq!(a.len(), 16);
//! assert!(spirit_pprl::dice::dice(&a, &b) > spirit_pprl::dice::dice(&a, &c));
//! assert_eq!(a, encoder.encode("a1", &rec("Jonathan")));
//! ```

use std::ops::Range;
use std::sync::OnceLock;

use hmac::{Hmac, KeyInit, Mac};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use spirit_matching::table::{PrepareOptions, normalise_record};
use spirit_model::AttrKind;
use spirit_text::PhoneNormaliser;

use crate::dice::FilterSet;
use crate::error::{PprlError, Result};
use crate::harden::{self, SegmentHardener};
use crate::keys::{DerivedKey, Purpose, Secret};
use crate::schema::{Hashing, Layout, MAX_VALUE_CHARS, ResolvedField, Salt, SaltPart, Schema};

/// Format tag of encodings written by this version.
pub const FORMAT: &str = "spirit-pprl/1";

/// Public description of a set of encodings: enough to check that two sets can be
/// compared, and nothing secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodingMeta {
    /// [`FORMAT`].
    pub format: String,
    /// [`Schema::fingerprint`] of the schema used.
    pub schema_fingerprint: String,
    /// [`Secret::key_check`] of the secret used.
    pub key_check: String,
    /// Length of each encoding in bits (a multiple of 64).
    pub bits: u32,
    /// Record-level or field-level.
    pub layout: Layout,
    /// The segments of an encoding: one for a CLK, one per field for field-level filters.
    pub segments: Vec<SegmentMeta>,
    /// Whether any hardening was applied.
    pub hardened: bool,
}

/// Where one segment lies in an encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// The field's kind (field-level layout), `None` for a record-level CLK.
    pub kind: Option<AttrKind>,
    /// First bit.
    pub offset: u32,
    /// Number of bits.
    pub bits: u32,
}

impl EncodingMeta {
    /// Checks that encodings described by `self` and `other` can be compared.
    pub fn check_compatible(&self, other: &EncodingMeta) -> Result<()> {
        if self.format != other.format {
            return Err(PprlError::Incompatible(format!(
                "format {} vs {}",
                self.format, other.format
            )));
        }
        if self.key_check != other.key_check {
            return Err(PprlError::Incompatible(
                "the two sides were encoded with different secrets (key checks differ)".into(),
            ));
        }
        if self.schema_fingerprint != other.schema_fingerprint {
            return Err(PprlError::Incompatible(format!(
                "the two sides were encoded with different schemas (fingerprints {} and {})",
                self.schema_fingerprint, other.schema_fingerprint
            )));
        }
        if self.bits != other.bits {
            return Err(PprlError::Incompatible(format!(
                "encodings of {} and {} bits",
                self.bits, other.bits
            )));
        }
        Ok(())
    }
}

/// A table of encodings: record ids, their filters and the description of both.
#[derive(Clone, Debug)]
pub struct EncodedTable {
    /// Public description.
    pub meta: EncodingMeta,
    /// Record ids, in input order.
    pub ids: Vec<String>,
    /// One filter per id, with its popcount.
    pub filters: FilterSet,
}

impl EncodedTable {
    /// A table from its metadata and `(id, filter in base64)` rows, as written by
    /// [`EncodedTable::rows_base64`]; each filter must have `meta.bits` bits.
    pub fn from_base64_rows<I, S, T>(meta: EncodingMeta, rows: I) -> Result<EncodedTable>
    where
        I: IntoIterator<Item = (S, T)>,
        S: Into<String>,
        T: AsRef<str>,
    {
        let mut filters = FilterSet::new(meta.bits as usize)?;
        let mut ids = Vec::new();
        for (id, text) in rows {
            filters.push_base64(text.as_ref())?;
            ids.push(id.into());
        }
        Ok(EncodedTable { meta, ids, filters })
    }

    /// `(id, filter in base64)` for every record, in order (see
    /// [`crate::dice::filter_to_base64`]).
    pub fn rows_base64(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        self.ids.iter().enumerate().map(|(i, id)| {
            (
                id.as_str(),
                crate::dice::filter_to_base64(self.filters.get(i)),
            )
        })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

struct FieldPlan {
    spec: ResolvedField,
    key: DerivedKey,
    hmac: Option<Hmac<Sha256>>,
    segment: usize,
}

struct SegmentPlan {
    raw_offset: usize,
    out_offset: usize,
    hardener: SegmentHardener,
}

/// Encodes records into hardened Bloom filters. Cheap to share between threads; build it
/// once per schema and secret.
pub struct Encoder {
    schema: Schema,
    fields: Vec<FieldPlan>,
    segments: Vec<SegmentPlan>,
    raw_words: usize,
    out_words: usize,
    salt: Option<Salt>,
    blip_key: DerivedKey,
    blip_threshold: u32,
    options: PrepareOptions,
    phones: OnceLock<PhoneNormaliser>,
    used: [bool; AttrKind::ALL.len()],
    meta: EncodingMeta,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("schema", &self.schema)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// Reusable buffers of one encoding thread.
#[derive(Default)]
struct Scratch {
    chars: Vec<char>,
    arena: Vec<u8>,
    tokens: Vec<Range<usize>>,
    raw: Vec<u64>,
    harden: Vec<u64>,
    salt: Vec<u8>,
    values: Vec<(AttrKind, String)>,
}

impl Encoder {
    /// An encoder for `schema` (validated here) and `secret`, normalising with
    /// `PrepareOptions::default()` (GB phones, day-month-year dates).
    pub fn new(schema: &Schema, secret: &Secret) -> Result<Encoder> {
        Encoder::with_options(schema, secret, PrepareOptions::default())
    }

    /// As [`Encoder::new`], with other normalisation options. Both parties must use the
    /// same options. Payment cards are always hashed under a key derived from `secret`
    /// (`Purpose::CardKey`), never `options.card_key`.
    pub fn with_options(
        schema: &Schema,
        secret: &Secret,
        options: PrepareOptions,
    ) -> Result<Encoder> {
        // Cards are hashed under a key from the secret, whatever `options` says.
        let options = PrepareOptions {
            card_key: spirit_matching::CardKey::from_bytes(
                *secret.derive(Purpose::CardKey).as_bytes(),
            ),
            ..options
        };
        schema.validate()?;
        let resolved = schema.resolved_fields();
        let hard = &schema.hardening;
        let mut fields = Vec::with_capacity(resolved.len());
        let mut segments = Vec::new();
        let mut seg_meta = Vec::new();
        let (mut raw_words, mut out_words) = (0usize, 0usize);
        let mut push_segment = |length: u32, index: usize, kind: Option<AttrKind>| {
            let hardener = SegmentHardener::new(length, hard, secret, index);
            let raw_bits = hardener.raw_bits;
            seg_meta.push(SegmentMeta {
                kind,
                offset: (out_words * 64) as u32,
                bits: hardener.out_bits,
            });
            let out_bits = hardener.out_bits as usize;
            segments.push(SegmentPlan {
                raw_offset: raw_words,
                out_offset: out_words,
                hardener,
            });
            raw_words += raw_bits as usize / 64;
            out_words += out_bits / 64;
        };
        if schema.layout == Layout::Record {
            push_segment(schema.length, 0, None);
        }
        for (i, spec) in resolved.iter().enumerate() {
            let segment = match schema.layout {
                Layout::Record => 0,
                Layout::Field => {
                    push_segment(spec.length, i, Some(spec.kind));
                    i
                }
            };
            let key = secret.derive(Purpose::FieldHash {
                field: i,
                kind: spec.kind,
            });
            let hmac = (schema.hashing == Hashing::HmacSha256Double)
                .then(|| <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()))
                .transpose()
                .map_err(|_| PprlError::Schema {
                    field: "hashing".into(),
                    reason: "HMAC key rejected".into(),
                })?;
            fields.push(FieldPlan {
                spec: *spec,
                key,
                hmac,
                segment,
            });
        }
        let mut used = [false; AttrKind::ALL.len()];
        let mut mark = |kind: AttrKind| {
            for k in [
                Some(kind),
                matches!(kind, AttrKind::GivenName | AttrKind::Surname)
                    .then_some(AttrKind::FullName),
            ]
            .into_iter()
            .flatten()
            {
                if let Some(i) = k.index() {
                    used[i] = true;
                }
            }
        };
        for f in &resolved {
            mark(f.kind);
        }
        if let Some(salt) = &hard.salt {
            mark(salt.kind);
        }
        let meta = EncodingMeta {
            format: FORMAT.to_owned(),
            schema_fingerprint: schema.fingerprint(),
            key_check: secret.key_check(),
            bits: (out_words * 64) as u32,
            layout: schema.layout,
            segments: seg_meta,
            hardened: !hard.is_none(),
        };
        Ok(Encoder {
            schema: schema.clone(),
            fields,
            segments,
            raw_words,
            out_words,
            salt: hard.salt,
            blip_key: secret.derive(Purpose::Blip),
            blip_threshold: harden::blip_threshold(hard.blip),
            options,
            phones: OnceLock::new(),
            used,
            meta,
        })
    }

    /// The schema this encoder applies.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The public description of this encoder's output.
    pub fn meta(&self) -> &EncodingMeta {
        &self.meta
    }

    /// Length of an encoding in bits.
    pub fn bits(&self) -> usize {
        self.out_words * 64
    }

    /// Length of an encoding in 64-bit words.
    pub fn words(&self) -> usize {
        self.out_words
    }

    /// Encodes one record given by its raw values (several values of one kind: only the
    /// first is used, so join such columns first, as SPIRIT's readers do). `id` seeds the
    /// BLIP noise, so the same record with the same id always gets the same encoding.
    pub fn encode(&self, id: &str, values: &[(AttrKind, String)]) -> Vec<u64> {
        let mut out = vec![0u64; self.out_words];
        self.encode_with(id, values, &mut Scratch::default(), &mut out);
        out
    }

    /// Encodes one record into `out`, which must have [`Encoder::words`] words.
    pub fn encode_into(
        &self,
        id: &str,
        values: &[(AttrKind, String)],
        out: &mut [u64],
    ) -> Result<()> {
        if out.len() != self.out_words {
            return Err(PprlError::LengthMismatch {
                what: "words in the output buffer",
                expected: self.out_words,
                got: out.len(),
            });
        }
        self.encode_with(id, values, &mut Scratch::default(), out);
        Ok(())
    }

    /// Encodes one record whose values are already normalised by
    /// `spirit_matching::table::normalise_record` (as the identity store keeps them).
    pub fn encode_normalised(&self, id: &str, normalised: &[(AttrKind, Box<str>)]) -> Vec<u64> {
        let mut out = vec![0u64; self.out_words];
        self.encode_from_normalised(id, normalised, &mut Scratch::default(), &mut out);
        out
    }

    /// Encodes a table in parallel: `ids[i]` and `records[i]` describe record i.
    pub fn encode_table<I, R>(&self, ids: &[I], records: &[R]) -> Result<EncodedTable>
    where
        I: AsRef<str> + Sync,
        R: AsRef<[(AttrKind, String)]> + Sync,
    {
        if ids.len() != records.len() {
            return Err(PprlError::LengthMismatch {
                what: "record ids (one per record)",
                expected: records.len(),
                got: ids.len(),
            });
        }
        let w = self.out_words;
        let mut data = vec![0u64; records.len() * w];
        data.par_chunks_mut(w.max(1) * 64)
            .enumerate()
            .for_each_init(Scratch::default, |scratch, (chunk, out)| {
                for (j, filter) in out.chunks_exact_mut(w).enumerate() {
                    let r = chunk * 64 + j;
                    self.encode_with(ids[r].as_ref(), records[r].as_ref(), scratch, filter);
                }
            });
        Ok(EncodedTable {
            meta: self.meta.clone(),
            ids: ids.iter().map(|s| s.as_ref().to_owned()).collect(),
            filters: FilterSet::from_words(self.bits(), data)?,
        })
    }

    fn phones(&self) -> &PhoneNormaliser {
        self.phones
            .get_or_init(|| PhoneNormaliser::new(&self.options.default_region))
    }

    fn encode_with(
        &self,
        id: &str,
        values: &[(AttrKind, String)],
        scratch: &mut Scratch,
        out: &mut [u64],
    ) {
        let used = |k: &AttrKind| k.index().is_some_and(|i| self.used[i]);
        let all_used = values.iter().all(|(k, _)| used(k));
        let normalised = if all_used {
            normalise_record(values, &self.options, self.phones())
        } else {
            let mut kept = std::mem::take(&mut scratch.values);
            kept.clear();
            kept.extend(values.iter().filter(|(k, _)| used(k)).cloned());
            let n = normalise_record(&kept, &self.options, self.phones());
            scratch.values = kept;
            n
        };
        self.encode_from_normalised(id, &normalised, scratch, out);
    }

    fn encode_from_normalised(
        &self,
        id: &str,
        normalised: &[(AttrKind, Box<str>)],
        scratch: &mut Scratch,
        out: &mut [u64],
    ) {
        let value_of = |kind: AttrKind| {
            normalised
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, v)| &**v)
        };
        scratch.salt.clear();
        if let Some(salt) = &self.salt
            && let Some(v) = value_of(salt.kind)
        {
            let part = match salt.part {
                SaltPart::Whole => Some(v),
                SaltPart::Year => v.get(..4).filter(|y| *y != "0000"),
            };
            if let Some(p) = part {
                scratch.salt.push(0xff);
                scratch.salt.extend_from_slice(p.as_bytes());
            }
        }
        scratch.raw.clear();
        scratch.raw.resize(self.raw_words, 0);
        for f in &self.fields {
            let Some(value) = value_of(f.spec.kind) else {
                continue;
            };
            features(
                value,
                f.spec.q,
                f.spec.positional,
                &scratch.salt,
                &mut scratch.chars,
                &mut scratch.arena,
                &mut scratch.tokens,
            );
            let seg = &self.segments[f.segment];
            let seg_bits = seg.hardener.raw_bits;
            let words = &mut scratch.raw[seg.raw_offset..seg.raw_offset + seg_bits as usize / 64];
            let k = f.spec.weight.k(scratch.tokens.len());
            for r in &scratch.tokens {
                set_bits(
                    self.schema.hashing,
                    f,
                    &scratch.arena[r.clone()],
                    k,
                    seg_bits,
                    words,
                );
            }
        }
        for seg in &self.segments {
            let raw_len = seg.hardener.raw_bits as usize / 64;
            let out_len = seg.hardener.out_bits as usize / 64;
            seg.hardener.apply(
                &mut scratch.raw[seg.raw_offset..seg.raw_offset + raw_len],
                &mut scratch.harden,
                &mut out[seg.out_offset..seg.out_offset + out_len],
            );
        }
        if self.blip_threshold > 0 {
            harden::blip(out, &self.blip_key, id, self.blip_threshold);
        }
    }
}

/// The features of one normalised value, as byte strings in `arena` (ranges in
/// `tokens`, deduplicated): `0x00 gram [0xff salt]` or `0x01 pos_lo pos_hi gram [0xff salt]`.
/// UTF-8 never contains the byte 0xff, so the salt is unambiguous.
pub(crate) fn features(
    value: &str,
    q: u8,
    positional: bool,
    salt: &[u8],
    chars: &mut Vec<char>,
    arena: &mut Vec<u8>,
    tokens: &mut Vec<Range<usize>>,
) {
    chars.clear();
    arena.clear();
    tokens.clear();
    // Cheap fingerprints of the tokens so far, to find repeats without comparing bytes.
    let mut seen: [u64; 64] = [0; 64];
    let q = usize::from(q.max(1));
    let pad = q >= 2 && !positional;
    if pad {
        chars.push(' ');
    }
    chars.extend(value.chars().take(MAX_VALUE_CHARS));
    if pad {
        chars.push(' ');
    }
    let windows = if chars.len() >= q {
        chars.len() - q + 1
    } else {
        usize::from(!chars.is_empty())
    };
    let mut utf8 = [0u8; 4];
    for i in 0..windows {
        let start = arena.len();
        if positional {
            let p = u16::try_from(i).unwrap_or(u16::MAX).to_le_bytes();
            arena.extend_from_slice(&[1, p[0], p[1]]);
        } else {
            arena.push(0);
        }
        for c in &chars[i..(i + q).min(chars.len())] {
            arena.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        arena.extend_from_slice(salt);
        let r = start..arena.len();
        // Repeated q-grams ("an" twice in "banana") count once.
        if !positional {
            let fp = fingerprint(&arena[r.clone()]);
            let n = tokens.len();
            let repeat = (0..n).any(|t| {
                (t >= seen.len() || seen[t] == fp) && arena[tokens[t].clone()] == arena[r.clone()]
            });
            if repeat {
                arena.truncate(start);
                continue;
            }
            if n < seen.len() {
                seen[n] = fp;
            }
        }
        tokens.push(r);
    }
}

/// A 64-bit fingerprint of a short byte string (FNV-1a).
#[inline]
fn fingerprint(bytes: &[u8]) -> u64 {
    spirit_matching::table::hash_bytes(0xcbf2_9ce4_8422_2325, bytes)
}

/// Sets the k positions of one feature in a segment of `len` bits.
#[inline]
fn set_bits(hashing: Hashing, f: &FieldPlan, token: &[u8], k: u32, len: u32, words: &mut [u64]) {
    let mut set = |p: u32| words[(p >> 6) as usize] |= 1 << (p & 63);
    match hashing {
        Hashing::Blake3Random => {
            // One BLAKE3 compression gives 16 positions (16 bits each); beyond that the
            // 256-bit keyed hash seeds a SplitMix64 stream (a public expansion of a secret
            // pseudo-random value, so the positions stay pseudo-random).
            let digest = blake3::keyed_hash(f.key.as_bytes(), token);
            let d = digest.as_bytes();
            let first = (k as usize).min(16);
            for pair in d.chunks_exact(2).take(first) {
                let u = u32::from(u16::from_le_bytes([pair[0], pair[1]]));
                set((u * len) >> 16);
            }
            if k > 16 {
                let mut state =
                    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
                        ^ u64::from_le_bytes([
                            d[24], d[25], d[26], d[27], d[28], d[29], d[30], d[31],
                        ]);
                let mut left = k as usize - 16;
                while left > 0 {
                    state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    z ^= z >> 31;
                    for i in 0..left.min(4) {
                        let u = ((z >> (16 * i)) & 0xffff) as u32;
                        set((u * len) >> 16);
                    }
                    left -= left.min(4);
                }
            }
        }
        Hashing::Blake3Double | Hashing::HmacSha256Double => {
            let digest: [u8; 32] = match &f.hmac {
                Some(mac) => {
                    let mut m = mac.clone();
                    m.update(token);
                    let out = m.finalize().into_bytes();
                    let mut d = [0u8; 32];
                    d.copy_from_slice(&out[..32]);
                    d
                }
                None => *blake3::keyed_hash(f.key.as_bytes(), token).as_bytes(),
            };
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&digest[i * 8..i * 8 + 8]);
                u64::from_le_bytes(b)
            };
            let l = u64::from(len);
            let h1 = word(0) % l;
            // The singularity fix: a step of 0 would put all k bits on one position.
            let mut h2 = word(1) % l;
            if l.is_power_of_two() {
                h2 |= 1;
            } else if h2 == 0 {
                h2 = 1;
            }
            for i in 0..u64::from(k) {
                set(((h1 + i * h2) % l) as u32);
            }
        }
    }
}

/// The feature count and k a field would use for a value (for tests and diagnostics).
pub fn feature_count(value: &str, q: u8, positional: bool) -> usize {
    let (mut c, mut a, mut t) = (Vec::new(), Vec::new(), Vec::new());
    features(value, q, positional, &[], &mut c, &mut a, &mut t);
    t.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldSpec;
    use crate::schema::HardeningConfig;

    fn rec(pairs: &[(AttrKind, &str)]) -> Vec<(AttrKind, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    fn schema(hardening: HardeningConfig, hashing: Hashing, layout: Layout) -> Schema {
        Schema {
            layout,
            hashing,
            hardening,
            ..Schema::for_kinds(&[
                AttrKind::GivenName,
                AttrKind::Surname,
                AttrKind::DateOfBirth,
            ])
        }
    }

    #[test]
    fn features_are_padded_bigrams_or_positional_unigrams() {
        let (mut c, mut a, mut t) = (Vec::new(), Vec::new(), Vec::new());
        features("anna", 2, false, &[], &mut c, &mut a, &mut t);
        let grams: Vec<&[u8]> = t.iter().map(|r| &a[r.clone()]).collect();
        assert_eq!(
            grams,
            vec![&b"\0 a"[..], b"\0an", b"\0nn", b"\0na", b"\0a "]
        );
        features("19", 1, true, &[0xff, b'x'], &mut c, &mut a, &mut t);
        let grams: Vec<&[u8]> = t.iter().map(|r| &a[r.clone()]).collect();
        assert_eq!(grams, vec![&b"\x01\0\x001\xffx"[..], b"\x01\x01\x009\xffx"]);
        assert_eq!(feature_count("banana", 2, false), 5);
        assert_eq!(feature_count("", 2, false), 1); // just the padding
        assert_eq!(feature_count("x", 3, true), 1);
    }

    #[test]
    fn encoding_is_deterministic_and_keyed() {
        for hashing in [
            Hashing::Blake3Random,
            Hashing::Blake3Double,
            Hashing::HmacSha256Double,
        ] {
            for layout in [Layout::Record, Layout::Field] {
                let s = schema(HardeningConfig::default(), hashing, layout);
                let e = Encoder::new(&s, &Secret::from_bytes([1; 32])).unwrap();
                let e2 = Encoder::new(&s, &Secret::from_bytes([1; 32])).unwrap();
                let other = Encoder::new(&s, &Secret::from_bytes([2; 32])).unwrap();
                let r = rec(&[
                    (AttrKind::GivenName, "Anna"),
                    (AttrKind::Surname, "Meyer"),
                    (AttrKind::DateOfBirth, "1980-01-02"),
                ]);
                let a = e.encode("1", &r);
                assert_eq!(a, e2.encode("1", &r));
                assert_ne!(a, other.encode("1", &r));
                assert_eq!(a.len(), e.words());
                // BLIP is seeded by the id.
                assert_ne!(a, e.encode("2", &r));
            }
        }
    }

    #[test]
    fn normalisation_is_the_plain_pipelines() {
        let s = schema(
            HardeningConfig::none(),
            Hashing::Blake3Random,
            Layout::Record,
        );
        let e = Encoder::new(&s, &Secret::from_bytes([1; 32])).unwrap();
        let a = e.encode(
            "1",
            &rec(&[
                (AttrKind::FullName, "Dr. Anna MEYER"),
                (AttrKind::DateOfBirth, "02/01/1980"),
                (AttrKind::Email, "ignored@example.com"),
            ]),
        );
        let b = e.encode(
            "2",
            &rec(&[
                (AttrKind::GivenName, "anna"),
                (AttrKind::Surname, "Meyer "),
                (AttrKind::DateOfBirth, "1980-01-02"),
            ]),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn unhardened_weights_set_the_expected_bits() {
        let s = Schema {
            fields: vec![FieldSpec {
                bits_per_token: Some(5),
                ..FieldSpec::new(AttrKind::Surname)
            }],
            hardening: HardeningConfig::none(),
            ..Schema::for_kinds(&[AttrKind::Surname])
        };
        for hashing in [Hashing::Blake3Double, Hashing::HmacSha256Double] {
            let s = Schema {
                hashing,
                ..s.clone()
            };
            let e = Encoder::new(&s, &Secret::from_bytes([3; 32])).unwrap();
            // One bigram (" x" and "x " are two): padded "x" → 2 features × 5 bits,
            // double hashing with odd steps gives 5 distinct bits per feature.
            let f = e.encode("1", &rec(&[(AttrKind::Surname, "x")]));
            let ones: u32 = f.iter().map(|w| w.count_ones()).sum();
            assert!((6..=10).contains(&ones), "{ones}");
        }
        let e = Encoder::new(&s, &Secret::from_bytes([3; 32])).unwrap();
        let empty = e.encode("1", &rec(&[(AttrKind::GivenName, "only")]));
        assert!(empty.iter().all(|w| *w == 0));
    }

    #[test]
    fn field_layout_keeps_fields_apart() {
        let s = schema(
            HardeningConfig::none(),
            Hashing::Blake3Random,
            Layout::Field,
        );
        let e = Encoder::new(&s, &Secret::from_bytes([1; 32])).unwrap();
        assert_eq!(e.bits(), 3 * 1024);
        assert_eq!(e.meta().segments.len(), 3);
        let f = e.encode("1", &rec(&[(AttrKind::Surname, "Meyer")]));
        let seg = &e.meta().segments[1];
        assert_eq!(seg.kind, Some(AttrKind::Surname));
        for (w, v) in f.iter().enumerate() {
            let inside =
                (seg.offset as usize / 64..(seg.offset + seg.bits) as usize / 64).contains(&w);
            assert!(inside || *v == 0);
        }
    }

    #[test]
    fn salting_separates_salt_groups() {
        let salted = HardeningConfig {
            salt: Some(Salt {
                kind: AttrKind::DateOfBirth,
                part: SaltPart::Year,
            }),
            ..HardeningConfig::none()
        };
        let s = Schema {
            fields: vec![FieldSpec::new(AttrKind::Surname)],
            hardening: salted,
            ..Schema::for_kinds(&[AttrKind::Surname])
        };
        let e = Encoder::new(&s, &Secret::from_bytes([1; 32])).unwrap();
        let r = |y: &str| {
            e.encode(
                "1",
                &rec(&[(AttrKind::Surname, "Meyer"), (AttrKind::DateOfBirth, y)]),
            )
        };
        assert_eq!(r("1980-01-02"), r("1980-12-31"));
        assert!(crate::dice::dice(&r("1980-01-02"), &r("1981-01-02")) < 0.5);
    }

    #[test]
    fn table_encoding_equals_record_encoding() {
        let s = schema(
            HardeningConfig::default(),
            Hashing::Blake3Random,
            Layout::Record,
        );
        let e = Encoder::new(&s, &Secret::from_bytes([1; 32])).unwrap();
        let records: Vec<_> = (0..150)
            .map(|i| {
                rec(&[
                    (AttrKind::GivenName, ["Ann", "Bob", "Cy"][i % 3]),
                    (AttrKind::Surname, &format!("Name{i}")),
                ])
            })
            .collect();
        let ids: Vec<String> = (0..150).map(|i| format!("r{i}")).collect();
        let t = e.encode_table(&ids, &records).unwrap();
        assert_eq!(t.filters.len(), 150);
        for i in [0, 63, 64, 149] {
            assert_eq!(t.filters.get(i), &e.encode(&ids[i], &records[i])[..]);
        }
        assert!(matches!(
            e.encode_table(&ids[..3], &records),
            Err(PprlError::LengthMismatch { .. })
        ));
        // Text round trip.
        let rows: Vec<(String, String)> =
            t.rows_base64().map(|(id, f)| (id.to_owned(), f)).collect();
        let back = EncodedTable::from_base64_rows(t.meta.clone(), rows).unwrap();
        assert_eq!(back.filters, t.filters);
        assert_eq!(back.ids, t.ids);
        let meta_json = serde_json::to_string(&t.meta).unwrap();
        let meta: EncodingMeta = serde_json::from_str(&meta_json).unwrap();
        assert!(meta.check_compatible(&t.meta).is_ok());
        let bad = EncodedTable::from_base64_rows(t.meta.clone(), [("x", "AAAA")]);
        assert!(matches!(bad, Err(PprlError::FilterText { index: 0, .. })));
    }
}
