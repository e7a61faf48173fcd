"""Batch rules (vmap) of the slicing primitives.

They live apart from ``slicing.py`` to keep it readable; this module is
imported at the end of it, so every rule is registered with its primitive.
Rules are written with ``bind``, so vmap composes with grad, jit and vmap.

* slice, and dynamic_slice / dynamic_update_slice with unmapped starts: the
  batch axis is one more axis, sliced whole (start 0).
* gather and scatter, as JAX did before StableHLO had batching dims: a
  batched operand gets the batch axis as a leading window dim (read or
  written whole); when the indices are batched too, the operand's batch axis
  becomes a collapsed (gather) or inserted (scatter) dim, and each index
  vector gets its example's number as a new first entry (an iota
  concatenated to the indices), so example b reads and writes only slice b.
* dynamic_slice / dynamic_update_slice with a batched start become a gather /
  scatter in mode "clip", whose clamping is theirs: each start clamped into
  ``[0, size - window]``.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..array import _new_array
from ..core import bind, get_aval
from ..interpreters.batching import batch_size, bdim_to_front, moveaxis
from . import elementwise as ew
from .shape import broadcasted_iota, concatenate, reshape
from .slicing import (GatherDimensionNumbers, ScatterDimensionNumbers, dynamic_slice_p,
                      dynamic_update_slice_p, gather_p, scatter_add_p, scatter_max_p,
                      scatter_min_p, scatter_mul_p, scatter_p, slice_p)


def _shift(dims, by=1) -> tuple:
    return tuple(d + by for d in dims)


def _scalar(value, dtype):
    return _new_array(np.asarray(value, dtype), False)


def _with_example_numbers(indices):
    """Batched indices (batch axis first) with each example's number as a new
    first entry of its index vectors."""
    aval = get_aval(indices)
    size = aval.shape[0]
    dtype = aval.dtype
    if size - 1 > dtypes.iinfo(dtype).max:  # int8/uint8/...: widen, exactly
        dtype = np.dtype(np.int32)
        indices = ew.convert_element_type(indices, dtype)
    numbers = broadcasted_iota(dtype, aval.shape[:-1] + (1,), 0)
    return concatenate([numbers, indices], aval.ndim - 1)


# --- slice ----------------------------------------------------------------------------------


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


# --- gather ---------------------------------------------------------------------------------


@gather_p.def_batch
def _gather_batch(args, bdims, *, dimension_numbers, slice_sizes, mode, fill_value):
    (operand, indices), (d_op, d_idx) = args, bdims
    dn = dimension_numbers
    params = {"mode": mode, "fill_value": fill_value}
    if d_idx is None:
        # The batch axis is a window dim read whole: output dim 0.
        operand = moveaxis(operand, d_op, 0)
        dn = GatherDimensionNumbers(offset_dims=(0,) + _shift(dn.offset_dims),
                                    collapsed_slice_dims=_shift(dn.collapsed_slice_dims),
                                    start_index_map=_shift(dn.start_index_map))
        sizes = (get_aval(operand).shape[0],) + tuple(slice_sizes)
        return bind(gather_p, operand, indices, dimension_numbers=dn, slice_sizes=sizes,
                    **params), 0
    indices = moveaxis(indices, d_idx, 0)
    if d_op is None:
        # The indices' batch axis is the output's first batch dim.
        dn = dn._replace(offset_dims=_shift(dn.offset_dims))
        return bind(gather_p, operand, indices, dimension_numbers=dn, slice_sizes=slice_sizes,
                    **params), 0
    operand = moveaxis(operand, d_op, 0)
    indices = _with_example_numbers(indices)
    dn = GatherDimensionNumbers(offset_dims=_shift(dn.offset_dims),
                                collapsed_slice_dims=(0,) + _shift(dn.collapsed_slice_dims),
                                start_index_map=(0,) + _shift(dn.start_index_map))
    return bind(gather_p, operand, indices, dimension_numbers=dn,
                slice_sizes=(1,) + tuple(slice_sizes), **params), 0


# --- scatter --------------------------------------------------------------------------------


def _scatter_batcher(prim, args, bdims, *, dimension_numbers, mode):
    (operand, indices, updates), (d_op, d_idx, d_upd) = args, bdims
    size = batch_size(args, bdims)
    # Each example writes into its own copy of the operand: both get the batch axis.
    operand = bdim_to_front(operand, d_op, size)
    updates = bdim_to_front(updates, d_upd, size)
    window_dims, inserted, index_map = dimension_numbers
    if d_idx is None:
        # The batch axis is a window dim written whole.
        dn = ScatterDimensionNumbers((0,) + _shift(window_dims), _shift(inserted),
                                     _shift(index_map))
    else:
        indices = _with_example_numbers(moveaxis(indices, d_idx, 0))
        dn = ScatterDimensionNumbers(_shift(window_dims), (0,) + _shift(inserted),
                                     (0,) + _shift(index_map))
    return bind(prim, operand, indices, updates, dimension_numbers=dn, mode=mode), 0


def _def_scatter_batch(prim):
    def rule(args, bdims, **params):
        return _scatter_batcher(prim, args, bdims, **params)
    prim.def_batch(rule)


for _p in (scatter_p, scatter_add_p, scatter_mul_p, scatter_min_p, scatter_max_p):
    _def_scatter_batch(_p)


# --- dynamic_slice, dynamic_update_slice ----------------------------------------------------


def _stacked_starts(starts, bdims, size, shape, window):
    """Scalar starts (some batched) as one (size, len(starts)) index array.

    Starts of mixed integer types are clamped into ``[0, size - window]``
    (the primitive's own clamping) in their own type first, so converting
    them to int32 is exact.
    """
    mixed = len({get_aval(s).dtype for s in starts}) > 1
    cols = []
    for s, d, n, w in zip(starts, bdims, shape, window):
        if mixed:
            dtype = get_aval(s).dtype
            s = ew.max(s, _scalar(0, dtype))
            if n - w <= dtypes.iinfo(dtype).max:
                s = ew.min(s, _scalar(n - w, dtype))
            s = ew.convert_element_type(s, np.int32)
        cols.append(reshape(bdim_to_front(s, d, size), (size, 1)))
    return concatenate(cols, 1)


@dynamic_slice_p.def_batch
def _dynamic_slice_batch(args, bdims, *, slice_sizes):
    (x, *starts), (d, *d_starts) = args, bdims
    if all(ds is None for ds in d_starts):
        starts.insert(d, _scalar(0, get_aval(starts[0]).dtype if starts else np.int32))
        sizes = list(slice_sizes)
        sizes.insert(d, get_aval(x).shape[d])
        return bind(dynamic_slice_p, x, *starts, slice_sizes=tuple(sizes)), d
    size = batch_size(args, bdims)
    shape = get_aval(x).shape if d is None else get_aval(x).shape[:d] + get_aval(x).shape[d + 1:]
    indices = _stacked_starts(starts, d_starts, size, shape, slice_sizes)
    ndim = len(shape)
    dn = GatherDimensionNumbers(offset_dims=tuple(range(ndim)), collapsed_slice_dims=(),
                                start_index_map=tuple(range(ndim)))
    return _gather_batch([x, indices], [d, 0], dimension_numbers=dn,
                         slice_sizes=tuple(slice_sizes), mode="clip", fill_value=None)


@dynamic_update_slice_p.def_batch
def _dynamic_update_slice_batch(args, bdims):
    (x, update, *starts), (d_x, d_u, *d_starts) = args, bdims
    size = batch_size(args, bdims)
    if all(ds is None for ds in d_starts):
        x, update = bdim_to_front(x, d_x, size), bdim_to_front(update, d_u, size)
        zero = _scalar(0, get_aval(starts[0]).dtype if starts else np.int32)
        return bind(dynamic_update_slice_p, x, update, zero, *starts), 0
    x_aval, u_aval = get_aval(x), get_aval(update)
    shape = x_aval.shape if d_x is None else x_aval.shape[:d_x] + x_aval.shape[d_x + 1:]
    window = u_aval.shape if d_u is None else u_aval.shape[:d_u] + u_aval.shape[d_u + 1:]
    indices = _stacked_starts(starts, d_starts, size, shape, window)
    ndim = len(shape)
    dn = ScatterDimensionNumbers(update_window_dims=tuple(range(ndim)), inserted_window_dims=(),
                                 scatter_dims_to_operand_dims=tuple(range(ndim)))
    return _scatter_batcher(scatter_p, [x, indices, update], [d_x, 0, d_u],
                            dimension_numbers=dn, mode="clip")
