"""What the reduction families share: the reductions (``reductions.py``), the
cumulative reductions (``cumulative.py``) and the windowed ones (``windowed.py``).

* The monoids' identities (``_max_identity``, ``_min_identity``) and their
  StableHLO combiners (``_REDUCERS``: kind -> (combine(ctx, a, b, aval),
  identity(dtype))), NaN-propagating for max/min and lexicographic on complex
  numbers, as numpy's ufuncs.
* The 16-bit float policy of the impls: float16/bfloat16 upcast to float32.
* ``_shift`` (a pad that crops, used by the product jvps) and
  ``_batched_axis`` (where an example axis sits once a batch axis is in).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import get_aval
from .shape import pad
from .sorting import lower_isnan, lower_logical, lower_order, lower_select

_LOW_FLOATS = dtypes.LOW_FLOATS


def _upcast(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype in _LOW_FLOATS else x


def _max_identity(dtype):
    if dtype == dtypes.bool_:
        return False
    if dtypes.is_int(dtype):
        return dtypes.iinfo(dtype).min
    return -np.inf


def _min_identity(dtype):
    if dtype == dtypes.bool_:
        return True
    if dtypes.is_int(dtype):
        return dtypes.iinfo(dtype).max
    return np.inf


def _shift(x, s: int, fill, axis: int, reverse: bool):
    """``x`` moved ``s`` places along ``axis`` (toward the end, or the start if
    ``reverse``), the vacated places filled with ``fill``: a pad that crops."""
    cfg = [(0, 0, 0)] * get_aval(x).ndim
    cfg[axis] = (-s, s, 0) if reverse else (s, -s, 0)
    return pad(x, fill, cfg)


def _batched_axis(a: int, bdim: int) -> int:
    """Where example axis ``a`` sits in the batched operand."""
    return a + (a >= bdim)


# --- StableHLO combiners ------------------------------------------------------------------------


def _lower_extremum(bool_op, direction, real_op):
    """NaN-propagating maximum or minimum: ``bool_op`` (or/and) for bool, lexicographic
    for complex (as numpy), ``real_op`` otherwise."""
    def combine(ctx, a, b, aval):
        if aval.dtype == dtypes.bool_:
            return ctx.op(bool_op, [a, b], [aval, aval], aval)
        if dtypes.is_complex(aval.dtype):
            return _lower_complex_extremum(ctx, a, b, aval, direction)
        # stablehlo.maximum/minimum propagate NaN (the StableHLO spec; checked on CPU and
        # GPU by the tests)
        return ctx.op(real_op, [a, b], [aval, aval], aval)
    return combine


_lower_max = _lower_extremum("stablehlo.or", "GT", "stablehlo.maximum")
_lower_min = _lower_extremum("stablehlo.and", "LT", "stablehlo.minimum")


def _lower_complex_extremum(ctx, a, b, aval, direction):
    # numpy: a NaN (in either part) wins, else (real, imag) lexicographic, a on ties.
    s = aval.shape
    a_nan, b_nan = lower_isnan(ctx, a, aval), lower_isnan(ctx, b, aval)
    lt, eq = lower_order(ctx, b, a, aval) if direction == "GT" else lower_order(ctx, a, b, aval)
    keep_a = lower_logical(ctx, "or", lt, eq, shape=s)  # b < a (GT), a < b (LT), or equal
    keep_a = lower_logical(ctx, "or", a_nan,
                           lower_logical(ctx, "and", lower_logical(ctx, "not", b_nan, shape=s),
                                         keep_a, shape=s), shape=s)
    return lower_select(ctx, keep_a, a, b, aval)


def _lower_binary(opname):
    def combine(ctx, a, b, aval):
        return ctx.op(opname, [a, b], [aval, aval], aval)
    return combine


def _all_ones(dtype):
    return ~np.zeros((), dtype)


# name -> (combine(ctx, a, b, aval), identity(dtype))
_REDUCERS = {
    "sum": (_lower_binary("stablehlo.add"), lambda dt: 0),
    "prod": (_lower_binary("stablehlo.multiply"), lambda dt: 1),
    "max": (_lower_max, _max_identity),
    "min": (_lower_min, _min_identity),
    "and": (_lower_binary("stablehlo.and"), _all_ones),
    "or": (_lower_binary("stablehlo.or"), lambda dt: 0),
}
