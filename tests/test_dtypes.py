"""dtype canonicalization and promotion, against jax as the oracle."""

import itertools
import warnings

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import dtypes

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

ALL = [dtypes.bool_, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64, dtypes.uint8,
       dtypes.uint16, dtypes.uint32, dtypes.uint64, dtypes.bfloat16, dtypes.float16,
       dtypes.float32, dtypes.float64, dtypes.complex64, dtypes.complex128]
WEAK = {"int": int, "float": float, "complex": complex}


def _jax_result(a, b):
    from jax._src import dtypes as jd  # oracle only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jd.result_type(a, b, return_weak_type_flag=True)


@pytest.fixture(params=[False, True], ids=["x32", "x64"])
def x64_mode(request):
    ft.config.update("enable_x64", request.param)
    jax.config.update("jax_enable_x64", request.param)
    yield request.param
    ft.config.update("enable_x64", False)
    jax.config.update("jax_enable_x64", False)


def test_strong_pairs_match_jax(x64_mode):
    for a, b in itertools.product(ALL, ALL):
        ours = dtypes.promote_types((dtypes.canonicalize(a), False), (dtypes.canonicalize(b), False))
        theirs = _jax_result(a, b)
        assert (ours[0], ours[1]) == (np.dtype(theirs[0]), theirs[1]), (a, b)


def test_strong_with_weak_scalars_match_jax(x64_mode):
    for a, (name, t) in itertools.product(ALL, WEAK.items()):
        ours = dtypes.promote_types((dtypes.canonicalize(a), False),
                                    (dtypes.scalar_dtype(t(0)), True))
        theirs = _jax_result(a, t)
        assert (ours[0], ours[1]) == (np.dtype(theirs[0]), theirs[1]), (a, name)


def test_weak_with_weak_match_jax(x64_mode):
    for (n1, t1), (n2, t2) in itertools.product(WEAK.items(), WEAK.items()):
        ours = dtypes.promote_types((dtypes.scalar_dtype(t1(0)), True),
                                    (dtypes.scalar_dtype(t2(0)), True))
        theirs = _jax_result(t1, t2)
        assert (ours[0], ours[1]) == (np.dtype(theirs[0]), theirs[1]), (n1, n2)


def test_canonicalize():
    assert dtypes.canonicalize(np.float64) == np.float32
    assert dtypes.canonicalize(np.uint64) == np.uint32
    assert dtypes.canonicalize(np.complex128) == np.complex64
    assert dtypes.canonicalize(np.float16) == np.float16
    with ft.config.option("enable_x64", True):
        assert dtypes.canonicalize(np.float64) == np.float64
    with pytest.raises(TypeError, match="does not support dtype"):
        dtypes.canonicalize(np.dtype("U3"))


def test_python_scalars_do_not_widen_arrays():
    assert (fnp.ones(2, dtype=fnp.int8) + 1).dtype == np.int8
    assert (fnp.ones(2, dtype=fnp.float16) * 2.0).dtype == np.float16
    assert (fnp.ones(2, dtype=fnp.bfloat16) * 2.0).dtype == dtypes.bfloat16
    assert (fnp.arange(3) * 1.5).dtype == np.float32
    assert (fnp.ones(2, dtype=fnp.int32) + fnp.ones(2, dtype=fnp.float16)).dtype == np.float16


@pytest.mark.parametrize("dt,value", [("uint8", 300), ("uint8", -1), ("uint8", 256),
                                      ("int8", 200), ("int8", -129), ("int16", 70000)])
def test_python_ints_out_of_a_narrow_dtype_wrap_like_jax(dt, value):
    # jax converts the int (it fits int32) to the array's dtype, wrapping, eager and jit alike
    want = jnp.ones(2, dtype=dt) + value
    for f in (lambda x: x + value, ft.jit(lambda x: x + value)):
        got = f(fnp.ones(2, dtype=dt))
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("value", [2 ** 31, -2 ** 31 - 1, 2 ** 63])
def test_python_ints_past_int32_raise_overflow_like_jax(value):
    with pytest.raises(OverflowError):
        jnp.ones(2, dtype=jnp.uint8) + value
    for f in (lambda x: x + value, ft.jit(lambda x: x + value)):
        with pytest.raises(OverflowError):
            f(fnp.ones(2, dtype=fnp.uint8))


def test_result_type():
    assert fnp.result_type(fnp.ones(2, dtype=fnp.int8), 1.0) == np.float32
    assert fnp.result_type(np.int8, np.uint8) == np.int16
