//! Near-duplicate images and video frames already in the store: every stored
//! `image_hash` attribute, and every informative keyframe of every stored video (from
//! its payload), goes into a multi-index Hamming index (`spirit_media::HammingIndex`),
//! queried with each query frame's pHash and its mirror's, so a re-post, a re-encode or a
//! mirrored copy is found without a linear scan.
//!
//! A query is one or more frames: a photo is one; a video is its informative keyframes.
//! So a photo finds the stored video that contains that frame (and where), and a video
//! finds stored images and videos that share keyframes with it. One hit per stored
//! record, at its nearest frame.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;
use spirit_matching::evidence::{IMAGE_HASH_LEVELS, image_hash_distance, parse_image_hash};
use spirit_media::HammingIndex;

use crate::StoreError;

/// The default search radius: the `similar` level of the image-hash comparison (17 bits,
/// the pHash point at a false-positive rate ≤ 10⁻³ on the media benchmark).
pub const DEFAULT_RADIUS: u32 = IMAGE_HASH_LEVELS[2];

/// One frame of a query: a photo, or one keyframe of a video.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueryFrame {
    pub phash: u64,
    pub mirror: u64,
    /// Where the frame is in the query video; `None` for a photo.
    pub seconds: Option<f64>,
}

/// One stored image or video near the query.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimilarImage {
    /// `source:record_id`.
    pub record: String,
    pub source: String,
    /// Where the file was read from.
    pub provenance: String,
    /// `image`, or `video` when the hit is a keyframe of a stored video.
    pub media: &'static str,
    /// pHash bits differing at the nearest frame, the smaller of direct and mirrored (0–64).
    pub distance: u32,
    /// The image-hash comparison level: `near_duplicate`, `close`, `similar` or `else`.
    pub level: &'static str,
    /// True when the nearest match is with the mirror image.
    pub mirrored: bool,
    /// For a stored video: where its nearest keyframe is, in seconds.
    pub stored_seconds: Option<f64>,
    /// For a query video: where the query's matching keyframe is, in seconds.
    pub query_seconds: Option<f64>,
    /// Frames of the stored record within the radius of some query frame (1 for images).
    pub frames_matched: usize,
    /// The record's entity, once resolved.
    pub entity: Option<String>,
}

/// One indexed frame: its record, hashes, and place in a video.
struct Stored {
    record: i64,
    hash: (u64, Option<u64>),
    seconds: Option<f64>,
    video: bool,
}

/// Every stored frame: images by their `image_hash`, videos by each informative keyframe
/// of their payload (a video whose payload lists none falls back to its `image_hash`).
fn stored_frames(conn: &Connection) -> Result<Vec<Stored>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT a.record, a.value, \
                CASE WHEN json_valid(r.payload) AND json_extract(r.payload, '$.type') = 'video' \
                     THEN json_extract(r.payload, '$.keyframes') END \
         FROM attributes a JOIN records r ON r.id = a.record \
         WHERE a.kind = 'image_hash' AND a.value IS NOT NULL ORDER BY a.record",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let record: i64 = r.get(0)?;
        let value: String = r.get(1)?;
        let keyframes: Option<String> = r.get(2)?;
        let frames: Vec<Stored> = keyframes
            .and_then(|k| serde_json::from_str::<Vec<serde_json::Value>>(&k).ok())
            .unwrap_or_default()
            .iter()
            .filter(|k| !k["flat"].as_bool().unwrap_or(true))
            .filter_map(|k| {
                let hash = parse_image_hash(k["phash"].as_str()?)?;
                Some(Stored {
                    record,
                    hash,
                    seconds: k["seconds"].as_f64(),
                    video: true,
                })
            })
            .collect();
        if !frames.is_empty() {
            out.extend(frames);
        } else if let Some(hash) = parse_image_hash(&value) {
            out.push(Stored {
                record,
                hash,
                seconds: None,
                video: false,
            });
        }
    }
    Ok(out)
}

/// Stored images within `radius` bits of `phash` (or its `mirror`), nearest first.
pub fn similar_images(
    conn: &Connection,
    phash: u64,
    mirror: u64,
    radius: u32,
) -> Result<Vec<SimilarImage>, StoreError> {
    similar_frames(
        conn,
        &[QueryFrame {
            phash,
            mirror,
            seconds: None,
        }],
        radius,
    )
}

/// Stored images and video keyframes within `radius` bits of any query frame (direct or
/// mirrored), one hit per stored record at its nearest frame, nearest first.
pub fn similar_frames(
    conn: &Connection,
    query: &[QueryFrame],
    radius: u32,
) -> Result<Vec<SimilarImage>, StoreError> {
    let stored = stored_frames(conn)?;
    let radius = radius.min(64);
    let index = HammingIndex::new(stored.iter().map(|s| s.hash.0).collect(), radius);
    let queries: Vec<u64> = query.iter().flat_map(|q| [q.phash, q.mirror]).collect();
    // The index holds direct hashes: a stored mirror near a query's direct hash is the
    // query's mirror near the stored hash, so querying both covers it.
    let hits = index.search_any(&queries, radius);
    // Per stored record: (distance, direct distance, stored frame, query frame, frames).
    let mut best: BTreeMap<i64, (u32, u32, usize, usize, usize)> = BTreeMap::new();
    for hit in hits {
        let s = &stored[hit.id as usize];
        let Some((qi, distance, direct)) = query
            .iter()
            .enumerate()
            .map(|(qi, q)| {
                (
                    qi,
                    image_hash_distance(s.hash, (q.phash, Some(q.mirror))),
                    (s.hash.0 ^ q.phash).count_ones(),
                )
            })
            .min_by_key(|&(_, d, _)| d)
        else {
            continue;
        };
        if distance > radius {
            continue;
        }
        let e = best
            .entry(s.record)
            .or_insert((u32::MAX, 0, hit.id as usize, qi, 0));
        e.4 += 1;
        if distance < e.0 {
            (e.0, e.1, e.2, e.3) = (distance, direct, hit.id as usize, qi);
        }
    }
    let labels = ["near_duplicate", "close", "similar", "else"];
    let mut out = Vec::with_capacity(best.len());
    let mut stmt = conn.prepare_cached(
        "SELECT s.name || ':' || r.record_id, s.name, r.provenance, m.entity \
         FROM records r JOIN sources s ON s.id = r.source \
         LEFT JOIN membership m ON m.record = r.id WHERE r.id = ?1",
    )?;
    for (record_id, (distance, direct, si, qi, frames)) in best {
        let (record, source, provenance, entity): (String, String, String, Option<i64>) = stmt
            .query_row([record_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        let level = spirit_matching::evidence::image_hash_level(distance);
        out.push(SimilarImage {
            record,
            source,
            provenance,
            media: if stored[si].video { "video" } else { "image" },
            distance,
            level: labels[usize::from(level - 1)],
            mirrored: distance < direct,
            stored_seconds: stored[si].seconds,
            query_seconds: query[qi].seconds,
            frames_matched: frames,
            entity: entity.map(crate::entity_label),
        });
    }
    out.sort_by(|a, b| a.distance.cmp(&b.distance).then(a.record.cmp(&b.record)));
    Ok(out)
}
