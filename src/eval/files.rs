//! Scoring prediction files against a gold file, as `exemplar eval` and the
//! Python bindings do: read both, pair the sentences, score, and optionally
//! compare with a baseline's predictions on the same gold.

use std::path::Path;

use serde::Serialize;

use super::BOOTSTRAP_SAMPLES;
use super::{align, bootstrap_difference, predictions_format, read_predictions, score, Interval, Report};
use crate::corpus::{self, Format, ReadOptions, Sentence, Span, Warning};
use crate::error::{Error, Result};

/// How the gold and the predictions are read.
#[derive(Debug, Clone)]
pub struct Reading {
    /// Format of the gold file.
    pub format: Format,
    /// Format of the predictions (None: by extension, else `format`).
    pub pred_format: Option<Format>,
    /// Tag scheme and span checks, for gold and predictions alike.
    pub options: ReadOptions,
    /// Refuse predicted CoNLL tags that continue no entity instead of repairing them.
    pub strict_tags: bool,
    /// Score only the first N gold sentences (those `exemplar run --limit N` predicted).
    pub limit: Option<usize>,
}

/// `exemplar eval --json`'s object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Strict and relaxed scores.
    #[serde(flatten)]
    pub report: Report,
    /// Predicted CoNLL tags read as opening an entity they did not continue.
    pub repaired_tags: usize,
    /// Strict micro F1 of the predictions minus the baseline's, with its interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_baseline: Option<Interval>,
}

/// An evaluation and what the readers noticed on the way.
#[derive(Debug)]
pub struct Scored {
    /// The scores.
    pub evaluation: Evaluation,
    /// Warnings of the gold, prediction and baseline readers, in that order.
    pub warnings: Vec<Warning>,
}

/// A baseline to compare with: its predictions and the bootstrap's seed.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    /// The baseline's predictions file, read like the predictions.
    pub pred: &'a Path,
    /// Seed of the paired bootstrap.
    pub seed: u64,
}

/// Scores the predictions in `pred` against the gold corpus in `gold`.
pub fn evaluate_files(
    gold: &Path,
    pred: &Path,
    baseline: Option<Baseline>,
    reading: &Reading,
) -> Result<Scored> {
    let mut gold_corpus = corpus::read(gold, reading.format, &reading.options)?;
    if let Some(limit) = reading.limit {
        gold_corpus.sentences.truncate(limit);
    }
    let mut warnings = gold_corpus.warnings;
    let mut read = |path: &Path| -> Result<(Vec<Vec<Span>>, usize)> {
        let (spans, repaired, noticed) = read_aligned(path, gold, &gold_corpus.sentences, reading)?;
        warnings.extend(noticed);
        Ok((spans, repaired))
    };
    let (predicted, repaired_tags) = read(pred)?;
    let baseline = match baseline {
        Some(b) => Some((read(b.pred)?.0, b.seed)),
        None => None,
    };
    let gold_spans: Vec<Vec<Span>> = gold_corpus.sentences.into_iter().map(|s| s.entities).collect();
    let vs_baseline = baseline
        .map(|(spans, seed)| bootstrap_difference(&gold_spans, &predicted, &spans, BOOTSTRAP_SAMPLES, seed));
    Ok(Scored {
        evaluation: Evaluation {
            report: score(&gold_spans, &predicted),
            repaired_tags,
            vs_baseline,
        },
        warnings,
    })
}

/// The predicted spans of `path`, one list per gold sentence, the tags
/// repaired reading them and the reader's warnings.
fn read_aligned(
    path: &Path,
    gold_path: &Path,
    gold: &[Sentence],
    reading: &Reading,
) -> Result<(Vec<Vec<Span>>, usize, Vec<Warning>)> {
    let format = reading
        .pred_format
        .unwrap_or_else(|| predictions_format(path, reading.format));
    let pred = read_predictions(path, format, &reading.options, reading.strict_tags)?;
    let spans = align(gold, &pred.corpus.sentences).map_err(|e| {
        Error::InvalidInput(format!(
            "the predictions in {} do not match the gold sentences in {}: {e}",
            path.display(),
            gold_path.display()
        ))
    })?;
    Ok((spans, pred.repaired_tags, pred.corpus.warnings))
}
