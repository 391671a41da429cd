//! Extractors: who is asking (bearer token or session cookie with CSRF), for what purpose,
//! and the query, path and JSON inputs with their rejections turned into [`ApiError`]s.

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use spirit_store::access::{Authenticated, Role, User, sha256};

use crate::AppState;
use crate::error::ApiError;

/// The session cookie.
pub const SESSION_COOKIE: &str = "spirit_session";
/// The header carrying the CSRF token of a cookie session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header that may carry the purpose of a read.
pub const PURPOSE_HEADER: &str = "x-purpose";
/// Longest purpose accepted.
pub const MAX_PURPOSE: usize = 500;

/// An authenticated user.
#[derive(Clone, Debug)]
pub struct Auth {
    pub user: User,
    pub token_id: i64,
    pub via_cookie: bool,
}

/// The client's address, when the server knows it (`None` behind a test harness).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientAddr, ApiError> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// What a password session may do before a password given to the user is changed.
const BEFORE_PASSWORD_CHANGE: &[&str] = &["/api/password", "/api/logout", "/api/me"];

impl Auth {
    /// Refuses unless the user has one of the roles.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "role {} may not do this (needs {})",
                self.user.role.name(),
                roles
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }

    /// Refuses auditors: they never read personal data.
    pub fn require_reader(&self) -> Result<(), ApiError> {
        self.require(&[Role::Admin, Role::Analyst])
    }
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, ApiError> {
        let bearer = match parts.headers.get(axum::http::header::AUTHORIZATION) {
            Some(v) => {
                let text = v.to_str().map_err(|_| {
                    ApiError::Unauthenticated("the Authorization header is not text".into())
                })?;
                let token = text
                    .strip_prefix("Bearer ")
                    .or_else(|| text.strip_prefix("bearer "))
                    .ok_or_else(|| {
                        ApiError::Unauthenticated(
                            "the Authorization header must be `Bearer <token>`".into(),
                        )
                    })?;
                Some(token.trim().to_string())
            }
            None => None,
        };
        let (token, via_cookie) = match bearer {
            Some(t) => (t, false),
            None => match cookie(parts, SESSION_COOKIE) {
                Some(c) => (c.to_string(), true),
                None => {
                    return Err(ApiError::Unauthenticated(
                        "authentication required: send `Authorization: Bearer <token>` or log in"
                            .into(),
                    ));
                }
            },
        };
        let found: Option<Authenticated> = state
            .read(move |conn| Ok(spirit_store::access::authenticate(conn, &token)?))
            .await?;
        let Some(found) = found else {
            return Err(ApiError::Unauthenticated(
                "the token is unknown, expired or revoked".into(),
            ));
        };
        if via_cookie && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .ok_or(ApiError::CsrfRequired)?;
            let ok = found
                .csrf_hash
                .as_deref()
                .is_some_and(|h| constant_eq(h, &sha256(presented.as_bytes())));
            if !ok {
                return Err(ApiError::CsrfRequired);
            }
        }
        if via_cookie && found.must_change && !BEFORE_PASSWORD_CHANGE.contains(&parts.uri.path()) {
            return Err(ApiError::Forbidden(
                "the password was given to you and must be changed first: POST /api/password"
                    .into(),
            ));
        }
        Ok(Auth {
            user: found.user,
            token_id: found.token_id,
            via_cookie,
        })
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The purpose of a read of personal data: `?purpose=` or `X-Purpose`.
#[derive(Clone, Debug)]
pub struct Purpose(pub String);

#[derive(serde::Deserialize)]
struct PurposeQuery {
    purpose: Option<String>,
}

impl Purpose {
    /// The purpose the request states, if any; a stated purpose that is too long or holds
    /// control characters is refused.
    fn stated(parts: &Parts) -> Result<Option<Purpose>, ApiError> {
        let from_query = axum::extract::Query::<PurposeQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.purpose);
        let from_header = parts
            .headers
            .get(PURPOSE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(purpose) = from_query
            .or(from_header)
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
        else {
            return Ok(None);
        };
        if purpose.len() > MAX_PURPOSE || purpose.chars().any(char::is_control) {
            return Err(ApiError::BadRequest(format!(
                "the purpose must be at most {MAX_PURPOSE} bytes of text without control characters"
            )));
        }
        Ok(Some(Purpose(purpose)))
    }
}

/// Reads of personal data require a purpose.
impl<S: Send + Sync> FromRequestParts<S> for Purpose {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Purpose, ApiError> {
        Purpose::stated(parts)?.ok_or(ApiError::PurposeRequired)
    }
}

/// Changes (judgements, merges, splits) record the purpose when one is stated.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Purpose {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Purpose>, ApiError> {
        Purpose::stated(parts)
    }
}

/// A query string, rejected with a JSON 400.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Q<T>, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Q(q.0))
            .map_err(|e| ApiError::BadRequest(format!("query string: {}", e.body_text())))
    }
}

/// Path parameters, rejected with a JSON 400.
pub struct P<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<P<T>, ApiError> {
        <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|p| P(p.0))
            .map_err(|e| ApiError::BadRequest(format!("path: {}", e.body_text())))
    }
}

/// A JSON body, rejected with a JSON 400, 413 or 415.
pub struct J<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for J<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<J<T>, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(j) => Ok(J(j.0)),
            Err(e) => Err(match e.status().as_u16() {
                413 => ApiError::PayloadTooLarge(e.body_text()),
                415 => ApiError::UnsupportedMediaType(e.body_text()),
                _ => ApiError::BadRequest(e.body_text()),
            }),
        }
    }
}

/// A raw body, rejected with a JSON 413 when over the limit.
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body, ApiError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(Body(b)),
            Err(e) if e.status().as_u16() == 413 => Err(ApiError::PayloadTooLarge(format!(
                "the upload is larger than the server accepts ({})",
                e.body_text()
            ))),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}
