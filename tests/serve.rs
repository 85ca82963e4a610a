//! Drives the real `exemplar serve` over HTTP on the real model (set up by
//! `scripts/setup.sh`): a server on an ephemeral loopback port, over a small
//! index of NCBI-disease training sentences built here. Answers are compared
//! with `exemplar select --json` on the same inputs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
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
        Self::spawn(exemplar().stderr(Stdio::inherit()), sessions, extra)
    }

    /// [`Server::start`] with the access log on, written to `log`.
    fn start_logging(sessions: usize, extra: &[&str], log: &Path) -> Server {
        let log = std::fs::File::create(log).unwrap();
        Self::spawn(common::binary().stderr(log), sessions, extra)
    }

    fn spawn(command: &mut Command, sessions: usize, extra: &[&str]) -> Server {
        let mut child = command
            .arg("serve")
            .arg("--index")
            .arg(index())
            .args(["--addr", "127.0.0.1:0", "--sessions", &sessions.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
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

    /// A raw connection, whose reads give up after 30 s.
    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.base.trim_start_matches("http://")).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream
    }

    /// The value of the metric line that starts with `name` (labels included).
    fn metric(&self, name: &str) -> Option<u64> {
        let (status, text) = self.get("/metrics");
        assert_eq!(status, 200, "{text}");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    /// Waits until the metric `name` reads `value`.
    fn await_metric(&self, name: &str, value: u64) {
        let started = Instant::now();
        while self.metric(name) != Some(value) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} never reached {value}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
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

/// Sends `request` on `stream` and reads one answer: status and body (the
/// body by its Content-Length).
fn exchange(stream: &mut TcpStream, request: &[u8]) -> (u16, String) {
    stream.write_all(request).expect("the request is sent");
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("a status line");
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("a header");
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("the body");
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok());
    (
        status.unwrap_or_else(|| panic!("bad status line {status_line:?}")),
        String::from_utf8(body).unwrap(),
    )
}

/// What the server sends on `stream` until it closes it, or `None` when it
/// keeps it open past the read timeout. A reset counts as a close: a server
/// that closes with unread input resets.
fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let (mut received, mut buf) = (Vec::new(), [0; 4096]);
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&received).into_owned()),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&received).into_owned())
            }
            Err(_) => return None,
        }
    }
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
    let mut server = Server::start(1, &["--shutdown-grace-secs", "120"]);
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

/// Three rounds of the load that once deadlocked the encoder's session pool
/// (a session held across a rayon call): 8 clients, each sending 32-sentence
/// batches back to back. Every request must be answered, and in time: a
/// client gives up after 60 s, so a hang fails the test instead of stalling
/// it. Rayon's pool gets 8 threads whatever the machine: the deadlock needs
/// idle workers that steal, and on 2 cores the old pool hung within seconds
/// with 8 and not in minutes with 2. Short sentences (6 words) make many
/// batches a second, each a chance for the old pool to hang: it did in each
/// of 4 runs, 3 times in the first round.
#[test]
fn sustained_batch_load_from_8_clients_is_all_answered() {
    if skip_without_model() {
        return;
    }
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 8;
    let server = Server::spawn(
        exemplar().env("RAYON_NUM_THREADS", "8").stderr(Stdio::inherit()),
        2,
        &["--timeout-secs", "30"],
    );
    let texts: Vec<String> = texts_of(&sentences_as_jsonl("devel.tsv", 32 * CLIENTS))
        .iter()
        .map(|t| t.split(' ').take(6).collect::<Vec<_>>().join(" "))
        .collect();
    let batches: Vec<Value> = texts.chunks(32).map(|c| json!({ "texts": c })).collect();
    for round in 0..3 {
        let clients: Vec<_> = batches
            .iter()
            .map(|batch| {
                let (url, batch) = (server.url("/v1/select"), batch.clone());
                std::thread::spawn(move || {
                    let agent: Agent = Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(60)))
                        .build()
                        .into();
                    for _ in 0..REQUESTS {
                        let mut response = agent.post(&url).send_json(&batch).map_err(|e| e.to_string())?;
                        let body = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
                        if response.status() != 200 {
                            return Err(format!("{}: {body}", response.status()));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for (client, thread) in clients.into_iter().enumerate() {
            let outcome = thread.join().expect("the client thread");
            assert_eq!(outcome, Ok(()), "round {round}, client {client}");
        }
    }
    let answered = (3 * CLIENTS * REQUESTS) as u64;
    assert_eq!(
        server.metric("exemplar_http_requests_total{route=\"/v1/select\",status=\"200\"}"),
        Some(answered)
    );
}

/// A POST whose body never completes: headers promise 100 bytes, 10 come.
const PARTIAL_BODY: &[u8] = b"POST /v1/select HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
    Content-Length: 100\r\n\r\n{\"text\": \"";

#[test]
fn sigterm_drops_unfinished_requests_after_the_grace_period() {
    if skip_without_model() {
        return;
    }
    let mut server = Server::start(
        1,
        &[
            "--shutdown-grace-secs",
            "2",
            "--header-timeout-secs",
            "600",
            "--body-timeout-secs",
            "600",
        ],
    );
    // One connection stops mid-head (after a first request, so it is being served) ...
    let mut half_head = server.connect();
    assert_eq!(
        exchange(&mut half_head, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"),
        (200, "ok".to_string())
    );
    half_head
        .write_all(b"POST /v1/select HTTP/1.1\r\nHost: t\r\nCont")
        .unwrap();
    // ... the other mid-body, inside the handler.
    let mut half_body = server.connect();
    half_body.write_all(PARTIAL_BODY).unwrap();
    server.await_metric("exemplar_select_in_flight", 1);

    let signalled = Instant::now();
    server.terminate();
    let exit = server.wait(Duration::from_secs(30));
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(15),
        "exited {:?} after SIGTERM, with a grace of 2 s",
        signalled.elapsed()
    );
    assert!(read_until_closed(&mut half_head).is_some());
    assert!(read_until_closed(&mut half_body).is_some());
}

#[test]
fn slow_or_idle_clients_are_cut_off_and_connections_are_capped() {
    if skip_without_model() {
        return;
    }
    let server = Server::start(
        1,
        &[
            "--header-timeout-secs",
            "2",
            "--body-timeout-secs",
            "2",
            "--max-connections",
            "2",
        ],
    );
    // A body that stops coming: 408, with a JSON error.
    let (status, body) = exchange(&mut server.connect(), PARTIAL_BODY);
    assert_eq!(status, 408, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("limit of 2 s"),
        "{error}"
    );

    // A connection that sends nothing, one that stops mid-head, and one idle
    // after an answer: closed after the header timeout. Five such holders
    // against a limit of 2: they are served two at a time, and a request
    // behind them is still answered.
    let mut silent: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    let mut half_head = server.connect();
    half_head.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    let mut idle = server.connect();
    let (status, _) = exchange(&mut idle, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(status, 200);
    assert_eq!(
        server.metric("exemplar_http_connections_open"),
        Some(2),
        "the metrics request and one holder: the others wait"
    );
    for stream in silent.iter_mut().chain([&mut half_head, &mut idle]) {
        assert_eq!(
            read_until_closed(stream).as_deref(),
            Some(""),
            "closed without an answer"
        );
    }
    server.await_metric(
        "exemplar_http_connection_errors_total{kind=\"header_timeout\"}",
        5,
    );
    assert_eq!(server.get("/healthz"), (200, "ok".to_string()));
}

#[test]
fn refusals_are_json_name_their_cause_and_are_logged_briefly() {
    if skip_without_model() {
        return;
    }
    let log = scratch("serve").join("refusals.log");
    let server = Server::start_logging(1, &[], &log);
    let post = |content_type: &str, body: &str| {
        let mut response = agent()
            .post(&server.url("/v1/select"))
            .header("Content-Type", content_type)
            .send(body)
            .expect("answers");
        let value: Value = response.body_mut().read_json().expect("a JSON body");
        (response.status().as_u16(), value)
    };

    // Empty queries.
    for (body, named) in [
        (r#"{"text": ""}"#, "\"text\" is empty"),
        (r#"{"text": "  \n"}"#, "\"text\" is empty"),
        (r#"{"texts": ["Ataxia .", ""]}"#, "\"texts[1]\" is empty"),
    ] {
        let (status, error) = server.post_raw(body);
        assert_eq!(status, 400, "{body}: {error}");
        assert!(error["error"].as_str().unwrap().contains(named), "{error}");
    }

    // Bodies not declared JSON, as a cross-origin form or text post would be.
    let json = r#"{"text": "Ataxia ."}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let (status, error) = post(content_type, json);
        assert_eq!(status, 415, "{content_type}: {error}");
        assert!(
            error["error"].as_str().unwrap().contains("application/json"),
            "{error}"
        );
    }
    assert_eq!(post("application/json; charset=utf-8", json).0, 200);

    // A known route, the wrong method.
    let mut response = agent().get(&server.url("/v1/select")).call().expect("answers");
    assert_eq!(response.status().as_u16(), 405);
    let error: Value = response.body_mut().read_json().expect("a JSON body");
    assert!(error["error"].as_str().unwrap().contains("GET"), "{error}");

    // Requests hyper refuses before routing: still answered, counted, logged.
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(70_000));
    let many_headers = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(101));
    for (request, status) in [
        (long_uri.as_str(), 414),
        (many_headers.as_str(), 431),
        ("GET / HTTP/1.1\r\nbad header\r\n\r\n", 400),
    ] {
        let mut stream = server.connect();
        stream.write_all(request.as_bytes()).unwrap();
        let answer = read_until_closed(&mut stream).expect("an answer, then a close");
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{status}: {answer:.80}"
        );
        let counter = format!("exemplar_http_requests_total{{route=\"unparsed\",status=\"{status}\"}}");
        server.await_metric(&counter, 1);
    }

    // A 60 KB method is answered and logged in a few characters.
    let method = "X".repeat(60_000);
    let (status, _) = exchange(
        &mut server.connect(),
        format!("{method} /healthz HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 405);
    drop(server);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.lines().all(|line| line.len() < 200), "a long log line");
    assert!(
        log.contains("XXXXXXXXXXXXXXXX... (60000 bytes) /healthz 405"),
        "{log}"
    );
    assert!(log.contains("- unparsed 431 ("), "{log}");
    assert!(log.contains("POST /v1/select 415"), "{log}");
}

#[test]
fn strategies_take_their_parameters_filters_and_order_and_bad_ones_are_400_naming_them() {
    if skip_without_model() {
        return;
    }
    let server = Server::start(1, &[]);
    let text = "Germline BRCA1 mutations cause breast and ovarian cancer .";
    let answer = |body: Value| {
        let (status, answer) = server.post(&body);
        assert_eq!(status, 200, "{body}: {answer}");
        answer["results"][0].clone()
    };
    // mmr at lambda 1 is k-NN, its parameters filled in and echoed.
    let knn = answer(json!({"text": text, "k": 6}));
    let mmr = answer(json!({"text": text, "k": 6, "strategy": "mmr", "params": {"lambda": 1}}));
    assert_eq!(mmr["method"]["params"], json!({"lambda": 1.0, "candidates": 64}));
    assert_same_demos(&mmr["demos"], &knn["demos"]);
    // Each as `exemplar select` with the same choices, method included.
    for (body, flags) in [
        (
            json!({"strategy": "coverage", "params": {"candidates": 24}, "order": "similar-first"}),
            vec![
                "--strategy",
                "coverage",
                "--param",
                "candidates=24",
                "--order",
                "similar-first",
            ],
        ),
        (
            json!({"strategy": "random", "seed": 7, "order": "random", "filters": {"min_entities": 1}}),
            vec![
                "--strategy",
                "random",
                "--seed",
                "7",
                "--order",
                "random",
                "--min-entities",
                "1",
            ],
        ),
        (
            json!({"strategy": "mmr", "params": {"lambda": 0.5, "candidates": 32}}),
            vec![
                "--strategy",
                "mmr",
                "--param",
                "lambda=0.5",
                "--param",
                "candidates=32",
            ],
        ),
        (
            json!({"strategy": "entity", "params": {"sources": "lexicon,ngrams", "base": "knn"}}),
            vec![
                "--strategy",
                "entity",
                "--param",
                "sources=lexicon,ngrams",
                "--param",
                "base=knn",
            ],
        ),
    ] {
        let mut request = body.clone();
        request["text"] = json!(text);
        request["k"] = json!(5);
        let served = answer(request);
        let cli = json_lines(&stdout_of(
            exemplar()
                .args(["select", "--json", "--k", "5", "--text", text, "--index"])
                .arg(index())
                .args(&flags),
        ))
        .remove(0);
        assert_eq!(served["method"], cli["method"], "{body}");
        assert_same_demos(&served["demos"], &cli["demos"]);
        let reasons = |demos: &Value| -> Vec<Value> {
            demos
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["reason"].clone())
                .collect()
        };
        assert_eq!(reasons(&served["demos"]), reasons(&cli["demos"]), "{body}");
        if body["strategy"] == "entity" {
            assert!(
                reasons(&served["demos"]).iter().any(|r| r["source"] == "lexicon"),
                "{served}"
            );
        }
    }
    let refused = [
        (json!({"strategy": "bm99"}), "unknown strategy \"bm99\""),
        (
            json!({"strategy": "mmr", "params": {"lambda": 1.5}}),
            "parameter lambda: 1.5 is outside [0, 1]",
        ),
        (
            json!({"strategy": "mmr", "params": {"candidates": 4}}),
            "parameter candidates: 4 candidates cannot give k = 16",
        ),
        (
            json!({"strategy": "mmr", "params": {"lambda": "high"}}),
            "parameter lambda: \"high\" is not a number",
        ),
        (
            json!({"strategy": "mmr", "params": {"lambda": [1]}}),
            "parameter lambda: [1] is neither a number nor a name",
        ),
        (
            json!({"params": {"lambda": 0.5}}),
            "strategy knn has no parameter \"lambda\"",
        ),
        (
            json!({"filters": {"where": {"source": "pubmed"}}}),
            "no example of the index has the field \"source\"",
        ),
        (
            json!({"filters": {"exclude_same_doc": true}}),
            "carry no document ids",
        ),
        (
            json!({"filters": {"min_entity": 1}}),
            "unknown field `min_entity`",
        ),
        (
            json!({"filters": {"min_entities": -1}}),
            "filters.min_entities: invalid value",
        ),
        (json!({"lambda": 0.5}), "unknown field `lambda`"),
        (
            json!({"strategy": "entity", "params": {"sources": "llm"}}),
            "only `exemplar run --backend URL` makes",
        ),
        (json!({"order": "sideways"}), "unknown order \"sideways\""),
    ];
    for (mut body, needle) in refused {
        body["text"] = json!(text);
        let (status, error) = server.post(&body);
        assert_eq!(status, 400, "{body}: {error}");
        assert!(
            error["error"].as_str().unwrap().contains(needle),
            "{body}: {error}"
        );
    }
    // Fewer than k to give: the demonstrations there are, and a warning saying so.
    let (status, all) = server.post(&json!({"text": text, "k": 256, "strategy": "random"}));
    assert_eq!(status, 200, "{all}");
    let warning = "the index has 200 sentences, fewer than k = 256: queries get at most 200 demonstrations";
    assert_eq!(all["warnings"], json!([warning]));
    assert!(!all["results"][0]["demos"].as_array().unwrap().is_empty());
    assert!(knn.get("warnings").is_none());
}

#[test]
fn prompts_show_the_knowledge_hints_the_server_loaded_and_a_request_can_leave_them_out() {
    use exemplar::knowledge::{HintLimits, Knowledge, SourceSpec};
    use exemplar::prompt::HINTS_HEADING;
    if skip_without_model() {
        return;
    }
    // The gazetteer of the served index, and HPO where scripts/hpo.sh put it.
    let sources = match common::hpo_obo() {
        Some(_) => "gazetteer,hpo",
        None => "gazetteer",
    };
    let server = Server::start(1, &["--knowledge", sources, "--knowledge-max-hints", "1"]);
    let (status, body) = server.get("/v1/indexes");
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    let listed = listed["indexes"][0]["knowledge"].as_array().unwrap().clone();
    assert_eq!(listed.len(), sources.split(',').count());
    assert_eq!(listed[0]["name"], "gazetteer");
    assert!(listed[0]["notice"].as_str().unwrap().starts_with("gazetteer ("));
    if let Some(hpo) = listed.get(1) {
        assert_eq!(hpo["version"], "hp/releases/2025-01-16");
        let licence = hpo["licence"].as_str().unwrap();
        assert!(licence.contains("human-phenotype-ontology.org"), "{hpo}");
        assert!(hpo["notice"].as_str().unwrap().ends_with(licence), "{hpo}");
    }

    // The hints of each query are the sources' own, capped at 1, in every pass.
    let opened = exemplar::Index::open(index()).unwrap();
    let specs = SourceSpec::parse_list(sources).unwrap();
    let knowledge = Knowledge::load(&specs, Some((&opened, index()))).unwrap();
    let limits = HintLimits {
        max_hints: 1,
        max_chars: HintLimits::default().max_chars,
    };
    // Sentences of the index itself: the gazetteer knows their mentions.
    let texts = texts_of(&sentences_as_jsonl("train.tsv", 8));
    let expected: Vec<_> = texts.iter().map(|t| knowledge.hints(t, &limits)).collect();
    assert!(expected.iter().any(|h| h.dropped > 0), "{expected:?}");
    let (status, answer) = server.post(&json!({ "texts": texts, "k": 2, "prompt": {"format": "dice"} }));
    assert_eq!(status, 200, "{answer}");
    for (result, hints) in answer["results"].as_array().unwrap().iter().zip(&expected) {
        for prompt in result["prompts"].as_array().unwrap() {
            assert_eq!(prompt["hints"], json!(hints.lines), "{prompt}");
            assert_eq!(prompt["dropped_hints"], hints.dropped);
            let listed: String = hints.lines.iter().map(|h| format!("\n- {h}")).collect();
            let text = prompt["text"].as_str().unwrap();
            assert_eq!(
                text.contains(&format!("{HINTS_HEADING}{listed}\n\n")),
                !hints.lines.is_empty(),
                "{text}"
            );
        }
    }

    // "knowledge": false renders the prompts as a server without sources does.
    let (_, answer) =
        server.post(&json!({ "texts": texts, "k": 2, "prompt": {"format": "list", "knowledge": false} }));
    for result in answer["results"].as_array().unwrap() {
        let prompt = &result["prompts"][0];
        assert!(
            prompt.get("hints").is_none() && prompt.get("dropped_hints").is_none(),
            "{prompt}"
        );
        assert!(!prompt["text"].as_str().unwrap().contains(HINTS_HEADING));
    }

    // A server without sources refuses to show hints, and names the option.
    let plain = Server::start(1, &[]);
    let (status, error) =
        plain.post(&json!({ "text": "Ataxia .", "prompt": {"format": "list", "knowledge": true} }));
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("--knowledge"),
        "{error}"
    );
    let (_, body) = plain.get("/v1/indexes");
    assert!(!body.contains("\"knowledge\""), "{body}");
}

#[test]
fn a_bad_knowledge_source_stops_the_server_at_start_naming_it() {
    if skip_without_model() {
        return;
    }
    let dir = scratch("serve");
    let broken = dir.join("broken.tsv");
    std::fs::write(&broken, "aspirin\tDrug\nibuprofen\n").unwrap();
    for (source, needle) in [
        (broken.display().to_string(), "broken.tsv".to_string()),
        (
            dir.join("missing.obo").display().to_string(),
            "missing.obo".to_string(),
        ),
        ("umls".to_string(), "\"umls\"".to_string()),
    ] {
        let stderr = common::failure_of(exemplar().arg("serve").arg("--index").arg(index()).args([
            "--addr",
            "127.0.0.1:0",
            "--knowledge",
            &source,
        ]));
        assert!(stderr.contains(&needle), "{source}: {stderr}");
    }
}
