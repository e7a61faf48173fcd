"""lax control flow: cond/switch, while_loop, fori_loop, scan, map.

Each primitive against a Python-loop reference, eagerly, under jit, under vmap
(against a loop over examples) and differentiated (check_grads, and jax as an
oracle for an RNN); plus structure errors.
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from functrans.jit import jit
from functrans.test_util import check_grads


def _np(x):
    return np.asarray(x)


def _close(a, b, tol=1e-5):
    for x, y in zip(ft.tree_leaves(a), ft.tree_leaves(b)):
        np.testing.assert_allclose(_np(x), _np(y), rtol=tol, atol=tol)


def _loop_vmap(f, *args, in_axes=0):
    """stack([f(*args_i) for i]) — the reference for vmap."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    n = next(_np(a).shape[ax] for a, ax in zip(args, axes) if ax is not None)
    outs = [f(*[a if ax is None else fnp.asarray(np.take(_np(a), i, axis=ax))
                for a, ax in zip(args, axes)]) for i in range(n)]
    return ft.tree_map(lambda *xs: np.stack([_np(x) for x in xs]), *outs)


@pytest.fixture
def x(rng):
    return fnp.asarray(rng.standard_normal(5).astype(np.float32))


# --- cond / switch ---------------------------------------------------------------------------


def _branchy(x):
    return lax.cond(fnp.sum(x) > 0, lambda a: fnp.sin(a) * 2.0, lambda a: a * a - 1.0, x)


def _branchy_ref(x):
    x = _np(x)
    return np.sin(x) * 2.0 if x.sum() > 0 else x * x - 1.0


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_eager_jit(x, sign):
    xs = x * sign
    _close(_branchy(xs), _branchy_ref(xs))
    _close(jit(_branchy)(xs), _branchy_ref(xs))


def test_switch_clamps_and_pytrees(x):
    branches = [lambda d: {"a": d["a"] + 1.0, "b": d["b"]},
                lambda d: {"a": d["a"] * 2.0, "b": d["b"] + d["a"][0]},
                lambda d: {"a": -d["a"], "b": d["b"] * 3.0}]
    ops = {"a": x, "b": fnp.asarray(2.0)}
    for i in [-3, 0, 1, 2, 7]:
        ref = branches[min(max(i, 0), 2)](ops)
        _close(lax.switch(i, branches, ops), ref)
        _close(jit(lambda i, o: lax.switch(i, branches, o))(fnp.asarray(i), ops), ref)


def test_cond_grad_both_modes(x):
    check_grads(_branchy, (x,), order=2, modes=("fwd", "rev"), atol=1e-2, rtol=1e-2)
    check_grads(_branchy, (-x,), order=2, modes=("fwd", "rev"), atol=1e-2, rtol=1e-2)
    g = ft.grad(lambda x: fnp.sum(_branchy(x)))(x)
    ref = (2 * np.cos(_np(x))) if _np(x).sum() > 0 else 2 * _np(x)
    _close(g, ref)


def test_cond_closure_and_grad_of_closed_over(x):
    w = fnp.asarray(np.arange(5.0, dtype=np.float32))

    def f(w, x):
        return fnp.sum(lax.cond(x[0] > -10, lambda a: a * w, lambda a: a, x))

    _close(ft.grad(f)(w, x), _np(x))
    _close(jit(ft.grad(f))(w, x), _np(x))


def test_cond_vmap_batched_and_unbatched_pred(rng):
    xs = fnp.asarray(rng.standard_normal((6, 3)).astype(np.float32))
    _close(ft.vmap(_branchy)(xs), _loop_vmap(_branchy, xs))
    # pred unbatched (closed over), operand batched
    p = fnp.asarray(True)
    f = lambda a: lax.cond(p, lambda b: b + 1.0, lambda b: b * 0.0, a)  # noqa: E731
    _close(ft.vmap(f)(xs), _np(xs) + 1.0)
    # pred batched, operand unbatched
    y = fnp.asarray(np.float32(3.0))
    g = lambda s: lax.cond(s > 0, lambda b: b * 2.0, lambda b: -b, y)  # noqa: E731
    s = fnp.asarray(np.array([1.0, -1.0, 2.0], np.float32))
    _close(ft.vmap(g)(s), np.array([6.0, -3.0, 6.0], np.float32))
    _close(jit(ft.vmap(_branchy))(xs), _loop_vmap(_branchy, xs))


def test_switch_vmap_batched_index(rng):
    branches = [lambda a: a + 1.0, lambda a: a * 10.0, lambda a: -a]
    idx = fnp.asarray(np.array([0, 2, 1, 5, -1], np.int32))
    xs = fnp.asarray(rng.standard_normal((5, 2)).astype(np.float32))
    f = lambda i, a: lax.switch(i, branches, a)  # noqa: E731
    _close(ft.vmap(f)(idx, xs), _loop_vmap(f, idx, xs))


def test_cond_errors(x):
    with pytest.raises(TypeError, match="false_fun and true_fun return different tree"):
        lax.cond(True, lambda a: (a, a), lambda a: a, x)
    with pytest.raises(TypeError, match=r"output: false_fun f32\[\] vs true_fun f32\[5\]"):
        lax.cond(True, lambda a: a, lambda a: fnp.sum(a), x)
    with pytest.raises(TypeError, match=r"output\['b'\]: branch 0 f32\[\] vs branch 1 i32\[\]"):
        lax.switch(0, [lambda d: d, lambda d: {"a": d["a"], "b": d["b"].astype(np.int32)}],
                   {"a": x, "b": fnp.asarray(1.0)})
    with pytest.raises(TypeError, match="scalar"):
        lax.cond(x > 0, lambda a: a, lambda a: a, x)
    with pytest.raises(TypeError, match="integer scalar"):
        lax.switch(1.5, [lambda a: a], x)


# --- while_loop / fori_loop ------------------------------------------------------------------


def _collatz_steps(n):
    return lax.while_loop(lambda c: c[0] != 1,
                          lambda c: (fnp.where(c[0] % 2 == 0, c[0] // 2, 3 * c[0] + 1), c[1] + 1),
                          (n, fnp.asarray(0)))[1]


def _collatz_ref(n):
    k = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        k += 1
    return k


@pytest.mark.parametrize("n", [1, 6, 27])
def test_while_eager_jit(n):
    assert int(_collatz_steps(fnp.asarray(n))) == _collatz_ref(n)
    assert int(jit(_collatz_steps)(fnp.asarray(n))) == _collatz_ref(n)


def test_while_vmap_batched_predicate_runs_until_all_done():
    ns = fnp.asarray(np.array([1, 6, 27, 7], np.int32))
    out = ft.vmap(_collatz_steps)(ns)
    assert _np(out).tolist() == [_collatz_ref(n) for n in [1, 6, 27, 7]]
    assert _np(jit(ft.vmap(_collatz_steps))(ns)).tolist() == [_collatz_ref(n) for n in
                                                             [1, 6, 27, 7]]


def test_while_vmap_unbatched_predicate(rng):
    xs = fnp.asarray(rng.standard_normal((4, 3)).astype(np.float32))
    f = lambda a: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2.0 + 1.0),  # noqa
                                 (0, a))[1]
    _close(ft.vmap(f)(xs), _loop_vmap(f, xs))


def test_while_forward_mode_and_reverse_error(x):
    f = lambda a: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, fnp.sin(c[1])),  # noqa
                                 (0, a))[1]
    ref = lambda a: fnp.sin(fnp.sin(fnp.sin(a)))  # noqa: E731
    t = fnp.ones_like(x)
    _close(ft.jvp(f, (x,), (t,)), ft.jvp(ref, (x,), (t,)))
    _close(ft.jacfwd(f)(x), ft.jacfwd(ref)(x))
    with pytest.raises(TypeError, match="scan, or lax.fori_loop"):
        ft.grad(lambda a: fnp.sum(f(a)))(x)


def test_fori_loop_static_is_reverse_differentiable(x):
    f = lambda a: lax.fori_loop(0, 4, lambda i, v: v * fnp.cos(v) + i, a)  # noqa: E731

    def ref(a):
        for i in range(4):
            a = a * fnp.cos(a) + i
        return a

    _close(f(x), ref(x))
    _close(jit(f)(x), ref(x))
    _close(ft.grad(lambda a: fnp.sum(f(a)))(x), ft.grad(lambda a: fnp.sum(ref(a)))(x))
    check_grads(f, (x,), order=2, modes=("fwd", "rev"), atol=1e-2, rtol=1e-2)


def test_fori_loop_traced_bounds_is_a_while(x):
    f = lambda n, a: lax.fori_loop(0, n, lambda i, v: v + i, a)  # noqa: E731
    _close(jit(f)(fnp.asarray(4), x), _np(x) + 6)
    _close(f(fnp.asarray(0), x), _np(x))


# --- scan / map ------------------------------------------------------------------------------


def _cumsum_scan(xs, reverse=False):
    return lax.scan(lambda c, x: (c + x, c * x), fnp.zeros(xs.shape[1:]), xs, reverse=reverse)


def _cumsum_ref(xs, reverse=False):
    xs = _np(xs)
    c = np.zeros(xs.shape[1:], xs.dtype)
    ys = [None] * len(xs)
    order = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    for i in order:
        c, ys[i] = c + xs[i], c * xs[i]
    return c, np.stack(ys) if len(xs) else np.zeros(xs.shape, xs.dtype)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shape", [(5,), (4, 3), (0, 2)])
def test_scan_eager_jit(rng, reverse, shape):
    xs = fnp.asarray(rng.standard_normal(shape).astype(np.float32))
    _close(_cumsum_scan(xs, reverse), _cumsum_ref(xs, reverse))
    _close(jit(lambda a: _cumsum_scan(a, reverse))(xs), _cumsum_ref(xs, reverse))


def test_scan_pytrees_length_and_none_xs():
    def f(c, _):
        return {"n": c["n"] + 1, "s": c["s"] * 2.0}, (c["n"], c["s"])

    c, (ns, ss) = lax.scan(f, {"n": fnp.asarray(0), "s": fnp.asarray(1.0)}, None, length=4)
    assert int(c["n"]) == 4 and float(c["s"]) == 16.0
    assert _np(ns).tolist() == [0, 1, 2, 3] and _np(ss).tolist() == [1.0, 2.0, 4.0, 8.0]
    out = lax.map(lambda d: d["a"] * d["b"], {"a": fnp.arange(3.0), "b": fnp.ones(3)})
    assert _np(out).tolist() == [0.0, 1.0, 2.0]


def _rnn_loss(params, xs, h0):
    W, U, b = params["W"], params["U"], params["b"]

    def step(h, x):
        h = fnp.tanh(h @ W + x @ U + b)
        return h, fnp.sum(h ** 2)

    h, ys = lax.scan(step, h0, xs)
    return fnp.sum(h) + fnp.mean(ys)


def _rnn_params(rng, n=4, d=3):
    return {"W": fnp.asarray(rng.standard_normal((n, n)).astype(np.float32) * 0.5),
            "U": fnp.asarray(rng.standard_normal((d, n)).astype(np.float32) * 0.5),
            "b": fnp.asarray(rng.standard_normal(n).astype(np.float32) * 0.1)}


def test_scan_grad_matches_jax(rng):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    params = _rnn_params(rng)
    xs = fnp.asarray(rng.standard_normal((10, 3)).astype(np.float32))
    h0 = fnp.zeros(4)

    def jloss(p, xs, h0):
        def step(h, x):
            h = jnp.tanh(h @ p["W"] + x @ p["U"] + p["b"])
            return h, jnp.sum(h ** 2)
        h, ys = jax.lax.scan(step, h0, xs)
        return jnp.sum(h) + jnp.mean(ys)

    jp = {k: jnp.asarray(_np(v)) for k, v in params.items()}
    ref = jax.grad(jloss, argnums=(0, 1))(jp, jnp.asarray(_np(xs)), jnp.asarray(_np(h0)))
    got = ft.grad(_rnn_loss, argnums=(0, 1))(params, xs, h0)
    _close(got, ref, tol=1e-4)
    _close(jit(ft.grad(_rnn_loss, argnums=(0, 1)))(params, xs, h0), ref, tol=1e-4)


def test_scan_check_grads_both_modes(rng):
    params = _rnn_params(rng, n=3, d=2)
    xs = fnp.asarray(rng.standard_normal((4, 2)).astype(np.float32))
    check_grads(lambda p, xs: _rnn_loss(p, xs, fnp.zeros(3)), (params, xs), order=2,
                modes=("fwd", "rev"), atol=2e-2, rtol=2e-2)


def test_scan_reverse_grad(rng):
    xs = fnp.asarray(rng.standard_normal((5, 2)).astype(np.float32))
    f = lambda a: fnp.sum(_cumsum_scan(fnp.sin(a), reverse=True)[1])  # noqa: E731
    check_grads(f, (xs,), order=1, modes=("fwd", "rev"), atol=1e-2, rtol=1e-2)


def test_scan_vmap(rng):
    params = _rnn_params(rng)
    xs = fnp.asarray(rng.standard_normal((6, 10, 3)).astype(np.float32))
    h0 = fnp.asarray(rng.standard_normal((6, 4)).astype(np.float32))
    f = lambda xs, h0: _rnn_loss(params, xs, h0)  # noqa: E731
    _close(ft.vmap(f)(xs, h0), _loop_vmap(f, xs, h0), tol=1e-4)
    # batch over the time axis's neighbour (axis 1 of xs), h0 unbatched
    g = lambda xs: _rnn_loss(params, xs, fnp.zeros(4))  # noqa: E731
    xt = fnp.asarray(np.swapaxes(_np(xs), 0, 1))
    _close(ft.vmap(g, in_axes=1)(xt), _loop_vmap(g, xt, in_axes=1), tol=1e-4)
    # per-example gradients through scan
    pg = ft.vmap(ft.grad(_rnn_loss), in_axes=(None, 0, 0))(params, xs, h0)
    ref = _loop_vmap(lambda a, b: ft.grad(_rnn_loss)(params, a, b), xs, h0)
    _close(pg, ref, tol=1e-4)


def test_nested_scan_in_cond_in_vmap(rng):
    xs = fnp.asarray(rng.standard_normal((3, 4, 2)).astype(np.float32))

    def f(x):
        return lax.cond(fnp.sum(x) > 0,
                        lambda a: _cumsum_scan(a)[0],
                        lambda a: lax.map(lambda r: fnp.max(r), a.T), x)

    _close(ft.vmap(f)(xs), _loop_vmap(f, xs))
    _close(jit(ft.vmap(f))(xs), _loop_vmap(f, xs))


def test_rnn_trained_with_scan_under_jit(rng):
    params = _rnn_params(rng)
    xs = fnp.asarray(rng.standard_normal((8, 3)).astype(np.float32))
    target = 0.5

    def loss(p):
        return (_rnn_loss(p, xs, fnp.zeros(4)) - target) ** 2

    @jit
    def step(p):
        g = ft.grad(loss)(p)
        return ft.tree_map(lambda w, dw: w - 0.05 * dw, p, g)

    l0 = float(loss(params))
    for _ in range(30):
        params = step(params)
    assert float(loss(params)) < 0.1 * l0


def test_scan_errors(x):
    with pytest.raises(TypeError, match="carry changes type"):
        lax.scan(lambda c, a: (fnp.sum(c), a), x, fnp.ones((3, 5)))
    with pytest.raises(TypeError, match="tree structure changes"):
        lax.scan(lambda c, a: ((c, c), a), x, fnp.ones((3, 5)))
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, a: c, x, fnp.ones((3, 5)))
    with pytest.raises(ValueError, match="leading axes"):
        lax.scan(lambda c, a: (c, a), x, (fnp.ones((3,)), fnp.ones((4,))))
    with pytest.raises(ValueError, match="length="):
        lax.scan(lambda c, a: (c, a), x, None)
    with pytest.raises(TypeError, match="carry changes type"):
        lax.while_loop(lambda c: True, lambda c: c.astype(np.int32), x)
