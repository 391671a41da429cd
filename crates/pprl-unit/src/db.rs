//! What the unit keeps, in one SQLite file: projects, the hashes of party tokens, each
//! party's upload (its encodings' public description, record ids and filter bits) and
//! each party's mapping once linked. Nothing else is written: no key (the unit never has
//! one), no plain value (uploads cannot carry one), no token (only its SHA-256).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spirit_pprl::{EncodedTable, EncodingMeta, FilterSet, LinkConfig};

use crate::UnitError;

/// Schema version of the unit's database (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE projects (
    name     TEXT PRIMARY KEY,
    parties  INTEGER NOT NULL,
    config   TEXT NOT NULL,           -- LinkConfig as JSON
    state    TEXT NOT NULL,           -- waiting | linking | done | failed
    message  TEXT NOT NULL DEFAULT '',
    created  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE TABLE parties (
    project    TEXT NOT NULL REFERENCES projects(name),
    party      INTEGER NOT NULL,      -- 1-based
    token_hash BLOB NOT NULL UNIQUE,  -- SHA-256 of the token
    PRIMARY KEY (project, party)
);
CREATE TABLE uploads (
    project  TEXT NOT NULL,
    party    INTEGER NOT NULL,
    meta     TEXT NOT NULL,           -- EncodingMeta as JSON
    ids      TEXT NOT NULL,           -- record ids, a JSON array
    filters  BLOB NOT NULL,           -- the filters' words, little-endian, back to back
    received TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (project, party)
);
CREATE TABLE results (
    project  TEXT NOT NULL,
    party    INTEGER NOT NULL,
    mapping  TEXT NOT NULL,           -- CSV record_id,link_id
    links    INTEGER NOT NULL,        -- records of this party with a link id
    PRIMARY KEY (project, party)
);
";

/// A project's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not every party has uploaded.
    Waiting,
    /// Every party has uploaded; the linkage is running.
    Linking,
    /// Mappings are ready.
    Done,
    /// The linkage failed; `message` says why.
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Linking => "linking",
            State::Done => "done",
            State::Failed => "failed",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "linking" => State::Linking,
            "done" => State::Done,
            "failed" => State::Failed,
            _ => State::Waiting,
        }
    }
}

/// A project as the unit sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Its name.
    pub name: String,
    /// Number of parties.
    pub parties: u16,
    /// Linkage settings.
    pub config: LinkConfig,
    /// Progress.
    pub state: State,
    /// Why it failed, or a summary when done.
    pub message: String,
}

/// The unit's database.
pub struct UnitDb {
    conn: Connection,
}

/// SHA-256 of a token: what is stored and looked up.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl UnitDb {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path) -> Result<UnitDb, UnitError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| UnitError::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("unit.db");
        let conn = Connection::open(&path)
            .map_err(|e| UnitError::Storage(format!("cannot open {}: {e}", path.display())))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        match version {
            0 => {
                conn.execute_batch(&format!(
                    "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))?;
            }
            SCHEMA_VERSION => {}
            v => {
                return Err(UnitError::Storage(format!(
                    "{} has schema version {v}; this build reads {SCHEMA_VERSION}",
                    path.display()
                )));
            }
        }
        Ok(UnitDb { conn })
    }

    /// Creates a project with one token per party; returns the tokens in party order
    /// (they are shown once and only their hashes are kept). Fails if it exists.
    pub fn create_project(
        &mut self,
        name: &str,
        parties: u16,
        config: &LinkConfig,
    ) -> Result<Vec<String>, UnitError> {
        check_project_name(name)?;
        if parties < 2 {
            return Err(UnitError::BadRequest(format!(
                "a project needs at least 2 parties, not {parties}"
            )));
        }
        let tokens = (0..parties)
            .map(|_| new_token())
            .collect::<Result<Vec<_>, _>>()?;
        let tx = self.conn.transaction()?;
        if tx
            .query_row("SELECT 1 FROM projects WHERE name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some()
        {
            return Err(UnitError::Conflict(format!("project {name} exists")));
        }
        let config =
            serde_json::to_string(config).map_err(|e| UnitError::Storage(e.to_string()))?;
        tx.execute(
            "INSERT INTO projects (name, parties, config, state) VALUES (?1, ?2, ?3, 'waiting')",
            params![name, parties, config],
        )?;
        for (i, t) in tokens.iter().enumerate() {
            tx.execute(
                "INSERT INTO parties (project, party, token_hash) VALUES (?1, ?2, ?3)",
                params![name, i as i64 + 1, &token_hash(t)[..]],
            )?;
        }
        tx.commit()?;
        Ok(tokens)
    }

    /// The project, if it exists.
    pub fn project(&self, name: &str) -> Result<Option<Project>, UnitError> {
        let row = self
            .conn
            .query_row(
                "SELECT parties, config, state, message FROM projects WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        r.get::<_, u16>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(parties, config, state, message)| {
            Ok(Project {
                name: name.to_string(),
                parties,
                config: serde_json::from_str(&config)
                    .map_err(|e| UnitError::Storage(format!("project {name}: config: {e}")))?,
                state: State::parse(&state),
                message,
            })
        })
        .transpose()
    }

    /// The project, or [`UnitError::NotFound`].
    pub fn existing_project(&self, name: &str) -> Result<Project, UnitError> {
        self.project(name)?
            .ok_or_else(|| UnitError::NotFound(format!("no project {name}")))
    }

    /// Every project's name.
    pub fn projects(&self) -> Result<Vec<String>, UnitError> {
        let mut st = self
            .conn
            .prepare("SELECT name FROM projects ORDER BY name")?;
        let names = st
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(names)
    }

    /// The project and party a token belongs to.
    pub fn party_of(&self, token: &str) -> Result<Option<(String, u16)>, UnitError> {
        Ok(self
            .conn
            .query_row(
                "SELECT project, party FROM parties WHERE token_hash = ?1",
                [&token_hash(token)[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Which parties (1-based) have uploaded.
    pub fn uploaded(&self, project: &str) -> Result<Vec<u16>, UnitError> {
        let mut st = self
            .conn
            .prepare("SELECT party FROM uploads WHERE project = ?1 ORDER BY party")?;
        let parties = st
            .query_map([project], |r| r.get(0))?
            .collect::<Result<Vec<u16>, _>>()?;
        Ok(parties)
    }

    /// The descriptions of the uploads so far.
    pub fn upload_metas(&self, project: &str) -> Result<Vec<(u16, EncodingMeta)>, UnitError> {
        let mut st = self
            .conn
            .prepare("SELECT party, meta FROM uploads WHERE project = ?1 ORDER BY party")?;
        let rows = st
            .query_map([project], |r| {
                Ok((r.get::<_, u16>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(p, m)| {
                let meta = serde_json::from_str(&m)
                    .map_err(|e| UnitError::Storage(format!("upload of party {p}: {e}")))?;
                Ok((p, meta))
            })
            .collect()
    }

    /// Stores a party's upload; refuses a second one. Returns the parties that have
    /// uploaded, this one included.
    pub fn store_upload(
        &mut self,
        project: &str,
        party: u16,
        table: &EncodedTable,
    ) -> Result<Vec<u16>, UnitError> {
        let meta =
            serde_json::to_string(&table.meta).map_err(|e| UnitError::Storage(e.to_string()))?;
        let ids =
            serde_json::to_string(&table.ids).map_err(|e| UnitError::Storage(e.to_string()))?;
        let mut bits = Vec::with_capacity(table.filters.data().len() * 8);
        for w in table.filters.data() {
            bits.extend_from_slice(&w.to_le_bytes());
        }
        let tx = self.conn.transaction()?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO uploads (project, party, meta, ids, filters)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![project, party, meta, ids, bits],
        )?;
        if inserted == 0 {
            return Err(UnitError::Conflict(format!(
                "party {party} has already uploaded to project {project}; uploads cannot be replaced"
            )));
        }
        tx.commit()?;
        self.uploaded(project)
    }

    /// Every party's upload, in party order.
    pub fn load_uploads(&self, project: &str) -> Result<Vec<EncodedTable>, UnitError> {
        let mut st = self.conn.prepare(
            "SELECT party, meta, ids, filters FROM uploads WHERE project = ?1 ORDER BY party",
        )?;
        let rows = st
            .query_map([project], |r| {
                Ok((
                    r.get::<_, u16>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(p, meta, ids, bits)| {
                let bad = |e: String| UnitError::Storage(format!("upload of party {p}: {e}"));
                let meta: EncodingMeta =
                    serde_json::from_str(&meta).map_err(|e| bad(e.to_string()))?;
                let ids: Vec<String> =
                    serde_json::from_str(&ids).map_err(|e| bad(e.to_string()))?;
                let words = bits
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect();
                let filters = FilterSet::from_words(meta.bits as usize, words)
                    .map_err(|e| bad(e.to_string()))?;
                if filters.len() != ids.len() {
                    return Err(bad(format!(
                        "{} ids for {} filters",
                        ids.len(),
                        filters.len()
                    )));
                }
                Ok(EncodedTable { meta, ids, filters })
            })
            .collect()
    }

    /// Sets a project's state and message.
    pub fn set_state(&self, project: &str, state: State, message: &str) -> Result<(), UnitError> {
        self.conn.execute(
            "UPDATE projects SET state = ?2, message = ?3 WHERE name = ?1",
            params![project, state.as_str(), message],
        )?;
        Ok(())
    }

    /// Stores every party's mapping and marks the project done, in one transaction.
    pub fn store_results(
        &mut self,
        project: &str,
        mappings: &[(String, usize)],
        message: &str,
    ) -> Result<(), UnitError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM results WHERE project = ?1", [project])?;
        for (i, (csv, links)) in mappings.iter().enumerate() {
            tx.execute(
                "INSERT INTO results (project, party, mapping, links) VALUES (?1, ?2, ?3, ?4)",
                params![project, i as i64 + 1, csv, *links as i64],
            )?;
        }
        tx.execute(
            "UPDATE projects SET state = 'done', message = ?2 WHERE name = ?1",
            params![project, message],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A party's mapping (CSV), once the project is done.
    pub fn result(&self, project: &str, party: u16) -> Result<Option<String>, UnitError> {
        Ok(self
            .conn
            .query_row(
                "SELECT mapping FROM results WHERE project = ?1 AND party = ?2",
                params![project, party],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// Project names travel in URLs and logs: letters, digits, `-`, `_`, `.`; 1–64 bytes.
pub fn check_project_name(name: &str) -> Result<(), UnitError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(UnitError::BadRequest(format!(
            "project name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}

/// A fresh party token: `spt_` and 32 random bytes in URL-safe base64.
fn new_token() -> Result<String, UnitError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| UnitError::Storage(format!("randomness: {e}")))?;
    Ok(format!(
        "spt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// A fresh link id: 16 random hex digits (it says nothing about the records).
pub fn new_link_id() -> Result<String, UnitError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| UnitError::Storage(format!("randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl From<rusqlite::Error> for UnitError {
    fn from(e: rusqlite::Error) -> Self {
        UnitError::Storage(e.to_string())
    }
}
