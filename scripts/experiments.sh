#!/usr/bin/env bash
# Reproduces docs/experiments.md: the selection strategies (k-NN, random, BM25,
# hybrid, MMR, type coverage) and knowledge hints (gazetteer, HPO; zero-shot and
# on top of k-NN) with a local LLM (llama-server, Gemma 3 270M Q4_K_M) on
# NCBI-disease and BC5CDR, and the LLM-free `exemplar compare`
# table on all four shipped corpora (docs/experiments/compare-*.json).
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

index() { # NAME CORPUS... [OPTIONS]: builds indexes/NAME (CoNLL unless told) unless it opens
    local name="$1"
    shift
    $exemplar select --quiet --index "indexes/$name" --text probe --k 1 >/dev/null 2>&1 ||
        $exemplar index build "$@" --out "indexes/$name"
}
index ncbi-disease data/ncbi-disease/train.tsv
index bc5cdr "$SHARED/bc5cdr/train.tsv"
index bionlp13cg "$SHARED/bionlp13cg/train.tsv"
# MedQA-USMLE-Symp has no split: batches 1-2 are the pool, batch 3 the queries.
index medqa-usmle-symp "$SHARED/medqa-usmle-symp/batch1" "$SHARED/medqa-usmle-symp/batch2" \
    --format brat --skip-invalid-spans

wanted() { # NAME: whether this run was asked for (all when none was named)
    ((${#only[@]} == 0)) || [[ " ${only[*]} " =~ " $1 " ]]
}

compare() { # NAME INDEX QUERIES FORMAT...
    wanted "compare-$1" || return 0
    $exemplar compare --quiet --index "indexes/$2" --queries "$3" "${@:4}" --k 8 --seed 42 --json \
        > "docs/experiments/compare-$1.json"
}
compare ncbi-disease     ncbi-disease     data/ncbi-disease/test.tsv            --format conll
compare bc5cdr           bc5cdr           "$SHARED/bc5cdr/test.tsv"             --format conll
compare bionlp13cg       bionlp13cg       "$SHARED/bionlp13cg/test.tsv"         --format conll
compare medqa-usmle-symp medqa-usmle-symp "$SHARED/medqa-usmle-symp/batch3" --format brat --skip-invalid-spans

run() { # NAME INDEX TEST LIMIT PROMPT K [STRATEGIES [KNOWLEDGE]]
    wanted "$1" || return 0
    local knowledge=()
    [[ -n "${8:-}" ]] && knowledge=(--knowledge "$8")
    $exemplar run --index "indexes/$2" --test "$3" --format conll --limit "$4" \
        --prompt "$5" --k "$6" --strategy "${7:-knn,random}" --seed 42 "${knowledge[@]}" \
        --backend "$url" --llm-model gemma-3-270m --max-tokens 160 --context 4096 --concurrency 1 \
        --out "runs/$1"
}
run ncbi-tanl-k8      ncbi-disease data/ncbi-disease/test.tsv 200 tanl 8
run bc5cdr-tanl-k8    bc5cdr       "$SHARED/bc5cdr/test.tsv"  200 tanl 8
all=random,knn,bm25,hybrid,mmr,coverage
run ncbi-strategies-tanl-k8   ncbi-disease data/ncbi-disease/test.tsv 200 tanl 8 "$all"
run bc5cdr-strategies-tanl-k8 bc5cdr       "$SHARED/bc5cdr/test.tsv"  200 tanl 8 "$all"
# `list` for the two best strategies of each corpus in the TANL runs above, with knn as the reference.
run ncbi-best-list-k8   ncbi-disease data/ncbi-disease/test.tsv 200 list 8 knn,coverage,hybrid
run bc5cdr-best-list-k8 bc5cdr       "$SHARED/bc5cdr/test.tsv"  200 list 8 knn,bm25,mmr
# Knowledge (hints from the index's gazetteer or HPO), zero-shot and on top of knn.
for corpus in ncbi bc5cdr; do
    case $corpus in
        ncbi) args=(ncbi-disease data/ncbi-disease/test.tsv) ;;
        bc5cdr) args=(bc5cdr "$SHARED/bc5cdr/test.tsv") ;;
    esac
    run "$corpus-knn-tanl-k8"             "${args[@]}" 200 tanl 8 knn
    run "$corpus-zeroshot-tanl"           "${args[@]}" 200 tanl 0 knn
    run "$corpus-zeroshot-gazetteer-tanl" "${args[@]}" 200 tanl 0 knn gazetteer
    run "$corpus-zeroshot-hpo-tanl"       "${args[@]}" 200 tanl 0 knn hpo
    run "$corpus-knn-hpo-tanl-k8"         "${args[@]}" 200 tanl 8 knn hpo
    run "$corpus-knn-gazetteer-tanl-k8"   "${args[@]}" 200 tanl 8 knn gazetteer
done
run ncbi100-tanl-k4   ncbi-disease data/ncbi-disease/test.tsv 100 tanl 4
run ncbi100-tanl-k8   ncbi-disease data/ncbi-disease/test.tsv 100 tanl 8
run ncbi100-tanl-k16  ncbi-disease data/ncbi-disease/test.tsv 100 tanl 16
run ncbi100-list-k8   ncbi-disease data/ncbi-disease/test.tsv 100 list 8
