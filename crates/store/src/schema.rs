//! Every table of the store, by name, the SQL that creates each version's tables, and
//! the schema version.
//!
//! The schema version is SQLite's `user_version`. The `migrate` module runs the steps
//! (this SQL, and the backfills the step needs) forward when a store is opened for
//! writing. This module depends on no other module of the store.

use rusqlite::Connection;

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

/// Identifiers found in documents, with their provenance (the `mentions` module).
pub const MENTIONS: &str = "mentions";
/// Which account each post belongs to (the `style` module).
pub const ACCOUNT_POSTS: &str = "account_posts";

/// Cases (compartments): the `access` module.
pub const CASES: &str = "cases";
/// Users who may use the server, and their roles.
pub const USERS: &str = "users";
/// Which users belong to which cases.
pub const CASE_MEMBERS: &str = "case_members";
/// API and session tokens, as SHA-256 hashes.
pub const TOKENS: &str = "tokens";
/// The hash-chained audit log (the `audit` module).
pub const AUDIT: &str = "audit";

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

/// Version 1: records, entities, edges, judgements and events.
pub(crate) const V1: &str = "
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

/// Version 2: the search index (terms, trigrams, postings and keys; the `search` module).
pub(crate) fn v2_search() -> String {
    format!(
        "CREATE TABLE {SEARCH_TERMS} (
            id INTEGER PRIMARY KEY,
            term TEXT NOT NULL UNIQUE,
            postings INTEGER NOT NULL DEFAULT 0
        );
        CREATE VIRTUAL TABLE {SEARCH_TRIGRAMS} USING fts5(
            term, content='', contentless_delete=1, detail='none', tokenize='trigram'
        );
        INSERT INTO {SEARCH_TRIGRAMS}({SEARCH_TRIGRAMS}, rank) VALUES ('secure-delete', 1);
        CREATE TABLE {SEARCH_POSTINGS} (
            term INTEGER NOT NULL REFERENCES {SEARCH_TERMS}(id),
            record INTEGER NOT NULL,
            PRIMARY KEY (term, record)
        ) WITHOUT ROWID;
        CREATE INDEX {SEARCH_POSTINGS}_by_record ON {SEARCH_POSTINGS}(record);
        CREATE TABLE {SEARCH_KEYS} (
            key TEXT NOT NULL,
            term INTEGER NOT NULL REFERENCES {SEARCH_TERMS}(id),
            PRIMARY KEY (key, term)
        ) WITHOUT ROWID;
        CREATE INDEX {SEARCH_KEYS}_by_term ON {SEARCH_KEYS}(term);"
    )
}

/// Version 3: users, cases, tokens, and the sources' case, legal basis and retention (the
/// `access` module).
pub(crate) const V3_ACCESS: &str = "
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'auditor')),
    password TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE case_members (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    user INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (case_id, user)
) WITHOUT ROWID;
CREATE INDEX case_members_by_user ON case_members(user);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    user INTEGER NOT NULL REFERENCES users(id),
    hash BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('api', 'session')),
    label TEXT NOT NULL,
    csrf BLOB,
    created_at TEXT NOT NULL,
    expires_ms INTEGER,
    revoked_at TEXT
);
ALTER TABLE sources ADD COLUMN case_id INTEGER REFERENCES cases(id);
ALTER TABLE sources ADD COLUMN legal_basis TEXT;
ALTER TABLE sources ADD COLUMN retention_days INTEGER;
";

/// Version 3: the hash-chained audit log, append-only (the `audit` module).
pub(crate) const V3_AUDIT: &str = "
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    case_name TEXT,
    purpose TEXT,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX audit_by_actor ON audit(actor, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted'); END;
";

/// Version 4: the mentions of identifiers in documents (the `mentions` module).
pub(crate) fn v4_mentions() -> String {
    format!(
        "CREATE TABLE {MENTIONS} (
            id INTEGER PRIMARY KEY,
            record INTEGER NOT NULL REFERENCES records(id),
            origin INTEGER NOT NULL REFERENCES records(id),
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            found_as TEXT NOT NULL,
            document TEXT NOT NULL,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            snippet TEXT NOT NULL
        );
        CREATE INDEX {MENTIONS}_by_record ON {MENTIONS}(record, kind, value);
        CREATE INDEX {MENTIONS}_by_origin ON {MENTIONS}(origin);
        CREATE INDEX {MENTIONS}_by_value ON {MENTIONS}(kind, value);"
    )
}

/// Version 5: the posts of each account (the `style` module).
pub(crate) fn v5_account_posts() -> String {
    format!(
        "CREATE TABLE {ACCOUNT_POSTS} (
            account INTEGER NOT NULL REFERENCES records(id),
            post INTEGER NOT NULL REFERENCES records(id),
            PRIMARY KEY (account, post)
        ) WITHOUT ROWID;
        CREATE INDEX {ACCOUNT_POSTS}_by_post ON {ACCOUNT_POSTS}(post);"
    )
}

/// Version 6: each audit entry's seal under the audit key (`NULL` for entries written
/// before the workspace had one), an index to filter the log by case, and the users'
/// flag that a password was given to them (created or reset) and must be changed.
pub(crate) const V6_AUDIT_SEAL: &str = "
ALTER TABLE audit ADD COLUMN mac BLOB;
CREATE INDEX audit_by_case ON audit(case_name, seq);
ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
";

/// Version 7: a record may hold several values of a multi-valued kind (e-mail addresses,
/// phones, handles, wallets): each attribute row has its position `seq` among its kind's
/// values (0 for the first, the only one of other kinds). SQLite cannot change a primary
/// key, so the table is copied.
pub(crate) const V7_MULTI_VALUED: &str = "
CREATE TABLE attributes_v7 (
    record INTEGER NOT NULL REFERENCES records(id),
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    raw TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (record, kind, seq)
) WITHOUT ROWID;
INSERT INTO attributes_v7(record, kind, seq, raw, value)
    SELECT record, kind, 0, raw, value FROM attributes;
DROP TABLE attributes;
ALTER TABLE attributes_v7 RENAME TO attributes;
";

/// The schema version this build writes: the number of migration steps.
pub const CURRENT_VERSION: u32 = 7;

/// The schema version of an open store (0 for an empty file).
pub fn version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}
