"""The ``jit_call`` primitive: a call of a jitted function under another transformation.

Its params are ``closed`` (the traced sub-IR, a ClosedIR without constants:
closed-over values are passed as its leading arguments, so tracers of an
enclosing transformation are ordinary inputs) and ``name`` (the function's
name, for messages and the module name). Every rule transforms the sub-IR and
binds a new ``jit_call``, so the result is compiled again when it runs:

  impl       compile the sub-IR (cached per IR and device) and run it
  jvp        partial evaluation, as JAX's: one call of the sub-IR linearized
             computes the outputs and the residuals; tangents: a second call of
             its linear part, from the residuals and the non-zero tangents (under
             reverse mode that second call is transposed; the forward runs once)
  transpose  a call of the sub-IR's vjp, from the known inputs and cotangents
  batch      a call of the vmapped sub-IR (every output batched at axis 0)
  lower      the sub-IR inlined into the enclosing module

Derived sub-IRs are cached per (sub-IR, what), so ``grad(jit(f))`` in a loop
traces each derivative once.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .core import Primitive, Tracer, bind
from .interpreters import lowering, xla
from .interpreters.batching import batch_size, vmap_flat
from .interpreters.jvp import Zero, tangent_aval, zeros_like_aval
from .interpreters.reverse import is_undefined, linearize_flat, vjp_flat
from .interpreters.tracing import trace_to_ir
from .ir import IR, ClosedIR, Lit, dce, eval_ir
from .primitives.collectives import sub_ir_axis_names

jit_call_p = Primitive("jit_call", multiple_results=True)
jit_call_p.axis_names = sub_ir_axis_names   # a jitted call holding collectives of a vmap axis

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

    def forget(self, closed) -> list:
        """Drops the entries of ``closed``; returns their values."""
        i = id(closed)
        return [self.pop(k)[1] for k in [k for k in self if k[0] == i]]


_executables = _LRU()
_derived = _LRU()


def forget(closed) -> None:
    """Drops the executables and derived sub-IRs cached for ``closed``, and for the
    sub-IRs derived from it: ``jit`` calls it when the trace of a jitted function is
    evicted or deleted, so these process-wide caches do not keep its executables."""
    todo = [closed]
    while todo:
        c = todo.pop()
        _executables.forget(c)
        for derived, _, record in _derived.forget(c):
            todo.append(derived)
            if "lin" in record:
                todo.append(record["lin"])


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
    nonzero = tuple(type(t) is not Zero for t in tangents)
    if not any(nonzero):
        outs = bind(jit_call_p, *primals, closed=closed, name=name)
        return outs, [Zero(tangent_aval(a)) for a in closed.out_avals]
    fwd_closed, fwd_consts, rec = _derive("linearize", closed, nonzero,
                                          f"linearize(jit({name}))", _linearize_fun(closed, nonzero),
                                          list(closed.in_avals))
    outs = bind(jit_call_p, *fwd_consts, *primals, closed=fwd_closed, name=name)
    primals_out, residuals = outs[:rec["n_out"]], outs[rec["n_out"]:]
    tangents_out = iter([])
    if any(rec["nonzero_out"]):
        tangents_out = iter(bind(jit_call_p, *rec["lin_consts"], *residuals,
                                 *[t for t in tangents if type(t) is not Zero],
                                 closed=rec["lin"], name=f"jvp_{name}"))
    return primals_out, [next(tangents_out) if nz else Zero(tangent_aval(a))
                         for nz, a in zip(rec["nonzero_out"], closed.out_avals)]


def _linearize_fun(closed, nonzero):
    """JAX's partial evaluation of a call, for ``_derive``: the traced function maps the
    primals to the outputs followed by the residuals (the primal values the tangents
    need), and notes in its record the linear sub-IR from (residuals, non-zero tangents)
    to the non-zero output tangents. So the forward runs once: under reverse mode the
    first call runs and the second is the linear part that is transposed; under jvp the
    second call does only the tangent work."""
    def make_fun(record):
        def fun(*ps):
            def f_nz(*nz_ps):
                it = iter(nz_ps)
                return eval_ir(closed.ir, closed.consts,
                               [next(it) if nz else p for nz, p in zip(nonzero, ps)])
            outs, linear = linearize_flat(f_nz, [p for p, nz in zip(ps, nonzero) if nz])
            ir = linear.ir
            # constants of the linear IR that this trace computed are residuals; the rest
            # (arrays known when tracing) stay constants of the linear sub-IR
            res_vars, residuals, kept_vars, kept = [], [], [], []
            for v, c in zip(ir.constvars, linear.consts):
                if isinstance(c, Tracer):
                    res_vars.append(v)
                    residuals.append(c)
                else:
                    kept_vars.append(v)
                    kept.append(c)
            # a linear output that reads no input is a zero tangent
            constant = set(ir.constvars)
            nonzero_out = [type(v) is not Lit and v not in constant for v in ir.outvars]
            lin_ir = IR(kept_vars, res_vars + list(ir.invars), ir.eqns,
                        [v for v, nz in zip(ir.outvars, nonzero_out) if nz])
            lin_ir, _ = dce(lin_ir)
            record["lin"], record["lin_consts"] = _closure_convert(ClosedIR(lin_ir, kept))
            record["n_out"], record["nonzero_out"] = len(outs), nonzero_out
            return list(outs) + residuals
        return fun
    return make_fun


jit_call_p.jvp = _jit_call_jvp


# --- transpose --------------------------------------------------------------------------------


def derive_transpose(kind, closed, linear, ct_nonzero, what):
    """The transpose of a call of ``closed`` that is linear in the inputs flagged in
    ``linear`` (the others known), as a derived sub-IR (cached): it maps (known inputs,
    non-zero output cotangents) to the non-zero input cotangents. Returns ``(closed,
    consts, record)``; ``record["nonzero"]`` says which linear inputs get one."""
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

    return _derive(kind, closed, (linear, ct_nonzero), what, make_fun, known_avals + ct_avals)


def derive_batch(kind, closed, size, bdims, what):
    """``closed`` vmapped over ``size`` examples with the inputs' batch axes ``bdims``
    (every output batched at 0), as a derived sub-IR (cached): ``(closed, consts)``."""
    in_avals = [a if d is None else
                a.update(shape=a.shape[:d] + (size,) + a.shape[d:]) for a, d in
                zip(closed.in_avals, bdims)]

    def make_fun(record):
        def fun(*xs):
            return vmap_flat(lambda *ys: eval_ir(closed.ir, closed.consts, ys), size, xs,
                             list(bdims), lambda n: [0] * n)
        return fun
    b_closed, consts, _ = _derive(kind, closed, (tuple(bdims), size), what, make_fun, in_avals)
    return b_closed, consts


def _jit_call_transpose(cts, *args, closed, name):
    linear = tuple(is_undefined(a) for a in args)
    ct_nonzero = tuple(type(c) is not Zero and c is not None for c in cts)
    t_closed, consts, record = derive_transpose("transpose", closed, linear, ct_nonzero,
                                                f"transpose(jit({name}))")
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
    b_closed, consts = derive_batch("batch", closed, batch_size(args, bdims), bdims,
                                    f"vmap(jit({name}))")
    outs = bind(jit_call_p, *consts, *args, closed=b_closed, name=f"vmap_{name}")
    return outs, [0] * len(outs)


jit_call_p.batch = _jit_call_batch


# --- lower ----------------------------------------------------------------------------------------


def _jit_call_lower(ctx, *operands, closed, name):
    # Inlined: XLA sees one program and optimizes across the call boundary.
    return ctx.lower_ir(closed, list(operands))


jit_call_p.lower = _jit_call_lower


__all__ = ["jit_call_p"]
