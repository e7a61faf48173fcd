"""Derivatives of reductions, cumulative ops, sorting and contractions.

One table drives the checks: every row (a function of functrans.lax or
functrans.numpy built on reduce_*, cum*, sort, top_k or dot_general, with its
inputs) is checked against central differences up to second order in forward
and reverse mode in float64, at first order in float32 (with cotangent dtypes),
and its transposed IR typechecks. Around the table: exact values where the
function has zeros or ties (products, max/min), jax.grad as an oracle for
networks, random dot_general dimension numbers against jax.vjp, jacfwd vs
jacrev, and symmetric Hessians.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import functrans as ft
import functrans.numpy as fnp
from functrans import ir, lax
from functrans.scipy.special import logsumexp
from functrans.test_util import check_grads

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")


def _np(x):
    return np.asarray(x)


# --- inputs --------------------------------------------------------------------------------------


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def distinct(*shape):
    """Values at least 0.3 apart (max, sort, ... stay away from ties under perturbation)."""
    def make(rng):
        n = int(np.prod(shape, dtype=int))
        return (rng.permutation(n) * 0.3 - 0.15 * n + 0.05).reshape(shape)
    return make


def with_zeros(*shape, zeros=((0, 1),)):
    """Values of magnitude in [0.5, 1.5] with random signs and exact zeros at ``zeros``."""
    def make(rng):
        x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        for idx in zeros:
            x[idx] = 0.0
        return x
    return make


def uniform(lo, hi, *shape):
    return lambda rng: rng.uniform(lo, hi, shape)


# --- the table -----------------------------------------------------------------------------------

DN_ODD = (((2, 0), (1, 3)), ((1,), (0,)))  # contracting dims out of order, batch not leading

CASES = {
    # reduce_sum and what sits on it
    "sum_all": (lambda x: fnp.sum(x), [normal(3, 4)]),
    "sum_0d": (lambda x: fnp.sum(x * x), [normal()]),
    "sum_neg_axis": (lambda x: fnp.sum(x, axis=-1), [normal(2, 3, 4)]),
    "sum_axes_keepdims": (lambda x: fnp.sum(x, axis=(0, 2), keepdims=True), [normal(2, 3, 4)]),
    "lax_reduce_sum_sq": (lambda x: lax.reduce_sum(x * x, (1,)), [normal(3, 4)]),
    "mean": (lambda x: fnp.mean(x * x, axis=0), [normal(3, 4)]),
    "var": (lambda x: fnp.var(x, axis=-1, ddof=1), [normal(3, 4)]),
    "std": (lambda x: fnp.std(x), [normal(2, 5)]),
    # reduce_prod, with and without zeros
    "prod_axis": (lambda x: fnp.prod(x, axis=1), [with_zeros(3, 4, zeros=())]),
    "prod_one_zero": (lambda x: fnp.prod(x, axis=-1), [with_zeros(3, 4, zeros=((0, 1),))]),
    "prod_two_zeros": (lambda x: fnp.prod(x, axis=1),
                       [with_zeros(3, 4, zeros=((0, 1), (0, 3), (2, 0)))]),
    "prod_all_zero": (lambda x: fnp.prod(x), [with_zeros(2, 3, zeros=((1, 2),))]),
    "prod_split_axes": (lambda x: fnp.prod(x, axis=(0, 2)),
                        [with_zeros(2, 3, 2, zeros=((0, 1, 1),))]),
    "prod_0d": (lambda x: fnp.prod(x) * x, [normal()]),
    # reduce_max / reduce_min (no ties: see the tie tests below)
    "max_axis": (lambda x: fnp.max(x, axis=0), [distinct(3, 4)]),
    "max_all": (lambda x: fnp.max(x * x), [distinct(2, 3)]),
    "min_neg_axis": (lambda x: fnp.min(x, axis=-1), [distinct(2, 3, 4)]),
    "lax_reduce_min": (lambda x: lax.reduce_min(fnp.sin(x), (0, 1)), [distinct(2, 3)]),
    "amax_keepdims": (lambda x: x - fnp.max(x, axis=1, keepdims=True), [distinct(3, 4)]),
    # cumulative
    "cumsum": (lambda x: fnp.cumsum(x * x, axis=-1), [normal(3, 5)]),
    "cumsum_reverse": (lambda x: lax.cumsum(x, 0, reverse=True) ** 2, [normal(5, 2)]),
    "cumsum_flat": (lambda x: fnp.cumsum(x), [normal(2, 3)]),
    "cumprod": (lambda x: fnp.cumprod(x, axis=1), [with_zeros(2, 7, zeros=())]),
    "cumprod_zeros": (lambda x: fnp.cumprod(x, axis=-1),
                      [with_zeros(3, 6, zeros=((0, 2), (1, 1), (1, 4)))]),
    "cumprod_reverse": (lambda x: lax.cumprod(x, 0, reverse=True),
                        [with_zeros(5, 2, zeros=((3, 0),))]),
    "cummax": (lambda x: lax.cummax(x, 1), [distinct(3, 6)]),
    "cummin_reverse": (lambda x: lax.cummin(x, 0, reverse=True), [distinct(7, 2)]),
    "cummax_reverse": (lambda x: lax.cummax(x * x, 0, reverse=True), [distinct(5)]),
    # logsumexp
    "logsumexp_all": (lambda x: logsumexp(x), [normal(3, 4)]),
    "logsumexp_axis": (lambda x: logsumexp(x, axis=-1), [normal(3, 4)]),
    "logsumexp_b": (lambda x, b: logsumexp(x, axis=0, b=b), [normal(3, 2), uniform(0.5, 2, 3, 2)]),
    # sort, top_k, order statistics
    "sort": (lambda x: fnp.sort(x) ** 2, [distinct(7)]),
    "sort_axis0": (lambda x: fnp.sort(x, axis=0), [distinct(4, 3)]),
    "sort_descending": (lambda x: fnp.sort(x, axis=-1, descending=True) * fnp.arange(3.0),
                        [distinct(2, 3)]),
    "sort_key_val": (lambda k, v: lax.sort((k, v), num_keys=1), [distinct(2, 5), normal(2, 5)]),
    "sort_two_keys": (lambda a, b: fnp.prod(fnp.stack(lax.sort((a, b), num_keys=2)), axis=0),
                      [distinct(6), normal(6)]),
    "top_k": (lambda x: lax.top_k(x, 3)[0], [distinct(2, 6)]),
    "median": (lambda x: fnp.median(x, axis=-1), [distinct(3, 4)]),
    "median_odd": (lambda x: fnp.median(x), [distinct(5)]),
    "quantile_static": (lambda x: fnp.quantile(x, np.array([0.1, 0.5, 0.85]), axis=0),
                        [distinct(6, 2)]),
    "quantile_traced_q": (lambda x, q: fnp.quantile(x, q), [distinct(6), uniform(0.05, 0.15, 2)]),
    # dot_general and the numpy contractions
    "matmul": (lambda a, b: a @ b, [normal(3, 4), normal(4, 2)]),
    "matmul_batch": (lambda a, b: fnp.matmul(a, b), [normal(2, 3, 4), normal(2, 4, 5)]),
    "matmul_broadcast": (lambda a, b: fnp.matmul(a, b), [normal(3, 4), normal(2, 4, 2)]),
    "matvec": (lambda a, b: a @ b, [normal(3, 4), normal(4)]),
    "vecmat": (lambda a, b: a @ b, [normal(4), normal(4, 3)]),
    "dot": (lambda a, b: fnp.dot(a, b), [normal(2, 3), normal(3)]),
    "vdot": (lambda a, b: fnp.vdot(a, b), [normal(2, 3), normal(2, 3)]),
    "outer": (lambda a, b: fnp.outer(a, b), [normal(3), normal(4)]),
    "inner": (lambda a, b: fnp.inner(a, b), [normal(2, 3), normal(4, 3)]),
    "tensordot": (lambda a, b: fnp.tensordot(a, b, axes=([1, 0], [0, 2])),
                  [normal(3, 2, 4), normal(2, 5, 3)]),
    "einsum_batch": (lambda a, b: fnp.einsum("bij,bjk->bik", a, b),
                     [normal(2, 3, 4), normal(2, 4, 2)]),
    "einsum_trace": (lambda a, b: fnp.einsum("ij,jk,ki->", a, b, a.T),
                     [normal(3, 3), normal(3, 3)]),
    "einsum_odd": (lambda a, b: fnp.einsum("ikj,kj->i", a, b), [normal(3, 2, 4), normal(2, 4)]),
    "dot_general_odd": (lambda a, b: lax.dot_general(a, b, DN_ODD),
                        [normal(3, 2, 4, 5), normal(2, 4, 6, 3)]),
    "dot_general_self": (lambda a: lax.dot_general(a, a, (((1,), (1,)), ((0,), (0,)))),
                         [normal(2, 3)]),
    "norm_vector": (lambda x: fnp.linalg.norm(x), [normal(5)]),
    "norm_fro_axis": (lambda x: fnp.linalg.norm(x, axis=(-2, -1)), [normal(2, 3, 3)]),
    "norm_inf": (lambda x: fnp.linalg.norm(x, ord=np.inf), [distinct(5)]),
    "norm_matrix_1": (lambda x: fnp.linalg.norm(x, ord=1), [distinct(3, 3)]),
}


def _args(name, dtype):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return tuple(fnp.asarray(make(rng).astype(dtype)) for make in CASES[name][1])


def _ones_like_out(out):
    return ft.tree_map(lambda o: fnp.ones(o.shape, o.dtype), out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_order_float64(name, x64):
    f = CASES[name][0]
    args = _args(name, np.float64)
    check_grads(f, args, order=2, modes=("fwd", "rev"))
    out, f_vjp = ft.vjp(f, *args)
    back = ft.make_ir(f_vjp)(_ones_like_out(out))
    ir.typecheck(back.ir)
    # The rules are traceable: jvp and grad-of-sum staged out whole, then evaluated.
    fwd = ft.make_ir(lambda *a: ft.jvp(f, a, a)[1])(*args)
    ir.typecheck(fwd.ir)
    _, want = ft.jvp(f, args, args)
    got = ir.eval_ir(fwd.ir, fwd.consts, list(args))
    for g, w in zip(got, ft.tree_leaves(want)):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_order_float32(name):
    f = CASES[name][0]
    args = _args(name, np.float32)
    check_grads(f, args, order=1, modes=("fwd", "rev"))
    out, f_vjp = ft.vjp(f, *args)
    for a, ct in zip(args, f_vjp(_ones_like_out(out))):
        assert ct.dtype == a.dtype and ct.shape == a.shape


# --- exact values at zeros and ties --------------------------------------------------------------


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 2.0], [0.0, 0.0, 0.0, 1.0],
                               [1.5, -2.0, 3.0, 0.5]])
def test_prod_and_cumprod_gradients_with_zeros_match_jax(x):
    x = np.asarray(x, np.float32)
    g = ft.grad(lambda x: fnp.prod(x))(fnp.asarray(x))
    np.testing.assert_allclose(_np(g), jax.jit(jax.grad(jnp.prod))(x), rtol=1e-6)
    w = np.arange(1.0, 5.0, dtype=np.float32)
    def f(m):
        return lambda x: m.sum(m.cumprod(x) * w)
    np.testing.assert_allclose(_np(ft.grad(f(fnp))(fnp.asarray(x))), jax.jit(jax.grad(f(jnp)))(x),
                               rtol=1e-6)
    h = ft.hessian(lambda x: fnp.prod(x))(fnp.asarray(x))
    np.testing.assert_allclose(_np(h), jax.jit(jax.hessian(jnp.prod))(x), rtol=1e-6)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 1, 0])
def test_max_and_min_average_the_tangent_over_ties_like_jax(op, axis):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], np.float32)

    def f(m):
        return lambda x: m.sum(getattr(m, op)(x, axis=axis) ** 2)
    g = ft.grad(f(fnp))(fnp.asarray(x))
    np.testing.assert_allclose(_np(g), jax.jit(jax.grad(f(jnp)))(x), rtol=1e-6)
    _, t = ft.jvp(lambda x: fnp.max(x), (fnp.asarray([1.0, 3.0, 3.0]),),
                  (fnp.asarray([5.0, 1.0, 2.0]),))
    assert float(t) == 1.5


def test_sort_and_top_k_permute_tangents_and_cotangents():
    x = np.array([0.3, -1.0, 2.0, 0.5], np.float32)
    w = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    g = ft.grad(lambda x: fnp.sum(fnp.sort(x) * w))(fnp.asarray(x))
    np.testing.assert_allclose(_np(g), [2.0, 1.0, 4.0, 3.0])
    (vals, idx), (vals_dot, idx_dot) = ft.jvp(lambda x: lax.top_k(x, 2), (fnp.asarray(x),),
                                              (fnp.asarray(w),))
    assert _np(idx).tolist() == [2, 3]
    np.testing.assert_allclose(_np(vals), [2.0, 0.5])
    np.testing.assert_allclose(_np(vals_dot), [3.0, 4.0])
    np.testing.assert_array_equal(_np(idx_dot), 0)  # integer indices have a zero tangent
    # Only the keys' order matters: the value operand's tangent rides along.
    k = fnp.asarray([2.0, 1.0, 3.0])
    _, (tk, tv) = ft.jvp(lambda v: lax.sort((k, v), num_keys=1), (fnp.asarray([10.0, 20.0, 30.0]),),
                         (fnp.asarray([1.0, 2.0, 3.0]),))
    np.testing.assert_array_equal(_np(tk), 0)
    np.testing.assert_array_equal(_np(tv), [2.0, 1.0, 3.0])


def test_piecewise_constant_reductions_have_zero_tangents():
    x = fnp.asarray([[0.5, 2.0, -1.0], [3.0, 0.0, 1.0]])
    t = fnp.ones((2, 3))
    for fn in (lambda x: fnp.argmax(x, axis=1), lambda x: fnp.argmin(x),
               lambda x: lax.argmax(x, 0, fnp.int32)):
        y, dy = ft.jvp(fn, (x,), (t,))
        assert dy.shape == y.shape
        np.testing.assert_array_equal(_np(dy), 0)
    b = fnp.asarray([True, False, True])
    for fn in (lambda b: lax.reduce_and(b, (0,)), lambda b: lax.reduce_or(b, (0,))):
        _, db = ft.jvp(fn, (b,), (b,))
        assert not bool(db)
    g = ft.grad(lambda x: fnp.sum(x * fnp.argmax(x, axis=1)[:, None]))(x)
    np.testing.assert_array_equal(_np(g), [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


EMPTY = {
    "prod": lambda x: fnp.prod(x, axis=1), "max": lambda x: lax.reduce_max(x, (1,)),
    "cumprod": lambda x: fnp.cumprod(x, axis=1), "cummax": lambda x: lax.cummax(x, 1),
    "cummin_rev": lambda x: lax.cummin(x, 1, reverse=True), "sort": lambda x: fnp.sort(x),
    "top_k": lambda x: lax.top_k(x, 0)[0], "matmul": lambda x: x @ fnp.ones((x.shape[1], 3)),
    "cumsum": lambda x: fnp.cumsum(x, axis=-1), "sum": lambda x: fnp.sum(x, axis=-1),
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_axes_have_zero_derivatives(name):
    f = EMPTY[name]
    x = fnp.ones((2, 0))
    g = ft.grad(lambda x: fnp.sum(f(x)))(x)
    assert g.shape == (2, 0)
    y, t = ft.jvp(f, (x,), (x,))
    assert t.shape == y.shape and not np.any(_np(t))
    one = fnp.asarray([[1.5, -2.0, 3.0]])
    g = ft.grad(lambda x: fnp.sum(f(x[:, :1])))(one)  # length-1 axes too
    assert np.all(np.isfinite(_np(g)))


@pytest.mark.parametrize("op", ["cummax", "cummin", "cumprod", "cumsum"])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumulative_gradients_match_jax(op, reverse):
    x = np.array([[0.5, -1.0, 2.0, 1.5, 3.0, 0.0], [1.0, 0.0, -2.0, 0.0, 0.5, 4.0]], np.float32)
    w = np.arange(6.0, dtype=np.float32)

    def f(m, lx):
        return lambda x: m.sum(getattr(lx, op)(x, 1, reverse=reverse) * w)
    g = ft.grad(f(fnp, lax))(fnp.asarray(x))
    np.testing.assert_allclose(_np(g), jax.jit(jax.grad(f(jnp, jax.lax)))(x), rtol=1e-6)


# --- dot_general: every layout of dimension numbers, and preferred_element_type ------------------


@st.composite
def dot_problems(draw):
    """Random shapes with random batch / contracting / free dims in random positions."""
    nb, nc = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    nlf, nrf = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    size = st.integers(1, 3)
    b = [draw(size) for _ in range(nb)]
    c = [draw(size) for _ in range(nc)]
    shared = [("b", i) for i in range(nb)] + [("c", i) for i in range(nc)]
    roles_l = draw(st.permutations(shared + [("f", i) for i in range(nlf)]))
    roles_r = draw(st.permutations(shared + [("f", i) for i in range(nrf)]))
    lf = [draw(size) for _ in range(nlf)]
    rf = [draw(size) for _ in range(nrf)]

    def shape(roles, free):
        return tuple({"b": b, "c": c, "f": free}[k][i] for k, i in roles)

    def dims(roles, kind, n):
        return tuple(roles.index((kind, i)) for i in range(n))
    c_order = draw(st.permutations(list(range(nc))))
    lc = tuple(roles_l.index(("c", i)) for i in c_order)
    rc = tuple(roles_r.index(("c", i)) for i in c_order)
    dn = ((lc, rc), (dims(roles_l, "b", nb), dims(roles_r, "b", nb)))
    return shape(roles_l, lf), shape(roles_r, rf), dn


@settings(max_examples=30, deadline=None, database=None)
@given(dot_problems())
def test_dot_general_vjp_matches_jax_for_any_dimension_numbers(problem):
    lshape, rshape, dn = problem
    rng = np.random.default_rng(0)
    a = rng.standard_normal(lshape).astype(np.float32)
    b = rng.standard_normal(rshape).astype(np.float32)
    out, f_vjp = ft.vjp(lambda a, b: lax.dot_general(a, b, dn), fnp.asarray(a), fnp.asarray(b))
    jout, j_vjp = jax.vjp(lambda a, b: jax.lax.dot_general(a, b, dn), a, b)
    np.testing.assert_allclose(_np(out), jout, rtol=1e-5, atol=1e-5)
    ct = rng.standard_normal(jout.shape).astype(np.float32)
    for got, want in zip(f_vjp(fnp.asarray(ct)), j_vjp(ct)):
        np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)
    ta = rng.standard_normal(lshape).astype(np.float32)
    _, t_out = ft.jvp(lambda a, b: lax.dot_general(a, b, dn), (fnp.asarray(a), fnp.asarray(b)),
                      (fnp.asarray(ta), fnp.zeros(rshape)))
    _, jt_out = jax.jvp(lambda a, b: jax.lax.dot_general(a, b, dn), (a, b), (ta, np.zeros_like(b)))
    np.testing.assert_allclose(_np(t_out), jt_out, rtol=1e-5, atol=1e-5)


def test_dot_general_preferred_element_type(x64):
    a = fnp.asarray(np.arange(6.0).reshape(2, 3), fnp.float32)
    b = fnp.asarray(np.arange(12.0).reshape(3, 4) / 7, fnp.float32)
    dn = (((1,), (0,)), ((), ()))

    def f(a, b):
        return fnp.sum(fnp.sin(lax.dot_general(a, b, dn, preferred_element_type=fnp.float64)))

    ga, gb = ft.grad(f, argnums=(0, 1))(a, b)
    assert ga.dtype == fnp.float32 and gb.dtype == fnp.float32
    y = np.asarray(a, np.float64) @ np.asarray(b, np.float64)
    np.testing.assert_allclose(_np(ga), np.cos(y) @ np.asarray(b, np.float64).T, rtol=1e-6)
    np.testing.assert_allclose(_np(gb), np.asarray(a, np.float64).T @ np.cos(y), rtol=1e-6)
    _, t = ft.jvp(lambda a: lax.dot_general(a, b, dn, preferred_element_type=fnp.float64),
                  (a,), (fnp.ones((2, 3), fnp.float32),))
    assert t.dtype == fnp.float64


def test_complex_matmul_gradient_matches_jax():
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.complex64)
    b = (rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))).astype(np.complex64)

    def f(m):
        return lambda a, b: m.sum(m.abs(m.matmul(a, b)) ** 2)
    got = ft.grad(f(fnp), argnums=(0, 1))(fnp.asarray(a), fnp.asarray(b))
    want = jax.grad(f(jnp), argnums=(0, 1))(a, b)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), w, rtol=1e-4, atol=1e-5)


# --- jax.grad as an oracle for whole programs ----------------------------------------------------


def _mlp_loss(m, lse):
    def loss(params, x, labels):
        (w1, b1), (w2, b2) = params
        h = m.tanh(x @ w1 + b1)
        logits = h @ w2 + b2
        onehot = (labels[:, None] == m.arange(logits.shape[-1])[None, :]).astype(logits.dtype)
        return m.mean(lse(logits, axis=-1) - m.sum(onehot * logits, axis=-1))
    return loss


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_cross_entropy_mlp_gradients_match_jax(dtype, request):
    if dtype == "float64":
        request.getfixturevalue("x64")
    rng = np.random.default_rng(7)
    dt = np.dtype(dtype)
    params = [(rng.standard_normal((4, 8)).astype(dt) * 0.5, rng.standard_normal(8).astype(dt)),
              (rng.standard_normal((8, 3)).astype(dt) * 0.5, rng.standard_normal(3).astype(dt))]
    x = rng.standard_normal((5, 4)).astype(dt)
    labels = np.array([0, 2, 1, 1, 0])
    import jax.scipy.special as jss
    fparams = ft.tree_map(fnp.asarray, params)
    val, g = ft.value_and_grad(_mlp_loss(fnp, logsumexp))(fparams, fnp.asarray(x),
                                                          fnp.asarray(labels))
    jval, jg = jax.jit(jax.value_and_grad(_mlp_loss(jnp, jss.logsumexp)))(params, x, labels)
    tol = 1e-5 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(float(val), float(jval), rtol=tol)
    for a, b in zip(ft.tree_leaves(g), jax.tree_util.tree_leaves(jg)):
        assert a.dtype == dt
        np.testing.assert_allclose(_np(a), b, rtol=10 * tol, atol=10 * tol)


def _rnn_loss(m):
    def loss(w, u, b, xs):
        h = m.zeros(w.shape[0], w.dtype)
        total = 0.0
        for t in range(xs.shape[0]):
            h = m.tanh(m.dot(w, h) + u @ xs[t] + b)
            total = total + m.sum(h * h) * (t + 1) / xs.shape[0]
        return total
    return loss


def test_tanh_rnn_unrolled_ten_steps_gradients_match_jax():
    rng = np.random.default_rng(11)
    w = (rng.standard_normal((6, 6)) * 0.4).astype(np.float32)
    u = (rng.standard_normal((6, 3)) * 0.4).astype(np.float32)
    b = (rng.standard_normal(6) * 0.1).astype(np.float32)
    xs = rng.standard_normal((10, 3)).astype(np.float32)
    got = ft.grad(_rnn_loss(fnp), argnums=(0, 1, 2))(*map(fnp.asarray, (w, u, b, xs)))
    want = jax.jit(jax.grad(_rnn_loss(jnp), argnums=(0, 1, 2)))(w, u, b, xs)
    for g, j in zip(got, want):
        np.testing.assert_allclose(_np(g), j, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsumexp_large_inputs_have_finite_gradients_matching_jax(dtype, request):
    if dtype == "float64":
        request.getfixturevalue("x64")
    import jax.scipy.special as jss
    x = np.array([[1000.0, 1001.0, 999.0], [-1e4, 80.0, 90.0], [3e4, 3e4, -3e4]], dtype)
    for axis in (None, 0, -1):
        def f(m, lse, axis=axis):
            return lambda x: m.sum(lse(x, axis=axis) * 1.5)
        g = ft.grad(f(fnp, logsumexp))(fnp.asarray(x))
        assert np.all(np.isfinite(_np(g)))
        want = jax.jit(jax.grad(f(jnp, jss.logsumexp)))(x)
        np.testing.assert_allclose(_np(g), want, rtol=1e-6, atol=1e-7)
    h = ft.hessian(lambda x: logsumexp(x))(fnp.asarray(x[0]))
    np.testing.assert_allclose(_np(h), jax.jit(jax.hessian(jss.logsumexp))(x[0]), rtol=1e-5,
                               atol=1e-7)


# --- Jacobians and Hessians ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["prod_two_zeros", "cumprod_zeros", "sort_axis0", "cummax",
                                  "top_k", "max_axis", "var", "tensordot", "quantile_static"])
def test_jacfwd_and_jacrev_agree(name, x64):
    f = CASES[name][0]
    args = _args(name, np.float64)
    argnums = tuple(range(len(args)))
    jf = ft.jacfwd(f, argnums=argnums)(*args)
    jr = ft.jacrev(f, argnums=argnums)(*args)
    for a, b in zip(ft.tree_leaves(jf), ft.tree_leaves(jr)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12, atol=1e-12)


def _scalar_mix(m, lse):
    def f(x):
        return (lse(x) + m.prod(x) + m.var(x) + m.sum(m.cumprod(x) * m.sort(x))
                + m.max(x) * m.min(x ** 2) + x @ x)
    return f


def test_hessian_is_symmetric_and_matches_jax(x64):
    import jax.scipy.special as jss
    x = np.array([0.7, -1.2, 0.3, 1.9, -0.4])
    h = _np(ft.hessian(_scalar_mix(fnp, logsumexp))(fnp.asarray(x)))
    np.testing.assert_allclose(h, h.T, rtol=1e-12, atol=1e-12)
    want = jax.jit(jax.hessian(_scalar_mix(jnp, jss.logsumexp)))(x)
    np.testing.assert_allclose(h, want, rtol=1e-10, atol=1e-12)
    hm = _np(ft.hessian(lambda a: fnp.sum(fnp.tanh(a @ a.T)))(fnp.asarray(x[:4].reshape(2, 2))))
    np.testing.assert_allclose(hm.reshape(4, 4), hm.reshape(4, 4).T, rtol=1e-12, atol=1e-12)
