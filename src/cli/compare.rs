//! `exemplar compare`: selection strategies side by side without an LLM,
//! measured by the library's [`exemplar::compare`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{
    choice, print_json, print_line, report_truncation, CandidateKnowledgeArgs, CorpusArgs, ModelArgs,
    SearchArgs,
};
use exemplar::compare::{compare, Settings};
use exemplar::corpus::Example;
use exemplar::encoder::Encoder;
use exemplar::eval::BOOTSTRAP_SAMPLES;
use exemplar::index::Index;
use exemplar::names::Named;
use exemplar::pipeline::embed;
use exemplar::progress::bars;
use exemplar::select::{Filters, Params, Resources, Strategy, DEFAULT_K, DEFAULT_SEED};

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Index of the training corpus (demonstrations come from it).
    #[arg(long)]
    index: PathBuf,
    /// Query sentences with gold entities (e.g. the test split).
    #[arg(long)]
    queries: PathBuf,
    #[command(flatten)]
    corpus: CorpusArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Demonstrations per query.
    #[arg(long, default_value_t = DEFAULT_K)]
    k: usize,
    /// Strategies to compare, comma-separated [default: every strategy]; random
    /// is always measured, as the baseline.
    #[arg(long, value_parser = choice::<Strategy>(), value_delimiter = ',')]
    strategy: Vec<Strategy>,
    /// A strategy parameter, NAME=VALUE (repeatable), given to every strategy that takes it.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Seed of the random strategy and of the bootstrap.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Use only the first N query sentences.
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    search: SearchArgs,
    #[command(flatten)]
    knowledge: CandidateKnowledgeArgs,
    /// One JSON object: {"strategies": {NAME: {metrics..., "vs_random": {...}}}, "settings": {...}, "queries": N}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CompareArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let index = Index::open(&args.index)?;
    let strategies = match args.strategy.is_empty() {
        true => measurable(&index, &args.index, quiet),
        false => args.strategy.clone(),
    };
    let settings = Settings {
        strategies,
        params: Params::from_pairs(&args.params)?,
        filters: Filters::default(),
        k: args.k,
        search: args.search.mode(),
        seed: args.seed,
        samples: BOOTSTRAP_SAMPLES,
    };
    let corpus = args.corpus.read(&[&args.queries])?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let queries: Vec<Example> = corpus.sentences.iter().take(limit).map(Example::from).collect();
    // Checked before the model is loaded.
    settings.check(&queries)?;
    let encoder = std::sync::Arc::new(args.model.open()?);
    index.check_encoder(encoder.info(), &args.index)?;
    let resources = Resources {
        encoder: Some(encoder.clone()),
        knowledge: args.knowledge.load(&index, &args.index)?,
    };
    let progress = bars(!quiet);
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let embedded = embed(encoder.as_ref(), &texts, &*progress)?;
    let ids: Vec<&str> = queries.iter().map(|q| q.id.as_str()).collect();
    report_truncation(&ids, &embedded.truncated, encoder.info().max_length);
    let comparison = compare(
        &index,
        &queries,
        &embedded.vectors,
        &settings,
        &resources,
        &*progress,
    )?;
    if !args.json {
        print_line(comparison.table().trim_end())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut json = serde_json::to_value(&comparison)?;
    // Where the figures came from, so they can be measured again.
    json["settings"]["index"] = args.index.display().to_string().into();
    json["settings"]["queries"] = args.queries.display().to_string().into();
    json["settings"]["format"] = args.corpus.format.name().into();
    json["settings"]["limit"] = args.limit.into();
    print_json(&json)?;
    Ok(ExitCode::SUCCESS)
}

/// Every strategy the index can serve: `entity` needs the mention index,
/// which indexes built before it lack (a note says how to add it).
fn measurable(index: &Index, dir: &std::path::Path, quiet: bool) -> Vec<Strategy> {
    let all = Strategy::ALL.iter().copied();
    if index.mentions().is_some() {
        return all.collect();
    }
    if !quiet {
        eprintln!(
            "note: entity is left out: {} has no mention index (add it with `exemplar index mentions {}`)",
            dir.display(),
            dir.display()
        );
    }
    all.filter(|&s| s != Strategy::Entity).collect()
}
