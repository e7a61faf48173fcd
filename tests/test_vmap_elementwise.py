"""vmap of the elementwise primitives against a Python loop over the examples.

Table-driven over test_lax_elementwise's UNARY/BINARY rows, for float32,
float64 and an integer, bool and complex dtype where the row accepts them:
every row is batched along axis 0, a middle axis and the last axis, with
arguments unmapped (None), with rank-0 examples (mapped or not) meeting full
ones, with the batch axis moved in the output, and nested (vmap of vmap). The
reference stacks the unbatched function applied to each example in turn.
Then the primitives with parameters or a selector (select_n, conversions,
integer_pow, round, polygamma, clamp), grad of vmap and vmap of grad, and
jit of vmap.
"""

from __future__ import annotations

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from functrans.core import get_aval
from functrans.jit import jit

from test_lax_elementwise import (  # noqa: E402  (shared tables and helpers)
    BINARY, UNARY, _host, _special, _tol, draw)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

B = 3          # the batch size
S = (2, 4)     # an example's shape


def _take(x, i, axis):
    return x if axis is None else np.take(np.asarray(x), i, axis=axis)


def loop(f, args, in_axes, out_axis=0):
    """The reference: f on each example in turn, stacked along ``out_axis``."""
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = [np.asarray(f(*[fnp.asarray(_take(a, i, ax)) for a, ax in zip(args, in_axes)]))
            for i in range(size)]
    return np.stack(outs, axis=out_axis)


def batched_input(rng, dt, domain, ex_shape, axis, size=B):
    """An input whose examples have ``ex_shape``, stacked along ``axis`` (None: one example)."""
    shape = list(ex_shape)
    if axis is not None:
        shape.insert(axis, size)
    if domain == "special":  # NaN, infinities, signed zeros and ordinary values
        return np.asarray(_special(dt, tuple(shape)))
    if domain == "index3":  # a selector among 3 cases
        return rng.integers(0, 3, tuple(shape)).astype(np.int32)
    return draw(rng, dt, tuple(shape), domain)


def assert_close(got, want, dt, exact, label):
    g, w = _host(got), _host(want)
    assert g.shape == w.shape, label
    assert np.dtype(get_aval(got).dtype) == np.asarray(want).dtype, label
    if exact or g.dtype.kind in "biu":
        np.testing.assert_array_equal(g, w, err_msg=label)
    else:
        np.testing.assert_allclose(g, w, rtol=_tol(dt), atol=_tol(dt), equal_nan=True,
                                   err_msg=label)


def check_vmap(rng, label, f, specs, configs, dt, exact):
    """``specs``: (dtype, domain) per argument; ``configs``: (in_axes, example shapes[, out_axis])."""
    for cfg in configs:
        in_axes, shapes = cfg[0], cfg[1]
        out_axis = cfg[2] if len(cfg) > 2 else 0
        args = [batched_input(rng, sdt, dom, shp, ax)
                for (sdt, dom), shp, ax in zip(specs, shapes, in_axes)]
        got = ft.vmap(f, in_axes=in_axes, out_axes=out_axis)(*[fnp.asarray(a) for a in args])
        want = loop(f, args, in_axes, out_axis)
        assert_close(got, want, dt, exact, f"{label} in_axes={in_axes} shapes={shapes}")


UNARY_CONFIGS = [((0,), [S]), ((1,), [S]), ((2,), [S]), ((0,), [()]), ((1,), [S], 2),
                 ((2,), [S], 1)]
BINARY_CONFIGS = [
    ((0, 0), [S, S]), ((1, 1), [S, S]), ((2, 2), [S, S]),   # first, middle, last axis
    ((0, 2), [S, S]), ((1, 0), [S, S], 2),                   # different axes
    ((None, 1), [S, S]), ((2, None), [S, S]),                # one unmapped
    ((0, 1), [(), S]), ((2, 0), [S, ()]),                    # a mapped rank-0 example
    ((None, 0), [(), S]), ((1, None), [S, ()]),              # an unmapped scalar
    ((0, None), [(), S]), ((None, 0), [S, ()]),              # mapped scalar, unmapped array
    ((0, 0), [(), ()]), ((0, None), [(), ()]),
]
NESTED = [  # (outer in_axes, inner in_axes): examples of S, batch sizes 2 (outer) and B
    ((0, 0), (0, 0)), ((1, None), (2, 0)), ((2, 0), (None, 1)), ((0, 2), (1, 1)),
]


def _dtypes(row):
    """float32, float64, and the first integer, the bool and the complex dtype it accepts."""
    out = []
    if "float32" in row.dtypes:
        out += ["float32", "float64"]
    out += [d for d in ("int32", "int8", "uint8") if d in row.dtypes][:1]
    out += [d for d in ("bool", "complex64") if d in row.dtypes]
    return out


def _cases():
    return [pytest.param(row, dt, id=f"{row.name}-{dt}") for row in UNARY + BINARY
            for dt in _dtypes(row)]


@pytest.mark.parametrize("row,dt", _cases())
def test_vmap_matches_loop(row, dt, rng, request):
    if dt == "float64":
        request.getfixturevalue("x64")
    specs = [(dt, d) for d in row.domains]
    configs = UNARY_CONFIGS if len(specs) == 1 else BINARY_CONFIGS
    check_vmap(rng, row.name, row.fn, specs, configs, dt, row.exact)
    # nested: vmap of vmap, the reference a loop of loops
    for outer, inner in NESTED[:2] if len(specs) == 1 else NESTED:
        outer, inner = outer[:len(specs)], inner[:len(specs)]
        args = []
        for (sdt, dom), o, i in zip(specs, outer, inner):
            shape = list(S)
            if i is not None:
                shape.insert(i, B)
            if o is not None:
                shape.insert(o, 2)
            args.append(batched_input(rng, sdt, dom, tuple(shape), None))
        g = ft.vmap(ft.vmap(row.fn, in_axes=inner), in_axes=outer)
        got = g(*[fnp.asarray(a) for a in args])
        want = loop(lambda *xs, inner=inner: loop(row.fn, xs, inner), args, outer)
        assert_close(got, want, dt, row.exact, f"{row.name} nested {outer} {inner}")


# --- primitives with parameters or a selector -----------------------------------------------

F32, I32, BOOL, C64 = "float32", "int32", "bool", "complex64"
PARAM_ROWS = [  # label, fn, argument specs, exact
    ("select_n bool", lambda p, a, b: lax.select_n(p, a, b),
     [(BOOL, "any"), (F32, "any"), (F32, "any")], True),
    ("select_n int32", lambda w, a, b, c: lax.select_n(w, a, b, c),
     [(I32, "index3"), (F32, "any"), (F32, "any"), (F32, "any")], True),
    ("convert f32->i32", lambda x: lax.convert_element_type(x, np.int32), [(F32, "any")], True),
    ("convert i32->f32", lambda x: lax.convert_element_type(x, np.float32), [(I32, "any")], True),
    ("convert f32->bool", lambda x: lax.convert_element_type(x, np.bool_), [(F32, "small")], True),
    ("convert c64->f32", lambda x: lax.convert_element_type(x, np.float32), [(C64, "any")], True),
    ("bitcast f32->i32", lambda x: lax.bitcast_convert_type(x, np.int32), [(F32, "any")], True),
    ("integer_pow 3", lambda x: lax.integer_pow(x, 3), [(F32, "any")], False),
    ("integer_pow -2", lambda x: lax.integer_pow(x, -2), [(F32, "nonzero")], False),
    ("integer_pow i32", lambda x: lax.integer_pow(x, 2), [(I32, "any")], True),
    ("round afz", lambda x: lax.round(x, 0), [(F32, "any")], True),
    ("round even", lambda x: lax.round(x, 1), [(F32, "any")], True),
    ("polygamma 1", lambda x: lax.polygamma(1, x), [(F32, "pos")], False),
    ("clamp", lambda lo, x, hi: lax.clamp(lo, x, hi),
     [(F32, "small"), (F32, "any"), (F32, "small")], True),
]
# examples rank 0 or S; for select_n a shaped selector needs a shaped case
TERNARY_CONFIGS = [
    ((0, 0, 0), [S, S, S]), ((1, None, 2), [S, S, S]), ((None, 0, 1), [S, S, S]),
    ((2, 2, None), [S, S, ()]), ((0, None, None), [(), (), ()]), ((0, None, None), [S, S, ()]),
    ((None, 0, None), [(), S, ()]), ((0, 1, None), [(), S, ()]), ((1, 0, 1), [S, (), S], 2),
]


@pytest.mark.parametrize("row", PARAM_ROWS, ids=lambda r: r[0])
def test_vmap_of_parametrized_primitives(row, rng):
    label, f, specs, exact = row
    if len(specs) == 1:
        configs = UNARY_CONFIGS
    elif len(specs) == 3:
        configs = TERNARY_CONFIGS
    else:  # select_n with 3 cases
        configs = [(ax + ax[-1:], shapes + shapes[-1:]) for ax, shapes in
                   (c[:2] for c in TERNARY_CONFIGS)]
    check_vmap(rng, label, f, specs, configs, specs[-1][0], exact)


def test_vmap_select_n_with_unmapped_scalar_cases(rng):
    """A mapped selector choosing between unmapped scalars (the cases get a batch axis)."""
    for ex in [(), S]:
        p = fnp.asarray(rng.integers(0, 2, (B,) + ex).astype(bool))
        got = ft.vmap(lambda q: lax.select_n(q, fnp.float32(1), fnp.float32(2)))(p)
        np.testing.assert_array_equal(got, np.where(np.asarray(p), 2.0, 1.0))
        w = fnp.asarray(rng.integers(0, 3, (B,) + ex).astype(np.int32))
        got = ft.vmap(lambda q: lax.select_n(q, fnp.int32(5), fnp.int32(6), fnp.int32(7)),
                      in_axes=0)(w)
        np.testing.assert_array_equal(got, np.asarray(w) + 5)
    # and under where, which promotes and broadcasts first
    x = fnp.asarray(rng.normal(size=(B, 2)).astype(np.float32))
    got = ft.vmap(lambda v: fnp.where(v > 0, 1.0, -1.0))(x)
    np.testing.assert_array_equal(got, np.where(np.asarray(x) > 0, 1.0, -1.0))


def test_vmap_out_axes_none_for_unmapped_result():
    x = fnp.arange(6.0).reshape(2, 3)
    out, c = ft.vmap(lambda v, w: (lax.sin(v), lax.cos(w)), in_axes=(0, None),
                     out_axes=(0, None))(x, fnp.asarray(0.5))
    np.testing.assert_allclose(out, np.sin(np.asarray(x)), rtol=1e-6)
    np.testing.assert_allclose(c, np.cos(0.5), rtol=1e-6)


# --- composition with grad and jit ---------------------------------------------------------------

DIFFERENTIABLE = [
    ("sin", lax.sin), ("exp", lax.exp), ("logistic", lax.logistic), ("tanh", lax.tanh),
    ("erf", lax.erf), ("lgamma", lambda x: lax.lgamma(x + 3.0)),
    ("square", lambda x: lax.mul(x, x)), ("recip", lambda x: lax.div(1.0, x + 3.0)),
    ("atan2", lambda x: lax.atan2(x, 2.0)), ("pow", lambda x: lax.pow(x + 3.0, 1.5)),
    ("max", lambda x: lax.max(x, 0.3)), ("integer_pow", lambda x: lax.integer_pow(x, 3)),
    ("select", lambda x: lax.select(lax.gt(x, 0.0), x, lax.sin(x))),
    ("abs", lax.abs), ("sqrt", lambda x: lax.sqrt(x + 3.0)),
]


@pytest.mark.parametrize("name,f", DIFFERENTIABLE, ids=[n for n, _ in DIFFERENTIABLE])
def test_grad_of_vmap_and_vmap_of_grad(name, f, rng, x64):
    xs = fnp.asarray(rng.uniform(-2, 2, (B,)))
    want = np.stack([np.asarray(ft.grad(f)(x)) for x in xs])
    np.testing.assert_allclose(ft.vmap(ft.grad(f))(xs), want, rtol=1e-12, err_msg=name)
    got = ft.grad(lambda v: fnp.sum(ft.vmap(f)(v)))(xs)
    np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
    # examples of shape S mapped along a middle axis: per-example gradients of sum(f(x))
    xm = fnp.asarray(rng.uniform(-2, 2, (2, B, 4)))

    def per_example(v):
        return ft.grad(lambda u: fnp.sum(f(u)))(v)
    want = loop(per_example, [np.asarray(xm)], (1,))
    np.testing.assert_allclose(ft.vmap(per_example, in_axes=1)(xm), want, rtol=1e-12)
    got = ft.grad(lambda v: fnp.sum(ft.vmap(lambda u: fnp.sum(f(u)), in_axes=1)(v)))(xm)
    np.testing.assert_allclose(got, np.moveaxis(want, 0, 1), rtol=1e-12)


def test_jit_of_vmap_and_vmap_of_jit(rng):
    x = fnp.asarray(rng.uniform(0.5, 2, (B, 2, 4)).astype(np.float32))
    y = fnp.asarray(rng.uniform(0.5, 2, (2, 4, B)).astype(np.float32))
    i = fnp.asarray(rng.integers(-5, 5, (4, B)).astype(np.int32))

    def f(a, b, k):
        return [lax.atan2(a, b), lax.max(a, b), lax.div(k, fnp.int32(2)), lax.lt(a, b),
                lax.select_n(lax.gt(a, b), a, b), lax.lgamma(a), lax.integer_pow(b, 3),
                lax.convert_element_type(k, np.float32)]
    batched = ft.vmap(f, in_axes=(0, 2, 1))
    want = batched(x, y, i)
    got = jit(batched)(x, y, i)
    for g, w in zip(got, want):
        assert get_aval(g) == get_aval(w)
        np.testing.assert_allclose(_host(g), _host(w), rtol=2e-6, atol=2e-6)
    got = ft.vmap(jit(f), in_axes=(0, 2, 1))(x, y, i)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_host(g), _host(w), rtol=2e-6, atol=2e-6)
