//! Perceptual hashes of an image: a DCT hash (pHash) and a difference hash (dHash),
//! each also for the horizontal mirror image.
//!
//! **pHash** (after pHash.org's DCT hash, without its 7×7 pre-blur): the image is
//! averaged down to 32×32 grey levels, a 2-D DCT-II is taken, and the 8×8 block of
//! frequencies 1–8 in both directions gives 64 coefficients (row and column 0 — the mean
//! and the components constant along one axis, which brightness and gradients move most —
//! are left out); each bit says whether its coefficient is above their median. Because
//! the threshold is the median, the hash has 32 ones and ignores affine changes of
//! brightness and contrast; because it keeps only low frequencies, it survives resizing,
//! recompression and mild blur.
//!
//! **dHash**: the image is averaged down to 9×8 grey levels; each of the 64 bits says
//! whether a pixel is darker than its right-hand neighbour. It is a cheap second opinion
//! with errors partly independent of pHash's, but it saturates on smooth left–right ramps
//! such as sky (67 of the 1,021 pictures of `bench/media` have ≤ 2 or ≥ 62 ones), which is
//! why the distance of the `compare` module (`hash_distance`) counts pHash twice.
//!
//! **Mirror**: a photo posted by another account is often flipped. Mirroring a signal
//! of length N maps DCT coefficient k to (−1)^k times itself, so the mirror pHash is
//! computed from the same coefficients, with the odd horizontal frequencies negated and
//! a new median; the mirror dHash is computed from the reversed 9×8 rows. Distances
//! ([`ImageHashes::phash_distance`]) take the minimum over direct and mirrored.

use image::DynamicImage;
use serde::{Serialize, Serializer};

/// Side of the grey grid the DCT is taken over.
pub const DCT_SIZE: usize = 32;
/// Number of lowest frequencies computed per direction (0..=8); 1..=8 are kept.
const FREQS: usize = 9;
/// Side of the intermediate thumbnail from which both grids are averaged (one pass over
/// the decoded image).
const INTERMEDIATE: u32 = 128;

/// The four 64-bit hashes of one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ImageHashes {
    /// DCT hash of the image.
    #[serde(serialize_with = "hex64")]
    pub phash: u64,
    /// DCT hash of its horizontal mirror image.
    #[serde(serialize_with = "hex64")]
    pub phash_mirror: u64,
    /// Difference hash of the image.
    #[serde(serialize_with = "hex64")]
    pub dhash: u64,
    /// Difference hash of its horizontal mirror image.
    #[serde(serialize_with = "hex64")]
    pub dhash_mirror: u64,
}

/// 16 lower-case hex digits.
pub fn to_hex(h: u64) -> String {
    format!("{h:016x}")
}

/// Parses 16 hex digits (as written by [`to_hex`]).
pub fn from_hex(s: &str) -> Option<u64> {
    if s.len() != 16 {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

fn hex64<S: Serializer>(h: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(*h))
}

/// Number of differing bits.
#[inline]
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

impl ImageHashes {
    /// pHash distance (0–64), the smaller of direct and mirrored.
    pub fn phash_distance(&self, other: &Self) -> u32 {
        hamming(self.phash, other.phash)
            .min(hamming(self.phash_mirror, other.phash))
            .min(hamming(self.phash, other.phash_mirror))
    }

    /// dHash distance (0–64), the smaller of direct and mirrored.
    pub fn dhash_distance(&self, other: &Self) -> u32 {
        hamming(self.dhash, other.dhash)
            .min(hamming(self.dhash_mirror, other.dhash))
            .min(hamming(self.dhash, other.dhash_mirror))
    }

    /// Whether the best pHash match is the mirrored one (strictly better than direct).
    pub fn is_mirrored_match(&self, other: &Self) -> bool {
        let direct = hamming(self.phash, other.phash);
        let mirrored =
            hamming(self.phash_mirror, other.phash).min(hamming(self.phash, other.phash_mirror));
        mirrored < direct
    }
}

/// Hashes a decoded image (orientation already applied).
pub fn hash_image(img: &DynamicImage) -> ImageHashes {
    let (dct_grid, diff_grid) = grids(img);
    let (phash, phash_mirror) = phash_from_grid(&dct_grid);
    let (dhash, dhash_mirror) = dhash_from_grid(&diff_grid);
    ImageHashes {
        phash,
        phash_mirror,
        dhash,
        dhash_mirror,
    }
}

/// The 32×32 and 9×8 grey grids (row-major, 0–255), averaged from one intermediate
/// thumbnail. The aspect ratio is not kept: a resized copy gives the same grids.
pub fn grids(img: &DynamicImage) -> (Vec<f32>, Vec<f32>) {
    // Area-averaging thumbnail straight from the decoded pixels (any colour type), then
    // luma. thumbnail_exact never upsamples badly: for small images it interpolates.
    let mid = img.thumbnail_exact(INTERMEDIATE, INTERMEDIATE).to_luma8();
    let dct = image::imageops::thumbnail(&mid, DCT_SIZE as u32, DCT_SIZE as u32);
    let diff = image::imageops::thumbnail(&mid, 9, 8);
    let f = |g: image::GrayImage| {
        g.into_raw()
            .into_iter()
            .map(f32::from)
            .collect::<Vec<f32>>()
    };
    (f(dct), f(diff))
}

/// Median-threshold bits of 64 coefficients, first coefficient in the top bit.
fn median_bits(coeffs: &[f32; 64]) -> u64 {
    let mut sorted = *coeffs;
    sorted.sort_by(f32::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    coeffs
        .iter()
        .fold(0u64, |acc, &c| (acc << 1) | u64::from(c > median))
}

/// pHash and mirror pHash of a 32×32 grey grid.
pub fn phash_from_grid(grid: &[f32]) -> (u64, u64) {
    // Frequencies 1..=8 in both directions: row and column 0 are left out.
    let block = low_dct9(grid);
    let mut direct = [0f32; 64];
    let mut mirror = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            let c = block[v + 1][u + 1];
            direct[v * 8 + u] = c;
            // Horizontal frequency u+1: odd frequencies change sign under the mirror.
            mirror[v * 8 + u] = if (u + 1) % 2 == 1 { -c } else { c };
        }
    }
    (median_bits(&direct), median_bits(&mirror))
}

/// The 9×9 lowest orthonormal DCT-II coefficients (frequencies 0..=8) of a 32×32
/// row-major grid, as `out[v][u]` (v vertical, u horizontal frequency).
pub fn low_dct9(grid: &[f32]) -> [[f32; FREQS]; FREQS] {
    assert_eq!(grid.len(), DCT_SIZE * DCT_SIZE, "the DCT grid is 32×32");
    let n = DCT_SIZE as f64;
    // c[u][x] = s(u)·cos((2x+1)uπ/2N).
    let mut c = [[0f32; DCT_SIZE]; FREQS];
    for (u, row) in c.iter_mut().enumerate() {
        let scale = if u == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        for (x, v) in row.iter_mut().enumerate() {
            let angle = (2.0 * x as f64 + 1.0) * u as f64 * std::f64::consts::PI / (2.0 * n);
            *v = (scale * angle.cos()) as f32;
        }
    }
    // Rows first: t[y][u] = Σx c[u][x]·g[y][x]; then columns.
    let mut t = [[0f32; FREQS]; DCT_SIZE];
    for (y, ty) in t.iter_mut().enumerate() {
        let row = &grid[y * DCT_SIZE..(y + 1) * DCT_SIZE];
        for (u, tyu) in ty.iter_mut().enumerate() {
            *tyu = c[u].iter().zip(row).map(|(a, b)| a * b).sum();
        }
    }
    let mut out = [[0f32; FREQS]; FREQS];
    for (v, ov) in out.iter_mut().enumerate() {
        for (u, ovu) in ov.iter_mut().enumerate() {
            *ovu = (0..DCT_SIZE).map(|y| c[v][y] * t[y][u]).sum();
        }
    }
    out
}

/// dHash and mirror dHash of a 9×8 grey grid (row-major, 9 columns).
pub fn dhash_from_grid(grid: &[f32]) -> (u64, u64) {
    assert_eq!(grid.len(), 72, "the difference grid is 9×8");
    let mut direct = 0u64;
    let mut mirror = 0u64;
    for y in 0..8 {
        let row = &grid[y * 9..(y + 1) * 9];
        for x in 0..8 {
            direct = (direct << 1) | u64::from(row[x] < row[x + 1]);
            // Mirrored row m[x] = row[8 - x].
            mirror = (mirror << 1) | u64::from(row[8 - x] < row[7 - x]);
        }
    }
    (direct, mirror)
}
