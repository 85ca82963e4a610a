//! `exemplar eval` on CoNLL predictions as models write them: figures equal to
//! seqeval's default mode (recorded in tests/data/seqeval_cases.json by
//! scripts/make_seqeval_cases.py), repaired tags counted, `--strict-tags`,
//! `--min-f1` and malformed predictions with their exit codes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{exemplar, failure_of, failure_with, scratch, stdout_of};
use serde_json::Value;

/// Writes sentences of tags as a CoNLL file whose tokens are `w1`, `w2`, ...
fn write_conll(path: &Path, sentences: &[Value]) {
    let text: Vec<String> = sentences
        .iter()
        .map(|tags| {
            let tags = tags.as_array().expect("a sentence is a list of tags");
            tags.iter()
                .enumerate()
                .map(|(i, tag)| format!("w{}\t{}\n", i + 1, tag.as_str().expect("a tag")))
                .collect()
        })
        .collect();
    std::fs::write(path, text.join("\n")).unwrap();
}

/// `exemplar eval` on these files with these options.
fn eval(gold: &Path, pred: &Path, options: &[&str]) -> Command {
    let mut cmd = exemplar();
    cmd.arg("eval")
        .args(options)
        .arg("--gold")
        .arg(gold)
        .arg("--pred")
        .arg(pred);
    cmd
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// Whether `exemplar eval` can read the case as files: gold valid IOB2/BIOES
/// (read strictly) and no empty sentence (CoNLL cannot write one).
fn readable_as_conll(case: &Value) -> bool {
    let no_empty = |side: &str| {
        case[side]
            .as_array()
            .unwrap()
            .iter()
            .all(|tags| !tags.as_array().unwrap().is_empty())
    };
    case["gold_repairs"] == 0 && no_empty("gold") && no_empty("pred")
}

fn assert_close(case: &str, what: &str, ours: &Value, seqeval: &Value) {
    for field in ["precision", "recall", "f1"] {
        // seqeval's NaN (macro over no types) is recorded as null; exemplar says 0.
        let theirs = seqeval[field].as_f64().unwrap_or(0.0);
        let ours = ours[field].as_f64().unwrap();
        assert!(
            (ours - theirs).abs() < 1e-9,
            "{case}: {what} {field} is {ours}, seqeval says {theirs}"
        );
    }
}

#[test]
fn strict_scores_of_conll_predictions_equal_seqeval() {
    let cases: Value = serde_json::from_str(include_str!("data/seqeval_cases.json")).expect("valid fixture");
    let dir = scratch("eval-seqeval");
    let (mut checked, mut repaired) = (0, 0);
    for case in cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| readable_as_conll(c))
    {
        let name = case["name"].as_str().unwrap();
        let (gold, pred) = (dir.join("gold.tsv"), dir.join("pred.tsv"));
        write_conll(&gold, case["gold"].as_array().unwrap());
        write_conll(&pred, case["pred"].as_array().unwrap());
        let stdout = stdout_of(&mut eval(&gold, &pred, &["--json"]));
        let ours: Value = serde_json::from_str(&stdout).unwrap();
        let expected = &case["expected"];
        assert_close(name, "micro", &ours["strict"]["micro"], &expected["micro"]);
        assert_close(name, "macro", &ours["strict"]["macro"], &expected["macro"]);
        let per_type = expected["per_type"].as_object().unwrap();
        let types: Vec<&String> = ours["strict"]["per_type"].as_object().unwrap().keys().collect();
        assert_eq!(types, per_type.keys().collect::<Vec<_>>(), "{name}: types");
        for (label, theirs) in per_type {
            let ours = &ours["strict"]["per_type"][label];
            assert_close(name, label, ours, theirs);
            assert_eq!(ours["support"], theirs["support"], "{name}: {label} support");
        }
        assert_eq!(
            ours["repaired_tags"], case["pred_repairs"],
            "{name}: repaired tags"
        );
        checked += 1;
        repaired += usize::from(case["pred_repairs"] != 0);
    }
    // The hand-written and random cases with I- after O or another type are all there.
    assert!(
        checked >= 26 && repaired >= 16,
        "{checked} cases, {repaired} with repairs"
    );
}

/// Gold "BRCA1 causes breast cancer" and predictions with `I-` after `O`.
fn i_after_o(dir: &Path) -> (PathBuf, PathBuf) {
    let gold = write(
        dir,
        "test.tsv",
        "BRCA1\tB-Gene\ncauses\tO\nbreast\tB-Disease\ncancer\tI-Disease\n\nNo\tO\n",
    );
    let pred = write(
        dir,
        "pred.conll",
        "BRCA1\tI-Gene\ncauses\tO\nbreast\tI-Disease\ncancer\tI-Disease\n\nNo\tO\n",
    );
    (gold, pred)
}

#[test]
fn repaired_tags_are_reported_and_strict_tags_refuses_them() {
    let dir = scratch("eval-repaired");
    let (gold, pred) = i_after_o(&dir);
    let human = stdout_of(&mut eval(&gold, &pred, &[]));
    assert!(human.contains("micro avg     100.00  100.00  100.00"), "{human}");
    assert!(human.contains("repaired tags: 2 predicted I-/E- tags"), "{human}");
    let stderr = failure_of(&mut eval(&gold, &pred, &["--strict-tags"]));
    assert!(
        stderr.contains("pred.conll:1: tag 'I-Gene' does not continue an entity"),
        "{stderr}"
    );
    // The gold is still read strictly.
    let stderr = failure_of(&mut eval(&pred, &gold, &[]));
    assert!(stderr.contains("pred.conll:1:"), "{stderr}");
}

#[test]
fn min_f1_exits_1_when_not_met() {
    let dir = scratch("eval-min-f1");
    let gold = write(&dir, "test.tsv", "BRCA1\tB-Gene\ncauses\tO\ncancer\tB-Disease\n");
    let pred = write(&dir, "pred.tsv", "BRCA1\tO\ncauses\tO\ncancer\tB-Disease\n");
    let with_min = |min: &str| eval(&gold, &pred, &["--json", "--min-f1", min]);
    // Strict micro F1 is 2/3: P 1, R 1/2.
    let report: Value = serde_json::from_str(&stdout_of(&mut with_min("0.66"))).unwrap();
    assert!((report["strict"]["micro"]["f1"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    let stderr = failure_with(&mut with_min("0.67"), 1);
    assert!(
        stderr.contains("strict micro F1 0.6667 is below --min-f1 0.67"),
        "{stderr}"
    );
    let stderr = failure_of(&mut with_min("67"));
    assert!(stderr.contains("--min-f1 must be between 0 and 1"), "{stderr}");
}

#[test]
fn malformed_predictions_name_their_file_and_line() {
    let dir = scratch("eval-malformed");
    let gold = write(&dir, "test.tsv", "a\tO\n\nb\tO\n");
    for (name, content, expected) in [
        (
            "pred.jsonl",
            "{\"text\": \"a\"}\nnot json\n",
            "pred.jsonl:2: not a JSONL record",
        ),
        ("pred.tsv", "a\tO\n\nb\tQ-X\n", "pred.tsv:3: unknown tag 'Q-X'"),
    ] {
        let pred = write(&dir, name, content);
        let stderr = failure_of(&mut eval(&gold, &pred, &[]));
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}
