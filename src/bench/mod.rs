//! What the benchmarks measure on: synthetic data shaped like sentence
//! embeddings, shared by `benches/` and the tests that check recall.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::index::Vectors;

/// `n` unit vectors of `dim` entries drawn around `clusters` random centres
/// (Gaussian spread `spread` around each), like the embeddings of a corpus
/// with topics. The same seed gives the same vectors.
pub fn clustered_unit_vectors(n: usize, dim: usize, clusters: usize, spread: f32, seed: u64) -> Vectors {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..clusters.max(1))
        .map(|_| (0..dim).map(|_| rng.sample::<f32, _>(StandardNormal)).collect())
        .collect();
    let mut vectors = Vectors::new(dim);
    let mut row = vec![0f32; dim];
    for _ in 0..n {
        let centre = &centres[rng.random_range(0..centres.len())];
        for (x, c) in row.iter_mut().zip(centre) {
            *x = c + spread * rng.sample::<f32, _>(StandardNormal);
        }
        let norm = row
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        row.iter_mut().for_each(|x| *x /= norm);
        vectors.push(&row);
    }
    vectors
}
