//! `exemplar.Encoder`: the sentence encoder, found as the command line finds it.

use std::path::PathBuf;
use std::sync::Arc;

use exemplar::encoder::{default_models_dir, ModelDir, ModelOverrides, Pooling, DEFAULT_MODEL_NAME};
use exemplar::progress::bars;
use exemplar::{Encoder as _, OnnxEncoder};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;

use crate::convert::{named, to_json, to_python, Texts};
use crate::errors::{detached, InternalError};

/// A sentence encoder: an ONNX model directory run by ONNX Runtime.
#[pyclass(module = "exemplar", frozen)]
pub struct Encoder {
    pub inner: Arc<OnnxEncoder>,
}

/// The model directory the command line would use: `model_dir`, else
/// `$EXEMPLAR_MODEL` (the CLI's `--model` variable), else the default model
/// under `$EXEMPLAR_MODELS` or `models/`.
fn model_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("EXEMPLAR_MODEL").map(PathBuf::from))
        .unwrap_or_else(|| default_models_dir().join(DEFAULT_MODEL_NAME))
}

/// Parallel sessions by default: one a core, one thread each (as `exemplar
/// serve`), so that concurrent Python threads encode side by side.
fn default_sessions() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Encoder {
    /// The default encoder (as `Encoder()`), for an index given none.
    pub fn open_default() -> exemplar::Result<Arc<OnnxEncoder>> {
        open(None, None, default_sessions(), 1, ModelOverrides::default())
    }
}

fn open(
    model_dir_given: Option<PathBuf>,
    ort_lib: Option<PathBuf>,
    sessions: usize,
    threads: usize,
    overrides: ModelOverrides,
) -> exemplar::Result<Arc<OnnxEncoder>> {
    let model = ModelDir::open(&model_dir(model_dir_given), &overrides)?;
    let library = ModelDir::onnxruntime_library(ort_lib.as_deref())?;
    Ok(Arc::new(OnnxEncoder::new(model, &library, sessions, threads)?))
}

#[pymethods]
impl Encoder {
    /// Opens a model directory (default: `$EXEMPLAR_MODEL`, else
    /// `all-MiniLM-L6-v2` under `$EXEMPLAR_MODELS` or `models/`), with
    /// `sessions` parallel ONNX Runtime sessions (default: one a core) of
    /// `threads` threads each (0: all cores).
    #[new]
    #[pyo3(signature = (model_dir=None, *, ort_lib=None, sessions=None, threads=1, pooling=None, max_length=None))]
    fn new(
        py: Python<'_>,
        model_dir: Option<PathBuf>,
        ort_lib: Option<PathBuf>,
        sessions: Option<usize>,
        threads: usize,
        pooling: Option<&str>,
        max_length: Option<usize>,
    ) -> PyResult<Self> {
        let overrides = ModelOverrides {
            pooling: pooling.map(|name| named::<Pooling>(py, name)).transpose()?,
            max_length,
            id: None,
        };
        let sessions = sessions.unwrap_or_else(default_sessions);
        let inner = detached(py, || Ok(open(model_dir, ort_lib, sessions, threads, overrides)?))?;
        Ok(Encoder { inner })
    }

    /// Entries per vector.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.info().dimension
    }

    /// The model's name, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    #[getter]
    fn model_id(&self) -> String {
        self.inner.info().id.clone()
    }

    /// What identifies the vectors (id, checksums, pooling, maximum length,
    /// dimension), as an index's manifest records it under `model`.
    #[getter]
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = detached(py, || Ok(to_json(self.inner.info())?))?;
        to_python(py, &json)
    }

    /// Unit vectors of `texts`: float32 of shape (n, dim) for a sequence,
    /// (dim,) for one str. The GIL is released while encoding.
    #[pyo3(signature = (texts, *, progress=false))]
    fn embed<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        progress: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let texts = Texts::extract(texts)?;
        let dim = self.dim();
        let flat = detached(py, || {
            let all: Vec<&str> = texts.all().iter().map(String::as_str).collect();
            let embedded = exemplar::pipeline::embed(self.inner.as_ref(), &all, &*bars(progress))?;
            Ok(embedded.vectors.as_flat().to_vec())
        })?;
        let rows = flat.len() / dim.max(1);
        let matrix = Array2::from_shape_vec((rows, dim), flat)
            .map_err(|e| InternalError::new_err(format!("internal error: {e}")))?;
        let array: Bound<'py, PyArray2<f32>> = matrix.into_pyarray(py);
        match texts {
            Texts::One(_) => Ok(array.call_method1("reshape", (dim,))?),
            Texts::Many(_) => Ok(array.into_any()),
        }
    }

    fn __repr__(&self) -> String {
        format!("Encoder({:?}, dim={})", self.inner.info().id, self.dim())
    }
}
