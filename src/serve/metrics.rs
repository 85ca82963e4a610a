//! Counters for `GET /metrics`, in the Prometheus text exposition format
//! (version 0.0.4), written by hand: three metric families do not need a
//! metrics framework.
//!
//! - `exemplar_http_requests_total{route, status}`: requests answered, by
//!   route pattern (`unmatched` for unknown paths, `unparsed` for requests
//!   hyper refused before routing: 400, 414, 431) and status code;
//! - `exemplar_http_connections_open`: connections being served now;
//! - `exemplar_http_connection_errors_total{kind}`: connections closed on an
//!   error without an answer: `header_timeout` (no whole request head in
//!   time), `incomplete` (the client left mid-request), `other`;
//! - `exemplar_select_duration_seconds`: histogram of `/v1/select` latency,
//!   body read to response;
//! - `exemplar_select_in_flight`: `/v1/select` requests being served now;
//! - `exemplar_sentences_encoded_total`: query sentences embedded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The server's counters; cheap to update from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    select_latency: Histogram,
    select_in_flight: AtomicI64,
    sentences_encoded: AtomicU64,
    connections_open: AtomicI64,
    connection_errors: Mutex<BTreeMap<&'static str, u64>>,
}

#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

/// Adds one to a gauge until dropped.
pub struct InFlight<'a>(&'a AtomicI64);

impl<'a> InFlight<'a> {
    fn new(gauge: &'a AtomicI64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        InFlight(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts one answered request; `/v1/select` ones also go in the histogram.
    pub fn record(&self, route: &str, status: u16, latency: Duration) {
        self.count(route, status);
        if route == super::SELECT_ROUTE {
            self.select_latency.observe(latency);
        }
    }

    /// Counts one answered request, without a latency.
    pub fn count(&self, route: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests.entry((route.to_string(), status)).or_default() += 1;
    }

    /// Counts a `/v1/select` request as in flight while the guard lives.
    pub fn select_started(&self) -> InFlight<'_> {
        InFlight::new(&self.select_in_flight)
    }

    /// Counts a connection as open while the guard lives.
    pub fn connection_opened(&self) -> InFlight<'_> {
        InFlight::new(&self.connections_open)
    }

    /// Counts a connection closed on an error of `kind`.
    pub fn connection_failed(&self, kind: &'static str) {
        let mut errors = self.connection_errors.lock().unwrap_or_else(|p| p.into_inner());
        *errors.entry(kind).or_default() += 1;
    }

    /// Counts query sentences embedded (`exemplar_sentences_encoded_total`).
    pub fn add_encoded(&self, sentences: usize) {
        self.sentences_encoded
            .fetch_add(sentences as u64, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        self.select_latency.render(&mut out);
        scalar(
            &mut out,
            "exemplar_select_in_flight",
            "gauge",
            "/v1/select requests being served.",
            self.select_in_flight.load(Ordering::Relaxed),
        );
        scalar(
            &mut out,
            "exemplar_sentences_encoded_total",
            "counter",
            "Query sentences embedded.",
            self.sentences_encoded.load(Ordering::Relaxed),
        );
        self.render_connections(&mut out);
        out
    }

    fn render_connections(&self, out: &mut String) {
        scalar(
            out,
            "exemplar_http_connections_open",
            "gauge",
            "Connections being served.",
            self.connections_open.load(Ordering::Relaxed),
        );
        family(
            out,
            "exemplar_http_connection_errors_total",
            "counter",
            "Connections closed on an error without an answer, by kind.",
        );
        let errors = self.connection_errors.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, count) in errors.iter() {
            let _ = writeln!(
                out,
                "exemplar_http_connection_errors_total{{kind=\"{kind}\"}} {count}"
            );
        }
    }

    fn render_requests(&self, out: &mut String) {
        family(
            out,
            "exemplar_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
        );
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for ((route, status), count) in requests.iter() {
            let _ = writeln!(
                out,
                "exemplar_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
    }
}

impl Histogram {
    fn observe(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BUCKETS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        const NAME: &str = "exemplar_select_duration_seconds";
        family(out, NAME, "histogram", "Latency of /v1/select in seconds.");
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(out, "{NAME}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{NAME}_sum {sum}");
        let _ = writeln!(out, "{NAME}_count {cumulative}");
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A metric family of one unlabelled sample.
fn scalar(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_requests_and_buckets_latency_cumulatively() {
        let metrics = Metrics::default();
        metrics.record("/v1/select", 200, Duration::from_millis(3));
        metrics.record("/v1/select", 200, Duration::from_millis(40));
        metrics.record("/v1/select", 413, Duration::from_secs(60));
        metrics.record("/healthz", 200, Duration::from_micros(50));
        metrics.add_encoded(5);
        metrics.count("unparsed", 431);
        metrics.connection_failed("header_timeout");
        let _connection = metrics.connection_opened();
        let guard = metrics.select_started();
        let text = metrics.render();
        drop(guard);

        assert!(text.contains("exemplar_http_requests_total{route=\"/v1/select\",status=\"200\"} 2\n"));
        assert!(text.contains("exemplar_http_requests_total{route=\"/v1/select\",status=\"413\"} 1\n"));
        assert!(text.contains("exemplar_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"));
        assert!(text.contains("exemplar_select_duration_seconds_bucket{le=\"0.001\"} 0\n"));
        assert!(text.contains("exemplar_select_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("exemplar_select_duration_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("exemplar_select_duration_seconds_bucket{le=\"30\"} 2\n"));
        assert!(text.contains("exemplar_select_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("exemplar_select_duration_seconds_count 3\n"));
        assert!(text.contains("exemplar_select_duration_seconds_sum 60.043\n"));
        assert!(text.contains("exemplar_select_in_flight 1\n"));
        assert!(text.contains("exemplar_sentences_encoded_total 5\n"));
        assert!(text.contains("exemplar_http_requests_total{route=\"unparsed\",status=\"431\"} 1\n"));
        assert!(
            text.contains("exemplar_select_duration_seconds_count 3\n"),
            "unparsed requests have no latency"
        );
        assert!(text.contains("exemplar_http_connections_open 1\n"));
        assert!(text.contains("exemplar_http_connection_errors_total{kind=\"header_timeout\"} 1\n"));
        assert!(metrics.render().contains("exemplar_select_in_flight 0\n"));
        assert!(text.contains("# TYPE exemplar_select_duration_seconds histogram\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
