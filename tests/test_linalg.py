"""Linear algebra: lax.dot_general/dot, functrans.numpy's products and einsum,
and functrans.numpy.linalg norms, against numpy (values) and jax (dtypes)."""

import itertools
import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import functrans as ft
import functrans.numpy as fnp
from functrans import dtypes, lax
from functrans.ir import eval_ir, typecheck

F32, F64, I32, BOOL, C64 = np.float32, np.float64, np.int32, np.bool_, np.complex64


def rand(shape, dtype=F32, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(-3 if dtype.kind == "i" else 0, 4, shape).astype(dtype)
    x = rng.standard_normal(shape)
    if dtype.kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def assert_close(ours, ref, rtol=2e-5, atol=2e-5):
    ours = np.asarray(ours)
    ref = np.asarray(ref)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    if ours.dtype == np.bool_:
        np.testing.assert_array_equal(ours, ref)
        return
    kind = complex if np.iscomplexobj(ours) or np.iscomplexobj(ref) else float
    np.testing.assert_allclose(ours.astype(kind), ref.astype(kind), rtol=rtol, atol=atol,
                               equal_nan=True)


# --- lax.dot_general / lax.dot -------------------------------------------------------------------

DOT_GENERAL_CASES = [
    # lhs shape, rhs shape, ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))
    ((2, 3), (3, 4), (((1,), (0,)), ((), ()))),
    ((2, 3), (4, 3), (((1,), (1,)), ((), ()))),          # x @ w.T
    ((3, 2), (3, 4), (((0,), (0,)), ((), ()))),
    ((3,), (3,), (((0,), (0,)), ((), ()))),
    ((5, 2, 3), (5, 3, 4), (((2,), (1,)), ((0,), (0,)))),
    ((2, 5, 3), (3, 4, 5), (((2,), (0,)), ((1,), (2,)))),  # batch dims not leading
    ((2, 3, 4), (4, 3, 5), (((1, 2), (1, 0)), ((), ()))),
    ((2, 3), (4, 5), (((), ()), ((), ()))),               # outer product
    ((6, 2, 3, 4), (6, 4, 2), (((3,), (1,)), ((0, 1), (0, 2)))),
    ((0, 3), (3, 4), (((1,), (0,)), ((), ()))),
    ((2, 0), (0, 4), (((1,), (0,)), ((), ()))),
    ((), (), (((), ()), ((), ()))),
]


def _einsum_ref(lhs, rhs, dn):
    (lc, rc), (lb, rb) = dn
    letters = iter(string.ascii_letters)
    ls = [None] * lhs.ndim
    rs = [None] * rhs.ndim
    for l_, r_ in itertools.chain(zip(lb, rb), zip(lc, rc)):
        ls[l_] = rs[r_] = next(letters)
    ls = [c or next(letters) for c in ls]
    rs = [c or next(letters) for c in rs]
    out = ([ls[d] for d in lb] + [c for i, c in enumerate(ls) if i not in lc + lb]
           + [c for i, c in enumerate(rs) if i not in rc + rb])
    return np.einsum(f"{''.join(ls)},{''.join(rs)}->{''.join(out)}", lhs, rhs)


@pytest.mark.parametrize("dt", [F32, I32, C64, np.float16, dtypes.bfloat16, BOOL, np.uint8],
                         ids=str)
def test_dot_general_matches_einsum(dt):
    for ls, rs, dn in DOT_GENERAL_CASES:
        lhs, rhs = rand(ls, dt), rand(rs, dt, seed=1)
        out = lax.dot_general(fnp.asarray(lhs), fnp.asarray(rhs), dn)
        assert out.dtype == np.dtype(dt)
        ref = _einsum_ref(lhs.astype(np.float64) if dt != C64 else lhs, rhs.astype(
            np.float64) if dt != C64 else rhs, dn)
        if dt == BOOL:
            ref = ref != 0
        elif np.dtype(dt).kind in "iu":
            ref = ref.astype(dt)  # wraps around like the product in dt
        tol = 3e-2 if dt in (np.float16, dtypes.bfloat16) else 2e-5
        assert_close(out, ref.astype(out.dtype) if dt != BOOL else ref, rtol=tol, atol=tol)


def test_dot_general_negative_dims_preferred_type_and_weak():
    x, y = rand((4, 2, 3), np.int8), rand((4, 3, 5), np.int8, seed=1)
    out = lax.dot_general(x, y, (((-1,), (-2,)), ((0,), (0,))), preferred_element_type=I32)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.matmul(x.astype(I32), y.astype(I32)))
    big = np.full((2, 3), 100, np.int8)
    out = lax.dot_general(big, big.T, (((1,), (0,)), ((), ())), preferred_element_type=I32)
    np.testing.assert_array_equal(out, np.full((2, 2), 30000))
    f = lax.dot_general(rand((2, 3)), rand((3,)), (((1,), (0,)), ((), ())),
                        preferred_element_type=F32)
    assert f.dtype == np.float32
    weak = lax.dot_general(fnp.asarray(2.0), fnp.asarray(3.0), (((), ()), ((), ())))
    assert weak.weak_type and weak.item() == 6.0


def test_lax_dot():
    m, v, w = rand((2, 3)), rand((3,), seed=1), rand((3, 4), seed=2)
    assert_close(lax.dot(m, v), m @ v)
    assert_close(lax.dot(v, w), v @ w)
    assert_close(lax.dot(m, w), m @ w)
    assert_close(lax.dot(v, v), v @ v)
    with pytest.raises(TypeError, match=r"\(2, 3\) and \(4,\)"):
        lax.dot(m, rand((4,)))
    with pytest.raises(TypeError, match="vectors or matrices"):
        lax.dot(rand((2, 2, 2)), v)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: lax.dot_general(rand((2, 3)), rand((4, 5)), (((1,), (0,)), ((), ()))), TypeError,
     r"contracting dimensions must have equal sizes.*f32\[2,3\].*f32\[4,5\]"),
    (lambda: lax.dot_general(rand((2, 3)), rand((3, 4), I32), (((1,), (0,)), ((), ()))),
     TypeError, "same dtype"),
    (lambda: lax.dot_general(rand((2, 3)), rand((3, 4)), (((2,), (0,)), ((), ()))), ValueError,
     "out of range"),
    (lambda: lax.dot_general(rand((2, 3)), rand((3, 4)), (((1,), (0,)), ((1,), (0,)))),
     ValueError, "distinct"),
    (lambda: lax.dot_general(rand((2, 3)), rand((3, 4)), ((1, 0), ())), TypeError,
     "dimension_numbers"),
])
def test_dot_general_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --- matmul --------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (5, 3, 4)), ((5, 2, 3), (1, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)), ((6, 1, 2, 3), (1, 5, 3, 4)), ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)), ((0, 3), (3, 4)), ((2, 0), (0, 4)), ((0, 2, 3), (3, 1)),
    ((2, 1, 1, 3), (1, 4, 3, 2)),
]


@pytest.mark.parametrize("dt", [F32, I32, C64, BOOL], ids=str)
def test_matmul_matches_numpy(dt):
    for sa, sb in MATMUL_SHAPES:
        a, b = rand(sa, dt), rand(sb, dt, seed=1)
        out = fnp.matmul(a, b)
        assert out.dtype == np.dtype(dt)
        assert_close(out, np.matmul(a, b))
        assert_close(fnp.asarray(a) @ b, np.matmul(a, b))


def test_matmul_promotion_and_errors():
    assert fnp.matmul(rand((2, 3), I32), rand((3,), F32)).dtype == np.float32
    assert fnp.matmul(rand((2, 3), np.int8), rand((3,), np.uint8)).dtype == np.int16
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(4, 5\)"):
        fnp.matmul(rand((2, 3)), rand((4, 5)))
    with pytest.raises(ValueError, match=r"\(3,\) and \(4,\)"):
        fnp.matmul(rand((3,)), rand((4,)))
    with pytest.raises(ValueError, match="at least one dimension"):
        fnp.matmul(rand(()), rand((3,)))
    with pytest.raises(ValueError, match="batch dimensions"):
        fnp.matmul(rand((2, 2, 3)), rand((4, 3, 5)))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=3),
       st.lists(st.integers(1, 3), min_size=0, max_size=3),
       st.integers(0, 3), st.integers(1, 3), st.integers(0, 3), st.booleans(), st.booleans())
def test_matmul_broadcasting_property(batch_a, batch_b, m, k, n, a_vec, b_vec):
    sa = (k,) if a_vec else tuple(batch_a) + (m, k)
    sb = (k,) if b_vec else tuple(batch_b) + (k, n)
    a, b = rand(sa), rand(sb, seed=1)
    try:
        ref = np.matmul(a, b)
    except ValueError:
        with pytest.raises(ValueError, match="matmul"):
            fnp.matmul(a, b)
        return
    assert_close(fnp.matmul(a, b), ref, rtol=1e-4, atol=1e-4)


# --- other products ------------------------------------------------------------------------------

PRODUCT_CASES = [
    ("dot", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 3, 4), (5, 4, 2)), ((), (3,)),
             ((2, 3), ())]),
    ("vdot", [((3,), (3,)), ((2, 3), (3, 2)), ((2, 3), (6,))]),
    ("inner", [((3,), (3,)), ((2, 3), (4, 3)), ((2, 5, 3), (3,)), ((), (2, 3))]),
    ("outer", [((3,), (4,)), ((2, 3), (2,)), ((0,), (3,))]),
    ("tensordot", [((2, 3, 4), (3, 4, 5)), ((3, 3), (3, 3))]),
    ("kron", [((2,), (3,)), ((2, 3), (4, 5)), ((2, 2), (3,)), ((3,), (2, 2, 1))]),
    ("cross", [((3,), (3,)), ((4, 3), (3,)), ((4, 3), (4, 3)), ((5, 2), (5, 3)), ((2,), (2,))]),
]


def _np_cross(a, b):
    """np.cross, with 2-vectors as numpy < 2.5 took them (z = 0; two of them give the z
    component alone): numpy 2.0 deprecated them and later numpy raises."""
    if a.shape[-1] == 3 and b.shape[-1] == 3:
        return np.cross(a, b)
    pad = [(0, 0)] * (a.ndim - 1)
    a3 = np.pad(a, pad + [(0, 3 - a.shape[-1])])
    b3 = np.pad(b, [(0, 0)] * (b.ndim - 1) + [(0, 3 - b.shape[-1])])
    c = np.cross(a3, b3)
    return c[..., 2] if a.shape[-1] == b.shape[-1] == 2 else c


@pytest.mark.parametrize("name,shapes", PRODUCT_CASES, ids=[c[0] for c in PRODUCT_CASES])
@pytest.mark.parametrize("dt", [F32, I32, C64], ids=str)
def test_products_match_numpy(name, shapes, dt):
    ref = _np_cross if name == "cross" else getattr(np, name)
    for sa, sb in shapes:
        a, b = rand(sa, dt), rand(sb, dt, seed=1)
        out = getattr(fnp, name)(a, b)
        assert out.dtype == np.dtype(dt), (name, sa, sb)
        assert_close(out, ref(a, b))


def test_tensordot_axes_forms():
    a, b = rand((2, 3, 4)), rand((4, 3, 5), seed=1)
    for axes in (([1, 2], [1, 0]), ((2,), (0,)), (2, 0), 0, ([-1], [0])):
        assert_close(fnp.tensordot(a, b, axes), np.tensordot(a, b, axes))
    with pytest.raises(ValueError, match=r"axis 1 of \(2, 3, 4\) has size 3"):
        fnp.tensordot(a, b, ([1], [0]))


def test_cross_axes_and_vecdot_and_matrix_transpose():
    a, b = rand((3, 5)), rand((3, 5), seed=1)
    assert_close(fnp.cross(a, b, axis=0), np.cross(a, b, axis=0))
    assert_close(fnp.cross(a, b.T, axisa=0, axisc=0), np.cross(a, b.T, axisa=0, axisc=0))
    x, y = rand((4, 3), C64), rand((3,), C64, seed=1)
    assert_close(fnp.vecdot(x, y), np.vecdot(x, y))
    assert_close(fnp.linalg.vecdot(x.T, x.T, axis=0), np.linalg.vecdot(x.T, x.T, axis=0))
    assert_close(fnp.matrix_transpose(rand((2, 3, 4))), np.matrix_transpose(rand((2, 3, 4))))
    with pytest.raises(ValueError, match="2 or 3"):
        fnp.cross(rand((4,)), rand((4,)))


# --- einsum --------------------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", (2, 3), (3, 4)), ("ij,jk", (2, 3), (3, 4)), ("ij,kj->ik", (2, 3), (4, 3)),
    ("i,i", (3,), (3,)), ("i,i->i", (3,), (3,)), ("i,j->ij", (2,), (3,)), ("i,j", (2,), (3,)),
    ("ii", (3, 3)), ("ii->i", (3, 3)), ("ij->ji", (2, 3)), ("ij->", (2, 3)), ("ij", (2, 3)),
    ("ji", (2, 3)), ("iij->j", (3, 3, 2)), ("iji->j", (2, 3, 2)), ("iii->i", (3, 3, 3)),
    ("bij,bjk->bik", (5, 2, 3), (5, 3, 4)), ("...ij,...jk->...ik", (5, 2, 3), (5, 3, 4)),
    ("...ij,jk->...ik", (6, 5, 2, 3), (3, 4)), ("...i,...i", (2, 1, 3), (4, 3)),
    ("i...,i...->...", (3, 2), (3, 1)), ("...", (2, 3)),
    ("ab,bc,cd->ad", (2, 3), (3, 4), (4, 5)), ("ab,bc,cd", (2, 3), (3, 4), (4, 5)),
    ("ab,ab,ab->", (2, 3), (2, 3), (2, 3)), ("ijk,kji", (2, 3, 4), (4, 3, 2)),
    ("ij,ik->jk", (3, 2), (3, 4)), ("Ba,aC->BC", (2, 3), (3, 4)), ("aB", (2, 3)),
    ("ij,j->i", (2, 3), (3,)), ("i,ij,j->", (2,), (2, 3), (3,)),
    ("abc,cd,bd->a", (2, 3, 4), (4, 5), (3, 5)), ("ij,jk,kl,lm->im", (2, 3), (3, 4), (4, 5),
                                                  (5, 2)),
    ("ij,ij->i", (1, 3), (4, 3)), ("ii,jk->ijk", (2, 2), (3, 1)), ("i,i", (0,), (0,)),
    (" ij , jk -> ik ", (2, 3), (3, 4)), ("ijkl->lkji", (2, 3, 4, 5)),
    ("ab,cd->", (2, 3), (4, 5)),
]


@pytest.mark.parametrize("case", EINSUM_CASES, ids=lambda c: c[0].replace(" ", "_"))
def test_einsum_matches_numpy(case):
    sub, shapes = case[0], case[1:]
    for dt in (F32, I32, C64):
        ops = [rand(s, dt, seed=i) for i, s in enumerate(shapes)]
        ref = np.einsum(sub, *ops)
        for optimize in ("greedy", False, "optimal"):
            out = fnp.einsum(sub, *ops, optimize=optimize)
            assert out.dtype == np.dtype(dt)
            assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_einsum_interleaved_bool_promotion_and_explicit_path():
    a, b = rand((2, 3)), rand((3, 4), seed=1)
    assert_close(fnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b)
    assert_close(fnp.einsum(a, [Ellipsis, 1], b, [1, 2]), np.einsum(a, [Ellipsis, 1], b, [1, 2]))
    p, q = rand((4,), BOOL), rand((4,), BOOL, seed=1)
    out = fnp.einsum("i,i", p, q)
    assert out.dtype == np.bool_ and out.item() == bool(np.any(p & q))
    assert fnp.einsum("i,i", rand((3,), I32), rand((3,), F32)).dtype == np.float32
    out = fnp.einsum("ij,jk,kl", a, b, rand((4, 2)), optimize=["einsum_path", (1, 2), (0, 1)])
    assert_close(out, a @ b @ rand((4, 2)))
    out = fnp.einsum("i,i", rand((3,), np.int8), rand((3,), np.int8), preferred_element_type=I32)
    assert out.dtype == np.int32


def test_einsum_inf_does_not_leak_through_diagonal():
    x = np.array([[1.0, np.inf], [np.nan, 2.0]], F32)
    assert_close(fnp.einsum("ii->i", x), np.array([1.0, 2.0]))
    assert fnp.einsum("ii", x).item() == 3.0


@pytest.mark.parametrize("sub,shapes,match", [
    ("ij,jk->ik", [(2, 3), (4, 5)], r"'j' has size 3 .* but 4 in operand 1"),
    ("ij,jk->ik", [(2, 3)], "2 operands"),
    ("ij->ik", [(2, 3)], "'k'"),
    ("ijk->i", [(2, 3)], r"operand has shape \(2, 3\)"),
    ("i1->i", [(2, 3)], "invalid subscript"),
    ("ij->ii", [(2, 2)], "repeat"),
    ("...i->i", [(2, 3)], r"'\.\.\.'"),
    ("...->", [(2, 3)], r"'\.\.\.'"),
])
def test_einsum_errors(sub, shapes, match):
    with pytest.raises(ValueError, match=match):
        fnp.einsum(sub, *[rand(s) for s in shapes])


# --- linalg norms --------------------------------------------------------------------------------

VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1]
MATRIX_ORDS = [None, "fro", 1, -1, np.inf, -np.inf]


@pytest.mark.parametrize("dt", [F32, C64, I32], ids=str)
def test_norm_matches_numpy(dt):
    x1, x2, x3 = rand((5,), dt), rand((3, 4), dt, seed=1), rand((2, 3, 4), dt, seed=2)
    for keepdims in (False, True):
        for ord_ in VECTOR_ORDS:
            for x, axis in ((x1, None), (x1, 0), (x2, 1), (x3, -2), (x3, (1,))):
                out = fnp.linalg.norm(x, ord_, axis, keepdims)
                assert out.dtype == (np.float32), (ord_, axis)
                assert_close(out, np.linalg.norm(x, ord_, axis, keepdims), rtol=1e-4)
        for ord_ in MATRIX_ORDS:
            for x, axis in ((x2, None), (x3, (1, 2)), (x3, (2, 0)), (x3, (-1, -2))):
                assert_close(fnp.linalg.norm(x, ord_, axis, keepdims),
                             np.linalg.norm(x, ord_, axis, keepdims), rtol=1e-4)
        assert_close(fnp.linalg.norm(x3, keepdims=keepdims),
                     np.linalg.norm(x3, keepdims=keepdims))


def test_vector_and_matrix_norm_match_numpy():
    x = rand((2, 3, 4), F32)
    for ord_ in (2, 1, np.inf, 0, 3):
        for axis, keepdims in itertools.product((None, 1, (0, 2)), (False, True)):
            assert_close(fnp.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord_),
                         np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord_),
                         rtol=1e-4)
    for ord_, keepdims in itertools.product(MATRIX_ORDS[1:], (False, True)):
        assert_close(fnp.linalg.matrix_norm(x, ord=ord_, keepdims=keepdims),
                     np.linalg.matrix_norm(x, ord=ord_, keepdims=keepdims), rtol=1e-4)


def test_norm_errors():
    with pytest.raises(NotImplementedError, match="SVD"):
        fnp.linalg.norm(rand((3, 3)), "nuc")
    with pytest.raises(NotImplementedError, match="SVD"):
        fnp.linalg.norm(rand((3, 3)), 2)
    with pytest.raises(ValueError, match="invalid norm order"):
        fnp.linalg.norm(rand((3,)), "fro")
    with pytest.raises(ValueError, match="axis"):
        fnp.linalg.norm(rand((2, 3, 4)), 1)


# --- dtypes vs jax, float64 ----------------------------------------------------------------------


def test_result_dtypes_match_jax():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    pairs = [(F32, F32), (I32, F32), (np.int8, np.uint8), (BOOL, BOOL), (BOOL, I32),
             (np.float16, F32), (C64, F32), (dtypes.bfloat16, np.float16), (np.int8, np.int8)]
    for (da, db), name in itertools.product(pairs, ("matmul", "dot", "inner", "outer",
                                                    "tensordot", "kron", "vdot")):
        a, b = rand((3, 3), da), rand((3, 3), db)
        spec = [jax.ShapeDtypeStruct(v.shape, v.dtype) for v in (a, b)]
        try:
            theirs = jax.eval_shape(getattr(jnp, name), *spec)
        except TypeError:
            continue  # e.g. jnp.kron of bools; functrans multiplies bools as "and"
        ours = getattr(fnp, name)(a, b)
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape), (name, da, db)
    for da in (I32, BOOL, C64):
        x = rand((3, 3), da)
        theirs = jax.eval_shape(jnp.linalg.norm, jax.ShapeDtypeStruct(x.shape, x.dtype))
        assert fnp.linalg.norm(x).dtype == theirs.dtype


def test_float64_under_x64(x64):
    a, b = rand((4, 5), F64), rand((5, 3), F64, seed=1)
    out = fnp.matmul(a, b)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)
    assert fnp.einsum("ij,jk->ik", a, b).dtype == np.float64
    assert fnp.linalg.norm(a).dtype == np.float64


# --- IR ------------------------------------------------------------------------------------------

IR_FUNCS = [
    lambda x, y: x @ y,
    lambda x, y: fnp.matmul(lax.broadcast(x, (2,)), y),
    lambda x, y: fnp.einsum("ij,jk->ki", x, y),
    lambda x, y: fnp.einsum("ij,jk,ij->j", x, y, fnp.ones((3, 4))),
    lambda x, y: fnp.tensordot(x, y, ([1], [0])),
    lambda x, y: fnp.linalg.norm(x, axis=1) + fnp.linalg.norm(y, 1, axis=(0, 1)),
    lambda x, y: lax.dot_general(x, y, (((1,), (0,)), ((), ()))),
    lambda x, y: fnp.kron(x, y),
    lambda x, y: fnp.outer(x, y),
    lambda x, y: fnp.einsum("ii->i", fnp.dot(x, y)),
]


@pytest.mark.parametrize("i", range(len(IR_FUNCS)))
def test_ir_typechecks_and_matches_eager(i):
    f = IR_FUNCS[i]
    x, y = fnp.asarray(rand((3, 4))), fnp.asarray(rand((4, 3), seed=1))
    closed = ft.make_ir(f)(x, y)
    typecheck(closed)
    (got,) = eval_ir(closed.ir, closed.consts, [x, y])
    assert_close(got, f(x, y))
