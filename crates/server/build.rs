//! Points the UI embedding at `web/dist` when it has been built (`make web`), else at an
//! empty folder: then `/` answers with a page saying how to build the UI. Plain `cargo
//! build` never needs Node.js.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let dist = web.join("dist");
    let folder = if dist.join("index.html").is_file() {
        // Rebuild when the built UI changes.
        println!("cargo:rerun-if-changed={}", dist.display());
        dist
    } else {
        // Not built: rebuild when it appears (any change under web/).
        if web.is_dir() {
            println!("cargo:rerun-if-changed={}", web.display());
        } else {
            println!("cargo:rerun-if-changed=build.rs");
        }
        let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
        let empty = out.join("ui-not-built");
        std::fs::create_dir_all(&empty).expect("OUT_DIR is writable");
        empty
    };
    let folder = folder.canonicalize().unwrap_or(folder);
    println!("cargo:rustc-env=SPIRIT_UI_DIST={}", slash(&folder));
}

fn slash(p: &Path) -> String {
    p.display().to_string().replace('\\', "/")
}
