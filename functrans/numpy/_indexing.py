"""numpy indexing: ``x[idx]``, ``x.at[idx].set/add/...``, take, diagonal, nonzero, ...

``x[idx]`` follows numpy's rules and lowers to few primitives:

* static basic indices (ints, slices, None, Ellipsis): one ``slice``, then
  ``rev`` for negative steps and ``squeeze`` for integer indices (in eager
  mode numpy's own basic indexing, which is the same thing, only faster);
* integer-array ("advanced") indices: one ``gather``. As in numpy, the
  broadcast index dims replace the indexed dims where the advanced indices are
  adjacent, and go first otherwise; an int among arrays counts as advanced;
* a traced scalar index (``x[i]``): ``dynamic_slice``;
* boolean masks: converted to integer arrays with numpy's ``nonzero``, which
  needs a concrete mask (the output's shape depends on its values).

Out-of-bounds semantics are JAX's, not numpy's (which raises IndexError):
integer indices, static ints included, wrap once if negative and are then
clamped into bounds for reads (``x[7]`` of a length-5 ``x`` is ``x[4]``,
``x[-7]`` is ``x[0]``), or give a fill value with ``x.at[i].get(mode="fill")``;
``.at[...]`` updates drop out-of-bounds positions (or clamp them with
``mode="clip"``). Only an axis of size 0 has nothing to clamp to: reading it
raises IndexError. Slices clip their bounds as in Python.

``x.at[idx].<op>(v)`` casts ``v`` to x's dtype and broadcasts it to the shape
of ``x[idx]``; then a static box (ints, step-1 slices) is one
``dynamic_update_slice``, array indices over otherwise whole dims one
``scatter*`` (the mirror of the gather that reads them), and anything else
(strided slices mixed with arrays) a scatter to the flat positions found by
indexing an iota of ``x.size`` the same way. Duplicate positions accumulate
for add/multiply/min/max (like ``np.add.at``); for set the last one wins.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from .. import dtypes, eager
from ..array import Array, _new_array
from ..core import Tracer, get_aval, to_concrete_value
from ..errors import filter_traceback
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import shape as sp
from ..primitives import dynamic_slicing as dsl
from ..primitives import gather_scatter as gs
from ..primitives import scatter_combine
from ..primitives import slicing as sl
from ..primitives.control_flow import while_loop
from ._ufuncs import power, true_divide
from ._util import _contains_tracer, asarray, broadcast_to, filled

__all__ = []  # x[idx] and x.at[idx]; public functions built on them: _selection.py

# Kinds of index entries after parsing.
_NEW, _ELLIPSIS, _SLICE, _INT, _ARRAY, _MASK = "new", "ellipsis", "slice", "int", "array", "mask"


def _operand(x):
    return x if isinstance(x, (Array, Tracer)) else asarray(x)


def _index_dtype():
    return dtypes.default_int()


def _is_int_dtype(dtype) -> bool:
    return np.dtype(dtype).kind in "iu"


# --- parsing an index ------------------------------------------------------------------------


def _traced_mask_error(aval):
    return TypeError(
        f"Boolean mask indexing with a traced mask ({aval.str_short()}) is not supported: the "
        "shape of the result would depend on the mask's values, which are unknown inside a "
        "transformed function (jit, vmap, grad, make_ir). Use fnp.where(mask, x, 0) (or "
        "another fill value) to keep the shape static, or index with a concrete mask outside "
        "the transformation.")


def _index_type_error(raw):
    what = (f"an array of dtype {np.dtype(raw.dtype)}" if hasattr(raw, "dtype")
            else f"{type(raw).__name__} {raw!r:.40}")
    return TypeError(f"invalid index: {what}. Indices must be integers, slices, None, Ellipsis, "
                     "or integer or boolean arrays (convert floats with .astype(int)).")


def _classify(raw):
    """One index item as (kind, value)."""
    if raw is None:
        return _NEW, None
    if raw is Ellipsis:
        return _ELLIPSIS, None
    if isinstance(raw, builtins.slice):
        return _SLICE, raw
    if isinstance(raw, (bool, np.bool_)):
        return _MASK, np.asarray(raw)
    if isinstance(raw, (int, np.integer)):
        return _INT, int(raw)
    if isinstance(raw, (list, tuple)) and _contains_tracer(raw):
        raw = asarray(raw)  # a stack
    if isinstance(raw, Tracer):
        if raw.dtype == dtypes.bool_:
            # A mask whose value is known (under grad/jvp/vjp, not staged out) works, as in JAX.
            value = to_concrete_value(raw)
            if value is None:
                raise _traced_mask_error(raw.aval)
            return _MASK, np.asarray(value._value if type(value) is Array else value)
        if not _is_int_dtype(raw.dtype):
            raise _index_type_error(raw)
        return _ARRAY, raw
    if isinstance(raw, (Array, np.ndarray, np.generic, list, tuple)):
        try:
            v = raw._value if type(raw) is Array else np.asarray(raw)
        except ValueError:
            raise IndexError(f"invalid index {raw!r:.60}: a list index must be "
                             "rectangular") from None
        if isinstance(raw, (list, tuple)) and v.size == 0 and v.dtype.kind == "f":
            v = v.astype(np.int64)  # numpy reads an empty list as an empty integer index
        if v.dtype == np.bool_:
            return _MASK, v
        if not _is_int_dtype(v.dtype):
            raise _index_type_error(v)
        return _ARRAY, v
    raise _index_type_error(raw)


def _slice_bounds(s: builtins.slice, size: int) -> tuple:
    if any(isinstance(b, Tracer) for b in (s.start, s.stop, s.step)):
        # Bounds whose value is known (under grad/jvp/vjp, not staged out) work, as in JAX.
        s = builtins.slice(*(_concrete_bound(b) for b in (s.start, s.stop, s.step)))
    for b in (s.start, s.stop, s.step):
        if isinstance(b, Tracer):
            raise TypeError(
                f"slice bounds must be static, got a traced value {b.aval.str_short()} in "
                f"{s}: the size of a slice must be known while tracing. For a slice of static "
                "size at a traced position use lax.dynamic_slice(x, starts, sizes) (or "
                "lax.dynamic_slice_in_dim).")
    try:
        return s.indices(size)
    except TypeError:
        raise TypeError(f"invalid slice {s}: slice bounds must be integers or None") from None


def _concrete_bound(b):
    value = to_concrete_value(b) if isinstance(b, Tracer) else b
    return b if value is None else operator.index(value)


def _parse_index(idx, shape):
    """Parses ``idx`` for an array of ``shape``.

    Returns ``(new_shape, entries, gaps)``: ``new_shape`` is ``shape`` with a
    size-1 dim inserted for each None (and 0-d bool); ``entries`` has one
    ``(kind, value)`` per dim of it: ``(_SLICE, (start, stop, step))`` normalized,
    ``(_INT, i)`` static and in bounds (0 <= i < size), or ``(_ARRAY, a)`` an
    integer numpy array or tracer (unnormalized; a static int out of bounds
    becomes a 0-d one); ``gaps`` holds the dim before
    which an Ellipsis of no dims stood (numpy counts it as separating advanced
    indices: ``x[0, ..., [1]]`` puts the index dims first even for a 2-d x).
    """
    if not isinstance(idx, tuple):
        idx = (idx,)
    items = [_classify(raw) for raw in idx]
    if sum(k == _ELLIPSIS for k, _ in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(v.ndim if k == _MASK else 1 for k, v in items
                   if k not in (_NEW, _ELLIPSIS))
    if consumed > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but "
                         f"{consumed} were indexed")
    fill = [(_SLICE, builtins.slice(None))] * (len(shape) - consumed)
    if any(k == _ELLIPSIS for k, _ in items):
        at = [k for k, _ in items].index(_ELLIPSIS)
        items = items[:at] + (fill or [(_ELLIPSIS, None)]) + items[at + 1:]
    else:
        items = items + fill
    new_shape, entries, axis, gaps = [], [], 0, set()
    for kind, v in items:
        if kind == _ELLIPSIS:
            gaps.add(len(entries))
        elif kind == _NEW:
            new_shape.append(1)
            entries.append((_SLICE, (0, 1, 1)))
        elif kind == _MASK and v.ndim == 0:
            # numpy: a scalar bool adds a dim of length 1 (True) or 0 (False).
            new_shape.append(1)
            entries.append((_ARRAY, np.zeros(int(bool(v)), np.int64)))
        elif kind == _MASK:
            dims = shape[axis:axis + v.ndim]
            for j, (m, d) in enumerate(zip(v.shape, dims)):
                if m != d:
                    raise IndexError(f"boolean index did not match indexed array along axis "
                                     f"{axis + j}; size of axis is {d} but size of "
                                     f"corresponding boolean axis is {m}")
            for a, d in zip(np.nonzero(v), dims):
                new_shape.append(d)
                entries.append((_ARRAY, a))
            axis += v.ndim
        else:
            d = shape[axis]
            if kind == _SLICE:
                entries.append((_SLICE, _slice_bounds(v, d)))
            elif kind == _INT and -d <= v < d:
                entries.append((_INT, v % d))
            elif kind == _INT and d == 0:
                raise IndexError(f"index {v} is out of bounds for axis {axis} with size 0")
            elif kind == _INT:
                # Out of bounds: a 0-d array index, which reads and updates as JAX does
                # (clamped, filled or dropped by mode) and, having no dims, lays out
                # the result exactly as the int would.
                entries.append((_ARRAY, np.asarray(v)))
            else:
                entries.append((_ARRAY, v))
            new_shape.append(d)
            axis += 1
    return tuple(new_shape), entries, frozenset(gaps)


# --- reading: x[idx] --------------------------------------------------------------------------


def _is_static_basic(idx) -> bool:
    items = idx if type(idx) is tuple else (idx,)
    for i in items:
        t = type(i)
        if t is builtins.slice:
            if not all(b is None or type(b) is int for b in (i.start, i.stop, i.step)):
                return False
        elif not (t is int or i is None or i is Ellipsis):
            return False
    return True


def _getitem(x, idx):
    """``x[idx]`` with numpy's semantics (see the module docstring).

    Example:
        >>> import functrans.numpy as fnp
        >>> x = fnp.arange(12).reshape(3, 4)
        >>> x[1:, ::-2].tolist(), x[[0, 2], 1].tolist()
        ([[7, 5], [11, 9]], [1, 9])
    """
    __tracebackhide__ = True  # noqa: F841  (read by pytest and IPython)
    try:
        out = eager.basic_index(x, idx, _is_static_basic)
        return _rewriting_take(x, idx) if out is None else out
    except (TypeError, ValueError, IndexError) as e:
        raise e.with_traceback(filter_traceback(e.__traceback__))


def _index_get(x, idx, mode=None, fill_value=None):
    """``x.at[idx].get(mode=..., fill_value=...)``: reading with JAX's modes.

    ``mode`` None or "promise_in_bounds" (as ``x[idx]``) and "clip" clamp
    out-of-bounds indices (only "clip" gives the element read the gradient
    of an array index's clamped read, see lax.gather); "fill" or "drop" gives
    ``fill_value`` there (NaN for inexact dtypes by default, like lax.gather).
    """
    if mode not in (None, "clip", "promise_in_bounds", "fill", "drop"):
        raise ValueError(f"x.at[...].get: mode must be None, 'clip', 'fill', 'drop' or "
                         f"'promise_in_bounds', got {mode!r}")
    mode = {None: "promise_in_bounds", "drop": "fill"}.get(mode, mode)
    return _rewriting_take(x, idx, mode, fill_value)


def _slice_params(entries) -> tuple:
    """(starts, limits, strides, reversed dims) of the basic part of ``entries``."""
    starts, limits, strides, rev = [], [], [], []
    for dim, (kind, v) in enumerate(entries):
        if kind == _INT:
            starts.append(v), limits.append(v + 1), strides.append(1)
            continue
        start, stop, step = v
        n = len(range(start, stop, step))
        if step > 0:
            lo, hi = start, max(start, stop)
        else:  # the same elements in increasing order, reversed afterwards
            lo, hi = (start + (n - 1) * step, start + 1) if n else (0, 0)
            if n > 1:
                rev.append(dim)
        starts.append(lo), limits.append(hi), strides.append(abs(step))
    return starts, limits, strides, rev


def _basic(x, entries):
    starts, limits, strides, rev = _slice_params(entries)
    out = sl.slice(x, starts, limits, strides)
    if rev:
        out = sp.rev(out, rev)
    drop = [d for d, (k, _) in enumerate(entries) if k == _INT]
    return sp.squeeze(out, drop) if drop else out


def _normalized_index(v, size: int):
    """An index array with negative entries wrapped once, as the index dtype.

    Concrete ones are also clipped to [-1, size], which keeps out-of-bounds
    entries out of bounds and every value representable.
    """
    if isinstance(v, Tracer):
        if v.dtype != _index_dtype():
            v = ew.convert_element_type(v, _index_dtype())
        return ew.select(ew.lt(v, 0), ew.add(v, size), v)
    v = np.asarray(v)
    if v.size and (v.min() < 0 or v.max() >= size):
        if v.dtype.kind == "i":
            v = np.where(v < 0, v.astype(np.int64) + size, v)
        v = np.clip(v, -1, size)
    return v.astype(_index_dtype(), copy=False)


def _rewriting_take(x, idx, mode="promise_in_bounds", fill_value=None):
    """``x[idx]``; ``mode`` is lax.gather's, for array indices ("fill" gives
    ``fill_value`` at out-of-bounds ones). 0-d indices alone clamp whatever
    the mode (unless "fill"), gradient included, as JAX's slices do."""
    x = _operand(x)
    shape, entries, gaps = _parse_index(idx, tuple(x.shape))
    x = sp.reshape(x, shape)
    if all(k != _ARRAY for k, _ in entries):
        return _basic(x, entries)
    # With an array index present, ints are advanced indices too (numpy's rule).
    index = {d: v if k == _INT else _normalized_index(v, shape[d])
             for d, (k, v) in enumerate(entries) if k != _SLICE}
    x = _basic(x, [e if e[0] == _SLICE else (_SLICE, (0, shape[d], 1))
                   for d, e in enumerate(entries)])
    if all(np.ndim(v) == 0 for v in index.values()) and (mode != "fill" or all(
            not isinstance(v, Tracer) and 0 <= v < shape[d] for d, v in index.items())):
        return _scalar_take(x, index)
    return _gather_take(x, index, mode, fill_value, gaps)


def _scalar_take(x, index):
    """0-d indices only, clamped: static slicing, and a dynamic_slice for traced ones."""
    shape = tuple(x.shape)
    for d in index:
        if shape[d] == 0:
            raise IndexError(f"index is out of bounds for axis {d} with size 0")
    static = {d: min(max(int(v), 0), shape[d] - 1) for d, v in index.items()
              if not isinstance(v, Tracer)}
    x = _basic(x, [(_INT, static[d]) if d in static else (_SLICE, (0, s, 1))
                   for d, s in enumerate(shape)])
    kept = [d for d in range(len(shape)) if d not in static]  # the dims left after _basic
    if len(static) == len(index):
        return x
    out = dsl.dynamic_slice(x, [index[d] if d in index else 0 for d in kept],
                           [1 if d in index else shape[d] for d in kept],
                           allow_negative_indices=False)
    return sp.squeeze(out, [i for i, d in enumerate(kept) if d in index])


def _advanced_layout(shape, index, gaps=frozenset()):
    """Where advanced indexing over the dims of ``index`` puts things (numpy's rules).

    Returns ``(dims, batch, offset_dims, out_shape)``: the indexed dims in
    order, the broadcast shape of the index arrays, the output dims holding
    the other (full) dims, and the output shape.
    """
    dims = sorted(index)
    shapes = [np.shape(index[d]) if not isinstance(index[d], Tracer) else index[d].shape
              for d in dims]
    try:
        batch = tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        shown = " ".join(str(tuple(s)) for s in shapes)
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                         f"with shapes {shown}") from None
    nb, k = len(batch), len(dims)
    rest = [d for d in range(len(shape)) if d not in index]
    if dims[-1] - dims[0] == k - 1 and not any(dims[0] < g <= dims[-1] for g in gaps):
        # adjacent: the index dims take their place
        p = dims[0]
        offset_dims = tuple(range(p)) + tuple(range(p + nb, len(rest) + nb))
    else:  # separated: the index dims go first
        offset_dims = tuple(range(nb, nb + len(rest)))
    window, batch_it = iter(shape[d] for d in rest), iter(batch)
    out_shape = tuple(next(window) if i in offset_dims else next(batch_it)
                      for i in range(nb + len(rest)))
    return dims, batch, offset_dims, out_shape


def _gather_take(x, index, mode, fill_value, gaps=frozenset()):
    """Advanced indexing over the dims in ``index`` (others full) with one gather."""
    shape = tuple(x.shape)
    dims, batch, offset_dims, out_shape = _advanced_layout(shape, index, gaps)
    if any(shape[d] == 0 for d in dims):
        # No element to read: only an empty index (or a fill) makes sense.
        if int(np.prod(batch)) and mode != "fill":
            d = next(d for d in dims if shape[d] == 0)
            raise IndexError(f"index is out of bounds for axis {d} with size 0")
        fill = 0 if fill_value is None else fill_value
        return sp.broadcast_in_dim(_new_array(np.asarray(fill, x.dtype), x.weak_type),
                                   out_shape, ())
    indices = _stack_indices([index[d] for d in dims], batch)
    dnums = gs.GatherDimensionNumbers(offset_dims, tuple(dims), tuple(dims))
    sizes = tuple(1 if d in index else s for d, s in enumerate(shape))
    return gs.gather(x, indices, dnums, sizes, mode=mode, fill_value=fill_value)


def _stack_indices(arrays, batch):
    """The index arrays broadcast to ``batch`` and stacked on a new last dim."""
    dtype = _index_dtype()
    if not any(isinstance(a, Tracer) for a in arrays):
        stacked = np.stack([np.broadcast_to(np.asarray(a, dtype), batch) for a in arrays], -1)
        return _new_array(stacked)
    nb = len(batch)
    cols = []
    for a in arrays:
        a = a if isinstance(a, Tracer) else _new_array(np.asarray(a, dtype))
        rank = get_aval(a).ndim
        cols.append(sp.broadcast_in_dim(a, tuple(batch) + (1,), tuple(range(nb - rank, nb))))
    return sp.concatenate(cols, nb)


# --- updating: x.at[idx].set(v) ---------------------------------------------------------------

_COMBINE = {"add": ew.add_p, "mul": ew.mul_p, "min": ew.min_p, "max": ew.max_p}
_BOOL_COMBINE = {"add": ew.or_p, "mul": ew.and_p, "min": ew.min_p, "max": ew.max_p}
_METHOD = {"set": "set", "add": "add", "mul": "multiply", "min": "min", "max": "max",
           "sub": "subtract", "div": "divide", "pow": "power"}


def _values_for(op, values, x, shape):
    """``values`` cast to x's dtype and broadcast to the indexed ``shape``."""
    values = _operand(values)
    if values.dtype != x.dtype:
        values = ew.convert_element_type(values, x.dtype)
    vshape, shape = tuple(values.shape), tuple(shape)
    lead = max(len(vshape) - len(shape), 0)  # numpy drops leading size-1 dims of the values
    try:
        ok = all(s == 1 for s in vshape[:lead]) and np.broadcast_shapes(vshape[lead:],
                                                                        shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: cannot broadcast values of shape {vshape} to the indexed "
                         f"shape {shape}")
    if lead:
        values = sp.reshape(values, vshape[lead:])
    return broadcast_to(values, shape)


def _index_update(x, idx, values, how, mode=None):
    """``x.at[idx].<how>(values)``: a new array; ``how`` in set/add/mul/min/max/sub/div/pow.

    Values are cast to x's dtype and broadcast to the shape of ``x[idx]``.
    As in JAX, "sub" adds the negated values, and "div"/"pow" divide x by
    (raise it to) the product of the values at each position, scattered into
    ones, so an integer x divided gives floats.
    Duplicate positions accumulate (like ``np.add.at``); for "set" the last
    one wins. Out-of-bounds array indices are dropped (``mode`` None, "drop"
    "fill" or "promise_in_bounds", as in JAX) or clamped into bounds ("clip").

    Example:
        >>> import functrans.numpy as fnp
        >>> x = fnp.zeros(4, int)
        >>> x.at[1:3].set(7).tolist(), x.at[fnp.array([0, 0, -1])].add(1).tolist()
        ([0, 7, 7, 0], [2, 0, 0, 1])
    """
    if how not in _METHOD:
        raise ValueError(f"_index_update: unknown update {how!r}; expected one of "
                         f"{', '.join(_METHOD)}")
    if mode not in (None, "drop", "fill", "clip", "promise_in_bounds"):
        raise ValueError(f"x.at[...].{_METHOD[how]}: mode must be None, 'drop', 'fill', 'clip' "
                         f"or 'promise_in_bounds', got {mode!r}")
    clip = mode == "clip"
    __tracebackhide__ = True  # noqa: F841
    try:
        x = _operand(x)
        if how in ("div", "pow"):
            ones = filled(x.shape, 1, x.dtype, x.weak_type)
            by = _index_update(ones, idx, values, "mul", mode)
            return true_divide(x, by) if how == "div" else power(x, by)
        if how == "sub":
            values = _operand(values)
            if values.dtype != x.dtype:
                values = ew.convert_element_type(values, x.dtype)
            values, how = ew.neg(values), "add"
        new_shape, entries, gaps = _parse_index(idx, tuple(x.shape))
        op = f"x.at[...].{_METHOD[how]}"
        if all(k == _INT or (k == _SLICE and v[2] == 1) for k, v in entries):
            update = _update_box
        elif all(k != _SLICE or v == (0, d, 1) for (k, v), d in zip(entries, new_shape)):
            update = _update_advanced
        else:
            return _update_positions(op, x, idx, values, how, clip)
        out = update(op, sp.reshape(x, new_shape), entries, gaps, values, how, clip)
        return sp.reshape(out, tuple(x.shape))
    except (TypeError, ValueError, IndexError) as e:
        raise e.with_traceback(filter_traceback(e.__traceback__))


def _update_box(op, y, entries, gaps, values, how, clip):
    """A static contiguous box: one dynamic_update_slice."""
    starts, limits, _, _ = _slice_params(entries)
    indexed = [hi - lo for (k, _), lo, hi in zip(entries, starts, limits) if k == _SLICE]
    values = _values_for(op, values, y, indexed)
    values = sp.reshape(values, tuple(hi - lo for lo, hi in zip(starts, limits)))
    if how != "set":
        table = _BOOL_COMBINE if y.dtype == dtypes.bool_ else _COMBINE
        values = table[how].bind(sl.slice(y, starts, limits), values)
    return dsl.dynamic_update_slice(y, values, starts)


def _update_advanced(op, y, entries, gaps, values, how, clip):
    """Array indices over otherwise full dims: one scatter, the mirror of the gather."""
    shape = tuple(y.shape)
    index = {d: v if k == _INT else _normalized_index(v, shape[d])
             for d, (k, v) in enumerate(entries) if k != _SLICE}
    dims, batch, offset_dims, out_shape = _advanced_layout(shape, index, gaps)
    values = _values_for(op, values, y, out_shape)
    indices = _stack_indices([index[d] for d in dims], batch)
    dnums = gs.ScatterDimensionNumbers(offset_dims, tuple(dims), tuple(dims))
    return scatter_combine.SCATTER_PRIMITIVES[how].bind(y, indices, values, dimension_numbers=dnums,
                                           mode="clip" if clip else "drop")


def _update_positions(op, x, idx, values, how, clip):
    """Strided or partial slices mixed with arrays: a scatter to the flat positions
    that reading would select (-1, dropped, where out of bounds), found by
    indexing an iota the same way."""
    iota = sp.reshape(sp.iota(_index_dtype(), x.size), tuple(x.shape))
    positions = _rewriting_take(iota, idx, mode="clip" if clip else "fill", fill_value=-1)
    values = _values_for(op, values, x, tuple(positions.shape))
    n = positions.size
    out = scatter_combine.SCATTER_PRIMITIVES[how].bind(
        sp.reshape(x, (x.size,)), sp.reshape(positions, (n, 1)), sp.reshape(values, (n,)),
        dimension_numbers=gs.ScatterDimensionNumbers((), (0,), (0,)), mode="drop")
    return sp.reshape(out, tuple(x.shape))


def _index_apply(x, idx, func, mode=None):
    """``x.at[idx].apply(func)``: the elementwise ``func`` applied at the indexed positions.

    As in JAX's scatter_apply, a position indexed k times gets ``func``
    applied k times, and ``mode`` treats out-of-bounds indices as for
    :func:`_index_update` (dropped by default). ``func`` must keep the dtype.
    ``func`` runs on the whole array (as often as the most indexed position
    needs) and a select keeps its values only where they apply, so it must be
    elementwise, like the numpy ufunc of ``np.ufunc.at``.

    Example:
        >>> import functrans.numpy as fnp
        >>> _index_apply(fnp.arange(4), fnp.array([1, 1, 3]), lambda v: v * 10).tolist()
        [0, 100, 2, 30]
    """
    __tracebackhide__ = True  # noqa: F841
    x = _operand(x)
    counts = _index_update(_new_array(np.zeros(tuple(x.shape), np.int32)), idx, 1, "add", mode)

    def step(k, y):
        fy = func(y)
        if get_aval(fy).dtype != x.dtype or tuple(fy.shape) != tuple(x.shape):
            raise TypeError(f"x.at[...].apply: func must map {get_aval(x).str_short()} to the "
                            f"same shape and dtype, got {get_aval(fy).str_short()}")
        return ew.select(ew.gt(counts, broadcast_to(k, tuple(x.shape))), fy, y)

    if not isinstance(counts, Tracer):  # the number of rounds is known: a Python loop
        rounds = int(counts._value.max()) if x.size else 0
        for k in range(rounds):
            x = step(_new_array(np.int32(k)), x)
        return x
    rounds = red.reduce_max(counts, tuple(range(x.ndim))) if x.size else 0
    _, out = while_loop(lambda c: ew.lt(c[0], rounds),
                        lambda c: (ew.add(c[0], np.int32(1)), step(c[0], c[1])),
                        (_new_array(np.int32(0)), x))
    return out
