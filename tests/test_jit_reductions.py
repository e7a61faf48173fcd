"""jit of the reduction primitives and the functrans.numpy reductions, against
eager mode (which tests/test_reductions.py checks against numpy).

Compiles cost tens of milliseconds, so each test jits one function that
returns many results (every reduction over several axes for one dtype).
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import dtypes, lax
from functrans.interpreters.lowering import lower_ir
from functrans.jit import jit
from functrans.scipy import special as fss

F16, BF16, F32, F64 = np.float16, dtypes.bfloat16, np.float32, np.float64
I8, I32, I64, U8, BOOL, C64 = np.int8, np.int32, np.int64, np.uint8, np.bool_, np.complex64


def rand(shape, dtype, seed=0, nans=False):
    """Values with ties (integers, and repeated floats) and optional NaNs/infs."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        lo, hi = (0, 250) if dtype.kind == "u" else (-3, 4)
        return rng.integers(lo, hi, shape).astype(dtype)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    x = np.where(rng.random(shape) < 0.2, 1.0, x)          # ties
    if dtype.kind == "c":
        x = x + 1j * np.where(rng.random(shape) < 0.3, 0.0, rng.uniform(-1, 1, shape))
    if nans:
        x = np.where(rng.random(shape) < 0.1, np.nan, x)
        if dtype.kind == "f":  # complex infinities multiply differently in numpy and XLA
            x = np.where(rng.random(shape) < 0.05, -np.inf, x)
    return x.astype(dtype)


def tol(dtype):
    dtype = np.dtype(dtype)
    if dtype in (np.dtype(F16), np.dtype(BF16)):
        return 1e-2
    return 1e-12 if dtype in (np.dtype(F64), np.dtype(np.complex128)) else 2e-5


def assert_same(got, want):
    got_l, want_l = ft.tree_util.tree_leaves(got), ft.tree_util.tree_leaves(want)
    assert len(got_l) == len(want_l)
    for i, (g, w) in enumerate(zip(got_l, want_l)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (i, g.shape, w.shape, g.dtype, w.dtype)
        if w.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w, err_msg=f"output {i}")
        else:
            t = tol(w.dtype)
            np.testing.assert_allclose(g.astype(np.complex128), w.astype(np.complex128), rtol=t,
                                       atol=t, equal_nan=True, err_msg=f"output {i}")


def check_jit(f, *args):
    assert_same(jit(f)(*args), f(*args))


def all_reductions(x, kinds, full):
    """Every primitive of ``kinds`` on ``x``: over several axes if ``full``, else one."""
    out = {}
    for name in kinds:
        fn = getattr(lax, name)
        if name.startswith("reduce"):
            for axes in [(1,), (0, 2), ()] if full else [(0, 2)]:
                out[f"{name}{axes}"] = fn(x, axes)
        elif name.startswith("arg"):
            for axis in (0, 2) if full else (1,):
                out[f"{name}{axis}"] = fn(x, axis, np.int32)
        else:
            out[f"{name}2r"] = fn(x, 2, reverse=True)
            if full:
                out[f"{name}1"] = fn(x, 1)
    return out


ARITH = ["reduce_sum", "reduce_prod", "cumsum", "cumprod"]
ORDER = ["reduce_max", "reduce_min", "argmax", "argmin", "cummax", "cummin"]
BITS = ["reduce_and", "reduce_or"]

CASES = [
    (F32, ARITH + ORDER), (F64, ARITH + ORDER), (I32, ARITH + ORDER + BITS),
    (I64, ["reduce_sum", "reduce_max", "argmin", "cumsum"]), (U8, ARITH + ORDER + BITS),
    (I8, ["reduce_sum", "reduce_prod", "cumsum"]),           # wraps around, like XLA
    (BOOL, ["reduce_max", "reduce_min", "argmax", "argmin", "cummax", "cummin"] + BITS),
    (F16, ["reduce_sum", "reduce_prod", "reduce_max", "argmax", "cumsum", "cummin"]),
    (BF16, ["reduce_sum", "reduce_min", "argmin", "cumprod", "cummax"]),
    (C64, ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "cumsum", "cumprod",
           "cummax", "cummin"]),
]


@pytest.mark.parametrize("dtype,kinds", [pytest.param(d, k, id=np.dtype(d).name)
                                         for d, k in CASES])
def test_primitives_jit(dtype, kinds, request):
    if np.dtype(dtype) in (np.dtype(F64), np.dtype(I64)):
        request.getfixturevalue("x64")
    x = rand((4, 5, 6), dtype, nans=np.dtype(dtype).kind in "fc")
    check_jit(lambda x: all_reductions(x, kinds, full=np.dtype(dtype) == np.float32), x)


def test_nan_and_tie_semantics():
    nan, inf = np.nan, np.inf
    x = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 0.0, -1.0, 2.0],    # ties: first occurrence
                  [nan, 1.0, nan, 2.0, 5.0, -inf, 0.0, 1.0],     # NaN wins, first one
                  [-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf],
                  [inf, inf, 1.0, 2.0, inf, -inf, -inf, 3.0],
                  [-0.0, 0.0, -0.0, 0.0, 1.0, 1.0, nan, nan],
                  [2.0, 1.0, 0.5, nan, 3.0, -2.0, -2.0, 7.0]], F32)

    def f(x):
        return (lax.argmax(x, 1, np.int32), lax.argmin(x, 1, np.int32),
                lax.argmax(x, 0, np.int32), lax.argmin(x, 0, np.int32),
                lax.reduce_max(x, (1,)), lax.reduce_min(x, (0,)),
                lax.cummax(x, 1), lax.cummin(x, 1, reverse=True), lax.cummax(x, 0, reverse=True))

    check_jit(f, x)
    got = jit(f)(x)
    np.testing.assert_array_equal(np.asarray(got[0]), np.argmax(x, 1))
    np.testing.assert_array_equal(np.asarray(got[1]), np.argmin(x, 1))


def test_empty_and_degenerate_axes():
    x = np.zeros((3, 0, 2), F32)
    y = rand((3, 1, 2), I32)

    def f(x, y):
        return ([lax.reduce_sum(x, (1,)), lax.reduce_prod(x, (1,)), lax.reduce_max(x, (1,)),
                 lax.reduce_min(x, (0, 1)), lax.cumsum(x, 1), lax.cummax(x, 1)],
                [lax.reduce_max(y, (1,)), lax.cumsum(y, 1), lax.argmax(y, 1, np.int32),
                 lax.reduce_and(y, (0, 1, 2))])

    check_jit(f, x, y)
    bx = np.zeros((0, 3), BOOL)
    check_jit(lambda b: (lax.reduce_and(b, (0,)), lax.reduce_or(b, (0,)),
                         lax.reduce_max(b, (0,)), lax.reduce_min(b, (0,))), bx)


def test_int64_index_dtype(x64):
    x = rand((3, 7), F64, nans=True)
    check_jit(lambda x: (lax.argmax(x, 1, np.int64), lax.argmin(x, 0, np.int8)), x)


def test_long_cumulative_axis():
    # more than one scan step of every size, and a length that is not a power of two
    x = rand((2, 37), F32, seed=3)
    i = rand((37, 2), I32, seed=4)
    check_jit(lambda x, i: (lax.cumsum(x, 1), lax.cummax(x, 1, reverse=True), lax.cumsum(i, 0),
                            lax.cummin(i, 0), lax.cumprod(i % 2 + 1, 0, reverse=True)), x, i)


def test_lowering_uses_native_ops():
    closed = ft.make_ir(lambda x: (lax.reduce_sum(x, (0,)), lax.argmax(x, 1, np.int32),
                                   lax.cumsum(x, 0)))(np.ones((3, 4), F32))
    text = lower_ir(closed).text
    assert '"stablehlo.reduce"' in text and '"stablehlo.reduce_window"' in text
    assert "custom_call" not in text


# --- functrans.numpy functions -------------------------------------------------------------------


def numpy_reductions(x):
    return dict(
        sum=fnp.sum(x, axis=1), sum_all=fnp.sum(x), sum_keep=fnp.sum(x, axis=(0, 2), keepdims=True),
        mean=fnp.mean(x, axis=0), var=fnp.var(x, axis=2), std=fnp.std(x, ddof=1),
        prod=fnp.prod(x, axis=1), max=fnp.max(x, axis=2), min=fnp.min(x),
        argmax=fnp.argmax(x, axis=1), argmax_flat=fnp.argmax(x), argmin=fnp.argmin(x, axis=2),
        all=fnp.all(x > 0, axis=0), any=fnp.any(x > 1.2), cumsum=fnp.cumsum(x, axis=2),
        cumsum_flat=fnp.cumsum(x), cumprod=fnp.cumprod(x, axis=0),
        logsumexp=fss.logsumexp(x, axis=1), logsumexp_all=fss.logsumexp(x),
    )


@pytest.mark.parametrize("dtype", [F32, F64])
def test_numpy_jit(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    check_jit(numpy_reductions, rand((3, 4, 5), dtype))


def test_numpy_int_bool_jit():
    x = rand((3, 4, 5), I32)
    b = rand((3, 4, 5), BOOL, seed=1)
    check_jit(lambda x, b: dict(sum=fnp.sum(x, axis=0), mean=fnp.mean(x), max=fnp.max(x, 2),
                                argmin=fnp.argmin(x, 1), cumsum=fnp.cumsum(x, 1),
                                prod=fnp.prod(x, axis=2), all=fnp.all(b, axis=1),
                                any=fnp.any(b), bsum=fnp.sum(b, axis=0), bmax=fnp.max(b, 1),
                                bargmax=fnp.argmax(b, axis=2)), x, b)


# --- composed with vmap and grad -----------------------------------------------------------------


def test_jit_of_vmap_and_grad():
    x = rand((3, 4, 5), F32, seed=2)

    def per_example(x):
        return (fnp.sum(x, axis=0), lax.argmax(x, 1, np.int32), lax.cummax(x, 0),
                fss.logsumexp(x), fnp.var(x, axis=1))

    def loss(x):
        return fnp.sum(fnp.cumsum(x, axis=1) ** 2) + fnp.max(x) + fss.logsumexp(x) + fnp.var(x)

    def f(x):
        return (ft.vmap(per_example, in_axes=1)(x), ft.vmap(per_example, in_axes=2)(x),
                ft.grad(loss)(x), ft.vmap(ft.grad(loss))(x))

    check_jit(f, x)
