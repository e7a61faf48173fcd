"""Python scalars, creation, dtype classes, ``.at[]`` and astype as JAX has them (issue 15).

jax is the oracle: each case runs the same program through ``jax``/``jax.numpy``
and ``functrans``/``functrans.numpy`` (eagerly, and under jit where the program
takes an array) and compares values, dtypes and weak types, or that both raise
the same kind of error.

* Python ints past the default int dtype: OverflowError for constants under
  jit/grad/vmap, lax-level operands and lists; the wrapping conversions JAX does
  (``full(2, 300, uint8)``);
* the weak types of ``full`` and ``*_like``; astype and ``fnp.float32(x)`` are
  strong Arrays;
* numpy's abstract scalar classes and ``issubdtype`` (bfloat16 is floating);
* every ``x.at[]`` method, with JAX's keywords (``wrap_negative_indices``);
* shapes and ``arange`` bounds that are concrete under grad.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax as flax
from jax import lax as jlax
from jax_oracle import assert_same_as_jax

JAX = (jnp, jlax, jax)
FT = (fnp, flax, ft)


def _same(j_out, f_out):
    assert_same_as_jax(j_out, f_out, rtol=1e-6, python_bools=True)


_ERRORS = {jax.errors.ConcretizationTypeError: ft.errors.ConcretizationError}


def _both(program, *args):
    """``program(numpy, lax, api, *args)`` with jax and functrans: same result or same error."""
    try:
        j_out = program(*JAX, *args)
    except Exception as e:  # noqa: BLE001  (the oracle's error type is what we compare)
        with pytest.raises(_ERRORS.get(type(e), type(e))):
            program(*FT, *args)
        return
    _same(j_out, program(*FT, *args))


def _both_jit(program, *args):
    """As _both, eagerly and with ``program`` under each library's jit."""
    _both(program, *args)
    _both(lambda np_, lax, T, *a: T.jit(lambda *b: program(np_, lax, T, *b))(*a), *args)


F32 = np.arange(1.0, 4.0, dtype=np.float32)
U8 = np.array([1, 200, 255], np.uint8)
I8 = np.array([1, -100, 127], np.int8)


# --- 1. Python ints past the default int dtype -----------------------------------------

OVERFLOW = {
    "f32 * 2**70": (lambda np_, lax, T, x: np_.asarray(x) * 2 ** 70, F32),
    "f32 * 2**31": (lambda np_, lax, T, x: np_.asarray(x) * 2 ** 31, F32),
    "f32 * -2**31 fits": (lambda np_, lax, T, x: np_.asarray(x) * -2 ** 31, F32),
    "lax.add(f32, 2**70)": (lambda np_, lax, T, x: lax.add(np_.asarray(x), 2 ** 70), F32),
    "lax.mul(f32, 2**40)": (lambda np_, lax, T, x: lax.mul(np_.asarray(x), 2 ** 40), F32),
    "u8 + 300 wraps": (lambda np_, lax, T, x: np_.asarray(x) + 300, U8),
    "u8 + -1 wraps": (lambda np_, lax, T, x: np_.asarray(x) + -1, U8),
    "i8 * 200 wraps": (lambda np_, lax, T, x: np_.asarray(x) * 200, I8),
    "where(x, 2**40)": (lambda np_, lax, T, x: np_.where(x > 1, x, 2 ** 40), F32),
}


@pytest.mark.parametrize("name", OVERFLOW)
def test_python_int_operands_under_jit(name):
    program, x = OVERFLOW[name]
    _both(lambda np_, lax, T, x: T.jit(lambda v: program(np_, lax, T, v))(x), x)


@pytest.mark.parametrize("name", [n for n in OVERFLOW if n.startswith("lax")])
def test_python_int_operands_of_lax_eager(name):
    _both(*OVERFLOW[name])


@pytest.mark.parametrize("name", ["f32 * 2**70", "f32 * 2**31", "lax.add(f32, 2**70)"])
def test_python_int_constants_under_grad_and_vmap(name):
    program, x = OVERFLOW[name]
    _both(lambda np_, lax, T, x: T.grad(lambda v: program(np_, lax, T, v).sum())(x), x)
    _both(lambda np_, lax, T, x: T.vmap(lambda v: program(np_, lax, T, v))(x), x)


CONVERSIONS = {
    "asarray([1, 2**40])": lambda np_, lax, T: np_.asarray([1, 2 ** 40]),
    "asarray([[1], [2**40]])": lambda np_, lax, T: np_.asarray([[1], [2 ** 40]]),
    "array((2**40,))": lambda np_, lax, T: np_.array((2 ** 40,)),
    "asarray([2**70])": lambda np_, lax, T: np_.asarray([2 ** 70]),
    "asarray([2**70], f32)": lambda np_, lax, T: np_.asarray([2 ** 70], np_.float32),
    "asarray([1, 2**40], f32)": lambda np_, lax, T: np_.asarray([1, 2 ** 40], np_.float32),
    "asarray([1.5, 2**40])": lambda np_, lax, T: np_.asarray([1.5, 2 ** 40]),
    "asarray([300], u8)": lambda np_, lax, T: np_.asarray([300], np_.uint8),
    "asarray([-1], u32)": lambda np_, lax, T: np_.asarray([-1], np_.uint32),
    "asarray([2**31], u32)": lambda np_, lax, T: np_.asarray([2 ** 31], np_.uint32),
    "asarray([2**31], i32)": lambda np_, lax, T: np_.asarray([2 ** 31], np_.int32),
    "asarray([np.int64(2**40)])": lambda np_, lax, T: np_.asarray([np.int64(2 ** 40)]),
    "asarray(np.int64(2**40)) wraps": lambda np_, lax, T: np_.asarray(np.int64(2 ** 40)),
    "asarray([1.5], i32)": lambda np_, lax, T: np_.asarray([1.5], np_.int32),
    "asarray([True, 2])": lambda np_, lax, T: np_.asarray([True, 2]),
    "asarray(300, u8)": lambda np_, lax, T: np_.asarray(300, np_.uint8),
    "asarray(2**31)": lambda np_, lax, T: np_.asarray(2 ** 31),
    "full(300, u8) wraps": lambda np_, lax, T: np_.full((2,), 300, np_.uint8),
    "full(-1, u8) wraps": lambda np_, lax, T: np_.full((2,), -1, np_.uint8),
    "full(2**40) wraps": lambda np_, lax, T: np_.full((2,), 2 ** 40),
    "full(2**40, i32) wraps": lambda np_, lax, T: np_.full((2,), 2 ** 40, np_.int32),
    "full(2**70, f32)": lambda np_, lax, T: np_.full((2,), 2 ** 70, np_.float32),
    "full(2**70, i32)": lambda np_, lax, T: np_.full((2,), 2 ** 70, np_.int32),
    "full(1.5, i32)": lambda np_, lax, T: np_.full((2,), 1.5, np_.int32),
    "full(np.int64(300), u8)": lambda np_, lax, T: np_.full((2,), np.int64(300), np_.uint8),
    "full(list)": lambda np_, lax, T: np_.full((2,), [300], np_.uint8),
    "full(1+2j, f32)": lambda np_, lax, T: np_.full((2,), 1 + 2j, np_.float32),
}


@pytest.mark.parametrize("name", CONVERSIONS)
def test_conversions_of_python_ints(name):
    _both(CONVERSIONS[name])


# --- 2. weak types of creation functions, astype, scalar types -------------------------

WEAK = {
    "full(3)": lambda np_, x: np_.full((2,), 3),
    "full(3.0)": lambda np_, x: np_.full((2,), 3.0),
    "full(True)": lambda np_, x: np_.full((2,), True),
    "full(3, f32)": lambda np_, x: np_.full((2,), 3, np_.float32),
    "full(np.float32)": lambda np_, x: np_.full((2,), np.float32(3)),
    "full(weak array)": lambda np_, x: np_.full((2,), x * 0 + 3.0),
    "full(strong array)": lambda np_, x: np_.full((2, 3), x),
    "full(weak array, f16)": lambda np_, x: np_.full((2,), x * 0 + 3.0, np_.float16),
    "zeros_like(2.0)": lambda np_, x: np_.zeros_like(2.0),
    "zeros_like(2)": lambda np_, x: np_.zeros_like(2),
    "ones_like(2.0)": lambda np_, x: np_.ones_like(2.0),
    "empty_like(2.0)": lambda np_, x: np_.empty_like(2.0),
    "full_like(2.0, 1)": lambda np_, x: np_.full_like(2.0, 1),
    "full_like(2.0, 1, f32)": lambda np_, x: np_.full_like(2.0, 1, np_.float32),
    "full_like(2, 1.5)": lambda np_, x: np_.full_like(2, 1.5),
    "zeros_like(weak array, shape)": lambda np_, x: np_.zeros_like(x.sum() * 0 + 1.0, shape=(3,)),
    "zeros_like(strong array)": lambda np_, x: np_.zeros_like(x),
    "ones_like(np.float32)": lambda np_, x: np_.ones_like(np.float32(2)),
    "zeros_like(x * 2.0) weak product": lambda np_, x: np_.zeros_like(np_.sum(x) * 2.0),
    "astype(weak)": lambda np_, x: (x.sum() * 0 + 2.0).astype(np_.float32),
    "astype(weak int)": lambda np_, x: np_.asarray(2).astype(np_.float32),
    "np.astype(weak)": lambda np_, x: np_.astype(np_.asarray(2.0), np_.float32),
    "asarray(weak, f32)": lambda np_, x: np_.asarray(np_.asarray(2.0), np_.float32),
    "asarray(weak)": lambda np_, x: np_.asarray(np_.asarray(2.0)),
    "float32(1.0)": lambda np_, x: np_.float32(1.0),
    "float32(1.0) * 2.0 stays f32": lambda np_, x: np_.float16(1.0) * np_.float32(2.0),
    "float32(weak)": lambda np_, x: np_.float32(np_.asarray(2.0)),
    "float32([1, 2])": lambda np_, x: np_.float32([1, 2]),
    "float32('1.5')": lambda np_, x: np_.float32("1.5"),
    "int32(1.7)": lambda np_, x: np_.int32(1.7),
    "int8(300)": lambda np_, x: np_.int8(300),
    "uint8(-1)": lambda np_, x: np_.uint8(-1),
    "bool_(2)": lambda np_, x: np_.bool_(2),
    "bfloat16(1.5)": lambda np_, x: np_.bfloat16(1.5),
    "int32(x)": lambda np_, x: np_.int32(x),
}


@pytest.mark.parametrize("name", WEAK)
def test_creation_and_conversion_types(name):
    _both(lambda np_, lax, T, x: WEAK[name](np_, np_.asarray(x)), F32)


@pytest.mark.parametrize("name", [n for n in WEAK if "array" in n or "astype" in n
                                  or n in ("full(3)", "zeros_like(2.0)", "float32(weak)")])
def test_creation_and_conversion_types_under_jit(name):
    _both(lambda np_, lax, T, x: T.jit(lambda v: WEAK[name](np_, v))(x), F32)


def test_scalar_types_work_as_dtypes():
    for name in ("bool_", "int8", "uint32", "float16", "bfloat16", "float32", "complex64"):
        j, f = getattr(jnp, name), getattr(fnp, name)
        assert np.dtype(f) == np.dtype(j)
        assert (fnp.zeros(2, f).dtype == f) == (jnp.zeros(2, j).dtype == j)
        assert (f == np.dtype(j).type) == (j == np.dtype(j).type)
        assert ({np.dtype(j).type: 1}.get(f)) == ({np.dtype(j).type: 1}.get(j))
        assert isinstance(np.dtype(j).type(1), f) == isinstance(np.dtype(j).type(1), j)
        assert isinstance(fnp.asarray(1, f), f) == isinstance(jnp.asarray(1, j), j)
    assert np.zeros(2, fnp.float32).dtype == np.float32
    assert fnp.ones(3).astype(fnp.int8).dtype == np.int8


# --- 3. dtype classes and issubdtype ---------------------------------------------------

CLASSES = ("generic", "number", "inexact", "floating", "complexfloating", "integer",
           "signedinteger", "unsignedinteger", "bool_", "character", "flexible")
TYPES = ("bool_", "int8", "int32", "uint8", "uint64", "float16", "bfloat16", "float32",
         "float64", "complex64")


def test_dtype_classes_are_jax_s():
    for name in CLASSES:
        if name != "bool_":
            assert getattr(fnp, name) is getattr(jnp, name)


@pytest.mark.parametrize("sub", TYPES + ("py_bool", "py_int", "py_float", "str_float32",
                                         "dtype_of_array"))
def test_issubdtype(sub):
    def arg(np_, name):
        return {"py_bool": bool, "py_int": int, "py_float": float, "str_float32": "float32",
                "dtype_of_array": np_.zeros(2).dtype}.get(name) or getattr(np_, name)

    for sup in CLASSES + TYPES:
        j = jnp.issubdtype(arg(jnp, sub), getattr(jnp, sup))
        f = fnp.issubdtype(arg(fnp, sub), getattr(fnp, sup))
        assert f == j, (sub, sup, f, j)


# --- 4. x.at[] methods -------------------------------------------------------------------

X = np.arange(1.0, 6.0, dtype=np.float32)
IDX = np.array([0, -1, 1, 1], np.int32)

AT = {
    "subtract": lambda np_, x: x.at[IDX].subtract(2.0),
    "divide": lambda np_, x: x.at[IDX].divide(2.0),
    "power": lambda np_, x: x.at[1].power(3.0),
    "power dup": lambda np_, x: x.at[IDX].power(2.0),
    "divide int x": lambda np_, x: x.astype(np_.int32).at[1].divide(2),
    "apply": lambda np_, x: x.at[IDX].apply(np_.sin),
    "apply clip": lambda np_, x: x.at[np.array([7, 0])].apply(np_.exp, mode="clip"),
    "apply drop": lambda np_, x: x.at[np.array([7, 0])].apply(np_.exp, mode="drop"),
    "hints": lambda np_, x: x.at[np.array([0, 2])].add(1.0, indices_are_sorted=True,
                                                       unique_indices=True),
    "get hints": lambda np_, x: x.at[np.array([0, 2])].get(indices_are_sorted=True,
                                                           unique_indices=True),
    "no wrap set int": lambda np_, x: x.at[-1].set(9.0, wrap_negative_indices=False),
    "no wrap set array": lambda np_, x: x.at[IDX].set(9.0, wrap_negative_indices=False),
    "no wrap slice": lambda np_, x: x.at[-2:].set(9.0, wrap_negative_indices=False),
    "no wrap get": lambda np_, x: x.at[-1].get(wrap_negative_indices=False),
    "no wrap get clip": lambda np_, x: x.at[-1].get(mode="clip", wrap_negative_indices=False),
    "no wrap get fill": lambda np_, x: x.at[IDX].get(mode="fill", wrap_negative_indices=False),
    "no wrap add clip": lambda np_, x: x.at[IDX].add(1.0, mode="clip",
                                                     wrap_negative_indices=False),
    "no wrap 2d": lambda np_, x: np_.stack([x, x]).at[..., -1].set(0.0,
                                                                  wrap_negative_indices=False),
    "no wrap 2d tuple": lambda np_, x: np_.stack([x, x]).at[-1, IDX].multiply(
        2.0, wrap_negative_indices=False),
    "no wrap bool mask": lambda np_, x: np_.stack([x, x]).at[np.array([True, False]), -1].set(
        0.0, wrap_negative_indices=False),
    "no wrap apply": lambda np_, x: x.at[IDX].apply(np_.cos, wrap_negative_indices=False),
}


@pytest.mark.parametrize("name", AT)
def test_at_methods(name):
    _both_jit(lambda np_, lax, T, x: AT[name](np_, np_.asarray(x)), X)


# (not "apply": jax.grad raises NotImplementedError for scatter_apply, functrans
# differentiates it; reported in issue 15)
@pytest.mark.parametrize("name", ["subtract", "divide", "power dup", "no wrap set array"])
def test_at_methods_grad(name):
    _both(lambda np_, lax, T, x: T.grad(lambda v: AT[name](np_, v).sum())(x), X)


# --- 5. shapes and ranges known under grad ------------------------------------------------

STATIC = {
    "zeros(n)": lambda np_, x: (np_.zeros(x.astype(int)) + x).sum(),
    "ones((n, 2))": lambda np_, x: (np_.ones((x.astype(int), 2)) * x).sum(),
    "full_like shape": lambda np_, x: (np_.full_like(x, 2.0, shape=(x.astype(int),)) * x).sum(),
    "arange(n)": lambda np_, x: (np_.arange(x.astype(int)) * x).sum(),
    "arange(x)": lambda np_, x: np_.arange(x).sum() * x,
    "arange(1, x, 0.5)": lambda np_, x: (np_.arange(1, x, 0.5) * x).sum(),
}


@pytest.mark.parametrize("name", STATIC)
def test_static_values_under_grad(name):
    _both(lambda np_, lax, T, x: T.grad(lambda v: STATIC[name](np_, v))(x), np.float32(3.0))


@pytest.mark.parametrize("name", STATIC)
def test_static_values_under_jit_and_vmap_raise(name):
    _both(lambda np_, lax, T, x: T.jit(lambda v: STATIC[name](np_, v))(x), np.float32(3.0))
    _both(lambda np_, lax, T, x: T.vmap(lambda v: STATIC[name](np_, v))(x),
          np.array([3.0, 3.0], np.float32))


def test_concrete_array_shapes_eagerly():
    _both(lambda np_, lax, T: np_.zeros(np_.asarray(3)))
    _both(lambda np_, lax, T: np_.zeros((np_.asarray(3), np.int64(2))))
    _both(lambda np_, lax, T: np_.arange(np_.asarray(3.0)))
