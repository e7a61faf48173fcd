"""Reductions of functrans.numpy: sum, prod, max, min, all, any, mean, var, std,
argmax, argmin, cumsum, cumprod, the nan* variants, average, ptp,
count_nonzero. (Order statistics and sorting: ``_sorting.py``.)

numpy's signatures and semantics, with JAX's dtype rules (checked against
jax.numpy):

* ``sum``/``prod`` of bool and narrow integers give the default integer
  (int32; int64 with x64), narrow unsigned ones the default unsigned.
* ``mean``/``var``/``std``/``median``/``quantile`` of bool and integers of up
  to 32 bits give float32 (float64 for int64), as jax.numpy's
  ``to_inexact_dtype``; ``var`` and ``std`` of complex are real.
* float16/bfloat16 accumulate in float32 and round once at the end.
* Results are never weakly typed, even for Python scalar inputs.
* ``max``/``min`` of an empty axis raise ValueError (without ``initial``),
  like numpy; ``argmax`` puts NaN first; sorts put NaNs last and are stable.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from .. import dtypes, eager
from ..primitives import elementwise as ew
from ..primitives import reductions as rp
from ..primitives import cumulative as cp
from ..primitives import shape as sp
from . import _ufuncs as uf
from ._util import asarray, broadcast_shapes, broadcast_to, normalize_axes, normalize_axis

__all__ = ["sum", "prod", "product", "max", "amax", "min", "amin", "all", "any", "mean", "var",
           "std", "argmax", "argmin", "cumsum", "cumprod", "nansum", "nanprod", "nanmean",
           "nanmax", "nanmin", "nanvar", "nanstd", "average", "ptp", "count_nonzero"]



# --- helpers -------------------------------------------------------------------------------------


def _operand(a):
    """``a`` as an Array or tracer with a strong type (reductions are never weak)."""
    a = asarray(a)
    if a.weak_type:
        a = ew.convert_element_type(a, a.dtype, weak_type=False)
    return a


def _no_out(name, out):
    if out is not None:
        raise NotImplementedError(f"{name}: out= is not supported: functrans arrays are "
                                  "immutable; use the returned array")


def _axes(name, axis, ndim) -> tuple:
    if axis is not None and not isinstance(axis, (int, np.integer, tuple, list)):
        raise TypeError(f"{name}: axis must be None, an int or a tuple of ints, got {axis!r}")
    return tuple(sorted(normalize_axes(name, axis, ndim)))


def _keepdims(out, shape, axes):
    return sp.reshape(out, tuple(1 if i in axes else d for i, d in enumerate(shape)))


def _convert(x, dtype):
    return ew.convert_element_type(x, dtype) if x.dtype != dtype else x


_compute_dtype = dtypes.compute_dtype  # float16/bfloat16 accumulate in float32, as JAX does


def _mask(name, where, shape):
    """``where`` as a bool array of ``shape`` (it must broadcast to the operand)."""
    mask = asarray(where)
    if mask.dtype != dtypes.bool_:
        mask = uf.not_equal(mask, 0)
    if broadcast_shapes(name, tuple(mask.shape), shape) != tuple(shape):
        raise ValueError(f"{name}: where= of shape {tuple(mask.shape)} does not broadcast to "
                         f"the operand's shape {tuple(shape)}")
    return broadcast_to(mask, shape)


def _count(shape, axes) -> int:
    return math.prod(shape[i] for i in axes)


def _finish(out, dtype, a_shape, axes, keepdims):
    out = _convert(out, dtype)
    return _keepdims(out, a_shape, axes) if keepdims else out


def _sum_dtype(dtype, promote_integers=True):
    """jnp's accumulator dtype for sum/prod: narrow ints widen to the default int."""
    if not promote_integers:
        return dtype
    if dtype == dtypes.bool_:
        return dtypes.default_int()
    if dtypes.is_int(dtype):
        default = dtypes.default_int()
        if dtypes.is_unsigned(dtype):
            default = dtypes.uint64 if default == dtypes.int64 else dtypes.uint32
        return default if dtype.itemsize < default.itemsize else dtype
    return dtype


_float_dtype = dtypes.to_inexact


# --- sum, prod -----------------------------------------------------------------------------------


def _sum_like(name, prim, bool_prim, combine, identity, a, axis, dtype, out, keepdims,
              initial, where, promote_integers):
    _no_out(name, out)
    a = _operand(a)
    axes = _axes(name, axis, a.ndim)
    dtype = dtypes.canonicalize(dtype) if dtype is not None else _sum_dtype(a.dtype,
                                                                             promote_integers)
    if dtype == dtypes.bool_:
        # numpy's bool sum is "any" and its bool product "all".
        prim, identity = bool_prim, bool(identity)
        combine = uf.logical_or if prim is rp.reduce_or_p else uf.logical_and
    compute = _compute_dtype(dtype)
    x = _convert(a, compute)
    if where is not None:
        x = uf.where(_mask(name, where, x.shape), x, identity)
    res = prim.bind(x, axes=axes)
    if initial is not None:
        res = combine(res, asarray(initial, compute))
    return _finish(res, dtype, a.shape, axes, keepdims)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,  # noqa: A001
        promote_integers=True):
    """Sum of elements over ``axis`` (None: all), like numpy.sum.

    Args:
      a: array-like.
      axis: None, an int or a tuple of ints (negative counts from the end).
      dtype: the accumulator and result dtype. By default bool and narrow
        integers sum in the default integer (int32), like jax.numpy.
      keepdims: keep the reduced axes with size 1.
      initial: a value added to the sum.
      where: a bool mask (broadcast to ``a``) of the elements to include.
      promote_integers: False keeps narrow integer dtypes.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.sum(fnp.asarray([[1, 2], [3, 4]]), axis=0).tolist()
        [4, 6]
    """
    if dtype is None and out is None and initial is None and where is None:
        fast = eager.sum_(a, axis, keepdims)
        if fast is not None:
            return fast
    return _sum_like("sum", rp.reduce_sum_p, rp.reduce_or_p, uf.add, 0, a, axis, dtype, out,
                     keepdims, initial, where, promote_integers)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
         promote_integers=True):
    """Product of elements over ``axis``, like numpy.prod (dtypes as in :func:`sum`).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.prod(fnp.asarray([1.0, 2.0, 3.0])).item()
        6.0
    """
    return _sum_like("prod", rp.reduce_prod_p, rp.reduce_and_p, uf.multiply, 1, a, axis, dtype,
                     out, keepdims, initial, where, promote_integers)


product = prod


# --- max, min, all, any --------------------------------------------------------------------------


def _lowest(dtype):
    return rp._max_identity(dtype)  # the value below every other: -inf, int min, False


def _highest(dtype):
    return rp._min_identity(dtype)


def _extremum(name, prim, combine, fill, a, axis, out, keepdims, initial, where):
    _no_out(name, out)
    a = _operand(a)
    axes = _axes(name, axis, a.ndim)
    if initial is None:
        if builtins.any(a.shape[i] == 0 for i in axes):  # any() is shadowed here
            raise ValueError(f"zero-size array to reduction operation {name} which has no "
                             f"identity (operand shape {tuple(a.shape)}, axis={axis}); pass "
                             "initial= to define the result for empty input")
        if where is not None:
            raise ValueError(f"{name}: reduction with where= needs initial=, the result where "
                             "every element is masked out")
    x = a
    if where is not None:
        x = uf.where(_mask(name, where, x.shape), x, fill(x.dtype))
    res = prim.bind(x, axes=axes)
    if initial is not None:
        res = combine(res, asarray(initial, a.dtype))
    return _finish(res, a.dtype, a.shape, axes, keepdims)


def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """The maximum over ``axis`` (NaN-propagating), like numpy.max.

    An empty reduced axis raises ValueError unless ``initial`` is given;
    ``where`` needs ``initial``.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.max(fnp.asarray([[1, 5], [7, 2]]), axis=1).tolist()
        [5, 7]
    """
    return _extremum("max", rp.reduce_max_p, uf.maximum, _lowest, a, axis, out, keepdims,
                     initial, where)


def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """The minimum over ``axis`` (NaN-propagating), like numpy.min.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.min(fnp.asarray([[1, 5], [7, 2]]), axis=1).tolist()
        [1, 2]
    """
    return _extremum("min", rp.reduce_min_p, uf.minimum, _highest, a, axis, out, keepdims,
                     initial, where)


amax, amin = max, min


def _truth(name, prim, fill, a, axis, out, keepdims, where):
    _no_out(name, out)
    a = asarray(a)
    # (a strong bool, as JAX's: a comparison of a weak operand would be a weak one)
    x = a if a.dtype == dtypes.bool_ else ew.convert_element_type(uf.not_equal(a, 0), dtypes.bool_)
    axes = _axes(name, axis, x.ndim)
    if where is not None:
        x = uf.where(_mask(name, where, x.shape), x, fill)
    return _finish(prim.bind(x, axes=axes), dtypes.bool_, a.shape, axes, keepdims)


def all(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """True where every element over ``axis`` is nonzero.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.all(fnp.asarray([1, 2, 0])).item()
        False
    """
    return _truth("all", rp.reduce_and_p, True, a, axis, out, keepdims, where)


def any(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """True where some element over ``axis`` is nonzero.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.any(fnp.asarray([0, 0, 3])).item()
        True
    """
    return _truth("any", rp.reduce_or_p, False, a, axis, out, keepdims, where)


# --- mean, var, std ------------------------------------------------------------------------------


def _mean_parts(name, a, axes, compute, where):
    """(sum, count) of ``a`` over ``axes`` in ``compute``; count is an int or an array."""
    x = _convert(a, compute)
    if where is None:
        return rp.reduce_sum_p.bind(x, axes=axes), _count(a.shape, axes)
    mask = _mask(name, where, tuple(a.shape))
    s = rp.reduce_sum_p.bind(uf.where(mask, x, 0), axes=axes)
    n = rp.reduce_sum_p.bind(_convert(mask, compute), axes=axes)
    return s, n


def _divide(s, n):
    """s / n in s's dtype (integer division truncates, like numpy with an int dtype)."""
    if isinstance(n, int):
        n = asarray(n, s.dtype)
    return ew.div_p.bind(s, n)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """The arithmetic mean over ``axis``; integers give the default float.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.mean(fnp.asarray([1, 2, 3, 4])).item()
        2.5
    """
    _no_out("mean", out)
    a = _operand(a)
    axes = _axes("mean", axis, a.ndim)
    dtype = dtypes.canonicalize(dtype) if dtype is not None else _float_dtype(a.dtype)
    compute = _compute_dtype(dtype)
    s, n = _mean_parts("mean", a, axes, compute, where)
    return _finish(_divide(s, n), dtype, a.shape, axes, keepdims)


def _var(name, a, axis, dtype, out, ddof, where, correction, *, zero_nan=False):
    """(variance, out dtype, a's shape, axes); ``zero_nan`` zeroes the NaNs' deviations
    (nanvar's double where, as in jnp.nanvar: their squares are masked out anyway, and
    without it grad's 0 * d(NaN**2) would be NaN and reach the mean)."""
    _no_out(name, out)
    if correction is not None:
        if ddof != 0:
            raise ValueError(f"{name}: pass ddof or correction, not both")
        ddof = correction
    a = _operand(a)
    axes = _axes(name, axis, a.ndim)
    compute = _compute_dtype(_float_dtype(a.dtype))
    if dtype is not None:
        out_dtype = dtypes.canonicalize(dtype)
    else:
        out_dtype = dtypes.real_dtype(_float_dtype(a.dtype))
    s, n = _mean_parts(name, a, axes, compute, where)
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    mean_b = sp.broadcast_in_dim(_divide(s, n), tuple(a.shape), kept)
    centered = uf.subtract(_convert(a, compute), mean_b)
    if zero_nan:
        centered = uf.where(uf.isnan(a), 0, centered)
    if dtypes.is_complex(compute):
        sq = uf.real(uf.multiply(centered, uf.conjugate(centered)))
    else:
        sq = uf.multiply(centered, centered)
    if where is not None:
        sq = uf.where(_mask(name, where, tuple(a.shape)), sq, 0)
    ss = rp.reduce_sum_p.bind(sq, axes=axes)
    if isinstance(n, int):
        # Like JAX: no degrees of freedom left gives NaN (numpy: inf or NaN).
        res = uf.true_divide(ss, n - ddof) if n - ddof > 0 else uf.multiply(ss, float("nan"))
    else:
        denom = uf.subtract(uf.real(n) if dtypes.is_complex(n.dtype) else n, ddof)
        ok = uf.greater(denom, 0)
        res = uf.where(ok, uf.true_divide(ss, uf.where(ok, denom, 1)), float("nan"))
    return res, out_dtype, a.shape, axes


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        correction=None):
    """The variance over ``axis``: mean(|a - mean(a)|**2) * N / (N - ddof).

    Complex input gives a real variance; N - ddof <= 0 gives NaN (like JAX).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.var(fnp.asarray([1.0, 2.0, 3.0, 4.0])).item()
        1.25
    """
    res, dtype, shape, axes = _var("var", a, axis, dtype, out, ddof, where, correction)
    return _finish(res, dtype, shape, axes, keepdims)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        correction=None):
    """The standard deviation over ``axis``: sqrt(var(a, ...)).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.std(fnp.asarray([1.0, 3.0])).item()
        1.0
    """
    res, dtype, shape, axes = _var("std", a, axis, dtype, out, ddof, where, correction)
    return _finish(uf.sqrt(res), dtype, shape, axes, keepdims)


# --- argmax, argmin ------------------------------------------------------------------------------


def _arg(name, wrapper, a, axis, out, keepdims):
    _no_out(name, out)
    a = asarray(a)
    shape = tuple(a.shape)
    if axis is None:
        if a.size == 0:
            raise ValueError(f"attempt to get {name} of an empty sequence (shape {shape})")
        res = wrapper(sp.reshape(a, (a.size,)), 0, dtypes.default_int())
        return sp.reshape(res, (1,) * len(shape)) if keepdims else res
    axis = normalize_axis(name, operator.index(axis), a.ndim)
    res = wrapper(a, axis, dtypes.default_int())
    return _keepdims(res, shape, (axis,)) if keepdims else res


def argmax(a, axis=None, out=None, keepdims=False):
    """Index of the maximum along ``axis`` (None: of the flattened array).

    Ties give the first index; a NaN counts as the maximum.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.argmax(fnp.asarray([1.0, 4.0, 4.0])).item()
        1
    """
    return _arg("argmax", rp.argmax, a, axis, out, keepdims)


def argmin(a, axis=None, out=None, keepdims=False):
    """Index of the minimum along ``axis`` (None: of the flattened array).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.argmin(fnp.asarray([3, 1, 1])).item()
        1
    """
    return _arg("argmin", rp.argmin, a, axis, out, keepdims)


# --- cumulative ----------------------------------------------------------------------------------


def _cumulative(name, wrapper, a, axis, dtype, out):
    _no_out(name, out)
    a = _operand(a)
    if axis is None:
        a = sp.reshape(a, (a.size,))
        axis = 0
    axis = normalize_axis(name, operator.index(axis), a.ndim)
    if dtype is not None:
        dtype = dtypes.canonicalize(dtype)
    else:
        # Like jax.numpy: bool counts in the default int; other ints keep their dtype.
        dtype = dtypes.default_int() if a.dtype == dtypes.bool_ else a.dtype
    compute = _compute_dtype(dtype)
    return _convert(wrapper(_convert(a, compute), axis), dtype)


def cumsum(a, axis=None, dtype=None, out=None):
    """Running sum along ``axis`` (None: of the flattened array).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.cumsum(fnp.asarray([[1, 2], [3, 4]])).tolist()
        [1, 3, 6, 10]
    """
    return _cumulative("cumsum", cp.cumsum, a, axis, dtype, out)


def cumprod(a, axis=None, dtype=None, out=None):
    """Running product along ``axis`` (None: of the flattened array).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.cumprod(fnp.asarray([1, 2, 3])).tolist()
        [1, 2, 6]
    """
    return _cumulative("cumprod", cp.cumprod, a, axis, dtype, out)


# --- nan-ignoring reductions ---------------------------------------------------------------------


def _nan_to(a, value):
    a = _operand(a)
    if not dtypes.is_inexact(a.dtype):
        return a
    return uf.where(uf.isnan(a), value, a)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Sum treating NaNs as zero.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.nansum(fnp.asarray([1.0, float("nan"), 2.0])).item()
        3.0
    """
    return sum(_nan_to(a, 0), axis, dtype, out, keepdims, initial, where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product treating NaNs as one."""
    return prod(_nan_to(a, 1), axis, dtype, out, keepdims, initial, where)


def _not_nan(a, where):
    ok = uf.logical_not(uf.isnan(a))
    if where is not None:
        ok = uf.logical_and(ok, _mask("nanmean", where, tuple(a.shape)))
    return ok


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Mean of the non-NaN elements (NaN where there are none).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.nanmean(fnp.asarray([1.0, float("nan"), 3.0])).item()
        2.0
    """
    a = _operand(a)
    if not dtypes.is_inexact(a.dtype):
        return mean(a, axis, dtype, out, keepdims, where=where)
    return mean(a, axis, dtype, out, keepdims, where=_not_nan(a, where))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None):
    """Variance of the non-NaN elements."""
    a = _operand(a)
    if not dtypes.is_inexact(a.dtype):
        return var(a, axis, dtype, out, ddof, keepdims, where=where)
    res, dtype, shape, axes = _var("nanvar", a, axis, dtype, out, ddof, _not_nan(a, where), None,
                                   zero_nan=True)
    return _finish(res, dtype, shape, axes, keepdims)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None):
    """Standard deviation of the non-NaN elements."""
    return uf.sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where=where))


def _nan_extremum(fn, fill, a, axis, out, keepdims, initial, where):
    a = _operand(a)
    if not dtypes.is_inexact(a.dtype):
        return fn(a, axis, out, keepdims, initial, where)
    nan = uf.isnan(a)
    res = fn(uf.where(nan, fill, a), axis, out, keepdims, initial, where)
    all_nan = all(nan, axis, keepdims=keepdims, where=where)
    return uf.where(all_nan, float("nan"), res) if initial is None else res


def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """The maximum ignoring NaNs (NaN where every element is NaN).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.nanmax(fnp.asarray([1.0, float("nan"), 3.0])).item()
        3.0
    """
    return _nan_extremum(max, float("-inf"), a, axis, out, keepdims, initial, where)


def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """The minimum ignoring NaNs (NaN where every element is NaN)."""
    return _nan_extremum(min, float("inf"), a, axis, out, keepdims, initial, where)


# --- average, ptp, count_nonzero -----------------------------------------------------------------


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """The weighted mean over ``axis``: sum(a * w) / sum(w).

    ``weights`` has ``a``'s shape, or is 1-d along a single ``axis``.
    ``returned=True`` also returns the sum of the weights (broadcast to the
    result's shape).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.average(fnp.asarray([1.0, 2.0]), weights=fnp.asarray([3.0, 1.0])).item()
        1.25
    """
    if weights is None:
        a = _operand(a)
        avg = mean(a, axis, keepdims=keepdims)
        if not returned:
            return avg
        axes = _axes("average", axis, a.ndim)
        return avg, broadcast_to(asarray(_count(a.shape, axes), avg.dtype), avg.shape)
    a, w = _operand(a), _operand(weights)
    dtype = dtypes.promote_types((a.dtype, False), (w.dtype, False))[0]
    dtype = _float_dtype(dtype)
    a, w = _convert(a, dtype), _convert(w, dtype)
    if tuple(a.shape) != tuple(w.shape):
        if axis is None:
            raise TypeError(f"average: weights of shape {tuple(w.shape)} differ from a's shape "
                            f"{tuple(a.shape)}: pass axis= to weight along one axis")
        if w.ndim != 1 or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"average: weights of shape {tuple(w.shape)} must be 1-d along one "
                            f"axis when they differ from a's shape {tuple(a.shape)}")
        ax = normalize_axis("average", int(axis), a.ndim)
        if w.shape[0] != a.shape[ax]:
            raise ValueError(f"average: weights of length {w.shape[0]} differ from the length "
                             f"{a.shape[ax]} of axis {axis} of a (shape {tuple(a.shape)})")
        w = sp.broadcast_in_dim(w, tuple(a.shape), (ax,))
    scale = sum(w, axis, keepdims=keepdims)
    avg = uf.true_divide(sum(uf.multiply(a, w), axis, keepdims=keepdims), scale)
    if returned:
        return avg, broadcast_to(scale, avg.shape) if scale.shape != avg.shape else scale
    return avg


def ptp(a, axis=None, out=None, keepdims=False):
    """Peak to peak: max - min over ``axis``.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.ptp(fnp.asarray([4, 9, 1])).item()
        8
    """
    return uf.subtract(max(a, axis, out, keepdims), min(a, axis, out, keepdims))


def count_nonzero(a, axis=None, keepdims=False):
    """The number of nonzero elements over ``axis`` (default int dtype).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.count_nonzero(fnp.asarray([0, 3, 0, 1])).item()
        2
    """
    a = asarray(a)
    return sum(uf.not_equal(a, 0), axis, dtype=dtypes.default_int(), keepdims=keepdims)
