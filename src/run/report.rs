//! The figures of an experiment, as JSON and as a Markdown table: one row per
//! strategy, and the difference between the first strategy and each other one
//! with a paired bootstrap confidence interval.

use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{predictions, CandidateSource, FirstPassSummary, Planned, Settings};
use crate::corpus::{Sentence, Span};
use crate::digest::sha256_hex;
use crate::encoder::EncoderInfo;
use crate::eval::{bootstrap_difference, score, Interval, Report as Evaluation, BOOTSTRAP_SAMPLES};
use crate::knowledge::SourceInfo;
use crate::select::{Method, Strategy};

/// The results of one strategy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StrategyResult {
    /// The arm's name: the strategy's, or `zero-shot` when k is 0 (see
    /// [`super::ZERO_SHOT`]); its directory in the output.
    pub name: String,
    /// The strategy.
    pub strategy: Strategy,
    /// How its demonstrations were chosen: parameters, filters, order, seed.
    pub method: Method,
    /// Strict and relaxed scores on the test corpus.
    pub scores: Evaluation,
    /// Requests made: one per query and pass.
    pub requests: usize,
    /// Answer lines or tags that could not be read.
    pub unparseable: usize,
    /// Mentions given a type the experiment does not ask for.
    pub unknown_types: usize,
    /// Mentions not found in the test sentence.
    pub not_found: usize,
    /// Demonstrations dropped to fit the model's context.
    pub dropped_demos: usize,
    /// Hints shown, over all requests.
    #[serde(default)]
    pub hints: usize,
    /// Hints left out (beyond the caps, or to fit the context), over all requests.
    #[serde(default)]
    pub dropped_hints: usize,
}

/// Strict micro F1 of `first` minus that of `second`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The first strategy of the settings.
    pub first: Strategy,
    /// The strategy compared with it.
    pub second: Strategy,
    /// The difference and its bootstrap interval (inline in JSON).
    #[serde(flatten)]
    pub interval: Interval,
}

/// A file an experiment read, by path and content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    /// The path as given.
    pub path: String,
    /// sha256 of the contents read, in hex.
    pub sha256: String,
}

impl FileId {
    /// The identity of `path`, which holds `text`.
    pub(super) fn of(path: &Path, text: &str) -> Self {
        FileId {
            path: path.display().to_string(),
            sha256: sha256_hex(text.as_bytes()),
        }
    }
}

/// The instruction files given, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionFiles {
    pub definitions: Option<FileId>,
    pub guidelines: Option<FileId>,
    pub template: Option<FileId>,
}

/// What an experiment's results were made from: everything that changes
/// them, so that a report can be reproduced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    pub exemplar_version: String,
    pub settings: Settings,
    /// The identity answers were keyed with: the server's URL, or `batch`.
    pub backend: String,
    /// The sentence encoder of the index (and so of the queries).
    pub encoder: EncoderInfo,
    /// sha256 of the index's demonstrations.
    pub demonstrations_sha256: String,
    pub instructions: InstructionFiles,
    /// The index directory, as given.
    pub index: String,
    /// The test corpus, as given.
    pub test: String,
    pub queries: usize,
    pub types: Vec<String>,
    pub unseen_types: Vec<String>,
    /// The knowledge sources hints came from: name, version, sha256, licence notice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub knowledge: Vec<SourceInfo>,
}

/// Everything an experiment measured, and what it was made from: `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// What the results were made from (inline in JSON).
    #[serde(flatten)]
    pub provenance: Provenance,
    /// One per strategy, in the order of the settings.
    pub strategies: Vec<StrategyResult>,
    /// The first strategy against each other one.
    pub comparisons: Vec<Comparison>,
    /// The first pass of a two-pass run (`--knowledge-candidates llm`):
    /// requests and unparseable answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_pass: Option<FirstPassSummary>,
}

impl ExperimentReport {
    /// Scores every strategy against `gold` and compares the first with the others.
    pub(super) fn build(planned: &[Planned], gold: &[Sentence], provenance: Provenance) -> Self {
        let gold_spans: Vec<Vec<Span>> = gold.iter().map(|s| s.entities.clone()).collect();
        let predicted: Vec<Vec<Vec<Span>>> = planned.iter().map(|p| predictions(p, gold.len())).collect();
        let strategies = planned
            .iter()
            .zip(&predicted)
            .map(|(p, spans)| StrategyResult {
                name: p.name.clone(),
                strategy: p.strategy,
                method: p.method.clone(),
                scores: score(&gold_spans, spans),
                requests: p.exchanges.len(),
                unparseable: p.exchanges.iter().map(|e| e.unparseable).sum(),
                unknown_types: p.exchanges.iter().map(|e| e.unknown_types).sum(),
                not_found: p.exchanges.iter().map(|e| e.not_found).sum(),
                dropped_demos: p.exchanges.iter().map(|e| e.dropped_demos).sum(),
                hints: p.exchanges.iter().map(|e| e.hints.len()).sum(),
                dropped_hints: p.exchanges.iter().map(|e| e.dropped_hints).sum(),
            })
            .collect::<Vec<_>>();
        let comparisons = (1..planned.len())
            .map(|other| Comparison {
                first: strategies[0].strategy,
                second: strategies[other].strategy,
                interval: bootstrap_difference(
                    &gold_spans,
                    &predicted[0],
                    &predicted[other],
                    BOOTSTRAP_SAMPLES,
                    provenance.settings.seed,
                ),
            })
            .collect();
        ExperimentReport {
            provenance,
            strategies,
            comparisons,
            first_pass: None,
        }
    }

    /// The report as a Markdown section.
    pub fn markdown(&self) -> String {
        let p = &self.provenance;
        let s = &p.settings;
        let mut md = String::new();
        let _ = writeln!(md, "| strategy | P | R | F1 | macro F1 | relaxed F1 | requests | unparseable | not found | dropped demos |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for r in &self.strategies {
            let strict = &r.scores.strict;
            let _ = writeln!(
                md,
                "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {} | {} |",
                r.name,
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
            p.queries, p.test, p.index, s.format, s.k, s.model, s.temperature, s.max_tokens, s.seed
        );
        if s.no_prompt_cache {
            let _ = writeln!(
                md,
                "\nEvery prompt computed afresh by the server (`cache_prompt: false`), so reruns get the same answers."
            );
        }
        write_knowledge(&mut md, self);
        if !p.unseen_types.is_empty() {
            let _ = writeln!(
                md,
                "\nTypes in the test set that the index never shows (cannot be predicted): {}.",
                p.unseen_types.join(", ")
            );
        }
        md
    }
}

/// The knowledge sources with their notices, and each strategy's hint counts.
fn write_knowledge(md: &mut String, report: &ExperimentReport) {
    if report.provenance.knowledge.is_empty() {
        return;
    }
    for source in &report.provenance.knowledge {
        let _ = writeln!(md, "\nHints from {}.", source.notice());
    }
    let candidates = report
        .provenance
        .settings
        .knowledge
        .as_ref()
        .map(|k| k.candidates);
    if candidates == Some(CandidateSource::Llm) {
        let _ = write!(md, "\nHints for the terms the model listed in a first request");
        if let Some(first) = &report.first_pass {
            let _ = write!(
                md,
                " ({} requests, {} answers unparseable)",
                first.requests, first.unparseable
            );
        }
        let _ = writeln!(md, ".");
    }
    let counts: Vec<String> = report
        .strategies
        .iter()
        .map(|r| format!("{} {} shown, {} left out", r.name, r.hints, r.dropped_hints))
        .collect();
    let _ = writeln!(md, "\nHints: {}.", counts.join("; "));
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::encoder::Pooling;
    use crate::index::SearchMode;
    use crate::prompt::PromptFormat;
    use crate::run::Api;

    fn provenance(search: SearchMode) -> Provenance {
        Provenance {
            exemplar_version: "0.1.0".into(),
            settings: Settings {
                methods: vec![
                    Method::new(Strategy::Mmr).resolve(8).unwrap(),
                    Method {
                        seed: 7,
                        ..Method::new(Strategy::Random)
                    },
                ],
                k: 8,
                seed: 7,
                search,
                format: PromptFormat::GptNer,
                api: Api::Chat,
                model: "gemma-3-270m".into(),
                temperature: 0.5,
                max_tokens: 96,
                context_tokens: 2048,
                concurrency: 2,
                no_prompt_cache: false,
                knowledge: None,
            },
            backend: "http://127.0.0.1:8089".into(),
            encoder: EncoderInfo {
                id: "sentence-transformers/all-MiniLM-L6-v2".into(),
                sha256: "ab".repeat(32),
                tokenizer_sha256: "cd".repeat(32),
                dimension: 384,
                pooling: Pooling::Mean,
                max_length: 256,
            },
            demonstrations_sha256: "ef".repeat(32),
            instructions: InstructionFiles {
                template: Some(FileId::of(Path::new("prompts/gpt-ner.txt"), "Find {type}.")),
                ..InstructionFiles::default()
            },
            index: "indexes/ncbi-disease".into(),
            test: "test.tsv".into(),
            queries: 0,
            types: vec!["Disease".into()],
            unseen_types: Vec::new(),
            knowledge: Vec::new(),
        }
    }

    fn report_json(search: SearchMode) -> Value {
        let report = ExperimentReport::build(&[], &[], provenance(search));
        serde_json::to_value(&report).unwrap()
    }

    #[test]
    fn the_report_records_every_setting_that_changes_a_result() {
        let report = report_json(SearchMode::Hnsw { ef: Some(64) });
        assert_eq!(
            report["settings"],
            json!({
                "methods": [
                    {
                        "strategy": "mmr",
                        "params": {"lambda": 0.5, "candidates": 64},
                        "filters": {"min_entities": 0, "exclude_same_doc": false, "where": {}},
                        "order": "similar-last",
                        "seed": 42,
                    },
                    {
                        "strategy": "random",
                        "params": {},
                        "filters": {"min_entities": 0, "exclude_same_doc": false, "where": {}},
                        "order": "similar-last",
                        "seed": 7,
                    },
                ],
                "k": 8,
                "seed": 7,
                "search": {"mode": "hnsw", "ef": 64},
                "format": "gpt-ner",
                "api": "chat",
                "model": "gemma-3-270m",
                "temperature": 0.5,
                "max_tokens": 96,
                "context_tokens": 2048,
                "concurrency": 2,
            })
        );
        assert_eq!(report["backend"], "http://127.0.0.1:8089");
        assert_eq!(report["encoder"]["id"], "sentence-transformers/all-MiniLM-L6-v2");
        assert_eq!(report["encoder"]["sha256"], "ab".repeat(32));
        assert_eq!(report["demonstrations_sha256"], "ef".repeat(32));
        assert_eq!(report["exemplar_version"], "0.1.0");
        assert_eq!(
            report["instructions"]["template"]["sha256"],
            sha256_hex(b"Find {type}.")
        );
        assert_eq!(report["instructions"]["definitions"], Value::Null);
        assert_eq!(
            report_json(SearchMode::Exact)["settings"]["search"],
            json!({"mode": "exact"})
        );
    }

    #[test]
    fn settings_read_back_from_a_report_are_the_same() {
        for search in [SearchMode::Exact, SearchMode::Hnsw { ef: Some(128) }] {
            let settings = &report_json(search)["settings"];
            let read: Settings = serde_json::from_value(settings.clone()).unwrap();
            assert_eq!(read, provenance(search).settings);
        }
    }
}
