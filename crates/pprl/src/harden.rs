//! Hardening: transformations of Bloom-filter encodings that defeat the published
//! attacks, and what each costs in linkage quality.
//!
//! Plain Bloom filters leak: a frequent q-gram sets the same bits in every record that
//! has it, so the frequencies of bit positions, of co-occurring position sets and of whole
//! filters mirror the frequencies of q-grams and values in any similar plain-text sample.
//! Frequency attacks (Kuzu et al. 2011), pattern-mining attacks (Christen et al. 2017,
//! 2018) and graph attacks (Vidanage et al. 2020) exploit exactly that; the `attack` module
//! implements the first two so users can test their own encodings.
//!
//! The steps, in the order they are applied to each segment (the CLK, or each field's
//! filter):
//!
//! 1. [`salt`](HardeningConfig::salt) — a stable attribute (e.g. the year of birth) is
//!    mixed into every feature hash, so the same q-gram sets different bits for records
//!    with different salt values: value and q-gram frequencies split per salt value, and
//!    patterns do not carry across salt groups. *Cost*: a pair whose salt values differ
//!    (a typo in the year, a missing date) shares no bits and is lost.
//! 2. [`xor_fold`](HardeningConfig::xor_fold) — the two halves are XOR-ed (L → L/2 bits):
//!    one output bit mixes two input bits. *Cost*: more collisions, a denser filter, less
//!    separation between matches and non-matches.
//! 3. [`balance`](HardeningConfig::balance) — the filter is concatenated with its
//!    complement and the 2L bits permuted by key: every filter has exactly L ones, so the
//!    weight says nothing about value length. *Cost*: none in ranking (Dice of balanced
//!    filters is a monotone map of the Hamming distance), twice the length.
//! 4. [`diffusion_taps`](HardeningConfig::diffusion_taps) = t with
//!    [`expansion`](HardeningConfig::expansion) = e — the Bloom filter is built e times
//!    longer than the encoding (so it is sparse), and each output bit is the XOR of t input
//!    bits chosen by key (the linear diffusion layer of Armknecht, Heng & Schnell 2023). No
//!    output position is set "because of" one q-gram, so the columns of co-occurring
//!    positions that pattern mining needs disappear; output density is about 0.43. *Cost*:
//!    a share δ of differing input bits changes each output bit with probability
//!    (1 − (1 − 2δ)^t)/2, so small differences are amplified about t-fold; the sparse input
//!    (small δ for near matches) is what keeps near matches close. Dice values shrink
//!    towards the output density (random pairs score about 0.43), so thresholds differ
//!    from plain CLKs (`link::choose_threshold` takes care of it).
//! 5. [`blip`](HardeningConfig::blip) = f — every output bit is flipped with probability
//!    f (randomised response, BLIP of Schnell & Borgs 2016), from a stream keyed by the
//!    secret and the record id, so the same record always gets the same noise. Bit-level
//!    ε-differential privacy with ε = ln((1 − f)/f); breaks exact repetition of filters.
//!    *Cost*: about 2f(1 − f)·L more differing bits in every pair.
//!
//! Measured on FEBRL4 (5,000 × 5,000, greedy 1:1, record-level CLK of the default
//! schema) and with the attack of the `attack` module (field-level filters of given name,
//! surname and date of birth of 5,000 people with Zipf-distributed names; a 5,000-record
//! sample sharing half of them; share of records whose values it recovered). The
//! automatic threshold of this table is the earlier rule (a normal fit of random pairs'
//! Dice, `link::auto_threshold`'s predecessor); the rule now used by two-party
//! linkage, `link::choose_threshold`, gives 0.9976 for the default and 0.9972
//! without hardening:
//!
//! | hardening | FEBRL4 best F1 | FEBRL4 F1 at the automatic threshold | attack on field-level filters |
//! |---|---|---|---|
//! | none | 1.0000 | 0.9962 | 10.0% |
//! | balance | 1.0000 | 0.9984 (2048 bits) | 8.2% |
//! | XOR-fold | 0.9958 | 0.9781 (512 bits) | 8.2% |
//! | BLIP f = 0.02 | 1.0000 | 0.9944 | 8.4% |
//! | BLIP f = 0.05 | 1.0000 | 0.9914 | 6.4% |
//! | salt by year of birth | 0.9566 | 0.9510 | 0% |
//! | diffusion t = 3, e = 1 | 0.9735 | 0.9607 | 8.2% |
//! | diffusion t = 3, e = 4 | 1.0000 | 0.9968 | 8.5% |
//! | diffusion t = 5, e = 4 | 0.9927 | 0.9752 | 11.0% |
//! | **default**: diffusion t = 3, e = 4, BLIP 0.02 | **1.0000** | **0.9947** | 8.3% |
//! | default + balance | 0.9997 | 0.9986 (2048 bits) | – |
//! | default + salt by year of birth | – | – | 0% |
//!
//! What the last column shows: diffusion and BLIP remove the q-gram structure (the part of
//! the attack that decodes rare values), but not *value frequencies* — identical values
//! give near-identical encodings under any similarity-preserving hardening, so the most
//! frequent values of an unsalted field-level filter can always be aligned with a sample.
//! Only salting (or not encoding fields separately) removes that. The default layout, a
//! record-level CLK over several fields, gives almost every person a distinct encoding:
//! the attack recovers 0% there, hardened or not — the hardening is what protects CLKs
//! against stronger, structure-based attacks (a CLK of given name and surname alone still
//! repeats for frequent name pairs: 1.8% of records recovered, hardened or not).
//!
//! The default ([`HardeningConfig::default`]) is therefore diffusion (t = 3, e = 4) plus
//! BLIP f = 0.02 without salting: it keeps FEBRL4 within the quality bar, and salting is
//! left to the user because its cost depends entirely on how reliable the salt attribute
//! is (FEBRL4's corrupted dates cost 8% recall).

use crate::keys::{DerivedKey, Purpose, Secret};
/// The hardening settings are part of the schema and defined there.
pub use crate::schema::{DEFAULT_BLIP, DEFAULT_DIFFUSION_TAPS, DEFAULT_EXPANSION, HardeningConfig};

/// A deterministic keyed stream of pseudo-random numbers (BLAKE3 in extendable-output
/// mode): the same key and input always give the same stream.
pub(crate) struct KeyedStream {
    reader: blake3::OutputReader,
    buf: [u8; 64],
    pos: usize,
}

impl KeyedStream {
    pub(crate) fn new(key: &DerivedKey, input: &[u8]) -> KeyedStream {
        let mut h = blake3::Hasher::new_keyed(key.as_bytes());
        h.update(input);
        KeyedStream {
            reader: h.finalize_xof(),
            buf: [0; 64],
            pos: 64,
        }
    }

    #[inline]
    pub(crate) fn next_u32(&mut self) -> u32 {
        if self.pos + 4 > self.buf.len() {
            self.reader.fill(&mut self.buf);
            self.pos = 0;
        }
        let b = &self.buf[self.pos..self.pos + 4];
        self.pos += 4;
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// A number below `n` (> 0); the bias of the multiply-shift reduction is below
    /// n / 2^32, negligible for the sizes used here.
    #[inline]
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }

    /// Fills `out` with raw stream bytes.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        // Use what is buffered first, then read straight from the stream.
        let take = out.len().min(self.buf.len() - self.pos);
        out[..take].copy_from_slice(&self.buf[self.pos..self.pos + take]);
        self.pos += take;
        if take < out.len() {
            self.reader.fill(&mut out[take..]);
        }
    }
}

/// The keyed tables that harden one segment.
#[derive(Clone, Debug)]
pub(crate) struct SegmentHardener {
    /// Bits before hardening.
    pub raw_bits: u32,
    /// Bits after hardening.
    pub out_bits: u32,
    fold: bool,
    /// Balance permutation of 2m positions: input bit i set → position perm[i];
    /// clear → position perm[m + i].
    balance: Option<Vec<u32>>,
    taps: u32,
    /// `taps` input positions per output bit.
    diffusion: Vec<u32>,
}

impl SegmentHardener {
    /// The hardener of segment number `segment` whose encoding is `length` bits before
    /// folding and balancing.
    pub(crate) fn new(
        length: u32,
        cfg: &HardeningConfig,
        secret: &Secret,
        segment: usize,
    ) -> SegmentHardener {
        let raw_bits = cfg.bloom_bits(length);
        let out_bits = cfg.output_bits(length);
        let mut m = raw_bits;
        if cfg.xor_fold {
            m /= 2;
        }
        let balance = cfg.balance.then(|| {
            let n = 2 * m;
            let mut perm: Vec<u32> = (0..n).collect();
            let mut s = KeyedStream::new(&secret.derive(Purpose::Balance { segment }), b"perm");
            for i in (1..n as usize).rev() {
                let j = s.below(i as u32 + 1) as usize;
                perm.swap(i, j);
            }
            perm
        });
        if cfg.balance {
            m *= 2;
        }
        // m is now the diffusion input length.
        let taps = cfg.diffusion_taps.min(m);
        let mut diffusion = Vec::new();
        if taps > 0 {
            let mut s = KeyedStream::new(&secret.derive(Purpose::Diffusion { segment }), b"taps");
            diffusion.reserve((out_bits * taps) as usize);
            for _ in 0..out_bits {
                let start = diffusion.len();
                while diffusion.len() - start < taps as usize {
                    let t = s.below(m);
                    if !diffusion[start..].contains(&t) {
                        diffusion.push(t);
                    }
                }
            }
        }
        SegmentHardener {
            raw_bits,
            out_bits,
            fold: cfg.xor_fold,
            balance,
            taps,
            diffusion,
        }
    }

    /// Hardens `raw` (raw_bits/64 words, clobbered) into `out` (out_bits/64 words).
    pub(crate) fn apply(&self, raw: &mut [u64], scratch: &mut Vec<u64>, out: &mut [u64]) {
        let mut m = self.raw_bits as usize;
        if self.fold {
            let half = m / 128;
            for w in 0..half {
                raw[w] ^= raw[w + half];
            }
            m /= 2;
        }
        let mut cur: &mut [u64] = &mut raw[..m / 64];
        if let Some(perm) = &self.balance {
            scratch.clear();
            scratch.resize(2 * m / 64, 0);
            for i in 0..m {
                let p = if bit(cur, i) { perm[i] } else { perm[m + i] } as usize;
                scratch[p >> 6] |= 1 << (p & 63);
            }
            m *= 2;
            cur = scratch.as_mut_slice();
        }
        if self.taps > 0 {
            // Branch-free: each output word gathers the parity of its 64 bits' taps.
            let t = self.taps as usize;
            for (w, word) in out.iter_mut().enumerate() {
                let taps = &self.diffusion[w * 64 * t..(w + 1) * 64 * t];
                let mut acc = 0u64;
                for (j, bit_taps) in taps.chunks_exact(t).enumerate() {
                    let mut x = 0u64;
                    for &p in bit_taps {
                        x ^= cur[(p >> 6) as usize] >> (p & 63);
                    }
                    acc |= (x & 1) << j;
                }
                *word = acc;
            }
        } else {
            out.copy_from_slice(&cur[..m / 64]);
        }
    }
}

/// Flips each bit of `out` with probability `threshold / 65536`, from a stream keyed by
/// the BLIP key and the record id.
pub(crate) fn blip(out: &mut [u64], key: &DerivedKey, id: &str, threshold: u32) {
    let mut s = KeyedStream::new(key, id.as_bytes());
    let mut buf = [0u8; 128];
    for word in out.iter_mut() {
        s.fill(&mut buf);
        let mut flips = 0u64;
        for (i, pair) in buf.chunks_exact(2).enumerate() {
            let u = u32::from(u16::from_le_bytes([pair[0], pair[1]]));
            flips |= u64::from(u < threshold) << i;
        }
        *word ^= flips;
    }
}

/// The BLIP threshold on 16-bit uniforms for flip probability `f`.
pub(crate) fn blip_threshold(f: f64) -> u32 {
    (f * 65536.0).round().clamp(0.0, 32767.0) as u32
}

#[inline]
pub(crate) fn bit(words: &[u64], i: usize) -> bool {
    (words[i >> 6] >> (i & 63)) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::from_bytes([7; 32])
    }

    #[test]
    fn balance_keeps_exactly_half_the_bits() {
        let cfg = HardeningConfig {
            balance: true,
            ..HardeningConfig::none()
        };
        let h = SegmentHardener::new(128, &cfg, &secret(), 0);
        assert_eq!(h.out_bits, 256);
        for seed in 0..20u64 {
            let mut raw = [seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), seed << 3];
            let mut out = [0u64; 4];
            h.apply(&mut raw, &mut Vec::new(), &mut out);
            assert_eq!(out.iter().map(|w| w.count_ones()).sum::<u32>(), 128);
        }
    }

    #[test]
    fn fold_xors_the_halves() {
        let cfg = HardeningConfig {
            xor_fold: true,
            ..HardeningConfig::none()
        };
        let h = SegmentHardener::new(128, &cfg, &secret(), 0);
        assert_eq!(h.out_bits, 64);
        let mut raw = [0b1100u64, 0b1010];
        let mut out = [0u64; 1];
        h.apply(&mut raw, &mut Vec::new(), &mut out);
        assert_eq!(out[0], 0b0110);
    }

    #[test]
    fn diffusion_is_linear_and_keyed() {
        let cfg = HardeningConfig {
            diffusion_taps: 3,
            ..HardeningConfig::none()
        };
        let h = SegmentHardener::new(256, &cfg, &secret(), 0);
        let other = SegmentHardener::new(256, &cfg, &Secret::from_bytes([8; 32]), 0);
        let a = [1u64, 2, 3, 4];
        let b = [0xffu64, 0, 0x10, 1 << 63];
        let run = |h: &SegmentHardener, x: [u64; 4]| {
            let mut raw = x;
            let mut out = [0u64; 4];
            h.apply(&mut raw, &mut Vec::new(), &mut out);
            out
        };
        let xor: [u64; 4] = core::array::from_fn(|i| a[i] ^ b[i]);
        let (ya, yb, yx) = (run(&h, a), run(&h, b), run(&h, xor));
        for i in 0..4 {
            assert_eq!(ya[i] ^ yb[i], yx[i]);
        }
        assert_ne!(run(&h, a), run(&other, a));
        assert_eq!(run(&h, [0; 4]), [0; 4]);
    }

    #[test]
    fn blip_flips_about_f_of_the_bits_deterministically() {
        let key = secret().derive(Purpose::Blip);
        let mut a = vec![0u64; 1024];
        blip(&mut a, &key, "rec-1", blip_threshold(0.1));
        let flipped: u32 = a.iter().map(|w| w.count_ones()).sum();
        let share = f64::from(flipped) / 65536.0;
        assert!((0.09..0.11).contains(&share), "{share}");
        let mut b = vec![0u64; 1024];
        blip(&mut b, &key, "rec-1", blip_threshold(0.1));
        assert_eq!(a, b);
        let mut c = vec![0u64; 1024];
        blip(&mut c, &key, "rec-2", blip_threshold(0.1));
        assert_ne!(a, c);
    }
}
