//! `exemplar serve`: demonstration retrieval over HTTP, for an LLM pipeline
//! that wants demonstrations (or whole prompts) per query at request time.
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /v1/select` | demonstrations for `{"text": ...}` or `{"texts": [...]}`; see [`api::SelectRequest`] |
//! | `GET /v1/indexes` | the name and manifest of each index served, and its knowledge sources (name, version, licence notice) |
//! | `GET /healthz` | `ok` |
//! | `GET /metrics` | Prometheus text exposition; see [`metrics`] |
//!
//! Each result has the shape of one `exemplar select --json` line
//! (`{"query", "demos"}`), plus `"prompts"` when a prompt format is asked for.
//! A server started with knowledge sources (`--knowledge`, loaded once per
//! index at start: the gazetteer is each index's own) puts their hints in
//! the prompts, unless a request says `"prompt": {..., "knowledge": false}`;
//! each prompt then lists the hints shown and counts those left out.
//! Errors are `{"error": "..."}` with the status chosen in one place,
//! [`ApiError`].
//!
//! # Concurrency
//!
//! The server is an axum router on a multi-threaded tokio runtime. The async
//! workers only parse, validate and route: everything that costs CPU, that is
//! embedding the query sentences, searching the index, rendering prompts and
//! serialising the answer, runs in one [`tokio::task::spawn_blocking`] job per
//! request, so a slow request never stalls the others' I/O.
//!
//! Embedding is the expensive step. The one [`crate::OnnxEncoder`] holds a
//! pool of ONNX Runtime sessions (`--sessions`, default one per core, one
//! thread each); a blocking job takes whichever session is free, so requests
//! are encoded in parallel instead of queueing behind one lock. A semaphore
//! with one permit per session admits at most that many jobs at a time:
//! further requests wait asynchronously (cheaply, not as blocked threads),
//! and an admitted job always finds a free session. The indexes are
//! immutable and shared read-only by all jobs; selection itself is
//! [`crate::select::select_batch`], exactly what `exemplar select` runs.
//!
//! # Limits
//!
//! `POST /v1/select` takes only `Content-Type: application/json` (else 415,
//! so that a web page cannot post a form or text to a server on loopback).
//! Request bodies over `--max-body-bytes` are refused with 413 before they are
//! read, bodies slower than `--body-timeout-secs` with 408, batches over
//! `--max-batch` sentences with 413, `k` over [`MAX_K`] with 400.
//! `--timeout-secs` bounds the wait for a permit plus the work; past it the
//! client gets 503. An inference already running cannot be interrupted: it
//! finishes in the background and keeps its permit until then, so timed-out
//! work still counts against the admission limit.
//!
//! Connections are served by `conn.rs`: a request head must arrive within
//! `--header-timeout-secs` of the server waiting for it (which also closes
//! idle kept-alive connections), and at most `--max-connections` are served at
//! once, the others waiting in the listen backlog.
//!
//! # Shutdown and logs
//!
//! On SIGTERM or Ctrl-C the server stops accepting connections and lets the
//! requests in flight finish for at most `--shutdown-grace-secs`; then the
//! connections left (a client that never finishes its request) are dropped.
//! Each request is logged to stderr as method (at most 16 characters of it),
//! route pattern, status and latency; query text never is (nor is the raw
//! path of an unknown route). Requests hyper refuses before routing (400, 414,
//! 431) are logged and counted under the route `unparsed`; connections closed
//! for a late head or a client gone mid-request are counted in
//! `exemplar_http_connection_errors_total`.

pub mod api;
mod conn;
mod error;
mod handlers;
pub mod metrics;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Semaphore;

pub use conn::{serve, ConnectionLimits};
pub use error::ApiError;
pub use metrics::Metrics;

use crate::encoder::Encoder;
use crate::index::Index;
use crate::knowledge::{HintLimits, Knowledge};

/// The route of the selection endpoint.
pub const SELECT_ROUTE: &str = "/v1/select";

/// The largest `k` a request may ask for.
pub const MAX_K: usize = 256;

/// What one request may ask of the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Most query sentences in one request.
    pub max_batch: usize,
    /// Longest a `/v1/select` request may wait and run.
    pub timeout: Duration,
    /// Longest a request body may take to arrive.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_batch: 64,
            timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// An index served under a name (its directory's name).
#[derive(Debug)]
pub struct ServedIndex {
    /// The name requests choose it by.
    pub name: String,
    /// The opened index.
    pub index: Index,
    /// The entity types of its corpus, for prompts.
    pub types: Vec<String>,
    /// The knowledge sources whose hints its prompts show, and their caps.
    pub knowledge: Option<(Arc<Knowledge>, HintLimits)>,
}

impl ServedIndex {
    /// Serves `index` under `name`, with the entity types of its corpus.
    pub fn new(name: impl Into<String>, index: Index) -> Self {
        let types = crate::prompt::entity_types(&index);
        ServedIndex {
            name: name.into(),
            index,
            types,
            knowledge: None,
        }
    }

    /// The same, its prompts showing hints from `knowledge` within `limits`.
    pub fn with_knowledge(self, knowledge: Knowledge, limits: HintLimits) -> Self {
        ServedIndex {
            knowledge: Some((Arc::new(knowledge), limits)),
            ..self
        }
    }
}

/// Everything the handlers share.
pub struct AppState {
    indexes: BTreeMap<String, Arc<ServedIndex>>,
    encoder: Arc<dyn Encoder>,
    limits: Limits,
    metrics: Metrics,
    /// One permit per encoder session: the blocking jobs admitted at once.
    permits: Arc<Semaphore>,
    access_log: bool,
}

impl AppState {
    /// Shared state over `indexes` (already checked against `encoder`), with
    /// `sessions` blocking jobs admitted at once.
    pub fn new(
        indexes: Vec<ServedIndex>,
        encoder: Arc<dyn Encoder>,
        sessions: usize,
        limits: Limits,
        access_log: bool,
    ) -> Self {
        let indexes = indexes
            .into_iter()
            .map(|served| (served.name.clone(), Arc::new(served)))
            .collect();
        AppState {
            indexes,
            encoder,
            limits,
            metrics: Metrics::default(),
            permits: Arc::new(Semaphore::new(sessions.max(1))),
            access_log,
        }
    }

    /// The index a request names, or the only one when it names none.
    fn index(&self, name: Option<&str>) -> Result<Arc<ServedIndex>, ApiError> {
        match name {
            Some(name) => self.indexes.get(name).cloned().ok_or_else(|| {
                ApiError::NotFound(format!("no index named {name:?}; served: {}", self.index_names()))
            }),
            None => {
                let mut all = self.indexes.values();
                match (all.next(), all.next()) {
                    (Some(only), None) => Ok(only.clone()),
                    _ => Err(ApiError::BadRequest(format!(
                        "several indexes are served ({}): name one with \"index\"",
                        self.index_names()
                    ))),
                }
            }
        }
    }

    fn index_names(&self) -> String {
        self.indexes.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// The routes, with the body limit and the access log / metrics layer.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        .route(SELECT_ROUTE, post(handlers::select))
        .route("/v1/indexes", get(handlers::indexes))
        .route("/healthz", get(handlers::healthz))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            handlers::observe,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Completes on the first SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate() => {},
    }
    eprintln!("shutting down: finishing the requests in flight");
}

#[cfg(unix)]
async fn terminate() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending().await
}
