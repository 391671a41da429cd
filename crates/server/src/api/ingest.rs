//! Uploads of records into a source, checked whole before anything is stored.

use axum::http::{HeaderMap, header};
use axum::{Json, extract::State};
use serde_json::json;
use spirit_sources::{StreamFormat, read_rows};
use spirit_store::audit::clip;
use spirit_store::scope::Scope;

use crate::AppState;
use crate::auth::{Auth, Body, P, Purpose, Q};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};

use super::shared::{case_names, entry, finish};

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
/// is stored unless every line is readable. The records are resolved as they are stored
/// (with the cold-start model while the workspace has never been resolved).
#[utoipa::path(post, path = "/api/sources/{source}/records", tag = "sources",
    security(("bearer" = []), ("cookie" = [])),
    params(("source" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$"), IngestParams, PurposeParam),
    request_body(content = String, content_type = "text/csv", description = "CSV with a header row, or JSON Lines (application/x-ndjson)"),
    responses((status = 200, body = IngestResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(super) async fn ingest(
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
            .write_lent(move |lend| store_upload(lend, &src, body, csv_format, id_column, read))
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

/// Stores and resolves an upload one batch at a time: the writer lock is held for one
/// batch, never for the whole upload.
fn store_upload(
    lend: &mut spirit_store::stream::Lend<'_>,
    source: &str,
    body: axum::body::Bytes,
    csv_format: bool,
    id_column: Option<String>,
    read: u64,
) -> ApiResult<IngestResult> {
    use spirit_store::stream::{StreamOptions, add_stream_lent};
    let mut options = StreamOptions::new(source);
    options.format = if csv_format {
        StreamFormat::Csv
    } else {
        StreamFormat::JsonLines
    };
    options.id_column = id_column;
    options.origin = "upload".into();
    // Acknowledgements are not sent back; problems are kept as they come, the first
    // [`MAX_PROBLEMS`] of them, so an upload of many bad rows costs no memory per row.
    let mut problems = FirstLines::default();
    options.max_batch = UPLOAD_BATCH;
    let report = add_stream_lent(
        lend,
        std::io::Cursor::new(body),
        &mut std::io::sink(),
        &mut problems,
        &options,
    )?;
    Ok(IngestResult {
        source: source.to_string(),
        read,
        stored: report.totals.stored,
        already_stored: report.totals.already_stored,
        problem_count: problems.lines,
        problems: String::from_utf8_lossy(&problems.kept)
            .lines()
            .map(str::to_owned)
            .collect(),
    })
}

/// Most records of an upload stored and resolved while it holds the writer lock: a write
/// sent meanwhile waits for one batch at most.
pub const UPLOAD_BATCH: usize = 512;

/// Problems shown at most in an upload's answer.
pub const MAX_PROBLEMS: u64 = 100;

/// A writer that keeps the first [`MAX_PROBLEMS`] lines written and counts them all.
#[derive(Default)]
struct FirstLines {
    kept: Vec<u8>,
    lines: u64,
}

impl std::io::Write for FirstLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for piece in buf.split_inclusive(|&b| b == b'\n') {
            if self.lines < MAX_PROBLEMS && self.kept.len() < (1 << 20) {
                self.kept.extend_from_slice(piece);
            }
            if piece.ends_with(b"\n") {
                self.lines += 1;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn only_the_first_problems_are_kept_and_all_are_counted() {
        let mut w = FirstLines::default();
        for i in 0..100_000 {
            write!(w, "line {i}: ").unwrap();
            writeln!(w, "no id").unwrap();
        }
        assert_eq!(w.lines, 100_000);
        let text = String::from_utf8(w.kept).unwrap();
        assert_eq!(text.lines().count(), MAX_PROBLEMS as usize);
        assert_eq!(text.lines().last(), Some("line 99: no id"));
    }
}
