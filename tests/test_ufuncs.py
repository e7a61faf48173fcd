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
import warnings

import ml_dtypes
import numpy as np
import pytest

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


# jnp.logaddexp of complex ends in internal lax ops with strongly typed constants, so its
# result is strong even where jax's own promotion is weak (int32_array with 1.5).
# functrans is held to the promotion rule there: the weak type jnp.true_divide gives the
# same operands. Everything else (hypot, heaviside, logaddexp2, rint, log2, log10) must
# match jax 0.10 exactly, strongly typed constants included.
_JAX_WEAK_QUIRKS = {"logaddexp": jnp.true_divide}


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
