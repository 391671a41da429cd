//! Steps 2 and 3, bootstrapped: decoded values teach the bit positions of their q-grams
//! (pattern mining), and located q-grams decode more values.

use rustc_hash::FxHashMap;

use crate::dice::FilterSet;

use super::AttackConfig;
use super::plain::PlainSegment;

/// The column of every bit position: the records (bitset over `n`) it is set in.
fn columns(set: &FilterSet) -> Vec<u64> {
    let n = set.len();
    let nw = n.div_ceil(64);
    let mut cols = vec![0u64; set.bits() * nw];
    for i in 0..n {
        for (w, &word) in set.get(i).iter().enumerate() {
            let mut x = word;
            while x != 0 {
                let b = w * 64 + x.trailing_zeros() as usize;
                cols[b * nw + i / 64] |= 1 << (i % 64);
                x &= x - 1;
            }
        }
    }
    cols
}

/// The bootstrap of step 2: decoded values teach q-gram positions, known q-gram positions
/// decode more values.
pub(super) struct Bootstrap<'a> {
    plain: &'a PlainSegment,
    groups: &'a [Vec<u32>],
    cfg: &'a AttackConfig,
    cols: Vec<u64>,
    nw: usize,
    /// Records with any bit set.
    all: Vec<u64>,
    n_coded: f64,
    /// Sample size.
    m_sample: f64,
    /// Segment length in bits.
    bits: f64,
    /// Frequency of each q-gram in the sample.
    freq: Vec<f64>,
    /// The consensus (bitwise majority) encoding of each group.
    consensus: Vec<Vec<u64>>,
    /// The value decoded for each group.
    pub(super) group_value: Vec<Option<u32>>,
    value_taken: Vec<bool>,
    /// Identified q-grams and their positions.
    pub(super) positions: FxHashMap<u32, Vec<u32>>,
    /// q-grams tried without success, with the number of anchors they had then.
    tried: FxHashMap<u32, usize>,
}

impl<'a> Bootstrap<'a> {
    pub(super) fn new(
        set: &'a FilterSet,
        plain: &'a PlainSegment,
        groups: &'a [Vec<u32>],
        group_value: Vec<Option<u32>>,
        cfg: &'a AttackConfig,
    ) -> Bootstrap<'a> {
        let n = set.len();
        let nw = n.div_ceil(64);
        let mut all = vec![0u64; nw];
        for i in 0..n {
            if set.count(i) > 0 {
                all[i / 64] |= 1 << (i % 64);
            }
        }
        let total: usize = plain.values.iter().map(|v| v.count).sum();
        let mut freq = vec![0f64; plain.n_features];
        for v in &plain.values {
            for &f in &v.features {
                freq[f as usize] += v.count as f64 / total.max(1) as f64;
            }
        }
        let words = set.words();
        let consensus = groups
            .iter()
            .map(|g| {
                if g.len() <= 2 {
                    return set.get(g[0] as usize).to_vec();
                }
                let mut counts = vec![0u32; words * 64];
                for &i in g {
                    for (w, &word) in set.get(i as usize).iter().enumerate() {
                        let mut x = word;
                        while x != 0 {
                            counts[w * 64 + x.trailing_zeros() as usize] += 1;
                            x &= x - 1;
                        }
                    }
                }
                let mut f = vec![0u64; words];
                for (b, &c) in counts.iter().enumerate() {
                    if 2 * c as usize > g.len() {
                        f[b / 64] |= 1 << (b % 64);
                    }
                }
                f
            })
            .collect();
        let mut value_taken = vec![false; plain.values.len()];
        for v in group_value.iter().flatten() {
            value_taken[*v as usize] = true;
        }
        Bootstrap {
            plain,
            groups,
            cfg,
            cols: columns(set),
            nw,
            n_coded: f64::from(crate::dice::popcount(&all)).max(1.0),
            m_sample: total.max(1) as f64,
            bits: set.bits() as f64,
            all,
            freq,
            consensus,
            group_value,
            value_taken,
            positions: FxHashMap::default(),
            tried: FxHashMap::default(),
        }
    }

    fn col(&self, b: usize) -> &[u64] {
        &self.cols[b * self.nw..(b + 1) * self.nw]
    }

    /// Records having all but a tolerated share of `positions`.
    fn having(&self, positions: &[u32]) -> Vec<u64> {
        let allowed = (self.cfg.noise_tolerance * positions.len() as f64).floor() as usize;
        let mut missing = vec![0u16; self.nw * 64];
        for &p in positions {
            for (w, (&r, &c)) in self.all.iter().zip(self.col(p as usize)).enumerate() {
                let mut x = r & !c;
                while x != 0 {
                    let i = w * 64 + x.trailing_zeros() as usize;
                    missing[i] = missing[i].saturating_add(1);
                    x &= x - 1;
                }
            }
        }
        let mut with = vec![0u64; self.nw];
        for (w, &r) in self.all.iter().enumerate() {
            let mut x = r;
            while x != 0 {
                let i = w * 64 + x.trailing_zeros() as usize;
                if usize::from(missing[i]) <= allowed {
                    with[w] |= 1 << (i % 64);
                }
                x &= x - 1;
            }
        }
        with
    }

    pub(super) fn run(&mut self) {
        for _round in 0..24 {
            let learned = self.learn();
            let decoded = self.decode();
            if learned == 0 && decoded == 0 {
                break;
            }
        }
    }

    /// Infers the positions of q-grams that occur in decoded values. Returns how many.
    fn learn(&mut self) -> usize {
        // Decoded groups containing each q-gram.
        let mut holders: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        for (g, v) in self.group_value.iter().enumerate() {
            if let Some(v) = v {
                for &f in &self.plain.values[*v as usize].features {
                    if !self.positions.contains_key(&f) {
                        holders.entry(f).or_default().push(g);
                    }
                }
            }
        }
        let mut feats: Vec<(u32, Vec<usize>)> = holders.into_iter().collect();
        feats.sort_unstable_by_key(|(f, _)| *f);
        let eps = self.cfg.noise_tolerance;
        let min = self.cfg.min_support as f64;
        let mut learned = 0;
        for (f, hs) in feats {
            if self.tried.get(&f) == Some(&hs.len()) {
                continue;
            }
            self.tried.insert(f, hs.len());
            let expect = self.freq[f as usize] * self.n_coded;
            if expect < min {
                continue;
            }
            // Positions set in every holder: the q-gram's, and few collisions.
            let mut common = self.consensus[hs[0]].clone();
            for &h in &hs[1..] {
                for (x, y) in common.iter_mut().zip(&self.consensus[h]) {
                    *x &= *y;
                }
            }
            let cand: Vec<u32> = bits_of(&common);
            let cand = if hs.len() == 1 {
                // One holder: the positions jointly set at the q-gram's frequency.
                self.itemset(&cand, expect)
            } else {
                cand
            };
            if cand.len() < 2 || cand.len() > crate::schema::MAX_K as usize * 2 {
                continue;
            }
            // Keep the positions whose records contain the q-gram's records.
            let r = self.having(&cand);
            let size = f64::from(crate::dice::popcount(&r));
            if size < 0.5 * expect {
                continue;
            }
            let pos: Vec<u32> = cand
                .iter()
                .copied()
                .filter(|&b| {
                    f64::from(crate::dice::intersection(&r, self.col(b as usize)))
                        >= (1.0 - eps) * size
                })
                .collect();
            if pos.len() < MIN_QGRAM_POSITIONS || pos.len() > crate::schema::MAX_K as usize {
                continue;
            }
            let got = f64::from(crate::dice::popcount(&self.having(&pos)));
            if (got - expect).abs() > 2.0 * eps * expect.max(got) + 3.0 * expect.sqrt() + 2.0 {
                continue;
            }
            self.positions.insert(f, pos);
            learned += 1;
        }
        learned
    }

    /// The longest subset of `cand` jointly set in about `target` records, grown from
    /// the position whose support is closest to the target by Jaccard similarity of
    /// columns (Christen et al.'s longest frequent itemset, restricted to one encoding).
    fn itemset(&self, cand: &[u32], target: f64) -> Vec<u32> {
        let floor = target * (1.0 - self.cfg.noise_tolerance);
        let sup: Vec<(u32, f64)> = cand
            .iter()
            .map(|&b| (b, f64::from(crate::dice::popcount(self.col(b as usize)))))
            .filter(|&(_, c)| c >= floor)
            .collect();
        let mut best: Vec<u32> = Vec::new();
        let mut order = sup.clone();
        order.sort_unstable_by(|x, y| {
            (x.1 - target)
                .abs()
                .total_cmp(&(y.1 - target).abs())
                .then(x.0.cmp(&y.0))
        });
        for &(seed, _) in order.iter().take(4) {
            let mut inter = self.col(seed as usize).to_vec();
            let mut size = f64::from(crate::dice::popcount(&inter));
            let mut chosen = vec![seed];
            loop {
                let mut pick: Option<(f64, u32, f64)> = None;
                for &(b, s) in &sup {
                    if chosen.contains(&b) {
                        continue;
                    }
                    let c = f64::from(crate::dice::intersection(&inter, self.col(b as usize)));
                    if c < floor {
                        continue;
                    }
                    let j = c / (size + s - c);
                    if pick.is_none_or(|(pj, _, _)| j > pj) {
                        pick = Some((j, b, c));
                    }
                }
                let Some((_, b, c)) = pick else { break };
                for (x, y) in inter.iter_mut().zip(self.col(b as usize)) {
                    *x &= *y;
                }
                size = c;
                chosen.push(b);
            }
            if chosen.len() > best.len() {
                best = chosen;
            }
        }
        best.sort_unstable();
        best
    }

    /// Decodes groups by the identified q-grams their encoding contains: a group is
    /// decoded as the one undecoded value that has exactly those identified q-grams (and
    /// at least two of them). Returns how many groups were decoded.
    fn decode(&mut self) -> usize {
        if self.positions.len() < 2 {
            return 0;
        }
        let mut known: Vec<(u32, &Vec<u32>)> =
            self.positions.iter().map(|(f, p)| (*f, p)).collect();
        known.sort_unstable_by_key(|(f, _)| *f);
        let words = known.len().div_ceil(64);
        let index: FxHashMap<u32, usize> = known
            .iter()
            .enumerate()
            .map(|(k, (f, _))| (*f, k))
            .collect();
        // Values by their signature over the identified q-grams.
        let mut by_sig: FxHashMap<Vec<u64>, Vec<u32>> = FxHashMap::default();
        for (v, val) in self.plain.values.iter().enumerate() {
            if self.value_taken[v] {
                continue;
            }
            let mut sig = vec![0u64; words];
            let mut hits = 0;
            for f in &val.features {
                if let Some(&k) = index.get(f) {
                    sig[k / 64] |= 1 << (k % 64);
                    hits += 1;
                }
            }
            if hits >= 1 {
                by_sig.entry(sig).or_default().push(v as u32);
            }
        }
        let eps = self.cfg.noise_tolerance;
        let mut claims: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        for (g, members) in self.groups.iter().enumerate() {
            if self.group_value[g].is_some() || members.is_empty() {
                continue;
            }
            let f = &self.consensus[g];
            let mut sig = vec![0u64; words];
            for (k, (_, pos)) in known.iter().enumerate() {
                let set = pos
                    .iter()
                    .filter(|&&b| (f[(b >> 6) as usize] >> (b & 63)) & 1 == 1)
                    .count();
                if set as f64 >= (1.0 - eps) * pos.len() as f64 {
                    sig[k / 64] |= 1 << (k % 64);
                }
            }
            let Some(vals) = by_sig.get(&sig) else {
                continue;
            };
            // Bits of the encoding no identified q-gram explains, against what each value
            // would leave unexplained (its unidentified q-grams, and the positions of its
            // identified ones beyond the core the attack knows), given the weights.
            let mut explained = vec![0u64; f.len()];
            for (k, (_, pos)) in known.iter().enumerate() {
                if (sig[k / 64] >> (k % 64)) & 1 == 1 {
                    for &b in pos.iter() {
                        explained[(b >> 6) as usize] |= 1 << (b & 63);
                    }
                }
            }
            let ones = crate::dice::popcount(f);
            let unexplained = f64::from(ones - crate::dice::intersection(f, &explained));
            let free = 1.0 - f64::from(crate::dice::popcount(&explained)) / self.bits;
            let plausible = |v: u32| {
                let val = &self.plain.values[v as usize];
                let expect: f64 = val
                    .features
                    .iter()
                    .zip(&val.ks)
                    .map(|(feat, &k)| {
                        let core = self.positions.get(feat).map_or(0, |p| p.len() as u32);
                        f64::from(k.saturating_sub(core))
                    })
                    .sum::<f64>()
                    * free;
                (unexplained - expect).abs() <= 0.35 * expect.max(unexplained) + 8.0
            };
            let vals: Vec<u32> = vals.iter().copied().filter(|&v| plausible(v)).collect();
            if let [v] = vals.as_slice() {
                claims.entry(*v).or_default().push(g);
                continue;
            }
            if vals.is_empty() {
                continue;
            }
            // Several values fit the q-grams: a frequent group takes the one value whose
            // frequency matches its size, if there is exactly one.
            if members.len() >= self.cfg.min_support {
                let fg = members.len() as f64 / self.n_coded;
                let mut fitting = vals.iter().filter(|&&v| {
                    let fv = self.plain.values[v as usize].count as f64 / self.m_sample;
                    (fg - fv).abs() / fg.max(fv) <= self.cfg.frequency_tolerance
                });
                if let (Some(&v), None) = (fitting.next(), fitting.next()) {
                    claims.entry(v).or_default().push(g);
                }
            }
        }
        let mut decoded = 0;
        for (v, gs) in claims {
            // A value claimed by several groups: keep the largest group only.
            let Some(&g) = gs
                .iter()
                .max_by_key(|&&g| (self.groups[g].len(), usize::MAX - g))
            else {
                continue;
            };
            self.group_value[g] = Some(v);
            self.value_taken[v as usize] = true;
            decoded += 1;
        }
        decoded
    }
}

fn bits_of(words: &[u64]) -> Vec<u32> {
    let mut out = Vec::new();
    for (w, &word) in words.iter().enumerate() {
        let mut x = word;
        while x != 0 {
            out.push((w * 64) as u32 + x.trailing_zeros());
            x &= x - 1;
        }
    }
    out
}

/// Fewer positions than this are too likely to be set by chance in a dense filter for
/// a q-gram to be identified by them.
const MIN_QGRAM_POSITIONS: usize = 5;
