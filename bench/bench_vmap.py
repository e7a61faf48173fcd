"""Per-example gradients: functrans.vmap(grad) vs a Python loop of grads, jax and torch.func.

Run from the repository root::

    python bench/bench_vmap.py

Workload (see bench/README.md for the method):
  vmap/per_example_grads: the gradient of the softmax cross-entropy of a
      784-128-10 tanh MLP with respect to its parameters, for each of 128
      examples separately (``vmap(grad(loss), in_axes=(None, 0, 0))``), eager
      (no jit anywhere). The compared output is the per-example gradient of the
      first weight matrix, shape (128, 784, 128).
  Peers: ``functrans_loop`` (a Python loop of functrans per-example grads,
  stacked: what vmap replaces), ``functrans_jit`` (``jit(vmap(grad))``,
  compiled before timing: not eager, for scale), ``numpy`` (the same per-example gradients
  written by hand: the floor), ``jax.vmap(jax.grad)`` eager, and
  ``torch.func.vmap(torch.func.grad)``.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(1, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from harness import BASELINE, Skip, Workload, main, ratio_lines  # noqa: E402

SIZES = (784, 128, 10)
BATCH = 128


def _data():
    rng = np.random.default_rng(0)
    params = []
    for m, n in zip(SIZES[:-1], SIZES[1:]):
        params.append((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32))
        params.append((0.1 * rng.standard_normal(n)).astype(np.float32))
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    labels = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], BATCH)]
    return params, x, labels


def loss(np_like, logsumexp, params, x, label):
    """Softmax cross-entropy of one example (x: (784,), label: one-hot (10,))."""
    w1, b1, w2, b2 = params
    h = np_like.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    return -np_like.sum((logits - logsumexp(logits)) * label)


def _functrans_setup():
    import functrans as ft
    import functrans.numpy as fnp
    from functrans.scipy.special import logsumexp
    params, x, labels = _data()
    p = [fnp.asarray(a) for a in params]
    g = ft.grad(lambda p, x, y: loss(fnp, logsumexp, p, x, y))
    return ft, fnp, g, p, fnp.asarray(x), fnp.asarray(labels)


def vmap_functrans():
    ft, fnp, g, p, x, labels = _functrans_setup()
    per_example = ft.vmap(g, in_axes=(None, 0, 0))
    return lambda: per_example(p, x, labels)[0]


def vmap_functrans_jit():
    """jit(vmap(grad)): the same program compiled by XLA (compiled here, not timed)."""
    ft, fnp, g, p, x, labels = _functrans_setup()
    from functrans.jit import jit
    per_example = jit(ft.vmap(g, in_axes=(None, 0, 0)))
    per_example(p, x, labels)
    return lambda: per_example(p, x, labels)[0].block_until_ready()


def loop_functrans():
    ft, fnp, g, p, x, labels = _functrans_setup()

    def run():
        grads = [g(p, x[i], labels[i]) for i in range(BATCH)]
        return fnp.stack([gr[0] for gr in grads])  # every leaf stacked costs alike; one shown
    return run


def per_example_numpy():
    """Hand-written per-example gradients in numpy: the memory-bound floor (the
    (128, 784, 128) float32 result alone is 51 MB)."""
    params, x, labels = _data()
    w1, b1, w2, b2 = params

    def run():
        h = np.tanh(x @ w1 + b1)
        logits = h @ w2 + b2
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        d = z / z.sum(axis=1, keepdims=True) * labels.sum(axis=1, keepdims=True) - labels
        dh = (d @ w2.T) * (1 - h * h)
        grads = (x[:, :, None] * dh[:, None, :], dh, h[:, :, None] * d[:, None, :], d)
        return grads[0]
    return run


def vmap_jax():
    try:
        import jax
        import jax.numpy as jnp
        from jax.scipy.special import logsumexp
    except ImportError:
        raise Skip("jax is not installed")
    params, x, labels = _data()
    cpu = jax.devices("cpu")[0]
    p = [jax.device_put(a, cpu) for a in params]
    x, labels = jax.device_put(x, cpu), jax.device_put(labels, cpu)
    per_example = jax.vmap(jax.grad(lambda p, x, y: loss(jnp, logsumexp, p, x, y)),
                           in_axes=(None, 0, 0))
    return lambda: per_example(p, x, labels)[0].block_until_ready()


def vmap_torch():
    try:
        import torch
        from torch.func import grad, vmap
    except ImportError:
        raise Skip("torch (with torch.func) is not installed")
    params, x, labels = _data()
    p = [torch.from_numpy(a.copy()) for a in params]
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)

    class T:  # the np_like namespace loss() needs, for torch
        tanh, sum = staticmethod(torch.tanh), staticmethod(torch.sum)

    per_example = vmap(grad(lambda p, x, y: loss(T, lambda a: torch.logsumexp(a, 0), p, x, y)),
                       in_dims=(None, 0, 0))
    return lambda: per_example(p, x, labels)[0].numpy()


WORKLOADS = [
    Workload("vmap/per_example_grads",
             {"functrans": vmap_functrans, "functrans_loop": loop_functrans,
              "functrans_jit": vmap_functrans_jit, "numpy": per_example_numpy, "jax": vmap_jax, "torch": vmap_torch},
             description="per-example grads, MLP 784-128-10 tanh softmax cross-entropy, batch "
                         "128, eager (functrans_loop: a Python loop of functrans grads; numpy: "
                         "hand-written per-example backward)",
             rtol=1e-3, atol=1e-5),
]


def summary(all_results):
    lines = ratio_lines(all_results, 24)
    res = all_results.get("vmap/per_example_grads", {})
    if BASELINE in res and "functrans_loop" in res:
        r = res["functrans_loop"].median_ns / res[BASELINE].median_ns
        lines.append("goal (issue 4), same run")
        lines.append(f"  vmap(grad) >= 10x faster than a loop of grads: loop/vmap = {r:.1f}"
                     f"  -> {'MET' if r >= 10 else 'NOT MET'}")
    if BASELINE in res and "numpy" in res:
        r = res[BASELINE].median_ns / res["numpy"].median_ns
        lines.append(f"  (for scale) vmap(grad) vs hand-written numpy: functrans/numpy = {r:.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main(WORKLOADS, description=__doc__.split("\n")[0], epilogue=summary)
