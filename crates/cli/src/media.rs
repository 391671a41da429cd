//! `spirit media`: perceptual hashes and EXIF of images, Chromaprint of audio, keyframes
//! and container metadata of videos (through ffmpeg).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use spirit_media::MediaError;
use spirit_media::audio::{AudioLimits, compare_audio, fingerprint_file};
use spirit_media::compare::{HashThresholds, compare_hashes};
use spirit_media::picture::{Limits, inspect_file};
use spirit_media::video::{VideoOptions, VideoThresholds, compare_videos, inspect_video_file};

/// What `inspect` prints for one file.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Inspected {
    Image(spirit_media::ImageReport),
    Video(spirit_media::video::VideoReport),
}

#[derive(clap::Subcommand)]
pub enum MediaCommand {
    /// Hashes (pHash, dHash and their mirrors, hex), dimensions, format, SHA-256 and EXIF
    /// (camera, serials, capture time, GPS, owner) of images, as JSON (one line per file
    /// when several are given). Any other file is read as a video with ffprobe and ffmpeg:
    /// its JSON has a `video` object (container, codecs, creation time, device, GPS,
    /// keyframe hashes, the audio track's Chromaprint).
    Inspect {
        /// JPEG, PNG, WebP, GIF or TIFF files, or videos (MP4, MOV, MKV, WebM, AVI, …).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Refuse images whose header announces more pixels than this (not decoded).
        #[arg(long, default_value_t = 100_000_000)]
        max_pixels: u64,
        /// Indent the JSON (ignored for several files).
        #[arg(long)]
        pretty: bool,
    },
    /// Chromaprint audio fingerprints (WAV, FLAC, MP3, Ogg Vorbis) as JSON, one line per
    /// file: rate, channels, seconds, and the fingerprint as hex 32-bit words.
    Audio {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compare two images (perceptual-hash distance, score, match level), two videos
    /// (keyframes matched and aligned, match level, audio segments) or two audio files
    /// (common segments with offsets), as JSON.
    Compare { left: PathBuf, right: PathBuf },
    /// Near-duplicates of a photo or a video among the images and video keyframes
    /// already in a workspace: record, source, pHash distance (direct or mirrored),
    /// level, where in a video, and entity, nearest first. A video (needs ffmpeg) is
    /// looked for by its informative keyframes.
    Similar {
        workspace: PathBuf,
        /// The photo or video to look for.
        photo: PathBuf,
        /// Largest pHash distance (bits of 64) reported.
        #[arg(long, default_value_t = spirit_store::similar::DEFAULT_RADIUS)]
        radius: u32,
        /// One JSON object per hit instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: &MediaCommand) -> Result<()> {
    match command {
        MediaCommand::Similar {
            workspace,
            photo,
            radius,
            json,
        } => similar(workspace, photo, *radius, *json),
        MediaCommand::Inspect {
            files,
            max_pixels,
            pretty,
        } => {
            let limits = Limits {
                max_pixels: *max_pixels,
                ..Limits::default()
            };
            let pretty = *pretty && files.len() == 1;
            each_file(files, pretty, |file| match inspect_file(file, &limits) {
                Err(MediaError::UnknownFormat { .. }) => {
                    inspect_video_file(file, &VideoOptions::default()).map(Inspected::Video)
                }
                other => other.map(Inspected::Image),
            })
        }
        MediaCommand::Audio { files } => each_file(files, false, |file| {
            fingerprint_file(file, &AudioLimits::default()).map(|fp| {
                let hex: String = fp.fingerprint.iter().map(|w| format!("{w:08x}")).collect();
                serde_json::json!({
                    "file": file.display().to_string(),
                    "sample_rate": fp.sample_rate,
                    "channels": fp.channels,
                    "seconds": fp.seconds,
                    "truncated": fp.truncated,
                    "bad_packets": fp.bad_packets,
                    "items": fp.fingerprint.len(),
                    "chromaprint": hex,
                })
            })
        }),
        MediaCommand::Compare { left, right } => {
            let limits = Limits::default();
            let a = match inspect_file(left, &limits) {
                Err(MediaError::UnknownFormat { .. }) => return compare_other(left, right),
                other => other?,
            };
            let b = inspect_file(right, &limits)?;
            let similarity = compare_hashes(&a.hashes, &b.hashes, &HashThresholds::default());
            let json = serde_json::json!({
                "left": a.file,
                "right": b.file,
                "identical_bytes": a.sha256 == b.sha256,
                "phash_distance": a.hashes.phash_distance(&b.hashes),
                "dhash_distance": a.hashes.dhash_distance(&b.hashes),
                "similarity": similarity,
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(())
        }
    }
}

/// Two files that are not images: videos when ffprobe finds a video stream in the first,
/// else audio.
fn compare_other(left: &Path, right: &Path) -> Result<()> {
    let opts = VideoOptions::default();
    let a = match inspect_video_file(left, &opts) {
        Ok(a) => a,
        Err(MediaError::Video { message, .. }) if message.starts_with("no video stream") => {
            return compare_audio_files(left, right);
        }
        Err(MediaError::ToolMissing { .. }) => return compare_audio_files(left, right),
        Err(e) => return Err(e.into()),
    };
    let b = inspect_video_file(right, &opts)?;
    let audio = match (&a.video.audio, &b.video.audio) {
        (Some(x), Some(y)) => Some(compare_audio(x, y)),
        _ => None,
    };
    let json = serde_json::json!({
        "left": a.file,
        "right": b.file,
        "identical_bytes": a.sha256 == b.sha256,
        "keyframes": compare_videos(&a.video.signature, &b.video.signature, &VideoThresholds::default()),
        "audio_segments": audio,
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

fn compare_audio_files(left: &std::path::Path, right: &std::path::Path) -> Result<()> {
    let limits = AudioLimits::default();
    let a = fingerprint_file(left, &limits)?;
    let b = fingerprint_file(right, &limits)?;
    let json = serde_json::json!({
        "left": left.display().to_string(),
        "right": right.display().to_string(),
        "left_seconds": a.seconds,
        "right_seconds": b.seconds,
        "segments": compare_audio(&a, &b),
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

/// One JSON line per file that `read` reads. A file that cannot be read is named on
/// standard error and the others still go out: one bad file in a seized folder must not
/// hide the rest; the exit status then says how many failed.
fn each_file<T: serde::Serialize, E: std::fmt::Display>(
    files: &[PathBuf],
    pretty: bool,
    mut read: impl FnMut(&Path) -> Result<T, E>,
) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    for file in files {
        match read(file) {
            Ok(value) => {
                if pretty {
                    serde_json::to_writer_pretty(&mut out, &value)?;
                } else {
                    serde_json::to_writer(&mut out, &value)?;
                }
                writeln!(out)?;
            }
            Err(e) => {
                out.flush()?;
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        bail!("{failed} of {} files could not be read", files.len());
    }
    Ok(())
}

/// The frames a file is looked for by: a video's informative keyframes (through
/// ffmpeg), else the picture itself.
fn query_frames(file: &Path) -> Result<Vec<spirit_store::similar::QueryFrame>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(file)
        .with_context(|| format!("{}", file.display()))?
        .take(4096)
        .read_to_end(&mut head)
        .with_context(|| format!("{}", file.display()))?;
    if spirit_store::folder::sniff(&head, file) != spirit_store::folder::FileKind::Video {
        let h = spirit_media::picture::hash_file(file, &Limits::default())?;
        return Ok(vec![spirit_store::similar::QueryFrame {
            phash: h.phash,
            mirror: h.phash_mirror,
            seconds: None,
        }]);
    }
    let report = inspect_video_file(file, &VideoOptions::default())?;
    let frames: Vec<_> = report
        .video
        .signature
        .keyframes
        .iter()
        .filter(|k| !k.flat)
        .map(|k| spirit_store::similar::QueryFrame {
            phash: k.hashes.phash,
            mirror: k.hashes.phash_mirror,
            seconds: Some(k.seconds),
        })
        .collect();
    if frames.is_empty() {
        bail!(
            "{}: no informative keyframe (blank or uniform video)",
            file.display()
        );
    }
    Ok(frames)
}

fn similar(workspace: &Path, photo: &Path, radius: u32, json: bool) -> Result<()> {
    if radius > 64 {
        bail!("--radius {radius}: a pHash has 64 bits");
    }
    let query = query_frames(photo)?;
    let ws = spirit_store::Workspace::open(workspace, spirit_store::workspace::Access::Read)?;
    let hits = spirit_store::similar::similar_frames(ws.connection(), &query, radius)?;
    let mut out = std::io::stdout().lock();
    if json {
        for h in &hits {
            writeln!(out, "{}", serde_json::to_string(h)?)?;
        }
        return Ok(());
    }
    if hits.is_empty() {
        writeln!(
            out,
            "no stored image or video frame within {radius} bits of {}",
            photo.display()
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>4}  {:<15} {:<8} {:<40} {:<10} file",
        "bits", "level", "entity", "record", "source"
    )?;
    for h in &hits {
        let mut notes = String::new();
        if h.mirrored {
            notes.push_str(" (mirrored)");
        }
        if let Some(s) = h.stored_seconds {
            notes.push_str(&format!(
                " (video frame at {s:.1} s, {} frames matched)",
                h.frames_matched
            ));
        }
        if let Some(s) = h.query_seconds {
            notes.push_str(&format!(" (query frame at {s:.1} s)"));
        }
        writeln!(
            out,
            "{:>4}  {:<15} {:<8} {:<40} {:<10} {}{notes}",
            h.distance,
            h.level,
            h.entity.as_deref().unwrap_or("-"),
            h.record,
            h.source,
            h.provenance,
        )?;
    }
    writeln!(
        out,
        "{} stored images or videos within {radius} bits",
        hits.len()
    )?;
    Ok(())
}
