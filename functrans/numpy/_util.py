"""Conversion, dtype promotion and broadcasting shared by functrans.numpy.

numpy's API semantics with JAX's dtype rules: arguments are promoted with
:func:`functrans.dtypes.promote_types` (weak Python scalars do not widen
arrays), then broadcast with numpy's rules, then the primitive is bound.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..array import Array, _new_array
from ..core import Tracer, bind, get_aval, is_scalar_literal
from ..primitives import elementwise as ew
from ..primitives import shape as shape_prims
from ..primitives._rules import normalize_axes, normalize_axis, scalar_constant, weak_scalar  # noqa: F401

_PY_SCALARS = dtypes.PYTHON_SCALARS


def asarray(a, dtype=None, copy=None):
    """Converts ``a`` to an Array (or returns the traced value), like numpy.asarray.

    Python scalars become weakly typed 0-d arrays; numpy arrays are copied, so
    later changes to them do not reach the Array; 64-bit dtypes become 32-bit
    ones unless ``enable_x64`` is on.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.asarray([1, 2, 3]).dtype
        dtype('int32')
    """
    if dtype is not None:
        dtype = dtypes.canonicalize(dtype)
    if isinstance(a, (Array, Tracer)):
        if dtype is None or (a.dtype == dtype and not a.weak_type):
            return a
        # An explicit dtype gives a strongly typed result, as in JAX.
        return ew.convert_element_type(a, dtype, weak_type=False)
    if type(a) in _PY_SCALARS:
        if dtype is None:
            return _new_array(np.asarray(a, dtypes.scalar_dtype(a)), type(a) is not bool)
        return _new_array(np.asarray(a, dtype), False)
    if isinstance(a, (list, tuple)) and _contains_tracer(a):
        from ._shape import stack
        out = stack([asarray(x) for x in a])
        return out if dtype is None else asarray(out, dtype)
    try:
        v = np.array(a, copy=True)
    except Exception as e:
        raise TypeError(f"cannot convert {type(a).__name__} to a functrans Array: {e}") from None
    if v.dtype == object and isinstance(a, (list, tuple)):
        # numpy keeps ints past 64 bits as objects; JAX raises, as for any int
        # that does not fit its dtype (below)
        try:
            v = np.array(a, dtype=dtype if dtype is not None else np.int64)
        except (TypeError, ValueError):
            pass  # not numbers: the error below
    if v.dtype == object:
        raise TypeError(f"cannot convert {a!r:.80} to a functrans Array: it is not a rectangular "
                        "array of numbers")
    target = dtype if dtype is not None else dtypes.canonicalize(v.dtype)
    if v.dtype != target:
        if isinstance(a, (list, tuple)) and v.dtype.kind in "iu":
            # The list's numbers converted to the target dtype by numpy's rules,
            # as JAX does: an int that does not fit raises an OverflowError
            # (``asarray([1, 2**40])`` without x64, ``asarray([300], uint8)``)
            # where a cast would wrap silently.
            v = np.array(a, dtype=target)
        else:
            v = v.astype(target)
    return _new_array(v, False)


def _contains_tracer(seq) -> bool:
    for x in seq:
        if isinstance(x, Tracer) or (isinstance(x, (list, tuple)) and _contains_tracer(x)):
            return True
    return False


def array(a, dtype=None, copy=True, ndmin=0):
    """Like numpy.array; Arrays are immutable, so no copy is ever needed."""
    out = asarray(a, dtype)
    if ndmin > out.ndim:
        out = shape_prims.reshape(out, (1,) * (ndmin - out.ndim) + tuple(out.shape))
    return out


def _typed(x):
    """(dtype, weak) of an operand."""
    aval = get_aval(x)
    return aval.dtype, aval.weak_type


def promote_dtypes(*args):
    """Converts every argument to their common dtype (Python scalars stay weak)."""
    if len(args) == 1 and not is_scalar_literal(args[0]):
        return [_as_operand(args[0])]
    dtype, weak = dtypes.promote_types(*[_typed(a) for a in args])
    return [_cast(a, dtype, weak) for a in args]


def inexact_type(*args) -> tuple:
    """The (dtype, weak_type) that ``args`` promote to, made inexact."""
    dtype, weak = dtypes.promote_types(*[_typed(a) for a in args])
    if not dtypes.is_inexact(dtype):
        # A weak int (a Python int) becomes the default float, like any Python float.
        dtype = dtypes.default_float() if weak else dtypes.to_inexact(dtype)
    return dtype, weak


def promote_dtypes_inexact(*args):
    """Like promote_dtypes, then integers and bools become floats (dtypes.to_inexact)."""
    dtype, weak = inexact_type(*args)
    return [_cast(a, dtype, weak) for a in args]


def _as_operand(x):
    if isinstance(x, (Array, Tracer)):
        return x
    return asarray(x)


def _cast(x, dtype, weak):
    """x as an operand of the promoted ``dtype``; ``weak`` is the promotion's weak type."""
    if is_scalar_literal(x):
        if type(x) is bool:  # a bool is never weak itself, but takes the promotion's type
            return _new_array(np.asarray(x, dtype), weak)
        return weak_scalar(x, dtype)
    x = _as_operand(x)
    if x.dtype != dtype:
        return ew.convert_element_type(x, dtype, weak_type=weak)
    return x


def broadcast_shapes(op: str, *shapes) -> tuple:
    """numpy's broadcasting of shapes, with an error naming the operation."""
    if len(shapes) == 2:  # the common case, without np.broadcast_shapes's ~5 µs
        a, b = shapes
        if len(a) < len(b):
            a, b = b, a
        out = list(a)
        lead = len(a) - len(b)
        for i, d in enumerate(b):
            o = out[lead + i]
            if d != o:
                if o == 1:
                    out[lead + i] = d
                elif d != 1:
                    break
        else:
            return tuple(int(d) for d in out)
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        shown = ", ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{op}: incompatible shapes for broadcasting: {shown}") from None


def broadcast_to(x, shape):
    """Broadcasts ``x`` to ``shape`` with numpy's rules (one broadcast_in_dim)."""
    x = _as_operand(x)
    shape = tuple(int(d) for d in shape)
    if tuple(x.shape) == shape:
        return x
    nd = len(shape)
    if x.ndim > nd:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}: the "
                         "target has fewer dimensions")
    lead = nd - x.ndim
    keep = [i for i, (d, s) in enumerate(zip(x.shape, shape[lead:])) if d == s]
    for d, s in zip(x.shape, shape[lead:]):
        if d != s and d != 1:
            raise ValueError(f"broadcast_to: cannot broadcast shape {tuple(x.shape)} to {shape}")
    if len(keep) != x.ndim:
        x = shape_prims.reshape(x, tuple(x.shape[i] for i in keep))
    return bind(shape_prims.broadcast_in_dim_p, x, shape=shape,
                broadcast_dimensions=tuple(lead + i for i in keep))


def broadcast_arrays_for(op: str, *args):
    """Broadcasts operands (already of one dtype) to a common shape; scalars stay rank 0."""
    shapes = [get_aval(a).shape for a in args]
    nonscalar = {s for s in shapes if s != ()}
    if len(nonscalar) <= 1:
        return list(args)
    shape = broadcast_shapes(op, *shapes)
    return [a if s == () or s == shape else broadcast_to(a, shape) for a, s in zip(args, shapes)]


def promote_args(op: str, *args):
    """Promote dtypes, then broadcast shapes: ready for an elementwise primitive."""
    return broadcast_arrays_for(op, *promote_dtypes(*args))


def promote_args_inexact(op: str, *args):
    return broadcast_arrays_for(op, *promote_dtypes_inexact(*args))


def canonical_dtype_arg(dtype):
    return None if dtype is None else dtypes.canonicalize(dtype)


# --- constants ---------------------------------------------------------------------------------
#
# jax.numpy computes with constants of an operand's dtype: weak ones where a
# Python scalar is meant (``x % 0`` compares with a weak zero), strong ones
# where ``_constant_like`` is used (then the result is strong too). The 0-d
# constants are shared (``scalar_constant``): Arrays are immutable.


def zero_like(x):
    """A weak 0-d zero of x's dtype."""
    return weak_scalar(0, get_aval(x).dtype)


def one_like(x):
    """A weak 0-d one of x's dtype."""
    return weak_scalar(1, get_aval(x).dtype)


def strong_like(x, value):
    """``value`` as a strong rank-0 constant of x's dtype (jax.numpy's _constant_like):
    a result computed with it is strong, whatever x's weak type."""
    return scalar_constant(value, get_aval(x).dtype, False)


def filled(shape, value, dtype, weak: bool = False):
    """An array of ``shape`` whose elements are the Python scalar ``value`` as
    ``dtype`` (lax.full). (Not the shared constant: a rank-0 result is the user's
    to donate or delete.)"""
    return shape_prims.broadcast_in_dim(_new_array(dtypes.scalar_to_numpy(value, dtype), weak),
                                        tuple(shape), ())


def typed_like(out, dtype, weak):
    """``out`` with the (dtype, weak type) its inputs promote to."""
    return ew.convert_element_type(out, dtype, weak_type=weak)


def real_only(op, *args):
    """Converts args to arrays; complex ones raise (numpy and jax reject them)."""
    out = [asarray(a) for a in args]
    for a in out:
        if dtypes.is_complex(a.dtype):
            raise TypeError(f"{op} is not defined for complex inputs (got {a.dtype})")
    return out
