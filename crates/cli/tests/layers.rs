//! The workspace's shape, held by tests (see ARCHITECTURE.md, "Layers"): the store and the
//! server link no DataFusion, no two modules of a crate refer to each other, and no source
//! file grows past 1,000 lines (generated tables excepted).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files written by a generator, exempt from the size rule.
const GENERATED: &[&str] = &["crates/text/src/style/fitted.rs"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn the_store_and_the_server_link_no_datafusion() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .args([
            "tree",
            "--offline",
            "--prefix",
            "none",
            "-p",
            "spirit-store",
            "-p",
            "spirit-server",
            "-p",
            "spirit-sources",
            "-p",
            "spirit-matching",
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("spirit-store"), "{tree}");
    let linked: BTreeSet<&str> = tree
        .lines()
        .filter(|l| l.starts_with("datafusion") || l.starts_with("ballista"))
        .collect();
    assert!(linked.is_empty(), "linked below the engine: {linked:?}");
}

/// The module a file defines, as a path inside its crate (`""` for the crate root).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The modules of its crate that a file's code refers to (`crate::a::b`, `super::x`),
/// outside its unit-test module.
fn references(text: &str, module: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    for (prefix, base) in [("crate::", ""), ("super::", parent)] {
        let mut at = 0;
        while let Some(i) = code[at..].find(prefix) {
            let start = at + i + prefix.len();
            let before = (at + i).checked_sub(1).map(|b| bytes[b]);
            at = start;
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
                continue;
            }
            let path: String = code[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            while !segments.is_empty() {
                let candidate = if base.is_empty() {
                    segments.join("::")
                } else {
                    format!("{base}::{}", segments.join("::"))
                };
                if modules.contains(&candidate) {
                    if candidate != module {
                        found.insert(candidate);
                    }
                    break;
                }
                segments.pop();
            }
        }
    }
    found
}

#[test]
fn no_two_modules_of_a_crate_refer_to_each_other() {
    let mut pairs = Vec::new();
    for dir in crate_dirs() {
        let src = dir.join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
        let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &files {
            let m = module_of(&src, f);
            let text = std::fs::read_to_string(f).unwrap();
            refs.insert(m.clone(), references(&text, &m, &modules));
        }
        for (a, to) in &refs {
            for b in to {
                // A parent declaring its child is not a reference; a child naming its
                // parent's items is the usual shape and counts only one way.
                if a < b && refs.get(b).is_some_and(|r| r.contains(a)) {
                    pairs.push(format!("{}: {a} <-> {b}", dir.display()));
                }
            }
        }
    }
    assert!(
        pairs.is_empty(),
        "modules that import each other: {pairs:#?}"
    );
}

#[test]
fn no_source_file_is_over_a_thousand_lines() {
    let mut long = Vec::new();
    for dir in crate_dirs() {
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for f in files {
            let rel = f
                .strip_prefix(root())
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            let rel = rel.trim_start_matches("./").to_string();
            if GENERATED.iter().any(|g| rel.ends_with(g)) {
                continue;
            }
            let lines = std::fs::read_to_string(&f).unwrap().lines().count();
            if lines > 1000 {
                long.push(format!("{rel}: {lines}"));
            }
        }
    }
    assert!(long.is_empty(), "files over 1,000 lines: {long:#?}");
}
