"""Bitwise functions of functrans.numpy: and, or, xor, shifts, invert (bools too
for and/or/xor/invert), with JAX's results for out-of-range shift counts."""

from __future__ import annotations

from .. import dtypes, eager
from ..core import get_aval
from ..primitives import elementwise as ew
from ._arith import numeric
from ._ufunc import binary_ufunc, unary_ufunc


bitwise_and = binary_ufunc("bitwise_and", ew.and_p, fast_dtypes=eager.INTS_BOOL)
bitwise_or = binary_ufunc("bitwise_or", ew.or_p, fast_dtypes=eager.INTS_BOOL)
bitwise_xor = binary_ufunc("bitwise_xor", ew.xor_p, fast_dtypes=eager.INTS_BOOL)


def _right_shift_general(x, y):
    p = ew.shift_right_logical_p if dtypes.is_unsigned(get_aval(x).dtype) else ew.shift_right_arithmetic_p
    return p.bind(x, y)


left_shift = binary_ufunc("left_shift", ew.shift_left_p, fast_dtypes=frozenset(),
                          general=numeric(ew.shift_left_p.bind))
right_shift = binary_ufunc("right_shift", ew.shift_right_arithmetic_p, fast_dtypes=frozenset(),
                           general=numeric(_right_shift_general))
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift


invert = unary_ufunc("invert", ew.not_p, fast_dtypes=eager.INTS_BOOL)
bitwise_not = bitwise_invert = invert


__all__ = [
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "left_shift",
    "right_shift",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "invert",
    "bitwise_not",
    "bitwise_invert",
]
