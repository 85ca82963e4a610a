#!/usr/bin/env bash
# The README's second command, and what .ci/run calls: sets everything up on
# a fresh machine (ONNX Runtime and the sentence encoder; llama-server and
# Gemma 3 270M for the end-to-end tests; hnswlib, FAISS and usearch for the
# peer comparison script; rank-bm25 for the BM25 reference), then runs the whole test suite
# (unit, property, snapshot, integration, LLM end-to-end and doc tests, then
# the Python package's pytest suite) against the real model, corpora and LLM server.
#
# The pinned third-party builds and downloads are cached outside the clone
# (scripts/cache.sh), so on a machine that ran this before, the set-up only
# checks them. Where `cargo test` alone skips a test for want of the model or
# llama-server, here that is a failure (EXEMPLAR_FULL_TESTS=1).
# Prints the time each phase took at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export EXEMPLAR_FULL_TESTS=1
timings=()

phase() { # phase NAME COMMAND ARGS...: runs it and records its wall time
    local name="$1" t0=$SECONDS
    shift
    printf '[test] === %s\n' "$name"
    "$@"
    timings+=("$(printf '%-26s %5d s' "$name" $((SECONDS - t0)))")
}

phase "setup.sh" scripts/setup.sh
phase "llama.sh install gemma" scripts/llama.sh install gemma
phase "peers.sh --setup" scripts/peers.sh --setup
phase "bm25_reference.sh --setup" scripts/bm25_reference.sh --setup
phase "cargo test --all-targets" cargo test --all-targets --no-fail-fast
phase "cargo test --doc" cargo test --doc
# The Python package (scripts/python.sh: venv, wheel, install), then its
# tests against the debug binary the cargo phases built (under CI=true
# without pytest's cache directory, and listing the skipped, which fail here).
python_tests() {
    local python flags=(-q -rs)
    python="$(scripts/python.sh | tail -1)"
    if [[ "${CI:-}" == true ]]; then
        flags+=(-p no:cacheprovider)
    fi
    EXEMPLAR_BIN="$PWD/target/debug/exemplar" "$python" -m pytest "${flags[@]}" python/tests
}
phase "python.sh + pytest" python_tests

printf '[test] phase times:\n'
printf '[test]   %s\n' "${timings[@]}"
