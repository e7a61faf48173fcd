"""Activation functions, with jax.nn's names, signatures, values and derivatives.

Each is written as JAX writes it, so that it agrees with jax.nn at every
point where a formula has a kink or a tie, not only where it is smooth:

* ``relu`` and ``relu6`` have custom derivatives (JAX's): 0 at their kinks
  (``maximum(x, 0)`` alone would give 1/2 there, half of the tangent going to
  each side of a tie).
* the others are ``where``/``maximum``/``minimum``/``clip`` compositions, whose
  derivatives at a kink follow from those functions' (a ``where`` takes the
  derivative of the branch it selects; ``maximum``/``minimum`` split a tie's
  tangent in half), exactly as in JAX. For example ``elu`` has derivative 1 at
  0 (the ``expm1`` branch), ``leaky_relu`` 1, ``hard_tanh`` 1 at -1 and 1,
  ``celu`` 1 (half from ``maximum``, half from ``minimum``), and
  ``sparse_sigmoid`` 1/4 at -1 and 1 (``clip``).

Example:
    >>> import functrans as ft
    >>> from functrans import nn
    >>> ft.grad(nn.relu)(0.0).item(), ft.grad(nn.elu)(0.0).item()
    (0.0, 1.0)
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .. import numpy as fnp
from ..custom import custom_jvp
from ..numpy._util import promote_args_inexact
from ..primitives import elementwise as ew
from ..scipy import special


def identity(x):
    """Returns ``x`` as an array, unchanged."""
    return fnp.asarray(x)


@custom_jvp
def relu(x):
    """max(x, 0); its derivative at 0 is 0 (as in JAX and PyTorch).

    Example:
        >>> import functrans as ft
        >>> from functrans import nn
        >>> ft.grad(nn.relu)(0.0).item()
        0.0
    """
    return fnp.maximum(x, 0)


@relu.defjvp
def _relu_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return relu(x), fnp.where(fnp.greater(x, 0), t, 0)


@custom_jvp
def relu6(x):
    """min(max(x, 0), 6); its derivative is 0 at 0 and at 6 (as in JAX).

    Example:
        >>> import functrans as ft
        >>> from functrans import nn
        >>> [ft.grad(nn.relu6)(v).item() for v in (0.0, 3.0, 6.0)]
        [0.0, 1.0, 0.0]
    """
    return fnp.minimum(fnp.maximum(x, 0), 6.0)


@relu6.defjvp
def _relu6_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    inside = fnp.logical_and(fnp.greater(x, 0), fnp.less(x, 6))
    return relu6(x), fnp.where(inside, t, 0)


def squareplus(x, b=4):
    """(x + sqrt(x**2 + b)) / 2, a smooth relu (https://arxiv.org/abs/2112.11687)."""
    x, b = fnp.asarray(x), fnp.asarray(b)
    return fnp.true_divide(fnp.add(x, fnp.sqrt(fnp.add(fnp.square(x), b))), 2)


def softplus(x):
    """log(1 + exp(x)), computed as ``logaddexp(x, 0)``: exact for large |x|.

    Example:
        >>> from functrans import nn
        >>> round(nn.softplus(0.0).item(), 4)   # log 2
        0.6931
    """
    return fnp.logaddexp(x, 0)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)**2 / 4 on (-1, 1), x for x >= 1."""
    x = fnp.asarray(x)
    return fnp.where(x <= -1.0, 0.0, fnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def soft_sign(x):
    """x / (|x| + 1)."""
    x = fnp.asarray(x)
    return x / (fnp.abs(x) + 1)


def sigmoid(x):
    """1 / (1 + exp(-x)) (the ``logistic`` primitive).

    As ``jax.nn.sigmoid``, integer inputs are rejected (TypeError), not promoted.
    """
    return ew.logistic_p.bind(fnp.asarray(x))


def sparse_sigmoid(x):
    """0 for x <= -1, (x + 1) / 2 on (-1, 1), 1 for x >= 1: the derivative of :func:`sparse_plus`."""
    return 0.5 * fnp.clip(fnp.add(x, 1.0), 0.0, 2.0)


def silu(x):
    """x * sigmoid(x) (swish)."""
    x = fnp.asarray(x)
    return x * sigmoid(x)


swish = silu


def mish(x):
    """x * tanh(softplus(x)) (https://arxiv.org/abs/1908.08681)."""
    x = fnp.asarray(x)
    return x * fnp.tanh(softplus(x))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    x = fnp.asarray(x)
    return -softplus(-x)


def tanh(x):
    return fnp.tanh(x)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise; derivative 1 at 0 (for alpha = 1).

    ``expm1`` sees 0 where x > 0: no overflow, and no NaN derivative, for large x.
    """
    x = fnp.asarray(x)
    safe = fnp.where(x > 0, 0.0, x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(safe))


def leaky_relu(x, negative_slope=1e-2):
    """x for x >= 0, negative_slope * x otherwise (derivative 1 at 0)."""
    x = fnp.asarray(x)
    return fnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x):
    """-1 for x < -1, x on [-1, 1], 1 for x > 1 (derivative 1 at -1 and 1)."""
    x = fnp.asarray(x)
    return fnp.where(x > 1, 1, fnp.where(x < -1, -1, x))


def celu(x, alpha=1.0):
    """max(x, 0) + alpha * expm1(min(x, 0) / alpha) (https://arxiv.org/abs/1704.07483)."""
    return fnp.maximum(x, 0.0) + alpha * fnp.expm1(fnp.minimum(x, 0.0) / alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """scale * elu(x, alpha) with the self-normalizing constants (https://arxiv.org/abs/1706.02515)."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def gelu(x, approximate: bool = True):
    """The Gaussian error linear unit; ``approximate`` uses the tanh form (JAX's default).

    Integer input is promoted to the default float type.
    """
    (x,) = promote_args_inexact("gelu", x)
    if approximate:
        sqrt_2_over_pi = np.sqrt(2 / np.pi).astype(x.dtype)
        cdf = 0.5 * (1.0 + fnp.tanh(sqrt_2_over_pi * (x + 0.044715 * (x ** 3))))
        return x * cdf
    sqrt_half = np.sqrt(0.5).astype(x.dtype)
    return (0.5 * x * special.erfc(-x * sqrt_half)).astype(x.dtype)


def glu(x, axis: int = -1):
    """x1 * sigmoid(x2), where x1 and x2 are the halves of ``x`` along ``axis``."""
    x = fnp.asarray(x)
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got {size}")
    x1, x2 = fnp.split(x, 2, axis)
    return x1 * sigmoid(x2)


def hard_sigmoid(x):
    """relu6(x + 3) / 6."""
    return relu6(fnp.add(x, 3.0)) / 6.0


def hard_silu(x):
    """x * hard_sigmoid(x) (hard swish)."""
    x = fnp.asarray(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


@custom_jvp
def log1mexp(x):
    """log(1 - exp(-x)) for x >= 0, accurate for small and large x (Maechler's method)."""
    x = fnp.asarray(x)
    c = float(np.log(2.0))
    return fnp.where(x < c, fnp.log(-fnp.expm1(-x)), fnp.log1p(-fnp.exp(-x)))


@log1mexp.defjvp
def _log1mexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1mexp(x), t / fnp.expm1(x)


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) over ``axis`` (an int, a tuple, or None for all axes).

    ``where`` (bool, broadcast against ``x``) masks elements out of the sum;
    their outputs are 0. A +inf input makes the result NaN, as in JAX.
    """
    return special._softmax_masked(x, axis, where)


def log_softmax(x, axis=-1, where=None):
    """x - logsumexp(x) over ``axis``; masked-out elements (``where``) give -inf."""
    return special._log_softmax_masked(x, axis, where)


def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False,
              where=None):
    """log(sum(b * exp(a))) over ``axis`` (None: all axes, as in JAX).

    The same function as :func:`functrans.scipy.special.logsumexp`.
    """
    return special.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign,
                             where=where)


def logmeanexp(x, axis=None, where=None, keepdims: bool = False):
    """log(mean(exp(x))) over ``axis``: logsumexp minus the log of the count."""
    lse = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    ones = fnp.ones_like(x, dtype=lse.dtype)
    count = fnp.sum(ones, axis=axis, where=where, keepdims=keepdims)
    return lse - fnp.log(count)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None, *,
                algorithm: str = "fast"):
    """(x - mean) / sqrt(variance + epsilon) over ``axis``.

    ``algorithm="fast"`` computes the variance as mean(x**2) - mean(x)**2
    (clipped at 0), ``"stable"`` as mean((x - mean)**2).
    """
    if mean is None:
        mean = fnp.mean(x, axis, keepdims=True, where=where)
    if variance is None:
        if algorithm == "stable":
            variance = fnp.mean(fnp.square(fnp.subtract(x, mean)), axis, keepdims=True,
                                where=where)
        elif algorithm == "fast":
            variance = fnp.mean(fnp.square(x), axis, keepdims=True, where=where) - fnp.square(mean)
            variance = fnp.clip(variance, 0)
        else:
            raise ValueError(f"standardize: unknown algorithm {algorithm!r}; expected 'fast' or "
                             "'stable'")
    return fnp.subtract(x, mean) * ew.rsqrt(fnp.asarray(variance + epsilon))


def one_hot(x, num_classes: int, dtype=None, *, axis: int = -1):
    """Integer ``x`` as one-hot vectors along a new axis ``axis`` (default float dtype).

    Indices outside [0, num_classes) give all-zero vectors.
    """
    x = fnp.asarray(x)
    dtype = dtypes.default_float() if dtype is None else dtype
    out_axis = axis + x.ndim + 1 if axis < 0 else axis
    if not 0 <= out_axis <= x.ndim:
        raise ValueError(f"one_hot: axis {axis} is out of bounds for a result of rank "
                         f"{x.ndim + 1}")
    classes = fnp.arange(num_classes).reshape((num_classes,) + (1,) * (x.ndim - out_axis))
    return (fnp.expand_dims(x, out_axis) == classes).astype(dtype)


__all__ = ["identity", "relu", "relu6", "squareplus", "softplus", "sparse_plus", "soft_sign",
           "sigmoid", "sparse_sigmoid", "silu", "swish", "mish", "log_sigmoid", "tanh", "elu",
           "leaky_relu", "hard_tanh", "celu", "selu", "gelu", "glu", "hard_sigmoid", "hard_silu",
           "hard_swish", "log1mexp", "softmax", "log_softmax", "logsumexp", "logmeanexp",
           "standardize", "one_hot"]
