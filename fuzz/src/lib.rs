//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

/// Writes `data` to this process's scratch file with extension `ext` (in /dev/shm when
/// it exists) and returns its path: the readers that take a path get the bytes as a
/// user's file.
pub fn scratch_file(ext: &str, data: &[u8]) -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = dir.join(format!("spirit-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join(format!("input.{ext}"));
    std::fs::write(&path, data).expect("scratch file");
    path
}

/// For entry points that catch a decoder's panic by design (`catch_unwind` in
/// spirit-media and the Parquet reader): replaces libfuzzer-sys's abort-on-panic hook
/// so such a panic is handled as in the product. Each panic location is printed once.
/// A panic the product does not catch still aborts (libfuzzer-sys wraps every input
/// in `catch_unwind` and aborts on unwinding), so it is still reported as a crash.
pub fn product_catches_panics() {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get_or_insert_with(HashSet::new).insert(at.clone()) {
            eprintln!(
                "spirit-fuzz: panic at {at} (caught by the product if no crash follows): {info}"
            );
        }
    }));
}
