"""``pmap``: one copy of a function per device, run in parallel, with collectives
across the devices (data parallelism over XLA's collectives).

``pmap(f, axis_name="i")(xs)`` runs ``f`` on ``xs[k]`` on device ``k`` (as
``vmap`` would run it on example ``k``); inside ``f``, ``lax.psum(x, "i")``,
``pmean``, ``pmax``, ``pmin``, ``all_gather``, ``ppermute``, ``psum_scatter`` and
``axis_index`` act across the devices. How:

1. The per-device function is traced to one IR (``trace_to_ir`` with the axis
   name, so collectives are staged as equations instead of raising). Each
   mapped input and each output carries a leading axis of 1 in the program, so
   that the whole input array is one buffer split across the devices.
2. ``lower_ir(..., replica_axes={name: n})`` writes a replica-mode module
   (``mhlo.num_replicas = n``); the collectives lower to cross-replica
   ``all_reduce`` / ``all_gather`` / ``collective_permute`` / ``reduce_scatter`` /
   ``replica_id``.
3. ``xla.compile_replicated`` compiles it for ``n`` devices (replica ``k`` on
   device ``k``), cached per IR and devices; a call splits the mapped inputs
   across the devices, copies the others to each, runs, and stacks each
   output's per-device results on the host.

A call is the ``pmap`` primitive (params: the per-device IR, its axis name,
the devices, which inputs are split), so it composes as ``jit_call`` does:
``grad``/``vjp``/``jvp`` of a pmap are pmaps of the per-device linearized
function (the forward returns its residuals per device, the linear part is
transposed per device; a replicated input's cotangent is the sum over the
devices), ``vmap`` of a pmap is a pmap of the per-device vmapped function.
Inside ``jit`` it cannot lower (one program cannot hold another's replicas): an
error. Transformations inside work too: ``pmap(jit(vmap(grad(f))))``. Results
come back as host arrays (eager mode's), stacked along ``out_axes``. On a
CPU-only machine, several devices come from
``XLA_FLAGS=--xla_force_host_platform_device_count=N``, set before jax starts.

Its rules use the sub-IR library (``linearize_ir``, ``transpose_ir``,
``batch_ir``) through ``jit_call.py``'s caches, as ``jit_call`` does, and parse
``in_axes``/``out_axes`` with ``vmap``'s helpers (``api.in_axes_of``).

Why ``pmap_p`` is here and not in ``primitives/``: it is one with the API
above it (its impl compiles a replicated program for the devices the call
chose, and cannot be lowered inside another program), and it shares
``jit_call``'s caches, which live next to ``jit``; ``primitives/`` holds the
operations a traced program is made of. JAX likewise keeps ``pmap_p`` in
``interpreters/pxla.py`` next to the API.
"""

from __future__ import annotations

import functools

import numpy as np

from . import tree_util
from .api import check_axis_name, in_axes_of, out_axes_of
from .config import config
from .core import Primitive, ShapedArray, bind, check_output, get_aval
from .errors import api_boundary
from .interpreters import lowering, xla
from .interpreters.batching import batch_size, moveaxis
from .interpreters.jvp import Zero, tangent_aval
from .interpreters.tracing import trace_hoisted, trace_to_ir
from .ir import eval_ir
from .jit_call import (batched, call_transpose_inputs, executables, linearized, scatter,
                       transposed)
from .primitives.collectives import sub_ir_axis_names
from .primitives.reductions import reduce_sum
from .primitives.shape import reshape

__all__ = ["pmap", "pmap_p"]

_CACHE_SIZE = 64


def pmap(fun, axis_name=None, *, in_axes=0, out_axes=0, devices=None):
    """Runs ``fun`` once per device in parallel, over the leading (``in_axes``) axis of
    its inputs, with collectives over ``axis_name`` across the devices.

    Args:
      fun: a function of arrays (or pytrees of arrays), written per device.
      axis_name: the name collectives in ``fun`` use (``lax.psum(x, axis_name)``...).
      in_axes: as ``vmap``'s: an int (the mapped axis) or None (the same value on every
        device) per argument, or a prefix pytree of the arguments' tuple.
      out_axes: where the device axis goes in each output (an int or None, or a prefix
        pytree of them); None returns device 0's copy of an output that is the same on
        every device (a ``psum``, say), as JAX does, without checking that it is.
      devices: the devices to use (default: the first ``n`` of ``ft.devices()``, ``n`` the
        size of the mapped axis).

    Returns:
      The parallel function; its outputs are host arrays with the per-device results
      stacked along ``out_axes``.

    Every device must reach the same collectives: a collective inside a branch that only
    some devices take (a ``cond`` on a per-device value) waits for the others, and XLA
    aborts the process after 40 s. Decide such branches on a value that is the same on
    every device (a ``psum`` of it, say), or use ``lax.select``.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> from functrans import lax
        >>> n = 1  # len(ft.devices()) devices at most
        >>> ft.pmap(lambda x: x / lax.psum(x, "d"), "d")(fnp.ones((n, 3))).shape
        (1, 3)
    """
    name = getattr(fun, "__name__", "fun")
    what = f"pmap({name})"
    check_axis_name(what, axis_name)
    cache: dict = {}

    @functools.wraps(fun)
    @api_boundary
    def parallel(*args, **kwargs):
        if kwargs:
            raise TypeError(f"{what}: keyword arguments are not mapped and not supported; "
                            "pass them positionally (with in_axes=None to replicate them)")
        flat, in_tree, axes, n = in_axes_of(what, in_axes, args)
        if n is None:
            raise ValueError(f"{what}: no argument is mapped (all in_axes are None), so the "
                             "number of devices is unknown")
        values, avals = [], []
        for x, ax in zip(flat, axes):
            a = get_aval(x)
            if ax is None:
                values.append(x)
                avals.append(a)
            else:
                values.append(moveaxis(x, ax, 0))
                avals.append(ShapedArray(a.shape[:ax] + a.shape[ax + 1:], a.dtype, a.weak_type))
        mapped = [ax is not None for ax in axes]
        devs = list(devices) if devices is not None else xla.devices()
        if devices is not None and len(devs) != n:
            raise ValueError(f"{what}: the mapped axis has size {n} but {len(devs)} devices "
                             "were given; give one device per slice")
        if n > len(devs):
            raise ValueError(
                f"{what}: the mapped axis has size {n} but only {len(devs)} device(s) are "
                f"available ({devs[0].platform}). Map over at most {len(devs)}, or use vmap "
                f"with axis_name={axis_name!r} for the same program on one device; on the CPU "
                f"set XLA_FLAGS=--xla_force_host_platform_device_count={n} before jax starts.")
        devs = tuple(devs[:n])
        key = (in_tree, tuple(avals), tuple(mapped), devs, config.enable_x64)
        entry = cache.get(key)
        if entry is None:
            entry = _trace(fun, what, in_tree, avals, axis_name, n)
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[key] = entry
        closed, consts, out_tree = entry
        outs = bind(pmap_p, *consts, *values, closed=closed, name=name, axis_name=axis_name,
                    devices=devs, mapped=(False,) * len(consts) + tuple(mapped))
        out_struct = tree_util.tree_unflatten(out_tree, [0] * len(outs))
        results = []
        for i, (o, dst) in enumerate(zip(outs, out_axes_of(what, out_axes, out_struct))):
            if dst is None:      # the same on every device (a psum, say): device 0's copy
                results.append(o[0])
                continue
            ndim = get_aval(o).ndim
            if not -ndim <= dst < ndim:
                raise ValueError(f"{what}: out_axes={dst} is out of range for output {i} of "
                                 f"rank {ndim - 1}")
            results.append(moveaxis(o, 0, dst % ndim))
        return tree_util.tree_unflatten(out_tree, results)

    return parallel


def _trace(fun, what, in_tree, avals, axis_name, n):
    """The per-device function traced to a const-free ClosedIR (collectives over
    ``axis_name`` staged), its hoisted constants and its output tree."""
    box = []

    def per_device(*flat):
        out = fun(*tree_util.tree_unflatten(in_tree, list(flat)))
        out_flat, out_tree = tree_util.tree_flatten(out)
        box.append(out_tree)
        for i, o in enumerate(out_flat):
            check_output(what, o, i)
        return out_flat
    hoisted, consts = trace_hoisted(per_device, avals, what, axis_name=axis_name, axis_size=n)
    return hoisted, consts, box[0]


# --- the pmap primitive ----------------------------------------------------------------------
#
# Operands: every input, the split ones stacked along axis 0 (one slice per device), the
# others whole (a copy on each device). Params: ``closed`` (the per-device IR, without
# consts), ``name``, ``axis_name``, ``devices`` (a tuple), ``mapped`` (one bool per input).
# Results: every output stacked along axis 0.

pmap_p = Primitive("pmap", multiple_results=True)


def _pmap_axis_names(params):
    # the names of enclosing vmaps that the per-device function's collectives use (its own
    # axis is bound inside it): such a vmap batches the pmap even when no operand is batched
    return sub_ir_axis_names(params) - {params["axis_name"]}


pmap_p.axis_names = _pmap_axis_names


@pmap_p.def_abstract_eval
def _pmap_abstract_eval(*avals, closed, name, axis_name, devices, mapped):
    n = len(devices)
    return [ShapedArray((n,) + a.shape, a.dtype, a.weak_type) for a in closed.out_avals]


def _replica_executable(closed, name, axis_name, devices, mapped):
    """The replica program for ``closed`` (split inputs and outputs with a leading axis of
    1 per device), compiled for ``devices``; cached per IR and devices."""
    n = len(devices)

    def make():
        def per_replica(*xs):
            xs = [reshape(x, get_aval(x).shape[1:]) if m else x for x, m in zip(xs, mapped)]
            outs = eval_ir(closed.ir, closed.consts, xs)
            return [reshape(o, (1,) + tuple(get_aval(o).shape)) for o in outs]
        in_avals = [ShapedArray((1,) + a.shape, a.dtype, a.weak_type) if m else a
                    for a, m in zip(closed.in_avals, mapped)]
        replica = trace_to_ir(per_replica, in_avals, f"pmap({name})", axis_name=axis_name,
                              axis_size=n)
        axes = {axis_name: n} if axis_name is not None else {}
        if not axes:
            axes = {("pmap", name): n}      # no collectives can name it; n replicas all the same
        lowered = lowering.lower_ir(replica, name, platform=xla.device_platform(devices[0]),
                                    replica_axes=axes)
        return xla.compile_replicated(lowered.text, list(devices), name), lowered.const_args
    return executables.get_or((id(closed), "pmap", devices, mapped), closed, make)


@pmap_p.def_impl
def _pmap_impl(*vals, closed, name, axis_name, devices, mapped):
    exe, const_args = _replica_executable(closed, name, axis_name, devices, mapped)
    devs = list(devices)
    bufs = [xla.device_put_replicated(np.asarray(c), devs) for c in const_args]
    for v, m, a in zip(vals, mapped, closed.in_avals):
        v = np.asarray(v, a.dtype)
        bufs.append(xla.device_put_split(v, devs) if m else xla.device_put_replicated(v, devs))
    return [np.concatenate(parts, axis=0) for parts in xla.execute_replicated(exe, bufs)]


def _pmap_lower(ctx, *args, name, **params):
    raise NotImplementedError(
        f"pmap({name}) inside jit: one XLA program cannot hold another's replicas. Call the "
        "pmap outside jit (jit inside the pmapped function is fine).")


pmap_p.lower = _pmap_lower


# --- autodiff: the per-device function linearized (jit_call's partial evaluation) -------------


def _pmap_jvp(primals, tangents, *, closed, name, axis_name, devices, mapped):
    params = dict(name=name, axis_name=axis_name, devices=devices)
    nonzeros = tuple(type(t) is not Zero for t in tangents)

    def zero(i):       # an output's zero tangent, stacked over the devices
        t = tangent_aval(closed.out_avals[i])
        return Zero(t.update(shape=(len(devices),) + t.shape))
    if not any(nonzeros):
        outs = bind(pmap_p, *primals, closed=closed, mapped=mapped, **params)
        return outs, [zero(i) for i in range(len(outs))]
    lin = linearized("pmap_linearize", closed, nonzeros, f"linearize(pmap({name}))")
    nk = len(lin.known_consts)
    outs = bind(pmap_p, *lin.known_consts, *primals, closed=lin.known,
                mapped=(False,) * nk + mapped, **params)
    n_out = len(closed.out_avals)
    primals_out, residuals = outs[:n_out], outs[n_out:]
    tangents_out = []
    if any(lin.out_nonzeros):
        nz_mapped = tuple(m for m, nz in zip(mapped, nonzeros) if nz)
        lin_mapped = (False,) * len(lin.linear_consts) + (True,) * len(residuals) + nz_mapped
        tangents_out = bind(pmap_p, *lin.linear_consts, *residuals,
                            *[t for t in tangents if type(t) is not Zero],
                            closed=lin.linear, mapped=lin_mapped, **params)
    return primals_out, scatter(lin.out_nonzeros, tangents_out, zero)


pmap_p.jvp = _pmap_jvp


def _pmap_transpose(cts, *args, closed, name, axis_name, devices, mapped):
    linear, ct_nonzeros, known, nz_cts = call_transpose_inputs(args, cts)
    t = transposed("pmap_transpose", closed, linear, ct_nonzeros, f"transpose(pmap({name}))")
    outs = []
    if any(t.ct_nonzeros):
        known_mapped = tuple(m for m, lin in zip(mapped, linear) if not lin)
        t_mapped = (False,) * len(t.consts) + known_mapped + (True,) * len(nz_cts)
        outs = bind(pmap_p, *t.consts, *known, *nz_cts, closed=t.closed,
                    name=f"transpose_{name}", axis_name=axis_name, devices=devices,
                    mapped=t_mapped)
    cts_in = iter(scatter(t.ct_nonzeros, outs, lambda i: None))
    result = []
    for lin, m in zip(linear, mapped):
        ct = next(cts_in) if lin else None     # per device, stacked
        # a replicated input fed every device: its cotangent is the sum over them
        result.append(ct if ct is None or m else reduce_sum(ct, (0,)))
    return result


pmap_p.transpose = _pmap_transpose


# --- vmap of a pmap: a pmap of the per-device function vmapped ------------------------------


def _pmap_batch(args, bdims, *, closed, name, axis_name, devices, mapped):
    size = batch_size(args, bdims)
    # per device, a mapped input's batch axis is at 0 (axis 1 of the stacked operand)
    new_args, dev_bdims = [], []
    for x, d, m in zip(args, bdims, mapped):
        if d is None:
            new_args.append(x)
            dev_bdims.append(None)
        elif m:
            new_args.append(moveaxis(x, d, 1))
            dev_bdims.append(0)
        else:
            new_args.append(moveaxis(x, d, 0))
            dev_bdims.append(0)
    b = batched("pmap_batch", closed, size, dev_bdims, f"vmap(pmap({name}))")
    outs = bind(pmap_p, *b.consts, *new_args, closed=b.closed, name=name, axis_name=axis_name,
                devices=devices, mapped=(False,) * len(b.consts) + tuple(mapped))
    return outs, [1] * len(outs)


pmap_p.batch = _pmap_batch
