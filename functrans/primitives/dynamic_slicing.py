"""Dynamic slicing: ``dynamic_slice`` and ``dynamic_update_slice``, windows of a
static size at start positions known only at run time, with their wrappers
(``dynamic_slice_in_dim``, ``dynamic_index_in_dim``, ``dynamic_update_*``) and
every rule.

Semantics, as in XLA and JAX: each start is clamped so the whole window is in
bounds (they never fail on values, which may be unknown while tracing). The lax
wrappers first wrap negative starts once.

Autodiff: dynamic_slice is linear in the operand, dynamic_update_slice in the
operand and the update together; start indices are integers (tangent Zero,
cotangent None). Both clamp their starts identically for equal window sizes,
so each is the other's transpose with the same start operands (bound directly:
the lax wrappers would wrap negative starts a second time).

vmap: with unmapped starts the batch axis is one more axis, sliced whole
(start 0); a batched start turns the op into a gather / scatter in mode
"clip", whose clamping is theirs (``gather_scatter.py``).

jit: XLA's dynamic_slice / dynamic_update_slice clamp exactly as we do, but
StableHLO wants all start indices of one integer type; mixed types are clamped
in their own type and then converted to int32 (exact, as the clamped values
fit).
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes
from ..array import _new_array
from ..core import Primitive, ShapedArray, Tracer, bind, get_aval
from ..interpreters.batching import batch_size, bdim_to_front
from ..interpreters.lowering import i64_array
from ..interpreters.reverse import is_undefined
from . import elementwise as ew
from ._rules import INTEGRAL, check_dtype, check_same_dtypes, lax_operands, normalize_axis
from ._slicing_common import _aval, _linear_jvp, _scalar, _static_ints, _zeros
from .gather_scatter import (GatherDimensionNumbers, ScatterDimensionNumbers, _gather_batch,
                             _scatter_batcher, scatter_p)
from .shape import concatenate, expand_dims, reshape, squeeze


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


# --- dynamic_slice --------------------------------------------------------------------------

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
    axis = normalize_axis("dynamic_index_in_dim", axis, get_aval(operand).ndim)
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


_linear_jvp(dynamic_slice_p, (0,))


@dynamic_slice_p.def_transpose
def _dynamic_slice_transpose(ct, x, *starts, slice_sizes):
    # dynamic_update_slice clamps its starts exactly as dynamic_slice did.
    zeros = _zeros(x.aval.shape, get_aval(ct).dtype)
    return [bind(dynamic_update_slice_p, zeros, ct, *starts)] + [None] * len(starts)


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


def _start_operands(ctx, starts, avals, shape, sizes):
    """The start operands with one integer type, as StableHLO requires."""
    if len({a.dtype for a in avals}) <= 1:
        return list(starts), list(avals)
    i32 = ShapedArray((), np.int32)
    out = []
    for s, a, d, n in zip(starts, avals, shape, sizes):
        # Clamped first (as XLA would), the value fits int32 exactly.
        hi = min(d - n, int(dtypes.iinfo(a.dtype).max))
        s = ctx.op("stablehlo.clamp", [ctx.constant(0, a), s, ctx.constant(hi, a)], [a, a, a], a)
        out.append(ctx.convert(s, a, np.int32))
    return out, [i32] * len(out)


@dynamic_slice_p.def_lower
def _dynamic_slice_lower(ctx, x, *starts, slice_sizes):
    x_aval, *s_avals = ctx.avals_in
    starts, s_avals = _start_operands(ctx, starts, s_avals, x_aval.shape, slice_sizes)
    return ctx.op("stablehlo.dynamic_slice", [x] + starts, [x_aval] + s_avals, ctx.avals_out[0],
                  f"slice_sizes = {i64_array(slice_sizes)}")


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
    nd = get_aval(operand).ndim
    axis = normalize_axis("dynamic_update_index_in_dim", axis, nd)
    if get_aval(update).ndim == nd - 1:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis)


_linear_jvp(dynamic_update_slice_p, (0, 1))


@dynamic_update_slice_p.def_transpose
def _dynamic_update_slice_transpose(ct, x, update, *starts):
    # The operand's elements under the window were overwritten (cotangent 0);
    # the update's cotangent is the window of ct.
    update_shape = _aval(update).shape
    dtype = get_aval(ct).dtype
    t_x = t_update = None
    if is_undefined(x):
        t_x = bind(dynamic_update_slice_p, ct, _zeros(update_shape, dtype), *starts)
    if is_undefined(update):
        t_update = bind(dynamic_slice_p, ct, *starts, slice_sizes=update_shape)
    return [t_x, t_update] + [None] * len(starts)


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


@dynamic_update_slice_p.def_lower
def _dynamic_update_slice_lower(ctx, x, update, *starts):
    x_aval, u_aval, *s_avals = ctx.avals_in
    starts, s_avals = _start_operands(ctx, starts, s_avals, x_aval.shape, u_aval.shape)
    return ctx.op("stablehlo.dynamic_update_slice", [x, update] + starts,
                  [x_aval, u_aval] + s_avals, ctx.avals_out[0])
