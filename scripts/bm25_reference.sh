#!/usr/bin/env bash
# The venv of Python rank-bm25, the independent reference tests/lexical.rs
# checks exemplar's BM25 against (pinned in scripts/bm25-requirements.txt,
# from PyPI; kept in the cache outside the clone, see scripts/cache.sh, and
# linked at .cache/bm25-venv). Then runs scripts/bm25_reference.py on stdin.
#
#   scripts/bm25_reference.sh --setup        only create the venv (scripts/test.sh does)
#   scripts/bm25_reference.sh < job.json     the reference's top-k (see bm25_reference.py)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV=.cache/bm25-venv

log() { printf '[bm25] %s\n' "$*" >&2; }
die() { printf '[bm25] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/cache.sh
source scripts/cache.sh

ensure_venv bm25-venv scripts/bm25-requirements.txt "$VENV"

[[ "${1:-}" == --setup ]] && exit 0
exec "$VENV/bin/python" scripts/bm25_reference.py
