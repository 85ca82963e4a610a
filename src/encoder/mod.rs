//! Sentence encoders: text in, one L2-normalised vector per sentence out.
//!
//! The [`Encoder`] trait is all the rest of exemplar sees, so a new model
//! family is a new file here. [`OnnxEncoder`] runs any local ONNX sentence
//! encoder through fastembed / ONNX Runtime; [`ModelDir`] finds and describes
//! its files (pooling and maximum length come from the directory's config).

mod checkpoint;
mod hashed;
mod model;
mod onnx;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::vectors::Vectors;
use checkpoint::{Checkpoint, Cut};

use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use hashed::HashedEncoder;
pub use model::{default_models_dir, ModelDir, ModelOverrides, DEFAULT_MODEL_NAME};
pub use onnx::OnnxEncoder;

crate::named! {
    /// How token vectors become one sentence vector.
    pub enum Pooling: "pooling" {
        /// Average of the token vectors under the attention mask (sentence-transformers' default).
        Mean => "mean",
        /// The vector of the first (`[CLS]`) token.
        Cls => "cls",
    }
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
    /// Entries per vector.
    pub dimension: usize,
    /// How token vectors become the sentence vector.
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
    /// One unit vector per sentence.
    pub vectors: Vec<Vec<f32>>,
    /// The sentences cut to the model's maximum length.
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
/// With a `checkpoint` directory, finished chunks are kept there and a rerun
/// over the same sentences and model starts after them; the caller removes
/// the directory once the result is stored. Returns the vectors in input order.
pub fn embed_all(
    encoder: &dyn Encoder,
    texts: &[&str],
    checkpoint: Option<&Path>,
    mut progress: impl FnMut(usize),
) -> Result<Embedded> {
    let dim = encoder.info().dimension;
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let (mut saved, done) = match checkpoint {
        Some(dir) => {
            let (saved, done) = Checkpoint::open(dir, &work_key(encoder.info(), texts), dim)?;
            (Some(saved), done)
        }
        None => (None, Default::default()),
    };
    let resumed = done.rows.len();
    let mut processed: Vec<Vec<f32>> = done.rows;
    let mut cuts = done.truncated;
    progress(processed.len());
    while processed.len() < order.len() {
        let chunk = &order[processed.len()..(processed.len() + CHUNK).min(order.len())];
        let chunk_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let embeddings = encoder.embed(&chunk_texts)?;
        let new_cuts: Vec<Cut> = embeddings
            .truncated
            .iter()
            .map(|t| Cut {
                processed: processed.len() + t.position,
                tokens: t.tokens,
            })
            .collect();
        if let Some(saved) = saved.as_mut() {
            saved.record(&embeddings.vectors, &new_cuts)?;
        }
        cuts.extend(new_cuts);
        processed.extend(embeddings.vectors);
        progress(chunk.len());
    }
    let mut rows = vec![Vec::new(); texts.len()];
    for (&i, row) in order.iter().zip(processed) {
        rows[i] = row;
    }
    let mut truncated: Vec<Truncation> = cuts
        .iter()
        .map(|c| Truncation {
            position: order[c.processed],
            tokens: c.tokens,
        })
        .collect();
    truncated.sort_by_key(|t| t.position);
    let mut vectors = Vectors::new(dim);
    for row in &rows {
        if row.len() != dim {
            return Err(crate::error::Error::Encoder {
                model: encoder.info().id.clone(),
                message: format!("returned a vector of {} values, expected {dim}", row.len()),
            });
        }
        vectors.push(row);
    }
    Ok(Embedded {
        vectors,
        truncated,
        resumed,
    })
}

/// The result of [`embed_all`].
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    /// One row per sentence, in input order.
    pub vectors: Vectors,
    /// Sentences cut to the model's maximum length.
    pub truncated: Vec<Truncation>,
    /// Sentences whose vectors came from the checkpoint of an interrupted run.
    pub resumed: usize,
}

/// Identifies an embedding job: the encoder and the sentences, in order.
fn work_key(info: &EncoderInfo, texts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(info).unwrap_or_default());
    for text in texts {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Deterministic vectors from the text; fails after `budget` sentences.
    struct Counting {
        info: EncoderInfo,
        embedded: AtomicUsize,
        budget: usize,
    }

    impl Counting {
        fn new(budget: usize) -> Self {
            let info = EncoderInfo {
                id: "counting".into(),
                sha256: String::new(),
                tokenizer_sha256: String::new(),
                dimension: 2,
                pooling: Pooling::Mean,
                max_length: 4,
            };
            Counting {
                info,
                embedded: AtomicUsize::new(0),
                budget,
            }
        }
    }

    impl Encoder for Counting {
        fn info(&self) -> &EncoderInfo {
            &self.info
        }
        fn embed(&self, texts: &[&str]) -> Result<Embeddings> {
            if self.embedded.fetch_add(texts.len(), Ordering::SeqCst) + texts.len() > self.budget {
                return Err(crate::error::Error::InvalidInput("interrupted".into()));
            }
            let vectors = texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect();
            let truncated = texts
                .iter()
                .enumerate()
                .filter(|(_, t)| t.len() > 4)
                .map(|(position, t)| Truncation {
                    position,
                    tokens: t.len(),
                })
                .collect();
            Ok(Embeddings { vectors, truncated })
        }
    }

    #[test]
    fn an_interrupted_run_resumes_after_its_last_finished_chunk() {
        let owned: Vec<String> = (0..700).map(|i| "x".repeat(i % 9 + 1)).collect();
        let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = dir.path().join("partial");
        let interrupted = Counting::new(2 * CHUNK + 10);
        assert!(embed_all(&interrupted, &texts, Some(&checkpoint), |_| {}).is_err());

        let resumed = Counting::new(usize::MAX);
        let result = embed_all(&resumed, &texts, Some(&checkpoint), |_| {}).unwrap();
        assert_eq!(
            resumed.embedded.load(Ordering::SeqCst),
            700 - 2 * CHUNK,
            "only the unfinished chunks"
        );
        assert_eq!(result.resumed, 2 * CHUNK);
        let expected = embed_all(&Counting::new(usize::MAX), &texts, None, |_| {}).unwrap();
        assert_eq!(result.vectors, expected.vectors);
        assert_eq!(result.truncated, expected.truncated);
        assert!(!result.truncated.is_empty());

        let other = ["another corpus"];
        let fresh = Counting::new(usize::MAX);
        embed_all(&fresh, &other, Some(&checkpoint), |_| {}).unwrap();
        assert_eq!(
            fresh.embedded.load(Ordering::SeqCst),
            1,
            "a checkpoint of other work is discarded"
        );
    }
}
