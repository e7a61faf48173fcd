"""Collectives over named axes: ``psum``, ``pmean``, ``pmax``, ``pmin``,
``all_gather``, ``ppermute``, ``psum_scatter``, ``axis_index`` and ``axis_size``,
with JAX's lax signatures (a named vmap's examples, or a pmap's devices).

``vmap(f, axis_name="i")`` names its batch axis; inside ``f``, each example
sees ``lax.psum(x, "i")`` as the sum of ``x`` over all the examples of that
axis, ``lax.all_gather(x, "i")`` as every example's ``x`` stacked, and
``lax.axis_index("i")`` as its own position. This is how JAX code written for
data parallelism (per-device functions with collectives) runs, and tests, on
one device: the examples play the devices.

Primitives (params are static; the wrappers resolve axis sizes):

* ``psum`` (``axes``: a tuple of axis names) — the sum over those axes;
* ``all_gather`` (``axis_name``, ``axis``: where the gathered axis goes,
  ``axis_size``, ``tiled``: concatenate instead of stack);
* ``ppermute`` (``axis_name``, ``perm``: (source, destination) pairs) — zeros where
  nothing is sent;
* ``psum_scatter`` (``axis_name``, ``scatter_dimension``, ``axis_size``, ``tiled``) —
  each example's share of the sum;
* ``axis_index`` (``axis_name``) — no operands; int32.

``pmean``, ``pmax`` and ``pmin`` are composites (``psum`` divided by the size;
the max/min of the ``all_gather``), so they differentiate and batch through
those rules.

Rules. Each primitive marks itself with ``axis_names`` (see ``core.Primitive``),
so ``bind`` hands it to the batch trace of its axis even when an operand is not
one of that trace's tracers (a constant, a cotangent of 1.0). That trace's
batch rule does the collective: ``psum`` of the batched value is a
``reduce_sum`` over its batch axis, of an unbatched one the value times the
axis size; the result is unbatched (the same for every example).
``all_gather`` moves the batch axis into place (unbatched again);
``axis_index`` is an ``iota``. Any other batch trace treats them per example.
Autodiff: all but ``axis_index`` are linear (``ppermute`` transposes to the
inverse permutation, ``psum_scatter`` to ``all_gather``); ``psum`` transposes to
``psum`` (JAX's rule: every example's cotangent of the sum flows to every
example's input, so ``vmap(grad(f), axis_name=...)`` gives each example the
gradient of the sum of all examples' losses through the collective), and
``all_gather`` to the ``psum`` of the cotangent indexed at the example's own
position. ``impl``: outside a vmap of that name the axis is unbound, an error.
``lower``: in a pmap's module (``pmap.py``: one replica per device), a
cross-replica ``all_reduce``, ``all_gather`` or ``replica_id``; anywhere else the
axis is unbound, an error (vmap removes its collectives before lowering).

Higher-order primitives (``jit_call``, ``cond``, ``while``, ``scan``) get
``axis_names`` from :func:`sub_ir_axis_names`: the names their sub-IRs use, so a
jitted call or loop body that holds a ``psum`` is batched by its axis even when
none of its operands is.
"""

from __future__ import annotations

import numpy as np

from .. import core, tree_util
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.batching import moveaxis, rule_main
from ..interpreters.jvp import Zero, deflinear
from ..ir import ClosedIR
from ._rules import NUMERIC, check_dtype
from .control_flow import cond_p, while_p
from .elementwise import convert_element_type, div, mul
from .reductions import reduce_max, reduce_min, reduce_sum_p
from .scan import scan_p
from .shape import broadcast_in_dim, concatenate, iota, reshape
from .dynamic_slicing import dynamic_index_in_dim, dynamic_slice_in_dim
from .slicing import slice_in_dim

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "ppermute", "psum_scatter",
           "axis_index", "axis_size"]


def _names(op: str, axis_name) -> tuple:
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    if not names:
        raise ValueError(f"{op}: axis_name is empty; give the name of an enclosing vmap's axis")
    for n in names:
        try:
            hash(n)
        except TypeError:
            raise TypeError(f"{op}: an axis name must be hashable (a string), got {n!r}") \
                from None
    return names


def _unbound(op: str, names) -> NameError:
    shown = ", ".join(repr(n) for n in names)
    return NameError(
        f"{op}: unbound axis name {shown}. A collective refers to the axis of an enclosing "
        f"ft.vmap(..., axis_name={names[0]!r}) or ft.pmap(..., axis_name={names[0]!r}); call "
        "it inside one.")


def _main(op: str, name):
    main = core.axis_main((name,))
    if main is None:
        raise _unbound(op, (name,))
    return main


def axis_size(axis_name) -> int:
    """The size of the named vmap axis (the product of sizes for a tuple of names)."""
    size = 1
    for n in _names("axis_size", axis_name):
        size *= _main("axis_size", n).axis_size
    return size


def _owner(names):
    """The name among ``names`` of the batch trace whose rule is running, or None."""
    main = rule_main()
    if main is not None and main.axis_name in names:
        return main.axis_name
    return None


def _replica_groups(ctx, op: str, names) -> str:
    """The replica groups attribute of a collective over ``names`` in a pmap's module (one
    group of every replica), or the unbound-axis error where no pmap names them."""
    axes = ctx.replica_axes
    if len(names) != 1 or names[0] not in axes:
        missing = tuple(n for n in names if n not in axes) or names
        raise _unbound(op, missing)
    n = axes[names[0]]
    return f"replica_groups = dense<[[{', '.join(map(str, range(n)))}]]> : tensor<1x{n}xi64>"


# --- psum ------------------------------------------------------------------------------------

psum_p = Primitive("psum")
psum_p.axis_names = lambda params: params["axes"]


@psum_p.def_abstract_eval
def _psum_abstract_eval(x: ShapedArray, *, axes) -> ShapedArray:
    check_dtype("psum", x, NUMERIC)
    return x


@psum_p.def_impl
def _psum_impl(x, *, axes):
    raise _unbound("psum", axes)


@psum_p.def_batch
def _psum_batch(args, bdims, *, axes):
    (x,), (d,) = args, bdims
    own = _owner(axes)
    if own is None:                      # another axis: per example
        return bind(psum_p, x, axes=axes), d
    if d is None:                        # the same value in every example
        out = mul(x, rule_main().axis_size)
    else:
        out = bind(reduce_sum_p, x, axes=(d,))
    rest = tuple(n for n in axes if n != own)
    if rest:
        out = bind(psum_p, out, axes=rest)
    return out, None


deflinear(psum_p)


def _psum_transpose(ct, x, *, axes):
    if type(ct) is Zero:
        return [None]
    return [bind(psum_p, ct, axes=axes)]


psum_p.transpose = _psum_transpose


@psum_p.def_lower
def _psum_lower(ctx, x, *, axes):
    groups = _replica_groups(ctx, "psum", axes)
    aval = ctx.avals_in[0]
    scalar = ShapedArray((), aval.dtype)
    add = "stablehlo.or" if aval.dtype == np.bool_ else "stablehlo.add"
    region = ctx.region([scalar, scalar],
                        lambda c, a, b: ([c.op(add, [a, b], [scalar, scalar], scalar)], [scalar]))
    return ctx.op("stablehlo.all_reduce", [x], [aval], aval, groups, regions=[region])


# --- all_gather -------------------------------------------------------------------------------

all_gather_p = Primitive("all_gather")
all_gather_p.axis_names = lambda params: (params["axis_name"],)


@all_gather_p.def_abstract_eval
def _all_gather_abstract_eval(x: ShapedArray, *, axis_name, axis, axis_size, tiled):
    shape = list(x.shape)
    if tiled:
        shape[axis] *= axis_size
    else:
        shape.insert(axis, axis_size)
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


@all_gather_p.def_impl
def _all_gather_impl(x, *, axis_name, **params):
    raise _unbound("all_gather", (axis_name,))


@all_gather_p.def_batch
def _all_gather_batch(args, bdims, *, axis_name, axis, axis_size, tiled):
    (x,), (d,) = args, bdims
    if _owner((axis_name,)) is None:     # another axis: per example, batch axis first
        x = moveaxis(x, d, 0)
        return bind(all_gather_p, x, axis_name=axis_name, axis=axis + 1, axis_size=axis_size,
                    tiled=tiled), 0
    aval = get_aval(x)
    if d is None:                        # the same value in every example: repeat it
        shape = aval.shape[:axis] + (axis_size,) + aval.shape[axis:]
        dims = tuple(i if i < axis else i + 1 for i in range(aval.ndim))
        out = broadcast_in_dim(x, shape, dims)
    else:
        out = moveaxis(x, d, axis)
    if tiled:
        shape = get_aval(out).shape
        out = reshape(out, shape[:axis] + (shape[axis] * shape[axis + 1],) + shape[axis + 2:])
    return out, None


deflinear(all_gather_p)


def _all_gather_transpose(ct, x, *, axis_name, axis, axis_size, tiled):
    # example i's input appears at position i of every example's result: its cotangent is
    # the sum over examples of their cotangents at position i
    if type(ct) is Zero:
        return [None]
    total = bind(psum_p, ct, axes=(axis_name,))
    i = bind(axis_index_p, axis_name=axis_name)
    if tiled:
        n = x.aval.shape[axis]
        return [dynamic_slice_in_dim(total, i * n, n, axis)]
    return [dynamic_index_in_dim(total, i, axis, keepdims=False)]


all_gather_p.transpose = _all_gather_transpose


@all_gather_p.def_lower
def _all_gather_lower(ctx, x, *, axis_name, axis, axis_size, tiled):
    groups = _replica_groups(ctx, "all_gather", (axis_name,))
    aval, out_aval = ctx.avals_in[0], ctx.avals_out[0]
    if not tiled:      # gather along a new axis of 1
        shape = aval.shape[:axis] + (1,) + aval.shape[axis:]
        one = aval.update(shape=shape)
        x = ctx.op("stablehlo.reshape", [x], [aval], one)
        aval = one
    return ctx.op("stablehlo.all_gather", [x], [aval], out_aval,
                  f"all_gather_dim = {axis} : i64, {groups}")


# --- axis_index -------------------------------------------------------------------------------

axis_index_p = Primitive("axis_index")
axis_index_p.axis_names = lambda params: (params["axis_name"],)


@axis_index_p.def_abstract_eval
def _axis_index_abstract_eval(*, axis_name):
    return ShapedArray((), np.dtype(np.int32))


@axis_index_p.def_impl
def _axis_index_impl(*, axis_name):
    raise _unbound("axis_index", (axis_name,))


@axis_index_p.def_batch
def _axis_index_batch(args, bdims, *, axis_name):
    return iota(np.int32, rule_main().axis_size), 0


@axis_index_p.def_jvp
def _axis_index_jvp(primals, tangents, *, axis_name):
    out = bind(axis_index_p, axis_name=axis_name)
    return out, Zero(ShapedArray((), np.dtype(np.int32)))  # (an integer output: a zero tangent)


@axis_index_p.def_lower
def _axis_index_lower(ctx, *, axis_name):
    _replica_groups(ctx, "axis_index", (axis_name,))
    u32 = ShapedArray((), np.dtype(np.uint32))
    rid = ctx.op("stablehlo.replica_id", [], [], u32)
    return ctx.convert(rid, u32, np.int32)


# --- ppermute ---------------------------------------------------------------------------------

ppermute_p = Primitive("ppermute")
ppermute_p.axis_names = lambda params: (params["axis_name"],)


@ppermute_p.def_abstract_eval
def _ppermute_abstract_eval(x: ShapedArray, *, axis_name, perm):
    return x


@ppermute_p.def_impl
def _ppermute_impl(x, *, axis_name, perm):
    raise _unbound("ppermute", (axis_name,))


@ppermute_p.def_batch
def _ppermute_batch(args, bdims, *, axis_name, perm):
    (x,), (d,) = args, bdims
    if _owner((axis_name,)) is None:
        return bind(ppermute_p, x, axis_name=axis_name, perm=perm), d
    n = rule_main().axis_size
    aval = get_aval(x)
    source = dict((dst, src) for src, dst in perm)
    if d is None:
        one = broadcast_in_dim(x, (1,) + aval.shape, tuple(range(1, aval.ndim + 1)))
        ex_shape = aval.shape
    else:
        x = moveaxis(x, d, 0)
        ex_shape = aval.shape[:d] + aval.shape[d + 1:]
    zero = broadcast_in_dim(np.zeros((), aval.dtype), (1,) + ex_shape, ())
    parts = []
    for k in range(n):            # example k receives the value of its source, or zeros
        if k not in source:
            parts.append(zero)
        elif d is None:
            parts.append(one)
        else:
            parts.append(slice_in_dim(x, source[k], source[k] + 1, axis=0))
    return concatenate(parts, 0), 0


deflinear(ppermute_p)


def _ppermute_transpose(ct, x, *, axis_name, perm):
    if type(ct) is Zero:
        return [None]
    return [bind(ppermute_p, ct, axis_name=axis_name, perm=tuple((b, a) for a, b in perm))]


ppermute_p.transpose = _ppermute_transpose


@ppermute_p.def_lower
def _ppermute_lower(ctx, x, *, axis_name, perm):
    _replica_groups(ctx, "ppermute", (axis_name,))
    aval = ctx.avals_in[0]
    if not perm:
        return ctx.op("stablehlo.broadcast_in_dim", [ctx.constant(np.zeros((), aval.dtype),
                      ShapedArray((), aval.dtype))], [ShapedArray((), aval.dtype)], aval,
                      "broadcast_dimensions = array<i64>")
    pairs = ", ".join(f"[{a}, {b}]" for a, b in perm)
    return ctx.op("stablehlo.collective_permute", [x], [aval], aval,
                  f"source_target_pairs = dense<[{pairs}]> : tensor<{len(perm)}x2xi64>")


# --- psum_scatter ------------------------------------------------------------------------------

psum_scatter_p = Primitive("psum_scatter")
psum_scatter_p.axis_names = lambda params: (params["axis_name"],)


@psum_scatter_p.def_abstract_eval
def _psum_scatter_abstract_eval(x: ShapedArray, *, axis_name, scatter_dimension, axis_size,
                                tiled):
    check_dtype("psum_scatter", x, NUMERIC)
    shape = list(x.shape)
    if tiled:
        shape[scatter_dimension] //= axis_size
    else:
        del shape[scatter_dimension]
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


@psum_scatter_p.def_impl
def _psum_scatter_impl(x, *, axis_name, **params):
    raise _unbound("psum_scatter", (axis_name,))


@psum_scatter_p.def_batch
def _psum_scatter_batch(args, bdims, *, axis_name, scatter_dimension, axis_size, tiled):
    (x,), (d,) = args, bdims
    if _owner((axis_name,)) is None:     # another axis: per example, batch axis first
        return bind(psum_scatter_p, moveaxis(x, d, 0), axis_name=axis_name,
                    scatter_dimension=scatter_dimension + 1, axis_size=axis_size,
                    tiled=tiled), 0
    total, _ = _psum_batch([x], [d], axes=(axis_name,))
    if not tiled:                        # example k's share is row k of the scatter axis
        return total, scatter_dimension
    shape = get_aval(total).shape
    chunk = shape[scatter_dimension] // axis_size
    return reshape(total, shape[:scatter_dimension] + (axis_size, chunk)
                   + shape[scatter_dimension + 1:]), scatter_dimension


deflinear(psum_scatter_p)


def _psum_scatter_transpose(ct, x, *, axis_name, scatter_dimension, axis_size, tiled):
    if type(ct) is Zero:
        return [None]
    return [bind(all_gather_p, ct, axis_name=axis_name, axis=scatter_dimension,
                 axis_size=axis_size, tiled=tiled)]


psum_scatter_p.transpose = _psum_scatter_transpose


@psum_scatter_p.def_lower
def _psum_scatter_lower(ctx, x, *, axis_name, scatter_dimension, axis_size, tiled):
    groups = _replica_groups(ctx, "psum_scatter", (axis_name,))
    aval, out_aval = ctx.avals_in[0], ctx.avals_out[0]
    shape = list(aval.shape)
    shape[scatter_dimension] //= axis_size
    part = aval.update(shape=tuple(shape))
    scalar = ShapedArray((), aval.dtype)
    region = ctx.region([scalar, scalar], lambda c, a, b: (
        [c.op("stablehlo.add", [a, b], [scalar, scalar], scalar)], [scalar]))
    out = ctx.op("stablehlo.reduce_scatter", [x], [aval], part,
                 f"scatter_dimension = {scatter_dimension} : i64, {groups}", regions=[region])
    if not tiled:
        out = ctx.op("stablehlo.reshape", [out], [part], out_aval)
    return out


# --- wrappers ---------------------------------------------------------------------------------


def psum(x, axis_name):
    """The sum of ``x`` (a pytree) over the named vmap axis or axes; every example gets it.

    >>> import functrans as ft, functrans.numpy as fnp
    >>> from functrans import lax
    >>> ft.vmap(lambda x: x / lax.psum(x, "i"), axis_name="i")(fnp.asarray([1.0, 3.0])).tolist()
    [0.25, 0.75]
    """
    names = _names("psum", axis_name)
    for n in names:
        _main("psum", n)

    def one(a):
        if get_aval(a).dtype == np.bool_:       # a count, as in JAX
            a = convert_element_type(a, np.int32)
        return bind(psum_p, a, axes=names)
    return tree_util.tree_map(one, x)


def pmean(x, axis_name):
    """The mean of ``x`` (a pytree) over the named vmap axis or axes."""
    names = _names("pmean", axis_name)
    size = axis_size(names)
    return tree_util.tree_map(lambda a: div(bind(psum_p, a, axes=names), size), x)


def all_gather(x, axis_name, *, axis: int = 0, tiled: bool = False):
    """Every example's ``x`` (a pytree), stacked along a new ``axis`` in example order
    (with ``tiled=True``, concatenated along the existing ``axis``)."""
    names = _names("all_gather", axis_name)
    if len(names) != 1:
        raise ValueError(f"all_gather: one axis name at a time, got {names}")
    name = names[0]
    size = _main("all_gather", name).axis_size

    def gather(a):
        ndim = get_aval(a).ndim
        hi = ndim if not tiled else ndim - 1
        if not -hi - 1 <= axis <= hi:
            raise ValueError(f"all_gather: axis {axis} is out of range for an operand of rank "
                             f"{ndim}{' (tiled)' if tiled else ''}")
        if tiled and ndim == 0:
            raise ValueError("all_gather: tiled=True needs an operand of rank >= 1")
        ax = axis % (hi + 1)
        return bind(all_gather_p, a, axis_name=name, axis=ax, axis_size=size, tiled=bool(tiled))
    return tree_util.tree_map(gather, x)


def ppermute(x, axis_name, perm):
    """Sends ``x`` (a pytree) along the named axis: ``perm`` is a list of ``(source,
    destination)`` index pairs; an example no pair sends to receives zeros."""
    name = _names("ppermute", axis_name)
    if len(name) != 1:
        raise ValueError(f"ppermute: one axis name at a time, got {name}")
    n = _main("ppermute", name[0]).axis_size
    perm = tuple((int(a), int(b)) for a, b in perm)
    for a, b in perm:
        if not (0 <= a < n and 0 <= b < n):
            raise ValueError(f"ppermute: the pair ({a}, {b}) is out of range for axis "
                             f"{name[0]!r} of size {n}")
    for i, what in ((0, "source"), (1, "destination")):
        seen = [p[i] for p in perm]
        if len(set(seen)) != len(seen):
            raise ValueError(f"ppermute: perm {list(perm)} repeats a {what}; each index may "
                             f"be a {what} once")
    return tree_util.tree_map(lambda a: bind(ppermute_p, a, axis_name=name[0], perm=perm), x)


def psum_scatter(x, axis_name, *, scatter_dimension: int = 0, tiled: bool = False):
    """The sum over the named axis, split along ``scatter_dimension``: example ``k`` gets
    row ``k`` of it (with ``tiled=True``, the ``k``-th of ``axis size`` equal chunks)."""
    name = _names("psum_scatter", axis_name)
    if len(name) != 1:
        raise ValueError(f"psum_scatter: one axis name at a time, got {name}")
    n = _main("psum_scatter", name[0]).axis_size

    def one(a):
        shape = get_aval(a).shape
        if not -len(shape) <= scatter_dimension < len(shape):
            raise ValueError(f"psum_scatter: scatter_dimension {scatter_dimension} is out of "
                             f"range for an operand of shape {shape}")
        dim = scatter_dimension % len(shape)
        if (shape[dim] % n if tiled else shape[dim] != n):
            raise ValueError(
                f"psum_scatter: dimension {dim} of the operand {shape} must "
                f"{'be divisible by' if tiled else 'equal'} the axis size {n} of {name[0]!r}")
        return bind(psum_scatter_p, a, axis_name=name[0], scatter_dimension=dim, axis_size=n,
                    tiled=bool(tiled))
    return tree_util.tree_map(one, x)


def _extremum(op, reduce):
    def wrapper(x, axis_name):
        names = _names(op, axis_name)

        def one(a):
            for n in names:
                a = reduce(all_gather(a, n), (0,))
            return a
        return tree_util.tree_map(one, x)
    wrapper.__name__ = wrapper.__qualname__ = op
    wrapper.__doc__ = (f"The {op[1:]}imum of ``x`` (a pytree) over the named vmap axis or "
                       "axes (the reduction of its ``all_gather``).")
    return wrapper


pmax = _extremum("pmax", reduce_max)
pmin = _extremum("pmin", reduce_min)


def axis_index(axis_name):
    """This example's position (int32) along the named vmap axis."""
    names = _names("axis_index", axis_name)
    if len(names) != 1:
        raise ValueError(f"axis_index: one axis name at a time, got {names}")
    _main("axis_index", names[0])
    return bind(axis_index_p, axis_name=names[0])


# --- the names a sub-IR uses --------------------------------------------------------------------

_ir_names: dict = {}      # id(ClosedIR) -> (the ClosedIR, kept alive; its names)
_IR_NAMES_MAX = 512


def _closed_names(closed: ClosedIR) -> frozenset:
    hit = _ir_names.get(id(closed))
    if hit is not None and hit[0] is closed:
        return hit[1]
    names = set()
    for eqn in closed.ir.eqns:
        f = eqn.prim.axis_names
        if f is not None:
            names.update(f(eqn.params))
    names = frozenset(names)
    if len(_ir_names) >= _IR_NAMES_MAX:
        _ir_names.clear()
    _ir_names[id(closed)] = (closed, names)
    return names


def sub_ir_axis_names(params) -> frozenset:
    """The axis names the collectives in a higher-order primitive's sub-IRs use."""
    names = frozenset()
    for v in params.values():
        if isinstance(v, ClosedIR):
            names |= _closed_names(v)
        elif isinstance(v, (tuple, list)):
            for w in v:
                if isinstance(w, ClosedIR):
                    names |= _closed_names(w)
    return names


for _p in (cond_p, while_p, scan_p):
    _p.axis_names = sub_ir_axis_names
