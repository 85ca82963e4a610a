"""The bindings against the command line: the same vectors, the same
demonstrations, the same manifest, the same scores."""

import json

import numpy as np
import pytest

import exemplar
from conftest import NCBI, REPO, run_cli


def test_embeddings_equal_exemplar_embed(tmp_path, binary, encoder):
    texts = [s["text"] for s in exemplar.read_corpus(NCBI / "devel.tsv")[:64]]
    corpus = tmp_path / "queries.txt"
    corpus.write_text("".join(t + "\n" for t in texts))
    npy = tmp_path / "cli.npy"
    run_cli(binary, "embed", "--input", str(corpus), "--format", "text", "--out", str(npy))
    cli = np.load(npy)
    ours = encoder.embed(texts)
    assert ours.dtype == np.float32 and ours.shape == (64, encoder.dim) == cli.shape
    cosines = np.sum(ours * cli, axis=1)
    assert cosines.min() >= 0.9999, cosines.min()
    assert encoder.embed(texts[0]).shape == (encoder.dim,)
    assert encoder.model_id.endswith("all-MiniLM-L6-v2")


def cli_lines(binary, index, *args):
    out = run_cli(binary, "select", "--index", str(index.path), "--json", *args)
    return [json.loads(line) for line in out.splitlines()]


def test_select_equals_exemplar_select_json(binary, ncbi_index, queries):
    text = queries[0]
    line = cli_lines(binary, ncbi_index, "--text", text, "--k", "8")[0]
    assert ncbi_index.select(text, k=8, full=True) == line
    assert ncbi_index.select(text, k=8) == line["demos"]
    demos = line["demos"]
    assert len(demos) == 8 and demos[-1]["score"] >= demos[0]["score"], "most similar last"


@pytest.mark.parametrize(
    "options, cli",
    [
        ({"strategy": "mmr", "lambda": 0.5}, ["--strategy", "mmr", "--param", "lambda=0.5"]),
        ({"strategy": "random", "seed": 7}, ["--strategy", "random", "--seed", "7"]),
        ({"strategy": "bm25", "min_entities": 1}, ["--strategy", "bm25", "--min-entities", "1"]),
        ({"order": "similar-first", "exact": True}, ["--order", "similar-first", "--exact"]),
        (
            {"strategy": "entity", "sources": "lexicon,ngrams", "base": "knn"},
            ["--strategy", "entity", "--param", "sources=lexicon,ngrams", "--param", "base=knn"],
        ),
    ],
)
def test_a_batch_equals_the_cli_for_every_strategy_and_option(tmp_path, binary, ncbi_index, queries, options, cli):
    corpus = tmp_path / "queries.txt"
    corpus.write_text("".join(q + "\n" for q in queries))
    lines = cli_lines(binary, ncbi_index, "--input", str(corpus), "--format", "text", "--k", "5", *cli)
    ours = ncbi_index.select(queries, k=5, full=True, **options)
    assert [s["demos"] for s in ours] == [line["demos"] for line in lines]
    assert [s["method"] for s in ours] == [line["method"] for line in lines]


def test_select_with_own_vectors_and_search(ncbi_index, encoder, queries):
    vectors = encoder.embed(queries[:3])
    assert ncbi_index.select(queries[:3], k=4, vectors=vectors) == ncbi_index.select(queries[:3], k=4)
    scores, rows = ncbi_index.search(vectors, k=4, exact=True)
    assert scores.shape == rows.shape == (3, 4) and rows.dtype == np.int64
    knn = ncbi_index.select(queries[0], k=4, exact=True)
    assert [ncbi_index[int(r)]["id"] for r in rows[0][::-1]] == [d["id"] for d in knn]


def test_info_is_the_manifest(binary, ncbi_index):
    info = ncbi_index.info()
    assert info == json.loads(run_cli(binary, "index", "info", str(ncbi_index.path), "--json"))
    assert info["corpus"]["sentences"] == len(ncbi_index)
    assert ncbi_index.entity_types == ["Disease"]


def test_read_corpus_and_evaluate_match_the_cli(tmp_path, binary):
    gold = NCBI / "devel.tsv"
    sentences = exemplar.read_corpus(gold)
    assert sentences[0]["id"] == "devel.tsv:1" and "entities" in sentences[0]
    # Predictions: the gold with every other sentence's entities left out.
    pred = tmp_path / "pred.jsonl"
    with pred.open("w") as out:
        for i, s in enumerate(sentences):
            entities = s["entities"] if i % 2 else []
            out.write(json.dumps({"text": s["text"], "entities": entities}) + "\n")
    cli = json.loads(run_cli(binary, "eval", "--gold", str(gold), "--pred", str(pred), "--json"))
    assert exemplar.evaluate(gold, pred) == cli
    spans = [s["entities"] for s in sentences]
    predicted = [e if i % 2 else [] for i, e in enumerate(spans)]
    in_memory = exemplar.evaluate(spans, predicted)
    assert in_memory["strict"] == cli["strict"] and in_memory["relaxed"] == cli["relaxed"]


def test_render_prompt_shows_the_demos_most_similar_last(ncbi_index, queries):
    demos = ncbi_index.select(queries[0], k=3)
    [prompt] = exemplar.render_prompt(queries[0], demos, "list", types=ncbi_index.entity_types)
    assert prompt["type"] is None and prompt["query"] == queries[0]
    assert [shot[0] for shot in prompt["shots"]] == [d["text"] for d in demos]
    assert prompt["text"].endswith(f"Input: {queries[0]}\nOutput:\n")
    assert prompt["messages"][-1] == {"role": "user", "content": queries[0]}
    per_type = exemplar.render_prompt(queries[0], demos, "gpt-ner", types=["Disease", "Chemical"])
    assert [p["type"] for p in per_type] == ["Disease", "Chemical"]


def test_four_threads_get_what_one_gets(ncbi_index, queries):
    from concurrent.futures import ThreadPoolExecutor

    alone = [ncbi_index.select(q, k=4) for q in queries]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: ncbi_index.select(q, k=4), queries))
    assert together == alone
