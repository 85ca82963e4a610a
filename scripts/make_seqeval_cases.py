#!/usr/bin/env python3
"""Writes tests/data/seqeval_cases.json: tag sequences with seqeval's scores.

The unit test in src/eval/seqeval.rs extracts chunks from these tags the way
seqeval's default (lenient) mode does, scores them with `eval::score` and
requires the same micro, macro and per-type figures. tests/eval.rs writes the
cases whose gold is valid IOB2/BIOES as CoNLL files and requires the same
figures from `exemplar eval`, which reads predicted tags as seqeval does; each
case records how many predicted tags that takes repairing (an I- or E- that
continues no entity). Python is needed only to regenerate the file:

    python3 -m venv /tmp/sq && /tmp/sq/bin/pip install seqeval==1.2.2
    /tmp/sq/bin/python scripts/make_seqeval_cases.py

Macro figures over no entity types at all are NaN in seqeval (numpy's mean of
an empty array); they are written as null and exemplar reports 0 there.
"""

import importlib.metadata
import json
import math
import random
import warnings
from pathlib import Path

from seqeval.metrics import f1_score
from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "seqeval_cases.json"
SEED = 20240601


def hand_cases():
    """Named cases for the conventions that matter."""
    return [
        (
            "seqeval README example",
            [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
            [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
        ),
        ("perfect", [["B-X", "I-X", "O", "B-Y"]], [["B-X", "I-X", "O", "B-Y"]]),
        ("empty prediction", [["B-X", "I-X", "O"], ["B-Y"]], [["O", "O", "O"], ["O"]]),
        ("no entities anywhere", [["O", "O"], ["O"]], [["O", "O"], ["O"]]),
        ("prediction only", [["O", "O", "O"]], [["B-X", "O", "B-Y"]]),
        ("I- after O opens a chunk", [["O", "B-X", "I-X"]], [["O", "I-X", "I-X"]]),
        ("I- at sentence start", [["B-X", "O"], ["B-Y"]], [["I-X", "O"], ["I-Y"]]),
        ("adjacent B-B chunks", [["B-X", "B-X", "B-X"]], [["B-X", "I-X", "B-X"]]),
        ("type change inside I- run", [["B-X", "I-X", "B-Y", "I-Y"]], [["B-X", "I-X", "I-Y", "I-Y"]]),
        ("type confusion", [["B-X", "I-X", "O", "B-Y"]], [["B-Y", "I-Y", "O", "B-X"]]),
        ("boundary errors", [["B-X", "I-X", "I-X", "O", "B-X"]], [["B-X", "I-X", "O", "O", "B-X"]]),
        ("BIOES tags", [["S-X", "B-Y", "E-Y", "O", "B-X", "I-X", "E-X"]], [["S-X", "B-Y", "I-Y", "O", "B-X", "E-X", "E-X"]]),
        ("E- and S- after O", [["O", "E-X", "O", "S-Y", "I-Y"]], [["O", "B-X", "O", "S-Y", "B-Y"]]),
        ("types with hyphens", [["B-Gene-or-protein", "I-Gene-or-protein", "O"]], [["B-Gene-or-protein", "O", "O"]]),
        ("chunks do not cross sentences", [["O", "B-X"], ["I-X", "O"]], [["O", "B-X"], ["B-X", "O"]]),
        (
            "many types, unequal support",
            [["B-A", "O", "B-B", "I-B", "O", "B-C"], ["B-A", "B-A", "O", "B-D"]],
            [["B-A", "O", "B-B", "O", "O", "O"], ["B-A", "O", "O", "B-C"]],
        ),
    ]


def random_tags(rng, length, types, schemes):
    tags = []
    for _ in range(length):
        if rng.random() < 0.45:
            tags.append("O")
        else:
            tags.append(f"{rng.choice(schemes)}-{rng.choice(types)}")
    return tags


def perturb(rng, tags, types, schemes):
    """A noisy copy, so that predictions share some chunks with the gold."""
    out = []
    for tag in tags:
        roll = rng.random()
        if roll < 0.65:
            out.append(tag)
        elif roll < 0.8:
            out.append("O")
        else:
            out.append(f"{rng.choice(schemes)}-{rng.choice(types)}")
    return out


def random_cases(rng, count):
    cases = []
    for n in range(count):
        types = ["Disease", "Chemical", "Gene"][: 1 + n % 3]
        schemes = ["B", "I"] if n % 4 else ["B", "I", "E", "S"]
        gold, pred = [], []
        for _ in range(rng.randint(1, 8)):
            tags = random_tags(rng, rng.randint(0, 15), types, schemes)
            gold.append(tags)
            pred.append(perturb(rng, tags, types, schemes))
        cases.append((f"random {n + 1} ({len(types)} types, {'/'.join(schemes)})", gold, pred))
    return cases


def repairs(sentences):
    """I-/E- tags that continue no chunk: after O, after another type, after
    an E-/S- closed one, or first in the sentence."""
    count = 0
    for tags in sentences:
        previous = "O"
        for tag in tags:
            continues = previous[:2] in ("B-", "I-") and previous[2:] == tag[2:]
            count += tag[:2] in ("I-", "E-") and not continues
            previous = tag
    return count


def iob2_tags(rng, length, types):
    """Valid IOB2: an I- only inside a chunk of its type."""
    tags = []
    for _ in range(length):
        roll = rng.random()
        if tags and tags[-1] != "O" and roll < 0.3:
            tags.append("I-" + tags[-1][2:])
        elif roll < 0.65:
            tags.append("O")
        else:
            tags.append("B-" + rng.choice(types))
    return tags


def lenient_cases(rng, count):
    """Predictions with I- after O or after another type, as models write
    them, against valid IOB2 gold: named ones, then noisy copies in which
    some B- became I-."""
    cases = [
        ("lenient: I- after O", [["O", "B-X", "I-X", "O", "B-X"]], [["O", "I-X", "I-X", "O", "I-X"]]),
        ("lenient: I- after another type", [["B-X", "I-X", "B-Y", "I-Y"]], [["B-X", "I-X", "I-Y", "I-Y"]]),
        ("lenient: I- after B- of another type", [["B-X", "B-Y", "O"], ["B-Y", "I-Y"]], [["B-X", "I-Y", "O"], ["I-X", "I-Y"]]),
        ("lenient: I- runs of alternating types", [["B-X", "B-Y", "B-X", "O"]], [["I-X", "I-Y", "I-X", "O"]]),
    ]
    for n in range(count):
        types = ["Disease", "Chemical", "Gene"][: 1 + n % 3]
        gold, pred = [], []
        for _ in range(rng.randint(1, 8)):
            tags = iob2_tags(rng, rng.randint(1, 15), types)
            noisy = perturb(rng, tags, types, ["B", "I"])
            gold.append(tags)
            pred.append(["I-" + t[2:] if t.startswith("B-") and rng.random() < 0.5 else t for t in noisy])
        cases.append((f"lenient random {n + 1} ({len(types)} types)", gold, pred))
    return cases


def number(x):
    x = float(x)
    return None if math.isnan(x) else x


def expected(gold, pred):
    """seqeval's default-mode figures for one case."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-division warnings: seqeval then reports 0
        micro = precision_recall_fscore_support(gold, pred, average="micro")
        macro = precision_recall_fscore_support(gold, pred, average="macro")
        per_type = precision_recall_fscore_support(gold, pred, average=None)
        assert math.isclose(f1_score(gold, pred), micro[2])  # the public entry point agrees
    types = sorted({t for t, _, _ in get_entities(gold)} | {t for t, _, _ in get_entities(pred)})
    prf = lambda p, r, f: {"precision": number(p), "recall": number(r), "f1": number(f)}
    return {
        "micro": prf(*micro[:3]),
        "macro": prf(*macro[:3]),
        "per_type": {
            t: {**prf(p, r, f), "support": int(s)}
            for t, p, r, f, s in zip(types, *per_type)
        },
    }


def main():
    rng = random.Random(SEED)
    cases = [
        {
            "name": name,
            "gold": gold,
            "pred": pred,
            "gold_repairs": repairs(gold),
            "pred_repairs": repairs(pred),
            "expected": expected(gold, pred),
        }
        for name, gold, pred in hand_cases() + random_cases(rng, 16) + lenient_cases(rng, 8)
    ]
    header = {
        "generator": "scripts/make_seqeval_cases.py",
        "seqeval": importlib.metadata.version("seqeval"),
        "seed": SEED,
    }
    # One case a line: small diffs when the generator changes.
    lines = ",\n".join(json.dumps(case) for case in cases)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(header)[:-1] + ', "cases": [\n' + lines + "\n]}\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
