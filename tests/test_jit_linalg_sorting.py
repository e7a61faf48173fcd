"""jit of dot_general, sort and top_k and of the functrans.numpy functions
built on them, against eager mode. Each test jits one function with many
results (compiles are the cost)."""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import dtypes, lax
from functrans.interpreters.lowering import lower_ir
from functrans.jit import jit

from test_jit_reductions import check_jit, rand

F16, BF16, F32, F64 = np.float16, dtypes.bfloat16, np.float32, np.float64
I8, I32, U8, BOOL, C64 = np.int8, np.int32, np.uint8, np.bool_, np.complex64

# (lhs shape, rhs shape, dimension_numbers)
DOT_ROWS = [
    ((3, 4), (4, 2), (((1,), (0,)), ((), ()))),
    ((4,), (4,), (((0,), (0,)), ((), ()))),
    ((3,), (2,), (((), ()), ((), ()))),
    ((4, 3), (2, 4), (((0,), (1,)), ((), ()))),
    ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
    ((3, 2, 4), (4, 3), (((2,), (0,)), ((0,), (1,)))),
    ((2, 3, 4), (4, 2, 3), (((1, 2), (2, 0)), ((0,), (1,)))),
    ((2, 3, 0), (0, 2), (((2,), (0,)), ((0,), (1,)))),     # empty contraction: zeros
]


def all_dots(*operands, pet=None):
    return [lax.dot_general(operands[2 * i], operands[2 * i + 1], dn, preferred_element_type=pet)
            for i, (_, _, dn) in enumerate(DOT_ROWS)]


def dot_operands(dtype):
    return [rand(s, dtype, seed) for i, (ls, rs, _) in enumerate(DOT_ROWS)
            for s, seed in ((ls, 2 * i), (rs, 2 * i + 1))]


@pytest.mark.parametrize("dtype", [F32, F64, I32, BOOL, F16, BF16, C64, I8],
                         ids=lambda d: np.dtype(d).name)
def test_dot_general_jit(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    check_jit(all_dots, *dot_operands(dtype))


@pytest.mark.parametrize("dtype,pet", [(I8, I32), (F16, F32), (C64, F32), (I32, F32),
                                       (BOOL, I32)], ids=str)
def test_dot_general_preferred_element_type_jit(dtype, pet):
    ops = dot_operands(dtype)[:10]
    check_jit(lambda *ops: [lax.dot_general(ops[2 * i], ops[2 * i + 1], DOT_ROWS[i][2],
                                            preferred_element_type=pet) for i in range(5)], *ops)


def test_dot_general_float32_matches_numpy():
    # DEFAULT precision: float32 products agree with numpy's float32 BLAS to ~1e-6
    a = rand((64, 128), F32, 1)
    b = rand((128, 32), F32, 2)
    got = np.asarray(jit(lambda a, b: a @ b)(a, b))
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_dot_general_lowering():
    closed = ft.make_ir(lambda a, b: lax.dot_general(a, b, DOT_ROWS[5][2]))(
        np.ones((3, 2, 4), F32), np.ones((4, 3), F32))
    text = lower_ir(closed).text
    assert text.count('"stablehlo.dot_general"') == 1
    assert "lhs_batching_dimensions = [0], rhs_batching_dimensions = [1]" in text


# --- sort / top_k --------------------------------------------------------------------------------


def sort_data(dtype, shape=(4, 7)):
    x = rand(shape, dtype, 3)
    if np.dtype(dtype).kind in "fc":
        x = x.copy()
        x.flat[::5] = np.nan
        x.flat[1::6] = -np.inf
        x.flat[2::9] = np.inf
        x.flat[3::8] = -0.0
        x.flat[4::8] = 0.0
    return x


def sorts(x):
    return [lax.sort(x, dimension=0), lax.sort(x, dimension=1)]


@pytest.mark.parametrize("dtype", [F32, F64, I32, U8, BOOL, F16, BF16, C64],
                         ids=lambda d: np.dtype(d).name)
def test_sort_jit(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    x = sort_data(dtype)
    check_jit(sorts, x)
    if np.dtype(dtype).kind != "c":
        tops = lambda x: [lax.top_k(x, 3), lax.top_k(x, 7), lax.top_k(x, 0)]  # noqa: E731
        check_jit(tops, x)


def test_sort_semantics_match_numpy():
    x = np.array([3.0, np.nan, -np.inf, 0.0, -0.0, 1.0, -np.nan, np.inf, 1.0, -2.0], F32)
    got = jit(lambda x: (lax.sort(x), fnp.argsort(x), lax.top_k(x, 10)))(x)
    np.testing.assert_array_equal(np.asarray(got[0]), np.sort(x))
    np.testing.assert_array_equal(np.asarray(got[1]), np.argsort(x, kind="stable"))
    # NaNs (either sign) are the largest, ties keep the lower index
    np.testing.assert_array_equal(np.asarray(got[2][1]), [1, 6, 7, 0, 5, 8, 3, 4, 9, 2])


def test_sort_multi_operand_jit():
    k1 = rand((5, 9), I32, 1)
    k2 = sort_data(F32, (5, 9))
    v = rand((5, 9), F32, 2)
    b = rand((5, 9), BOOL, 4)

    def f(k1, k2, v, b):
        return [lax.sort((k1, k2, v), dimension=1, num_keys=2),
                lax.sort((k2, k1, v, b), dimension=0, num_keys=1),
                lax.sort((b, k1, v), dimension=1, num_keys=3),
                lax.sort_key_val(k1, v, dimension=0)]

    check_jit(f, k1, k2, v, b)


# --- functrans.numpy functions -------------------------------------------------------------------


def numpy_linalg(a, b, c, v, w):
    return dict(
        matmul=fnp.matmul(a, b), matvec=a @ v, vecmat=w @ a, bmm=fnp.matmul(c, b),
        bcast=fnp.matmul(c, fnp.stack([b] * 2)), dot=fnp.dot(a, b), dot_nd=fnp.dot(c, b),
        vdot=fnp.vdot(v, v), einsum=fnp.einsum("bij,jk->bki", c, b),
        einsum_trace=fnp.einsum("ii->", a[:, :3]), einsum3=fnp.einsum("ij,jk,k->i", a, b, b[0]),
        tensordot=fnp.tensordot(c, b, axes=1), tensordot2=fnp.tensordot(c, c, axes=([1, 2], [1, 2])),
        inner=fnp.inner(a, a), outer=fnp.outer(v, w), norm=fnp.linalg.norm(a),
        norm_ax=fnp.linalg.norm(c, axis=1), norm1=fnp.linalg.norm(a, ord=1),
        norm_inf=fnp.linalg.norm(v, ord=fnp.inf), norm_fro=fnp.linalg.norm(c, "fro", axis=(1, 2)),
    )


@pytest.mark.parametrize("dtype", [F32, F64])
def test_numpy_linalg_jit(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    a, b, c = rand((3, 4), dtype, 1), rand((4, 5), dtype, 2), rand((2, 3, 4), dtype, 3)
    v, w = rand((4,), dtype, 4), rand((3,), dtype, 5)
    check_jit(numpy_linalg, a, b, c, v, w)


def numpy_sorting(x):
    return dict(
        sort=fnp.sort(x, axis=0), sort_desc=fnp.sort(x, descending=True),
        argsort=fnp.argsort(x, axis=1), argsort_desc=fnp.argsort(x, axis=0, descending=True),
        median=fnp.median(x, axis=1), median_all=fnp.median(x),
        quantile=fnp.quantile(x, 0.3, axis=0),
        quantiles=fnp.quantile(x, fnp.asarray([0.1, 0.5, 0.9]), axis=1),
        top_k=lax.top_k(x, 2),
    )


@pytest.mark.parametrize("dtype", [F32, F64])
def test_numpy_sorting_jit(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    check_jit(numpy_sorting, sort_data(dtype, (5, 6)))


def test_numpy_int_sorting_jit():
    x = rand((5, 6), I32, 7)
    check_jit(lambda x: (fnp.sort(x, axis=0), fnp.argsort(x), fnp.lexsort((x[0], x[1])),
                         fnp.median(x, axis=0), lax.top_k(x, 3)), x)


# --- composed with vmap and grad -----------------------------------------------------------------


def test_jit_of_vmap_and_grad():
    a, b = rand((3, 4), F32, 1), rand((4, 5), F32, 2)
    ab = np.stack([a, a + 1, a - 1])

    def loss(a, b):
        return (fnp.sum(fnp.tanh(a @ b)) + fnp.linalg.norm(a) + fnp.sum(lax.top_k(a @ b, 2)[0])
                + fnp.sum(fnp.sort(a, axis=0) * fnp.arange(4.0)))

    def f(ab, b):
        return (ft.vmap(ft.grad(loss), in_axes=(0, None))(ab, b),
                ft.grad(lambda ab, b: fnp.sum(ft.vmap(loss, in_axes=(0, None))(ab, b)),
                        argnums=(0, 1))(ab, b),
                ft.vmap(lambda x, y: (x @ y, lax.sort(x, 0), lax.top_k(x, 2)),
                        in_axes=(2, None))(np.stack([a] * 2, 2), b))

    check_jit(f, ab, b)
