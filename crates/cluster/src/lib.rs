//! SPIRIT on an Apache Ballista cluster.
//!
//! The batch pipeline's candidate generation and scoring are one DataFusion plan
//! (`spirit_engine::plan`). Ballista runs DataFusion plans on many machines, so the
//! cluster runs that same plan:
//!
//! - [`run_scheduler`] is Ballista's scheduler, in this process, with SPIRIT's codecs.
//! - [`run_executor`] is Ballista's executor with SPIRIT's codecs: the pair tables and
//!   their nodes (key scans, block sweeps that score) arrive carrying where the client
//!   wrote the run's prepared records and the model; each task reads only the records of
//!   its own blocks from that file, and a file of another run or version is refused.
//! - [`ClusterSession`] is the client side: a `spirit_engine::plan::SessionFactory`
//!   whose sessions send their queries to the scheduler. Reading, EM training (on the
//!   histogram the cluster aggregates), clustering and writing run on the client.
//!
//! The codecs ([`SpiritLogicalCodec`], [`SpiritPhysicalCodec`]) wrap Ballista's own, so
//! every other plan node travels as Ballista ships it.

use std::future::Future;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{Result as DfResult, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use spirit_engine::EngineError;
use spirit_engine::plan::{SessionFactory, decode_exec, decode_table, encode_exec, encode_table};

/// Everything that can go wrong starting or reaching a cluster node.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// An address on the command line is not `host:port`.
    #[error("{what} {given:?} is not host:port ({message})")]
    Address {
        what: &'static str,
        given: String,
        message: String,
    },
    /// The scheduler did not answer.
    #[error(
        "cannot reach the SPIRIT scheduler at {addr}: {message} (start one with `spirit cluster scheduler --listen {addr}`)"
    )]
    Unreachable { addr: String, message: String },
    /// The executor's work folder is unusable.
    #[error("work folder {}: {source}", path.display())]
    WorkDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Ballista reported an error.
    #[error("{0}")]
    Ballista(String),
}

/// Bytes that start every SPIRIT plan node in a codec's buffer, so SPIRIT's nodes and
/// Ballista's own are told apart.
const MAGIC: &[u8] = b"SPIRIT1\0";

fn tagged(bytes: Vec<u8>, buf: &mut Vec<u8>) {
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&bytes);
}

/// Ballista's logical codec plus SPIRIT's pair tables (client → scheduler).
#[derive(Debug, Default)]
pub struct SpiritLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for SpiritLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> DfResult<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        match buf.strip_prefix(MAGIC) {
            Some(rest) => decode_table(rest),
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        match encode_table(node.as_ref())? {
            Some(bytes) => {
                tagged(bytes, buf);
                Ok(())
            }
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> DfResult<()> {
        self.inner.try_encode_file_format(buf, node)
    }
}

/// Ballista's physical codec plus SPIRIT's key scans and block sweeps (scheduler → executors).
#[derive(Debug, Default)]
pub struct SpiritPhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for SpiritPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match buf.strip_prefix(MAGIC) {
            Some(rest) => decode_exec(rest, inputs),
            None => self.inner.try_decode(buf, inputs, ctx, proto_converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        match encode_exec(node.as_ref())? {
            Some(bytes) => {
                tagged(bytes, buf);
                Ok(())
            }
            None => self.inner.try_encode(node, buf, proto_converter),
        }
    }
}

/// `host:port` (or `df://host:port`) → its parts, with a clear error naming `what`.
pub fn parse_host_port(what: &'static str, given: &str) -> Result<(String, u16), ClusterError> {
    let bare = given.strip_prefix("df://").unwrap_or(given);
    let err = |message: &str| ClusterError::Address {
        what,
        given: given.to_string(),
        message: message.to_string(),
    };
    let (host, port) = bare.rsplit_once(':').ok_or_else(|| err("no port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(err("no host"));
    }
    let port: u16 = port.parse().map_err(|_| err("the port is not a number"))?;
    Ok((host.to_string(), port))
}

/// Waits up to `patience` for a TCP connection to `host:port`.
pub fn wait_reachable(host: &str, port: u16, patience: Duration) -> Result<(), ClusterError> {
    let addr = format!("{host}:{port}");
    let unreachable = |message: String| ClusterError::Unreachable {
        addr: addr.clone(),
        message,
    };
    let start = Instant::now();
    loop {
        let targets: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| unreachable(format!("the name does not resolve: {e}")))?
            .collect();
        let mut last = String::from("no address");
        for t in &targets {
            match TcpStream::connect_timeout(t, Duration::from_secs(2)) {
                Ok(_) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
        }
        if start.elapsed() >= patience {
            return Err(unreachable(last));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs a scheduler listening on `listen` until `stop` completes (Ctrl-C in the CLI).
pub async fn run_scheduler(
    listen: SocketAddr,
    stop: impl Future<Output = ()>,
) -> Result<(), ClusterError> {
    let config = SchedulerConfig {
        bind_host: listen.ip().to_string(),
        bind_port: listen.port(),
        external_host: listen.ip().to_string(),
        override_logical_codec: Some(Arc::new(SpiritLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(SpiritPhysicalCodec::default())),
        // A dead executor is noticed within seconds, and its tasks run elsewhere.
        executor_timeout_seconds: 20,
        expire_dead_executor_interval_seconds: 5,
        // When every executor is gone, running jobs fail after a minute with an error
        // that says so, instead of waiting for a node that may never come back.
        no_executors_grace_period_seconds: 60,
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| ClusterError::Ballista(e.to_string()))?;
    tokio::select! {
        r = start_server(cluster, listen, Arc::new(config)) => {
            r.map_err(|e| ClusterError::Ballista(format!("scheduler on {listen}: {e}")))
        }
        _ = stop => Ok(()),
    }
}

/// How an executor joins a cluster.
#[derive(Clone, Debug)]
pub struct ExecutorOptions {
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Address the executor's Arrow Flight service listens on (shuffle data).
    pub bind: SocketAddr,
    /// Port of its gRPC service (task control).
    pub grpc_port: u16,
    /// Folder for shuffle files.
    pub work_dir: PathBuf,
    /// Tasks run at once; 0 = the number of cores.
    pub concurrency: usize,
    /// How long to wait for the scheduler at start.
    pub connect_patience: Duration,
}

/// Runs an executor until it is stopped (Ctrl-C or SIGTERM) or the scheduler stops it.
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    std::fs::create_dir_all(&options.work_dir).map_err(|e| ClusterError::WorkDir {
        path: options.work_dir.clone(),
        source: e,
    })?;
    let (host, port, patience) = (
        options.scheduler_host.clone(),
        options.scheduler_port,
        options.connect_patience,
    );
    tokio::task::spawn_blocking(move || wait_reachable(&host, port, patience))
        .await
        .map_err(|e| ClusterError::Ballista(e.to_string()))??;
    let config = ExecutorProcessConfig {
        bind_host: options.bind.ip().to_string(),
        external_host: Some(options.bind.ip().to_string()),
        port: options.bind.port(),
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        work_dir: Some(options.work_dir.display().to_string()),
        vcores: options.concurrency,
        executor_heartbeat_interval_seconds: 5,
        print_thread_info: false,
        override_logical_codec: Some(Arc::new(SpiritLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(SpiritPhysicalCodec::default())),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| ClusterError::Ballista(format!("executor: {e}")))
}

/// Records of a run per partition of a rule's key rows at most: a block sweep holds the
/// prepared records of its partition's blocks, so this bounds an executor's memory per
/// task slot.
pub const RECORDS_PER_TASK: usize = 250_000;

/// The client side: sessions whose queries run on the cluster at `df://host:port`.
#[derive(Clone, Debug)]
pub struct ClusterSession {
    host: String,
    port: u16,
    /// Partitions a query is cut into at least (spread over the executors' task
    /// slots); more for large runs, so that a task holds at most
    /// [`RECORDS_PER_TASK`] records of a rule's blocks.
    pub partitions: usize,
    /// Where the client writes a run's prepared records for the executors (a folder
    /// every node reads at the same path); `None` for the first input's folder.
    pub shared_dir: Option<PathBuf>,
}

impl ClusterSession {
    /// A client of the scheduler at `url` (`df://host:port` or `host:port`).
    pub fn new(url: &str) -> Result<ClusterSession, ClusterError> {
        let (host, port) = parse_host_port("--cluster", url)?;
        Ok(ClusterSession {
            host,
            port,
            partitions: 8,
            shared_dir: None,
        })
    }

    /// Partitions for a run of `records` records.
    pub fn partitions_for(&self, records: u32) -> usize {
        self.partitions
            .max((records as usize).div_ceil(RECORDS_PER_TASK))
            .max(1)
    }

    /// Fails with a clear error unless the scheduler answers within `patience`.
    pub fn check(&self, patience: Duration) -> Result<(), ClusterError> {
        wait_reachable(&self.host, self.port, patience)
    }
}

impl SessionFactory for ClusterSession {
    fn shared_dir(&self) -> Option<PathBuf> {
        self.shared_dir.clone()
    }

    fn session(
        &self,
        runtime: &tokio::runtime::Runtime,
        records: u32,
    ) -> Result<SessionContext, EngineError> {
        self.check(Duration::from_secs(5))
            .map_err(|e| EngineError::Plan(e.to_string()))?;
        let config = SessionConfig::new_with_ballista()
            .with_target_partitions(self.partitions_for(records))
            .with_information_schema(false)
            .with_ballista_job_name("spirit resolve")
            // The static planner: with Ballista 55's adaptive planner, a job whose
            // executor was killed mid-run waits for ever (a re-submitted stage is not
            // found again: "Can't find active stage to update stage outputs"). The static
            // planner re-runs the lost executor's tasks and finishes with the same result
            // (crates/cli/tests/cluster.rs).
            .with_ballista_adaptive_query_planner(false)
            .with_ballista_logical_extension_codec(Arc::new(SpiritLogicalCodec::default()))
            .with_ballista_physical_extension_codec(Arc::new(SpiritPhysicalCodec::default()));
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build();
        let url = format!("df://{}:{}", self.host, self.port);
        runtime
            .block_on(SessionContext::remote_with_state(&url, state))
            .map_err(|e| EngineError::Plan(format!("cluster at {url}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_or_fail_clearly() {
        assert_eq!(
            parse_host_port("--cluster", "df://node1:50050").unwrap(),
            ("node1".to_string(), 50050)
        );
        assert_eq!(
            parse_host_port("--scheduler", "[::1]:7").unwrap(),
            ("::1".to_string(), 7)
        );
        let e = parse_host_port("--cluster", "df://node1").unwrap_err();
        assert!(e.to_string().contains("no port"), "{e}");
        let e = parse_host_port("--cluster", "node1:http").unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
    }

    #[test]
    fn an_absent_scheduler_is_a_clear_error() {
        // A port nobody listens on: bind, note it, release it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = wait_reachable("127.0.0.1", port, Duration::from_millis(300)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("cannot reach the SPIRIT scheduler"), "{text}");
        assert!(text.contains(&port.to_string()), "{text}");
    }
}
