//! Helpers shared by the integration test binaries (each binary compiles this
//! module on its own and uses part of it, hence the `dead_code` allowance).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

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

/// The NCBI-disease training index, built once per test run.
pub fn ncbi_index() -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| {
        let out = scratch("indexes").join("ncbi-train");
        stdout_of(exemplar().args(TRAIN_INDEX_BUILD).arg(&out));
        out
    })
}

/// The arguments that index the NCBI-disease training split, less the output directory.
pub const TRAIN_INDEX_BUILD: [&str; 6] = [
    "index",
    "build",
    "data/ncbi-disease/train.tsv",
    "--format",
    "conll",
    "--out",
];

/// A small index over 40 NCBI-disease development sentences, written as JSONL.
pub fn small_index() -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| jsonl_index("devel.tsv", 40))
}

/// Builds an index over the first `n` sentences of an NCBI-disease split,
/// written as JSONL, and returns its directory.
pub fn jsonl_index(split: &str, n: usize) -> PathBuf {
    let dir = scratch("indexes");
    let name = format!("{}-{n}", split.trim_end_matches(".tsv"));
    let corpus = dir.join(format!("{name}.jsonl"));
    std::fs::write(&corpus, sentences_as_jsonl(split, n)).unwrap();
    let out = dir.join(name);
    build_jsonl_index(&corpus, &out);
    out
}

/// Builds the index `out` of the JSONL `corpus` with the real encoder.
pub fn build_jsonl_index(corpus: &Path, out: &Path) {
    stdout_of(
        exemplar()
            .args(["index", "build", "--format", "jsonl", "--out"])
            .arg(out)
            .arg(corpus),
    );
}

pub fn manifest(index: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(index.join("manifest.json")).unwrap()).unwrap()
}

/// Copies of `index`, each with one file damaged, and what the refusal of
/// each must say: vectors cut short, a flipped byte in the graph, the examples
/// missing, a format version from the future.
pub fn damaged_copies(index: &Path) -> Vec<(PathBuf, Vec<&'static str>)> {
    let copy = |name: &str, damage: &dyn Fn(&Path)| {
        let copy = scratch("damaged").join(name);
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(index).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        damage(&copy);
        copy
    };
    let truncated = copy("truncated", &|dir| {
        let path = dir.join("vectors.f32");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    });
    let altered = copy("altered", &|dir| {
        let path = dir.join("graph.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    });
    let missing = copy("missing", &|dir| {
        std::fs::remove_file(dir.join("examples.bin")).unwrap()
    });
    let future = copy("future", &|dir| {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).unwrap().replacen(
            "\"format_version\": 2",
            "\"format_version\": 99",
            1,
        );
        std::fs::write(&path, text).unwrap();
    });
    vec![
        (truncated, vec!["damaged", "vectors.f32", "truncated"]),
        (altered, vec!["damaged", "graph.bin", "checksum"]),
        (missing, vec!["damaged", "examples.bin"]),
        (
            future,
            vec!["cannot be used", "format version 99", "exemplar index build"],
        ),
    ]
}

/// Whether a test must stop for want of something (`missing` says what):
/// prints `skipped: <why>, run scripts/test.sh` and returns true. Under
/// scripts/test.sh (EXEMPLAR_FULL_TESTS set), where every test must run, it
/// fails the test instead.
fn skip(missing: Option<String>) -> bool {
    let Some(why) = missing else { return false };
    assert!(
        std::env::var_os("EXEMPLAR_FULL_TESTS").is_none(),
        "{why}: scripts/test.sh sets it up and runs every test"
    );
    // Straight to stderr: libtest captures print!/eprint! of passing tests.
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    let _ = writeln!(std::io::stderr(), "skipped: {why}, run scripts/test.sh ({test})");
    true
}

/// True (after saying so) where the sentence encoder or ONNX Runtime that
/// scripts/setup.sh installs is missing, looked for as the binary does.
pub fn skip_without_model() -> bool {
    use exemplar::encoder::{default_models_dir, ModelDir, DEFAULT_MODEL_NAME};
    let model = default_models_dir().join(DEFAULT_MODEL_NAME).join("model.onnx");
    let missing = match ModelDir::onnxruntime_library(None) {
        _ if !model.is_file() => Some(format!("no sentence encoder at {}", model.display())),
        Ok(library) if library.is_file() => None,
        Ok(library) => Some(format!("no ONNX Runtime library at {}", library.display())),
        Err(e) => Some(format!("no ONNX Runtime library ({e})")),
    };
    skip(missing)
}

/// True (after saying so) where the llama-server build or the Gemma model that
/// `scripts/llama.sh install` puts in place is missing.
pub fn skip_without_llama_server() -> bool {
    let llama = repo().join(".cache/llama");
    let missing = [llama.join("bin/llama-server"), llama.join("models/gemma.gguf")]
        .into_iter()
        .find(|p| !p.is_file());
    skip(missing.map(|p| format!("no {}", p.display())))
}

/// True (after saying so) where the venv with Python rank-bm25 that
/// `scripts/bm25_reference.sh --setup` creates is missing.
pub fn skip_without_bm25_venv() -> bool {
    let python = repo().join(".cache/bm25-venv/bin/python");
    skip((!python.is_file()).then(|| format!("no {}", python.display())))
}

/// True (after saying so) where the venv with the peer libraries that
/// `scripts/peers.sh --setup` creates is missing.
pub fn skip_without_peers_venv() -> bool {
    let python = repo().join(".cache/peers-venv/bin/python");
    skip((!python.is_file()).then(|| format!("no {}", python.display())))
}

/// The shared real corpora (`../shared/data` beside the repository, or
/// `$EXEMPLAR_SHARED_DATA` where a checkout lies elsewhere), or `None` after
/// saying the test is skipped.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("EXEMPLAR_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data"));
    let missing = (!dir.is_dir()).then(|| format!("no shared corpora at {}", dir.display()));
    (!skip(missing)).then_some(dir)
}

/// The Human Phenotype Ontology that `scripts/hpo.sh` links at
/// `.cache/hpo/hp.obo`, or `None` after saying the test is skipped.
pub fn hpo_obo() -> Option<PathBuf> {
    let path = repo().join(".cache/hpo/hp.obo");
    let missing = (!path.is_file()).then(|| format!("no {} (scripts/hpo.sh)", path.display()));
    (!skip(missing)).then_some(path)
}
