//! Drives the real `exemplar` binary on the real model (set up by
//! `scripts/setup.sh`) and real corpora: the NCBI-disease copy shipped in
//! `data/`, and `../shared/data` where a test needs more. Without the model
//! each test says it is skipped (a failure under scripts/test.sh); the
//! few-shot runs against an LLM are in tests/llm.rs, and what needs no model
//! in tests/library.rs.

use std::path::Path;

mod common;
use common::{
    binary, damaged_copies, exemplar, failure_of, failure_with, json_lines, manifest, ncbi_index, repo,
    scratch, sentences_as_jsonl, skip_without_model, small_index, stdout_of, TRAIN_INDEX_BUILD,
};

use serde_json::Value;

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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
    let info = json_lines(&stdout_of(
        exemplar().args(["index", "info", "--json"]).arg(ncbi_index()),
    ))
    .remove(0);
    assert_eq!(info["format_version"], 2);
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
    use exemplar::{BuildOptions, Encoder, Index, OnnxEncoder, SearchMode};
    let model = exemplar::encoder::default_models_dir().join(exemplar::encoder::DEFAULT_MODEL_NAME);
    let encoder = OnnxEncoder::open(&model, &Default::default(), None).unwrap();
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
    assert_build_refused(
        "notag.tsv",
        b"Fever\tO\ncough\n\n",
        "conll",
        &["notag.tsv:2", "token<TAB>tag"],
    );
}

#[test]
fn an_inside_tag_without_a_beginning_is_refused() {
    if skip_without_model() {
        return;
    }
    assert_build_refused(
        "orphan.tsv",
        b"Severe\tO\nfever\tI-Disease\n\n",
        "conll",
        &["orphan.tsv:2", "--scheme iob1"],
    );
}

#[test]
fn a_brat_span_outside_the_text_is_refused() {
    if skip_without_model() {
        return;
    }
    assert_build_refused(
        "doc.ann",
        b"T1\tSign 0 5\tFever\nT2\tSign 10 99\tcough\n",
        "brat",
        &["doc.ann:2", "--skip-invalid-spans"],
    );
}

#[test]
fn an_empty_corpus_is_refused() {
    if skip_without_model() {
        return;
    }
    assert_build_refused("empty.tsv", b"", "conll", &["empty.tsv", "no sentences"]);
}

#[test]
fn non_utf8_bytes_are_refused_with_their_line() {
    if skip_without_model() {
        return;
    }
    assert_build_refused(
        "latin1.tsv",
        b"Fever\tO\n\nSj\xf6gren\tB-Disease\n\n",
        "conll",
        &["latin1.tsv:3", "UTF-8"],
    );
}

#[test]
fn a_missing_model_file_is_named() {
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
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

#[test]
fn damaged_indexes_are_refused_without_panicking() {
    if skip_without_model() {
        return;
    }
    for (index, expected) in damaged_copies(small_index()) {
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
    if skip_without_model() {
        return;
    }
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
    if skip_without_model() {
        return;
    }
    let out = scratch("cli").join("interrupted");
    let partial = scratch("cli").join(".interrupted.partial");
    let mut child = exemplar().args(TRAIN_INDEX_BUILD).arg(&out).spawn().unwrap();
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

    let output = exemplar().args(TRAIN_INDEX_BUILD).arg(&out).output().unwrap();
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
