//! `exemplar select`: demonstrations for one sentence or a file of them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::{
    print_json, print_line, report_truncation, warn_each, CandidateKnowledgeArgs, CorpusArgs, MethodArgs,
    ModelArgs, SearchArgs,
};
use exemplar::corpus::Example;
use exemplar::encoder::Encoder;
use exemplar::error::Error;
use exemplar::index::Index;
use exemplar::pipeline::select;
use exemplar::progress::bars;
use exemplar::prompt::{mark_inline, Pass};
use exemplar::select::{Resources, Selection, Strategy, DEFAULT_K};

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
    #[command(flatten)]
    method: MethodArgs,
    #[command(flatten)]
    search: SearchArgs,
    #[command(flatten)]
    knowledge: CandidateKnowledgeArgs,
    /// One JSON object per query line: {"query": {...}, "method": {...}, "demos": [...]}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SelectArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if args.text.as_deref().is_some_and(|text| text.trim().is_empty()) {
        let problem = "--text is empty: give a sentence to find demonstrations for";
        return Err(Error::InvalidInput(problem.into()).into());
    }
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
    let method = match &args.method.methods(&[Strategy::Knn])?[..] {
        [method] => method.clone(),
        _ => anyhow::bail!(Error::InvalidInput(
            "select takes one --strategy (`exemplar run` compares several)".into()
        )),
    };
    // Checked against the index before the model is loaded.
    method.check(&index, args.k)?;
    method.refuse_first_pass()?;
    let encoder = match method.needs_vector() {
        true => {
            let encoder = args.model.open()?;
            index.check_encoder(encoder.info(), &args.index)?;
            Some(Arc::new(encoder))
        }
        false => None,
    };
    let progress = bars(!quiet && queries.len() > 1);
    let resources = Resources {
        encoder: encoder.clone().map(|e| e as Arc<dyn Encoder>),
        knowledge: args.knowledge.load(&index, &args.index)?,
    };
    let selected = select(
        &index,
        &method,
        args.search.mode(),
        &queries,
        args.k,
        &resources,
        &*progress,
    )?;
    if let Some(encoder) = &encoder {
        let ids: Vec<&str> = queries.iter().map(|q| q.id.as_str()).collect();
        report_truncation(&ids, &selected.truncated, encoder.info().max_length);
    }
    warn_each(&selected.warnings);
    for selection in &selected.selections {
        if args.json {
            print_json(selection)?;
        } else {
            print_human(selection)?;
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

fn print_human(selection: &Selection) -> anyhow::Result<()> {
    print_line(format_args!("query: {}", selection.query.text))?;
    let method = &selection.method;
    let params: Vec<String> = method
        .params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let strategy = match params.is_empty() {
        true => method.strategy.to_string(),
        false => format!("{} {}", method.strategy, params.join(" ")),
    };
    print_line(format_args!(
        "{} demonstrations ({strategy}, {}):",
        selection.demos.len(),
        method.order
    ))?;
    for (i, demo) in selection.demos.iter().enumerate() {
        let score = demo
            .score
            .map(|s| format!("{s:.3}"))
            .unwrap_or_else(|| "  -  ".into());
        print_line(format_args!(
            "{:>3}. [{score}] {}  ({})",
            i + 1,
            inline(&demo.example),
            demo.example.id
        ))?;
    }
    print_line("")
}
