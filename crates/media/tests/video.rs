//! Videos made in the test setup with ffmpeg: a slow pan over a photograph (the real
//! photographs of the Debian wallpaper packages when one is installed, e.g.
//! `lomiri-wallpapers-20.04`, else a synthetic picture) with a melody as its sound, then re-encoded at a low bitrate, scaled to
//! 50 %, trimmed by 30 %, mirrored and remuxed to WebM. The copies must match the
//! original and pans over other pictures must not.
//!
//! Tests that need ffmpeg print `SKIPPED` and pass when ffmpeg is not installed, unless
//! `SPIRIT_REQUIRE_FFMPEG` is set (CI sets it), in which case they fail.
#![cfg(feature = "video")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::Rng;
use proptest::prelude::*;
use spirit_media::MatchLevel;
use spirit_media::MediaError;
use spirit_media::audio::{AudioThresholds, audio_match};
use spirit_media::video::{
    VideoOptions, VideoReport, VideoThresholds, compare_videos, inspect_video_file, parse_iso6709,
    tools_available,
};

/// `true` when ffmpeg can be used; otherwise prints why the test is skipped, or fails
/// when `SPIRIT_REQUIRE_FFMPEG` is set.
fn ffmpeg_present(test: &str) -> bool {
    match tools_available(&VideoOptions::default()) {
        Ok(()) => true,
        Err(e) if std::env::var_os("SPIRIT_REQUIRE_FFMPEG").is_some() => {
            panic!("{test}: SPIRIT_REQUIRE_FFMPEG is set but ffmpeg cannot run: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: ffmpeg is not installed ({e}); apt-get install ffmpeg");
            false
        }
    }
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Real photographs (JPEG over 100 kB) from `$SPIRIT_TEST_PHOTOS`, by default
/// `/usr/share/backgrounds` where the Debian wallpaper packages put them, or synthetic
/// pictures written to `dir` when there are fewer than `n`.
fn photos(dir: &Path, n: usize) -> Vec<PathBuf> {
    let from = std::env::var_os("SPIRIT_TEST_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/backgrounds"));
    let mut real: Vec<PathBuf> = std::fs::read_dir(from)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"))
                && std::fs::metadata(p).is_ok_and(|m| m.len() > 100_000)
        })
        .collect();
    real.sort();
    if real.len() >= n {
        // Spread over the list: neighbours are often variants of one wallpaper.
        let step = real.len() / n;
        return (0..n).map(|i| real[i * step].clone()).collect();
    }
    eprintln!("note: no Debian wallpaper photographs installed; using synthetic pictures");
    (0..n)
        .map(|i| {
            let p = dir.join(format!("synthetic-{i}.png"));
            common::picture(100 + i as u64, 1600, 900)
                .save(&p)
                .expect("write picture");
            p
        })
        .collect()
}

/// A melody (a new note every 0.2 s from a seeded sequence) as a 16-bit mono WAV.
fn melody_wav(path: &Path, seed: u64, seconds: f64) {
    let rate = 22_050u32;
    let mut r = Rng::new(seed);
    let n = (seconds * f64::from(rate)) as usize;
    let note_len = (0.2 * f64::from(rate)) as usize;
    let (mut freq, mut phase) = (440.0f64, 0.0f64);
    let mut data = Vec::with_capacity(2 * n);
    for i in 0..n {
        if i % note_len == 0 {
            let semitone = (r.next_u64() % 24) as f64 - 12.0;
            freq = 440.0 * 2f64.powf(semitone / 12.0);
        }
        phase += 2.0 * std::f64::consts::PI * freq / f64::from(rate);
        let s = 0.5 * phase.sin() + 0.25 * (2.0 * phase).sin();
        data.extend_from_slice(&((s * 30000.0) as i16).to_le_bytes());
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    std::fs::write(path, out).expect("write wav");
}

/// A 10 s, 25 fps, 480×270 H.264/AAC clip panning slowly across `photo` (starting at
/// `x0` of the photo scaled to 1,600 px wide), with the melody of `seed` as sound.
fn pan_clip(photo: &Path, x0: u32, seed: u64, out: &Path) {
    let wav = out.with_extension("wav");
    melody_wav(&wav, seed, 10.0);
    // Scale the photograph once, not once per frame.
    let still = out.with_extension("still.png");
    ffmpeg(&[
        "-i",
        photo.to_str().unwrap(),
        "-vf",
        "scale=800:450:force_original_aspect_ratio=increase,crop=800:450",
        still.to_str().unwrap(),
    ]);
    let photo = still.as_path();
    let x0 = x0 / 2;
    let filter = format!("crop=400:225:x='{x0}+t*15':y='100-t*5',scale=480:270,format=yuv420p");
    ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "25",
        "-t",
        "10",
        "-i",
        photo.to_str().unwrap(),
        "-i",
        wav.to_str().unwrap(),
        "-vf",
        &filter,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-shortest",
        out.to_str().unwrap(),
    ]);
}

fn inspect(path: &Path) -> VideoReport {
    inspect_video_file(path, &VideoOptions::default())
        .unwrap_or_else(|e| panic!("inspect {}: {e}", path.display()))
}

#[test]
fn copies_match_after_reencoding_scaling_trimming_and_mirroring() {
    if !ffmpeg_present("copies_match") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let photo = &photos(dir.path(), 1)[0];
    let orig = dir.path().join("orig.mp4");
    pan_clip(photo, 100, 1, &orig);
    let o = orig.to_str().unwrap();
    let variants: Vec<(&str, Vec<&str>)> = vec![
        (
            "lowrate.mp4",
            vec![
                "-i", o, "-c:v", "libx264", "-b:v", "80k", "-c:a", "aac", "-b:a", "48k",
            ],
        ),
        (
            "half.mp4",
            vec![
                "-i",
                o,
                "-vf",
                "scale=240:136",
                "-c:v",
                "libx264",
                "-c:a",
                "copy",
            ],
        ),
        (
            "trim30.mp4",
            vec!["-ss", "3", "-i", o, "-c:v", "libx264", "-c:a", "aac"],
        ),
        (
            "mirror.mp4",
            vec!["-i", o, "-vf", "hflip", "-c:v", "libx264", "-c:a", "copy"],
        ),
        (
            "other.webm",
            vec![
                "-i",
                o,
                "-c:v",
                "libvpx",
                "-b:v",
                "300k",
                "-c:a",
                "libvorbis",
            ],
        ),
    ];
    let a = inspect(&orig);
    assert_eq!(
        a.video.signature.keyframes.len(),
        10,
        "one keyframe a second"
    );
    assert!(a.video.warnings.is_empty(), "{:?}", a.video.warnings);
    assert_eq!((a.video.width, a.video.height), (480, 270));
    assert_eq!(a.video.video_codec, "h264");
    let a_audio = a.video.audio.as_ref().expect("the clip has sound");
    assert!((a_audio.seconds - 10.0).abs() < 0.5, "{}", a_audio.seconds);
    for (file, args) in &variants {
        let path = dir.path().join(file);
        let mut full = args.clone();
        full.push(path.to_str().unwrap());
        ffmpeg(&full);
        let b = inspect(&path);
        let sim = compare_videos(
            &a.video.signature,
            &b.video.signature,
            &VideoThresholds::default(),
        );
        assert_eq!(sim.level, MatchLevel::NearDuplicate, "{file}: {sim:?}");
        let m = audio_match(
            a_audio,
            b.video.audio.as_ref().expect("the copy has sound"),
            &AudioThresholds::default(),
        );
        assert!(m.is_some(), "{file}: sound not matched");
        if *file == "trim30.mp4" {
            assert!(b.video.signature.keyframes.len() == 7, "{b:?}");
            let off = sim.offset_seconds.unwrap();
            assert!((off + 3.0).abs() <= 1.0, "offset {off}");
            let m = m.unwrap();
            assert!((m.start_left - m.start_right - 3.0).abs() < 0.5, "{m:?}");
        }
    }
}

#[test]
fn pans_over_other_pictures_do_not_match() {
    if !ffmpeg_present("other_pictures") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pics = photos(dir.path(), 3);
    let mut reports = Vec::new();
    for (i, p) in pics.iter().enumerate() {
        let out = dir.path().join(format!("clip{i}.mp4"));
        pan_clip(p, 100, 10 + i as u64, &out);
        reports.push(inspect(&out));
        let informative = reports[i]
            .video
            .signature
            .keyframes
            .iter()
            .filter(|k| !k.flat)
            .count();
        assert!(
            informative >= 5,
            "{}: too little texture to test",
            p.display()
        );
    }
    // A pan over another part of the first photograph is another video too.
    let other_part = dir.path().join("clip0b.mp4");
    pan_clip(&pics[0], 500, 20, &other_part);
    reports.push(inspect(&other_part));
    for i in 0..reports.len() {
        for j in i + 1..reports.len() {
            let (a, b) = (&reports[i].video, &reports[j].video);
            let sim = compare_videos(&a.signature, &b.signature, &VideoThresholds::default());
            assert_eq!(sim.level, MatchLevel::Different, "{i} vs {j}: {sim:?}");
            let m = audio_match(
                a.audio.as_ref().unwrap(),
                b.audio.as_ref().unwrap(),
                &AudioThresholds::default(),
            );
            assert!(m.is_none(), "{i} vs {j}: {m:?}");
        }
    }
}

#[test]
fn container_metadata_is_read_exactly() {
    if !ffmpeg_present("metadata") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mov = dir.path().join("phone.mov");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=10:duration=2",
        "-c:v",
        "libx264",
        "-metadata",
        "creation_time=2024-05-01T10:20:30Z",
        "-metadata",
        "com.apple.quicktime.make=Apple",
        "-metadata",
        "com.apple.quicktime.model=iPhone 12 Pro",
        "-metadata",
        "com.apple.quicktime.software=17.4.1",
        "-metadata",
        "com.apple.quicktime.creationdate=2024-05-01T12:20:30+0200",
        "-metadata",
        "com.apple.quicktime.location.ISO6709=+48.8584+002.2945+035.000/",
        "-movflags",
        "use_metadata_tags",
        mov.to_str().unwrap(),
    ]);
    let r = inspect(&mov);
    let m = &r.video.metadata;
    assert_eq!(m.make.as_deref(), Some("Apple"));
    assert_eq!(m.model.as_deref(), Some("iPhone 12 Pro"));
    assert_eq!(m.software.as_deref(), Some("17.4.1"));
    assert_eq!(m.creation_time.as_deref(), Some("2024-05-01T12:20:30+0200"));
    assert_eq!(m.gps_latitude, Some(48.8584));
    assert_eq!(m.gps_longitude, Some(2.2945));
    assert_eq!(m.gps_altitude, Some(35.0));
    assert!(r.video.audio.is_none());
    assert_eq!(r.video.signature.keyframes.len(), 2);

    // Android-style MP4: `location` in the udta box, plain `make`/`model` absent.
    let mp4 = dir.path().join("android.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=10:duration=1",
        "-c:v",
        "libx264",
        "-metadata",
        "creation_time=2023-01-02T03:04:05Z",
        "-metadata",
        "location=-33.8568+151.2153/",
        mp4.to_str().unwrap(),
    ]);
    let m = inspect(&mp4).video.metadata;
    assert_eq!(
        m.creation_time.as_deref(),
        Some("2023-01-02T03:04:05.000000Z")
    );
    assert_eq!(m.gps_latitude, Some(-33.8568));
    assert_eq!(m.gps_longitude, Some(151.2153));
    assert_eq!(m.gps_altitude, None);
    assert!(m.make.is_none() && m.model.is_none());
}

fn video_error(path: &Path, opts: &VideoOptions) -> String {
    let err = inspect_video_file(path, opts).expect_err("must fail");
    let text = err.to_string();
    assert!(
        text.starts_with(&path.display().to_string()),
        "the error names the file: {text}"
    );
    text
}

#[test]
fn corrupt_truncated_and_unsupported_files_give_clear_errors() {
    if !ffmpeg_present("bad_files") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = VideoOptions::default();
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is not a video\n".repeat(50)).unwrap();
    let e = video_error(&text, &opts);
    assert!(e.contains("not a readable video"), "{e}");

    // MP4 with its index at the end, cut in half: the index is gone.
    let full = dir.path().join("full.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=6",
        "-c:v",
        "libx264",
        full.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = video_error(&cut, &opts);
    assert!(e.contains("cannot read video"), "{e}");

    // MPEG-TS cut in half and damaged in the middle: what can be decoded is used, and
    // the report warns.
    let ts = dir.path().join("full.ts");
    ffmpeg(&[
        "-i",
        full.to_str().unwrap(),
        "-c",
        "copy",
        ts.to_str().unwrap(),
    ]);
    let mut bytes = std::fs::read(&ts).unwrap();
    bytes.truncate(bytes.len() / 2);
    let mid = bytes.len() / 3;
    for b in &mut bytes[mid..mid + 4000] {
        *b = 0x5a;
    }
    let damaged = dir.path().join("damaged.ts");
    std::fs::write(&damaged, &bytes).unwrap();
    let r = inspect_video_file(&damaged, &opts).expect("partly readable");
    let n = r.video.signature.keyframes.len();
    assert!((1..=4).contains(&n), "{n} keyframes");
    assert!(!r.video.warnings.is_empty(), "a warning for the damage");

    // An audio file is not a video.
    let wav = dir.path().join("voice.wav");
    melody_wav(&wav, 3, 2.0);
    let e = video_error(&wav, &opts);
    assert!(e.contains("no video stream"), "{e}");

    // A name that looks like a URL or an option is only ever a local file.
    let odd = dir.path().join("http:example.com");
    std::fs::copy(&full, &odd).unwrap();
    assert_eq!(inspect(&odd).video.signature.keyframes.len(), 6);

    // Over the size limit: refused before any tool runs.
    let small = VideoOptions {
        max_file_bytes: 1000,
        ..VideoOptions::default()
    };
    let e = video_error(&full, &small);
    assert!(e.contains("over the limit"), "{e}");
    // Frames larger than allowed: refused from ffprobe's header, before decoding.
    let few_pixels = VideoOptions {
        max_pixels: 320 * 240 - 1,
        ..VideoOptions::default()
    };
    let e = video_error(&full, &few_pixels);
    assert!(e.contains("320x240 pixels is over the limit"), "{e}");
}

#[test]
fn a_missing_tool_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("clip.mp4");
    std::fs::write(&f, b"x").unwrap();
    let opts = VideoOptions {
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
        ..VideoOptions::default()
    };
    let err = inspect_video_file(&f, &opts).unwrap_err();
    assert!(matches!(err, MediaError::ToolMissing { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/ffprobe") && text.contains("ffmpeg"),
        "{text}"
    );
}

/// A stand-in ffprobe (a shell script) that hangs, or floods its output.
#[cfg(unix)]
fn fake_tool(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[cfg(unix)]
#[test]
fn a_hanging_tool_is_killed_and_a_flood_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("clip.mp4");
    std::fs::write(&f, b"x").unwrap();
    let hang = VideoOptions {
        ffprobe: fake_tool(dir.path(), "hang", "exec sleep 30"),
        timeout: Duration::from_millis(300),
        ..VideoOptions::default()
    };
    let started = std::time::Instant::now();
    let e = video_error(&f, &hang);
    assert!(e.contains("did not finish within"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let flood = VideoOptions {
        ffprobe: fake_tool(dir.path(), "flood", "exec yes"),
        max_probe_bytes: 10_000,
        ..VideoOptions::default()
    };
    let e = video_error(&f, &flood);
    assert!(e.contains("more than 10000 bytes"), "{e}");
}

#[test]
fn iso6709_points() {
    assert_eq!(
        parse_iso6709("+48.8584+002.2945+035.000/"),
        Some((48.8584, 2.2945, Some(35.0)))
    );
    assert_eq!(
        parse_iso6709("-33.8568+151.2153/"),
        Some((-33.8568, 151.2153, None))
    );
    // Degrees and minutes, and degrees, minutes and seconds.
    let (lat, lon, _) = parse_iso6709("+4851.50+00217.67/").unwrap();
    assert!((lat - 48.858_333).abs() < 1e-5 && (lon - 2.294_5).abs() < 1e-5);
    let (lat, lon, _) = parse_iso6709("+485130-0021740/").unwrap();
    assert!((lat - 48.858_333).abs() < 1e-5 && (lon + 2.294_444).abs() < 1e-5);
    // A coordinate reference system suffix.
    assert_eq!(
        parse_iso6709("+35.6586+139.7454+10.5CRSWGS_84/"),
        Some((35.6586, 139.7454, Some(10.5)))
    );
    for bad in [
        "",
        "/",
        "48.85 2.29",
        "+91.0+000.0/",
        "+10.0+181.0/",
        "+1+2+3+4/",
        "+4860.0+00200.0/",
    ] {
        assert_eq!(parse_iso6709(bad), None, "{bad:?}");
    }
}

proptest! {
    #[test]
    fn iso6709_never_panics(s in "[-+0-9./CRSWG_A-Z]{0,40}") {
        if let Some((lat, lon, _)) = parse_iso6709(&s) {
            prop_assert!(lat.abs() <= 90.0 && lon.abs() <= 180.0);
        }
    }
}
