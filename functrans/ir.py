"""The IR: a typed, immutable, first-order program in A-normal form.

    { lambda c:f32[3] ; a:f32[3]. let
        b:f32[3] = sin a
        d:f32[3] = mul b 2.0
      in (d,) }

* :class:`Var` is a variable with an aval; :class:`Lit` a scalar literal.
* :class:`Eqn` applies a primitive to Vars/Lits with static params and binds
  its outputs to new Vars. Higher-order primitives hold sub-IRs (``IR`` or
  ``ClosedIR``) in their params; the printer and checker recurse into them.
* :class:`IR` has ``constvars`` (closed-over arrays, supplied as the
  ``consts`` of a :class:`ClosedIR`), ``invars``, ``eqns`` and ``outvars``.

:func:`typecheck` re-derives every equation's output types with the
primitive's ``abstract_eval`` and checks scoping; :func:`dce` removes
equations whose outputs are unused (but never one with a side effect);
:func:`eval_ir` interprets an IR with ``bind``, so evaluating it under any
transformation transforms it; :func:`closure_convert` turns a ClosedIR's constants
into leading inputs (what a higher-order primitive holds: a consts-free sub-IR, its
constants as operands).

``IR.effects`` is the union of its equations' side effects (:func:`eqn_effects`,
see ``effects.py``), derived from the equations, so no pass has to maintain it;
the printer shows it in the header when it is not empty.

The library that turns one sub-IR into another lives with the interpreter it
uses: ``jvp_ir`` (interpreters/jvp.py), ``batch_ir`` (interpreters/batching.py),
``partial_eval`` (interpreters/partial_eval.py), ``linearize_ir`` and
``transpose_ir`` (interpreters/reverse.py).
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np

from .core import Primitive, ShapedArray, bind, get_aval
from .effects import Effect, format_effects, no_effects


class Var:
    """A variable of the IR. Identity is the object; names are assigned when printed."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Lit:
    """A scalar literal with its aval: a 0-d Array (so weak types survive), or a
    Python scalar."""

    __slots__ = ("val", "aval")

    def __init__(self, val, aval: ShapedArray):
        self.val = val
        self.aval = aval

    def __repr__(self):
        return f"Lit({self.val!r})"


class Eqn(NamedTuple):
    prim: Primitive
    inputs: list          # of Var | Lit
    params: dict
    outvars: list         # of Var


class IR(NamedTuple):
    constvars: list
    invars: list
    eqns: list
    outvars: list         # of Var | Lit

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    @property
    def effects(self) -> frozenset:
        """The side effects of its equations (see :func:`eqn_effects`)."""
        return ir_effects(self)

    def __str__(self):
        return pp_ir(self)

    def pretty_print(self):
        return pp_ir(self)

    def _repr_html_(self):
        from .explain import ir_html
        return ir_html(self)


class ClosedIR(NamedTuple):
    """An IR together with the values of its constvars."""

    ir: IR
    consts: list

    @property
    def in_avals(self):
        return self.ir.in_avals

    @property
    def out_avals(self):
        return self.ir.out_avals

    @property
    def eqns(self):
        return self.ir.eqns

    @property
    def effects(self) -> frozenset:
        return ir_effects(self)

    def __str__(self):
        return pp_ir(self.ir)

    def __repr__(self):
        return pp_ir(self.ir)

    def pretty_print(self):
        return pp_ir(self.ir)

    def _repr_html_(self):
        from .explain import ir_html
        return ir_html(self)


class Hoisted(NamedTuple):
    """A consts-free ClosedIR and the values of its leading inputs (its old consts)."""

    closed: ClosedIR
    consts: list


def closure_convert(closed: ClosedIR) -> Hoisted:
    """Makes the constvars of ``closed`` its leading invars.

    A higher-order primitive holds the result's ``closed`` in its params and
    passes ``consts`` as its leading operands, so values the sub-function
    closes over (tracers of an enclosing transformation among them) are
    ordinary inputs that enclosing transformations see. A ClosedIR without
    constvars comes back as it is.
    """
    ir = closed.ir
    if not ir.constvars:
        return Hoisted(closed, [])
    hoisted = IR([], list(ir.constvars) + list(ir.invars), ir.eqns, ir.outvars)
    return Hoisted(ClosedIR(hoisted, []), list(closed.consts))


# --- printing ----------------------------------------------------------------------------


def _names():
    for n in itertools.count(1):
        for combo in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n):
            yield "".join(combo)


class _Namer:
    def __init__(self):
        self.names = {}
        self.gen = _names()

    def __call__(self, v) -> str:
        if isinstance(v, Lit):
            return _pp_lit(v)
        if v not in self.names:
            self.names[v] = next(self.gen)
        return self.names[v]


def _pp_lit(lit: Lit) -> str:
    val = lit.val
    val = getattr(val, "_value", val)  # a 0-d Array keeps its weak type in the IR
    if isinstance(val, np.ndarray):
        val = val.item() if val.ndim == 0 else val
    if isinstance(val, (bool, np.bool_)):
        return str(bool(val))
    if isinstance(val, (float, np.floating)):
        return repr(float(val))
    return str(val)


def _pp_param(value, namer_depth: int) -> str:
    if isinstance(value, ClosedIR):
        value = value.ir
    if isinstance(value, IR):
        inner = pp_ir(value, indent=namer_depth + 4)
        return inner
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, tuple):
        return "(" + ", ".join(_pp_param(v, namer_depth) for v in value) + (",)" if len(value) == 1 else ")")
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return str(value)


def pp_ir(ir: IR, indent: int = 0) -> str:
    """The IR as text, in the style ``{ lambda consts ; inputs. let eqns in outputs }``."""
    namer = _Namer()

    def binder(v):
        return f"{namer(v)}:{v.aval.str_short()}"

    consts = " ".join(binder(v) for v in ir.constvars)
    ins = " ".join(binder(v) for v in ir.invars)
    pad = " " * (indent + 4)
    lines = []
    for eqn in ir.eqns:
        outs = " ".join(binder(v) for v in eqn.outvars) or "_"
        params = " ".join(f"{k}={_pp_param(v, indent + 4)}" for k, v in sorted(eqn.params.items()))
        params = f"[{params}]" if params else ""
        args = " ".join(namer(x) for x in eqn.inputs)
        lines.append(f"{pad}{outs} = {eqn.prim.name}{params} {args}".rstrip())
    outs = ", ".join(namer(v) for v in ir.outvars)
    outs = f"({outs},)" if len(ir.outvars) == 1 else f"({outs})"
    effects = ir_effects(ir)
    effects = f"effects={format_effects(effects)} " if effects else ""
    head = f"{{ lambda {consts + ' ' if consts else ''}; {ins}. {effects}let"
    if not lines:
        return f"{head} in {outs} }}"
    return head + "\n" + "\n".join(lines) + "\n" + " " * (indent + 2) + f"in {outs} }}"


# --- type checking -----------------------------------------------------------------------


class IRTypeError(TypeError):
    pass


def typecheck(ir: IR, allowed_effects=None) -> list:
    """Checks scoping and types of every equation; returns the output avals.

    Raises IRTypeError on a use before definition, a variable defined twice,
    an equation whose output types disagree with its primitive's
    ``abstract_eval``, or whose effects are not declared (see
    :func:`check_eqn_effects`); with ``allowed_effects`` (a set of Effects), on an
    IR with an effect outside it.
    """
    if allowed_effects is not None:
        extra = ir_effects(ir) - set(allowed_effects)
        if extra:
            raise IRTypeError(f"the IR has effects {format_effects(extra)} that are not "
                              f"allowed here (allowed: {format_effects(allowed_effects)})")
    if isinstance(ir, ClosedIR):
        for v, c in zip(ir.ir.constvars, ir.consts):
            aval = get_aval(c)
            if (aval.shape, aval.dtype) != (v.aval.shape, v.aval.dtype):
                raise IRTypeError(f"const {aval.str_short()} bound to a var of type "
                                  f"{v.aval.str_short()}")
        ir = ir.ir
    env = set()

    def define(v):
        if not isinstance(v, Var):
            raise IRTypeError(f"binder {v!r} is not a Var")
        if v in env:
            raise IRTypeError(f"variable {v!r} defined twice")
        env.add(v)

    def read(x):
        if isinstance(x, Lit):
            return x.aval
        if x not in env:
            raise IRTypeError(f"variable {x!r} used before it is defined")
        return x.aval

    for v in list(ir.constvars) + list(ir.invars):
        define(v)
    for eqn in ir.eqns:
        in_avals = [read(x) for x in eqn.inputs]
        for sub in sub_irs(eqn.params):   # (also in tuples: cond's branches)
            typecheck(sub)
        check_eqn_effects(eqn)
        out = eqn.prim.rule("abstract_eval")(*in_avals, **eqn.params)
        out = out if eqn.prim.multiple_results else [out]
        if len(out) != len(eqn.outvars):
            raise IRTypeError(f"{eqn.prim.name}: {len(eqn.outvars)} binders for {len(out)} outputs")
        for got, v in zip(out, eqn.outvars):
            if got != v.aval:
                raise IRTypeError(f"{eqn.prim.name}: output typed {v.aval} but the rule gives {got}")
            define(v)
    return [read(x) for x in ir.outvars]


# --- dead-code elimination ----------------------------------------------------------------


def dce(ir: IR, used_outputs=None) -> tuple:
    """Removes equations whose outputs are unused and that have no side effect.

    Args:
      ir: the IR.
      used_outputs: which outputs to keep (default: all).

    Returns:
      ``(new_ir, used_inputs)``: the IR without dead equations (and without the
      dropped outputs), and a list of booleans telling which invars are used.
      Constvars and invars are kept so the calling convention is unchanged.
    """
    if used_outputs is None:
        used_outputs = [True] * len(ir.outvars)
    outvars = [v for v, u in zip(ir.outvars, used_outputs) if u]
    live = {v for v in outvars if isinstance(v, Var)}
    new_eqns = []
    for eqn in reversed(ir.eqns):
        if any(v in live for v in eqn.outvars) or eqn_effects(eqn):
            new_eqns.append(eqn)
            live.update(x for x in eqn.inputs if isinstance(x, Var))
    new_eqns.reverse()
    used_inputs = [v in live for v in ir.invars]
    return IR(list(ir.constvars), list(ir.invars), new_eqns, outvars), used_inputs


# --- evaluation -----------------------------------------------------------------------------


def eval_ir(ir: IR, consts, args) -> list:
    """Interprets ``ir`` with ``bind``: eagerly, or under whatever traces are active."""
    env: dict[Any, Any] = {}

    def read(x):
        return x.val if isinstance(x, Lit) else env[x]

    for v, val in zip(ir.constvars, consts):
        env[v] = val
    for v, val in zip(ir.invars, args):
        env[v] = val
    for eqn in ir.eqns:
        out = bind(eqn.prim, *[read(x) for x in eqn.inputs], **eqn.params)
        if not eqn.prim.multiple_results:
            out = [out]
        for v, o in zip(eqn.outvars, out):
            env[v] = o
    return [read(x) for x in ir.outvars]


# --- effects -------------------------------------------------------------------------------


def sub_irs(params) -> list:
    """The sub-IRs (IR or ClosedIR) in a higher-order primitive's params, also those in
    a tuple or list param (cond's ``branches``)."""
    subs = []
    for v in params.values():
        if isinstance(v, (IR, ClosedIR)):
            subs.append(v)
        elif type(v) is tuple or type(v) is list:
            subs.extend(w for w in v if isinstance(w, (IR, ClosedIR)))
    return subs


def eqn_effects(eqn: Eqn) -> frozenset:
    """The side effects of an equation: its primitive's ``effects_rule(params)`` where it
    has one, else its ``effects`` together with those of the sub-IRs in its params (so
    jit_call, cond, while, scan... carry their bodies' effects without a rule each)."""
    prim = eqn.prim
    if prim.effects_rule is not None:
        return prim.effects_rule(eqn.params)
    effects = prim.effects
    for sub in sub_irs(eqn.params):
        sub_effects = ir_effects(sub)
        if sub_effects:
            effects = effects | sub_effects
    return effects


def ir_effects(ir) -> frozenset:
    """The union of the effects of the equations of ``ir`` (an IR or a ClosedIR)."""
    effects = no_effects
    for eqn in ir.eqns:
        e = eqn_effects(eqn)
        if e:
            effects = effects | e
    return effects


def check_eqn_effects(eqn: Eqn) -> None:
    """Raises IRTypeError unless the equation's effects are Effects and, for a primitive
    with an ``effects_rule``, include every effect of its sub-IRs (a rule may add effects,
    never hide one)."""
    effects = eqn_effects(eqn)
    for e in effects:
        if not isinstance(e, Effect):
            raise IRTypeError(f"{eqn.prim.name}: declares {e!r} as an effect; effects are "
                              "functrans.effects.Effect objects")
    if eqn.prim.effects_rule is not None:
        inner = no_effects
        for sub in sub_irs(eqn.params):
            inner = inner | ir_effects(sub)
        if not inner <= effects:
            raise IRTypeError(f"{eqn.prim.name}: its effects_rule gives "
                              f"{format_effects(effects)} but its sub-IRs have "
                              f"{format_effects(inner)}: an equation must declare the "
                              "effects of its sub-IRs")
