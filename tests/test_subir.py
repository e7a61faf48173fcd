"""The sub-IR library: closure_convert, jvp_ir, batch_ir, partial_eval, linearize_ir,
transpose_eval/transpose_ir, on small IRs, compared numerically with jax (the oracle)
and typechecked after each transformation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans.interpreters.batching import batch_ir
from functrans.interpreters.jvp import jvp_ir
from functrans.interpreters.partial_eval import (partial_eval, save_everything,
                                                 save_nothing_constant)
from functrans.interpreters.reverse import linearize_ir, transpose_eval, transpose_ir
from functrans.ir import ClosedIR, closure_convert, eval_ir, typecheck

RNG = np.random.default_rng(0)


def f_two(x, y):
    return fnp.sin(x) * y + fnp.cos(y), fnp.exp(x) * 2.0


def jf_two(x, y):
    return jnp.sin(x) * y + jnp.cos(y), jnp.exp(x) * 2.0


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def ir_of(f, *args) -> ClosedIR:
    """A consts-free ClosedIR of ``f`` (what a higher-order primitive holds)."""
    closed, consts = closure_convert(ft.make_ir(f)(*args))
    assert consts == []
    return closed


def run(closed, consts, args):
    return [np.asarray(o) for o in eval_ir(closed.ir, consts, list(args))]


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


# --- closure_convert -----------------------------------------------------------------------


def test_closure_convert_makes_consts_leading_inputs():
    c = fnp.arange(3.0)
    closed = ft.make_ir(lambda x: x * c + 1.0)(fnp.ones(3))
    assert len(closed.ir.constvars) == 1
    hoisted, consts = closure_convert(closed)
    assert hoisted.ir.constvars == [] and hoisted.consts == [] and consts == [c]
    assert len(hoisted.ir.invars) == 2
    typecheck(hoisted)
    x = rand(3)
    close(run(hoisted, [], [c, x])[0], np.arange(3.0) * x + 1.0)


def test_closure_convert_without_consts_keeps_the_ir():
    closed = ft.make_ir(lambda x: x * 2.0)(fnp.ones(3))
    assert closure_convert(closed).closed is closed


# --- jvp_ir ----------------------------------------------------------------------------------


@pytest.mark.parametrize("nonzeros", [(True, True), (True, False), (False, True)])
def test_jvp_ir_matches_jax_jvp(nonzeros):
    x, y, tx, ty = rand(4), rand(4), rand(4), rand(4)
    closed = ir_of(f_two, x, y)
    res = jvp_ir(closed, nonzeros)
    typecheck(res.closed)
    tangents = [t for t, nz in zip((tx, ty), nonzeros) if nz]
    outs = run(res.closed, [], res.consts + [x, y] + tangents)
    jt = [t if nz else np.zeros_like(t) for t, nz in zip((tx, ty), nonzeros)]
    p_ref, t_ref = jax.jvp(jf_two, (x, y), tuple(jt))
    for got, want in zip(outs, list(p_ref) + list(t_ref)):
        close(got, want)
    # the second output reads only x: its tangent is symbolically zero without x's
    assert res.out_nonzeros == [True, nonzeros[0]]


# --- batch_ir --------------------------------------------------------------------------------


@pytest.mark.parametrize("in_bdims", [(0, 0), (1, None), (None, 0)])
def test_batch_ir_matches_jax_vmap(in_bdims):
    closed = ir_of(f_two, rand(3), rand(3))
    xs = [rand(5, 3) if d == 0 else rand(3, 5) if d == 1 else rand(3) for d in in_bdims]
    res = batch_ir(closed, 5, list(in_bdims), [0, 0])
    typecheck(res.closed)
    assert res.out_bdims == [0, 0]
    outs = run(res.closed, [], res.consts + xs)
    refs = jax.vmap(jf_two, in_axes=in_bdims)(*xs)
    for got, want in zip(outs, refs):
        close(got, want)


def test_batch_ir_keeps_natural_axes_and_unbatched_outputs():
    closed = ir_of(f_two, rand(3), rand(3))
    res = batch_ir(closed, 4, [None, 0])      # the second output reads only x (unbatched)
    assert res.out_bdims[1] is None and res.out_bdims[0] is not None
    x, ys = rand(3), rand(4, 3)
    out0, out1 = run(res.closed, [], res.consts + [x, ys])
    close(np.moveaxis(out0, res.out_bdims[0], 0), jax.vmap(jf_two, (None, 0))(x, ys)[0])
    close(out1, np.exp(x) * 2.0)
    with pytest.raises(ValueError, match="must not"):
        batch_ir(closed, 4, [None, 0], [None, None])


# --- partial_eval ----------------------------------------------------------------------------


def test_partial_eval_splits_known_and_unknown():
    def f(x, t):
        a = fnp.cos(x)              # known
        return a * t, fnp.sin(x)    # unknown, known
    x, t = rand(3), rand(3)
    ir = ir_of(f, x, t).ir
    pe = partial_eval(ir, [False, True])
    assert pe.out_unknowns == [True, False]
    assert [e.prim.name for e in pe.known.eqns] == ["cos", "sin"]
    assert [e.prim.name for e in pe.unknown.eqns] == ["mul"]
    assert pe.num_res == 1 and pe.res_fwd == [None]
    for sub in (pe.known, pe.unknown):
        typecheck(sub)
    known_outs = run(ClosedIR(pe.known, []), [], [x])
    sin_x, residuals = known_outs[0], known_outs[1:]
    (prod,) = run(ClosedIR(pe.unknown, []), [], residuals + [t])
    close(prod, np.cos(x) * t)
    close(sin_x, np.sin(x))


def test_partial_eval_forwards_known_inputs_and_instantiates():
    ir = ir_of(lambda x, t: (x * t, x + 1.0), rand(3), rand(3)).ir
    pe = partial_eval(ir, [False, True], instantiate=True)
    assert pe.out_unknowns == [True, True]
    # x itself is a residual (the known IR forwards its input 0); x + 1.0 is passed as one
    assert pe.res_fwd[0] == 0 and pe.num_res == 2
    x, t = rand(3), rand(3)
    residuals = run(ClosedIR(pe.known, []), [], [x])
    prod, plus = run(ClosedIR(pe.unknown, []), [], residuals + [t])
    close(prod, x * t)
    close(plus, x + 1.0)


def test_partial_eval_policy_recomputes_constants():
    def f(x, t):
        return t * fnp.zeros(3) + x * t
    ir = ir_of(f, rand(3), rand(3)).ir
    saved = partial_eval(ir, [False, True], saveable=save_everything)
    recomputed = partial_eval(ir, [False, True], saveable=save_nothing_constant)
    assert recomputed.num_res == saved.num_res - 1
    assert len(recomputed.unknown.eqns) == len(saved.unknown.eqns) + 1
    x, t = rand(3), rand(3)
    for pe in (saved, recomputed):
        typecheck(pe.unknown)
        residuals = run(ClosedIR(pe.known, []), [], [x])
        close(run(ClosedIR(pe.unknown, []), [], residuals + [t])[0], x * t)


def test_partial_eval_save_nothing_recomputes_from_the_inputs():
    # the rematerialisation policy: only known inputs cross; the rest is made again
    def f(x, t):
        a = fnp.sin(x)
        return fnp.cos(a) * t + a, a
    x, t = rand(3), rand(3)
    ir = ir_of(f, x, t).ir
    pe = partial_eval(ir, [False, True], saveable=lambda eqn: False)
    assert pe.res_fwd == [0] and pe.out_unknowns == [True, False]
    assert {e.prim.name for e in pe.unknown.eqns} >= {"sin", "cos"}
    typecheck(pe.unknown)
    known_outs = run(ClosedIR(pe.known, []), [], [x])
    close(known_outs[0], np.sin(x))
    (out,) = run(ClosedIR(pe.unknown, []), [], known_outs[1:] + [t])
    close(out, np.cos(np.sin(x)) * t + np.sin(x))


# --- linearize_ir and transpose --------------------------------------------------------------


@pytest.mark.parametrize("nonzeros", [(True, True), (False, True)])
def test_linearize_ir_matches_jax_linearize(nonzeros):
    x, y, tx, ty = rand(4), rand(4), rand(4), rand(4)
    closed = ir_of(f_two, x, y)
    lin = linearize_ir(closed, nonzeros)
    typecheck(lin.known)
    typecheck(lin.linear)
    outs = run(lin.known, [], lin.known_consts + [x, y])
    primals_out, residuals = outs[:2], outs[2:]
    assert len(residuals) == lin.num_res == len(lin.res_fwd)
    tangents = [t for t, nz in zip((tx, ty), nonzeros) if nz]
    t_out = run(lin.linear, [], lin.linear_consts + residuals + tangents)
    jt = [t if nz else np.zeros_like(t) for t, nz in zip((tx, ty), nonzeros)]
    p_ref, t_ref = jax.jvp(jf_two, (x, y), tuple(jt))
    for got, want in zip(primals_out, p_ref):
        close(got, want)
    assert lin.out_nonzeros == [True, nonzeros[0]]
    for got, want in zip(t_out, [t for t, nz in zip(t_ref, lin.out_nonzeros) if nz]):
        close(got, want)
    # the linear IR holds only tangent work: no sin/cos/exp of the primals
    assert not {e.prim.name for e in lin.linear.eqns} & {"sin", "cos", "exp"}


def f_lin(a, x):
    """Linear in x; a is known."""
    return fnp.sin(a) * x + fnp.sum(x) * 2.0, x[::-1] * a


def jf_lin(a, x):
    return jnp.sin(a) * x + jnp.sum(x) * 2.0, x[::-1] * a


def test_transpose_ir_matches_jax_vjp():
    a, x, c0, c1 = rand(4), rand(4), rand(4), rand(4)
    closed = ir_of(f_lin, a, x)
    _, pullback = jax.vjp(lambda x: jf_lin(a, x), x)
    (want,) = pullback((c0, c1))
    t = transpose_ir(closed, [False, True], [True, True])
    typecheck(t.closed)
    assert t.ct_nonzeros == [True]
    close(run(t.closed, [], t.consts + [a, c0, c1])[0], want)
    # eagerly, with a zero cotangent for the second output
    (got,) = transpose_eval(closed, [False, True], [a], [c0, None])
    (want0,) = pullback((c0, np.zeros(4, np.float32)))
    close(got, want0)


def test_transpose_ir_of_an_unused_linear_input_is_zero():
    closed = ir_of(lambda x, y: x * 3.0, rand(2), rand(2))
    t = transpose_ir(closed, [True, True], [True])
    assert t.ct_nonzeros == [True, False]
    t_all = transpose_ir(closed, [True, True], [True], instantiate_all=True)
    assert t_all.ct_nonzeros == [True, True]
    ct = rand(2)
    gx, gy = run(t_all.closed, [], t_all.consts + [ct])
    close(gx, ct * 3.0)
    close(gy, np.zeros(2))


# --- the higher-order primitives that use it -------------------------------------------------


def test_grad_of_jit_of_custom_vjp_uses_the_rule():
    # the transpose of a jitted call no longer re-differentiates its linear sub-IR
    # (which failed on custom_vjp's linear equation: it has no forward-mode rule)
    @ft.custom_vjp
    def f(x):
        return fnp.sin(x)

    f.defvjp(lambda x: (fnp.sin(x), x), lambda r, g: (g * 2.0,))
    g = ft.grad(ft.jit(lambda x: f(x) * x))(1.0)
    close(g, 2.0 * 1.0 + np.sin(1.0))


def test_grad_of_scan_matches_jax():
    def body(c, x):
        return c * fnp.sin(x) + fnp.zeros(()), c * x

    def jbody(c, x):
        return c * jnp.sin(x), c * x

    xs = rand(5)
    g = ft.grad(lambda c, xs: ft.lax.scan(body, c, xs)[1].sum(), argnums=(0, 1))(1.5, xs)
    want = jax.grad(lambda c, xs: jax.lax.scan(jbody, c, xs)[1].sum(), argnums=(0, 1))(1.5, xs)
    for a, b in zip(g, want):
        close(a, b)


def test_pmap_and_vmap_parse_in_axes_alike():
    xs = fnp.ones((1, 3))
    for mapped in (ft.vmap, ft.pmap):
        with pytest.raises(ValueError, match=r"inconsistent sizes.*in_axes=0, shape"):
            mapped(lambda a, b: a + b)(xs, fnp.ones((2, 3)))
        with pytest.raises(ValueError, match=r"in_axes=2 is out of range .* \(rank 2\)"):
            mapped(lambda a: a, in_axes=2)(xs)
        with pytest.raises(TypeError, match=r"(vmap|pmap)\(<lambda>\): in_axes must be ints"):
            mapped(lambda a: a, in_axes="x")(xs)


def _loops(x):
    y = ft.lax.scan(lambda c, a: (c * fnp.sin(a), c + a), x[0], x)[1]
    z = ft.lax.cond(x[0] > 0, lambda v: v * 2.0, lambda v: fnp.cos(v), y)
    return ft.jit(lambda v: (v * v).sum())(z)


def _jloops(x):
    y = jax.lax.scan(lambda c, a: (c * jnp.sin(a), c + a), x[0], x)[1]
    z = jax.lax.cond(x[0] > 0, lambda v: v * 2.0, lambda v: jnp.cos(v), y)
    return (z * z).sum()


@pytest.mark.parametrize("transform", ["grad", "jvp", "vmap_grad"])
def test_transformed_higher_order_primitives_typecheck_and_match_jax(transform):
    x = np.abs(rand(4)) + 0.1
    t = rand(4)
    if transform == "grad":
        f, jf, args = ft.grad(_loops), jax.grad(_jloops), (x,)
    elif transform == "jvp":
        f = lambda x, t: ft.jvp(_loops, (x,), (t,))  # noqa: E731
        jf = lambda x, t: jax.jvp(_jloops, (x,), (t,))  # noqa: E731
        args = (x, t)
    else:
        f, jf, args = ft.vmap(ft.grad(_loops)), jax.vmap(jax.grad(_jloops)), (np.stack([x, -x]),)
    typecheck(ft.make_ir(f)(*args))     # every sub-IR of every equation, recursively
    got, want = f(*args), jf(*args)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        close(a, b)
