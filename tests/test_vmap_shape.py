"""vmap of the shape primitives (broadcast_in_dim, reshape, squeeze, transpose, rev,
concatenate, pad, iota) and the functrans.numpy functions built on them.

Every case is checked against a Python loop over the examples whose results
are stacked, with the batch axis first, in the middle and last, with some
arguments unmapped, and under a nested vmap; float32/int32/bool, and
float64/int64 in x64 mode. Then grad of vmap and vmap of grad.
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from functrans.tree_util import tree_leaves

B = 3   # the batch size
B2 = 2  # the inner batch size of nested vmaps


def rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        lo = 0 if np.issubdtype(dtype, np.unsignedinteger) else -5
        return rng.integers(lo, 10, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def insert_axis(shape, ax, size):
    shape = list(shape)
    shape.insert(len(shape) + 1 + ax if ax < 0 else ax, size)
    return tuple(shape)


def assert_same(got, want):
    got, want = tree_leaves(got), tree_leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
        np.testing.assert_array_equal(g, w)


def check_vmap(f, args, in_axes):
    """vmap(f)(*args) equals f applied to each example, stacked along axis 0."""
    got = ft.vmap(f, in_axes=in_axes)(*[fnp.asarray(a) for a in args])
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = [f(*[fnp.asarray(a if ax is None else np.take(a, b, axis=ax))
                for a, ax in zip(args, in_axes)]) for b in range(size)]
    leaves = [tree_leaves(o) for o in outs]
    want = [np.stack([np.asarray(ls[k]) for ls in leaves]) for k in range(len(leaves[0]))]
    assert_same(got, want)


def axes_variants(ranks):
    """in_axes to try for examples of these ranks: first, middle, last, some None."""
    variants = [tuple(0 for _ in ranks), tuple((r + 1) // 2 for r in ranks),
                tuple(-1 for _ in ranks)]
    if len(ranks) > 1:
        variants.append((0,) + (None,) * (len(ranks) - 1))
        variants.append((None,) + (-1,) * (len(ranks) - 1))
    return variants


def run_case(rng, f, shapes, dtypes):
    ranks = [len(s) for s in shapes]
    for in_axes in axes_variants(ranks):
        args = [rand(rng, s if ax is None else insert_axis(s, ax, B), dt)
                for s, ax, dt in zip(shapes, in_axes, dtypes)]
        check_vmap(f, args, in_axes)
    # nested: the inner vmap maps axis 0 of every argument, the outer one the last axis
    inner_axes = tuple(0 for _ in shapes)
    args = [rand(rng, insert_axis((B2,) + tuple(s), -1, B), dt) for s, dt in zip(shapes, dtypes)]
    check_vmap(ft.vmap(f, in_axes=inner_axes), args, tuple(-1 for _ in shapes))


# (id, function, example shapes); every argument has the test's dtype
CASES = [
    ("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 4, 3), (0, 2)), [(2, 1)]),
    ("broadcast_in_dim_new_dims", lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (1,)), [(3,)]),
    ("broadcast_in_dim_scalar", lambda x: lax.broadcast_in_dim(x, (2, 3), ()), [()]),
    ("broadcast", lambda x: lax.broadcast(x, (2,)), [(3, 4)]),
    ("reshape", lambda x: lax.reshape(x, (6, 4)), [(2, 3, 4)]),
    ("reshape_to_scalar", lambda x: lax.reshape(x, ()), [(1, 1)]),
    ("squeeze", lambda x: lax.squeeze(x, (1, 3)), [(2, 1, 3, 1)]),
    ("squeeze_first", lambda x: lax.squeeze(x, (0,)), [(1, 3)]),
    ("expand_dims", lambda x: lax.expand_dims(x, (0, 2)), [(2, 3)]),
    ("transpose", lambda x: lax.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
    ("transpose_2d", lambda x: lax.transpose(x, (1, 0)), [(2, 3)]),
    ("rev", lambda x: lax.rev(x, (0, 2)), [(2, 3, 4)]),
    ("concatenate", lambda x, y, z: lax.concatenate([x, y, z], 1), [(2, 3), (2, 1), (2, 2)]),
    ("concatenate_0", lambda x, y: lax.concatenate([x, y], 0), [(2,), (3,)]),
    ("pad", lambda x, v: lax.pad(x, v, ((1, -1, 1), (-2, 3, 2))), [(3, 4), ()]),
    ("pad_crop", lambda x, v: lax.pad(x, v, ((-1, -1, 0), (0, 2, 0))), [(3, 4), ()]),
    ("pad_1d", lambda x, v: lax.pad(x, v, ((2, 1, 3),)), [(3,), ()]),
    ("iota_unmapped", lambda x: lax.concatenate(
        [x, lax.broadcasted_iota(x.dtype, (2, 2), 1)], 0), [(3, 2)]),
    # functrans.numpy
    ("fnp.reshape", lambda x: fnp.reshape(x, (-1, 2)), [(2, 3, 2)]),
    ("fnp.ravel", lambda x: fnp.ravel(x), [(2, 3)]),
    ("fnp.transpose", lambda x: fnp.transpose(x), [(2, 3, 4)]),
    ("fnp.moveaxis", lambda x: fnp.moveaxis(x, 0, -1), [(2, 3, 4)]),
    ("fnp.swapaxes", lambda x: fnp.swapaxes(x, 0, 1), [(2, 3)]),
    ("fnp.squeeze", lambda x: fnp.squeeze(x), [(1, 3, 1)]),
    ("fnp.expand_dims", lambda x: fnp.expand_dims(x, -1), [(2, 3)]),
    ("fnp.atleast_3d", lambda x: fnp.atleast_3d(x), [(3,)]),
    ("fnp.broadcast_to", lambda x: fnp.broadcast_to(x, (4, 2, 3)), [(2, 1)]),
    ("fnp.concatenate", lambda x, y: fnp.concatenate([x, y], axis=-1), [(2, 3), (2, 2)]),
    ("fnp.stack", lambda x, y: fnp.stack([x, y], axis=1), [(2, 3), (2, 3)]),
    ("fnp.hstack", lambda x, y: fnp.hstack([x, y]), [(3,), (2,)]),
    ("fnp.vstack", lambda x, y: fnp.vstack([x, y]), [(3,), (3,)]),
    ("fnp.dstack", lambda x, y: fnp.dstack([x, y]), [(2, 3), (2, 3)]),
    ("fnp.column_stack", lambda x, y: fnp.column_stack([x, y]), [(3,), (3, 2)]),
    ("fnp.append", lambda x, y: fnp.append(x, y, axis=0), [(2, 3), (1, 3)]),
    ("fnp.split", lambda x: fnp.split(x, [1, 3], axis=1), [(2, 5)]),
    ("fnp.array_split", lambda x: fnp.array_split(x, 3), [(5,)]),
    ("fnp.tile", lambda x: fnp.tile(x, (2, 1, 2)), [(2, 3)]),
    ("fnp.repeat", lambda x: fnp.repeat(x, 2, axis=1), [(2, 3)]),
    ("fnp.flip", lambda x: fnp.flip(x), [(2, 3)]),
    ("fnp.rot90", lambda x: fnp.rot90(x), [(2, 3)]),
    ("fnp.roll", lambda x: fnp.roll(x, 2, axis=1), [(2, 5)]),
    ("fnp.roll_flat", lambda x: fnp.roll(x, -1), [(2, 3)]),
    ("fnp.pad_constant", lambda x: fnp.pad(x, ((1, 2), (0, 1))), [(2, 3)]),
    ("fnp.pad_edge", lambda x: fnp.pad(x, 2, mode="edge"), [(2, 3)]),
    ("fnp.pad_reflect", lambda x: fnp.pad(x, ((1, 1), (2, 0)), mode="reflect"), [(3, 3)]),
    ("fnp.pad_wrap", lambda x: fnp.pad(x, 1, mode="wrap"), [(2, 3)]),
]

DTYPES = ["float32", "int32", "bool"]
DTYPES_X64 = ["float64", "int64"]


@pytest.mark.parametrize("name,f,shapes", CASES, ids=[c[0] for c in CASES])
def test_vmap_shape(name, f, shapes, rng):
    for dtype in DTYPES:
        run_case(rng, f, shapes, [dtype] * len(shapes))


@pytest.mark.parametrize("name,f,shapes", CASES[:18], ids=[c[0] for c in CASES[:18]])
def test_vmap_shape_x64(name, f, shapes, rng, x64):
    for dtype in DTYPES_X64:
        run_case(rng, f, shapes, [dtype] * len(shapes))


def test_vmap_fnp_triangles(rng):
    for f in (fnp.tril, fnp.triu, lambda x: fnp.tril(x, -1)):
        run_case(rng, f, [(3, 4)], ["float32"])


def test_vmap_pad_mapped_padding_value_only(rng):
    # only the padding value is mapped: the operand is broadcast
    f = lambda x, v: lax.pad(x, v, ((1, 2, 1),))
    x, v = rand(rng, (3,), "float32"), rand(rng, (B,), "float32")
    check_vmap(f, [x, v], (None, 0))


def test_vmap_out_axes_moves_batch_axis(rng):
    x = rand(rng, (B, 2, 3), "float32")
    got = ft.vmap(lambda x: lax.transpose(x, (1, 0)), out_axes=1)(fnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(got), np.transpose(x, (2, 0, 1)))


# --- grad of vmap, vmap of grad ----------------------------------------------------------------

GRAD_CASES = [
    ("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 4, 3), (0, 2)), (2, 1)),
    ("reshape_transpose", lambda x: lax.transpose(lax.reshape(x, (3, 2)), (1, 0)), (2, 3)),
    ("squeeze_rev", lambda x: lax.rev(lax.squeeze(x, (1,)), (0,)), (3, 1, 2)),
    ("concatenate", lambda x: lax.concatenate([x, 2.0 * x, x[:1]], 0), (2, 3)),
    ("pad", lambda x: lax.pad(x, 0.5, ((1, -1, 1), (0, 2, 0))), (3, 2)),
    ("fnp.roll_tile", lambda x: fnp.tile(fnp.roll(x, 1, axis=0), (2, 1)), (3, 2)),
]


@pytest.mark.parametrize("name,g,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grad_of_vmap_and_vmap_of_grad(name, g, shape, rng):
    xs = rand(rng, (B,) + shape, "float32")
    w = rand(rng, np.shape(g(fnp.ones(shape, "float32"))), "float32")

    def loss(x):
        return fnp.sum(g(x) * w)

    per_example = [np.asarray(ft.grad(loss)(fnp.asarray(x))) for x in xs]
    got = ft.vmap(ft.grad(loss))(fnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(got), np.stack(per_example), rtol=1e-6)
    got = ft.grad(lambda xs: fnp.sum(ft.vmap(loss)(xs)))(fnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(got), np.stack(per_example), rtol=1e-6)
