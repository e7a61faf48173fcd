"""2-d convolution forward: functrans eager (im2col + BLAS on the host) and jit,
against jax.lax.conv_general_dilated (eager and jit) and torch.

Run from the repository root::

    python bench/bench_conv.py

Workloads (NHWC input, HWIO kernel, stride 1, "SAME" padding, float32; see
bench/README.md for the method):
  conv/28x28x1->32:   (128, 28, 28, 1) x (3, 3, 1, 32), the first layer of a small CNN
  conv/14x14x32->64:  (128, 14, 14, 32) x (3, 3, 32, 64), its second layer
  conv/cnn_forward_eager: the eager forward pass (logits) of the network below, batch 64
  conv/cnn_grad_eager: the eager gradient of its loss (grad, no jit), batch 64
  conv/cnn_train_step: a jitted SGD step of conv3x3·32, relu, maxpool2, conv3x3·64,
                      relu, maxpool2, dense128, relu, dense10 on 28x28x1 NHWC, batch 64
                      (functrans.jit vs jax.jit, torch eager and torch.compile)
Peers: ``functrans`` (eager), ``functrans_jit`` (``jit`` of the same call,
compiled in the factory: XLA's CPU convolution), ``jax`` eager, ``jax_jit``, and
``torch`` (``torch.nn.functional.conv2d`` on NCHW tensors: the layout
conversions of the input and output are part of its timed call, as a user
with NHWC data pays them; ``torch_nchw`` times the bare conv2d on data already
in NCHW/OIHW).

Every workload is settled (see bench/harness.py): torch's, XLA's and OpenBLAS's
thread pools spin after a call, and on 2 cores whoever runs next pays for it.
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


# --------------------------------------------------------------- the CNN training step

CNN_BATCH = 64


def _cnn_data():
    rng = np.random.default_rng(1)

    def w(*shape, fan):
        return (rng.standard_normal(shape) / np.sqrt(fan)).astype(np.float32)

    params = [w(3, 3, 1, 32, fan=9), np.zeros(32, np.float32),
              w(3, 3, 32, 64, fan=288), np.zeros(64, np.float32),
              w(7 * 7 * 64, 128, fan=3136), np.zeros(128, np.float32),
              w(128, 10, fan=128), np.zeros(10, np.float32)]
    x = rng.standard_normal((CNN_BATCH, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, CNN_BATCH).astype(np.int32)
    return params, x, y


def _cnn_logits(np_like, conv, pool, params, x):
    c1, b1, c2, b2, w3, b3, w4, b4 = params
    h = pool(np_like.maximum(conv(x, c1) + b1, 0.0))
    h = pool(np_like.maximum(conv(h, c2) + b2, 0.0))
    h = h.reshape(h.shape[0], -1)
    h = np_like.maximum(h @ w3 + b3, 0.0)
    return h @ w4 + b4


def _cnn_loss(np_like, conv, pool, log_softmax, take, params, x, y):
    logp = log_softmax(_cnn_logits(np_like, conv, pool, params, x))
    return -np_like.mean(take(logp, y))


def _functrans_layers():
    from functrans import lax

    def conv(a, k):
        return lax.conv_general_dilated(a, k, (1, 1), "SAME", dimension_numbers=DN)

    def pool(a):
        return lax.reduce_window(a, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    return conv, pool


def _jax_layers():
    import jax
    import jax.numpy as jnp

    def conv(a, k):
        return jax.lax.conv_general_dilated(a, k, (1, 1), "SAME", dimension_numbers=DN)

    def pool(a):
        return jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1),
                                     "VALID")
    return conv, pool


def cnn_forward_functrans():
    import functrans.numpy as fnp
    params, x, _ = _cnn_data()
    p = [fnp.asarray(a) for a in params]
    x = fnp.asarray(x)
    conv, pool = _functrans_layers()
    return lambda: _cnn_logits(fnp, conv, pool, p, x)


def cnn_forward_jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("jax is not installed")
    params, x, _ = _cnn_data()
    cpu = jax.devices("cpu")[0]
    p = [jax.device_put(a, cpu) for a in params]
    x = jax.device_put(x, cpu)
    conv, pool = _jax_layers()
    return lambda: _cnn_logits(jnp, conv, pool, p, x).block_until_ready()


def _functrans_loss():
    """The CNN's loss as a function of its parameters, and the parameters."""
    import functrans.numpy as fnp
    from functrans import nn
    params, x, y = _cnn_data()
    p = [fnp.asarray(a) for a in params]
    x, y = fnp.asarray(x), fnp.asarray(y)
    conv, pool = _functrans_layers()

    def take(logp, y):
        return fnp.take_along_axis(logp, y[:, None], axis=1)
    return (lambda p: _cnn_loss(fnp, conv, pool, nn.log_softmax, take, p, x, y)), p


def cnn_grad_functrans():
    import functrans as ft
    loss, p = _functrans_loss()
    grad = ft.grad(loss)
    return lambda: grad(p)[0]


def _torch_loss():
    """torch, and the CNN's loss with its parameters (requiring grad) as torch tensors."""
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed")
    params, x, y = _cnn_data()
    p = [torch.from_numpy(a.copy()).requires_grad_(True) for a in params]
    x, y = torch.from_numpy(x), torch.from_numpy(y).long()
    F = torch.nn.functional
    return torch, (lambda: F.cross_entropy(_torch_logits(F, p, x), y)), p


def cnn_grad_torch():
    torch, loss, p = _torch_loss()
    return lambda: torch.autograd.grad(loss(), p)[0].numpy()


def _torch_logits(F, p, x):
    c1, b1, c2, b2, w3, b3, w4, b4 = p
    h = x.permute(0, 3, 1, 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, c1.permute(3, 2, 0, 1), b1, padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, c2.permute(3, 2, 0, 1), b2, padding=1)), 2)
    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
    h = F.relu(h @ w3 + b3)
    return h @ w4 + b4


def cnn_forward_torch():
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed")
    params, x, _ = _cnn_data()
    p = [torch.from_numpy(a.copy()) for a in params]
    x = torch.from_numpy(x)

    def run():
        with torch.no_grad():
            return _torch_logits(torch.nn.functional, p, x).numpy()
    return run


def cnn_functrans():
    import functrans as ft
    loss, p = _functrans_loss()

    @ft.jit
    def step(p):
        g = ft.grad(loss)(p)
        return [a - 0.01 * b for a, b in zip(p, g)]
    step(p)
    return lambda: np.asarray(step(p)[0])


def cnn_jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("jax is not installed")
    params, x, y = _cnn_data()
    cpu = jax.devices("cpu")[0]
    p = [jax.device_put(a, cpu) for a in params]
    x, y = jax.device_put(x, cpu), jax.device_put(y, cpu)
    conv, pool = _jax_layers()

    def take(logp, y):
        return jnp.take_along_axis(logp, y[:, None], axis=1)

    def loss(p):
        return _cnn_loss(jnp, conv, pool, jax.nn.log_softmax, take, p, x, y)

    @jax.jit
    def step(p):
        g = jax.grad(loss)(p)
        return [a - 0.01 * b for a, b in zip(p, g)]
    step(p)[0].block_until_ready()
    return lambda: np.asarray(step(p)[0].block_until_ready())


def _cnn_torch(compiled):
    def factory():
        torch, loss, p = _torch_loss()

        def step():
            gs = torch.autograd.grad(loss(), p)
            return [a.detach() - 0.01 * g for a, g in zip(p, gs)]
        if compiled:
            try:
                step = torch.compile(step)
                step()
            except Exception as e:  # no compiler toolchain on the machine
                raise Skip(f"torch.compile failed: {type(e).__name__}")
        return lambda: step()[0].numpy()
    return factory


WORKLOADS = [
    Workload(name, {"functrans": functrans_eager(name), "functrans_jit": functrans_jit(name),
                    "jax": _jax(name, False), "jax_jit": _jax(name, True),
                    "torch": _torch(name, False), "torch_nchw": _torch(name, True)},
             description=f"conv_general_dilated {SHAPES[name][0]} x {SHAPES[name][1]}, NHWC, "
                         "stride 1, SAME, float32",
             rtol=1e-3, atol=1e-4, settle=True)
    for name in SHAPES
] + [
    Workload("conv/cnn_forward_eager", {"functrans": cnn_forward_functrans,
                                        "jax": cnn_forward_jax, "torch": cnn_forward_torch},
             description="eager forward of the CNN below (logits), batch 64, no jit",
             rtol=1e-3, atol=1e-4, settle=True),
    Workload("conv/cnn_grad_eager", {"functrans": cnn_grad_functrans, "torch": cnn_grad_torch},
             description="eager gradient of the CNN's loss (first kernel's gradient returned), "
                         "batch 64, no jit", rtol=1e-3, atol=1e-4, settle=True),
    Workload("conv/cnn_train_step", {"functrans": cnn_functrans, "jax": cnn_jax,
                                     "torch": _cnn_torch(False),
                                     "torch.compile": _cnn_torch(True)},
             description="jitted SGD step: conv3x3x32, relu, maxpool2, conv3x3x64, relu, maxpool2, "
                         "dense128, relu, dense10; 28x28x1 NHWC, batch 64", rtol=1e-3, atol=1e-4,
             settle=True),
]


def summary(all_results):
    return "\n".join(ratio_lines(all_results, 22))


if __name__ == "__main__":
    main(WORKLOADS, description=__doc__.split("\n")[0], epilogue=summary)
