mod graph;
mod hnsw;
mod vectors;
pub use graph::{exact_search, Graph, Hit};
pub use hnsw::{build_graph, HnswParams};
pub use vectors::{dot, Vectors};
