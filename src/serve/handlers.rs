//! The route handlers and the layer that logs and counts every request.
//! Handlers stay thin: [`super::api`] validates and does the work.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::api::{Plan, SelectRequest, SelectResponse};
use super::{ApiError, AppState, ServedIndex, SELECT_ROUTE};
use crate::index::Manifest;

const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];

/// `POST /v1/select`.
pub async fn select(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| ApiError::from_body(r, state.limits.max_body_bytes))?;
    let plan = SelectRequest::parse(&body)?.into_plan(&state.limits)?;
    let served = state.index(plan.index.as_deref())?;
    let timeout = state.limits.timeout;
    let answer = tokio::time::timeout(timeout, run_admitted(state, served, plan))
        .await
        .map_err(|_| ApiError::Timeout(timeout.as_secs()))??;
    Ok((JSON, answer).into_response())
}

/// Waits for a permit, then runs `plan` on a blocking thread and serialises
/// the answer there. The job holds the permit until it ends, even when the
/// request has timed out meanwhile.
async fn run_admitted(
    state: Arc<AppState>,
    served: Arc<ServedIndex>,
    plan: Plan,
) -> Result<Vec<u8>, ApiError> {
    let permit = state
        .permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::Internal("the server is shutting down".into()))?;
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let results = plan.run(&served, state.encoder.as_ref(), &state.metrics)?;
        serde_json::to_vec(&SelectResponse { results })
            .map_err(|e| ApiError::Internal(format!("cannot serialise the answer: {e}")))
    });
    job.await
        .map_err(|e| ApiError::Internal(format!("the selection job failed: {e}")))?
}

#[derive(Serialize)]
struct IndexInfo<'a> {
    name: &'a str,
    manifest: &'a Manifest,
}

/// `GET /v1/indexes`: `{"indexes": [{"name", "manifest"}, ...]}`.
pub async fn indexes(State(state): State<Arc<AppState>>) -> Response {
    let indexes: Vec<IndexInfo> = state
        .indexes
        .values()
        .map(|served| IndexInfo {
            name: &served.name,
            manifest: served.index.manifest(),
        })
        .collect();
    Json(serde_json::json!({ "indexes": indexes })).into_response()
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")];
    (content_type, state.metrics.render()).into_response()
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; see /v1/select, /v1/indexes, /healthz, /metrics".into())
}

/// Counts every request and logs it as method, route pattern, status and
/// latency: never the body, the query string or an unknown path.
pub async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_string();
    let method = request.method().clone();
    let started = Instant::now();
    let in_flight = (route == SELECT_ROUTE).then(|| state.metrics.select_started());
    let response = next.run(request).await;
    drop(in_flight);
    let latency = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.record(&route, status, latency);
    if state.access_log {
        eprintln!("{method} {route} {status} {:.1}ms", latency.as_secs_f64() * 1e3);
    }
    response
}
