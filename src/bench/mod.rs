//! Retrieval benchmarks as a library: the figures `exemplar bench` reports
//! (encoding throughput, search latency percentiles, batch QPS, recall@k,
//! build speed, index size, peak memory, and on a real index the latency of
//! every selection strategy), on a real index
//! ([`index_part`]) or on synthetic clustered unit vectors
//! ([`synthetic_part`], data from [`clustered_unit_vectors`], also used by
//! `benches/` and the recall tests), gathered into a [`Report`] that
//! serialises to JSON and renders as Markdown. [`recall_at_k`] is the one
//! definition of recall, also used by `exemplar index verify`.
//!
//! ```
//! use exemplar::bench::{synthetic_part, Report, Settings, Synthetic};
//!
//! # fn main() -> exemplar::Result<()> {
//! let settings = Settings { k: 5, efs: vec![16, 64], queries: 20, export: None, show_progress: false };
//! let synthetic = Synthetic { vectors: 500, dim: 16, seed: 42, m: 16, ef_construction: 100 };
//! let part = synthetic_part(&synthetic, &settings)?;
//! assert_eq!(part.search.len(), 4); // int8 and f32 walks, two efs each
//! assert!(part.search.iter().all(|row| (0.0..=1.0).contains(&row.recall)));
//! let report = Report::new(settings.k, synthetic.seed, vec![part]);
//! assert!(report.markdown().contains("## synthetic 500"));
//! # Ok(())
//! # }
//! ```

mod machine;
mod measure;
mod real;
mod report;
mod selection;
mod synthetic;

pub use crate::vectors::clustered_unit_vectors;
pub use machine::{peak_rss_kib, Machine};
pub use measure::{neighbour_ids, recall_at_k, Settings};
pub use real::index_part;
pub use report::{Part, Report, SearchRow, SelectionRow, Throughput};
pub use synthetic::{synthetic_part, Synthetic};
