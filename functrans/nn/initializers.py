"""Parameter initializers: ``init(key, shape, dtype) -> array``.

Fan-in/fan-out follow the usual conventions: for a weight of shape
``(..., in, out)`` (Linear: ``(in, out)``; convolution kernels in HWIO order:
receptive field × in × out) ``fan_in = in * receptive``, ``fan_out = out * receptive``.
"""

from __future__ import annotations

import numpy as np

from .. import numpy as fnp
from .. import random


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(key, shape, dtype=np.float32):
    return fnp.zeros(shape, dtype)


def ones(key, shape, dtype=np.float32):
    return fnp.ones(shape, dtype)


def constant(value):
    def init(key, shape, dtype=np.float32):
        return fnp.full(shape, value, dtype)
    return init


def normal(stddev: float = 1e-2):
    def init(key, shape, dtype=np.float32):
        return random.normal(key, shape, dtype) * stddev
    return init


def uniform(scale: float = 1e-2):
    def init(key, shape, dtype=np.float32):
        return random.uniform(key, shape, dtype, -scale, scale)
    return init


def variance_scaling(scale: float, mode: str, distribution: str):
    """Samples with variance ``scale / fan`` (fan_in, fan_out or their average)."""
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"variance_scaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
    if distribution not in ("normal", "truncated_normal", "uniform"):
        raise ValueError(f"variance_scaling: unknown distribution {distribution!r}")

    def init(key, shape, dtype=np.float32):
        fan_in, fan_out = _fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        var = scale / max(fan, 1)
        if distribution == "uniform":
            lim = np.sqrt(3 * var)
            return random.uniform(key, shape, dtype, -lim, lim)
        if distribution == "normal":
            return random.normal(key, shape, dtype) * np.sqrt(var).astype(dtype)
        # a normal truncated to 2 std, rescaled to keep the variance
        std = np.sqrt(var) / 0.87962566103423978
        return random.truncated_normal(key, -2.0, 2.0, shape, dtype) * np.asarray(std, dtype)
    return init


def glorot_uniform():
    return variance_scaling(1.0, "fan_avg", "uniform")


def glorot_normal():
    return variance_scaling(1.0, "fan_avg", "truncated_normal")


def he_uniform():
    return variance_scaling(2.0, "fan_in", "uniform")


def he_normal():
    return variance_scaling(2.0, "fan_in", "truncated_normal")


def lecun_uniform():
    return variance_scaling(1.0, "fan_in", "uniform")


def lecun_normal():
    return variance_scaling(1.0, "fan_in", "truncated_normal")


xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal = (glorot_uniform, glorot_normal,
                                                                  he_uniform, he_normal)


def orthogonal(scale: float = 1.0):
    """A (scaled) random orthogonal matrix over the last axis vs the others (QR of a normal)."""
    def init(key, shape, dtype=np.float32):
        if len(shape) < 2:
            raise ValueError(f"orthogonal: needs a shape of rank >= 2, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = np.asarray(random.normal(key, (max(rows, cols), min(rows, cols)), np.float32),
                       np.float64)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))  # a uniformly distributed orthogonal matrix
        if rows < cols:
            q = q.T
        return fnp.asarray((scale * q[:rows, :cols]).reshape(shape).astype(dtype))
    return init


__all__ = ["zeros", "ones", "constant", "normal", "uniform", "variance_scaling",
           "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
           "lecun_normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
           "kaiming_normal", "orthogonal"]
