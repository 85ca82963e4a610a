//! The lexical strategies through the binary: `bm25` and `hybrid` on
//! NCBI-disease, their parameters and scores in `select --json`, filters
//! applied during the search, and BM25's agreement with Python rank-bm25
//! (scripts/bm25_reference.sh) on the same tokens.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

fn select(index: &std::path::Path, args: &[&str]) -> Vec<Value> {
    json_lines(&stdout_of(
        exemplar()
            .args(["select", "--json", "--index"])
            .arg(index)
            .args(args),
    ))
}

fn demos(selection: &Value) -> &Vec<Value> {
    selection["demos"].as_array().expect("demos")
}

fn scores(selection: &Value) -> Vec<f64> {
    demos(selection)
        .iter()
        .map(|d| d["score"].as_f64().expect("a score"))
        .collect()
}

#[test]
fn bm25_selects_sentences_sharing_the_querys_words_and_names_its_score() {
    if skip_without_model() {
        return;
    }
    let query = "Germline mutations in BRCA1 predispose to breast cancer.";
    let lines = select(ncbi_index(), &["--strategy", "bm25", "--k", "5", "--text", query]);
    let selection = &lines[0];
    assert_eq!(selection["method"]["strategy"], "bm25");
    assert_eq!(selection["method"]["params"], json!({}));
    assert_eq!(selection["score_kind"], "bm25");
    assert_eq!(demos(selection).len(), 5);
    // Most similar last: scores rise, and the best shares the rare name.
    let s = scores(selection);
    assert!(s.windows(2).all(|w| w[0] <= w[1]) && s[0] > 0.0, "{s:?}");
    let best = demos(selection)[4]["text"].as_str().unwrap().to_lowercase();
    assert!(best.contains("brca1"), "{best}");
}

#[test]
fn bm25_filters_apply_during_the_search() {
    if skip_without_model() {
        return;
    }
    let query = "Germline mutations in BRCA1 predispose to breast cancer.";
    let args = [
        "--strategy",
        "bm25",
        "--k",
        "12",
        "--min-entities",
        "3",
        "--text",
        query,
    ];
    let selection = &select(ncbi_index(), &args)[0];
    assert_eq!(
        demos(selection).len(),
        12,
        "k demonstrations although most top-scoring sentences fail the filter"
    );
    assert!(demos(selection)
        .iter()
        .all(|d| d["entities"].as_array().unwrap().len() >= 3));
}

#[test]
fn bm25_returns_k_even_when_few_sentences_share_a_word() {
    if skip_without_model() {
        return;
    }
    let selection = &select(
        small_index(),
        &["--strategy", "bm25", "--k", "6", "--text", "zyxwv qqq"],
    )[0];
    assert_eq!(
        scores(selection),
        [0.0; 6],
        "no shared word: k sentences scored 0, not an empty answer"
    );
}

#[test]
fn bad_lexical_parameters_are_clear_errors() {
    if skip_without_model() {
        return;
    }
    let fails = |args: &[&str]| {
        failure_of(
            exemplar()
                .args(["select", "--index"])
                .arg(small_index())
                .args(["--text", "fever", "--k", "4"])
                .args(args),
        )
    };
    let b = fails(&["--strategy", "bm25", "--param", "b=0.5"]);
    assert!(b.contains("takes the parameter \"b\" (bm25 takes none)"), "{b}");
    for (param, expected) in [
        ("weight=1.5", "parameter weight"),
        ("rrf_k=-1", "parameter rrf_k"),
        ("fusion=max", "not one of rrf, weighted"),
        ("candidates=2", "2 candidates cannot give k = 4"),
    ] {
        let message = fails(&["--strategy", "hybrid", "--param", param]);
        assert!(message.contains(expected), "{param}: {message}");
    }
}

#[test]
fn hybrid_fuses_dense_and_lexical_rankings() {
    if skip_without_model() {
        return;
    }
    let query = "Germline mutations in BRCA1 predispose to breast cancer.";
    let rrf = &select(
        ncbi_index(),
        &["--strategy", "hybrid", "--k", "8", "--text", query],
    )[0];
    assert_eq!(rrf["score_kind"], "rrf");
    assert_eq!(
        rrf["method"]["params"],
        json!({"candidates": 64, "fusion": "rrf", "rrf_k": 60.0, "weight": 0.5})
    );
    let s = scores(rrf);
    assert_eq!(s.len(), 8);
    assert!(s.windows(2).all(|w| w[0] <= w[1]), "{s:?}");
    assert!(
        s.iter().all(|&x| x > 0.0 && x <= 2.0 / 61.0 + 1e-6),
        "at most first in both lists: {s:?}"
    );

    let weighted_args = [
        "--strategy",
        "hybrid",
        "--k",
        "8",
        "--param",
        "fusion=weighted",
        "--param",
        "weight=1",
    ];
    let weighted = &select(ncbi_index(), &[&weighted_args[..], &["--text", query]].concat())[0];
    assert_eq!(weighted["score_kind"], "weighted");
    // weight = 1 is the cosine alone: the k-NN demonstrations.
    let knn = &select(
        ncbi_index(),
        &["--strategy", "knn", "--k", "8", "--exact", "--text", query],
    )[0];
    let texts = |s: &Value| {
        demos(s)
            .iter()
            .map(|d| d["text"].as_str().unwrap().to_string())
            .collect::<HashSet<_>>()
    };
    let shared = texts(weighted).intersection(&texts(knn)).count();
    assert!(shared >= 7, "weight=1 shares only {shared} of 8 with knn");

    let filtered = &select(
        ncbi_index(),
        &[
            "--strategy",
            "hybrid",
            "--k",
            "8",
            "--min-entities",
            "3",
            "--text",
            query,
        ],
    )[0];
    assert_eq!(demos(filtered).len(), 8);
    assert!(demos(filtered)
        .iter()
        .all(|d| d["entities"].as_array().unwrap().len() >= 3));
}

/// The sentences of an NCBI-disease split, as the index reads them (row order).
fn texts(split: &str) -> Vec<String> {
    let path = repo().join("data/ncbi-disease").join(split);
    let corpus = exemplar::corpus::read(&path, exemplar::Format::Conll, &Default::default()).unwrap();
    corpus.sentences.into_iter().map(|s| s.text).collect()
}

/// Python rank-bm25's ranking (rows, best first, `depth` of them) of each
/// query, with its own idf (`okapi`) or Lucene's (`lucene`, tantivy's).
fn reference(corpus: &[String], queries: &[String], depth: usize, idf: &str) -> Vec<Vec<usize>> {
    let tokens = |texts: &[String]| {
        texts
            .iter()
            .map(|t| exemplar::lexical::tokenize(t))
            .collect::<Vec<_>>()
    };
    let job = json!({
        "corpus": tokens(corpus), "queries": tokens(queries), "k": depth,
        "k1": exemplar::lexical::K1, "b": exemplar::lexical::B, "idf": idf,
    });
    let mut child = Command::new(repo().join(".cache/bm25-venv/bin/python"))
        .arg(repo().join("scripts/bm25_reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the reference runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    serde_json::from_value(answer["top"].clone()).unwrap()
}

/// The first `k` distinct texts of a ranking, leaving out the query itself
/// (what every strategy does).
fn distinct_top(rows: &[usize], corpus: &[String], query: &str, k: usize) -> HashSet<String> {
    let mut seen = HashSet::new();
    for &row in rows {
        let text = corpus[row].trim();
        if text != query.trim() && seen.len() < k {
            seen.insert(text.to_string());
        }
    }
    seen
}

#[test]
fn bm25_agrees_with_rank_bm25_on_ncbi_disease() {
    // The shared NCBI index is built with the encoder, though bm25 never embeds.
    if skip_without_model() || skip_without_bm25_venv() {
        return;
    }
    let k = 10;
    let corpus = texts("train.tsv");
    let queries = texts("test.tsv");
    let ours = select(
        ncbi_index(),
        &[
            "--strategy",
            "bm25",
            "--order",
            "similar-first",
            "--k",
            "10",
            "--format",
            "conll",
            "--input",
            "data/ncbi-disease/test.tsv",
        ],
    );
    assert_eq!(ours.len(), queries.len());
    let overlap = |idf: &str| {
        let theirs = reference(&corpus, &queries, 4 * k, idf);
        let mut sum = 0.0;
        for ((selection, query), rows) in ours.iter().zip(&queries).zip(&theirs) {
            let mine: HashSet<String> = demos(selection)
                .iter()
                .map(|d| d["text"].as_str().unwrap().trim().to_string())
                .collect();
            let reference = distinct_top(rows, &corpus, query, k);
            sum += mine.intersection(&reference).count() as f64 / reference.len().max(1) as f64;
        }
        sum / queries.len() as f64
    };
    // The same BM25 but for the idf: the agreement the issue asks for.
    let lucene = overlap("lucene");
    // BM25Okapi as shipped weighs words in most sentences (its idf floored at
    // a quarter of the mean) far above Lucene's idf: reported, not required.
    let okapi = overlap("okapi");
    eprintln!("top-{k} overlap with rank-bm25 over {} queries: {lucene:.4} (Lucene idf), {okapi:.4} (BM25Okapi idf)", queries.len());
    assert!(
        lucene >= 0.95,
        "top-{k} overlap with rank-bm25 (Lucene idf) is {lucene:.4}, below 0.95"
    );
}
