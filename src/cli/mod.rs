//! Command-line interface: clap definitions here, one file per subcommand.
//! Each subcommand is a thin layer over the library; `--json` prints machine-
//! readable output on stdout, everything else for people goes to stderr.

mod bench;
mod compare;
mod embed;
mod eval;
mod index;
mod kb;
mod pick;
mod run;
mod select;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use exemplar::corpus::{self, Corpus, Format, ReadOptions, TagScheme};
use exemplar::encoder::{
    default_models_dir, ModelDir, ModelOverrides, OnnxEncoder, Pooling, Truncation, DEFAULT_MODEL_NAME,
};
use exemplar::index::SearchMode;
use exemplar::knowledge::{HintLimits, Knowledge, SourceSpec};
use exemplar::names::Named;
use exemplar::select::{Filters, Method, Order, Params, Strategy};

/// Few-shot biomedical NER with LLMs: k-NN demonstration retrieval.
#[derive(Debug, Parser)]
#[command(name = "exemplar", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Hide progress bars and summaries (warnings and errors still show).
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build, inspect and check demonstration indexes.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Choose demonstrations for query sentences.
    Select(select::SelectArgs),
    /// Embed sentences and write the vectors as a NumPy .npy file.
    Embed(embed::EmbedArgs),
    /// Pick the sentences of an unlabelled pool worth annotating (Vote-k, k-means, random).
    Pick(pick::PickArgs),
    /// Run a few-shot NER experiment: select, prompt, generate, parse, score.
    Run(Box<run::RunArgs>),
    /// Score predicted entities against a gold corpus (strict and relaxed P/R/F1).
    Eval(eval::EvalArgs),
    /// Serve demonstrations (and prompts) over HTTP: POST /v1/select.
    Serve(serve::ServeArgs),
    /// Measure retrieval: encoding throughput, search and selection latency, QPS, recall@k.
    Bench(bench::BenchArgs),
    /// Compare selection strategies without an LLM: coverage of the gold entities, similarity, diversity.
    Compare(compare::CompareArgs),
    /// Knowledge sources (HPO, term lists, an index's annotations): find their terms in sentences.
    #[command(subcommand)]
    Kb(kb::KbCommand),
}

/// Which sentence encoder to use.
#[derive(Debug, Clone, Args)]
struct ModelArgs {
    /// Model directory (model.onnx, tokenizer.json, configs) [default: models/all-MiniLM-L6-v2].
    #[arg(long, env = "EXEMPLAR_MODEL")]
    model: Option<PathBuf>,
    /// ONNX Runtime shared library [default: $ORT_DYLIB_PATH, else models/onnxruntime/libonnxruntime.so*].
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Pooling, overriding the model directory's config.
    #[arg(long, value_parser = choice::<Pooling>())]
    pooling: Option<Pooling>,
    /// Maximum input length in word pieces, overriding the model directory's config.
    #[arg(long)]
    max_length: Option<usize>,
}

impl ModelArgs {
    /// The encoder with one session using every core (batch work).
    fn open(&self) -> anyhow::Result<OnnxEncoder> {
        self.open_with(1, 0)
    }

    /// The encoder with `sessions` parallel sessions of `threads` threads each (0: all cores).
    fn open_with(&self, sessions: usize, threads: usize) -> anyhow::Result<OnnxEncoder> {
        let dir = self
            .model
            .clone()
            .unwrap_or_else(|| default_models_dir().join(DEFAULT_MODEL_NAME));
        let overrides = ModelOverrides {
            pooling: self.pooling,
            max_length: self.max_length,
            id: None,
        };
        let model = ModelDir::open(&dir, &overrides)?;
        let library = ModelDir::onnxruntime_library(self.ort_lib.as_deref())?;
        Ok(OnnxEncoder::new(model, &library, sessions, threads)?)
    }
}

/// How neighbours are searched for (k-NN strategies).
#[derive(Debug, Clone, Args)]
struct SearchArgs {
    /// Exhaustive search instead of HNSW (slow; for checking).
    #[arg(long)]
    exact: bool,
    /// HNSW candidate list length [default: the index's].
    #[arg(long)]
    ef: Option<usize>,
}

impl SearchArgs {
    fn mode(&self) -> SearchMode {
        if self.exact {
            SearchMode::Exact
        } else {
            SearchMode::Hnsw { ef: self.ef }
        }
    }
}

/// How demonstrations are chosen (select and run): the strategy or
/// strategies, their parameters, filters, order and seed. Maps onto
/// [`Method`]s and nothing else.
#[derive(Debug, Clone, Args)]
struct MethodArgs {
    /// Selection strategy; `run` compares several, comma-separated [default: knn; run: knn,random].
    #[arg(long, value_parser = choice::<Strategy>(), value_delimiter = ',')]
    strategy: Vec<Strategy>,
    /// A strategy parameter, NAME=VALUE (repeatable); each applies to the strategies that take it.
    #[arg(long = "param", value_name = "NAME=VALUE", long_help = param_help())]
    params: Vec<String>,
    /// Keep only demonstrations with at least M entities.
    #[arg(long, value_name = "M", default_value_t = 0)]
    min_entities: usize,
    /// Leave out demonstrations from the query's own document (CoNLL -DOCSTART-, BRAT file, JSONL "doc").
    #[arg(long)]
    exclude_same_doc: bool,
    /// Keep only demonstrations whose JSONL field FIELD is VALUE (repeatable; all must hold).
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    where_: Vec<String>,
    /// Order of the demonstrations in the prompt.
    #[arg(long, value_parser = choice::<Order>(), default_value = "similar-last")]
    order: Order,
    /// Seed of random choices (the random strategy and order; in `run` also generation and the bootstrap).
    #[arg(long, default_value_t = exemplar::select::DEFAULT_SEED)]
    seed: u64,
}

impl MethodArgs {
    /// One method per strategy given (`default` when none is).
    fn methods(&self, default: &[Strategy]) -> exemplar::Result<Vec<Method>> {
        let strategies = match self.strategy.is_empty() {
            true => default,
            false => &self.strategy,
        };
        let filters = Filters {
            min_entities: self.min_entities,
            exclude_same_doc: self.exclude_same_doc,
            where_: Filters::parse_where(&self.where_)?,
        };
        let params = Params::from_pairs(&self.params)?;
        Method::for_strategies(strategies, &params, &filters, self.order, self.seed)
    }
}

/// `--param`'s long help: every strategy's parameters, from their definitions.
fn param_help() -> String {
    let mut help = String::from(
        "A strategy parameter, NAME=VALUE (repeatable); each applies to the strategies that take it.",
    );
    for &strategy in Strategy::ALL {
        for spec in strategy.params() {
            help.push_str(&format!("\n  {strategy}: {} = {}", spec.name, spec.help));
        }
    }
    help
}

/// Knowledge sources whose hints prompts show (run and serve).
#[derive(Debug, Clone, Args)]
struct KnowledgeArgs {
    /// Knowledge sources whose hints about the query's terms prompts show, comma-separated:
    /// `gazetteer` (the index's annotations), `hpo` (scripts/hpo.sh), or a .obo, .tsv or .jsonl file.
    #[arg(long, value_name = "SOURCES")]
    knowledge: Option<String>,
    /// Most hints a prompt shows (the least specific are left out first).
    #[arg(long, default_value_t = HintLimits::default().max_hints, requires = "knowledge")]
    knowledge_max_hints: usize,
    /// Most characters of a prompt's hints together.
    #[arg(long, default_value_t = HintLimits::default().max_chars, requires = "knowledge")]
    knowledge_max_chars: usize,
}

impl KnowledgeArgs {
    /// The caps on a prompt's hints.
    fn limits(&self) -> HintLimits {
        HintLimits {
            max_hints: self.knowledge_max_hints,
            max_chars: self.knowledge_max_chars,
        }
    }
}

/// Knowledge sources as `entity`'s `sources=kb` candidates (select, compare).
#[derive(Debug, Clone, Args)]
struct CandidateKnowledgeArgs {
    /// Knowledge sources whose names found in a query are candidate mentions for
    /// `--strategy entity --param sources=kb`, comma-separated: `hpo` (scripts/hpo.sh),
    /// `gazetteer`, or a .obo, .tsv or .jsonl file.
    #[arg(long, value_name = "SOURCES")]
    knowledge: Option<String>,
}

impl CandidateKnowledgeArgs {
    /// The sources loaded (the gazetteer from `index`, opened from `dir`), when given.
    fn load(
        &self,
        index: &exemplar::index::Index,
        dir: &Path,
    ) -> anyhow::Result<Option<std::sync::Arc<Knowledge>>> {
        let Some(sources) = &self.knowledge else {
            return Ok(None);
        };
        let specs = SourceSpec::parse_list(sources)?;
        Ok(Some(std::sync::Arc::new(Knowledge::load(
            &specs,
            Some((index, dir)),
        )?)))
    }
}

/// An input corpus and how to read it.
#[derive(Debug, Clone, Args)]
struct CorpusArgs {
    /// Format of the input.
    #[arg(long, value_parser = choice::<Format>(), default_value = "conll")]
    format: Format,
    /// CoNLL tag scheme: `auto` reads IOB2 and BIOES, `iob1` accepts I- opening an entity.
    #[arg(long, value_parser = choice::<TagScheme>(), default_value = "auto")]
    scheme: TagScheme,
    /// BRAT: drop entities whose offsets fall outside the text, with a warning, instead of failing.
    #[arg(long)]
    skip_invalid_spans: bool,
}

impl CorpusArgs {
    fn read(&self, paths: &[impl AsRef<Path>]) -> anyhow::Result<Corpus> {
        let corpus = corpus::read_all(paths, self.format, &self.options())?;
        report_warnings(&corpus.warnings);
        Ok(corpus)
    }

    fn options(&self) -> ReadOptions {
        ReadOptions {
            scheme: self.scheme,
            skip_invalid_spans: self.skip_invalid_spans,
        }
    }
}

/// The value parser of a closed set of choices: its names, each with its help.
fn choice<T: Named>() -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser as _;
    let values = T::ALL
        .iter()
        .map(|choice| clap::builder::PossibleValue::new(choice.name()).help(choice.help()));
    clap::builder::PossibleValuesParser::new(values).try_map(|name: String| T::from_name(&name))
}

/// Prints what the readers noticed (the first few, then a count).
fn report_warnings(warnings: &[corpus::Warning]) {
    const SHOWN: usize = 5;
    for warning in warnings.iter().take(SHOWN) {
        eprintln!("warning: {}: {}", warning.location, warning.message);
    }
    if warnings.len() > SHOWN {
        eprintln!("warning: … and {} more", warnings.len() - SHOWN);
    }
}

/// Warnings of the library, one a line on stderr.
fn warn_each(warnings: &[String]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}

/// The ids of a corpus's sentences, to name them in messages.
fn sentence_ids(corpus: &Corpus) -> Vec<&str> {
    corpus.sentences.iter().map(|s| s.id.as_str()).collect()
}

/// Warns about sentences the encoder had to cut, naming a few of them.
fn report_truncation(ids: &[&str], truncated: &[Truncation], max_length: usize) {
    const SHOWN: usize = 3;
    if truncated.is_empty() {
        return;
    }
    let named: Vec<String> = truncated
        .iter()
        .take(SHOWN)
        .map(|t| {
            format!(
                "{} ({} word pieces)",
                ids.get(t.position).unwrap_or(&"?"),
                t.tokens
            )
        })
        .collect();
    eprintln!(
        "warning: {} sentence(s) longer than the model's maximum of {max_length} word pieces were truncated: {}{}",
        truncated.len(),
        named.join(", "),
        if truncated.len() > SHOWN { ", …" } else { "" }
    );
}

/// Prints one value as a JSON line on stdout.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let line = serde_json::to_string(value)
        .map_err(|e| exemplar::Error::Internal(format!("cannot serialise the output: {e}")))?;
    print_line(line)
}

/// Writes one line on stdout. Unlike `println!`, a closed pipe
/// (`exemplar ... | head -1`) comes back as an error, which `main` turns into
/// a quiet, successful exit instead of a panic.
fn print_line(line: impl std::fmt::Display) -> anyhow::Result<()> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}")?;
    Ok(())
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Index(command) => index::run(command, cli.quiet),
        Command::Select(args) => select::run(args, cli.quiet),
        Command::Embed(args) => embed::run(args, cli.quiet),
        Command::Pick(args) => pick::run(args, cli.quiet),
        Command::Run(args) => run::run(*args, cli.quiet),
        Command::Eval(args) => eval::run(args, cli.quiet),
        Command::Serve(args) => serve::run(args, cli.quiet),
        Command::Bench(args) => bench::run(args, cli.quiet),
        Command::Compare(args) => compare::run(args, cli.quiet),
        Command::Kb(command) => kb::run(command, cli.quiet),
    }
}
