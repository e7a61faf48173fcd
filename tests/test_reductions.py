"""Reductions: the lax primitives, functrans.numpy's reductions, and
functrans.scipy.special, against numpy/scipy for values and jax for dtypes."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.special as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import functrans as ft
import functrans.numpy as fnp
from functrans import dtypes, lax
from functrans.ir import eval_ir, typecheck
from functrans.primitives import reductions as rp
from functrans.scipy import special as fss

F32, F64, I32, BOOL, C64 = np.float32, np.float64, np.int32, np.bool_, np.complex64


def rand(shape, dtype, seed=0):
    """Values that keep products and sums small; integers have ties."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        lo = 0 if dtype.kind == "u" else -3
        return rng.integers(lo, 4, shape).astype(dtype)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    if dtype.kind == "c":
        x = x + 1j * rng.uniform(-1, 1, shape)
    return x.astype(dtype)


def tol(dtype):
    dtype = np.dtype(dtype)
    if dtype in (np.float16, dtypes.bfloat16):
        return dict(rtol=2e-2, atol=2e-2)
    if dtype in (np.float64, np.complex128):
        return dict(rtol=1e-10, atol=1e-10)
    return dict(rtol=2e-5, atol=2e-5)


def assert_close(ours, ref, dtype=F32):
    ours_np = np.asarray(ours)
    ref = np.asarray(ref)
    assert ours_np.shape == ref.shape, (ours_np.shape, ref.shape)
    if ours_np.dtype == np.bool_ or ref.dtype == np.bool_:
        np.testing.assert_array_equal(ours_np, ref)
        return
    kind = complex if np.iscomplexobj(ours_np) or np.iscomplexobj(ref) else float
    np.testing.assert_allclose(ours_np.astype(kind), ref.astype(kind), equal_nan=True, **tol(dtype))


# --- lax primitives ------------------------------------------------------------------------------

LAX_REDUCE = [
    (lax.reduce_sum, lambda x, a: np.sum(x, axis=a, dtype=x.dtype), [F32, I32, C64, np.int8]),
    (lax.reduce_prod, lambda x, a: np.prod(x, axis=a, dtype=x.dtype), [F32, I32, C64]),
    (lax.reduce_max, lambda x, a: np.max(x, axis=a), [F32, I32, BOOL, np.uint8]),
    (lax.reduce_min, lambda x, a: np.min(x, axis=a), [F32, I32, BOOL, np.int16]),
    (lax.reduce_and, lambda x, a: np.bitwise_and.reduce(x, axis=a), [BOOL, I32]),
    (lax.reduce_or, lambda x, a: np.bitwise_or.reduce(x, axis=a), [BOOL, np.uint8]),
]
SHAPE_AXES = [((), ()), ((5,), (0,)), ((5,), (-1,)), ((3, 4), (1,)), ((3, 4), (0, 1)),
              ((2, 3, 4), (2, 0)), ((2, 3, 4), ()), ((0, 3), (1,))]


@pytest.mark.parametrize("fn,ref,dts", LAX_REDUCE, ids=lambda v: getattr(v, "__name__", ""))
def test_lax_reductions_match_numpy(fn, ref, dts):
    for dt, (shape, axes) in itertools.product(dts, SHAPE_AXES):
        x = rand(shape, dt)
        out = fn(fnp.asarray(x), axes)
        assert out.dtype == np.dtype(dt), (fn.__name__, dt)
        norm = tuple(a % max(len(shape), 1) for a in axes)
        assert_close(out, ref(x, norm), dt)


def test_lax_reduce_identities_on_empty_axes():
    x = fnp.zeros((3, 0))
    assert lax.reduce_max(x, 1).tolist() == [-np.inf] * 3
    assert lax.reduce_min(x, (1,)).tolist() == [np.inf] * 3
    assert lax.reduce_sum(x, 1).tolist() == [0.0] * 3
    assert lax.reduce_prod(x, 1).tolist() == [1.0] * 3
    xi = fnp.zeros((2, 0), fnp.int32)
    assert lax.reduce_max(xi, 1).tolist() == [np.iinfo(np.int32).min] * 2
    assert lax.reduce_min(xi, 1).tolist() == [np.iinfo(np.int32).max] * 2
    assert lax.reduce_and(fnp.zeros((0,), bool), 0).item() is True
    assert lax.reduce_or(fnp.zeros((0,), bool), 0).item() is False


def test_lax_reductions_keep_weak_type_and_nan():
    assert lax.reduce_sum(fnp.asarray(2.0), ()).weak_type
    assert not lax.reduce_sum(fnp.ones(3), 0).weak_type
    assert np.isnan(lax.reduce_max(fnp.asarray([1.0, np.nan, 3.0]), 0).item())
    assert np.isnan(lax.reduce_min(fnp.asarray([1.0, np.nan, 3.0]), 0).item())


@pytest.mark.parametrize("dt", [F32, np.float16, dtypes.bfloat16])
def test_lax_low_precision_reductions(dt):
    x = rand((4, 6), dt)
    for fn, ref in [(lax.reduce_sum, np.sum), (lax.reduce_max, np.max), (lax.reduce_min, np.min)]:
        out = fn(fnp.asarray(x), 1)
        assert out.dtype == np.dtype(dt)
        assert_close(out, ref(x.astype(F32), axis=1).astype(dt), dt)


def test_lax_argmax_argmin():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [np.nan, 2.0, np.nan, -1.0], [0.0, -1.0, -1.0, 5.0]], F32)
    for fn, ref in [(lax.argmax, np.argmax), (lax.argmin, np.argmin)]:
        for axis in (0, 1, -1):
            out = fn(fnp.asarray(x), axis, np.int32)
            assert out.dtype == np.int32
            np.testing.assert_array_equal(out, ref(x, axis=axis))
    assert lax.argmax(fnp.asarray([True, False, True]), 0, np.int32).item() == 0
    assert lax.argmin(fnp.asarray([2, 1, 1], np.uint8), 0, np.int16).dtype == np.int16


def test_lax_cumulative():
    x = rand((3, 5), F32)
    xi = rand((3, 5), I32)
    for fn, ref in [(lax.cumsum, np.cumsum), (lax.cumprod, np.cumprod),
                    (lax.cummax, np.maximum.accumulate), (lax.cummin, np.minimum.accumulate)]:
        for v in (x, xi):
            for axis, reverse in itertools.product((0, 1, -1), (False, True)):
                out = fn(fnp.asarray(v), axis, reverse)
                expected = np.flip(ref(np.flip(v, axis), axis=axis), axis) if reverse \
                    else ref(v, axis=axis)
                assert out.dtype == v.dtype
                assert_close(out, expected)
    nan = fnp.asarray([1.0, np.nan, 0.0])
    assert np.isnan(lax.cummax(nan).tolist()[1:]).all()


def test_lax_int_sum_wraps_like_xla():
    x = fnp.full((3,), 2**30, fnp.int32)
    assert lax.reduce_sum(x, 0).item() == np.int32(3 * 2**30 - 2**32)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: lax.reduce_sum(fnp.ones(3, bool), 0), TypeError, "reduce_sum"),
    (lambda: lax.reduce_sum(fnp.ones((2, 3)), 2), ValueError, "out of bounds"),
    (lambda: lax.reduce_sum(fnp.ones((2, 3)), (0, -2)), ValueError, "repeated"),
    (lambda: lax.reduce_and(fnp.ones(3), 0), TypeError, "reduce_and"),
    (lambda: lax.argmax(fnp.ones(3, np.complex64), 0, np.int32), TypeError, "argmax"),
    (lambda: lax.argmax(fnp.ones((2, 0)), 1, np.int32), ValueError, "empty"),
    (lambda: lax.argmin(fnp.ones(3), 0, np.float32), TypeError, "index_dtype"),
    (lambda: lax.cumsum(fnp.ones(3), 1), ValueError, "out of bounds"),
    (lambda: rp.reduce_max_p.bind(fnp.ones((2, 3)), axes=(1, 0)), ValueError, "sorted"),
])
def test_lax_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --- functrans.numpy reductions vs numpy ---------------------------------------------------------

MULTI = ["sum", "prod", "max", "min", "amax", "amin", "all", "any", "mean", "var", "std",
         "ptp", "count_nonzero", "median", "nansum", "nanmean", "nanmax", "nanmin", "nanprod",
         "nanvar", "nanstd"]
SINGLE = ["argmax", "argmin", "cumsum", "cumprod", "sort", "argsort"]
NO_KEEPDIMS = {"cumsum", "cumprod", "sort", "argsort"}
DTYPES_FOR = {
    "default": [F32, I32, BOOL, C64],
    "ptp": [F32, I32, C64], "median": [F32, I32], "argmax": [F32, I32, BOOL],
    "argmin": [F32, I32, BOOL], "nanmax": [F32, I32], "nanmin": [F32, I32],
    "sort": [F32, I32, BOOL], "argsort": [F32, I32, BOOL],
}
AXES = {(): [None], (5,): [None, 0, -1], (2, 3, 4): [None, 0, -1, 1, (0, 2), (2, 1, 0), ()]}


def _numpy_ref(name, x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in ("sort", "argsort"):
            kw.setdefault("kind", "stable")
        if name == "argsort" and kw.get("axis") is None:
            return np.argsort(x.ravel(), kind="stable")
        return getattr(np, name)(x, **kw)


def _cases():
    for name in MULTI + SINGLE:
        for dt in DTYPES_FOR.get(name, DTYPES_FOR["default"]):
            yield name, dt


@pytest.mark.parametrize("name,dt", list(_cases()), ids=lambda v: getattr(v, "__name__", str(v)))
def test_numpy_reductions_match_numpy(name, dt):
    fn = getattr(fnp, name)
    for shape, axes in AXES.items():
        x = rand(shape, dt, seed=len(shape))
        for axis in axes:
            if name in SINGLE and isinstance(axis, tuple):
                continue
            if name in ("sort", "argsort") and shape == () and axis is not None:
                continue
            for keepdims in ((False,) if name in NO_KEEPDIMS else (False, True)):
                kw = {"axis": axis}
                if keepdims:
                    kw["keepdims"] = True
                ours = fn(fnp.asarray(x), **kw)
                assert_close(ours, _numpy_ref(name, x, **kw), dt)


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "all", "any", "cumsum", "cumprod",
                                  "sort", "argsort", "count_nonzero", "var", "nansum"])
def test_numpy_reductions_on_size_zero(name):
    x = np.zeros((0, 3), F32)
    for axis in (None, 0, 1):
        assert_close(getattr(fnp, name)(fnp.asarray(x), axis=axis), _numpy_ref(name, x, axis=axis))


def test_nan_handling():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [4.0, 2.0, 0.0]], F32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("max", "min", "sum", "mean", "median", "nansum", "nanmean", "nanmax",
                     "nanmin", "argmax", "argmin", "nanvar"):
            for axis in (None, 0, 1):
                assert_close(getattr(fnp, name)(x, axis=axis), getattr(np, name)(x, axis=axis))


def test_where_initial_and_dtype_kwargs():
    x = rand((3, 4), F32)
    mask = rand((3, 4), BOOL, seed=3)
    row_mask = np.array([True, False, True, True])
    for name in ("sum", "prod", "mean", "all", "any"):
        for w in (mask, row_mask):
            assert_close(getattr(fnp, name)(x, axis=1, where=w),
                         getattr(np, name)(x, axis=1, where=w))
    for name in ("max", "min"):
        assert_close(getattr(fnp, name)(x, axis=0, where=mask, initial=0.5),
                     getattr(np, name)(x, axis=0, where=mask, initial=0.5))
    assert_close(fnp.sum(x, initial=10.0), np.sum(x, initial=10.0))
    assert_close(fnp.max(np.zeros((0, 2)), axis=0, initial=-1.0), [-1.0, -1.0])
    assert_close(fnp.var(x, axis=0, where=mask, ddof=1), np.var(x, axis=0, where=mask, ddof=1))
    assert fnp.sum(np.ones(3, np.int8), dtype=np.int8).dtype == np.int8
    assert fnp.sum(np.ones(3, I32), dtype=F32).dtype == np.float32
    assert fnp.sum(np.ones(3, np.int8), promote_integers=False).dtype == np.int8
    assert fnp.mean(np.arange(5), dtype=I32).item() == 2
    assert fnp.sum(np.array([True, False]), dtype=bool).item() is True
    assert fnp.prod(np.array([True, False]), dtype=bool).item() is False


def test_var_std_ddof_and_complex():
    x = rand((4, 5), C64)
    for ddof in (0, 1, 3):
        assert_close(fnp.var(x, axis=1, ddof=ddof), np.var(x, axis=1, ddof=ddof))
        assert_close(fnp.std(x, axis=0, ddof=ddof), np.std(x, axis=0, ddof=ddof))
    assert fnp.var(x).dtype == np.float32
    assert np.isnan(fnp.var(np.ones(3), ddof=3).item())
    assert_close(fnp.std(x, correction=1), np.std(x, ddof=1))


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_and_percentile(method):
    x = rand((4, 7, 3), F32)
    for q in (0.0, 0.3, 1.0, [0.1, 0.5, 0.75], [[0.2, 0.4], [0.6, 0.375]]):
        for axis in (None, 1, (0, 2), -1):
            for keepdims in (False, True):
                kw = dict(axis=axis, method=method, keepdims=keepdims)
                assert_close(fnp.quantile(x, q, **kw), np.quantile(x, q, **kw))
    assert_close(fnp.percentile(x, [10, 50], axis=1, method=method),
                 np.percentile(x, [10, 50], axis=1, method=method))
    assert_close(fnp.quantile(np.arange(5), np.array([0.25, 0.375]), method=method),
                 np.quantile(np.arange(5), [0.25, 0.375], method=method))


def test_quantile_traced_q_and_errors():
    x = rand((6,), F32)
    closed = ft.make_ir(lambda q: fnp.quantile(x, q))(fnp.asarray([0.2, 0.9]))
    typecheck(closed)
    assert_close(eval_ir(closed.ir, closed.consts, [fnp.asarray([0.2, 0.9])])[0],
                 np.quantile(x, [0.2, 0.9]))
    with pytest.raises(ValueError, match="q must be in"):
        fnp.quantile(x, 1.5)
    with pytest.raises(ValueError, match="method"):
        fnp.quantile(x, 0.5, method="bogus")
    # an empty reduction raises, as jax.numpy's does (numpy warns and gives NaN)
    import jax.numpy as jnp
    with pytest.raises(TypeError):
        jnp.median(np.zeros(0))
    with pytest.raises(TypeError, match="empty"):
        fnp.median(np.zeros(0))


def test_average():
    x = rand((3, 4), F32)
    w = np.abs(rand((3, 4), F32, seed=1))
    assert_close(fnp.average(x), np.average(x))
    assert_close(fnp.average(x, axis=1, weights=w), np.average(x, axis=1, weights=w))
    assert_close(fnp.average(x, axis=0, weights=w[:, 0]), np.average(x, axis=0, weights=w[:, 0]))
    avg, scl = fnp.average(x, axis=1, weights=w, returned=True)
    ref_avg, ref_scl = np.average(x, axis=1, weights=w, returned=True)
    assert_close(avg, ref_avg)
    assert_close(scl, ref_scl)
    assert_close(fnp.average(x, axis=1, keepdims=True), np.average(x, axis=1, keepdims=True))
    with pytest.raises(TypeError, match="axis"):
        fnp.average(x, weights=w[0])


def test_cumsum_bool_counts_in_default_int():
    assert fnp.cumsum(np.ones(3, bool)).dtype == np.int32
    assert fnp.cumsum(np.ones(3, bool)).tolist() == [1, 2, 3]


def test_array_methods():
    x = fnp.asarray(rand((3, 4), F32))
    assert_close(x.sum(axis=0), np.asarray(x).sum(axis=0))
    assert_close(x.max(1), np.asarray(x).max(1))
    assert_close(x.argmax(), np.asarray(x).argmax())
    assert_close(x.mean(keepdims=True), np.asarray(x).mean(keepdims=True))
    assert_close(x.cumsum(axis=1), np.asarray(x).cumsum(axis=1))


@pytest.mark.parametrize("call,exc,match", [
    (lambda: fnp.max(np.zeros((0, 3)), axis=0), ValueError, "zero-size array"),
    (lambda: fnp.min(np.zeros(0)), ValueError, "zero-size array"),
    (lambda: fnp.max(np.ones(3), where=np.ones(3, bool)), ValueError, "initial"),
    (lambda: fnp.sum(np.ones((2, 3)), axis=2), ValueError, "axis 2 is out of bounds"),
    (lambda: fnp.mean(np.ones((2, 3)), axis=(0, -2)), ValueError, "repeated axis"),
    (lambda: fnp.argmax(np.zeros(0)), ValueError, "empty"),
    (lambda: fnp.argmax(np.ones(3, np.complex64)), TypeError, "argmax"),
    (lambda: fnp.ptp(np.ones(3, bool)), TypeError, "bool"),
    (lambda: fnp.sum(np.ones(3), out=np.ones(())), NotImplementedError, "immutable"),
    (lambda: fnp.sum(np.ones(3), axis="0"), TypeError, "axis"),
])
def test_numpy_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@st.composite
def _shape_and_axis(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none" or nd == 0:
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(-nd, nd - 1))
    picked = draw(st.lists(st.integers(0, nd - 1), unique=True, max_size=nd))
    return shape, tuple(a - nd if draw(st.booleans()) else a for a in picked)


@settings(max_examples=60, deadline=None)
@given(_shape_and_axis(), st.booleans(), st.sampled_from(["sum", "prod", "mean", "max", "any"]))
def test_reduction_shapes_property(shape_axis, keepdims, name):
    shape, axis = shape_axis
    x = rand(shape, F32)
    kw = dict(axis=axis, keepdims=keepdims)
    if name == "max":
        kw["initial"] = -10.0  # defines the result for empty axes, as numpy needs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(np, name)(x, **kw)
    assert_close(getattr(fnp, name)(x, **kw), ref)


# --- dtypes against jax --------------------------------------------------------------------------

ORACLE_NAMES = ["sum", "prod", "max", "min", "all", "any", "mean", "var", "std", "argmax",
                "argmin", "cumsum", "cumprod", "nansum", "nanmean", "nanmax", "median", "ptp",
                "count_nonzero", "average", "sort", "argsort"]
ORACLE_DTYPES = [BOOL, np.int8, np.int16, I32, np.uint8, np.uint32, np.float16,
                 dtypes.bfloat16, F32, C64]


@pytest.mark.parametrize("mode", ["x32", "x64"])
def test_result_dtypes_match_jax(mode):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    x64_on = mode == "x64"
    ft.config.update("enable_x64", x64_on)
    jax.config.update("jax_enable_x64", x64_on)
    try:
        for name, dt in itertools.product(ORACLE_NAMES, ORACLE_DTYPES + ([F64, np.int64]
                                                                          if x64_on else [])):
            x = rand((2, 3), dt)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    # eval_shape traces without compiling: dtypes only, and fast.
                    theirs = jax.eval_shape(lambda v: getattr(jnp, name)(v, axis=0),
                                            jax.ShapeDtypeStruct(x.shape, x.dtype))
                except (TypeError, ValueError):
                    with pytest.raises((TypeError, ValueError)):
                        getattr(fnp, name)(fnp.asarray(x), axis=0)
                    continue
            try:
                ours = getattr(fnp, name)(fnp.asarray(x), axis=0)
            except (TypeError, ValueError):
                # Some of jax's type errors come only when compiling: run it.
                with pytest.raises((TypeError, ValueError)):
                    getattr(jnp, name)(jnp.asarray(x), axis=0)
                continue
            assert (ours.dtype, ours.shape, ours.weak_type) == \
                (theirs.dtype, theirs.shape, theirs.weak_type), (name, dt)
        # Python scalars are weak, but reductions of them are not (like jax.numpy).
        for name in ("sum", "max", "mean", "prod"):
            assert not getattr(fnp, name)(1.0).weak_type
            assert getattr(fnp, name)(1).dtype == jax.eval_shape(getattr(jnp, name), 1).dtype
    finally:
        ft.config.update("enable_x64", False)
        jax.config.update("jax_enable_x64", False)


def test_float64_under_x64(x64):
    x = rand((3, 5), F64)
    for name in ("sum", "mean", "var", "max", "cumsum", "median"):
        out = getattr(fnp, name)(x, axis=1)
        assert out.dtype == np.float64
        assert_close(out, getattr(np, name)(x, axis=1), F64)
    assert fnp.mean(np.arange(3)).dtype == np.float64
    assert fnp.argmax(x).dtype == np.int64


# --- IR: tracing, type checking, evaluation ------------------------------------------------------

IR_FUNCS = [
    lambda x: fnp.sum(x, axis=1),
    lambda x: fnp.max(x, axis=0, keepdims=True),
    lambda x: fnp.mean(x) + fnp.var(x, axis=1, ddof=1).sum(),
    lambda x: fnp.std(x, axis=(0, 1)),
    lambda x: fnp.argmax(x, axis=1),
    lambda x: fnp.argmin(x),
    lambda x: fnp.cumsum(x, axis=0),
    lambda x: fnp.median(x, axis=1),
    lambda x: fnp.all(x > 0, axis=0),
    lambda x: fnp.nanmax(x, axis=1),
    lambda x: fnp.average(x, axis=0, weights=fnp.ones(3)),
    lambda x: lax.cummax(x, 1, reverse=True),
    lambda x: fss.logsumexp(x, axis=1),
    lambda x: fss.softmax(x, axis=0),
]


@pytest.mark.parametrize("i", range(len(IR_FUNCS)))
def test_ir_typechecks_and_matches_eager(i):
    f = IR_FUNCS[i]
    x = fnp.asarray(rand((3, 4), F32))
    closed = ft.make_ir(f)(x)
    typecheck(closed)
    (got,) = eval_ir(closed.ir, closed.consts, [x])
    assert_close(got, f(x))


# --- functrans.scipy.special ---------------------------------------------------------------------


def test_logsumexp_matches_scipy():
    x = rand((3, 4, 5), F32) * 10
    b = rand((3, 4, 5), F32, seed=1)
    for axis, keepdims in itertools.product((None, 0, -1, (0, 2)), (False, True)):
        assert_close(fss.logsumexp(x, axis=axis, keepdims=keepdims),
                     ss.logsumexp(x, axis=axis, keepdims=keepdims))
        ours, sign = fss.logsumexp(x, axis=axis, b=b, keepdims=keepdims, return_sign=True)
        ref, ref_sign = ss.logsumexp(x, axis=axis, b=b, keepdims=keepdims, return_sign=True)
        assert_close(ours, ref, F32)
        assert_close(sign, ref_sign)


def test_logsumexp_special_values():
    ninf = -np.inf
    x = np.array([[1000.0, 1000.0], [ninf, ninf], [np.inf, 1.0], [np.nan, 1.0], [ninf, 0.0]], F32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(fss.logsumexp(x, axis=1), ss.logsumexp(x, axis=1))
    assert fss.logsumexp(np.full(3, ninf)).item() == ninf
    assert fss.logsumexp(np.zeros((0, 2)), axis=0).tolist() == [ninf, ninf]
    assert fss.logsumexp(np.arange(3)).dtype == np.float32


def test_special_functions_match_scipy_and_jax_at_special_points():
    jss = pytest.importorskip("jax.scipy.special")
    x = np.array([-0.5, 0.3, 0.9, 2.5], F32)
    # poles, +-0, +-1, infinities and NaN: XLA's values (jax's), which differ from scipy's
    # in places (digamma(0) is NaN, not -inf)
    special = np.array([-2.0, -1.0, -0.0, 0.0, 1.0, 2.0, np.nan, np.inf, -np.inf], F32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("expit", "logit", "erf", "erfc", "erfinv", "gammaln", "digamma", "entr",
                     "ndtr"):
            assert_close(getattr(fss, name)(x), getattr(ss, name)(x).astype(F32))
            assert getattr(fss, name)(x).dtype == np.float32
            assert_close(getattr(fss, name)(special), getattr(jss, name)(special))
            assert getattr(fss, name)(special).dtype == np.float32
        y = np.array([0.0, 0.0, 1.5, -1.0, 2.0, np.nan], F32)
        z = np.array([0.0, 1.0, 0.0, 2.0, -1.0, 1.0], F32)
        for name in ("xlogy", "xlog1py"):
            assert_close(getattr(fss, name)(z, y), getattr(ss, name)(z, y))
        assert_close(fss.softmax(x[:6]), ss.softmax(x[:6]))
        m = rand((3, 4), F32)
        assert_close(fss.log_softmax(m, axis=1), ss.log_softmax(m, axis=1))
        assert_close(fss.softmax(m, axis=0), ss.softmax(m, axis=0))
    assert fss.expit(np.arange(3)).dtype == np.float32
    assert fss.xlogy(0, 0).item() == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8, np.float16])
@pytest.mark.parametrize("axis", [0, 1])
def test_argmax_argmin_over_a_short_leading_axis_match_numpy(dtype, axis):
    # a short non-last axis is reduced by steps (a max pool's window stack): ties go to
    # the first position, as in numpy; NaNs take numpy's path (the first NaN)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (5, 6, 40, 70)).astype(dtype)   # many ties
    for arr in (x, np.where(rng.random(x.shape) < 1e-3, np.nan, x).astype(dtype)
                if np.dtype(dtype).kind == "f" else x):
        for op, ref in ((lax.argmax, np.argmax), (lax.argmin, np.argmin)):
            got = np.asarray(op(arr, axis, np.int32))
            np.testing.assert_array_equal(got, ref(arr.astype(np.float64)
                                                   if arr.dtype == np.float16 else arr,
                                                   axis=axis))
            assert got.dtype == np.int32
