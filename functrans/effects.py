"""Side effects in the IR: what they are, and what each part of functrans does with them.

Most primitives are pure: an equation whose outputs are unused can be deleted,
and equations may run in any order their data dependencies allow. A primitive
with a *side effect* (printing, a host callback, writing to a host list) is
not: it declares its effects, and

* the IR carries them: ``IR.effects`` / ``ClosedIR.effects`` is the union of
  its equations' effects (derived from the equations, so it is never stale),
  and the printer shows it in the header, ``{ lambda ; a:f32[3]. effects={log} let``;
* an equation's effects are its primitive's (``Primitive.effects``, or
  ``Primitive.effects_rule(params)`` when they depend on the params) plus, for
  a higher-order primitive (jit_call, cond, while, scan, pmap...), those of the
  sub-IRs in its params (:func:`functrans.ir.eqn_effects`): no rule per
  higher-order primitive is needed;
* ``ir.dce`` keeps an effectful equation (and the equations computing its
  inputs) even when its outputs are unused; the type checker checks that an
  ``effects_rule`` does not hide its sub-IRs' effects;
* transformations keep effects because an effectful primitive's rules bind it
  again (the JVP of a print prints the primal; the batched print prints the
  batch);
* lowering (``interpreters/lowering.py``) threads one ordering token of type
  ``!stablehlo.token`` through the operations of *ordered* effects in program
  order. The token is made inside ``@main`` the first time a rule asks for it
  (``stablehlo.after_all`` with no operands), so the calling convention is
  unchanged and an effect-free program's text is exactly what it was.

``OrderedEffect``: its operations run in program order (``io_callback(ordered=True)``,
``debug.print(ordered=True)``). ``UnorderedEffect``: it must run, but in any order
(``debug.print``). Effects are compared by identity: make each one once, at import.

Example::

    log_effect = OrderedEffect("log")
    log_p = Primitive("log")
    log_p.effects = frozenset([log_effect])
"""

from __future__ import annotations


class Effect:
    """A side effect a primitive may have. Use one of the two subclasses."""

    __slots__ = ("name",)
    ordered = False

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"

    def __str__(self):
        return self.name


class OrderedEffect(Effect):
    """An effect whose operations must happen in program order (a token orders them)."""

    __slots__ = ()
    ordered = True


class UnorderedEffect(Effect):
    """An effect whose operations must happen (never removed as dead code), in any order."""

    __slots__ = ()
    ordered = False


no_effects: frozenset = frozenset()


def ordered_effects(effects) -> frozenset:
    """The ordered ones among ``effects``."""
    return frozenset(e for e in effects if e.ordered)


def has_ordered(effects) -> bool:
    return any(e.ordered for e in effects)


def format_effects(effects) -> str:
    """``{io, log}``: the effects by name, sorted (as the IR printer shows them)."""
    return "{" + ", ".join(sorted(str(e) for e in effects)) + "}"


__all__ = ["Effect", "OrderedEffect", "UnorderedEffect", "no_effects", "ordered_effects",
           "has_ordered", "format_effects"]
