#!/usr/bin/env python3
"""Checks an exported BERT ONNX graph against the numpy reference.

Exit status 0 only if, for every test sentence, the mean-pooled, L2-normalised
sentence vector from the ONNX graph (run by Python onnxruntime, as a padded
batch of unequal lengths and also one sentence at a time, with graph
optimisations both on and off) has cosine >= --min-cosine with the vector from
scripts/bert_numpy.py run on the unpadded sentence.

It also checks the published sentence-transformers quickstart similarities for
all-MiniLM-L6-v2, so a tokenizer or weights mix-up that both implementations
would share does not pass unnoticed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

# Import the sibling module without leaving scripts/__pycache__ in the work tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bert_numpy import BertNumpy, l2_normalise, masked_mean_pool  # noqa: E402

# From the sentence-transformers quickstart (model.similarity on
# all-MiniLM-L6-v2), printed to 4 decimals.
QUICKSTART = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
QUICKSTART_SIMS = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}
QUICKSTART_TOL = 1e-3

SENTENCES = QUICKSTART + [
    "fever",
    "Identification of APC2 , a homologue of the adenomatous polyposis coli tumour suppressor .",
    "A 54-year-old woman with Sjögren's syndrome presented with a temperature of 39.3°C and bilateral parotid swelling.",
    # Long enough to be cut at 256 word pieces, exercising positions up to 255.
    " ".join(
        f"Patient {i} had a BRCA1 mutation, early-onset breast cancer and ovarian cancer, "
        f"and was followed for {i + 2} years without recurrence."
        for i in range(12)
    ),
]


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    tok = Tokenizer.from_file(str(path))
    # tokenizer.json ships with truncation at 128 and fixed padding to 128;
    # sentence-transformers (and fastembed) use max_seq_length instead.
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    return tok


def onnx_embeddings(session: ort.InferenceSession, encodings) -> np.ndarray:
    """Pads a list of encodings to the longest and returns pooled unit vectors."""
    width = max(len(e.ids) for e in encodings)

    def pad(rows):
        out = np.zeros((len(rows), width), np.int64)
        for r, row in enumerate(rows):
            out[r, : len(row)] = row
        return out

    feeds = {
        "input_ids": pad([e.ids for e in encodings]),
        "attention_mask": pad([e.attention_mask for e in encodings]),
        "token_type_ids": pad([e.type_ids for e in encodings]),
    }
    (hidden,) = session.run(["last_hidden_state"], feeds)
    assert hidden.dtype == np.float32 and hidden.shape == (len(encodings), width, 384), hidden.shape
    pooled = masked_mean_pool(hidden.astype(np.float64), feeds["attention_mask"])
    return np.stack([l2_normalise(v) for v in pooled])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True, help="holds config.json and tokenizer.json")
    ap.add_argument("--onnx", help="default: <model-dir>/model.onnx")
    ap.add_argument("--weights", required=True, help="model.safetensors the graph was built from")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--min-cosine", type=float, default=0.9999)
    args = ap.parse_args()
    model_dir = Path(args.model_dir)
    onnx_path = Path(args.onnx or model_dir / "model.onnx")

    tok = load_tokenizer(model_dir / "tokenizer.json", args.max_length)
    encodings = tok.encode_batch(SENTENCES)
    lengths = [len(e.ids) for e in encodings]
    if max(lengths) != args.max_length:
        print(f"FAIL: the long test sentence should be truncated to {args.max_length} tokens, got {max(lengths)}")
        return 1

    ref_model = BertNumpy.from_files(args.weights, model_dir)
    reference = np.stack([ref_model.sentence_embedding(e.ids, e.type_ids) for e in encodings])

    failures = []
    min_cos, max_diff = 1.0, 0.0
    for label, level in [("all optimisations", ort.GraphOptimizationLevel.ORT_ENABLE_ALL), ("no optimisations", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)]:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = level
        session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        batched = onnx_embeddings(session, encodings)
        single = np.concatenate([onnx_embeddings(session, [e]) for e in encodings])
        for mode, got in [("padded batch", batched), ("one at a time", single)]:
            cos = (got * reference).sum(axis=1)
            min_cos = min(min_cos, float(cos.min()))
            max_diff = max(max_diff, float(np.abs(got - reference).max()))
            for i in np.flatnonzero(cos < args.min_cosine):
                failures.append(f"{label}, {mode}: sentence {i} ({lengths[i]} tokens) cosine {cos[i]:.6f}")

    for (a, b), want in QUICKSTART_SIMS.items():
        got = float(reference[a] @ reference[b])
        if abs(got - want) > QUICKSTART_TOL:
            failures.append(f"quickstart similarity ({a},{b}) = {got:.4f}, published {want:.4f}")

    print(f"token lengths: {lengths}")
    print("quickstart similarities: " + ", ".join(f"({a},{b})={float(reference[a] @ reference[b]):.4f}" for a, b in QUICKSTART_SIMS))
    # Cosine is quadratic in a small difference, so also show the largest
    # per-component difference of the unit vectors.
    print(f"min cosine ONNX vs numpy reference: {min_cos:.8f} (1 - min = {1.0 - min_cos:.1e}, max |component diff| = {max_diff:.1e})")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("verification passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
