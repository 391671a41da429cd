//! Writing the index: adding a record's terms, with their trigram entries and keys, and
//! removing a record (terms no other record holds go with it).

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use spirit_model::AttrKind;

use super::terms::{is_fuzzy, is_indexed, name_keys, record_terms};
use crate::StoreError;
use crate::schema::{ATTRIBUTES, SEARCH_KEYS, SEARCH_POSTINGS, SEARCH_TERMS, SEARCH_TRIGRAMS};

/// Indexes every record already in the store from its normalised values in the
/// attributes table (the backfill of schema migration 1 → 2).
pub(crate) fn index_stored_records(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let kinds = AttrKind::ALL
        .into_iter()
        .filter(|k| is_indexed(*k))
        .map(|k| format!("'{}'", k.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = tx.prepare(&format!(
        "SELECT record, kind, value FROM {ATTRIBUTES} \
         WHERE value IS NOT NULL AND kind IN ({kinds}) ORDER BY record"
    ))?;
    let mut rows = rows.query([])?;
    let mut current: Option<i64> = None;
    let mut values: Vec<(AttrKind, String)> = Vec::new();
    let flush = |record: Option<i64>, values: &mut Vec<(AttrKind, String)>| {
        let result = match record {
            Some(r) => {
                let refs: Vec<(AttrKind, &str)> =
                    values.iter().map(|(k, v)| (*k, v.as_str())).collect();
                index_record(tx, r, &refs)
            }
            None => Ok(()),
        };
        values.clear();
        result
    };
    while let Some(row) = rows.next()? {
        let record: i64 = row.get(0)?;
        let kind: String = row.get(1)?;
        let value: String = row.get(2)?;
        if current != Some(record) {
            flush(current, &mut values)?;
            current = Some(record);
        }
        if let Some(kind) = AttrKind::from_name(&kind) {
            values.push((kind, value));
        }
    }
    flush(current, &mut values)
}

/// Indexes one stored record from its normalised attribute values; kinds other than names
/// and identifiers are ignored. Called inside the transaction that stores the record.
/// Indexing the same values again changes nothing; to replace a record's values, call
/// [`unindex_record`] first.
pub(crate) fn index_record(
    conn: &Connection,
    record: i64,
    values: &[(AttrKind, &str)],
) -> Result<(), StoreError> {
    let mut add_posting = conn.prepare_cached(&SQL.insert_posting)?;
    let mut count_posting = conn.prepare_cached(&SQL.count_posting)?;
    for term in record_terms(values) {
        let id = term_id(conn, &term)?;
        if add_posting.execute(params![id, record])? == 1 {
            count_posting.execute([id])?;
        }
    }
    Ok(())
}

/// Removes a record from the index (for erasure). Terms no other record holds are deleted,
/// with their keys and their trigram-index entry.
pub fn unindex_record(conn: &Connection, record: i64) -> Result<(), StoreError> {
    let terms: Vec<i64> = conn
        .prepare_cached(&SQL.terms_of_record)?
        .query_map([record], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    conn.prepare_cached(&SQL.delete_postings_of_record)?
        .execute([record])?;
    let mut uncount = conn.prepare_cached(&SQL.uncount_posting)?;
    for id in terms {
        let (left, term): (i64, String) =
            uncount.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if left <= 0 {
            conn.prepare_cached(&SQL.delete_keys_of_term)?
                .execute([id])?;
            if is_fuzzy(&term) {
                conn.prepare_cached(&SQL.delete_trigrams)?.execute([id])?;
            }
            conn.prepare_cached(&SQL.delete_term)?.execute([id])?;
        }
    }
    Ok(())
}

/// The SQL that writes the index, with the table names of the schema module filled in.
struct Sql {
    term_id: String,
    insert_term: String,
    insert_trigrams: String,
    insert_key: String,
    insert_posting: String,
    count_posting: String,
    terms_of_record: String,
    delete_postings_of_record: String,
    uncount_posting: String,
    delete_keys_of_term: String,
    delete_trigrams: String,
    delete_term: String,
}

static SQL: LazyLock<Sql> = LazyLock::new(|| Sql {
    term_id: format!("SELECT id FROM {SEARCH_TERMS} WHERE term = ?1"),
    insert_term: format!("INSERT INTO {SEARCH_TERMS}(term) VALUES (?1)"),
    insert_trigrams: format!("INSERT INTO {SEARCH_TRIGRAMS}(rowid, term) VALUES (?1, ?2)"),
    insert_key: format!("INSERT OR IGNORE INTO {SEARCH_KEYS}(key, term) VALUES (?1, ?2)"),
    insert_posting: format!(
        "INSERT OR IGNORE INTO {SEARCH_POSTINGS}(term, record) VALUES (?1, ?2)"
    ),
    count_posting: format!("UPDATE {SEARCH_TERMS} SET postings = postings + 1 WHERE id = ?1"),
    terms_of_record: format!("SELECT term FROM {SEARCH_POSTINGS} WHERE record = ?1"),
    delete_postings_of_record: format!("DELETE FROM {SEARCH_POSTINGS} WHERE record = ?1"),
    uncount_posting: format!(
        "UPDATE {SEARCH_TERMS} SET postings = postings - 1 WHERE id = ?1 \
         RETURNING postings, term"
    ),
    delete_keys_of_term: format!("DELETE FROM {SEARCH_KEYS} WHERE term = ?1"),
    delete_trigrams: format!("DELETE FROM {SEARCH_TRIGRAMS} WHERE rowid = ?1"),
    delete_term: format!("DELETE FROM {SEARCH_TERMS} WHERE id = ?1"),
});

/// The id of `term`, inserting it (with its trigram entry and keys) when it is new.
fn term_id(conn: &Connection, term: &str) -> Result<i64, StoreError> {
    let found = conn
        .prepare_cached(&SQL.term_id)?
        .query_row([term], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    conn.prepare_cached(&SQL.insert_term)?.execute([term])?;
    let id = conn.last_insert_rowid();
    if is_fuzzy(term) {
        conn.prepare_cached(&SQL.insert_trigrams)?
            .execute(params![id, term])?;
    }
    let mut insert_key = conn.prepare_cached(&SQL.insert_key)?;
    for key in name_keys(term) {
        insert_key.execute(params![key, id])?;
    }
    Ok(id)
}
