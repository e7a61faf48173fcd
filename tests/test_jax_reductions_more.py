"""Reductions, cumulative ops, indexing and collectives against jax (the oracle), for
what the differential corpus does not reach: 16-bit cumulative sums and products bit for
bit over lengths that cross XLA's block size, reverse scans, and higher derivatives."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp

# lengths around XLA:CPU's scan block (16) and its square (256), and an empty axis
_LENGTHS = [0, 1, 2, 15, 16, 17, 33, 257]


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16], ids=["f16", "bf16"])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_low_float_cumulative_matches_jax_bits(dtype, name):
    """16-bit cumsum/cumprod round every step in the operand's dtype, in XLA's order:
    eager and jit give jax's bits (rounded float32 sums would differ)."""
    rng = np.random.default_rng(0)
    lo, hi = (-1.0, 1.0) if name == "cumsum" else (0.97, 1.04)
    xs = [rng.uniform(lo, hi, (3, n)).astype(dtype) for n in _LENGTHS]
    for x in xs[1:]:
        x[0, 0] = -0.0

    def all_scans(L):  # one jit for every length and direction
        return lambda xs: [getattr(L.lax, name)(x, axis=1, reverse=r)
                           for x in xs for r in (False, True)]
    want = jax.jit(all_scans(jax))(xs)
    eager = all_scans(ft)(xs)
    jitted = ft.jit(all_scans(ft))(xs)
    for i, (w, e, j) in enumerate(zip(want, eager, jitted)):
        w = np.asarray(w)
        for got, how in ((e, "eager"), (j, "jit")):
            got = np.asarray(got)
            assert got.dtype == w.dtype, how
            np.testing.assert_array_equal(
                got.view(np.uint16), w.view(np.uint16),
                err_msg=f"{name} {how} n={_LENGTHS[i // 2]} reverse={bool(i % 2)}")


def test_float32_cumsum_of_negative_zeros_is_positive():
    """XLA adds from +0: a running sum of -0s is +0 (one element passes through)."""
    for x in ([-0.0, -0.0, -0.0], [-0.0]):
        x = np.array(x, np.float32)
        want = np.asarray(jnp.cumsum(x))
        got = np.asarray(fnp.cumsum(x))
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


_TIES = np.array([[1, 3, 3, 0, 3, 3, 2], [2, 2, 2, 2, 2, 2, 2], [-1, 5, -1, 5, 9, 9, 9],
                  [np.nan, 1, 2, 3, 4, 5, 6], [1, 2, np.nan, 2, 5, 5, 0]], np.float32)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("reverse", [False, True])
def test_cum_extremum_derivatives_match_jax(name, reverse):
    """Ties split as jax's associative scan splits them; no tangent after a NaN; also
    under jit and to second order."""
    rng = np.random.default_rng(1)

    def loss(L, w):
        return lambda x: (getattr(L.lax, name)(x * x, axis=1, reverse=reverse) * w).sum()
    w = rng.uniform(0.5, 1.5, _TIES.shape).astype(np.float32)
    want = np.asarray(jax.grad(loss(jax, w))(_TIES))
    np.testing.assert_allclose(np.asarray(ft.grad(loss(ft, w))(_TIES)), want, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ft.jit(ft.grad(loss(ft, w)))(_TIES)), want, rtol=1e-6)
    x = _TIES[:3, :5]  # no NaN: its hessian rows are NaN in both
    w = w[:3, :5]
    np.testing.assert_allclose(np.asarray(ft.hessian(loss(ft, w))(x)),
                               np.asarray(jax.hessian(loss(jax, w))(x)), rtol=1e-6)


_CONCRETE_SHAPES = {  # a shape argument computed from the differentiated value
    "reshape": lambda L, np_, x: np_.reshape(x, (np_.sum(x > -100).astype(int),)),
    "split": lambda L, np_, x: np_.split(x, [np_.sum(x > 3).astype(int)])[0],
    "tile": lambda L, np_, x: np_.tile(x, np_.sum(x > 3).astype(int)),
    "dynamic_slice": lambda L, np_, x: L.lax.dynamic_slice(x, (0,), (np_.sum(x > 3).astype(int),)),
    "gather": lambda L, np_, x: L.lax.gather(
        x, np.array([[1]]), L.lax.GatherDimensionNumbers((1,), (), (0,)),
        (np_.sum(x > 3).astype(int),)),
}


@pytest.mark.parametrize("name", sorted(_CONCRETE_SHAPES))
def test_shape_from_a_differentiated_value_works_under_grad(name):
    """A shape argument whose value is known under grad is read, as in JAX; under jit
    it is unknown and both libraries raise."""
    x = np.arange(6.0, dtype=np.float32)
    f = _CONCRETE_SHAPES[name]
    w = np.asarray(jax.grad(lambda v: (f(jax, jnp, v) ** 2).sum())(x))
    g = np.asarray(ft.grad(lambda v: (f(ft, fnp, v) ** 2).sum())(x))
    np.testing.assert_array_equal(g, w)
    with pytest.raises(TypeError):
        jax.jit(lambda v: f(jax, jnp, v))(x)
    with pytest.raises(TypeError):
        ft.jit(lambda v: f(ft, fnp, v))(x)


def test_lax_slice_bounds_stay_static_under_grad():
    """lax.slice's bounds are Python ints in JAX even under grad (it raises): so here."""
    x = np.arange(6.0, dtype=np.float32)
    for L, np_ in ((jax, jnp), (ft, fnp)):
        with pytest.raises(TypeError):
            L.grad(lambda v: L.lax.slice(v, (np_.sum(v > 3),), (6,)).sum())(x)


def _custom_with_python_if(L, np_):
    @L.custom_jvp
    def f(x):
        if x > 0:  # a Python branch on the value: fine where the value is known
            return np_.sin(x)
        return x

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), (np_.cos(x) if x > 0 else 1.0) * t

    @L.custom_vjp
    def g(x):
        if x > 0:
            return np_.sin(x)
        return x
    g.defvjp(lambda x: (g(x), x), lambda x, ct: (ct * x,))
    return f, g


def test_custom_rules_run_python_control_flow_on_known_primals():
    """The rule calls the function on known primals: it runs (JAX runs it too) rather
    than being traced for its output types; under jit and vmap both libraries raise."""
    (f, g), (jf, jg) = _custom_with_python_if(ft, fnp), _custom_with_python_if(jax, jnp)
    for x in (1.5, -0.5):
        for ours, theirs in ((ft.grad(f), jax.grad(jf)), (ft.grad(g), jax.grad(jg)),
                             (ft.hessian(f), jax.hessian(jf))):
            np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6)
    with pytest.raises(TypeError):
        ft.jit(ft.grad(f))(1.5)
    with pytest.raises(TypeError):
        jax.jit(jax.grad(jf))(1.5)
