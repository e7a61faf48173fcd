"""Lowering rules (jit) of the slicing primitives: StableHLO slice, dynamic_slice,
dynamic_update_slice, gather and scatter.

They live apart from ``slicing.py`` to keep it readable; this module is
imported at the end of it, so every rule is registered with its primitive.

Where XLA's op and our eager semantics (``slicing.py``) differ, the rule
composes ops to match:

* dynamic_slice / dynamic_update_slice: XLA clamps each start into
  ``[0, size - window]`` exactly as we do, but StableHLO wants all start
  indices of one integer type; mixed types are clamped in their own type and
  then converted to int32 (exact, as the clamped values fit).
* gather modes "clip" and "promise_in_bounds" are XLA's native clamping. Mode
  "fill" (XLA has none)
  gathers clamped and then selects ``fill_value`` for every window whose start
  does not fit, the same test as the eager impl.
* scatter mode "drop" is XLA's native behaviour (a window that does not fit is
  skipped whole). Mode "clip" clamps the indices first.
* An index vector of length 0 (every window starts at 0) is rewritten to a
  length-1 vector of zeros: XLA's CPU scatter mishandles the empty form.
* The combine region of scatter_add/mul/min/max on bool is or/and/and/or,
  as numpy's ufuncs on bool; min/max propagate NaN like np.minimum/maximum.
  On complex numbers, min/max compare lexicographically as numpy does
  (XLA's minimum/maximum would compare real parts only).
* ``scatter`` (overwrite) with duplicate indices: XLA applies the updates in
  an unspecified order (on GPU not even deterministically), so which
  duplicate wins may differ from eager mode, where the last one wins.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import ShapedArray
from ..interpreters.lowering import i64_array
from .slicing import (_default_fill_value, _scatter_window, dynamic_slice_p,
                      dynamic_update_slice_p, gather_p, scatter_add_p, scatter_max_p,
                      scatter_min_p, scatter_mul_p, scatter_p, slice_p)

_BOOL = np.dtype(np.bool_)


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


# --- slice, dynamic_slice, dynamic_update_slice ----------------------------------------------


@slice_p.def_lower
def _slice_lower(ctx, x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    return ctx.op("stablehlo.slice", [x], ctx.avals_in, ctx.avals_out[0],
                  f"start_indices = {i64_array(start_indices)}, "
                  f"limit_indices = {i64_array(limit_indices)}, strides = {i64_array(strides)}")


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


@dynamic_update_slice_p.def_lower
def _dynamic_update_slice_lower(ctx, x, update, *starts):
    x_aval, u_aval, *s_avals = ctx.avals_in
    starts, s_avals = _start_operands(ctx, starts, s_avals, x_aval.shape, u_aval.shape)
    return ctx.op("stablehlo.dynamic_update_slice", [x, update] + starts,
                  [x_aval, u_aval] + s_avals, ctx.avals_out[0])


# --- index bounds shared by gather and scatter ------------------------------------------------


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


# --- gather ------------------------------------------------------------------------------------


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


# --- scatter -----------------------------------------------------------------------------------

# The combine computation per primitive; for bool, the logical op numpy's ufunc gives.
_COMBINE = {scatter_p: None, scatter_add_p: ("stablehlo.add", "stablehlo.or"),
            scatter_mul_p: ("stablehlo.multiply", "stablehlo.and"),
            scatter_min_p: ("stablehlo.minimum", "stablehlo.and"),
            scatter_max_p: ("stablehlo.maximum", "stablehlo.or")}


def _complex_extremum(ctx, old, new, aval: ShapedArray, direction: str) -> str:
    """np.minimum/np.maximum of two complex scalars: XLA's minimum/maximum compare
    only real parts, numpy orders lexicographically (real, then imaginary) and
    returns a NaN operand (the first if both are NaN)."""
    part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
    pred = aval.update(dtype=_BOOL)
    o_re, o_im, n_re, n_im = (ctx.op(f"stablehlo.{k}", [v], [aval], part)
                              for v in (old, new) for k in ("real", "imag"))

    def is_nan(re, im):
        return ctx.op("stablehlo.or", [_compare(ctx, re, re, part, "NE"),
                                       _compare(ctx, im, im, part, "NE")], [pred] * 2, pred)

    def both(op, a, b):
        return ctx.op(f"stablehlo.{op}", [a, b], [pred] * 2, pred)

    old_nan, new_nan = is_nan(o_re, o_im), is_nan(n_re, n_im)
    before = both("or", _compare(ctx, n_re, o_re, part, direction),
                  both("and", _compare(ctx, n_re, o_re, part, "EQ"),
                       _compare(ctx, n_im, o_im, part, direction)))
    take_new = both("and", ctx.op("stablehlo.not", [old_nan], [pred], pred),
                    both("or", new_nan, before))
    return ctx.op("stablehlo.select", [take_new, new, old], [pred, aval, aval], aval)


def _scatter_lower(prim):
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
        ops = _COMBINE[prim]

        def body(inner, old, new):
            if ops is None:
                return [new], [scalar]
            if dtypes.is_complex(scalar.dtype) and prim in (scatter_min_p, scatter_max_p):
                direction = "LT" if prim is scatter_min_p else "GT"
                return [_complex_extremum(inner, old, new, scalar, direction)], [scalar]
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


for _p in _COMBINE:
    _scatter_lower(_p)
