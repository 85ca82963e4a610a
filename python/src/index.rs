//! `exemplar.Index`: build, open, inspect, search and select, as `exemplar
//! index build|info` and `exemplar select --json` do.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use exemplar::corpus::{self, Example, Format, ReadOptions, TagScheme};
use exemplar::index::Vectors;
use exemplar::index::{check_replaceable, BuildOptions, HnswParams, SearchMode, DEFAULT_EF_SEARCH};
use exemplar::pipeline::{self, Selected};
use exemplar::progress::bars;
use exemplar::select::{Filters, Method, Order, Params, Strategy, DEFAULT_K, DEFAULT_SEED};
use exemplar::{Encoder as _, OnnxEncoder};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyIndexError, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rayon::prelude::*;

use crate::convert::{from_python, named, paths, to_json, to_python, Texts};
use crate::encoder::Encoder;
use crate::errors::{detached, to_py, Failure, InternalError, InvalidInput, Outcome};

/// A demonstration index on disk, opened: its sentences, vectors and graph.
#[pyclass(module = "exemplar", frozen)]
pub struct Index {
    index: exemplar::Index,
    path: PathBuf,
    /// The index's encoder: given at open or build, else the default model
    /// opened (and checked) on first need.
    encoder: OnceLock<Arc<OnnxEncoder>>,
}

impl Index {
    /// `index` with `encoder` when given, after checking that its vectors
    /// are the index's ([`Failure::ModelMismatch`] if not).
    fn new(index: exemplar::Index, path: PathBuf, encoder: Option<Arc<OnnxEncoder>>) -> Outcome<Index> {
        let cell = OnceLock::new();
        if let Some(encoder) = encoder {
            index
                .check_encoder(encoder.info(), &path)
                .map_err(Failure::ModelMismatch)?;
            let _ = cell.set(encoder);
        }
        Ok(Index {
            index,
            path,
            encoder: cell,
        })
    }

    /// The encoder, opening the default one the first time (concurrent first
    /// callers may each open one; the first stored wins).
    fn encoder(&self) -> Outcome<&Arc<OnnxEncoder>> {
        if let Some(encoder) = self.encoder.get() {
            return Ok(encoder);
        }
        let opened = Encoder::open_default()?;
        self.index
            .check_encoder(opened.info(), &self.path)
            .map_err(Failure::ModelMismatch)?;
        Ok(self.encoder.get_or_init(|| opened))
    }

    /// Selections for `queries` by `method`, embedding them unless `vectors` are given.
    fn selected(
        &self,
        method: &Method,
        mode: SearchMode,
        queries: &[Example],
        k: usize,
        vectors: Option<&Vectors>,
        progress: bool,
    ) -> Outcome<Selected> {
        let index = &self.index;
        if vectors.is_some() || !method.needs_vector() {
            let resources = exemplar::select::Resources {
                encoder: self
                    .encoder
                    .get()
                    .map(|e| e.clone() as Arc<dyn exemplar::Encoder>),
                knowledge: None,
            };
            return Ok(pipeline::select_embedded(
                index, method, mode, queries, k, vectors, &resources,
            )?);
        }
        method.check(index, k)?; // before the model is loaded
        let resources = exemplar::select::Resources {
            encoder: Some(self.encoder()?.clone()),
            knowledge: None,
        };
        Ok(pipeline::select(
            index,
            method,
            mode,
            queries,
            k,
            &resources,
            &*bars(progress && queries.len() > 1),
        )?)
    }
}

/// The query examples: one text has id `text` (as `exemplar select --text`),
/// text i of a list `texts[i]` (as `/v1/select`). A blank text is refused.
fn queries(texts: &Texts) -> PyResult<Vec<Example>> {
    let example = |id: String, text: &String| Example {
        id,
        text: text.clone(),
        entities: Vec::new(),
    };
    let queries: Vec<Example> = match texts {
        Texts::One(text) => vec![example("text".into(), text)],
        Texts::Many(texts) => texts
            .iter()
            .enumerate()
            .map(|(i, text)| example(format!("texts[{i}]"), text))
            .collect(),
    };
    match queries.iter().find(|q| q.text.trim().is_empty()) {
        Some(blank) => Err(InvalidInput::new_err(format!(
            "{:?} is empty: every query needs text",
            blank.id
        ))),
        None => Ok(queries),
    }
}

/// Rows of `value` (anything `numpy.asarray` takes, 1-D for one vector) as
/// float32 vectors of `dim` entries.
fn matrix(value: &Bound<'_, PyAny>, dim: usize) -> PyResult<Vectors> {
    let numpy = value.py().import("numpy")?;
    let array = numpy.call_method1("asarray", (value, "float32"))?;
    let array = numpy.call_method1("atleast_2d", (array,))?;
    let array: PyReadonlyArray2<f32> = array.extract()?;
    if array.shape()[1] != dim {
        return Err(InvalidInput::new_err(format!(
            "vectors of {} entries given; this index's have {dim}",
            array.shape()[1]
        )));
    }
    let flat: Vec<f32> = array.as_array().iter().copied().collect();
    Vectors::from_flat(dim, flat).ok_or_else(|| InternalError::new_err("internal error: ragged vectors"))
}

fn search_mode(exact: bool, ef: Option<usize>) -> SearchMode {
    match exact {
        true => SearchMode::Exact,
        false => SearchMode::Hnsw { ef },
    }
}

/// Issues each library warning as a Python `UserWarning`.
fn warn_each(py: Python<'_>, warnings: &[String]) -> PyResult<()> {
    let category = py.get_type::<PyUserWarning>();
    for warning in warnings {
        let message = std::ffi::CString::new(warning.replace('\0', " "))?;
        PyErr::warn(py, &category, &message, 2)?;
    }
    Ok(())
}

#[pymethods]
impl Index {
    /// Opens the index directory `path`, checking every file. With
    /// `encoder`, checks that it is the index's model (else ModelMismatch);
    /// without, the default model is opened when a selection needs it.
    #[staticmethod]
    #[pyo3(signature = (path, *, encoder=None))]
    fn open(py: Python<'_>, path: PathBuf, encoder: Option<PyRef<'_, Encoder>>) -> PyResult<Index> {
        let encoder = encoder.map(|e| e.inner.clone());
        detached(py, || {
            Index::new(exemplar::Index::open(&path)?, path.clone(), encoder)
        })
    }

    /// Embeds the corpus file(s) `corpus` and writes the index directory
    /// `out` (replacing an index there atomically), as `exemplar index build`.
    #[staticmethod]
    #[pyo3(signature = (corpus, *, out, format="conll", scheme="auto", skip_invalid_spans=false, encoder=None,
        m=16, ef_construction=200, seed=42, ef_search=DEFAULT_EF_SEARCH, parallel_insert=false, progress=false))]
    #[allow(clippy::too_many_arguments)]
    fn build(
        py: Python<'_>,
        corpus: &Bound<'_, PyAny>,
        out: PathBuf,
        format: &str,
        scheme: &str,
        skip_invalid_spans: bool,
        encoder: Option<PyRef<'_, Encoder>>,
        m: usize,
        ef_construction: usize,
        seed: u64,
        ef_search: usize,
        parallel_insert: bool,
        progress: bool,
    ) -> PyResult<Index> {
        let files = paths(corpus)?;
        let format: Format = named(py, format)?;
        let options = ReadOptions {
            scheme: named::<TagScheme>(py, scheme)?,
            skip_invalid_spans,
        };
        let build = BuildOptions {
            hnsw: HnswParams {
                m,
                ef_construction,
                seed,
                parallel: parallel_insert,
            },
            ef_search,
            ..Default::default()
        };
        let given = encoder.map(|e| e.inner.clone());
        detached(py, || {
            check_replaceable(&out)?;
            let read = corpus::read_all(&files, format, &options)?;
            let sources = pipeline::sources(&files, format)?;
            let encoder = match given {
                Some(encoder) => encoder,
                None => Encoder::open_default()?,
            };
            let (index, _) =
                pipeline::build_and_save(&read, sources, encoder.as_ref(), &build, &out, &*bars(progress))?;
            Index::new(index, out.clone(), Some(encoder))
        })
    }

    /// The directory the index was opened from or written to.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The manifest (`exemplar index info --json`) as a dict.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = detached(py, || Ok(to_json(self.index.manifest())?))?;
        to_python(py, &json)
    }

    /// The entity types of the indexed corpus, in the order prompts show them.
    #[getter]
    fn entity_types(&self) -> Vec<String> {
        exemplar::prompt::entity_types(&self.index)
    }

    fn __len__(&self) -> usize {
        self.index.len()
    }

    /// Sentence `row` (a row `search` returns) as a dict: id, text, entities.
    fn __getitem__<'py>(&self, py: Python<'py>, row: usize) -> PyResult<Bound<'py, PyAny>> {
        let sentence =
            self.index.examples().get(row).ok_or_else(|| {
                PyIndexError::new_err(format!("row {row} of an index of {}", self.index.len()))
            })?;
        let json = to_json(&Example::from(sentence)).map_err(|e| to_py(py, e))?;
        to_python(py, &json)
    }

    /// Demonstrations for `texts` (one str, or a list), as `exemplar select
    /// --json`: for one str a list of demo dicts (`"demos"` of its line), for
    /// a list one such list per text; with `full=True` the whole line (query,
    /// method, score_kind, demos) instead. Strategy parameters are keyword
    /// arguments (`candidates=64`; mmr's `lambda`, a Python keyword, as
    /// `**{"lambda": 0.7}`).
    /// `vectors` skips embedding (row i is text i's, from the index's model).
    #[pyo3(signature = (texts, k=DEFAULT_K, strategy="knn", *, min_entities=0, exclude_same_doc=false, r#where=None,
        order="similar-last", seed=DEFAULT_SEED, exact=false, ef=None, vectors=None, full=false, progress=false, **params))]
    #[allow(clippy::too_many_arguments)]
    fn select<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        k: usize,
        strategy: &str,
        min_entities: usize,
        exclude_same_doc: bool,
        r#where: Option<BTreeMap<String, String>>,
        order: &str,
        seed: u64,
        exact: bool,
        ef: Option<usize>,
        vectors: Option<&Bound<'py, PyAny>>,
        full: bool,
        progress: bool,
        params: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let texts = Texts::extract(texts)?;
        let queries = queries(&texts)?;
        if k == 0 {
            return Err(InvalidInput::new_err("k must be at least 1"));
        }
        let params: Params = match params {
            Some(dict) => from_python(dict.as_any(), "strategy parameters")?,
            None => Params::default(),
        };
        let filters = Filters {
            min_entities,
            exclude_same_doc,
            where_: r#where.unwrap_or_default(),
        };
        let strategy: Strategy = named(py, strategy)?;
        let order: Order = named(py, order)?;
        let method = Method::for_strategies(&[strategy], &params, &filters, order, seed)
            .map_err(|e| to_py(py, e))?
            .remove(0);
        let vectors = vectors
            .map(|v| matrix(v, self.index.manifest().model.dimension))
            .transpose()?;
        if vectors.as_ref().is_some_and(|v| v.len() != queries.len()) {
            return Err(InvalidInput::new_err("give one vector per text"));
        }
        let mode = search_mode(exact, ef);
        let (json, warnings) = detached(py, || {
            let selected = self.selected(&method, mode, &queries, k, vectors.as_ref(), progress)?;
            let json = match full {
                true => to_json(&selected.selections)?,
                false => {
                    let demos: Vec<_> = selected.selections.iter().map(|s| &s.demos).collect();
                    to_json(&demos)?
                }
            };
            Ok((json, selected.warnings))
        })?;
        warn_each(py, &warnings)?;
        let results = to_python(py, &json)?;
        match texts {
            Texts::One(_) => results.get_item(0),
            Texts::Many(_) => Ok(results),
        }
    }

    /// The `k` nearest sentences to each of `vectors` (one vector, or rows of
    /// a matrix, from the index's model), for callers who embed themselves:
    /// `(scores, rows)`, float32 cosine similarities and int64 rows of shape
    /// (n, k), best first; -1 (score nan) where fewer than k exist. `index[row]`
    /// gives a row's sentence.
    #[pyo3(signature = (vectors, k=10, *, exact=false, ef=None))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        vectors: &Bound<'py, PyAny>,
        k: usize,
        exact: bool,
        ef: Option<usize>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let queries = matrix(vectors, self.index.manifest().model.dimension)?;
        let mode = search_mode(exact, ef);
        let (scores, rows) = detached(py, || {
            let hits: Vec<_> = (0..queries.len())
                .into_par_iter()
                .map(|i| self.index.search(queries.row(i), k, mode))
                .collect();
            let mut scores = Array2::from_elem((queries.len(), k), f32::NAN);
            let mut rows = Array2::from_elem((queries.len(), k), -1i64);
            for (i, hits) in hits.iter().enumerate() {
                for (j, hit) in hits.iter().take(k).enumerate() {
                    scores[(i, j)] = hit.similarity;
                    rows[(i, j)] = i64::from(hit.node);
                }
            }
            Ok((scores, rows))
        })?;
        PyTuple::new(
            py,
            [
                scores.into_pyarray(py).into_any(),
                rows.into_pyarray(py).into_any(),
            ],
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Index({:?}, {} sentences)",
            self.path.display().to_string(),
            self.index.len()
        )
    }
}
