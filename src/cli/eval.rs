//! `exemplar eval`: scores predictions against a gold corpus.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{print_json, report_warnings, CorpusArgs};
use exemplar::corpus::Format;
use exemplar::error::EXIT_CHECK_FAILED;
use exemplar::eval::{evaluate_files, Baseline, Evaluation, Prf, Reading, Report, Scores};

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
    /// Format of the predictions [default: by the extension of --pred
    /// (.jsonl, .json: jsonl; .tsv, .conll, .iob, .bio: conll), else --format].
    /// --scheme and --skip-invalid-spans apply too.
    #[arg(long, value_parser = super::choice::<Format>())]
    pred_format: Option<Format>,
    /// Refuse predicted CoNLL tags that continue no entity (an I- after O or
    /// after another type) instead of reading them as opening one, as
    /// seqeval's default mode does.
    #[arg(long)]
    strict_tags: bool,
    /// Predictions of another system on the same gold (read like --pred): adds
    /// the strict micro F1 difference, --pred minus these, with a paired
    /// bootstrap 95% interval over sentences (e.g. two runs' predictions.jsonl).
    #[arg(long, value_name = "PRED")]
    baseline: Option<PathBuf>,
    /// Score only the first N gold sentences (the predictions of `exemplar run --limit N`).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Seed of the bootstrap resampling (with --baseline).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Exit with status 1 when the strict micro F1 (a fraction, 0 to 1) is below this.
    #[arg(long, value_name = "F1")]
    min_f1: Option<f64>,
    /// Print the report as one JSON object: {"strict", "relaxed", "sentences", "repaired_tags"}
    /// (and "vs_baseline": {"difference", "low", "high", "samples", "seed"} with --baseline).
    #[arg(long)]
    json: bool,
}

pub fn run(args: EvalArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if let Some(min) = args.min_f1 {
        anyhow::ensure!(
            (0.0..=1.0).contains(&min),
            "--min-f1 must be between 0 and 1, not {min}"
        );
    }
    let evaluation = evaluate(&args)?;
    if args.json {
        print_json(&evaluation)?;
    } else {
        print!("{}", table(&evaluation));
    }
    let report = &evaluation.report;
    if !quiet {
        let strict = report.strict.per_type.values();
        let (gold, predicted) = strict.fold((0, 0), |(g, p), t| (g + t.support, p + t.predicted));
        eprintln!(
            "scored {} sentences: {gold} gold and {predicted} predicted entities",
            report.sentences
        );
    }
    Ok(check_min_f1(report, args.min_f1))
}

/// Exit status 1, said on stderr, when the strict micro F1 is below `min`.
fn check_min_f1(report: &Report, min: Option<f64>) -> ExitCode {
    let f1 = report.strict.micro.f1;
    match min {
        Some(min) if f1 < min => {
            eprintln!("strict micro F1 {f1:.4} is below --min-f1 {min}");
            ExitCode::from(EXIT_CHECK_FAILED)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// Reads the gold and the predictions (and the baseline's), pairs their
/// sentences and scores them; the readers' warnings go to stderr.
fn evaluate(args: &EvalArgs) -> anyhow::Result<Evaluation> {
    let reading = Reading {
        format: args.corpus.format,
        pred_format: args.pred_format,
        options: args.corpus.options(),
        strict_tags: args.strict_tags,
        limit: args.limit,
    };
    let baseline = args.baseline.as_deref().map(|pred| Baseline {
        pred,
        seed: args.seed,
    });
    let scored = evaluate_files(&args.gold, &args.pred, baseline, &reading)?;
    report_warnings(&scored.warnings);
    Ok(scored.evaluation)
}

/// The report for people: per type, then micro and macro averages, strict
/// and relaxed, in percent; then the tags repaired, if any.
fn table(evaluation: &Evaluation) -> String {
    let report = &evaluation.report;
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
    if let Some(vs) = &evaluation.vs_baseline {
        let _ = writeln!(
            out,
            "\nstrict micro F1 minus the baseline's: {:+.3} (95% paired bootstrap interval {:+.3} to {:+.3}, {} resamples, seed {})",
            vs.difference, vs.low, vs.high, vs.samples, vs.seed
        );
    }
    if evaluation.repaired_tags > 0 {
        let _ = writeln!(
            out,
            "\nrepaired tags: {} predicted I-/E- tags continued no entity and opened one, as in seqeval's default mode (--strict-tags refuses them)",
            evaluation.repaired_tags
        );
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
    use exemplar::corpus::Span;
    use exemplar::eval::{score, BOOTSTRAP_SAMPLES};

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

    fn eval(gold: &str, pred: &str, extra: &[&str]) -> anyhow::Result<Evaluation> {
        let args = ["eval", "--gold", gold, "--pred", pred]
            .into_iter()
            .chain(extra.iter().copied());
        evaluate(&Wrapper::try_parse_from(args)?.args)
    }

    #[test]
    fn table_lists_types_and_averages() {
        let gold = vec![vec![span(0, 5, "Disease"), span(6, 9, "Chemical")]];
        let predicted = vec![vec![span(0, 4, "Disease"), span(6, 9, "Chemical")]];
        let mut evaluation = Evaluation {
            report: score(&gold, &predicted),
            repaired_tags: 0,
            vs_baseline: None,
        };
        let text = table(&evaluation);
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
        evaluation.repaired_tags = 3;
        assert!(table(&evaluation).ends_with(
            "\nrepaired tags: 3 predicted I-/E- tags continued no entity and opened one, as in seqeval's default mode (--strict-tags refuses them)\n"
        ));
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
        let report = eval(&gold, &pred, &[]).unwrap().report;
        assert_eq!(report.sentences, 2);
        let disease = &report.strict.per_type["Disease"];
        assert_eq!((disease.support, disease.predicted, disease.correct), (1, 1, 1));
        assert_eq!(report.strict.per_type["Gene"].support, 1);
        // The same predictions as CoNLL give the same report, whether the
        // format is given, follows from the extension or from the gold's.
        let conll = "BRCA1\tO\ncauses\tO\ncancer\tB-Disease\n\nNo\tO\n";
        let tsv = write(dir.path(), "pred.tsv", conll);
        let bare = write(dir.path(), "pred", conll);
        for (pred, extra) in [(&tsv, &["--pred-format", "conll"][..]), (&tsv, &[]), (&bare, &[])] {
            assert_eq!(
                eval(&gold, pred, extra).unwrap().report,
                report,
                "{pred} {extra:?}"
            );
        }
    }

    #[test]
    fn predicted_i_after_o_opens_an_entity_unless_strict_tags() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(
            dir.path(),
            "test.tsv",
            "BRCA1\tB-Gene\ncauses\tO\nbreast\tB-Disease\ncancer\tI-Disease\n",
        );
        let pred = write(
            dir.path(),
            "pred.tsv",
            "BRCA1\tI-Gene\ncauses\tO\nbreast\tI-Disease\ncancer\tI-Disease\n",
        );
        let evaluation = eval(&gold, &pred, &[]).unwrap();
        assert_eq!(evaluation.repaired_tags, 2);
        assert_eq!(evaluation.report.strict.micro.f1, 1.0);
        let json = serde_json::to_value(&evaluation).unwrap();
        assert_eq!(json["repaired_tags"], 2);
        assert_eq!(json["strict"]["micro"]["f1"], 1.0);
        let error = eval(&gold, &pred, &["--strict-tags"]).unwrap_err();
        let answers = error.downcast_ref::<exemplar::Error>();
        assert!(
            matches!(answers, Some(exemplar::Error::Answers { line: 1, .. })),
            "{error:#}"
        );
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

    #[test]
    fn baseline_gives_the_paired_difference_and_must_match_the_gold() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(dir.path(), "test.tsv", "fever\tB-Disease\n\ncough\tB-Disease\n");
        let both = "{\"text\": \"fever\", \"entities\": [{\"start\": 0, \"end\": 5, \"type\": \"Disease\"}]}\n\
                    {\"text\": \"cough\", \"entities\": [{\"start\": 0, \"end\": 5, \"type\": \"Disease\"}]}\n";
        let one = "{\"text\": \"fever\", \"entities\": [{\"start\": 0, \"end\": 5, \"type\": \"Disease\"}]}\n{\"text\": \"cough\"}\n";
        let better = write(dir.path(), "better.jsonl", both);
        let worse = write(dir.path(), "worse.jsonl", one);
        let evaluation = eval(&gold, &better, &["--baseline", &worse, "--seed", "7"]).unwrap();
        let vs = evaluation.vs_baseline.expect("a baseline was given");
        // F1 1.0 against 2/3: every resample keeps the difference in [0, 1].
        assert!((vs.difference - (1.0 - 2.0 / 3.0)).abs() < 1e-9, "{vs:?}");
        assert!(vs.low >= 0.0 && vs.high <= 1.0 && vs.low <= vs.high, "{vs:?}");
        assert_eq!((vs.samples, vs.seed), (BOOTSTRAP_SAMPLES, 7));
        assert!(table(&evaluation).contains("strict micro F1 minus the baseline's: +0.333"));
        let other = write(
            dir.path(),
            "other.jsonl",
            "{\"text\": \"x\"}\n{\"text\": \"cough\"}\n",
        );
        let message = format!("{:#}", eval(&gold, &better, &["--baseline", &other]).unwrap_err());
        assert!(
            message.contains("other.jsonl do not match the gold sentences"),
            "{message}"
        );
    }

    #[test]
    fn limit_scores_the_first_gold_sentences_only() {
        let dir = tempfile::tempdir().unwrap();
        let gold = write(dir.path(), "test.tsv", "fever\tB-Disease\n\ncough\tB-Disease\n");
        let first =
            "{\"text\": \"fever\", \"entities\": [{\"start\": 0, \"end\": 5, \"type\": \"Disease\"}]}\n";
        let pred = write(dir.path(), "first.jsonl", first);
        let message = format!("{:#}", eval(&gold, &pred, &[]).unwrap_err());
        assert!(
            message.contains("1 predicted sentences but 2 gold sentences"),
            "{message}"
        );
        let report = eval(&gold, &pred, &["--limit", "1"]).unwrap().report;
        assert_eq!((report.sentences, report.strict.micro.f1), (1, 1.0));
    }
}
