//! The HNSW graph as exemplar searches it: built by `hnsw_rs`, then frozen
//! into flat adjacency arrays (one per layer) beside one contiguous vector
//! matrix. Frozen, a query walks plain `u32` slices with a reusable visited
//! buffer instead of `hnsw_rs`'s reference-counted points and locks, and the
//! graph can be persisted, checked and loaded without `hnsw_rs`'s loader,
//! which panics on bad files and ties the graph's lifetime to itself.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use super::dot::{dot, dot_i8, prefetch};
use super::quantized::Quantized;
use crate::vectors::Vectors;

/// Neighbour lists of every node on one layer, in CSR form: the neighbours of
/// node `i` are `links[offsets[i]..offsets[i + 1]]` (empty for nodes that do not
/// reach this layer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    offsets: Vec<u32>,
    links: Vec<u32>,
}

impl Layer {
    /// Builds a layer from each node's neighbour list.
    pub fn from_lists(lists: &[Vec<u32>]) -> Self {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        let mut links = Vec::new();
        offsets.push(0);
        for list in lists {
            links.extend_from_slice(list);
            offsets.push(links.len() as u32);
        }
        Layer { offsets, links }
    }

    #[inline]
    fn neighbours(&self, node: u32) -> &[u32] {
        let node = node as usize;
        &self.links[self.offsets[node] as usize..self.offsets[node + 1] as usize]
    }
}

/// A hierarchical navigable small-world graph over `n` nodes (layer 0 first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    entry: u32,
    layers: Vec<Layer>,
}

/// A search hit: node and its similarity (inner product) to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The node: the example's position in the index (and its row of the vectors).
    pub node: u32,
    /// Inner product with the query (cosine similarity: the vectors are unit length).
    pub similarity: f32,
}

/// Orders hits best first: higher similarity, then lower node id, so that
/// ties are broken the same way on every run.
fn best_first(a: &Hit, b: &Hit) -> Ordering {
    b.similarity.total_cmp(&a.similarity).then(a.node.cmp(&b.node))
}

/// A hit ordered so that `BinaryHeap` pops the best (max-heap on `best_first` reversed).
#[derive(Clone, Copy)]
struct Ranked(Hit);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        best_first(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        best_first(&other.0, &self.0)
    }
}

/// Marks nodes seen by one query. Reset costs O(1): a node counts as visited
/// when its stamp equals the current query's stamp.
#[derive(Default)]
struct Visited {
    stamps: Vec<u32>,
    current: u32,
}

impl Visited {
    fn start(&mut self, n: usize) {
        if self.stamps.len() < n {
            self.stamps.resize(n, 0);
        }
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.current = 1;
        }
    }

    /// Marks `node`; true if it had not been seen by this query.
    #[inline]
    fn insert(&mut self, node: u32) -> bool {
        let stamp = &mut self.stamps[node as usize];
        let fresh = *stamp != self.current;
        *stamp = self.current;
        fresh
    }
}

/// What one query reuses from the last on the same thread.
#[derive(Default)]
struct Scratch {
    visited: Visited,
    /// Neighbours of the node being expanded not seen before.
    fresh: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// How a walk through the graph scores nodes against one query.
trait Similarity {
    fn similarity(&self, node: u32) -> f32;
    /// Starts loading what `similarity(node)` will read, to be scored shortly.
    fn prefetch(&self, node: u32);

    #[inline]
    fn hit(&self, node: u32) -> Hit {
        Hit {
            node,
            similarity: self.similarity(node),
        }
    }
}

/// Inner products with the full vectors.
struct Exact<'a> {
    query: &'a [f32],
    vectors: &'a Vectors,
}

impl Similarity for Exact<'_> {
    #[inline]
    fn similarity(&self, node: u32) -> f32 {
        dot(self.query, self.vectors.row(node as usize))
    }

    #[inline]
    fn prefetch(&self, node: u32) {
        prefetch(self.vectors.row(node as usize), 4);
    }
}

/// Inner products with the 8-bit codes: a quarter of the memory to read.
struct Coarse<'a> {
    query: &'a [f32],
    codes: &'a Quantized,
}

impl Similarity for Coarse<'_> {
    #[inline]
    fn similarity(&self, node: u32) -> f32 {
        let (codes, scale) = self.codes.row(node as usize);
        dot_i8(self.query, codes) * scale
    }

    #[inline]
    fn prefetch(&self, node: u32) {
        prefetch(self.codes.row(node as usize).0, 8);
    }
}

impl Graph {
    /// A graph from its layers (layer 0 first) and entry node.
    pub fn new(entry: u32, layers: Vec<Layer>) -> Self {
        Graph { entry, layers }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.layers
            .first()
            .map_or(0, |l| l.offsets.len().saturating_sub(1))
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of layers, the base layer included.
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// Checks every invariant a search relies on, so that a damaged or
    /// hand-made file is refused instead of panicking or looping later.
    pub fn validate(&self, nodes: usize) -> Result<(), String> {
        if self.layers.is_empty() {
            return Err("the graph has no layers".into());
        }
        if nodes > 0 && self.entry as usize >= nodes {
            return Err(format!("entry node {} out of range", self.entry));
        }
        for (level, layer) in self.layers.iter().enumerate() {
            if layer.offsets.len() != nodes + 1 || layer.offsets.first() != Some(&0) {
                return Err(format!("layer {level} does not describe {nodes} nodes"));
            }
            if layer.offsets.windows(2).any(|w| w[0] > w[1])
                || layer.offsets.last().map(|&o| o as usize) != Some(layer.links.len())
            {
                return Err(format!("layer {level} has inconsistent offsets"));
            }
            if let Some(bad) = layer.links.iter().find(|&&l| l as usize >= nodes) {
                return Err(format!("layer {level} links to node {bad}, out of range"));
            }
        }
        Ok(())
    }

    /// The `k` nodes most similar to `query`, best first, exploring `ef`
    /// candidates on the base layer (raised to `k` when smaller).
    pub fn search(&self, vectors: &Vectors, query: &[f32], k: usize, ef: usize) -> Vec<Hit> {
        let mut hits = self.walk(&Exact { query, vectors }, k, ef, |_| true);
        hits.sort_by(best_first);
        hits.truncate(k);
        hits
    }

    /// [`Graph::search`] walking with the 8-bit `codes` of `vectors`, then
    /// re-scoring the `ef` candidates found with the full vectors: the hits and
    /// their similarities are exact, the walk reads a quarter of the memory.
    pub fn search_quantized(
        &self,
        vectors: &Vectors,
        codes: &Quantized,
        query: &[f32],
        k: usize,
        ef: usize,
    ) -> Vec<Hit> {
        self.search_quantized_where(vectors, codes, query, k, ef, |_| true)
    }

    /// [`Graph::search_quantized`] returning only nodes `admit` accepts. The
    /// walk still goes through the nodes it refuses (they lead to others), so
    /// a selective filter costs more nodes scored, not fewer answers: `k` come
    /// back whenever the graph reaches `k` admitted nodes.
    pub fn search_quantized_where(
        &self,
        vectors: &Vectors,
        codes: &Quantized,
        query: &[f32],
        k: usize,
        ef: usize,
        admit: impl Fn(u32) -> bool,
    ) -> Vec<Hit> {
        let mut hits = self.walk(&Coarse { query, codes }, k, ef, admit);
        let exact = Exact { query, vectors };
        for hit in &hits {
            exact.prefetch(hit.node);
        }
        for hit in &mut hits {
            hit.similarity = exact.similarity(hit.node);
        }
        hits.sort_by(best_first);
        hits.truncate(k);
        hits
    }

    /// Descends the upper layers greedily, then searches the base layer; the
    /// candidates found, unordered.
    fn walk(&self, similarity: &impl Similarity, k: usize, ef: usize, admit: impl Fn(u32) -> bool) -> Vec<Hit> {
        if self.is_empty() || k == 0 {
            return Vec::new();
        }
        let mut nearest = similarity.hit(self.entry);
        for layer in self.layers[1..].iter().rev() {
            nearest = greedy_descent(layer, nearest, similarity);
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            scratch.visited.start(self.len());
            beam_search(&self.layers[0], nearest, ef.max(k), similarity, &admit, &mut scratch)
        })
    }
}

/// Moves to a better neighbour on `layer` until none is better.
fn greedy_descent(layer: &Layer, start: Hit, similarity: &impl Similarity) -> Hit {
    let mut current = start;
    loop {
        let best = layer
            .neighbours(current.node)
            .iter()
            .map(|&n| similarity.hit(n))
            .min_by(best_first)
            .filter(|candidate| best_first(candidate, &current) == Ordering::Less);
        match best {
            Some(better) => current = better,
            None => return current,
        }
    }
}

/// The base-layer search of HNSW: expand the best unexpanded candidate while
/// it can still improve the `ef` best found so far. Only nodes `admit`
/// accepts are found, but every node is a candidate to expand (as in
/// hnswlib's filtered search). The unseen neighbours of a candidate are
/// prefetched together before any is scored, so that their loads from memory
/// overlap instead of queueing one behind another.
fn beam_search(
    layer: &Layer,
    start: Hit,
    ef: usize,
    similarity: &impl Similarity,
    admit: &impl Fn(u32) -> bool,
    scratch: &mut Scratch,
) -> Vec<Hit> {
    let Scratch { visited, fresh } = scratch;
    let mut candidates = BinaryHeap::from([Ranked(start)]);
    let mut found = BinaryHeap::new();
    if admit(start.node) {
        found.push(Reverse(Ranked(start)));
    }
    visited.insert(start.node);
    while let Some(Ranked(candidate)) = candidates.pop() {
        let worst = found.peek().map(|Reverse(Ranked(h))| *h);
        if found.len() >= ef && worst.is_some_and(|w| best_first(&candidate, &w) == Ordering::Greater) {
            break;
        }
        fresh.clear();
        for &node in layer.neighbours(candidate.node) {
            if visited.insert(node) {
                similarity.prefetch(node);
                fresh.push(node);
            }
        }
        for &node in fresh.iter() {
            let hit = similarity.hit(node);
            let worst = found.peek().map(|Reverse(Ranked(h))| *h);
            if found.len() < ef || worst.is_some_and(|w| best_first(&hit, &w) == Ordering::Less) {
                candidates.push(Ranked(hit));
                if admit(hit.node) {
                    found.push(Reverse(Ranked(hit)));
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        // The next candidate to expand is known now: start loading its links.
        if let Some(Ranked(next)) = candidates.peek() {
            prefetch(layer.neighbours(next.node), 2);
        }
    }
    found.into_iter().map(|Reverse(Ranked(h))| h).collect()
}

/// The `k` rows most similar to `query` by exhaustive comparison, best first.
pub fn exact_search(vectors: &Vectors, query: &[f32], k: usize) -> Vec<Hit> {
    exact_search_among(vectors, query, k, 0..vectors.len() as u32)
}

/// The `k` of `rows` most similar to `query` by exhaustive comparison, best first.
pub fn exact_search_among(
    vectors: &Vectors,
    query: &[f32],
    k: usize,
    rows: impl IntoIterator<Item = u32>,
) -> Vec<Hit> {
    let mut hits: Vec<Hit> = rows
        .into_iter()
        .map(|node| Hit {
            node,
            similarity: dot(query, vectors.row(node as usize)),
        })
        .collect();
    let k = k.min(hits.len());
    if k == 0 {
        return Vec::new();
    }
    hits.select_nth_unstable_by(k - 1, best_first);
    hits.truncate(k);
    hits.sort_by(best_first);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_graph(n: u32) -> Graph {
        let lists: Vec<Vec<u32>> = (0..n)
            .map(|i| {
                [i.checked_sub(1), (i + 1 < n).then_some(i + 1)]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .collect();
        Graph::new(0, vec![Layer::from_lists(&lists)])
    }

    fn points_on_circle(n: usize) -> Vectors {
        let mut v = Vectors::new(2);
        for i in 0..n {
            let angle = i as f32 * 0.1;
            v.push(&[angle.cos(), angle.sin()]);
        }
        v
    }

    #[test]
    fn walks_a_line_to_the_nearest_point() {
        let vectors = points_on_circle(20);
        let graph = line_graph(20);
        let query = vectors.row(13).to_vec();
        let hits = graph.search(&vectors, &query, 3, 3);
        let nodes: Vec<u32> = hits.iter().map(|h| h.node).collect();
        assert_eq!(nodes[0], 13);
        assert_eq!(
            exact_search(&vectors, &query, 3)
                .iter()
                .map(|h| h.node)
                .collect::<Vec<_>>(),
            nodes
        );
    }

    #[test]
    fn a_filtered_walk_passes_through_refused_nodes() {
        // On a line, the admitted nodes lie beyond refused ones: the walk
        // must cross them to return k admitted nodes.
        let vectors = points_on_circle(40);
        let codes = Quantized::new(&vectors);
        let graph = line_graph(40);
        let query = vectors.row(5).to_vec();
        let admit = |node: u32| node % 10 == 0;
        let hits = graph.search_quantized_where(&vectors, &codes, &query, 3, 3, admit);
        let nodes: Vec<u32> = hits.iter().map(|h| h.node).collect();
        let expected: Vec<u32> = exact_search_among(&vectors, &query, 3, (0..40).filter(|&n| admit(n)))
            .iter()
            .map(|h| h.node)
            .collect();
        assert_eq!(nodes, expected);
        assert_eq!(nodes.len(), 3);
    }

    #[test]
    fn ties_are_broken_by_node_id() {
        let vectors = Vectors::from_flat(2, vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]).unwrap();
        let hits = exact_search(&vectors, &[1.0, 0.0], 2);
        assert_eq!((hits[0].node, hits[1].node), (0, 2));
    }

    #[test]
    fn validation_refuses_out_of_range_links() {
        let graph = Graph::new(0, vec![Layer::from_lists(&[vec![1], vec![7]])]);
        assert!(graph.validate(2).unwrap_err().contains("node 7"));
        assert!(line_graph(4).validate(4).is_ok());
        assert!(line_graph(4).validate(5).is_err());
    }
}
