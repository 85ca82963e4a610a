//! `exemplar pick` driven as a user would: the real encoder on NCBI-disease's
//! training sentences as an unlabelled pool (text only), the summary read from
//! `--json`, the picked file checked line by line; and the inputs it refuses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

mod common;
use common::{exemplar, failure_of, repo, scratch, skip_without_model, stdout_of};

/// The first `n` NCBI-disease training sentences (all of them for `None`),
/// one a line: the pool as a team without annotations would have it.
fn train_text(n: Option<usize>) -> (PathBuf, Vec<String>) {
    let corpus = exemplar::corpus::read(
        &repo().join("data/ncbi-disease/train.tsv"),
        exemplar::Format::Conll,
        &Default::default(),
    )
    .unwrap();
    let texts: Vec<String> = corpus
        .sentences
        .into_iter()
        .map(|s| s.text)
        .take(n.unwrap_or(usize::MAX))
        .collect();
    let path = scratch("pick").join(format!("train-{}.txt", texts.len()));
    std::fs::write(&path, texts.join("\n") + "\n").unwrap();
    (path, texts)
}

fn full_pool() -> &'static (PathBuf, Vec<String>) {
    static POOL: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();
    POOL.get_or_init(|| train_text(None))
}

fn small_pool() -> &'static (PathBuf, Vec<String>) {
    static POOL: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();
    POOL.get_or_init(|| train_text(Some(300)))
}

/// `exemplar pick` on a text pool, writing to `out`.
fn pick(pool: &Path, budget: usize, method: &str, out: &Path) -> Command {
    let mut cmd = exemplar();
    cmd.args(["pick", "--format", "text", "--input"])
        .arg(pool)
        .args(["--budget", &budget.to_string(), "--method", method, "--out"])
        .arg(out);
    cmd
}

/// Runs a pick with `--json` and returns the summary and the lines written.
fn picked(cmd: &mut Command, out: &Path) -> (Value, Vec<String>) {
    let summary: Value = serde_json::from_str(stdout_of(cmd.arg("--json")).trim()).expect("one JSON object");
    let lines = std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    (summary, lines)
}

/// Checks that `lines` are `budget` pool sentences in the pool's order.
fn assert_pool_sentences_in_order(lines: &[String], pool: &[String], budget: usize) {
    assert_eq!(lines.len(), budget);
    let mut first = HashMap::new();
    for (i, text) in pool.iter().enumerate() {
        first.entry(text.as_str()).or_insert(i);
    }
    let positions: Vec<usize> = lines
        .iter()
        .map(|line| {
            *first
                .get(line.as_str())
                .unwrap_or_else(|| panic!("not a pool sentence: {line}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "not in the pool's order: {positions:?}"
    );
}

#[test]
fn votek_covers_ncbi_train_better_than_random() {
    if skip_without_model() {
        return;
    }
    let (pool, texts) = full_pool();
    let dir = scratch("pick");
    let mut coverage = HashMap::new();
    for method in ["votek", "random"] {
        let out = dir.join(format!("{method}-100.txt"));
        let _ = std::fs::remove_file(&out);
        let (summary, lines) = picked(&mut pick(pool, 100, method, &out), &out);
        assert_pool_sentences_in_order(&lines, texts, 100);
        assert_eq!(summary["method"], method);
        assert_eq!(summary["budget"], 100);
        assert_eq!(summary["seed"], 42);
        assert_eq!(summary["pool"], texts.len());
        assert!(
            summary["distinct"].as_u64().unwrap() < texts.len() as u64,
            "NCBI train repeats sentences"
        );
        assert!(summary["embed_seconds"].as_f64().unwrap() > 0.0);
        assert!(summary["pick_seconds"].as_f64().unwrap() > 0.0);
        assert_eq!(summary["picked"].as_array().unwrap().len(), 100);
        coverage.insert(method, summary["coverage"].as_f64().unwrap());
    }
    // Measured: 0.564 against 0.521 (MiniLM); the margin leaves room for
    // another encoder without letting a tie pass.
    assert!(
        coverage["votek"] > coverage["random"] + 0.01,
        "votek {} vs random {}",
        coverage["votek"],
        coverage["random"]
    );
}

#[test]
fn the_same_seed_picks_the_same_sentences() {
    if skip_without_model() {
        return;
    }
    let (pool, texts) = small_pool();
    let dir = scratch("pick");
    let run = |method: &str, seed: &str, name: &str| {
        let out = dir.join(format!("{method}-{seed}-{name}.txt"));
        let _ = std::fs::remove_file(&out);
        let (summary, lines) = picked(pick(pool, 20, method, &out).args(["--seed", seed]), &out);
        assert_pool_sentences_in_order(&lines, texts, 20);
        (summary["coverage"].as_f64().unwrap(), lines)
    };
    for method in ["votek", "kmeans", "random"] {
        assert_eq!(run(method, "7", "a"), run(method, "7", "b"), "{method}");
    }
    assert_ne!(run("random", "7", "a").1, run("random", "8", "a").1);
    assert_ne!(run("kmeans", "7", "a").1, run("kmeans", "8", "a").1);
}

#[test]
fn repeated_sentences_are_picked_once() {
    if skip_without_model() {
        return;
    }
    let dir = scratch("pick");
    let pool = dir.join("repeated.txt");
    std::fs::write(
        &pool,
        "Familial polyposis.\nA rare tumour.\nFamilial polyposis.\nNo disease here.\n",
    )
    .unwrap();
    let out = dir.join("repeated-out.txt");
    let _ = std::fs::remove_file(&out);
    let output = pick(&pool, 3, "random", &out).arg("--json").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 repeated sentence(s)"));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (summary["pool"].as_u64(), summary["distinct"].as_u64()),
        (Some(4), Some(3))
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written, "Familial polyposis.\nA rare tumour.\nNo disease here.\n");
    // Only the distinct sentences count towards the budget.
    let refused = failure_of(&mut pick(&pool, 4, "votek", &dir.join("four.txt")));
    assert!(
        refused.contains("budget 4 is larger than the pool of 3"),
        "{refused}"
    );
}

#[test]
fn bad_inputs_are_refused_with_exit_2() {
    let dir = scratch("pick");
    let (pool, _) = small_pool();
    let out = dir.join("refused.txt");
    let _ = std::fs::remove_file(&out);
    let refused = |cmd: &mut Command, expected: &str| {
        let stderr = failure_of(cmd);
        assert!(stderr.contains(expected), "expected {expected:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    refused(&mut pick(pool, 0, "votek", &out), "the budget is 0");
    refused(
        &mut pick(pool, 301, "kmeans", &out),
        "budget 301 is larger than the pool",
    );
    refused(pick(pool, 5, "votek", &out).args(["--rho", "0.5"]), "rho");
    refused(
        pick(pool, 5, "votek", &out).args(["--neighbours", "0"]),
        "neighbour",
    );
    refused(&mut pick(pool, 5, "medoids", &out), "medoids");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    refused(&mut pick(&empty, 1, "random", &out), "no sentences");
    refused(
        &mut pick(&dir.join("missing.txt"), 1, "random", &out),
        "missing.txt",
    );
    refused(&mut pick(pool, 1, "random", &dir), "is a directory");
    refused(
        &mut pick(pool, 1, "random", &dir.join("nowhere/out.txt")),
        "does not exist",
    );
    assert!(!out.exists(), "nothing written on refusal");
}

#[test]
fn an_existing_out_is_replaced_only_with_force() {
    if skip_without_model() {
        return;
    }
    let dir = scratch("pick");
    let (pool, texts) = small_pool();
    let out = dir.join("existing.txt");
    std::fs::write(&out, "keep me\n").unwrap();
    let stderr = failure_of(&mut pick(pool, 5, "random", &out));
    assert!(stderr.contains("refusing to replace it"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me\n");
    stdout_of(pick(pool, 5, "random", &out).arg("--force"));
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_pool_sentences_in_order(&lines, texts, 5);
}
