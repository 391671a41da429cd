//! Logging in and out, and who one is.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::State};
use serde_json::json;
use spirit_store::access::{self, PasswordCheck, now_ms};
use spirit_store::audit::{Entry, clip};

use crate::AppState;
use crate::auth::{Auth, ClientAddr, J, SESSION_COOKIE};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};

use super::shared::{check_text, entry, finish, keyed};

/// Log in with a password: sets the session cookie and returns the CSRF token.
///
/// The password is checked on a read connection, never under the writer; failures are
/// throttled per user name and per client address ([`crate::throttle`]), and attempts
/// refused by the throttle are logged as one aggregated audit entry a minute.
#[utoipa::path(post, path = "/api/login", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "logged in; the session cookie is set", body = LoginResult),
        (status = 400, body = ErrorBody), (status = 401, description = "wrong user or password", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, description = "too many wrong passwords for this user name or from this address; `Retry-After` says when to try again", body = ErrorBody)))]
pub(super) async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    J(req): J<LoginRequest>,
) -> ApiResult<Response> {
    check_text("the user name", &req.user, 200)?;
    check_text("the password", &req.password, 1000)?;
    let ticket = match state.logins().admit(&req.user, addr, now_ms()) {
        Ok(t) => t,
        Err(refused) => {
            if let Some(attempts) = refused.log {
                // The subject is a user name or a client address: names that are no
                // user (often a password typed in the wrong field) are kept keyed.
                let subject = match refused.subject.strip_prefix("name:") {
                    Some(name) => format!("name:{}", logged_name(&state, name).await?),
                    None => refused.subject.clone(),
                };
                let mut e = Entry::new("anonymous", "login.refused");
                e.outcome = "throttled".into();
                e.target = Some(subject);
                e.detail = json!({ "attempts": attempts, "per": "minute at most" });
                state.audit(e).await?;
            }
            return Err(ApiError::TooManyRequests {
                retry_after_secs: refused.retry_after.as_secs().max(1),
            });
        }
    };
    let (user, password) = (req.user.clone(), req.password);
    let checked = state
        .check_password(move |conn| Ok(access::check_password(conn, &user, &password)?))
        .await;
    let checked = match checked {
        Ok(c) => c,
        Err(e) => {
            state.logins().finish(ticket, false, now_ms());
            return Err(e);
        }
    };
    let (user, must_change) = match checked {
        PasswordCheck::Right { user, must_change } => (user, must_change),
        PasswordCheck::Wrong { known } => {
            let lock = state.logins().finish(ticket, false, now_ms());
            let actor = if known {
                clip(&req.user, 64).to_string()
            } else {
                keyed(&state, &req.user)
            };
            let mut e = Entry::new(&actor, "login");
            e.outcome = "unauthenticated".into();
            if let Some(lock) = lock {
                e.detail = json!({ "locked_for_secs": lock.as_secs() });
            }
            state.audit(e).await?;
            return Err(ApiError::Unauthenticated(
                "wrong user name or password".into(),
            ));
        }
    };
    state.logins().finish(ticket, true, now_ms());
    let who = user.clone();
    let s = state
        .write(move |ws| Ok(access::open_session(ws.connection(), &who)?))
        .await?;
    let mut e = Entry::new(&user.name, "login");
    if must_change {
        e.detail = json!({ "must_change_password": true });
    }
    state.audit(e).await?;
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
        must_change_password: must_change,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// A user name as the audit log keeps it: as it is when it names a user, keyed when not.
async fn logged_name(state: &AppState, name: &str) -> ApiResult<String> {
    let n = name.to_string();
    let known = state
        .read(move |conn| Ok(access::user_by_name(conn, &n)?.is_some()))
        .await?;
    Ok(if known {
        clip(name, 64).to_string()
    } else {
        keyed(state, name)
    })
}

/// Change one's password (the current one is checked; at least 12 characters, 5
/// different ones, not the user name). Every other session of the user ends. A user whose
/// password was given to them (created or reset) must do this first.
#[utoipa::path(post, path = "/api/password", tag = "session",
    security(("bearer" = []), ("cookie" = [])),
    request_body = PasswordChange,
    responses((status = 200, body = Done), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(super) async fn change_password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    auth: Auth,
    J(req): J<PasswordChange>,
) -> ApiResult<Json<Done>> {
    check_text("the current password", &req.current, 1000)?;
    let ticket = state
        .logins()
        .admit(&auth.user.name, addr, now_ms())
        .map_err(|r| ApiError::TooManyRequests {
            retry_after_secs: r.retry_after.as_secs().max(1),
        })?;
    if let Some(why) = access::weak_password(&auth.user.name, &req.new) {
        state.logins().finish(ticket, true, now_ms());
        return Err(ApiError::BadRequest(why));
    }
    let user = auth.user.clone();
    let keep = auth.via_cookie.then_some(auth.token_id);
    let changed = state
        .write(move |ws| {
            Ok(access::change_password(
                ws.connection(),
                &user,
                &req.current,
                &req.new,
                keep,
            )?)
        })
        .await;
    let right = !matches!(changed, Ok(false));
    state.logins().finish(ticket, right, now_ms());
    let mut e = entry(&auth, None, "user.password.change", &auth.user.name);
    let result = match changed {
        Ok(true) => Ok(Done { changed: true }),
        Ok(false) => Err(ApiError::Unauthenticated(
            "the current password is wrong".into(),
        )),
        Err(e) => Err(e),
    };
    if result.is_err() {
        e.outcome = "denied".into();
    }
    Ok(Json(finish(&state, e, result).await?))
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
