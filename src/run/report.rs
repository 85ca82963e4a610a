//! The figures of an experiment, as JSON and as a Markdown table: one row per
//! strategy, and the difference between the first strategy and each other one
//! with a paired bootstrap confidence interval.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::{predictions, Planned, Settings};
use crate::corpus::{Sentence, Span};
use crate::eval::{bootstrap_difference, score, Interval};

/// Bootstrap resamples for the difference intervals.
const BOOTSTRAP_SAMPLES: usize = 1000;

/// The results of one strategy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StrategyReport {
    pub strategy: String,
    pub scores: crate::eval::Report,
    pub requests: usize,
    /// Answer lines or tags that could not be read.
    pub unparseable: usize,
    /// Mentions given a type the experiment does not ask for.
    pub unknown_types: usize,
    /// Mentions not found in the test sentence.
    pub not_found: usize,
    /// Demonstrations dropped to fit the model's context.
    pub dropped_demos: usize,
}

/// Strict micro F1 of `first` minus that of `second`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub first: String,
    pub second: String,
    #[serde(flatten)]
    pub interval: Interval,
}

/// Everything an experiment measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub settings: Settings,
    pub index: String,
    pub test: String,
    pub queries: usize,
    pub types: Vec<String>,
    pub unseen_types: Vec<String>,
    pub strategies: Vec<StrategyReport>,
    pub comparisons: Vec<Comparison>,
}

/// Labels of the report's inputs.
pub struct Inputs<'a> {
    pub index: &'a str,
    pub test: &'a str,
    pub types: &'a [String],
    pub unseen_types: &'a [String],
}

impl Report {
    /// Scores every strategy against `gold` and compares the first with the others.
    pub fn build(planned: &[Planned], gold: &[Sentence], settings: &Settings, inputs: &Inputs) -> Report {
        let gold_spans: Vec<Vec<Span>> = gold.iter().map(|s| s.entities.clone()).collect();
        let predicted: Vec<Vec<Vec<Span>>> = planned.iter().map(|p| predictions(p, gold.len())).collect();
        let strategies = planned
            .iter()
            .zip(&predicted)
            .map(|(p, spans)| StrategyReport {
                strategy: p.strategy.to_string(),
                scores: score(&gold_spans, spans),
                requests: p.exchanges.len(),
                unparseable: p.exchanges.iter().map(|e| e.unparseable).sum(),
                unknown_types: p.exchanges.iter().map(|e| e.unknown_types).sum(),
                not_found: p.exchanges.iter().map(|e| e.not_found).sum(),
                dropped_demos: p.exchanges.iter().map(|e| e.dropped_demos).sum(),
            })
            .collect::<Vec<_>>();
        let comparisons = (1..planned.len())
            .map(|other| Comparison {
                first: strategies[0].strategy.clone(),
                second: strategies[other].strategy.clone(),
                interval: bootstrap_difference(
                    &gold_spans,
                    &predicted[0],
                    &predicted[other],
                    BOOTSTRAP_SAMPLES,
                    settings.seed,
                ),
            })
            .collect();
        Report {
            settings: settings.clone(),
            index: inputs.index.to_string(),
            test: inputs.test.to_string(),
            queries: gold.len(),
            types: inputs.types.to_vec(),
            unseen_types: inputs.unseen_types.to_vec(),
            strategies,
            comparisons,
        }
    }

    /// The report as a Markdown section.
    pub fn markdown(&self) -> String {
        let s = &self.settings;
        let mut md = String::new();
        let _ = writeln!(md, "| strategy | P | R | F1 | macro F1 | relaxed F1 | requests | unparseable | not found | dropped demos |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for r in &self.strategies {
            let strict = &r.scores.strict;
            let _ = writeln!(
                md,
                "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {} | {} |",
                r.strategy,
                strict.micro.precision,
                strict.micro.recall,
                strict.micro.f1,
                strict.macro_avg.f1,
                r.scores.relaxed.micro.f1,
                r.requests,
                r.unparseable,
                r.not_found,
                r.dropped_demos
            );
        }
        for c in &self.comparisons {
            let _ = writeln!(
                md,
                "\nStrict micro F1, {} − {}: {:+.3} (95% bootstrap interval {:+.3} to {:+.3}, {} resamples, seed {}).",
                c.first, c.second, c.interval.difference, c.interval.low, c.interval.high, c.interval.samples, c.interval.seed
            );
        }
        let _ = writeln!(
            md,
            "\n{} sentences of `{}`, demonstrations from `{}`; prompt `{}`, k = {}, model `{}`, temperature {}, max tokens {}, seed {}.",
            self.queries, self.test, self.index, s.format, s.k, s.model, s.temperature, s.max_tokens, s.seed
        );
        if !self.unseen_types.is_empty() {
            let _ = writeln!(
                md,
                "\nTypes in the test set that the index never shows (cannot be predicted): {}.",
                self.unseen_types.join(", ")
            );
        }
        md
    }
}
