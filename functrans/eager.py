"""The eager fast path: computing on host values where that is what ``bind`` does.

With nothing being staged out (no dynamic trace, see ``core._TraceState``), an
operation whose operands are concrete Arrays is evaluated by ``bind`` on their
host values: promotion, broadcasting, ``abstract_eval`` (memoized), the
primitive's ``impl``, and an Array around the result. For the small arrays of
interactive code and of reverse mode, everything but the impl is Python
overhead, so the hottest operations skip it here, in one module: each function
below returns exactly the Array that the general path would return, or None
where it cannot tell cheaply (then the caller takes the general path).
functrans.numpy and the primitive modules read the trace state only here
(and through ``core.is_eager``).

Two kinds of callers:

* functrans.numpy's functions (their *host rules*, made by :func:`binary` and
  :func:`unary`, and :func:`where`, :func:`sum_`, :func:`matmul`,
  :func:`basic_index`) take the operands as the user gave them: Arrays and
  Python scalars, before promotion and broadcasting. They compute the
  promoted dtype from a cache and call the primitive's computation on the
  values: numpy broadcasts as functrans.numpy does, and NEP 50 treats Python
  scalars as weak, like JAX when the array operand already has the result
  dtype.
* reverse mode's rules (:func:`host_aval`, :func:`host_array`,
  :func:`eval_host_pair`), which compute on concrete primals and cotangents
  of one strong float aval.

numpy's floating-point warnings: functrans filters them at import, but a
filter the user adds later comes first (``warnings.simplefilter("error")``),
so a RuntimeWarning raised out of numpy is caught and the value computed again
quietly (``core.quietly``), as ``eval_primitive`` does.
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .array import Array
from .config import config
from .core import _HOST_FLOATS, _state, quietly

INEXACT = frozenset([dtypes.float16, dtypes.float32, dtypes.float64,
                     dtypes.complex64, dtypes.complex128])
FLOATS = frozenset([dtypes.float16, dtypes.float32, dtypes.float64])
INTS_BOOL = frozenset([dtypes.bool_, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64,
                       dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64])
NUMERIC = INEXACT | (INTS_BOOL - {dtypes.bool_})
ALL = NUMERIC | {dtypes.bool_}
ORDERED = ALL - {dtypes.complex64, dtypes.complex128}

_PY_SCALAR_TYPES = dtypes.PYTHON_SCALARS
# Python ints handed to numpy as they are (others take the general path, which
# checks them as JAX does: an OverflowError for one past the default int)
_INT32_MIN, _INT32_MAX = dtypes.INT_BOUNDS[dtypes.int32]
_object_new = object.__new__


def _wrap(value, weak: bool) -> Array:
    """A computed host value as an Array (numpy gives 0-d results as scalars)."""
    if type(value) is not np.ndarray:
        value = np.asarray(value)
    x = _object_new(Array)
    x._value = value
    x._weak_type = weak
    x._aval = None
    return x


# --- promotion of Arrays and Python scalars ----------------------------------------------------

_promotion_cache: dict = {}
config.on_change(lambda name: _promotion_cache.clear())  # (x64 changes the rules)


def _promote_key(key):
    """(dtype, weak) for a cache key: two (dtype, weak) pairs, or one and a scalar type."""
    if len(key) == 4:
        return dtypes.promote_types((key[0], key[1]), (key[2], key[3]))
    if isinstance(key[0], type):
        scalar_type, dt, weak = key
    else:
        dt, weak, scalar_type = key
    return dtypes.promote_types((dt, weak), (dtypes.scalar_dtype(scalar_type(0)),
                                             scalar_type is not bool))


def _promoted(x, y, allowed):
    """``(x's value, y's value, dtype, weak)`` for Array or Python scalar operands
    (Python scalars stay Python scalars) with the dtype and weak type they promote
    to, where that dtype is one of ``allowed``; None for any other operands, or
    while a function is being staged out."""
    if _state.dynamic is not None:  # staging out: every operation is recorded
        return None
    tx, ty = type(x), type(y)
    if tx is Array:
        xv = x._value
        if ty is Array:
            yv = y._value
            key = (xv.dtype, x._weak_type, yv.dtype, y._weak_type)
        elif ty in _PY_SCALAR_TYPES:
            yv = y
            key = (xv.dtype, x._weak_type, ty)
        else:
            return None
    elif ty is Array and tx in _PY_SCALAR_TYPES:
        xv, yv = x, y._value
        key = (tx, yv.dtype, y._weak_type)
    else:
        return None
    try:
        dtype, weak = _promotion_cache[key]
    except KeyError:
        dtype, weak = _promotion_cache[key] = _promote_key(key)
    return (xv, yv, dtype, weak) if dtype in allowed else None


# --- host rules of functrans.numpy's elementwise functions -------------------------------------


def binary(name: str, fast, fast_dtypes):
    """The host rule ``rule(x, y) -> Array or None`` of a binary elementwise function.

    Args:
      name: the functrans.numpy name (for the error of incompatible shapes).
      fast: the primitive's computation on host values (its ``impl``, or the
        numpy ufunc the impl applies for ``fast_dtypes``).
      fast_dtypes: the promoted dtypes for which ``fast`` on the promoted values
        is exactly the general path.
    """
    def rule(x, y):
        ready = _promoted(x, y, fast_dtypes)
        if ready is None:
            return None
        xv, yv, dtype, weak = ready
        # Python scalars stay Python scalars: with the array operand already of
        # the result dtype, numpy's NEP 50 rules give that dtype.
        if type(x) is Array and xv.dtype != dtype:
            xv = xv.astype(dtype)
        if type(y) is Array and yv.dtype != dtype:
            yv = yv.astype(dtype)
        if (type(xv) is int and not _INT32_MIN <= xv <= _INT32_MAX
                or type(yv) is int and not _INT32_MIN <= yv <= _INT32_MAX):
            return None  # JAX's checks of a large Python int (OverflowError)
        try:
            out = fast(xv, yv)
        except ValueError:
            raise ValueError(f"{name}: incompatible shapes for broadcasting: "
                             f"{tuple(np.shape(xv))} and {tuple(np.shape(yv))}") from None
        except OverflowError:  # numpy's NEP 50: uint8 + 300; JAX wraps it (general path)
            return None
        except RuntimeWarning:
            out = quietly(fast, (xv, yv), None)
        # _wrap, inlined (one Python call less on the hottest path); a comparison
        # of weak operands is a weak bool, as in JAX
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        a = _object_new(Array)
        a._value = out
        a._weak_type = weak
        a._aval = None
        return a
    return rule


def unary(fast, fast_dtypes):
    """The host rule ``rule(x) -> Array or None`` of a unary elementwise function:
    ``fast`` (the primitive's computation) for an Array of one of ``fast_dtypes``."""
    def rule(x):
        if _state.dynamic is not None or type(x) is not Array:
            return None
        v = x._value
        if v.dtype not in fast_dtypes:
            return None
        try:
            out = fast(v)
        except RuntimeWarning:
            out = quietly(fast, (v,), None)
        if type(out) is not np.ndarray:  # (_wrap, inlined as in binary)
            out = np.asarray(out)
        a = _object_new(Array)
        a._value = out
        a._weak_type = x._weak_type
        a._aval = None
        return a
    return rule


def where(condition, x, y):
    """``where(condition, x, y)`` for a bool Array condition and Array or Python
    scalar ``x`` and ``y`` promoted as binary functions promote them (numpy
    broadcasts as the general path does); None elsewhere."""
    if type(condition) is not Array:
        return None
    cv = condition._value
    if cv.dtype != dtypes.bool_:
        return None
    ready = _promoted(x, y, NUMERIC)
    if ready is None:
        return None
    xv, yv, dtype, weak = ready
    try:
        out = np.where(cv, xv, yv)
    except ValueError:
        return None  # the general path names the shapes
    return _wrap(out if out.dtype == dtype else out.astype(dtype), weak)


_SUM_DTYPES = frozenset([dtypes.float32, dtypes.float64, dtypes.complex64, dtypes.complex128])


def sum_(a, axis, keepdims):
    """``sum(a, axis, keepdims=keepdims)`` of a float or complex Array: reduce_sum's
    impl (``np.add.reduce`` in the input dtype); None elsewhere."""
    if _state.dynamic is not None or type(a) is not Array:
        return None
    v = a._value
    if v.dtype not in _SUM_DTYPES or (axis is not None and not _plain_axis(axis, v.ndim)):
        return None
    return _wrap(np.add.reduce(v, axis=axis, dtype=v.dtype, keepdims=keepdims), False)


def _plain_axis(axis, ndim) -> bool:
    """``axis`` is an in-range int, or a tuple of distinct in-range ints."""
    if type(axis) is int:
        return -ndim <= axis < ndim
    if type(axis) is tuple:
        for a in axis:
            if type(a) is not int or not -ndim <= a < ndim:
                return False
        return len({a % ndim for a in axis}) == len(axis)
    return False


_MATMUL_DTYPES = _SUM_DTYPES


def matmul(a, b):
    """``a @ b`` of two matrices of one float or complex dtype: the product
    dot_general's impl computes (one BLAS call); None elsewhere."""
    if _state.dynamic is not None or type(a) is not Array or type(b) is not Array:
        return None
    av, bv = a._value, b._value
    if (av.dtype == bv.dtype and av.dtype in _MATMUL_DTYPES and av.ndim == 2 == bv.ndim
            and av.shape[1] == bv.shape[0]):
        return _wrap(np.matmul(av, bv), a._weak_type and b._weak_type)
    return None


def basic_index(x, idx, is_basic):
    """``x[idx]`` for an Array and an index for which ``is_basic(idx)`` (ints, static
    slices, None, Ellipsis): numpy's basic indexing is exactly the general path's
    slice, rev and squeeze. None elsewhere, and for an int out of bounds (numpy
    raises, JAX clamps: the general path)."""
    if _state.dynamic is not None or type(x) is not Array or not is_basic(idx):
        return None
    try:
        return _wrap(x._value[idx], x._weak_type)
    except IndexError:
        return None


# --- reverse mode's shortcuts --------------------------------------------------------------------


def host_aval(x):
    """``x``'s aval when reverse mode's host shortcuts may compute on its value
    directly: ``x`` is a concrete Array of a strong float32/float64 aval and
    nothing is being staged out (only a dynamic trace sees such operations).
    None otherwise."""
    if type(x) is not Array or _state.dynamic is not None:
        return None
    aval = x._aval
    if aval is None or aval.dtype not in _HOST_FLOATS or aval.weak_type:
        return None
    return aval


def host_array(value, aval):
    """A result of those shortcuts as an Array of ``aval`` (numpy gives 0-d
    results as scalars, and the dtype is checked, not assumed)."""
    if type(value) is not np.ndarray:
        value = np.asarray(value)
    if value.dtype != aval.dtype:
        value = value.astype(aval.dtype)
    x = _object_new(Array)
    x._value = value
    x._weak_type = aval.weak_type
    x._aval = aval
    return x


def eval_host_pair(ufunc, a, b):
    """``ufunc(a, b)`` on the host values, or None where that is not exactly
    what binding its primitive would do.

    For the two elementwise operations reverse mode applies most (the cotangent
    times a residual, and the sum of two cotangents): when ``a`` has a
    :func:`host_aval` and ``b`` the same aval (or is a rank-0 weakly typed Array
    of that dtype, a Python scalar's constant), the result has ``a``'s aval and
    ``bind`` is skipped (a third of the cost).
    """
    aval = host_aval(a)
    if aval is None or type(b) is not Array:
        return None
    b_aval = b._aval
    if b_aval is not aval and (b_aval is None or (
            b_aval._key != aval._key and not (b_aval.weak_type and b_aval.shape == ()
                                              and b_aval.dtype == aval.dtype))):
        return None
    try:
        return host_array(ufunc(a._value, b._value), aval)
    except RuntimeWarning:
        return host_array(quietly(ufunc, (a._value, b._value), None), aval)
