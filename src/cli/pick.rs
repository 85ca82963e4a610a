//! `exemplar pick`: the sentences of an unlabelled pool worth annotating.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::{choice, print_json, report_truncation, sentence_ids, CorpusArgs, ModelArgs};
use exemplar::encoder::Encoder;
use exemplar::pick::{as_lines, distinct, pick, Method, PickOptions, DEFAULT_NEIGHBOURS, DEFAULT_RHO};
use exemplar::pipeline::embed;
use exemplar::progress::bars;
use exemplar::Error;

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
    /// Replace --out if it exists (otherwise refused before any work).
    #[arg(long)]
    force: bool,
    /// Seed of kmeans, random and the random baseline (votek draws nothing at random).
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
    /// Sentences read.
    pool: usize,
    /// Distinct sentences among them: the pool picked from.
    distinct: usize,
    /// Mean similarity of every distinct sentence to its nearest pick.
    coverage: f64,
    /// The same for random picks of the budget (the mean of a few draws).
    random_coverage: f64,
    /// Seconds spent embedding the pool, and picking (coverage included).
    embed_seconds: f64,
    pick_seconds: f64,
    /// Ids of the picked sentences, in the pool's order.
    picked: Vec<&'a str>,
    out: &'a Path,
}

pub fn run(args: PickArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    check_out(&args.out, args.force)?;
    let corpus = args.corpus.read(&[&args.input])?;
    let texts: Vec<&str> = corpus.sentences.iter().map(|s| s.text.as_str()).collect();
    let kept = distinct(&texts);
    if kept.len() < texts.len() {
        eprintln!(
            "warning: {} repeated sentence(s) in {} are considered once (the first occurrence)",
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
    let started = Instant::now();
    let embedded = embed(&encoder, &pool, &*progress)?;
    let embed_seconds = started.elapsed().as_secs_f64();
    let ids = sentence_ids(&corpus);
    let kept_ids: Vec<&str> = kept.iter().map(|&i| ids[i]).collect();
    report_truncation(&kept_ids, &embedded.truncated, encoder.info().max_length);
    let started = Instant::now();
    let picked = pick(&embedded.vectors, &options, &*progress)?;
    let pick_seconds = started.elapsed().as_secs_f64();

    let (lines, joined) = as_lines(&pool, &picked.rows);
    if joined > 0 {
        eprintln!("warning: {joined} picked sentence(s) held line breaks, written as spaces");
    }
    exemplar::index::write_file_atomically(&args.out, lines.as_bytes())?;
    let summary = Summary {
        options,
        pool: texts.len(),
        distinct: kept.len(),
        coverage: picked.coverage,
        random_coverage: picked.random_coverage,
        embed_seconds,
        pick_seconds,
        picked: picked.rows.iter().map(|&r| kept_ids[r]).collect(),
        out: &args.out,
    };
    if args.json {
        print_json(&summary)?;
    }
    if !quiet {
        print_human(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses, before any work, an `out` that exists (unless `force`, and never
/// a directory) or whose directory does not.
fn check_out(out: &Path, force: bool) -> exemplar::Result<()> {
    let refuse = |why: String| Err(Error::InvalidInput(format!("--out {}: {why}", out.display())));
    if out.is_dir() {
        return refuse("is a directory; name a file".into());
    }
    if out.exists() && !force {
        return refuse("exists; refusing to replace it (choose another --out, or add --force)".into());
    }
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            refuse(format!("the directory {} does not exist", dir.display()))
        }
        _ => Ok(()),
    }
}

fn print_human(summary: &Summary) {
    eprintln!(
        "picked {} of {} distinct sentences ({}, seed {}) into {} in {:.1} s (embedding {:.1} s)",
        summary.options.budget,
        summary.distinct,
        summary.options.method,
        summary.options.seed,
        summary.out.display(),
        summary.embed_seconds + summary.pick_seconds,
        summary.embed_seconds,
    );
    eprintln!(
        "coverage (mean similarity of each sentence to its nearest pick): {:.4}; random picks of the same size: {:.4}",
        summary.coverage, summary.random_coverage
    );
}
