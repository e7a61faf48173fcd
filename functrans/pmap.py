"""``pmap``: one copy of a function per device, run in parallel, with collectives
across the devices (data parallelism over XLA's collectives).

``pmap(f, axis_name="i")(xs)`` runs ``f`` on ``xs[k]`` on device ``k`` (as
``vmap`` would run it on example ``k``); inside ``f``, ``lax.psum(x, "i")``,
``pmean``, ``pmax``, ``pmin``, ``all_gather`` and ``axis_index`` act across the
devices. How:

1. The per-device function is traced to one IR (``trace_to_ir`` with the axis
   name, so collectives are staged as equations instead of raising). Each
   mapped input and each output carries a leading axis of 1 in the program, so
   that the whole input array is one buffer split across the devices.
2. ``lower_ir(..., replica_axes={name: n})`` writes a replica-mode module
   (``mhlo.num_replicas = n``); the collectives lower to cross-replica
   ``all_reduce`` / ``all_gather`` / ``replica_id``.
3. ``xla.compile_replicated`` compiles it for ``n`` devices (replica ``k`` on
   device ``k``), cached per input signature; a call splits the mapped inputs
   across the devices, copies the others to each, runs, and stacks each
   output's per-device results on the host.

Transformations go inside: ``pmap(jit(vmap(grad(f))))`` works (the per-device
function is traced like jit traces), a pmap inside ``grad``/``vmap``/``jit`` is
an error for now. Results come back as host arrays (eager mode's), stacked
along ``out_axes``. On a CPU-only machine, several devices come from
``XLA_FLAGS=--xla_force_host_platform_device_count=N``, set before jax starts.
"""

from __future__ import annotations

import functools

import numpy as np

from . import tree_util
from .array import _new_array
from .config import config
from .core import ShapedArray, Tracer, check_output, get_aval, input_aval
from .errors import api_boundary
from .interpreters import lowering, xla
from .interpreters.tracing import trace_to_ir

__all__ = ["pmap"]

_CACHE_SIZE = 64


def pmap(fun, axis_name=None, *, in_axes=0, out_axes=0, devices=None):
    """Runs ``fun`` once per device in parallel, over the leading (``in_axes``) axis of
    its inputs, with collectives over ``axis_name`` across the devices.

    Args:
      fun: a function of arrays (or pytrees of arrays), written per device.
      axis_name: the name collectives in ``fun`` use (``lax.psum(x, axis_name)``...).
      in_axes: as ``vmap``'s: an int (the mapped axis) or None (the same value on every
        device) per argument, or a prefix pytree of the arguments' tuple.
      out_axes: where the device axis goes in each output (an int, or a prefix pytree
        of ints; None is not supported).
      devices: the devices to use (default: the first ``n`` of ``ft.devices()``, ``n`` the
        size of the mapped axis).

    Returns:
      The parallel function; its outputs are host arrays with the per-device results
      stacked along ``out_axes``.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> from functrans import lax
        >>> n = 1  # len(ft.devices()) devices at most
        >>> ft.pmap(lambda x: x / lax.psum(x, "d"), "d")(fnp.ones((n, 3))).shape
        (1, 3)
    """
    from .api import _as_values, _broadcast_prefix, _check_axis_spec, _leaf_path
    name = getattr(fun, "__name__", "fun")
    what = f"pmap({name})"
    if axis_name is not None:
        try:
            hash(axis_name)
        except TypeError:
            raise TypeError(f"{what}: axis_name must be hashable (a string), got "
                            f"{axis_name!r}") from None
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    cache: dict = {}

    @functools.wraps(fun)
    @api_boundary
    def parallel(*args, **kwargs):
        if kwargs:
            raise TypeError(f"{what}: keyword arguments are not mapped and not supported; "
                            "pass them positionally (with in_axes=None to replicate them)")
        axes_prefix = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"{what}: in_axes has {len(in_axes)} entries for {len(args)} "
                             "positional arguments; give one entry per argument")
        flat, in_tree = tree_util.tree_flatten(args)
        flat = _as_values(flat, what)
        if any(isinstance(x, Tracer) for x in flat):
            raise NotImplementedError(
                f"{what} was called inside another transformation (grad, vmap, jit); pmap "
                "must be the outermost one for now. Put the transformations inside it: "
                "pmap(jit(grad(f))) works.")
        flat_axes = _broadcast_prefix(axes_prefix, args, f"{what}: in_axes does not match "
                                                         "the arguments")
        values, mapped, sizes, avals = [], [], [], []
        for i, (x, ax) in enumerate(zip(flat, flat_axes)):
            _check_axis_spec(ax, "in_axes")
            a = input_aval(what, x, i)
            v = np.asarray(x, a.dtype)
            if ax is None:
                values.append(v)
                mapped.append(False)
                avals.append(a)
                continue
            if not -v.ndim <= ax < v.ndim:
                raise ValueError(f"{what}: in_axes={ax} is out of range for argument "
                                 f"args{_leaf_path(args, i)} of shape {v.shape}")
            ax %= v.ndim
            values.append(np.moveaxis(v, ax, 0))
            mapped.append(True)
            sizes.append((i, v.shape[ax]))
            avals.append(ShapedArray(a.shape[:ax] + a.shape[ax + 1:], a.dtype, a.weak_type))
        if not sizes:
            raise ValueError(f"{what}: no argument is mapped (all in_axes are None), so the "
                             "number of devices is unknown")
        n = sizes[0][1]
        if any(s != n for _, s in sizes):
            listed = "; ".join(f"args{_leaf_path(args, i)} has size {s}" for i, s in sizes)
            raise ValueError(f"{what} got inconsistent sizes for the mapped axes: {listed}")
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
        devs = devs[:n]
        key = (in_tree, tuple(avals), tuple(mapped), tuple(d.id for d in devs),
               config.enable_x64)
        entry = cache.get(key)
        if entry is None:
            entry = _compile(fun, what, name, in_tree, avals, mapped, axis_name, devs)
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[key] = entry
        exe, out_tree, const_args, out_avals = entry
        bufs = [xla.device_put_replicated(np.asarray(c), devs) for c in const_args]
        for v, m in zip(values, mapped):
            bufs.append(xla.device_put_split(v, devs) if m else
                        xla.device_put_replicated(v, devs))
        per_output = xla.execute_replicated(exe, bufs)
        outs = [np.concatenate(parts, axis=0) for parts in per_output]
        out_struct = tree_util.tree_unflatten(out_tree, [0] * len(outs))
        dsts = _broadcast_prefix(out_axes, out_struct,
                                 f"{what}: out_axes does not match the output")
        results = []
        for i, (o, dst, a) in enumerate(zip(outs, dsts, out_avals)):
            if dst is None:
                raise ValueError(f"{what}: out_axes=None is not supported (output {i}); "
                                 "every output is stacked over the devices")
            _check_axis_spec(dst, "out_axes")
            if not -o.ndim <= dst < o.ndim:
                raise ValueError(f"{what}: out_axes={dst} is out of range for output {i} of "
                                 f"rank {o.ndim - 1}")
            results.append(_new_array(np.moveaxis(o, 0, dst % o.ndim), a.weak_type))
        return tree_util.tree_unflatten(out_tree, results)

    return parallel


def _compile(fun, what, name, in_tree, avals, mapped, axis_name, devs):
    """Traces the per-device function (mapped inputs and outputs with a leading 1) and
    compiles it for the devices; returns (executable, out_tree, const_args, out_avals)."""
    from .primitives.shape import reshape
    box = []

    def per_device(*flat):
        xs = [reshape(x, get_aval(x).shape[1:]) if m else x for x, m in zip(flat, mapped)]
        out = fun(*tree_util.tree_unflatten(in_tree, xs))
        out_flat, out_tree = tree_util.tree_flatten(out)
        box.append(out_tree)
        res = []
        for i, o in enumerate(out_flat):
            check_output(what, o, i)
            res.append(reshape(o, (1,) + tuple(get_aval(o).shape)))
        return res

    in_avals = [ShapedArray((1,) + a.shape, a.dtype, a.weak_type) if m else a
                for a, m in zip(avals, mapped)]
    n = len(devs)
    closed = trace_to_ir(per_device, in_avals, what, axis_name=axis_name, axis_size=n)
    replica_axes = {axis_name: n} if axis_name is not None else {"_pmap": n}
    lowered = lowering.lower_ir(closed, name, platform=xla.device_platform(devs[0]),
                                replica_axes=replica_axes)
    exe = xla.compile_replicated(lowered.text, devs, name)
    out_avals = [ShapedArray(a.shape[1:], a.dtype, a.weak_type) for a in closed.out_avals]
    return exe, box[0], list(lowered.const_args), out_avals
