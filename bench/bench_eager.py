"""Eager-mode dispatch benchmarks: functrans.numpy vs numpy, jax.numpy, torch.

Run from the repository root::

    python bench/bench_eager.py                 # everything
    python bench/bench_eager.py --filter chain  # one workload
    python bench/bench_eager.py --json out.json --samples 25

Small arrays on purpose: these workloads measure per-operation overhead (the
Python and dispatch cost around a tiny numpy kernel), which is what dominates
interactive and eager code. See bench/README.md for the method and results.
"""

from __future__ import annotations

import os
import sys
import types

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)                   # harness
sys.path.insert(1, os.path.dirname(_HERE))  # functrans from this checkout

import numpy as np  # noqa: E402

from harness import BASELINE, Skip, Workload, main, ratio_lines  # noqa: E402

# --------------------------------------------------------------- namespaces

def _fnp():
    import functrans.numpy as fnp
    return fnp


def _jnp():
    import jax.numpy as jnp
    return jnp


def torch_namespace():
    """A numpy-like namespace over torch, enough for the workloads here.

    Names map one to one to torch functions (``sin`` is ``torch.sin``), so the
    adapter adds no Python frame except in ``maximum`` with a Python scalar,
    which torch spells ``clamp_min``.
    """
    import torch

    def maximum(a, b):
        if isinstance(b, torch.Tensor):
            return torch.maximum(a, b)
        return torch.clamp_min(a, b)

    return types.SimpleNamespace(
        __name__="torch", sin=torch.sin, cos=torch.cos, tanh=torch.tanh, exp=torch.exp,
        sqrt=torch.sqrt, abs=torch.abs, maximum=maximum, sum=torch.sum,
        matmul=torch.matmul)


def _numpy_in(kind, value):
    """``value`` (a float32 numpy array) as an array of ``kind``."""
    if kind == "functrans":
        return _fnp().asarray(value)
    if kind == "numpy":
        return value.copy()
    if kind == "jax":
        import jax
        # Committed to the CPU, so that eager ops run there even where an
        # accelerator is present: this file compares host eager dispatch.
        return jax.device_put(value, jax.devices("cpu")[0]).block_until_ready()
    if kind == "torch":
        import torch
        return torch.from_numpy(value.copy())
    raise Skip(f"unknown kind {kind}")


def _namespace(kind):
    return {"functrans": _fnp, "numpy": lambda: np, "jax": _jnp,
            "torch": torch_namespace}[kind]()


def _block(kind):
    """The function a callable applies to its result so that the work is done."""
    if kind == "jax":
        return lambda out: out.block_until_ready()
    return lambda out: out


PEERS = ("functrans", "numpy", "jax", "torch")


def workload(name, make, *, ops=1, description="", **kw):
    """A Workload whose factories are ``make(kind, ns, block)`` for each peer."""
    def factory(kind):
        def f():
            ns = _namespace(kind)
            return make(kind, ns, _block(kind))
        return f
    return Workload(name, {k: factory(k) for k in PEERS}, ops=ops,
                    description=description, **kw)


# --------------------------------------------------------------- workloads

def add_scalar(kind, ns, block):
    x = _numpy_in(kind, np.linspace(-1, 1, 10, dtype=np.float32))
    return lambda: block(x + 1.0)


CHAIN_OPS = 100


def chain(np_like, x):
    """100 small elementwise operations, a realistic eager mix.

    Every operator and function call below is one operation (a unary minus
    counts too): 5 rounds of 20. Python scalars and arrays both appear as
    operands; values stay within [-2.5, 2.5]. The map contracts (outputs
    end in about [0.30, 0.34] for inputs in [-2, 2]), but not so much that
    the pre-timing check is blind: using cos for sin in the first round
    alone moves the output by more than 5%, far beyond the rtol of 1e-4.
    """
    y = x
    for _ in range(5):
        x = np_like.sin(x) * 0.5 + x             # 3: sin, mul scalar, add array
        x = np_like.tanh(x) - 0.1 * x            # 3: tanh, rmul scalar, sub array
        x = np_like.exp(-x * x) + x              # 4: neg, mul array, exp, add array
        y = np_like.sqrt(np_like.abs(x) + 1.0)   # 3: abs, add scalar, sqrt
        x = np_like.maximum(x, y * 0.5) - 0.25   # 3: mul scalar, maximum array, sub scalar
        x = np_like.cos(x) * y - x / 2.0         # 4: cos, mul array, div scalar, sub array
    return x


def chain_workload(kind, ns, block):
    x = _numpy_in(kind, np.linspace(-2, 2, 100, dtype=np.float32))
    return lambda: block(chain(ns, x))


def dense_relu(np_like, x, w, b):
    return np_like.maximum(x @ w + b, 0.0)


def dense_workload(kind, ns, block):
    rng = np.random.default_rng(0)
    x = _numpy_in(kind, rng.standard_normal((32, 64), dtype=np.float32))
    w = _numpy_in(kind, (rng.standard_normal((64, 64), dtype=np.float32) / 8).astype(np.float32))
    b = _numpy_in(kind, rng.standard_normal(64, dtype=np.float32))
    return lambda: block(dense_relu(ns, x, w, b))


def sumsq_workload(kind, ns, block):
    x = _numpy_in(kind, np.linspace(-1, 1, 1000, dtype=np.float32))
    return lambda: block(ns.sum(x * x))


WORKLOADS = [
    workload("eager/add_scalar", add_scalar,
             description="x + 1.0, float32 (10,)"),
    workload("eager/chain100", chain_workload, ops=CHAIN_OPS,
             description=f"chain of {CHAIN_OPS} elementwise ops, float32 (100,)"),
    workload("eager/dense_relu", dense_workload, ops=3,
             description="maximum(x @ w + b, 0), float32 (32,64)x(64,64)"),
    workload("eager/sum_sq", sumsq_workload, ops=2,
             description="sum(x * x), float32 (1000,)"),
]

# --------------------------------------------------------------- goal summary

GOAL_WORKLOAD = "eager/chain100"


def summary(all_results):
    """Ratios per workload, and the eager goal checked on the chain."""
    lines = ratio_lines(all_results, 20)
    res = all_results.get(GOAL_WORKLOAD)
    if not res or BASELINE not in res:
        return "\n".join(lines)
    base = res[BASELINE].median_ns
    lines.append(f"goal (issue): on {GOAL_WORKLOAD}, per op, same run")
    if "numpy" in res:
        slow = base / res["numpy"].median_ns
        lines.append(f"  functrans at most 5x numpy:       functrans/numpy = {slow:.2f}"
                     f"  -> {'MET' if slow <= 5 else 'NOT MET'}")
    if "jax" in res:
        fast = res["jax"].median_ns / base
        lines.append(f"  functrans >= 5x faster than jax:  jax/functrans = {fast:.2f}"
                     f"  -> {'MET' if fast >= 5 else 'NOT MET'}")
    if "torch" in res:
        fast = res["torch"].median_ns / base
        lines.append(f"  functrans faster than torch:      torch/functrans = {fast:.2f}"
                     f"  -> {'MET' if fast > 1 else 'NOT MET'}")
    return "\n".join(lines)


if __name__ == "__main__":
    main(WORKLOADS, description=__doc__.split("\n")[0], epilogue=summary)
