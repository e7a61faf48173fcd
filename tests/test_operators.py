"""Array operators (+ - * / // % ** @ & | ^ << >> ~, comparisons, reflected forms)
against numpy and jax, and the errors of elementwise functions.

The tables, input generation and comparison helpers live in test_ufuncs.py.
"""

from __future__ import annotations
import operator
import warnings
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import functrans as ft
import functrans.numpy as fnp
from functrans.numpy import _ufuncs  # noqa: F401

from test_ufuncs import (  # noqa: E402  (shared tables and helpers)
    BINARY, DTYPES, _PY, _bug, _host, _numpy_accepts, _outs, _types, draw, jax_types, jax, jnp)

# --- operators ------------------------------------------------------------------------------------

ARITH = ("float32", "int32", "int8")
BITS = ("int32", "uint8", "bool")
SHIFTS = ("int32", "uint8")

# symbol, operator, numpy reference, dtypes, right-hand-side domain
BIN_OPS = [
    ("+", operator.add, ARITH + ("bool",), "any"),
    ("-", operator.sub, ARITH, "any"),
    ("*", operator.mul, ARITH + ("bool",), "any"),
    ("/", operator.truediv, ARITH, "nonzero"),
    ("//", operator.floordiv, ARITH, "nonzero"),
    ("%", operator.mod, ARITH, "nonzero"),
    ("**", operator.pow, ARITH, "exp"),
    ("&", operator.and_, BITS, "any"),
    ("|", operator.or_, BITS, "any"),
    ("^", operator.xor, BITS, "any"),
    ("<<", operator.lshift, SHIFTS, "shift"),
    (">>", operator.rshift, SHIFTS, "shift"),
    ("==", operator.eq, ARITH + ("bool",), "grid"),
    ("!=", operator.ne, ARITH + ("bool",), "grid"),
    ("<", operator.lt, ARITH, "grid"),
    ("<=", operator.le, ARITH, "grid"),
    (">", operator.gt, ARITH, "grid"),
    (">=", operator.ge, ARITH, "grid"),
    ("divmod", divmod, ARITH, "nonzero"),
]
OP_CASES = [pytest.param(op, f, dt, dom, id=f"{op}-{dt}") for op, f, dts, dom in BIN_OPS
            for dt in dts]


def _np_op(f, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return f(*args)


@pytest.mark.parametrize("op,f,dt,dom", OP_CASES)
def test_binary_operator(op, f, dt, dom, rng):
    x = draw(rng, dt, (2, 3), "grid" if dom == "grid" else "any")
    y = draw(rng, dt, (2, 3), dom)
    fx, fy, jx, jy = fnp.asarray(x), fnp.asarray(y), jnp.asarray(x), jnp.asarray(y)
    # jax arrays on both sides for the oracle: jax_types traces them abstractly
    cases = [
        ("array-array", (fx, fy), (jx, jy), (x, y)),
        ("array-numpy", (fx, y), (jx, y), (x, y)),
        ("numpy-array", (x, fy), (x, jy), (x, y)),  # numpy defers: __array_priority__
    ]
    s = {"<<": 2, ">>": 1, "**": 2}.get(op, 2 if dt != "bool" else True)
    cases += [("array-scalar", (fx, s), (jx, s), (x, s)),
              ("scalar-array", (s, fy), (s, jy), (s, y))]
    if op not in ("&", "|", "^", "<<", ">>"):
        cases += [("array-float", (fx, 1.5), (jx, 1.5), (x, 1.5)),
                  ("float-array", (1.5, fy), (1.5, jy), (1.5, y))]
    for name, fargs, jargs, nargs in cases:
        expected, err = jax_types(f, *jargs)
        if err is not None:
            with pytest.raises((TypeError, ValueError)):
                f(*fargs)
            continue
        outs = _outs(f(*fargs))
        assert all(isinstance(o, ft.Array) for o in outs), (name, [type(o) for o in outs])
        got = _types(outs)
        if op == "**" and not isinstance(fargs[1], float):  # see _int_exponent
            got, expected = [g[::2] for g in got], [e[::2] for e in expected]
        assert got == expected, name
        ref = _outs(_np_op(f, *nargs))
        for o, r in zip(outs, ref):
            if o.dtype.kind in "biu":
                np.testing.assert_array_equal(o, r, err_msg=name)
            else:
                np.testing.assert_allclose(_host(o).astype(np.float64), np.asarray(r, np.float64),
                                           rtol=2e-6, err_msg=name)


@pytest.mark.parametrize("op,f", [("neg", operator.neg), ("pos", operator.pos),
                                  ("abs", abs), ("invert", operator.invert)],
                         ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("dt", ["float32", "int32", "int8", "uint8", "bool", "complex64"])
def test_unary_operator(op, f, dt, rng):
    x = draw(rng, dt, (2, 3), "any")
    expected, err = jax_types(f, x)
    if err is not None:
        with pytest.raises(TypeError):
            f(fnp.asarray(x))
        return
    out = f(fnp.asarray(x))
    assert isinstance(out, ft.Array)
    assert _types(out) == expected
    if _numpy_accepts(f, [x]):  # numpy has no +bool; jax and functrans return it unchanged
        np.testing.assert_array_equal(out, _np_op(f, x))


def test_matmul_operator(rng):
    if not hasattr(fnp, "matmul"):
        pytest.skip("functrans.numpy.matmul is not there yet")
    a, b = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(fnp.asarray(a) @ fnp.asarray(b), a @ b, rtol=1e-5)
    out = a @ fnp.asarray(b)
    assert isinstance(out, ft.Array)
    np.testing.assert_allclose(out, a @ b, rtol=1e-5)
    np.testing.assert_allclose(fnp.asarray(a) @ b, a @ b, rtol=1e-5)


@pytest.mark.parametrize("scalar", [np.float32(2), np.int8(2), np.float64(2), np.bool_(True)],
                         ids=lambda v: type(v).__name__)
def test_numpy_scalars_are_strong_and_give_arrays(scalar):
    """A numpy scalar on either side is a strongly typed operand (as in jax), and on the
    left numpy defers to the Array (__array_priority__)."""
    x = np.array([1, 2, 3], np.float16)
    for f, args in [(lambda a, b: a * b, (scalar, x)), (lambda a, b: a + b, (x, scalar))]:
        fargs = [fnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        out = f(*fargs)
        assert isinstance(out, ft.Array)
        assert _types(out) == jax_types(f, *args)[0]
        np.testing.assert_allclose(_host(out), f(*[np.asarray(a, out.dtype) for a in args]))


def test_operators_keep_weak_python_scalars_weak():
    x = fnp.asarray(np.int8([1, 2, 3]))
    assert (x + 1).dtype == np.int8 and (1 + x).dtype == np.int8
    assert (x * 2.0).dtype == np.float32 and (x * 2.0).weak_type
    h = fnp.asarray(np.float16([1, 2]))
    assert (h * 2.0).dtype == np.float16 and not (h * 2.0).weak_type
    assert (2.0 - h).dtype == np.float16
    assert (fnp.asarray(1.0) + 1).weak_type


# --- hypothesis: promotion and broadcasting ------------------------------------------------------

_STRONG = ["bool", "int8", "int16", "int32", "uint8", "uint16", "uint32", "bfloat16",
           "float16", "float32", "complex64"]
_STRONG64 = ["int64", "uint64", "float64", "complex128"]
_PROMO_OPS = ["add", "multiply", "equal", "true_divide", "maximum", "subtract"]
_WEAK_VALUES = {"int": 3, "float": 1.5, "complex": 1.5 + 1j}


@st.composite
def _operand(draw_, x64):
    if draw_(st.booleans()):
        name = draw_(st.sampled_from(_STRONG + (_STRONG64 if x64 else [])))
        return ("strong", name)
    return ("weak", draw_(st.sampled_from(sorted(_WEAK_VALUES))),
            draw_(st.sampled_from(["scalar", "array"])))


def _build(spec, module):
    if spec[0] == "strong":
        return module.asarray(np.ones(3, np.dtype(spec[1])))
    value = _WEAK_VALUES[spec[1]]
    return value if spec[2] == "scalar" else module.asarray(value)


def _promotion_property(data, ops, traced):
    x64 = data.draw(st.booleans(), label="x64")
    ft.config.update("enable_x64", x64)
    jax.config.update("jax_enable_x64", x64)
    try:
        op = data.draw(st.sampled_from(ops), label="op")
        a, b = data.draw(_operand(x64), label="a"), data.draw(_operand(x64), label="b")
        expected, err = jax_types(getattr(jnp, op), _build(a, jnp), _build(b, jnp))
        fa, fb = _build(a, fnp), _build(b, fnp)
        if err is not None:
            with pytest.raises((TypeError, ValueError)):
                getattr(fnp, op)(fa, fb)
            return
        out = getattr(fnp, op)(fa, fb)
        assert _types(out) == expected, (op, a, b)
        if traced:  # the general path: Python scalars become IR literals
            arrays = [v for v in (fa, fb) if type(v) not in _PY]

            def f(*arrs):
                it = iter(arrs)
                return getattr(fnp, op)(*[v if type(v) in _PY else next(it) for v in (fa, fb)])

            aval = ft.make_ir(f)(*arrays).out_avals[0]
            assert _types(aval) == expected, (op, a, b, "traced")
    finally:
        ft.config.update("enable_x64", False)
        jax.config.update("jax_enable_x64", False)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_promotion_matches_jax_property(data):
    """Eagerly, for functions with a fast path (their promotion is the dtypes lattice)."""
    _promotion_property(data, ["add", "multiply", "subtract", "maximum", "equal"], False)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_promotion_matches_jax_property_general_path(data):
    """Traced, and for functions that always take the general path."""
    _promotion_property(data, _PROMO_OPS, True)


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       op=st.sampled_from(["add", "multiply", "less", "arctan2", "logaddexp", "where"]))
def test_broadcast_shapes_property(shapes, op):
    s1, s2 = shapes.input_shapes
    expected = np.broadcast_shapes(s1, s2)
    x = np.arange(int(np.prod(s1)), dtype=np.float32).reshape(s1)
    y = np.arange(int(np.prod(s2)), dtype=np.float32).reshape(s2) - 2
    f = (lambda a, b: fnp.where(fnp.greater(a, 1), a, b)) if op == "where" else getattr(fnp, op)
    ref = (np.where(x > 1, x, y) if op == "where" else getattr(np, op)(x, y))
    out = f(fnp.asarray(x), fnp.asarray(y))  # the fast path
    assert out.shape == expected
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    closed = ft.make_ir(f)(fnp.asarray(x), fnp.asarray(y))  # the general path
    assert closed.out_avals[0].shape == expected
    (general,) = ft.ir.eval_ir(closed.ir, closed.consts, [fnp.asarray(x), fnp.asarray(y)])
    np.testing.assert_array_equal(general, out)


@st.composite
def _incompatible_shapes(draw_):
    s1 = draw_(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    s2 = list(draw_(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)))
    try:
        np.broadcast_shapes(s1, tuple(s2))
    except ValueError:
        return s1, tuple(s2)
    # make the trailing dims clash: both not 1 and different
    d = s1[-1]
    s2[-1] = 2 if d not in (1, 2) else 3
    if d == 1:
        s1 = s1[:-1] + (4,)
    return s1, tuple(s2)


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(shapes=_incompatible_shapes(), op=st.sampled_from(["add", "subtract", "multiply",
                                                          "true_divide", "arctan2", "hypot",
                                                          "equal", "maximum", "power"]))
def test_incompatible_shapes_raise_property(shapes, op):
    s1, s2 = shapes
    with pytest.raises(ValueError):
        np.broadcast_shapes(s1, s2)
    fn = getattr(fnp, op)
    x, y = np.ones(s1, np.float32), np.ones(s2, np.float32)
    attempts = [
        ("fast", lambda: fn(fnp.asarray(x), fnp.asarray(y))),
        ("general", lambda: fn(fnp.asarray(x), y)),
        ("traced", lambda: ft.make_ir(fn)(fnp.asarray(x), fnp.asarray(y))),
    ]
    for path, attempt in attempts:
        with pytest.raises(ValueError) as info:
            attempt()
        msg = str(info.value)
        assert op in msg and str(s1) in msg and str(s2) in msg, (path, msg)


# --- errors ---------------------------------------------------------------------------------------

# every binary row: broadcasting (3, 2) with (4,) fails and names the function and both shapes
@pytest.mark.parametrize("row", [pytest.param(
    r, id=r.name, marks=[pytest.mark.xfail(reason=_bug("error_name", r, "float32"),
                                           strict=True)]
    if _bug("error_name", r, "float32") else []) for r in BINARY])
def test_broadcast_error_names_function_and_shapes(row):
    dt = "float32" if "float32" in row.dtypes else row.dtypes[0]
    x, y = fnp.ones((3, 2), DTYPES[dt]), fnp.ones((4,), DTYPES[dt])
    with pytest.raises(ValueError) as info:
        row.fn(x, y)
    msg = str(info.value)
    aliases = {"divide": "true_divide", "mod": "remainder", "pow": "power", "atan2": "arctan2",
               "divmod": "floor_divide", "bitwise_left_shift": "left_shift",
               "bitwise_right_shift": "right_shift"}
    assert row.name in msg or aliases.get(row.name, row.name) in msg, msg
    assert "(3, 2)" in msg and "(4,)" in msg, msg


def test_bool_subtract_raises_type_error():
    t = fnp.asarray([True, False])
    for attempt in [lambda: fnp.subtract(t, t), lambda: t - t, lambda: t - True,
                    lambda: True - t, lambda: ft.make_ir(fnp.subtract)(t, t)]:
        with pytest.raises(TypeError, match="subtract"):
            attempt()


def test_bool_negative_raises_type_error():
    with pytest.raises(TypeError):
        -fnp.asarray([True])


@pytest.mark.parametrize("fn", [fnp.sin, fnp.exp, fnp.negative, fnp.add], ids=lambda f: f.__name__)
def test_string_operand_raises_type_error(fn):
    args = ["a"] if fn is not fnp.add else [fnp.ones(2), "a"]
    with pytest.raises(TypeError):
        fn(*args)


def test_object_arrays_rejected():
    with pytest.raises(TypeError):
        fnp.sin(np.array([object()]))


@pytest.mark.parametrize("fn,dt", [(fnp.bitwise_and, "float32"), (fnp.left_shift, "float32"),
                                   (fnp.invert, "float32"), (fnp.arctan2, "complex64"),
                                   (fnp.floor_divide, "complex64"), (fnp.cbrt, "complex64"),
                                   (fnp.heaviside, "complex64")],
                         ids=lambda v: getattr(v, "__name__", v))
def test_wrong_dtype_category_raises_type_error(fn, dt):
    x = fnp.ones(3, DTYPES[dt])
    args = [x] if fn in (fnp.invert, fnp.cbrt) else [x, x]
    with pytest.raises(TypeError):
        fn(*args)
