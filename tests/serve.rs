//! Drives the real `exemplar serve` over HTTP on the real model (set up by
//! `scripts/setup.sh`): a server on an ephemeral loopback port, over a small
//! index of NCBI-disease training sentences built here. Answers are compared
//! with `exemplar select --json` on the same inputs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use ureq::Agent;

mod common;
use common::{exemplar, json_lines, jsonl_index, scratch, sentences_as_jsonl, skip_without_model, stdout_of};

fn texts_of(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// An index over the first 200 training sentences, built once per test run.
fn index() -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| jsonl_index("train.tsv", 200))
}

/// A running `exemplar serve`, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts a server with `sessions` encoder sessions and `extra` options.
    fn start(sessions: usize, extra: &[&str]) -> Server {
        let mut child = exemplar()
            .arg("serve")
            .arg("--index")
            .arg(index())
            .args(["--addr", "127.0.0.1:0", "--sessions", &sessions.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut line).expect("a first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Server { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut response = agent().get(&self.url(path)).call().expect("answers");
        let body = response.body_mut().read_to_string().expect("a text body");
        (response.status().as_u16(), body)
    }

    fn post(&self, body: &Value) -> (u16, Value) {
        self.post_raw(&body.to_string())
    }

    fn post_raw(&self, body: &str) -> (u16, Value) {
        let mut response = agent()
            .post(&self.url("/v1/select"))
            .content_type("application/json")
            .send(body)
            .expect("answers");
        let value = response.body_mut().read_json().expect("a JSON body");
        (response.status().as_u16(), value)
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that reads error statuses as answers.
fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// Demonstrations equal up to float noise in the scores.
fn assert_same_demos(served: &Value, cli: &Value) {
    let (served, cli) = (served.as_array().unwrap(), cli.as_array().unwrap());
    assert_eq!(served.len(), cli.len());
    for (s, c) in served.iter().zip(cli) {
        assert_eq!(s["id"], c["id"]);
        assert_eq!(s["text"], c["text"]);
        assert_eq!(s["entities"], c["entities"]);
        match (s["score"].as_f64(), c["score"].as_f64()) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-5, "scores {a} and {b}"),
            (a, b) => assert_eq!(a, b),
        }
    }
}

#[test]
fn selections_equal_exemplar_select_and_prompts_are_rendered() {
    if skip_without_model() {
        return;
    }
    let server = Server::start(2, &[]);
    let dir = scratch("serve");

    // One sentence, defaults: as `select --text`.
    let text = "Germline BRCA1 mutations cause breast and ovarian cancer .";
    let (status, answer) = server.post(&json!({ "text": text }));
    assert_eq!(status, 200, "{answer}");
    let cli = json_lines(&stdout_of(
        exemplar()
            .arg("select")
            .arg("--index")
            .arg(index())
            .args(["--text", text, "--json"]),
    ));
    assert_eq!(answer["results"].as_array().unwrap().len(), 1);
    assert_eq!(answer["results"][0]["query"], cli[0]["query"]);
    assert_eq!(answer["results"][0]["demos"].as_array().unwrap().len(), 16);
    assert_same_demos(&answer["results"][0]["demos"], &cli[0]["demos"]);
    assert!(answer["results"][0].get("prompts").is_none());

    // A batch (including a sentence of the index itself), as `select --input`.
    let mut queries = sentences_as_jsonl("devel.tsv", 12);
    queries.push_str(&sentences_as_jsonl("train.tsv", 1));
    let input = dir.join("queries.jsonl");
    std::fs::write(&input, &queries).unwrap();
    let texts = texts_of(&queries);
    let name = index().file_name().unwrap().to_str().unwrap();
    let (status, answer) = server.post(&json!({ "texts": texts, "k": 8, "index": name }));
    assert_eq!(status, 200, "{answer}");
    let cli = json_lines(&stdout_of(
        exemplar()
            .arg("select")
            .arg("--index")
            .arg(index())
            .arg("--input")
            .arg(&input)
            .args(["--format", "jsonl", "--k", "8", "--json"]),
    ));
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), texts.len());
    for (i, (served, cli)) in results.iter().zip(&cli).enumerate() {
        assert_eq!(served["query"]["id"], format!("texts[{i}]"));
        assert_eq!(served["query"]["text"], cli["query"]["text"]);
        assert_same_demos(&served["demos"], &cli["demos"]);
    }
    let last = results.last().unwrap();
    assert!(
        last["demos"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["text"] != last["query"]["text"]),
        "a sentence of the index never gets itself back"
    );

    // Random, seeded, and exact search: as the command line's.
    for (options, flags) in [
        (
            json!({ "strategy": "random", "seed": 7, "k": 5 }),
            vec!["--strategy", "random", "--seed", "7", "--k", "5"],
        ),
        (json!({ "exact": true, "k": 4 }), vec!["--exact", "--k", "4"]),
    ] {
        let mut request = options.clone();
        request["texts"] = json!(texts[..3]);
        let (status, answer) = server.post(&request);
        assert_eq!(status, 200, "{answer}");
        let cli = json_lines(&stdout_of(
            exemplar()
                .arg("select")
                .arg("--index")
                .arg(index())
                .arg("--input")
                .arg(&input)
                .args(["--format", "jsonl", "--json"])
                .args(&flags),
        ));
        for (served, cli) in answer["results"].as_array().unwrap().iter().zip(&cli) {
            assert_same_demos(&served["demos"], &cli["demos"]);
        }
    }

    // Prompts: one per pass, each ending with the query.
    let (status, answer) = server.post(&json!({ "text": text, "k": 2, "prompt": {"format": "list"} }));
    assert_eq!(status, 200, "{answer}");
    let result = &answer["results"][0];
    let prompts = result["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0]["type"], Value::Null);
    let prompt = prompts[0]["text"].as_str().unwrap();
    assert!(prompt.ends_with(&format!("Input: {text}\nOutput:\n")), "{prompt}");
    for demo in result["demos"].as_array().unwrap() {
        assert!(prompt.contains(&format!("Input: {}\n", demo["text"].as_str().unwrap())));
    }
    let (_, answer) = server.post(&json!({ "text": text, "k": 2, "prompt": {"format": "gpt-ner"} }));
    let types: Vec<&str> = answer["results"][0]["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Disease"], "one pass per entity type of the index");
}

#[test]
fn health_indexes_metrics_and_refusals() {
    if skip_without_model() {
        return;
    }
    let server = Server::start(2, &["--max-batch", "8"]);
    assert_eq!(server.get("/healthz"), (200, "ok".to_string()));

    let (status, body) = server.get("/v1/indexes");
    assert_eq!(status, 200);
    let indexes: Value = serde_json::from_str(&body).unwrap();
    let name = index().file_name().unwrap().to_str().unwrap();
    assert_eq!(indexes["indexes"][0]["name"], name);
    assert_eq!(indexes["indexes"][0]["manifest"]["corpus"]["sentences"], 200);

    let (status, _) = server.post(&json!({ "texts": ["Cystic fibrosis .", "Ataxia ."] }));
    assert_eq!(status, 200);

    // Over the 1 MiB default body limit.
    let big = json!({ "text": "x".repeat((1 << 20) + 1000) }).to_string();
    let (status, error) = server.post_raw(&big);
    assert_eq!(status, 413, "{error}");
    assert!(error["error"].as_str().unwrap().contains("limit"), "{error}");

    let (status, error) = server.post_raw("{\"text\": \"unterminated");
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap().starts_with("invalid request"),
        "{error}"
    );

    let (status, error) = server.post(&json!({ "text": "a", "index": "no-such-index" }));
    assert_eq!(status, 404);
    assert!(
        error["error"].as_str().unwrap().contains("no-such-index"),
        "{error}"
    );

    let (status, error) = server.post(&json!({ "texts": vec!["Ataxia ."; 9] }));
    assert_eq!(status, 413);
    assert!(error["error"].as_str().unwrap().contains("limit is 8"), "{error}");

    let (status, error) = server.post(&json!({ "text": "a", "k": 257 }));
    assert_eq!(status, 400);
    assert!(error["error"].as_str().unwrap().contains("k must be"), "{error}");

    let (status, body) = server.get("/no/such/route");
    assert_eq!(status, 404, "{body}");

    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    for line in [
        "exemplar_http_requests_total{route=\"/healthz\",status=\"200\"} 1",
        "exemplar_http_requests_total{route=\"/v1/indexes\",status=\"200\"} 1",
        "exemplar_http_requests_total{route=\"/v1/select\",status=\"200\"} 1",
        "exemplar_http_requests_total{route=\"/v1/select\",status=\"400\"} 2",
        "exemplar_http_requests_total{route=\"/v1/select\",status=\"404\"} 1",
        "exemplar_http_requests_total{route=\"/v1/select\",status=\"413\"} 2",
        "exemplar_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
        "exemplar_select_duration_seconds_count 6",
        "exemplar_select_duration_seconds_bucket{le=\"+Inf\"} 6",
        "exemplar_select_in_flight 0",
        "exemplar_sentences_encoded_total 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "no {line:?} in\n{metrics}");
    }
    assert!(metrics.contains("# TYPE exemplar_select_duration_seconds histogram"));
}

/// A request that takes seconds with one session: 64 long sentences, 64
/// demonstrations each by exact search, with prompts.
fn slow_request() -> Value {
    let long: Vec<String> = texts_of(&sentences_as_jsonl("devel.tsv", 64))
        .iter()
        .map(|t| format!("{t} {t} {t} {t}"))
        .collect();
    json!({ "texts": long, "k": 64, "exact": true, "prompt": {"format": "dice"} })
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    if skip_without_model() {
        return;
    }
    let mut server = Server::start(1, &[]);
    let (url, request) = (server.url("/v1/select"), slow_request());
    let in_flight = std::thread::spawn(move || {
        let mut response = agent().post(&url).send_json(&request).expect("answered");
        let body: Value = response.body_mut().read_json().expect("a JSON body");
        (response.status().as_u16(), body)
    });

    let started = Instant::now();
    while !server.get("/metrics").1.contains("exemplar_select_in_flight 1") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the request never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        !in_flight.is_finished(),
        "the request ended before SIGTERM could be sent"
    );
    server.terminate();

    let (status, body) = in_flight.join().expect("the client thread");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 64);
    let exit = server.wait(Duration::from_secs(60));
    assert_eq!(exit.code(), Some(0), "{exit:?}");
}

#[test]
fn a_request_over_the_time_limit_gets_503_and_the_server_goes_on() {
    if skip_without_model() {
        return;
    }
    let server = Server::start(1, &["--timeout-secs", "1"]);
    let (status, error) = server.post(&slow_request());
    assert_eq!(status, 503, "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("limit of 1 s"),
        "{error}"
    );
    assert_eq!(server.get("/healthz"), (200, "ok".to_string()));
}
