"""ft.explain: each stage against the transformation that makes it on its own, the
alignment of equations across stages, and the HTML views (explain, Array, IR)."""

import functools
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from functrans.ir import eval_ir

jax = pytest.importorskip("jax")
jnp = jax.numpy


# --- the functions: (name, f, args builder, the same function in jax or None) ----------------


def elementwise(x):
    return fnp.tanh(x) * fnp.sin(x) + (x < 0.5) * x


def j_elementwise(x):
    return jnp.tanh(x) * jnp.sin(x) + (x < 0.5) * x


def mlp_layer(params, x):
    return fnp.tanh(x @ params["w"] + params["b"])


def j_mlp_layer(params, x):
    return jnp.tanh(x @ params["w"] + params["b"])


def reduction(x):
    return fnp.sum(x ** 2) / x.shape[0]


def j_reduction(x):
    return jnp.sum(x ** 2) / x.shape[0]


def two_outputs(x, y):  # pytree (tuple) output, two inputs
    return {"prod": x * y, "total": fnp.sum(fnp.exp(x))}


def j_two_outputs(x, y):
    return {"prod": x * y, "total": jnp.sum(jnp.exp(x))}


def with_cond(x):
    return lax.cond(fnp.sum(x) > 0, lambda y: fnp.sin(y), lambda y: y * 2.0, x)


def j_with_cond(x):
    return jax.lax.cond(jnp.sum(x) > 0, lambda y: jnp.sin(y), lambda y: y * 2.0, x)


def with_scan(x):
    def body(carry, xi):
        return carry * fnp.sin(xi) + xi, carry
    return lax.scan(body, fnp.asarray(1.0), x)[0]


def j_with_scan(x):
    def body(carry, xi):
        return carry * jnp.sin(xi) + xi, carry
    return jax.lax.scan(body, jnp.asarray(1.0), x)[0]


def _args(name, rng):
    r = lambda *s: fnp.asarray(rng.standard_normal(s).astype(np.float32))  # noqa: E731
    return {
        "elementwise": lambda: (r(4),),
        "mlp_layer": lambda: ({"w": r(3, 2), "b": r(2)}, r(5, 3)),
        "reduction": lambda: (r(6),),
        "two_outputs": lambda: (r(3), r(3)),
        "with_cond": lambda: (r(3),),
        "with_scan": lambda: (r(4),),
    }[name]()


CASES = {"elementwise": (elementwise, j_elementwise), "mlp_layer": (mlp_layer, j_mlp_layer),
         "reduction": (reduction, j_reduction), "two_outputs": (two_outputs, j_two_outputs),
         "with_cond": (with_cond, j_with_cond), "with_scan": (with_scan, j_with_scan)}


@pytest.fixture(scope="module")
def explained():
    """name -> (f, jax f, args, explanation): each function explained once."""
    rng = np.random.default_rng(0)
    out = {}
    for name, (f, jf) in CASES.items():
        args = _args(name, rng)
        out[name] = (f, jf, args, ft.explain(f)(*args))
    return out


def _batched(args, size):
    return ft.tree_map(lambda a: fnp.broadcast_to(a, (size,) + a.shape), args)


# --- each stage equals the transformation's own IR --------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_stages_in_order(explained, name):
    e = explained[name][3]
    assert list(e.stages) == ["ir", "jvp", "linearized", "transposed", "vmap", "stablehlo"]


@pytest.mark.parametrize("name", CASES)
def test_ir_jvp_vmap_stablehlo_stages_equal_the_transformations(explained, name):
    f, _, args, e = explained[name]
    assert e.stages["ir"] == str(ft.make_ir(f)(*args))
    assert e.stages["jvp"] == str(ft.make_ir(lambda p, t: ft.jvp(f, p, t))(args, args))
    assert e.stages["vmap"] == str(ft.make_ir(ft.vmap(f))(*_batched(args, 3)))
    assert e.stages["stablehlo"] == ft.jit(f).lower(*args).as_text()


@pytest.mark.parametrize("name", CASES)
def test_linearized_stage_computes_the_jvp(explained, name):
    f, jf, args, e = explained[name]
    lin = e.irs["linearized"]
    assert e.stages["linearized"] == str(ft.linearize(f, *args)[1].linear_ir)
    rng = np.random.default_rng(1)
    flat = ft.tree_leaves(args)
    tangents = [fnp.asarray(rng.standard_normal(x.shape).astype(np.float32)) for x in flat]
    got = eval_ir(lin.ir, lin.consts, tangents)
    t_tree = ft.tree_unflatten(ft.tree_structure(args), tangents)
    _, want = ft.jvp(f, args, t_tree)
    _, want_jax = jax.jvp(jf, jax.tree_util.tree_map(np.asarray, args),
                          jax.tree_util.tree_map(np.asarray, t_tree))
    for g, w, wj in zip(got, ft.tree_leaves(want), jax.tree_util.tree_leaves(want_jax)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(g), np.asarray(wj), rtol=1e-4, atol=1e-5)
    # structure: tangents in, output tangents out; the residuals are the constants, and
    # no equation is a primal computation: each one uses a tangent (an input or an
    # equation's output), and a multiplication has exactly one tangent operand
    assert [a.shape for a in lin.in_avals] == [x.shape for x in flat]
    outs = ft.tree_leaves(f(*args))
    assert [a.shape for a in lin.out_avals] == [o.shape for o in outs]
    assert len(lin.ir.constvars) == len(e.residuals)
    linear = set(lin.ir.invars)
    for eqn in lin.ir.eqns:
        tangent_in = [x in linear for x in eqn.inputs]
        assert any(tangent_in), f"{eqn.prim.name} computes on residuals only"
        if eqn.prim.name in ("mul", "dot_general"):
            assert sum(tangent_in) == 1, f"{eqn.prim.name} of two tangents is not linear"
        linear.update(eqn.outvars)
    assert len(lin.eqns) <= len(e.irs["jvp"].eqns)


@pytest.mark.parametrize("name", CASES)
def test_transposed_stage_computes_the_vjp(explained, name):
    f, jf, args, e = explained[name]
    tr = e.irs["transposed"]
    out, f_vjp = ft.vjp(f, *args)
    assert e.stages["transposed"] == str(ft.make_ir(f_vjp)(out))
    rng = np.random.default_rng(2)
    out_flat = ft.tree_leaves(out)
    cts = [fnp.asarray(rng.standard_normal(o.shape).astype(np.float32)) for o in out_flat]
    got = eval_ir(tr.ir, tr.consts, cts)
    ct_tree = ft.tree_unflatten(ft.tree_structure(out), cts)
    want = ft.tree_leaves(f_vjp(ct_tree))
    _, j_vjp = jax.vjp(jf, *jax.tree_util.tree_map(np.asarray, args))
    want_jax = jax.tree_util.tree_leaves(j_vjp(jax.tree_util.tree_map(np.asarray, ct_tree)))
    assert len(got) == len(want) == len(want_jax)
    for g, w, wj in zip(got, want, want_jax):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(g), np.asarray(wj), rtol=1e-4, atol=1e-5)
    # structure: cotangents shaped like the outputs in, like the inputs out
    assert [a.shape for a in tr.in_avals] == [o.shape for o in out_flat]
    assert [a.shape for a in tr.out_avals] == [x.shape for x in ft.tree_leaves(args)]


def test_batch_size_option():
    x = fnp.ones(4)
    e = ft.explain(elementwise, batch_size=2)(x)
    assert e.batch_size == 2
    assert e.stages["vmap"] == str(ft.make_ir(ft.vmap(elementwise))(fnp.ones((2, 4))))
    assert "f32[2,4]" in e.stages["vmap"]


def test_residual_bytes_of_a_layer():
    rng = np.random.default_rng(3)
    args = _args("mlp_layer", rng)
    e = ft.explain(mlp_layer)(*args)
    consts = ft.linearize(mlp_layer, *args)[1].linear_ir.consts
    assert e.residual_bytes == sum(np.asarray(c).nbytes for c in consts) > 0


# --- printing and alignment ----------------------------------------------------------------


def test_str_has_every_stage_with_a_heading_in_order(explained):
    e = explained["elementwise"][3]
    text = str(e)
    positions = [text.index(f"=== {s}:") for s in e.stages]
    assert positions == sorted(positions)
    for s, body in e.stages.items():
        assert body in text
    assert repr(e) == text


@pytest.mark.parametrize("name", CASES)
def test_rows_partition_every_ir_stage(explained, name):
    e = explained[name][3]
    n = len(e.irs["ir"].eqns)
    assert [r.name for r in e.rows] == (["(inputs)"] + [q.prim.name for q in e.irs["ir"].eqns]
                                        + ["(outputs)"])
    for s in ("ir", "jvp", "linearized", "transposed", "vmap"):
        seen = sorted(i for r in e.rows for i in r.eqns[s])
        assert seen == list(range(len(e.irs[s].eqns))), s
    assert [r.eqns["ir"] for r in e.rows] == [[]] + [[k] for k in range(n)] + [[]]


def test_rows_follow_each_primitive_through_the_stages():
    e = ft.explain(lambda x: fnp.sin(x) * x)(fnp.ones(3))
    prims = lambda s, row: [e.irs[s].eqns[i].prim.name for i in row.eqns[s]]  # noqa: E731
    sin_row, mul_row = e.rows[1], e.rows[2]
    assert (sin_row.name, mul_row.name) == ("sin", "mul")
    # jvp of sin: sin, cos, tangent * cos; of a product: the primal and the product rule
    assert prims("jvp", sin_row) == ["sin", "cos", "mul"]
    assert prims("jvp", mul_row) == ["mul", "mul", "mul", "add"]
    # linearized: only the tangent equations (cos is a residual now)
    assert prims("linearized", sin_row) == ["mul"]
    assert prims("linearized", mul_row) == ["mul", "mul", "add"]
    # transposed: the add passes its cotangent on, each mul by a residual stays a mul,
    # and the two cotangents of x meet in an add (in sin's row, transposed last)
    assert prims("transposed", mul_row) == ["mul", "mul"]
    assert prims("transposed", sin_row) == ["mul", "add"]
    assert prims("vmap", sin_row) == ["sin"]


def test_rows_of_a_comparison_have_no_tangent_equations(explained):
    e = explained["elementwise"][3]
    lt_row = next(r for r in e.rows if r.name == "lt")
    assert lt_row.eqns["linearized"] == [] and lt_row.eqns["transposed"] == []
    assert len(lt_row.eqns["jvp"]) == 1 and len(lt_row.eqns["vmap"]) == 1


# --- HTML ------------------------------------------------------------------------------------


_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "col"}


class _Checker(HTMLParser):
    """Fails on a close tag that does not match the open one; collects the text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _check_html(markup: str) -> str:
    """Asserts ``markup`` is well nested and closed; returns its text content."""
    p = _Checker()
    p.feed(markup)
    p.close()
    assert not p.errors, p.errors
    assert not p.stack, f"unclosed tags {p.stack}"
    return "".join(p.text)


@pytest.mark.parametrize("name", CASES)
def test_explanation_html_is_well_formed_and_holds_every_stage(explained, name):
    e = explained[name][3]
    markup = e._repr_html_()
    text = _check_html(markup)
    for s, body in e.stages.items():
        assert body in text, s  # each stage in full, its text escaped and back
    # every equation line of every IR stage appears in the table (rows cover them all)
    table = markup[markup.index("<table"):markup.index("</table>")]
    table_text = _check_html(table + "</table>")
    for s in ("ir", "jvp", "linearized", "transposed", "vmap"):
        for line in e.stages[s].split("\n")[1:-1]:
            assert line in table_text, (s, line)


def test_html_escapes_angle_brackets():
    e = ft.explain(elementwise)(fnp.ones(3))  # lt: StableHLO prints #stablehlo<... LT>
    markup = e._repr_html_()
    assert "comparison_direction LT" in e.stages["stablehlo"]
    assert "tensor<3xf32>" not in markup and "tensor&lt;3xf32&gt;" in markup
    assert "#stablehlo&lt;comparison_direction LT&gt;" in markup
    assert "comparison_direction LT>" in _check_html(markup)


def test_html_colours_a_primitive_the_same_in_every_stage():
    e = ft.explain(lambda x: fnp.sin(x) * x)(fnp.ones(3))
    markup = e._repr_html_()
    colours = set(re.findall(r"color:(#[0-9a-f]{6});font-weight:bold[^\"]*\">sin<", markup))
    assert len(colours) == 1
    n_sin = sum(e.stages[s].count(" = sin ") for s in ("ir", "jvp", "vmap"))
    assert len(re.findall(r">sin</span>", markup)) >= 2 * n_sin  # table and full texts


def test_ir_html():
    closed = ft.make_ir(lambda x: fnp.sin(x) * (x < 1.0))(fnp.ones(3))
    for obj in (closed, closed.ir):
        markup = obj._repr_html_()
        text = _check_html(markup)
        assert str(closed) in text
        for prim in ("sin", "lt", "convert_element_type", "mul"):
            assert re.search(rf"<span style=\"color:#[0-9a-f]{{6}};font-weight:bold\">{prim}"
                             r"</span>", markup), prim
    # a sub-IR's equations are coloured too
    markup = ft.make_ir(with_cond)(fnp.ones(3))._repr_html_()
    _check_html(markup)
    assert re.search(r"font-weight:bold\">cos</span>|font-weight:bold\">sin</span>", markup)


def test_array_html():
    x = fnp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    markup = x._repr_html_()
    text = _check_html(markup)
    assert "shape (2, 3)" in text and "float32" in text and "weak type" not in text
    assert "[[0., 1., 2.],\n [3., 4., 5.]]" in text
    weak = fnp.asarray(2.0)
    assert weak.weak_type and "weak type" in _check_html(weak._repr_html_())
    big = fnp.arange(100000.0)
    text = _check_html(big._repr_html_())
    assert "..." in text and len(big._repr_html_()) < 2000
    assert "0.0000e+00" in text and "9.9999e+04" in text
    lt = _check_html((fnp.asarray([1, 2]) < 2)._repr_html_())
    assert "bool" in lt
    y = fnp.ones(3)
    y.delete()
    assert "deleted" in _check_html(y._repr_html_())


# --- errors ----------------------------------------------------------------------------------


def test_errors_name_the_bad_argument():
    def f(x, opts):
        return x
    with pytest.raises(TypeError, match=r"explain\(f\): argument opts\['mode'\] is a str"):
        ft.explain(f)(fnp.ones(2), {"mode": "fast"})
    with pytest.raises(TypeError, match=r"argument n has dtype int32.*functools.partial"):
        ft.explain(lambda x, n: x * n)(fnp.ones(2), fnp.asarray(3))
    with pytest.raises(TypeError, match="expected a function"):
        ft.explain(3)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        ft.explain(f, batch_size=0)
    with pytest.raises(TypeError, match="positionally"):
        ft.explain(f)(fnp.ones(2), opts=1.0)
    with pytest.raises(TypeError, match="output 0 is bool"):
        ft.explain(lambda x: x > 0)(fnp.ones(2))


def test_partial_closes_over_a_non_float_argument():
    f = functools.partial(lambda n, x: x * n, 3)
    e = ft.explain(f)(fnp.ones(2))
    assert e.stages["ir"] == str(ft.make_ir(f)(fnp.ones(2)))
    assert e.stages["jvp"] == str(ft.make_ir(lambda p, t: ft.jvp(f, p, t))((fnp.ones(2),),
                                                                         (fnp.ones(2),)))


def test_a_stage_that_fails_is_reported_and_the_others_are_shown():
    def loop(x):  # reverse mode of a while_loop is not supported; everything else is
        return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2.0), (0, x))[1]

    x = fnp.ones(2)
    e = ft.explain(loop)(x)
    assert list(e.errors) == ["transposed"] and "while_loop" in e.errors["transposed"]
    with pytest.raises(TypeError, match="while_loop"):
        ft.vjp(loop, x)[1](x)
    assert e.stages["transposed"].startswith("(failed) TypeError: ")
    assert e.stages["jvp"] == str(ft.make_ir(lambda p, t: ft.jvp(loop, p, t))((x,), (x,)))
    assert e.stages["vmap"] == str(ft.make_ir(ft.vmap(loop))(fnp.ones((3, 2))))
    assert e.stages["stablehlo"] == ft.jit(loop).lower(x).as_text()
    assert "transposed" not in e.irs and all("transposed" not in r.eqns for r in e.rows)
    markup = e._repr_html_()
    text = _check_html(markup)
    assert "transposed failed:" in text and "<th" in markup
    assert "=== transposed: " in str(e)


def test_ir_html_escapes_every_line():
    closed = ft.make_ir(lambda x: fnp.sin(x) * 2.0)(fnp.ones(3))
    eqn = closed.ir.eqns[0]
    odd = ft.ir.IR(closed.ir.constvars, closed.ir.invars,
                   [eqn._replace(params={"note": "a<b&c>d"})] + closed.ir.eqns[1:],
                   closed.ir.outvars)
    assert "note=a<b&c>d" in str(odd)
    markup = odd._repr_html_()
    assert "a&lt;b&amp;c&gt;d" in markup and "a<b" not in markup
    assert "note=a<b&c>d" in _check_html(markup)
    from functrans.explain import highlight_ir_text
    assert highlight_ir_text("x < y & z") == "x &lt; y &amp; z"
