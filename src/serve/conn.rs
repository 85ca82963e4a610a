//! Accepting and serving connections: hyper's HTTP/1 on each TCP connection
//! (what `axum::serve` does), with the limits `axum::serve` leaves out: a
//! deadline for each request head, a cap on open connections, and a deadline
//! for graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::AppState;

/// What the server allows each connection, and itself when stopping.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Longest a client may take to send a request head, counted from when
    /// the server waits for one: from the accept, and after each answer on a
    /// kept-alive connection, so it is also the longest a connection may sit
    /// idle. Past it the connection is closed (hyper sends no answer).
    pub header_timeout: Duration,
    /// Most connections served at once; further ones wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// After SIGTERM, how long the requests in flight get before the
    /// remaining connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves the routes over `state` on `listener` until `shutdown` completes;
/// then stops accepting, lets the requests in flight finish for at most
/// `limits.shutdown_grace`, drops the connections left and returns.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let app = super::router(state.clone());
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, slot) = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &slots) => match accepted {
                Some(accepted) => accepted,
                None => continue,
            },
        };
        while connections.try_join_next().is_some() {}
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone())));
        let state = state.clone();
        connections.spawn(async move {
            let _slot = slot;
            let _open = state.metrics.connection_opened();
            if let Err(error) = connection.await {
                record_failure(&state, &error);
            }
        });
    }
    drop(listener);
    let grace = limits.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        while connections.try_join_next().is_some() {}
        eprintln!(
            "shutdown: {} connection(s) still open after {} s: closing them",
            connections.len(),
            grace.as_secs()
        );
    }
    connections.shutdown().await;
}

/// The next connection, once fewer than the limit are open; `None` after an
/// accept error. An error that is not the client's (out of file descriptors)
/// is logged and followed by a pause, so that the loop does not spin.
async fn accept(listener: &TcpListener, slots: &Arc<Semaphore>) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    // The semaphore is never closed.
    let slot = slots.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => {
            // Answers are written whole: no reason to wait for more.
            let _ = stream.set_nodelay(true);
            Some((stream, slot))
        }
        Err(error) => {
            use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
            if !matches!(
                error.kind(),
                ConnectionAborted | ConnectionRefused | ConnectionReset
            ) {
                eprintln!("cannot accept a connection: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            None
        }
    }
}

/// Counts and logs a connection that hyper ended with an error: a request it
/// refused before any route saw it (400, 414, 431: counted under the route
/// `unparsed`), a head not sent in time, a client gone mid-request.
fn record_failure(state: &AppState, error: &hyper::Error) {
    let status = refused_status(error);
    match status {
        Some(status) => state.metrics.count(UNPARSED, status),
        None => state.metrics.connection_failed(failure_kind(error)),
    }
    if state.access_log {
        match status {
            Some(status) => eprintln!("- {UNPARSED} {status} ({error})"),
            None => eprintln!("connection closed: {error}"),
        }
    }
}

/// The route label of requests hyper refused before routing.
pub const UNPARSED: &str = "unparsed";

/// The label of a connection error in `exemplar_http_connection_errors_total`.
fn failure_kind(error: &hyper::Error) -> &'static str {
    if error.is_timeout() {
        "header_timeout"
    } else if error.is_incomplete_message() {
        "incomplete"
    } else {
        "other"
    }
}

/// The status hyper answered a request it could not parse with, before any
/// route saw it (`None`: hyper closed the connection without an answer).
fn refused_status(error: &hyper::Error) -> Option<u16> {
    if error.is_parse_too_large() {
        // hyper tells the two apart only in its message.
        Some(if error.to_string().contains("URI too long") {
            414
        } else {
            431
        })
    } else if error.is_parse() && !error.is_parse_version_h2() {
        Some(400)
    } else {
        None
    }
}
