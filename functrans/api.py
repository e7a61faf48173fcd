"""User-facing transformations, built from the interpreters.

:func:`make_ir` shows the IR a function traces to; :func:`jvp`,
:func:`linearize`, :func:`vjp`, :func:`grad`, :func:`value_and_grad`,
:func:`jacfwd`, :func:`jacrev` and :func:`hessian` differentiate (forward mode
in ``interpreters/jvp.py``, reverse mode as linearize + transpose in
``interpreters/reverse.py``). vmap and jit join here as their interpreters land.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Optional

from . import tree_util
from .core import Tracer, check_output, get_aval, input_aval
from .errors import api_boundary
from .interpreters.jvp import check_differentiable_input, instantiate, is_zero, jvp_flat
from .interpreters.reverse import linearize_flat, vjp_flat
from .interpreters.batching import vmap_flat
from .interpreters.tracing import arg_leaf_names, trace_to_ir
from .ir import ClosedIR, eval_ir
from .primitives._rules import scalar_constant
from .primitives.elementwise import convert_element_type


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


_STATIC_HINT = ("; pass it as a static argument (static_argnums) if it is a configuration "
                "value")


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
        { lambda ; a:f32[3]. let
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
        in_avals = [input_aval(f"make_ir({name})", x, i, _STATIC_HINT)
                    for i, x in enumerate(flat)]
        out_tree_box = []

        def flat_fun(*tracers):
            a, kw = tree_util.tree_unflatten(in_tree, tracers)
            out = call(fun, a, kw)
            out_flat, out_tree = tree_util.tree_flatten(out)
            out_tree_box.append(out_tree)
            return out_flat

        def names():
            nums = (static_argnums,) if isinstance(static_argnums, int) else static_argnums
            return arg_leaf_names(fun, dyn_args, dyn_kwargs, {i % len(args) for i in nums})

        closed = trace_to_ir(flat_fun, in_avals, what=f"make_ir({name})", arg_names=names)
        if return_shape:
            shapes = tree_util.tree_unflatten(out_tree_box[0], closed.out_avals)
            return closed, shapes
        return closed

    return ir_maker


# --- automatic differentiation ---------------------------------------------------------------


def _flat_fun(fun, in_tree, out_tree_box):
    def flat_fun(*flat_args):
        out = fun(*tree_util.tree_unflatten(in_tree, flat_args))
        out_flat, out_tree = tree_util.tree_flatten(out)
        out_tree_box.append(out_tree)
        for i, o in enumerate(out_flat):
            check_output("the differentiated function", o, i)
        return out_flat
    return flat_fun


def _as_values(flat, what):
    from . import numpy as fnp
    out = []
    for i, x in enumerate(flat):
        input_aval(what, x, i)
        out.append(x if isinstance(x, Tracer) else fnp.asarray(x))
    return out


# --- weak types of derivatives -----------------------------------------------------------
#
# JAX's tangents and cotangents carry weak types, set by its numpy layer's
# conversions; these two helpers give functrans's results the weak types JAX's
# jax.numpy-level code gets (``grad(f)(1.0)`` is a weakly typed float32).


def _set_weak(x, weak: bool):
    aval = get_aval(x)
    return x if aval.weak_type == weak else convert_element_type(x, aval.dtype, weak)


def _out_tangents(touts, outs, keep):
    """jvp and linearize: an output tangent is weakly typed where its primal output
    is; an input tangent returned as it is (``keep``: an identity) is left alone."""
    keep = {id(k) for k in keep}
    return [t if id(t) in keep else _set_weak(instantiate(t), get_aval(o).weak_type)
            for t, o in zip(touts, outs)]


def _in_cotangents(cts_in, primals, cts_weak: bool, keep=()):
    """vjp and grad: an input cotangent is weakly typed where its primal input is,
    unless a strong cotangent came back through a weakly typed output (``cts_weak``
    False); a zero cotangent is zeros of the primal's type. A cotangent returned as
    it is (``keep``: an identity) is left alone."""
    keep = {id(k) for k in keep}
    out = []
    for c, p in zip(cts_in, primals):
        if id(c) not in keep:
            c = _set_weak(instantiate(c), get_aval(p).weak_type and (cts_weak or is_zero(c)))
        out.append(c)
    return out


def _cts_weak(cts, outs) -> bool:
    """Whether every given cotangent of a weakly typed output is weakly typed."""
    return all(get_aval(c).weak_type for c, o in zip(cts, outs)
               if c is not None and get_aval(o).weak_type)


@api_boundary
def jvp(fun, primals, tangents, has_aux=False):
    """Forward mode: the value of ``fun(*primals)`` and its directional derivative.

    Args:
      fun: a function of arrays (pytrees of arrays) returning arrays.
      primals: a tuple or list of arguments.
      tangents: a tuple or list of tangents, with the same structure, shapes and
        dtypes as ``primals``.
      has_aux: ``fun`` returns ``(output, aux)``; aux is returned as is.

    Returns:
      ``(primals_out, tangents_out)`` (and ``aux`` when has_aux).

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> y, dy = ft.jvp(fnp.sin, (fnp.asarray(0.0),), (fnp.asarray(2.0),))
        >>> float(dy)
        2.0
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists of arguments, got "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    flat_p, tree_p = tree_util.tree_flatten(tuple(primals))
    flat_t, tree_t = tree_util.tree_flatten(tuple(tangents))
    if tree_p != tree_t:
        raise ValueError(f"jvp: primals and tangents must have the same tree structure, got "
                         f"{tree_p} and {tree_t}")
    flat_p, flat_t = _as_values(flat_p, "jvp"), _as_values(flat_t, "jvp")
    for i, (p, t) in enumerate(zip(flat_p, flat_t)):
        pa, ta = get_aval(p), get_aval(t)
        if pa.shape != ta.shape or pa.dtype != ta.dtype:
            raise ValueError(f"jvp: tangent {i} has type {ta.str_short()} but its primal has "
                             f"type {pa.str_short()}; tangents must match their primals' shapes "
                             "and dtypes")
    box = []
    fun_ = (lambda *a: _pair(fun(*a), "jvp")) if has_aux else fun
    outs, touts = jvp_flat(_flat_fun(fun_, tree_p, box), flat_p, flat_t)
    touts = _out_tangents(touts, outs, flat_t)
    out_tree = box[0]
    if has_aux:
        (out, aux), (tout, _) = (tree_util.tree_unflatten(out_tree, outs),
                                 tree_util.tree_unflatten(out_tree, touts))
        return out, tout, aux
    return tree_util.tree_unflatten(out_tree, outs), tree_util.tree_unflatten(out_tree, touts)


def _pair(out, what):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{what} with has_aux=True: the function must return a pair "
                        f"(output, aux), got {type(out).__name__}"
                        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    return tuple(out)


@api_boundary
def linearize(fun, *primals):
    """The value of ``fun(*primals)`` and its linear map ``f_jvp(*tangents)``.

    ``ft.make_ir(f_jvp)(*tangents)`` shows the linear IR reverse mode transposes.
    """
    flat_p, in_tree = tree_util.tree_flatten(primals)
    flat_p = _as_values(flat_p, "linearize")
    box = []
    outs, linear = linearize_flat(_flat_fun(fun, in_tree, box), flat_p)
    out_tree = box[0]

    def f_jvp(*tangents):
        flat_t, t_tree = tree_util.tree_flatten(tangents)
        if t_tree != in_tree:
            raise ValueError(f"linearize: tangents must have the structure of the primals "
                             f"({in_tree}), got {t_tree}")
        out_t = _out_tangents(eval_ir(linear.ir, linear.consts, flat_t), outs, flat_t)
        return tree_util.tree_unflatten(out_tree, out_t)

    f_jvp.linear_ir = linear
    return tree_util.tree_unflatten(out_tree, outs), f_jvp


@api_boundary
def vjp(fun, *primals, has_aux=False):
    """Reverse mode: ``fun(*primals)`` and a function pulling cotangents back.

    Returns:
      ``(out, f_vjp)`` (and ``aux`` when has_aux); ``f_vjp(ct)`` takes a
      cotangent shaped like ``out`` and returns a tuple of cotangents, one per
      primal. ``ft.make_ir(f_vjp)(ct)`` shows the transposed IR.
    """
    flat_p, in_tree = tree_util.tree_flatten(primals)
    flat_p = _as_values(flat_p, "vjp")
    out, outs, n_main, main_tree, f_vjp_flat, linear, aux = _vjp(fun, flat_p, in_tree, has_aux)

    def f_vjp(ct):
        flat_ct, ct_tree = tree_util.tree_flatten(ct)
        if ct_tree != main_tree:
            raise ValueError(f"vjp: the cotangent must have the structure of the output "
                             f"({main_tree}), got {ct_tree}")
        for i, (c, o) in enumerate(zip(flat_ct, outs)):
            ca, oa = get_aval(c), get_aval(o)
            if ca.shape != oa.shape:
                raise ValueError(f"vjp: cotangent {i} has shape {ca.shape} but the output has "
                                 f"shape {oa.shape}")
        cts = list(flat_ct) + [None] * (len(outs) - n_main)
        cts_in = _in_cotangents(f_vjp_flat(cts), flat_p, _cts_weak(flat_ct, outs), flat_ct)
        return tree_util.tree_unflatten(in_tree, cts_in)

    f_vjp.linear_ir = linear
    return (out, f_vjp, aux) if has_aux else (out, f_vjp)


def _vjp(fun, flat_p, in_tree, has_aux):
    """vjp of ``fun`` at checked flat primals: ``(out, flat outputs, number of
    main outputs, their tree, flat f_vjp, linear IR, aux)``."""
    box = []
    fun_ = (lambda *a: _pair(fun(*a), "vjp")) if has_aux else fun
    outs, f_vjp_flat, linear = vjp_flat(_flat_fun(fun_, in_tree, box), flat_p)
    out_tree = box[0]
    aux = None
    if has_aux:
        out, aux = tree_util.tree_unflatten(out_tree, outs)
        main_tree = tree_util.tree_structure(out)
        n_main = main_tree.num_leaves
    else:
        out = tree_util.tree_unflatten(out_tree, outs)
        main_tree, n_main = out_tree, len(outs)
    return out, outs, n_main, main_tree, f_vjp_flat, linear, aux


def _argnums_tuple(fun_name, argnums, nargs):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{fun_name}: argnums {argnums} is out of range for a function "
                             f"called with {nargs} positional arguments")
    return tuple(a % nargs for a in nums)


def _split_args(fun, args, kwargs, nums):
    """``f(*diff_args)`` closing over the other arguments and the keyword arguments."""
    def f(*diff):
        full = list(args)
        for i, d in zip(nums, diff):
            full[i] = d
        return fun(*full, **kwargs)
    return f, [args[i] for i in nums]


def _diff_inputs(fun_name, diff_args, holomorphic=False):
    """The flat leaves of the differentiated arguments, checked, and their tree."""
    from . import dtypes
    flat, tree = tree_util.tree_flatten(diff_args)
    flat = _as_values(flat, fun_name)
    for i, a in enumerate(flat):
        aval = get_aval(a)
        if holomorphic:
            if not dtypes.is_complex(aval.dtype):
                raise TypeError(f"{fun_name} with holomorphic=True requires complex inputs, but "
                                f"input leaf {i} is {aval.str_short()}")
        else:
            check_differentiable_input(fun_name, aval, i)
    return flat, tree


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """Returns a function computing ``fun``'s value and its gradient.

    ``fun`` must return a real scalar (or a complex one with holomorphic=True);
    the gradient has the structure of the differentiated arguments. For a
    real-valued function of complex inputs z = x + iy the gradient follows
    JAX's convention, df/dx - i df/dy (so ``grad(lambda z: abs(z) ** 2)(z)`` is
    ``2 * conj(z)``). Each gradient has its argument's dtype and weak type (a
    Python float gives a weakly typed float32, as in JAX).

    As in JAX, ``fun`` may use Python control flow on values (``if x > 0``,
    ``while``, ``int(x)``, ``x.item()``): the values are known while it is
    differentiated, unless it is also staged out (under jit, make_ir, vmap or
    in a lax.cond/while_loop/scan body).

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> value, g = ft.value_and_grad(lambda x: fnp.sum(x ** 2))(fnp.asarray([1.0, 2.0]))
        >>> float(value), g.tolist()
        (5.0, [2.0, 4.0])
    """
    name = getattr(fun, "__name__", "fun")

    @functools.wraps(fun)  # (its signature names the arguments in error messages)
    @api_boundary
    def value_and_grad_f(*args, **kwargs):
        nums = _argnums_tuple("grad", argnums, len(args))
        f, diff_args = _split_args(fun, args, kwargs, nums)
        flat_p, in_tree = _diff_inputs("grad", diff_args, holomorphic)
        out, outs, n_main, _, f_vjp_flat, _, aux = _vjp(f, flat_p, in_tree, has_aux)
        aval = _scalar_output_aval(out, name, holomorphic)
        # The seed cotangent 1, then None for the aux outputs (they get none).
        cts = [scalar_constant(1, aval.dtype, aval.weak_type)] + [None] * (len(outs) - n_main)
        g = tree_util.tree_unflatten(in_tree, _in_cotangents(f_vjp_flat(cts), flat_p, True))
        g = g[0] if isinstance(argnums, int) else tuple(g)
        if has_aux:
            return (out, aux), g
        return out, g

    return value_and_grad_f


def _scalar_output_aval(out, name, holomorphic):
    from . import dtypes
    leaves = tree_util.tree_leaves(out)
    if len(leaves) != 1 or get_aval(leaves[0]).shape != ():
        shapes = [get_aval(x).str_short() for x in leaves]
        raise TypeError(f"grad requires a function returning a scalar, but {name} returned "
                        f"{shapes if len(shapes) != 1 else shapes[0]}. For non-scalar outputs "
                        "use ft.vjp (a vector-Jacobian product) or ft.jacrev (the Jacobian).")
    aval = get_aval(leaves[0])
    if holomorphic:
        if not dtypes.is_complex(aval.dtype):
            raise TypeError(f"grad with holomorphic=True requires a complex output, got "
                            f"{aval.str_short()}")
    elif not dtypes.is_float(aval.dtype):
        raise TypeError(f"grad requires a real-valued (float) output, but {name} returned "
                        f"{aval.str_short()}. For complex outputs use holomorphic=True or "
                        "ft.vjp; integer outputs have no gradient.")
    return aval


def grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """Returns a function computing the gradient of scalar-valued ``fun``.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> float(ft.grad(lambda x: x ** 3)(2.0))
        12.0
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic)

    @functools.wraps(fun)
    @api_boundary
    def grad_f(*args, **kwargs):
        (out, g) = vg(*args, **kwargs)
        if has_aux:
            return g, out[1]
        return g

    return grad_f


def _std_basis(x):
    """The standard basis of ``x``'s space as one batch: shape ``(x.size, *x.shape)``
    in ``x``'s dtype and weak type (row i is the i-th unit array)."""
    import numpy as np
    from . import numpy as fnp
    aval = get_aval(x)
    basis = fnp.asarray(np.eye(aval.size, dtype=aval.dtype).reshape((aval.size,) + aval.shape))
    return _set_weak(basis, aval.weak_type)


def jacfwd(fun, argnums=0, has_aux=False):
    """The Jacobian by forward mode: ``vmap`` of ``jvp`` over the standard basis
    of each input leaf.

    The result has shape ``out.shape + in.shape`` (per argument for tuple
    argnums, per leaf for pytrees: the output's tree of the inputs' trees).
    The primal output is computed unbatched; only tangents carry the batch.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> ft.jacfwd(lambda x: x ** 2)(fnp.asarray([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    @api_boundary
    def jac(*args):
        from . import numpy as fnp
        nums = _argnums_tuple("jacfwd", argnums, len(args))
        f, diff_args = _split_args(fun, args, {}, nums)
        flat, tree = _diff_inputs("jacfwd", tuple(diff_args))
        primals = tree_util.tree_unflatten(tree, flat)
        zeros = [_set_weak(fnp.zeros_like(x), get_aval(x).weak_type) for x in flat]
        out = aux = None
        results = []  # per input leaf: a tree shaped like the output
        for j, x in enumerate(flat):
            if get_aval(x).size == 0:  # no basis vector: its block is empty
                results.append(None)
                continue

            def push(t, j=j):
                tangents = zeros[:j] + [t] + zeros[j + 1:]
                return jvp(f, primals, tree_util.tree_unflatten(tree, tangents), has_aux=has_aux)

            # the basis axis goes last: out.shape + (x.size,), reshaped to out.shape + x.shape
            res = vmap(push, out_axes=(None, -1, None) if has_aux else (None, -1))(_std_basis(x))
            out, aux = res[0], (res[2] if has_aux else None)
            results.append(tree_util.tree_map(
                lambda o, t, x=x: fnp.reshape(t, tuple(get_aval(o).shape) + tuple(x.shape)),
                out, res[1]))
        if out is None:  # every leaf is empty: no jvp ran to give the output
            out, aux = f(*primals) if has_aux else (f(*primals), None)
        out_leaves, out_tree = tree_util.tree_flatten(out)
        # cols[j][k]: the block d out_k / d x_j, of shape out_k.shape + x_j.shape
        cols = [tree_util.tree_leaves(r) if r is not None else
                [fnp.zeros(tuple(get_aval(o).shape) + tuple(x.shape), get_aval(o).dtype)
                 for o in out_leaves] for r, x in zip(results, flat)]
        # the output's tree of the inputs' trees, as jacrev and JAX give it
        blocks = []
        for k in range(len(out_leaves)):
            per_in = tree_util.tree_unflatten(tree, [c[k] for c in cols])
            blocks.append(per_in[0] if isinstance(argnums, int) else per_in)
        jac_out = tree_util.tree_unflatten(out_tree, blocks)
        return (jac_out, aux) if has_aux else jac_out

    return jac


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian by reverse mode: one ``vjp``, then ``vmap`` of its pullback over
    the standard basis of each output leaf.

    The result has shape ``out.shape + in.shape`` (per argument for tuple
    argnums, per leaf for pytrees: the output's tree of the inputs' trees).

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> ft.jacrev(lambda x: x ** 2)(fnp.asarray([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    @api_boundary
    def jac(*args):
        from . import numpy as fnp
        nums = _argnums_tuple("jacrev", argnums, len(args))
        f, diff_args = _split_args(fun, args, {}, nums)
        _diff_inputs("jacrev", diff_args, holomorphic)
        res = vjp(f, *diff_args, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        out_leaves, out_tree = tree_util.tree_flatten(out)
        in_leaves = tree_util.tree_leaves(tuple(diff_args))
        in_struct = tree_util.tree_structure(tuple(diff_args))
        zeros = [_set_weak(fnp.zeros_like(o), get_aval(o).weak_type) for o in out_leaves]
        blocks = []  # per output leaf: a tree shaped like the differentiated arguments
        for k, o in enumerate(out_leaves):
            o_shape = tuple(get_aval(o).shape)
            if get_aval(o).size == 0:
                cts_in = [fnp.zeros(o_shape + tuple(get_aval(x).shape), get_aval(x).dtype)
                          for x in in_leaves]
            else:
                def pull(ct, k=k):
                    cts = zeros[:k] + [ct] + zeros[k + 1:]
                    return f_vjp(tree_util.tree_unflatten(out_tree, cts))

                # (o.size, *x.shape) per input leaf, reshaped to o.shape + x.shape
                rows = tree_util.tree_leaves(vmap(pull)(_std_basis(o)))
                cts_in = [fnp.reshape(r, o_shape + tuple(get_aval(x).shape))
                          for r, x in zip(rows, in_leaves)]
            per_in = tree_util.tree_unflatten(in_struct, cts_in)
            blocks.append(per_in[0] if isinstance(argnums, int) else per_in)
        jac_out = tree_util.tree_unflatten(out_tree, blocks)
        return (jac_out, res[2]) if has_aux else jac_out

    return jac


def hessian(fun, argnums=0, has_aux=False):
    """The Hessian of scalar-valued ``fun``: ``jacfwd(jacrev(fun))``."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux), argnums, has_aux=has_aux)


# --- batching ----------------------------------------------------------------------------------


def _broadcast_prefix(prefix, tree, what: str) -> list:
    """One entry of ``prefix`` per leaf of ``tree`` (``prefix`` is a tree prefix of it,
    whose leaves, None included, apply to whole subtrees)."""
    is_none = lambda x: x is None  # noqa: E731  (None is a leaf of an axes tree)
    prefix_leaves, prefix_tree = tree_util.tree_flatten(prefix, is_leaf=is_none)
    subtrees = tree_util._flatten_up_to(prefix_tree, tree, what)
    out = []
    for p, sub in zip(prefix_leaves, subtrees):
        out.extend([p] * len(tree_util.tree_leaves(sub)))
    return out


def _leaf_path(tree, i) -> str:
    """The key path of leaf ``i`` of ``tree``, as ``[0]['w']`` (for error messages)."""
    return tree_util.keystr(tree_util.tree_flatten_with_path(tree)[0][i][0])


def check_axis_name(what: str, axis_name) -> None:
    """A vmap's or pmap's axis name must be hashable (collectives look it up)."""
    if axis_name is not None:
        try:
            hash(axis_name)
        except TypeError:
            raise TypeError(f"{what}: axis_name must be hashable (a string), got "
                            f"{axis_name!r}") from None


def _check_axis_spec(what, ax, which):
    if ax is not None and not isinstance(ax, int):
        raise TypeError(f"{what}: {which} must be ints or None (or pytrees of them), got "
                        f"{type(ax).__name__} {ax!r}")


class InAxes(NamedTuple):
    """The positional arguments of a mapped call (vmap, pmap), flattened by :func:`in_axes_of`."""

    flat: list             # the argument leaves, as values
    in_tree: object        # the arguments' tree structure
    axes: list             # per leaf: its mapped axis (0 <= axis < rank), or None
    size: Optional[int]    # the mapped axes' common size; None where none is mapped


def in_axes_of(what: str, in_axes, args) -> InAxes:
    """Parses ``in_axes`` (an int or None for every argument, or a prefix pytree of the
    arguments' tuple) for the positional ``args`` of a ``vmap``/``pmap`` call named
    ``what``; raises the user's error for a bad spec, an axis out of range or
    inconsistent sizes."""
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)  # JAX accepts a list for the top-level tuple of arguments
    axes_prefix = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    if isinstance(in_axes, tuple) and len(in_axes) != len(args):
        raise ValueError(f"{what}: in_axes has {len(in_axes)} entries {in_axes!r} but the "
                         f"function was called with {len(args)} positional arguments; give "
                         "one entry per argument")
    flat, in_tree = tree_util.tree_flatten(args)
    flat_axes = _broadcast_prefix(axes_prefix, args, f"{what}: in_axes does not match the "
                                                     "arguments")
    flat = _as_values(flat, what)
    axes, sizes = [], []  # sizes: (leaf index, size of its mapped axis)
    for i, (x, ax) in enumerate(zip(flat, flat_axes)):
        _check_axis_spec(what, ax, "in_axes")
        if ax is None:
            axes.append(None)
            continue
        shape = tuple(get_aval(x).shape)
        if not -len(shape) <= ax < len(shape):
            raise ValueError(f"{what}: in_axes={ax} is out of range for argument "
                             f"args{_leaf_path(args, i)} of shape {shape} (rank {len(shape)})")
        axes.append(ax % len(shape))
        sizes.append((i, shape[ax]))
    if any(s != sizes[0][1] for _, s in sizes):
        listed = "; ".join(f"args{_leaf_path(args, i)} has size {s} (in_axes="
                           f"{flat_axes[i]}, shape {tuple(get_aval(flat[i]).shape)})"
                           for i, s in sizes)
        raise ValueError(f"{what} got inconsistent sizes for the mapped axes: {listed}")
    return InAxes(flat, in_tree, axes, sizes[0][1] if sizes else None)


def out_axes_of(what: str, out_axes, out) -> list:
    """One output axis (an int or None) per leaf of ``out``, from ``out_axes`` (an int or
    None, or a prefix pytree of the output)."""
    axes = _broadcast_prefix(out_axes, out, f"{what}: out_axes does not match the output")
    for ax in axes:
        _check_axis_spec(what, ax, "out_axes")
    return axes


def vmap(fun, in_axes=0, out_axes=0, axis_size=None, axis_name=None):
    """Vectorizes ``fun`` over an axis of its inputs: a batched version of ``fun``.

    ``vmap(f)(xs)`` equals ``stack([f(x) for x in xs])`` but runs every
    primitive once on the whole batch (its ``batch`` rule), and composes with
    the other transformations: ``vmap(grad(loss), in_axes=(None, 0, 0))`` gives
    per-example gradients.

    Args:
      fun: a function of arrays (or pytrees of arrays).
      in_axes: the mapped axis of each positional argument: an int (negative
        counts from the end), None (not mapped: the same value for every
        example), or a pytree that is a prefix of the arguments' tuple. A
        single int or None applies to every argument. Keyword arguments are
        never mapped.
      out_axes: where the batch axis goes in each output (int, None or a
        prefix pytree of the output). None is allowed only for outputs that do
        not depend on the mapped inputs.
      axis_size: the batch size; needed only when no argument is mapped.
      axis_name: a name (a string) for the mapped axis, so that collectives
        inside ``fun`` can refer to it: ``lax.psum(x, name)`` (the sum over the
        examples), ``lax.pmean``, ``lax.pmax``, ``lax.pmin``, ``lax.all_gather``,
        ``lax.ppermute``, ``lax.psum_scatter``, ``lax.axis_index``, ``lax.axis_size``.

    Returns:
      The batched function.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> ft.vmap(lambda x, y: fnp.dot(x, y), in_axes=(0, None))(fnp.ones((3, 2)), fnp.ones(2))
        Array([2., 2., 2.], dtype=float32)
        >>> ft.vmap(lambda x: x - ft.lax.pmean(x, "batch"), axis_name="batch")(fnp.arange(3.0))
        Array([-1.,  0.,  1.], dtype=float32)
    """
    name = getattr(fun, "__name__", "fun")
    what = f"vmap({name})"
    check_axis_name(what, axis_name)

    @functools.wraps(fun)
    @api_boundary
    def batched(*args, **kwargs):
        if not args:
            raise TypeError(f"{what}: the function must be called with at least one "
                            "positional argument to map over (keyword arguments are not mapped)")
        flat_args, in_tree, bdims, size = in_axes_of(what, in_axes, args)
        if size is None and axis_size is None:
            raise ValueError(f"{what}: no argument is mapped (all in_axes are None), so "
                             "the batch size is unknown; pass axis_size=")
        if size is not None and axis_size is not None and size != axis_size:
            raise ValueError(f"{what}: axis_size={axis_size} but the mapped axes have "
                             f"size {size}")
        size = axis_size if size is None else size
        out_tree_box = []

        def flat_fun(*flat):
            out = fun(*tree_util.tree_unflatten(in_tree, flat), **kwargs)
            out_flat, out_tree = tree_util.tree_flatten(out)
            out_tree_box.append((out, out_tree))
            for i, o in enumerate(out_flat):
                check_output(f"vmap({name})", o, i)
            return out_flat

        def out_bdims(n):
            return out_axes_of(what, out_axes, out_tree_box[0][0])

        outs = vmap_flat(flat_fun, size, flat_args, bdims, out_bdims, f"vmap({name})",
                         axis_name=axis_name, arg_names=lambda: arg_leaf_names(fun, args, {}))
        return tree_util.tree_unflatten(out_tree_box[0][1], outs)

    return batched


__all__ = ["make_ir", "ClosedIR", "jvp", "linearize", "vjp", "grad", "value_and_grad", "jacfwd",
           "jacrev", "hessian", "vmap"]
