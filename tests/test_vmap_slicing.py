"""vmap of the slicing primitives (slice, dynamic_slice, dynamic_update_slice, gather,
the scatters) and of indexing, ``.at[]`` updates, take and take_along_axis.

Each case runs against a Python loop over the examples (results stacked), with
the batch axis first, in the middle and last, with the operand or the indices
unmapped, and under a nested vmap. Indices include out-of-bounds and negative
values (clamped, filled or dropped as each mode says) and duplicates.
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from test_vmap_shape import B, axes_variants, check_vmap, insert_axis, rand

GD = lax.GatherDimensionNumbers
SD = lax.ScatterDimensionNumbers


def ints(lo, hi, dtype="int32"):
    """An index argument kind: integers of ``dtype`` in [lo, hi)."""
    return lambda rng, shape: rng.integers(lo, hi, shape).astype(dtype)


def choice(values, dtype):
    """An index argument kind: draws from ``values``."""
    return lambda rng, shape: rng.choice(np.array(values, dtype), shape)


X = "x"  # an argument of the test's dtype


def run(rng, f, specs, dtype):
    """run_case with index arguments drawn by their generators."""
    shapes = [s for s, _ in specs]
    kinds = [k for _, k in specs]

    def draw(shape, kind):
        return rand(rng, shape, dtype) if kind == X else kind(rng, shape)

    ranks = [len(s) for s in shapes]
    for in_axes in axes_variants(ranks):
        args = [draw(s if ax is None else insert_axis(s, ax, B), k)
                for s, ax, k in zip(shapes, in_axes, kinds)]
        check_vmap(f, args, in_axes)
    args = [draw(insert_axis((2,) + tuple(s), -1, B), k) for s, k in zip(shapes, kinds)]
    check_vmap(ft.vmap(f), args, tuple(-1 for _ in shapes))


def _scatter_cases():
    out = []
    for name, prim in [("scatter", lax.scatter), ("scatter_add", lax.scatter_add),
                       ("scatter_mul", lax.scatter_mul), ("scatter_min", lax.scatter_min),
                       ("scatter_max", lax.scatter_max)]:
        for mode in ("drop", "clip"):
            out.append((f"{name}_{mode}",
                        lambda x, i, u, prim=prim, mode=mode: prim(x, i, u, SD((1,), (0,), (0,)),
                                                                   mode=mode),
                        [((5, 3), X), ((4, 1), ints(-2, 8)), ((4, 3), X)]))
        out.append((f"{name}_window_2d",
                    lambda x, i, u, prim=prim: prim(x, i, u, SD((1, 2), (), (0, 1))),
                    [((4, 5), X), ((3, 2), ints(-1, 5)), ((3, 2, 2), X)]))
    return out


CASES = [
    ("slice", lambda x: lax.slice(x, (0, 1), (3, 4), (2, 2)), [((3, 5), X)]),
    ("slice_in_dim", lambda x: lax.slice_in_dim(x, 1, -1, axis=1), [((2, 4), X)]),
    ("dynamic_slice", lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)),
     [((4, 5), X), ((), ints(-7, 8)), ((), ints(-7, 8))]),
    ("dynamic_slice_mixed_dtypes", lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)),
     [((4, 5), X), ((), ints(-7, 8, "int8")), ((), choice([0, 1, 4, 9, 2**32 - 5], "uint32"))]),
    ("dynamic_index_in_dim", lambda x, i: lax.dynamic_index_in_dim(x, i, 1, False),
     [((2, 4), X), ((), ints(-5, 5))]),
    ("dynamic_update_slice", lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)),
     [((4, 5), X), ((2, 3), X), ((), ints(-7, 8)), ((), ints(-7, 8))]),
    ("dynamic_update_slice_mixed", lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)),
     [((4, 5), X), ((2, 3), X), ((), ints(-7, 8, "int16")), ((), ints(0, 9, "uint8"))]),
    ("gather_rows_clip", lambda x, i: lax.gather(x, i, GD((1,), (0,), (0,)), (1, 4)),
     [((5, 4), X), ((3, 1), ints(-2, 8))]),
    ("gather_rows_fill", lambda x, i: lax.gather(x, i, GD((1,), (0,), (0,)), (1, 4),
                                                 mode="fill"),
     [((5, 4), X), ((3, 1), ints(-2, 8))]),
    ("gather_window_2d", lambda x, i: lax.gather(x, i, GD((1, 2), (), (0, 1)), (2, 3),
                                                 mode="fill", fill_value=1),
     [((5, 6), X), ((2, 2), ints(-1, 6))]),
    ("gather_batch_dims_2d", lambda x, i: lax.gather(x, i, GD((2,), (1,), (1,)), (4, 1)),
     [((4, 5), X), ((2, 3, 1), ints(0, 5))]),
    ("gather_uint8_indices", lambda x, i: lax.gather(x, i, GD((), (0,), (0,)), (1,)),
     [((6,), X), ((4, 1), ints(0, 255, "uint8"))]),
] + _scatter_cases() + [
    # functrans.numpy indexing and updates
    ("getitem_int_array", lambda x, i: x[i], [((5, 3), X), ((4,), ints(-5, 5))]),
    ("getitem_cols", lambda x, i: x[:, i], [((2, 5), X), ((3,), ints(-5, 5))]),
    ("getitem_two_arrays", lambda x, i, j: x[i, :, j],
     [((4, 2, 3), X), ((2,), ints(-4, 4)), ((2,), ints(-3, 3))]),
    ("getitem_scalar_traced", lambda x, i: x[i], [((4, 3), X), ((), ints(-4, 4))]),
    ("getitem_slices", lambda x: x[1:, ::2], [((3, 5), X)]),
    ("getitem_newaxis_ellipsis", lambda x: x[..., None, -1], [((2, 3), X)]),
    ("getitem_bool_mask", lambda x: x[np.array([True, False, True, True])], [((4, 2), X)]),
    ("at_set", lambda x, i, u: x.at[i].set(u), [((5, 2), X), ((3,), ints(-5, 5)), ((3, 2), X)]),
    ("at_add", lambda x, i, u: x.at[i].add(u), [((5, 2), X), ((3,), ints(-5, 5)), ((3, 2), X)]),
    ("at_mul", lambda x, i, u: x.at[i].multiply(u),
     [((5, 2), X), ((3,), ints(-5, 5)), ((3, 2), X)]),
    ("at_min", lambda x, i, u: x.at[i].min(u), [((5, 2), X), ((3,), ints(-5, 5)), ((3, 2), X)]),
    ("at_max", lambda x, i, u: x.at[:, i].max(u),
     [((2, 5), X), ((3,), ints(-5, 5)), ((2, 3), X)]),
    ("at_slice_set", lambda x, u: x.at[1:3].set(u), [((4, 2), X), ((2, 2), X)]),
    ("at_get_fill", lambda x, i: x.at[i].get(mode="fill", fill_value=0),
     [((4,), X), ((5,), ints(-6, 6))]),
    ("take", lambda x, i: fnp.take(x, i, axis=1), [((2, 4), X), ((3,), ints(-4, 4))]),
    ("take_along_axis", lambda x, i: fnp.take_along_axis(x, i, axis=1),
     [((2, 4), X), ((2, 3), ints(0, 4))]),
]


@pytest.mark.parametrize("name,f,specs", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_vmap_slicing(name, f, specs, dtype, rng):
    run(rng, f, specs, dtype)


BOOL_CASES = [c for c in CASES if c[0] in (
    "dynamic_slice", "dynamic_update_slice", "gather_rows_fill", "scatter_drop",
    "scatter_add_drop", "scatter_max_clip", "scatter_min_window_2d", "at_set")]


@pytest.mark.parametrize("name,f,specs", BOOL_CASES, ids=[c[0] for c in BOOL_CASES])
def test_vmap_slicing_bool(name, f, specs, rng):
    run(rng, f, specs, "bool")


X64_CASES = [c for c in CASES if c[0] in (
    "slice", "dynamic_slice", "dynamic_update_slice_mixed", "gather_window_2d",
    "scatter_add_clip", "scatter_mul_window_2d", "at_set", "getitem_two_arrays")]


@pytest.mark.parametrize("name,f,specs", X64_CASES, ids=[c[0] for c in X64_CASES])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_vmap_slicing_x64(name, f, specs, dtype, rng, x64):
    run(rng, f, specs, dtype)


def test_vmap_gather_many_examples_int8_indices(rng):
    # 200 examples: their numbers do not fit the int8 indices, which are widened.
    f = lambda x, i: lax.gather(x, i, GD((), (0,), (0,)), (1,), mode="fill", fill_value=-1)
    x = rand(rng, (200, 6), "int32")
    i = ints(-2, 8, "int8")(rng, (200, 3, 1))
    check_vmap(f, [x, i], (0, 0))
    f = lambda x, i, u: lax.scatter_add(x, i, u, SD((), (0,), (0,)))
    check_vmap(f, [x, i, rand(rng, (200, 3), "int32")], (0, 0, 0))


def test_vmap_dynamic_slice_only_operand_mapped_rank1(rng):
    x = rand(rng, (B, 5), "float32")
    check_vmap(lambda x: lax.dynamic_slice(x, (fnp.array(3),), (3,)), [x], (0,))
    check_vmap(lambda x: lax.dynamic_update_slice(x, fnp.ones(2), (fnp.array(-1),)), [x], (1,))


def test_vmap_scatter_only_updates_mapped(rng):
    f = lambda x, i, u: lax.scatter_add(x, i, u, SD((1,), (0,), (0,)))
    args = [rand(rng, (5, 3), "float32"), ints(-1, 6)(rng, (4, 1)), rand(rng, (4, 3, B), "float32")]
    check_vmap(f, args, (None, None, -1))
    check_vmap(f, [args[0], ints(-1, 6)(rng, (B, 4, 1)), args[2]], (None, 0, -1))


# --- grad of vmap, vmap of grad ----------------------------------------------------------------

GRAD_CASES = [
    ("dynamic_slice", lambda x, i: lax.dynamic_slice(x, (i, 1), (2, 2)), (4, 3)),
    ("dynamic_update_slice", lambda x, i: lax.dynamic_update_slice(x, x[:2, :2] * 2.0, (i, 0)),
     (4, 3)),
    ("gather", lambda x, i: x[fnp.stack([i, i - 1, 2])], (4, 3)),
    ("scatter_add", lambda x, i: x.at[fnp.stack([i, 0, i])].add(x[:3] ** 2), (4, 3)),
    ("scatter_set", lambda x, i: x.at[fnp.stack([i, 3 - i])].set(x[1:3] * 3.0), (4, 3)),
    ("scatter_mul", lambda x, i: x.at[fnp.stack([i, 1])].multiply(x[2:]), (4, 3)),
    ("scatter_max", lambda x, i: x.at[fnp.stack([i, 2])].max(x[:2] * 0.5), (4, 3)),
]


@pytest.mark.parametrize("name,g,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grad_of_vmap_and_vmap_of_grad(name, g, shape, rng):
    xs = rand(rng, (B,) + shape, "float32")
    idx = np.array([0, 1, 2], np.int32)
    w = rand(rng, np.shape(g(fnp.ones(shape, "float32"), fnp.array(1))), "float32")

    def loss(x, i):
        return fnp.sum(g(x, i) * w)

    per_example = np.stack([np.asarray(ft.grad(loss)(fnp.asarray(x), fnp.asarray(i)))
                            for x, i in zip(xs, idx)])
    got = ft.vmap(ft.grad(loss))(fnp.asarray(xs), fnp.asarray(idx))
    np.testing.assert_allclose(np.asarray(got), per_example, rtol=1e-6)
    got = ft.grad(lambda xs: fnp.sum(ft.vmap(loss)(xs, fnp.asarray(idx))))(fnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(got), per_example, rtol=1e-6)
