//! `spirit`: the command-line tool. Every verb is a thin call into a library function.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spirit_engine::evaluate::{EvaluateOptions, evaluate_files};
use spirit_engine::pipeline::{self, ResolveRequest, RunSummary};
use spirit_matching::CardKey;
use spirit_matching::eval::Scope;
use spirit_matching::settings::{ClusterMethod, LinkType, Settings};
use spirit_model::Progress;

/// mimalloc: the incremental path and the kernels allocate and free many small values;
/// the system allocator spent a sixth of `spirit add`'s time consolidating free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (the same index in its v2 and v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory settings for the process, before any work:
/// - mimalloc returns freed memory to the system 10 ms after it is freed by default; a
///   batch run frees and allocates again within a second, and the system zeroes every
///   page it hands back. A delay of one second keeps that memory for reuse and still
///   returns it between the phases of a long-running server.
/// - Transparent huge pages are off for the process (on Linux): each thread's first
///   allocations in a size class faulted in a whole 2 MiB page, zeroed, so the plan's
///   worker threads spent half of a small run zeroing memory; the 1M batch run took
///   18.5 s with them and 15.9 s without, at a lower peak RSS.
///
/// `MIMALLOC_PURGE_DELAY` and `MIMALLOC_ALLOW_THP` in the environment take precedence.
fn tune_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's options; no memory is touched.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE takes no pointer; it sets a flag of this process.
        // A kernel that refuses it leaves huge pages on, which only costs time.
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

mod cluster;
mod demo;
mod extract;
mod ingest;
mod media;
mod pprl;
mod server;
mod store;

#[derive(Parser)]
#[command(
    name = "spirit",
    version,
    about = "SPIRIT: identity resolution with the evidence for every link"
)]
struct Cli {
    /// Hide progress bars.
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Resolve records into entities: block, compare, score, cluster.
    Resolve(ResolveArgs),
    /// Compare clusters with ground truth: pairwise, B-cubed and exact-cluster precision, recall, F1.
    Evaluate {
        /// clusters.csv written by `spirit resolve`.
        #[arg(long)]
        clusters: PathBuf,
        /// Ground truth: pairs (left,right) or clusters (record_id,cluster_id).
        #[arg(long)]
        truth: PathBuf,
        /// candidates.csv written by `spirit resolve --keep-candidates`, for blocking recall.
        #[arg(long)]
        candidates: Option<PathBuf>,
        /// `link` counts only pairs of records from different sources.
        #[arg(long, default_value = "dedupe", value_parser = parse_link_type)]
        link_type: LinkType,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Explain one pair: the waterfall of partial match weights.
    Explain {
        /// model.json written by `spirit resolve`.
        #[arg(long)]
        model: PathBuf,
        /// Input files (as given to resolve).
        #[arg(long = "input", required = true)]
        inputs: Vec<PathBuf>,
        #[arg(long)]
        settings: Option<PathBuf>,
        #[arg(long)]
        id_column: Option<String>,
        /// File holding the key payment cards are hashed under (64 hex digits), as given
        /// to resolve; without it a random one (card values shown differ between runs).
        #[arg(long)]
        card_key_file: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// First record: `source:record_id`, or a record id unique across inputs.
        left: String,
        /// Second record.
        right: String,
    },
    /// Resolve the bundled demo data and compare the result with its ground truth.
    Demo {
        /// Where to write the outputs.
        #[arg(long, default_value = "spirit-demo")]
        out: PathBuf,
    },
    #[command(flatten)]
    Store(store::StoreCommand),
    #[command(flatten)]
    Server(server::ServerCommand),
    /// Privacy-preserving linkage: shared secret, hardened encodings, linkage.
    #[command(subcommand)]
    Pprl(pprl::PprlCommand),
    /// Find identifiers (e-mails, phones, crypto addresses, IBANs, cards, IPs, domains, URLs,
    /// onions, PGP keys, handles) in an HTML page or a text file, with byte offsets.
    Extract(extract::ExtractArgs),
    /// Images and audio as evidence: perceptual hashes, EXIF (serials, time, GPS), Chromaprint.
    #[command(subcommand)]
    Media(media::MediaCommand),
    /// Nodes of an Apache Ballista cluster that runs `spirit resolve --cluster`.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

#[derive(clap::Args)]
struct ResolveArgs {
    /// A workspace to re-resolve in place (instead of --input files and --out).
    workspace: Option<PathBuf>,
    /// Input files: CSV, JSON Lines or Parquet (repeat for several sources).
    #[arg(
        long = "input",
        required_unless_present = "workspace",
        conflicts_with = "workspace"
    )]
    inputs: Vec<PathBuf>,
    /// Output folder.
    #[arg(
        long,
        required_unless_present = "workspace",
        conflicts_with = "workspace"
    )]
    out: Option<PathBuf>,
    /// With a workspace: score with its current model instead of training a new one.
    #[arg(long, requires = "workspace")]
    keep_model: bool,
    /// With a workspace: resolve only the stored records without an entity yet (what
    /// `spirit ingest` stored since the last resolve), one by one with the model in
    /// force (the cold-start model if the workspace was never resolved), instead of
    /// re-running the batch plan over everything.
    #[arg(long, requires = "workspace", conflicts_with = "keep_model")]
    incremental: bool,
    /// Settings file (TOML).
    #[arg(long)]
    settings: Option<PathBuf>,
    /// dedupe, link or link_and_dedupe (overrides the settings file).
    #[arg(long, value_parser = parse_link_type)]
    link_type: Option<LinkType>,
    /// Column holding record ids (overrides the settings file).
    #[arg(long)]
    id_column: Option<String>,
    /// Columns never read (repeatable), e.g. a truth column.
    #[arg(long = "exclude-column")]
    exclude_columns: Vec<String>,
    /// Score with this trained model instead of training.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Labelled pairs (left,right,label) to fit m and u.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Match probability at which edges join entities (overrides the settings file).
    #[arg(long)]
    threshold: Option<f64>,
    /// Clustering method (robust or components), or df://HOST:PORT to run candidate
    /// generation and scoring on that Ballista cluster. Repeat to give both.
    #[arg(long = "cluster", value_parser = parse_cluster)]
    cluster: Vec<ClusterArg>,
    /// With --cluster df://…: a folder every executor reads at the same path as this
    /// machine, where the run's prepared records are written for the executors (and
    /// removed after the run). Default: the folder of the first input.
    #[arg(long, conflicts_with = "workspace")]
    shared_dir: Option<PathBuf>,
    /// Also write candidates.csv with every candidate pair.
    #[arg(long)]
    keep_candidates: bool,
    /// File holding the key payment cards are hashed under (64 hex digits). Without it
    /// each run draws a random key, so card hashes in explanations differ between runs.
    #[arg(long, conflicts_with = "workspace")]
    card_key_file: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// On Ctrl-C (SIGINT) during a cluster run: removes the prepared records written for
/// the executors (normalised personal data on a shared folder), then exits with 130.
/// The outputs are written atomically, so an interrupted run leaves none half-written.
fn remove_shared_files_on_interrupt() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        if rt.block_on(tokio::signal::ctrl_c()).is_ok() {
            spirit_engine::shard::remove_all();
            eprintln!(
                "interrupted: the run's prepared records were removed from the shared folder"
            );
            std::process::exit(130);
        }
    });
}

fn parse_link_type(s: &str) -> Result<LinkType, String> {
    LinkType::parse(s).ok_or_else(|| format!("{s:?} is not one of dedupe, link, link_and_dedupe"))
}

/// `--cluster`: a clustering method, or the scheduler of a cluster to run on.
#[derive(Clone, Debug)]
enum ClusterArg {
    Method(ClusterMethod),
    Scheduler(String),
}

fn parse_cluster(s: &str) -> Result<ClusterArg, String> {
    match s {
        "robust" => Ok(ClusterArg::Method(ClusterMethod::Robust)),
        "components" | "connected_components" => Ok(ClusterArg::Method(ClusterMethod::Components)),
        _ if s.starts_with("df://") => Ok(ClusterArg::Scheduler(s.to_string())),
        _ => Err(format!(
            "{s:?} is not one of robust, components, or a scheduler df://HOST:PORT"
        )),
    }
}

fn main() -> ExitCode {
    tune_memory();
    // A panic is a bug in SPIRIT, never the user's fault: say so in one line, no trace.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        // The reader of standard output went away (`spirit entity … | head`): stop
        // quietly, as command-line tools do.
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        eprintln!(
            "error: internal error{at}: {message} (this is a bug in SPIRIT; please report it)"
        );
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let bars = Bars::new(cli.quiet);
    match cli.command {
        Command::Resolve(args) if args.workspace.is_some() => {
            let dir = args.workspace.as_deref().expect("checked");
            if args
                .cluster
                .iter()
                .any(|c| matches!(c, ClusterArg::Scheduler(_)))
            {
                bail!("--cluster df://… runs over --input files, not over a workspace");
            }
            if args.incremental {
                store::resolve_stored(dir, args.json, &bars)?;
            } else {
                store::resolve_workspace(dir, args.keep_model, args.json, &bars)?;
            }
        }
        Command::Resolve(args) => {
            let summary = resolve(&args, &bars)?;
            bars.clear();
            if args.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_summary(&summary);
            }
        }
        Command::Evaluate {
            clusters,
            truth,
            candidates,
            link_type,
            json,
        } => {
            let scope = if link_type == LinkType::Link {
                Scope::CrossSource
            } else {
                Scope::AllPairs
            };
            let result = evaluate_files(
                &clusters,
                &truth,
                candidates.as_deref(),
                &EvaluateOptions { scope },
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                println!("{result}");
            }
        }
        Command::Explain {
            model,
            inputs,
            settings,
            id_column,
            card_key_file,
            json,
            left,
            right,
        } => {
            let settings = load_settings(settings.as_deref())?;
            let model = pipeline::load_model(&model)?;
            let (l, r, e) = pipeline::explain(
                &inputs,
                &settings,
                id_column.as_deref(),
                card_key(card_key_file.as_deref())?,
                model,
                &left,
                &right,
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!("{l}  ↔  {r}");
                print!("{}", spirit_engine::report::waterfall(&e));
            }
        }
        Command::Demo { out } => {
            demo::run(&out, &bars)?;
        }
        Command::Store(command) => return store::run(command, &bars),
        Command::Server(command) => return server::run(command),
        Command::Pprl(command) => pprl::run(command)?,
        Command::Extract(args) => extract::run(&args)?,
        Command::Media(command) => media::run(&command)?,
        Command::Cluster(command) => cluster::run(command)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn load_settings(path: Option<&Path>) -> Result<Settings> {
    Ok(match path {
        Some(p) => spirit_sources::load_settings(p)?,
        None => Settings::default(),
    })
}

/// The key a run hashes payment cards under: read from `file` (64 hex digits), else
/// drawn at random for this run.
fn card_key(file: Option<&Path>) -> Result<CardKey> {
    match file {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the card key file {}", p.display()))?;
            CardKey::from_hex(&text).with_context(|| format!("card key file {}", p.display()))
        }
        None => Ok(CardKey::random()?),
    }
}

fn resolve(args: &ResolveArgs, bars: &Bars) -> Result<RunSummary> {
    let mut settings = load_settings(args.settings.as_deref())?;
    if let Some(t) = args.link_type {
        settings.resolve.link_type = t;
    }
    if let Some(t) = args.threshold {
        if !(0.0..=1.0).contains(&t) {
            bail!("--threshold must be a probability within 0..1, got {t}");
        }
        settings.resolve.threshold = t;
        settings.resolve.edge_floor = settings.resolve.edge_floor.min(t);
    }
    let mut scheduler = None;
    for c in &args.cluster {
        match c {
            ClusterArg::Method(m) => settings.resolve.cluster = *m,
            ClusterArg::Scheduler(url) => scheduler = Some(url.clone()),
        }
    }
    settings
        .input
        .exclude_columns
        .extend(args.exclude_columns.iter().cloned());
    let model = match &args.model {
        Some(p) => Some(pipeline::load_model(p)?),
        None => None,
    };
    if model.is_some() && args.labels.is_some() {
        bail!(
            "--model and --labels cannot be used together: labels train a model, --model reuses one"
        );
    }
    let request = ResolveRequest {
        inputs: args.inputs.clone(),
        settings,
        id_column: args.id_column.clone(),
        model,
        labels: args.labels.clone(),
        out: args
            .out
            .clone()
            .expect("clap requires --out without a workspace"),
        keep_candidates: args.keep_candidates,
        card_key: card_key(args.card_key_file.as_deref())?,
    };
    let output = match &scheduler {
        Some(url) => {
            let mut session = spirit_cluster::ClusterSession::new(url)?;
            session.shared_dir = args.shared_dir.clone();
            session.check(Duration::from_secs(5))?;
            remove_shared_files_on_interrupt();
            pipeline::resolve_with(&request, Some(&session), bars)
                .with_context(|| format!("resolve on the cluster at {url} failed"))?
        }
        None => pipeline::resolve(&request, bars).with_context(|| "resolve failed")?,
    };
    Ok(output.summary)
}

/// Prints the run summary as a short report.
pub fn print_summary(s: &RunSummary) {
    print!("{}", spirit_engine::report::summary(s));
}

/// Progress bars on stderr (hidden when `--quiet` or stderr is not a terminal).
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        Bars {
            bar: Mutex::new(None),
            quiet,
        }
    }

    fn clear(&self) {
        if let Some(b) = self.bar.lock().expect("progress lock").take() {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bars {
    fn phase(&self, name: &str, total: Option<u64>) {
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template(
                    "{prefix:>10} [{bar:30}] {human_pos}/{human_len} {per_sec} {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{prefix:>10} {spinner} {elapsed}")
                    .expect("valid template"),
            ),
        };
        if self.quiet {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        let mut slot = self.bar.lock().expect("progress lock");
        if let Some(old) = slot.replace(bar) {
            old.finish_and_clear();
        }
    }

    fn set(&self, position: u64) {
        if let Some(b) = self.bar.lock().expect("progress lock").as_ref() {
            if b.length().is_some_and(|l| position > l) {
                b.set_length(position);
            }
            b.set_position(position);
        }
    }

    fn done(&self) {
        self.clear();
    }
}
