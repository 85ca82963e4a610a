//! Selection strategies, their parameters, the filters and the order, driven
//! through the real `exemplar select` and `exemplar run` on the real model:
//! NCBI-disease from `data/`, a slice of BC5CDR from the shared corpora for
//! the two-type coverage, and JSONL copies carrying documents and metadata
//! for the filters. The serve side is in tests/serve.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};

mod common;
use common::{
    exemplar, failure_of, json_lines, ncbi_index, repo, scratch, sentences_as_jsonl, shared_data,
    skip_without_model, stdout_of,
};

const QUERY: &str = "Germline mutations in BRCA1 predispose women to early-onset breast and ovarian cancer .";

/// `exemplar select --json` on `index` with `extra` options: one line per query.
fn select(index: &Path, extra: &[&str]) -> Vec<Value> {
    json_lines(&stdout_of(
        exemplar()
            .args(["select", "--json", "--index"])
            .arg(index)
            .args(extra),
    ))
}

/// `exemplar select --input queries` (JSONL) with `extra` options.
fn select_input(index: &Path, queries: &Path, extra: &[&str]) -> Vec<Value> {
    let input = ["--input", queries.to_str().unwrap(), "--format", "jsonl"];
    select(index, &[&input[..], extra].concat())
}

fn demos(selection: &Value) -> &Vec<Value> {
    selection["demos"].as_array().unwrap()
}

fn ids(selection: &Value) -> Vec<&str> {
    demos(selection)
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect()
}

fn types(selection: &Value) -> BTreeSet<&str> {
    demos(selection)
        .iter()
        .flat_map(|d| d["entities"].as_array().unwrap())
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

fn no_filters() -> Value {
    json!({"min_entities": 0, "exclude_same_doc": false, "where": {}})
}

/// A file of the first `n` NCBI-disease devel sentences as JSONL, written once per name.
fn devel_queries(n: usize) -> PathBuf {
    let path = scratch("select").join(format!("devel-{n}.jsonl"));
    std::fs::write(&path, sentences_as_jsonl("devel.tsv", n)).unwrap();
    path
}

#[test]
fn every_strategy_selects_with_its_parameters_echoed() {
    if skip_without_model() {
        return;
    }
    for (strategy, options, params) in [
        ("knn", vec![], json!({})),
        ("random", vec![], json!({})),
        (
            "mmr",
            vec!["--param", "lambda=0.7"],
            json!({"lambda": 0.7, "candidates": 64}),
        ),
        (
            "coverage",
            vec!["--param", "candidates=32"],
            json!({"candidates": 32}),
        ),
    ] {
        let mut args = vec!["--text", QUERY, "--k", "6", "--strategy", strategy];
        args.extend(options);
        let selection = select(ncbi_index(), &args).remove(0);
        let method = json!({"strategy": strategy, "params": params, "filters": no_filters(),
            "order": "similar-last", "seed": 42});
        assert_eq!(selection["method"], method, "{strategy}");
        assert_eq!(demos(&selection).len(), 6, "{strategy}");
        assert!(demos(&selection).iter().all(|d| d["text"] != QUERY));
        let scored = demos(&selection).iter().all(|d| d["score"].is_f64());
        assert_eq!(
            scored,
            strategy != "random",
            "{strategy}: a score when vectors are compared"
        );
    }
}

#[test]
fn mmr_at_lambda_one_returns_the_knn_demonstrations_and_orders_rearrange_them() {
    if skip_without_model() {
        return;
    }
    let queries = devel_queries(10);
    let mut mmr_differs = 0;
    for search in [&[][..], &["--exact"][..]] {
        let with =
            |extra: &[&str]| select_input(ncbi_index(), &queries, &[&["--k", "8"], search, extra].concat());
        let knn = with(&[]);
        let mmr_one = with(&["--strategy", "mmr", "--param", "lambda=1"]);
        let mmr_low = with(&["--strategy", "mmr", "--param", "lambda=0.3"]);
        assert_eq!(knn.len(), 10);
        for (i, (nearest, mmr)) in knn.iter().zip(&mmr_one).enumerate() {
            assert_eq!(ids(mmr), ids(nearest), "query {i} {search:?}");
        }
        mmr_differs += knn.iter().zip(&mmr_low).filter(|(k, m)| ids(k) != ids(m)).count();
        let first = with(&["--order", "similar-first"]);
        for (last, first) in knn.iter().zip(&first) {
            let mut reversed = ids(first);
            reversed.reverse();
            assert_eq!(reversed, ids(last));
        }
    }
    assert!(
        mmr_differs > 0,
        "a lower lambda trades similarity for diversity somewhere"
    );
}

/// An index over the first 1,500 sentences of BC5CDR's training split
/// (Chemical and Disease), built once per test run.
fn bc5cdr_index(data: &Path) -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = scratch("select");
        let slice = dir.join("bc5cdr-train-1500.tsv");
        std::fs::write(&slice, conll_head(&data.join("bc5cdr/train.tsv"), 1500)).unwrap();
        build_index(&slice, "conll", &dir.join("bc5cdr-1500"))
    })
}

/// Builds an index of `corpus` (in `format`) at `out` and returns `out`.
fn build_index(corpus: &Path, format: &str, out: &Path) -> PathBuf {
    stdout_of(
        exemplar()
            .args(["index", "build", "--format", format, "--out"])
            .arg(out)
            .arg(corpus),
    );
    out.to_path_buf()
}

/// The first `n` sentences of a CoNLL file.
fn conll_head(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let blocks: Vec<&str> = text
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .take(n)
        .collect();
    blocks.join("\n\n") + "\n"
}

#[test]
fn coverage_shows_both_bc5cdr_types_when_the_candidates_hold_both() {
    if skip_without_model() {
        return;
    }
    let Some(data) = shared_data() else { return };
    let index = bc5cdr_index(&data);
    let queries = scratch("select").join("bc5cdr-devel-40.tsv");
    std::fs::write(&queries, conll_head(&data.join("bc5cdr/devel.tsv"), 40)).unwrap();
    let with = |extra: &[&str]| {
        let input = [
            "--input",
            queries.to_str().unwrap(),
            "--format",
            "conll",
            "--exact",
        ];
        select(index, &[&input[..], extra].concat())
    };
    // Coverage chooses among the 16 nearest: what k-NN with k = 16 returns.
    let candidates = with(&["--k", "16"]);
    let knn = with(&["--k", "2"]);
    let coverage = with(&["--k", "2", "--strategy", "coverage", "--param", "candidates=16"]);
    let (mut both, mut gained) = (0, 0);
    for (i, ((pool, knn), covered)) in candidates.iter().zip(&knn).zip(&coverage).enumerate() {
        if types(pool).len() < 2 {
            continue;
        }
        both += 1;
        assert_eq!(
            types(covered),
            BTreeSet::from(["Chemical", "Disease"]),
            "query {i}: {covered}"
        );
        gained += usize::from(types(knn).len() < 2);
    }
    assert!(
        both >= 10,
        "{both} of 40 queries have both types among their candidates"
    );
    assert!(gained > 0, "k-NN alone shows both types wherever coverage does");
}

/// The first 400 NCBI-disease training sentences as JSONL, ids `s{i}`, ten
/// consecutive sentences a document `d{i / 10}`, and a `split` field, `dev`
/// for every tenth: its index, built once, and each sentence's fields by id.
fn annotated_index() -> &'static (PathBuf, BTreeMap<String, Value>) {
    static INDEX: OnceLock<(PathBuf, BTreeMap<String, Value>)> = OnceLock::new();
    INDEX.get_or_init(|| {
        let corpus = exemplar::corpus::read(
            &repo().join("data/ncbi-disease/train.tsv"),
            exemplar::Format::Conll,
            &Default::default(),
        )
        .unwrap();
        let records: Vec<Value> = corpus.sentences[..400]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let split = if i.is_multiple_of(10) { "dev" } else { "train" };
                json!({"id": format!("s{i}"), "text": s.text, "entities": s.entities,
                    "doc": format!("d{}", i / 10), "split": split})
            })
            .collect();
        let dir = scratch("select");
        let file = dir.join("annotated-400.jsonl");
        let lines: String = records.iter().map(|r| r.to_string() + "\n").collect();
        std::fs::write(&file, lines).unwrap();
        let out = build_index(&file, "jsonl", &dir.join("annotated-400"));
        let by_id = records
            .into_iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), r))
            .collect();
        (out, by_id)
    })
}

#[test]
fn filters_apply_during_the_search_and_still_give_k() {
    if skip_without_model() {
        return;
    }
    let (index, by_id) = annotated_index();
    let field = |id: &str, name: &str| by_id[id][name].as_str().unwrap().to_string();
    // 40 of 400 sentences are `dev`: a filter applied after a search for 8
    // would leave one or two.
    for strategy in ["knn", "random", "mmr", "coverage"] {
        let selection = select(
            index,
            &[
                "--text",
                QUERY,
                "--k",
                "8",
                "--strategy",
                strategy,
                "--where",
                "split=dev",
            ],
        )
        .remove(0);
        assert_eq!(ids(&selection).len(), 8, "{strategy}");
        assert!(
            ids(&selection).iter().all(|id| field(id, "split") == "dev"),
            "{strategy}"
        );
        assert_eq!(selection["method"]["filters"]["where"], json!({"split": "dev"}));
    }
    let rich = select(index, &["--text", QUERY, "--k", "8", "--min-entities", "2"]).remove(0);
    assert_eq!(demos(&rich).len(), 8);
    assert!(demos(&rich)
        .iter()
        .all(|d| d["entities"].as_array().unwrap().len() >= 2));
    // A sentence of the index as the query: its document is the index's.
    let own = by_id["s25"]["text"].as_str().unwrap();
    let same_doc = |selection: &Value| {
        ids(selection)
            .iter()
            .filter(|id| field(id, "doc") == "d2")
            .count()
    };
    let near = select(index, &["--text", own, "--k", "8"]).remove(0);
    assert!(
        same_doc(&near) > 0,
        "sentences of the same abstract are among the nearest"
    );
    let apart = select(index, &["--text", own, "--k", "8", "--exclude-same-doc"]).remove(0);
    assert_eq!((ids(&apart).len(), same_doc(&apart)), (8, 0));
}

#[test]
fn bad_input_is_refused_naming_what_is_wrong() {
    if skip_without_model() {
        return;
    }
    let refused = |extra: &[&str]| {
        failure_of(
            exemplar()
                .args(["select", "--index"])
                .arg(ncbi_index())
                .args(["--text", QUERY, "--k", "8"])
                .args(extra),
        )
    };
    for (extra, needle) in [
        (
            &["--strategy", "mmr", "--param", "lambda=1.5"][..],
            "strategy mmr, parameter lambda: 1.5 is outside [0, 1]",
        ),
        (
            &["--strategy", "mmr", "--param", "lambda=-0.1"],
            "parameter lambda: -0.1 is outside [0, 1]",
        ),
        (
            &["--strategy", "mmr", "--param", "lambda=high"],
            "parameter lambda: \"high\" is not a number",
        ),
        (
            &["--strategy", "coverage", "--param", "candidates=4"],
            "parameter candidates: 4 candidates cannot give k = 8",
        ),
        (
            &["--param", "lambda=0.5"],
            "no strategy given takes the parameter \"lambda\" (knn takes none)",
        ),
        (&["--strategy", "mmr", "--param", "lambda"], "expected NAME=VALUE"),
        (
            &["--where", "source=pubmed"],
            "no example of the index has the field \"source\"",
        ),
        (&["--where", "source"], "expected FIELD=VALUE"),
        (&["--exclude-same-doc"], "carry no document ids"),
        (
            &["--min-entities", "100"],
            "no example of the index passes the filters (min-entities 100)",
        ),
        (&["--strategy", "knn,mmr"], "select takes one --strategy"),
        (&["--strategy", "bm99"], "invalid value 'bm99' for '--strategy"),
        (&["--order", "sideways"], "invalid value 'sideways' for '--order"),
    ] {
        let stderr = refused(extra);
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // On an index whose metadata lacks the field, the fields it has are named.
    let (annotated, _) = annotated_index();
    let stderr = failure_of(exemplar().args(["select", "--index"]).arg(annotated).args([
        "--text",
        QUERY,
        "--where",
        "source=pubmed",
    ]));
    assert!(stderr.contains("field \"source\" (fields: split)"), "{stderr}");
}

#[test]
fn a_filter_leaving_fewer_than_k_warns_and_says_how_many() {
    if skip_without_model() {
        return;
    }
    let output = exemplar()
        .args(["select", "--json", "--index"])
        .arg(ncbi_index())
        .args(["--text", QUERY, "--k", "3", "--min-entities", "10"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let selection = json_lines(&String::from_utf8_lossy(&output.stdout)).remove(0);
    let left = demos(&selection).len();
    assert!((1..3).contains(&left), "{selection}");
    let warning = format!("warning: the filters leave {left} sentences, fewer than k = 3");
    assert!(stderr.contains(&warning), "{stderr}");
}

/// Flags of `exemplar select` that choose demonstrations as `method` (a
/// method as a run report records it) does.
fn flags_of(method: &Value) -> Vec<String> {
    let mut flags = vec![
        "--strategy".to_string(),
        method["strategy"].as_str().unwrap().to_string(),
    ];
    for (name, value) in method["params"].as_object().unwrap() {
        flags.extend(["--param".to_string(), format!("{name}={value}")]);
    }
    let filters = &method["filters"];
    flags.extend(["--min-entities".to_string(), filters["min_entities"].to_string()]);
    if filters["exclude_same_doc"] == true {
        flags.push("--exclude-same-doc".into());
    }
    for (field, value) in filters["where"].as_object().unwrap() {
        flags.extend([
            "--where".to_string(),
            format!("{field}={}", value.as_str().unwrap()),
        ]);
    }
    flags.extend([
        "--order".to_string(),
        method["order"].as_str().unwrap().to_string(),
    ]);
    flags.extend(["--seed".to_string(), method["seed"].to_string()]);
    flags
}

/// `exemplar run` of the JSONL `test` over the NCBI-disease index with
/// `options`, its requests written by a dry run and answered empty from a
/// batch file for each of `arms`; the answered run's stdout (with `extra`).
fn replayed_run(test: &Path, out: &Path, options: &[&str], arms: &[&str], extra: &[&str]) -> String {
    let run = |more: &[&str]| {
        let mut cmd = exemplar();
        cmd.args(["run", "--index"])
            .arg(ncbi_index())
            .arg("--test")
            .arg(test)
            .args(["--format", "jsonl"])
            .args(options)
            .arg("--out")
            .arg(out)
            .args(more);
        cmd
    };
    stdout_of(&mut run(&["--dry-run"]));
    let mut batch = String::new();
    for arm in arms {
        let requests = std::fs::read_to_string(out.join(arm).join("requests.jsonl")).unwrap();
        for request in json_lines(&requests) {
            let answer =
                json!({"custom_id": request["custom_id"], "response": {"body": {"choices": [{"text": ""}]}}});
            batch.push_str(&(answer.to_string() + "\n"));
        }
    }
    let answers = out.join("batch-output.jsonl");
    std::fs::write(&answers, batch).unwrap();
    stdout_of(&mut run(
        &[&["--answers", answers.to_str().unwrap()], extra].concat()
    ))
}

#[test]
fn a_run_report_records_each_method_and_reproduces_its_demonstrations() {
    if skip_without_model() {
        return;
    }
    let test = devel_queries(3);
    let out = scratch("select").join("run");
    let options = [
        "--prompt",
        "list",
        "--k",
        "4",
        "--strategy",
        "knn,mmr",
        "--param",
        "lambda=0.7",
        "--min-entities",
        "1",
        "--order",
        "similar-first",
    ];
    let report = json_lines(&replayed_run(&test, &out, &options, &["knn", "mmr"], &["--json"])).remove(0);
    let filters = json!({"min_entities": 1, "exclude_same_doc": false, "where": {}});
    let mmr = json!({"strategy": "mmr", "params": {"lambda": 0.7, "candidates": 64}, "filters": filters,
        "order": "similar-first", "seed": 42});
    assert_eq!(report["settings"]["methods"][1], mmr);
    assert_eq!(report["strategies"][1]["method"], mmr);
    assert_eq!(report["settings"]["methods"][0]["params"], json!({}));
    // The report alone says how to choose the same demonstrations again.
    for (i, strategy) in ["knn", "mmr"].iter().enumerate() {
        let flags = flags_of(&report["settings"]["methods"][i]);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let again = select_input(ncbi_index(), &test, &[&["--k", "4"], &flags[..]].concat());
        let log = json_lines(&std::fs::read_to_string(out.join(strategy).join("log.jsonl")).unwrap());
        assert_eq!(log.len(), 3);
        for (exchange, selection) in log.iter().zip(&again) {
            let logged: Vec<&str> = exchange["demos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            assert_eq!(logged, ids(selection), "{strategy}");
        }
    }
}

#[test]
fn run_refuses_parameters_before_any_work() {
    if skip_without_model() {
        return;
    }
    let test = devel_queries(3);
    let refused = |extra: &[&str]| {
        failure_of(
            exemplar()
                .args(["run", "--dry-run", "--index"])
                .arg(ncbi_index())
                .arg("--test")
                .arg(&test)
                .args(["--format", "jsonl", "--out"])
                .arg(scratch("select").join("refused"))
                .args(extra),
        )
    };
    let stderr = refused(&["--strategy", "knn,mmr", "--param", "lambda=2"]);
    assert!(
        stderr.contains("strategy mmr, parameter lambda: 2 is outside [0, 1]"),
        "{stderr}"
    );
    let stderr = refused(&["--param", "alpha=1"]);
    assert!(
        stderr
            .contains("no strategy given takes the parameter \"alpha\" (knn takes none; random takes none)"),
        "{stderr}"
    );
    let stderr = refused(&["--exclude-same-doc"]);
    assert!(stderr.contains("carry no document ids"), "{stderr}");
}

#[test]
fn a_prompt_too_long_for_the_context_loses_its_least_similar_demonstrations_in_any_order() {
    if skip_without_model() {
        return;
    }
    let test = devel_queries(3);
    for order in ["similar-first", "similar-last"] {
        let out = scratch("select").join(format!("truncated-{order}"));
        let options = [
            "--prompt",
            "list",
            "--k",
            "4",
            "--strategy",
            "knn",
            "--order",
            order,
        ];
        let cut = ["--context", "300", "--max-tokens", "32"];
        replayed_run(&test, &out, &[&options[..], &cut[..]].concat(), &["knn"], &[]);
        // The same demonstrations, most similar first, as `select` gives them.
        let chosen = select_input(ncbi_index(), &test, &["--k", "4", "--order", "similar-first"]);
        let log = json_lines(&std::fs::read_to_string(out.join("knn/log.jsonl")).unwrap());
        let dropped = |exchange: &Value| exchange["dropped_demos"].as_u64().unwrap() as usize;
        assert!(
            log.iter().map(dropped).sum::<usize>() > 0,
            "{order}: nothing was cut"
        );
        for (exchange, selection) in log.iter().zip(&chosen) {
            let dropped = dropped(exchange);
            assert!(dropped < 4, "{order}: {exchange}");
            let mut kept: Vec<&str> = exchange["demos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            if order == "similar-last" {
                kept.reverse();
            }
            assert_eq!(
                kept,
                ids(selection)[..4 - dropped],
                "{order}: the most similar stay"
            );
        }
    }
}
