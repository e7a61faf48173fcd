"""The teaching notebooks (notebooks/ at the repository root): each one executes top to bottom
in a fresh kernel without an error (slow: CI's second command runs them), and each committed
notebook has what the course promises — teaching text with math, plots, self-checks, exercises
with hidden solutions, outputs from a run in order — and is listed in the README."""

import json
import os
import re
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB_DIR = os.path.join(ROOT, "notebooks")
NOTEBOOKS = sorted(n for n in os.listdir(NB_DIR) if n.endswith(".ipynb")) \
    if os.path.isdir(NB_DIR) else []
EXPECTED = ["01_arrays_purity_tracing", "02_forward_mode", "03_reverse_mode",
            "04_higher_order", "05_vmap", "06_jit_xla", "07_custom_derivatives",
            "08_control_flow", "09_training"]


def _load(name):
    with open(os.path.join(NB_DIR, name), encoding="utf-8") as f:
        return json.load(f)


def _source(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def test_the_course_is_complete():
    assert [n[:-len(".ipynb")] for n in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_has_text_math_plots_checks_and_exercises(name):
    nb = _load(name)
    cells = nb["cells"]
    md = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    code = [c for c in cells if c["cell_type"] == "code"]
    src = "\n".join(_source(c) for c in code)
    assert md.lstrip().startswith("#"), "a title first"
    assert len(md) > 3000, "teaching text"
    assert re.search(r"\$[^$\n]+\$", md), "math in LaTeX"
    assert md.count("<details>") >= 2 and "Solution" in md, "exercises with hidden solutions"
    assert "assert" in src, "self-checks that fail loudly"
    assert re.search(r"^\s*import jax|^\s*from jax", src, re.M) is None, "written with functrans"
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), "at least one plot"
    assert not [o for o in outputs if o.get("output_type") == "error"], "committed with an error"
    counts = [c.get("execution_count") for c in code if _source(c).strip()]
    assert counts and all(isinstance(n, int) for n in counts), "committed with its outputs"
    assert counts == sorted(counts), "executed top to bottom"
    assert os.path.getsize(os.path.join(NB_DIR, name)) < 1_000_000


def test_the_readme_lists_every_notebook():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for name in NOTEBOOKS:
        assert f"notebooks/{name}" in readme, name
    assert "pip install -e '.[notebooks]'" in readme


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_in_a_fresh_kernel(name, tmp_path):
    import nbclient   # test dependencies (pyproject's dev and notebooks extras)
    import nbformat
    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": NB_DIR}})
    t0 = time.perf_counter()
    client.execute()        # raises CellExecutionError naming the cell on any error
    elapsed = time.perf_counter() - t0
    print(f"{name}: executed in {elapsed:.1f} s")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)
