//! `exemplar compare` on the real model and NCBI-disease: demonstrations
//! from the training index for the first 100 test sentences, every strategy
//! measured against random, and bad input refused with exit 2.

use std::process::Command;

use serde_json::Value;

mod common;
use common::{exemplar, failure_of, ncbi_index, scratch, skip_without_model, small_index, stdout_of};

const STRATEGIES: [&str; 4] = ["knn", "mmr", "coverage", "random"];

/// `exemplar compare` of the strategies above on the first 100 NCBI-disease test sentences.
fn compare_ncbi() -> Command {
    let mut cmd = exemplar();
    cmd.arg("compare")
        .arg("--index")
        .arg(ncbi_index())
        .args(["--queries", "data/ncbi-disease/test.tsv", "--format", "conll"])
        .args(["--limit", "100", "--k", "8", "--seed", "7"])
        .args(["--strategy", &STRATEGIES.join(",")]);
    cmd
}

#[test]
fn knn_covers_more_gold_mentions_than_random_on_ncbi() {
    if skip_without_model() {
        return;
    }
    let report: Value = serde_json::from_str(&stdout_of(compare_ncbi().arg("--json"))).unwrap();
    assert_eq!(report["queries"], 100);
    let metrics = [
        "type_coverage",
        "mention_coverage",
        "mean_similarity",
        "with_entities",
        "diversity",
    ];
    for strategy in STRATEGIES {
        let figures = &report["strategies"][strategy];
        for metric in metrics {
            let value = figures[metric]
                .as_f64()
                .unwrap_or_else(|| panic!("{strategy}.{metric}: {figures}"));
            assert!((-1.0..=1.0).contains(&value), "{strategy}.{metric} = {value}");
            let delta = &figures["vs_random"][metric];
            let (low, high) = (
                delta["ci95"][0].as_f64().unwrap(),
                delta["ci95"][1].as_f64().unwrap(),
            );
            assert!(
                low <= delta["delta"].as_f64().unwrap() && delta["delta"].as_f64().unwrap() <= high,
                "{delta}"
            );
        }
        assert_eq!(figures["method"]["strategy"], strategy);
    }
    // NCBI has one type: every set showing an entity covers it; only 54 of the
    // first 100 test sentences have gold entities.
    assert_eq!(report["queries_with_entities"], 54);
    assert_eq!(report["strategies"]["knn"]["counted"]["mention_coverage"], 54);
    assert_eq!(report["strategies"]["knn"]["counted"]["mean_similarity"], 100);
    let knn = &report["strategies"]["knn"];
    let random = &report["strategies"]["random"];
    assert!(
        knn["mention_coverage"].as_f64() > random["mention_coverage"].as_f64(),
        "{report}"
    );
    let gain = &knn["vs_random"]["mention_coverage"];
    assert!(
        gain["ci95"][0].as_f64().unwrap() > 0.0,
        "the interval excludes 0: {gain}"
    );
    assert!(
        knn["diversity"].as_f64() > report["strategies"]["mmr"]["diversity"].as_f64(),
        "{report}"
    );
    assert_eq!(report["strategies"]["mmr"]["method"]["params"]["lambda"], 0.5);
    let settings = &report["settings"];
    assert_eq!(
        (settings["k"].as_u64(), settings["seed"].as_u64()),
        (Some(8), Some(7))
    );
    assert_eq!(settings["samples"], 1000);
    assert!(
        settings["search"]["ef"].as_u64().is_some(),
        "the ef used is recorded: {settings}"
    );
    assert_eq!(
        (&settings["format"], &settings["limit"]),
        (&Value::from("conll"), &Value::from(100))
    );
    assert_eq!(report["random_added"], false);
}

#[test]
fn the_table_shows_every_strategy_and_the_baseline_is_added() {
    if skip_without_model() {
        return;
    }
    let table = stdout_of(&mut compare_ncbi());
    assert!(
        table.starts_with("100 queries (54 with gold entities), k = 8"),
        "{table}"
    );
    let header =
        "| strategy | type_coverage | mention_coverage | mean_similarity | with_entities | diversity |";
    assert_eq!(table.matches(header).count(), 2, "{table}");
    for strategy in STRATEGIES {
        assert!(table.contains(&format!("| {strategy}")), "{strategy}: {table}");
    }
    // knn's difference row: mention coverage (the second metric) about +0.55.
    let knn = table.lines().find(|l| l.starts_with("| knn | +")).unwrap();
    assert!(knn.split(" | ").nth(2).unwrap().starts_with("+0.5"), "{table}");
    assert!(
        table.contains("over the 54 queries with gold entities"),
        "{table}"
    );
    let knn_only = stdout_of(
        exemplar()
            .args(["compare", "--index"])
            .arg(small_index())
            .args([
                "--queries",
                "data/ncbi-disease/test.tsv",
                "--limit",
                "20",
                "--k",
                "4",
            ])
            .args(["--strategy", "knn", "--json"]),
    );
    let report: Value = serde_json::from_str(&knn_only).unwrap();
    assert_eq!(report["random_added"], true);
    assert!(
        report["strategies"]["random"]["mention_coverage"].is_number(),
        "{report}"
    );
}

#[test]
fn bad_input_is_refused_with_exit_2() {
    if skip_without_model() {
        return;
    }
    let compare = |args: &[&str], queries: &str| {
        let mut cmd = exemplar();
        cmd.args(["compare", "--index"])
            .arg(small_index())
            .args(["--queries", queries])
            .args(args);
        failure_of(&mut cmd)
    };
    let test = "data/ncbi-disease/test.tsv";
    let unknown = compare(&["--strategy", "knn,nearest"], test);
    assert!(
        unknown.contains("nearest") && unknown.contains("knn"),
        "{unknown}"
    );
    let zero = compare(&["--k", "0"], test);
    assert!(zero.contains("k must be at least 1"), "{zero}");
    let lambda = compare(&["--strategy", "knn", "--param", "lambda=0.5"], test);
    assert!(
        lambda.contains("no strategy given takes the parameter \"lambda\"")
            && lambda.contains("knn takes none"),
        "{lambda}"
    );
    let range = compare(&["--strategy", "mmr", "--param", "lambda=2"], test);
    assert!(
        range.contains("parameter lambda") && range.contains("outside [0, 1]"),
        "{range}"
    );
    let plain = scratch("compare").join("plain.txt");
    std::fs::write(
        &plain,
        "Ataxia telangiectasia is a recessive disorder.\nNo entities here.\n",
    )
    .unwrap();
    let plain = plain.to_str().unwrap();
    let unannotated = compare(&["--format", "text"], plain);
    assert!(
        unannotated.contains("none of the 2 queries has gold entities"),
        "{unannotated}"
    );
}

#[test]
fn entity_retrieval_covers_the_query_mentions_bm25_misses_on_ncbi() {
    if skip_without_model() {
        return;
    }
    // The bar, on every NCBI-disease test sentence with the defaults:
    // mention coverage at least 0.60, and at least BM25's + 0.10.
    let report: Value = serde_json::from_str(&stdout_of(
        exemplar()
            .arg("compare")
            .arg("--index")
            .arg(ncbi_index())
            .args(["--queries", "data/ncbi-disease/test.tsv", "--format", "conll"])
            .args(["--k", "8", "--strategy", "bm25,entity", "--json"]),
    ))
    .unwrap();
    let coverage = |strategy: &str| {
        report["strategies"][strategy]["mention_coverage"]
            .as_f64()
            .unwrap()
    };
    let (entity, bm25) = (coverage("entity"), coverage("bm25"));
    println!("mention coverage: entity {entity:.3}, bm25 {bm25:.3}");
    assert!(entity >= 0.60, "entity {entity}");
    assert!(entity >= bm25 + 0.10, "entity {entity}, bm25 {bm25}");
    assert_eq!(
        report["strategies"]["entity"]["method"]["params"]["sources"],
        "lexicon"
    );
}
