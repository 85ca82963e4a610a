//! The k nearest neighbours of every row of a pool, for Vote-k's vote graph:
//! exact up to [`EXACT_UP_TO`] rows, through the index's HNSW graph above.

use rayon::prelude::*;

use crate::index::{build_graph, exact_search, Graph, HnswParams, DEFAULT_EF_SEARCH};
use crate::progress::Progress;
use crate::vectors::Vectors;

/// Largest pool searched exhaustively. Exact neighbours cost n² dot products
/// and no approximation: on NCBI-disease's 5,400 training sentences (MiniLM,
/// 384 dimensions) all lists take a few seconds on 2 cores, next to about a
/// minute and a half of embedding. Quadratic growth makes that minutes at
/// 20,000 rows and most of an hour at 100,000, where a graph (built serially,
/// so picks stay reproducible) and an `ef` search cost n · log n instead.
pub const EXACT_UP_TO: usize = 20_000;

/// Rows stepped through per progress report.
const CHUNK: usize = 256;

/// For each row, the `k` other rows most similar to it, most similar first
/// (`k` is cut to the pool's size minus one). Reports the stages `"graph"`
/// (large pools only) and `"neighbours"`.
pub fn nearest_neighbours(pool: &Vectors, k: usize, progress: &dyn Progress) -> Vec<Vec<u32>> {
    let graph = (pool.len() > EXACT_UP_TO).then(|| {
        progress.start("graph", 1);
        let graph = build_graph(pool, &HnswParams::default());
        progress.finish();
        graph
    });
    neighbour_lists(pool, k, graph.as_ref(), progress)
}

/// [`nearest_neighbours`] searched through `graph`, or exhaustively without one.
fn neighbour_lists(
    pool: &Vectors,
    k: usize,
    graph: Option<&Graph>,
    progress: &dyn Progress,
) -> Vec<Vec<u32>> {
    let n = pool.len();
    let k = k.min(n.saturating_sub(1));
    // One more than `k`: the row itself is usually its own nearest.
    let search = |row: &[f32]| match graph {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Quiet;
    use crate::vectors::clustered_unit_vectors;

    #[test]
    fn lists_hold_k_other_rows_most_similar_first() {
        let pool = Vectors::from_flat(2, vec![1.0, 0.0, 0.8, 0.6, 0.0, 1.0, 0.6, 0.8]).unwrap();
        let lists = nearest_neighbours(&pool, 2, &Quiet);
        assert_eq!(lists, [vec![1, 3], vec![3, 0], vec![3, 1], vec![1, 2]]);
        // More neighbours than other rows: every other row.
        assert!(nearest_neighbours(&pool, 10, &Quiet).iter().all(|l| l.len() == 3));
    }

    #[test]
    fn the_graph_finds_nearly_the_exact_lists() {
        let pool = clustered_unit_vectors(2_000, 16, 20, 0.3, 4);
        let graph = build_graph(&pool, &HnswParams::default());
        let exact = neighbour_lists(&pool, 10, None, &Quiet);
        let approximate = neighbour_lists(&pool, 10, Some(&graph), &Quiet);
        let found: usize = exact
            .iter()
            .zip(&approximate)
            .map(|(e, a)| e.iter().filter(|row| a.contains(row)).count())
            .sum();
        let recall = found as f64 / (2_000 * 10) as f64;
        assert!(recall > 0.95, "recall {recall}");
        assert!(approximate.iter().all(|list| list.len() == 10));
    }
}
