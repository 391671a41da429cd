//! The analyst's workbench: the single-page UI built from `web/` (`make web`), embedded in
//! the binary at compile time.
//!
//! The build script points [`Assets`] at `web/dist` when it holds a built UI, else at an
//! empty folder; then every UI path answers with a short page saying how to build it, so
//! `cargo build` and `cargo test` never need Node.js. Paths under `/api/` and
//! `/openapi.json` never reach this module. A file of the build is served as it is (hashed
//! names under `/assets/` are cached for a year); any other path is a route of the
//! single-page app and gets `index.html`.
//!
//! Every UI response carries a strict Content-Security-Policy: scripts, styles, fonts and
//! connections from this origin only, images also from `data:` and `blob:` (the network
//! view's PNG export), no framing, no plugins, no inline script.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::ApiError;

/// The built UI (`web/dist`), or nothing when it was not built.
#[derive(RustEmbed)]
#[folder = "$SPIRIT_UI_DIST"]
struct Assets;

/// The policy sent with every UI response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// True when the binary carries a built UI.
pub fn built() -> bool {
    Assets::get("index.html").is_some()
}

/// The page served at every UI path when the UI was not built.
const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>SPIRIT: the UI was not built</title></head><body>\
<h1>The analyst's workbench was not built into this binary</h1>\
<p>The REST API works (see <a href=\"/openapi.json\">/openapi.json</a>). To get the web UI, \
build it and then the binary again:</p>\
<pre>make web          # npm ci and npm run build in web/\ncargo build -p spirit-cli</pre>\
<p>or simply <code>make demo</code>.</p></body></html>\n";

/// Answers a request that matched no API route.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") || path == "/openapi.json" {
        return ApiError::NotFound("no such endpoint".into()).into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::BadRequest("this method is not allowed on this path".into())
            .into_response();
    }
    let mut response = serve(path);
    if method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    secure(response)
}

fn serve(path: &str) -> Response {
    let name = path.trim_start_matches('/');
    if !name.is_empty()
        && let Some(file) = Assets::get(name)
    {
        let cache = if name.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let mime = file.metadata.mimetype().to_string();
        return (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, cache.to_string()),
            ],
            file.data.into_owned(),
        )
            .into_response();
    }
    // A missing build file is a 404, not the app (a stale tab asking for old chunks).
    if name.starts_with("assets/") {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    }
    match Assets::get("index.html") {
        Some(index) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            index.data.into_owned(),
        )
            .into_response(),
        None => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            NOT_BUILT,
        )
            .into_response(),
    }
}

fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    response
}
