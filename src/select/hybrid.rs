//! Dense and lexical retrieval fused: the `candidates` nearest sentences by
//! cosine and the `candidates` best by BM25 (both through the pool, so the
//! filters hold), merged into one ranking.
//!
//! - `rrf` (the default), reciprocal rank fusion (Cormack et al., 2009): a
//!   sentence scores `Σ 1 / (rrf_k + rank)` over the lists it is in (rank
//!   from 1). It needs no calibration between the two scores.
//! - `weighted`: `weight · cosine + (1 − weight) · bm25 / best bm25`, every
//!   candidate scored on both sides (its exact cosine, its BM25), the BM25
//!   scaled by the best among the candidates so both terms lie in [0, 1]
//!   for sentences that resemble the query.
//!
//! The demonstration's `score` is the fused score (`score_kind` `rrf` or
//! `weighted` in the JSON).

use std::collections::HashMap;
use std::sync::Arc;

use super::bm25::best;
use super::filter::Candidate;
use super::params::{Kind, ParamSpec, Value};
use super::{Definition, Demo, Pool, Query, Rank, ScoreKind, CANDIDATES};
use crate::error::Result;
use crate::index::{dot, SearchMode};
use crate::lexical::{self, Lexical};
use crate::names::Named;

pub(super) const DEFINITION: Definition = Definition {
    params: &[
        ParamSpec {
            name: "fusion",
            kind: Kind::Choice(&["rrf", "weighted"]),
            default: |_| Value::Text("rrf".into()),
            help: "how the two rankings are merged: rrf (reciprocal rank fusion) or weighted (scores) [default: rrf]",
        },
        ParamSpec {
            name: "rrf_k",
            kind: Kind::Real { min: 0.0, max: 1000.0 },
            default: |_| Value::Real(60.0),
            help: "rrf: the constant added to each rank, in [0, 1000] [default: 60]",
        },
        ParamSpec {
            name: "weight",
            kind: Kind::Real { min: 0.0, max: 1.0 },
            default: |_| Value::Real(0.5),
            help: "weighted: the share of the cosine against BM25, in [0, 1] [default: 0.5]",
        },
        CANDIDATES,
    ],
    needs_vector: |_| true,
    score: |params| Ok(Some(ScoreKind::from_name(params.choice("fusion")?)?)),
    build: |index, params, setup| Ok(Box::new(Hybrid::new(index, params, setup)?)),
};

impl Hybrid {
    /// Hybrid selection over `index` with resolved `params`.
    pub(super) fn new(
        index: &crate::index::Index,
        params: &super::Params,
        setup: &super::Setup,
    ) -> Result<Hybrid> {
        let fusion = match params.choice("fusion")? {
            "weighted" => Fusion::Weighted {
                weight: params.real("weight")? as f32,
            },
            _ => Fusion::Rrf {
                k: params.real("rrf_k")? as f32,
            },
        };
        Ok(Hybrid {
            lexical: lexical::of(index)?,
            fusion,
            candidates: params.count("candidates")?,
            mode: setup.mode,
        })
    }
}

/// How the dense and lexical rankings are merged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal rank fusion.
    Rrf {
        /// The constant added to each rank.
        k: f32,
    },
    /// `weight · cosine + (1 − weight) · scaled BM25`.
    Weighted {
        /// The cosine's share.
        weight: f32,
    },
}

/// Dense and lexical selection fused.
pub struct Hybrid {
    lexical: Arc<Lexical>,
    fusion: Fusion,
    candidates: usize,
    mode: SearchMode,
}

impl Rank for Hybrid {
    fn rank(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Demo>> {
        Ok(pool.demos(&self.best(query, pool, k)?))
    }
}

impl Hybrid {
    /// The fused ranking of up to `k` admitted, distinct rows, best first.
    pub(super) fn best(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Candidate>> {
        let vector = query.vector()?;
        let n = self.candidates.max(k);
        let terms = self.lexical.query(query.text);
        let dense = pool.nearest(vector, n, self.mode);
        let lexical = best(&self.lexical, &terms, pool, n)?;
        let fused = match self.fusion {
            Fusion::Rrf { k: rrf_k } => rrf(&[&dense, &lexical], rrf_k),
            Fusion::Weighted { weight } => {
                let rows = union(&[&dense, &lexical]);
                let bm25 = self.lexical.scores(&terms, &rows)?;
                let vectors = pool.index().vectors();
                let scored: Vec<(usize, f32, f32)> = rows
                    .iter()
                    .zip(bm25)
                    .map(|(&row, bm25)| (row, dot(vector, vectors.row(row)), bm25))
                    .collect();
                weighted(&scored, weight)
            }
        };
        // Both lists are admitted and distinct, but one text may sit at a
        // different row in each.
        Ok(pool.distinct(fused, k))
    }
}

/// The rows of `lists`, each once, in order of first appearance.
fn union(lists: &[&[Candidate]]) -> Vec<usize> {
    let mut seen = HashMap::new();
    for row in lists.iter().flat_map(|list| list.iter().map(|c| c.row)) {
        let next = seen.len();
        seen.entry(row).or_insert(next);
    }
    let mut rows: Vec<(usize, usize)> = seen.into_iter().collect();
    rows.sort_by_key(|&(_, first)| first);
    rows.into_iter().map(|(row, _)| row).collect()
}

/// Reciprocal rank fusion of best-first `lists`: best first, equal scores
/// in order of first appearance.
pub(super) fn rrf(lists: &[&[Candidate]], rrf_k: f32) -> Vec<Candidate> {
    let rows = union(lists);
    let mut score: HashMap<usize, f32> = rows.iter().map(|&row| (row, 0.0)).collect();
    for list in lists {
        for (rank, candidate) in list.iter().enumerate() {
            if let Some(s) = score.get_mut(&candidate.row) {
                *s += 1.0 / (rrf_k + rank as f32 + 1.0);
            }
        }
    }
    ranked(rows.into_iter().map(|row| (row, score[&row])))
}

/// Weighted score fusion of `(row, cosine, bm25)`: best first, equal
/// scores in the given order.
fn weighted(scored: &[(usize, f32, f32)], weight: f32) -> Vec<Candidate> {
    let top = scored.iter().map(|s| s.2).fold(0.0, f32::max);
    let scale = if top > 0.0 { 1.0 / top } else { 0.0 };
    ranked(
        scored
            .iter()
            .map(|&(row, cosine, bm25)| (row, weight * cosine + (1.0 - weight) * bm25 * scale)),
    )
}

/// `(row, score)` as candidates, best first (a stable sort: ties keep order).
fn ranked(scored: impl Iterator<Item = (usize, f32)>) -> Vec<Candidate> {
    let mut all: Vec<Candidate> = scored.map(|(row, s)| Candidate { row, score: Some(s) }).collect();
    all.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rows: &[usize]) -> Vec<Candidate> {
        rows.iter().map(|&row| Candidate { row, score: None }).collect()
    }

    fn rows(candidates: &[Candidate]) -> Vec<usize> {
        candidates.iter().map(|c| c.row).collect()
    }

    #[test]
    fn rrf_rewards_rows_both_lists_rank_well() {
        let fused = rrf(&[&list(&[1, 2, 3]), &list(&[3, 4, 1])], 60.0);
        assert_eq!(rows(&fused), [1, 3, 2, 4]);
        let one = 1.0 / 61.0 + 1.0 / 63.0;
        assert!((fused[0].score.unwrap() - one).abs() < 1e-7);
        assert_eq!(
            fused[1].score, fused[0].score,
            "rows 1 and 3 are symmetric; the first seen leads"
        );
        assert!((fused[2].score.unwrap() - 1.0 / 62.0).abs() < 1e-7);
    }

    #[test]
    fn a_small_rrf_k_lets_the_top_of_one_list_win() {
        // Row 9 is first in one list only; row 5 is second in both.
        let lists = [list(&[9, 5, 7]), list(&[8, 5, 6])];
        assert_eq!(rows(&rrf(&[&lists[0], &lists[1]], 60.0))[0], 5);
        assert_eq!(rows(&rrf(&[&lists[0], &lists[1]], 0.0))[0], 9);
    }

    #[test]
    fn weighted_fusion_moves_from_lexical_to_dense_with_the_weight() {
        // Row 0: close in meaning, no shared word; row 1: shared words, far in meaning.
        let scored = [(0, 0.9, 0.0), (1, 0.1, 12.0), (2, 0.6, 8.0)];
        assert_eq!(rows(&weighted(&scored, 1.0)), [0, 2, 1]);
        assert_eq!(rows(&weighted(&scored, 0.0)), [1, 2, 0]);
        let half = weighted(&scored, 0.5);
        assert_eq!(rows(&half), [2, 1, 0]);
        assert!((half[0].score.unwrap() - (0.3 + 0.5 * 8.0 / 12.0)).abs() < 1e-6);
        let none = weighted(&[(3, 0.4, 0.0)], 0.5);
        assert_eq!(
            none[0].score,
            Some(0.2),
            "no BM25 anywhere: the cosine part alone"
        );
    }

    #[test]
    fn union_keeps_first_appearance() {
        assert_eq!(union(&[&list(&[4, 2]), &list(&[2, 7, 4, 1])]), [4, 2, 7, 1]);
    }
}
