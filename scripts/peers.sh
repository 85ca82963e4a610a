#!/usr/bin/env bash
# Side-by-side retrieval benchmark: exemplar against hnswlib, FAISS and usearch
# on exactly the same vectors, with the same M, ef_construction, ef_search, k
# and threads. Builds exemplar (release), runs `exemplar bench` with --export,
# then scripts/peers.py in its own venv (pinned in scripts/peers-requirements.txt,
# from PyPI; kept in the cache outside the clone, see scripts/cache.sh, and
# linked at .cache/peers-venv). Prints one table per part and ends
# with the line `ratio exemplar/fastest-peer p50 at recall@10>=0.99: X`.
#
#   scripts/peers.sh                        100k synthetic 384-d vectors (seed 42)
#   scripts/peers.sh --synthetic 1000000    any `exemplar bench` arguments
#   OUT=runs/peers scripts/peers.sh         where bench.json, bench.md, peers.md go
#   LIBRARIES=hnswlib,faiss scripts/peers.sh   a subset of the peers
#   scripts/peers.sh --setup                only create the venv (scripts/test.sh does)
#
# Takes ~5 minutes at 100k on 2 cores, ~50 at 1M (~9 GiB); the exact ground
# truth and the HNSW builds dominate. Measure on an otherwise idle machine:
# latencies of both sides move with the load.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${OUT:-runs/peers}"
VENV=.cache/peers-venv
THREADS="${THREADS:-$(nproc)}"
LIBRARIES="${LIBRARIES:-hnswlib,faiss,usearch,usearch-i8,faiss-flat}"

log() { printf '[peers] %s\n' "$*" >&2; }
die() { printf '[peers] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/cache.sh
source scripts/cache.sh

# hnswlib builds from source: about a minute the first time.
ensure_venv peers-venv scripts/peers-requirements.txt "$VENV"

[[ "${1:-}" == --setup ]] && exit 0

log "building exemplar (release)"
cargo build --release --quiet
args=("$@")
[[ ${#args[@]} -eq 0 ]] && args=(--synthetic 100000)
mkdir -p "$OUT"
log "exemplar bench ${args[*]}"
RAYON_NUM_THREADS="$THREADS" ./target/release/exemplar bench "${args[@]}" --export "$OUT" --out "$OUT" >/dev/null
log "peers on the same vectors ($THREADS threads)"
"$VENV/bin/python" scripts/peers.py --bench "$OUT" --threads "$THREADS" --libraries "$LIBRARIES" --json "$OUT/peers.json" | tee "$OUT/peers.md"
