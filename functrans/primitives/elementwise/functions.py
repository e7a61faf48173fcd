"""Math functions: exp and log, trigonometric and hyperbolic functions and their
inverses, roots, pow, atan2, and the special functions (erf, lgamma, digamma,
polygamma).

Complex functions are differentiated as holomorphic functions: the tangent of
``f(x)`` is ``f'(x) * t``. Most derivatives are a ``deriv`` formula (see
``_rows.py``), computed on the host values in eager reverse mode.
``digamma``'s derivative is ``polygamma(1, x)``, and ``polygamma(m, x)`` has
derivative ``polygamma(m + 1, x)``, so every order is available.

erf, erfc, erf_inv, lgamma, digamma and polygamma compute float16/bfloat16
in float32 (``dtypes.upcast_low_float``; scipy has no 16-bit loops), in both
modes; their impls take XLA's values, as JAX has them, where scipy's differ:
lgamma(-inf), erf_inv(-0.0), the poles. ``exp2`` lowers to ``pow(2, x)``
(exact at integers). Integer ``pow`` with a negative exponent raises in eager
mode (numpy) and gives XLA's value under jit; results of inexact ops differ
by XLA's rounding.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special

from ... import dtypes
from ...core import ShapedArray, bind, get_aval, to_concrete_value
from .._rules import (FLOAT, INEXACT, INTEGRAL, NUMERIC, category, elementwise_shape,
                      lax_operands, scalar_constant)
from ..shape import broadcast_in_dim
from ._rows import (apply1, apply2, binary, const, full, hlo, lower_in_float32, unary,
                    use_in_derivatives)
from .arithmetic import add, div, integer_pow, mul, neg, replace_zero, sub
from .compare import eq
from .select_convert import convert_element_type, select_n

# --- exp and log --------------------------------------------------------------------------------


def _exp2_lower(ctx, x):
    # pow(2, x) rather than exp(x * log 2): exact at integers, a few ulps elsewhere
    (x,), (aval,) = full(ctx, [x])
    return hlo(ctx, "stablehlo.power", [ctx.constant(2, aval), x], aval)


exp_p = unary("exp", np.exp, INEXACT, lower="stablehlo.exponential",
              deriv=lambda ops, ans, x: ans)
exp2_p = unary("exp2", np.exp2, INEXACT, lower=_exp2_lower,
               deriv=lambda ops, ans, x: ops.mul(ans, ops.const(ans, math.log(2.0))))
log_p = unary("log", np.log, INEXACT, lower="stablehlo.log", jvp=lambda t, ans, x: div(t, x))
log1p_p = unary("log1p", np.log1p, INEXACT, lower="stablehlo.log_plus_one",
                jvp=lambda t, ans, x: div(t, add(x, const(x, 1))))
expm1_p = unary("expm1", np.expm1, INEXACT, lower="stablehlo.exponential_minus_one",
                deriv=lambda ops, ans, x: ops.add(ans, ops.const(ans, 1)))


def exp(x):
    """Elementwise e**x."""
    return apply1(exp_p, x)


def exp2(x):
    """Elementwise 2**x."""
    return apply1(exp2_p, x)


def log(x):
    """Elementwise natural log."""
    return apply1(log_p, x)


def log1p(x):
    """Elementwise log(1 + x), accurate for small x."""
    return apply1(log1p_p, x)


def expm1(x):
    """Elementwise exp(x) - 1, accurate for small x."""
    return apply1(expm1_p, x)


def _logistic_impl(x):
    # 1 / (1 + exp(-x)) without overflow warnings for large negative x.
    with np.errstate(over="ignore"):
        return np.reciprocal(np.exp(-x) + x.dtype.type(1))


# tanh': (1 + ans) * (1 - ans), as JAX: rounds as JAX does, and is exact near |ans| = 1
tanh_p = unary("tanh", np.tanh, INEXACT, lower="stablehlo.tanh",
               deriv=lambda ops, ans, x: ops.mul(ops.add(ops.const(ans, 1), ans),
                                                 ops.sub(ops.const(ans, 1), ans)))
logistic_p = unary("logistic", _logistic_impl, INEXACT, lower="stablehlo.logistic",
                   deriv=lambda ops, ans, x: ops.mul(ans, ops.sub(ops.const(ans, 1), ans)))


def tanh(x):
    """Elementwise tanh."""
    return apply1(tanh_p, x)


def logistic(x):
    """Elementwise logistic sigmoid 1 / (1 + exp(-x))."""
    return apply1(logistic_p, x)


# --- trigonometric and hyperbolic ---------------------------------------------------------------


def _one_minus_square(ops, x):
    return ops.sub(ops.const(x, 1), ops.mul(x, x))


sin_p = unary("sin", np.sin, INEXACT, lower="stablehlo.sine",
              deriv=lambda ops, ans, x: ops.cos(x))
cos_p = unary("cos", np.cos, INEXACT, lower="stablehlo.cosine",
              deriv=lambda ops, ans, x: ops.neg(ops.sin(x)))
tan_p = unary("tan", np.tan, INEXACT, lower="chlo.tan",
              deriv=lambda ops, ans, x: ops.add(ops.const(ans, 1), ops.mul(ans, ans)))
asin_p = unary("asin", np.arcsin, INEXACT, lower="chlo.asin",
               deriv=lambda ops, ans, x: ops.rsqrt(_one_minus_square(ops, x)))
acos_p = unary("acos", np.arccos, INEXACT, lower="chlo.acos",
               deriv=lambda ops, ans, x: ops.neg(ops.rsqrt(_one_minus_square(ops, x))))
atan_p = unary("atan", np.arctan, INEXACT, lower="chlo.atan",
               jvp=lambda t, ans, x: div(t, add(const(x, 1), mul(x, x))))


def sin(x):
    """Elementwise sine."""
    return apply1(sin_p, x)


def cos(x):
    """Elementwise cosine."""
    return apply1(cos_p, x)


def tan(x):
    """Elementwise tangent."""
    return apply1(tan_p, x)


def asin(x):
    """Elementwise arcsine."""
    return apply1(asin_p, x)


def acos(x):
    """Elementwise arccosine."""
    return apply1(acos_p, x)


def atan(x):
    """Elementwise arctangent."""
    return apply1(atan_p, x)


sinh_p = unary("sinh", np.sinh, INEXACT, lower="chlo.sinh",
               deriv=lambda ops, ans, x: ops.cosh(x))
cosh_p = unary("cosh", np.cosh, INEXACT, lower="chlo.cosh",
               deriv=lambda ops, ans, x: ops.sinh(x))
asinh_p = unary("asinh", np.arcsinh, INEXACT, lower="chlo.asinh",
                deriv=lambda ops, ans, x: ops.rsqrt(ops.add(ops.mul(x, x), ops.const(x, 1))))
# x**2 - 1 rather than (x + 1)(x - 1), as JAX: the domain is x >= 1.
acosh_p = unary("acosh", np.arccosh, INEXACT, lower="chlo.acosh",
                deriv=lambda ops, ans, x: ops.rsqrt(ops.sub(ops.mul(x, x), ops.const(x, 1))))
# 1 / (1 + x) * (t / (1 - x)), as JAX (so 0, not NaN, at +-inf)
atanh_p = unary("atanh", np.arctanh, INEXACT, lower="chlo.atanh",
                jvp=lambda t, ans, x: mul(integer_pow(add(const(x, 1), x), -1),
                                          div(t, sub(const(x, 1), x))))


def sinh(x):
    """Elementwise sinh."""
    return apply1(sinh_p, x)


def cosh(x):
    """Elementwise cosh."""
    return apply1(cosh_p, x)


def asinh(x):
    """Elementwise asinh."""
    return apply1(asinh_p, x)


def acosh(x):
    """Elementwise acosh."""
    return apply1(acosh_p, x)


def atanh(x):
    """Elementwise atanh."""
    return apply1(atanh_p, x)


# --- roots ----------------------------------------------------------------------------------


def _rsqrt_impl(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.reciprocal(np.sqrt(x))


sqrt_p = unary("sqrt", np.sqrt, INEXACT, lower="stablehlo.sqrt",
               deriv=lambda ops, ans, x: ops.div(ops.const(ans, 0.5), ans))
rsqrt_p = unary("rsqrt", _rsqrt_impl, INEXACT, lower="stablehlo.rsqrt",
                deriv=lambda ops, ans, x: ops.mul(ops.const(x, -0.5), ops.div(ans, x)))
cbrt_p = unary("cbrt", np.cbrt, (FLOAT,), lower="stablehlo.cbrt",
               deriv=lambda ops, ans, x: ops.mul(ops.const(x, 1 / 3), ops.integer_pow(ans, -2)))


def sqrt(x):
    """Elementwise sqrt."""
    return apply1(sqrt_p, x)


def rsqrt(x):
    """Elementwise 1 / sqrt(x)."""
    return apply1(rsqrt_p, x)


def cbrt(x):
    """Elementwise cube root."""
    return apply1(cbrt_p, x)


# --- pow, atan2 ------------------------------------------------------------------------------


def _pow_impl(x, y):
    # (Python scalars, from the fast path of functrans.numpy, stay as they are: NEP 50)
    if getattr(y, "dtype", None) is not None and y.dtype.kind in "iu" \
            and np.asarray(x).dtype.kind in "fc":   # an integer exponent: XLA converts it
        y = y.astype(np.asarray(x).dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.power(x, y)
    if np.ndim(y) == 0 and out.dtype.kind == "f" and y == 0.5:
        # numpy computes x ** 0.5 (an exponent that is one value) as sqrt(x): NaN and
        # -0.0 at -inf and -0.0, where pow (C, XLA, JAX) gives +inf and +0.0
        out = np.where(np.isneginf(x), out.dtype.type(np.inf), out) + out.dtype.type(0)
    return out


def _pow_jvp_x(t, ans, x, y):
    # y * x**(y - 1), as JAX's float pow: NaN at x == 0 for y == 0 (0 * inf);
    # ``x ** 0`` with a Python int is integer_pow, whose derivative is 0.
    if not dtypes.is_inexact(get_aval(y).dtype):
        # an integer exponent (as JAX): 0 where y == 0, so 0 ** 0 has derivative 0
        jac = mul(convert_element_type(y, get_aval(x).dtype), pow(x, sub(y, const(y, 1))))
        return mul(t, select_n(eq(y, const(y, 0)), jac, const(jac, 0)))
    return mul(t, mul(y, pow(x, sub(y, const(y, 1)))))


def _pow_lower(ctx, x, y):
    (x, y), (aval, y_aval) = full(ctx, [x, y])
    if y_aval.dtype != aval.dtype:   # an integer exponent: converted, as XLA's pow needs
        y = ctx.convert(y, y_aval, aval.dtype)
    return hlo(ctx, "stablehlo.power", [x, y], aval)


# d/dy is log(x) * x**y with log(0) replaced by 0
pow_p = binary("pow", _pow_impl, NUMERIC, lower=_pow_lower,
               jvp=(_pow_jvp_x, lambda t, ans, x, y: mul(t, mul(log(replace_zero(x)), ans))))
_pow_same_dtypes = pow_p.abstract_eval


def _pow_abstract_eval(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    # As jax.lax.pow: a float or complex x may have an integer exponent.
    if dtypes.is_inexact(x.dtype) and category(y.dtype) in INTEGRAL:
        return ShapedArray(elementwise_shape("pow", (x, y)), x.dtype,
                           x.weak_type and y.weak_type)
    return _pow_same_dtypes(x, y)


pow_p.abstract_eval = _pow_abstract_eval


def pow(x, y):  # noqa: A001  (lax's name)
    """Elementwise x ** y."""
    return apply2(pow_p, x, y)


def _atan2_denominator(x, y):
    return add(mul(x, x), mul(y, y))


atan2_p = binary("atan2", np.arctan2, (FLOAT,), lower="stablehlo.atan2",
                 jvp=(lambda t, ans, x, y: mul(t, div(y, _atan2_denominator(x, y))),
                      lambda t, ans, x, y: mul(t, div(neg(x), _atan2_denominator(x, y)))))


def atan2(x, y):
    """Elementwise atan2(x, y)."""
    return apply2(atan2_p, x, y)


# --- special functions: scipy's, with XLA's (JAX's) values where scipy's differ ---------------


def _erf_inv_impl(x):
    return np.where(x == 0, x, scipy.special.erfinv(x))     # erf_inv(-0.0) is -0.0


def _lgamma_impl(x):
    return np.where(np.isneginf(x), np.inf, scipy.special.gammaln(x))   # +inf at -inf


def _polygamma_impl(x, *, m):
    """digamma (m = 0) or polygamma(m, x): at a pole (an integer x <= 0, or -inf)
    NaN, or +inf for odd m; NaN at +inf for m >= 1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = scipy.special.digamma(x) if m == 0 else scipy.special.polygamma(m, x)
        pole = (x <= 0) & (np.floor(x) == x)
    out = np.where(pole, np.inf if m % 2 else np.nan, out)
    if m:
        out = np.where(np.isposinf(x), np.nan, out)
    return out.astype(x.dtype, copy=False)


_SQRT_PI = math.sqrt(math.pi)
erf_p = unary("erf", dtypes.upcast_low_float(scipy.special.erf), (FLOAT,),
              lower=lower_in_float32("chlo.erf"),
              deriv=lambda ops, ans, x: ops.mul(ops.const(x, 2 / _SQRT_PI),
                                                ops.exp(ops.neg(ops.mul(x, x)))))
erfc_p = unary("erfc", dtypes.upcast_low_float(scipy.special.erfc), (FLOAT,),
               lower=lower_in_float32("chlo.erfc"),
               deriv=lambda ops, ans, x: ops.mul(ops.const(x, -2 / _SQRT_PI),
                                                 ops.exp(ops.neg(ops.mul(x, x)))))
erf_inv_p = unary("erf_inv", dtypes.upcast_low_float(_erf_inv_impl), (FLOAT,),
                  lower=lower_in_float32("chlo.erf_inv"),
                  deriv=lambda ops, ans, x: ops.mul(ops.const(x, _SQRT_PI / 2),
                                                    ops.exp(ops.mul(ans, ans))))
lgamma_p = unary("lgamma", dtypes.upcast_low_float(_lgamma_impl), (FLOAT,),
                 lower=lower_in_float32("chlo.lgamma"), deriv=lambda ops, ans, x: ops.digamma(x))
digamma_p = unary("digamma", dtypes.upcast_low_float(lambda x: _polygamma_impl(x, m=0)),
                  (FLOAT,), lower=lower_in_float32("chlo.digamma"),
                  deriv=lambda ops, ans, x: ops.polygamma(1, x))


def erf(x):
    """Elementwise error function."""
    return apply1(erf_p, x)


def erfc(x):
    """Elementwise complementary error function 1 - erf(x), accurate in the tail."""
    return apply1(erfc_p, x)


def erf_inv(x):
    """Elementwise inverse error function."""
    return apply1(erf_inv_p, x)


def lgamma(x):
    """Elementwise log of the absolute value of the gamma function."""
    return apply1(lgamma_p, x)


def digamma(x):
    """Elementwise digamma function (derivative of lgamma)."""
    return apply1(digamma_p, x)


# polygamma(m, x) for a static order m >= 0: the derivatives of digamma. It makes
# digamma (and lgamma) differentiable to any order: the jvp of polygamma of
# order m is polygamma of order m + 1.


def _polygamma_check(x: ShapedArray, *, m: int):
    if not isinstance(m, int) or m < 0:
        raise ValueError(f"polygamma: the order m must be a non-negative Python int, got {m!r}")


polygamma_p = unary("polygamma", dtypes.upcast_low_float(_polygamma_impl), (FLOAT,),
                    params=True, check=_polygamma_check,
                    lower=lower_in_float32("chlo.polygamma", param_fn=lambda m: m),
                    deriv=lambda ops, ans, x, *, m: ops.polygamma(m + 1, x))


def polygamma(m, x):
    """The polygamma function of order ``m``: the (m+1)-th derivative of lgamma.

    ``m`` is a float (as in ``jax.lax.polygamma``, where it has x's dtype) or a
    Python int, and must be concrete (not traced): each distinct order is a
    ``polygamma`` primitive of static order. An order that is not a non-negative
    integer gives NaN, as in JAX. ``polygamma(0, x)`` is digamma.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> print(f"{lax.polygamma(1.0, fnp.asarray(1.0)).item():.4f}")   # pi**2 / 6
        1.6449
    """
    if type(x) in dtypes.PYTHON_SCALARS:
        (x,) = lax_operands(x)
    if isinstance(m, (int, np.integer)) and not isinstance(m, (bool, np.bool_)):
        return bind(polygamma_p, x, m=int(m))
    value = to_concrete_value(m)
    if value is None:
        raise TypeError("polygamma: the order m must be concrete (each order is a "
                        "separate computation); it is traced here")
    aval, m_aval = get_aval(x), get_aval(value)
    if dtypes.is_complex(m_aval.dtype) or m_aval.dtype == dtypes.bool_:
        raise TypeError(f"polygamma: the order m must be real, got {m_aval.dtype}")
    orders = np.asarray(value)
    shape = np.broadcast_shapes(orders.shape, aval.shape)
    if shape != aval.shape:
        x = broadcast_in_dim(x, shape, tuple(range(len(shape) - aval.ndim, len(shape))))
    orders = np.broadcast_to(orders, shape)
    nan = scalar_constant(float("nan"), aval.dtype, aval.weak_type)
    out = None
    for order in np.unique(orders):
        valid = order >= 0 and float(order).is_integer()
        part = bind(polygamma_p, x, m=int(order)) if valid else nan
        out = part if out is None else select_n(np.asarray(orders == order), out, part)
    if get_aval(out).shape != shape:   # every order invalid: NaN of x's shape
        out = broadcast_in_dim(out, shape, ())
    return out


for _fn, _p in ((exp, exp_p), (cos, cos_p), (sin, sin_p), (cosh, cosh_p), (sinh, sinh_p),
                (rsqrt, rsqrt_p), (digamma, digamma_p)):
    use_in_derivatives(_fn, _p.impl)
use_in_derivatives(polygamma, lambda m, x: polygamma_p.impl(x, m=m))
del _fn, _p
