"""Derivatives of the shape and slicing primitives, and of the functrans.numpy
functions built on them (reshaping, joining, padding, indexing, ``.at[]``).

One table of cases drives every check:

* ``check_grads`` (central differences), first and second order, forward and
  reverse mode, in float32 and float64;
* the exact identity ``<vjp(ct), t> == <ct, jvp(t)>`` (no differences);
* the linearized and transposed IRs type-check.

jax.grad is the oracle for a few indexing-heavy functions (duplicate indices,
ties of scatter_min/max, out-of-bounds windows).
"""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import ir, lax
from functrans.core import all_primitives
from functrans.test_util import check_grads

# --- inputs -----------------------------------------------------------------------------------


def normal(*shape):
    """Standard normal values (a fixed seed per shape)."""
    return np.random.default_rng(sum(shape) + 7 * len(shape)).standard_normal(shape)


_SPACED = np.random.default_rng(0).permutation(400) * 0.25 - 50.0


def spaced(*shape, offset=0):
    """Distinct values at least 0.25 apart (also across offsets 0..7, each drawing from
    its own part of one pool), so min/max never switch under a small step."""
    n = int(np.prod(shape))
    assert n <= 50
    return _SPACED[50 * offset:50 * offset + n].reshape(shape)


def ints(*values):
    return np.asarray(values, np.int32)


I3 = ints(0, 2, 2)                      # a duplicate
I_OOB = ints(1, 5, -7, 3)               # out of bounds for an axis of 4
DN_ROWS = lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                      scatter_dims_to_operand_dims=(0,))
GDN_ROWS = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                      start_index_map=(0,))
DN_ELEMS = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0, 1),
                                       scatter_dims_to_operand_dims=(0, 1))
IDX_2D = ints([0, 1], [2, 3], [0, 1], [3, 0], [9, 1])   # duplicate and out-of-bounds pairs
C4x5 = np.arange(20.0).reshape(4, 5) / 7.0              # a constant operand

# --- the table: name -> (function, argument builders) -------------------------------------------
# Arguments are numpy float64 arrays, cast to the test's dtype. Index arrays are
# closed over, so only float arguments are differentiated.

CASES = {
    # shape primitives, through lax
    "broadcast_in_dim": (lambda x: lax.broadcast_in_dim(x, (2, 4, 3), (0, 2)), [normal(2, 3)]),
    "broadcast_in_dim_stretch": (lambda x: lax.broadcast_in_dim(x, (4, 2, 3), (1, 2)),
                                 [normal(1, 3)]),
    "broadcast_scalar": (lambda x: lax.broadcast_in_dim(x, (2, 3), ()) * normal(2, 3), [np.asarray(1.5)]),
    "broadcast": (lambda x: lax.broadcast(x, (2,)), [normal(3)]),
    "reshape": (lambda x: lax.reshape(x, (3, 2, 2)) ** 2, [normal(4, 3)]),
    "expand_dims": (lambda x: lax.expand_dims(x, (0, 2)), [normal(2, 3)]),
    "squeeze": (lambda x: lax.squeeze(x, (0, 2)), [normal(1, 3, 1)]),
    "transpose": (lambda x: lax.transpose(x, (2, 0, 1)), [normal(2, 3, 4)]),
    "rev": (lambda x: lax.rev(x, (0, 1)) * x, [normal(3, 3)]),
    "concatenate": (lambda x, y: lax.concatenate([x, y * y, x], 1), [normal(2, 3), normal(2, 2)]),
    "concatenate_const": (lambda x: lax.concatenate([C4x5[:2], x, C4x5[2:3]], 0), [normal(2, 5)]),
    "pad": (lambda x, v: lax.pad(x, v, ((1, 2, 1), (0, 1, 0))), [normal(2, 3), np.asarray(0.7)]),
    "pad_negative": (lambda x, v: lax.pad(x, v, ((-1, 2, 2), (2, -3, 1))),
                     [normal(3, 4), np.asarray(-0.4)]),
    "pad_value_only": (lambda v: lax.pad(C4x5, v * v, ((1, 0, 1), (0, 0, 0))), [np.asarray(1.3)]),
    "pad_operand_only": (lambda x: lax.pad(x, 2.0, ((0, -1, 1),)), [normal(4)]),
    "pad_crop_all": (lambda x, v: lax.pad(x, v, ((-4, 1, 1),)), [normal(3), np.asarray(0.3)]),
    "pad_empty_operand": (lambda v: lax.pad(np.zeros((0, 2)), v, ((1, 2, 3), (0, 0, 1))),
                          [np.asarray(0.3)]),
    "pad_scalar": (lambda x, v: lax.pad(x, v, ()) * v, [np.asarray(0.5), np.asarray(2.0)]),
    # slicing primitives, through lax
    "slice": (lambda x: lax.slice(x, (1, 0), (4, 5)), [normal(4, 5)]),
    "slice_strided": (lambda x: lax.slice(x, (0, 1), (4, 5), (3, 2)), [normal(4, 5)]),
    "slice_empty": (lambda x: fnp.sum(lax.slice(x, (1,), (1,))) + x[0], [normal(4)]),
    "slice_in_dim": (lambda x: lax.slice_in_dim(x, -3, None, 2, axis=1), [normal(2, 6)]),
    "index_in_dim": (lambda x: lax.index_in_dim(x, -1, axis=0, keepdims=False), [normal(3, 2)]),
    "dynamic_slice": (lambda x: lax.dynamic_slice(x, (np.int32(1), np.int32(2)), (2, 3)),
                      [normal(4, 5)]),
    "dynamic_slice_clamped": (lambda x: lax.dynamic_slice(x, (np.int32(3), np.int32(-9)), (2, 3)),
                              [normal(4, 5)]),
    "dynamic_index_in_dim": (lambda x: lax.dynamic_index_in_dim(x, np.int32(-1), 1, False),
                             [normal(3, 4)]),
    "dynamic_update_slice": (lambda x, u: lax.dynamic_update_slice(x, u, (np.int32(1), np.int32(1))),
                             [normal(4, 5), normal(2, 3)]),
    "dynamic_update_slice_clamped": (
        lambda x, u: lax.dynamic_update_slice(x, u * x[0, :3], (np.int32(7), np.int32(4))),
        [normal(4, 5), normal(2, 3)]),
    "dynamic_update_slice_update_only": (
        lambda u: lax.dynamic_update_slice(C4x5, u, (np.int32(2), np.int32(0))), [normal(2, 5)]),
    "dynamic_update_slice_operand_only": (
        lambda x: lax.dynamic_update_slice(x, C4x5[:1, :2], (np.int32(2), np.int32(3))),
        [normal(4, 5)]),
    "gather_rows": (lambda x: lax.gather(x, I3[:, None], GDN_ROWS, (1, 5)), [normal(4, 5)]),
    "gather_window": (lambda x: lax.gather(x, ints([0, 1], [3, 4], [2, 0]),
                                           lax.GatherDimensionNumbers((1,), (0,), (0, 1)),
                                           (1, 2), mode="clip"), [normal(4, 5)]),
    "gather_clip": (lambda x: lax.gather(x, I_OOB[:, None], GDN_ROWS, (1, 5), mode="clip"),
                    [normal(4, 5)]),
    "gather_fill": (lambda x: lax.gather(x, I_OOB[:, None], GDN_ROWS, (1, 5), mode="fill",
                                         fill_value=2.0), [normal(4, 5)]),
    "scatter_add": (lambda x, u: lax.scatter_add(x, I3[:, None], u, DN_ROWS),
                    [normal(4, 5), normal(3, 5)]),
    "scatter_add_drop": (lambda x, u: lax.scatter_add(x, IDX_2D, u * u, DN_ELEMS),
                         [normal(4, 5), normal(5)]),
    "scatter_add_clip": (lambda x, u: lax.scatter_add(x, I_OOB[:, None], u, DN_ROWS, mode="clip"),
                         [normal(4, 5), normal(4, 5)]),
    "scatter_add_updates_only": (lambda u: lax.scatter_add(C4x5, I3[:, None], u, DN_ROWS),
                                 [normal(3, 5)]),
    "scatter": (lambda x, u: lax.scatter(x, I3[:, None], u, DN_ROWS) * x,
                [normal(4, 5), normal(3, 5)]),
    "scatter_drop": (lambda x, u: lax.scatter(x, IDX_2D, u, DN_ELEMS), [normal(4, 5), normal(5)]),
    "scatter_clip": (lambda x, u: lax.scatter(x, I_OOB[:, None], u, DN_ROWS, mode="clip"),
                     [normal(4, 5), normal(4, 5)]),
    "scatter_updates_only": (lambda u: lax.scatter(C4x5, I3[:, None], u, DN_ROWS), [normal(3, 5)]),
    "scatter_operand_only": (lambda x: lax.scatter(x, I3[:, None], C4x5[:3], DN_ROWS), [normal(4, 5)]),
    "scatter_mul": (lambda x, u: lax.scatter_mul(x, I3[:, None], u, DN_ROWS),
                    [normal(4, 5), normal(3, 5)]),
    "scatter_mul_zeros": (lambda x, u: lax.scatter_mul(x, ints(1, 1, 1, 2)[:, None],
                                                       u * np.asarray([[0.0], [1], [0], [1]]),
                                                       DN_ROWS), [normal(4, 5), normal(4, 5)]),
    "scatter_mul_one_zero": (lambda x, u: lax.scatter_mul(x, ints(1, 1, 3)[:, None],
                                                          u * np.asarray([[0.0], [1], [1]]),
                                                          DN_ROWS), [normal(4, 5), normal(3, 5)]),
    "scatter_mul_drop": (lambda x, u: lax.scatter_mul(x, IDX_2D, u, DN_ELEMS),
                         [normal(4, 5), normal(5)]),
    "scatter_min": (lambda x, u: lax.scatter_min(x, I3[:, None], u, DN_ROWS),
                    [spaced(4, 5), spaced(3, 5, offset=1)]),
    "scatter_max": (lambda x, u: lax.scatter_max(x, I3[:, None], u, DN_ROWS),
                    [spaced(4, 5), spaced(3, 5, offset=1)]),
    "scatter_max_drop": (lambda x, u: lax.scatter_max(x, IDX_2D, u, DN_ELEMS),
                         [spaced(4, 5), spaced(5, offset=2)]),
    "scatter_min_clip": (lambda x, u: lax.scatter_min(x, I_OOB[:, None], u, DN_ROWS, mode="clip"),
                         [spaced(4, 5), spaced(4, 5, offset=3)]),
    # functrans.numpy functions
    "np_reshape": (lambda x: fnp.reshape(x, (-1,)), [normal(2, 3)]),
    "np_transpose": (lambda x: fnp.transpose(x) @ x, [normal(3, 2)]),
    "np_moveaxis": (lambda x: fnp.moveaxis(x, 0, -1), [normal(2, 3, 4)]),
    "np_stack": (lambda x, y: fnp.stack([x, y, x * y], axis=1), [normal(3), normal(3)]),
    "np_concatenate": (lambda x, y: fnp.concatenate([x, y], axis=0), [normal(2, 3), normal(1, 3)]),
    "np_split": (lambda x: fnp.split(x, [1, 3], axis=1), [normal(2, 5)]),
    "np_tile": (lambda x: fnp.tile(x, (2, 1, 3)), [normal(2, 2)]),
    "np_repeat": (lambda x: fnp.repeat(x, 3, axis=0), [normal(2, 3)]),
    "np_repeat_counts": (lambda x: fnp.repeat(x, np.asarray([2, 0, 1]), axis=1), [normal(2, 3)]),
    "np_flip": (lambda x: fnp.flip(x, 1), [normal(2, 3)]),
    "np_roll": (lambda x: fnp.roll(x, (1, -2), axis=(0, 1)), [normal(3, 4)]),
    "np_pad_constant": (lambda x: fnp.pad(x, ((1, 2), (0, 1)), constant_values=3.0), [normal(2, 3)]),
    "np_pad_edge": (lambda x: fnp.pad(x, 2, mode="edge"), [normal(2, 3)]),
    "np_pad_reflect": (lambda x: fnp.pad(x, ((2, 1),), mode="reflect"), [normal(4)]),
    "np_pad_symmetric": (lambda x: fnp.pad(x, ((1, 3), (2, 0)), mode="symmetric"), [normal(2, 3)]),
    "np_pad_wrap": (lambda x: fnp.pad(x, ((3, 5),), mode="wrap"), [normal(3)]),
    "index_basic": (lambda x: x[1:, None, ::-2, 1], [normal(3, 5, 2)]),
    "index_ellipsis": (lambda x: x[..., -1] * x[0, ...].sum(), [normal(2, 3)]),
    "index_traced": (lambda x: x[fnp.argmax(x[:, 0])], [spaced(4, 3)]),
    "index_array": (lambda x: x[np.asarray([[0, 2], [2, 1]])], [normal(3, 2)]),
    "index_arrays": (lambda x: x[np.asarray([0, 2, 2]), :, np.asarray([1, 0, 1])], [normal(3, 2, 2)]),
    "index_array_negative": (lambda x: x[:, np.asarray([-1, 0, -1])], [normal(2, 3)]),
    "index_mask": (lambda x: x[np.asarray([[True, False, True], [False, False, True]])],
                   [normal(2, 3)]),
    "index_mixed": (lambda x: x[1:, np.asarray([2, 0])], [normal(3, 4)]),
    "at_set": (lambda x, u: x.at[np.asarray([3, 0, 3])].set(u), [normal(4, 2), normal(3, 2)]),
    "at_set_slice": (lambda x, u: x.at[1:3, ::2].set(u * 2), [normal(4, 5), normal(2, 3)]),
    "at_set_scalar": (lambda x, u: x.at[1, 2].set(u), [normal(4, 5), np.asarray(0.3)]),
    "at_add": (lambda x, u: x.at[np.asarray([1, 1, 2]), 0].add(u), [normal(3, 2), normal(3)]),
    "at_add_strided": (lambda x, u: x.at[::2, np.asarray([0, 0])].add(u), [normal(4, 3), normal(2, 2)]),
    "at_multiply": (lambda x, u: x.at[np.asarray([2, 0, 2])].multiply(u), [normal(3, 2), normal(3, 2)]),
    "at_min": (lambda x, u: x.at[np.asarray([0, 1, 0])].min(u), [spaced(3, 2), spaced(3, 2, offset=4)]),
    "at_max": (lambda x, u: x.at[np.asarray([0, 1, 0])].max(u), [spaced(3, 2), spaced(3, 2, offset=5)]),
    "at_get_fill": (lambda x: x.at[np.asarray([0, 5, 2])].get(mode="fill", fill_value=1.0),
                    [normal(3, 2)]),
    "take": (lambda x: fnp.take(x, np.asarray([2, 0, 2, -1]), axis=1), [normal(2, 3)]),
    "take_fill": (lambda x: fnp.take(x, np.asarray([2, 7, -9]), mode="fill", fill_value=0.0),
                  [normal(4)]),
    "take_along_axis": (lambda x: fnp.take_along_axis(x, np.asarray([[1, 0, 1], [2, 2, 0]]), 1),
                        [normal(2, 3)]),
    "diagonal": (lambda x: fnp.diagonal(x, offset=1), [normal(3, 4)]),
    "trace": (lambda x: fnp.trace(x * x), [normal(3, 3)]),
    "tril": (lambda x: fnp.tril(x, -1), [normal(3, 4)]),
    "triu": (lambda x: fnp.triu(x, 1), [normal(3, 3)]),
}

DTYPES = ["float32", "float64"]


def _args(name, dtype):
    return tuple(fnp.asarray(a.astype(dtype)) for a in CASES[name][1])


@pytest.fixture(params=DTYPES)
def dtype(request):
    """Runs a test in float32, and in float64 with 64-bit mode on."""
    if request.param == "float64":
        request.getfixturevalue("x64")
    return request.param


@pytest.mark.parametrize("name", sorted(CASES))
def test_numerical_gradients(name, dtype):
    f, _ = CASES[name]
    check_grads(f, _args(name, dtype), order=2, modes=("fwd", "rev"))


def _random_like(tree, rng):
    return ft.tree_util.tree_map(
        lambda x: fnp.asarray(rng.standard_normal(np.shape(x)).astype(np.asarray(x).dtype)), tree)


def _inner(a, b):
    return sum(float(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64)))
               for x, y in zip(ft.tree_util.tree_leaves(a), ft.tree_util.tree_leaves(b)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_vjp_is_the_transpose_of_jvp(name, x64):
    """<vjp(ct), t> == <ct, jvp(t)>: the transpose rules are the adjoints of the jvps."""
    f, _ = CASES[name]
    args = _args(name, "float64")
    rng = np.random.default_rng(3)
    tangents = _random_like(args, rng)
    out, t_out = ft.jvp(f, args, tangents)
    ct = _random_like(out, rng)
    _, f_vjp = ft.vjp(f, *args)
    cts_in = f_vjp(ct)
    np.testing.assert_allclose(_inner(cts_in, tangents), _inner(ct, t_out), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_linear_and_transposed_irs_typecheck(name):
    f, _ = CASES[name]
    args = _args(name, "float32")
    out, f_jvp = ft.linearize(f, *args)
    ir.typecheck(f_jvp.linear_ir)
    _, f_vjp = ft.vjp(f, *args)
    ct = _random_like(out, np.random.default_rng(0))
    back = ft.make_ir(f_vjp)(ct)
    ir.typecheck(back)
    flat_ct = ft.tree_util.tree_leaves(ct)
    got = ir.eval_ir(back.ir, back.consts, flat_ct)
    for g, w in zip(got, ft.tree_util.tree_leaves(f_vjp(ct))):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_jvp_primal_output_matches_eager(dtype):
    """The primal output a jvp rule returns has the eager output's value and type."""
    for name, (f, _) in sorted(CASES.items()):
        args = _args(name, dtype)
        want = f(*args)
        got, _ = ft.jvp(f, args, _random_like(args, np.random.default_rng(0)))
        for g, w in zip(ft.tree_util.tree_leaves(got), ft.tree_util.tree_leaves(want)):
            assert (g.shape, g.dtype, g.weak_type) == (w.shape, w.dtype, w.weak_type), name
            np.testing.assert_array_equal(np.asarray(g), np.asarray(w), err_msg=name)


COMPLEX_CASES = ["concatenate", "pad", "slice_strided", "dynamic_update_slice", "gather_fill",
                 "scatter_add_drop", "scatter", "scatter_drop", "scatter_mul_zeros", "at_set_slice",
                 "np_pad_reflect", "take_along_axis"]


@pytest.mark.parametrize("name", COMPLEX_CASES)
def test_complex_gradients(name, x64):
    f, makers = CASES[name]
    rng = np.random.default_rng(1)
    args = tuple(fnp.asarray(a + 1j * rng.standard_normal(a.shape)) for a in makers)
    check_grads(f, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", ["scatter", "scatter_max", "scatter_mul_zeros", "gather_fill",
                                  "pad_negative", "at_add_strided"])
def test_jacfwd_equals_jacrev(name, x64):
    f, _ = CASES[name]
    args = _args(name, "float64")
    argnums = tuple(range(len(args)))
    fwd = ft.jacfwd(f, argnums)(*args)
    rev = ft.jacrev(f, argnums)(*args)
    for a, b in zip(fwd, rev):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


# --- rule registry --------------------------------------------------------------------------------

SHAPE_PRIMS = ["broadcast_in_dim", "reshape", "squeeze", "transpose", "rev", "concatenate", "pad",
               "iota"]
SLICING_PRIMS = ["slice", "dynamic_slice", "dynamic_update_slice", "gather", "scatter",
                 "scatter_add", "scatter_mul", "scatter_min", "scatter_max"]
NOT_LINEAR = {"iota", "scatter_min", "scatter_max"}


@pytest.mark.parametrize("name", SHAPE_PRIMS + SLICING_PRIMS)
def test_every_primitive_has_its_rules(name):
    p = all_primitives()[name]
    assert p.jvp is not None
    assert (p.transpose is None) == (name in NOT_LINEAR)


# --- exact values and jax as an oracle -------------------------------------------------------


def test_index_cotangents_and_tangents_are_symbolic():
    """Integer index operands get no tangent, and the linear IR holds no index arithmetic."""
    x = fnp.asarray(normal(4, 5).astype(np.float32))
    i = fnp.asarray(np.int32(2))
    _, f_jvp = ft.linearize(lambda x: lax.dynamic_slice(x, (i, i), (2, 2)), x)
    prims = [e.prim.name for e in f_jvp.linear_ir.ir.eqns]
    assert prims == ["dynamic_slice"]
    g = ft.grad(lambda x, i: fnp.sum(lax.dynamic_slice(x, (i, i), (2, 2))))(x, i)
    want = np.zeros((4, 5), np.float32)
    want[2:4, 2:4] = 1
    np.testing.assert_array_equal(np.asarray(g), want)


def test_gather_fill_tangent_is_zero_out_of_bounds():
    x = fnp.asarray([1.0, 2.0, 3.0])
    f = lambda x: x.at[np.asarray([0, 9, 2])].get(mode="fill", fill_value=np.nan)
    y, t = ft.jvp(f, (x,), (fnp.ones(3),))
    assert np.isnan(np.asarray(y)[1])
    np.testing.assert_array_equal(np.asarray(t), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(np.asarray(ft.grad(lambda x: fnp.sum(f(x)[::2]))(x)), [1, 0, 1])


def test_scatter_duplicates_give_the_winner_the_cotangent():
    x = fnp.zeros(3)
    u = fnp.asarray([1.0, 2.0, 3.0])
    idx = np.asarray([1, 1, 1])
    y, f_vjp = ft.vjp(lambda x, u: x.at[idx].set(u), x, u)
    winner = int(np.argmax(np.asarray(u) == np.asarray(y)[1]))
    gx, gu = f_vjp(fnp.asarray([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(np.asarray(gx), [10.0, 0.0, 30.0])
    want = np.zeros(3)
    want[winner] = 20.0
    np.testing.assert_array_equal(np.asarray(gu), want)


@pytest.mark.parametrize("mode", ["drop", "clip"])
def test_scatter_transpose_is_the_adjoint(mode, x64):
    """scatter is linear in (operand, updates) together; reverse mode never needs its
    transpose (the jvp emits scatter_adds), so the rule is checked directly."""
    from functrans.interpreters.reverse import UndefinedPrimal
    from functrans.primitives.gather_scatter import scatter_p
    rng = np.random.default_rng(5)
    x, u, ct = rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal((4, 5))
    params = dict(dimension_numbers=DN_ELEMS, mode=mode)
    y = np.asarray(lax.scatter(fnp.asarray(x), IDX_2D, fnp.asarray(u), DN_ELEMS, mode=mode))
    ct_x, ct_i, ct_u = scatter_p.transpose(
        fnp.asarray(ct), UndefinedPrimal(ft.ShapedArray((4, 5), np.float64)), fnp.asarray(IDX_2D),
        UndefinedPrimal(ft.ShapedArray((5,), np.float64)), **params)
    assert ct_i is None
    np.testing.assert_allclose(np.sum(np.asarray(ct_x) * x) + np.sum(np.asarray(ct_u) * u),
                               np.sum(ct * y), rtol=1e-12)
    # with a constant operand, only the updates get a cotangent
    ct_x, _, ct_u2 = scatter_p.transpose(fnp.asarray(ct), fnp.asarray(x), fnp.asarray(IDX_2D),
                                         UndefinedPrimal(ft.ShapedArray((5,), np.float64)),
                                         **params)
    assert ct_x is None
    np.testing.assert_array_equal(np.asarray(ct_u2), np.asarray(ct_u))


def test_scatter_mul_duplicates_with_zeros_exact():
    # out[1] = x[1] * u0 * u1 * u2; with u1 == 0 only u1's derivative survives.
    x = fnp.asarray([2.0, 3.0])
    u = fnp.asarray([5.0, 0.0, 7.0])
    f = lambda x, u: fnp.sum(x.at[np.asarray([1, 1, 1])].multiply(u))
    gx, gu = ft.grad(f, argnums=(0, 1))(x, u)
    np.testing.assert_array_equal(np.asarray(gx), [1.0, 0.0])
    np.testing.assert_array_equal(np.asarray(gu), [0.0, 3.0 * 5.0 * 7.0, 0.0])


jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

# Reads here stay in bounds: x[i] is a gather in mode "promise_in_bounds" (in
# jax and functrans alike), which clamps an out-of-bounds read but whose
# transpose drops its cotangent; only mode "clip" clamps in both directions
# (the "gather_clip" and "gather_window" cases check it numerically).
ORACLE_CASES = {
    "gather_scatter_chain": lambda m, x, u: m.sum(
        m.sin(x[np.asarray([[0, 2], [2, 1]])]) * x.at[np.asarray([3, 0, 3]), 1:].add(u[:, 1:])[:2, None]),
    "set_with_duplicates": lambda m, x, u: m.sum(m.cos(x.at[np.asarray([1, 2, 1])].set(u * x[0, 0]))
                                                 * x),
    "max_with_ties": lambda m, x, u: m.sum(x.at[np.asarray([0, 0, 2])].max(m.round(u)) ** 2),
    "min_with_ties": lambda m, x, u: m.sum(m.exp(x.at[np.asarray([1, 1, 1])].min(m.round(u)))),
    "take_along_and_diag": lambda m, x, u: m.sum(
        m.take_along_axis(x, np.asarray([[3, 0, 0]]).T, 1)) + m.trace(x[:, :3] @ u[:, :3].T),
    "roll_pad_tril": lambda m, x, u: m.sum(m.tril(m.pad(m.roll(x, 2, 0), 1, mode="reflect")) ** 2)
    + m.sum(m.flip(u) * u[::-1, ::2].mean()),
}


@pytest.mark.parametrize("name", sorted(ORACLE_CASES))
def test_grads_match_jax(name, x64):
    f = ORACLE_CASES[name]
    x = np.round(normal(3, 4), 1)
    u = np.round(normal(3, 4), 1)
    x[0, 1:3] = x[2, 1:3] = 0.0   # ties for max/min (with the rounded updates)
    u[0, 1] = u[1, 1] = 0.0
    want = jax.grad(lambda x, u: f(jnp, x, u), argnums=(0, 1))(x, u)
    got = ft.grad(lambda x, u: f(fnp, x, u), argnums=(0, 1))(fnp.asarray(x), fnp.asarray(u))
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-12, atol=1e-12)
    # and the Hessian-vector product through both reverse and forward mode
    v = normal(3, 4)
    hvp = lambda m, grad, jvp: lambda x, u: jvp(
        lambda x: grad(lambda x, u: f(m, x, u))(x, u), (x,), (v,))[1]
    want = hvp(jnp, jax.grad, jax.jvp)(x, u)
    got = hvp(fnp, ft.grad, ft.jvp)(fnp.asarray(x), fnp.asarray(u))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10, atol=1e-10)
