"""The autodiff API: jvp, linearize, vjp, grad, value_and_grad, jacfwd, jacrev,
hessian over pytrees; custom rules; errors; compositions. Values are checked
against closed-form derivatives, central differences and jax."""

import dataclasses

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import ir
from functrans.test_util import check_grads

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")


def _np(x):
    return np.asarray(x)


X = np.array([0.3, -1.2, 2.0], np.float32)


def f_poly(x):
    return fnp.sum(fnp.sin(x) * x ** 2 + fnp.exp(-x))


def test_grad_matches_closed_form():
    g = ft.grad(f_poly)(fnp.asarray(X))
    want = np.cos(X) * X ** 2 + 2 * X * np.sin(X) - np.exp(-X)
    np.testing.assert_allclose(_np(g), want, rtol=1e-5)


def test_jvp_and_linearize_agree_with_closed_form():
    x, t = fnp.asarray(X), fnp.asarray([1.0, 0.5, -2.0])
    y, dy = ft.jvp(lambda x: fnp.sin(x) * x, (x,), (t,))
    np.testing.assert_allclose(_np(y), np.sin(X) * X, rtol=1e-6)
    np.testing.assert_allclose(_np(dy), (np.cos(X) * X + np.sin(X)) * _np(t), rtol=1e-5)
    y2, f_jvp = ft.linearize(lambda x: fnp.sin(x) * x, x)
    np.testing.assert_allclose(_np(y2), _np(y))
    np.testing.assert_allclose(_np(f_jvp(t)), _np(dy), rtol=1e-6)


def test_linearized_and_transposed_irs_are_printable_and_typecheck():
    x = fnp.asarray(X)
    _, f_jvp = ft.linearize(f_poly, x)
    lin = ft.make_ir(f_jvp)(x)
    assert "sin" not in str(lin)  # the linear IR holds no primal computation
    ir.typecheck(lin)
    _, f_vjp = ft.vjp(f_poly, x)
    back = ft.make_ir(f_vjp)(fnp.asarray(1.0))
    ir.typecheck(back)
    (g,) = ir.eval_ir(back.ir, back.consts, [fnp.asarray(1.0)])
    np.testing.assert_allclose(_np(g), _np(ft.grad(f_poly)(x)), rtol=1e-6)


def test_value_and_grad_argnums_and_has_aux():
    def loss(w, b, x):
        pred = fnp.tanh(x @ w + b)
        return fnp.mean(pred ** 2), {"pred": pred}
    w, b, x = fnp.ones((3, 2)) * 0.1, fnp.zeros(2), fnp.asarray(np.arange(6.0).reshape(2, 3))
    (val, aux), (gw, gb) = ft.value_and_grad(loss, argnums=(0, 1), has_aux=True)(w, b, x)
    jl = lambda w, b, x: jnp.mean(jnp.tanh(x @ w + b) ** 2)  # noqa: E731
    jgw, jgb = jax.grad(jl, argnums=(0, 1))(_np(w), _np(b), _np(x))
    np.testing.assert_allclose(_np(gw), jgw, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_np(gb), jgb, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(float(val), float(jl(_np(w), _np(b), _np(x))), rtol=1e-6)
    assert aux["pred"].shape == (2, 2)
    g_neg = ft.grad(lambda w, b, x: loss(w, b, x)[0], argnums=-2)(w, b, x)
    np.testing.assert_allclose(_np(g_neg), jgb, rtol=1e-5, atol=1e-7)


@dataclasses.dataclass(frozen=True)
class Linear:
    w: object
    b: object
    name: str = dataclasses.field(default="lin", metadata={"static": True})


def test_grad_over_pytrees_of_parameters():
    params = {"layer": Linear(fnp.ones((2, 2)), fnp.zeros(2)), "scale": (fnp.asarray(2.0),)}

    def loss(p, x):
        lin = p["layer"]
        return fnp.sum((x @ lin.w + lin.b) * p["scale"][0])

    x = fnp.asarray([[1.0, 2.0], [3.0, 4.0]])
    g = ft.grad(loss)(params, x)
    assert isinstance(g["layer"], Linear) and g["layer"].name == "lin"
    np.testing.assert_allclose(_np(g["layer"].w), 2.0 * np.array([[4.0, 4.0], [6.0, 6.0]]))
    np.testing.assert_allclose(_np(g["layer"].b), [4.0, 4.0])
    np.testing.assert_allclose(float(g["scale"][0]), float(fnp.sum(x @ fnp.ones((2, 2)))))


def test_higher_order_and_compositions():
    f = lambda x: fnp.sin(x) * x  # noqa: E731
    d3 = ft.grad(ft.grad(ft.grad(lambda x: fnp.sin(x))))(0.7)
    np.testing.assert_allclose(float(d3), -np.cos(0.7), rtol=1e-5)
    x = fnp.asarray(X)
    jf, jr = ft.jacfwd(f)(x), ft.jacrev(f)(x)
    np.testing.assert_allclose(_np(jf), _np(jr), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_np(jf), np.diag(np.cos(X) * X + np.sin(X)), rtol=1e-5, atol=1e-7)
    h = ft.hessian(f_poly)(x)
    np.testing.assert_allclose(_np(h), _np(h).T, rtol=1e-5, atol=1e-6)
    jh = jax.hessian(lambda x: jnp.sum(jnp.sin(x) * x ** 2 + jnp.exp(-x)))(X)
    np.testing.assert_allclose(_np(h), jh, rtol=1e-4, atol=1e-5)
    # Hessian-vector product as jvp of grad
    v = fnp.asarray([1.0, -1.0, 0.5])
    _, hvp = ft.jvp(ft.grad(f_poly), (x,), (v,))
    np.testing.assert_allclose(_np(hvp), jh @ _np(v), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(ft.jacfwd(ft.jacrev(f_poly))(x)), jh, rtol=1e-4, atol=1e-5)


def test_check_grads_passes_and_catches_a_wrong_rule():
    check_grads(f_poly, (fnp.asarray(X),), order=2)
    wrong = ft.custom_jvp(lambda x: fnp.sin(x))
    wrong.defjvp(lambda p, t: (fnp.sin(p[0]), t[0] * 2.0))
    with pytest.raises(AssertionError, match="jvp"):
        check_grads(wrong, (fnp.asarray(X),), order=1, modes=("fwd",))
    with pytest.raises(AssertionError, match="vjp"):
        check_grads(wrong, (fnp.asarray(X),), order=1, modes=("rev",))


def test_symbolic_zeros_for_unrelated_inputs():
    def f(x, y):
        return fnp.sin(x) * 2.0, y * 3.0
    out, f_jvp = ft.linearize(lambda x: f(x, fnp.ones(3)), fnp.asarray(X))
    lin = f_jvp.linear_ir
    # the second output does not depend on x: its tangent is a zero constant, and no
    # equation computes on it
    assert all("broadcast" not in e.prim.name for e in lin.eqns)
    _, dy = ft.jvp(lambda y: (fnp.sum(fnp.ones(3) * 2.0) + 0 * fnp.sum(y)), (fnp.ones(2),),
                   (fnp.ones(2),))
    assert float(dy) == 0.0


def test_custom_jvp_is_used_and_stable():
    @ft.custom_jvp
    def softplus(x):
        return fnp.log1p(fnp.exp(x))

    calls = []

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        calls.append(1)
        (x,), (t,) = primals, tangents
        return softplus(x), t * ft.lax.logistic(x)

    g = ft.grad(lambda x: fnp.sum(softplus(x)))(fnp.asarray([-1000.0, 0.0, 1000.0]))
    assert calls and np.all(np.isfinite(_np(g)))
    np.testing.assert_allclose(_np(g), [0.0, 0.5, 1.0], atol=1e-6)
    assert "custom_jvp_call" in str(ft.make_ir(softplus)(fnp.ones(2)))
    check_grads(softplus, (fnp.asarray([-2.0, 0.1, 3.0]),), order=2)


def test_custom_jvp_nondiff_argnums():
    @ft.custom_jvp
    def scale(n, x):
        return x * n
    scale.nondiff_argnums = (0,)

    @scale.defjvp
    def scale_jvp(n, primals, tangents):
        return scale(n, primals[0]), tangents[0] * n * 10.0  # deliberately not the true rule

    assert float(ft.grad(lambda x: scale(3, x))(1.0)) == 30.0


def test_custom_vjp_is_used_and_forward_mode_is_a_clear_error():
    @ft.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (fnp.clip(g, -1.0, 1.0),))
    assert float(ft.grad(lambda x: 5.0 * clip_gradient(x))(2.0)) == 1.0
    assert float(clip_gradient(3.0)) == 3.0
    with pytest.raises(TypeError, match="forward-mode"):
        ft.jvp(clip_gradient, (fnp.asarray(1.0),), (fnp.asarray(1.0),))


def test_custom_vjp_with_residuals_matches_jax():
    @ft.custom_vjp
    def f(x, y):
        return fnp.sin(x) * y

    def f_fwd(x, y):
        return f(x, y), (fnp.cos(x), fnp.sin(x), y)

    def f_bwd(res, g):
        cos_x, sin_x, y = res
        return (cos_x * g * y, sin_x * g)

    f.defvjp(f_fwd, f_bwd)
    gx, gy = ft.grad(lambda x, y: fnp.sum(f(x, y)), argnums=(0, 1))(fnp.asarray(X), fnp.ones(3))
    jgx, jgy = jax.grad(lambda x, y: jnp.sum(jnp.sin(x) * y), argnums=(0, 1))(X, np.ones(3, np.float32))
    np.testing.assert_allclose(_np(gx), jgx, rtol=1e-6)
    np.testing.assert_allclose(_np(gy), jgy, rtol=1e-6)


def test_stop_gradient():
    g = ft.grad(lambda x: x * ft.stop_gradient(x))(3.0)
    assert float(g) == 3.0


def test_complex_gradients_follow_jax_convention():
    z = np.array([1.0 + 2.0j, -0.5 + 0.3j], np.complex64)
    g = ft.grad(lambda z: fnp.sum(fnp.abs(z) ** 2))(fnp.asarray(z))
    jg = jax.grad(lambda z: jnp.sum(jnp.abs(z) ** 2))(z)
    np.testing.assert_allclose(_np(g), jg, rtol=1e-5)
    h = ft.grad(lambda z: fnp.sum(z * z), holomorphic=True)(fnp.asarray(z))
    jh = jax.grad(lambda z: jnp.sum(z * z), holomorphic=True)(z)
    np.testing.assert_allclose(_np(h), jh, rtol=1e-5)


# --- errors ------------------------------------------------------------------------------------


def test_grad_of_non_scalar_output_is_a_clear_error():
    with pytest.raises(TypeError, match=r"grad requires a function returning a scalar.*f32\[3\].*vjp.*jacrev"):
        ft.grad(lambda x: x * 2.0)(fnp.ones(3))
    with pytest.raises(TypeError, match="real-valued"):
        ft.grad(lambda x: fnp.sum(x).astype(fnp.int32))(fnp.ones(3))


def test_grad_of_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match=r"int32.*astype\(float\)"):
        ft.grad(lambda x: fnp.sum(x * 1.0))(fnp.arange(3))


def test_has_aux_must_return_a_pair():
    with pytest.raises(TypeError, match="must return a pair"):
        ft.grad(lambda x: fnp.sum(x), has_aux=True)(fnp.ones(3))


def test_argnums_out_of_range():
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        ft.grad(lambda x, y: fnp.sum(x * y), argnums=2)(fnp.ones(2), fnp.ones(2))


def test_jvp_tangent_mismatch():
    with pytest.raises(ValueError, match=r"tangent 0 has type f32\[2\] but its primal has type f32\[3\]"):
        ft.jvp(fnp.sin, (fnp.ones(3),), (fnp.ones(2),))
    with pytest.raises(ValueError, match="same tree structure"):
        ft.jvp(lambda a, b: a * b, (fnp.ones(3), fnp.ones(3)), (fnp.ones(3),))


def test_missing_rule_names_primitive_and_transformation():
    from functrans.core import Primitive
    p = Primitive("test_no_jvp_rule")
    p.def_abstract_eval(lambda x: x)
    p.def_impl(lambda x: x)
    with pytest.raises(NotImplementedError, match="'test_no_jvp_rule' cannot be differentiated"):
        ft.grad(lambda x: fnp.sum(p.bind(x)))(fnp.ones(2))


# --- jax as an oracle on nontrivial functions ----------------------------------------------------


def _mlp_xent(np_like, logsumexp):
    def loss(params, x, labels):
        h = np_like.tanh(x @ params[0] + params[1])
        logits = h @ params[2] + params[3]
        logp = logits - logsumexp(logits, axis=-1, keepdims=True)
        return -np_like.mean(np_like.sum(logp * labels, axis=-1))
    return loss


def test_softmax_cross_entropy_mlp_matches_jax():
    from functrans.scipy.special import logsumexp
    from jax.scipy.special import logsumexp as jlse
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(5, 8)).astype(np.float32), np.zeros(8, np.float32),
              rng.normal(size=(8, 3)).astype(np.float32), np.zeros(3, np.float32)]
    x = rng.normal(size=(4, 5)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[[0, 2, 1, 0]]
    g = ft.grad(_mlp_xent(fnp, logsumexp))([fnp.asarray(p) for p in params], fnp.asarray(x),
                                           fnp.asarray(labels))
    jg = jax.grad(_mlp_xent(jnp, jlse))(params, x, labels)
    for a, b in zip(g, jg):
        np.testing.assert_allclose(_np(a), b, rtol=2e-4, atol=1e-6)


def test_tanh_rnn_unrolled_matches_jax():
    rng = np.random.default_rng(1)
    wx, wh = (rng.normal(size=(3, 4)) * 0.5).astype(np.float32), (rng.normal(size=(4, 4)) * 0.5).astype(np.float32)
    xs = rng.normal(size=(10, 2, 3)).astype(np.float32)

    def rnn(np_like):
        def loss(wx, wh, xs):
            h = np_like.zeros((2, 4), dtype=np.float32)
            for t in range(10):
                h = np_like.tanh(xs[t] @ wx + h @ wh)
            return np_like.sum(h ** 2)
        return loss

    g = ft.grad(rnn(fnp), argnums=(0, 1))(fnp.asarray(wx), fnp.asarray(wh), fnp.asarray(xs))
    jg = jax.grad(rnn(jnp), argnums=(0, 1))(wx, wh, xs)
    for a, b in zip(g, jg):
        np.testing.assert_allclose(_np(a), b, rtol=2e-4, atol=1e-5)


def test_logsumexp_large_inputs_gradients_match_jax():
    from functrans.scipy.special import logsumexp
    from jax.scipy.special import logsumexp as jlse
    x = np.array([1000.0, 1000.0, -1000.0, 3.0], np.float32)
    g = ft.grad(lambda x: logsumexp(x))(fnp.asarray(x))
    jg = jax.grad(lambda x: jlse(x))(x)
    assert np.all(np.isfinite(_np(g)))
    np.testing.assert_allclose(_np(g), jg, rtol=1e-6, atol=1e-7)


def test_jacobians_with_an_empty_argument():
    # The empty leaf comes first, so no jvp has run yet when its (empty) block is built.
    f = lambda b, a: fnp.sin(a) * fnp.sum(b)  # noqa: E731
    args = (fnp.ones(0), fnp.asarray([0.5, 1.0]))
    jf = ft.jacfwd(f, argnums=(0, 1))(*args)
    jr = ft.jacrev(f, argnums=(0, 1))(*args)
    assert jf[0].shape == jr[0].shape == (2, 0)
    np.testing.assert_array_equal(_np(jf[1]), np.zeros((2, 2)))  # sum of an empty b is 0
    np.testing.assert_array_equal(_np(jf[1]), _np(jr[1]))
