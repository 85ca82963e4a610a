"""The README's "From Python" example and examples/ncbi_select.py run."""

import re
import subprocess
import sys

from conftest import REPO


def readme_example() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## From Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs(tmp_path, encoder):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 10
    (tmp_path / "data").symlink_to(REPO / "data")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) > 4 and re.match(r"0\.\d{3} ", lines[0])
    assert "Input: Germline mutations in BRCA1" in done.stdout
    assert (tmp_path / "indexes" / "ncbi-devel" / "manifest.json").exists()


def test_the_ncbi_example_builds_selects_and_renders(tmp_path, encoder):
    script = REPO / "examples" / "ncbi_select.py"
    args = ["--index", str(tmp_path / "ncbi"), "--corpus", str(REPO / "data/ncbi-disease/devel.tsv"), "--k", "3"]
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "types ['Disease']" in done.stdout
    prompt = done.stdout.split("--- prompt (all types) ---\n", 1)[1]
    assert prompt.count("Input: ") == 4 and prompt.endswith("Output:\n")
