"""Collectives over named vmap axes (psum, pmean, pmax, pmin, all_gather, axis_index,
axis_size) against jax as the oracle, under grad, jit, control flow and nested vmaps,
and against explicit loops where jax has no rule (the derivative of pmax)."""

from __future__ import annotations

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax

jax = pytest.importorskip("jax")
jnp = jax.numpy

RING = [(k, (k + 1) % 4) for k in range(4)]
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3)).astype(np.float32)        # 4 examples along "i"
Y = RNG.standard_normal((2, 5, 3)).astype(np.float32)     # "i" of 2, then "j" of 5


def _close(got, want):
    got, want = ft.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)


# Each case builds the same program from (transformations, numpy, lax) of either library.
ONE_AXIS = {
    "psum": lambda T, n, L: T.vmap(lambda a: a / L.psum(a, "i"), axis_name="i"),
    "pmean": lambda T, n, L: T.vmap(lambda a: a - L.pmean(a, "i"), axis_name="i"),
    "pmax": lambda T, n, L: T.vmap(lambda a: L.pmax(a, "i") * a, axis_name="i"),
    "pmin": lambda T, n, L: T.vmap(lambda a: L.pmin(a, "i"), axis_name="i"),
    "psum-tree": lambda T, n, L: T.vmap(lambda a: L.psum({"u": a, "v": (a * 2,)}, "i"),
                                        axis_name="i"),
    "psum-constant": lambda T, n, L: T.vmap(lambda a: L.psum(1.0, "i") * a, axis_name="i"),
    "psum-int": lambda T, n, L: T.vmap(lambda a: L.psum(1, "i") + 0 * a.astype(int),
                                       axis_name="i"),
    "psum-bool": lambda T, n, L: T.vmap(lambda a: L.psum(a > 0, "i"), axis_name="i"),
    "all_gather": lambda T, n, L: T.vmap(lambda a: L.all_gather(a, "i"), axis_name="i"),
    "all_gather-axis1": lambda T, n, L: T.vmap(lambda a: L.all_gather(a, "i", axis=1),
                                               axis_name="i"),
    "all_gather-tiled": lambda T, n, L: T.vmap(lambda a: L.all_gather(a, "i", tiled=True),
                                               axis_name="i"),
    "axis_index": lambda T, n, L: T.vmap(lambda a: a * L.axis_index("i"), axis_name="i"),
    "ppermute-ring": lambda T, n, L: T.vmap(lambda a: L.ppermute(a, "i", RING), axis_name="i"),
    "psum_scatter": lambda T, n, L: T.vmap(lambda a: L.psum_scatter(n.tile(a, (4, 1)), "i"),
                                           axis_name="i"),
    "psum_scatter-tiled": lambda T, n, L: T.vmap(
        lambda a: L.psum_scatter(n.tile(a, 4), "i", tiled=True), axis_name="i"),
    "psum_scatter-dim1": lambda T, n, L: T.vmap(lambda a: L.psum_scatter(
        n.tile(a[:, None], (1, 4)), "i", scatter_dimension=1), axis_name="i"),
    "vmap(grad(ppermute))": lambda T, n, L: T.vmap(
        T.grad(lambda a: n.sum(n.sin(L.ppermute(a, "i", RING)) * a)), axis_name="i"),
    "vmap(grad(psum_scatter))": lambda T, n, L: T.vmap(T.grad(
        lambda a: n.sum(n.sin(L.psum_scatter(n.tile(a, 4), "i", tiled=True)))), axis_name="i"),
    "in_axes-1": lambda T, n, L: T.vmap(lambda a: a / L.psum(a, "i"), in_axes=1, out_axes=1,
                                        axis_name="i"),
    # autodiff inside the vmap: each example's gradient includes every example's use of
    # its input through the collective (JAX's transpose of psum is psum)
    "vmap(grad(psum))": lambda T, n, L: T.vmap(
        T.grad(lambda a: n.sum(n.sin(a) * L.psum(a ** 2, "i"))), axis_name="i"),
    "vmap(grad(pmean))": lambda T, n, L: T.vmap(
        T.grad(lambda a: n.sum((a - L.pmean(a, "i")) ** 2)), axis_name="i"),
    "vmap(grad(all_gather))": lambda T, n, L: T.vmap(
        T.grad(lambda a: n.sum(L.all_gather(a, "i") * n.arange(4.0)[:, None])), axis_name="i"),
    "vmap(grad(all_gather tiled))": lambda T, n, L: T.vmap(
        T.grad(lambda a: n.sum(n.cos(L.all_gather(a, "i", tiled=True)))), axis_name="i"),
    "vmap(jvp)": lambda T, n, L: T.vmap(
        lambda a: T.jvp(lambda b: L.psum(b * b, "i"), (a,), (n.ones_like(a),)), axis_name="i"),
    # the vmap inside autodiff
    "grad(vmap)": lambda T, n, L: T.grad(lambda xs: n.sum(
        T.vmap(lambda a: n.tanh(a) * L.psum(a, "i"), axis_name="i")(xs))),
    "jacfwd(vmap)": lambda T, n, L: T.jacfwd(
        lambda xs: T.vmap(lambda a: a * L.pmean(a, "i"), axis_name="i")(xs)),
    # jit around and inside, control flow inside
    "jit(vmap(grad))": lambda T, n, L: T.jit(T.vmap(
        T.grad(lambda a: n.sum(n.sin(a) * L.psum(a ** 2, "i"))), axis_name="i")),
    "vmap(jit)": lambda T, n, L: T.vmap(T.jit(lambda a: a / L.psum(a, "i")), axis_name="i"),
    "vmap(cond)": lambda T, n, L: T.vmap(lambda a: L.cond(
        a[0] > 0, lambda b: L.psum(b, "i"), lambda b: b * 2.0, a), axis_name="i"),
    "vmap(fori_loop)": lambda T, n, L: T.vmap(lambda a: L.fori_loop(
        0, 3, lambda k, c: c + L.pmean(c, "i"), a), axis_name="i"),
    "vmap(scan)": lambda T, n, L: T.vmap(lambda a: L.scan(
        lambda c, r: (c + L.psum(r, "i"), c), 0.0, a)[1], axis_name="i"),
    # operands the axis does not batch: the axis still runs the collective
    "vmap(jit) of a constant": lambda T, n, L: T.vmap(
        lambda a: T.jit(lambda c: L.psum(c, "i"))(2.0) * a, axis_name="i"),
    "vmap(cond) of a constant": lambda T, n, L: T.vmap(lambda a: L.cond(
        True, lambda c: L.psum(c, "i"), lambda c: c, 2.0) + a, axis_name="i"),
}

TWO_AXES = {
    "outer psum": lambda T, n, L: T.vmap(T.vmap(lambda a: L.psum(a, "i"), axis_name="j"),
                                         axis_name="i"),
    "inner psum": lambda T, n, L: T.vmap(T.vmap(lambda a: L.psum(a, "j"), axis_name="j"),
                                         axis_name="i"),
    "psum over both": lambda T, n, L: T.vmap(T.vmap(lambda a: L.psum(a, ("i", "j")),
                                                    axis_name="j"), axis_name="i"),
    "pmax over both": lambda T, n, L: T.vmap(T.vmap(lambda a: L.pmax(a, ("i", "j")) - a,
                                                    axis_name="j"), axis_name="i"),
    "outer all_gather": lambda T, n, L: T.vmap(T.vmap(lambda a: L.all_gather(a, "i"),
                                                      axis_name="j"), axis_name="i"),
    "both axis_index": lambda T, n, L: T.vmap(T.vmap(
        lambda a: a * L.axis_index("i") + L.axis_index("j"), axis_name="j"), axis_name="i"),
    "unnamed inner": lambda T, n, L: T.vmap(T.vmap(lambda a: a + L.psum(a, "i")),
                                            axis_name="i"),
    "grad inside both": lambda T, n, L: T.vmap(T.vmap(T.grad(
        lambda a: n.sum(a * L.psum(a, "i") + L.pmean(a, "j") ** 2)), axis_name="j"),
        axis_name="i"),
}


@pytest.mark.parametrize("name", list(ONE_AXIS))
def test_one_axis_matches_jax(name):
    make = ONE_AXIS[name]
    _close(make(ft, fnp, lax)(fnp.asarray(X)), make(jax, jnp, jax.lax)(X))


@pytest.mark.parametrize("name", list(TWO_AXES))
def test_two_axes_match_jax(name):
    make = TWO_AXES[name]
    _close(make(ft, fnp, lax)(fnp.asarray(Y)), make(jax, jnp, jax.lax)(Y))


def test_ppermute_with_a_partial_permutation():
    # jax's vmap rejects a permutation that does not cover the axis; pmap (and functrans's
    # vmap) send zeros to an example nothing is sent to. Against a loop:
    perm = [(0, 2), (3, 1)]
    got = np.asarray(ft.vmap(lambda a: lax.ppermute(a, "i", perm), axis_name="i")(
        fnp.asarray(X)))
    want = np.zeros_like(X)
    for src, dst in perm:
        want[dst] = X[src]
    np.testing.assert_array_equal(got, want)
    # and its transpose sends the cotangents back
    g = ft.grad(lambda xs: fnp.sum(ft.vmap(lambda a: lax.ppermute(a, "i", perm),
                                           axis_name="i")(xs) * fnp.arange(4.0)[:, None]))(
        fnp.asarray(X))
    want_g = np.zeros_like(X)
    for src, dst in perm:
        want_g[src] = dst
    np.testing.assert_array_equal(np.asarray(g), want_g)


def test_axis_size():
    got = ft.vmap(ft.vmap(lambda a: a * lax.axis_size("i") + lax.axis_size(("i", "j")),
                          axis_name="j"), axis_name="i")(fnp.asarray(Y))
    np.testing.assert_allclose(np.asarray(got), Y * 2 + 10)


@pytest.mark.parametrize("reduce", ["pmax", "pmin"])
def test_grad_of_pmax_pmin_against_the_summed_loss(reduce):
    # jax has no derivative for pmax/pmin; ours comes from all_gather's. Per example it is
    # the gradient of the sum of every example's loss (as psum's is): compare with jax.grad
    # of that sum, the collective written as a max/min over the examples.
    def loss(a, m):
        return jnp.sum(jnp.sin(a) * m)
    red = {"pmax": jnp.max, "pmin": jnp.min}[reduce]
    want = jax.grad(lambda xs: sum(loss(xs[i], red(xs, axis=0)) for i in range(4)))(X)
    got = ft.vmap(ft.grad(lambda a: fnp.sum(fnp.sin(a) * getattr(lax, reduce)(a, "i"))),
                  axis_name="i")(fnp.asarray(X))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-5, atol=2e-5)


def test_a_per_device_training_step_matches_the_full_batch_step():
    # data parallelism written JAX's way: each "device" (example of the vmap axis) takes
    # a shard of the batch, computes its gradient and averages it with pmean; the result
    # is the full batch's gradient on every device
    rng = np.random.default_rng(1)
    w = fnp.asarray(rng.standard_normal((3, 2)).astype(np.float32))
    xs = fnp.asarray(rng.standard_normal((4, 8, 3)).astype(np.float32))    # 4 shards of 8
    ys = fnp.asarray(rng.standard_normal((4, 8, 2)).astype(np.float32))

    def loss(w, x, y):
        return fnp.mean((fnp.tanh(x @ w) - y) ** 2)

    def step(w, x, y):
        return w - 0.1 * lax.pmean(ft.grad(loss)(w, x, y), "dev")
    new = ft.jit(ft.vmap(step, in_axes=(None, 0, 0), axis_name="dev"))(w, xs, ys)
    full = w - 0.1 * ft.grad(loss)(w, xs.reshape(32, 3), ys.reshape(32, 2))
    for k in range(4):
        np.testing.assert_allclose(np.asarray(new[k]), np.asarray(full), rtol=1e-5, atol=1e-6)


def test_errors_name_the_axis():
    x = fnp.asarray(X)
    with pytest.raises(NameError, match=r"psum: unbound axis name 'i'.*axis_name='i'"):
        lax.psum(x, "i")
    with pytest.raises(NameError, match="unbound axis name 'j'"):
        ft.vmap(lambda a: lax.pmean(a, "j"), axis_name="i")(x)
    with pytest.raises(NameError, match="axis_index: unbound axis name 'i'"):
        ft.vmap(lambda a: lax.axis_index("i"))(x)
    with pytest.raises(NameError, match="all_gather: unbound"):
        lax.all_gather(x, "i")
    with pytest.raises(TypeError, match="axis_name must be hashable"):
        ft.vmap(lambda a: a, axis_name=["i"])(x)
    with pytest.raises(ValueError, match="all_gather: axis 3 is out of range"):
        ft.vmap(lambda a: lax.all_gather(a, "i", axis=3), axis_name="i")(x)
    with pytest.raises(ValueError, match=r"ppermute: the pair \(0, 4\) is out of range"):
        ft.vmap(lambda a: lax.ppermute(a, "i", [(0, 4)]), axis_name="i")(x)
    with pytest.raises(ValueError, match="repeats a destination"):
        ft.vmap(lambda a: lax.ppermute(a, "i", [(0, 1), (2, 1)]), axis_name="i")(x)
    with pytest.raises(ValueError, match=r"psum_scatter: dimension 0 of the operand \(3,\) "
                                         "must equal the axis size 4"):
        ft.vmap(lambda a: lax.psum_scatter(a, "i"), axis_name="i")(x)
    with pytest.raises(ValueError, match="must be divisible by the axis size 4"):
        ft.vmap(lambda a: lax.psum_scatter(a, "i", tiled=True), axis_name="i")(x)
    # a jitted function traced inside the vmap, then called outside it
    f = ft.jit(lambda a: lax.psum(a, "i"))
    np.testing.assert_allclose(np.asarray(ft.vmap(f, axis_name="i")(x)),
                               np.broadcast_to(X.sum(0), X.shape), rtol=1e-6)
    with pytest.raises(NameError, match="unbound axis name 'i'"):
        f(x)
