"""Shape manipulation: reshape, transpose, stacking, splitting, tiling, padding.

All of these are compositions of the shape and slicing primitives; sizes,
axes and split points are static Python ints, as in JAX.
"""

from __future__ import annotations

import operator

import numpy as np

from ..array import Array
from ..core import Tracer, to_concrete_value
from ..errors import api_boundary
from ..primitives import shape as sp
from ..primitives import dynamic_slicing as dsl
from ..primitives import slicing as sl
from ._util import asarray, broadcast_shapes, broadcast_to, normalize_axes, normalize_axis
from ._util import promote_dtypes


def _static_int(op, x, what="value"):
    if isinstance(x, Tracer):
        # A value known now (under grad/jvp/vjp, not staged out) works, as in JAX.
        value = to_concrete_value(x)
        if value is None:
            raise TypeError(f"{op}: {what} must be a static Python int, got a traced value "
                            f"{x.aval.str_short()}")
        x = value
    return operator.index(x)


@api_boundary
def reshape(a, newshape=None, order="C", *, shape=None):
    """Gives ``a`` a new shape (one dimension may be -1), like numpy.reshape.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.arange(6).reshape(2, -1).shape
        (2, 3)
    """
    if shape is not None:
        newshape = shape
    if order not in ("C", "F"):
        raise ValueError(f"reshape: order must be 'C' or 'F', got {order!r}")
    a = asarray(a)
    if isinstance(newshape, (int, np.integer)):
        newshape = (int(newshape),)
    newshape = [_static_int("reshape", d, "each dimension") for d in newshape]
    if newshape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {tuple(newshape)}")
    if -1 in newshape:
        known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
        if known == 0 or a.size % known:
            raise ValueError(f"reshape: cannot reshape an array of shape {a.shape} (size "
                             f"{a.size}) into shape {tuple(newshape)}")
        newshape[newshape.index(-1)] = a.size // known
    if order == "F":
        return transpose(sp.reshape(transpose(a), newshape[::-1]))
    return sp.reshape(a, newshape)


def ravel(a, order="C"):
    """The elements of ``a`` as a 1-d array."""
    a = asarray(a)
    return reshape(a, (a.size,), order=order)


def flatten(a, order="C"):
    """Same as ravel (arrays are immutable, so no copy is needed)."""
    return ravel(a, order)


@api_boundary
def transpose(a, axes=None):
    """Permutes the axes (reverses them by default)."""
    a = asarray(a)
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    axes = tuple(normalize_axis("transpose", int(ax), a.ndim) for ax in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes "
                         f"of shape {a.shape}")
    return sp.transpose(a, axes)


def permute_dims(a, axes=None):
    return transpose(a, axes)


@api_boundary
def moveaxis(a, source, destination):
    """Moves axes to new positions; the others keep their order."""
    a = asarray(a)
    src = normalize_axes("moveaxis", source, a.ndim)
    dst = normalize_axes("moveaxis", destination, a.ndim)
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    order = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return sp.transpose(a, order)


@api_boundary
def swapaxes(a, axis1, axis2):
    """Interchanges two axes."""
    a = asarray(a)
    perm = list(range(a.ndim))
    i, j = normalize_axis("swapaxes", axis1, a.ndim), normalize_axis("swapaxes", axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return sp.transpose(a, perm)


def matrix_transpose(x):
    """Swaps the last two axes."""
    return swapaxes(x, -1, -2)


@api_boundary
def squeeze(a, axis=None):
    """Removes size-1 axes (all of them, or those in ``axis``)."""
    a = asarray(a)
    if axis is None:
        axis = tuple(i for i, d in enumerate(a.shape) if d == 1)
    return sp.squeeze(a, axis)


@api_boundary
def expand_dims(a, axis):
    """Inserts size-1 axes at the positions ``axis`` of the result."""
    a = asarray(a)
    axis = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return sp.expand_dims(a, axis)


def broadcast_arrays(*args):
    """Broadcasts the arguments against each other."""
    args = [asarray(a) for a in args]
    shape = broadcast_shapes("broadcast_arrays", *[a.shape for a in args])
    return [broadcast_to(a, shape) for a in args]


def atleast_1d(*arys):
    out = [reshape(a, (1,)) if asarray(a).ndim == 0 else asarray(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        out.append(reshape(a, (1,) * (2 - a.ndim) + a.shape) if a.ndim < 2 else a)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        if a.ndim == 0:
            a = reshape(a, (1, 1, 1))
        elif a.ndim == 1:
            a = reshape(a, (1, a.shape[0], 1))
        elif a.ndim == 2:
            a = reshape(a, a.shape + (1,))
        out.append(a)
    return out[0] if len(out) == 1 else out


# --- joining --------------------------------------------------------------------------------


@api_boundary
def concatenate(arrays, axis=0, dtype=None):
    """Joins arrays along an existing axis (``axis=None`` flattens them first)."""
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("concatenate: need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    if any(a.ndim == 0 for a in arrays):
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated; "
                         "use stack")
    arrays = promote_dtypes(*arrays)
    if dtype is not None:
        arrays = [asarray(a, dtype) for a in arrays]
    axis = normalize_axis("concatenate", axis, arrays[0].ndim)
    return sp.concatenate(arrays, axis)


concat = concatenate


@api_boundary
def stack(arrays, axis=0, dtype=None):
    """Joins arrays of one shape along a new axis."""
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got "
                         f"{[a.shape for a in arrays]}")
    axis = normalize_axis("stack", axis, arrays[0].ndim + 1)
    return concatenate([sp.expand_dims(a, (axis,)) for a in arrays], axis, dtype)


def hstack(tup, dtype=None):
    """Stacks horizontally (along axis 1, or 0 for 1-d arrays)."""
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if arrs[0].ndim == 1 else 1, dtype)


def vstack(tup, dtype=None):
    """Stacks vertically (rows)."""
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


row_stack = vstack


def dstack(tup, dtype=None):
    """Stacks along the third axis."""
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup):
    """Stacks 1-d arrays as columns of a 2-d array."""
    cols = []
    for a in tup:
        a = asarray(a)
        cols.append(reshape(a, (a.shape[0], 1)) if a.ndim == 1 else a)
    return concatenate(cols, 1)


def append(arr, values, axis=None):
    """``arr`` with ``values`` appended (flattened when axis is None)."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis)


# --- splitting ---------------------------------------------------------------------------------


def _split_points(op, n, indices_or_sections, strict):
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{op}: the number of sections must be positive")
        if strict and n % sections:
            raise ValueError(f"{op}: array split does not result in an equal division: {n} "
                             f"elements into {sections} sections (use array_split)")
        size, extra = divmod(n, sections)
        sizes = [size + 1] * extra + [size] * (sections - extra)
        return list(np.cumsum([0] + sizes))
    points = [_static_int(op, i, "split index") for i in indices_or_sections]
    return [0] + points + [n]


@api_boundary
def split(ary, indices_or_sections, axis=0):
    """Splits into equal sections or at the given indices along ``axis``."""
    return _split("split", ary, indices_or_sections, axis, strict=True)


@api_boundary
def array_split(ary, indices_or_sections, axis=0):
    """Like split, allowing unequal sections."""
    return _split("array_split", ary, indices_or_sections, axis, strict=False)


def _split(op, ary, indices_or_sections, axis, strict):
    ary = asarray(ary)
    axis = normalize_axis(op, axis, ary.ndim)
    n = ary.shape[axis]
    points = _split_points(op, n, indices_or_sections, strict)
    out = []
    for start, stop in zip(points[:-1], points[1:]):
        start = min(max(start + n if start < 0 else start, 0), n)
        stop = min(max(stop + n if stop < 0 else stop, 0), n)
        out.append(sl.slice_in_dim(ary, start, max(start, stop), 1, axis))
    return out


def hsplit(ary, indices_or_sections):
    ary = asarray(ary)
    return split(ary, indices_or_sections, 0 if ary.ndim == 1 else 1)


def vsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, 2)


# --- repeating, flipping, rolling ----------------------------------------------------------------


@api_boundary
def tile(A, reps):
    """Repeats the whole array ``reps`` times along each axis."""
    A = asarray(A)
    reps = ((reps,) if isinstance(reps, (int, np.integer)) or np.ndim(reps) == 0
            else tuple(reps))
    reps = tuple(_static_int("tile", r, "reps") for r in reps)
    nd = max(A.ndim, len(reps))
    reps = (1,) * (nd - len(reps)) + reps
    A = reshape(A, (1,) * (nd - A.ndim) + A.shape)
    # Interleave a new axis of size r before each axis, then merge the pairs.
    shape = []
    dims = []
    for i, (r, d) in enumerate(zip(reps, A.shape)):
        shape += [r, d]
        dims.append(2 * i + 1)
    out = sp.broadcast_in_dim(A, tuple(shape), tuple(dims))
    return sp.reshape(out, tuple(r * d for r, d in zip(reps, A.shape)))


@api_boundary
def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """Repeats each element ``repeats`` times (an int, or a concrete array of counts)."""
    a = asarray(a)
    if axis is None:
        a = ravel(a)
        axis = 0
    axis = normalize_axis("repeat", axis, a.ndim)
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        if r < 0:
            raise ValueError(f"repeat: repeats must be non-negative, got {r}")
        shape = list(a.shape)
        shape.insert(axis + 1, r)
        dims = tuple(i if i <= axis else i + 1 for i in range(a.ndim))
        out = sp.broadcast_in_dim(a, tuple(shape), dims)
        final = list(a.shape)
        final[axis] *= r
        return sp.reshape(out, tuple(final))
    if isinstance(repeats, Tracer):
        raise TypeError("repeat: with an array of repeats, the output size depends on the "
                        "values; pass a concrete array (or an int), or total_repeat_length")
    counts = np.asarray(repeats)
    idx = np.repeat(np.arange(a.shape[axis]), np.broadcast_to(counts, (a.shape[axis],)))
    from ._selection import take
    return take(a, asarray(idx.astype(np.int32)), axis=axis)


@api_boundary
def flip(m, axis=None):
    """Reverses the order of elements along ``axis`` (all axes by default)."""
    m = asarray(m)
    return sp.rev(m, normalize_axes("flip", axis, m.ndim))


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


@api_boundary
def rot90(m, k=1, axes=(0, 1)):
    """Rotates by 90 degrees k times in the plane of ``axes``."""
    m = asarray(m)
    k = k % 4
    a0, a1 = normalize_axes("rot90", axes, m.ndim)
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    if k == 1:
        return swapaxes(flip(m, a1), a0, a1)
    return flip(swapaxes(m, a0, a1), a1)


@api_boundary
def roll(a, shift, axis=None):
    """Shifts elements cyclically along ``axis`` (a flattened array by default)."""
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts = (shift,) if not isinstance(shift, (tuple, list)) else tuple(shift)
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ValueError("roll: shift and axis must have the same length")
    for s, ax in zip(shifts, axes):
        ax = normalize_axis("roll", ax, a.ndim)
        n = a.shape[ax]
        if n == 0:
            continue
        if isinstance(s, Tracer) or (hasattr(s, "ndim") and not isinstance(s, (int, np.integer))):
            # A traced shift: read a window out of the array twice over.
            from ._ufuncs import remainder, subtract
            start = remainder(subtract(n, s), n)
            doubled = sp.concatenate([a, a], ax)
            starts = [0] * a.ndim
            starts[ax] = start
            a = dsl.dynamic_slice(doubled, starts, a.shape)
            continue
        s = int(s) % n
        if s:
            a = sp.concatenate([sl.slice_in_dim(a, n - s, n, 1, ax),
                                sl.slice_in_dim(a, 0, n - s, 1, ax)], ax)
    return a


# --- padding --------------------------------------------------------------------------------------


def _pad_widths(pad_width, ndim):
    if isinstance(pad_width, Tracer):
        raise TypeError("pad: pad_width must be static Python ints")
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    if (pw < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width}")
    return [(int(lo), int(hi)) for lo, hi in pw]


@api_boundary
def pad(array, pad_width, mode="constant", constant_values=0, **kwargs):
    """Pads an array, like numpy.pad.

    Modes: ``constant`` (``constant_values``), ``edge``, ``wrap``, ``reflect``,
    ``symmetric``.
    """
    array = asarray(array)
    widths = _pad_widths(pad_width, array.ndim)
    if mode == "constant":
        if isinstance(constant_values, (Array, Tracer)):
            # An array value (traced under grad or jit, for instance): one
            # value, or one per side of each axis like numpy's (ndim, 2) form.
            cv = asarray(constant_values).astype(array.dtype)
            if cv.ndim == 0:
                return sp.pad(array, cv, [(lo, hi, 0) for lo, hi in widths])
            cv = broadcast_to(cv, (array.ndim, 2))
            for ax, (lo, hi) in enumerate(widths):
                cfg = [(0, 0, 0)] * array.ndim
                cfg[ax] = (lo, hi, 0) if lo == 0 or hi == 0 else (lo, 0, 0)
                array = sp.pad(array, cv[ax, 0] if lo else cv[ax, 1], cfg)
                if lo and hi:
                    cfg[ax] = (0, hi, 0)
                    array = sp.pad(array, cv[ax, 1], cfg)
            return array
        cv = np.broadcast_to(np.asarray(constant_values, dtype=object), (array.ndim, 2))
        if all(v == cv.flat[0] for v in cv.flat):
            (value,) = promote_dtypes(asarray(cv.flat[0]))
            value = asarray(value, array.dtype)
            return sp.pad(array, value, [(lo, hi, 0) for lo, hi in widths])
        for ax, (lo, hi) in enumerate(widths):
            cfg = [(0, 0, 0)] * array.ndim
            cfg[ax] = (lo, 0, 0)
            array = sp.pad(array, asarray(cv[ax][0], array.dtype), cfg)
            cfg[ax] = (0, hi, 0)
            array = sp.pad(array, asarray(cv[ax][1], array.dtype), cfg)
        return array
    if mode not in ("edge", "wrap", "reflect", "symmetric"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; supported modes are "
                                  "'constant', 'edge', 'wrap', 'reflect', 'symmetric'")
    for ax, (lo, hi) in enumerate(widths):
        array = _pad_axis(array, ax, lo, hi, mode)
    return array


def _pad_axis(x, ax, lo, hi, mode):
    n = x.shape[ax]
    if lo == 0 and hi == 0:
        return x
    if n == 0:
        raise ValueError(f"pad: cannot pad an empty axis with mode {mode!r}")

    def take(arr, start, stop):
        return sl.slice_in_dim(arr, start, stop, 1, ax)

    if mode == "edge":
        parts = [repeat(take(x, 0, 1), lo, axis=ax), x, repeat(take(x, n - 1, n), hi, axis=ax)]
        return concatenate(parts, ax)
    if mode == "wrap":
        # Whole periods, then a partial one, on each side.
        left = [x] * (lo // n) + ([take(x, n - lo % n, n)] if lo % n else [])
        right = [x] * (hi // n) + ([take(x, 0, hi % n)] if hi % n else [])
        return concatenate(left[::-1] + [x] + right, ax)
    # reflect / symmetric: reflect the array grown so far about its current edge,
    # at most one period at a time, so long pads reflect back and forth (numpy).
    period = n - 1 if mode == "reflect" else n
    off = 1 if mode == "reflect" else 0
    if period == 0:  # a single element reflects onto itself
        return repeat(x, 1 + lo + hi, axis=ax)
    out, remaining = x, lo
    while remaining > 0:
        k = min(remaining, period)
        out = concatenate([flip(take(out, off, off + k), ax), out], ax)
        remaining -= k
    remaining = hi
    while remaining > 0:
        k = min(remaining, period)
        size = out.shape[ax]
        out = concatenate([out, flip(take(out, size - off - k, size - off), ax)], ax)
        remaining -= k
    return out


# --- triangles ------------------------------------------------------------------------------------


def _triangle(name, m, k, lower):
    """m with the elements outside its lower (or upper) k-th triangle set to zero."""
    from ._creation import tri, zeros_like
    from ._ufuncs import logical_not, where
    m = asarray(m)
    if m.ndim < 2:
        raise ValueError(f"{name}: input must be at least 2-d, got shape {m.shape}")
    n, cols = m.shape[-2], m.shape[-1]
    mask = tri(n, cols, k if lower else k - 1, dtype=bool)
    return where(mask if lower else logical_not(mask), m, zeros_like(m))


@api_boundary
def tril(m, k=0):
    """The lower triangle (at and below the k-th diagonal) of the last two axes."""
    return _triangle("tril", m, k, lower=True)


@api_boundary
def triu(m, k=0):
    """The upper triangle (at and above the k-th diagonal) of the last two axes."""
    return _triangle("triu", m, k, lower=False)


__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == __name__]
