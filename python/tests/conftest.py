"""Shared fixtures: the repository, the real binary, the real model, one
NCBI-disease index built through the bindings for the whole session.

Without the model a test is skipped, saying why; under EXEMPLAR_FULL_TESTS=1
(scripts/test.sh) that is a failure instead, as in the Rust suite.
"""

import os
import subprocess
from pathlib import Path

import pytest

import exemplar

REPO = Path(__file__).resolve().parents[2]
NCBI = REPO / "data" / "ncbi-disease"


def require(condition: bool, why: str) -> None:
    """Skips (or, under EXEMPLAR_FULL_TESTS=1, fails) unless ``condition``."""
    if condition:
        return
    if os.environ.get("EXEMPLAR_FULL_TESTS"):
        pytest.fail(f"{why} (EXEMPLAR_FULL_TESTS=1 makes this a failure)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def binary() -> Path:
    """The exemplar binary: $EXEMPLAR_BIN, else target/debug/exemplar."""
    path = Path(os.environ.get("EXEMPLAR_BIN", REPO / "target" / "debug" / "exemplar"))
    require(path.is_file(), f"no exemplar binary at {path} (cargo build, or set EXEMPLAR_BIN)")
    return path


def run_cli(binary: Path, *args: str) -> str:
    """stdout of the binary run from the repository root; fails on a non-zero exit."""
    done = subprocess.run([str(binary), "--quiet", *args], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, f"exemplar {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def encoder() -> exemplar.Encoder:
    """The default model, found as the CLI finds it."""
    try:
        return exemplar.Encoder()
    except exemplar.ModelError as error:
        require(False, f"no sentence encoder: {error}")
        raise


@pytest.fixture(scope="session")
def ncbi_index(tmp_path_factory: pytest.TempPathFactory, encoder: exemplar.Encoder) -> exemplar.Index:
    """The NCBI-disease training split, indexed through the bindings."""
    out = tmp_path_factory.mktemp("indexes") / "ncbi-train"
    return exemplar.Index.build(NCBI / "train.tsv", format="conll", out=out, encoder=encoder)


@pytest.fixture(scope="session")
def queries() -> list:
    """Twenty NCBI-disease test sentences."""
    return [s["text"] for s in exemplar.read_corpus(NCBI / "test.tsv")[:20]]
