//! Building the graph: `hnsw_rs` inserts the vectors, then its layers are
//! read out into exemplar's frozen [`Graph`].

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::prelude::Hnsw;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::dot::dot;
use super::graph::{Graph, Layer};
use crate::vectors::Vectors;

/// Most layers `hnsw_rs` may create (its own upper bound).
const MAX_LAYERS: usize = 16;

/// Parameters of an HNSW build, all recorded in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HnswParams {
    /// Links per node on the upper layers (`hnsw_rs` allows twice as many on layer 0).
    pub m: usize,
    /// Candidate list length while inserting.
    pub ef_construction: usize,
    /// Seeds the insertion order. `hnsw_rs` draws node levels from a fixed internal
    /// seed, so the order of insertion is what varies between seeds.
    pub seed: u64,
    /// Insert from several threads: faster, but the graph then depends on thread
    /// timing, so two builds may differ slightly.
    pub parallel: bool,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            seed: 42,
            parallel: false,
        }
    }
}

/// Cosine distance on unit vectors, clamped at zero: rounding can push the dot
/// product of a vector with itself a hair above 1, and `hnsw_rs`'s own `DistDot`
/// asserts on that.
#[derive(Debug, Clone, Copy, Default)]
struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

/// Builds an HNSW graph over `vectors`.
pub fn build_graph(vectors: &Vectors, params: &HnswParams) -> Graph {
    let n = vectors.len();
    let hnsw: Hnsw<f32, UnitCosine> =
        Hnsw::new(params.m, n.max(1), MAX_LAYERS, params.ef_construction, UnitCosine);
    let order = insertion_order(n, params.seed);
    if params.parallel {
        let rows: Vec<(&[f32], usize)> = order.iter().map(|&i| (vectors.row(i), i)).collect();
        hnsw.parallel_insert_slice(&rows);
    } else {
        for &i in &order {
            hnsw.insert_slice((vectors.row(i), i));
        }
    }
    freeze(&hnsw, n, &order)
}

/// A seeded permutation of `0..n`. Shuffling also keeps a sorted corpus (by
/// document, by topic) from degrading the graph.
fn insertion_order(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order
}

/// Reads `hnsw_rs`'s layers into flat arrays indexed by row number.
fn freeze(hnsw: &Hnsw<f32, UnitCosine>, n: usize, order: &[usize]) -> Graph {
    let mut lists: Vec<Vec<Vec<u32>>> = Vec::new();
    let mut level = vec![0usize; n];
    for point in hnsw.get_point_indexation() {
        let node = point.get_origin_id();
        level[node] = point.get_point_id().0 as usize;
        for (layer, neighbours) in point.get_neighborhood_id().into_iter().enumerate() {
            if neighbours.is_empty() {
                continue;
            }
            if lists.len() <= layer {
                lists.resize_with(layer + 1, || vec![Vec::new(); n]);
            }
            lists[layer][node] = neighbours.iter().map(|nb| nb.get_origin_id() as u32).collect();
        }
    }
    let top = level.iter().copied().max().unwrap_or(0);
    if lists.len() <= top {
        lists.resize_with(top + 1, || vec![Vec::new(); n]);
    }
    // hnsw_rs enters at the first node inserted on the top level.
    let entry = order.iter().copied().find(|&i| level[i] == top).unwrap_or(0) as u32;
    Graph::new(entry, lists.iter().map(|l| Layer::from_lists(l)).collect())
}

#[cfg(test)]
mod tests {
    use super::super::graph::{exact_search, Hit};
    use super::super::quantized::Quantized;
    use super::*;

    fn clustered_vectors(n: usize, dim: usize, seed: u64) -> Vectors {
        crate::vectors::clustered_unit_vectors(n, dim, 8, 0.6, seed)
    }

    fn recall(found: &[u32], truth: &[u32]) -> f64 {
        found.iter().filter(|n| truth.contains(n)).count() as f64 / truth.len() as f64
    }

    #[test]
    fn frozen_graph_agrees_with_hnsw_rs_and_exact_search() {
        let seed = 7;
        println!("seed {seed}");
        let vectors = clustered_vectors(3000, 32, seed);
        let params = HnswParams::default();
        let hnsw: Hnsw<f32, UnitCosine> =
            Hnsw::new(params.m, 3000, MAX_LAYERS, params.ef_construction, UnitCosine);
        let order = insertion_order(3000, params.seed);
        for &i in &order {
            hnsw.insert_slice((vectors.row(i), i));
        }
        let graph = freeze(&hnsw, 3000, &order);
        graph.validate(3000).unwrap();
        let queries = clustered_vectors(200, 32, seed + 1);
        let (mut ours, mut theirs) = (0.0, 0.0);
        for q in 0..queries.len() {
            let query = queries.row(q);
            let truth: Vec<u32> = exact_search(&vectors, query, 10).iter().map(|h| h.node).collect();
            let frozen: Vec<u32> = graph
                .search(&vectors, query, 10, 200)
                .iter()
                .map(|h| h.node)
                .collect();
            let native: Vec<u32> = hnsw
                .search(query, 10, 200)
                .iter()
                .map(|n| n.d_id as u32)
                .collect();
            ours += recall(&frozen, &truth);
            theirs += recall(&native, &truth);
        }
        let (ours, theirs) = (ours / 200.0, theirs / 200.0);
        println!("recall@10 frozen {ours:.4} hnsw_rs {theirs:.4}");
        assert!(ours >= 0.99, "frozen recall {ours}");
        assert!(ours >= theirs - 0.005, "frozen {ours} vs hnsw_rs {theirs}");
    }

    #[test]
    fn the_quantized_walk_finds_what_the_f32_walk_finds_with_exact_similarities() {
        let seed = 9;
        println!("seed {seed}");
        let vectors = clustered_vectors(4000, 64, seed);
        let queries = clustered_vectors(200, 64, seed + 1);
        let graph = build_graph(&vectors, &HnswParams::default());
        let codes = Quantized::new(&vectors);
        let (mut f32_recall, mut int8_recall) = (0.0, 0.0);
        for q in 0..queries.len() {
            let query = queries.row(q);
            let truth: Vec<u32> = exact_search(&vectors, query, 10).iter().map(|h| h.node).collect();
            let full = graph.search(&vectors, query, 10, 200);
            let coarse = graph.search_quantized(&vectors, &codes, query, 10, 200);
            for hit in &coarse {
                assert_eq!(hit.similarity, dot(query, vectors.row(hit.node as usize)));
            }
            assert!(coarse.windows(2).all(|w| w[0].similarity >= w[1].similarity));
            let nodes = |hits: &[Hit]| hits.iter().map(|h| h.node).collect::<Vec<_>>();
            f32_recall += recall(&nodes(&full), &truth);
            int8_recall += recall(&nodes(&coarse), &truth);
        }
        let (f32_recall, int8_recall) = (f32_recall / 200.0, int8_recall / 200.0);
        println!("recall@10 f32 walk {f32_recall:.4}, int8 walk {int8_recall:.4}");
        assert!(
            int8_recall >= f32_recall - 0.005,
            "int8 {int8_recall} vs f32 {f32_recall}"
        );
        assert!(int8_recall >= 0.95, "int8 walk recall {int8_recall}");
    }

    #[test]
    fn same_seed_same_graph_other_seed_other_graph() {
        let vectors = clustered_vectors(500, 16, 3);
        let params = HnswParams::default();
        assert_eq!(build_graph(&vectors, &params), build_graph(&vectors, &params));
        let other = HnswParams { seed: 43, ..params };
        assert_ne!(build_graph(&vectors, &params), build_graph(&vectors, &other));
    }
}
