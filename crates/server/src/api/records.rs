//! Reads of records and entities: one record, one entity, an entity's edges and history,
//! and the export of resolved records.

use axum::{Json, extract::State};
use serde_json::json;
use spirit_store::scope::{self, Scope};

use crate::AppState;
use crate::auth::{Auth, P, Purpose, Q};
use crate::dto::*;
use crate::error::{ApiResult, ErrorBody};

use super::shared::{MAX_OFFSET, case_names, entity_cases, entry, finish, keyed, page};

/// One record of one's cases.
#[utoipa::path(get, path = "/api/records/{key}", tag = "records",
    security(("bearer" = []), ("cookie" = [])),
    params(("key" = String, Path, description = "source:record_id", pattern = "^[A-Za-z0-9._-]{1,64}:.+$"), PurposeParam),
    responses((status = 200, body = Record), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn get_record(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(key): P<String>,
) -> ApiResult<Json<Record>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "record.read", &keyed(&state, &key));
    let user = auth.user.id;
    let result = state
        .read(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            let r = scope::record(conn, &scope, &key)?;
            let case = case_names(conn, &[r.source.as_str()])?;
            Ok((r, case))
        })
        .await;
    let result = result.map(|(r, case)| {
        e.case = case;
        r
    });
    Ok(Json(finish(&state, e, result).await?.into()))
}

/// An entity as the user may see it: visible records, their values, the strongest edges
/// and judgements between them. 404 when none of its records is visible.
#[utoipa::path(get, path = "/api/entities/{id}", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id, e.g. E12", pattern = "^[Ee]?[0-9]{1,15}$"), PurposeParam),
    responses((status = 200, body = Entity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn get_entity(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(id): P<String>,
) -> ApiResult<Json<Entity>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "entity.read", &id);
    let user = auth.user.id;
    let result = state
        .read(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            let v = scope::entity(conn, &scope, &id)?;
            let sources: Vec<&str> = v.records.iter().map(|r| r.source.as_str()).collect();
            let case = case_names(conn, &sources)?;
            Ok((v, case))
        })
        .await;
    let result = result.map(|(v, case)| {
        e.case = case;
        e.detail = json!({ "records": v.records.len() });
        v
    });
    Ok(Json(finish(&state, e, result).await?.into()))
}

/// The edges between an entity's visible records, strongest first, each explained as
/// prior weight + partial weight per comparison.
#[utoipa::path(get, path = "/api/entities/{id}/edges", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id", pattern = "^[Ee]?[0-9]{1,15}$"), PageParams, PurposeParam),
    responses((status = 200, body = EdgePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn entity_edges(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(id): P<String>,
    Q(p): Q<PageParams>,
) -> ApiResult<Json<EdgePage>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "entity.edges", &id);
    let (offset, limit) = page(&p);
    let user = auth.user.id;
    let result = state
        .read(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            let (total, edges) = scope::entity_edges(conn, &scope, &id, offset, limit)?;
            let case = entity_cases(conn, &scope, &[id.as_str()])?;
            let page = EdgePage {
                entity: spirit_store::parse_entity(&id)
                    .map(spirit_store::entity_label)
                    .unwrap_or(id),
                total,
                offset,
                edges: edges.into_iter().map(Edge::from).collect(),
            };
            Ok((page, case))
        })
        .await
        .map(|(page, case)| {
            e.case = case;
            page
        });
    Ok(Json(finish(&state, e, result).await?))
}

/// Who did what to an entity, oldest first: merges, splits, records joining, judgements
/// (with author, verdict and reason), erasures — as far as the user's cases show.
#[utoipa::path(get, path = "/api/entities/{id}/history", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id", pattern = "^[Ee]?[0-9]{1,15}$"), PurposeParam),
    responses((status = 200, body = History), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn entity_history(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(id): P<String>,
) -> ApiResult<Json<History>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "entity.history", &id);
    let user = auth.user.id;
    let result = state
        .read(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            let events = scope::history(conn, &scope, &id)?;
            let case = entity_cases(conn, &scope, &[id.as_str()])?;
            let history = History {
                entity: spirit_store::parse_entity(&id)
                    .map(spirit_store::entity_label)
                    .unwrap_or(id),
                events: events.into_iter().map(HistoryEvent::from).collect(),
            };
            Ok((history, case))
        })
        .await
        .map(|(history, case)| {
            e.case = case;
            history
        });
    if let Ok(h) = &result {
        e.detail = json!({ "events": h.events.len() });
    }
    Ok(Json(finish(&state, e, result).await?))
}

/// `source, record_id, entity` of the resolved records of one's cases, a page at a time.
#[utoipa::path(get, path = "/api/export", tag = "records",
    security(("bearer" = []), ("cookie" = [])),
    params(PageParams, PurposeParam),
    responses((status = 200, body = ExportPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn export(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    Q(p): Q<PageParams>,
) -> ApiResult<Json<ExportPage>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "export", "clusters");
    let offset = p.offset.unwrap_or(0).min(MAX_OFFSET);
    let limit = p.limit.unwrap_or(1000).min(10_000);
    let user = auth.user.id;
    let result = state
        .read_heavy(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            let rows = scope::export(conn, &scope, offset, limit)?;
            Ok(ExportPage {
                next_offset: (rows.len() == limit && limit > 0)
                    .then_some(offset.saturating_add(limit)),
                offset,
                rows: rows
                    .into_iter()
                    .map(|(source, record_id, entity)| ExportRow {
                        source,
                        record_id,
                        entity,
                    })
                    .collect(),
            })
        })
        .await;
    if let Ok(page) = &result {
        e.detail = json!({ "rows": page.rows.len(), "offset": offset });
    }
    Ok(Json(finish(&state, e, result).await?))
}
