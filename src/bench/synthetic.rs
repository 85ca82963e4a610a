//! Synthetic data shaped like sentence embeddings (shared by `benches/` and
//! the tests that check recall), and the benchmark part measured on it.

use std::time::Instant;

use super::measure::{export, measure_search, neighbour_ids, Settings, INT8};
use super::report::Part;
use crate::error::{Error, Result};
use crate::index::{build_graph, exact_search, HnswParams, Quantized, Vectors};
use crate::vectors::clustered_unit_vectors;

/// Clusters of the synthetic vectors.
const CLUSTERS: usize = 100;
/// Gaussian spread of the synthetic vectors around their cluster centre.
const SPREAD: f32 = 0.6;

/// The synthetic data and graph of one benchmark part.
#[derive(Debug, Clone, Copy)]
pub struct Synthetic {
    /// Vectors in the index (the queries are drawn besides).
    pub vectors: usize,
    /// Entries per vector (must be positive).
    pub dim: usize,
    /// Seed of the vectors and of the graph's insertion order.
    pub seed: u64,
    /// HNSW links per node.
    pub m: usize,
    /// HNSW candidate list length while building.
    pub ef_construction: usize,
}

/// Draws the vectors and queries, builds a graph on all cores (timed), and
/// measures its search walking 8-bit codes and full vectors against exact
/// search. An empty size or dimension is an [`Error::InvalidInput`].
pub fn synthetic_part(synthetic: &Synthetic, settings: &Settings) -> Result<Part> {
    let &Synthetic {
        vectors: n,
        dim,
        seed,
        m,
        ef_construction,
    } = synthetic;
    if n == 0 || dim == 0 {
        return Err(Error::InvalidInput(
            "--synthetic and --dim must be positive".into(),
        ));
    }
    let (vectors, queries) = split_draw(n, settings.queries, dim, seed);
    let exported = export(settings, &format!("synthetic-{n}"), &vectors, &queries)?;
    let params = HnswParams {
        m,
        ef_construction,
        seed,
        parallel: true,
    };
    let started = Instant::now();
    let graph = build_graph(&vectors, &params);
    let build_seconds = started.elapsed().as_secs_f64();
    if settings.show_progress {
        eprintln!("built a graph of {n} vectors in {build_seconds:.1}s");
    }
    let k = settings.k.min(n);
    let codes = Quantized::new(&vectors);
    let truth = neighbour_ids(&queries, k, |q, k| exact_search(&vectors, q, k));
    let mut search = measure_search(INT8, &queries, &truth, k, &settings.efs, |q, k, ef| {
        graph.search_quantized(&vectors, &codes, q, k, ef)
    });
    search.extend(measure_search(
        "f32",
        &queries,
        &truth,
        k,
        &settings.efs,
        |q, k, ef| graph.search(&vectors, q, k, ef),
    ));
    Ok(Part {
        name: format!("synthetic {n}"),
        exported,
        vectors: n,
        dim,
        queries: queries.len(),
        data_seed: Some(seed),
        clusters: Some(CLUSTERS),
        spread: Some(SPREAD),
        m: Some(m),
        ef_construction: Some(ef_construction),
        build_seconds: Some(build_seconds),
        build_vectors_per_second: Some(n as f64 / build_seconds.max(1e-9)),
        index_bytes: None,
        encoding: Vec::new(),
        search,
    })
}

/// `n` index vectors and `queries` query vectors from one draw (same cluster
/// centres): a second seed would draw other centres, i.e. another distribution.
fn split_draw(n: usize, queries: usize, dim: usize, seed: u64) -> (Vectors, Vectors) {
    let all = clustered_unit_vectors(n + queries, dim, CLUSTERS, SPREAD, seed);
    let mut base = Vectors::new(dim);
    let mut drawn = Vectors::new(dim);
    for i in 0..all.len() {
        if i < n {
            base.push(all.row(i));
        } else {
            drawn.push(all.row(i));
        }
    }
    (base, drawn)
}
