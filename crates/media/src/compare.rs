//! Comparing two pieces of media: one interface for perceptual hashes now and learned
//! embeddings (faces, speakers) later.
//!
//! A [`Fingerprint`] is what is kept per item; [`compare`] turns two fingerprints of the
//! same kind into a [`Similarity`] with a distance, a score in [0, 1] and a
//! [`MatchLevel`], which is what the linkage model consumes as evidence, like the levels
//! of a name or date comparison.
//!
//! **Embeddings are not implemented.** [`Embedder`] is the seam: an implementation
//! would load an ONNX model from a local path (no download at run time), map a decoded
//! image (or a face crop, or an audio segment) to a vector, and name the model so that
//! only vectors of the same model are compared. [`compare`] already compares two
//! [`Embedding`]s of the same model by cosine similarity, so adding a model means adding
//! an `Embedder` and calibrated thresholds for it, nothing else.

use image::DynamicImage;
use serde::Serialize;

use crate::error::MediaError;
use crate::hash::ImageHashes;

/// A vector from a named model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Embedding {
    /// Model identity (e.g. file name and SHA-256 of the ONNX file): vectors of different
    /// models are never compared.
    pub model: String,
    pub vector: Vec<f32>,
}

/// Maps an image to an embedding. Not implemented in this crate (see the module docs).
pub trait Embedder: Send + Sync {
    /// The model identity stamped on every [`Embedding`].
    fn model(&self) -> &str;
    /// Embeds one decoded image; `name` is used in errors.
    fn embed_image(&self, name: &str, image: &DynamicImage) -> Result<Embedding, MediaError>;
}

/// What is kept per media item for comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fingerprint {
    /// Perceptual hashes of an image ([`crate::hash`]).
    ImageHashes(ImageHashes),
    /// A learned embedding.
    Embedding(Embedding),
}

/// Evidence levels, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchLevel {
    /// Same picture after resizing, re-encoding, light edits.
    NearDuplicate,
    /// Probably the same picture under heavier edits (crop, rotation, overlays).
    Similar,
    Different,
}

/// Distance thresholds for perceptual hashes: distances at or below `near_duplicate`
/// (resp. `similar`) give that level. Calibrate them with
/// `examples/media_eval.rs` on a labelled set; [`HashThresholds::default`] holds the
/// values chosen from that evaluation (see the crate's README section in ARCHITECTURE.md).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HashThresholds {
    /// Combined distance ([`hash_distance`], 0–192) for [`MatchLevel::NearDuplicate`].
    pub near_duplicate: u32,
    /// Combined distance ([`hash_distance`], 0–192) for [`MatchLevel::Similar`].
    pub similar: u32,
}

/// Cosine similarity thresholds for one embedding model (no default: they belong to the model).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EmbeddingThresholds {
    pub near_duplicate: f32,
    pub similar: f32,
}

/// The outcome of comparing two fingerprints.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Similarity {
    /// Hashes: [`hash_distance`] (0–192); embeddings: 1 − cosine.
    pub distance: f64,
    /// In [0, 1], 1 for identical.
    pub score: f64,
    /// For hashes: the best match was between one image and the other's mirror.
    pub mirrored: bool,
    pub level: MatchLevel,
}

/// Combined distance of two hash sets: 2 × pHash + dHash, each the minimum over mirrored
/// and direct (0–192). pHash carries the weight: on its own it beats dHash by far (dHash
/// saturates on smooth left-right ramps such as sky), and the equal-weight sum was worse
/// than pHash alone; 2:1 was the best of the weightings tried (1:0, 0:1, 1:1, 2:1) in
/// `examples/media_eval.rs`.
pub fn hash_distance(a: &ImageHashes, b: &ImageHashes) -> u32 {
    2 * a.phash_distance(b) + a.dhash_distance(b)
}

/// Compares two image hash sets.
pub fn compare_hashes(a: &ImageHashes, b: &ImageHashes, t: &HashThresholds) -> Similarity {
    let d = hash_distance(a, b);
    Similarity {
        distance: f64::from(d),
        score: 1.0 - f64::from(d) / 192.0,
        mirrored: a.is_mirrored_match(b),
        level: if d <= t.near_duplicate {
            MatchLevel::NearDuplicate
        } else if d <= t.similar {
            MatchLevel::Similar
        } else {
            MatchLevel::Different
        },
    }
}

/// Cosine similarity of two vectors of equal length; `None` if lengths differ or a norm is 0.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f32> {
    if a.len() != b.len() {
        return None;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        dot += f64::from(x) * f64::from(y);
        na += f64::from(x) * f64::from(x);
        nb += f64::from(y) * f64::from(y);
    }
    (na > 0.0 && nb > 0.0).then(|| (dot / (na.sqrt() * nb.sqrt())) as f32)
}

/// Compares two embeddings of the same model; `None` for different models or shapes.
pub fn compare_embeddings(
    a: &Embedding,
    b: &Embedding,
    t: &EmbeddingThresholds,
) -> Option<Similarity> {
    if a.model != b.model {
        return None;
    }
    let c = cosine(&a.vector, &b.vector)?;
    Some(Similarity {
        distance: f64::from(1.0 - c),
        score: f64::from((c + 1.0) / 2.0),
        mirrored: false,
        level: if c >= t.near_duplicate {
            MatchLevel::NearDuplicate
        } else if c >= t.similar {
            MatchLevel::Similar
        } else {
            MatchLevel::Different
        },
    })
}

/// Compares two fingerprints of the same kind; `None` when they are not comparable
/// (different kinds or embedding models). Embeddings need their model's thresholds.
pub fn compare(
    a: &Fingerprint,
    b: &Fingerprint,
    hash_thresholds: &HashThresholds,
    embedding_thresholds: Option<&EmbeddingThresholds>,
) -> Option<Similarity> {
    match (a, b) {
        (Fingerprint::ImageHashes(x), Fingerprint::ImageHashes(y)) => {
            Some(compare_hashes(x, y, hash_thresholds))
        }
        (Fingerprint::Embedding(x), Fingerprint::Embedding(y)) => {
            compare_embeddings(x, y, embedding_thresholds?)
        }
        _ => None,
    }
}

impl Default for HashThresholds {
    /// The largest thresholds with a false-positive rate ≤ 10⁻⁴ (near duplicate) and
    /// ≤ 10⁻³ (similar) on the evaluation set of `bench/media` (1,021 distinct pictures
    /// cut from real photographs, ten edits each, 11.5 M negative pairs). Recalibrate
    /// with `examples/media_eval.rs` on your own material.
    fn default() -> Self {
        HashThresholds {
            near_duplicate: 34,
            similar: 47,
        }
    }
}
