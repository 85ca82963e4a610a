//! Trying to break the CLI: a wrong `--out`, an index replaced while it is
//! read, tampered vectors, byte-order marks, empty sentences, queries and
//! entity types. Drives the real binary on the real model and the shipped
//! NCBI-disease data.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

mod common;
use common::{
    exemplar, failure_of, json_lines, scratch, sentences_as_jsonl, skip_without_model, small_index, stdout_of,
};

/// A fresh, empty directory of this test run.
fn fresh(name: &str) -> PathBuf {
    let dir = scratch("robustness").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn build(corpus: &Path, format: &str, out: &Path) -> std::process::Command {
    let mut cmd = exemplar();
    cmd.args(["index", "build", "--format", format, "--out"])
        .arg(out)
        .arg(corpus);
    cmd
}

// ---- a wrong --out is refused before any work, and touches nothing ----

#[test]
fn build_refuses_to_write_over_a_file_even_its_own_corpus() {
    let dir = fresh("out-file");
    let corpus = dir.join("train.jsonl");
    let content = sentences_as_jsonl("devel.tsv", 5);
    std::fs::write(&corpus, &content).unwrap();
    let other = dir.join("notes.txt");
    std::fs::write(&other, "keep me").unwrap();
    for out in [&corpus, &other] {
        let stderr = failure_of(&mut build(&corpus, "jsonl", out));
        assert!(
            stderr.contains("is not a directory") && stderr.contains("refusing to replace it"),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&corpus).unwrap(), content);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep me");
    assert_eq!(
        names(&dir),
        ["notes.txt", "train.jsonl"],
        "nothing left beside them"
    );
}

#[test]
fn build_refuses_a_directory_of_other_things_before_opening_the_model() {
    let dir = fresh("out-dir");
    let corpus = dir.join("train.jsonl");
    std::fs::write(&corpus, sentences_as_jsonl("devel.tsv", 5)).unwrap();
    let out = dir.join("results");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("report.md"), "keep me").unwrap();
    // A missing model would fail with exit 3: the refusal comes first.
    let stderr = failure_of(build(&corpus, "jsonl", &out).args(["--model", "/no/such/model"]));
    assert!(stderr.contains("is not an exemplar index"), "{stderr}");
    assert_eq!(names(&dir), ["results", "train.jsonl"], "no .results.partial");
    assert_eq!(names(&out), ["report.md"]);
}

// ---- readers see the old index or the new one, never nothing ----

#[test]
fn readers_never_miss_the_index_while_it_is_rebuilt() {
    if skip_without_model() {
        return;
    }
    let dir = fresh("swap");
    let corpus = dir.join("train.jsonl");
    std::fs::write(&corpus, sentences_as_jsonl("devel.tsv", 20)).unwrap();
    let index = dir.join("index");
    stdout_of(&mut build(&corpus, "jsonl", &index));

    let stop = AtomicBool::new(false);
    let (reads, misses) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let (mut reads, mut misses) = (0usize, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = std::fs::read(index.join("manifest.json")) {
                    misses.push(format!("manifest.json: {e}"));
                }
                if reads % 50 == 0 {
                    if let Err(e) = exemplar::Index::open(&index) {
                        misses.push(format!("Index::open: {e}"));
                    }
                }
                reads += 1;
            }
            (reads, misses)
        });
        for _ in 0..3 {
            stdout_of(&mut build(&corpus, "jsonl", &index));
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert!(reads > 0);
    assert!(
        misses.is_empty(),
        "{} misses in {reads} reads: {:?}",
        misses.len(),
        &misses[..misses.len().min(5)]
    );
    let left: Vec<String> = names(&dir).into_iter().filter(|n| n.starts_with('.')).collect();
    assert_eq!(left.len(), 1, "one version, no staging left: {left:?}");
}

// ---- vectors that are not unit vectors are refused at open ----

/// A plain-directory copy of the small index whose `vectors.f32` row `row`
/// is replaced by `value`s, with its checksum recomputed as a forger would.
fn forged_copy(name: &str, row: usize, value: f32) -> PathBuf {
    let copy = fresh(name);
    for entry in std::fs::read_dir(small_index()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let vectors = copy.join("vectors.f32");
    let mut bytes = std::fs::read(&vectors).unwrap();
    let dim = 384;
    for x in bytes[row * dim * 4..(row + 1) * dim * 4].chunks_exact_mut(4) {
        x.copy_from_slice(&value.to_le_bytes());
    }
    std::fs::write(&vectors, &bytes).unwrap();
    let manifest_path = copy.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["files"]["vectors.f32"]["sha256"] = exemplar::digest::sha256_hex(&bytes).into();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    copy
}

#[test]
fn forged_vectors_are_refused_naming_the_row() {
    if skip_without_model() {
        return;
    }
    for (name, row, value, said) in [
        ("nan", 3, f32::NAN, "not a finite number"),
        ("huge", 7, 3e37, "has norm inf"),
        ("long", 11, 1.0, "has norm 19.59"),
    ] {
        let index = forged_copy(name, row, value);
        let stderr = failure_of(exemplar().args(["index", "info"]).arg(&index));
        let row_named = format!("vectors.f32: row {row} (sentence devel-40.jsonl:{})", row + 1);
        assert!(
            stderr.contains("is damaged") && stderr.contains(&row_named) && stderr.contains(said),
            "{name}: {stderr}"
        );
    }
}

// ---- byte-order marks are not text ----

#[test]
fn a_byte_order_mark_is_dropped_by_every_reader() {
    let dir = fresh("bom");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("\u{feff}{text}")).unwrap();
        path
    };
    let conll = write("a.tsv", "Fever\tB-Sign\nand\tO\n");
    let jsonl = write(
        "a.jsonl",
        r#"{"text": "Fever and", "entities": [{"start": 0, "end": 5, "type": "Sign"}]}"#,
    );
    let text = write("a.txt", "Fever and\n");
    // brat counts the .txt's mark as character 0 (Python's utf-8 codec keeps it).
    let brat = write("d.txt", "Fever and");
    write("d.ann", "T1\tSign 1 6\tFever\n");
    for (path, format) in [
        (conll, exemplar::Format::Conll),
        (jsonl, exemplar::Format::Jsonl),
        (text, exemplar::Format::Text),
        (brat, exemplar::Format::Brat),
    ] {
        let corpus = exemplar::corpus::read(&path, format, &Default::default()).unwrap();
        let sentence = &corpus.sentences[0];
        assert_eq!(sentence.text, "Fever and", "{format:?}");
        assert_eq!(sentence.tokens[0].start, 0, "{format:?}");
        if format != exemplar::Format::Text {
            assert_eq!(sentence.span_text(&sentence.entities[0]), "Fever", "{format:?}");
            assert_eq!(sentence.entities[0].start, 0, "{format:?}");
        }
        assert!(corpus.warnings.is_empty(), "{format:?}: {:?}", corpus.warnings);
    }
}

// ---- empty sentences, queries and types ----

#[test]
fn an_empty_query_is_refused() {
    if skip_without_model() {
        return;
    }
    for text in ["", "  \t"] {
        let stderr = failure_of(
            exemplar()
                .args(["select", "--text", text, "--index"])
                .arg(small_index()),
        );
        assert!(stderr.contains("--text is empty"), "{stderr}");
    }
}

#[test]
fn blank_lines_of_a_query_file_are_skipped_with_a_warning() {
    if skip_without_model() {
        return;
    }
    let dir = fresh("queries");
    let queries = dir.join("queries.txt");
    std::fs::write(
        &queries,
        "Fever and headache.\n\nBreast cancer in BRCA1 carriers.\n",
    )
    .unwrap();
    let output = exemplar()
        .args(["select", "--format", "text", "--k", "2", "--json", "--index"])
        .arg(small_index())
        .arg("--input")
        .arg(&queries)
        .output()
        .unwrap();
    assert!(output.status.success());
    let ids: Vec<String> = json_lines(&String::from_utf8(output.stdout).unwrap())
        .iter()
        .map(|l| l["query"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["queries.txt:1", "queries.txt:3"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("queries.txt:2: 1 blank line(s) skipped"),
        "{stderr}"
    );
}

/// Building from `content` fails with exit 2, naming file and line and `said`.
fn assert_refused(file: &str, format: &str, content: &str, at: &str, said: &str) {
    let dir = fresh(&format!("refused-{file}"));
    let path = dir.join(file);
    std::fs::write(&path, content).unwrap();
    let source = if format == "brat" {
        std::fs::write(path.with_extension("txt"), "Fever and cough.").unwrap();
        path.with_extension("txt")
    } else {
        path
    };
    let stderr = failure_of(&mut build(&source, format, &dir.join("index")));
    assert!(stderr.contains(at) && stderr.contains(said), "{file}: {stderr}");
    assert!(!dir.join("index").exists());
}

const FINE: &str = r#"{"text": "Fever and cough.", "entities": [{"start": 0, "end": 5, "type": "Sign"}]}"#;

#[test]
fn an_empty_training_sentence_is_refused() {
    for text in ["", "   "] {
        let content = format!("{FINE}\n{{\"text\": \"{text}\"}}\n");
        assert_refused(
            "e.jsonl",
            "jsonl",
            &content,
            "e.jsonl:2:",
            "\"text\" is empty or only whitespace",
        );
    }
}

#[test]
fn an_empty_entity_type_is_refused_in_every_format() {
    for label in ["", "  "] {
        let bad =
            format!(r#"{{"text": "Fever", "entities": [{{"start": 0, "end": 5, "type": "{label}"}}]}}"#);
        let content = format!("{FINE}\n{bad}\n");
        assert_refused("t.jsonl", "jsonl", &content, "t.jsonl:2:", "entity 0..5:");
    }
    assert_refused(
        "d.ann",
        "brat",
        "T1\tSign 0 5\tFever\nT2\t 10 15\tcough\n",
        "d.ann:2:",
        "T2: empty entity type",
    );
    assert_refused("t.tsv", "conll", "Fever\tB-\n", "t.tsv:1:", "unknown tag 'B-'");
}

#[test]
fn a_zero_length_entity_is_called_empty() {
    let bad = r#"{"text": "Fever", "entities": [{"start": 2, "end": 2, "type": "Sign"}]}"#;
    assert_refused(
        "z.jsonl",
        "jsonl",
        bad,
        "z.jsonl:1:",
        "is an empty entity (start == end)",
    );
}
