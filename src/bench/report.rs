//! A benchmark's report: what was measured where, as JSON (the field names
//! are the documented schema of `bench.json`) and as Markdown (`bench.md`).

use std::fmt::Write;

use serde::Serialize;

use super::machine::{peak_rss_kib, Machine};

/// Everything one `exemplar bench` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Version of exemplar that measured.
    pub exemplar_version: String,
    /// Where it was measured.
    pub machine: Machine,
    /// Neighbours per query (at most the size of a part is used).
    pub k: usize,
    /// Seed of the synthetic vectors and of their graphs' insertion order.
    pub seed: u64,
    /// One per index measured, in the order measured.
    pub parts: Vec<Part>,
    /// Peak resident memory of this process (VmHWM), in KiB; `None` where unknown.
    pub peak_rss_kib: Option<u64>,
}

/// The figures of one index, real or synthetic.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// `index NAME` or `synthetic N`.
    pub name: String,
    /// Folder under `--export` holding this part's vectors, when exported.
    pub exported: Option<String>,
    /// Vectors in the index searched.
    pub vectors: usize,
    /// Entries per vector.
    pub dim: usize,
    /// Query vectors searched.
    pub queries: usize,
    /// Synthetic only: the data's seed.
    pub data_seed: Option<u64>,
    /// Synthetic only: clusters the vectors are drawn around.
    pub clusters: Option<usize>,
    /// Synthetic only: Gaussian spread of the vectors around their cluster centre.
    pub spread: Option<f32>,
    /// HNSW links per node (a real index's from its manifest).
    pub m: Option<usize>,
    /// HNSW candidate list length while building (a real index's from its manifest).
    pub ef_construction: Option<usize>,
    /// Synthetic only: seconds the graph took to build (on all cores).
    pub build_seconds: Option<f64>,
    /// Synthetic only: vectors inserted per second in that build.
    pub build_vectors_per_second: Option<f64>,
    /// Real index only: bytes of the files in its directory.
    pub index_bytes: Option<u64>,
    /// Real index only: sentences/s per batch size.
    pub encoding: Vec<Throughput>,
    /// One row per walk and candidate list length (synthetic: `int8` rows, then `f32`).
    pub search: Vec<SearchRow>,
}

/// Encoding speed at one batch size.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Sentences per call to the encoder.
    pub batch: usize,
    /// Sentences encoded at this batch size.
    pub sentences: usize,
    /// Sentences per second of wall time, measured after one warm-up call.
    pub sentences_per_second: f64,
}

/// Search figures at one candidate list length.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchRow {
    /// What the graph walk reads: `int8` codes (then exact re-scoring, as
    /// `Index::search` does) or the full `f32` vectors.
    pub walk: &'static str,
    /// Candidate list length (at least `k`).
    pub ef: usize,
    /// Median latency of one query searched alone, in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency of one query searched alone, in microseconds.
    pub p99_us: f64,
    /// Queries per second with all queries searched in parallel on every core.
    pub qps: f64,
    /// Recall@k against exact search, from 0 to 1.
    pub recall: f64,
}

impl Report {
    /// A report of `parts`, measured with `k` neighbours and `seed`, on this
    /// machine, with this process's peak memory so far.
    pub fn new(k: usize, seed: u64, parts: Vec<Part>) -> Report {
        Report {
            exemplar_version: env!("CARGO_PKG_VERSION").to_string(),
            machine: Machine::this(),
            k,
            seed,
            parts,
            peak_rss_kib: peak_rss_kib(),
        }
    }

    /// The report for people: the machine, then one section per part.
    pub fn markdown(&self) -> String {
        // Writing to a String cannot fail.
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(s, "# exemplar bench (exemplar {})\n", self.exemplar_version);
        let _ = writeln!(
            s,
            "machine: {} cores, {}, {}, {} kernels; k = {}, seed = {}; peak RSS {}\n",
            m.cores,
            m.cpu.as_deref().unwrap_or("cpu n/a"),
            m.os,
            m.dot_kernel,
            self.k,
            self.seed,
            self.peak_rss_kib
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "n/a".into())
        );
        for part in &self.parts {
            part_markdown(&mut s, part, self.k);
        }
        s
    }
}

/// One part's section: its data, build, size, encoding and search tables.
fn part_markdown(s: &mut String, part: &Part, k: usize) {
    let _ = writeln!(s, "## {}\n", part.name);
    let _ = writeln!(
        s,
        "{} vectors × {} dims, {} queries{}{}",
        part.vectors,
        part.dim,
        part.queries,
        match (part.m, part.ef_construction) {
            (Some(m), Some(efc)) => format!(", HNSW m {m}, ef_construction {efc}"),
            _ => String::new(),
        },
        match (part.data_seed, part.clusters, part.spread) {
            (Some(seed), Some(c), Some(sp)) => format!(", data seed {seed}, {c} clusters, spread {sp}"),
            _ => String::new(),
        }
    );
    if let (Some(secs), Some(rate)) = (part.build_seconds, part.build_vectors_per_second) {
        let _ = writeln!(
            s,
            "\nbuild (parallel insertion): {secs:.2} s, {rate:.0} vectors/s"
        );
    }
    if let Some(bytes) = part.index_bytes {
        let _ = writeln!(
            s,
            "\nindex size on disk: {bytes} bytes ({:.1} MiB)",
            bytes as f64 / 1048576.0
        );
    }
    if !part.encoding.is_empty() {
        let _ = writeln!(s, "\n| batch | sentences | sentences/s |\n| ---: | ---: | ---: |");
        for t in &part.encoding {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} |",
                t.batch, t.sentences, t.sentences_per_second
            );
        }
    }
    let _ = writeln!(
        s,
        "\n| walk | ef | p50 µs | p99 µs | QPS (all cores) | recall@{} |\n| --- | ---: | ---: | ---: | ---: | ---: |",
        k
    );
    for r in &part.search {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {:.1} | {:.0} | {:.4} |",
            r.walk, r.ef, r.p50_us, r.p99_us, r.qps, r.recall
        );
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_has_one_table_per_part() {
        let report = Report {
            exemplar_version: "0.0.0".into(),
            machine: Machine {
                cores: 4,
                cpu: Some("Test CPU".into()),
                os: "linux-x86_64".into(),
                dot_kernel: "portable",
            },
            k: 10,
            seed: 42,
            parts: vec![Part {
                name: "synthetic 1000".into(),
                exported: None,
                vectors: 1000,
                dim: 8,
                queries: 50,
                data_seed: Some(42),
                clusters: Some(100),
                spread: Some(0.6),
                m: Some(16),
                ef_construction: Some(200),
                build_seconds: Some(0.5),
                build_vectors_per_second: Some(2000.0),
                index_bytes: None,
                encoding: vec![Throughput {
                    batch: 32,
                    sentences: 256,
                    sentences_per_second: 123.45,
                }],
                search: vec![SearchRow {
                    walk: "int8",
                    ef: 16,
                    p50_us: 12.34,
                    p99_us: 56.78,
                    qps: 9999.6,
                    recall: 0.95,
                }],
            }],
            peak_rss_kib: None,
        };
        let md = report.markdown();
        assert!(md.contains("## synthetic 1000"), "{md}");
        assert!(
            md.contains("4 cores, Test CPU, linux-x86_64, portable kernels"),
            "{md}"
        );
        assert!(md.contains("peak RSS n/a"), "{md}");
        assert!(md.contains("seed = 42"), "{md}");
        assert!(md.contains("| 32 | 256 | 123.5 |"), "{md}");
        assert!(
            md.contains("| walk | ef | p50 µs | p99 µs | QPS (all cores) | recall@10 |"),
            "{md}"
        );
        assert!(
            md.contains("| int8 | 16 | 12.3 | 56.8 | 10000 | 0.9500 |"),
            "{md}"
        );
        assert!(md.contains("2000 vectors/s"), "{md}");
    }
}
