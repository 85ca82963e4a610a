"""LangChain: exemplar's demonstrations as a ``BaseExampleSelector``.

>>> from langchain_core.prompts import FewShotPromptTemplate, PromptTemplate
>>> selector = ExemplarExampleSelector(exemplar.Index.open("indexes/ncbi-disease"), k=4)
>>> prompt = FewShotPromptTemplate(
...     example_selector=selector,
...     example_prompt=PromptTemplate.from_template("Input: {input}\\nOutput:\\n{output}"),
...     suffix="Input: {input}\\nOutput:", input_variables=["input"])
>>> prompt.format(input="BRCA1 mutations cause breast cancer.")

Examples are dicts ``{input_key: sentence, output_key: answer}`` (the answer
as the prompt ``format`` writes it, e.g. ``Disease: breast cancer`` lines for
``list``), plus ``id`` and ``score``; they come in exemplar's order, most
similar last. Needs ``langchain-core`` (the ``langchain`` extra).
"""

from typing import Any, Dict, List, Optional

import numpy as np
from langchain_core.example_selectors import BaseExampleSelector

from ._exemplar import Encoder, Index, InvalidInput
from ._shots import Selection


class ExemplarExampleSelector(BaseExampleSelector):
    """Selects few-shot examples with an exemplar index and strategy.

    ``select_options`` are those of :meth:`exemplar.Index.select` (strategy
    parameters, filters, ``exact``, ``ef`` ...). Examples added with
    :meth:`add_example` live in memory beside the index and compete with its
    sentences by cosine similarity (``knn`` only); ``encoder`` embeds them
    (default: the default model, which must be the index's).
    """

    def __init__(
        self,
        index: Index,
        *,
        k: int = 8,
        strategy: str = "knn",
        input_key: str = "input",
        output_key: str = "output",
        format: str = "list",
        encoder: Optional[Encoder] = None,
        **select_options: Any,
    ) -> None:
        self.selection = Selection(index, k, strategy, format, select_options)
        self.input_key = input_key
        self.output_key = output_key
        self._encoder = encoder
        self._added: List[Dict[str, Any]] = []
        self._added_vectors = np.zeros((0, 0), dtype=np.float32)

    def _encoder_or_default(self) -> Encoder:
        if self._encoder is None:
            self._encoder = Encoder()
        return self._encoder

    def add_example(self, example: Dict[str, str]) -> None:
        """Adds an example (``input_key`` and ``output_key`` given) for later
        selections; the index on disk is not changed."""
        if self.selection.strategy != "knn":
            raise InvalidInput(f"add_example takes part in knn selections only, not {self.selection.strategy}")
        if self.input_key not in example or self.output_key not in example:
            raise InvalidInput(f"an example needs {self.input_key!r} and {self.output_key!r}")
        vector = self._encoder_or_default().embed([example[self.input_key]])
        added = dict(example)
        added.setdefault("id", f"added[{len(self._added)}]")
        self._added.append(added)
        rows = [self._added_vectors, vector] if self._added_vectors.size else [vector]
        self._added_vectors = np.vstack(rows)

    def select_examples(self, input_variables: Dict[str, str]) -> List[Dict[str, Any]]:
        """The examples for ``input_variables[input_key]``, most similar last."""
        text = input_variables[self.input_key]
        vectors = self._encoder_or_default().embed([text]) if self._added else None
        examples = [
            {self.input_key: given, self.output_key: answer, "id": demo["id"], "score": demo["score"]}
            for demo, given, answer in self.selection.shots(text, vectors)
        ]
        if vectors is None:
            return examples
        return self._merged(examples, vectors[0])

    def _merged(self, examples: List[Dict[str, Any]], query: np.ndarray) -> List[Dict[str, Any]]:
        """The index's examples and the added ones, the k most similar, most similar last."""
        scores = self._added_vectors @ query
        added = [dict(example, score=float(score)) for example, score in zip(self._added, scores)]
        best = sorted(examples + added, key=lambda e: e["score"], reverse=True)[: self.selection.k]
        return best[::-1]
