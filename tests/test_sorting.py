"""Sorting: lax.sort (multi-operand, stable, NaNs last), sort_key_val, top_k, and
functrans.numpy's sort/argsort/lexsort, against numpy and jax."""

import itertools

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import dtypes, lax
from functrans.ir import eval_ir, typecheck
from functrans.primitives import sorting as srt

F32, I32, BOOL, C64 = np.float32, np.int32, np.bool_, np.complex64
SORT_DTYPES = [F32, np.float64, I32, np.int8, np.uint8, BOOL, np.float16, dtypes.bfloat16, C64]


def rand(shape, dtype, seed=0, low=-3, high=4):
    """Random values with many ties (small integer range) and, for floats,
    NaNs, infinities and signed zeros."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(max(low, 0) if dtype.kind == "u" else low, high, shape).astype(dtype)
    x = rng.integers(low, high, shape).astype(np.float64)
    special = rng.random(shape)
    x = np.where(special < 0.1, np.nan, x)
    x = np.where((special >= 0.1) & (special < 0.15), np.inf, x)
    x = np.where((special >= 0.15) & (special < 0.2), -0.0, x)
    if dtype.kind == "c":
        x = x + 1j * rng.integers(-1, 2, shape)
    return x.astype(dtype)


def assert_same(ours, ref):
    ours = np.asarray(ours)
    ref = np.asarray(ref)
    assert ours.shape == ref.shape and ours.dtype == ref.dtype, (ours.shape, ours.dtype,
                                                                 ref.shape, ref.dtype)
    if ref.dtype == dtypes.bfloat16:
        ours, ref = ours.astype(F32), ref.astype(F32)
    np.testing.assert_array_equal(ours, ref)


SHAPES_DIMS = [((7,), 0), ((7,), -1), ((3, 5), 0), ((3, 5), 1), ((2, 3, 4), 1), ((0, 3), 0),
               ((3, 0), 1), ((1,), 0)]


@pytest.fixture(autouse=True)
def _x64_for_float64(request):
    """Runs the float64 rows of dtype-parametrized tests with enable_x64 on."""
    params = getattr(request.node, "callspec", None)
    on = params is not None and params.params.get("dt") is np.float64
    with ft.config.option("enable_x64", on):
        yield


def _np_key(x):
    return x.astype(F32) if x.dtype == dtypes.bfloat16 else x


# --- lax.sort ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", SORT_DTYPES, ids=str)
def test_lax_sort_single_operand(dt):
    for shape, dim in SHAPES_DIMS:
        x = rand(shape, dt)
        out = lax.sort(fnp.asarray(x), dimension=dim)
        ref = np.sort(_np_key(x), axis=dim, kind="stable").astype(x.dtype)
        assert_same(out, ref)


@pytest.mark.parametrize("dt", SORT_DTYPES, ids=str)
def test_lax_sort_key_val_is_stable(dt):
    for shape, dim in SHAPES_DIMS:
        k = rand(shape, dt, seed=1)
        v = np.arange(int(np.prod(shape)), dtype=I32).reshape(shape)
        ks, vs = lax.sort_key_val(fnp.asarray(k), fnp.asarray(v), dimension=dim)
        perm = np.argsort(_np_key(k), axis=dim, kind="stable")
        assert_same(vs, np.take_along_axis(v, perm, axis=dim))
        assert_same(ks, np.take_along_axis(k, perm, axis=dim))


@pytest.mark.parametrize("num_keys", [1, 2, 3])
def test_lax_sort_multiple_keys_matches_lexsort(num_keys):
    for shape, dim in SHAPES_DIMS:
        keys = [rand(shape, dt, seed=i, low=-1, high=2)
                for i, dt in zip(range(num_keys), (I32, F32, BOOL))]
        payload = np.arange(int(np.prod(shape)), dtype=F32).reshape(shape)
        outs = lax.sort([fnp.asarray(k) for k in keys] + [fnp.asarray(payload)], dim,
                        num_keys=num_keys)
        assert isinstance(outs, tuple) and len(outs) == num_keys + 1
        perm = np.lexsort(keys[::-1], axis=dim)  # lexsort's primary key is the last
        for o, x in zip(outs, keys + [payload]):
            assert_same(o, np.take_along_axis(x, perm, axis=dim))


def test_nan_order_matches_numpy_and_jax():
    x = np.array([0.0, -0.0, 1.0, np.nan, -np.nan, -1.0, 0.0, -np.inf, np.inf], F32)
    ks, idx = lax.sort_key_val(fnp.asarray(x), fnp.arange(x.size))
    np.testing.assert_array_equal(idx, np.argsort(x, kind="stable"))
    assert np.isnan(np.asarray(ks)[-2:]).all()
    jax = pytest.importorskip("jax")
    _, jidx = jax.lax.sort_key_val(x, np.arange(x.size, dtype=I32))
    np.testing.assert_array_equal(idx, jidx)


def test_top_k():
    x = np.array([[1.0, 3.0, 2.0, 3.0, np.nan, -1.0], [5.0, 5.0, 5.0, 0.0, 1.0, 2.0]], F32)
    for k in (0, 1, 3, 6):
        vals, idx = lax.top_k(fnp.asarray(x), k)
        assert idx.dtype == np.int32 and vals.shape == (2, k)
        # Descending, ties by lower index, NaN as the largest: a stable sort of -x.
        ref_idx = np.argsort(np.where(np.isnan(x), -np.inf, -x), axis=-1, kind="stable")[:, :k]
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_array_equal(vals, np.take_along_axis(x, ref_idx, axis=-1))
    xi = rand((4, 9), I32)
    vals, idx = lax.top_k(fnp.asarray(xi), 4)
    np.testing.assert_array_equal(idx, np.argsort(-xi, axis=-1, kind="stable")[:, :4])
    jax = pytest.importorskip("jax")
    _, ji = jax.lax.top_k(x, 3)
    np.testing.assert_array_equal(lax.top_k(fnp.asarray(x), 3)[1], ji)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: lax.sort(fnp.ones(())), ValueError, "out of bounds"),
    (lambda: lax.sort(fnp.ones((2, 3)), dimension=2), ValueError, "out of bounds"),
    (lambda: lax.sort((fnp.ones(3), fnp.ones(4))), ValueError, "same shape"),
    (lambda: lax.sort((fnp.ones(3), fnp.ones(3)), num_keys=3), ValueError, "num_keys"),
    (lambda: lax.top_k(fnp.ones(3), 4), ValueError, "k must be"),
    (lambda: lax.top_k(fnp.ones((), F32), 1), ValueError, "rank"),
    (lambda: srt.sort_p.bind(fnp.ones(3), dimension=-1, is_stable=True, num_keys=1),
     ValueError, "out of bounds"),
])
def test_sort_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --- functrans.numpy -----------------------------------------------------------------------------


@pytest.mark.parametrize("dt", SORT_DTYPES, ids=str)
def test_fnp_sort_and_argsort_match_numpy(dt):
    for shape, axis in SHAPES_DIMS + [((3, 5), None), ((2, 3, 4), None), ((), None)]:
        x = rand(shape, dt, seed=2)
        key = _np_key(x)
        ref_sort = np.sort(key, axis=axis, kind="stable").astype(x.dtype)
        ref_idx = np.argsort(key.ravel() if axis is None else key, axis=-1 if axis is None
                             else axis, kind="stable")
        assert_same(fnp.sort(x, axis=axis), ref_sort)
        idx = fnp.argsort(x, axis=axis)
        assert idx.dtype == dtypes.default_int()
        np.testing.assert_array_equal(idx, ref_idx)


def test_fnp_descending_matches_jax():
    jnp = pytest.importorskip("jax.numpy")
    for dt in (F32, I32, BOOL):
        for shape, axis in [((9,), -1), ((4, 6), 0), ((4, 6), 1), ((4, 6), None)]:
            x = rand(shape, dt, seed=3)
            np.testing.assert_array_equal(fnp.argsort(x, axis=axis, descending=True),
                                          jnp.argsort(x, axis=axis, descending=True))
            np.testing.assert_array_equal(fnp.sort(x, axis=axis, descending=True),
                                          jnp.sort(x, axis=axis, descending=True))


def test_fnp_lexsort_and_methods():
    rng = np.random.default_rng(0)
    keys = [rng.integers(0, 3, (4, 6)) for _ in range(3)]
    for axis in (0, 1, -1):
        np.testing.assert_array_equal(fnp.lexsort(keys, axis=axis), np.lexsort(keys, axis=axis))
    x = fnp.asarray(rand((3, 4), F32))
    assert_same(x.sort(axis=0), np.sort(np.asarray(x), axis=0))
    np.testing.assert_array_equal(x.argsort(), np.argsort(np.asarray(x), kind="stable"))
    with pytest.raises(NotImplementedError, match="order"):
        fnp.sort(x, order="f0")
    with pytest.raises(ValueError, match="out of bounds"):
        fnp.argsort(x, axis=2)


def test_x64_argsort_dtype():
    with ft.config.option("enable_x64", True):
        assert fnp.argsort(np.arange(3.0)).dtype == np.int64
        assert fnp.sort(np.arange(3.0)).dtype == np.float64


# --- IR ------------------------------------------------------------------------------------------

IR_FUNCS = [
    lambda x: fnp.sort(x, axis=0),
    lambda x: fnp.argsort(x, axis=1, descending=True),
    lambda x: lax.sort_key_val(x, -x, 1)[1],
    lambda x: lax.top_k(x, 2)[0] + lax.top_k(x, 2)[1],
    lambda x: fnp.lexsort((x, fnp.floor(x)), axis=1),
    lambda x: lax.sort((x, x, fnp.floor(x)), 0, num_keys=2)[2],
]


@pytest.mark.parametrize("i", range(len(IR_FUNCS)))
def test_ir_typechecks_and_matches_eager(i):
    f = IR_FUNCS[i]
    x = fnp.asarray(rand((3, 4), F32) * 0.5)
    closed = ft.make_ir(f)(x)
    typecheck(closed)
    (got,) = eval_ir(closed.ir, closed.consts, [x])
    np.testing.assert_array_equal(got, f(x))


def test_all_dtype_pairs_sort_together():
    for kd, vd in itertools.product((F32, I32, BOOL), (C64, np.uint8)):
        k, v = rand((6,), kd), rand((6,), vd, seed=4)
        ks, vs = lax.sort_key_val(fnp.asarray(k), fnp.asarray(v))
        assert (ks.dtype, vs.dtype) == (np.dtype(kd), np.dtype(vd))
