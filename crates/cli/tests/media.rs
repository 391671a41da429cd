//! `spirit media` through the real binary: a picture and its mirror are one picture, an
//! unrelated one is not, and a corrupt file is named while the others are still reported.

use std::path::Path;
use std::process::Command;

fn spirit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spirit"))
        .args(args)
        .output()
        .expect("spirit runs")
}

/// A 256 × 192 picture drawn by `f(x, y)`, saved as PNG.
fn picture(path: &Path, f: impl Fn(u32, u32) -> [u8; 3]) {
    let img = image::RgbImage::from_fn(256, 192, |x, y| image::Rgb(f(x, y)));
    img.save(path).unwrap();
}

fn scene(x: u32, y: u32) -> [u8; 3] {
    // A bright disc left of centre over a diagonal ramp: not symmetric.
    let (dx, dy) = (x as i32 - 80, y as i32 - 90);
    let disc = if dx * dx + dy * dy < 40 * 40 { 120 } else { 0 };
    let v = ((x + 2 * y) / 3) as u8 / 2 + disc;
    [v, v / 2, 255 - v]
}

#[test]
fn mirrored_pictures_match_and_corrupt_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (a, m, other, bad) = (
        dir.path().join("a.png"),
        dir.path().join("mirror.png"),
        dir.path().join("other.png"),
        dir.path().join("broken.jpg"),
    );
    picture(&a, scene);
    picture(&m, |x, y| scene(255 - x, y));
    picture(&other, |x, y| {
        let v = (((x / 16) + (y / 16)) % 2 * 200) as u8;
        [v, 255 - v, v / 3]
    });
    std::fs::write(&bad, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
    let s = |p: &Path| p.display().to_string();

    let out = spirit(&["media", "inspect", &s(&a), &s(&bad), &s(&other)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.jpg"), "{err}");
    let reports: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 2, "the readable files are still reported");
    assert_eq!(reports[0]["format"], "png");
    assert_eq!(reports[0]["width"], 256);

    let compare = |x: &Path, y: &Path| -> serde_json::Value {
        let out = spirit(&["media", "compare", &s(x), &s(y)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let mirrored = compare(&a, &m);
    assert_eq!(
        mirrored["similarity"]["level"], "near_duplicate",
        "{mirrored}"
    );
    assert_eq!(mirrored["similarity"]["mirrored"], true);
    assert_eq!(mirrored["identical_bytes"], false);
    let unrelated = compare(&a, &other);
    assert_eq!(unrelated["similarity"]["level"], "different", "{unrelated}");
}

/// A video made with ffmpeg: `inspect` gives its `video` object (metadata, keyframes),
/// `compare` matches a half-size copy. Skipped (with a message) when ffmpeg is absent,
/// unless SPIRIT_REQUIRE_FFMPEG is set.
#[test]
fn videos_are_inspected_and_compared() {
    let ffmpeg = |args: &[&str]| {
        Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y"])
            .args(args)
            .status()
    };
    if !ffmpeg(&["-version"]).is_ok_and(|s| s.success()) {
        assert!(
            std::env::var_os("SPIRIT_REQUIRE_FFMPEG").is_none(),
            "SPIRIT_REQUIRE_FFMPEG is set but ffmpeg cannot run"
        );
        eprintln!("SKIPPED videos_are_inspected_and_compared: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (clip, half) = (dir.path().join("clip.mov"), dir.path().join("half.mp4"));
    let s = |p: &Path| p.display().to_string();
    let ok = ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=10:duration=4",
        "-c:v",
        "libx264",
        "-metadata",
        "location=+48.8584+002.2945/",
        "-metadata",
        "make=Apple",
        "-movflags",
        "use_metadata_tags",
        &s(&clip),
    ])
    .unwrap();
    assert!(ok.success());
    let ok = ffmpeg(&["-i", &s(&clip), "-vf", "scale=160:120", &s(&half)]).unwrap();
    assert!(ok.success());

    let out = spirit(&["media", "inspect", &s(&clip)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &r["video"];
    assert_eq!(v["video_codec"], "h264");
    assert_eq!(v["metadata"]["make"], "Apple");
    assert_eq!(v["metadata"]["gps_latitude"], 48.8584);
    assert_eq!(v["signature"]["keyframes"].as_array().unwrap().len(), 4);

    let out = spirit(&["media", "compare", &s(&clip), &s(&half)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["keyframes"]["level"], "near_duplicate", "{c}");
}
