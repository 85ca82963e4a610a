//! The native module `exemplar._exemplar` of the Python package `exemplar`:
//! the library's encoder, index, selection, prompts and scores, with the GIL
//! released while they work and errors raised as `exemplar.Error` subclasses.
//! The package (`python/python/exemplar/`) re-exports it and adds the
//! LangChain and DSPy adapters.

mod convert;
mod encoder;
mod errors;
mod functions;
mod index;

use pyo3::prelude::*;

#[pymodule]
fn _exemplar(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<encoder::Encoder>()?;
    module.add_class::<index::Index>()?;
    module.add_function(wrap_pyfunction!(functions::read_corpus, module)?)?;
    module.add_function(wrap_pyfunction!(functions::render_prompt, module)?)?;
    module.add_function(wrap_pyfunction!(functions::evaluate, module)?)?;
    module.add_function(wrap_pyfunction!(functions::_panic, module)?)?;
    errors::register(module)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("DEFAULT_K", exemplar::select::DEFAULT_K)?;
    Ok(())
}
