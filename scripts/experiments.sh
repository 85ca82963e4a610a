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

index() { # NAME CORPUS... [OPTIONS]: builds indexes/NAME (CoNLL unless told) unless it
    # opens with its mention index; an index built before mention indexes gets one added.
    local name="$1"
    shift
    probe() { $exemplar select --quiet --index "indexes/$name" --text probe --k 1 --strategy entity >/dev/null 2>&1; }
    probe || $exemplar index mentions --quiet "indexes/$name" >/dev/null 2>&1 || true
    probe || $exemplar index build "$@" --out "indexes/$name"
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

# Entity-level retrieval (docs/experiments.md, "Entity-level retrieval"). Every
# prompt computed afresh by the server (--no-prompt-cache), so reruns give the
# same answers; the first pass of sources=llm is the knn arm's own requests.
entity_run() { # NAME INDEX TEST STRATEGIES [OPTIONS...]
    wanted "$1" || return 0
    $exemplar run --index "indexes/$2" --test "$3" --format conll --limit 200 --prompt tanl --k 8 \
        --strategy "$4" --seed 42 "${@:5}" --no-prompt-cache \
        --backend "$url" --llm-model gemma-3-270m --max-tokens 160 --context 4096 --concurrency 1 \
        --out "runs/$1"
}
for corpus in ncbi bc5cdr; do
    case $corpus in
        ncbi) args=(ncbi-disease data/ncbi-disease/test.tsv) ;;
        bc5cdr) args=(bc5cdr "$SHARED/bc5cdr/test.tsv") ;;
    esac
    entity_run "$corpus-base-tanl-k8"       "${args[@]}" knn,bm25,hybrid,random
    entity_run "$corpus-entity-tanl-k8"     "${args[@]}" entity,knn,bm25,hybrid,random
    entity_run "$corpus-entity-llm-tanl-k8" "${args[@]}" entity,knn,bm25 --param sources=llm --param first-pass=knn
    entity_run "$corpus-entity-knn-tanl-k8" "${args[@]}" entity,knn,bm25 --param base=knn
done
entity_run ncbi-entity-unannotated-tanl-k8 ncbi-disease data/ncbi-disease/test.tsv entity,knn --param unannotated=1
# LLM-free: entity's candidate sources alone and combined, on the four corpora
# (docs/experiments/entity/CORPUS-SOURCES.json), and mention vectors with context.
entity_compare() { # NAME INDEX QUERIES OPTIONS...
    wanted "entity-compare-$1" || return 0
    $exemplar compare --quiet --index "$2" --queries "$3" "${@:4}" --k 8 --seed 42 --json \
        > "docs/experiments/entity/$1.json"
}
for sources in lexicon kb ngrams lexicon,ngrams lexicon,kb lexicon,kb,ngrams; do
    common=(--strategy bm25,knn,entity --param "sources=$sources" --knowledge hpo)
    entity_compare "ncbi-disease-$sources" indexes/ncbi-disease data/ncbi-disease/test.tsv "${common[@]}"
    entity_compare "bc5cdr-$sources" indexes/bc5cdr "$SHARED/bc5cdr/test.tsv" --limit 1000 "${common[@]}"
    entity_compare "bionlp13cg-$sources" indexes/bionlp13cg "$SHARED/bionlp13cg/test.tsv" --limit 1000 "${common[@]}"
    entity_compare "medqa-usmle-symp-$sources" indexes/medqa-usmle-symp "$SHARED/medqa-usmle-symp/batch3" \
        --format brat --skip-invalid-spans "${common[@]}"
done
if wanted entity-compare-window2; then
    rm -rf /tmp/exemplar-ncbi-w2 && cp -rL indexes/ncbi-disease /tmp/exemplar-ncbi-w2
    $exemplar index mentions --quiet /tmp/exemplar-ncbi-w2 --mention-window 2
    for sources in ngrams lexicon,ngrams; do
        entity_compare "ncbi-disease-window2-$sources" /tmp/exemplar-ncbi-w2 data/ncbi-disease/test.tsv \
            --strategy bm25,entity --param "sources=$sources"
    done
fi
for base in knn hybrid; do
    entity_compare "ncbi-disease-base-$base" indexes/ncbi-disease data/ncbi-disease/test.tsv --strategy entity --param "base=$base"
done
