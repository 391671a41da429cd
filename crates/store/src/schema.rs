//! Every table of the store, by name, and the migrations that build them.
//!
//! The schema version is SQLite's `user_version`. A store is migrated forward, one
//! version at a time and each step in its own transaction, when it is opened for
//! writing; a store newer than this build is refused. `tests/fixtures/` keeps a store
//! written at version 1, and a test opens it with the current code.

use rusqlite::{Connection, Transaction};

use crate::StoreError;

/// Key/value facts about the workspace (creation time, the settings text).
pub const META: &str = "meta";
/// Named sources of records.
pub const SOURCES: &str = "sources";
/// One row per stored record: raw payload, source, provenance.
pub const RECORDS: &str = "records";
/// Attribute values of each record, raw and normalised.
pub const ATTRIBUTES: &str = "attributes";
/// Trained models, with the blocking rules and settings they were trained with.
pub const MODELS: &str = "models";
/// Every batch run, ingest and stream of additions.
pub const RUNS: &str = "runs";
/// Entities ever created; a retired entity keeps its row.
pub const ENTITIES: &str = "entities";
/// The entity each record belongs to now.
pub const MEMBERSHIP: &str = "membership";
/// Scored edges at or above the edge floor, with their partial weights.
pub const EDGES: &str = "edges";
/// Analyst judgements on record pairs; the latest per pair is in force.
pub const JUDGEMENTS: &str = "judgements";
/// Creations, attachments, merges, splits and judgements, in order.
pub const EVENTS: &str = "events";
/// Distinct search terms (folded name tokens and identifiers).
pub const SEARCH_TERMS: &str = "search_terms";
/// FTS5 trigram index over the search terms.
pub const SEARCH_TRIGRAMS: &str = "search_trigrams";
/// Which records hold which search term.
pub const SEARCH_POSTINGS: &str = "search_postings";
/// Sound codes and nickname groups of name terms, for sound-alike and nickname search.
pub const SEARCH_KEYS: &str = "search_keys";

/// Identifiers found in documents, with their provenance: [`crate::mentions`].
pub const MENTIONS: &str = "mentions";
/// Which account each post belongs to: [`crate::style`].
pub const ACCOUNT_POSTS: &str = crate::style::ACCOUNT_POSTS;

/// Cases (compartments): [`crate::access`].
pub const CASES: &str = crate::access::CASES;
/// Users and their roles.
pub const USERS: &str = crate::access::USERS;
/// Case membership.
pub const CASE_MEMBERS: &str = crate::access::CASE_MEMBERS;
/// API and session tokens (hashes only).
pub const TOKENS: &str = crate::access::TOKENS;
/// The hash-chained audit log: [`crate::audit`].
pub const AUDIT: &str = crate::audit::AUDIT;

/// All tables, in creation order (the FTS5 index's shadow tables aside).
pub const TABLES: &[&str] = &[
    META,
    SOURCES,
    RECORDS,
    ATTRIBUTES,
    MODELS,
    RUNS,
    ENTITIES,
    MEMBERSHIP,
    EDGES,
    JUDGEMENTS,
    EVENTS,
    SEARCH_TERMS,
    SEARCH_TRIGRAMS,
    SEARCH_POSTINGS,
    SEARCH_KEYS,
    CASES,
    USERS,
    CASE_MEMBERS,
    TOKENS,
    AUDIT,
    MENTIONS,
    ACCOUNT_POSTS,
];

/// Version 1: records, entities, edges, judgements and events. (Version 2 adds the
/// search index: [`crate::search`]; version 3 users, cases, tokens, the sources' case,
/// legal basis and retention, and the audit log: [`crate::access`], [`crate::audit`]; version 4
/// the mentions of identifiers in documents: [`crate::mentions`]; version 5 the posts of
/// each account, and accounts' style profiles: [`crate::style`].)
const V1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('ingest', 'resolve', 'add', 'judge')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    model INTEGER REFERENCES models(id),
    summary TEXT
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    source INTEGER NOT NULL REFERENCES sources(id),
    record_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    provenance TEXT NOT NULL,
    run INTEGER NOT NULL REFERENCES runs(id),
    UNIQUE (source, record_id)
);
CREATE TABLE attributes (
    record INTEGER NOT NULL REFERENCES records(id),
    kind TEXT NOT NULL,
    raw TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (record, kind)
) WITHOUT ROWID;
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    model TEXT NOT NULL,
    rules TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE entities (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    created_run INTEGER NOT NULL REFERENCES runs(id),
    retired_at TEXT,
    retired_into INTEGER REFERENCES entities(id)
);
CREATE TABLE membership (
    record INTEGER PRIMARY KEY REFERENCES records(id),
    entity INTEGER NOT NULL REFERENCES entities(id)
);
CREATE INDEX membership_by_entity ON membership(entity);
CREATE TABLE edges (
    a INTEGER NOT NULL REFERENCES records(id),
    b INTEGER NOT NULL REFERENCES records(id),
    weight REAL NOT NULL,
    partials BLOB NOT NULL,
    model INTEGER NOT NULL REFERENCES models(id),
    PRIMARY KEY (a, b),
    CHECK (a < b)
) WITHOUT ROWID;
CREATE INDEX edges_by_b ON edges(b, a);
CREATE TABLE judgements (
    id INTEGER PRIMARY KEY,
    a INTEGER NOT NULL REFERENCES records(id),
    b INTEGER NOT NULL REFERENCES records(id),
    verdict TEXT NOT NULL CHECK (verdict IN ('same', 'not-same', 'unsure')),
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    CHECK (a < b)
);
CREATE INDEX judgements_by_pair ON judgements(a, b);
CREATE INDEX judgements_by_b ON judgements(b);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    run INTEGER REFERENCES runs(id),
    kind TEXT NOT NULL,
    entity INTEGER NOT NULL,
    other INTEGER,
    record INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX events_by_entity ON events(entity);
CREATE INDEX events_by_other ON events(other) WHERE other IS NOT NULL;
";

/// One migration step.
type Migration = fn(&Transaction<'_>) -> Result<(), StoreError>;

/// The migrations, in order: `MIGRATIONS[i]` takes a store from version `i` to `i + 1`.
const MIGRATIONS: &[Migration] = &[
    |tx| Ok(tx.execute_batch(V1)?),
    |tx| crate::search::migrate(tx),
    |tx| crate::access::migrate(tx),
    |tx| crate::mentions::migrate(tx),
    |tx| crate::style::migrate(tx),
];

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// The schema version of an open store (0 for an empty file).
pub fn version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the store up to `target` (at most [`CURRENT_VERSION`]), one transaction per
/// step. Returns the version found.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, StoreError> {
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for v in found..target.min(CURRENT_VERSION) {
        let tx = conn.transaction()?;
        MIGRATIONS[v as usize](&tx)?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
    }
    Ok(found)
}

/// Brings the store up to the current version.
pub fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    migrate_to(conn, CURRENT_VERSION)
}
