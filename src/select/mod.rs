//! Choosing demonstrations for a query sentence.
//!
//! A [`Strategy`] is defined in one place, its [`Definition`]: its parameters
//! ([`ParamSpec`]: name, range, default, help), whether it needs the query's
//! vector, and how it is built from an opened index (where it may derive the
//! per-index state it needs). A [`Method`] is a strategy with its parameter
//! values, [`Filters`], [`Order`] and seed: everything that determines the
//! choice, recorded beside every [`Selection`] and in run reports.
//! [`Method::build`] checks it against an index and gives a [`Selector`].
//!
//! Strategies live one per file: [`Knn`] (KATE-style nearest neighbours),
//! [`Random`] (seeded), [`Mmr`] (maximal marginal relevance) and
//! [`Coverage`] (entity types). Each implements [`Rank`]: the best k, best
//! first, among the rows a [`Pool`] admits (the filters, applied during the
//! search). Every strategy skips the query's own sentence when the index holds
//! it, so a corpus can be evaluated against itself, and never returns the same
//! sentence text twice.

mod bm25;
mod coverage;
mod entity;
mod filter;
mod hybrid;
mod knn;
mod mmr;
mod order;
mod params;
mod random;

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use bm25::Bm25;
pub use coverage::Coverage;
pub use entity::{MentionSource, Reason};
pub use filter::{Candidate, Filter, Filters, Pool};
pub use hybrid::{Fusion, Hybrid};
pub use knn::Knn;
pub use mmr::Mmr;
pub use order::Order;
pub use params::{Kind, ParamSpec, Params, Value};
pub use random::Random;

use crate::corpus::Example;
use crate::digest::sha256_hex;
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::index::{Index, SearchMode, Vectors};
use crate::knowledge::Knowledge;

/// Default number of demonstrations (the paper's k).
pub const DEFAULT_K: usize = 16;

/// Default seed of random choices (the random strategy, the random order).
pub const DEFAULT_SEED: u64 = 42;

/// A chosen demonstration: the example and its score against the query
/// (what score: the selection's [`ScoreKind`]; absent for strategies that
/// score nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demo {
    /// The demonstration (inline in JSON).
    #[serde(flatten)]
    pub example: Example,
    /// The score by which it was chosen, of the selection's [`ScoreKind`]
    /// (cosine similarity for the dense strategies); `None` for strategies
    /// that score nothing.
    pub score: Option<f32>,
    /// Why it was chosen, where the strategy says (`entity`: the candidate
    /// mention it shows, or the base strategy that filled the slot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// One query's demonstrations, as `exemplar select --json` prints them (one
/// line each) and `/v1/select` answers them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The query sentence (with its gold entities when it came from a corpus).
    pub query: Example,
    /// How the demonstrations were chosen, every parameter filled in.
    pub method: Method,
    /// What the demonstrations' `score` is; absent when they have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_kind: Option<ScoreKind>,
    /// The demonstrations in prompt order.
    pub demos: Vec<Demo>,
}

/// What a selector is given about the query.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The query sentence.
    pub text: &'a str,
    /// The query's vector from the index's encoder; needed by [`Selector::needs_vector`] strategies.
    pub vector: Option<&'a [f32]>,
    /// The query's document, for `exclude_same_doc`; when `None`, the
    /// document of the indexed sentence with the same text, if any.
    pub doc: Option<&'a str>,
    /// Candidate mentions found outside the selector (the spans a first
    /// LLM pass predicted), for strategies that take them (`entity` with
    /// `sources=llm`); `None`: none were looked for.
    pub mentions: Option<&'a [String]>,
}

impl<'a> Query<'a> {
    /// A query of `text` alone: no vector, document or outside mentions.
    pub fn text(text: &'a str) -> Query<'a> {
        Query {
            text,
            vector: None,
            doc: None,
            mentions: None,
        }
    }
}

impl<'a> Query<'a> {
    /// The query's vector, or an error for a strategy that needs it.
    pub fn vector(&self) -> Result<&'a [f32]> {
        self.vector.ok_or_else(|| {
            Error::InvalidInput(
                "this strategy needs the query's vector: embed it with the index's encoder".into(),
            )
        })
    }
}

/// A demonstration selection strategy, ready to use on one index.
pub trait Selector: Send + Sync {
    /// Name used on the command line and in reports.
    fn name(&self) -> &'static str;

    /// Whether [`Selector::select`] needs the query's vector.
    fn needs_vector(&self) -> bool;

    /// Up to `k` demonstrations from `index` (the one the selector was built
    /// for) for `query`, in prompt order; `k` when `k` pass the filters.
    fn select(&self, index: &Index, query: &Query, k: usize) -> Result<Vec<Demo>>;
}

/// What each strategy implements: up to `k` demonstrations for `query`, best
/// first, taken only from rows `pool` admits (search through the pool:
/// [`Pool::nearest`], [`Pool::distinct`]). The order is arranged afterwards.
pub trait Rank: Send + Sync {
    /// Up to `k` demonstrations for `query` from `pool`, best first.
    fn rank(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Demo>>;
}

/// What building a strategy may depend on besides the index and its parameters.
#[derive(Clone)]
pub struct Setup {
    /// How neighbours are found.
    pub mode: SearchMode,
    /// Seed of random choices.
    pub seed: u64,
    /// What some strategies use beyond the index.
    pub resources: Resources,
}

/// What a strategy may use besides the index: the index's encoder (to
/// embed phrases of the query, `entity` with `sources=ngrams`) and
/// knowledge sources (`entity` with `sources=kb`). Strategies that need one
/// that is absent refuse to build, naming it.
#[derive(Clone, Default)]
pub struct Resources {
    /// The index's encoder.
    pub encoder: Option<Arc<dyn Encoder>>,
    /// Knowledge sources (`--knowledge`).
    pub knowledge: Option<Arc<Knowledge>>,
}

/// One strategy, defined once: its parameters, whether it needs the query
/// vector, and how it is built from an opened index and resolved parameters
/// (every parameter present and checked). A strategy needing per-index state
/// derives or loads it in `build`, and fails there with a message naming
/// what is missing (e.g. the command that makes it).
pub struct Definition {
    /// The parameters it takes (empty: none).
    pub params: &'static [ParamSpec],
    /// Whether, with these resolved parameters, it compares the query's
    /// vector or embeds with the index's encoder (queries must then be
    /// embedded, and the encoder given).
    pub needs_vector: fn(&Params) -> bool,
    /// What its demonstrations' scores are, given the resolved parameters.
    pub score: fn(&Params) -> Result<Option<ScoreKind>>,
    /// Its ranking over an opened index, for resolved parameters.
    pub build: fn(&Index, &Params, &Setup) -> Result<Box<dyn Rank>>,
}

crate::named! {
    /// What a demonstration's `score` is (`score_kind` in a selection's JSON).
    pub enum ScoreKind: "score kind" {
        /// Cosine similarity of the sentence vectors, in [-1, 1].
        Cosine => "cosine",
        /// BM25 of the query's terms in the demonstration (0: no term shared).
        Bm25 => "bm25",
        /// Reciprocal rank fusion of the dense and BM25 ranks, Σ 1 / (rrf_k + rank).
        Rrf => "rrf",
        /// weight · cosine + (1 − weight) · BM25 / the best BM25 among the candidates.
        Weighted => "weighted",
    }
}

/// The candidate pool of the strategies that choose k of the N nearest.
const CANDIDATES: ParamSpec = ParamSpec {
    name: "candidates",
    kind: Kind::Pool,
    default: |k| Value::Count(k.saturating_mul(4).max(64) as u64),
    help: "how many nearest sentences to choose from, at least k [default: 4k, at least 64]",
};

crate::named! {
    /// The selection strategies (more will come: not exhaustive).
    #[non_exhaustive]
    pub enum Strategy: "strategy" {
        /// The k most similar training sentences.
        Knn => "knn",
        /// k training sentences drawn at random (seeded per query).
        Random => "random",
        /// Maximal marginal relevance over the nearest candidates: similar to the query, unlike each other.
        Mmr => "mmr",
        /// Every entity type among the nearest candidates shown at least once, then the most similar.
        Coverage => "coverage",
        /// The k training sentences that score best by BM25 against the query (lexical overlap).
        Bm25 => "bm25",
        /// Dense and BM25 rankings fused (reciprocal rank fusion, or weighted scores).
        Hybrid => "hybrid",
        /// The pool sentences annotating the query's candidate mentions, then a base strategy.
        Entity => "entity",
    }
}

impl Strategy {
    /// The one definition of this strategy.
    pub fn definition(self) -> &'static Definition {
        match self {
            Strategy::Knn => &knn::DEFINITION,
            Strategy::Random => &random::DEFINITION,
            Strategy::Mmr => &mmr::DEFINITION,
            Strategy::Coverage => &coverage::DEFINITION,
            Strategy::Bm25 => &bm25::DEFINITION,
            Strategy::Hybrid => &hybrid::DEFINITION,
            Strategy::Entity => &entity::DEFINITION,
        }
    }

    /// The parameters this strategy takes.
    pub fn params(self) -> &'static [ParamSpec] {
        self.definition().params
    }

    /// `given` checked and completed with the defaults for `k` demonstrations.
    pub fn resolve(self, given: &Params, k: usize) -> Result<Params> {
        params::resolve(crate::names::Named::name(self), self.params(), given, k)
    }
}

/// How demonstrations are chosen: a strategy with its parameters, the
/// filters, the order and the seed. Recorded with every selection, so that a
/// result can be reproduced from its report alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// The strategy.
    pub strategy: Strategy,
    /// Its parameters by name (after [`Method::resolve`]: every one, with its value).
    #[serde(default)]
    pub params: Params,
    /// Which training sentences may be demonstrations.
    #[serde(default)]
    pub filters: Filters,
    /// Order of the demonstrations in the prompt.
    #[serde(default)]
    pub order: Order,
    /// Seed of random choices (the random strategy, the random order).
    pub seed: u64,
}

impl Method {
    /// `strategy` with its defaults, no filter, most similar last.
    pub fn new(strategy: Strategy) -> Method {
        Method {
            strategy,
            params: Params::default(),
            filters: Filters::default(),
            order: Order::default(),
            seed: DEFAULT_SEED,
        }
    }

    /// One method for each of `strategies` (several compared in one run),
    /// all with these filters, order and seed, each given those of `params`
    /// it takes. A parameter no strategy takes is refused, saying which take what.
    pub fn for_strategies(
        strategies: &[Strategy],
        params: &Params,
        filters: &Filters,
        order: Order,
        seed: u64,
    ) -> Result<Vec<Method>> {
        let takes = |strategy: &Strategy, name: &str| strategy.params().iter().any(|p| p.name == name);
        if let Some((name, _)) = params
            .iter()
            .find(|(name, _)| !strategies.iter().any(|s| takes(s, name)))
        {
            let each: Vec<String> = strategies
                .iter()
                .map(|&s| format!("{s} {}", params::takes(s.params())))
                .collect();
            return Err(Error::InvalidInput(format!(
                "no strategy given takes the parameter {name:?} ({})",
                each.join("; ")
            )));
        }
        strategies
            .iter()
            .map(|&strategy| {
                let mut own = Params::default();
                for (name, value) in params.iter().filter(|(name, _)| takes(&strategy, name)) {
                    own.set(name, value.clone())?;
                }
                Ok(Method {
                    strategy,
                    params: own,
                    filters: filters.clone(),
                    order,
                    seed,
                })
            })
            .collect()
    }

    /// The method with every parameter checked and given a value (defaults
    /// for `k` demonstrations filled in).
    pub fn resolve(mut self, k: usize) -> Result<Method> {
        self.params = self.strategy.resolve(&self.params, k)?;
        Ok(self)
    }

    /// Checks the method against `index` for `k` demonstrations without
    /// building the strategy (cheap: before a model is loaded): the
    /// parameters and the filters. Returns warnings, e.g. filters that leave
    /// fewer than `k` sentences.
    pub fn check(&self, index: &Index, k: usize) -> Result<Vec<String>> {
        self.strategy.resolve(&self.params, k)?;
        Ok(self.filters.compile(index)?.warnings(k))
    }

    /// Whether the queries must be embedded and the index's encoder given
    /// (parameters that do not resolve are refused later, when the method is
    /// checked or built).
    pub fn needs_vector(&self) -> bool {
        let definition = self.strategy.definition();
        self.strategy
            .resolve(&self.params, DEFAULT_K)
            .map_or(true, |params| (definition.needs_vector)(&params))
    }

    /// Whether its candidates come from a first LLM pass (`entity` with
    /// `sources=llm`), which only `exemplar run` makes: the strategy of that
    /// pass when they do.
    pub fn first_pass(&self) -> Result<Option<Strategy>> {
        entity::first_pass(self)
    }

    /// Refuses a method whose candidates come from a first LLM pass, for
    /// callers without a backend (select, compare, the server).
    pub fn refuse_first_pass(&self) -> Result<()> {
        match self.first_pass()? {
            Some(_) => Err(Error::InvalidInput(entity::NEEDS_FIRST_PASS.into())),
            None => Ok(()),
        }
    }

    /// What the demonstrations' scores are (the parameters resolved).
    pub fn score_kind(&self) -> Result<Option<ScoreKind>> {
        (self.strategy.definition().score)(&self.params)
    }

    /// A selector over `index`, for `k` demonstrations (the defaults of the
    /// parameters depend on it). Refuses parameters out of range and filters
    /// the index cannot satisfy.
    pub fn build(&self, index: &Index, mode: SearchMode, k: usize) -> Result<Box<dyn Selector>> {
        self.build_with(index, mode, k, &Resources::default())
    }

    /// [`Method::build`] for strategies that use an encoder or knowledge
    /// sources ([`Resources`]).
    pub fn build_with(
        &self,
        index: &Index,
        mode: SearchMode,
        k: usize,
        resources: &Resources,
    ) -> Result<Box<dyn Selector>> {
        let params = self.strategy.resolve(&self.params, k)?;
        let needs_vector = (self.strategy.definition().needs_vector)(&params);
        let setup = Setup {
            mode,
            seed: self.seed,
            resources: resources.clone(),
        };
        let rank = (self.strategy.definition().build)(index, &params, &setup)?;
        Ok(Box::new(Configured {
            strategy: self.strategy,
            needs_vector,
            rank,
            filter: self.filters.compile(index)?,
            order: self.order,
            seed: self.seed,
        }))
    }
}

/// A strategy's ranking with the filters and the order around it.
struct Configured {
    strategy: Strategy,
    needs_vector: bool,
    rank: Box<dyn Rank>,
    filter: Filter,
    order: Order,
    seed: u64,
}

impl Selector for Configured {
    fn name(&self) -> &'static str {
        crate::names::Named::name(self.strategy)
    }

    fn needs_vector(&self) -> bool {
        self.needs_vector
    }

    fn select(&self, index: &Index, query: &Query, k: usize) -> Result<Vec<Demo>> {
        if self.needs_vector() && query.vector.is_none() {
            return Err(Error::InvalidInput(format!(
                "strategy {} needs the query's vector",
                self.name()
            )));
        }
        if index.len() != self.filter.len() {
            return Err(Error::InvalidInput(format!(
                "this {} selector was built for an index of {} sentences, not {}",
                self.name(),
                self.filter.len(),
                index.len()
            )));
        }
        let pool = self.filter.pool(index, query.text, query.doc);
        let mut demos = self.rank.rank(query, &pool, k)?;
        self.order.arrange(&mut demos, self.seed, query.text);
        Ok(demos)
    }
}

/// A random generator for one query: seeded by `seed` and the query text, so
/// a query gets the same draw whatever else is asked with it.
fn query_rng(seed: u64, text: &str) -> ChaCha8Rng {
    let digest = sha256_hex(text.as_bytes());
    let text_seed = u64::from_str_radix(&digest[..16], 16).unwrap_or(0);
    ChaCha8Rng::seed_from_u64(seed ^ text_seed)
}

/// Selects demonstrations for many queries in parallel. `vectors` holds the
/// queries' vectors (row i for query i) when the selector needs them; embed
/// them with [`crate::encoder::embed_all`]. Results are in query order.
pub fn select_batch(
    index: &Index,
    selector: &dyn Selector,
    queries: &[&str],
    vectors: Option<&Vectors>,
    k: usize,
) -> Result<Vec<Vec<Demo>>> {
    let docs = vec![None; queries.len()];
    select_in_docs(index, selector, queries, &docs, vectors, None, k)
}

/// [`select_batch`] for queries whose documents are known (`docs[i]` is
/// query i's), which `exclude_same_doc` leaves out, and, for strategies
/// that take them, with candidate mentions found outside the selector
/// (`mentions[i]` is query i's; see [`Query::mentions`]).
pub fn select_in_docs(
    index: &Index,
    selector: &dyn Selector,
    queries: &[&str],
    docs: &[Option<&str>],
    vectors: Option<&Vectors>,
    mentions: Option<&[Vec<String>]>,
    k: usize,
) -> Result<Vec<Vec<Demo>>> {
    if selector.needs_vector() && vectors.is_none_or(|v| v.len() != queries.len()) {
        return Err(Error::InvalidInput(format!(
            "strategy {} needs one vector per query",
            selector.name()
        )));
    }
    if docs.len() != queries.len() || mentions.is_some_and(|m| m.len() != queries.len()) {
        return Err(Error::Internal(format!(
            "{} documents and {} mention lists for {} queries",
            docs.len(),
            mentions.map_or(0, <[_]>::len),
            queries.len()
        )));
    }
    queries
        .par_iter()
        .zip(docs)
        .enumerate()
        .map(|(i, (text, doc))| {
            let query = Query {
                text,
                vector: vectors.map(|v| v.row(i)),
                doc: *doc,
                mentions: mentions.map(|m| m[i].as_slice()),
            };
            selector.select(index, &query, k)
        })
        .collect()
}

#[cfg(test)]
mod tests;
