"""Autodiff rules of the elementwise primitives (each row's jvp and transpose in
primitives/elementwise/).

Table-driven: a row per differentiable lax primitive and per functrans.numpy
elementwise function, each checked to second order in forward and reverse mode
against central differences (``check_grads``), in float32 (loose tolerances)
and float64 (tight), and in complex dtypes where the function is defined
there. Rank-0 operands (which broadcast in lax primitives) get their own
shapes. Then jax as an oracle for gradients of compositions, ties and
special points, complex conventions (real-valued functions of complex inputs,
holomorphic=True), zero gradients of piecewise-constant operations, and the
rule registry.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.special

import functrans as ft
import functrans.numpy as fnp
from functrans import ir, lax
from functrans.scipy import special as fsp
from functrans.core import get_aval
from functrans.interpreters.jvp import Zero
from functrans.primitives import elementwise as ew
from functrans.test_util import check_grads

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

F32, F64, C64, C128 = (np.dtype(d) for d in ("float32", "float64", "complex64", "complex128"))
REAL, ALL = (F32, F64), (F32, F64, C64, C128)

# --- input domains ---------------------------------------------------------------------------------
# Each draws a float64 array of a shape; complex inputs add a small imaginary
# part, which keeps them off the branch cuts (on the real axis, outside these domains).

DOMAINS = {
    "any": lambda rng, s: rng.uniform(-2.0, 2.0, s),
    "pos": lambda rng, s: rng.uniform(0.5, 2.0, s),
    "gamma": lambda rng, s: rng.uniform(1.0, 3.0, s),
    "unit": lambda rng, s: rng.uniform(-0.8, 0.8, s),
    "gt1": lambda rng, s: rng.uniform(1.3, 3.0, s),
    "prob": lambda rng, s: rng.uniform(0.2, 0.8, s),
    "small": lambda rng, s: rng.uniform(-1.0, 1.0, s),
    "away": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.5, 2.0, s),
}


def draw(rng, domain, shape, dtype):
    x = DOMAINS[domain](rng, shape)
    if dtype.kind == "c":
        x = x + 1j * rng.uniform(-0.5, 0.5, shape)
    return fnp.asarray(np.asarray(x, dtype))


def _use_dtype(request, dtype):
    if dtype.itemsize == 8 and dtype.kind == "f" or dtype == C128:
        request.getfixturevalue("x64")


# --- the table -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    fn: Callable
    domains: tuple            # one domain per argument
    dtypes: tuple = ALL
    # shapes per argument; binary rows also get the rank-0 combinations
    shapes: tuple = ((3,),)
    eps: float = None         # finite-difference step and tolerance, when not the dtype's
    tol: float = None

    def __repr__(self):
        return self.name


def U(name, fn, domain="any", dtypes=ALL, **kw):
    return Row(name, fn, (domain,), dtypes, **kw)


def B(name, fn, dx="any", dy="any", dtypes=ALL):
    return Row(name, fn, (dx, dy), dtypes, ((3,), (3,)))


LAX = [
    U("neg", lax.neg), U("exp", lax.exp), U("exp2", lax.exp2), U("log", lax.log, "pos"),
    U("log1p", lax.log1p, "pos"), U("expm1", lax.expm1), U("tanh", lax.tanh),
    U("logistic", lax.logistic), U("sin", lax.sin), U("cos", lax.cos),
    U("tan", lax.tan, "small"), U("asin", lax.asin, "unit"), U("acos", lax.acos, "unit"),
    U("atan", lax.atan, "small"), U("sinh", lax.sinh), U("cosh", lax.cosh),
    U("asinh", lax.asinh, "small"), U("acosh", lax.acosh, "gt1"),
    U("atanh", lax.atanh, "unit"), U("sqrt", lax.sqrt, "pos"), U("rsqrt", lax.rsqrt, "pos"),
    U("cbrt", lax.cbrt, "away", REAL), U("abs", lax.abs, "away"),
    U("erf", lax.erf, "small", REAL), U("erf_inv", lax.erf_inv, "unit", REAL),
    U("lgamma", lax.lgamma, "gamma", REAL), U("digamma", lax.digamma, "gamma", REAL),
    U("polygamma1", lambda x: lax.polygamma(1, x), "gamma", REAL),
    U("polygamma2", lambda x: lax.polygamma(2, x), "gamma", REAL),
    U("integer_pow0", lambda x: lax.integer_pow(x, 0)),
    U("integer_pow1", lambda x: lax.integer_pow(x, 1)),
    U("integer_pow2", lambda x: lax.integer_pow(x, 2)),
    U("integer_pow3", lambda x: lax.integer_pow(x, 3)),
    U("integer_pow-2", lambda x: lax.integer_pow(x, -2), "away"),
    U("real", lax.real, dtypes=(C64, C128)), U("imag", lax.imag, dtypes=(C64, C128)),
    U("conj", lax.conj, dtypes=(C64, C128)),
    U("convert_f32_to_f64", lambda x: lax.convert_element_type(x, np.float64), dtypes=(F32,)),
    U("convert_f64_to_f32_and_back", lambda x: lax.convert_element_type(
        lax.convert_element_type(x, np.float32) * 3.0, np.float64), dtypes=(F64,),
      eps=1e-2, tol=1e-4),  # float32 in the middle: a step of float32 size
    U("convert_to_complex", lambda x: lax.mul(lax.convert_element_type(
        x, np.complex64 if get_aval(x).dtype == F32 else np.complex128),
        lax.complex(x, lax.sin(x))), dtypes=REAL),
    U("convert_complex_to_real", lambda x: lax.convert_element_type(
        lax.mul(x, x), np.float32 if get_aval(x).dtype == C64 else np.float64),
        dtypes=(C64, C128)),
    U("convert_int_roundtrip", lambda x: lax.mul(x, lax.convert_element_type(
        lax.convert_element_type(x, np.int32), get_aval(x).dtype)), dtypes=REAL),
    B("add", lax.add), B("sub", lax.sub), B("mul", lax.mul), B("div", lax.div, "any", "away"),
    B("pow", lax.pow, "pos", "any"), B("atan2", lax.atan2, "away", "away", REAL),
    B("complex", lax.complex, dtypes=REAL),
    B("select_n", lambda x, y: lax.select_n(lax.gt(lax.sin(x * 7.0), 0.0), x, y), dtypes=REAL),
    B("select_n_int", lambda x, y: lax.select_n(
        lax.convert_element_type(lax.gt(lax.sin(x * 7.0), 0.0), np.int32), x * y, y),
        dtypes=REAL),
    B("clamp", lambda x, y: lax.clamp(lax.sub(y, 0.2), x, lax.add(y, 0.2)), dtypes=REAL),
]

# max, min and rem have kinks (ties, integer ratios): fixed inputs well away from them.
KINKED = {
    "max": (lax.max, [1.5, -0.3, 0.6], [0.2, 0.9, -1.4]),
    "min": (lax.min, [1.5, -0.3, 0.6], [0.2, 0.9, -1.4]),
    "rem": (lax.rem, [2.3, -1.75, 0.4], [0.9, 0.8, -1.5]),
}


def _binary_shapes(row):
    if len(row.domains) != 2:
        return [row.shapes]
    return [((3,), (3,)), ((3,), ()), ((), (3,)), ((), ())]


def _cases(rows):
    return [pytest.param(row, dt, shapes, id=f"{row.name}-{dt}-{shapes}")
            for row in rows for dt in row.dtypes for shapes in _binary_shapes(row)]


@pytest.mark.parametrize("row,dtype,shapes", _cases(LAX))
def test_lax_grads(row, dtype, shapes, rng, request):
    _use_dtype(request, dtype)
    args = [draw(rng, d, s, dtype) for d, s in zip(row.domains, shapes)]
    check_grads(row.fn, args, order=2, eps=row.eps, atol=row.tol, rtol=row.tol)
    _check_traced(row.fn, args)


def _check_traced(fn, args):
    """The rules trace: the IRs of jvp and vjp typecheck and give the eager values."""
    tangents = [fnp.ones_like(a) for a in args]
    out = fn(*args)
    ct = fnp.ones_like(out)
    jvp_fn = lambda *a: ft.jvp(fn, a, tuple(tangents))[1]  # noqa: E731
    vjp_fn = lambda *a: ft.vjp(fn, *a)[1](ct)  # noqa: E731
    for f in (jvp_fn, vjp_fn):
        closed = ft.make_ir(f)(*args)
        ir.typecheck(closed.ir)
        got = ir.eval_ir(closed.ir, closed.consts, list(args))
        want = ft.tree_util.tree_leaves(f(*args))
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", REAL)
@pytest.mark.parametrize("name", sorted(KINKED))
@pytest.mark.parametrize("scalar", [None, 0, 1])
def test_lax_grads_of_kinked_binary(name, dtype, scalar, request):
    _use_dtype(request, dtype)
    fn, x, y = KINKED[name]
    args = [np.asarray(x, dtype), np.asarray(y, dtype)]
    if scalar is not None:
        args[scalar] = args[scalar][0]
    check_grads(fn, [fnp.asarray(a) for a in args], order=2)


# functrans.numpy: the elementwise functions, composed of the primitives above.
NUMPY = [
    U("negative", fnp.negative), U("positive", fnp.positive), U("absolute", fnp.absolute, "away"),
    U("exp", fnp.exp), U("exp2", fnp.exp2), U("expm1", fnp.expm1), U("log", fnp.log, "pos"),
    U("log1p", fnp.log1p, "pos"), U("log2", fnp.log2, "pos"), U("log10", fnp.log10, "pos"),
    U("sqrt", fnp.sqrt, "pos"), U("cbrt", fnp.cbrt, "away", REAL), U("square", fnp.square),
    U("reciprocal", fnp.reciprocal, "away"), U("sin", fnp.sin), U("cos", fnp.cos),
    U("tan", fnp.tan, "small"), U("arcsin", fnp.arcsin, "unit"),
    U("arccos", fnp.arccos, "unit"), U("arctan", fnp.arctan, "small"), U("sinh", fnp.sinh),
    U("cosh", fnp.cosh), U("tanh", fnp.tanh), U("arcsinh", fnp.arcsinh, "small"),
    U("arccosh", fnp.arccosh, "gt1"), U("arctanh", fnp.arctanh, "unit"),
    U("deg2rad", fnp.deg2rad, dtypes=REAL), U("rad2deg", fnp.rad2deg, dtypes=REAL),
    U("sinc", fnp.sinc, "away", REAL), U("nan_to_num", fnp.nan_to_num),
    U("real", fnp.real, dtypes=(C64, C128)), U("imag", fnp.imag, dtypes=(C64, C128)),
    U("conjugate", fnp.conjugate), U("angle", fnp.angle, "away", (C64, C128)),
    U("power_int", lambda x: fnp.power(x, 3)), U("float_power", lambda x: fnp.float_power(x, 2.5),
                                                "pos", REAL),
    U("expit", fsp.expit, dtypes=REAL), U("logit", fsp.logit,
                                                       "prob", REAL),
    U("erf", fsp.erf, "small", REAL),
    U("gammaln", fsp.gammaln, "gamma", REAL),
    B("add", fnp.add), B("subtract", fnp.subtract), B("multiply", fnp.multiply),
    B("true_divide", fnp.true_divide, "any", "away"), B("power", fnp.power, "pos", "any"),
    B("arctan2", fnp.arctan2, "away", "away", REAL), B("hypot", fnp.hypot, "away", "away", REAL),
    B("logaddexp", fnp.logaddexp, dtypes=REAL), B("logaddexp2", fnp.logaddexp2, dtypes=REAL),
    B("copysign", fnp.copysign, "away", "away", REAL),
    B("where", lambda x, y: fnp.where(x > y, x * y, y), dtypes=REAL),
    B("clip", lambda x, y: fnp.clip(x, y - 0.2, y + 0.2), dtypes=REAL),
    B("xlogy", fsp.xlogy, "any", "pos", REAL),
]
NUMPY_KINKED = {
    "maximum": (fnp.maximum, [1.5, -0.3, 0.6], [0.2, 0.9, -1.4]),
    "minimum": (fnp.minimum, [1.5, -0.3, 0.6], [0.2, 0.9, -1.4]),
    "fmax": (fnp.fmax, [1.5, -0.3, 0.6], [0.2, 0.9, -1.4]),
    "fmin": (fnp.fmin, [1.5, -0.3, 0.6], [0.2, 0.9, -1.4]),
    "remainder": (fnp.remainder, [2.3, -1.75, 0.4], [0.9, 0.8, -1.5]),
    "fmod": (fnp.fmod, [2.3, -1.75, 0.4], [0.9, 0.8, -1.5]),
}


@pytest.mark.parametrize("row,dtype,shapes", _cases(NUMPY))
def test_numpy_grads(row, dtype, shapes, rng, request):
    _use_dtype(request, dtype)
    args = [draw(rng, d, s, dtype) for d, s in zip(row.domains, shapes)]
    check_grads(row.fn, args, order=2)


@pytest.mark.parametrize("dtype", REAL)
@pytest.mark.parametrize("name", sorted(NUMPY_KINKED))
def test_numpy_grads_of_kinked_binary(name, dtype, request):
    _use_dtype(request, dtype)
    fn, x, y = NUMPY_KINKED[name]
    check_grads(fn, [fnp.asarray(np.asarray(x, dtype)), fnp.asarray(np.asarray(y, dtype))],
                order=2)
    # numpy broadcasting, through broadcast_in_dim
    x2 = np.asarray([x, [0.35, -1.1, 2.8]], dtype)
    check_grads(fn, [fnp.asarray(x2), fnp.asarray(np.asarray(y, dtype))], order=1)


@pytest.mark.parametrize("name", ["add", "multiply", "true_divide", "power", "arctan2"])
def test_numpy_grads_with_broadcasting(name, rng):
    fn = getattr(fnp, name)
    x = fnp.asarray(rng.uniform(0.5, 2.0, (2, 3)).astype(np.float32))
    y = fnp.asarray(rng.uniform(0.5, 2.0, (3,)).astype(np.float32))
    check_grads(fn, [x, y], order=2)
    check_grads(fn, [y, x], order=2)


def test_third_order_of_lgamma_is_polygamma(x64):
    x = 1.7
    d3 = ft.grad(ft.grad(ft.grad(lax.lgamma)))(x)
    np.testing.assert_allclose(float(d3), scipy.special.polygamma(2, x), rtol=1e-12)
    d4 = ft.grad(ft.grad(lax.digamma))(fnp.asarray(x))
    np.testing.assert_allclose(float(d4), scipy.special.polygamma(2, x), rtol=1e-12)
    check_grads(lambda x: lax.polygamma(1, x), [fnp.asarray([1.2, 2.5])], order=3)


def test_polygamma_values_and_errors():
    x = np.array([0.7, 1.0, 3.5], np.float32)
    for m in range(4):
        np.testing.assert_allclose(np.asarray(lax.polygamma(m, fnp.asarray(x))),
                                   scipy.special.polygamma(m, x.astype(np.float64)), rtol=1e-5)
    assert lax.polygamma(1, fnp.asarray(x)).dtype == np.float32
    # A float order is valid, as in jax.lax.polygamma (non-integral or negative: NaN).
    for m in (1.0, 2.0, 1.5, -1.0):
        got = lax.polygamma(m, fnp.asarray(x))
        want = jax.lax.polygamma(m, jnp.asarray(x))
        assert got.dtype == want.dtype
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5)
    with pytest.raises(ValueError, match="non-negative"):
        lax.polygamma(-1, fnp.asarray(x))
    with pytest.raises(TypeError, match="polygamma"):
        lax.polygamma(1, fnp.asarray([1, 2]))


# --- jax as an oracle ---------------------------------------------------------------------------

ORACLE = {
    "composition": (lambda np_: lambda x: np_.sum(np_.tanh(x) * np_.log1p(x ** 2)
                                                  / (1 + np_.exp(-x)) + np_.sqrt(x * x + 1.0)),
                    [0.3, -1.2, 2.0]),
    "trig_chain": (lambda np_: lambda x: np_.sum(np_.sin(np_.cos(x) * np_.arctan(x))
                                                 ** 3 / np_.cosh(x)), [0.3, -1.2, 2.0]),
    "max_min_ties": (lambda np_: lambda x: np_.sum(np_.maximum(x, 0.5) * np_.minimum(x, x[::-1])),
                     [0.5, -1.0, 2.0, 0.5]),
    "abs_at_zero": (lambda np_: lambda x: np_.sum(np_.abs(x) * np_.abs(x - 1.0)), [0.0, 1.0, -2.0]),
    "pow_at_zero": (lambda np_: lambda x: np_.sum(np_.power(x, x + 1.5)), [0.0, 0.5, 2.0]),
    "pow_y_at_zero_base": (lambda np_: lambda y: np_.sum(np_.power(np_.zeros(3), y)),
                           [1.5, 2.0, 3.0]),
    "int_powers_at_zero": (lambda np_: lambda x: np_.sum(np_.power(x, 0) + x ** 0 + x ** 1
                                                         + np_.power(x, 2) * x ** 3),
                           [0.0, 1.5, -2.0]),
    "clip": (lambda np_: lambda x: np_.sum(np_.clip(x, -0.5, 0.5) ** 2), [-1.0, 0.5, 0.25]),
    "where_div": (lambda np_: lambda x: np_.sum(np_.where(x > 0, x / (1.0 + x), -x)),
                  [-1.0, 0.5, 0.25]),
    "atan2_rem": (lambda np_: lambda x: np_.sum(np_.arctan2(x, 2.0 - x) * np_.fmod(x * 3.0, 1.3)),
                  [-1.0, 0.5, 0.25]),
    "erf_lgamma": (lambda np_: lambda x: np_.sum(
        (jax.scipy.special if np_ is jnp else fsp).erf(x)
        * (jax.scipy.special if np_ is jnp else fsp).gammaln(x + 2.0)),
        [-1.0, 0.5, 0.25]),
}


@pytest.mark.parametrize("name", sorted(ORACLE))
def test_grad_and_hessian_match_jax(name, x64):
    make, x = ORACLE[name]
    x = np.asarray(x, np.float64)
    g = ft.grad(make(fnp))(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(g), np.asarray(jax.grad(make(jnp))(x)), rtol=1e-12,
                               atol=1e-14)
    h = ft.hessian(make(fnp))(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(h), np.asarray(jax.hessian(make(jnp))(x)),
                               rtol=1e-10, atol=1e-12)


def test_max_min_ties_split_the_gradient_like_jax():
    for f in (lambda x, y: fnp.maximum(x, y), lambda x, y: fnp.minimum(x, y)):
        g = ft.grad(f, argnums=(0, 1))(1.0, 1.0)
        assert [float(v) for v in g] == [0.5, 0.5]
    gx, gy = ft.grad(lambda x, y: lax.max(x, y), argnums=(0, 1))(2.0, 1.0)
    assert (float(gx), float(gy)) == (1.0, 0.0)
    assert float(ft.grad(lambda x: lax.max(x, x))(3.0)) == 1.0


def test_abs_sign_convention_like_jax():
    for x in (0.0, -0.0):
        assert float(ft.grad(lax.abs)(x)) == float(jax.grad(jnp.abs)(x)) == 1.0
    assert complex(ft.grad(lambda z: lax.abs(z))(fnp.asarray(0j))) == 0j


# --- complex conventions -----------------------------------------------------------------------

REAL_OF_COMPLEX = {
    "abs_squared": lambda np_: lambda z: np_.abs(z) ** 2,
    "real_z_conj_z": lambda np_: lambda z: np_.real(z * np_.conj(z)),
    "imag_z_squared": lambda np_: lambda z: np_.imag(z ** 2),
    "abs_of_sin": lambda np_: lambda z: np_.abs(np_.sin(z)),
    "angle": lambda np_: lambda z: np_.angle(z * (1 + 2j)),
    "real_exp_over_abs": lambda np_: lambda z: np_.real(np_.exp(z)) / np_.abs(z),
    "real_of_complex": lambda np_: lambda z: np_.real(
        (lax.complex if np_ is fnp else jax.lax.complex)(np_.imag(z), np_.real(z)) * z),
    "convert_real": lambda np_: lambda z: (
        (lax.convert_element_type if np_ is fnp else jax.lax.convert_element_type)(
            z * z, np.float64)),
}


@pytest.mark.parametrize("name", sorted(REAL_OF_COMPLEX))
def test_grad_of_real_function_of_complex_matches_jax(name, x64):
    make = REAL_OF_COMPLEX[name]
    for z in (0.7 - 1.3j, -2.0 + 0.4j):
        g = ft.grad(make(fnp))(fnp.asarray(z))
        want = jax.grad(make(jnp))(jnp.asarray(z))
        np.testing.assert_allclose(complex(g), complex(want), rtol=1e-12)
        # and to second order, mixing the conventions of both rules
        gg = ft.grad(lambda z: fnp.real(ft.grad(make(fnp))(z) * (0.3 - 0.2j)))(fnp.asarray(z))
        wantgg = jax.grad(lambda z: jnp.real(jax.grad(make(jnp))(z) * (0.3 - 0.2j)))(z)
        np.testing.assert_allclose(complex(gg), complex(wantgg), rtol=1e-10)


HOLOMORPHIC = {
    "poly": lambda np_: lambda z: z ** 3 - 2.0 * z + 1j,
    "exp_sin": lambda np_: lambda z: np_.exp(np_.sin(z)) / (z + 2.0),
    "log_sqrt": lambda np_: lambda z: np_.log(z) * np_.sqrt(z),
    "tanh_arctan": lambda np_: lambda z: np_.tanh(z) * np_.arctan(z),
    "arcsinh_cosh": lambda np_: lambda z: np_.arcsinh(z) + np_.cosh(z) ** 2,
    "power": lambda np_: lambda z: np_.power(z, 1.5 + 0.5j),
}


@pytest.mark.parametrize("name", sorted(HOLOMORPHIC))
def test_holomorphic_grad_matches_jax(name, x64):
    make = HOLOMORPHIC[name]
    z = 0.7 + 0.4j
    g = ft.grad(make(fnp), holomorphic=True)(fnp.asarray(z))
    want = jax.grad(make(jnp), holomorphic=True)(jnp.asarray(z))
    np.testing.assert_allclose(complex(g), complex(want), rtol=1e-12)
    g2 = ft.grad(ft.grad(make(fnp), holomorphic=True), holomorphic=True)(fnp.asarray(z))
    want2 = jax.grad(jax.grad(make(jnp), holomorphic=True), holomorphic=True)(jnp.asarray(z))
    np.testing.assert_allclose(complex(g2), complex(want2), rtol=1e-10)


@pytest.mark.parametrize("name,fn,ct", [
    ("real", lax.real, 2.0), ("imag", lax.imag, 2.0), ("conj", lax.conj, 2.0 - 3.0j),
])
def test_complex_part_transposes_follow_jax(name, fn, ct):
    z = np.complex64(1.0 + 2.0j)
    jfn = getattr(jax.lax, name)
    (got,) = ft.vjp(fn, fnp.asarray(z))[1](fnp.asarray(np.asarray(ct, fn(z).dtype)))
    (want,) = jax.vjp(jfn, z)[1](np.asarray(ct, jfn(z).dtype))
    assert complex(got) == complex(want)
    got = ft.vjp(lax.complex, fnp.asarray(1.0), fnp.asarray(2.0))[1](fnp.asarray(
        np.complex64(2.0 - 3.0j)))
    want = jax.vjp(jax.lax.complex, np.float32(1.0), np.float32(2.0))[1](np.complex64(2.0 - 3.0j))
    assert [float(v) for v in got] == [float(v) for v in want] == [2.0, 3.0]


# --- zero gradients, integer inputs ----------------------------------------------------------------

PIECEWISE_CONSTANT = {
    "floor": fnp.floor, "ceil": fnp.ceil, "round": fnp.round, "rint": fnp.rint,
    "trunc": fnp.trunc, "sign": fnp.sign, "stop_gradient": lax.stop_gradient,
    "floor_divide": lambda x: fnp.floor_divide(x, 0.7),
    "nextafter": lambda x: fnp.nextafter(x, fnp.zeros_like(x)),
    "heaviside": lambda x: fnp.heaviside(x, 0.5),
    "isfinite": lambda x: fnp.where(fnp.isfinite(x), 1.0, 0.0),
    "comparison": lambda x: (x > 0.5).astype(x.dtype),
    "bitcast": lambda x: lax.bitcast_convert_type(
        lax.shift_right_logical(lax.bitcast_convert_type(x, np.int32), 1), np.float32),
    "signbit": lambda x: fnp.signbit(x).astype(np.float32),
    "to_int": lambda x: fnp.asarray(x * 3.0, np.int32).astype(np.float32),
}


@pytest.mark.parametrize("name", sorted(PIECEWISE_CONSTANT))
def test_piecewise_constant_operations_have_zero_gradients(name):
    fn = PIECEWISE_CONSTANT[name]
    x = fnp.asarray(np.array([0.3, -1.2, 2.5], np.float32))
    g = ft.grad(lambda x: fnp.sum(fn(x) * x))(x)  # only the product rule's x term survives
    np.testing.assert_array_equal(np.asarray(g), np.asarray(fn(x)))
    _, t = ft.jvp(fn, (x,), (fnp.ones_like(x),))
    np.testing.assert_array_equal(np.asarray(t), 0.0)
    assert t.dtype == fn(x).dtype


def test_grad_with_respect_to_an_int_input_raises():
    with pytest.raises(TypeError, match="int32"):
        ft.grad(lambda x: fnp.sum(x * 2.0))(fnp.asarray([1, 2, 3]))
    with pytest.raises(TypeError, match="int32"):
        ft.grad(lambda x, y: x * y, argnums=1)(1.0, 2)


def test_integer_operations_have_zero_tangents():
    x = fnp.asarray([1, 2, 3])
    for fn in (lambda x: x * 2 + 1, lambda x: lax.integer_pow(x, 2), lax.neg, lax.abs,
               lambda x: fnp.maximum(x, 2), lambda x: lax.select_n(x > 1, x, -x)):
        _, t = ft.jvp(fn, (x,), (fnp.ones_like(x),))
        np.testing.assert_array_equal(np.asarray(t), 0)
        assert t.dtype == np.int32


# --- shapes and dtypes of tangents ---------------------------------------------------------------


def test_rank0_operand_tangents_are_broadcast_and_cotangents_summed():
    x, y = fnp.asarray([1.0, 2.0, 3.0]), fnp.asarray(0.5)
    for fn in (lax.add, lax.sub, lax.mul, lax.div, lax.max, lax.atan2, lax.rem, lax.pow,
               lax.complex):
        _, t = ft.jvp(fn, (x, y), (fnp.zeros_like(x), fnp.asarray(1.0)))
        assert t.shape == (3,), fn
        _, t = ft.jvp(lambda y, fn=fn: fn(y, x), (y,), (fnp.asarray(1.0),))
        assert t.shape == (3,), fn
        out, f_vjp = ft.vjp(fn, x, y)
        gx, gy = f_vjp(fnp.ones_like(out))
        assert gx.shape == (3,) and gy.shape == (), fn
    g = ft.grad(lambda y: fnp.sum(lax.add(x, y)))(y)
    assert float(g) == 3.0
    g = ft.grad(lambda y: fnp.sum(lax.select_n(x > 1.5, y, x)))(y)
    assert float(g) == 1.0


# (functrans function, its jax counterpart): numpy-level functions, whose conversions weaken
# a tangent in JAX, and lax-level ones, which leave a strong tangent strong.
WEAK_TANGENT_CASES = {
    "sin": (fnp.sin, jnp.sin),
    "mul_float": (lambda x: x * 2.0, lambda x: x * 2.0),
    "maximum": (lambda x: fnp.maximum(x, 1.0), lambda x: jnp.maximum(x, 1.0)),
    "abs": (fnp.abs, jnp.abs),
    "where": (lambda x: fnp.where(x > 0, x, 0.0), lambda x: jnp.where(x > 0, x, 0.0)),
}

# lax-level functions on a Python scalar: JAX leaves a strong tangent strong, functrans gives
# every output tangent its primal's weak type (the jax.numpy rule above) — a difference listed
# in the README's table.
LAX_WEAK_TANGENT_CASES = {
    "lax_integer_pow": (lambda x: lax.integer_pow(x, 3), lambda x: jax.lax.integer_pow(x, 3)),
    "lax_sin": (lax.sin, jax.lax.sin),
}


@pytest.mark.parametrize("name", LAX_WEAK_TANGENT_CASES)
def test_lax_level_tangents_follow_the_primal_weak_type(name):
    fn, jfn = LAX_WEAK_TANGENT_CASES[name]
    out, t = ft.jvp(fn, (0.5,), (fnp.asarray(np.float32(1.0)),))
    jout, jt = jax.jvp(jfn, (0.5,), (jnp.asarray(np.float32(1.0)),))
    assert get_aval(out).weak_type == jout.weak_type is True
    assert (t.dtype, get_aval(t).weak_type) == (jt.dtype, True)
    assert jt.weak_type is False, "jax now weakens this tangent: move the row to the table above"


@pytest.mark.parametrize("name", WEAK_TANGENT_CASES)
def test_weak_types_of_tangents_and_cotangents_match_jax(name):
    fn, jfn = WEAK_TANGENT_CASES[name]
    # a weakly typed primal (a Python scalar), a strongly typed tangent
    _, t = ft.jvp(fn, (0.5,), (fnp.asarray(np.float32(1.0)),))
    _, jt = jax.jvp(jfn, (0.5,), (jnp.asarray(np.float32(1.0)),))
    assert (t.dtype, get_aval(t).weak_type) == (jt.dtype, jt.weak_type)
    out, f_vjp = ft.vjp(fn, 0.5)
    (g,) = f_vjp(fnp.ones_like(out))
    jout, jf_vjp = jax.vjp(jfn, 0.5)
    (jg,) = jf_vjp(jnp.ones_like(jout))
    assert (g.dtype, get_aval(g).weak_type) == (jg.dtype, jg.weak_type)


def test_linear_irs_of_the_linear_primitives_typecheck():
    x = fnp.asarray(np.array([0.5, -1.0], np.complex64))
    f = lambda z: fnp.sum(lax.real(lax.conj(z) * 2.0) - lax.imag(z) + fnp.real(  # noqa: E731
        lax.complex(lax.real(z), lax.imag(z) / 2.0)))
    _, f_jvp = ft.linearize(f, x)
    ir.typecheck(ft.make_ir(f_jvp)(x))
    _, f_vjp = ft.vjp(f, x)
    ir.typecheck(ft.make_ir(f_vjp)(fnp.asarray(np.float32(1.0))))


def test_convert_element_type_tangent_to_and_from_integers_is_zero():
    from functrans.interpreters.jvp import jvp_flat
    x = fnp.asarray([1.5, 2.5])
    _, (t,) = jvp_flat(lambda x: [lax.convert_element_type(x, np.int32)], [x], [fnp.ones_like(x)])
    assert type(t) is Zero and t.aval.dtype == np.int32
    _, (t,) = jvp_flat(lambda i: [lax.convert_element_type(i, np.float32)],
                       [fnp.asarray([1, 2])], [fnp.asarray([1, 1])])
    assert type(t) is Zero and t.aval.dtype == np.float32


# --- the rule registry --------------------------------------------------------------------------

LINEAR = {"neg", "add", "sub", "mul", "div", "real", "imag", "conj", "complex", "select_n",
          "convert_element_type"}


def test_every_elementwise_primitive_has_a_jvp_and_the_linear_ones_a_transpose():
    prims = list(ew.UNARY_PRIMITIVES + ew.BINARY_PRIMITIVES) + [
        ew.select_n_p, ew.convert_element_type_p, ew.bitcast_convert_type_p,
        ew.integer_pow_p, ew.polygamma_p, ew.round_p]
    assert [p.name for p in prims if p.jvp is None] == []
    assert sorted(p.name for p in prims if p.transpose is not None) == sorted(LINEAR)


def test_transpose_of_a_nonlinear_use_raises_clearly():
    from functrans.interpreters.reverse import UndefinedPrimal
    aval = get_aval(fnp.ones(3))
    with pytest.raises(ValueError, match="mul"):
        ew.mul_p.transpose(fnp.ones(3), UndefinedPrimal(aval), UndefinedPrimal(aval))
    with pytest.raises(ValueError, match="div"):
        ew.div_p.transpose(fnp.ones(3), fnp.ones(3), UndefinedPrimal(aval))


def test_math_constants_used_by_rules():
    # exp2, erf and erf_inv scale by constants: check them at a point exactly.
    assert math.isclose(float(ft.grad(lax.exp2)(fnp.asarray(np.float64(0.0)))), math.log(2.0),
                        rel_tol=1e-6)
    assert math.isclose(float(ft.grad(lax.erf)(0.0)), 2 / math.sqrt(math.pi), rel_tol=1e-6)
    assert math.isclose(float(ft.grad(lax.erf_inv)(0.0)), math.sqrt(math.pi) / 2, rel_tol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_square_as_product_has_the_product_rule_tangent_in_one_equation(dtype, rng, x64):
    # x * x with one tracer on both sides: t * (x + x), bitwise the product rule
    # t * x + x * t, and reverse mode records one linear equation, not three.
    x = fnp.asarray(rng.standard_normal(7).astype(dtype))
    t = fnp.asarray(rng.standard_normal(7).astype(dtype))
    _, square_t = ft.jvp(lambda a: a * a, (x,), (t,))
    _, product_t = ft.jvp(lambda a, b: a * b, (x, x), (t, t))  # two tracers: the general rule
    np.testing.assert_array_equal(square_t, product_t)
    np.testing.assert_array_equal(ft.grad(lambda a: fnp.sum(a * a))(x), 2 * np.asarray(x))
    _, f_jvp = ft.linearize(lambda a: a * a, x)
    assert [e.prim.name for e in f_jvp.linear_ir.ir.eqns] == ["mul"]
    check_grads(lambda a: fnp.sin(a * a), (x,), order=2, modes=("fwd", "rev"))
