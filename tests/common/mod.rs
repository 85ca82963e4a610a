//! Helpers shared by the integration test binaries (each binary compiles this
//! module on its own and uses part of it, hence the `dead_code` allowance).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary, run from the repository root so `models/` is found.
pub fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_exemplar"));
    cmd.current_dir(repo());
    cmd
}

/// [`binary`] without progress bars and notes on stderr.
pub fn exemplar() -> Command {
    let mut cmd = binary();
    cmd.arg("--quiet");
    cmd
}

/// Runs a command that must succeed and returns its stdout.
pub fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().expect("runs");
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

/// Runs a command that must fail cleanly on bad input (exit 2, not a panic)
/// and returns its stderr.
pub fn failure_of(cmd: &mut Command) -> String {
    failure_with(cmd, 2)
}

/// Runs a command that must fail cleanly with exit `code` (1: a check not met,
/// 2: bad input, 3: an environment or internal fault) and returns its stderr.
pub fn failure_with(cmd: &mut Command, code: i32) -> String {
    let output = cmd.output().expect("runs");
    assert_eq!(
        output.status.code(),
        Some(code),
        "expected a clean failure with exit {code}, got {:?}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One JSON value per line of `stdout`.
pub fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A directory of this test process under cargo's temporary directory.
pub fn scratch(prefix: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first `n` sentences of an NCBI-disease split, as JSONL with their entities.
pub fn sentences_as_jsonl(split: &str, n: usize) -> String {
    let corpus = exemplar::corpus::read(
        &repo().join("data/ncbi-disease").join(split),
        exemplar::Format::Conll,
        &Default::default(),
    )
    .unwrap();
    corpus
        .sentences
        .iter()
        .take(n)
        .map(|s| json!({ "text": s.text, "entities": s.entities }).to_string() + "\n")
        .collect()
}
