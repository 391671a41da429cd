//! `spirit ingest` of a seized folder and of forum posts, and `spirit media similar`,
//! through the real binary. Fixtures are made here: pictures drawn with `image`, an
//! EXIF block (camera make and body serial) written into a PNG `eXIf` chunk by hand.

use std::path::Path;
use std::process::Command;

fn spirit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spirit"))
        .arg("--quiet")
        .args(args)
        .output()
        .expect("spirit runs")
}

fn ok(args: &[&str]) -> String {
    let out = spirit(args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn scene(x: u32, y: u32) -> [u8; 3] {
    let (dx, dy) = (x as i32 - 80, y as i32 - 90);
    let disc = if dx * dx + dy * dy < 40 * 40 { 120 } else { 0 };
    let v = ((x + 2 * y) / 3) as u8 / 2 + disc;
    [v, v / 2, 255 - v]
}

fn png(f: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(256, 192, |x, y| image::Rgb(f(x, y)));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A little-endian TIFF block: IFD0 with Make and a pointer to an Exif IFD holding
/// BodySerialNumber (0xA431).
fn exif_block(make: &str, serial: &str) -> Vec<u8> {
    let make = format!("{make}\0");
    let serial = format!("{serial}\0");
    let ifd0 = 8u32;
    let make_at = ifd0 + 2 + 2 * 12 + 4;
    let exif_at = make_at + make.len() as u32;
    let serial_at = exif_at + 2 + 12 + 4;
    let mut t = b"II\x2a\x00".to_vec();
    t.extend(ifd0.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: u32| {
        t.extend(tag.to_le_bytes());
        t.extend(typ.to_le_bytes());
        t.extend(count.to_le_bytes());
        t.extend(value.to_le_bytes());
    };
    t.extend(2u16.to_le_bytes());
    entry(&mut t, 0x010f, 2, make.len() as u32, make_at);
    entry(&mut t, 0x8769, 4, 1, exif_at);
    t.extend(0u32.to_le_bytes());
    t.extend(make.as_bytes());
    t.extend(1u16.to_le_bytes());
    entry(&mut t, 0xa431, 2, serial.len() as u32, serial_at);
    t.extend(0u32.to_le_bytes());
    t.extend(serial.as_bytes());
    t
}

/// The PNG with an `eXIf` chunk inserted after IHDR.
fn with_exif(png: &[u8], exif: &[u8]) -> Vec<u8> {
    let ihdr_end = 8 + 4 + 4 + 13 + 4;
    let mut chunk = (exif.len() as u32).to_be_bytes().to_vec();
    let mut body = b"eXIf".to_vec();
    body.extend(exif);
    chunk.extend(&body);
    chunk.extend(crc32(&body).to_be_bytes());
    let mut out = png[..ihdr_end].to_vec();
    out.extend(chunk);
    out.extend(&png[ihdr_end..]);
    out
}

#[test]
fn a_seized_folder_and_posts_are_ingested_and_photos_found_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("seized");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let serial = "CN4021337";
    std::fs::write(
        root.join("a.png"),
        with_exif(&png(scene), &exif_block("Canon", serial)),
    )
    .unwrap();
    std::fs::write(root.join("sub/mirror.png"), png(|x, y| scene(255 - x, y))).unwrap();
    std::fs::write(
        root.join("other.png"),
        png(|x, y| {
            let v = (((x / 16) + (y / 16)) % 2 * 200) as u8;
            [v, 255 - v, v / 3]
        }),
    )
    .unwrap();
    std::fs::write(root.join("broken.jpg"), b"\xff\xd8\xff\xe0 truncated").unwrap();
    std::fs::write(root.join("clip.mp4"), b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom").unwrap();
    // A real video with a place in its container, when ffmpeg is there (CI requires it).
    let have_ffmpeg = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_ffmpeg {
        assert!(
            std::env::var_os("SPIRIT_REQUIRE_FFMPEG").is_none(),
            "SPIRIT_REQUIRE_FFMPEG is set but ffmpeg is missing"
        );
        eprintln!("SKIPPED the video part: ffmpeg is not installed (apt-get install ffmpeg)");
    } else {
        let out = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg("testsrc2=size=160x120:rate=10:duration=2")
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-metadata"])
            .arg("location=-33.8568+151.2153/")
            .arg(root.join("sub/walk.mp4"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(
        root.join("shop.html"),
        "<html><head><title>Shop</title></head><body><p>Pay 1BoatSLRHtKNngkdXEeobR76b53LETtpyT \
         or visit 2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion</p></body></html>",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", root.join("escape")).unwrap();

    let ws = dir.path().join("ws");
    let s = |p: &Path| p.display().to_string();
    ok(&["init", &s(&ws)]);
    let out = ok(&["ingest", &s(&ws), "--source", "seized", &s(&root), "--json"]);
    let reports: serde_json::Value = serde_json::from_str(&out).unwrap();
    let r = &reports[0];
    assert_eq!(r["stored"]["image"], 3, "{r}");
    assert_eq!(r["stored"]["html"], 1, "{r}");
    let skipped = r["skipped"].to_string();
    assert!(skipped.contains("broken.jpg"), "{skipped}");
    // The truncated video is skipped with its reason; the real one is a record.
    assert!(
        skipped.contains("clip.mp4") && skipped.contains("video:"),
        "{skipped}"
    );
    let videos = u64::from(have_ffmpeg);
    assert_eq!(r["stored"]["video"].as_u64().unwrap_or(0), videos, "{r}");
    if have_ffmpeg {
        let rec = ok(&["record", &s(&ws), "seized:file:sub/walk.mp4"]);
        assert!(rec.contains("image_hash"), "{rec}");
        assert!(rec.contains("geo_position"), "{rec}");
        assert!(rec.contains("-33.85"), "{rec}");
    }
    #[cfg(unix)]
    assert!(skipped.contains("symbolic link"), "{skipped}");
    // Idempotent.
    let again = ok(&["ingest", &s(&ws), "--source", "seized", &s(&root), "--json"]);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again[0]["already_stored"], 4 + videos, "{again}");

    // The serial from EXIF is an attribute of the photo's record, searchable.
    let rec = ok(&["record", &s(&ws), "seized:file:a.png"]);
    assert!(
        rec.contains("camera_serial") && rec.contains(&format!("canon:{serial}")),
        "{rec}"
    );
    assert!(rec.contains("image_hash"), "{rec}");
    let page = ok(&["record", &s(&ws), "seized:file:shop.html"]);
    assert!(
        page.contains("1BoatSLRHtKNngkdXEeobR76b53LETtpyT") && page.contains("onion_address"),
        "{page}"
    );

    // Near-duplicates of the photo: itself and the mirrored copy, not the checkerboard.
    let out = ok(&[
        "media",
        "similar",
        &s(&ws),
        &s(&root.join("a.png")),
        "--json",
    ]);
    let hits: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records: Vec<&str> = hits.iter().map(|h| h["record"].as_str().unwrap()).collect();
    assert_eq!(
        records,
        ["seized:file:a.png", "seized:file:sub/mirror.png"],
        "{out}"
    );
    assert_eq!(hits[0]["distance"], 0);
    assert_eq!(hits[1]["mirrored"], true, "{out}");
    let table = ok(&["media", "similar", &s(&ws), &s(&root.join("a.png"))]);
    assert!(
        table.contains("near_duplicate") && table.contains("2 stored images"),
        "{table}"
    );

    // Posts: bad lines quarantined with file:line, accounts collect the mentions.
    let posts = dir.path().join("posts.jsonl");
    std::fs::write(
        &posts,
        "{\"author\":\"seller1\",\"forum\":\"dread\",\"body\":\"btc 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\"}\n\
         not json\n",
    )
    .unwrap();
    let out = ok(&[
        "ingest",
        &s(&ws),
        "--source",
        "market_x",
        "--format",
        "posts",
        &s(&posts),
    ]);
    assert!(
        out.contains("1 stored")
            && out.contains("1 accounts created")
            && out.contains("1 quarantined"),
        "{out}"
    );
    let found = ok(&["search", &s(&ws), "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"]);
    assert!(
        found.contains("account:dread:seller1") && found.contains("seized:file:shop.html"),
        "{found}"
    );

    ok(&["resolve", &s(&ws)]);
    let acc = ok(&["record", &s(&ws), "market_x:account:dread:seller1"]);
    let entity = acc
        .split("entity ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let view = ok(&["entity", &s(&ws), &entity]);
    assert!(view.contains("found in:"), "{view}");
    assert!(view.contains("posts.jsonl:1, bytes 4–38"), "{view}");
}
