#!/usr/bin/env bash
# Load test of `exemplar serve` on this machine, loopback only: starts the
# server on a free 127.0.0.1 port over indexes/ncbi-disease (built as
# scripts/demo.sh does), drives POST /v1/select with wrk for DURATION seconds
# per scenario, prints throughput, p50/p99 latency, errors and the server's
# RSS before and after each scenario, then stops the server (SIGTERM).
# A last "soak" scenario holds 32-sentence batches for SOAK seconds (default
# 180) while the server's RSS is sampled every 5 s, and compares the peak RSS
# of its first minute with that of its last minute.
#
#   scripts/loadtest.sh                     # 30 s per scenario, 180 s soak
#   DURATION=5 SOAK=0 scripts/loadtest.sh   # a quick run, no soak
#   EXEMPLAR=target/debug/exemplar scripts/loadtest.sh   # this binary, no release build
#
# Scenarios: single sentences one at a time (1 connection: the unloaded
# latency), single sentences and 32-sentence batches over CONNECTIONS
# connections (default 8) from THREADS wrk threads (default 2). Sentences come
# from data/ncbi-disease/devel.tsv; K demonstrations each (default 16).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION="${DURATION:-30}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-8}"
K="${K:-16}"
SOAK="${SOAK:-180}"

if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

# $EXEMPLAR_MODELS: models set up elsewhere (by scripts/setup.sh there).
[[ -n "${EXEMPLAR_MODELS:-}" ]] || scripts/setup.sh
exemplar="${EXEMPLAR:-target/release/exemplar}"
[[ -n "${EXEMPLAR:-}" ]] || cargo build --release --quiet
index=indexes/ncbi-disease
# Rebuild unless a sound index of the current model is already there.
if ! $exemplar select --quiet --index "$index" --text "probe" --k 1 >/dev/null 2>&1; then
    $exemplar index build data/ncbi-disease/train.tsv --format conll --out "$index"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Request bodies, one JSON document a line: each sentence alone, and windows of 32.
python3 - "$work" "$K" <<'EOF'
import json, sys
work, k = sys.argv[1], int(sys.argv[2])
sentences, tokens = [], []
for line in open("data/ncbi-disease/devel.tsv", encoding="utf-8"):
    line = line.rstrip("\n")
    if line:
        tokens.append(line.split("\t")[0])
    elif tokens:
        sentences.append(" ".join(tokens))
        tokens = []
if tokens:
    sentences.append(" ".join(tokens))
with open(f"{work}/single.jsonl", "w") as out:
    for s in sentences:
        out.write(json.dumps({"text": s, "k": k}) + "\n")
with open(f"{work}/batch32.jsonl", "w") as out:
    for i in range(0, len(sentences) - 31, 32):
        out.write(json.dumps({"texts": sentences[i:i + 32], "k": k}) + "\n")
EOF

cat >"$work/post.lua" <<'EOF'
-- Cycles through the request bodies in the file given after `--`, each
-- thread from its own starting point; prints a summary when done.
local bodies, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  i = math.random(#bodies)
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/select", {["Content-Type"] = "application/json"}, bodies[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "requests=%d throughput=%.1f/s p50=%.1fms p99=%.1fms non2xx=%d socket_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
EOF

$exemplar serve --index "$index" --addr 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 600); do
    grep -q '^listening on ' "$work/serve.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
done
base="$(sed -n 's/^listening on //p' "$work/serve.out")"
[[ "$base" == http://127.0.0.1:* ]] || { echo "the server did not start" >&2; exit 1; }
echo "exemplar serve at $base (pid $server_pid), $(nproc) cores, ${DURATION}s per scenario"

rss() { awk '/^VmRSS/ { printf "%.0fMiB", $2 / 1024 }' "/proc/$server_pid/status"; }

scenario() { # name threads connections bodies
    local name="$1" threads="$2" connections="$3" bodies="$4"
    local before summary
    before="$(rss)"
    summary="$(wrk -t"$threads" -c"$connections" -d"${DURATION}s" --timeout 35s \
        -s "$work/post.lua" "$base" -- "$bodies" | tail -n 1)"
    printf '%-22s %s rss_before=%s rss_after=%s\n' "$name" "$summary" "$before" "$(rss)"
}

# soak SECONDS: batches for SECONDS with RSS sampled every 5 s; compares the
# peak of the first minute with the peak of the last.
soak() {
    local seconds="$1" samples="$work/rss.tsv" summary sampler
    (
        start=$SECONDS
        while kill -0 "$server_pid" 2>/dev/null; do
            printf '%d\t%s\n' $((SECONDS - start)) "$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")"
            sleep 5
        done
    ) >"$samples" &
    sampler=$!
    summary="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout 35s \
        -s "$work/post.lua" "$base" -- "$work/batch32.jsonl" | tail -n 1)"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    awk -v name="soak batch32 c$CONNECTIONS" -v summary="$summary" -v last="$((seconds - 60))" '
        $1 <= 60 && $2 > first { first = $2 }
        $1 >= last && $2 > final { final = $2 }
        END {
            if (first == 0) { printf "%-22s %s rss not sampled (server gone?)\n", name, summary; exit 1 }
            printf "%-22s %s rss_first_minute_peak=%.0fMiB rss_last_minute_peak=%.0fMiB growth=%+.1f%%\n",
                name, summary, first / 1024, final / 1024, 100 * (final - first) / first
        }' "$samples"
}

scenario "single c1" 1 1 "$work/single.jsonl"
scenario "single c$CONNECTIONS" "$THREADS" "$CONNECTIONS" "$work/single.jsonl"
scenario "batch32 c$CONNECTIONS" "$THREADS" "$CONNECTIONS" "$work/batch32.jsonl"
if (( SOAK >= 120 )); then
    soak "$SOAK"
elif (( SOAK > 0 )); then
    echo "SOAK=$SOAK is under 120 s: no first and last minute to compare, skipped" >&2
fi

kill -TERM "$server_pid"
wait "$server_pid" && echo "server stopped cleanly" || echo "server exited with status $?"
server_pid=""
