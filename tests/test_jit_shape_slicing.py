"""jit of the shape and slicing primitives against eager mode (which is tested
against numpy): same values, dtypes and shapes, bit for bit.

Many checks share one jitted function (a compile costs ~40 ms). Indices cover
XLA's corner cases: out-of-bounds starts (clamped by dynamic_slice and gather
"clip", filled by gather "fill", dropped or clamped by the scatters),
negative, unsigned and narrow index types, mixed start-index types, empty
index vectors, duplicates (accumulated by scatter_add/mul/min/max), NaN in
scatter_min/max. A plain scatter with duplicate indices applies its updates
in an order XLA leaves unspecified, so it is only checked with unique indices.
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from functrans.jit import jit
from test_vmap_shape import assert_same, rand

GD = lax.GatherDimensionNumbers
SD = lax.ScatterDimensionNumbers


def check_jit(f, *args):
    args = [fnp.asarray(a) for a in args]
    assert_same(jit(f)(*args), f(*args))


# --- shape primitives ----------------------------------------------------------------------------


def shape_ops(x, v):
    """Every shape primitive on x (3, 4) and the scalar v, and numpy functions on them."""
    return (
        lax.broadcast_in_dim(x[:1], (2, 3, 4), (1, 2)),
        lax.broadcast_in_dim(v, (2, 3), ()),
        lax.reshape(x, (2, 6)), lax.reshape(x[:1, :1], ()),
        lax.squeeze(lax.reshape(x, (3, 1, 4, 1)), (1, 3)),
        lax.expand_dims(x, (0, 3)),
        lax.transpose(lax.reshape(x, (2, 3, 2)), (2, 0, 1)),
        lax.rev(x, (0,)), lax.rev(x, (0, 1)),
        lax.concatenate([x, x[:, :1], x[:, 2:]], 1), lax.concatenate([x[:0], x], 0),
        lax.pad(x, v, ((1, 2, 0), (0, 0, 0))),
        lax.pad(x, v, ((1, -1, 1), (-2, 3, 2))),
        lax.pad(x, v, ((-1, -2, 0), (-3, 0, 1))),
        lax.pad(x, v, ((0, 0, 3), (-2, -2, 0))),
        fnp.reshape(x, (-1,)), fnp.moveaxis(x[None], 0, -1), fnp.stack([x, x], 1),
        fnp.split(x, [1, 3], axis=1), fnp.tile(x, (2, 1)), fnp.repeat(x, 2, axis=0),
        fnp.flip(x), fnp.rot90(x, 3), fnp.roll(x, 5), fnp.roll(x, (1, -1), (0, 1)),
        fnp.pad(x, ((1, 2), (0, 1)), constant_values=((1, 2), (3, 4))),
        fnp.pad(x, 2, mode="edge"), fnp.pad(x, ((1, 2), (2, 3)), mode="reflect"),
        fnp.pad(x, 1, mode="wrap"), fnp.pad(x, ((2, 1), (1, 1)), mode="symmetric"),
        fnp.hstack([x, x]), fnp.vstack([x, x]), fnp.dstack([x, x]),
    )


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "uint8", "int8"])
def test_jit_shape_ops(dtype, rng):
    check_jit(shape_ops, rand(rng, (3, 4), dtype), rand(rng, (), dtype))


@pytest.mark.parametrize("dtype", ["float64", "int64", "complex128", "uint32"])
def test_jit_shape_ops_x64(dtype, rng, x64):
    x = rand(rng, (3, 4), "float64").astype(dtype)
    check_jit(shape_ops, x, rand(rng, (), "float64").astype(dtype))


def _iotas(x):
    out = []
    for dtype in ("int32", "float32", "uint8", "int16", "complex64"):
        out += [lax.broadcasted_iota(dtype, (2, 3, 4), d) for d in range(3)]
    out += [lax.broadcasted_iota("bool", (2, 1, 2), d) for d in range(3)]
    return out + [lax.iota("int32", 5), fnp.arange(3, 11, 2), fnp.eye(3, 4, k=1)]


def test_jit_iota_every_dimension_and_dtype():
    check_jit(_iotas, np.zeros(()))


def test_jit_iota_x64(x64):
    check_jit(lambda x: [lax.broadcasted_iota(d, (3, 2), k) for d in ("int64", "float64",
                                                                       "uint64")
                         for k in (0, 1)], np.zeros(()))


# --- slicing primitives ----------------------------------------------------------------------------


def slicing_ops(x, i8, u32, i32, idx, idx_u8, idx_i8, idx_2d, rows):
    """x (5, 6); scalar starts of several integer types; gather/scatter indices
    with out-of-bounds entries; ``rows`` holds unique in-bounds row indices."""
    u = x[:4, :2]
    out = [
        lax.slice(x, (1, 0), (5, 6), (2, 3)), lax.slice_in_dim(x, -3, None, axis=1),
        lax.dynamic_slice(x, (i32, i32), (2, 3)),
        lax.dynamic_slice(x, (i8, u32), (2, 3)), lax.dynamic_slice(x, (u32, i8), (4, 1)),
        lax.dynamic_slice(x, (i32, 2), (5, 3)), lax.dynamic_slice(x, (u32, u32), (1, 2)),
        lax.dynamic_update_slice(x, u, (i32, i32)),
        lax.dynamic_update_slice(x, u, (u32, i8)),
        lax.dynamic_update_slice(x, u, (i8, 100)),
        lax.dynamic_index_in_dim(x, i32, 1, False),
    ]
    for ix in (idx, idx_u8, idx_i8):
        for mode in ("clip", "fill"):
            out.append(lax.gather(x, ix, GD((1,), (0,), (0,)), (1, 6), mode=mode))
            out.append(lax.gather(x, ix, GD((1,), (0,), (0,)), (1, 3), mode=mode))
            out.append(lax.gather(x, ix, GD((0,), (1,), (1,)), (4, 1), mode=mode,
                                  fill_value=2))
    for mode in ("clip", "fill"):
        out.append(lax.gather(x, idx_2d, GD((1, 2), (), (0, 1)), (2, 3), mode=mode))
        out.append(lax.gather(x, idx_2d, GD((1,), (0,), (0, 1)), (1, 2), mode=mode))
    empty = fnp.zeros((3, 0), "int32")
    out.append(lax.gather(x, empty, GD((1, 2), (), ()), (2, 3), mode="fill"))
    # one scatter of each kind here; the whole family in test_jit_scatter_family
    out.append(lax.scatter_add(x, idx[:4], u, SD((1,), (0,), (0,))))
    out.append(lax.scatter_max(x, idx_2d, x[0, :5], SD((), (0, 1), (0, 1)), mode="clip"))
    out.append(lax.scatter(x, rows, u[:3], SD((1,), (0,), (0,))))
    return out


def _index_args(rng):
    idx = np.array([[0], [4], [0], [7], [-1], [2]], np.int32)  # a duplicate in the first 4
    return dict(
        i8=np.int8(-3), u32=np.uint32(4000000000), i32=np.int32(4),
        idx=idx, idx_u8=np.array([[3], [250], [3], [5], [6], [1]], np.uint8),
        idx_i8=np.array([[-128], [4], [127], [-1], [2], [1]], np.int8),
        idx_2d=np.array([[0, 0], [3, 4], [4, 5], [-1, 2], [2, 9]], np.int32),
        rows=np.array([[3], [0], [9]], np.int32))


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "uint8"])
def test_jit_slicing_ops(dtype, rng):
    x = rand(rng, (5, 6), dtype)
    check_jit(slicing_ops, x, *_index_args(rng).values())


@pytest.mark.parametrize("dtype", ["float64", "int64", "complex64"])
def test_jit_slicing_ops_x64(dtype, rng, x64):
    x = rand(rng, (5, 6), "float64").astype(dtype)
    args = _index_args(rng)
    args["idx"] = args["idx"].astype(np.int64)
    args["idx_u8"] = args["idx_u8"].astype(np.uint64)
    check_jit(slicing_ops, x, *args.values())


def scatter_family(x, idx, idx_u8, idx_2d, rows):
    """Every scatter in modes "drop" and "clip", with out-of-bounds and duplicate
    indices (unique ones for the plain scatter), and empty index vectors."""
    u = x[:4, :2]
    empty = fnp.zeros((3, 0), "int32")
    out = []
    for prim in (lax.scatter_add, lax.scatter_mul, lax.scatter_min, lax.scatter_max):
        for mode in ("drop", "clip"):
            out.append(prim(x, idx[:4], u, SD((1,), (0,), (0,)), mode=mode))
        out.append(prim(x, idx_u8[:4], u, SD((1,), (0,), (0,))))
        out.append(prim(x, idx_2d, x[0, :5], SD((), (0, 1), (0, 1)), mode="clip"))
        out.append(prim(x, empty, fnp.ones((3, 5, 6), x.dtype), SD((1, 2), (), ())))
        out.append(prim(x[0, 0], empty, x[:3, 0], SD((), (), ())))
    for mode in ("drop", "clip"):
        out.append(lax.scatter(x, rows, u[:3], SD((1,), (0,), (0,)), mode=mode))
    out.append(lax.scatter(x, empty[:1], x[None, 1:3, :2], SD((1, 2), (), ())))
    return out


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_jit_scatter_family(dtype, rng):
    args = _index_args(rng)
    check_jit(scatter_family, rand(rng, (5, 6), dtype), args["idx"], args["idx_u8"],
              args["idx_2d"], args["rows"])


def test_jit_scatter_min_max_nan_and_duplicates():
    x = np.array([1.0, np.nan, 3.0, 4.0, -2.0], np.float32)
    idx = np.array([[0], [0], [1], [1], [3], [2], [2], [6], [-1]], np.int32)
    u = np.array([np.nan, 0.0, 5.0, 2.0, -1.0, 7.0, 1.0, 9.0, 9.0], np.float32)

    def f(x, idx, u):
        dn = SD((), (0,), (0,))
        return [p(x, idx, u, dn, mode=m) for p in (lax.scatter_min, lax.scatter_max,
                                                   lax.scatter_add, lax.scatter_mul)
                for m in ("drop", "clip")]
    check_jit(f, x, idx, u)
    # complex: numpy orders lexicographically (real, then imaginary) and keeps NaNs
    nan = np.nan
    x = np.array([1 + 2j, complex(nan, 0), 3, 0, complex(0, nan)], np.complex64)
    idx = np.array([[0], [0], [1], [2], [3], [3], [4], [4], [2]], np.int32)
    u = np.array([1 + 1j, complex(1, nan), 1 - 2j, 3 - 1j, complex(nan, 1), complex(0, nan), 5,
                  -5, 3 + 1j], np.complex64)
    check_jit(lambda x, idx, u: f(x, idx, u)[:4], x, idx, u)


def test_jit_indexing_and_updates(rng):
    x = rand(rng, (4, 5), "float32")
    i = np.array([3, -1, 0, 7, -9], np.int32)
    j = np.array([1, 2, -5], np.int32)
    rows = np.array([2, 0, -1], np.int32)      # unique, in bounds

    def f(x, i, j, rows, s):
        u = x[:3] * 2.0
        return [x[i], x[:, i], x[j, j], x[j, 1:4], x[np.array([True, False, True, False])],
                x[1:, ::2], x[..., None, -1], x[s], x[s, s], x[s, 1:],
                x.at[rows].set(u), x.at[i].add(1.0), x.at[i, 0].multiply(3.0),
                x.at[i].min(0.0), x.at[:, i].max(0.5), x.at[1:3, ::2].set(-1.0),
                x.at[s].set(9.0), x.at[i].get(mode="fill", fill_value=-1.0),
                x.at[i].add(1.0, mode="clip"),
                fnp.take(x, i, axis=1, mode="clip"), fnp.take(x, j, axis=0, mode="wrap"),
                fnp.take(x, i, mode="fill", fill_value=7.0),
                fnp.take_along_axis(x, np.array([[0, 4], [1, 1], [2, 0], [3, 3]]), axis=1),
                fnp.diagonal(x, 1), lax.dynamic_slice_in_dim(x, s, 2, axis=1),
                lax.dynamic_update_index_in_dim(x, x[0], s, 0)]
    check_jit(f, x, i, j, rows, np.int32(-2))


# --- jit of vmap: the batched forms lower too ----------------------------------------------------


def test_jit_of_vmap(rng):
    x = rand(rng, (3, 5, 4), "float32")
    idx = np.array([[[0], [4], [9]], [[-1], [2], [2]], [[1], [1], [3]]], np.int8)
    starts = np.array([-1, 2, 7], np.int32)
    u = rand(rng, (3, 3, 4), "float32")

    def f(x, idx, starts, u):
        g = lambda x, i: lax.gather(x, i, GD((1,), (0,), (0,)), (1, 4), mode="fill")
        s = lambda x, i, u: lax.scatter_add(x, i, u, SD((1,), (0,), (0,)))
        ds = lambda x, k: lax.dynamic_slice(x, (k, k), (2, 3))
        dus = lambda x, k, u: lax.dynamic_update_slice(x, u[:2], (k, 1))
        return [ft.vmap(g)(x, idx), ft.vmap(g, (None, 0))(x[0], idx),
                ft.vmap(g, (0, None))(x, idx[0]), ft.vmap(s)(x, idx, u),
                ft.vmap(s, (None, 0, 0))(x[0], idx, u), ft.vmap(ds)(x, starts),
                ft.vmap(ds, (None, 0))(x[0], starts), ft.vmap(dus)(x, starts, u),
                ft.vmap(dus, (0, 0, None))(x, starts, u[0]),
                ft.vmap(lambda x, v: lax.pad(x, v, ((1, -1, 1), (0, 2, 0))))(x, u[:, 0, 0]),
                ft.vmap(lambda x: fnp.roll(fnp.transpose(x), 2, 1), 2)(x)]
    check_jit(f, x, idx, starts, u)


def test_jit_narrow_index_types_into_long_axis():
    # int8/uint8 starts and indices into an axis longer than their range: the
    # clamping bounds (298, 299) do not fit the index type.
    def f(x, s, i, u8):
        dn = GD((), (0,), (0,))
        return [lax.dynamic_slice(x, (s,), (2,)), lax.dynamic_update_slice(x, x[:2], (s,)),
                lax.gather(x, i, dn, (1,)), lax.gather(x, i, dn, (1,), mode="fill"),
                lax.scatter_add(x, i, x[:3], SD((), (0,), (0,)), mode="clip"),
                lax.scatter_add(x, i, x[:3], SD((), (0,), (0,))),
                lax.dynamic_slice(x, (u8,), (2,)),
                lax.gather(x, fnp.reshape(u8, (1, 1)), dn, (1,), mode="fill")]
    check_jit(f, np.arange(300.0, dtype=np.float32), np.int8(127),
              np.array([[127], [-128], [5]], np.int8), np.uint8(255))


def test_eager_uint64_indices_match_int64(x64):
    # eager gather/scatter with uint64 indices (their offsets once became floats)
    x = fnp.arange(12.0).reshape(3, 4)
    i = np.array([[2], [0], [5]])
    dn = GD((1,), (0,), (0,))
    for idx in (i.astype(np.uint64), i.astype(np.uint32)):
        assert_same(lax.gather(x, idx, dn, (1, 4)), lax.gather(x, i, dn, (1, 4)))
        assert_same(lax.scatter_add(x, idx, x, SD((1,), (0,), (0,))),
                    lax.scatter_add(x, i, x, SD((1,), (0,), (0,))))
