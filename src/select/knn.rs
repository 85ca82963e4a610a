//! KATE-style selection: the k nearest training sentences by cosine
//! similarity (the order puts the most similar right before the query).

use super::{Definition, Demo, Pool, Query, Rank, ScoreKind};
use crate::error::Result;
use crate::index::SearchMode;

pub(super) const DEFINITION: Definition = Definition {
    params: &[],
    needs_vector: |_| true,
    score: |_| Ok(Some(ScoreKind::Cosine)),
    build: |_, _, setup| Ok(Box::new(Knn { mode: setup.mode })),
};

/// Nearest-neighbour selection over the index's graph (or exhaustively).
#[derive(Debug, Clone, Copy)]
pub struct Knn {
    /// How the neighbours are searched.
    pub mode: SearchMode,
}

impl Rank for Knn {
    fn rank(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Demo>> {
        let vector = query.vector()?;
        Ok(pool.demos(&pool.nearest(vector, k, self.mode)))
    }
}
