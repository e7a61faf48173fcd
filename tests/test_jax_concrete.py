"""Python control flow under autodiff, isinstance of traced values, and weak types of
transformed results, each checked against JAX (the oracle).

JAX differentiates Python ``if``/``while`` on values, ``int(x)``, ``operator.index`` and
``x.item()`` outside jit (the primal of a JVP is concrete); ``float``, ``complex`` and
``tolist`` raise even there; everything raises under jit, make_ir and vmap, where the
error names the arguments the value depends on.
"""

import operator
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans.core import get_aval
from functrans.errors import ConcretizationError


def _outcome(thunk):
    """('ok', value) or ('raise', exception type is a TypeError/ValueError)."""
    try:
        return "ok", thunk()
    except (TypeError, ValueError) as e:
        return "raise", type(e).__mro__[1:3]


# --- 1. which conversions work on which tracers ------------------------------------------

# conversion name -> (what it does to a scalar value, the seen list it appends to)
CONVERSIONS = {
    "bool": lambda x: bool(x > 0),
    "if": lambda x: 1 if x > 0 else 2,
    "int": lambda x: int(x),
    "float": lambda x: float(x),
    "complex": lambda x: complex(x),
    "index": lambda x: [10, 20, 30][(x * 0 + 1).astype("int32")],
    "operator.index": lambda x: operator.index((x * 0 + 2).astype("int32")),
    "item": lambda x: x.item(),
    "tolist": lambda x: x.tolist(),
    "np.asarray": lambda x: np.asarray(x),
    "hash": lambda x: hash(x),
}


def _f(np_, conv, seen):
    def f(x):
        seen.append(CONVERSIONS[conv](x))
        return np_.sin(x) * x
    return f


TRANSFORMS = {
    "grad": lambda J, f, x: J.grad(f)(x),
    "value_and_grad": lambda J, f, x: J.value_and_grad(f)(x),
    "jvp": lambda J, f, x: J.jvp(f, (x,), (x,)),
    "vjp": lambda J, f, x: J.vjp(f, x)[1](x),
    "linearize": lambda J, f, x: J.linearize(f, x)[1](x),
    "jacfwd": lambda J, f, x: J.jacfwd(f)(x),
    "jacrev": lambda J, f, x: J.jacrev(f)(x),
    "hessian": lambda J, f, x: J.hessian(f)(x),
    "grad_of_grad": lambda J, f, x: J.grad(J.grad(f))(x),
    "jacfwd_of_jacrev": lambda J, f, x: J.jacfwd(J.jacrev(f))(x),
    "vmap": lambda J, f, x: J.vmap(f)(x * (fnp.ones(2) if J is ft else jnp.ones(2))),
    "make_ir": lambda J, f, x: (ft.make_ir if J is ft else jax.make_jaxpr)(f)(x),
    "jit_of_grad": lambda J, f, x: J.jit(J.grad(f))(x),
    "grad_of_vmap": lambda J, f, x: J.grad(lambda y: J.vmap(f)(
        y * (fnp.ones(2) if J is ft else jnp.ones(2))).sum())(x),
}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_conversions_of_tracers_match_jax(transform):
    t = TRANSFORMS[transform]
    x = np.float32(0.7)
    for conv in sorted(CONVERSIONS):
        seen_j, seen_f = [], []
        want = _outcome(lambda: t(jax, _f(jnp, conv, seen_j), jnp.asarray(x)))
        got = _outcome(lambda: t(ft, _f(fnp, conv, seen_f), fnp.asarray(x)))
        what = f"{transform} of {conv}"
        assert got[0] == want[0], f"{what}: functrans {got}, jax {want}"
        if want[0] == "ok" and transform not in ("make_ir",):
            # the Python values the function saw, then the derivatives
            assert seen_f == seen_j, f"{what}: saw {seen_f}, jax {seen_j}"
            for g, w in zip(jax.tree_util.tree_leaves(got[1]), jax.tree_util.tree_leaves(want[1])):
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, err_msg=what)


def test_python_control_flow_is_differentiated_like_jax():
    def newton_sqrt(np_):
        def f(a):
            x = a
            while abs(x * x - a) > 1e-5:  # a Python loop on values
                x = 0.5 * (x + a / x)
            if x > 2:
                return x ** 2
            return np_.sin(x) * int(a)
        return f

    for a in (0.7, 9.5):
        for name in ("grad", "jvp", "jacrev", "hessian"):
            want = TRANSFORMS[name](jax, newton_sqrt(jnp), jnp.float32(a))
            got = TRANSFORMS[name](ft, newton_sqrt(fnp), fnp.float32(a))
            for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5,
                                           err_msg=f"{name} at {a}")


def test_conversions_of_concrete_tracers_check_like_arrays():
    """A concrete tracer converts as its value does: bool of several elements and
    index of a float are errors, as in JAX."""
    for conv in (lambda x: bool(x > 0), lambda x: [1, 2][x]):
        for J, np_ in ((jax, jnp), (ft, fnp)):
            with pytest.raises((TypeError, ValueError)):
                J.grad(lambda x: np_.sum(x) * conv(x))(np_.ones(2))
    # bool of a staged array of several (or no) elements: the ValueError numpy gives
    for n in (0, 2):
        for J, np_ in ((jax, jnp), (ft, fnp)):
            with pytest.raises(ValueError, match="ambiguous"):
                J.jit(lambda x: 1.0 if x > 0 else 0.0)(np_.ones(n))


# --- 2. the error names the argument the value depends on -----------------------------------


def _names(msg):
    """The arguments a ConcretizationError (JAX's or ours) says the value depends on."""
    m = re.search(r"depends on the values? of the arguments? (.*?)\.(\n|$)", msg)
    assert m, msg
    return m.group(1)


def _cases(np_):
    def branch(params, x, *, scale):
        y = params["w"] * x + params["b"]
        return y if y.sum() > 0 else -y * scale

    def index(x, n):
        return x[int(n)]

    def star(*xs):
        return xs[0] if xs[1] > 0 else xs[0] * 2

    def item(x, y):
        return x * (y + 1).item()

    p = {"w": np_.ones(2), "b": np_.zeros(2)}
    return [(branch, (p, np_.ones(2)), {"scale": 2.0}),
            (index, (np_.ones(3), np_.asarray(1)), {}),
            (star, (np_.asarray(1.0), np_.asarray(2.0)), {}),
            (item, (np_.asarray(1.0), np_.asarray(2.0)), {})]


def _jax_names(fj, aj, kj):
    with pytest.raises(TypeError) as ej:
        jax.jit(fj)(*aj, **kj)
    return _names(str(ej.value))


def test_concretization_error_names_the_arguments_like_jax():
    for (fj, aj, kj), (ff, af, kf) in zip(_cases(jnp), _cases(fnp)):
        want = _jax_names(fj, aj, kj)
        with pytest.raises(ConcretizationError) as ef:
            ft.make_ir(ff)(*af, **kf)
        assert _names(str(ef.value)) == want, ef.value
        # vmap (JAX names no argument there; the dependency is the same)
        with pytest.raises(ConcretizationError) as ef:
            ft.vmap(ff, in_axes=0 if ff.__name__ != "branch" else ({"w": 0, "b": 0}, 0))(
                *[ft.tree_util.tree_map(lambda a: fnp.stack([a, a]), a) for a in af], **kf)
        assert _names(str(ef.value)) == want, ef.value


def test_jit_concretization_error_names_the_arguments_like_jax():
    for (fj, aj, kj), (ff, af, kf) in zip(_cases(jnp), _cases(fnp)):
        want = _jax_names(fj, aj, kj)
        with pytest.raises(ConcretizationError) as ef:
            ft.jit(ff)(*af, **kf)
        assert _names(str(ef.value)) == want, ef.value


def test_concretization_error_under_grad_of_staged_function_names_arguments():
    def f(x, y):
        return x * y if y > 0 else x

    with pytest.raises(ConcretizationError, match="argument y"):
        ft.make_ir(ft.grad(f))(1.0, 2.0)
    with pytest.raises(ConcretizationError, match="argument y"):
        ft.vmap(ft.grad(f), in_axes=(None, 0))(1.0, fnp.ones(2))
    with pytest.raises(ConcretizationError, match="make_ir"):
        ft.make_ir(lambda x: x * bool(fnp.ones(3).sum() > 0))(1.0)


def test_concretization_error_in_lax_cond_body_under_grad():
    def body(x):
        return x * 2 if x > 0 else x

    for J, L in ((jax, jax.lax), (ft, ft.lax)):
        with pytest.raises(TypeError):
            J.grad(lambda x: L.cond(x > 0, body, lambda x: x, x))(1.0)


def test_float_of_a_differentiated_value_says_why():
    with pytest.raises(ConcretizationError, match="drop its derivative"):
        ft.grad(lambda x: x * float(x))(1.0)


# --- 3. isinstance(x, Array) ---------------------------------------------------------------


def test_isinstance_array_of_traced_values_matches_jax():
    for name in ("grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian", "vmap", "make_ir",
                 "jit_of_grad"):
        seen_j, seen_f = [], []

        def fj(x):
            seen_j.append((isinstance(x, jax.Array), isinstance(x, jnp.ndarray)))
            return jnp.sin(x)

        def ff(x):
            seen_f.append((isinstance(x, ft.Array), isinstance(x, fnp.ndarray)))
            return fnp.sin(x)

        TRANSFORMS[name](jax, fj, jnp.float32(0.5))
        TRANSFORMS[name](ft, ff, fnp.float32(0.5))
        assert seen_f == seen_j, name
    for x in (1.0, 2, np.ones(2), np.float32(1), [1.0]):
        assert isinstance(x, ft.Array) == isinstance(x, jax.Array), x
    assert isinstance(fnp.ones(2), ft.Array) and isinstance(ft.jit(fnp.sin)(1.0), ft.Array)
    assert not issubclass(ft.core.Tracer, ft.Array)


def test_jit_of_isinstance_branch():
    """A function that branches on isinstance(x, Array) traces like the eager call."""
    def f(x):
        return x * 2 if isinstance(x, ft.Array) else x
    np.testing.assert_allclose(np.asarray(ft.jit(f)(fnp.ones(2))), 2.0)
    assert float(ft.grad(f)(1.0)) == 2.0


# --- 4. weak types of transformed results ------------------------------------------------------

FUNCS = {
    "mul2": (lambda x: x * 2, lambda x: x * 2),
    "sin": (jnp.sin, fnp.sin),
    "square": (lambda x: x ** 2, lambda x: x ** 2),
    "python_const": (lambda x: 3.0, lambda x: 3.0),
    "strong_const": (lambda x: jnp.float32(3.0) * x, lambda x: fnp.asarray(np.float32(3.0)) * x),
    "sum": (lambda x: jnp.sum(x * x), lambda x: fnp.sum(x * x)),
    "independent": (lambda x: jnp.ones(()), lambda x: fnp.ones(())),
    "two_outputs": (lambda x: (x * 2, jnp.sin(x)), lambda x: (x * 2, fnp.sin(x))),
}
INPUTS = {"python": (1.5, 1.5), "weak": (jnp.asarray(1.5), fnp.asarray(1.5)),
          "strong": (jnp.float32(1.5), fnp.asarray(np.float32(1.5)))}


def _strong(J, v):
    return jnp.asarray(np.float32(v)) if J is jax else fnp.asarray(np.float32(v))


def _weak(J, v):
    return jnp.asarray(v) if J is jax else fnp.asarray(v)


def _tree_ct(J, out, make):
    return jax.tree_util.tree_map(lambda _: make(J, 1.0), out) if J is jax else \
        ft.tree_util.tree_map(lambda _: make(J, 1.0), out)


WEAK_TRANSFORMS = {
    "grad": lambda J, f, x: J.grad(f)(x),
    "value_and_grad": lambda J, f, x: J.value_and_grad(f)(x),
    "jvp_weak_tangent": lambda J, f, x: J.jvp(f, (x,), (_weak(J, 1.0),)),
    "jvp_strong_tangent": lambda J, f, x: J.jvp(f, (x,), (_strong(J, 1.0),)),
    "vjp_weak_ct": lambda J, f, x: (lambda o, v: v(_tree_ct(J, o, _weak)))(*J.vjp(f, x)),
    "vjp_strong_ct": lambda J, f, x: (lambda o, v: v(_tree_ct(J, o, _strong)))(*J.vjp(f, x)),
    "jacfwd": lambda J, f, x: J.jacfwd(f)(x),
    "jacrev": lambda J, f, x: J.jacrev(f)(x),
    "hessian": lambda J, f, x: J.hessian(f)(x),
    "linearize": lambda J, f, x: (lambda o, lin: (o, lin(_weak(J, 1.0))))(*J.linearize(f, x)),
    "grad_of_grad": lambda J, f, x: J.grad(J.grad(f))(x),
    "jit_of_grad": lambda J, f, x: J.jit(J.grad(f))(x),
    "vmap": lambda J, f, x: J.vmap(f)(jnp.stack([x, x]) if J is jax else fnp.stack([x, x])),
    "vmap_unmapped_python_scalar": lambda J, f, x: J.vmap(
        lambda a, b: f(a * b), in_axes=(0, None))(
            jnp.stack([x, x]) if J is jax else fnp.stack([x, x]), 2.0),
    "vmap_of_grad": lambda J, f, x: J.vmap(J.grad(f))(
        jnp.stack([x, x]) if J is jax else fnp.stack([x, x])),
}


def _weak_types(tree):
    return [get_aval(leaf).weak_type if not isinstance(leaf, jax.Array) else leaf.weak_type
            for leaf in jax.tree_util.tree_leaves(tree)]


@pytest.mark.parametrize("transform", sorted(WEAK_TRANSFORMS))
def test_weak_types_of_transformed_results_match_jax(transform):
    t = WEAK_TRANSFORMS[transform]
    checked = 0
    for fname, (fj, ff) in sorted(FUNCS.items()):
        for iname, (xj, xf) in sorted(INPUTS.items()):
            try:
                want = t(jax, fj, xj)
            except TypeError:  # (grad of a tuple output: not a scalar function)
                with pytest.raises(TypeError):
                    t(ft, ff, xf)
                continue
            got = t(ft, ff, xf)
            what = f"{transform} of {fname} at a {iname} input"
            assert _weak_types(got) == _weak_types(want), what
            for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
                assert np.asarray(g).dtype == np.asarray(w).dtype, what
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, err_msg=what)
            checked += 1
    assert checked >= 12


def test_grad_of_python_scalar_is_weak_float32_like_jax():
    want = jax.grad(lambda x: x * 2)(1.0)
    got = ft.grad(lambda x: x * 2)(1.0)
    assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type) == (np.float32, True)


def test_to_concrete_value_is_known_exactly_where_jax_knows_it():
    """core.to_concrete_value (JAX's core.to_concrete_value): the primal under grad,
    nothing under jit or vmap."""
    from jax._src import core as jax_core

    def probe(to_concrete, np_, seen):
        def f(x):
            v = to_concrete(x * 2)
            seen.append(None if v is None else float(np.asarray(v)))
            return np_.sin(x)
        return f

    for name in ("grad", "jvp", "jacrev", "hessian", "vmap", "jit_of_grad", "grad_of_vmap"):
        seen_j, seen_f = [], []
        TRANSFORMS[name](jax, probe(jax_core.to_concrete_value, jnp, seen_j), jnp.float32(0.25))
        TRANSFORMS[name](ft, probe(ft.core.to_concrete_value, fnp, seen_f), fnp.float32(0.25))
        assert seen_f == seen_j, name
    assert ft.core.to_concrete_value(3) == 3
