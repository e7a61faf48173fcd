"""Reverse-mode automatic differentiation: linearize, then transpose.

``linearize`` runs the JVP of a function with *known* primals and *unknown*
tangents. The tangent inputs are tracers of an IR trace placed just below the
JVP trace (and not dynamic): every operation on primals alone is computed
right away (or by an enclosing transformation), while every operation that
touches a tangent is recorded as an equation. The result is the primal
outputs plus a linear IR from input tangents to output tangents, which closes
over the residuals (the primal values the tangent computation needs) as
constants. That is partial evaluation, done by the tracing machinery itself:
the primals of a Python function are concrete, so its Python control flow on
them works (``grad`` of a function with an ``if``), as in JAX.

``transpose`` (:func:`backward_pass`) walks that linear IR backwards, applying
each primitive's ``transpose`` rule, to map output cotangents to input
cotangents: ``vjp = linearize + transpose``. All of it is written with
``bind``, so it can itself be differentiated (grad of grad) or traced.

Transpose rules receive ``transpose(ct, *args, **params)``, where each linear
input is an :class:`UndefinedPrimal` (its aval only) and every other input is
its value; they return one cotangent per input (None for non-linear inputs or
zero cotangents).

Sub-IRs (higher-order primitives) have no Python to run, so their
linearization is explicit partial evaluation (``interpreters/partial_eval.py``)
of their jvp IR:

* :func:`linearize_ir`: a sub-IR's jvp split into a *known* IR (primals to
  primal outputs and residuals) and a *linear* IR (residuals and tangents to
  output tangents), as JAX's ``ad.linearize_jaxpr``: ``jit_call`` and ``pmap``
  run the first on the primals and the second on the tangents, ``scan`` runs
  a loop of each (stacking the residuals);
* :func:`transpose_eval` transposes an IR that is linear in some inputs, the
  others known (its non-linear part runs forward first): ``cond``, ``scan``;
  :func:`transpose_ir` traces that to an IR: ``jit_call``, ``pmap``.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import core
from ..core import ShapedArray, bind, get_aval
from ..ir import IR, ClosedIR, Lit, dce, eval_ir
from .jvp import JVPTrace, JVPTracer, Zero, add_tangents, instantiate, jvp_ir, tangent_aval
from .partial_eval import partial_eval
from .tracing import IRBuilder, IRTrace, trace_hoisted


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


# --- sub-IRs: linearize and transpose -------------------------------------------------------


class LinearizedIR(NamedTuple):
    """A sub-IR linearized (:func:`linearize_ir`); both IRs are consts-free."""

    known: ClosedIR        # (known_consts, primals) -> (primal outputs, residuals)
    known_consts: list
    linear: ClosedIR       # (linear_consts, residuals, nonzero tangents) -> nonzero out tangents
    linear_consts: list
    num_res: int
    out_nonzeros: list     # per output: is its tangent not zero
    res_fwd: list          # per residual: the index of the primal input it is, or None


def linearize_ir(closed: ClosedIR, nonzeros, what: str = "linearize",
                 saveable=None) -> LinearizedIR:
    """The jvp of ``closed`` (:func:`~functrans.interpreters.jvp.jvp_ir`), partially
    evaluated with the primals known and the tangents of the inputs flagged in
    ``nonzeros`` unknown.

    So the forward runs once: the known IR computes the primal outputs and the
    residuals (the primal values the tangents need), the linear IR only the tangent
    work (under reverse mode, it is the part that is transposed). A tangent output
    that reads no input tangent is zero (``out_nonzeros``). Constants of the jvp that
    the linear IR reads are its own ``linear_consts``, not residuals; a residual that
    is a primal input itself says so in ``res_fwd`` (a loop need not store it).
    ``saveable``: partial evaluation's policy (see ``interpreters/partial_eval.py``).
    """
    n_in, n_out = len(closed.in_avals), len(closed.out_avals)
    jv = jvp_ir(closed, nonzeros, what=what)
    nc = len(jv.consts)
    pe = partial_eval(jv.closed.ir, [False] * (nc + n_in) + [True] * sum(nonzeros),
                      saveable=saveable)
    assert not any(pe.out_unknowns[:n_out]), "linearize_ir: a primal output reads a tangent"
    out_nonzeros = pe.out_unknowns[n_out:]
    # the known IR's outputs: primal outputs, known (zero) tangents, residuals
    n_known_t = n_out - sum(out_nonzeros)
    res_vars = pe.unknown.invars[:pe.num_res]
    is_const = [f is not None and f < nc for f in pe.res_fwd]
    keep = ([True] * n_out + [False] * n_known_t + [not c for c in is_const])
    known_ir, _ = dce(pe.known, keep)
    linear_consts = [jv.consts[f] for f, c in zip(pe.res_fwd, is_const) if c]
    lin = pe.unknown
    lin_ir = IR([], [v for v, c in zip(res_vars, is_const) if c]
                + [v for v, c in zip(res_vars, is_const) if not c] + lin.invars[pe.num_res:],
                lin.eqns, lin.outvars)
    lin_ir, _ = dce(lin_ir)
    res_fwd = [None if f is None else f - nc for f, c in zip(pe.res_fwd, is_const) if not c]
    return LinearizedIR(ClosedIR(known_ir, []), list(jv.consts), ClosedIR(lin_ir, []),
                        linear_consts, len(res_fwd), out_nonzeros, res_fwd)


def transpose_eval(closed: ClosedIR, linear, known_vals, cts_out) -> list:
    """Transposes ``closed`` with respect to the inputs flagged in ``linear``, the others
    having the values ``known_vals``.

    Partial evaluation splits it: the part that reads only known inputs (the
    non-linear part, e.g. a jvp's primal computation) runs forward now; the rest must
    be linear in the linear inputs and is transposed (:func:`backward_pass`). Returns
    one cotangent per linear input (a Zero where none flows); cotangents of outputs
    that are known values are dropped.
    """
    pe = partial_eval(closed.ir, linear)
    known_outs = eval_ir(pe.known, closed.consts, list(known_vals))
    residuals = known_outs[len(known_outs) - pe.num_res:] if pe.num_res else []
    u = pe.unknown
    lin = ClosedIR(IR(u.invars[:pe.num_res], u.invars[pe.num_res:], u.eqns, u.outvars),
                   residuals)
    return backward_pass(lin, [ct for ct, unk in zip(cts_out, pe.out_unknowns) if unk])


class TransposedIR(NamedTuple):
    """A sub-IR transposed (:func:`transpose_ir`)."""

    closed: ClosedIR       # consts-free: (consts, known inputs, nonzero cts) -> input cts
    consts: list
    ct_nonzeros: list      # per linear input: does it get a (not zero) cotangent


def transpose_ir(closed: ClosedIR, linear, ct_nonzeros, what: str = "transpose",
                 instantiate_all: bool = False) -> TransposedIR:
    """The IR of :func:`transpose_eval`: from the known inputs (those not flagged in
    ``linear``) and the cotangents of the outputs flagged in ``ct_nonzeros`` to the
    cotangents of the linear inputs that get one (every linear input's, zeros where
    none flows, with ``instantiate_all``)."""
    in_avals = list(closed.in_avals)
    known_avals = [a for a, lin in zip(in_avals, linear) if not lin]
    ct_avals = [tangent_aval(a) for a, nz in zip(closed.out_avals, ct_nonzeros) if nz]
    nk = len(known_avals)
    box = []

    def fun(*xs):
        it = iter(xs[nk:])
        cts = [next(it) if nz else Zero(tangent_aval(a))
               for nz, a in zip(ct_nonzeros, closed.out_avals)]
        cts_in = transpose_eval(closed, linear, xs[:nk], cts)
        if instantiate_all:
            cts_in = [instantiate(c) for c in cts_in]
        box.append([type(c) is not Zero for c in cts_in])
        return [c for c in cts_in if type(c) is not Zero]

    hoisted = trace_hoisted(fun, known_avals + ct_avals, what)
    return TransposedIR(hoisted.closed, hoisted.consts, box[0])


# --- transpose-rule helpers ----------------------------------------------------------------------


def unbroadcast_scalar(ct, aval: ShapedArray):
    """The cotangent of a rank-0 operand that an elementwise op broadcast: a sum."""
    if aval.shape == () and get_aval(ct).shape != ():
        from ..primitives.reductions import reduce_sum_p
        ct = bind(reduce_sum_p, ct, axes=tuple(range(get_aval(ct).ndim)))
    return ct


__all__ = ["UndefinedPrimal", "is_undefined", "linearize_flat", "backward_pass", "vjp_flat",
           "LinearizedIR", "linearize_ir", "transpose_eval", "TransposedIR", "transpose_ir",
           "unbroadcast_scalar"]
