"""vmap of dot_general, sort and top_k and of the functrans.numpy functions
built on them, against a Python loop over the examples stacked back together."""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax

from test_vmap_reductions import assert_same, batched, loop_vmap, maybe_x64, rand

F32, F64, I32, BOOL = np.float32, np.float64, np.int32, np.bool_


def check(f, example_args, in_axes, nans=False):
    args = [np.asarray(a) if ax is None else batched(np.asarray(a), ax, nans=nans)
            for a, ax in zip(example_args, in_axes)]
    got = ft.vmap(f, in_axes=tuple(in_axes))(*args)
    assert_same(got, loop_vmap(f, args, in_axes))


# --- dot_general -------------------------------------------------------------------------------

# (lhs shape, rhs shape, dimension_numbers)
DOT_ROWS = [
    ((3, 4), (4, 2), (((1,), (0,)), ((), ()))),           # matrix product
    ((4,), (4,), (((0,), (0,)), ((), ()))),                # inner product
    ((3,), (2,), (((), ()), ((), ()))),                    # outer product
    ((4, 3), (2, 4), (((0,), (1,)), ((), ()))),            # transposed operands
    ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),  # batched matmul
    ((3, 2, 4), (4, 3), (((2,), (0,)), ((0,), (1,)))),     # batch dims not leading
    ((2, 3, 4), (4, 2, 3), (((1, 2), (2, 0)), ((0,), (1,)))),  # two contracting dims
]

# in_axes for (lhs, rhs): first/middle/last positions, one side unmapped
DOT_AXES = [(0, 0), (0, None), (None, 0), (-1, 1), (1, -1), (None, -1), (-1, None)]


def _norm_axis(ax, ndim):
    return None if ax is None else ax % (ndim + 1)


@pytest.mark.parametrize("dtype", [F32, F64, I32, BOOL])
@pytest.mark.parametrize("row", range(len(DOT_ROWS)))
def test_dot_general_vmap(row, dtype, request):
    maybe_x64(request, dtype)
    ls, rs, dn = DOT_ROWS[row]
    lhs, rhs = rand(ls, dtype, 1), rand(rs, dtype, 2)

    def f(a, b):
        return lax.dot_general(a, b, dn)

    for la, ra in DOT_AXES:
        check(f, [lhs, rhs], [_norm_axis(la, len(ls)), _norm_axis(ra, len(rs))])


def test_dot_general_preferred_type_vmap():
    a, b = rand((3, 4), np.int8, 1), rand((4, 2), np.int8, 2)
    f = lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ())),  # noqa: E731
                                     preferred_element_type=np.int32)
    for axes in DOT_AXES[:3]:
        check(f, [a, b], list(axes))


def test_dot_general_batching_is_one_dot_without_transposes():
    # The batch axis goes into the dimension numbers: one dot_general, no loop,
    # no transpose (per-example gradients depend on this).
    w = rand((4, 5), F32)
    for in_axes, xshape in (((0, None), (8, 4)), ((1, None), (4, 8)), ((0, 0), (8, 4))):
        x = rand(xshape, F32, 3)
        ws = w if in_axes[1] is None else np.stack([w] * 8)
        ir = ft.make_ir(ft.vmap(lambda x, w: lax.dot(x, w), in_axes=in_axes))(x, ws)
        names = [e.prim.name for e in ir.eqns]
        assert names == ["dot_general"], names


def test_dot_general_nested_vmap():
    a = rand((2, 4, 3), F32, 1)                  # (inner, k, m)
    b = rand((4, 2, 5), F32, 2)                  # (k, inner, n)

    def f(a, b):
        return lax.dot_general(a, b, (((0,), (0,)), ((), ())))

    inner = ft.vmap(f, in_axes=(0, 1))
    a2 = batched(a, 1, size=2)                   # outer batch in the middle
    got = ft.vmap(inner, in_axes=(1, None))(a2, b)
    want = loop_vmap(lambda x: loop_vmap(f, [x, b], [0, 1]), [a2], [1])
    assert_same(got, want)


# --- sort / top_k --------------------------------------------------------------------------------

SORT_AXES = [0, 1, 2]


@pytest.mark.parametrize("dtype", [F32, F64, I32, BOOL])
def test_sort_vmap(dtype, request):
    maybe_x64(request, dtype)
    nans = np.dtype(dtype).kind == "f"
    x = rand((3, 4), dtype)
    for dim in (0, 1):
        for ax in SORT_AXES:
            check(lambda x: lax.sort(x, dimension=dim), [x], [ax], nans=nans)


def test_sort_multi_operand_vmap():
    k1, k2 = rand((3, 5), I32, 1), rand((3, 5), I32, 2)
    v = rand((3, 5), F32, 3)

    def f(k1, k2, v):
        return lax.sort((k1, k2, v), dimension=1, num_keys=2)

    def g(k1, v):
        return lax.sort_key_val(k1, v, dimension=0)

    for axes in ([0, 0, 0], [1, None, 2], [None, 2, None], [2, 1, 0]):
        check(f, [k1, k2, v], axes)
    for axes in ([0, None], [None, 1], [2, 2]):
        check(g, [k1, v], axes)


@pytest.mark.parametrize("dtype", [F32, I32, BOOL])
def test_top_k_vmap(dtype):
    x = rand((3, 6), dtype)
    for ax in (0, 1, 2):
        check(lambda x: lax.top_k(x, 3), [x], [ax], nans=dtype == F32)


def test_sort_top_k_nested_vmap():
    def f(x):
        vals, idx = lax.top_k(x, 2)
        return lax.sort(x), vals, idx

    x = rand((3, 2, 6), F32)
    xb = batched(x, 3, size=2, nans=True)
    got = ft.vmap(ft.vmap(f, in_axes=1), in_axes=3)(xb)
    assert_same(tuple(got), loop_vmap(lambda y: loop_vmap(f, [y], [1]), [xb], [3]))


# --- functrans.numpy functions -------------------------------------------------------------------

NP_ROWS = [
    ("matmul", lambda a, b: fnp.matmul(a, b), (3, 4), (4, 2)),
    ("matmul_vec", lambda a, b: a @ b[:, 0], (3, 4), (4, 2)),
    ("matmul_bcast", lambda a, b: fnp.matmul(a[None], fnp.stack([b, b])), (3, 4), (4, 2)),
    ("dot", lambda a, b: fnp.dot(a, b), (3, 4), (4, 2)),
    ("einsum", lambda a, b: fnp.einsum("ij,jk->ki", a, b), (3, 4), (4, 2)),
    ("einsum_trace", lambda a, b: fnp.einsum("ij,ji->", a, b), (3, 4), (4, 3)),
    ("tensordot", lambda a, b: fnp.tensordot(a, b, axes=([0], [1])), (3, 4), (2, 3)),
    ("inner", lambda a, b: fnp.inner(a, b), (3, 4), (2, 4)),
    ("outer", lambda a, b: fnp.outer(a, b), (3,), (4,)),
    ("norm", lambda a, b: fnp.linalg.norm(a) + fnp.linalg.norm(b, axis=0), (3, 4), (4, 2)),
    ("norm_ord", lambda a, b: (fnp.linalg.norm(a, ord=1), fnp.linalg.norm(a, ord=fnp.inf),
                               fnp.linalg.norm(b, "fro")), (3, 4), (4, 2)),
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("name,fn,ls,rs", NP_ROWS, ids=[r[0] for r in NP_ROWS])
def test_numpy_linalg_vmap(name, fn, ls, rs, dtype, request):
    maybe_x64(request, dtype)
    a, b = rand(ls, dtype, 1), rand(rs, dtype, 2)
    for axes in ((0, 0), (len(ls), None), (None, 1)):
        check(fn, [a, b], list(axes))


SORT_NP_ROWS = [
    ("sort", lambda x: fnp.sort(x, axis=0)),
    ("sort_desc", lambda x: fnp.sort(x, axis=-1, descending=True)),
    ("argsort", lambda x: fnp.argsort(x, axis=1)),
    ("argsort_desc", lambda x: fnp.argsort(x, axis=0, descending=True)),
    ("median", lambda x: fnp.median(x, axis=1)),
    ("median_all", lambda x: fnp.median(x)),
    ("quantile", lambda x: fnp.quantile(x, 0.3, axis=0)),
    ("quantile_vec", lambda x: fnp.quantile(x, fnp.asarray([0.1, 0.5, 0.9]), axis=1)),
    ("top_k", lambda x: lax.top_k(x, 2)),
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in SORT_NP_ROWS])
def test_numpy_sorting_vmap(fn, dtype, request):
    maybe_x64(request, dtype)
    x = rand((3, 5), dtype)
    for ax in (0, 1, 2):
        check(fn, [x], [ax])


def test_numpy_sorting_with_nans_vmap():
    x = rand((3, 5), F32)
    for ax in (0, 2):
        check(lambda x: (fnp.sort(x, axis=1), fnp.argsort(x, axis=0), fnp.median(x, axis=1)),
              [x], [ax], nans=True)


# --- autodiff composition ------------------------------------------------------------------------

GRAD_ROWS = [
    ("matmul", lambda a, b: fnp.sum(fnp.tanh(a @ b))),
    ("einsum", lambda a, b: fnp.einsum("ij,jk->", a, b ** 2)),
    ("norm", lambda a, b: fnp.linalg.norm(a @ b)),
    ("sort", lambda a, b: fnp.sum(fnp.sort(a, axis=1) * fnp.arange(4.0))),
    ("top_k", lambda a, b: fnp.sum(lax.top_k(a @ b, 1)[0])),
    ("median", lambda a, b: fnp.median(a @ b)),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in GRAD_ROWS])
def test_vmap_of_grad(fn):
    a, b = rand((3, 4), F32, 1), rand((4, 2), F32, 2)
    check(ft.grad(fn, argnums=(0, 1)), [a, b], [1, None])
    check(ft.grad(fn), [a, b], [None, 2])


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in GRAD_ROWS])
def test_grad_of_vmap(fn):
    a = batched(rand((3, 4), F32, 1), 2)
    b = rand((4, 2), F32, 2)
    w = np.arange(1.0, 4.0, dtype=F32)

    def loss(a, b):
        return fnp.sum(ft.vmap(fn, in_axes=(2, None))(a, b) * w)

    def loss_loop(a, b):
        return sum(fn(a[:, :, i], b) * w[i] for i in range(3))

    got = ft.grad(loss, argnums=(0, 1))(a, b)
    want = ft.grad(loss_loop, argnums=(0, 1))(a, b)
    assert_same(got[0], np.asarray(want[0]))
    assert_same(got[1], np.asarray(want[1]))
