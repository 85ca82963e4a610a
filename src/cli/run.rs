//! `exemplar run`: a few-shot NER experiment end to end, one or more
//! selection strategies side by side, written under `--out`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use super::{
    choice, print_json, print_line, report_truncation, warn_each, CorpusArgs, KnowledgeArgs, MethodArgs,
    ModelArgs, SearchArgs,
};
use exemplar::backend::{Api, OpenAiConfig};
use exemplar::encoder::Encoder;
use exemplar::progress::bars;
use exemplar::prompt::PromptFormat;
use exemplar::run::{
    AnswerSource, CandidateSource, Event, Experiment, Instructions, KnowledgeSettings, Settings,
};
use exemplar::select::{Strategy, DEFAULT_K};

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
    #[arg(long, value_parser = choice::<PromptFormat>(), default_value = "tanl")]
    prompt: PromptFormat,
    /// Demonstrations per prompt; 0 asks zero-shot (one arm, `zero-shot`, whatever --strategy says).
    #[arg(long, default_value_t = DEFAULT_K)]
    k: usize,
    #[command(flatten)]
    knowledge: KnowledgeArgs,
    /// Which terms get hints: those of the sources matched in the sentence, or those the
    /// model lists in a first request per sentence, looked up in the sources.
    #[arg(long, value_parser = choice::<CandidateSource>(), default_value = "match", requires = "knowledge")]
    knowledge_candidates: CandidateSource,
    #[command(flatten)]
    search: SearchArgs,
    /// The strategies compared (the first with each other one), their
    /// parameters, filters, order, and the seed.
    #[command(flatten)]
    method: MethodArgs,
    /// Use only the first N test sentences.
    #[arg(long)]
    limit: Option<usize>,
    /// OpenAI-compatible server, e.g. http://127.0.0.1:8089.
    #[arg(long, env = "EXEMPLAR_BACKEND")]
    backend: Option<String>,
    /// The LLM's name, as sent to the server.
    #[arg(long, default_value = "local")]
    llm_model: String,
    /// Endpoint: `completions` (base models) or `chat` (instruction-tuned models).
    #[arg(long, value_parser = choice::<Api>(), default_value = "completions")]
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
    /// Ask the server to compute every prompt afresh (`cache_prompt: false`, llama.cpp):
    /// llama-server's reuse of earlier prompts makes temperature-0 answers depend on
    /// what was asked before; without it a rerun gets the same answers.
    #[arg(long)]
    no_prompt_cache: bool,
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
    /// Write the requests as OpenAI batch lines under --out and stop. With
    /// --knowledge-candidates llm: the first requests (candidates/), or, given
    /// their --answers, the second.
    #[arg(long)]
    dry_run: bool,
    /// Take answers from an OpenAI batch output file instead of a server (with
    /// --dry-run: the answers of the first requests).
    #[arg(long)]
    answers: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RunArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let source = answer_source(&args)?;
    let mut test = args.corpus.read(&[&args.test])?.sentences;
    if let Some(limit) = args.limit {
        test.truncate(limit);
    }
    let test_label = args.test.display().to_string();
    let mut experiment = Experiment::new(
        &args.index,
        test,
        &test_label,
        settings(&args)?,
        &instructions(&args),
    )?;
    warn_each(experiment.warnings());
    if !quiet {
        for source in experiment.knowledge_sources() {
            eprintln!("hints from {}", source.notice());
        }
    }
    let unseen = experiment.unseen_types();
    if !unseen.is_empty() {
        eprintln!(
            "warning: the test corpus has types the index never shows; they cannot be predicted: {}",
            unseen.join(", ")
        );
    }
    if experiment.needs_vectors() {
        let encoder = std::sync::Arc::new(args.model.open()?);
        let max_length = encoder.info().max_length;
        let truncated = experiment.embed(encoder)?;
        let ids: Vec<&str> = experiment.test().iter().map(|s| s.id.as_str()).collect();
        report_truncation(&ids, &truncated, max_length);
    }

    let bar = bars(!quiet);
    let on = |event: Event<'_>| match event {
        Event::Generating { requests, first_pass } => {
            bar.start(first_pass.unwrap_or("generating"), requests as u64)
        }
        Event::Answered => bar.advance(1),
        Event::CacheUsed { stats, cache } => eprintln!(
            "{} answers from the cache, {} generated ({})",
            stats.hits,
            stats.misses,
            cache.display()
        ),
        Event::RequestsWritten {
            path,
            requests,
            first_pass: Some(pass),
        } => eprintln!(
            "wrote {requests} first requests ({pass}) to {}; the prompts depend on their answers: \
             run again with --backend, or with --dry-run --answers FILE once a batch has answered them",
            path.display()
        ),
        Event::RequestsWritten { path, requests, .. } if !quiet => {
            eprintln!("wrote {requests} requests to {}", path.display())
        }
        Event::RequestsWritten { .. } => {}
    };
    let report = experiment.run(&source, &args.out, &on);
    bar.finish();
    match report? {
        Some(report) if args.json => print_json(&report)?,
        Some(report) => print_line(report.markdown())?,
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The experiment's settings from the arguments.
fn settings(args: &RunArgs) -> exemplar::Result<Settings> {
    Ok(Settings {
        methods: args.method.methods(&[Strategy::Knn, Strategy::Random])?,
        k: args.k,
        seed: args.method.seed,
        search: args.search.mode(),
        format: args.prompt,
        api: args.api,
        model: args.llm_model.clone(),
        temperature: args.temperature,
        max_tokens: args.max_tokens,
        context_tokens: args.context,
        concurrency: args.concurrency,
        no_prompt_cache: args.no_prompt_cache,
        knowledge: args
            .knowledge
            .knowledge
            .as_ref()
            .map(|sources| KnowledgeSettings {
                sources: sources.clone(),
                candidates: args.knowledge_candidates,
                limits: args.knowledge.limits(),
            }),
    })
}

fn instructions(args: &RunArgs) -> Instructions {
    Instructions {
        definitions: args.definitions.clone(),
        guidelines: args.guidelines.clone(),
        template: args.template.clone(),
    }
}

/// Where answers come from: a dry run, a batch output file or the server.
fn answer_source(args: &RunArgs) -> anyhow::Result<AnswerSource> {
    let backend_id = || AnswerSource::batch_backend_id(args.backend.as_deref());
    Ok(match (&args.backend, &args.answers) {
        _ if args.dry_run => AnswerSource::DryRun {
            backend_id: backend_id(),
            first_answers: args.answers.clone(),
        },
        (_, Some(file)) => AnswerSource::Replay {
            file: file.clone(),
            backend_id: backend_id(),
        },
        (Some(url), None) => {
            let mut config = OpenAiConfig::new(url);
            config.api_key = std::env::var(&args.api_key_env).ok().filter(|k| !k.is_empty());
            config.timeout = Duration::from_secs(args.timeout);
            config.retries = args.retries;
            AnswerSource::Server {
                config,
                cache: args.cache.clone(),
            }
        }
        (None, None) => bail!("--backend URL is required (or --dry-run, or --answers FILE)"),
    })
}
