//! One few-shot NER experiment: for each strategy, select demonstrations,
//! render prompts, generate answers, parse them into spans and score them
//! against the gold entities. The same queries, prompt format, model and
//! parameters for every strategy, so the strategies compare fairly.
//!
//! [`Experiment`] is the whole of it, for the command line and any other
//! caller alike: [`Experiment::new`] opens the index and checks the settings,
//! [`Experiment::embed`] embeds the test sentences when a strategy needs their
//! vectors, and [`Experiment::run`] plans every request, gets the answers from
//! an [`AnswerSource`], writes the output directory ([`output`]) and returns
//! the [`ExperimentReport`].

mod experiment;
pub mod output;
mod report;

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use experiment::{AnswerSource, Event, Experiment, Instructions, BATCH_BACKEND};
pub use report::{Comparison, ExperimentReport, FileId, StrategyResult};

use crate::backend::{Backend, Input, Params, Request};
use crate::corpus::{Example, Sentence, Span};
use crate::error::{Error, Result};
use crate::index::{Index, SearchMode, Vectors};
use crate::prompt::{self, Context, Pass, PromptFormat};
use crate::select::{self, select_batch, Filters, Method, Order, Strategy};

/// Which endpoint shape the prompts take.
pub use crate::backend::Api;

/// Everything that determines an experiment's answers besides its inputs;
/// written into `report.json` so that a result says how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The strategies compared, in order; the first is compared with each other one.
    pub strategies: Vec<Strategy>,
    /// Strategy parameters; each applies to every strategy that takes it
    /// (see [`Settings::methods`] for the values used).
    #[serde(default)]
    pub params: select::Params,
    /// Filters every strategy honours.
    #[serde(default)]
    pub filters: Filters,
    /// Order of the demonstrations in the prompt.
    #[serde(default)]
    pub order: Order,
    /// Demonstrations per query (at least 1).
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
}

impl Settings {
    /// Whether some strategy needs the test sentences' vectors (see [`Experiment::embed`]).
    pub fn needs_vectors(&self) -> bool {
        self.strategies.iter().any(|s| s.needs_vector())
    }

    /// Each strategy's method, resolved: the parameters it takes (a
    /// parameter no strategy takes is refused), the filters, the order, the seed.
    pub fn methods(&self) -> Result<Vec<Method>> {
        if let Some((name, _)) = self
            .params
            .iter()
            .find(|(name, _)| !self.strategies.iter().any(|s| s.params().iter().any(|p| p.name == *name)))
        {
            let strategies: Vec<&str> = self.strategies.iter().map(|s| crate::names::Named::name(*s)).collect();
            return Err(Error::InvalidInput(format!(
                "no strategy of {} takes the parameter {name:?}",
                strategies.join(", ")
            )));
        }
        self.strategies
            .iter()
            .map(|&strategy| {
                let mut params = select::Params::default();
                for (name, value) in self.params.iter() {
                    if strategy.params().iter().any(|p| p.name == name) {
                        params.set(name, value.clone())?;
                    }
                }
                let method = Method {
                    strategy,
                    params,
                    filters: self.filters.clone(),
                    order: self.order,
                    seed: self.seed,
                };
                method.resolve(self.k)
            })
            .collect()
    }

    /// Refuses settings no experiment can run with.
    fn check(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::InvalidInput("k must be at least 1".into()));
        }
        if self.strategies.is_empty() {
            return Err(Error::InvalidInput("no strategy to run".into()));
        }
        self.methods().map(|_| ())
    }
}

/// [`SearchMode`] in JSON: `{"mode": "hnsw", "ef": 64}` or `{"mode": "exact"}`.
mod search_setting {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::index::SearchMode;

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "mode", rename_all = "lowercase")]
    enum Setting {
        Hnsw { ef: Option<usize> },
        Exact,
    }

    pub fn serialize<S: Serializer>(mode: &SearchMode, serializer: S) -> Result<S::Ok, S::Error> {
        match *mode {
            SearchMode::Hnsw { ef } => Setting::Hnsw { ef },
            SearchMode::Exact => Setting::Exact,
        }
        .serialize(serializer)
    }

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

/// Builds every request of every strategy. `vectors` are the queries' vectors
/// (needed by k-NN).
fn plan(
    index: &Index,
    queries: &[Sentence],
    vectors: Option<&Vectors>,
    settings: &Settings,
    ctx: &Context,
    backend_id: &str,
) -> Result<Vec<Planned>> {
    let style = settings.format.style();
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let budget = settings.context_tokens.saturating_sub(settings.max_tokens);
    settings
        .methods()?
        .into_iter()
        .map(|method| {
            let selector = method.build(index, settings.search, settings.k)?;
            let selections = select_batch(index, selector.as_ref(), &texts, vectors, settings.k)?;
            let mut exchanges = Vec::new();
            for (q, (query, demos)) in queries.iter().zip(&selections).enumerate() {
                let examples: Vec<Example> = demos.iter().map(|d| d.example.clone()).collect();
                for pass in style.passes(&ctx.types) {
                    let prompt = prompt::build(
                        style.as_ref(),
                        &pass,
                        ctx,
                        &examples,
                        &query.text,
                        Some(budget),
                        &estimate_tokens,
                    );
                    let request = Request {
                        input: input_for(settings.api, &prompt),
                        params: Params {
                            model: settings.model.clone(),
                            temperature: settings.temperature,
                            max_tokens: settings.max_tokens,
                            stop: prompt.stop_sequences(),
                            seed: Some(settings.seed),
                        },
                    };
                    exchanges.push(Exchange {
                        query: q,
                        query_id: query.id.clone(),
                        pass: pass.label.clone(),
                        key: request.key(backend_id),
                        demos: examples
                            .iter()
                            .skip(prompt.dropped)
                            .map(|e| e.id.clone())
                            .collect(),
                        dropped_demos: prompt.dropped,
                        request,
                        answer: None,
                        spans: Vec::new(),
                        unparseable: 0,
                        unknown_types: 0,
                        not_found: 0,
                    });
                }
            }
            Ok(Planned {
                strategy: method.strategy,
                method,
                exchanges,
            })
        })
        .collect()
}

fn input_for(api: Api, prompt: &prompt::Prompt) -> Input {
    match api {
        Api::Completions => Input::Completion(prompt.completion_text()),
        Api::Chat => Input::Chat(prompt.chat_messages()),
    }
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.concurrency.max(1))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {} workers: {e}", settings.concurrency)))?;
    let style = settings.format.style();
    pool.install(|| {
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
    })
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
            strategies: strategies.to_vec(),
            params: select::Params::default(),
            filters: Filters::default(),
            order: Order::default(),
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
        }
    }

    #[test]
    fn only_vector_strategies_need_the_test_vectors() {
        assert!(settings(&[Strategy::Knn, Strategy::Random], 4).needs_vectors());
        assert!(settings(&[Strategy::Random, Strategy::Mmr], 4).needs_vectors());
        assert!(settings(&[Strategy::Coverage], 4).needs_vectors());
        assert!(!settings(&[Strategy::Random], 4).needs_vectors());
    }

    #[test]
    fn a_parameter_applies_to_the_strategies_that_take_it() {
        let mut both = settings(&[Strategy::Knn, Strategy::Mmr, Strategy::Coverage], 8);
        both.params = select::Params::from_pairs(&["lambda=0.7", "candidates=32"]).unwrap();
        let methods = both.methods().unwrap();
        let json: Vec<String> = methods.iter().map(|m| serde_json::to_string(&m.params).unwrap()).collect();
        assert_eq!(json, ["{}", r#"{"candidates":32,"lambda":0.7}"#, r#"{"candidates":32}"#]);
        let mut unknown = settings(&[Strategy::Knn, Strategy::Random], 8);
        unknown.params = select::Params::from_pairs(&["lambda=0.7"]).unwrap();
        let error = unknown.check().unwrap_err();
        assert!(error.to_string().contains("no strategy of knn, random takes the parameter \"lambda\""), "{error}");
        let mut out_of_range = settings(&[Strategy::Mmr], 8);
        out_of_range.params = select::Params::from_pairs(&["lambda=2"]).unwrap();
        assert_eq!(out_of_range.check().unwrap_err().kind(), crate::error::ErrorKind::BadInput);
    }

    #[test]
    fn settings_no_experiment_can_run_with_are_refused() {
        assert!(settings(&[Strategy::Random], 1).check().is_ok());
        for bad in [settings(&[Strategy::Random], 0), settings(&[], 4)] {
            let error = bad.check().unwrap_err();
            assert_eq!(error.kind(), crate::error::ErrorKind::BadInput, "{error}");
        }
    }
}
