"""What the LangChain and DSPy adapters share: an index and how to select
from it, and demonstrations as (input, answer) texts in a prompt format."""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._exemplar import Index, InvalidInput, render_prompt


class Selection:
    """Demonstrations from ``index`` by ``strategy`` (options of
    :meth:`exemplar.Index.select`), written in prompt ``format`` (one that
    asks for all types in one prompt: ``list`` or ``tanl``)."""

    def __init__(self, index: Index, k: int, strategy: str, format: str, options: Dict[str, Any]) -> None:
        self.index = index
        self.k = k
        self.strategy = strategy
        self.format = format
        self.options = options

    def shots(self, text: str, vectors: Optional[np.ndarray] = None) -> List[Tuple[Dict[str, Any], str, str]]:
        """(demo, input, answer) for each demonstration for ``text``, most similar last."""
        demos = self.index.select(text, k=self.k, strategy=self.strategy, vectors=vectors, **self.options)
        passes = render_prompt(text, demos, self.format, types=self.index.entity_types)
        if len(passes) != 1:
            raise InvalidInput(f"the {self.format} format asks one prompt per type; the adapters take list or tanl")
        return [(demo, shot[0], shot[1]) for demo, shot in zip(demos, passes[0]["shots"])]
