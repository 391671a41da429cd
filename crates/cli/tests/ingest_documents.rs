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
    let have_ffmpeg = tool_available("ffmpeg", "-version", "SPIRIT_REQUIRE_FFMPEG", "ffmpeg");
    if have_ffmpeg {
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

/// A photo whose serial and GPS position were written by exiftool (the tool of the test
/// setup: CI installs it and sets `SPIRIT_REQUIRE_EXIFTOOL`; elsewhere the test is
/// skipped when it is missing): both are stored exactly, as attributes and mentions.
#[test]
fn exif_serial_and_gps_written_by_exiftool_are_stored_exactly() {
    if !tool_available(
        "exiftool",
        "-ver",
        "SPIRIT_REQUIRE_EXIFTOOL",
        "libimage-exiftool-perl",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("phone");
    std::fs::create_dir_all(&root).unwrap();
    let photo = root.join("IMG_0001.png");
    std::fs::write(&photo, png(scene)).unwrap();
    // Westminster (north, west) and Sydney (south, east): every sign of a position.
    let out = Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            "-Make=NIKON CORPORATION",
            "-SerialNumber=3021455",
            "-GPSLatitude=51.500729",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=0.124625",
            "-GPSLongitudeRef=W",
        ])
        .arg(&photo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let south = root.join("IMG_0002.png");
    std::fs::write(&south, png(|x, y| scene(x, 191 - y))).unwrap();
    let out = Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            "-GPSLatitude=33.856784",
            "-GPSLatitudeRef=S",
            "-GPSLongitude=151.215297",
            "-GPSLongitudeRef=E",
        ])
        .arg(&south)
        .output()
        .unwrap();
    assert!(out.status.success());

    let ws = dir.path().join("ws");
    let s = |p: &Path| p.display().to_string();
    ok(&["init", &s(&ws)]);
    ok(&["ingest", &s(&ws), "--source", "phone", &s(&root)]);
    let attrs = |key: &str| -> Vec<(String, String)> {
        let rec: serde_json::Value =
            serde_json::from_str(&ok(&["record", &s(&ws), key, "--json"])).unwrap();
        rec["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a[0].as_str().unwrap().to_string(),
                    a[2].as_str().unwrap_or("(missing)").to_string(),
                )
            })
            .collect()
    };
    let first = attrs("phone:file:IMG_0001.png");
    let value = |attrs: &[(String, String)], kind: &str| {
        attrs
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        value(&first, "geo_position").as_deref(),
        Some("51.5007,-0.1246"),
        "{first:?}"
    );
    assert_eq!(
        value(&first, "camera_serial").as_deref(),
        Some("nikon:3021455"),
        "{first:?}"
    );
    let second = attrs("phone:file:IMG_0002.png");
    assert_eq!(
        value(&second, "geo_position").as_deref(),
        Some("-33.8568,151.2153"),
        "{second:?}"
    );
    assert_eq!(value(&second, "camera_serial"), None, "{second:?}");
    // The raw degrees in the payload match what was written to 6 decimals.
    let rec: serde_json::Value = serde_json::from_str(&ok(&[
        "record",
        &s(&ws),
        "phone:file:IMG_0001.png",
        "--json",
    ]))
    .unwrap();
    let payload: serde_json::Value =
        serde_json::from_str(rec["payload"].as_str().unwrap()).unwrap();
    let exif = &payload["image"]["exif"];
    let lat = exif["gps_latitude"].as_f64().unwrap();
    let lon = exif["gps_longitude"].as_f64().unwrap();
    assert!((lat - 51.500729).abs() < 5e-7, "{lat}");
    assert!((lon + 0.124625).abs() < 5e-7, "{lon}");
}

/// `spirit media similar` searches the keyframes of stored videos: a still of a video
/// finds the video and where in it; a video finds the stored picture of one of its
/// scenes. Needs ffmpeg (CI requires it through `SPIRIT_REQUIRE_FFMPEG`).
#[test]
fn media_similar_searches_video_keyframes() {
    if !tool_available("ffmpeg", "-version", "SPIRIT_REQUIRE_FFMPEG", "ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenes = dir.path().join("scenes");
    let root = dir.path().join("seized");
    std::fs::create_dir_all(&scenes).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    // Smooth scenes (discs on gradients): pHash is stable for them through H.264.
    let disc = |x: u32, y: u32, cx: i32, cy: i32, r: i32| {
        let (dx, dy) = (x as i32 - cx, y as i32 - cy);
        dx * dx + dy * dy < r * r
    };
    let two_discs = move |x: u32, y: u32| {
        let v = (255 - x) / 2
            + if disc(x, y, 190, 50, 35) { 120 } else { 0 }
            + if disc(x, y, 60, 150, 25) { 90 } else { 0 };
        let v = v.min(255) as u8;
        [v / 3, v, 255 - v]
    };
    let lamp = move |x: u32, y: u32| {
        let v = y / 2
            + if disc(x, y, 128, 60, 30) { 140 } else { 0 }
            + if disc(x, y, 40, 40, 20) { 100 } else { 0 };
        let v = v.min(255) as u8;
        [v, v, v / 2]
    };
    std::fs::write(scenes.join("0.png"), png(scene)).unwrap();
    std::fs::write(scenes.join("1.png"), png(two_discs)).unwrap();
    std::fs::write(scenes.join("2.png"), png(lamp)).unwrap();
    // Three scenes of 3 s each.
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y"]);
    for i in 0..3 {
        cmd.args(["-loop", "1", "-t", "3", "-i"])
            .arg(scenes.join(format!("{i}.png")));
    }
    let out = cmd
        .args(["-filter_complex", "concat=n=3:v=1:a=0", "-r", "10"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(root.join("scenes.mp4"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Stored beside the video: the first scene as a picture.
    std::fs::copy(scenes.join("0.png"), root.join("opening.png")).unwrap();
    let ws = dir.path().join("ws");
    let s = |p: &Path| p.display().to_string();
    ok(&["init", &s(&ws)]);
    ok(&["ingest", &s(&ws), "--source", "seized", &s(&root)]);
    let similar = |query: &Path| -> Vec<serde_json::Value> {
        ok(&["media", "similar", &s(&ws), &s(query), "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };

    // A still of the second scene, never stored as a picture, finds the video there.
    let hits = similar(&scenes.join("1.png"));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["record"], "seized:file:scenes.mp4");
    assert_eq!(hits[0]["media"], "video");
    assert_eq!(hits[0]["level"], "near_duplicate", "{hits:?}");
    let at = hits[0]["stored_seconds"].as_f64().unwrap();
    assert!((3.0..6.0).contains(&at), "{at}");
    assert!(hits[0]["query_seconds"].is_null());

    // The video finds itself and the stored picture of its opening scene.
    let hits = similar(&root.join("scenes.mp4"));
    let mut records: Vec<&str> = hits.iter().map(|h| h["record"].as_str().unwrap()).collect();
    records.sort_unstable();
    assert_eq!(
        records,
        ["seized:file:opening.png", "seized:file:scenes.mp4"],
        "{hits:?}"
    );
    let hit = |record: &str| {
        hits.iter()
            .find(|h| h["record"] == format!("seized:file:{record}"))
            .unwrap()
    };
    let picture = hit("opening.png");
    assert_eq!(picture["media"], "image");
    assert!(picture["stored_seconds"].is_null());
    let at = picture["query_seconds"].as_f64().unwrap();
    assert!((0.0..3.0).contains(&at), "{at}");
    let itself = hit("scenes.mp4");
    assert_eq!(itself["distance"], 0);
    assert!(itself["frames_matched"].as_u64().unwrap() >= 6, "{itself}");
    let table = ok(&["media", "similar", &s(&ws), &s(&scenes.join("2.png"))]);
    assert!(table.contains("video frame at"), "{table}");
}

/// Whether `tool` runs (`tool VERSION_ARG` succeeds). When it does not, the test part
/// that needs it is skipped with a line saying so, unless `require` (the variable CI
/// sets) is set: then it fails.
fn tool_available(tool: &str, version_arg: &str, require: &str, package: &str) -> bool {
    let have = std::process::Command::new(tool)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os(require).is_none(),
            "{require} is set but {tool} is missing"
        );
        eprintln!("SKIPPED: {tool} is not installed (apt-get install {package})");
    }
    have
}
