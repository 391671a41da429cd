//! Near-duplicate search over many 64-bit hashes by Hamming distance: multi-index
//! hashing (Norouzi, Punjani & Fleet, "Fast search in Hamming space with multi-index
//! hashing", CVPR 2012).
//!
//! The 64 bits are cut into `m` contiguous chunks of at most 16 bits. By the pigeonhole
//! principle, two hashes within distance `r` differ in at most `⌊r/m⌋` bits in at least
//! one chunk. Each chunk has a table from chunk value to the ids holding it (counting
//! sort into one offsets array, one ids array and a copy of the hashes in bucket
//! order: 12 bytes per hash per chunk, no pointers, buckets read sequentially). A query enumerates, per chunk, every value within `⌊r/m⌋` bits of its own
//! chunk, reads those buckets, and checks each candidate's full distance. A candidate met
//! in several chunks is counted in the first only (the earlier chunks' distances are
//! checked), so no set is needed to de-duplicate.
//!
//! With `m = r + 1` a chunk must match exactly (one probe per chunk). For the radii
//! perceptual hashes need (8–16 bits) fewer, wider chunks are cheaper: [`HammingIndex::new`]
//! picks `m` by a cost model (probes × expected bucket size). The index is built once
//! from a slice; adding hashes means building again (a million hashes build in well
//! under a second).

use crate::hash::hamming;

/// Largest chunk width: 2¹⁶ + 1 offsets per chunk.
const MAX_CHUNK_BITS: u32 = 16;

struct Chunk {
    shift: u32,
    bits: u32,
    /// `ids[offsets[k]..offsets[k + 1]]` hold chunk value `k`.
    offsets: Vec<u32>,
    ids: Vec<u32>,
    /// The full hashes in the same order as `ids`: a bucket is read sequentially
    /// instead of one cache miss per candidate.
    hashes: Vec<u64>,
}

impl Chunk {
    #[inline]
    fn key(&self, h: u64) -> u32 {
        ((h >> self.shift) & ((1u64 << self.bits) - 1)) as u32
    }
}

/// A static index of 64-bit hashes answering "all ids within distance r of q".
pub struct HammingIndex {
    hashes: Vec<u64>,
    chunks: Vec<Chunk>,
}

/// One hit: the id (position in the slice the index was built from) and its distance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub distance: u32,
    pub id: u32,
}

fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

/// Number of values within `s` bits of a `bits`-bit value.
fn ball(bits: u32, s: u32) -> f64 {
    (0..=s.min(bits)).map(|k| binomial(bits, k)).sum()
}

/// Chunk widths for `m` chunks over 64 bits, as equal as possible.
fn widths(m: u32) -> Vec<u32> {
    (0..m).map(|i| 64 / m + u32::from(i < 64 % m)).collect()
}

impl HammingIndex {
    /// Builds an index tuned for queries of radius `radius` over `hashes` (at most
    /// `u32::MAX` of them); the id of a hash is its position in `hashes`.
    pub fn new(hashes: Vec<u64>, radius: u32) -> Self {
        let m = Self::best_chunk_count(hashes.len(), radius);
        Self::with_chunks(hashes, m)
    }

    /// The chunk count minimising the expected work of a query at `radius` over `n`
    /// uniformly spread hashes: per chunk, probes × (1 + expected bucket size).
    pub fn best_chunk_count(n: usize, radius: u32) -> u32 {
        (4..=64)
            .map(|m| {
                let cost: f64 = widths(m)
                    .iter()
                    .map(|&w| ball(w, radius / m) * (1.0 + n as f64 / 2f64.powi(w as i32)))
                    .sum();
                (m, cost)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(4, |(m, _)| m)
    }

    /// Builds with an explicit number of chunks (4 to 64).
    pub fn with_chunks(hashes: Vec<u64>, m: u32) -> Self {
        assert!((4..=64).contains(&m), "chunk count must be 4..=64");
        assert!(
            u32::try_from(hashes.len()).is_ok(),
            "at most u32::MAX hashes"
        );
        let mut shift = 64;
        let chunks = widths(m)
            .into_iter()
            .map(|bits| {
                debug_assert!(bits <= MAX_CHUNK_BITS);
                shift -= bits;
                let mut chunk = Chunk {
                    shift,
                    bits,
                    offsets: vec![0; (1usize << bits) + 1],
                    ids: vec![0; hashes.len()],
                    hashes: vec![0; hashes.len()],
                };
                for &h in &hashes {
                    let k = chunk.key(h) as usize;
                    chunk.offsets[k + 1] += 1;
                }
                for k in 1..chunk.offsets.len() {
                    chunk.offsets[k] += chunk.offsets[k - 1];
                }
                let mut next = chunk.offsets.clone();
                for (id, &h) in hashes.iter().enumerate() {
                    let k = chunk.key(h) as usize;
                    chunk.ids[next[k] as usize] = id as u32;
                    chunk.hashes[next[k] as usize] = h;
                    next[k] += 1;
                }
                chunk
            })
            .collect();
        HammingIndex { hashes, chunks }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The hash stored under `id`.
    pub fn get(&self, id: u32) -> Option<u64> {
        self.hashes.get(id as usize).copied()
    }

    /// Every id within distance `radius` of `query`, nearest first (ties by id).
    pub fn search(&self, query: u64, radius: u32) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.search_into(query, radius, &mut |id, distance| {
            hits.push(Hit { distance, id })
        });
        hits.sort_unstable();
        hits
    }

    /// Every id within `radius` of *any* of `queries` (e.g. a hash and its mirror), with
    /// the smallest distance, nearest first.
    pub fn search_any(&self, queries: &[u64], radius: u32) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        for &q in queries {
            self.search_into(q, radius, &mut |id, distance| {
                hits.push(Hit { distance, id })
            });
        }
        hits.sort_unstable_by_key(|h| (h.id, h.distance));
        hits.dedup_by_key(|h| h.id);
        hits.sort_unstable();
        hits
    }

    /// Calls `found(id, distance)` once for every id within `radius` of `query`.
    pub fn search_into(&self, query: u64, radius: u32, found: &mut impl FnMut(u32, u32)) {
        let s = radius / self.chunks.len() as u32;
        let mut probes: Vec<u32> = Vec::new();
        for (i, chunk) in self.chunks.iter().enumerate() {
            let key = chunk.key(query);
            // Probing in ascending order reads the tables front to back, which the
            // hardware prefetcher follows better than the enumeration order.
            probes.clear();
            for_each_within(key, chunk.bits, s, &mut |probe| probes.push(probe));
            probes.sort_unstable();
            for &probe in &probes {
                let lo = chunk.offsets[probe as usize] as usize;
                let hi = chunk.offsets[probe as usize + 1] as usize;
                // Only the hashes are streamed; an id is read on a hit.
                for (k, &h) in chunk.hashes[lo..hi].iter().enumerate() {
                    let d = hamming(h, query);
                    if d > radius {
                        continue;
                    }
                    // Met in an earlier chunk already?
                    let earlier = self.chunks[..i]
                        .iter()
                        .any(|c| (c.key(h) ^ c.key(query)).count_ones() <= s);
                    if !earlier {
                        found(chunk.ids[lo + k], d);
                    }
                }
            }
        }
    }
}

/// Calls `f` for every `bits`-bit value within `s` bits of `key` (each once).
fn for_each_within(key: u32, bits: u32, s: u32, f: &mut impl FnMut(u32)) {
    fn rec(v: u32, from: u32, bits: u32, left: u32, f: &mut impl FnMut(u32)) {
        f(v);
        if left == 0 {
            return;
        }
        for b in from..bits {
            rec(v ^ (1 << b), b + 1, bits, left - 1, f);
        }
    }
    rec(key, 0, bits, s.min(bits), f);
}

/// Linear scan, the reference for tests and small sets.
pub fn brute_force(hashes: &[u64], query: u64, radius: u32) -> Vec<Hit> {
    let mut hits: Vec<Hit> = hashes
        .iter()
        .enumerate()
        .filter_map(|(id, &h)| {
            let d = hamming(h, query);
            (d <= radius).then_some(Hit {
                distance: d,
                id: id as u32,
            })
        })
        .collect();
    hits.sort_unstable();
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumeration_counts_match_the_ball() {
        for (bits, s) in [(16, 0), (16, 1), (16, 2), (11, 3), (4, 6)] {
            let mut seen = std::collections::HashSet::new();
            for_each_within(0b1010, bits, s, &mut |v| {
                assert!(v < (1 << bits));
                assert!((v ^ 0b1010).count_ones() <= s);
                assert!(seen.insert(v), "value enumerated twice");
            });
            assert_eq!(seen.len() as f64, ball(bits, s));
        }
    }

    #[test]
    fn widths_cover_64_bits() {
        for m in 4..=64 {
            let w = widths(m);
            assert_eq!(w.iter().sum::<u32>(), 64);
            assert!(w.iter().all(|&b| (1..=MAX_CHUNK_BITS).contains(&b)));
        }
    }

    #[test]
    fn cost_model_prefers_exact_chunks_for_tiny_radii_on_big_sets() {
        // r = 3 over 1M: 4 chunks with exact match (s = 0) beats anything with s ≥ 1.
        assert_eq!(HammingIndex::best_chunk_count(1_000_000, 3), 4);
        // Larger radii never choose a chunk count that makes buckets empty-ish and huge in number.
        let m = HammingIndex::best_chunk_count(1_000_000, 12);
        assert!((4..=13).contains(&m), "m = {m}");
    }
}
