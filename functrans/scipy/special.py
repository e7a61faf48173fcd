"""functrans.scipy.special: special functions with scipy.special's names.

Integers and bools are promoted to the default float first (like
jax.scipy.special); the functions are compositions of functrans.numpy
functions and elementwise primitives (erf, erf_inv, lgamma, digamma, logistic).
Where a formula has a removable singularity (``0 * log(0)``), the unsafe
operand is replaced before the call, so eager mode emits no warnings and the
values are exact.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..custom import custom_jvp
from ..numpy import _reductions as red
from ..numpy import _ufuncs as uf
from ..numpy._util import promote_args_inexact
from ..primitives import elementwise as ew
from ..primitives import reductions as rp
from ..primitives.shape import reshape, squeeze

__all__ = ["logsumexp", "softmax", "log_softmax", "expit", "logit", "erf", "erfc", "erfinv",
           "gammaln", "digamma", "xlogy", "xlog1py", "entr", "ndtr"]


def _real_float(name, x):
    (x,) = promote_args_inexact(name, x)
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"{name}: expected real input, got {x.dtype}")
    return x


def _unary(name, prim, doc):
    def fn(x, /):
        return prim.bind(_real_float(name, x))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


erf = _unary("erf", ew.erf_p, """The error function 2/sqrt(pi) * integral_0^x exp(-t**2) dt.

    Example:
        >>> from functrans.scipy.special import erf
        >>> round(erf(1.0).item(), 4)
        0.8427
    """)
erfinv = _unary("erfinv", ew.erf_inv_p, """The inverse of :func:`erf` on (-1, 1).

    Example:
        >>> from functrans.scipy.special import erfinv
        >>> round(erfinv(0.5).item(), 4)
        0.4769
    """)
gammaln = _unary("gammaln", ew.lgamma_p, """log|Gamma(x)|.

    Example:
        >>> from functrans.scipy.special import gammaln
        >>> round(gammaln(5.0).item(), 4)   # log(4!)
        3.1781
    """)
digamma = _unary("digamma", ew.digamma_p, """The digamma function, d/dx log Gamma(x).

    Example:
        >>> from functrans.scipy.special import digamma
        >>> round(digamma(1.0).item(), 4)   # minus the Euler-Mascheroni constant
        -0.5772
    """)
expit = _unary("expit", ew.logistic_p, """The logistic sigmoid 1 / (1 + exp(-x)).

    Example:
        >>> from functrans.scipy.special import expit
        >>> expit(0.0).item()
        0.5
    """)


def erfc(x, /):
    """The complementary error function 1 - erf(x), accurate where it is tiny (XLA's
    ``erfc``; scipy's on the host).

    Example:
        >>> from functrans.scipy.special import erfc
        >>> round(erfc(1.0).item(), 4)
        0.1573
    """
    (x,) = promote_args_inexact("erfc", x)
    return ew.erfc_p.bind(x)


def ndtr(x, /):
    """The standard normal CDF: (1 + erf(x / sqrt(2))) / 2.

    Example:
        >>> from functrans.scipy.special import ndtr
        >>> ndtr(0.0).item()
        0.5
    """
    x = _real_float("ndtr", x)
    # as JAX: erf near 0, erfc in the tails (accurate where the CDF is tiny)
    half_sqrt_2 = 0.7071067811865476
    w = uf.multiply(x, half_sqrt_2)
    z = uf.abs(w)
    tail = uf.where(uf.greater(w, 0), uf.subtract(2, erfc(z)), erfc(z))
    return uf.multiply(uf.where(uf.less(z, half_sqrt_2), uf.add(1, erf(w)), tail), 0.5)


@custom_jvp
def logit(p, /):
    """log(p / (1 - p)), the inverse of :func:`expit` (derivative 1 / (p (1 - p)), as JAX's).

    Example:
        >>> from functrans.scipy.special import logit
        >>> logit(0.5).item()
        0.0
    """
    p = _real_float("logit", p)
    return uf.log(uf.true_divide(p, uf.subtract(1, p)))


@logit.defjvp
def _logit_jvp(primals, tangents):
    (p,), (t,) = primals, tangents
    p = _real_float("logit", p)
    return logit(p), uf.true_divide(t, uf.multiply(p, uf.subtract(1, p)))


@custom_jvp
def xlogy(x, y, /):
    """x * log(y), and 0 where x == 0 (even for y == 0; NaN y propagates).

    Its derivatives are JAX's: ``log(y)`` and ``x / y`` (NaN at x == y == 0).

    Example:
        >>> from functrans.scipy.special import xlogy
        >>> xlogy(0.0, 0.0).item()
        0.0
    """
    x, y = promote_args_inexact("xlogy", x, y)
    keep = uf.logical_or(uf.not_equal(x, 0), uf.isnan(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        return uf.where(keep, uf.multiply(x, uf.log(y)), uf._zeros_keep_weak(x))


@xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    out = xlogy(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = uf.add(uf.multiply(tx, uf.log(y)), uf.true_divide(uf.multiply(ty, x), y))
    return out, t.astype(out.dtype)


@custom_jvp
def xlog1py(x, y, /):
    """x * log1p(y), and 0 where x == 0 (even for y == -1; NaN y propagates).

    Example:
        >>> from functrans.scipy.special import xlog1py
        >>> xlog1py(0.0, -1.0).item()
        0.0
    """
    x, y = promote_args_inexact("xlog1py", x, y)
    keep = uf.logical_or(uf.not_equal(x, 0), uf.isnan(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        return uf.where(keep, uf.multiply(x, uf.log1p(y)), uf._zeros_keep_weak(x))


@xlog1py.defjvp
def _xlog1py_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    out = xlog1py(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = uf.add(uf.multiply(tx, uf.log1p(y)),
                   uf.true_divide(uf.multiply(ty, x), uf.add(1, y)))
    return out, t.astype(out.dtype)


@custom_jvp
def _xlogx(x):
    return xlogy(x, x)


@_xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    with np.errstate(divide="ignore"):
        return _xlogx(x), uf.multiply(t, uf.add(uf.log(x), 1))


def entr(x, /):
    """-x log(x) for x > 0, 0 at 0, -inf for x < 0 (JAX's derivatives: -(log(x) + 1)).

    Example:
        >>> from functrans.scipy.special import entr
        >>> entr(1.0).item()
        -0.0
    """
    x = _real_float("entr", x)
    return uf.where(uf.less(x, 0), -float("inf"), uf.negative(_xlogx(x)))


# --- logsumexp and softmax -----------------------------------------------------------------------
# Written as jax.scipy.special / jax.nn write them, so that the derivatives agree
# with JAX's at the edges too: the shift by the maximum is a constant to autodiff
# (stop_gradient: the derivative is exactly the softmax), and an all -inf
# reduction has NaN derivatives (log's derivative at 0 times exp's 0), as in JAX.


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) over ``axis``, computed stably (shifted by the maximum).

    Args:
      a: real array-like.
      axis: None (all elements), an int or a tuple of ints.
      b: optional scale factors, broadcast against ``a``; may be negative with
        ``return_sign=True`` (without it, a negative sum gives NaN).
      keepdims: keep the reduced axes with size 1.
      return_sign: also return the sign of the sum; the value is then
        log|sum|.
      where: optional bool mask (broadcast against ``a``) of the elements to
        include.

    Returns:
      The result, or ``(result, sign)``. All -inf input gives -inf (sign 0,
      and NaN derivatives, as in JAX); a +inf gives +inf; NaN propagates.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans.scipy.special import logsumexp
        >>> round(logsumexp(fnp.asarray([1000.0, 1000.0])).item(), 2)   # 1000 + log(2)
        1000.69
    """
    if where is not None:
        a = uf.where(where, a, 0)
    if b is None:
        (a,) = promote_args_inexact("logsumexp", a)
    else:
        a, b = promote_args_inexact("logsumexp", a, b)
        a = uf.where(uf.not_equal(b, 0), a, -float("inf"))
    if dtypes.is_complex(a.dtype):
        raise TypeError("logsumexp: complex input is not supported; pass real values")
    axes = red._axes("logsumexp", axis, a.ndim)
    # (log(0) = -inf and inf - inf = NaN are the intended values: no eager warnings)
    with np.errstate(divide="ignore", invalid="ignore"):
        amax = _max_kept(a, axes, where)
        amax = ew.stop_gradient(uf.where(uf.isfinite(amax), amax, 0))
        e = uf.exp(uf.subtract(a, amax))
        if b is not None:
            e = uf.multiply(e, b)
        s = red.sum(e, axes, keepdims=True, where=where)
        sign = uf.sign(s)
        out = uf.add(uf.log(uf.abs(s)), amax)
    if not keepdims:
        out, sign = squeeze(out, axes), squeeze(sign, axes)
    if return_sign:
        return out, sign
    if b is not None:
        out = uf.where(uf.less(sign, 0), float("nan"), out)
    return out


def _max_kept(a, axes, where):
    """max(a) over the sorted tuple ``axes`` (kept); -inf where nothing is reduced.

    Only ever used behind stop_gradient: the maximum of a stopped ``a`` has the
    same value and no derivative to record."""
    a = ew.stop_gradient(a)
    if where is None:
        # reduce_max gives -inf for an empty axis, where numpy.max would raise.
        amax = rp.reduce_max_p.bind(a, axes=axes)
        return reshape(amax, tuple(1 if i in axes else d for i, d in enumerate(a.shape)))
    return red.max(a, axes, keepdims=True, where=where, initial=-float("inf"))


def _softmax_masked(x, axis, where):
    """jax.nn.softmax: exp(x - max) / sum over ``axis``, 0 where ``where`` is False."""
    (x,) = promote_args_inexact("softmax", x)
    axes = red._axes("softmax", axis, x.ndim)
    with np.errstate(invalid="ignore"):  # a +inf input gives NaN, as in JAX
        if where is not None:
            x = uf.where(where, x, -float("inf"))
        e = uf.exp(uf.subtract(x, _max_kept(x, axes, where)))
        out = uf.true_divide(e, red.sum(e, axes, keepdims=True, where=where))
    return out if where is None else uf.where(where, out, 0)


def _log_softmax_masked(x, axis, where):
    """jax.nn.log_softmax: (x - max) - log(sum(exp(x - max))), -inf where ``where`` is False."""
    (x,) = promote_args_inexact("log_softmax", x)
    axes = red._axes("log_softmax", axis, x.ndim)
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = x if where is None else uf.where(where, x, -float("inf"))
        shifted = uf.subtract(safe, _max_kept(x, axes, where))
        out = uf.subtract(shifted, uf.log(red.sum(uf.exp(shifted), axes, keepdims=True,
                                                  where=where)))
    return out if where is None else uf.where(where, out, -float("inf"))


def log_softmax(x, /, *, axis=None):
    """x - logsumexp(x) over ``axis`` (None: all elements, like scipy and JAX).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans.scipy.special import log_softmax
        >>> round(log_softmax(fnp.asarray([0.0, 0.0])).tolist()[0], 4)
        -0.6931
    """
    return _log_softmax_masked(x, axis, None)


def softmax(x, /, *, axis=None):
    """exp(x) / sum(exp(x)) over ``axis`` (None: all elements, like scipy and JAX).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans.scipy.special import softmax
        >>> softmax(fnp.asarray([1.0, 1.0])).tolist()
        [0.5, 0.5]
    """
    return _softmax_masked(x, axis, None)
