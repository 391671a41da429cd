//! `spirit pprl …`: privacy-preserving linkage verbs — a shared secret, hardened encodings
//! of a party's records, linkage of two or more parties' encodings (locally, or through a
//! linkage unit: `serve`, `submit`, `result`), and an attack on one's own encodings
//! (`assess`). Each is a thin call into `spirit-pprl` or `spirit-pprl-unit`; this module
//! only reads and writes files.
//!
//! An encodings file is JSON Lines ([`spirit_pprl::jsonl`]): a first line
//! `{"spirit_pprl": <EncodingMeta>}` (the format, schema fingerprint, key check, length and
//! hardening: nothing secret), then one line `{"id": …, "clk": <base64>}` per record. No
//! plain value is ever written.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use spirit_matching::Settings;
use spirit_model::AttrKind;
use spirit_pprl::attack::AttackConfig;
use spirit_pprl::{
    EncodedTable, Encoder, LinkConfig, PprlError, Schema, Secret, link_parties, link_two,
};
use spirit_pprl_unit::client::Client;
use spirit_pprl_unit::service::{DEFAULT_MAX_UPLOAD, Unit, serve_until_signal};
use spirit_sources::{SourceTable, read_source};

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
    /// Link parties' encodings locally, as the linkage unit does. Two files: 1:1, prints
    /// `left_id,right_id,dice` per link. Three or more: clusters of at most one record per
    /// party, prints `link_id,party,record_id` per linked record (party = file position).
    Link {
        /// Two or more encodings files.
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Dice threshold (default: chosen from the data).
        #[arg(long)]
        threshold: Option<f64>,
    },
    /// Run a linkage unit: parties upload encodings, the unit links them and gives each
    /// party its own mapping. It never sees the key or a plain value.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: String,
        /// The project to create (or serve again, after a restart).
        #[arg(long)]
        project: String,
        /// Number of parties (a new project).
        #[arg(long, default_value_t = 2)]
        parties: u16,
        /// A new project's party tokens are written here, one per line in party order
        /// (give each party its line, privately).
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// Folder for the unit's database.
        #[arg(long, default_value = "spirit-unit")]
        data: PathBuf,
        /// Dice threshold for a new project (default: chosen from the data).
        #[arg(long)]
        threshold: Option<f64>,
        /// Largest upload accepted, in MiB.
        #[arg(long, default_value_t = DEFAULT_MAX_UPLOAD >> 20)]
        max_upload_mb: usize,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Upload this party's encodings to a linkage unit.
    Submit {
        #[command(flatten)]
        unit: UnitArgs,
        /// Encodings file (from `spirit pprl encode`).
        file: PathBuf,
    },
    /// Fetch this party's mapping from a linkage unit: CSV `record_id,link_id`, one row per
    /// record submitted (`link_id` empty where it linked to nothing).
    Result {
        #[command(flatten)]
        unit: UnitArgs,
        /// Seconds to wait for the other parties and the linkage (0: ask once).
        #[arg(long, default_value_t = 600)]
        wait: u64,
    },
    /// Attack your own encodings with a plain sample of similar people and report the
    /// share re-identified — the residual risk of the settings you chose.
    Assess {
        /// Encodings file (from `spirit pprl encode`).
        encodings: PathBuf,
        /// Plain records of similar people, as an attacker might hold (CSV, JSON Lines, Parquet).
        #[arg(long)]
        plain: PathBuf,
        /// The plain records the encodings were made from (matched by record id): reports
        /// how many the attack got right, not only how many it named.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// The encoding schema (as given to encode); the defaults for the recognised
        /// columns otherwise.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Settings file for reading the plain files (column mapping, id column).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Column holding record ids in the plain files.
        #[arg(long)]
        id_column: Option<String>,
        /// Columns never read (repeatable).
        #[arg(long = "exclude-column")]
        exclude_columns: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// How a party reaches its linkage unit.
#[derive(clap::Args)]
pub struct UnitArgs {
    /// The unit's address, e.g. http://127.0.0.1:8700.
    #[arg(long)]
    to: String,
    /// The project.
    #[arg(long)]
    project: String,
    /// This party's token (prefer --token-file: a command line is visible to other users).
    #[arg(
        long,
        conflicts_with = "token_file",
        required_unless_present = "token_file"
    )]
    token: Option<String>,
    /// A file holding this party's token.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// For an https unit: trust only this certificate authority (PEM), e.g. the unit's
    /// own certificate; by default the public web's authorities are trusted.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

impl UnitArgs {
    fn client(&self) -> Result<Client> {
        let token = match (&self.token, &self.token_file) {
            (Some(t), _) => t.clone(),
            (None, Some(f)) => std::fs::read_to_string(f)
                .with_context(|| format!("cannot read token file {}", f.display()))?
                .trim()
                .to_string(),
            (None, None) => bail!("give --token or --token-file"),
        };
        let ca = match &self.ca_cert {
            Some(p) => Some(
                std::fs::read(p)
                    .with_context(|| format!("cannot read CA certificate {}", p.display()))?,
            ),
            None => None,
        };
        Client::with_ca(&self.to, &token, ca.as_deref())
            .with_context(|| format!("unit {}", self.to))
    }
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
            let reader = PlainReader::new(settings.as_deref(), id_column, exclude_columns)?;
            let source = reader.read(&file)?;
            let schema = schema_for(schema.as_deref(), &source)?;
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
        PprlCommand::Link { files, threshold } => {
            let tables = files
                .iter()
                .map(|f| read_encodings(f))
                .collect::<Result<Vec<_>>>()?;
            let mut cfg = LinkConfig::default();
            if let Some(t) = threshold {
                if !(0.0..=1.0).contains(&t) {
                    bail!("--threshold must be within 0..1, got {t}");
                }
                cfg.threshold = Some(t);
            }
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            if let [a, b] = &tables[..] {
                let result = link_two(a, b, &cfg)?;
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
                    "{} links among {} candidates ({} × {} records, Dice threshold {:.3})",
                    result.links.len(),
                    result.candidates,
                    a.ids.len(),
                    b.ids.len(),
                    result.threshold
                );
            } else {
                let refs: Vec<&EncodedTable> = tables.iter().collect();
                let result = link_parties(&refs, &cfg)?;
                writeln!(out, "link_id,party,record_id")?;
                for (k, cluster) in result.clusters.iter().enumerate() {
                    for r in cluster {
                        let id = &tables[usize::from(r.party)].ids[r.index as usize];
                        writeln!(out, "L{},{},{}", k + 1, r.party + 1, csv_field(id))?;
                    }
                }
                eprintln!(
                    "{} clusters across {} parties ({} records, Dice threshold {:.3})",
                    result.clusters.len(),
                    tables.len(),
                    tables.iter().map(|t| t.len()).sum::<usize>(),
                    result.threshold
                );
            }
            out.flush()?;
        }
        PprlCommand::Serve {
            listen,
            project,
            parties,
            tokens,
            data,
            threshold,
            max_upload_mb,
            tls_cert,
            tls_key,
        } => serve(
            &listen,
            &project,
            parties,
            tokens.as_deref(),
            &data,
            threshold,
            max_upload_mb,
            tls_cert.as_deref().zip(tls_key.as_deref()),
        )?,
        PprlCommand::Submit { unit, file } => {
            let body = std::fs::read(&file)
                .with_context(|| format!("cannot read encodings {}", file.display()))?;
            // Check locally first: a malformed file is reported with its own name and line.
            spirit_pprl::jsonl::read_encodings(&body[..])
                .with_context(|| format!("encodings {}", file.display()))?;
            let ack = unit.client()?.submit(&unit.project, &body)?;
            eprintln!(
                "submitted {} encodings to project {} as party {} ({} of the parties have uploaded; {})",
                ack["records"], unit.project, ack["party"], ack["uploaded"], ack["state"]
            );
        }
        PprlCommand::Result { unit, wait } => {
            let client = unit.client()?;
            let csv = if wait == 0 {
                client.result(&unit.project)?.with_context(|| {
                    format!("project {} has no mapping yet (not every party has uploaded, or the linkage runs)", unit.project)
                })?
            } else {
                client.wait_for_result(
                    &unit.project,
                    Duration::from_secs(wait),
                    Duration::from_millis(500),
                )?
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(csv.as_bytes())?;
            out.flush()?;
            let linked = csv.lines().skip(1).filter(|l| !l.ends_with(',')).count();
            eprintln!(
                "{} of {} records linked",
                linked,
                csv.lines().count().saturating_sub(1)
            );
        }
        PprlCommand::Assess {
            encodings,
            plain,
            truth,
            schema,
            settings,
            id_column,
            exclude_columns,
            json,
        } => assess(
            &encodings,
            &plain,
            truth.as_deref(),
            schema.as_deref(),
            PlainReader::new(settings.as_deref(), id_column, exclude_columns)?,
            json,
        )?,
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
    spirit_pprl::jsonl::write_encodings(out, table)?;
    Ok(())
}

/// Reads a file of encodings written by [`write_encodings`]; errors name the file and line.
pub fn read_encodings(path: &Path) -> Result<EncodedTable> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open encodings {}", path.display()))?;
    spirit_pprl::jsonl::read_encodings(BufReader::new(file))
        .with_context(|| format!("encodings {}", path.display()))
}

/// Reads plain files as `spirit resolve` does: settings, id column, excluded columns.
pub struct PlainReader {
    settings: Settings,
    id_column: Option<String>,
}

impl PlainReader {
    fn new(
        settings: Option<&Path>,
        id_column: Option<String>,
        exclude_columns: Vec<String>,
    ) -> Result<PlainReader> {
        let mut settings = match settings {
            Some(p) => spirit_sources::load_settings(p)?,
            None => Settings::default(),
        };
        settings.input.exclude_columns.extend(exclude_columns);
        Ok(PlainReader {
            settings,
            id_column,
        })
    }

    fn read(&self, file: &Path) -> Result<SourceTable> {
        let source = read_source(file, &self.settings.input, self.id_column.as_deref())?;
        for q in &source.quarantined {
            eprintln!("{}:{}: {} (skipped)", file.display(), q.line, q.reason);
        }
        Ok(source)
    }
}

/// The schema from its file, or the defaults for the columns recognised in `source`.
fn schema_for(path: Option<&Path>, source: &SourceTable) -> Result<Schema> {
    match path {
        Some(p) => read_schema(p),
        None => {
            let kinds: Vec<_> = source.mapping.iter().map(|(_, k)| *k).collect();
            Ok(Schema::for_kinds(&kinds))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn serve(
    listen: &str,
    project: &str,
    parties: u16,
    tokens: Option<&Path>,
    data: &Path,
    threshold: Option<f64>,
    max_upload_mb: usize,
    tls: Option<(&Path, &Path)>,
) -> Result<()> {
    let unit = Unit::open(data, max_upload_mb.saturating_mul(1 << 20), |line| {
        eprintln!("{line}")
    })?;
    let existing = unit.db().project(project)?;
    match existing {
        Some(p) => {
            if p.parties != parties {
                bail!(
                    "project {project} exists in {} with {} parties, not {parties}",
                    data.display(),
                    p.parties
                );
            }
            eprintln!(
                "project {project}: {} parties, {:?} (tokens were written when it was created)",
                p.parties, p.state
            );
        }
        None => {
            let Some(tokens) = tokens else {
                bail!("a new project needs --tokens FILE to write its party tokens to");
            };
            if let Some(t) = threshold
                && !(0.0..=1.0).contains(&t)
            {
                bail!("--threshold must be within 0..1, got {t}");
            }
            let cfg = LinkConfig {
                threshold,
                ..LinkConfig::default()
            };
            let list = unit.db().create_project(project, parties, &cfg)?;
            write_private(tokens, &(list.join("\n") + "\n"))?;
            eprintln!(
                "project {project}: {parties} party tokens written to {} (line k is party k's; they are not shown again)",
                tokens.display()
            );
        }
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    serve_until_signal(
        listen,
        unit,
        tls.map(|(cert, key)| spirit_server::tls_config(cert, key)),
        |addr| {
            eprintln!(
                "linkage unit listening on {scheme}://{addr} (data in {})",
                data.display()
            )
        },
    )?;
    eprintln!("linkage unit stopped");
    Ok(())
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn assess(
    encodings: &Path,
    plain: &Path,
    truth: Option<&Path>,
    schema: Option<&Path>,
    reader: PlainReader,
    json: bool,
) -> Result<()> {
    let table = read_encodings(encodings)?;
    let sample = reader.read(plain)?;
    let schema = schema_for(schema, &sample)?;
    let sample_values: Vec<&[(AttrKind, String)]> =
        sample.records.iter().map(|r| r.values.as_slice()).collect();
    // With the plain records behind the encodings, the report counts what the attack got right.
    let own = truth.map(|t| reader.read(t)).transpose()?;
    let behind: Option<Vec<(&str, &[spirit_model::Attribute])>> = own.as_ref().map(|own| {
        own.records
            .iter()
            .map(|r| (r.id.as_str(), r.values.as_slice()))
            .collect()
    });
    let report = spirit_pprl::assess::assess(
        &table,
        &schema,
        &sample_values,
        behind.as_deref(),
        &AttackConfig::default(),
    )
    .map_err(|e| match e {
        PprlError::Incompatible(reason)
            if schema.fingerprint() != table.meta.schema_fingerprint =>
        {
            anyhow::anyhow!(
                "{} was {reason}: pass the schema given to `spirit pprl encode` with --schema",
                encodings.display()
            )
        }
        e => e.into(),
    })?;
    if let (Some(t), missing @ 1..) = (truth, report.truth_missing) {
        eprintln!(
            "{missing} encoded record ids are not in {}; they count as not re-identified",
            t.display()
        );
    }
    if json {
        let out = serde_json::json!({
            "encodings": report.encodings,
            "sample": report.sample,
            "named": report.named,
            "named_share": report.named_share,
            "re_identified": report.re_identified,
            "re_identified_share": report.re_identified_share,
            "segments": report.segments,
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "attack on {} encodings with a plain sample of {} records",
        report.encodings, report.sample
    );
    for s in &report.segments {
        let seg = s
            .kind
            .map_or("record-level CLK".to_string(), |k| format!("{k:?} filter"));
        println!(
            "  {seg}: {} frequent groups, {} aligned by frequency, {} q-grams located, {} values decoded",
            s.groups, s.aligned, s.qgrams_identified, s.decoded
        );
    }
    println!(
        "records the attack named a sample person for: {} ({:.2}%)",
        report.named,
        100.0 * report.named_share
    );
    match (report.re_identified, report.re_identified_share) {
        (Some(n), Some(share)) => println!(
            "records re-identified (decoded values right): {n} ({:.2}%)",
            100.0 * share
        ),
        _ => println!(
            "(give --truth with the plain records behind the encodings to count the right guesses; \
             the share named is an upper bound)"
        ),
    }
    Ok(())
}
