//! The workspace verbs: init, ingest, resolve WS, add, entity, record, check, search,
//! judge, history. Each is a thin call into `spirit-store`.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use spirit_store::audit::{self, Entry};
use spirit_store::judge::Verdict;
use spirit_store::query::{EntityView, RecordView};
use spirit_store::stream::{StreamFormat, StreamOptions, add_stream};
use spirit_store::workspace::Access;
use spirit_store::{StoreError, Workspace, check, ingest, judge, query, search};

use crate::Bars;

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Create a workspace: a folder with the SQLite store and its settings.
    Init {
        workspace: PathBuf,
        /// Settings file (TOML) to keep in the workspace; the defaults otherwise.
        #[arg(long)]
        settings: Option<PathBuf>,
    },
    /// Store records from files (CSV, JSON Lines, Parquet), raw and normalised; forum
    /// posts (`--format posts`, JSON Lines); or a folder of pages, images and audio.
    Ingest {
        workspace: PathBuf,
        /// Name of the source (default: each file's stem or folder's name).
        #[arg(long)]
        source: Option<String>,
        /// `table` (CSV, JSON Lines, Parquet: one record per row), `posts` (JSON Lines of
        /// posts: author, platform, thread, timestamp, body), or `auto`: folders are
        /// walked file by file, files are tables.
        #[arg(long, default_value = "auto", value_parser = ["auto", "table", "posts"])]
        format: String,
        /// Column holding record ids.
        #[arg(long)]
        id_column: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Files to store.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Resolve records from standard input one by one; prints `record_id,entity_id` per
    /// record once it is durably stored and resolved.
    Add {
        workspace: PathBuf,
        /// Name of the source the records come from.
        #[arg(long)]
        source: String,
        /// jsonl (one JSON object per line) or csv (with a header row).
        #[arg(long, default_value = "jsonl", value_parser = parse_format)]
        format: StreamFormat,
        /// Column holding record ids.
        #[arg(long)]
        id_column: Option<String>,
        /// Most records committed in one transaction.
        #[arg(long, default_value_t = 1024)]
        batch: usize,
        /// Print the closing report as JSON on stderr.
        #[arg(long)]
        json: bool,
    },
    /// Show an entity: its records, attributes and the evidence that joins them.
    Entity {
        workspace: PathBuf,
        entity: String,
        #[arg(long)]
        json: bool,
    },
    /// Show one stored record (exit 1 if it is not there).
    Record {
        workspace: PathBuf,
        /// `source:record_id`, or a record id unique across sources.
        record: String,
        #[arg(long)]
        json: bool,
    },
    /// Check the integrity of the store (exit 1 if a problem is found).
    Check {
        workspace: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Fuzzy search over names and identifiers.
    Search {
        workspace: PathBuf,
        query: String,
        /// Most hits shown.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Record an analyst judgement on two records (or entities): same, not-same or unsure.
    Judge {
        workspace: PathBuf,
        #[arg(value_parser = parse_verdict)]
        verdict: Verdict,
        left: String,
        right: String,
        /// Why (required for same and not-same).
        #[arg(long, default_value = "")]
        reason: String,
        /// Who judges (default: $USER).
        #[arg(long)]
        author: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Write `clusters.csv` (source,record_id,entity_id) of every resolved record.
    Export {
        workspace: PathBuf,
        /// Where to write (a CSV file).
        #[arg(long)]
        out: PathBuf,
    },
    /// Benchmarks that print figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Merges, splits and judgements of an entity over time.
    History {
        workspace: PathBuf,
        entity: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Search latency and recall: queries for stored records' names with a typo.
    Search {
        workspace: PathBuf,
        /// Number of queries.
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        /// Seed choosing the records and typos.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
}

fn parse_format(s: &str) -> Result<StreamFormat, String> {
    match s {
        "jsonl" | "json" | "ndjson" => Ok(StreamFormat::JsonLines),
        "csv" => Ok(StreamFormat::Csv),
        _ => Err(format!("{s:?} is not one of jsonl, csv")),
    }
}

fn parse_verdict(s: &str) -> Result<Verdict, String> {
    Verdict::parse(s).ok_or_else(|| format!("{s:?} is not one of same, not-same, unsure"))
}

fn open(dir: &Path, access: Access) -> Result<Workspace> {
    Ok(Workspace::open(dir, access)?)
}

/// Logs a verb in the audit log as `cli:<OS user>`, before anything is shown (a read
/// that cannot be logged shows nothing, on a full disk too). On a read-only file system (an archived copy)
/// the log cannot grow: the verb goes on and says so.
fn log(
    ws: &mut Workspace,
    action: &str,
    target: Option<String>,
    detail: serde_json::Value,
) -> Result<()> {
    let mut e = Entry::new(&crate::server::actor(), action);
    e.target = target;
    e.detail = detail;
    match audit::log_verb(ws, &[e]) {
        Ok(_) => Ok(()),
        Err(StoreError::ReadOnly { path, .. }) => {
            eprintln!(
                "note: not written to the audit log: {} is on a read-only file system",
                path.display()
            );
            Ok(())
        }
        Err(StoreError::DiskFull(path)) => anyhow::bail!(
            "{} is on a full disk: this verb cannot be written to the audit log, so it \
             shows nothing; free some space and run it again",
            path.display()
        ),
        Err(e) => Err(e).context("writing the audit log"),
    }
}

/// A search text or record key as the audit log keeps it (keyed).
fn keyed(ws: &Workspace, text: &str) -> Option<String> {
    ws.audit_key_if_any().map(|k| k.term(text))
}

fn json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Resolves the stored records without an entity, one by one
/// (`spirit resolve WS --incremental`).
pub fn resolve_stored(dir: &Path, as_json: bool, bars: &Bars) -> Result<()> {
    let mut ws = open(dir, Access::Write)?;
    let totals = spirit_store::incremental::resolve_stored(&mut ws, bars)
        .with_context(|| "resolve failed")?;
    bars.clear();
    if as_json {
        return json(&totals);
    }
    let model = spirit_store::resolve::current_model(ws.connection())?;
    let c = &totals.changes;
    println!(
        "resolved {} stored records one by one: {} candidates, {} edges (model {}{})",
        totals.records,
        totals.candidates,
        totals.edges,
        model.as_ref().map_or(0, |m| m.id),
        if model.is_some_and(|m| m.model.is_cold_start()) {
            ", the cold-start model: `spirit resolve` trains one on the store"
        } else {
            ""
        }
    );
    println!(
        "entities: {} created, {} merged, {} split, {} retired",
        c.created, c.merged, c.split, c.retired
    );
    Ok(())
}

/// Batch re-run over a workspace (`spirit resolve WS`).
pub fn resolve_workspace(dir: &Path, keep_model: bool, as_json: bool, bars: &Bars) -> Result<()> {
    let mut ws = open(dir, Access::Write)?;
    let report = spirit_engine::workspace::resolve(&mut ws, keep_model, bars)
        .with_context(|| "resolve failed")?;
    bars.clear();
    if as_json {
        return json(&report);
    }
    println!(
        "resolved {} records: {} candidate pairs, {} edges, {} entities (model {}, run {})",
        report.records,
        report.candidate_pairs,
        report.edges,
        report.entities,
        report.model,
        report.run
    );
    let c = &report.changes;
    println!(
        "entities: {} created, {} merged, {} split, {} retired; {} records placed; {} judgements honoured",
        c.created, c.merged, c.split, c.retired, c.moved, report.judgements
    );
    let phases: Vec<String> = report
        .phase_seconds
        .iter()
        .map(|(p, s)| format!("{p} {s:.2}s"))
        .collect();
    println!("time: {}", phases.join(", "));
    for w in &report.training_warnings {
        println!("warning: {w}");
    }
    Ok(())
}

pub fn run(command: StoreCommand, bars: &Bars) -> Result<ExitCode> {
    match command {
        StoreCommand::Init {
            workspace,
            settings,
        } => {
            let text = match &settings {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .with_context(|| format!("cannot read settings file {}", p.display()))?,
                ),
                None => None,
            };
            let ws = Workspace::init(&workspace, text.as_deref())?;
            println!(
                "created workspace {} (store {}, settings {})",
                ws.dir().display(),
                ws.dir().join(spirit_store::workspace::DATABASE).display(),
                ws.dir().join(spirit_store::workspace::SETTINGS).display()
            );
        }
        StoreCommand::Ingest {
            workspace,
            source,
            format,
            id_column,
            json: as_json,
            files,
        } => {
            let mut ws = open(&workspace, Access::Write)?;
            let mut reports = Vec::new();
            if format == "posts" || files.iter().any(|f| f.is_dir()) {
                crate::ingest::ingest_documents(
                    &mut ws,
                    &workspace,
                    source.as_deref(),
                    &format,
                    &files,
                    as_json,
                    bars,
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            for file in &files {
                let r =
                    ingest::ingest(&mut ws, source.as_deref(), file, id_column.as_deref(), bars)?;
                bars.clear();
                log(
                    &mut ws,
                    "ingest",
                    Some(r.source.clone()),
                    serde_json::json!({ "file": file.display().to_string(), "read": r.read, "stored": r.stored }),
                )?;
                if !as_json {
                    println!(
                        "{}: {} records read, {} stored, {} already stored, {} conflicting, {} quarantined (source {})",
                        file.display(),
                        r.read,
                        r.stored,
                        r.already_stored,
                        r.conflicts.len(),
                        r.quarantined,
                        r.source
                    );
                    crate::ingest::print_problems(&r.conflicts, r.quarantine_file.as_deref());
                }
                reports.push(r);
            }
            if as_json {
                json(&reports)?;
            } else {
                println!("next: spirit resolve {}", workspace.display());
            }
        }
        StoreCommand::Add {
            workspace,
            source,
            format,
            id_column,
            batch,
            json: as_json,
        } => {
            if batch == 0 {
                bail!("--batch must be at least 1");
            }
            let mut ws = open(&workspace, Access::Write)?;
            let mut options = StreamOptions::new(&source);
            options.format = format;
            options.id_column = id_column;
            options.max_batch = batch;
            let stdin = BufReader::with_capacity(1 << 16, std::io::stdin());
            let stdout = std::io::stdout();
            let mut acks = stdout.lock();
            let mut problems = std::io::stderr();
            let report = add_stream(&mut ws, stdin, &mut acks, &mut problems, &options)?;
            drop(acks);
            log(
                &mut ws,
                "add",
                Some(source.clone()),
                serde_json::json!({ "records": report.totals.records, "stored": report.totals.stored }),
            )?;
            if as_json {
                eprintln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let t = &report.totals;
                eprintln!(
                    "added {} records ({} new, {} already stored, {} rejected, {} unreadable) in {:.2}s: {:.0} records/s",
                    t.records,
                    t.stored,
                    t.already_stored,
                    t.rejected,
                    report.unreadable,
                    report.seconds,
                    t.records as f64 / report.seconds.max(1e-9),
                );
                eprintln!(
                    "{} transactions: {:.2} ms p50, {:.2} ms p99 each; arrival to acknowledgement {:.2} ms p50, {:.2} ms p99",
                    report.batches,
                    report.batch_ms_p50,
                    report.batch_ms_p99,
                    report.latency_ms_p50,
                    report.latency_ms_p99
                );
            }
            if report.unreadable > 0 || report.totals.rejected > 0 {
                return Ok(ExitCode::from(1));
            }
        }
        StoreCommand::Entity {
            workspace,
            entity,
            json: as_json,
        } => {
            let mut ws = open(&workspace, Access::Read)?;
            log(
                &mut ws,
                "entity.read",
                Some(entity.clone()),
                serde_json::json!({}),
            )?;
            let Some(view) = query::entity(ws.connection(), &entity)? else {
                eprintln!("no entity {entity} in {}", workspace.display());
                return Ok(ExitCode::from(1));
            };
            if as_json {
                json(&view)?;
            } else {
                print_entity(&view);
            }
        }
        StoreCommand::Record {
            workspace,
            record,
            json: as_json,
        } => {
            let mut ws = open(&workspace, Access::Read)?;
            let target = keyed(&ws, &record);
            log(&mut ws, "record.read", target, serde_json::json!({}))?;
            let Some(view) = query::record(ws.connection(), &record)? else {
                eprintln!("no record {record} in {}", workspace.display());
                return Ok(ExitCode::from(1));
            };
            if as_json {
                json(&view)?;
            } else {
                print_record(&view, "");
            }
        }
        StoreCommand::Check {
            workspace,
            json: as_json,
        } => {
            let ws = open(&workspace, Access::Read)?;
            let report = check::check(&ws)?;
            if as_json {
                json(&report)?;
            } else {
                println!(
                    "schema version {}; {} records ({} not yet resolved), {} live entities, {} edges, {} judgements in force",
                    report.schema_version,
                    report.records,
                    report.unresolved_records,
                    report.live_entities,
                    report.edges,
                    report.judgements
                );
                if report.ok() {
                    println!("ok: no problem found");
                } else {
                    for p in &report.problems {
                        println!("problem: {p}");
                    }
                }
            }
            if !report.ok() {
                return Ok(ExitCode::from(1));
            }
        }
        StoreCommand::Search {
            workspace,
            query: text,
            limit,
            json: as_json,
        } => {
            let mut ws = open(&workspace, Access::Read)?;
            let target = keyed(&ws, &text);
            log(&mut ws, "search", target, serde_json::json!({}))?;
            let card_key = ws.card_key_if_any()?;
            let hits = search::search(ws.connection(), card_key.as_ref(), &text, limit)?;
            let mut rows = Vec::new();
            for h in &hits {
                let view = query::record_by_id(ws.connection(), h.record)?;
                rows.push(serde_json::json!({
                    "record": view.as_ref().map(|v| v.key.clone()),
                    "entity": view.as_ref().and_then(|v| v.entity.clone()),
                    "score": h.score,
                    "matched": h.matched,
                    "name": view.as_ref().map(display_name),
                }));
            }
            if as_json {
                json(&rows)?;
            } else if rows.is_empty() {
                println!("no match for {text:?}");
            } else {
                for r in &rows {
                    println!(
                        "{:>6.3}  {:<24} {:<10} {}",
                        r["score"].as_f64().unwrap_or(0.0),
                        r["record"].as_str().unwrap_or("?"),
                        r["entity"].as_str().unwrap_or("-"),
                        r["name"].as_str().unwrap_or("")
                    );
                }
            }
        }
        StoreCommand::Judge {
            workspace,
            verdict,
            left,
            right,
            reason,
            author,
            json: as_json,
        } => {
            let author = author
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into());
            let mut ws = open(&workspace, Access::Write)?;
            let r = judge::judge(&mut ws, verdict, &left, &right, &author, &reason)?;
            let target = match (keyed(&ws, &left), keyed(&ws, &right)) {
                (Some(l), Some(r)) => Some(format!("{l} / {r}")),
                _ => None,
            };
            log(
                &mut ws,
                "judge",
                target,
                serde_json::json!({ "verdict": r.verdict.name(), "reason": reason, "judgement": r.judgement }),
            )?;
            if as_json {
                json(&r)?;
            } else {
                println!(
                    "judgement {}: {} {} {} by {author}; entities now {} and {}",
                    r.judgement,
                    r.left,
                    r.verdict,
                    r.right,
                    r.left_entity.as_deref().unwrap_or("(unresolved)"),
                    r.right_entity.as_deref().unwrap_or("(unresolved)")
                );
                let c = &r.changes;
                if c.merged + c.split + c.created > 0 {
                    println!(
                        "{} merged, {} split, {} created",
                        c.merged, c.split, c.created
                    );
                }
            }
        }
        StoreCommand::Export { workspace, out } => {
            let mut ws = open(&workspace, Access::Read)?;
            log(
                &mut ws,
                "export",
                Some("clusters".into()),
                serde_json::json!({ "to": out.display().to_string() }),
            )?;
            let n = query::export_clusters(ws.connection(), &out)?;
            println!("{n} records written to {}", out.display());
        }
        StoreCommand::Bench(BenchCommand::Search {
            workspace,
            queries,
            seed,
            json: as_json,
        }) => {
            let ws = open(&workspace, Access::Read)?;
            let b = spirit_store::bench::search_benchmark(ws.connection(), queries, seed)?;
            if as_json {
                json(&b)?;
            } else {
                println!(
                    "search over {} records, {} queries: recall@10 {:.3}, latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                    b.records,
                    b.queries,
                    b.recall_at_10,
                    b.latency_ms_p50,
                    b.latency_ms_p99,
                    b.latency_ms_max
                );
            }
        }
        StoreCommand::History {
            workspace,
            entity,
            json: as_json,
        } => {
            let mut ws = open(&workspace, Access::Read)?;
            log(
                &mut ws,
                "entity.history",
                Some(entity.clone()),
                serde_json::json!({}),
            )?;
            let Some(events) = query::history(ws.connection(), &entity)? else {
                eprintln!("no entity {entity} in {}", workspace.display());
                return Ok(ExitCode::from(1));
            };
            if as_json {
                json(&events)?;
            } else {
                for e in &events {
                    let other = e
                        .other
                        .as_deref()
                        .map(|o| format!(" {o}"))
                        .unwrap_or_default();
                    let record = e
                        .record
                        .as_deref()
                        .map(|r| format!(" record {r}"))
                        .unwrap_or_default();
                    println!(
                        "{}  {:<9} {}{other}{record}  {}",
                        e.at, e.kind, e.entity, e.detail
                    );
                }
            }
        }
    }
    std::io::stdout().flush().ok();
    Ok(ExitCode::SUCCESS)
}

fn display_name(v: &RecordView) -> String {
    let get = |k: &str| {
        v.attributes.iter().find(|a| a.0 == k).map(|a| {
            if a.1.is_empty() {
                a.2.clone().unwrap_or_default()
            } else {
                a.1.clone()
            }
        })
    };
    let parts: Vec<String> = ["full_name", "given_name", "surname", "date_of_birth"]
        .iter()
        .filter_map(|k| get(k))
        .filter(|s| !s.is_empty())
        .collect();
    parts.join(" ")
}

/// A long value (an audio fingerprint is kilobytes of base64) cut to its start and its
/// length, for the terminal; `--json` gives it whole.
fn shorten(v: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 96;
    if v.chars().count() <= MAX {
        return v.into();
    }
    let head: String = v.chars().take(MAX - 16).collect();
    format!("{head}… ({} characters)", v.chars().count()).into()
}

fn print_record(v: &RecordView, indent: &str) {
    println!(
        "{indent}{}  entity {}  ({})",
        v.key,
        v.entity.as_deref().unwrap_or("(not resolved yet)"),
        v.provenance
    );
    for (kind, raw, value) in &v.attributes {
        let norm = match value {
            Some(n) if n != raw => format!("  → {}", shorten(n)),
            Some(_) => String::new(),
            None if raw.is_empty() => String::new(),
            None => "  (unusable)".into(),
        };
        let raw = if raw.is_empty() { "(derived)" } else { raw };
        // A style profile is kilobytes of counts: its summary says what it is.
        let norm = if kind == "style_profile" {
            String::new()
        } else {
            norm
        };
        println!("{indent}  {kind:<14} {}{norm}", shorten(raw));
    }
}

fn print_entity(v: &EntityView) {
    match &v.retired {
        Some((at, into)) => println!(
            "{}: retired {at}{}",
            v.entity,
            into.as_deref()
                .map(|e| format!(" into {e}"))
                .unwrap_or_default()
        ),
        None => println!(
            "{}: {} records, created {}",
            v.entity,
            v.records.len(),
            v.created_at
        ),
    }
    if !v.attributes.is_empty() {
        println!("attributes:");
        for (kind, values) in &v.attributes {
            let list: Vec<String> = values
                .iter()
                .map(|(val, n)| {
                    if *n > 1 {
                        format!("{} ×{n}", shorten(val))
                    } else {
                        shorten(val).into_owned()
                    }
                })
                .collect();
            println!("  {kind:<14} {}", list.join(", "));
        }
    }
    if !v.mentions.is_empty() {
        println!("found in:");
        for m in &v.mentions {
            let at = if m.end > m.start {
                format!(", bytes {}–{}", m.start, m.end)
            } else {
                String::new()
            };
            println!(
                "  {:<14} {}  ← {} ({}{at}): {}",
                m.kind, m.value, m.origin, m.document, m.snippet
            );
        }
    }
    println!("records:");
    for r in &v.records {
        print_record(r, "  ");
    }
    if !v.edges.is_empty() {
        println!(
            "why (strongest {} of {} edges):",
            v.edges.len(),
            v.edge_count
        );
        for e in &v.edges {
            let parts: Vec<String> = e
                .partials
                .iter()
                .filter(|(_, w)| w.abs() >= 0.005)
                .map(|(n, w)| format!("{n} {w:+.2}"))
                .collect();
            println!(
                "  {} ↔ {}  weight {:+.2} (p {:.4}): {}",
                e.left,
                e.right,
                e.weight,
                e.probability,
                parts.join(", ")
            );
            for a in &e.advisory {
                println!(
                    "      {} {:+.2} ({}) advisory, not counted; {}",
                    a.comparison,
                    a.weight,
                    a.level,
                    a.calibration.as_deref().unwrap_or("")
                );
            }
        }
    }
    if !v.judgements.is_empty() {
        println!("judgements:");
        for j in &v.judgements {
            println!(
                "  #{} {} {} {} by {} at {}: {}{}",
                j.id,
                j.left,
                j.verdict,
                j.right,
                j.author,
                j.at,
                j.reason,
                if j.in_force { "" } else { " (replaced)" }
            );
        }
    }
    println!(
        "{} events in its history (spirit history WS {})",
        v.events, v.entity
    );
}
