"""The lax-level elementwise primitives (functrans.primitives.elementwise): each
wrapper against a numpy reference formula, its abstract_eval against jax.lax
(output dtype and weak type, and which dtypes it accepts), eager vs traced
evaluation, and the errors abstract_eval raises.

Table-driven: a row per primitive in UNARY_PRIMITIVES / BINARY_PRIMITIVES
(test_every_primitive_has_a_row fails when one is added without a row). Then
select_n, convert_element_type, integer_pow, round, clamp, shifts and integer
division, whose semantics are XLA's rather than numpy's.
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import ml_dtypes
import numpy as np
import pytest
import scipy.special

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from functrans.primitives import elementwise as ew

jax = pytest.importorskip("jax")
jlax = pytest.importorskip("jax.lax")

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64),
          "float16": np.dtype(np.float16), "bfloat16": BF16,
          "complex64": np.dtype(np.complex64), "int32": np.dtype(np.int32),
          "int8": np.dtype(np.int8), "uint8": np.dtype(np.uint8), "bool": np.dtype(np.bool_)}
FLOAT = ("float32", "float64", "float16", "bfloat16")
COMPLEX = ("complex64",)
INT = ("int32", "int8")
UINT = ("uint8",)
BOOL = ("bool",)
INTEGRAL = INT + UINT
INEXACT = FLOAT + COMPLEX
NUMERIC = INEXACT + INTEGRAL
ANY = NUMERIC + BOOL
ORDERED = FLOAT + INTEGRAL + BOOL

# lax names of primitives whose Python names are keywords
_LAX_NAME = {"not": "bitwise_not", "and": "bitwise_and", "or": "bitwise_or",
             "xor": "bitwise_xor"}


def draw(rng, dt, shape, domain="any"):
    d = DTYPES[dt]
    if d == np.bool_:
        return rng.integers(0, 2, shape).astype(bool) if domain != "nonzero" else \
            np.ones(shape, bool)
    if d.kind in "iu" and domain == "full":
        info = np.iinfo(d)
        return rng.integers(info.min, info.max, shape, endpoint=True).astype(d)
    if d.kind in "iu":
        lo, hi = {"any": (-20, 20), "pos": (1, 20), "nonzero": (1, 20), "unit": (0, 0),
                  "ge1": (1, 5), "small": (-3, 3), "exp": (0, 3)}[domain]
        if d.kind == "u":
            lo = max(lo, 0)
        v = rng.integers(lo, hi + 1, shape)
        if domain == "nonzero" and d.kind == "i":
            v = v * rng.choice([-1, 1], shape)
        return v.astype(d)
    if d.kind == "c":
        re = draw(rng, "float64", shape, domain)
        return (re + 1j * rng.uniform(-0.5, 0.5, shape)).astype(d)
    lo, hi = {"any": (-3, 3), "pos": (0.2, 3), "nonzero": (0.5, 3), "unit": (-0.9, 0.9),
              "ge1": (1.1, 3), "small": (-1.2, 1.2), "exp": (0.0, 3.0),
              "full": (-1e4, 1e4)}[domain]
    v = rng.uniform(lo, hi, shape)
    if domain == "nonzero":
        v = v * rng.choice([-1, 1], shape)
    return v.astype(d)


@dataclasses.dataclass(frozen=True)
class Prim:
    name: str
    ref: object
    dtypes: tuple
    domains: tuple = ("any",)
    exact: bool = False
    accepts: tuple = None  # dtypes abstract_eval accepts, when more than those value-tested

    @property
    def fn(self):
        return getattr(lax, _LAX_NAME.get(self.name, self.name))

    @property
    def jfn(self):
        return getattr(jlax, _LAX_NAME.get(self.name, self.name))

    def __str__(self):
        return self.name


def _f64(f):
    """A reference computed in float64/complex128, whatever the input precision."""
    def ref(*xs):
        wide = [x.astype(np.complex128 if x.dtype.kind == "c" else np.float64) for x in xs]
        return f(*wide)
    return ref


def _sign(x):
    if x.dtype.kind == "c":
        a = np.abs(x)
        return np.where(a == 0, 0, x / np.where(a == 0, 1, a))
    return np.sign(x)


UNARY = [
    Prim("neg", np.negative, NUMERIC, exact=True),
    Prim("sign", _sign, NUMERIC),
    Prim("floor", np.floor, FLOAT, exact=True),
    Prim("ceil", np.ceil, FLOAT, exact=True),
    Prim("is_finite", np.isfinite, FLOAT, ("special",), exact=True),
    Prim("exp", _f64(np.exp), INEXACT),
    Prim("exp2", _f64(np.exp2), INEXACT),
    Prim("log", _f64(np.log), INEXACT, ("pos",)),
    Prim("log1p", _f64(np.log1p), INEXACT, ("pos",)),
    Prim("expm1", _f64(np.expm1), INEXACT),
    Prim("tanh", _f64(np.tanh), INEXACT),
    Prim("logistic", _f64(lambda x: 1 / (1 + np.exp(-x))), INEXACT),
    Prim("sin", _f64(np.sin), INEXACT),
    Prim("cos", _f64(np.cos), INEXACT),
    Prim("tan", _f64(np.tan), INEXACT, ("small",)),
    Prim("asin", _f64(np.arcsin), INEXACT, ("unit",)),
    Prim("acos", _f64(np.arccos), INEXACT, ("unit",)),
    Prim("atan", _f64(np.arctan), INEXACT),
    Prim("sinh", _f64(np.sinh), INEXACT),
    Prim("cosh", _f64(np.cosh), INEXACT),
    Prim("asinh", _f64(np.arcsinh), INEXACT),
    Prim("acosh", _f64(np.arccosh), INEXACT, ("ge1",)),
    Prim("atanh", _f64(np.arctanh), INEXACT, ("unit",)),
    Prim("sqrt", _f64(np.sqrt), INEXACT, ("pos",)),
    Prim("rsqrt", _f64(lambda x: 1 / np.sqrt(x)), INEXACT, ("pos",)),
    Prim("cbrt", _f64(np.cbrt), FLOAT),
    Prim("abs", np.abs, FLOAT + COMPLEX + INT, exact=True),
    Prim("erf", _f64(scipy.special.erf), FLOAT),
    Prim("erfc", _f64(scipy.special.erfc), FLOAT),
    Prim("erf_inv", _f64(scipy.special.erfinv), FLOAT, ("unit",)),
    Prim("lgamma", _f64(scipy.special.gammaln), FLOAT, ("pos",)),
    Prim("digamma", _f64(scipy.special.digamma), FLOAT, ("pos",)),
    Prim("not", np.invert, INTEGRAL + BOOL, ("full",), exact=True),
    Prim("real", np.real, COMPLEX, exact=True),
    Prim("imag", np.imag, COMPLEX, exact=True),
    Prim("conj", np.conj, COMPLEX, exact=True,
         accepts=("float32", "float64") + COMPLEX),  # float32/64 -> complex, as jax.lax
    Prim("stop_gradient", lambda x: x, ANY, exact=True),
]


def _trunc_div(a, b):
    """C integer division (rounds toward zero), computed with Python ints."""
    if a.dtype.kind not in "iu":
        return a / b
    a, b = np.broadcast_arrays(a, b)
    q = [int(x) // int(y) if (int(x) >= 0) == (int(y) > 0) or int(x) % int(y) == 0
         else int(x) // int(y) + 1 for x, y in zip(a.ravel(), b.ravel())]
    return np.array(q, dtype=np.int64).reshape(np.broadcast_shapes(a.shape, b.shape))


def _c_rem(a, b):
    """The remainder of C division: the sign of the dividend."""
    if a.dtype.kind not in "iu":
        return np.fmod(a, b)
    a, b = np.broadcast_arrays(a, b)
    return a.astype(np.int64) - b.astype(np.int64) * _trunc_div(a, b)


def _wrap(values, dtype):
    """Python ints reduced modulo 2**bits into ``dtype`` (two's complement)."""
    bits = dtype.itemsize * 8
    v = np.array([int(x) % (1 << bits) for x in np.ravel(values)], dtype=object)
    if dtype.kind == "i":
        v = np.array([x - (1 << bits) if x >= 1 << (bits - 1) else x for x in v], dtype=object)
    return v.astype(np.int64).astype(dtype).reshape(np.shape(values))


def _shift_ref(kind):
    def ref(x, y):
        dtype, bits = x.dtype, x.dtype.itemsize * 8
        x, y = np.broadcast_arrays(x, y)
        out = []
        for a, s in zip(x.ravel().tolist(), y.ravel().tolist()):
            in_range = 0 <= s < bits
            if kind == "left":
                out.append((a << s) if in_range else 0)
            elif kind == "logical":
                out.append(((a % (1 << bits)) >> s) if in_range else 0)
            else:  # arithmetic: the top bit is the sign, whatever the dtype's signedness
                signed = a - (1 << bits) if a >= 1 << (bits - 1) else a
                out.append(signed >> s if in_range else (-1 if signed < 0 else 0))
        return _wrap(np.array(out, dtype=object).reshape(x.shape), dtype)
    return ref


BINARY = [
    Prim("add", np.add, NUMERIC, ("any", "any"), exact=True),
    Prim("sub", np.subtract, NUMERIC, ("any", "any"), exact=True),
    Prim("mul", np.multiply, NUMERIC, ("any", "any"), exact=True),
    Prim("div", _trunc_div, NUMERIC, ("any", "nonzero")),
    Prim("rem", _c_rem, FLOAT + INTEGRAL, ("any", "nonzero"), exact=True),
    Prim("pow", _f64(np.power), INEXACT, ("pos", "any")),
    Prim("max", np.maximum, ANY, ("any", "any"), exact=True),
    Prim("min", np.minimum, ANY, ("any", "any"), exact=True),
    Prim("atan2", _f64(np.arctan2), FLOAT, ("any", "any")),
    Prim("nextafter", np.nextafter, ("float32", "float64", "float16"), ("any", "any"),
         exact=True, accepts=FLOAT),
    Prim("complex", lambda x, y: x.astype(np.float64) + 1j * y.astype(np.float64),
         ("float32", "float64"), ("any", "any")),
    Prim("and", np.bitwise_and, INTEGRAL + BOOL, ("full", "full"), exact=True),
    Prim("or", np.bitwise_or, INTEGRAL + BOOL, ("full", "full"), exact=True),
    Prim("xor", np.bitwise_xor, INTEGRAL + BOOL, ("full", "full"), exact=True),
    Prim("shift_left", _shift_ref("left"), INTEGRAL, ("full", "exp"), exact=True),
    Prim("shift_right_arithmetic", _shift_ref("arithmetic"), INTEGRAL, ("full", "exp"),
         exact=True),
    Prim("shift_right_logical", _shift_ref("logical"), INTEGRAL, ("full", "exp"), exact=True),
    Prim("eq", np.equal, ANY, ("small", "small"), exact=True),
    Prim("ne", np.not_equal, ANY, ("small", "small"), exact=True),
    Prim("lt", np.less, ORDERED, ("small", "small"), exact=True),
    Prim("le", np.less_equal, ORDERED, ("small", "small"), exact=True),
    Prim("gt", np.greater, ORDERED, ("small", "small"), exact=True),
    Prim("ge", np.greater_equal, ORDERED, ("small", "small"), exact=True),
]

# Where functrans accepts a dtype jax.lax rejects, or the reverse: deliberate
# leniencies (functrans side) and gaps. Anything else is a test failure.
LENIENT = {("abs", "uint8"), ("pow", "int32"), ("pow", "int8"), ("pow", "uint8"),
           ("complex", "float16"), ("complex", "bfloat16")}
GAPS = {("atan2", "complex64"): "lax.atan2 of complex arrays"}

# (check, primitive, dtype) -> reason, for bugs found by the table tests (none open).
KNOWN_BUGS = {}


def _cases(table, check):
    out = []
    for row in table:
        for dt in row.dtypes:
            reason = KNOWN_BUGS.get((check, row.name, dt))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(row, dt, id=f"{row.name}-{dt}", marks=marks))
    return out


def _need_x64(request, dt):
    if dt == "float64":
        request.getfixturevalue("x64")


def _host(x):
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype == BF16 else x


def _tol(dt):
    return {"float16": 2e-3, "bfloat16": 1e-2, "float64": 1e-12}.get(dt, 2e-6)


def _assert_matches(out, ref, dt, exact):
    out, ref = _host(out), np.asarray(ref)
    assert out.shape == ref.shape
    if exact or out.dtype.kind in "biu":
        np.testing.assert_array_equal(out, _host(ref.astype(out.dtype)))
    else:
        tol = _tol(dt)
        np.testing.assert_allclose(out.astype(ref.dtype), ref, rtol=tol, atol=tol)


def _special(dt, shape):
    vals = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0])
    return np.resize(vals, shape).astype(DTYPES[dt])


def _inputs(rng, row, dt, shape):
    return [(_special(dt, shape) if d == "special" else draw(rng, dt, shape, d))
            for d in row.domains]


def _jax_aval(fn, *args):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = jax.eval_shape(fn, *args)
    except (TypeError, ValueError):
        return None
    return np.dtype(out.dtype), bool(out.weak_type), tuple(out.shape)


# --- table coverage -------------------------------------------------------------------------------


def test_every_primitive_has_a_row():
    assert {p.name for p in ew.UNARY_PRIMITIVES} == {r.name for r in UNARY}
    assert {p.name for p in ew.BINARY_PRIMITIVES} == {r.name for r in BINARY}


@pytest.mark.parametrize("p", ew.UNARY_PRIMITIVES + ew.BINARY_PRIMITIVES,
                         ids=lambda p: p.name)
def test_wrapper_binds_its_primitive_and_has_a_docstring(p):
    fn = getattr(lax, _LAX_NAME.get(p.name, p.name))
    assert fn.__doc__
    x = fnp.ones(3, np.float32 if p.name not in ("not", "and", "or", "xor", "shift_left",
                                                 "shift_right_arithmetic",
                                                 "shift_right_logical") else np.int32)
    if p.name in ("real", "imag", "conj"):
        x = fnp.ones(3, np.complex64)
    args = [x] if p in ew.UNARY_PRIMITIVES else [x, x]
    closed = ft.make_ir(fn)(*args)
    assert [e.prim for e in closed.eqns] == [p]


# --- values, eager and traced ---------------------------------------------------------------------


@pytest.mark.parametrize("row,dt", _cases(UNARY, "values"))
def test_unary_values(row, dt, rng, request):
    _need_x64(request, dt)
    for shape in [(), (0,), (2, 3)]:
        (x,) = _inputs(rng, row, dt, shape)
        out = row.fn(fnp.asarray(x))
        _assert_matches(out, row.ref(x), dt, row.exact)


@pytest.mark.parametrize("row,dt", _cases(BINARY, "values"))
def test_binary_values(row, dt, rng, request):
    _need_x64(request, dt)
    for s1, s2 in [((), ()), ((0,), (0,)), ((2, 3), (2, 3)), ((2, 3), ()), ((), (4,))]:
        x, y = draw(rng, dt, s1, row.domains[0]), draw(rng, dt, s2, row.domains[1])
        out = row.fn(fnp.asarray(x), fnp.asarray(y))
        _assert_matches(out, row.ref(x, y), dt, row.exact)


def _check_traced(fn, args):
    eager = fn(*args)
    closed = ft.make_ir(fn)(*args)
    ft.ir.typecheck(closed)
    assert closed.out_avals == [eager.aval]
    (traced,) = ft.ir.eval_ir(closed.ir, closed.consts, args)
    assert traced.aval == eager.aval
    np.testing.assert_array_equal(_host(traced), _host(eager))


@pytest.mark.parametrize("row,dt", _cases(UNARY + BINARY, "traced"))
def test_traced_matches_eager_and_jax_types(row, dt, rng, request):
    """make_ir + eval_ir agrees with eager; the output aval is jax.lax's."""
    _need_x64(request, dt)
    args = [fnp.asarray(a) for a in _inputs(rng, row, dt, (2, 3))]
    _check_traced(row.fn, args)
    out = row.fn(*args)
    expected = _jax_aval(row.jfn, *[np.asarray(a) for a in args])
    if (row.name, dt) not in LENIENT:
        assert (out.dtype, out.weak_type, out.shape) == expected


@pytest.mark.parametrize("row", UNARY + BINARY, ids=str)
def test_accepted_dtypes_match_jax_lax(row):
    """A dtype outside the primitive's categories raises TypeError naming the primitive and
    the dtype; the accepted set is jax.lax's, up to LENIENT and GAPS."""
    for dt in ("float32", "float16", "bfloat16", "complex64", "int32", "int8", "uint8",
               "bool"):
        x = np.ones(3, DTYPES[dt])
        nargs = 1 if row in UNARY else 2
        jax_ok = _jax_aval(row.jfn, *[x] * nargs) is not None
        if dt in (row.accepts or row.dtypes) or (row.name, dt) in LENIENT:
            assert jax_ok or (row.name, dt) in LENIENT, (dt, "jax.lax rejects it")
            row.fn(*[fnp.asarray(x)] * nargs)
            continue
        assert not jax_ok or (row.name, dt) in GAPS, (dt, "jax.lax accepts it")
        with pytest.raises(TypeError) as info:
            row.fn(*[fnp.asarray(x)] * nargs)
        assert row.name in str(info.value) and dt in str(info.value), str(info.value)
        with pytest.raises(TypeError):  # the same rule while tracing
            ft.make_ir(row.fn)(*[fnp.asarray(x)] * nargs)


# --- abstract_eval errors -------------------------------------------------------------------------


@pytest.mark.parametrize("row", BINARY, ids=str)
def test_binary_mismatched_dtypes_raise_type_error(row):
    a, b = row.dtypes[0], "int32" if row.dtypes[0] != "int32" else "int8"
    if row.name == "pow":
        # float ** int is valid in lax.pow (as in jax.lax.pow); int ** float is not.
        a, b = "int32", row.dtypes[0]
        with pytest.raises(TypeError):
            jlax.pow(np.ones(3, DTYPES[a]), np.ones(3, DTYPES[b]))
    x, y = fnp.ones(3, DTYPES[a]), fnp.ones(3, DTYPES[b])
    for attempt in [lambda: row.fn(x, y), lambda: ft.make_ir(row.fn)(x, y)]:
        with pytest.raises(TypeError) as info:
            attempt()
        assert row.name in str(info.value), str(info.value)


@pytest.mark.parametrize("row", BINARY, ids=str)
def test_binary_mismatched_shapes_raise_value_error(row):
    d = DTYPES[row.dtypes[0]]
    x, y = fnp.ones((2, 3), d), fnp.ones((3,), d)
    for attempt in [lambda: row.fn(x, y), lambda: ft.make_ir(row.fn)(x, y)]:
        with pytest.raises(ValueError) as info:
            attempt()
        msg = str(info.value)
        assert row.name in msg and "(2, 3)" in msg and "(3,)" in msg, msg


def test_sin_of_int32_names_sin_and_int32():
    with pytest.raises(TypeError, match=r"sin.*int32"):
        lax.sin(fnp.asarray(np.int32([1, 2])))


def test_lax_does_not_promote_or_broadcast():
    with pytest.raises(TypeError, match="add"):
        lax.add(fnp.ones(3, np.float32), fnp.ones(3, np.float16))
    with pytest.raises(ValueError, match="add"):
        lax.add(fnp.ones((3, 1)), fnp.ones((1, 3)))
    # rank-0 operands broadcast
    assert lax.add(fnp.ones((2, 3)), fnp.asarray(np.float32(1))).shape == (2, 3)


@pytest.mark.parametrize("dt", ["float32", "float16", "int8", "uint8", "complex64"])
def test_python_scalars_are_typed_like_the_other_operand(dt):
    x = fnp.ones(3, DTYPES[dt])
    for out in (lax.add(x, 2), lax.add(2, x), lax.mul(x, 3), lax.sub(1, x)):
        assert (out.dtype, out.weak_type) == (DTYPES[dt], False)
    w = lax.add(2.0, 3.0)
    assert (w.dtype, w.weak_type) == (np.float32, True)
    wx = lax.add(fnp.asarray(2.0), 1)  # a weak array with a scalar stays weak
    assert (wx.dtype, wx.weak_type) == (np.float32, True)


# --- select_n -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ["float32", "int8", "bool", "complex64", "bfloat16"])
def test_select_n(dt, rng):
    cases = [fnp.asarray(draw(rng, dt, (2, 3))) for _ in range(3)]
    c_np = [np.asarray(c) for c in cases]
    # bool selector: False picks cases[0]
    which = rng.integers(0, 2, (2, 3)).astype(bool)
    out = lax.select_n(fnp.asarray(which), cases[0], cases[1])
    np.testing.assert_array_equal(_host(out), _host(np.where(which, c_np[1], c_np[0])))
    # int32 selector, three cases
    which3 = rng.integers(0, 3, (2, 3)).astype(np.int32)
    out = lax.select_n(fnp.asarray(which3), *cases)
    np.testing.assert_array_equal(_host(out), _host(np.choose(which3, c_np)))
    assert (out.dtype, out.weak_type) == _jax_aval(jlax.select_n, which3, *c_np)[:2]
    # a scalar selector picks whole cases
    for w, i in [(np.int32(2), 2), (np.bool_(True), 1), (np.int32(0), 0)]:
        got = lax.select_n(fnp.asarray(w), *cases[: 2 if w.dtype == bool else 3])
        np.testing.assert_array_equal(_host(got), _host(c_np[i]))
    # lax.select(pred, on_true, on_false)
    out = lax.select(fnp.asarray(which), cases[0], cases[1])
    np.testing.assert_array_equal(_host(out), _host(np.where(which, c_np[0], c_np[1])))
    _check_traced(lambda w, *cs: lax.select_n(w, *cs), [fnp.asarray(which3), *cases])
    _check_traced(lambda w, a, b: lax.select_n(w, a, b), [fnp.asarray(which), *cases[:2]])


def test_select_n_single_case_and_weak_types():
    x = fnp.asarray(np.float32([1, 2]))
    np.testing.assert_array_equal(lax.select_n(fnp.asarray(np.int32([0, 0])), x), x)
    w = lax.select_n(fnp.asarray(True), fnp.asarray(1.0), fnp.asarray(2.0))
    assert (float(w), w.weak_type) == (2.0, True)


def test_select_n_errors():
    f, i = fnp.ones(3), fnp.ones(3, np.int32)
    with pytest.raises(TypeError, match="select_n"):
        lax.select_n(f, f, f)  # float selector
    with pytest.raises(TypeError, match="select_n"):
        lax.select_n(fnp.asarray([True, False, True]), f, f, f)  # bool chooses among 2
    with pytest.raises(TypeError, match="select_n"):
        lax.select_n(fnp.asarray([True, False, True]), f, i)  # cases of two dtypes
    with pytest.raises(ValueError, match="select_n"):
        lax.select_n(fnp.asarray([True, False]), f, f)  # selector shape
    with pytest.raises(ValueError, match="select_n"):
        lax.select_n(fnp.asarray([True, False]), fnp.asarray(1.0), fnp.asarray(2.0))
    with pytest.raises(ValueError, match="select_n"):
        lax.select_n(fnp.asarray(True))
    with pytest.raises(TypeError, match="select_n"):  # the same rule while tracing
        ft.make_ir(lambda w, a: lax.select_n(w, a, a))(f, f)


# --- convert_element_type ---------------------------------------------------------------------

SATURATION_VALUES = [np.nan, np.inf, -np.inf, 1e10, -1e10, 2.7, -2.7, 2.0**31, -2.0**31,
                     300.0, -300.0, 65504.0, 4294967296.0, 255.5, 127.9, -0.5, 0.0]


def _xla_float_to_int(x, target):
    """XLA's conversion: NaN -> 0, truncate toward zero, saturate at the integer range
    (in Python ints: no float rounding of the bounds)."""
    info = np.iinfo(target)
    out = [0 if np.isnan(v) else info.max if v == np.inf else info.min if v == -np.inf
           else min(max(int(v), info.min), info.max) for v in np.asarray(x, np.float64).ravel()]
    return np.array(out, dtype=np.dtype(target)).reshape(np.shape(x))


def _saturation_cases():
    out = []
    for src in ("float32", "float16", "bfloat16", "float64"):
        for tgt in ("int8", "uint8", "int16", "int32", "uint32", "int64"):
            if (tgt == "int64") == (src == "float64"):
                out.append(pytest.param(src, tgt, id=f"{src}->{tgt}"))
    return out


@pytest.mark.parametrize("src,tgt", _saturation_cases())
def test_convert_float_to_int_saturates_and_maps_nan_to_zero(src, tgt, request):
    if src == "float64":
        request.getfixturevalue("x64")
    x = np.array(SATURATION_VALUES, np.float64).astype(DTYPES[src])
    out = lax.convert_element_type(fnp.asarray(x), np.dtype(tgt))
    assert out.dtype == np.dtype(tgt)
    np.testing.assert_array_equal(out, _xla_float_to_int(x.astype(np.float64), np.dtype(tgt)))


def test_convert_float_to_int_reference_is_xla():
    """The reference above, checked against jax.lax on the values it can express exactly."""
    x = np.array(SATURATION_VALUES, np.float32)
    for tgt in (np.int8, np.uint8, np.int32):
        jout = jax.jit(lambda v: jlax.convert_element_type(v, tgt))(x)
        np.testing.assert_array_equal(np.asarray(jout), _xla_float_to_int(x, np.dtype(tgt)))


@pytest.mark.parametrize("tgt", ["float32", "int32", "int8", "bool"])
def test_convert_complex_keeps_the_real_part(tgt):
    z = np.complex64([1.7 + 2j, -2.5 - 1j, 0 + 1j, 0j])
    out = lax.convert_element_type(fnp.asarray(z), np.dtype(tgt))
    re = z.real
    expected = {"float32": re, "int32": np.trunc(re).astype(np.int32),
                "int8": np.trunc(re).astype(np.int8), "bool": re != 0}[tgt]
    assert out.dtype == np.dtype(tgt)
    np.testing.assert_array_equal(out, expected)


def test_convert_to_and_from_bool():
    f = np.float32([0.0, -0.0, 0.1, -3.0, np.nan, np.inf])
    np.testing.assert_array_equal(lax.convert_element_type(fnp.asarray(f), np.bool_),
                                  f != 0)
    i = np.int8([0, 1, -1, 127])
    np.testing.assert_array_equal(lax.convert_element_type(fnp.asarray(i), np.bool_), i != 0)
    b = np.array([True, False])
    for tgt in (np.float32, np.int32, np.uint8, np.complex64):
        out = lax.convert_element_type(fnp.asarray(b), tgt)
        assert out.dtype == tgt
        np.testing.assert_array_equal(out, b.astype(tgt))


def test_convert_between_ints_wraps_and_floats_round():
    i = np.int32([300, -300, 127, -129, 65535])
    np.testing.assert_array_equal(lax.convert_element_type(fnp.asarray(i), np.int8),
                                  i.astype(np.int8))
    np.testing.assert_array_equal(lax.convert_element_type(fnp.asarray(i), np.uint8),
                                  i.astype(np.uint8))
    f = np.float32([1e5, 1.0009765625, 3.14159, -7e4])
    np.testing.assert_array_equal(lax.convert_element_type(fnp.asarray(f), np.float16),
                                  f.astype(np.float16))
    np.testing.assert_array_equal(
        _host(lax.convert_element_type(fnp.asarray(f), BF16)), _host(f.astype(BF16)))


def test_convert_weak_type_and_canonicalization():
    x = fnp.asarray(np.float32([1.5]))
    assert lax.convert_element_type(x, np.float32) is x  # nothing changes: no equation
    w = lax.convert_element_type(x, np.float32, weak_type=True)
    assert (w.dtype, w.weak_type) == (np.float32, True)
    assert lax.convert_element_type(x, np.float64).dtype == np.float32  # x64 is off
    assert lax.convert_element_type(2, np.int8).dtype == np.int8  # a Python scalar
    closed = ft.make_ir(lambda v: lax.convert_element_type(v, np.int32))(x)
    ft.ir.typecheck(closed)
    assert closed.out_avals[0].dtype == np.int32


# --- integer_pow, round, clamp --------------------------------------------------------------------


@pytest.mark.parametrize("y", [-3, -2, -1, 0, 1, 2, 3, 7])
@pytest.mark.parametrize("dt", ["float32", "float16", "complex64", "int32", "int8", "uint8"])
def test_integer_pow(dt, y, rng):
    if y < 0 and DTYPES[dt].kind in "iu":
        return  # see test_integer_pow_negative_exponent_of_integers
    x = draw(rng, dt, (2, 5), "nonzero" if y < 0 else "small")
    out = lax.integer_pow(fnp.asarray(x), y)
    assert out.dtype == DTYPES[dt]
    if DTYPES[dt].kind in "iu":
        expected = _wrap(np.array([int(v) ** y for v in x.ravel()], dtype=object)
                         .reshape(x.shape), x.dtype)
        np.testing.assert_array_equal(out, expected)
    else:
        wide = np.complex128 if dt == "complex64" else np.float64
        np.testing.assert_allclose(np.asarray(out).astype(wide), x.astype(wide) ** y,
                                   rtol=_tol(dt) * (1 + abs(y)), atol=1e-6)
    _check_traced(lambda v: lax.integer_pow(v, y), [fnp.asarray(x)])


def test_integer_pow_negative_exponent_of_integers():
    # jax.lax raises too: integers cannot be raised to negative powers (XLA has no such op).
    with pytest.raises(TypeError, match="negative power"):
        lax.integer_pow(fnp.asarray(np.int32([1, 2])), -1)


ROUND_VALUES = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.4, -0.6, 3.7, 0.0, -0.0, np.nan, np.inf,
                -np.inf, 1e30]


def _round_away_ref(x):
    t = np.trunc(x)
    return np.where(np.abs(x - t) == 0.5, t + np.copysign(1.0, x), np.rint(x)).astype(x.dtype)


@pytest.mark.parametrize("method", [0, 1, "AWAY_FROM_ZERO"], ids=str)
@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_round(dt, method, request):
    _need_x64(request, dt)
    if method == "AWAY_FROM_ZERO":
        method = jlax.RoundingMethod.AWAY_FROM_ZERO  # an IntEnum (0): jax's own spelling
    x = np.array(ROUND_VALUES, DTYPES[dt])
    out = lax.round(fnp.asarray(x), method)
    assert out.dtype == x.dtype
    expected = _round_away_ref(x) if int(method) == 0 else np.rint(x)
    np.testing.assert_array_equal(_host(out), _host(expected))
    assert np.array_equal(np.signbit(_host(out)), np.signbit(_host(expected)))  # -0.0 stays


@pytest.mark.parametrize("dt,values", [
    ("float32", [np.nextafter(np.float32(0.5), np.float32(0)), 2.0**23 + 1, -(2.0**23 + 3)]),
    ("float64", [np.nextafter(0.5, 0.0), 2.0**52 + 1]),
], ids=["float32", "float64"])
def test_round_away_from_zero_near_halves_and_large_odd_integers(dt, values, request):
    _need_x64(request, dt)
    x = np.array(values, DTYPES[dt])
    np.testing.assert_array_equal(lax.round(fnp.asarray(x), 0), _round_away_ref(x))


def test_round_of_integers_is_rejected():
    with pytest.raises(TypeError, match="round"):
        lax.round(fnp.asarray(np.int32([1])), 0)


@pytest.mark.parametrize("dt", ["float32", "int32", "uint8", "float16"])
def test_clamp(dt, rng):
    x = draw(rng, dt, (12,))
    lo, hi = (1, 9) if dt == "uint8" else (-1, 2)
    out = lax.clamp(lo, fnp.asarray(x), hi)  # Python scalar bounds, typed like x
    assert (out.dtype, out.weak_type) == (DTYPES[dt], False)
    np.testing.assert_array_equal(_host(out), _host(np.minimum(np.maximum(x, lo), hi)))
    lo_a, hi_a = draw(rng, dt, (12,)), draw(rng, dt, (12,))
    lo_a, hi_a = np.minimum(lo_a, hi_a), np.maximum(lo_a, hi_a)
    out = lax.clamp(fnp.asarray(lo_a), fnp.asarray(x), fnp.asarray(hi_a))
    np.testing.assert_array_equal(_host(out), _host(np.minimum(np.maximum(x, lo_a), hi_a)))
    assert out.aval == ft.ShapedArray((12,), DTYPES[dt])
    _check_traced(lambda a, b, c: lax.clamp(a, b, c),
                  [fnp.asarray(lo_a), fnp.asarray(x), fnp.asarray(hi_a)])


def test_clamp_propagates_nan_and_rejects_mixed_dtypes():
    out = lax.clamp(0.0, fnp.asarray(np.float32([np.nan, -1.0, 5.0])), 1.0)
    np.testing.assert_array_equal(out, [np.nan, 0.0, 1.0])
    with pytest.raises(TypeError):
        lax.clamp(fnp.asarray(np.int32(0)), fnp.ones(3), fnp.asarray(np.int32(1)))


# --- shifts and integer division ----------------------------------------------------------------

SHIFT_KINDS = [("shift_left", "left"), ("shift_right_logical", "logical"),
               ("shift_right_arithmetic", "arithmetic")]


@pytest.mark.parametrize("name,kind,dt", [
    pytest.param(name, kind, dt, id=f"{kind}-{dt}") for name, kind in SHIFT_KINDS
    for dt in ("int32", "int8", "int16", "uint8", "uint32")])
def test_shifts_including_out_of_range_amounts(name, kind, dt):
    d = np.dtype(dt)
    bits = d.itemsize * 8
    info = np.iinfo(d)
    values = [0, 1, -1, 5, -8, info.max, info.min, 0x55, -0x56]
    amounts = [-1, 0, 1, 3, bits - 1, bits, bits + 5, 100]
    x = _wrap(np.array([v for v in values for _ in amounts], dtype=object), d)
    s = np.array([a for _ in values for a in amounts], np.int64)
    s = s.astype(d) if d.kind == "i" else np.where(s < 0, info.max, s).astype(d)
    out = getattr(lax, name)(fnp.asarray(x), fnp.asarray(s))
    expected = _shift_ref(kind)(x, s.astype(np.int64) if d.kind == "i" else s.astype(np.uint64))
    assert out.dtype == d
    np.testing.assert_array_equal(out, expected)


def test_shift_reference_is_xla():
    """The shift reference formula, checked against compiled jax.lax on int8."""
    x = np.int8([-128, -1, 5, 127, -8, 3])
    s = np.int8([1, 7, 8, 9, -1, 2])
    for name, kind in SHIFT_KINDS:
        jout = jax.jit(getattr(jlax, name))(x, s)
        np.testing.assert_array_equal(np.asarray(jout), _shift_ref(kind)(x, s.astype(np.int64)))


@pytest.mark.parametrize("dt", ["int32", "int8", "uint8"])
def test_integer_div_rounds_toward_zero_and_rem_has_the_dividends_sign(dt, rng):
    d = np.dtype(dt)
    a = draw(rng, dt, (200,), "any")
    b = draw(rng, dt, (200,), "nonzero")
    q = lax.div(fnp.asarray(a), fnp.asarray(b))
    r = lax.rem(fnp.asarray(a), fnp.asarray(b))
    np.testing.assert_array_equal(q, _trunc_div(a, b).astype(d))
    np.testing.assert_array_equal(r, _c_rem(a, b).astype(d))
    r64 = np.asarray(r).astype(np.int64)
    assert np.all((r64 == 0) | (np.sign(r64) == np.sign(a.astype(np.int64))))
    np.testing.assert_array_equal(np.asarray(q).astype(np.int64) * b + r64, a.astype(np.int64))
    if d.kind == "i":  # the overflowing case: INT_MIN / -1 wraps, and its remainder is 0
        m = np.array([np.iinfo(d).min], d)
        np.testing.assert_array_equal(lax.div(fnp.asarray(m), fnp.asarray(np.array([-1], d))),
                                      m)
        np.testing.assert_array_equal(lax.rem(fnp.asarray(m), fnp.asarray(np.array([-1], d))),
                                      [0])


def test_float_div_and_rem():
    a, b = np.float32([7.5, -7.5, 1.0, -0.0]), np.float32([2.0, 2.0, 0.0, 3.0])
    np.testing.assert_array_equal(lax.div(fnp.asarray(a), fnp.asarray(b)), a / b)
    np.testing.assert_array_equal(lax.rem(fnp.asarray(a), fnp.asarray(b)), np.fmod(a, b))


def test_max_min_propagate_nan():
    x, y = np.float32([np.nan, 1.0, -0.0]), np.float32([1.0, np.nan, 0.0])
    np.testing.assert_array_equal(lax.max(fnp.asarray(x), fnp.asarray(y)), [np.nan, np.nan, 0])
    np.testing.assert_array_equal(lax.min(fnp.asarray(x), fnp.asarray(y)), [np.nan, np.nan, 0])


# --- bitcast_convert_type -----------------------------------------------------------------------


@pytest.mark.parametrize("src,tgt", [("float32", "int32"), ("int32", "float32"),
                                     ("float32", "uint32"), ("float16", "int16"),
                                     ("bfloat16", "uint16"), ("int8", "uint8"),
                                     ("uint8", "int8")], ids=lambda v: v)
def test_bitcast_convert_type_reinterprets_bits(src, tgt, rng):
    src_dt = DTYPES.get(src, np.dtype(src))
    x = np.concatenate([draw(rng, src, (6,), "full") if src in DTYPES
                        else rng.normal(size=6).astype(src_dt),
                        np.array([0, -0.0 if src_dt.kind == "f" else 0]).astype(src_dt)])
    out = lax.bitcast_convert_type(fnp.asarray(x), np.dtype(tgt))
    expected = x.view(np.dtype(tgt))
    assert (out.dtype, out.shape) == (expected.dtype, expected.shape)
    np.testing.assert_array_equal(np.asarray(out).view(np.uint8), expected.view(np.uint8))
    assert (out.dtype, out.weak_type, out.shape) == _jax_aval(
        lambda v: jlax.bitcast_convert_type(v, np.dtype(tgt)), x)
    _check_traced(lambda v: lax.bitcast_convert_type(v, np.dtype(tgt)), [fnp.asarray(x)])


def test_bitcast_convert_type_errors():
    # widths differ: a narrower type adds a trailing axis, a wider one needs it (as jax)
    for x, dt in [(np.ones(3, np.float32), np.int8), (np.ones((3, 2), np.uint8), np.float32),
                  (np.arange(8, dtype=np.uint8).reshape(2, 4), np.float32),
                  (np.float32(1.5), np.uint16), (np.ones(3, np.float64), np.float16),
                  (np.ones((3, 2), np.bool_), np.uint16), (np.ones(3, np.bool_), np.uint16)]:
        try:
            want = jax.lax.bitcast_convert_type(x, dt)
        except (TypeError, ValueError) as e:
            with pytest.raises(type(e), match="bitcast_convert_type"):
                lax.bitcast_convert_type(fnp.asarray(x), dt)
            continue
        got = lax.bitcast_convert_type(fnp.asarray(x), dt)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
        assert np.asarray(got).dtype == np.asarray(want).dtype
    with pytest.raises(TypeError, match="bitcast_convert_type"):
        lax.bitcast_convert_type(fnp.ones(3, np.complex64), np.int64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int8,
                                   np.bool_, np.complex64, np.complex128])
def test_select_n_large_random_mask_matches_where_bit_for_bit(dtype, request):
    # large bool selections choose bits without branches; compare with np.where, with
    # NaNs, infinities and signed zeros on both sides and broadcast cases
    if np.dtype(dtype).itemsize * (2 if np.dtype(dtype).kind == "c" else 1) > 8 or \
            dtype == np.float64:
        request.getfixturevalue("x64")
    rng = np.random.default_rng(0)
    shape = (64, 33, 17)
    which = rng.random(shape) < 0.5

    def vals(seed):
        r = np.random.default_rng(seed)
        if dtype == np.bool_:
            return r.random(shape) < 0.5
        v = r.standard_normal(shape) * 100
        if np.dtype(dtype).kind == "c":
            v = v + 1j * r.standard_normal(shape)
        v = v.astype(dtype)
        if np.dtype(dtype).kind in "fc":
            v.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
        return v
    f, t = vals(1), vals(2)
    zero = np.zeros((), dtype)
    neg_zero = np.asarray(-0.0 if np.dtype(dtype).kind in "fc" else 0, dtype)
    for ff, tt in ((f, t), (f, t.ravel()[5]), (zero, t), (f, zero), (neg_zero, t),
                   (f, neg_zero)):
        got = np.asarray(lax.select_n(which, ff, tt))
        want = np.where(which, tt, ff)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
