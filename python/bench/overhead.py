"""What Python costs over the Rust library, and what threads gain.

1. Overhead: k demonstrations for N queries in one batch, through
   ``Index.select`` and through the library (``examples/select_batch.rs``,
   the same encoder settings), with embedding and with the queries already
   embedded; prints both medians and Python's extra in percent.
2. Threads: the same queries one ``select`` call each, from 1 and from 4
   Python threads (the GIL is released inside), as queries per second.

    python python/bench/overhead.py [--index DIR] [--n 1000] [--k 16] [--repeats 5]

Without ``--index`` the NCBI-disease training split is indexed first. Needs
the Rust example built: ``cargo build --release --example select_batch``.
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import exemplar

REPO = Path(__file__).resolve().parents[2]
NCBI = REPO / "data" / "ncbi-disease"


def median_seconds(repeats, run):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def threads_qps(index, texts, k, threads):
    def one(text):
        return index.select(text, k=k)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, texts))
    return len(texts) / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--queries", type=Path, nargs="+", default=[NCBI / "devel.tsv", NCBI / "test.tsv"])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rust", type=Path, default=REPO / "target" / "release" / "examples" / "select_batch")
    args = parser.parse_args()

    encoder = exemplar.Encoder()
    if args.index is None:
        args.index = Path(tempfile.mkdtemp()) / "ncbi-train"
        exemplar.Index.build(NCBI / "train.tsv", out=args.index, encoder=encoder)
    index = exemplar.Index.open(args.index, encoder=encoder)
    texts = [s["text"] for s in exemplar.read_corpus(args.queries)[: args.n]]
    vectors = encoder.embed(texts)

    rust = json.loads(subprocess.run(
        [str(args.rust), str(args.index), str(args.n), str(args.k), str(args.repeats), *map(str, args.queries)],
        check=True, capture_output=True, text=True).stdout)
    python = {
        "select_s": median_seconds(args.repeats, lambda: index.select(texts, k=args.k)),
        "select_embedded_s": median_seconds(args.repeats, lambda: index.select(texts, k=args.k, vectors=vectors)),
    }
    print(f"{len(texts)} queries, k={args.k}, median of {args.repeats}")
    for key, what in [("select_s", "embed + select"), ("select_embedded_s", "select (embedded)")]:
        extra = 100 * (python[key] / rust[key] - 1)
        print(f"  {what:18}  rust {rust[key]:8.4f} s  python {python[key]:8.4f} s  overhead {extra:+5.1f}%")

    single = threads_qps(index, texts, args.k, 1)
    four = threads_qps(index, texts, args.k, 4)
    print(f"one select call a query: 1 thread {single:7.1f} q/s, 4 threads {four:7.1f} q/s ({four / single:.2f}x)")


if __name__ == "__main__":
    main()
