"""Runs hnswlib, FAISS (IndexHNSWFlat inner product and exact IndexFlatIP) and
usearch on exactly the vectors `exemplar bench --export` wrote, with the same
M, ef_construction, ef_search, k and thread count, and prints one table per
part with exemplar's rows (read from the same run's bench.json) beside them.

Latency is single-query (one query per call, one thread), timed around the
library call; for the Python libraries it includes the call overhead of their
bindings, a few microseconds. QPS is a batch of all queries over --threads.
Recall@k is measured against exact inner-product search (numpy, float32).

Usage: peers.py --bench DIR [--threads N] [--json OUT]   (see scripts/peers.sh)
"""

import argparse
import importlib.metadata
import json
import os
import sys
import time

import numpy as np


def percentile(values, p):
    """Nearest-rank percentile, as exemplar bench computes it."""
    ordered = sorted(values)
    rank = int(np.ceil(p / 100.0 * len(ordered)))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def exact_truth(base, queries, k, chunk=64):
    """Exact top-k by inner product, a few queries at a time (a 1M-row base
    would not fit a full query x base score matrix in memory)."""
    truth = []
    for start in range(0, len(queries), chunk):
        scores = queries[start : start + chunk] @ base.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        truth += [set(row.tolist()) for row in top]
    return truth


def recall(found, truth):
    hits = sum(len(truth[i] & set(int(x) for x in row if x >= 0)) for i, row in enumerate(found))
    return hits / sum(len(t) for t in truth)


def measure(search_one, search_batch, queries, truth, k):
    """p50/p99 of single queries, QPS of one batch, recall@k."""
    search_one(queries[:1], k)  # warm-up
    micros, found = [], []
    for q in range(len(queries)):
        one = queries[q : q + 1]
        started = time.perf_counter_ns()
        labels = search_one(one, k)
        micros.append((time.perf_counter_ns() - started) / 1000.0)
        found.append(np.asarray(labels).reshape(-1))
    started = time.perf_counter()
    search_batch(queries, k)
    seconds = time.perf_counter() - started
    return {
        "p50_us": percentile(micros, 50),
        "p99_us": percentile(micros, 99),
        "qps": len(queries) / max(seconds, 1e-9),
        "recall": recall(found, truth),
    }


class Hnswlib:
    name = "hnswlib"

    def __init__(self, threads):
        import hnswlib

        self.lib, self.threads = hnswlib, threads

    def version(self):
        return importlib.metadata.version("hnswlib")

    def build(self, base, m, ef_construction, seed):
        index = self.lib.Index(space="ip", dim=base.shape[1])
        index.init_index(max_elements=len(base), ef_construction=ef_construction, M=m, random_seed=seed)
        index.add_items(base, np.arange(len(base)), num_threads=self.threads)
        self.index = index

    def set_ef(self, ef):
        self.index.set_ef(ef)

    def one(self, q, k):
        return self.index.knn_query(q, k=k, num_threads=1)[0]

    def batch(self, qs, k):
        return self.index.knn_query(qs, k=k, num_threads=self.threads)[0]


class FaissHnsw:
    name = "faiss IndexHNSWFlat"

    def __init__(self, threads):
        import faiss

        self.faiss, self.threads = faiss, threads

    def version(self):
        return self.faiss.__version__

    def build(self, base, m, ef_construction, seed):
        self.faiss.omp_set_num_threads(self.threads)
        index = self.faiss.IndexHNSWFlat(base.shape[1], m, self.faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(base)
        self.index = index

    def set_ef(self, ef):
        self.index.hnsw.efSearch = ef

    def one(self, q, k):
        self.faiss.omp_set_num_threads(1)
        return self.index.search(q, k)[1]

    def batch(self, qs, k):
        self.faiss.omp_set_num_threads(self.threads)
        return self.index.search(qs, k)[1]


class FaissFlat(FaissHnsw):
    name = "faiss IndexFlatIP (exact)"

    def build(self, base, m, ef_construction, seed):
        self.index = self.faiss.IndexFlatIP(base.shape[1])
        self.index.add(base)

    def set_ef(self, ef):
        pass


class Usearch:
    """usearch with float32 vectors, or (dtype "i8") with its own 8-bit
    quantization, the nearest thing among the peers to exemplar's int8 walk."""

    def __init__(self, threads, dtype="f32"):
        import usearch.index

        self.lib, self.threads, self.dtype = usearch.index, threads, dtype
        self.name = "usearch" if dtype == "f32" else f"usearch ({dtype})"

    def version(self):
        return importlib.metadata.version("usearch")

    def build(self, base, m, ef_construction, seed):
        index = self.lib.Index(
            ndim=base.shape[1], metric="ip", dtype=self.dtype, connectivity=m, expansion_add=ef_construction
        )
        index.add(np.arange(len(base)), base, threads=self.threads)
        self.index = index

    def set_ef(self, ef):
        self.index.expansion_search = ef

    def one(self, q, k):
        return self.index.search(q[0], k, threads=1).keys

    def batch(self, qs, k):
        return self.index.search(qs, k, threads=self.threads).keys


def run_peer(peer, base, queries, truth, part, efs, threads):
    started = time.perf_counter()
    peer.build(base, part["m"], part["ef_construction"], part.get("data_seed") or 42)
    build_seconds = time.perf_counter() - started
    rows = []
    for ef in efs if not isinstance(peer, FaissFlat) else [None]:
        if ef is not None:
            peer.set_ef(ef)
        row = measure(peer.one, peer.batch, queries, truth, part["k"])
        row.update(library=f"{peer.name} {peer.version()}", ef=ef, build_seconds=build_seconds)
        rows.append(row)
        print(f"  {row['library']:<36} ef {str(ef):>4}: recall {row['recall']:.4f} p50 {row['p50_us']:.1f} us",
              file=sys.stderr)
    return rows


EXEMPLAR = "exemplar"


def exemplar_rows(part):
    """exemplar's rows of bench.json; the int8 walk is what `Index::search` does."""
    return [
        dict(library=EXEMPLAR if r["walk"] == "int8" else f"{EXEMPLAR} ({r['walk']} walk)", ef=r["ef"], recall=r["recall"], p50_us=r["p50_us"], p99_us=r["p99_us"],
             qps=r["qps"], build_seconds=part.get("build_seconds"))
        for r in part["search"]
    ]


def fastest_at(rows, target):
    """The row with the smallest ef reaching `target` recall (None if none does)."""
    reaching = [r for r in rows if r["ef"] is not None and r["recall"] >= target]
    return min(reaching, key=lambda r: r["ef"]) if reaching else None


def render(part, rows, target, threads):
    lines = [
        f"## {part['name']}: {part['vectors']} vectors x {part['dim']} dims, {part['queries']} queries, "
        f"k = {part['k']}, M = {part['m']}, ef_construction = {part['ef_construction']}, threads = {threads}",
        "",
        "| library | ef | recall@k | p50 µs | p99 µs | QPS | build s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        build = "" if r["build_seconds"] is None else f"{r['build_seconds']:.1f}"
        ef = "exact" if r["ef"] is None else str(r["ef"])
        lines.append(f"| {r['library']} | {ef} | {r['recall']:.4f} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | "
                     f"{r['qps']:.0f} | {build} |")
    ours = fastest_at([r for r in rows if r["library"] == EXEMPLAR], target)
    peers = {}
    for r in rows:
        if not r["library"].startswith(EXEMPLAR):
            peers.setdefault(r["library"], []).append(r)
    best_peer = min((row for row in (fastest_at(v, target) for v in peers.values()) if row),
                    key=lambda r: r["p50_us"], default=None)
    lines.append("")
    lines.append("exemplar: int8 graph walk, then exact float32 re-scoring (what `exemplar select` and `serve` do)")
    for label, row in (("exemplar", ours), ("fastest peer", best_peer)):
        if row:
            lines.append(f"{label} at recall@{part['k']} >= {target}: {row['library']} ef {row['ef']}, "
                         f"p50 {row['p50_us']:.1f} µs, recall {row['recall']:.4f}")
        else:
            lines.append(f"{label}: no measured ef reaches recall@{part['k']} >= {target}")
    ratio = f"{ours['p50_us'] / best_peer['p50_us']:.2f}" if ours and best_peer else "n/a"
    lines.append(f"ratio exemplar/fastest-peer p50 at recall@10>={target}: {ratio}")
    return "\n".join(lines) + "\n", ratio


def make_peers(names, threads):
    known = {
        "hnswlib": lambda: Hnswlib(threads),
        "faiss": lambda: FaissHnsw(threads),
        "usearch": lambda: Usearch(threads),
        "usearch-i8": lambda: Usearch(threads, "i8"),
        "faiss-flat": lambda: FaissFlat(threads),
    }
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        sys.exit(f"unknown --libraries {', '.join(unknown)}: choose from {', '.join(known)}")
    return [known[n]() for n in wanted]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="directory with bench.json and the exported vectors")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--target", type=float, default=0.99, help="recall@k the ratio line compares at")
    parser.add_argument("--json", help="also write all rows as JSON here")
    parser.add_argument("--libraries", default="hnswlib,faiss,usearch,usearch-i8,faiss-flat",
                        help="comma-separated subset of the peers to run (large sets take long to build)")
    args = parser.parse_args()

    with open(os.path.join(args.bench, "bench.json")) as f:
        report = json.load(f)
    parts = [p for p in report["parts"] if p.get("exported")]
    if not parts:
        sys.exit(f"{args.bench}/bench.json has no exported part: run exemplar bench with --export {args.bench}")
    out, everything = [], []
    for part in parts:
        part["k"] = report["k"]
        folder = os.path.join(args.bench, part["exported"])
        base = np.ascontiguousarray(np.load(os.path.join(folder, "base.npy")), dtype=np.float32)
        queries = np.ascontiguousarray(np.load(os.path.join(folder, "queries.npy")), dtype=np.float32)
        efs = sorted({r["ef"] for r in part["search"]})
        print(f"{part['name']}: exact ground truth for {len(queries)} queries", file=sys.stderr)
        truth = exact_truth(base, queries, part["k"])
        rows = exemplar_rows(part)
        for peer in make_peers(args.libraries, args.threads):
            rows += run_peer(peer, base, queries, truth, part, efs, args.threads)
        text, ratio = render(part, rows, args.target, args.threads)
        out.append(text)
        everything.append({"part": part["name"], "rows": rows, "ratio": ratio})
    print("\n".join(out), end="")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(everything, f, indent=2)


if __name__ == "__main__":
    main()
