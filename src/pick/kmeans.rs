//! k-means medoids: k-means++ seeding (Arthur and Vassilvitskii 2007), a few
//! spherical Lloyd iterations (centres are unit means, similarity the
//! cosine), then from each cluster the row most similar to its centre.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::index::dot;
use crate::progress::Progress;
use crate::vectors::Vectors;

/// Lloyd iterations at most; assignments on sentence embeddings settle in
/// fewer, and the medoids move little after the first few.
const MAX_ITERATIONS: usize = 20;

/// Picks `budget` rows (at most the pool's size) by k-means with `seed`.
/// Reports the stage `"clustering"`.
pub(super) fn pick(pool: &Vectors, budget: usize, seed: u64, progress: &dyn Progress) -> Vec<usize> {
    progress.start("clustering", MAX_ITERATIONS as u64 + 1);
    let seeds = plus_plus(pool, budget, &mut ChaCha8Rng::seed_from_u64(seed));
    let mut centres = Vectors::new(pool.dim());
    seeds.iter().for_each(|&row| centres.push(pool.row(row)));
    progress.advance(1);
    let mut assigned = assign(pool, &centres);
    for _ in 0..MAX_ITERATIONS {
        centres = unit_means(pool, &assigned, &centres);
        let next = assign(pool, &centres);
        progress.advance(1);
        if next == assigned {
            break;
        }
        assigned = next;
    }
    progress.finish();
    let mut rows = medoids(pool, &assigned, &centres);
    fill_farthest_first(pool, &mut rows, budget);
    rows
}

/// k-means++ seeding: the first row uniformly, each next one with
/// probability proportional to its squared distance to the nearest row
/// chosen so far (for unit vectors, 2 - 2 cos).
fn plus_plus(pool: &Vectors, budget: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let n = pool.len();
    let mut chosen = vec![rng.random_range(0..n)];
    let mut nearest = vec![f64::INFINITY; n];
    while chosen.len() < budget.min(n) {
        let last = pool.row(chosen[chosen.len() - 1]);
        nearest.par_iter_mut().enumerate().for_each(|(i, d)| {
            *d = d.min(squared_distance(pool.row(i), last));
        });
        // A row's dot with itself can round below 1: a chosen row must weigh 0.
        chosen.iter().for_each(|&row| nearest[row] = 0.0);
        let total: f64 = nearest.iter().sum();
        let next = if total > 0.0 {
            weighted_draw(&nearest, rng.random_range(0.0..total))
        } else {
            // Every row equals a chosen one: no distance to weigh by.
            (0..n).find(|i| !chosen.contains(i))
        };
        match next {
            Some(row) => chosen.push(row),
            None => break,
        }
    }
    chosen
}

/// The first index at which the running sum of `weights` passes `target`
/// (rows of weight 0, the chosen ones among them, are never drawn).
fn weighted_draw(weights: &[f64], target: f64) -> Option<usize> {
    let mut sum = 0.0;
    let mut last = None;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            sum += w;
            last = Some(i);
            if sum > target {
                return Some(i);
            }
        }
    }
    // Rounding can leave `target` a hair above the sum.
    last
}

fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    (2.0 - 2.0 * dot(a, b) as f64).max(0.0)
}

/// Each row's most similar centre.
fn assign(pool: &Vectors, centres: &Vectors) -> Vec<usize> {
    (0..pool.len())
        .into_par_iter()
        .map(|i| most_similar(pool.row(i), centres, 0..centres.len()).0)
        .collect()
}

/// The row of `among` most similar to `query`, with its similarity (the lowest row on ties).
fn most_similar(query: &[f32], rows: &Vectors, among: impl Iterator<Item = usize>) -> (usize, f32) {
    among
        .map(|r| (r, dot(query, rows.row(r))))
        .fold((usize::MAX, f32::NEG_INFINITY), |best, (r, s)| {
            if s > best.1 {
                (r, s)
            } else {
                best
            }
        })
}

/// Each cluster's mean, scaled to unit length; a cluster left empty (or
/// whose members cancel out) keeps its old centre.
fn unit_means(pool: &Vectors, assigned: &[usize], old: &Vectors) -> Vectors {
    let dim = pool.dim();
    let mut sums = vec![0f64; old.len() * dim];
    for (i, &c) in assigned.iter().enumerate() {
        let sum = &mut sums[c * dim..(c + 1) * dim];
        sum.iter_mut().zip(pool.row(i)).for_each(|(s, &x)| *s += x as f64);
    }
    let mut centres = Vectors::new(dim);
    for (c, sum) in sums.chunks_exact(dim).enumerate() {
        let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-9 {
            let unit: Vec<f32> = sum.iter().map(|x| (x / norm) as f32).collect();
            centres.push(&unit);
        } else {
            centres.push(old.row(c));
        }
    }
    centres
}

/// From each non-empty cluster, the member most similar to its centre.
fn medoids(pool: &Vectors, assigned: &[usize], centres: &Vectors) -> Vec<usize> {
    let mut best: Vec<(usize, f32)> = vec![(usize::MAX, f32::NEG_INFINITY); centres.len()];
    for (i, &c) in assigned.iter().enumerate() {
        let similarity = dot(pool.row(i), centres.row(c));
        if similarity > best[c].1 {
            best[c] = (i, similarity);
        }
    }
    best.into_iter()
        .map(|(row, _)| row)
        .filter(|&row| row != usize::MAX)
        .collect()
}

/// Adds, while fewer than `budget` rows are picked (clusters that ended up
/// empty), the row least similar to every picked one.
fn fill_farthest_first(pool: &Vectors, rows: &mut Vec<usize>, budget: usize) {
    while rows.len() < budget.min(pool.len()) {
        let farthest = (0..pool.len())
            .filter(|i| !rows.contains(i))
            .map(|i| (i, most_similar(pool.row(i), pool, rows.iter().copied()).1))
            .fold(
                (usize::MAX, f32::INFINITY),
                |low, (i, s)| if s < low.1 { (i, s) } else { low },
            );
        if farthest.0 == usize::MAX {
            break;
        }
        rows.push(farthest.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::clustered_unit_vectors;

    #[test]
    fn seeding_spreads_over_well_separated_clusters() {
        // Tight, far-apart clusters: D² seeding lands once in each nearly always.
        let pool = clustered_unit_vectors(400, 32, 8, 0.005, 9);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let seeds = plus_plus(&pool, 8, &mut rng);
        let centres = {
            let mut c = Vectors::new(32);
            seeds.iter().for_each(|&s| c.push(pool.row(s)));
            c
        };
        let mut clusters: Vec<usize> = assign(&pool, &centres);
        clusters.sort_unstable();
        clusters.dedup();
        assert_eq!(clusters.len(), 8);
        for (i, a) in seeds.iter().enumerate() {
            for b in &seeds[i + 1..] {
                assert!(dot(pool.row(*a), pool.row(*b)) < 0.9, "two seeds in one cluster");
            }
        }
    }

    /// Three pairs of nearly equal unit vectors, far apart on the circle.
    fn three_pairs() -> Vectors {
        let angles = [0.0f32, 0.05, 2.0, 2.05, 4.0, 4.05];
        let flat = angles.iter().flat_map(|a| [a.cos(), a.sin()]).collect();
        Vectors::from_flat(2, flat).unwrap()
    }

    #[test]
    fn seeding_by_squared_distance_never_takes_two_of_a_pair() {
        let pool = three_pairs();
        for seed in 0..50 {
            let mut seeds = plus_plus(&pool, 3, &mut ChaCha8Rng::seed_from_u64(seed));
            seeds.sort_unstable();
            let pairs: Vec<usize> = seeds.iter().map(|row| row / 2).collect();
            // A pair's second row weighs about 0.0025 against more than 2.8
            // for each row of another pair: about one draw in 2,000.
            assert_eq!(pairs, [0, 1, 2], "seed {seed}: {seeds:?}");
        }
    }

    #[test]
    fn medoids_are_one_row_of_each_pair() {
        let pool = three_pairs();
        for seed in 0..10 {
            let mut rows = pick(&pool, 3, seed, &crate::progress::Quiet);
            rows.sort_unstable();
            assert_eq!(
                rows.iter().map(|row| row / 2).collect::<Vec<_>>(),
                [0, 1, 2],
                "seed {seed}"
            );
        }
        // Six picks of six rows: each row once, whatever the clustering.
        let mut all = pick(&pool, 6, 0, &crate::progress::Quiet);
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn weighted_draw_skips_zero_weights() {
        let weights = [0.0, 1.0, 0.0, 2.0];
        assert_eq!(weighted_draw(&weights, 0.5), Some(1));
        assert_eq!(weighted_draw(&weights, 1.5), Some(3));
        assert_eq!(weighted_draw(&weights, 3.0), Some(3));
        assert_eq!(weighted_draw(&[0.0, 0.0], 0.0), None);
    }

    #[test]
    fn identical_rows_still_give_the_budget() {
        let pool = Vectors::from_flat(2, [1.0, 0.0].repeat(5)).unwrap();
        let rows = pick(&pool, 3, 0, &crate::progress::Quiet);
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 3, "{rows:?}");
    }
}
