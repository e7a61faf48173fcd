"""numpy indexing: x[idx], x.at[idx].<op>(v), take, diagonal, nonzero, ... vs numpy.

Every index expression is checked four ways against numpy: the eager fast
path, the general (primitive) path, traced with the index as a constant, and
traced with its integer arrays as arguments; traced IRs are type-checked and
evaluated.
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import ir
from functrans.errors import ImmutableArrayError
from functrans.numpy import _indexing

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

A = np.array
S = slice
E = Ellipsis

# (shape, index) rows; every index is in bounds, so numpy is the reference.
GETITEM_CASES = [
    ((5,), 0), ((5,), -1), ((5,), S(None)), ((5,), S(1, 4)), ((5,), S(None, None, -1)),
    ((5,), S(4, 0, -2)), ((5,), S(-2, None)), ((5,), S(3, 1)), ((5,), S(10, 20)),
    ((5,), S(-10, 2)), ((5,), S(None, None, 3)), ((5,), S(3, None, -3)),
    ((5,), None), ((5,), (None, 2)), ((5,), E), ((5,), (E, None)), ((5,), ()),
    ((3, 4), 1), ((3, 4), (1, 2)), ((3, 4), (-1, -1)), ((3, 4), (S(None), 1)),
    ((3, 4), (E, 1)), ((3, 4), (1, E)), ((3, 4), (None, 1, None, S(1, None))),
    ((3, 4), (S(None, None, -1), S(None, None, -2))), ((3, 4), (E, None)),
    ((2, 3, 4), (1, E, 2)), ((2, 3, 4), (S(None), None, E, None)),
    ((), ()), ((), E), ((), None), ((), (None, E, None)),
    ((0,), S(None)), ((0, 3), (S(None), 1)), ((2, 0), (1,)), ((2, 0, 3), (E, S(1, 3))),
    # integer arrays
    ((5,), [0, 2, -1]), ((5,), A([[1, 2], [3, -5]])), ((5,), A([], int)), ((5,), []),
    ((5,), A(3)), ((5,), [[0], [4]]),
    ((3, 4), [0, 2]), ((3, 4), (S(None), [3, 0, 0])), ((3, 4), ([0, 2], [1, 3])),
    ((3, 4), ([[0], [2]], [1, 3])), ((3, 4), (1, [0, 1])), ((3, 4), ([0, 1], 1)),
    ((3, 4), (A([0, 2]), S(None, None, -1))), ((3, 4), (None, [1, 2])),
    ((2, 3, 4), ([0, 1], S(None), [1, 2])),      # separated: index dims first
    ((2, 3, 4), (S(None), [0, 2], [1, 3])),      # adjacent: in place
    ((2, 3, 4), (0, S(None), [1, 3])),           # int + array separated: first
    ((2, 3, 4), (S(None), 1, [1, 3])),           # int + array adjacent
    ((2, 3, 4), ([1], None, S(None), 2)),        # None separates them
    ((2, 3, 4), (E, [0, 3])), ((2, 3, 4), ([[1]], E, [[0, 1]])),
    ((2, 3, 4), (S(None, None, -1), [[0], [2]], S(1, None))),
    ((2, 3, 4), (A(1), S(None), [0, 1])), ((2, 3, 4), (A([0, 1]), A([2, 0]), A([3, 1]))),
    ((2, 3), (0, E, [1])), ((2, 3, 4), (S(None), [0], E, [1])),  # an empty ... separates
    ((2, 3), ([0], E)), ((2, 3), (E, 0, [1])),
    ((0, 3), (S(None), [0, 2])), ((3, 0), ([0, 2],)), ((0,), A([], int)),
    # boolean masks
    ((5,), A([True, False, True, True, False])), ((3, 4), "mask"), ((3, 4), (S(None), "mask1")),
    ((2, 3, 4), ("mask01", 1)), ((2, 3, 4), (1, "mask12")), ((5,), A([False] * 5)),
    ((3, 4), True), ((3, 4), False), ((3, 4), (True, 1)), ((), True), ((), False),
    ((3, 4), ([0, 2], A([True, False, True, False]))),
]


def _make(shape, idx, rng):
    """Builds masks (named by strings) and returns (x, index) as numpy values."""
    x = rng.integers(-50, 50, shape).astype(np.float32)

    def resolve(i):
        if i == "mask":
            return rng.random(shape) < 0.5
        if i == "mask1":
            return rng.random(shape[1:]) < 0.5
        if i == "mask01":
            return rng.random(shape[:2]) < 0.5
        if i == "mask12":
            return rng.random(shape[1:3]) < 0.5
        return i

    if isinstance(idx, tuple):
        idx = tuple(resolve(i) if isinstance(i, str) else i for i in idx)
    elif isinstance(idx, str):
        idx = resolve(idx)
    return x, idx


def _case_id(case):
    return f"{case[0]}-{case[1]!r}".replace(" ", "")[:60]


def _as_tuple(idx):
    return idx if isinstance(idx, tuple) else (idx,)


def check_ir(f, args, expected):
    closed = ft.make_ir(f)(*args)
    ir.typecheck(closed)
    out = ir.eval_ir(closed.ir, closed.consts, list(args))[0]
    assert tuple(closed.out_avals[0].shape) == np.shape(expected)
    np.testing.assert_array_equal(np.asarray(out), expected)
    return closed


def _traceable_parts(idx):
    """Splits idx into a template and the integer arrays (ndim >= 1) to pass traced."""
    items = _as_tuple(idx)
    arrays = [i for i in items if isinstance(i, (np.ndarray, list))
              and np.asarray(i).dtype.kind == "i" and np.ndim(i) >= 1]

    def rebuild(*traced):
        it = iter(traced)
        out = tuple(next(it) if any(i is a for a in arrays) else i for i in items)
        return out if isinstance(idx, tuple) else out[0]
    return arrays, rebuild


@pytest.mark.parametrize("case", GETITEM_CASES, ids=_case_id)
def test_getitem_matches_numpy(case):
    rng = np.random.default_rng(0)
    x, idx = _make(*case, rng)
    expected = x[idx]
    fx = fnp.asarray(x)
    out = fx[idx]
    np.testing.assert_array_equal(np.asarray(out), expected)
    assert out.dtype == np.float32
    general = _indexing._rewriting_take(fx, idx)
    np.testing.assert_array_equal(np.asarray(general), expected)
    check_ir(lambda x: x[idx], [fx], expected)
    arrays, rebuild = _traceable_parts(idx)
    if arrays:
        traced = [fnp.asarray(np.asarray(a, np.int32)) for a in arrays]
        check_ir(lambda x, *a: x[rebuild(*a)], [fx] + traced, expected)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.bool_, np.complex64, np.float16])
def test_getitem_dtypes(dtype):
    x = np.arange(12).reshape(3, 4).astype(dtype)
    fx = fnp.asarray(x)
    for idx in [1, (S(None), [0, 3]), (A([True, False, True]),), (S(None, None, -1), 2)]:
        out = fx[idx]
        assert out.dtype == x.dtype
        np.testing.assert_array_equal(np.asarray(out), x[idx])
        np.testing.assert_array_equal(np.asarray(_indexing._rewriting_take(fx, idx)), x[idx])


def test_getitem_keeps_weak_type():
    weak = ft.lax.broadcast_in_dim(fnp.asarray(1.0), (3, 2), ())
    assert weak.weak_type
    for idx in [(), 1, (S(1, None), 0), [0, 2], (fnp.asarray(np.int32(1)),)]:
        assert weak[idx].weak_type, idx
        assert _indexing._rewriting_take(weak, idx).weak_type, idx
    assert not fnp.ones((3, 2))[[0, 1]].weak_type


@pytest.mark.parametrize("index_dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32])
def test_integer_index_dtypes(index_dtype):
    x = np.arange(10.0)
    idx = np.array([1, 9, 3], index_dtype)
    np.testing.assert_array_equal(fnp.asarray(x)[idx], x[idx])
    np.testing.assert_array_equal(fnp.asarray(x)[fnp.asarray(idx)], x[idx])
    check_ir(lambda x, i: x[i], [fnp.asarray(x), fnp.asarray(idx)], x[idx])


def test_traced_scalar_index_uses_dynamic_slice_and_wraps_negative():
    x = np.arange(24.0).reshape(2, 3, 4)
    fx = fnp.asarray(x)
    for i in [0, 2, -1, -3]:
        i32 = fnp.asarray(np.int32(i))
        closed = check_ir(lambda x, i: x[:, i], [fx, i32], x[:, i])
        names = [e.prim.name for e in closed.eqns]
        assert "dynamic_slice" in names and "gather" not in names
        check_ir(lambda x, i: x[i, 1:, ::-1], [fx, fnp.asarray(np.int32(i % 2))],
                 x[i % 2, 1:, ::-1])
        check_ir(lambda x, i: x[1, i, -1], [fx, i32], x[1, i, -1])
        check_ir(lambda x, i, j: x[i, :, j], [fx, fnp.asarray(np.int32(i % 2)), i32],
                 x[i % 2, :, i])
        check_ir(lambda x, i: x[[i, 0]], [fx, fnp.asarray(np.int32(i % 2))], x[[i % 2, 0]])


def test_basic_indexing_lowers_to_slice_rev_squeeze():
    closed = ft.make_ir(lambda x: x[1, ::-2, None])(fnp.ones((3, 5)))
    assert [e.prim.name for e in closed.eqns] == ["reshape", "slice", "rev", "squeeze"]
    closed = ft.make_ir(lambda x: x[:, [0, 2]])(fnp.ones((3, 5)))
    assert [e.prim.name for e in closed.eqns] == ["gather"]
    closed = ft.make_ir(lambda x: x[...])(fnp.ones((3, 5)))
    assert closed.eqns == []


# --- out-of-bounds semantics -------------------------------------------------------------------


def test_array_indices_out_of_bounds_are_clamped():
    x = np.arange(5.0)
    fx = fnp.asarray(x)
    np.testing.assert_array_equal(fx[A([7, -1, -6, -20])], x[[4, 4, 0, 0]])
    np.testing.assert_array_equal(fx[fnp.array(9)], 4.0)  # a 0-d array clamps too
    check_ir(lambda x, i: x[i], [fx, fnp.asarray(np.int32(9))], 4.0)
    check_ir(lambda x, i: x[i], [fx, fnp.asarray(np.int32(-9))], 0.0)
    check_ir(lambda x, i: x[i], [fx, fnp.asarray(A([7, -1], np.int32))], x[[4, 4]])


def test_static_int_out_of_bounds_clamps_like_jax():
    # numpy raises; jax clamps a static out-of-bounds int like any other index
    x = np.arange(12.0).reshape(3, 4)
    fx = fnp.asarray(x)
    for idx in [3, -4, (0, 4), (E, -5), ([0], 4), (4, [0])]:
        want = np.asarray(jnp.asarray(x)[idx])
        np.testing.assert_array_equal(fx[idx], want)
        np.testing.assert_array_equal(_indexing._rewriting_take(fx, idx), want)
        check_ir(lambda x: x[idx], [fx], want)


# --- errors ------------------------------------------------------------------------------------


def test_traced_boolean_mask_raises_a_clear_error():
    with pytest.raises(TypeError, match=r"traced mask \(bool\[3\]\).*fnp.where"):
        ft.make_ir(lambda x: x[x > 0])(fnp.ones(3))
    with pytest.raises(TypeError, match="traced mask"):
        ft.make_ir(lambda x, m: x.at[m].set(0.0))(fnp.ones(3), fnp.ones(3, bool))


def test_item_assignment_points_to_at_set():
    x = fnp.ones(3)
    with pytest.raises(ImmutableArrayError, match=r"x.at\[idx\].set\(y\)"):
        x[0] = 1
    with pytest.raises(TypeError, match="immutable"):
        ft.make_ir(lambda x: x.__setitem__(0, 1.0))(x)


@pytest.mark.parametrize("idx,err,match", [
    (A([1.0]), TypeError, "invalid index: an array of dtype float"),
    (1.5, TypeError, "invalid index: float 1.5"),
    ("a", TypeError, "invalid index: str"),
    ((0, 0, 0), IndexError, "too many indices for array: array is 2-dimensional, but 3"),
    ((E, E), IndexError, "single ellipsis"),
    (A([True, False]), IndexError, "boolean index did not match indexed array along axis 0"),
    (([0, 1], [0, 1, 2]), IndexError, "could not be broadcast together with shapes"),
    (S(0, 2, 0), ValueError, "slice step cannot be zero"),
])
def test_index_errors(idx, err, match):
    with pytest.raises(err, match=match):
        fnp.ones((3, 4))[idx]


def test_traced_slice_bound_and_float_tracer_errors():
    with pytest.raises(TypeError, match=r"slice bounds must be static.*dynamic_slice"):
        ft.make_ir(lambda x, i: x[i:])(fnp.ones(3), 1)
    with pytest.raises(TypeError, match="invalid index: an array of dtype float"):
        ft.make_ir(lambda x, i: x[i])(fnp.ones(3), fnp.asarray(1.0))


def test_error_traceback_ends_in_user_code():
    try:
        fnp.ones(3)[5]
    except IndexError as e:
        tb, frames = e.__traceback__, []
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        assert not any(f.endswith("_indexing.py") and "raise" in f for f in frames)
        assert frames[0].endswith("test_indexing.py")


# --- .at[] updates -----------------------------------------------------------------------------

UPDATE_CASES = [
    ((5,), 1), ((5,), -1), ((5,), S(1, 4)), ((5,), S(None, None, 2)), ((5,), S(None, None, -1)),
    ((5,), [0, 2, 2, -1]), ((5,), A([[1, 1], [3, 0]])), ((5,), A([True, False, True, False, True])),
    ((5,), E), ((5,), None), ((5,), ()), ((5,), A([], int)),
    ((3, 4), 1), ((3, 4), (1, S(1, 3))), ((3, 4), (S(None), -1)), ((3, 4), (E, [0, 0, 3])),
    ((3, 4), ([0, 2, 0], [1, 3, 1])), ((3, 4), (S(None, None, -1), [1, 1])),
    ((3, 4), (None, 0, S(None, 2))), ((3, 4), "mask"),
    ((2, 3, 4), ([0, 1, 0], S(None), [1, 2, 1])), ((2, 3, 4), (S(None), [0, 2], [1, 3])),
    ((2, 3, 4), (1, S(1, None), 2)), ((2, 3, 4), (S(None), 1)),
    ((), ()), ((), E), ((0, 3), (S(None), 1)), ((3, 0), [0, 1]),
]

_UFUNC = {"add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}
_METHOD = {"set": "set", "add": "add", "mul": "multiply", "min": "min", "max": "max"}


def _np_update(x, idx, v, how):
    out = x.copy()
    if how == "set":
        out[idx] = v
    else:
        _UFUNC[how].at(out, idx, v)
    return out


@pytest.mark.parametrize("how", list(_METHOD))
@pytest.mark.parametrize("case", UPDATE_CASES, ids=_case_id)
def test_at_update_matches_numpy(case, how):
    rng = np.random.default_rng(1)
    x, idx = _make(*case, rng)
    vshape = x[idx].shape
    v = rng.integers(-3, 4, vshape).astype(np.float32)
    expected = _np_update(x, idx, v, how)
    fx = fnp.asarray(x)
    method = _METHOD[how]
    out = getattr(fx.at[idx], method)(fnp.asarray(v))
    np.testing.assert_array_equal(np.asarray(out), expected)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(fx), x)  # unchanged
    check_ir(lambda x, v: getattr(x.at[idx], method)(v), [fx, fnp.asarray(v)], expected)
    arrays, rebuild = _traceable_parts(idx)
    if arrays:
        traced = [fnp.asarray(np.asarray(a, np.int32)) for a in arrays]
        check_ir(lambda x, v, *a: getattr(x.at[rebuild(*a)], method)(v),
                 [fx, fnp.asarray(v)] + traced, expected)
    # A broadcast scalar value.
    expected = _np_update(x, idx, np.float32(2), how)
    np.testing.assert_array_equal(np.asarray(getattr(fx.at[idx], method)(2)), expected)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.bool_, np.complex64])
@pytest.mark.parametrize("how", list(_METHOD))
def test_at_update_dtypes(dtype, how):
    if dtype == np.complex64 and how in ("min", "max"):
        pytest.skip("complex order is not defined")
    rng = np.random.default_rng(2)
    x = (rng.integers(0, 3, (4, 3)) > 0 if dtype == np.bool_
         else rng.integers(0, 5, (4, 3))).astype(dtype)
    for idx in [(S(1, 3), 1), ([0, 0, 3],), (S(None), [2, 0])]:
        v = (rng.integers(0, 2, x[idx].shape) > 0).astype(dtype) if dtype == np.bool_ else \
            rng.integers(0, 3, x[idx].shape).astype(dtype)
        expected = _np_update(x, idx, v, how)
        out = getattr(fnp.asarray(x).at[idx], _METHOD[how])(fnp.asarray(v))
        assert out.dtype == x.dtype
        np.testing.assert_array_equal(np.asarray(out), expected)


def test_at_set_casts_values_to_the_array_dtype():
    x = fnp.zeros(3, fnp.int32)
    out = x.at[1].set(2.7)
    assert out.dtype == np.int32 and out.tolist() == [0, 2, 0]
    out = fnp.zeros(3, fnp.float16).at[[0, 2]].add(fnp.array([1.0, 2.0], fnp.float32))
    assert out.dtype == np.float16 and out.tolist() == [1.0, 0.0, 2.0]
    out = fnp.zeros((2, 3)).at[0].set(fnp.ones((1, 1, 3)))  # leading 1s are dropped, as numpy
    assert out.tolist() == [[1, 1, 1], [0, 0, 0]]


def test_at_update_out_of_bounds_indices_are_dropped():
    x = fnp.arange(5.0)
    assert x.at[A([1, 7, -1, -9])].set(-1.0).tolist() == [0, -1, 2, 3, -1]
    assert x.at[fnp.array(9)].add(100.0).tolist() == x.tolist()
    closed = ft.make_ir(lambda x, i: x.at[i].set(-1.0))(x, fnp.asarray(np.int32(9)))
    out = ir.eval_ir(closed.ir, closed.consts, [x, fnp.asarray(np.int32(9))])[0]
    assert out.tolist() == x.tolist()
    out = ir.eval_ir(closed.ir, closed.consts, [x, fnp.asarray(np.int32(-2))])[0]
    assert out.tolist() == [0, 1, 2, -1, 4]
    # a static out-of-bounds int is dropped too (numpy would raise)
    assert x.at[5].set(1.0).tolist() == jnp.arange(5.0).at[5].set(1.0).tolist() == x.tolist()


def test_at_update_modes():
    x = fnp.arange(5.0)
    jx = jnp.arange(5.0)
    idx = A([1, 7, -1, -9])
    for mode in [None, "drop", "fill", "clip", "promise_in_bounds"]:
        for op, v in [("set", -1.0), ("add", 1.0)]:
            want = getattr(jx.at[idx], op)(v, mode=mode)
            got = _indexing._index_update(x, idx, v, op, mode)
            np.testing.assert_array_equal(got, want, err_msg=f"{op} mode={mode}")
    x2 = fnp.zeros((3, 4))
    for mode in [None, "clip"]:
        want = jnp.zeros((3, 4)).at[::2, A([5, 0])].add(1.0, mode=mode)
        out = _indexing._index_update(x2, (S(None, None, 2), A([5, 0])), 1.0, "add", mode)
        np.testing.assert_array_equal(out, want, err_msg=f"mode={mode}")
    with pytest.raises(ValueError, match="mode must be"):
        _indexing._index_update(x, 0, 1.0, "set", "bogus")
    i = A([1, 9])
    np.testing.assert_array_equal(_indexing._index_get(x, i, "fill", -1.0),
                                  jx.at[i].get(mode="fill", fill_value=-1.0))
    np.testing.assert_array_equal(_indexing._index_get(x, i, "drop"), jx.at[i].get(mode="drop"))
    np.testing.assert_array_equal(_indexing._index_get(x, i), jx.at[i].get())
    with pytest.raises(ValueError, match="get: mode must be"):
        _indexing._index_get(x, 0, "bogus")


def test_at_get_and_errors():
    x = np.arange(12.0).reshape(3, 4)
    fx = fnp.asarray(x)
    np.testing.assert_array_equal(fx.at[1, ::-1].get(), x[1, ::-1])
    with pytest.raises(ValueError, match=r"x.at\[...\].set: cannot broadcast values of shape "
                                         r"\(3,\) to the indexed shape \(4,\)"):
        fx.at[0].set(fnp.ones(3))
    with pytest.raises(ValueError, match=r"x.at\[...\].add: cannot broadcast values of shape "
                                         r"\(2, 4\)"):
        fx.at[0].add(fnp.ones((2, 4)))


def _prims(f, *args):
    return [e.prim.name for e in ft.make_ir(f)(*args).eqns]


def test_update_lowering_paths():
    x = fnp.ones((3, 4))
    names = _prims(lambda x: x.at[1:, 2].add(1.0), x)  # a static box
    assert "dynamic_update_slice" in names and "scatter_add" not in names
    names = _prims(lambda x, i: x.at[:, i].set(0.0), x, fnp.zeros(2, int))  # arrays, full dims
    assert "scatter" in names and "gather" not in names and "iota" not in names
    names = _prims(lambda x, i: x.at[i].mul(2.0), x, 1)  # a traced scalar
    assert "scatter_mul" in names and "gather" not in names
    names = _prims(lambda x: x.at[::2, [0, 1]].max(0.0), x)  # strided + array: via an iota
    assert names.count("iota") == 1 and "gather" in names and "scatter_max" in names


# --- take, take_along_axis -------------------------------------------------------------------


@pytest.mark.parametrize("shape,indices,axis", [
    ((5,), [0, 4, -1], None), ((3, 4), [[0, 1], [2, -1]], None), ((3, 4), [2, 0], 0),
    ((3, 4), [3, -4, 1], 1), ((3, 4), [[1]], -1), ((2, 3, 4), [1], 1), ((2, 3, 4), 2, 2),
    ((2, 0, 4), [1], 2), ((3, 4), [], 0),
])
def test_take_matches_numpy(shape, indices, axis):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    expected = np.take(x, indices, axis=axis)
    np.testing.assert_array_equal(fnp.take(fnp.asarray(x), indices, axis=axis), expected)
    if np.size(indices):
        i = fnp.asarray(np.asarray(indices, np.int32))
        check_ir(lambda x, i: fnp.take(x, i, axis=axis), [fnp.asarray(x), i], expected)


@pytest.mark.parametrize("mode", ["clip", "wrap", "raise"])
def test_take_numpy_modes(mode):
    x = np.arange(10.0).reshape(2, 5)
    idx = np.array([0, 4, 7, -1, -12]) if mode != "raise" else np.array([0, 4, -1, -5])
    expected = np.take(x, idx, axis=1, mode=mode)
    np.testing.assert_array_equal(fnp.take(fnp.asarray(x), idx, axis=1, mode=mode), expected)
    if mode != "raise":
        check_ir(lambda x, i: fnp.take(x, i, axis=1, mode=mode),
                 [fnp.asarray(x), fnp.asarray(idx.astype(np.int32))], expected)


def test_take_default_and_fill_modes_and_errors():
    x, jx = fnp.arange(5.0), jnp.arange(5.0)
    # the default mode is "fill" (NaN past the end), as in jax
    for i, kw in [(A([-1, 7]), {}), (A([-1, 7, 2]), {"mode": "fill"}),
                  (A([9]), {"mode": "fill", "fill_value": -1}), (A([-1, 7, -9]), {"mode": "clip"})]:
        want = jnp.take(jx, i, **kw)
        out = fnp.take(x, i, **kw)
        assert out.dtype == want.dtype
        np.testing.assert_array_equal(out, want, err_msg=str(kw))
    with pytest.raises(IndexError, match=r"take: invalid index 5: values must be in \[-5, 5\)"):
        fnp.take(x, A([5]), mode="raise")
    with pytest.raises(TypeError, match="take needs a concrete array.*mode='clip'"):
        ft.make_ir(lambda x, i: fnp.take(x, i, mode="raise"))(x, fnp.zeros(2, int))
    with pytest.raises(TypeError, match="take: indices must be integers"):
        fnp.take(x, fnp.zeros(2))


@pytest.mark.parametrize("shape,ishape,axis", [
    ((3, 4), (3, 2), 1), ((3, 4), (5, 4), 0), ((3, 4), (1, 4), 0), ((3, 1), (3, 6), 1),
    ((2, 3, 4), (2, 3, 7), -1), ((2, 3, 4), (1, 5, 4), 1), ((6,), (4,), None), ((4,), (0,), 0),
])
def test_take_along_axis_matches_numpy(shape, ishape, axis):
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape).astype(np.float32)
    n = x.size if axis is None else shape[axis]
    idx = rng.integers(-n, n, ishape).astype(np.int32)
    expected = np.take_along_axis(x, idx, axis=axis)
    np.testing.assert_array_equal(fnp.take_along_axis(fnp.asarray(x), idx, axis), expected)
    check_ir(lambda x, i: fnp.take_along_axis(x, i, axis), [fnp.asarray(x), fnp.asarray(idx)],
             expected)


def test_take_along_axis_errors_and_argsort_style_use():
    x = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    order = np.argsort(x, axis=1)
    np.testing.assert_array_equal(fnp.take_along_axis(fnp.asarray(x), order, axis=1),
                                  np.sort(x, axis=1))
    with pytest.raises(ValueError, match="same number of dimensions"):
        fnp.take_along_axis(fnp.asarray(x), A([0, 1]), axis=1)
    with pytest.raises(ValueError, match="do not broadcast"):
        fnp.take_along_axis(fnp.asarray(x), np.zeros((3, 1), int), axis=1)


# --- diagonal, diag, trace ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (3, 5), (5, 2), (2, 3, 4), (4, 0), (1, 1)])
@pytest.mark.parametrize("offset", [0, 1, -1, 2, -3, 7])
@pytest.mark.parametrize("axes", [(0, 1), (1, 0), (-1, 0)])
def test_diagonal_and_trace_match_numpy(shape, offset, axes):
    if len(shape) == 2 and axes == (-1, 0):
        axes = (1, 0)
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    expected = np.diagonal(x, offset, *axes)
    fx = fnp.asarray(x)
    out = fnp.diagonal(fx, offset, *axes)
    np.testing.assert_array_equal(out, expected)
    assert out.shape == expected.shape and out.dtype == np.int32
    check_ir(lambda x: fnp.diagonal(x, offset, *axes), [fx], expected)
    np.testing.assert_array_equal(fnp.trace(fx, offset, *axes), np.trace(x, offset, *axes))
    np.testing.assert_array_equal(fx.diagonal(offset, *axes), expected)


@pytest.mark.parametrize("n", [0, 1, 3])
@pytest.mark.parametrize("k", [0, 1, -2])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_])
def test_diag_matches_numpy(n, k, dtype):
    v = (np.arange(n) % 2 == 0) if dtype == np.bool_ else np.arange(1, n + 1).astype(dtype)
    expected = np.diag(v, k)
    out = fnp.diag(fnp.asarray(v), k)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == dtype
    check_ir(lambda v: fnp.diag(v, k), [fnp.asarray(v)], expected)
    m = np.arange(12).reshape(3, 4).astype(dtype)
    np.testing.assert_array_equal(fnp.diag(fnp.asarray(m), k), np.diag(m, k))
    np.testing.assert_array_equal(fnp.diagflat(fnp.asarray(m[:1, :2]), k),
                                  np.diagflat(m[:1, :2], k))


def test_diagonal_errors():
    with pytest.raises(ValueError, match="at least two dimensions"):
        fnp.diagonal(fnp.ones(3))
    with pytest.raises(ValueError, match="axis1 and axis2 cannot be the same"):
        fnp.diagonal(fnp.ones((3, 3)), 0, 1, -1)
    with pytest.raises(ValueError, match="diag: input must be 1-d or 2-d"):
        fnp.diag(fnp.ones((2, 2, 2)))


# --- value-dependent shapes: nonzero & co ------------------------------------------------------


@pytest.mark.parametrize("x", [A([0, 3, 0, 4]), A([[1, 0], [0, 2]]), A([[False, True]]),
                               A([], float), np.zeros((2, 0, 3))])
def test_nonzero_argwhere_flatnonzero_match_numpy(x):
    for ours, theirs in zip(fnp.nonzero(fnp.asarray(x)), np.nonzero(x)):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(fnp.argwhere(fnp.asarray(x)), np.argwhere(x))
    np.testing.assert_array_equal(fnp.flatnonzero(fnp.asarray(x)), np.flatnonzero(x))
    np.testing.assert_array_equal(fnp.where(fnp.asarray(x))[0], np.where(x)[0])


def test_nonzero_size_and_errors():
    (i,) = fnp.nonzero(A([0, 5, 0, 6, 7]), size=5, fill_value=-1)
    assert i.tolist() == [1, 3, 4, -1, -1]
    (i,) = fnp.nonzero(A([0, 5, 0, 6, 7]), size=2)
    assert i.tolist() == [1, 3]
    with pytest.raises(TypeError, match=r"nonzero needs a concrete array.*f..\[3\].*fnp.where"):
        ft.make_ir(fnp.nonzero)(fnp.ones(3))
    with pytest.raises(ValueError, match="0-d"):
        fnp.nonzero(fnp.asarray(1.0))
    np.testing.assert_array_equal(fnp.argwhere(fnp.asarray(1.0)), np.argwhere(1.0))


def test_compress_and_extract():
    x = np.arange(12.0).reshape(3, 4)
    fx = fnp.asarray(x)
    for cond, axis in [([True, False, True], 0), ([False, True], 1), ([1, 0, 1, 1, 0], None),
                       ([False] * 3, 0)]:
        np.testing.assert_array_equal(fnp.compress(cond, fx, axis), np.compress(cond, x, axis))
    check_ir(lambda x: fnp.compress([True, False, True], x, 0), [fx],
             np.compress([True, False, True], x, 0))
    np.testing.assert_array_equal(fnp.extract(x > 4, fx), np.extract(x > 4, x))
    with pytest.raises(TypeError, match="compress needs a concrete array"):
        ft.make_ir(lambda c, x: fnp.compress(c, x))(fnp.ones(3, bool), fx)
    with pytest.raises(IndexError, match="out of bounds"):
        fnp.compress([False, False, False, True], fx, 0)


# --- choose, select, unravel_index, ravel_multi_index ------------------------------------------


def test_choose_matches_numpy():
    a = np.array([[0, 1, 2], [2, 1, 0]])
    choices = [np.arange(3), np.full((2, 3), 10), np.array(-1)]
    expected = np.choose(a, choices)
    np.testing.assert_array_equal(fnp.choose(a, choices), expected)
    for mode in ["wrap", "clip"]:
        b = np.array([[0, 4, -1], [3, 1, 7]])
        exp = np.choose(b, choices, mode=mode)
        np.testing.assert_array_equal(fnp.choose(b, choices, mode=mode), exp)
        check_ir(lambda b: fnp.choose(b, choices, mode=mode), [fnp.asarray(b.astype(np.int32))],
                 exp)
    with pytest.raises(ValueError, match=r"choose: invalid index 3: values must be in \[0, 3\)"):
        fnp.choose(np.array([3]), choices)
    with pytest.raises(TypeError, match="choose needs a concrete array"):
        ft.make_ir(lambda b: fnp.choose(b, choices))(fnp.zeros(3, int))


def test_select_matches_numpy():
    x = np.arange(6.0)
    conds = [x < 2, x > 3, x == 1]
    choices = [x, x * 10, -x]
    fx = fnp.asarray(x)
    np.testing.assert_array_equal(fnp.select(conds, choices, -1.0),
                                  np.select(conds, choices, -1.0))
    check_ir(lambda x: fnp.select([x < 2, x > 3, x == 1], [x, x * 10, -x], -1.0), [fx],
             np.select(conds, choices, -1.0).astype(np.float32))
    with pytest.raises(ValueError, match="same length"):
        fnp.select([x < 2], [x, x])
    with pytest.raises(TypeError, match=r"condlist\[0\] must be a boolean array"):
        fnp.select([x], [x])
    with pytest.raises(ValueError, match="empty"):
        fnp.select([], [])


@pytest.mark.parametrize("shape", [(2, 3), (4,), (2, 1, 5)])
def test_unravel_and_ravel_multi_index_match_numpy(shape):
    size = int(np.prod(shape))
    flat = np.arange(size).reshape(-1)[::2]
    expected = np.unravel_index(flat, shape)
    ours = fnp.unravel_index(fnp.asarray(flat.astype(np.int32)), shape)
    assert len(ours) == len(expected)
    for o, e in zip(ours, expected):
        np.testing.assert_array_equal(o, e)
    if shape:
        for order in "CF":
            np.testing.assert_array_equal(
                fnp.ravel_multi_index(expected, shape, order=order),
                np.ravel_multi_index(expected, shape, order=order))
        closed = ft.make_ir(lambda i: fnp.ravel_multi_index(fnp.unravel_index(i, shape), shape,
                                                             mode="clip"))(
            fnp.asarray(flat.astype(np.int32)))
        ir.typecheck(closed)
        np.testing.assert_array_equal(
            ir.eval_ir(closed.ir, closed.consts, [fnp.asarray(flat.astype(np.int32))])[0], flat)


def test_unravel_index_clamps_and_ravel_modes():
    rows, cols = fnp.unravel_index(fnp.array([-1, 100]), (2, 3))
    assert rows.tolist() == [1, 1] and cols.tolist() == [2, 2]
    idx = (np.array([0, 3, -1]), np.array([5, 1, 2]))
    for mode in ["wrap", "clip", ("clip", "wrap")]:
        np.testing.assert_array_equal(fnp.ravel_multi_index(idx, (2, 4), mode=mode),
                                      np.ravel_multi_index(idx, (2, 4), mode=mode))
    with pytest.raises(ValueError, match=r"ravel_multi_index: invalid index 3: values must "
                                         r"be in \[0, 2\)"):
        fnp.ravel_multi_index(idx, (2, 4))


# --- property tests: random index expressions ------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def index_expressions(draw):
    """(x, idx): a random array and a random in-bounds numpy index for it."""
    nd = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=nd, max_size=nd)))
    bshape = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    # Arrays share one shape (so they broadcast); at most one mask, and not with arrays.
    advanced = draw(st.sampled_from(["array", "mask", None]))
    masks = []

    def item(d):
        kinds = ["slice", "full"] + (["int"] if d > 0 else [])
        if advanced == "array" and d > 0 or advanced == "mask" and not masks:
            kinds.append(advanced)
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            return draw(st.integers(-d, d - 1))
        if kind == "array":
            return rng.integers(-d, d, bshape)
        if kind == "mask":
            masks.append(d)
            return rng.random(d) < 0.5
        if kind == "full":
            return S(None)
        bound = st.one_of(st.none(), st.integers(-d - 2, d + 2))
        step = st.one_of(st.none(), st.integers(-3, 3).filter(bool))
        return S(draw(bound), draw(bound), draw(step))

    use_ellipsis = draw(st.booleans())
    n_lead = draw(st.integers(0, nd))
    n_trail = draw(st.integers(0, nd - n_lead)) if use_ellipsis else 0
    items = [item(shape[d]) for d in range(n_lead)]
    if use_ellipsis:
        items.append(E)
    items += [item(shape[d]) for d in range(nd - n_trail, nd)]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    x = rng.integers(-9, 10, shape).astype(np.float32)
    return x, tuple(items)


@settings(max_examples=300, deadline=None, database=None)
@given(index_expressions())
def test_random_getitem_matches_numpy(case):
    x, idx = case
    expected = x[idx]
    fx = fnp.asarray(x)
    np.testing.assert_array_equal(np.asarray(fx[idx]), expected)
    out = _indexing._rewriting_take(fx, idx)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(np.asarray(out), expected)


@settings(max_examples=200, deadline=None, database=None)
@given(index_expressions(), st.sampled_from(["set", "add", "mul", "min", "max"]))
def test_random_at_update_matches_numpy(case, how):
    x, idx = case
    v = np.random.default_rng(0).integers(-3, 4, x[idx].shape).astype(np.float32)
    expected = _np_update(x, idx, v, how)
    out = getattr(fnp.asarray(x).at[idx], _METHOD[how])(v)
    np.testing.assert_array_equal(np.asarray(out), expected)
