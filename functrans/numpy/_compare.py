"""Comparisons, logic and selection of functrans.numpy: equal ... greater_equal,
logical_and/or/xor/not, the predicates isfinite/isnan/isinf/isposinf/isneginf/
signbit, fmax/fmin, where, isclose, allclose, array_equal.

Comparisons of complex numbers order them lexicographically, like numpy; weak
types of results follow JAX (a comparison of weak operands is a weak bool).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, eager
from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives._rules import scalar_constant
from ._arith import abs, add, multiply, subtract  # noqa: A004
from ._ufunc import binary_ufunc, reraise, unary_ufunc
from ._util import (asarray, broadcast_shapes, broadcast_to, filled, promote_args,
                    promote_args_inexact, real_only, strong_like, typed_like)


equal = binary_ufunc("equal", ew.eq_p, fast_dtypes=eager.ALL)
not_equal = binary_ufunc("not_equal", ew.ne_p, fast_dtypes=eager.ALL)


def _ordered(prim):
    """Compares complex numbers lexicographically (real part, then imaginary), like numpy."""
    def general(x, y):
        if not dtypes.is_complex(get_aval(x).dtype):
            return prim.bind(x, y)
        xr, yr = ew.real_p.bind(x), ew.real_p.bind(y)
        xi, yi = ew.imag_p.bind(x), ew.imag_p.bind(y)
        strict = ew.lt_p if prim in (ew.lt_p, ew.le_p) else ew.gt_p
        return ew.or_p.bind(strict.bind(xr, yr),
                            ew.and_p.bind(ew.eq_p.bind(xr, yr), prim.bind(xi, yi)))
    return general


less = binary_ufunc("less", ew.lt_p, fast_dtypes=eager.ORDERED,
                    general=_ordered(ew.lt_p))
less_equal = binary_ufunc("less_equal", ew.le_p, fast_dtypes=eager.ORDERED,
                          general=_ordered(ew.le_p))
greater = binary_ufunc("greater", ew.gt_p, fast_dtypes=eager.ORDERED,
                       general=_ordered(ew.gt_p))
greater_equal = binary_ufunc("greater_equal", ew.ge_p, fast_dtypes=eager.ORDERED,
                             general=_ordered(ew.ge_p))


def _to_bool(x):
    """x != 0 (x itself when bool), as jax.numpy compares: with a weak zero only for
    a rank-0 weak x (lax._const), so a weak bool only then."""
    x = asarray(x)
    if x.dtype == dtypes.bool_:
        return x
    return ew.ne_p.bind(x, scalar_constant(0, x.dtype, x.weak_type and x.ndim == 0))


def _logical(name, prim, x, y):
    # As jax.numpy: promote first, then compare each with zero, then the bitwise
    # primitive (so two weak scalars give a weak bool).
    try:
        x, y = promote_args(name, x, y)
    except (TypeError, ValueError) as e:
        reraise(e)
    if get_aval(x).dtype == dtypes.bool_:   # bools promote to a strong bool
        x, y = typed_like(x, dtypes.bool_, False), typed_like(y, dtypes.bool_, False)
    return prim.bind(_to_bool(x), _to_bool(y))


def logical_and(x, y, /):
    """Elementwise truth-value and."""
    return _logical("logical_and", ew.and_p, x, y)


def logical_or(x, y, /):
    """Elementwise truth-value or."""
    return _logical("logical_or", ew.or_p, x, y)


def logical_xor(x, y, /):
    """Elementwise truth-value xor."""
    return _logical("logical_xor", ew.xor_p, x, y)


def logical_not(x, /):
    """Elementwise truth-value not."""
    return ew.not_p.bind(_to_bool(x))


isfinite = unary_ufunc("isfinite", ew.is_finite_p, fast_dtypes=eager.FLOATS,
                       general=lambda x: (ew.is_finite_p.bind(x) if dtypes.is_float(x.dtype)
                                          else _isfinite_other(x)))


def _isfinite_other(x):
    if dtypes.is_complex(x.dtype):
        return ew.and_p.bind(isfinite(ew.real_p.bind(x)), isfinite(ew.imag_p.bind(x)))
    return filled(x.shape, True, dtypes.bool_)


def isnan(x, /):
    """Elementwise test for NaN (weak for a weak x, as in JAX)."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return filled(x.shape, False, dtypes.bool_, x.weak_type)
    return ew.ne_p.bind(x, x)


def isinf(x, /):
    """Elementwise test for +/- infinity (a strong bool, as in JAX)."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return filled(x.shape, False, dtypes.bool_)
    if dtypes.is_complex(x.dtype):
        return ew.or_p.bind(isinf(ew.real_p.bind(x)), isinf(ew.imag_p.bind(x)))
    return ew.eq_p.bind(ew.abs_p.bind(x), strong_like(x, float("inf")))


def isposinf(x, /):
    """True where x is +inf (a strong bool, as in JAX)."""
    (x,) = real_only("isposinf", x)
    if not dtypes.is_float(x.dtype):
        return filled(x.shape, False, dtypes.bool_)
    return ew.eq_p.bind(x, strong_like(x, float("inf")))


def isneginf(x, /):
    """True where x is -inf (a strong bool, as in JAX)."""
    (x,) = real_only("isneginf", x)
    if not dtypes.is_float(x.dtype):
        return filled(x.shape, False, dtypes.bool_)
    return ew.eq_p.bind(x, strong_like(x, float("-inf")))


def signbit(x, /):
    """True where the sign bit is set (including -0.0)."""
    (x,) = real_only("signbit", x)
    if dtypes.is_int(x.dtype) and not dtypes.is_unsigned(x.dtype):
        return ew.lt_p.bind(x, strong_like(x, 0))
    if not dtypes.is_float(x.dtype):
        return filled(x.shape, False, dtypes.bool_)
    # Read the sign bit itself, so -0.0 and -nan count as negative.
    bits = ew.bitcast_convert_type(x, np.dtype(f"i{x.dtype.itemsize}"))
    return less(bits, 0)


def fmax(x, y, /):
    """Elementwise maximum ignoring NaNs; a tie (or two NaNs) selects ``y``, as in JAX."""
    x, y = promote_args("fmax", x, y)
    return where(logical_or(greater(x, y), isnan(y)), x, y)


def fmin(x, y, /):
    """Elementwise minimum ignoring NaNs; a tie (or two NaNs) selects ``y``, as in JAX."""
    x, y = promote_args("fmin", x, y)
    return where(logical_or(less(x, y), isnan(y)), x, y)


def where(condition, x=None, y=None, /):
    """``x`` where ``condition`` else ``y`` (broadcasting all three).

    With only ``condition``, returns ``nonzero(condition)`` (needs a concrete
    condition, like numpy; its output shape depends on the values).
    """
    if x is None and y is None:
        from ._selection import nonzero  # (_selection imports this module)
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where: pass both x and y, or neither")
    out = eager.where(condition, x, y)
    if out is not None:
        return out
    try:
        condition = _to_bool(condition)
        x, y = promote_args("where", x, y)
        shape = broadcast_shapes("where", get_aval(condition).shape, get_aval(x).shape,
                                 get_aval(y).shape)
        condition = broadcast_to(condition, shape) if condition.shape != shape else condition
        x = broadcast_to(x, shape) if get_aval(x).shape not in (shape,) else x
        y = broadcast_to(y, shape) if get_aval(y).shape not in (shape,) else y
        return ew.select_n(condition, y, x)
    except (TypeError, ValueError) as e:
        reraise(e)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise |a - b| <= atol + rtol * |b|, like numpy.isclose."""
    a, b = promote_args_inexact("isclose", a, b)
    close = less_equal(abs(subtract(a, b)), add(atol, multiply(rtol, abs(b))))
    # An infinite b has an infinite tolerance: only an equal value is close to it.
    close = logical_and(close, isfinite(b))
    close = logical_or(close, equal(a, b))  # equal infinities
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return typed_like(close, dtypes.bool_, False)   # strong, as jax.numpy's


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element is close (returns a bool Array)."""
    from ._reductions import all as all_  # (_reductions imports this module)
    return all_(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """True when shapes and all elements agree."""
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return asarray(False)
    from ._reductions import all as all_  # (_reductions imports this module)
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return all_(eq)


__all__ = [
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "isfinite",
    "isnan",
    "isinf",
    "isposinf",
    "isneginf",
    "signbit",
    "fmax",
    "fmin",
    "where",
    "isclose",
    "allclose",
    "array_equal",
]
