"""Comparisons, logical and bitwise ops, shifts, is_finite and nextafter.

Their results are piecewise constant: every tangent is zero. Checked against
XLA (and kept as eager does): shifts by a negative or too-large amount give 0
(``shift_right_arithmetic``: the sign fill, for unsigned ints too).
"""

from __future__ import annotations

import numpy as np

from ... import dtypes
from .._rules import ANY, BOOL, FLOAT, INTEGRAL, ORDERED, lower_compare
from ._rows import ZERO, apply1, apply2, binary, full, unary


def _comparison(direction):
    def lower(ctx, x, y):
        (x, y), (aval, _) = full(ctx, [x, y])
        return lower_compare(ctx, x, y, aval, direction)
    return lower


def _bool(dtype):
    return dtypes.bool_


eq_p = binary("eq", np.equal, ANY, out_dtype=_bool, lower=_comparison("EQ"), jvp=ZERO)
ne_p = binary("ne", np.not_equal, ANY, out_dtype=_bool, lower=_comparison("NE"), jvp=ZERO)
lt_p = binary("lt", np.less, ORDERED, out_dtype=_bool, lower=_comparison("LT"), jvp=ZERO)
le_p = binary("le", np.less_equal, ORDERED, out_dtype=_bool, lower=_comparison("LE"), jvp=ZERO)
gt_p = binary("gt", np.greater, ORDERED, out_dtype=_bool, lower=_comparison("GT"), jvp=ZERO)
ge_p = binary("ge", np.greater_equal, ORDERED, out_dtype=_bool, lower=_comparison("GE"),
              jvp=ZERO)


def eq(x, y):
    """Elementwise x == y."""
    return apply2(eq_p, x, y)


def ne(x, y):
    """Elementwise x != y."""
    return apply2(ne_p, x, y)


def lt(x, y):
    """Elementwise x < y."""
    return apply2(lt_p, x, y)


def le(x, y):
    """Elementwise x <= y."""
    return apply2(le_p, x, y)


def gt(x, y):
    """Elementwise x > y."""
    return apply2(gt_p, x, y)


def ge(x, y):
    """Elementwise x >= y."""
    return apply2(ge_p, x, y)


# --- logical (bool) and bitwise (integer) ------------------------------------------------------

not_p = unary("not", np.invert, (BOOL,) + INTEGRAL, lower="stablehlo.not", jvp=ZERO)
and_p = binary("and", np.bitwise_and, (BOOL,) + INTEGRAL, lower="stablehlo.and", jvp=ZERO)
or_p = binary("or", np.bitwise_or, (BOOL,) + INTEGRAL, lower="stablehlo.or", jvp=ZERO)
xor_p = binary("xor", np.bitwise_xor, (BOOL,) + INTEGRAL, lower="stablehlo.xor", jvp=ZERO)


def bitwise_not(x):
    """Elementwise logical (bool) or bitwise (integer) not."""
    return apply1(not_p, x)


def bitwise_and(x, y):
    """Elementwise logical/bitwise and."""
    return apply2(and_p, x, y)


def bitwise_or(x, y):
    """Elementwise logical/bitwise or."""
    return apply2(or_p, x, y)


def bitwise_xor(x, y):
    """Elementwise logical/bitwise xor."""
    return apply2(xor_p, x, y)


# --- shifts: XLA's shifts give the eager impls' values for out-of-range amounts ---------------


def _shift_mask(x, y):
    bits = np.asarray(x).dtype.itemsize * 8
    y = np.asarray(y)
    out_of_range = (y < 0) | (y >= bits)
    return out_of_range, np.where(out_of_range, 0, y).astype(np.asarray(x).dtype)


def _shift_left_impl(x, y):
    bad, y = _shift_mask(x, y)
    return np.where(bad, 0, np.left_shift(x, y)).astype(np.asarray(x).dtype)


def _shift_right_arithmetic_impl(x, y):
    # XLA fills with the top bit for every integer type, unsigned ones too:
    # shift the same bits viewed as signed.
    x = np.asarray(x)
    bad, y = _shift_mask(x, y)
    signed = np.dtype(f"i{x.dtype.itemsize}")
    xs = x.view(signed)
    shifted = np.right_shift(xs, y.astype(signed))
    fill = np.where(xs < 0, -1, 0).astype(signed)
    return np.where(bad, fill, shifted).astype(signed).view(x.dtype)


def _shift_right_logical_impl(x, y):
    x = np.asarray(x)
    bad, y = _shift_mask(x, y)
    unsigned = np.dtype(f"u{x.dtype.itemsize}")
    shifted = np.right_shift(x.view(unsigned), y.astype(unsigned)).view(x.dtype)
    return np.where(bad, 0, shifted).astype(x.dtype)


shift_left_p = binary("shift_left", _shift_left_impl, INTEGRAL,
                      lower="stablehlo.shift_left", jvp=ZERO)
shift_right_arithmetic_p = binary("shift_right_arithmetic", _shift_right_arithmetic_impl,
                                  INTEGRAL, lower="stablehlo.shift_right_arithmetic", jvp=ZERO)
shift_right_logical_p = binary("shift_right_logical", _shift_right_logical_impl, INTEGRAL,
                               lower="stablehlo.shift_right_logical", jvp=ZERO)


def shift_left(x, y):
    """Elementwise x << y (0 when y is out of range)."""
    return apply2(shift_left_p, x, y)


def shift_right_arithmetic(x, y):
    """Elementwise arithmetic x >> y."""
    return apply2(shift_right_arithmetic_p, x, y)


def shift_right_logical(x, y):
    """Elementwise logical x >> y."""
    return apply2(shift_right_logical_p, x, y)


# --- float predicates and steps ---------------------------------------------------------------

is_finite_p = unary("is_finite", np.isfinite, (FLOAT,), out_dtype=_bool,
                    lower="stablehlo.is_finite", jvp=ZERO)


def is_finite(x):
    """Elementwise test for finite values (not inf or NaN)."""
    return apply1(is_finite_p, x)


def _nextafter_impl(x, y):
    # y where x == y, as C and XLA do (numpy's float16 loop returns x: -0.0 vs 0.0)
    return np.where(np.equal(x, y), y, np.nextafter(x, y))


nextafter_p = binary("nextafter", _nextafter_impl, (FLOAT,), lower="chlo.next_after", jvp=ZERO)


def nextafter(x, y):
    """Next representable value after x toward y."""
    return apply2(nextafter_p, x, y)
