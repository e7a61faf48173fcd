"""Sorting primitives: ``sort`` (multi-operand, lexicographic on the first
``num_keys`` operands) and ``top_k``.

Order: numpy's and JAX's. NaNs sort to the end (whatever their sign), -0.0
and 0.0 compare equal, complex numbers sort lexicographically by (real,
imag). The sort is always stable, so equal keys keep their order; argsort
is ``sort`` of ``(keys, iota)`` with ``num_keys=1``.

Autodiff: both primitives permute (select) their inputs, so their tangents
are the input tangents read at the sorted (top-k) positions with a gather
(:func:`gather_along_axis`); top_k's indices have a zero tangent.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.jvp import Zero, tangent_aval, zeros_like_aval
from ._rules import ANY, ORDERED, check_dtype, normalize_axis
from .shape import broadcast_in_dim, broadcasted_iota, concatenate
from .slicing import GatherDimensionNumbers, gather

__all__ = ["sort", "sort_key_val", "top_k"]

_LOW_FLOATS = (dtypes.float16, dtypes.bfloat16)


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
