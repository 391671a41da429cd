//! Cases, their members, and the sources in them.

use axum::http::StatusCode;
use axum::{Json, extract::State};
use spirit_store::access::{self, Role};
use spirit_store::audit::clip;

use crate::AppState;
use crate::auth::{Auth, J, P};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};

use super::shared::{entry, finish};

/// Cases: one's own (an admin sees all).
#[utoipa::path(get, path = "/api/cases", tag = "cases",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<CaseInfo>), (status = 401, body = ErrorBody)))]
pub(super) async fn list_cases(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<CaseInfo>>> {
    let (id, admin) = (auth.user.id, auth.user.role == Role::Admin);
    let cases = state
        .read(move |conn| {
            let ids = access::member_cases(conn, id)?;
            Ok(access::cases(conn, (!admin).then_some(ids.as_slice()))?)
        })
        .await?;
    Ok(Json(
        cases
            .into_iter()
            .map(|c| CaseInfo {
                name: c.name,
                created_at: c.created_at,
                members: c.members,
            })
            .collect(),
    ))
}

/// Create a case (admin).
#[utoipa::path(post, path = "/api/cases", tag = "cases",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateCase,
    responses((status = 201, body = CaseInfo), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub(super) async fn create_case(
    State(state): State<AppState>,
    auth: Auth,
    J(req): J<CreateCase>,
) -> ApiResult<(StatusCode, Json<CaseInfo>)> {
    auth.require(&[Role::Admin])?;
    let e = entry(&auth, None, "case.create", &req.name);
    let name = req.name.clone();
    let result = state
        .write(move |ws| {
            let id = access::create_case(ws.connection(), &name)?;
            let mut c = access::cases(ws.connection(), Some(&[id]))?;
            c.pop()
                .ok_or_else(|| ApiError::Internal("the case vanished".into()))
        })
        .await;
    let c = finish(&state, e, result).await?;
    Ok((
        StatusCode::CREATED,
        Json(CaseInfo {
            name: c.name,
            created_at: c.created_at,
            members: c.members,
        }),
    ))
}

/// Make a user a member of a case (admin).
#[utoipa::path(put, path = "/api/cases/{case}/members/{user}", tag = "cases",
    security(("bearer" = []), ("cookie" = [])),
    params(("case" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$"), ("user" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    P((case, user)): P<(String, String)>,
) -> ApiResult<Json<Done>> {
    auth.require(&[Role::Admin])?;
    let mut e = entry(&auth, None, "case.member.add", &user);
    e.case = Some(clip(&case, 64).to_string());
    let result = state
        .write(move |ws| Ok(access::add_member(ws.connection(), &case, &user)?))
        .await;
    let changed = finish(&state, e, result).await?;
    Ok(Json(Done { changed }))
}

/// Remove a user from a case (admin).
#[utoipa::path(delete, path = "/api/cases/{case}/members/{user}", tag = "cases",
    security(("bearer" = []), ("cookie" = [])),
    params(("case" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$"), ("user" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    P((case, user)): P<(String, String)>,
) -> ApiResult<Json<Done>> {
    auth.require(&[Role::Admin])?;
    let mut e = entry(&auth, None, "case.member.remove", &user);
    e.case = Some(clip(&case, 64).to_string());
    let result = state
        .write(move |ws| Ok(access::remove_member(ws.connection(), &case, &user)?))
        .await;
    let changed = finish(&state, e, result).await?;
    Ok(Json(Done { changed }))
}

fn source_info(s: access::SourceInfo) -> SourceInfo {
    SourceInfo {
        name: s.name,
        case: s.case,
        legal_basis: s.legal_basis,
        retention_days: s.retention_days,
        created_at: s.created_at,
        records: s.records,
    }
}

/// Sources of one's cases.
#[utoipa::path(get, path = "/api/sources", tag = "sources",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<SourceInfo>), (status = 401, body = ErrorBody)))]
pub(super) async fn list_sources(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<SourceInfo>>> {
    let id = auth.user.id;
    let list = state
        .read(move |conn| {
            let ids = access::member_cases(conn, id)?;
            Ok(access::sources(conn, Some(&ids))?)
        })
        .await?;
    Ok(Json(list.into_iter().map(source_info).collect()))
}

/// Create a source in a case, with its legal basis and retention period (an admin or an
/// analyst of the case). Only an administrator may place a source that already exists
/// (ingested, in no case yet) in a case; an analyst learns nothing of sources outside
/// their cases from the refusal.
#[utoipa::path(post, path = "/api/sources", tag = "sources",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateSource,
    responses((status = 201, body = SourceInfo), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub(super) async fn create_source(
    State(state): State<AppState>,
    auth: Auth,
    J(req): J<CreateSource>,
) -> ApiResult<(StatusCode, Json<SourceInfo>)> {
    auth.require_reader()?;
    let mut e = entry(&auth, None, "source.create", &req.name);
    e.case = Some(clip(&req.case, 64).to_string());
    let user = auth.user.id;
    let admin = auth.user.role == Role::Admin;
    let result = state
        .write(move |ws| {
            let conn = ws.connection();
            if !admin
                && access::sources(conn, None)?
                    .iter()
                    .any(|s| s.name == req.name)
            {
                return Err(ApiError::Conflict(format!(
                    "the source name {} cannot be used: choose another, or ask an administrator",
                    clip(&req.name, 64)
                )));
            }
            let case = access::case_id(conn, &req.case)?;
            let member = case
                .is_some_and(|c| access::member_cases(conn, user).is_ok_and(|m| m.contains(&c)));
            if !member {
                return Err(ApiError::Forbidden(format!(
                    "you are not a member of case {}",
                    clip(&req.case, 64)
                )));
            }
            access::create_source(
                conn,
                &req.name,
                &req.case,
                &req.legal_basis,
                req.retention_days,
            )?;
            let list = access::sources(conn, None)?;
            list.into_iter()
                .find(|s| s.name == req.name)
                .ok_or_else(|| ApiError::Internal("the source vanished".into()))
        })
        .await;
    let s = finish(&state, e, result).await?;
    Ok((StatusCode::CREATED, Json(source_info(s))))
}
