"""What the slicing families share: ``slicing.py`` (slice), ``dynamic_slicing.py``
(dynamic_slice, dynamic_update_slice), ``gather_scatter.py`` (gather, scatter,
scatter_add) and ``scatter_combine.py`` (scatter_mul, scatter_min, scatter_max).

* Parameters: static ints (``_static_ints``) and dimension-number checks.
* Rule-writing helpers: ``_linear_jvp`` (a jvp for a primitive linear in some
  of its inputs together, the others being indices), zeros and scalars.
* The numpy index arithmetic of a window read (gather) or write (scatter):
  ``_window_indices``.
* StableHLO pieces for index vectors: comparisons, clamping into bounds, and
  the test of whether a window fits.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..array import _new_array
from ..core import ShapedArray, Tracer, bind, get_aval, to_concrete_value
from ..interpreters.jvp import Zero, instantiate, tangent_aval, zeros_like_aval
from ..interpreters.lowering import i64_array
from ..interpreters.reverse import is_undefined
from .shape import broadcast_in_dim

_BOOL = np.dtype(np.bool_)


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


# --- rule-writing helpers ---------------------------------------------------------------------


def _aval(x):
    """The aval of a transpose-rule argument, linear (undefined) or not."""
    return x.aval if is_undefined(x) else get_aval(x)


def _zeros(shape, dtype):
    return zeros_like_aval(ShapedArray(tuple(shape), dtype))


def _scalar(value, dtype):
    return _new_array(np.asarray(value, dtype), False)


def _full_like(x, value):
    """An array of ``value`` with x's shape, dtype and weak type."""
    aval = get_aval(x)
    return broadcast_in_dim(_new_array(np.asarray(value, aval.dtype), aval.weak_type),
                            aval.shape, ())


def _linear_jvp(prim, linear):
    """A jvp for ``prim`` linear in the inputs ``linear`` together (the others are indices).

    The tangent is ``prim`` applied to those inputs' tangents (Zeros instantiated)
    with the other inputs' primal values in place.
    """
    def rule(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        if all(type(tangents[i]) is Zero for i in linear):
            return ans, Zero(tangent_aval(get_aval(ans)))
        args = list(primals)
        for i in linear:
            args[i] = instantiate(tangents[i])
        return ans, bind(prim, *args, **params)
    prim.def_jvp(rule)
    return rule


# --- dimension numbers and window indices (gather and scatter) ------------------------------


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


# --- StableHLO pieces (gather and scatter) ----------------------------------------------------


def _compare_type(dtype) -> str:
    if dtype == _BOOL or dtypes.is_unsigned(dtype):
        return "UNSIGNED"
    if np.issubdtype(dtype, np.integer):
        return "SIGNED"
    return "FLOAT"


def _compare(ctx, a, b, aval: ShapedArray, direction: str) -> str:
    return ctx.op("stablehlo.compare", [a, b], [aval, aval], aval.update(dtype=_BOOL),
                  f"comparison_direction = #stablehlo<comparison_direction {direction}>, "
                  f"compare_type = #stablehlo<comparison_type {_compare_type(aval.dtype)}>")


def _dims_list(dims) -> str:
    return "[" + ", ".join(str(int(d)) for d in dims) + "]"


def _dnums_attr(kind: str, fields) -> str:
    """``#stablehlo.gather<...>`` / ``#stablehlo.scatter<...>``; empty lists are left out."""
    parts = [f"{name} = {_dims_list(v)}" for name, v in fields[:-1] if len(v)]
    parts.append(f"{fields[-1][0]} = {fields[-1][1]}")
    return f"#stablehlo.{kind}<{', '.join(parts)}>"


def _bounds(idx_aval: ShapedArray, his):
    """Per index-vector entry upper bounds, clipped to the index dtype's range."""
    top = int(dtypes.iinfo(idx_aval.dtype).max)
    return np.array([min(h, top) for h in his], idx_aval.dtype)


def _broadcast_last(ctx, vec: np.ndarray, idx_aval: ShapedArray) -> str:
    """A (k,) host vector broadcast along the last dim of an index array's shape."""
    v_aval = ShapedArray(vec.shape, idx_aval.dtype)
    v = ctx.constant(vec, v_aval)
    return ctx.broadcast(v, v_aval, idx_aval.shape, (idx_aval.ndim - 1,))


def _clamp_indices(ctx, indices, idx_aval: ShapedArray, his) -> str:
    lo = ctx.constant(0, idx_aval)
    hi = _broadcast_last(ctx, _bounds(idx_aval, his), idx_aval)
    return ctx.op("stablehlo.clamp", [lo, indices, hi], [idx_aval] * 3, idx_aval)


def _windows_fit(ctx, indices, idx_aval: ShapedArray, his) -> str:
    """A bool per index vector (the batch dims): does each start lie in [0, hi]?"""
    bool_aval = idx_aval.update(dtype=_BOOL)
    hi = _broadcast_last(ctx, _bounds(idx_aval, his), idx_aval)
    ok = _compare(ctx, indices, hi, idx_aval, "LE")
    if not dtypes.is_unsigned(idx_aval.dtype):
        ge0 = _compare(ctx, indices, ctx.constant(0, idx_aval), idx_aval, "GE")
        ok = ctx.op("stablehlo.and", [ok, ge0], [bool_aval] * 2, bool_aval)
    scalar = ShapedArray((), _BOOL)

    def body(inner, a, b):
        return [inner.op("stablehlo.and", [a, b], [scalar] * 2, scalar)], [scalar]

    region = ctx.region([scalar, scalar], body)
    out_aval = ShapedArray(idx_aval.shape[:-1], _BOOL)
    return ctx.op("stablehlo.reduce", [ok, ctx.constant(True, scalar)], [bool_aval, scalar],
                  out_aval, f"dimensions = {i64_array([idx_aval.ndim - 1])}", [region])
