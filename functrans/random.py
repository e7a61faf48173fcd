"""functrans.random: a functional, counter-based pseudo-random number generator.

Keys are values. A key is a ``uint32[2]`` array; nothing is mutated and there
is no global state: the same key always gives the same numbers, so a program
that threads its keys explicitly is reproducible, and ``jit``, ``vmap`` and
``grad`` treat random numbers like any other function of their inputs.

    >>> import functrans.random as fr
    >>> key = fr.key(0)
    >>> key, sub = fr.split(key)
    >>> x = fr.normal(sub, (3,))

Use every key once: pass it to one sampler, or ``split`` it into new keys.

The generator is Threefry-2x32 (20 rounds; Salmon et al., "Parallel random
numbers: as easy as 1, 2, 3", SC 2011), written with uint32 primitives
(add, xor, shifts), so it runs eagerly, under ``jit`` (lowered to StableHLO
like any other function) and under ``vmap`` (a batch of keys). Bits are
derived the way JAX derives them with ``jax_threefry_partitionable`` (its
default): element ``i`` of a draw of shape ``s`` is Threefry of the key
applied to the 64-bit counter ``i`` split into two words; so the same key
gives the same bits here as in JAX for ``bits``, ``split``, ``fold_in``. The
samplers follow JAX's algorithms and run their bodies as one jitted XLA
computation each, as JAX does, so the same key gives JAX's numbers bit for
bit in every float dtype (tested against JAX for uniform, normal,
truncated_normal, bernoulli, gumbel, categorical, randint, permutation and
choice in float32, float16 and bfloat16). The first call of a sampler for a
new shape or dtype compiles it.

``key(seed)`` and ``PRNGKey(seed)`` are the same function here: both return
a raw ``uint32[2]`` key (JAX's typed key arrays are not modelled).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import dtypes
from .config import config
from . import numpy as fnp
from . import lax
from .core import Tracer, get_aval
from .jit import jit

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_KS_PARITY = 0x1BD11BDA


# --- the generator ------------------------------------------------------------------------------


def _u32(x):
    return np.uint32(x)


def _rotl(x, d: int):
    return lax.shift_left(x, _u32(d)) | lax.shift_right_logical(x, _u32(32 - d))


def threefry_2x32(key, x0, x1):
    """Threefry-2x32 (20 rounds) of the counter words ``(x0, x1)`` under ``key``.

    Args:
      key: a ``uint32[2]`` key.
      x0, x1: uint32 arrays of one shape: the two words of each counter.

    Returns:
      The two uint32 output words, each of that shape.
    """
    k0, k1 = key[0], key[1]
    ks = (k0, k1, k0 ^ k1 ^ _u32(_KS_PARITY))
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r)
            x1 = x0 ^ x1
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + _u32(i + 1)
    return x0, x1


def _check_key(fn: str, key):
    aval = get_aval(key)
    if aval.dtype != np.uint32 or aval.shape[-1:] != (2,):
        raise TypeError(f"random.{fn}: expected a key (a uint32[2] array made by "
                        f"functrans.random.key or split), got {aval.str_short()}")
    if aval.shape != (2,):
        raise ValueError(f"random.{fn}: expected a single key of shape (2,), got a batch of keys "
                         f"{aval.str_short()}; use functrans.vmap to apply {fn} to each key")
    return key if isinstance(key, Tracer) else fnp.asarray(key)


def _shape(fn: str, shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"random.{fn}: shape must be a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"random.{fn}: negative dimension in shape {shape}")
    return shape


def _counters(shape):
    """The flat index of every element of ``shape`` as two uint32 words (hi, lo)."""
    n = math.prod(shape)
    if n >= 2 ** 64:
        raise ValueError(f"random: cannot draw {n} numbers with one key (at most 2**64)")
    if n <= 2 ** 32:
        lo = lax.iota(np.uint32, n) if n else fnp.zeros((0,), np.uint32)
        hi = fnp.zeros((n,), np.uint32)
    else:  # pragma: no cover  (more than 4e9 numbers)
        idx = np.arange(n, dtype=np.uint64)
        hi = fnp.asarray((idx >> 32).astype(np.uint32))
        lo = fnp.asarray((idx & 0xFFFFFFFF).astype(np.uint32))
    return fnp.reshape(hi, shape), fnp.reshape(lo, shape)


def _bits32_pair(key, shape):
    hi, lo = _counters(shape)
    return threefry_2x32(key, hi, lo)


# --- keys ---------------------------------------------------------------------------------------


def key(seed) -> "fnp.ndarray":
    """A key from an integer seed: ``uint32[2]``.

    In 64-bit mode the seed's high 32 bits become the first word; otherwise the
    seed is taken as a 32-bit integer and the first word is 0 (as in JAX).

    Args:
      seed: a Python int or an integer scalar array (may be traced).

    Example:
        >>> import functrans.random as fr
        >>> fr.key(42)
        Array([ 0, 42], dtype=uint32)
    """
    x64 = config.enable_x64
    if isinstance(seed, (bool, np.bool_)) or (
            not isinstance(seed, (int, np.integer)) and not dtypes.is_int(get_aval(seed).dtype)):
        raise TypeError(f"random.key: seed must be an integer, got {seed!r:.60}")
    if isinstance(seed, (int, np.integer)):
        seed = int(seed)
        if x64:
            if not -2 ** 63 <= seed < 2 ** 64:
                raise OverflowError(f"random.key: seed {seed} does not fit in 64 bits")
            hi, lo = (seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF
        else:
            if not -2 ** 63 <= seed < 2 ** 64:
                raise OverflowError(f"random.key: seed {seed} does not fit in 64 bits")
            hi, lo = 0, seed & 0xFFFFFFFF
        return fnp.asarray(np.array([hi, lo], np.uint32))
    seed = fnp.asarray(seed)
    if seed.shape != ():
        raise TypeError(f"random.key: seed must be a scalar, got shape {seed.shape}")
    lo = lax.convert_element_type(seed, np.uint32)
    if seed.dtype.itemsize == 8:
        hi = lax.convert_element_type(lax.shift_right_logical(seed, np.array(32, seed.dtype)),
                                      np.uint32)
    else:
        hi = fnp.zeros((), np.uint32)
    return fnp.stack([hi, lo])


PRNGKey = key


def split(key, num: int = 2):
    """``num`` new independent keys from ``key``: shape ``(num, 2)``.

    Example:
        >>> import functrans.random as fr
        >>> k1, k2 = fr.split(fr.key(0))
    """
    key = _check_key("split", key)
    if isinstance(num, tuple):
        shape = _shape("split", num)
    else:
        shape = _shape("split", (num,))
    b0, b1 = _bits32_pair(key, shape)
    return fnp.stack([b0, b1], axis=-1)


def fold_in(key, data):
    """A new key from ``key`` and an integer ``data`` (e.g. a step number)."""
    key = _check_key("fold_in", key)
    if isinstance(data, (int, np.integer)):
        data = fnp.asarray(np.uint32(int(data) & 0xFFFFFFFF))
    else:
        data = lax.convert_element_type(fnp.asarray(data), np.uint32)
    y0, y1 = threefry_2x32(key, fnp.zeros((1,), np.uint32), fnp.reshape(data, (1,)))
    return fnp.concatenate([y0, y1])


def bits(key, shape=(), dtype=np.uint32):
    """Uniformly random unsigned integers (all bits random) of ``shape``."""
    key = _check_key("bits", key)
    shape = _shape("bits", shape)
    dtype = np.dtype(dtype)
    if dtype.kind != "u":
        raise TypeError(f"random.bits: dtype must be an unsigned integer type, got {dtype}")
    b0, b1 = _bits32_pair(key, shape)
    if dtype.itemsize == 8:
        dtype = dtypes.canonicalize(dtype)
        if dtype.itemsize != 8:
            raise TypeError("random.bits: uint64 needs 64-bit mode "
                            "(functrans.config.update('enable_x64', True))")
        hi = lax.convert_element_type(b0, dtype)
        lo = lax.convert_element_type(b1, dtype)
        return lax.shift_left(hi, np.array(32, dtype)) | lo
    out = b0 ^ b1
    return out if dtype == np.uint32 else lax.convert_element_type(out, dtype)


# --- samplers -----------------------------------------------------------------------------------
#
# Each sampler's body is one jitted function with its shape and dtype static, as
# in JAX, so it runs as one XLA computation even eagerly: the same HLO on the same
# compiler gives JAX's numbers bit for bit, transcendental functions (erf_inv,
# log) and 16-bit float arithmetic included, where op-by-op numpy would differ
# in the last bits.


def _float_dtype(fn: str, dtype, complex_ok: bool = False):
    dtype = dtypes.canonicalize(np.dtype(dtype) if dtype is not None else dtypes.default_float())
    if not (dtypes.is_float(dtype) or (complex_ok and dtypes.is_complex(dtype))):
        raise TypeError(f"random.{fn}: dtype must be a floating-point type, got {dtype}")
    return dtype


_UINTS = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32),
          64: np.dtype(np.uint64)}


def _uniform01_bits(key, shape, dtype):
    """Floats in [0, 1) as JAX makes them: random mantissa bits under the exponent of
    1.0, minus 1. A float of ``nbits`` bits takes ``nbits`` random bits (the low
    ones of each 32-bit draw), except bfloat16, whose 7 mantissa bits take 8."""
    finfo = dtypes.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    rng_bits = 8 if nmant < 8 else nbits
    udtype = _UINTS[nbits]
    raw = bits(key, shape, _UINTS[rng_bits])
    if rng_bits != nbits:
        raw = lax.convert_element_type(raw, udtype)
    one_bits = np.array(1.0, dtype).view(udtype)
    fbits = lax.shift_right_logical(raw, np.array(rng_bits - nmant, udtype)) | one_bits
    return lax.bitcast_convert_type(fbits, dtype) - np.array(1.0, dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _uniform(key, minval, maxval, shape, dtype):
    minval = lax.convert_element_type(minval, dtype)
    maxval = lax.convert_element_type(maxval, dtype)
    floats = _uniform01_bits(key, shape, dtype)
    return fnp.maximum(minval, fnp.broadcast_to(floats * (maxval - minval) + minval, shape))


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)`` (JAX's values for the same key).

    Example:
        >>> import functrans.random as fr
        >>> u = fr.uniform(fr.key(0), (2, 3))
        >>> bool(((0 <= u) & (u < 1)).all())
        True
    """
    key = _check_key("uniform", key)
    shape = _shape("uniform", shape)
    dtype = _float_dtype("uniform", dtype)
    return _uniform(key, minval, maxval, shape, dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _normal_real(key, shape, dtype):
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    u = _uniform(key, lo, np.array(1.0, dtype), shape, dtype)
    return np.array(np.sqrt(2), dtype) * lax.erf_inv(u)


@functools.partial(jit, static_argnums=(1, 2))
def _normal(key, shape, dtype):
    if not dtypes.is_complex(dtype):
        return _normal_real(key, shape, dtype)
    # real and imaginary parts from two keys, each of variance 1/2 (as in JAX)
    real = dtypes.real_dtype(dtype)
    k_re, k_im = split(key)
    re = lax.convert_element_type(_normal_real(k_re, shape, real), dtype)
    im = lax.convert_element_type(_normal_real(k_im, shape, real), dtype)
    return (re + np.array(1j, dtype) * im) / np.array(np.sqrt(2), dtype)


def normal(key, shape=(), dtype=None):
    """Standard normal floats (by the inverse error function of a uniform draw);
    a complex dtype gives independent real and imaginary parts of variance 1/2."""
    key = _check_key("normal", key)
    shape = _shape("normal", shape)
    dtype = _float_dtype("normal", dtype, complex_ok=True)
    return _normal(key, shape, dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _truncated_normal(key, lower, upper, shape, dtype):
    sqrt2 = np.array(np.sqrt(2), dtype)
    lower = lax.convert_element_type(lower, dtype)
    upper = lax.convert_element_type(upper, dtype)
    a = lax.erf(lower / sqrt2)
    b = lax.erf(upper / sqrt2)
    out = sqrt2 * lax.erf_inv(_uniform(key, a, b, shape, dtype))
    # rounding may land exactly on a bound: keep the result strictly inside
    return fnp.clip(out, fnp.nextafter(lax.stop_gradient(lower), np.array(np.inf, dtype)),
                    fnp.nextafter(lax.stop_gradient(upper), np.array(-np.inf, dtype)))


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal floats conditioned on ``lower < x < upper``.

    ``shape`` defaults to the broadcast shape of ``lower`` and ``upper``.
    """
    key = _check_key("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    if shape is None:
        shape = np.broadcast_shapes(np.shape(lower), np.shape(upper))
    shape = _shape("truncated_normal", shape)
    return _truncated_normal(key, lower, upper, shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _bernoulli(key, p, shape, mode):
    dtype = get_aval(p).dtype
    if mode == "high":
        # a second draw fills in the bits below the first one's resolution
        u = _uniform(key, 0.0, 1.0, (2,) + shape, dtype)
        u1, u2 = u[0], u[1] * np.array(2.0 ** -dtypes.finfo(dtype).nmant, dtype)
        return u2 < p - u1
    return _uniform(key, 0.0, 1.0, shape, dtype) < p


def bernoulli(key, p=0.5, shape=None, mode: str = "low"):
    """Booleans that are True with probability ``p`` (shape defaults to p's).

    Args:
      p: a float or float array (its dtype is the dtype of the uniform draw).
      mode: "low" (one draw per value) or "high" (two draws, correct for
        ``p`` below the dtype's resolution, e.g. ``p < 1e-7`` in float32).
    """
    if mode not in ("low", "high"):
        raise ValueError(f"random.bernoulli: mode must be 'low' or 'high', got {mode!r}")
    key = _check_key("bernoulli", key)
    p = p if isinstance(p, Tracer) else fnp.asarray(p)
    if not dtypes.is_float(get_aval(p).dtype):
        raise TypeError(f"random.bernoulli: p must have a floating-point dtype, got "
                        f"{get_aval(p).str_short()} (write 1.0, not 1)")
    shape = tuple(get_aval(p).shape) if shape is None else _shape("bernoulli", shape)
    return _bernoulli(key, p, shape, mode)


@functools.partial(jit, static_argnums=(1, 2, 3))
def _gumbel(key, shape, dtype, mode):
    finfo = dtypes.finfo(dtype)
    if mode == "high":
        u = _uniform(key, 0.0, 1.0, (2,) + shape, dtype)
        high, low = u[0], u[1]
        x = fnp.where(high >= 0.5, high, high + np.array(2.0 ** -finfo.nmant, dtype) * low
                      + np.array(finfo.tiny, dtype))
        return -fnp.log(-fnp.log1p(-x))
    return -fnp.log(-fnp.log(_uniform(key, np.array(finfo.tiny, dtype), np.array(1.0, dtype),
                                      shape, dtype)))


def gumbel(key, shape=(), dtype=None, mode: str = "low"):
    """Standard Gumbel floats: ``-log(-log(u))``.

    ``mode="high"`` uses two draws per value, for a tail resolved below the
    dtype's resolution (as JAX's ``mode="high"``).
    """
    if mode not in ("low", "high"):
        raise ValueError(f"random.gumbel: mode must be 'low' or 'high', got {mode!r}")
    key = _check_key("gumbel", key)
    shape = _shape("gumbel", shape)
    dtype = _float_dtype("gumbel", dtype)
    return _gumbel(key, shape, dtype, mode)


def _convert_and_clip_integer(val, dtype):
    """``val`` (an integer array) in the integer ``dtype``, clipped to its range, not wrapped."""
    lo = max(int(np.iinfo(dtype).min), int(np.iinfo(val.dtype).min))
    hi = min(int(np.iinfo(dtype).max), int(np.iinfo(val.dtype).max))
    return lax.convert_element_type(
        fnp.clip(val, np.array(lo, val.dtype), np.array(hi, val.dtype)), dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _randint(key, minval, maxval, shape, dtype):
    minval, maxval = fnp.asarray(minval), fnp.asarray(maxval)
    if not dtypes.is_int(minval.dtype):
        minval = lax.convert_element_type(minval, dtypes.default_int())
    if not dtypes.is_int(maxval.dtype):
        maxval = lax.convert_element_type(maxval, dtypes.default_int())
    # randint(key, shape, 0, 256, uint8): a maxval past the dtype's maximum widens the
    # span by one, so that the maximum itself can come out
    too_big = maxval > _convert_and_clip_integer(fnp.asarray(np.iinfo(dtype).max, dtype),
                                                  maxval.dtype)
    too_big = fnp.broadcast_to(too_big, shape)
    minval = fnp.broadcast_to(_convert_and_clip_integer(minval, dtype), shape)
    maxval = fnp.broadcast_to(_convert_and_clip_integer(maxval, dtype), shape)
    nbits = np.iinfo(dtype).bits
    udtype = _UINTS[nbits]
    # two draws per value, combined modulo the span: (nearly) unbiased for any span
    k1, k2 = split(key)
    higher, lower = bits(k1, shape, udtype), bits(k2, shape, udtype)
    span = lax.convert_element_type(maxval - minval, udtype)
    span = fnp.where(maxval <= minval, np.array(1, udtype), span)   # then minval comes out
    span = fnp.where(too_big & (maxval > minval), span + np.array(1, udtype), span)
    multiplier = lax.rem(np.array(2 ** (nbits // 2), udtype), span)
    multiplier = lax.rem(multiplier * multiplier, span)
    offset = lax.rem(lax.rem(higher, span) * multiplier + lax.rem(lower, span), span)
    return minval + lax.convert_element_type(offset, dtype)


def randint(key, shape, minval, maxval, dtype=None):
    """Uniform integers in ``[minval, maxval)`` (JAX's values for the same key).

    Two draws of the dtype's width (at least 32 bits) are combined modulo the
    span, as in JAX; bounds are clipped to the dtype's range, and
    ``maxval <= minval`` gives ``minval``.
    """
    key = _check_key("randint", key)
    shape = _shape("randint", shape)
    dtype = dtypes.canonicalize(np.dtype(dtype) if dtype is not None else dtypes.default_int())
    if not dtypes.is_int(dtype):
        raise TypeError(f"random.randint: dtype must be an integer type, got {dtype}")
    info = np.iinfo(dtype)
    if info.bits >= 32:
        return _randint(key, minval, maxval, shape, dtype)
    # narrower integers are drawn as int32 (unbiased) and converted
    minval = fnp.clip(lax.convert_element_type(fnp.asarray(minval), np.int32),
                      int(info.min), int(info.max))
    maxval = fnp.clip(lax.convert_element_type(fnp.asarray(maxval), np.int32),
                      int(info.min), int(info.max) + 1)
    return lax.convert_element_type(_randint(key, minval, maxval, shape, np.dtype(np.int32)),
                                    dtype)


def categorical(key, logits, axis: int = -1, shape=None, replace: bool = True):
    """Samples category indices with log-probabilities ``logits`` along ``axis``.

    With replacement by the Gumbel-max trick, without by Gumbel top-k (as JAX,
    with the Gumbel noise laid out like ``logits``, so the same key gives JAX's
    samples).
    """
    key = _check_key("categorical", key)
    logits = logits if isinstance(logits, Tracer) else fnp.asarray(logits)
    ndim = logits.ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"random.categorical: axis {axis} is out of range for logits of shape "
                         f"{logits.shape}")
    axis %= ndim
    batch_shape = logits.shape[:axis] + logits.shape[axis + 1:]
    shape = batch_shape if shape is None else _shape("categorical", shape)
    if shape[len(shape) - len(batch_shape):] != batch_shape:
        raise ValueError(f"random.categorical: shape {shape} must end with the logits' batch "
                         f"shape {batch_shape} (logits {logits.shape} without axis {axis})")
    prefix = shape[:len(shape) - len(batch_shape)]
    dtype = logits.dtype if dtypes.is_float(logits.dtype) else None
    if replace:
        noise_shape = prefix + logits.shape
        g = gumbel(key, noise_shape, dtype)
        lg = fnp.reshape(logits, (1,) * len(prefix) + logits.shape)
        return fnp.argmax(g + lg, axis=len(prefix) + axis)
    k = math.prod(prefix)
    if k > logits.shape[axis]:
        raise ValueError(f"random.categorical: cannot take {k} samples without replacement from "
                         f"{logits.shape[axis]} categories")
    noisy = logits + gumbel(key, logits.shape, dtype)
    idx = lax.top_k(fnp.moveaxis(noisy, axis, -1), k)[1]        # batch_shape + (k,)
    return fnp.reshape(fnp.moveaxis(idx, -1, 0), shape)


def permutation(key, x, axis: int = 0, independent: bool = False):
    """A random permutation of ``arange(x)`` (an int) or of ``x`` along ``axis``."""
    key = _check_key("permutation", key)
    if isinstance(x, (int, np.integer)):
        arr = fnp.arange(int(x))
    else:
        arr = fnp.asarray(x)
        if arr.ndim == 0:
            raise ValueError("random.permutation: x must be an int or an array of rank >= 1")
    n = arr.shape[axis]
    # sort by random 32-bit keys; enough rounds that ties (which keep order) are negligible
    rounds = max(1, int(np.ceil(3 * np.log(max(1, n)) / np.log(2.0 ** 32))))
    if independent and arr.ndim > 1:
        perm_shape = arr.shape
        idx = fnp.broadcast_to(
            fnp.reshape(fnp.arange(n), (n,) + (1,) * (arr.ndim - 1 - axis)) if axis == 0
            else fnp.moveaxis(fnp.broadcast_to(fnp.arange(n), arr.shape[:axis] + arr.shape[axis + 1:] + (n,)), -1, axis),
            perm_shape)
        for _ in range(rounds):
            key, sub = split(key)
            order = fnp.argsort(bits(sub, perm_shape), axis=axis, stable=True)
            idx = fnp.take_along_axis(idx, order, axis=axis)
        return fnp.take_along_axis(arr, idx, axis=axis)
    perm = fnp.arange(n)
    for _ in range(rounds):
        key, sub = split(key)
        perm = perm[fnp.argsort(bits(sub, (n,)), stable=True)]
    return fnp.take(arr, perm, axis=axis)


def _search_left(sorted_arr, query):
    """numpy's ``searchsorted(sorted_arr, query)`` (side left) by JAX's method: a binary
    search of ``ceil(log2(n + 1))`` halvings, so unsorted input gives JAX's index too."""
    n = sorted_arr.shape[0]
    idx_dtype = dtypes.default_int()
    low = fnp.zeros(query.shape, idx_dtype)
    high = fnp.full(query.shape, n, idx_dtype)
    for _ in range(int(np.ceil(np.log2(n + 1)))):
        mid = (low + high) // 2
        go_left = query <= fnp.take(sorted_arr, mid, mode="clip")
        low, high = fnp.where(go_left, low, mid), fnp.where(go_left, mid, high)
    return high


@functools.partial(jit, static_argnums=(2,))
def _choice_p_replace(key, p, shape):
    # inverse transform sampling on the running sum of p (not normalized: its last
    # entry scales the draw), as JAX does
    p_cuml = fnp.cumsum(p)
    r = p_cuml[-1] * (1 - _uniform(key, 0.0, 1.0, shape, get_aval(p).dtype))
    return _search_left(p_cuml, r)


@functools.partial(jit, static_argnums=(2,))
def _choice_p_no_replace(key, p, k):
    # Gumbel top-k: the k largest of log p + Gumbel noise
    g = _gumbel(key, tuple(get_aval(p).shape), get_aval(p).dtype, "low") + fnp.log(p)
    return lax.convert_element_type(lax.top_k(g, k)[1], dtypes.default_int())


def choice(key, a, shape=(), replace: bool = True, p=None, axis: int = 0):
    """Random samples from ``arange(a)`` (an int) or the entries of ``a`` along ``axis``.

    The same key gives JAX's samples: uniform integers (``randint``) or a
    ``permutation`` without ``p``; with ``p``, inverse transform sampling on
    ``cumsum(p)`` (with replacement) or Gumbel top-k (without).

    Args:
      shape: a tuple: the sample's shape (it replaces ``a``'s ``axis``).
      replace: sample with replacement.
      p: optional weights of each entry (need not sum to 1).
    """
    key = _check_key("choice", key)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"random.choice: shape must be a tuple, got {shape!r}")
    shape = _shape("choice", shape)
    if isinstance(a, (int, np.integer)):
        n = int(a)
        arr = None
    else:
        arr = fnp.asarray(a)
        if arr.ndim == 0:
            raise ValueError("random.choice: a must be an int or an array of rank >= 1")
        axis = axis % arr.ndim if -arr.ndim <= axis < arr.ndim else axis
        n = arr.shape[axis]
    size = math.prod(shape)
    if size == 0:
        if arr is None:
            return fnp.zeros(shape, dtypes.default_int())
        return fnp.zeros(arr.shape[:axis] + shape + arr.shape[axis + 1:], arr.dtype)
    if n <= 0:
        raise ValueError("random.choice: cannot take a non-empty sample from an empty population")
    if not replace and size > n:
        raise ValueError(f"random.choice: cannot take {size} samples without replacement from "
                         f"a population of {n}")
    if p is None:
        if replace:
            idx = randint(key, shape, 0, n)
        else:
            idx = fnp.reshape(permutation(key, n)[:size], shape)
    else:
        p = p if isinstance(p, Tracer) else fnp.asarray(p)
        if not dtypes.is_inexact(p.dtype):
            p = lax.convert_element_type(p, dtypes.to_inexact(p.dtype))
        if p.shape != (n,):
            raise ValueError(f"random.choice: p must have shape ({n},), got {p.shape}")
        if replace:
            idx = _choice_p_replace(key, p, shape)
        else:
            idx = fnp.reshape(_choice_p_no_replace(key, p, size), shape)
    if arr is None:
        return idx
    return fnp.take(arr, idx, axis=axis)


__all__ = ["key", "PRNGKey", "split", "fold_in", "bits", "threefry_2x32", "uniform", "normal",
           "truncated_normal", "bernoulli", "gumbel", "randint", "categorical", "permutation",
           "choice"]
