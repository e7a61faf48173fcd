"""User-facing transformations, built from the interpreters.

For now: :func:`make_ir`, which shows the IR a function traces to. grad,
vjp, jvp, vmap and jit join here as their interpreters land.
"""

from __future__ import annotations

import functools

from . import tree_util
from .core import get_aval
from .errors import api_boundary
from .interpreters.tracing import trace_to_ir
from .ir import ClosedIR


def _static_args(fun_name, args, kwargs, static_argnums, static_argnames):
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    for i in static_argnums:
        if not -len(args) <= i < len(args):
            raise ValueError(f"{fun_name}: static_argnums {static_argnums} is out of range for "
                             f"{len(args)} positional arguments")
    static_argnums = {i % len(args) for i in static_argnums}
    static_argnames = {static_argnames} if isinstance(static_argnames, str) else set(static_argnames)
    dyn_args = [a for i, a in enumerate(args) if i not in static_argnums]
    dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_argnames}

    def call(fun, new_dyn_args, new_dyn_kwargs):
        it = iter(new_dyn_args)
        full = [a if i in static_argnums else next(it) for i, a in enumerate(args)]
        kw = {k: (v if k in static_argnames else new_dyn_kwargs[k]) for k, v in kwargs.items()}
        return fun(*full, **kw)

    return dyn_args, dyn_kwargs, call


def make_ir(fun, *, static_argnums=(), static_argnames=(), return_shape=False):
    """Returns a function that traces ``fun`` and returns its IR (a ClosedIR).

    Args:
      fun: a function of arrays (or pytrees of arrays) returning arrays.
      static_argnums, static_argnames: arguments passed through as Python
        values instead of being traced.
      return_shape: also return the output's pytree of ShapedArrays.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> print(ft.make_ir(lambda x: fnp.sin(x) * 2.0)(fnp.ones(3)))
        { lambda  ; a:f32[3]. let
            b:f32[3] = sin a
            c:f32[3] = mul b 2.0
          in (c,) }
    """
    name = getattr(fun, "__name__", "fun")

    @api_boundary
    @functools.wraps(fun)
    def ir_maker(*args, **kwargs):
        dyn_args, dyn_kwargs, call = _static_args("make_ir", args, kwargs, static_argnums,
                                                  static_argnames)
        flat, in_tree = tree_util.tree_flatten((dyn_args, dyn_kwargs))
        in_avals = [_arg_aval(x, i) for i, x in enumerate(flat)]
        out_tree_box = []

        def flat_fun(*tracers):
            a, kw = tree_util.tree_unflatten(in_tree, tracers)
            out = call(fun, a, kw)
            out_flat, out_tree = tree_util.tree_flatten(out)
            out_tree_box.append(out_tree)
            return out_flat

        closed = trace_to_ir(flat_fun, in_avals, what=f"make_ir({name})")
        if return_shape:
            shapes = tree_util.tree_unflatten(out_tree_box[0], closed.out_avals)
            return closed, shapes
        return closed

    return ir_maker


def _arg_aval(x, i):
    try:
        return get_aval(x)
    except TypeError:
        raise TypeError(f"argument {i} of type {type(x).__name__} is not an array or a Python "
                        "scalar; pass it as a static argument (static_argnums) if it is a "
                        "configuration value") from None


__all__ = ["make_ir", "ClosedIR"]
