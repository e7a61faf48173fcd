"""The row builders of the elementwise tables, and the helpers their rules share.

A row defines one primitive with all its rules, and its lax wrapper follows it::

    sin_p = unary("sin", np.sin, INEXACT, lower="stablehlo.sine",
                  deriv=lambda ops, ans, x: ops.cos(x))


    def sin(x):
        '''Elementwise sine.'''
        return apply1(sin_p, x)

``unary``/``binary`` give the primitive its ``impl``, its ``abstract_eval``
(dtype check against the allowed categories, shape and weak type: see the
package docstring) and its batch rule (vmap applies an elementwise op to the
batched operands, lining up their batch axes). The keywords add the rest:

* ``lower``: a StableHLO/CHLO op name (one op on the operands, scalars
  broadcast), or a lowering rule ``rule(ctx, *operands, **params)``.
* ``deriv``: of a unary op, the derivative ``deriv(ops, ans, x, **params)``,
  written once over ``ops`` (:class:`LaxOps`: the lax functions, so it can be
  differentiated again; or :class:`HostOps`: their impls on numpy values, for
  eager reverse mode on concrete floats, which then skips a ``bind`` per op).
  The tangent is ``t * deriv``.
* ``jvp``: ``ZERO`` (a piecewise-constant result), or one tangent function per
  input, ``fn(t, ans, *primals, **params)`` (a tuple for binary ops) giving
  the output tangent contributed by that input's tangent ``t``.
* ``jvp_rule``: a whole jvp rule ``rule(primals, tangents, **params)``.
* ``transpose``: the transpose rule of a linear op.

Integer and bool results get a Zero tangent from ``deriv``/``jvp``, as
JAX's float0. Special cases (an impl with XLA's values, a lowering that
composes ops) are small named functions just above their row.
"""

from __future__ import annotations

import numpy as np

from ... import dtypes
from ...array import _new_array
from ...core import Primitive, ShapedArray, bind, get_aval, quietly
from ...eager import host_aval, host_array
from ...interpreters.batching import defbroadcasting, defvectorized
from ...interpreters.jvp import Zero, add_tangents, defjvp_zero, tangent_aval
from ...interpreters.lowering import broadcast_operands, defelementwise
from ...interpreters.reverse import is_undefined, unbroadcast_scalar
from .._rules import (FLOAT, check_dtype, check_same_dtypes, elementwise_shape, lax_operands,
                      scalar_constant)
from ..shape import broadcast_in_dim

ZERO = "zero"   # ``jvp=ZERO``: the result is piecewise constant, its tangent zero

# The primitives without parameters, in row order (tests run every check on each).
UNARY_PRIMITIVES: list = []
BINARY_PRIMITIVES: list = []


# --- row builders --------------------------------------------------------------------------


def unary(name: str, impl, allowed, *, out_dtype=None, params: bool = False, check=None,
          lower=None, deriv=None, jvp=None, jvp_rule=None, transpose=None) -> Primitive:
    """An elementwise primitive of one operand (see the module docstring).

    ``out_dtype(dtype)`` gives the result dtype when it is not the operand's;
    ``params=True`` marks a primitive with parameters (``round``'s method), and
    ``check(aval, **params)`` raises for operands or parameters it rejects.
    """
    p = Primitive(name)
    p.impl = impl

    def abstract_eval(x: ShapedArray, **params) -> ShapedArray:
        if check is not None:
            check(x, **params)
        check_dtype(name, x, allowed)
        # A weak operand gives a weak result, as in JAX: abs/real/imag of a weak
        # complex are weak reals, is_finite of a weak float a weak bool.
        return ShapedArray(x.shape, out_dtype(x.dtype) if out_dtype else x.dtype, x.weak_type)

    p.abstract_eval = abstract_eval
    p.same_aval = out_dtype is None and FLOAT in allowed
    defvectorized(p)
    if not params:
        UNARY_PRIMITIVES.append(p)
    if deriv is not None:
        _derivative_jvp(p, deriv)
    _rules(p, lower, jvp, jvp_rule, transpose)
    return p


def binary(name: str, impl, allowed, *, out_dtype=None, lower=None, jvp=None, jvp_rule=None,
           transpose=None) -> Primitive:
    """An elementwise primitive of two operands of one dtype (see the module docstring),
    whose result has ``out_dtype(dtype)`` if given. The result is weak when both
    operands are (comparisons' bool results too, as JAX)."""
    p = Primitive(name)
    p.impl = impl

    def abstract_eval(x: ShapedArray, y: ShapedArray) -> ShapedArray:
        for a in (x, y):
            check_dtype(name, a, allowed)
        check_same_dtypes(name, (x, y))
        return ShapedArray(elementwise_shape(name, (x, y)),
                           x.dtype if out_dtype is None else out_dtype(x.dtype),
                           x.weak_type and y.weak_type)

    p.abstract_eval = abstract_eval
    p.same_aval = out_dtype is None and FLOAT in allowed
    defbroadcasting(p)
    BINARY_PRIMITIVES.append(p)
    _rules(p, lower, jvp, jvp_rule, transpose)
    return p


def _rules(p, lower, jvp, jvp_rule, transpose):
    if isinstance(lower, str):
        defelementwise(p, lower)
    elif lower is not None:
        p.lower = lower
    if jvp is ZERO:
        defjvp_zero(p)
    elif jvp is not None:
        defjvp_inexact(p, *(jvp if isinstance(jvp, tuple) else (jvp,)))
    if jvp_rule is not None:
        p.jvp = jvp_rule
    if transpose is not None:
        p.transpose = transpose


def apply1(p, x, **params):
    """``bind(p, x)``, a Python scalar ``x`` made a weakly typed Array (as JAX)."""
    if type(x) in dtypes.PYTHON_SCALARS:
        (x,) = lax_operands(x)
    return bind(p, x, **params)


def apply2(p, x, y):
    """``bind(p, x, y)``, Python scalars typed like the other operand (weakly)."""
    if type(x) in dtypes.PYTHON_SCALARS or type(y) in dtypes.PYTHON_SCALARS:
        x, y = lax_operands(x, y)
    return bind(p, x, y)  # the common case costs no lax_operands call


# --- autodiff helpers ------------------------------------------------------------------------
# Every rule is written with binds (the lax wrappers), so tangents and
# cotangents are themselves differentiable (grad of grad) and traceable.

INEXACT_DTYPES = frozenset([dtypes.bfloat16, dtypes.float16, dtypes.float32, dtypes.float64,
                            dtypes.complex64, dtypes.complex128])


def const(ref, value):
    """A rank-0 constant of ``ref``'s dtype (not weak, so it never weakens a tangent)."""
    if type(value) in (int, float, bool):
        return scalar_constant(value, get_aval(ref).dtype, False)
    return _new_array(np.asarray(value, get_aval(ref).dtype), False)


def bcast(t, ref):
    """``t`` broadcast to ``ref``'s shape (t is rank-0 or already of that shape)."""
    shape = get_aval(ref).shape
    return t if get_aval(t).shape == shape else broadcast_in_dim(t, shape, ())


def zero_tangent(ans):
    return Zero(tangent_aval(get_aval(ans)))


def linear_cts(args, *cts):
    """One cotangent per input: ``cts[i]`` summed to input i's shape where it is undefined."""
    return [unbroadcast_scalar(ct, x.aval) if is_undefined(x) else None
            for x, ct in zip(args, cts)]


# The two jvp builders are ``defjvp`` (one tangent function per input), with
# integer and bool results given a Zero tangent, written out as single
# functions: elementwise math is most of what is differentiated, and reverse
# mode runs a jvp rule for every operation.


def defjvp_inexact(prim, *fns):
    def rule(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        if get_aval(ans).dtype not in INEXACT_DTYPES:
            return ans, zero_tangent(ans)
        out = None
        for fn, t in zip(fns, tangents):
            if fn is None or type(t) is Zero:
                continue
            contribution = fn(t, ans, *primals, **params)
            out = contribution if out is None else add_tangents(out, contribution)
        return ans, zero_tangent(ans) if out is None else out
    prim.jvp = rule


def _derivative_jvp(prim, derivative):
    """The tangent is ``t * derivative(ops, ans, x, **params)``: with :class:`HostOps`
    when ``x`` has an ``eager.host_aval`` (a concrete float32/float64 Array, nothing
    being staged out), the primal and derivative are computed without a bind each,
    which is most of the cost of eager reverse mode through elementwise math."""
    def rule(primals, tangents, **params):
        (x,), (t,) = primals, tangents
        aval = host_aval(x) if type(t) is not Zero else None
        if aval is not None:
            xv = x._value
            try:
                ans = prim.impl(xv, **params)
                d = derivative(HostOps, ans, xv, **params)
            except RuntimeWarning:  # a user's filter made numpy's warning an error (see core)
                ans, d = quietly(_host_derivative, (prim, derivative, xv, params), None)
            return host_array(ans, aval), LaxOps.mul(t, host_array(d, aval))
        ans = bind(prim, x, **params)
        if type(t) is Zero or get_aval(ans).dtype not in INEXACT_DTYPES:
            return ans, zero_tangent(ans)
        return ans, LaxOps.mul(t, derivative(LaxOps, ans, x, **params))
    prim.jvp = rule


def _host_derivative(prim, derivative, xv, params):
    ans = prim.impl(xv, **params)
    return ans, derivative(HostOps, ans, xv, **params)


class LaxOps:
    """What ``deriv`` formulas use, as binds (filled by :func:`use_in_derivatives`)."""
    const = staticmethod(const)


class HostOps:
    """The same functions on host numpy values: the primitives' impls. A Python
    scalar constant keeps the array operand's dtype in numpy (NEP 50)."""
    const = staticmethod(lambda ref, value: value)


def use_in_derivatives(wrapper, impl):
    """Makes ``ops.<wrapper's name>`` available to ``deriv`` formulas: ``wrapper``
    for :class:`LaxOps`, ``impl`` (the same function on numpy values) for HostOps."""
    setattr(LaxOps, wrapper.__name__, staticmethod(wrapper))
    setattr(HostOps, wrapper.__name__, staticmethod(impl))


# --- lowering helpers --------------------------------------------------------------------------


def full(ctx, operands):
    """The operands broadcast to the output's shape, with their (full-shape) avals."""
    shape = ctx.avals_out[0].shape
    xs = broadcast_operands(ctx, operands, ctx.avals_in, shape)
    return xs, [ShapedArray(shape, a.dtype) for a in ctx.avals_in]


def hlo(ctx, name, operands, aval: ShapedArray, out_aval: ShapedArray = None) -> str:
    """A same-shape elementwise op whose operands all have ``aval``."""
    return ctx.op(name, operands, [aval] * len(operands), out_aval or aval)


def hlo_select(ctx, pred, on_true, on_false, aval: ShapedArray) -> str:
    return ctx.op("stablehlo.select", [pred, on_true, on_false],
                  [aval.update(dtype=dtypes.bool_), aval, aval], aval)


def lower_in_float32(opname, param_fn=None):
    """A lowering to ``opname`` computed in float32 for float16/bfloat16, as the eager
    impl is (``dtypes.upcast_low_float``); ``param_fn(**params)`` is a leading constant
    operand (polygamma's order)."""
    def rule(ctx, x, **params):
        (x,), (aval,) = full(ctx, [x])
        work = aval.update(dtype=dtypes.compute_dtype(aval.dtype))
        x = ctx.convert(x, aval, work.dtype)
        args = [x] if param_fn is None else [ctx.constant(param_fn(**params), work), x]
        return ctx.convert(hlo(ctx, opname, args, work), work, aval.dtype)
    return rule
