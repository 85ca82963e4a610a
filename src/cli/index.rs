//! `exemplar index build|info|verify|mentions`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{print_json, print_line, report_truncation, sentence_ids, CorpusArgs, ModelArgs};
use exemplar::bench::{neighbour_ids, recall_at_k};
use exemplar::encoder::Encoder;
use exemplar::index::{
    check_replaceable, BuildOptions, HnswParams, Index, SearchMode, DEFAULT_EF_SEARCH, DEFAULT_MENTION_WINDOW,
};
use exemplar::pipeline::{build_and_save, embed, mention_index};
use exemplar::progress::bars;
use exemplar::select::DEFAULT_K;

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Embed a training corpus and build an index directory.
    Build(BuildArgs),
    /// Show an index's manifest.
    Info(InfoArgs),
    /// Check an index's files and measure HNSW recall@k against exact search.
    Verify(VerifyArgs),
    /// (Re)build an index's mention index (for `--strategy entity`), e.g. for an index
    /// built before exemplar kept one, or with another context window.
    Mentions(MentionsArgs),
}

#[derive(Debug, Args)]
pub struct MentionsArgs {
    /// Index directory (rewritten atomically with the mention index).
    index: PathBuf,
    /// Words of context on each side of a mention in its vector (0: the mention alone).
    #[arg(long, default_value_t = DEFAULT_MENTION_WINDOW)]
    mention_window: usize,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Corpus files (or, for BRAT, directories).
    #[arg(required = true)]
    corpus: Vec<PathBuf>,
    #[command(flatten)]
    input: CorpusArgs,
    /// Index directory to write (replaced atomically if it holds an index).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    /// HNSW links per node.
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// HNSW candidate list length while building.
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Seed of the insertion order.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Default candidate list length of searches in this index.
    #[arg(long, default_value_t = DEFAULT_EF_SEARCH)]
    ef_search: usize,
    /// Insert from all cores: faster on large corpora, but not reproducible bit for bit.
    #[arg(long)]
    parallel_insert: bool,
    /// Words of context on each side of a mention in its vector, in the mention
    /// index (0: the mention alone).
    #[arg(long, default_value_t = DEFAULT_MENTION_WINDOW)]
    mention_window: usize,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Index directory.
    index: PathBuf,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Index directory.
    index: PathBuf,
    /// Query corpus (e.g. the development split).
    #[arg(long)]
    queries: PathBuf,
    #[command(flatten)]
    input: CorpusArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Neighbours compared per query.
    #[arg(long, default_value_t = DEFAULT_K)]
    k: usize,
    /// Candidate list length [default: the index's].
    #[arg(long)]
    ef: Option<usize>,
    /// Exit with status 1 when recall is below this.
    #[arg(long)]
    min_recall: Option<f64>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: IndexCommand, quiet: bool) -> anyhow::Result<ExitCode> {
    match command {
        IndexCommand::Build(args) => build(args, quiet),
        IndexCommand::Info(args) => info(args),
        IndexCommand::Verify(args) => verify(args, quiet),
        IndexCommand::Mentions(args) => mentions(args, quiet),
    }
}

fn build(args: BuildArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // Before any work: a wrong --out (a file, the corpus itself, a directory
    // of other things) is refused with nothing embedded and nothing written.
    check_replaceable(&args.out)?;
    let corpus = args.input.read(&args.corpus)?;
    let sources = exemplar::pipeline::sources(&args.corpus, args.input.format)?;
    let encoder = args.model.open()?;
    let options = BuildOptions {
        hnsw: HnswParams {
            m: args.m,
            ef_construction: args.ef_construction,
            seed: args.seed,
            parallel: args.parallel_insert,
        },
        ef_search: args.ef_search,
        mention_window: args.mention_window,
    };
    let progress = bars(!quiet);
    let (index, report) = build_and_save(&corpus, sources, &encoder, &options, &args.out, &*progress)?;
    if report.resumed > 0 {
        eprintln!(
            "resumed an interrupted build: {} sentences were already embedded",
            report.resumed
        );
    }
    report_truncation(
        &sentence_ids(&corpus),
        &report.truncated,
        encoder.info().max_length,
    );
    let manifest = index.manifest();
    if args.json {
        print_json(manifest)?;
    } else if !quiet {
        eprintln!(
            "built {} with {} sentences ({}) in {:.1}s",
            args.out.display(),
            manifest.corpus.sentences,
            entity_summary(&manifest.corpus.entities_per_type),
            started.elapsed().as_secs_f64()
        );
        let mention_bytes: u64 = manifest
            .files
            .iter()
            .filter(|(name, _)| name.starts_with("mentions"))
            .map(|(_, file)| file.bytes)
            .sum();
        let all_bytes: u64 = manifest.files.values().map(|file| file.bytes).sum();
        let s = report.seconds;
        eprintln!(
            "time: embedding {:.1}s, graph {:.1}s, mention index {:.1}s ({:.0}% of the build); mention index {} of {} bytes ({:.0}%)",
            s.embedding,
            s.graph,
            s.mentions,
            100.0 * s.mentions / (s.embedding + s.graph + s.mentions).max(1e-9),
            mention_bytes,
            all_bytes,
            100.0 * mention_bytes as f64 / all_bytes.max(1) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn mentions(args: MentionsArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut index = Index::open(&args.index)?;
    let encoder = args.model.open()?;
    index.check_encoder(encoder.info(), &args.index)?;
    let mentions = mention_index(&index, &encoder, args.mention_window, &*bars(!quiet))?;
    index.set_mentions(mentions)?;
    index.save(&args.index)?;
    if !quiet {
        if let Some(m) = &index.manifest().mentions {
            eprintln!(
                "{}: mention index of {} mentions ({} distinct, {} vectors, window {}) in {:.1}s",
                args.index.display(),
                m.mentions,
                m.strings,
                m.vectors,
                m.window,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn entity_summary(counts: &std::collections::BTreeMap<String, usize>) -> String {
    if counts.is_empty() {
        return "no entities".into();
    }
    counts
        .iter()
        .map(|(label, n)| format!("{n} {label}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn info(args: InfoArgs) -> anyhow::Result<ExitCode> {
    let index = Index::open(&args.index)?;
    let m = index.manifest();
    if args.json {
        print_json(m)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_line(format_args!("index        {}", args.index.display()))?;
    print_line(format_args!(
        "format       version {} (exemplar {})",
        m.format_version, m.exemplar_version
    ))?;
    print_line(format_args!(
        "model        {} ({} dimensions, {:?} pooling, max length {})",
        m.model.id, m.model.dimension, m.model.pooling, m.model.max_length
    ))?;
    print_line(format_args!("model sha256 {}", m.model.sha256))?;
    print_line(format_args!("metric       {}", m.metric))?;
    print_line(format_args!(
        "hnsw         m {}, ef_construction {}, seed {}, {} insertion, {} layers, ef_search {}",
        m.hnsw.params.m,
        m.hnsw.params.ef_construction,
        m.hnsw.params.seed,
        if m.hnsw.params.parallel {
            "parallel"
        } else {
            "serial"
        },
        m.hnsw.layers,
        m.hnsw.ef_search
    ))?;
    for source in &m.corpus.sources {
        print_line(format_args!(
            "source       {} ({:?}{})",
            source.path,
            source.format,
            source
                .sha256
                .as_ref()
                .map(|s| format!(", sha256 {s}"))
                .unwrap_or_default()
        ))?;
    }
    print_line(format_args!(
        "sentences    {} ({} truncated)",
        m.corpus.sentences, m.corpus.truncated_sentences
    ))?;
    print_line(format_args!(
        "entities     {}",
        entity_summary(&m.corpus.entities_per_type)
    ))?;
    match &m.mentions {
        Some(x) => print_line(format_args!(
            "mentions     {} ({} distinct), {} vectors, context window {}",
            x.mentions, x.strings, x.vectors, x.window
        ))?,
        None => print_line(format_args!(
            "mentions     none (add them with `exemplar index mentions {}`)",
            args.index.display()
        ))?,
    }
    for (name, file) in &m.files {
        print_line(format_args!(
            "file         {name}: {} bytes, sha256 {}",
            file.bytes, file.sha256
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `index verify` measured.
#[derive(Debug, Serialize)]
struct Recall {
    index: String,
    queries: usize,
    k: usize,
    ef: usize,
    recall: f64,
}

fn verify(args: VerifyArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let index = Index::open(&args.index)?;
    let encoder = args.model.open()?;
    index.check_encoder(encoder.info(), &args.index)?;
    let corpus = args.input.read(&[&args.queries])?;
    let texts: Vec<&str> = corpus.sentences.iter().map(|s| s.text.as_str()).collect();
    let queries = embed(&encoder, &texts, &*bars(!quiet))?.vectors;

    let ef = args.ef.unwrap_or(index.manifest().hnsw.ef_search);
    let k = args.k.min(index.len());
    let exact = neighbour_ids(&queries, k, |q, k| index.search(q, k, SearchMode::Exact));
    let approx = neighbour_ids(&queries, k, |q, k| {
        index.search(q, k, SearchMode::Hnsw { ef: Some(ef) })
    });
    let recall = Recall {
        index: args.index.display().to_string(),
        queries: queries.len(),
        k,
        ef,
        recall: recall_at_k(&exact, &approx),
    };
    if args.json {
        print_json(&recall)?;
    } else {
        print_line(format_args!(
            "recall@{} = {:.4} over {} queries (ef {}); all index files match their checksums",
            recall.k, recall.recall, recall.queries, recall.ef
        ))?;
    }
    let below = args.min_recall.is_some_and(|min| recall.recall < min);
    Ok(if below {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
