"""Types JAX gives that functrans must give too (issue 15: no silent differences).

jax is the oracle: each case runs the same program through ``jax``/``jax.numpy``
and ``functrans``/``functrans.numpy`` and compares values, dtypes and weak
types, or that both raise the same kind of error.

* weakly typed loop carries (scan, fori_loop, while_loop, cond/switch, map),
  eagerly and under jit, vmap, jvp and grad;
* jit's argument specification checked at ``jit`` time (static/donate argnums
  and argnames against the signature), and functions with any name;
* Python ints that do not fit the default int dtype: an OverflowError, and the
  conversion of a Python int operand as JAX does it (``dtypes.scalar_to_numpy``);
* random samplers in float32, float16 and bfloat16: JAX's numbers for the same
  key, bit for bit, eagerly and under jit and vmap.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
import functrans.random as fr
from functrans import dtypes
from functrans import lax as flax
from jax import lax as jlax
from jax_oracle import assert_same_as_jax

JAX = (jnp, jlax, jax)
FT = (fnp, flax, ft)


def _same(j_out, f_out):
    assert_same_as_jax(j_out, f_out)


def _both(program):
    """Runs ``program(numpy, lax, api)`` with jax and functrans; same result or same error."""
    try:
        j_out = program(*JAX)
    except Exception as e:  # noqa: BLE001  (the oracle's error type is what we compare)
        with pytest.raises(type(e)):
            program(*FT)
        return
    _same(j_out, program(*FT))


# --- 1. weakly typed loop carries -------------------------------------------------------

LOOPS = {
    "scan int init, float xs": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), 0, np_.arange(3.0)),
    "scan float init keeps weak ys": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), 0.0, np_.arange(3.0)),
    "scan int init, int xs": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), 0, np_.arange(3)),
    "scan weak body output": lambda np_, lax, T: lax.scan(
        lambda c, x: (c * 1.5, c), 0, None, length=3),
    "scan float16 xs": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), 0.0, np_.arange(3.0, dtype=np_.float16)),
    "scan int init, int8 xs": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), 0, np_.arange(3, dtype=np_.int8)),
    "scan float init, complex xs": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), 0.0, np_.ones(3, np_.complex64)),
    "scan strong carry, weak out": lambda np_, lax, T: lax.scan(
        lambda c, x: (1.0, c), np_.float32(0), None, length=2),
    "scan strong int becomes float (error)": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), np_.int32(0), np_.arange(3.0)),
    "scan weak carry changes shape (error)": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), 0.0, np_.ones((3, 2))),
    "scan bool init (error)": lambda np_, lax, T: lax.scan(
        lambda c, x: (c + x, c), False, np_.arange(3)),
    "scan float init, int out (error)": lambda np_, lax, T: lax.scan(
        lambda c, x: (x, c), 0.0, np_.arange(3)),
    "fori_loop int init * 1.5": lambda np_, lax, T: lax.fori_loop(
        0, 3, lambda i, c: c * 1.5, 1),
    "fori_loop weak index": lambda np_, lax, T: lax.fori_loop(0, 3, lambda i, c: c + i, 1),
    "fori_loop int16 bounds": lambda np_, lax, T: lax.fori_loop(
        np_.int16(0), np_.int16(3), lambda i, c: c + i, 1),
    "fori_loop mixed strong bounds (error)": lambda np_, lax, T: lax.fori_loop(
        np_.int32(0), np_.int16(3), lambda i, c: c + i, 1),
    "fori_loop traced bounds": lambda np_, lax, T: T.jit(
        lambda n: lax.fori_loop(0, n, lambda i, c: c * 1.5, 1))(3),
    "fori_loop traced int16 bound": lambda np_, lax, T: T.jit(
        lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 1))(np_.int16(3)),
    "while_loop int init + 0.5": lambda np_, lax, T: lax.while_loop(
        lambda c: c < 3, lambda c: c + 0.5, 0),
    "while_loop int init + float32": lambda np_, lax, T: lax.while_loop(
        lambda c: c < 3, lambda c: c + np_.float32(0.5), 0),
    "while_loop float init + 1": lambda np_, lax, T: lax.while_loop(
        lambda c: c < 3, lambda c: c + 1, 0.0),
    "while_loop tuple": lambda np_, lax, T: lax.while_loop(
        lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2.0), (0, 1)),
    "while_loop strong carry, weak out": lambda np_, lax, T: lax.while_loop(
        lambda c: c < 1, lambda c: 1.0, np_.float32(0)),
    "while_loop strong int becomes float (error)": lambda np_, lax, T: lax.while_loop(
        lambda c: c < 3, lambda c: c + 0.5, np_.int32(0)),
    "cond weak and strong float32": lambda np_, lax, T: lax.cond(
        True, lambda: 1.0, lambda: np_.float32(2.0)),
    "cond weak int vs float (error)": lambda np_, lax, T: lax.cond(
        True, lambda: 1, lambda: np_.float32(2.0)),
    "cond weak float vs float16 (error)": lambda np_, lax, T: lax.cond(
        False, lambda: 1.0, lambda: np_.float16(2.0)),
    "switch int, float, float16 (error)": lambda np_, lax, T: lax.switch(
        2, [lambda: 1, lambda: 2.0, lambda: np_.float16(3)]),
    "cond under jit": lambda np_, lax, T: T.jit(
        lambda p: lax.cond(p, lambda: 1.0, lambda: 2.0))(True),
    "cond batched predicate": lambda np_, lax, T: T.vmap(
        lambda p: lax.cond(p, lambda: 1.0, lambda: np_.float32(2.0)))(np_.array([True, False])),
    "map weak": lambda np_, lax, T: lax.map(lambda x: x * 1.5, np_.arange(3)),
    "map constant": lambda np_, lax, T: lax.map(lambda x: 2.0, np_.arange(3)),
    "jit scan": lambda np_, lax, T: T.jit(
        lambda xs: lax.scan(lambda c, x: (c + x, c), 0, xs))(np_.arange(3.0)),
    "jit while_loop": lambda np_, lax, T: T.jit(
        lambda a: lax.while_loop(lambda c: c < a, lambda c: c + 0.5, 0))(3.0),
    "vmap scan": lambda np_, lax, T: T.vmap(
        lambda xs: lax.scan(lambda c, x: (c + x, c), 0, xs))(np_.ones((2, 3))),
    "vmap while_loop": lambda np_, lax, T: T.vmap(
        lambda a: lax.while_loop(lambda c: c < a, lambda c: c + 0.5, 0))(np_.arange(3.0)),
    "jvp while_loop": lambda np_, lax, T: T.jvp(
        lambda a: lax.while_loop(lambda c: c < 3, lambda c: c + a, 0), (0.5,), (1.0,)),
    "jvp scan": lambda np_, lax, T: T.jvp(
        lambda a: lax.scan(lambda c, x: (c * a + x, c), 1, np_.arange(3.0)),
        (np_.float32(0.5),), (np_.float32(1.0),)),
}


@pytest.mark.parametrize("name", list(LOOPS))
def test_weak_loop_carries(name):
    _both(LOOPS[name])


@pytest.mark.parametrize("name,program", [
    ("scan", lambda np_, lax, T, a: lax.scan(
        lambda c, x: (c + a * x, c), 0, np_.arange(3.0))[0]),
    ("fori_loop", lambda np_, lax, T, a: lax.fori_loop(0, 3, lambda i, c: c * a, 1)),
    ("fori_loop via while", lambda np_, lax, T, a: lax.fori_loop(
        0, 3, lambda i, c: c * a + i, 1)),
])
def test_weak_loop_carries_grad(name, program):
    # (values and dtypes; grad's own weak type is not part of this check)
    a = np.float32(2.0)
    j = jax.grad(lambda a: program(*JAX, a))(a)
    f = ft.grad(lambda a: program(*FT, a))(a)
    assert np.asarray(f).dtype == np.asarray(j).dtype
    np.testing.assert_allclose(np.asarray(f), np.asarray(j), rtol=1e-6)


# --- 2. jit argument checks and function names ------------------------------------------


def _one(x):
    return x * 2


def _two(x, y):
    return x + y


def _varargs(*args):
    return args[-1]


def _varkw(x, **kw):
    return x


def _pos_only(x, /, y):
    return x + y


def _kw_only(x, *, y):
    return x + y


JIT_SPECS = [
    (_one, dict(static_argnums=5)), (_one, dict(static_argnums=1)),
    (_one, dict(static_argnums=-1)), (_one, dict(static_argnums=-2)),
    (_one, dict(static_argnums=(0, 5))), (_one, dict(static_argnames="z")),
    (_one, dict(static_argnames="x")), (_one, dict(donate_argnums=3)),
    (_one, dict(donate_argnums=-2)), (_one, dict(donate_argnames="z")),
    (_varargs, dict(static_argnums=5)), (_varargs, dict(static_argnums=-5)),
    (_varargs, dict(donate_argnums=7)), (_varargs, dict(static_argnums=0, donate_argnums=0)),
    (_varkw, dict(static_argnames="z")), (_varkw, dict(static_argnums=3)),
    (_pos_only, dict(static_argnames="x")), (_pos_only, dict(static_argnames="y")),
    (_kw_only, dict(static_argnames="y")), (_kw_only, dict(static_argnums=1)),
    (_two, dict(static_argnums=0, donate_argnums=0)),
    (_two, dict(static_argnames="x", donate_argnums=0)),
    (_two, dict(static_argnames="x", donate_argnames="x")),
    (_two, dict(static_argnums=0, donate_argnames="x")),
    (_two, dict(static_argnums=0, static_argnames="y")),
    (functools.partial(_two, 1), dict(static_argnums=1)),
    (functools.partial(_two, 1), dict(static_argnums=0)),
    (functools.partial(_two, y=1), dict(static_argnums=1)),
    (max, dict(static_argnums=5)),
    (_one, dict(static_argnums="0")), (_one, dict(static_argnums=1.0)),
]


@pytest.mark.parametrize("fun,spec", JIT_SPECS,
                         ids=[f"{getattr(f, '__name__', 'partial')}-{s}" for f, s in JIT_SPECS])
def test_jit_argument_spec_checked_at_jit_time(fun, spec):
    try:
        jax.jit(fun, **spec)
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e)):
            ft.jit(fun, **spec)
    else:
        ft.jit(fun, **spec)


def test_jit_static_numbers_and_names_given_together_are_not_inferred():
    # as in JAX: static_argnums=0 with static_argnames="y" keeps a positional y traced
    def f(x, y):
        return x + y if isinstance(y, int) else x - y
    for mod, np_ in ((jax, jnp), (ft, fnp)):
        g = mod.jit(f, static_argnums=0, static_argnames="y")
        np.testing.assert_array_equal(np.asarray(g(1, np_.ones(2))), [0.0, 0.0])
        assert g(1, y=3) == 4
        g = mod.jit(f, static_argnums=(), static_argnames="y")    # () counts as given
        np.testing.assert_array_equal(np.asarray(g(np_.ones(2), 3)), [-2.0, -2.0])
        np.testing.assert_array_equal(np.asarray(g(np_.ones(2), y=3)), [4.0, 4.0])


def test_jit_donate_argnames():
    g = ft.jit(lambda x, y: x + y, donate_argnames="y")
    a, b = fnp.ones(2), fnp.ones(2)
    np.testing.assert_array_equal(np.asarray(g(a, y=b)), [2.0, 2.0])
    np.testing.assert_array_equal(np.asarray(a), [1.0, 1.0])
    with pytest.raises(RuntimeError):   # as jax: the donated array is deleted
        np.asarray(b)


def 名前(x):
    return x * 2


class _OddName:
    __name__ = "odd name.with-chars!"

    def __call__(self, x):
        return x + 1


class _NoName:
    def __call__(self, x):
        return x + 1


@pytest.mark.parametrize("fun", [名前, lambda x: x - 1, functools.partial(lambda x, y: x * y, 3.0),
                                 _OddName(), _NoName()])
def test_jit_any_function_name(fun):
    x = np.arange(3.0, dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(ft.jit(fun)(fnp.asarray(x))),
                                  np.asarray(jax.jit(fun)(jnp.asarray(x))))
    assert "module @" in ft.jit(fun).lower(fnp.asarray(x)).as_text()


# --- 3. Python ints beyond the default int dtype ---------------------------------------

BIG_INTS = [2 ** 70, -2 ** 70, 2 ** 63, -2 ** 63, -2 ** 63 - 1, 2 ** 40, 2 ** 31, -2 ** 31 - 1,
            2 ** 31 - 1, -2 ** 31]
SCALAR_PROGRAMS = {
    "asarray": lambda np_, T, b: np_.asarray(b),
    "array": lambda np_, T, b: np_.array(b),
    "jit argument": lambda np_, T, b: T.jit(lambda x: x + 1)(b),
    "lax.add of scalars": lambda np_, T, b: T.lax.add(b, 1),
}


@pytest.mark.parametrize("use_x64", [False, True])
@pytest.mark.parametrize("big", BIG_INTS)
@pytest.mark.parametrize("name", list(SCALAR_PROGRAMS))
def test_python_int_out_of_range(name, big, use_x64, request):
    if use_x64:
        request.getfixturevalue("x64")
    program = SCALAR_PROGRAMS[name]
    try:
        j_out = program(jnp, jax, big)
    except OverflowError:
        with pytest.raises(OverflowError, match="default integer dtype"):
            program(fnp, ft, big)
        return
    _same(j_out, program(fnp, ft, big))


def test_python_int_overflow_message_names_the_jit_argument():
    def f(x, y):
        return x + y
    with pytest.raises(OverflowError, match=r"jit\(f\) argument leaf 1.*enable_x64"):
        ft.jit(f)(1, 2 ** 40)


@pytest.mark.parametrize("use_x64", [False, True])
@pytest.mark.parametrize("dtype,scalar", [
    (np.uint8, 300), (np.int8, 300), (np.int8, -129), (np.uint32, -1), (np.uint16, 2 ** 20),
    (np.int32, 2 ** 31 - 1), (np.float32, 2 ** 31 - 1), (np.float32, 16777217),
    (np.float16, 70000), (jnp.bfloat16, 12345), (np.float32, -2 ** 31),
    (np.int32, 2 ** 40), (np.float32, 2 ** 40), (np.float32, 2 ** 62 + 1), (np.int16, 2 ** 70),
])
def test_scalar_to_numpy_converts_like_jax(dtype, scalar, use_x64, request):
    # jax's value of (an array of dtype) + (a Python int), against numpy's sum with the
    # converted scalar; or the OverflowError jax raises
    if use_x64:
        request.getfixturevalue("x64")
    dtype = np.dtype(dtype)
    try:
        expected = jnp.zeros(2, dtype) + scalar
    except OverflowError:
        with pytest.raises(OverflowError):
            dtypes.scalar_to_numpy(scalar, dtype)
        return
    got = np.zeros(2, dtype) + dtypes.scalar_to_numpy(scalar, dtype)
    assert got.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(got, np.asarray(expected))


# --- 4. random samplers: JAX's bits in every float dtype -----------------------------------

N = (257,)
_W = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], np.float32)   # weights whose running sums are exact
SAMPLERS = {
    "uniform": lambda R, np_, k, dt: R.uniform(k, N, dt, -3.0, 5.0),
    "normal": lambda R, np_, k, dt: R.normal(k, N, dt),
    "truncated_normal": lambda R, np_, k, dt: R.truncated_normal(k, -1.5, 2.0, N, dt),
    "bernoulli": lambda R, np_, k, dt: R.bernoulli(k, np_.asarray(0.3, dt), N),
    "bernoulli high": lambda R, np_, k, dt: R.bernoulli(k, np_.asarray(0.3, dt), N, mode="high"),
    "gumbel": lambda R, np_, k, dt: R.gumbel(k, N, dt),
    "gumbel high": lambda R, np_, k, dt: R.gumbel(k, N, dt, mode="high"),
    "categorical axis 0": lambda R, np_, k, dt: R.categorical(
        k, np_.log(np_.asarray(_W, dt).reshape(5, 2)), axis=0, shape=(7, 2)),
    "categorical without replacement": lambda R, np_, k, dt: R.categorical(
        k, np_.log(np_.asarray(_W, dt).reshape(2, 5)), shape=(3, 2), replace=False),
    "choice p": lambda R, np_, k, dt: R.choice(k, 10, N, p=np_.asarray(_W, dt)),
    "choice p without replacement": lambda R, np_, k, dt: R.choice(
        k, 10, (6,), replace=False, p=np_.asarray(_W, dt)),
    "choice of an array with p": lambda R, np_, k, dt: R.choice(
        k, np_.arange(20.0, dtype=dt).reshape(10, 2), (3, 4), p=np_.asarray(_W, dt)),
}
_DTYPES = {"f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
           "bf16": np.dtype(jnp.bfloat16)}


def _bit_equal(j, f):
    j, f = np.asarray(j), np.asarray(f)
    assert f.dtype == j.dtype and f.shape == j.shape, (f.dtype, f.shape, j.dtype, j.shape)
    if j.dtype.kind in "fcV" or j.dtype == jnp.bfloat16:
        j, f = j.view(np.uint8), f.view(np.uint8)
    np.testing.assert_array_equal(f, j)


_P40 = np.random.default_rng(0).random(40).astype(np.float32)   # running sums that round


_SAMPLERS_BY_DTYPE = {
    "f16": ["uniform", "normal", "truncated_normal", "bernoulli", "gumbel", "categorical axis 0",
            "choice p", "choice p without replacement"],
    "f32": ["bernoulli high", "gumbel high", "categorical without replacement",
            "choice of an array with p", "choice p, rounding sums",
            "choice p, rounding sums, without replacement"],
}
_SAMPLERS_BY_DTYPE["bf16"] = _SAMPLERS_BY_DTYPE["f16"]
SAMPLERS["choice p, rounding sums"] = lambda R, np_, k, dt: R.choice(
    k, 40, (300,), p=np_.asarray(_P40))
SAMPLERS["choice p, rounding sums, without replacement"] = lambda R, np_, k, dt: R.choice(
    k, 40, (7,), replace=False, p=np_.asarray(_P40))
# (in 16-bit floats "rounding sums" needs cumsum to add in the operand's dtype, as XLA's does;
# float32 uniform and normal are tested in test_random.py)


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_random_samplers_match_jax_bits(dtype):
    # functrans eagerly against jax, whose samplers run in one jit so that the oracle
    # compiles once (truncated_normal eagerly: under an outer jit its bounds become
    # constants that XLA folds with its own erf)
    names = _SAMPLERS_BY_DTYPE[dtype]
    dtype = _DTYPES[dtype]
    jitted = [n for n in names if n != "truncated_normal"]
    expected = jax.jit(lambda k: {n: SAMPLERS[n](jax.random, jnp, k, dtype) for n in jitted})(
        jax.random.PRNGKey(7))
    for name in names:
        want = (expected[name] if name in expected
                else SAMPLERS[name](jax.random, jnp, jax.random.PRNGKey(7), dtype))
        try:
            _bit_equal(want, SAMPLERS[name](fr, fnp, fr.key(7), dtype))
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None


def test_random_samplers_match_jax_bits_under_jit_and_vmap():
    def draws(R, np_, k):
        return [R.choice(k, 4, (6,), p=np_.asarray([1.0, 2.0, 3.0, 4.0], np_.bfloat16))]
    keys = np.asarray(jax.random.split(jax.random.PRNGKey(3), 4))
    expected = jax.vmap(lambda k: draws(jax.random, jnp, k))(jnp.asarray(keys))
    for j, f in zip(expected, ft.jit(ft.vmap(lambda k: draws(fr, fnp, k)))(fnp.asarray(keys))):
        _bit_equal(j, f)


RANDINTS = [(0, 10, None), (0, 10, np.uint32), (0, 256, np.uint8), (-5, 100, np.int8),
            (-5, 1000, np.int16), (-2 ** 31, 2 ** 31 - 1, np.int32), (5, 3, np.int32),
            (0, 65536, np.uint16), (0.0, 7.9, np.int32)]


def test_random_randint_matches_jax():
    draw = lambda R, np_, k: [R.randint(k, (300,), lo, hi, dt) for lo, hi, dt in RANDINTS] + [
        R.randint(k, (3, 4), np_.arange(4), 10)]
    for j, f in zip(jax.jit(lambda k: draw(jax.random, jnp, k))(jax.random.PRNGKey(2)),
                    draw(fr, fnp, fr.key(2))):
        _bit_equal(j, f)


def test_random_float64_and_complex_match_jax_bits(x64):
    for dtype in (np.float64, np.complex64):
        _bit_equal(jax.random.normal(jax.random.PRNGKey(1), N, dtype),
                   fr.normal(fr.key(1), N, dtype))


@pytest.mark.parametrize("program", [
    lambda R, np_, k: R.choice(k, 5, 3),                             # shape must be a tuple
    lambda R, np_, k: R.choice(k, np_.arange(4.0), (0,)),            # nothing drawn
    lambda R, np_, k: R.choice(k, 0, (0,)),
    lambda R, np_, k: R.choice(k, 5, (3,), p=np_.asarray([1, 1, 1, 1, 1])),   # int weights
    lambda R, np_, k: R.bernoulli(k, 1, (2,)),                        # p must be a float
])
def test_random_edge_cases_like_jax(program):
    try:
        j = program(jax.random, jnp, jax.random.PRNGKey(0))
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e)):
            program(fr, fnp, fr.key(0))
        return
    _bit_equal(j, program(fr, fnp, fr.key(0)))
