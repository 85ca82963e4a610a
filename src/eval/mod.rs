//! Scoring predicted entity spans against gold ones, sentence by sentence.
//!
//! Two ways of matching, counted by one routine: **strict** (same start, end
//! and type: entity-level scoring as in CoNLL and seqeval, whose figures it
//! reproduces on the same chunks) and **relaxed** (overlapping spans of the
//! same type: a boundary error still counts). Each gives precision, recall and
//! F1 per type, micro-averaged over all entities and macro-averaged over types.
//! [`bootstrap_difference`] says how far a difference between two systems can
//! be trusted; [`read_predictions`] reads a model's output file (leniently,
//! as seqeval reads tags) and [`align`] puts predictions made on another copy
//! of the text onto the gold sentences.

mod align;
mod bootstrap;
mod files;
mod predictions;
#[cfg(test)]
mod seqeval;

use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use crate::corpus::Span;

pub use align::align;
pub use bootstrap::{bootstrap, bootstrap_difference, Interval, BOOTSTRAP_SAMPLES};
pub use files::{evaluate_files, Baseline, Evaluation, Reading, Scored};
pub use predictions::{predictions_format, read_predictions, Predictions};

/// Precision, recall and F1 as fractions; 0 where undefined (no predictions,
/// no gold entities), as seqeval reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    /// Correct predictions over all predictions.
    pub precision: f64,
    /// Gold entities found over all gold entities.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// The figures for one entity type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeScore {
    /// This type's precision, recall and F1 (inline in JSON).
    #[serde(flatten)]
    pub prf: Prf,
    /// Gold entities of this type.
    pub support: usize,
    /// Predicted entities of this type.
    pub predicted: usize,
    /// Predicted entities that match a gold one (precision's numerator).
    pub correct: usize,
    /// Gold entities that a prediction matches (recall's numerator); the same
    /// as `correct` in strict scoring, not always in relaxed scoring, where
    /// one long prediction can cover two gold entities.
    pub found: usize,
}

/// One way of matching, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Over all entities, whatever their type.
    pub micro: Prf,
    /// The unweighted mean of the per-type figures, over every type that
    /// occurs in the gold or the predictions (seqeval's "macro avg").
    #[serde(rename = "macro")]
    pub macro_avg: Prf,
    /// The figures of each type, sorted by type.
    pub per_type: BTreeMap<String, TypeScore>,
}

/// Strict and relaxed scores of a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Same start, end and type.
    pub strict: Scores,
    /// Same type, at least one character in common.
    pub relaxed: Scores,
    /// Sentences scored.
    pub sentences: usize,
}

/// When a predicted span counts as a gold one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matching {
    /// Same start, end and type.
    Strict,
    /// Same type, at least one character in common.
    Relaxed,
}

impl Matching {
    fn matches(self, gold: &Span, predicted: &Span) -> bool {
        gold.label == predicted.label
            && match self {
                Matching::Strict => gold.start == predicted.start && gold.end == predicted.end,
                Matching::Relaxed => gold.start < predicted.end && predicted.start < gold.end,
            }
    }
}

/// The counts behind one line of figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    gold: usize,
    predicted: usize,
    correct: usize,
    found: usize,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.gold += other.gold;
        self.predicted += other.predicted;
        self.correct += other.correct;
        self.found += other.found;
    }
}

impl Counts {
    /// seqeval's arithmetic, so that the figures agree to the last bit:
    /// F1 from the two ratios, not from the counts.
    fn prf(self) -> Prf {
        let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let precision = ratio(self.correct, self.predicted);
        let recall = ratio(self.found, self.gold);
        let sum = precision + recall;
        let f1 = if sum == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / sum
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

/// Counts per type, keyed by the borrowed label.
type TypeCounts<'a> = BTreeMap<&'a str, Counts>;

/// Adds one sentence's counts. Duplicate spans count once: a set of entities
/// is scored, as seqeval and the CoNLL script do.
fn count_sentence<'a>(gold: &'a [Span], predicted: &'a [Span], rule: Matching, counts: &mut TypeCounts<'a>) {
    let (gold, predicted) = (unique(gold), unique(predicted));
    for g in &gold {
        let c = counts.entry(&g.label).or_default();
        c.gold += 1;
        c.found += usize::from(predicted.iter().any(|p| rule.matches(g, p)));
    }
    for p in &predicted {
        let c = counts.entry(&p.label).or_default();
        c.predicted += 1;
        c.correct += usize::from(gold.iter().any(|g| rule.matches(g, p)));
    }
}

fn unique(spans: &[Span]) -> Vec<&Span> {
    let mut unique: Vec<&Span> = spans.iter().collect();
    unique.sort();
    unique.dedup();
    unique
}

/// One sentence's counts over all types (what the bootstrap resamples).
fn sentence_totals(gold: &[Span], predicted: &[Span], rule: Matching) -> Counts {
    let mut counts = TypeCounts::new();
    count_sentence(gold, predicted, rule, &mut counts);
    total(&counts)
}

fn total(counts: &TypeCounts) -> Counts {
    let mut sum = Counts::default();
    for &c in counts.values() {
        sum += c;
    }
    sum
}

fn summarise(counts: &TypeCounts) -> Scores {
    let per_type: BTreeMap<String, TypeScore> = counts
        .iter()
        .map(|(&label, &c)| {
            let score = TypeScore {
                prf: c.prf(),
                support: c.gold,
                predicted: c.predicted,
                correct: c.correct,
                found: c.found,
            };
            (label.to_string(), score)
        })
        .collect();
    Scores {
        micro: total(counts).prf(),
        macro_avg: mean(per_type.values().map(|t| t.prf)),
        per_type,
    }
}

/// Field by field; 0 over no types (seqeval gives NaN there).
fn mean(prfs: impl ExactSizeIterator<Item = Prf>) -> Prf {
    let n = prfs.len();
    if n == 0 {
        return Prf::default();
    }
    let sum = prfs.fold(Prf::default(), |s, p| Prf {
        precision: s.precision + p.precision,
        recall: s.recall + p.recall,
        f1: s.f1 + p.f1,
    });
    let n = n as f64;
    Prf {
        precision: sum.precision / n,
        recall: sum.recall / n,
        f1: sum.f1 / n,
    }
}

/// Scores predictions against gold entities, sentence `i` of one against
/// sentence `i` of the other.
///
/// # Panics
/// If the two do not have the same number of sentences (see [`align`]).
pub fn score(gold: &[Vec<Span>], predicted: &[Vec<Span>]) -> Report {
    assert_eq!(
        gold.len(),
        predicted.len(),
        "gold and predictions must have as many sentences"
    );
    let scores = |rule| {
        let mut counts = TypeCounts::new();
        for (g, p) in gold.iter().zip(predicted) {
            count_sentence(g, p, rule, &mut counts);
        }
        summarise(&counts)
    };
    Report {
        strict: scores(Matching::Strict),
        relaxed: scores(Matching::Relaxed),
        sentences: gold.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn span(start: usize, end: usize, label: &str) -> Span {
        Span {
            start,
            end,
            label: label.into(),
        }
    }

    fn prf(precision: f64, recall: f64) -> Prf {
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }

    fn assert_close(actual: Prf, expected: Prf) {
        for (a, e) in [
            (actual.precision, expected.precision),
            (actual.recall, expected.recall),
            (actual.f1, expected.f1),
        ] {
            assert!((a - e).abs() < 1e-12, "{actual:?} != {expected:?}");
        }
    }

    #[test]
    fn perfect_prediction() {
        let gold = vec![vec![span(0, 5, "Disease"), span(10, 15, "Chemical")], vec![]];
        let report = score(&gold, &gold);
        for scores in [&report.strict, &report.relaxed] {
            assert_close(scores.micro, prf(1.0, 1.0));
            assert_close(scores.macro_avg, prf(1.0, 1.0));
        }
        assert_eq!(report.sentences, 2);
        assert_eq!(report.strict.per_type["Disease"].support, 1);
    }

    #[test]
    fn empty_prediction_scores_zero() {
        let gold = vec![vec![span(0, 5, "Disease")]];
        let report = score(&gold, &[vec![]]);
        assert_close(report.strict.micro, prf(0.0, 0.0));
        let disease = &report.strict.per_type["Disease"];
        assert_eq!((disease.support, disease.predicted, disease.correct), (1, 0, 0));
    }

    #[test]
    fn nothing_at_all_scores_zero() {
        let report = score(&[vec![], vec![]], &[vec![], vec![]]);
        assert_eq!(report.strict.micro, Prf::default());
        assert_eq!(report.strict.macro_avg, Prf::default());
        assert!(report.relaxed.per_type.is_empty());
    }

    #[test]
    fn partial_overlap_is_relaxed_only() {
        // "breast cancer" predicted as "cancer"; "BRCA1" missed; a stray "gene".
        let gold = vec![vec![span(0, 5, "Gene"), span(20, 33, "Disease")]];
        let predicted = vec![vec![span(27, 33, "Disease"), span(6, 10, "Gene")]];
        let report = score(&gold, &predicted);
        assert_close(report.strict.micro, prf(0.0, 0.0));
        assert_close(report.relaxed.micro, prf(0.5, 0.5));
        assert_close(report.relaxed.per_type["Disease"].prf, prf(1.0, 1.0));
        assert_close(report.relaxed.per_type["Gene"].prf, prf(0.0, 0.0));
    }

    #[test]
    fn touching_spans_do_not_overlap() {
        let report = score(&[vec![span(0, 5, "X")]], &[vec![span(5, 9, "X")]]);
        assert_eq!(report.relaxed.micro, Prf::default());
    }

    #[test]
    fn relaxed_precision_and_recall_count_different_sides() {
        // One long prediction covers two gold entities: 1/1 correct, 2/2 found.
        let gold = vec![vec![span(0, 3, "X"), span(4, 8, "X")]];
        let report = score(&gold, &[vec![span(0, 8, "X")]]);
        let x = &report.relaxed.per_type["X"];
        assert_eq!((x.support, x.predicted, x.correct, x.found), (2, 1, 1, 2));
        assert_close(x.prf, prf(1.0, 1.0));
        let strict = &report.strict.per_type["X"];
        assert_eq!((strict.correct, strict.found), (0, 0));
    }

    #[test]
    fn type_confusion_is_wrong_in_both_modes() {
        let report = score(&[vec![span(0, 5, "Gene")]], &[vec![span(0, 5, "Disease")]]);
        assert_eq!(report.strict.micro, Prf::default());
        assert_eq!(report.relaxed.micro, Prf::default());
        // Both types are averaged: Gene (support 1, nothing predicted) and Disease (predicted only).
        assert_eq!(report.strict.per_type.len(), 2);
        assert_eq!(report.strict.per_type["Disease"].support, 0);
    }

    #[test]
    fn duplicate_spans_count_once() {
        let gold = vec![vec![span(0, 5, "X"), span(0, 5, "X")]];
        let predicted = vec![vec![span(0, 5, "X"), span(0, 5, "X"), span(6, 9, "X")]];
        let x = &score(&gold, &predicted).strict.per_type["X"];
        assert_eq!((x.support, x.predicted, x.correct), (1, 2, 1));
    }

    #[test]
    fn the_same_span_in_two_sentences_counts_twice() {
        let gold = vec![vec![span(0, 5, "X")], vec![span(0, 5, "X")]];
        let x = &score(&gold, &gold).strict.per_type["X"];
        assert_eq!((x.support, x.correct), (2, 2));
    }

    #[test]
    fn macro_averages_types_found_only_in_predictions() {
        // A: perfect; B: predicted but absent from the gold (all figures 0).
        let gold = vec![vec![span(0, 1, "A")]];
        let predicted = vec![vec![span(0, 1, "A"), span(2, 3, "B")]];
        let strict = score(&gold, &predicted).strict;
        assert_close(
            strict.macro_avg,
            Prf {
                precision: 0.5,
                recall: 0.5,
                f1: 0.5,
            },
        );
        assert_close(strict.micro, prf(0.5, 1.0));
    }

    #[test]
    fn macro_f1_is_the_mean_of_f1s_not_of_precision_and_recall() {
        // A: P 1, R 1/2 (F1 2/3); B: P 1/2, R 1 (F1 2/3): macro P = R = 3/4, F1 2/3.
        let gold = vec![vec![span(0, 1, "A"), span(2, 3, "A"), span(4, 5, "B")]];
        let predicted = vec![vec![span(0, 1, "A"), span(4, 5, "B"), span(6, 7, "B")]];
        let macro_avg = score(&gold, &predicted).strict.macro_avg;
        assert_close(
            macro_avg,
            Prf {
                precision: 0.75,
                recall: 0.75,
                f1: 2.0 / 3.0,
            },
        );
    }

    #[test]
    #[should_panic(expected = "as many sentences")]
    fn different_lengths_panic() {
        score(&[vec![]], &[]);
    }

    #[test]
    fn serialises_as_documented() {
        let report = score(&[vec![span(0, 1, "A")]], &[vec![span(0, 1, "A")]]);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["strict"]["macro"]["f1"], 1.0);
        assert_eq!(json["relaxed"]["micro"]["precision"], 1.0);
        assert_eq!(
            json["strict"]["per_type"]["A"],
            serde_json::json!({"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1, "predicted": 1, "correct": 1, "found": 1})
        );
        assert_eq!(json["sentences"], 1);
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }

    /// One sentence's spans: up to 5, over 30 characters, 3 types.
    fn spans() -> impl Strategy<Value = Vec<Span>> {
        let one = (0..30usize, 1..6usize, 0..3u8)
            .prop_map(|(start, length, t)| span(start, start + length, ["A", "B", "C"][usize::from(t)]));
        prop::collection::vec(one, 0..5)
    }

    /// Gold sentences and predictions for them.
    pub(crate) fn gold_and_predicted() -> impl Strategy<Value = (Vec<Vec<Span>>, Vec<Vec<Span>>)> {
        prop::collection::vec(spans(), 0..6).prop_flat_map(|gold| {
            let n = gold.len();
            (Just(gold), prop::collection::vec(spans(), n))
        })
    }

    proptest! {
        #[test]
        fn a_prediction_equal_to_the_gold_is_perfect(gold in prop::collection::vec(spans(), 0..6)) {
            let report = score(&gold, &gold);
            let expected = if gold.iter().all(Vec::is_empty) { 0.0 } else { 1.0 };
            for scores in [&report.strict, &report.relaxed] {
                prop_assert_eq!(scores.micro, Prf { precision: expected, recall: expected, f1: expected });
                prop_assert_eq!(scores.macro_avg.f1, expected);
            }
        }

        #[test]
        fn strict_never_beats_relaxed((gold, predicted) in gold_and_predicted()) {
            let report = score(&gold, &predicted);
            for (label, strict) in &report.strict.per_type {
                let relaxed = &report.relaxed.per_type[label];
                prop_assert_eq!((strict.support, strict.predicted), (relaxed.support, relaxed.predicted));
                prop_assert_eq!(strict.correct, strict.found);
                prop_assert!(strict.correct <= relaxed.correct && strict.found <= relaxed.found);
                prop_assert!(strict.correct <= strict.predicted && strict.found <= strict.support);
            }
            prop_assert!(report.strict.micro.precision <= report.relaxed.micro.precision);
            prop_assert!(report.strict.micro.recall <= report.relaxed.micro.recall);
            prop_assert!((0.0..=1.0).contains(&report.relaxed.micro.f1));
        }
    }
}
