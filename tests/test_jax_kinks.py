"""Derivatives at kinks, ties and special points, against JAX (issue 15).

Table-driven: each row is a function (functrans's and JAX's), evaluated at
points where its formula has a kink, a tie, an infinity or a NaN, and compared
with JAX (the oracle) for

* values, dtype and weak type, eagerly and under ``ft.jit``;
* the first derivative (``grad`` of the sum: the elementwise derivative, every
  partial for binary functions), eagerly and under ``jit``, and ``jvp``;
* the second derivative (``grad`` of the sum of the first).

A table is checked as a whole (one jit of the oracle, one of functrans, per
table: compiling per row would make the file slow) and a failure lists every
row that differs.
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


def _jax_args(args):
    return [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]


def _ft_args(args):
    return [fnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]


def _derivatives(grad, jvp, np_, f, args, order):
    """First partials of sum(f), jvps along each argument, and the second partials
    (written once for functrans and for jax: ``np_`` is fnp or jnp)."""
    argnums = tuple(range(len(args)))

    def s(*a):
        return np_.sum(f(*a))
    out = {"d1": grad(s, argnums)(*args), "jvp": []}
    for i in argnums:
        tangents = tuple(np_.ones_like(a) if j == i else np_.zeros_like(a)
                         for j, a in enumerate(args))
        out["jvp"].append(jvp(f, tuple(args), tangents)[1])
    if order >= 2:
        out["d2"] = [grad(lambda *a, i=i: np_.sum(grad(s, i)(*a)), argnums)(*args)
                     for i in argnums]
    return out


def _check_table(rows, args, *, order=2, rtol=2e-6, atol2=None):
    """Checks every row ``(name, f, jf)`` at ``args`` against JAX (see the module
    docstring); ``order`` 0 checks values only. ``atol2`` maps a row's name to the
    absolute tolerance of its second derivatives."""
    atol2 = atol2 or {}
    fs, jfs = [r[1] for r in rows], [r[2] for r in rows]
    jargs, fargs = _jax_args(args), _ft_args(args)
    want = jax.jit(lambda *a: [jf(*a) for jf in jfs])(*jargs)
    got_jit = ft.jit(lambda *a: [f(*a) for f in fs])(*fargs)
    smooth = [i for i, w in enumerate(want) if order and jnp.issubdtype(w.dtype, jnp.floating)]
    if smooth:
        want_d = jax.jit(lambda *a: [_derivatives(jax.grad, jax.jvp, jnp, jfs[i], a, order)
                                     for i in smooth])(*jargs)
        got_d_jit = ft.jit(lambda *a: [_derivatives(ft.grad, ft.jvp, fnp, fs[i], a, 1)["d1"]
                                       for i in smooth])(*fargs)
    errors = []
    for k, (name, f, _) in enumerate(rows):
        try:
            got = f(*fargs)
            for mode, g in (("eager", got), ("jit", got_jit[k])):
                _assert_same(g, want[k], f"{name} [{mode}] value", rtol)
                assert _weak(g) == want[k].weak_type, f"{name} [{mode}]: weak type {_weak(g)}"
            if k not in smooth:
                continue
            w = want_d[smooth.index(k)]
            d = _derivatives(ft.grad, ft.jvp, fnp, f, fargs, order)
            d_jit = got_d_jit[smooth.index(k)]
            for i in range(len(args)):
                _assert_same(d["d1"][i], w["d1"][i], f"{name} [eager] d/darg{i}", rtol,
                             signed_zeros=False)
                _assert_same(d_jit[i], w["d1"][i], f"{name} [jit] d/darg{i}", rtol,
                             signed_zeros=False)
                _assert_same(d["jvp"][i], w["jvp"][i], f"{name} jvp along arg{i}", rtol,
                             signed_zeros=False)
                for j in range(len(args) if order >= 2 else 0):
                    _assert_same(d["d2"][i][j], w["d2"][i][j], f"{name} d2/darg{i}darg{j}",
                                 rtol, signed_zeros=False, atol=atol2.get(name, 1e-6))
        except AssertionError as e:
            errors.append(str(e).splitlines()[0])
    assert not errors, "\n".join(errors)


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


def test_activations_match_jax():
    # mish'' at 6 and 7 (~1e-4) is a float32 cancellation: ours is nearer the
    # float64 value (-2.4286e-4, -3.974e-5) than JAX's (-2.415e-4, -3.71e-5)
    _check_table(ACTIVATIONS, (_f32(POINTS),), rtol=1e-5, atol2={"mish": 5e-6})


_SCALAR_ROWS = [r for r in ACTIVATIONS if r[0] in ("relu", "relu6", "elu", "leaky_relu",
                                                    "hard_tanh", "celu", "gelu", "softplus")]


def test_activations_of_python_scalars_match_jax():
    """A Python float stays weakly typed; the derivatives at 0 are JAX's."""
    _check_table(_SCALAR_ROWS, (0.0,), order=1)


def test_relu_derivative_at_zero_is_zero():
    assert ft.grad(nn.relu)(0.0).item() == 0.0
    assert [ft.grad(nn.relu6)(v).item() for v in (0.0, 6.0)] == [0.0, 0.0]
    assert ft.grad(nn.elu)(0.0).item() == 1.0


def test_glu_matches_jax():
    x = np.arange(-4, 4, dtype=np.float32).reshape(2, 4) / 2
    rows = [(f"glu axis={axis}", lambda v, axis=axis: nn.glu(v, axis),
             lambda v, axis=axis: jax.nn.glu(v, axis)) for axis in (-1, 0, 1)]
    _check_table(rows, (x,), order=1)
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


def test_binary_at_ties_matches_jax():
    _check_table(BINARY, (_X, _Y))


def test_binary_python_scalars_at_a_tie_match_jax():
    _check_table(BINARY[:4], (1.0, 1.0), order=1)


LOGSUMEXP_ARGS = [
    dict(), dict(axis=-1), dict(axis=0), dict(axis=(0, 1)), dict(keepdims=True),
    dict(axis=1, keepdims=True),
]
_LSE_X = _f32([[0.0, 1.0, 1.0], [-INF, -INF, -INF], [2.0, -INF, INF], [NAN, 0.0, 1.0]])
_LSE_FINITE = _f32([[0.0, 1.0, 1.0], [-INF, -INF, -INF], [2.0, -INF, 3.0], [-1.0, 0.0, 1.0]])


LOGSUMEXP = ([(f"nn {kw}", lambda a, kw=kw: nn.logsumexp(a, **kw),
               lambda a, kw=kw: jax.nn.logsumexp(a, **kw)) for kw in LOGSUMEXP_ARGS]
             + [(f"special {kw}", lambda a, kw=kw: fsp.logsumexp(a, **kw),
                 lambda a, kw=kw: jsp.logsumexp(a, **kw)) for kw in LOGSUMEXP_ARGS[:2]])


def test_logsumexp_matches_jax():
    _check_table(LOGSUMEXP, (_LSE_X,), order=0)
    _check_table(LOGSUMEXP, (_LSE_FINITE,))


def test_logsumexp_defaults_reduce_every_axis():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert nn.logsumexp(x).shape == ()
    g = ft.grad(nn.logsumexp)(_f32([-INF, -INF]))
    assert np.isnan(np.asarray(g)).all()   # as jax.grad(jax.nn.logsumexp)


def test_logsumexp_b_where_return_sign_match_jax():
    a = _f32([[0.0, 1.0, 2.0], [3.0, -INF, 1.0]])
    b = _f32([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]])
    where = np.array([[True, False, True], [True, True, False]])
    rows = [
        ("b", lambda x: fsp.logsumexp(x, b=b), lambda x: jsp.logsumexp(x, b=b)),
        ("b axis", lambda x: fsp.logsumexp(x, axis=1, b=b),
         lambda x: jsp.logsumexp(x, axis=1, b=b)),
        ("return_sign", lambda x: fsp.logsumexp(x, axis=1, b=b, return_sign=True)[0],
         lambda x: jsp.logsumexp(x, axis=1, b=b, return_sign=True)[0]),
        ("where", lambda x: fsp.logsumexp(x, axis=1, where=where),
         lambda x: jsp.logsumexp(x, axis=1, where=where)),
        ("nn where", lambda x: nn.logsumexp(x, where=where),
         lambda x: jax.nn.logsumexp(x, where=where)),
    ]
    _check_table(rows, (a,), order=1, rtol=1e-5)
    sign = [("sign", lambda x: fsp.logsumexp(x, axis=1, b=b, return_sign=True)[1],
             lambda x: jsp.logsumexp(x, axis=1, b=b, return_sign=True)[1])]
    _check_table(sign, (a,), order=0)


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


def test_softmax_family_matches_jax():
    _check_table(SOFTMAX, (_LSE_X,), order=0, rtol=1e-5)
    _check_table(SOFTMAX, (_LSE_FINITE,), order=1, rtol=1e-5)


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


# second derivatives for the rows with a kink or a removable singularity (the
# smooth functions' are the chain rule over rules that the kinked rows test too)
_KINKED = {"abs", "sqrt", "cbrt", "rsqrt", "sign", "floor", "round", "clip01", "clip_lo",
           "clip_hi", "lax.clamp", "x**0.5", "x**0", "power(x, 0.0)", "power(0.0, x)", "sinc",
           "logit", "entr", "xlogy(x, x)", "xlog1py(x, x)", "arctanh", "tanh", "reciprocal"}


def test_unary_at_special_points_matches_jax():
    x = (_f32(POINTS),)
    _check_table([r for r in UNARY if r[0] in _KINKED], x)
    _check_table([r for r in UNARY if r[0] not in _KINKED | _SMOOTH_ONLY], x, order=1)
    _check_table([r for r in UNARY if r[0] in _SMOOTH_ONLY], x, order=1, rtol=1e-4)


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


def test_where_with_nan_in_other_branch_matches_jax():
    _check_table(WHERE, (_f32(POINTS),))


LAX_UNARY = [(f"lax.{n}", getattr(flax, n), getattr(jlax, n)) for n in (
    "neg", "sign", "floor", "ceil", "is_finite", "exp", "exp2", "log", "log1p", "expm1", "tanh",
    "logistic", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
    "atanh", "sqrt", "rsqrt", "cbrt", "abs", "erf", "erf_inv", "lgamma", "digamma")] + [
    ("lax.integer_pow 3", lambda x: flax.integer_pow(x, 3), lambda x: jlax.integer_pow(x, 3)),
    ("lax.integer_pow -2", lambda x: flax.integer_pow(x, -2),
     lambda x: jlax.integer_pow(x, -2)),
    ("lax.round half even", lambda x: flax.round(x, 1),
     lambda x: jlax.round(x, jlax.RoundingMethod.TO_NEAREST_EVEN)),
]
LAX_BINARY = [(f"lax.{n}", getattr(flax, n), getattr(jlax, n)) for n in (
    "add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2")]
_ROUGH_LAX = {"lax.lgamma", "lax.digamma", "lax.erf_inv", "lax.erf", "lax.cbrt", "lax.exp2"}


def test_lax_elementwise_at_special_points_match_jax():
    x = (_f32(POINTS),)
    _check_table([r for r in LAX_UNARY if r[0] not in _ROUGH_LAX], x, order=1)
    _check_table([r for r in LAX_UNARY if r[0] in _ROUGH_LAX], x, order=1, rtol=1e-4)
    _check_table(LAX_BINARY, (_X, _Y), order=1)
    # (JAX has no derivative of nextafter; ours is 0)
    _check_table([("lax.nextafter", flax.nextafter, jlax.nextafter)], (_X, _Y), order=0)


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
def test_division_by_zero_and_minus_one_matches_jax(dtype):
    _check_table(INT_DIV, _grid(dtype), order=0)


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
def test_integer_extremes_match_jax(dtype):
    info = np.iinfo(dtype)
    x = np.array([info.min, info.min + 1, 0, 1, info.max - 1, info.max], dtype)
    _check_table(INT_UNARY, (x,), order=0)


def test_empty_arrays_match_jax():
    x = np.zeros((0, 3), np.float32)
    _check_table(UNARY, (x,), order=1)
    _check_table(BINARY, (x, x), order=1)
