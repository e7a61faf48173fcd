"""Elementwise mathematics of functrans.numpy: exponentials and logarithms,
trigonometric and hyperbolic functions, rounding, complex parts, and the
functions composed of them (hypot, copysign, logaddexp, heaviside, sinc, ...).

Weak types and constants follow jax.numpy (see ``_like_lax_const``);
derivatives that need care (logaddexp, sinc at 0) are custom_jvp rules.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes, eager
from ..core import get_aval
from ..custom import custom_jvp
from ..primitives import elementwise as ew
from ..primitives._rules import scalar_constant
from ._arith import abs, add, maximum, minimum, multiply, negative, square, subtract, true_divide  # noqa: A004
from ._compare import equal, greater, greater_equal, isnan, isneginf, isposinf, less, logical_or, signbit, where
from ._ufunc import binary_ufunc, unary_ufunc
from ._util import filled, inexact_type, promote_args_inexact, real_only, strong_like, typed_like, asarray


arctan2 = binary_ufunc("arctan2", ew.atan2_p, fast_dtypes=eager.FLOATS, inexact=True)
atan2 = arctan2
nextafter = binary_ufunc("nextafter", ew.nextafter_p, fast_dtypes=eager.FLOATS, inexact=True)


floor = unary_ufunc("floor", ew.floor_p, fast_dtypes=eager.FLOATS,
                    general=lambda x: x if not dtypes.is_inexact(x.dtype) else ew.floor_p.bind(x))
ceil = unary_ufunc("ceil", ew.ceil_p, fast_dtypes=eager.FLOATS,
                   general=lambda x: x if not dtypes.is_inexact(x.dtype) else ew.ceil_p.bind(x))


def _rint_general(x):
    if not dtypes.is_inexact(x.dtype):   # as jax.numpy: a strong default float
        return ew.convert_element_type(x, dtypes.default_float())
    if dtypes.is_complex(x.dtype):
        return ew.complex_p.bind(ew.round(real(x), 1), ew.round(imag(x), 1))
    return ew.round(x, 1)


# (round's impl with rounding_method 1, half to even)
rint = unary_ufunc("rint", ew.round_p, fast=np.rint, fast_dtypes=eager.FLOATS,
                   general=_rint_general)
exp = unary_ufunc("exp", ew.exp_p, inexact=True)
exp2 = unary_ufunc("exp2", ew.exp2_p, inexact=True)
expm1 = unary_ufunc("expm1", ew.expm1_p, inexact=True)
log = unary_ufunc("log", ew.log_p, inexact=True)
log1p = unary_ufunc("log1p", ew.log1p_p, inexact=True)
sqrt = unary_ufunc("sqrt", ew.sqrt_p, inexact=True)
cbrt = unary_ufunc("cbrt", ew.cbrt_p, fast_dtypes=eager.FLOATS, inexact=True)
sin = unary_ufunc("sin", ew.sin_p, inexact=True)
cos = unary_ufunc("cos", ew.cos_p, inexact=True)
tan = unary_ufunc("tan", ew.tan_p, inexact=True)
arcsin = unary_ufunc("arcsin", ew.asin_p, inexact=True)
arccos = unary_ufunc("arccos", ew.acos_p, inexact=True)
arctan = unary_ufunc("arctan", ew.atan_p, inexact=True)
sinh = unary_ufunc("sinh", ew.sinh_p, inexact=True)
cosh = unary_ufunc("cosh", ew.cosh_p, inexact=True)
tanh = unary_ufunc("tanh", ew.tanh_p, inexact=True)
arcsinh = unary_ufunc("arcsinh", ew.asinh_p, inexact=True)
arccosh = unary_ufunc("arccosh", ew.acosh_p, inexact=True)
arctanh = unary_ufunc("arctanh", ew.atanh_p, inexact=True)
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh


def real(x, /):
    """Real part (the array itself for real dtypes)."""
    x = asarray(x)
    return ew.real_p.bind(x) if dtypes.is_complex(x.dtype) else x


def imag(x, /):
    """Imaginary part (zeros for real dtypes)."""
    x = asarray(x)
    return ew.imag_p.bind(x) if dtypes.is_complex(x.dtype) else _zeros_keep_weak(x)


def _zeros_keep_weak(x):
    """Zeros of x's shape, dtype and weak type (lax.full_like(x, 0))."""
    return filled(x.shape, 0, x.dtype, x.weak_type)


def conjugate(x, /):
    """Complex conjugate (the array itself for real dtypes)."""
    x = asarray(x)
    return ew.conj_p.bind(x) if dtypes.is_complex(x.dtype) else x


conj = conjugate


def angle(z, deg=False):
    """The argument of complex numbers (0 or pi for reals)."""
    z = asarray(z)
    if not dtypes.is_complex(z.dtype):
        (z,) = promote_args_inexact("angle", z)
        z = ew.convert_element_type(z, z.dtype, weak_type=False)  # as jnp.angle
        out = arctan2(_zeros_keep_weak(z), z)  # +0: negative reals have angle +pi
    else:
        out = arctan2(imag(z), real(z))
    return rad2deg(out) if deg else out


def trunc(x, /):
    """Rounds toward zero."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return x
    return where(less(x, 0), ceil(x), floor(x))


fix = trunc


def round(a, decimals: int = 0):  # noqa: A001
    """Rounds half to even to ``decimals`` places, like numpy.round.

    As jax.numpy: integers are returned as they are for ``decimals >= 0`` (a
    NotImplementedError for negative ``decimals``), and bools are rejected.
    """
    a = asarray(a)
    if a.dtype == dtypes.bool_:
        raise ValueError("round: bool arrays cannot be rounded; convert them to a "
                         "numeric dtype first")
    if not dtypes.is_inexact(a.dtype):
        if decimals < 0:
            raise NotImplementedError("round: integers with decimals < 0 are not "
                                      "implemented (as in jax.numpy)")
        return a
    if dtypes.is_complex(a.dtype):
        return ew.complex_p.bind(round(real(a), decimals), round(imag(a), decimals))
    if decimals == 0:
        return rint(a)
    factor = 10.0 ** decimals
    return true_divide(rint(multiply(a, factor)), factor)


around = round


def _log_base(name, x, base):
    """log(x) / log(base), as jax.numpy divides: by a strong constant (so the result
    is strong), the parts of a complex log separately."""
    (x,) = promote_args_inexact(name, x)
    out = log(x)
    if dtypes.is_complex(out.dtype):
        re, im = ew.real_p.bind(out), ew.imag_p.bind(out)
        ln = strong_like(re, math.log(base))
        return ew.complex_p.bind(ew.div_p.bind(re, ln), ew.div_p.bind(im, ln))
    return ew.div_p.bind(out, strong_like(out, math.log(base)))


def log2(x, /):
    """Base-2 logarithm (a strong result, as in JAX)."""
    return _log_base("log2", x, 2)


def log10(x, /):
    """Base-10 logarithm (a strong result, as in JAX)."""
    return _log_base("log10", x, 10)


def _like_lax_const(out):
    """``out`` made strong unless it is rank 0: jax.numpy functions that compute with
    ``lax._const(x, c)`` (deg2rad, sinc, heaviside, logaddexp2, ...) get a weak
    constant only for a rank-0 weak x, a strong one (and a strong result) otherwise."""
    aval = get_aval(out)
    if aval.weak_type and aval.ndim:
        return ew.convert_element_type(out, aval.dtype, weak_type=False)
    return out


def deg2rad(x, /):
    (x,) = promote_args_inexact("deg2rad", x)
    return _like_lax_const(multiply(x, np.pi / 180))


def rad2deg(x, /):
    (x,) = promote_args_inexact("rad2deg", x)
    return _like_lax_const(multiply(x, 180 / np.pi))


radians, degrees = deg2rad, rad2deg


def hypot(x, y, /):
    """sqrt(x**2 + y**2), without overflow for large inputs (JAX's formula and derivatives)."""
    x, y = promote_args_inexact("hypot", *real_only("hypot", x, y))
    x, y = abs(x), abs(y)
    # IEEE 754: an infinite side makes the hypotenuse infinite, even beside a NaN.
    any_inf = logical_or(isposinf(x), isposinf(y))
    big, small = maximum(x, y), minimum(x, y)
    zero = equal(big, 0)
    out = where(zero, big, multiply(big, sqrt(add(1, square(true_divide(small, where(zero, 1, big)))))))
    # jax.numpy's inf here is weak only for a rank-0 weak out (lax._const): otherwise
    # a strong constant, which makes the result strong
    inf = scalar_constant(float("inf"), out.dtype, out.weak_type and out.ndim == 0)
    return where(any_inf, inf, out)


def copysign(x, y, /):
    """The magnitude of x with the sign of y."""
    dtype, weak = inexact_type(*real_only("copysign", x, y))
    x, y = promote_args_inexact("copysign", x, y)
    neg = signbit(y)
    return typed_like(where(neg, negative(abs(x)), abs(x)), dtype, weak)


def logaddexp(x, y, /):
    """log(exp(x) + exp(y)), computed stably.

    Its derivative is JAX's: ``exp(x - out)`` and ``exp(y - out)`` (with +inf
    read as 0), so a tie ``x == y`` gives each side 1/2, and two -inf give NaN.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> [g.item() for g in ft.grad(fnp.logaddexp, argnums=(0, 1))(1.0, 1.0)]
        [0.5, 0.5]
    """
    dtype, weak = inexact_type(x, y)
    x, y = promote_args_inexact("logaddexp", x, y)
    return typed_like(_logaddexp(x, y), dtype, weak)


def _log_add_exp(x, y, exp_, log1p_scale):
    """The value of logaddexp (``exp_`` = exp, scale 1) or logaddexp2 (exp2, 1/ln 2)."""
    amax = maximum(x, y)
    if dtypes.is_complex(get_aval(x).dtype):
        # Factor out the operand with the larger real part (as jax does).
        x_larger = greater_equal(real(x), real(y))
        amax, other = where(x_larger, x, y), where(x_larger, y, x)
        return add(amax, multiply(log1p(exp_(subtract(other, amax))), log1p_scale))
    delta = subtract(x, y)
    # delta is NaN when x and y are the same infinity (x + y is then right) or
    # when either is NaN (x + y is NaN too).
    nan_delta = isnan(delta)
    safe = where(nan_delta, 0, delta)   # (no inf - inf computed in eager mode)
    out = add(amax, multiply(log1p(exp_(negative(abs(safe)))), log1p_scale))
    return where(nan_delta, add(x, y), out)


def _replace_posinf(x):
    """x with +inf (of the real part) replaced by 0, as in JAX's logaddexp derivative."""
    return where(equal(real(x), float("inf")), 0, x)


def _log_add_exp_jvp(fn, exp_):
    def jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        out = fn(x, y)
        shifted_out = _replace_posinf(out)
        with np.errstate(invalid="ignore"):   # (-inf) - (-inf): NaN, as in JAX
            tangent = add(multiply(tx, exp_(subtract(_replace_posinf(x), shifted_out))),
                          multiply(ty, exp_(subtract(_replace_posinf(y), shifted_out))))
        return out, tangent
    return jvp


@custom_jvp
def _logaddexp(x, y):
    return _log_add_exp(x, y, exp, 1)


@custom_jvp
def _logaddexp2(x, y):
    return _log_add_exp(x, y, exp2, 1 / math.log(2))


_logaddexp.defjvp(_log_add_exp_jvp(_logaddexp, exp))
_logaddexp2.defjvp(_log_add_exp_jvp(_logaddexp2, exp2))


def logaddexp2(x, y, /):
    """log2(2**x + 2**y), computed stably (derivatives as :func:`logaddexp`'s)."""
    dtype, weak = inexact_type(x, y)
    x, y = promote_args_inexact("logaddexp2", x, y)
    return _like_lax_const(typed_like(_logaddexp2(x, y), dtype, weak))


def heaviside(x1, x2, /):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0 (NaN where x1 is NaN)."""
    dtype, weak = inexact_type(*real_only("heaviside", x1, x2))
    x1_rank0 = get_aval(x1).ndim == 0   # (jax's constants are made from x1 unbroadcast)
    x1, x2 = promote_args_inexact("heaviside", x1, x2)
    out = typed_like(where(less(x1, 0), 0, where(greater(x1, 0), 1, where(isnan(x1), x1, x2))),
                      dtype, weak)
    return out if x1_rank0 else _like_lax_const(out)


def sinc(x, /):
    """sin(pi x) / (pi x), 1 at 0 (every derivative at 0 from the Maclaurin series, as JAX)."""
    (x,) = promote_args_inexact("sinc", x)
    zero = equal(x, 0)
    px = multiply(np.pi, x)
    safe = where(zero, 1, px)
    return _like_lax_const(where(zero, _sinc_maclaurin(0, px), true_divide(sin(safe), safe)))


def _sinc_maclaurin_value(k, x):
    # the k-th derivative of sin(x)/x at 0, shaped like x (x * 0 keeps x's zero sign rules)
    if k % 2:
        return multiply(x, 0)
    return add(multiply(x, 0), (-1) ** (k // 2) / (k + 1))


_sinc_maclaurin = custom_jvp(_sinc_maclaurin_value, nondiff_argnums=(0,))


@_sinc_maclaurin.defjvp
def _sinc_maclaurin_jvp(k, primals, tangents):
    (x,), (t,) = primals, tangents
    return _sinc_maclaurin(k, x), multiply(_sinc_maclaurin(k + 1, x), t)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN with ``nan`` and infinities with the largest finite values."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return x
    if dtypes.is_complex(x.dtype):
        return ew.complex_p.bind(nan_to_num(real(x), nan=nan, posinf=posinf, neginf=neginf),
                                 nan_to_num(imag(x), nan=nan, posinf=posinf, neginf=neginf))
    info = dtypes.finfo(x.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(isposinf(out), posinf, out)
    return typed_like(where(isneginf(out), neginf, out), x.dtype, False)


__all__ = [
    "arctan2",
    "atan2",
    "nextafter",
    "floor",
    "ceil",
    "rint",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log1p",
    "sqrt",
    "cbrt",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "asin",
    "acos",
    "atan",
    "asinh",
    "acosh",
    "atanh",
    "real",
    "imag",
    "conjugate",
    "conj",
    "angle",
    "trunc",
    "fix",
    "round",
    "around",
    "log2",
    "log10",
    "deg2rad",
    "rad2deg",
    "radians",
    "degrees",
    "hypot",
    "copysign",
    "logaddexp",
    "logaddexp2",
    "heaviside",
    "sinc",
    "nan_to_num",
]
