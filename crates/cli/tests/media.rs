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
