//! One few-shot NER experiment: for each strategy, select demonstrations,
//! render prompts, generate answers, parse them into spans and score them
//! against the gold entities. The same queries, prompts format, model and
//! parameters for every strategy, so the strategies compare fairly.

mod report;

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use report::{Comparison, Inputs, Report, StrategyReport};

use crate::backend::{Backend, Input, Message, Params, Request};
use crate::corpus::{Example, Sentence, Span};
use crate::error::{Error, Result};
use crate::index::{Index, SearchMode, Vectors};
use crate::prompt::{self, Context, Pass};
use crate::select::{select_batch, Strategy};

/// Which endpoint shape the prompts take.
pub use crate::backend::Api;

/// Everything that determines an experiment besides its inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub strategies: Vec<Strategy>,
    pub k: usize,
    pub seed: u64,
    pub format: prompt::PromptFormat,
    pub api: Api,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: usize,
    /// The model's context length in tokens; prompts longer than this minus
    /// `max_tokens` lose their least similar demonstrations.
    pub context_tokens: usize,
    pub concurrency: usize,
    #[serde(skip)]
    pub search: Option<SearchMode>,
}

/// One generation: which query, which pass, the request and (once made) the answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    pub query: usize,
    pub query_id: String,
    pub pass: Option<String>,
    pub key: String,
    pub demos: Vec<String>,
    pub dropped_demos: usize,
    pub request: Request,
    pub answer: Option<String>,
    pub spans: Vec<Span>,
    pub unparseable: usize,
    pub unknown_types: usize,
    pub not_found: usize,
}

/// The prompts of one strategy, before or after generation.
#[derive(Debug, Clone)]
pub struct Planned {
    pub strategy: Strategy,
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
pub fn plan(
    index: &Index,
    queries: &[Sentence],
    vectors: Option<&Vectors>,
    settings: &Settings,
    ctx: &Context,
    backend_id: &str,
) -> Result<Vec<Planned>> {
    let format = settings.format.format();
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let budget = settings.context_tokens.saturating_sub(settings.max_tokens);
    settings
        .strategies
        .iter()
        .map(|&strategy| {
            let search = settings.search.unwrap_or(SearchMode::Hnsw { ef: None });
            let selector = strategy.selector(search, settings.seed);
            let selections = select_batch(index, selector.as_ref(), &texts, vectors, settings.k)?;
            let mut exchanges = Vec::new();
            for (q, (query, demos)) in queries.iter().zip(&selections).enumerate() {
                let examples: Vec<Example> = demos.iter().map(|d| d.example.clone()).collect();
                for pass in format.passes(&ctx.types) {
                    let prompt = prompt::build(
                        format.as_ref(),
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
            Ok(Planned { strategy, exchanges })
        })
        .collect()
}

fn input_for(api: Api, prompt: &prompt::Prompt) -> Input {
    match api {
        Api::Completions => Input::Completion(prompt.completion_text()),
        Api::Chat => Input::Chat(
            prompt
                .chat_messages()
                .into_iter()
                .map(|m| Message {
                    role: m.role,
                    content: m.content,
                })
                .collect(),
        ),
    }
}

/// Generates every planned answer with at most `concurrency` requests in
/// flight, then parses each. Stops at the first failure (answers already
/// generated stay in the backend's cache).
pub fn generate(
    planned: &mut [Planned],
    queries: &[Sentence],
    backend: &dyn Backend,
    settings: &Settings,
    ctx: &Context,
    progress: impl Fn() + Sync,
) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.concurrency.max(1))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {} workers: {e}", settings.concurrency)))?;
    let format = settings.format.format();
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
                let parsed = format.parse(&answer.text, &queries[exchange.query].text, &pass, ctx);
                exchange.spans = parsed.spans;
                exchange.unparseable = parsed.unparseable;
                exchange.unknown_types = parsed.unknown_types;
                exchange.not_found = parsed.not_found;
                exchange.answer = Some(answer.text);
                progress();
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

/// The entity types an experiment asks for: those of the index, in order.
pub fn entity_types(index: &Index) -> Vec<String> {
    index
        .manifest()
        .corpus
        .entities_per_type
        .keys()
        .cloned()
        .collect()
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
