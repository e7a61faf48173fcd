"""Forward-mode automatic differentiation: the JVP transformation.

A :class:`JVPTracer` carries a primal value and its tangent. Applying a
primitive to JVP tracers calls the primitive's ``jvp`` rule, written with
``bind``, so the tangent computation is itself transformable (jvp of jvp,
linearize, vmap, jit).

Zero tangents are symbolic: a :class:`Zero` records only the aval. An input
that does not depend on the differentiated arguments has a Zero tangent, and a
primitive whose tangents are all Zero is applied to the primals alone, so no
array of zeros is ever materialised for it.

Rule helpers (used by the primitive modules):
  defjvp(prim, *fns)     one function per input: ``fn(t, ans, *primals, **params)``
                         gives that input's contribution to the output tangent
  defjvp_zero(prim)      the output tangent is zero (comparisons, argmax, ...)
  deflinear(prim)        the primitive is linear in all inputs: its tangent is the
                         primitive applied to the tangents

Sub-IRs (higher-order primitives): :func:`jvp_ir` gives the IR of a sub-IR's
jvp, as JAX's ``ad.jvp_jaxpr``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import core, dtypes
from ..array import Array
from ..core import ShapedArray, Trace, Tracer, bind, get_aval
from ..eager import eval_host_pair
from ..ir import ClosedIR, eval_ir
from .tracing import trace_hoisted


class Zero:
    """A symbolic zero tangent of a given aval."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    """The aval of a tangent: same shape and dtype, never weak."""
    # Avals are never mutated, so a strong one is its own tangent aval, and the
    # strong twin of a weak one (every Python scalar operand has one) is made once.
    if not aval.weak_type:
        return aval
    strong = _strong_avals.get(aval._key)
    if strong is None:
        if len(_strong_avals) > 1024:
            _strong_avals.clear()
        strong = _strong_avals[aval._key] = ShapedArray(aval.shape, aval.dtype, False)
    return strong


_strong_avals: dict = {}


def zeros_like_aval(aval: ShapedArray):
    """An actual array of zeros (only where a rule needs one)."""
    from ..array import _new_array
    from ..primitives.shape import broadcast_in_dim
    return broadcast_in_dim(_new_array(np.zeros((), aval.dtype), False), aval.shape, ())


def instantiate(t, aval=None):
    """``t``, with a symbolic Zero turned into an array of zeros."""
    if isinstance(t, Zero):
        return zeros_like_aval(t.aval)
    return t


def is_zero(t) -> bool:
    return isinstance(t, Zero)


def add_tangents(a, b):
    """a + b for tangents, where either may be a symbolic Zero."""
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    out = eval_host_pair(np.add, a, b)  # (concrete cotangents in the backward pass)
    return bind(_add_p, a, b) if out is None else out


# The primitive add_tangents binds: elementwise add, registered by the module
# that defines its rules (the primitive modules import this one).
_add_p = None


def register_tangent_add(prim) -> None:
    global _add_p
    _add_p = prim


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        primal = self.primal
        if type(primal) is Array:
            aval = primal._aval  # set by eager evaluation: the common case
            if aval is not None:
                return aval
        return get_aval(primal)

    # The primal's value is this tracer's value: known when the primal is concrete
    # (forward and reverse mode outside any staging trace), as in JAX.
    def to_concrete_value(self):
        primal = self.primal
        if isinstance(primal, Tracer):
            return primal.to_concrete_value()
        return primal

    def _value_origin(self) -> str:
        primal = self.primal
        return primal._value_origin() if isinstance(primal, Tracer) else ""


class JVPTrace(Trace):
    __slots__ = ()

    def pure(self, val):
        aval = val._aval if type(val) is Array else None  # get_aval's fast path, inlined
        return JVPTracer(self, val, Zero(tangent_aval(aval or get_aval(val))))

    lift = pure

    def process_primitive(self, prim, tracers, params):
        primals, tangents, nonzero = [], [], False
        for t in tracers:
            primals.append(t.primal)
            tangent = t.tangent
            tangents.append(tangent)
            if type(tangent) is not Zero:
                nonzero = True
        if not nonzero:
            out = bind(prim, *primals, **params)
            if prim.multiple_results:
                return [JVPTracer(self, o, Zero(tangent_aval(get_aval(o)))) for o in out]
            return JVPTracer(self, out, Zero(tangent_aval(get_aval(out))))
        rule = prim.jvp
        if rule is None:
            prim.rule("jvp")  # raises the MissingRuleError
        primal_out, tangent_out = rule(primals, tangents, **params)
        if prim.multiple_results:
            return [JVPTracer(self, p, t) for p, t in zip(primal_out, tangent_out)]
        return JVPTracer(self, primal_out, tangent_out)


def jvp_flat(flat_fun, primals, tangents):
    """Runs ``flat_fun`` on (primal, tangent) pairs; returns (primals_out, tangents_out).

    Tangents of outputs that do not depend on the inputs are symbolic Zeros.
    """
    with core.new_main(JVPTrace) as main:
        trace = JVPTrace(main)
        in_tracers = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = flat_fun(*in_tracers)
        out_tracers = [trace.full_raise(o) for o in outs]
        return ([t.primal for t in out_tracers], [t.tangent for t in out_tracers])


class JVPIR(NamedTuple):
    """The jvp of a sub-IR (:func:`jvp_ir`)."""

    closed: ClosedIR       # consts-free: (consts, primals, nonzero tangents) -> (primals, tangents)
    consts: list           # the values of its leading inputs
    out_nonzeros: list     # per output: is its tangent not symbolically zero


def jvp_ir(closed: ClosedIR, nonzeros, in_avals=None, what: str = "jvp") -> JVPIR:
    """Traces the jvp of ``closed``.

    Args:
      closed: the sub-IR.
      nonzeros: one bool per input: does it have a (not symbolically zero) tangent.
      in_avals: the primals' avals (default: ``closed``'s input types).
      what: names the transformation in errors.

    Returns:
      A :class:`JVPIR` whose IR takes the primals, then the tangents of the inputs
      flagged in ``nonzeros``, and returns the primal outputs, then one tangent per
      output (an array of zeros where it is symbolically zero: see ``out_nonzeros``).
    """
    in_avals = list(closed.in_avals if in_avals is None else in_avals)
    n = len(in_avals)
    box = []

    def fn(*args):
        it = iter(args[n:])
        tangents = [next(it) if nz else Zero(tangent_aval(a)) for a, nz in zip(in_avals, nonzeros)]
        with core.new_main(JVPTrace) as main:
            trace = JVPTrace(main)
            outs = eval_ir(closed.ir, closed.consts,
                           [JVPTracer(trace, p, t) for p, t in zip(args[:n], tangents)])
            outs = [trace.full_raise(o) for o in outs]
            p_out = [o.primal for o in outs]
            t_out = [o.tangent for o in outs]
        box.append([type(t) is not Zero for t in t_out])
        return p_out + [instantiate(t) for t in t_out]

    t_avals = [tangent_aval(a) for a, nz in zip(in_avals, nonzeros) if nz]
    hoisted = trace_hoisted(fn, in_avals + t_avals, what)
    return JVPIR(hoisted.closed, hoisted.consts, box[0])


# --- rule helpers ----------------------------------------------------------------------------


def defjvp(prim, *fns):
    """Defines ``prim``'s jvp from one tangent function per input (None: not differentiable).

    ``fn(t, ans, *primals, **params)`` returns the output tangent contributed
    by input ``i``'s tangent ``t`` (never called with a Zero ``t``).
    """
    def rule(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        out = None  # no contribution yet: a Zero, made only if none comes
        for fn, t in zip(fns, tangents):
            if fn is None or type(t) is Zero:
                continue
            contribution = fn(t, ans, *primals, **params)
            out = contribution if out is None else add_tangents(out, contribution)
        if out is None:
            out = Zero(tangent_aval(get_aval(ans)))
        return ans, out
    prim.jvp = rule
    return rule


def defjvp_zero(prim):
    """The output tangent of ``prim`` is zero (its output is piecewise constant)."""
    def rule(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        if prim.multiple_results:
            return ans, [Zero(tangent_aval(get_aval(a))) for a in ans]
        return ans, Zero(tangent_aval(get_aval(ans)))
    prim.jvp = rule
    return rule


def deflinear(prim):
    """``prim`` is linear in all its inputs: its tangent is ``prim`` of the tangents."""
    def rule(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        ts = [instantiate(t) for t in tangents]
        return ans, bind(prim, *ts, **params)
    prim.jvp = rule
    return rule


def check_differentiable_input(what: str, aval: ShapedArray, index):
    """Differentiating with respect to an integer or bool input is an error."""
    if not dtypes.is_inexact(aval.dtype):
        raise TypeError(
            f"{what} requires real- or complex-valued inputs (float or complex dtypes), but "
            f"input {index} has dtype {aval.dtype} ({aval.str_short()}). Integer and bool "
            "inputs have no derivative: convert them with .astype(float), or leave them out "
            "of argnums.")


__all__ = ["Zero", "JVPTrace", "JVPTracer", "jvp_flat", "JVPIR", "jvp_ir", "defjvp", "defjvp_zero", "deflinear",
           "instantiate", "is_zero", "add_tangents", "tangent_aval", "zeros_like_aval"]


