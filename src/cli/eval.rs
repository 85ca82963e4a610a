//! `exemplar eval`: scores predictions against a gold corpus.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::{print_json, CorpusArgs};
use crate::corpus::{Format, Span};
use crate::eval::{align, score, Prf, Report, Scores};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Gold corpus, read with --format, --scheme and --skip-invalid-spans.
    #[arg(long)]
    gold: PathBuf,
    #[command(flatten)]
    corpus: CorpusArgs,
    /// Predictions: one sentence for each gold sentence, in the same order and
    /// with the same text (whitespace may differ).
    #[arg(long)]
    pred: PathBuf,
    /// Format of the predictions (--scheme and --skip-invalid-spans apply too).
    #[arg(long, value_parser = super::choice::<Format>(), default_value = "jsonl")]
    pred_format: Format,
    /// Print the report as one JSON object: {"strict", "relaxed", "sentences"}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: EvalArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let report = evaluate(&args)?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", table(&report));
    }
    if !quiet {
        let strict = report.strict.per_type.values();
        let (gold, predicted) = strict.fold((0, 0), |(g, p), t| (g + t.support, p + t.predicted));
        eprintln!(
            "scored {} sentences: {gold} gold and {predicted} predicted entities",
            report.sentences
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads both files, pairs their sentences and scores them.
fn evaluate(args: &EvalArgs) -> anyhow::Result<Report> {
    let gold = args.corpus.read(&[&args.gold])?;
    let pred_corpus = CorpusArgs {
        format: args.pred_format,
        ..args.corpus.clone()
    };
    let pred = pred_corpus.read(&[&args.pred])?;
    let predicted = align(&gold.sentences, &pred.sentences).with_context(|| {
        format!(
            "the predictions in {} do not match the gold sentences in {}",
            args.pred.display(),
            args.gold.display()
        )
    })?;
    let gold: Vec<Vec<Span>> = gold.sentences.into_iter().map(|s| s.entities).collect();
    Ok(score(&gold, &predicted))
}

/// The report for people: per type, then micro and macro averages, strict
/// and relaxed, in percent.
fn table(report: &Report) -> String {
    let width = report
        .strict
        .per_type
        .keys()
        .map(|t| t.chars().count())
        .chain([9])
        .max()
        .unwrap_or(9);
    let mut out = String::new();
    for (title, scores) in [
        ("strict: exact span and type", &report.strict),
        ("relaxed: overlapping span, same type", &report.relaxed),
    ] {
        if !out.is_empty() {
            out.push('\n');
        }
        section(&mut out, title, scores, width);
    }
    out
}

fn section(out: &mut String, title: &str, scores: &Scores, width: usize) {
    let total: usize = scores.per_type.values().map(|t| t.support).sum();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "{title}\n{:<width$}  precision  recall      f1  support",
        "type"
    );
    let mut row = |name: &str, prf: Prf, support: usize| {
        let _ = writeln!(
            out,
            "{name:<width$}  {:>9.2}  {:>6.2}  {:>6.2}  {support:>7}",
            100.0 * prf.precision,
            100.0 * prf.recall,
            100.0 * prf.f1
        );
    };
    for (label, score) in &scores.per_type {
        row(label, score.prf, score.support);
    }
    row("micro avg", scores.micro, total);
    row("macro avg", scores.macro_avg, total);
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: EvalArgs,
    }

    fn span(start: usize, end: usize, label: &str) -> Span {
        Span {
            start,
            end,
            label: label.into(),
        }
    }

    fn write(dir: &std::path::Path, name: &str, content: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, content).expect("writable temporary directory");
        path.display().to_string()
    }

    fn eval(gold: &str, pred: &str, extra: &[&str]) -> anyhow::Result<Report> {
        let args = ["eval", "--gold", gold, "--pred", pred]
            .into_iter()
            .chain(extra.iter().copied());
        evaluate(&Wrapper::try_parse_from(args)?.args)
    }

    #[test]
    fn table_lists_types_and_averages() {
        let gold = vec![vec![span(0, 5, "Disease"), span(6, 9, "Chemical")]];
        let predicted = vec![vec![span(0, 4, "Disease"), span(6, 9, "Chemical")]];
        let text = table(&score(&gold, &predicted));
        assert_eq!(
            text,
            "\
strict: exact span and type
type       precision  recall      f1  support
Chemical      100.00  100.00  100.00        1
Disease         0.00    0.00    0.00        1
micro avg      50.00   50.00   50.00        2
macro avg      50.00   50.00   50.00        2

relaxed: overlapping span, same type
type       precision  recall      f1  support
Chemical      100.00  100.00  100.00        1
Disease       100.00  100.00  100.00        1
micro avg     100.00  100.00  100.00        2
macro avg     100.00  100.00  100.00        2
"
        );
    }

    #[test]
    fn scores_jsonl_predictions_against_conll_gold() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(
            dir.path(),
            "test.tsv",
            "BRCA1\tB-Gene\ncauses\tO\ncancer\tB-Disease\n\nNo\tO\n",
        );
        // Found "cancer", missed "BRCA1", on a text with different spacing.
        let pred = write(
            dir.path(),
            "pred.jsonl",
            concat!(
                r#"{"text": "BRCA1  causes cancer", "entities": [{"start": 14, "end": 20, "type": "Disease"}]}"#,
                "\n",
                r#"{"text": "No"}"#,
                "\n"
            ),
        );
        let report = eval(&gold, &pred, &[]).unwrap();
        assert_eq!(report.sentences, 2);
        let disease = &report.strict.per_type["Disease"];
        assert_eq!((disease.support, disease.predicted, disease.correct), (1, 1, 1));
        assert_eq!(report.strict.per_type["Gene"].support, 1);
        // The same predictions as CoNLL give the same report.
        let conll = write(
            dir.path(),
            "pred.tsv",
            "BRCA1\tO\ncauses\tO\ncancer\tB-Disease\n\nNo\tO\n",
        );
        assert_eq!(eval(&gold, &conll, &["--pred-format", "conll"]).unwrap(), report);
    }

    #[test]
    fn mismatched_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(dir.path(), "test.tsv", "a\tO\n\nb\tO\n");
        let pred = write(dir.path(), "pred.jsonl", "{\"text\": \"a\"}\n{\"text\": \"c\"}\n");
        let message = format!("{:#}", eval(&gold, &pred, &[]).unwrap_err());
        assert!(
            message.contains("pred.jsonl do not match the gold sentences in"),
            "{message}"
        );
        assert!(
            message.contains(
                r#"prediction 2 (pred.jsonl:2) has text "c" but gold sentence 2 (test.tsv:2) has "b""#
            ),
            "{message}"
        );
    }

    #[test]
    fn unreadable_predictions_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(dir.path(), "test.tsv", "a\tO\n");
        let pred = write(dir.path(), "pred.jsonl", "not json\n");
        let message = format!("{:#}", eval(&gold, &pred, &[]).unwrap_err());
        assert!(message.contains("pred.jsonl:1"), "{message}");
    }
}
