#!/usr/bin/env bash
# The README's second command, and what .ci/run calls: sets everything up on
# a fresh machine (ONNX Runtime and the sentence encoder; llama-server and
# Gemma 3 270M for the end-to-end tests; hnswlib, FAISS and usearch for the
# peer comparison script), then runs the whole test suite
# (unit, property, snapshot, integration and doc tests) against the real
# model, corpora and LLM server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
scripts/llama.sh install gemma
scripts/peers.sh --setup
cargo test --all-targets --no-fail-fast
cargo test --doc
