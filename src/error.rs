//! The one error type of the library. Every variant names the file (and line,
//! where there is one) and, where it helps, what to do about it.
//!
//! Variants are grouped by whose fault they are ([`Error::kind`]): the caller's
//! input, a damaged or incompatible index, the environment (model, runtime,
//! backend, disk), or exemplar itself. The command line turns the kind into
//! an exit code ([`Error::exit_code`]) and the server into an HTTP status, so
//! a fault of the server never reads as the client's mistake.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in exemplar, by cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A corpus file is malformed. `line` is 1-based where the problem has one.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Corpus {
        /// The corpus file.
        path: PathBuf,
        /// 1-based line, where the problem has one.
        line: Option<usize>,
        /// What is wrong and, where it helps, how to fix it.
        message: String,
    },

    /// A file of answers (batch output, predictions) is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Answers {
        /// The answers file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong with that line.
        message: String,
    },

    /// The sentence encoder's files or runtime library cannot be used.
    #[error("model {}: {message}", path.display())]
    Model {
        /// The model directory, model file or runtime library concerned.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// The sentence encoder failed while running (inference, tokenisation, its output).
    #[error("encoder {model}: {message}")]
    Encoder {
        /// The model's id.
        model: String,
        /// What failed.
        message: String,
    },

    /// An index on disk is damaged: a missing, truncated or altered file.
    #[error("index {} is damaged: {reason} (rebuild it with `exemplar index build`)", path.display())]
    IndexCorrupt {
        /// The index directory.
        path: PathBuf,
        /// What was found wrong.
        reason: String,
    },

    /// An index on disk is sound but cannot be used here: another format
    /// version, or built with another model than the one in use.
    #[error("index {} cannot be used: {reason}", path.display())]
    IndexIncompatible {
        /// The index directory.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },

    /// The generation backend failed (after its retries) or answered something unusable.
    #[error("backend {endpoint}: {message}")]
    Backend {
        /// The server's address.
        endpoint: String,
        /// What went wrong.
        message: String,
    },

    /// A request that cannot be carried out as asked (bad parameter values,
    /// empty queries): the caller's mistake.
    #[error("{0}")]
    InvalidInput(String),

    /// A fault of exemplar or of the machine it runs on, not of its input
    /// (serialisation, thread pools, a worker that died).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Whose fault an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input: a file, an argument, a request body.
    BadInput,
    /// An index on disk is damaged.
    Corrupt,
    /// An index on disk is sound but not usable with this version or model.
    Incompatible,
    /// The environment: a missing model or runtime, a backend that is down, a full disk.
    Environment,
    /// exemplar itself.
    Internal,
}

/// Exit code of a command that worked.
pub const EXIT_OK: u8 = 0;
/// Exit code of a check that was not met (`index verify --min-recall`, eval thresholds).
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code of bad input or usage (also clap's for a bad command line).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code of an internal or environment fault (missing model or runtime, backend down).
pub const EXIT_FAULT: u8 = 3;

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

    /// Whose fault this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { source, .. } => io_kind(source),
            Error::Corpus { .. } | Error::Answers { .. } | Error::InvalidInput(_) => ErrorKind::BadInput,
            Error::IndexCorrupt { .. } => ErrorKind::Corrupt,
            Error::IndexIncompatible { .. } => ErrorKind::Incompatible,
            Error::Model { .. } | Error::Encoder { .. } | Error::Backend { .. } => ErrorKind::Environment,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The documented exit code of the command line for this error:
    /// [`EXIT_BAD_INPUT`] for the caller's input (a damaged or incompatible
    /// index included: the caller named it), [`EXIT_FAULT`] otherwise.
    pub fn exit_code(&self) -> u8 {
        match self.kind() {
            ErrorKind::BadInput | ErrorKind::Corrupt | ErrorKind::Incompatible => EXIT_BAD_INPUT,
            ErrorKind::Environment | ErrorKind::Internal => EXIT_FAULT,
        }
    }
}

/// A missing, unreadable or malformed file is the caller's to fix; anything
/// else (a full disk, an interrupted device) is the environment's.
fn io_kind(error: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match error.kind() {
        Io::NotFound
        | Io::PermissionDenied
        | Io::AlreadyExists
        | Io::InvalidInput
        | Io::InvalidData
        | Io::IsADirectory
        | Io::NotADirectory
        | Io::DirectoryNotEmpty
        | Io::UnexpectedEof => ErrorKind::BadInput,
        _ => ErrorKind::Environment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_s_mistakes_exit_2_and_faults_exit_3() {
        let missing = Error::io("x.tsv", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(missing.exit_code(), EXIT_BAD_INPUT);
        assert_eq!(
            Error::corpus_at("x.tsv", 3, "bad tag").exit_code(),
            EXIT_BAD_INPUT
        );
        let corrupt = Error::IndexCorrupt {
            path: "i".into(),
            reason: "truncated".into(),
        };
        assert_eq!(corrupt.exit_code(), EXIT_BAD_INPUT);
        let model = Error::Model {
            path: "models/m".into(),
            message: "missing model.onnx".into(),
        };
        assert_eq!(model.exit_code(), EXIT_FAULT);
        assert_eq!(Error::Internal("pool".into()).exit_code(), EXIT_FAULT);
        let full = Error::io("out", std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(full.exit_code(), EXIT_FAULT);
    }
}
