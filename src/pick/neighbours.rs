//! The k nearest neighbours of every row of a pool: exact up to
//! [`EXACT_UP_TO`] rows, through an HNSW graph above.

use rayon::prelude::*;

use crate::index::{build_graph, exact_search, HnswParams, DEFAULT_EF_SEARCH};
use crate::progress::Progress;
use crate::vectors::Vectors;

/// Largest pool searched exhaustively. Exact search costs n² dot products,
/// HNSW about n · log n but a graph build first; measured on 2 cores with
/// 384-dimensional MiniLM vectors: (see README)
pub const EXACT_UP_TO: usize = 20_000;

/// Rows stepped through per progress report.
const CHUNK: usize = 256;

/// For each row, the `k` other rows most similar to it, most similar first
/// (`k` is cut to the pool's size minus one). Reports the stage `"neighbours"`.
pub fn nearest_neighbours(pool: &Vectors, k: usize, progress: &dyn Progress) -> Vec<Vec<u32>> {
    let n = pool.len();
    let k = k.min(n.saturating_sub(1));
    let graph = (n > EXACT_UP_TO).then(|| {
        progress.start("graph", 1);
        let graph = build_graph(pool, &HnswParams::default());
        progress.finish();
        graph
    });
    // One more than `k`: the row itself is usually its own nearest.
    let search = |row: &[f32]| match &graph {
        Some(graph) => graph.search(pool, row, k + 1, (k + 1).max(DEFAULT_EF_SEARCH)),
        None => exact_search(pool, row, k + 1),
    };
    progress.start("neighbours", n as u64);
    let lists = (0..n)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map(|i| {
            let hits = search(pool.row(i));
            if i % CHUNK == 0 {
                progress.advance(CHUNK.min(n - i) as u64);
            }
            hits.into_iter()
                .map(|hit| hit.node)
                .filter(|&node| node as usize != i)
                .take(k)
                .collect()
        })
        .collect();
    progress.finish();
    lists
}
