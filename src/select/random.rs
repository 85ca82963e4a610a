//! Random demonstrations, the paper's baseline. Each query gets its own draw,
//! seeded by the run's seed and the query text, so a rerun (or the same query
//! in another order) gets the same demonstrations.

use rand::seq::index::sample;

use super::filter::Candidate;
use super::{query_rng, Definition, Demo, Pool, Query, Rank};
use crate::error::Result;

pub(super) const DEFINITION: Definition = Definition {
    params: &[],
    needs_vector: |_| false,
    score: |_| Ok(None),
    build: |_, _, setup| Ok(Box::new(Random { seed: setup.seed })),
};

/// Seeded random selection.
#[derive(Debug, Clone, Copy)]
pub struct Random {
    /// Seed of every draw, mixed with the query text's hash.
    pub seed: u64,
}

impl Rank for Random {
    fn rank(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Demo>> {
        // Draw from the rows the filters let through (all when none apply): a
        // random permutation prefix, enough rows to survive skipping the query
        // itself, duplicate texts and the query's document in all but
        // degenerate corpora; else all of them.
        let rows = pool.rows();
        let n = rows.map_or(pool.index().len(), <[u32]>::len);
        let row_at = |i: usize| rows.map_or(i, |rows| rows[i] as usize);
        let mut amount = k.saturating_add(8).min(n);
        loop {
            let draw = sample(&mut query_rng(self.seed, query.text), n, amount);
            let candidates = draw.into_iter().map(|i| Candidate {
                row: row_at(i),
                score: None,
            });
            let chosen = pool.distinct(candidates, k);
            if chosen.len() == k || amount == n {
                return Ok(pool.demos(&chosen));
            }
            amount = n;
        }
    }
}
