//! `exemplar run`: a few-shot NER experiment end to end, one or more
//! selection strategies side by side, written under `--out`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;

use super::{print_json, print_line, report_truncation, CorpusArgs, ModelArgs};
use crate::backend::{batch_request_line, Api, Cached, OpenAi, OpenAiConfig, Replay};
use crate::corpus::{Sentence, Span};
use crate::encoder::{embed_all, Encoder};
use crate::index::{write_file_atomically, Index, SearchMode};
use crate::names::Named;
use crate::prompt::{self, load_definitions, PromptFormat};
use crate::run::{self, entity_types, predictions, unseen_types, Planned, Report, Settings};
use crate::select::{Strategy, DEFAULT_K};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Index of the training corpus (demonstrations come from it).
    #[arg(long)]
    index: PathBuf,
    /// Test corpus with gold entities.
    #[arg(long)]
    test: PathBuf,
    #[command(flatten)]
    corpus: CorpusArgs,
    /// Prompt format.
    #[arg(long, value_enum, default_value = "tanl")]
    prompt: PromptFormat,
    /// Selection strategies to compare, comma-separated; the first is compared with each other.
    #[arg(long, value_parser = super::choice::<Strategy>(), value_delimiter = ',', default_value = "knn,random")]
    strategy: Vec<Strategy>,
    /// Demonstrations per prompt.
    #[arg(long, default_value_t = DEFAULT_K)]
    k: usize,
    /// Seed of random selection, of generation and of the bootstrap.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Use only the first N test sentences.
    #[arg(long)]
    limit: Option<usize>,
    /// OpenAI-compatible server, e.g. http://127.0.0.1:8089.
    #[arg(long, env = "EXEMPLAR_BACKEND")]
    backend: Option<String>,
    /// Model name sent to the server.
    #[arg(long, default_value = "local")]
    model: String,
    /// Endpoint: `completions` (base models) or `chat` (instruction-tuned models).
    #[arg(long, value_enum, default_value = "completions")]
    api: Api,
    /// Environment variable holding the API key (sent as a bearer token, never logged).
    #[arg(long, default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// Sampling temperature.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Longest answer, in tokens.
    #[arg(long, default_value_t = 128)]
    max_tokens: usize,
    /// The model's context length in tokens (prompts are cut to fit it).
    #[arg(long, default_value_t = 4096)]
    context: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Seconds before a request is abandoned (then retried).
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Retries of a failed request, with exponential backoff.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Entity type definitions (JSON object: type → definition), for dice and any template using them.
    #[arg(long)]
    definitions: Option<PathBuf>,
    /// Annotation guidelines (text) injected into the instruction.
    #[arg(long)]
    guidelines: Option<PathBuf>,
    /// Instruction template replacing the format's built-in one (see prompts/).
    #[arg(long)]
    template: Option<PathBuf>,
    /// Response cache (JSONL); reruns and resumed runs take answers from it.
    #[arg(long, default_value = ".cache/responses.jsonl")]
    cache: PathBuf,
    /// Write the requests as OpenAI batch lines under --out and stop.
    #[arg(long)]
    dry_run: bool,
    /// Take answers from an OpenAI batch output file instead of a server.
    #[arg(long, conflicts_with = "dry_run")]
    answers: Option<PathBuf>,
    /// Sentence encoder directory [default: models/all-MiniLM-L6-v2].
    #[arg(long)]
    encoder: Option<PathBuf>,
    /// ONNX Runtime shared library.
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

fn read_text(path: &Option<PathBuf>) -> anyhow::Result<Option<String>> {
    path.as_ref()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display())))
        .transpose()
}

pub fn run(args: RunArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.k == 0 {
        bail!("--k must be at least 1");
    }
    let index = Index::open(&args.index)?;
    let mut test = args.corpus.read(&[&args.test])?.sentences;
    if let Some(limit) = args.limit {
        test.truncate(limit);
    }
    let types = entity_types(&index);
    if types.is_empty() {
        bail!("{} has no entities: nothing to learn from", args.index.display());
    }
    let unseen = unseen_types(&test, &types);
    if !unseen.is_empty() {
        eprintln!(
            "warning: the test corpus has types the index never shows; they cannot be predicted: {}",
            unseen.join(", ")
        );
    }
    let ctx = prompt::Context {
        types: types.clone(),
        definitions: match &args.definitions {
            Some(path) => load_definitions(path)?,
            None => Default::default(),
        },
        guidelines: read_text(&args.guidelines)?,
        template: read_text(&args.template)?,
    };
    let settings = Settings {
        strategies: args.strategy.clone(),
        k: args.k,
        seed: args.seed,
        format: args.prompt,
        api: args.api,
        model: args.model.clone(),
        temperature: args.temperature,
        max_tokens: args.max_tokens,
        context_tokens: args.context,
        concurrency: args.concurrency,
        search: Some(SearchMode::Hnsw { ef: None }),
    };

    let vectors = if args.strategy.contains(&Strategy::Knn) {
        let encoder = ModelArgs {
            model: args.encoder.clone(),
            ort_lib: args.ort_lib.clone(),
            pooling: None,
            max_length: None,
        }
        .open()?;
        index.check_encoder(encoder.info(), &args.index)?;
        let texts: Vec<&str> = test.iter().map(|s| s.text.as_str()).collect();
        let embedded = embed_all(&encoder, &texts, None, |_| {})?;
        let ids: Vec<&str> = test.iter().map(|s| s.id.as_str()).collect();
        report_truncation(&ids, &embedded.truncated, encoder.info().max_length);
        Some(embedded.vectors)
    } else {
        None
    };

    let backend_id = backend_id(&args)?;
    let mut planned = run::plan(&index, &test, vectors.as_ref(), &settings, &ctx, &backend_id)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    if args.dry_run {
        return write_requests(&planned, &args.out, quiet);
    }

    let total: usize = planned.iter().map(|p| p.exchanges.len()).sum();
    let bar = crate::progress::bars(!quiet);
    bar.start("generating", total as u64);
    let progress = || bar.advance(1);
    let outcome = match &args.answers {
        Some(answers) => {
            let replay = Replay::open(answers, &backend_id)?;
            run::generate(&mut planned, &test, &replay, &settings, &ctx, progress)
        }
        None => {
            let backend = open_server(&args)?;
            let outcome = run::generate(&mut planned, &test, &backend, &settings, &ctx, progress);
            let stats = backend.stats();
            eprintln!(
                "{} answers from the cache, {} generated ({})",
                stats.hits,
                stats.misses,
                args.cache.display()
            );
            outcome
        }
    };
    bar.finish();
    outcome?;

    for p in &planned {
        write_strategy(p, &test, &args.out)?;
    }
    let index_label = args.index.display().to_string();
    let test_label = args.test.display().to_string();
    let inputs = run::Inputs {
        index: &index_label,
        test: &test_label,
        types: &types,
        unseen_types: &unseen,
    };
    let report = Report::build(&planned, &test, &settings, &inputs);
    let json = serde_json::to_vec_pretty(&report).context("cannot serialise the report")?;
    write_file_atomically(&args.out.join("report.json"), &json)?;
    let markdown = report.markdown();
    write_file_atomically(&args.out.join("report.md"), markdown.as_bytes())?;
    if args.json {
        print_json(&report)?;
    } else {
        print_line(format_args!("{markdown}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The identity requests are keyed with: the server, or what the dry run named.
fn backend_id(args: &RunArgs) -> anyhow::Result<String> {
    match &args.backend {
        Some(url) => Ok(OpenAiConfig::new(url).base_url),
        None if args.dry_run || args.answers.is_some() => Ok("batch".into()),
        None => bail!("--backend URL is required (or --dry-run, or --answers FILE)"),
    }
}

/// The configured server behind the response cache.
fn open_server(args: &RunArgs) -> anyhow::Result<Cached<OpenAi>> {
    let url = args.backend.as_deref().unwrap_or_default();
    let mut config = OpenAiConfig::new(url);
    config.api_key = std::env::var(&args.api_key_env).ok().filter(|k| !k.is_empty());
    config.timeout = Duration::from_secs(args.timeout);
    config.retries = args.retries;
    Ok(Cached::open(OpenAi::new(config), &args.cache)?)
}

fn jsonl<T: serde::Serialize>(items: impl IntoIterator<Item = T>) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for item in items {
        serde_json::to_writer(&mut out, &item).context("cannot serialise")?;
        out.push(b'\n');
    }
    Ok(out)
}

fn strategy_dir(out: &Path, planned: &Planned) -> anyhow::Result<PathBuf> {
    let dir = out.join(planned.strategy.name());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn write_requests(planned: &[Planned], out: &Path, quiet: bool) -> anyhow::Result<ExitCode> {
    for p in planned {
        let lines = p.exchanges.iter().map(|e| batch_request_line(&e.request, &e.key));
        let path = strategy_dir(out, p)?.join("requests.jsonl");
        write_file_atomically(&path, &jsonl(lines)?)?;
        if !quiet {
            eprintln!("wrote {} requests to {}", p.exchanges.len(), path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Predictions (JSONL and CoNLL) and the log of prompts and answers.
fn write_strategy(planned: &Planned, test: &[Sentence], out: &Path) -> anyhow::Result<()> {
    let dir = strategy_dir(out, planned)?;
    let predicted = predictions(planned, test.len());
    let records = test.iter().zip(&predicted).map(|(sentence, spans)| {
        serde_json::json!({ "id": sentence.id, "text": sentence.text, "entities": spans })
    });
    write_file_atomically(&dir.join("predictions.jsonl"), &jsonl(records)?)?;
    write_file_atomically(&dir.join("predictions.conll"), conll(test, &predicted).as_bytes())?;
    write_file_atomically(&dir.join("log.jsonl"), &jsonl(&planned.exchanges)?)?;
    Ok(())
}

/// Predicted spans as IOB2 tags on the test sentences' tokens. A token is
/// tagged by the first span (by start) that overlaps it; overlapping spans
/// after it are left out, since IOB cannot nest.
fn conll(test: &[Sentence], predicted: &[Vec<Span>]) -> String {
    let mut out = String::new();
    for (sentence, spans) in test.iter().zip(predicted) {
        let mut current: Option<&Span> = None;
        for token in &sentence.tokens {
            let span = spans.iter().find(|s| s.start < token.end && token.start < s.end);
            let tag = match span {
                Some(s) if current == Some(s) => format!("I-{}", s.label),
                Some(s) => format!("B-{}", s.label),
                None => "O".into(),
            };
            current = span;
            out.push_str(&format!("{}\t{tag}\n", sentence.slice(token.start, token.end)));
        }
        out.push('\n');
    }
    out
}
