"""Differential tests: every program of tests/differential_corpus.py runs under functrans
and under jax (the oracle) with the same inputs.

Compared, for each case: values (dtype-appropriate tolerances, NaN and infinity
positions, the sign of zeros), dtypes, weak types, which calls raise (both or
neither); under ``jit`` for a subset; first derivatives (``grad`` of a fixed
linear functional of the output, and ``jvp``) and second derivatives
(``hessian``) for the differentiable float functions.

The tutorial-style programs are corpus cases too (ids ``tut.*``). Also here: the
coverage test (each public function of functrans.numpy / .nn / .lax with a jax
counterpart is in the corpus or in EXCLUDED with a reason) and hypothesis-drawn
elementwise inputs.

Time: jax compiles every new function/dtype/shape it runs (~30-50 ms each), which
is nearly all of this file's time; functrans's side of the whole corpus takes ~1 s.
jax's eager results are therefore computed once per case and shared by the
eager, jit and derivative tests, and jax's derivatives are one ``jax.jit`` per case.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import functrans as ft
import jax

from differential_corpus import CASES, FT, JX

# --- comparison -----------------------------------------------------------------------------------

RTOL = {"float16": 2e-3, "bfloat16": 1.6e-2, "float32": 2e-5, "float64": 1e-12,
        "complex64": 2e-5, "complex128": 1e-12}
ATOL = {"float16": 2e-3, "bfloat16": 1e-2, "float32": 1e-6, "float64": 1e-12,
        "complex64": 1e-6, "complex128": 1e-12}


FLOAT0 = np.dtype([("float0", np.void, 0)])  # jax.dtypes.float0


class Raised:
    """What a call raised, standing in for its result."""

    def __init__(self, exc):
        self.exc = exc

    def __repr__(self):
        return f"raised {type(self.exc).__name__}: {str(self.exc)[:200]}"


def _call(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn()
        except Exception as e:  # noqa: BLE001  (which calls raise is part of what we compare)
            return Raised(e)


def _weak(x):
    if isinstance(x, (bool, int, float, complex)):
        return None  # a Python scalar has no weak_type attribute; compared by type below
    return bool(getattr(x, "weak_type", False))


# Cases where jax raises and functrans computes, on purpose (the README's table of
# differences): code that runs under jax gives the same results here. Each is checked by
# the tests below to still raise in jax and to compute here (both succeeding compares values).
SUPERSET = {
    "idx.getitem-list": "x[[0, 2]]: a list index is numpy's integer-array index",
    "lax.ppermute-partial": "a partial permutation under a named vmap (pmap allows it in jax)",
    "lax.pmax": "pmax's gradient (JAX defines none): the cotangent goes to the maxima",
    "lax.pmin": "pmin's gradient (JAX defines none): the cotangent goes to the minima",
    "lax.scatter_mul": "scatter_mul's gradient with repeated indices (JAX defines none)",
    "lax.scatter_mul-oob": "the same, with out-of-bounds indices dropped",
}


def assert_same(f_out, j_out, what, *, rtol_scale=1.0, signed_zeros=True, superset=False):
    """Asserts functrans's output ``f_out`` matches jax's ``j_out``.

    ``signed_zeros=False`` accepts 0.0 for -0.0 (derivatives: a zero's sign there comes
    from the order of the chain rule's products, which neither library specifies).
    ``superset``: the case is in SUPERSET, so where jax raises functrans must compute.
    """
    if superset and isinstance(j_out, Raised):
        assert not isinstance(f_out, Raised), f"{what}: in SUPERSET, but functrans {f_out!r}"
        return
    if isinstance(f_out, Raised) or isinstance(j_out, Raised):
        if isinstance(f_out, Raised) and isinstance(j_out, Raised):
            return
        raise AssertionError(f"{what}: functrans {f_out!r} but jax {j_out!r}"
                             if isinstance(f_out, Raised) else
                             f"{what}: jax {j_out!r} but functrans returned {_short(f_out)}")
    fl = ft.tree_leaves(f_out)
    jl = jax.tree_util.tree_leaves(j_out)
    assert len(fl) == len(jl), f"{what}: {len(fl)} outputs, jax {len(jl)}"
    for i, (a, b) in enumerate(zip(fl, jl)):
        w = f"{what}[{i}]" if len(fl) > 1 else what
        if isinstance(b, (bool, int, float, complex)) and not hasattr(b, "dtype"):
            assert type(a) is type(b) and (a == b or (a != a and b != b)), \
                f"{w}: {a!r} ({type(a).__name__}), jax {b!r} ({type(b).__name__})"
            continue
        an, bn = np.asarray(a), np.asarray(b)
        assert an.shape == bn.shape, f"{w}: shape {an.shape}, jax {bn.shape}"
        if bn.dtype == FLOAT0:
            # The README's table of differences: the tangent of an integer or bool output is
            # jax's float0 zeros, and zeros of that output's own dtype in functrans.
            assert an.dtype.kind in "biu" and not np.any(an), f"{w}: {an!r}, jax float0"
            continue
        assert an.dtype == bn.dtype, f"{w}: dtype {an.dtype}, jax {bn.dtype}"
        wa, wb = _weak(a), _weak(b)
        assert wa == wb, f"{w}: weak_type {wa}, jax {wb}"
        _assert_values(an, bn, w, rtol_scale, signed_zeros)


def _short(x):
    return repr(x)[:200]


def _assert_values(an, bn, w, rtol_scale, signed_zeros):
    name = an.dtype.name
    if "complex" in name:  # real and imaginary parts compared as floats (inf, NaN, -0)
        part = np.float32 if name == "complex64" else np.float64
        for f in (np.real, np.imag):
            _assert_values(f(an).astype(part), f(bn).astype(part), f"{w}.{f.__name__}",
                           rtol_scale, signed_zeros)
        return
    if name not in RTOL:
        if not np.array_equal(an, bn):
            bad = np.argwhere(an != bn)[:5].tolist()
            raise AssertionError(f"{w}: values differ at {bad}: {an.ravel()[:8]} vs jax "
                                 f"{bn.ravel()[:8]}")
        return
    a64, b64 = an.astype(np.float64), bn.astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if not np.array_equal(nan_a, nan_b):
        idx = np.argwhere(nan_a != nan_b)[:5].tolist()
        raise AssertionError(f"{w}: NaN at different places {idx}: {_pick(an, idx)} vs jax "
                             f"{_pick(bn, idx)}")
    zero = (a64 == 0) & (b64 == 0)
    if signed_zeros and not np.array_equal(np.signbit(a64[zero]), np.signbit(b64[zero])):
        idx = np.argwhere(zero & (np.signbit(a64) != np.signbit(b64)))[:5].tolist()
        raise AssertionError(f"{w}: sign of zero differs at {idx}: {_pick(an, idx)} vs jax "
                             f"{_pick(bn, idx)}")
    inf = np.isinf(a64) | np.isinf(b64)
    if not np.array_equal(a64[inf], b64[inf]):
        idx = np.argwhere(inf & (a64 != b64))[:5].tolist()
        raise AssertionError(f"{w}: infinities differ at {idx}: {_pick(an, idx)} vs jax "
                             f"{_pick(bn, idx)}")
    fin = ~(nan_a | inf)
    a64, b64 = a64[fin], b64[fin]
    rtol, atol = RTOL[name] * rtol_scale, ATOL[name] * rtol_scale
    scale = max(1.0, float(np.max(np.abs(b64)))) if b64.size else 1.0
    bad = ~(np.abs(a64 - b64) <= atol * scale + rtol * np.abs(b64))
    if np.any(bad):
        raise AssertionError(f"{w}: values differ ({int(bad.sum())} of {bad.size}): "
                             f"{a64[bad][:5]} vs jax {b64[bad][:5]}")


def _pick(x, idx):
    return [x[tuple(i)].item() for i in idx]


# --- running a case -------------------------------------------------------------------------------


def _args(case, L):
    return [L.asarray(a) if isinstance(a, np.ndarray) else a for a in case.args]


def _run(case, L, *, jit=False):
    args = _args(case, L)
    fn = (lambda *a: case.prog(L, *a))
    if jit:
        fn = L.jit(fn)
    return _call(lambda: fn(*args))


_JAX_EAGER = {}


def _jax_eager(case):
    """jax's eager result for ``case``, computed once per session (jax compiles every new
    function/dtype/shape, which is most of this suite's time)."""
    if case.id not in _JAX_EAGER:
        # A tutorial program runs many operations: jax compiles each one eagerly, so
        # its oracle is jax.jit's result (jit and eager agree in jax) where it traces.
        jitted = _run(case, JX, jit=True) if case.id.startswith("tut.") and case.jit else None
        _JAX_EAGER[case.id] = (jitted if jitted is not None and not isinstance(jitted, Raised)
                               else _run(case, JX))
    return _JAX_EAGER[case.id]


def _weights(out):
    """A fixed cotangent for each output leaf, so grad sees a scalar."""
    leaves = jax.tree_util.tree_leaves(out)
    rng = np.random.default_rng(7)
    return [rng.uniform(0.5, 1.5, np.shape(x)).astype(np.float32) for x in leaves]


def _scalarized(case, L, weights, argnums, args):
    """``diff_args -> sum_i <w_i, out_i>`` over the float outputs, the other args fixed."""
    def s(*diff_args):
        full = list(args)
        for i, a in zip(argnums, diff_args):
            full[i] = a
        out = case.prog(L, *full)
        leaves = ft.tree_leaves(out) if L is FT else jax.tree_util.tree_leaves(out)
        total = L.np.zeros((), np.float32)  # an array, also when no output is float
        for leaf, w in zip(leaves, weights):
            if np.issubdtype(leaf.dtype, np.floating):
                total = total + L.np.sum(leaf * L.asarray(w).astype(leaf.dtype))
        return total
    return s


def _float_diff(case):
    return tuple(i for i in case.diff if isinstance(case.args[i], np.ndarray))


def _derivatives(case, L, weights, *, hessian):
    """(grad, jvp[, hessian]) of ``case`` in library ``L``; each a result or a Raised."""
    argnums = _float_diff(case)
    args = _args(case, L)
    s = _scalarized(case, L, weights, argnums, args)
    rng = np.random.default_rng(3)
    tangents = tuple(L.asarray(rng.normal(size=np.shape(case.args[i])).astype(case.args[i].dtype))
                     for i in argnums)

    def f(*diff_args):
        full = list(args)
        for i, a in zip(argnums, diff_args):
            full[i] = a
        return case.prog(L, *full)

    def all_of(*primals):
        out = [_call(lambda: L.grad(s, argnums=tuple(range(len(argnums))))(*primals)),
               _call(lambda: L.jvp(f, primals, tangents))]
        if hessian:
            out.append(_call(lambda: L.hessian(s, argnums=0)(*primals)))
        return out

    primals = tuple(args[i] for i in argnums)
    if L is FT:
        return all_of(*primals)
    # jax: one compilation for all three (eager jax compiles every operation of every
    # derivative program separately); eagerly only where jit cannot trace the program.
    def traced(*primals):
        res = all_of(*primals)
        for r in res:
            if isinstance(r, Raised):
                raise r.exc
        return res
    got = _call(lambda: jax.jit(traced)(*primals))
    return all_of(*primals) if isinstance(got, Raised) else got


# --- the corpus tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_eager(case):
    """Values, dtypes, weak types and raising agree with jax, eagerly."""
    assert_same(_run(case, FT), _jax_eager(case), f"{case.id}: eager",
                superset=case.id in SUPERSET)


JIT_CASES = [c for c in CASES if c.jit]


# jit and derivatives compile a program per case in jax (most of this file's time): they are
# marked slow, deselected from the default run and run by .ci/run's second command.
@pytest.mark.slow
@pytest.mark.parametrize("case", JIT_CASES, ids=lambda c: c.id)
def test_jit(case):
    """functrans under jit agrees with jax: with jax's eager result (jax's jit and eager
    agree, and compiling jax's jit too would double this suite's time), or, where functrans's
    jit raises, with jax's jit (value-dependent shapes cannot be traced in either)."""
    got = _run(case, FT, jit=True)
    want = _jax_eager(case)
    if (isinstance(got, Raised) and not isinstance(want, Raised)
            or any(isinstance(x, (bool, int, float)) for x in jax.tree_util.tree_leaves(want))):
        want = _run(case, JX, jit=True)  # Python scalars come out of jit as arrays
    assert_same(got, want, f"{case.id}: jit", superset=case.id in SUPERSET)


DIFF_CASES = [c for c in CASES if _float_diff(c)]


@pytest.mark.slow
@pytest.mark.parametrize("case", DIFF_CASES, ids=lambda c: c.id)
def test_derivatives(case):
    """grad of a fixed linear functional of the outputs, jvp, and (for the cases marked
    hess) the hessian agree with jax."""
    j_out = _jax_eager(case)
    if isinstance(j_out, Raised):
        return  # raising is compared by test_eager
    weights = _weights(j_out)
    got = _derivatives(case, FT, weights, hessian=case.hess)
    want = _derivatives(case, JX, weights, hessian=case.hess)
    for what, g, w, scale in zip(("grad", "jvp", "hessian"), got, want, (10, 10, 50)):
        assert_same(g, w, f"{case.id}: {what}", rtol_scale=scale, signed_zeros=False,
                    superset=case.id in SUPERSET)


# --- coverage -------------------------------------------------------------------------------------

# Public callables with a jax counterpart that the corpus does not run, and why.
EXCLUDED = {
    # none at present: every name is covered. Add a name here only with the reason it cannot
    # be compared with jax, e.g. "np.foo": "jax's foo takes a different argument order".
}


def _public(module, jax_module, prefix):
    names = set()
    for n in dir(module):
        if n.startswith("_") or not callable(getattr(module, n)):
            continue
        if hasattr(jax_module, n):
            names.add(f"{prefix}.{n}")
    return names


def test_every_public_function_is_covered():
    """Each public callable of functrans.numpy/.nn/.lax that jax also has is in the corpus
    (or in EXCLUDED with a reason): a new function without coverage fails here."""
    import jax.numpy as jnp
    public = (_public(FT.np, jnp, "np") | _public(FT.nn, jax.nn, "nn")
              | _public(FT.lax, jax.lax, "lax")
              | _public(FT.np.linalg, jnp.linalg, "np.linalg"))
    covered = {name for c in CASES for name in c.covers}
    missing = sorted(public - covered - set(EXCLUDED))
    assert not missing, f"not in the differential corpus nor in EXCLUDED: {missing}"
    stale = sorted(set(EXCLUDED) - public)
    assert not stale, f"EXCLUDED names that are no longer public: {stale}"
    unknown = sorted(n for n in covered if n not in public and not n.startswith("np.linalg"))
    assert not unknown, f"corpus covers names functrans does not export: {unknown}"


def test_superset_cases_exist_and_jax_still_raises():
    ids = {c.id: c for c in CASES}
    assert set(SUPERSET) <= set(ids), sorted(set(SUPERSET) - set(ids))
    for cid in SUPERSET:
        case = ids[cid]
        raised = isinstance(_jax_eager(case), Raised)
        if not raised and _float_diff(case):
            raised = any(isinstance(r, Raised) for r in _derivatives(
                case, JX, _weights(_jax_eager(case)), hessian=False))
        assert raised, f"{cid}: jax no longer raises: compare it normally (drop it from SUPERSET)"


def test_corpus_is_large_and_ids_unique():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum(c.id.startswith("tut.") for c in CASES) >= 20


# --- hypothesis: random shapes and values for elementwise functions -------------------------------

_H_UNARY = ["sin", "tanh", "exp", "log1p", "sqrt", "abs", "floor", "sign", "arctan", "expm1",
            "cbrt", "square", "negative", "rint"]
_H_BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "arctan2",
             "hypot", "logaddexp", "floor_divide", "remainder", "fmod", "copysign"]
_VALUES = st.one_of(st.floats(-1e3, 1e3, width=32), st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan]))


def _arrays(shape):
    return st.lists(_VALUES, min_size=math.prod(shape), max_size=math.prod(shape)).map(
        lambda v: np.array(v, np.float32).reshape(shape))


_SHAPES = st.sampled_from([(), (1,), (3,), (2, 3), (0,), (2, 1)])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(name=st.sampled_from(_H_UNARY), data=st.data())
def test_hypothesis_unary(name, data):
    x = data.draw(_SHAPES.flatmap(_arrays))
    outs = [_call(lambda L=L: getattr(L.np, name)(L.asarray(x))) for L in (FT, JX)]
    assert_same(*outs, f"np.{name}({x!r})")


@settings(max_examples=30, deadline=None, derandomize=True)
@given(name=st.sampled_from(_H_BINARY), data=st.data())
def test_hypothesis_binary_broadcasting(name, data):
    x = data.draw(_SHAPES.flatmap(_arrays))
    y = data.draw(_SHAPES.flatmap(_arrays))
    outs = [_call(lambda L=L: getattr(L.np, name)(L.asarray(x), L.asarray(y))) for L in (FT, JX)]
    assert_same(*outs, f"np.{name}({x!r}, {y!r})")


@settings(max_examples=15, deadline=None, derandomize=True)
@given(name=st.sampled_from(["sin", "tanh", "exp", "sqrt", "abs", "arctan", "square", "cbrt"]),
       x=_arrays((3,)))
def test_hypothesis_unary_grad(name, x):
    gs = [_call(lambda L=L: L.grad(lambda v: L.np.sum(getattr(L.np, name)(v)))(L.asarray(x)))
          for L in (FT, JX)]
    assert_same(*gs, f"grad np.{name}({x!r})", rtol_scale=10)
