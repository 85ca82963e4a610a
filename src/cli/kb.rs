//! `exemplar kb`: knowledge sources on their own, e.g. `kb match` shows the
//! terms a sentence's hints would come from.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{print_json, print_line, CorpusArgs};
use exemplar::knowledge::{Knowledge, Match, SourceInfo, SourceSpec};
use exemplar::Index;

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Find the terms of knowledge sources in a sentence (or a corpus): each
    /// match with its type or category and definition, as prompts' hints show them.
    Match(MatchArgs),
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Knowledge sources, comma-separated: `gazetteer` (the --index's annotations),
    /// `hpo` (scripts/hpo.sh), or a .obo, .tsv (term, type, definition) or .jsonl file.
    #[arg(long, value_name = "SOURCES")]
    knowledge: String,
    /// Index whose annotations the `gazetteer` source reads.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The sentence to search.
    #[arg(long, required_unless_present = "input", conflicts_with = "input")]
    text: Option<String>,
    /// A corpus whose sentences to search, one result per sentence.
    #[arg(long)]
    input: Option<PathBuf>,
    #[command(flatten)]
    corpus: CorpusArgs,
    /// Print JSON: for --text one object with the matches and the sources,
    /// for --input one line per sentence.
    #[arg(long)]
    json: bool,
}

/// `kb match --text ... --json`: the shape other tools read.
#[derive(Serialize)]
struct TextMatches<'a> {
    text: &'a str,
    matches: Vec<Match>,
    sources: Vec<SourceInfo>,
}

/// One line of `kb match --input ... --json`.
#[derive(Serialize)]
struct SentenceMatches<'a> {
    id: &'a str,
    text: &'a str,
    matches: Vec<Match>,
}

pub fn run(command: KbCommand, quiet: bool) -> anyhow::Result<ExitCode> {
    match command {
        KbCommand::Match(args) => run_match(args, quiet),
    }
}

fn run_match(args: MatchArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let specs = SourceSpec::parse_list(&args.knowledge)?;
    let started = Instant::now();
    let knowledge = load(&specs, args.index.as_deref())?;
    let loaded = started.elapsed();
    for source in knowledge.sources() {
        eprintln!("source {}", source.notice());
    }
    if let Some(text) = &args.text {
        let matches = knowledge.find(text);
        if args.json {
            print_json(&TextMatches {
                text,
                matches,
                sources: knowledge.sources(),
            })?;
        } else {
            for m in &matches {
                print_line(m.hint_line())?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(input) = &args.input else {
        anyhow::bail!("give --text or --input");
    };
    let corpus = args.corpus.read(&[input])?;
    let mut found = 0;
    for sentence in &corpus.sentences {
        let matches = knowledge.find(&sentence.text);
        found += matches.len();
        if args.json {
            print_json(&SentenceMatches {
                id: &sentence.id,
                text: &sentence.text,
                matches,
            })?;
        } else {
            for m in &matches {
                print_line(format!("{}\t{}", sentence.id, m.hint_line()))?;
            }
        }
    }
    if !quiet {
        let sentences = corpus.sentences.len();
        eprintln!(
            "{found} matches in {sentences} sentences ({:.2} a sentence); {} names looked for, loaded in {:.2} s",
            found as f64 / sentences.max(1) as f64,
            knowledge.patterns(),
            loaded.as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The sources `specs` name; the gazetteer's index is opened only when asked for.
fn load(specs: &[SourceSpec], index: Option<&Path>) -> anyhow::Result<Knowledge> {
    let opened = match index {
        Some(dir) if specs.contains(&SourceSpec::Gazetteer) => Some((Index::open(dir)?, dir)),
        _ => None,
    };
    let index = opened.as_ref().map(|(index, dir)| (index, *dir));
    Ok(Knowledge::load(specs, index)?)
}
