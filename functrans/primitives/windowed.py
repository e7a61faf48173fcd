"""Windowed reductions: ``reduce_window_{sum,max,min,prod}`` and the lax wrapper
``reduce_window`` (pooling is built on it: max pooling is ``reduce_window``
with ``lax.max`` and ``-inf``, average pooling a windowed sum divided by the
window size).

Params (static, one entry per operand dimension, normalized by the wrapper):
``window_dimensions``, ``window_strides``, ``padding`` (``(low, high)`` pairs,
negative crops), ``base_dilation`` and ``window_dilation``. Semantics are
XLA's ReduceWindow with the monoid's identity as the initial value: the
operand is dilated (holes) and padded with the identity (0 for sum, 1 for
prod, -inf or the dtype's minimum for max, +inf or the maximum for min), and
each output combines one window. The wrapper combines any other initial
value once with each window's result, as jax.lax.reduce_window computes on
XLA (padding never contributes).

The impl takes a strided view of every window of the padded operand (no
copy) and combines the few window offsets with numpy's ufuncs (one reduction
over the view for large windows). float16/bfloat16 sums and products
accumulate in float32, as the reductions do.

Autodiff: the sum is linear; its transpose pads the cotangent (interior
padding = strides) and sums it over windows again (JAX's rule). max/min and
prod differentiate through a *window stack*: the operand's windows laid out
along a new leading axis with pads and strided slices (a reshape when
windows tile the operand), a differentiable composition of primitives. For
max/min the whole tangent of a window comes from the *first* position (row-
major order in the window) holding its extremum, a NaN counting as the
extremum: ties do not split the tangent (as PyTorch's and JAX's max pooling;
note ``reduce_max`` averages ties instead). For prod it is reduce_prod's jvp
(exact with zeros). vmap gives the mapped axis a window of 1; jit emits one
``stablehlo.reduce_window``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..array import _new_array
from ..core import Primitive, ShapedArray, Tracer, bind, get_aval, is_scalar_literal
from ..interpreters.jvp import Zero, deflinear, tangent_aval
from ..interpreters.lowering import i64_array
from ._reduction_common import _REDUCERS, _max_identity, _min_identity
from ._rules import NUMERIC, ORDERED, check_dtype, lax_operands
from ._windows import _dilate_dim, _window_out_dim, dilate_pad, padtype_to_pads, window_view
from .conv import conv_general_vjp_lhs_padding
from .elementwise import convert_element_type, eq_p, mul_p
from .reductions import _reduce_prod_jvp, argmax, argmin, reduce_sum
from .shape import (
    broadcast_in_dim,
    broadcasted_iota,
    concatenate,
    pad,
    reshape,
    transpose,
)
from .slicing import slice as slice_

__all__ = ["reduce_window"]

_LOW_FLOATS = dtypes.LOW_FLOATS

# kind -> (numpy combine, numpy reduction, identity(dtype), allowed dtypes)
_KINDS = {
    "sum": (np.add, np.sum, lambda dt: 0, NUMERIC),
    "prod": (np.multiply, np.prod, lambda dt: 1, NUMERIC),
    "max": (np.maximum, np.max, _max_identity, ORDERED),
    "min": (np.minimum, np.min, _min_identity, ORDERED),
}


def _identity(kind: str, dtype):
    return np.asarray(_KINDS[kind][2](np.dtype(dtype)), dtype)


def _out_shape(shape, window_dimensions, window_strides, padding, base_dilation,
               window_dilation) -> tuple:
    return tuple(_window_out_dim(max(_dilate_dim(n, bd) + lo + hi, 0), _dilate_dim(w, wd), s)
                 for n, w, s, (lo, hi), bd, wd in zip(shape, window_dimensions, window_strides,
                                                      padding, base_dilation, window_dilation))


def _abstract_eval(kind):
    name = f"reduce_window_{kind}"

    def rule(x: ShapedArray, *, window_dimensions, window_strides, padding, base_dilation,
             window_dilation) -> ShapedArray:
        check_dtype(name, x, _KINDS[kind][3])
        for what, vals in (("window_dimensions", window_dimensions),
                           ("window_strides", window_strides), ("padding", padding),
                           ("base_dilation", base_dilation),
                           ("window_dilation", window_dilation)):
            if len(vals) != x.ndim:
                raise ValueError(f"{name}: {what} {tuple(vals)} needs one entry per dimension "
                                 f"of the operand {x.str_short()}")
            if what != "padding" and any(v < (0 if what == "window_dimensions" else 1)
                                         for v in vals):
                raise ValueError(f"{name}: {what} must be positive, got {tuple(vals)}")
        shape = _out_shape(x.shape, window_dimensions, window_strides, padding, base_dilation,
                           window_dilation)
        return ShapedArray(shape, x.dtype, x.weak_type)
    return rule


def _impl(kind):
    combine, reduction = _KINDS[kind][:2]

    def impl(x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation):
        x = np.asarray(x)
        if kind in ("sum", "prod") and x.dtype in _LOW_FLOATS:
            x = x.astype(np.float32)
        axes = tuple(range(x.ndim))
        ident = _identity(kind, x.dtype)
        xp = dilate_pad(x, axes, base_dilation, padding, fill=ident)
        out_shape = _out_shape(x.shape, window_dimensions, window_strides, padding,
                               base_dilation, window_dilation)
        k = math.prod(window_dimensions)
        if k == 0 or math.prod(out_shape) == 0:
            return np.full(out_shape, ident, x.dtype)
        view = window_view(xp, axes, window_dimensions, window_strides, window_dilation,
                           out_shape)
        if k > 64:
            return reduction(view, axis=tuple(range(x.ndim, 2 * x.ndim)))
        offsets = np.ndindex(*window_dimensions)
        acc = np.array(view[(Ellipsis,) + next(offsets)])
        for off in offsets:
            combine(acc, view[(Ellipsis,) + off], out=acc)
        return acc
    return impl


def _lower(kind):
    combine = _REDUCERS[kind][0]

    def rule(ctx, x, *, window_dimensions, window_strides, padding, base_dilation,
             window_dilation):
        aval, out_aval = ctx.avals_in[0], ctx.avals_out[0]
        dtype = np.dtype(np.float32) if kind in ("sum", "prod") and aval.dtype in _LOW_FLOATS \
            else aval.dtype
        x = ctx.convert(x, aval, dtype)
        aval, res_aval = aval.update(dtype=dtype), out_aval.update(dtype=dtype)
        scalar = ShapedArray((), dtype)
        init = ctx.constant(_identity(kind, dtype), scalar)
        region = ctx.region([scalar, scalar],
                            lambda c, a, b: ([combine(c, a, b, scalar)], [scalar]))
        attrs = f"window_dimensions = {i64_array(window_dimensions)}"
        if aval.ndim:
            pad_text = ", ".join(f"[{lo}, {hi}]" for lo, hi in padding)
            attrs += (f", window_strides = {i64_array(window_strides)}, "
                      f"base_dilations = {i64_array(base_dilation)}, "
                      f"window_dilations = {i64_array(window_dilation)}, "
                      f"padding = dense<[{pad_text}]> : tensor<{aval.ndim}x2xi64>")
        out = ctx.op("stablehlo.reduce_window", [x, init], [aval, scalar], res_aval, attrs,
                     regions=[region])
        return ctx.convert(out, res_aval, out_aval.dtype)
    return rule


def _batch(p):
    def rule(args, bdims, *, window_dimensions, window_strides, padding, base_dilation,
             window_dilation):
        (x,), (d,) = args, bdims

        def ins(vals, v):
            vals = list(vals)
            vals.insert(d, v)
            return tuple(vals)
        out = bind(p, x, window_dimensions=ins(window_dimensions, 1),
                   window_strides=ins(window_strides, 1), padding=ins(padding, (0, 0)),
                   base_dilation=ins(base_dilation, 1), window_dilation=ins(window_dilation, 1))
        return out, d
    return rule


def _primitive(kind) -> Primitive:
    p = Primitive(f"reduce_window_{kind}")
    p.def_abstract_eval(_abstract_eval(kind))
    p.def_impl(_impl(kind))
    p.def_lower(_lower(kind))
    p.def_batch(_batch(p))
    return p


reduce_window_sum_p = _primitive("sum")
reduce_window_prod_p = _primitive("prod")
reduce_window_max_p = _primitive("max")
reduce_window_min_p = _primitive("min")
_PRIMS = {"sum": reduce_window_sum_p, "prod": reduce_window_prod_p,
          "max": reduce_window_max_p, "min": reduce_window_min_p}


# --- autodiff rules -----------------------------------------------------------------------------


def _reduce_window_sum_transpose(ct, x, *, window_dimensions, window_strides, padding,
                                 base_dilation, window_dilation):
    # Each input element fed the outputs whose windows cover it: pad the
    # cotangent back onto the (dilated, padded) input grid and sum it over
    # windows again, reading the input positions at base_dilation strides.
    in_shape = x.aval.shape
    pads = conv_general_vjp_lhs_padding(in_shape, window_dimensions, window_strides,
                                        get_aval(ct).shape, padding, base_dilation,
                                        window_dilation)
    zero = _new_array(np.zeros((), get_aval(ct).dtype), False)
    padded = pad(ct, zero, tuple((lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides)))
    ones = (1,) * len(in_shape)
    out = bind(reduce_window_sum_p, padded, window_dimensions=tuple(window_dimensions),
               window_strides=tuple(base_dilation), padding=((0, 0),) * len(in_shape),
               base_dilation=ones, window_dilation=tuple(window_dilation))
    assert get_aval(out).shape == tuple(in_shape), (get_aval(out).shape, in_shape)
    return [out]


def window_stack(x, fill, *, window_dimensions, window_strides, padding, base_dilation,
                 window_dilation):
    """The windows of ``x`` along a new leading axis: shape ``(prod(window), *out)``.

    ``stack[k, *o]`` is element ``k`` (row-major in the window) of output
    ``o``'s window, with ``fill`` in padding and dilation holes. Built from
    pad, strided slices and concatenate (a reshape and transpose when the
    windows tile the operand), so it is differentiable, batchable and lowerable.
    """
    aval = get_aval(x)
    nd = aval.ndim
    fill = _new_array(np.asarray(fill, aval.dtype), False)
    cfg = tuple((lo, hi, bd - 1) for (lo, hi), bd in zip(padding, base_dilation))
    if any(c != (0, 0, 0) for c in cfg):
        x = pad(x, fill, cfg)
    out = _out_shape(aval.shape, window_dimensions, window_strides, padding, base_dilation,
                     window_dilation)
    k = math.prod(window_dimensions)
    if all(wd == 1 for wd in window_dilation) and tuple(window_strides) == \
            tuple(window_dimensions) and 0 not in out:
        # non-overlapping windows: crop to whole windows, split each axis (out, window)
        x = slice_(x, (0,) * nd, tuple(o * w for o, w in zip(out, window_dimensions)))
        split = tuple(v for o, w in zip(out, window_dimensions) for v in (o, w))
        x = reshape(x, split)
        x = transpose(x, tuple(range(1, 2 * nd, 2)) + tuple(range(0, 2 * nd, 2)))
        return reshape(x, (k,) + out)
    pieces = []
    for off in np.ndindex(*window_dimensions):
        start = tuple(int(o) * wd for o, wd in zip(off, window_dilation))
        limit = tuple(s + (n - 1) * st + 1 if n else s
                      for s, n, st in zip(start, out, window_strides))
        piece = slice_(x, start, limit, tuple(window_strides))
        pieces.append(reshape(piece, (1,) + out))
    return pieces[0] if len(pieces) == 1 else concatenate(pieces, 0)


def _extremum_jvp(kind):
    p = _PRIMS[kind]
    arg = argmax if kind == "max" else argmin

    def rule(primals, tangents, **params):
        (x,), (t,) = primals, tangents
        ans = bind(p, x, **params)
        out_aval = get_aval(ans)
        if math.prod(params["window_dimensions"]) == 0 or out_aval.size == 0:
            return ans, Zero(tangent_aval(out_aval))
        xs = window_stack(x, _identity(kind, get_aval(x).dtype), **params)
        shape = get_aval(xs).shape
        first = arg(xs, 0, np.int32)      # the first extremal position (first NaN for NaNs)
        where = bind(eq_p, broadcasted_iota(np.int32, shape, 0),
                     broadcast_in_dim(first, shape, tuple(range(1, len(shape)))))
        mask = convert_element_type(where, get_aval(t).dtype)
        ts = window_stack(t, 0, **params)
        return ans, reduce_sum(bind(mul_p, ts, mask), (0,))
    return rule


def _prod_jvp(primals, tangents, **params):
    (x,), (t,) = primals, tangents
    ans = bind(reduce_window_prod_p, x, **params)
    if math.prod(params["window_dimensions"]) == 0 or get_aval(ans).size == 0:
        return ans, Zero(tangent_aval(get_aval(ans)))
    xs = window_stack(x, 1, **params)
    ts = window_stack(t, 0, **params)
    return ans, _reduce_prod_jvp(ts, ans, xs, axes=(0,))


deflinear(reduce_window_sum_p)
reduce_window_sum_p.def_transpose(_reduce_window_sum_transpose)
reduce_window_max_p.def_jvp(_extremum_jvp("max"))
reduce_window_min_p.def_jvp(_extremum_jvp("min"))
reduce_window_prod_p.def_jvp(_prod_jvp)


# --- the wrapper --------------------------------------------------------------------------------


def _kind_of(computation) -> str:
    import operator

    from .. import numpy as fnp
    from . import elementwise as ew
    table = {ew.add: "sum", ew.mul: "prod", ew.max: "max", ew.min: "min",
             fnp.add: "sum", fnp.multiply: "prod", fnp.maximum: "max", fnp.minimum: "min",
             operator.add: "sum", operator.mul: "prod"}
    for fn, kind in table.items():
        if computation is fn:
            return kind
    raise TypeError(f"reduce_window: computation must be lax.add, lax.mul, lax.max or lax.min "
                    f"(or functrans.numpy's add/multiply/maximum/minimum), got {computation!r}; "
                    "a general Python reduction function is not supported")


def _static_ints(what, vals, nd, default=1) -> tuple:
    if vals is None:
        return (default,) * nd
    vals = tuple(int(v) for v in vals)
    if len(vals) != nd:
        raise ValueError(f"reduce_window: {what} {vals} needs one entry per dimension of the "
                         f"rank-{nd} operand")
    return vals


def _is_identity(init, kind: str, dtype) -> bool:
    if isinstance(init, Tracer):
        return False
    value = np.asarray(init)
    if value.shape != ():
        return False
    ident = _identity(kind, dtype)
    return bool(value == ident) or (kind in ("max", "min") and dtype == dtypes.bool_
                                    and bool(value) == bool(ident))


def reduce_window(operand, init_value, computation, window_dimensions, window_strides,
                  padding, base_dilation=None, window_dilation=None):
    """Reduces every window of ``operand`` with a monoid (XLA's ReduceWindow; JAX's
    ``lax.reduce_window`` for one operand).

    Args:
      operand: an array.
      init_value: the scalar each window's reduction starts from (padding and
        dilation holes contribute nothing, as in jax). The identity (0 for add,
        1 for mul, -inf/the dtype's minimum for max, +inf/maximum for min) is
        one primitive; another value is combined once with each window's result.
      computation: ``lax.add``, ``lax.mul``, ``lax.max`` or ``lax.min`` (or the
        functrans.numpy ufuncs add/multiply/maximum/minimum).
      window_dimensions, window_strides: one int per dimension of ``operand``.
      padding: "SAME", "SAME_LOWER", "VALID", or one ``(low, high)`` pair per dimension.
      base_dilation, window_dilation: one int per dimension (default 1).

    Returns:
      An array of the operand's dtype, one element per window.

    Example (2x2 max pooling and average pooling of an NHWC batch):
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> x = fnp.arange(16.0).reshape(1, 4, 4, 1)
        >>> lax.reduce_window(x, -fnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
        >>> (lax.reduce_window(x, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4)[0, :, :, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """
    if isinstance(operand, (tuple, list)):
        raise TypeError("reduce_window: only one operand is supported (got a sequence); reduce "
                        "each array separately")
    kind = _kind_of(computation)
    aval = get_aval(operand)
    nd = aval.ndim
    window_dimensions = _static_ints("window_dimensions", window_dimensions, nd)
    window_strides = _static_ints("window_strides", window_strides, nd)
    base_dilation = _static_ints("base_dilation", base_dilation, nd)
    window_dilation = _static_ints("window_dilation", window_dilation, nd)
    if isinstance(padding, str):
        # as jax: the operand's own shape and the dilated window
        dilated = tuple(_dilate_dim(w, d) for w, d in zip(window_dimensions, window_dilation))
        pads = padtype_to_pads(aval.shape, dilated, window_strides, padding)
    else:
        pads = tuple((int(lo), int(hi)) for lo, hi in padding)
        if len(pads) != nd:
            raise ValueError(f"reduce_window: padding {pads} needs one (low, high) pair per "
                             f"dimension of the rank-{nd} operand")
    if is_scalar_literal(init_value):
        operand, init_value = lax_operands(operand, init_value)
    init_aval = get_aval(init_value)
    if init_aval.shape != ():
        raise ValueError(f"reduce_window: init_value must be a scalar, got shape "
                         f"{init_aval.shape}")
    if init_aval.dtype != aval.dtype:
        raise TypeError(f"reduce_window: init_value's dtype {init_aval.dtype} differs from the "
                        f"operand's {aval.str_short()}")
    out = bind(_PRIMS[kind], operand, window_dimensions=window_dimensions,
               window_strides=window_strides, padding=pads, base_dilation=base_dilation,
               window_dilation=window_dilation)
    if _is_identity(init_value, kind, aval.dtype):
        return out
    # Another init value starts each window's reduction; padding and dilation
    # holes contribute nothing (what XLA's CPU and GPU reduce_window, and so
    # jax.lax.reduce_window, compute; the StableHLO spec pads with init).
    from . import elementwise as ew
    combine = {"sum": ew.add, "prod": ew.mul, "max": ew.max, "min": ew.min}[kind]
    return combine(out, init_value)
