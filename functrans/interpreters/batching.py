"""Automatic batching: the vmap transformation.

A :class:`BatchTracer` carries a value that holds a whole batch and ``bdim``,
the axis of that value along which the examples lie (``None``: the value is
the same for every example, *not mapped*). Applying a primitive to batch
tracers calls the primitive's ``batch`` rule, which computes the batched
result with ordinary ``bind`` calls (so it is itself transformable: vmap of
vmap, grad of vmap, jit of vmap) and says where the batch axis of its output
is.

A primitive whose operands are all unmapped is applied to them as they are:
work that does not depend on the mapped inputs is never broadcast to the
batch size.

Batch rules have the signature ``batch(args, bdims, **params) -> (out, out_bdim)``
(lists of outputs and bdims for ``multiple_results`` primitives), where
``args`` are the batched values and ``bdims`` one int-or-None per argument.
At least one bdim is an int; the batch size is ``args[i].shape[bdims[i]]``.

Rule helpers (used by the primitive modules):
  defvectorized(prim)    unary elementwise (or any op that acts on each element
                         alone): the output's batch axis is the operand's
  defbroadcasting(prim)  n-ary elementwise with equal shapes or rank-0 operands:
                         lines batch axes up, broadcasting where needed
                         (``broadcast_batcher`` is the rule itself)
  moveaxis(x, src, dst)  transpose one axis to a new position
  broadcast_batch(x, size, dst)  an unmapped x given a batch axis at dst
  move_bdim(x, bdim, dst, size)  the batch axis at dst (moved, or broadcast)
  bdim_to_front(x, bdim, size)   the batch axis at 0, broadcasting an unmapped x
  batch_size(args, bdims)        the batch size, read off a mapped argument
  vmap_flat(fun, size, args, bdims, out_bdims_fn)
                         run a flat function batched (higher-order primitives
                         batch the functions they hold with it: custom.py)
  batch_main(size)       a new batch trace for a rule's sub-computation
  batch_ir(closed, size, in_bdims, out_bdims)
                         the IR of a sub-IR batched, as JAX's ``batching.batch_jaxpr``
                         (cond, while, scan, jit_call and pmap batch their sub-IRs with it)

Named axes: ``vmap(f, axis_name="i")`` gives its batch trace a name, so that
collectives (``lax.psum(x, "i")``, ``primitives/collectives.py``) inside ``f``
can refer to it. While a named trace runs a batch rule, :func:`rule_main` is
that trace's main; a batch trace the rule makes for the same axis (a jitted
call's or a loop body's sub-computation) takes its name, so collectives in the
sub-computation find it.
"""

from __future__ import annotations

import threading
from typing import NamedTuple, Optional

from .. import core
from ..core import ShapedArray, Trace, Tracer, bind, get_aval
from ..ir import ClosedIR, eval_ir
from .tracing import depends_on, trace_hoisted



class _RuleState(threading.local):
    main = None       # the named batch trace whose batch rule is running, if any


_rule = _RuleState()
_INHERIT = object()


def rule_main():
    """The MainTrace of the named batch trace whose batch rule is running, or None."""
    return _rule.main


def batch_main(size: int, axis_name=_INHERIT):
    """``core.new_main`` for a batch trace of ``size``; by default it takes the name of
    the named batch trace whose rule is running (it batches the same axis)."""
    if axis_name is _INHERIT:
        axis_name = _rule.main.axis_name if _rule.main is not None else None
    return core.new_main(BatchTrace, size, axis_name=axis_name, axis_size=size)


class BatchTracer(Tracer):
    # ``deps``: a bit set of the vmapped function's inputs this value depends on
    # (bit i: flat input i), kept only so that a ConcretizationError can name them
    __slots__ = ("val", "bdim", "deps")

    def __init__(self, trace, val, bdim: Optional[int], deps: int = 0):
        self._trace = trace
        self.val = val
        self.bdim = bdim
        self.deps = deps

    def _value_origin(self) -> str:
        main = self._trace.main
        info = main.debug_info
        if info is None:
            return ""
        what, names = info
        if callable(names):
            names = names()
        where = f"The error occurred while tracing the function for {what}."
        used = [n for i, n in enumerate(names) if self.deps >> i & 1]
        if not used:
            return where
        return where + " " + depends_on(used)

    @property
    def aval(self) -> ShapedArray:
        aval = get_aval(self.val)
        if self.bdim is None:
            return aval
        shape = aval.shape[:self.bdim] + aval.shape[self.bdim + 1:]
        return ShapedArray(shape, aval.dtype, aval.weak_type)


class BatchTrace(Trace):
    """The batch trace; its main's ``global_data`` is the batch size."""

    __slots__ = ()

    @property
    def axis_size(self) -> int:
        return self.main.global_data

    def pure(self, val):
        return BatchTracer(self, val, None)

    lift = pure

    def process_primitive(self, prim, tracers, params):
        vals, bdims, deps = [], [], 0
        for t in tracers:
            vals.append(t.val)
            bdims.append(t.bdim)
            deps |= t.deps
        main = self.main
        name = main.axis_name
        if all(d is None for d in bdims) and (
                name is None or prim.axis_names is None or name not in prim.axis_names(params)):
            out = bind(prim, *vals, **params)
            if prim.multiple_results:
                return [BatchTracer(self, o, None, deps) for o in out]
            return BatchTracer(self, out, None, deps)
        rule = prim.rule("batch")
        if name is None and _rule.main is None:
            out, out_bdim = rule(vals, bdims, **params)
        else:
            # (a collective of this axis, or a sub-computation that batches it, reads it)
            old, _rule.main = _rule.main, (main if name is not None else None)
            try:
                out, out_bdim = rule(vals, bdims, **params)
            finally:
                _rule.main = old
        if prim.multiple_results:
            return [BatchTracer(self, o, d, deps) for o, d in zip(out, out_bdim)]
        return BatchTracer(self, out, out_bdim, deps)


def vmap_flat(flat_fun, axis_size: int, args, in_bdims, out_bdims_fn, what: str = "vmap",
              axis_name=_INHERIT, arg_names=None):
    """Runs ``flat_fun`` on batch tracers; returns the outputs with their batch
    axes moved to ``out_bdims_fn(num_outputs)`` (a list of int-or-None; ``what``
    names the transformation in errors).

    An output requested unmapped (None) must not depend on the mapped inputs;
    an output that does not depend on them but is requested mapped is
    broadcast to the batch size. ``axis_name``: the axis's name for collectives
    (``vmap`` passes its own; by default a rule's sub-computation inherits it,
    see :func:`batch_main`). ``arg_names``: the names of the flat inputs, for
    error messages (a ConcretizationError names those the value depends on).
    """
    with batch_main(axis_size, axis_name) as main:
        trace = BatchTrace(main)
        if arg_names is not None:
            main.debug_info = (what, arg_names)
        in_tracers = [BatchTracer(trace, x, d, 1 << i)
                      for i, (x, d) in enumerate(zip(args, in_bdims))]
        outs = flat_fun(*in_tracers)
        out_tracers = [trace.full_raise(o) for o in outs]
        vals = [t.val for t in out_tracers]
        bdims = [t.bdim for t in out_tracers]
    dsts = out_bdims_fn(len(vals))
    results = []
    for i, (v, src, dst) in enumerate(zip(vals, bdims, dsts)):
        if dst is None:
            if src is not None:
                raise ValueError(
                    f"{what}: out_axes is None for output {i}, but that output depends on the "
                    f"mapped inputs (it has a batch axis of size {axis_size}). Return it "
                    "mapped (out_axes=0) or make it independent of the mapped inputs.")
            results.append(v)
            continue
        ndim = get_aval(v).ndim + (1 if src is None else 0)
        if not -ndim <= dst < ndim:
            raise ValueError(f"{what}: out_axes={dst} is out of range for output {i} of rank "
                             f"{ndim - 1} (its batched rank is {ndim})")
        results.append(move_bdim(v, src, dst % ndim, axis_size))
    return results


class BatchedIR(NamedTuple):
    """A sub-IR batched (:func:`batch_ir`)."""

    closed: ClosedIR       # consts-free: (consts, batched inputs) -> batched outputs
    consts: list           # the values of its leading inputs
    out_bdims: list        # per output: its batch axis, or None (unbatched)


def batch_ir(closed: ClosedIR, size: int, in_bdims, out_bdims=None, in_avals=None,
             what: str = "vmap") -> BatchedIR:
    """Traces ``closed`` batched over ``size`` examples.

    Args:
      closed: the sub-IR.
      size: the batch size.
      in_bdims: each input's batch axis, or None (unbatched).
      out_bdims: None to keep each output's natural batch axis, or one entry per
        output: an int (its batch axis is moved there, or it is broadcast to have
        one) or None (the output must be unbatched).
      in_avals: the batched inputs' avals (default: ``closed``'s input types with
        ``size`` inserted at each batch axis).
      what: names the transformation in errors.

    Returns:
      A :class:`BatchedIR`. The batch trace takes the name of the named axis whose
      batch rule runs (see :func:`batch_main`), so collectives inside find it.
    """
    if in_avals is None:
        in_avals = [a if d is None else a.update(shape=a.shape[:d] + (size,) + a.shape[d:])
                    for a, d in zip(closed.in_avals, in_bdims)]
    box = []

    def fn(*xs):
        with batch_main(size) as main:
            trace = BatchTrace(main)
            tracers = [BatchTracer(trace, x, d) for x, d in zip(xs, in_bdims)]
            outs = [trace.full_raise(o) for o in eval_ir(closed.ir, closed.consts, tracers)]
            vals, bdims = [], []
            for i, o in enumerate(outs):
                want = o.bdim if out_bdims is None else out_bdims[i]
                if want is None:
                    if o.bdim is not None:
                        raise ValueError(f"{what}: output {i} of a sub-computation depends on "
                                         "the mapped inputs, where it must not")
                    vals.append(o.val)
                else:
                    vals.append(move_bdim(o.val, o.bdim, want, size))
                bdims.append(want)
        box.append(bdims)
        return vals

    hoisted = trace_hoisted(fn, list(in_avals), what)
    return BatchedIR(hoisted.closed, hoisted.consts, box[0])


# --- rule helpers ----------------------------------------------------------------------------


def moveaxis(x, src: int, dst: int):
    """``x`` with axis ``src`` moved to position ``dst`` (a transpose; none if equal)."""
    if src == dst:
        return x
    from ..primitives.shape import transpose_p
    ndim = get_aval(x).ndim
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return bind(transpose_p, x, permutation=tuple(perm))


def broadcast_batch(x, size: int, dst: int = 0):
    """An unmapped ``x`` broadcast to have a batch axis of ``size`` at ``dst``."""
    from ..primitives.shape import broadcast_in_dim_p
    aval = get_aval(x)
    shape = list(aval.shape)
    shape.insert(dst, size)
    dims = tuple(i if i < dst else i + 1 for i in range(aval.ndim))
    return bind(broadcast_in_dim_p, x, shape=tuple(shape), broadcast_dimensions=dims)


def move_bdim(x, src: Optional[int], dst: int, size: int):
    """``x`` with its batch axis at ``dst``: moved, or broadcast if ``src`` is None."""
    if src is None:
        return broadcast_batch(x, size, dst)
    return moveaxis(x, src, dst)


def bdim_to_front(x, bdim: Optional[int], size: int):
    """``x`` with its batch axis first (broadcast to ``size`` if unmapped)."""
    return move_bdim(x, bdim, 0, size)


def batch_size(args, bdims) -> int:
    """The batch size, read off the first mapped argument (or, where none is, the
    size of the named axis whose rule runs: its sub-computation uses the axis)."""
    for x, d in zip(args, bdims):
        if d is not None:
            return get_aval(x).shape[d]
    if _rule.main is not None:
        return _rule.main.axis_size
    raise ValueError("batch_size: no argument is mapped")


def defvectorized(prim):
    """The op acts on each element alone: apply it to the batched operand as is."""
    def rule(args, bdims, **params):
        (x,), (d,) = args, bdims
        return bind(prim, x, **params), d
    prim.batch = rule
    return rule


def broadcast_batcher(prim, args, bdims, **params):
    """Batches an elementwise primitive whose operands have equal shapes or rank 0.

    When every mapped operand has the full rank and the same batch axis, and
    every unmapped one is rank 0, the primitive applies as it is. Otherwise the
    operands are lined up on one batch axis (the mapped operands' common one
    when they agree, else axis 0) and broadcast to a common shape: an unmapped
    full-rank operand gets a broadcast batch axis, and a mapped rank-0 example
    (a vector of the batch) is broadcast to the full shape.
    """
    avals = [get_aval(x) for x in args]
    # the per-example rank of the result: the largest per-example rank
    ex_ranks = [a.ndim - (d is not None) for a, d in zip(avals, bdims)]
    rank = max(ex_ranks)
    mapped_dims = {d for d, r in zip(bdims, ex_ranks) if d is not None and r == rank}
    if (len(mapped_dims) == 1 and all(
            (r == rank) if d is not None else (r == 0) for r, d in zip(ex_ranks, bdims))):
        out = bind(prim, *args, **params)
        d = mapped_dims.pop()
        if prim.multiple_results:
            return out, [d] * len(out)
        return out, d
    size = batch_size(args, bdims)
    ex_shape = next(a.shape[:d] + a.shape[d + 1:] if d is not None else a.shape
                    for a, d, r in zip(avals, bdims, ex_ranks) if r == rank)
    # keep the full-rank mapped operands where they are when they agree on an axis
    dst = mapped_dims.pop() if len(mapped_dims) == 1 else 0
    full = tuple(ex_shape[:dst]) + (size,) + tuple(ex_shape[dst:])
    new_args = []
    for x, a, d, r in zip(args, avals, bdims, ex_ranks):
        if d is None and r == 0:
            new_args.append(x)          # a scalar broadcasts inside the primitive
        elif d is None:
            new_args.append(broadcast_batch(x, size, dst))
        elif r < rank:                  # a mapped scalar per example: (B,) -> full shape
            from ..primitives.shape import broadcast_in_dim_p
            new_args.append(bind(broadcast_in_dim_p, x, shape=full, broadcast_dimensions=(dst,)))
        else:
            new_args.append(moveaxis(x, d, dst))
    out = bind(prim, *new_args, **params)
    if prim.multiple_results:
        return out, [dst] * len(out)
    return out, dst


def defbroadcasting(prim):
    """An n-ary elementwise primitive (equal shapes or rank-0 operands)."""
    def rule(args, bdims, **params):
        return broadcast_batcher(prim, args, bdims, **params)
    prim.batch = rule
    return rule


__all__ = ["BatchTracer", "BatchTrace", "batch_main", "BatchedIR", "batch_ir", "rule_main", "vmap_flat", "moveaxis", "broadcast_batch",
           "move_bdim", "bdim_to_front", "batch_size", "defvectorized", "broadcast_batcher",
           "defbroadcasting"]
