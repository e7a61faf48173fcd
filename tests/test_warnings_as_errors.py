"""No numpy floating-point warning leaves a functrans operation even when the user's own
filter makes warnings errors (``warnings.simplefilter("error")``, ``python -W error``): JAX
never warns, so code that ports from JAX must not start raising. The values are those
numpy computes with its warnings off (and jax's, where jax has the function)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans.scipy import special

NEG_INF2 = np.array([-np.inf, -np.inf], np.float32)

# (name, functrans program, jax program): each would warn in numpy (divide by zero,
# invalid value, overflow) on the eager paths: the ufunc fast paths, eval_primitive,
# reverse mode's host shortcuts and the reductions.
CASES = [
    ("log0", lambda m: m.log(m.asarray(np.array([0.0, -1.0], np.float32)))),
    ("div0", lambda m: m.asarray(np.array([1.0, 0.0], np.float32)) / 0),
    ("sqrt-neg", lambda m: m.sqrt(m.asarray(np.array([-1.0], np.float32)))),
    ("exp-overflow", lambda m: m.exp(m.asarray(np.array([1000.0], np.float32)))),
    ("mul-overflow", lambda m: m.asarray(np.array([1e38], np.float32)) * 10),
    ("arctanh", lambda m: m.arctanh(m.asarray(np.array([1.0, 2.0], np.float32)))),
    ("inf-minus-inf", lambda m: m.asarray(np.array([np.inf], np.float32)) - np.inf),
    ("power-0-neg", lambda m: m.power(m.asarray(np.array([0.0], np.float32)), -1.0)),
    ("int-div0", lambda m: m.asarray(np.array([5, -5], np.int32)) // 0),
]

GRAD_CASES = [
    ("grad-sqrt0", fnp.sqrt, jnp.sqrt, np.array([0.0, 1.0], np.float32)),
    ("grad-log0", fnp.log, jnp.log, np.array([0.0, 1.0], np.float32)),
    ("grad-arcsin", fnp.arcsin, jnp.arcsin, np.array([1.0, 2.0], np.float32)),
    ("grad-logsumexp", special.logsumexp, jax.scipy.special.logsumexp, NEG_INF2),
]


def _as_errors(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


@pytest.mark.parametrize("name, prog", CASES, ids=[c[0] for c in CASES])
def test_no_warning_escapes_under_simplefilter_error(name, prog):
    got = _as_errors(lambda: prog(fnp))
    want = prog(jnp)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("name, f, jf, x", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_no_warning_escapes_reverse_mode(name, f, jf, x):
    got = _as_errors(lambda: ft.grad(lambda v: fnp.sum(f(v)))(fnp.asarray(x)))
    want = jax.grad(lambda v: jnp.sum(jf(v)))(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_empty_reductions_quietly_nan():
    for fn in (fnp.mean, fnp.var, fnp.nanmean):
        got = _as_errors(lambda: fn(fnp.zeros((0,), np.float32)))
        assert np.isnan(np.asarray(got))
