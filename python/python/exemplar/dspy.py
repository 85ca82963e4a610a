"""DSPy: exemplar's demonstrations for each input of a DSPy program, the role
``dspy.KNNFewShot`` plays, with exemplar's index, encoder and strategies.

>>> program = dspy.Predict("text -> entities")
>>> few_shot = ExemplarKNN(exemplar.Index.open("indexes/ncbi-disease"), k=4).compile(program)
>>> few_shot(text="BRCA1 mutations cause breast cancer.").entities

Each call selects demonstrations for the input's ``input_field`` and sets
them (``dspy.Example``s of ``input_field`` and ``output_field``, the answer
as the prompt ``format`` writes it) as the demos of every predictor of a copy
of the program, which then runs. Needs ``dspy`` (the ``dspy`` extra).
"""

from typing import Any, List

import dspy

from ._exemplar import Index
from ._shots import Selection


class ExemplarFewShot(dspy.Module):
    """``program`` with exemplar's demonstrations chosen afresh for each input."""

    def __init__(
        self,
        program: dspy.Module,
        index: Index,
        *,
        k: int = 8,
        strategy: str = "knn",
        input_field: str = "text",
        output_field: str = "entities",
        format: str = "list",
        **select_options: Any,
    ) -> None:
        super().__init__()
        self.program = program
        self.selection = Selection(index, k, strategy, format, select_options)
        self.input_field = input_field
        self.output_field = output_field

    def demos(self, text: str) -> List[dspy.Example]:
        """The demonstrations for ``text``, most similar last."""
        return [
            dspy.Example(**{self.input_field: given, self.output_field: answer}).with_inputs(self.input_field)
            for _, given, answer in self.selection.shots(text)
        ]

    def forward(self, **inputs: Any) -> Any:
        demos = self.demos(inputs[self.input_field])
        # A copy per call: concurrent calls must not see each other's demos.
        program = self.program.deepcopy()
        for predictor in program.predictors():
            predictor.demos = demos
        return program(**inputs)


class ExemplarKNN(dspy.teleprompt.Teleprompter):
    """A teleprompter like ``dspy.KNNFewShot``: ``compile(student)`` gives the
    student with exemplar's demonstrations per input (no trainset needed: the
    index is it). Keyword arguments are :class:`ExemplarFewShot`'s."""

    def __init__(self, index: Index, **options: Any) -> None:
        super().__init__()
        self.index = index
        self.options = options

    def compile(self, student: dspy.Module, *, trainset: Any = None, **_: Any) -> ExemplarFewShot:
        return ExemplarFewShot(student, self.index, **self.options)
