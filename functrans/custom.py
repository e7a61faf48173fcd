"""User-defined derivatives: ``custom_jvp`` and ``custom_vjp``, as in JAX.

    @ft.custom_jvp
    def softplus(x):
        return fnp.log1p(fnp.exp(x))

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t * ft.lax.logistic(x)

With no transformation active the function simply runs. Under a
transformation it is bound as a primitive (``custom_jvp_call`` /
``custom_vjp_call``) whose params hold the function and its rule, so the IR
shows it as one equation and autodiff uses the rule instead of
differentiating the body.

custom_vjp under reverse mode: the forward pass runs ``fwd`` (primal output
and residuals) and emits a ``custom_vjp_lin`` equation, linear in the
tangents, whose transpose rule calls ``bwd``. Forward mode (jvp) of a
custom_vjp function is not possible, as in JAX, and says so.

Batching (vmap) binds the same primitive again with *batched* functions in
its params: ``vmap`` of the held function, and of the rule (the batched jvp
rule maps the user's rule over primals and tangents; the batched ``bwd``
maps ``bwd`` over residuals and cotangents), so ``grad(vmap(f))`` and
``vmap(grad(f))`` both use the user's rule. Every output of a batched call
has its batch axis first. Lowering (jit) inlines the IR of the held primal
function: the custom rule matters only to differentiation, which has
already happened when an IR is lowered.

Unlike ``cond``, ``scan`` or ``jit_call``, these primitives hold Python
functions (the user's function and rules, which must run on the tracers of
whatever transformation is active), not sub-IRs: so they transform functions
(``vmap_flat``), and the sub-IR library (``jvp_ir``, ``batch_ir``,
``linearize_ir``, ``transpose_ir``) has nothing to do for them; an IR appears
only when one is lowered.

Why they are here and not in ``primitives/``: each is one with its API class
(``custom_jvp``/``custom_vjp`` build the functions its params hold), as in JAX
(``custom_derivatives.py``); ``primitives/`` holds the operations a traced
program is made of.
"""

from __future__ import annotations

import functools

import numpy as np

from . import core
from .array import Array, _new_array
from .core import Primitive, ShapedArray, bind, get_aval
from .interpreters.batching import batch_size, bdim_to_front, moveaxis, vmap_flat
from .interpreters.jvp import instantiate
from .interpreters.tracing import trace_to_ir
from .tree_util import tree_flatten, tree_unflatten


def _split(args, nondiff_argnums):
    nondiff = [args[i] for i in nondiff_argnums]
    diff = [a for i, a in enumerate(args) if i not in nondiff_argnums]
    return nondiff, diff


def _merge(nondiff, diff, nondiff_argnums, n):
    it_n, it_d = iter(nondiff), iter(diff)
    return [next(it_n) if i in nondiff_argnums else next(it_d) for i in range(n)]


def _as_arrays(vals):
    return [v if not isinstance(v, np.ndarray) else _new_array(v) for v in vals]


def _host(vals):
    return [v._value if type(v) is Array else np.asarray(v) for v in vals]


def _runs_eagerly(args) -> bool:
    """Whether a call on ``args`` would be evaluated, not traced: no transformation is
    active, or one is (inside another rule, on known primals: grad's forward pass) but
    no argument is its tracer and nothing is being staged out. The function then just
    runs, as JAX runs it on known values (a Python ``if`` on them works); binding would
    trace it for its output types."""
    if core.is_eager():
        return True
    return core._state.dynamic is None and not any(isinstance(x, core.Tracer)
                                                  for x in tree_flatten(list(args))[0])


def _out_avals(fun, avals):
    closed = trace_to_ir(lambda *xs: fun(*xs), avals, what="custom function")
    return closed.out_avals


def _flatten_call(fun, nondiff_argnums, args):
    """Splits ``args`` and flattens the differentiable ones for binding a custom-rule call.

    Returns ``(nondiff, diff, flat, in_tree, flat_fun)``.
    """
    nondiff, diff = _split(args, nondiff_argnums)
    flat, in_tree = tree_flatten(diff)
    flat_fun = _FlatFun(fun, nondiff, nondiff_argnums, len(args), in_tree,
                        getattr(fun, "__name__", "fun"))
    return nondiff, diff, flat, in_tree, flat_fun


class _FlatFun:
    """A pytree function flattened to ``f(*leaves) -> list of leaves``; records the output tree."""

    def __init__(self, fun, nondiff, nondiff_argnums, nargs, in_tree, name):
        self.fun, self.nondiff, self.nondiff_argnums = fun, nondiff, nondiff_argnums
        self.nargs, self.in_tree, self.out_tree = nargs, in_tree, None
        self.__name__ = name

    def __call__(self, *flat):
        diff = tree_unflatten(self.in_tree, flat)
        out = self.fun(*_merge(self.nondiff, diff, self.nondiff_argnums, self.nargs))
        leaves, self.out_tree = tree_flatten(out)
        return leaves


# --- custom_jvp ------------------------------------------------------------------------------

custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)


@custom_jvp_call_p.def_abstract_eval
def _custom_jvp_abstract_eval(*avals, fun, jvp):
    return _out_avals(fun, avals)


@custom_jvp_call_p.def_impl
def _custom_jvp_impl(*vals, fun, jvp):
    return _host(fun(*_as_arrays(vals)))


def _custom_jvp_rule(primals, tangents, *, fun, jvp):
    tangents = [instantiate(t) for t in tangents]
    return jvp(primals, tangents)


custom_jvp_call_p.jvp = _custom_jvp_rule


def _custom_jvp_batch(args, bdims, *, fun, jvp):
    size, bdims = batch_size(args, bdims), tuple(bdims)
    batched_fun = _batched(fun, size, bdims)

    def batched_jvp(primals, tangents):
        # A tangent has its primal's shape at this level, so it is mapped where its
        # primal is (an unmapped primal's tangent is the same for every example).
        n = len(primals)

        def flat(*xs):
            p_out, t_out = jvp(list(xs[:n]), list(xs[n:]))
            return list(p_out) + list(t_out)

        outs = vmap_flat(flat, size, list(primals) + list(tangents), bdims + bdims, _at_front)
        m = len(outs) // 2
        return outs[:m], outs[m:]

    batched_jvp.__name__ = f"vmap({getattr(jvp, '__name__', 'jvp')})"
    outs = bind(custom_jvp_call_p, *args, fun=batched_fun, jvp=batched_jvp)
    return outs, [0] * len(outs)


custom_jvp_call_p.batch = _custom_jvp_batch


def _at_front(n):
    return [0] * n


def _batched(fun, size, bdims):
    """``fun`` (flat: leaves in, list of leaves out) mapped over ``bdims``; outputs at axis 0."""
    def batched_fun(*xs):
        return vmap_flat(fun, size, xs, bdims, _at_front)
    batched_fun.__name__ = f"vmap({getattr(fun, '__name__', 'fun')})"
    return batched_fun


def _custom_call_lower(what):
    """Lowers a custom-rule call by inlining the IR of its primal function."""
    def rule(ctx, *operands, fun, **params):
        avals = list(ctx.avals_in)
        closed = trace_to_ir(lambda *xs: fun(*xs), avals,
                             what=f"jit of {what} {getattr(fun, '__name__', 'fun')}")
        return ctx.lower_ir(closed, list(operands))
    return rule


custom_jvp_call_p.lower = _custom_call_lower("custom_jvp function")


class custom_jvp:
    """Gives a function a user-defined forward-mode derivative (and so reverse mode).

    Args:
      fun: the function.
      nondiff_argnums: positions of arguments that are not differentiated
        (static values such as sizes or flags); they are passed first to the rule.

    The rule, registered with ``defjvp``, has the signature
    ``rule(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)``.
    Its tangent computation must be linear in the tangents.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        """Registers the jvp rule (usable as a decorator)."""
        self.jvp = jvp
        return jvp

    def __call__(self, *args):
        name = getattr(self.fun, "__name__", "fun")
        if self.jvp is None:
            raise AttributeError(f"custom_jvp function {name} has no rule: register one with "
                                 f"@{name}.defjvp")
        if _runs_eagerly(args):
            return self.fun(*args)
        nondiff, diff, flat, in_tree, flat_fun = _flatten_call(self.fun, self.nondiff_argnums, args)
        rule = self.jvp

        def flat_jvp(primals, tangents):
            p = tree_unflatten(in_tree, primals)
            t = tree_unflatten(in_tree, tangents)
            p_out, t_out = rule(*nondiff, tuple(p), tuple(t))
            p_leaves, p_tree = tree_flatten(p_out)
            t_leaves, t_tree = tree_flatten(t_out)
            if flat_fun.out_tree is None:
                flat_fun.out_tree = p_tree
            if p_tree != t_tree:
                raise TypeError(f"custom_jvp rule of {name} returned a tangent of structure "
                                f"{t_tree} for a primal output of structure {p_tree}")
            return p_leaves, [instantiate(t) for t in t_leaves]

        flat_jvp.__name__ = getattr(rule, "__name__", "jvp")
        outs = bind(custom_jvp_call_p, *flat, fun=flat_fun, jvp=flat_jvp)
        return tree_unflatten(flat_fun.out_tree, outs)


# --- custom_vjp ------------------------------------------------------------------------------

custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)


@custom_vjp_call_p.def_abstract_eval
def _custom_vjp_abstract_eval(*avals, fun, fwd, bwd):
    return _out_avals(fun, avals)


@custom_vjp_call_p.def_impl
def _custom_vjp_impl(*vals, fun, fwd, bwd):
    return _host(fun(*_as_arrays(vals)))


def _custom_vjp_jvp(primals, tangents, *, fun, fwd, bwd):
    outs, residuals = fwd(*primals)
    out_avals = [get_aval(o) for o in outs]
    tangents = [instantiate(t) for t in tangents]
    t_out = bind(custom_vjp_lin_p, *residuals, *tangents, num_res=len(residuals), bwd=bwd,
                 out_avals=tuple(a.strip_weak_type() for a in out_avals))
    return outs, t_out


custom_vjp_call_p.jvp = _custom_vjp_jvp


def _custom_vjp_batch(args, bdims, *, fun, fwd, bwd):
    size, bdims = batch_size(args, bdims), tuple(bdims)
    n_out = []

    def batched_fwd(*xs):
        def flat(*ys):
            outs, res = fwd(*ys)
            n_out.append(len(outs))
            return list(outs) + list(res)
        r = vmap_flat(flat, size, xs, bdims, _at_front)
        return r[:n_out[-1]], r[n_out[-1]:]

    def batched_bwd(residuals, cts):
        # residuals and cotangents of the batched call all have the batch axis first
        n_res = len(residuals)

        def flat(*ys):
            return bwd(list(ys[:n_res]), list(ys[n_res:]))

        cts_in = vmap_flat(flat, size, list(residuals) + list(cts),
                           (0,) * (n_res + len(cts)), _at_front)
        # an unmapped input was shared by every example: its cotangent is their sum
        return [_sum_front(c) if d is None else moveaxis(c, 0, d) for c, d in zip(cts_in, bdims)]

    batched_bwd.fn_name = getattr(bwd, "fn_name", "fun")
    outs = bind(custom_vjp_call_p, *args, fun=_batched(fun, size, bdims), fwd=batched_fwd,
                bwd=batched_bwd)
    return outs, [0] * len(outs)


def _sum_front(x):
    from .primitives.reductions import reduce_sum_p
    return bind(reduce_sum_p, x, axes=(0,))


custom_vjp_call_p.batch = _custom_vjp_batch
custom_vjp_call_p.lower = _custom_call_lower("custom_vjp function")

custom_vjp_lin_p = Primitive("custom_vjp_lin", multiple_results=True)


@custom_vjp_lin_p.def_abstract_eval
def _custom_vjp_lin_abstract_eval(*avals, num_res, bwd, out_avals):
    return list(out_avals)


def _forward_mode_error(*args, bwd, **params):
    raise TypeError(f"can't apply forward-mode differentiation (jvp, jacfwd) to a custom_vjp "
                    f"function ({getattr(bwd, 'fn_name', 'fun')}): it defines only a "
                    "reverse-mode rule. Use grad/vjp/jacrev, or custom_jvp.")


custom_vjp_lin_p.impl = _forward_mode_error


def _custom_vjp_lin_jvp(primals, tangents, *, bwd, **params):
    _forward_mode_error(bwd=bwd)


custom_vjp_lin_p.jvp = _custom_vjp_lin_jvp


def _custom_vjp_lin_transpose(cts, *args, num_res, bwd, out_avals):
    residuals = args[:num_res]
    cts_in = bwd(list(residuals), [instantiate(c) for c in cts])
    return [None] * num_res + list(cts_in)


custom_vjp_lin_p.transpose = _custom_vjp_lin_transpose


def _custom_vjp_lin_batch(args, bdims, *, num_res, bwd, out_avals):
    # Residuals and tangents all move to batch axis 0, so the batched bwd maps
    # over axis 0 of each and returns cotangents batched along axis 0 too.
    size = batch_size(args, bdims)
    args = [bdim_to_front(x, d, size) for x, d in zip(args, bdims)]

    def batched_bwd(residuals, cts):
        n_res = len(residuals)

        def flat(*ys):
            return bwd(list(ys[:n_res]), list(ys[n_res:]))

        return vmap_flat(flat, size, list(residuals) + list(cts),
                         (0,) * (n_res + len(cts)), _at_front)

    batched_bwd.fn_name = getattr(bwd, "fn_name", "fun")
    avals = tuple(ShapedArray((size,) + a.shape, a.dtype) for a in out_avals)
    outs = bind(custom_vjp_lin_p, *args, num_res=num_res, bwd=batched_bwd, out_avals=avals)
    return outs, [0] * len(outs)


custom_vjp_lin_p.batch = _custom_vjp_lin_batch
# Evaluating custom_vjp_lin forward (eagerly or compiled) is forward-mode
# differentiation of a custom_vjp function: the same error either way.
custom_vjp_lin_p.lower = _forward_mode_error


class custom_vjp:
    """Gives a function a user-defined reverse-mode derivative.

    Register ``fwd(*args) -> (out, residuals)`` and
    ``bwd(*nondiff_args, residuals, ct_out) -> tuple of cotangents`` (one per
    differentiable argument) with ``defvjp(fwd, bwd)``.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> @ft.custom_vjp
        ... def clip_gradient(x):
        ...     return x
        >>> clip_gradient.defvjp(lambda x: (x, None),
        ...                      lambda res, g: (fnp.clip(g, -1.0, 1.0),))
        >>> float(ft.grad(lambda x: 5.0 * clip_gradient(x))(2.0))
        1.0
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        """Registers the forward and backward functions."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        name = getattr(self.fun, "__name__", "fun")
        if self.fwd is None:
            raise AttributeError(f"custom_vjp function {name} has no rule: register one with "
                                 f"{name}.defvjp(fwd, bwd)")
        if _runs_eagerly(args):
            return self.fun(*args)
        nondiff, diff, flat, in_tree, flat_fun = _flatten_call(self.fun, self.nondiff_argnums, args)
        diff_tree = tree_flatten(tuple(diff))[1]
        fwd, bwd = self.fwd, self.bwd
        res_tree_box = []

        def flat_fwd(*primals):
            p = tree_unflatten(in_tree, primals)
            out, res = fwd(*_merge(nondiff, p, self.nondiff_argnums, len(args)))
            out_leaves, out_tree = tree_flatten(out)
            if flat_fun.out_tree is None:
                flat_fun.out_tree = out_tree
            res_leaves, res_tree = tree_flatten(res)
            res_tree_box.append(res_tree)
            return out_leaves, res_leaves

        def flat_bwd(residuals, cts):
            res = tree_unflatten(res_tree_box[-1], residuals)
            ct = tree_unflatten(flat_fun.out_tree, cts)
            cts_in = bwd(*nondiff, res, ct)
            if not isinstance(cts_in, (tuple, list)) or len(cts_in) != len(diff):
                raise TypeError(f"custom_vjp bwd of {name} must return a tuple with one "
                                f"cotangent per differentiable argument ({len(diff)}), got "
                                f"{type(cts_in).__name__}")
            leaves, tree = tree_flatten(tuple(cts_in))
            if tree != diff_tree:
                raise TypeError(f"custom_vjp bwd of {name} returned cotangents of structure "
                                f"{tree}; the arguments have structure {diff_tree}")
            return leaves

        flat_bwd.fn_name = name
        outs = bind(custom_vjp_call_p, *flat, fun=flat_fun, fwd=flat_fwd, bwd=flat_bwd)
        return tree_unflatten(flat_fun.out_tree, outs)


__all__ = ["custom_jvp", "custom_vjp"]
