//! Videos: the same clip re-encoded, resized, trimmed or mirrored and posted again.
//!
//! Nothing here decodes video in Rust: ffmpeg and ffprobe (the Debian package `ffmpeg`)
//! are run as subprocesses, with an argument vector (never a shell string), the file
//! given as `file:PATH` under `-protocol_whitelist file` (a playlist or concat file
//! cannot make them open a URL), a wall-clock timeout after which the process is
//! killed, and a cap on what is read from their output. A missing tool, a corrupt,
//! truncated or unsupported file, or a timeout is a [`MediaError::Video`] or
//! [`MediaError::ToolMissing`] naming the file.
//!
//! What [`inspect_video_file`] reads:
//! - **container facts and metadata** from ffprobe's JSON: duration, codecs, size,
//!   frame rate, rotation, and the tags that tie a video to a device, a time and a place
//!   ([`VideoMetadata`]: `creation_time`, QuickTime/Android make, model and software,
//!   and the ISO 6709 location string, parsed by [`parse_iso6709`]);
//! - **keyframes**: one frame every [`VideoOptions::interval_seconds`] (ffmpeg's `fps`
//!   filter, rotation applied, scaled to 128×128 grey), each hashed like an image by
//!   [`crate::hash::hash_image`] (pHash, dHash and their mirrors). A fixed interval,
//!   rather than the encoder's I-frames, keeps the sampling of a re-encoded copy in
//!   step with the original's. Nearly uniform frames (black, fades; grey standard
//!   deviation below [`FLAT_STDDEV`]) are marked `flat` and never matched: every
//!   black frame looks like every other;
//! - **the audio track**, decoded by ffmpeg to 16-bit mono PCM at 11,025 Hz and
//!   fingerprinted by [`crate::audio::fingerprint_pcm_reader`] (Chromaprint). Symphonia
//!   reads none of the usual video containers (MP4/MOV, Matroska/WebM, AVI) in this
//!   build, so ffmpeg decodes the sound too.
//!
//! [`compare_videos`] matches two keyframe signatures: for every informative keyframe of
//! the video with fewer of them, the closest keyframe of the other by
//! [`crate::compare::hash_distance`]; the fraction within the frame threshold, and the
//! fraction that also agree on one time offset (so a trimmed copy matches, and a few
//! look-alike shots of two different videos do not). Audio is compared separately with
//! [`crate::audio::audio_match`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use image::{DynamicImage, GrayImage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audio::{AudioFingerprint, AudioLimits, fingerprint_pcm_reader};
use crate::compare::{HashThresholds, MatchLevel, hash_distance};
use crate::error::MediaError;
use crate::hash::{ImageHashes, hash_image};

/// Side of the grey frames ffmpeg hands over (the hashes' intermediate size).
pub const FRAME_SIDE: u32 = 128;
/// Keyframes whose grey standard deviation (0–255 scale) is below this are `flat`.
pub const FLAT_STDDEV: f32 = 6.0;
/// Sample rate of the audio handed to Chromaprint (its own internal rate).
const AUDIO_RATE: u32 = 11_025;

/// Where the tools are and how much one video may cost.
#[derive(Clone, Debug)]
pub struct VideoOptions {
    /// The ffmpeg program (default: `$SPIRIT_FFMPEG`, else `ffmpeg` on `PATH`).
    pub ffmpeg: PathBuf,
    /// The ffprobe program (default: `$SPIRIT_FFPROBE`, else `ffprobe` on `PATH`).
    pub ffprobe: PathBuf,
    /// Largest file inspected, in bytes (checked before any tool runs).
    pub max_file_bytes: u64,
    /// Seconds between two sampled keyframes.
    pub interval_seconds: f64,
    /// At most this many keyframes (the signature then covers the start of the video).
    pub max_keyframes: usize,
    /// Audio after this many seconds is not fingerprinted; 0 skips the audio track.
    pub max_audio_seconds: f64,
    /// Wall-clock limit for each tool run; the process is killed after it.
    pub timeout: Duration,
    /// Largest ffprobe JSON read, in bytes.
    pub max_probe_bytes: usize,
    /// Largest width × height of the video stream, checked from ffprobe before decoding.
    pub max_pixels: u64,
}

impl Default for VideoOptions {
    /// 4 GiB, one keyframe a second up to 2 hours, audio up to 2 hours, 10 minutes per
    /// tool run, 4 MiB of ffprobe JSON, 8K UHD frames (7680 × 4320 = 33 Mpx).
    fn default() -> Self {
        let tool = |var: &str, name: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(name))
        };
        VideoOptions {
            ffmpeg: tool("SPIRIT_FFMPEG", "ffmpeg"),
            ffprobe: tool("SPIRIT_FFPROBE", "ffprobe"),
            max_file_bytes: 4 << 30,
            interval_seconds: 1.0,
            max_keyframes: 7200,
            max_audio_seconds: 7200.0,
            timeout: Duration::from_secs(600),
            max_probe_bytes: 4 << 20,
            max_pixels: 7680 * 4320,
        }
    }
}

/// One sampled frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Keyframe {
    /// Seconds from the start of the sampled stream.
    pub seconds: f64,
    pub hashes: ImageHashes,
    /// Nearly uniform (black, white, a fade): not used for matching.
    pub flat: bool,
}

/// The keyframe hashes of one video.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VideoSignature {
    pub interval_seconds: f64,
    pub keyframes: Vec<Keyframe>,
    /// True when sampling stopped at [`VideoOptions::max_keyframes`].
    pub truncated: bool,
}

/// Container tags that tie a video to a device, a time and a place.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VideoMetadata {
    /// `com.apple.quicktime.creationdate` (local time with offset, as the phone wrote it),
    /// else the container's `creation_time` (UTC, often the muxing time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// The ISO 6709 string as stored (`+48.8584+002.2945+035.000/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Decimal degrees, north positive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps_latitude: Option<f64>,
    /// Decimal degrees, east positive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps_longitude: Option<f64>,
    /// Metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps_altitude: Option<f64>,
    /// Encoder or muxer (`encoder` tag): tells which program wrote the file last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoder: Option<String>,
}

impl VideoMetadata {
    /// True when no field was found.
    pub fn is_empty(&self) -> bool {
        *self == VideoMetadata::default()
    }
}

/// What ffprobe and the keyframes say about one video.
#[derive(Clone, Debug, Serialize)]
pub struct VideoInfo {
    /// ffprobe's demuxer name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, …).
    pub container: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Coded size of the first video stream (before rotation).
    pub width: u32,
    pub height: u32,
    /// Display rotation in degrees from the stream's display matrix or `rotate` tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<f64>,
    pub video_codec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_codec: Option<String>,
    pub metadata: VideoMetadata,
    pub signature: VideoSignature,
    /// The audio track's Chromaprint; `None` without an audio track (or when skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioFingerprint>,
    /// Problems that did not stop the inspection (decoder errors in a damaged stream, an
    /// audio track that could not be decoded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What `spirit media inspect` prints for a video.
#[derive(Clone, Debug, Serialize)]
pub struct VideoReport {
    pub file: String,
    pub bytes: u64,
    /// SHA-256 of the file: equal only for byte-identical copies.
    pub sha256: String,
    pub video: VideoInfo,
}

// ---------------------------------------------------------------------------------------
// Running the tools.

/// Output of one tool run: what `consume` returned, the exit status, the start of stderr,
/// and whether the timeout killed it.
struct Run<T> {
    value: T,
    status: ExitStatus,
    stderr: String,
    timed_out: bool,
}

/// First bytes of stderr kept for messages.
const STDERR_KEEP: usize = 8 * 1024;

/// Runs `cmd`, hands its stdout to `consume` while a watchdog kills it after `timeout`,
/// and keeps the first [`STDERR_KEEP`] bytes of stderr (the rest is drained).
fn run_tool<T>(
    name: &str,
    tool: &Path,
    mut cmd: Command,
    timeout: Duration,
    consume: impl FnOnce(&mut ChildStdout) -> std::io::Result<T>,
) -> Result<Run<T>, MediaError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child: Child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            MediaError::ToolMissing {
                name: name.to_string(),
                tool: tool.display().to_string(),
            }
        } else {
            video_err(name, format!("cannot run {}: {e}", tool.display()))
        }
    })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = STDERR_KEEP.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        String::from_utf8_lossy(&kept).into_owned()
    });
    let child = Arc::new(Mutex::new(child));
    let done = Arc::new((Mutex::new(false), Condvar::new()));
    let watchdog = {
        let child = Arc::clone(&child);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let (lock, cv) = &*done;
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (guard, res) = cv
                .wait_timeout_while(guard, timeout, |finished| !*finished)
                .unwrap_or_else(|p| p.into_inner());
            let fire = res.timed_out() && !*guard;
            drop(guard);
            if fire {
                let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
            }
            fire
        })
    };
    let result = consume(&mut stdout);
    // Whatever `consume` left unread is not wanted: closing the pipe (and killing the
    // process if it is still running) ends the run.
    drop(stdout);
    {
        let (lock, cv) = &*done;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }
    let timed_out = watchdog.join().unwrap_or(false);
    let status = {
        let mut c = child.lock().unwrap_or_else(|p| p.into_inner());
        if result.is_err() {
            let _ = c.kill();
        }
        c.wait()
            .map_err(|e| video_err(name, format!("waiting for {}: {e}", tool.display())))?
    };
    let stderr = err_reader.join().unwrap_or_default();
    if timed_out {
        return Err(video_err(
            name,
            format!(
                "{} did not finish within {} s (killed)",
                tool.display(),
                timeout.as_secs()
            ),
        ));
    }
    let value =
        result.map_err(|e| video_err(name, format!("reading from {}: {e}", tool.display())))?;
    Ok(Run {
        value,
        status,
        stderr,
        timed_out,
    })
}

fn video_err(name: &str, message: impl std::fmt::Display) -> MediaError {
    MediaError::Video {
        name: name.to_string(),
        message: message.to_string(),
    }
}

/// The first line of a tool's stderr, or its exit status.
fn first_line(stderr: &str, status: &ExitStatus) -> String {
    stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("exit status {status}"))
}

/// The file as ffmpeg's `file:` protocol URL: a name such as `http:x` or `-y` is then
/// only ever a local file.
fn file_url(path: &Path) -> std::ffi::OsString {
    let mut url = std::ffi::OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// Reads at most `limit` bytes; more is an error (the process is then killed).
fn read_capped(r: &mut impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(limit as u64 + 1).read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(std::io::Error::other(format!(
            "more than {limit} bytes of output"
        )));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// ffprobe.

#[derive(Debug, Default, Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    #[serde(default)]
    format: ProbeFormat,
}

#[derive(Debug, Default, Deserialize)]
struct ProbeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    #[serde(default)]
    tags: serde_json::Map<String, Value>,
    #[serde(default)]
    side_data_list: Vec<Value>,
    #[serde(default)]
    disposition: serde_json::Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
struct ProbeFormat {
    format_name: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    tags: serde_json::Map<String, Value>,
}

fn probe(path: &Path, name: &str, opts: &VideoOptions) -> Result<Probe, MediaError> {
    let mut cmd = Command::new(&opts.ffprobe);
    cmd.args([
        "-v",
        "error",
        "-hide_banner",
        "-protocol_whitelist",
        "file",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ])
    .arg(file_url(path));
    let limit = opts.max_probe_bytes;
    let run = run_tool(name, &opts.ffprobe, cmd, opts.timeout, |out| {
        read_capped(out, limit)
    })?;
    if !run.status.success() {
        return Err(video_err(
            name,
            format!(
                "not a readable video (ffprobe: {})",
                first_line(&run.stderr, &run.status)
            ),
        ));
    }
    serde_json::from_slice(&run.value)
        .map_err(|e| video_err(name, format!("unexpected ffprobe output: {e}")))
}

fn tag_str(tags: &serde_json::Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        tags.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    })
}

/// Metadata from the container's tags, falling back to the streams' tags.
fn metadata_from(probe: &Probe) -> VideoMetadata {
    let mut tag_sets = vec![&probe.format.tags];
    tag_sets.extend(probe.streams.iter().map(|s| &s.tags));
    let find = |keys: &[&str]| tag_sets.iter().find_map(|t| tag_str(t, keys));
    let location = find(&[
        "com.apple.quicktime.location.ISO6709",
        "location",
        "location-eng",
    ]);
    let parsed = location.as_deref().and_then(parse_iso6709);
    VideoMetadata {
        creation_time: find(&["com.apple.quicktime.creationdate", "creation_time", "date"]),
        make: find(&[
            "com.apple.quicktime.make",
            "com.android.manufacturer",
            "make",
        ]),
        model: find(&["com.apple.quicktime.model", "com.android.model", "model"]),
        software: find(&[
            "com.apple.quicktime.software",
            "com.android.version",
            "software",
        ]),
        gps_latitude: parsed.map(|p| p.0),
        gps_longitude: parsed.map(|p| p.1),
        gps_altitude: parsed.and_then(|p| p.2),
        location,
        encoder: tag_str(&probe.format.tags, &["encoder"]),
    }
}

fn parse_rate(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d): (f64, f64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    (d != 0.0 && n > 0.0 && (n / d).is_finite()).then(|| n / d)
}

fn rotation_of(stream: &ProbeStream) -> Option<f64> {
    stream
        .side_data_list
        .iter()
        .find_map(|sd| sd.get("rotation").and_then(Value::as_f64))
        .or_else(|| tag_str(&stream.tags, &["rotate"]).and_then(|r| r.parse().ok()))
        .filter(|r: &f64| r.is_finite())
}

/// Parses an ISO 6709 point (`±DD.D±DDD.D[±AAA.A][CRS…]/`, degrees or the `DDMM.M` and
/// `DDMMSS.S` forms) into latitude, longitude and altitude. `None` for anything else or
/// for coordinates out of range.
pub fn parse_iso6709(s: &str) -> Option<(f64, f64, Option<f64>)> {
    let s = s.trim();
    let s = s.strip_suffix('/').unwrap_or(s);
    // Split at signs: "+48.8584+002.2945+35.0" -> ["+48.8584", "+002.2945", "+35.0"].
    let mut parts: Vec<&str> = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c == '+' || c == '-' {
            if let Some(st) = start {
                parts.push(&s[st..i]);
            }
            start = Some(i);
        } else if c.is_ascii_alphabetic() {
            // "CRSxxxx" or a unit suffix ends the numbers.
            break;
        } else if !(c.is_ascii_digit() || c == '.') || start.is_none() {
            return None;
        }
    }
    let end = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    if let Some(st) = start
        && st < end
    {
        parts.push(&s[st..end]);
    }
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let lat = angle(parts[0], 2)?;
    let lon = angle(parts[1], 3)?;
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        return None;
    }
    let alt = match parts.get(2) {
        Some(a) => Some(a.parse::<f64>().ok().filter(|v| v.is_finite())?),
        None => None,
    };
    Some((lat, lon, alt))
}

/// One signed ISO 6709 angle whose degrees have `deg_digits` digits: `±DD[.D]`,
/// `±DDMM[.M]` or `±DDMMSS[.S]` (three-digit degrees for longitude).
fn angle(part: &str, deg_digits: usize) -> Option<f64> {
    let (sign, body) = match part.as_bytes().first()? {
        b'+' => (1.0, &part[1..]),
        b'-' => (-1.0, &part[1..]),
        _ => return None,
    };
    let int_len = body.find('.').unwrap_or(body.len());
    if int_len == 0 || body.matches('.').count() > 1 {
        return None;
    }
    let value: f64 = body.parse().ok()?;
    let frac = value - body[..int_len].parse::<f64>().ok()?;
    let digits = |a: usize, b: usize| body[a..b].parse::<f64>().ok();
    let d = deg_digits;
    let degrees = if int_len == d {
        value
    } else if int_len == d + 2 {
        let m = digits(d, d + 2)? + frac;
        if m >= 60.0 {
            return None;
        }
        digits(0, d)? + m / 60.0
    } else if int_len == d + 4 {
        let m = digits(d, d + 2)?;
        let sec = digits(d + 2, d + 4)? + frac;
        if m >= 60.0 || sec >= 60.0 {
            return None;
        }
        digits(0, d)? + m / 60.0 + sec / 3600.0
    } else {
        return None;
    };
    Some(sign * degrees)
}

// ---------------------------------------------------------------------------------------
// Keyframes and audio.

/// Grey standard deviation of a frame.
fn stddev(px: &[u8]) -> f32 {
    let n = px.len().max(1) as f64;
    let mean = px.iter().map(|&p| f64::from(p)).sum::<f64>() / n;
    let var = px
        .iter()
        .map(|&p| (f64::from(p) - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt() as f32
}

fn keyframes(
    path: &Path,
    name: &str,
    opts: &VideoOptions,
    warnings: &mut Vec<String>,
) -> Result<VideoSignature, MediaError> {
    if !(opts.interval_seconds.is_finite() && opts.interval_seconds > 0.0) {
        return Err(video_err(name, "the keyframe interval must be positive"));
    }
    let filter = format!(
        "fps=fps=1/{interval}:round=near,scale={s}:{s}:flags=area,format=gray",
        interval = opts.interval_seconds,
        s = FRAME_SIDE
    );
    let mut cmd = ffmpeg_reading(path, opts);
    cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn", "-vf"])
        .arg(&filter)
        .args(["-frames:v", &opts.max_keyframes.to_string()])
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]);
    let frame_bytes = (FRAME_SIDE * FRAME_SIDE) as usize;
    let max = opts.max_keyframes;
    let interval = opts.interval_seconds;
    let run = run_tool(name, &opts.ffmpeg, cmd, opts.timeout, |out| {
        let mut frames = Vec::new();
        let mut buf = vec![0u8; frame_bytes];
        while frames.len() < max {
            match out.read_exact(&mut buf) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
            let flat = stddev(&buf) < FLAT_STDDEV;
            let img = GrayImage::from_raw(FRAME_SIDE, FRAME_SIDE, buf.clone())
                .expect("the buffer holds one frame");
            frames.push(Keyframe {
                seconds: frames.len() as f64 * interval,
                hashes: hash_image(&DynamicImage::ImageLuma8(img)),
                flat,
            });
        }
        Ok(frames)
    })?;
    let frames = run.value;
    if frames.is_empty() {
        return Err(video_err(
            name,
            format!(
                "no frame could be decoded (ffmpeg: {})",
                first_line(&run.stderr, &run.status)
            ),
        ));
    }
    let truncated = frames.len() >= max;
    if !run.stderr.trim().is_empty() || (!run.status.success() && !truncated) {
        warnings.push(format!(
            "video decoding reported errors (the stream may be damaged or truncated): {}",
            first_line(&run.stderr, &run.status)
        ));
    }
    debug_assert!(!run.timed_out);
    Ok(VideoSignature {
        interval_seconds: interval,
        keyframes: frames,
        truncated,
    })
}

/// ffmpeg, quiet, reading `path` as a local file only (never a URL or a playlist's
/// references); the caller adds the output options.
fn ffmpeg_reading(path: &Path, opts: &VideoOptions) -> Command {
    let mut cmd = Command::new(&opts.ffmpeg);
    cmd.args([
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "file",
        "-i",
    ])
    .arg(file_url(path));
    cmd
}

fn audio_track(path: &Path, name: &str, opts: &VideoOptions) -> Result<AudioFingerprint, String> {
    let mut cmd = ffmpeg_reading(path, opts);
    cmd.args(["-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1", "-ar"])
        .arg(AUDIO_RATE.to_string())
        .args(["-t", &format!("{}", opts.max_audio_seconds)])
        .args(["-f", "s16le", "pipe:1"]);
    let limits = AudioLimits {
        max_file_bytes: u64::MAX,
        max_seconds: opts.max_audio_seconds,
    };
    let run = run_tool(name, &opts.ffmpeg, cmd, opts.timeout, |out| {
        Ok(fingerprint_pcm_reader(name, out, AUDIO_RATE, 1, &limits))
    })
    .map_err(|e| e.to_string())?;
    match run.value {
        Ok(fp) => Ok(fp),
        Err(e) => Err(format!(
            "{e} (ffmpeg: {})",
            first_line(&run.stderr, &run.status)
        )),
    }
}

/// Streams a file through SHA-256.
fn sha256_file(path: &Path) -> Result<String, MediaError> {
    let io = |source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut HashWriter(&mut h)).map_err(io)?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Probes, samples, hashes and fingerprints one video file.
pub fn inspect_video_file(path: &Path, opts: &VideoOptions) -> Result<VideoReport, MediaError> {
    let name = path.display().to_string();
    let len = std::fs::metadata(path)
        .map_err(|source| MediaError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if len > opts.max_file_bytes {
        return Err(MediaError::FileTooLarge {
            name,
            bytes: len,
            limit: opts.max_file_bytes,
        });
    }
    let probe = probe(path, &name, opts)?;
    let Some(vstream) = probe.streams.iter().find(|s| {
        s.codec_type.as_deref() == Some("video")
            // A cover picture in an audio file is a video stream too: not a video.
            && s.disposition.get("attached_pic").and_then(Value::as_i64) != Some(1)
    }) else {
        return Err(video_err(
            &name,
            "no video stream (an audio file? use the audio fingerprint)",
        ));
    };
    let (width, height) = (vstream.width.unwrap_or(0), vstream.height.unwrap_or(0));
    if u64::from(width) * u64::from(height) > opts.max_pixels {
        return Err(MediaError::TooManyPixels {
            name,
            width,
            height,
            limit: opts.max_pixels,
        });
    }
    let astream = probe
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"));
    let mut warnings = Vec::new();
    let signature = keyframes(path, &name, opts, &mut warnings)?;
    let audio = match astream {
        Some(_) if opts.max_audio_seconds > 0.0 => match audio_track(path, &name, opts) {
            Ok(fp) => Some(fp),
            Err(e) => {
                warnings.push(format!("audio track not fingerprinted: {e}"));
                None
            }
        },
        _ => None,
    };
    Ok(VideoReport {
        file: name.clone(),
        bytes: len,
        sha256: sha256_file(path)?,
        video: VideoInfo {
            container: probe.format.format_name.clone().unwrap_or_default(),
            duration_seconds: probe
                .format
                .duration
                .as_deref()
                .and_then(|d| d.parse().ok())
                .filter(|d: &f64| d.is_finite() && *d >= 0.0),
            width,
            height,
            rotation: rotation_of(vstream),
            frame_rate: vstream.avg_frame_rate.as_deref().and_then(parse_rate),
            video_codec: vstream.codec_name.clone().unwrap_or_default(),
            audio_codec: astream.and_then(|s| s.codec_name.clone()),
            metadata: metadata_from(&probe),
            signature,
            audio,
            warnings,
        },
    })
}

/// Whether ffprobe and ffmpeg can be run (for callers that want to say so up front).
pub fn tools_available(opts: &VideoOptions) -> Result<(), MediaError> {
    for tool in [&opts.ffprobe, &opts.ffmpeg] {
        let mut cmd = Command::new(tool);
        cmd.arg("-version");
        let run = run_tool("(tool check)", tool, cmd, Duration::from_secs(30), |out| {
            read_capped(out, 1 << 20)
        })?;
        if !run.status.success() {
            return Err(video_err(
                "(tool check)",
                format!("{} -version failed: {}", tool.display(), run.status),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Comparison.

/// When two keyframe signatures are the same video.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct VideoThresholds {
    /// Two keyframes match at [`hash_distance`] ≤ this (0–192).
    pub frame_distance: u32,
    /// Offsets within this many seconds count as one alignment.
    pub offset_tolerance: f64,
    /// [`MatchLevel::NearDuplicate`] needs this fraction of aligned keyframes …
    pub near_duplicate: f64,
    /// … [`MatchLevel::Similar`] this fraction of matched keyframes (any offset) …
    pub similar: f64,
    /// … and both at least this many keyframes (fewer if the shorter video has fewer).
    pub min_keyframes: usize,
}

impl Default for VideoThresholds {
    /// The image near-duplicate threshold per keyframe ([`HashThresholds::default`]),
    /// 1.5 s of offset tolerance, half of the keyframes aligned for a near duplicate, a
    /// quarter matched for similar, at least 3. Chosen before the video evaluation of
    /// `bench/media`, not fitted to it.
    fn default() -> Self {
        VideoThresholds {
            frame_distance: HashThresholds::default().near_duplicate,
            offset_tolerance: 1.5,
            near_duplicate: 0.5,
            similar: 0.25,
            min_keyframes: 3,
        }
    }
}

/// The outcome of [`compare_videos`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct VideoSimilarity {
    /// Informative (not flat) keyframes of each video.
    pub keyframes_left: usize,
    pub keyframes_right: usize,
    /// Keyframes of the video with fewer informative keyframes that have a match in the other.
    pub matched: usize,
    /// Of those, how many agree on the most common offset.
    pub aligned: usize,
    /// `matched` / informative keyframes of the shorter video.
    pub matched_fraction: f64,
    /// `aligned` / informative keyframes of the shorter video.
    pub aligned_fraction: f64,
    /// Seconds to add to a time in the left video to find it in the right one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_seconds: Option<f64>,
    /// Mean [`hash_distance`] of the aligned keyframes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_distance: Option<f64>,
    pub level: MatchLevel,
}

/// Compares two keyframe signatures (see the module docs). Symmetric in its outcome
/// except for the sign of the offset.
pub fn compare_videos(
    left: &VideoSignature,
    right: &VideoSignature,
    t: &VideoThresholds,
) -> VideoSimilarity {
    let informative = |s: &VideoSignature| -> Vec<Keyframe> {
        s.keyframes.iter().filter(|k| !k.flat).copied().collect()
    };
    let (l, r) = (informative(left), informative(right));
    let swapped = l.len() > r.len();
    let (short, long) = if swapped { (&r, &l) } else { (&l, &r) };
    // Best match of every keyframe of the shorter video: (offset, distance).
    let mut matches: Vec<(f64, u32)> = Vec::new();
    for k in short {
        let best = long
            .iter()
            .map(|o| (hash_distance(&k.hashes, &o.hashes), o.seconds - k.seconds))
            .min_by(|a, b| a.0.cmp(&b.0).then(a.1.abs().total_cmp(&b.1.abs())));
        if let Some((d, off)) = best
            && d <= t.frame_distance
        {
            matches.push((off, d));
        }
    }
    // The offset that most matches agree with (within the tolerance).
    let mut best: Option<(usize, f64, f64)> = None; // (count, offset, mean distance)
    for &(o, _) in &matches {
        let close: Vec<&(f64, u32)> = matches
            .iter()
            .filter(|(p, _)| (p - o).abs() <= t.offset_tolerance)
            .collect();
        let mean_off = close.iter().map(|c| c.0).sum::<f64>() / close.len() as f64;
        let mean_d = close.iter().map(|c| f64::from(c.1)).sum::<f64>() / close.len() as f64;
        if best.is_none_or(|b| close.len() > b.0) {
            best = Some((close.len(), mean_off, mean_d));
        }
    }
    let n = short.len();
    let frac = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let matched = matches.len();
    let aligned = best.map_or(0, |b| b.0);
    let need = t.min_keyframes.min(n).max(1);
    let level = if aligned >= need && frac(aligned) >= t.near_duplicate {
        MatchLevel::NearDuplicate
    } else if matched >= need && frac(matched) >= t.similar {
        MatchLevel::Similar
    } else {
        MatchLevel::Different
    };
    VideoSimilarity {
        keyframes_left: l.len(),
        keyframes_right: r.len(),
        matched,
        aligned,
        matched_fraction: frac(matched),
        aligned_fraction: frac(aligned),
        offset_seconds: best.map(|b| if swapped { -b.1 } else { b.1 }),
        mean_distance: best.map(|b| b.2),
        level,
    }
}
