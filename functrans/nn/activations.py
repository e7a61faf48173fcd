"""Activation functions, numerically stable (and with stable derivatives)."""

from __future__ import annotations

import numpy as np

from .. import numpy as fnp
from ..custom import custom_jvp
from ..scipy import special


def relu(x):
    """max(x, 0); its derivative at 0 is 0 (as in JAX and PyTorch)."""
    return fnp.maximum(x, 0)


def leaky_relu(x, negative_slope: float = 0.01):
    return fnp.where(x >= 0, x, negative_slope * x)


def elu(x, alpha: float = 1.0):
    # expm1 of min(x, 0): no overflow (and no NaN gradient) for large positive x
    return fnp.where(x > 0, x, alpha * fnp.expm1(fnp.minimum(x, 0)))


def sigmoid(x):
    return special.expit(x)


def tanh(x):
    return fnp.tanh(x)


@custom_jvp
def softplus(x):
    """log(1 + exp(x)), computed as ``logaddexp(x, 0)``: exact for large |x|."""
    return fnp.logaddexp(x, 0.0)


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * special.expit(x)


def silu(x):
    """x * sigmoid(x) (swish)."""
    return x * special.expit(x)


swish = silu


def gelu(x, approximate: bool = True):
    """The Gaussian error linear unit; ``approximate`` uses the tanh form (JAX's default)."""
    if approximate:
        c = np.sqrt(2 / np.pi).astype(np.float32)
        return 0.5 * x * (1 + fnp.tanh(c * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + special.erf(x / np.float32(np.sqrt(2))))


def softmax(x, axis: int = -1):
    return special.softmax(x, axis=axis)


def log_softmax(x, axis: int = -1):
    return special.log_softmax(x, axis=axis)


def logsumexp(x, axis: int = -1, keepdims: bool = False):
    """log(sum(exp(x))) along ``axis``, without overflow."""
    return special.logsumexp(x, axis=axis, keepdims=keepdims)


def one_hot(labels, num_classes: int, dtype=np.float32):
    """``labels`` (ints) as one-hot vectors along a new last axis."""
    labels = fnp.asarray(labels)
    return (labels[..., None] == fnp.arange(num_classes)).astype(dtype)


__all__ = ["relu", "leaky_relu", "elu", "sigmoid", "tanh", "softplus", "silu", "swish", "gelu",
           "softmax", "log_softmax", "logsumexp", "one_hot"]
