//! TEMPORARY placeholder while the search module is written.
use crate::StoreError;
pub(crate) fn migrate(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch("CREATE TABLE search_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE); CREATE TABLE search_postings (term INTEGER NOT NULL, record INTEGER NOT NULL, PRIMARY KEY (term, record)) WITHOUT ROWID;")?;
    Ok(())
}
pub(crate) fn index_record(
    _c: &rusqlite::Connection,
    _r: i64,
    _v: &[(spirit_model::AttrKind, &str)],
) -> Result<(), StoreError> {
    Ok(())
}
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SearchHit {
    pub record: i64,
    pub score: f64,
    pub matched: Vec<(String, String)>,
}
pub fn search(
    _c: &rusqlite::Connection,
    _q: &str,
    _l: usize,
) -> Result<Vec<SearchHit>, StoreError> {
    Ok(vec![])
}
