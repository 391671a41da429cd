//! SPIRIT's HTTP server: a REST + JSON API over one workspace, with its OpenAPI document
//! at `/openapi.json` generated from the handlers.
//!
//! - Authentication: API tokens (`Authorization: Bearer`) or a session cookie from
//!   `POST /api/login` (Secure, HttpOnly, SameSite=Strict) whose state-changing requests
//!   must carry the session's CSRF token in `X-CSRF-Token`.
//! - Authorisation: roles (admin, analyst, auditor) and cases as compartments: every view
//!   is filtered by [`spirit_store::scope`] before it leaves the store.
//! - Every read of personal data needs a purpose; every read and write is appended to the
//!   hash-chained audit log ([`spirit_store::audit`]) *before* the response is sent.
//! - Reads use a small pool of read-only connections; writes open the workspace for
//!   writing (taking its writers' lock) for the duration of one request, so the CLI's
//!   verbs can write between requests.
//!
//! - The analyst's workbench (the web UI built from `web/`) is embedded in the binary by
//!   [`ui`] and served at every path outside `/api/`: a file of the build, or `index.html`
//!   for the single-page app's routes, with a strict Content-Security-Policy. Without a
//!   built UI (`make web` was not run) those paths answer with a page saying how to build
//!   it; the API is unaffected, so `cargo build` and `cargo test` never need Node.js.
//!
//! Only this crate knows HTTP and JSON-over-the-wire; the store does the work.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use rusqlite::Connection;
use spirit_store::audit::{Appender, Entry};
use spirit_store::workspace::Access;
use spirit_store::{StoreError, Workspace};

pub mod api;
pub mod auth;
pub mod dto;
pub mod error;
pub mod throttle;
pub mod ui;

use error::ApiError;

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// Largest request body accepted (uploads included), in bytes.
    pub max_body_bytes: usize,
    /// Mark the session cookie `Secure` (on unless testing over plain HTTP on loopback).
    pub secure_cookie: bool,
    /// Read connections kept open.
    pub readers: usize,
    /// How often [`serve`] applies the sources' retention periods (`None`: never; then
    /// `spirit retention apply` must be scheduled outside).
    pub retention_every: Option<std::time::Duration>,
    /// Served over TLS ([`serve_tls`]): responses carry HSTS.
    pub tls: bool,
    /// How often [`serve`] anchors the audit log, and where the anchors go (`None`: never;
    /// then `spirit audit anchor` must be scheduled outside). The shorter the period, the
    /// shorter the tail of the log that a cut after the last anchor could remove unseen.
    pub anchor_every: Option<(std::time::Duration, spirit_store::anchor::Sink)>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_body_bytes: 32 * 1024 * 1024,
            secure_cookie: true,
            readers: 8,
            retention_every: Some(std::time::Duration::from_secs(3600)),
            tls: false,
            anchor_every: None,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    config: Config,
    readers: Mutex<Vec<Workspace>>,
    /// At most `config.readers` reads at once, so the pool never opens more connections.
    read_permits: Arc<tokio::sync::Semaphore>,
    /// At most half the readers run heavy reads (search, networks, paths, exports) at
    /// once, so point reads of records and entities always find a reader.
    heavy_permits: Arc<tokio::sync::Semaphore>,
    writer: tokio::sync::Mutex<()>,
    /// Password checks (Argon2) at once: at most one per core, so a flood of logins
    /// cannot take every core from the readers and the writer.
    password_checks: Arc<tokio::sync::Semaphore>,
    audit: Appender,
    /// The audit key (outside the database) the log's seals are checked with.
    audit_key: spirit_store::keys::AuditKey,
    /// The workspace's key folder.
    key_dir: PathBuf,
    logins: throttle::LoginThrottle,
}

impl AppState {
    /// Opens the workspace in `dir` (migrating it to the current schema).
    pub fn open(dir: &Path, config: Config) -> Result<AppState, StoreError> {
        let ws = Workspace::open(dir, Access::Write)?;
        let key = ws.audit_key()?;
        let key_dir = ws.key_dir().to_path_buf();
        drop(ws);
        let audit = Appender::start(dir, key.clone())?;
        let logins =
            throttle::LoginThrottle::open(dir, spirit_store::access::now_ms()).map_err(|e| {
                StoreError::Invalid(format!(
                    "cannot open {}: {e}",
                    dir.join(throttle::FILE).display()
                ))
            })?;
        Ok(AppState {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                config: config.clone(),
                readers: Mutex::new(Vec::new()),
                read_permits: Arc::new(tokio::sync::Semaphore::new(config.readers.max(1))),
                heavy_permits: Arc::new(tokio::sync::Semaphore::new((config.readers / 2).max(1))),
                writer: tokio::sync::Mutex::new(()),
                password_checks: Arc::new(tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(1, |n| n.get()),
                )),
                audit,
                audit_key: key,
                key_dir,
                logins,
            }),
        })
    }

    /// The workspace folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The audit key.
    pub fn audit_key(&self) -> &spirit_store::keys::AuditKey {
        &self.inner.audit_key
    }

    /// The workspace's key folder.
    pub fn key_dir(&self) -> &Path {
        &self.inner.key_dir
    }

    /// Failed logins per user name.
    pub fn logins(&self) -> &throttle::LoginThrottle {
        &self.inner.logins
    }

    /// Runs `f` on a read connection, off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let state = self.clone();
        let permit = self
            .inner
            .read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("the reader pool is closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let ws = {
                let mut pool = state
                    .inner
                    .readers
                    .lock()
                    .map_err(|_| ApiError::Internal("reader pool poisoned".into()))?;
                pool.pop()
            };
            let ws = match ws {
                Some(ws) => ws,
                None => {
                    let ws = Workspace::open(&state.inner.dir, Access::Read)?;
                    // No memory map for the server's long-lived readers: the database file
                    // grows as the audit log and writes are checkpointed, and each growth
                    // would make every reader unmap and re-fault the whole file.
                    ws.connection()
                        .pragma_update(None, "mmap_size", 0)
                        .map_err(StoreError::from)?;
                    ws
                }
            };
            let out = f(ws.connection());
            if let Ok(mut pool) = state.inner.readers.lock()
                && pool.len() < state.inner.config.readers
            {
                pool.push(ws);
            }
            out
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a request's worker failed: {e}")))?
    }

    /// Runs a heavy read (search, network, path, export): like [`AppState::read`], but
    /// at most half the readers do so at once.
    pub async fn read_heavy<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let _heavy = self
            .inner
            .heavy_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("the reader pool is closed".into()))?;
        self.read(f).await
    }

    /// Runs a password check on a read connection, at most one per core at once.
    pub async fn check_password<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let _permit = self
            .inner
            .password_checks
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("the password checks are closed".into()))?;
        self.read(f).await
    }

    /// Runs `f` with the workspace open for writing (one writer at a time).
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Workspace) -> Result<T, ApiError> + Send + 'static,
    {
        let guard = self.inner.writer.lock().await;
        let dir = self.inner.dir.clone();
        let out = tokio::task::spawn_blocking(move || {
            let mut ws = Workspace::open(&dir, Access::Write)?;
            f(&mut ws)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a request's worker failed: {e}")))?;
        drop(guard);
        out
    }

    /// Runs `f` off the async threads with a lender of the workspace: each call of the
    /// lender takes the writer lock, opens the workspace for writing, runs its work and
    /// lets both go, so other writers get their turn between two calls (the batches of
    /// an upload).
    pub async fn write_lent<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut spirit_store::stream::Lend<'_>) -> Result<T, ApiError> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut lend = |work: &mut dyn FnMut(&mut Workspace) -> Result<(), StoreError>| {
                let _writer = state.inner.writer.blocking_lock();
                let mut ws = Workspace::open(&state.inner.dir, Access::Write)?;
                // A connection opened per batch: no memory map of the whole file (a
                // long upload would map it all), reads go through the page cache.
                ws.connection().pragma_update(None, "mmap_size", 0)?;
                work(&mut ws)
            };
            f(&mut lend)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a request's worker failed: {e}")))?
    }

    /// Appends an entry to the audit log and waits until it is durable.
    pub async fn audit(&self, entry: Entry) -> Result<i64, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.inner.audit.log(entry))
            .await
            .map_err(|e| ApiError::Internal(format!("the audit writer failed: {e}")))?
            .map_err(|e| {
                eprintln!("spirit-server: audit: {e}");
                ApiError::Internal("the audit log could not be written".into())
            })
    }
}

/// The whole application: the API routes, `/openapi.json`, the body limit.
pub fn app(state: AppState) -> Router {
    let limit = state.config().max_body_bytes;
    let (router, doc) = api::router().split_for_parts();
    let doc = Arc::new(doc);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(ui::fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::BadRequest("this method is not allowed on this path".into())
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// Headers on every response: no response is sniffed into another type; nothing is
/// kept in a browser's or proxy's cache unless the response says otherwise (API answers
/// carry personal data); on TLS, browsers are told to use nothing else (HSTS).
async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config().tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000"),
        );
    }
    response
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

/// Serves the workspace on `listener` until `shutdown` resolves; applies the retention
/// periods at start and then every [`Config::retention_every`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let schedules = Schedules::start(&state);
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    drop(schedules);
    served
}

/// [`serve`] over TLS (rustls): the certificate chain and the private key are PEM files.
/// A file that is missing or not PEM is an error that names it, before anything is served.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    state: AppState,
    cert: &Path,
    key: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = tls_config(cert, key).await?;
    let schedules = Schedules::start(&state);
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    listener.set_nonblocking(true)?;
    let served = axum_server::from_tcp_rustls(listener, config)?
        .handle(handle)
        .serve(app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await;
    drop(schedules);
    served
}

/// Reads a PEM certificate chain and private key for rustls (with the ring provider);
/// errors name the file at fault.
pub async fn tls_config(
    cert: &Path,
    key: &Path,
) -> std::io::Result<axum_server::tls_rustls::RustlsConfig> {
    // One provider for the process: aws-lc-rs, which offers post-quantum key exchange
    // (X25519MLKEM768) first.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let read = |p: &Path| {
        std::fs::read(p)
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot read {}: {e}", p.display())))
    };
    let (c, k) = (read(cert)?, read(key)?);
    axum_server::tls_rustls::RustlsConfig::from_pem(c, k)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot serve TLS with certificate {} and key {}: {e}",
                    cert.display(),
                    key.display()
                ),
            )
        })
}

/// Who the retention schedule's erasures are logged as.
pub const RETENTION_ACTOR: &str = "spirit-server (retention schedule)";

/// Applies the retention periods once: what [`serve`] runs on its schedule.
pub async fn apply_retention_now(
    state: &AppState,
) -> Result<spirit_store::retention::RetentionReport, ApiError> {
    state
        .write(|ws| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            Ok(spirit_store::retention::apply_retention(
                ws,
                RETENTION_ACTOR,
                now,
            )?)
        })
        .await
}

/// The server's scheduled work (retention, anchors), stopped when dropped.
struct Schedules(Vec<tokio::task::JoinHandle<()>>);

impl Schedules {
    fn start(state: &AppState) -> Schedules {
        let config = state.config();
        let mut tasks = Vec::new();
        if let Some(every) = config.retention_every {
            tasks.push(tokio::spawn(retention_schedule(state.clone(), every)));
        }
        if let Some((every, sink)) = config.anchor_every.clone() {
            tasks.push(tokio::spawn(anchor_schedule(state.clone(), every, sink)));
        }
        Schedules(tasks)
    }
}

impl Drop for Schedules {
    fn drop(&mut self) {
        self.0.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// Anchors the audit log at start and then every `every` (at least a second), through
/// the same writer as requests; an anchor that cannot be taken or delivered is reported
/// and tried again at the next tick.
async fn anchor_schedule(
    state: AppState,
    every: std::time::Duration,
    sink: spirit_store::anchor::Sink,
) {
    let mut ticks = tokio::time::interval(every.max(std::time::Duration::from_secs(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let to = sink.clone();
        let taken = state
            .write(move |ws| Ok(spirit_store::anchor::anchor_to(ws, "server", Some(&to))?))
            .await;
        if let Err(e) = taken {
            eprintln!("spirit-server: the audit log was not anchored to {sink} this time: {e}");
        }
    }
}

async fn retention_schedule(state: AppState, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every.max(std::time::Duration::from_secs(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match apply_retention_now(&state).await {
            Ok(report) if report.total.records > 0 => eprintln!(
                "spirit-server: retention erased {} records",
                report.total.records
            ),
            Ok(_) => {}
            // Busy (a CLI verb is writing) or a store fault: try again at the next tick.
            Err(e) => eprintln!("spirit-server: retention not applied this time: {e}"),
        }
    }
}
