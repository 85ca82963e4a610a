//! Few-shot NER end to end: `exemplar run` against a real llama-server
//! (Gemma 3 270M, installed by `scripts/llama.sh install`), dry runs with
//! batch answers read back, and a backend that is down or answers errors, on
//! the real sentence encoder and the NCBI-disease copy in `data/`. Without the
//! model or llama-server each test says it is skipped (a failure under
//! scripts/test.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{
    exemplar, failure_of, failure_with, hpo_obo, json_lines, ncbi_index, repo, scratch,
    skip_without_llama_server, skip_without_model, small_index, stdout_of,
};

use serde_json::Value;

/// A llama-server started for the tests (Gemma 3 270M, one thread), stopped on drop.
struct LlamaServer {
    port: u16,
}

impl LlamaServer {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new(repo().join("scripts/llama.sh"))
            .args(["stop", "--port", &self.port.to_string()])
            .output();
    }
}

/// A server for one test, or `None` (after saying why) where the model or
/// llama-server is missing. Each test owns its server so that it is stopped
/// when the test ends (a shared static one would outlive the test process).
fn llama() -> Option<LlamaServer> {
    if skip_without_model() || skip_without_llama_server() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = std::process::Command::new(repo().join("scripts/llama.sh"))
        .args([
            "start",
            "--model",
            "gemma",
            "--threads",
            "1",
            "--port",
            &port.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "llama-server did not start: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(LlamaServer { port })
}

/// Gold and predicted spans of a run, read back from the files it wrote.
fn strict_counts(gold: &[Value], predicted: &[Value]) -> (usize, usize, usize) {
    let spans = |record: &Value| -> std::collections::HashSet<(u64, u64, String)> {
        record["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["start"].as_u64().unwrap(),
                    e["end"].as_u64().unwrap(),
                    e["type"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (mut tp, mut npred, mut ngold) = (0, 0, 0);
    for (g, p) in gold.iter().zip(predicted) {
        let (g, p) = (spans(g), spans(p));
        tp += g.intersection(&p).count();
        npred += p.len();
        ngold += g.len();
    }
    (tp, npred, ngold)
}

fn f1(tp: usize, npred: usize, ngold: usize) -> f64 {
    let p = if npred == 0 { 0.0 } else { tp as f64 / npred as f64 };
    let r = if ngold == 0 { 0.0 } else { tp as f64 / ngold as f64 };
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// The first `n` NCBI-disease test sentences as JSONL with their gold entities.
fn ncbi_test_slice(n: usize) -> PathBuf {
    let path = scratch("llm").join(format!("ncbi-test-{n}.jsonl"));
    let corpus = exemplar::corpus::read(
        &repo().join("data/ncbi-disease/test.tsv"),
        exemplar::Format::Conll,
        &Default::default(),
    )
    .unwrap();
    let lines: String = corpus
        .sentences
        .iter()
        .take(n)
        .map(|s| serde_json::json!({"id": s.id, "text": s.text, "entities": s.entities}).to_string() + "\n")
        .collect();
    std::fs::write(&path, lines).unwrap();
    path
}

/// `exemplar run` with `index`, a JSONL `test` corpus and further `options`.
fn run_command(index: &Path, test: &Path, options: &[&str]) -> Command {
    let mut cmd = exemplar();
    cmd.args(["run", "--index"])
        .arg(index)
        .arg("--test")
        .arg(test)
        .args(["--format", "jsonl"])
        .args(options);
    cmd
}

fn run_args(server: &str, test: &Path, out: &Path, cache: &Path) -> Vec<String> {
    [
        "run",
        "--index",
        ncbi_index().to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--format",
        "jsonl",
        "--prompt",
        "tanl",
        "--strategy",
        "knn,random",
        "--k",
        "4",
        "--max-tokens",
        "96",
        "--concurrency",
        "1",
        "--backend",
        server,
        "--out",
        out.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn few_shot_ner_end_to_end_with_a_real_llm() {
    let Some(server) = llama() else { return };
    let test = ncbi_test_slice(6);
    let out = scratch("llm").join("run-e2e");
    let cache = scratch("llm").join("run-e2e-cache.jsonl");
    let _ = std::fs::remove_file(&cache);
    let report = json_lines(&stdout_of(exemplar().args(run_args(
        &server.url(),
        &test,
        &out,
        &cache,
    ))))
    .remove(0);

    let gold: Vec<Value> = json_lines(&std::fs::read_to_string(&test).unwrap());
    for (i, strategy) in ["knn", "random"].iter().enumerate() {
        let row = &report["strategies"][i];
        assert_eq!(row["strategy"], *strategy);
        assert_eq!(row["requests"], 6);
        let predicted =
            json_lines(&std::fs::read_to_string(out.join(strategy).join("predictions.jsonl")).unwrap());
        assert_eq!(predicted.len(), 6);
        // Recompute strict micro F1 from the written predictions, not from the report.
        let (tp, npred, ngold) = strict_counts(&gold, &predicted);
        let reported = row["scores"]["strict"]["micro"]["f1"].as_f64().unwrap();
        assert!(
            (reported - f1(tp, npred, ngold)).abs() < 1e-9,
            "{strategy}: report {reported}, recomputed {}",
            f1(tp, npred, ngold)
        );
        // And `exemplar eval` agrees on the same files.
        let eval = json_lines(&stdout_of(
            exemplar()
                .args(["eval", "--format", "jsonl", "--gold"])
                .arg(&test)
                .arg("--pred")
                .arg(out.join(strategy).join("predictions.jsonl"))
                .arg("--json"),
        ))
        .remove(0);
        assert_eq!(eval["strict"], row["scores"]["strict"]);
        // Every exchange is logged with its prompt and raw answer.
        let log = json_lines(&std::fs::read_to_string(out.join(strategy).join("log.jsonl")).unwrap());
        assert_eq!(log.len(), 6);
        assert!(log
            .iter()
            .all(|e| e["answer"].is_string() && e["request"]["input"]["completion"].is_string()));
        assert!(
            std::fs::read_to_string(out.join(strategy).join("predictions.conll"))
                .unwrap()
                .lines()
                .count()
                > 6
        );
    }
    let comparison = &report["comparisons"][0];
    assert_eq!(
        (comparison["first"].as_str(), comparison["second"].as_str()),
        (Some("knn"), Some("random"))
    );
    assert!(comparison["low"].as_f64().unwrap() <= comparison["difference"].as_f64().unwrap());
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("| knn |") && markdown.contains("| random |"),
        "{markdown}"
    );
}

/// A k-NN run of four test sentences with knowledge `options` against
/// `server`: its report and its log.
fn knowledge_run(server: &LlamaServer, name: &str, options: &[&str]) -> (Value, Vec<Value>) {
    let test = ncbi_test_slice(4);
    let out = scratch("llm").join(name);
    let cache = scratch("llm").join(format!("{name}-cache.jsonl"));
    let _ = std::fs::remove_file(&cache);
    let mut command = run_command(ncbi_index(), &test, options);
    command
        .args([
            "--strategy",
            "knn",
            "--prompt",
            "list",
            "--max-tokens",
            "64",
            "--concurrency",
            "1",
        ])
        .args(["--backend", &server.url(), "--json", "--out"])
        .arg(&out)
        .arg("--cache")
        .arg(&cache);
    let report = json_lines(&stdout_of(&mut command)).remove(0);
    let arm = report["strategies"][0]["name"].as_str().unwrap().to_string();
    assert_eq!(arm == "zero-shot", report["settings"]["k"] == 0);
    let log = json_lines(&std::fs::read_to_string(out.join(arm).join("log.jsonl")).unwrap());
    assert_eq!(report["strategies"][0]["requests"], 4);
    assert_eq!(log.len(), 4);
    for exchange in &log {
        assert!(exchange["answer"].is_string(), "{exchange}");
        let prompt = exchange["request"]["input"]["completion"].as_str().unwrap();
        for hint in exchange["hints"].as_array().into_iter().flatten() {
            assert!(
                prompt.contains(&format!("\n- {}", hint.as_str().unwrap())),
                "{prompt}"
            );
        }
    }
    let shown: usize = log
        .iter()
        .map(|e| e["hints"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(shown > 0, "no hint in any prompt");
    assert_eq!(report["strategies"][0]["hints"].as_u64().unwrap() as usize, shown);
    (report, log)
}

#[test]
fn zero_shot_with_the_gazetteer_end_to_end_with_a_real_llm() {
    let Some(server) = llama() else { return };
    let (report, log) = knowledge_run(&server, "gazetteer-k0", &["--knowledge", "gazetteer", "--k", "0"]);
    assert!(log.iter().all(|e| e["demos"].as_array().unwrap().is_empty()));
    assert_eq!(report["settings"]["k"], 0);
    assert_eq!(report["knowledge"][0]["name"], "gazetteer");
    assert_eq!(report["knowledge"][0]["sha256"], report["demonstrations_sha256"]);
}

#[test]
fn hpo_hints_on_top_of_knn_end_to_end_with_a_real_llm() {
    if hpo_obo().is_none() {
        return;
    }
    let Some(server) = llama() else { return };
    let (report, log) = knowledge_run(&server, "hpo-k8", &["--knowledge", "hpo", "--k", "8"]);
    assert!(log
        .iter()
        .all(|e| e["demos"].as_array().unwrap().len() + e["dropped_demos"].as_u64().unwrap() as usize == 8));
    let source = &report["knowledge"][0];
    assert_eq!(
        (source["name"].as_str(), source["version"].as_str()),
        (Some("HPO"), Some("hp/releases/2025-01-16"))
    );
    assert!(source["licence"]
        .as_str()
        .unwrap()
        .contains("human-phenotype-ontology.org"));
    let markdown = std::fs::read_to_string(scratch("llm").join("hpo-k8/report.md")).unwrap();
    assert!(markdown.contains("Hints from HPO ("), "{markdown}");
}

#[test]
fn an_interrupted_run_resumes_from_the_cache_and_gives_the_same_report() {
    let Some(server) = llama() else { return };
    let test = ncbi_test_slice(8);
    let cache = scratch("llm").join("resume-cache.jsonl");
    let _ = std::fs::remove_file(&cache);
    let first = scratch("llm").join("resume-first");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exemplar"))
        .current_dir(repo())
        .arg("--quiet")
        .args(run_args(&server.url(), &test, &first, &cache))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let answered = || std::fs::read_to_string(&cache).map_or(0, |c| c.lines().count());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while answered() < 5 {
        assert!(std::time::Instant::now() < deadline, "no answers arrived");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before_kill = answered();
    assert!(done_before_kill < 16, "killed too late to test resuming");

    let output = exemplar()
        .args(run_args(&server.url(), &test, &first, &cache))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{done_before_kill} answers from the cache, {} generated",
        16 - done_before_kill
    );
    assert!(stderr.contains(&expected), "expected {expected:?} in {stderr}");
    assert_eq!(answered(), 16, "no request was made twice");

    let second = scratch("llm").join("resume-second");
    let output = exemplar()
        .args(run_args(&server.url(), &test, &second, &cache))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("16 answers from the cache, 0 generated"));
    let report = |dir: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
    };
    assert_eq!(report(&first)["strategies"], report(&second)["strategies"]);
}

#[test]
fn a_dry_run_writes_batch_requests_whose_answers_can_be_read_back() {
    if skip_without_model() {
        return;
    }
    let test = ncbi_test_slice(3);
    let out = scratch("llm").join("dry-run");
    stdout_of(&mut run_command(
        ncbi_index(),
        &test,
        &[
            "--strategy",
            "knn",
            "--k",
            "2",
            "--prompt",
            "list",
            "--dry-run",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let requests = json_lines(&std::fs::read_to_string(out.join("knn/requests.jsonl")).unwrap());
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0]["url"], "/v1/completions");
    assert!(requests[0]["body"]["prompt"]
        .as_str()
        .unwrap()
        .ends_with("Output:\n"));
    // Answers made elsewhere: a correct one, a malformed one and a prose one.
    let gold = json_lines(&std::fs::read_to_string(&test).unwrap());
    let first_mention = gold[0]["entities"][0].clone();
    let mention = gold[0]["text"]
        .as_str()
        .unwrap()
        .chars()
        .skip(first_mention["start"].as_u64().unwrap() as usize)
        .take((first_mention["end"].as_u64().unwrap() - first_mention["start"].as_u64().unwrap()) as usize)
        .collect::<String>();
    let answers = [
        format!("Disease: {mention}"),
        "Disease - - : :".to_string(),
        "I cannot help with that: sorry".to_string(),
    ];
    let batch: String = requests
        .iter()
        .zip(&answers)
        .map(|(r, a)| {
            serde_json::json!({"custom_id": r["custom_id"], "response": {"body": {"choices": [{"text": a}]}}})
                .to_string()
                + "\n"
        })
        .collect();
    let answers_file = scratch("llm").join("batch-output.jsonl");
    std::fs::write(&answers_file, batch).unwrap();
    let report = json_lines(&stdout_of(&mut run_command(
        ncbi_index(),
        &test,
        &[
            "--strategy",
            "knn",
            "--k",
            "2",
            "--prompt",
            "list",
            "--answers",
            answers_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    )))
    .remove(0);
    let row = &report["strategies"][0];
    assert!(
        row["scores"]["strict"]["per_type"]["Disease"]["correct"]
            .as_u64()
            .unwrap()
            >= 1,
        "{row}"
    );
    assert!(row["unparseable"].as_u64().unwrap() >= 1, "{row}");
}

#[test]
fn a_backend_that_is_down_fails_clearly_after_its_retries() {
    if skip_without_model() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let test = ncbi_test_slice(2);
    let out = scratch("llm").join("down");
    let stderr = failure_with(
        &mut run_command(
            small_index(),
            &test,
            &[
                "--strategy",
                "random",
                "--k",
                "2",
                "--retries",
                "2",
                "--backend",
                &format!("http://127.0.0.1:{port}"),
                "--out",
                out.to_str().unwrap(),
                "--cache",
                scratch("llm").join("down-cache.jsonl").to_str().unwrap(),
            ],
        ),
        3,
    );
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("after 3 attempts"),
        "{stderr}"
    );
}

#[test]
fn an_http_error_body_is_reported() {
    if skip_without_model() {
        return;
    }
    // A stand-in server that always answers 400 with an OpenAI-style error body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(4) {
            let mut stream = stream.unwrap();
            let mut buffer = [0u8; 65536];
            let _ = stream.read(&mut buffer);
            let body =
                r#"{"error": {"message": "the model is not loaded", "type": "invalid_request_error"}}"#;
            let _ = write!(stream, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    let test = ncbi_test_slice(1);
    let stderr = failure_with(
        &mut run_command(
            small_index(),
            &test,
            &[
                "--strategy",
                "random",
                "--k",
                "2",
                "--backend",
                &format!("http://127.0.0.1:{port}"),
                "--out",
                scratch("llm").join("http-error").to_str().unwrap(),
                "--cache",
                scratch("llm").join("http-error-cache.jsonl").to_str().unwrap(),
            ],
        ),
        3,
    );
    assert!(
        stderr.contains("HTTP 400")
            && stderr.contains("the model is not loaded")
            && stderr.contains("after 1 attempt"),
        "{stderr}"
    );
}

#[test]
fn an_empty_test_file_is_refused() {
    if skip_without_model() {
        return;
    }
    let empty = scratch("llm").join("empty-test.jsonl");
    std::fs::write(&empty, "").unwrap();
    let stderr = failure_of(&mut run_command(
        small_index(),
        &empty,
        &[
            "--dry-run",
            "--out",
            scratch("llm").join("empty-run").to_str().unwrap(),
        ],
    ));
    assert!(
        stderr.contains("empty-test.jsonl") && stderr.contains("no sentences"),
        "{stderr}"
    );
}

#[test]
fn test_types_missing_from_the_index_are_reported() {
    if skip_without_model() {
        return;
    }
    let test = scratch("llm").join("chemicals.jsonl");
    std::fs::write(
        &test,
        r#"{"text": "Aspirin reduced fever .", "entities": [{"start": 0, "end": 7, "type": "Chemical"}]}"#,
    )
    .unwrap();
    let out = scratch("llm").join("unseen");
    let output = run_command(
        ncbi_index(),
        &test,
        &[
            "--strategy",
            "random",
            "--dry-run",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot be predicted: Chemical"), "{stderr}");
}

/// `exemplar run --knowledge-candidates llm` of four sentences, zero-shot with
/// the gazetteer, against `server`: its report, its log and its stderr.
fn candidates_run(
    server: &LlamaServer,
    test: &Path,
    out: &Path,
    cache: &Path,
) -> (Value, Vec<Value>, String) {
    let options = [
        "--knowledge",
        "gazetteer",
        "--knowledge-candidates",
        "llm",
        "--k",
        "0",
        "--prompt",
        "list",
        "--max-tokens",
        "64",
        "--concurrency",
        "1",
    ];
    let (report, stderr) = json_run(server, test, out, cache, &options);
    let log = json_lines(&std::fs::read_to_string(out.join("zero-shot/log.jsonl")).unwrap());
    (report, log, stderr)
}

/// `exemplar run --json` over the NCBI-disease index with `options` against
/// `server`, answers cached in `cache`: the report and stderr.
fn json_run(
    server: &LlamaServer,
    test: &Path,
    out: &Path,
    cache: &Path,
    options: &[&str],
) -> (Value, String) {
    let output = run_command(ncbi_index(), test, options)
        .args(["--backend", &server.url(), "--json", "--out"])
        .arg(out)
        .arg("--cache")
        .arg(cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (serde_json::from_slice(&output.stdout).unwrap(), stderr)
}

#[test]
fn llm_candidates_take_a_cached_first_request_end_to_end_with_a_real_llm() {
    use exemplar::knowledge::{gazetteer, HintLimits, Knowledge};
    use exemplar::prompt::candidates;
    let Some(server) = llama() else { return };
    let test = ncbi_test_slice(4);
    let out = scratch("llm").join("candidates");
    let cache = scratch("llm").join("candidates-cache.jsonl");
    let _ = std::fs::remove_file(&cache);
    let (report, log, stderr) = candidates_run(&server, &test, &out, &cache);
    assert!(
        stderr.contains("0 answers from the cache, 8 generated"),
        "{stderr}"
    );
    assert_eq!(report["settings"]["knowledge"]["candidates"], "llm");
    assert_eq!(report["first_pass"]["requests"], 4);
    assert_eq!(report["strategies"][0]["requests"], 4);

    // Each prompt's hints are the gazetteer's for the candidates read from its logged first answer.
    let index = exemplar::Index::open(ncbi_index()).unwrap();
    let knowledge = Knowledge::new(vec![Box::new(gazetteer::of_index(&index, ncbi_index()))]).unwrap();
    let sentences = json_lines(&std::fs::read_to_string(&test).unwrap());
    let cached: String = std::fs::read_to_string(&cache).unwrap();
    let mut unparseable = 0;
    for (exchange, sentence) in log.iter().zip(&sentences) {
        let text = sentence["text"].as_str().unwrap();
        let first = &exchange["first_pass"];
        let read = candidates::parse(first["answer"].as_str().unwrap(), text);
        assert_eq!(first["read"], serde_json::to_value(&read).unwrap());
        unparseable += usize::from(read.unparseable());
        let spans: Vec<(usize, usize)> = read.found.iter().map(|c| (c.start, c.end)).collect();
        let hints = knowledge
            .candidate_hints(text, &spans, &HintLimits::default())
            .lines;
        let shown = exchange.get("hints").cloned().unwrap_or_default();
        assert_eq!(
            shown.as_array().cloned().unwrap_or_default(),
            serde_json::json!(hints).as_array().unwrap().clone(),
            "{exchange}"
        );
        for key in [&first["key"], &exchange["key"]] {
            assert!(cached.contains(key.as_str().unwrap()), "{key} not cached");
        }
    }
    assert_eq!(report["first_pass"]["unparseable"], unparseable);

    // The same run again asks nothing: both passes come from the cache.
    let (again, _, stderr) = candidates_run(&server, &test, &scratch("llm").join("candidates-again"), &cache);
    assert!(
        stderr.contains("8 answers from the cache, 0 generated"),
        "{stderr}"
    );
    assert_eq!(again["strategies"], report["strategies"]);
    assert_eq!(again["first_pass"], report["first_pass"]);
}

/// `exemplar run` of knn and two-pass entity retrieval (its candidates the
/// spans of a knn first pass) on four sentences: report, logs by arm, stderr.
fn entity_run(
    server: &LlamaServer,
    test: &Path,
    out: &Path,
    cache: &Path,
) -> (Value, [Vec<Value>; 2], String) {
    let options = [
        "--prompt",
        "tanl",
        "--k",
        "4",
        "--strategy",
        "knn,entity",
        "--param",
        "sources=llm",
        "--param",
        "first-pass=knn",
        "--max-tokens",
        "96",
        "--concurrency",
        "1",
        "--no-prompt-cache",
    ];
    let (report, stderr) = json_run(server, test, out, cache, &options);
    let log = |arm: &str| json_lines(&std::fs::read_to_string(out.join(arm).join("log.jsonl")).unwrap());
    (report, [log("knn"), log("entity")], stderr)
}

#[test]
fn two_pass_entity_retrieval_looks_up_the_first_pass_spans_end_to_end_with_a_real_llm() {
    let Some(server) = llama() else { return };
    let test = ncbi_test_slice(4);
    let out = scratch("llm").join("entity-two-pass");
    let cache = scratch("llm").join("entity-two-pass-cache.jsonl");
    let _ = std::fs::remove_file(&cache);
    let (report, [knn, entity], stderr) = entity_run(&server, &test, &out, &cache);
    // The first pass is the knn arm's own requests: asked once, then taken from the cache.
    assert!(
        stderr.contains("4 answers from the cache, 8 generated"),
        "{stderr}"
    );
    assert_eq!(report["first_pass"]["pass"], "first-pass");
    assert_eq!(report["first_pass"]["requests"], 4);
    assert_eq!(report["settings"]["no_prompt_cache"], true);
    let method = &report["settings"]["methods"][1];
    assert_eq!(
        (
            method["params"]["sources"].as_str(),
            method["params"]["first_pass"].as_str()
        ),
        (Some("llm"), Some("knn"))
    );
    let cached = std::fs::read_to_string(&cache).unwrap();
    let sentences = json_lines(&std::fs::read_to_string(&test).unwrap());
    for ((first, second), sentence) in knn.iter().zip(&entity).zip(&sentences) {
        let pass = &second["first_pass"];
        assert_eq!(pass["key"], first["key"], "the first pass is knn's request");
        assert_eq!(pass["answer"], first["answer"]);
        // What was read: the text of each span knn's answer gave, once each.
        let text = sentence["text"].as_str().unwrap();
        let mut spans: Vec<String> = Vec::new();
        for span in first["spans"].as_array().unwrap() {
            let (start, end) = (
                span["start"].as_u64().unwrap() as usize,
                span["end"].as_u64().unwrap() as usize,
            );
            let mention: String = text.chars().skip(start).take(end - start).collect();
            if !spans.contains(&mention) {
                spans.push(mention);
            }
        }
        assert_eq!(pass["read"], serde_json::json!(spans), "{second}");
        for key in [&pass["key"], &second["key"]] {
            assert!(cached.contains(key.as_str().unwrap()), "{key} not cached");
        }
    }

    // Again: every request of both passes (4 + 2 × 4 lookups) comes from the cache.
    let (again, _, stderr) = entity_run(
        &server,
        &test,
        &scratch("llm").join("entity-two-pass-again"),
        &cache,
    );
    assert!(
        stderr.contains("12 answers from the cache, 0 generated"),
        "{stderr}"
    );
    assert_eq!(again["strategies"], report["strategies"]);
    assert_eq!(again["first_pass"], report["first_pass"]);
}
