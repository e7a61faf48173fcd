"""Arithmetic: neg, add, sub, mul, div, rem, max, min, sign, floor, ceil, round, abs,
integer_pow, the complex parts (real, imag, conj, complex), and clamp.

Derivatives, as JAX's:

* ``max``/``min``: where the operands tie, each gets half of the tangent.
* ``abs`` has derivative 1 at 0 (the tangent is ``select(x >= 0, t, -t)``);
  for complex ``x`` it is ``real(conj(x) * t) / |x|`` (0 at x == 0).
* The complex parts are R-linear maps, transposed for the bilinear pairing
  ``<a, b> = Re(sum(a * b))`` (not the Hermitian one): the transpose of
  ``real`` is ``complex(ct, 0)``, of ``imag`` is ``complex(0, -ct)``, of
  ``conj`` is ``conj(ct)``, and of ``complex(x, y)`` is ``(real(ct),
  -imag(ct))``. ``grad`` of a real function of a complex input is then ``2 *
  df/dz = conj(2 * df/dz*)`` (Wirtinger derivatives), what ``jax.grad`` gives.

Where XLA's op means something else than our eager ``impl``, the lowering
composes ops to match it: ``sign``/``abs`` of unsigned ints are ``x != 0`` /
``x``; ``max``/``min`` of complex numbers compare lexicographically with
numpy's NaN rule (XLA compares real parts only); ``integer_pow`` is a chain of
multiplies. Integer ``div`` rounds toward zero and ``rem`` has the dividend's
sign; integer ``x / 0`` is -1 (all ones), ``x % 0`` is ``x``, ``INT_MIN / -1``
is INT_MIN: XLA's values, which the eager impls give too (as JAX does).
``max``/``min`` propagate NaN, and of +0.0 and -0.0 give +0.0 / -0.0 in both
modes (the eager impls fix numpy's second-operand choice).
"""

from __future__ import annotations

import numpy as np

from ... import dtypes
from ...core import ShapedArray, bind, get_aval
from ...eager import eval_host_pair
from ...interpreters.jvp import Zero, add_tangents, instantiate, register_tangent_add
from ...interpreters.lowering import elementwise_op
from ...interpreters.reverse import UndefinedPrimal, is_undefined, unbroadcast_scalar
from .._rules import (ANY, COMPLEX, FLOAT, INTEGRAL, NUMERIC, category, lax_operands,
                      lower_compare, scalar_constant)
from ._rows import (INEXACT_DTYPES, ZERO, apply1, apply2, bcast, binary, const, full, hlo,
                    hlo_select, linear_cts, unary, use_in_derivatives, zero_tangent)
from .compare import and_p, eq, ge, gt_p, lt_p
from .select_convert import convert_element_type, select_n, stop_gradient_p

# --- neg, add, sub: linear ----------------------------------------------------------------------

neg_p = unary("neg", np.negative, NUMERIC, lower="stablehlo.negate",
              jvp=lambda t, ans, x: neg(t), transpose=lambda ct, x: [neg(ct)])


def neg(x):
    """Elementwise negation: -x."""
    return apply1(neg_p, x)


def _add_sub_jvp(prim, sign, ufunc):
    def rule(primals, tangents):
        ans = eval_host_pair(ufunc, *primals)  # (concrete primals: no bind)
        if ans is None:
            ans = bind(prim, *primals)
        tx, ty = tangents
        if get_aval(ans).dtype not in INEXACT_DTYPES:
            return ans, zero_tangent(ans)
        if type(tx) is Zero:
            return ans, bcast(sign(ty), ans)
        if type(ty) is Zero:
            return ans, bcast(tx, ans)
        return ans, bind(prim, tx, ty)
    return rule


# (the hottest rules of reverse mode: `type(x) is UndefinedPrimal` inline, and
# sub's negation computed only when y is linear)


def _add_transpose(ct, x, y):
    return [unbroadcast_scalar(ct, x.aval) if type(x) is UndefinedPrimal else None,
            unbroadcast_scalar(ct, y.aval) if type(y) is UndefinedPrimal else None]


def _sub_transpose(ct, x, y):
    return [unbroadcast_scalar(ct, x.aval) if type(x) is UndefinedPrimal else None,
            unbroadcast_scalar(neg(ct), y.aval) if type(y) is UndefinedPrimal else None]


add_p = binary("add", np.add, NUMERIC, lower="stablehlo.add", transpose=_add_transpose)
add_p.jvp = _add_sub_jvp(add_p, lambda t: t, np.add)
register_tangent_add(add_p)
sub_p = binary("sub", np.subtract, NUMERIC, lower="stablehlo.subtract", transpose=_sub_transpose)
sub_p.jvp = _add_sub_jvp(sub_p, neg, np.subtract)


def add(x, y):
    """Elementwise x + y."""
    return apply2(add_p, x, y)


def sub(x, y):
    """Elementwise x - y."""
    return apply2(sub_p, x, y)


# --- mul, div: linear in one operand ------------------------------------------------------------


def _mul_jvp(primals, tangents):
    # defjvp's rule written out for mul, the most common product of reverse mode
    x, y = primals
    tx, ty = tangents
    ans = eval_host_pair(np.multiply, x, y)  # (concrete primals: no bind)
    if ans is None:
        ans = bind(mul_p, x, y)
    if get_aval(ans).dtype not in INEXACT_DTYPES:
        return ans, zero_tangent(ans)
    if type(tx) is Zero:
        return ans, zero_tangent(ans) if type(ty) is Zero else mul(x, ty)
    if type(ty) is Zero:
        return ans, mul(tx, y)
    if x is y and tx is ty:
        # A square, x * x: its tangent t * x + x * t is t * (x + x), bit for bit
        # (doubling is exact), as one linear equation instead of three.
        return ans, mul(tx, add(x, x))
    return ans, add_tangents(mul(tx, y), mul(x, ty))


def _mul_transpose(ct, x, y):
    if type(x) is UndefinedPrimal:
        if type(y) is UndefinedPrimal:
            raise ValueError("mul: cannot transpose a product of two linear inputs (it is not "
                             "linear)")
        return [unbroadcast_scalar(_cotangent_product(ct, y), x.aval), None]
    return [None, unbroadcast_scalar(_cotangent_product(ct, x), y.aval)]  # (x * ct = ct * x)


def _cotangent_product(ct, y):
    """``mul(ct, y)``, on the host values directly where that is exact
    (eager.eval_host_pair: the cotangent times a residual, most of eager
    reverse mode's backward pass)."""
    out = eval_host_pair(np.multiply, ct, y)
    return mul(ct, y) if out is None else out


mul_p = binary("mul", np.multiply, NUMERIC, lower="stablehlo.multiply", jvp_rule=_mul_jvp,
               transpose=_mul_transpose)


def mul(x, y):
    """Elementwise x * y."""
    return apply2(mul_p, x, y)


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


def _div_transpose(ct, x, y):
    if is_undefined(y):
        raise ValueError("div: cannot transpose with respect to the divisor (it is not linear)")
    return [unbroadcast_scalar(div(ct, y), x.aval), None]


div_p = binary("div", _div_impl, NUMERIC, lower="stablehlo.divide", transpose=_div_transpose,
               jvp=(lambda t, ans, x, y: div(t, y),
                    lambda t, ans, x, y: mul(mul(neg(t), x), integer_pow(y, -2))))


def div(x, y):
    """Elementwise x / y; integer division rounds toward zero."""
    return apply2(div_p, x, y)


# --- rem, max, min ---------------------------------------------------------------------------


def _rem_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.fmod(x, y)
    if np.result_type(x, y).kind in "iu":
        # XLA's integer remainder: x % 0 is x (numpy: 0)
        r = np.where(y == 0, x, r).astype(r.dtype, copy=False)
    return r


def _round_toward_zero(x):
    return mul(sign(x), floor(abs(x)))


# rem(x, y) = x - y * trunc(x / y): d/dx = 1, d/dy = -trunc(x / y).
rem_p = binary("rem", _rem_impl, (FLOAT,) + INTEGRAL, lower="stablehlo.remainder",
               jvp=(lambda t, ans, x, y: bcast(t, ans),
                    lambda t, ans, x, y: mul(neg(t), _round_toward_zero(div(x, y)))))


def rem(x, y):
    """Elementwise remainder with the sign of x (C fmod)."""
    return apply2(rem_p, x, y)


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


def _complex_minmax(direction):
    """numpy's complex max/min: lexicographic on (real, imag); a NaN operand wins.

    XLA's maximum/minimum of complex numbers compare the real parts only.
    ``x`` is kept when it has a NaN part or when (as numpy's CGE/CLE macros
    say) ``x.re > y.re`` with no NaN imaginary part, or ``x.re == y.re`` and
    ``x.im >= y.im`` (``<`` / ``<=`` for min).
    """
    strict, loose = ("GT", "GE") if direction == "max" else ("LT", "LE")

    def rule(ctx, x, y):
        (x, y), (aval, _) = full(ctx, [x, y])
        part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
        pred = aval.update(dtype=dtypes.bool_)
        xr, xi = (hlo(ctx, f"stablehlo.{p}", [x], aval, part) for p in ("real", "imag"))
        yr, yi = (hlo(ctx, f"stablehlo.{p}", [y], aval, part) for p in ("real", "imag"))
        xi_ok, yi_ok = lower_compare(ctx, xi, xi, part, "EQ"), lower_compare(ctx, yi, yi, part,
                                                                             "EQ")
        re_wins = hlo(ctx, "stablehlo.and", [lower_compare(ctx, xr, yr, part, strict),
                                             hlo(ctx, "stablehlo.and", [xi_ok, yi_ok], pred)],
                      pred)
        im_wins = hlo(ctx, "stablehlo.and", [lower_compare(ctx, xr, yr, part, "EQ"),
                                             lower_compare(ctx, xi, yi, part, loose)], pred)
        x_nan = hlo(ctx, "stablehlo.or", [lower_compare(ctx, xr, xr, part, "NE"),
                                          hlo(ctx, "stablehlo.not", [xi_ok], pred)], pred)
        keep_x = hlo(ctx, "stablehlo.or",
                     [x_nan, hlo(ctx, "stablehlo.or", [re_wins, im_wins], pred)], pred)
        return hlo_select(ctx, keep_x, x, y, aval)
    return rule


def _minmax_lower(opname, direction):
    complex_rule = _complex_minmax(direction)

    def rule(ctx, x, y):
        if dtypes.is_complex(ctx.avals_out[0].dtype):
            return complex_rule(ctx, x, y)
        return elementwise_op(ctx, opname, [x, y])  # NaN-propagating, as np.maximum
    return rule


def _balanced_eq(x, ans, y):
    """1 where x chose ``ans`` alone, 1/2 where x and y tie, 0 elsewhere."""
    # full-shape constants: select_n does not broadcast a selector over rank-0 cases
    one, zero, two = (bcast(const(ans, v), ans) for v in (1, 0, 2))
    return div(select_n(eq(x, ans), zero, one), select_n(eq(y, ans), one, two))


_MINMAX_JVP = (lambda t, ans, x, y: mul(t, _balanced_eq(x, ans, y)),
               lambda t, ans, x, y: mul(t, _balanced_eq(y, ans, x)))
max_p = binary("max", _signed_zero_extremum(np.maximum, True), ANY,
               lower=_minmax_lower("stablehlo.maximum", "max"), jvp=_MINMAX_JVP)
min_p = binary("min", _signed_zero_extremum(np.minimum, False), ANY,
               lower=_minmax_lower("stablehlo.minimum", "min"), jvp=_MINMAX_JVP)


def max(x, y):  # noqa: A001  (lax's name)
    """Elementwise maximum (NaN-propagating)."""
    return apply2(max_p, x, y)


def min(x, y):  # noqa: A001  (lax's name)
    """Elementwise minimum (NaN-propagating)."""
    return apply2(min_p, x, y)


def clamp(lo, x, hi):
    """Elementwise ``min(max(x, lo), hi)``, with JAX's derivatives.

    The derivative in ``x`` is 1 strictly between the bounds and 0 at and beyond
    them; ``lo`` gets it where ``lo > x`` (and ``lo < hi``), ``hi`` where
    ``hi < x`` (so at a bound no operand gets it). ``max`` and ``min`` alone
    would split a tie's tangent in half.
    """
    lo, x, hi = lax_operands(lo, x, hi)
    # where no operand is chosen
    value = bind(stop_gradient_p, bind(min_p, bind(max_p, x, lo), hi))
    out = select_n(lt_p.bind(hi, x), value, hi)
    out = select_n(and_p.bind(gt_p.bind(lo, x), lt_p.bind(lo, hi)), out, lo)
    return select_n(and_p.bind(gt_p.bind(x, lo), lt_p.bind(x, hi)), out, x)


# --- sign, floor, ceil, round: piecewise constant ----------------------------------------------


def _sign_impl(x):
    # XLA's (and JAX's) sign keeps a zero's sign: sign(-0.0) is -0.0 (numpy's is +0.0)
    out = np.sign(x)
    if out.dtype.kind == "f":
        out = np.where(x == 0, x, out)
    return out


def _sign_lower(ctx, x):
    (x,), (aval,) = full(ctx, [x])
    zero = ctx.constant(0, aval)
    if dtypes.is_unsigned(aval.dtype):  # no unsigned stablehlo.sign: 1 where x != 0
        return ctx.convert(lower_compare(ctx, x, zero, aval, "NE"),
                           aval.update(dtype=dtypes.bool_), aval.dtype)
    return hlo(ctx, "stablehlo.sign", [x], aval)   # sign(-0.0) is -0.0, as in JAX


sign_p = unary("sign", _sign_impl, NUMERIC, lower=_sign_lower, jvp=ZERO)
floor_p = unary("floor", np.floor, (FLOAT,), lower="stablehlo.floor", jvp=ZERO)
ceil_p = unary("ceil", np.ceil, (FLOAT,), lower="stablehlo.ceil", jvp=ZERO)


def sign(x):
    """Elementwise sign (-1, 0, 1; x/|x| for complex)."""
    return apply1(sign_p, x)


def floor(x):
    """Elementwise floor."""
    return apply1(floor_p, x)


def ceil(x):
    """Elementwise ceiling."""
    return apply1(ceil_p, x)


def _round_impl(x, *, rounding_method=0):
    if rounding_method != 0:
        return np.rint(x)
    # rint rounds halves to even; move exact halves away from zero instead.
    # (floor(|x| + 0.5) would round in floating point: 0.49999997 + 0.5 == 1.)
    trunc = np.trunc(x)
    with np.errstate(invalid="ignore"):
        half = np.abs(x - trunc) == x.dtype.type(0.5)
    return np.where(half, trunc + np.sign(x), np.rint(x))


def _round_lower(ctx, x, *, rounding_method=0):
    op = "stablehlo.round_nearest_afz" if rounding_method == 0 else "stablehlo.round_nearest_even"
    return elementwise_op(ctx, op, [x])


round_p = unary("round", _round_impl, (FLOAT,), params=True, lower=_round_lower, jvp=ZERO)


def round(x, rounding_method=0):  # noqa: A001  (lax's name)
    """Elementwise rounding: method 0 rounds half away from zero, 1 half to even."""
    return bind(round_p, x, rounding_method=int(rounding_method))


# --- abs, integer_pow ---------------------------------------------------------------------------


def replace_zero(x):
    """``x`` with its zeros replaced by ones (to keep a division or log finite)."""
    return select_n(eq(x, const(x, 0)), x, const(x, 1))


def _abs_jvp(t, ans, x):
    if dtypes.is_complex(get_aval(x).dtype):
        # d|x| = Re(conj(x) * t) / |x|, taken as 0 at x == 0.
        modulus = convert_element_type(ans, get_aval(x).dtype)
        return real(mul(t, div(conj(x), replace_zero(modulus))))
    return select_n(ge(x, const(x, 0)), neg(t), t)


def _abs_lower(ctx, x):
    if dtypes.is_unsigned(ctx.avals_in[0].dtype):  # no unsigned stablehlo.abs: the identity
        return x
    return elementwise_op(ctx, "stablehlo.abs", [x])


abs_p = unary("abs", np.abs, NUMERIC, out_dtype=dtypes.real_dtype, lower=_abs_lower,
              jvp=_abs_jvp)


def abs(x):  # noqa: A001  (lax's name)
    """Elementwise absolute value (the modulus, of real dtype, for complex)."""
    return apply1(abs_p, x)


def _integer_pow_impl(x, *, y):
    if y < 0 and dtypes.is_int(x.dtype):
        return np.power(x.astype(np.float64), y).astype(x.dtype)
    return np.power(x, y, dtype=x.dtype) if y >= 0 else np.power(x, float(y)).astype(x.dtype)


def _integer_pow_check(x: ShapedArray, *, y: int):
    if y < 0 and category(x.dtype) in INTEGRAL:
        raise TypeError(f"integer_pow: integers cannot be raised to a negative power "
                        f"({x.str_short()} ** {y}); convert x to a float dtype first")


def _integer_pow_jvp(t, ans, x, *, y):
    if y == 0:
        return zero_tangent(ans)
    if y == 1:
        return t
    power = x if y == 2 else integer_pow(x, y - 1)
    return mul(t, mul(const(x, y), power))


def _integer_pow_lower(ctx, x, *, y):
    # square-and-multiply: integers wrap exactly as numpy's power does
    (x,), (aval,) = full(ctx, [x])
    if y == 0:
        return ctx.constant(1, aval)
    n, acc, base = -y if y < 0 else y, None, x
    while n:
        if n & 1:
            acc = base if acc is None else hlo(ctx, "stablehlo.multiply", [acc, base], aval)
        n >>= 1
        if n:
            base = hlo(ctx, "stablehlo.multiply", [base, base], aval)
    if y < 0:
        acc = hlo(ctx, "stablehlo.divide", [ctx.constant(1, aval), acc], aval)
    return acc


integer_pow_p = unary("integer_pow", _integer_pow_impl, NUMERIC, params=True,
                      check=_integer_pow_check, lower=_integer_pow_lower, jvp=_integer_pow_jvp)


def integer_pow(x, y: int):
    """x ** y for a static Python int y."""
    return bind(integer_pow_p, x, y=int(y))


# --- complex parts: linear, transposed for the pairing Re(sum(a * b)) ----------------------------

real_p = unary("real", np.real, (COMPLEX,), out_dtype=dtypes.real_dtype, lower="stablehlo.real",
               jvp=lambda t, ans, x: real(t),
               transpose=lambda ct, x: [complex(ct, const(ct, 0))])
imag_p = unary("imag", np.imag, (COMPLEX,), out_dtype=dtypes.real_dtype, lower="stablehlo.imag",
               jvp=lambda t, ans, x: imag(t),
               transpose=lambda ct, x: [complex(const(ct, 0), neg(ct))])


def real(x):
    """Real part of a complex array."""
    return apply1(real_p, x)


def imag(x):
    """Imaginary part of a complex array."""
    return apply1(imag_p, x)


def _conj_lower(ctx, x):
    (x,), (aval,) = full(ctx, [x])
    part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
    re = hlo(ctx, "stablehlo.real", [x], aval, part)
    im = hlo(ctx, "stablehlo.imag", [x], aval, part)
    return ctx.op("stablehlo.complex", [re, hlo(ctx, "stablehlo.negate", [im], part)],
                  [part, part], aval)


conj_p = unary("conj", np.conjugate, (COMPLEX,), lower=_conj_lower,
               jvp=lambda t, ans, x: conj(t), transpose=lambda ct, x: [conj(ct)])


def conj(x):
    """Complex conjugate; of a real x, ``complex(x, +0)`` (as ``jax.lax.conj``)."""
    if type(x) in dtypes.PYTHON_SCALARS:
        (x,) = lax_operands(x)
    aval = get_aval(x)
    if aval.dtype in (dtypes.float32, dtypes.float64):   # (jax rejects float16)
        return bind(complex_p, x, scalar_constant(0, aval.dtype, aval.weak_type))
    return bind(conj_p, x)


def _complex_impl(x, y):
    # not x + 1j * y: 1j * inf is nan + inf j, so an infinite y would spoil the real part
    x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    out = np.empty(x.shape, dtypes.complex_dtype(x.dtype))
    out.real, out.imag = x, y
    return out


def _complex_jvp(primals, tangents):
    ans = bind(complex_p, *primals)
    # Zeros stay rank-0 where their operand is: complex_p broadcasts them.
    tx, ty = (instantiate(t) for t in tangents)
    return ans, complex(tx, ty)


def _complex_lower(ctx, x, y):
    (x, y), (aval, _) = full(ctx, [x, y])
    part = aval.update(dtype=dtypes.real_dtype(ctx.avals_out[0].dtype))
    x, y = ctx.convert(x, aval, part.dtype), ctx.convert(y, aval, part.dtype)  # f16 -> f32
    return ctx.op("stablehlo.complex", [x, y], [part, part], ctx.avals_out[0])


complex_p = binary("complex", _complex_impl, (FLOAT,), out_dtype=dtypes.complex_dtype,
                   lower=_complex_lower, jvp_rule=_complex_jvp,
                   transpose=lambda ct, x, y: linear_cts((x, y), real(ct), neg(imag(ct))))


def complex(x, y):  # noqa: A001  (lax's name)
    """Builds x + 1j * y."""
    return apply2(complex_p, x, y)


for _fn, _p in ((add, add_p), (sub, sub_p), (mul, mul_p), (div, div_p), (neg, neg_p)):
    use_in_derivatives(_fn, _p.impl)
use_in_derivatives(integer_pow, lambda x, y: integer_pow_p.impl(x, y=y))
del _fn, _p
