"""Compiled control flow: a jitted ``scan`` RNN, forward + backward, functrans vs jax (and torch).

Run from the repository root::

    python bench/bench_control_flow.py

Workload (see bench/README.md for the method):
  cf/scan_rnn:  loss and gradient (w.r.t. all weights) of a tanh RNN, hidden 256,
                input 256, 100 time steps, batch 32, float32, written with
                ``lax.scan`` and compiled whole by ``jit``. jax: the same code with
                ``jax.lax.scan`` under ``jax.jit``; torch: an eager loop with autograd.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(1, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from harness import BASELINE, Skip, Workload, main, ratio_lines  # noqa: E402

H, D, T, B = 256, 256, 100, 32


def _data():
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(np.float32)
    U = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(np.float32)
    b = np.zeros(H, np.float32)
    xs = rng.standard_normal((T, B, D)).astype(np.float32)
    return {"W": W, "U": U, "b": b}, xs


def _loss(np_like, scan, params, xs):
    def step(h, x):
        h = np_like.tanh(h @ params["W"] + x @ params["U"] + params["b"])
        return h, np_like.mean(h * h)

    h, ys = scan(step, np_like.zeros((B, H), np.float32), xs)
    return np_like.mean(h) + np_like.mean(ys)


def rnn_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    from functrans import lax
    params, xs = _data()
    p = {k: fnp.asarray(v) for k, v in params.items()}
    xs = fnp.asarray(xs)
    g = ft.jit(ft.value_and_grad(lambda p, xs: _loss(fnp, lax.scan, p, xs)))
    g(p, xs)  # compile outside the timing

    def run():
        value, grads = g(p, xs)
        return np.asarray(grads["W"])
    return run


def rnn_jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("jax is not installed")
    params, xs = _data()
    cpu = jax.devices("cpu")[0]
    p = {k: jax.device_put(v, cpu) for k, v in params.items()}
    xs = jax.device_put(xs, cpu)
    g = jax.jit(jax.value_and_grad(lambda p, xs: _loss(jnp, jax.lax.scan, p, xs)))
    g(p, xs)[1]["W"].block_until_ready()

    def run():
        value, grads = g(p, xs)
        return np.asarray(grads["W"].block_until_ready())
    return run


def rnn_torch():
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed")
    params, xs = _data()
    p = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in params.items()}
    xs = torch.from_numpy(xs)

    def scan(f, h, xs):
        ys = []
        for x in xs:
            h, y = f(h, x)
            ys.append(y)
        return h, torch.stack(ys)

    class NP:
        tanh = staticmethod(torch.tanh)
        mean = staticmethod(torch.mean)

        @staticmethod
        def zeros(shape, dtype):
            return torch.zeros(shape)

    def run():
        loss = _loss(NP, scan, p, xs)
        (gW,) = torch.autograd.grad(loss, [p["W"]])
        return gW.numpy()
    return run


WORKLOADS = [
    Workload("cf/scan_rnn", {"functrans": rnn_functrans, "jax": rnn_jax, "torch": rnn_torch},
             description="jit(value_and_grad) of a lax.scan tanh RNN, hidden 256, 100 steps, "
                         "batch 32 (torch: eager loop)", rtol=1e-3, atol=1e-5),
]


def summary(all_results):
    lines = ratio_lines(all_results, 12)
    r = all_results.get("cf/scan_rnn", {})
    if BASELINE in r and "jax" in r:
        ratio = r["jax"].median_ns / r[BASELINE].median_ns
        lines.append("goal (issue 6), same run")
        lines.append(f"  scan RNN at least 0.95x jax's throughput: jax/functrans = {ratio:.2f}"
                     f"  -> {'MET' if ratio >= 0.95 else 'NOT MET'}")
    return "\n".join(lines)


if __name__ == "__main__":
    main(WORKLOADS, description=__doc__.split("\n")[0], epilogue=summary)
