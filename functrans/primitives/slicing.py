"""Slicing and indexing primitives: slice, dynamic_slice, dynamic_update_slice,
gather and the scatter family (scatter, scatter_add, scatter_mul, scatter_min,
scatter_max), with XLA's semantics.

Index semantics, as in XLA and JAX:

* ``dynamic_slice`` and ``dynamic_update_slice`` clamp their start indices so
  the whole window is in bounds (they never fail on values, which may be
  unknown while tracing). Their lax wrappers first wrap negative indices.
* ``gather`` reads, for each index vector of ``indices`` (its last dimension),
  a window of ``slice_sizes`` starting there. Modes ``"clip"`` and
  ``"promise_in_bounds"`` (the default) clamp each start into bounds; they
  differ in the transpose, as in JAX: "clip" sends the cotangent of a clamped
  window to where it was read, "promise_in_bounds" drops it (XLA's scatter
  skips an out-of-bounds window), so ``x[i]`` for an array ``i`` out of
  bounds reads the clamped element but gets no gradient there. Mode
  ``"fill"`` returns ``fill_value`` for a window that would not fit.
* ``scatter*`` write a window of ``updates`` at each index vector. Mode
  ``"drop"`` (the default; also "fill" and "promise_in_bounds") skips a
  window that would not fit; mode ``"clip"`` clamps its start. Duplicate indices accumulate for add/mul/min/max; for a
  plain scatter one of the duplicates wins.

The index vector dimension is always the last dimension of ``indices``.
Parameters are static and hashable (tuples and NamedTuples of tuples). The
jvp and transpose rules are in ``slicing_ad.py``, the batch rules in
``slicing_batch.py``, the lower rules in ``slicing_lower.py``, all imported
at the end of this module.
"""

from __future__ import annotations

import builtins
from typing import NamedTuple

import numpy as np

from .. import dtypes
from ..array import _new_array
from ..core import (Primitive, ShapedArray, Tracer, bind, get_aval, is_scalar_literal,
                    to_concrete_value)
from . import elementwise as ew
from ._rules import INTEGRAL, check_dtype, check_same_dtypes, lax_operands, normalize_axis


def _static_ints(op: str, what: str, values, *, concrete_ok: bool = False) -> tuple:
    """``values`` as a tuple of ints. ``concrete_ok``: a traced value known now (under
    grad/jvp/vjp, not staged out) is read, as JAX reads shape arguments (dynamic_slice's
    and gather's slice_sizes; lax.slice's bounds must be Python ints in JAX too)."""
    if concrete_ok:
        if isinstance(values, Tracer):
            known = to_concrete_value(values)
            values = values if known is None else known.tolist()
        else:
            values = [_known_or_self(v) for v in values]
    if isinstance(values, Tracer) or any(isinstance(v, Tracer) for v in values):
        raise TypeError(f"{op}: {what} must be static Python ints, got a traced value; use "
                        "dynamic_slice / dynamic_update_slice for positions known only at run "
                        "time")
    try:
        return tuple(int(v) for v in values)
    except TypeError:
        raise TypeError(f"{op}: {what} must be a sequence of Python ints, got {values!r}") from None


def _known_or_self(v):
    known = to_concrete_value(v) if isinstance(v, Tracer) else None
    return v if known is None else known


# --- slice --------------------------------------------------------------------------------

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
    from .shape import squeeze
    shape = get_aval(operand).shape
    axis = normalize_axis("index_in_dim", axis, len(shape))
    i, d = int(index), shape[axis]
    if not -d <= i < d:
        raise IndexError(f"index_in_dim: index {i} is out of bounds for axis {axis} with size {d}")
    i = i % d
    out = slice_in_dim(operand, i, i + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


# --- dynamic_slice --------------------------------------------------------------------------


def _check_start_indices(op: str, x: ShapedArray, starts):
    if len(starts) != x.ndim:
        raise ValueError(f"{op}: got {len(starts)} start indices for an operand of shape "
                         f"{x.shape}; pass one per dimension")
    for i, s in enumerate(starts):
        check_dtype(op, s, INTEGRAL, what=f"start index {i}")
        if s.shape != ():
            raise ValueError(f"{op}: start index {i} must be a scalar, got {s.str_short()}")


def _clamped_starts(shape, starts, sizes) -> list:
    # XLA semantics: each start is clamped to [0, size - window] so the window fits.
    return [min(max(int(s), 0), d - n) for s, d, n in zip(starts, shape, sizes)]


dynamic_slice_p = Primitive("dynamic_slice")


@dynamic_slice_p.def_abstract_eval
def _dynamic_slice_abstract_eval(x: ShapedArray, *starts: ShapedArray, slice_sizes):
    _check_start_indices("dynamic_slice", x, starts)
    if len(slice_sizes) != x.ndim or any(not 0 <= n <= d for n, d in zip(slice_sizes, x.shape)):
        raise ValueError(f"dynamic_slice: slice_sizes {slice_sizes} must have one entry per "
                         f"dimension, each between 0 and the operand's size {x.shape}")
    return ShapedArray(slice_sizes, x.dtype, x.weak_type)


@dynamic_slice_p.def_impl
def _dynamic_slice_impl(x, *starts, slice_sizes):
    x = np.asarray(x)
    lo = _clamped_starts(x.shape, starts, slice_sizes)
    return x[tuple(builtins.slice(s, s + n) for s, n in zip(lo, slice_sizes))]


def _start_index(op: str, i, d: int, allow_negative: bool):
    """A start index as an integer scalar operand; negative ones wrap (JAX's lax does too)."""
    if isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
        i = int(i)
        if allow_negative and i < 0:
            i += d
        # The primitive clamps anyway; clipping here keeps the value representable.
        return _new_array(np.asarray(min(max(i, -2**31), 2**31 - 1), np.int32))
    aval = get_aval(i)
    check_dtype(op, aval, INTEGRAL, what="start index")
    if aval.shape != ():
        raise ValueError(f"{op}: each start index must be a scalar, got {aval.str_short()}")
    if not allow_negative or dtypes.is_unsigned(aval.dtype):
        return i
    if aval.dtype.itemsize < 4:  # so that i + d cannot overflow
        i = ew.convert_element_type(i, dtypes.int32)
    return ew.select(ew.lt(i, 0), ew.add(i, d), i)


def _start_indices(op: str, operand, start_indices, allow_negative: bool) -> list:
    shape = get_aval(operand).shape
    if isinstance(start_indices, Tracer) or hasattr(start_indices, "shape"):
        if get_aval(start_indices).ndim != 1:
            raise ValueError(f"{op}: start_indices must be a sequence or a 1-d array, got "
                             f"shape {get_aval(start_indices).shape}")
        start_indices = [start_indices[k] for k in range(get_aval(start_indices).shape[0])]
    start_indices = list(start_indices)
    if len(start_indices) != len(shape):
        raise ValueError(f"{op}: got {len(start_indices)} start indices for an operand of "
                         f"shape {shape}; pass one per dimension")
    return [_start_index(op, i, d, allow_negative) for i, d in zip(start_indices, shape)]


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """A window of static ``slice_sizes`` at run-time ``start_indices``.

    Negative starts wrap once (``-1`` is the last element); then each start is
    clamped so the window fits in the operand, as in XLA.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.dynamic_slice(fnp.arange(5), (fnp.array(4),), (2,)).tolist()   # clamped to 3
        [3, 4]
    """
    sizes = _static_ints("dynamic_slice", "slice_sizes", slice_sizes, concrete_ok=True)
    starts = _start_indices("dynamic_slice", operand, start_indices, allow_negative_indices)
    return bind(dynamic_slice_p, operand, *starts, slice_sizes=sizes)


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """``dynamic_slice`` along one ``axis`` (full extent on the others)."""
    shape = get_aval(operand).shape
    axis = normalize_axis("dynamic_slice_in_dim", axis, len(shape))
    starts, sizes = [0] * len(shape), list(shape)
    starts[axis], sizes[axis] = start_index, int(slice_size)
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """``operand[index]`` along ``axis`` for a run-time index (wrapped, then clamped).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.dynamic_index_in_dim(fnp.arange(4), fnp.array(-1), keepdims=False).tolist()
        3
    """
    from .shape import squeeze
    axis = normalize_axis("dynamic_index_in_dim", axis, get_aval(operand).ndim)
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


# --- dynamic_update_slice -------------------------------------------------------------------

dynamic_update_slice_p = Primitive("dynamic_update_slice")


@dynamic_update_slice_p.def_abstract_eval
def _dynamic_update_slice_abstract_eval(x: ShapedArray, update: ShapedArray, *starts):
    check_same_dtypes("dynamic_update_slice", (x, update))
    if update.ndim != x.ndim or any(u > d for u, d in zip(update.shape, x.shape)):
        raise ValueError(f"dynamic_update_slice: the update's shape {update.shape} must have "
                         f"the operand's rank and fit inside its shape {x.shape}")
    _check_start_indices("dynamic_update_slice", x, starts)
    return x


@dynamic_update_slice_p.def_impl
def _dynamic_update_slice_impl(x, update, *starts):
    out = np.array(x, copy=True)
    update = np.asarray(update)
    lo = _clamped_starts(out.shape, starts, update.shape)
    out[tuple(builtins.slice(s, s + n) for s, n in zip(lo, update.shape))] = update
    return out


def dynamic_update_slice(operand, update, start_indices, *, allow_negative_indices=True):
    """``operand`` with the window at ``start_indices`` replaced by ``update``.

    Starts wrap (if negative) and are clamped so the update fits, as in
    ``dynamic_slice``.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.dynamic_update_slice(fnp.zeros(4, int), fnp.ones(2, int), (3,)).tolist()
        [0, 0, 1, 1]
    """
    operand, update = lax_operands(operand, update)
    starts = _start_indices("dynamic_update_slice", operand, start_indices,
                            allow_negative_indices)
    return bind(dynamic_update_slice_p, operand, update, *starts)


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """``dynamic_update_slice`` at ``start_index`` along ``axis`` (0 on the others)."""
    nd = get_aval(operand).ndim
    axis = normalize_axis("dynamic_update_slice_in_dim", axis, nd)
    starts = [0] * nd
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis):
    """Replaces ``operand[index]`` along ``axis`` by ``update`` (with or without that axis)."""
    from .shape import expand_dims
    nd = get_aval(operand).ndim
    axis = normalize_axis("dynamic_update_index_in_dim", axis, nd)
    if get_aval(update).ndim == nd - 1:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis)


# --- shared by gather and scatter -------------------------------------------------------------


def _check_increasing(op: str, name: str, dims, bound: int, what: str):
    if list(dims) != sorted(set(dims)) or any(not 0 <= d < bound for d in dims):
        raise ValueError(f"{op}: {name}={dims} must be strictly increasing dimensions of the "
                         f"{what} (in [0, {bound}))")


def _check_index_map(op: str, name: str, index_map, indices: ShapedArray, operand: ShapedArray):
    if indices.ndim < 1:
        raise ValueError(f"{op}: indices must have at least one dimension (the last one holds "
                         f"the index vectors), got shape {indices.shape}")
    if len(index_map) != indices.shape[-1]:
        raise ValueError(f"{op}: {name}={index_map} must name one operand dimension per entry "
                         f"of the index vectors (indices shape {indices.shape}, last "
                         f"dimension {indices.shape[-1]})")
    if len(set(index_map)) != len(index_map) or any(not 0 <= d < operand.ndim for d in index_map):
        raise ValueError(f"{op}: {name}={index_map} must be distinct dimensions of the operand "
                         f"{operand.str_short()}")


def _window_indices(operand_shape, indices, window, window_out_dims, collapsed, index_map,
                    out_rank: int, mode: str, full_as_none: bool = False):
    """The operand position of every element of a gather output / scatter update.

    Returns one integer array per operand dimension, each broadcastable to the
    output (gather) or updates (scatter) shape, and, for modes "fill"/"drop",
    a bool array (batch dims only, broadcastable likewise) telling which
    windows fit in the operand; else None.

    A start comes from ``indices[..., j]`` for the dims of ``index_map`` (0 for
    the others); window dim k adds an arange placed at ``window_out_dims[k]``.
    With ``full_as_none``, a dim read whole (no index, full window) gets None.
    """
    indices = np.asarray(indices)
    batch_out = [d for d in range(out_rank) if d not in window_out_dims]

    def at_batch_dims(a):
        shape = [1] * out_rank
        for d, s in zip(batch_out, a.shape):
            shape[d] = s
        return a.reshape(shape)

    starts, fits = {}, None
    for j, dim in enumerate(index_map):
        s = indices[..., j]
        if s.dtype.itemsize < 8 and s.dtype != np.int32:  # room for the bounds below
            s = s.astype(np.int64)
        hi = operand_shape[dim] - window[dim]
        if mode not in ("clip", "promise_in_bounds"):
            ok = (s >= 0) & (s <= hi)
            fits = ok if fits is None else fits & ok
        # (clipped values fit int64: uint64 indices must not meet int64 offsets as floats)
        starts[dim] = at_batch_dims(np.clip(s, 0, max(hi, 0)).astype(np.int64, copy=False))
    window_dims = [d for d in range(len(operand_shape)) if d not in collapsed]
    out = []
    for dim in range(len(operand_shape)):
        if full_as_none and dim not in starts and dim in window_dims and \
                window[dim] == operand_shape[dim]:
            out.append(None)
            continue
        a = starts.get(dim, np.zeros((1,) * out_rank, np.int64))
        if dim in window_dims:
            shape = [1] * out_rank
            shape[window_out_dims[window_dims.index(dim)]] = window[dim]
            a = a + np.arange(window[dim]).reshape(shape)
        out.append(a)
    return out, (None if fits is None else at_batch_dims(fits))


# --- gather ---------------------------------------------------------------------------------


class GatherDimensionNumbers(NamedTuple):
    """How a gather maps index vectors and windows to operand and output dims.

    Attributes:
      offset_dims: the output dims (increasing) that hold the window dims of the
        operand not in ``collapsed_slice_dims``, in order.
      collapsed_slice_dims: operand dims (increasing) whose window has size 1
        and does not appear in the output.
      start_index_map: for each entry j of an index vector, the operand dim
        whose window start it gives.

    The output's other dims are the batch dims of ``indices`` (all but its last).
    """

    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple


_GATHER_MODES = {None: "promise_in_bounds", "promise_in_bounds": "promise_in_bounds",
                 "clip": "clip", "fill": "fill", "drop": "fill"}
_SCATTER_MODES = {None: "drop", "drop": "drop", "fill": "drop", "promise_in_bounds": "drop",
                  "clip": "clip"}


def _gather_shape(op, operand: ShapedArray, indices: ShapedArray, dnums, slice_sizes) -> tuple:
    offset_dims, collapsed, index_map = dnums
    check_dtype(op, indices, INTEGRAL, what="indices")
    _check_index_map(op, "start_index_map", index_map, indices, operand)
    if len(slice_sizes) != operand.ndim or any(not 0 <= n <= d
                                               for n, d in zip(slice_sizes, operand.shape)):
        raise ValueError(f"{op}: slice_sizes {slice_sizes} must have one entry per operand "
                         f"dimension, each between 0 and the operand's size {operand.shape}")
    _check_increasing(op, "collapsed_slice_dims", collapsed, operand.ndim, "operand")
    if any(slice_sizes[d] != 1 for d in collapsed):
        raise ValueError(f"{op}: collapsed_slice_dims {collapsed} must have slice size 1, got "
                         f"slice_sizes {slice_sizes}")
    batch = indices.shape[:-1]
    out_rank = len(batch) + len(offset_dims)
    _check_increasing(op, "offset_dims", offset_dims, out_rank, "output")
    if len(offset_dims) + len(collapsed) != operand.ndim:
        raise ValueError(f"{op}: offset_dims {offset_dims} and collapsed_slice_dims {collapsed} "
                         f"must account for each of the {operand.ndim} operand dimensions once")
    window = iter(n for d, n in enumerate(slice_sizes) if d not in collapsed)
    batch_it = iter(batch)
    return tuple(next(window) if d in offset_dims else next(batch_it) for d in range(out_rank))


gather_p = Primitive("gather")


@gather_p.def_abstract_eval
def _gather_abstract_eval(operand: ShapedArray, indices: ShapedArray, *, dimension_numbers,
                          slice_sizes, mode, fill_value):
    if mode not in ("clip", "promise_in_bounds", "fill"):
        raise ValueError(f"gather: mode must be 'clip', 'promise_in_bounds' or 'fill', got "
                         f"{mode!r}")
    shape = _gather_shape("gather", operand, indices, dimension_numbers, slice_sizes)
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def _default_fill_value(dtype):
    """JAX's fill for out-of-bounds gathers: NaN, the minimum signed int, the
    maximum unsigned int, or True."""
    if dtypes.is_inexact(dtype):
        return np.nan
    if dtype == dtypes.bool_:
        return True
    info = dtypes.iinfo(dtype)
    return info.max if dtypes.is_unsigned(dtype) else info.min


@gather_p.def_impl
def _gather_impl(operand, indices, *, dimension_numbers, slice_sizes, mode, fill_value):
    operand = np.asarray(operand)
    indices = np.asarray(indices)
    dn = dimension_numbers
    shape = _gather_shape("gather", get_aval(operand), get_aval(indices), dn, slice_sizes)
    idx, fits = _window_indices(operand.shape, indices, slice_sizes, dn.offset_dims,
                                dn.collapsed_slice_dims, dn.start_index_map, len(shape), mode,
                                full_as_none=True)
    window_dims = [d for d in range(operand.ndim) if d not in dn.collapsed_slice_dims]
    full_out = {d: dn.offset_dims[window_dims.index(d)] for d, a in enumerate(idx) if a is None}
    out = _fancy_read(operand, idx, full_out, shape)
    if fits is not None:
        fill = _default_fill_value(operand.dtype) if fill_value is None else fill_value
        with np.errstate(invalid="ignore"):
            out = np.where(fits, out, np.array(fill).astype(operand.dtype))
    return out


def _fancy_read(operand, idx, full_out, shape):
    """One numpy indexing read of ``operand[idx]``, laid out as the gather output.

    ``idx[d]`` is an index array (broadcastable to ``shape``) or None for a dim
    read whole, which becomes a plain slice (much faster in numpy than an
    arange index) at output dim ``full_out[d]``. numpy puts the indexed dims
    where its advanced-indexing rule says; a transpose restores the order.
    """
    if not full_out:
        return np.broadcast_to(operand[tuple(idx)], shape)
    rest = [o for o in range(len(shape)) if o not in full_out.values()]
    key = tuple(builtins.slice(None) if a is None else a.reshape([a.shape[o] for o in rest])
                for a in idx)
    out = operand[key]
    adv = [d for d, a in enumerate(idx) if a is not None]
    full = sorted(full_out)
    if not adv:
        out = out.reshape(out.shape + (1,) * len(rest))
        labels = [full_out[d] for d in full] + rest
    elif adv[-1] - adv[0] == len(adv) - 1:
        labels = ([full_out[d] for d in full if d < adv[0]] + rest
                  + [full_out[d] for d in full if d > adv[-1]])
    else:
        labels = rest + [full_out[d] for d in full]
    return np.broadcast_to(np.transpose(out, np.argsort(labels)), shape)


def _gather_dnums(dimension_numbers) -> GatherDimensionNumbers:
    try:
        return GatherDimensionNumbers(*(tuple(int(d) for d in f) for f in dimension_numbers))
    except (TypeError, ValueError):
        raise TypeError("gather: dimension_numbers must be a GatherDimensionNumbers("
                        "offset_dims, collapsed_slice_dims, start_index_map) of int tuples, "
                        f"got {dimension_numbers!r}") from None


def _static_fill_value(op, fill_value):
    if fill_value is None or is_scalar_literal(fill_value):
        return fill_value
    if isinstance(fill_value, Tracer):
        raise TypeError(f"{op}: fill_value must be a static Python scalar, got a traced value")
    v = np.asarray(fill_value)
    if v.shape != ():
        raise ValueError(f"{op}: fill_value must be a scalar, got shape {v.shape}")
    return v.item()


def gather(operand, indices, dimension_numbers, slice_sizes, *, mode=None, fill_value=None):
    """Reads a window of ``slice_sizes`` at every index vector of ``indices`` (XLA Gather).

    Args:
      operand: the array to read from.
      indices: integer array; its last dimension holds the index vectors.
      dimension_numbers: a :class:`GatherDimensionNumbers`.
      slice_sizes: static window size per operand dimension.
      mode: ``"promise_in_bounds"`` (the default) and ``"clip"`` clamp starts
        into bounds (only "clip" sends the gradient of a clamped window to the
        element read; see the module docstring); ``"fill"`` (or ``"drop"``)
        gives ``fill_value`` for a window that does not fit.
      fill_value: static scalar for mode "fill"; default NaN for inexact
        dtypes, the minimum signed / maximum unsigned int, True for bool.

    Returns:
      An array of the operand's dtype: batch dims of ``indices`` and the
      window dims at ``offset_dims``.

    Example (rows 2 and 0 of a matrix):
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> dn = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
        ...                                 start_index_map=(0,))
        >>> x = fnp.arange(6).reshape(3, 2)
        >>> lax.gather(x, fnp.array([[2], [0]]), dn, (1, 2)).tolist()
        [[4, 5], [0, 1]]
    """
    if mode not in _GATHER_MODES:
        raise ValueError(f"gather: mode must be 'clip', 'fill', 'drop' or "
                         f"'promise_in_bounds', got {mode!r}")
    return bind(gather_p, operand, indices, dimension_numbers=_gather_dnums(dimension_numbers),
                slice_sizes=_static_ints("gather", "slice_sizes", slice_sizes,
                                                 concrete_ok=True),
                mode=_GATHER_MODES[mode], fill_value=_static_fill_value("gather", fill_value))


# --- scatter --------------------------------------------------------------------------------


class ScatterDimensionNumbers(NamedTuple):
    """How a scatter maps index vectors and update windows to operand dims.

    Attributes:
      update_window_dims: the dims of ``updates`` (increasing) that are window
        dims; they map, in order, to the operand dims not in
        ``inserted_window_dims``.
      inserted_window_dims: operand dims (increasing) with a window of size 1
        that has no dim in ``updates``.
      scatter_dims_to_operand_dims: for each entry j of an index vector, the
        operand dim whose window start it gives.

    The other dims of ``updates`` are the batch dims of ``indices`` (all but
    its last), in order.
    """

    update_window_dims: tuple
    inserted_window_dims: tuple
    scatter_dims_to_operand_dims: tuple


def _scatter_window(op, operand: ShapedArray, indices: ShapedArray, updates: ShapedArray,
                    dnums) -> tuple:
    """Checks a scatter's types and returns the window size per operand dim."""
    window_dims, inserted, index_map = dnums
    check_same_dtypes(op, (operand, updates))
    check_dtype(op, indices, INTEGRAL, what="indices")
    _check_index_map(op, "scatter_dims_to_operand_dims", index_map, indices, operand)
    _check_increasing(op, "update_window_dims", window_dims, updates.ndim, "updates")
    _check_increasing(op, "inserted_window_dims", inserted, operand.ndim, "operand")
    if len(window_dims) + len(inserted) != operand.ndim:
        raise ValueError(f"{op}: update_window_dims {window_dims} and inserted_window_dims "
                         f"{inserted} must account for each of the {operand.ndim} operand "
                         "dimensions once")
    batch = tuple(s for d, s in enumerate(updates.shape) if d not in window_dims)
    if batch != indices.shape[:-1]:
        raise ValueError(f"{op}: the updates' non-window dims {batch} (updates shape "
                         f"{updates.shape}) must equal the batch dims of indices "
                         f"{indices.shape[:-1]} (indices shape {indices.shape})")
    sizes = iter(updates.shape[d] for d in window_dims)
    window = tuple(1 if d in inserted else next(sizes) for d in range(operand.ndim))
    if any(w > d for i, (w, d) in enumerate(zip(window, operand.shape)) if i not in inserted):
        raise ValueError(f"{op}: update windows of shape {window} do not fit in the operand "
                         f"{operand.str_short()}")
    return window


def _scatter_abstract_eval(name):
    def abstract_eval(operand, indices, updates, *, dimension_numbers, mode):
        if mode not in ("clip", "drop"):
            raise ValueError(f"{name}: mode must be 'clip' or 'drop', got {mode!r}")
        _scatter_window(name, operand, indices, updates, dimension_numbers)
        return operand
    return abstract_eval


def _scatter_impl(combine):
    """``combine`` is None (overwrite) or a ufunc whose ``.at`` accumulates duplicates."""
    def impl(operand, indices, updates, *, dimension_numbers, mode):
        out = np.array(operand, copy=True, order="C")
        updates = np.asarray(updates)
        if out.size == 0 or updates.size == 0:
            return out
        dn = dimension_numbers
        window = _scatter_window("scatter", get_aval(out), get_aval(np.asarray(indices)),
                                 get_aval(updates), dn)
        idx, fits = _window_indices(out.shape, indices, window, dn.update_window_dims,
                                    dn.inserted_window_dims, dn.scatter_dims_to_operand_dims,
                                    updates.ndim, mode)
        # Flat positions into the (contiguous) copy: one index array for .at.
        flat = np.zeros((1,) * updates.ndim, np.int64)
        for a, stride in zip(idx, _elem_strides(out.shape)):
            flat = flat + a * stride
        flat = np.broadcast_to(flat, updates.shape)
        if fits is not None:
            keep = np.broadcast_to(fits, updates.shape)
            flat, updates = flat[keep], updates[keep]
        target = out.reshape(-1)
        if combine is None:
            target[flat] = updates
        else:
            combine.at(target, flat, updates)
        return out
    return impl


def _elem_strides(shape) -> list:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return strides[::-1]


def _scatter_primitive(name, combine) -> Primitive:
    p = Primitive(name)
    p.abstract_eval = _scatter_abstract_eval(name)
    p.impl = _scatter_impl(combine)
    return p


scatter_p = _scatter_primitive("scatter", None)
scatter_add_p = _scatter_primitive("scatter_add", np.add)
scatter_mul_p = _scatter_primitive("scatter_mul", np.multiply)
scatter_min_p = _scatter_primitive("scatter_min", np.minimum)
scatter_max_p = _scatter_primitive("scatter_max", np.maximum)


def _scatter_dnums(op, dimension_numbers) -> ScatterDimensionNumbers:
    try:
        return ScatterDimensionNumbers(*(tuple(int(d) for d in f) for f in dimension_numbers))
    except (TypeError, ValueError):
        raise TypeError(f"{op}: dimension_numbers must be a ScatterDimensionNumbers("
                        "update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims)"
                        f" of int tuples, got {dimension_numbers!r}") from None


def _scatter_wrapper(p, what, example):
    def wrapper(operand, scatter_indices, updates, dimension_numbers, *, mode=None):
        if mode not in _SCATTER_MODES:
            raise ValueError(f"{p.name}: mode must be 'drop', 'fill', 'clip' or "
                             f"'promise_in_bounds', got {mode!r}")
        operand, updates = lax_operands(operand, updates)
        return bind(p, operand, scatter_indices, updates,
                    dimension_numbers=_scatter_dnums(p.name, dimension_numbers),
                    mode=_SCATTER_MODES[mode])
    wrapper.__name__ = wrapper.__qualname__ = p.name
    wrapper.__doc__ = f"""``operand`` with each window of ``updates`` {what} at its index vector.

    Args:
      operand: the array to update (it is not changed; a new array is returned).
      scatter_indices: integer array; its last dimension holds the index vectors.
      updates: the windows, of the operand's dtype: batch dims of the indices
        plus the window dims at ``update_window_dims``.
      dimension_numbers: a :class:`ScatterDimensionNumbers`.
      mode: ``"drop"`` (default; also ``"fill"``) skips a window that does not
        fit in the operand; ``"clip"`` (or ``"promise_in_bounds"``) clamps its start.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> dn = lax.ScatterDimensionNumbers((), (0,), (0,))
        >>> lax.{p.name}(fnp.ones(3), fnp.array([[0], [2], [2]]), fnp.array([5., 6., 7.]),
        ...     dn).tolist()
        {example}
    """
    return wrapper


scatter = _scatter_wrapper(scatter_p, "written (one of duplicate indices wins: the last "
                           "one in eager mode)", "[5.0, 1.0, 7.0]")
scatter_add = _scatter_wrapper(scatter_add_p, "added (duplicates accumulate)", "[6.0, 1.0, 14.0]")
scatter_mul = _scatter_wrapper(scatter_mul_p, "multiplied in (duplicates accumulate)",
                               "[5.0, 1.0, 42.0]")
scatter_min = _scatter_wrapper(scatter_min_p, "combined by minimum", "[1.0, 1.0, 1.0]")
scatter_max = _scatter_wrapper(scatter_max_p, "combined by maximum", "[5.0, 1.0, 7.0]")

SCATTER_PRIMITIVES = {"set": scatter_p, "add": scatter_add_p, "mul": scatter_mul_p,
                      "min": scatter_min_p, "max": scatter_max_p}

from . import slicing_ad  # noqa: F401  (registers the jvp and transpose rules)
from . import slicing_batch  # noqa: F401  (registers the batch rules)
from . import slicing_lower  # noqa: F401  (registers the lower rules)
