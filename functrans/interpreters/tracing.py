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
    """A value of the IR being built: its aval and its Var (or Lit)."""

    # Plain slots, not properties: tracing reads them for every equation.
    __slots__ = ("aval", "var")

    def __init__(self, trace, aval, var):
        self._trace = trace
        self.aval = aval
        self.var = var


class IRBuilder:
    """Collects the equations, variables and constants of one trace."""

    def __init__(self):
        self.eqns = []
        self.const_tracers = {}      # id(const value) -> tracer
        self.constvar_values = {}    # Var -> const value
        self.keep_alive = []         # the constants, so their ids stay unique

    def new_arg(self, trace, aval) -> IRTracer:
        return IRTracer(trace, aval, Var(aval))

    def const(self, trace, val) -> IRTracer:
        """The tracer of a value from outside the traced function (made once per value).

        Callers look ``id(val)`` up in ``const_tracers`` first (IRTrace.pure).
        """
        aval = val._aval if type(val) is Array else None
        if aval is None:
            aval = get_aval(val)
        if aval.shape == () and not isinstance(val, Tracer):
            # Scalars are inlined; a Python scalar becomes a weakly typed 0-d Array.
            lit_val = val if isinstance(val, Array) else _as_array(val, aval)
            t = IRTracer(trace, aval, Lit(lit_val, aval))
            self.keep_alive.append(val)  # (a Lit may hold a new Array, not val)
        else:
            # (reverse mode's residuals: constvar_values keeps val alive, so its id stays unique)
            var = Var(aval)
            t = IRTracer(trace, aval, var)
            self.constvar_values[var] = val
        self.const_tracers[id(val)] = t
        return t

    def var(self, tracer):
        return tracer.var

    def build(self, in_tracers, out_tracers) -> ClosedIR:
        """The ClosedIR; the builder is spent afterwards (its tables are cleared)."""
        constvars = list(self.constvar_values)
        consts = list(self.constvar_values.values())
        invars = [t.var for t in in_tracers]
        outvars = [t.var for t in out_tracers]
        closed = ClosedIR(IR(constvars, invars, list(self.eqns), outvars), consts)
        self.const_tracers.clear()
        self.constvar_values.clear()
        self.keep_alive.clear()
        return closed


def _as_array(val, aval):
    from ..array import _new_array
    return _new_array(np.asarray(val, aval.dtype), aval.weak_type)


_new_eqn = tuple.__new__  # Eqn(...) without NamedTuple's Python-level __new__


class IRTrace(Trace):
    __slots__ = ()

    @property
    def builder(self) -> IRBuilder:
        return self.main.global_data

    def pure(self, val):
        builder = self.main.global_data
        t = builder.const_tracers.get(id(val))  # const's fast path, inlined: it is common
        return builder.const(self, val) if t is None else t

    # A tracer of an enclosing transformation is a constant of this IR.
    lift = pure

    def process_primitive(self, prim, tracers, params):
        inputs, avals = [], []
        for t in tracers:
            inputs.append(t.var)
            avals.append(t.aval)
        avals_out = core.abstract_eval(prim, avals, params)
        if prim.multiple_results:
            outvars = [Var(a) for a in avals_out]
            out = [IRTracer(self, v.aval, v) for v in outvars]
        else:
            outvars = [Var(avals_out)]
            out = IRTracer(self, avals_out, outvars[0])
        self.main.global_data.eqns.append(_new_eqn(Eqn, (prim, inputs, params, outvars)))
        return out


def trace_to_ir(flat_fun, in_avals, what: str = "make_ir", axis_name=None,
                axis_size=None) -> ClosedIR:
    """Traces ``flat_fun(*tracers) -> list of outputs`` to a ClosedIR (with ``axis_name``,
    collectives over that axis of ``axis_size`` are staged into it: pmap)."""
    builder = IRBuilder()
    with core.new_main(IRTrace, builder, dynamic=True, axis_name=axis_name,
                       axis_size=axis_size) as main:
        trace = IRTrace(main)
        in_tracers = [builder.new_arg(trace, aval) for aval in in_avals]
        outs = flat_fun(*in_tracers)
        out_tracers = []
        for i, o in enumerate(outs):
            core.check_output(what, o, i)
            out_tracers.append(trace.full_raise(o))
        return builder.build(in_tracers, out_tracers)
