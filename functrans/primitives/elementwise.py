"""Elementwise primitives: unary math, binary arithmetic and comparisons,
select_n, convert_element_type, integer_pow, complex parts, stop_gradient.

Shape rule: all operands have one shape, except that rank-0 operands
broadcast (so ``mul x 2.0`` needs no broadcast equation). Operands share one
dtype; functrans.numpy promotes before binding. The output is weakly typed
only when every operand is.

Each primitive here has ``impl``, ``abstract_eval`` and ``batch`` (below: every
one acts on each element alone, so vmap applies it to the batched operands,
lining up their batch axes). The jvp and transpose rules are in
``elementwise_ad.py`` and the lower rules (StableHLO, for jit) in
``elementwise_lower.py``, in this file's order: this file would pass the
size budget with them.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval, is_scalar_literal
from ..interpreters.batching import (bdim_to_front, broadcast_batch, broadcast_batcher,
                                     defbroadcasting, defvectorized)
from ._rules import (ANY, BOOL, COMPLEX, FLOAT, INEXACT, INTEGRAL, NUMERIC, ORDERED,
                     category, check_dtype, check_same_dtypes, elementwise_shape, lax_operands,
                     scalar_constant)


def _with_low_precision_upcast(fn):
    """Runs a scipy function in float32 for float16/bfloat16 inputs (no such loops)."""
    def impl(x):
        if x.dtype in (dtypes.float16, dtypes.bfloat16):
            return fn(x.astype(np.float32)).astype(x.dtype)
        return fn(x)
    impl.__name__ = getattr(fn, "__name__", "impl")
    return impl


# --- unary --------------------------------------------------------------------------------


def _unary_abstract_eval(name, allowed, out_dtype):
    def abstract_eval(x: ShapedArray, **params) -> ShapedArray:
        check_dtype(name, x, allowed)
        dtype = out_dtype(x.dtype) if out_dtype else x.dtype
        # A weak operand gives a weak result, as in JAX: abs/real/imag of a weak
        # complex are weak reals, is_finite of a weak float a weak bool.
        return ShapedArray(x.shape, dtype, x.weak_type)
    return abstract_eval


def unary(name: str, impl, allowed, out_dtype=None) -> Primitive:
    """Defines an elementwise unary primitive with its impl and abstract_eval."""
    p = Primitive(name)
    p.impl = impl
    p.abstract_eval = _unary_abstract_eval(name, allowed, out_dtype)
    p.same_aval = out_dtype is None and FLOAT in allowed
    return p


def _round_away_from_zero(x):
    # rint rounds halves to even; move exact halves away from zero instead.
    # (floor(|x| + 0.5) would round in floating point: 0.49999997 + 0.5 == 1.)
    trunc = np.trunc(x)
    with np.errstate(invalid="ignore"):
        half = np.abs(x - trunc) == x.dtype.type(0.5)
    return np.where(half, trunc + np.sign(x), np.rint(x))


def _round_impl(x, *, rounding_method=0):
    return _round_away_from_zero(x) if rounding_method == 0 else np.rint(x)


def _rsqrt(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.reciprocal(np.sqrt(x))


def _logistic(x):
    # 1 / (1 + exp(-x)) without overflow warnings for large negative x.
    with np.errstate(over="ignore"):
        return np.reciprocal(np.exp(-x) + x.dtype.type(1))


def _sign(x):
    # XLA's (and JAX's) sign keeps a zero's sign: sign(-0.0) is -0.0 (numpy's is +0.0)
    out = np.sign(x)
    if out.dtype.kind == "f":
        out = np.where(x == 0, x, out)
    return out


# scipy's special functions, with XLA's (JAX's) values where scipy's differ:


def _erf_inv(x):
    return np.where(x == 0, x, scipy.special.erfinv(x))     # erf_inv(-0.0) is -0.0


def _lgamma(x):
    return np.where(np.isneginf(x), np.inf, scipy.special.gammaln(x))   # +inf at -inf


def _polygamma(m, x):
    """digamma (m = 0) or polygamma(m, x): at a pole (an integer x <= 0, or -inf)
    NaN, or +inf for odd m; NaN at +inf for m >= 1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = scipy.special.digamma(x) if m == 0 else scipy.special.polygamma(m, x)
        pole = (x <= 0) & (np.floor(x) == x)
    out = np.where(pole, np.inf if m % 2 else np.nan, out)
    if m:
        out = np.where(np.isposinf(x), np.nan, out)
    return out.astype(x.dtype, copy=False)


def _is_finite(x):
    return np.isfinite(x)


neg_p = unary("neg", np.negative, NUMERIC)
sign_p = unary("sign", _sign, NUMERIC)
floor_p = unary("floor", np.floor, (FLOAT,))
ceil_p = unary("ceil", np.ceil, (FLOAT,))
round_p = unary("round", _round_impl, (FLOAT,))
is_finite_p = unary("is_finite", _is_finite, (FLOAT,), out_dtype=lambda d: dtypes.bool_)
exp_p = unary("exp", np.exp, INEXACT)
exp2_p = unary("exp2", np.exp2, INEXACT)
log_p = unary("log", np.log, INEXACT)
log1p_p = unary("log1p", np.log1p, INEXACT)
expm1_p = unary("expm1", np.expm1, INEXACT)
tanh_p = unary("tanh", np.tanh, INEXACT)
logistic_p = unary("logistic", _logistic, INEXACT)
sin_p = unary("sin", np.sin, INEXACT)
cos_p = unary("cos", np.cos, INEXACT)
tan_p = unary("tan", np.tan, INEXACT)
asin_p = unary("asin", np.arcsin, INEXACT)
acos_p = unary("acos", np.arccos, INEXACT)
atan_p = unary("atan", np.arctan, INEXACT)
sinh_p = unary("sinh", np.sinh, INEXACT)
cosh_p = unary("cosh", np.cosh, INEXACT)
asinh_p = unary("asinh", np.arcsinh, INEXACT)
acosh_p = unary("acosh", np.arccosh, INEXACT)
atanh_p = unary("atanh", np.arctanh, INEXACT)
sqrt_p = unary("sqrt", np.sqrt, INEXACT)
rsqrt_p = unary("rsqrt", _rsqrt, INEXACT)
cbrt_p = unary("cbrt", np.cbrt, (FLOAT,))
abs_p = unary("abs", np.abs, NUMERIC, out_dtype=dtypes.real_dtype)
erf_p = unary("erf", _with_low_precision_upcast(scipy.special.erf), (FLOAT,))
erfc_p = unary("erfc", _with_low_precision_upcast(scipy.special.erfc), (FLOAT,))
erf_inv_p = unary("erf_inv", _with_low_precision_upcast(_erf_inv), (FLOAT,))
lgamma_p = unary("lgamma", _with_low_precision_upcast(_lgamma), (FLOAT,))
digamma_p = unary("digamma", _with_low_precision_upcast(lambda x: _polygamma(0, x)), (FLOAT,))
not_p = unary("not", np.invert, (BOOL,) + INTEGRAL)
real_p = unary("real", np.real, (COMPLEX,), out_dtype=dtypes.real_dtype)
imag_p = unary("imag", np.imag, (COMPLEX,), out_dtype=dtypes.real_dtype)
conj_p = unary("conj", np.conjugate, (COMPLEX,))
stop_gradient_p = unary("stop_gradient", lambda x: x, ANY)


def _integer_pow_impl(x, *, y):
    if y < 0 and dtypes.is_int(x.dtype):
        return np.power(x.astype(np.float64), y).astype(x.dtype)
    return np.power(x, y, dtype=x.dtype) if y >= 0 else np.power(x, float(y)).astype(x.dtype)


integer_pow_p = unary("integer_pow", _integer_pow_impl, NUMERIC)


def _integer_pow_abstract_eval(x: ShapedArray, *, y: int) -> ShapedArray:
    if y < 0 and category(x.dtype) in INTEGRAL:
        raise TypeError(f"integer_pow: integers cannot be raised to a negative power "
                        f"({x.str_short()} ** {y}); convert x to a float dtype first")
    return _unary_abstract_eval("integer_pow", NUMERIC, None)(x)


integer_pow_p.abstract_eval = _integer_pow_abstract_eval


# polygamma(m, x) for a static order m >= 0: the derivatives of digamma. It is
# here so that digamma (and lgamma) can be differentiated to any order: the jvp
# of polygamma of order m is polygamma of order m + 1. It is kept out of
# UNARY_PRIMITIVES because of its parameter (like integer_pow's y).


def _polygamma_impl(x, *, m):
    return _with_low_precision_upcast(lambda v: _polygamma(m, v))(x)


def _polygamma_abstract_eval(x: ShapedArray, *, m: int) -> ShapedArray:
    if not isinstance(m, int) or m < 0:
        raise ValueError(f"polygamma: the order m must be a non-negative Python int, got {m!r}")
    return _unary_abstract_eval("polygamma", (FLOAT,), None)(x)


polygamma_p = unary("polygamma", _polygamma_impl, (FLOAT,))
polygamma_p.abstract_eval = _polygamma_abstract_eval


# --- binary -------------------------------------------------------------------------------


def _binary_abstract_eval(name, allowed, out_dtype):
    def abstract_eval(*avals, **params) -> ShapedArray:
        for a in avals:
            check_dtype(name, a, allowed)
        check_same_dtypes(name, avals)
        shape = elementwise_shape(name, avals)
        # weak when every operand is, bool results (comparisons) too, as in JAX
        return ShapedArray(shape, avals[0].dtype if out_dtype is None else out_dtype,
                           all(a.weak_type for a in avals))
    return abstract_eval


def binary(name: str, impl, allowed, out_dtype=None) -> Primitive:
    """Defines an elementwise binary primitive with its impl and abstract_eval."""
    p = Primitive(name)
    p.impl = impl
    p.abstract_eval = _binary_abstract_eval(name, allowed, out_dtype)
    p.same_aval = out_dtype is None and FLOAT in allowed
    return p


def _div_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    dtype = np.result_type(x, y)
    if dtype.kind not in "iu":
        return np.true_divide(x, y)
    # XLA's integer division: rounds toward zero (C semantics), not down; x / 0 is
    # -1 (all ones), and the overflowing INT_MIN / -1 is INT_MIN.
    by_zero = y == 0
    safe_y = np.where(by_zero, np.ones((), dtype), y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.floor_divide(x, safe_y)
        r = np.remainder(x, safe_y)
    if dtype.kind == "i":
        q = q + ((r != 0) & ((x < 0) != (safe_y < 0))).astype(dtype)
    return np.where(by_zero, np.array(-1).astype(dtype), q).astype(dtype, copy=False)


def _rem_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.fmod(x, y)
    if np.result_type(x, y).kind in "iu":
        # XLA's integer remainder: x % 0 is x (numpy: 0)
        r = np.where(y == 0, x, r).astype(r.dtype, copy=False)
    return r


def _pow_impl(x, y):
    # (Python scalars, from the fast path of functrans.numpy, stay as they are: NEP 50)
    if getattr(y, "dtype", None) is not None and y.dtype.kind in "iu" \
            and np.asarray(x).dtype.kind in "fc":   # an integer exponent: XLA converts it
        y = y.astype(np.asarray(x).dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.power(x, y)
    if np.ndim(y) == 0 and out.dtype.kind == "f" and y == 0.5:
        # numpy computes x ** 0.5 (an exponent that is one value) as sqrt(x): NaN and
        # -0.0 at -inf and -0.0, where pow (C, XLA, JAX) gives +inf and +0.0
        out = np.where(np.isneginf(x), out.dtype.type(np.inf), out) + out.dtype.type(0)
    return out


def _nextafter_impl(x, y):
    # y where x == y, as C and XLA do (numpy's float16 loop returns x: -0.0 vs 0.0)
    return np.where(np.equal(x, y), y, np.nextafter(x, y))


def _shift_mask(x, y, fill):
    bits = np.asarray(x).dtype.itemsize * 8
    y = np.asarray(y)
    out_of_range = (y < 0) | (y >= bits)
    return out_of_range, np.where(out_of_range, 0, y).astype(np.asarray(x).dtype)


def _shift_left_impl(x, y):
    bad, y = _shift_mask(x, y, 0)
    return np.where(bad, 0, np.left_shift(x, y)).astype(np.asarray(x).dtype)


def _shift_right_arithmetic_impl(x, y):
    # XLA fills with the top bit for every integer type, unsigned ones too:
    # shift the same bits viewed as signed.
    x = np.asarray(x)
    bad, y = _shift_mask(x, y, 0)
    signed = np.dtype(f"i{x.dtype.itemsize}")
    xs = x.view(signed)
    shifted = np.right_shift(xs, y.astype(signed))
    full = np.where(xs < 0, -1, 0).astype(signed)
    return np.where(bad, full, shifted).astype(signed).view(x.dtype)


def _shift_right_logical_impl(x, y):
    x = np.asarray(x)
    bad, y = _shift_mask(x, y, 0)
    unsigned = np.dtype(f"u{x.dtype.itemsize}")
    shifted = np.right_shift(x.view(unsigned), y.astype(unsigned)).view(x.dtype)
    return np.where(bad, 0, shifted).astype(x.dtype)


add_p = binary("add", np.add, NUMERIC)
sub_p = binary("sub", np.subtract, NUMERIC)
mul_p = binary("mul", np.multiply, NUMERIC)
div_p = binary("div", _div_impl, NUMERIC)
rem_p = binary("rem", _rem_impl, (FLOAT,) + INTEGRAL)
pow_p = binary("pow", _pow_impl, NUMERIC)
_pow_same_dtypes = pow_p.abstract_eval


def _pow_abstract_eval(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    # As jax.lax.pow: a float or complex x may have an integer exponent.
    if dtypes.is_inexact(x.dtype) and category(y.dtype) in INTEGRAL:
        return ShapedArray(elementwise_shape("pow", (x, y)), x.dtype,
                           x.weak_type and y.weak_type)
    return _pow_same_dtypes(x, y)


pow_p.abstract_eval = _pow_abstract_eval
def _signed_zero_extremum(ufunc, is_max):
    """numpy's maximum/minimum, with XLA's zeros: max(-0.0, +0.0) is +0.0 and
    min(-0.0, +0.0) is -0.0 in either order (numpy returns the second operand).

    A rank-0 operand that cannot tie with a zero of the other sign (relu's +0.0,
    clip's bounds) costs nothing more."""
    def impl(x, y):
        out = ufunc(x, y)
        if out.dtype.kind != "f":
            return out
        x_np, y_np = np.asarray(x), np.asarray(y)
        if y_np.ndim == 0 and (y_np != 0 or bool(np.signbit(y_np)) != is_max):
            return out          # y is not a zero, or the zero that wins a tie anyway
        if x_np.ndim == 0 and x_np != 0:
            return out
        zero = out == 0          # (one pass; the tie test only where a zero came out)
        if not zero.any():
            return out
        tie = zero & (x_np == 0) & (y_np == 0)
        if tie.any():
            # both zero: x + y is -0.0 only when both are; -(-x + -y) is +0.0 only then
            fixed = x_np + y_np if is_max else -((-x_np) + (-y_np))
            out = np.where(tie, fixed, out).astype(out.dtype, copy=False)
        return out
    return impl


max_p = binary("max", _signed_zero_extremum(np.maximum, True), ANY)
min_p = binary("min", _signed_zero_extremum(np.minimum, False), ANY)
atan2_p = binary("atan2", np.arctan2, (FLOAT,))
nextafter_p = binary("nextafter", _nextafter_impl, (FLOAT,))


def _complex_impl(x, y):
    # not x + 1j * y: 1j * inf is nan + inf j, so an infinite y would spoil the real part
    x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    out = np.empty(x.shape, dtypes.complex_dtype(x.dtype))
    out.real, out.imag = x, y
    return out


complex_p = binary("complex", _complex_impl, (FLOAT,))
complex_p.abstract_eval = (lambda x, y, _ae=complex_p.abstract_eval:
                           _ae(x, y).update(dtype=dtypes.complex_dtype(x.dtype)))
complex_p.same_aval = False  # its result is complex
and_p = binary("and", np.bitwise_and, (BOOL,) + INTEGRAL)
or_p = binary("or", np.bitwise_or, (BOOL,) + INTEGRAL)
xor_p = binary("xor", np.bitwise_xor, (BOOL,) + INTEGRAL)
shift_left_p = binary("shift_left", _shift_left_impl, INTEGRAL)
shift_right_arithmetic_p = binary("shift_right_arithmetic", _shift_right_arithmetic_impl, INTEGRAL)
shift_right_logical_p = binary("shift_right_logical", _shift_right_logical_impl, INTEGRAL)
eq_p = binary("eq", np.equal, ANY, out_dtype=dtypes.bool_)
ne_p = binary("ne", np.not_equal, ANY, out_dtype=dtypes.bool_)
lt_p = binary("lt", np.less, ORDERED, out_dtype=dtypes.bool_)
le_p = binary("le", np.less_equal, ORDERED, out_dtype=dtypes.bool_)
gt_p = binary("gt", np.greater, ORDERED, out_dtype=dtypes.bool_)
ge_p = binary("ge", np.greater_equal, ORDERED, out_dtype=dtypes.bool_)


# --- select_n -------------------------------------------------------------------------------

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


# --- convert_element_type ------------------------------------------------------------------

convert_element_type_p = Primitive("convert_element_type")


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


# --- bitcast_convert_type ---------------------------------------------------------------------

bitcast_convert_type_p = Primitive("bitcast_convert_type")


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


def bitcast_convert_type(x, new_dtype):
    """Reinterprets the bits of x as ``new_dtype``; a narrower type adds a trailing axis
    (f32[3] -> u8[3,4]), a wider one consumes it (u8[3,4] -> f32[3]), as in JAX."""
    return bind(bitcast_convert_type_p, x, new_dtype=dtypes.canonicalize(new_dtype))


# --- lax-level wrappers --------------------------------------------------------------------
# One function per primitive, as JAX's lax module spells them.


_SCALAR_TYPES = frozenset([bool, int, float, complex])


def _unary_wrapper(p, doc):
    def f(x):
        if type(x) in _SCALAR_TYPES:   # a weakly typed operand, as in JAX
            (x,) = lax_operands(x)
        return bind(p, x)
    f.__name__ = f.__qualname__ = p.name
    f.__doc__ = doc
    return f


def _binary_wrapper(p, doc):
    def f(x, y):
        if type(x) in _SCALAR_TYPES or type(y) in _SCALAR_TYPES:
            x, y = lax_operands(x, y)
        return bind(p, x, y)  # the common case costs no lax_operands call
    f.__name__ = f.__qualname__ = p.name
    f.__doc__ = doc
    return f


_UNARY_DOCS = {
    neg_p: "Elementwise negation: -x.", sign_p: "Elementwise sign (-1, 0, 1; x/|x| for complex).",
    floor_p: "Elementwise floor.", ceil_p: "Elementwise ceiling.",
    is_finite_p: "Elementwise test for finite values (not inf or NaN).",
    exp_p: "Elementwise e**x.", exp2_p: "Elementwise 2**x.", log_p: "Elementwise natural log.",
    log1p_p: "Elementwise log(1 + x), accurate for small x.",
    expm1_p: "Elementwise exp(x) - 1, accurate for small x.", tanh_p: "Elementwise tanh.",
    logistic_p: "Elementwise logistic sigmoid 1 / (1 + exp(-x)).", sin_p: "Elementwise sine.",
    cos_p: "Elementwise cosine.", tan_p: "Elementwise tangent.", asin_p: "Elementwise arcsine.",
    acos_p: "Elementwise arccosine.", atan_p: "Elementwise arctangent.",
    sinh_p: "Elementwise sinh.", cosh_p: "Elementwise cosh.", asinh_p: "Elementwise asinh.",
    acosh_p: "Elementwise acosh.", atanh_p: "Elementwise atanh.", sqrt_p: "Elementwise sqrt.",
    rsqrt_p: "Elementwise 1 / sqrt(x).", cbrt_p: "Elementwise cube root.",
    abs_p: "Elementwise absolute value (the modulus, of real dtype, for complex).",
    erf_p: "Elementwise error function.", erf_inv_p: "Elementwise inverse error function.",
    erfc_p: "Elementwise complementary error function 1 - erf(x), accurate in the tail.",
    lgamma_p: "Elementwise log of the absolute value of the gamma function.",
    digamma_p: "Elementwise digamma function (derivative of lgamma).",
    not_p: "Elementwise logical (bool) or bitwise (integer) not.",
    real_p: "Real part of a complex array.", imag_p: "Imaginary part of a complex array.",
    conj_p: "Complex conjugate.",
    stop_gradient_p: "The identity, whose derivative is zero: stops gradients flowing through x.",
}

_BINARY_DOCS = {
    add_p: "Elementwise x + y.", sub_p: "Elementwise x - y.", mul_p: "Elementwise x * y.",
    div_p: "Elementwise x / y; integer division rounds toward zero.",
    rem_p: "Elementwise remainder with the sign of x (C fmod).", pow_p: "Elementwise x ** y.",
    max_p: "Elementwise maximum (NaN-propagating).", min_p: "Elementwise minimum (NaN-propagating).",
    atan2_p: "Elementwise atan2(x, y).", nextafter_p: "Next representable value after x toward y.",
    complex_p: "Builds x + 1j * y.", and_p: "Elementwise logical/bitwise and.",
    or_p: "Elementwise logical/bitwise or.", xor_p: "Elementwise logical/bitwise xor.",
    shift_left_p: "Elementwise x << y (0 when y is out of range).",
    shift_right_arithmetic_p: "Elementwise arithmetic x >> y.",
    shift_right_logical_p: "Elementwise logical x >> y.",
    eq_p: "Elementwise x == y.", ne_p: "Elementwise x != y.", lt_p: "Elementwise x < y.",
    le_p: "Elementwise x <= y.", gt_p: "Elementwise x > y.", ge_p: "Elementwise x >= y.",
}

UNARY_PRIMITIVES = tuple(_UNARY_DOCS)
BINARY_PRIMITIVES = tuple(_BINARY_DOCS)
_WRAPPERS = {p.name: _unary_wrapper(p, d) for p, d in _UNARY_DOCS.items()}
_WRAPPERS.update({p.name: _binary_wrapper(p, d) for p, d in _BINARY_DOCS.items()})
globals().update({k: v for k, v in _WRAPPERS.items() if k not in ("and", "or", "not")})
bitwise_and, bitwise_or, bitwise_not = _WRAPPERS["and"], _WRAPPERS["or"], _WRAPPERS["not"]
bitwise_xor = _WRAPPERS["xor"]


def conj(x):
    """Complex conjugate; of a real x, ``complex(x, +0)`` (as ``jax.lax.conj``)."""
    if type(x) in _SCALAR_TYPES:
        (x,) = lax_operands(x)
    aval = get_aval(x)
    if aval.dtype in (dtypes.float32, dtypes.float64):   # (jax rejects float16)
        return bind(complex_p, x, scalar_constant(0, aval.dtype, aval.weak_type))
    return bind(conj_p, x)


def round(x, rounding_method=0):  # noqa: A001  (lax's name)
    """Elementwise rounding: method 0 rounds half away from zero, 1 half to even."""
    return bind(round_p, x, rounding_method=int(rounding_method))


def integer_pow(x, y: int):
    """x ** y for a static Python int y."""
    return bind(integer_pow_p, x, y=int(y))


def polygamma(m, x):
    """The polygamma function of order ``m``: the (m+1)-th derivative of lgamma.

    ``m`` is a float (as in ``jax.lax.polygamma``, where it has x's dtype) or a
    Python int, and must be concrete (not traced): each distinct order is a
    ``polygamma`` primitive of static order. An order that is not a non-negative
    integer gives NaN, as in JAX. ``polygamma(0, x)`` is digamma.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> print(f"{lax.polygamma(1.0, fnp.asarray(1.0)).item():.4f}")   # pi**2 / 6
        1.6449
    """
    if type(x) in _SCALAR_TYPES:
        (x,) = lax_operands(x)
    if isinstance(m, (int, np.integer)) and not isinstance(m, (bool, np.bool_)):
        return bind(polygamma_p, x, m=int(m))
    from ..core import to_concrete_value
    value = to_concrete_value(m)
    if value is None:
        raise TypeError("polygamma: the order m must be concrete (each order is a "
                        "separate computation); it is traced here")
    aval, m_aval = get_aval(x), get_aval(value)
    if dtypes.is_complex(m_aval.dtype) or m_aval.dtype == dtypes.bool_:
        raise TypeError(f"polygamma: the order m must be real, got {m_aval.dtype}")
    orders = np.asarray(value)
    shape = np.broadcast_shapes(orders.shape, aval.shape)
    if shape != aval.shape:
        from .shape import broadcast_in_dim
        x = broadcast_in_dim(x, shape, tuple(range(len(shape) - aval.ndim, len(shape))))
    orders = np.broadcast_to(orders, shape)
    nan = scalar_constant(float("nan"), aval.dtype, aval.weak_type)
    out = None
    for order in np.unique(orders):
        valid = order >= 0 and float(order).is_integer()
        part = bind(polygamma_p, x, m=int(order)) if valid else nan
        if out is None:
            out = part
        else:
            out = select_n(np.asarray(orders == order), out, part)
    if get_aval(out).shape != shape:   # every order invalid: NaN of x's shape
        from .shape import broadcast_in_dim
        out = broadcast_in_dim(out, shape, ())
    return out


def select_n(which, *cases):
    """Chooses, elementwise, ``cases[which]`` (bool which: False -> cases[0])."""
    return bind(select_n_p, which, *lax_operands(*cases))


def select(pred, on_true, on_false):
    """``on_true`` where pred else ``on_false`` (lax.select)."""
    return select_n(pred, on_false, on_true)


def convert_element_type(x, new_dtype, weak_type: bool = False):
    """Converts x to ``new_dtype`` (canonicalized), a no-op when nothing changes."""
    new_dtype = dtypes.canonicalize(new_dtype)
    aval = get_aval(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type and not is_scalar_literal(x):
        return x
    return bind(convert_element_type_p, x, new_dtype=new_dtype, weak_type=bool(weak_type))


def clamp(lo, x, hi):
    """Elementwise ``min(max(x, lo), hi)``, with JAX's derivatives.

    The derivative in ``x`` is 1 strictly between the bounds and 0 at and beyond
    them; ``lo`` gets it where ``lo > x`` (and ``lo < hi``), ``hi`` where
    ``hi < x`` (so at a bound no operand gets it). ``max`` and ``min`` alone
    would split a tie's tangent in half.
    """
    lo, x, hi = lax_operands(lo, x, hi)
    value = bind(stop_gradient_p, bind(min_p, bind(max_p, x, lo), hi))   # where no operand is chosen
    out = select_n(lt_p.bind(hi, x), value, hi)
    out = select_n(and_p.bind(gt_p.bind(lo, x), lt_p.bind(lo, hi)), out, lo)
    return select_n(and_p.bind(gt_p.bind(x, lo), lt_p.bind(x, hi)), out, x)


__all__ = sorted([k for k in _WRAPPERS if k not in ("and", "or", "not", "xor")]
                 + ["bitwise_and", "bitwise_or", "bitwise_not", "bitwise_xor", "round",
                    "integer_pow", "polygamma", "select_n", "select", "convert_element_type",
                    "clamp", "bitcast_convert_type"])


# --- batching -----------------------------------------------------------------------------
# Unary ops (and conversions, whose params pass through) apply to a batched
# operand as they are; n-ary ones line up the operands' batch axes
# (broadcast_batcher also handles rank-0 operands, mapped or not, and
# select_n's rank-0 selector or cases).

for _p in UNARY_PRIMITIVES + (round_p, integer_pow_p, polygamma_p, convert_element_type_p):
    defvectorized(_p)
for _p in BINARY_PRIMITIVES:
    defbroadcasting(_p)
del _p


@bitcast_convert_type_p.def_batch
def _bitcast_batch(args, bdims, *, new_dtype):
    # (the batch axis in front: a change of width adds or consumes the trailing axis)
    (x,), (bdim,) = args, bdims
    x = bdim_to_front(x, bdim, get_aval(x).shape[bdim])
    return bind(bitcast_convert_type_p, x, new_dtype=new_dtype), 0


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


# The jvp and transpose rules live in elementwise_ad.py, the lower rules in
# elementwise_lower.py, in this file's order.
from . import elementwise_ad  # noqa: E402,F401
from . import elementwise_lower  # noqa: E402,F401
