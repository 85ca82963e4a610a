#!/usr/bin/env python3
"""Writes the committed test fixture tests/data/reference_embeddings.json.

Sentence vectors of all-MiniLM-L6-v2 computed without ONNX at all: HF
`tokenizers` on models/all-MiniLM-L6-v2/tokenizer.json (truncation at 256,
no padding) and the numpy BERT forward pass of scripts/bert_numpy.py on the
safetensors weights, mean-pooled and L2-normalised. The Rust tests compare
what fastembed + ONNX Runtime produce against these.

Needs scripts/setup.sh to have run (for the tokenizer and the cached
weights); run it with the venv:
    .cache/venv/bin/python scripts/make_reference.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tokenizers import Tokenizer

# Import the sibling module without leaving scripts/__pycache__ in the work tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bert_numpy import BertNumpy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models/all-MiniLM-L6-v2"
WEIGHTS = ROOT / ".cache/weights/all-MiniLM-L6-v2/model.safetensors"
OUTPUT = ROOT / "tests/data/reference_embeddings.json"
MAX_LENGTH = 256
NCBI_TRAIN = "data/ncbi-disease/train.tsv"

# Sentences of the NCBI-disease training split, by position (0-based, blank
# line separated), tokens joined with single spaces as the corpus gives them.
NCBI_PICKS = [0, 11, 27, 34, 35]
# One abstract (title + body) joined into a single over-long "sentence": far
# more than 256 word pieces, so truncation is part of what the fixture checks.
NCBI_LONG = range(10, 20)

OTHER_SENTENCES = [
    "A 67-year-old man with type 2 diabetes mellitus and hypertension presented to the "
    "emergency department with crushing substernal chest pain radiating to the left arm.",
    "fever",
    "A 34-year-old woman with Sjögren's syndrome had a temperature of 39.3°C, "
    "anti-α-fodrin antibodies and a CRP of 48 mg/L – Ménière's disease was excluded.",
    "BRCA1 and BRCA2 germline mutations confer a high lifetime risk of breast and ovarian cancer.",
    "Pt c/o SOB and DOE; hx of CHF (EF 25%) and AFib on warfarin.",
    # Greek letters, symbols and an emoji that the vocabulary lacks ([UNK]).
    "Serum IL-6 and TNF-α rose ≥2-fold within 48 h of 5 µg/kg dosing 💊.",
]


def find_ncbi(explicit: str | None) -> Path:
    candidates = [Path(explicit)] if explicit else [ROOT / "shared" / NCBI_TRAIN, ROOT.parent / "shared" / NCBI_TRAIN]
    for c in candidates:
        if c.is_file():
            return c
    raise SystemExit(f"NCBI-disease train.tsv not found (tried {', '.join(map(str, candidates))}); pass --ncbi-train")


def read_ncbi_sentences(path: Path) -> list[str]:
    sentences, tokens = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            tokens.append(line.split("\t")[0])
        elif tokens:
            sentences.append(" ".join(tokens))
            tokens = []
    if tokens:
        sentences.append(" ".join(tokens))
    return sentences


def round_sig(x: float, digits: int = 7) -> float:
    return float(f"{x:.{digits}g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ncbi-train", default=os.environ.get("NCBI_TRAIN_TSV"), help="path of NCBI-disease train.tsv")
    ap.add_argument("--output", default=str(OUTPUT))
    args = ap.parse_args()

    for needed in (MODEL_DIR / "tokenizer.json", MODEL_DIR / "config.json", WEIGHTS):
        if not needed.is_file():
            raise SystemExit(f"{needed} is missing: run scripts/setup.sh first")

    ncbi = read_ncbi_sentences(find_ncbi(args.ncbi_train))
    sentences = [ncbi[i] for i in NCBI_PICKS] + OTHER_SENTENCES + [" ".join(ncbi[i] for i in NCBI_LONG)]

    tok = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    # tokenizer.json itself says truncate at 128 and pad to 128; the model's
    # max_seq_length (sentence_bert_config.json) is 256 and fastembed pads
    # per batch, so override both.
    tok.no_padding()
    tok.no_truncation()
    untruncated = [len(e.ids) for e in tok.encode_batch(sentences)]
    tok.enable_truncation(max_length=MAX_LENGTH)
    encodings = tok.encode_batch(sentences)
    if max(untruncated) <= MAX_LENGTH:
        raise SystemExit("no test sentence is long enough to be truncated")

    model = BertNumpy.from_files(WEIGHTS, MODEL_DIR)
    embeddings = []
    for s, e, n in zip(sentences, encodings, untruncated):
        embeddings.append([round_sig(v) for v in model.sentence_embedding(e.ids, e.type_ids)])
        print(f"{len(e.ids):4d} tokens ({n} before truncation): {s[:70]}")

    head = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_length": MAX_LENGTH,
        "pooling": "mean",
        "made_by": "scripts/make_reference.py (numpy BERT forward from the safetensors weights, HF tokenizers)",
        "sentences": sentences,
    }
    # One vector per line keeps the file readable and its diffs small.
    body = json.dumps(head, indent=2, ensure_ascii=False)[:-2]
    body += ',\n  "embeddings": [\n' + ",\n".join("    " + json.dumps(v) for v in embeddings) + "\n  ]\n}\n"
    assert json.loads(body)["embeddings"] == embeddings

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, out)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {len(sentences)} sentences")


if __name__ == "__main__":
    main()
