//! `exemplar pick`: the sentences of an unlabelled pool worth annotating.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::{choice, print_json, report_truncation, sentence_ids, CorpusArgs, ModelArgs};
use exemplar::encoder::Encoder;
use exemplar::pick::{distinct, pick, Method, PickOptions, DEFAULT_NEIGHBOURS, DEFAULT_RHO};
use exemplar::pipeline::embed;
use exemplar::progress::bars;

#[derive(Debug, Args)]
pub struct PickArgs {
    /// The unlabelled pool (one sentence a line for --format text; entities in other formats are ignored).
    #[arg(long)]
    input: PathBuf,
    #[command(flatten)]
    corpus: CorpusArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Sentences to pick: at least 1, at most the pool's distinct sentences.
    #[arg(long)]
    budget: usize,
    /// How to pick.
    #[arg(long, value_parser = choice::<Method>(), default_value = "votek")]
    method: Method,
    /// File to write the picked sentences to, one a line, in the pool's order.
    #[arg(long)]
    out: PathBuf,
    /// Seed of kmeans, random and the random baseline.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Vote-k: neighbours each sentence votes for.
    #[arg(long, default_value_t = DEFAULT_NEIGHBOURS)]
    neighbours: usize,
    /// Vote-k: a vote's discount per picked sentence among the voter's neighbours (1: none).
    #[arg(long, default_value_t = DEFAULT_RHO)]
    rho: f64,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// The summary, printed for people on stderr or as JSON on stdout.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    options: PickOptions,
    /// Sentences read, and how many of them were distinct (the pool picked from).
    pool: usize,
    distinct: usize,
    coverage: f64,
    random_coverage: f64,
    /// Ids of the picked sentences, in the pool's order.
    picked: Vec<&'a str>,
    out: &'a std::path::Path,
}

pub fn run(args: PickArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let corpus = args.corpus.read(&[&args.input])?;
    let texts: Vec<&str> = corpus.sentences.iter().map(|s| s.text.as_str()).collect();
    let kept = distinct(&texts);
    if kept.len() < texts.len() {
        eprintln!(
            "warning: {} repeated sentence(s) in {} are considered once",
            texts.len() - kept.len(),
            args.input.display()
        );
    }
    let options = PickOptions {
        method: args.method,
        budget: args.budget,
        seed: args.seed,
        neighbours: args.neighbours,
        rho: args.rho,
    };
    options.check(kept.len())?;
    let encoder = args.model.open()?;
    let progress = bars(!quiet);
    let pool: Vec<&str> = kept.iter().map(|&i| texts[i]).collect();
    let embedded = embed(&encoder, &pool, &*progress)?;
    let ids = sentence_ids(&corpus);
    let kept_ids: Vec<&str> = kept.iter().map(|&i| ids[i]).collect();
    report_truncation(&kept_ids, &embedded.truncated, encoder.info().max_length);
    let picked = pick(&embedded.vectors, &options, &*progress)?;

    let lines: String = picked.rows.iter().map(|&r| format!("{}\n", pool[r])).collect();
    exemplar::index::write_file_atomically(&args.out, lines.as_bytes())?;
    let summary = Summary {
        options,
        pool: texts.len(),
        distinct: kept.len(),
        coverage: picked.coverage,
        random_coverage: picked.random_coverage,
        picked: picked.rows.iter().map(|&r| kept_ids[r]).collect(),
        out: &args.out,
    };
    if args.json {
        print_json(&summary)?;
    } else if !quiet {
        print_human(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_human(summary: &Summary) {
    eprintln!(
        "picked {} of {} sentences ({}, seed {}) into {}",
        summary.options.budget,
        summary.distinct,
        summary.options.method,
        summary.options.seed,
        summary.out.display()
    );
    eprintln!(
        "coverage (mean similarity of each sentence to its nearest pick): {:.4}; random picks of the same size: {:.4}",
        summary.coverage, summary.random_coverage
    );
}
