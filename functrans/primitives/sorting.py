"""Sorting primitives: ``sort`` (multi-operand, lexicographic on the first
``num_keys`` operands) and ``top_k``.

Order: numpy's and JAX's. NaNs sort to the end (whatever their sign), -0.0
and 0.0 compare equal, complex numbers sort lexicographically by (real,
imag). The sort is always stable, so equal keys keep their order; argsort
is ``sort`` of ``(keys, iota)`` with ``num_keys=1``.

Autodiff: both primitives permute (select) their inputs, so their tangents
are the input tangents read at the sorted (top-k) positions with a gather
(:func:`gather_along_axis`); top_k's indices have a zero tangent.

vmap: sort sorts along the shifted dimension (operands moved to one batch
axis); top_k keeps the batch axis unless it is the last one. jit: a stable
``stablehlo.sort`` whose comparator region implements the order above
(:func:`lower_order`); top_k is that sort, descending, then a slice.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.batching import batch_size, bdim_to_front, moveaxis
from ..interpreters.jvp import Zero, tangent_aval, zeros_like_aval
from ..interpreters.lowering import i64_array
from ._rules import ANY, ORDERED, check_dtype, normalize_axis
from .shape import broadcast_in_dim, broadcasted_iota, concatenate
from .gather_scatter import GatherDimensionNumbers, gather

__all__ = ["sort", "sort_key_val", "top_k"]

_LOW_FLOATS = dtypes.LOW_FLOATS


def _sort_key(x: np.ndarray) -> np.ndarray:
    # numpy's sort of bfloat16 (ml_dtypes) is not an order sort; float32 is exact.
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype in _LOW_FLOATS else x


def _stable_argsort(keys, axis: int) -> np.ndarray:
    """The stable permutation sorting ``keys`` lexicographically (first key first)."""
    if len(keys) == 1:
        return np.argsort(keys[0], axis=axis, kind="stable")
    # np.lexsort is stable and sorts by its *last* key first.
    return np.lexsort(keys[::-1], axis=axis)


# --- sort ----------------------------------------------------------------------------------------

sort_p = Primitive("sort", multiple_results=True)


@sort_p.def_abstract_eval
def _sort_abstract_eval(*operands: ShapedArray, dimension, is_stable, num_keys):
    if not operands:
        raise ValueError("sort needs at least one operand")
    shapes = {x.shape for x in operands}
    if len(shapes) > 1:
        shown = ", ".join(x.str_short() for x in operands)
        raise ValueError(f"sort: all operands must have the same shape, got {shown}")
    ref = operands[0]
    if type(dimension) is not int or not 0 <= dimension < ref.ndim:
        raise ValueError(f"sort: dimension {dimension!r} is out of bounds for operands of shape "
                         f"{ref.shape} (rank {ref.ndim}); 0-d arrays cannot be sorted")
    if type(num_keys) is not int or not 1 <= num_keys <= len(operands):
        raise ValueError(f"sort: num_keys must be between 1 and the number of operands "
                         f"({len(operands)}), got {num_keys!r}")
    for i, k in enumerate(operands[:num_keys]):
        check_dtype("sort", k, ANY, what=f"key {i}")
    return list(operands)


@sort_p.def_impl
def _sort_impl(*operands, dimension, is_stable, num_keys):
    # Always stable (is_stable=False only allows an unstable order; stable is one).
    if len(operands) == 1:
        x = np.asarray(operands[0])
        return [np.sort(_sort_key(x), axis=dimension, kind="stable").astype(x.dtype, copy=False)]
    perm = _stable_argsort([_sort_key(k) for k in operands[:num_keys]], dimension)
    return [np.take_along_axis(np.asarray(x), perm, axis=dimension) for x in operands]


def sort(operand, dimension: int = -1, is_stable: bool = True, num_keys: int = 1):
    """Sorts along ``dimension``; several operands sort together by their first keys.

    Args:
      operand: an array, or a tuple/list of arrays of one shape. The first
        ``num_keys`` are the keys, compared lexicographically; the others are
        permuted alongside.
      dimension: the axis to sort along.
      is_stable: accepted for lax compatibility; the sort is always stable.
      num_keys: how many leading operands are keys.

    Returns:
      The sorted array, or a tuple of arrays if ``operand`` is a sequence.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.sort(fnp.asarray([3.0, float("nan"), 1.0])).tolist()
        [1.0, 3.0, nan]
        >>> k, v = lax.sort((fnp.asarray([2, 1, 2]), fnp.asarray([0, 1, 2])))
        >>> v.tolist()
        [1, 0, 2]
    """
    if isinstance(operand, (tuple, list)):
        operands = tuple(operand)
        single = False
    else:
        operands = (operand,)
        single = True
    if not operands:
        raise ValueError("sort: pass at least one operand")
    ndim = get_aval(operands[0]).ndim
    dimension = normalize_axis("sort", int(dimension), ndim)
    out = bind(sort_p, *operands, dimension=dimension, is_stable=bool(is_stable),
               num_keys=int(num_keys))
    return out[0] if single else tuple(out)


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """Sorts ``keys`` along ``dimension`` and permutes ``values`` the same way.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> k, v = lax.sort_key_val(fnp.asarray([3, 1, 2]), fnp.asarray([10, 20, 30]))
        >>> v.tolist()
        [20, 30, 10]
    """
    return sort((keys, values), dimension, is_stable, num_keys=1)


# --- top_k ---------------------------------------------------------------------------------------

top_k_p = Primitive("top_k", multiple_results=True)


@top_k_p.def_abstract_eval
def _top_k_abstract_eval(x: ShapedArray, *, k):
    check_dtype("top_k", x, ORDERED)
    if x.ndim == 0:
        raise ValueError(f"top_k: the operand must have rank >= 1, got {x.str_short()}")
    if type(k) is not int or not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k must be between 0 and the size of the last axis "
                         f"({x.shape[-1]}) of operand {x.str_short()}, got {k!r}")
    shape = x.shape[:-1] + (k,)
    return [ShapedArray(shape, x.dtype, x.weak_type), ShapedArray(shape, dtypes.int32, False)]


@top_k_p.def_impl
def _top_k_impl(x, *, k):
    x = np.asarray(x)
    n = x.shape[-1]
    # A stable ascending sort of the reversed array, read backwards, is a
    # descending sort whose ties keep their original order (lower index first).
    # NaNs sort last, so they come out first: NaN counts as the largest.
    perm = np.argsort(_sort_key(x)[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
    idx = (n - 1) - perm
    return [np.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)]


def top_k(operand, k: int):
    """The ``k`` largest entries along the last axis, and their indices (int32).

    Ties go to the lower index; NaN counts as larger than every number.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> vals, idx = lax.top_k(fnp.asarray([1.0, 3.0, 2.0, 3.0]), 2)
        >>> vals.tolist(), idx.tolist()
        ([3.0, 3.0], [1, 3])
    """
    vals, idx = bind(top_k_p, operand, k=int(k))
    return vals, idx


# --- autodiff rules ------------------------------------------------------------------------------


def gather_along_axis(x, idx, axis: int):
    """``x`` read at integer positions ``idx`` along ``axis`` (numpy's take_along_axis).

    ``idx`` has ``x``'s rank and shape except, possibly, along ``axis``. A
    single gather with full index vectors (the other coordinates are iotas), so
    its transpose is a scatter-add and the rules using it stay differentiable.
    """
    idx_aval = get_aval(idx)
    nd, shape = idx_aval.ndim, idx_aval.shape
    if idx_aval.size == 0 or get_aval(x).size == 0:  # nothing to read (and no window fits)
        return zeros_like_aval(ShapedArray(shape, get_aval(x).dtype))
    full = shape + (1,)
    coords = [broadcast_in_dim(idx if d == axis else broadcasted_iota(idx_aval.dtype, shape, d),
                               full, tuple(range(nd)))
              for d in range(nd)]
    dims = tuple(range(nd))
    dnums = GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=dims,
                                   start_index_map=dims)
    return gather(x, concatenate(coords, nd), dnums, (1,) * nd)


def iota_dtype(n: int):
    return dtypes.int32 if n < np.iinfo(np.int32).max else dtypes.int64


@sort_p.def_jvp
def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    # Sorting permutes every operand the same way; an iota sorted along gives
    # the permutation, and each tangent is permuted by it (the keys decide the
    # order, so their tangents do not change it).
    shape = get_aval(primals[0]).shape
    iota = broadcasted_iota(iota_dtype(shape[dimension]), shape, dimension)
    out = bind(sort_p, *primals, iota, dimension=dimension, is_stable=is_stable,
               num_keys=num_keys)
    out, perm = out[:-1], out[-1]
    tangents_out = [Zero(tangent_aval(get_aval(o))) if type(t) is Zero
                    else gather_along_axis(t, perm, dimension)
                    for o, t in zip(out, tangents)]
    return out, tangents_out


@top_k_p.def_jvp
def _top_k_jvp(primals, tangents, *, k):
    (x,), (t,) = primals, tangents
    vals, idx = bind(top_k_p, x, k=k)
    t_vals = (Zero(tangent_aval(get_aval(vals))) if type(t) is Zero
              else gather_along_axis(t, idx, get_aval(x).ndim - 1))
    return [vals, idx], [t_vals, Zero(tangent_aval(get_aval(idx)))]


# --- lowering helpers (also used by reductions.py) ------------------------------------------------
#
# Scalar-or-tensor building blocks for comparator and reducer regions. Every
# function takes the operands' aval and returns a value name; predicates are i1
# tensors of the same shape.


def _compare_type(dtype) -> str:
    if dtypes.is_inexact(dtype):
        return "FLOAT"
    if dtype == dtypes.bool_ or dtypes.is_unsigned(dtype):
        return "UNSIGNED"  # i1 compared as signed would order True (-1) below False
    return "SIGNED"


def lower_compare(ctx, a, b, aval, direction: str):
    """``stablehlo.compare`` (EQ NE LT LE GT GE) of two values of ``aval``."""
    return ctx.op("stablehlo.compare", [a, b], [aval, aval],
                  ShapedArray(aval.shape, dtypes.bool_),
                  f"comparison_direction = #stablehlo<comparison_direction {direction}>, "
                  f"compare_type = #stablehlo<comparison_type {_compare_type(aval.dtype)}>")


def lower_logical(ctx, opname: str, *preds, shape=()):
    """``stablehlo.and``/``or`` of i1 predicates, or ``not`` of one."""
    aval = ShapedArray(shape, dtypes.bool_)
    if opname == "not":
        return ctx.op("stablehlo.not", list(preds), [aval], aval)
    out = preds[0]
    for p in preds[1:]:
        out = ctx.op(f"stablehlo.{opname}", [out, p], [aval, aval], aval)
    return out


def lower_select(ctx, pred, a, b, aval):
    """``pred ? a : b``."""
    return ctx.op("stablehlo.select", [pred, a, b],
                  [ShapedArray(aval.shape, dtypes.bool_), aval, aval], aval)


def lower_isnan(ctx, a, aval):
    """True where ``a`` is NaN (for complex: either part); None for exact dtypes."""
    if not dtypes.is_inexact(aval.dtype):
        return None
    if dtypes.is_complex(aval.dtype):
        re, im, part = _lower_parts(ctx, a, aval)
        return lower_logical(ctx, "or", lower_isnan(ctx, re, part), lower_isnan(ctx, im, part),
                             shape=aval.shape)
    return lower_compare(ctx, a, a, aval, "NE")


def _lower_parts(ctx, a, aval):
    part = ShapedArray(aval.shape, dtypes.real_dtype(aval.dtype))
    return (ctx.op("stablehlo.real", [a], [aval], part),
            ctx.op("stablehlo.imag", [a], [aval], part), part)


def lower_order(ctx, a, b, aval, nan_last: bool = True):
    """``(lt, eq)`` predicates of the total order sort and argmax use.

    NaN is above every number (``nan_last``) or below it, and NaNs are equal
    to each other; -0.0 equals 0.0; complex numbers compare by (real, imag),
    each part ordered that way (numpy's sort order).
    """
    if dtypes.is_complex(aval.dtype):
        ra, ia, part = _lower_parts(ctx, a, aval)
        rb, ib, _ = _lower_parts(ctx, b, aval)
        r_lt, r_eq = lower_order(ctx, ra, rb, part, nan_last)
        i_lt, i_eq = lower_order(ctx, ia, ib, part, nan_last)
        s = aval.shape
        lt = lower_logical(ctx, "or", r_lt, lower_logical(ctx, "and", r_eq, i_lt, shape=s), shape=s)
        return lt, lower_logical(ctx, "and", r_eq, i_eq, shape=s)
    lt = lower_compare(ctx, a, b, aval, "LT")
    eq = lower_compare(ctx, a, b, aval, "EQ")
    if not dtypes.is_inexact(aval.dtype):
        return lt, eq
    s = aval.shape
    a_nan, b_nan = lower_isnan(ctx, a, aval), lower_isnan(ctx, b, aval)
    if nan_last:   # a number is below a NaN
        nan_lt = lower_logical(ctx, "and", lower_logical(ctx, "not", a_nan, shape=s), b_nan, shape=s)
    else:          # a NaN is below a number
        nan_lt = lower_logical(ctx, "and", a_nan, lower_logical(ctx, "not", b_nan, shape=s), shape=s)
    return (lower_logical(ctx, "or", lt, nan_lt, shape=s),
            lower_logical(ctx, "or", eq, lower_logical(ctx, "and", a_nan, b_nan, shape=s), shape=s))


def _lexicographic_lt(ctx, pairs, avals, nan_last=True):
    """``a < b`` comparing several keys in turn: ``lt0 | (eq0 & (lt1 | (eq1 & ...)))``."""
    out = None
    for (a, b), aval in reversed(list(zip(pairs, avals))):
        lt, eq = lower_order(ctx, a, b, aval, nan_last)
        out = lt if out is None else lower_logical(
            ctx, "or", lt, lower_logical(ctx, "and", eq, out))
    return out


def lower_sort(ctx, operands, avals, dimension: int, num_keys: int, descending: bool = False):
    """A stable ``stablehlo.sort`` of ``operands`` by their first ``num_keys`` (NaNs last,
    or first when ``descending``: a NaN is the largest value either way)."""
    scalars = [ShapedArray((), a.dtype) for a in avals]
    arg_avals = [s for s in scalars for _ in range(2)]

    def comparator(c, *args):
        pairs = [(args[2 * i], args[2 * i + 1]) for i in range(num_keys)]
        if descending:
            pairs = [(b, a) for a, b in pairs]
        return [_lexicographic_lt(c, pairs, scalars[:num_keys])], [ShapedArray((), dtypes.bool_)]

    region = ctx.region(arg_avals, comparator)
    return ctx.op("stablehlo.sort", list(operands), list(avals), list(avals),
                  f"dimension = {dimension} : i64, is_stable = true", regions=[region])


# --- batch and lower rules -------------------------------------------------------------------------


@sort_p.def_batch
def _sort_batch(args, bdims, *, dimension, is_stable, num_keys):
    mapped = {d for d in bdims if d is not None}
    if len(mapped) == 1 and None not in bdims:
        d = mapped.pop()        # every operand mapped along one axis: sort as they are
    else:                       # sort needs equal shapes: batch axes first, unmapped broadcast
        size = batch_size(args, bdims)
        args = [bdim_to_front(x, bd, size) for x, bd in zip(args, bdims)]
        d = 0
    out = bind(sort_p, *args, dimension=dimension + (dimension >= d), is_stable=is_stable,
               num_keys=num_keys)
    return out, [d] * len(out)


@sort_p.def_lower
def _sort_lower(ctx, *operands, dimension, is_stable, num_keys):
    # Always stable: that is the impl's order, and is_stable=False only permits another.
    return lower_sort(ctx, operands, ctx.avals_in, dimension, num_keys)


@top_k_p.def_batch
def _top_k_batch(args, bdims, *, k):
    (x,), (d,) = args, bdims
    if d == get_aval(x).ndim - 1:   # top_k works on the last axis: keep the batch off it
        x, d = moveaxis(x, d, 0), 0
    vals, idx = bind(top_k_p, x, k=k)
    return [vals, idx], [d, d]


@top_k_p.def_lower
def _top_k_lower(ctx, x, *, k):
    # A stable descending sort of (x, iota) and a slice, not chlo.top_k: XLA's
    # top_k orders with the IEEE total order (-NaN lowest, -0.0 below 0.0),
    # while ours has every NaN above every number and -0.0 == 0.0, ties going
    # to the lower index.
    aval = ctx.avals_in[0]
    vals_aval, idx_aval = ctx.avals_out
    last = aval.ndim - 1
    iota_aval = ShapedArray(aval.shape, dtypes.int32)
    iota = ctx.op("stablehlo.iota", [], [], iota_aval, f"iota_dimension = {last} : i64")
    vals, idx = lower_sort(ctx, [x, iota], [aval, iota_aval], last, 1, descending=True)
    if k == aval.shape[-1]:
        return [vals, idx]
    attrs = (f"start_indices = {i64_array([0] * aval.ndim)}, "
             f"limit_indices = {i64_array(vals_aval.shape)}, strides = {i64_array([1] * aval.ndim)}")
    return [ctx.op("stablehlo.slice", [vals], [aval], vals_aval, attrs),
            ctx.op("stablehlo.slice", [idx], [iota_aval], idx_aval, attrs)]
