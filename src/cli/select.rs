//! `exemplar select`: demonstrations for one sentence or a file of them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::{choice, print_json, report_truncation, CorpusArgs, ModelArgs};
use crate::corpus::Example;
use crate::encoder::{embed_all, Encoder};
use crate::index::{Index, SearchMode};
use crate::prompt::{mark_inline, Pass};
use crate::select::{select_batch, Demo, Strategy, DEFAULT_K};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("query").required(true).args(["text", "input"]))]
pub struct SelectArgs {
    /// Index directory.
    #[arg(long)]
    index: PathBuf,
    /// One query sentence.
    #[arg(long)]
    text: Option<String>,
    /// A file of query sentences (any corpus format; gold entities are carried along).
    #[arg(long)]
    input: Option<PathBuf>,
    #[command(flatten)]
    corpus: CorpusArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Demonstrations per query.
    #[arg(long, default_value_t = DEFAULT_K)]
    k: usize,
    /// Selection strategy.
    #[arg(long, value_parser = choice::<Strategy>(), default_value = "knn")]
    strategy: Strategy,
    /// Exhaustive search instead of HNSW (slow; for checking).
    #[arg(long)]
    exact: bool,
    /// HNSW candidate list length [default: the index's].
    #[arg(long)]
    ef: Option<usize>,
    /// Seed of the random strategy.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// One JSON object per query line: {"query": {...}, "demos": [...]}.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Selection<'a> {
    query: &'a Example,
    demos: &'a [Demo],
}

pub fn run(args: SelectArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let index = Index::open(&args.index)?;
    let queries: Vec<Example> = match (&args.text, &args.input) {
        (Some(text), _) => vec![Example {
            id: "text".into(),
            text: text.clone(),
            entities: Vec::new(),
        }],
        (None, Some(path)) => {
            let corpus = args.corpus.read(&[path])?;
            corpus.sentences.iter().map(Example::from).collect()
        }
        (None, None) => unreachable!("clap requires --text or --input"),
    };
    if args.k == 0 {
        anyhow::bail!("--k must be at least 1");
    }
    let mode = if args.exact {
        SearchMode::Exact
    } else {
        SearchMode::Hnsw { ef: args.ef }
    };
    let selector = args.strategy.selector(mode, args.seed);
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let vectors = if selector.needs_vector() {
        let encoder = args.model.open()?;
        index.check_encoder(encoder.info(), &args.index)?;
        let bar = crate::progress::bar(texts.len() as u64, "embedding", !quiet && texts.len() > 1);
        let embedded = embed_all(&encoder, &texts, None, |n| bar.inc(n as u64))?;
        let (vectors, truncated) = (embedded.vectors, embedded.truncated);
        bar.finish_and_clear();
        let ids: Vec<&str> = queries.iter().map(|q| q.id.as_str()).collect();
        report_truncation(&ids, &truncated, encoder.info().max_length);
        Some(vectors)
    } else {
        None
    };
    let selections = select_batch(&index, selector.as_ref(), &texts, vectors.as_ref(), args.k)?;

    for (query, demos) in queries.iter().zip(&selections) {
        if args.json {
            print_json(&Selection { query, demos })?;
        } else {
            print_human(query, demos, selector.name());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Entities shown inline as `[mention](Type)`.
fn inline(example: &Example) -> String {
    mark_inline(example, &Pass::all(), |mention, label| {
        format!("[{mention}]({label})")
    })
}

fn print_human(query: &Example, demos: &[Demo], strategy: &str) {
    println!("query: {}", query.text);
    println!("{} demonstrations ({strategy}, most similar last):", demos.len());
    for (i, demo) in demos.iter().enumerate() {
        let score = demo
            .score
            .map(|s| format!("{s:.3}"))
            .unwrap_or_else(|| "  -  ".into());
        println!(
            "{:>3}. [{score}] {}  ({})",
            i + 1,
            inline(&demo.example),
            demo.example.id
        );
    }
    println!();
}
