"""Slicing primitives: slice, dynamic_slice, dynamic_update_slice, gather, scatter*.

Each primitive is checked eagerly against numpy (or jax.lax as an oracle for
gather/scatter), and traced: the IR type-checks and evaluating it gives the
eager result.
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import ir, lax
from functrans.primitives import dynamic_slicing as dsl
from functrans.primitives import gather_scatter as gs
from functrans.primitives import scatter_combine
from functrans.primitives import slicing as sl

jax = pytest.importorskip("jax")
jlax = jax.lax

DTYPES = [np.float32, np.int32, np.int8, np.uint8, np.bool_, np.complex64]


def _rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind == "c":
        return (rng.integers(-5, 5, shape) + 1j * rng.integers(-5, 5, shape)).astype(dtype)
    if dtype.kind == "u":
        return rng.integers(0, 9, shape).astype(dtype)
    return rng.integers(-9, 9, shape).astype(dtype)


def check_traced(f, args, expected):
    """Traces f, type-checks the IR, evaluates it, and compares with ``expected``."""
    closed = ft.make_ir(f)(*args)
    ir.typecheck(closed)
    out = ir.eval_ir(closed.ir, closed.consts, list(args))[0]
    assert closed.out_avals[0].shape == np.shape(expected)
    np.testing.assert_array_equal(np.asarray(out), expected)
    assert np.asarray(out).dtype == np.asarray(expected).dtype


# --- slice ------------------------------------------------------------------------------------

SLICE_CASES = [
    ((5,), (1,), (4,), None),
    ((5,), (0,), (5,), (2,)),
    ((5,), (2,), (2,), None),
    ((0,), (0,), (0,), None),
    ((3, 4), (1, 0), (3, 4), (1, 3)),
    ((3, 4, 2), (0, 1, 1), (2, 4, 2), (2, 2, 1)),
    ((), (), (), None),
    ((2, 0, 3), (1, 0, 1), (2, 0, 3), None),
]


@pytest.mark.parametrize("shape,start,limit,strides", SLICE_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.bool_])
def test_slice_matches_numpy(shape, start, limit, strides, dtype):
    x = _rand(np.random.default_rng(0), shape, dtype)
    expected = x[tuple(slice(a, b, s) for a, b, s in
                       zip(start, limit, strides or (1,) * len(shape)))]
    out = lax.slice(fnp.asarray(x), start, limit, strides)
    np.testing.assert_array_equal(np.asarray(out), expected)
    assert out.dtype == x.dtype
    check_traced(lambda x: lax.slice(x, start, limit, strides), [fnp.asarray(x)], expected)


def test_slice_keeps_weak_type_and_errors():
    out = sl.slice_p.bind(fnp.asarray(2.0), start_indices=(), limit_indices=(), strides=None)
    assert out.weak_type
    x = fnp.ones((3, 4))
    with pytest.raises(ValueError, match=r"slice: indices .* out of bounds for shape \(3, 4\)"):
        lax.slice(x, (0, 0), (4, 4))
    with pytest.raises(ValueError, match="one entry per dimension"):
        lax.slice(x, (0,), (1,))
    with pytest.raises(ValueError, match="strides"):
        lax.slice(x, (0, 0), (1, 1), (0, 1))
    with pytest.raises(ValueError, match="out of bounds"):
        lax.slice(x, (-1, 0), (1, 1))


def test_slice_in_dim_and_index_in_dim():
    x = np.arange(24).reshape(2, 3, 4)
    fx = fnp.asarray(x)
    np.testing.assert_array_equal(lax.slice_in_dim(fx, 1, None, 2, axis=2), x[:, :, 1::2])
    np.testing.assert_array_equal(lax.slice_in_dim(fx, -2, -1, axis=1), x[:, -2:-1])
    np.testing.assert_array_equal(lax.index_in_dim(fx, -1, axis=1), x[:, -1:])
    np.testing.assert_array_equal(lax.index_in_dim(fx, 1, axis=0, keepdims=False), x[1])
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        lax.index_in_dim(fx, 3, axis=1)


# --- dynamic_slice / dynamic_update_slice -------------------------------------------------------


def _np_dynamic_slice(x, starts, sizes):
    starts = [min(max(s + d if s < 0 else s, 0), d - n) for s, d, n in zip(starts, x.shape, sizes)]
    return x[tuple(slice(s, s + n) for s, n in zip(starts, sizes))], starts


DYN_CASES = [
    ((6,), (2,), (3,)),
    ((6,), (5,), (3,)),     # clamped to 3
    ((6,), (-1,), (2,)),    # wraps to 5, then clamped to 4
    ((6,), (-10,), (2,)),   # wraps to -4, clamped to 0
    ((6,), (100,), (0,)),
    ((3, 4), (1, 3), (2, 2)),
    ((3, 4), (-1, -2), (1, 4)),
    ((2, 3, 4), (1, 1, 1), (1, 2, 3)),
    ((), (), ()),
    ((0, 3), (0, 2), (0, 2)),
]


@pytest.mark.parametrize("shape,starts,sizes", DYN_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_])
def test_dynamic_slice_clamps(shape, starts, sizes, dtype):
    x = _rand(np.random.default_rng(1), shape, dtype)
    expected, _ = _np_dynamic_slice(x, starts, sizes)
    fx = fnp.asarray(x)
    np.testing.assert_array_equal(lax.dynamic_slice(fx, starts, sizes), expected)
    # Start indices as arrays, as traced arguments, and as one 1-d array.
    idx = [fnp.asarray(np.int32(s)) for s in starts]
    np.testing.assert_array_equal(lax.dynamic_slice(fx, idx, sizes), expected)
    check_traced(lambda x, *i: lax.dynamic_slice(x, i, sizes), [fx] + idx, expected)
    if shape:
        np.testing.assert_array_equal(
            lax.dynamic_slice(fx, fnp.asarray(np.array(starts, np.int32)), sizes), expected)


@pytest.mark.parametrize("shape,starts,sizes", DYN_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_dynamic_update_slice_clamps(shape, starts, sizes, dtype):
    rng = np.random.default_rng(2)
    x = _rand(rng, shape, dtype)
    upd = _rand(rng, sizes, dtype)
    _, clamped = _np_dynamic_slice(x, starts, sizes)
    expected = x.copy()
    expected[tuple(slice(s, s + n) for s, n in zip(clamped, sizes))] = upd
    fx, fu = fnp.asarray(x), fnp.asarray(upd)
    np.testing.assert_array_equal(lax.dynamic_update_slice(fx, fu, starts), expected)
    idx = [fnp.asarray(np.int32(s)) for s in starts]
    check_traced(lambda x, u, *i: lax.dynamic_update_slice(x, u, i), [fx, fu] + idx, expected)
    np.testing.assert_array_equal(x, np.asarray(fx))  # the operand is unchanged


def test_dynamic_in_dim_helpers():
    x = np.arange(12).reshape(3, 4)
    fx = fnp.asarray(x)
    np.testing.assert_array_equal(lax.dynamic_slice_in_dim(fx, fnp.array(3), 2, axis=1), x[:, 2:])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(fx, -1, axis=0, keepdims=False), x[2])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(fx, 1, axis=1), x[:, 1:2])
    expected = x.copy()
    expected[:, 1:3] = -1
    np.testing.assert_array_equal(
        lax.dynamic_update_slice_in_dim(fx, fnp.full((3, 2), -1), 1, axis=1), expected)
    expected = x.copy()
    expected[2] = 7
    np.testing.assert_array_equal(
        lax.dynamic_update_index_in_dim(fx, fnp.full((4,), 7), -1, axis=0), expected)


def test_dynamic_slice_errors():
    x = fnp.ones((3, 4))
    with pytest.raises(ValueError, match="got 1 start indices for an operand of shape"):
        lax.dynamic_slice(x, (0,), (1, 1))
    with pytest.raises(TypeError, match="start index must be signed integer or unsigned"):
        lax.dynamic_slice(x, (fnp.array(0.5), 0), (1, 1))
    with pytest.raises(ValueError, match="slice_sizes"):
        lax.dynamic_slice(x, (0, 0), (4, 1))
    with pytest.raises(ValueError, match="must be a scalar"):
        lax.dynamic_slice(x, (fnp.zeros(2, int), 0), (1, 1))
    with pytest.raises(TypeError, match="same dtype"):
        lax.dynamic_update_slice(x, fnp.ones((1, 1), int), (0, 0))
    with pytest.raises(ValueError, match="fit inside"):
        lax.dynamic_update_slice(x, fnp.ones((4, 1)), (0, 0))


# --- gather -----------------------------------------------------------------------------------


def _random_gather(rng):
    nd = int(rng.integers(0, 4))
    shape = tuple(int(s) for s in rng.integers(0, 5, nd))
    if rng.random() < 0.8:
        shape = tuple(max(s, 1) for s in shape)
    k = int(rng.integers(0, nd + 1))
    index_map = tuple(int(d) for d in rng.permutation(nd)[:k])
    collapsible = [d for d in range(nd) if shape[d] >= 1]
    collapsed = tuple(sorted(d for d in collapsible if rng.random() < 0.5))
    sizes = tuple(1 if d in collapsed else int(rng.integers(0, shape[d] + 1)) for d in range(nd))
    batch = tuple(int(s) for s in rng.integers(0, 4, int(rng.integers(0, 3))))
    hi = max(shape) + 2 if shape else 2
    indices = rng.integers(-2, hi, batch + (k,)).astype(np.int32)
    out_rank = len(batch) + nd - len(collapsed)
    offset = tuple(sorted(int(d) for d in rng.permutation(out_rank)[:nd - len(collapsed)]))
    dnums = gs.GatherDimensionNumbers(offset, collapsed, index_map)
    return shape, indices, dnums, sizes


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("mode", ["clip", "fill"])
def test_gather_matches_jax(seed, mode):
    rng = np.random.default_rng(seed)
    shape, indices, dnums, sizes = _random_gather(rng)
    x = rng.integers(-9, 9, shape).astype(np.float32)
    jdn = jlax.GatherDimensionNumbers(*dnums)
    expected = np.asarray(jlax.gather(x, indices, jdn, sizes, mode=mode))
    out = lax.gather(fnp.asarray(x), fnp.asarray(indices), dnums, sizes, mode=mode)
    np.testing.assert_array_equal(np.asarray(out), expected)
    check_traced(lambda x, i: lax.gather(x, i, dnums, sizes, mode=mode),
                 [fnp.asarray(x), fnp.asarray(indices)], expected)


@pytest.mark.parametrize("dtype,fill", [(np.float32, np.nan), (np.int32, np.iinfo(np.int32).min),
                                        (np.uint8, 255), (np.bool_, True),
                                        (np.complex64, np.nan)])
def test_gather_fill_defaults_and_values(dtype, fill):
    x = _rand(np.random.default_rng(3), (4, 2), dtype)
    dn = gs.GatherDimensionNumbers((1,), (0,), (0,))
    idx = fnp.array([[1], [4], [-1]])
    out = np.asarray(lax.gather(fnp.asarray(x), idx, dn, (1, 2), mode="fill"))
    np.testing.assert_array_equal(out[0], x[1])
    np.testing.assert_array_equal(out[1:], np.full((2, 2), fill, dtype))
    out = np.asarray(lax.gather(fnp.asarray(x), idx, dn, (1, 2), mode="fill", fill_value=0))
    np.testing.assert_array_equal(out[1:], np.zeros((2, 2), dtype))
    out = np.asarray(lax.gather(fnp.asarray(x), idx, dn, (1, 2)))  # clip
    np.testing.assert_array_equal(out, x[[1, 3, 0]])


def test_gather_whole_window_out_of_bounds_is_filled():
    # A window of 2 starting at 3 of 4 does not fit: all of it is filled (XLA semantics).
    x = fnp.arange(4.0)
    dn = gs.GatherDimensionNumbers((1,), (), (0,))
    out = lax.gather(x, fnp.array([[3], [2]]), dn, (2,), mode="fill")
    np.testing.assert_array_equal(np.asarray(out), [[np.nan, np.nan], [2, 3]])
    out = lax.gather(x, fnp.array([[3], [2]]), dn, (2,))
    np.testing.assert_array_equal(np.asarray(out), [[2, 3], [2, 3]])


def test_gather_errors():
    x = fnp.ones((3, 4))
    dn = gs.GatherDimensionNumbers((1,), (0,), (0,))
    with pytest.raises(TypeError, match="gather: indices must be signed integer"):
        lax.gather(x, fnp.ones((2, 1)), dn, (1, 4))
    with pytest.raises(ValueError, match="one operand dimension per entry"):
        lax.gather(x, fnp.zeros((2, 2), int), dn, (1, 4))
    with pytest.raises(ValueError, match="collapsed_slice_dims .* slice size 1"):
        lax.gather(x, fnp.zeros((2, 1), int), dn, (2, 4))
    with pytest.raises(ValueError, match="slice_sizes"):
        lax.gather(x, fnp.zeros((2, 1), int), dn, (1, 5))
    with pytest.raises(ValueError, match="offset_dims"):
        lax.gather(x, fnp.zeros((2, 1), int), gs.GatherDimensionNumbers((2,), (0,), (0,)), (1, 4))
    with pytest.raises(ValueError, match="account for each"):
        lax.gather(x, fnp.zeros((2, 1), int), gs.GatherDimensionNumbers((1,), (), (0,)), (1, 4))
    with pytest.raises(ValueError, match="at least one dimension"):
        lax.gather(x, fnp.array(0), dn, (1, 4))
    with pytest.raises(ValueError, match="mode"):
        lax.gather(x, fnp.zeros((2, 1), int), dn, (1, 4), mode="bogus")
    with pytest.raises(TypeError, match="GatherDimensionNumbers"):
        lax.gather(x, fnp.zeros((2, 1), int), ((1,), 0, (0,)), (1, 4))


def test_gather_params_are_hashable():
    closed = ft.make_ir(lambda x, i: lax.gather(x, i, ((1,), (0,), (0,)), [1, 4]))(
        fnp.ones((3, 4)), fnp.zeros((2, 1), int))
    (eqn,) = closed.eqns
    hash(tuple(sorted(eqn.params.items())))
    assert isinstance(eqn.params["dimension_numbers"], gs.GatherDimensionNumbers)
    assert eqn.params["slice_sizes"] == (1, 4)


# --- scatter ----------------------------------------------------------------------------------

_SCATTERS = {"set": (lax.scatter, jlax.scatter), "add": (lax.scatter_add, jlax.scatter_add),
             "mul": (lax.scatter_mul, jlax.scatter_mul), "min": (lax.scatter_min, jlax.scatter_min),
             "max": (lax.scatter_max, jlax.scatter_max)}


def _random_scatter(rng, unique):
    """A random valid scatter; with ``unique``, windows never overlap (for plain scatter)."""
    nd = int(rng.integers(1, 4))
    shape = tuple(int(s) for s in rng.integers(1, 5, nd))
    # k >= 1: XLA on CPU combines duplicates wrongly for empty index vectors (k = 0);
    # test_scatter_scalar_operand_and_empty_updates covers that case.
    k = int(rng.integers(1, nd + 1))
    index_map = tuple(int(d) for d in rng.permutation(nd)[:k])
    inserted = tuple(sorted(d for d in range(nd) if rng.random() < 0.5))
    window = [1 if d in inserted else int(rng.integers(0, shape[d] + 1)) for d in range(nd)]
    batch = tuple(int(s) for s in rng.integers(0, 4, int(rng.integers(0, 3))))
    if unique:
        window = [1 if d in index_map else w for d, w in enumerate(window)]
        n = int(np.prod(batch))
        space = [shape[d] for d in index_map]
        if n > int(np.prod(space)):
            batch, n = (), 1
        flat = rng.permutation(int(np.prod(space)))[:n]
        indices = np.stack(np.unravel_index(flat, space), -1).reshape(batch + (k,))
    else:
        hi = max(shape) + 2
        indices = rng.integers(-2, hi, batch + (k,))
    window_dims_count = nd - len(inserted)
    upd_rank = len(batch) + window_dims_count
    uwd = tuple(sorted(int(d) for d in rng.permutation(upd_rank)[:window_dims_count]))
    sizes = iter(w for d, w in enumerate(window) if d not in inserted)
    batch_it = iter(batch)
    upd_shape = tuple(next(sizes) if d in uwd else next(batch_it) for d in range(upd_rank))
    dnums = gs.ScatterDimensionNumbers(uwd, inserted, index_map)
    return shape, indices.astype(np.int32), upd_shape, dnums


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("how", list(_SCATTERS))
@pytest.mark.parametrize("mode", ["drop", "clip"])
def test_scatter_matches_jax(seed, how, mode):
    rng = np.random.default_rng(seed)
    shape, indices, upd_shape, dnums = _random_scatter(rng, unique=(how == "set"))
    x = rng.integers(-4, 5, shape).astype(np.float32)
    upd = rng.integers(-2, 3, upd_shape).astype(np.float32)
    ours, theirs = _SCATTERS[how]
    jmode = "fill" if mode == "drop" else "clip"
    if how == "set" and mode == "clip":
        indices = np.clip(indices, 0, None)  # in bounds already: nothing to clamp onto
    expected = np.asarray(theirs(x, indices, upd, jlax.ScatterDimensionNumbers(*dnums),
                                 mode=jmode))
    out = ours(fnp.asarray(x), fnp.asarray(indices), fnp.asarray(upd), dnums, mode=mode)
    np.testing.assert_array_equal(np.asarray(out), expected)
    check_traced(lambda x, i, u: ours(x, i, u, dnums, mode=mode),
                 [fnp.asarray(x), fnp.asarray(indices), fnp.asarray(upd)], expected)


@pytest.mark.parametrize("how,ufunc", [("add", np.add), ("mul", np.multiply),
                                       ("min", np.minimum), ("max", np.maximum)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.bool_, np.complex64])
def test_scatter_duplicates_accumulate_like_ufunc_at(how, ufunc, dtype):
    if dtype == np.complex64 and how in ("min", "max"):
        pytest.skip("complex order is not defined")
    rng = np.random.default_rng(4)
    x = _rand(rng, (5, 3), dtype)
    idx = np.array([0, 2, 2, 4, 0, 2, 7, -1])
    upd = _rand(rng, (8, 3), dtype)
    expected = x.copy()
    keep = (idx >= 0) & (idx < 5)
    ufunc.at(expected, idx[keep], upd[keep])
    dn = gs.ScatterDimensionNumbers((1,), (0,), (0,))
    out = _SCATTERS[how][0](fnp.asarray(x), fnp.asarray(idx[:, None]), fnp.asarray(upd), dn)
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_scatter_set_last_duplicate_wins_eagerly_and_operand_is_unchanged():
    x = fnp.zeros(3)
    out = lax.scatter(x, fnp.array([[1], [1], [1]]), fnp.array([1.0, 2.0, 3.0]),
                      gs.ScatterDimensionNumbers((), (0,), (0,)))
    assert out.tolist() == [0.0, 3.0, 0.0] and x.tolist() == [0.0, 0.0, 0.0]


def test_scatter_scalar_operand_and_empty_updates():
    dn = gs.ScatterDimensionNumbers((), (), ())
    out = lax.scatter_add(fnp.asarray(np.float32(1)), fnp.zeros((3, 0), int),
                          fnp.array([1.0, 2.0, 3.0], fnp.float32), dn)
    assert out.tolist() == 7.0
    dn = gs.ScatterDimensionNumbers((), (0,), (0,))
    out = lax.scatter_add(fnp.ones(3), fnp.zeros((0, 1), int), fnp.zeros(0), dn)
    assert out.tolist() == [1.0, 1.0, 1.0]


def test_scatter_errors():
    x = fnp.ones((3, 4))
    dn = gs.ScatterDimensionNumbers((1,), (0,), (0,))
    i = fnp.zeros((2, 1), int)
    with pytest.raises(TypeError, match="scatter_add requires arguments of the same dtype"):
        lax.scatter_add(x, i, fnp.ones((2, 4), int), dn)
    with pytest.raises(ValueError, match=r"non-window dims \(3,\)"):
        lax.scatter(x, i, fnp.ones((3, 4)), dn)
    with pytest.raises(ValueError, match="do not fit"):
        lax.scatter(x, i, fnp.ones((2, 5)), dn)
    with pytest.raises(TypeError, match="indices must be"):
        lax.scatter(x, fnp.zeros((2, 1)), fnp.ones((2, 4)), dn)
    with pytest.raises(ValueError, match="update_window_dims"):
        lax.scatter(x, i, fnp.ones((2, 4)), gs.ScatterDimensionNumbers((2,), (0,), (0,)))
    with pytest.raises(ValueError, match="mode"):
        lax.scatter(x, i, fnp.ones((2, 4)), dn, mode="bogus")


def test_every_slicing_primitive_has_impl_and_abstract_eval():
    prims = [sl.slice_p, dsl.dynamic_slice_p, dsl.dynamic_update_slice_p, gs.gather_p,
             *scatter_combine.SCATTER_PRIMITIVES.values()]
    for p in prims:
        assert p.impl is not None and p.abstract_eval is not None, p
