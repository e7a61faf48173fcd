"""The corpus of the differential test suite (tests/test_differential.py).

Every case is a small program written once against a namespace ``L`` (``L.np``,
``L.nn``, ``L.lax``, ``L.grad``, ...) and run twice: with ``L = FT`` (functrans)
and ``L = JX`` (jax, the oracle). The test module compares values, dtypes, weak
types, which calls raise, and derivatives.

Cases are built from tables, one table per kind of signature (unary and binary
elementwise, reductions, shape ops, indexing, linalg, creation, sorting, lax
primitives, control flow), with inputs generated per kind: ordinary points and
the special points (0, -0, ties, bounds, +-inf, NaN, empty arrays, integer
extremes). Programs that need particular arguments are written by hand.

A case's arguments are numpy arrays (they become each library's arrays) or
Python scalars (passed as they are, so that weak typing is exercised).
Non-array parameters (axes, shapes, dtypes) are closed over by the program, so
``jit`` sees only array arguments.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Callable

import ml_dtypes
import numpy as np

import functrans as ft
import functrans.lax as flax
import functrans.nn as fnn
import functrans.numpy as fnp

import jax
import jax.numpy as jnp

jax.config.update("jax_traceback_filtering", "off")

FT = types.SimpleNamespace(
    name="functrans", np=fnp, nn=fnn, lax=flax, grad=ft.grad, value_and_grad=ft.value_and_grad,
    jvp=ft.jvp, vjp=ft.vjp, vmap=ft.vmap, jit=ft.jit, hessian=ft.hessian, jacfwd=ft.jacfwd,
    jacrev=ft.jacrev, stop_gradient=ft.stop_gradient, custom_jvp=ft.custom_jvp,
    tree_map=ft.tree_map, asarray=fnp.asarray, random=ft.random)
JX = types.SimpleNamespace(
    name="jax", np=jnp, nn=jax.nn, lax=jax.lax, grad=jax.grad, value_and_grad=jax.value_and_grad,
    jvp=jax.jvp, vjp=jax.vjp, vmap=jax.vmap, jit=jax.jit, hessian=jax.hessian, jacfwd=jax.jacfwd,
    jacrev=jax.jacrev, stop_gradient=jax.lax.stop_gradient, custom_jvp=jax.custom_jvp,
    tree_map=jax.tree_util.tree_map, asarray=jnp.asarray, random=jax.random)

BF16 = np.dtype(ml_dtypes.bfloat16)
F32, F16, I32, I8, U8, B = np.float32, np.float16, np.int32, np.int8, np.uint8, np.bool_


_DTYPE_CLASSES = ("generic", "number", "inexact", "floating", "complexfloating", "integer",
                  "signedinteger", "unsignedinteger", "character", "flexible")


@dataclasses.dataclass(frozen=True)
class Case:
    """One program and its inputs.

    Attributes:
        id: unique, readable; the pytest id.
        prog: ``prog(L, *args)``; ``L`` is FT or JX.
        args: numpy arrays or Python scalars.
        covers: the public names it exercises, as ``"np.sin"``, ``"nn.relu"``, ``"lax.scan"``.
        diff: which args to differentiate (indices); empty: values only.
        hess: also compare the Hessian (small inputs only).
        jit: also run under ``L.jit`` (both libraries) and compare.
    """
    id: str
    prog: Callable
    args: tuple
    covers: tuple
    diff: tuple = ()
    hess: bool = False
    jit: bool = False


CASES: list[Case] = []
_IDS: set[str] = set()


def add(id, prog, args, covers, *, diff=(), hess=False, jit=False):
    """Appends a case; ``covers`` is one name or a tuple of names."""
    covers = (covers,) if isinstance(covers, str) else tuple(covers)
    assert id not in _IDS, id
    _IDS.add(id)
    CASES.append(Case(id, prog, tuple(args), covers, tuple(diff), hess, jit))


def _float_args(args):
    return tuple(i for i, a in enumerate(args)
                 if isinstance(a, np.ndarray) and a.dtype in (np.float32, np.float64) and a.size)


# --- inputs ---------------------------------------------------------------------------------------

_rng = np.random.default_rng(1234)
MID = _rng.uniform(-0.95, 0.95, (2, 3)).astype(F32)            # inside every bounded domain
BIG = _rng.uniform(1.05, 3.0, (2, 3)).astype(F32)              # acosh, log, sqrt, ...
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.5, np.inf, -np.inf, np.nan], F32)
EMPTY = np.zeros((0,), F32)
EMPTY2 = np.zeros((2, 0), F32)
INTS = np.array([0, 1, -1, 7, -8, 2**31 - 1, -2**31], I32)
INT8 = np.array([0, 1, -1, 127, -128, 5], I8)
UINT8 = np.array([0, 1, 127, 128, 255], U8)
BOOLS = np.array([True, False, True], B)

# all pairs of special values (ties included: the diagonal)
_SP = np.array([0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan], F32)
PAIR_A = np.repeat(_SP, len(_SP))
PAIR_B = np.tile(_SP, len(_SP))
_IP = np.array([0, 1, -1, 3, -3, 7, 2**31 - 1, -2**31], I32)
IPAIR_A = np.repeat(_IP, len(_IP))
IPAIR_B = np.tile(_IP, len(_IP))
X23 = _rng.normal(size=(2, 3)).astype(F32)
Y23 = _rng.normal(size=(2, 3)).astype(F32)
Y3 = _rng.normal(size=(3,)).astype(F32)
POS23 = _rng.uniform(0.5, 2.0, (2, 3)).astype(F32)
X34 = _rng.normal(size=(3, 4)).astype(F32)
TIES34 = np.array([[1, 3, 3, 0], [2, 2, 2, 2], [-1, 5, -1, 5]], F32)
NAN34 = X34.copy()
NAN34[1, 2] = np.nan
INF34 = X34.copy()
INF34[0, 1] = np.inf
INF34[2, 3] = -np.inf
EMPTY03 = np.zeros((0, 3), F32)
I34 = np.array([[1, 3, 3, 0], [2, -2, 2, 7], [-1, 5, -1, 5]], I32)
B34 = np.array([[1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]], B)
SQ = (_rng.normal(size=(3, 3)) + 3 * np.eye(3)).astype(F32)
SPD = (SQ @ SQ.T + np.eye(3)).astype(F32)


def _f(x, dtype):
    return np.asarray(x).astype(dtype)


def _rotate(i, variants, k):
    """``k`` of ``variants`` for the ``i``-th function of a table.

    Every function of a table runs at its ordinary and special points; the other
    input variants (dtypes, Python scalars, empty arrays, ...) rotate over the
    functions, so that each variant meets a good share of the functions while the
    suite stays fast (jax compiles every new function/dtype/shape, ~50 ms).
    """
    return [variants[(i * k + j) % len(variants)] for j in range(min(k, len(variants)))]


# --- unary elementwise ----------------------------------------------------------------------------

# name -> which ordinary input lies in its domain
UNARY_FLOAT = {
    "abs": MID, "absolute": MID, "negative": MID, "positive": MID, "sign": MID,
    "sin": MID, "cos": MID, "tan": MID, "arcsin": MID, "arccos": MID, "arctan": MID,
    "asin": MID, "acos": MID, "atan": MID, "sinh": MID, "cosh": MID, "tanh": MID,
    "arcsinh": MID, "arctanh": MID, "asinh": MID, "atanh": MID, "arccosh": BIG, "acosh": BIG,
    "exp": MID, "exp2": MID, "expm1": MID, "log": BIG, "log10": BIG, "log2": BIG, "log1p": MID,
    "sqrt": BIG, "cbrt": MID, "square": MID, "reciprocal": BIG,
    "deg2rad": MID, "rad2deg": MID, "degrees": MID, "radians": MID, "sinc": MID,
    "floor": MID, "ceil": MID, "trunc": MID, "rint": MID, "round": MID, "around": MID,
    "conj": MID, "conjugate": MID, "real": MID, "imag": MID, "angle": MID,
    "isfinite": MID, "isinf": MID, "isnan": MID, "isneginf": MID, "isposinf": MID, "signbit": MID,
    "nan_to_num": MID, "logical_not": MID,
}
NOT_DIFF = {"floor", "ceil", "trunc", "rint", "round", "around", "isfinite", "isinf", "isnan",
            "isneginf", "isposinf", "signbit", "logical_not", "sign", "imag", "angle"}


def _unary(name):
    return lambda L, x: getattr(L.np, name)(x)


UNARY_VARIANTS = [("f16", lambda x: (_f(x, F16),)), ("int32", lambda x: (np.array([0, 1, -1, 2, 3], I32),)),
                  ("pyscalar", lambda x: (0.5,)), ("bf16", lambda x: (_f(x, BF16),)),
                  ("pyint", lambda x: (2,)), ("bool", lambda x: (BOOLS,)), ("empty", lambda x: (EMPTY2,))]
for _i, (_n, _x) in enumerate(UNARY_FLOAT.items()):
    _d = () if _n in NOT_DIFF else (0,)
    add(f"np.{_n}-f32", _unary(_n), (_x,), f"np.{_n}", diff=_d, hess=bool(_d), jit=True)
    add(f"np.{_n}-special", _unary(_n), (SPECIAL,), f"np.{_n}", diff=_d)
    for _tag, _mk in _rotate(_i, UNARY_VARIANTS, 3):
        add(f"np.{_n}-{_tag}", _unary(_n), _mk(_x), f"np.{_n}", jit=_tag == "pyscalar")

# integer-only unary functions, and the integer extremes of the others
for _n in ["bitwise_not", "bitwise_invert", "invert", "abs", "negative", "sign", "square",
           "positive"]:
    add(f"np.{_n}-intext", _unary(_n), (INTS,), f"np.{_n}", jit=True)
    add(f"np.{_n}-int8", _unary(_n), (INT8,), f"np.{_n}")
    add(f"np.{_n}-uint8", _unary(_n), (UINT8,), f"np.{_n}")
for _n in ["bitwise_not", "bitwise_invert", "invert"]:
    add(f"np.{_n}-bool", _unary(_n), (BOOLS,), f"np.{_n}")
add("np.round-decimals", lambda L, x: L.np.round(x, 2), (X23 * 10,), "np.round", jit=True)
add("np.round-halves", lambda L, x: L.np.round(x), (np.array([0.5, 1.5, 2.5, -0.5, -1.5], F32),),
    "np.round")
add("np.round-int-neg-decimals", lambda L, x: L.np.round(x, -1), (np.array([14, 15, 25, -15], I32),),
    "np.round")
add("np.nan_to_num-args", lambda L, x: L.np.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0),
    (SPECIAL,), "np.nan_to_num", diff=(0,))
add("np.nan_to_num-f16-special", lambda L, x: L.np.nan_to_num(x), (_f(SPECIAL, F16),), "np.nan_to_num")

# --- binary elementwise ---------------------------------------------------------------------------

BINARY_FLOAT = ["add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "mod",
                "remainder", "fmod", "power", "pow", "float_power", "maximum", "minimum", "fmax",
                "fmin", "arctan2", "atan2", "hypot", "copysign", "nextafter", "logaddexp",
                "logaddexp2", "heaviside", "equal", "not_equal", "less", "less_equal", "greater",
                "greater_equal", "logical_and", "logical_or", "logical_xor"]
BIN_NOT_DIFF = {"floor_divide", "nextafter", "heaviside", "equal", "not_equal", "less",
                "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
                "logical_xor"}
BINARY_INT = ["add", "subtract", "multiply", "floor_divide", "mod", "remainder", "fmod", "power",
              "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
              "right_shift", "bitwise_left_shift", "bitwise_right_shift", "equal", "less",
              "true_divide", "divide"]


def _binary(name):
    return lambda L, x, y: getattr(L.np, name)(x, y)


BINARY_VARIANTS = [
    ("bcast", lambda a, b: (a, Y3)), ("f16", lambda a, b: (_f(a, F16), _f(b, F16))),
    ("f16-pyint", lambda a, b: (_f(a, F16), 2)), ("pyfloat-f32", lambda a, b: (1.5, a)),
    ("int32-pyfloat", lambda a, b: (np.array([1, 2, -3], I32), 2.0)),
    ("int32-f16", lambda a, b: (np.array([1, 2, -3], I32), np.array([2, 1, 3], F16))),
    ("pyscalars", lambda a, b: (3.0, 2.0)), ("empty", lambda a, b: (EMPTY2, np.ones((1, 1), F32))),
    ("badshapes", lambda a, b: (X23, X34)), ("bf16-f16", lambda a, b: (_f(a, BF16), _f(b, F16)))]
for _i, _n in enumerate(BINARY_FLOAT):
    _d = () if _n in BIN_NOT_DIFF else (0, 1)
    _a, _b = (POS23, Y23) if _n in ("power", "pow", "float_power") else (X23, Y23)
    add(f"np.{_n}-f32", _binary(_n), (_a, _b), f"np.{_n}", diff=_d, hess=bool(_d), jit=True)
    add(f"np.{_n}-specialpairs", _binary(_n), (PAIR_A, PAIR_B), f"np.{_n}", diff=_d)
    add(f"np.{_n}-ties", _binary(_n), (X23, X23.copy()), f"np.{_n}", diff=_d)
    for _tag, _mk in _rotate(_i, BINARY_VARIANTS, 3):
        add(f"np.{_n}-{_tag}", _binary(_n), _mk(_a, _b), f"np.{_n}", jit=_tag == "pyscalars")
INT_VARIANTS = [("int8-pyint", (INT8, 3)), ("uint8-int8", (UINT8[:5], INT8[:5])),
                ("bool", (BOOLS, BOOLS[::-1].copy()))]
for _i, _n in enumerate(BINARY_INT):
    add(f"np.{_n}-intpairs", _binary(_n), (IPAIR_A, IPAIR_B), f"np.{_n}", jit=True)
    for _tag, _a in _rotate(_i, INT_VARIANTS, 1):
        add(f"np.{_n}-{_tag}", _binary(_n), _a, f"np.{_n}")
add("np.divmod-f32", lambda L, x, y: L.np.divmod(x, y), (X23, Y23), "np.divmod", jit=True)
add("np.divmod-int", lambda L, x, y: L.np.divmod(x, y), (IPAIR_A, IPAIR_B), "np.divmod")
add("np.shift-large", lambda L, x: (L.np.left_shift(x, 40), L.np.right_shift(x, 33)),
    (INTS,), ("np.left_shift", "np.right_shift"))
add("np.power-negint-exp", lambda L, x: L.np.power(x, -1), (np.array([1, 2, -1], I32),), "np.power")
add("np.power-big-pyint", lambda L, x: x ** 70, (np.array([1.0, 2.0], F32),), "np.power")
add("np.isclose", lambda L, x, y: L.np.isclose(x, y), (PAIR_A, PAIR_B), "np.isclose")
add("np.isclose-equal-nan", lambda L, x, y: L.np.isclose(x, y, equal_nan=True, rtol=0.1),
    (PAIR_A, PAIR_B), "np.isclose")
add("np.allclose", lambda L, x, y: L.np.allclose(x, y), (X23, X23 + 1e-7), "np.allclose")
add("np.array_equal", lambda L, x, y: (L.np.array_equal(x, y), L.np.array_equal(x, x[:1])),
    (X23, X23.copy()), "np.array_equal")
add("np.array_equal-nan", lambda L, x: L.np.array_equal(x, x, equal_nan=True), (SPECIAL,),
    "np.array_equal")

# --- reductions -----------------------------------------------------------------------------------

REDUCTIONS = ["sum", "prod", "mean", "var", "std", "max", "min", "amax", "amin", "argmax",
              "argmin", "all", "any", "median", "ptp", "nanmax", "nanmin", "nansum", "nanprod",
              "nanmean", "nanvar", "nanstd", "count_nonzero"]
RED_NOT_DIFF = {"argmax", "argmin", "all", "any", "count_nonzero"}
NO_KEEPDIMS = {"count_nonzero"}


def _red(name, **kw):
    return lambda L, x: getattr(L.np, name)(x, **kw)


RED_VARIANTS = [  # (tag, keyword arguments, input)
    ("ax0", {"axis": 0}, X34), ("ax-1-kd", {"axis": -1, "keepdims": True}, X34),
    ("axNone-kd", {"axis": None, "keepdims": True}, X34), ("ax01", {"axis": (0, 1)}, X34),
    ("inf", {"axis": 1}, INF34), ("empty-ax1", {"axis": 1}, EMPTY03), ("empty-all", {}, EMPTY03),
    ("int8", {}, INT8), ("bool", {"axis": 0}, B34), ("f16", {"axis": 1}, _f(X34, F16)),
    ("pyscalar", {}, 2.5), ("badaxis", {"axis": 2}, X34), ("ties-all", {}, TIES34)]
for _i, _n in enumerate(REDUCTIONS):
    _d = () if _n in RED_NOT_DIFF else (0,)
    _kd = {} if _n in NO_KEEPDIMS else {"keepdims": True}
    add(f"np.{_n}-axNone", _red(_n), (X34,), f"np.{_n}", diff=_d)
    add(f"np.{_n}-ax1-kd", _red(_n, axis=1, **_kd), (X34,), f"np.{_n}", diff=_d, hess=bool(_d),
        jit=True)
    add(f"np.{_n}-ties", _red(_n, axis=1), (TIES34,), f"np.{_n}", diff=_d)
    add(f"np.{_n}-nan", _red(_n, axis=0), (NAN34,), f"np.{_n}", diff=_d)
    add(f"np.{_n}-empty-ax0", _red(_n, axis=0), (EMPTY03,), f"np.{_n}")
    add(f"np.{_n}-int", _red(_n, axis=1), (I34,), f"np.{_n}", jit=True)
    for _tag, _kw, _x in _rotate(_i, RED_VARIANTS, 3):
        if _n in NO_KEEPDIMS and "keepdims" in _kw or _n in ("argmax", "argmin") and _tag == "ax01":
            continue
        add(f"np.{_n}-{_tag}", _red(_n, **_kw), (_x,), f"np.{_n}")
add("np.var-ddof", lambda L, x: (L.np.var(x, axis=1, ddof=1), L.np.std(x, ddof=1)), (X34,),
    ("np.var", "np.std"), diff=(0,))
add("np.var-ddof-toolarge", lambda L, x: L.np.var(x, axis=0, ddof=3), (X34,), "np.var")
add("np.sum-dtype", lambda L, x: (L.np.sum(x, dtype=L.np.float32), L.np.mean(x, dtype=L.np.float16)),
    (I34,), ("np.sum", "np.mean"))
add("np.sum-where", lambda L, x, m: L.np.sum(x, axis=1, where=m), (X34, B34), "np.sum", diff=(0,))
add("np.max-initial", lambda L, x: L.np.max(x, axis=0, initial=0.5), (EMPTY03,), "np.max")
add("np.cumsum", lambda L, x: L.np.cumsum(x, axis=1), (X34,), "np.cumsum", diff=(0,), hess=True,
    jit=True)
add("np.cumsum-none", lambda L, x: L.np.cumsum(x), (I34,), "np.cumsum")
add("np.cumsum-bool", lambda L, x: L.np.cumsum(x, axis=0), (B34,), "np.cumsum")
add("np.cumprod", lambda L, x: L.np.cumprod(x, axis=0), (X34,), "np.cumprod", diff=(0,), jit=True)
add("np.cumprod-zeros", lambda L, x: L.np.cumprod(x, axis=1), (TIES34 - 2,), "np.cumprod",
    diff=(0,))
add("np.average", lambda L, x, w: (L.np.average(x), L.np.average(x, axis=1, weights=w)),
    (X34, POS23[:1, :].repeat(2, 1)[:, :4].reshape(4)), "np.average", diff=(0, 1))
add("np.average-returned", lambda L, x: L.np.average(x, axis=0, returned=True), (X34,),
    "np.average")
for _m in ["linear", "lower", "higher", "nearest", "midpoint"]:
    add(f"np.percentile-{_m}", lambda L, x, _m=_m: L.np.percentile(x, 30.0, axis=1, method=_m),
        (X34,), "np.percentile", diff=(0,))
    add(f"np.quantile-{_m}", lambda L, x, _m=_m: L.np.quantile(x, np.array([0.0, 0.25, 1.0], F32),
                                                               method=_m), (TIES34,), "np.quantile",
        diff=(0,))
add("np.quantile-nan", lambda L, x: L.np.quantile(x, 0.5, axis=0), (NAN34,), "np.quantile")
add("np.median-even", lambda L, x: L.np.median(x, axis=1), (TIES34,), "np.median", diff=(0,))

# --- nn -------------------------------------------------------------------------------------------

NN_UNARY = ["relu", "sigmoid", "silu", "swish", "softplus", "elu", "gelu", "leaky_relu", "tanh",
            "softmax", "log_softmax", "logsumexp", "celu", "glu", "hard_sigmoid", "hard_silu",
            "hard_swish", "hard_tanh", "identity", "log1mexp", "log_sigmoid", "logmeanexp", "mish",
            "relu6", "selu", "soft_sign", "sparse_plus", "sparse_sigmoid", "squareplus", "standardize"]
NN_VARIANTS = [("f16", (_f(X23, F16),)), ("bf16", (_f(X23, BF16),)), ("int", (np.array([-1, 0, 2], I32),)),
               ("empty", (EMPTY2,)), ("pyscalar", (0.5,))]
for _n in NN_UNARY:
    add(f"nn.{_n}-f32", lambda L, x, _n=_n: getattr(L.nn, _n)(x), (X23 * 3,), f"nn.{_n}",
        diff=(0,), hess=True, jit=True)
    add(f"nn.{_n}-special", lambda L, x, _n=_n: getattr(L.nn, _n)(x), (SPECIAL,), f"nn.{_n}",
        diff=(0,))
    add(f"nn.{_n}-kinks", lambda L, x, _n=_n: getattr(L.nn, _n)(x),
        (np.array([0.0, -0.0, 0.0], F32),), f"nn.{_n}", diff=(0,), hess=True)
    for _tag, _a in _rotate(NN_UNARY.index(_n), NN_VARIANTS, 2):
        add(f"nn.{_n}-{_tag}", lambda L, x, _n=_n: getattr(L.nn, _n)(x), _a, f"nn.{_n}")
for _n in ["softmax", "log_softmax", "logsumexp", "logmeanexp", "standardize"]:
    for _ax in [0, None, (0, 1)]:
        add(f"nn.{_n}-ax{_ax}".replace(" ", ""), lambda L, x, _n=_n, _ax=_ax: getattr(L.nn, _n)(x, axis=_ax),
            (X34,), f"nn.{_n}", diff=(0,), jit=True)
    add(f"nn.{_n}-ties", lambda L, x, _n=_n: getattr(L.nn, _n)(x, axis=1), (TIES34,), f"nn.{_n}",
        diff=(0,), hess=True)
    add(f"nn.{_n}-infs", lambda L, x, _n=_n: getattr(L.nn, _n)(x, axis=1), (INF34,), f"nn.{_n}",
        diff=(0,))
    add(f"nn.{_n}-allneginf", lambda L, x, _n=_n: getattr(L.nn, _n)(x, axis=1),
        (np.full((2, 3), -np.inf, F32),), f"nn.{_n}", diff=(0,))
add("nn.logsumexp-b", lambda L, x, b: L.nn.logsumexp(x, axis=1, b=b), (X34, np.abs(X34)),
    "nn.logsumexp", diff=(0, 1))
add("nn.logsumexp-keepdims", lambda L, x: L.nn.logsumexp(x, axis=0, keepdims=True), (X34,),
    "nn.logsumexp", diff=(0,))
add("nn.logsumexp-return-sign", lambda L, x, b: L.nn.logsumexp(x, axis=1, b=b, return_sign=True),
    (X34, X34[::-1].copy()), "nn.logsumexp")
add("nn.leaky_relu-slope", lambda L, x: L.nn.leaky_relu(x, negative_slope=0.3), (SPECIAL,),
    "nn.leaky_relu", diff=(0,))
add("nn.elu-alpha", lambda L, x: L.nn.elu(x, alpha=0.5), (SPECIAL,), "nn.elu", diff=(0,))
add("nn.gelu-exact", lambda L, x: L.nn.gelu(x, approximate=False), (X23 * 3,), "nn.gelu",
    diff=(0,), hess=True)
add("nn.glu-even", lambda L, x: L.nn.glu(x), (X34,), "nn.glu", diff=(0,), jit=True)
add("nn.glu-axis", lambda L, x: L.nn.glu(x, axis=0), (X34[:2].copy(),), "nn.glu", diff=(0,))
add("nn.celu-alpha", lambda L, x: L.nn.celu(x, alpha=0.5), (SPECIAL,), "nn.celu", diff=(0,))
add("nn.squareplus-b", lambda L, x: L.nn.squareplus(x, b=0.0), (SPECIAL,), "nn.squareplus", diff=(0,))
add("nn.relu6-bounds", lambda L, x: L.nn.relu6(x), (np.array([0.0, 6.0, -0.0, 5.9, 6.1], F32),), "nn.relu6",
    diff=(0,))
add("nn.hard_tanh-bounds", lambda L, x: L.nn.hard_tanh(x), (np.array([-1.0, 1.0, 0.0], F32),),
    "nn.hard_tanh", diff=(0,))
add("nn.sparse_plus-bounds", lambda L, x: (L.nn.sparse_plus(x), L.nn.sparse_sigmoid(x)),
    (np.array([-1.0, 1.0, 0.0, -0.0], F32),), ("nn.sparse_plus", "nn.sparse_sigmoid"), diff=(0,))
add("nn.standardize-meanvar", lambda L, x: L.nn.standardize(x, axis=1, mean=0.5, variance=2.0),
    (X34,), "nn.standardize", diff=(0,))
add("nn.logmeanexp-where", lambda L, x, m: L.nn.logmeanexp(x, axis=1, where=m), (X34, B34), "nn.logmeanexp")
add("lax.select", lambda L, c, x, y: L.lax.select(c, x, y), (B34, X34, TIES34), "lax.select", diff=(1, 2),
    jit=True)
add("lax.select-bad-pred", lambda L, c, x, y: L.lax.select(c, x, y), (I34, X34, TIES34), "lax.select")
add("nn.softmax-where", lambda L, x, m: L.nn.softmax(x, axis=1, where=m), (X34, B34), "nn.softmax")
for _nc, _x in [("int", np.array([0, 2, 1, 3, -1, 4], I32)), ("f32", np.array([0.0, 2.0, 1.5], F32))]:
    add(f"nn.one_hot-{_nc}", lambda L, x: L.nn.one_hot(x, 4), (_x,), "nn.one_hot", jit=True)
add("nn.one_hot-dtype-axis", lambda L, x: L.nn.one_hot(x, 3, dtype=L.np.int32, axis=0),
    (np.array([0, 2, 1], I32),), "nn.one_hot")

# --- shape ops, creation, selection (hand-written arguments) -------------------------------------

A3 = np.arange(3, dtype=F32) - 1
A4 = (np.arange(4, dtype=F32) + 1) / 2
A24 = np.arange(8, dtype=F32).reshape(2, 4) - 3.5
A234 = np.arange(24, dtype=F32).reshape(2, 3, 4) / 7 - 1

# (id, covers, program, args, differentiable)
SHAPE = [
    ("reshape", "np.reshape", lambda L, x: L.np.reshape(x, (4, 2)), (A24,), True),
    ("reshape-neg", "np.reshape", lambda L, x: L.np.reshape(x, (-1, 2)), (A24,), True),
    ("reshape-bad", "np.reshape", lambda L, x: L.np.reshape(x, (3, 3)), (A24,), True),
    ("ravel", "np.ravel", lambda L, x: L.np.ravel(x), (A234,), True),
    ("transpose", "np.transpose", lambda L, x: L.np.transpose(x, (2, 0, 1)), (A234,), True),
    ("transpose-none", "np.transpose", lambda L, x: L.np.transpose(x), (A234,), True),
    ("permute_dims", "np.permute_dims", lambda L, x: L.np.permute_dims(x, (1, 0, 2)), (A234,), True),
    ("matrix_transpose", "np.matrix_transpose", lambda L, x: L.np.matrix_transpose(x), (A234,), True),
    ("swapaxes", "np.swapaxes", lambda L, x: L.np.swapaxes(x, 0, -1), (A234,), True),
    ("moveaxis", "np.moveaxis", lambda L, x: L.np.moveaxis(x, 0, -1), (A234,), True),
    ("moveaxis-multi", "np.moveaxis", lambda L, x: L.np.moveaxis(x, (0, 1), (2, 0)), (A234,), True),
    ("expand_dims", "np.expand_dims", lambda L, x: L.np.expand_dims(x, (0, -1)), (A24,), True),
    ("squeeze", "np.squeeze", lambda L, x: L.np.squeeze(x[None, :, None]), (A24,), True),
    ("squeeze-axis", "np.squeeze", lambda L, x: L.np.squeeze(x[None], axis=0), (A24,), True),
    ("squeeze-bad", "np.squeeze", lambda L, x: L.np.squeeze(x, axis=0), (A24,), True),
    ("atleast_1d", "np.atleast_1d", lambda L, x: L.np.atleast_1d(x[0, 0]), (A24,), True),
    ("atleast_2d", "np.atleast_2d", lambda L, x: L.np.atleast_2d(x[0]), (A24,), True),
    ("atleast_3d", "np.atleast_3d", lambda L, x: L.np.atleast_3d(x), (A24,), True),
    ("atleast_1d-scalar", "np.atleast_1d", lambda L, x: L.np.atleast_1d(x), (2.0,), False),
    ("broadcast_to", "np.broadcast_to", lambda L, x: L.np.broadcast_to(x, (2, 3, 3)), (A3,), True),
    ("broadcast_to-bad", "np.broadcast_to", lambda L, x: L.np.broadcast_to(x, (2, 4)), (A3,), True),
    ("broadcast_arrays", "np.broadcast_arrays", lambda L, x, y: L.np.broadcast_arrays(x, y[:, None]),
     (A3, A4), True),
    ("broadcast_shapes", "np.broadcast_shapes", lambda L: L.np.broadcast_shapes((2, 1), (3,)), (), False),
    ("concatenate", "np.concatenate", lambda L, x, y: L.np.concatenate([x, y], axis=1), (A24, A24), True),
    ("concatenate-none", "np.concatenate", lambda L, x, y: L.np.concatenate([x, y], axis=None),
     (A24, A3), True),
    ("concatenate-mixed", "np.concatenate", lambda L, x, y: L.np.concatenate([x, y]),
     (A3, np.array([1, 2], I32)), False),
    ("concat", "np.concat", lambda L, x, y: L.np.concat([x, y], axis=0), (A24, A24), True),
    ("stack", "np.stack", lambda L, x, y: L.np.stack([x, y], axis=-1), (A24, A24), True),
    ("stack-bad", "np.stack", lambda L, x, y: L.np.stack([x, y]), (A24, A3), True),
    ("hstack", "np.hstack", lambda L, x, y: L.np.hstack([x, y]), (A3, A4), True),
    ("vstack", "np.vstack", lambda L, x, y: L.np.vstack([x, y]), (A3, A3), True),
    ("dstack", "np.dstack", lambda L, x, y: L.np.dstack([x, y]), (A24, A24), True),
    ("column_stack", "np.column_stack", lambda L, x, y: L.np.column_stack([x, y]), (A3, A3), True),
    ("split", "np.split", lambda L, x: L.np.split(x, 2, axis=1), (A24,), True),
    ("split-idx", "np.split", lambda L, x: L.np.split(x, [1, 3], axis=1), (A24,), True),
    ("split-uneven", "np.split", lambda L, x: L.np.split(x, 3, axis=1), (A24,), True),
    ("array_split", "np.array_split", lambda L, x: L.np.array_split(x, 3, axis=1), (A24,), True),
    ("hsplit", "np.hsplit", lambda L, x: L.np.hsplit(x, 2), (A24,), True),
    ("vsplit", "np.vsplit", lambda L, x: L.np.vsplit(x, 2), (A24,), True),
    ("dsplit", "np.dsplit", lambda L, x: L.np.dsplit(x, 2), (A234,), True),
    ("flip", "np.flip", lambda L, x: L.np.flip(x, 1), (A24,), True),
    ("flip-none", "np.flip", lambda L, x: L.np.flip(x), (A24,), True),
    ("fliplr", "np.fliplr", lambda L, x: L.np.fliplr(x), (A24,), True),
    ("flipud", "np.flipud", lambda L, x: L.np.flipud(x), (A24,), True),
    ("rot90", "np.rot90", lambda L, x: L.np.rot90(x), (A24,), True),
    ("rot90-k", "np.rot90", lambda L, x: L.np.rot90(x, k=-3, axes=(1, 2)), (A234,), True),
    ("roll", "np.roll", lambda L, x: L.np.roll(x, 3, axis=1), (A24,), True),
    ("roll-none", "np.roll", lambda L, x: L.np.roll(x, -5), (A24,), True),
    ("roll-multi", "np.roll", lambda L, x: L.np.roll(x, (1, 2), axis=(0, 1)), (A24,), True),
    ("tile", "np.tile", lambda L, x: L.np.tile(x, (2, 1, 2)), (A24,), True),
    ("repeat", "np.repeat", lambda L, x: L.np.repeat(x, 2, axis=0), (A24,), True),
    ("repeat-none", "np.repeat", lambda L, x: L.np.repeat(x, 3), (A24,), True),
    ("repeat-list", "np.repeat", lambda L, x: L.np.repeat(x, np.array([1, 0, 2, 1]), axis=1), (A24,), True),
    ("pad", "np.pad", lambda L, x: L.np.pad(x, ((1, 0), (2, 1))), (A24,), True),
    ("pad-const", "np.pad", lambda L, x: L.np.pad(x, 1, constant_values=-1.5), (A24,), True),
    ("pad-edge", "np.pad", lambda L, x: L.np.pad(x, ((0, 1), (1, 2)), mode="edge"), (A24,), True),
    ("pad-reflect", "np.pad", lambda L, x: L.np.pad(x, ((1, 1), (2, 2)), mode="reflect"), (A24,), True),
    ("pad-wrap", "np.pad", lambda L, x: L.np.pad(x, ((1, 1), (2, 2)), mode="wrap"), (A24,), True),
    ("pad-int", "np.pad", lambda L, x: L.np.pad(x, 2), (np.array([1, 2], I8),), False),
    ("append", "np.append", lambda L, x, y: L.np.append(x, y), (A24, A3), True),
    ("append-axis", "np.append", lambda L, x, y: L.np.append(x, y, axis=0), (A24, A24), True),
    ("diag", "np.diag", lambda L, x: L.np.diag(x), (A3,), True),
    ("diag-k", "np.diag", lambda L, x: L.np.diag(x, k=-1), (A3,), True),
    ("diag-2d", "np.diag", lambda L, x: L.np.diag(x, 1), (A24,), True),
    ("diagflat", "np.diagflat", lambda L, x: L.np.diagflat(x, 1), (A24,), True),
    ("diagonal", "np.diagonal", lambda L, x: L.np.diagonal(x, offset=1, axis1=1, axis2=2), (A234,), True),
    ("trace", "np.trace", lambda L, x: L.np.trace(x, offset=-1), (A24,), True),
    ("trace-int", "np.trace", lambda L, x: L.np.trace(x), (np.ones((3, 3), I8),), False),
    ("tril", "np.tril", lambda L, x: L.np.tril(x, -1), (A234,), True),
    ("triu", "np.triu", lambda L, x: L.np.triu(x, 1), (A24,), True),
    ("kron", "np.kron", lambda L, x, y: L.np.kron(x, y), (A24[:, :2], A24[:, 2:]), True),
    ("outer", "np.outer", lambda L, x, y: L.np.outer(x, y), (A3, A4), True),
    ("inner", "np.inner", lambda L, x, y: L.np.inner(x, y), (A24, A234), True),
    ("dot", "np.dot", lambda L, x, y: L.np.dot(x, y), (A24, A234.reshape(4, 6)), True),
    ("dot-scalar", "np.dot", lambda L, x: L.np.dot(x, 2.0), (A24,), True),
    ("dot-1d", "np.dot", lambda L, x, y: L.np.dot(x, y), (A4, A4), True),
    ("vdot", "np.vdot", lambda L, x, y: L.np.vdot(x, y), (A24, A24), True),
    ("vecdot", "np.vecdot", lambda L, x, y: L.np.vecdot(x, y), (A234, A4), True),
    ("matmul", "np.matmul", lambda L, x, y: L.np.matmul(x, y), (A234, A24.T.copy()), True),
    ("matmul-1d", "np.matmul", lambda L, x, y: L.np.matmul(x, y), (A4, A24.T.copy()), True),
    ("matmul-bad", "np.matmul", lambda L, x, y: L.np.matmul(x, y), (A24, A24), True),
    ("matmul-scalar", "np.matmul", lambda L, x: L.np.matmul(x, 2.0), (A24,), True),
    ("matmul-int", "np.matmul", lambda L, x, y: x @ y, (I34, I34.T.copy()), False),
    ("matmul-mixed", "np.matmul", lambda L, x, y: x @ y, (I34, X34.T.copy()), False),
    ("tensordot", "np.tensordot", lambda L, x, y: L.np.tensordot(x, y, axes=([1, 2], [0, 1])),
     (A234, A234.reshape(3, 4, 2)), True),
    ("tensordot-int", "np.tensordot", lambda L, x, y: L.np.tensordot(x, y, axes=1), (A24, A234[0].T.copy()), True),
    ("einsum", "np.einsum", lambda L, x, y: L.np.einsum("ij,jk->ik", x, y), (A24, A24.T.copy()), True),
    ("einsum-trace", "np.einsum", lambda L, x: L.np.einsum("ii", x), (SQ,), True),
    ("einsum-batch", "np.einsum", lambda L, x, y: L.np.einsum("bij,bjk->bki", x, y),
     (A234, A234.transpose(0, 2, 1).copy()), True),
    ("einsum-outer", "np.einsum", lambda L, x, y: L.np.einsum("i,j", x, y), (A3, A4), True),
    ("cross", "np.cross", lambda L, x, y: L.np.cross(x, y), (X23, Y23), True),
    ("cross-2", "np.cross", lambda L, x, y: L.np.cross(x[:, :2], y[:, :2]), (X23, Y23), True),
    ("meshgrid", "np.meshgrid", lambda L, x, y: L.np.meshgrid(x, y), (A3, A4), True),
    ("meshgrid-ij", "np.meshgrid", lambda L, x, y: L.np.meshgrid(x, y, indexing="ij"), (A3, A4), True),
    ("where", "np.where", lambda L, c, x, y: L.np.where(c, x, y), (B34, X34, TIES34), True),
    ("where-scalars", "np.where", lambda L, c, x: L.np.where(c, x, 0.0), (B34, X34), True),
    ("where-pyscalars", "np.where", lambda L, c: L.np.where(c, 1, 2.5), (B34,), False),
    ("where-int-f16", "np.where", lambda L, c, x, y: L.np.where(c, x, y), (B34, I34, _f(X34, F16)), False),
    ("where-nan", "np.where", lambda L, x: L.np.where(x > 0, L.np.sqrt(x), 0.0), (SPECIAL,), True),
    ("where-1arg", "np.where", lambda L, x: L.np.where(x), (B34,), False),
    ("select", "np.select", lambda L, x: L.np.select([x < -0.5, x > 0.5], [x * 2, x ** 2], 7.0),
     (X34,), True),
    ("choose", "np.choose", lambda L, i, x, y: L.np.choose(i, [x, y]), (B34.astype(I32), X34, TIES34), True),
    ("choose-clip", "np.choose", lambda L, i, x, y: L.np.choose(i, [x, y], mode="clip"),
     (I34, X34, TIES34), True),
    ("choose-wrap", "np.choose", lambda L, i, x, y: L.np.choose(i, [x, y], mode="wrap"),
     (I34, X34, TIES34), True),
    ("clip", "np.clip", lambda L, x: L.np.clip(x, -0.5, 0.5), (X34,), True),
    ("clip-ties", "np.clip", lambda L, x: L.np.clip(x, 0.0, 1.0), (SPECIAL,), True),
    ("clip-arrays", "np.clip", lambda L, x, lo, hi: L.np.clip(x, lo, hi), (X23, Y23, Y23 + 1), True),
    ("clip-inverted", "np.clip", lambda L, x: L.np.clip(x, 1.0, -1.0), (X34,), True),
    ("clip-none", "np.clip", lambda L, x: L.np.clip(x, max=0.2), (X34,), True),
    ("clip-int", "np.clip", lambda L, x: L.np.clip(x, 0, 3), (I34,), False),
    ("clip-int-float", "np.clip", lambda L, x: L.np.clip(x, 0.5, 3.5), (I34,), False),
    ("compress", "np.compress", lambda L, x: L.np.compress(np.array([True, False, True]), x, axis=0),
     (X34,), False),
    ("extract", "np.extract", lambda L, c, x: L.np.extract(c, x), (B34, X34), False),
    ("nonzero", "np.nonzero", lambda L, x: L.np.nonzero(x), (I34 - 2,), False),
    ("nonzero-size", "np.nonzero", lambda L, x: L.np.nonzero(x, size=4, fill_value=-1), (B34,), False),
    ("flatnonzero", "np.flatnonzero", lambda L, x: L.np.flatnonzero(x), (B34,), False),
    ("argwhere", "np.argwhere", lambda L, x: L.np.argwhere(x), (B34,), False),
    ("argwhere-size", "np.argwhere", lambda L, x: L.np.argwhere(x, size=9), (B34,), False),
    ("ravel_multi_index", "np.ravel_multi_index",
     lambda L, i, j: L.np.ravel_multi_index((i, j), (3, 4)), (np.array([0, 2, 1], I32), np.array([3, 0, 1], I32)), False),
    ("ravel_multi_index-clip", "np.ravel_multi_index",
     lambda L, i, j: L.np.ravel_multi_index((i, j), (3, 4), mode="clip"),
     (np.array([0, 5, -1], I32), np.array([3, 0, 9], I32)), False),
    ("unravel_index", "np.unravel_index", lambda L, i: L.np.unravel_index(i, (3, 4)),
     (np.array([0, 5, 11, 7], I32),), False),
    ("unravel_index-oob", "np.unravel_index", lambda L, i: L.np.unravel_index(i, (3, 4)),
     (np.array([-1, 12, 100], I32),), False),
    ("heaviside-0", "np.heaviside", lambda L, x: L.np.heaviside(x, 0.5), (SPECIAL,), False),
    ("copysign-zero", "np.copysign", lambda L, x: L.np.copysign(1.0, x), (SPECIAL,), False),
    ("float_power-int", "np.float_power", lambda L, x: L.np.float_power(x, 2), (I34,), False),
]
for _id, _cov, _p, _a, _dd in SHAPE:
    add(f"np.{_id}", _p, _a, _cov, diff=_float_args(_a) if _dd else (), jit="-" not in _id)

# creation: no array arguments (values, dtypes, weak types and raising only)
CREATION = [
    ("zeros", "np.zeros", lambda L: L.np.zeros((2, 3))),
    ("zeros-int", "np.zeros", lambda L: L.np.zeros(3, L.np.int8)),
    ("zeros-bad", "np.zeros", lambda L: L.np.zeros((2, -1))),
    ("ones", "np.ones", lambda L: L.np.ones((2,), dtype=bool)),
    ("ones-f64", "np.ones", lambda L: L.np.ones(2, dtype=L.np.float64)),
    ("empty", "np.empty", lambda L: L.np.empty((0, 2)).shape),
    ("full", "np.full", lambda L: L.np.full((2, 2), 3)),
    ("full-float", "np.full", lambda L: L.np.full((2,), 1.5)),
    ("full-dtype", "np.full", lambda L: L.np.full((2,), 300, L.np.uint8)),
    ("full-array", "np.full", lambda L: L.np.full((2, 3), L.np.arange(3))),
    ("eye", "np.eye", lambda L: L.np.eye(3, 4, k=1)),
    ("eye-int", "np.eye", lambda L: L.np.eye(2, dtype=L.np.int32)),
    ("identity", "np.identity", lambda L: L.np.identity(3)),
    ("tri", "np.tri", lambda L: L.np.tri(3, 4, -1)),
    ("arange", "np.arange", lambda L: L.np.arange(5)),
    ("arange-float", "np.arange", lambda L: L.np.arange(0.5, 3.0, 0.5)),
    ("arange-neg", "np.arange", lambda L: L.np.arange(5, 1, -2)),
    ("arange-empty", "np.arange", lambda L: L.np.arange(5, 1)),
    ("arange-dtype", "np.arange", lambda L: L.np.arange(3, dtype=L.np.float16)),
    ("arange-zero-step", "np.arange", lambda L: L.np.arange(0, 3, 0)),
    ("linspace", "np.linspace", lambda L: L.np.linspace(0.0, 1.0, 5)),
    ("linspace-noend", "np.linspace", lambda L: L.np.linspace(-1, 1, 4, endpoint=False, retstep=True)),
    ("linspace-int", "np.linspace", lambda L: L.np.linspace(0, 10, 4, dtype=L.np.int32)),
    ("linspace-one", "np.linspace", lambda L: L.np.linspace(2.0, 3.0, 1)),
    ("linspace-zero", "np.linspace", lambda L: L.np.linspace(2.0, 3.0, 0)),
    ("logspace", "np.logspace", lambda L: L.np.logspace(0.0, 2.0, 3)),
    ("logspace-base", "np.logspace", lambda L: L.np.logspace(0, 3, 4, base=2.0)),
    ("array", "np.array", lambda L: L.np.array([1, 2.5, True])),
    ("array-int", "np.array", lambda L: L.np.array([1, 2])),
    ("array-scalar", "np.array", lambda L: L.np.array(1.5)),
    ("array-bool", "np.array", lambda L: L.np.array(True)),
    ("array-big", "np.array", lambda L: L.np.array(2**40)),
    ("array-nested", "np.array", lambda L: L.np.array([[1, 2], [3, 4]], dtype=L.np.float16)),
    ("array-ragged", "np.array", lambda L: L.np.array([[1, 2], [3]])),
    ("asarray-f64", "np.asarray", lambda L: L.np.asarray(np.array([1.5, 2.5]))),
    ("asarray-int64", "np.asarray", lambda L: L.np.asarray(np.array([1, 2], np.int64))),
    ("asarray-pyint", "np.asarray", lambda L: L.np.asarray(3)),
    ("asarray-pyfloat", "np.asarray", lambda L: L.np.asarray(3.0)),
    ("asarray-complex", "np.asarray", lambda L: L.np.asarray(1 + 2j)),
    ("asarray-uint64", "np.asarray", lambda L: L.np.asarray(np.array([1], np.uint64))),
    ("zeros_like", "np.zeros_like", lambda L: L.np.zeros_like(L.np.arange(3.0))),
    ("zeros_like-weak", "np.zeros_like", lambda L: L.np.zeros_like(2.0)),
    ("ones_like", "np.ones_like", lambda L: L.np.ones_like(L.np.arange(3), dtype=L.np.float16)),
    ("full_like", "np.full_like", lambda L: L.np.full_like(L.np.arange(3), 2.7)),
    ("full_like-shape", "np.full_like", lambda L: L.np.full_like(L.np.arange(3.0), 1, shape=(2, 2))),
    ("empty_like", "np.empty_like", lambda L: L.np.empty_like(L.np.arange(3.0)).shape),
    ("astype", "np.astype", lambda L: L.np.astype(L.np.array([1.7, -1.7, 300.0]), L.np.int32)),
    ("astype-uint8", "np.astype", lambda L: L.np.astype(L.np.array([1.7, 255.0, 3.0]), L.np.uint8)),
    ("astype-bool", "np.astype", lambda L: L.np.astype(L.np.array([0.0, -0.0, 0.5, L.np.nan]), bool)),
    ("astype-f16-overflow", "np.astype", lambda L: L.np.astype(L.np.array([1e5, -1e5]), L.np.float16)),
    ("shape", "np.shape", lambda L: L.np.shape(L.np.zeros((2, 3)))),
    ("ndim", "np.ndim", lambda L: L.np.ndim(L.np.zeros((2, 3)))),
    ("size", "np.size", lambda L: (L.np.size(L.np.zeros((2, 3))), L.np.size(L.np.zeros((2, 3)), 1))),
    ("result_type", "np.result_type", lambda L: str(L.np.result_type(L.np.int8, L.np.float16))),
    ("result_type-weak", "np.result_type", lambda L: str(L.np.result_type(L.np.int8, 2.0))),
    ("result_type-u-i", "np.result_type", lambda L: str(L.np.result_type(L.np.uint8, L.np.int8))),
    ("promote_types", "np.promote_types", lambda L: str(L.np.promote_types(L.np.int32, L.np.float16))),
    ("promote_types-u32-i32", "np.promote_types", lambda L: str(L.np.promote_types(L.np.uint32, L.np.int32))),
    ("promote_types-bf16-f16", "np.promote_types", lambda L: str(L.np.promote_types(L.np.bfloat16, L.np.float16))),
    ("finfo", "np.finfo", lambda L: (float(L.np.finfo(L.np.float16).eps), float(L.np.finfo(L.np.bfloat16).max))),
    ("iinfo", "np.iinfo", lambda L: (int(L.np.iinfo(L.np.int8).min), int(L.np.iinfo(L.np.uint16).max))),
    ("issubdtype", "np.issubdtype", lambda L: (L.np.issubdtype(L.np.float16, L.np.floating),
                                               L.np.issubdtype(L.np.int8, L.np.inexact))),
    # the abstract dtype classes, every pair of (concrete dtype, class), bfloat16 included
    ("issubdtype-classes", tuple("np." + c for c in _DTYPE_CLASSES),
     lambda L: [[L.np.issubdtype(t, getattr(L.np, c)) for c in _DTYPE_CLASSES]
                for t in (L.np.bool_, L.np.int8, L.np.uint16, L.np.int32, L.np.float16,
                          L.np.bfloat16, L.np.float32, L.np.complex64)]),
    ("iscomplexobj", "np.iscomplexobj", lambda L: L.np.iscomplexobj(L.np.zeros(2))),
    ("dtype", "np.dtype", lambda L: str(L.np.dtype("float32"))),
    ("scalar-types", ("np.float32", "np.int8", "np.uint8", "np.int16", "np.int32", "np.int64",
                      "np.uint16", "np.uint32", "np.uint64", "np.float16", "np.float64",
                      "np.bfloat16", "np.bool_", "np.complex64", "np.complex128"),
     lambda L: [L.np.array(1, dtype=t) for t in (L.np.float32, L.np.int8, L.np.uint8, L.np.int16,
                                                   L.np.int32, L.np.uint16, L.np.uint32,
                                                   L.np.float16, L.np.bfloat16, L.np.bool_,
                                                   L.np.complex64)]),
    ("scalar-types-64", ("np.int64", "np.uint64", "np.float64", "np.complex128"),
     lambda L: [L.np.array(1, dtype=t) for t in (L.np.int64, L.np.uint64, L.np.float64,
                                                   L.np.complex128)]),
    ("ndarray", "np.ndarray", lambda L: isinstance(L.np.zeros(2), L.np.ndarray)),
    ("lexsort", "np.lexsort", lambda L: L.np.lexsort((L.np.array([1, 0, 1, 0]), L.np.array([2, 2, 1, 1])))),
    ("tri-int", "np.tri", lambda L: L.np.tri(2, dtype=L.np.int8)),
]
for _id, _cov, _p in CREATION:
    add(f"np.{_id}", _p, (), _cov)

# --- indexing -------------------------------------------------------------------------------------

_IDX = np.array([2, 0, -1, 1], I32)
_OOB = np.array([0, 5, -7, 3], I32)
INDEXING = [
    ("getitem-int", lambda L, x: x[1], (X34,)),
    ("getitem-neg", lambda L, x: x[-1, -2], (X34,)),
    ("getitem-slice", lambda L, x: x[1:, ::2], (X34,)),
    ("getitem-negstep", lambda L, x: x[::-1, 3:0:-2], (X34,)),
    ("getitem-ellipsis", lambda L, x: x[..., 1, None], (A234,)),
    ("getitem-none", lambda L, x: x[None, :, None, 0], (X34,)),
    ("getitem-array", lambda L, x, i: x[i], (X34, np.array([2, 0, -1], I32))),
    ("getitem-array2", lambda L, x, i: x[i, i[::-1]], (X34, np.array([2, 0, 1], I32))),
    ("getitem-array-slice", lambda L, x, i: x[1:, i], (X34, _IDX)),
    ("getitem-mixed-adv", lambda L, x, i: x[i, :, i], (A234, np.array([1, 0], I32))),
    ("getitem-oob-array", lambda L, x, i: x[:, i], (X34, _OOB)),
    ("getitem-oob-static", lambda L, x: x[5], (X34,)),
    ("getitem-oob-static-neg", lambda L, x: x[:, -9], (X34,)),
    ("getitem-oob-slice", lambda L, x: x[2:10, -10:2], (X34,)),
    ("getitem-bool", lambda L, x, m: x[m], (X34, B34)),
    ("getitem-bool-row", lambda L, x: x[np.array([True, False, True])], (X34,)),
    ("getitem-bool-scalar", lambda L, x: x[True], (X34,)),
    ("getitem-float-index", lambda L, x: x[1.0], (X34,)),
    ("getitem-tracer-scalar", lambda L, x, i: x[i], (X34, np.array(1, I32))),
    ("getitem-empty", lambda L, x: x[2:1], (X34,)),
    ("getitem-list", lambda L, x: x[[0, 2]], (X34,)),
    ("getitem-too-many", lambda L, x: x[0, 0, 0], (X34,)),
    ("getitem-uint8-idx", lambda L, x, i: x[i], (X34, np.array([2, 200], U8))),
    ("at-set", lambda L, x, v: x.at[1, 2].set(v), (X34, np.array(5.0, F32))),
    ("at-set-dup", lambda L, x, v: x.at[np.array([0, 0, 2])].set(v), (A3, np.array([1.0, 2.0, 3.0], F32))),
    ("at-add-dup", lambda L, x, v: x.at[np.array([0, 0, 2])].add(v), (A3, np.array([1.0, 2.0, 3.0], F32))),
    ("at-mul", lambda L, x, v: x.at[:, 1].multiply(v), (X34, Y3)),
    ("at-min", lambda L, x, v: x.at[np.array([0, 0, 1])].min(v), (A3, np.array([-1.0, 5.0, 0.0], F32))),
    ("at-max", lambda L, x, v: x.at[np.array([0, 0, 1])].max(v), (A3, np.array([-1.0, 5.0, 0.0], F32))),
    ("at-get-oob", lambda L, x: x.at[np.array([0, 9])].get(mode="fill", fill_value=-1.0), (A3,)),
    ("at-set-oob", lambda L, x, v: x.at[np.array([5, -9, 1])].set(v), (A3, np.array([1.0, 2.0, 3.0], F32))),
    ("at-set-slice", lambda L, x, v: x.at[1:, ::2].set(v), (X34, np.array(0.5, F32))),
    ("at-set-bool", lambda L, x: x.at[x > 0].set(0.0), (X34,)),
    ("at-set-int-float", lambda L, x: x.at[0].set(2.7), (I34,)),
    ("at-add-weak", lambda L, x: x.at[0].add(1), (_f(X34, F16),)),
    ("at-divide", lambda L, x, v: x.at[1].divide(v), (X34, POS23[0, :1].repeat(4))),
    ("at-power", lambda L, x: x.at[1].power(2.0), (X34,)),
    ("take", lambda L, x, i: L.np.take(x, i), (X34, _IDX)),
    ("take-axis", lambda L, x, i: L.np.take(x, i, axis=1), (X34, _IDX)),
    ("take-oob", lambda L, x, i: L.np.take(x, i, axis=1), (X34, _OOB)),
    ("take-fill", lambda L, x, i: L.np.take(x, i, axis=1, mode="fill", fill_value=-2.0), (X34, _OOB)),
    ("take-clip", lambda L, x, i: L.np.take(x, i, axis=0, mode="clip"), (X34, _OOB)),
    ("take-wrap", lambda L, x, i: L.np.take(x, i, axis=0, mode="wrap"), (X34, _OOB)),
    ("take-int-oob", lambda L, x, i: L.np.take(x, i), (I34, _OOB * 3)),
    ("take_along_axis", lambda L, x, i: L.np.take_along_axis(x, i, axis=1),
     (X34, np.argsort(X34, axis=1).astype(I32))),
    ("take_along_axis-none", lambda L, x, i: L.np.take_along_axis(x, i, axis=None), (X34, _IDX)),
    ("take_along_axis-oob", lambda L, x, i: L.np.take_along_axis(x, i, axis=0),
     (X34, np.array([[0, 5, -1, 2]], I32))),
]
_IDX_COVERS = {"take": "np.take", "take_along_axis": "np.take_along_axis"}
for _id, _p, _a in INDEXING:
    _cov = _IDX_COVERS.get(_id.split("-")[0], "np.ndarray")
    add(f"idx.{_id}", _p, _a, _cov, diff=_float_args(_a), jit="-" not in _id)

# --- sorting --------------------------------------------------------------------------------------

SORT_IN = np.array([[3.0, -0.0, 0.0, np.nan, -np.inf, 1.0, 3.0, np.inf, -1.0]], F32)
SORTING = [
    ("sort", "np.sort", lambda L, x: L.np.sort(x, axis=0), (X34,)),
    ("sort-special", "np.sort", lambda L, x: L.np.sort(x), (SORT_IN,)),
    ("sort-none", "np.sort", lambda L, x: L.np.sort(x, axis=None), (TIES34,)),
    ("sort-desc", "np.sort", lambda L, x: L.np.sort(x, descending=True), (TIES34,)),
    ("sort-int", "np.sort", lambda L, x: L.np.sort(x), (I34,)),
    ("sort-bool", "np.sort", lambda L, x: L.np.sort(x), (B34,)),
    ("argsort", "np.argsort", lambda L, x: L.np.argsort(x), (TIES34,)),
    ("argsort-special", "np.argsort", lambda L, x: L.np.argsort(x), (SORT_IN,)),
    ("argsort-desc", "np.argsort", lambda L, x: L.np.argsort(x, descending=True), (TIES34,)),
    ("argsort-axis0", "np.argsort", lambda L, x: L.np.argsort(x, axis=0), (TIES34,)),
    ("argsort-none", "np.argsort", lambda L, x: L.np.argsort(x, axis=None), (TIES34,)),
    ("lexsort", "np.lexsort", lambda L, a, b: L.np.lexsort((a, b)), (I34[0], I34[2])),
    ("lexsort-2d", "np.lexsort", lambda L, a: L.np.lexsort(a), (I34,)),
    ("median-special", "np.median", lambda L, x: L.np.median(x), (SORT_IN,)),
    ("argmax-special", "np.argmax", lambda L, x: (L.np.argmax(x), L.np.argmin(x)), (SORT_IN,)),
    ("argmax-keepdims", "np.argmax", lambda L, x: L.np.argmax(x, axis=1, keepdims=True), (X34,)),
    ("argmin-negzero", "np.argmin", lambda L, x: L.np.argmin(x), (np.array([0.0, -0.0, 0.0], F32),)),
    ("max-nan-inf", "np.max", lambda L, x: (L.np.max(x), L.np.min(x)), (SORT_IN,)),
    ("nanmax-allnan", "np.nanmax", lambda L, x: L.np.nanmax(x, axis=0),
     (np.array([[np.nan, 1.0], [np.nan, 2.0]], F32),)),
    ("maximum-negzero", "np.maximum", lambda L, x, y: (L.np.maximum(x, y), L.np.minimum(x, y)),
     (np.array([0.0, -0.0], F32), np.array([-0.0, 0.0], F32))),
]
for _id, _cov, _p, _a in SORTING:
    add(f"sort.{_id}", _p, _a, _cov, diff=_float_args(_a), jit="-" not in _id)

# --- linalg ---------------------------------------------------------------------------------------

LINALG = [
    ("norm", "np.linalg.norm", lambda L, x: L.np.linalg.norm(x), (X34,)),
    ("norm-axis", "np.linalg.norm", lambda L, x: L.np.linalg.norm(x, axis=1), (X34,)),
    ("norm-zero", "np.linalg.norm", lambda L, x: L.np.linalg.norm(x), (np.zeros(3, F32),)),
    ("norm-ord1", "np.linalg.norm", lambda L, x: L.np.linalg.norm(x, ord=1, axis=0), (X34,)),
    ("norm-inf", "np.linalg.norm", lambda L, x: L.np.linalg.norm(x, ord=np.inf, axis=1), (X34,)),
    ("norm-fro", "np.linalg.norm", lambda L, x: L.np.linalg.norm(x, ord="fro"), (X34,)),
    ("norm-mat1", "np.linalg.norm", lambda L, x: L.np.linalg.norm(x, ord=1), (X34,)),
    ("norm-keepdims", "np.linalg.norm", lambda L, x: L.np.linalg.norm(x, axis=0, keepdims=True), (X34,)),
    ("vector_norm", "np.linalg.vector_norm", lambda L, x: L.np.linalg.vector_norm(x, ord=3), (X34,)),
    ("matrix_norm", "np.linalg.matrix_norm", lambda L, x: L.np.linalg.matrix_norm(x), (A234,)),
    ("linalg.vecdot", "np.linalg.vecdot", lambda L, x, y: L.np.linalg.vecdot(x, y), (X34, X34)),
    ("linalg.outer", "np.linalg.outer", lambda L, x, y: L.np.linalg.outer(x, y), (A3, A4)),
    ("linalg.cross", "np.linalg.cross", lambda L, x, y: L.np.linalg.cross(x, y), (X23, Y23)),
    ("linalg.matmul", "np.linalg.matmul", lambda L, x, y: L.np.linalg.matmul(x, y), (X34.T.copy(), X34)),
    ("linalg.tensordot", "np.linalg.tensordot", lambda L, x, y: L.np.linalg.tensordot(x, y, axes=1),
     (X34.T.copy(), X34)),
    ("linalg.matrix_transpose", "np.linalg.matrix_transpose",
     lambda L, x: L.np.linalg.matrix_transpose(x), (A234,)),
]
for _id, _cov, _p, _a in LINALG:
    add(f"linalg.{_id}", _p, _a, _cov, diff=_float_args(_a), hess=True, jit=True)

# --- lax ------------------------------------------------------------------------------------------

LAX_UNARY = {
    "abs": MID, "acos": MID, "acosh": BIG, "asin": MID, "asinh": MID, "atan": MID, "atanh": MID,
    "cbrt": MID, "ceil": MID, "cos": MID, "cosh": MID, "digamma": BIG, "erf": MID, "erfc": MID, "erf_inv": MID,
    "exp": MID, "exp2": MID, "expm1": MID, "floor": MID, "is_finite": MID, "lgamma": BIG,
    "log": BIG, "log1p": MID, "logistic": MID, "neg": MID, "round": MID, "rsqrt": BIG,
    "sign": MID, "sin": MID, "sinh": MID, "sqrt": BIG, "tan": MID, "tanh": MID, "real": MID,
    "conj": MID,
}
LAX_UNARY_NOT_DIFF = {"ceil", "floor", "is_finite", "round", "sign", "real", "conj"}
LAX_VARIANTS = [("f16", lambda x: (_f(x, F16),)), ("int", lambda x: (np.array([0, 1, -1, 3], I32),)),
                ("pyscalar", lambda x: (0.5,))]
for _n, _x in LAX_UNARY.items():
    _d = () if _n in LAX_UNARY_NOT_DIFF else (0,)
    _p = lambda L, x, _n=_n: getattr(L.lax, _n)(x)  # noqa: E731
    add(f"lax.{_n}-f32", _p, (_x,), f"lax.{_n}", diff=_d, hess=bool(_d), jit=True)
    add(f"lax.{_n}-special", _p, (SPECIAL,), f"lax.{_n}", diff=_d)
    for _tag, _a in _rotate(list(LAX_UNARY).index(_n), LAX_VARIANTS, 1):
        add(f"lax.{_n}-{_tag}", _p, _a(_x), f"lax.{_n}")
add("lax.bitwise_not", lambda L, x: L.lax.bitwise_not(x), (INTS,), "lax.bitwise_not", jit=True)
add("lax.bitwise_not-bool", lambda L, x: L.lax.bitwise_not(x), (BOOLS,), "lax.bitwise_not")
add("lax.round-even", lambda L, x: L.lax.round(x, L.lax.RoundingMethod.TO_NEAREST_EVEN)
    if hasattr(L.lax, "RoundingMethod") else L.lax.round(x, 1),
    (np.array([0.5, 1.5, 2.5, -0.5], F32),), "lax.round")
add("lax.round-away", lambda L, x: L.lax.round(x, 0), (np.array([0.5, 1.5, 2.5, -0.5], F32),),
    "lax.round")
add("lax.abs-intmin", lambda L, x: (L.lax.abs(x), L.lax.neg(x), L.lax.sign(x)), (INTS,),
    ("lax.abs", "lax.neg", "lax.sign"))
add("lax.imag-complex", lambda L, x: (L.lax.imag(L.lax.complex(x, x * 2)), L.lax.real(L.lax.complex(x, x))),
    (X23,), ("lax.imag", "lax.real", "lax.complex"))
add("lax.conj-complex", lambda L, x: L.lax.conj(L.lax.complex(x, -x)), (X23,), ("lax.conj", "lax.complex"))

LAX_BINARY = ["add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "nextafter", "eq",
              "ne", "lt", "le", "gt", "ge", "complex"]
LAX_BIN_NOT_DIFF = {"nextafter", "eq", "ne", "lt", "le", "gt", "ge", "complex"}
for _n in LAX_BINARY:
    _d = () if _n in LAX_BIN_NOT_DIFF else (0, 1)
    _p = lambda L, x, y, _n=_n: getattr(L.lax, _n)(x, y)  # noqa: E731
    _a = POS23 if _n == "pow" else X23
    add(f"lax.{_n}-f32", _p, (_a, Y23), f"lax.{_n}", diff=_d, hess=bool(_d), jit=True)
    add(f"lax.{_n}-specialpairs", _p, (PAIR_A, PAIR_B), f"lax.{_n}", diff=_d)
    for _tag, _b in _rotate(LAX_BINARY.index(_n), [("pyscalar", 2.0), ("mixed-dtypes", np.ones((2, 3), I32)),
                                                   ("bcast-shapes", Y3)], 1):
        add(f"lax.{_n}-{_tag}", _p, (_a, _b), f"lax.{_n}")
    if _n not in ("atan2", "nextafter", "complex", "pow"):
        add(f"lax.{_n}-int", _p, (IPAIR_A, IPAIR_B), f"lax.{_n}", jit=True)
for _n in ["bitwise_and", "bitwise_or", "bitwise_xor", "shift_left", "shift_right_arithmetic",
           "shift_right_logical"]:
    _p = lambda L, x, y, _n=_n: getattr(L.lax, _n)(x, y)  # noqa: E731
    add(f"lax.{_n}-int", _p, (IPAIR_A, IPAIR_B), f"lax.{_n}", jit=True)
    add(f"lax.{_n}-uint8", _p, (UINT8, UINT8[::-1].copy()), f"lax.{_n}")
    add(f"lax.{_n}-mixed", _p, (INTS, INTS.astype(I8)), f"lax.{_n}")
add("lax.pow-int-exponent", lambda L, x, y: L.lax.pow(x, y), (X23, np.array([[1, 2, 3]], I32).repeat(2, 0)),
    "lax.pow")
add("lax.polygamma", lambda L, x: L.lax.polygamma(1.0, x), (BIG,), "lax.polygamma", diff=(0,))
add("lax.polygamma-m", lambda L, m, x: L.lax.polygamma(m, x), (np.array([0.0, 1.0, 2.0], F32), BIG[0]),
    "lax.polygamma")
add("lax.integer_pow", lambda L, x: (L.lax.integer_pow(x, 3), L.lax.integer_pow(x, -2),
                                     L.lax.integer_pow(x, 0)), (X23,), "lax.integer_pow",
    diff=(0,), hess=True, jit=True)
add("lax.integer_pow-special", lambda L, x: (L.lax.integer_pow(x, 2), L.lax.integer_pow(x, -1)),
    (SPECIAL,), "lax.integer_pow", diff=(0,))
add("lax.integer_pow-int", lambda L, x: L.lax.integer_pow(x, 3), (INTS,), "lax.integer_pow")
add("lax.clamp", lambda L, x: L.lax.clamp(-0.5, x, 0.5), (X23,), "lax.clamp", diff=(0,), jit=True)
add("lax.clamp-ties", lambda L, lo, x, hi: L.lax.clamp(lo, x, hi), (np.zeros_like(SPECIAL), SPECIAL, SPECIAL),
    "lax.clamp", diff=(0, 1, 2))
add("lax.clamp-int", lambda L, x: L.lax.clamp(0, x, 5), (INTS,), "lax.clamp")
add("lax.select_n", lambda L, c, x, y: L.lax.select_n(c, x, y), (B34, X34, TIES34), "lax.select_n",
    diff=(1, 2), jit=True)
add("lax.select_n-int", lambda L, c, x, y, z: L.lax.select_n(c, x, y, z),
    (np.array([0, 2, 1], I32), A3, A3 * 2, A3 * 3), "lax.select_n", diff=(1, 2, 3))
add("lax.select_n-scalar", lambda L, x, y: L.lax.select_n(True, x, y), (A3, A3 * 2), "lax.select_n")
add("lax.convert_element_type", lambda L, x: (L.lax.convert_element_type(x, L.np.int32),
                                              L.lax.convert_element_type(x, L.np.float16),
                                              L.lax.convert_element_type(x, L.np.uint8),
                                              L.lax.convert_element_type(x, L.np.bool_)),
    (SPECIAL,), "lax.convert_element_type", jit=True)
add("lax.convert_element_type-grad", lambda L, x: L.lax.convert_element_type(x, L.np.float16), (X23,),
    "lax.convert_element_type", diff=(0,))
add("lax.convert_element_type-weak", lambda L, x: L.lax.convert_element_type(x, L.np.float32), (2,),
    "lax.convert_element_type")
add("lax.bitcast_convert_type", lambda L, x: (L.lax.bitcast_convert_type(x, L.np.int32),
                                              L.lax.bitcast_convert_type(x, L.np.uint8)),
    (SPECIAL,), "lax.bitcast_convert_type", jit=True)
add("lax.bitcast_convert_type-f16", lambda L, x: L.lax.bitcast_convert_type(x, L.np.int16),
    (_f(SPECIAL, F16),), "lax.bitcast_convert_type")

LAX_SHAPE = [
    ("broadcast", "lax.broadcast", lambda L, x: L.lax.broadcast(x, (2,)), (X23,)),
    ("broadcast_in_dim", "lax.broadcast_in_dim", lambda L, x: L.lax.broadcast_in_dim(x, (2, 4, 3), (0, 2)), (X23,)),
    ("broadcast_in_dim-bad", "lax.broadcast_in_dim", lambda L, x: L.lax.broadcast_in_dim(x, (2, 4), (0, 1)), (X23,)),
    ("broadcasted_iota", "lax.broadcasted_iota", lambda L: L.lax.broadcasted_iota(L.np.int32, (2, 3), 1), ()),
    ("broadcasted_iota-f", "lax.broadcasted_iota", lambda L: L.lax.broadcasted_iota(L.np.float16, (3, 2), 0), ()),
    ("iota", "lax.iota", lambda L: L.lax.iota(L.np.float32, 4), ()),
    ("iota-int8", "lax.iota", lambda L: L.lax.iota(L.np.int8, 3), ()),
    ("concatenate", "lax.concatenate", lambda L, x, y: L.lax.concatenate([x, y], 1), (X23, Y23)),
    ("concatenate-dtypes", "lax.concatenate", lambda L, x: L.lax.concatenate([x, x.astype(L.np.int32)], 0), (X23,)),
    ("reshape", "lax.reshape", lambda L, x: L.lax.reshape(x, (3, 2)), (X23,)),
    ("reshape-dims", "lax.reshape", lambda L, x: L.lax.reshape(x, (3, 2), dimensions=(1, 0)), (X23,)),
    ("reshape-bad", "lax.reshape", lambda L, x: L.lax.reshape(x, (4, 2)), (X23,)),
    ("squeeze", "lax.squeeze", lambda L, x: L.lax.squeeze(x[None], (0,)), (X23,)),
    ("squeeze-bad", "lax.squeeze", lambda L, x: L.lax.squeeze(x, (0,)), (X23,)),
    ("expand_dims", "lax.expand_dims", lambda L, x: L.lax.expand_dims(x, (0, 3)), (X23,)),
    ("transpose", "lax.transpose", lambda L, x: L.lax.transpose(x, (2, 0, 1)), (A234,)),
    ("transpose-bad", "lax.transpose", lambda L, x: L.lax.transpose(x, (0, 0, 1)), (A234,)),
    ("rev", "lax.rev", lambda L, x: L.lax.rev(x, (0, 2)), (A234,)),
    ("pad", "lax.pad", lambda L, x: L.lax.pad(x, -1.0, ((1, 2, 0), (0, 1, 1))), (X23,)),
    ("pad-neg", "lax.pad", lambda L, x: L.lax.pad(x, 0.0, ((-1, 1, 0), (1, -2, 1))), (X23,)),
    ("pad-dtype", "lax.pad", lambda L, x: L.lax.pad(x, L.np.int32(0), ((1, 1, 0), (0, 0, 0))), (X23,)),
    ("slice", "lax.slice", lambda L, x: L.lax.slice(x, (0, 1), (2, 3)), (X23,)),
    ("slice-strides", "lax.slice", lambda L, x: L.lax.slice(x, (0, 0, 1), (2, 3, 4), (1, 2, 2)), (A234,)),
    ("slice-oob", "lax.slice", lambda L, x: L.lax.slice(x, (0, 1), (3, 3)), (X23,)),
    ("slice_in_dim", "lax.slice_in_dim", lambda L, x: L.lax.slice_in_dim(x, 1, 4, 2, axis=2), (A234,)),
    ("slice_in_dim-neg", "lax.slice_in_dim", lambda L, x: L.lax.slice_in_dim(x, -2, None, axis=1), (A234,)),
    ("index_in_dim", "lax.index_in_dim", lambda L, x: L.lax.index_in_dim(x, -1, 1, keepdims=False), (A234,)),
    ("dynamic_slice", "lax.dynamic_slice", lambda L, x, i: L.lax.dynamic_slice(x, (i, 1), (2, 2)),
     (X34, np.array(1, I32))),
    ("dynamic_slice-clamp", "lax.dynamic_slice", lambda L, x, i: L.lax.dynamic_slice(x, (i, i), (2, 2)),
     (X34, np.array(7, I32))),
    ("dynamic_slice-neg", "lax.dynamic_slice", lambda L, x, i: L.lax.dynamic_slice(x, (i, 0), (2, 2)),
     (X34, np.array(-1, I32))),
    ("dynamic_slice-toolarge", "lax.dynamic_slice", lambda L, x: L.lax.dynamic_slice(x, (0, 0), (4, 2)), (X34,)),
    ("dynamic_slice_in_dim", "lax.dynamic_slice_in_dim",
     lambda L, x, i: L.lax.dynamic_slice_in_dim(x, i, 2, axis=1), (X34, np.array(3, I32))),
    ("dynamic_index_in_dim", "lax.dynamic_index_in_dim",
     lambda L, x, i: L.lax.dynamic_index_in_dim(x, i, axis=1, keepdims=False), (X34, np.array(-2, I32))),
    ("dynamic_update_slice", "lax.dynamic_update_slice",
     lambda L, x, u, i: L.lax.dynamic_update_slice(x, u, (i, 1)), (X34, Y23, np.array(2, I32))),
    ("dynamic_update_slice-neg", "lax.dynamic_update_slice",
     lambda L, x, u, i: L.lax.dynamic_update_slice(x, u, (i, i)), (X34, Y23, np.array(-1, I32))),
    ("dynamic_update_slice-dtype", "lax.dynamic_update_slice",
     lambda L, x, u: L.lax.dynamic_update_slice(x, u, (0, 0)), (X34, np.ones((1, 1), I32))),
    ("dynamic_update_slice_in_dim", "lax.dynamic_update_slice_in_dim",
     lambda L, x, u, i: L.lax.dynamic_update_slice_in_dim(x, u, i, axis=0), (X34, X34[:1].copy(), np.array(5, I32))),
    ("dynamic_update_index_in_dim", "lax.dynamic_update_index_in_dim",
     lambda L, x, u: L.lax.dynamic_update_index_in_dim(x, u, 1, axis=1), (X34, Y3)),
    ("reduce_sum", "lax.reduce_sum", lambda L, x: L.lax.reduce_sum(x, (0, 2)), (A234,)),
    ("reduce_max", "lax.reduce_max", lambda L, x: L.lax.reduce_max(x, (1,)), (TIES34,)),
    ("reduce_min", "lax.reduce_min", lambda L, x: L.lax.reduce_min(x, (0,)), (TIES34,)),
    ("reduce_prod", "lax.reduce_prod", lambda L, x: L.lax.reduce_prod(x, (1,)), (TIES34 - 2,)),
    ("reduce_and", "lax.reduce_and", lambda L, x: L.lax.reduce_and(x, (1,)), (B34,)),
    ("reduce_or", "lax.reduce_or", lambda L, x: L.lax.reduce_or(x, (0,)), (B34,)),
    ("reduce_and-int", "lax.reduce_and", lambda L, x: L.lax.reduce_and(x, (1,)), (I34,)),
    ("reduce_max-int", "lax.reduce_max", lambda L, x: L.lax.reduce_max(x, (0,)), (I34,)),
    ("reduce_max-empty", "lax.reduce_max", lambda L, x: L.lax.reduce_max(x, (0,)), (EMPTY03,)),
    ("argmax", "lax.argmax", lambda L, x: L.lax.argmax(x, 1, L.np.int32), (TIES34,)),
    ("argmin", "lax.argmin", lambda L, x: L.lax.argmin(x, 0, L.np.int32), (NAN34,)),
    ("argmax-nan", "lax.argmax", lambda L, x: L.lax.argmax(x, 0, L.np.int32), (NAN34,)),
    ("cumsum", "lax.cumsum", lambda L, x: L.lax.cumsum(x, axis=1, reverse=True), (X34,)),
    ("cumprod", "lax.cumprod", lambda L, x: L.lax.cumprod(x, axis=0), (X34,)),
    ("cummax", "lax.cummax", lambda L, x: L.lax.cummax(x, axis=1), (TIES34,)),
    ("cummin", "lax.cummin", lambda L, x: L.lax.cummin(x, axis=1, reverse=True), (TIES34,)),
    ("cummax-nan", "lax.cummax", lambda L, x: L.lax.cummax(x, axis=1), (NAN34,)),
    ("sort", "lax.sort", lambda L, x: L.lax.sort(x, dimension=0), (TIES34,)),
    ("sort-special", "lax.sort", lambda L, x: L.lax.sort(x), (SORT_IN,)),
    ("sort-multi", "lax.sort", lambda L, x, y: L.lax.sort((x, y), num_keys=1), (TIES34, X34)),
    ("sort_key_val", "lax.sort_key_val", lambda L, k, v: L.lax.sort_key_val(k, v), (TIES34, X34)),
    ("top_k", "lax.top_k", lambda L, x: L.lax.top_k(x, 2), (TIES34,)),
    ("top_k-special", "lax.top_k", lambda L, x: L.lax.top_k(x, 4), (SORT_IN,)),
    ("top_k-toolarge", "lax.top_k", lambda L, x: L.lax.top_k(x, 5), (TIES34,)),
    ("dot", "lax.dot", lambda L, x, y: L.lax.dot(x, y), (X34.T.copy(), X34)),
    ("dot-vec", "lax.dot", lambda L, x, y: L.lax.dot(x, y), (A4, A4)),
    ("dot-pref", "lax.dot", lambda L, x, y: L.lax.dot(x, y, preferred_element_type=L.np.float32),
     (_f(X34.T, F16), _f(X34, F16))),
    ("dot-int-pref", "lax.dot", lambda L, x, y: L.lax.dot(x, y, preferred_element_type=L.np.int32),
     (I34.T.astype(I8), I34.astype(I8))),
    ("dot_general", "lax.dot_general",
     lambda L, x, y: L.lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))), (A234, A234.transpose(0, 2, 1).copy())),
    ("dot_general-outer", "lax.dot_general", lambda L, x, y: L.lax.dot_general(x, y, (((), ()), ((), ()))),
     (A3, A4)),
    ("dot_general-bad", "lax.dot_general", lambda L, x, y: L.lax.dot_general(x, y, (((1,), (1,)), ((), ()))),
     (X23, X34)),
    ("stop_gradient", "lax.stop_gradient", lambda L, x: x * L.lax.stop_gradient(x), (X23,)),
    ("select-via-where", "np.where", lambda L, x: L.np.where(x > 0, x, L.lax.stop_gradient(x) * 2), (X23,)),
]
for _id, _cov, _p, _a in LAX_SHAPE:
    add(f"lax.{_id}", _p, _a, _cov, diff=_float_args(_a), jit="-" not in _id)

# gather / scatter: the dimension-number objects come from each library
def _gather_rows(L, x, i, mode=None):
    dn = L.lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
    return L.lax.gather(x, i[:, None], dn, (1, 4), mode=mode)


def _scatter(kind, mode=None):
    def prog(L, x, i, u):
        dn = L.lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                           scatter_dims_to_operand_dims=(0,))
        return getattr(L.lax, kind)(x, i[:, None], u, dn, mode=mode)
    return prog


_GI = np.array([2, 0, 2], I32)
_GOOB = np.array([2, 5, -1], I32)
add("lax.gather", _gather_rows, (X34, _GI), ("lax.gather", "lax.GatherDimensionNumbers"), diff=(0,), jit=True)
add("lax.gather-oob-clip", lambda L, x, i: _gather_rows(L, x, i, "clip"), (X34, _GOOB), "lax.gather", diff=(0,))
add("lax.gather-oob-fill", lambda L, x, i: _gather_rows(L, x, i, "fill"), (X34, _GOOB), "lax.gather",
    diff=(0,), jit=True)
add("lax.gather-oob-default", lambda L, x, i: _gather_rows(L, x, i), (X34, _GOOB), "lax.gather", diff=(0,))
for _k in ["scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max"]:
    add(f"lax.{_k}", _scatter(_k), (X34, _GI, TIES34), (f"lax.{_k}", "lax.ScatterDimensionNumbers"),
        diff=(0, 2), jit=True)
    add(f"lax.{_k}-oob", _scatter(_k), (X34, _GOOB, TIES34), f"lax.{_k}", diff=(0, 2))
    add(f"lax.{_k}-oob-clip", _scatter(_k, "clip"), (X34, _GOOB, TIES34), f"lax.{_k}")
    add(f"lax.{_k}-int", _scatter(_k), (I34, _GI, I34[::-1].copy()), f"lax.{_k}")

# convolutions and windows
_IMG = _rng.normal(size=(1, 2, 5, 5)).astype(F32)
_KER = _rng.normal(size=(3, 2, 3, 3)).astype(F32)
_IMG1 = _rng.normal(size=(2, 1, 6)).astype(F32)
_KER1 = _rng.normal(size=(2, 1, 3)).astype(F32)
CONV = [
    ("conv", "lax.conv", lambda L, x, k: L.lax.conv(x, k, (1, 1), "SAME"), (_IMG, _KER)),
    ("conv-valid-stride", "lax.conv", lambda L, x, k: L.lax.conv(x, k, (2, 1), "VALID"), (_IMG, _KER)),
    ("conv_general_dilated", "lax.conv_general_dilated",
     lambda L, x, k: L.lax.conv_general_dilated(x, k, (1, 2), ((1, 0), (2, 1)), lhs_dilation=(1, 2),
                                                rhs_dilation=(2, 1)), (_IMG, _KER)),
    ("conv_general_dilated-nhwc", ("lax.conv_general_dilated", "lax.conv_dimension_numbers"),
     lambda L, x, k: L.lax.conv_general_dilated(
         x, k, (1, 1), "SAME", dimension_numbers=L.lax.conv_dimension_numbers(
             x.shape, k.shape, ("NHWC", "HWIO", "NHWC"))),
     (_IMG.transpose(0, 2, 3, 1).copy(), _KER.transpose(2, 3, 1, 0).copy())),
    ("conv_general_dilated-groups", "lax.conv_general_dilated",
     lambda L, x, k: L.lax.conv_general_dilated(x, k, (1,), "VALID", feature_group_count=2),
     (_rng.normal(size=(1, 2, 6)).astype(F32), _KER1)),
    ("conv-1d", "lax.conv_general_dilated", lambda L, x, k: L.lax.conv_general_dilated(x, k, (1,), "SAME"),
     (_IMG1, _KER1)),
    ("conv_with_general_padding", "lax.conv_with_general_padding",
     lambda L, x, k: L.lax.conv_with_general_padding(x, k, (1, 1), ((0, 1), (1, 0)), (1, 1), (1, 1)), (_IMG, _KER)),
    ("conv_transpose", "lax.conv_transpose",
     lambda L, x, k: L.lax.conv_transpose(x, k, (2, 2), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW")),
     (_IMG, _KER.transpose(1, 0, 2, 3).copy())),
    ("conv-bad", "lax.conv", lambda L, x, k: L.lax.conv(x, k, (1, 1), "SAME"), (_IMG, _KER[:, :1])),
    ("padtype_to_pads", "lax.padtype_to_pads", lambda L: L.lax.padtype_to_pads((5, 6), (3, 2), (2, 1), "SAME"), ()),
    ("ConvDimensionNumbers", "lax.ConvDimensionNumbers",
     lambda L, x, k: L.lax.conv_general_dilated(x, k, (1,), "VALID", dimension_numbers=L.lax.ConvDimensionNumbers(
         (0, 1, 2), (0, 1, 2), (0, 1, 2))), (_IMG1, _KER1)),
    ("reduce_window-max", "lax.reduce_window",
     lambda L, x: L.lax.reduce_window(x, -L.np.inf, L.lax.max, (1, 1, 2, 2), (1, 1, 2, 1), "VALID"), (_IMG,)),
    ("reduce_window-add", "lax.reduce_window",
     lambda L, x: L.lax.reduce_window(x, 0.0, L.lax.add, (1, 1, 3, 3), (1, 1, 1, 1), "SAME"), (_IMG,)),
    ("reduce_window-ties", "lax.reduce_window",
     lambda L, x: L.lax.reduce_window(x, -L.np.inf, L.lax.max, (1, 2), (1, 1), "VALID"), (TIES34,)),
    ("reduce_window-pad", "lax.reduce_window",
     lambda L, x: L.lax.reduce_window(x, 0.0, L.lax.add, (2, 2), (1, 1), ((1, 0), (0, 1)),
                                      window_dilation=(1, 2)), (X34,)),
]
for _id, _cov, _p, _a in CONV:
    add(f"lax.{_id}", _p, _a, _cov, diff=_float_args(_a), jit="-" not in _id)

# control flow
def _scan_body(L):
    def body(c, x):
        c = L.np.tanh(c * 0.9 + x)
        return c, c * 2
    return body


CONTROL = [
    ("scan", "lax.scan", lambda L, c, xs: L.lax.scan(_scan_body(L), c, xs), (A3, X34.T[:, :3].copy())),
    ("scan-reverse", "lax.scan", lambda L, c, xs: L.lax.scan(_scan_body(L), c, xs, reverse=True),
     (A3, X34.T[:, :3].copy())),
    ("scan-length", "lax.scan", lambda L, c: L.lax.scan(lambda c, _: (c * 1.5, c), c, None, length=3), (A3,)),
    ("scan-pytree", "lax.scan",
     lambda L, c, xs: L.lax.scan(lambda c, x: ((c[0] + x, c[1] * x[0]), {"s": L.np.sum(x)}), (c, c[0]), xs),
     (A3, X34.T[:, :3].copy())),
    ("scan-empty", "lax.scan", lambda L, c, xs: L.lax.scan(_scan_body(L), c, xs), (A3, np.zeros((0, 3), F32))),
    ("scan-carry-mismatch", "lax.scan",
     lambda L, c, xs: L.lax.scan(lambda c, x: (c[:2], x), c, xs), (A3, X34.T[:, :3].copy())),
    ("scan-weak-carry", "lax.scan", lambda L, xs: L.lax.scan(lambda c, x: (c + x, c), 0.0, xs), (A3,)),
    ("scan-int-carry", "lax.scan", lambda L, xs: L.lax.scan(lambda c, x: (c + 1, x * c), 0, xs), (A3,)),
    ("fori_loop", "lax.fori_loop", lambda L, x: L.lax.fori_loop(0, 4, lambda i, c: c * 0.5 + L.np.sin(c) * i, x), (X23,)),
    ("fori_loop-empty", "lax.fori_loop", lambda L, x: L.lax.fori_loop(3, 1, lambda i, c: c + i, x), (X23,)),
    ("fori_loop-weak", "lax.fori_loop", lambda L: L.lax.fori_loop(0, 3, lambda i, c: c + 1.5, 0.0), ()),
    ("fori_loop-traced-bounds", "lax.fori_loop",
     lambda L, n, x: L.lax.fori_loop(0, n, lambda i, c: c * 2.0, x), (np.array(3, I32), X23)),
    ("while_loop", "lax.while_loop",
     lambda L, x: L.lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 1.1), (0, x)), (X23,)),
    ("while_loop-bad-body", "lax.while_loop",
     lambda L, x: L.lax.while_loop(lambda c: c < 5, lambda c: c + 1.0, 0), ()),
    ("while_loop-weak", "lax.while_loop",
     lambda L: L.lax.while_loop(lambda c: c < 5.0, lambda c: c + 1.0, 0.0), ()),
    ("cond", "lax.cond", lambda L, p, x: L.lax.cond(p, lambda v: L.np.sin(v), lambda v: v * 2.0, x),
     (np.array(True), X23)),
    ("cond-false", "lax.cond", lambda L, p, x: L.lax.cond(p, lambda v: L.np.sin(v), lambda v: v * 2.0, x),
     (np.array(False), X23)),
    ("cond-int-pred", "lax.cond", lambda L, p, x: L.lax.cond(p, lambda v: v, lambda v: -v, x),
     (np.array(3, I32), X23)),
    ("cond-mismatch", "lax.cond", lambda L, p, x: L.lax.cond(p, lambda v: v, lambda v: v[0], x),
     (np.array(True), X23)),
    ("cond-dtype-mismatch", "lax.cond", lambda L, p, x: L.lax.cond(p, lambda v: v, lambda v: v.astype(L.np.int32), x),
     (np.array(True), X23)),
    ("switch", "lax.switch", lambda L, i, x: L.lax.switch(i, [L.np.sin, L.np.cos, lambda v: v * 3.0], x),
     (np.array(1, I32), X23)),
    ("switch-clamp-hi", "lax.switch", lambda L, i, x: L.lax.switch(i, [L.np.sin, L.np.cos], x),
     (np.array(7, I32), X23)),
    ("switch-clamp-lo", "lax.switch", lambda L, i, x: L.lax.switch(i, [L.np.sin, L.np.cos], x),
     (np.array(-3, I32), X23)),
    ("map", "lax.map", lambda L, x: L.lax.map(lambda r: L.np.sum(r ** 2), x), (X34,)),
    ("map-pytree", "lax.map", lambda L, x: L.lax.map(lambda r: (r[0], r * 2), x), (X34,)),
]
for _id, _cov, _p, _a in CONTROL:
    add(f"lax.{_id}", _p, _a, _cov, diff=_float_args(_a), hess=_id in ("scan", "fori_loop", "cond"),
        jit=True)

# collectives, under vmap with a named axis (both libraries spell it the same)
_COLL = _rng.normal(size=(4, 3)).astype(F32)
COLLECTIVES = [
    ("psum", "lax.psum", lambda L, x: L.vmap(lambda v: L.lax.psum(v, "i"), axis_name="i")(x)),
    ("pmean", "lax.pmean", lambda L, x: L.vmap(lambda v: L.lax.pmean(v, "i"), axis_name="i")(x)),
    ("pmax", "lax.pmax", lambda L, x: L.vmap(lambda v: L.lax.pmax(v, "i"), axis_name="i")(x)),
    ("pmin", "lax.pmin", lambda L, x: L.vmap(lambda v: L.lax.pmin(v, "i"), axis_name="i")(x)),
    ("all_gather", "lax.all_gather", lambda L, x: L.vmap(lambda v: L.lax.all_gather(v, "i"), axis_name="i")(x)),
    ("all_gather-tiled", "lax.all_gather",
     lambda L, x: L.vmap(lambda v: L.lax.all_gather(v, "i", axis=0, tiled=True), axis_name="i")(x)),
    ("axis_index", "lax.axis_index", lambda L, x: L.vmap(lambda v: v * L.lax.axis_index("i"), axis_name="i")(x)),
    ("axis_size", "lax.axis_size", lambda L, x: L.vmap(lambda v: v * L.lax.axis_size("i"), axis_name="i")(x)),
    ("ppermute", "lax.ppermute",
     lambda L, x: L.vmap(lambda v: L.lax.ppermute(v, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]), axis_name="i")(x)),
    ("ppermute-partial", "lax.ppermute",
     lambda L, x: L.vmap(lambda v: L.lax.ppermute(v, "i", [(0, 2)]), axis_name="i")(x)),
    ("psum_scatter", "lax.psum_scatter",
     lambda L, x: L.vmap(lambda v: L.lax.psum_scatter(v, "i", tiled=True), axis_name="i")(
         L.np.concatenate([x, x], axis=1)[:, :4])),
    ("psum-unbound", "lax.psum", lambda L, x: L.vmap(lambda v: L.lax.psum(v, "j"), axis_name="i")(x)),
    ("psum-tuple", "lax.psum", lambda L, x: L.vmap(lambda v: L.lax.psum((v, v * 2), "i"), axis_name="i")(x)),
]
for _id, _cov, _p in COLLECTIVES:
    add(f"lax.{_id}", _p, (_COLL,), _cov, diff=(0,), jit=True)

# --- known-open items of issue 15 that have no table of their own --------------------------------

OPEN_ITEMS = [
    ("python-int-2**70", lambda L: L.np.asarray(2**70), ()),
    ("python-int-2**70-add", lambda L, x: x + 2**70, (I34,)),
    ("python-int-2**31-add", lambda L, x: x + 2**31, (I34,)),
    ("python-int-2**70-float", lambda L, x: x * 2**70, (X23,)),
    ("jit-static_argnums-oob", lambda L, x: L.jit(lambda a, n: a * n, static_argnums=5)(x, 2), (X23,)),
    ("jit-static_argnums-ok", lambda L, x: L.jit(lambda a, n: a * n, static_argnums=1)(x, 2), (X23,)),
    ("jit-static_argnums-neg", lambda L, x: L.jit(lambda a, n: a * n, static_argnums=-1)(x, 3), (X23,)),
    ("jit-static_argnames-bad", lambda L, x: L.jit(lambda a, n: a * n, static_argnames="m")(x, n=2), (X23,)),
    ("jit-static-unhashable", lambda L, x: L.jit(lambda a, n: a * n[0], static_argnums=1)(x, [2]), (X23,)),
    ("random-uniform-f32", lambda L: L.random.uniform(L.random.PRNGKey(0), (5,)), ()),
    ("random-uniform-f16", lambda L: L.random.uniform(L.random.PRNGKey(1), (5,), dtype=L.np.float16), ()),
    ("random-uniform-bf16", lambda L: L.random.uniform(L.random.PRNGKey(1), (5,), dtype=L.np.bfloat16), ()),
    ("random-normal-f16", lambda L: L.random.normal(L.random.PRNGKey(2), (4,), dtype=L.np.float16), ()),
    ("random-normal", lambda L: L.random.normal(L.random.PRNGKey(2), (2, 3)), ()),
    ("random-split", lambda L: L.random.split(L.random.PRNGKey(3), 3), ()),
    ("random-randint", lambda L: L.random.randint(L.random.PRNGKey(4), (6,), -5, 5), ()),
    ("random-fold_in", lambda L: L.random.fold_in(L.random.PRNGKey(4), 7), ()),
    ("random-bernoulli", lambda L: L.random.bernoulli(L.random.PRNGKey(5), 0.3, (6,)), ()),
    ("random-permutation", lambda L: L.random.permutation(L.random.PRNGKey(6), 6), ()),
]
for _id, _p, _a in OPEN_ITEMS:
    add(f"open.{_id}", _p, _a, (), diff=_float_args(_a), jit=_id.startswith("random"))

# --- tutorial-style programs, end to end ----------------------------------------------------------

_W1 = _rng.normal(size=(4, 8)).astype(F32) * 0.5
_B1 = np.zeros(8, F32)
_W2 = _rng.normal(size=(8, 3)).astype(F32) * 0.5
_XB = _rng.normal(size=(5, 4)).astype(F32)
_YB = np.array([0, 2, 1, 1, 0], I32)


def _mlp(L, params, x):
    (w1, b1), (w2,) = params
    return L.nn.relu(x @ w1 + b1) @ w2


def _xent(L, params, x, y):
    logits = _mlp(L, params, x)
    return -L.np.mean(L.np.sum(L.nn.log_softmax(logits) * L.nn.one_hot(y, 3), axis=-1))


def tut_mlp_loss_grad(L, w1, b1, w2, x, y):
    return L.value_and_grad(lambda p: _xent(L, p, x, y))(((w1, b1), (w2,)))


def tut_softmax_xent(L, logits, y):
    def loss(z):
        return -L.np.mean(L.np.take_along_axis(L.nn.log_softmax(z), y[:, None], axis=1))
    return loss(logits), L.grad(loss)(logits)


def tut_scan_rnn(L, wh, wx, xs):
    def loss(wh, wx):
        def step(h, x):
            h = L.np.tanh(h @ wh + x @ wx)
            return h, L.np.sum(h)
        h, ys = L.lax.scan(step, L.np.zeros(3), xs)
        return L.np.sum(ys) + L.np.sum(h ** 2)
    return L.value_and_grad(loss, argnums=(0, 1))(wh, wx)


def tut_newton_sqrt_fixed_steps(L, a):
    def newton(a):
        x = a
        for _ in range(6):  # Python control flow with a static trip count
            x = 0.5 * (x + a / x)
        return x
    return newton(a), L.grad(lambda a: L.np.sum(newton(a)))(a)


def tut_newton_sqrt_python_while(L, a):
    def newton(a):  # Python control flow that depends on traced values
        x = a
        while L.np.max(L.np.abs(x * x - a)) > 1e-4:
            x = 0.5 * (x + a / x)
        return L.np.sum(x)
    return L.grad(newton)(a)


def tut_python_if_under_grad(L, x):
    def f(x):
        return x ** 2 if x > 0 else -x
    return L.grad(f)(x)


def tut_per_example_grads(L, w, x, y):
    def loss(w, xi, yi):
        return (L.np.dot(xi, w) - yi) ** 2
    return L.vmap(L.grad(loss), in_axes=(None, 0, 0))(w, x, y)


def tut_sgd_logistic(L, w, x, y):
    def loss(w):
        p = L.nn.sigmoid(x @ w)
        return -L.np.mean(y * L.np.log(p) + (1 - y) * L.np.log1p(-p))
    for _ in range(5):
        w = w - 0.5 * L.grad(loss)(w)
    return w, loss(w)


def tut_jacobians(L, x):
    def f(x):
        return L.np.stack([L.np.sin(x[0]) * x[1], x[0] ** 2 + L.np.exp(x[2]), L.np.prod(x)])
    return L.jacfwd(f)(x), L.jacrev(f)(x)


def tut_hvp(L, x, v):
    def f(x):
        return L.np.sum(L.np.tanh(x) ** 2) + L.np.prod(x)
    return L.jvp(L.grad(f), (x,), (v,))


def tut_custom_jvp(L, x):
    @L.custom_jvp
    def log1pexp(x):
        return L.np.log1p(L.np.exp(x))

    @log1pexp.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * L.nn.sigmoid(x)
    return log1pexp(x), L.grad(lambda x: L.np.sum(log1pexp(x)))(x)


def tut_batched_matmul(L, a, b):
    return L.vmap(L.np.matmul, in_axes=(0, None))(a, b), L.vmap(L.np.dot, in_axes=(1, 1), out_axes=1)(a, a)


def tut_power_iteration(L, m):
    def body(i, v):
        v = m @ v
        return v / L.np.linalg.norm(v)
    v = L.lax.fori_loop(0, 30, body, L.np.ones(m.shape[0]))
    return v @ m @ v


def tut_has_aux(L, x):
    def f(x):
        y = L.np.sin(x)
        return L.np.sum(y ** 2), {"y": y, "n": L.np.sum(x > 0)}
    return L.value_and_grad(f, has_aux=True)(x)


def tut_straight_through(L, x):
    def f(x):
        q = x + L.stop_gradient(L.np.round(x) - x)
        return L.np.sum(q * x)
    return f(x), L.grad(f)(x)


def tut_layer_norm(L, x, g):
    def ln(x, g):
        mu = L.np.mean(x, axis=-1, keepdims=True)
        var = L.np.var(x, axis=-1, keepdims=True)
        return L.np.sum(((x - mu) / L.np.sqrt(var + 1e-5) * g) ** 3)
    return ln(x, g), L.grad(ln, argnums=(0, 1))(x, g)


def tut_attention(L, q, k, v):
    def attn(q, k, v):
        s = q @ k.T / L.np.sqrt(q.shape[-1])
        mask = L.np.tril(L.np.ones((q.shape[0], k.shape[0]), bool))
        s = L.np.where(mask, s, -L.np.inf)
        return L.np.sum(L.nn.softmax(s, axis=-1) @ v)
    return attn(q, k, v), L.grad(attn, argnums=(0, 1, 2))(q, k, v)


def tut_poly_fit(L, xs, ys):
    def loss(c):
        return L.np.mean((L.np.polyval(c, xs) if False else (c[0] + c[1] * xs + c[2] * xs ** 2) - ys) ** 2)
    return L.lax.fori_loop(0, 50, lambda i, c: c - 0.1 * L.grad(loss)(c), L.np.zeros(3))


def tut_scan_cumsum(L, x):
    return L.lax.scan(lambda c, v: (c + v, c + v), 0.0, x)[1], L.np.cumsum(x)


def tut_safe_where(L, x):
    def f(x):
        safe = L.np.where(x > 0, x, 1.0)
        return L.np.sum(L.np.where(x > 0, L.np.log(safe), 0.0))
    def unsafe(x):
        return L.np.sum(L.np.where(x > 0, L.np.log(x), 0.0))
    return L.grad(f)(x), L.grad(unsafe)(x)


def tut_accuracy(L, logits, y):
    return L.np.mean(L.np.argmax(logits, axis=-1) == y), L.np.sum(L.np.argmax(logits, -1) == y)


def tut_grad_of_jit(L, x):
    f = L.jit(lambda x: L.np.sum(L.np.cos(x) * x))
    return L.grad(f)(x), L.jit(L.grad(f))(x)


def tut_vjp_pytree(L, a, b):
    out, pull = L.vjp(lambda d: {"s": d["a"] * d["b"], "t": L.np.sin(d["a"])}, {"a": a, "b": b})
    return out, pull({"s": L.np.ones_like(a), "t": L.np.full_like(a, 2.0)})


def tut_hessian_rosenbrock(L, x):
    def rosen(x):
        return L.np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    return rosen(x), L.grad(rosen)(x), L.hessian(rosen)(x)


def tut_vmap_of_grad_of_scan(L, xs):
    def f(c0):
        return L.lax.scan(lambda c, x: (c * x + L.np.sin(c), c), c0, xs)[0]
    return L.vmap(L.grad(f))(L.np.linspace(-1.0, 1.0, 4))


TUTORIALS = [
    ("mlp_loss_grad", tut_mlp_loss_grad, (_W1, _B1, _W2, _XB, _YB)),
    ("softmax_xent", tut_softmax_xent, (_XB[:, :3].copy(), _YB)),
    ("scan_rnn", tut_scan_rnn, (SQ * 0.3, _W1[:2, :3].copy(), _rng.normal(size=(6, 2)).astype(F32))),
    ("newton_fixed_steps", tut_newton_sqrt_fixed_steps, (BIG,)),
    ("newton_python_while", tut_newton_sqrt_python_while, (BIG,)),
    ("python_if_under_grad", tut_python_if_under_grad, (1.5,)),
    ("per_example_grads", tut_per_example_grads, (_W1[:, 0].copy(), _XB, _XB[:, 0].copy())),
    ("sgd_logistic", tut_sgd_logistic, (np.zeros(4, F32), _XB, (_YB > 0).astype(F32))),
    ("jacobians", tut_jacobians, (A3 + 0.3,)),
    ("hvp", tut_hvp, (A3 + 0.2, A3[::-1].copy())),
    ("custom_jvp", tut_custom_jvp, (SPECIAL,)),
    ("batched_matmul", tut_batched_matmul, (A234, A24.T.copy())),
    ("power_iteration", tut_power_iteration, (SPD,)),
    ("has_aux", tut_has_aux, (X23,)),
    ("straight_through", tut_straight_through, (X23 * 3,)),
    ("layer_norm", tut_layer_norm, (X34, A4)),
    ("attention", tut_attention, (X34, X34[::-1].copy(), TIES34)),
    ("poly_fit", tut_poly_fit, (A4, A4 ** 2 - 1)),
    ("scan_cumsum", tut_scan_cumsum, (X23[0].copy(),)),
    ("safe_where", tut_safe_where, (SPECIAL,)),
    ("accuracy", tut_accuracy, (_XB[:, :3].copy(), _YB)),
    ("grad_of_jit", tut_grad_of_jit, (X23,)),
    ("vjp_pytree", tut_vjp_pytree, (A3, A3 * 2)),
    ("hessian_rosenbrock", tut_hessian_rosenbrock, (A4,)),
    ("vmap_grad_scan", tut_vmap_of_grad_of_scan, (A3 + 1,)),
]
for _id, _p, _a in TUTORIALS:
    add(f"tut.{_id}", _p, _a, (), jit=_id not in ("newton_python_while", "python_if_under_grad"))
