"""The ``jit_call`` primitive: a call of a jitted function under another transformation.

Its params are ``closed`` (the traced sub-IR, a ClosedIR without constants:
closed-over values are passed as its leading arguments, so tracers of an
enclosing transformation are ordinary inputs) and ``name`` (the function's
name, for messages and the module name). Every rule transforms the sub-IR and
binds a new ``jit_call``, so the result is compiled again when it runs:

  impl       compile the sub-IR (cached per IR and device) and run it
  jvp        primal outputs: the call itself; tangents: a second call of the
             sub-IR's jvp, from primals and the non-zero tangents (under
             reverse mode that second call is the linear part)
  transpose  a call of the sub-IR's vjp, from the known inputs and cotangents
  batch      a call of the vmapped sub-IR (every output batched at axis 0)
  lower      the sub-IR inlined into the enclosing module

Derived sub-IRs are cached per (sub-IR, what), so ``grad(jit(f))`` in a loop
traces each derivative once.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .core import Primitive, bind, get_aval
from .interpreters import lowering, xla
from .interpreters.batching import batch_size, vmap_flat
from .interpreters.jvp import Zero, jvp_flat, tangent_aval, zeros_like_aval
from .interpreters.reverse import is_undefined, vjp_flat
from .interpreters.tracing import trace_to_ir
from .ir import IR, ClosedIR, dce, eval_ir

jit_call_p = Primitive("jit_call", multiple_results=True)

_CACHE_SIZE = 256


class _LRU(OrderedDict):
    """A bounded cache keyed by ``(id(closed), ...)``; values keep ``closed`` alive so
    an id is never reused while its entry exists."""

    def get_or(self, key, closed, make):
        hit = self.get(key)
        if hit is not None:
            self.move_to_end(key)
            return hit[1]
        value = make()
        self[key] = (closed, value)
        if len(self) > _CACHE_SIZE:
            self.popitem(last=False)
        return value


_executables = _LRU()
_derived = _LRU()


def _closure_convert(closed: ClosedIR):
    """``(ClosedIR without consts, consts)``: the constvars become leading invars."""
    ir = closed.ir
    if not ir.constvars:
        return closed, []
    hoisted = IR([], list(ir.constvars) + list(ir.invars), ir.eqns, ir.outvars)
    return ClosedIR(hoisted, []), list(closed.consts)


def _derive(kind, closed, extra, what, make_fun, in_avals):
    """Traces ``make_fun(record)`` to a const-free ClosedIR (cached); returns
    ``(closed, consts, record)`` where ``record`` is what the function noted."""
    def make():
        record = {}
        fun = make_fun(record)
        new = trace_to_ir(fun, in_avals, what)
        new_ir, _ = dce(new.ir)
        hoisted, consts = _closure_convert(ClosedIR(new_ir, new.consts))
        return hoisted, consts, record
    return _derived.get_or((id(closed), kind, extra), closed, make)


# --- abstract evaluation and impl -------------------------------------------------------------


@jit_call_p.def_abstract_eval
def _jit_call_abstract_eval(*avals, closed, name):
    return list(closed.out_avals)


@jit_call_p.def_impl
def _jit_call_impl(*vals, closed, name):
    device = xla.default_device()

    def make():
        lowered = lowering.lower_ir(closed, name, platform=xla.device_platform(device))
        exe = xla.compile(lowered.text, device, name)
        consts = [xla.device_put(np.asarray(c), device) for c in lowered.const_args]
        return exe, consts
    exe, const_bufs = _executables.get_or((id(closed), device), closed, make)
    bufs = list(const_bufs)
    for v, a in zip(vals, closed.in_avals):
        bufs.append(xla.device_put(np.asarray(v, a.dtype), device))
    return [xla.to_numpy(o) for o in xla.execute(exe, bufs)]


# --- jvp ----------------------------------------------------------------------------------------


def _jit_call_jvp(primals, tangents, *, closed, name):
    primals_out = bind(jit_call_p, *primals, closed=closed, name=name)
    nonzero = tuple(type(t) is not Zero for t in tangents)
    in_avals = list(closed.in_avals)
    n = len(in_avals)

    def make_fun(record):
        def fun(*xs):
            ps, ts = xs[:n], iter(xs[n:])
            tans = [next(ts) if nz else Zero(tangent_aval(a))
                    for nz, a in zip(nonzero, in_avals)]
            _, t_out = jvp_flat(lambda *p: eval_ir(closed.ir, closed.consts, p), ps, tans)
            record["nonzero"] = [type(t) is not Zero for t in t_out]
            return [t for t in t_out if type(t) is not Zero]
        return fun

    t_avals = [tangent_aval(a) for a, nz in zip(in_avals, nonzero) if nz]
    jvp_closed, consts, record = _derive("jvp", closed, nonzero, f"jvp(jit({name}))",
                                         make_fun, in_avals + t_avals)
    tangents_out = iter([])
    if any(record["nonzero"]):
        tangents_out = iter(bind(jit_call_p, *consts, *primals,
                                 *[t for t in tangents if type(t) is not Zero],
                                 closed=jvp_closed, name=f"jvp_{name}"))
    return primals_out, [next(tangents_out) if nz else Zero(tangent_aval(a))
                         for nz, a in zip(record["nonzero"], closed.out_avals)]


jit_call_p.jvp = _jit_call_jvp


# --- transpose --------------------------------------------------------------------------------


def _jit_call_transpose(cts, *args, closed, name):
    linear = tuple(is_undefined(a) for a in args)
    ct_nonzero = tuple(type(c) is not Zero and c is not None for c in cts)
    in_avals = list(closed.in_avals)
    known_avals = [a for a, lin in zip(in_avals, linear) if not lin]
    lin_avals = [tangent_aval(a) for a, lin in zip(in_avals, linear) if lin]
    ct_avals = [tangent_aval(a) for a, nz in zip(closed.out_avals, ct_nonzero) if nz]
    nk = len(known_avals)

    def make_fun(record):
        def fun(*xs):
            known, ct_vals = xs[:nk], iter(xs[nk:])

            def lin_fun(*lin_vals):
                k, lv = iter(known), iter(lin_vals)
                full = [next(lv) if lin else next(k) for lin in linear]
                return eval_ir(closed.ir, closed.consts, full)

            # the function is linear in lin_vals, so its vjp at zero is its transpose
            zeros = [zeros_like_aval(a) for a in lin_avals]
            _, f_vjp, _ = vjp_flat(lin_fun, zeros)
            cts_full = [next(ct_vals) if nz else Zero(tangent_aval(a))
                        for nz, a in zip(ct_nonzero, closed.out_avals)]
            cts_in = f_vjp(cts_full)
            record["nonzero"] = [type(c) is not Zero for c in cts_in]
            return [c for c in cts_in if type(c) is not Zero]
        return fun

    t_closed, consts, record = _derive("transpose", closed, (linear, ct_nonzero),
                                       f"transpose(jit({name}))", make_fun,
                                       known_avals + ct_avals)
    outs = iter([])
    if any(record["nonzero"]):
        known = [a for a, lin in zip(args, linear) if not lin]
        outs = iter(bind(jit_call_p, *consts, *known,
                         *[c for c, nz in zip(cts, ct_nonzero) if nz],
                         closed=t_closed, name=f"transpose_{name}"))
    nz_iter = iter(record["nonzero"])
    result = []
    for lin in linear:
        if not lin:
            result.append(None)
        else:
            result.append(next(outs) if next(nz_iter) else None)
    return result


jit_call_p.transpose = _jit_call_transpose


# --- batch ----------------------------------------------------------------------------------------


def _jit_call_batch(args, bdims, *, closed, name):
    size = batch_size(args, bdims)
    avals = [get_aval(a) for a in args]

    def make_fun(record):
        def fun(*xs):
            return vmap_flat(lambda *ys: eval_ir(closed.ir, closed.consts, ys), size, xs,
                             list(bdims), lambda n: [0] * n)
        return fun

    b_closed, consts, _ = _derive("batch", closed, (tuple(bdims), tuple(avals)),
                                  f"vmap(jit({name}))", make_fun, avals)
    outs = bind(jit_call_p, *consts, *args, closed=b_closed, name=f"vmap_{name}")
    return outs, [0] * len(outs)


jit_call_p.batch = _jit_call_batch


# --- lower ----------------------------------------------------------------------------------------


def _jit_call_lower(ctx, *operands, closed, name):
    # Inlined: XLA sees one program and optimizes across the call boundary.
    return ctx.lower_ir(closed, list(operands))


jit_call_p.lower = _jit_call_lower


__all__ = ["jit_call_p"]
