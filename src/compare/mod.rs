//! Selection strategies compared without an LLM: what the demonstrations
//! each strategy chooses offer the queries of a gold corpus ([`Metric`]s:
//! entity-type and mention coverage, similarity to the query, annotated
//! share, diversity), and how far each strategy is from `random`, with a
//! paired bootstrap interval over queries. It runs in seconds and says which
//! strategies are worth an LLM budget; `exemplar compare` prints it.
//!
//! Every strategy of [`Strategy`] can be compared; `random` is always measured,
//! as the baseline, even when not asked for. Similarities are cosines that
//! exemplar computes from the index's vectors, whatever score a strategy
//! gives its demonstrations.

mod metrics;
mod table;

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;

pub use metrics::{cosine, mean, Metric, Observation};

use crate::corpus::Example;
use crate::error::{Error, Result};
use crate::eval::bootstrap;
use crate::index::{Index, SearchMode, Vectors};
use crate::names::Named;
use crate::progress::Progress;
use crate::select::{Demo, Filters, Method, Order, Params, Query, Resources, Selector, Strategy};

/// What to compare and how.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// The strategies asked for, in order (`random` is added when missing).
    pub strategies: Vec<Strategy>,
    /// Strategy parameters; each applies to every strategy that takes it.
    pub params: Params,
    /// Filters every strategy honours.
    pub filters: Filters,
    /// Demonstrations per query.
    pub k: usize,
    /// How neighbours are found.
    #[serde(with = "crate::run::search_setting")]
    pub search: SearchMode,
    /// Seed of the random strategy and of the bootstrap.
    pub seed: u64,
    /// Bootstrap resamples.
    pub samples: usize,
}

impl Settings {
    /// The strategies measured: those asked for, each once, in order, then
    /// `random` when it was not asked for.
    pub fn measured(&self) -> Vec<Strategy> {
        let mut measured: Vec<Strategy> = Vec::new();
        for &strategy in self.strategies.iter().chain([Strategy::Random].iter()) {
            if !measured.contains(&strategy) {
                measured.push(strategy);
            }
        }
        measured
    }

    /// Each measured strategy's method, resolved (parameters checked).
    pub fn methods(&self) -> Result<Vec<Method>> {
        let (filters, order) = (&self.filters, Order::default());
        Method::for_strategies(&self.measured(), &self.params, filters, order, self.seed)?
            .into_iter()
            .map(|method| method.resolve(self.k))
            .collect()
    }

    /// The settings with the index's default candidate list length written
    /// out, so that the record names the value used.
    fn with_ef_of(&self, index: &Index) -> Settings {
        let search = match self.search {
            SearchMode::Hnsw { ef: None } => SearchMode::Hnsw {
                ef: Some(index.manifest().hnsw.ef_search),
            },
            other => other,
        };
        Settings {
            search,
            ..self.clone()
        }
    }

    /// Refuses settings and queries nothing can be measured on (cheap: call
    /// it before embedding the queries).
    pub fn check(&self, queries: &[Example]) -> Result<()> {
        let refuse = |problem: String| Err(Error::InvalidInput(problem));
        if self.k == 0 {
            return refuse("k must be at least 1".into());
        }
        if self.samples == 0 {
            return refuse("the bootstrap needs at least one resample".into());
        }
        for method in self.methods()? {
            method.refuse_first_pass()?;
        }
        if !queries.iter().any(|q| !q.entities.is_empty()) {
            return refuse(format!(
                "none of the {} queries has gold entities: compare measures how the demonstrations cover them, \
                 so give an annotated corpus (CoNLL tags, BRAT .ann files or JSONL \"entities\")",
                queries.len()
            ));
        }
        Ok(())
    }
}

/// One strategy's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// How its demonstrations were chosen, every parameter filled in.
    pub method: Method,
    /// Each metric's mean over the queries where it is defined (`null` where
    /// it is defined for none), inline in JSON.
    #[serde(flatten)]
    pub means: BTreeMap<Metric, Option<f64>>,
    /// How many queries each mean is over (coverage: those with gold entities).
    pub counted: BTreeMap<Metric, usize>,
    /// The difference from `random` in each metric (`null` where no query has both).
    pub vs_random: BTreeMap<Metric, Option<Delta>>,
}

/// A strategy's mean minus random's over the queries where both are
/// defined, with its paired bootstrap 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delta {
    /// The mean difference.
    pub delta: f64,
    /// 2.5th and 97.5th percentiles of the resampled mean differences.
    pub ci95: [f64; 2],
    /// Queries paired.
    pub pairs: usize,
}

/// What [`compare`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Each measured strategy's figures.
    pub strategies: BTreeMap<Strategy, Figures>,
    /// What was compared and how.
    pub settings: Settings,
    /// Queries measured.
    pub queries: usize,
    /// Queries with gold entities (the only ones coverage is measured on).
    pub queries_with_entities: usize,
    /// Whether `random` was measured without being asked for (as the baseline).
    pub random_added: bool,
}

/// A metric's value for each query, in query order.
type Columns = BTreeMap<Metric, Vec<Option<f64>>>;

/// Measures every strategy of `settings` on `queries` (gold corpus sentences)
/// against `index`; `vectors` holds the queries' vectors from the index's
/// encoder, row i for query i. Strategies run one after the other, queries in
/// parallel; `progress` hears of each query done as the stage `"selecting"`.
pub fn compare(
    index: &Index,
    queries: &[Example],
    vectors: &Vectors,
    settings: &Settings,
    resources: &Resources,
    progress: &dyn Progress,
) -> Result<Comparison> {
    settings.check(queries)?;
    if queries.len() != vectors.len() {
        let problem = format!("{} queries but {} query vectors", queries.len(), vectors.len());
        return Err(Error::InvalidInput(problem));
    }
    let settings = &settings.with_ef_of(index);
    let methods = settings.methods()?;
    let selectors = methods
        .iter()
        .map(|method| method.build_with(index, settings.search, settings.k, resources))
        .collect::<Result<Vec<_>>>()?;
    let rows = rows_by_text(index);
    progress.start("selecting", (methods.len() * queries.len()) as u64);
    let measured = selectors
        .iter()
        .map(|selector| {
            observe(
                index,
                &rows,
                selector.as_ref(),
                queries,
                vectors,
                settings.k,
                progress,
            )
        })
        .collect::<Result<Vec<Columns>>>();
    progress.finish();
    let measured = measured?;
    let random = methods
        .iter()
        .position(|m| m.strategy == Strategy::Random)
        .map(|i| &measured[i])
        .ok_or_else(|| Error::Internal("random was not measured".into()))?;
    let strategies = methods
        .iter()
        .zip(&measured)
        .map(|(method, columns)| {
            (
                method.strategy,
                figures(method.clone(), columns, random, settings),
            )
        })
        .collect();
    Ok(Comparison {
        strategies,
        settings: settings.clone(),
        queries: queries.len(),
        queries_with_entities: queries.iter().filter(|q| !q.entities.is_empty()).count(),
        random_added: !settings.strategies.contains(&Strategy::Random),
    })
}

/// The row of each distinct sentence text: equal texts have equal vectors,
/// so a demonstration's vector is found by its text.
fn rows_by_text(index: &Index) -> HashMap<&str, usize> {
    let mut rows = HashMap::with_capacity(index.len());
    for (row, sentence) in index.examples().iter().enumerate() {
        rows.entry(sentence.text.as_str()).or_insert(row);
    }
    rows
}

/// Every metric of every query's demonstrations by `selector`.
fn observe(
    index: &Index,
    rows: &HashMap<&str, usize>,
    selector: &dyn Selector,
    queries: &[Example],
    vectors: &Vectors,
    k: usize,
    progress: &dyn Progress,
) -> Result<Columns> {
    let per_query = queries
        .par_iter()
        .enumerate()
        .map(|(i, example)| {
            let query = Query {
                text: &example.text,
                vector: Some(vectors.row(i)),
                doc: None,
                mentions: None,
            };
            let demos = selector.select(index, &query, k)?;
            let values = observe_one(index, rows, example, vectors.row(i), &demos)?;
            progress.advance(1);
            Ok(values)
        })
        .collect::<Result<Vec<Vec<Option<f64>>>>>()?;
    Ok(Metric::ALL
        .iter()
        .enumerate()
        .map(|(m, &metric)| (metric, per_query.iter().map(|values| values[m]).collect()))
        .collect())
}

/// Every metric (in [`Metric::ALL`]'s order) of one query's demonstrations.
fn observe_one(
    index: &Index,
    rows: &HashMap<&str, usize>,
    query: &Example,
    vector: &[f32],
    demos: &[Demo],
) -> Result<Vec<Option<f64>>> {
    let examples: Vec<&Example> = demos.iter().map(|d| &d.example).collect();
    let vectors = examples
        .iter()
        .map(|e| {
            rows.get(e.text.as_str())
                .map(|&row| index.vectors().row(row))
                .ok_or_else(|| {
                    Error::Internal(format!("demonstration {} is not a sentence of the index", e.id))
                })
        })
        .collect::<Result<Vec<&[f32]>>>()?;
    let seen = Observation {
        gold: &query.entities,
        query: vector,
        demos: &examples,
        vectors: &vectors,
    };
    Ok(Metric::ALL.iter().map(|metric| metric.of(&seen)).collect())
}

/// One strategy's means, counts and differences from `random`.
fn figures(method: Method, columns: &Columns, random: &Columns, settings: &Settings) -> Figures {
    let defined = |values: &[Option<f64>]| values.iter().flatten().count();
    let delta = |metric| {
        let ours = columns.get(metric).map_or(&[][..], Vec::as_slice);
        let theirs = random.get(metric).map_or(&[][..], Vec::as_slice);
        paired_delta(ours, theirs, settings.samples, settings.seed)
    };
    Figures {
        method,
        means: columns
            .iter()
            .map(|(&m, values)| (m, mean(values.iter().flatten().copied())))
            .collect(),
        counted: columns.iter().map(|(&m, values)| (m, defined(values))).collect(),
        vs_random: columns.keys().map(|m| (*m, delta(m))).collect(),
    }
}

/// The mean of `ours - theirs` over the queries where both are defined and
/// its percentile interval over `samples` resamples of those queries;
/// `None` when no query has both.
pub fn paired_delta(
    ours: &[Option<f64>],
    theirs: &[Option<f64>],
    samples: usize,
    seed: u64,
) -> Option<Delta> {
    let differences: Vec<f64> = ours
        .iter()
        .zip(theirs)
        .filter_map(|(a, b)| Some((*a)? - (*b)?))
        .collect();
    if differences.is_empty() {
        return None;
    }
    let interval = bootstrap(differences.len(), samples, seed, |queries| {
        mean(queries.map(|q| differences[q])).unwrap_or(0.0)
    });
    Some(Delta {
        delta: interval.difference,
        ci95: [interval.low, interval.high],
        pairs: differences.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(strategies: &[Strategy]) -> String {
        strategies.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
    }

    #[test]
    fn random_is_added_once_and_the_order_kept() {
        let settings = |strategies: Vec<Strategy>| Settings {
            strategies,
            params: Params::default(),
            filters: Filters::default(),
            k: 8,
            search: SearchMode::Exact,
            seed: 1,
            samples: 10,
        };
        let asked = settings(vec![Strategy::Mmr, Strategy::Knn, Strategy::Mmr]);
        assert_eq!(names(&asked.measured()), "mmr, knn, random");
        let with_random = settings(vec![Strategy::Random, Strategy::Knn]);
        assert_eq!(names(&with_random.measured()), "random, knn");
        let lambda = Settings {
            params: Params::from_pairs(&["lambda=0.3"]).unwrap(),
            ..asked.clone()
        };
        let methods = lambda.methods().unwrap();
        assert_eq!(methods[0].params.real("lambda").unwrap(), 0.3);
        assert!(methods[1].params.is_empty() && methods[2].seed == 1);
        let unknown = Settings {
            params: Params::from_pairs(&["lambda=0.3"]).unwrap(),
            ..with_random
        };
        assert!(unknown
            .methods()
            .unwrap_err()
            .to_string()
            .contains("takes the parameter \"lambda\""));
    }

    #[test]
    fn deltas_pair_the_queries_both_define() {
        let ours = [Some(1.0), Some(0.5), None, Some(1.0)];
        let theirs = [Some(0.0), Some(0.5), Some(1.0), None];
        let delta = paired_delta(&ours, &theirs, 200, 7).unwrap();
        assert_eq!((delta.delta, delta.pairs), (0.5, 2));
        assert!(delta.ci95[0] >= 0.0 && delta.ci95[1] <= 1.0 && delta.ci95[0] <= delta.ci95[1]);
        assert_eq!(paired_delta(&ours, &theirs, 200, 7), Some(delta));
        assert_eq!(paired_delta(&[None], &[Some(1.0)], 10, 7), None);
        let same = paired_delta(&ours, &ours, 50, 3).unwrap();
        assert_eq!((same.delta, same.ci95), (0.0, [0.0, 0.0]));
    }

    #[test]
    fn a_clear_gain_has_an_interval_above_zero() {
        let ours: Vec<Option<f64>> = (0..60)
            .map(|i| Some(if i % 4 == 0 { 0.0 } else { 1.0 }))
            .collect();
        let theirs = vec![Some(0.0); 60];
        let delta = paired_delta(&ours, &theirs, 1000, 42).unwrap();
        assert_eq!(delta.delta, 0.75);
        assert!(0.5 < delta.ci95[0] && delta.ci95[1] < 1.0, "{delta:?}");
    }
}
