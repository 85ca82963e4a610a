//! Picking the sentences of an unlabelled pool worth annotating: `budget`
//! diverse, representative rows of the pool's vectors, for a team that starts
//! with no annotations at all ("which 100 sentences should we label?").
//!
//! The caller embeds the pool (`pipeline::embed`) and passes the unit
//! vectors; [`pick`] returns the chosen rows and how well they cover the pool.
//! Three methods ([`Method`]):
//! - `votek` (Su et al. 2022, "Selective Annotation Makes Language Models
//!   Better Few-Shot Learners"): every sentence votes for its `neighbours`
//!   nearest ones; the sentence with the most votes is picked, and each vote
//!   of a sentence is divided by `rho` for every picked sentence among its
//!   neighbours, so the next pick comes from a part of the pool not yet covered
//!   ([`votek`](self::votek));
//! - `kmeans`: k-means++ seeding, spherical Lloyd iterations, then the
//!   sentence nearest each centre;
//! - `random`: a seeded uniform draw, the baseline.
//!
//! ```
//! use exemplar::pick::{pick, Method, PickOptions};
//! use exemplar::progress::Quiet;
//! use exemplar::vectors::clustered_unit_vectors;
//!
//! let pool = clustered_unit_vectors(500, 16, 10, 0.3, 7);
//! let options = PickOptions { budget: 10, ..PickOptions::default() };
//! let picked = pick(&pool, &options, &Quiet).unwrap();
//! assert_eq!(picked.rows.len(), 10);
//! assert!(picked.coverage > picked.random_coverage);
//! ```

mod kmeans;
mod neighbours;
mod votek;

use std::collections::HashSet;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::index::dot;
use crate::progress::Progress;
use crate::vectors::Vectors;

pub use neighbours::{nearest_neighbours, EXACT_UP_TO};

crate::named! {
    /// How the sentences to annotate are chosen.
    pub enum Method: "pick method" {
        /// Vote-k (Su et al. 2022): k-NN votes, discounted near sentences already picked.
        Votek => "votek",
        /// k-means++ seeding and Lloyd iterations; the sentence nearest each centre.
        Kmeans => "kmeans",
        /// Uniformly at random (seeded): the baseline.
        Random => "random",
    }
}

/// Neighbours each sentence votes for in Vote-k by default. The paper's code
/// uses 150, but on NCBI-disease's training sentences (MiniLM, about 5,400)
/// fewer neighbours cover the pool better: at budgets 50 / 100 / 200, coverage
/// was 0.539 / 0.581 / 0.626 with 10 neighbours, 0.541 / 0.580 / 0.614 with
/// 20, 0.531 / 0.565 / 0.600 with 50 and 0.539 at budget 100 with 150 (random
/// picks: 0.470 / 0.516 / 0.569). A wide vote makes the sentences between
/// groups the hubs; a narrow one keeps each pick inside a group.
pub const DEFAULT_NEIGHBOURS: usize = 10;

/// Vote-k's discount (the paper's ρ = 10): a vote counts 1/ρ^s once `s`
/// picked sentences are among the voter's neighbours.
pub const DEFAULT_RHO: f64 = 10.0;

/// Random picks averaged for the baseline coverage.
pub const RANDOM_DRAWS: u64 = 5;

/// What to pick and how.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PickOptions {
    /// The method.
    pub method: Method,
    /// How many rows to pick: at least 1, at most the pool's size.
    pub budget: usize,
    /// Seeds `kmeans` and `random` (and the random baseline's draws); Vote-k
    /// draws nothing at random, so its picks do not depend on it.
    pub seed: u64,
    /// Vote-k: neighbours each row votes for (cut to the pool's size minus one).
    pub neighbours: usize,
    /// Vote-k: the discount of a vote per picked neighbour of the voter; at
    /// least 1 (1 turns the discount off: plain in-degree).
    pub rho: f64,
}

impl Default for PickOptions {
    fn default() -> Self {
        PickOptions {
            method: Method::Votek,
            budget: 100,
            seed: 42,
            neighbours: DEFAULT_NEIGHBOURS,
            rho: DEFAULT_RHO,
        }
    }
}

/// The rows picked and how well they cover the pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Picked {
    /// Picked rows in ascending order (the pool's order).
    pub rows: Vec<usize>,
    /// [`coverage`] of the picked rows.
    pub coverage: f64,
    /// Mean [`coverage`] of [`RANDOM_DRAWS`] random picks of the same size
    /// (seeds `seed`, `seed + 1`, ...), for comparison.
    pub random_coverage: f64,
}

/// Picks `options.budget` rows of `pool` (unit vectors) with `options.method`,
/// reporting the stages `"neighbours"` and `"picking"` (Vote-k), `"clustering"`
/// (k-means) and `"coverage"` to `progress`.
///
/// Identical rows are not merged here: a caller with texts drops repeated
/// sentences first ([`distinct`]), or the budget is spent on copies.
pub fn pick(pool: &Vectors, options: &PickOptions, progress: &dyn Progress) -> Result<Picked> {
    options.check(pool.len())?;
    if let Some((row, problem)) = pool.first_non_unit() {
        return Err(Error::InvalidInput(format!("vector {row} of the pool {problem}")));
    }
    let mut rows = match options.method {
        Method::Votek => {
            let lists = nearest_neighbours(pool, options.neighbours, progress);
            votek::pick(&lists, options.budget, options.rho, progress)
        }
        Method::Kmeans => kmeans::pick(pool, options.budget, options.seed, progress),
        Method::Random => random_rows(pool.len(), options.budget, options.seed),
    };
    rows.sort_unstable();
    if rows.len() != options.budget || rows.windows(2).any(|w| w[0] == w[1]) {
        let problem = format!(
            "{} picked {} distinct rows of {}",
            options.method,
            rows.len(),
            options.budget
        );
        return Err(Error::Internal(problem));
    }
    progress.start("coverage", RANDOM_DRAWS + 1);
    let coverage = coverage(pool, &rows);
    progress.advance(1);
    let random_coverage = (0..RANDOM_DRAWS)
        .map(|draw| {
            let rows = random_rows(pool.len(), options.budget, options.seed.wrapping_add(draw));
            progress.advance(1);
            self::coverage(pool, &rows)
        })
        .sum::<f64>()
        / RANDOM_DRAWS as f64;
    progress.finish();
    Ok(Picked {
        rows,
        coverage,
        random_coverage,
    })
}

impl PickOptions {
    /// Refuses what would make a pick from a pool of `pool` rows meaningless,
    /// naming the problem; callers check before the work of embedding.
    pub fn check(&self, pool: usize) -> Result<()> {
        let problem = if pool == 0 {
            "the pool is empty: there is nothing to pick from".to_string()
        } else if self.budget == 0 {
            "the budget is 0: pick at least one sentence".to_string()
        } else if self.budget > pool {
            format!(
                "the budget {} is larger than the pool of {pool} sentences",
                self.budget
            )
        } else if self.method == Method::Votek && self.neighbours == 0 {
            "Vote-k needs at least one neighbour per sentence".to_string()
        } else if self.method == Method::Votek && !(self.rho >= 1.0 && self.rho.is_finite()) {
            format!(
                "Vote-k's discount rho must be a number of at least 1, not {}",
                self.rho
            )
        } else {
            return Ok(());
        };
        Err(Error::InvalidInput(problem))
    }
}

/// Mean over every row of `pool` of its similarity (cosine) to the most
/// similar row of `picked`: how well the picked rows stand for the pool, 1 when
/// every row is picked. 0 when nothing is picked.
pub fn coverage(pool: &Vectors, picked: &[usize]) -> f64 {
    if pool.is_empty() || picked.is_empty() {
        return 0.0;
    }
    let nearest: Vec<f32> = (0..pool.len())
        .into_par_iter()
        .map(|i| {
            let row = pool.row(i);
            picked
                .iter()
                .map(|&p| dot(row, pool.row(p)))
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .collect();
    // Summed in order, not by rayon's split, so equal picks give equal figures.
    nearest.iter().map(|&s| s as f64).sum::<f64>() / pool.len() as f64
}

/// The position of the first occurrence of each distinct text, in order: the
/// pool a picker should see, since a repeated sentence needs labelling once.
pub fn distinct(texts: &[&str]) -> Vec<usize> {
    let mut seen = HashSet::with_capacity(texts.len());
    (0..texts.len()).filter(|&i| seen.insert(texts[i])).collect()
}

/// The texts of `rows`, one a line, and how many of them held line breaks
/// (a JSONL text may): those become spaces, so that the file has one line per
/// picked sentence.
pub fn as_lines(texts: &[&str], rows: &[usize]) -> (String, usize) {
    let mut lines = String::new();
    let mut joined = 0;
    for &row in rows {
        let text = texts[row];
        if text.contains(['\n', '\r']) {
            joined += 1;
            lines.extend(text.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }));
        } else {
            lines.push_str(text);
        }
        lines.push('\n');
    }
    (lines, joined)
}

/// `budget` distinct rows of `0..n` drawn uniformly with `seed`.
fn random_rows(n: usize, budget: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rand::seq::index::sample(&mut rng, n, budget.min(n)).into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Quiet;
    use crate::vectors::clustered_unit_vectors;

    fn options(method: Method, budget: usize) -> PickOptions {
        PickOptions {
            method,
            budget,
            ..PickOptions::default()
        }
    }

    #[test]
    fn every_method_picks_the_budget_in_pool_order() {
        let pool = clustered_unit_vectors(300, 8, 6, 0.2, 1);
        for &method in <Method as crate::names::Named>::ALL {
            let picked = pick(&pool, &options(method, 12), &Quiet).unwrap();
            assert_eq!(picked.rows.len(), 12, "{method}");
            assert!(picked.rows.windows(2).all(|w| w[0] < w[1]), "{method}");
            assert!(picked.rows.iter().all(|&r| r < 300), "{method}");
        }
    }

    #[test]
    fn votek_and_kmeans_cover_clustered_pools_better_than_random() {
        for seed in 0..3 {
            let pool = clustered_unit_vectors(600, 16, 20, 0.25, seed);
            for method in [Method::Votek, Method::Kmeans] {
                let picked = pick(&pool, &options(method, 20), &Quiet).unwrap();
                assert!(
                    picked.coverage > picked.random_coverage + 0.01,
                    "{method} seed {seed}: {} vs random {}",
                    picked.coverage,
                    picked.random_coverage
                );
            }
        }
    }

    #[test]
    fn the_same_seed_picks_the_same_rows() {
        let pool = clustered_unit_vectors(200, 8, 5, 0.3, 3);
        for &method in <Method as crate::names::Named>::ALL {
            let first = pick(&pool, &options(method, 10), &Quiet).unwrap();
            let again = pick(&pool, &options(method, 10), &Quiet).unwrap();
            assert_eq!(first, again, "{method}");
        }
    }

    #[test]
    fn a_budget_of_the_whole_pool_covers_it_fully() {
        let pool = clustered_unit_vectors(40, 8, 4, 0.3, 2);
        for &method in <Method as crate::names::Named>::ALL {
            let picked = pick(&pool, &options(method, 40), &Quiet).unwrap();
            assert_eq!(picked.rows, (0..40).collect::<Vec<_>>(), "{method}");
            assert!(
                (picked.coverage - 1.0).abs() < 1e-5,
                "{method}: {}",
                picked.coverage
            );
        }
    }

    #[test]
    fn bad_budgets_pools_and_parameters_are_refused_by_name() {
        let pool = clustered_unit_vectors(10, 4, 2, 0.3, 0);
        let refused = |pool: &Vectors, options: PickOptions| match pick(pool, &options, &Quiet) {
            Err(Error::InvalidInput(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(refused(&pool, options(Method::Votek, 0)).contains("budget is 0"));
        assert!(refused(&pool, options(Method::Kmeans, 11)).contains("larger than the pool of 10"));
        assert!(refused(&Vectors::new(4), options(Method::Random, 1)).contains("empty"));
        let no_neighbours = PickOptions {
            neighbours: 0,
            ..options(Method::Votek, 2)
        };
        assert!(refused(&pool, no_neighbours).contains("neighbour"));
        let bad_rho = PickOptions {
            rho: 0.5,
            ..options(Method::Votek, 2)
        };
        assert!(refused(&pool, bad_rho).contains("rho"));
        let long = Vectors::from_flat(2, vec![3.0, 4.0]).unwrap();
        assert!(refused(&long, options(Method::Random, 1)).contains("norm 5"));
    }

    #[test]
    fn coverage_is_the_mean_similarity_to_the_nearest_pick() {
        let pool = Vectors::from_flat(2, vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8]).unwrap();
        // Row 0 alone: 1, 0 and 0.6 → 1.6 / 3.
        assert!((coverage(&pool, &[0]) - 1.6 / 3.0).abs() < 1e-6);
        // Rows 0 and 1: 1, 1 and max(0.6, 0.8).
        assert!((coverage(&pool, &[0, 1]) - 2.8 / 3.0).abs() < 1e-6);
        assert_eq!(coverage(&pool, &[]), 0.0);
    }

    #[test]
    fn picked_texts_are_one_a_line() {
        let texts = ["first", "two\nlines", "third", "cr\r\nlf"];
        assert_eq!(as_lines(&texts, &[0, 2]), ("first\nthird\n".to_string(), 0));
        assert_eq!(as_lines(&texts, &[1, 3]), ("two lines\ncr  lf\n".to_string(), 2));
    }

    #[test]
    fn distinct_keeps_first_occurrences_in_order() {
        assert_eq!(distinct(&["a", "b", "a", "c", "b"]), [0, 1, 3]);
        assert!(distinct(&[]).is_empty());
    }
}
