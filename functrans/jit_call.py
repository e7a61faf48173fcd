"""The ``jit_call`` primitive: a call of a jitted function under another transformation.

Its params are ``closed`` (the traced sub-IR, a ClosedIR without constants:
closed-over values are passed as its leading arguments, so tracers of an
enclosing transformation are ordinary inputs) and ``name`` (the function's
name, for messages and the module name). Every rule transforms the sub-IR with
the interpreters' sub-IR library and binds a new ``jit_call``, so the result is
compiled again when it runs:

  impl       compile the sub-IR (cached per IR and device) and run it
  jvp        ``linearize_ir`` (explicit partial evaluation, as JAX's): one call of
             the known part computes the outputs and the residuals; tangents: a
             second call of the linear part, from the residuals and the non-zero
             tangents (under reverse mode that second call is transposed; the
             forward runs once)
  transpose  a call of ``transpose_ir`` of the sub-IR, from the known inputs and
             the cotangents
  batch      a call of ``batch_ir`` of the sub-IR (every output batched at axis 0)
  lower      the sub-IR inlined into the enclosing module

Derived sub-IRs are cached per (sub-IR, what), so ``grad(jit(f))`` in a loop
traces each derivative once. ``pmap_p`` (``pmap.py``) is a call too: it uses
the same cached derivations (:func:`linearized`, :func:`transposed`,
:func:`batched`) and the rules' shared steps (:func:`call_transpose_inputs`,
:func:`scatter`).

Why this module is not in ``primitives/``: the primitive and its caches are the
bridge between ``jit`` (``jit.py``: tracing, the dispatch fast path, which
forgets a trace's executables here) and the compiler (``interpreters/xla.py``);
``primitives/`` holds the operations a traced program is made of. JAX likewise
keeps ``pjit_p`` in its own module next to the API.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .core import Primitive, bind
from .interpreters import lowering, xla
from .interpreters.batching import BatchedIR, batch_ir, batch_size
from .interpreters.jvp import Zero, tangent_aval
from .interpreters.reverse import LinearizedIR, TransposedIR, is_undefined, linearize_ir, \
    transpose_ir
from .ir import ClosedIR, dce
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


executables = _LRU()    # compiled programs: jit_call's, and pmap's replicated ones
_derived = _LRU()       # derived sub-IRs: LinearizedIR, TransposedIR, BatchedIR


def forget(closed) -> None:
    """Drops the executables and derived sub-IRs cached for ``closed``, and for the
    sub-IRs derived from it: ``jit`` calls it when the trace of a jitted function is
    evicted or deleted, so these process-wide caches do not keep its executables."""
    todo = [closed]
    while todo:
        c = todo.pop()
        executables.forget(c)
        for derived in _derived.forget(c):
            todo.extend(x for x in derived if isinstance(x, ClosedIR))


def _without_dead_code(closed: ClosedIR) -> ClosedIR:
    return ClosedIR(dce(closed.ir)[0], closed.consts)


def linearized(kind, closed, nonzeros, what) -> LinearizedIR:
    """``linearize_ir(closed, nonzeros)``, cached per (sub-IR, kind, nonzeros)."""
    return _derived.get_or((id(closed), kind, nonzeros), closed,
                           lambda: linearize_ir(closed, nonzeros, what))


def transposed(kind, closed, linear, ct_nonzeros, what) -> TransposedIR:
    """``transpose_ir(closed, linear, ct_nonzeros)`` without dead code, cached."""
    def make():
        t = transpose_ir(closed, linear, ct_nonzeros, what)
        return t._replace(closed=_without_dead_code(t.closed))
    return _derived.get_or((id(closed), kind, (linear, ct_nonzeros)), closed, make)


def batched(kind, closed, size, bdims, what) -> BatchedIR:
    """``batch_ir`` of ``closed`` with every output batched at axis 0, without dead
    code, cached."""
    def make():
        b = batch_ir(closed, size, list(bdims), [0] * len(closed.out_avals), what=what)
        return b._replace(closed=_without_dead_code(b.closed))
    return _derived.get_or((id(closed), kind, (tuple(bdims), size)), closed, make)


def scatter(nonzeros, values, zero) -> list:
    """One entry per flag: the next of ``values`` where set, else ``zero(i)``."""
    it = iter(values)
    return [next(it) if nz else zero(i) for i, nz in enumerate(nonzeros)]


def call_transpose_inputs(args, cts):
    """The transpose of a call primitive, before its bind: ``(linear, ct_nonzeros, known
    inputs, nonzero cotangents)``; ``linear`` flags the undefined (linear) inputs."""
    linear = tuple(is_undefined(a) for a in args)
    ct_nonzeros = tuple(type(c) is not Zero and c is not None for c in cts)
    return (linear, ct_nonzeros, [a for a, lin in zip(args, linear) if not lin],
            [c for c, nz in zip(cts, ct_nonzeros) if nz])


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
    exe, const_bufs = executables.get_or((id(closed), device), closed, make)
    bufs = list(const_bufs)
    for v, a in zip(vals, closed.in_avals):
        bufs.append(xla.device_put(np.asarray(v, a.dtype), device))
    return [xla.to_numpy(o) for o in xla.execute(exe, bufs)]


# --- jvp ----------------------------------------------------------------------------------------


def _jit_call_jvp(primals, tangents, *, closed, name):
    nonzeros = tuple(type(t) is not Zero for t in tangents)
    zero = lambda i: Zero(tangent_aval(closed.out_avals[i]))  # noqa: E731
    if not any(nonzeros):
        outs = bind(jit_call_p, *primals, closed=closed, name=name)
        return outs, [zero(i) for i in range(len(outs))]
    lin = linearized("linearize", closed, nonzeros, f"linearize(jit({name}))")
    outs = bind(jit_call_p, *lin.known_consts, *primals, closed=lin.known, name=name)
    n_out = len(closed.out_avals)
    primals_out, residuals = outs[:n_out], outs[n_out:]
    tangents_out = []
    if any(lin.out_nonzeros):
        tangents_out = bind(jit_call_p, *lin.linear_consts, *residuals,
                            *[t for t in tangents if type(t) is not Zero],
                            closed=lin.linear, name=f"jvp_{name}")
    return primals_out, scatter(lin.out_nonzeros, tangents_out, zero)


jit_call_p.jvp = _jit_call_jvp


# --- transpose --------------------------------------------------------------------------------


def _jit_call_transpose(cts, *args, closed, name):
    linear, ct_nonzeros, known, nz_cts = call_transpose_inputs(args, cts)
    t = transposed("transpose", closed, linear, ct_nonzeros, f"transpose(jit({name}))")
    outs = []
    if any(t.ct_nonzeros):
        outs = bind(jit_call_p, *t.consts, *known, *nz_cts, closed=t.closed,
                    name=f"transpose_{name}")
    cts_in = iter(scatter(t.ct_nonzeros, outs, lambda i: None))
    return [next(cts_in) if lin else None for lin in linear]


jit_call_p.transpose = _jit_call_transpose


# --- batch ----------------------------------------------------------------------------------------


def _jit_call_batch(args, bdims, *, closed, name):
    b = batched("batch", closed, batch_size(args, bdims), bdims, f"vmap(jit({name}))")
    outs = bind(jit_call_p, *b.consts, *args, closed=b.closed, name=f"vmap_{name}")
    return outs, [0] * len(outs)


jit_call_p.batch = _jit_call_batch


# --- lower ----------------------------------------------------------------------------------------


def _jit_call_lower(ctx, *operands, closed, name):
    # Inlined: XLA sees one program and optimizes across the call boundary.
    return ctx.lower_ir(closed, list(operands))


jit_call_p.lower = _jit_call_lower


__all__ = ["jit_call_p", "forget", "linearized", "transposed", "batched", "scatter",
           "call_transpose_inputs", "executables"]
