//! Maximal marginal relevance (Carbonell & Goldstein, 1998): from the N
//! nearest candidates, pick one at a time the candidate that best balances
//! similarity to the query against similarity to those already picked,
//! `lambda · sim(q, c) − (1 − lambda) · max over picked p of sim(c, p)`.
//! With lambda = 1 that is the k nearest, in order: k-NN exactly.

use super::filter::Candidate;
use super::params::{Kind, ParamSpec, Value};
use super::{Definition, Demo, Pool, Query, Rank, ScoreKind, CANDIDATES};
use crate::error::Result;
use crate::index::{dot, SearchMode};
use crate::vectors::Vectors;

pub(super) const DEFINITION: Definition = Definition {
    params: &[
        ParamSpec {
            name: "lambda",
            kind: Kind::Real { min: 0.0, max: 1.0 },
            default: |_| Value::Real(0.5),
            help: "weight of similarity to the query against novelty, in [0, 1] (1: k-NN) [default: 0.5]",
        },
        CANDIDATES,
    ],
    needs_vector: |_| true,
    score: |_| Ok(Some(ScoreKind::Cosine)),
    build: |_, params, setup| {
        Ok(Box::new(Mmr {
            lambda: params.real("lambda")? as f32,
            candidates: params.count("candidates")?,
            mode: setup.mode,
        }))
    },
};

/// MMR over the `candidates` nearest sentences.
#[derive(Debug, Clone, Copy)]
pub struct Mmr {
    /// Weight of similarity to the query against novelty (1: k-NN).
    pub lambda: f32,
    /// How many nearest sentences to choose from.
    pub candidates: usize,
    /// How the candidates are searched.
    pub mode: SearchMode,
}

impl Rank for Mmr {
    fn rank(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Demo>> {
        let vector = query.vector()?;
        let nearest = pool.nearest(vector, self.candidates.max(k), self.mode);
        let picked = mmr(&nearest, pool.index().vectors(), self.lambda, k);
        Ok(pool.demos(&picked))
    }
}

/// The MMR choice of `k` of `candidates` (best first, scored by similarity
/// to the query), in the order picked. Ties go to the better-ranked candidate.
fn mmr(candidates: &[Candidate], vectors: &Vectors, lambda: f32, k: usize) -> Vec<Candidate> {
    let relevance: Vec<f32> = candidates.iter().map(|c| c.score.unwrap_or(0.0)).collect();
    // The highest similarity of each candidate to any picked one so far.
    let mut redundancy = vec![f32::NEG_INFINITY; candidates.len()];
    let mut taken = vec![false; candidates.len()];
    let mut picked = Vec::with_capacity(k.min(candidates.len()));
    while picked.len() < k.min(candidates.len()) {
        let mut best: Option<(usize, f32)> = None;
        for i in (0..candidates.len()).filter(|&i| !taken[i]) {
            let penalty = if picked.is_empty() { 0.0 } else { redundancy[i] };
            let value = lambda * relevance[i] - (1.0 - lambda) * penalty;
            if best.is_none_or(|(_, v)| value > v) {
                best = Some((i, value));
            }
        }
        let Some((chosen, _)) = best else { break };
        taken[chosen] = true;
        picked.push(candidates[chosen]);
        let row = vectors.row(candidates[chosen].row);
        for (i, c) in candidates.iter().enumerate().filter(|(i, _)| !taken[*i]) {
            redundancy[i] = redundancy[i].max(dot(row, vectors.row(c.row)));
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors at these angles (radians) in the plane.
    fn at(angles: &[f32]) -> Vectors {
        let mut vectors = Vectors::new(2);
        for a in angles {
            vectors.push(&[a.cos(), a.sin()]);
        }
        vectors
    }

    fn candidates(vectors: &Vectors, query: &[f32]) -> Vec<Candidate> {
        let mut all: Vec<Candidate> = (0..vectors.len())
            .map(|row| Candidate {
                row,
                score: Some(dot(query, vectors.row(row))),
            })
            .collect();
        all.sort_by(|a, b| b.score.unwrap().total_cmp(&a.score.unwrap()));
        all
    }

    fn rows(picked: &[Candidate]) -> Vec<usize> {
        picked.iter().map(|c| c.row).collect()
    }

    #[test]
    fn lambda_one_is_the_nearest_in_order() {
        let vectors = at(&[0.1, 0.12, 0.5, -0.3, 1.2, 0.11]);
        let pool = candidates(&vectors, &[1.0, 0.0]);
        assert_eq!(rows(&mmr(&pool, &vectors, 1.0, 4)), rows(&pool[..4]));
    }

    #[test]
    fn lower_lambda_trades_a_near_duplicate_for_a_different_candidate() {
        // Rows 0 and 1 are almost the same sentence; row 2 is a little less
        // similar to the query but different from both.
        let vectors = at(&[0.10, 0.101, -0.4]);
        let pool = candidates(&vectors, &[1.0, 0.0]);
        assert_eq!(rows(&mmr(&pool, &vectors, 1.0, 2)), [0, 1]);
        assert_eq!(rows(&mmr(&pool, &vectors, 0.5, 2)), [0, 2]);
        assert_eq!(mmr(&pool, &vectors, 0.0, 5).len(), 3, "never more than the pool");
    }
}
