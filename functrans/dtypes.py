"""dtypes, canonicalization and type promotion, following JAX.

* Default dtypes are float32 / int32 / complex64 unless ``enable_x64`` is on;
  with it off, 64-bit dtypes canonicalize to 32-bit ones.
* Python scalars are *weakly typed*: ``x + 1.0`` keeps ``x``'s dtype. A weak
  value sits at the bottom of its kind in the promotion lattice
  (``i*`` < every int, ``f*`` < every float, ``c*`` < every complex).
* Promotion is the least upper bound in JAX's lattice, which (unlike numpy)
  never silently widens ``int32 + float16`` to float64:

      b1 -> i* -> u8 -> u16 -> u32 -> u64 -> f*
            i* -> i8 -> i16 -> i32 -> i64 -> f*
            u8 -> i16, u16 -> i32, u32 -> i64
      f* -> bf16 -> f32, f* -> f16 -> f32 -> f64 -> c128
      f* -> c* -> c64 -> c128, f32 -> c64
"""

from __future__ import annotations

import functools

import ml_dtypes
import numpy as np

from .config import config

bool_ = np.dtype(np.bool_)
int8, int16, int32, int64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
float16, float32, float64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
bfloat16 = np.dtype(ml_dtypes.bfloat16)
complex64, complex128 = np.dtype(np.complex64), np.dtype(np.complex128)
_FLOATS = frozenset([bfloat16, float16, float32, float64])
_INEXACT = _FLOATS | {complex64, complex128}

# Python's scalar types: weakly typed operands (``type(x) in PYTHON_SCALARS``;
# subclasses such as numpy's float64 are not Python scalars here)
PYTHON_SCALARS = frozenset([bool, int, float, complex])

# float16 and bfloat16: numpy has no fast (or, for scipy, any) loops for them, so
# impls compute them in float32 and round the result once, as XLA does
LOW_FLOATS = frozenset([float16, bfloat16])


def compute_dtype(dtype) -> np.dtype:
    """The dtype a 16-bit float is computed in (float32); any other dtype itself."""
    return float32 if np.dtype(dtype) in LOW_FLOATS else dtype


def upcast_low_float(fn):
    """``fn(x)`` computed in float32 for a float16/bfloat16 ``x``, rounded back to its dtype.

    Example:
        >>> import numpy as np, scipy.special
        >>> erf = upcast_low_float(scipy.special.erf)
        >>> erf(np.ones(2, np.float16)).dtype
        dtype('float16')
    """
    @functools.wraps(fn)
    def wrapped(x, *args, **kwargs):
        if x.dtype in LOW_FLOATS:
            return fn(x.astype(float32), *args, **kwargs).astype(x.dtype)
        return fn(x, *args, **kwargs)
    return wrapped


_SUPPORTED = (bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
              bfloat16, float16, float32, float64, complex64, complex128)

_SHORT_NAMES = {bool_: "bool", int8: "i8", int16: "i16", int32: "i32", int64: "i64",
                uint8: "u8", uint16: "u16", uint32: "u32", uint64: "u64",
                bfloat16: "bf16", float16: "f16", float32: "f32", float64: "f64",
                complex64: "c64", complex128: "c128"}

_TO_32 = {int64: int32, uint64: uint32, float64: float32, complex128: complex64}


def short_name(dtype) -> str:
    """``f32`` for float32 and so on, as the IR printer shows types."""
    return _SHORT_NAMES[np.dtype(dtype)]


def is_float(dtype) -> bool:
    if dtype in _FLOATS:  # (the common case: an np.dtype, without np.dtype(...) or kind)
        return True
    return dtype == bfloat16 or np.dtype(dtype).kind == "f"


def is_complex(dtype) -> bool:
    return np.dtype(dtype).kind == "c"


def is_inexact(dtype) -> bool:
    if dtype in _INEXACT:
        return True
    return is_float(dtype) or is_complex(dtype)


def is_int(dtype) -> bool:
    """True for signed and unsigned integer dtypes (not bool)."""
    return np.dtype(dtype).kind in "iu"


def is_unsigned(dtype) -> bool:
    return np.dtype(dtype).kind == "u"


def is_bool(dtype) -> bool:
    return np.dtype(dtype) == bool_


def finfo(dtype):
    return ml_dtypes.finfo(dtype) if dtype == bfloat16 else np.finfo(dtype)


def iinfo(dtype):
    return np.iinfo(dtype)


def to_inexact(dtype):
    """The float dtype integer or bool values become in inexact math (sin, mean, /).

    As in JAX: bool and integers of up to 32 bits give float32, 64-bit
    integers float64 (with x64 on); inexact dtypes are unchanged.
    """
    dtype = np.dtype(dtype)
    if is_inexact(dtype):
        return dtype
    return canonicalize(float64 if dtype.itemsize == 8 else float32)


def real_dtype(dtype):
    """float32 for complex64, float64 for complex128, else the dtype itself."""
    dtype = np.dtype(dtype)
    return {complex64: float32, complex128: float64}.get(dtype, dtype)


def complex_dtype(dtype):
    """complex64 for float32 and narrower floats, complex128 for float64."""
    dtype = np.dtype(dtype)
    if is_complex(dtype):
        return dtype
    return complex128 if dtype == float64 else complex64


@functools.lru_cache(maxsize=None)
def _canonicalize(dtype, x64: bool):
    dtype = np.dtype(dtype)
    if dtype not in _SUPPORTED:
        raise TypeError(f"functrans does not support dtype {dtype}; supported dtypes are "
                        + ", ".join(str(d) for d in _SUPPORTED))
    return dtype if x64 else _TO_32.get(dtype, dtype)


def canonicalize(dtype) -> np.dtype:
    """The dtype functrans actually uses for ``dtype`` (64 -> 32 bit unless x64)."""
    return _canonicalize(dtype, config.enable_x64)


def default_int():
    return int64 if config.enable_x64 else int32


def default_float():
    return float64 if config.enable_x64 else float32


def default_complex():
    return complex128 if config.enable_x64 else complex64


class ScalarOverflowError(OverflowError):
    """A Python int that does not fit the default integer dtype."""


# the range of the default int dtypes (a Python int outside raises, as in JAX)
INT_BOUNDS = {int32: (-2 ** 31, 2 ** 31 - 1), int64: (-2 ** 63, 2 ** 63 - 1)}


def check_python_int(x: int, what: str = "") -> int:
    """``x`` itself if it fits the default int dtype, else a :class:`ScalarOverflowError`.

    JAX gives a Python int the default int dtype (int32, or int64 with
    ``enable_x64``) before it meets any other operand, so ``x + 2**40`` raises
    without x64 even when ``x`` is float32, and ``2**70`` always raises: the
    value would otherwise be rounded or wrapped silently.

    Args:
      x: the Python int.
      what: the operation or argument, for the message (e.g. ``"jit(f) argument y"``).
    """
    dtype = default_int()
    lo, hi = INT_BOUNDS[dtype]
    if not lo <= x <= hi:
        where = f"{what}: " if what else ""
        fix = ("enable x64 (functrans.config.update('enable_x64', True)), "
               if dtype == int32 and -2 ** 63 <= x < 2 ** 63 else "")
        raise ScalarOverflowError(
            f"{where}the Python int {x} does not fit {dtype}, the default integer dtype"
            f"{' without enable_x64' if dtype == int32 else ''}; as in JAX, a Python int "
            f"becomes that dtype before any promotion, so it would be rounded or wrapped. "
            f"Pass a Python float ({float(x):.6g}), {fix}or a numpy value of an explicit dtype "
            "(for example np.float32(...))")
    return x


def scalar_dtype(x):
    """The (weak) dtype of a Python scalar: bool, default int/float/complex.

    Raises a :class:`ScalarOverflowError` (an OverflowError, as JAX raises)
    for an int that does not fit the default int dtype.
    """
    t = type(x)
    if t is bool:
        return bool_
    if t is int:
        dtype = default_int()
        lo, hi = INT_BOUNDS[dtype]
        if not lo <= x <= hi:
            check_python_int(x)
        return dtype
    if t is float:
        return default_float()
    if t is complex:
        return default_complex()
    raise TypeError(f"{x!r} of type {t.__name__} is not a Python scalar")


def scalar_to_numpy(x, dtype, what: str = "") -> np.ndarray:
    """The Python scalar ``x`` as a 0-d numpy array of ``dtype``, converted as JAX does.

    An int is first checked against the default int dtype
    (:func:`check_python_int`), then converted from it like
    ``convert_element_type``: into a narrower integer dtype it wraps
    (``uint8 array + 300`` adds 44, ``uint32 array + -1`` adds 2**32 - 1, as
    in JAX, where numpy raises), into a float dtype it rounds once.
    """
    if type(x) is int:
        check_python_int(x, what)
        return np.asarray(x, default_int()).astype(dtype)
    return np.asarray(x, dtype)


# --- the promotion lattice -----------------------------------------------------
# Nodes are dtypes or the weak kinds "i*", "f*", "c*".
_LATTICE = {
    bool_: ["i*"],
    "i*": [uint8, int8],
    uint8: [int16, uint16], uint16: [int32, uint32], uint32: [int64, uint64],
    uint64: ["f*"],
    int8: [int16], int16: [int32], int32: [int64], int64: ["f*"],
    "f*": [bfloat16, float16, "c*"],
    bfloat16: [float32], float16: [float32], float32: [float64, complex64],
    float64: [complex128],
    "c*": [complex64], complex64: [complex128], complex128: [],
}


def _upper_bounds():
    bounds = {}
    for node in _LATTICE:
        seen, todo = set(), [node]
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(_LATTICE[n])
        bounds[node] = seen
    return bounds


_UPPER = _upper_bounds()


def _node(dtype, weak: bool):
    if not weak or dtype == bool_:
        return dtype
    kind = np.dtype(dtype).kind
    return {"i": "i*", "u": "i*", "f": "f*", "V": "f*", "c": "c*"}[kind] if dtype != bfloat16 else "f*"


def _lub(nodes):
    common = set.intersection(*(_UPPER[n] for n in nodes))
    # The least upper bound is the common bound that every other common bound is above.
    (lub,) = [n for n in common if all(m in _UPPER[n] for m in common)]
    return lub


_WEAK_DEFAULTS = {"i*": (int32, int64), "f*": (float32, float64), "c*": (complex64, complex128)}


@functools.lru_cache(maxsize=4096)
def _promote(typed: tuple, x64: bool):
    dts = {np.dtype(d) for d, _ in typed}
    weaks = [w and np.dtype(d) != bool_ for d, w in typed]
    if len(typed) == 1 or (len(dts) == 1 and not all(weaks)):
        (dtype,) = dts
        return _canonicalize(dtype, x64), all(weaks)
    if all(weaks):
        # All weak (e.g. two weakly typed float16 values): promote their dtypes
        # as if strong and keep the result weak, like JAX.
        return _canonicalize(_lub(dts), x64), True
    result = _lub({_node(d, w) for d, w in typed})
    if isinstance(result, str):
        return _WEAK_DEFAULTS[result][x64], True
    return _canonicalize(result, x64), False


def promote_types(*typed) -> tuple:
    """Result ``(dtype, weak_type)`` of combining ``(dtype, weak_type)`` pairs.

    Example:
        >>> promote_types((int32, False), (float32, True))   # int32 array + 1.0
        (dtype('float32'), True)
    """
    return _promote(typed, config.enable_x64)


def result_type(*args):
    """The dtype numpy-style functions give to a mix of arrays, dtypes and scalars."""
    from .core import get_aval
    typed = []
    for a in args:
        if isinstance(a, (np.dtype, type)) or isinstance(a, str):
            typed.append((canonicalize(a), False))
        else:
            aval = get_aval(a)
            typed.append((aval.dtype, aval.weak_type))
    return promote_types(*typed)[0]


def _clear_caches(name):
    if name == "enable_x64":
        _promote.cache_clear()


config.on_change(_clear_caches)
