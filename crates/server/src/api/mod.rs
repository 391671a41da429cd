//! The API's handlers, each documented for the OpenAPI document by `#[utoipa::path]`.
//!
//! Every handler authenticates first (401), then checks role and case (403 or 404), then
//! the purpose of a personal-data read (400), does the work through the store, and appends
//! the audit entry before answering.
//!
//! This module holds the router and the OpenAPI wiring; the handlers live by resource in
//! `session`, `users`, `cases` (cases, members and sources), `ingest`, `records` (records,
//! entities, edges, history, export), `erase`, `network` (networks and paths), `search`,
//! `judgements` and `audit`. They share only `shared` (audit entries, pages, length
//! limits), never each other.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::SESSION_COOKIE;
use crate::error::ErrorBody;

mod audit;
mod cases;
mod erase;
mod ingest;
mod judgements;
mod network;
mod records;
mod search;
mod session;
mod shared;
mod users;

pub use ingest::MAX_FIELD_BYTES;

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
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::change_password))
        .routes(routes!(session::me))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::create_token))
        .routes(routes!(users::list_tokens))
        .routes(routes!(users::revoke_token))
        .routes(routes!(cases::list_cases, cases::create_case))
        .routes(routes!(cases::add_member, cases::remove_member))
        .routes(routes!(cases::list_sources, cases::create_source))
        .routes(routes!(ingest::ingest))
        .routes(routes!(records::get_record, erase::erase_record))
        .routes(routes!(records::get_entity, erase::erase_entity))
        .routes(routes!(records::entity_edges))
        .routes(routes!(records::entity_history))
        .routes(routes!(network::entity_network))
        .routes(routes!(network::find_path))
        .routes(routes!(search::search))
        .routes(routes!(judgements::create_judgement))
        .routes(routes!(judgements::merge))
        .routes(routes!(judgements::split))
        .routes(routes!(records::export))
        .routes(routes!(audit::audit_log))
        .routes(routes!(audit::audit_verify))
}
