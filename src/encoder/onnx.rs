//! [`OnnxEncoder`]: a local ONNX sentence encoder run by fastembed on ONNX
//! Runtime, loaded from a shared library chosen at run time (no download).

use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use fastembed::{InitOptionsUserDefined, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};
use ort::environment::Environment;
use rayon::prelude::*;
use tokenizers::Tokenizer;

use super::{Embeddings, Encoder, EncoderInfo, ModelDir, Pooling, Truncation};
use crate::error::{Error, Result};

/// Sentences per ONNX Runtime call. fastembed pads a batch to its longest
/// sentence, so batches are formed from sentences sorted by length and kept
/// small, so that a long sentence pads few short ones; the batches of one call
/// run in parallel on the session pool. (At 32 a 32-sentence request cost more
/// per sentence than 32 single ones.)
const BATCH_SIZE: usize = 8;

/// A sentence encoder over a pool of ONNX Runtime sessions. fastembed's
/// `embed` needs `&mut self`; the pool lets concurrent callers run in
/// parallel instead of queueing behind one lock.
pub struct OnnxEncoder {
    info: EncoderInfo,
    sessions: SessionPool,
    /// Without truncation, to measure how long each sentence really is.
    tokenizer: Tokenizer,
}

/// Loads the ONNX Runtime library once per process; later calls reuse it (ONNX
/// Runtime cannot be loaded twice from different files).
fn load_onnxruntime(library: &Path) -> Result<Environment> {
    static LOADED: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();
    let loaded = LOADED.get_or_init(|| {
        if !library.is_file() {
            return Err(format!(
                "{} does not exist; run scripts/setup.sh or set ORT_DYLIB_PATH",
                library.display()
            ));
        }
        ort::init_from(library)
            .map_err(|e| format!("cannot load {}: {e}", library.display()))?
            .with_name("exemplar")
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime from {}: {e}", library.display()))
    });
    loaded.clone().map_err(|message| Error::Model {
        path: library.to_path_buf(),
        message,
    })
}

impl OnnxEncoder {
    /// Opens the model in `model` with `sessions` parallel sessions of
    /// `threads_per_session` ONNX Runtime threads each (0: all cores).
    pub fn new(
        model: ModelDir,
        ort_library: &Path,
        sessions: usize,
        threads_per_session: usize,
    ) -> Result<Self> {
        let environment = load_onnxruntime(ort_library)?;
        let model_error = |message: String| Error::Model {
            path: model.path.clone(),
            message,
        };
        let files = TokenizerFiles {
            tokenizer_file: model.tokenizer.clone(),
            config_file: model.config.clone(),
            special_tokens_map_file: model.special_tokens_map.clone(),
            tokenizer_config_file: model.tokenizer_config.clone(),
        };
        let pooling = match model.info.pooling {
            Pooling::Mean => fastembed::Pooling::Mean,
            Pooling::Cls => fastembed::Pooling::Cls,
        };
        let user_model = UserDefinedEmbeddingModel::new(model.onnx.clone(), files).with_pooling(pooling);
        let mut options = InitOptionsUserDefined::new()
            .with_environment(environment)
            .with_max_length(model.info.max_length);
        if threads_per_session > 0 {
            options = options.with_intra_threads(threads_per_session);
        }
        let sessions = (0..sessions.max(1))
            .map(|_| {
                TextEmbedding::try_new_from_user_defined(user_model.clone(), options.clone())
                    .map_err(|e| model_error(format!("cannot load the ONNX model: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        // A session is held while fastembed tokenises its batch; with the
        // tokenizer's rayon parallelism on, the holder could steal another
        // batch's job while it waits and block on the pool forever (see
        // `SessionPool`). Batches are small and already run in parallel.
        tokenizers::utils::parallelism::set_parallelism(false);
        let mut tokenizer = Tokenizer::from_bytes(&model.tokenizer)
            .map_err(|e| model_error(format!("invalid tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| model_error(format!("tokenizer: {e}")))?;
        tokenizer.with_padding(None);

        let mut encoder = OnnxEncoder {
            info: model.info,
            sessions: SessionPool::new(sessions),
            tokenizer,
        };
        let probe = encoder.run_batch(&["dimension probe"])?;
        encoder.info.dimension = probe.first().map_or(0, Vec::len);
        if encoder.info.dimension == 0 {
            return Err(model_error("the model returned an empty vector".into()));
        }
        Ok(encoder)
    }

    /// Opens a model directory with one session using all cores.
    pub fn open(
        model_dir: &Path,
        overrides: &super::ModelOverrides,
        ort_library: Option<&Path>,
    ) -> Result<Self> {
        let model = ModelDir::open(model_dir, overrides)?;
        let library = ModelDir::onnxruntime_library(ort_library)?;
        Self::new(model, &library, 1, 0)
    }

    /// Word pieces of `text`, special tokens included, before truncation.
    fn token_count(&self, text: &str) -> Result<usize> {
        self.tokenizer
            .encode(text, true)
            .map(|encoding| encoding.len())
            .map_err(|e| Error::Encoder {
                model: self.info.id.clone(),
                message: format!("cannot tokenise {text:?}: {e}"),
            })
    }

    /// Runs one batch on whichever session is free (or waits for one).
    fn run_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut checkout = self.sessions.checkout();
        checkout
            .session
            .embed(texts, Some(texts.len()))
            .map_err(|e| Error::Encoder {
                model: self.info.id.clone(),
                message: format!("inference failed: {e}"),
            })
    }
}

/// The sessions, handed out one per batch to whichever caller asks while one
/// is free; further callers wait until one is given back.
///
/// The batches of one call run on rayon's pool, so a caller may be a rayon
/// worker. A worker waiting for a session must only ever wait for holders
/// that make progress by themselves: a holder that entered rayon (a `join`
/// in fastembed's tokenizer) could, while waiting there, steal another
/// batch's job and block on a session that it, or another such holder,
/// holds: every request then timed out under sustained load. So a session is
/// never held across a rayon call: the tokenizer runs serially (set in
/// [`OnnxEncoder::new`]), ONNX Runtime uses its own threads, and the pool's
/// own lock is held only to take or give back a slot.
struct SessionPool {
    sessions: Vec<Mutex<TextEmbedding>>,
    /// Indexes of the sessions nobody holds.
    free: Mutex<Vec<usize>>,
    given_back: Condvar,
}

/// A session held for one batch; given back when dropped.
struct Checkout<'a> {
    session: MutexGuard<'a, TextEmbedding>,
    /// Dropped after `session` is unlocked, so a freed slot's session is free.
    _slot: Slot<'a>,
}

struct Slot<'a> {
    pool: &'a SessionPool,
    index: usize,
}

impl SessionPool {
    fn new(sessions: Vec<TextEmbedding>) -> Self {
        SessionPool {
            free: Mutex::new((0..sessions.len()).collect()),
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            given_back: Condvar::new(),
        }
    }

    /// A free session, waiting for one to be given back if none is.
    fn checkout(&self) -> Checkout<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let index = loop {
            match free.pop() {
                Some(index) => break index,
                None => free = self.given_back.wait(free).unwrap_or_else(PoisonError::into_inner),
            }
        };
        drop(free);
        let slot = Slot { pool: self, index };
        // Uncontended: only the holder of a slot locks its session.
        let session = self.sessions[slot.index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Checkout { session, _slot: slot }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut free = self.pool.free.lock().unwrap_or_else(PoisonError::into_inner);
        free.push(self.index);
        drop(free);
        self.pool.given_back.notify_one();
    }
}

impl Encoder for OnnxEncoder {
    fn info(&self) -> &EncoderInfo {
        &self.info
    }

    fn embed(&self, texts: &[&str]) -> Result<Embeddings> {
        let lengths = texts
            .iter()
            .map(|t| self.token_count(t))
            .collect::<Result<Vec<_>>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| lengths[i]);

        let batches: Vec<&[usize]> = order.chunks(BATCH_SIZE).collect();
        let embedded = batches
            .par_iter()
            .map(|batch| self.run_batch(&batch.iter().map(|&i| texts[i]).collect::<Vec<_>>()))
            .collect::<Result<Vec<_>>>()?;
        let mut vectors = vec![Vec::new(); texts.len()];
        for (batch, batch_vectors) in batches.iter().zip(embedded) {
            for (&i, vector) in batch.iter().zip(batch_vectors) {
                vectors[i] = vector;
            }
        }
        let truncated = lengths
            .iter()
            .enumerate()
            .filter(|(_, &tokens)| tokens > self.info.max_length)
            .map(|(position, &tokens)| Truncation { position, tokens })
            .collect();
        Ok(Embeddings { vectors, truncated })
    }
}
