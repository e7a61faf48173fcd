"""vmap of the reduction primitives and the functrans.numpy reductions built on
them, against a Python loop over the examples stacked back together.

Each row runs with the batch axis first, in the middle and last, with an
unmapped argument where the function has two, and under a nested vmap; a few
differentiable ones also check grad(vmap) and vmap(grad).
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from functrans.scipy import special as fss

F32, F64, I32, U8, BOOL = np.float32, np.float64, np.int32, np.uint8, np.bool_


def rand(shape, dtype, seed=0, nans=False):
    """Small values with ties for integers; optional NaNs for floats."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else -3, 4, shape).astype(dtype)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    if nans:
        x[rng.random(shape) < 0.15] = np.nan
    return x.astype(dtype)


def take(x, axis, i):
    return np.take(np.asarray(x), i, axis=axis)


def loop_vmap(f, args, in_axes, out_axis=0):
    """vmap by hand: f on each example, results stacked along ``out_axis``."""
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = [f(*[a if ax is None else take(a, ax, i) for a, ax in zip(args, in_axes)])
            for i in range(size)]
    if isinstance(outs[0], (tuple, list)):
        return tuple(np.stack([np.asarray(o[j]) for o in outs], out_axis)
                     for j in range(len(outs[0])))
    return np.stack([np.asarray(o) for o in outs], out_axis)


def assert_same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
        return
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
    else:
        tol = 1e-12 if want.dtype == np.float64 else 1e-5
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


def batched(x, axis, size=3, seed=1, nans=False):
    """A batch of ``size`` examples shaped like ``x``, stacked along ``axis``."""
    return np.stack([rand(x.shape, x.dtype, seed + i, nans) for i in range(size)], axis)


def check(f, example_args, in_axes, nans=False):
    args = [a if ax is None else batched(a, ax, nans=nans)
            for a, ax in zip(example_args, in_axes)]
    got = ft.vmap(f, in_axes=tuple(in_axes))(*args)
    assert_same(got, loop_vmap(f, args, in_axes))


# --- the primitives ----------------------------------------------------------------------------

NUMERIC_DT = [F32, F64, I32]
ALL_DT = [F32, F64, I32, BOOL]

# (name, fn, dtypes): each fn takes one example of shape (3, 4)
PRIM_ROWS = [
    ("reduce_sum_1", lambda x: lax.reduce_sum(x, (1,)), NUMERIC_DT),
    ("reduce_sum_01", lambda x: lax.reduce_sum(x, (0, 1)), NUMERIC_DT),
    ("reduce_sum_none", lambda x: lax.reduce_sum(x, ()), NUMERIC_DT),
    ("reduce_prod_0", lambda x: lax.reduce_prod(x, (0,)), NUMERIC_DT),
    ("reduce_max_1", lambda x: lax.reduce_max(x, (1,)), ALL_DT),
    ("reduce_max_01", lambda x: lax.reduce_max(x, (0, 1)), ALL_DT),
    ("reduce_min_0", lambda x: lax.reduce_min(x, (0,)), ALL_DT),
    ("reduce_and_1", lambda x: lax.reduce_and(x, (1,)), [BOOL, I32, U8]),
    ("reduce_or_0", lambda x: lax.reduce_or(x, (0,)), [BOOL, I32, U8]),
    ("argmax_0", lambda x: lax.argmax(x, 0, np.int32), ALL_DT),
    ("argmax_1", lambda x: lax.argmax(x, 1, np.int32), ALL_DT),
    ("argmin_1", lambda x: lax.argmin(x, 1, np.int32), ALL_DT),
    ("cumsum_0", lambda x: lax.cumsum(x, 0), NUMERIC_DT),
    ("cumsum_1_rev", lambda x: lax.cumsum(x, 1, reverse=True), NUMERIC_DT),
    ("cumprod_1", lambda x: lax.cumprod(x, 1), NUMERIC_DT),
    ("cummax_1", lambda x: lax.cummax(x, 1), ALL_DT),
    ("cummin_0_rev", lambda x: lax.cummin(x, 0, reverse=True), ALL_DT),
]

PRIM_CASES = [pytest.param(fn, dt, id=f"{name}-{np.dtype(dt).name}")
              for name, fn, dts in PRIM_ROWS for dt in dts]


def maybe_x64(request, dtype):
    if np.dtype(dtype) == np.float64:
        request.getfixturevalue("x64")


@pytest.mark.parametrize("fn,dtype", PRIM_CASES)
def test_primitive_vmap(fn, dtype, request):
    maybe_x64(request, dtype)
    x = rand((3, 4), dtype)
    nans = np.dtype(dtype).kind == "f"
    for axis in (0, 1, 2):  # first, middle, last axis of the batched (., 3, 4) operand
        check(fn, [x], [axis], nans=nans)


@pytest.mark.parametrize("fn,dtype", [pytest.param(fn, dts[0], id=name)
                                      for name, fn, dts in PRIM_ROWS])
def test_primitive_nested_vmap(fn, dtype):
    x = batched(rand((3, 4), dtype), 1, size=2, nans=True)   # example (3, 2, 4)
    inner = ft.vmap(fn, in_axes=1)                            # maps the 2
    args = [batched(x, 2, size=2, seed=5, nans=True)]         # outer batch in the middle
    got = ft.vmap(inner, in_axes=2)(*args)
    want = loop_vmap(lambda a: loop_vmap(fn, [a], [1]), args, [2])
    assert_same(got, want)


def test_unmapped_argument_and_out_axes():
    x = rand((3, 4), F32)
    w = rand((4,), F32, seed=3)

    def f(x, w):
        return lax.reduce_sum(x * w, (1,)), lax.argmax(x * w, 1, np.int32), lax.cumsum(x, 1)

    check(f, [x, w], [1, None])
    check(f, [x, w], [None, 0])
    xb = batched(x, 0)
    got = ft.vmap(lambda x: lax.reduce_max(x, (0,)), in_axes=0, out_axes=1)(xb)
    assert_same(got, loop_vmap(lambda x: lax.reduce_max(x, (0,)), [xb], [0], out_axis=1))


# --- functrans.numpy functions -------------------------------------------------------------------

NP_ROWS = [
    ("sum", lambda x: fnp.sum(x, axis=1)),
    ("sum_all", lambda x: fnp.sum(x)),
    ("sum_keepdims", lambda x: fnp.sum(x, axis=0, keepdims=True)),
    ("mean", lambda x: fnp.mean(x, axis=0)),
    ("var", lambda x: fnp.var(x, axis=1)),
    ("std_ddof", lambda x: fnp.std(x, ddof=1)),
    ("prod", lambda x: fnp.prod(x, axis=1)),
    ("max", lambda x: fnp.max(x, axis=0)),
    ("min_all", lambda x: fnp.min(x)),
    ("argmax", lambda x: fnp.argmax(x, axis=1)),
    ("argmax_flat", lambda x: fnp.argmax(x)),
    ("argmin", lambda x: fnp.argmin(x, axis=0)),
    ("all", lambda x: fnp.all(x > 0, axis=1)),
    ("any", lambda x: fnp.any(x > 0)),
    ("cumsum", lambda x: fnp.cumsum(x, axis=1)),
    ("cumsum_flat", lambda x: fnp.cumsum(x)),
    ("cumprod", lambda x: fnp.cumprod(x, axis=0)),
    ("logsumexp", lambda x: fss.logsumexp(x, axis=1)),
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in NP_ROWS])
def test_numpy_vmap(fn, dtype, request):
    maybe_x64(request, dtype)
    x = rand((3, 4), dtype)
    for axis in (0, 1, 2):
        check(fn, [x], [axis])


def test_numpy_int_and_bool_vmap():
    x = rand((3, 4), I32)
    b = rand((3, 4), BOOL, seed=2)
    check(lambda x: (fnp.sum(x, axis=0), fnp.max(x, axis=1), fnp.argmin(x), fnp.cumsum(x, 1)),
          [x], [2])
    check(lambda b: (fnp.all(b, axis=0), fnp.any(b, axis=1), fnp.sum(b), fnp.argmax(b, 1)),
          [b], [1])


# --- autodiff composition ------------------------------------------------------------------------

GRAD_ROWS = [
    ("sum", lambda x: fnp.sum(x ** 2)),
    ("prod", lambda x: fnp.sum(fnp.prod(x, axis=0))),
    ("max", lambda x: fnp.sum(fnp.max(x, axis=1))),
    ("cumsum", lambda x: fnp.sum(fnp.cumsum(x, axis=1) ** 2)),
    ("cumprod", lambda x: fnp.sum(fnp.cumprod(x, axis=0))),
    ("cummax", lambda x: fnp.sum(lax.cummax(x, 1) * fnp.arange(4.0))),
    ("logsumexp", lambda x: fss.logsumexp(x)),
    ("var", lambda x: fnp.var(x)),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in GRAD_ROWS])
def test_vmap_of_grad(fn):
    x = rand((3, 4), F32)
    check(ft.grad(fn), [x], [1])


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in GRAD_ROWS])
def test_grad_of_vmap(fn):
    xb = batched(rand((3, 4), F32), 2)
    w = np.arange(1.0, 4.0, dtype=F32)

    def loss(xb):
        return fnp.sum(ft.vmap(fn, in_axes=2)(xb) * w)

    def loss_loop(xb):
        return sum(fn(xb[:, :, i]) * w[i] for i in range(3))

    assert_same(ft.grad(loss)(xb), np.asarray(ft.grad(loss_loop)(xb)))
