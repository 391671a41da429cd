//! Fuzzy search over the records of one's cases.

use axum::{Json, extract::State};
use rusqlite::Connection;
use spirit_store::scope::{self, Scope};

use crate::AppState;
use crate::auth::{Auth, Purpose, Q};
use crate::dto::*;
use crate::error::{ApiResult, ErrorBody};

use super::shared::{case_names, check_text, entry, finish, keyed};

/// Fuzzy search over names and identifiers of one's cases' records.
#[utoipa::path(get, path = "/api/search", tag = "search",
    security(("bearer" = []), ("cookie" = [])),
    params(SearchParams, PurposeParam),
    responses((status = 200, body = SearchResults), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn search(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    Q(p): Q<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "search", &keyed(&state, &p.q));
    let user = auth.user.id;
    let limit = p.limit.unwrap_or(20);
    let q = p.q.clone();
    // Read per search: an ingest may make the key while the server runs.
    let card_key = spirit_store::keys::card_key(state.key_dir(), None, false)?;
    let result = async {
        check_text("the query", &q, spirit_store::search::MAX_QUERY_BYTES)?;
        state
            .read_heavy(move |conn| {
                let scope = Scope::for_user(conn, user)?;
                let hits = scope::search(conn, &scope, card_key.as_ref(), &q, limit)?;
                let mut out = Vec::with_capacity(hits.len());
                let mut counts: rustc_hash::FxHashMap<String, Vec<SourceCount>> =
                    Default::default();
                for h in hits {
                    let mut hit = SearchHit::from(h);
                    let record = scope::record(conn, &scope, &hit.record)?;
                    hit.sources = match &hit.entity {
                        Some(e) => match counts.get(e) {
                            Some(c) => c.clone(),
                            None => {
                                let c = entity_sources(conn, &scope, e)?;
                                counts.insert(e.clone(), c.clone());
                                c
                            }
                        },
                        None => vec![SourceCount {
                            source: record.source.clone(),
                            records: 1,
                        }],
                    };
                    hit.attributes = Record::from(record).attributes;
                    out.push(hit);
                }
                let sources: std::collections::BTreeSet<&str> = out
                    .iter()
                    .flat_map(|h| h.sources.iter().map(|c| c.source.as_str()))
                    .collect();
                let case = case_names(conn, &sources.into_iter().collect::<Vec<_>>())?;
                Ok((
                    SearchResults {
                        query: q,
                        hits: out,
                    },
                    case,
                ))
            })
            .await
    }
    .await
    .map(|(results, case)| {
        e.case = case;
        results
    });
    Ok(Json(finish(&state, e, result).await?))
}

/// The visible records of an entity counted by source, most first.
fn entity_sources(
    conn: &Connection,
    scope: &Scope,
    entity: &str,
) -> Result<Vec<SourceCount>, spirit_store::StoreError> {
    let Some(id) = spirit_store::parse_entity(entity) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT s.name, count(*) FROM membership m JOIN records r ON r.id = m.record \
         JOIN sources s ON s.id = r.source WHERE m.entity = ?1 GROUP BY s.name",
    )?;
    let mut out = Vec::new();
    for row in stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (source, n) = row?;
        if scope.source_visible(&source) {
            out.push(SourceCount {
                source,
                records: n.max(0) as u64,
            });
        }
    }
    out.sort_by(|a, b| b.records.cmp(&a.records).then(a.source.cmp(&b.source)));
    Ok(out)
}
