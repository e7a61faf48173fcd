"""functrans.scipy.special: special functions with scipy.special's names.

Integers and bools are promoted to the default float first (like
jax.scipy.special); the functions are compositions of functrans.numpy
functions and elementwise primitives (erf, erf_inv, lgamma, digamma, logistic).
Where a formula has a removable singularity (``0 * log(0)``), the unsafe
operand is replaced before the call, so eager mode emits no warnings and the
values are exact.
"""

from __future__ import annotations

import functools

from .. import dtypes
from ..custom import custom_jvp
from ..numpy import _reductions as red
from ..numpy import _ufuncs as uf
from ..numpy._util import broadcast_shapes, broadcast_to, promote_args_inexact
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
    """The complementary error function 1 - erf(x) (computed as such: loses
    relative accuracy for large x).

    Example:
        >>> from functrans.scipy.special import erfc
        >>> round(erfc(1.0).item(), 4)
        0.1573
    """
    return uf.subtract(1, erf(x))


def ndtr(x, /):
    """The standard normal CDF: (1 + erf(x / sqrt(2))) / 2.

    Example:
        >>> from functrans.scipy.special import ndtr
        >>> ndtr(0.0).item()
        0.5
    """
    x = _real_float("ndtr", x)
    return uf.multiply(uf.add(1, erf(uf.multiply(x, 0.7071067811865476))), 0.5)


def logit(p, /):
    """log(p / (1 - p)), the inverse of :func:`expit`.

    Example:
        >>> from functrans.scipy.special import logit
        >>> logit(0.5).item()
        0.0
    """
    p = _real_float("logit", p)
    return uf.log(uf.true_divide(p, uf.subtract(1, p)))


def xlogy(x, y, /):
    """x * log(y), and 0 where x == 0 (even for y == 0).

    Example:
        >>> from functrans.scipy.special import xlogy
        >>> xlogy(0.0, 0.0).item()
        0.0
    """
    x, y = promote_args_inexact("xlogy", x, y)
    zero = uf.equal(x, 0)
    return uf.where(zero, 0, uf.multiply(x, uf.log(uf.where(zero, 1, y))))


def xlog1py(x, y, /):
    """x * log1p(y), and 0 where x == 0 (even for y == -1).

    Example:
        >>> from functrans.scipy.special import xlog1py
        >>> xlog1py(0.0, -1.0).item()
        0.0
    """
    x, y = promote_args_inexact("xlog1py", x, y)
    zero = uf.equal(x, 0)
    return uf.where(zero, 0, uf.multiply(x, uf.log1p(uf.where(zero, 0, y))))


def entr(x, /):
    """Elementwise entropy: -x log x for x > 0, 0 at 0, -inf for x < 0 (NaN stays NaN).

    Example:
        >>> from functrans.scipy.special import entr
        >>> entr(0.0).item(), entr(-1.0).item()
        (0.0, -inf)
    """
    x = _real_float("entr", x)
    pos = uf.greater(x, 0)
    value = uf.negative(uf.multiply(x, uf.log(uf.where(pos, x, 1))))
    other = uf.where(uf.equal(x, 0), 0, uf.where(uf.isnan(x), x, -float("inf")))
    return uf.where(pos, value, other)


# --- logsumexp and softmax -----------------------------------------------------------------------


def _shifted_max(a, axis):
    """max(a) over the sorted tuple ``axis`` (kept), with non-finite maxima (all
    -inf, or +inf) set to 0, so that ``a - max`` never computes inf - inf.

    The callers' results do not depend on the shift, so it is a constant to
    autodiff (stop_gradient, as in JAX): the derivative is then exactly the
    softmax, instead of one in which the max's own derivative (+1 and -1)
    cancels up to rounding.
    """
    # reduce_max gives -inf for an empty axis, where numpy.max would raise.
    amax = rp.reduce_max_p.bind(ew.stop_gradient(a), axes=axis)
    amax = reshape(amax, tuple(1 if i in axis else d for i, d in enumerate(a.shape)))
    return uf.where(uf.isfinite(amax), amax, 0)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) over ``axis``, computed stably (shifted by the maximum).

    Args:
      a: real array-like.
      axis: None (all elements), an int or a tuple of ints.
      b: optional scale factors, broadcast against ``a``; may be negative with
        ``return_sign=True``.
      keepdims: keep the reduced axes with size 1.
      return_sign: also return the sign of the sum; the value is then
        log|sum|.

    Returns:
      The result, or ``(result, sign)``. All -inf input gives -inf (sign 0);
      a +inf gives +inf; NaN propagates.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans.scipy.special import logsumexp
        >>> round(logsumexp(fnp.asarray([1000.0, 1000.0])).item(), 2)   # 1000 + log(2)
        1000.69
    """
    if b is None:
        (a,) = promote_args_inexact("logsumexp", a)
    else:
        a, b = promote_args_inexact("logsumexp", a, b)
        shape = broadcast_shapes("logsumexp", tuple(a.shape), tuple(b.shape))
        a, b = broadcast_to(a, shape), broadcast_to(b, shape)
    if dtypes.is_complex(a.dtype):
        raise TypeError("logsumexp: complex input is not supported; pass real values")
    axes = red._axes("logsumexp", axis, a.ndim)
    if b is None and not return_sign:
        out = _logsumexp_kept(a, axes)
        return out if keepdims else squeeze(out, axes)
    amax = _shifted_max(a, axes)
    e = uf.exp(uf.subtract(a, amax))
    if b is not None:
        e = uf.multiply(b, e)
    s = red.sum(e, axes, keepdims=True)
    sign = None
    if return_sign:
        sign = uf.sign(s)
        s = uf.abs(s)
    log_s, _ = _safe_log(s)
    out = uf.add(log_s, amax)
    if not keepdims:
        out = squeeze(out, axes)
        sign = squeeze(sign, axes) if sign is not None else None
    return (out, sign) if return_sign else out


def _safe_log(s):
    """``(log(s), s with 0 replaced by 1)`` for s >= 0 (NaN elsewhere), with no
    log(0) computed: eager mode then warns about nothing."""
    positive = uf.greater(s, 0)
    safe = uf.where(positive, s, 1)
    log_s = uf.where(positive, uf.log(safe),
                     uf.where(uf.equal(s, 0), -float("inf"), float("nan")))
    return log_s, safe


def _logsumexp_parts(a, axes):
    """logsumexp over ``axes`` (kept), ``exp(a - shift)``, and its sum with 0 replaced by 1."""
    amax = _shifted_max(a, axes)
    e = uf.exp(uf.subtract(a, amax))
    s = red.sum(e, axes, keepdims=True)
    # s >= 0 (or NaN): only s == 0, where every input is -inf, needs its log
    # spelled out (-inf); NaN stays NaN through log without a warning.
    zero = uf.equal(s, 0)
    safe = uf.where(zero, 1, s)
    log_s = uf.where(zero, -float("inf"), uf.log(safe))
    return uf.add(log_s, amax), e, safe


@functools.partial(custom_jvp, nondiff_argnums=(1,))
def _logsumexp_kept(a, axes):
    return _logsumexp_parts(a, axes)[0]


@_logsumexp_kept.defjvp
def _logsumexp_kept_jvp(axes, primals, tangents):
    # The tangent is sum(t * softmax(a)): one multiply and one sum for reverse
    # mode to record and transpose, instead of the ~dozen primitives of the
    # guarded formula above (the same derivative: 0 where every input is -inf).
    (a,), (t,) = primals, tangents
    out, e, safe = _logsumexp_parts(a, axes)
    return out, red.sum(uf.multiply(t, uf.true_divide(e, safe)), axes, keepdims=True)


def log_softmax(x, axis=None):
    """x - logsumexp(x) over ``axis`` (None: all elements, like scipy).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans.scipy.special import log_softmax
        >>> round(log_softmax(fnp.asarray([0.0, 0.0])).tolist()[0], 4)
        -0.6931
    """
    (x,) = promote_args_inexact("log_softmax", x)
    axes = red._axes("log_softmax", axis, x.ndim)
    shifted = uf.subtract(x, _shifted_max(x, axes))
    return uf.subtract(shifted, uf.log(red.sum(uf.exp(shifted), axes, keepdims=True)))


def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) over ``axis`` (None: all elements, like scipy).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans.scipy.special import softmax
        >>> softmax(fnp.asarray([1.0, 1.0])).tolist()
        [0.5, 0.5]
    """
    (x,) = promote_args_inexact("softmax", x)
    axes = red._axes("softmax", axis, x.ndim)
    e = uf.exp(uf.subtract(x, _shifted_max(x, axes)))
    return uf.true_divide(e, red.sum(e, axes, keepdims=True))
