"""The IR: printing, type checking, dead-code elimination, constants, evaluation."""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import ir, lax
from functrans.core import ShapedArray
from functrans.primitives import elementwise as ew


def test_print_matches_documented_form():
    closed = ft.make_ir(lambda x: fnp.sin(x) * 2.0)(fnp.ones(3))
    text = str(closed)
    assert text == ("{ lambda ; a:f32[3]. let\n"
                    "    b:f32[3] = sin a\n"
                    "    c:f32[3] = mul b 2.0\n"
                    "  in (c,) }")


def test_print_params_and_multiple_outputs():
    def f(x, y):
        return x.astype(fnp.int32), fnp.broadcast_to(y, (2, 3))
    text = str(ft.make_ir(f)(fnp.ones(3), fnp.ones(3)))
    assert "convert_element_type[new_dtype=int32 weak_type=False] a" in text
    assert "broadcast_in_dim[broadcast_dimensions=(1,) shape=(2, 3)] b" in text
    assert text.rstrip().endswith("in (c, d) }")


def test_closed_over_arrays_become_constants_and_scalars_literals():
    big = fnp.arange(5.0)

    def f(x):
        return x * big + 3.0

    closed = ft.make_ir(f)(fnp.ones(5))
    assert len(closed.ir.constvars) == 1 and closed.consts[0] is big
    assert str(closed).startswith("{ lambda a:f32[5] ; b:f32[5]. let")
    assert "add c 3.0" in str(closed)
    # the IR evaluates to the eager result
    x = fnp.asarray(np.linspace(0, 1, 5).astype(np.float32))
    (out,) = ir.eval_ir(closed.ir, closed.consts, [x])
    np.testing.assert_allclose(np.asarray(out), np.asarray(f(x)))


def test_ops_on_constants_are_staged_not_folded():
    closed = ft.make_ir(lambda x: x + fnp.zeros(3))(fnp.ones(3))
    prims = [e.prim.name for e in closed.eqns]
    assert prims == ["broadcast_in_dim", "add"]


def test_static_args_and_pytrees():
    def f(params, x, n):
        return {"y": params["w"] * x ** n, "z": (x,)}
    closed, shape = ft.make_ir(f, static_argnums=2, return_shape=True)(
        {"w": fnp.ones(2)}, fnp.ones(2), 3)
    assert "integer_pow[y=3]" in str(closed) or "pow" in str(closed)
    assert shape["y"] == ShapedArray((2,), np.float32)
    assert len(closed.ir.invars) == 2


def test_typecheck_accepts_traced_irs():
    def f(x, y):
        z = fnp.where(x > y, x, y) * 2 - fnp.exp(x)
        return fnp.concatenate([z, fnp.ones(1)]) .reshape(1, 4)
    closed = ft.make_ir(f)(fnp.ones(3), fnp.zeros(3))
    out = ir.typecheck(closed)
    assert out == [ShapedArray((1, 4), np.float32)]


def _hand_ir(eqn_out_aval, use_before_def=False):
    a = ir.Var(ShapedArray((3,), np.float32))
    b = ir.Var(eqn_out_aval)
    x = b if use_before_def else a
    eqn = ir.Eqn(ew.sin_p, [x], {}, [b])
    return ir.IR([], [a], [eqn], [b])


def test_typecheck_rejects_wrong_output_type():
    with pytest.raises(ir.IRTypeError, match="sin: output typed"):
        ir.typecheck(_hand_ir(ShapedArray((4,), np.float32)))


def test_typecheck_rejects_use_before_definition():
    with pytest.raises(ir.IRTypeError, match="used before it is defined"):
        ir.typecheck(_hand_ir(ShapedArray((3,), np.float32), use_before_def=True))


def test_typecheck_rejects_double_definition():
    a = ir.Var(ShapedArray((3,), np.float32))
    eqn = ir.Eqn(ew.sin_p, [a], {}, [a])
    with pytest.raises(ir.IRTypeError, match="defined twice"):
        ir.typecheck(ir.IR([], [a], [eqn], [a]))


def test_typecheck_rejects_bad_primitive_application():
    a = ir.Var(ShapedArray((3,), np.int32))
    b = ir.Var(ShapedArray((3,), np.int32))
    with pytest.raises(TypeError, match="sin"):
        ir.typecheck(ir.IR([], [a], [ir.Eqn(ew.sin_p, [a], {}, [b])], [b]))


def test_dce_removes_unused_equations_and_reports_used_inputs():
    def f(x, y, z):
        unused = fnp.exp(y) * 3.0  # noqa: F841
        return fnp.sin(x) + 1.0, z * 2.0
    closed = ft.make_ir(f)(fnp.ones(2), fnp.ones(2), fnp.ones(2))
    assert len(closed.eqns) == 5
    new_ir, used = ir.dce(closed.ir)
    assert [e.prim.name for e in new_ir.eqns] == ["sin", "add", "mul"]
    assert used == [True, False, True]
    ir.typecheck(new_ir)
    only_first, used = ir.dce(closed.ir, [True, False])
    assert [e.prim.name for e in only_first.eqns] == ["sin", "add"]
    assert used == [True, False, False]
    args = [fnp.asarray([0.5, 1.0]), fnp.ones(2), fnp.asarray([2.0, 3.0])]
    expect = f(*args)
    got = ir.eval_ir(new_ir, closed.consts, args)
    for e, g in zip(expect, got):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e))


def test_eval_ir_under_another_trace_retraces_it():
    closed = ft.make_ir(lambda x: fnp.cos(x) * x)(fnp.ones(3))
    again = ft.make_ir(lambda x: ir.eval_ir(closed.ir, closed.consts, [x])[0])(fnp.ones(3))
    assert [e.prim.name for e in again.eqns] == ["cos", "mul"]


def test_weak_types_survive_in_literals():
    closed = ft.make_ir(lambda x: x * 2)(fnp.ones(3, dtype=fnp.float16))
    (eqn,) = closed.eqns
    lit = eqn.inputs[1]
    assert isinstance(lit, ir.Lit) and lit.aval == ShapedArray((), np.float16, True)
    assert eqn.outvars[0].aval.dtype == np.float16


def test_output_not_an_array_is_a_clear_error():
    with pytest.raises(TypeError, match="output 0 of the function is a str"):
        ft.make_ir(lambda x: "hello")(fnp.ones(2))


def test_lax_level_ir():
    closed = ft.make_ir(lambda x: lax.select_n(x > 0, -x, x))(fnp.ones(2))
    assert [e.prim.name for e in closed.eqns] == ["gt", "neg", "select_n"]


# A higher-order primitive holding a sub-IR, as jit_call/cond/scan will: the
# printer and checker must recurse into it.
from functrans.core import Primitive  # noqa: E402

_call_p = Primitive("test_closed_call")
_call_p.multiple_results = True
_call_p.def_abstract_eval(lambda *avals, body: body.out_avals)
_call_p.def_impl(lambda *args, body: [np.asarray(v) for v in ir.eval_ir(body.ir, body.consts, args)])


def test_sub_irs_print_typecheck_and_evaluate():
    body = ft.make_ir(lambda x: fnp.exp(x) + 1.0)(fnp.ones(3))

    def f(x):
        (y,) = _call_p.bind(x * 2.0, body=body)
        return y

    closed = ft.make_ir(f)(fnp.ones(3))
    text = str(closed)
    assert "test_closed_call[body={ lambda ; a:f32[3]. let" in text
    assert "exp a" in text and text.count("in (") == 2
    assert ir.typecheck(closed) == [ShapedArray((3,), np.float32)]
    x = fnp.asarray([0.0, 1.0, 2.0])
    np.testing.assert_allclose(np.asarray(f(x)), np.exp(np.asarray(x) * 2) + 1, rtol=1e-6)
    (out,) = ir.eval_ir(closed.ir, closed.consts, [x])
    np.testing.assert_allclose(np.asarray(out), np.asarray(f(x)), rtol=1e-6)
