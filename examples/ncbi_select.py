"""NCBI-disease from Python: index the training split, choose demonstrations
for a test sentence, render the few-shot prompt an LLM would get.

    python examples/ncbi_select.py [--index indexes/ncbi-disease] [--corpus data/ncbi-disease/train.tsv] [--k 8]

The index is built when --index holds none (opened as it is otherwise).
Run with the venv scripts/python.sh prints; the test suite runs it.
"""

import argparse
from pathlib import Path

import exemplar

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description="Index NCBI-disease, select demonstrations, render a prompt.")
    parser.add_argument("--index", type=Path, default=REPO / "indexes" / "ncbi-disease")
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "ncbi-disease" / "train.tsv")
    parser.add_argument("--query", default=None, help="a sentence (default: the first test sentence)")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--format", default="list", help="prompt format: list, tanl, gpt-ner or dice")
    args = parser.parse_args()

    if (args.index / "manifest.json").exists():
        index = exemplar.Index.open(args.index)
    else:
        index = exemplar.Index.build(args.corpus, format="conll", out=args.index, progress=True)
    print(f"index {args.index}: {len(index)} sentences, types {index.entity_types}")

    query = args.query or exemplar.read_corpus(REPO / "data" / "ncbi-disease" / "test.tsv")[0]["text"]
    demos = index.select(query, k=args.k)
    for demo in demos:
        mentions = ", ".join(e["text"] for e in demo["entities"]) or "-"
        print(f"  {demo['score']:.3f}  {demo['id']:>16}  {mentions}")

    for prompt in exemplar.render_prompt(query, demos, args.format, types=index.entity_types):
        print(f"\n--- prompt ({prompt['type'] or 'all types'}) ---\n{prompt['text']}", end="")


if __name__ == "__main__":
    main()
