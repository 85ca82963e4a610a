//! One few-shot NER experiment: for each strategy, select demonstrations
//! (none when k is 0: zero-shot, then one arm only, named [`ZERO_SHOT`]:
//! every strategy would give the same prompts), render prompts (with hints
//! from [`crate::knowledge`] sources when asked for, for the terms matched in
//! the sentence or those the model lists in a first request, [`hints`]),
//! generate answers, parse them into spans and score them against the gold
//! entities. The same queries, prompt format, model and parameters for
//! every strategy, so the strategies compare fairly. A first request per
//! sentence whose answer shapes the prompts is a [`two_pass::FirstPass`].
//!
//! [`Experiment`] is the whole of it, for the command line and any other
//! caller alike: [`Experiment::new`] opens the index and checks the settings,
//! [`Experiment::embed`] embeds the test sentences when a strategy needs their
//! vectors, and [`Experiment::run`] plans every request, gets the answers from
//! an [`AnswerSource`], writes the output directory ([`output`]) and returns
//! the [`ExperimentReport`].

mod experiment;
pub mod hints;
mod mentions;
pub mod output;
mod report;
pub mod two_pass;

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use experiment::{AnswerSource, Event, Experiment, Instructions, BATCH_BACKEND};
pub use hints::CandidateSource;
pub use report::{Comparison, ExperimentReport, FileId, StrategyResult};
pub use two_pass::{FirstExchange, FirstPassSummary};

use crate::backend::{Backend, Input, Params, Request};
use crate::corpus::{Example, Sentence, Span};
use crate::error::{Error, Result};
use crate::index::{Index, SearchMode, Vectors};
use crate::knowledge::{HintLimits, Hints};
use crate::names::Named;
use crate::prompt::{self, Context, Pass, PromptFormat, QueryInput};
use crate::select::{select_in_docs, Demo, Method, Resources, Strategy};

/// Which endpoint shape the prompts take.
pub use crate::backend::Api;

/// Everything that determines an experiment's answers besides its inputs;
/// written into `report.json` so that a result says how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// How each strategy compared chooses demonstrations, in order; the
    /// first is compared with each other one. [`Experiment::new`] resolves
    /// them (every parameter given its value), so the report names the
    /// values used.
    pub methods: Vec<Method>,
    /// Demonstrations per query; 0 asks zero-shot (no selection at all).
    pub k: usize,
    /// Seed of random selection, of generation and of the bootstrap.
    pub seed: u64,
    /// How k-NN finds neighbours; [`Experiment::new`] replaces a default
    /// `ef` by the index's, so the report names the value used.
    #[serde(with = "search_setting")]
    pub search: SearchMode,
    /// How demonstrations are rendered and answers read.
    pub format: PromptFormat,
    /// Whether prompts go to the completion or the chat endpoint.
    pub api: Api,
    /// The LLM's name as the server knows it.
    pub model: String,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens an answer may have; reserved out of `context_tokens`.
    pub max_tokens: usize,
    /// The model's context length in tokens; prompts longer than this minus
    /// `max_tokens` lose their least similar demonstrations.
    pub context_tokens: usize,
    /// Requests in flight at most (0 counts as 1).
    pub concurrency: usize,
    /// Asks the server to compute every prompt afresh (`cache_prompt: false`),
    /// so that answers are repeatable (see [`Params::cache_prompt`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_prompt_cache: bool,
    /// Knowledge sources whose hints prompts show; `None`: no hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge: Option<KnowledgeSettings>,
}

/// Where hints come from and how many a prompt shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeSettings {
    /// The sources, as `--knowledge` names them: `gazetteer`, `hpo`, files (comma-separated).
    pub sources: String,
    /// Which terms hints are given for: those matched in the sentence, or
    /// those the model lists in a first request.
    #[serde(default)]
    pub candidates: CandidateSource,
    /// The caps on each prompt's hints.
    #[serde(flatten)]
    pub limits: HintLimits,
}

impl Settings {
    /// Whether some strategy needs the test sentences' vectors (see [`Experiment::embed`]).
    pub fn needs_vectors(&self) -> bool {
        let first_pass_needs = |m: &Method| {
            m.first_pass()
                .ok()
                .flatten()
                .is_some_and(|s| Method::new(s).needs_vector())
        };
        self.k > 0
            && self
                .methods
                .iter()
                .any(|m| m.needs_vector() || first_pass_needs(m))
    }

    /// Refuses settings no experiment can run with; resolves the methods.
    /// Zero-shot keeps only the first method, since every strategy would give
    /// the same prompts; the warning returned says so.
    fn check(&mut self) -> Result<Option<String>> {
        if self.methods.is_empty() {
            return Err(Error::InvalidInput("no strategy to run".into()));
        }
        let k = self.k;
        self.methods = self
            .methods
            .drain(..)
            .map(|m| m.resolve(k))
            .collect::<Result<_>>()?;
        if k > 0 {
            return self.add_first_pass_arms();
        }
        if self.methods.len() == 1 {
            return Ok(None);
        }
        let left_out: Vec<&str> = self.methods[1..].iter().map(|m| m.strategy.name()).collect();
        let warning = format!(
            "k = 0 is zero-shot: one arm, {ZERO_SHOT}, is run ({} would give the same prompts)",
            left_out.join(", ")
        );
        self.methods.truncate(1);
        Ok(Some(warning))
    }

    /// Adds the arm of each first pass (entity's `sources=llm`) not run
    /// already: its requests are the first pass's, answered anyway, so both
    /// passes are scored in the report at no cost. The warning says so.
    fn add_first_pass_arms(&mut self) -> Result<Option<String>> {
        let mut added = Vec::new();
        for i in 0..self.methods.len() {
            let Some(strategy) = self.methods[i].first_pass()? else {
                continue;
            };
            if self.methods.iter().any(|m| m.strategy == strategy) {
                continue;
            }
            let entity = &self.methods[i];
            let first = Method {
                strategy,
                params: Default::default(),
                filters: entity.filters.clone(),
                order: entity.order,
                seed: entity.seed,
            };
            self.methods.push(first.resolve(self.k)?);
            added.push(strategy.name());
        }
        Ok((!added.is_empty()).then(|| {
            format!(
                "{} (the first pass of entity's sources=llm) is scored too: its answers are the first pass's",
                added.join(", ")
            )
        }))
    }

    /// The method of the first pass of entity's `sources=llm`: the arm of
    /// its `first_pass` strategy ([`Settings::check`] adds it when missing);
    /// `None` when no method takes its candidates from a first pass, or k is 0.
    fn first_pass_method(&self) -> Result<Option<&Method>> {
        if self.k == 0 {
            return Ok(None);
        }
        for method in &self.methods {
            if let Some(strategy) = method.first_pass()? {
                let arm = self.methods.iter().find(|m| m.strategy == strategy);
                return arm
                    .map(Some)
                    .ok_or_else(|| Error::Internal(format!("no {strategy} arm for entity's first pass")));
            }
        }
        Ok(None)
    }

    /// The name of a method's arm in the report and the output directory:
    /// its strategy's, or [`ZERO_SHOT`] when k is 0.
    fn arm(&self, method: &Method) -> String {
        match self.k {
            0 => ZERO_SHOT.to_string(),
            _ => method.strategy.name().to_string(),
        }
    }
}

/// The name of the one arm of a zero-shot run (k = 0).
pub const ZERO_SHOT: &str = "zero-shot";

/// [`SearchMode`] in JSON: `{"mode": "hnsw", "ef": 64}` or `{"mode": "exact"}`
/// (`#[serde(with = "exemplar::run::search_setting")]`).
pub mod search_setting {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::index::SearchMode;

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "mode", rename_all = "lowercase")]
    enum Setting {
        Hnsw { ef: Option<usize> },
        Exact,
    }

    /// Writes the mode.
    pub fn serialize<S: Serializer>(mode: &SearchMode, serializer: S) -> Result<S::Ok, S::Error> {
        match *mode {
            SearchMode::Hnsw { ef } => Setting::Hnsw { ef },
            SearchMode::Exact => Setting::Exact,
        }
        .serialize(serializer)
    }

    /// Reads the mode.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SearchMode, D::Error> {
        Ok(match Setting::deserialize(deserializer)? {
            Setting::Hnsw { ef } => SearchMode::Hnsw { ef },
            Setting::Exact => SearchMode::Exact,
        })
    }
}

/// One generation: which query, which pass, the request and (once made) the answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    /// Position of the query in the test corpus.
    pub query: usize,
    /// The query sentence's id.
    pub query_id: String,
    /// The type this pass asks for; `None` when one pass asks for all types.
    pub pass: Option<String>,
    /// The request's key (see [`Request::key`]): cache key and batch `custom_id`.
    pub key: String,
    /// Ids of the demonstrations kept in the prompt, in prompt order.
    pub demos: Vec<String>,
    /// Demonstrations (the least similar) left out to fit the context.
    pub dropped_demos: usize,
    /// The hints shown in the prompt, most specific first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// Hints left out: beyond the caps, or to fit the context.
    #[serde(default)]
    pub dropped_hints: usize,
    /// The query's first request, in a two-pass run (see [`two_pass`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_pass: Option<FirstExchange>,
    /// What is sent to the model.
    pub request: Request,
    /// The model's answer; `None` until it is generated.
    pub answer: Option<String>,
    /// Spans read from the answer (empty until then).
    pub spans: Vec<Span>,
    /// See [`prompt::Parsed::unparseable`].
    pub unparseable: usize,
    /// See [`prompt::Parsed::unknown_types`].
    pub unknown_types: usize,
    /// See [`prompt::Parsed::not_found`].
    pub not_found: usize,
}

/// The prompts of one strategy, before or after generation.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The arm's name: the strategy's, or [`ZERO_SHOT`].
    pub name: String,
    /// The strategy that chose the demonstrations.
    pub strategy: Strategy,
    /// How its demonstrations were chosen, resolved.
    pub method: Method,
    /// One per query and pass, in query order.
    pub exchanges: Vec<Exchange>,
}

/// A rough token count for prompt budgets: three characters a token
/// undercounts for English with typical LLM tokenizers, so budgets err on the
/// side of fitting.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(3)
}

/// What the prompts of each query take from before they are planned.
#[derive(Default)]
struct Prepared {
    /// Each query's hints (none without knowledge sources).
    hints: Vec<Hints>,
    /// Each query's first exchange in a two-pass run; empty otherwise.
    first: Vec<FirstExchange>,
    /// Each query's candidate mentions from a first pass (`entity` with `sources=llm`).
    mentions: Option<Vec<Vec<String>>>,
    /// What strategies use besides the index (the encoder, knowledge sources).
    resources: Resources,
}

/// Builds every request of every strategy. `vectors` are the queries'
/// vectors (needed by k-NN).
fn plan(
    index: &Index,
    queries: &[Sentence],
    vectors: Option<&Vectors>,
    settings: &Settings,
    ctx: &Context,
    prepared: &Prepared,
    backend_id: &str,
) -> Result<Vec<Planned>> {
    let no_hints = Hints::default();
    let planner = Planner {
        settings,
        ctx,
        backend_id,
    };
    settings
        .methods
        .iter()
        .map(|method| {
            let selections = select_all(index, method, queries, vectors, settings, prepared)?;
            let mut exchanges = Vec::new();
            for (q, (query, demos)) in queries.iter().zip(&selections).enumerate() {
                let hints = prepared.hints.get(q).unwrap_or(&no_hints);
                let mut planned = planner.exchanges(q, query, demos, hints);
                if let Some(first) = prepared.first.get(q) {
                    planned
                        .iter_mut()
                        .for_each(|e| e.first_pass = Some(first.clone()));
                }
                exchanges.extend(planned);
            }
            Ok(Planned {
                name: settings.arm(method),
                strategy: method.strategy,
                method: method.clone(),
                exchanges,
            })
        })
        .collect()
}

/// Each query's demonstrations by `method`; none at all when k is 0.
fn select_all(
    index: &Index,
    method: &Method,
    queries: &[Sentence],
    vectors: Option<&Vectors>,
    settings: &Settings,
    prepared: &Prepared,
) -> Result<Vec<Vec<Demo>>> {
    if settings.k == 0 {
        return Ok(vec![Vec::new(); queries.len()]);
    }
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let docs: Vec<Option<&str>> = queries.iter().map(|q| q.doc.as_deref()).collect();
    let selector = method.build_with(index, settings.search, settings.k, &prepared.resources)?;
    let mentions = prepared.mentions.as_deref();
    select_in_docs(
        index,
        selector.as_ref(),
        &texts,
        &docs,
        vectors,
        mentions,
        settings.k,
    )
}

/// The first request of each query by `method` (the first pass of
/// two-pass entity retrieval): exactly the request `method`'s own arm
/// makes, hints included.
fn first_requests(
    index: &Index,
    method: &Method,
    queries: &[Sentence],
    vectors: Option<&Vectors>,
    planner: &Planner,
    prepared: &Prepared,
) -> Result<Vec<Request>> {
    let no_hints = Hints::default();
    let selections = select_all(index, method, queries, vectors, planner.settings, prepared)?;
    queries
        .iter()
        .zip(&selections)
        .enumerate()
        .map(|(q, (query, demos))| {
            let hints = prepared.hints.get(q).unwrap_or(&no_hints);
            let mut exchanges = planner.exchanges(q, query, demos, hints);
            match exchanges.len() {
                1 => Ok(exchanges.remove(0).request),
                n => Err(Error::InvalidInput(format!(
                    "the first pass of entity's sources=llm reads one answer per sentence, and prompt format {} asks {n} (one per type): use tanl or list",
                    planner.settings.format
                ))),
            }
        })
        .collect()
}

/// What every request of a run shares.
struct Planner<'a> {
    settings: &'a Settings,
    ctx: &'a Context,
    backend_id: &'a str,
}

impl Planner<'_> {
    /// The requests of query `q` with `demos` (in prompt order), one per
    /// pass; prompts too long for the context lose their least similar
    /// demonstrations first, wherever the order put them.
    fn exchanges(&self, q: usize, query: &Sentence, demos: &[Demo], hints: &Hints) -> Vec<Exchange> {
        let settings = self.settings;
        let style = settings.format.style();
        let examples: Vec<Example> = demos.iter().map(|d| d.example.clone()).collect();
        let scores: Vec<Option<f32>> = demos.iter().map(|d| d.score).collect();
        let drop_order = prompt::drop_order(&scores);
        let budget = prompt::Budget {
            max_tokens: settings.context_tokens.saturating_sub(settings.max_tokens),
            count_tokens: &estimate_tokens,
            drop_order: &drop_order,
        };
        let input = QueryInput {
            text: &query.text,
            hints: &hints.lines,
        };
        style
            .passes(&self.ctx.types)
            .into_iter()
            .map(|pass| {
                let prompt = prompt::build(style.as_ref(), &pass, self.ctx, &examples, input, Some(&budget));
                let request = request_for(settings, &prompt);
                Exchange {
                    query: q,
                    query_id: query.id.clone(),
                    pass: pass.label.clone(),
                    key: request.key(self.backend_id),
                    demos: prompt.kept.iter().map(|&i| examples[i].id.clone()).collect(),
                    dropped_demos: prompt.dropped,
                    dropped_hints: hints.dropped + prompt.dropped_hints,
                    hints: prompt.hints,
                    first_pass: None,
                    request,
                    answer: None,
                    spans: Vec::new(),
                    unparseable: 0,
                    unknown_types: 0,
                    not_found: 0,
                }
            })
            .collect()
    }
}

/// The request sending `prompt` with the run's endpoint and decoding settings.
fn request_for(settings: &Settings, prompt: &prompt::Prompt) -> Request {
    let input = match settings.api {
        Api::Completions => Input::Completion(prompt.completion_text()),
        Api::Chat => Input::Chat(prompt.chat_messages()),
    };
    Request {
        input,
        params: Params {
            model: settings.model.clone(),
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
            stop: prompt.stop_sequences(),
            seed: Some(settings.seed),
            cache_prompt: settings.no_prompt_cache.then_some(false),
        },
    }
}

/// Runs `work` on its own pool of `concurrency` threads (at least one), so
/// that its parallel requests are at most that many in flight.
fn in_workers<T: Send>(concurrency: usize, work: impl FnOnce() -> T + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(concurrency.max(1))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {concurrency} workers: {e}")))?;
    Ok(pool.install(work))
}

/// Generates every planned answer with at most `concurrency` requests in
/// flight, then parses each, calling `answered` after each. Stops at the
/// first failure (answers already generated stay in the backend's cache).
fn generate(
    planned: &mut [Planned],
    queries: &[Sentence],
    backend: &dyn Backend,
    settings: &Settings,
    ctx: &Context,
    answered: impl Fn() + Sync,
) -> Result<()> {
    let style = settings.format.style();
    in_workers(settings.concurrency, || {
        planned
            .iter_mut()
            .flat_map(|p| p.exchanges.iter_mut())
            .collect::<Vec<_>>()
            .into_par_iter()
            .try_for_each(|exchange| {
                let answer = backend.generate(&exchange.request)?;
                let pass = Pass {
                    label: exchange.pass.clone(),
                };
                let parsed = style.parse(&answer.text, &queries[exchange.query].text, &pass, ctx);
                exchange.spans = parsed.spans;
                exchange.unparseable = parsed.unparseable;
                exchange.unknown_types = parsed.unknown_types;
                exchange.not_found = parsed.not_found;
                exchange.answer = Some(answer.text);
                answered();
                Ok(())
            })
    })?
}

/// The predicted spans of each query: the union over its passes, sorted.
pub fn predictions(planned: &Planned, queries: usize) -> Vec<Vec<Span>> {
    let mut spans: Vec<BTreeSet<Span>> = vec![BTreeSet::new(); queries];
    for exchange in &planned.exchanges {
        spans[exchange.query].extend(exchange.spans.iter().cloned());
    }
    spans.into_iter().map(|s| s.into_iter().collect()).collect()
}

/// Types in `test` that the index never shows: they cannot be predicted.
pub fn unseen_types(test: &[Sentence], types: &[String]) -> Vec<String> {
    let unseen: BTreeSet<&str> = test
        .iter()
        .flat_map(|s| &s.entities)
        .map(|e| e.label.as_str())
        .filter(|label| !types.iter().any(|t| t == label))
        .collect();
    unseen.into_iter().map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(strategies: &[Strategy], k: usize) -> Settings {
        Settings {
            methods: strategies.iter().map(|&s| Method::new(s)).collect(),
            k,
            seed: 42,
            search: SearchMode::Hnsw { ef: None },
            format: PromptFormat::Tanl,
            api: Api::Completions,
            model: "local".into(),
            temperature: 0.0,
            max_tokens: 128,
            context_tokens: 4096,
            concurrency: 2,
            no_prompt_cache: false,
            knowledge: None,
        }
    }

    #[test]
    fn the_first_pass_of_entity_is_an_arm_of_its_own() {
        let mut entity = Method::new(Strategy::Entity);
        entity.params = crate::select::Params::from_pairs(&["sources=llm", "first-pass=bm25"]).unwrap();
        let mut two_pass = settings(&[Strategy::Knn], 8);
        two_pass.methods.push(entity.clone());
        let warning = two_pass.check().unwrap().unwrap();
        assert!(warning.starts_with("bm25 (the first pass"), "{warning}");
        let arms: Vec<Strategy> = two_pass.methods.iter().map(|m| m.strategy).collect();
        assert_eq!(arms, [Strategy::Knn, Strategy::Entity, Strategy::Bm25]);
        assert_eq!(
            two_pass.first_pass_method().unwrap().unwrap().strategy,
            Strategy::Bm25
        );
        assert!(!two_pass.needs_vectors() || two_pass.methods.iter().any(Method::needs_vector));

        let mut present = settings(&[Strategy::Bm25], 8);
        present.methods.push(entity.clone());
        assert_eq!(present.check().unwrap(), None, "bm25 is run already");
        assert_eq!(present.methods.len(), 2);

        let mut lexicon = settings(&[Strategy::Entity], 8);
        assert_eq!(lexicon.check().unwrap(), None);
        assert!(lexicon.first_pass_method().unwrap().is_none());
        assert!(!lexicon.needs_vectors(), "entity on bm25 compares no vectors");
    }

    #[test]
    fn only_vector_strategies_need_the_test_vectors() {
        assert!(settings(&[Strategy::Knn, Strategy::Random], 4).needs_vectors());
        assert!(settings(&[Strategy::Random, Strategy::Mmr], 4).needs_vectors());
        assert!(settings(&[Strategy::Coverage], 4).needs_vectors());
        assert!(!settings(&[Strategy::Random], 4).needs_vectors());
        assert!(
            !settings(&[Strategy::Knn], 0).needs_vectors(),
            "zero-shot selects nothing"
        );
    }

    #[test]
    fn checking_resolves_every_method() {
        let mut both = settings(&[Strategy::Knn, Strategy::Mmr], 32);
        both.check().unwrap();
        let json: Vec<String> = both
            .methods
            .iter()
            .map(|m| serde_json::to_string(&m.params).unwrap())
            .collect();
        assert_eq!(json, ["{}", r#"{"candidates":128,"lambda":0.5}"#]);
        let mut out_of_range = settings(&[Strategy::Mmr], 8);
        out_of_range.methods[0].params = crate::select::Params::from_pairs(&["lambda=2"]).unwrap();
        let error = out_of_range.check().unwrap_err();
        assert_eq!(error.kind(), crate::error::ErrorKind::BadInput);
        assert!(
            error
                .to_string()
                .contains("parameter lambda: 2 is outside [0, 1]"),
            "{error}"
        );
    }

    #[test]
    fn zero_shot_runs_one_arm() {
        let mut zero = settings(&[Strategy::Knn, Strategy::Mmr, Strategy::Random], 0);
        let warning = zero.check().unwrap().unwrap();
        assert_eq!(
            warning,
            "k = 0 is zero-shot: one arm, zero-shot, is run (mmr, random would give the same prompts)"
        );
        assert_eq!(zero.methods.len(), 1);
        assert_eq!(zero.arm(&zero.methods[0]), ZERO_SHOT);
        let mut one = settings(&[Strategy::Random], 0);
        assert_eq!(one.check().unwrap(), None);
        let mut few = settings(&[Strategy::Knn, Strategy::Mmr], 4);
        assert_eq!(few.check().unwrap(), None);
        assert_eq!(few.arm(&few.methods[1]), "mmr");
    }

    #[test]
    fn settings_no_experiment_can_run_with_are_refused() {
        assert!(settings(&[Strategy::Random], 1).check().is_ok());
        let error = settings(&[], 4).check().unwrap_err();
        assert_eq!(error.kind(), crate::error::ErrorKind::BadInput, "{error}");
    }
}
