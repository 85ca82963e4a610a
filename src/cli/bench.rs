//! `exemplar bench`: the retrieval figures users compare (encoding throughput,
//! search latency, batch QPS, recall@k, build speed, index size, peak memory),
//! on a real index and/or synthetic clustered vectors. Every figure is measured
//! in this run; the seeds are printed with them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use super::{print_json, CorpusArgs, ModelArgs};
use crate::bench::clustered_unit_vectors;
use crate::encoder::{embed_all, Encoder};
use crate::index::{
    build_graph, exact_search, kernel_name, write_file_atomically, Hit, HnswParams, Index, Quantized,
    SearchMode, Vectors,
};

/// Clusters of the synthetic vectors.
const CLUSTERS: usize = 100;
/// Gaussian spread of the synthetic vectors around their cluster centre.
const SPREAD: f32 = 0.6;
/// Batch sizes at which encoding throughput is measured.
const ENCODE_BATCHES: [usize; 3] = [1, 32, 256];
/// The walk `Index::search` uses.
const INT8: &str = "int8";
/// Sentences encoded per batch size (at least one batch).
const ENCODE_SENTENCES: usize = 256;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Index directory to measure.
    #[arg(long, requires = "queries")]
    index: Option<PathBuf>,
    /// Query corpus for the index (e.g. the development split).
    #[arg(long, requires = "index")]
    queries: Option<PathBuf>,
    #[command(flatten)]
    input: CorpusArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Synthetic index sizes to build and measure (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',')]
    synthetic: Vec<usize>,
    /// Dimension of the synthetic vectors.
    #[arg(long, default_value_t = 384)]
    dim: usize,
    /// Neighbours per query.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Candidate list lengths to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,96,128,160,192,256")]
    ef: Vec<usize>,
    /// Queries per part (synthetic: drawn; real: the first this many sentences).
    #[arg(long, default_value_t = 1000)]
    queries_n: usize,
    /// Seed of the synthetic vectors and of the synthetic build's insertion order.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// HNSW links per node (synthetic builds).
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// HNSW candidate list length while building (synthetic builds).
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Directory to write bench.json and bench.md into.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write each part's base vectors and queries as `.npy` files into
    /// DIR/<part>/ (`base.npy`, `queries.npy`), for `scripts/peers.sh` to run
    /// other libraries on exactly the same vectors.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    exemplar_version: String,
    machine: Machine,
    k: usize,
    seed: u64,
    parts: Vec<Part>,
    /// Peak resident memory of this process (VmHWM), in KiB; `None` where unknown.
    peak_rss_kib: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
struct Machine {
    cores: usize,
    cpu: Option<String>,
    os: String,
    /// Instruction set of the similarity kernels picked at run time.
    dot_kernel: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct Part {
    /// `index NAME` or `synthetic N`.
    name: String,
    /// Folder under `--export` holding this part's vectors, when exported.
    exported: Option<String>,
    vectors: usize,
    dim: usize,
    queries: usize,
    /// Synthetic only: the data's seed, clusters and spread.
    data_seed: Option<u64>,
    clusters: Option<usize>,
    spread: Option<f32>,
    /// Synthetic only: HNSW build parameters and speed.
    m: Option<usize>,
    ef_construction: Option<usize>,
    build_seconds: Option<f64>,
    build_vectors_per_second: Option<f64>,
    /// Real index only: bytes of the files in its directory.
    index_bytes: Option<u64>,
    /// Real index only: sentences/s per batch size.
    encoding: Vec<Throughput>,
    search: Vec<SearchRow>,
}

#[derive(Debug, Clone, Serialize)]
struct Throughput {
    batch: usize,
    sentences: usize,
    sentences_per_second: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
struct SearchRow {
    /// What the graph walk reads: `int8` codes (then exact re-scoring, as
    /// `Index::search` does) or the full `f32` vectors.
    walk: &'static str,
    ef: usize,
    p50_us: f64,
    p99_us: f64,
    qps: f64,
    recall: f64,
}

pub fn run(args: BenchArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.index.is_some() || !args.synthetic.is_empty(),
        "nothing to measure: give --index DIR --queries CORPUS and/or --synthetic N"
    );
    anyhow::ensure!(args.k > 0, "--k must be at least 1");
    anyhow::ensure!(!args.ef.is_empty(), "--ef needs at least one value");
    let mut efs = args.ef.clone();
    efs.sort_unstable();
    efs.dedup();

    let mut parts = Vec::new();
    if let (Some(dir), Some(queries)) = (&args.index, &args.queries) {
        parts.push(real_part(&args, dir, queries, &efs, quiet)?);
    }
    for &n in &args.synthetic {
        parts.push(synthetic_part(&args, n, &efs, quiet)?);
    }
    let report = Report {
        exemplar_version: env!("CARGO_PKG_VERSION").to_string(),
        machine: machine(),
        k: args.k,
        seed: args.seed,
        parts,
        peak_rss_kib: peak_rss_kib(),
    };
    let markdown = render_markdown(&report);
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let json = serde_json::to_vec_pretty(&report).context("cannot serialise the report")?;
        write_file_atomically(&out.join("bench.json"), &json)?;
        write_file_atomically(&out.join("bench.md"), markdown.as_bytes())?;
    }
    if args.json {
        print_json(&report)?;
    } else {
        print!("{markdown}");
    }
    Ok(ExitCode::SUCCESS)
}

fn real_part(
    args: &BenchArgs,
    dir: &Path,
    queries: &Path,
    efs: &[usize],
    quiet: bool,
) -> anyhow::Result<Part> {
    let index = Index::open(dir)?;
    let encoder = args.model.open()?;
    index.check_encoder(encoder.info(), dir)?;
    let corpus = args.input.read(&[queries])?;
    let texts: Vec<&str> = corpus
        .sentences
        .iter()
        .take(args.queries_n)
        .map(|s| s.text.as_str())
        .collect();
    anyhow::ensure!(!texts.is_empty(), "{} has no sentences", queries.display());

    let mut encoding = Vec::new();
    encoder.embed(&texts[..1])?; // warm-up
    for batch in ENCODE_BATCHES {
        let count = ENCODE_SENTENCES.max(batch).min(texts.len());
        let started = Instant::now();
        for chunk in texts[..count].chunks(batch) {
            encoder.embed(chunk)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        if !quiet {
            eprintln!("encoded {count} sentences at batch {batch} in {seconds:.2}s");
        }
        encoding.push(Throughput {
            batch,
            sentences: count,
            sentences_per_second: count as f64 / seconds.max(1e-9),
        });
    }
    let query_vectors = embed_all(&encoder, &texts, None, |_| {})?.vectors;
    let name = format!("index {}", dir.display());
    let exported = export(args, "index", index.vectors(), &query_vectors)?;
    let k = args.k.min(index.len());
    let truth = ground_truth(&query_vectors, k, |q, k| index.search(q, k, SearchMode::Exact));
    let search = measure_search(INT8, &query_vectors, &truth, k, efs, |q, k, ef| {
        index.search(q, k, SearchMode::Hnsw { ef: Some(ef) })
    });
    Ok(Part {
        name,
        exported,
        vectors: index.len(),
        dim: index.vectors().dim(),
        queries: query_vectors.len(),
        data_seed: None,
        clusters: None,
        spread: None,
        m: Some(index.manifest().hnsw.params.m),
        ef_construction: Some(index.manifest().hnsw.params.ef_construction),
        build_seconds: None,
        build_vectors_per_second: None,
        index_bytes: Some(dir_bytes(dir)?),
        encoding,
        search,
    })
}

fn synthetic_part(args: &BenchArgs, n: usize, efs: &[usize], quiet: bool) -> anyhow::Result<Part> {
    anyhow::ensure!(n > 0 && args.dim > 0, "--synthetic and --dim must be positive");
    // Index and queries come from one draw (same cluster centres), split in two:
    // a second seed would draw other centres, i.e. another distribution.
    let all = clustered_unit_vectors(n + args.queries_n, args.dim, CLUSTERS, SPREAD, args.seed);
    let mut vectors = Vectors::new(args.dim);
    let mut queries = Vectors::new(args.dim);
    for i in 0..all.len() {
        if i < n {
            vectors.push(all.row(i));
        } else {
            queries.push(all.row(i));
        }
    }
    drop(all);
    let exported = export(args, &format!("synthetic-{n}"), &vectors, &queries)?;
    let params = HnswParams {
        m: args.m,
        ef_construction: args.ef_construction,
        seed: args.seed,
        parallel: true,
    };
    let started = Instant::now();
    let graph = build_graph(&vectors, &params);
    let build_seconds = started.elapsed().as_secs_f64();
    if !quiet {
        eprintln!("built a graph of {n} vectors in {build_seconds:.1}s");
    }
    let k = args.k.min(n);
    let codes = Quantized::new(&vectors);
    let truth = ground_truth(&queries, k, |q, k| exact_search(&vectors, q, k));
    let mut search = measure_search(INT8, &queries, &truth, k, efs, |q, k, ef| {
        graph.search_quantized(&vectors, &codes, q, k, ef)
    });
    search.extend(measure_search("f32", &queries, &truth, k, efs, |q, k, ef| {
        graph.search(&vectors, q, k, ef)
    }));
    Ok(Part {
        name: format!("synthetic {n}"),
        exported,
        vectors: n,
        dim: args.dim,
        queries: queries.len(),
        data_seed: Some(args.seed),
        clusters: Some(CLUSTERS),
        spread: Some(SPREAD),
        m: Some(args.m),
        ef_construction: Some(args.ef_construction),
        build_seconds: Some(build_seconds),
        build_vectors_per_second: Some(n as f64 / build_seconds.max(1e-9)),
        index_bytes: None,
        encoding: Vec::new(),
        search,
    })
}

/// Writes `base.npy` and `queries.npy` into `--export`/`folder`; returns the folder name.
fn export(
    args: &BenchArgs,
    folder: &str,
    base: &Vectors,
    queries: &Vectors,
) -> anyhow::Result<Option<String>> {
    let Some(root) = &args.export else {
        return Ok(None);
    };
    let dir = root.join(folder);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_file_atomically(&dir.join("base.npy"), &base.to_npy_bytes())?;
    write_file_atomically(&dir.join("queries.npy"), &queries.to_npy_bytes())?;
    Ok(Some(folder.to_string()))
}

/// The exact `k` nearest rows of every query (in parallel).
fn ground_truth(
    queries: &Vectors,
    k: usize,
    exact: impl Fn(&[f32], usize) -> Vec<Hit> + Sync,
) -> Vec<Vec<u32>> {
    (0..queries.len())
        .into_par_iter()
        .map(|q| exact(queries.row(q), k).iter().map(|h| h.node).collect())
        .collect()
}

/// Per ef: single-query latency percentiles, batch QPS over all cores, and
/// recall@k against `truth`.
fn measure_search(
    walk: &'static str,
    queries: &Vectors,
    truth: &[Vec<u32>],
    k: usize,
    efs: &[usize],
    approx: impl Fn(&[f32], usize, usize) -> Vec<Hit> + Sync,
) -> Vec<SearchRow> {
    let n = queries.len();
    efs.iter()
        .map(|&ef| {
            let ef = ef.max(k);
            let mut micros = Vec::with_capacity(n);
            let mut found = 0usize;
            for (q, truth) in truth.iter().enumerate() {
                let started = Instant::now();
                let hits = approx(queries.row(q), k, ef);
                micros.push(started.elapsed().as_secs_f64() * 1e6);
                found += hits.iter().filter(|h| truth.contains(&h.node)).count();
            }
            let started = Instant::now();
            let total: usize = (0..n)
                .into_par_iter()
                .map(|q| approx(queries.row(q), k, ef).len())
                .sum();
            let seconds = started.elapsed().as_secs_f64();
            std::hint::black_box(total);
            let wanted: usize = truth.iter().map(Vec::len).sum();
            SearchRow {
                walk,
                ef,
                p50_us: percentile(&mut micros, 50.0),
                p99_us: percentile(&mut micros, 99.0),
                qps: n as f64 / seconds.max(1e-9),
                recall: if wanted == 0 {
                    1.0
                } else {
                    found as f64 / wanted as f64
                },
            }
        })
        .collect()
}

/// The nearest-rank percentile `p` (0..=100) of `values` (sorted in place); NaN when empty.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn render_markdown(report: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let m = &report.machine;
    let _ = writeln!(s, "# exemplar bench (exemplar {})\n", report.exemplar_version);
    let _ = writeln!(
        s,
        "machine: {} cores, {}, {}, {} kernels; k = {}, seed = {}; peak RSS {}\n",
        m.cores,
        m.cpu.as_deref().unwrap_or("cpu n/a"),
        m.os,
        m.dot_kernel,
        report.k,
        report.seed,
        report
            .peak_rss_kib
            .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_else(|| "n/a".into())
    );
    for part in &report.parts {
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
            report.k
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
    s
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|text| {
        text.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    Machine {
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu,
        os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        dot_kernel: kernel_name(),
    }
}

/// `VmHWM` of /proc/self/status in KiB (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Bytes of the plain files directly in `dir`.
fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), 50.0);
        assert_eq!(percentile(&mut v, 99.0), 99.0);
        assert_eq!(percentile(&mut v, 100.0), 100.0);
        assert_eq!(percentile(&mut v, 0.0), 1.0);
        let mut one = vec![7.0];
        assert_eq!(percentile(&mut one, 99.0), 7.0);
        let mut three = vec![3.0, 1.0, 2.0];
        assert_eq!(percentile(&mut three, 50.0), 2.0);
        assert!(percentile(&mut [], 50.0).is_nan());
    }

    #[test]
    fn vm_hwm_is_parsed() {
        assert_eq!(
            parse_vm_hwm("Name:\tx\nVmHWM:\t  123456 kB\nVmRSS:\t1 kB\n"),
            Some(123456)
        );
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
    }

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
                    walk: INT8,
                    ef: 16,
                    p50_us: 12.34,
                    p99_us: 56.78,
                    qps: 9999.6,
                    recall: 0.95,
                }],
            }],
            peak_rss_kib: None,
        };
        let md = render_markdown(&report);
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
