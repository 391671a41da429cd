//! The schema migrations: the steps that take a store from one schema version to the
//! next, each creating its tables ([`crate::schema`]) and filling them from what the store
//! already holds.
//!
//! A store is migrated forward, one version at a time and each step in its own
//! transaction, when it is opened for writing; a store newer than this build is refused.
//! `tests/fixtures/` keeps a store written at version 1, and a test opens it with the
//! current code.

use rusqlite::{Connection, Transaction};

use crate::StoreError;
use crate::schema::{self, CURRENT_VERSION};

/// One migration step.
type Migration = fn(&Transaction<'_>) -> Result<(), StoreError>;

/// The migrations, in order: `MIGRATIONS[i]` takes a store from version `i` to `i + 1`.
const MIGRATIONS: &[Migration] = &[v1, v2, v3, v4, v5, v6, v7];

const _: () = assert!(MIGRATIONS.len() == CURRENT_VERSION as usize);

/// Version 1: records, entities, edges, judgements and events.
fn v1(tx: &Transaction<'_>) -> Result<(), StoreError> {
    Ok(tx.execute_batch(schema::V1)?)
}

/// Version 2: creates the search tables and indexes every record already in the store
/// ([`crate::search`]).
pub(crate) fn v2(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(&schema::v2_search())?;
    crate::search::index_stored_records(tx)
}

/// Version 3: users, cases, tokens, the sources' case and retention (the `access`
/// module), and the audit log (the `audit` module).
fn v3(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(schema::V3_ACCESS)?;
    tx.execute_batch(schema::V3_AUDIT)?;
    Ok(())
}

/// Version 4: the mentions table (the `mentions` module).
fn v4(tx: &Transaction<'_>) -> Result<(), StoreError> {
    Ok(tx.execute_batch(&schema::v4_mentions())?)
}

/// Version 5: links the posts already stored to their accounts and builds every
/// account's style profile ([`crate::style`]).
fn v5(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(&schema::v5_account_posts())?;
    crate::style::link_stored_posts(tx)
}

/// Version 6: the audit entries' seals (the `audit` module).
fn v6(tx: &Transaction<'_>) -> Result<(), StoreError> {
    Ok(tx.execute_batch(schema::V6_AUDIT_SEAL)?)
}

/// Version 7: attribute rows numbered within their kind, so a record keeps several
/// values of a multi-valued kind; the values stored so far become the first of theirs.
fn v7(tx: &Transaction<'_>) -> Result<(), StoreError> {
    Ok(tx.execute_batch(schema::V7_MULTI_VALUED)?)
}

/// Brings the store up to `target` (at most [`CURRENT_VERSION`]), one transaction per
/// step. Returns the version found.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, StoreError> {
    let found = schema::version(conn)?;
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
