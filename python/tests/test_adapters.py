"""The LangChain and DSPy adapters, against the real packages from PyPI."""

import os
import socket
import subprocess

import pytest

import exemplar
from conftest import REPO, require

langchain_core = pytest.importorskip("langchain_core")
dspy = pytest.importorskip("dspy")

from langchain_core.prompts import FewShotPromptTemplate, PromptTemplate  # noqa: E402

from exemplar.dspy import ExemplarKNN  # noqa: E402
from exemplar.langchain import ExemplarExampleSelector  # noqa: E402

QUERY = "Germline mutations in BRCA1 predispose women to breast and ovarian cancer."


def test_langchain_few_shot_prompt_template_shows_exemplar_s_demos(ncbi_index):
    selector = ExemplarExampleSelector(ncbi_index, k=4)
    template = FewShotPromptTemplate(
        example_selector=selector,
        example_prompt=PromptTemplate.from_template("Input: {input}\nOutput:\n{output}"),
        suffix="Input: {input}\nOutput:",
        input_variables=["input"],
    )
    text = template.format(input=QUERY)
    demos = ncbi_index.select(QUERY, k=4)
    positions = [text.index(f"Input: {d['text']}\n") for d in demos]
    assert positions == sorted(positions), "exemplar's order: most similar last"
    assert text.endswith(f"Input: {QUERY}\nOutput:")
    mention = demos[-1]["entities"][0]["text"]
    assert f"Disease: {mention}" in text


def test_langchain_added_examples_compete_by_similarity(ncbi_index, encoder):
    selector = ExemplarExampleSelector(ncbi_index, k=3, encoder=encoder)
    selector.add_example({"input": QUERY, "output": "Disease: breast and ovarian cancer"})
    examples = selector.select_examples({"input": QUERY})
    assert len(examples) == 3
    assert examples[-1]["input"] == QUERY and examples[-1]["score"] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(exemplar.InvalidInput):
        ExemplarExampleSelector(ncbi_index, strategy="random").add_example({"input": "x", "output": "y"})


class Entities(dspy.Signature):
    """Find the disease mentions in the text."""

    text: str = dspy.InputField()
    entities: str = dspy.OutputField()


def test_dspy_program_gets_exemplar_s_demos_in_its_prompt(ncbi_index):
    lm = dspy.utils.DummyLM([{"entities": "Disease: breast and ovarian cancer"}])
    program = ExemplarKNN(ncbi_index, k=3).compile(dspy.Predict(Entities))
    with dspy.context(lm=lm):
        answer = program(text=QUERY)
    assert answer.entities == "Disease: breast and ovarian cancer"
    messages = lm.history[-1]["messages"]
    prompt = "\n".join(m["content"] for m in messages)
    for demo in ncbi_index.select(QUERY, k=3):
        assert demo["text"] in prompt
    assert QUERY in messages[-1]["content"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def llm_url():
    """$EXEMPLAR_LLM_URL, else a llama-server (Gemma 3 270M) started for the test."""
    if os.environ.get("EXEMPLAR_LLM_URL"):
        yield os.environ["EXEMPLAR_LLM_URL"]
        return
    llama = REPO / ".cache" / "llama"
    installed = (llama / "bin" / "llama-server").exists() and (llama / "models" / "gemma.gguf").exists()
    require(installed, "no llama-server (scripts/llama.sh install gemma)")
    port = str(free_port())
    script = str(REPO / "scripts" / "llama.sh")
    started = subprocess.run([script, "start", "--model", "gemma", "--threads", "1", "--port", port],
                             capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop", "--port", port], capture_output=True)


def test_dspy_program_runs_against_llama_server(ncbi_index, llm_url):
    lm = dspy.LM("openai/gemma", api_base=f"{llm_url.rstrip('/')}/v1", api_key="none",
                 max_tokens=64, temperature=0.0, cache=False)
    program = ExemplarKNN(ncbi_index, k=2).compile(dspy.Predict(Entities))
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
        try:
            answer = program(text=QUERY)
        except (ValueError, RuntimeError) as error:  # a 270M model may not keep DSPy's fields
            answer = None
            assert "parse" in str(error).lower() or "adapter" in str(error).lower(), error
    sent = lm.history[-1]["messages"]
    assert any(demo["text"] in m["content"] for demo in ncbi_index.select(QUERY, k=2) for m in sent)
    assert answer is None or isinstance(answer.entities, str)
