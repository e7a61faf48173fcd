"""Reduction primitives: reduce_{sum,prod,max,min,and,or}, argmax/argmin, and the
cumulative cum{sum,prod,max,min}.

Params are static tuples and ints, already normalized by the wrappers:

* ``reduce_*`` take ``axes``, a sorted tuple of distinct non-negative axes; the
  output drops those axes. An empty reduced axis gives the operation's
  identity, like XLA: 0 for sum, 1 for prod, -inf/+inf (floats) or the dtype's
  min/max (integers) for max/min, True for and, False for or.
* ``argmax``/``argmin`` take ``axes=(axis,)`` and ``index_dtype``. A NaN counts
  as the maximum (and the minimum), and ties go to the first occurrence, like
  numpy and JAX.
* ``cum*`` take ``axis`` and ``reverse`` (accumulate from the end).

Outputs keep the operand's weak type (``argmax``'s indices are never weak).
functrans.numpy decides dtypes (sum of int8 -> int32) before binding.

Impls upcast float16/bfloat16 to float32, where numpy's loops are slow or,
for bfloat16, unreliable (NaN warnings); the result is cast back. cumsum and
cumprod instead round every step to the 16-bit dtype in XLA's order, as JAX's
do (``_xla_scan``).

Autodiff (rules at the end): reduce_sum and cumsum are linear (transposes: a
broadcast, a reverse cumsum); reduce_prod and cumprod differentiate without
dividing by x, so inputs with zeros are exact; reduce_max/min average the
tangent over ties like JAX; cummax/cummin differentiate JAX's associative scan
of max/min (its tree splits ties); reduce_and/or and argmax/argmin have zero
tangents.

vmap keeps the batch axis in place and renumbers the reduced axes around it.
jit: reduce_* are a stablehlo.reduce, argmax/argmin a variadic reduce of
(value, index), cum* a stablehlo.reduce_window (rules at the end).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.jvp import Zero, defjvp, defjvp_zero, deflinear, tangent_aval
from ..interpreters.lowering import i64_array
from ._rules import (ANY, BOOL, INTEGRAL, NUMERIC, ORDERED, check_dtype, normalize_axes,
                     normalize_axis)
from .elementwise import (add_p, convert_element_type, div_p, eq_p, max_p, min_p, mul_p,
                          select_n)
from .shape import broadcast_in_dim, concatenate, pad, reshape, rev, transpose
from .slicing import slice_in_dim
from .sorting import lower_compare, lower_isnan, lower_logical, lower_order, lower_select

__all__ = ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and",
           "reduce_or", "argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin"]

_LOW_FLOATS = (dtypes.float16, dtypes.bfloat16)


def _upcast(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype in _LOW_FLOATS else x


def _check_axes(op: str, aval: ShapedArray, axes) -> None:
    if (type(axes) is not tuple or any(type(a) is not int for a in axes)
            or list(axes) != sorted(set(axes)) or any(not 0 <= a < aval.ndim for a in axes)):
        raise ValueError(f"{op}: axes must be a sorted tuple of distinct axes in [0, {aval.ndim}) "
                         f"for operand {aval.str_short()}, got {axes!r}. The lax wrapper "
                         f"({op}(x, axes)) normalizes negative and unsorted axes.")


def _reduced_shape(shape, axes) -> tuple:
    return tuple(d for i, d in enumerate(shape) if i not in axes)


# --- reduce_* ------------------------------------------------------------------------------------


def _reduce_abstract_eval(name, allowed):
    def abstract_eval(x: ShapedArray, *, axes) -> ShapedArray:
        check_dtype(name, x, allowed)
        _check_axes(name, x, axes)
        return ShapedArray(_reduced_shape(x.shape, axes), x.dtype, x.weak_type)
    return abstract_eval


def _max_identity(dtype):
    if dtype == dtypes.bool_:
        return False
    if dtypes.is_int(dtype):
        return dtypes.iinfo(dtype).min
    return -np.inf


def _min_identity(dtype):
    if dtype == dtypes.bool_:
        return True
    if dtypes.is_int(dtype):
        return dtypes.iinfo(dtype).max
    return np.inf


# The impls call the ufuncs' ``reduce`` (what np.sum, np.prod, np.max and
# np.min call) directly: numpy's Python-level wrappers cost ~1 µs a call, which
# is a tenth of a small reduction in eager reverse mode.


def _reduce_sum_impl(x, *, axes):
    x = np.asarray(x)
    # dtype= keeps numpy from widening int32 sums to int64 (XLA wraps around).
    if x.dtype in _LOW_FLOATS:
        return np.add.reduce(_upcast(x), axis=axes).astype(x.dtype)
    return np.add.reduce(x, axis=axes, dtype=x.dtype)


def _reduce_prod_impl(x, *, axes):
    x = np.asarray(x)
    if x.dtype in _LOW_FLOATS:
        return np.multiply.reduce(_upcast(x), axis=axes).astype(x.dtype)
    return np.multiply.reduce(x, axis=axes, dtype=x.dtype)


def _chooser_impl(np_reduce, identity):
    def impl(x, *, axes):
        x = np.asarray(x)
        if any(x.shape[a] == 0 for a in axes):
            # numpy raises on an empty reduction without identity; XLA gives the identity.
            return np.full(_reduced_shape(x.shape, axes), identity(x.dtype), x.dtype)
        if x.dtype in _LOW_FLOATS:
            return np_reduce(_upcast(x), axis=axes).astype(x.dtype)
        return np_reduce(x, axis=axes)
    return impl


def _reduce_and_impl(x, *, axes):
    x = np.asarray(x)
    if x.dtype == dtypes.bool_:
        return np.all(x, axis=axes)
    return np.bitwise_and.reduce(x, axis=axes)


def _reduce_or_impl(x, *, axes):
    x = np.asarray(x)
    if x.dtype == dtypes.bool_:
        return np.any(x, axis=axes)
    return np.bitwise_or.reduce(x, axis=axes)


def _reduce_primitive(name, impl, allowed) -> Primitive:
    p = Primitive(name)
    p.def_impl(impl)
    p.def_abstract_eval(_reduce_abstract_eval(name, allowed))
    return p


reduce_sum_p = _reduce_primitive("reduce_sum", _reduce_sum_impl, NUMERIC)
reduce_prod_p = _reduce_primitive("reduce_prod", _reduce_prod_impl, NUMERIC)
reduce_max_p = _reduce_primitive("reduce_max", _chooser_impl(np.maximum.reduce, _max_identity),
                                 ANY)
reduce_min_p = _reduce_primitive("reduce_min", _chooser_impl(np.minimum.reduce, _min_identity),
                                 ANY)
reduce_and_p = _reduce_primitive("reduce_and", _reduce_and_impl, (BOOL,) + INTEGRAL)
reduce_or_p = _reduce_primitive("reduce_or", _reduce_or_impl, (BOOL,) + INTEGRAL)


def _reduce_wrapper(p, doc):
    def wrapper(operand, axes):
        aval = get_aval(operand)
        axes = tuple(sorted(normalize_axes(p.name, axes, aval.ndim)))
        return bind(p, operand, axes=axes)
    wrapper.__name__ = wrapper.__qualname__ = p.name
    wrapper.__doc__ = doc
    return wrapper


reduce_sum = _reduce_wrapper(reduce_sum_p, """Sums ``operand`` over ``axes``, keeping its dtype.

    Integer sums wrap around on overflow, like XLA.

    Args:
      operand: an array of a numeric dtype.
      axes: an int or a sequence of ints (negative counts from the end).

    Returns:
      An array without the ``axes`` dimensions; 0 where an axis is empty.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.reduce_sum(fnp.ones((2, 3)), (1,)).tolist()
        [3.0, 3.0]
    """)
reduce_prod = _reduce_wrapper(reduce_prod_p, """Multiplies ``operand`` over ``axes`` (1 if empty).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.reduce_prod(fnp.asarray([[1, 2], [3, 4]]), (0,)).tolist()
        [3, 8]
    """)
reduce_max = _reduce_wrapper(reduce_max_p, """The maximum over ``axes`` (NaN-propagating).

    An empty axis gives -inf for floats and the dtype's minimum for integers
    (XLA's identity); functrans.numpy.max raises instead, like numpy.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.reduce_max(fnp.asarray([1.0, 5.0, 2.0]), (0,)).item()
        5.0
    """)
reduce_min = _reduce_wrapper(reduce_min_p, """The minimum over ``axes`` (NaN-propagating).

    An empty axis gives +inf for floats and the dtype's maximum for integers.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.reduce_min(fnp.asarray([1.0, 5.0, 2.0]), (0,)).item()
        1.0
    """)
reduce_and = _reduce_wrapper(reduce_and_p, """Logical (bool) or bitwise (integer) and over ``axes``.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.reduce_and(fnp.asarray([True, False]), (0,)).item()
        False
    """)
reduce_or = _reduce_wrapper(reduce_or_p, """Logical (bool) or bitwise (integer) or over ``axes``.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.reduce_or(fnp.asarray([True, False]), (0,)).item()
        True
    """)


# --- argmax / argmin -----------------------------------------------------------------------------


def _arg_abstract_eval(name):
    def abstract_eval(x: ShapedArray, *, axes, index_dtype) -> ShapedArray:
        check_dtype(name, x, ORDERED)
        _check_axes(name, x, axes)
        if len(axes) != 1:
            raise ValueError(f"{name}: axes must name exactly one axis, got {axes}")
        if not dtypes.is_int(index_dtype):
            raise TypeError(f"{name}: index_dtype must be an integer dtype, got {index_dtype}")
        if x.shape[axes[0]] == 0:
            raise ValueError(f"{name}: cannot take the {name} of an empty axis: operand "
                             f"{x.str_short()} has size 0 along axis {axes[0]}")
        return ShapedArray(_reduced_shape(x.shape, axes), index_dtype, False)
    return abstract_eval


def _arg_by_steps(x: np.ndarray, axis: int, better, best_of, index_dtype):
    """argmax/argmin over a short ``axis`` as one branchless pass per position: numpy's
    argmax over a leading axis of 4 with 1.6M results takes 7.7 ms, this 0.9 ms (a max
    pool's window stack under grad). The first extremum wins (``better`` is strict)."""
    xs = np.moveaxis(x, axis, 0)
    best = xs[0]
    idx = np.zeros(best.shape, index_dtype)
    for k in range(1, xs.shape[0]):
        upd = better(xs[k], best)
        best = best_of(best, xs[k])
        idx += (k - idx) * upd          # k where this position is better, else unchanged
    return idx


def _arg_impl(np_arg, better, best_of):
    def impl(x, *, axes, index_dtype):
        # numpy returns the first NaN (NaN is both the max and the min), then the
        # first occurrence on ties: the same convention as JAX.
        x = _upcast(np.asarray(x))
        ax = axes[0]
        if (x.dtype.kind in "iuf" and 1 < x.shape[ax] <= 16 and ax != x.ndim - 1
                and x.size >= 1 << 14 and not (x.dtype.kind == "f" and np.isnan(x).any())):
            return _arg_by_steps(x, ax, better, best_of, np.dtype(index_dtype))
        return np_arg(x, axis=ax).astype(index_dtype, copy=False)
    return impl


argmax_p = Primitive("argmax")
argmax_p.def_abstract_eval(_arg_abstract_eval("argmax"))
argmax_p.def_impl(_arg_impl(np.argmax, np.greater, np.maximum))

argmin_p = Primitive("argmin")
argmin_p.def_abstract_eval(_arg_abstract_eval("argmin"))
argmin_p.def_impl(_arg_impl(np.argmin, np.less, np.minimum))


def _arg_params(name, operand, axis, index_dtype):
    aval = get_aval(operand)
    axis = normalize_axis(name, int(axis), aval.ndim)
    return dict(axes=(axis,), index_dtype=dtypes.canonicalize(index_dtype))


def argmax(operand, axis: int, index_dtype):
    """The index of the maximum along ``axis`` (the first one on ties; NaN is the max).

    Args:
      operand: a bool, integer or float array.
      axis: the axis to reduce (must not be empty).
      index_dtype: the integer dtype of the result.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.argmax(fnp.asarray([1.0, 7.0, 7.0]), 0, fnp.int32).item()
        1
    """
    return bind(argmax_p, operand, **_arg_params("argmax", operand, axis, index_dtype))


def argmin(operand, axis: int, index_dtype):
    """The index of the minimum along ``axis`` (the first one on ties; NaN is the min).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.argmin(fnp.asarray([3, 1, 1]), 0, fnp.int32).item()
        1
    """
    return bind(argmin_p, operand, **_arg_params("argmin", operand, axis, index_dtype))


# --- cumulative reductions -----------------------------------------------------------------------


def _cumulative_abstract_eval(name, allowed):
    def abstract_eval(x: ShapedArray, *, axis, reverse) -> ShapedArray:
        check_dtype(name, x, allowed)
        if type(axis) is not int or not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis!r} is out of bounds for operand "
                             f"{x.str_short()} (rank {x.ndim})")
        return x
    return abstract_eval


def _cumsum_np(x, axis):
    out = np.cumsum(x, axis=axis, dtype=x.dtype)
    if x.dtype.kind in "fc" and x.shape[axis] > 1:
        # XLA adds from +0 (0 + -0 = +0); a single element is passed through.
        out += 0
    return out


def _cumprod_np(x, axis):
    return np.cumprod(x, axis=axis, dtype=x.dtype)


def _cummax_np(x, axis):
    return np.maximum.accumulate(x, axis=axis)


def _cummin_np(x, axis):
    return np.minimum.accumulate(x, axis=axis)


def _cumulative_impl(np_fn):
    def impl(x, *, axis, reverse):
        x = np.asarray(x)
        dtype = x.dtype
        if dtype in _LOW_FLOATS and np_fn in _XLA_SCAN_OPS:
            return _xla_scan(x, _XLA_SCAN_OPS[np_fn], axis, reverse)
        x = _upcast(x)
        if reverse:
            x = np.flip(x, axis)
        out = np_fn(x, axis)
        if reverse:
            out = np.flip(out, axis)
        return out.astype(dtype, copy=False)
    return impl


# float16/bfloat16 cumsum and cumprod round every step to the operand's dtype, so
# the order of the steps shows; the impl follows the order of XLA:CPU, which JAX
# (eager and jit) and our lowering run: XLA's ReduceWindowRewriter splits a
# window over more than _XLA_SCAN_BASE elements into blocks of that many, scans
# each block, scans the blocks' totals exclusively (recursively), and combines
# the two; a window of at most _XLA_SCAN_BASE is combined left to right from the
# identity (for a reverse scan too: output i is ((0 + x_i) + x_i+1) + ...).
_XLA_SCAN_BASE = 16
_XLA_SCAN_OPS = {_cumsum_np: (np.add, 0), _cumprod_np: (np.multiply, 1)}


def _xla_scan(x: np.ndarray, op_identity, axis: int, reverse: bool) -> np.ndarray:
    dtype = x.dtype
    if x.shape[axis] == 1 and dtype == dtypes.float16:
        # XLA:CPU passes a float16 element through (-0 stays), while bfloat16 (and
        # longer axes) add it to +0 (measured against jax 0.10).
        return x.copy()
    xs = np.moveaxis(x, axis, -1).astype(np.float32)
    out = _xla_scan_last(xs, op_identity, reverse, dtype)
    return np.ascontiguousarray(np.moveaxis(out, -1, axis)).astype(dtype)


def _xla_scan_last(x, op_identity, reverse, dtype, exclusive=False):
    """The scan of ``x`` (float32 holding ``dtype`` values) along its last axis,
    every step rounded to ``dtype``."""
    op, ident = op_identity
    n = x.shape[-1]
    if n <= _XLA_SCAN_BASE:
        out = _window_scan(x, op, ident, reverse, dtype)
    else:
        k = -(-n // _XLA_SCAN_BASE) * _XLA_SCAN_BASE
        padded = np.concatenate([x, np.full(x.shape[:-1] + (k - n,), ident, x.dtype)], -1)
        blocks = _window_scan(padded.reshape(x.shape[:-1] + (k // _XLA_SCAN_BASE,
                                                            _XLA_SCAN_BASE)),
                              op, ident, reverse, dtype)
        totals = blocks[..., 0] if reverse else blocks[..., -1]
        before = _xla_scan_last(totals, op_identity, reverse, dtype, exclusive=True)
        out = _round(op(blocks, before[..., None]), dtype).reshape(padded.shape)[..., :n]
    if exclusive:
        ident_col = np.full(x.shape[:-1] + (1,), ident, x.dtype)
        parts = [out[..., 1:], ident_col] if reverse else [ident_col, out[..., :-1]]
        out = np.concatenate(parts, -1)
    return out


def _window_scan(x, op, ident, reverse, dtype):
    """Output i combines (from the identity, left to right) x[..., :i + 1], or x[..., i:]
    if ``reverse``: XLA's reduce_window over a short axis."""
    n = x.shape[-1]
    out = np.empty_like(x)
    if n == 0:
        return out
    if not reverse:
        acc = np.full(x.shape[:-1], ident, x.dtype)
        for i in range(n):
            acc = out[..., i] = _round(op(acc, x[..., i]), dtype)
        return out
    acc = _round(op(np.float32(ident), x), dtype)  # acc[i] combines x[i:i + k + 1]
    out[..., n - 1] = acc[..., n - 1]
    for k in range(1, n):
        acc = _round(op(acc[..., :n - k], x[..., k:]), dtype)
        out[..., n - 1 - k] = acc[..., n - 1 - k]
    return out


def _round(x, dtype):
    """float32 -> ``dtype`` -> float32: one correctly rounded 16-bit add or multiply
    (float32 holds the exact result's rounding)."""
    return x.astype(dtype).astype(np.float32)


def _cumulative_primitive(name, np_fn, allowed) -> Primitive:
    p = Primitive(name)
    p.def_impl(_cumulative_impl(np_fn))
    p.def_abstract_eval(_cumulative_abstract_eval(name, allowed))
    return p


cumsum_p = _cumulative_primitive("cumsum", _cumsum_np, NUMERIC)
cumprod_p = _cumulative_primitive("cumprod", _cumprod_np, NUMERIC)
cummax_p = _cumulative_primitive("cummax", _cummax_np, ANY)
cummin_p = _cumulative_primitive("cummin", _cummin_np, ANY)


def _cumulative_wrapper(p, doc):
    def wrapper(operand, axis: int = 0, reverse: bool = False):
        axis = normalize_axis(p.name, int(axis), get_aval(operand).ndim)
        return bind(p, operand, axis=axis, reverse=bool(reverse))
    wrapper.__name__ = wrapper.__qualname__ = p.name
    wrapper.__doc__ = doc
    return wrapper


cumsum = _cumulative_wrapper(cumsum_p, """Running sum along ``axis`` (from the end if ``reverse``).

    Args:
      operand: a numeric array of rank >= 1.
      axis: the axis to accumulate along.
      reverse: accumulate from the last element toward the first.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.cumsum(fnp.asarray([1, 2, 3])).tolist()
        [1, 3, 6]
        >>> lax.cumsum(fnp.asarray([1, 2, 3]), reverse=True).tolist()
        [6, 5, 3]
    """)
cumprod = _cumulative_wrapper(cumprod_p, """Running product along ``axis``.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.cumprod(fnp.asarray([1, 2, 3])).tolist()
        [1, 2, 6]
    """)
cummax = _cumulative_wrapper(cummax_p, """Running maximum along ``axis`` (NaN-propagating).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.cummax(fnp.asarray([1, 3, 2])).tolist()
        [1, 3, 3]
    """)
cummin = _cumulative_wrapper(cummin_p, """Running minimum along ``axis`` (NaN-propagating).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.cummin(fnp.asarray([3, 1, 2])).tolist()
        [3, 1, 1]
    """)


# --- autodiff rules ------------------------------------------------------------------------------
#
# Every rule is written with primitives (``bind`` and the lax wrappers), so the
# tangent computation is itself differentiable (grad of grad) and traceable.
# Work on primals alone (indicators, exclusive products, running-max
# positions) is done once, outside the linear part that reverse mode records.


def _kept(ndim, axes) -> tuple:
    return tuple(i for i in range(ndim) if i not in axes)


def _reduce_sum_transpose(ct, x, *, axes):
    # The adjoint of a sum is a broadcast back along the summed axes.
    shape = x.aval.shape
    return [broadcast_in_dim(ct, shape, _kept(len(shape), axes))]


def _shift(x, s: int, fill, axis: int, reverse: bool):
    """``x`` moved ``s`` places along ``axis`` (toward the end, or the start if
    ``reverse``), the vacated places filled with ``fill``: a pad that crops."""
    cfg = [(0, 0, 0)] * get_aval(x).ndim
    cfg[axis] = (-s, s, 0) if reverse else (s, -s, 0)
    return pad(x, fill, cfg)


def _reduce_prod_jvp(t, ans, x, *, axes):
    # d prod(x) = sum_i t_i * prod_{j != i} x_j, with the product of the others
    # written as (exclusive running product from the left) * (from the right):
    # no division, so it is exact where x has zeros (unlike ans / x).
    aval = get_aval(x)
    if not axes:
        return t
    n = math.prod(aval.shape[a] for a in axes)
    if n == 0:
        return Zero(tangent_aval(get_aval(ans)))
    kept = _kept(aval.ndim, axes)
    if len(axes) == 1:
        axis = axes[0]
    else:  # move the reduced axes to the front and flatten them into one
        new_shape = (n,) + tuple(aval.shape[i] for i in kept)
        x = reshape(transpose(x, axes + kept), new_shape)
        t = reshape(transpose(t, axes + kept), new_shape)
        axis = 0
    left = cumprod(_shift(x, 1, 1, axis, False), axis)
    right = cumprod(_shift(x, 1, 1, axis, True), axis, reverse=True)
    others = bind(mul_p, left, right)
    return bind(reduce_sum_p, bind(mul_p, t, others), axes=(axis,))


def _chooser_jvp(t, ans, x, *, axes):
    # The tangent at the extremal positions, averaged over ties (JAX's
    # _reduce_chooser_jvp_rule). JAX multiplies by the 0/1 indicators, which XLA
    # rewrites into a select under jit; we select, so eager and jit agree with
    # jax.jit: where the result is NaN (no position equals it, counts = 0), the
    # cotangent NaN = ct / 0 reaches no input (0, not NaN * 0).
    aval = get_aval(x)
    if any(aval.shape[a] == 0 for a in axes):
        return Zero(tangent_aval(get_aval(ans)))
    dtype = get_aval(t).dtype
    where = bind(eq_p, x, broadcast_in_dim(ans, aval.shape, _kept(aval.ndim, axes)))
    counts = bind(reduce_sum_p, convert_element_type(where, dtype), axes=axes)
    return bind(div_p, bind(reduce_sum_p, select_n(where, 0, t), axes=axes), counts)


deflinear(reduce_sum_p)
reduce_sum_p.def_transpose(_reduce_sum_transpose)
defjvp(reduce_prod_p, _reduce_prod_jvp)
defjvp(reduce_max_p, _chooser_jvp)
defjvp(reduce_min_p, _chooser_jvp)
for _p in (reduce_and_p, reduce_or_p, argmax_p, argmin_p):
    defjvp_zero(_p)


def _cumsum_transpose(ct, x, *, axis, reverse):
    # y_i = sum_{j <= i} x_j, so x's cotangent sums ct over i >= j: the reverse cumsum.
    return [cumsum(ct, axis, reverse=not reverse)]


def _cumprod_jvp(t, ans, x, *, axis, reverse):
    # A log-depth (Hillis-Steele) scan of (product, tangent) pairs, combined as
    # (p1, d1) . (p2, d2) = (p1 p2, d1 p2 + p1 d2): the jvp of the running
    # product, n log n work and no division, so exact where x has zeros.
    n = get_aval(x).shape[axis]
    p, d = x, t
    s = 1
    while s < n:
        p_s = _shift(p, s, 1, axis, reverse)
        d_s = _shift(d, s, 0, axis, reverse)
        d = bind(add_p, bind(mul_p, d_s, p), bind(mul_p, p_s, d))
        if 2 * s < n:
            p = bind(mul_p, p, p_s)
        s *= 2
    return d


def _associative_scan(combine, elems: list, axis: int) -> list:
    """JAX's ``lax.associative_scan`` (forward) of a list of arrays along ``axis``:
    adjacent pairs combined, the half-length scan recursed on, the even positions
    filled in. ``combine(a, b)`` maps two lists of arrays to one."""
    n = get_aval(elems[0]).shape[axis]
    if n < 2:
        return elems
    reduced = combine([slice_in_dim(e, 0, -1, 2, axis) for e in elems],
                      [slice_in_dim(e, 1, None, 2, axis) for e in elems])
    odd = _associative_scan(combine, reduced, axis)
    left = [slice_in_dim(o, 0, -1, 1, axis) for o in odd] if n % 2 == 0 else odd
    even = combine(left, [slice_in_dim(e, 2, None, 2, axis) for e in elems])
    even = [concatenate([slice_in_dim(e, 0, 1, 1, axis), r], axis) for e, r in zip(elems, even)]
    return [_interleave(a, b, axis) for a, b in zip(even, odd)]


def _interleave(a, b, axis: int):
    """a[0], b[0], a[1], b[1], ... along ``axis`` (``a`` as long as ``b`` or one longer)."""
    ndim, na, nb = get_aval(a).ndim, get_aval(a).shape[axis], get_aval(b).shape[axis]
    cfg_a, cfg_b = [(0, 0, 0)] * ndim, [(0, 0, 0)] * ndim
    cfg_a[axis] = (0, 1 if na == nb else 0, 1)
    cfg_b[axis] = (1, 0 if na == nb else 1, 1)
    return bind(add_p, pad(a, 0, cfg_a), pad(b, 0, cfg_b))


def _cum_extremum_jvp(chooser):
    # JAX differentiates cummax/cummin as an associative scan of max/min
    # (_cumulative_jvp_rule): each combine passes on the tangent of the operand it
    # chose, half of each on a tie (max/min's jvp), none where the result is NaN.
    # Which ties meet in a combine depends on the scan's tree, so it is JAX's tree.
    def combine(a, b):
        (pa, ta), (pb, tb) = a, b
        ans, tangent = chooser.jvp((pa, pb), (ta, tb))
        return [ans, tangent]

    def jvp(t, ans, x, *, axis, reverse):
        if reverse:
            x, t = rev(x, (axis,)), rev(t, (axis,))
        _, out = _associative_scan(combine, [x, t], axis)
        return rev(out, (axis,)) if reverse else out
    return jvp
deflinear(cumsum_p)
cumsum_p.def_transpose(_cumsum_transpose)
defjvp(cumprod_p, _cumprod_jvp)
defjvp(cummax_p, _cum_extremum_jvp(max_p))
defjvp(cummin_p, _cum_extremum_jvp(min_p))


# --- batch rules ---------------------------------------------------------------------------------
#
# The batch axis stays where it is; the reduced (accumulated) axes are renumbered
# around it. No transposes.


def _batched_axis(a: int, bdim: int) -> int:
    """Where example axis ``a`` sits in the batched operand."""
    return a + (a >= bdim)


def _reduce_batch(p):
    def rule(args, bdims, *, axes, **params):
        (x,), (d,) = args, bdims
        new_axes = tuple(_batched_axis(a, d) for a in axes)
        out = bind(p, x, axes=new_axes, **params)
        return out, d - sum(a < d for a in new_axes)
    p.def_batch(rule)


def _cumulative_batch(p):
    def rule(args, bdims, *, axis, reverse):
        (x,), (d,) = args, bdims
        return bind(p, x, axis=_batched_axis(axis, d), reverse=reverse), d
    p.def_batch(rule)


for _p in (reduce_sum_p, reduce_prod_p, reduce_max_p, reduce_min_p, reduce_and_p, reduce_or_p,
           argmax_p, argmin_p):
    _reduce_batch(_p)
for _p in (cumsum_p, cumprod_p, cummax_p, cummin_p):
    _cumulative_batch(_p)


# --- lower rules ---------------------------------------------------------------------------------
#
# reduce_* are one stablehlo.reduce with a scalar region; argmax/argmin a
# variadic reduce of (value, index) pairs; cum* a stablehlo.reduce_window over
# the whole axis. float16/bfloat16 sums and products accumulate in float32, as
# the impls do; cumsum/cumprod in the operand's dtype, as JAX's.


def _lower_extremum(bool_op, direction, real_op):
    """NaN-propagating maximum or minimum: ``bool_op`` (or/and) for bool, lexicographic
    for complex (as numpy), ``real_op`` otherwise."""
    def combine(ctx, a, b, aval):
        if aval.dtype == dtypes.bool_:
            return ctx.op(bool_op, [a, b], [aval, aval], aval)
        if dtypes.is_complex(aval.dtype):
            return _lower_complex_extremum(ctx, a, b, aval, direction)
        # stablehlo.maximum/minimum propagate NaN (the StableHLO spec; checked on CPU and
        # GPU by the tests)
        return ctx.op(real_op, [a, b], [aval, aval], aval)
    return combine


_lower_max = _lower_extremum("stablehlo.or", "GT", "stablehlo.maximum")
_lower_min = _lower_extremum("stablehlo.and", "LT", "stablehlo.minimum")


def _lower_complex_extremum(ctx, a, b, aval, direction):
    # numpy: a NaN (in either part) wins, else (real, imag) lexicographic, a on ties.
    s = aval.shape
    a_nan, b_nan = lower_isnan(ctx, a, aval), lower_isnan(ctx, b, aval)
    lt, eq = lower_order(ctx, b, a, aval) if direction == "GT" else lower_order(ctx, a, b, aval)
    keep_a = lower_logical(ctx, "or", lt, eq, shape=s)  # b < a (GT), a < b (LT), or equal
    keep_a = lower_logical(ctx, "or", a_nan,
                           lower_logical(ctx, "and", lower_logical(ctx, "not", b_nan, shape=s),
                                         keep_a, shape=s), shape=s)
    return lower_select(ctx, keep_a, a, b, aval)


def _lower_binary(opname):
    def combine(ctx, a, b, aval):
        return ctx.op(opname, [a, b], [aval, aval], aval)
    return combine


def _all_ones(dtype):
    return ~np.zeros((), dtype)


# name -> (combine(ctx, a, b, aval), identity(dtype))
_REDUCERS = {
    "sum": (_lower_binary("stablehlo.add"), lambda dt: 0),
    "prod": (_lower_binary("stablehlo.multiply"), lambda dt: 1),
    "max": (_lower_max, _max_identity),
    "min": (_lower_min, _min_identity),
    "and": (_lower_binary("stablehlo.and"), _all_ones),
    "or": (_lower_binary("stablehlo.or"), lambda dt: 0),
}


def _accumulation_dtype(kind, dtype):
    return np.dtype(np.float32) if kind in ("sum", "prod") and dtype in _LOW_FLOATS else dtype


def _reduce_lower(kind):
    combine, identity = _REDUCERS[kind]

    def rule(ctx, x, *, axes):
        aval, out_aval = ctx.avals_in[0], ctx.avals_out[0]
        dtype = _accumulation_dtype(kind, aval.dtype)
        x = ctx.convert(x, aval, dtype)
        aval, out_aval = aval.update(dtype=dtype), out_aval.update(dtype=dtype)
        if not axes:
            return ctx.convert(x, aval, ctx.avals_out[0].dtype)
        scalar = ShapedArray((), dtype)
        init = ctx.constant(identity(dtype), scalar)
        region = ctx.region([scalar, scalar],
                            lambda c, a, b: ([combine(c, a, b, scalar)], [scalar]))
        out = ctx.op("stablehlo.reduce", [x, init], [aval, scalar], out_aval,
                     f"dimensions = {i64_array(axes)}", regions=[region])
        return ctx.convert(out, out_aval, ctx.avals_out[0].dtype)
    return rule


for _p, _kind in ((reduce_sum_p, "sum"), (reduce_prod_p, "prod"), (reduce_max_p, "max"),
                  (reduce_min_p, "min"), (reduce_and_p, "and"), (reduce_or_p, "or")):
    _p.def_lower(_reduce_lower(_kind))


def _arg_lower(is_max: bool):
    def rule(ctx, x, *, axes, index_dtype):
        # A reduce over (value, index) pairs whose combine keeps the better value,
        # and the lower index among equal ones: commutative and associative, so
        # XLA may combine in any order and still return the first occurrence.
        # NaNs are equal to each other and beat every number (numpy's argmax and
        # argmin both return the first NaN).
        aval, out_aval = ctx.avals_in[0], ctx.avals_out[0]
        if aval.dtype == dtypes.bool_:  # compare as integers
            x = ctx.convert(x, aval, np.int32)
            aval = aval.update(dtype=np.int32)
        idx_aval = ShapedArray(aval.shape, index_dtype)
        iota = ctx.op("stablehlo.iota", [], [], idx_aval, f"iota_dimension = {axes[0]} : i64")
        val_s, idx_s = ShapedArray((), aval.dtype), ShapedArray((), index_dtype)
        init_val = ctx.constant((_max_identity if is_max else _min_identity)(aval.dtype), val_s)
        init_idx = ctx.constant(0, idx_s)

        def body(c, a, ia, b, ib):
            if is_max:  # a better: b < a with NaN above every number
                better, eq = lower_order(c, b, a, val_s, nan_last=True)
            else:       # a better: a < b with NaN below every number
                better, eq = lower_order(c, a, b, val_s, nan_last=False)
            first = lower_logical(c, "and", eq, lower_compare(c, ia, ib, idx_s, "LT"))
            pick_a = lower_logical(c, "or", better, first)
            return ([lower_select(c, pick_a, a, b, val_s), lower_select(c, pick_a, ia, ib, idx_s)],
                    [val_s, idx_s])

        region = ctx.region([val_s, idx_s, val_s, idx_s], body)
        outs = ctx.op("stablehlo.reduce", [x, iota, init_val, init_idx],
                      [aval, idx_aval, val_s, idx_s],
                      [out_aval.update(dtype=aval.dtype), out_aval],
                      f"dimensions = {i64_array(axes)}", regions=[region])
        return outs[1]
    return rule


argmax_p.def_lower(_arg_lower(True))
argmin_p.def_lower(_arg_lower(False))


def _cumulative_lower(kind):
    combine, identity = _REDUCERS[kind]

    def rule(ctx, x, *, axis, reverse):
        # A reduce_window whose window covers the whole axis, padded with the
        # identity so output i combines inputs 0..i (i..n-1 when reverse): XLA
        # rewrites this into a scan; compiling and running it measured several
        # times faster on the CPU than a log-depth scan of pads.
        # float16/bfloat16 accumulate in their own dtype, as in JAX (see _xla_scan).
        aval = ctx.avals_in[0]
        dtype = aval.dtype
        scalar = ShapedArray((), dtype)
        init = ctx.constant(identity(dtype), scalar)
        n = aval.shape[axis]
        window = [1] * aval.ndim
        window[axis] = max(n, 1)
        padding = [[0, 0] for _ in range(aval.ndim)]
        padding[axis] = [0, max(n - 1, 0)] if reverse else [max(n - 1, 0), 0]
        pad_text = ", ".join(f"[{lo}, {hi}]" for lo, hi in padding)
        region = ctx.region([scalar, scalar],
                            lambda c, a, b: ([combine(c, a, b, scalar)], [scalar]))
        out = ctx.op("stablehlo.reduce_window", [x, init], [aval, scalar], aval,
                     f"window_dimensions = {i64_array(window)}, "
                     f"padding = dense<[{pad_text}]> : tensor<{aval.ndim}x2xi64>",
                     regions=[region])
        return out
    return rule


for _p, _kind in ((cumsum_p, "sum"), (cumprod_p, "prod"), (cummax_p, "max"), (cummin_p, "min")):
    _p.def_lower(_cumulative_lower(_kind))
