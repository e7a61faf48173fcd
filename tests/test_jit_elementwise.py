"""jit of the elementwise primitives against eager mode (eager vs numpy is
tested in test_lax_elementwise.py).

Table-driven over test_lax_elementwise's UNARY/BINARY rows: for each dtype,
one jitted function applies every primitive that accepts the dtype to full
arrays, rank-0 operands (which lowering broadcasts) and, for floats, NaN,
infinities and signed zeros; each output must equal eager mode (exactly, with
signed zeros and NaN positions, for exact rows and integer/bool results;
within the dtype's tolerance for the others). Then the cases where XLA's op
means something else than numpy and the lowering composes ops: integer
division by zero, shifts out of range, float -> int conversion, complex
max/min, select_n with an int32 selector, integer_pow, sign of -0.0,
bitcasts to and from bool. Each test compiles a few programs only.
"""

from __future__ import annotations

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax
from functrans.array import _new_array
from functrans.core import get_aval
from functrans.jit import jit
from functrans.primitives import elementwise as ew

from test_lax_elementwise import (  # noqa: E402  (shared tables and helpers)
    BINARY, DTYPES, UNARY, _host, _inputs, _tol)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# dtypes tested with 64-bit mode on, drawn like the 32-bit dtype of their kind
WIDE = {"float64": "float64", "int64": "int32", "uint32": "uint8", "complex128": "complex64"}
_SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0])


def all_elementwise_primitives():
    return [v for k, v in vars(ew).items() if k.endswith("_p") and isinstance(v, ft.core.Primitive)]


def test_every_elementwise_primitive_has_batch_and_lower_rules():
    prims = all_elementwise_primitives()
    assert len(prims) == 66
    missing = [(p.name, r) for p in prims for r in ("batch", "lower") if getattr(p, r) is None]
    assert missing == []


# --- comparing jit with eager ---------------------------------------------------------------


def assert_same(got, want, dt, exact, label="", signed_zeros=True):
    """jit output ``got`` equals eager ``want``: aval, values (NaN-aware), signed zeros."""
    assert get_aval(got) == get_aval(want), label
    g, w = _host(got), _host(want)
    if g.dtype.kind in "fc" and signed_zeros:  # where both are zero, their signs agree
        for part in ((np.real, np.imag) if g.dtype.kind == "c" else (np.real,)):
            gp, wp = part(g), part(w)
            zeros = (gp == 0) & (wp == 0)
            np.testing.assert_array_equal(np.signbit(gp[zeros]), np.signbit(wp[zeros]),
                                          err_msg=f"{label}: signed zeros")
    if exact or g.dtype.kind in "biu":
        np.testing.assert_array_equal(g, w, err_msg=label)
    else:
        tol = _tol(dt if dt in ("float16", "bfloat16", "float64") else
                   {"complex128": "float64"}.get(dt, "float32"))
        np.testing.assert_allclose(g.astype(w.dtype), w, rtol=tol, atol=tol, equal_nan=True,
                                   err_msg=label)


def check_jit(cases, dt):
    """``cases``: (label, fn, args, exact); one jitted program computes them all.

    XLA compiles each separate output as its own kernel (~50 ms each), so the
    cases whose results share a dtype and shape are packed into one output: case
    j of K runs on its inputs tiled to (K, *shape) (rank-0 inputs stay rank 0),
    and row j of the output is taken from it by select_n on a selector input,
    which fuses everything into one kernel. Row j must equal eager mode.
    """
    wants = [fn(*args) for _, fn, args, _ in cases]
    groups = {}
    for i, w in enumerate(wants):
        groups.setdefault((np.dtype(w.dtype), tuple(w.shape)), []).append(i)
    groups = list(groups.items())
    flat, plan = [], []
    for (_, shape), idx in groups:
        k = len(idx)
        full = (k,) + (shape or (1,))
        flat.append(fnp.asarray(np.broadcast_to(
            np.arange(k, dtype=np.int32).reshape((k,) + (1,) * (len(full) - 1)), full)))
        for i in idx:
            for a in cases[i][2]:
                a = np.asarray(a)
                if a.shape == shape:
                    a = np.broadcast_to(a.reshape(full[1:]), full)
                flat.append(fnp.asarray(np.array(a)))
        plan.append(idx)

    def all_cases(*xs):
        outs, pos = [], 0
        for idx in plan:
            sel, pos = xs[pos], pos + 1
            acc = None
            for j, i in enumerate(idx):
                n = len(cases[i][2])
                out, pos = cases[i][1](*xs[pos:pos + n]), pos + n
                acc = out if acc is None else lax.select(lax.eq(sel, np.int32(j)), out, acc)
            outs.append(acc)
        return outs

    got = jit(all_cases)(*flat)
    assert len(got) == len(plan)
    for ((_, shape), idx), g in zip(groups, got):
        for j, i in enumerate(idx):
            label, _, _, exact = cases[i]
            gi = _new_array(np.asarray(g)[j].reshape(shape), get_aval(wants[i]).weak_type)
            # max/min of +0.0 and -0.0: numpy returns the second operand, XLA +0.0 (max)
            # and -0.0 (min), whatever the order; the values are equal
            assert_same(gi, wants[i], dt, exact, label,
                        signed_zeros=label.split()[0] not in ("max", "min", "maximum", "minimum"))


def _accepts(row, dt):
    if dt in DTYPES:
        return dt in row.dtypes
    return {"int64": "int32", "uint32": "uint8", "complex128": "complex64"}[dt] in row.dtypes


def _draw_inputs(rng, row, dt, shape):
    base = WIDE.get(dt, dt)
    return [fnp.asarray(np.asarray(x).astype(np.dtype(dt)))
            for x in _inputs(rng, row, base, shape)]


def _with_specials(x, dt):
    """``x`` (a (6,) array) followed by NaN, infinities, signed zeros (floats)."""
    if np.dtype(dt).kind != "f":
        return x
    return fnp.asarray(np.concatenate([np.asarray(x), _SPECIAL.astype(np.dtype(dt))]))


def _special_pairs(dt):
    """Every pair of special values: (49,) arrays x, y."""
    x, y = np.meshgrid(_SPECIAL, _SPECIAL)
    return [fnp.asarray(v.ravel().astype(np.dtype(dt))) for v in (x, y)]


# complex128 runs the complex-specific rows only (the complex chlo expansions
# are the slowest to compile); every other dtype runs every row that accepts it.
SUBSETS = {
    "complex128": {"sign", "abs", "exp", "log", "sqrt", "conj", "real", "imag", "max", "eq",
                   "div", "pow", "asin", "integer_pow"},
}


def table_cases(rng, dt):
    """One case per unary row (inputs drawn from the row's domain, then special
    values); one per binary row (drawn values, then every pair of special
    values), and one with a rank-0 operand on either side."""
    cases = []
    rows = [r for r in UNARY + BINARY
            if _accepts(r, dt) and (dt not in SUBSETS or r.name in SUBSETS[dt])]
    # XLA may contract a complex product into fused multiply-adds: an ulp apart
    inexact_here = {"mul", "div"} if np.dtype(dt).kind == "c" else set()
    for row in rows:
        if len(row.domains) == 1:
            (x,) = _draw_inputs(rng, row, dt, (6,))
            cases.append((row.name, row.fn, [_with_specials(x, dt)], row.exact))
            continue
        x, y = _draw_inputs(rng, row, dt, (6,))
        if np.dtype(dt).kind == "f":
            sx, sy = _special_pairs(dt)
            x = fnp.asarray(np.concatenate([np.asarray(x), np.asarray(sx)]))
            y = fnp.asarray(np.concatenate([np.asarray(y), np.asarray(sy)]))
        exact = row.exact and row.name not in inexact_here
        xs, ys = _draw_inputs(rng, row, dt, ())
        cases += [(row.name, row.fn, [x, y], exact),
                  (f"{row.name} (n,) op ()", row.fn, [x, ys], exact),
                  (f"{row.name} () op (n,)", row.fn, [xs, y], exact)]
    return cases


@pytest.mark.parametrize("dt", ["float32", "float16", "bfloat16", "complex64", "int32", "int8",
                                "uint8", "bool"])
def test_jit_matches_eager_over_the_tables(dt, rng):
    check_jit(table_cases(rng, dt), dt)


@pytest.mark.parametrize("dt", ["float64", "complex128", "int64", "uint32"])
def test_jit_matches_eager_over_the_tables_x64(dt, rng, x64):
    check_jit(table_cases(rng, dt), dt)


# --- where XLA's op differs from numpy: the composed lowerings --------------------------------


def _int_edges(dt):
    info = np.iinfo(dt)
    xs = np.array([7, -7, 0, 5, -5, info.min, info.min, info.max, 3, 1, -1], np.int64)
    ys = np.array([0, 0, 0, 2, -2, -1, 1, -1, -3, info.max, info.min], np.int64)
    if info.min == 0:
        xs, ys = np.abs(xs) % (info.max + 1), np.abs(ys) % (info.max + 1)
    return fnp.asarray(xs.astype(dt)), fnp.asarray(ys.astype(dt))


@pytest.mark.parametrize("dt", ["int8", "int32", "uint8", "uint32", "int64"])
def test_integer_division_and_remainder_edges(dt, request):
    """XLA's (= jax's) x / 0 (-1, all ones unsigned) and x % 0 (x); INT_MIN / -1 wraps;
    rounding toward zero. Eager mode is compared with jax, jit with eager mode."""
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    if dt in ("uint32", "int64"):
        request.getfixturevalue("x64")
    x, y = _int_edges(np.dtype(dt))
    zero, three = (fnp.asarray(np.dtype(dt).type(v)) for v in (0, 3))
    cases = [("div", lax.div, [x, y], True), ("rem", lax.rem, [x, y], True),
             ("div by rank-0 zero", lax.div, [x, zero], True),
             ("rem by rank-0", lax.rem, [x, three], True),
             ("floor_divide", fnp.floor_divide, [x, y], True),
             ("remainder", fnp.remainder, [x, y], True)]
    oracles = [jax.lax.div, jax.lax.rem, jax.lax.div, jax.lax.rem, jnp.floor_divide,
               jnp.remainder]
    for (label, fn, args, _), jfn in zip(cases, oracles):
        want = jfn(*(jnp.asarray(np.asarray(a)) for a in args))
        got = fn(*args)
        assert got.dtype == want.dtype, label
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=label)
    check_jit(cases, dt)


@pytest.mark.parametrize("dt", ["int8", "uint8", "int32", "uint32"])
def test_shifts_out_of_range(dt, rng, request):
    if dt == "uint32":
        request.getfixturevalue("x64")
    d = np.dtype(dt)
    bits = d.itemsize * 8
    info = np.iinfo(d)
    amounts = np.arange(-3 if d.kind == "i" else 0, bits + 3)
    x = rng.integers(info.min, info.max, (3, amounts.size), endpoint=True)
    x[0, :] = info.min if d.kind == "i" else info.max
    x, y = fnp.asarray(x.astype(d)), fnp.asarray(np.broadcast_to(amounts, (3, amounts.size)).astype(d))
    cases = [(name, getattr(lax, name), [x, y], True)
             for name in ("shift_left", "shift_right_arithmetic", "shift_right_logical")]
    check_jit(cases, dt)


def test_convert_element_type_edges(x64):
    """Float -> int saturates with NaN -> 0, -> bool is x != 0, complex keeps the real part."""
    f = np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 2.5, -2.5, -0.7, 0.0, -0.0, 255.9, 1e20])
    c = (f + 1j * np.array([1.0, 0, 2, 0, 0, 1, 0, 0, 3, 0, 0, 0])).astype(np.complex64)
    ints = np.array([0, 1, -1, 2**31 - 1, -2**31, 300, -300, 2**24 + 1, 7, 0, 5, -5])
    pairs = {"float32": ("int32", "int8", "uint8", "uint32", "int64", "bool", "float16",
                         "bfloat16", "complex64"),
             "float64": ("int32", "uint8", "int64", "float32", "bool"),
             "float16": ("int32", "uint8", "bool"),
             "bfloat16": ("int8", "float32"),
             "complex64": ("float32", "int32", "bool", "complex128"),
             "int64": ("int32", "uint8", "float32", "bool"),
             "int32": ("int8", "float16", "float64", "complex64"),
             "bool": ("float32", "int32", "complex64"),
             "uint8": ("int8", "float32")}
    values = {"complex64": c, "int32": ints, "int64": ints * 3, "bool": f != 0,
              "uint8": ints % 256}
    cases = []
    for src, targets in pairs.items():
        x = fnp.asarray(np.asarray(values.get(src, f)).astype(DTYPES.get(src, np.dtype(src))))
        for tgt in targets:
            t = DTYPES.get(tgt, np.dtype(tgt))
            cases.append((f"{src} -> {tgt}",
                          lambda v, t=t: lax.convert_element_type(v, t), [x], True))
    check_jit(cases, "float32")


def test_bitcast_convert_type():
    f = fnp.asarray(np.array([1.0, -0.0, np.nan, np.inf, -2.5], np.float32))
    i8 = fnp.asarray(np.array([0, 1, 2, -1, -128], np.int8))
    b = fnp.asarray(np.array([True, False, True, True, False]))
    cases = [("f32 -> i32", lambda v: lax.bitcast_convert_type(v, np.int32), [f], True),
             ("f32 -> u32", lambda v: lax.bitcast_convert_type(v, np.uint32), [f], True),
             ("i8 -> u8", lambda v: lax.bitcast_convert_type(v, np.uint8), [i8], True),
             ("i8 -> i8", lambda v: lax.bitcast_convert_type(v, np.int8), [i8], True),
             ("bool -> u8", lambda v: lax.bitcast_convert_type(v, np.uint8), [b], True),
             ("bool -> i8", lambda v: lax.bitcast_convert_type(v, np.int8), [b], True),
             ("i8 in {0, 1} -> bool",
              lambda v: lax.bitcast_convert_type(lax.bitwise_and(v, fnp.int8(1)), np.bool_),
              [i8], True),
             ("round trip", lambda v: lax.bitcast_convert_type(
                 lax.bitcast_convert_type(v, np.int32), np.float32), [f], True)]
    check_jit(cases, "float32")
    # a byte other than 0/1 viewed as bool: jit gives x != 0 (eager: numpy's raw bool byte)
    out = jit(lambda v: lax.bitcast_convert_type(v, np.bool_))(i8)
    np.testing.assert_array_equal(out, np.asarray(i8) != 0)


def test_select_n_int32_and_bool_selectors(rng):
    cases = []
    for n in range(1, 6):
        which = fnp.asarray(rng.integers(0, n, (4, 5)).astype(np.int32))
        cs = [fnp.asarray(rng.normal(size=(4, 5)).astype(np.float32)) for _ in range(n)]
        cases.append((f"select_n {n} cases", lambda w, *c: lax.select_n(w, *c), [which, *cs], True))
        w0 = fnp.asarray(np.int32(n - 1))
        cases.append((f"select_n rank-0 selector, {n} cases",
                      lambda w, *c: lax.select_n(w, *c), [w0, *cs], True))
        mixed = [fnp.asarray(np.float32(k)) if k % 2 else c for k, c in enumerate(cs)]
        cases.append((f"select_n rank-0 and shaped cases, {n}",
                      lambda w, *c: lax.select_n(w, *c), [which, *mixed], True))
    pred = fnp.asarray(rng.integers(0, 2, (4, 5)).astype(bool))
    a, b = (fnp.asarray(rng.integers(-9, 9, (4, 5)).astype(np.int32)) for _ in range(2))
    cases += [("select_n bool", lambda w, x, y: lax.select_n(w, x, y), [pred, a, b], True),
              ("select_n bool rank-0 pred", lambda w, x, y: lax.select_n(w, x, y),
               [fnp.asarray(True), a, b], True),
              ("select bool cases", lambda w, x, y: lax.select(w, x, y),
               [pred, pred, fnp.asarray(np.zeros((4, 5), bool))], True),
              ("where", fnp.where, [pred, a, fnp.asarray(np.int32(3))], True)]
    check_jit(cases, "int32")


def test_integer_pow_round_polygamma_sign_and_complex_minmax(rng, x64):
    xf = fnp.asarray(rng.uniform(-2, 2, (7,)).astype(np.float32))
    xd = fnp.asarray(rng.uniform(-2, 2, (7,)))
    xi = fnp.asarray(rng.integers(-50, 50, (7,)).astype(np.int32))
    xc = fnp.asarray((rng.normal(size=7) + 1j * rng.normal(size=7)).astype(np.complex64))
    halves = fnp.asarray(np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.2, -0.0,
                                   np.nan], np.float32))
    pos = fnp.asarray(np.array([0.3, 1.0, 2.5, 7.0, 11.3, 0.0, -0.0, -2.0, -2.5, np.inf, -np.inf,
                                np.nan], np.float64))
    cases = []
    for x, dt, ys in ((xf, "f32", (-3, -1, 0, 1, 2, 3, 5, 7)), (xd, "f64", (-2, 6)),
                      (xi, "i32", (0, 1, 3, 6)), (xc, "c64", (-2, 3))):
        for y in ys:
            cases.append((f"integer_pow {dt} y={y}",
                          lambda v, y=y: lax.integer_pow(v, y), [x], False))
    cases += [("round afz", lambda v: lax.round(v, 0), [halves], True),
              ("round even", lambda v: lax.round(v, 1), [halves], True),
              ("sign of +-0", lax.sign, [fnp.asarray(np.array([0.0, -0.0, -1, np.nan]))], True),
              ("sign uint", lax.sign, [fnp.asarray(np.array([0, 3, 255], np.uint8))], True),
              ("abs uint", lax.abs, [fnp.asarray(np.array([0, 3, 255], np.uint8))], True),
              ("sign complex", lax.sign, [xc], False)]
    for m, x in ((0, pos.astype(np.float32)), (1, pos), (2, pos.astype(np.float32)),
                 (3, pos), (1, pos.astype(np.float16))):
        cases.append((f"polygamma {m} {x.dtype}", lambda v, m=m: lax.polygamma(m, v), [x], False))
    nan = np.nan
    cx = np.array([1 + 1j, 1 + 3j, 2 - 1j, complex(nan, 0), 1 + 0j, complex(1, nan), 2 + 0j,
                   complex(0, nan), 3 + 1j])
    cy = np.array([1 + 3j, 1 + 1j, 1 + 5j, 1 + 0j, complex(nan, 1), 0 + 0j, complex(1, nan),
                   complex(nan, 0), 3 + 1j])
    for dt in (np.complex64, np.complex128):
        a, b = fnp.asarray(cx.astype(dt)), fnp.asarray(cy.astype(dt))
        cases += [(f"max {dt.__name__}", lax.max, [a, b], True),
                  (f"min {dt.__name__}", lax.min, [a, b], True),
                  (f"max {dt.__name__} rank-0", lax.max, [a, b[1]], True),
                  (f"maximum {dt.__name__}", fnp.maximum, [b, a], True)]
    check_jit(cases, "float32")
