"""Lowering rules (StableHLO, for ``jit``) of the elementwise primitives.

Imported at the end of ``elementwise.py``; the rules follow that file's order.
Most primitives are one StableHLO (or CHLO) op. Where XLA's op means
something else than our eager ``impl``, the rule composes ops to match it, and
says why next to the rule:

* ``sign``/``abs`` of unsigned ints are
  ``x != 0`` / ``x`` (XLA has no unsigned sign/abs);
* ``max``/``min`` of complex numbers compare lexicographically with numpy's
  NaN rule (XLA compares real parts only);
* ``select_n`` with an int32 selector is a tree of compares and selects
  (``stablehlo.select`` takes a bool predicate and two cases); an index out of
  ``[0, n)`` picks the nearest case (eager mode raises, as ``np.choose`` does);
* ``convert_element_type`` from complex to a real type keeps the real part,
  ``bitcast_convert_type`` to or from bool is ``x != 0`` / a convert (XLA
  cannot bitcast its 1-bit predicates);
* erf, erf_inv, lgamma, digamma and polygamma compute float16/bfloat16 inputs
  in float32, as the eager impl does with scipy (whose impls take XLA's values,
  as JAX has them, where scipy's differ: lgamma(-inf), erf_inv(-0.0), the poles);
* ``complex`` of float16/bfloat16 parts converts them to float32 first;
* ``integer_pow`` is a chain of multiplies (square-and-multiply), ``exp2`` is
  ``pow(2, x)`` (exact at integers).

Checked against XLA (and kept as eager does): float -> int conversion
saturates with NaN -> 0; shifts by a negative or too-large amount give 0
(``shift_right_arithmetic``: the sign fill); ``max``/``min`` propagate NaN;
integer ``div`` rounds toward zero and ``rem`` has the dividend's sign; integer
``x / 0`` is -1 (all ones) and ``x % 0`` is ``x``, as in JAX.

Left different on purpose: integer ``pow`` with a negative exponent raises in
eager mode (numpy) and gives XLA's value under jit; results of inexact ops
differ by XLA's rounding. (``max``/``min`` of +0.0 and -0.0 give +0.0 / -0.0 in
both modes: the eager impls fix numpy's second-operand choice.)
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import ShapedArray
from ..interpreters.lowering import broadcast_operands, defelementwise, elementwise_op
from . import elementwise as ew

# --- helpers ----------------------------------------------------------------------------------


def _full(ctx, operands):
    """The operands broadcast to the output's shape, with their (full-shape) avals."""
    shape = ctx.avals_out[0].shape
    xs = broadcast_operands(ctx, operands, ctx.avals_in, shape)
    return xs, [ShapedArray(shape, a.dtype) for a in ctx.avals_in]


def _compare_type(dtype) -> str:
    if dtype == dtypes.bool_ or dtypes.is_unsigned(dtype):
        return "UNSIGNED"
    if dtypes.is_int(dtype):
        return "SIGNED"
    return "FLOAT"  # float and complex: NaN compares unordered, -0.0 == 0.0 (numpy's rule)


def _compare(ctx, x, y, aval: ShapedArray, direction: str) -> str:
    """``x <direction> y`` (EQ, NE, LT, LE, GT, GE) for two operands of ``aval``."""
    attrs = (f"comparison_direction = #stablehlo<comparison_direction {direction}>, "
             f"compare_type = #stablehlo<comparison_type {_compare_type(aval.dtype)}>")
    return ctx.op("stablehlo.compare", [x, y], [aval, aval], aval.update(dtype=dtypes.bool_),
                  attrs)


def _select(ctx, pred, on_true, on_false, aval: ShapedArray) -> str:
    return ctx.op("stablehlo.select", [pred, on_true, on_false],
                  [aval.update(dtype=dtypes.bool_), aval, aval], aval)


def _op(ctx, name, operands, aval: ShapedArray, out_aval: ShapedArray = None) -> str:
    """A same-shape elementwise op whose operands all have ``aval``."""
    return ctx.op(name, operands, [aval] * len(operands), out_aval or aval)


def _bool_op(ctx, name, a, b, aval):
    return ctx.op(name, [a, b], [aval, aval], aval)


def _lower_upcast(opname, param_fn=None, fixup=None):
    """A rule for a float op that the eager impl computes in float32 for 16-bit floats.

    ``fixup(ctx, x, out, aval, **params)`` may patch the result (in the
    working precision) where XLA's value differs from scipy's.
    """
    def rule(ctx, x, **params):
        (x,), (aval,) = _full(ctx, [x])
        work = aval.update(dtype=dtypes.float32) if aval.dtype.itemsize < 4 else aval
        x = ctx.convert(x, aval, work.dtype)
        args = [x] if param_fn is None else [ctx.constant(param_fn(**params), work), x]
        out = _op(ctx, opname, args, work)
        if fixup is not None:
            out = fixup(ctx, x, out, work, **params)
        return ctx.convert(out, work, aval.dtype)
    return rule


# --- unary ------------------------------------------------------------------------------------

defelementwise(ew.neg_p, "stablehlo.negate")


@ew.sign_p.def_lower
def _sign_lower(ctx, x):
    (x,), (aval,) = _full(ctx, [x])
    zero = ctx.constant(0, aval)
    if dtypes.is_unsigned(aval.dtype):  # no unsigned stablehlo.sign: 1 where x != 0
        return ctx.convert(_compare(ctx, x, zero, aval, "NE"), aval.update(dtype=dtypes.bool_),
                           aval.dtype)
    return _op(ctx, "stablehlo.sign", [x], aval)   # sign(-0.0) is -0.0, as in JAX


defelementwise(ew.floor_p, "stablehlo.floor")
defelementwise(ew.ceil_p, "stablehlo.ceil")


@ew.round_p.def_lower
def _round_lower(ctx, x, *, rounding_method=0):
    op = "stablehlo.round_nearest_afz" if rounding_method == 0 else "stablehlo.round_nearest_even"
    return elementwise_op(ctx, op, [x])


defelementwise(ew.is_finite_p, "stablehlo.is_finite")
defelementwise(ew.exp_p, "stablehlo.exponential")


@ew.exp2_p.def_lower
def _exp2_lower(ctx, x):
    # pow(2, x) rather than exp(x * log 2): exact at integers, a few ulps elsewhere
    (x,), (aval,) = _full(ctx, [x])
    return _op(ctx, "stablehlo.power", [ctx.constant(2, aval), x], aval)


defelementwise(ew.log_p, "stablehlo.log")
defelementwise(ew.log1p_p, "stablehlo.log_plus_one")
defelementwise(ew.expm1_p, "stablehlo.exponential_minus_one")
defelementwise(ew.tanh_p, "stablehlo.tanh")
defelementwise(ew.logistic_p, "stablehlo.logistic")
defelementwise(ew.sin_p, "stablehlo.sine")
defelementwise(ew.cos_p, "stablehlo.cosine")
defelementwise(ew.tan_p, "chlo.tan")
defelementwise(ew.asin_p, "chlo.asin")
defelementwise(ew.acos_p, "chlo.acos")
defelementwise(ew.atan_p, "chlo.atan")
defelementwise(ew.sinh_p, "chlo.sinh")
defelementwise(ew.cosh_p, "chlo.cosh")
defelementwise(ew.asinh_p, "chlo.asinh")
defelementwise(ew.acosh_p, "chlo.acosh")
defelementwise(ew.atanh_p, "chlo.atanh")
defelementwise(ew.sqrt_p, "stablehlo.sqrt")
defelementwise(ew.rsqrt_p, "stablehlo.rsqrt")
defelementwise(ew.cbrt_p, "stablehlo.cbrt")


@ew.abs_p.def_lower
def _abs_lower(ctx, x):
    if dtypes.is_unsigned(ctx.avals_in[0].dtype):  # no unsigned stablehlo.abs: the identity
        return x
    return elementwise_op(ctx, "stablehlo.abs", [x])


ew.erf_p.lower = _lower_upcast("chlo.erf")
ew.erfc_p.lower = _lower_upcast("chlo.erfc")
ew.erf_inv_p.lower = _lower_upcast("chlo.erf_inv")
ew.lgamma_p.lower = _lower_upcast("chlo.lgamma")
ew.digamma_p.lower = _lower_upcast("chlo.digamma")
defelementwise(ew.not_p, "stablehlo.not")
defelementwise(ew.real_p, "stablehlo.real")
defelementwise(ew.imag_p, "stablehlo.imag")


@ew.conj_p.def_lower
def _conj_lower(ctx, x):
    (x,), (aval,) = _full(ctx, [x])
    part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
    re = _op(ctx, "stablehlo.real", [x], aval, part)
    im = _op(ctx, "stablehlo.imag", [x], aval, part)
    return ctx.op("stablehlo.complex", [re, _op(ctx, "stablehlo.negate", [im], part)],
                  [part, part], aval)


@ew.stop_gradient_p.def_lower
def _stop_gradient_lower(ctx, x):
    return x  # only differentiation treats it specially


@ew.integer_pow_p.def_lower
def _integer_pow_lower(ctx, x, *, y):
    # square-and-multiply: integers wrap exactly as numpy's power does
    (x,), (aval,) = _full(ctx, [x])
    if y == 0:
        return ctx.constant(1, aval)
    n, acc, base = abs(y), None, x
    while n:
        if n & 1:
            acc = base if acc is None else _op(ctx, "stablehlo.multiply", [acc, base], aval)
        n >>= 1
        if n:
            base = _op(ctx, "stablehlo.multiply", [base, base], aval)
    if y < 0:
        acc = _op(ctx, "stablehlo.divide", [ctx.constant(1, aval), acc], aval)
    return acc


ew.polygamma_p.lower = _lower_upcast("chlo.polygamma", param_fn=lambda m: m)


# --- binary -----------------------------------------------------------------------------------

defelementwise(ew.add_p, "stablehlo.add")
defelementwise(ew.sub_p, "stablehlo.subtract")
defelementwise(ew.mul_p, "stablehlo.multiply")


# Integer x / 0 is -1 (all ones) and x % 0 is x, INT_MIN / -1 is INT_MIN and
# INT_MIN % -1 is 0: XLA's values, which the eager impls give too (as JAX does).
defelementwise(ew.div_p, "stablehlo.divide")
defelementwise(ew.rem_p, "stablehlo.remainder")


@ew.pow_p.def_lower
def _pow_lower(ctx, x, y):
    (x, y), (aval, y_aval) = _full(ctx, [x, y])
    if y_aval.dtype != aval.dtype:   # an integer exponent: converted, as XLA's pow needs
        y = ctx.convert(y, y_aval, aval.dtype)
    return _op(ctx, "stablehlo.power", [x, y], aval)


def _complex_minmax(direction):
    """numpy's complex max/min: lexicographic on (real, imag); a NaN operand wins.

    XLA's maximum/minimum of complex numbers compare the real parts only.
    ``x`` is kept when it has a NaN part or when (as numpy's CGE/CLE macros
    say) ``x.re > y.re`` with no NaN imaginary part, or ``x.re == y.re`` and
    ``x.im >= y.im`` (``<`` / ``<=`` for min).
    """
    strict, loose = ("GT", "GE") if direction == "max" else ("LT", "LE")

    def rule(ctx, x, y):
        (x, y), (aval, _) = _full(ctx, [x, y])
        part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
        pred = aval.update(dtype=dtypes.bool_)
        xr, xi = (_op(ctx, f"stablehlo.{p}", [x], aval, part) for p in ("real", "imag"))
        yr, yi = (_op(ctx, f"stablehlo.{p}", [y], aval, part) for p in ("real", "imag"))
        xi_ok, yi_ok = _compare(ctx, xi, xi, part, "EQ"), _compare(ctx, yi, yi, part, "EQ")
        re_wins = _bool_op(ctx, "stablehlo.and", _compare(ctx, xr, yr, part, strict),
                           _bool_op(ctx, "stablehlo.and", xi_ok, yi_ok, pred), pred)
        im_wins = _bool_op(ctx, "stablehlo.and", _compare(ctx, xr, yr, part, "EQ"),
                           _compare(ctx, xi, yi, part, loose), pred)
        x_nan = _bool_op(ctx, "stablehlo.or", _compare(ctx, xr, xr, part, "NE"),
                         _op(ctx, "stablehlo.not", [xi_ok], pred), pred)
        keep_x = _bool_op(ctx, "stablehlo.or", x_nan,
                          _bool_op(ctx, "stablehlo.or", re_wins, im_wins, pred), pred)
        return _select(ctx, keep_x, x, y, aval)
    return rule


def _minmax(opname, direction):
    complex_rule = _complex_minmax(direction)

    def rule(ctx, x, y):
        if dtypes.is_complex(ctx.avals_out[0].dtype):
            return complex_rule(ctx, x, y)
        return elementwise_op(ctx, opname, [x, y])  # NaN-propagating, as np.maximum
    return rule


ew.max_p.lower = _minmax("stablehlo.maximum", "max")
ew.min_p.lower = _minmax("stablehlo.minimum", "min")
defelementwise(ew.atan2_p, "stablehlo.atan2")
defelementwise(ew.nextafter_p, "chlo.next_after")


@ew.complex_p.def_lower
def _complex_lower(ctx, x, y):
    (x, y), (aval, _) = _full(ctx, [x, y])
    part = aval.update(dtype=dtypes.real_dtype(ctx.avals_out[0].dtype))
    x, y = ctx.convert(x, aval, part.dtype), ctx.convert(y, aval, part.dtype)  # f16 -> f32
    return ctx.op("stablehlo.complex", [x, y], [part, part], ctx.avals_out[0])


defelementwise(ew.and_p, "stablehlo.and")
defelementwise(ew.or_p, "stablehlo.or")
defelementwise(ew.xor_p, "stablehlo.xor")
# XLA's shifts already give 0 (the sign fill for arithmetic right shifts) for a
# negative or too-large shift amount, as the eager impl does.
defelementwise(ew.shift_left_p, "stablehlo.shift_left")
defelementwise(ew.shift_right_arithmetic_p, "stablehlo.shift_right_arithmetic")
defelementwise(ew.shift_right_logical_p, "stablehlo.shift_right_logical")


def _comparison(direction):
    def rule(ctx, x, y):
        (x, y), (aval, _) = _full(ctx, [x, y])
        return _compare(ctx, x, y, aval, direction)
    return rule


for _p, _dir in ((ew.eq_p, "EQ"), (ew.ne_p, "NE"), (ew.lt_p, "LT"), (ew.le_p, "LE"),
                 (ew.gt_p, "GT"), (ew.ge_p, "GE")):
    _p.lower = _comparison(_dir)


# --- select_n ---------------------------------------------------------------------------------


@ew.select_n_p.def_lower
def _select_n_lower(ctx, which, *cases):
    xs, avals = _full(ctx, [which, *cases])
    which, cases = xs[0], xs[1:]
    w_aval, aval = avals[0], ctx.avals_out[0]
    if len(cases) == 1:
        return cases[0]
    if w_aval.dtype == dtypes.bool_:
        return _select(ctx, which, cases[1], cases[0], aval)

    def tree(lo, hi):  # the case for which in [lo, hi): split at the middle
        if hi - lo == 1:
            return cases[lo]
        mid = (lo + hi) // 2
        pred = _compare(ctx, which, ctx.constant(mid, w_aval), w_aval, "LT")
        return _select(ctx, pred, tree(lo, mid), tree(mid, hi), aval)
    return tree(0, len(cases))


# --- convert_element_type, bitcast_convert_type -----------------------------------------------


@ew.convert_element_type_p.def_lower
def _convert_lower(ctx, x, *, new_dtype, weak_type=False):
    aval = ctx.avals_in[0]
    new_dtype = np.dtype(new_dtype)
    if dtypes.is_complex(aval.dtype) and not dtypes.is_complex(new_dtype):
        # complex -> real keeps the real part (stablehlo.convert would too, but
        # complex -> bool must test the real part alone, as the eager impl does)
        part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
        x, aval = _op(ctx, "stablehlo.real", [x], aval, part), part
    # float -> int: XLA saturates and maps NaN to 0, as the eager impl does;
    # -> bool is x != 0 (NaN -> True), as numpy's astype(bool)
    return ctx.convert(x, aval, new_dtype)


@ew.bitcast_convert_type_p.def_lower
def _bitcast_lower(ctx, x, *, new_dtype):
    aval = ctx.avals_in[0]
    new_dtype = np.dtype(new_dtype)
    if new_dtype == aval.dtype:
        return x
    if aval.dtype == dtypes.bool_:  # a bool's byte is 0 or 1
        return ctx.convert(x, aval, new_dtype)
    if new_dtype == dtypes.bool_:   # XLA has no bitcast to its 1-bit pred: any set bit is True
        return _compare(ctx, x, ctx.constant(0, aval), aval, "NE")
    return ctx.op("stablehlo.bitcast_convert", [x], [aval], ctx.avals_out[0])
