//! The one error type of the library. Every variant names the file (and line,
//! where there is one) and, where it helps, what to do about it.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in exemplar, by cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A corpus file is malformed. `line` is 1-based where the problem has one.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Corpus {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },

    /// The sentence encoder (its files, its runtime or its output) failed.
    #[error("model {path}: {message}")]
    Model { path: PathBuf, message: String },

    /// An index on disk is damaged: a missing, truncated or altered file.
    #[error("index {path} is damaged: {reason} (rebuild it with `exemplar index build`)")]
    IndexCorrupt { path: PathBuf, reason: String },

    /// An index on disk is sound but cannot be used here: another format
    /// version, or built with another model than the one in use.
    #[error("index {path} cannot be used: {reason}")]
    IndexIncompatible { path: PathBuf, reason: String },

    /// The generation backend failed (after its retries) or answered something unusable.
    #[error("backend {endpoint}: {message}")]
    Backend { endpoint: String, message: String },

    /// A request that cannot be carried out as asked (bad parameter values).
    #[error("{0}")]
    InvalidInput(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A corpus error at a given 1-based line.
    pub fn corpus_at(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Error::Corpus {
            path: path.into(),
            line: Some(line),
            message: message.into(),
        }
    }

    /// A corpus error about the whole file.
    pub fn corpus(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Corpus {
            path: path.into(),
            line: None,
            message: message.into(),
        }
    }
}
