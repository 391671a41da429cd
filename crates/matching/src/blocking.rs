//! Blocking rules and key functions.
//!
//! A blocking rule is a conjunction of keys (`surname:metaphone & date_of_birth:exact`);
//! rules are OR-ed. Each key is computed once per distinct value, and each record gets
//! one 64-bit key per rule (missing when any part is missing). Blocks larger than the
//! cap are not joined in full: their key is dropped for that rule, and the other rules
//! must propose those pairs — the run summary reports how many records that touched.

use std::fmt;

use rustc_hash::FxHashMap;
use spirit_model::AttrKind;

use crate::lsh::{LSH_BANDS, LSH_KINDS, record_signature};
use crate::table::{Column, Derived, NULL_ID, RecordTable, hash_bytes, hash_str};

/// How one attribute value becomes (part of) a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyFunction {
    /// The normalised value itself.
    Exact,
    /// The Double Metaphone primary code (names).
    Metaphone,
    /// The first `n` characters.
    Prefix(u8),
    /// The year of a date.
    Year,
    /// The last nine digits (phones).
    Digits,
    /// The house number and the first word of the street: `12 high st flat 3` → `12 high`
    /// (addresses).
    Street,
    /// The sorted pair of given-name and surname Double Metaphone codes: the same key
    /// whichever way round the names were written. Only valid with kind `name`.
    MetaphoneSet,
    /// The consonant skeleton of a name (`spirit_text::skeleton`), when it has at least
    /// [`crate::comparison::MIN_SKELETON`] letters: an unvowelled (Arabic-script) name meets its Latin spellings.
    Skeleton,
    /// The `i`-th 8-bit segment (0–7) of an image hash's pHash: two hashes within 7
    /// bits share at least one of the eight (pigeonhole). Only valid with `image_hash`.
    Segment(u8),
    /// The `i`-th 8-bit segment (0–7) of the pHash and of the mirror's pHash, as an
    /// unordered pair: a mirrored copy (its pHash near the original's mirror pHash and
    /// the other way round) gets the same key as its original when both segments
    /// survive, which within 7 differing bits over both hashes one of the eight does.
    /// Only valid with `image_hash` values that carry the mirror.
    MirrorSegment(u8),
    /// The `i`-th min-hash ([`crate::evidence::audio_minhash`]) of an audio
    /// fingerprint's features. Only valid with `audio_fingerprint`.
    MinHash(u8),
    /// Band `i` (0–19) of a min-hash signature over the character trigrams of the whole
    /// person — names, street address, city and postcode, spaces removed — so that two
    /// records with several fields corrupted still meet when most of their text agrees
    /// ([`crate::lsh`]). Only valid with the pseudo-attribute `record`.
    Lsh(u8),
}

/// One part of a blocking rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyPart {
    /// `None` for the pseudo-attribute `name` (given name and surname together).
    pub kind: Option<AttrKind>,
    pub function: KeyFunction,
}

/// A conjunction of key parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockingRule {
    pub parts: Vec<KeyPart>,
}

impl fmt::Display for BlockingRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(" & ")?;
            }
            let kind = match (p.kind, p.function) {
                (Some(k), _) => k.name(),
                (None, KeyFunction::Lsh(_)) => "record",
                (None, _) => "name",
            };
            let func = match p.function {
                KeyFunction::Exact => "exact".to_string(),
                KeyFunction::Metaphone => "metaphone".into(),
                KeyFunction::Prefix(n) => format!("prefix{n}"),
                KeyFunction::Year => "year".into(),
                KeyFunction::Digits => "digits".into(),
                KeyFunction::Street => "street".into(),
                KeyFunction::MetaphoneSet => "metaphone_set".into(),
                KeyFunction::Skeleton => "skeleton".into(),
                KeyFunction::Segment(i) => format!("segment{i}"),
                KeyFunction::MirrorSegment(i) => format!("mirror_segment{i}"),
                KeyFunction::MinHash(i) => format!("minhash{i}"),
                KeyFunction::Lsh(i) => format!("lsh{i}"),
            };
            write!(f, "{kind}:{func}")?;
        }
        Ok(())
    }
}

impl BlockingRule {
    /// Parses a rule from its keys, each `kind:function` (`surname:metaphone`,
    /// `given_name:prefix3`, `date_of_birth:year`, `name:metaphone_set`, …).
    pub fn parse<S: AsRef<str>>(keys: &[S]) -> Result<BlockingRule, String> {
        if keys.is_empty() {
            return Err("a blocking rule needs at least one key".into());
        }
        let parts = keys
            .iter()
            .map(|k| parse_key(k.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(BlockingRule { parts })
    }

    /// The attribute kinds this rule needs.
    pub fn kinds(&self) -> Vec<AttrKind> {
        let mut out = Vec::new();
        for p in &self.parts {
            match p.kind {
                Some(k) => out.push(k),
                None => out.extend([AttrKind::GivenName, AttrKind::Surname]),
            }
        }
        out
    }

    /// The attribute kinds the pairs this rule proposes agree on more than random pairs
    /// do: the kinds it needs, and for a record signature every kind signed. Training
    /// leaves these out of the rule's stratum.
    pub fn covered_kinds(&self) -> Vec<AttrKind> {
        let mut out = self.kinds();
        if self.is_record_signature() {
            out.extend(LSH_KINDS);
        }
        out
    }

    /// The default rules for the attribute kinds present in a run: names by sound in
    /// either order, each identifier on its own, and pairs of name, date of birth and
    /// location keys — so that a record with two corrupted fields still shares some
    /// rule's key with its duplicate. Image hashes are blocked by segments of the
    /// pHash and by mirror segments (so a mirrored re-post is a candidate), audio
    /// fingerprints by their min-hashes.
    pub fn defaults_for(kinds: &[AttrKind]) -> Vec<BlockingRule> {
        let candidates: &[&[&str]] = &[
            &["name:metaphone_set"],
            &["surname:metaphone", "date_of_birth:exact"],
            &["given_name:metaphone", "date_of_birth:exact"],
            &["email:exact"],
            &["phone:digits"],
            &["national_id:exact"],
            &["username:exact"],
            &["address:exact", "given_name:prefix1"],
            &["address:street"],
            &["surname:metaphone", "postcode:exact"],
            &["surname:metaphone", "city:exact"],
            &["date_of_birth:exact", "postcode:exact"],
            &["date_of_birth:exact", "city:exact"],
            &["given_name:metaphone", "postcode:exact"],
            &[
                "surname:prefix3",
                "given_name:prefix3",
                "date_of_birth:year",
            ],
        ];
        // Identifiers from texts and media, each on its own; image hashes by segment.
        let evidence = crate::comparison::EXACT_IDENTIFIERS
            .iter()
            .map(|k| vec![format!("{}:exact", k.name())])
            .chain(
                (0..crate::evidence::IMAGE_HASH_SEGMENTS)
                    .map(|i| vec![format!("image_hash:segment{i}")]),
            )
            .chain(
                (0..crate::evidence::IMAGE_HASH_SEGMENTS)
                    .map(|i| vec![format!("image_hash:mirror_segment{i}")]),
            )
            .chain(
                (0..crate::evidence::AUDIO_MINHASH_KEYS)
                    .map(|i| vec![format!("audio_fingerprint:minhash{i}")]),
            );
        candidates
            .iter()
            .map(|keys| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>())
            .chain(evidence)
            .map(|keys| BlockingRule::parse(&keys).expect("built-in rules parse"))
            .filter(|rule| rule.kinds().iter().all(|k| kinds.contains(k)))
            .collect()
    }

    /// The `record:lshN` rules for records carrying `kinds`: none without names, and
    /// none without a place (a signature of names alone would only find namesakes
    /// again).
    pub fn record_signature_for(kinds: &[AttrKind]) -> Vec<BlockingRule> {
        let has = |k: &AttrKind| kinds.contains(k);
        let named = has(&AttrKind::GivenName) && has(&AttrKind::Surname);
        let placed = [AttrKind::Address, AttrKind::City, AttrKind::Postcode]
            .iter()
            .any(has);
        if !(named && placed) {
            return Vec::new();
        }
        (0..LSH_BANDS)
            .map(|i| {
                BlockingRule::parse(&[format!("record:lsh{i}")]).expect("built-in rules parse")
            })
            .collect()
    }

    /// True for a `record:lshN` rule.
    pub fn is_record_signature(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p.function, KeyFunction::Lsh(_)))
    }
}

fn parse_key(key: &str) -> Result<KeyPart, String> {
    // A field's name has a colon of its own (`field:vehicle:exact`).
    let (kind, func) = key
        .rsplit_once(':')
        .ok_or_else(|| format!("blocking key {key:?} must be `attribute:function`"))?;
    // `name` and `record` are pseudo-attributes: names together, the whole person.
    let pseudo = kind.trim();
    let kind = match pseudo {
        "name" | "record" => None,
        k => Some(AttrKind::from_name(k).ok_or_else(|| {
            format!(
                "blocking key {key:?}: unknown attribute {k:?} (known: name, record, {})",
                known_kinds()
            )
        })?),
    };
    if kind == Some(AttrKind::StyleProfile) {
        return Err(format!(
            "blocking key {key:?}: style_profile cannot propose pairs (writing style only \
             scores pairs that other keys propose)"
        ));
    }
    let func = func.trim();
    let function = match func {
        "exact" => KeyFunction::Exact,
        "metaphone" => KeyFunction::Metaphone,
        "year" => KeyFunction::Year,
        "digits" => KeyFunction::Digits,
        "street" => KeyFunction::Street,
        "metaphone_set" => KeyFunction::MetaphoneSet,
        "skeleton" => KeyFunction::Skeleton,
        f if f.starts_with("mirror_segment") => {
            let i: u8 = f["mirror_segment".len()..]
                .parse()
                .ok()
                .filter(|i| *i < crate::evidence::IMAGE_HASH_SEGMENTS)
                .ok_or_else(|| format!("blocking key {key:?}: mirror_segment must be 0..7"))?;
            if kind != Some(AttrKind::ImageHash) {
                return Err(format!(
                    "blocking key {key:?}: mirror_segmentN goes with `image_hash` only"
                ));
            }
            KeyFunction::MirrorSegment(i)
        }
        f if f.starts_with("minhash") => {
            let n = crate::evidence::AUDIO_MINHASH_KEYS;
            let i: u8 = f["minhash".len()..]
                .parse()
                .ok()
                .filter(|i| *i < n)
                .ok_or_else(|| format!("blocking key {key:?}: minhash must be 0..{}", n - 1))?;
            if kind != Some(AttrKind::AudioFingerprint) {
                return Err(format!(
                    "blocking key {key:?}: minhashN goes with `audio_fingerprint` only"
                ));
            }
            KeyFunction::MinHash(i)
        }
        f if f.starts_with("segment") => {
            let i: u8 = f["segment".len()..]
                .parse()
                .ok()
                .filter(|i| *i < crate::evidence::IMAGE_HASH_SEGMENTS)
                .ok_or_else(|| format!("blocking key {key:?}: segment must be 0..7"))?;
            if kind != Some(AttrKind::ImageHash) {
                return Err(format!(
                    "blocking key {key:?}: segmentN goes with `image_hash` only"
                ));
            }
            KeyFunction::Segment(i)
        }
        f if f.starts_with("lsh") => {
            let i: u8 = f["lsh".len()..]
                .parse()
                .ok()
                .filter(|i| usize::from(*i) < LSH_BANDS)
                .ok_or_else(|| format!("blocking key {key:?}: lsh must be 0..{}", LSH_BANDS - 1))?;
            KeyFunction::Lsh(i)
        }
        f if f.starts_with("prefix") => {
            let n: u8 = f["prefix".len()..]
                .parse()
                .ok()
                .filter(|n| (1..=32).contains(n))
                .ok_or_else(|| format!("blocking key {key:?}: prefix length must be 1..32"))?;
            KeyFunction::Prefix(n)
        }
        f => {
            return Err(format!(
                "blocking key {key:?}: unknown function {f:?} \
                 (known: exact, metaphone, prefixN, year, digits, street, metaphone_set, \
                 skeleton, segmentN, mirror_segmentN, minhashN, lshN)"
            ));
        }
    };
    if (pseudo == "name") != (function == KeyFunction::MetaphoneSet) {
        return Err(format!(
            "blocking key {key:?}: metaphone_set goes with `name`, and `name` with \
             metaphone_set only"
        ));
    }
    if (pseudo == "record") != matches!(function, KeyFunction::Lsh(_)) {
        return Err(format!(
            "blocking key {key:?}: lshN goes with `record`, and `record` with lshN only"
        ));
    }
    Ok(KeyPart { kind, function })
}

fn known_kinds() -> String {
    AttrKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Start of every rule's key hash.
const KEY_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The most keys one rule gives one record holding several values
/// ([`BlockingRule::keys_of`]).
pub const MAX_KEYS_PER_RULE: usize = 64;

impl BlockingRule {
    /// The rule's key for record `r` of `table` from its first values (what
    /// [`BlockKeys::compute`] gives it before the cap when no record of the table holds
    /// several values of a kind); `None` when a part is missing.
    pub fn key(&self, table: &RecordTable, r: u32) -> Option<u64> {
        let signature = if self.is_record_signature() {
            record_signature(table, r)
        } else {
            None
        };
        self.key_signed(table, r, signature.as_ref())
    }

    /// Every rule's keys for record `r`: one, or none when a part is missing, or one per
    /// combination of values when the record holds several values of a part's kind (at
    /// most [`MAX_KEYS_PER_RULE`]), so that it meets every record sharing any of them.
    /// The record signature (when a rule needs it) is computed once for all the rules.
    pub fn keys_of(rules: &[BlockingRule], table: &RecordTable, r: u32) -> Vec<Vec<u64>> {
        let signature = if rules.iter().any(BlockingRule::is_record_signature) {
            record_signature(table, r)
        } else {
            None
        };
        rules
            .iter()
            .map(|rule| {
                let mut keys = vec![KEY_SEED];
                for part in &rule.parts {
                    let part_keys: Vec<u64> = match part.function {
                        KeyFunction::Lsh(band) => signature
                            .map(|s| s[usize::from(band)])
                            .into_iter()
                            .collect(),
                        _ => part_keys_of(table, *part, r),
                    };
                    keys = keys
                        .iter()
                        .flat_map(|&h| {
                            part_keys
                                .iter()
                                .map(move |p| hash_bytes(h, &p.to_le_bytes()))
                        })
                        .take(MAX_KEYS_PER_RULE)
                        .collect();
                }
                keys.sort_unstable();
                keys.dedup();
                keys
            })
            .collect()
    }

    /// The rule's key for record `r`, given the record's signature.
    fn key_signed(
        &self,
        table: &RecordTable,
        r: u32,
        signature: Option<&[u64; LSH_BANDS]>,
    ) -> Option<u64> {
        self.parts.iter().try_fold(KEY_SEED, |h, part| {
            let key = match part.function {
                KeyFunction::Lsh(band) => signature?[usize::from(band)],
                _ => part_key(table, *part, r)?,
            };
            Some(hash_bytes(h, &key.to_le_bytes()))
        })
    }
}

/// Per-rule keys of every record, after the block-size cap.
#[derive(Clone, Debug)]
pub struct BlockKeys {
    pub rules: Vec<BlockingRule>,
    /// `keys[rule][record]`; `None` when the record has no key for the rule or its block
    /// was over the cap.
    pub keys: Vec<Vec<Option<u64>>>,
    /// Per rule: how many records lost their key because their block was over the cap.
    pub capped_records: Vec<u64>,
    /// Per rule: number of blocks over the cap.
    pub capped_blocks: Vec<u64>,
    /// Per rule: pairs inside the blocks that remain after the cap.
    block_pairs: Vec<u64>,
    /// The same keys record by record (`rules.len()` per record, 0 for none), so that
    /// checking which rules propose a pair touches one cache line per record.
    by_record: Vec<u64>,
}

impl BlockKeys {
    /// Computes every rule's key for every record, dropping keys of blocks with more
    /// than `max_block_size` records. Rules needing attributes the table lacks give no
    /// keys at all.
    pub fn compute(table: &RecordTable, rules: Vec<BlockingRule>, max_block_size: usize) -> Self {
        let n = table.len as usize;
        let mut keys = Vec::with_capacity(rules.len());
        let mut capped_records = Vec::with_capacity(rules.len());
        let mut capped_blocks = Vec::with_capacity(rules.len());
        let mut block_pairs = Vec::with_capacity(rules.len());
        // Record signatures are computed once for all the `record:lshN` rules.
        let signatures: Vec<Option<[u64; LSH_BANDS]>> =
            if rules.iter().any(BlockingRule::is_record_signature) {
                use rayon::prelude::*;
                (0..n as u32)
                    .into_par_iter()
                    .map(|r| record_signature(table, r))
                    .collect()
            } else {
                Vec::new()
            };
        // Rules are independent: one task each.
        let per_rule: Vec<(Vec<Option<u64>>, u64, u64, u64)> = {
            use rayon::prelude::*;
            rules
                .par_iter()
                .map(|rule| rule_keys(table, rule, &signatures, max_block_size))
                .collect()
        };
        for (rule_keys, recs, over, pairs) in per_rule {
            capped_blocks.push(over);
            block_pairs.push(pairs);
            capped_records.push(recs);
            keys.push(rule_keys);
        }
        let mut out = BlockKeys::from_keys(rules, keys, n);
        out.capped_records = capped_records;
        out.capped_blocks = capped_blocks;
        out.block_pairs = block_pairs;
        out
    }

    /// Keys already computed (`keys[rule][record]` for `records` records, after the
    /// cap), as a part of a table's records carries them; the cap and pair counts are
    /// zero.
    pub fn from_keys(
        rules: Vec<BlockingRule>,
        keys: Vec<Vec<Option<u64>>>,
        records: usize,
    ) -> BlockKeys {
        let nr = rules.len();
        let mut by_record = vec![0u64; records * nr];
        for (r, rule_keys) in keys.iter().enumerate() {
            for (i, k) in rule_keys.iter().enumerate() {
                // 0 marks "no key"; a real key of 0 becomes 1 (keys are hashes)
                by_record[i * nr + r] = k.map_or(0, |k| k.max(1));
            }
        }
        BlockKeys {
            capped_records: vec![0; nr],
            capped_blocks: vec![0; nr],
            block_pairs: vec![0; nr],
            rules,
            keys,
            by_record,
        }
    }

    /// True when no rule before `rule` gives records `a` and `b` the same key: `rule`
    /// is the first rule to propose the pair, the one that counts it.
    #[inline]
    pub fn is_first(&self, a: u32, b: u32, rule: usize) -> bool {
        self.is_first_kept(a, b, rule, &RuleMask::default())
    }

    /// [`BlockKeys::is_first`] with the rules whose bit is set in `left_out` (bit `r % 64`
    /// of word `r / 64`) not counted: `rule` is the first rule still in use to propose
    /// the pair.
    #[inline]
    pub fn is_first_kept(&self, a: u32, b: u32, rule: usize, left_out: &RuleMask) -> bool {
        let nr = self.rules.len();
        let (ka, kb) = (a as usize * nr, b as usize * nr);
        let (ka, kb) = (
            &self.by_record[ka..ka + rule],
            &self.by_record[kb..kb + rule],
        );
        ka.iter()
            .zip(kb)
            .enumerate()
            .all(|(r, (x, y))| *x == 0 || x != y || rule_in(left_out, r))
    }

    /// Number of candidate pairs each rule proposes within its blocks (before removing
    /// pairs already proposed by earlier rules and before any link-type filter).
    pub fn pairs_per_rule(&self) -> &[u64] {
        &self.block_pairs
    }
}

/// A set of blocking rules by index (a run has at most 256): bit `r % 64` of word
/// `r / 64`.
pub type RuleMask = [u64; 4];

/// True when rule `r` is in `mask`.
pub fn rule_in(mask: &RuleMask, r: usize) -> bool {
    mask.get(r / 64).is_some_and(|w| (w >> (r % 64)) & 1 == 1)
}

/// `mask` with rule `r` added (rules past 255 are ignored).
pub fn with_rule(mut mask: RuleMask, r: usize) -> RuleMask {
    if let Some(w) = mask.get_mut(r / 64) {
        *w |= 1 << (r % 64);
    }
    mask
}

/// One rule's key per record (`None` for no key or a block over `max_block_size`
/// records), with the records and blocks dropped by the cap and the pairs left.
fn rule_keys(
    table: &RecordTable,
    rule: &BlockingRule,
    signatures: &[Option<[u64; LSH_BANDS]>],
    max_block_size: usize,
) -> (Vec<Option<u64>>, u64, u64, u64) {
    let n = table.len as usize;
    let mut rule_keys: Vec<Option<u64>> = vec![Some(KEY_SEED); n];
    for part in &rule.parts {
        let part_keys = match part.function {
            KeyFunction::Lsh(band) => signatures
                .iter()
                .map(|s| s.map(|bands| bands[usize::from(band)]))
                .collect(),
            _ => part_keys(table, *part, max_block_size),
        };
        for (k, pk) in rule_keys.iter_mut().zip(part_keys) {
            *k = match (*k, pk) {
                (Some(h), Some(p)) => Some(hash_bytes(h, &p.to_le_bytes())),
                _ => None,
            };
        }
    }
    let mut sizes: FxHashMap<u64, u32> = FxHashMap::default();
    for k in rule_keys.iter().flatten() {
        *sizes.entry(*k).or_default() += 1;
    }
    let mut recs = 0u64;
    for k in rule_keys.iter_mut() {
        if let Some(h) = *k
            && sizes[&h] as usize > max_block_size
        {
            *k = None;
            recs += 1;
        }
    }
    let (mut over, mut pairs) = (0u64, 0u64);
    for &size in sizes.values() {
        if size as usize > max_block_size {
            over += 1;
        } else {
            pairs += u64::from(size) * u64::from(size - 1) / 2;
        }
    }
    (rule_keys, recs, over, pairs)
}

fn value_key(col: &Column, function: KeyFunction, id: u32) -> Option<u64> {
    let v = &*col.values[id as usize];
    let h = match function {
        KeyFunction::Exact => hash_str(v),
        KeyFunction::Metaphone => match &col.derived {
            Derived::Names { metaphone, .. } if !metaphone[id as usize].is_empty() => {
                hash_str(&metaphone[id as usize])
            }
            _ => return None,
        },
        KeyFunction::Prefix(n) => {
            let end = v
                .char_indices()
                .nth(usize::from(n))
                .map_or(v.len(), |(i, _)| i);
            hash_str(&v[..end])
        }
        KeyFunction::Year => match &col.derived {
            Derived::Dates { dates } => hash_str(&dates[id as usize].year?.to_string()),
            _ => hash_str(v.get(..4)?),
        },
        KeyFunction::Digits => match &col.derived {
            Derived::Phones { tail } if tail[id as usize].len() >= 6 => {
                hash_str(&tail[id as usize])
            }
            _ => return None,
        },
        KeyFunction::Street => {
            let number = v
                .split_whitespace()
                .find(|t| t.bytes().all(|b| b.is_ascii_digit()))?;
            let word = v
                .split_whitespace()
                .find(|t| t.len() >= 3 && t.bytes().all(|b| b.is_ascii_alphabetic()))?;
            hash_bytes(hash_str(number), word.as_bytes())
        }
        KeyFunction::Skeleton => {
            let skeleton = spirit_text::skeleton::name_skeleton(v);
            if skeleton.len() < crate::comparison::MIN_SKELETON {
                return None;
            }
            hash_str(&skeleton)
        }
        KeyFunction::MetaphoneSet | KeyFunction::Lsh(_) => return None,
        KeyFunction::Segment(i) => match &col.derived {
            Derived::ImageHashes { hashes } => {
                let seg = crate::evidence::image_hash_segment(hashes[id as usize].0, i);
                hash_bytes(hash_str("segment"), &[i, seg])
            }
            _ => return None,
        },
        KeyFunction::MirrorSegment(i) => match &col.derived {
            Derived::ImageHashes { hashes } => {
                let (h, m) = hashes[id as usize];
                let (a, b) = (
                    crate::evidence::image_hash_segment(h, i),
                    crate::evidence::image_hash_segment(m?, i),
                );
                hash_bytes(hash_str("mirror_segment"), &[i, a.min(b), a.max(b)])
            }
            _ => return None,
        },
        KeyFunction::MinHash(i) => match &col.derived {
            Derived::AudioFingerprints { prints, minhash } if !prints[id as usize].is_empty() => {
                hash_bytes(
                    hash_str("minhash"),
                    &minhash[id as usize][usize::from(i)].to_le_bytes(),
                )
            }
            _ => return None,
        },
    };
    Some(h)
}

fn part_keys(table: &RecordTable, part: KeyPart, max_block_size: usize) -> Vec<Option<u64>> {
    let n = table.len as usize;
    match part.kind {
        Some(kind) => {
            let Some(col) = table.column(kind) else {
                return vec![None; n];
            };
            let per_value: Vec<Option<u64>> = (0..col.values.len() as u32)
                .map(|id| value_key(col, part.function, id))
                .collect();
            if col.more.is_some() {
                return shared_value_keys(col, &per_value, max_block_size);
            }
            col.ids
                .iter()
                .map(|&id| {
                    if id == NULL_ID {
                        None
                    } else {
                        per_value[id as usize]
                    }
                })
                .collect()
        }
        None => (0..n as u32).map(|r| part_key(table, part, r)).collect(),
    }
}

/// The keys of a part over a column some of whose records hold several values, one
/// per record: records whose values share a key get the same one. Keys that records
/// holding several values join are grouped (union–find; a group's key is its smallest),
/// and a record takes its group's key. A key held by more than `max_block_size` records
/// joins no group (its block is over the cap anyway), so one common value does not pull
/// unrelated records into one block.
fn shared_value_keys(
    col: &Column,
    per_value: &[Option<u64>],
    max_block_size: usize,
) -> Vec<Option<u64>> {
    // Each record's distinct keys, computed once.
    let keys: Vec<Vec<u64>> = (0..col.ids.len() as u32)
        .map(|r| {
            let mut keys: Vec<u64> = col
                .all_ids(r)
                .filter_map(|id| per_value[id as usize])
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        })
        .collect();
    let mut held: FxHashMap<u64, u32> = FxHashMap::default();
    for k in keys.iter().flatten() {
        *held.entry(*k).or_default() += 1;
    }
    let mut parent: FxHashMap<u64, u64> = FxHashMap::default();
    fn root(parent: &mut FxHashMap<u64, u64>, k: u64) -> u64 {
        let mut r = k;
        while let Some(&p) = parent.get(&r)
            && p != r
        {
            r = p;
        }
        // Path compression: every key on the way points at the root.
        let mut k = k;
        while let Some(&p) = parent.get(&k)
            && p != r
        {
            parent.insert(k, r);
            k = p;
        }
        r
    }
    let usable = |k: &&u64| held[*k] as usize <= max_block_size;
    for record in keys.iter().filter(|k| k.len() > 1) {
        let usable: Vec<u64> = record.iter().filter(usable).copied().collect();
        for pair in usable.windows(2) {
            let (x, y) = (root(&mut parent, pair[0]), root(&mut parent, pair[1]));
            if x != y {
                parent.insert(x.max(y), x.min(y));
            }
        }
    }
    keys.iter()
        .enumerate()
        .map(|(r, record)| {
            let first = col.id(r as u32).and_then(|id| per_value[id as usize]);
            let usable = record.iter().find(usable).copied();
            usable.or(first).map(|k| root(&mut parent, k))
        })
        .collect()
}

/// Every key of one part for record `r`: one per value of a record holding several.
fn part_keys_of(table: &RecordTable, part: KeyPart, r: u32) -> Vec<u64> {
    match part.kind {
        Some(kind) => {
            let Some(col) = table.column(kind) else {
                return Vec::new();
            };
            let mut keys: Vec<u64> = col
                .all_ids(r)
                .filter_map(|id| value_key(col, part.function, id))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        }
        None => part_key(table, part, r).into_iter().collect(),
    }
}

/// The key of one part for record `r`.
fn part_key(table: &RecordTable, part: KeyPart, r: u32) -> Option<u64> {
    match part.kind {
        Some(kind) => {
            let col = table.column(kind)?;
            value_key(col, part.function, col.id(r)?)
        }
        // A record signature's band comes from the signature its callers compute once.
        None if matches!(part.function, KeyFunction::Lsh(_)) => None,
        None => {
            let code = |kind| {
                let c = table.column(kind)?;
                value_key(c, KeyFunction::Metaphone, c.id(r)?)
            };
            let (a, b) = (code(AttrKind::GivenName)?, code(AttrKind::Surname)?);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            Some(hash_bytes(lo, &hi.to_le_bytes()))
        }
    }
}

#[cfg(test)]
mod tests;
