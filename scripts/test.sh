#!/usr/bin/env bash
# The README's second command, and what .ci/run calls: sets everything up on
# a fresh machine, then runs the whole test suite (unit, property, snapshot,
# integration and doc tests) against the real model and corpora.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
cargo test --all-targets --no-fail-fast
cargo test --doc
