"""Selection functions built on indexing: take, take_along_axis, nonzero,
compress, choose, diagonal/diag, trace, unravel_index, select.

Functions whose output shape depends on values (nonzero, argwhere, compress,
extract) need concrete inputs, or a static ``size=``.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from .. import dtypes
from ..array import Array, _new_array
from ..core import Tracer, get_aval, to_concrete_value
from ..errors import api_boundary
from ..primitives import elementwise as ew
from ..primitives import shape as sp
from ..primitives import gather_scatter as gs
from ._util import _contains_tracer, broadcast_to, filled, normalize_axis, promote_dtypes
from ._indexing import (_operand, _index_dtype, _is_int_dtype, _rewriting_take)

__all__ = ["take", "take_along_axis", "nonzero", "argwhere", "flatnonzero", "compress",
           "extract", "choose", "diagonal", "diag", "diagflat", "trace", "unravel_index",
           "ravel_multi_index", "select"]


# --- public functions ---------------------------------------------------------------------------


def _index_operand(op, indices):
    """An integer index operand (Array or tracer); numpy reads ``[]`` as integers."""
    if isinstance(indices, (list, tuple)) and not _contains_tracer(indices) \
            and np.size(indices) == 0:
        indices = np.zeros(np.shape(indices), _index_dtype())
    indices = _operand(indices)
    if not _is_int_dtype(indices.dtype):
        raise TypeError(f"{op}: indices must be integers, got {indices.dtype} "
                        f"({get_aval(indices).str_short()}); convert with .astype(int)")
    return indices


def _concrete(op, x, hint="Use fnp.where(condition, x, y) to keep shapes static."):
    """The host value of ``x``, or a TypeError explaining why it must be concrete.

    A tracer whose value is known (under grad/jvp/vjp, not staged out) has one, as in JAX.
    """
    if isinstance(x, Tracer) and to_concrete_value(x) is not None:
        x = to_concrete_value(x)
    if isinstance(x, Tracer):
        raise TypeError(
            f"{op} needs a concrete array, got a traced value {x.aval.str_short()}: the shape "
            "of its result depends on the values, which are unknown inside a transformed "
            f"function (jit, vmap, grad, make_ir). {hint}")
    return x._value if type(x) is Array else np.asarray(x)


def _out_of_range(op, indices, n, mode, negative_ok=False, error=IndexError):
    """numpy's modes for out-of-range indices: "raise" (concrete only), "wrap", "clip"."""
    from ._ufuncs import clip, remainder
    if mode == "clip":  # numpy clips negative indices to 0 too
        return clip(indices, 0, max(n - 1, 0))
    if mode == "wrap":
        if n == 0:
            raise IndexError(f"{op}: cannot wrap indices into an empty axis")
        return remainder(indices, n)
    if mode != "raise":
        raise ValueError(f"{op}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    v = _concrete(op, indices, "Use mode='clip' or 'wrap' inside transformations.")
    lo = -n if negative_ok else 0
    if v.size and (v.min() < lo or v.max() >= n):
        bad = v[(v < lo) | (v >= n)].flat[0]
        raise error(f"{op}: invalid index {bad}: values must be in [{lo}, {n})")
    return indices


# The gather mode for each mode of take/take_along_axis ("wrap" and "raise"
# leave the indices in bounds).
_GATHER_MODE = {None: "fill", "fill": "fill", "clip": "clip", "promise_in_bounds":
                "promise_in_bounds", "wrap": "promise_in_bounds", "raise": "promise_in_bounds"}


def _gather_mode(op, mode):
    """The gather mode for ``mode``, checked."""
    if mode not in _GATHER_MODE:
        raise ValueError(f"{op}: mode must be None, 'fill', 'clip', 'promise_in_bounds', "
                         f"'wrap' or 'raise', got {mode!r}")
    return _GATHER_MODE[mode]


def take(a, indices, axis=None, mode=None, fill_value=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened ``a`` if None).

    Out-of-bounds indices behave as in JAX, not numpy (which raises).

    Args:
      a: the array.
      indices: integer indices; the result has their shape in place of ``axis``.
      axis: the axis to index, or None for the flattened array.
      mode: None or "fill" (the default: negative indices wrap once; indices
        still out of bounds give ``fill_value``), "clip" (numpy's: clamped into
        ``[0, n)``, negative ones to 0), "wrap" (modulo n), "promise_in_bounds"
        (the caller promises valid indices; out-of-bounds ones are clamped), or
        numpy's "raise" (concrete indices only; JAX does not have it).
      fill_value: the value for mode "fill"; by default NaN for inexact dtypes,
        the minimum value of signed ints, the maximum of unsigned ints, and
        True for bool (JAX's choices).

    Raises:
      IndexError: indexing an axis of size 0 with a non-empty ``indices``.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.take(fnp.array([[1, 2], [3, 4]]), fnp.array([1, -1, 0]), axis=1).tolist()
        [[2, 2, 1], [4, 4, 3]]
        >>> fnp.take(fnp.arange(3.0), fnp.array([0, 5])).tolist()
        [0.0, nan]
    """
    a = _operand(a)
    if axis is None:
        a, axis = sp.reshape(a, (a.size,)), 0
    axis = normalize_axis("take", axis, a.ndim)
    indices = _index_operand("take", indices)
    gather_mode = _gather_mode("take", mode)
    if a.shape[axis] == 0 and indices.size:
        raise IndexError(f"take: cannot take {tuple(indices.shape)} indices from axis {axis} "
                         "of size 0")
    if mode in ("clip", "wrap", "raise"):
        indices = _out_of_range("take", indices, a.shape[axis], mode, negative_ok=True)
    return _rewriting_take(a, (builtins.slice(None),) * axis + (indices,), mode=gather_mode,
                           fill_value=fill_value)


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """``arr`` indexed by ``indices`` along ``axis``, the other dims matched (broadcast).

    ``mode`` and ``fill_value`` are as for :func:`take` (by default out of
    bounds gives the fill value), except that, as in JAX, "clip" wraps
    negative indices once before clamping them.

    Example:
        >>> import functrans.numpy as fnp
        >>> x = fnp.array([[10, 30, 20], [60, 40, 50]])
        >>> fnp.take_along_axis(x, fnp.array([[0], [-1]]), axis=1).tolist()
        [[10], [50]]
    """
    arr = _operand(arr)
    indices = _index_operand("take_along_axis", indices)
    if axis is None:
        if indices.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None, indices must be 1-d, got shape "
                             f"{tuple(indices.shape)}")
        arr, axis = sp.reshape(arr, (arr.size,)), 0
    axis = normalize_axis("take_along_axis", axis, arr.ndim)
    if indices.ndim != arr.ndim:
        raise ValueError(f"take_along_axis: indices (shape {tuple(indices.shape)}) and arr "
                         f"(shape {tuple(arr.shape)}) must have the same number of dimensions")
    for d, (s, t) in enumerate(zip(arr.shape, indices.shape)):
        if d != axis and s != t and 1 not in (s, t):
            raise ValueError(f"take_along_axis: shapes {tuple(arr.shape)} and "
                             f"{tuple(indices.shape)} do not broadcast outside axis {axis}")
    gather_mode = _gather_mode("take_along_axis", mode)
    if mode in ("wrap", "raise"):
        indices = _out_of_range("take_along_axis", indices, arr.shape[axis], mode, True)
    nd = arr.ndim
    idx = tuple(indices if d == axis else
                np.arange(arr.shape[d]).reshape([-1 if i == d else 1 for i in range(nd)])
                for d in range(nd))
    return _rewriting_take(arr, idx, mode=gather_mode, fill_value=fill_value)


def nonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements, one integer array per dimension.

    Needs a concrete ``a`` (the result's length depends on its values). With
    ``size``, the result is truncated or padded with ``fill_value`` (default 0)
    to that length.

    Example:
        >>> import functrans.numpy as fnp
        >>> [i.tolist() for i in fnp.nonzero(fnp.array([[0, 1], [2, 0]]))]
        [[0, 1], [1, 0]]
    """
    v = _concrete("nonzero", a)
    if v.ndim == 0:
        raise ValueError("nonzero: calling nonzero on 0-d arrays is not allowed; use "
                         "fnp.atleast_1d(x).nonzero() instead")
    out = np.nonzero(v)
    if size is not None:
        fills = fill_value if isinstance(fill_value, tuple) else (fill_value or 0,) * v.ndim
        out = [np.concatenate([r[:size], np.full(max(size - len(r), 0), f, r.dtype)])
               for r, f in zip(out, fills)]
    return tuple(_new_array(r.astype(_index_dtype())) for r in out)


def argwhere(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements as an ``(N, a.ndim)`` array (concrete ``a`` only).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.argwhere(fnp.array([0, 3, 0, 4])).tolist()
        [[1], [3]]
    """
    v = _concrete("argwhere", a)
    out = np.argwhere(v)
    if size is not None:
        pad = np.full((max(size - len(out), 0), v.ndim), fill_value or 0)
        out = np.concatenate([out[:size], pad])
    return _new_array(out.astype(_index_dtype()))


def flatnonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of the flattened ``a`` (concrete only)."""
    return nonzero(np.ravel(_concrete("flatnonzero", a)), size=size, fill_value=fill_value)[0]


def compress(condition, a, axis=None):
    """The slices of ``a`` along ``axis`` where the (concrete, 1-d) ``condition`` is true.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.compress([False, True, True], fnp.array([[1, 2], [3, 4], [5, 6]]), axis=0).tolist()
        [[3, 4], [5, 6]]
    """
    c = _concrete("compress", condition, "Use fnp.where(condition, a, 0) instead.")
    if c.ndim != 1:
        raise ValueError(f"compress: condition must be 1-d, got shape {c.shape}")
    a = _operand(a)
    if axis is None:
        a, axis = sp.reshape(a, (a.size,)), 0
    axis = normalize_axis("compress", axis, a.ndim)
    idx = np.flatnonzero(c)
    if idx.size and idx[-1] >= a.shape[axis]:
        raise IndexError(f"compress: condition of length {c.shape[0]} selects index "
                         f"{idx[-1]}, out of bounds for axis {axis} with size {a.shape[axis]}")
    return _rewriting_take(a, (builtins.slice(None),) * axis + (idx,))


def extract(condition, arr):
    """The elements of ``arr`` where the (concrete) ``condition`` is true, flattened."""
    c = np.ravel(_concrete("extract", condition, "Use fnp.where(condition, arr, 0) instead."))
    return compress(c != 0, arr)


def choose(a, choices, mode="raise"):
    """``choices[a[i]][i]`` for every position i (all arguments broadcast together).

    Args:
      a: integer array of choice numbers in ``[0, len(choices))``.
      choices: a sequence of arrays.
      mode: "raise" (needs a concrete ``a``), "wrap" (modulo) or "clip".

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.choose(fnp.array([0, 1, 0]), [fnp.array([1, 2, 3]), 10]).tolist()
        [1, 10, 3]
    """
    from ._util import broadcast_shapes
    if not len(choices):
        raise ValueError("choose: choices must not be empty")
    choices = promote_dtypes(*choices)
    a = _out_of_range("choose", _index_operand("choose", a), len(choices), mode,
                      error=ValueError)
    shape = broadcast_shapes("choose", tuple(a.shape), *[tuple(c.shape) for c in choices])
    a = broadcast_to(ew.convert_element_type(a, dtypes.int32), shape)
    return ew.select_n(a, *[broadcast_to(c, shape) for c in choices])


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of the 2-d planes (axis1, axis2), as a new last axis.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.diagonal(fnp.arange(9).reshape(3, 3), 1).tolist()
        [1, 5]
    """
    a = _operand(a)
    nd = a.ndim
    if nd < 2:
        raise ValueError(f"diagonal: the array must have at least two dimensions, got shape "
                         f"{tuple(a.shape)}")
    axis1, axis2 = normalize_axis("diagonal", axis1, nd), normalize_axis("diagonal", axis2, nd)
    if axis1 == axis2:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same (both {axis1})")
    offset = operator.index(offset)
    d1, d2 = a.shape[axis1], a.shape[axis2]
    n = max(0, min(d1, d2 - offset) if offset >= 0 else min(d1 + offset, d2))
    rest = tuple(s for d, s in enumerate(a.shape) if d not in (axis1, axis2))
    if n == 0:
        return filled(rest + (0,), 0, a.dtype, a.weak_type)
    dnums = gs.GatherDimensionNumbers(tuple(range(nd - 2)), tuple(sorted((axis1, axis2))),
                                      (axis1, axis2))
    sizes = tuple(1 if d in (axis1, axis2) else s for d, s in enumerate(a.shape))
    return gs.gather(a, _diag_indices(n, offset), dnums, sizes)


def _diag_indices(n, offset):
    """The (n, 2) positions (i + max(0, -offset), i + max(0, offset)), from an iota."""
    i = sp.iota(_index_dtype(), n)
    cols = [ew.add(i, s) if s else i for s in (max(0, -offset), max(0, offset))]
    return sp.concatenate([sp.broadcast_in_dim(c, (n, 1), (0,)) for c in cols], 1)


def diag(v, k=0):
    """A matrix with the 1-d ``v`` on its k-th diagonal, or the k-th diagonal of a 2-d ``v``.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.diag(fnp.array([1, 2]), 1).tolist()
        [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    """
    v = _operand(v)
    k = operator.index(k)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1-d or 2-d, got shape {tuple(v.shape)}")
    n, m = v.shape[0], v.shape[0] + abs(k)
    zeros = filled((m, m), 0, v.dtype, v.weak_type)
    if n == 0:
        return zeros
    dnums = gs.ScatterDimensionNumbers((), (0, 1), (0, 1))
    return gs.scatter(zeros, _diag_indices(n, k), v, dnums)


def diagflat(v, k=0):
    """A matrix with the flattened ``v`` on its k-th diagonal."""
    v = _operand(v)
    return diag(sp.reshape(v, (v.size,)), k)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """The sum along the ``offset`` diagonal of the planes (axis1, axis2).

    Example:
        >>> import functrans.numpy as fnp
        >>> int(fnp.trace(fnp.arange(9).reshape(3, 3)))
        12
    """
    from .. import numpy as fnp  # fnp.sum: numpy's accumulation dtypes
    return fnp.sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def unravel_index(indices, shape):
    """Converts flat indices into a tuple of coordinate arrays for ``shape``.

    Like JAX (unlike numpy, which raises): negative indices wrap once and
    out-of-bounds ones are clamped to the valid range.

    Example:
        >>> import functrans.numpy as fnp
        >>> [i.tolist() for i in fnp.unravel_index(fnp.array([5, 7]), (2, 4))]
        [[1, 1], [1, 3]]
    """
    from ._ufuncs import clip, floor_divide, remainder
    shape = tuple(operator.index(d) for d in ((shape,) if np.ndim(shape) == 0 else shape))
    indices = _index_operand("unravel_index", indices)
    size = int(np.prod(shape, dtype=np.int64))
    if size == 0:
        raise ValueError(f"unravel_index: cannot unravel into the empty shape {shape}")
    if not dtypes.is_unsigned(indices.dtype):
        indices = ew.select(ew.lt(indices, 0), ew.add(indices, size), indices)
    i, out = clip(indices, 0, size - 1), []
    for d in reversed(shape):
        out.append(remainder(i, d))
        i = floor_divide(i, d)
    return tuple(reversed(out))


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """Flat indices of the coordinate arrays ``multi_index`` into an array of shape ``dims``.

    Args:
      multi_index: a sequence of integer arrays, one per dimension.
      dims: the shape.
      mode: "raise" (needs concrete indices), "wrap" or "clip", or one per dim.
      order: "C" (row-major) or "F" (column-major).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.ravel_multi_index((fnp.array([1, 0]), fnp.array([2, 3])), (2, 4)).tolist()
        [6, 3]
    """
    from ._ufuncs import add, multiply
    dims = tuple(operator.index(d) for d in dims)
    if len(multi_index) != len(dims):
        raise ValueError(f"ravel_multi_index: got {len(multi_index)} index arrays for "
                         f"{len(dims)} dimensions {dims}")
    if order not in ("C", "F"):
        raise ValueError(f"ravel_multi_index: order must be 'C' or 'F', got {order!r}")
    modes = (mode,) * len(dims) if isinstance(mode, str) else tuple(mode)
    out = None
    for k, (idx, d, m) in enumerate(zip(multi_index, dims, modes)):
        idx = _out_of_range("ravel_multi_index", _index_operand("ravel_multi_index", idx), d,
                            m, error=ValueError)
        stride = int(np.prod(dims[k + 1:] if order == "C" else dims[:k], dtype=np.int64))
        term = multiply(idx, stride) if stride != 1 else idx
        out = term if out is None else add(out, term)
    return out


def select(condlist, choicelist, default=0):
    """For each position, the choice of the first true condition, else ``default``.

    Example:
        >>> import functrans.numpy as fnp
        >>> x = fnp.arange(5)
        >>> fnp.select([x < 2, x > 3], [x, x * 10], -1).tolist()
        [0, 1, -1, -1, 40]
    """
    from ._ufuncs import where
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: condlist ({len(condlist)}) and choicelist "
                         f"({len(choicelist)}) must have the same length")
    if not condlist:
        raise ValueError("select: condlist must not be empty")
    for i, c in enumerate(condlist):
        if get_aval(_operand(c)).dtype != dtypes.bool_:
            raise TypeError(f"select: condlist[{i}] must be a boolean array, got "
                            f"{get_aval(_operand(c)).str_short()}")
    out = default
    for c, v in zip(reversed(condlist), reversed(choicelist)):
        out = where(c, v, out)
    return out


# Errors from the public functions end at the user's line, not in functrans.
for _name in __all__:
    globals()[_name] = api_boundary(globals()[_name])
del _name
