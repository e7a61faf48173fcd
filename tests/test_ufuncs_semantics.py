"""Specific semantics of functrans.numpy's elementwise functions: sign conventions,
rounding, nan_to_num, isclose, where, clip, special values, weak narrow dtypes.

The tables, input generation and comparison helpers live in test_ufuncs.py.
"""

from __future__ import annotations
import operator
import warnings
import ml_dtypes
import numpy as np
import pytest
import functrans as ft
import functrans.numpy as fnp
from functrans.numpy import _ufuncs  # noqa: F401

from test_ufuncs import (  # noqa: E402  (shared tables and helpers)
    BF16, BINARY, DTYPES, SCALARS, UNARY, _cases, _check_like_jax, _check_paths_agree, _host, _need_x64, _types, assert_matches, draw, jax_types, jnp)

# --- specific semantics ---------------------------------------------------------------------------


SIGNED_CASES = [(-7, 2), (-6, 2), (-1, 3), (0, -3), (1, -2), (6, -4), (7, -2), (7, 3), (-7, -3),
                (-8, -4), (5, 5), (0, 3)]


@pytest.mark.parametrize("dt", ["int32", "int8", "float32", "float64", "float16"])
@pytest.mark.parametrize("path", ["eager", "traced"])
def test_floor_divide_and_remainder_sign_conventions(dt, path, request):
    """floor division rounds toward -inf; the remainder has the divisor's sign."""
    _need_x64(request, dt)
    a = np.array([c[0] for c in SIGNED_CASES], DTYPES[dt])
    b = np.array([c[1] for c in SIGNED_CASES], DTYPES[dt])
    if dt.startswith("float"):
        a = np.concatenate([a, np.array([-7.5, 7.5, -0.5, 5.25], DTYPES[dt])])
        b = np.concatenate([b, np.array([2.0, -2.0, 3.0, -1.5], DTYPES[dt])])
    fns = [fnp.floor_divide, fnp.remainder, fnp.mod, lambda p, q: fnp.divmod(p, q)[0],
           lambda p, q: fnp.divmod(p, q)[1], operator.floordiv, operator.mod]
    refs = [np.floor_divide, np.remainder, np.remainder, np.floor_divide, np.remainder,
            np.floor_divide, np.remainder]
    for f, ref in zip(fns, refs):
        if path == "eager":
            out = f(fnp.asarray(a), fnp.asarray(b))
        else:
            closed = ft.make_ir(f)(fnp.asarray(a), fnp.asarray(b))
            (out,) = ft.ir.eval_ir(closed.ir, closed.consts, [fnp.asarray(a), fnp.asarray(b)])
        assert out.dtype == DTYPES[dt]
        np.testing.assert_array_equal(out, ref(a, b))
        # signs: the remainder is zero or has the divisor's sign
        if ref is np.remainder:
            r = np.asarray(out).astype(np.float64)
            assert np.all((r == 0) | (np.sign(r) == np.sign(b.astype(np.float64))))


def test_fmod_has_the_sign_of_the_dividend():
    a, b = np.int32([-7, 7, -7, 7]), np.int32([2, 2, -2, -2])
    np.testing.assert_array_equal(fnp.fmod(fnp.asarray(a), fnp.asarray(b)), [-1, 1, -1, 1])
    af, bf = a.astype(np.float32) + 0.5, b.astype(np.float32)
    np.testing.assert_array_equal(fnp.fmod(fnp.asarray(af), fnp.asarray(bf)), np.fmod(af, bf))


@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 2, 3])
@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "complex64"])
def test_round_decimals_floats(dt, decimals, rng, request):
    _need_x64(request, dt)
    x = draw(rng, dt, (20,), "any") * 37
    x = np.concatenate([x, np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.0], DTYPES[dt])])
    out = fnp.round(fnp.asarray(x), decimals)
    ref = np.round(x, decimals)
    assert out.dtype == x.dtype
    rtol = {"float16": 1e-3}.get(dt, 1e-6 if dt != "float64" else 1e-14)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=rtol, atol=0)
    np.testing.assert_array_equal(fnp.around(fnp.asarray(x), decimals), out)
    np.testing.assert_array_equal(fnp.asarray(x).round(decimals), out)


@pytest.mark.parametrize("decimals", [0, 1, -1, -2])
@pytest.mark.parametrize("dt", ["int32", "int8", "uint8"])
def test_round_decimals_integers(dt, decimals):
    """Integers are returned unchanged for decimals >= 0; decimals < 0 raises
    NotImplementedError, as jnp.round does (numpy would round to a multiple of 10)."""
    x = np.array([15, 25, 0, 7, 125], DTYPES[dt])
    if decimals < 0:
        with pytest.raises(NotImplementedError):
            jnp.round(jnp.asarray(x), decimals)  # the oracle, so this moves with jax
        with pytest.raises(NotImplementedError, match="round"):
            fnp.round(fnp.asarray(x), decimals)
        return
    out = fnp.round(fnp.asarray(x), decimals)
    ref = jnp.round(jnp.asarray(x), decimals)
    assert out.dtype == ref.dtype == x.dtype
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(out, np.asarray(ref))


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16", "complex64"])
@pytest.mark.parametrize("kw", [{}, {"nan": 7.0}, {"posinf": 1e3, "neginf": -1e3},
                                {"nan": -1.0, "posinf": 9.0, "neginf": -9.0}],
                         ids=["default", "nan", "infs", "all"])
def test_nan_to_num(dt, kw, request):
    _need_x64(request, dt)
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -0.0, 3.0], DTYPES[dt] if dt != "complex64"
                 else np.float32)
    if dt == "complex64":
        x = (x + 1j * x[::-1]).astype(np.complex64)
    out = fnp.nan_to_num(fnp.asarray(x), **kw)
    assert out.dtype == x.dtype
    if dt == "bfloat16":
        info = ml_dtypes.finfo(BF16)
        ref = np.nan_to_num(x.astype(np.float32), nan=kw.get("nan", 0.0),
                            posinf=kw.get("posinf", float(info.max)),
                            neginf=kw.get("neginf", float(info.min))).astype(BF16)
    else:
        ref = np.nan_to_num(x, **kw)
    np.testing.assert_array_equal(_host(out), _host(ref))


def test_nan_to_num_integers_unchanged():
    x = np.int32([1, -2, 3])
    out = fnp.nan_to_num(fnp.asarray(x))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, x)


ISCLOSE_A = [1.0, 1.0, 0.0, 1e-9, np.inf, -np.inf, np.inf, np.nan, np.nan, 100.0, 1.0, 5.0]
ISCLOSE_B = [1.0 + 1e-6, 1.1, 1e-9, 0.0, np.inf, -np.inf, 1.0, np.nan, 1.0, 100.1, -1.0, 5.0]


@pytest.mark.parametrize("kw", [{}, {"equal_nan": True}, {"rtol": 1e-2}, {"atol": 1e-3},
                                {"rtol": 0.0, "atol": 0.0}], ids=str)
@pytest.mark.parametrize("dt", ["float32", "float64", "complex64"])
def test_isclose_and_allclose(dt, kw, request):
    _need_x64(request, dt)
    a, b = np.array(ISCLOSE_A, DTYPES[dt]), np.array(ISCLOSE_B, DTYPES[dt])
    out = fnp.isclose(fnp.asarray(a), fnp.asarray(b), **kw)
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out, np.isclose(a, b, **kw))
    for i in range(len(a)):
        got = fnp.allclose(fnp.asarray(a[: i + 1]), fnp.asarray(b[: i + 1]), **kw)
        assert bool(got) == np.allclose(a[: i + 1], b[: i + 1], **kw), i
    # broadcasting against a Python scalar
    np.testing.assert_array_equal(fnp.isclose(fnp.asarray(a), 1.0, **kw),
                                  np.isclose(a, 1.0, **kw))


@pytest.mark.parametrize("dt", ["float32", "complex64"])
def test_isclose_infinities_only_match_equal_infinities(dt):
    a = np.array([np.inf, 1.0, -1.0, -np.inf, 0.0], DTYPES[dt])
    b = np.array([-np.inf, np.inf, -np.inf, np.inf, np.inf], DTYPES[dt])
    np.testing.assert_array_equal(fnp.isclose(fnp.asarray(a), fnp.asarray(b)),
                                  np.isclose(a, b))
    assert not bool(fnp.allclose(fnp.asarray(a[1:2]), fnp.asarray(b[1:2])))


def test_isclose_integers():
    a, b = np.int32([1, 2, 3, 100000]), np.int32([1, 3, 3, 100001])
    np.testing.assert_array_equal(fnp.isclose(fnp.asarray(a), fnp.asarray(b)), np.isclose(a, b))


def test_array_equal():
    a = fnp.asarray([1.0, np.nan, 3.0])
    assert bool(fnp.array_equal(a, a)) is False
    assert bool(fnp.array_equal(a, a, equal_nan=True)) is True
    assert bool(fnp.array_equal(fnp.ones(3), fnp.ones(4))) is False
    assert bool(fnp.array_equal(fnp.ones((2, 3)), np.ones((2, 3)))) is True
    assert bool(fnp.array_equal(fnp.arange(3), [0, 1, 2])) is True


@pytest.mark.parametrize("dt", ["float32", "float64", "int32", "int8", "uint8", "bool",
                                "float16", "bfloat16", "complex64"])
def test_where_values_and_dtype(dt, rng, request):
    _need_x64(request, dt)
    for sc, sx, sy in [((5,), (5,), (5,)), ((3, 1), (1, 4), ()), ((), (2, 3), (2, 3)),
                       ((2, 3), (3,), (2, 1)), ((0,), (0,), ())]:
        c = rng.integers(0, 2, sc).astype(bool)
        x, y = draw(rng, dt, sx, "any"), draw(rng, dt, sy, "any")
        out = fnp.where(fnp.asarray(c), fnp.asarray(x), fnp.asarray(y))
        assert_matches(out, np.where(c, x, y), x.dtype, exact=True)
        assert _types(out) == jax_types(jnp.where, c, x, y)[0]


@pytest.mark.parametrize("dt", ["float32", "float16", "bfloat16", "complex64", "int32", "int8",
                                "uint8", "bool"])
def test_where_with_python_scalars(dt, rng):
    """A non-bool condition counts its truth value; Python scalars are weak."""
    c = draw(rng, "int32", (6,), "grid")
    x = draw(rng, dt, (6,), "any")
    for s in SCALARS.values():
        expected, err = jax_types(jnp.where, c, x, s)
        if err is not None:
            continue
        out = fnp.where(fnp.asarray(c), fnp.asarray(x), s)
        assert _types(out) == expected, s
        assert_matches(out, np.where(c, x, np.asarray(s).astype(out.dtype)), out.dtype,
                       exact=True)
        out = fnp.where(fnp.asarray(c), s, fnp.asarray(x))
        assert _types(out) == jax_types(jnp.where, c, s, x)[0], s


def test_where_traced_matches_eager(rng):
    c, x = rng.integers(0, 2, (3, 4)).astype(bool), rng.normal(size=(3, 4)).astype(np.float32)
    args = [fnp.asarray(c), fnp.asarray(x), fnp.asarray(np.float32(2.0))]
    _check_paths_agree(lambda c, x, y: fnp.where(c, x, y), args)
    _check_paths_agree(lambda c, x: fnp.where(c, x, 0.0), args[:2])


def test_where_errors():
    with pytest.raises(ValueError, match="where"):
        fnp.where(fnp.asarray([True]), fnp.ones(1))
    with pytest.raises(ValueError, match=r"where.*\(2,\).*\(3,\)"):
        fnp.where(fnp.asarray([True, False]), fnp.ones(3), 0.0)


def test_where_with_condition_only_is_nonzero():
    (idx,) = fnp.where(fnp.asarray([0, 3, 0, 5]))
    np.testing.assert_array_equal(idx, [1, 3])


CLIP_CASES = [
    ("scalars", lambda m, a: m.clip(a, -1, 2)),
    ("float-bounds", lambda m, a: m.clip(a, -1.5, 2.5)),
    ("min-only", lambda m, a: m.clip(a, -1, None)),
    ("max-only", lambda m, a: m.clip(a, None, 1)),
    ("kw", lambda m, a: m.clip(a, min=0, max=3)),
    ("array-bounds", lambda m, a: m.clip(a, m.asarray(np.array([-1, 0, 1, 2, 3, -2], "int8")),
                                         m.asarray(np.array([0, 2, 2, 4, 3, 0], "int8")))),
    ("broadcast-bounds", lambda m, a: m.clip(a, m.asarray(np.zeros((2, 1), "int8")), 3)),
]


# uint8 with a negative Python-int bound overflows (numpy raises OverflowError too)
@pytest.mark.parametrize("case,dt", [
    pytest.param(c, d, id=f"{c[0]}-{d}") for c in CLIP_CASES
    for d in ["float32", "int32", "int8", "uint8", "float16"]
    if not (d == "uint8" and c[0] in ("scalars", "min-only"))])
def test_clip(case, dt):
    _, f = case
    x = np.array([-3, -1, 0, 1, 2, 5], DTYPES[dt]) if dt != "uint8" else \
        np.array([0, 1, 2, 3, 7, 200], np.uint8)
    expected, err = jax_types(lambda a: f(jnp, a), x)
    if err is not None:
        with pytest.raises((TypeError, ValueError)):
            f(fnp, fnp.asarray(x))
        return
    out = f(fnp, fnp.asarray(x))
    assert _types(out) == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = f(np, x)
    np.testing.assert_allclose(_host(out).astype(np.float64), np.asarray(ref, np.float64))


def test_angle_degrees():
    z = np.complex64([1 + 1j, -1j, -1 + 0j, 2.0])
    np.testing.assert_allclose(fnp.angle(fnp.asarray(z), deg=True), np.angle(z, deg=True),
                               rtol=1e-6)


def test_real_imag_conj_properties():
    z = np.complex64([1 + 2j, -3 - 4j])
    a = fnp.asarray(z)
    np.testing.assert_array_equal(a.real, z.real)
    np.testing.assert_array_equal(a.imag, z.imag)
    np.testing.assert_array_equal(a.conj(), z.conj())
    assert a.real.dtype == np.float32 and a.imag.dtype == np.float32


def test_signed_zeros_and_specials():
    """Spot checks that random draws rarely hit."""
    negz = fnp.asarray(np.float32([-0.0]))
    assert np.signbit(np.asarray(fnp.negative(fnp.asarray(np.float32([0.0])))))[0]
    np.testing.assert_array_equal(fnp.copysign(fnp.asarray(np.float32([2.0])), negz), [-2.0])
    assert np.signbit(np.asarray(fnp.trunc(fnp.asarray(np.float32([-0.5])))))[0]
    np.testing.assert_array_equal(fnp.sinc(fnp.asarray(np.float32([0.0]))), [1.0])
    np.testing.assert_array_equal(
        fnp.logaddexp(fnp.asarray(np.float32([np.inf, -np.inf, np.inf])),
                      fnp.asarray(np.float32([np.inf, -np.inf, -np.inf]))),
        np.logaddexp(np.float32([np.inf, -np.inf, np.inf]), np.float32([np.inf, -np.inf, -np.inf])))
    np.testing.assert_allclose(fnp.logaddexp(fnp.asarray(np.float32([1000.0])), 1000.0),
                               [1000.0 + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(fnp.hypot(fnp.asarray(np.float32([1e30, 3e-30])),
                                         fnp.asarray(np.float32([1e30, 4e-30]))),
                               [np.float32(1.4142135e30), np.float32(5e-30)], rtol=1e-6)


@pytest.mark.parametrize("dt", ["float16", "float32", "float64"])
def test_nextafter_of_equal_zeros_is_y_eagerly_as_under_jit(dt):
    # C, XLA and JAX return y where x == y; numpy's float16 loop returns x, which the
    # eager fast path once handed on (nextafter(-0.0, 0.0) was -0.0 eagerly, +0.0 jitted)
    x = fnp.asarray(np.array([-0.0, 0.0, 1.0], dt))
    y = fnp.asarray(np.array([0.0, -0.0, 1.0], dt))
    want = jnp.nextafter(np.asarray(x), np.asarray(y))
    for got in (fnp.nextafter(x, y), ft.jit(fnp.nextafter)(x, y)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.signbit(np.asarray(got)), np.signbit(np.asarray(want)))
        np.testing.assert_array_equal(got, want)


def test_hypot_of_an_infinity_is_infinite():
    x, y = np.float32([-np.inf, 2.0, 0.0]), np.float32([1.0, np.inf, -np.inf])
    np.testing.assert_array_equal(fnp.hypot(fnp.asarray(x), fnp.asarray(y)), np.hypot(x, y))


@pytest.mark.parametrize("x,y", [(np.inf, np.inf), (np.inf, np.nan), (np.nan, -np.inf)])
def test_hypot_of_two_infinities_or_infinity_and_nan_is_infinite(x, y):
    x, y = np.float32([x]), np.float32([y])
    np.testing.assert_array_equal(fnp.hypot(fnp.asarray(x), fnp.asarray(y)), np.hypot(x, y))


def test_logaddexp_complex_values():
    a = np.complex64([1 + 1j, -2 + 0.5j, 0.1 - 3j])
    b = np.complex64([2 - 1j, 0.3 + 2j, 0.2 + 0.1j])
    ref = np.log(np.exp(a.astype(np.complex128)) + np.exp(b.astype(np.complex128)))
    np.testing.assert_allclose(fnp.logaddexp(fnp.asarray(a), fnp.asarray(b)), ref, rtol=1e-5)


@pytest.mark.parametrize("dt", ["float16", "bfloat16", "int8", "uint8"])
def test_weak_arrays_of_narrow_dtypes_keep_their_dtype(dt):
    from jax._src.lax import lax as jax_lax_internal  # the oracle's own weak conversion
    w = ft.lax.convert_element_type(1, DTYPES[dt], weak_type=True)
    jw = jax_lax_internal._convert_element_type(1, DTYPES[dt], weak_type=True)
    assert _types(w) == _types(jw)
    for op in ("add", "multiply", "maximum"):
        assert _types(getattr(fnp, op)(w, w)) == jax_types(getattr(jnp, op), jw, jw)[0], op


@pytest.mark.parametrize("row,dt", [c for c in _cases(UNARY + BINARY, "x64")
                                    if c.values[1] == "float32"])
def test_float32_stays_float32_under_x64(row, dt, rng, x64):
    _check_like_jax(row, [draw(rng, dt, (3,), d) for d in row.domains])


def test_rank0_constant_results_are_fresh_arrays():
    # imag of a real, isnan of an int, ...: results made from constants are the user's
    # (deleting or donating one must not break the next call)
    for f, x in ((fnp.imag, np.float32(2.0)), (fnp.isnan, np.int32(3)),
                 (fnp.isinf, np.int32(3)), (fnp.isfinite, np.int32(3))):
        first = f(fnp.asarray(x))
        want = np.asarray(first).copy()
        first.delete()
        np.testing.assert_array_equal(f(fnp.asarray(x)), want)
