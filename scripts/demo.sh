#!/usr/bin/env bash
# The README's first command: sets everything up on a fresh machine, indexes
# the NCBI-disease training split shipped in data/, and prints the k-NN
# demonstrations chosen for a sentence of its test split.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh
cargo build --release --quiet
exemplar=target/release/exemplar

index=indexes/ncbi-disease
# Rebuild unless a sound index of the current model is already there.
if ! $exemplar select --quiet --index "$index" --text "probe" --k 1 >/dev/null 2>&1; then
    $exemplar index build data/ncbi-disease/train.tsv --format conll --out "$index"
fi

# The first sentence of the NCBI-disease test split.
query="$(awk -F'\t' 'NF == 0 { exit } { printf "%s%s", sep, $1; sep = " " }' data/ncbi-disease/test.tsv)"
$exemplar select --index "$index" --text "$query" --k 8 --strategy knn
