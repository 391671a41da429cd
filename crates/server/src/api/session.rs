//! Logging in and out, and who one is.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::State};
use spirit_store::access;
use spirit_store::audit::{Entry, clip};

use crate::AppState;
use crate::auth::{Auth, J, SESSION_COOKIE};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};

use super::shared::{check_text, entry};

/// Log in with a password: sets the session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/login", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "logged in; the session cookie is set", body = LoginResult),
        (status = 400, body = ErrorBody), (status = 401, description = "wrong user or password", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, description = "too many wrong passwords for this user name; `Retry-After` says when to try again", body = ErrorBody)))]
pub(super) async fn login(
    State(state): State<AppState>,
    J(req): J<LoginRequest>,
) -> ApiResult<Response> {
    check_text("the user name", &req.user, 200)?;
    check_text("the password", &req.password, 1000)?;
    if let Some(wait) = state.logins().wait(&req.user, std::time::Instant::now()) {
        let mut e = Entry::new(clip(&req.user, 64), "login");
        e.outcome = "throttled".into();
        state.audit(e).await?;
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let (user, password) = (req.user.clone(), req.password);
    let session = state
        .write(move |ws| Ok(access::login(ws.connection(), &user, &password)?))
        .await?;
    let mut e = Entry::new(clip(&req.user, 64), "login");
    let Some(s) = session else {
        e.outcome = "unauthenticated".into();
        state.audit(e).await?;
        state.logins().failed(&req.user, std::time::Instant::now());
        return Err(ApiError::Unauthenticated(
            "wrong user name or password".into(),
        ));
    };
    state.audit(e).await?;
    state.logins().succeeded(&req.user);
    let secure = if state.config().secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        s.token,
        access::SESSION_HOURS * 3600
    );
    let body = LoginResult {
        user: s.user.name,
        role: s.user.role.name().into(),
        csrf_token: s.csrf,
        expires_at: spirit_store::timestamp(s.expires_ms),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// End the session (revokes the session token; an API token is left alone).
#[utoipa::path(post, path = "/api/logout", tag = "session",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<Response> {
    let id = auth.token_id;
    let changed = if auth.via_cookie {
        state
            .write(move |ws| Ok(access::revoke_token(ws.connection(), id)?))
            .await?
    } else {
        false
    };
    state.audit(entry(&auth, None, "logout", "session")).await?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], Json(Done { changed })).into_response())
}

/// Who am I: name, role and cases.
#[utoipa::path(get, path = "/api/me", tag = "session",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub(super) async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Me>> {
    let id = auth.user.id;
    let cases = state
        .read(move |conn| {
            let ids = access::member_cases(conn, id)?;
            Ok(access::cases(conn, Some(&ids))?)
        })
        .await?;
    Ok(Json(Me {
        user: auth.user.name.clone(),
        role: auth.user.role.name().into(),
        cases: cases.into_iter().map(|c| c.name).collect(),
    }))
}
