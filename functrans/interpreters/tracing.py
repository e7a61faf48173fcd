"""Tracing a Python function to the IR.

While a function is traced, an :class:`IRTrace` is the *dynamic* trace: every
primitive applied in the function, even to constants, becomes an equation
(so ``fnp.zeros(3)`` inside a jitted function is computed by the compiled
program, not baked in). Values from outside the function become constants:
scalars are inlined as literals, arrays become ``constvars`` of the IR whose
values travel in the :class:`~functrans.ir.ClosedIR`.
"""

from __future__ import annotations

import numpy as np

from .. import core
from ..array import Array
from ..core import Trace, Tracer, get_aval
from ..ir import IR, ClosedIR, Eqn, Lit, Var


class IRTracer(Tracer):
    __slots__ = ("_aval",)

    def __init__(self, trace, aval):
        self._trace = trace
        self._aval = aval

    @property
    def aval(self):
        return self._aval


class IRBuilder:
    """Collects the equations, variables and constants of one trace."""

    def __init__(self):
        self.eqns = []
        self.tracer_to_var = {}      # id(tracer) -> Var | Lit
        self.const_tracers = {}      # id(const value) -> tracer
        self.constvar_values = {}    # Var -> const value
        self.tracers = []            # keeps tracers alive so their ids stay unique

    def new_tracer(self, trace, aval) -> IRTracer:
        t = IRTracer(trace, aval)
        self.tracers.append(t)
        return t

    def new_arg(self, trace, aval) -> IRTracer:
        t = self.new_tracer(trace, aval)
        self.tracer_to_var[id(t)] = Var(aval)
        return t

    def const(self, trace, val) -> IRTracer:
        t = self.const_tracers.get(id(val))
        if t is not None:
            return t
        aval = get_aval(val)
        t = self.new_tracer(trace, aval)
        if aval.shape == () and not isinstance(val, Tracer):
            # Scalars are inlined; a Python scalar becomes a weakly typed 0-d Array.
            lit_val = val if isinstance(val, Array) else _as_array(val, aval)
            self.tracer_to_var[id(t)] = Lit(lit_val, aval)
        else:
            var = Var(aval)
            self.tracer_to_var[id(t)] = var
            self.constvar_values[var] = val
        self.const_tracers[id(val)] = t
        self.tracers.append(val)  # keep the constant alive: its id is a key
        return t

    def var(self, tracer):
        return self.tracer_to_var[id(tracer)]

    def build(self, in_tracers, out_tracers) -> ClosedIR:
        """The ClosedIR; the builder is spent afterwards (its tables are cleared)."""
        constvars = list(self.constvar_values)
        consts = list(self.constvar_values.values())
        invars = [self.var(t) for t in in_tracers]
        outvars = [self.var(t) for t in out_tracers]
        closed = ClosedIR(IR(constvars, invars, list(self.eqns), outvars), consts)
        for table in (self.tracer_to_var, self.const_tracers, self.constvar_values):
            table.clear()
        self.tracers.clear()
        return closed


def _as_array(val, aval):
    from ..array import _new_array
    return _new_array(np.asarray(val, aval.dtype), aval.weak_type)


class IRTrace(Trace):
    __slots__ = ()

    @property
    def builder(self) -> IRBuilder:
        return self.main.global_data

    def pure(self, val):
        return self.builder.const(self, val)

    # A tracer of an enclosing transformation is a constant of this IR.
    lift = pure

    def process_primitive(self, prim, tracers, params):
        builder = self.builder
        avals_out = prim.rule("abstract_eval")(*[t.aval for t in tracers], **params)
        multiple = prim.multiple_results
        out_tracers = [builder.new_tracer(self, a) for a in (avals_out if multiple else [avals_out])]
        inputs = [builder.var(t) for t in tracers]
        outvars = []
        for t in out_tracers:
            v = Var(t.aval)
            builder.tracer_to_var[id(t)] = v
            outvars.append(v)
        builder.eqns.append(Eqn(prim, inputs, params, outvars))
        return out_tracers if multiple else out_tracers[0]


def trace_to_ir(flat_fun, in_avals, what: str = "make_ir") -> ClosedIR:
    """Traces ``flat_fun(*tracers) -> list of outputs`` to a ClosedIR."""
    builder = IRBuilder()
    with core.new_main(IRTrace, builder, dynamic=True) as main:
        trace = IRTrace(main)
        in_tracers = [builder.new_arg(trace, aval) for aval in in_avals]
        outs = flat_fun(*in_tracers)
        out_tracers = []
        for i, o in enumerate(outs):
            core.check_output(what, o, i)
            out_tracers.append(trace.full_raise(o))
        return builder.build(in_tracers, out_tracers)
