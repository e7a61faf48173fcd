"""Derivatives at kinks, ties and special points, against JAX (issue 15).

One row per function: each row is evaluated at points where its formula has a
kink, a tie, an infinity or a NaN, and compared with JAX (the oracle) for

* values, dtype and weak type, eagerly and under ``ft.jit``;
* the first derivative (``grad`` of the sum: the elementwise derivative, every
  partial for binary functions), eagerly and under ``jit``;
* the second derivative (``grad`` of the sum of the first), and ``jvp``.
"""

from __future__ import annotations

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax as flax
from functrans import nn
from functrans.core import get_aval
from functrans.scipy import special as fsp

jax = pytest.importorskip("jax")
jnp = jax.numpy
jlax = jax.lax
jsp = jax.scipy.special

INF, NAN = float("inf"), float("nan")
# points where an elementwise formula may have a kink, a tie or a special value
POINTS = [-INF, -7.0, -6.0, -3.0, -2.0, -1.5, -1.0, -0.5, -0.0, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0,
          3.0, 6.0, 7.0, INF, NAN]


def _f32(values):
    return np.asarray(values, np.float32)


def _assert_same(got, want, what, rtol=2e-6, signed_zeros=True, atol=1e-6):
    got_np, want_np = np.asarray(got), np.asarray(want)
    assert got_np.dtype == want_np.dtype, f"{what}: dtype {got_np.dtype} != jax's {want_np.dtype}"
    assert got_np.shape == want_np.shape, f"{what}: shape {got_np.shape} != {want_np.shape}"
    if got_np.dtype.kind in "fc":
        with np.errstate(invalid="ignore"):
            close = np.isclose(got_np, want_np, rtol=rtol, atol=atol, equal_nan=True)
        # the sign of a zero too (isclose ignores it)
        zeros = (want_np == 0) & (got_np == 0) & signed_zeros
        close &= ~zeros | (np.signbit(got_np) == np.signbit(want_np))
    else:
        close = got_np == want_np
    bad = np.flatnonzero(~close)
    assert not bad.size, (f"{what}: at flat indices {bad.tolist()}: got "
                          f"{got_np.ravel()[bad].tolist()}, jax {want_np.ravel()[bad].tolist()}")


def _weak(x):
    return get_aval(x).weak_type


def _check_values(f, jf, args, what, rtol=2e-6):
    want = jf(*[jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args])
    args = [fnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    for mode, fn in (("eager", f), ("jit", ft.jit(f))):
        got = fn(*args)
        _assert_same(got, want, f"{what} [{mode}] value", rtol)
        assert _weak(got) == want.weak_type, f"{what} [{mode}]: weak type {_weak(got)}"


def _check_derivatives(f, jf, args, what, rtol=2e-6, order=2, atol2=1e-6):
    """Every partial of the (elementwise) f at ``args``, and the second derivatives."""
    argnums = tuple(range(len(args)))
    s, js = (lambda *a: fnp.sum(f(*a))), (lambda *a: jnp.sum(jf(*a)))
    jargs = [jnp.asarray(a) for a in args]
    want = jax.grad(js, argnums)(*jargs)
    for mode, g in (("eager", ft.grad(s, argnums)), ("jit", ft.jit(ft.grad(s, argnums)))):
        for i, (got, w) in enumerate(zip(g(*args), want)):
            _assert_same(got, w, f"{what} [{mode}] d/darg{i}", rtol, signed_zeros=False)
    # forward mode agrees with reverse mode
    for i in argnums:
        tangents = [np.ones_like(a) if j == i else np.zeros_like(a) for j, a in enumerate(args)]
        _, t = ft.jvp(f, tuple(args), tuple(tangents))
        _, jt = jax.jvp(jf, tuple(jargs), tuple(jnp.asarray(t_) for t_ in tangents))
        _assert_same(t, jt, f"{what} jvp along arg{i}", rtol, signed_zeros=False)
    if order < 2:
        return
    for i in argnums:
        def d_i(*a, s=s, i=i):
            return fnp.sum(ft.grad(s, i)(*a))

        def jd_i(*a, js=js, i=i):
            return jnp.sum(jax.grad(js, i)(*a))
        want2 = jax.grad(jd_i, argnums)(*jargs)
        for j, (got, w) in enumerate(zip(ft.grad(d_i, argnums)(*args), want2)):
            _assert_same(got, w, f"{what} d2/darg{i}darg{j}", rtol, signed_zeros=False,
                         atol=atol2)


# --- 1. activations -----------------------------------------------------------------------------

ACTIVATIONS = [
    ("relu", nn.relu, jax.nn.relu),
    ("relu6", nn.relu6, jax.nn.relu6),
    ("elu", nn.elu, jax.nn.elu),
    ("elu_alpha", lambda x: nn.elu(x, 0.5), lambda x: jax.nn.elu(x, 0.5)),
    ("leaky_relu", nn.leaky_relu, jax.nn.leaky_relu),
    ("leaky_relu_slope", lambda x: nn.leaky_relu(x, 0.2), lambda x: jax.nn.leaky_relu(x, 0.2)),
    ("hard_tanh", nn.hard_tanh, jax.nn.hard_tanh),
    ("celu", nn.celu, jax.nn.celu),
    ("celu_alpha", lambda x: nn.celu(x, 2.0), lambda x: jax.nn.celu(x, 2.0)),
    ("selu", nn.selu, jax.nn.selu),
    ("hard_sigmoid", nn.hard_sigmoid, jax.nn.hard_sigmoid),
    ("hard_silu", nn.hard_silu, jax.nn.hard_silu),
    ("hard_swish", nn.hard_swish, jax.nn.hard_swish),
    ("log_sigmoid", nn.log_sigmoid, jax.nn.log_sigmoid),
    ("soft_sign", nn.soft_sign, jax.nn.soft_sign),
    ("sparse_plus", nn.sparse_plus, jax.nn.sparse_plus),
    ("sparse_sigmoid", nn.sparse_sigmoid, jax.nn.sparse_sigmoid),
    ("squareplus", nn.squareplus, jax.nn.squareplus),
    ("squareplus_b0", lambda x: nn.squareplus(x, 0), lambda x: jax.nn.squareplus(x, 0)),
    ("mish", nn.mish, jax.nn.mish),
    ("softplus", nn.softplus, jax.nn.softplus),
    ("sigmoid", nn.sigmoid, jax.nn.sigmoid),
    ("silu", nn.silu, jax.nn.silu),
    ("swish", nn.swish, jax.nn.swish),
    ("tanh", nn.tanh, jax.nn.tanh),
    ("gelu", nn.gelu, jax.nn.gelu),
    ("gelu_exact", lambda x: nn.gelu(x, approximate=False),
     lambda x: jax.nn.gelu(x, approximate=False)),
    ("identity", nn.identity, jax.nn.identity),
    ("log1mexp", nn.log1mexp, jax.nn.log1mexp),
]


@pytest.mark.parametrize("name,f,jf", ACTIVATIONS, ids=[r[0] for r in ACTIVATIONS])
def test_activation_matches_jax(name, f, jf):
    x = _f32(POINTS)
    _check_values(f, jf, (x,), name, rtol=1e-5)
    # mish'' at 6 and 7 (~1e-4) is a float32 cancellation: ours is nearer the
    # float64 value (-2.4286e-4, -3.974e-5) than JAX's (-2.415e-4, -3.71e-5)
    _check_derivatives(f, jf, (x,), name, rtol=1e-5, atol2=5e-6 if name == "mish" else 1e-6)


@pytest.mark.parametrize("name,f,jf", ACTIVATIONS, ids=[r[0] for r in ACTIVATIONS])
def test_activation_python_scalar_and_int(name, f, jf):
    """A Python float stays weakly typed; the derivative at 0 is JAX's."""
    _check_values(f, jf, (0.0,), name)
    g, jg = ft.grad(f)(0.0), jax.grad(jf)(0.0)
    _assert_same(g, jg, f"{name} grad at 0.0")


def test_relu_derivative_at_zero_is_zero():
    assert ft.grad(nn.relu)(0.0).item() == 0.0
    assert [ft.grad(nn.relu6)(v).item() for v in (0.0, 6.0)] == [0.0, 0.0]
    assert ft.grad(nn.elu)(0.0).item() == 1.0


def test_glu_matches_jax():
    x = np.arange(-4, 4, dtype=np.float32).reshape(2, 4) / 2
    for axis in (-1, 0, 1):
        _check_values(lambda v: nn.glu(v, axis), lambda v: jax.nn.glu(v, axis), (x,), "glu")
        g = ft.grad(lambda v: fnp.sum(nn.glu(v, axis)))(x)
        _assert_same(g, jax.grad(lambda v: jnp.sum(jax.nn.glu(v, axis)))(x), "glu grad")
    with pytest.raises(ValueError, match="even"):
        nn.glu(np.ones((3,), np.float32))


def test_one_hot_matches_jax():
    x = np.array([0, 2, -1, 3], np.int32)
    for axis in (-1, 0):
        _assert_same(nn.one_hot(x, 3, axis=axis), jax.nn.one_hot(x, 3, axis=axis), "one_hot")
    _assert_same(nn.one_hot(x, 3, dtype=np.int32), jax.nn.one_hot(x, 3, dtype=jnp.int32),
                 "one_hot int32")


# --- 2./3. logaddexp, fmax/fmin, logsumexp, softmax ----------------------------------------------

TIE_PAIRS = [(1.0, 1.0), (-INF, -INF), (INF, INF), (-INF, INF), (2.0, -INF), (NAN, 1.0),
             (1.0, NAN), (NAN, NAN), (0.0, -0.0), (-0.0, 0.0), (3.0, -2.0), (-2.0, 3.0),
             (INF, 1.0), (-INF, 0.5)]
_X, _Y = _f32([p[0] for p in TIE_PAIRS]), _f32([p[1] for p in TIE_PAIRS])

BINARY = [
    ("logaddexp", fnp.logaddexp, jnp.logaddexp),
    ("logaddexp2", fnp.logaddexp2, jnp.logaddexp2),
    ("fmax", fnp.fmax, jnp.fmax),
    ("fmin", fnp.fmin, jnp.fmin),
    ("maximum", fnp.maximum, jnp.maximum),
    ("minimum", fnp.minimum, jnp.minimum),
    ("lax.max", flax.max, jlax.max),
    ("lax.min", flax.min, jlax.min),
    ("arctan2", fnp.arctan2, jnp.arctan2),
    ("hypot", fnp.hypot, jnp.hypot),
    ("copysign", fnp.copysign, jnp.copysign),
    ("power", fnp.power, jnp.power),
    ("true_divide", fnp.true_divide, jnp.true_divide),
    ("heaviside", fnp.heaviside, jnp.heaviside),
    ("float_power", fnp.float_power, jnp.float_power),
]


@pytest.mark.parametrize("name,f,jf", BINARY, ids=[r[0] for r in BINARY])
def test_binary_at_ties_matches_jax(name, f, jf):
    _check_values(f, jf, (_X, _Y), name)
    _check_derivatives(f, jf, (_X, _Y), name)


@pytest.mark.parametrize("name,f,jf", BINARY[:4], ids=[r[0] for r in BINARY[:4]])
def test_binary_python_scalars(name, f, jf):
    _check_values(f, jf, (1.0, 1.0), name)
    for a in range(2):
        _assert_same(ft.grad(f, a)(1.0, 1.0), jax.grad(jf, a)(1.0, 1.0), f"{name} d{a} at a tie")


LOGSUMEXP_ARGS = [
    dict(), dict(axis=-1), dict(axis=0), dict(axis=(0, 1)), dict(keepdims=True),
    dict(axis=1, keepdims=True),
]
_LSE_X = _f32([[0.0, 1.0, 1.0], [-INF, -INF, -INF], [2.0, -INF, INF], [NAN, 0.0, 1.0]])
_LSE_FINITE = _f32([[0.0, 1.0, 1.0], [-INF, -INF, -INF], [2.0, -INF, 3.0], [-1.0, 0.0, 1.0]])


@pytest.mark.parametrize("module", ["nn", "special"])
@pytest.mark.parametrize("kw", LOGSUMEXP_ARGS, ids=str)
def test_logsumexp_matches_jax(module, kw):
    f = {"nn": nn.logsumexp, "special": fsp.logsumexp}[module]
    jf = {"nn": jax.nn.logsumexp, "special": jsp.logsumexp}[module]
    _check_values(lambda a: f(a, **kw), lambda a: jf(a, **kw), (_LSE_X,), f"logsumexp {kw}")
    _check_derivatives(lambda a: f(a, **kw), lambda a: jf(a, **kw), (_LSE_FINITE,),
                       f"logsumexp {kw}")


def test_logsumexp_defaults_reduce_every_axis():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert nn.logsumexp(x).shape == ()
    g = ft.grad(nn.logsumexp)(_f32([-INF, -INF]))
    assert np.isnan(np.asarray(g)).all()   # as jax.grad(jax.nn.logsumexp)


def test_logsumexp_b_where_return_sign_match_jax():
    a = _f32([[0.0, 1.0, 2.0], [3.0, -INF, 1.0]])
    b = _f32([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]])
    where = np.array([[True, False, True], [True, True, False]])
    cases = [
        (lambda x: fsp.logsumexp(x, b=b), lambda x: jsp.logsumexp(x, b=b)),
        (lambda x: fsp.logsumexp(x, axis=1, b=b), lambda x: jsp.logsumexp(x, axis=1, b=b)),
        (lambda x: fsp.logsumexp(x, axis=1, b=b, return_sign=True)[0],
         lambda x: jsp.logsumexp(x, axis=1, b=b, return_sign=True)[0]),
        (lambda x: fsp.logsumexp(x, axis=1, b=b, return_sign=True)[1],
         lambda x: jsp.logsumexp(x, axis=1, b=b, return_sign=True)[1]),
        (lambda x: fsp.logsumexp(x, axis=1, where=where),
         lambda x: jsp.logsumexp(x, axis=1, where=where)),
        (lambda x: nn.logsumexp(x, where=where), lambda x: jax.nn.logsumexp(x, where=where)),
    ]
    for i, (f, jf) in enumerate(cases):
        _check_values(f, jf, (a,), f"logsumexp case {i}", rtol=1e-5)
    for i, (f, jf) in enumerate(cases[:3] + cases[4:]):
        _check_derivatives(f, jf, (a,), f"logsumexp case {i}", rtol=1e-5, order=1)


SOFTMAX = [
    ("nn.softmax", lambda x: nn.softmax(x), lambda x: jax.nn.softmax(x)),
    ("nn.softmax0", lambda x: nn.softmax(x, axis=0), lambda x: jax.nn.softmax(x, axis=0)),
    ("nn.softmax_all", lambda x: nn.softmax(x, axis=None), lambda x: jax.nn.softmax(x, axis=None)),
    ("nn.log_softmax", lambda x: nn.log_softmax(x), lambda x: jax.nn.log_softmax(x)),
    ("nn.log_softmax0", lambda x: nn.log_softmax(x, axis=0),
     lambda x: jax.nn.log_softmax(x, axis=0)),
    ("special.softmax", lambda x: fsp.softmax(x), lambda x: jsp.softmax(x)),
    ("special.log_softmax", lambda x: fsp.log_softmax(x, axis=1),
     lambda x: jsp.log_softmax(x, axis=1)),
    ("nn.softmax_where", lambda x: nn.softmax(x, where=_LSE_X > 0.5),
     lambda x: jax.nn.softmax(x, where=_LSE_X > 0.5)),
    ("nn.log_softmax_where", lambda x: nn.log_softmax(x, where=_LSE_X > 0.5),
     lambda x: jax.nn.log_softmax(x, where=_LSE_X > 0.5)),
    ("logmeanexp", lambda x: nn.logmeanexp(x, axis=1), lambda x: jax.nn.logmeanexp(x, axis=1)),
    ("standardize", lambda x: nn.standardize(x), lambda x: jax.nn.standardize(x)),
]


@pytest.mark.parametrize("name,f,jf", SOFTMAX, ids=[r[0] for r in SOFTMAX])
def test_softmax_family_matches_jax(name, f, jf):
    _check_values(f, jf, (_LSE_X,), name, rtol=1e-5)
    _check_derivatives(f, jf, (_LSE_FINITE,), name, rtol=1e-5, order=1)


# --- 4. kinks of the elementwise functions, where with a NaN in the other branch ------------------

UNARY = [
    ("abs", fnp.abs, jnp.abs), ("sqrt", fnp.sqrt, jnp.sqrt), ("cbrt", fnp.cbrt, jnp.cbrt),
    ("rsqrt", flax.rsqrt, jlax.rsqrt), ("sign", fnp.sign, jnp.sign),
    ("floor", fnp.floor, jnp.floor), ("ceil", fnp.ceil, jnp.ceil),
    ("round", fnp.round, jnp.round), ("rint", fnp.rint, jnp.rint),
    ("trunc", fnp.trunc, jnp.trunc), ("fix", fnp.fix, jnp.trunc),
    ("lax.round", flax.round, jlax.round),
    ("clip01", lambda x: fnp.clip(x, 0.0, 1.0), lambda x: jnp.clip(x, 0.0, 1.0)),
    ("clip_lo", lambda x: fnp.clip(x, -1.0), lambda x: jnp.clip(x, -1.0)),
    ("clip_hi", lambda x: fnp.clip(x, max=1.0), lambda x: jnp.clip(x, max=1.0)),
    ("clip_min_max", lambda x: fnp.clip(x, min=-1.0, max=2.0),
     lambda x: jnp.clip(x, min=-1.0, max=2.0)),
    ("lax.clamp", lambda x: flax.clamp(np.float32(-1), x, np.float32(1)),
     lambda x: jlax.clamp(np.float32(-1), x, np.float32(1))),
    ("square", fnp.square, jnp.square), ("reciprocal", fnp.reciprocal, jnp.reciprocal),
    ("x**2", lambda x: x ** 2, lambda x: x ** 2), ("x**3", lambda x: x ** 3, lambda x: x ** 3),
    ("x**0.5", lambda x: x ** 0.5, lambda x: x ** 0.5),
    ("x**0", lambda x: x ** 0, lambda x: x ** 0), ("x**-1", lambda x: x ** -1, lambda x: x ** -1),
    ("power(x, 0.0)", lambda x: fnp.power(x, 0.0), lambda x: jnp.power(x, 0.0)),
    ("power(x, 2.0)", lambda x: fnp.power(x, 2.0), lambda x: jnp.power(x, 2.0)),
    ("power(0.0, x)", lambda x: fnp.power(0.0, x), lambda x: jnp.power(0.0, x)),
    ("power(2.0, x)", lambda x: fnp.power(2.0, x), lambda x: jnp.power(2.0, x)),
    ("exp", fnp.exp, jnp.exp), ("exp2", fnp.exp2, jnp.exp2), ("expm1", fnp.expm1, jnp.expm1),
    ("log", fnp.log, jnp.log), ("log1p", fnp.log1p, jnp.log1p), ("log2", fnp.log2, jnp.log2),
    ("log10", fnp.log10, jnp.log10),
    ("sin", fnp.sin, jnp.sin), ("cos", fnp.cos, jnp.cos), ("tan", fnp.tan, jnp.tan),
    ("arcsin", fnp.arcsin, jnp.arcsin), ("arccos", fnp.arccos, jnp.arccos),
    ("arctan", fnp.arctan, jnp.arctan), ("sinh", fnp.sinh, jnp.sinh),
    ("cosh", fnp.cosh, jnp.cosh), ("tanh", fnp.tanh, jnp.tanh),
    ("arcsinh", fnp.arcsinh, jnp.arcsinh), ("arccosh", fnp.arccosh, jnp.arccosh),
    ("arctanh", fnp.arctanh, jnp.arctanh), ("sinc", fnp.sinc, jnp.sinc),
    ("deg2rad", fnp.deg2rad, jnp.deg2rad), ("rad2deg", fnp.rad2deg, jnp.rad2deg),
    ("negative", fnp.negative, jnp.negative), ("positive", fnp.positive, jnp.positive),
    ("nan_to_num", fnp.nan_to_num, jnp.nan_to_num),
    ("signbit", fnp.signbit, jnp.signbit), ("isnan", fnp.isnan, jnp.isnan),
    ("isinf", fnp.isinf, jnp.isinf), ("isfinite", fnp.isfinite, jnp.isfinite),
    ("logistic", flax.logistic, jlax.logistic), ("erf", fsp.erf, jsp.erf),
    ("erfc", fsp.erfc, jsp.erfc), ("expit", fsp.expit, jsp.expit), ("logit", fsp.logit, jsp.logit),
    ("ndtr", fsp.ndtr, jsp.ndtr), ("entr", fsp.entr, jsp.entr),
    ("xlogy(x, x)", lambda x: fsp.xlogy(x, x), lambda x: jsp.xlogy(x, x)),
    ("xlog1py(x, x)", lambda x: fsp.xlog1py(x, x), lambda x: jsp.xlog1py(x, x)),
]
_SMOOTH_ONLY = {"erfc", "ndtr"}   # erfc is 1 - erf here (an erfc primitive in JAX): rounding


@pytest.mark.parametrize("name,f,jf", UNARY, ids=[r[0] for r in UNARY])
def test_unary_at_special_points_matches_jax(name, f, jf):
    x = _f32(POINTS)
    rtol = 1e-4 if name in _SMOOTH_ONLY else 2e-6
    _check_values(f, jf, (x,), name, rtol=rtol)
    out = jf(jnp.asarray(x))
    if jnp.issubdtype(out.dtype, jnp.floating):
        _check_derivatives(f, jf, (x,), name, rtol=rtol)


WHERE = [
    ("where(x>0, sqrt(x), 0)", lambda x: fnp.where(x > 0, fnp.sqrt(x), 0.0),
     lambda x: jnp.where(x > 0, jnp.sqrt(x), 0.0)),
    ("where(x>0, x, log(x))", lambda x: fnp.where(x > 0, x, fnp.log(x)),
     lambda x: jnp.where(x > 0, x, jnp.log(x))),
    ("where(x>0, 1/x, x)", lambda x: fnp.where(x > 0, 1 / x, x),
     lambda x: jnp.where(x > 0, 1 / x, x)),
    ("where(isfinite, x, 0)", lambda x: fnp.where(fnp.isfinite(x), x, 0.0),
     lambda x: jnp.where(jnp.isfinite(x), x, 0.0)),
    ("where(x==0, 1, sin(x)/x)", lambda x: fnp.where(x == 0, 1.0, fnp.sin(x) / x),
     lambda x: jnp.where(x == 0, 1.0, jnp.sin(x) / x)),
    ("x*where(x>0, x, 0)", lambda x: x * fnp.where(x > 0, x, 0.0),
     lambda x: x * jnp.where(x > 0, x, 0.0)),
]


@pytest.mark.parametrize("name,f,jf", WHERE, ids=[r[0] for r in WHERE])
def test_where_with_nan_in_other_branch_matches_jax(name, f, jf):
    x = _f32(POINTS)
    _check_values(f, jf, (x,), name)
    _check_derivatives(f, jf, (x,), name)


# --- 5. integer division and remainder by zero and by -1 ---------------------------------------

INT_DIV = [
    ("floor_divide", fnp.floor_divide, jnp.floor_divide),
    ("remainder", fnp.remainder, jnp.remainder),
    ("mod", fnp.mod, jnp.mod),
    ("fmod", fnp.fmod, jnp.fmod),
    ("divmod[0]", lambda x, y: fnp.divmod(x, y)[0], lambda x, y: jnp.divmod(x, y)[0]),
    ("divmod[1]", lambda x, y: fnp.divmod(x, y)[1], lambda x, y: jnp.divmod(x, y)[1]),
    ("//", lambda x, y: x // y, lambda x, y: x // y),
    ("%", lambda x, y: x % y, lambda x, y: x % y),
    ("lax.div", flax.div, jlax.div),
    ("lax.rem", flax.rem, jlax.rem),
]


def _grid(dtype):
    if np.dtype(dtype).kind == "f":
        v = _f32([5, -5, 0, -0.0, INF, -INF, NAN, 1, 0.1, -7.5, 2.5, -1])
    else:
        info = np.iinfo(dtype)
        v = np.array(sorted({0, 1, 2, 3, -1, -2, -7, 7, int(info.min), int(info.max),
                             int(info.min) + 1}), np.int64)
        v = v[(v >= info.min) & (v <= info.max)].astype(dtype)
    x, y = np.meshgrid(v, v)
    return x.ravel(), y.ravel()


@pytest.mark.parametrize("dtype", ["int32", "int8", "int16", "uint8", "uint32", "float32"])
@pytest.mark.parametrize("name,f,jf", INT_DIV, ids=[r[0] for r in INT_DIV])
def test_division_by_zero_and_minus_one_matches_jax(name, f, jf, dtype):
    x, y = _grid(dtype)
    fx, fy = fnp.asarray(x), fnp.asarray(y)
    want = jf(jnp.asarray(x), jnp.asarray(y))
    for mode, fn in (("eager", f), ("jit", ft.jit(f))):
        _assert_same(fn(fx, fy), want, f"{name} {dtype} [{mode}]")


def test_floor_divide_by_zero_probe():
    x = fnp.asarray([5, -5])
    assert (x // 0).tolist() == [-2, -2]
    assert ft.jit(lambda v: v // 0)(x).tolist() == [-2, -2]
    assert (x % 0).tolist() == [0, 0]


# --- 6. integer extremes and empty arrays ---------------------------------------------------------

INT_UNARY = [
    ("abs", fnp.abs, jnp.abs), ("negative", fnp.negative, jnp.negative),
    ("sign", fnp.sign, jnp.sign), ("square", fnp.square, jnp.square),
    ("floor", fnp.floor, jnp.floor), ("round", fnp.round, jnp.round),
    ("invert", fnp.invert, jnp.invert), ("clip", lambda x: fnp.clip(x, 1, 3),
                                         lambda x: jnp.clip(x, 1, 3)),
]


@pytest.mark.parametrize("dtype", ["int8", "int32", "uint8", "uint16"])
@pytest.mark.parametrize("name,f,jf", INT_UNARY, ids=[r[0] for r in INT_UNARY])
def test_integer_extremes_match_jax(name, f, jf, dtype):
    info = np.iinfo(dtype)
    x = np.array([info.min, info.min + 1, 0, 1, info.max - 1, info.max], dtype)
    _check_values(f, jf, (x,), f"{name} {dtype}")


EMPTY = [(n, f, jf) for n, f, jf in UNARY if n not in ("nan_to_num",)][:20] + BINARY[:6]


@pytest.mark.parametrize("name,f,jf", EMPTY, ids=[r[0] for r in EMPTY])
def test_empty_arrays_match_jax(name, f, jf):
    n_args = 2 if (name, f, jf) in BINARY else 1
    x = np.zeros((0, 3), np.float32)
    _check_values(f, jf, (x,) * n_args, f"{name} on empty")
