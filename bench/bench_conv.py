"""2-d convolution forward: functrans eager (im2col + BLAS on the host) and jit,
against jax.lax.conv_general_dilated (eager and jit) and torch.

Run from the repository root::

    python bench/bench_conv.py

Workloads (NHWC input, HWIO kernel, stride 1, "SAME" padding, float32; see
bench/README.md for the method):
  conv/28x28x1->32:   (128, 28, 28, 1) x (3, 3, 1, 32), the first layer of a small CNN
  conv/14x14x32->64:  (128, 14, 14, 32) x (3, 3, 32, 64), its second layer
Peers: ``functrans`` (eager), ``functrans_jit`` (``jit`` of the same call,
compiled in the factory: XLA's CPU convolution), ``jax`` eager, ``jax_jit``, and
``torch`` (``torch.nn.functional.conv2d`` on NCHW tensors: the layout
conversions of the input and output are part of its timed call, as a user
with NHWC data pays them; ``torch_nchw`` times the bare conv2d on data already
in NCHW/OIHW).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(1, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from harness import Skip, Workload, main, ratio_lines  # noqa: E402

DN = ("NHWC", "HWIO", "NHWC")
SHAPES = {"conv/28x28x1->32": ((128, 28, 28, 1), (3, 3, 1, 32)),
          "conv/14x14x32->64": ((128, 14, 14, 32), (3, 3, 32, 64))}


def _data(name):
    rng = np.random.default_rng(0)
    xs, ws = SHAPES[name]
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[:3]))).astype(np.float32)
    return x, w


def functrans_eager(name):
    def factory():
        import functrans.numpy as fnp
        from functrans import lax
        x, w = map(fnp.asarray, _data(name))
        return lambda: lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=DN)
    return factory


def functrans_jit(name):
    def factory():
        import functrans.numpy as fnp
        from functrans import lax
        from functrans.jit import jit
        x, w = map(fnp.asarray, _data(name))
        f = jit(lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                                      dimension_numbers=DN))
        f(x, w)
        return lambda: f(x, w).block_until_ready()
    return factory


def _jax(name, jitted):
    def factory():
        try:
            import jax
        except ImportError:
            raise Skip("jax is not installed")
        cpu = jax.devices("cpu")[0]
        x, w = (jax.device_put(a, cpu) for a in _data(name))

        def f(x, w):
            return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=DN)
        if jitted:
            f = jax.jit(f)
        f(x, w).block_until_ready()
        return lambda: f(x, w).block_until_ready()
    return factory


def _torch(name, nchw):
    def factory():
        try:
            import torch
        except ImportError:
            raise Skip("torch is not installed")
        x, w = _data(name)
        wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))   # OIHW
        if nchw:
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
            return lambda: torch.nn.functional.conv2d(xt, wt, padding=1).numpy() \
                .transpose(0, 2, 3, 1)
        xt = torch.from_numpy(x)

        def run():
            out = torch.nn.functional.conv2d(xt.permute(0, 3, 1, 2), wt, padding=1)
            return out.permute(0, 2, 3, 1).contiguous().numpy()
        return run
    return factory


WORKLOADS = [
    Workload(name, {"functrans": functrans_eager(name), "functrans_jit": functrans_jit(name),
                    "jax": _jax(name, False), "jax_jit": _jax(name, True),
                    "torch": _torch(name, False), "torch_nchw": _torch(name, True)},
             description=f"conv_general_dilated {SHAPES[name][0]} x {SHAPES[name][1]}, NHWC, "
                         "stride 1, SAME, float32",
             rtol=1e-3, atol=1e-4)
    for name in SHAPES
]


def summary(all_results):
    return "\n".join(ratio_lines(all_results, 22))


if __name__ == "__main__":
    main(WORKLOADS, description=__doc__.split("\n")[0], epilogue=summary)
