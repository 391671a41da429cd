//! Judgements between records: same, not-same or unsure, and the merges and splits made
//! of them.

use axum::{Json, extract::State};
use serde_json::json;
use spirit_store::audit::clip;
use spirit_store::judge::{self, Verdict};
use spirit_store::scope::{self, Scope};

use crate::AppState;
use crate::auth::{Auth, J, Purpose};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};

use super::shared::{case_names, check_text, entry, finish, keyed};

#[allow(clippy::too_many_arguments)]
async fn judge_pair(
    state: &AppState,
    auth: &Auth,
    purpose: Option<Purpose>,
    action: &str,
    verdict: Verdict,
    left: Side,
    right: Side,
    reason: String,
) -> ApiResult<Json<JudgeResult>> {
    auth.require_reader()?;
    check_text("the reason", &reason, 2000)?;
    let target = format!("{} / {}", left.logged(state), right.logged(state));
    let mut e = entry(auth, purpose.as_ref(), action, &target);
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
            let report =
                judge::judge(ws, verdict, &l, &r, &author, &reason).map_err(|e| match e {
                    // Never name a record or judgement outside the caller's cases.
                    spirit_store::StoreError::Contradiction { left, right }
                        if !(scope.key_visible(&left) && scope.key_visible(&right)) =>
                    {
                        ApiError::Conflict(
                            "this judgement contradicts a judgement in force on records outside \
                         your cases; an administrator of those cases can review it"
                                .into(),
                        )
                    }
                    e => e.into(),
                })?;
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
    /// The side as the audit log keeps it: an entity id as it is, a record key keyed.
    fn logged(&self, state: &AppState) -> String {
        match self {
            Side::Record(t) => keyed(state, t),
            Side::Entity(t) => clip(t, 100).to_string(),
        }
    }
}

/// Judge two records same, not-same or unsure; the entities re-cluster at once. A purpose
/// (`?purpose=` or `X-Purpose`), when stated, is recorded in the audit entry, as for merges
/// and splits.
#[utoipa::path(post, path = "/api/judgements", tag = "judgements",
    security(("bearer" = []), ("cookie" = [])),
    request_body = JudgeRequest,
    responses((status = 200, body = JudgeResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(super) async fn create_judgement(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Option<Purpose>,
    J(req): J<JudgeRequest>,
) -> ApiResult<Json<JudgeResult>> {
    let verdict = Verdict::parse(&req.verdict)
        .ok_or_else(|| ApiError::BadRequest("verdict must be same, not-same or unsure".into()))?;
    judge_pair(
        &state,
        &auth,
        purpose,
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
pub(super) async fn merge(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Option<Purpose>,
    J(req): J<MergeRequest>,
) -> ApiResult<Json<JudgeResult>> {
    judge_pair(
        &state,
        &auth,
        purpose,
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
pub(super) async fn split(
    State(state): State<AppState>,
    auth: Auth,
    purpose: Option<Purpose>,
    J(req): J<SplitRequest>,
) -> ApiResult<Json<JudgeResult>> {
    judge_pair(
        &state,
        &auth,
        purpose,
        "split",
        Verdict::NotSame,
        Side::Record(req.left),
        Side::Record(req.right),
        req.reason,
    )
    .await
}
