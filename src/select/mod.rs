//! Choosing demonstrations for a query sentence.
//!
//! A [`Selector`] turns a query (its text and, when the strategy needs it, its
//! vector) into demonstrations in prompt order. Strategies live one per file:
//! [`Knn`] (KATE-style nearest neighbours, most similar last) and [`Random`]
//! (seeded). Every strategy skips the query's own sentence when the index
//! holds it, so a corpus can be evaluated against itself, and never returns the
//! same sentence text twice.

mod knn;
mod random;

use std::collections::HashSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use knn::Knn;
pub use random::Random;

use crate::corpus::Example;
use crate::error::Result;
use crate::index::{Index, SearchMode, Vectors};

/// Default number of demonstrations (the paper's k).
pub const DEFAULT_K: usize = 16;

/// A chosen demonstration: the example and its similarity to the query
/// (absent for strategies that do not compare vectors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demo {
    /// The demonstration (inline in JSON).
    #[serde(flatten)]
    pub example: Example,
    /// Cosine similarity to the query; `None` for strategies that compare no vectors.
    pub score: Option<f32>,
}

/// One query's demonstrations, as `exemplar select --json` prints them (one
/// line each) and `/v1/select` answers them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The query sentence (with its gold entities when it came from a corpus).
    pub query: Example,
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
}

/// A demonstration selection strategy.
pub trait Selector: Send + Sync {
    /// Name used on the command line and in reports.
    fn name(&self) -> &'static str;

    /// Whether [`Selector::select`] needs the query's vector.
    fn needs_vector(&self) -> bool;

    /// Up to `k` demonstrations from `index` for `query`, in prompt order.
    fn select(&self, index: &Index, query: &Query, k: usize) -> Vec<Demo>;
}

crate::named! {
    /// The selection strategies (more will come: not exhaustive).
    #[non_exhaustive]
    pub enum Strategy: "strategy" {
        /// The k most similar training sentences, most similar last.
        Knn => "knn",
        /// k training sentences drawn at random (seeded per query).
        Random => "random",
    }
}

impl Strategy {
    /// The selector for this strategy.
    pub fn selector(self, mode: SearchMode, seed: u64) -> Box<dyn Selector> {
        match self {
            Strategy::Knn => Box::new(Knn { mode }),
            Strategy::Random => Box::new(Random { seed }),
        }
    }
}

/// Keeps candidates (row, score) in order while skipping the query's own
/// sentence and texts already taken; stops at `k`.
fn take_distinct(
    index: &Index,
    query_text: &str,
    candidates: impl IntoIterator<Item = (usize, Option<f32>)>,
    k: usize,
) -> Vec<Demo> {
    let query_text = query_text.trim();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut demos = Vec::with_capacity(k);
    for (row, score) in candidates {
        if demos.len() == k {
            break;
        }
        let sentence = &index.examples()[row];
        let text = sentence.text.trim();
        if text == query_text || !seen.insert(text) {
            continue;
        }
        demos.push(Demo {
            example: Example::from(sentence),
            score,
        });
    }
    demos
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
    if selector.needs_vector() && vectors.is_none_or(|v| v.len() != queries.len()) {
        return Err(crate::error::Error::InvalidInput(format!(
            "strategy {} needs one vector per query",
            selector.name()
        )));
    }
    Ok(queries
        .par_iter()
        .enumerate()
        .map(|(i, text)| {
            let query = Query {
                text,
                vector: vectors.map(|v| v.row(i)),
            };
            selector.select(index, &query, k)
        })
        .collect())
}
