"""select_n, convert_element_type, bitcast_convert_type and stop_gradient.

* ``select_n`` is linear in its cases and piecewise constant in the selector;
  lowered with an int32 selector it is a tree of compares and selects
  (``stablehlo.select`` takes a bool predicate and two cases); an index out of
  ``[0, n)`` picks the nearest case in both modes.
* ``convert_element_type`` is linear between inexact dtypes; from complex to a
  real type it keeps the real part. Float -> int saturates, NaN -> 0 (XLA's
  values, which the eager impl gives too).
* ``bitcast_convert_type`` to or from bool is ``x != 0`` / a convert under jit
  (XLA cannot bitcast its 1-bit predicates).
* ``stop_gradient`` is the identity whose tangent is zero.
"""

from __future__ import annotations

import numpy as np

from ... import dtypes
from ...core import Primitive, ShapedArray, bind, get_aval, is_scalar_literal
from ...interpreters.batching import (bdim_to_front, broadcast_batch, broadcast_batcher,
                                      defvectorized)
from ...interpreters.jvp import Zero, defjvp_zero, instantiate
from ...interpreters.reverse import is_undefined, unbroadcast_scalar
from .._rules import ANY, check_same_dtypes, elementwise_shape, lax_operands, lower_compare
from ._rows import ZERO, apply1, const, defjvp_inexact, full, hlo, hlo_select, unary, zero_tangent

# --- select_n --------------------------------------------------------------------------------

select_n_p = Primitive("select_n")


@select_n_p.def_abstract_eval
def _select_n_abstract_eval(which: ShapedArray, *cases: ShapedArray) -> ShapedArray:
    if not cases:
        raise ValueError("select_n needs at least one case")
    if which.dtype != dtypes.bool_ and which.dtype != dtypes.int32:
        raise TypeError(f"select_n: the selector must be bool or int32, got {which.dtype}")
    if which.dtype == dtypes.bool_ and len(cases) > 2:
        raise TypeError(f"select_n: a bool selector chooses between 2 cases, got {len(cases)}")
    check_same_dtypes("select_n", cases)
    shape = elementwise_shape("select_n", cases)
    if which.shape not in ((), shape):
        raise ValueError(f"select_n: the selector's shape {which.shape} must be () or the "
                         f"cases' shape {shape}")
    if shape == () and which.shape != ():
        shape = which.shape
        if any(c.shape != () for c in cases):
            raise ValueError("select_n: inconsistent shapes")
    return ShapedArray(shape, cases[0].dtype, all(c.weak_type for c in cases))


# np.where branches per element: on a random mask (a relu's) of 1.6M float32 it takes
# 5.8 ms, against 1.2 ms for choosing the bits without branches, f ^ ((f ^ t) & mask).
_SELECT_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _select_bits(which, f, t):
    """``np.where(which, t, f)`` for a bool ``which`` of the result's shape, bit-exact."""
    u = _SELECT_BITS[f.dtype.itemsize]
    shape = which.shape
    mask = which.view(np.uint8).astype(u)
    np.negative(mask, out=mask)                     # 0 or all ones
    # one side a scalar of all-zero bits (+0, a relu's backward): one pass, not three
    if f.size == 1 and not f.reshape(()).view(u):
        return np.bitwise_and(mask, np.broadcast_to(t, shape).view(u), out=mask).view(f.dtype)
    if t.size == 1 and not t.reshape(()).view(u):
        np.invert(mask, out=mask)
        return np.bitwise_and(mask, np.broadcast_to(f, shape).view(u), out=mask).view(f.dtype)
    fb = np.broadcast_to(f, shape).view(u)
    out = np.bitwise_xor(fb, np.broadcast_to(t, shape).view(u))
    np.bitwise_and(out, mask, out=out)
    np.bitwise_xor(out, fb, out=out)
    return out.view(f.dtype)


@select_n_p.def_impl
def _select_n_impl(which, *cases):
    if len(cases) == 1:
        return np.broadcast_to(cases[0], np.broadcast_shapes(np.shape(which), np.shape(cases[0])))
    which = np.asarray(which)
    if which.dtype == np.bool_:
        f, t = np.asarray(cases[0]), np.asarray(cases[1])
        if which.size >= 1 << 14 and f.dtype == t.dtype and f.dtype.itemsize in _SELECT_BITS \
                and np.broadcast_shapes(which.shape, f.shape, t.shape) == which.shape:
            return _select_bits(which, f, t)
        return np.where(which, t, f)
    # an index out of [0, n) takes the nearest case, as the lowering's tree of
    # ``which < mid`` selects does (XLA's and JAX's values; np.choose would raise)
    return np.choose(np.clip(which, 0, len(cases) - 1), np.broadcast_arrays(*cases))


@select_n_p.def_batch
def _select_n_batch(args, bdims):
    # A selector with a batch axis is never rank 0, and select_n takes a shaped
    # selector only with a shaped case: give the first case the batch axis when
    # every case is an unmapped scalar. broadcast_batcher does the rest.
    which, cases = args[0], list(args[1:])
    if bdims[0] is not None and all(d is None and get_aval(c).ndim == 0
                                    for c, d in zip(cases, bdims[1:])):
        size = get_aval(which).shape[bdims[0]]
        cases[0] = broadcast_batch(cases[0], size, 0)
        bdims = [bdims[0], 0] + list(bdims[2:])
    return broadcast_batcher(select_n_p, [which, *cases], bdims)


@select_n_p.def_jvp
def _select_n_jvp(primals, tangents):
    which, *cases = primals
    ans = bind(select_n_p, which, *cases)
    case_tangents = tangents[1:]
    if (all(type(t) is Zero for t in case_tangents)
            or not dtypes.is_inexact(get_aval(ans).dtype)):
        return ans, zero_tangent(ans)
    return ans, bind(select_n_p, which, *[instantiate(t) for t in case_tangents])


@select_n_p.def_transpose
def _select_n_transpose(ct, which, *cases):
    if is_undefined(which):
        raise ValueError("select_n: cannot transpose with respect to the selector")
    zero = const(ct, 0)
    out = [None]
    for i, case in enumerate(cases):
        if not is_undefined(case):
            out.append(None)
            continue
        if len(cases) == 1:
            picked = ct
        else:  # ct where case i is selected, 0 elsewhere
            picked = select_n(which, *[ct if j == i else zero for j in range(len(cases))])
        out.append(unbroadcast_scalar(picked, case.aval))
    return out


@select_n_p.def_lower
def _select_n_lower(ctx, which, *cases):
    xs, avals = full(ctx, [which, *cases])
    which, cases = xs[0], xs[1:]
    w_aval, aval = avals[0], ctx.avals_out[0]
    if len(cases) == 1:
        return cases[0]
    if w_aval.dtype == dtypes.bool_:
        return hlo_select(ctx, which, cases[1], cases[0], aval)

    def tree(lo, hi):  # the case for which in [lo, hi): split at the middle
        if hi - lo == 1:
            return cases[lo]
        mid = (lo + hi) // 2
        pred = lower_compare(ctx, which, ctx.constant(mid, w_aval), w_aval, "LT")
        return hlo_select(ctx, pred, tree(lo, mid), tree(mid, hi), aval)
    return tree(0, len(cases))


def select_n(which, *cases):
    """Chooses, elementwise, ``cases[which]`` (bool which: False -> cases[0])."""
    return bind(select_n_p, which, *lax_operands(*cases))


def select(pred, on_true, on_false):
    """``on_true`` where pred else ``on_false`` (lax.select)."""
    return select_n(pred, on_false, on_true)


# --- convert_element_type --------------------------------------------------------------------

convert_element_type_p = Primitive("convert_element_type")
defvectorized(convert_element_type_p)


@convert_element_type_p.def_abstract_eval
def _convert_abstract_eval(x: ShapedArray, *, new_dtype, weak_type=False) -> ShapedArray:
    return ShapedArray(x.shape, new_dtype, weak_type)


@convert_element_type_p.def_impl
def _convert_impl(x, *, new_dtype, weak_type=False):
    x = np.asarray(x)
    if x.dtype.kind == "c" and np.dtype(new_dtype).kind != "c":
        x = x.real  # like JAX: converting complex to real keeps the real part
    if dtypes.is_int(new_dtype) and dtypes.is_inexact(x.dtype):
        # Like XLA: NaN -> 0 and out-of-range values saturate (numpy's cast wraps).
        # Compare in float64, where the bounds are exact enough: a bound rounded up
        # (2**31 for int32's max) must still saturate, not wrap.
        info = dtypes.iinfo(new_dtype)
        xf = np.nan_to_num(x.astype(np.float64), nan=0.0)
        hi, lo = xf >= float(info.max), xf <= float(info.min)
        with np.errstate(invalid="ignore"):
            out = np.where(hi | lo, 0.0, xf).astype(new_dtype)
        return np.where(hi, info.max, np.where(lo, info.min, out)).astype(new_dtype)
    return x.astype(new_dtype)


def _convert_jvp(t, ans, x, *, new_dtype, weak_type=False):
    if not dtypes.is_inexact(get_aval(x).dtype):
        return zero_tangent(ans)
    # complex -> real keeps the real part, like the primal conversion; the tangent
    # has the result's weak type (JAX's convert is linear: the same conversion)
    return convert_element_type(t, new_dtype, weak_type=weak_type)


@convert_element_type_p.def_transpose
def _convert_transpose(ct, x, *, new_dtype, weak_type=False):
    if not dtypes.is_inexact(x.aval.dtype):
        return [None]
    # The transpose of real -> complex is real(ct); of complex -> real is complex(ct, 0).
    return [convert_element_type(ct, x.aval.dtype, weak_type=x.aval.weak_type)]


defjvp_inexact(convert_element_type_p, _convert_jvp)


@convert_element_type_p.def_lower
def _convert_lower(ctx, x, *, new_dtype, weak_type=False):
    aval = ctx.avals_in[0]
    new_dtype = np.dtype(new_dtype)
    if dtypes.is_complex(aval.dtype) and not dtypes.is_complex(new_dtype):
        # complex -> real keeps the real part (stablehlo.convert would too, but
        # complex -> bool must test the real part alone, as the eager impl does)
        part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
        x, aval = hlo(ctx, "stablehlo.real", [x], aval, part), part
    # float -> int: XLA saturates and maps NaN to 0, as the eager impl does;
    # -> bool is x != 0 (NaN -> True), as numpy's astype(bool)
    return ctx.convert(x, aval, new_dtype)


def convert_element_type(x, new_dtype, weak_type: bool = False):
    """Converts x to ``new_dtype`` (canonicalized), a no-op when nothing changes."""
    new_dtype = dtypes.canonicalize(new_dtype)
    aval = get_aval(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type and not is_scalar_literal(x):
        return x
    return bind(convert_element_type_p, x, new_dtype=new_dtype, weak_type=bool(weak_type))


# --- bitcast_convert_type ---------------------------------------------------------------------

bitcast_convert_type_p = Primitive("bitcast_convert_type")
defjvp_zero(bitcast_convert_type_p)


@bitcast_convert_type_p.def_abstract_eval
def _bitcast_abstract_eval(x: ShapedArray, *, new_dtype) -> ShapedArray:
    new_dtype = np.dtype(new_dtype)
    if dtypes.is_complex(x.dtype) or dtypes.is_complex(new_dtype):
        raise TypeError("bitcast_convert_type does not support complex dtypes")
    old_size, new_size = x.dtype.itemsize, new_dtype.itemsize
    if old_size == new_size:
        return ShapedArray(x.shape, new_dtype, False)
    # As JAX (and XLA): a narrower type adds a trailing axis of old/new elements; a wider
    # one consumes a trailing axis of new/old.
    if new_size < old_size:
        return ShapedArray(x.shape + (old_size // new_size,), new_dtype, False)
    if not x.shape or x.shape[-1] != new_size // old_size:  # (ValueError, as JAX)
        raise ValueError(f"bitcast_convert_type: {x.dtype}{list(x.shape)} to {new_dtype} needs a "
                        f"last axis of {new_size // old_size} elements")
    if dtypes.bool_ in (x.dtype, new_dtype):
        raise TypeError(f"bitcast_convert_type: {x.dtype} to {new_dtype}: a bool bitcasts "
                        "only to bool (use astype)")
    return ShapedArray(x.shape[:-1], new_dtype, False)


@bitcast_convert_type_p.def_impl
def _bitcast_impl(x, *, new_dtype):
    x = np.asarray(x)
    new_dtype = np.dtype(new_dtype)
    if new_dtype.itemsize == x.dtype.itemsize:
        return x.view(new_dtype)
    flat = np.ascontiguousarray(x).reshape(-1)  # (a view of other widths needs contiguity)
    if new_dtype.itemsize < x.dtype.itemsize:
        return flat.view(new_dtype).reshape(x.shape + (x.dtype.itemsize // new_dtype.itemsize,))
    return flat.view(new_dtype).reshape(x.shape[:-1])


@bitcast_convert_type_p.def_batch
def _bitcast_batch(args, bdims, *, new_dtype):
    # (the batch axis in front: a change of width adds or consumes the trailing axis)
    (x,), (bdim,) = args, bdims
    x = bdim_to_front(x, bdim, get_aval(x).shape[bdim])
    return bind(bitcast_convert_type_p, x, new_dtype=new_dtype), 0


@bitcast_convert_type_p.def_lower
def _bitcast_lower(ctx, x, *, new_dtype):
    aval = ctx.avals_in[0]
    new_dtype = np.dtype(new_dtype)
    if new_dtype == aval.dtype:
        return x
    if aval.dtype == dtypes.bool_:  # a bool's byte is 0 or 1
        return ctx.convert(x, aval, new_dtype)
    if new_dtype == dtypes.bool_:   # XLA has no bitcast to its 1-bit pred: any set bit is True
        return lower_compare(ctx, x, ctx.constant(0, aval), aval, "NE")
    return ctx.op("stablehlo.bitcast_convert", [x], [aval], ctx.avals_out[0])


def bitcast_convert_type(x, new_dtype):
    """Reinterprets the bits of x as ``new_dtype``; a narrower type adds a trailing axis
    (f32[3] -> u8[3,4]), a wider one consumes it (u8[3,4] -> f32[3]), as in JAX."""
    return bind(bitcast_convert_type_p, x, new_dtype=dtypes.canonicalize(new_dtype))


# --- stop_gradient ----------------------------------------------------------------------------

stop_gradient_p = unary("stop_gradient", lambda x: x, ANY, jvp=ZERO,
                        lower=lambda ctx, x: x)   # only differentiation treats it specially


def stop_gradient(x):
    """The identity, whose derivative is zero: stops gradients flowing through x."""
    return apply1(stop_gradient_p, x)
