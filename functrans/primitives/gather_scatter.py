"""Gather and scatter: ``gather``, ``scatter`` (overwrite) and ``scatter_add``, with
XLA's semantics, their wrappers and every rule, and the machinery every scatter
shares (``scatter_combine.py`` builds scatter_mul/min/max on it).

Index semantics, as in XLA and JAX (the index vector dimension is always the
last dimension of ``indices``; parameters are static and hashable, tuples and
NamedTuples of tuples):

* ``gather`` reads, for each index vector of ``indices``, a window of
  ``slice_sizes`` starting there. Modes ``"clip"`` and ``"promise_in_bounds"``
  (the default) clamp each start into bounds; they differ in the transpose, as
  in JAX: "clip" sends the cotangent of a clamped window to where it was read,
  "promise_in_bounds" drops it (XLA's scatter skips an out-of-bounds window),
  so ``x[i]`` for an array ``i`` out of bounds reads the clamped element but
  gets no gradient there. Mode ``"fill"`` returns ``fill_value`` for a window
  that would not fit.
* ``scatter*`` write a window of ``updates`` at each index vector. Mode
  ``"drop"`` (the default; also "fill" and "promise_in_bounds") skips a window
  that would not fit; mode ``"clip"`` clamps its start. Duplicate indices
  accumulate for add/mul/min/max; for a plain scatter one of the duplicates
  wins.

Autodiff. gather is linear in the operand, scatter_add and scatter in the
operand and the updates together; indices get a Zero tangent and a None
cotangent. A gather in mode "fill" has tangent 0 in a filled window, and its
transpose (a scatter_add in mode "drop") drops exactly those windows; "clip"
pairs with "clip"; "promise_in_bounds" reads as "clip" does but, as in JAX,
transposes to a "drop" scatter_add, so a clamped window gets no cotangent (jvp
and vjp disagree there, as JAX's do). ``scatter`` (overwrite) with duplicate
indices keeps one of the updates that hit an element; its rules use JAX's
scheme: scatter a distinct id per update window, gather the ids back, and keep
only the operand elements no update reached and the update elements whose id
won (``_winner_masks``). The jvp's primal output and tangent are then
scatter_adds of the masked values, so they agree on the winner even where a
backend's choice among duplicates is not deterministic; the transpose masks
the cotangent the same way, exact with duplicates.

vmap, as JAX did before StableHLO had batching dims: a batched operand gets the
batch axis as a leading window dim (read or written whole); when the indices
are batched too, the operand's batch axis becomes a collapsed (gather) or
inserted (scatter) dim, and each index vector gets its example's number as a
new first entry, so example b reads and writes only slice b.

jit. Gather modes "clip" and "promise_in_bounds" are XLA's native clamping;
mode "fill" (XLA has none) gathers clamped and then selects ``fill_value`` for
every window whose start does not fit, the same test as the eager impl.
Scatter mode "drop" is XLA's native behaviour; mode "clip" clamps the indices
first. An index vector of length 0 (every window starts at 0) is rewritten to
a length-1 vector of zeros: XLA's CPU scatter mishandles the empty form. The
combine region on bool is the logical op numpy's ufunc gives (or for add).
``scatter`` with duplicate indices: XLA applies the updates in an unspecified
order (on GPU not even deterministically), so which duplicate wins may differ
from eager mode, where the last one wins.
"""

from __future__ import annotations

import builtins
import math
from typing import NamedTuple

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, Tracer, bind, get_aval, is_scalar_literal
from ..interpreters.batching import batch_size, bdim_to_front, moveaxis
from ..interpreters.jvp import Zero, instantiate, tangent_aval
from ..interpreters.lowering import i64_array
from ..interpreters.reverse import is_undefined
from . import elementwise as ew
from ._rules import INTEGRAL, check_dtype, check_same_dtypes, lax_operands
from ._slicing_common import (_BOOL, _aval, _check_increasing, _check_index_map,
                              _clamp_indices, _dnums_attr, _full_like, _linear_jvp, _scalar,
                              _static_ints, _window_indices, _windows_fit, _zeros)
from .shape import broadcast_in_dim, broadcasted_iota, concatenate, iota, reshape


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


# --- vmap: shared by gather and scatter -------------------------------------------------------


def _shift(dims, by=1) -> tuple:
    return tuple(d + by for d in dims)


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


# --- gather ---------------------------------------------------------------------------------


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


def _gather_jvp(primals, tangents, *, dimension_numbers, slice_sizes, mode, fill_value):
    x, indices = primals
    ans = bind(gather_p, x, indices, dimension_numbers=dimension_numbers,
               slice_sizes=slice_sizes, mode=mode, fill_value=fill_value)
    t = tangents[0]
    if type(t) is Zero:
        return ans, Zero(tangent_aval(get_aval(ans)))
    # A filled (out-of-bounds) window is constant: its tangent is 0.
    t_out = bind(gather_p, t, indices, dimension_numbers=dimension_numbers,
                 slice_sizes=slice_sizes, mode=mode, fill_value=0 if mode == "fill" else None)
    return ans, t_out


gather_p.def_jvp(_gather_jvp)


def _scatter_dnums_of_gather(dn: GatherDimensionNumbers) -> ScatterDimensionNumbers:
    return ScatterDimensionNumbers(update_window_dims=dn.offset_dims,
                                   inserted_window_dims=dn.collapsed_slice_dims,
                                   scatter_dims_to_operand_dims=dn.start_index_map)


@gather_p.def_transpose
def _gather_transpose(ct, x, indices, *, dimension_numbers, slice_sizes, mode, fill_value):
    assert is_undefined(x) and not is_undefined(indices)
    zeros = _zeros(x.aval.shape, get_aval(ct).dtype)
    t_x = bind(scatter_add_p, zeros, indices, ct,
               dimension_numbers=_scatter_dnums_of_gather(dimension_numbers),
               mode="clip" if mode == "clip" else "drop")  # see the module docstring
    return [t_x, None]


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


@gather_p.def_lower
def _gather_lower(ctx, operand, indices, *, dimension_numbers, slice_sizes, mode, fill_value):
    op_aval, idx_aval = ctx.avals_in
    out = ctx.avals_out[0]
    dn = dimension_numbers
    dnums = _dnums_attr("gather", [("offset_dims", dn.offset_dims),
                                   ("collapsed_slice_dims", dn.collapsed_slice_dims),
                                   ("start_index_map", dn.start_index_map),
                                   ("index_vector_dim", idx_aval.ndim - 1)])
    # XLA clamps each start into [0, size - window]: modes "clip" and
    # "promise_in_bounds" as they are.
    gathered = ctx.op("stablehlo.gather", [operand, indices], [op_aval, idx_aval], out,
                      f"dimension_numbers = {dnums}, indices_are_sorted = false, "
                      f"slice_sizes = {i64_array(slice_sizes)}")
    if mode != "fill" or not dn.start_index_map:
        return gathered
    his = [op_aval.shape[d] - slice_sizes[d] for d in dn.start_index_map]
    fits = _windows_fit(ctx, indices, idx_aval, his)
    batch_out = [d for d in range(out.ndim) if d not in dn.offset_dims]
    fits = ctx.broadcast(fits, ShapedArray(idx_aval.shape[:-1], _BOOL), out.shape, batch_out)
    fill = _default_fill_value(out.dtype) if fill_value is None else fill_value
    with np.errstate(invalid="ignore"):  # the same conversion as the eager impl
        fill = np.array(fill).astype(out.dtype)
    return ctx.op("stablehlo.select", [fits, gathered, ctx.constant(fill, out)],
                  [out.update(dtype=_BOOL), out, out], out)


# --- the scatter family: what every scatter shares --------------------------------------------


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


def _def_scatter_lower(prim, ops, complex_combine=None):
    """Registers ``prim``'s lower rule: one stablehlo.scatter whose region combines with
    ``ops`` = (op, op on bool), or overwrites (None); ``complex_combine(inner, old, new,
    aval)`` replaces ``ops`` on complex numbers."""
    def rule(ctx, operand, indices, updates, *, dimension_numbers, mode):
        op_aval, idx_aval, upd_aval = ctx.avals_in
        out = ctx.avals_out[0]
        dn = dimension_numbers
        window_dims, inserted, index_map = dn
        window = _scatter_window(prim.name, op_aval, idx_aval, upd_aval, dn)
        scalar_op = op_aval.ndim == 0
        if idx_aval.shape[-1] == 0:
            # Every window starts at 0. XLA's CPU scatter mishandles empty index
            # vectors, so give each one entry, a 0 for operand dim 0 (a rank-0
            # operand becomes shape (1,), its dim 0 an inserted window dim).
            if scalar_op:
                op_aval1 = ShapedArray((1,), op_aval.dtype)
                operand = ctx.op("stablehlo.reshape", [operand], [op_aval], op_aval1)
                op_aval, inserted = op_aval1, (0,)
            idx_aval = ShapedArray(idx_aval.shape[:-1] + (1,), np.int32)
            indices, index_map = ctx.constant(0, idx_aval), (0,)
        elif mode == "clip":
            his = [op_aval.shape[d] - window[d] for d in index_map]
            indices = _clamp_indices(ctx, indices, idx_aval, his)
        scalar = ShapedArray((), op_aval.dtype)

        def body(inner, old, new):
            if ops is None:
                return [new], [scalar]
            if complex_combine is not None and dtypes.is_complex(scalar.dtype):
                return [complex_combine(inner, old, new, scalar)], [scalar]
            name = ops[1] if scalar.dtype == _BOOL else ops[0]
            return [inner.op(name, [old, new], [scalar] * 2, scalar)], [scalar]

        region = ctx.region([scalar, scalar], body)
        dnums = _dnums_attr("scatter", [("update_window_dims", window_dims),
                                        ("inserted_window_dims", inserted),
                                        ("scatter_dims_to_operand_dims", index_map),
                                        ("index_vector_dim", idx_aval.ndim - 1)])
        res = ctx.op("stablehlo.scatter", [operand, indices, updates],
                     [op_aval, idx_aval, upd_aval], op_aval,
                     f"scatter_dimension_numbers = {dnums}, indices_are_sorted = false, "
                     "unique_indices = false", [region])
        if scalar_op:
            res = ctx.op("stablehlo.reshape", [res], [op_aval], out)
        return res
    prim.def_lower(rule)
    return rule


def _inverse_gather(operand, indices, updates_shape, dn: ScatterDimensionNumbers, mode,
                    fill_value=0):
    """The gather that reads back, per update element, the operand element it was
    scattered to (``fill_value`` for a window a "drop" scatter dropped).
    """
    sizes = iter(updates_shape[d] for d in dn.update_window_dims)
    slice_sizes = tuple(1 if d in dn.inserted_window_dims else next(sizes)
                        for d in range(get_aval(operand).ndim))
    gdn = GatherDimensionNumbers(offset_dims=dn.update_window_dims,
                                 collapsed_slice_dims=dn.inserted_window_dims,
                                 start_index_map=dn.scatter_dims_to_operand_dims)
    gmode = "clip" if mode == "clip" else "fill"
    return bind(gather_p, operand, indices, dimension_numbers=gdn, slice_sizes=slice_sizes,
                mode=gmode, fill_value=fill_value if gmode == "fill" else None)


def _scatter_add(operand, indices, updates, dn, mode):
    return bind(scatter_add_p, operand, indices, updates, dimension_numbers=dn, mode=mode)


# --- scatter_add ----------------------------------------------------------------------------

scatter_add_p = _scatter_primitive("scatter_add", np.add)
scatter_add = _scatter_wrapper(scatter_add_p, "added (duplicates accumulate)", "[6.0, 1.0, 14.0]")
_linear_jvp(scatter_add_p, (0, 2))


@scatter_add_p.def_transpose
def _scatter_add_transpose(ct, x, indices, updates, *, dimension_numbers, mode):
    assert not is_undefined(indices)
    t_x = ct if is_undefined(x) else None
    t_updates = None
    if is_undefined(updates):
        t_updates = _inverse_gather(ct, indices, updates.aval.shape, dimension_numbers, mode)
    return [t_x, None, t_updates]


_def_scatter_batch(scatter_add_p)
_def_scatter_lower(scatter_add_p, ("stablehlo.add", "stablehlo.or"))


# --- scatter (overwrite) --------------------------------------------------------------------

scatter_p = _scatter_primitive("scatter", None)
scatter = _scatter_wrapper(scatter_p, "written (one of duplicate indices wins: the last "
                           "one in eager mode)", "[5.0, 1.0, 7.0]")


def _winner_masks(operand_shape, indices, updates_shape, dn, mode):
    """Which operand elements no update reached, and which update elements won.

    Each update window gets an id (1, 2, ...); scattering the ids with the
    scatter's own indices and mode, then gathering them back, tells each
    update element whether it is the one its target kept.
    """
    ids_shape = tuple(1 if d in dn.update_window_dims else n
                      for d, n in enumerate(updates_shape))
    num_ids = math.prod(ids_shape)
    id_dtype = dtypes.int32
    ids = ew.add(reshape(iota(id_dtype, num_ids), ids_shape), _scalar(1, id_dtype))
    ids = broadcast_in_dim(ids, tuple(updates_shape), tuple(range(len(updates_shape))))
    scattered = bind(scatter_p, _zeros(operand_shape, id_dtype), indices, ids,
                     dimension_numbers=dn, mode=mode)
    untouched = ew.eq(scattered, _full_like(scattered, 0))
    won = ew.eq(ids, _inverse_gather(scattered, indices, updates_shape, dn, mode))
    return untouched, won


def _mask(which, x):
    return ew.select(which, x, _full_like(x, 0))


def _scatter_jvp(primals, tangents, *, dimension_numbers, mode):
    x, indices, updates = primals
    t_x, _, t_updates = tangents
    if type(t_x) is Zero and type(t_updates) is Zero:
        ans = bind(scatter_p, x, indices, updates, dimension_numbers=dimension_numbers,
                   mode=mode)
        return ans, Zero(tangent_aval(get_aval(ans)))
    t_x, t_updates = instantiate(t_x), instantiate(t_updates)
    dn = dimension_numbers
    untouched, won = _winner_masks(get_aval(x).shape, indices, get_aval(updates).shape, dn, mode)
    ans = _scatter_add(_mask(untouched, x), indices, _mask(won, updates), dn, mode)
    t_out = _scatter_add(_mask(untouched, t_x), indices, _mask(won, t_updates), dn, mode)
    return ans, t_out


scatter_p.def_jvp(_scatter_jvp)


@scatter_p.def_transpose
def _scatter_transpose(ct, x, indices, updates, *, dimension_numbers, mode):
    # Only the elements no update reached pass the operand's cotangent on, and
    # only the winning update elements receive one (exact with duplicates).
    assert not is_undefined(indices)
    dn = dimension_numbers
    x_shape, updates_shape = _aval(x).shape, _aval(updates).shape
    untouched, won = _winner_masks(x_shape, indices, updates_shape, dn, mode)
    t_x = _mask(untouched, ct) if is_undefined(x) else None
    t_updates = None
    if is_undefined(updates):
        t_updates = _mask(won, _inverse_gather(ct, indices, updates_shape, dn, mode))
    return [t_x, None, t_updates]


_def_scatter_batch(scatter_p)
_def_scatter_lower(scatter_p, None)
