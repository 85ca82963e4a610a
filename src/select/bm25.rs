//! Lexical selection: the k training sentences that score best by BM25
//! against the query ([`crate::lexical`]: tantivy, k1 = 1.2, b = 0.75), the
//! baseline that tells how much of k-NN's gain is word overlap. When fewer
//! than k sentences share a term with the query, the rest are taken in index
//! order (score 0), as rank-bm25's `get_top_n` does, so k come back whenever
//! k pass the filters.

use std::sync::Arc;

use super::filter::Candidate;
use super::{Definition, Demo, Pool, Query, Rank, ScoreKind};
use crate::error::Result;
use crate::lexical::{self, Lexical, LexicalQuery};

pub(super) const DEFINITION: Definition = Definition {
    params: &[],
    needs_vector: |_| false,
    score: |_| Ok(Some(ScoreKind::Bm25)),
    build: |index, _, _| {
        Ok(Box::new(Bm25 {
            lexical: lexical::of(index)?,
        }))
    },
};

/// BM25 selection over one index's sentences.
pub struct Bm25 {
    lexical: Arc<Lexical>,
}

impl Rank for Bm25 {
    fn rank(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Demo>> {
        let terms = self.lexical.query(query.text);
        Ok(pool.demos(&best(&self.lexical, &terms, pool, k)?))
    }
}

/// Up to `n` admitted rows by BM25 against `terms`, best first; `n` when `n`
/// pass the pool. The search widens until `n` admitted rows are found or
/// every matching row has been seen; rows sharing no term then follow in
/// index order, scored 0.
pub(super) fn best(lexical: &Lexical, terms: &LexicalQuery, pool: &Pool, n: usize) -> Result<Vec<Candidate>> {
    // A few more than n: the query itself and repeated texts are skipped.
    let mut want = n + 8;
    loop {
        let top = lexical.top(terms, want)?;
        let exhausted = top.len() < want;
        let scored = top.iter().map(|&(row, score)| Candidate {
            row,
            score: Some(score),
        });
        let found = match exhausted {
            true => pool.distinct(scored.chain(unmatched(&top, lexical.len())), n),
            false => pool.distinct(scored, n),
        };
        if found.len() == n || exhausted {
            return Ok(found);
        }
        want = want.saturating_mul(4);
    }
}

/// The rows not in `top`, in index order, scored 0.
fn unmatched(top: &[(usize, f32)], len: usize) -> impl Iterator<Item = Candidate> {
    let mut matched = vec![false; len];
    for &(row, _) in top {
        matched[row] = true;
    }
    (0..len).filter(move |&row| !matched[row]).map(|row| Candidate {
        row,
        score: Some(0.0),
    })
}
