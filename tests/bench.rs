//! `exemplar bench` on a small synthetic set: the report's fields exist,
//! recall is a fraction that does not fall as ef grows, and the exported
//! vectors are the ones measured.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::skip_without_peers_venv;

/// `exemplar bench --json` on 2,000 synthetic 32-d vectors and 50 queries,
/// writing its report and the exported vectors into `out`.
fn bench_small_synthetic(out: &Path) -> Output {
    Command::cargo_bin("exemplar")
        .unwrap()
        .args([
            "bench",
            "--synthetic",
            "2000",
            "--queries-n",
            "50",
            "--ef",
            "16,64",
            "--dim",
            "32",
        ])
        .arg("--json")
        .arg("--out")
        .arg(out)
        .arg("--export")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn synthetic_bench_reports_recall_per_ef() {
    let out = tempfile::tempdir().unwrap();
    let output = bench_small_synthetic(out.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["seed"], 42);
    assert!(report["machine"]["cores"].as_u64().unwrap() >= 1);
    let part = &report["parts"][0];
    assert_eq!(part["name"], "synthetic 2000");
    assert_eq!(part["queries"], 50);
    assert!(part["build_vectors_per_second"].as_f64().unwrap() > 0.0);
    let rows = part["search"].as_array().unwrap();
    let walks: Vec<&str> = rows.iter().map(|r| r["walk"].as_str().unwrap()).collect();
    assert_eq!(walks, ["int8", "int8", "f32", "f32"]);
    for walk in rows.chunks(2) {
        let recalls: Vec<f64> = walk.iter().map(|r| r["recall"].as_f64().unwrap()).collect();
        for (row, recall) in walk.iter().zip(&recalls) {
            assert!((0.0..=1.0).contains(recall), "{row}");
            assert!(row["p50_us"].as_f64().unwrap() <= row["p99_us"].as_f64().unwrap());
            assert!(row["qps"].as_f64().unwrap() > 0.0);
        }
        assert!(recalls[1] >= recalls[0], "{recalls:?}");
        assert!(
            recalls[1] >= 0.9,
            "recall@10 at ef 64 on 2000 vectors: {recalls:?}"
        );
    }
    assert_eq!(part["exported"], "synthetic-2000");
    let base = std::fs::read(out.path().join("synthetic-2000/base.npy")).unwrap();
    let queries = std::fs::read(out.path().join("synthetic-2000/queries.npy")).unwrap();
    let header = String::from_utf8_lossy(&base[..128]);
    assert!(header.contains("'shape': (2000, 32)"), "{header}");
    assert!(String::from_utf8_lossy(&queries[..128]).contains("'shape': (50, 32)"));
    let written: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("bench.json")).unwrap()).unwrap();
    assert_eq!(written["parts"][0]["search"], part["search"]);
    let md = std::fs::read_to_string(out.path().join("bench.md")).unwrap();
    assert!(md.contains("## synthetic 2000"), "{md}");
}

/// `scripts/peers.py` (in the venv `scripts/test.sh` creates) runs real peers
/// on the vectors `exemplar bench --export` wrote and ends with the ratio line.
#[test]
fn peers_script_compares_on_the_exported_vectors() {
    if skip_without_peers_venv() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".cache/peers-venv/bin/python");
    let out = tempfile::tempdir().unwrap();
    assert!(bench_small_synthetic(out.path()).status.success());
    let output = std::process::Command::new(&python)
        .arg(root.join("scripts/peers.py"))
        .arg("--bench")
        .arg(out.path())
        .args(["--threads", "1", "--libraries", "hnswlib,faiss-flat"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = |library: &str| stdout.lines().filter(|l| l.starts_with(library)).count();
    assert_eq!(rows("| exemplar | "), 2, "{stdout}");
    assert_eq!(rows("| exemplar (f32 walk) | "), 2, "{stdout}");
    assert_eq!(rows("| hnswlib "), 2, "{stdout}");
    assert_eq!(rows("| faiss IndexFlatIP (exact) "), 1, "{stdout}");
    // The exact search's recall is 1: the ground truth is computed independently of exemplar.
    assert!(stdout.contains("| exact | 1.0000 |"), "{stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("ratio exemplar/fastest-peer p50 at recall@10>=0.99: "),
        "{stdout}"
    );
}
