"""pmap: a data-parallel training step over 2 CPU devices, functrans vs jax.pmap, and the
same step as one jitted program on one device.

Run from the repository root::

    python bench/bench_pmap.py                  # XLA_FLAGS is set here, before jax starts

Workloads (see bench/README.md for the method and results):
  pmap/dp_step:  one SGD step of a 784-256-10 tanh MLP, softmax cross-entropy; each of
                 2 devices takes 64 of the 128 examples, gradients averaged with pmean.
                 functrans.pmap vs jax.pmap; "functrans.jit" is ft.jit of the same step
                 on the whole batch on one device (what the replicas replace).

Inputs are host arrays each call for both libraries (parameters replicated, the batch
split); each call ends with the new parameters on the host.
"""

from __future__ import annotations

import os
import sys

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=2").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(1, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from harness import Skip, Workload, main, ratio_lines  # noqa: E402

DEVICES = 2


def _data():
    rng = np.random.default_rng(0)
    w = [(rng.standard_normal((784, 256)) / 28).astype(np.float32),
         (rng.standard_normal((256, 10)) / 16).astype(np.float32)]
    x = rng.standard_normal((DEVICES, 64, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, (DEVICES, 64))]
    return w, x, y


def _step(T, n, L, collective=True):
    def loss(w, x, y):
        logits = n.tanh(x @ w[0]) @ w[1]
        logp = logits - n.log(n.sum(n.exp(logits), axis=-1, keepdims=True))
        return -n.mean(n.sum(logp * y, axis=-1))

    def step(w, x, y):
        g = T.grad(loss)(w, x, y)
        if collective:
            g = L.pmean(g, "d")
        return [a - 0.1 * b for a, b in zip(w, g)]
    return step


def pmap_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    from functrans import lax
    if len(ft.devices()) < DEVICES:
        raise Skip(f"needs {DEVICES} devices (XLA_FLAGS was set too late)")
    w, x, y = _data()
    f = ft.pmap(_step(ft, fnp, lax), "d", in_axes=(None, 0, 0))
    w = [fnp.asarray(a) for a in w]
    x, y = fnp.asarray(x), fnp.asarray(y)
    return lambda: np.asarray(f(w, x, y)[0][0])


def pmap_jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("jax is not installed")
    if len(jax.devices()) < DEVICES:
        raise Skip(f"needs {DEVICES} devices")
    w, x, y = _data()
    f = jax.pmap(_step(jax, jnp, jax.lax), "d", in_axes=(None, 0, 0))
    return lambda: np.asarray(f(w, x, y)[0][0])


def jit_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    w, x, y = _data()
    f = ft.jit(_step(ft, fnp, None, collective=False))
    w = [fnp.asarray(a) for a in w]
    x, y = fnp.asarray(x.reshape(-1, 784)), fnp.asarray(y.reshape(-1, 10))
    return lambda: np.asarray(f(w, x, y)[0])


WORKLOADS = [
    Workload("pmap/dp_step",
             {"functrans": pmap_functrans, "jax": pmap_jax, "functrans.jit": jit_functrans},
             description=f"data-parallel SGD step of a 784-256-10 MLP over {DEVICES} CPU "
                         "devices (pmean of gradients), batch 2 x 64",
             rtol=1e-4, atol=1e-6),
]


if __name__ == "__main__":
    main(WORKLOADS, sys.argv[1:], description=__doc__.split("\n")[0],
         epilogue=lambda res: "\n".join(ratio_lines(res)))
