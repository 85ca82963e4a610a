//! Between Python values and the library's: results go out as the Python
//! objects their JSON reads as (the library's serde types define the shape
//! once, and numbers are those `--json` prints), arguments come in as texts,
//! paths and names.

use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use serde::Serialize;

use crate::errors::InvalidInput;

/// `value` as the JSON `exemplar ... --json` prints for it. Pure Rust: run
/// it without the GIL.
pub fn to_json<T: Serialize>(value: &T) -> exemplar::Result<String> {
    serde_json::to_string(value)
        .map_err(|e| exemplar::Error::Internal(format!("cannot serialise a result: {e}")))
}

/// JSON as Python objects (dicts, lists, str, int, float, None), read by
/// Python's own `json.loads`: f32 scores keep the digits the command line
/// prints (not those of a widening to f64), and the C decoder makes the
/// thousands of dicts of a batch three times faster than a serde
/// serializer into Python objects did.
pub fn to_python<'py>(py: Python<'py>, json: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (json,))
}

/// A Python value (dicts, lists, numbers, str) read as a library type; a
/// mismatch is the caller's [`InvalidInput`], naming `what`.
pub fn from_python<T: serde::de::DeserializeOwned>(value: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    pythonize::depythonize(value).map_err(|e| InvalidInput::new_err(format!("{what}: {e}")))
}

/// One text or a sequence of texts, as given.
pub enum Texts {
    /// A single `str`: the answer is for it alone.
    One(String),
    /// A list (or other sequence) of `str`: one answer each.
    Many(Vec<String>),
}

impl Texts {
    /// Reads a `str` or a sequence of `str`.
    pub fn extract(value: &Bound<'_, PyAny>) -> PyResult<Texts> {
        if value.is_instance_of::<PyString>() {
            return Ok(Texts::One(value.extract()?));
        }
        value
            .extract::<Vec<String>>()
            .map(Texts::Many)
            .map_err(|_| PyTypeError::new_err("expected a str or a sequence of str"))
    }

    /// The texts, one for [`Texts::One`].
    pub fn all(&self) -> &[String] {
        match self {
            Texts::One(text) => std::slice::from_ref(text),
            Texts::Many(texts) => texts,
        }
    }
}

/// One path or a sequence of paths (`str` or `os.PathLike`).
pub fn paths(value: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Ok(path) = value.extract::<PathBuf>() {
        return Ok(vec![path]);
    }
    value
        .extract::<Vec<PathBuf>>()
        .map_err(|_| PyTypeError::new_err("expected a path or a sequence of paths"))
}

/// A closed choice (strategy, format, order ...) by its name; an unknown
/// name is [`InvalidInput`] listing the names there are.
pub fn named<T: exemplar::names::Named>(py: Python<'_>, name: &str) -> PyResult<T> {
    T::from_name(name).map_err(|e| crate::errors::to_py(py, e))
}
