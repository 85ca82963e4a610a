#!/usr/bin/env bash
# Builds the Python package `exemplar` (python/: PyO3 + maturin, one abi3
# wheel for CPython >= 3.9) and installs it into .cache/python-venv, the venv
# of python/requirements.txt (maturin, pytest, numpy and the adapters'
# langchain-core and dspy, pinned, from PyPI; kept in the cache outside the
# clone, see scripts/cache.sh). Idempotent: the venv is made once per
# requirements file and interpreter; the wheel, being this checkout's code, is
# rebuilt every run, incrementally in the shared target/.
#
#   scripts/python.sh            build (release) and install; the last line is the venv's python
#   EXEMPLAR_PY_PROFILE=dev ...  build with the dev profile (faster to compile)
#
# Nothing is downloaded but the venv's packages (pip, from PyPI) and the
# crates cargo fetches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV=.cache/python-venv

log() { printf '[python] %s\n' "$*" >&2; }
die() { printf '[python] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/cache.sh
source scripts/cache.sh

ensure_venv python-venv python/requirements.txt "$VENV"
python="$ROOT/$VENV/bin/python"
profile="${EXEMPLAR_PY_PROFILE:-release}"
wheels="$ROOT/target/wheels"

rm -f "$wheels"/exemplar-*.whl
log "building the wheel ($profile profile)"
t0=$SECONDS
"$ROOT/$VENV/bin/maturin" build --quiet --manifest-path python/Cargo.toml --profile "$profile" \
    --interpreter "$python" --out "$wheels" >&2 || die "maturin build failed"
wheel="$(ls "$wheels"/exemplar-*.whl)"
log "built $(basename "$wheel") in $((SECONDS - t0)) s"
# The wheel only: its dependencies (numpy) and extras are in the requirements.
"$python" -m pip install --quiet --force-reinstall --no-deps "$wheel" >&2
"$python" -c 'import exemplar' || die "the installed package does not import"
echo "$python"
