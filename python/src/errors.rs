//! exemplar's errors as Python exceptions, and the one way native work runs
//! from Python ([`detached`]): without the GIL, so other Python threads go on,
//! and with panics caught, so none crosses into Python as an abort.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use exemplar::error::ErrorKind;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    exemplar,
    Error,
    PyException,
    "Every error exemplar raises; the message is the command line's."
);
create_exception!(
    exemplar,
    InvalidInput,
    Error,
    "The caller's mistake: a bad argument, file or parameter (the CLI's exit 2)."
);
create_exception!(
    exemplar,
    CorpusError,
    InvalidInput,
    "A malformed corpus file; `path` and `line` (1-based, or None) say where."
);
create_exception!(
    exemplar,
    AnswersError,
    InvalidInput,
    "A malformed predictions file; `path` and `line` say where."
);
create_exception!(
    exemplar,
    FileError,
    Error,
    "A file or directory that cannot be read or written; `path` names it."
);
create_exception!(
    exemplar,
    CorruptIndex,
    Error,
    "An index on disk is damaged (a missing, truncated or altered file); rebuild it."
);
create_exception!(
    exemplar,
    IncompatibleIndex,
    Error,
    "An index that is sound but cannot be used here (format version, model)."
);
create_exception!(
    exemplar,
    ModelMismatch,
    IncompatibleIndex,
    "The encoder given is not the one the index was built with."
);
create_exception!(
    exemplar,
    ModelError,
    Error,
    "The sentence encoder's files or ONNX Runtime cannot be used (e.g. no model)."
);
create_exception!(
    exemplar,
    EncoderError,
    Error,
    "The sentence encoder failed while running."
);
create_exception!(
    exemplar,
    BackendError,
    Error,
    "A generation backend failed or answered something unusable."
);
create_exception!(
    exemplar,
    InternalError,
    Error,
    "A fault of exemplar itself, a caught Rust panic included."
);

/// Why a call failed: an error of the library, or one the bindings name
/// more precisely than its variant does.
#[derive(Debug)]
pub enum Failure {
    /// An error of the library, raised as its class.
    Exemplar(exemplar::Error),
    /// The index refused the encoder given ([`ModelMismatch`]).
    ModelMismatch(exemplar::Error),
}

impl From<exemplar::Error> for Failure {
    fn from(error: exemplar::Error) -> Self {
        Failure::Exemplar(error)
    }
}

/// The result of native work.
pub type Outcome<T> = Result<T, Failure>;

/// Runs `work` with the GIL released; its error becomes the matching
/// exception, and a panic [`InternalError`].
pub fn detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> Outcome<T> + Send) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(work))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(failure)) => Err(raise(py, failure)),
        Err(panic) => Err(InternalError::new_err(format!(
            "internal error: exemplar panicked: {}",
            panic_message(panic.as_ref())
        ))),
    }
}

/// A library error as a Python exception of its class, with the CLI's message.
pub fn to_py(py: Python<'_>, error: exemplar::Error) -> PyErr {
    raise(py, Failure::Exemplar(error))
}

fn raise(py: Python<'_>, failure: Failure) -> PyErr {
    let error = match failure {
        Failure::ModelMismatch(error) => {
            return with_place(
                py,
                ModelMismatch::new_err(error.to_string()),
                path_of(&error),
                None,
            )
        }
        Failure::Exemplar(error) => error,
    };
    let message = error.to_string();
    let exception = match &error {
        exemplar::Error::Corpus { .. } => CorpusError::new_err(message),
        exemplar::Error::Answers { .. } => AnswersError::new_err(message),
        exemplar::Error::Io { .. } => FileError::new_err(message),
        exemplar::Error::IndexCorrupt { .. } => CorruptIndex::new_err(message),
        exemplar::Error::IndexIncompatible { .. } => IncompatibleIndex::new_err(message),
        exemplar::Error::Model { .. } => ModelError::new_err(message),
        exemplar::Error::Encoder { .. } => EncoderError::new_err(message),
        exemplar::Error::Backend { .. } => BackendError::new_err(message),
        _ => by_kind(error.kind(), message),
    };
    let line = match &error {
        exemplar::Error::Corpus { line, .. } => *line,
        exemplar::Error::Answers { line, .. } => Some(*line),
        _ => None,
    };
    with_place(py, exception, path_of(&error), line)
}

/// The class of a variant the bindings do not know by name.
fn by_kind(kind: ErrorKind, message: String) -> PyErr {
    match kind {
        ErrorKind::BadInput => InvalidInput::new_err(message),
        ErrorKind::Corrupt => CorruptIndex::new_err(message),
        ErrorKind::Incompatible => IncompatibleIndex::new_err(message),
        _ => InternalError::new_err(message),
    }
}

fn path_of(error: &exemplar::Error) -> Option<&Path> {
    match error {
        exemplar::Error::Io { path, .. }
        | exemplar::Error::Corpus { path, .. }
        | exemplar::Error::Answers { path, .. }
        | exemplar::Error::Model { path, .. }
        | exemplar::Error::IndexCorrupt { path, .. }
        | exemplar::Error::IndexIncompatible { path, .. } => Some(path),
        _ => None,
    }
}

/// Sets `path` (str or None) and `line` (int or None) on the exception.
fn with_place(py: Python<'_>, exception: PyErr, path: Option<&Path>, line: Option<usize>) -> PyErr {
    let value = exception.value(py);
    let path = path.map(|p| p.display().to_string());
    // Setting an attribute on a fresh exception instance cannot fail.
    let _ = value.setattr("path", path);
    let _ = value.setattr("line", line);
    exception
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Registers the exception classes on the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    macro_rules! add {
        ($($class:ident),+) => {
            $(module.add(stringify!($class), module.py().get_type::<$class>())?;)+
        };
    }
    add!(
        Error,
        InvalidInput,
        CorpusError,
        AnswersError,
        FileError,
        CorruptIndex,
        IncompatibleIndex,
        ModelMismatch,
        ModelError,
        EncoderError,
        BackendError,
        InternalError
    );
    Ok(())
}
