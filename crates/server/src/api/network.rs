//! Links around entities: an entity's network and the shortest path between two.

use axum::{Json, extract::State};
use spirit_store::audit::clip;
use spirit_store::scope::{self, Scope};

use crate::AppState;
use crate::auth::{Auth, P, Purpose, Q};
use crate::dto::*;
use crate::error::{ApiResult, ErrorBody};

use super::shared::{entity_cases, entry, finish, page};

/// The entities around one: linked by edges or shared identifiers between visible
/// records; identifiers held by very many records are listed as hubs, not followed.
#[utoipa::path(get, path = "/api/entities/{id}/network", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "entity id", pattern = "^[Ee]?[0-9]{1,15}$"), PageParams, PurposeParam),
    responses((status = 200, body = NetworkPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn entity_network(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    P(id): P<String>,
    Q(p): Q<PageParams>,
) -> ApiResult<Json<NetworkPage>> {
    auth.require_reader()?;
    let mut e = entry(&auth, Some(&purpose), "entity.network", &id);
    let (offset, limit) = page(&p);
    let user = auth.user.id;
    let result = state
        .read_heavy(move |conn| {
            let scope = Scope::for_user(conn, user)?;
            let network: NetworkPage = scope::network(conn, &scope, &id, offset, limit)?.into();
            Ok((network, entity_cases(conn, &scope, &[id.as_str()])?))
        })
        .await
        .map(|(network, case)| {
            e.case = case;
            network
        });
    Ok(Json(finish(&state, e, result).await?))
}

/// The shortest chain of links from one entity to another (bounded breadth-first search).
#[utoipa::path(get, path = "/api/path", tag = "entities",
    security(("bearer" = []), ("cookie" = [])),
    params(PathParams, PurposeParam),
    responses((status = 200, body = PathResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn find_path(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Purpose,
    Q(p): Q<PathParams>,
) -> ApiResult<Json<PathResult>> {
    auth.require_reader()?;
    let mut e = entry(
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
            let found: PathResult = scope::path(conn, &scope, &p.from, &p.to, depth)?.into();
            Ok((
                found,
                entity_cases(conn, &scope, &[p.from.as_str(), p.to.as_str()])?,
            ))
        })
        .await
        .map(|(found, case)| {
            e.case = case;
            found
        });
    Ok(Json(finish(&state, e, result).await?))
}
