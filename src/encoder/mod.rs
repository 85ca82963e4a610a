//! Sentence encoders: text in, one L2-normalised vector per sentence out.
//!
//! The [`Encoder`] trait is all the rest of exemplar sees, so a new model
//! family is a new file here. [`OnnxEncoder`] runs any local ONNX sentence
//! encoder through fastembed / ONNX Runtime; [`ModelDir`] finds and describes
//! its files (pooling and maximum length come from the directory's config).

mod model;
mod onnx;

use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use model::{sha256_hex, default_models_dir, ModelDir, ModelOverrides, DEFAULT_MODEL_NAME};
pub use onnx::OnnxEncoder;

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Average of the token vectors under the attention mask (sentence-transformers' default).
    Mean,
    /// The vector of the first (`[CLS]`) token.
    Cls,
}

/// What identifies the vectors an encoder produces: two encoders with equal
/// `EncoderInfo` give the same vectors, so an index records it and refuses
/// queries encoded differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncoderInfo {
    /// Model name, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    pub id: String,
    /// sha256 of the ONNX graph file.
    pub sha256: String,
    /// sha256 of `tokenizer.json`.
    pub tokenizer_sha256: String,
    pub dimension: usize,
    pub pooling: Pooling,
    /// Longest input in word pieces (special tokens included); longer sentences are truncated.
    pub max_length: usize,
}

/// A sentence that did not fit the model's maximum length and was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Position of the sentence in the batch given to [`Encoder::embed`].
    pub position: usize,
    /// Its length in word pieces before truncation.
    pub tokens: usize,
}

/// Vectors for a batch of sentences, in input order, plus what was truncated.
#[derive(Debug, Clone, Default)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub truncated: Vec<Truncation>,
}

/// A sentence encoder. Implementations are shared between threads: `embed`
/// takes `&self` and may be called concurrently.
pub trait Encoder: Send + Sync {
    /// What identifies this encoder's vectors.
    fn info(&self) -> &EncoderInfo;

    /// Embeds `texts` in order; every vector has `info().dimension` entries and unit length.
    fn embed(&self, texts: &[&str]) -> Result<Embeddings>;
}

/// Sentences handed to [`Encoder::embed`] at a time by [`embed_all`]: large
/// enough to batch well, small enough to bound memory and report progress.
const CHUNK: usize = 256;

/// Embeds any number of sentences in chunks, shortest first (so each chunk
/// pads little), calling `progress` with the count done after each chunk.
/// Returns the vectors in input order.
pub fn embed_all(
    encoder: &dyn Encoder,
    texts: &[&str],
    mut progress: impl FnMut(usize),
) -> Result<(crate::index::Vectors, Vec<Truncation>)> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let mut rows = vec![Vec::new(); texts.len()];
    let mut truncated = Vec::new();
    for chunk in order.chunks(CHUNK) {
        let chunk_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let embeddings = encoder.embed(&chunk_texts)?;
        truncated.extend(embeddings.truncated.into_iter().map(|t| Truncation {
            position: chunk[t.position],
            tokens: t.tokens,
        }));
        for (&i, vector) in chunk.iter().zip(embeddings.vectors) {
            rows[i] = vector;
        }
        progress(chunk.len());
    }
    truncated.sort_by_key(|t| t.position);
    let mut vectors = crate::index::Vectors::new(encoder.info().dimension);
    for row in &rows {
        if row.len() != vectors.dim() {
            return Err(crate::error::Error::Model {
                path: encoder.info().id.clone().into(),
                message: format!("returned a vector of {} values, expected {}", row.len(), vectors.dim()),
            });
        }
        vectors.push(row);
    }
    Ok((vectors, truncated))
}
