//! `exemplar bench` on a small synthetic set: the report's fields exist,
//! recall is a fraction that does not fall as ef grows, and the exported
//! vectors are the ones measured.

use assert_cmd::Command;
use serde_json::Value;

#[test]
fn synthetic_bench_reports_recall_per_ef() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("exemplar")
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
            "--json",
            "--out",
        ])
        .arg(out.path())
        .arg("--export")
        .arg(out.path())
        .output()
        .unwrap();
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
