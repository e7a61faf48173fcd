"""The import graph of functrans follows its layers (docs/architecture.md, "Layers").

Every module of the package is mapped to a layer (``LAYERS``). A module-level import
may only name a module of the same or a lower layer. An import inside a function
(deferred until the function runs) is how a module reaches *up* or breaks a real
cycle; each one must say why in a comment on its line or the line before it.

What counts as module level: every import statement that runs when the module is
imported -- the module body, and ``if``/``try``/``with`` blocks and class bodies in
it -- except the body of ``if TYPE_CHECKING:``, which never runs (annotations
only, so it can create no cycle). Imports in function bodies are deferred.

The code does not meet all of this yet: ``NESTED_WITHOUT_REASON`` and
``CYCLES`` list what was there when this test was written. They may only shrink:
a new violation fails, and so does an entry that no longer applies (delete it).
"""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PKG = ROOT / "functrans"

# --- the layers, lowest first --------------------------------------------------------------
#
# A pattern is a module name, or ``pkg.*`` for a package and everything in it. The most
# specific pattern wins (an exact name over ``pkg.*``; a longer prefix over a shorter one).
# A new module that matches no pattern fails test_every_module_has_a_layer: add it here.
LAYERS = [
    # No functrans imports of their own (beyond each other): configuration, errors,
    # dtypes, pytrees, and xla.py, the one module that talks to jaxlib's runtime (it
    # imports nothing from functrans, so array.py can hold device buffers).
    ("base", ["functrans.config", "functrans.errors", "functrans.dtypes",
              "functrans._tree_nodes", "functrans.tree_util", "functrans.tree",
              "functrans.interpreters.xla"]),
    # Abstract values, Primitive, bind, the trace stack, Array, effects.
    ("core", ["functrans.core", "functrans.array", "functrans.effects", "functrans.eager"]),
    ("ir", ["functrans.ir"]),
    ("interpreters", ["functrans.interpreters.*"]),
    # Primitives with all their rules; custom_jvp/custom_vjp are primitives too, and
    # lax is the primitives' public API.
    ("primitives", ["functrans.primitives.*", "functrans.custom", "functrans.lax"]),
    ("numpy", ["functrans.numpy.*", "functrans.scipy.*"]),
    # The user-facing transformations.
    ("api", ["functrans.api", "functrans.jit", "functrans.jit_call", "functrans.pmap",
             "functrans.explain", "functrans.test_util"]),
    # Libraries built on the public API.
    ("libraries", ["functrans.nn.*", "functrans.optim.*", "functrans.io.*", "functrans.random",
                   "functrans.data", "functrans.datasets.*", "functrans.flatten_util"]),
    # The package root re-exports everything; programs sit on top.
    ("programs", ["functrans", "functrans.demo", "functrans.examples.*"]),
]

# Function-level imports of functrans modules without a reason comment, as
# {importing file: {imported modules}}, found when this test was written.
# TODO(issue 18): give each a one-line reason (why it cannot be at module level), or
# move it to module level where no cycle needs it; then delete the entry here.
NESTED_WITHOUT_REASON = {
    "functrans/api.py": {"functrans.numpy", "functrans.dtypes"},
    "functrans/array.py": {"functrans.explain"},
    "functrans/custom.py": {"functrans.primitives.reductions"},
    "functrans/dtypes.py": {"functrans.core"},
    "functrans/examples/training.py": {"functrans.lax"},
    "functrans/explain.py": {"functrans.numpy", "functrans.jit"},
    "functrans/flatten_util.py": {"functrans.numpy"},
    "functrans/interpreters/batching.py": {"functrans.primitives.shape"},
    "functrans/interpreters/jvp.py": {"functrans.array", "functrans.primitives.shape"},
    "functrans/interpreters/reverse.py": {"functrans.primitives.reductions"},
    "functrans/interpreters/tracing.py": {"functrans.array"},
    "functrans/ir.py": {"functrans.explain"},
    "functrans/jit.py": {"functrans.numpy"},
    "functrans/numpy/_creation.py": {"functrans.numpy._ufuncs", "functrans.numpy._util",
                                     "functrans.numpy._shape"},
    "functrans/numpy/_selection.py": {"functrans.numpy._ufuncs", "functrans.numpy._util"},
    "functrans/numpy/_shape.py": {"functrans.numpy._selection", "functrans.numpy._creation",
                                  "functrans.numpy._ufuncs"},
    "functrans/numpy/_util.py": {"functrans.numpy._shape"},
    "functrans/primitives/control_flow.py": {
        "functrans.numpy", "functrans.primitives.elementwise", "functrans.interpreters.reverse",
        "functrans.interpreters.batching", "functrans.primitives.shape", "functrans.dtypes",
        "functrans.primitives.reductions"},
    "functrans/primitives/scan.py": {"functrans.primitives.elementwise"},
    "functrans/primitives/shape.py": {"functrans.primitives.reductions",
                                      "functrans.primitives.slicing", "functrans.primitives._rules"},
    "functrans/primitives/windowed.py": {"functrans.numpy", "functrans.primitives.elementwise"},
    "functrans/test_util.py": {"functrans.numpy"},
}

# Cycles among module-level imports (strongly connected components), found when this
# test was written. A cycle may shrink or vanish; a new one, or a bigger one, fails.
CYCLES = [
    {"functrans.core", "functrans.array"},  # Array's operators are Tracer's too (ArrayOps)
]


# --- reading the import graph --------------------------------------------------------------


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict:
    """{module name: path} for every module of the package."""
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


MODULES = _modules()


def _target(name: str):
    """The module an imported dotted name belongs to (``functrans.core.bind`` ->
    ``functrans.core``), or None when it is not a functrans module."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _targets(node, module: str, is_package: bool) -> list:
    """The functrans modules an Import/ImportFrom statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{alias.name}" if alias.name != "*" else prefix
                 for alias in node.names]
    found = []
    for n in names:
        t = _target(n)
        if t is not None and t != module and t not in found:
            found.append(t)
    return found


def _is_type_checking(test) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk_imports(stmts, deferred: bool):
    """Yields (import node, deferred) for every import statement in ``stmts``."""
    for node in stmts:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, deferred
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _walk_imports(node.body, True)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk_imports(node.orelse, deferred)  # the body never runs
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                yield from _walk_imports(getattr(node, field, []) or [], deferred)


def _imports():
    """[(module, path, lineno, target, deferred, lines)] for every functrans import."""
    out = []
    for module, path in MODULES.items():
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source, str(path))
        for node, deferred in _walk_imports(tree.body, False):
            for t in _targets(node, module, path.name == "__init__.py"):
                out.append((module, path, node, t, deferred, lines))
    return out


IMPORTS = _imports()


def _layer_of(module: str):
    """(index, name) of ``module``'s layer, or None."""
    best = None  # (specificity, index, name)
    for i, (name, patterns) in enumerate(LAYERS):
        for p in patterns:
            if p.endswith(".*"):
                pkg = p[:-2]
                if module == pkg or module.startswith(pkg + "."):
                    spec = (0, len(pkg))
                else:
                    continue
            elif module == p:
                spec = (1, len(p))
            else:
                continue
            if best is None or spec > best[0]:
                best = (spec, i, name)
    return None if best is None else best[1:]


def _rel(path: pathlib.Path) -> str:
    return path.relative_to(ROOT).as_posix()


# lint markers are not reasons: ``# noqa: F401`` alone does not count, ``# noqa: F401
# (numpy imports this module)`` does
_NOT_A_REASON = re.compile(r"\bnoqa\b(:\s*[A-Z]+[0-9]+(\s*,\s*[A-Z]+[0-9]+)*)?"
                           r"|\btype:\s*ignore(\[[^\]]*\])?|\bpragma:\s*\S+")


def _has_reason(node, lines) -> bool:
    """A comment of a few words on the import's lines or the line before it."""
    candidates = lines[node.lineno - 1:(node.end_lineno or node.lineno)]
    if node.lineno >= 2 and lines[node.lineno - 2].strip().startswith("#"):
        candidates = [lines[node.lineno - 2]] + candidates
    for line in candidates:
        if "#" not in line:
            continue
        comment = _NOT_A_REASON.sub("", line.split("#", 1)[1])
        if len(re.findall(r"[A-Za-z]{2,}", comment)) >= 2:
            return True
    return False


def _nested_without_reason() -> dict:
    found = {}
    for module, path, node, target, deferred, lines in IMPORTS:
        if deferred and not _has_reason(node, lines):
            found.setdefault(_rel(path), {}).setdefault(target, node.lineno)
    return found


def _top_level_graph() -> dict:
    graph = {m: set() for m in MODULES}
    for module, _path, _node, target, deferred, _lines in IMPORTS:
        if not deferred:
            graph[module].add(target)
    return graph


def _cycles(graph) -> list:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


# --- the tests -----------------------------------------------------------------------------


def test_the_import_graph_was_read():
    # guards against a parser that silently finds nothing: these edges exist
    top = _top_level_graph()
    assert "functrans.core" in top["functrans.ir"]
    assert "functrans.interpreters.tracing" in top["functrans.jit"]
    assert len(MODULES) > 40


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if _layer_of(m) is None)
    assert not missing, (
        f"modules without a layer: {missing}; add each to LAYERS in tests/test_layering.py "
        "(and to the layer list in docs/architecture.md)")


def test_module_level_imports_go_down_the_layers():
    bad = []
    for module, path, node, target, deferred, _lines in IMPORTS:
        if deferred:
            continue
        (lo, lname), (to, tname) = _layer_of(module), _layer_of(target)
        if to > lo:
            bad.append(f"{_rel(path)}:{node.lineno}: {module} ({lname}) imports {target} "
                       f"({tname}), a higher layer")
    assert not bad, ("module-level imports must go to the same or a lower layer; import "
                     "inside the function that needs it, with a one-line reason, or move "
                     "the code down:\n  " + "\n  ".join(bad))


def test_function_level_imports_say_why():
    new = []
    for path, targets in sorted(_nested_without_reason().items()):
        for target, lineno in sorted(targets.items()):
            if target not in NESTED_WITHOUT_REASON.get(path, ()):
                new.append(f"{path}:{lineno}: imports {target} inside a function")
    assert not new, (
        "an import inside a function needs a comment on its line (or the line before) "
        "saying which cycle or cost it avoids; or import at module level where the layers "
        "allow it:\n  " + "\n  ".join(new))


def test_no_new_import_cycles():
    allowed = [frozenset(c) for c in CYCLES]
    new = [sorted(c) for c in _cycles(_top_level_graph())
           if not any(c <= a for a in allowed)]
    assert not new, ("module-level imports form a new cycle (break it with a lower-layer "
                     f"module, or a function-level import with a reason): {new}")


def test_allow_lists_are_current():
    found = _nested_without_reason()
    stale = [f"{path}: {t}" for path, targets in sorted(NESTED_WITHOUT_REASON.items())
             for t in sorted(targets) if t not in found.get(path, {})]
    cycles = [frozenset(c) for c in _cycles(_top_level_graph())]
    stale += [f"cycle {sorted(a)}" for a in CYCLES
              if not any(c <= frozenset(a) and len(c) > 1 for c in cycles)]
    assert not stale, ("fixed, so delete from the allow-lists in tests/test_layering.py:\n  "
                       + "\n  ".join(stale))


@pytest.mark.parametrize("src, module, is_package, expected", [
    ("from .core import bind", "functrans.ir", False, ["functrans.core"]),
    ("from .. import numpy as fnp", "functrans.primitives.shape", False, ["functrans.numpy"]),
    ("from . import elementwise", "functrans.primitives", True,
     ["functrans.primitives.elementwise"]),
    ("import functrans as ft", "functrans.demo", False, ["functrans"]),
    ("from functrans.interpreters import xla", "functrans.jit", False,
     ["functrans.interpreters.xla"]),
    ("import numpy as np", "functrans.ir", False, []),
])
def test_import_resolution(src, module, is_package, expected):
    node = ast.parse(src).body[0]
    assert _targets(node, module, is_package) == expected


def test_deferred_and_type_checking_imports():
    src = ("from typing import TYPE_CHECKING\n"
           "if TYPE_CHECKING:\n    from .jit import jit\n"
           "try:\n    from .core import bind\nexcept ImportError:\n    pass\n"
           "def f():\n    from . import numpy  # a reason: numpy imports this module\n")
    got = [(n.lineno, d) for n, d in _walk_imports(ast.parse(src).body, False)
           if isinstance(n, ast.ImportFrom) and n.module != "typing"]
    assert got == [(5, False), (9, True)]
    lines = src.splitlines()
    node = ast.parse(src).body[-1].body[0]
    assert _has_reason(node, lines)
    assert not _has_reason(ast.parse("from . import x  # noqa: F401").body[0],
                           ["from . import x  # noqa: F401"])
