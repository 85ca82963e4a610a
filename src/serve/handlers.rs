//! The route handlers and the layer that logs and counts every request.
//! Handlers stay thin: [`super::api`] validates and does the work.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::api::{Plan, SelectRequest};
use super::{ApiError, AppState, Limits, ServedIndex, SELECT_ROUTE};
use crate::index::Manifest;
use crate::knowledge::SourceInfo;

const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];

/// `POST /v1/select`.
pub async fn select(State(state): State<Arc<AppState>>, request: Request) -> Result<Response, ApiError> {
    require_json(request.headers())?;
    let body = read_body(request, &state.limits).await?;
    let plan = SelectRequest::parse(&body)?.into_plan(&state.limits)?;
    let served = state.index(plan.index.as_deref())?;
    let timeout = state.limits.timeout;
    let answer = tokio::time::timeout(timeout, run_admitted(state, served, plan))
        .await
        .map_err(|_| ApiError::Timeout(timeout.as_secs()))??;
    Ok((JSON, answer).into_response())
}

/// Refuses a body not declared `application/json` (parameters such as
/// `charset` allowed): browsers send text and forms across origins without
/// asking first, JSON not.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    declared.then_some(()).ok_or(ApiError::UnsupportedMediaType)
}

/// The whole body, within the size and time limits.
async fn read_body(request: Request, limits: &Limits) -> Result<Bytes, ApiError> {
    let wait = limits.body_timeout;
    tokio::time::timeout(wait, Bytes::from_request(request, &()))
        .await
        .map_err(|_| ApiError::BodyTimeout(wait.as_secs()))?
        .map_err(|r| ApiError::from_body(r, limits.max_body_bytes))
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
        let response = plan.run(&served, &state.encoder, &state.metrics)?;
        serde_json::to_vec(&response)
            .map_err(|e| ApiError::Internal(format!("cannot serialise the answer: {e}")))
    });
    job.await
        .map_err(|e| ApiError::Internal(format!("the selection job failed: {e}")))?
}

#[derive(Serialize)]
struct IndexInfo<'a> {
    name: &'a str,
    manifest: &'a Manifest,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    knowledge: Vec<SourceView>,
}

/// A knowledge source as `/v1/indexes` lists it: what it is, and the
/// notice its licence asks to show.
#[derive(Serialize)]
struct SourceView {
    #[serde(flatten)]
    info: SourceInfo,
    notice: String,
}

/// `GET /v1/indexes`: `{"indexes": [{"name", "manifest", "knowledge"}, ...]}`
/// (`knowledge` only when the server has sources).
pub async fn indexes(State(state): State<Arc<AppState>>) -> Response {
    let indexes: Vec<IndexInfo> = state
        .indexes
        .values()
        .map(|served| IndexInfo {
            name: &served.name,
            manifest: served.index.manifest(),
            knowledge: served
                .knowledge
                .iter()
                .flat_map(|(knowledge, _)| knowledge.sources())
                .map(|info| SourceView {
                    notice: info.notice(),
                    info,
                })
                .collect(),
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

/// A known route asked with a method it does not take.
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "this route does not take {}; /v1/select takes POST, the others GET",
        method_for_log(&method)
    ))
}

/// Counts every request and logs it as method, route pattern, status and
/// latency: never the body, the query string or an unknown path.
pub async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_string();
    let method = method_for_log(request.method());
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

/// A method as logged or echoed: the client may send any token of any length.
fn method_for_log(method: &Method) -> String {
    const SHOWN: usize = 16;
    let sent = method.as_str();
    let shown: String = sent.chars().take(SHOWN).flat_map(char::escape_default).collect();
    if sent.len() > SHOWN {
        format!("{shown}... ({} bytes)", sent.len())
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn long_methods_are_cut_short_in_logs() {
        assert_eq!(method_for_log(&Method::POST), "POST");
        let long = Method::from_bytes("X".repeat(60_000).as_bytes()).unwrap();
        assert_eq!(
            method_for_log(&long),
            format!("{}... (60000 bytes)", "X".repeat(16))
        );
    }

    #[test]
    fn only_json_bodies_are_taken() {
        let with = |content_type: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            require_json(&headers).is_ok()
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("application/jsonx"));
        assert!(require_json(&HeaderMap::new()).is_err());
    }
}
