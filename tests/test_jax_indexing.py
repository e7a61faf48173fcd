"""Out-of-bounds indexing and numpy's floating-point warnings, against JAX.

Every case is one function of the numpy module ``m`` (functrans.numpy or
jax.numpy) so the same code runs on both: values, dtype and weak type must
agree, eagerly and under jit, and gradients where the case is differentiable.
JAX is the oracle (issue 15: no silent differences from JAX).
"""

import warnings

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import functrans as ft
import functrans.numpy as fnp
from functrans.numpy._indexing import _index_apply, _index_update

jax.config.update("jax_enable_x64", False)

X1 = np.arange(5, dtype=np.float32)
X2 = np.arange(10, dtype=np.float32).reshape(5, 2)
XI = np.arange(5, dtype=np.int32)
XU = np.arange(5, dtype=np.uint8)
XB = np.array([True, False, True, False, False])
XH = np.arange(3, dtype=np.float16)
XC = np.arange(3, dtype=np.complex64)


def _idx(m, *v, dtype=None):
    return m.array(v if len(v) != 1 else v[0], dtype=dtype)


# (name, fn(m, x), x, differentiable): reads.
READS = [
    # static ints out of bounds clamp (after one wrap of negative ones)
    ("x[7]", lambda m, x: x[7], X1, True),
    ("x[-7]", lambda m, x: x[-7], X1, True),
    ("x[-6]", lambda m, x: x[-6], X1, True),
    ("x[5]", lambda m, x: x[5], X1, True),
    ("x[7:9]", lambda m, x: x[7:9], X1, True),
    ("x[-9:2]", lambda m, x: x[-9:2], X1, True),
    ("x2[7,0]", lambda m, x: x[7, 0], X2, True),
    ("x2[0,7]", lambda m, x: x[0, 7], X2, True),
    ("x2[7]", lambda m, x: x[7], X2, True),
    ("x2[7,...]", lambda m, x: x[7, ...], X2, True),
    ("x2[None,7]", lambda m, x: x[None, 7], X2, True),
    ("x2[-9,::-1]", lambda m, x: x[-9, ::-1], X2, True),
    ("x2[7,[0,1]]", lambda m, x: x[7, _idx(m, 0, 1)], X2, True),
    ("x2[[0,1],7]", lambda m, x: x[_idx(m, 0, 1), 7], X2, True),
    ("xi[7]", lambda m, x: x[7], XI, False),
    # array indices out of bounds clamp too
    ("x[arr]", lambda m, x: x[_idx(m, 7, -7, -1, 2)], X1, True),
    ("x2[arr,arr]", lambda m, x: x[_idx(m, [7], [-9]), _idx(m, 1, 5)], X2, True),
    ("x[u8 arr]", lambda m, x: x[_idx(m, 7, 2, dtype=m.uint8)], X1, True),
    # x.at[...].get with modes
    ("at[7].get()", lambda m, x: x.at[7].get(), X1, True),
    ("at[7].get(fill)", lambda m, x: x.at[7].get(mode="fill"), X1, True),
    ("at[7].get(fill,-1)", lambda m, x: x.at[7].get(mode="fill", fill_value=-1.0), X1, True),
    ("at[-7].get(fill)", lambda m, x: x.at[-7].get(mode="fill", fill_value=3), X1, True),
    ("at[-1].get(fill)", lambda m, x: x.at[-1].get(mode="fill"), X1, True),
    ("at[7].get(clip)", lambda m, x: x.at[7].get(mode="clip"), X1, True),
    ("at[2].get(pib)", lambda m, x: x.at[2].get(mode="promise_in_bounds"), X1, True),
    ("at[7].get(drop)", lambda m, x: x.at[7].get(mode="drop", fill_value=0), X1, True),
    ("x2.at[7].get(fill)", lambda m, x: x.at[7].get(mode="fill", fill_value=0), X2, True),
    ("x2.at[7,::2].get(fill)", lambda m, x: x.at[7, ::2].get(mode="fill", fill_value=9),
     X2, True),
    ("at[arr].get(fill)", lambda m, x: x.at[_idx(m, 7, -7, -1)].get(mode="fill",
                                                                     fill_value=2), X1, True),
    ("at[3:9].get(fill)", lambda m, x: x.at[3:9].get(mode="fill"), X1, True),
    ("xi.at[7].get(fill)", lambda m, x: x.at[7].get(mode="fill"), XI, False),
    ("xu.at[arr].get(fill)", lambda m, x: x.at[_idx(m, 9, 1)].get(mode="fill"), XU, False),
    ("xb.at[arr].get(fill)", lambda m, x: x.at[_idx(m, 9, 1)].get(mode="fill"), XB, False),
    # take: JAX's default mode is "fill" (numpy's would raise)
    ("take [7]", lambda m, x: m.take(x, _idx(m, [7])), X1, True),
    ("take neg", lambda m, x: m.take(x, _idx(m, -1, -5, -6, 2)), X1, True),
    ("take scalar", lambda m, x: m.take(x, _idx(m, 7)), X1, True),
    ("take int", lambda m, x: m.take(x, _idx(m, 7, -6, 1)), XI, False),
    ("take uint", lambda m, x: m.take(x, _idx(m, 7, 1)), XU, False),
    ("take bool", lambda m, x: m.take(x, _idx(m, 7, 1)), XB, False),
    ("take f16", lambda m, x: m.take(x, _idx(m, 5, 1)), XH, False),
    ("take c64", lambda m, x: m.take(x, _idx(m, 5, 1)), XC, False),
    ("take u8 index", lambda m, x: m.take(x, _idx(m, 7, 2, dtype=m.uint8)), X1, True),
    ("take fill_value", lambda m, x: m.take(x, _idx(m, 7, -7, 0), fill_value=3.0), X1, True),
    ("take int fill_value", lambda m, x: m.take(x, _idx(m, 9, 0), fill_value=2), X1, True),
    ("take float fill on int", lambda m, x: m.take(x, _idx(m, 9, 0), fill_value=2.7), XI,
     False),
    ("take mode=fill", lambda m, x: m.take(x, _idx(m, 9, 0), mode="fill"), X1, True),
    ("take clip", lambda m, x: m.take(x, _idx(m, 7, -7, -1, 2), mode="clip"), X1, True),
    ("take wrap", lambda m, x: m.take(x, _idx(m, 7, -7, -1, 2), mode="wrap"), X1, True),
    ("take axis=None", lambda m, x: m.take(x, _idx(m, 11, 3, -1)), X2, True),
    ("take axis=1", lambda m, x: m.take(x, _idx(m, [2, -1], [-3, 0]), axis=1), X2, True),
    ("take axis=0 clip", lambda m, x: m.take(x, _idx(m, 9, -9), axis=0, mode="clip"), X2,
     True),
    # take_along_axis: fill by default; "clip" wraps negative indices once first
    ("tal", lambda m, x: m.take_along_axis(
        x, _idx(m, [0, 5], [-1, -3], [1, 1], [2, -2], [0, 0]), axis=1), X2, True),
    ("tal clip", lambda m, x: m.take_along_axis(
        x, _idx(m, [0, 5], [-1, -3], [1, 1], [2, -2], [0, 0]), axis=1, mode="clip"), X2, True),
    ("tal fill_value", lambda m, x: m.take_along_axis(
        x, _idx(m, [0, 5], [-1, -3], [1, 1], [2, -2], [0, 0]), axis=1, fill_value=7), X2,
     True),
    ("tal pib", lambda m, x: m.take_along_axis(
        x, _idx(m, [0, 1], [1, 0], [1, 1], [0, 0], [1, 0]), axis=1, mode="promise_in_bounds"),
     X2, True),
    ("tal axis0", lambda m, x: m.take_along_axis(x, _idx(m, [0, 7], [-1, -6]), axis=0), X2,
     True),
    ("tal None", lambda m, x: m.take_along_axis(x, _idx(m, 7, -1), axis=None), X1, True),
    ("tal int", lambda m, x: m.take_along_axis(x, _idx(m, 7, -1), axis=0), XI, False),
]

V = np.float32(9.0)
_SHORT = {"subtract": "sub", "divide": "div", "power": "pow"}


def _at(m, x, idx, method, values, mode=None):
    """``x.at[idx].<method>(values, mode=mode)``; functrans's helper until Array has it."""
    ref = x.at[idx]
    if m is jnp or hasattr(ref, method):
        return getattr(ref, method)(values, mode=mode)
    return _index_update(x, idx, values, _SHORT[method], mode)


# (name, fn(m, x), x, differentiable): updates; JAX drops out-of-bounds updates.
UPDATES = [
    ("at[7].set", lambda m, x: x.at[7].set(V), X1, True),
    ("at[-7].set", lambda m, x: x.at[-7].set(V), X1, True),
    ("at[-6].set", lambda m, x: x.at[-6].set(V), X1, True),
    ("at[7].set(clip)", lambda m, x: x.at[7].set(V, mode="clip"), X1, True),
    ("at[-7].set(clip)", lambda m, x: x.at[-7].set(V, mode="clip"), X1, True),
    ("at[-4].set(pib)", lambda m, x: x.at[-4].set(V, mode="promise_in_bounds"), X1, True),
    ("at[7].add", lambda m, x: x.at[7].add(V), X1, True),
    ("at[7].mul", lambda m, x: x.at[7].multiply(V), X1, True),
    ("at[7].min", lambda m, x: x.at[7].min(-V), X1, True),
    # JAX's gradient here is wrong (scatter_max's jvp ignores the clamp; wrt the
    # values it is inf): central differences of JAX's values are the oracle.
    ("at[7].max(clip)", lambda m, x: x.at[7].max(V, mode="clip"), X1, "fd"),
    ("at[arr].min(clip)", lambda m, x: x.at[_idx(m, 7, 0)].min(-V, mode="clip"), X1, "fd"),
    ("at[7].set(pib)", lambda m, x: x.at[7].set(V, mode="promise_in_bounds"), X1, True),
    ("at[arr].add(pib)", lambda m, x: x.at[_idx(m, 0, 7)].add(V, mode="promise_in_bounds"),
     X1, True),
    ("at[7:9].set", lambda m, x: x.at[7:9].set(V), X1, True),
    ("at[3:9].add", lambda m, x: x.at[3:9].add(V), X1, True),
    ("x2.at[7,0].set", lambda m, x: x.at[7, 0].set(V), X2, True),
    ("x2.at[0,7].add", lambda m, x: x.at[0, 7].add(V), X2, True),
    ("x2.at[7].set", lambda m, x: x.at[7].set(m.array([1.0, 2.0])), X2, True),
    ("x2.at[7,1:].set", lambda m, x: x.at[7, 1:].set(-V), X2, True),
    ("x2.at[7,::-1].set(clip)", lambda m, x: x.at[7, ::-1].set(m.array([1.0, 2.0]),
                                                                mode="clip"), X2, True),
    ("x2.at[arr,::-1].set", lambda m, x: x.at[_idx(m, 1, 9), ::-1].set(m.array([-1.0, -2.0])),
     X2, True),
    ("x2.at[arr,::2].add", lambda m, x: x.at[_idx(m, 1, -9), ::2].add(V), X2, True),
    ("at[arr].set", lambda m, x: x.at[_idx(m, 7, -7, -1)].set(V), X1, True),
    ("at[arr].set(clip)", lambda m, x: x.at[_idx(m, 7, -7, -1)].set(V, mode="clip"), X1, True),
    ("at[arr].add dup", lambda m, x: x.at[_idx(m, 7, 1, 1, -6)].add(V), X1, True),
    ("at[arr].add(clip) dup", lambda m, x: x.at[_idx(m, 7, 9, 1)].add(V, mode="clip"), X1,
     True),
    ("at[arr].mul(drop)", lambda m, x: x.at[_idx(m, 7, 2)].multiply(V, mode="drop"), X1, True),
    ("at[arr].min(fill)", lambda m, x: x.at[_idx(m, 7, 2)].min(-V, mode="fill"), X1, True),
    ("xi.at[arr].add", lambda m, x: x.at[_idx(m, 7, -7, 0)].add(3), XI, False),
    ("xi.at[7].set", lambda m, x: x.at[7].set(3), XI, False),
    ("xb.at[7].set", lambda m, x: x.at[7].set(True), XB, False),
    # subtract, divide and power (JAX: divide/power by the product scattered into ones)
    ("at[arr].subtract", lambda m, x: _at(m, x, _idx(m, 1, 1, 7, -1), "subtract", V), X1, True),
    ("at[arr].divide", lambda m, x: _at(m, x, _idx(m, 1, 1, 7, -1), "divide",
                                        m.array([2.0, 3.0, 4.0, 0.5])), X1, True),
    ("at[arr].power(clip)", lambda m, x: _at(m, x, _idx(m, 1, 1, 7), "power",
                                             m.array([2.0, 1.5, 2.0]), "clip"), X1, True),
    ("x2.at[7,::-1].subtract", lambda m, x: _at(m, x, (7, slice(None, None, -1)), "subtract",
                                                1.0), X2, True),
    ("xu.at[arr].subtract", lambda m, x: _at(m, x, _idx(m, 1, 1, 9), "subtract", 3), XU, False),
    ("xi.at[arr].divide", lambda m, x: _at(m, x, _idx(m, 1, 1, 9), "divide", 3), XI, False),
    ("xi.at[7].power(clip)", lambda m, x: _at(m, x, 7, "power", 2, "clip"), XI, False),
]


def _check_same(got, want, what):
    got_np, want_np = np.asarray(got), np.asarray(want)
    assert got_np.dtype == want_np.dtype, f"{what}: dtype {got_np.dtype} != jax {want_np.dtype}"
    assert got_np.shape == want_np.shape, f"{what}: shape {got_np.shape} != jax {want_np.shape}"
    assert got.weak_type == want.weak_type, f"{what}: weak_type {got.weak_type}"
    np.testing.assert_array_equal(got_np, want_np, err_msg=what)


def _scalarize(m, y):
    """A scalar of ``y`` whose gradient sees every element, ignoring NaN fills."""
    y = m.where(m.isnan(y), 0.0, y)
    return m.sum(y * y * m.arange(1, y.size + 1, dtype=y.dtype).reshape(y.shape))


def _central_differences(f, x, eps=1e-2):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (float(f(jnp.asarray(x + d, np.float32))) - float(f(jnp.asarray(x - d, np.float32)))) / (
            2 * eps)
    return g.astype(np.float32)


def _rtol(diff):
    return 1e-3 if diff == "fd" else 1e-6


# The cases on one input go to JAX together: one jitted function per input gives
# the oracle's values and gradients (JAX's eager mode would compile every op).
_GROUPS = {}
for _case in READS + UPDATES:
    _GROUPS.setdefault(id(_case[2]), []).append(_case)
_ORACLE = {}


def _oracle(case):
    """JAX's value and gradient (or central differences of its values) for ``case``."""
    name, _, x, _ = case
    if name not in _ORACLE:
        cases = _GROUPS[id(x)]
        values = jax.jit(lambda a: [fn(jnp, a) for _, fn, _, _ in cases])(x)
        grads = jax.jit(lambda a: [jax.grad(lambda b, fn=fn: _scalarize(jnp, fn(jnp, b)))(a)
                                   if d is True else None for _, fn, _, d in cases])(x)
        for (n, fn, _, d), v, g in zip(cases, values, grads):
            if d == "fd":
                g = _central_differences(jax.jit(lambda a, fn=fn: _scalarize(jnp, fn(jnp, a))), x)
            _ORACLE[n] = v, g
    return _ORACLE[name]


@pytest.mark.parametrize("case", READS + UPDATES, ids=[c[0] for c in READS + UPDATES])
def test_eager_against_jax(case):
    name, fn, x, diff = case
    want, want_grad = _oracle(case)
    _check_same(fn(fnp, fnp.asarray(x)), want, "eager")
    if diff:
        g = ft.grad(lambda a: _scalarize(fnp, fn(fnp, a)))(fnp.asarray(x))
        np.testing.assert_allclose(np.asarray(g), np.asarray(want_grad), rtol=_rtol(diff),
                                   err_msg="grad")


@pytest.mark.parametrize("cases", list(_GROUPS.values()),
                         ids=[f"{c[0][2].dtype}{c[0][2].shape}" for c in _GROUPS.values()])
def test_jit_against_jax(cases):
    # The cases on one input compile together here too.
    x = cases[0][2]
    got = ft.jit(lambda a: [fn(fnp, a) for _, fn, _, _ in cases])(fnp.asarray(x))
    for case, g in zip(cases, got):
        _check_same(g, _oracle(case)[0], f"jit {case[0]}")
    diff = [c for c in cases if c[3]]
    if diff:
        grads = ft.jit(lambda a: [ft.grad(lambda b, fn=fn: _scalarize(fnp, fn(fnp, b)))(a)
                                  for _, fn, _, _ in diff])(fnp.asarray(x))
        for case, g in zip(diff, grads):
            np.testing.assert_allclose(np.asarray(g), np.asarray(_oracle(case)[1]),
                                       rtol=_rtol(case[3]), err_msg=f"jit(grad) {case[0]}")


# Traced indices (jit arguments): the same out-of-bounds rules with the index unknown.
TRACED = [
    ("x[i]", lambda m, x, i: x[i], X1, np.array([7, -7, -1, 2], np.int32)),
    ("x[i] scalar", lambda m, x, i: x[i], X1, np.int32(-9)),
    ("x2[i,0]", lambda m, x, i: x[i, 0], X2, np.int32(7)),
    ("at[i].get(fill)", lambda m, x, i: x.at[i].get(mode="fill", fill_value=-1.0), X1,
     np.array([7, -7, -1, 2], np.int32)),
    ("at[i].get(fill) scalar", lambda m, x, i: x.at[i].get(mode="fill"), X1, np.int32(-6)),
    ("take", lambda m, x, i: m.take(x, i), X1, np.array([7, -1, -5, -6], np.int32)),
    ("take clip", lambda m, x, i: m.take(x, i, mode="clip"), X1, np.array([7, -1], np.int32)),
    ("take wrap", lambda m, x, i: m.take(x, i, mode="wrap"), X1, np.array([7, -1], np.int32)),
    ("tal", lambda m, x, i: m.take_along_axis(x, i, axis=1), X2,
     np.array([[0, 5], [-1, -3], [1, 1], [2, -2], [0, 0]], np.int32)),
    ("at[i].set", lambda m, x, i: x.at[i].set(V), X1, np.array([7, -7, -1], np.int32)),
    ("at[i].set scalar", lambda m, x, i: x.at[i].set(V), X1, np.int32(7)),
    ("at[i].add(clip)", lambda m, x, i: x.at[i].add(V, mode="clip"), X1,
     np.array([7, -7, 1, 1], np.int32)),
    ("x2.at[i,::-1].set", lambda m, x, i: x.at[i, ::-1].set(m.array([1.0, 2.0])), X2,
     np.array([1, 9], np.int32)),
]


@pytest.mark.parametrize("name,fn,x,i", TRACED, ids=[c[0] for c in TRACED])
def test_traced_indices_against_jax(name, fn, x, i):
    want = jax.jit(lambda a, j: fn(jnp, a, j))(x, i)
    _check_same(ft.jit(lambda a, j: fn(fnp, a, j))(fnp.asarray(x), fnp.asarray(i)), want, "jit")
    _check_same(fn(fnp, fnp.asarray(x), fnp.asarray(i)), want, "eager")
    g_jax = jax.jit(jax.grad(lambda a, j: _scalarize(jnp, fn(jnp, a, j))))(x, i)
    g = ft.jit(ft.grad(lambda a, j: _scalarize(fnp, fn(fnp, a, j))))(fnp.asarray(x),
                                                                      fnp.asarray(i))
    np.testing.assert_allclose(np.asarray(g), np.asarray(g_jax), rtol=1e-6)


def test_vmap_of_take_fills_like_jax():
    xs = np.arange(12, dtype=np.float32).reshape(3, 4)
    idx = np.array([[5, 0], [-1, -5], [3, 9]], np.int32)
    got = ft.vmap(fnp.take)(fnp.asarray(xs), fnp.asarray(idx))
    _check_same(got, jax.vmap(jnp.take)(xs, idx), "vmap")


def test_update_values_gradient_against_jax():
    # Dropped updates get a zero gradient; clipped ones reach the last element.
    idx = np.array([7, 1, 1, -6], np.int32)
    for mode in (None, "clip"):
        def f(m, x, v):
            return _scalarize(m, x.at[m.asarray(idx)].add(v * v, mode=mode))
        want = jax.grad(lambda x, v: f(jnp, x, v), argnums=(0, 1))(X1, np.ones(4, np.float32))
        got = ft.grad(lambda x, v: f(fnp, x, v), argnums=(0, 1))(fnp.asarray(X1),
                                                               fnp.ones(4, np.float32))
        for a, b in zip(got, want):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


# JAX's choices where JAX itself raises, and numpy's modes functrans keeps.
@pytest.mark.parametrize("fn", [
    lambda m: m.zeros(0)[0],
    lambda m: m.zeros(0).at[0].set(1.0),
    lambda m: m.zeros(0).at[0].get(mode="fill"),
    lambda m: m.zeros((2, 0))[:, -1],
    lambda m: m.take(m.zeros(0), m.array([0])),
    lambda m: m.take(m.zeros(0), m.array([0]), mode="clip"),
    lambda m: m.take(m.zeros(3), m.array([0]), mode="bogus"),
    lambda m: m.take_along_axis(m.zeros(3), m.array([0]), axis=0, mode="bogus"),
    lambda m: m.zeros(3).at[1].get(mode="bogus"),
])
def test_raises_where_jax_raises(fn):
    with pytest.raises((IndexError, ValueError, TypeError)):
        fn(jnp)
    with pytest.raises((IndexError, ValueError)):
        fn(fnp)


def test_take_empty_indices_from_empty_axis():
    _check_same(fnp.take(fnp.zeros(0), fnp.zeros(0, int)),
                jnp.take(jnp.zeros(0), jnp.zeros(0, int)), "empty")


def test_take_modes_beyond_jax():
    # numpy's "raise" (JAX: NotImplementedError) checks concrete indices; JAX rejects
    # take(mode="promise_in_bounds"), which here means the indices are in bounds.
    x = fnp.arange(5.0)
    with pytest.raises(IndexError, match="invalid index 7"):
        fnp.take(x, fnp.array([1, 7]), mode="raise")
    np.testing.assert_array_equal(fnp.take(x, fnp.array([1, -1]), mode="raise"), [1.0, 4.0])
    np.testing.assert_array_equal(fnp.take(x, fnp.array([1, 4]), mode="promise_in_bounds"),
                                  jnp.take(jnp.arange(5.0), jnp.array([1, 4])))


# x.at[idx].apply(f): JAX applies f once per occurrence of a position (scatter_apply).
APPLY = [
    ("dup", lambda m: m.array([0, 0, 2, 9]), None),
    ("clip", lambda m: m.array([0, 9]), "clip"),
    ("int", lambda m: 1, None),
    ("int oob", lambda m: 7, None),
    ("slice", lambda m: slice(1, None), None),
]


def _fnp_apply(ref, func, mode=None):
    if hasattr(ref, "apply"):  # once array.py exposes it
        return ref.apply(func, mode=mode)
    return _index_apply(ref.array, ref.index, func, mode)


@pytest.mark.parametrize("name,idx,mode", APPLY, ids=[c[0] for c in APPLY])
def test_apply_against_jax(name, idx, mode):
    x = np.linspace(0.5, 1.5, 4, dtype=np.float32)
    want = jax.jit(lambda a: a.at[idx(jnp)].apply(jnp.sin, mode=mode))(x)
    got = _fnp_apply(fnp.asarray(x).at[idx(fnp)], fnp.sin, mode)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    got = ft.jit(lambda a: _fnp_apply(a.at[idx(fnp)], fnp.sin, mode))(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


def test_apply_traced_indices_and_vmap_against_jax():
    x = np.ones((2, 4), np.float32)
    i = np.array([[0, 0], [1, 9]], np.int32)
    want = jax.vmap(lambda a, j: a.at[j].apply(jnp.sin))(x, i)
    got = ft.vmap(lambda a, j: _fnp_apply(a.at[j], fnp.sin))(fnp.asarray(x), fnp.asarray(i))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    got = ft.jit(lambda a, j: _fnp_apply(a[0].at[j[0]], fnp.sin))(fnp.asarray(x),
                                                                  fnp.asarray(i))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want[0]), rtol=1e-6)
    _check_same(_fnp_apply(fnp.arange(4).at[1], lambda v: v * 2),
                jnp.arange(4).at[1].apply(lambda v: v * 2), "int apply")


# --- numpy's floating-point warnings -----------------------------------------------------------

# Operations whose eager computation makes numpy warn (JAX computes them silently).
WARNING_OPS = {
    "divide": lambda: fnp.array([1.0, 0.0]) / fnp.array([0.0, 0.0]),
    "log": lambda: fnp.log(fnp.array([0.0, -1.0])),
    "sqrt": lambda: fnp.sqrt(fnp.array([-1.0])),
    "exp overflow": lambda: fnp.exp(fnp.array([1000.0])),
    "float16 overflow": lambda: fnp.exp(fnp.array([20.0], fnp.float16)),
    "power": lambda: fnp.array([0.0]) ** -1.0,
    "arccos": lambda: fnp.arccos(fnp.array([2.0])),
    "arctanh": lambda: fnp.arctanh(fnp.array([1.0])),
    "mean of empty": lambda: fnp.mean(fnp.zeros(0)),
    "var of empty": lambda: fnp.var(fnp.zeros(0)),
    "std of empty axis": lambda: fnp.std(fnp.zeros((0, 2)), axis=0),
    "nanmean all nan": lambda: fnp.nanmean(fnp.array([np.nan])),
    "float16 sum overflow": lambda: fnp.sum(fnp.full(3, 60000.0, fnp.float16)),
    "grad sqrt at 0": lambda: ft.grad(fnp.sqrt)(0.0),
    "grad log at 0": lambda: ft.grad(fnp.log)(0.0),
    "grad norm at 0": lambda: ft.grad(fnp.linalg.norm)(fnp.zeros(3)),
    "vmap divide": lambda: ft.vmap(lambda x: x / 0.0)(fnp.ones(2)),
    "jit constants": lambda: ft.jit(lambda: fnp.log(fnp.zeros(1)) + fnp.ones(1) / 0.0)(),
    "jit divide": lambda: ft.jit(lambda x: x / 0.0)(fnp.ones(1)),
}


def _is_functrans_filter(f):
    return str(getattr(f[3], "pattern", f[3])).startswith("functrans")


@pytest.mark.parametrize("op", list(WARNING_OPS), ids=list(WARNING_OPS))
def test_numpy_warnings_do_not_leak(op):
    # Only functrans's filter (from pyproject.toml here: pytest drops the one
    # installed at import, test_import_filter_in_a_script checks that one), then
    # "error": any warning that filter does not claim fails the test, even one
    # numpy attributes to its own modules (pyproject.toml ignores those for tests).
    with warnings.catch_warnings():
        warnings.filters[:] = [f for f in warnings.filters if _is_functrans_filter(f)]
        assert warnings.filters, "functrans's filter is missing"
        warnings.simplefilter("error", append=True)
        WARNING_OPS[op]()


_SCRIPT = """
import warnings
import functrans as ft, functrans.numpy as fnp
with warnings.catch_warnings():
    warnings.simplefilter("error", append=True)
    fnp.log(fnp.zeros(1)); fnp.mean(fnp.zeros(0)); ft.grad(fnp.sqrt)(0.0)
fnp.array([1.0]) / 0.0   # default filters: would print a warning to stderr
print("ok")
"""


def test_import_filter_in_a_script():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         timeout=120)
    assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "ok", "")


def test_warning_ops_do_warn_without_functrans_filter():
    # The ops above really do warn in numpy (so the test above can fail): without
    # functrans's filter most of them warn. (Under simplefilter("error") they would not
    # raise: functrans computes again quietly then, see tests/test_warnings_as_errors.py.)
    warned = 0
    for op in WARNING_OPS.values():
        with warnings.catch_warnings(record=True) as log:
            warnings.filters[:] = [f for f in warnings.filters if not _is_functrans_filter(f)]
            warnings.simplefilter("always")
            op()
        warned += any(issubclass(w.category, RuntimeWarning) for w in log)
    assert warned >= len(WARNING_OPS) - 3


def test_user_numpy_and_functrans_warnings_still_shown():
    # The filter is narrow: numpy called from the user's code still warns, and so
    # do RuntimeWarnings functrans means to give.
    with warnings.catch_warnings(record=True) as log:
        warnings.filters[:] = [f for f in warnings.filters if _is_functrans_filter(f)]
        warnings.simplefilter("always", append=True)
        np.log(np.zeros(1))
        warnings.warn_explicit("skipping a corrupt checkpoint", RuntimeWarning, "io.py", 1,
                               module="functrans.io")
    assert [str(w.message) for w in log] == ["divide by zero encountered in log",
                                             "skipping a corrupt checkpoint"]


# Under grad (nothing staged out) a mask, slice bound or nonzero input is concrete, as in JAX.
CONCRETE_UNDER_GRAD = [
    ("at[mask].set", lambda m, x: m.sum(m.sin(x.at[x > 0].set(0.0)))),
    ("x[mask]", lambda m, x: m.sum(x[x > 0] ** 2)),
    ("nonzero", lambda m, x: m.sum(m.nonzero(x > 0)[1] * x[0, 0])),
    ("compress", lambda m, x: m.sum(m.compress(x[0] > 0, x, axis=1) ** 2)),
    ("slice bound", lambda m, x: m.sum(x[:, :m.argmax(x[0])] ** 2)),
]


@pytest.mark.parametrize("name,fn", CONCRETE_UNDER_GRAD, ids=[c[0] for c in CONCRETE_UNDER_GRAD])
def test_concrete_values_under_grad_against_jax(name, fn):
    x = np.array([[1.0, -2.0, 3.0], [-1.0, 2.0, 0.5]], np.float32)
    want = jax.grad(lambda a: fn(jnp, a))(x)
    got = ft.grad(lambda a: fn(fnp, a))(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    # Under jit both raise (JAX an IndexError for masks and slice bounds, functrans a
    # TypeError naming the traced value).
    with pytest.raises((TypeError, IndexError)):
        jax.jit(lambda a: fn(jnp, a))(x)
    with pytest.raises(TypeError):
        ft.jit(lambda a: fn(fnp, a))(fnp.asarray(x))
