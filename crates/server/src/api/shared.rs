//! What every handler does around its work: the audit entry and logging it with the
//! request's outcome, the cases of some sources, pages and length limits.

use rusqlite::Connection;
use serde_json::json;
use spirit_store::access;
use spirit_store::audit::{Entry, clip};

use crate::AppState;
use crate::auth::{Auth, Purpose};
use crate::dto::PageParams;
use crate::error::{ApiError, ApiResult};

/// The audit entry of a request: who, why (for a personal-data read), what and on what.
pub(super) fn entry(auth: &Auth, purpose: Option<&Purpose>, action: &str, target: &str) -> Entry {
    let mut e = Entry::new(&auth.user.name, action);
    e.purpose = purpose.map(|p| p.0.clone());
    e.target = Some(clip(target, 500).to_string());
    e
}

/// A search text or a record key as the audit log keeps it: a keyed hash under the
/// audit key, which an auditor holding the key can test (`spirit audit term`) and nobody
/// can read back, so that an erasure leaves no plain identifier in the log.
pub(super) fn keyed(state: &AppState, text: &str) -> String {
    state.audit_key().term(text)
}

/// Logs the entry with the outcome of `result`, then returns `result` (or a 500 if the
/// log cannot be written: nothing is answered without its audit entry).
pub(super) async fn finish<T>(
    state: &AppState,
    mut entry: Entry,
    result: ApiResult<T>,
) -> ApiResult<T> {
    if let Err(e) = &result {
        entry.outcome = e.code().to_string();
        // A message may quote what the target keeps keyed (a record key, a search text):
        // then only the outcome is logged.
        if !entry
            .target
            .as_deref()
            .is_some_and(|t| t.starts_with("keyed:"))
        {
            entry.detail = json!({ "message": clip(&e.to_string(), 500) });
        }
    }
    state.audit(entry).await?;
    result
}

/// The cases (joined with ",") of the records of some entities that the reader sees: the
/// case field of an audit entry for a read of those entities.
pub(super) fn entity_cases(
    conn: &Connection,
    scope: &spirit_store::scope::Scope,
    entities: &[&str],
) -> ApiResult<Option<String>> {
    let mut sources = std::collections::BTreeSet::new();
    let db = spirit_store::StoreError::from;
    let mut stmt = conn
        .prepare_cached(
            "SELECT s.name FROM records r JOIN sources s ON s.id = r.source WHERE r.id = ?1",
        )
        .map_err(db)?;
    for entity in entities {
        let Some(id) = spirit_store::parse_entity(entity) else {
            continue;
        };
        for record in spirit_store::scope::visible_members(conn, scope, id)? {
            sources.insert(
                stmt.query_row([record], |r| r.get::<_, String>(0))
                    .map_err(db)?,
            );
        }
    }
    let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
    case_names(conn, &refs)
}

/// The names of the cases of some sources, joined with ",".
pub(super) fn case_names(conn: &Connection, sources: &[&str]) -> ApiResult<Option<String>> {
    let names = access::cases_of_sources(conn, sources)?;
    Ok((!names.is_empty()).then(|| names.join(",")))
}

/// Largest offset accepted in a page.
pub(super) const MAX_OFFSET: usize = 1_000_000_000;

/// A page's offset and limit: 50 unless asked, at most 500.
pub(super) fn page(p: &PageParams) -> (usize, usize) {
    (
        p.offset.unwrap_or(0).min(MAX_OFFSET),
        p.limit.unwrap_or(50).min(500),
    )
}

/// Refuses (400) a text over `max` bytes, naming `what` it is.
pub(super) fn check_text(what: &str, text: &str, max: usize) -> ApiResult<()> {
    if text.len() > max {
        return Err(ApiError::BadRequest(format!(
            "{what} is {} bytes; at most {max} are accepted",
            text.len()
        )));
    }
    Ok(())
}
