"""Static slicing: the ``slice`` primitive (bounds known when tracing) and its
wrappers ``slice``, ``slice_in_dim`` and ``index_in_dim``, with every rule.

Run-time positions are ``dynamic_slicing.py``'s; gather and scatter are in
``gather_scatter.py``. Bounds must be in range (no negative wrapping: the
``*_in_dim`` wrappers wrap like Python). Autodiff: slice is linear; its
transpose pads the cotangent with zeros back into place (interior padding =
stride - 1). vmap slices the batch axis whole; jit emits stablehlo.slice.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.jvp import deflinear
from ..interpreters.lowering import i64_array
from ._rules import normalize_axis
from ._slicing_common import _scalar, _static_ints
from .shape import pad, squeeze

slice_p = Primitive("slice")


@slice_p.def_abstract_eval
def _slice_abstract_eval(x: ShapedArray, *, start_indices, limit_indices, strides):
    nd = x.ndim
    if len(start_indices) != nd or len(limit_indices) != nd:
        raise ValueError(f"slice: start_indices {start_indices} and limit_indices "
                         f"{limit_indices} need one entry per dimension of shape {x.shape}")
    if strides is not None and (len(strides) != nd or any(s < 1 for s in strides)):
        raise ValueError(f"slice: strides {strides} need one positive entry per dimension of "
                         f"shape {x.shape}")
    for lo, hi, d in zip(start_indices, limit_indices, x.shape):
        if not 0 <= lo <= hi <= d:
            raise ValueError(f"slice: indices [{start_indices}, {limit_indices}) are out of "
                             f"bounds for shape {x.shape}: each needs 0 <= start <= limit <= "
                             "size (lax.slice does not wrap negative indices)")
    strides = strides or (1,) * nd
    shape = tuple((hi - lo + s - 1) // s
                  for lo, hi, s in zip(start_indices, limit_indices, strides))
    return ShapedArray(shape, x.dtype, x.weak_type)


@slice_p.def_impl
def _slice_impl(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    return np.asarray(x)[tuple(builtins.slice(lo, hi, s)
                               for lo, hi, s in zip(start_indices, limit_indices, strides))]


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001  (lax's name)
    """The elements of ``operand`` in ``[start, limit)`` with ``strides``, per dimension.

    Indices are static and must be in bounds (no negative wrapping).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.slice(fnp.arange(6), (1,), (6,), (2,)).tolist()
        [1, 3, 5]
    """
    start = _static_ints("slice", "start_indices", start_indices)
    limit = _static_ints("slice", "limit_indices", limit_indices)
    strides = None if strides is None else _static_ints("slice", "strides", strides)
    if strides is not None and all(s == 1 for s in strides):
        strides = None
    shape = get_aval(operand).shape
    if strides is None and all(lo == 0 for lo in start) and limit == shape:
        return operand
    return bind(slice_p, operand, start_indices=start, limit_indices=limit, strides=strides)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``operand[start:limit:stride]`` along ``axis``; None and negative bounds as in Python.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.slice_in_dim(fnp.arange(5), -3, None).tolist()
        [2, 3, 4]
    """
    shape = get_aval(operand).shape
    axis = normalize_axis("slice_in_dim", axis, len(shape))
    d = shape[axis]
    start = 0 if start_index is None else int(start_index)
    limit = d if limit_index is None else int(limit_index)
    start, limit = (start + d if start < 0 else start), (limit + d if limit < 0 else limit)
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, limit, int(stride)
    return slice(operand, starts, limits, strides)


def index_in_dim(operand, index, axis=0, keepdims=True):
    """``operand[index]`` along ``axis`` for a static int (negative wraps).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.index_in_dim(fnp.arange(6).reshape(2, 3), -1, axis=1, keepdims=False).tolist()
        [2, 5]
    """
    shape = get_aval(operand).shape
    axis = normalize_axis("index_in_dim", axis, len(shape))
    i, d = int(index), shape[axis]
    if not -d <= i < d:
        raise IndexError(f"index_in_dim: index {i} is out of bounds for axis {axis} with size {d}")
    i = i % d
    out = slice_in_dim(operand, i, i + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


deflinear(slice_p)


@slice_p.def_transpose
def _slice_transpose(ct, x, *, start_indices, limit_indices, strides):
    # Zero padding puts each element back: low = start, interior = stride - 1,
    # high = whatever is left past the last element read.
    shape = x.aval.shape
    out_shape = get_aval(ct).shape
    strides = strides or (1,) * len(shape)
    config = []
    for lo, n, s, d in zip(start_indices, out_shape, strides, shape):
        end = lo + (n - 1) * s + 1 if n else lo
        config.append((lo, d - end, s - 1 if n else 0))
    return [pad(ct, _scalar(0, get_aval(ct).dtype), config)]


@slice_p.def_batch
def _slice_batch(args, bdims, *, start_indices, limit_indices, strides):
    (x,), (d,) = args, bdims
    starts, limits = list(start_indices), list(limit_indices)
    starts.insert(d, 0)
    limits.insert(d, get_aval(x).shape[d])
    if strides is not None:
        strides = strides[:d] + (1,) + strides[d:]
    return bind(slice_p, x, start_indices=tuple(starts), limit_indices=tuple(limits),
                strides=strides), d


@slice_p.def_lower
def _slice_lower(ctx, x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    return ctx.op("stablehlo.slice", [x], ctx.avals_in, ctx.avals_out[0],
                  f"start_indices = {i64_array(start_indices)}, "
                  f"limit_indices = {i64_array(limit_indices)}, strides = {i64_array(strides)}")
