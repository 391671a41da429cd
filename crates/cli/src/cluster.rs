//! `spirit cluster scheduler|executor`: the nodes of a Ballista cluster running SPIRIT's
//! plan (see docs/cluster.md). `spirit resolve --cluster df://HOST:PORT` is the client.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use spirit_cluster::{ExecutorOptions, parse_host_port, run_executor, run_scheduler};

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Run a scheduler: clients send it plans, it hands their tasks to executors.
    Scheduler {
        /// Address to listen on, e.g. 0.0.0.0:50050.
        #[arg(long, default_value = "127.0.0.1:50050")]
        listen: String,
    },
    /// Run an executor: SPIRIT's kernels inside Ballista's executor.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long)]
        scheduler: String,
        /// Folder for shuffle files (local disk of this machine).
        #[arg(long)]
        work_dir: PathBuf,
        /// Address of this executor's data (Arrow Flight) service, reachable from the
        /// other executors and the client.
        #[arg(long, default_value = "127.0.0.1:50051")]
        bind: String,
        /// Port of its task-control (gRPC) service; default: the --bind port + 1.
        #[arg(long)]
        grpc_port: Option<u16>,
        /// Tasks run at once (0 = one per core).
        #[arg(long, default_value_t = 0)]
        concurrency: usize,
        /// Seconds to wait for the scheduler at start.
        #[arg(long, default_value_t = 10)]
        connect_timeout: u64,
    },
}

fn socket(what: &str, given: &str) -> Result<SocketAddr> {
    given
        .to_socket_addrs()
        .with_context(|| format!("{what} {given:?} is not host:port"))?
        .next()
        .ok_or_else(|| anyhow!("{what} {given:?} resolves to no address"))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn run(command: ClusterCommand) -> Result<()> {
    // Node logs go to stderr: warnings by default, more with RUST_LOG (e.g.
    // RUST_LOG=info,ballista_scheduler=debug).
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
    match command {
        ClusterCommand::Scheduler { listen } => {
            let addr = socket("--listen", &listen)?;
            eprintln!("spirit scheduler listening on {addr} (Ctrl-C stops it)");
            runtime()?.block_on(run_scheduler(addr, async {
                let _ = tokio::signal::ctrl_c().await;
            }))?;
            eprintln!("spirit scheduler stopped");
        }
        ClusterCommand::Executor {
            scheduler,
            work_dir,
            bind,
            grpc_port,
            concurrency,
            connect_timeout,
        } => {
            let (scheduler_host, scheduler_port) = parse_host_port("--scheduler", &scheduler)?;
            let bind = socket("--bind", &bind)?;
            let grpc_port = match grpc_port {
                Some(p) => p,
                None => bind.port().checked_add(1).ok_or_else(|| {
                    anyhow!(
                        "--bind port {} leaves no room for the gRPC port; give --grpc-port",
                        bind.port()
                    )
                })?,
            };
            eprintln!(
                "spirit executor on {bind} (gRPC {grpc_port}) joining {scheduler_host}:{scheduler_port} (Ctrl-C stops it)"
            );
            runtime()?.block_on(run_executor(ExecutorOptions {
                scheduler_host,
                scheduler_port,
                bind,
                grpc_port,
                work_dir,
                concurrency,
                connect_patience: Duration::from_secs(connect_timeout),
            }))?;
            eprintln!("spirit executor stopped");
        }
    }
    Ok(())
}
