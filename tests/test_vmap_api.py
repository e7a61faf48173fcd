"""The vmap API and what is built on it: in_axes/out_axes (ints, None, negative,
pytree prefixes), kwargs, axis_size, nested vmaps, pytree outputs, error
messages; compositions with grad (per-example gradients, grad of vmap, vmap
of grad of vmap); jacfwd/jacrev/hessian (vmap of jvp/vjp) against jax;
custom_jvp/custom_vjp under vmap and jit. vmap is checked against a Python
loop over the examples and a stack, done with numpy slicing so the reference
does not use vmap."""

import dataclasses

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import tree_util
from functrans.jit import jit

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")


def _np(x):
    return np.asarray(x)


def loop_vmap(f, in_axes=0, out_axes=0, axis_size=None):
    """The reference: call ``f`` on each example (numpy slices), stack the outputs."""
    def run(*args):
        axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
        flat_axes = []
        for ax, a in zip(axes, args):
            leaves = tree_util.tree_leaves(a)
            sub = tree_util.tree_leaves(ax, is_leaf=lambda x: x is None)
            flat_axes += sub if len(sub) == len(leaves) else sub * len(leaves)
        flat, tree = tree_util.tree_flatten(tuple(args))
        flat = [np.asarray(x) for x in flat]
        size = axis_size or next(x.shape[ax] for x, ax in zip(flat, flat_axes) if ax is not None)
        outs = []
        for i in range(size):
            ex = [fnp.asarray(x if ax is None else np.take(x, i, axis=ax))
                  for x, ax in zip(flat, flat_axes)]
            outs.append(f(*tree_util.tree_unflatten(tree, ex)))
        out_leaves = [tree_util.tree_leaves(o) for o in outs]
        out_tree = tree_util.tree_structure(outs[0])
        oax = tree_util.tree_leaves(out_axes, is_leaf=lambda x: x is None)
        oax = oax if len(oax) == len(out_leaves[0]) else oax * len(out_leaves[0])
        stacked = [_np(col[0]) if ax is None else np.stack([_np(c) for c in col], axis=ax)
                   for col, ax in zip(zip(*out_leaves), oax)]
        return tree_util.tree_unflatten(out_tree, stacked)
    return run


def assert_trees_close(got, want, rtol=1e-6, atol=1e-6):
    g_leaves, g_tree = tree_util.tree_flatten(got)
    w_leaves, w_tree = tree_util.tree_flatten(want)
    assert g_tree == w_tree, (g_tree, w_tree)
    for g, w in zip(g_leaves, w_leaves):
        g, w = _np(g), _np(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def _rand(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) > 0.5
    return rng.integers(-5, 6, shape).astype(dtype)


# --- in_axes / out_axes over a table of functions --------------------------------------------

# name -> (function of two arrays of shape (3, 4) per example, dtypes it accepts)
FUNS = {
    "elementwise": (lambda a, b: fnp.sin(a) * b + 1.0, ("float32", "float64")),
    "matmul_reduce": (lambda a, b: fnp.sum(a @ b.T, axis=0) - fnp.max(b, axis=1), ("float32", "float64", "int32")),
    "reshape_transpose": (lambda a, b: fnp.reshape(a, (2, 6)) + fnp.reshape(b.T, (2, 6)), ("float32", "int32")),
    "logic": (lambda a, b: fnp.where(a > b, a, b * 2), ("float32", "int32")),
    "bool": (lambda a, b: fnp.logical_xor(a, b) | fnp.logical_not(b), ("bool",)),
    "tuple_out": (lambda a, b: (a * b, {"s": fnp.sum(a, axis=-1), "k": b - a}), ("float32", "int32")),
}

# (in_axes, out_axes): where the batch of 5 sits in each (3, 4) argument
AXES = [
    ((0, 0), 0),
    ((1, 1), 1),            # a middle axis of a rank-3 batched value
    ((-1, 2), -1),          # the last axis, negative and positive
    ((0, None), 0),         # an unmapped argument
    ((None, 1), -2),
    ((2, 0), (1, {"s": 0, "k": -1})),  # an out_axes pytree (for tuple_out only)
]


def _batched_arg(rng, ax, dtype):
    if ax is None:
        return _rand(rng, (3, 4), dtype)
    shape = [3, 4]
    shape.insert(ax % 3, 5)
    return _rand(rng, tuple(shape), dtype)


@pytest.mark.parametrize("name,axes", [(n, i) for n in sorted(FUNS) for i in range(len(AXES))
                                       if isinstance(AXES[i][1], int) or n == "tuple_out"])
def test_vmap_matches_loop(name, axes, x64):
    f, dts = FUNS[name]
    in_axes, out_axes = AXES[axes]
    rng = np.random.default_rng(axes)
    for dt in dts:
        args = [_batched_arg(rng, ax, dt) for ax in in_axes]
        got = ft.vmap(f, in_axes, out_axes)(*[fnp.asarray(a) for a in args])
        want = loop_vmap(f, in_axes, out_axes)(*args)
        assert_trees_close(got, want, rtol=1e-5 if dt == "float32" else 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nested_vmap_matches_nested_loops(dtype, x64, rng):
    def f(a, w, b):
        return fnp.tanh(a @ w) * b + fnp.sum(w)

    a = rng.standard_normal((4, 3, 5)).astype(dtype)    # mapped over 0 (outer) and 1 (inner)
    w = rng.standard_normal((5, 2)).astype(dtype)       # unmapped everywhere
    b = rng.standard_normal((2, 4)).astype(dtype)       # mapped by the inner vmap only, axis 1
    inner = ft.vmap(f, in_axes=(0, None, 1))
    got = ft.vmap(inner, in_axes=(1, None, None), out_axes=-1)(fnp.asarray(a), w, b)
    want = np.stack([np.stack([np.tanh(a[i, j] @ w) * b[:, i] + w.sum() for i in range(4)])
                     for j in range(3)], axis=-1)
    assert got.shape == (4, 2, 3) and got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(_np(got), want, rtol=1e-5 if dtype == "float32" else 1e-12)
    # the same through loop_vmap twice
    want2 = loop_vmap(loop_vmap(f, (0, None, 1)), (1, None, None), -1)(a, w, b)
    np.testing.assert_allclose(_np(got), want2, rtol=1e-5 if dtype == "float32" else 1e-12)


@dataclasses.dataclass(frozen=True)
class Layer:
    w: object
    b: object
    act: str = dataclasses.field(default="tanh", metadata={"static": True})


def test_pytree_in_axes_prefixes(rng):
    layer = Layer(fnp.asarray(rng.standard_normal((5, 3, 2)).astype(np.float32)),
                  fnp.asarray(rng.standard_normal(2).astype(np.float32)))
    xs = {"x": fnp.asarray(rng.standard_normal((3, 5)).astype(np.float32)),
          "scale": [fnp.asarray(2.0), fnp.asarray(rng.standard_normal(5).astype(np.float32))]}

    def f(layer, d):
        assert layer.act == "tanh"  # static fields survive
        return fnp.tanh(d["x"] @ layer.w + layer.b) * d["scale"][0] * d["scale"][1]

    in_axes = (Layer(0, None), {"x": 1, "scale": [None, 0]})
    got = ft.vmap(f, in_axes=in_axes)(layer, xs)
    want = np.stack([np.tanh(_np(xs["x"])[:, i] @ _np(layer.w)[i] + _np(layer.b)) * 2.0
                     * _np(xs["scale"][1])[i] for i in range(5)])
    np.testing.assert_allclose(_np(got), want, rtol=1e-5)
    # a list for the top-level tuple, and a prefix leaf covering a whole subtree
    got2 = ft.vmap(f, in_axes=[Layer(0, None), {"x": 1, "scale": [None, 0]}])(layer, xs)
    np.testing.assert_allclose(_np(got2), want, rtol=1e-5)
    got3 = ft.vmap(lambda d, s: d["a"] * s, in_axes=({"a": 0}, None))(
        {"a": fnp.ones((4, 2))}, fnp.asarray(3.0))
    np.testing.assert_allclose(_np(got3), np.full((4, 2), 3.0))


def test_kwargs_are_unmapped_and_axis_size(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    got = ft.vmap(lambda x, *, scale: x * scale)(fnp.asarray(x), scale=fnp.asarray([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(_np(got), x * np.array([1.0, 2.0, 3.0], np.float32))
    # nothing mapped: axis_size gives the batch, outputs are broadcast
    got = ft.vmap(lambda w: w * 2.0, in_axes=None, axis_size=3)(fnp.ones(2))
    np.testing.assert_allclose(_np(got), np.full((3, 2), 2.0))
    got = ft.vmap(lambda x: x + 1.0, axis_size=4)(fnp.asarray(x))
    np.testing.assert_allclose(_np(got), x + 1.0)
    # an output that does not depend on the mapped inputs: broadcast, or unmapped with None
    out, c = ft.vmap(lambda x: (x * 2.0, fnp.ones(2)), out_axes=(0, None))(fnp.asarray(x))
    assert c.shape == (2,) and out.shape == (4, 3)
    out, c = ft.vmap(lambda x: (x * 2.0, 7.0), out_axes=(1, 0))(fnp.asarray(x))
    assert out.shape == (3, 4) and c.shape == (4,)
    np.testing.assert_allclose(_np(c), 7.0)


def test_unbatched_work_stays_unbatched(rng):
    w = fnp.asarray(rng.standard_normal((3, 2)).astype(np.float32))
    xs = fnp.asarray(rng.standard_normal((7, 3)).astype(np.float32))

    def f(x, w):
        return fnp.dot(x, fnp.exp(w))  # exp(w) does not depend on the mapped x

    closed = ft.make_ir(ft.vmap(f, in_axes=(0, None)))(xs, w)
    by_name = {e.prim.name: e for e in closed.eqns}
    assert by_name["exp"].outvars[0].aval.shape == (3, 2)      # not broadcast to the batch
    assert by_name["dot_general"].outvars[0].aval.shape == (7, 2)
    assert not any(e.prim.name == "broadcast_in_dim" for e in closed.eqns)
    # an elementwise op of a batched and an unmapped rank-0 operand needs no broadcast
    closed = ft.make_ir(ft.vmap(lambda x, s: x * s, in_axes=(0, None)))(xs, fnp.asarray(2.0))
    assert [e.prim.name for e in closed.eqns] == ["mul"]


# --- errors ----------------------------------------------------------------------------------


def test_inconsistent_sizes_name_each_argument():
    with pytest.raises(ValueError, match=r"inconsistent sizes.*args\[0\] has size 3.*"
                                         r"args\[1\]\['b'\] has size 4"):
        ft.vmap(lambda a, d: a + d["b"])(fnp.ones(3), {"b": fnp.ones(4)})
    with pytest.raises(ValueError, match=r"axis_size=5 but the mapped axes have size 3"):
        ft.vmap(lambda a: a, axis_size=5)(fnp.ones(3))


def test_axis_out_of_range_and_tree_mismatch_errors():
    with pytest.raises(ValueError, match=r"in_axes=2 is out of range for argument args\[0\] "
                                         r"of shape \(3, 4\)"):
        ft.vmap(lambda a: a, in_axes=2)(fnp.ones((3, 4)))
    with pytest.raises(ValueError, match=r"in_axes=0 is out of range.*shape \(\)"):
        ft.vmap(lambda a: a)(fnp.asarray(1.0))
    with pytest.raises(ValueError, match="in_axes has 1 entries .* called with 2"):
        ft.vmap(lambda a, b: a, in_axes=(0,))(fnp.ones(3), fnp.ones(3))
    with pytest.raises(ValueError, match="in_axes does not match the arguments"):
        ft.vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": fnp.ones(3)})
    with pytest.raises(TypeError, match="in_axes must be ints or None"):
        ft.vmap(lambda a: a, in_axes="0")(fnp.ones(3))
    with pytest.raises(ValueError, match=r"out_axes=2 is out of range for output 0 of rank 1"):
        ft.vmap(lambda a: a, out_axes=2)(fnp.ones((3, 4)))
    with pytest.raises(ValueError, match="out_axes does not match the output"):
        ft.vmap(lambda a: (a, a), out_axes=(0, 0, 0))(fnp.ones(3))
    with pytest.raises(ValueError, match="no argument is mapped.*axis_size"):
        ft.vmap(lambda a: a, in_axes=None)(fnp.ones(3))
    with pytest.raises(TypeError, match="at least one positional argument"):
        ft.vmap(lambda: 1.0)()


def test_out_axes_none_for_a_batched_output_is_an_error():
    with pytest.raises(ValueError, match=r"vmap\(<lambda>\): out_axes is None for output 1.*"
                                         r"depends on the mapped inputs"):
        ft.vmap(lambda a, b: (b, a * b), in_axes=(0, None), out_axes=None)(fnp.ones(3),
                                                                           fnp.ones(()))


def test_missing_batch_rule_names_the_primitive():
    from functrans.core import Primitive
    p = Primitive("test_vmap_api_nobatch")
    p.def_impl(lambda x: x)
    p.def_abstract_eval(lambda x: x)
    with pytest.raises(Exception, match="test_vmap_api_nobatch.*vmap"):
        ft.vmap(lambda x: p.bind(x))(fnp.ones(3))


# --- compositions with autodiff -------------------------------------------------------------


def _mlp_params(rng, sizes, dtype):
    return [(fnp.asarray((rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype)),
             fnp.asarray((0.1 * rng.standard_normal(n)).astype(dtype)))
            for m, n in zip(sizes[:-1], sizes[1:])]


def _mlp_loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = fnp.tanh(h @ w + b)
    w, b = params[-1]
    logits = h @ w + b
    logp = logits - fnp.log(fnp.sum(fnp.exp(logits - fnp.max(logits)))) - fnp.max(logits)
    return -fnp.sum(logp * y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_per_example_gradients_match_a_loop(dtype, x64, rng):
    params = _mlp_params(rng, (6, 5, 3), dtype)
    x = rng.standard_normal((8, 6)).astype(dtype)
    y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 8)]
    got = ft.vmap(ft.grad(_mlp_loss), in_axes=(None, 0, 0))(params, fnp.asarray(x),
                                                            fnp.asarray(y))
    want = [ft.grad(_mlp_loss)(params, fnp.asarray(x[i]), fnp.asarray(y[i])) for i in range(8)]
    want = tree_util.tree_map(lambda *g: np.stack([_np(a) for a in g]), *want)
    assert_trees_close(got, want, rtol=1e-4 if dtype == "float32" else 1e-10,
                       atol=1e-6 if dtype == "float32" else 1e-12)
    # value_and_grad under vmap, and the mean of per-example grads is the batch grad
    losses, _ = ft.vmap(ft.value_and_grad(_mlp_loss), in_axes=(None, 0, 0))(
        params, fnp.asarray(x), fnp.asarray(y))
    assert losses.shape == (8,)
    batch_grad = ft.grad(lambda p: fnp.mean(ft.vmap(_mlp_loss, in_axes=(None, 0, 0))(
        p, fnp.asarray(x), fnp.asarray(y))))(params)
    assert_trees_close(batch_grad, tree_util.tree_map(lambda g: np.mean(g, axis=0), want),
                       rtol=1e-4 if dtype == "float32" else 1e-10,
                       atol=1e-6 if dtype == "float32" else 1e-12)


def test_grad_of_vmap_and_vmap_of_grad_of_vmap(x64, rng):
    w = rng.standard_normal((3, 4))
    xs = rng.standard_normal((5, 2, 3))     # 5 groups of 2 examples

    def per_example(w, x):
        return fnp.sum(fnp.sin(x @ w) ** 2)

    def group_loss(w, xg):   # vmap inside the differentiated function
        return fnp.sum(ft.vmap(per_example, in_axes=(None, 0))(w, xg))

    g = ft.grad(group_loss)(fnp.asarray(w), fnp.asarray(xs[0]))
    jg = jax.jit(jax.grad(lambda w, xg: jnp.sum(jax.vmap(
        lambda w, x: jnp.sum(jnp.sin(x @ w) ** 2), in_axes=(None, 0))(w, xg))))(w, xs[0])
    np.testing.assert_allclose(_np(g), jg, rtol=1e-12)
    # vmap over groups of grad of a vmap; the batch axis of the groups in the middle
    xs_mid = np.moveaxis(xs, 0, 1)
    gs = ft.vmap(ft.grad(group_loss), in_axes=(None, 1))(fnp.asarray(w), fnp.asarray(xs_mid))
    want = np.stack([_np(ft.grad(group_loss)(fnp.asarray(w), fnp.asarray(xs[i])))
                     for i in range(5)])
    np.testing.assert_allclose(_np(gs), want, rtol=1e-12)
    # grad with respect to a mapped argument under vmap, second order too
    d2 = ft.vmap(ft.grad(ft.grad(lambda x: fnp.sin(x) * x)))(fnp.asarray(xs[:, 0, 0]))
    np.testing.assert_allclose(_np(d2), 2 * np.cos(xs[:, 0, 0]) - xs[:, 0, 0] * np.sin(xs[:, 0, 0]),
                               rtol=1e-12)


def test_jit_of_vmap_and_vmap_of_jit(rng):
    w = rng.standard_normal((3, 4)).astype(np.float32)
    xs = rng.standard_normal((5, 3)).astype(np.float32)

    def checks(w, xs):  # several checks in one compiled program
        f = lambda w, x: fnp.tanh(x @ w)  # noqa: E731
        return (ft.vmap(f, in_axes=(None, 0))(w, xs),
                ft.vmap(ft.grad(lambda w, x: fnp.sum(f(w, x))), in_axes=(None, 0))(w, xs),
                ft.vmap(ft.vmap(lambda a, b: a * b), in_axes=(0, None))(xs, xs[0]))
    eager = checks(fnp.asarray(w), fnp.asarray(xs))
    compiled = jit(checks)(fnp.asarray(w), fnp.asarray(xs))
    assert_trees_close(compiled, eager, rtol=1e-5)
    assert_trees_close(eager[0], np.tanh(xs @ w), rtol=1e-5)


# --- jacfwd / jacrev / hessian (vmap of jvp / vjp) vs jax ----------------------------------


def _pytree_fun(np_like):
    def f(p, x):
        h = np_like.tanh(x @ p["w"] + p["b"])
        return {"out": h * p["s"][0], "norm": np_like.sum(h ** 2)}, np_like.sin(x).T
    return f


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_jacobians_of_pytree_functions_match_jax(dtype, x64, rng):
    p = {"w": rng.standard_normal((3, 2)).astype(dtype), "b": rng.standard_normal(2).astype(dtype),
         "s": (np.asarray(1.5, dtype),)}
    x = rng.standard_normal((4, 3)).astype(dtype)
    fp = tree_util.tree_map(fnp.asarray, p)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    # the output's tree of the inputs' trees, as JAX nests them
    want = jax.tree_util.tree_map(
        np.asarray, jax.jit(jax.jacrev(_pytree_fun(jnp), argnums=(0, 1)))(p, x))
    want0 = tree_util.tree_map(lambda pair: pair[0], want, is_leaf=lambda t: (
        isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], dict) and "w" in t[0]))
    for ft_jac in (ft.jacfwd, ft.jacrev):
        assert_trees_close(ft_jac(_pytree_fun(fnp), argnums=(0, 1))(fp, fnp.asarray(x)), want,
                           **tol)
        assert_trees_close(ft_jac(_pytree_fun(fnp))(fp, fnp.asarray(x)), want0, **tol)


def test_hessian_and_has_aux_match_jax(x64, rng):
    x = rng.standard_normal(4)
    y = rng.standard_normal((2, 2))

    def f(np_like):
        return lambda x, y: np_like.sum(np_like.sin(x) ** 2) * np_like.prod(np_like.cos(y))

    h = ft.hessian(f(fnp), argnums=(0, 1))(fnp.asarray(x), fnp.asarray(y))
    jh = jax.jit(jax.hessian(f(jnp), argnums=(0, 1)))(x, y)
    assert_trees_close(h, jax.tree_util.tree_map(np.asarray, jh), rtol=1e-10, atol=1e-12)
    want = np.diag(np.exp(x) * x[0])
    want[:, 0] += np.exp(x)
    for ft_jac in (ft.jacfwd, ft.jacrev):
        j, aux = ft_jac(lambda x: (fnp.exp(x) * x[0], {"a": x * 2.0}), has_aux=True)(fnp.asarray(x))
        np.testing.assert_allclose(_np(j), want, rtol=1e-12)
        np.testing.assert_allclose(_np(aux["a"]), 2.0 * x)
    # an empty input leaf and a scalar input
    for ft_jac in (ft.jacfwd, ft.jacrev):
        j = ft_jac(lambda a, b: fnp.sum(a) + b * 2.0, argnums=(0, 1))(fnp.zeros((0,)),
                                                                      fnp.asarray(1.0))
        assert j[0].shape == (0,) and float(j[1]) == 2.0


def test_vmap_of_jacobians(x64, rng):
    xs = rng.standard_normal((3, 4))
    f = lambda x: fnp.sin(x) * fnp.sum(x ** 2)  # noqa: E731
    want = np.stack([np.diag(np.cos(x) * np.sum(x ** 2)) + np.outer(np.sin(x), 2 * x)
                     for x in xs])
    for ft_jac in (ft.jacfwd, ft.jacrev):
        np.testing.assert_allclose(_np(ft.vmap(ft_jac(f))(fnp.asarray(xs))), want, rtol=1e-12)
    got = ft.vmap(ft.hessian(lambda x: fnp.sum(fnp.sin(x) * x)), in_axes=1)(fnp.asarray(xs))
    want = np.stack([np.diag(2 * np.cos(x) - x * np.sin(x)) for x in xs.T])
    np.testing.assert_allclose(_np(got), want, rtol=1e-12, atol=1e-14)


# --- custom_jvp / custom_vjp under vmap and jit ---------------------------------------------


def _custom_fns():
    calls = {"jvp": 0, "bwd": 0}

    @ft.custom_jvp
    def f(x, y):
        return fnp.sin(x) * y

    @f.defjvp
    def f_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        calls["jvp"] += 1
        # twice the true derivative, so a test can tell the rule was used
        return f(x, y), 2.0 * (fnp.cos(x) * y * tx + fnp.sin(x) * ty)

    @ft.custom_vjp
    def g(x, y):
        return fnp.exp(x) * y

    def g_fwd(x, y):
        e = fnp.exp(x)
        return e * y, (e, y)

    def g_bwd(res, ct):
        e, y = res
        calls["bwd"] += 1
        return (3.0 * ct * e * y, ct * e)  # three times the true x-derivative

    g.defvjp(g_fwd, g_bwd)
    return f, g, calls


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_custom_rules_under_vmap(dtype, x64, rng):
    f, g, calls = _custom_fns()
    xs = rng.standard_normal((5, 3)).astype(dtype)
    y = rng.standard_normal(3).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    for fun in (f, g):
        for in_axes in ((0, None), (1, 0), (None, 0)):
            a = xs if in_axes[0] != 1 else xs.T
            b = y if in_axes[1] is None else xs
            got = ft.vmap(fun, in_axes=in_axes)(fnp.asarray(a), fnp.asarray(b))
            assert_trees_close(got, loop_vmap(fun, in_axes)(a, b), **tol)
    # nested vmap of a custom function
    got = ft.vmap(ft.vmap(f, in_axes=(0, None)), in_axes=(1, None))(fnp.asarray(xs), fnp.asarray(y[0]))
    np.testing.assert_allclose(_np(got), np.sin(xs.T) * y[0], **tol)
    # vmap of grad and grad of vmap both use the rules (2x and 3x the true x-derivative)
    true_f = np.cos(xs) * y
    true_g = np.exp(xs) * y
    for fun, scale, true in ((f, 2.0, true_f), (g, 3.0, true_g)):
        loss = lambda x, y, fun=fun: fnp.sum(fun(x, y))  # noqa: E731
        got = ft.vmap(ft.grad(loss), in_axes=(0, None))(fnp.asarray(xs), fnp.asarray(y))
        np.testing.assert_allclose(_np(got), scale * true, **tol)
        got = ft.grad(lambda x: fnp.sum(ft.vmap(fun, in_axes=(0, None))(x, fnp.asarray(y))))(
            fnp.asarray(xs))
        np.testing.assert_allclose(_np(got), scale * true, **tol)
        # the unmapped argument's gradient sums over the examples
        gy = ft.grad(lambda y: fnp.sum(ft.vmap(fun, in_axes=(0, None))(fnp.asarray(xs), y)))(
            fnp.asarray(y))
        gy_loop = sum(_np(ft.grad(lambda y, i=i: fnp.sum(fun(fnp.asarray(xs[i]), y)))(
            fnp.asarray(y))) for i in range(5))
        np.testing.assert_allclose(_np(gy), gy_loop, **tol)
        # vmap of jacrev (vmap of the pullback over the basis) and vmap(grad(vmap))
        got = ft.vmap(ft.jacrev(lambda x: fun(x, fnp.asarray(y))))(fnp.asarray(xs))
        np.testing.assert_allclose(_np(got), np.stack([np.diag(r) for r in scale * true]), **tol)
        got = ft.vmap(ft.grad(lambda x, yj: fnp.sum(ft.vmap(fun, in_axes=(0, None))(x, yj))),
                      in_axes=(1, 0))(fnp.asarray(xs), fnp.asarray(y))
        np.testing.assert_allclose(_np(got), scale * true.T, **tol)
    # jacfwd uses the custom_jvp rule under vmap (a batched jvp rule)
    got = ft.jacfwd(lambda x: f(x, fnp.asarray(y)))(fnp.asarray(xs[0]))
    np.testing.assert_allclose(_np(got), np.diag(2.0 * true_f[0]), **tol)
    assert calls["jvp"] and calls["bwd"]


def test_custom_functions_under_jit(rng):
    f, g, _ = _custom_fns()
    xs = fnp.asarray(rng.standard_normal((5, 3)).astype(np.float32))
    y = fnp.asarray(rng.standard_normal(3).astype(np.float32))

    def checks(xs, y):
        loss = lambda x: fnp.sum(f(x, y) + g(x, y))  # noqa: E731
        return (f(xs, y), g(xs, y), ft.vmap(f, in_axes=(0, None))(xs, y),
                ft.vmap(g, in_axes=(1, 0))(xs.T, xs), ft.grad(loss)(xs),
                ft.vmap(ft.grad(loss))(xs))
    eager = checks(xs, y)
    compiled = jit(checks)(xs, y)
    assert_trees_close(compiled, eager, rtol=1e-5, atol=1e-6)
    text = _lowered_text(lambda x: f(x, y) + g(x, y), xs)
    assert "custom" not in text and "stablehlo.sine" in text and "stablehlo.exponential" in text


def _lowered_text(fun, *args):
    from functrans.interpreters.lowering import lower_ir
    return lower_ir(ft.make_ir(fun)(*args)).text


def test_custom_vjp_forward_mode_error_under_vmap_and_batched_lin_transposes():
    _, g, calls = _custom_fns()
    _, f_jvp = ft.linearize(lambda x: g(x, fnp.ones(3)), fnp.ones(3))
    with pytest.raises(TypeError, match="forward-mode"):
        ft.vmap(f_jvp)(fnp.ones((2, 3)))
    # the batched custom_vjp_lin equation, transposed, maps the user's bwd
    from functrans.custom import custom_vjp_lin_p
    from functrans.core import ShapedArray
    bwd = lambda res, cts: [cts[0] * res[0]]  # noqa: E731
    bwd.fn_name = "g"
    closed = ft.make_ir(lambda r, t: custom_vjp_lin_p.batch(
        [r, t], [1, None], num_res=1, bwd=bwd, out_avals=(ShapedArray((3,), np.float32),))[0])(
        fnp.ones((3, 4)), fnp.ones(3))
    (eqn,) = [e for e in closed.eqns if e.prim is custom_vjp_lin_p]
    assert eqn.outvars[0].aval.shape == (4, 3)
    r = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    ct = np.ones((4, 3), np.float32)
    out = custom_vjp_lin_p.transpose([fnp.asarray(ct)], fnp.asarray(r), None, **eqn.params)
    np.testing.assert_allclose(_np(out[1]), r * ct)


def test_every_primitive_has_a_batch_rule():
    from functrans import core
    import functrans.custom  # noqa: F401  (defines the custom-rule primitives)
    # iota has no operands, so nothing can ever be mapped over it
    no_batch = {"iota"}
    missing = sorted(n for n, p in core.all_primitives().items()
                     if p.batch is None and n not in no_batch and not n.startswith("test_"))
    assert missing == [], f"primitives without a batch rule: {missing}"
