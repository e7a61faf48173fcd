"""Array creation: zeros, ones, full, empty, *_like, arange, linspace, eye, ...

Shapes and ranges are static (Python ints), as in JAX; the values are built
from primitives (``iota``, ``broadcast_in_dim``) so that inside a traced
function they are computed by the program rather than baked in as constants.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .. import dtypes
from ..array import Array, _new_array
from ..core import _PY_SCALARS, Tracer, get_aval, to_concrete_value
from ..errors import ConcretizationError
from ..primitives import elementwise as ew
from ..primitives import shape as sp
from ._util import asarray, canonical_dtype_arg


def _static_int(op, d) -> int:
    """``d`` as a Python int: a shape entry must be known now (it may be a concrete
    tracer under grad/jvp/vjp, as in JAX, but not a value being staged or batched)."""
    value = to_concrete_value(d)
    if value is None:
        raise TypeError(f"{op}: shapes must be static, got a traced value "
                        f"{d.aval.str_short()} (under jit, mark the argument static with "
                        "static_argnums, or use a Python int)")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: shape must be an int or a tuple of ints, got {d!r}") from None


def _shape(op, shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    if isinstance(shape, (Array, Tracer)) and not shape.ndim:
        return (_static_int(op, shape),)
    try:
        entries = tuple(shape)
    except TypeError:
        raise TypeError(f"{op}: shape must be an int or a tuple of ints, got {shape!r}") from None
    return tuple(_static_int(op, d) for d in entries)


def _fill_value(fill_value, dtype):
    """A Python scalar fill value as a 0-d numpy array of ``dtype``, converted as
    JAX's ``full`` converts it: an int is cast (wrapping into a narrower integer
    dtype: ``full(2, 300, uint8)`` is 44s, ``full(2, 2**40)`` is int32 zeros
    without x64) unless it does not fit 64 bits; for a float dtype it is rounded
    once."""
    if type(fill_value) is int and not dtypes.is_inexact(dtype):
        return np.asarray(fill_value).astype(dtype)
    return np.asarray(fill_value, dtype)


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value``.

    Without ``dtype`` the result is weakly typed where ``fill_value`` is (a
    Python int or float, or a weak array), as in JAX.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.full((2,), 7).tolist()
        [7, 7]
    """
    return _full("full", shape, fill_value, dtype, None)


def _full(op, shape, fill_value, dtype, weak):
    """``full``, with the weak type given (``*_like`` of a weak value) or, for None,
    that of ``fill_value`` where no dtype is given."""
    shape = _shape(op, shape)
    dtype = canonical_dtype_arg(dtype)
    if type(fill_value) in _PY_SCALARS:
        if weak is None:
            weak = dtype is None and type(fill_value) is not bool
        if dtype is None:
            dtype = dtypes.scalar_dtype(type(fill_value)(0))
        value = _new_array(_fill_value(fill_value, dtype), weak)
    else:
        if isinstance(fill_value, (list, tuple)):
            raise TypeError(f"{op}: fill_value must be a scalar or an array, got a "
                            f"{type(fill_value).__name__}; pass asarray({type(fill_value).__name__})")
        value = asarray(fill_value)
        if weak is None:
            weak = dtype is None and value.weak_type
        dtype = value.dtype if dtype is None else dtype
        if value.dtype != dtype or value.weak_type != weak:
            value = ew.convert_element_type(value, dtype, weak_type=weak)
    if value.ndim:
        from ._util import broadcast_to
        return broadcast_to(value, shape)
    return sp.broadcast_in_dim(value, shape, ())


def zeros(shape, dtype=None):
    """An array of zeros (float32 by default)."""
    return full(shape, 0, dtype or dtypes.default_float())


def ones(shape, dtype=None):
    """An array of ones (float32 by default)."""
    return full(shape, 1, dtype or dtypes.default_float())


def empty(shape, dtype=None):
    """Like zeros: arrays are immutable, so an uninitialised one is of no use."""
    return zeros(shape, dtype)


def _like(op, a, fill_value, dtype, shape):
    """``full(shape, fill_value, dtype)`` with a's shape and dtype where not given;
    weakly typed where ``a`` is and no dtype is given, as in JAX."""
    aval = get_aval(a) if isinstance(a, Tracer) else get_aval(asarray(a))
    weak = dtype is None and aval.weak_type
    return _full(op, aval.shape if shape is None else shape, fill_value,
                 aval.dtype if dtype is None else dtype, weak)


def full_like(a, fill_value, dtype=None, shape=None):
    """An array with a's shape and dtype (unless given) filled with fill_value."""
    return _like("full_like", a, fill_value, dtype, shape)


def zeros_like(a, dtype=None, shape=None):
    """Zeros with a's shape and dtype (unless given)."""
    return _like("zeros_like", a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None):
    """Ones with a's shape and dtype (unless given)."""
    return _like("ones_like", a, 1, dtype, shape)


def empty_like(a, dtype=None, shape=None):
    """Like zeros_like: arrays are immutable, so an uninitialised one is of no use."""
    return _like("empty_like", a, 0, dtype, shape)


def _concrete_scalar(op, x):
    """A range bound as a Python number: it may be a concrete tracer under
    grad/jvp/vjp (as in JAX), not a value being staged or batched."""
    value = to_concrete_value(x)
    if value is None:  # (JAX raises its ConcretizationTypeError here too)
        err = ConcretizationError(x, "index")
        err.args = (f"{op}: the range bounds determine the shape, so they must be known "
                    f"while tracing. {err.args[0]}",)
        raise err
    return value.item() if hasattr(value, "item") else value


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop), like numpy.arange (int32/float32 defaults)."""
    start = _concrete_scalar("arange", start)
    stop = None if stop is None else _concrete_scalar("arange", stop)
    step = None if step is None else _concrete_scalar("arange", step)
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        dtype = dtypes.result_type(start, stop, step)
    dtype = dtypes.canonicalize(dtype)
    size = max(0, math.ceil((stop - start) / step))
    if start == 0 and step == 1:
        return sp.iota(dtype, size)
    idx = sp.iota(dtype if not dtypes.is_int(dtype) else dtype, size)
    from ._ufuncs import add, multiply
    return add(multiply(idx, asarray(step, dtype)), asarray(start, dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced samples over [start, stop] (float32 by default)."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples must be non-negative, got {num}")
    dtype = canonical_dtype_arg(dtype)
    from ._ufuncs import add, multiply, subtract, true_divide, where
    from ._util import promote_dtypes_inexact
    start, stop = promote_dtypes_inexact(asarray(start), asarray(stop))
    out_dtype = dtype or start.dtype
    compute = dtypes.to_inexact(out_dtype) if dtype is not None else start.dtype
    # Samples and step are strongly typed, whatever the bounds were.
    start = ew.convert_element_type(start, compute, weak_type=False)
    stop = ew.convert_element_type(stop, compute, weak_type=False)
    div = (num - 1) if endpoint else num
    delta = subtract(stop, start)
    i = sp.iota(compute, num)
    bshape = tuple(start.shape)
    if bshape:
        i = sp.broadcast_in_dim(i, (num,) + bshape, (0,))
    step = true_divide(delta, div) if div > 0 else multiply(delta, float("nan"))
    out = add(start, multiply(i, step)) if div > 0 else add(start, multiply(i, delta))
    if endpoint and num > 1:
        last = sp.iota(dtypes.int32, num)
        if bshape:
            last = sp.broadcast_in_dim(last, (num,) + bshape, (0,))
        from ._ufuncs import equal
        out = where(equal(last, num - 1), stop, out)
    if axis != 0 and bshape:
        from ._shape import moveaxis
        out = moveaxis(out, 0, axis)
    if dtypes.is_int(out_dtype) or out_dtype == dtypes.bool_:
        from ._ufuncs import floor
        out = floor(out)  # numpy floors the samples for integer dtypes
    out = out.astype(out_dtype) if out.dtype != out_dtype else out
    if retstep:
        return out, step
    return out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``."""
    from ._ufuncs import power
    return power(base, linspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis))


def _diagonal_mask(N, M, k, compare, dtype):
    """``compare(row + k, col)`` over an N x M grid, as ``dtype`` (float32 by default)."""
    M = N if M is None else M
    dtype = canonical_dtype_arg(dtype) or dtypes.default_float()
    rows = sp.broadcasted_iota(dtypes.int32, (N, M), 0)
    cols = sp.broadcasted_iota(dtypes.int32, (N, M), 1)
    from ._ufuncs import add
    return ew.convert_element_type(compare(add(rows, k), cols), dtype)


def eye(N, M=None, k=0, dtype=None):
    """A 2-d array with ones on the k-th diagonal."""
    from ._ufuncs import equal
    return _diagonal_mask(N, M, k, equal, dtype)


def identity(n, dtype=None):
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the k-th diagonal."""
    from ._ufuncs import greater_equal
    return _diagonal_mask(N, M, k, greater_equal, dtype)


def meshgrid(*xi, indexing="xy", sparse=False, copy=True):
    """Coordinate matrices from coordinate vectors, like numpy.meshgrid."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [asarray(x).ravel() for x in xi]
    shape = [x.shape[0] for x in xs]
    if indexing == "xy" and len(xs) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        dim = i
        if indexing == "xy" and len(xs) >= 2 and i < 2:
            dim = 1 - i
        if sparse:
            s = [1] * len(xs)
            s[dim] = x.shape[0]
            out.append(sp.reshape(x, s))
        else:
            out.append(sp.broadcast_in_dim(x, tuple(shape), (dim,)))
    return out


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == __name__]
