"""functrans.numpy's creation (_creation.__all__) and shape (_shape.__all__)
functions against numpy (values) and jax.numpy (result dtypes and weak types).

Table-driven: a row of CASES is a call written once for any numpy-like module
``m`` (numpy, functrans.numpy, jax.numpy) on numpy inputs; every row gets

* values and shapes vs numpy (leaf by leaf for functions returning lists);
* dtypes and weak types vs jax.numpy (traced with jax.eval_shape: nothing compiles);
* the traced path: ``make_ir`` + ``eval_ir`` gives what eager mode gives, and
  the IR typechecks.

Then traced roll shifts, repeat with array counts, and error messages.
"""

from __future__ import annotations

import dataclasses
import warnings

import ml_dtypes
import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans.numpy import _creation, _shape

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

BF16 = np.dtype(ml_dtypes.bfloat16)


def ar(shape, dtype=np.float32, start=0):
    """Distinct values (so that every permutation and reflection shows)."""
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n) + start).astype(dtype).reshape(shape)


X0 = np.array(3.5, np.float32)
X3 = ar((3,))
X6 = ar((6,), np.int32)
X7 = ar((7,), np.int32)
X23 = ar((2, 3), start=1)
X31 = ar((3, 1), np.int32)
X14 = ar((1, 4), np.int32)
X234 = ar((2, 3, 4), np.int32)
X45 = ar((4, 5), np.float32, start=1)
E03 = np.zeros((0, 3), np.float32)
I8 = ar((2, 3), np.int8)
U8 = ar((2, 3), np.uint8, start=5)
B23 = (ar((2, 3), np.int32) % 2).astype(bool)
H23 = ar((2, 3), np.float16)
BF23 = ar((2, 3), BF16)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    fn: object              # fn(m, *arrays) with m one of numpy, functrans.numpy, jax.numpy
    inputs: tuple = ()
    jfn: object = None      # for jax.numpy, where it spells the call differently
    np_fn: object = None    # for numpy, where it cannot express the call
    jax: bool = True        # False: jax.numpy rejects the call (numpy and functrans accept)
    values: bool = True     # False: numpy's values are not comparable (empty)
    weak: bool = True       # False: the weak type deliberately differs from jax (see below)
    rtol: float = 0.0

    def __str__(self):
        return self.id


def C(id, fn, *inputs, **kw):
    return Case(id, fn, tuple(inputs), **kw)


CREATION = [
    # full with a Python scalar and no dtype: jax keeps the weak type of the fill value
    # (jnp.full((2,), 7) is weak int32); functrans makes creation results strong, so that
    # full((2,), 7) + int8_array is int32 as in numpy. A deliberate difference.
    C("full-int", lambda m: m.full((2, 3), 7), weak=False),
    C("full-float", lambda m: m.full((2,), 7.0), weak=False),
    C("full-bool", lambda m: m.full(3, True)),
    C("full-dtype", lambda m: m.full((2, 3), 7, dtype=np.float16)),
    C("full-0d", lambda m: m.full((), 1.5), weak=False),
    C("full-empty", lambda m: m.full((0, 2), 1, dtype=np.int32)),
    C("full-array-fill", lambda m, a: m.full((2, 3), a), X3),
    C("full-int-shape", lambda m: m.full(4, -1, dtype=np.int8)),
    C("zeros", lambda m: m.zeros((2, 3))),
    C("zeros-int", lambda m: m.zeros(3, np.int32)),
    C("zeros-empty", lambda m: m.zeros((0, 2))),
    C("zeros-0d-bool", lambda m: m.zeros((), bool)),
    C("zeros-float64", lambda m: m.zeros(2, np.float64)),
    C("ones", lambda m: m.ones((2, 3))),
    C("ones-uint8", lambda m: m.ones(4, np.uint8)),
    C("ones-complex", lambda m: m.ones(2, np.complex64)),
    C("empty", lambda m: m.empty((2, 3)), values=False),
    C("empty-int", lambda m: m.empty(3, np.int32), values=False),
    C("zeros_like", lambda m, a: m.zeros_like(a), X23),
    C("zeros_like-int8", lambda m, a: m.zeros_like(a), I8),
    C("zeros_like-shape", lambda m, a: m.zeros_like(a, shape=(4,)), X23),
    C("ones_like-dtype", lambda m, a: m.ones_like(a, dtype=np.int32), X23),
    C("ones_like-bool", lambda m, a: m.ones_like(a), B23),
    C("full_like", lambda m, a: m.full_like(a, 2.5), X23),
    C("full_like-int", lambda m, a: m.full_like(a, 2.5), X6),
    C("full_like-dtype-shape", lambda m, a: m.full_like(a, 3, dtype=np.float16, shape=(2,)),
      X6),
    C("empty_like", lambda m, a: m.empty_like(a), X23, values=False),
    C("arange-stop", lambda m: m.arange(5)),
    C("arange-start-stop", lambda m: m.arange(2, 10)),
    C("arange-negative-step", lambda m: m.arange(10, 2, -3)),
    C("arange-float-step", lambda m: m.arange(0.0, 1.0, 0.1), rtol=1e-6),
    C("arange-quarter", lambda m: m.arange(1, 2, 0.25)),
    C("arange-half-negative", lambda m: m.arange(-3.5, 2, 0.5)),
    C("arange-empty", lambda m: m.arange(0)),
    C("arange-empty-backwards", lambda m: m.arange(5, 1)),
    C("arange-float-stop", lambda m: m.arange(2.5)),
    C("arange-dtype", lambda m: m.arange(3, dtype=np.float32)),
    C("arange-dtype-int8", lambda m: m.arange(-4, 4, 2, dtype=np.int8)),
    C("linspace", lambda m: m.linspace(0, 1, 5)),
    C("linspace-default", lambda m: m.linspace(-2, 3), rtol=1e-6),
    C("linspace-no-endpoint", lambda m: m.linspace(0, 1, 5, endpoint=False)),
    C("linspace-num0", lambda m: m.linspace(2, 3, num=0)),
    C("linspace-num1", lambda m: m.linspace(2, 3, num=1)),
    C("linspace-num1-no-endpoint", lambda m: m.linspace(2, 3, num=1, endpoint=False)),
    C("linspace-backwards", lambda m: m.linspace(1, -1, 9)),
    C("linspace-dtype-int", lambda m: m.linspace(-5, 0, 4, dtype=np.int32)),
    C("linspace-retstep", lambda m: m.linspace(0, 10, 7, retstep=True), rtol=1e-6),
    C("linspace-arrays", lambda m, a, b: m.linspace(a, b, 3), ar((2,)), ar((2,), start=3),
      rtol=1e-6),
    C("linspace-arrays-axis", lambda m, a, b: m.linspace(a, b, 4, axis=1), ar((2,)),
      ar((2,), start=3), rtol=1e-6),
    C("logspace", lambda m: m.logspace(0, 2, 5), rtol=1e-6),
    C("logspace-base2", lambda m: m.logspace(0, 1, 4, base=2, endpoint=False), rtol=1e-6),
    C("eye", lambda m: m.eye(3)),
    C("eye-rect", lambda m: m.eye(3, 4)),
    C("eye-k1", lambda m: m.eye(3, k=1)),
    C("eye-k-2", lambda m: m.eye(4, 3, k=-2)),
    C("eye-k-out", lambda m: m.eye(2, k=5)),
    C("eye-int", lambda m: m.eye(3, dtype=np.int32)),
    C("eye-0", lambda m: m.eye(0)),
    C("identity", lambda m: m.identity(3)),
    C("identity-bool", lambda m: m.identity(2, dtype=bool)),
    C("tri", lambda m: m.tri(3)),
    C("tri-k1", lambda m: m.tri(3, 4, k=1)),
    C("tri-int", lambda m: m.tri(4, 2, k=-1, dtype=np.int32)),
    C("meshgrid-xy", lambda m, a, b: m.meshgrid(a, b), X3, X6),
    C("meshgrid-ij", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), X3, X6),
    C("meshgrid-3", lambda m, a, b, c: m.meshgrid(a, b, c), X3, X6, ar((2,))),
    C("meshgrid-3-ij", lambda m, a, b, c: m.meshgrid(a, b, c, indexing="ij"), X3, X6,
      ar((2,))),
    C("meshgrid-sparse", lambda m, a, b: m.meshgrid(a, b, sparse=True), X3, X6),
    C("meshgrid-one", lambda m, a: m.meshgrid(a), X3),
    C("meshgrid-2d-input", lambda m, a, b: m.meshgrid(a, b), X23, X3, jax=False),
]


def _flatten_np(a):
    return a.flatten()


SHAPE = [
    C("reshape", lambda m, a: m.reshape(a, (3, 2)), X23),
    C("reshape-minus1", lambda m, a: m.reshape(a, (-1,)), X234),
    C("reshape-minus1-middle", lambda m, a: m.reshape(a, (2, -1, 2)), X234),
    C("reshape-int", lambda m, a: m.reshape(a, 6), X23),
    C("reshape-F", lambda m, a: m.reshape(a, (4, 6), order="F"), X234),
    C("reshape-F-minus1", lambda m, a: m.reshape(a, (3, -1), order="F"), X234),
    C("reshape-0d", lambda m, a: m.reshape(a, (1, 1)), X0),
    C("reshape-to-0d", lambda m, a: m.reshape(a, ()), ar((1, 1))),
    C("reshape-empty", lambda m, a: m.reshape(a, (3, 0)), E03),
    C("reshape-method", lambda m, a: a.reshape(3, 2), X23),
    C("reshape-method-tuple", lambda m, a: a.reshape((6,)), X23),
    C("ravel", lambda m, a: m.ravel(a), X234),
    C("ravel-F", lambda m, a: m.ravel(a, order="F"), X234),
    C("ravel-0d", lambda m, a: m.ravel(a), X0),
    C("flatten", lambda m, a: fnp.flatten(a) if m is fnp else a.flatten(), X234),
    C("transpose", lambda m, a: m.transpose(a), X234),
    C("transpose-axes", lambda m, a: m.transpose(a, (1, 0, 2)), X234),
    C("transpose-negative-axes", lambda m, a: m.transpose(a, (-1, 0, 1)), X234),
    C("transpose-0d", lambda m, a: m.transpose(a), X0),
    C("transpose-T", lambda m, a: a.T, X23),
    C("permute_dims", lambda m, a: m.permute_dims(a, (2, 0, 1)), X234),
    C("moveaxis", lambda m, a: m.moveaxis(a, 0, -1), X234),
    C("moveaxis-tuples", lambda m, a: m.moveaxis(a, (0, 1), (-1, 0)), X234),
    C("moveaxis-lists", lambda m, a: m.moveaxis(a, [0, 2], [2, 0]), X234),
    C("swapaxes", lambda m, a: m.swapaxes(a, 0, 2), X234),
    C("swapaxes-negative", lambda m, a: m.swapaxes(a, -1, 1), X234),
    C("matrix_transpose", lambda m, a: m.matrix_transpose(a), X234),
    C("squeeze", lambda m, a: m.squeeze(a), ar((1, 3, 1, 2))),
    C("squeeze-axis", lambda m, a: m.squeeze(a, axis=0), ar((1, 3, 1, 2))),
    C("squeeze-negative-axis", lambda m, a: m.squeeze(a, axis=-2), ar((1, 3, 1, 2))),
    C("squeeze-axes", lambda m, a: m.squeeze(a, axis=(0, 2)), ar((1, 3, 1, 2))),
    C("squeeze-0d", lambda m, a: m.squeeze(a), X0),
    C("expand_dims", lambda m, a: m.expand_dims(a, 0), X23),
    C("expand_dims-negative", lambda m, a: m.expand_dims(a, -1), X23),
    C("expand_dims-tuple", lambda m, a: m.expand_dims(a, (0, 3)), X23),
    C("expand_dims-0d", lambda m, a: m.expand_dims(a, 0), X0),
    C("broadcast_arrays", lambda m, a, b: m.broadcast_arrays(a, b), X31, X14),
    C("broadcast_arrays-scalar", lambda m, a, b: m.broadcast_arrays(a, b), X23, X0),
    C("atleast_1d-0d", lambda m, a: m.atleast_1d(a), X0),
    C("atleast_1d-2d", lambda m, a: m.atleast_1d(a), X23),
    C("atleast_1d-many", lambda m, a, b: m.atleast_1d(a, b), X0, X23),
    C("atleast_2d-0d", lambda m, a: m.atleast_2d(a), X0),
    C("atleast_2d-1d", lambda m, a: m.atleast_2d(a), X3),
    C("atleast_2d-3d", lambda m, a: m.atleast_2d(a), X234),
    C("atleast_2d-many", lambda m, a, b: m.atleast_2d(a, b), X3, X0),
    C("atleast_3d-0d", lambda m, a: m.atleast_3d(a), X0),
    C("atleast_3d-1d", lambda m, a: m.atleast_3d(a), X3),
    C("atleast_3d-2d", lambda m, a: m.atleast_3d(a), X23),
    C("atleast_3d-3d", lambda m, a: m.atleast_3d(a), X234),
    C("atleast_3d-many", lambda m, a, b: m.atleast_3d(a, b), X3, X23),
    C("concatenate", lambda m, a, b: m.concatenate([a, b]), X23, X23),
    C("concatenate-axis1", lambda m, a, b: m.concatenate([a, b], axis=1), X23, X23),
    C("concatenate-axis-1", lambda m, a, b: m.concatenate((a, b, a), axis=-1), X23, X23),
    C("concatenate-None", lambda m, a, b: m.concatenate([a, b], axis=None), X23, X234),
    C("concatenate-int-float", lambda m, a, b: m.concatenate([a, b]), X6, X3),
    C("concatenate-int8-uint8", lambda m, a, b: m.concatenate([a, b]), I8, U8),
    C("concatenate-bool-int8", lambda m, a, b: m.concatenate([a, b]), B23, I8),
    C("concatenate-f16-bf16", lambda m, a, b: m.concatenate([a, b]), H23, BF23,
      np_fn=lambda m, a, b: m.concatenate([a.astype(np.float32), b.astype(np.float32)])),
    C("concatenate-empty", lambda m, a, b: m.concatenate([a, b]), E03, X23),
    C("concatenate-dtype", lambda m, a, b: m.concatenate([a, b], dtype=np.float16), X23, X23),
    C("concatenate-one", lambda m, a: m.concatenate([a]), X23),
    C("concat", lambda m, a, b: m.concat([a, b], axis=1), X23, X23),
    C("stack", lambda m, a, b: m.stack([a, b]), X23, X23),
    C("stack-axis-1", lambda m, a, b: m.stack([a, b], axis=-1), X23, X23),
    C("stack-axis2", lambda m, a, b, c: m.stack([a, b, c], axis=2), X23, X23, X23),
    C("stack-mixed", lambda m, a, b: m.stack([a, b]), I8, U8),
    C("stack-int-float", lambda m, a, b: m.stack([a, b]), ar((3,), np.int32), X3),
    C("stack-0d", lambda m, a, b: m.stack([a, b]), X0, X0),
    C("stack-empty", lambda m, a, b: m.stack([a, b], axis=1), E03, E03),
    C("hstack-1d", lambda m, a, b: m.hstack([a, b]), X3, X6),
    C("hstack-2d", lambda m, a, b: m.hstack([a, b]), X23, X23),
    C("hstack-0d", lambda m, a, b: m.hstack([a, b]), X0, X3),
    C("vstack-1d", lambda m, a, b: m.vstack([a, b]), X3, X3),
    C("vstack-2d", lambda m, a, b: m.vstack([a, b]), X23, X3),
    # numpy 2.0 deprecated row_stack (an alias of vstack) and later numpy removed it
    C("row_stack", lambda m, a, b: m.row_stack([a, b]), X23, X3,
      jfn=lambda m, a, b: m.vstack([a, b]),
      np_fn=lambda m, a, b: getattr(m, "row_stack", m.vstack)([a, b])),
    C("dstack", lambda m, a, b: m.dstack([a, b]), X23, X23),
    C("dstack-1d", lambda m, a, b: m.dstack([a, b]), X3, X3),
    C("column_stack", lambda m, a, b: m.column_stack([a, b]), X3, ar((3, 2))),
    C("append", lambda m, a, b: m.append(a, b), X23, X3),
    C("append-axis", lambda m, a, b: m.append(a, b, axis=0), X23, X23),
    C("split-sections", lambda m, a: m.split(a, 3), X6),
    C("split-indices", lambda m, a: m.split(a, [1, 4]), X6),
    C("split-axis", lambda m, a: m.split(a, 2, axis=2), X234),
    C("split-negative-axis", lambda m, a: m.split(a, [1], axis=-1), X234),
    C("split-negative-index", lambda m, a: m.split(a, [-1]), X6, jax=False),
    C("split-indices-beyond", lambda m, a: m.split(a, [2, 10]), X6, jax=False),
    C("split-indices-unsorted", lambda m, a: m.split(a, [4, 2]), X6, jax=False),
    C("split-one", lambda m, a: m.split(a, 1), X6),
    C("array_split", lambda m, a: m.array_split(a, 3), X7),
    C("array_split-more-than-n", lambda m, a: m.array_split(a, 5), ar((3,))),
    C("array_split-axis", lambda m, a: m.array_split(a, 3, axis=2), X234),
    C("hsplit", lambda m, a: m.hsplit(a, 3), X234),
    C("hsplit-1d", lambda m, a: m.hsplit(a, 2), X6),
    C("vsplit", lambda m, a: m.vsplit(a, 2), X234),
    C("dsplit", lambda m, a: m.dsplit(a, [1, 3]), X234),
    C("tile", lambda m, a: m.tile(a, 2), X23),
    C("tile-tuple", lambda m, a: m.tile(a, (2, 1)), X23),
    C("tile-more-reps", lambda m, a: m.tile(a, (2, 2, 2)), X3),
    C("tile-fewer-reps", lambda m, a: m.tile(a, (3,)), X234),
    C("tile-0d", lambda m, a: m.tile(a, 3), X0),
    C("tile-zero", lambda m, a: m.tile(a, (0, 2)), X23),
    C("repeat", lambda m, a: m.repeat(a, 2), X23),
    C("repeat-axis", lambda m, a: m.repeat(a, 2, axis=1), X23),
    C("repeat-axis-negative", lambda m, a: m.repeat(a, 3, axis=-1), X23),
    C("repeat-zero", lambda m, a: m.repeat(a, 0, axis=0), X23),
    C("repeat-0d", lambda m, a: m.repeat(a, 4), X0),
    C("repeat-method", lambda m, a: a.repeat(2, axis=0), X23),
    C("flip", lambda m, a: m.flip(a), X234),
    C("flip-axis", lambda m, a: m.flip(a, 0), X234),
    C("flip-axes", lambda m, a: m.flip(a, (0, 2)), X234),
    C("flip-negative", lambda m, a: m.flip(a, -1), X234),
    C("flip-0d", lambda m, a: m.flip(a), X0),
    C("fliplr", lambda m, a: m.fliplr(a), X234),
    C("flipud", lambda m, a: m.flipud(a), X234),
    *[C(f"rot90-k{k}", lambda m, a, k=k: m.rot90(a, k), X23) for k in (-1, 0, 1, 2, 3, 4, 5)],
    C("rot90-axes12", lambda m, a: m.rot90(a, 1, axes=(1, 2)), X234),
    C("rot90-axes20", lambda m, a: m.rot90(a, 3, axes=(2, 0)), X234),
    C("roll-flat", lambda m, a: m.roll(a, 2), X234),
    C("roll-negative", lambda m, a: m.roll(a, -1), X6),
    C("roll-axis", lambda m, a: m.roll(a, 1, axis=1), X234),
    C("roll-axes", lambda m, a: m.roll(a, (1, -2), axis=(0, 2)), X234),
    C("roll-one-shift-two-axes", lambda m, a: m.roll(a, 1, axis=(0, 1)), X234),
    C("roll-large", lambda m, a: m.roll(a, 7, axis=-1), X234),
    C("roll-zero", lambda m, a: m.roll(a, 0), X23),
    C("roll-empty", lambda m, a: m.roll(a, 1, axis=0), E03),
    C("pad-int", lambda m, a: m.pad(a, 1), X23),
    C("pad-pair", lambda m, a: m.pad(a, (1, 2)), X23),
    C("pad-per-axis", lambda m, a: m.pad(a, ((1, 2), (0, 3))), X23),
    C("pad-zero", lambda m, a: m.pad(a, 0), X23),
    C("pad-value", lambda m, a: m.pad(a, 2, constant_values=5), X6),
    C("pad-value-float-on-int", lambda m, a: m.pad(a, 1, constant_values=2.7), X6),
    C("pad-values-per-axis", lambda m, a: m.pad(a, 1, constant_values=((1, 2), (3, 4))), X23),
    C("pad-values-pair", lambda m, a: m.pad(a, (2, 1), constant_values=(7, 8)), X3),
    *[C(f"pad-{mode}-{name}", lambda m, a, mode=mode, w=w: m.pad(a, w, mode=mode), x)
      for mode in ("edge", "wrap", "reflect", "symmetric")
      for name, x, w in [("1d", ar((4,)), (2, 3)), ("2d", X23, ((1, 2), (2, 1))),
                         ("int", X23, 1), ("long", ar((3,)), (7, 8)),
                         ("one-elem", ar((1,)), (2, 2))]],
    C("pad-empty-constant", lambda m, a: m.pad(a, 1), E03),
    C("tril", lambda m, a: m.tril(a), X45),
    C("tril-k1", lambda m, a: m.tril(a, k=1), X45),
    C("tril-k-1", lambda m, a: m.tril(a, k=-1), X45),
    C("tril-batched", lambda m, a: m.tril(a), X234),
    C("tril-int", lambda m, a: m.tril(a, 2), ar((3, 3), np.int8)),
    C("tril-bool", lambda m, a: m.tril(a, -1), B23),
    C("triu", lambda m, a: m.triu(a), X45),
    C("triu-k1", lambda m, a: m.triu(a, k=1), X45),
    C("triu-k-2", lambda m, a: m.triu(a, k=-2), X45),
    C("triu-batched", lambda m, a: m.triu(a, 1), X234),
    C("triu-bool", lambda m, a: m.triu(a), B23),
]

# (check, case id) -> reason, for bugs found by the table (none open).
KNOWN_BUGS = {}

CASES = CREATION + SHAPE


def _cases(check):
    out = []
    for c in CASES:
        reason = KNOWN_BUGS.get((check, c.id))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def _leaves(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _host(x):
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype == BF16 else x


def _np_call(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # np.row_stack is deprecated in numpy 2
        return (case.np_fn or case.fn)(np, *case.inputs)


# --- coverage -------------------------------------------------------------------------------------


def _called(case):
    """The functrans.numpy functions a case calls (by the names in its code)."""
    return set(case.fn.__code__.co_names) | {n for n in ("flatten",) if n in case.id}


def test_every_function_has_a_case():
    called = set().union(*(_called(c) for c in CASES))
    missing = (set(_creation.__all__) | set(_shape.__all__)) - called
    assert not missing, f"add CASES rows for {sorted(missing)}"


# --- values, dtypes, traced path ------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("values"))
def test_values_match_numpy(case):
    out = case.fn(fnp, *[fnp.asarray(a) for a in case.inputs])
    ref = _np_call(case)
    outs, refs = _leaves(out), _leaves(ref)
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert isinstance(o, ft.Array), type(o)
        r = np.asarray(r)
        assert o.shape == r.shape, (o.shape, r.shape)
        if not case.values:
            continue
        if case.rtol or (o.dtype != r.dtype and r.dtype.kind == "f"):
            # e.g. float32 samples against numpy's float64 ones
            tol = case.rtol or 1e-6
            np.testing.assert_allclose(_host(o), r, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(_host(o), r)


@pytest.mark.parametrize("case", [c for c in _cases("dtype") if c.values[0].jax])
def test_dtypes_match_jax(case):
    jfn = case.jfn or case.fn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = jax.eval_shape(lambda *a: jfn(jnp, *a), *case.inputs)
    out = case.fn(fnp, *[fnp.asarray(a) for a in case.inputs])
    for o, e in zip(_leaves(out), _leaves(expected), strict=True):
        assert (o.dtype, o.shape) == (np.dtype(e.dtype), tuple(e.shape))
        if case.weak:
            assert o.weak_type == e.weak_type


@pytest.mark.parametrize("case", _cases("traced"))
def test_traced_matches_eager(case):
    args = [fnp.asarray(a) for a in case.inputs]
    eager = _leaves(case.fn(fnp, *args))
    closed = ft.make_ir(lambda *a: case.fn(fnp, *a))(*args)
    ft.ir.typecheck(closed)
    assert list(closed.out_avals) == [e.aval for e in eager]
    traced = ft.ir.eval_ir(closed.ir, closed.consts, args)
    for t, e in zip(traced, eager, strict=True):
        assert t.aval == e.aval
        np.testing.assert_array_equal(_host(t), _host(e))


# --- specifics ------------------------------------------------------------------------------------


def test_default_dtypes():
    assert fnp.zeros(2).dtype == np.float32 and fnp.ones((1,)).dtype == np.float32
    assert fnp.arange(3).dtype == np.int32
    assert fnp.arange(3.0).dtype == np.float32
    assert fnp.full((2,), 7).dtype == np.int32
    assert fnp.full((2,), 7.0).dtype == np.float32
    assert fnp.linspace(0, 1, 3).dtype == np.float32
    assert fnp.eye(2).dtype == np.float32


def test_default_dtypes_x64(x64):
    assert fnp.zeros(2).dtype == np.float64
    assert fnp.arange(3).dtype == np.int64
    assert fnp.full((2,), 7).dtype == np.int64
    assert fnp.linspace(0, 1, 3).dtype == np.float64
    assert fnp.zeros(2, np.float32).dtype == np.float32


@pytest.mark.parametrize("shift", [-7, -1, 0, 1, 3, 4, 12])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_roll_with_traced_shift(shift, axis):
    x = fnp.asarray(X234)
    closed = ft.make_ir(lambda a, s: fnp.roll(a, s, axis=axis))(x, fnp.asarray(np.int32(1)))
    ft.ir.typecheck(closed)
    (out,) = ft.ir.eval_ir(closed.ir, closed.consts, [x, fnp.asarray(np.int32(shift))])
    np.testing.assert_array_equal(out, np.roll(X234, shift, axis=axis))


@pytest.mark.parametrize("repeats,axis", [([1, 0, 2], 1), (np.array([2, 1]), 0),
                                          ([2, 0, 1, 3, 0, 1], None), ([3], 1)],
                         ids=["list-axis1", "array-axis0", "flat", "broadcast"])
def test_repeat_with_array_counts(repeats, axis):
    out = fnp.repeat(fnp.asarray(X23), repeats, axis=axis)
    np.testing.assert_array_equal(out, np.repeat(X23, repeats, axis=axis))
    out = fnp.repeat(fnp.asarray(X23), fnp.asarray(np.asarray(repeats, np.int32)), axis=axis)
    np.testing.assert_array_equal(out, np.repeat(X23, repeats, axis=axis))


def test_repeat_with_traced_counts_needs_total_length():
    with pytest.raises(TypeError, match="repeat"):
        ft.make_ir(lambda r: fnp.repeat(fnp.ones(3), r))(fnp.asarray(np.int32([1, 2, 3])))


def test_arrays_are_copies_of_numpy_inputs():
    a = np.arange(3.0)
    x = fnp.asarray(a)
    a[0] = 100.0
    assert float(x[0]) == 0.0
    assert fnp.reshape(x, (3, 1)).shape == (3, 1)


def test_shapes_must_be_static():
    with pytest.raises(TypeError, match="arange"):
        ft.make_ir(lambda n: fnp.arange(n))(fnp.asarray(3))
    with pytest.raises(TypeError):
        ft.make_ir(lambda a, n: fnp.reshape(a, (n, -1)))(fnp.ones(6), fnp.asarray(2))
    with pytest.raises(TypeError, match="zeros|full|shape"):
        ft.make_ir(lambda n: fnp.zeros(n))(fnp.asarray(3))


# --- errors ---------------------------------------------------------------------------------------


def test_reshape_to_an_incompatible_size_names_both_shapes():
    x = fnp.asarray(X23)
    for attempt, shown in [(lambda: fnp.reshape(x, (4,)), "(4,)"),
                           (lambda: x.reshape(4, 2), "(4, 2)"),
                           (lambda: fnp.reshape(x, (4, -1)), "(4, -1)"),
                           (lambda: ft.make_ir(lambda a: fnp.reshape(a, (5,)))(x), "(5,)")]:
        with pytest.raises(ValueError) as info:
            attempt()
        msg = str(info.value)
        assert "reshape" in msg and "(2, 3)" in msg and shown in msg, msg
    with pytest.raises(ValueError, match="-1"):
        fnp.reshape(x, (-1, -1))
    with pytest.raises(ValueError, match="order"):
        fnp.reshape(x, (6,), order="A")


@pytest.mark.parametrize("attempt,exc,pattern", [
    (lambda: fnp.concatenate([fnp.ones((2, 3)), fnp.ones((2, 4))]), ValueError,
     r"concatenate.*\(2, 3\).*\(2, 4\)"),
    (lambda: fnp.concatenate([fnp.ones((2, 3)), fnp.ones((3,))]), ValueError, "concatenate"),
    (lambda: fnp.concatenate([fnp.ones(()), fnp.ones(())]), ValueError, "concatenate"),
    (lambda: fnp.concatenate([]), ValueError, "concatenate"),
    (lambda: fnp.concatenate([fnp.ones((2, 3))], axis=2), ValueError, "axis"),
    (lambda: fnp.stack([fnp.ones((2, 3)), fnp.ones((3, 2))]), ValueError,
     r"stack.*\(2, 3\).*\(3, 2\)"),
    (lambda: fnp.stack([]), ValueError, "stack"),
    (lambda: fnp.split(fnp.ones(7), 3), ValueError, "split"),
    (lambda: fnp.split(fnp.ones(6), 0), ValueError, "split"),
    (lambda: fnp.pad(fnp.ones(3), -1), ValueError, "pad"),
    (lambda: fnp.pad(fnp.ones(3), ((1, -2),)), ValueError, "pad"),
    (lambda: fnp.pad(fnp.ones(3), 1, mode="median"), NotImplementedError, "median"),
    (lambda: fnp.pad(fnp.ones((0,)), 1, mode="wrap"), ValueError, "pad"),
    (lambda: fnp.tril(fnp.ones(3)), ValueError, "tril"),
    (lambda: fnp.triu(fnp.ones(())), ValueError, "triu"),
    (lambda: fnp.moveaxis(fnp.ones((2, 3)), 2, 0), ValueError, "moveaxis"),
    (lambda: fnp.moveaxis(fnp.ones((2, 3)), (0, 1), 0), ValueError, "moveaxis"),
    (lambda: fnp.transpose(fnp.ones((2, 3)), (0, 0)), ValueError, "transpose"),
    (lambda: fnp.transpose(fnp.ones((2, 3)), (0,)), ValueError, "transpose"),
    (lambda: fnp.swapaxes(fnp.ones((2, 3)), 0, 5), ValueError, "swapaxes"),
    (lambda: fnp.squeeze(fnp.ones((2, 1)), axis=0), ValueError, "squeeze"),
    (lambda: fnp.expand_dims(fnp.ones((2, 3)), 4), ValueError, "expand_dims"),
    (lambda: fnp.flip(fnp.ones((2, 3)), 2), ValueError, "flip"),
    (lambda: fnp.rot90(fnp.ones((2, 3)), 1, axes=(0, 0)), ValueError, "rot90"),
    (lambda: fnp.roll(fnp.ones((2, 3)), (1, 2), axis=0), ValueError, "roll"),
    (lambda: fnp.repeat(fnp.ones(3), -1), ValueError, "repeat"),
    (lambda: fnp.tile(fnp.ones(3), (2.5,)), TypeError, None),
    (lambda: fnp.broadcast_arrays(fnp.ones(3), fnp.ones(4)), ValueError,
     r"broadcast_arrays.*\(3,\).*\(4,\)"),
    (lambda: fnp.linspace(0, 1, -1), ValueError, "linspace"),
    (lambda: fnp.arange(0, 5, 0), ValueError, "arange"),
    (lambda: fnp.meshgrid(fnp.ones(2), indexing="yx"), ValueError, "meshgrid"),
    (lambda: fnp.zeros((2, -1)), ValueError, "negative"),
    (lambda: fnp.zeros("a"), TypeError, "zeros|full|shape"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_errors(attempt, exc, pattern):
    with pytest.raises(exc, match=pattern):
        attempt()


@pytest.mark.parametrize("width, cv", [
    (1, 2.5),                                   # one value
    (((1, 2), (2, 1)), [[1.0, 2.0], [3.0, 4.0]]),  # one per side of each axis
    (((0, 2), (3, 0)), [[1.0, 2.0], [3.0, 4.0]]),  # one-sided widths
])
def test_pad_with_array_constant_values_eager_jit_and_grad(width, cv):
    # constant_values as an Array (traced under jit and grad) pads like numpy, and
    # its gradient is the sum of the output cotangent over the positions it fills.
    x = np.arange(6.0).reshape(2, 3)
    cv = np.asarray(cv)
    expected = np.pad(x, width, constant_values=cv)
    pad = lambda a, c: fnp.pad(a, width, constant_values=c)  # noqa: E731
    np.testing.assert_array_equal(pad(fnp.asarray(x), fnp.asarray(cv)), expected)
    np.testing.assert_array_equal(ft.jit(pad)(fnp.asarray(x), fnp.asarray(cv)), expected)
    weights = np.random.default_rng(0).standard_normal(expected.shape)
    g = ft.grad(lambda c: fnp.sum(pad(fnp.asarray(x), c) * weights))(fnp.asarray(cv))
    # numerical oracle: central differences of the numpy computation
    eps, num = 1e-6, np.zeros_like(cv)
    for idx in np.ndindex(cv.shape):
        d = np.zeros_like(cv)
        d[idx] = eps
        num[idx] = (np.sum(np.pad(x, width, constant_values=cv + d) * weights)
                    - np.sum(np.pad(x, width, constant_values=cv - d) * weights)) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-6)
