//! KATE-style selection: the k nearest training sentences by cosine
//! similarity, returned least similar first so the most similar stands right
//! before the query in the prompt.

use super::{take_distinct, Demo, Query, Selector};
use crate::index::{Index, SearchMode};

/// Nearest-neighbour selection over the index's graph (or exhaustively).
#[derive(Debug, Clone, Copy)]
pub struct Knn {
    /// How the neighbours are searched.
    pub mode: SearchMode,
}

impl Selector for Knn {
    fn name(&self) -> &'static str {
        "knn"
    }

    fn needs_vector(&self) -> bool {
        true
    }

    fn select(&self, index: &Index, query: &Query, k: usize) -> Vec<Demo> {
        let Some(vector) = query.vector else {
            return Vec::new();
        };
        // Ask for a few more than k: the query itself and duplicate texts are
        // skipped. Widen the search until k are found or the index is exhausted.
        let mut want = k + 8;
        loop {
            let hits = index.search(vector, want, self.mode);
            let exhausted = hits.len() < want || want >= index.len();
            let candidates = hits.iter().map(|h| (h.node as usize, Some(h.similarity)));
            let mut demos = take_distinct(index, query.text, candidates, k);
            if demos.len() == k || exhausted {
                demos.reverse();
                return demos;
            }
            want = (want * 2).min(index.len());
        }
    }
}
