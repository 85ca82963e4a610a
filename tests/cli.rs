//! Drives the real `exemplar` binary on the real model (set up by
//! `scripts/setup.sh`) and real corpora: the NCBI-disease copy shipped in
//! `data/`, and `../shared/data` where a test needs more.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;
use common::{
    binary, exemplar, failure_of, failure_with, json_lines, repo, scratch, sentences_as_jsonl, stdout_of,
};

use serde_json::Value;

/// The NCBI-disease training index, built once per test run.
fn ncbi_index() -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| {
        let out = scratch("cli").join("ncbi-train");
        stdout_of(
            exemplar()
                .args([
                    "index",
                    "build",
                    "data/ncbi-disease/train.tsv",
                    "--format",
                    "conll",
                    "--out",
                ])
                .arg(&out),
        );
        out
    })
}

/// A small index over 40 NCBI-disease development sentences, written as JSONL.
fn small_index() -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = scratch("cli");
        let corpus = dir.join("small.jsonl");
        std::fs::write(&corpus, sentences_as_jsonl("devel.tsv", 40)).unwrap();
        let out = dir.join("small");
        stdout_of(
            exemplar()
                .args(["index", "build", "--format", "jsonl", "--out"])
                .arg(&out)
                .arg(&corpus),
        );
        out
    })
}

fn manifest(index: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(index.join("manifest.json")).unwrap()).unwrap()
}

/// Reads a float32 `.npy` matrix written by `exemplar embed`.
fn read_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    let shape = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let dims: Vec<usize> = shape.split(',').filter_map(|d| d.trim().parse().ok()).collect();
    let data = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect::<Vec<_>>();
    assert_eq!(data.len(), dims[0] * dims[1]);
    (dims[0], dims[1], data)
}

#[test]
fn embeddings_agree_with_the_python_reference() {
    let fixture: Value =
        serde_json::from_slice(&std::fs::read(repo().join("tests/data/reference_embeddings.json")).unwrap())
            .unwrap();
    let sentences: Vec<&str> = fixture["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let dir = scratch("cli");
    let input = dir.join("reference.txt");
    std::fs::write(&input, sentences.join("\n")).unwrap();
    let out = dir.join("reference.npy");
    let output = binary()
        .args(["embed", "--format", "text", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("truncated") && stderr.contains("reference.txt:12"),
        "{stderr}"
    );

    let (rows, dim, data) = read_npy(&out);
    assert_eq!((rows, dim), (sentences.len(), 384));
    for (i, reference) in fixture["embeddings"].as_array().unwrap().iter().enumerate() {
        let reference: Vec<f32> = reference
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let ours = &data[i * dim..(i + 1) * dim];
        let cosine: f32 = ours.iter().zip(&reference).map(|(a, b)| a * b).sum::<f32>()
            / (ours.iter().map(|a| a * a).sum::<f32>().sqrt()
                * reference.iter().map(|b| b * b).sum::<f32>().sqrt());
        assert!(cosine >= 0.999, "sentence {i}: cosine {cosine}");
    }
}

#[test]
fn hnsw_recall_at_16_on_ncbi_devel_is_at_least_0_99() {
    let stdout = stdout_of(exemplar().args(["index", "verify"]).arg(ncbi_index()).args([
        "--queries",
        "data/ncbi-disease/devel.tsv",
        "--k",
        "16",
        "--json",
    ]));
    let result = &json_lines(&stdout)[0];
    println!("{result}");
    assert_eq!(result["queries"], 923);
    assert!(result["recall"].as_f64().unwrap() >= 0.99, "{result}");
}

#[test]
fn index_info_reports_the_manifest() {
    let info = json_lines(&stdout_of(
        exemplar().args(["index", "info", "--json"]).arg(ncbi_index()),
    ))
    .remove(0);
    assert_eq!(info["format_version"], 1);
    assert_eq!(info["model"]["id"], "sentence-transformers/all-MiniLM-L6-v2");
    assert_eq!(info["model"]["dimension"], 384);
    assert_eq!(info["model"]["pooling"], "mean");
    assert_eq!(info["corpus"]["sentences"], 5424);
    assert_eq!(info["corpus"]["entities_per_type"]["Disease"], 5134);
    assert_eq!(info["hnsw"]["m"], 16);
    assert_eq!(info["hnsw"]["seed"], 42);
    for file in ["examples.bin", "vectors.f32", "graph.bin"] {
        assert_eq!(info["files"][file]["sha256"].as_str().unwrap().len(), 64);
    }
    assert_eq!(info["files"]["vectors.f32"]["bytes"], 5424 * 384 * 4);
    let human = stdout_of(exemplar().args(["index", "info"]).arg(ncbi_index()));
    assert!(
        human.contains("5134 Disease") && human.contains("m 16, ef_construction 200, seed 42"),
        "{human}"
    );
}

const QUERY: &str = "Germline mutations in BRCA1 predispose women to early-onset breast and ovarian cancer .";

fn select_json(index: &Path, extra: &[&str]) -> Vec<Value> {
    json_lines(&stdout_of(
        exemplar()
            .args(["select", "--index"])
            .arg(index)
            .args(["--json"])
            .args(extra),
    ))
}

fn demo_ids(selection: &Value) -> Vec<String> {
    selection["demos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn knn_demonstrations_put_the_most_similar_last() {
    let selection = select_json(ncbi_index(), &["--text", QUERY, "--k", "4"]).remove(0);
    assert_eq!(selection["query"]["text"], QUERY);
    let scores: Vec<f64> = selection["demos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), 4);
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    // Every entity's text is the slice of the demonstration it points at.
    for demo in selection["demos"].as_array().unwrap() {
        let chars: Vec<char> = demo["text"].as_str().unwrap().chars().collect();
        for entity in demo["entities"].as_array().unwrap() {
            let (start, end) = (
                entity["start"].as_u64().unwrap() as usize,
                entity["end"].as_u64().unwrap() as usize,
            );
            assert_eq!(
                chars[start..end].iter().collect::<String>(),
                entity["text"].as_str().unwrap()
            );
        }
    }
    let without_scores: Vec<Value> = selection["demos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::json!({"id": d["id"], "text": d["text"], "entities": d["entities"]}))
        .collect();
    insta::assert_json_snapshot!("knn_k4_brca1", without_scores);
}

#[test]
fn hnsw_and_exact_search_choose_the_same_demonstrations() {
    let dir = scratch("cli");
    let queries = dir.join("queries.jsonl");
    std::fs::write(&queries, sentences_as_jsonl("devel.tsv", 25)).unwrap();
    let args = [
        "--input",
        queries.to_str().unwrap(),
        "--format",
        "jsonl",
        "--k",
        "8",
    ];
    let approx = select_json(ncbi_index(), &args);
    let exact = select_json(ncbi_index(), &[&args[..], &["--exact"]].concat());
    assert_eq!(approx.len(), 25);
    let mut same = 0;
    for (a, e) in approx.iter().zip(&exact) {
        let (a, e) = (demo_ids(a), demo_ids(e));
        same += a.iter().filter(|id| e.contains(id)).count();
    }
    let recall = same as f64 / (25.0 * 8.0);
    println!("overlap of HNSW and exact demonstrations: {recall:.4}");
    assert!(recall >= 0.98, "{recall}");
}

#[test]
fn a_query_from_the_index_does_not_get_itself_as_a_demonstration() {
    let dir = scratch("cli");
    let queries = dir.join("own.jsonl");
    std::fs::write(&queries, sentences_as_jsonl("devel.tsv", 5)).unwrap();
    for strategy in ["knn", "random"] {
        let args = [
            "--input",
            queries.to_str().unwrap(),
            "--format",
            "jsonl",
            "--k",
            "39",
            "--strategy",
            strategy,
        ];
        for selection in select_json(small_index(), &args) {
            let own = selection["query"]["text"].as_str().unwrap();
            let texts: Vec<&str> = selection["demos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["text"].as_str().unwrap())
                .collect();
            assert!(!texts.contains(&own), "{strategy}: {own}");
            let distinct: std::collections::HashSet<_> = texts.iter().collect();
            assert_eq!(
                distinct.len(),
                texts.len(),
                "{strategy}: duplicate demonstrations"
            );
            assert_eq!(texts.len(), 39, "{strategy}: 40 sentences less the query itself");
        }
    }
}

#[test]
fn random_demonstrations_are_reproducible_from_their_seed() {
    let run = |seed: &str| {
        select_json(
            small_index(),
            &[
                "--text",
                QUERY,
                "--k",
                "5",
                "--strategy",
                "random",
                "--seed",
                seed,
            ],
        )
        .remove(0)
    };
    let first = run("7");
    assert_eq!(first, run("7"));
    assert_ne!(demo_ids(&first), demo_ids(&run("8")));
    assert!(first["demos"][0]["score"].is_null());
}

#[test]
fn two_builds_with_the_same_seed_are_identical() {
    let dir = scratch("cli");
    let corpus = dir.join("seeded.jsonl");
    std::fs::write(&corpus, sentences_as_jsonl("devel.tsv", 300)).unwrap();
    let build = |name: &str, seed: &str| {
        let out = dir.join(name);
        stdout_of(
            exemplar()
                .args(["index", "build", "--format", "jsonl", "--seed", seed, "--out"])
                .arg(&out)
                .arg(&corpus),
        );
        out
    };
    let (a, b, c) = (
        build("seed-a", "42"),
        build("seed-b", "42"),
        build("seed-c", "43"),
    );
    let graph = |index: &Path| manifest(index)["files"]["graph.bin"]["sha256"].clone();
    assert_eq!(graph(&a), graph(&b));
    assert_ne!(graph(&a), graph(&c));
    assert_eq!(manifest(&a)["files"], manifest(&b)["files"]);
    let args = ["--text", QUERY, "--k", "16"];
    assert_eq!(select_json(&a, &args), select_json(&b, &args));
}

#[test]
fn a_reloaded_index_answers_exactly_as_the_built_one() {
    use exemplar::{BuildOptions, Encoder, Index, OnnxEncoder, SearchMode};
    let encoder =
        OnnxEncoder::open(&repo().join("models/all-MiniLM-L6-v2"), &Default::default(), None).unwrap();
    let corpus = exemplar::corpus::read(
        &repo().join("data/ncbi-disease/devel.tsv"),
        exemplar::corpus::Format::Conll,
        &Default::default(),
    )
    .unwrap();
    let quiet = exemplar::progress::Quiet;
    let options = BuildOptions::default();
    let (mut built, _) =
        exemplar::pipeline::build_index(&corpus, Vec::new(), &encoder, &options, None, &quiet).unwrap();
    let dir = scratch("cli").join("reload");
    built.save(&dir).unwrap();
    let reloaded = Index::open(&dir).unwrap();
    let queries = encoder
        .embed(&[QUERY, "Huntington disease onset", "fever and headache"])
        .unwrap();
    for query in &queries.vectors {
        for mode in [SearchMode::Hnsw { ef: None }, SearchMode::Exact] {
            assert_eq!(built.search(query, 16, mode), reloaded.search(query, 16, mode));
        }
    }
}

#[test]
fn brat_documents_are_indexed_by_sentence() {
    let batch = repo().join("../shared/data/medqa-usmle-symp/batch1");
    if !batch.is_dir() {
        println!("skipped: {} is absent", batch.display());
        return;
    }
    let out = scratch("cli").join("medqa-batch1");
    let info = json_lines(&stdout_of(
        exemplar()
            .args(["index", "build", "--format", "brat", "--json", "--out"])
            .arg(&out)
            .arg(&batch),
    ))
    .remove(0);
    assert!(info["corpus"]["sentences"].as_u64().unwrap() > 65, "{info}");
    assert_eq!(info["corpus"]["entities_per_type"]["Sign_or_Symptom"], 168);
    let selection = select_json(
        &out,
        &["--text", "She has fever and headache for a week.", "--k", "3"],
    )
    .remove(0);
    assert!(demo_ids(&selection).iter().all(|id| id.contains(".txt:")));
}

// ---- bad input: a clear message naming the file (and line), exit 1, nothing lost ----

/// Builds from `content` into the existing small index's directory and checks
/// that the build fails with `expected` in the message and the index is untouched.
fn assert_build_refused(file_name: &str, content: &[u8], format: &str, expected: &[&str]) {
    let index = small_index();
    let before = std::fs::read(index.join("manifest.json")).unwrap();
    let dir = scratch("cli").join(format!("bad-{file_name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join(file_name);
    std::fs::write(&input, content).unwrap();
    if format == "brat" {
        std::fs::write(input.with_extension("txt"), "Fever and cough.").unwrap();
    }
    let source = if format == "brat" {
        input.with_extension("txt")
    } else {
        input.clone()
    };
    let stderr = failure_of(
        exemplar()
            .args(["index", "build", "--format", format, "--out"])
            .arg(index)
            .arg(&source),
    );
    for needle in expected {
        assert!(
            stderr.contains(needle),
            "{file_name}: expected {needle:?} in {stderr}"
        );
    }
    assert_eq!(
        std::fs::read(index.join("manifest.json")).unwrap(),
        before,
        "the index was modified"
    );
    exemplar::Index::open(index).expect("the existing index still opens");
}

#[test]
fn a_conll_line_without_a_tag_is_refused() {
    assert_build_refused(
        "notag.tsv",
        b"Fever\tO\ncough\n\n",
        "conll",
        &["notag.tsv:2", "token<TAB>tag"],
    );
}

#[test]
fn an_inside_tag_without_a_beginning_is_refused() {
    assert_build_refused(
        "orphan.tsv",
        b"Severe\tO\nfever\tI-Disease\n\n",
        "conll",
        &["orphan.tsv:2", "--scheme iob1"],
    );
}

#[test]
fn a_brat_span_outside_the_text_is_refused() {
    assert_build_refused(
        "doc.ann",
        b"T1\tSign 0 5\tFever\nT2\tSign 10 99\tcough\n",
        "brat",
        &["doc.ann:2", "--skip-invalid-spans"],
    );
}

#[test]
fn an_empty_corpus_is_refused() {
    assert_build_refused("empty.tsv", b"", "conll", &["empty.tsv", "no sentences"]);
}

#[test]
fn non_utf8_bytes_are_refused_with_their_line() {
    assert_build_refused(
        "latin1.tsv",
        b"Fever\tO\n\nSj\xf6gren\tB-Disease\n\n",
        "conll",
        &["latin1.tsv:3", "UTF-8"],
    );
}

#[test]
fn a_missing_model_file_is_named() {
    let empty_model = scratch("cli").join("empty-model");
    std::fs::create_dir_all(&empty_model).unwrap();
    let stderr = failure_with(
        exemplar()
            .args(["select", "--index"])
            .arg(small_index())
            .args(["--text", QUERY, "--model"])
            .arg(&empty_model),
        3,
    );
    assert!(
        stderr.contains("model.onnx") && stderr.contains("setup.sh"),
        "{stderr}"
    );
}

#[test]
fn an_overlong_sentence_is_truncated_with_a_warning() {
    let long = "The patient developed hereditary nonpolyposis colorectal cancer . ".repeat(60);
    let output = binary()
        .args(["select", "--index"])
        .arg(small_index())
        .args(["--text", &long, "--k", "3", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("truncated") && stderr.contains("256"), "{stderr}");
    assert_eq!(
        json_lines(&String::from_utf8_lossy(&output.stdout))[0]["demos"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn an_index_built_with_another_model_is_refused() {
    // The same weights read with another maximum length give other vectors.
    let stderr = failure_of(exemplar().args(["select", "--index"]).arg(small_index()).args([
        "--text",
        QUERY,
        "--max-length",
        "128",
    ]));
    assert!(
        stderr.contains("cannot be used")
            && stderr.contains("max length 256")
            && stderr.contains("max length 128"),
        "{stderr}"
    );
}

/// Copies the small index and damages one file with `damage`.
fn damaged_copy(name: &str, damage: impl FnOnce(&Path)) -> PathBuf {
    let copy = scratch("cli").join(format!("damaged-{name}"));
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(small_index()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    damage(&copy);
    copy
}

#[test]
fn damaged_indexes_are_refused_without_panicking() {
    let truncated = damaged_copy("truncated", |dir| {
        let path = dir.join("vectors.f32");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    });
    let altered = damaged_copy("altered", |dir| {
        let path = dir.join("graph.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    });
    let missing = damaged_copy("missing", |dir| {
        std::fs::remove_file(dir.join("examples.bin")).unwrap()
    });
    let future = damaged_copy("future", |dir| {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).unwrap().replacen(
            "\"format_version\": 1",
            "\"format_version\": 99",
            1,
        );
        std::fs::write(&path, text).unwrap();
    });
    let cases = [
        (truncated, vec!["damaged", "vectors.f32", "truncated"]),
        (altered, vec!["damaged", "graph.bin", "checksum"]),
        (missing, vec!["damaged", "examples.bin"]),
        (future, vec!["cannot be used", "format version 99"]),
    ];
    for (index, expected) in cases {
        for command in [vec!["index", "info"], vec!["select", "--text", QUERY, "--index"]] {
            let stderr = failure_of(exemplar().args(&command).arg(&index));
            for needle in &expected {
                assert!(
                    stderr.contains(needle),
                    "{}: expected {needle:?} in {stderr}",
                    index.display()
                );
            }
        }
    }
}

#[test]
fn select_needs_a_query() {
    let output = exemplar()
        .args(["select", "--index"])
        .arg(small_index())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--text"));
}

#[test]
fn an_interrupted_build_resumes_and_gives_the_same_index() {
    let out = scratch("cli").join("interrupted");
    let partial = scratch("cli").join(".interrupted.partial");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("exemplar"))
        .current_dir(repo())
        .args([
            "--quiet",
            "index",
            "build",
            "data/ncbi-disease/train.tsv",
            "--format",
            "conll",
            "--out",
        ])
        .arg(&out)
        .spawn()
        .unwrap();
    let rows = partial.join("rows.f32");
    let two_chunks = 2 * 256 * 384 * 4;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::fs::metadata(&rows).map_or(0, |m| m.len()) < two_chunks {
        assert!(std::time::Instant::now() < deadline, "the build made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the build ended before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "a killed build must not leave an index");

    let output = exemplar()
        .args([
            "index",
            "build",
            "data/ncbi-disease/train.tsv",
            "--format",
            "conll",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("resumed an interrupted build"), "{stderr}");
    assert!(
        !partial.exists(),
        "the checkpoint is removed after a successful build"
    );
    assert_eq!(
        manifest(&out)["files"],
        manifest(ncbi_index())["files"],
        "same index as an uninterrupted build"
    );
}

// ---- few-shot NER end to end against a real llama-server ----

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

/// A server for one test, or `None` (with a message) where llama-server is
/// not installed and this is not CI; in CI its absence fails the test. Each
/// test owns its server so that it is stopped when the test ends (a shared
/// static one would outlive the test process).
fn llama() -> Option<LlamaServer> {
    if !repo().join(".cache/llama/bin/llama-server").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "llama-server missing: scripts/test.sh installs it"
        );
        println!("skipped: run scripts/llama.sh install (scripts/test.sh does)");
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
    let path = scratch("cli").join(format!("ncbi-test-{n}.jsonl"));
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
    let out = scratch("cli").join("run-e2e");
    let cache = scratch("cli").join("run-e2e-cache.jsonl");
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

#[test]
fn an_interrupted_run_resumes_from_the_cache_and_gives_the_same_report() {
    let Some(server) = llama() else { return };
    let test = ncbi_test_slice(8);
    let cache = scratch("cli").join("resume-cache.jsonl");
    let _ = std::fs::remove_file(&cache);
    let first = scratch("cli").join("resume-first");
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

    let second = scratch("cli").join("resume-second");
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
    let test = ncbi_test_slice(3);
    let out = scratch("cli").join("dry-run");
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
    let answers_file = scratch("cli").join("batch-output.jsonl");
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let test = ncbi_test_slice(2);
    let out = scratch("cli").join("down");
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
                scratch("cli").join("down-cache.jsonl").to_str().unwrap(),
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
                scratch("cli").join("http-error").to_str().unwrap(),
                "--cache",
                scratch("cli").join("http-error-cache.jsonl").to_str().unwrap(),
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
    let empty = scratch("cli").join("empty-test.jsonl");
    std::fs::write(&empty, "").unwrap();
    let stderr = failure_of(&mut run_command(
        small_index(),
        &empty,
        &[
            "--dry-run",
            "--out",
            scratch("cli").join("empty-run").to_str().unwrap(),
        ],
    ));
    assert!(
        stderr.contains("empty-test.jsonl") && stderr.contains("no sentences"),
        "{stderr}"
    );
}

#[test]
fn test_types_missing_from_the_index_are_reported() {
    let test = scratch("cli").join("chemicals.jsonl");
    std::fs::write(
        &test,
        r#"{"text": "Aspirin reduced fever .", "entities": [{"start": 0, "end": 7, "type": "Chemical"}]}"#,
    )
    .unwrap();
    let out = scratch("cli").join("unseen");
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
