"""Type stubs of the native module (python/src/*.rs); docstrings as there."""

import os
import pathlib
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str
DEFAULT_K: int

PathLike = Union[str, "os.PathLike[str]"]
Demo = Dict[str, Any]
"""One demonstration: ``id``, ``text``, ``entities`` (start, end, type, text), ``score``
and, where the strategy says why it chose it, ``reason`` (``entity``: ``{"mention": ...,
"source": "lexicon"}`` or ``{"base": "bm25"}``)."""

class Error(Exception):
    """Every error exemplar raises; the message is the command line's."""

    path: Optional[str]
    """The file or directory concerned, where there is one."""
    line: Optional[int]
    """The 1-based line, where there is one (corpus and predictions files)."""

class InvalidInput(Error):
    """The caller's mistake: a bad argument, file or parameter (the CLI's exit 2)."""

class CorpusError(InvalidInput):
    """A malformed corpus file; ``path`` and ``line`` (1-based, or None) say where."""

class AnswersError(InvalidInput):
    """A malformed predictions file; ``path`` and ``line`` say where."""

class FileError(Error):
    """A file or directory that cannot be read or written; ``path`` names it."""

class CorruptIndex(Error):
    """An index on disk is damaged (a missing, truncated or altered file); rebuild it."""

class IncompatibleIndex(Error):
    """An index that is sound but cannot be used here (format version, model)."""

class ModelMismatch(IncompatibleIndex):
    """The encoder given is not the one the index was built with."""

class ModelError(Error):
    """The sentence encoder's files or ONNX Runtime cannot be used (e.g. no model)."""

class EncoderError(Error):
    """The sentence encoder failed while running."""

class BackendError(Error):
    """A generation backend failed or answered something unusable."""

class InternalError(Error):
    """A fault of exemplar itself, a caught Rust panic included."""

class Encoder:
    """A sentence encoder: an ONNX model directory run by ONNX Runtime."""

    def __init__(
        self,
        model_dir: Optional[PathLike] = None,
        *,
        ort_lib: Optional[PathLike] = None,
        sessions: Optional[int] = None,
        threads: int = 1,
        pooling: Optional[str] = None,
        max_length: Optional[int] = None,
    ) -> None:
        """Opens a model directory (default: ``$EXEMPLAR_MODEL``, else
        ``all-MiniLM-L6-v2`` under ``$EXEMPLAR_MODELS`` or ``models/``), with
        ``sessions`` parallel ONNX Runtime sessions (default: one a core) of
        ``threads`` threads each (0: all cores)."""
    @property
    def dim(self) -> int:
        """Entries per vector."""
    @property
    def model_id(self) -> str:
        """The model's name, e.g. ``sentence-transformers/all-MiniLM-L6-v2``."""
    @property
    def info(self) -> Dict[str, Any]:
        """What identifies the vectors (id, checksums, pooling, maximum length, dimension)."""
    def embed(self, texts: Union[str, Sequence[str]], *, progress: bool = False) -> npt.NDArray[np.float32]:
        """Unit vectors of ``texts``: float32 of shape (n, dim) for a sequence,
        (dim,) for one str. The GIL is released while encoding."""

class Index:
    """A demonstration index on disk, opened: its sentences, vectors and graph."""

    @staticmethod
    def open(path: PathLike, *, encoder: Optional[Encoder] = None) -> "Index":
        """Opens the index directory ``path``, checking every file. With
        ``encoder``, checks that it is the index's model (else ModelMismatch);
        without, the default model is opened when a selection needs it."""
    @staticmethod
    def build(
        corpus: Union[PathLike, Sequence[PathLike]],
        *,
        out: PathLike,
        format: str = "conll",
        scheme: str = "auto",
        skip_invalid_spans: bool = False,
        encoder: Optional[Encoder] = None,
        m: int = 16,
        ef_construction: int = 200,
        seed: int = 42,
        ef_search: int = 64,
        parallel_insert: bool = False,
        progress: bool = False,
    ) -> "Index":
        """Embeds the corpus file(s) and writes the index directory ``out``
        (replacing an index there atomically), as ``exemplar index build``."""
    @property
    def path(self) -> pathlib.Path:
        """The directory the index was opened from or written to."""
    @property
    def entity_types(self) -> List[str]:
        """The entity types of the indexed corpus, in the order prompts show them."""
    def info(self) -> Dict[str, Any]:
        """The manifest (``exemplar index info --json``) as a dict."""
    def __len__(self) -> int: ...
    def __getitem__(self, row: int) -> Dict[str, Any]:
        """Sentence ``row`` (a row ``search`` returns): id, text, entities."""
    @overload
    def select(self, texts: str, k: int = 16, strategy: str = "knn", **options: Any) -> List[Demo]: ...
    @overload
    def select(self, texts: Sequence[str], k: int = 16, strategy: str = "knn", **options: Any) -> List[List[Demo]]: ...
    @overload
    def select(
        self, texts: Union[str, Sequence[str]], k: int = 16, strategy: str = "knn", **options: Any
    ) -> List[Any]:
        """Demonstrations for ``texts`` as ``exemplar select --json``: for one
        str a list of demo dicts (the ``"demos"`` of its line), most similar
        last; for a list one such list per text; with ``full=True`` the whole
        line (query, method, score_kind, demos) instead.

        Options (keyword only): ``min_entities=0``, ``exclude_same_doc=False``,
        ``where={field: value}``, ``order="similar-last"``, ``seed=42``,
        ``exact=False``, ``ef=None``, ``vectors=None`` (skips embedding: row i
        is text i's, from the index's model), ``full=False``,
        ``progress=False``, and the strategy's parameters (``candidates=64``;
        mmr's ``lambda`` as ``**{"lambda": 0.7}``; entity's ``sources="lexicon,ngrams"``,
        ``base="knn"``). The GIL is released
        meanwhile."""
    def search(
        self, vectors: npt.ArrayLike, k: int = 10, *, exact: bool = False, ef: Optional[int] = None
    ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """The ``k`` nearest sentences to each vector: ``(scores, rows)`` of
        shape (n, k), best first; -1 (score nan) where fewer exist."""

def read_corpus(
    path: Union[PathLike, Sequence[PathLike]],
    format: str = "conll",
    *,
    scheme: str = "auto",
    skip_invalid_spans: bool = False,
) -> List[Dict[str, Any]]:
    """Reads corpus file(s) into sentence dicts (id, text, entities with their
    text). A malformed file raises CorpusError with ``path`` and ``line``."""

def render_prompt(
    query: str,
    demos: Sequence[Mapping[str, Any]],
    format: str = "list",
    *,
    types: Optional[Sequence[str]] = None,
    definitions: Optional[Mapping[str, str]] = None,
    template: Optional[str] = None,
    guidelines: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """The prompt(s) for ``query`` with ``demos`` in prompt order: one dict
    per pass (``type``, ``instruction``, ``shots``, ``query``, ``dropped``,
    ``text``, ``messages``, ``stop``)."""

def evaluate(
    gold: Union[PathLike, Sequence[Sequence[Mapping[str, Any]]]],
    pred: Union[PathLike, Sequence[Sequence[Mapping[str, Any]]]],
    *,
    format: str = "conll",
    pred_format: Optional[str] = None,
    scheme: str = "auto",
    skip_invalid_spans: bool = False,
    strict_tags: bool = False,
) -> Dict[str, Any]:
    """Strict and relaxed P/R/F1 as ``exemplar eval --json`` prints them, of
    two files or of lists of entity dicts (start, end, type) per sentence."""

def _panic(message: str) -> None:
    """Panics in native code (tests: a panic arrives as InternalError)."""
