//! Random demonstrations, the paper's baseline. Each query gets its own draw,
//! seeded by the run's seed and the query text, so a rerun (or the same query
//! in another order) gets the same demonstrations.

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{take_distinct, Demo, Query, Selector};
use crate::digest::sha256_hex;
use crate::index::Index;

/// Seeded random selection.
#[derive(Debug, Clone, Copy)]
pub struct Random {
    /// Seed of every draw, mixed with the query text's hash.
    pub seed: u64,
}

impl Random {
    fn rng_for(&self, text: &str) -> ChaCha8Rng {
        let digest = sha256_hex(text.as_bytes());
        let text_seed = u64::from_str_radix(&digest[..16], 16).unwrap_or(0);
        ChaCha8Rng::seed_from_u64(self.seed ^ text_seed)
    }
}

impl Selector for Random {
    fn name(&self) -> &'static str {
        "random"
    }

    fn needs_vector(&self) -> bool {
        false
    }

    fn select(&self, index: &Index, query: &Query, k: usize) -> Vec<Demo> {
        // A random permutation prefix: enough rows to survive skipping the
        // query itself and duplicate texts in all but degenerate corpora.
        let n = index.len();
        let mut amount = (k + 8).min(n);
        loop {
            let draw = sample(&mut self.rng_for(query.text), n, amount);
            let demos = take_distinct(index, query.text, draw.into_iter().map(|row| (row, None)), k);
            if demos.len() == k || amount == n {
                return demos;
            }
            amount = n;
        }
    }
}
