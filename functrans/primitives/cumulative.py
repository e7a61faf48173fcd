"""Cumulative reductions: cum{sum,prod,max,min} along one axis, every rule beside
its primitive.

Params: ``axis`` (a non-negative int, normalized by the wrappers) and
``reverse`` (accumulate from the end). Outputs keep the operand's dtype and
weak type.

Impls upcast float16/bfloat16 to float32 (``_reduction_common._upcast``),
except that cumsum and cumprod round every step to the 16-bit dtype in XLA's
order, as JAX's do (``_xla_scan``).

Autodiff: cumsum is linear (its transpose is the reverse cumsum); cumprod
differentiates without dividing by x (a log-depth scan of (product, tangent)
pairs), so inputs with zeros are exact; cummax/cummin differentiate JAX's
associative scan of max/min (its tree splits ties). vmap keeps the batch axis
in place and renumbers ``axis``. jit: a stablehlo.reduce_window over the
whole axis.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.jvp import defjvp, deflinear
from ..interpreters.lowering import i64_array
from ._reduction_common import _LOW_FLOATS, _REDUCERS, _batched_axis, _shift, _upcast
from ._rules import ANY, NUMERIC, check_dtype, normalize_axis
from .elementwise import add_p, max_p, min_p, mul_p
from .shape import concatenate, pad, rev
from .slicing import slice_in_dim

__all__ = ["cumsum", "cumprod", "cummax", "cummin"]


# --- impls and primitives ------------------------------------------------------------------------


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


# --- batch rules: the batch axis stays in place, ``axis`` is renumbered around it ---------------


def _cumulative_batch(p):
    def rule(args, bdims, *, axis, reverse):
        (x,), (d,) = args, bdims
        return bind(p, x, axis=_batched_axis(axis, d), reverse=reverse), d
    p.def_batch(rule)


for _p in (cumsum_p, cumprod_p, cummax_p, cummin_p):
    _cumulative_batch(_p)


# --- lower rules ---------------------------------------------------------------------------------


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
