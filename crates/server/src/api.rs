//! The API's handlers, each documented for the OpenAPI document by `#[utoipa::path]`.
//!
//! Every handler authenticates first (401), then checks role and case (403 or 404), then
//! the purpose of a personal-data read (400), does the work through the store, and appends
//! the audit entry before answering.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::State};
use rusqlite::Connection;
use serde_json::json;
use spirit_sources::{StreamFormat, read_rows};
use spirit_store::access::{self, Role};
use spirit_store::audit::{self, Entry, clip};
use spirit_store::judge::{self, Verdict};
use spirit_store::scope::{self, Scope};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, Body, J, P, Purpose, Q, SESSION_COOKIE};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SPIRIT",
        description = "Identity resolution with the evidence for every link: records, entities, search, networks, judgements, cases and the audit log."
    ),
    modifiers(&Security),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
    }
}

/// Every route with its documentation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(create_token))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(list_cases, create_case))
        .routes(routes!(add_member, remove_member))
        .routes(routes!(list_sources, create_source))
        .routes(routes!(ingest))
        .routes(routes!(get_record, erase_record))
        .routes(routes!(get_entity, erase_entity))
        .routes(routes!(entity_edges))
        .routes(routes!(entity_history))
        .routes(routes!(entity_network))
        .routes(routes!(find_path))
        .routes(routes!(search))
        .routes(routes!(create_judgement))
        .routes(routes!(merge))
        .routes(routes!(split))
        .routes(routes!(export))
        .routes(routes!(audit_log))
        .routes(routes!(audit_verify))
}

// ---------------------------------------------------------------------------------------
// Helpers

fn entry(auth: &Auth, purpose: Option<&Purpose>, action: &str, target: &str) -> Entry {
    let mut e = Entry::new(&auth.user.name, action);
    e.purpose = purpose.map(|p| p.0.clone());
    e.target = Some(clip(target, 500).to_string());
    e
}

/// Logs the entry with the outcome of `result`, then returns `result` (or a 500 if the
/// log cannot be written: nothing is answered without its audit entry).
async fn finish<T>(state: &AppState, mut entry: Entry, result: ApiResult<T>) -> ApiResult<T> {
    if let Err(e) = &result {
        entry.outcome = e.code().to_string();
        entry.detail = json!({ "message": clip(&e.to_string(), 500) });
    }
    state.audit(entry).await?;
    result
}

/// The names of the cases of some sources, joined with ",".
fn case_names(conn: &Connection, sources: &[&str]) -> ApiResult<Option<String>> {
    let names = access::cases_of_sources(conn, sources)?;
    Ok((!names.is_empty()).then(|| names.join(",")))
}

/// Largest offset accepted in a page.
const MAX_OFFSET: usize = 1_000_000_000;

fn page(p: &PageParams) -> (usize, usize) {
    (
        p.offset.unwrap_or(0).min(MAX_OFFSET),
        p.limit.unwrap_or(50).min(500),
    )
}

fn check_text(what: &str, text: &str, max: usize) -> ApiResult<()> {
    if text.len() > max {
        return Err(ApiError::BadRequest(format!(
            "{what} is {} bytes; at most {max} are accepted",
            text.len()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Sessions

/// Log in with a password: sets the session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/login", tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "logged in; the session cookie is set", body = LoginResult),
        (status = 400, body = ErrorBody), (status = 401, description = "wrong user or password", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, description = "too many wrong passwords for this user name; `Retry-After` says when to try again", body = ErrorBody)))]
async fn login(State(state): State<AppState>, J(req): J<LoginRequest>) -> ApiResult<Response> {
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
async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<Response> {
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
async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Me>> {
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

// ---------------------------------------------------------------------------------------
// Users and tokens

/// Every user (admin).
#[utoipa::path(get, path = "/api/users", tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<UserInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_users(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<UserInfo>>> {
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
async fn create_user(
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
async fn create_token(
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
async fn list_tokens(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<TokenInfo>>> {
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
async fn revoke_token(
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

// ---------------------------------------------------------------------------------------
// Cases and sources

/// Cases: one's own (an admin sees all).
#[utoipa::path(get, path = "/api/cases", tag = "cases",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<CaseInfo>), (status = 401, body = ErrorBody)))]
async fn list_cases(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<CaseInfo>>> {
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
async fn create_case(
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
async fn add_member(
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
async fn remove_member(
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
async fn list_sources(
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
/// analyst of the case).
#[utoipa::path(post, path = "/api/sources", tag = "sources",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateSource,
    responses((status = 201, body = SourceInfo), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn create_source(
    State(state): State<AppState>,
    auth: Auth,
    J(req): J<CreateSource>,
) -> ApiResult<(StatusCode, Json<SourceInfo>)> {
    auth.require_reader()?;
    let mut e = entry(&auth, None, "source.create", &req.name);
    e.case = Some(clip(&req.case, 64).to_string());
    let user = auth.user.id;
    let result = state
        .write(move |ws| {
            let conn = ws.connection();
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

// ---------------------------------------------------------------------------------------
// Ingest

/// Longest value accepted in an uploaded field, in bytes.
pub const MAX_FIELD_BYTES: usize = 10_000;

/// Checks an upload before anything is stored: UTF-8, every line a JSON object (JSON Lines)
/// or a row of the header's width (CSV), no field over [`MAX_FIELD_BYTES`]. Returns the
/// number of records.
fn validate_upload(body: &[u8], csv_format: bool) -> ApiResult<u64> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        let line = body[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        ApiError::BadRequest(format!(
            "the upload is not UTF-8: invalid byte at offset {at} (line {line})"
        ))
    })?;
    let format = if csv_format {
        StreamFormat::Csv
    } else {
        StreamFormat::JsonLines
    };
    let mut n = 0u64;
    let mut refusal: Option<ApiError> = None;
    read_rows(text.as_bytes(), format, |row| {
        let problem = match row {
            Err(e) => Some(format!("line {}: {}", e.line, e.message)),
            Ok(row) => row
                .fields
                .iter()
                .find(|(_, v)| v.len() > MAX_FIELD_BYTES)
                .map(|(k, _)| {
                    format!(
                        "line {}, field {:?}: value over {MAX_FIELD_BYTES} bytes",
                        row.line,
                        clip(k, 64)
                    )
                }),
        };
        match problem {
            Some(message) => {
                refusal = Some(ApiError::BadRequest(message));
                false
            }
            None => {
                n += 1;
                true
            }
        }
    });
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    if n == 0 {
        return Err(ApiError::BadRequest("the upload holds no records".into()));
    }
    Ok(n)
}

/// Upload records (CSV with a header, or JSON Lines) into a source of one's case. Nothing
/// is stored unless every line is readable. With a model in the workspace the records are
/// resolved as they are stored.
#[utoipa::path(post, path = "/api/sources/{source}/records", tag = "sources",
    security(("bearer" = []), ("cookie" = [])),
    params(("source" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$"), IngestParams, PurposeParam),
    request_body(content = String, content_type = "text/csv", description = "CSV with a header row, or JSON Lines (application/x-ndjson)"),
    responses((status = 200, body = IngestResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn ingest(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(source): P<String>,
    Q(params): Q<IngestParams>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Json<IngestResult>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "ingest", &source);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let result = async {
        let csv_format = match params.format.as_deref() {
            Some("csv") => true,
            Some("jsonl") | Some("ndjson") => false,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "format {:?} is not csv or jsonl",
                    clip(other, 20)
                )));
            }
            None if content_type.starts_with("text/csv") => true,
            None if content_type.contains("ndjson") || content_type.contains("jsonl") => false,
            None => {
                return Err(ApiError::UnsupportedMediaType(
                    "say what the upload is: ?format=csv or jsonl, or Content-Type text/csv or application/x-ndjson"
                        .into(),
                ));
            }
        };
        let user = auth.user.id;
        let src = source.clone();
        let case = state
            .read(move |conn| {
                let scope = Scope::for_user(conn, user)?;
                if !scope.source_visible(&src) {
                    return Err(ApiError::NotFound(format!(
                        "source {} not found in your cases",
                        clip(&src, 64)
                    )));
                }
                case_names(conn, &[src.as_str()])
            })
            .await?;
        let read = validate_upload(&body, csv_format)?;
        let src = source.clone();
        let id_column = params.id_column.clone();
        let result = state
            .write(move |ws| store_upload(ws, &src, body.to_vec(), csv_format, id_column, read))
            .await?;
        Ok((case, result))
    }
    .await;
    let result = match result {
        Ok((case, r)) => {
            e.case = case;
            e.detail = json!({ "read": r.read, "stored": r.stored, "already_stored": r.already_stored, "problems": r.problems.len() });
            Ok(r)
        }
        Err(err) => Err(err),
    };
    Ok(Json(finish(&state, e, result).await?))
}

fn store_upload(
    ws: &mut spirit_store::Workspace,
    source: &str,
    body: Vec<u8>,
    csv_format: bool,
    id_column: Option<String>,
    read: u64,
) -> ApiResult<IngestResult> {
    use spirit_store::stream::{StreamOptions, add_stream};
    let has_model = spirit_store::resolve::current_model(ws.connection())?.is_some();
    if has_model {
        let mut options = StreamOptions::new(source);
        options.format = if csv_format {
            StreamFormat::Csv
        } else {
            StreamFormat::JsonLines
        };
        options.id_column = id_column;
        options.origin = "upload".into();
        let (mut acks, mut problems) = (Vec::new(), Vec::new());
        let report = add_stream(
            ws,
            std::io::Cursor::new(body),
            &mut acks,
            &mut problems,
            &options,
        )?;
        let problems: Vec<String> = String::from_utf8_lossy(&problems)
            .lines()
            .take(100)
            .map(str::to_owned)
            .collect();
        Ok(IngestResult {
            source: source.to_string(),
            read,
            stored: report.totals.stored,
            already_stored: report.totals.already_stored,
            problems,
            resolved: true,
        })
    } else {
        let dir = ws.dir().join("uploads");
        std::fs::create_dir_all(&dir)
            .map_err(|e| ApiError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        let nonce = access::hex(&access::random_bytes::<8>()?);
        let path = dir.join(format!(
            "{source}-{nonce}.{}",
            if csv_format { "csv" } else { "jsonl" }
        ));
        std::fs::write(&path, &body)
            .map_err(|e| ApiError::Internal(format!("cannot write {}: {e}", path.display())))?;
        let report = spirit_store::ingest::ingest(
            ws,
            Some(source),
            &path,
            id_column.as_deref(),
            &spirit_model::NoProgress,
        );
        let _ = std::fs::remove_file(&path);
        let report = report?;
        let mut problems: Vec<String> = report
            .conflicts
            .iter()
            .take(100)
            .map(|(line, m)| format!("line {line}: {m}"))
            .collect();
        if report.quarantined > 0 {
            problems.push(format!(
                "{} rows could not be used (quarantined in the workspace)",
                report.quarantined
            ));
        }
        Ok(IngestResult {
            source: source.to_string(),
            read: report.read,
            stored: report.stored,
            already_stored: report.already_stored,
            problems,
            resolved: false,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Records and entities

/// One record of one's cases.
#[utoipa::path(get, path = "/api/records/{key}", tag = "records",
    security(("bearer" = []), ("cookie" = [])),
    params(("key" = String, Path, description = "source:record_id", pattern = "^[A-Za-z0-9._-]{1,64}:.+$"), PurposeParam),
    responses((status = 200, body = Record), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_record(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(key): P<String>,
) -> ApiResult<Json<Record>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "record.read", &key);
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

/// Erase a record and everything derived from it (admin of its case); its entity is
/// re-resolved from what remains.
#[utoipa::path(delete, path = "/api/records/{key}", tag = "records",
    security(("bearer" = []), ("cookie" = [])),
    params(("key" = String, Path, description = "source:record_id", pattern = "^[A-Za-z0-9._-]{1,64}:.+$"), EraseParams, PurposeParam),
    responses((status = 200, body = Erased), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn erase_record(
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
        EraseTarget::Record(k) => ("record.erase", k.clone()),
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

/// An entity as the user may see it: visible records, their values, the strongest edges
/// and judgements between them. 404 when none of its records is visible.
#[utoipa::path(get, path = "/api/entities/{id}", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id, e.g. E12", pattern = "^[Ee]?[0-9]{1,15}$"), PurposeParam),
    responses((status = 200, body = Entity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_entity(
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

/// Erase every record of an entity that the admin can see, with everything derived.
#[utoipa::path(delete, path = "/api/entities/{id}", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id", pattern = "^[Ee]?[0-9]{1,15}$"), EraseParams, PurposeParam),
    responses((status = 200, body = Erased), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn erase_entity(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(id): P<String>,
    Q(params): Q<EraseParams>,
) -> ApiResult<Json<Erased>> {
    auth.require(&[Role::Admin])?;
    erase(state, auth, purpose, EraseTarget::Entity(id), params.reason).await
}

/// The edges between an entity's visible records, strongest first, each explained as
/// prior weight + partial weight per comparison.
#[utoipa::path(get, path = "/api/entities/{id}/edges", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id", pattern = "^[Ee]?[0-9]{1,15}$"), PageParams, PurposeParam),
    responses((status = 200, body = EdgePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn entity_edges(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(id): P<String>,
    Q(p): Q<PageParams>,
) -> ApiResult<Json<EdgePage>> {
    auth.require_reader()?;
    let e = entry(&auth, Some(&purpose), "entity.edges", &id);
    let (offset, limit) = page(&p);
    let user = auth.user.id;
    let result = state
        .read(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            let (total, edges) = scope::entity_edges(conn, &scope, &id, offset, limit)?;
            Ok(EdgePage {
                entity: spirit_store::parse_entity(&id)
                    .map(spirit_store::entity_label)
                    .unwrap_or(id),
                total,
                offset,
                edges: edges.into_iter().map(Edge::from).collect(),
            })
        })
        .await;
    Ok(Json(finish(&state, e, result).await?))
}

/// Who did what to an entity, oldest first: merges, splits, records joining, judgements
/// (with author, verdict and reason), erasures — as far as the user's cases show.
#[utoipa::path(get, path = "/api/entities/{id}/history", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id", pattern = "^[Ee]?[0-9]{1,15}$"), PurposeParam),
    responses((status = 200, body = History), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn entity_history(
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
            Ok(History {
                entity: spirit_store::parse_entity(&id)
                    .map(spirit_store::entity_label)
                    .unwrap_or(id),
                events: events.into_iter().map(HistoryEvent::from).collect(),
            })
        })
        .await;
    if let Ok(h) = &result {
        e.detail = json!({ "events": h.events.len() });
    }
    Ok(Json(finish(&state, e, result).await?))
}

/// The entities around one: linked by edges or shared identifiers between visible
/// records; identifiers held by very many records are listed as hubs, not followed.
#[utoipa::path(get, path = "/api/entities/{id}/network", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id", pattern = "^[Ee]?[0-9]{1,15}$"), PageParams, PurposeParam),
    responses((status = 200, body = NetworkPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn entity_network(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(id): P<String>,
    Q(p): Q<PageParams>,
) -> ApiResult<Json<NetworkPage>> {
    auth.require_reader()?;
    let e = entry(&auth, Some(&purpose), "entity.network", &id);
    let (offset, limit) = page(&p);
    let user = auth.user.id;
    let result = state
        .read_heavy(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            Ok(scope::network(conn, &scope, &id, offset, limit)?.into())
        })
        .await;
    Ok(Json(finish(&state, e, result).await?))
}

/// The shortest chain of links from one entity to another (bounded breadth-first search).
#[utoipa::path(get, path = "/api/path", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(PathParams, PurposeParam),
    responses((status = 200, body = PathResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn find_path(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    Q(p): Q<PathParams>,
) -> ApiResult<Json<PathResult>> {
    auth.require_reader()?;
    let e = entry(
        &auth,
        Some(&purpose),
        "path",
        &format!("{} -> {}", clip(&p.from, 64), clip(&p.to, 64)),
    );
    let user = auth.user.id;
    let depth = p.max_depth.unwrap_or(scope::MAX_PATH_DEPTH);
    let result = state
        .read_heavy(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            Ok(scope::path(conn, &scope, &p.from, &p.to, depth)?.into())
        })
        .await;
    Ok(Json(finish(&state, e, result).await?))
}

/// Fuzzy search over names and identifiers of one's cases' records.
#[utoipa::path(get, path = "/api/search", tag = "search",
    security(("bearer" = []), ("cookie" = [])),
    params(SearchParams, PurposeParam),
    responses((status = 200, body = SearchResults), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    Q(p): Q<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    auth.require_reader()?;
    let e = entry(&auth, Some(&purpose), "search", &p.q);
    let user = auth.user.id;
    let limit = p.limit.unwrap_or(20);
    let q = p.q.clone();
    let result = async {
        check_text("the query", &q, spirit_store::search::MAX_QUERY_BYTES)?;
        state
            .read_heavy(move |conn| {
                let scope = Scope::for_user(conn, user)?;
                let hits = scope::search(conn, &scope, &q, limit)?;
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
                Ok(SearchResults {
                    query: q,
                    hits: out,
                })
            })
            .await
    }
    .await;
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

// ---------------------------------------------------------------------------------------
// Judgements

async fn judge_pair(
    state: &AppState,
    auth: &Auth,
    action: &str,
    verdict: Verdict,
    left: Side,
    right: Side,
    reason: String,
) -> ApiResult<Json<JudgeResult>> {
    auth.require_reader()?;
    check_text("the reason", &reason, 2000)?;
    let target = format!("{} / {}", left.text(), right.text());
    let mut e = entry(auth, None, action, &target);
    e.detail = json!({ "verdict": verdict.name(), "reason": clip(&reason, 2000) });
    let (user, author) = (auth.user.id, auth.user.name.clone());
    let result = state
        .write(move |ws| {
            let conn = ws.connection();
            let scope = Scope::for_user(conn, user)?;
            let key = |side: &Side| -> ApiResult<String> {
                let id = match side {
                    Side::Record(k) => scope::record_id(conn, &scope, k)?,
                    Side::Entity(text) => {
                        let id = spirit_store::parse_entity(text).ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "{:?} is not an entity id",
                                clip(text, 64)
                            ))
                        })?;
                        *scope::visible_members(conn, &scope, id)?
                            .first()
                            .ok_or_else(|| {
                                ApiError::NotFound(format!("entity {} not found", clip(text, 64)))
                            })?
                    }
                };
                Ok(judge::record_key(conn, id)?)
            };
            let (l, r) = (key(&left)?, key(&right)?);
            let sources: Vec<String> = [&l, &r]
                .iter()
                .filter_map(|k| k.split_once(':').map(|(s, _)| s.to_string()))
                .collect();
            let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
            let case = case_names(conn, &refs)?;
            let report = judge::judge(ws, verdict, &l, &r, &author, &reason)?;
            Ok((report, case))
        })
        .await;
    let result = result.map(|(r, case)| {
        e.case = case;
        JudgeResult {
            judgement: r.judgement,
            verdict: r.verdict.name().into(),
            left: r.left,
            right: r.right,
            left_entity: r.left_entity,
            right_entity: r.right_entity,
            changes: r.changes.into(),
        }
    });
    Ok(Json(finish(state, e, result).await?))
}

enum Side {
    Record(String),
    Entity(String),
}

impl Side {
    fn text(&self) -> &str {
        match self {
            Side::Record(t) | Side::Entity(t) => clip(t, 100),
        }
    }
}

/// Judge two records same, not-same or unsure; the entities re-cluster at once.
#[utoipa::path(post, path = "/api/judgements", tag = "judgements",
    security(("bearer" = []), ("cookie" = [])),
    request_body = JudgeRequest,
    responses((status = 200, body = JudgeResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn create_judgement(
    State(state): State<AppState>,
    auth: Auth,
    J(req): J<JudgeRequest>,
) -> ApiResult<Json<JudgeResult>> {
    let verdict = Verdict::parse(&req.verdict)
        .ok_or_else(|| ApiError::BadRequest("verdict must be same, not-same or unsure".into()))?;
    judge_pair(
        &state,
        &auth,
        "judge",
        verdict,
        Side::Record(req.left),
        Side::Record(req.right),
        req.reason,
    )
    .await
}

/// Merge two entities: a "same" judgement between a record of each.
#[utoipa::path(post, path = "/api/merge", tag = "judgements",
    security(("bearer" = []), ("cookie" = [])),
    request_body = MergeRequest,
    responses((status = 200, body = JudgeResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn merge(
    State(state): State<AppState>,
    auth: Auth,
    J(req): J<MergeRequest>,
) -> ApiResult<Json<JudgeResult>> {
    judge_pair(
        &state,
        &auth,
        "merge",
        Verdict::Same,
        Side::Entity(req.left),
        Side::Entity(req.right),
        req.reason,
    )
    .await
}

/// Split two records apart: a "not-same" judgement between them.
#[utoipa::path(post, path = "/api/split", tag = "judgements",
    security(("bearer" = []), ("cookie" = [])),
    request_body = SplitRequest,
    responses((status = 200, body = JudgeResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn split(
    State(state): State<AppState>,
    auth: Auth,
    J(req): J<SplitRequest>,
) -> ApiResult<Json<JudgeResult>> {
    judge_pair(
        &state,
        &auth,
        "split",
        Verdict::NotSame,
        Side::Record(req.left),
        Side::Record(req.right),
        req.reason,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Export and audit

/// `source, record_id, entity` of the resolved records of one's cases, a page at a time.
#[utoipa::path(get, path = "/api/export", tag = "records",
    security(("bearer" = []), ("cookie" = [])),
    params(PageParams, PurposeParam),
    responses((status = 200, body = ExportPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn export(
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

/// The audit log, oldest first (auditors and admins). Reading it is logged too.
#[utoipa::path(get, path = "/api/audit", tag = "audit",
    security(("bearer" = []), ("cookie" = [])),
    params(AuditParams),
    responses((status = 200, body = Vec<AuditEntry>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn audit_log(
    State(state): State<AppState>,
    auth: Auth,
    Q(p): Q<AuditParams>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    auth.require(&[Role::Auditor, Role::Admin])?;
    let e = entry(&auth, None, "audit.read", "audit log");
    let filter = audit::Filter {
        after: p.after,
        actor: p.actor,
        action: p.action,
        case: p.case,
        limit: p.limit.unwrap_or(100).min(1000),
    };
    let result = state
        .read(move |conn| Ok(audit::query(conn, &filter)?))
        .await
        .map(|list| {
            list.into_iter()
                .map(|s| AuditEntry {
                    seq: s.seq,
                    at: s.at,
                    actor: s.actor,
                    case: s.case,
                    purpose: s.purpose,
                    action: s.action,
                    target: s.target,
                    outcome: s.outcome,
                    detail: s.detail,
                    hash: s.hash,
                })
                .collect()
        });
    Ok(Json(finish(&state, e, result).await?))
}

/// Recompute the audit log's hash chain (auditors and admins).
#[utoipa::path(get, path = "/api/audit/verify", tag = "audit",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = AuditVerification), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit_verify(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<AuditVerification>> {
    auth.require(&[Role::Auditor, Role::Admin])?;
    let e = entry(&auth, None, "audit.verify", "audit log");
    let result = state
        .read(|conn| Ok(audit::verify(conn)?))
        .await
        .map(|v| AuditVerification {
            ok: v.ok(),
            entries: v.entries,
            head: v.head,
            problems: v
                .problems
                .into_iter()
                .map(|p| AuditProblem {
                    seq: p.seq,
                    message: p.message,
                })
                .collect(),
        });
    Ok(Json(finish(&state, e, result).await?))
}
