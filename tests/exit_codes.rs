//! The documented exit codes, each produced by the real binary: 0 success,
//! 1 a check not met, 2 bad input or usage, 3 an environment fault; and a
//! closed standard output (`exemplar ... | head -1`) ends quietly with 0.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

mod common;
use common::{exemplar, failure_of, failure_with, jsonl_index, skip_without_model};

/// An index over 60 NCBI-disease training sentences.
fn index() -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| jsonl_index("train.tsv", 60))
}

#[test]
fn a_check_not_met_exits_1() {
    if skip_without_model() {
        return;
    }
    // No search reaches a recall above 1: the check cannot be met.
    failure_with(
        exemplar().args(["index", "verify"]).arg(index()).args([
            "--queries",
            "data/ncbi-disease/devel.tsv",
            "--k",
            "4",
            "--min-recall",
            "1.01",
        ]),
        1,
    );
}

#[test]
fn bad_input_and_usage_exit_2() {
    if skip_without_model() {
        return;
    }
    let stderr = failure_of(
        exemplar()
            .args(["select", "--index"])
            .arg(index())
            .args(["--text", "x", "--k", "0"]),
    );
    assert!(stderr.contains("--k"), "{stderr}");
    let stderr = failure_of(exemplar().args(["select", "--index", "/no/such/index", "--text", "x"]));
    assert!(stderr.contains("/no/such/index"), "{stderr}");
    // clap's own usage errors use the same code.
    failure_of(exemplar().args(["select", "--no-such-flag"]));
}

#[test]
fn a_missing_runtime_exits_3() {
    if skip_without_model() {
        return;
    }
    let stderr = failure_with(
        exemplar().args(["select", "--index"]).arg(index()).args([
            "--text",
            "fever",
            "--ort-lib",
            "/no/such/libonnxruntime.so",
        ]),
        3,
    );
    assert!(stderr.contains("/no/such/libonnxruntime.so"), "{stderr}");
}

#[test]
fn a_reader_that_stops_early_ends_the_program_quietly_with_success() {
    if skip_without_model() {
        return;
    }
    // Random selection needs no encoder, so the output starts at once and is
    // far larger than a pipe's buffer: the writes after `head` stopped reading
    // meet a closed pipe.
    let mut child = exemplar()
        .args(["select", "--index"])
        .arg(index())
        .args([
            "--strategy",
            "random",
            "--k",
            "16",
            "--json",
            "--input",
            "data/ncbi-disease/train.tsv",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut first)
        .expect("one line");
    // The reader is dropped here, closing the pipe, as `head -1` does.
    let output = child.wait_with_output().expect("exits");
    assert!(first.starts_with('{'), "{first}");
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn an_operating_system_error_is_said_once() {
    let stderr =
        failure_of(exemplar().args(["embed", "--input", "data", "--format", "conll", "--out", "x.npy"]));
    assert_eq!(stderr.matches("Is a directory").count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: data: "), "{stderr}");
}
