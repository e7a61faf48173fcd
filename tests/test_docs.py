"""docs/ stays true: the layout list names paths that exist, the primitive example runs,
and nothing in the repository points outside it for documentation."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
ARCH = ROOT / "docs" / "architecture.md"
LAYOUT = re.compile(r"<!-- layout: begin -->\n(.*?)<!-- layout: end -->", re.S)
EXAMPLE = re.compile(r"<!-- example: define-a-primitive -->\n```python\n(.*?)```", re.S)


def _layout_paths(text: str) -> list:
    """The backticked paths of the layout list (a token with a '/' or a file suffix)."""
    m = LAYOUT.search(text)
    assert m, "docs/architecture.md has no '<!-- layout: begin -->' ... 'end' list"
    paths = []
    for token in re.findall(r"`([^`\s]+)`", m.group(1)):
        if "/" in token or re.search(r"\.(py|md|toml|sh|ipynb)$", token):
            paths.append(token)
    return paths


def test_layout_paths_exist():
    paths = _layout_paths(ARCH.read_text())
    assert len(paths) > 20, paths   # the parser found the list
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, (f"docs/architecture.md's layout list names paths that do not exist: "
                         f"{missing}; update the list (section 'Layout')")


def test_layout_parser_sees_a_missing_path():
    text = ("<!-- layout: begin -->\n- `functrans/core.py` — x\n- `functrans/nope.py` — y\n"
            "- `grad` is not a path\n<!-- layout: end -->\n")
    paths = _layout_paths(text)
    assert paths == ["functrans/core.py", "functrans/nope.py"]
    assert [p for p in paths if not (ROOT / p).exists()] == ["functrans/nope.py"]


def test_primitive_example_runs():
    # In a fresh interpreter: the example defines a primitive, and primitive names are
    # process-wide (a second definition would fail; the registry test would see it).
    m = EXAMPLE.search(ARCH.read_text())
    assert m, "docs/architecture.md has no primitive example block"
    code = m.group(1)
    assert "Primitive(" in code and "def_lower" in code
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"the example failed:\n{proc.stdout}\n{proc.stderr}"
    assert "cube a" in proc.stdout   # it printed its IR


# Documentation must live in the repository. ``../shared/data`` is different: it is where
# the optional MNIST files are looked for (tests/conftest.py), not a document.
_OUTSIDE = re.compile(r"(\.\./shared|/work/shared)(?!/data\b)")
_SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist"}


def _repository_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=ROOT, capture_output=True,
                             check=True).stdout
        return [ROOT / p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk it
        return [p for p in ROOT.rglob("*")
                if p.is_file() and not _SKIP_DIRS.intersection(p.relative_to(ROOT).parts)]


def test_nothing_points_outside_the_repository_for_docs():
    this = pathlib.Path(__file__).resolve()
    bad = []
    for path in _repository_files():
        if path.resolve() == this or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue   # binary data
        for i, line in enumerate(text.splitlines(), 1):
            if _OUTSIDE.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not bad, ("these lines point outside the repository; point to docs/ instead:\n  "
                     + "\n  ".join(bad))


@pytest.mark.parametrize("line, flagged", [
    ("see ../shared/DESIGN.md", True),
    ("see /work/shared/JAXLIB.md", True),
    ("reason='../shared/data/mnist absent'", False),
    ("see docs/architecture.md", False),
])
def test_outside_pattern(line, flagged):
    assert bool(_OUTSIDE.search(line)) == flagged
