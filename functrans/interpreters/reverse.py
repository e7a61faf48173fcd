"""Reverse-mode automatic differentiation: linearize, then transpose.

``linearize`` runs the JVP of a function with *known* primals and *unknown*
tangents. The tangent inputs are tracers of an IR trace placed just below the
JVP trace (and not dynamic): every operation on primals alone is computed
right away (or by an enclosing transformation), while every operation that
touches a tangent is recorded as an equation. The result is the primal
outputs plus a linear IR from input tangents to output tangents, which closes
over the residuals (the primal values the tangent computation needs) as
constants. That is partial evaluation, done by the tracing machinery itself.

``transpose`` (:func:`backward_pass`) walks that linear IR backwards, applying
each primitive's ``transpose`` rule, to map output cotangents to input
cotangents: ``vjp = linearize + transpose``. All of it is written with
``bind``, so it can itself be differentiated (grad of grad) or traced.

Transpose rules receive ``transpose(ct, *args, **params)``, where each linear
input is an :class:`UndefinedPrimal` (its aval only) and every other input is
its value; they return one cotangent per input (None for non-linear inputs or
zero cotangents).
"""

from __future__ import annotations

from .. import core
from ..core import ShapedArray, bind, get_aval
from ..ir import ClosedIR, Lit
from .jvp import JVPTrace, JVPTracer, Zero, add_tangents, instantiate, tangent_aval
from .tracing import IRBuilder, IRTrace


class UndefinedPrimal:
    """A linear input of a transposed equation: only its aval is known."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x) -> bool:
    return type(x) is UndefinedPrimal


def linearize_flat(flat_fun, primals):
    """Returns ``(primals_out, linear ClosedIR from input tangents to output tangents)``."""
    builder = IRBuilder()
    with core.new_main(IRTrace, builder) as ir_main:
        ir_trace = IRTrace(ir_main)
        tangents_in = [builder.new_arg(ir_trace, tangent_aval(get_aval(p))) for p in primals]
        with core.new_main(JVPTrace) as jvp_main:
            jvp_trace = JVPTrace(jvp_main)
            in_tracers = [JVPTracer(jvp_trace, p, t) for p, t in zip(primals, tangents_in)]
            outs = flat_fun(*in_tracers)
            out_tracers = [jvp_trace.full_raise(o) for o in outs]
            primals_out = [t.primal for t in out_tracers]
            tangents_out = [t.tangent for t in out_tracers]
        tangents_out = [ir_trace.full_raise(instantiate(t)) for t in tangents_out]
        linear = builder.build(tangents_in, tangents_out)
    return primals_out, linear


def backward_pass(linear: ClosedIR, cts_out) -> list:
    """Transposes a linear IR: output cotangents in, input cotangents out.

    ``cts_out`` entries may be None or Zero for outputs with no cotangent;
    inputs that receive none get a Zero.
    """
    ir = linear.ir
    # A variable of the IR is a constant (a residual: its value is known), a
    # Lit, or linear (an input or an equation's output: it gets a cotangent).
    consts = dict(zip(ir.constvars, linear.consts))
    ct_env = {}

    def accumulate(v, ct):
        if ct is None or type(ct) is Zero or type(v) is Lit or v in consts:
            return
        old = ct_env.get(v)
        ct_env[v] = ct if old is None else add_tangents(old, ct)

    for v, ct in zip(ir.outvars, cts_out):
        accumulate(v, ct)
    for eqn in reversed(ir.eqns):
        prim, inputs, params, outvars = eqn  # (one unpacking, not four attribute reads)
        if len(outvars) == 1:
            ct = ct_env.pop(outvars[0], None)
            if ct is None:
                continue
            cts = [ct]
        else:
            cts = [ct_env.pop(v, None) for v in outvars]
            if all(ct is None for ct in cts):
                continue
        args = []
        for x in inputs:
            value = consts.get(x)
            if value is not None:
                args.append(value)
            elif type(x) is Lit:
                args.append(x.val)
            else:
                args.append(UndefinedPrimal(x.aval))
        if prim.multiple_results:
            ct_arg = [Zero(v.aval) if ct is None else ct for v, ct in zip(outvars, cts)]
        else:
            ct_arg = cts[0]
        rule = prim.transpose
        if rule is None:
            prim.rule("transpose")  # raises the MissingRuleError
        cts_in = rule(ct_arg, *args, **params) if params else rule(ct_arg, *args)
        for x, a, ct in zip(inputs, args, cts_in):
            # accumulate(x, ct), inlined: x is linear where its arg is undefined
            if ct is not None and type(a) is UndefinedPrimal and type(ct) is not Zero:
                old = ct_env.get(x)
                ct_env[x] = ct if old is None else add_tangents(old, ct)
    return [ct_env.get(v, Zero(v.aval)) for v in ir.invars]


def vjp_flat(flat_fun, primals):
    """Returns ``(primals_out, f_vjp)``; ``f_vjp(cts_out) -> cts_in`` (lists)."""
    primals_out, linear = linearize_flat(flat_fun, primals)

    def f_vjp(cts_out):
        return backward_pass(linear, cts_out)

    return primals_out, f_vjp, linear


# --- transpose-rule helpers ----------------------------------------------------------------------


def unbroadcast_scalar(ct, aval: ShapedArray):
    """The cotangent of a rank-0 operand that an elementwise op broadcast: a sum."""
    if aval.shape == () and get_aval(ct).shape != ():
        from ..primitives.reductions import reduce_sum_p
        ct = bind(reduce_sum_p, ct, axes=tuple(range(get_aval(ct).ndim)))
    return ct


__all__ = ["UndefinedPrimal", "is_undefined", "linearize_flat", "backward_pass", "vjp_flat",
           "unbroadcast_scalar"]
