//! `exemplar embed`: sentences to a `.npy` matrix, one row per sentence.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CorpusArgs, ModelArgs};
use exemplar::encoder::Encoder;
use exemplar::pipeline::embed;
use exemplar::progress::bars;

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Input file (one sentence a line for --format text).
    #[arg(long)]
    input: PathBuf,
    #[command(flatten)]
    corpus: CorpusArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Output .npy file (float32, row-major).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: EmbedArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let corpus = args.corpus.read(&[&args.input])?;
    let encoder = args.model.open()?;
    let texts: Vec<&str> = corpus.sentences.iter().map(|s| s.text.as_str()).collect();
    let embedded = embed(&encoder, &texts, &*bars(!quiet))?;
    let (vectors, truncated) = (embedded.vectors, embedded.truncated);
    super::report_truncation(
        &super::sentence_ids(&corpus),
        &truncated,
        encoder.info().max_length,
    );
    exemplar::index::write_file_atomically(&args.out, &vectors.to_npy_bytes())?;
    if !quiet {
        eprintln!(
            "wrote {} vectors of {} dimensions to {}",
            vectors.len(),
            vectors.dim(),
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
