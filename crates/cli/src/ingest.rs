//! `spirit ingest` of documents: forum posts (`--format posts`) and folders of pages,
//! images and audio. Thin calls into `spirit_store::posts` and `spirit_store::folder`.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use spirit_store::Workspace;

use crate::Bars;

/// The source name: given, else the file's stem or the folder's name.
/// The first conflicts of an ingest and where its quarantined rows went.
pub fn print_problems(conflicts: &[(u64, String)], quarantine_file: Option<&Path>) {
    for (line, m) in conflicts.iter().take(10) {
        println!("  line {line}: {m}");
    }
    if let Some(q) = quarantine_file {
        println!("  quarantined rows written to {}", q.display());
    }
}

fn source_of(source: Option<&str>, path: &Path) -> Result<String> {
    if let Some(s) = source {
        return Ok(s.to_string());
    }
    let name = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    if name.is_empty() {
        bail!(
            "cannot name a source after {}; give --source",
            path.display()
        );
    }
    Ok(name)
}

pub fn ingest_documents(
    ws: &mut Workspace,
    workspace: &Path,
    source: Option<&str>,
    format: &str,
    paths: &[PathBuf],
    as_json: bool,
    bars: &Bars,
) -> Result<()> {
    let mut reports: Vec<serde_json::Value> = Vec::new();
    for path in paths {
        let src = source_of(source, path)?;
        if path.is_dir() {
            if format == "posts" {
                bail!(
                    "{} is a folder; --format posts reads a JSON Lines file",
                    path.display()
                );
            }
            let r = spirit_store::folder::ingest_folder(ws, &src, path, bars)?;
            bars.clear();
            if !as_json {
                let stored: Vec<String> =
                    r.stored.iter().map(|(k, n)| format!("{n} {k}")).collect();
                println!(
                    "{}: {} files, stored {}, {} already stored, {} skipped, {} mentions (source {})",
                    path.display(),
                    r.files,
                    if stored.is_empty() {
                        "none".to_string()
                    } else {
                        stored.join(", ")
                    },
                    r.already_stored,
                    r.skipped.len(),
                    r.mentions,
                    r.source
                );
                for (p, why) in r.skipped.iter().take(20) {
                    println!("  skipped {p}: {why}");
                }
                if r.skipped.len() > 20 {
                    println!(
                        "  … {} more skipped files listed in {}",
                        r.skipped.len() - 20,
                        r.quarantine_file
                            .as_ref()
                            .map(|q| q.display().to_string())
                            .unwrap_or_default()
                    );
                }
                for (kind, n) in &r.invalid {
                    println!("  {n} invalid {kind} values treated as missing");
                }
            }
            reports.push(serde_json::to_value(&r)?);
        } else {
            if format != "posts" {
                bail!(
                    "{}: documents need --format posts (JSON Lines of posts), or give a folder",
                    path.display()
                );
            }
            let r = spirit_store::posts::ingest_posts(ws, &src, path, bars)?;
            bars.clear();
            if !as_json {
                println!(
                    "{}: {} posts read, {} stored, {} already stored, {} accounts created, {} style profiles (re)built, {} mentions, {} conflicting, {} quarantined (source {})",
                    path.display(),
                    r.read,
                    r.posts_stored,
                    r.posts_already_stored,
                    r.accounts_created,
                    r.style_profiles,
                    r.mentions,
                    r.conflicts.len(),
                    r.quarantined,
                    r.source
                );
                print_problems(&r.conflicts, r.quarantine_file.as_deref());
                for (kind, n) in &r.invalid {
                    println!("  {n} invalid {kind} values treated as missing");
                }
            }
            reports.push(serde_json::to_value(&r)?);
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        println!("next: spirit resolve {}", workspace.display());
    }
    Ok(())
}
