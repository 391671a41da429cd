//! The unit's HTTP service: [`app`] builds the router over a shared [`Unit`]; [`serve`]
//! runs it on a listener until a shutdown signal. See the crate docs for the protocol.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::json;
use spirit_pprl::jsonl::read_encodings;

use crate::db::{State, UnitDb, check_project_name};
use crate::{UnitError, link_project};

/// Largest upload accepted by default: 1 GiB (about five million 1024-bit encodings).
pub const DEFAULT_MAX_UPLOAD: usize = 1 << 30;

/// The unit: its database and limits, shared by every request.
pub struct Unit {
    db: Mutex<UnitDb>,
    max_upload: usize,
    log: Box<dyn Fn(&str) + Send + Sync>,
}

impl Unit {
    /// A unit keeping its data in `dir`, accepting uploads of at most `max_upload` bytes;
    /// `log` receives one line per event (counts and party numbers only).
    pub fn open(
        dir: &Path,
        max_upload: usize,
        log: impl Fn(&str) + Send + Sync + 'static,
    ) -> Result<Arc<Unit>, UnitError> {
        Ok(Arc::new(Unit {
            db: Mutex::new(UnitDb::open(dir)?),
            max_upload,
            log: Box::new(log),
        }))
    }

    /// The database, locked. A panic while it was held cannot have left a transaction
    /// half-done (SQLite rolls it back), so a poisoned lock is taken over.
    pub fn db(&self) -> MutexGuard<'_, UnitDb> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Links, in the background, every project whose uploads are complete but which has
    /// no mapping yet — after a crash during linkage, say. Call once at start-up.
    pub fn resume(self: &Arc<Self>) -> Result<(), UnitError> {
        let names = self.db().projects()?;
        for name in names {
            let db = self.db();
            let Some(p) = db.project(&name)? else {
                continue;
            };
            let complete = db.uploaded(&name)?.len() == usize::from(p.parties);
            drop(db);
            if complete && matches!(p.state, State::Waiting | State::Linking) {
                self.start_linkage(name);
            }
        }
        Ok(())
    }

    fn start_linkage(self: &Arc<Self>, project: String) {
        let unit = Arc::clone(self);
        std::thread::spawn(move || unit.run_linkage(&project));
    }

    /// Links `project` now (blocking) and stores the mappings or the failure.
    pub fn run_linkage(&self, project: &str) {
        let outcome = (|| {
            let (config, tables) = {
                let db = self.db();
                db.set_state(project, State::Linking, "")?;
                let p = db.existing_project(project)?;
                (p.config, db.load_uploads(project)?)
            };
            (self.log)(&format!(
                "project {project}: linking {} parties ({} records)",
                tables.len(),
                tables.iter().map(|t| t.len()).sum::<usize>()
            ));
            let linkage = link_project(&tables, &config)?;
            self.db()
                .store_results(project, &linkage.mappings, &linkage.summary)?;
            Ok::<_, UnitError>(linkage.summary)
        })();
        match outcome {
            Ok(summary) => (self.log)(&format!("project {project}: done, {summary}")),
            Err(e) => {
                (self.log)(&format!("project {project}: linkage failed: {e}"));
                let _ = self.db().set_state(project, State::Failed, &e.to_string());
            }
        }
    }
}

/// The router: see the crate docs for the protocol.
pub fn app(unit: Arc<Unit>) -> Router {
    let limit = unit.max_upload;
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/v1/projects/{project}", get(status))
        .route(
            "/v1/projects/{project}/encodings",
            put(upload).layer(DefaultBodyLimit::max(limit)),
        )
        .route("/v1/projects/{project}/result", get(result))
        .fallback(|| async {
            UnitError::NotFound("no such endpoint; see `spirit pprl serve --help`".into())
        })
        .with_state(unit)
}

/// Serves `app(unit)` on `listener` until `shutdown` completes; first links what a crash
/// left unlinked ([`Unit::resume`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    unit: Arc<Unit>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    unit.resume().map_err(std::io::Error::other)?;
    axum::serve(listener, app(unit))
        .with_graceful_shutdown(shutdown)
        .await
}

impl IntoResponse for UnitError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"error": self.code(), "message": self.to_string()});
        (status, axum::Json(body)).into_response()
    }
}

/// The caller's party in `project`, from its bearer token.
fn authorise(unit: &Unit, headers: &HeaderMap, project: &str) -> Result<u16, UnitError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            UnitError::Unauthorized(
                "send the party token as `Authorization: Bearer <token>`".into(),
            )
        })?;
    let Some((owner, party)) = unit.db().party_of(token)? else {
        return Err(UnitError::Unauthorized("unknown party token".into()));
    };
    if owner != project {
        return Err(UnitError::Forbidden(format!(
            "this token belongs to another project, not {project}"
        )));
    }
    Ok(party)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, UnitError> + Send + 'static,
) -> Result<T, UnitError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| UnitError::Storage(format!("worker failed: {e}")))?
}

async fn status(
    AxState(unit): AxState<Arc<Unit>>,
    UrlPath(project): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, UnitError> {
    blocking(move || {
        let party = authorise(&unit, &headers, &project)?;
        let db = unit.db();
        let p = db.existing_project(&project)?;
        let uploaded = db.uploaded(&project)?;
        Ok(axum::Json(json!({
            "project": p.name,
            "parties": p.parties,
            "your_party": party,
            "uploaded": uploaded,
            "state": p.state,
            "message": p.message,
        }))
        .into_response())
    })
    .await
}

async fn upload(
    AxState(unit): AxState<Arc<Unit>>,
    UrlPath(project): UrlPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UnitError> {
    check_project_name(&project)?;
    let party = {
        let (unit, headers, project) = (Arc::clone(&unit), headers.clone(), project.clone());
        blocking(move || authorise(&unit, &headers, &project)).await?
    };
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            UnitError::TooLarge(format!(
                "the upload is larger than this unit accepts ({} MiB); raise --max-upload-mb",
                unit.max_upload >> 20
            ))
        } else {
            UnitError::BadRequest(format!("the upload could not be read: {e}"))
        }
    })?;
    blocking(move || {
        let table =
            read_encodings(&body[..]).map_err(|e| UnitError::BadRequest(format!("upload: {e}")))?;
        let mut db = unit.db();
        let p = db.existing_project(&project)?;
        if p.state != State::Waiting {
            return Err(UnitError::Conflict(format!(
                "project {project} is {:?}: every party has uploaded",
                p.state
            )));
        }
        for (other, meta) in db.upload_metas(&project)? {
            if other != party {
                table.meta.check_compatible(&meta).map_err(|e| {
                    UnitError::Incompatible(format!(
                        "these encodings cannot be linked with party {other}'s: {e}"
                    ))
                })?;
            }
        }
        let uploaded = db.store_upload(&project, party, &table)?;
        let complete = uploaded.len() == usize::from(p.parties);
        if complete {
            db.set_state(&project, State::Linking, "")?;
        }
        drop(db);
        (unit.log)(&format!(
            "project {project}: party {party} uploaded {} encodings ({}/{} parties)",
            table.len(),
            uploaded.len(),
            p.parties
        ));
        if complete {
            unit.start_linkage(project.clone());
        }
        let body = json!({
            "project": project,
            "party": party,
            "records": table.len(),
            "uploaded": uploaded,
            "state": if complete { State::Linking } else { State::Waiting },
        });
        Ok((StatusCode::CREATED, axum::Json(body)).into_response())
    })
    .await
}

async fn result(
    AxState(unit): AxState<Arc<Unit>>,
    UrlPath(project): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, UnitError> {
    blocking(move || {
        let party = authorise(&unit, &headers, &project)?;
        let db = unit.db();
        let p = db.existing_project(&project)?;
        match p.state {
            State::Done => {}
            State::Failed => {
                return Err(UnitError::Conflict(format!(
                    "the linkage of project {project} failed: {}",
                    p.message
                )));
            }
            state => {
                let have = db.uploaded(&project)?.len();
                return Err(UnitError::NotReady(format!(
                    "project {project} is {state:?} ({have}/{} parties have uploaded)",
                    p.parties
                )));
            }
        }
        let csv = db
            .result(&project, party)?
            .ok_or_else(|| UnitError::Storage(format!("no mapping stored for party {party}")))?;
        drop(db);
        (unit.log)(&format!(
            "project {project}: party {party} fetched its mapping"
        ));
        Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
    })
    .await
}

/// [`serve`] over TLS with a rustls configuration (the certificate and key).
pub async fn serve_tls(
    listener: std::net::TcpListener,
    unit: Arc<Unit>,
    tls: axum_server::tls_rustls::RustlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    unit.resume().map_err(std::io::Error::other)?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    listener.set_nonblocking(true)?;
    axum_server::from_tcp_rustls(listener, tls)?
        .handle(handle)
        .serve(app(unit).into_make_service())
        .await
}

/// Binds `addr`, reports the bound address to `on_listen`, and serves (over TLS when
/// `tls` gives a configuration) until Ctrl-C or SIGTERM; the process's way to run the
/// unit (`spirit pprl serve`).
pub fn serve_until_signal<F>(
    addr: &str,
    unit: Arc<Unit>,
    tls: Option<F>,
    on_listen: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()>
where
    F: Future<Output = std::io::Result<axum_server::tls_rustls::RustlsConfig>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let tls = match tls {
            Some(f) => Some(f.await?),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        on_listen(listener.local_addr()?);
        match tls {
            Some(tls) => serve_tls(listener.into_std()?, unit, tls, shutdown_signal()).await,
            None => serve(listener, unit, shutdown_signal()).await,
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
