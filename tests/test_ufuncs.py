"""functrans.numpy's elementwise functions against numpy (values) and jax.numpy
(result dtype and weak type).

Table-driven: a row of UNARY or BINARY names a function, its numpy reference,
the dtypes it accepts and the domain its inputs are drawn from; adding a row
gets every check:

* values vs numpy over shapes (and broadcasting pairs), for every dtype;
* result dtype and weak type vs jax.numpy, for arrays, Python scalars
  (either side) and weak-with-weak;
* the eager fast path vs the general path (trace with ``make_ir``, evaluate
  the IR with ``eval_ir``), which must agree exactly, with a typechecked IR.

Then: Array operators (and their reflected forms), where/clip/round/
nan_to_num/isclose specifics, hypothesis properties for promotion and
broadcasting, and error messages.

Known library bugs are strict xfails in KNOWN_BUGS, keyed by
(check, function, dtype): when one is fixed the test XPASSes and fails, so the
owner removes the entry.
"""

from __future__ import annotations

import dataclasses
import operator
import warnings

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import functrans as ft
import functrans.numpy as fnp
from functrans import dtypes
from functrans.numpy import _ufuncs

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = {
    "float32": np.dtype(np.float32), "float64": np.dtype(np.float64),
    "float16": np.dtype(np.float16), "bfloat16": BF16,
    "int32": np.dtype(np.int32), "int8": np.dtype(np.int8), "uint8": np.dtype(np.uint8),
    "bool": np.dtype(np.bool_), "complex64": np.dtype(np.complex64),
}
FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("int32", "int8", "uint8")
REAL = FLOATS + INTS
NUMERIC = REAL + ("complex64",)
ALL = NUMERIC + ("bool",)
INT_BOOL = INTS + ("bool",)
REAL_BOOL = REAL + ("bool",)

UNARY_SHAPES = [(), (0,), (5,), (2, 3)]
BINARY_SHAPES = [((), ()), ((0,), (0,)), ((5,), (5,)), ((2, 3), (2, 3)),
                 ((3, 1), (1, 4)), ((2, 3), ()), ((4,), (2, 4))]


# --- input generation -------------------------------------------------------------------------

_FLOAT_RANGES = {"any": (-3.0, 3.0), "pos": (0.5, 3.0), "unit": (-0.9, 0.9),
                 "ge1": (1.1, 3.0), "small": (-1.2, 1.2), "exp": (0.0, 3.0)}
_INT_RANGES = {"any": (-5, 5), "pos": (1, 5), "unit": (0, 0), "ge1": (1, 4), "small": (-1, 1),
               "exp": (0, 3), "shift": (0, 4)}
_SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0, 3.0, -np.nan])
_GRID = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])


def draw(rng, dtype_name, shape, domain):
    """A numpy array of ``dtype_name`` and ``shape`` inside ``domain``."""
    dt = DTYPES[dtype_name]
    if dt == np.bool_:
        if domain in ("pos", "ge1", "nonzero"):
            return np.ones(shape, bool)
        if domain == "unit":
            return np.zeros(shape, bool)
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind in "iu":
        if domain == "special":
            domain = "any"
        if domain == "grid":
            vals = _GRID if dt.kind == "i" else _GRID[2:]
            return rng.choice(vals, shape).astype(dt)
        if domain == "nonzero":
            mag = rng.integers(1, 6, shape)
            sign = 1 if dt.kind == "u" else rng.choice([-1, 1], shape)
            return (mag * sign).astype(dt)
        lo, hi = _INT_RANGES[domain]
        if dt.kind == "u":
            lo = max(lo, 0)
        return rng.integers(lo, hi + 1, shape).astype(dt)
    if dt.kind == "c":
        re = draw(rng, "float32", shape, domain).astype(np.float64)
        im = rng.uniform(-0.5, 0.5, shape) if domain != "grid" else rng.choice(_GRID, shape)
        return (re + 1j * im).astype(dt)
    if domain == "special":
        return rng.choice(_SPECIAL, shape).astype(dt)
    if domain == "grid":
        return rng.choice(_GRID, shape).astype(dt)
    if domain == "nonzero":
        return (rng.uniform(0.5, 3.0, shape) * rng.choice([-1, 1], shape)).astype(dt)
    lo, hi = _FLOAT_RANGES[domain]
    return rng.uniform(lo, hi, shape).astype(dt)


# --- the tables ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Fn:
    name: str
    ref: object             # numpy reference, called on inputs of the computation dtype
    dtypes: tuple           # dtype names the function accepts
    domains: tuple          # one domain per argument
    inexact: bool = False   # integer/bool inputs are computed in the default float
    exact: bool = False     # compare exactly, with the reference computed natively
    loose: bool = False     # a composition of several ops: a few ulps of slack
    jnp_name: str = None    # jax.numpy's name, when it differs

    @property
    def fn(self):
        return getattr(fnp, self.name)

    @property
    def jfn(self):
        return getattr(jnp, self.jnp_name or self.name)

    @property
    def nargs(self):
        return len(self.domains)

    def __str__(self):
        return self.name


def U(name, ref, dts, domain="any", **kw):
    return Fn(name, ref, dts, (domain,), **kw)


def B(name, ref, dts, d1="any", d2="any", **kw):
    return Fn(name, ref, dts, (d1, d2), **kw)


def _imag(x):
    return np.imag(x) if x.dtype.kind == "c" else np.zeros_like(x)


UNARY = [
    U("negative", np.negative, NUMERIC, exact=True),
    U("positive", np.positive, NUMERIC, exact=True),
    U("absolute", np.abs, NUMERIC, exact=True),
    U("sign", np.sign, REAL, exact=True),
    U("sign", np.sign, ("complex64",)),
    U("floor", np.floor, REAL, exact=True),
    U("ceil", np.ceil, REAL, exact=True),
    U("rint", np.rint, REAL, exact=True),
    U("trunc", np.trunc, REAL, exact=True),
    U("round", np.round, NUMERIC, exact=True),
    U("exp", np.exp, ALL, inexact=True),
    U("exp2", np.exp2, ALL, inexact=True),
    U("expm1", np.expm1, ALL, inexact=True),
    U("log", np.log, ALL, "pos", inexact=True),
    U("log1p", np.log1p, ALL, "pos", inexact=True),
    U("log2", np.log2, ALL, "pos", inexact=True, loose=True),
    U("log10", np.log10, ALL, "pos", inexact=True, loose=True),
    U("sqrt", np.sqrt, ALL, "pos", inexact=True),
    U("cbrt", np.cbrt, REAL_BOOL, inexact=True),
    U("sin", np.sin, ALL, inexact=True),
    U("cos", np.cos, ALL, inexact=True),
    U("tan", np.tan, ALL, "small", inexact=True),
    U("arcsin", np.arcsin, ALL, "unit", inexact=True),
    U("arccos", np.arccos, ALL, "unit", inexact=True),
    U("arctan", np.arctan, ALL, inexact=True),
    U("sinh", np.sinh, ALL, inexact=True),
    U("cosh", np.cosh, ALL, inexact=True),
    U("tanh", np.tanh, ALL, inexact=True),
    U("arcsinh", np.arcsinh, ALL, inexact=True),
    U("arccosh", np.arccosh, ALL, "ge1", inexact=True),
    U("arctanh", np.arctanh, ALL, "unit", inexact=True),
    U("deg2rad", np.deg2rad, REAL_BOOL, inexact=True, loose=True),
    U("rad2deg", np.rad2deg, REAL_BOOL, inexact=True, loose=True),
    U("isfinite", np.isfinite, ALL, "special", exact=True),
    U("isnan", np.isnan, ALL, "special", exact=True),
    U("isinf", np.isinf, ALL, "special", exact=True),
    U("isposinf", np.isposinf, REAL_BOOL, "special", exact=True),
    U("isneginf", np.isneginf, REAL_BOOL, "special", exact=True),
    U("signbit", np.signbit, REAL, "special", exact=True),
    U("invert", np.invert, INT_BOOL, exact=True),
    U("logical_not", np.logical_not, ALL, "grid", exact=True),
    U("real", np.real, ALL, exact=True),
    U("imag", _imag, ALL, "special", exact=True),
    U("conjugate", np.conjugate, ALL, exact=True),
    U("angle", np.angle, ALL, "grid", inexact=True, loose=True),
    U("square", np.square, NUMERIC, exact=True),
    U("reciprocal", np.reciprocal, FLOATS + ("complex64",), "nonzero", inexact=True),
    U("sinc", np.sinc, NUMERIC + ("bool",), inexact=True, loose=True),
    # bfloat16: numpy's nan_to_num has no bfloat16 support; see test_nan_to_num
    U("nan_to_num", np.nan_to_num, tuple(d for d in ALL if d != "bfloat16"), "special",
      exact=True),
]

BINARY = [
    B("add", np.add, ALL, exact=True),
    B("subtract", np.subtract, NUMERIC, exact=True),
    B("multiply", np.multiply, ALL, exact=True),
    B("true_divide", np.true_divide, ALL, "any", "nonzero", inexact=True),
    B("floor_divide", np.floor_divide, REAL, "any", "nonzero", exact=True),
    B("remainder", np.remainder, REAL, "any", "nonzero", exact=True),
    B("fmod", np.fmod, REAL, "any", "nonzero", exact=True),
    B("divmod", np.divmod, REAL, "any", "nonzero", exact=True),
    B("power", np.power, NUMERIC, "any", "exp"),
    B("float_power", np.float_power, NUMERIC, "pos", "any", inexact=True, loose=True),
    B("maximum", np.maximum, REAL_BOOL, "grid", "grid", exact=True),
    B("minimum", np.minimum, REAL_BOOL, "grid", "grid", exact=True),
    B("fmax", np.fmax, REAL, "special", "special", exact=True),
    B("fmin", np.fmin, REAL, "special", "special", exact=True),
    B("arctan2", np.arctan2, REAL_BOOL, inexact=True),
    B("hypot", np.hypot, REAL_BOOL, inexact=True, loose=True),
    B("copysign", np.copysign, REAL, "any", "special", inexact=True, exact=True),
    B("nextafter", np.nextafter, ("float32", "float64", "float16"), "grid", "grid",
      exact=True),
    B("logaddexp", np.logaddexp, REAL_BOOL, inexact=True, loose=True),
    B("logaddexp2", np.logaddexp2, REAL_BOOL, inexact=True, loose=True),
    B("heaviside", np.heaviside, REAL, "grid", "any", inexact=True, exact=True),
    B("bitwise_and", np.bitwise_and, INT_BOOL, exact=True),
    B("bitwise_or", np.bitwise_or, INT_BOOL, exact=True),
    B("bitwise_xor", np.bitwise_xor, INT_BOOL, exact=True),
    B("left_shift", np.left_shift, INTS, "any", "shift", exact=True),
    B("right_shift", np.right_shift, INTS, "any", "shift", exact=True),
    B("equal", np.equal, ALL, "grid", "grid", exact=True),
    B("not_equal", np.not_equal, ALL, "grid", "grid", exact=True),
    B("less", np.less, REAL_BOOL, "grid", "grid", exact=True),
    B("less_equal", np.less_equal, REAL_BOOL, "grid", "grid", exact=True),
    B("greater", np.greater, REAL_BOOL, "grid", "grid", exact=True),
    B("greater_equal", np.greater_equal, REAL_BOOL, "grid", "grid", exact=True),
    B("logical_and", np.logical_and, ALL, "grid", "grid", exact=True),
    B("logical_or", np.logical_or, ALL, "grid", "grid", exact=True),
    B("logical_xor", np.logical_xor, ALL, "grid", "grid", exact=True),
    B("isclose", np.isclose, NUMERIC, "grid", "grid", exact=True),
]

SCALARS = {"int": 2, "float": 1.5, "bool": True, "complex": 1.5 + 0.5j}

# numpy's alternative names: the same function objects (test_aliases), so they get no rows.
ALIASES = {"abs": "absolute", "fix": "trunc", "around": "round", "asin": "arcsin",
           "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh",
           "atanh": "arctanh", "radians": "deg2rad", "degrees": "rad2deg",
           "bitwise_not": "invert", "bitwise_invert": "invert", "conj": "conjugate",
           "divide": "true_divide", "mod": "remainder", "pow": "power", "atan2": "arctan2",
           "bitwise_left_shift": "left_shift", "bitwise_right_shift": "right_shift"}
# Functions covered by dedicated tests below rather than by the tables.
DEDICATED = {"where", "clip", "allclose", "array_equal"}
# Helpers that _ufuncs exports although they are no numpy functions (see
# test_exports_are_numpy_names).
NOT_NUMPY = {"full_like_bool", "copysign_one"}

# --- known bugs ----------------------------------------------------------------------------------
# (check, function, dtype or scalar kind or weak pair) -> reason; each reason is a
# bug report with a minimal reproduction. Marked strict: a fix makes them XPASS, and
# the entry goes. (Fixed so far, and now plain regression tests: weak types through
# the general path, bool scalars, narrow weak dtypes, log2/log10 constants, rint, imag,
# angle, signbit(-nan), complex inputs of real-only functions, logaddexp of complex,
# isclose/hypot with infinities, float floor_divide traced, round(int, -n), square(bool),
# logical_and/or/xor error names.)

KNOWN_BUGS = {}


def _known(reason, check, names, keys):
    for n in names:
        for k in keys:
            KNOWN_BUGS[(check, n, k)] = reason


_WEAK_PAIRS = [("int", "int"), ("int", "float"), ("float", "int"), ("float", "float"),
               ("bool", "int"), ("int", "complex"), ("float", "complex")]


def _bug(check, row, dtype):
    return KNOWN_BUGS.get((check, row.name, dtype))


def _cases(table, check):
    out = []
    for row in table:
        for dt in row.dtypes:
            reason = _bug(check, row, dt)
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(row, dt, id=f"{row.name}-{dt}", marks=marks))
    return out


def _scalar_cases(table, check):
    out = []
    for row in table:
        for kind in SCALARS:
            reason = KNOWN_BUGS.get((check, row.name, kind))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(row, kind, id=f"{row.name}-{kind}", marks=marks))
    return out


# --- comparison helpers -------------------------------------------------------------------


def _is_inexact(dt):
    return dtypes.is_inexact(dt)


def _compute_dtype(row, in_dtypes):
    """The dtype the function computes in, by jax's promotion rules."""
    dt = np.dtype(jnp.result_type(*in_dtypes))
    if row.inexact and not _is_inexact(dt):
        dt = dtypes.default_float()
    return dt


def _reference(row, arrays):
    """row.ref on numpy inputs cast to the computation dtype (float32 for 16-bit
    floats unless the row is exact), and that computation dtype (for tolerances)."""
    cdt = _compute_dtype(row, [a.dtype for a in arrays])
    wide = cdt
    if not row.exact and cdt in (np.dtype(np.float16), BF16):
        wide = np.dtype(np.float32)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return row.ref(*[a.astype(wide) for a in arrays]), cdt


def _tolerance(cdt, loose):
    if cdt in (np.dtype(np.float16), BF16):
        return (3e-2, 3e-2) if cdt == BF16 else (1e-2, 1e-2)
    if cdt in (np.dtype(np.float64), np.dtype(np.complex128)):
        return (1e-10, 1e-12) if loose else (1e-13, 1e-14)
    return (3e-5, 1e-6) if loose else (2e-6, 1e-7)


def _host(x):
    """A numpy view of an output, with bfloat16 widened for numpy's testing helpers."""
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype == BF16 else x


def assert_matches(out, ref, cdt, exact, loose=False):
    out, ref = _host(out), _host(np.asarray(ref))
    assert out.shape == ref.shape, (out.shape, ref.shape)
    if exact or out.dtype.kind in "biu":
        np.testing.assert_array_equal(out, ref.astype(out.dtype) if out.dtype.kind in "biu"
                                      else ref)
    else:
        rtol, atol = _tolerance(np.dtype(cdt), loose)
        np.testing.assert_allclose(out.astype(np.complex128 if out.dtype.kind == "c"
                                              else np.float64), ref, rtol=rtol, atol=atol)


def _outs(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def _need_x64(request, *dts):
    if "float64" in dts:
        request.getfixturevalue("x64")


# --- values vs numpy ------------------------------------------------------------------------------


@pytest.mark.parametrize("row,dt", _cases(UNARY, "values"))
def test_unary_values(row, dt, rng, request):
    _need_x64(request, dt)
    for shape in UNARY_SHAPES:
        x = draw(rng, dt, shape, row.domains[0])
        out = row.fn(fnp.asarray(x))
        assert isinstance(out, ft.Array)
        ref, cdt = _reference(row, [x])
        assert_matches(out, ref, cdt, row.exact, row.loose)


@pytest.mark.parametrize("row,dt", _cases(BINARY, "values"))
def test_binary_values(row, dt, rng, request):
    _need_x64(request, dt)
    for s1, s2 in BINARY_SHAPES:
        x, y = draw(rng, dt, s1, row.domains[0]), draw(rng, dt, s2, row.domains[1])
        outs = _outs(row.fn(fnp.asarray(x), fnp.asarray(y)))
        refs, cdt = _reference(row, [x, y])
        for out, ref in zip(outs, _outs(refs), strict=True):
            assert isinstance(out, ft.Array)
            assert_matches(out, ref, cdt, row.exact, row.loose)


# --- dtype and weak type vs jax -------------------------------------------------------------------



_PY = (bool, int, float, complex)


def _typed(dtype, weak, shape):
    # A weak bool means nothing (bool is never weak in promotion); jax sometimes
    # reports one for comparisons of Python scalars, so it is not compared.
    dtype = np.dtype(dtype)
    return dtype, bool(weak) and dtype != np.bool_, tuple(shape)


def jax_types(fn, *args):
    """``([(dtype, weak_type, shape)], None)`` of ``fn(*args)`` by jax, or ``(None, error)``.

    Traced with ``jax.eval_shape`` (nothing is compiled, which keeps the suite
    fast); Python scalars stay Python scalars, so they are weak as in eager jax.
    """
    where = [i for i, a in enumerate(args) if type(a) not in _PY]

    def call(*arrays):
        full = list(args)
        for i, a in zip(where, arrays):
            full[i] = a
        return fn(*full)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = jax.eval_shape(call, *[args[i] for i in where])
    except (TypeError, ValueError, NotImplementedError) as e:
        return None, e
    return [_typed(o.dtype, o.weak_type, o.shape) for o in _outs(out)], None


def _types(x):
    return [_typed(o.dtype, o.weak_type, o.shape) for o in _outs(x)]


def _jax_args(args):
    """numpy arrays and Python scalars as jax sees them; fnp weak 0-d arrays as jnp weak ones."""
    return [jnp.asarray(a.item()) if isinstance(a, ft.Array) and a.weak_type
            else np.asarray(a) if isinstance(a, ft.Array) else a for a in args]


def _numpy_accepts(ref, args):
    np_args = [np.asarray(a) if isinstance(a, ft.Array) else a for a in args]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            ref(*np_args)
    except (TypeError, ValueError):
        return False
    return True


# Some jax.numpy functions end with a strongly typed constant (jnp.hypot and
# jnp.heaviside: where(..., _lax_const(x, ...), ...); jnp.logaddexp2: a log(2) constant;
# jnp.rint of integers: convert_element_type to float_; jnp.logaddexp of complex: internal
# lax ops), so their result is strong even where jax's own promotion is weak
# (int32_array with 1.5). functrans is held to the promotion rule instead: the weak type
# jnp.true_divide (jnp.sin) gives the same operands.
_JAX_WEAK_QUIRKS = {"hypot": jnp.true_divide, "heaviside": jnp.true_divide,
                    "logaddexp2": jnp.true_divide, "logaddexp": jnp.true_divide,
                    "rint": jnp.sin}


def _int_exponent(row, args):
    # jnp.power keeps an integer exponent integral (lax.pow(x, int_y)), so its weak
    # type follows the base alone; that is an implementation detail of jax.
    return row.name in ("power", "pow") and np.dtype(
        np.result_type(args[1]) if not isinstance(args[1], _PY) else type(args[1])).kind in "biu"


def _check_like_jax(row, args, values=True):
    """fnp ``row`` on ``args`` (numpy arrays, weak fnp arrays, Python scalars) has jax's
    dtypes and weak types and numpy's values; it raises where both jax and numpy do,
    and may only raise where jax accepts if numpy raises too."""
    expected, jerr = jax_types(row.jfn, *_jax_args(args))
    fargs = [fnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    if jerr is not None:
        if not _numpy_accepts(row.ref, args):
            with pytest.raises((TypeError, ValueError)):
                row.fn(*fargs)
        return
    try:
        outs = _outs(row.fn(*fargs))
    except (TypeError, ValueError):
        if not _numpy_accepts(row.ref, args):
            return  # like numpy (jax is more permissive)
        raise
    got = _types(outs)
    if _int_exponent(row, args):
        got, expected = [g[::2] for g in got], [e[::2] for e in expected]
    elif row.name in _JAX_WEAK_QUIRKS:
        (weak_ref,) = jax_types(_JAX_WEAK_QUIRKS[row.name], *_jax_args(args))[0]
        expected = [(d, weak_ref[1] and d != np.bool_, shape) for d, _, shape in expected]
    assert got == expected
    if not values:
        return
    # numpy on the inputs cast to the computation dtype (Python scalars stay weak, NEP 50)
    cdt = np.dtype(jnp.result_type(*_jax_args(args)))
    if row.inexact and not _is_inexact(cdt):
        cdt = dtypes.default_float()
    wide = np.dtype(np.float32) if cdt in (np.dtype(np.float16), BF16) else cdt
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            refs = _outs(row.ref(*[a.astype(wide) if isinstance(a, np.ndarray) else a
                                   for a in args]))
    except TypeError:
        return  # numpy has no such loop (e.g. logaddexp of complex): see the dedicated tests
    for o, r in zip(outs, refs):
        assert_matches(o, r, cdt, exact=False, loose=True)


@pytest.mark.parametrize("row,dt", _cases(UNARY, "dtype"))
def test_unary_dtype_like_jax(row, dt, rng, request):
    _need_x64(request, dt)
    _check_like_jax(row, [draw(rng, dt, (3,), row.domains[0])])


@pytest.mark.parametrize("row,kind", _scalar_cases(UNARY, "scalar"))
def test_unary_python_scalar_like_jax(row, kind):
    _check_like_jax(row, [SCALARS[kind]], values=False)


@pytest.mark.parametrize("row,dt", _cases(BINARY, "dtype"))
def test_binary_dtype_like_jax(row, dt, rng, request):
    _need_x64(request, dt)
    _check_like_jax(row, [draw(rng, dt, (3,), row.domains[0]), draw(rng, dt, (3,), row.domains[1])])


@pytest.mark.parametrize("row,kind", _scalar_cases(BINARY, "scalar"))
def test_binary_with_python_scalars_like_jax(row, kind, rng):
    """array (+) scalar and scalar (+) array (the reflected case), for each dtype."""
    s = SCALARS[kind]
    for dt in row.dtypes:
        if dt in ("float64", "int8", "float16"):
            continue  # x64 is the property test's; int8 and float16 follow uint8 and bfloat16
        _check_like_jax(row, [draw(rng, dt, (3,), row.domains[0]), s])
        _check_like_jax(row, [s, draw(rng, dt, (3,), row.domains[1])])


def _weak_cases():
    out = []
    for row in BINARY:
        for a, b in _WEAK_PAIRS:
            reason = KNOWN_BUGS.get(("weak", row.name, f"{a}-{b}"))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(row, a, b, id=f"{row.name}-{a}-{b}", marks=marks))
    return out


@pytest.mark.parametrize("row,k1,k2", _weak_cases())
def test_binary_weak_with_weak_like_jax(row, k1, k2):
    a, b = SCALARS[k1], SCALARS[k2]
    _check_like_jax(row, [a, b], values=False)
    # weak 0-d arrays (jnp.asarray(1.5) is weak, like fnp.asarray(1.5); a bool never is)
    _check_like_jax(row, [fnp.asarray(a), fnp.asarray(b)], values=False)


# --- the eager fast path and the general path agree -----------------------------------------------


def _check_paths_agree(fn, args):
    eager = _outs(fn(*args))
    closed = ft.make_ir(fn)(*args)
    ft.ir.typecheck(closed)
    assert list(closed.out_avals) == [o.aval for o in eager]
    general = ft.ir.eval_ir(closed.ir, closed.consts, args)
    assert len(general) == len(eager)
    for g, e in zip(general, eager):
        assert g.aval == e.aval, (g.aval, e.aval)
        np.testing.assert_array_equal(_host(g), _host(e))


@pytest.mark.parametrize("row,dt", _cases(UNARY, "paths"))
def test_unary_fast_path_matches_general_path(row, dt, rng, request):
    _need_x64(request, dt)
    for shape in [(), (2, 3)]:
        _check_paths_agree(row.fn, [fnp.asarray(draw(rng, dt, shape, row.domains[0]))])


@pytest.mark.parametrize("row,dt", _cases(BINARY, "paths"))
def test_binary_fast_path_matches_general_path(row, dt, rng, request):
    _need_x64(request, dt)
    for s1, s2 in [((2, 3), (2, 3)), ((3, 1), (1, 4)), ((2, 3), ())]:
        x = fnp.asarray(draw(rng, dt, s1, row.domains[0]))
        y = fnp.asarray(draw(rng, dt, s2, row.domains[1]))
        _check_paths_agree(row.fn, [x, y])
    # with a Python scalar (a literal in the IR) on either side
    x = fnp.asarray(draw(rng, dt, (4,), row.domains[0]))
    y = fnp.asarray(draw(rng, dt, (4,), row.domains[1]))
    for s in ({"bool": True}.get(dt, 2), 1.5):
        for f, arg in [(lambda a: row.fn(a, s), x), (lambda b: row.fn(s, b), y)]:
            try:
                f(arg)
            except (TypeError, ValueError):
                continue  # e.g. bitwise_and(x, 1.5): the dtype tests check it should raise
            _check_paths_agree(f, [arg])


def test_floor_divide_paths_agree_on_inexact_quotients():
    """1 // 0.1 is 9 (the quotient 10.000000149 is rounded up by division)."""
    x, y = fnp.asarray(np.float32([1.0, 1.0, -1.0])), fnp.asarray(np.float32([0.1, -0.1, 0.1]))
    expected = np.floor_divide(np.float32([1.0, 1.0, -1.0]), np.float32([0.1, -0.1, 0.1]))
    np.testing.assert_array_equal(fnp.floor_divide(x, y), expected)
    np.testing.assert_array_equal(jnp.floor_divide(np.asarray(x), np.asarray(y)), expected)
    closed = ft.make_ir(fnp.floor_divide)(x, y)
    (general,) = ft.ir.eval_ir(closed.ir, closed.consts, [x, y])
    np.testing.assert_array_equal(general, expected)


# --- table coverage -------------------------------------------------------------------------------


def test_every_exported_elementwise_function_has_a_row():
    covered = {r.name for r in UNARY + BINARY} | DEDICATED | NOT_NUMPY | set(ALIASES)
    missing = set(_ufuncs.__all__) - covered
    assert not missing, f"add rows for {sorted(missing)}"


@pytest.mark.parametrize("alias,name", sorted(ALIASES.items()), ids=str)
def test_aliases(alias, name):
    assert getattr(fnp, alias) is getattr(fnp, name)
    assert hasattr(np, alias) or hasattr(jnp, alias)


def test_exports_are_numpy_names():
    """functrans.numpy should not export helpers that numpy and jax.numpy lack."""
    extra = [n for n in _ufuncs.__all__ if not hasattr(np, n) and not hasattr(jnp, n)]
    assert not extra


# --- specific semantics ---------------------------------------------------------------------------


SIGNED_CASES = [(-7, 2), (-6, 2), (-1, 3), (0, -3), (1, -2), (6, -4), (7, -2), (7, 3), (-7, -3),
                (-8, -4), (5, 5), (0, 3)]


@pytest.mark.parametrize("dt", ["int32", "int8", "float32", "float64", "float16"])
@pytest.mark.parametrize("path", ["eager", "traced"])
def test_floor_divide_and_remainder_sign_conventions(dt, path, request):
    """floor division rounds toward -inf; the remainder has the divisor's sign."""
    _need_x64(request, dt)
    a = np.array([c[0] for c in SIGNED_CASES], DTYPES[dt])
    b = np.array([c[1] for c in SIGNED_CASES], DTYPES[dt])
    if dt.startswith("float"):
        a = np.concatenate([a, np.array([-7.5, 7.5, -0.5, 5.25], DTYPES[dt])])
        b = np.concatenate([b, np.array([2.0, -2.0, 3.0, -1.5], DTYPES[dt])])
    fns = [fnp.floor_divide, fnp.remainder, fnp.mod, lambda p, q: fnp.divmod(p, q)[0],
           lambda p, q: fnp.divmod(p, q)[1], operator.floordiv, operator.mod]
    refs = [np.floor_divide, np.remainder, np.remainder, np.floor_divide, np.remainder,
            np.floor_divide, np.remainder]
    for f, ref in zip(fns, refs):
        if path == "eager":
            out = f(fnp.asarray(a), fnp.asarray(b))
        else:
            closed = ft.make_ir(f)(fnp.asarray(a), fnp.asarray(b))
            (out,) = ft.ir.eval_ir(closed.ir, closed.consts, [fnp.asarray(a), fnp.asarray(b)])
        assert out.dtype == DTYPES[dt]
        np.testing.assert_array_equal(out, ref(a, b))
        # signs: the remainder is zero or has the divisor's sign
        if ref is np.remainder:
            r = np.asarray(out).astype(np.float64)
            assert np.all((r == 0) | (np.sign(r) == np.sign(b.astype(np.float64))))


def test_fmod_has_the_sign_of_the_dividend():
    a, b = np.int32([-7, 7, -7, 7]), np.int32([2, 2, -2, -2])
    np.testing.assert_array_equal(fnp.fmod(fnp.asarray(a), fnp.asarray(b)), [-1, 1, -1, 1])
    af, bf = a.astype(np.float32) + 0.5, b.astype(np.float32)
    np.testing.assert_array_equal(fnp.fmod(fnp.asarray(af), fnp.asarray(bf)), np.fmod(af, bf))


@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 2, 3])
@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "complex64"])
def test_round_decimals_floats(dt, decimals, rng, request):
    _need_x64(request, dt)
    x = draw(rng, dt, (20,), "any") * 37
    x = np.concatenate([x, np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.0], DTYPES[dt])])
    out = fnp.round(fnp.asarray(x), decimals)
    ref = np.round(x, decimals)
    assert out.dtype == x.dtype
    rtol = {"float16": 1e-3}.get(dt, 1e-6 if dt != "float64" else 1e-14)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=rtol, atol=0)
    np.testing.assert_array_equal(fnp.around(fnp.asarray(x), decimals), out)
    np.testing.assert_array_equal(fnp.asarray(x).round(decimals), out)


@pytest.mark.parametrize("decimals", [0, 1, -1, -2])
@pytest.mark.parametrize("dt", ["int32", "int8", "uint8"])
def test_round_decimals_integers(dt, decimals):
    """numpy rounds integers half to even too: round(25, -1) == 20, round(-15, -1) == -20."""
    vals = {"int32": [15, 25, -15, -25, 149, 150, 151, 250, -150, 0, 7, -7, 1234],
            "int8": [15, 25, -15, -25, 49, 50, -50, 51, 0, 7, -7, 125],
            "uint8": [15, 25, 35, 50, 149, 150, 151, 0, 7, 249, 250]}[dt]
    x = np.array(vals, DTYPES[dt])
    if decimals < 0 and dt == "uint8":
        x = x[x < 240]  # 250 rounds to 300, which overflows uint8 in numpy too
    out = fnp.round(fnp.asarray(x), decimals)
    assert out.dtype == x.dtype
    if decimals < 0:
        # numpy's own rule, independently: to the nearest multiple, ties to even.
        f = 10 ** -decimals
        q = x.astype(np.int64) / f
        expected = (np.round(q) * f).astype(x.dtype)
        np.testing.assert_array_equal(np.round(x, decimals), expected)
        np.testing.assert_array_equal(out, expected)
    else:
        np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16", "complex64"])
@pytest.mark.parametrize("kw", [{}, {"nan": 7.0}, {"posinf": 1e3, "neginf": -1e3},
                                {"nan": -1.0, "posinf": 9.0, "neginf": -9.0}],
                         ids=["default", "nan", "infs", "all"])
def test_nan_to_num(dt, kw, request):
    _need_x64(request, dt)
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 3.0], DTYPES[dt] if dt != "complex64"
                 else np.float32)
    if dt == "complex64":
        x = (x + 1j * x[::-1]).astype(np.complex64)
    out = fnp.nan_to_num(fnp.asarray(x), **kw)
    assert out.dtype == x.dtype
    if dt == "bfloat16":
        info = ml_dtypes.finfo(BF16)
        ref = np.nan_to_num(x.astype(np.float32), nan=kw.get("nan", 0.0),
                            posinf=kw.get("posinf", float(info.max)),
                            neginf=kw.get("neginf", float(info.min))).astype(BF16)
    else:
        ref = np.nan_to_num(x, **kw)
    np.testing.assert_array_equal(_host(out), _host(ref))


def test_nan_to_num_integers_unchanged():
    x = np.int32([1, -2, 3])
    out = fnp.nan_to_num(fnp.asarray(x))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, x)


ISCLOSE_A = [1.0, 1.0, 0.0, 1e-9, np.inf, -np.inf, np.inf, np.nan, np.nan, 100.0, 1.0, 5.0]
ISCLOSE_B = [1.0 + 1e-6, 1.1, 1e-9, 0.0, np.inf, -np.inf, 1.0, np.nan, 1.0, 100.1, -1.0, 5.0]


@pytest.mark.parametrize("kw", [{}, {"equal_nan": True}, {"rtol": 1e-2}, {"atol": 1e-3},
                                {"rtol": 0.0, "atol": 0.0}], ids=str)
@pytest.mark.parametrize("dt", ["float32", "float64", "complex64"])
def test_isclose_and_allclose(dt, kw, request):
    _need_x64(request, dt)
    a, b = np.array(ISCLOSE_A, DTYPES[dt]), np.array(ISCLOSE_B, DTYPES[dt])
    out = fnp.isclose(fnp.asarray(a), fnp.asarray(b), **kw)
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out, np.isclose(a, b, **kw))
    for i in range(len(a)):
        got = fnp.allclose(fnp.asarray(a[: i + 1]), fnp.asarray(b[: i + 1]), **kw)
        assert bool(got) == np.allclose(a[: i + 1], b[: i + 1], **kw), i
    # broadcasting against a Python scalar
    np.testing.assert_array_equal(fnp.isclose(fnp.asarray(a), 1.0, **kw),
                                  np.isclose(a, 1.0, **kw))


@pytest.mark.parametrize("dt", ["float32", "complex64"])
def test_isclose_infinities_only_match_equal_infinities(dt):
    a = np.array([np.inf, 1.0, -1.0, -np.inf, 0.0], DTYPES[dt])
    b = np.array([-np.inf, np.inf, -np.inf, np.inf, np.inf], DTYPES[dt])
    np.testing.assert_array_equal(fnp.isclose(fnp.asarray(a), fnp.asarray(b)),
                                  np.isclose(a, b))
    assert not bool(fnp.allclose(fnp.asarray(a[1:2]), fnp.asarray(b[1:2])))


def test_isclose_integers():
    a, b = np.int32([1, 2, 3, 100000]), np.int32([1, 3, 3, 100001])
    np.testing.assert_array_equal(fnp.isclose(fnp.asarray(a), fnp.asarray(b)), np.isclose(a, b))


def test_array_equal():
    a = fnp.asarray([1.0, np.nan, 3.0])
    assert bool(fnp.array_equal(a, a)) is False
    assert bool(fnp.array_equal(a, a, equal_nan=True)) is True
    assert bool(fnp.array_equal(fnp.ones(3), fnp.ones(4))) is False
    assert bool(fnp.array_equal(fnp.ones((2, 3)), np.ones((2, 3)))) is True
    assert bool(fnp.array_equal(fnp.arange(3), [0, 1, 2])) is True


@pytest.mark.parametrize("dt", ["float32", "float64", "int32", "int8", "uint8", "bool",
                                "float16", "bfloat16", "complex64"])
def test_where_values_and_dtype(dt, rng, request):
    _need_x64(request, dt)
    for sc, sx, sy in [((5,), (5,), (5,)), ((3, 1), (1, 4), ()), ((), (2, 3), (2, 3)),
                       ((2, 3), (3,), (2, 1)), ((0,), (0,), ())]:
        c = rng.integers(0, 2, sc).astype(bool)
        x, y = draw(rng, dt, sx, "any"), draw(rng, dt, sy, "any")
        out = fnp.where(fnp.asarray(c), fnp.asarray(x), fnp.asarray(y))
        assert_matches(out, np.where(c, x, y), x.dtype, exact=True)
        assert _types(out) == jax_types(jnp.where, c, x, y)[0]


@pytest.mark.parametrize("dt", ["float32", "float16", "bfloat16", "complex64", "int32", "int8",
                                "uint8", "bool"])
def test_where_with_python_scalars(dt, rng):
    """A non-bool condition counts its truth value; Python scalars are weak."""
    c = draw(rng, "int32", (6,), "grid")
    x = draw(rng, dt, (6,), "any")
    for s in SCALARS.values():
        expected, err = jax_types(jnp.where, c, x, s)
        if err is not None:
            continue
        out = fnp.where(fnp.asarray(c), fnp.asarray(x), s)
        assert _types(out) == expected, s
        assert_matches(out, np.where(c, x, np.asarray(s).astype(out.dtype)), out.dtype,
                       exact=True)
        out = fnp.where(fnp.asarray(c), s, fnp.asarray(x))
        assert _types(out) == jax_types(jnp.where, c, s, x)[0], s


def test_where_traced_matches_eager(rng):
    c, x = rng.integers(0, 2, (3, 4)).astype(bool), rng.normal(size=(3, 4)).astype(np.float32)
    args = [fnp.asarray(c), fnp.asarray(x), fnp.asarray(np.float32(2.0))]
    _check_paths_agree(lambda c, x, y: fnp.where(c, x, y), args)
    _check_paths_agree(lambda c, x: fnp.where(c, x, 0.0), args[:2])


def test_where_errors():
    with pytest.raises(ValueError, match="where"):
        fnp.where(fnp.asarray([True]), fnp.ones(1))
    with pytest.raises(ValueError, match=r"where.*\(2,\).*\(3,\)"):
        fnp.where(fnp.asarray([True, False]), fnp.ones(3), 0.0)


def test_where_with_condition_only_is_nonzero():
    (idx,) = fnp.where(fnp.asarray([0, 3, 0, 5]))
    np.testing.assert_array_equal(idx, [1, 3])


CLIP_CASES = [
    ("scalars", lambda m, a: m.clip(a, -1, 2)),
    ("float-bounds", lambda m, a: m.clip(a, -1.5, 2.5)),
    ("min-only", lambda m, a: m.clip(a, -1, None)),
    ("max-only", lambda m, a: m.clip(a, None, 1)),
    ("kw", lambda m, a: m.clip(a, min=0, max=3)),
    ("array-bounds", lambda m, a: m.clip(a, m.asarray(np.array([-1, 0, 1, 2, 3, -2], "int8")),
                                         m.asarray(np.array([0, 2, 2, 4, 3, 0], "int8")))),
    ("broadcast-bounds", lambda m, a: m.clip(a, m.asarray(np.zeros((2, 1), "int8")), 3)),
]


# uint8 with a negative Python-int bound overflows (numpy raises OverflowError too)
@pytest.mark.parametrize("case,dt", [
    pytest.param(c, d, id=f"{c[0]}-{d}") for c in CLIP_CASES
    for d in ["float32", "int32", "int8", "uint8", "float16"]
    if not (d == "uint8" and c[0] in ("scalars", "min-only"))])
def test_clip(case, dt):
    _, f = case
    x = np.array([-3, -1, 0, 1, 2, 5], DTYPES[dt]) if dt != "uint8" else \
        np.array([0, 1, 2, 3, 7, 200], np.uint8)
    expected, err = jax_types(lambda a: f(jnp, a), x)
    if err is not None:
        with pytest.raises((TypeError, ValueError)):
            f(fnp, fnp.asarray(x))
        return
    out = f(fnp, fnp.asarray(x))
    assert _types(out) == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = f(np, x)
    np.testing.assert_allclose(_host(out).astype(np.float64), np.asarray(ref, np.float64))


def test_angle_degrees():
    z = np.complex64([1 + 1j, -1j, -1 + 0j, 2.0])
    np.testing.assert_allclose(fnp.angle(fnp.asarray(z), deg=True), np.angle(z, deg=True),
                               rtol=1e-6)


def test_real_imag_conj_properties():
    z = np.complex64([1 + 2j, -3 - 4j])
    a = fnp.asarray(z)
    np.testing.assert_array_equal(a.real, z.real)
    np.testing.assert_array_equal(a.imag, z.imag)
    np.testing.assert_array_equal(a.conj(), z.conj())
    assert a.real.dtype == np.float32 and a.imag.dtype == np.float32


def test_signed_zeros_and_specials():
    """Spot checks that random draws rarely hit."""
    negz = fnp.asarray(np.float32([-0.0]))
    assert np.signbit(np.asarray(fnp.negative(fnp.asarray(np.float32([0.0])))))[0]
    np.testing.assert_array_equal(fnp.copysign(fnp.asarray(np.float32([2.0])), negz), [-2.0])
    assert np.signbit(np.asarray(fnp.trunc(fnp.asarray(np.float32([-0.5])))))[0]
    np.testing.assert_array_equal(fnp.sinc(fnp.asarray(np.float32([0.0]))), [1.0])
    np.testing.assert_array_equal(
        fnp.logaddexp(fnp.asarray(np.float32([np.inf, -np.inf, np.inf])),
                      fnp.asarray(np.float32([np.inf, -np.inf, -np.inf]))),
        np.logaddexp(np.float32([np.inf, -np.inf, np.inf]), np.float32([np.inf, -np.inf, -np.inf])))
    np.testing.assert_allclose(fnp.logaddexp(fnp.asarray(np.float32([1000.0])), 1000.0),
                               [1000.0 + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(fnp.hypot(fnp.asarray(np.float32([1e30, 3e-30])),
                                         fnp.asarray(np.float32([1e30, 4e-30]))),
                               [np.float32(1.4142135e30), np.float32(5e-30)], rtol=1e-6)


def test_hypot_of_an_infinity_is_infinite():
    x, y = np.float32([-np.inf, 2.0, 0.0]), np.float32([1.0, np.inf, -np.inf])
    np.testing.assert_array_equal(fnp.hypot(fnp.asarray(x), fnp.asarray(y)), np.hypot(x, y))


@pytest.mark.parametrize("x,y", [(np.inf, np.inf), (np.inf, np.nan), (np.nan, -np.inf)])
def test_hypot_of_two_infinities_or_infinity_and_nan_is_infinite(x, y):
    x, y = np.float32([x]), np.float32([y])
    np.testing.assert_array_equal(fnp.hypot(fnp.asarray(x), fnp.asarray(y)), np.hypot(x, y))


def test_logaddexp_complex_values():
    a = np.complex64([1 + 1j, -2 + 0.5j, 0.1 - 3j])
    b = np.complex64([2 - 1j, 0.3 + 2j, 0.2 + 0.1j])
    ref = np.log(np.exp(a.astype(np.complex128)) + np.exp(b.astype(np.complex128)))
    np.testing.assert_allclose(fnp.logaddexp(fnp.asarray(a), fnp.asarray(b)), ref, rtol=1e-5)


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "int8", "uint8"])
def test_weak_arrays_of_narrow_dtypes_keep_their_dtype(dt):
    from jax._src.lax import lax as jax_lax_internal  # the oracle's own weak conversion
    w = ft.lax.convert_element_type(1, DTYPES[dt], weak_type=True)
    jw = jax_lax_internal._convert_element_type(1, DTYPES[dt], weak_type=True)
    assert _types(w) == _types(jw)
    for op in ("add", "multiply", "maximum"):
        assert _types(getattr(fnp, op)(w, w)) == jax_types(getattr(jnp, op), jw, jw)[0], op


@pytest.mark.parametrize("row,dt", [c for c in _cases(UNARY + BINARY, "x64")
                                    if c.values[1] == "float32"])
def test_float32_stays_float32_under_x64(row, dt, rng, x64):
    _check_like_jax(row, [draw(rng, dt, (3,), d) for d in row.domains])


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
