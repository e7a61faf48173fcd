"""Tracing a Python function to the IR.

While a function is traced, an :class:`IRTrace` is the *dynamic* trace: every
primitive applied in the function, even to constants, becomes an equation
(so ``fnp.zeros(3)`` inside a jitted function is computed by the compiled
program, not baked in). Values from outside the function become constants:
scalars are inlined as literals, arrays become ``constvars`` of the IR whose
values travel in the :class:`~functrans.ir.ClosedIR`.
"""

from __future__ import annotations

import inspect

import numpy as np

from .. import core, tree_util
from ..array import Array
from ..core import Trace, Tracer, get_aval
from ..ir import IR, ClosedIR, Eqn, Hoisted, Lit, Var, closure_convert


class IRTracer(Tracer):
    """A value of the IR being built: its aval and its Var (or Lit)."""

    # Plain slots, not properties: tracing reads them for every equation.
    __slots__ = ("aval", "var")

    def __init__(self, trace, aval, var):
        self._trace = trace
        self.aval = aval
        self.var = var

    def _value_origin(self) -> str:
        builder = self._trace.main.global_data
        return "" if builder is None else builder.origin(self.var)


class IRBuilder:
    """Collects the equations, variables and constants of one trace."""

    def __init__(self, what: str = "", arg_names=None):
        self.eqns = []
        self.const_tracers = {}      # id(const value) -> tracer
        self.constvar_values = {}    # Var -> const value
        self.keep_alive = []         # the constants, so their ids stay unique
        # for error messages only (see origin): what is traced, and the names of
        # its flat inputs (a list, or a function giving it, called only then)
        self.what = what
        self.arg_names = arg_names
        self.invars = []

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
            lit_val = val if type(val) is Array else _as_array(val, aval)
            t = IRTracer(trace, aval, Lit(lit_val, aval))
            self.keep_alive.append(val)  # (a Lit may hold a new Array, not val)
        else:
            # (reverse mode's residuals: constvar_values keeps val alive, so its id stays unique)
            var = Var(aval)
            t = IRTracer(trace, aval, var)
            self.constvar_values[var] = val
        self.const_tracers[id(val)] = t
        return t

    def origin(self, var) -> str:
        """The sentence of a ConcretizationError naming the inputs ``var`` depends on:
        found by walking the equations back from ``var`` (only when an error is raised)."""
        if not self.what:
            return ""
        producer = {}
        for eqn in self.eqns:
            for v in eqn.outvars:
                producer[v] = eqn
        position = {v: i for i, v in enumerate(self.invars)}
        found, seen, todo = set(), set(), [var]
        while todo:
            v = todo.pop()
            if type(v) is not Var or v in seen:
                continue
            seen.add(v)
            if v in position:
                found.add(position[v])
            eqn = producer.get(v)
            if eqn is not None:
                todo.extend(eqn.inputs)
        where = f"The error occurred while tracing the function for {self.what}."
        if not found:
            return where + (" The value does not depend on the function's arguments (it "
                            "depends on values from outside the function or on constants).")
        names = self.arg_names() if callable(self.arg_names) else self.arg_names
        if names is None or len(names) != len(self.invars):
            names = [f"at flattened position {i}" for i in range(len(self.invars))]
        return where + " " + depends_on([names[i] for i in sorted(found)])

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
                axis_size=None, arg_names=None) -> ClosedIR:
    """Traces ``flat_fun(*tracers) -> list of outputs`` to a ClosedIR (with ``axis_name``,
    collectives over that axis of ``axis_size`` are staged into it: pmap).

    ``arg_names``: the names of the flat inputs, as the user wrote them (``x``,
    ``params['w']``; see :func:`arg_leaf_names`), or a function returning them;
    a ConcretizationError names the ones the offending value depends on.
    """
    builder = IRBuilder(what, arg_names)
    with core.new_main(IRTrace, builder, dynamic=True, axis_name=axis_name,
                       axis_size=axis_size) as main:
        trace = IRTrace(main)
        in_tracers = [builder.new_arg(trace, aval) for aval in in_avals]
        builder.invars = [t.var for t in in_tracers]
        outs = flat_fun(*in_tracers)
        out_tracers = []
        for i, o in enumerate(outs):
            core.check_output(what, o, i)
            out_tracers.append(trace.full_raise(o))
        return builder.build(in_tracers, out_tracers)


def trace_hoisted(flat_fun, in_avals, what: str, axis_name=None, axis_size=None) -> Hoisted:
    """Traces ``flat_fun`` to a consts-free ClosedIR whose leading inputs are the values
    it closes over: ``closure_convert(trace_to_ir(...))``, what a higher-order primitive
    holds (the library's ``*_ir`` functions build their results with it)."""
    return closure_convert(trace_to_ir(flat_fun, in_avals, what, axis_name, axis_size))


# --- argument names for error messages --------------------------------------------------


def depends_on(names) -> str:
    """'This value depends on the value of the argument x' (or 'the values of the
    arguments x and y'), as JAX says it."""
    if len(names) == 1:
        return (f"This concrete value was not available in Python because it depends on "
                f"the value of the argument {names[0]}.")
    listed = ", ".join(names[:-1]) + (", and " if len(names) > 2 else " and ") + names[-1]
    return (f"This concrete value was not available in Python because it depends on the "
            f"values of the arguments {listed}.")


def signature_names(fun) -> tuple:
    """``(names of fun's positional parameters, name of its *args parameter or None)``;
    ``([], None)`` where it has no signature."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return [], None
    params, star = [], None
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            params.append(p.name)
        elif p.kind is p.VAR_POSITIONAL:
            star = p.name
    return params, star


def arg_leaf_names(fun, dyn_args, dyn_kwargs, static_positions=()) -> list:
    """The name of every leaf of ``(dyn_args, dyn_kwargs)`` as the user writes it: the
    parameter name and the leaf's key path (``params['w']``, ``xs[1]`` for a ``*xs``
    parameter). ``dyn_args`` are the positional arguments without the static ones,
    whose positions are ``static_positions``; keyword arguments are named by key."""
    params, star = signature_names(fun)
    nargs = len(dyn_args) + len(static_positions)
    positions = [i for i in range(nargs) if i not in static_positions]
    names = []
    for i, a in zip(positions, dyn_args):
        if i < len(params):
            base = params[i]
        else:  # a *args parameter: its name, indexed from its start
            base = f"{star or 'args'}[{i - len(params)}]"
        for path, _ in tree_util.tree_flatten_with_path(a)[0]:
            names.append(base + tree_util.keystr(path))
    for k in sorted(dyn_kwargs):
        for path, _ in tree_util.tree_flatten_with_path(dyn_kwargs[k])[0]:
            names.append(k + tree_util.keystr(path))
    return names
