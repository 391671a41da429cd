//! Erasure of a record or an entity with everything derived from it.

use axum::{Json, extract::State};
use serde_json::json;
use spirit_store::access::Role;
use spirit_store::audit::clip;
use spirit_store::scope::{self, Scope};

use crate::AppState;
use crate::auth::{Auth, P, Purpose, Q};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};

use super::shared::{case_names, check_text, entry, finish, keyed};

/// Erase a record and everything derived from it (admin of its case); its entity is
/// re-resolved from what remains.
#[utoipa::path(delete, path = "/api/records/{key}", tag = "records",
    security(("bearer" = []), ("cookie" = [])),
    params(("key" = String, Path, description = "source:record_id", pattern = "^[A-Za-z0-9._-]{1,64}:.+$"), EraseParams, PurposeParam),
    responses((status = 200, body = Erased), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(super) async fn erase_record(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(key): P<String>,
    Q(params): Q<EraseParams>,
) -> ApiResult<Json<Erased>> {
    auth.require(&[Role::Admin])?;
    erase(
        state,
        auth,
        purpose,
        EraseTarget::Record(key),
        params.reason,
    )
    .await
}

enum EraseTarget {
    Record(String),
    Entity(String),
}

async fn erase(
    state: AppState,
    auth: Auth,
    purpose: Purpose,
    target: EraseTarget,
    reason: String,
) -> ApiResult<Json<Erased>> {
    if reason.trim().is_empty() {
        return Err(ApiError::BadRequest("an erasure needs a reason".into()));
    }
    check_text("the reason", &reason, 2000)?;
    let user = auth.user.id;
    let (action, label) = match &target {
        EraseTarget::Record(k) => ("record.erase", keyed(&state, k)),
        EraseTarget::Entity(e) => ("entity.erase", e.clone()),
    };
    let mut e = entry(&auth, Some(&purpose), action, &label);
    e.detail = json!({ "reason": clip(&reason, 2000) });
    let template = e.clone();
    let result = state
        .write(move |ws| {
            let conn = ws.connection();
            let scope = Scope::for_user(conn, user)?;
            let ids = match &target {
                EraseTarget::Record(k) => vec![scope::record_id(conn, &scope, k)?],
                EraseTarget::Entity(text) => {
                    let id = spirit_store::parse_entity(text).ok_or_else(|| {
                        ApiError::BadRequest(format!("{:?} is not an entity id", clip(text, 64)))
                    })?;
                    let ids = scope::visible_members(conn, &scope, id)?;
                    if ids.is_empty() {
                        return Err(ApiError::NotFound(format!(
                            "entity {} not found",
                            clip(text, 64)
                        )));
                    }
                    ids
                }
            };
            let mut sources: Vec<String> = Vec::new();
            for &r in &ids {
                if let Some(v) = spirit_store::query::record_by_id(conn, r)? {
                    sources.push(v.source);
                }
            }
            let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
            let mut entry = template;
            entry.case = case_names(conn, &refs)?;
            Ok(spirit_store::retention::erase(ws, &ids, entry)?)
        })
        .await;
    match result {
        // The erasure's entry was written in its own transaction.
        Ok(r) => Ok(Json(r.into())),
        Err(err) => Err(finish(&state, e, Err::<(), _>(err))
            .await
            .err()
            .unwrap_or_else(|| ApiError::Internal("erasure failed".into()))),
    }
}

/// Erase every record of an entity that the admin can see, with everything derived.
#[utoipa::path(delete, path = "/api/entities/{id}", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id", pattern = "^[Ee]?[0-9]{1,15}$"), EraseParams, PurposeParam),
    responses((status = 200, body = Erased), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(super) async fn erase_entity(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(id): P<String>,
    Q(params): Q<EraseParams>,
) -> ApiResult<Json<Erased>> {
    auth.require(&[Role::Admin])?;
    erase(state, auth, purpose, EraseTarget::Entity(id), params.reason).await
}
