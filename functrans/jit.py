"""``jit``: trace a function to the IR, lower it to StableHLO, compile and run it with XLA.

(First cut: trace, lower, compile and execute on every call's cache key.
The cache key, dispatch fast path, donation, AOT objects, devices and the
``jit_call`` primitive are built on top of this.)
"""

from __future__ import annotations

import functools

import numpy as np

from . import tree_util
from .array import _new_array
from .core import get_aval
from .errors import api_boundary
from .interpreters import lowering, xla
from .interpreters.tracing import trace_to_ir


def _to_buffer(x, device):
    return xla.device_put(np.asarray(x), device)


def jit(fun):
    """Compiles ``fun`` with XLA (first cut, see the module docstring)."""
    name = getattr(fun, "__name__", "fun")
    cache = {}

    @functools.wraps(fun)
    @api_boundary
    def jitted(*args):
        flat, in_tree = tree_util.tree_flatten(args)
        avals = [get_aval(x) for x in flat]
        key = (in_tree, tuple(avals))
        entry = cache.get(key)
        if entry is None:
            out_tree_box = []

            def flat_fun(*xs):
                out = fun(*tree_util.tree_unflatten(in_tree, xs))
                out_flat, out_tree = tree_util.tree_flatten(out)
                out_tree_box.append(out_tree)
                return out_flat

            closed = trace_to_ir(flat_fun, avals, f"jit({name})")
            lowered = lowering.lower_ir(closed, name)
            device = xla.default_device()
            exe = xla.compile(lowered.text, device, name)
            consts = [_to_buffer(c, device) for c in lowered.const_args]
            entry = cache[key] = (exe, consts, out_tree_box[0], lowered, device)
        exe, consts, out_tree, lowered, device = entry
        bufs = consts + [_to_buffer(x, device) for x in flat]
        outs = xla.execute(exe, bufs)
        vals = [_new_array(xla.to_numpy(o), a.weak_type) for o, a in zip(outs, lowered.out_avals)]
        return tree_util.tree_unflatten(out_tree, vals)

    return jitted
