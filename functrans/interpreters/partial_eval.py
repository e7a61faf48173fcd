"""Partial evaluation: splitting an IR into what can run now and what must wait.

Given which inputs of an IR are *known* (their values are available now: a
jvp's primals, a transpose's non-linear operands) and which are *unknown* (a
jvp's tangents, a transpose's linear inputs), :func:`partial_eval` splits it:

    known:    known inputs                -> known outputs, residuals
    unknown:  residuals, unknown inputs   -> unknown outputs

The *residuals* are the known values the unknown part reads. Each equation is
classified by a rule (:data:`rules`, keyed by primitive; the default: it is
known when every input is). A *policy* decides which known values the
unknown part may receive as residuals: a known equation whose outputs are not
``saveable`` is copied into the unknown part (recomputed there, from its own
inputs) instead. The default saves everything (JAX's
``partial_eval_jaxpr_nounits``); :func:`save_nothing_constant` recomputes
equations that read no variable (zeros, iotas: cheaper to make again than to
store); a rematerialisation policy (``checkpoint``) is the same hook with
another predicate.

Who uses it: ``linearize_ir`` (``interpreters/reverse.py``: the jvp of a
sub-IR split into the primal computation and the linear tangent computation,
for ``jit_call``, ``pmap`` and ``scan``), and ``transpose_eval``/``transpose_ir`` (the
non-linear part of a transposed IR runs forward first: ``cond``, ``scan``,
``jit_call``, ``pmap``).

Example:
    >>> import functrans as ft, functrans.numpy as fnp
    >>> from functrans.interpreters.partial_eval import partial_eval
    >>> ir = ft.make_ir(lambda x, t: fnp.cos(x) * t)(1.0, 2.0).ir
    >>> pe = partial_eval(ir, [False, True])
    >>> print(pe.known)
    { lambda ; a:f32[]. let
        b:f32[] = cos a
      in (b,) }
    >>> pe.out_unknowns, pe.num_res
    ([True], 1)
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

from ..ir import IR, Eqn, Var, dce, eqn_effects


class PartialEval(NamedTuple):
    """An IR split by :func:`partial_eval`."""

    known: IR              # (constvars ; known invars) -> (known outputs..., residuals...)
    unknown: IR            # (residuals..., unknown invars) -> unknown outputs
    out_unknowns: list     # per output of the IR: is it an output of ``unknown``
    num_res: int           # the number of residuals
    res_fwd: list          # per residual: the index among the known invars it is, or None


def default_rule(eqn: Eqn, unknowns_in) -> tuple:
    """An equation is known when every input is: ``(known eqns, unknown eqns)``."""
    if any(unknowns_in):
        return [], [eqn]
    return [eqn], []


# Per primitive: ``rule(eqn, unknowns_in) -> (known eqns, unknown eqns)``. A rule may
# split one equation into a known and an unknown one (new variables written by the
# first and read by the second become residuals), as JAX's
# ``partial_eval_jaxpr_custom_rules``; no primitive needs one yet.
rules: dict = {}


def save_everything(eqn: Eqn) -> bool:
    """The default policy: every known value the unknown part reads is a residual."""
    return True


def save_nothing_constant(eqn: Eqn) -> bool:
    """Recompute equations that read no variable (zeros, iotas); save the others."""
    return any(type(x) is Var for x in eqn.inputs)


def partial_eval(ir: IR, unknowns, instantiate=False,
                 saveable: Optional[Callable[[Eqn], bool]] = None) -> PartialEval:
    """Splits ``ir`` into a known and an unknown IR.

    Args:
      ir: the IR; its constvars are known (they stay constvars of ``known``).
      unknowns: one bool per invar of ``ir``: is that input unknown.
      instantiate: a bool, or one per output: make that output an output of the
        unknown IR even where it is known (its value is then passed as a residual).
      saveable: the policy, ``saveable(eqn) -> bool`` for a known equation whose
        output the unknown part reads (default: every one is).

    Returns:
      A :class:`PartialEval`. Both IRs keep the order of ``ir``'s equations; the
      known one has no dead equations.
    """
    saveable = saveable or save_everything
    if isinstance(instantiate, bool):
        instantiate = [instantiate] * len(ir.outvars)
    unknown_vars = {v for v, u in zip(ir.invars, unknowns) if u}
    known_eqns, unknown_eqns, ordered = [], [], []
    for eqn in ir.eqns:
        unknowns_in = [type(x) is Var and x in unknown_vars for x in eqn.inputs]
        rule = rules.get(eqn.prim, default_rule)
        k, u = rule(eqn, unknowns_in)
        known_eqns.extend(k)
        unknown_eqns.extend(u)
        ordered.extend(k + u)
        for e in u:
            unknown_vars.update(e.outvars)
    out_unknowns = [(type(v) is Var and v in unknown_vars) or inst
                    for v, inst in zip(ir.outvars, instantiate)]

    # The known values the unknown part reads: residuals, or recomputed by copying the
    # equation that makes them (then what it reads is needed in turn).
    producer = {v: e for e in known_eqns for v in e.outvars}
    recomputed, residuals, seen = set(), [], set()

    def need(xs):
        todo = list(reversed(xs))        # (a stack: a remat policy may recompute long chains)
        while todo:
            x = todo.pop()
            if type(x) is not Var or x in unknown_vars or x in seen:
                continue
            seen.add(x)
            eqn = producer.get(x)
            if eqn is None or saveable(eqn) or eqn_effects(eqn):   # (effects run once)
                residuals.append(x)
            elif id(eqn) not in recomputed:
                recomputed.add(id(eqn))
                todo.extend(reversed(eqn.inputs))

    for eqn in unknown_eqns:
        need(eqn.inputs)
    need([v for v, u in zip(ir.outvars, out_unknowns) if u])
    unknown_set = {id(e) for e in unknown_eqns} | recomputed
    new_unknown_eqns = [e for e in ordered if id(e) in unknown_set]
    known_invars = [v for v, u in zip(ir.invars, unknowns) if not u]
    known_outs = [v for v, u in zip(ir.outvars, out_unknowns) if not u]
    known, _ = dce(IR(list(ir.constvars), known_invars, known_eqns, known_outs + residuals))
    position = {v: i for i, v in enumerate(known_invars)}
    unknown = IR([], residuals + [v for v, u in zip(ir.invars, unknowns) if u],
                 new_unknown_eqns, [v for v, u in zip(ir.outvars, out_unknowns) if u])
    return PartialEval(known, unknown, out_unknowns, len(residuals),
                       [position.get(r) for r in residuals])


__all__ = ["PartialEval", "partial_eval", "rules", "default_rule", "save_everything",
           "save_nothing_constant"]
