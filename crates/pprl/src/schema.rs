//! The encoding schema: which attributes go into the Bloom filters, how they are cut into
//! features, how much weight each gets, the filter length, the layout and the hardening.
//!
//! Both parties must encode with the same schema and the same secret; the schema's
//! [`fingerprint`](Schema::fingerprint) travels with the encodings so a mismatch is caught
//! before linkage. The schema is public: it holds no key material.
//!
//! A schema is plain serde data and reads naturally from TOML:
//!
//! ```toml
//! layout = "record"        # one CLK per record; "field" = one filter per field
//! length = 1024            # bits of the CLK (of each field filter for "field")
//! hashing = "blake3_random"
//!
//! [[fields]]
//! kind = "given_name"      # spirit_model::AttrKind name
//! q = 2                    # bigrams (the default for names)
//! bits_per_feature = 200   # weight: about 200 bits per value, spread over its q-grams
//!
//! [[fields]]
//! kind = "date_of_birth"   # defaults: positional unigrams, 200 bits per value
//!
//! [hardening]              # the default: diffusion of a 4× longer filter, BLIP 2%
//! diffusion_taps = 3
//! expansion = 4
//! blip = 0.02
//! ```
//!
//! Parse TOML with the `toml` crate (`toml::from_str::<Schema>(text)`) and call
//! [`Schema::validate`]; [`Schema::from_json`] does both for JSON.
//!
//! Every field setting left out takes the default of its kind ([`FieldSpec::resolve`]),
//! which follows the clkhash FEBRL tutorial schema: bigrams for names, addresses and
//! places; positional unigrams for dates, postcodes and numbers; names and dates weigh
//! 200 bits, the rest 100.
//!
//! **Features.** A value is normalised exactly as in the plain pipeline
//! (`spirit_matching::table::normalise_record` with `PrepareOptions::default()` unless the
//! encoder is given other options), then cut into features: q-grams of the value padded
//! with one space on each side (for q ≥ 2), or *positional* q-grams (the q-gram together
//! with its position, no padding), which suit fixed-width values such as dates where
//! "1 at position 3" must not match "1 at position 5". Repeated features count once.
//!
//! **Weights.** `bits_per_token = k` sets k bits (hash functions) per feature, so longer
//! values set more bits; `bits_per_feature = b` sets about b bits per *value*
//! (k = ⌈b / number of features⌉, capped at [`MAX_K`]), so each field weighs the same
//! whatever its length (clkhash's `bitsPerFeature`).

use serde::{Deserialize, Serialize};
use spirit_model::AttrKind;

use crate::error::{PprlError, Result};

/// Default filter length in bits.
pub const DEFAULT_LENGTH: u32 = 1024;
/// Largest number of bits set per feature.
pub const MAX_K: u32 = 64;
/// Largest (unhardened) filter or segment length in bits.
pub const MAX_LENGTH: u32 = 65_536;
/// Values longer than this many characters are cut to it before q-gramming.
pub const MAX_VALUE_CHARS: usize = 256;

/// One record-level Bloom filter (a CLK) for all fields, or one filter per field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// All fields hash into one filter of `length` bits (a cryptographic long-term key,
    /// CLK). Best linkage quality per bit and the harder target for attacks.
    #[default]
    Record,
    /// Each field hashes into its own filter (of the field's `length`, default the
    /// schema's), concatenated in schema order. Per-field similarities become possible,
    /// but field filters are much easier to attack (repeated values give repeated filters).
    Field,
}

/// How a feature's bit positions are derived from its keyed hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hashing {
    /// BLAKE3 keyed hash; every one of the k positions is taken from its own 16 bits of
    /// pseudo-random output ("random hashing"): the first 16 from the 256-bit hash, more
    /// from a SplitMix64 stream seeded by it. One BLAKE3 compression per feature.
    /// Positions of one feature have no arithmetic structure, which removes the foothold
    /// that attacks on double hashing use (Kroll & Steinmetzer 2015).
    #[default]
    Blake3Random,
    /// BLAKE3 keyed hash → (h1, h2); positions h1 + i·h2 mod L (double hashing, as in
    /// clkhash), with the singularity fix: h2 is taken mod L, forced odd and non-zero, so
    /// the k positions never collapse onto one (for L a power of two they are distinct).
    Blake3Double,
    /// HMAC-SHA256 → (h1, h2), then double hashing as above: the classic construction of
    /// Schnell et al. About four times slower than BLAKE3.
    HmacSha256Double,
}

/// Which part of the salt attribute salts the hashes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaltPart {
    /// The whole normalised value.
    #[default]
    Whole,
    /// The year of a date (the first four digits of its normalised key); no salt when
    /// the year is unknown.
    Year,
}

/// Per-record salting: a stable attribute of the record is mixed into every feature's
/// hash, so the same q-gram sets different bits in records with different salt values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Salt {
    /// The attribute that salts (for example `date_of_birth`).
    pub kind: AttrKind,
    /// Which part of it.
    #[serde(default)]
    pub part: SaltPart,
}

/// Which hardening steps to apply (the `harden` module says what each does and costs).
/// Part of the [`Schema`]: both parties must agree on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HardeningConfig {
    /// Per-record salting of every feature hash by a stable attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salt: Option<Salt>,
    /// XOR-fold each segment to half its length.
    pub xor_fold: bool,
    /// Concatenate each segment with its complement and permute by key (doubles length).
    pub balance: bool,
    /// Diffusion layer: each output bit is the XOR of this many keyed-random input bits
    /// (0 = off).
    pub diffusion_taps: u32,
    /// With diffusion: the Bloom filter is built this many times longer than the
    /// encoding (sparser), and diffusion compresses it to the encoding's length (1–16;
    /// ignored without diffusion). Sparse inputs keep near matches close through
    /// diffusion; see the module docs.
    pub expansion: u32,
    /// BLIP: probability of flipping each output bit (0 = off; below 0.5).
    pub blip: f64,
}

/// The default diffusion: three taps per output bit.
pub const DEFAULT_DIFFUSION_TAPS: u32 = 3;
/// The default expansion of the Bloom filter before diffusion.
pub const DEFAULT_EXPANSION: u32 = 4;
/// The default BLIP flip probability.
pub const DEFAULT_BLIP: f64 = 0.02;

impl Default for HardeningConfig {
    /// Hardening is on by default: diffusion with [`DEFAULT_DIFFUSION_TAPS`] taps and BLIP
    /// with f = [`DEFAULT_BLIP`].
    fn default() -> Self {
        HardeningConfig {
            salt: None,
            xor_fold: false,
            balance: false,
            diffusion_taps: DEFAULT_DIFFUSION_TAPS,
            expansion: DEFAULT_EXPANSION,
            blip: DEFAULT_BLIP,
        }
    }
}

impl HardeningConfig {
    /// No hardening at all: plain Bloom filters (for comparison and tests only).
    pub fn none() -> Self {
        HardeningConfig {
            salt: None,
            xor_fold: false,
            balance: false,
            diffusion_taps: 0,
            expansion: 1,
            blip: 0.0,
        }
    }

    /// True when no step is enabled.
    pub fn is_none(&self) -> bool {
        self.salt.is_none()
            && !self.xor_fold
            && !self.balance
            && self.diffusion_taps == 0
            && self.blip == 0.0
    }

    /// The length of the Bloom filter built for a segment of target length `length`:
    /// `expansion × length` with diffusion, `length` without.
    pub fn bloom_bits(&self, length: u32) -> u32 {
        if self.diffusion_taps > 0 {
            length.saturating_mul(self.expansion.max(1))
        } else {
            length
        }
    }

    /// The length of a segment of target length `length` after hardening: halved by
    /// XOR-folding, doubled by balancing.
    pub fn output_bits(&self, length: u32) -> u32 {
        let mut m = length;
        if self.xor_fold {
            m /= 2;
        }
        if self.balance {
            m *= 2;
        }
        m
    }

    pub(crate) fn validate(&self, schema: &Schema) -> Result<()> {
        let err = |field: &str, reason: String| {
            Err(PprlError::Schema {
                field: format!("hardening.{field}"),
                reason,
            })
        };
        if !(0.0..0.5).contains(&self.blip) || self.blip.is_nan() {
            return err(
                "blip",
                format!(
                    "flip probability {} must be at least 0 and below 0.5",
                    self.blip
                ),
            );
        }
        if self.diffusion_taps > 64 {
            return err(
                "diffusion_taps",
                format!(
                    "{} taps is more than the maximum of 64",
                    self.diffusion_taps
                ),
            );
        }
        if !(1..=16).contains(&self.expansion) {
            return err(
                "expansion",
                format!("{} must be between 1 and 16", self.expansion),
            );
        }
        let lengths = std::iter::once(schema.length).chain(
            schema
                .fields
                .iter()
                .filter(|_| schema.layout == Layout::Field)
                .filter_map(|f| f.length),
        );
        for len in lengths {
            let bloom = self.bloom_bits(len);
            if bloom > MAX_LENGTH {
                return err(
                    "expansion",
                    format!(
                        "a Bloom filter of {bloom} bits ({} × {len}) is longer than {}",
                        self.expansion, MAX_LENGTH
                    ),
                );
            }
            let mut input = bloom;
            if self.xor_fold {
                input /= 2;
            }
            if self.balance {
                input *= 2;
            }
            if self.diffusion_taps > input {
                return err(
                    "diffusion_taps",
                    "more taps than bits in the segment".to_owned(),
                );
            }
        }
        if let Some(salt) = &self.salt
            && salt.kind == spirit_model::AttrKind::FullName
        {
            return err(
                "salt.kind",
                "full_name cannot salt; use given_name or surname".to_owned(),
            );
        }
        Ok(())
    }
}

/// One field of the schema. Settings left out take the default of the kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The attribute kind whose normalised value this field encodes.
    pub kind: AttrKind,
    /// q-gram length (1–8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<u8>,
    /// Positional q-grams (no padding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positional: Option<bool>,
    /// k: bits set per feature (1–64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_per_token: Option<u32>,
    /// About this many bits per value, spread over its features (1–4096).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_per_feature: Option<u32>,
    /// Field-level layout only: this field's filter length (multiple of 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
}

/// How many bits a field sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weight {
    /// k bits per feature.
    BitsPerToken(u32),
    /// About this many bits per value.
    BitsPerFeature(u32),
}

impl Weight {
    /// The number of bits per feature for a value with `features` features.
    pub fn k(self, features: usize) -> u32 {
        match self {
            Weight::BitsPerToken(k) => k.clamp(1, MAX_K),
            Weight::BitsPerFeature(b) => {
                let n = u32::try_from(features.max(1)).unwrap_or(u32::MAX);
                b.div_ceil(n).clamp(1, MAX_K)
            }
        }
    }
}

/// A field with every default filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedField {
    /// Attribute kind.
    pub kind: AttrKind,
    /// q-gram length.
    pub q: u8,
    /// Positional q-grams.
    pub positional: bool,
    /// Bits per feature or per value.
    pub weight: Weight,
    /// Field-level layout: the field's filter length; record layout: the CLK length.
    pub length: u32,
}

impl FieldSpec {
    /// A field of `kind` with all of the kind's defaults.
    pub fn new(kind: AttrKind) -> FieldSpec {
        FieldSpec {
            kind,
            q: None,
            positional: None,
            bits_per_token: None,
            bits_per_feature: None,
            length: None,
        }
    }

    /// The field with its kind's defaults filled in, given the schema's length.
    /// Defaults: names, addresses, places, e-mails, phones and usernames bigrams;
    /// dates, postcodes, gender and national ids positional unigrams; regions positional
    /// bigrams (as the clkhash FEBRL schema does for `state`). Given name, surname and
    /// date of birth weigh 200 bits per value, everything else 100 (gender and country 50).
    pub fn resolve(&self, schema_length: u32) -> ResolvedField {
        let (q, positional, bits) = kind_defaults(self.kind);
        let weight = match (self.bits_per_token, self.bits_per_feature) {
            (Some(k), _) => Weight::BitsPerToken(k),
            (None, Some(b)) => Weight::BitsPerFeature(b),
            (None, None) => Weight::BitsPerFeature(bits),
        };
        ResolvedField {
            kind: self.kind,
            q: self.q.unwrap_or(q),
            positional: self.positional.unwrap_or(positional),
            weight,
            length: self.length.unwrap_or(schema_length),
        }
    }
}

/// (q, positional, bits per value) defaults of a kind.
fn kind_defaults(kind: AttrKind) -> (u8, bool, u32) {
    match kind {
        AttrKind::GivenName | AttrKind::Surname | AttrKind::FullName => (2, false, 200),
        AttrKind::MiddleName | AttrKind::Username | AttrKind::Email => (2, false, 100),
        AttrKind::DateOfBirth => (1, true, 200),
        AttrKind::Gender => (1, true, 50),
        AttrKind::Phone | AttrKind::Address | AttrKind::City => (2, false, 100),
        AttrKind::Postcode | AttrKind::NationalId => (1, true, 100),
        AttrKind::Region => (2, true, 100),
        AttrKind::Country => (2, false, 50),
        // The kinds from texts and media are refused by `Schema::validate` (see
        // `bloom_refusal`); this value only keeps the match exhaustive.
        _ => (2, false, 100),
    }
}

/// Why a kind has no Bloom-filter encoding, if it has none: identifiers from texts and
/// media are valid only whole (one character off is another wallet), so q-gram
/// similarity would link near-misses; they are linked privately with keyed tokens
/// (`Tokeniser`). Image hashes, positions and audio fingerprints are compared by
/// distance, not by q-grams.
pub fn bloom_refusal(kind: AttrKind) -> Option<String> {
    match kind {
        AttrKind::ImageHash | AttrKind::GeoPosition | AttrKind::AudioFingerprint => Some(format!(
            "{kind} is compared by distance, not by q-grams: it has no Bloom-filter encoding"
        )),
        AttrKind::StyleProfile => Some(format!(
            "{kind} is compared by a calibrated verification score: it has no Bloom-filter encoding"
        )),
        k if k.is_evidence() => Some(format!(
            "{k} is an exact identifier: link it with keyed tokens (HMAC), not a Bloom filter"
        )),
        _ => None,
    }
}

/// The encoding schema. See the module documentation for the TOML form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Schema format version (1).
    #[serde(default = "one")]
    pub version: u32,
    /// Record-level CLK or field-level filters.
    #[serde(default)]
    pub layout: Layout,
    /// Filter length in bits before hardening (multiple of 64; of 128 with XOR-folding).
    #[serde(default = "default_length")]
    pub length: u32,
    /// How bit positions are derived.
    #[serde(default)]
    pub hashing: Hashing,
    /// The fields, in order. The order is part of the schema.
    pub fields: Vec<FieldSpec>,
    /// Hardening; on by default (see [`HardeningConfig::default`]).
    #[serde(default)]
    pub hardening: HardeningConfig,
}

fn one() -> u32 {
    1
}

fn default_length() -> u32 {
    DEFAULT_LENGTH
}

impl Schema {
    /// A record-level schema with default settings and default hardening for the given
    /// kinds (in [`AttrKind::ALL`] order, duplicates dropped). `full_name` becomes
    /// `given_name` + `surname` (the normaliser splits full names); kinds without a
    /// sensible fuzzy encoding are kept too — remove what you do not want — except the
    /// kinds [`bloom_refusal`] refuses (identifiers from texts and media), which are
    /// left out.
    pub fn for_kinds(kinds: &[AttrKind]) -> Schema {
        let mut present = [false; AttrKind::ALL.len()];
        let mut mark = |k: AttrKind| {
            if let Some(i) = k.index() {
                present[i] = true;
            }
        };
        for &k in kinds {
            if bloom_refusal(k).is_some() {
                continue;
            }
            if k == AttrKind::FullName {
                mark(AttrKind::GivenName);
                mark(AttrKind::Surname);
            } else {
                mark(k);
            }
        }
        Schema {
            version: 1,
            layout: Layout::Record,
            length: DEFAULT_LENGTH,
            hashing: Hashing::default(),
            fields: AttrKind::ALL
                .into_iter()
                .filter(|k| k.index().is_some_and(|i| present[i]))
                .map(FieldSpec::new)
                .collect(),
            hardening: HardeningConfig::default(),
        }
    }

    /// Reads a schema from JSON and validates it.
    pub fn from_json(text: &str) -> Result<Schema> {
        let schema: Schema =
            serde_json::from_str(text).map_err(|e| PprlError::SchemaParse(e.to_string()))?;
        schema.validate()?;
        Ok(schema)
    }

    /// The schema as pretty JSON (the form stored beside encodings).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The fields with their defaults filled in.
    pub fn resolved_fields(&self) -> Vec<ResolvedField> {
        self.fields.iter().map(|f| f.resolve(self.length)).collect()
    }

    /// Checks every setting; the error names the field at fault.
    pub fn validate(&self) -> Result<()> {
        let err = |field: String, reason: String| Err(PprlError::Schema { field, reason });
        if self.version != 1 {
            return err(
                "version".into(),
                format!("unsupported version {}, expected 1", self.version),
            );
        }
        if self.fields.is_empty() {
            return err("fields".into(), "a schema needs at least one field".into());
        }
        let fold = self.hardening.xor_fold;
        let check_len = |what: String, len: u32| -> Result<()> {
            let unit = if fold { 128 } else { 64 };
            if len == 0 || !len.is_multiple_of(unit) || len > MAX_LENGTH {
                return err(
                    what,
                    format!(
                        "length {len} must be a positive multiple of {unit}{} and at most {MAX_LENGTH}",
                        if fold { " (XOR-folding halves it)" } else { "" }
                    ),
                );
            }
            Ok(())
        };
        check_len("length".into(), self.length)?;
        for (i, f) in self.fields.iter().enumerate() {
            let name = format!("fields[{i}] ({})", f.kind);
            if f.kind == AttrKind::FullName {
                return err(
                    name,
                    "full_name is split into given_name and surname by the normaliser; encode those".into(),
                );
            }
            if let Some(reason) = bloom_refusal(f.kind) {
                return err(name, reason);
            }
            if let Some(q) = f.q
                && !(1..=8).contains(&q)
            {
                return err(name, format!("q = {q} must be between 1 and 8"));
            }
            if f.bits_per_token.is_some() && f.bits_per_feature.is_some() {
                return err(
                    name,
                    "set bits_per_token or bits_per_feature, not both".into(),
                );
            }
            if let Some(k) = f.bits_per_token
                && !(1..=MAX_K).contains(&k)
            {
                return err(
                    name,
                    format!("bits_per_token = {k} must be between 1 and {MAX_K}"),
                );
            }
            if let Some(b) = f.bits_per_feature
                && !(1..=4096).contains(&b)
            {
                return err(
                    name,
                    format!("bits_per_feature = {b} must be between 1 and 4096"),
                );
            }
            if let Some(len) = f.length {
                if self.layout == Layout::Record {
                    return err(name, "a per-field length needs layout = \"field\"".into());
                }
                check_len(name.clone(), len)?;
            }
        }
        self.hardening.validate(self)?;
        Ok(())
    }

    /// A short public identifier of the schema (16 hex digits of the BLAKE3 hash of its
    /// resolved form): equal for schemas that encode identically.
    pub fn fingerprint(&self) -> String {
        #[derive(Serialize)]
        struct Canonical<'a> {
            version: u32,
            layout: Layout,
            length: u32,
            hashing: Hashing,
            fields: Vec<ResolvedField>,
            hardening: &'a HardeningConfig,
        }
        let c = Canonical {
            version: self.version,
            layout: self.layout,
            length: self.length,
            hashing: self.hashing,
            fields: self.resolved_fields(),
            hardening: &self.hardening,
        };
        let json = serde_json::to_vec(&c).unwrap_or_default();
        crate::keys::hex(&blake3::hash(&json).as_bytes()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_kinds_are_left_out_or_refused() {
        let s = Schema::for_kinds(&[
            AttrKind::Surname,
            AttrKind::CryptoAddress,
            AttrKind::ImageHash,
        ]);
        assert_eq!(s.fields.len(), 1);
        assert_eq!(s.fields[0].kind, AttrKind::Surname);
        let mut bad = s.clone();
        bad.fields.push(FieldSpec::new(AttrKind::Iban));
        let e = bad.validate().unwrap_err().to_string();
        assert!(
            e.contains("fields[1] (iban)") && e.contains("tokens"),
            "{e}"
        );
    }

    #[test]
    fn toml_schema_takes_kind_defaults() {
        let text = r#"
            layout = "field"
            length = 512

            [[fields]]
            kind = "given_name"
            bits_per_token = 10

            [[fields]]
            kind = "date_of_birth"

            [hardening]
            blip = 0.0
        "#;
        let s: Schema = toml::from_str(text).unwrap();
        s.validate().unwrap();
        let f = s.resolved_fields();
        assert_eq!(f[0].q, 2);
        assert!(!f[0].positional);
        assert_eq!(f[0].weight, Weight::BitsPerToken(10));
        assert_eq!((f[1].q, f[1].positional), (1, true));
        assert_eq!(f[1].weight, Weight::BitsPerFeature(200));
        assert_eq!(f[1].length, 512);
        // Hardening settings left out keep the default (on).
        assert_eq!(
            s.hardening.diffusion_taps,
            HardeningConfig::default().diffusion_taps
        );
        assert_eq!(s.hardening.blip, 0.0);
        let json = s.to_json();
        assert_eq!(Schema::from_json(&json).unwrap(), s);
    }

    #[test]
    fn bad_schemas_name_the_field() {
        let base = Schema::for_kinds(&[AttrKind::Surname]);
        let check = |s: Schema, field: &str| match s.validate() {
            Err(PprlError::Schema { field: f, .. }) => assert!(f.contains(field), "{f}"),
            other => panic!("{other:?}"),
        };
        let mut s = base.clone();
        s.fields[0].q = Some(0);
        check(s, "fields[0] (surname)");
        let mut s = base.clone();
        s.fields[0].bits_per_token = Some(3);
        s.fields[0].bits_per_feature = Some(3);
        check(s, "fields[0]");
        let mut s = base.clone();
        s.fields[0].bits_per_token = Some(65);
        check(s, "fields[0]");
        let mut s = base.clone();
        s.fields[0].kind = AttrKind::FullName;
        check(s, "fields[0] (full_name)");
        let mut s = base.clone();
        s.length = 1000;
        check(s, "length");
        let mut s = base.clone();
        s.fields[0].length = Some(256);
        check(s, "fields[0]");
        let mut s = base.clone();
        s.hardening.blip = 0.5;
        check(s, "hardening.blip");
        let mut s = base.clone();
        s.hardening.blip = f64::NAN;
        check(s, "hardening.blip");
        let mut s = base.clone();
        s.hardening.expansion = 128;
        check(s, "hardening.expansion");
        let mut s = base.clone();
        s.length = 65_536;
        check(s, "hardening.expansion");
        let mut s = base.clone();
        s.version = 2;
        check(s, "version");
        let mut s = base;
        s.fields.clear();
        check(s, "fields");
        assert!(matches!(
            Schema::from_json("{\"fields\": [{\"kind\": \"shoe_size\"}]}"),
            Err(PprlError::SchemaParse(_))
        ));
    }

    #[test]
    fn defaults_and_fingerprints() {
        let s = Schema::for_kinds(&[AttrKind::FullName, AttrKind::Email, AttrKind::Email]);
        let kinds: Vec<AttrKind> = s.fields.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [AttrKind::GivenName, AttrKind::Surname, AttrKind::Email]
        );
        assert_eq!(s.length, DEFAULT_LENGTH);
        assert!(!s.hardening.is_none());
        assert_eq!(s.fingerprint(), s.clone().fingerprint());
        // Spelling a default out does not change the fingerprint; changing it does.
        let mut explicit = s.clone();
        explicit.fields[0].q = Some(2);
        assert_eq!(explicit.fingerprint(), s.fingerprint());
        let mut other = s.clone();
        other.fields[0].q = Some(3);
        assert_ne!(other.fingerprint(), s.fingerprint());
        assert_eq!(Weight::BitsPerFeature(200).k(7), 29);
        assert_eq!(Weight::BitsPerFeature(200).k(0), MAX_K);
        assert_eq!(Weight::BitsPerToken(0).k(3), 1);
    }
}
