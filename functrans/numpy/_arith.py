"""Arithmetic of functrans.numpy: add, subtract, multiply, divide, floor_divide,
remainder, fmod, power, maximum/minimum, negative, absolute, sign, square,
reciprocal, clip.

Each is built by ``_ufunc.py`` (the eager fast path, then promotion,
broadcasting and bind); the integer and float rules of division and powers
are jax.numpy's, written with primitives below.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, eager
from ..array import Array
from ..core import get_aval, is_eager
from ..primitives import elementwise as ew
from ._ufunc import binary_ufunc, reraise, unary_ufunc
from ._util import asarray, one_like, promote_args, promote_args_inexact, strong_like, zero_like


def _bool_or(prim, bool_prim):
    def general(x, y):
        return (bool_prim if get_aval(x).dtype == dtypes.bool_ else prim).bind(x, y)
    general.bool_only = True  # (for other dtypes it is prim.bind: see binary_ufunc)
    return general


def _no_bool(name, prim):
    def general(x, y):
        if get_aval(x).dtype == dtypes.bool_:
            raise TypeError(f"{name} is not defined for bool arrays; use logical_xor or "
                            "cast to int with .astype(int)")
        return prim.bind(x, y)
    general.bool_only = True
    return general


def _float_divmod(x, y):
    """Float floor division and modulo, as jax.numpy computes them (from fmod).

    floor(x / y) is not enough: 1.0 // 0.1 must be 9 (0.1 is slightly above
    1/10), and the quotient must be consistent with the remainder.
    """
    mod = ew.rem_p.bind(x, y)
    zero = zero_like(mod)
    corrected = ew.select_n(ew.eq_p.bind(y, zero_like(y)), ew.sub_p.bind(x, mod), x)
    div = ew.div_p.bind(corrected, y)
    fix = ew.and_p.bind(ew.ne_p.bind(mod, zero),
                        ew.ne_p.bind(ew.sign_p.bind(y), ew.sign_p.bind(mod)))
    mod = ew.select_n(fix, mod, ew.add_p.bind(mod, y))
    div = ew.select_n(fix, div, ew.sub_p.bind(div, one_like(div)))
    return ew.round(div), mod


def _safe_int_divisor(y):
    """An integer divisor with its zeros replaced by 1 (jax.numpy's remainder and fmod)."""
    return ew.select_n(ew.eq_p.bind(y, zero_like(y)), y, one_like(y))


def _floor_divide_general(x, y):
    dtype = get_aval(x).dtype
    if dtypes.is_float(dtype):
        return _float_divmod(x, y)[0]
    if dtypes.is_unsigned(dtype):
        return ew.div_p.bind(x, y)
    if dtypes.is_int(dtype):
        # as jax.numpy: by zero, lax.div's -1 is adjusted like any quotient (5 // 0 == -2)
        q = ew.div_p.bind(x, y)
        adjust = ew.and_p.bind(ew.ne_p.bind(ew.sign_p.bind(x), ew.sign_p.bind(y)),
                               ew.ne_p.bind(ew.rem_p.bind(x, y), zero_like(x)))
        return ew.select_n(adjust, q, ew.sub_p.bind(q, one_like(q)))
    raise TypeError(f"floor_divide is not defined for {dtype} arrays")


def _remainder_general(x, y):
    dtype = get_aval(x).dtype
    if dtypes.is_complex(dtype):
        raise TypeError("remainder is not defined for complex arrays")
    if dtypes.is_int(dtype):
        y = _safe_int_divisor(y)   # x % 0 is 0, as in jax.numpy
    r = ew.rem_p.bind(x, y)
    zero = zero_like(r)
    wrong_sign = ew.and_p.bind(ew.ne_p.bind(ew.lt_p.bind(r, zero), ew.lt_p.bind(y, zero)),
                               ew.ne_p.bind(r, zero))
    return ew.select_n(wrong_sign, r, ew.add_p.bind(r, y))


def _fmod_general(x, y):
    if dtypes.is_int(get_aval(x).dtype):
        y = _safe_int_divisor(y)   # x % 0 is 0, as in jax.numpy
    return ew.rem_p.bind(x, y)


def numeric(general):
    """``general(x, y)`` for promoted operands, with bool ones first converted to
    the default int, as jax.numpy's promote_args_numeric does (``True % True`` is 0)."""
    def numeric(x, y):
        if get_aval(x).dtype == dtypes.bool_:
            x = ew.convert_element_type(x, dtypes.default_int())
            y = ew.convert_element_type(y, dtypes.default_int())
        return general(x, y)
    return numeric


def _pow_int_int(x, y):
    """Integer x ** y, as jax.numpy computes it: square-and-multiply over the six low
    bits of y read as unsigned (so negative exponents give what XLA's wrapping gives:
    1 ** -1 == 1, (-1) ** -1 == -1, 0 for most others). Eager and jit agree."""
    zero, one = strong_like(y, 0), strong_like(y, 1)
    # 1, or 0 where x == 0 and y != 0 (so that 0 ** y is 0)
    acc = ew.convert_element_type(
        ew.not_p.bind(ew.and_p.bind(ew.eq_p.bind(x, zero), ew.ne_p.bind(y, zero))),
        get_aval(x).dtype)
    for _ in range(6):   # (more bits would overflow for any |x| > 1)
        acc = ew.select_n(ew.ne_p.bind(ew.and_p.bind(y, one), zero), acc, ew.mul_p.bind(acc, x))
        x = ew.mul_p.bind(x, x)
        y = ew.shift_right_logical_p.bind(y, one)
    return acc


def _power_general(x, y):
    if dtypes.is_int(get_aval(x).dtype):
        return _pow_int_int(x, y)
    return ew.pow_p.bind(x, y)


add = binary_ufunc("add", ew.add_p, fast_dtypes=eager.NUMERIC | {dtypes.bool_},
                   general=_bool_or(ew.add_p, ew.or_p))
subtract = binary_ufunc("subtract", ew.sub_p, general=_no_bool("subtract", ew.sub_p))
multiply = binary_ufunc("multiply", ew.mul_p, fast_dtypes=eager.NUMERIC | {dtypes.bool_},
                        general=_bool_or(ew.mul_p, ew.and_p))
# (div's impl for inexact dtypes, without its conversions: a Python scalar stays one)
true_divide = binary_ufunc("true_divide", ew.div_p, fast=np.true_divide,
                           fast_dtypes=eager.INEXACT, inexact=True)
divide = true_divide
# (no eager shortcut: numpy's floor_divide and remainder differ from jax.numpy's
# at zero divisors and infinities)
floor_divide = binary_ufunc("floor_divide", ew.div_p, fast_dtypes=frozenset(),
                            general=numeric(_floor_divide_general))
remainder = binary_ufunc("remainder", ew.rem_p, fast_dtypes=frozenset(),
                         general=numeric(_remainder_general))
mod = remainder
# (rem's impl for floats, as true_divide's)
fmod = binary_ufunc("fmod", ew.rem_p, fast=np.fmod, fast_dtypes=eager.FLOATS,
                    general=numeric(_fmod_general))


_power = binary_ufunc("power", ew.pow_p, fast_dtypes=eager.INEXACT,
                      general=numeric(_power_general))


def power(x, y, /):
    """Elementwise x ** y, with JAX's dtype promotion.

    A Python int exponent becomes the ``integer_pow`` primitive when traced (as
    in JAX): ``x ** 2`` is then ``x * x`` for XLA and its derivative is exact at 0.
    """
    if type(y) is int and (not is_eager() or y < 0 or type(x) is not Array
                           or x._value.dtype not in eager.INEXACT):
        # As jax.numpy for a concrete int y (integers to a negative power raise);
        # the eager float case is _power's fast path, which gives the same values.
        try:
            (x_p,) = promote_args("power", x)   # x alone, as jax.numpy
            if get_aval(x_p).dtype == dtypes.bool_:
                x_p = ew.convert_element_type(x_p, dtypes.default_int())
            return ew.integer_pow(x_p, y)
        except (TypeError, ValueError) as e:
            reraise(e)
    return _power(x, y)


pow = power  # noqa: A001  (numpy's name)
maximum = binary_ufunc("maximum", ew.max_p)
minimum = binary_ufunc("minimum", ew.min_p)


def divmod(x, y, /):  # noqa: A001
    """``(floor_divide(x, y), remainder(x, y))``."""
    return floor_divide(x, y), remainder(x, y)


negative = unary_ufunc("negative", ew.neg_p, fast_dtypes=eager.NUMERIC)


def positive(x, /):
    """Returns x (numpy.positive)."""
    return asarray(x)


def _abs_general(x):
    if get_aval(x).dtype == dtypes.bool_ or dtypes.is_unsigned(get_aval(x).dtype):
        return x
    return ew.abs_p.bind(x)


absolute = unary_ufunc("absolute", ew.abs_p, general=_abs_general,
                       fast_dtypes=eager.FLOATS | {dtypes.int8, dtypes.int16, dtypes.int32,
                                                   dtypes.int64})
abs = absolute  # noqa: A001  (numpy's name)
sign = unary_ufunc("sign", ew.sign_p, fast_dtypes=eager.NUMERIC - {dtypes.uint8})


def square(x, /):
    """Elementwise x * x (bools count as the default int, as in jax.numpy)."""
    x = asarray(x)
    if x.dtype == dtypes.bool_:
        x = x.astype(dtypes.default_int())
    return multiply(x, x)


def reciprocal(x, /):
    """Elementwise 1 / x (x ** -1 in x's inexact type)."""
    (x,) = promote_args_inexact("reciprocal", x)
    return ew.integer_pow(x, -1)


def float_power(x, y, /):
    """x ** y computed in at least the default float type."""
    x, y = promote_args_inexact("float_power", x, y)
    return power(x, y)


def clip(a, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
    """Limits values to [a_min, a_max] (either may be None)."""
    a_min = min if a_min is None else a_min
    a_max = max if a_max is None else a_max
    out = asarray(a)
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


__all__ = [
    "add",
    "subtract",
    "multiply",
    "true_divide",
    "divide",
    "floor_divide",
    "remainder",
    "mod",
    "fmod",
    "power",
    "pow",
    "maximum",
    "minimum",
    "divmod",
    "negative",
    "positive",
    "absolute",
    "abs",
    "sign",
    "square",
    "reciprocal",
    "float_power",
    "clip",
]
