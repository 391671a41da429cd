//! A folder of seized files as records: web pages and text files with the identifiers
//! they mention, images with their perceptual hash, camera serial, capture time and
//! position, audio files and the sound of videos with their acoustic fingerprint.
//!
//! - The walk is recursive in a stable order (names sorted bytewise); symbolic links
//!   are never followed (so nothing outside the folder is read) and are reported as
//!   skipped.
//! - Each file's type is sniffed from its first bytes, then its extension
//!   ([`sniff`]); each type has one function that turns a file into a record
//!   ([`page_record`], [`image_record`], [`audio_record`], [`video_record`]): the seam
//!   where video (and later other types) plug in.
//! - Each file becomes a record of the source with id `file:<path relative to the
//!   folder>`; its payload is a JSON description (type, size, SHA-256, hashes, EXIF …),
//!   so re-running the same folder stores nothing twice.
//! - Images: `image_hash` is the pHash and the mirror image's pHash
//!   (`<16 hex>:<16 hex>`), so a mirrored re-post is still near; `camera_serial` is the
//!   EXIF make and body serial; `geo_position` the EXIF GPS position; capture time,
//!   software and owner are kept in the payload. Serial and position are stored as
//!   mentions too (document: the file), so an entity view says where they came from.
//! - Files are read one at a time, each under the size limits of `spirit-media`
//!   (images: 256 MiB, 100 Mpx before decoding; audio: 1 GiB) or [`MAX_TEXT_BYTES`];
//!   a corrupt, truncated, too large or unsupported file is skipped with its reason,
//!   counted, and the ingest goes on.
//! - A file is opened once, without following a symbolic link (`O_NOFOLLOW`), and
//!   checked as opened (`fstat`: a regular file, the very file the walk listed), never by
//!   its path; everything after reads that open file (through `/proc/<pid>/fd/<n>` where
//!   a function wants a path), so a file swapped for a link between listing and
//!   reading is refused, not followed out of the folder. Text is read with its limit
//!   enforced on the bytes read, so a file that grows meanwhile cannot exceed it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use spirit_model::AttrKind;
use spirit_model::Progress;
use spirit_text::extract::{Extractor, Format};

use crate::ingest::{Incoming, Normaliser, Stored, store_record};
use crate::mentions::{self, Mention};
use crate::posts::{find_mentions, mentioned_values};
use crate::{StoreError, Workspace};

/// Largest text or HTML file read, in bytes.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Files stored per transaction (decoding dominates; a crash loses at most these).
pub const FOLDER_CHUNK: usize = 200;

/// What a file is, by its content and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Html,
    Text,
    Image,
    Audio,
    Video,
    Unsupported,
}

/// The type of a file from its first bytes (magic numbers), then its extension.
pub fn sniff(head: &[u8], path: &Path) -> FileKind {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let at = |i: usize, m: &[u8]| head.get(i..i + m.len()) == Some(m);
    if at(0, b"\xff\xd8\xff")
        || at(0, b"\x89PNG\r\n\x1a\n")
        || at(0, b"GIF87a")
        || at(0, b"GIF89a")
        || (at(0, b"RIFF") && at(8, b"WEBP"))
        || at(0, b"II*\0")
        || at(0, b"MM\0*")
    {
        return FileKind::Image;
    }
    if (at(0, b"RIFF") && at(8, b"WAVE"))
        || at(0, b"fLaC")
        || at(0, b"OggS")
        || at(0, b"ID3")
        || (head.len() > 1 && head[0] == 0xff && head[1] & 0xe0 == 0xe0 && ext == "mp3")
    {
        return FileKind::Audio;
    }
    if (at(4, b"ftyp") && !matches!(ext.as_str(), "m4a" | "heic" | "heif" | "avif"))
        || at(0, b"\x1a\x45\xdf\xa3")
        || (at(0, b"RIFF") && at(8, b"AVI "))
    {
        return FileKind::Video;
    }
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "tif" | "tiff" => return FileKind::Image,
        "wav" | "flac" | "mp3" | "ogg" | "oga" | "m4a" | "aac" => return FileKind::Audio,
        "mp4" | "mov" | "mkv" | "webm" | "avi" | "m4v" | "3gp" => return FileKind::Video,
        "html" | "htm" | "xhtml" | "shtml" => return FileKind::Html,
        "txt" | "text" | "md" | "log" | "eml" | "json" | "jsonl" | "csv" => {
            return FileKind::Text;
        }
        _ => {}
    }
    if spirit_text::extract::looks_like_html(head) {
        return FileKind::Html;
    }
    let printable = head
        .iter()
        .filter(|&&b| b >= 0x20 || b"\t\r\n".contains(&b))
        .count();
    if !head.is_empty() && !head.contains(&0) && printable * 100 >= head.len() * 95 {
        return FileKind::Text;
    }
    FileKind::Unsupported
}

/// What a folder ingest did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FolderReport {
    pub source: String,
    pub path: PathBuf,
    /// Files found (symbolic links not counted).
    pub files: u64,
    /// Stored now, per type.
    pub stored: BTreeMap<String, u64>,
    pub already_stored: u64,
    /// Files not stored: (path relative to the folder, reason).
    pub skipped: Vec<(String, String)>,
    pub mentions: u64,
    pub conflicts: Vec<(String, String)>,
    pub invalid: BTreeMap<String, u64>,
    pub quarantine_file: Option<PathBuf>,
    pub run: i64,
}

/// A file made into a record: payload, raw attribute values and mentions.
#[derive(Clone, Debug, Default)]
pub struct FileRecord {
    pub payload: Value,
    pub values: Vec<(AttrKind, String)>,
    pub mentions: Vec<Mention>,
}

/// What the per-type functions need.
pub struct Context<'a> {
    pub extractor: &'a Extractor,
    pub normaliser: &'a Normaliser,
    pub invalid: &'a mut BTreeMap<String, u64>,
}

/// Every regular file under `root`, relative paths sorted, without following symbolic
/// links; links found are returned apart.
pub fn walk(root: &Path) -> Result<(Vec<Listed>, Vec<PathBuf>), StoreError> {
    let mut files = Vec::new();
    let mut links = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| StoreError::io(&dir, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::io(&dir, e))?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for e in entries {
            let path = rel.join(e.file_name());
            let meta = std::fs::symlink_metadata(root.join(&path))
                .map_err(|err| StoreError::io(root.join(&path), err))?;
            if meta.file_type().is_symlink() {
                links.push(path);
            } else if meta.is_dir() {
                subdirs.push(path);
            } else if meta.is_file() {
                files.push((path, FileId::of(&meta)));
            }
        }
        // Depth first, in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    files.sort();
    Ok((files, links))
}

/// A file the walk listed: its path under the root, and which file it was.
pub type Listed = (PathBuf, FileId);

/// Which file a path named when it was listed (device and inode), to check that the
/// file opened later is the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileId(u64, u64);

impl FileId {
    fn of(meta: &std::fs::Metadata) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId(meta.dev(), meta.ino())
        }
        #[cfg(not(unix))]
        {
            FileId(0, meta.len())
        }
    }
}

/// A file opened for reading without following a symbolic link, checked as opened.
pub struct Opened {
    /// Kept open: `path` refers to it.
    _file: std::fs::File,
    /// A path to the open file itself (`/proc/<pid>/fd/<n>`), or the path it was opened
    /// by where the system has no such folder.
    pub path: PathBuf,
}

/// Opens `path` without following a symbolic link and checks the open file: a regular
/// file, and the file the walk listed (`listed`). The error says why in words.
pub fn open_listed(path: &Path, listed: FileId) -> Result<Opened, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // No blocking on a FIFO put in the file's place.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return "replaced by a symbolic link after it was listed: not followed".to_string();
        }
        e.to_string()
    })?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file when opened".into());
    }
    if FileId::of(&meta) != listed {
        return Err("replaced after it was listed: not read".into());
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let proc = PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            file.as_raw_fd()
        ));
        if proc.exists() {
            return Ok(Opened {
                _file: file,
                path: proc,
            });
        }
    }
    Ok(Opened {
        _file: file,
        path: path.to_path_buf(),
    })
}

/// Replaces `from` with `to` in every string of a JSON value.
fn rename_in(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|v| rename_in(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| rename_in(v, from, to)),
        _ => {}
    }
}

fn rel_name(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An HTML or text file: its mentions (offsets into the file's bytes) as attributes.
pub fn page_record(
    path: &Path,
    rel: &str,
    kind: FileKind,
    cx: &mut Context<'_>,
) -> Result<FileRecord, String> {
    let bytes = {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_TEXT_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| e.to_string())?;
        bytes
    };
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(format!(
            "over the {MAX_TEXT_BYTES}-byte limit for text files"
        ));
    }
    let format = if kind == FileKind::Html {
        Format::Html
    } else {
        Format::Text
    };
    let (_, found) = find_mentions(cx.extractor, cx.normaliser, &bytes, format, rel, cx.invalid);
    let title = (kind == FileKind::Html)
        .then(|| html_title(&bytes))
        .flatten();
    Ok(FileRecord {
        payload: json!({
            "file": rel,
            "type": kind,
            "bytes": bytes.len(),
            "sha256": sha256_hex(&bytes),
            "title": title,
        }),
        values: mentioned_values(&found),
        mentions: found.into_iter().map(|(m, _)| m).collect(),
    })
}

/// The text of the first `<title>` element, if short.
fn html_title(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64 << 10)]);
    let lower = head.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let end = open_end + lower[open_end..].find("</title")?;
    let t = head
        .get(open_end..end)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!t.is_empty() && t.len() <= 300).then_some(t)
}

/// An image: perceptual hashes (with the mirror's), EXIF serial, position, time.
pub fn image_record(path: &Path, rel: &str, _cx: &mut Context<'_>) -> Result<FileRecord, String> {
    let report = spirit_media::inspect_file(path, &spirit_media::Limits::default())
        .map_err(|e| e.to_string())?;
    let h = report.hashes;
    let mut values = vec![(
        AttrKind::ImageHash,
        format!("{:016x}:{:016x}", h.phash, h.phash_mirror),
    )];
    let mut ms = Vec::new();
    let mut mention = |kind: AttrKind, raw: String, found_as: &str, note: String| {
        values.push((kind, raw.clone()));
        ms.push((kind, raw, found_as.to_string(), note));
    };
    if let Some(exif) = &report.exif {
        if let Some(serial) = &exif.body_serial {
            let make = exif.make.clone().unwrap_or_default();
            mention(
                AttrKind::CameraSerial,
                format!("{make}|{serial}"),
                "exif_body_serial",
                format!("EXIF Make {make:?}, BodySerialNumber {serial:?}"),
            );
        }
        if let (Some(lat), Some(lon)) = (exif.gps_latitude, exif.gps_longitude) {
            mention(
                AttrKind::GeoPosition,
                format!("{lat},{lon}"),
                "exif_gps",
                format!("EXIF GPS {lat:.6}, {lon:.6}"),
            );
        }
    }
    let mentions = ms
        .into_iter()
        .filter_map(|(kind, raw, found_as, snippet)| {
            let value = _cx.normaliser.normalise_one(kind, &raw)?;
            Some(Mention {
                kind,
                value,
                found_as,
                document: rel.to_string(),
                start: 0,
                end: 0,
                snippet,
            })
        })
        .collect();
    Ok(FileRecord {
        payload: json!({ "file": rel, "type": FileKind::Image, "image": report }),
        values,
        mentions,
    })
}

/// An audio file: its Chromaprint fingerprint as `audio_fingerprint` (the first ~127 s;
/// none for silence or under 2 s), duration and format in the payload.
#[cfg(feature = "audio")]
pub fn audio_record(path: &Path, rel: &str, _cx: &mut Context<'_>) -> Result<FileRecord, String> {
    let limits = spirit_media::audio::AudioLimits::default();
    let fp = spirit_media::audio::fingerprint_file(path, &limits).map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let values = audio_values(&fp.fingerprint);
    Ok(FileRecord {
        values,
        payload: json!({
            "file": rel,
            "type": FileKind::Audio,
            "bytes": bytes,
            "seconds": fp.seconds,
            "truncated": fp.truncated,
            "sample_rate": fp.sample_rate,
            "channels": fp.channels,
            "bad_packets": fp.bad_packets,
        }),
        ..FileRecord::default()
    })
}

/// The `audio_fingerprint` value of Chromaprint sub-fingerprints, if informative.
fn audio_values(subprints: &[u32]) -> Vec<(AttrKind, String)> {
    spirit_matching::evidence::encode_audio_fingerprint(subprints)
        .map(|v| (AttrKind::AudioFingerprint, v))
        .into_iter()
        .collect()
}

/// Audio without the `audio` feature: skipped.
#[cfg(not(feature = "audio"))]
pub fn audio_record(_: &Path, _: &str, _: &mut Context<'_>) -> Result<FileRecord, String> {
    Err("audio: not supported by this build (feature `audio`)".into())
}

/// A video (through ffmpeg, see [`spirit_media::video`]): its `image_hash` is that of its
/// first informative keyframe (so a copy of the video, or a still of its opening shot,
/// compares as a near duplicate), its sound track's Chromaprint becomes
/// `audio_fingerprint` (so the same sound posted as a voice note, or in another video,
/// compares too), its place from the container's ISO 6709 tag becomes
/// `geo_position`; every keyframe's hashes, the device, the creation time and the sound
/// track's length go into the payload. Without ffmpeg, or for a corrupt file, the file
/// is skipped with the reason.
pub fn video_record(path: &Path, rel: &str, cx: &mut Context<'_>) -> Result<FileRecord, String> {
    let report = spirit_media::video::inspect_video_file(
        path,
        &spirit_media::video::VideoOptions::default(),
    )
    .map_err(|e| format!("video: {e}"))?;
    let v = &report.video;
    let mut values = Vec::new();
    let mut mentions = Vec::new();
    if let Some(k) = v.signature.keyframes.iter().find(|k| !k.flat) {
        values.push((
            AttrKind::ImageHash,
            format!("{:016x}:{:016x}", k.hashes.phash, k.hashes.phash_mirror),
        ));
    }
    if let Some(a) = &v.audio {
        values.extend(audio_values(&a.fingerprint));
    }
    let m = &v.metadata;
    if let (Some(lat), Some(lon)) = (m.gps_latitude, m.gps_longitude) {
        let raw = format!("{lat},{lon}");
        values.push((AttrKind::GeoPosition, raw.clone()));
        if let Some(value) = cx.normaliser.normalise_one(AttrKind::GeoPosition, &raw) {
            mentions.push(Mention {
                kind: AttrKind::GeoPosition,
                value,
                found_as: "container_location".into(),
                document: rel.to_string(),
                start: 0,
                end: 0,
                snippet: format!(
                    "container location {}",
                    m.location.as_deref().unwrap_or_default()
                ),
            });
        }
    }
    let keyframes: Vec<Value> = v
        .signature
        .keyframes
        .iter()
        .map(|k| {
            json!({
                "seconds": k.seconds,
                "phash": format!("{:016x}", k.hashes.phash),
                "flat": k.flat,
            })
        })
        .collect();
    Ok(FileRecord {
        payload: json!({
            "file": rel,
            "type": FileKind::Video,
            "bytes": report.bytes,
            "sha256": report.sha256,
            "container": v.container,
            "duration_seconds": v.duration_seconds,
            "width": v.width,
            "height": v.height,
            "video_codec": v.video_codec,
            "audio_codec": v.audio_codec,
            "metadata": m,
            "keyframes": keyframes,
            "audio_seconds": v.audio.as_ref().map(|a| a.seconds),
            "warnings": v.warnings,
        }),
        values,
        mentions,
    })
}

/// The record of one file, by its type.
pub fn dispatch(
    kind: FileKind,
    path: &Path,
    rel: &str,
    cx: &mut Context<'_>,
) -> Result<FileRecord, String> {
    match kind {
        FileKind::Html | FileKind::Text => page_record(path, rel, kind, cx),
        FileKind::Image => image_record(path, rel, cx),
        FileKind::Audio => audio_record(path, rel, cx),
        FileKind::Video => video_record(path, rel, cx),
        FileKind::Unsupported => Err("unsupported file type".into()),
    }
}

/// Reads the first bytes of a file for [`sniff`].
fn head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(4096)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// Walks `root` and stores one record per file under `source` (see the module
/// documentation).
pub fn ingest_folder(
    ws: &mut Workspace,
    source: &str,
    root: &Path,
    progress: &dyn Progress,
) -> Result<FolderReport, StoreError> {
    ws.require_write()?;
    if source.trim().is_empty() || source.contains(':') {
        return Err(StoreError::Invalid(format!(
            "source name {source:?} must be non-empty and without ':'"
        )));
    }
    let (files, links) = walk(root)?;
    let key = ws.card_key()?;
    let normaliser = Normaliser::new(ws.settings(), key);
    let extractor = Extractor::new(&ws.settings().normalise.default_region);
    let run = Workspace::start_run(&ws.conn, "ingest").map_err(|e| ws.write_error(e))?;
    let mut report = FolderReport {
        source: source.to_string(),
        path: root.to_path_buf(),
        files: files.len() as u64,
        run,
        ..FolderReport::default()
    };
    for l in &links {
        report
            .skipped
            .push((rel_name(l), "symbolic link: not followed".to_string()));
    }
    progress.phase("store files", Some(files.len() as u64));
    let mut done = 0u64;
    for chunk in files.chunks(FOLDER_CHUNK) {
        let dir = ws.dir().to_path_buf();
        let tx = ws
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (rel, listed) in chunk {
            let name = rel_name(rel);
            let opened = match open_listed(&root.join(rel), *listed) {
                Ok(o) => o,
                Err(why) => {
                    report.skipped.push((name, why));
                    continue;
                }
            };
            store_file(
                &tx,
                run,
                source,
                &opened.path,
                &root.join(rel),
                &name,
                &normaliser,
                &extractor,
                &mut report,
            )
            .map_err(|e| crate::workspace::map_store_error(&dir, e))?;
        }
        tx.commit()
            .map_err(|e| crate::workspace::map_store_error(&dir, e.into()))?;
        done += chunk.len() as u64;
        progress.set(done);
    }
    progress.done();
    if !report.skipped.is_empty() {
        let rows: Vec<spirit_sources::QuarantinedRow> = report
            .skipped
            .iter()
            .map(|(p, why)| spirit_sources::QuarantinedRow {
                line: 0,
                reason: format!("{p}: {why}"),
                raw: p.clone(),
            })
            .collect();
        report.quarantine_file = Some(ws.write_quarantine(source, run, &rows)?);
    }
    let summary = serde_json::to_string(&report).expect("report serialises");
    Workspace::finish_run(&ws.conn, run, None, &summary).map_err(|e| ws.write_error(e))?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn store_file(
    conn: &Connection,
    run: i64,
    source: &str,
    path: &Path,
    listed: &Path,
    rel: &str,
    normaliser: &Normaliser,
    extractor: &Extractor,
    report: &mut FolderReport,
) -> Result<(), StoreError> {
    let kind = match head(path) {
        Ok(h) => sniff(&h, listed),
        Err(e) => {
            report.skipped.push((rel.to_string(), e.to_string()));
            return Ok(());
        }
    };
    let mut cx = Context {
        extractor,
        normaliser,
        invalid: &mut report.invalid,
    };
    // What the readers say and keep names the file as listed, not the open file's
    // `/proc` path (which differs from run to run).
    let (opened_as, shown) = (path.display().to_string(), listed.display().to_string());
    let file = match dispatch(kind, path, rel, &mut cx) {
        Ok(mut f) => {
            rename_in(&mut f.payload, &opened_as, &shown);
            f
        }
        Err(why) => {
            report
                .skipped
                .push((rel.to_string(), why.replace(&opened_as, &shown)));
            return Ok(());
        }
    };
    let rec = Incoming {
        source: source.to_string(),
        record_id: format!("file:{rel}"),
        payload: file.payload.to_string(),
        provenance: listed.display().to_string(),
        values: file.values,
        normalised: None,
    };
    match store_record(conn, run, normaliser, &rec)? {
        Stored::New(id, _) => {
            let kind_name = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *report.stored.entry(kind_name).or_default() += 1;
            let refs: Vec<(AttrKind, &str)> = file
                .mentions
                .iter()
                .map(|m| (m.kind, m.value.as_str()))
                .collect();
            crate::search::index_record(conn, id, &refs)?;
            mentions::insert(conn, id, id, &file.mentions)?;
            report.mentions += file.mentions.len() as u64;
        }
        Stored::Existing(_) => report.already_stored += 1,
        Stored::Conflict(m) => report.conflicts.push((rel.to_string(), m)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_file_swapped_after_the_walk_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("seized");
        std::fs::create_dir(&root).unwrap();
        let secret = dir.path().join("secret.txt");
        std::fs::write(&secret, "outside the folder").unwrap();
        std::fs::write(root.join("a.txt"), "inside").unwrap();
        std::fs::write(root.join("b.txt"), "inside too").unwrap();
        let (files, links) = walk(&root).unwrap();
        assert_eq!(files.len(), 2);
        assert!(links.is_empty());
        let (a, a_id) = &files[0];
        let (b, b_id) = &files[1];
        // The file as listed opens, and the path given reads that very file.
        let opened = open_listed(&root.join(a), *a_id).unwrap();
        assert_eq!(std::fs::read_to_string(&opened.path).unwrap(), "inside");
        // Swapped for a link to a file outside the folder: refused, not followed.
        std::fs::remove_file(root.join(a)).unwrap();
        std::os::unix::fs::symlink(&secret, root.join(a)).unwrap();
        let err = open_listed(&root.join(a), *a_id).err().unwrap();
        assert!(err.contains("symbolic link"), "{err}");
        // Swapped for another regular file (a hard link to the outside file): refused.
        std::fs::remove_file(root.join(b)).unwrap();
        std::fs::hard_link(&secret, root.join(b)).unwrap();
        let err = open_listed(&root.join(b), *b_id).err().unwrap();
        assert!(err.contains("replaced"), "{err}");
    }

    #[test]
    fn types_are_sniffed_from_content_then_name() {
        let p = |n: &str| PathBuf::from(n);
        assert_eq!(sniff(b"\xff\xd8\xff\xe0rest", &p("x.bin")), FileKind::Image);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n..", &p("x.txt")), FileKind::Image);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt ", &p("x")), FileKind::Audio);
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42", &p("clip")), FileKind::Video);
        assert_eq!(sniff(b"\0\0\0\x18ftypM4A ", &p("a.m4a")), FileKind::Audio);
        assert_eq!(sniff(b"hello there", &p("notes")), FileKind::Text);
        assert_eq!(sniff(b"<html><body><p>x</p>", &p("page")), FileKind::Html);
        assert_eq!(
            sniff(b"\0\x01\x02garbage", &p("blob")),
            FileKind::Unsupported
        );
        assert_eq!(sniff(b"", &p("empty.jpg")), FileKind::Image);
    }
}
