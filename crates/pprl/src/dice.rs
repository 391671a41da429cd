//! Dice similarity of Bloom filters: `2·|a ∧ b| / (|a| + |b|)`, computed with popcounts
//! over 64-bit words, and a batch kernel that scans one filter against a contiguous run of
//! filters.
//!
//! Filters live in a [`FilterSet`]: one contiguous `Vec<u64>` (`words` words per filter)
//! with each filter's popcount stored beside it, so a comparison costs one AND and one
//! popcount per word. The kernels are compiled three times — portable, with POPCNT, and
//! with AVX-512 VPOPCNTQ — and the best one the CPU supports is chosen at run time, so no
//! `-C target-cpu` flag is needed (the default x86-64 target has no POPCNT instruction and
//! is 2–3 times slower without this dispatch). Fixed lengths of 1024 and 2048 bits get
//! fully unrolled kernels.
//!
//! ```
//! use spirit_pprl::dice::{dice, FilterSet};
//! let a = [0b1111u64, 0];
//! let b = [0b0111u64, 0];
//! assert!((dice(&a, &b) - 6.0 / 7.0).abs() < 1e-12);
//! let mut set = FilterSet::new(128).unwrap();
//! set.push(&b).unwrap();
//! set.push(&[0, 1]).unwrap();
//! let mut hits = Vec::new();
//! set.scan(&a, 4, 0..set.len(), 0.8, &mut hits);
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].0, 0);
//! ```

use std::ops::Range;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{PprlError, Result};

/// Number of set bits.
#[inline]
pub fn popcount(a: &[u64]) -> u32 {
    a.iter().map(|w| w.count_ones()).sum()
}

/// Number of bits set in both (over the common prefix of the two slices).
#[inline]
pub fn intersection(a: &[u64], b: &[u64]) -> u32 {
    match level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` returned `Avx512` only after `is_x86_feature_detected!`
        // confirmed avx512f, avx512vpopcntdq and popcnt on this CPU.
        Level::Avx512 => unsafe { x86::and_count_avx512(a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, popcnt was detected.
        Level::Popcnt => unsafe { x86::and_count_popcnt(a, b) },
        _ => and_count(a, b),
    }
}

/// Dice coefficient from an intersection count and the two popcounts; 0 when both are
/// empty.
#[inline]
pub fn dice_from_counts(intersection: u32, count_a: u32, count_b: u32) -> f64 {
    let total = u64::from(count_a) + u64::from(count_b);
    if total == 0 {
        0.0
    } else {
        (2 * u64::from(intersection)) as f64 / total as f64
    }
}

/// Dice coefficient of two filters (over the common prefix when lengths differ); 0 when
/// both are empty. Symmetric, in [0, 1], and 1 for a non-empty filter with itself.
#[inline]
pub fn dice(a: &[u64], b: &[u64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    dice_from_counts(intersection(a, b), popcount(a), popcount(b))
}

/// True when `2·inter ≥ threshold·(ca + cb)`, i.e. Dice ≥ threshold (both empty: false).
#[inline(always)]
fn passes(inter: u32, ca: u32, cb: u32, threshold: f64) -> bool {
    let total = ca + cb;
    total > 0 && f64::from(2 * inter) >= threshold * f64::from(total)
}

/// The largest Dice two filters with these popcounts can reach: `2·min / (ca + cb)`.
/// Filters whose popcounts are too far apart can be skipped without comparing them.
#[inline]
pub fn dice_upper_bound(count_a: u32, count_b: u32) -> f64 {
    dice_from_counts(count_a.min(count_b), count_a, count_b)
}

/// Filters of one length, stored contiguously with their popcounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterSet {
    words: usize,
    data: Vec<u64>,
    counts: Vec<u32>,
}

impl FilterSet {
    /// An empty set of filters of `bits` bits (a positive multiple of 64).
    pub fn new(bits: usize) -> Result<FilterSet> {
        if bits == 0 || !bits.is_multiple_of(64) {
            return Err(PprlError::Config {
                field: "bits",
                reason: format!("filter length {bits} must be a positive multiple of 64"),
            });
        }
        Ok(FilterSet {
            words: bits / 64,
            data: Vec::new(),
            counts: Vec::new(),
        })
    }

    /// A set from `data` holding whole filters of `bits` bits back to back.
    pub fn from_words(bits: usize, data: Vec<u64>) -> Result<FilterSet> {
        let mut s = FilterSet::new(bits)?;
        if !data.len().is_multiple_of(s.words) {
            return Err(PprlError::LengthMismatch {
                what: "words (a whole number of filters)",
                expected: data.len() / s.words * s.words,
                got: data.len(),
            });
        }
        s.counts = data.chunks_exact(s.words).map(popcount).collect();
        s.data = data;
        Ok(s)
    }

    /// Appends a filter of [`FilterSet::words`] words.
    pub fn push(&mut self, filter: &[u64]) -> Result<()> {
        if filter.len() != self.words {
            return Err(PprlError::LengthMismatch {
                what: "words in a filter",
                expected: self.words,
                got: filter.len(),
            });
        }
        self.data.extend_from_slice(filter);
        self.counts.push(popcount(filter));
        Ok(())
    }

    /// Appends a filter given in the text form of [`filter_to_base64`].
    pub fn push_base64(&mut self, text: &str) -> Result<()> {
        let f = filter_from_base64(text, self.words).map_err(|reason| PprlError::FilterText {
            index: self.len(),
            reason,
        })?;
        self.push(&f)
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when there are no filters.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Filter length in bits.
    pub fn bits(&self) -> usize {
        self.words * 64
    }

    /// Filter length in words.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Filter `i` (panics when `i >= len()`, like slice indexing).
    #[inline]
    pub fn get(&self, i: usize) -> &[u64] {
        &self.data[i * self.words..(i + 1) * self.words]
    }

    /// Popcount of filter `i`.
    #[inline]
    pub fn count(&self, i: usize) -> u32 {
        self.counts[i]
    }

    /// All popcounts.
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// All words, filter after filter.
    pub fn data(&self) -> &[u64] {
        &self.data
    }

    /// Dice of filters `i` of `self` and `j` of `other` (same length).
    #[inline]
    pub fn dice_with(&self, i: usize, other: &FilterSet, j: usize) -> f64 {
        dice_from_counts(
            intersection(self.get(i), other.get(j)),
            self.count(i),
            other.count(j),
        )
    }

    /// A new set of the filters at `indices`, in that order.
    pub fn select(&self, indices: &[u32]) -> FilterSet {
        let mut data = Vec::with_capacity(indices.len() * self.words);
        let mut counts = Vec::with_capacity(indices.len());
        for &i in indices {
            data.extend_from_slice(self.get(i as usize));
            counts.push(self.counts[i as usize]);
        }
        FilterSet {
            words: self.words,
            data,
            counts,
        }
    }

    /// The batch kernel: compares `query` (with popcount `query_count`) against filters
    /// `range` of this set and appends `(index, dice)` for each with Dice ≥ `threshold`.
    /// A query of the wrong length, or a range past the end, is clipped, never a panic.
    pub fn scan(
        &self,
        query: &[u64],
        query_count: u32,
        range: Range<usize>,
        threshold: f64,
        out: &mut Vec<(u32, f64)>,
    ) {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        if query.len() != self.words {
            return;
        }
        let data = &self.data[start * self.words..end * self.words];
        let counts = &self.counts[start..end];
        let base = start as u32;
        let args = ScanArgs {
            query,
            query_count,
            data,
            counts,
            base,
            threshold,
        };
        match level() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: avx512f, avx512vpopcntdq and popcnt were detected at run time.
            Level::Avx512 => unsafe { x86::scan_avx512(&args, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: popcnt was detected at run time.
            Level::Popcnt => unsafe { x86::scan_popcnt(&args, out) },
            _ => scan_any(&args, out),
        }
    }
}

/// The text form of a filter: standard base64 of its words in little-endian byte order
/// (bit `i` is bit `i % 8` of byte `i / 8`).
pub fn filter_to_base64(filter: &[u64]) -> String {
    let mut bytes = Vec::with_capacity(filter.len() * 8);
    for w in filter {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    STANDARD.encode(bytes)
}

/// Reads the text form of a filter of `words` words.
pub fn filter_from_base64(text: &str, words: usize) -> std::result::Result<Vec<u64>, String> {
    let bytes = STANDARD
        .decode(text.trim().as_bytes())
        .map_err(|e| format!("not base64: {e}"))?;
    if bytes.len() != words * 8 {
        return Err(format!(
            "{} bytes where a filter of {} bits has {}",
            bytes.len(),
            words * 64,
            words * 8
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

/// The instruction-set level the kernels run at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Plain Rust; `count_ones` without a POPCNT instruction on baseline x86-64.
    Portable,
    /// x86-64 with POPCNT.
    Popcnt,
    /// x86-64 with AVX-512F and VPOPCNTQ.
    Avx512,
}

/// The kernel level chosen for this CPU (detected once).
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vpopcntdq")
            && is_x86_feature_detected!("popcnt")
        {
            return Level::Avx512;
        }
        if is_x86_feature_detected!("popcnt") {
            return Level::Popcnt;
        }
    }
    Level::Portable
}

pub(crate) struct ScanArgs<'a> {
    query: &'a [u64],
    query_count: u32,
    data: &'a [u64],
    counts: &'a [u32],
    base: u32,
    threshold: f64,
}

#[inline(always)]
fn and_count(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

#[inline(always)]
fn scan_fixed<const W: usize>(args: &ScanArgs<'_>, out: &mut Vec<(u32, f64)>) {
    let Ok(q) = <&[u64; W]>::try_from(args.query) else {
        return;
    };
    let (filters, _) = args.data.as_chunks::<W>();
    for (i, (f, &c)) in filters.iter().zip(args.counts).enumerate() {
        let mut inter = 0u32;
        for k in 0..W {
            inter += (q[k] & f[k]).count_ones();
        }
        if passes(inter, args.query_count, c, args.threshold) {
            out.push((
                args.base + i as u32,
                dice_from_counts(inter, args.query_count, c),
            ));
        }
    }
}

#[inline(always)]
fn scan_any(args: &ScanArgs<'_>, out: &mut Vec<(u32, f64)>) {
    match args.query.len() {
        16 => scan_fixed::<16>(args, out),
        32 => scan_fixed::<32>(args, out),
        w => {
            for (i, (f, &c)) in args.data.chunks_exact(w).zip(args.counts).enumerate() {
                let inter = and_count(args.query, f);
                if passes(inter, args.query_count, c, args.threshold) {
                    out.push((
                        args.base + i as u32,
                        dice_from_counts(inter, args.query_count, c),
                    ));
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_loadu_si512, _mm512_popcnt_epi64,
        _mm512_reduce_add_epi64, _mm512_setzero_si512,
    };

    use super::{ScanArgs, and_count, dice_from_counts, passes, scan_any};

    #[target_feature(enable = "popcnt")]
    pub(super) fn scan_popcnt(args: &ScanArgs<'_>, out: &mut Vec<(u32, f64)>) {
        scan_any(args, out);
    }

    #[target_feature(enable = "popcnt")]
    pub(super) fn and_count_popcnt(a: &[u64], b: &[u64]) -> u32 {
        and_count(a, b)
    }

    /// Popcount of `a & b` over `LANES` 512-bit lanes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn lanes_and_count<const LANES: usize>(q: &[__m512i; LANES], f: &[u64]) -> u32 {
        debug_assert!(f.len() >= LANES * 8);
        let mut acc = _mm512_setzero_si512();
        for (l, ql) in q.iter().enumerate() {
            // SAFETY: `f` holds at least LANES * 8 words (checked by the callers), so the
            // unaligned 64-byte load at word l * 8 stays inside it.
            let v = unsafe { _mm512_loadu_si512(f.as_ptr().add(l * 8).cast()) };
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(v, *ql)));
        }
        _mm512_reduce_add_epi64(acc) as u32
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn scan_lanes<const LANES: usize>(args: &ScanArgs<'_>, out: &mut Vec<(u32, f64)>) {
        let w = LANES * 8;
        if args.query.len() != w {
            return;
        }
        // SAFETY: the query has exactly LANES * 8 words.
        let q: [__m512i; LANES] = core::array::from_fn(|l| unsafe {
            _mm512_loadu_si512(args.query.as_ptr().add(l * 8).cast())
        });
        for (i, (f, &c)) in args.data.chunks_exact(w).zip(args.counts).enumerate() {
            let inter = lanes_and_count::<LANES>(&q, f);
            if passes(inter, args.query_count, c, args.threshold) {
                out.push((
                    args.base + i as u32,
                    dice_from_counts(inter, args.query_count, c),
                ));
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    pub(super) fn scan_avx512(args: &ScanArgs<'_>, out: &mut Vec<(u32, f64)>) {
        match args.query.len() {
            8 => scan_lanes::<1>(args, out),
            16 => scan_lanes::<2>(args, out),
            24 => scan_lanes::<3>(args, out),
            32 => scan_lanes::<4>(args, out),
            64 => scan_lanes::<8>(args, out),
            _ => scan_any(args, out),
        }
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    pub(super) fn and_count_avx512(a: &[u64], b: &[u64]) -> u32 {
        let n = a.len().min(b.len());
        let full = n / 8 * 8;
        let mut acc = _mm512_setzero_si512();
        let mut i = 0;
        while i < full {
            // SAFETY: i + 8 <= full <= len of both slices.
            let (x, y) = unsafe {
                (
                    _mm512_loadu_si512(a.as_ptr().add(i).cast()),
                    _mm512_loadu_si512(b.as_ptr().add(i).cast()),
                )
            };
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
            i += 8;
        }
        _mm512_reduce_add_epi64(acc) as u32 + and_count(&a[full..n], &b[full..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn filter(words: usize) -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(any::<u64>(), words)
    }

    fn pair() -> impl Strategy<Value = (Vec<u64>, Vec<u64>)> {
        prop_oneof![Just(1usize), Just(3), Just(16), Just(32)]
            .prop_flat_map(|w| (filter(w), filter(w)))
    }

    proptest! {
        #[test]
        fn dice_is_symmetric_and_in_range((a, b) in pair()) {
            let d = dice(&a, &b);
            prop_assert!((0.0..=1.0).contains(&d));
            prop_assert_eq!(d, dice(&b, &a));
        }

        #[test]
        fn dice_of_a_filter_with_itself_is_one(a in filter(16)) {
            let expected = if popcount(&a) == 0 { 0.0 } else { 1.0 };
            prop_assert_eq!(dice(&a, &a), expected);
        }

        #[test]
        fn kernel_agrees_with_scalar_dice((a, b) in pair(), t in 0.0f64..1.0) {
            let words = a.len();
            let mut set = FilterSet::new(words * 64).unwrap();
            set.push(&b).unwrap();
            set.push(&a).unwrap();
            let mut hits = Vec::new();
            set.scan(&a, popcount(&a), 0..2, t, &mut hits);
            let want: Vec<u32> = [(0u32, &b), (1, &a)]
                .into_iter()
                .filter(|(_, f)| {
                    let total = popcount(&a) + popcount(f);
                    total > 0 && 2.0 * f64::from(and_count(&a, f)) >= t * f64::from(total)
                })
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), want);
            for (i, d) in hits {
                prop_assert_eq!(d, dice(&a, set.get(i as usize)));
            }
        }

        #[test]
        fn upper_bound_holds((a, b) in pair()) {
            prop_assert!(dice(&a, &b) <= dice_upper_bound(popcount(&a), popcount(&b)) + 1e-12);
        }

        #[test]
        fn base64_round_trips(a in filter(16)) {
            prop_assert_eq!(filter_from_base64(&filter_to_base64(&a), 16).unwrap(), a);
        }
    }

    #[test]
    fn portable_kernel_agrees_with_the_dispatched_one() {
        let mut state = 7u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for words in [1usize, 8, 16, 24, 32, 5] {
            let mut set = FilterSet::new(words * 64).unwrap();
            for _ in 0..50 {
                let f: Vec<u64> = (0..words).map(|_| next()).collect();
                set.push(&f).unwrap();
            }
            let q = set.get(3).to_vec();
            let qc = popcount(&q);
            let mut dispatched = Vec::new();
            set.scan(&q, qc, 0..set.len(), 0.4, &mut dispatched);
            let mut portable = Vec::new();
            let args = ScanArgs {
                query: &q,
                query_count: qc,
                data: set.data(),
                counts: set.counts(),
                base: 0,
                threshold: 0.4,
            };
            scan_any(&args, &mut portable);
            assert_eq!(dispatched, portable, "{words} words");
            assert!(dispatched.iter().any(|&(i, _)| i == 3));
        }
    }

    #[test]
    fn every_level_gives_the_same_counts() {
        let a: Vec<u64> = (0..16u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let b: Vec<u64> = (0..16u64)
            .map(|i| (i + 3).wrapping_mul(0xc2b2_ae3d_27d4_eb4f))
            .collect();
        assert_eq!(intersection(&a, &b), and_count(&a, &b));
        assert_eq!(dice(&[0, 0], &[0, 0]), 0.0);
    }

    #[test]
    fn bad_inputs_are_errors_or_clipped() {
        assert!(FilterSet::new(100).is_err());
        assert!(FilterSet::from_words(128, vec![0; 3]).is_err());
        let mut s = FilterSet::new(128).unwrap();
        assert!(s.push(&[1]).is_err());
        assert!(matches!(
            s.push_base64("not base64!"),
            Err(PprlError::FilterText { index: 0, .. })
        ));
        assert!(s.push_base64(&filter_to_base64(&[1])).is_err());
        s.push(&[1, 2]).unwrap();
        let mut out = Vec::new();
        s.scan(&[1, 2], 2, 0..99, 0.5, &mut out);
        s.scan(&[1], 1, 0..1, 0.5, &mut out);
        #[allow(clippy::reversed_empty_ranges)]
        s.scan(&[1, 2], 2, 5..3, 0.5, &mut out);
        assert_eq!(out, vec![(0, 1.0)]);
    }
}
