#!/usr/bin/env bash
# Reproduces docs/experiments.md: k-NN against random demonstrations with a
# local LLM (llama-server, Gemma 3 270M Q4_K_M), on NCBI-disease and BC5CDR.
# Answers are cached in .cache/responses.jsonl, so an interrupted run picks up
# where it stopped and a rerun costs nothing.
#
#   scripts/experiments.sh            all runs, in order
#   scripts/experiments.sh NAME...    only these runs (e.g. to spread them over
#                                     two servers: PORT=8091 scripts/experiments.sh bc5cdr-tanl-k8)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PORT="${PORT:-8090}"
THREADS="${THREADS:-1}"
SHARED="${SHARED:-../shared/data}"
only=("$@")

scripts/setup.sh
scripts/llama.sh install gemma
cargo build --release --quiet
exemplar=target/release/exemplar
url="$(scripts/llama.sh start --model gemma --port "$PORT" --threads "$THREADS" | tail -n 1)"
trap 'scripts/llama.sh stop --port "$PORT"' EXIT

index() { # NAME TRAIN
    $exemplar select --quiet --index "indexes/$1" --text probe --k 1 >/dev/null 2>&1 ||
        $exemplar index build "$2" --format conll --out "indexes/$1"
}
index ncbi-disease data/ncbi-disease/train.tsv
index bc5cdr "$SHARED/bc5cdr/train.tsv"

run() { # NAME INDEX TEST LIMIT PROMPT K
    if (($# > 0 && ${#only[@]} > 0)) && [[ ! " ${only[*]} " =~ " $1 " ]]; then
        return
    fi
    $exemplar run --index "indexes/$2" --test "$3" --format conll --limit "$4" \
        --prompt "$5" --k "$6" --strategy knn,random --seed 42 \
        --backend "$url" --llm-model gemma-3-270m --max-tokens 160 --context 4096 --concurrency 1 \
        --out "runs/$1"
}
run ncbi-tanl-k8      ncbi-disease data/ncbi-disease/test.tsv 200 tanl 8
run bc5cdr-tanl-k8    bc5cdr       "$SHARED/bc5cdr/test.tsv"  200 tanl 8
run ncbi100-tanl-k4   ncbi-disease data/ncbi-disease/test.tsv 100 tanl 4
run ncbi100-tanl-k8   ncbi-disease data/ncbi-disease/test.tsv 100 tanl 8
run ncbi100-tanl-k16  ncbi-disease data/ncbi-disease/test.tsv 100 tanl 16
run ncbi100-list-k8   ncbi-disease data/ncbi-disease/test.tsv 100 list 8
