"""Order statistics and sorting of functrans.numpy: median, quantile,
percentile, sort, argsort, lexsort.

Sorts are stable and put NaNs last (first when descending); quantiles use
numpy's methods (linear interpolation by default) and JAX's dtype rules
(see ``_reductions.py``).
"""

from __future__ import annotations

import operator

import numpy as np

from .. import dtypes
from ..core import Tracer
from ..primitives import elementwise as ew
from ..primitives import reductions as rp
from ..primitives import shape as sp
from ..primitives import slicing
from ..primitives import sorting as srt
from . import _ufuncs as uf
from ._util import asarray, normalize_axis
from ._reductions import (_axes, _compute_dtype, _convert, _no_out, _operand, _float_dtype, _count)

__all__ = ["median", "quantile", "percentile", "sort", "argsort", "lexsort"]


# --- median, quantile, percentile ----------------------------------------------------------------

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _pick(sorted_x, index, qshape):
    """``sorted_x[..., index]`` for an integer array ``index`` of shape ``qshape``.

    Gather-free: an equality mask against an iota, a select, and a sum; the
    select keeps infinities and NaNs of unpicked elements out of the result.
    Result shape: ``qshape + sorted_x.shape[:-1]``.
    """
    full = tuple(qshape) + tuple(sorted_x.shape)
    nq = len(qshape)
    iota = sp.broadcasted_iota(index.dtype, full, len(full) - 1)
    idx = sp.broadcast_in_dim(index, full, tuple(range(nq)))
    vals = sp.broadcast_in_dim(sorted_x, full, tuple(range(nq, len(full))))
    picked = uf.where(uf.equal(iota, idx), vals, 0)
    return rp.reduce_sum_p.bind(picked, axes=(len(full) - 1,))


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, interpolation=None):
    """The ``q``-th quantiles (q in [0, 1]) over ``axis``, like numpy.quantile.

    Sorts along the reduced axes and interpolates between the two nearest
    ranks (``method``: linear, lower, higher, midpoint or nearest). A slice
    containing NaN gives NaN. The result has shape ``q.shape`` followed by the
    reduced shape of ``a``.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.quantile(fnp.asarray([1.0, 2.0, 3.0, 4.0]), 0.25).item()
        1.75
    """
    _no_out("quantile", out)
    if interpolation is not None:
        method = interpolation
    if method not in _METHODS:
        raise ValueError(f"quantile: method must be one of {_METHODS}, got {method!r}")
    a = _operand(a)
    if dtypes.is_complex(a.dtype):
        raise TypeError(f"quantile: complex input ({a.dtype}) has no order; pass the real part "
                        "or the absolute value")
    qv = None if isinstance(q, Tracer) else np.asarray(q)
    if qv is not None and qv.size and (np.any(qv < 0) or np.any(qv > 1)):
        raise ValueError(f"quantile: q must be in [0, 1], got {q!r}")
    dtype = _float_dtype(a.dtype)  # q does not promote a, as in jax.numpy
    compute = _compute_dtype(dtype)
    q = asarray(q, compute)
    axes = _axes("quantile", axis, a.ndim)
    shape = tuple(a.shape)
    kept = [i for i in range(a.ndim) if i not in axes]
    n = _count(shape, axes)
    x = sp.transpose(_convert(a, compute), tuple(kept) + axes)
    x = sp.reshape(x, tuple(shape[i] for i in kept) + (n,))
    qshape = tuple(q.shape)
    if n == 0:  # JAX raises a TypeError here too (numpy warns and gives NaN)
        raise TypeError(f"quantile: cannot take a quantile of an empty slice: the reduced "
                         f"axes {axes} of an array of shape {shape} have no elements")
    res = _interpolate(srt.sort(x, dimension=-1), q, qv, n, method)
    has_nan = rp.reduce_or_p.bind(uf.isnan(x), axes=(x.ndim - 1,))
    res = uf.where(has_nan, float("nan"), res)
    if keepdims:
        res = sp.reshape(res, qshape + tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return _convert(res, dtype)


def _pick_static(s, index):
    """``s[..., index]`` for a concrete integer array ``index``: one slice per value."""
    slices = {}
    for i in sorted(set(index.ravel().tolist())):
        slices[i] = slicing.index_in_dim(s, i, axis=s.ndim - 1, keepdims=False)
    if index.ndim == 0:
        return slices[int(index)]
    kept = tuple(s.shape[:-1])
    parts = [sp.reshape(slices[i], (1,) + kept) for i in index.ravel().tolist()]
    return sp.reshape(sp.concatenate(parts, 0), index.shape + kept)


def _interpolate(s, q, qv, n, method):
    """Quantiles ``q`` of the sorted last axis of ``s`` (length n > 0).

    With a concrete ``qv`` the ranks and weights are computed here, in float64
    like numpy, and the values are read with static slices; a traced q reads
    them with the gather-free :func:`_pick`.
    """
    qshape = tuple(q.shape)
    if qv is not None:
        pos = np.asarray(qv, np.float64) * (n - 1)
        lo, hi, w = np.floor(pos), np.ceil(pos), None
        near = np.rint(pos)  # numpy rounds the position half to even

        def pick(i):
            return _pick_static(s, np.clip(i, 0, n - 1).astype(np.int64))
        if method == "linear":
            w = asarray((pos - lo).astype(s.dtype))
    else:
        pos = uf.multiply(q, n - 1)
        lo, hi, near = uf.floor(pos), uf.ceil(pos), uf.rint(pos)

        def pick(i):
            return _pick(s, ew.convert_element_type(uf.clip(i, 0, n - 1), dtypes.int32), qshape)
        if method == "linear":
            w = uf.subtract(pos, lo)
    if method in ("nearest", "lower", "higher"):
        return pick({"nearest": near, "lower": lo, "higher": hi}[method])
    v_lo, v_hi = pick(lo), pick(hi)
    if method == "midpoint":
        return uf.multiply(uf.add(v_lo, v_hi), 0.5)
    w = sp.broadcast_in_dim(w, tuple(v_lo.shape), tuple(range(len(qshape))))
    # numpy's lerp: from the nearer end, so w = 0 and w = 1 give the ends exactly.
    diff = uf.subtract(v_hi, v_lo)
    return uf.where(uf.less(w, 0.5), uf.add(v_lo, uf.multiply(diff, w)),
                    uf.subtract(v_hi, uf.multiply(diff, uf.subtract(1, w))))


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, interpolation=None):
    """The ``q``-th percentiles (q in [0, 100]) over ``axis``; see :func:`quantile`.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.percentile(fnp.asarray([1.0, 2.0, 3.0]), 50).item()
        2.0
    """
    qv = None if isinstance(q, Tracer) else np.asarray(q)
    if qv is not None and qv.size and (np.any(qv < 0) or np.any(qv > 100)):
        raise ValueError(f"percentile: q must be in [0, 100], got {q!r}")
    # A concrete q stays float64 (numpy's precision for the ranks).
    q = qv / 100.0 if qv is not None else uf.true_divide(q, 100)
    return quantile(a, q, axis, out, overwrite_input, method, keepdims,
                    interpolation=interpolation)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median over ``axis`` (the mean of the two middle values for even counts).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.median(fnp.asarray([3.0, 1.0, 4.0, 2.0])).item()
        2.5
    """
    return quantile(a, 0.5, axis, out, overwrite_input, "midpoint", keepdims)


# --- sorting -------------------------------------------------------------------------------------


def _sort_operand(name, a, axis, order):
    if order is not None:
        raise NotImplementedError(f"{name}: order= (structured arrays) is not supported")
    a = asarray(a)
    if axis is None:
        return sp.reshape(a, (a.size,)), 0
    if a.ndim == 0:
        raise ValueError(f"{name}: axis {axis} is out of bounds for a 0-d array; use axis=None")
    return a, normalize_axis(name, operator.index(axis), a.ndim)


def sort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    """A sorted copy of ``a`` along ``axis`` (None: flattened). NaNs sort last.

    Args:
      a: array-like.
      axis: the axis to sort along, or None to sort the flattened array.
      kind, stable: accepted for numpy compatibility; the sort is always stable.
      descending: sort from largest to smallest (NaNs first).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.sort(fnp.asarray([3, 1, 2])).tolist()
        [1, 2, 3]
    """
    a, axis = _sort_operand("sort", a, axis, order)
    res = srt.sort(a, dimension=axis)
    return sp.rev(res, (axis,)) if descending else res


def argsort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    """Indices that sort ``a`` along ``axis`` (stable: equal values keep their order).

    With ``descending=True`` equal values still keep their original order,
    like jax.numpy.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.argsort(fnp.asarray([3, 1, 2])).tolist()
        [1, 2, 0]
    """
    a, axis = _sort_operand("argsort", a, axis, order)
    iota = sp.broadcasted_iota(dtypes.default_int(), tuple(a.shape), axis)
    if not descending:
        return srt.sort((a, iota), dimension=axis, num_keys=1)[1]
    # Sorting the reversed array and reading the result backwards keeps ties in
    # their original order.
    idx = srt.sort((sp.rev(a, (axis,)), iota), dimension=axis, num_keys=1)[1]
    return uf.subtract(a.shape[axis] - 1, sp.rev(idx, (axis,)))


def lexsort(keys, axis=-1):
    """Indices that sort by several keys; the *last* key is the primary one.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.lexsort((fnp.asarray([1, 0, 1]), fnp.asarray([2, 2, 1]))).tolist()
        [2, 1, 0]
    """
    keys = [asarray(k) for k in keys]
    if not keys:
        raise TypeError("lexsort: need at least one key")
    shapes = {tuple(k.shape) for k in keys}
    if len(shapes) > 1:
        raise ValueError(f"lexsort: all keys must have the same shape, got {sorted(shapes)}")
    shape = tuple(keys[0].shape)
    axis = normalize_axis("lexsort", operator.index(axis), len(shape))
    iota = sp.broadcasted_iota(dtypes.default_int(), shape, axis)
    return srt.sort(tuple(keys[::-1]) + (iota,), dimension=axis, num_keys=len(keys))[-1]
