//! Reading the audit log and verifying its hash chain.

use axum::{Json, extract::State};
use spirit_store::access::Role;
use spirit_store::audit;

use crate::AppState;
use crate::auth::{Auth, Q};
use crate::dto::*;
use crate::error::{ApiResult, ErrorBody};

use super::shared::{entry, finish};

/// The audit log, oldest first (auditors and admins). Reading it is logged too.
#[utoipa::path(get, path = "/api/audit", tag = "audit",
    security(("bearer" = []), ("cookie" = [])),
    params(AuditParams),
    responses((status = 200, body = Vec<AuditEntry>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn audit_log(
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
pub(super) async fn audit_verify(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<AuditVerification>> {
    auth.require(&[Role::Auditor, Role::Admin])?;
    let e = entry(&auth, None, "audit.verify", "audit log");
    let key = state.audit_key().clone();
    let result = state
        .read(move |conn| Ok(audit::verify(conn, Some(&key))?))
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
