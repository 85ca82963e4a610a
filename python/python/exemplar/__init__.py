"""exemplar from Python: few-shot NER demonstrations by k-NN over sentence embeddings.

The native module wraps exemplar's Rust library (not its command line):

>>> import exemplar
>>> index = exemplar.Index.open("indexes/ncbi-disease")
>>> demos = index.select("BRCA1 mutations cause breast cancer.", k=8)

``demos`` is a list of dicts shaped like one ``exemplar select --json`` line's
``"demos"`` (id, text, entities, score), most similar last. Adapters for
LangChain (:mod:`exemplar.langchain`) and DSPy (:mod:`exemplar.dspy`) are
imported on demand, so neither package is needed otherwise.
"""

from ._exemplar import (
    DEFAULT_K,
    AnswersError,
    BackendError,
    CorpusError,
    CorruptIndex,
    Encoder,
    EncoderError,
    Error,
    FileError,
    IncompatibleIndex,
    Index,
    InternalError,
    InvalidInput,
    ModelError,
    ModelMismatch,
    __version__,
    evaluate,
    read_corpus,
    render_prompt,
)

__all__ = [
    "DEFAULT_K",
    "AnswersError",
    "BackendError",
    "CorpusError",
    "CorruptIndex",
    "Encoder",
    "EncoderError",
    "Error",
    "FileError",
    "IncompatibleIndex",
    "Index",
    "InternalError",
    "InvalidInput",
    "ModelError",
    "ModelMismatch",
    "__version__",
    "evaluate",
    "read_corpus",
    "render_prompt",
]
