//! One enum of error codes, each mapped to an HTTP status, answered as
//! `{"error": code, "message": "what was wrong"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use spirit_store::StoreError;
use utoipa::ToSchema;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (a field, a parameter, an uploaded line).
    #[error("{0}")]
    BadRequest(String),
    /// 400: a read of personal data without a purpose.
    #[error("every read of personal data needs a purpose: add ?purpose=… or an X-Purpose header")]
    PurposeRequired,
    /// 401: no credentials, or a token that is unknown, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: the user's role or cases do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 403: a state-changing request made with the session cookie lacks its CSRF token.
    #[error(
        "a state-changing request made with the session cookie needs the X-CSRF-Token header from the login"
    )]
    CsrfRequired,
    /// 404: not there, or not visible to this user (the same answer).
    #[error("{0}")]
    NotFound(String),
    /// 409: it exists already or contradicts what is stored.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the body is not of a type this endpoint reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many wrong passwords for this user name; try again after the delay.
    #[error("too many failed logins for this user name: try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: another process is writing to the workspace.
    #[error("{0}")]
    Busy(String),
    /// 500: a fault in the server or the store (details go to the server's log).
    #[error("{0}")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: bad_request, purpose_required, unauthenticated, forbidden,
    /// csrf_required, not_found, conflict, payload_too_large, unsupported_media_type,
    /// too_many_requests, busy, internal.
    pub error: String,
    /// What was wrong, for a person.
    pub message: String,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::PurposeRequired => "purpose_required",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::CsrfRequired => "csrf_required",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Busy(_) => "busy",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::PurposeRequired => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::CsrfRequired => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn forbidden(what: &str) -> ApiError {
        ApiError::Forbidden(what.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(m) => ApiError::NotFound(m),
            StoreError::Invalid(m) if m.contains("already exists") => ApiError::Conflict(m),
            e @ StoreError::Contradiction { .. } => ApiError::Conflict(e.to_string()),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            StoreError::Source(e) => ApiError::BadRequest(e.to_string()),
            e @ StoreError::Busy { .. } => ApiError::Busy(e.to_string()),
            other => {
                eprintln!("spirit-server: store error: {other}");
                ApiError::Internal("the store failed; the server's log says why".into())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code().to_string(),
            message: self.to_string(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}

/// Results of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
