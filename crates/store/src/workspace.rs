//! A workspace: a folder with `spirit.db` (SQLite in WAL mode) and `settings.toml`.
//!
//! Writers hold an exclusive lock on `spirit.lock` for as long as they write, so a second
//! writer gets [`StoreError::Busy`] at once instead of waiting on the database; readers
//! take no lock (WAL lets them read while a writer works). Transactions commit with
//! `synchronous = FULL`: once a commit returns, its records survive a crash of the
//! process or of the machine.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use spirit_matching::Settings;

use crate::keys::{self, AuditKey};
use crate::{StoreError, now, schema};

/// The database file inside a workspace.
pub const DATABASE: &str = "spirit.db";
/// The settings file inside a workspace.
pub const SETTINGS: &str = "settings.toml";
/// The writers' lock file inside a workspace.
pub const LOCK: &str = "spirit.lock";

/// An open workspace.
pub struct Workspace {
    dir: PathBuf,
    pub(crate) conn: Connection,
    settings: Settings,
    lock: Option<File>,
    /// The key folder ([`crate::keys`]).
    key_dir: PathBuf,
    /// The audit key, read when the workspace was opened (created on the first write).
    audit_key: Option<AuditKey>,
}

/// How a workspace is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reading only: no lock, the database opened read-only.
    Read,
    /// Writing: the writers' lock is taken and the schema migrated to the current version.
    Write,
}

impl Workspace {
    /// Creates a workspace in `dir` (created if missing; it must not hold a store yet).
    /// `settings` is the text of a settings file to keep; `None` writes the defaults.
    pub fn init(dir: &Path, settings: Option<&str>) -> Result<Workspace, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let db = dir.join(DATABASE);
        if db.exists() {
            return Err(StoreError::Invalid(format!(
                "{} already holds a SPIRIT workspace",
                dir.display()
            )));
        }
        let text = match settings {
            Some(text) => {
                Settings::parse(text).map_err(|message| {
                    StoreError::Source(spirit_sources::SourceError::Settings {
                        path: dir.join(SETTINGS),
                        message,
                    })
                })?;
                text.to_string()
            }
            None => default_settings_text(),
        };
        let path = dir.join(SETTINGS);
        let tmp = dir.join("settings.toml.partial");
        std::fs::write(&tmp, text).map_err(|e| StoreError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))?;
        let ws = Workspace::open_inner(dir, Access::Write, true)?;
        ws.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('created_at', ?1)",
            [now()],
        )?;
        Ok(ws)
    }

    /// Opens an existing workspace.
    pub fn open(dir: &Path, access: Access) -> Result<Workspace, StoreError> {
        Workspace::open_inner(dir, access, false)
    }

    fn open_inner(dir: &Path, access: Access, create: bool) -> Result<Workspace, StoreError> {
        let db = dir.join(DATABASE);
        if !create && !db.is_file() {
            return Err(StoreError::NotWorkspace(dir.to_path_buf()));
        }
        let settings_path = dir.join(SETTINGS);
        let settings = if settings_path.is_file() {
            spirit_sources::load_settings(&settings_path)?
        } else {
            Settings::default()
        };
        let lock = match access {
            Access::Write => Some(take_lock(dir)?),
            Access::Read => None,
        };
        let flags = match access {
            Access::Write => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            Access::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        // On a read-only file system SQLite cannot create the shared-memory file WAL
        // readers need; the store cannot change there, so it is opened as immutable.
        let mut conn = if access == Access::Read && !dir_writable(dir) {
            Connection::open_with_flags(
                format!("file:{}?mode=ro&immutable=1", uri_path(&db)),
                flags,
            )
        } else {
            Connection::open_with_flags(&db, flags)
        }
        .map_err(|e| map_write_error(dir, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Ingest, incremental resolution and search together use more statements than
        // rusqlite caches by default; evicting them would re-parse SQL per record.
        conn.set_prepared_statement_cache_capacity(64);
        if access == Access::Write {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| map_write_error(dir, e))?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            crate::migrate::migrate(&mut conn).map_err(|e| map_store_error(dir, e))?;
        } else {
            let v = schema::version(&conn)?;
            if v != schema::CURRENT_VERSION {
                drop(conn);
                // An older store is upgraded once, under the writers' lock.
                if v < schema::CURRENT_VERSION {
                    drop(Workspace::open(dir, Access::Write)?);
                    return Workspace::open(dir, Access::Read);
                }
                return Err(StoreError::TooNew {
                    found: v,
                    supported: schema::CURRENT_VERSION,
                });
            }
        }
        // Reads go through a memory map (no copy per page read); the page cache holds
        // what is written.
        conn.pragma_update(None, "mmap_size", 1_i64 << 36)?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let key_dir = keys::key_dir(dir, settings.keys.dir.as_deref());
        let audit_key = match access {
            Access::Write => {
                move_legacy_card_key(&conn, &key_dir)?;
                seal_from_now(&conn, &key_dir)?
            }
            Access::Read => AuditKey::load(&key_dir, None)?,
        };
        Ok(Workspace {
            dir: dir.to_path_buf(),
            conn,
            settings,
            lock,
            key_dir,
            audit_key,
        })
    }

    /// The key folder ([`crate::keys::key_dir`]).
    pub fn key_dir(&self) -> &Path {
        &self.key_dir
    }

    /// The audit key, or why there is none: a log that is sealed needs its key to grow.
    pub fn audit_key(&self) -> Result<AuditKey, StoreError> {
        if let Some(k) = &self.audit_key {
            return Ok(k.clone());
        }
        let from = keys::sealed_from(&self.conn)?.unwrap_or_else(|| "1".into());
        Err(StoreError::Invalid(format!(
            "the audit key {} is missing: the audit log is sealed from entry {from} on and \
             cannot be verified or extended without it. Restore the key folder, or point \
             {} or the settings' keys.dir at it",
            self.key_dir.join(keys::AUDIT_KEY).display(),
            keys::KEY_DIR_ENV
        )))
    }

    /// The audit key if the key folder holds it (readers verify with it).
    pub fn audit_key_if_any(&self) -> Option<&AuditKey> {
        self.audit_key.as_ref()
    }

    /// The payment-card key if it was made (for searches: a reader never makes one).
    pub fn card_key_if_any(&self) -> Result<Option<[u8; 32]>, StoreError> {
        keys::card_key(&self.key_dir, None, false)
    }

    /// The workspace's payment-card key (created on the first write that needs it):
    /// card numbers are kept only as keyed hashes under it, so they cannot be recovered
    /// by hashing every possible number without the key folder.
    ///
    /// The key is made once: when `meta` says it was made and the file is gone, this
    /// fails rather than make another, under which stored card numbers would no longer
    /// match new ones.
    pub fn card_key(&self) -> Result<[u8; 32], StoreError> {
        let made: bool = self
            .conn
            .query_row("SELECT 1 FROM meta WHERE key = 'card_key_made'", [], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        let create = self.writable() && !made;
        match keys::card_key(&self.key_dir, None, create)? {
            Some(key) => {
                if create {
                    self.conn.execute(
                        "INSERT OR IGNORE INTO meta(key, value) VALUES ('card_key_made', ?1)",
                        [now()],
                    )?;
                }
                Ok(key)
            }
            None => Err(StoreError::Invalid(format!(
                "the payment-card key {} is missing{}. Restore the key folder, or point {} or \
                 the settings' keys.dir at it",
                self.key_dir.join(keys::CARD_KEY).display(),
                if made {
                    ": card numbers stored under it could not be matched with new ones"
                } else {
                    ""
                },
                keys::KEY_DIR_ENV
            ))),
        }
    }

    /// The workspace folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The workspace's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The database connection, for read queries by tools and tests.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// True when this handle may write.
    pub fn writable(&self) -> bool {
        self.lock.is_some()
    }

    /// Fails unless this handle may write.
    pub fn require_write(&self) -> Result<(), StoreError> {
        if self.writable() {
            Ok(())
        } else {
            Err(StoreError::Invalid(
                "the workspace was opened for reading only".into(),
            ))
        }
    }

    /// Maps a database error of a write to the store's clear errors.
    pub(crate) fn write_error(&self, e: StoreError) -> StoreError {
        map_store_error(&self.dir, e)
    }

    /// The id of a named source, created on first use.
    pub(crate) fn source_id(conn: &Connection, name: &str) -> Result<i64, StoreError> {
        if let Some(id) = conn
            .prepare_cached("SELECT id FROM sources WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?
        {
            return Ok(id);
        }
        conn.prepare_cached("INSERT INTO sources(name, created_at) VALUES (?1, ?2)")?
            .execute(params![name, now()])?;
        Ok(conn.last_insert_rowid())
    }

    /// Starts a run of a kind; returns its id.
    /// Writes rows that could not be stored to `quarantine/<source>-run<run>.csv` in the
    /// workspace (the one quarantine writer: cards masked) and returns its path.
    pub(crate) fn write_quarantine(
        &self,
        source: &str,
        run: i64,
        rows: &[spirit_sources::QuarantinedRow],
    ) -> Result<PathBuf, StoreError> {
        let path = self
            .dir()
            .join("quarantine")
            .join(format!("{source}-run{run}.csv"));
        spirit_sources::write_quarantine(&path, rows.iter().map(|r| (source, r)))?;
        Ok(path)
    }

    pub(crate) fn start_run(conn: &Connection, kind: &str) -> Result<i64, StoreError> {
        conn.execute(
            "INSERT INTO runs(kind, started_at) VALUES (?1, ?2)",
            params![kind, now()],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Marks a run finished with its summary.
    pub(crate) fn finish_run(
        conn: &Connection,
        run: i64,
        model: Option<i64>,
        summary: &str,
    ) -> Result<(), StoreError> {
        conn.execute(
            "UPDATE runs SET finished_at = ?2, model = ?3, summary = ?4 WHERE id = ?1",
            params![run, now(), model, summary],
        )?;
        Ok(())
    }
}

/// Checkpoints the write-ahead log from a thread of its own while a writer streams
/// commits, so that no commit waits for pages to be copied back into the database. The
/// writer's own automatic checkpoints are off meanwhile and come back when it is dropped.
pub(crate) struct Checkpointer {
    nudge: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(ws: &Workspace) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(ws.dir.join(DATABASE))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        ws.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (nudge, wake) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::spawn(move || {
            use std::sync::mpsc::RecvTimeoutError;
            let checkpoint = |mode: &str| {
                let _ = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()));
            };
            while let Ok(()) | Err(RecvTimeoutError::Timeout) =
                wake.recv_timeout(std::time::Duration::from_millis(250))
            {
                checkpoint("PASSIVE");
            }
            checkpoint("PASSIVE");
        });
        Ok(Checkpointer {
            nudge: Some(nudge),
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint soon (after a commit).
    pub(crate) fn nudge(&self) {
        if let Some(n) = &self.nudge {
            let _ = n.try_send(());
        }
    }

    /// Stops the thread after a last checkpoint and gives checkpoints back to `conn`.
    pub(crate) fn stop(&mut self, conn: &Connection) {
        drop(self.nudge.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = conn.pragma_update(None, "wal_autocheckpoint", 1000);
    }
}

/// Moves a payment-card key that an older store kept in `meta` to the key folder, and
/// wipes it from the database file (secure delete, then a checkpoint that truncates the
/// write-ahead log).
fn move_legacy_card_key(conn: &Connection, key_dir: &Path) -> Result<(), StoreError> {
    let legacy: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'card_key'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(text) = legacy else { return Ok(()) };
    let key = spirit_matching::CardKey::from_hex(&text).map_err(|_| {
        StoreError::Invalid("the workspace's old card key (meta.card_key) is damaged".into())
    })?;
    keys::card_key(key_dir, Some(*key.as_bytes()), true)?;
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('card_key_made', ?1)",
        [now()],
    )?;
    conn.pragma_update(None, "secure_delete", true)?;
    conn.execute("DELETE FROM meta WHERE key = 'card_key'", [])?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    conn.pragma_update(None, "secure_delete", false)?;
    Ok(())
}

/// The audit key of a workspace opened for writing: created on the first write, sealing
/// the entries after those already in the log. `None` when the log was sealed but its key
/// is gone (writes that log fail with [`Workspace::audit_key`]'s error).
fn seal_from_now(conn: &Connection, key_dir: &Path) -> Result<Option<AuditKey>, StoreError> {
    if keys::sealed_from(conn)?.is_some() {
        return AuditKey::load(key_dir, None);
    }
    let next: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit", [], |r| {
        r.get(0)
    })?;
    let key = AuditKey::load(key_dir, Some(next))?;
    if let Some(k) = &key {
        keys::record_sealed_from(conn, k.keyed_from)?;
    }
    Ok(key)
}

/// The default settings, written into a new workspace as a commented file.
fn default_settings_text() -> String {
    let body = toml::to_string_pretty(&Settings::default()).expect("settings serialise");
    format!(
        "# SPIRIT workspace settings. Every value shown is the default; see README.md.\n\
         # [input.columns] maps column names to attribute kinds when names are not\n\
         # recognised; [[blocking]] rules replace the default rules.\n\n{body}"
    )
}

/// Takes the writers' lock, or says who holds it.
fn take_lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                StoreError::ReadOnly {
                    path: dir.to_path_buf(),
                    message: e.to_string(),
                }
            }
            _ => StoreError::io(&path, e),
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            return Err(StoreError::Busy {
                path: dir.to_path_buf(),
                holder,
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
    }
    // Who holds it, for the message a second writer sees.
    let _ = file.set_len(0);
    let _ = write!(file, "pid {}", std::process::id());
    let _ = file.flush();
    Ok(file)
}

/// Turns SQLite's "full", "read-only" and "busy" codes into the store's clear errors.
pub(crate) fn map_store_error(dir: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(e) => map_write_error(dir, e),
        other => other,
    }
}

fn map_write_error(dir: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::DiskFull(dir.to_path_buf()),
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::CannotOpen)
            if std::fs::metadata(dir).is_ok_and(|m| m.permissions().readonly())
                || !dir_writable(dir) =>
        {
            StoreError::ReadOnly {
                path: dir.to_path_buf(),
                message: e.to_string(),
            }
        }
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
            path: dir.to_path_buf(),
            message: e.to_string(),
        },
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Busy {
            path: dir.to_path_buf(),
            holder: None,
        },
        _ => StoreError::Sqlite(e),
    }
}

/// A path written for a SQLite `file:` URI: `%`, `?` and `#` escaped.
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

fn dir_writable(dir: &Path) -> bool {
    let probe = dir.join(".spirit-write-probe");
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_open_and_refuse_a_second_writer() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), None).unwrap();
        assert!(ws.writable());
        assert_eq!(
            schema::version(ws.connection()).unwrap(),
            schema::CURRENT_VERSION
        );
        let busy = Workspace::open(dir.path(), Access::Write).err().unwrap();
        assert!(matches!(busy, StoreError::Busy { .. }), "{busy}");
        assert!(busy.to_string().contains("busy"), "{busy}");
        // Readers are never refused.
        let reader = Workspace::open(dir.path(), Access::Read).unwrap();
        assert!(!reader.writable());
        drop(ws);
        Workspace::open(dir.path(), Access::Write).unwrap();
        // A second init over an existing workspace is refused.
        let again = Workspace::init(dir.path(), None).err().unwrap();
        assert!(again.to_string().contains("already holds"), "{again}");
    }

    #[test]
    fn a_folder_without_a_store_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = Workspace::open(dir.path(), Access::Read).err().unwrap();
        assert!(e.to_string().contains("spirit init"), "{e}");
    }

    #[test]
    fn bad_settings_are_refused_at_init() {
        let dir = tempfile::tempdir().unwrap();
        let e = Workspace::init(dir.path(), Some("[resolve]\nthreshold = 7\n"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("threshold"), "{e}");
        assert!(!dir.path().join(DATABASE).exists());
    }

    #[test]
    fn default_settings_parse_back() {
        let text = default_settings_text();
        assert_eq!(Settings::parse(&text).unwrap(), Settings::default());
    }
}
