//! Near-duplicate images already in the store: every stored `image_hash` attribute
//! goes into a multi-index Hamming index (`spirit_media::HammingIndex`), queried with
//! the photo's pHash and its mirror's, so a re-post, a re-encode or a mirrored copy is
//! found without a linear scan.

use rusqlite::Connection;
use serde::Serialize;
use spirit_matching::evidence::{IMAGE_HASH_LEVELS, image_hash_distance, parse_image_hash};
use spirit_media::HammingIndex;

use crate::StoreError;

/// The default search radius: the `similar` level of the image-hash comparison (17 bits,
/// the pHash point at a false-positive rate ≤ 10⁻³ on the media benchmark).
pub const DEFAULT_RADIUS: u32 = IMAGE_HASH_LEVELS[2];

/// One stored image near the query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimilarImage {
    /// `source:record_id`.
    pub record: String,
    pub source: String,
    /// Where the file was read from.
    pub provenance: String,
    /// pHash bits differing, the smaller of direct and mirrored (0–64).
    pub distance: u32,
    /// The image-hash comparison level: `near_duplicate`, `close`, `similar` or `else`.
    pub level: &'static str,
    /// True when the match is with the mirror image.
    pub mirrored: bool,
    /// The record's entity, once resolved.
    pub entity: Option<String>,
}

/// Stored images within `radius` bits of `phash` (or its `mirror`), nearest first.
pub fn similar_images(
    conn: &Connection,
    phash: u64,
    mirror: u64,
    radius: u32,
) -> Result<Vec<SimilarImage>, StoreError> {
    let mut ids: Vec<i64> = Vec::new();
    let mut stored: Vec<(u64, Option<u64>)> = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT record, value FROM attributes WHERE kind = 'image_hash' AND value IS NOT NULL \
             ORDER BY record",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let value: String = r.get(1)?;
            if let Some(h) = parse_image_hash(&value) {
                ids.push(r.get(0)?);
                stored.push(h);
            }
        }
    }
    let radius = radius.min(64);
    let index = HammingIndex::new(stored.iter().map(|h| h.0).collect(), radius);
    let mut hits = index.search_any(&[phash, mirror], radius);
    // A stored mirror near the query's direct hash is the same as the query's mirror near
    // the stored hash; the index holds direct hashes, so both queries cover it.
    let labels = ["near_duplicate", "close", "similar", "else"];
    let mut out = Vec::with_capacity(hits.len());
    let mut stmt = conn.prepare_cached(
        "SELECT s.name || ':' || r.record_id, s.name, r.provenance, m.entity \
         FROM records r JOIN sources s ON s.id = r.source \
         LEFT JOIN membership m ON m.record = r.id WHERE r.id = ?1",
    )?;
    hits.sort_unstable();
    for hit in hits {
        let h = stored[hit.id as usize];
        let distance = image_hash_distance(h, (phash, Some(mirror)));
        let direct = (h.0 ^ phash).count_ones();
        let (record, source, provenance, entity): (String, String, String, Option<i64>) = stmt
            .query_row([ids[hit.id as usize]], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        let level = spirit_matching::evidence::image_hash_level(distance);
        out.push(SimilarImage {
            record,
            source,
            provenance,
            distance,
            level: labels[usize::from(level - 1)],
            mirrored: distance < direct,
            entity: entity.map(crate::entity_label),
        });
    }
    out.sort_by(|a, b| a.distance.cmp(&b.distance).then(a.record.cmp(&b.record)));
    Ok(out)
}
