"""Autodiff rules (jvp, transpose) of the elementwise primitives.

Imported at the end of ``elementwise.py``; the rules are grouped per
primitive in that file's order. Every rule is written with ``bind`` (through
the lax wrappers), so tangents and cotangents are themselves differentiable
(grad of grad) and traceable.

Conventions, as in JAX:

* Complex functions are differentiated as holomorphic functions: the tangent
  of ``f(x)`` is ``f'(x) * t``. Non-holomorphic parts (``real``, ``imag``,
  ``conj``, ``abs`` of complex, ``complex``) are R-linear maps; their
  transposes are taken for the bilinear pairing ``<a, b> = Re(sum(a * b))``
  (not the Hermitian one): the transpose of ``real`` is ``complex(ct, 0)``, of
  ``imag`` is ``complex(0, -ct)``, of ``conj`` is ``conj(ct)``, and of
  ``complex(x, y)`` is ``(real(ct), -imag(ct))``. ``grad`` of a real function
  of a complex input is then ``2 * df/dz = conj(2 * df/dz*)`` (Wirtinger
  derivatives), exactly what ``jax.grad`` returns: ``grad(abs(z)**2) = 2 *
  conj(z)``.
* Integer and bool results have a symbolic Zero tangent (JAX's float0).
* ``max``/``min``: where the operands tie, each gets half of the tangent.
* ``abs`` has derivative 1 at 0 (``sign`` is not used: the tangent is
  ``select(x >= 0, t, -t)``); for complex ``x`` it is ``real(conj(x) * t) / |x|``
  (0 at x == 0).
* ``pow(x, y)``: d/dy is ``log(x) * x**y`` with ``log(0)`` replaced by 0, and
  d/dx is ``y * x**(y - 1)`` (NaN at x == 0 for y == 0, as in JAX).
* ``digamma``'s derivative is ``polygamma(1, x)``; ``polygamma(m, x)`` has
  derivative ``polygamma(m + 1, x)``, so every order is available.

Rank-0 operands broadcast in elementwise primitives: a tangent contributed by a
rank-0 operand alone is broadcast to the output's shape, and the cotangent of a
rank-0 operand is summed (``unbroadcast_scalar``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..array import _new_array
from ..core import bind, get_aval, quietly
from ..eager import eval_host_pair, host_array, host_aval
from ..interpreters.jvp import (Zero, add_tangents, defjvp_zero, instantiate, register_tangent_add,
                                tangent_aval)
from ..interpreters.reverse import UndefinedPrimal, is_undefined, unbroadcast_scalar
from . import elementwise as ew
from ._rules import scalar_constant
from .shape import broadcast_in_dim

# --- helpers ---------------------------------------------------------------------------------


def _const(ref, value):
    """A rank-0 constant of ``ref``'s dtype (not weak, so it never weakens a tangent)."""
    if type(value) in (int, float, bool):
        return scalar_constant(value, get_aval(ref).dtype, False)
    return _new_array(np.asarray(value, get_aval(ref).dtype), False)


def _bcast(t, ref):
    """``t`` broadcast to ``ref``'s shape (t is rank-0 or already of that shape)."""
    shape = get_aval(ref).shape
    return t if get_aval(t).shape == shape else broadcast_in_dim(t, shape, ())


def _replace_zero(x):
    """``x`` with its zeros replaced by ones (to keep a division or log finite)."""
    return ew.select_n(ew.eq(x, _const(x, 0)), x, _const(x, 1))


def _zero_tangent(ans):
    return Zero(tangent_aval(get_aval(ans)))


_INEXACT_DTYPES = frozenset([dtypes.bfloat16, dtypes.float16, dtypes.float32, dtypes.float64,
                             dtypes.complex64, dtypes.complex128])


# The two rule builders below are ``defjvp`` (one tangent function per input),
# with integer and bool results given a Zero tangent, written out as single
# functions: elementwise math is most of what is differentiated, and reverse
# mode runs a jvp rule for every operation.


def _defjvp(prim, *fns):
    """``defjvp(prim, *fns)``, with integer and bool results given a Zero tangent."""
    def rule(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        if get_aval(ans).dtype not in _INEXACT_DTYPES:
            return ans, _zero_tangent(ans)
        out = None
        for fn, t in zip(fns, tangents):
            if fn is None or type(t) is Zero:
                continue
            contribution = fn(t, ans, *primals, **params)
            out = contribution if out is None else add_tangents(out, contribution)
        return ans, _zero_tangent(ans) if out is None else out
    prim.jvp = rule
    return rule


def _unary_jvp(prim, derivative):
    """The tangent is ``t * derivative(ops, ans, x, **params)``.

    ``derivative`` is written once over a namespace ``ops`` of lax functions.
    It gets :class:`_LaxOps` (binds: traceable, differentiable again) or, when
    ``x`` has a ``core.host_aval`` (a concrete float32/float64 Array, nothing
    being staged out), :class:`_HostOps` (the same primitives' impls on the host values): the
    primal and the derivative are then computed without a bind each, which is
    most of the cost of eager reverse mode through elementwise math.
    """
    def rule(primals, tangents, **params):
        (x,), (t,) = primals, tangents
        aval = host_aval(x) if type(t) is not Zero else None
        if aval is not None:
            xv = x._value
            try:
                ans = prim.impl(xv, **params)
                d = derivative(_HostOps, ans, xv, **params)
            except RuntimeWarning:  # a user's filter made numpy's warning an error (see core)
                ans, d = quietly(_host_derivative, (prim, derivative, xv, params), None)
            return host_array(ans, aval), ew.mul(t, host_array(d, aval))
        ans = bind(prim, x, **params)
        if type(t) is Zero or get_aval(ans).dtype not in _INEXACT_DTYPES:
            return ans, _zero_tangent(ans)
        return ans, ew.mul(t, derivative(_LaxOps, ans, x, **params))
    prim.jvp = rule
    return rule


def _host_derivative(prim, derivative, xv, params):
    ans = prim.impl(xv, **params)
    return ans, derivative(_HostOps, ans, xv, **params)


class _LaxOps:
    """The lax functions derivative formulas use (binds)."""
    const = staticmethod(_const)
    polygamma = staticmethod(ew.polygamma)
    integer_pow = staticmethod(ew.integer_pow)


class _HostOps:
    """The same functions on host numpy values: the primitives' impls. A Python
    scalar constant keeps the array operand's dtype in numpy (NEP 50)."""
    const = staticmethod(lambda ref, value: value)
    polygamma = staticmethod(lambda m, x: ew.polygamma_p.impl(x, m=m))
    integer_pow = staticmethod(lambda x, y: ew.integer_pow_p.impl(x, y=y))


for _name in ("add", "sub", "mul", "div", "neg", "exp", "cos", "sin", "cosh", "sinh", "rsqrt",
              "digamma"):
    setattr(_LaxOps, _name, staticmethod(getattr(ew, _name)))
    setattr(_HostOps, _name, staticmethod(getattr(ew, _name + "_p").impl))


def _linear_cts(args, *cts):
    """One cotangent per input: ``cts[i]`` summed to input i's shape where it is undefined."""
    return [unbroadcast_scalar(ct, x.aval) if is_undefined(x) else None
            for x, ct in zip(args, cts)]


# --- unary ------------------------------------------------------------------------------------

# neg: linear.
_defjvp(ew.neg_p, lambda t, ans, x: ew.neg(t))
ew.neg_p.def_transpose(lambda ct, x: [ew.neg(ct)])

# Piecewise-constant results, and stop_gradient, whose tangent is zero by definition.
for _p in (ew.sign_p, ew.floor_p, ew.ceil_p, ew.round_p, ew.is_finite_p, ew.not_p,
           ew.stop_gradient_p):
    defjvp_zero(_p)

_unary_jvp(ew.exp_p, lambda ops, ans, x: ans)
_unary_jvp(ew.exp2_p, lambda ops, ans, x: ops.mul(ans, ops.const(ans, math.log(2.0))))
_defjvp(ew.log_p, lambda t, ans, x: ew.div(t, x))
_defjvp(ew.log1p_p, lambda t, ans, x: ew.div(t, ew.add(x, _const(x, 1))))
_unary_jvp(ew.expm1_p, lambda ops, ans, x: ops.add(ans, ops.const(ans, 1)))
# (1 + ans) * (1 - ans), as JAX: rounds as JAX does, and is exact near |ans| = 1
_unary_jvp(ew.tanh_p, lambda ops, ans, x: ops.mul(ops.add(ops.const(ans, 1), ans),
                                                  ops.sub(ops.const(ans, 1), ans)))
_unary_jvp(ew.logistic_p, lambda ops, ans, x: ops.mul(ans, ops.sub(ops.const(ans, 1), ans)))
_unary_jvp(ew.sin_p, lambda ops, ans, x: ops.cos(x))
_unary_jvp(ew.cos_p, lambda ops, ans, x: ops.neg(ops.sin(x)))
_unary_jvp(ew.tan_p, lambda ops, ans, x: ops.add(ops.const(ans, 1), ops.mul(ans, ans)))


def _one_minus_square(ops, x):
    return ops.sub(ops.const(x, 1), ops.mul(x, x))


_unary_jvp(ew.asin_p, lambda ops, ans, x: ops.rsqrt(_one_minus_square(ops, x)))
_unary_jvp(ew.acos_p, lambda ops, ans, x: ops.neg(ops.rsqrt(_one_minus_square(ops, x))))
_defjvp(ew.atan_p, lambda t, ans, x: ew.div(t, ew.add(_const(x, 1), ew.mul(x, x))))
_unary_jvp(ew.sinh_p, lambda ops, ans, x: ops.cosh(x))
_unary_jvp(ew.cosh_p, lambda ops, ans, x: ops.sinh(x))
_unary_jvp(ew.asinh_p, lambda ops, ans, x: ops.rsqrt(ops.add(ops.mul(x, x), ops.const(x, 1))))
# x**2 - 1 rather than (x + 1)(x - 1), as JAX: the domain is x >= 1.
_unary_jvp(ew.acosh_p, lambda ops, ans, x: ops.rsqrt(ops.sub(ops.mul(x, x), ops.const(x, 1))))
# 1 / (1 + x) * (t / (1 - x)), as JAX (so 0, not NaN, at +-inf)
_defjvp(ew.atanh_p, lambda t, ans, x: ew.mul(ew.integer_pow(ew.add(_const(x, 1), x), -1),
                                             ew.div(t, ew.sub(_const(x, 1), x))))
_unary_jvp(ew.sqrt_p, lambda ops, ans, x: ops.div(ops.const(ans, 0.5), ans))
_unary_jvp(ew.rsqrt_p, lambda ops, ans, x: ops.mul(ops.const(x, -0.5), ops.div(ans, x)))
_unary_jvp(ew.cbrt_p, lambda ops, ans, x: ops.mul(ops.const(x, 1 / 3), ops.integer_pow(ans, -2)))


def _abs_jvp(t, ans, x):
    if dtypes.is_complex(get_aval(x).dtype):
        # d|x| = Re(conj(x) * t) / |x|, taken as 0 at x == 0.
        modulus = ew.convert_element_type(ans, get_aval(x).dtype)
        return ew.real(ew.mul(t, ew.div(ew.conj(x), _replace_zero(modulus))))
    return ew.select_n(ew.ge(x, _const(x, 0)), ew.neg(t), t)


_defjvp(ew.abs_p, _abs_jvp)
_unary_jvp(ew.erf_p, lambda ops, ans, x: ops.mul(ops.const(x, 2 / math.sqrt(math.pi)),
                                                ops.exp(ops.neg(ops.mul(x, x)))))
_unary_jvp(ew.erfc_p, lambda ops, ans, x: ops.mul(ops.const(x, -2 / math.sqrt(math.pi)),
                                                 ops.exp(ops.neg(ops.mul(x, x)))))
_unary_jvp(ew.erf_inv_p, lambda ops, ans, x: ops.mul(ops.const(x, math.sqrt(math.pi) / 2),
                                                    ops.exp(ops.mul(ans, ans))))
_unary_jvp(ew.lgamma_p, lambda ops, ans, x: ops.digamma(x))
_unary_jvp(ew.digamma_p, lambda ops, ans, x: ops.polygamma(1, x))
_unary_jvp(ew.polygamma_p, lambda ops, ans, x, *, m: ops.polygamma(m + 1, x))


def _integer_pow_jvp(t, ans, x, *, y):
    if y == 0:
        return _zero_tangent(ans)
    if y == 1:
        return t
    power = x if y == 2 else ew.integer_pow(x, y - 1)
    return ew.mul(t, ew.mul(_const(x, y), power))


_defjvp(ew.integer_pow_p, _integer_pow_jvp)

# --- complex parts: linear, transposed for the pairing Re(sum(a * b)) ----------------------------

_defjvp(ew.real_p, lambda t, ans, x: ew.real(t))
ew.real_p.def_transpose(lambda ct, x: [ew.complex(ct, _const(ct, 0))])
_defjvp(ew.imag_p, lambda t, ans, x: ew.imag(t))
ew.imag_p.def_transpose(lambda ct, x: [ew.complex(_const(ct, 0), ew.neg(ct))])
_defjvp(ew.conj_p, lambda t, ans, x: ew.conj(t))
ew.conj_p.def_transpose(lambda ct, x: [ew.conj(ct)])


def _complex_jvp(primals, tangents):
    ans = bind(ew.complex_p, *primals)
    # Zeros stay rank-0 where their operand is: complex_p broadcasts them.
    tx, ty = (instantiate(t) for t in tangents)
    return ans, ew.complex(tx, ty)


def _complex_transpose(ct, x, y):
    return _linear_cts((x, y), ew.real(ct), ew.neg(ew.imag(ct)))


ew.complex_p.def_jvp(_complex_jvp)
ew.complex_p.def_transpose(_complex_transpose)

# --- binary arithmetic ----------------------------------------------------------------------------


def _add_sub_jvp(prim, sign, ufunc):
    def rule(primals, tangents):
        ans = eval_host_pair(ufunc, *primals)  # (concrete primals: no bind)
        if ans is None:
            ans = bind(prim, *primals)
        tx, ty = tangents
        if get_aval(ans).dtype not in _INEXACT_DTYPES:
            return ans, _zero_tangent(ans)
        if type(tx) is Zero:
            return ans, _bcast(sign(ty), ans)
        if type(ty) is Zero:
            return ans, _bcast(tx, ans)
        return ans, bind(prim, tx, ty)
    return rule


register_tangent_add(ew.add_p)
ew.add_p.def_jvp(_add_sub_jvp(ew.add_p, lambda t: t, np.add))
# (the hottest rules of reverse mode: `type(x) is UndefinedPrimal` inline, and
# sub's negation computed only when y is linear)


def _add_transpose(ct, x, y):
    return [unbroadcast_scalar(ct, x.aval) if type(x) is UndefinedPrimal else None,
            unbroadcast_scalar(ct, y.aval) if type(y) is UndefinedPrimal else None]


def _sub_transpose(ct, x, y):
    return [unbroadcast_scalar(ct, x.aval) if type(x) is UndefinedPrimal else None,
            unbroadcast_scalar(ew.neg(ct), y.aval) if type(y) is UndefinedPrimal else None]


ew.add_p.def_transpose(_add_transpose)
ew.sub_p.def_jvp(_add_sub_jvp(ew.sub_p, ew.neg, np.subtract))
ew.sub_p.def_transpose(_sub_transpose)


def _mul_transpose(ct, x, y):
    if type(x) is UndefinedPrimal:
        if type(y) is UndefinedPrimal:
            raise ValueError("mul: cannot transpose a product of two linear inputs (it is not "
                             "linear)")
        return [unbroadcast_scalar(_cotangent_product(ct, y), x.aval), None]
    return [None, unbroadcast_scalar(_cotangent_product(ct, x), y.aval)]  # (x * ct = ct * x)


def _cotangent_product(ct, y):
    """``ew.mul(ct, y)``, on the host values directly where that is exact
    (core.eval_host_pair: the cotangent times a residual, most of eager
    reverse mode's backward pass)."""
    out = eval_host_pair(np.multiply, ct, y)
    return ew.mul(ct, y) if out is None else out


def _mul_jvp(primals, tangents):
    # defjvp's rule written out for mul, the most common product of reverse mode
    x, y = primals
    tx, ty = tangents
    ans = eval_host_pair(np.multiply, x, y)  # (concrete primals: no bind)
    if ans is None:
        ans = bind(ew.mul_p, x, y)
    if get_aval(ans).dtype not in _INEXACT_DTYPES:
        return ans, _zero_tangent(ans)
    if type(tx) is Zero:
        return ans, _zero_tangent(ans) if type(ty) is Zero else ew.mul(x, ty)
    if type(ty) is Zero:
        return ans, ew.mul(tx, y)
    if x is y and tx is ty:
        # A square, x * x: its tangent t * x + x * t is t * (x + x), bit for bit
        # (doubling is exact), as one linear equation instead of three.
        return ans, ew.mul(tx, ew.add(x, x))
    return ans, add_tangents(ew.mul(tx, y), ew.mul(x, ty))


ew.mul_p.def_jvp(_mul_jvp)
ew.mul_p.def_transpose(_mul_transpose)


def _div_transpose(ct, x, y):
    if is_undefined(y):
        raise ValueError("div: cannot transpose with respect to the divisor (it is not linear)")
    return [unbroadcast_scalar(ew.div(ct, y), x.aval), None]


_defjvp(ew.div_p,
        lambda t, ans, x, y: ew.div(t, y),
        lambda t, ans, x, y: ew.mul(ew.mul(ew.neg(t), x), ew.integer_pow(y, -2)))
ew.div_p.def_transpose(_div_transpose)


def _round_toward_zero(x):
    return ew.mul(ew.sign(x), ew.floor(ew.abs(x)))


# rem(x, y) = x - y * trunc(x / y): d/dx = 1, d/dy = -trunc(x / y).
_defjvp(ew.rem_p,
        lambda t, ans, x, y: _bcast(t, ans),
        lambda t, ans, x, y: ew.mul(ew.neg(t), _round_toward_zero(ew.div(x, y))))


def _pow_jvp_x(t, ans, x, y):
    # y * x**(y - 1), as JAX's float pow: NaN at x == 0 for y == 0 (0 * inf);
    # ``x ** 0`` with a Python int is integer_pow, whose derivative is 0.
    if not dtypes.is_inexact(get_aval(y).dtype):
        # an integer exponent (as JAX): 0 where y == 0, so 0 ** 0 has derivative 0
        jac = ew.mul(ew.convert_element_type(y, get_aval(x).dtype),
                     ew.pow(x, ew.sub(y, _const(y, 1))))
        return ew.mul(t, ew.select_n(ew.eq(y, _const(y, 0)), jac, _const(jac, 0)))
    return ew.mul(t, ew.mul(y, ew.pow(x, ew.sub(y, _const(y, 1)))))


def _pow_jvp_y(t, ans, x, y):
    return ew.mul(t, ew.mul(ew.log(_replace_zero(x)), ans))


_defjvp(ew.pow_p, _pow_jvp_x, _pow_jvp_y)


def _balanced_eq(x, ans, y):
    """1 where x chose ``ans`` alone, 1/2 where x and y tie, 0 elsewhere."""
    # full-shape constants: select_n does not broadcast a selector over rank-0 cases
    one, zero, two = (_bcast(_const(ans, v), ans) for v in (1, 0, 2))
    return ew.div(ew.select_n(ew.eq(x, ans), zero, one),
                  ew.select_n(ew.eq(y, ans), one, two))


for _p in (ew.max_p, ew.min_p):
    _defjvp(_p,
            lambda t, ans, x, y: ew.mul(t, _balanced_eq(x, ans, y)),
            lambda t, ans, x, y: ew.mul(t, _balanced_eq(y, ans, x)))


def _atan2_denominator(x, y):
    return ew.add(ew.mul(x, x), ew.mul(y, y))


_defjvp(ew.atan2_p,
        lambda t, ans, x, y: ew.mul(t, ew.div(y, _atan2_denominator(x, y))),
        lambda t, ans, x, y: ew.mul(t, ew.div(ew.neg(x), _atan2_denominator(x, y))))

for _p in (ew.nextafter_p, ew.and_p, ew.or_p, ew.xor_p, ew.shift_left_p,
           ew.shift_right_arithmetic_p, ew.shift_right_logical_p, ew.eq_p, ew.ne_p, ew.lt_p,
           ew.le_p, ew.gt_p, ew.ge_p, ew.bitcast_convert_type_p):
    defjvp_zero(_p)

# --- select_n: linear in the cases, piecewise constant in the selector ---------------------------


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    ans = bind(ew.select_n_p, which, *cases)
    case_tangents = tangents[1:]
    if (all(type(t) is Zero for t in case_tangents)
            or not dtypes.is_inexact(get_aval(ans).dtype)):
        return ans, _zero_tangent(ans)
    return ans, bind(ew.select_n_p, which, *[instantiate(t) for t in case_tangents])


def _select_n_transpose(ct, which, *cases):
    if is_undefined(which):
        raise ValueError("select_n: cannot transpose with respect to the selector")
    zero = _const(ct, 0)
    out = [None]
    for i, case in enumerate(cases):
        if not is_undefined(case):
            out.append(None)
            continue
        if len(cases) == 1:
            picked = ct
        else:  # ct where case i is selected, 0 elsewhere
            picked = ew.select_n(which, *[ct if j == i else zero for j in range(len(cases))])
        out.append(unbroadcast_scalar(picked, case.aval))
    return out


ew.select_n_p.def_jvp(_select_n_jvp)
ew.select_n_p.def_transpose(_select_n_transpose)

# --- convert_element_type: linear between inexact dtypes --------------------------------------


def _convert_jvp(t, ans, x, *, new_dtype, weak_type=False):
    if not dtypes.is_inexact(get_aval(x).dtype):
        return _zero_tangent(ans)
    # complex -> real keeps the real part, like the primal conversion; the tangent
    # has the result's weak type (JAX's convert is linear: the same conversion)
    return ew.convert_element_type(t, new_dtype, weak_type=weak_type)


def _convert_transpose(ct, x, *, new_dtype, weak_type=False):
    if not dtypes.is_inexact(x.aval.dtype):
        return [None]
    # The transpose of real -> complex is real(ct); of complex -> real is complex(ct, 0).
    return [ew.convert_element_type(ct, x.aval.dtype, weak_type=x.aval.weak_type)]


_defjvp(ew.convert_element_type_p, _convert_jvp)
ew.convert_element_type_p.def_transpose(_convert_transpose)
