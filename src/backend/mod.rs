//! Text generation backends. A [`Backend`] turns a [`Request`] (a completion
//! prompt or chat messages, plus decoding parameters) into an [`Answer`]. It
//! knows nothing of NER; caching ([`Cached`]) wraps any backend from outside.
//!
//! Implementations: [`OpenAi`] (any OpenAI-compatible server: llama.cpp's
//! `llama-server`, vLLM, Ollama, hosted APIs) and [`Replay`] (answers written
//! elsewhere, read back from an OpenAI batch output file).

mod cache;
mod openai;
mod replay;

use serde::{Deserialize, Serialize};

pub use cache::{CacheStats, Cached};
pub use openai::{Api, OpenAi, OpenAiConfig};
pub use replay::{batch_request_line, Replay};

/// A chat message: the type prompts render, sent as it is.
pub use crate::prompt::Message;

use crate::digest::sha256_hex;
use crate::error::Result;

/// What the model is asked to continue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Input {
    /// A plain prompt for `/v1/completions` (base models).
    Completion(String),
    /// Messages for `/v1/chat/completions` (instruction-tuned models).
    Chat(Vec<Message>),
}

/// Decoding parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The model's name as the server knows it.
    pub model: String,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens the answer may have.
    pub max_tokens: usize,
    /// Sequences at which generation stops.
    pub stop: Vec<String>,
    /// Sampling seed; sent only when given.
    pub seed: Option<u64>,
    /// `Some(false)` sends `cache_prompt: false` (llama.cpp's server): the
    /// prompt is computed afresh instead of reusing the key-value cache of
    /// earlier requests, whose reuse makes temperature-0 answers depend on
    /// what was asked before. Sent only when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_prompt: Option<bool>,
}

/// A generation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The prompt or the chat messages.
    pub input: Input,
    /// How the answer is decoded.
    pub params: Params,
}

impl Request {
    /// A key that changes with everything that determines the answer: the
    /// backend's identity, the input and the parameters. Used by the cache and
    /// as the `custom_id` of batch requests.
    pub fn key(&self, backend: &str) -> String {
        let canonical = serde_json::json!({ "backend": backend, "request": self });
        sha256_hex(canonical.to_string().as_bytes())
    }
}

/// Token counts reported by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt (0 when the server reported usage without them).
    pub prompt_tokens: u64,
    /// Tokens generated (0 when the server reported usage without them).
    pub completion_tokens: u64,
}

/// A generated answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The text of the first choice, as generated.
    pub text: String,
    /// Token counts, when the server reported them.
    pub usage: Option<Usage>,
}

/// A text generation service.
pub trait Backend: Send + Sync {
    /// Identifies the service and model for cache keys (never contains secrets).
    fn id(&self) -> String;

    /// Generates one answer.
    fn generate(&self, request: &Request) -> Result<Answer>;
}
