//! Users and their API tokens.

use axum::http::StatusCode;
use axum::{Json, extract::State};
use spirit_store::access::{self, Role};
use spirit_store::audit::clip;

use crate::AppState;
use crate::auth::{Auth, J, P};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};

use super::shared::{check_text, entry, finish};

/// Every user (admin).
#[utoipa::path(get, path = "/api/users", tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<UserInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_users(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<UserInfo>>> {
    auth.require(&[Role::Admin])?;
    let users = state.read(|conn| Ok(access::users(conn)?)).await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| UserInfo {
                name: u.name,
                role: u.role.name().into(),
            })
            .collect(),
    ))
}

/// Create a user (admin): returns a one-time password and an API token.
#[utoipa::path(post, path = "/api/users", tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateUser,
    responses((status = 201, body = NewUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub(super) async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    J(req): J<CreateUser>,
) -> ApiResult<(StatusCode, Json<NewUser>)> {
    auth.require(&[Role::Admin])?;
    let role = Role::parse(&req.role)
        .ok_or_else(|| ApiError::BadRequest("role must be admin, analyst or auditor".into()))?;
    let name = req.name.clone();
    let e = entry(&auth, None, "user.create", &req.name);
    let result = state
        .write(move |ws| Ok(access::create_user(ws.connection(), &name, role)?))
        .await;
    let made = finish(&state, e, result).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewUser {
            name: made.user.name,
            role: made.user.role.name().into(),
            password: made.password,
            token: made.token,
        }),
    ))
}

/// Issue a new API token for a user (admin, or the user themself).
#[utoipa::path(post, path = "/api/users/{name}/tokens", tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("name" = String, Path, description = "user name", pattern = "^[A-Za-z0-9._-]{1,64}$")),
    request_body = CreateToken,
    responses((status = 201, body = NewToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub(super) async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    P(name): P<String>,
    J(req): J<CreateToken>,
) -> ApiResult<(StatusCode, Json<NewToken>)> {
    if auth.user.name != name {
        auth.require(&[Role::Admin])?;
    }
    check_text("the label", &req.label, 200)?;
    let e = entry(&auth, None, "token.create", &name);
    let result = state
        .write(move |ws| {
            let user = access::user_by_name(ws.connection(), &name)?
                .ok_or_else(|| ApiError::NotFound(format!("no user {}", clip(&name, 64))))?;
            Ok(access::create_token(ws.connection(), user.id, &req.label)?)
        })
        .await;
    let (id, token) = finish(&state, e, result).await?;
    Ok((StatusCode::CREATED, Json(NewToken { id, token })))
}

/// Tokens: one's own (an admin sees everyone's). Never their secrets.
#[utoipa::path(get, path = "/api/tokens", tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = ErrorBody)))]
pub(super) async fn list_tokens(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    let only = (auth.user.role != Role::Admin).then_some(auth.user.id);
    let tokens = state.read(move |c| Ok(access::tokens(c, only)?)).await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenInfo {
                id: t.id,
                user: t.user,
                kind: t.kind,
                label: t.label,
                created_at: t.created_at,
                revoked_at: t.revoked_at,
            })
            .collect(),
    ))
}

/// Revoke a token (its owner or an admin).
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "token id")),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    P(id): P<i64>,
) -> ApiResult<Json<Done>> {
    let e = entry(&auth, None, "token.revoke", &id.to_string());
    let (me, admin) = (auth.user.id, auth.user.role == Role::Admin);
    let result = state
        .write(move |ws| {
            let owner = access::token_owner(ws.connection(), id)?;
            match owner {
                None => Err(ApiError::NotFound(format!("no token {id}"))),
                Some(o) if o != me && !admin => Err(ApiError::NotFound(format!("no token {id}"))),
                Some(_) => Ok(access::revoke_token(ws.connection(), id)?),
            }
        })
        .await;
    let changed = finish(&state, e, result).await?;
    Ok(Json(Done { changed }))
}
