//! `exemplar bench`: the retrieval figures users compare (encoding throughput,
//! search latency, batch QPS, recall@k, build speed, index size, peak memory,
//! and on a real index each selection strategy's latency for k demonstrations),
//! on a real index and/or synthetic clustered vectors, measured by the
//! library's [`exemplar::bench`]. Every figure is measured in this run; the seeds
//! are printed with them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::{print_json, CorpusArgs, ModelArgs};
use exemplar::bench::{index_part, synthetic_part, Part, Report, Settings, Synthetic};
use exemplar::encoder::Encoder;
use exemplar::index::{write_file_atomically, Index};

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
    /// Neighbours per query (and demonstrations per query in the selection figures).
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
    let settings = Settings {
        k: args.k,
        efs,
        queries: args.queries_n,
        export: args.export.clone(),
        show_progress: !quiet,
    };

    let mut parts = Vec::new();
    if let (Some(dir), Some(queries)) = (&args.index, &args.queries) {
        parts.push(real_part(&args, dir, queries, &settings)?);
    }
    for &n in &args.synthetic {
        let synthetic = Synthetic {
            vectors: n,
            dim: args.dim,
            seed: args.seed,
            m: args.m,
            ef_construction: args.ef_construction,
        };
        parts.push(synthetic_part(&synthetic, &settings)?);
    }
    let report = Report::new(args.k, args.seed, parts);
    let markdown = report.markdown();
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

/// Opens the index and its model, reads the query corpus and measures.
fn real_part(args: &BenchArgs, dir: &Path, queries: &Path, settings: &Settings) -> anyhow::Result<Part> {
    let index = Index::open(dir)?;
    let encoder = args.model.open()?;
    index.check_encoder(encoder.info(), dir)?;
    let corpus = args.input.read(&[queries])?;
    let texts: Vec<&str> = corpus.sentences.iter().map(|s| s.text.as_str()).collect();
    Ok(index_part(&index, dir, &encoder, &texts, settings)?)
}
