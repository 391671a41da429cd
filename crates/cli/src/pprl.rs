//! `spirit pprl …`: privacy-preserving linkage verbs — a shared secret, hardened encodings
//! of a party's records, and 1:1 linkage of two parties' encodings. Each is a thin call
//! into `spirit-pprl`; this module only reads and writes files.
//!
//! An encodings file is JSON Lines: a first line `{"spirit_pprl": <EncodingMeta>}` (the
//! format, schema fingerprint, key check, length and hardening: nothing secret), then one
//! line `{"id": …, "clk": <base64>}` per record. No plain value is ever written.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use spirit_engine::input::read_source;
use spirit_engine::settings::Settings;
use spirit_pprl::dice::filter_to_base64;
use spirit_pprl::encode::EncodingMeta;
use spirit_pprl::{EncodedTable, Encoder, FilterSet, LinkConfig, Schema, Secret, link_two};

#[derive(Subcommand)]
pub enum PprlCommand {
    /// Generate a shared secret for the parties (never give it to the linkage unit).
    Keygen,
    /// Encode a file of records (CSV, JSON Lines, Parquet) into hardened Bloom filters;
    /// writes JSON Lines of encodings to standard output.
    Encode {
        /// The shared secret (from `spirit pprl keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Encoding schema (TOML or JSON); the defaults for the recognised columns otherwise.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Settings file for reading the input (column mapping, id column).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Column holding record ids.
        #[arg(long)]
        id_column: Option<String>,
        /// Columns never read (repeatable).
        #[arg(long = "exclude-column")]
        exclude_columns: Vec<String>,
        file: PathBuf,
    },
    /// Link two parties' encodings 1:1 (as the linkage unit does); prints
    /// `left_id,right_id,dice` for each link.
    Link {
        left: PathBuf,
        right: PathBuf,
        /// Dice threshold (default: the library's, tuned for hardened encodings).
        #[arg(long)]
        threshold: Option<f64>,
    },
}

pub fn run(command: PprlCommand) -> Result<()> {
    match command {
        PprlCommand::Keygen => {
            let secret = Secret::generate()?;
            println!("{}", secret.to_hex());
        }
        PprlCommand::Encode {
            key,
            schema,
            settings,
            id_column,
            exclude_columns,
            file,
        } => {
            let secret = read_secret(&key)?;
            let mut settings = match &settings {
                Some(p) => Settings::load(p)?,
                None => Settings::default(),
            };
            settings.input.exclude_columns.extend(exclude_columns);
            let source = read_source(&file, &settings.input, id_column.as_deref())?;
            for q in &source.quarantined {
                eprintln!("{}:{}: {} (skipped)", file.display(), q.line, q.reason);
            }
            let schema = match &schema {
                Some(p) => read_schema(p)?,
                None => {
                    let kinds: Vec<_> = source.mapping.iter().map(|(_, k)| *k).collect();
                    Schema::for_kinds(&kinds)
                }
            };
            let encoder = Encoder::new(&schema, &secret)?;
            let ids: Vec<&str> = source.records.iter().map(|r| r.id.as_str()).collect();
            let values: Vec<&[(spirit_model::AttrKind, String)]> =
                source.records.iter().map(|r| r.values.as_slice()).collect();
            let table = encoder.encode_table(&ids, &values)?;
            let stdout = std::io::stdout();
            write_encodings(&mut stdout.lock(), &table)?;
            eprintln!(
                "{} records encoded ({} bits{})",
                table.ids.len(),
                table.meta.bits,
                if table.meta.hardened {
                    ", hardened"
                } else {
                    ""
                }
            );
        }
        PprlCommand::Link {
            left,
            right,
            threshold,
        } => {
            let (a, b) = (read_encodings(&left)?, read_encodings(&right)?);
            let mut cfg = LinkConfig::default();
            if let Some(t) = threshold {
                if !(0.0..=1.0).contains(&t) {
                    bail!("--threshold must be within 0..1, got {t}");
                }
                cfg.threshold = Some(t);
            }
            let result = link_two(&a, &b, &cfg)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            writeln!(out, "left_id,right_id,dice")?;
            for l in &result.links {
                writeln!(
                    out,
                    "{},{},{:.4}",
                    csv_field(&a.ids[l.a as usize]),
                    csv_field(&b.ids[l.b as usize]),
                    l.score
                )?;
            }
            eprintln!(
                "{} links among {} candidates ({} × {} records)",
                result.links.len(),
                result.candidates,
                a.ids.len(),
                b.ids.len()
            );
        }
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn read_secret(path: &Path) -> Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    Secret::parse(text.trim()).with_context(|| format!("key file {}", path.display()))
}

fn read_schema(path: &Path) -> Result<Schema> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read schema {}", path.display()))?;
    let schema: Schema = if text.trim_start().starts_with('{') {
        Schema::from_json(&text).with_context(|| format!("schema {}", path.display()))?
    } else {
        toml::from_str(&text).with_context(|| format!("schema {}", path.display()))?
    };
    schema
        .validate()
        .with_context(|| format!("schema {}", path.display()))?;
    Ok(schema)
}

/// Writes a table of encodings as JSON Lines.
pub fn write_encodings(out: &mut impl Write, table: &EncodedTable) -> Result<()> {
    let mut out = std::io::BufWriter::new(out);
    writeln!(out, "{}", serde_json::json!({ "spirit_pprl": &table.meta }))?;
    for (i, id) in table.ids.iter().enumerate() {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "id": id, "clk": filter_to_base64(table.filters.get(i)) })
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Reads a file of encodings written by [`write_encodings`]; errors name the line.
pub fn read_encodings(path: &Path) -> Result<EncodedTable> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open encodings {}", path.display()))?;
    parse_encodings(BufReader::new(file), &path.display().to_string())
}

/// Parses encodings from any reader; `origin` names it in errors.
pub fn parse_encodings(reader: impl BufRead, origin: &str) -> Result<EncodedTable> {
    let mut lines = reader.lines().enumerate();
    let meta: EncodingMeta = loop {
        let Some((i, line)) = lines.next() else {
            bail!("{origin}: empty, expected a first line {{\"spirit_pprl\": …}}");
        };
        let line = line.with_context(|| format!("{origin}:{}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        #[derive(serde::Deserialize)]
        struct Head {
            spirit_pprl: EncodingMeta,
        }
        let head: Head = serde_json::from_str(&line).with_context(|| {
            format!(
                "{origin}:{}: not an encodings file (first line must be {{\"spirit_pprl\": …}})",
                i + 1
            )
        })?;
        break head.spirit_pprl;
    };
    let mut filters = FilterSet::new(meta.bits as usize)?;
    let mut ids = Vec::new();
    #[derive(serde::Deserialize)]
    struct Row {
        id: String,
        clk: String,
    }
    for (i, line) in lines {
        let line = line.with_context(|| format!("{origin}:{}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(&line)
            .with_context(|| format!("{origin}:{}: expected {{\"id\": …, \"clk\": …}}", i + 1))?;
        filters
            .push_base64(&row.clk)
            .with_context(|| format!("{origin}:{}", i + 1))?;
        ids.push(row.id);
    }
    Ok(EncodedTable { meta, ids, filters })
}
