"""Shared helpers for writing primitive rules (one-liners for common rule shapes).

A family module defines a primitive with its rules side by side; the helpers
here only remove repetition: dtype checks with user-facing messages, the
standard elementwise shape rule, conversion of Python scalars to typed
weak scalars for ``lax`` wrappers, and the StableHLO comparison every family
lowers its compares with.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..array import Array, _new_array
from ..core import ShapedArray, get_aval, is_scalar_literal

# dtype categories accepted by primitives
BOOL = "bool"
INT = "int"
UINT = "uint"
FLOAT = "float"
COMPLEX = "complex"
NUMERIC = (INT, UINT, FLOAT, COMPLEX)
INEXACT = (FLOAT, COMPLEX)
INTEGRAL = (INT, UINT)
ANY = (BOOL, INT, UINT, FLOAT, COMPLEX)
ORDERED = (BOOL, INT, UINT, FLOAT)

_CATEGORY_NAMES = {BOOL: "bool", INT: "signed integer", UINT: "unsigned integer",
                   FLOAT: "floating-point", COMPLEX: "complex"}


_CATEGORIES = {dtypes.bool_: BOOL, dtypes.bfloat16: FLOAT, dtypes.float16: FLOAT,
               dtypes.float32: FLOAT, dtypes.float64: FLOAT, dtypes.complex64: COMPLEX,
               dtypes.complex128: COMPLEX, dtypes.int8: INT, dtypes.int16: INT,
               dtypes.int32: INT, dtypes.int64: INT, dtypes.uint8: UINT, dtypes.uint16: UINT,
               dtypes.uint32: UINT, dtypes.uint64: UINT}


def category(dtype) -> str:
    """The dtype's category: BOOL, INT, UINT, FLOAT or COMPLEX."""
    return _CATEGORIES[dtype]


def check_dtype(op: str, aval: ShapedArray, allowed, what: str = "operand"):
    if category(aval.dtype) not in allowed:
        kinds = " or ".join(_CATEGORY_NAMES[c] for c in allowed)
        raise TypeError(f"{op}: {what} must be {kinds}, got {aval.dtype} "
                        f"({aval.str_short()})")


def check_same_dtypes(op: str, avals):
    dts = {a.dtype for a in avals}
    if len(dts) > 1:
        types = ", ".join(a.str_short() for a in avals)
        raise TypeError(f"{op} requires arguments of the same dtype, got {types}. Convert one "
                        "with .astype(...), or use functrans.numpy, which promotes types.")


def elementwise_shape(op: str, avals) -> tuple:
    """Shapes must be equal, except that rank-0 operands broadcast (scalars)."""
    shapes = {a.shape for a in avals if a.shape != ()}
    if len(shapes) > 1:
        shown = ", ".join(str(a.shape) for a in avals)
        raise ValueError(f"{op} requires arguments of equal shapes (or scalars), got {shown}. "
                         "functrans.numpy functions broadcast; lax primitives do not.")
    return shapes.pop() if shapes else ()


def weak_scalar(x, dtype) -> Array:
    """A Python scalar as a 0-d weakly typed Array of ``dtype``.

    Arrays are immutable, so one Array per (value, dtype) is shared: ``x * 0.5``
    in a loop, and the constants jvp rules use, are not rebuilt on every call.
    """
    return scalar_constant(x, dtype, True)


_SCALARS: dict = {}


def scalar_constant(x, dtype, weak: bool) -> Array:
    """A shared 0-d Array holding the Python scalar ``x`` as ``dtype`` (see weak_scalar).

    ``x`` is converted as JAX converts it (:func:`dtypes.scalar_to_numpy`): an
    int that does not fit the default int dtype raises an OverflowError, one
    that does wraps into a narrower integer ``dtype`` (``uint8 + 300`` adds 44).
    """
    t = type(x)
    # the sign tells 0.0 from -0.0, which compare (and hash) equal; NaN never hits
    key = (t, x, dtype, weak, t is float and math.copysign(1.0, x) < 0)
    a = _SCALARS.get(key)
    if a is None:
        a = _new_array(dtypes.scalar_to_numpy(x, dtype), weak)
        if len(_SCALARS) >= 4096:
            _SCALARS.clear()
        _SCALARS[key] = a
    return a


def lax_operands(*args):
    """Types Python scalars among ``args`` like the first array operand (weakly)."""
    for a in args:  # a loop, not any(...): this runs for every lax-level call
        if type(a) in dtypes.PYTHON_SCALARS:
            break
    else:
        return args
    arrays = [a for a in args if not is_scalar_literal(a)]
    dtype = get_aval(arrays[0]).dtype if arrays else dtypes.result_type(*args)
    return tuple(weak_scalar(a, dtype) if is_scalar_literal(a) else a for a in args)


def normalize_axis(op: str, axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim


def normalize_axes(op: str, axes, ndim: int) -> tuple:
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    out = tuple(normalize_axis(op, int(a), ndim) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {tuple(axes)}")
    return out


def compare_type(dtype) -> str:
    """StableHLO's ``comparison_type`` for ``dtype``: FLOAT for float and complex (NaN
    compares unordered, -0.0 == 0.0: numpy's rule), UNSIGNED for unsigned ints and
    bool (i1 compared as signed would order True, -1, below False), else SIGNED."""
    if dtypes.is_inexact(dtype):
        return "FLOAT"
    if dtype == dtypes.bool_ or dtypes.is_unsigned(dtype):
        return "UNSIGNED"
    return "SIGNED"


def lower_compare(ctx, x: str, y: str, aval: ShapedArray, direction: str) -> str:
    """``stablehlo.compare`` (``direction``: EQ NE LT LE GT GE) of two values of ``aval``;
    the result is a bool tensor of ``aval``'s shape."""
    return ctx.op("stablehlo.compare", [x, y], [aval, aval], aval.update(dtype=dtypes.bool_),
                  f"comparison_direction = #stablehlo<comparison_direction {direction}>, "
                  f"compare_type = #stablehlo<comparison_type {compare_type(aval.dtype)}>")
