"""Reduction primitives: reduce_{sum,prod,max,min,and,or} and argmax/argmin, every
rule beside its primitive (the cumulative cum* are in ``cumulative.py``).

Params are static tuples and ints, already normalized by the wrappers:

* ``reduce_*`` take ``axes``, a sorted tuple of distinct non-negative axes; the
  output drops those axes. An empty reduced axis gives the operation's
  identity, like XLA: 0 for sum, 1 for prod, -inf/+inf (floats) or the dtype's
  min/max (integers) for max/min, True for and, False for or.
* ``argmax``/``argmin`` take ``axes=(axis,)`` and ``index_dtype``. A NaN counts
  as the maximum (and the minimum), and ties go to the first occurrence, like
  numpy and JAX.

Outputs keep the operand's weak type (``argmax``'s indices are never weak).
functrans.numpy decides dtypes (sum of int8 -> int32) before binding.

Impls upcast float16/bfloat16 to float32, where numpy's loops are slow or,
for bfloat16, unreliable (NaN warnings); the result is cast back.

Autodiff: reduce_sum is linear (transpose: a broadcast); reduce_prod
differentiates without dividing by x, so inputs with zeros are exact;
reduce_max/min average the tangent over ties like JAX; reduce_and/or and
argmax/argmin have zero tangents. vmap keeps the batch axis in place and
renumbers the reduced axes around it. jit: reduce_* are a stablehlo.reduce,
argmax/argmin a variadic reduce of (value, index). The monoids' identities and
StableHLO combiners are shared with the cumulative and windowed reductions
(``_reduction_common.py``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.jvp import Zero, defjvp, defjvp_zero, deflinear, tangent_aval
from ..interpreters.lowering import i64_array
from ._reduction_common import (_LOW_FLOATS, _REDUCERS, _batched_axis, _max_identity,
                                _min_identity, _shift, _upcast)
from ._rules import (ANY, BOOL, INTEGRAL, NUMERIC, ORDERED, check_dtype, normalize_axes,
                     normalize_axis)
from .cumulative import cumprod
from .elementwise import convert_element_type, div_p, eq_p, mul_p, select_n
from .shape import broadcast_in_dim, reshape, transpose
from .sorting import lower_compare, lower_logical, lower_order, lower_select

__all__ = ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and",
           "reduce_or", "argmax", "argmin"]


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


# autodiff: every rule is written with primitives (``bind`` and the lax
# wrappers), so the tangent computation is itself differentiable (grad of
# grad) and traceable. Work on primals alone (indicators, exclusive products)
# is done once, outside the linear part that reverse mode records.


def _kept(ndim, axes) -> tuple:
    return tuple(i for i in range(ndim) if i not in axes)


def _reduce_sum_transpose(ct, x, *, axes):
    # The adjoint of a sum is a broadcast back along the summed axes.
    shape = x.aval.shape
    return [broadcast_in_dim(ct, shape, _kept(len(shape), axes))]


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
for _p in (reduce_and_p, reduce_or_p):
    defjvp_zero(_p)


# batch: the batch axis stays where it is; the reduced axes are renumbered around it.


def _reduce_batch(p):
    def rule(args, bdims, *, axes, **params):
        (x,), (d,) = args, bdims
        new_axes = tuple(_batched_axis(a, d) for a in axes)
        out = bind(p, x, axes=new_axes, **params)
        return out, d - sum(a < d for a in new_axes)
    p.def_batch(rule)


for _p in (reduce_sum_p, reduce_prod_p, reduce_max_p, reduce_min_p, reduce_and_p, reduce_or_p):
    _reduce_batch(_p)


# lower: one stablehlo.reduce with a scalar region; float16/bfloat16 sums and
# products accumulate in float32, as the impls do.


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


defjvp_zero(argmax_p)
defjvp_zero(argmin_p)
_reduce_batch(argmax_p)
_reduce_batch(argmin_p)


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
