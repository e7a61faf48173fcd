"""Elementwise functions of functrans.numpy (numpy's ufuncs), and where/clip.

The eager fast path
-------------------
Eager mode is the hot path of interactive code, so the most common functions
have a shortcut: with Array (or Python scalar) operands and no function being
staged out (no dynamic trace: see ``core._TraceState``), they compute the
promoted dtype from a cache, call the numpy ufunc that is the primitive's
``impl`` directly, and wrap the result. That is
exactly what ``bind`` would do after promotion and broadcasting (numpy
broadcasts the same way; NEP 50 treats Python scalars as weak, like JAX when
the array operand already has the result dtype), minus the Python overhead.
Everything else -- tracers, unusual operands, dtypes that need conversion
semantics -- takes the general path: promote, broadcast, ``bind``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..array import Array, ArrayOps, _new_array
from ..core import _state, get_aval, quietly
from ..custom import custom_jvp
from ..errors import filter_traceback
from ..primitives import elementwise as ew
from ..primitives._rules import scalar_constant
from ._util import (asarray, broadcast_shapes, inexact_type, promote_args,
                    promote_args_inexact, weak_scalar)

_INEXACT = frozenset([dtypes.float16, dtypes.float32, dtypes.float64,
                      dtypes.complex64, dtypes.complex128])
_FLOATS = frozenset([dtypes.float16, dtypes.float32, dtypes.float64])
_NUMERIC = _INEXACT | {dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64, dtypes.uint8,
                       dtypes.uint16, dtypes.uint32, dtypes.uint64}
_PY_SCALAR_TYPES = frozenset([bool, int, float, complex])

_promotion_cache: dict = {}


def _clear_cache(name):
    _promotion_cache.clear()


from ..config import config  # noqa: E402

# Python ints the eager fast path hands to numpy as they are (others take the general
# path, which checks them as JAX does)
_INT32_MIN, _INT32_MAX = dtypes.INT_BOUNDS[dtypes.int32]

config.on_change(_clear_cache)


def _promote_key(key):
    """(dtype, weak) for a cache key: two (dtype, weak) pairs, or one and a scalar type."""
    if len(key) == 4:
        return dtypes.promote_types((key[0], key[1]), (key[2], key[3]))
    if isinstance(key[0], type):
        scalar_type, dt, weak = key
    else:
        dt, weak, scalar_type = key
    return dtypes.promote_types((dt, weak), (dtypes.scalar_dtype(scalar_type(0)), scalar_type is not bool))


def _shape_error(name, x, y):
    return ValueError(f"{name}: incompatible shapes for broadcasting: "
                      f"{tuple(np.shape(x))} and {tuple(np.shape(y))}")


def _reraise(e):
    raise e.with_traceback(filter_traceback(e.__traceback__))


def _ready_operands(x, y, inexact):
    """``(x, y, is_float)`` with ``(x, y)`` as promote_args would return them,
    for the common cases that need no conversion or broadcasting (None for
    every other case); ``is_float`` says their dtype is a real float.

    Under a transformation (reverse mode applies several primitives per user
    operation) the general promotion path is a large part of the cost: arrays
    or tracers of one dtype with equal shapes (or a rank-0 one), and a
    strongly typed float array with a Python int or float (typed weakly like
    the array, as promotion does), go straight to the primitive.
    """
    if isinstance(x, ArrayOps):
        ax = x.aval
        if isinstance(y, ArrayOps):
            ay = y.aval
            if (ax.dtype != ay.dtype or (ax.weak_type and ay.weak_type)
                    or (inexact and ax.dtype not in _INEXACT)):
                return None
            if ax.shape != ay.shape and ax.shape != () and ay.shape != ():
                return None
            return x, y, ax.dtype in _FLOATS
        if type(y) in _INT_FLOAT and ax.dtype in _FLOATS and not ax.weak_type:
            return x, weak_scalar(y, ax.dtype), True
    elif type(x) in _INT_FLOAT and isinstance(y, ArrayOps):
        ay = y.aval
        if ay.dtype in _FLOATS and not ay.weak_type:
            return weak_scalar(x, ay.dtype), y, True
    return None


_INT_FLOAT = frozenset([int, float])


def _eager_promoted(x, y):
    """``(x's value, y's value, dtype, weak)`` for Array or Python scalar operands,
    with their promoted dtype and weak type from the cache of the eager fast
    paths (Python scalars stay Python scalars); None for any other operands."""
    tx, ty = type(x), type(y)
    if tx is Array:
        xv = x._value
        if ty is Array:
            yv = y._value
            key = (xv.dtype, x._weak_type, yv.dtype, y._weak_type)
        elif ty in _PY_SCALAR_TYPES:
            yv = y
            key = (xv.dtype, x._weak_type, ty)
        else:
            return None
    elif ty is Array and tx in _PY_SCALAR_TYPES:
        xv, yv = x, y._value
        key = (tx, yv.dtype, y._weak_type)
    else:
        return None
    try:
        dtype, weak = _promotion_cache[key]
    except KeyError:
        dtype, weak = _promotion_cache[key] = _promote_key(key)
    return xv, yv, dtype, weak


def _binary_ufunc(name, prim, *, fast, fast_dtypes=_NUMERIC, inexact=False, general=None,
                  doc=""):
    """Builds a numpy-style binary function over a primitive.

    Args:
      name: the functrans.numpy name.
      prim: the primitive bound on the general path (after promotion).
      fast: the numpy ufunc with the primitive's semantics, for the eager path.
      fast_dtypes: promoted dtypes for which ``fast`` is exact.
      inexact: integer inputs are promoted to the default float first.
      general: ``general(x, y)`` for the general path, given promoted and
        broadcast operands (default: bind ``prim``).
    """
    # A `general` that only special-cases bool operands (_bool_or, _no_bool) is
    # skipped for operands that _ready_operands found to be floats.
    float_bind = general is None or getattr(general, "bool_only", False)

    def general_path(x, y):
        try:
            ready = _ready_operands(x, y, inexact)
            if ready is None:
                x, y = (promote_args_inexact if inexact else promote_args)(name, x, y)
            else:
                x, y, is_float = ready
                if float_bind and is_float:
                    return prim.bind(x, y)
            return general(x, y) if general is not None else prim.bind(x, y)
        except (TypeError, ValueError) as e:
            _reraise(e)

    def fn(x, y, /):
        if _state.dynamic is not None:  # staging out: every operation is recorded
            return general_path(x, y)
        ready = _eager_promoted(x, y)
        if ready is None:
            return general_path(x, y)
        xv, yv, dtype, weak = ready
        if dtype not in fast_dtypes:
            return general_path(x, y)
        # Python scalars stay Python scalars: with the array operand already of
        # the result dtype, numpy's NEP 50 rules give that dtype.
        if type(x) is Array and xv.dtype != dtype:
            xv = xv.astype(dtype)
        if type(y) is Array and yv.dtype != dtype:
            yv = yv.astype(dtype)
        if (type(xv) is int and not _INT32_MIN <= xv <= _INT32_MAX
                or type(yv) is int and not _INT32_MIN <= yv <= _INT32_MAX):
            return general_path(x, y)  # JAX's checks of a large Python int (OverflowError)
        try:
            out = fast(xv, yv)
        except ValueError:
            raise _shape_error(name, xv, yv) from None
        except OverflowError:  # numpy's NEP 50: uint8 + 300; JAX wraps it (general path)
            return general_path(x, y)
        except RuntimeWarning:  # a user's filter made numpy's warning an error (see core)
            out = quietly(fast, (xv, yv), None)
        # (a comparison of weak operands is a weak bool, as in JAX)
        return _new_array(out, weak)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"Elementwise {name}, like numpy.{name}, with JAX's dtype promotion."
    return fn


def _unary_ufunc(name, prim, *, fast=None, fast_dtypes=_INEXACT, inexact=False,
                 general=None, doc=""):
    """Builds a numpy-style unary function over a primitive (see _binary_ufunc)."""
    fast = fast if fast is not None else prim.impl

    def general_path(x):
        try:
            if isinstance(x, ArrayOps) and x.aval.dtype in _INEXACT:
                pass  # already an operand of an inexact dtype: nothing to promote
            elif inexact:
                (x,) = promote_args_inexact(name, x)
            else:
                x = asarray(x)
            return general(x) if general is not None else prim.bind(x)
        except (TypeError, ValueError) as e:
            _reraise(e)

    def fn(x, /):
        if _state.dynamic is not None or type(x) is not Array or x._value.dtype not in fast_dtypes:
            return general_path(x)
        try:
            return _new_array(fast(x._value), x._weak_type)
        except RuntimeWarning:  # a user's filter made numpy's warning an error (see core)
            return _new_array(quietly(fast, (x._value,), None), x._weak_type)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"Elementwise {name}, like numpy.{name}."
    return fn


# --- binary arithmetic -----------------------------------------------------------------------


def _bool_or(prim, bool_prim):
    def general(x, y):
        return (bool_prim if get_aval(x).dtype == dtypes.bool_ else prim).bind(x, y)
    general.bool_only = True  # (for other dtypes it is prim.bind: see _binary_ufunc)
    return general


def _no_bool(name, prim):
    def general(x, y):
        if get_aval(x).dtype == dtypes.bool_:
            raise TypeError(f"{name} is not defined for bool arrays; use logical_xor or "
                            "cast to int with .astype(int)")
        return prim.bind(x, y)
    general.bool_only = True
    return general


def _float_divmod(x, y):
    """Float floor division and modulo, as jax.numpy computes them (from fmod).

    floor(x / y) is not enough: 1.0 // 0.1 must be 9 (0.1 is slightly above
    1/10), and the quotient must be consistent with the remainder.
    """
    mod = ew.rem_p.bind(x, y)
    zero = _zero_like(mod)
    corrected = ew.select_n(ew.eq_p.bind(y, _zero_like(y)), ew.sub_p.bind(x, mod), x)
    div = ew.div_p.bind(corrected, y)
    fix = ew.and_p.bind(ew.ne_p.bind(mod, zero),
                        ew.ne_p.bind(ew.sign_p.bind(y), ew.sign_p.bind(mod)))
    mod = ew.select_n(fix, mod, ew.add_p.bind(mod, y))
    div = ew.select_n(fix, div, ew.sub_p.bind(div, _one_like(div)))
    return ew.round(div), mod


def _safe_int_divisor(y):
    """An integer divisor with its zeros replaced by 1 (jax.numpy's remainder and fmod)."""
    return ew.select_n(ew.eq_p.bind(y, _zero_like(y)), y, _one_like(y))


def _floor_divide_general(x, y):
    dtype = get_aval(x).dtype
    if dtypes.is_float(dtype):
        return _float_divmod(x, y)[0]
    if dtypes.is_unsigned(dtype):
        return ew.div_p.bind(x, y)
    if dtypes.is_int(dtype):
        # as jax.numpy: by zero, lax.div's -1 is adjusted like any quotient (5 // 0 == -2)
        q = ew.div_p.bind(x, y)
        adjust = ew.and_p.bind(ew.ne_p.bind(ew.sign_p.bind(x), ew.sign_p.bind(y)),
                               ew.ne_p.bind(ew.rem_p.bind(x, y), _zero_like(x)))
        return ew.select_n(adjust, q, ew.sub_p.bind(q, _one_like(q)))
    raise TypeError(f"floor_divide is not defined for {dtype} arrays")


def _remainder_general(x, y):
    dtype = get_aval(x).dtype
    if dtypes.is_complex(dtype):
        raise TypeError("remainder is not defined for complex arrays")
    if dtypes.is_int(dtype):
        y = _safe_int_divisor(y)   # x % 0 is 0, as in jax.numpy
    r = ew.rem_p.bind(x, y)
    zero = _zero_like(r)
    wrong_sign = ew.and_p.bind(ew.ne_p.bind(ew.lt_p.bind(r, zero), ew.lt_p.bind(y, zero)),
                               ew.ne_p.bind(r, zero))
    return ew.select_n(wrong_sign, r, ew.add_p.bind(r, y))


def _fmod_general(x, y):
    if dtypes.is_int(get_aval(x).dtype):
        y = _safe_int_divisor(y)   # x % 0 is 0, as in jax.numpy
    return ew.rem_p.bind(x, y)


def _zero_like(x):
    return weak_scalar(0, get_aval(x).dtype)


def _one_like(x):
    return weak_scalar(1, get_aval(x).dtype)


def _numeric(general):
    """``general(x, y)`` for promoted operands, with bool ones first converted to
    the default int, as jax.numpy's promote_args_numeric does (``True % True`` is 0)."""
    def numeric(x, y):
        if get_aval(x).dtype == dtypes.bool_:
            x = ew.convert_element_type(x, dtypes.default_int())
            y = ew.convert_element_type(y, dtypes.default_int())
        return general(x, y)
    return numeric


def _pow_int_int(x, y):
    """Integer x ** y, as jax.numpy computes it: square-and-multiply over the six low
    bits of y read as unsigned (so negative exponents give what XLA's wrapping gives:
    1 ** -1 == 1, (-1) ** -1 == -1, 0 for most others). Eager and jit agree."""
    zero, one = _strong_like(y, 0), _strong_like(y, 1)
    # 1, or 0 where x == 0 and y != 0 (so that 0 ** y is 0)
    acc = ew.convert_element_type(
        ew.not_p.bind(ew.and_p.bind(ew.eq_p.bind(x, zero), ew.ne_p.bind(y, zero))),
        get_aval(x).dtype)
    for _ in range(6):   # (more bits would overflow for any |x| > 1)
        acc = ew.select_n(ew.ne_p.bind(ew.and_p.bind(y, one), zero), acc, ew.mul_p.bind(acc, x))
        x = ew.mul_p.bind(x, x)
        y = ew.shift_right_logical_p.bind(y, one)
    return acc


def _power_general(x, y):
    if dtypes.is_int(get_aval(x).dtype):
        return _pow_int_int(x, y)
    return ew.pow_p.bind(x, y)


add = _binary_ufunc("add", ew.add_p, fast=np.add, fast_dtypes=_NUMERIC | {dtypes.bool_},
                    general=_bool_or(ew.add_p, ew.or_p))
subtract = _binary_ufunc("subtract", ew.sub_p, fast=np.subtract,
                         general=_no_bool("subtract", ew.sub_p))
multiply = _binary_ufunc("multiply", ew.mul_p, fast=np.multiply,
                         fast_dtypes=_NUMERIC | {dtypes.bool_},
                         general=_bool_or(ew.mul_p, ew.and_p))
true_divide = _binary_ufunc("true_divide", ew.div_p, fast=np.true_divide,
                            fast_dtypes=_INEXACT, inexact=True)
divide = true_divide
# (no eager shortcut: numpy's floor_divide and remainder differ from jax.numpy's
# at zero divisors and infinities)
floor_divide = _binary_ufunc("floor_divide", ew.div_p, fast=None, fast_dtypes=frozenset(),
                             general=_numeric(_floor_divide_general))
remainder = _binary_ufunc("remainder", ew.rem_p, fast=None, fast_dtypes=frozenset(),
                          general=_numeric(_remainder_general))
mod = remainder
fmod = _binary_ufunc("fmod", ew.rem_p, fast=np.fmod, fast_dtypes=_FLOATS,
                     general=_numeric(_fmod_general))


_power = _binary_ufunc("power", ew.pow_p, fast=ew.pow_p.impl, fast_dtypes=_INEXACT,
                       general=_numeric(_power_general))


def power(x, y, /):
    """Elementwise x ** y, with JAX's dtype promotion.

    A Python int exponent becomes the ``integer_pow`` primitive when traced (as
    in JAX): ``x ** 2`` is then ``x * x`` for XLA and its derivative is exact at 0.
    """
    if type(y) is int and (_state.stack or y < 0 or type(x) is not Array
                           or x._value.dtype not in _INEXACT):
        # As jax.numpy for a concrete int y (integers to a negative power raise);
        # the eager float case is _power's fast path, which gives the same values.
        try:
            (x_p,) = promote_args("power", x)   # x alone, as jax.numpy
            if get_aval(x_p).dtype == dtypes.bool_:
                x_p = ew.convert_element_type(x_p, dtypes.default_int())
            return ew.integer_pow(x_p, y)
        except (TypeError, ValueError) as e:
            _reraise(e)
    return _power(x, y)


power.__module__ = __name__
pow = power  # noqa: A001  (numpy's name)
maximum = _binary_ufunc("maximum", ew.max_p, fast=ew.max_p.impl)
minimum = _binary_ufunc("minimum", ew.min_p, fast=ew.min_p.impl)
arctan2 = _binary_ufunc("arctan2", ew.atan2_p, fast=np.arctan2, fast_dtypes=_FLOATS,
                        inexact=True)
atan2 = arctan2
nextafter = _binary_ufunc("nextafter", ew.nextafter_p, fast=np.nextafter,
                          fast_dtypes=_FLOATS, inexact=True)
_INTS_BOOL = frozenset([dtypes.bool_, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64,
                        dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64])
bitwise_and = _binary_ufunc("bitwise_and", ew.and_p, fast=np.bitwise_and, fast_dtypes=_INTS_BOOL)
bitwise_or = _binary_ufunc("bitwise_or", ew.or_p, fast=np.bitwise_or, fast_dtypes=_INTS_BOOL)
bitwise_xor = _binary_ufunc("bitwise_xor", ew.xor_p, fast=np.bitwise_xor, fast_dtypes=_INTS_BOOL)


def _right_shift_general(x, y):
    p = ew.shift_right_logical_p if dtypes.is_unsigned(get_aval(x).dtype) else ew.shift_right_arithmetic_p
    return p.bind(x, y)


left_shift = _binary_ufunc("left_shift", ew.shift_left_p, fast=None, fast_dtypes=frozenset(),
                           general=_numeric(ew.shift_left_p.bind))
right_shift = _binary_ufunc("right_shift", ew.shift_right_arithmetic_p, fast=None,
                            fast_dtypes=frozenset(), general=_numeric(_right_shift_general))
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift

_ALL = _NUMERIC | {dtypes.bool_}
equal = _binary_ufunc("equal", ew.eq_p, fast=np.equal, fast_dtypes=_ALL)
not_equal = _binary_ufunc("not_equal", ew.ne_p, fast=np.not_equal, fast_dtypes=_ALL)
_ORDERED = _ALL - {dtypes.complex64, dtypes.complex128}


def _ordered(prim):
    """Compares complex numbers lexicographically (real part, then imaginary), like numpy."""
    def general(x, y):
        if not dtypes.is_complex(get_aval(x).dtype):
            return prim.bind(x, y)
        xr, yr = ew.real_p.bind(x), ew.real_p.bind(y)
        xi, yi = ew.imag_p.bind(x), ew.imag_p.bind(y)
        strict = ew.lt_p if prim in (ew.lt_p, ew.le_p) else ew.gt_p
        return ew.or_p.bind(strict.bind(xr, yr),
                            ew.and_p.bind(ew.eq_p.bind(xr, yr), prim.bind(xi, yi)))
    return general


less = _binary_ufunc("less", ew.lt_p, fast=np.less, fast_dtypes=_ORDERED,
                     general=_ordered(ew.lt_p))
less_equal = _binary_ufunc("less_equal", ew.le_p, fast=np.less_equal, fast_dtypes=_ORDERED,
                           general=_ordered(ew.le_p))
greater = _binary_ufunc("greater", ew.gt_p, fast=np.greater, fast_dtypes=_ORDERED,
                        general=_ordered(ew.gt_p))
greater_equal = _binary_ufunc("greater_equal", ew.ge_p, fast=np.greater_equal,
                              fast_dtypes=_ORDERED, general=_ordered(ew.ge_p))


def divmod(x, y, /):  # noqa: A001
    """``(floor_divide(x, y), remainder(x, y))``."""
    return floor_divide(x, y), remainder(x, y)


def _to_bool(x):
    """x != 0 (x itself when bool), as jax.numpy compares: with a weak zero only for
    a rank-0 weak x (lax._const), so a weak bool only then."""
    x = asarray(x)
    if x.dtype == dtypes.bool_:
        return x
    return ew.ne_p.bind(x, scalar_constant(0, x.dtype, x.weak_type and x.ndim == 0))


def _logical(name, prim, x, y):
    # As jax.numpy: promote first, then compare each with zero, then the bitwise
    # primitive (so two weak scalars give a weak bool).
    try:
        x, y = promote_args(name, x, y)
    except (TypeError, ValueError) as e:
        _reraise(e)
    if get_aval(x).dtype == dtypes.bool_:   # bools promote to a strong bool
        x, y = _typed_like(x, dtypes.bool_, False), _typed_like(y, dtypes.bool_, False)
    return prim.bind(_to_bool(x), _to_bool(y))


def logical_and(x, y, /):
    """Elementwise truth-value and."""
    return _logical("logical_and", ew.and_p, x, y)


def logical_or(x, y, /):
    """Elementwise truth-value or."""
    return _logical("logical_or", ew.or_p, x, y)


def logical_xor(x, y, /):
    """Elementwise truth-value xor."""
    return _logical("logical_xor", ew.xor_p, x, y)


def logical_not(x, /):
    """Elementwise truth-value not."""
    return ew.not_p.bind(_to_bool(x))


# --- unary ----------------------------------------------------------------------------------

negative = _unary_ufunc("negative", ew.neg_p, fast=np.negative, fast_dtypes=_NUMERIC)


def positive(x, /):
    """Returns x (numpy.positive)."""
    return asarray(x)


def _abs_general(x):
    if get_aval(x).dtype == dtypes.bool_ or dtypes.is_unsigned(get_aval(x).dtype):
        return x
    return ew.abs_p.bind(x)


absolute = _unary_ufunc("absolute", ew.abs_p, fast=np.abs,
                        fast_dtypes=_FLOATS | {dtypes.int8, dtypes.int16, dtypes.int32,
                                               dtypes.int64}, general=_abs_general)
abs = absolute  # noqa: A001  (numpy's name)
sign = _unary_ufunc("sign", ew.sign_p, fast_dtypes=_NUMERIC - {dtypes.uint8})
floor = _unary_ufunc("floor", ew.floor_p, fast=np.floor, fast_dtypes=_FLOATS,
                     general=lambda x: x if not dtypes.is_inexact(x.dtype) else ew.floor_p.bind(x))
ceil = _unary_ufunc("ceil", ew.ceil_p, fast=np.ceil, fast_dtypes=_FLOATS,
                    general=lambda x: x if not dtypes.is_inexact(x.dtype) else ew.ceil_p.bind(x))
def _rint_general(x):
    if not dtypes.is_inexact(x.dtype):   # as jax.numpy: a strong default float
        return ew.convert_element_type(x, dtypes.default_float())
    if dtypes.is_complex(x.dtype):
        return ew.complex_p.bind(ew.round(real(x), 1), ew.round(imag(x), 1))
    return ew.round(x, 1)


rint = _unary_ufunc("rint", ew.round_p, fast=np.rint, fast_dtypes=_FLOATS,
                    general=_rint_general)
exp = _unary_ufunc("exp", ew.exp_p, inexact=True)
exp2 = _unary_ufunc("exp2", ew.exp2_p, inexact=True)
expm1 = _unary_ufunc("expm1", ew.expm1_p, inexact=True)
log = _unary_ufunc("log", ew.log_p, fast=np.log, inexact=True)
log1p = _unary_ufunc("log1p", ew.log1p_p, fast=np.log1p, inexact=True)
sqrt = _unary_ufunc("sqrt", ew.sqrt_p, fast=np.sqrt, inexact=True)
cbrt = _unary_ufunc("cbrt", ew.cbrt_p, fast_dtypes=_FLOATS, inexact=True)
sin = _unary_ufunc("sin", ew.sin_p, inexact=True)
cos = _unary_ufunc("cos", ew.cos_p, inexact=True)
tan = _unary_ufunc("tan", ew.tan_p, inexact=True)
arcsin = _unary_ufunc("arcsin", ew.asin_p, fast=np.arcsin, inexact=True)
arccos = _unary_ufunc("arccos", ew.acos_p, fast=np.arccos, inexact=True)
arctan = _unary_ufunc("arctan", ew.atan_p, inexact=True)
sinh = _unary_ufunc("sinh", ew.sinh_p, inexact=True)
cosh = _unary_ufunc("cosh", ew.cosh_p, inexact=True)
tanh = _unary_ufunc("tanh", ew.tanh_p, inexact=True)
arcsinh = _unary_ufunc("arcsinh", ew.asinh_p, inexact=True)
arccosh = _unary_ufunc("arccosh", ew.acosh_p, fast=np.arccosh, inexact=True)
arctanh = _unary_ufunc("arctanh", ew.atanh_p, fast=np.arctanh, inexact=True)
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh
isfinite = _unary_ufunc("isfinite", ew.is_finite_p, fast=np.isfinite, fast_dtypes=_FLOATS,
                        general=lambda x: (ew.is_finite_p.bind(x) if dtypes.is_float(x.dtype)
                                           else _isfinite_other(x)))


def _isfinite_other(x):
    if dtypes.is_complex(x.dtype):
        return ew.and_p.bind(isfinite(real(x)), isfinite(imag(x)))
    return _full_like_bool(x, True)


def _full_like_bool(x, value: bool, weak: bool = False):
    from ..primitives.shape import broadcast_in_dim
    return broadcast_in_dim(scalar_constant(value, dtypes.bool_, weak), x.shape, ())


def _strong_like(x, value):
    """``value`` as a strong rank-0 constant of x's dtype (jax.numpy's _constant_like):
    a result computed with it is strong, whatever x's weak type."""
    return scalar_constant(value, get_aval(x).dtype, False)


def isnan(x, /):
    """Elementwise test for NaN (weak for a weak x, as in JAX)."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return _full_like_bool(x, False, x.weak_type)
    return ew.ne_p.bind(x, x)


def isinf(x, /):
    """Elementwise test for +/- infinity (a strong bool, as in JAX)."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return _full_like_bool(x, False)
    if dtypes.is_complex(x.dtype):
        return ew.or_p.bind(isinf(real(x)), isinf(imag(x)))
    return ew.eq_p.bind(ew.abs_p.bind(x), _strong_like(x, float("inf")))


def _real_only(op, *args):
    """Converts args to arrays; complex ones raise (numpy and jax reject them)."""
    out = [asarray(a) for a in args]
    for a in out:
        if dtypes.is_complex(a.dtype):
            raise TypeError(f"{op} is not defined for complex inputs (got {a.dtype})")
    return out


def _typed_like(out, dtype, weak):
    """``out`` with the (dtype, weak type) its inputs promote to."""
    return ew.convert_element_type(out, dtype, weak_type=weak)


def isposinf(x, /):
    """True where x is +inf (a strong bool, as in JAX)."""
    (x,) = _real_only("isposinf", x)
    if not dtypes.is_float(x.dtype):
        return _full_like_bool(x, False)
    return ew.eq_p.bind(x, _strong_like(x, float("inf")))


def isneginf(x, /):
    """True where x is -inf (a strong bool, as in JAX)."""
    (x,) = _real_only("isneginf", x)
    if not dtypes.is_float(x.dtype):
        return _full_like_bool(x, False)
    return ew.eq_p.bind(x, _strong_like(x, float("-inf")))


invert = _unary_ufunc("invert", ew.not_p, fast=np.invert, fast_dtypes=_INTS_BOOL)
bitwise_not = bitwise_invert = invert


def real(x, /):
    """Real part (the array itself for real dtypes)."""
    x = asarray(x)
    return ew.real_p.bind(x) if dtypes.is_complex(x.dtype) else x


def imag(x, /):
    """Imaginary part (zeros for real dtypes)."""
    x = asarray(x)
    return ew.imag_p.bind(x) if dtypes.is_complex(x.dtype) else _zeros_keep_weak(x)


def _zeros_keep_weak(x):
    """Zeros of x's shape, dtype and weak type (lax.full_like(x, 0))."""
    from ..primitives.shape import broadcast_in_dim
    return broadcast_in_dim(_new_array(np.zeros((), x.dtype), x.weak_type), x.shape, ())


def conjugate(x, /):
    """Complex conjugate (the array itself for real dtypes)."""
    x = asarray(x)
    return ew.conj_p.bind(x) if dtypes.is_complex(x.dtype) else x


conj = conjugate


def angle(z, deg=False):
    """The argument of complex numbers (0 or pi for reals)."""
    z = asarray(z)
    if not dtypes.is_complex(z.dtype):
        (z,) = promote_args_inexact("angle", z)
        z = ew.convert_element_type(z, z.dtype, weak_type=False)  # as jnp.angle
        out = arctan2(_zeros_keep_weak(z), z)  # +0: negative reals have angle +pi
    else:
        out = arctan2(imag(z), real(z))
    return rad2deg(out) if deg else out


def square(x, /):
    """Elementwise x * x (bools count as the default int, as in jax.numpy)."""
    x = asarray(x)
    if x.dtype == dtypes.bool_:
        x = x.astype(dtypes.default_int())
    return multiply(x, x)


def reciprocal(x, /):
    """Elementwise 1 / x (x ** -1 in x's inexact type)."""
    (x,) = promote_args_inexact("reciprocal", x)
    return ew.integer_pow(x, -1)


def trunc(x, /):
    """Rounds toward zero."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return x
    return where(less(x, 0), ceil(x), floor(x))


fix = trunc


def round(a, decimals: int = 0):  # noqa: A001
    """Rounds half to even to ``decimals`` places, like numpy.round.

    As jax.numpy: integers are returned as they are for ``decimals >= 0`` (a
    NotImplementedError for negative ``decimals``), and bools are rejected.
    """
    a = asarray(a)
    if a.dtype == dtypes.bool_:
        raise ValueError("round: bool arrays cannot be rounded; convert them to a "
                         "numeric dtype first")
    if not dtypes.is_inexact(a.dtype):
        if decimals < 0:
            raise NotImplementedError("round: integers with decimals < 0 are not "
                                      "implemented (as in jax.numpy)")
        return a
    if dtypes.is_complex(a.dtype):
        return ew.complex_p.bind(round(real(a), decimals), round(imag(a), decimals))
    if decimals == 0:
        return rint(a)
    factor = 10.0 ** decimals
    return true_divide(rint(multiply(a, factor)), factor)


around = round


def _log_base(name, x, base):
    """log(x) / log(base), as jax.numpy divides: by a strong constant (so the result
    is strong), the parts of a complex log separately."""
    (x,) = promote_args_inexact(name, x)
    out = log(x)
    if dtypes.is_complex(out.dtype):
        re, im = ew.real_p.bind(out), ew.imag_p.bind(out)
        ln = _strong_like(re, math.log(base))
        return ew.complex_p.bind(ew.div_p.bind(re, ln), ew.div_p.bind(im, ln))
    return ew.div_p.bind(out, _strong_like(out, math.log(base)))


def log2(x, /):
    """Base-2 logarithm (a strong result, as in JAX)."""
    return _log_base("log2", x, 2)


def log10(x, /):
    """Base-10 logarithm (a strong result, as in JAX)."""
    return _log_base("log10", x, 10)


def _like_lax_const(out):
    """``out`` made strong unless it is rank 0: jax.numpy functions that compute with
    ``lax._const(x, c)`` (deg2rad, sinc, heaviside, logaddexp2, ...) get a weak
    constant only for a rank-0 weak x, a strong one (and a strong result) otherwise."""
    aval = get_aval(out)
    if aval.weak_type and aval.ndim:
        return ew.convert_element_type(out, aval.dtype, weak_type=False)
    return out


def deg2rad(x, /):
    (x,) = promote_args_inexact("deg2rad", x)
    return _like_lax_const(multiply(x, np.pi / 180))


def rad2deg(x, /):
    (x,) = promote_args_inexact("rad2deg", x)
    return _like_lax_const(multiply(x, 180 / np.pi))


radians, degrees = deg2rad, rad2deg


def hypot(x, y, /):
    """sqrt(x**2 + y**2), without overflow for large inputs (JAX's formula and derivatives)."""
    x, y = promote_args_inexact("hypot", *_real_only("hypot", x, y))
    x, y = abs(x), abs(y)
    # IEEE 754: an infinite side makes the hypotenuse infinite, even beside a NaN.
    any_inf = logical_or(isposinf(x), isposinf(y))
    big, small = maximum(x, y), minimum(x, y)
    zero = equal(big, 0)
    out = where(zero, big, multiply(big, sqrt(add(1, square(true_divide(small, where(zero, 1, big)))))))
    # jax.numpy's inf here is weak only for a rank-0 weak out (lax._const): otherwise
    # a strong constant, which makes the result strong
    inf = scalar_constant(float("inf"), out.dtype, out.weak_type and out.ndim == 0)
    return where(any_inf, inf, out)


def copysign(x, y, /):
    """The magnitude of x with the sign of y."""
    dtype, weak = inexact_type(*_real_only("copysign", x, y))
    x, y = promote_args_inexact("copysign", x, y)
    neg = signbit(y)
    return _typed_like(where(neg, negative(abs(x)), abs(x)), dtype, weak)


def signbit(x, /):
    """True where the sign bit is set (including -0.0)."""
    (x,) = _real_only("signbit", x)
    if dtypes.is_int(x.dtype) and not dtypes.is_unsigned(x.dtype):
        return ew.lt_p.bind(x, _strong_like(x, 0))
    if not dtypes.is_float(x.dtype):
        return _full_like_bool(x, False)
    # Read the sign bit itself, so -0.0 and -nan count as negative.
    bits = ew.bitcast_convert_type(x, np.dtype(f"i{x.dtype.itemsize}"))
    return less(bits, 0)


def logaddexp(x, y, /):
    """log(exp(x) + exp(y)), computed stably.

    Its derivative is JAX's: ``exp(x - out)`` and ``exp(y - out)`` (with +inf
    read as 0), so a tie ``x == y`` gives each side 1/2, and two -inf give NaN.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> [g.item() for g in ft.grad(fnp.logaddexp, argnums=(0, 1))(1.0, 1.0)]
        [0.5, 0.5]
    """
    dtype, weak = inexact_type(x, y)
    x, y = promote_args_inexact("logaddexp", x, y)
    return _typed_like(_logaddexp(x, y), dtype, weak)


def _log_add_exp(x, y, exp_, log1p_scale):
    """The value of logaddexp (``exp_`` = exp, scale 1) or logaddexp2 (exp2, 1/ln 2)."""
    amax = maximum(x, y)
    if dtypes.is_complex(get_aval(x).dtype):
        # Factor out the operand with the larger real part (as jax does).
        x_larger = greater_equal(real(x), real(y))
        amax, other = where(x_larger, x, y), where(x_larger, y, x)
        return add(amax, multiply(log1p(exp_(subtract(other, amax))), log1p_scale))
    delta = subtract(x, y)
    # delta is NaN when x and y are the same infinity (x + y is then right) or
    # when either is NaN (x + y is NaN too).
    nan_delta = isnan(delta)
    safe = where(nan_delta, 0, delta)   # (no inf - inf computed in eager mode)
    out = add(amax, multiply(log1p(exp_(negative(abs(safe)))), log1p_scale))
    return where(nan_delta, add(x, y), out)


def _replace_posinf(x):
    """x with +inf (of the real part) replaced by 0, as in JAX's logaddexp derivative."""
    return where(equal(real(x), float("inf")), 0, x)


def _log_add_exp_jvp(fn, exp_):
    def jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        out = fn(x, y)
        shifted_out = _replace_posinf(out)
        with np.errstate(invalid="ignore"):   # (-inf) - (-inf): NaN, as in JAX
            tangent = add(multiply(tx, exp_(subtract(_replace_posinf(x), shifted_out))),
                          multiply(ty, exp_(subtract(_replace_posinf(y), shifted_out))))
        return out, tangent
    return jvp


@custom_jvp
def _logaddexp(x, y):
    return _log_add_exp(x, y, exp, 1)


@custom_jvp
def _logaddexp2(x, y):
    return _log_add_exp(x, y, exp2, 1 / math.log(2))


_logaddexp.defjvp(_log_add_exp_jvp(_logaddexp, exp))
_logaddexp2.defjvp(_log_add_exp_jvp(_logaddexp2, exp2))


def logaddexp2(x, y, /):
    """log2(2**x + 2**y), computed stably (derivatives as :func:`logaddexp`'s)."""
    dtype, weak = inexact_type(x, y)
    x, y = promote_args_inexact("logaddexp2", x, y)
    return _like_lax_const(_typed_like(_logaddexp2(x, y), dtype, weak))


def fmax(x, y, /):
    """Elementwise maximum ignoring NaNs; a tie (or two NaNs) selects ``y``, as in JAX."""
    x, y = promote_args("fmax", x, y)
    return where(logical_or(greater(x, y), isnan(y)), x, y)


def fmin(x, y, /):
    """Elementwise minimum ignoring NaNs; a tie (or two NaNs) selects ``y``, as in JAX."""
    x, y = promote_args("fmin", x, y)
    return where(logical_or(less(x, y), isnan(y)), x, y)


def heaviside(x1, x2, /):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0 (NaN where x1 is NaN)."""
    dtype, weak = inexact_type(*_real_only("heaviside", x1, x2))
    x1_rank0 = get_aval(x1).ndim == 0   # (jax's constants are made from x1 unbroadcast)
    x1, x2 = promote_args_inexact("heaviside", x1, x2)
    out = _typed_like(where(less(x1, 0), 0, where(greater(x1, 0), 1, where(isnan(x1), x1, x2))),
                      dtype, weak)
    return out if x1_rank0 else _like_lax_const(out)


def sinc(x, /):
    """sin(pi x) / (pi x), 1 at 0 (every derivative at 0 from the Maclaurin series, as JAX)."""
    (x,) = promote_args_inexact("sinc", x)
    zero = equal(x, 0)
    px = multiply(np.pi, x)
    safe = where(zero, 1, px)
    return _like_lax_const(where(zero, _sinc_maclaurin(0, px), true_divide(sin(safe), safe)))


def _sinc_maclaurin_value(k, x):
    # the k-th derivative of sin(x)/x at 0, shaped like x (x * 0 keeps x's zero sign rules)
    if k % 2:
        return multiply(x, 0)
    return add(multiply(x, 0), (-1) ** (k // 2) / (k + 1))


_sinc_maclaurin = custom_jvp(_sinc_maclaurin_value, nondiff_argnums=(0,))


@_sinc_maclaurin.defjvp
def _sinc_maclaurin_jvp(k, primals, tangents):
    (x,), (t,) = primals, tangents
    return _sinc_maclaurin(k, x), multiply(_sinc_maclaurin(k + 1, x), t)


def float_power(x, y, /):
    """x ** y computed in at least the default float type."""
    x, y = promote_args_inexact("float_power", x, y)
    return power(x, y)


# --- selection -----------------------------------------------------------------------------


def where(condition, x=None, y=None, /):
    """``x`` where ``condition`` else ``y`` (broadcasting all three).

    With only ``condition``, returns ``nonzero(condition)`` (needs a concrete
    condition, like numpy; its output shape depends on the values).
    """
    if x is None and y is None:
        from ._selection import nonzero
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where: pass both x and y, or neither")
    if _state.dynamic is None and type(condition) is Array:
        out = _where_fast(condition, x, y)
        if out is not None:
            return out
    try:
        condition = _to_bool(condition)
        x, y = promote_args("where", x, y)
        shape = broadcast_shapes("where", get_aval(condition).shape, get_aval(x).shape,
                                 get_aval(y).shape)
        from ._util import broadcast_to
        condition = broadcast_to(condition, shape) if condition.shape != shape else condition
        x = broadcast_to(x, shape) if get_aval(x).shape not in (shape,) else x
        y = broadcast_to(y, shape) if get_aval(y).shape not in (shape,) else y
        return ew.select_n(condition, y, x)
    except (TypeError, ValueError) as e:
        _reraise(e)


def _where_fast(condition, x, y):
    """where's eager fast path (None where it does not apply): a bool Array
    condition, Array or Python scalar x and y, promoted as binary functions
    promote them (the same cache), and broadcast by numpy as by the general path."""
    cv = condition._value
    if cv.dtype != dtypes.bool_:
        return None
    ready = _eager_promoted(x, y)
    if ready is None:
        return None
    xv, yv, dtype, weak = ready
    if dtype not in _NUMERIC:
        return None
    try:
        out = np.where(cv, xv, yv)
    except ValueError:
        return None  # the general path names the shapes
    return _new_array(out if out.dtype == dtype else out.astype(dtype), weak)


def clip(a, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
    """Limits values to [a_min, a_max] (either may be None)."""
    a_min = min if a_min is None else a_min
    a_max = max if a_max is None else a_max
    out = asarray(a)
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN with ``nan`` and infinities with the largest finite values."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return x
    if dtypes.is_complex(x.dtype):
        return ew.complex_p.bind(nan_to_num(real(x), nan=nan, posinf=posinf, neginf=neginf),
                                 nan_to_num(imag(x), nan=nan, posinf=posinf, neginf=neginf))
    info = dtypes.finfo(x.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(isposinf(out), posinf, out)
    return _typed_like(where(isneginf(out), neginf, out), x.dtype, False)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise |a - b| <= atol + rtol * |b|, like numpy.isclose."""
    a, b = promote_args_inexact("isclose", a, b)
    close = less_equal(abs(subtract(a, b)), add(atol, multiply(rtol, abs(b))))
    # An infinite b has an infinite tolerance: only an equal value is close to it.
    close = logical_and(close, isfinite(b))
    close = logical_or(close, equal(a, b))  # equal infinities
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return _typed_like(close, dtypes.bool_, False)   # strong, as jax.numpy's


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element is close (returns a bool Array)."""
    from ._reductions import all as all_
    return all_(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """True when shapes and all elements agree."""
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return asarray(False)
    from ._reductions import all as all_
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return all_(eq)


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == __name__]
