"""Eager reverse-mode autodiff: functrans.grad vs HIPS autograd, PyTorch, jax, numpy by hand.

Run from the repository root::

    pip install autograd          # the HIPS autograd peer (optional)
    python bench/bench_ad.py

Workloads (see bench/README.md for the method):
  ad/grad50:   the gradient of a scalar function of 50 small elementwise ops on
               a (100,) float32 vector, eager (no jit anywhere).
  ad/mlp:      value_and_grad of a 784-512-512-10 tanh MLP's softmax
               cross-entropy on a batch of 128, eager; the numpy peer is a
               hand-written forward + backward of the same network.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(1, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from harness import BASELINE, Skip, Workload, main, ratio_lines  # noqa: E402

# --------------------------------------------------------------- grad of 50 ops


def f50(np_like, x):
    """50 elementwise ops (each operator or call is one), then a sum: a scalar."""
    for _ in range(5):
        x = np_like.sin(x) * 0.5 + x            # 3
        x = np_like.tanh(x) - 0.1 * x           # 3
        x = np_like.exp(-x * x) + x             # 4
    return np_like.sum(x * x)                   # (+2, not counted)


def _x50():
    return np.linspace(-2, 2, 100, dtype=np.float32)


def grad50_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    g = ft.grad(lambda x: f50(fnp, x))
    x = fnp.asarray(_x50())
    return lambda: g(x)


def grad50_autograd():
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        raise Skip("autograd is not installed (pip install autograd)")
    g = autograd.grad(lambda x: f50(anp, x))
    x = _x50()
    return lambda: g(x)


def grad50_torch():
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed")
    x0 = torch.from_numpy(_x50())

    def run():
        x = x0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f50(torch, x), x)
        return g.numpy()
    return run


def grad50_jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("jax is not installed")
    g = jax.grad(lambda x: f50(jnp, x))
    x = jax.device_put(_x50(), jax.devices("cpu")[0])
    return lambda: g(x).block_until_ready()


# --------------------------------------------------------------- MLP value_and_grad

SIZES = (784, 512, 512, 10)
BATCH = 128


def mlp_data(sizes=SIZES, batch=BATCH, seed=0):
    """Parameters ``[w0, b0, w1, b1, ...]``, inputs and one-hot labels of an MLP
    (shared with bench_jit.py)."""
    rng = np.random.default_rng(seed)
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        params.append((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32))
        params.append(np.zeros(n, np.float32))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    labels = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return params, x, labels


def mlp_loss(np_like, logsumexp, params, x, labels):
    """Softmax cross-entropy of a tanh MLP (params: [w0, b0, w1, b1, ...]).

    Works on a batch (x: (B, n)) and on one example (x: (n,)).
    """
    h = x
    for i in range(0, len(params) - 2, 2):
        h = np_like.tanh(h @ params[i] + params[i + 1])
    logits = h @ params[-2] + params[-1]
    logp = logits - logsumexp(logits, axis=-1, keepdims=True)
    return -np_like.mean(np_like.sum(logp * labels, axis=-1))


def mlp_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    from functrans.scipy.special import logsumexp
    params, x, labels = mlp_data()
    p = [fnp.asarray(a) for a in params]
    x, labels = fnp.asarray(x), fnp.asarray(labels)
    vg = ft.value_and_grad(lambda p, x, y: mlp_loss(fnp, logsumexp, p, x, y))
    return lambda: _first_grad(vg(p, x, labels))


def _first_grad(out):
    return out[1][0]


def mlp_numpy():
    """A hand-written forward and backward pass of the same network."""
    params, x, labels = mlp_data()

    def value_and_grad():
        hs, h = [x], x
        for i in range(0, len(params) - 2, 2):
            h = np.tanh(h @ params[i] + params[i + 1])
            hs.append(h)
        logits = h @ params[-2] + params[-1]
        m = logits.max(axis=-1, keepdims=True)
        z = np.exp(logits - m)
        lse = m + np.log(z.sum(axis=-1, keepdims=True))
        loss = -np.mean(np.sum((logits - lse) * labels, axis=-1))
        softmax = z / z.sum(axis=-1, keepdims=True)
        d = (softmax * labels.sum(axis=-1, keepdims=True) - labels) / BATCH
        grads = [None] * len(params)
        grads[-2], grads[-1] = hs[-1].T @ d, d.sum(0)
        d = d @ params[-2].T
        for i in range(len(params) - 4, -1, -2):
            d = d * (1 - hs[i // 2 + 1] ** 2)
            grads[i], grads[i + 1] = hs[i // 2].T @ d, d.sum(0)
            if i > 0:  # no cotangent for the input x: functrans does not compute one either
                d = d @ params[i].T
        return loss, grads

    return lambda: value_and_grad()[1][0]


def mlp_torch():
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed")
    params, x, labels = mlp_data()
    p = [torch.from_numpy(a.copy()).requires_grad_(True) for a in params]
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)

    def lse(a, axis, keepdims):
        return torch.logsumexp(a, dim=axis, keepdim=keepdims)

    def run():
        loss = mlp_loss(torch, lse, p, x, labels)
        gs = torch.autograd.grad(loss, p)
        return gs[0].numpy()
    return run


def mlp_jax():
    try:
        import jax
        import jax.numpy as jnp
        from jax.scipy.special import logsumexp
    except ImportError:
        raise Skip("jax is not installed")
    params, x, labels = mlp_data()
    cpu = jax.devices("cpu")[0]
    p = [jax.device_put(a, cpu) for a in params]
    x, labels = jax.device_put(x, cpu), jax.device_put(labels, cpu)
    vg = jax.value_and_grad(lambda p, x, y: mlp_loss(jnp, logsumexp, p, x, y))
    return lambda: vg(p, x, labels)[1][0].block_until_ready()


WORKLOADS = [
    Workload("ad/grad50", {"functrans": grad50_functrans, "autograd": grad50_autograd,
                           "torch": grad50_torch, "jax": grad50_jax}, ops=50,
             description="grad of a scalar function of 50 elementwise ops, (100,) float32, eager"),
    Workload("ad/mlp", {"functrans": mlp_functrans, "numpy": mlp_numpy, "torch": mlp_torch,
                        "jax": mlp_jax},
             description="value_and_grad, MLP 784-512-512-10 softmax cross-entropy, batch 128, "
                         "eager (numpy: hand-written backward)", rtol=1e-3, atol=1e-5),
]


def summary(all_results):
    lines = ratio_lines(all_results, 12)
    goals = []
    g50 = all_results.get("ad/grad50", {})
    if BASELINE in g50 and "autograd" in g50:
        r = g50["autograd"].median_ns / g50[BASELINE].median_ns
        goals.append(f"  grad50 faster than autograd:    autograd/functrans = {r:.2f}"
                     f"  -> {'MET' if r > 1 else 'NOT MET'}")
    mlp = all_results.get("ad/mlp", {})
    if BASELINE in mlp and "numpy" in mlp:
        r = mlp[BASELINE].median_ns / mlp["numpy"].median_ns
        goals.append(f"  mlp within 1.5x of numpy:       functrans/numpy = {r:.2f}"
                     f"  -> {'MET' if r <= 1.5 else 'NOT MET'}")
    if goals:
        lines.append("goals (issue 3), same run")
        lines.extend(goals)
    return "\n".join(lines)


if __name__ == "__main__":
    main(WORKLOADS, description=__doc__.split("\n")[0], epilogue=summary)
