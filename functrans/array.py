"""``Array``: the immutable value of functrans.

An Array holds a numpy array on the host and a weak-type flag. Its buffer is
never written after creation: functrans never mutates it, and every view it
hands out (``np.asarray(x)``, ``__dlpack__``) is marked read-only first.
Updates are functional: ``x.at[idx].set(y)`` returns a new Array.

An Array may also hold a device buffer (``_buf``, on device ``_dev``): the
result of a ``jit`` call holds only that, and its host value ``_value`` is
made the first time something reads it (zero copy on the CPU, see
``__getattr__``); a host Array sent to a device by ``jit`` keeps the buffer,
so the next call does not send it again. The three device slots are left
unset on host arrays (eager mode never pays for them); reading an unset one
gives None/False through ``__getattr__``. ``_buf`` is ``_DELETED`` once the
array was donated to a jitted function (or ``delete()``d).

The operators and methods live in :class:`ArrayOps`, shared with
``core.Tracer``, and forward to ``functrans.numpy``; that module attaches
itself here when it is imported (:func:`attach_numpy`).
"""

from __future__ import annotations

import numpy as np

from . import core as _core  # functrans/__init__ imports core first, so this is safe
from . import dtypes
from .errors import ImmutableArrayError
from .interpreters import xla  # the device side; it imports jax only when first used

_fnp = None  # functrans.numpy, attached on import (see attach_numpy)


class ArrayOps:
    """Operators and numpy-style methods common to Array and Tracer."""

    __slots__ = ()
    __array_priority__ = 100

    # Operators are attached by attach_numpy(); these cover the rest.
    def __setitem__(self, idx, value):
        raise ImmutableArrayError(type(self).__name__)

    def __delitem__(self, idx):
        raise ImmutableArrayError(type(self).__name__)

    @property
    def at(self):
        """Functional updates: ``x.at[idx].set(y)``, ``.add``, ``.multiply``, ``.min``,
        ``.max``, ``.get``. Returns new arrays; ``x`` is unchanged."""
        return _IndexUpdateHelper(self)

    @property
    def T(self):
        return _fnp.transpose(self)

    @property
    def mT(self):
        return _fnp.swapaxes(self, -1, -2)

    @property
    def real(self):
        return _fnp.real(self)

    @property
    def imag(self):
        return _fnp.imag(self)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int) and shape[0] is not None:
            shape = shape[0]
        return _fnp.reshape(self, shape, order=order)

    def astype(self, dtype, copy=True):
        return _fnp.astype(self, dtype)

    def __array_namespace__(self, api_version=None):
        return _fnp


_METHODS = ("sum", "mean", "var", "std", "max", "min", "prod", "all", "any", "argmax",
            "argmin", "cumsum", "cumprod", "ravel", "flatten", "transpose", "squeeze",
            "swapaxes", "clip", "round", "conj", "conjugate", "dot", "sort", "argsort",
            "take", "repeat", "nonzero", "trace", "diagonal")

_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
           "floordiv": "floor_divide", "mod": "remainder", "pow": "power",
           "matmul": "matmul", "and": "bitwise_and", "or": "bitwise_or",
           "xor": "bitwise_xor", "lshift": "left_shift", "rshift": "right_shift",
           "divmod": "divmod"}
_COMPARE = {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
            "gt": "greater", "ge": "greater_equal"}
_UNARY = {"neg": "negative", "pos": "positive", "abs": "abs", "invert": "invert"}


def _reflected(fn):
    def op(self, other):
        return fn(other, self)
    return op


def attach_numpy(fnp) -> None:
    """Installs functrans.numpy functions as the operators and methods of ArrayOps.

    The operator *is* the numpy function (``ArrayOps.__add__ = fnp.add``), so
    ``x + y`` costs no extra Python frame.
    """
    global _fnp
    _fnp = fnp
    for name, fname in _BINARY.items():
        fn = getattr(fnp, fname)
        setattr(ArrayOps, f"__{name}__", fn)
        setattr(ArrayOps, f"__r{name}__", _reflected(fn))
    for name, fname in _COMPARE.items():
        setattr(ArrayOps, f"__{name}__", getattr(fnp, fname))
    for name, fname in _UNARY.items():
        setattr(ArrayOps, f"__{name}__", getattr(fnp, fname))
    for name in _METHODS:
        setattr(ArrayOps, name, getattr(fnp, name))
    ArrayOps.__getitem__ = fnp._getitem


class _ArrayMeta(type):
    """``isinstance(x, Array)`` is True for the traced values a transformed function
    sees (tracers), as ``isinstance(x, jax.Array)`` is in JAX, so user code that
    checks for an array works under grad, vmap and jit.

    Library code that means *a concrete array* tests ``type(x) is Array`` (there
    are no subclasses). The hook costs nothing for an Array itself (Python
    answers ``isinstance`` of an exact type without calling it), and for other
    values it is ``Tracer.__instancecheck__``, a method of C: ``core`` installs
    it once Tracer exists (core imports this module before defining Tracer).
    """

    def __instancecheck__(cls, x):  # (replaced by core: see above)
        return type(x) is cls or isinstance(x, _core.Tracer)


class Array(ArrayOps, metaclass=_ArrayMeta):
    """An immutable n-dimensional array (a read-only numpy array on the host).

    Create one with ``functrans.numpy.asarray``/``array`` or any functrans.numpy
    function. Inside a transformed function the values are tracers, which are
    Arrays too for ``isinstance`` (as in JAX). Arrays are hashable by neither
    value nor identity (like numpy and JAX); use ``x.item()`` or
    ``tuple(x.tolist())`` for a key.

    Example:
        >>> import functrans.numpy as fnp
        >>> x = fnp.arange(3.0)
        >>> (x * 2 + 1).tolist()
        [1.0, 3.0, 5.0]
    """

    __slots__ = ("_value", "_weak_type", "_aval", "_buf", "_dev", "_committed", "__weakref__")

    def __init__(self, *args, **kwargs):
        raise TypeError("create arrays with functrans.numpy.asarray(...) or array(...)")

    def __getattr__(self, name):
        # Called only when a slot is unset: a device-backed Array's host value
        # (made once, on first read), or the device slots of a host Array.
        if name == "_value":
            buf = _BUF_SLOT.__get__(self, Array) if _is_set(_BUF_SLOT, self) else None
            if buf is None:
                raise AttributeError("_value")
            if buf is _DELETED:
                raise RuntimeError(
                    f"this Array ({self.aval.str_short()}) was donated to a jitted function "
                    "(donate_argnums) or deleted, and its buffer may have been reused: it "
                    "cannot be used afterwards. Use the jitted function's output instead, or "
                    "do not donate the argument.")
            v = self._value = xla.to_numpy(buf)
            return v
        if name in ("_buf", "_dev"):
            return None
        if name == "_committed":
            return False
        raise AttributeError(f"'Array' object has no attribute {name!r}")

    @property
    def aval(self):
        aval = self._aval
        if aval is None:  # computed once: the array never changes
            v = self._value
            aval = self._aval = _core.ShapedArray(v.shape, v.dtype, self._weak_type)
        return aval

    # Metadata comes from the aval, so reading it never copies a device buffer.
    @property
    def shape(self) -> tuple:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return len(self.aval.shape)

    @property
    def size(self) -> int:
        return self.aval.size

    @property
    def nbytes(self) -> int:
        return self.aval.size * self.aval.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.aval.dtype.itemsize

    @property
    def weak_type(self) -> bool:
        return self._weak_type

    # --- conversion to host values ------------------------------------------------
    def _readonly(self) -> np.ndarray:
        v = self._value
        if v.flags.writeable:
            v.flags.writeable = False
        return v

    def __array__(self, dtype=None, copy=None):
        v = self._readonly()
        if dtype is not None and np.dtype(dtype) != v.dtype:
            if copy is False:
                raise ValueError("a dtype conversion of an Array needs a copy")
            return v.astype(dtype)
        if copy:
            return v.copy()
        return v

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        v = self._readonly()
        kwargs = {"stream": stream}
        if max_version is not None:
            kwargs.update(max_version=max_version, dl_device=dl_device, copy=copy)
        try:
            return v.__dlpack__(**kwargs)
        except BufferError:
            # A consumer of the legacy protocol cannot be told the buffer is
            # read-only: give it a private copy instead of our buffer.
            return v.copy().__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._value.__dlpack_device__()

    def item(self, *args):
        return self._value.item(*args)

    def tolist(self):
        return self._value.tolist()

    def __bool__(self):
        return bool(self._value)

    def __int__(self):
        return int(self._value)

    def __float__(self):
        return float(self._value)

    def __complex__(self):
        return complex(self._value)

    def __index__(self):
        if not dtypes.is_int(self.dtype) and self.dtype != dtypes.bool_:
            raise TypeError(f"only integer arrays can be used as an index, got {self.dtype}")
        return self._value.__index__()

    def __len__(self):
        if self._value.ndim == 0:
            raise TypeError("len() of a 0-d array")
        return len(self._value)

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._value)))

    __hash__ = None  # mutable-looking numeric arrays are unhashable, as in numpy/JAX

    def block_until_ready(self):
        """Waits until a device computation producing this array has finished."""
        buf = self._buf
        if buf is not None and buf is not _DELETED:
            xla.block_until_ready(buf)
        return self

    @property
    def device(self):
        """The device holding this array's buffer (the default device for a host array)."""
        dev = self._dev
        if dev is None:
            dev = xla.default_device()
        return dev

    def devices(self) -> set:
        return {self.device}

    @property
    def committed(self) -> bool:
        """Whether the array was placed on its device explicitly (``device_put``, or
        a jit output computed from committed arrays); jit runs on that device."""
        return self._committed

    def is_deleted(self) -> bool:
        return self._buf is _DELETED

    def delete(self) -> None:
        """Frees the array's buffers; using the array afterwards raises an error."""
        _mark_deleted(self)

    def copy(self):
        return _new_array(self._value.copy(), self._weak_type)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (_rebuild, (np.array(self._value), self._weak_type))

    def __format__(self, spec):
        if self._value.ndim == 0:
            return format(self._value.item(), spec)
        return format(str(self), spec)

    def __repr__(self):
        if self._buf is _DELETED:
            return f"Array(<deleted>, shape={self.aval.shape}, dtype={self.aval.dtype})"
        v = self._value
        body = np.array2string(v, separator=", ", prefix="Array(")
        weak = ", weak_type=True" if self._weak_type else ""
        return f"Array({body}, dtype={v.dtype}{weak})"

    def __str__(self):
        return str(self._value)

    def _repr_html_(self):
        from .explain import array_html
        return array_html(self)


def _new_array(value, weak_type: bool = False) -> Array:
    """Wraps a host value (already of a canonical dtype) in an Array, no copy."""
    if type(value) is not np.ndarray:
        value = np.asarray(value)
    x = object.__new__(Array)
    x._value = value
    x._weak_type = weak_type
    x._aval = None
    return x


class _Deleted:
    """The ``_buf`` of a donated or deleted Array."""

    def __repr__(self):
        return "<deleted>"


_DELETED = _Deleted()
_BUF_SLOT = Array.__dict__["_buf"]
_VALUE_SLOT = Array.__dict__["_value"]


def _is_set(slot, x) -> bool:
    """Whether slot ``slot`` of ``x`` holds a value (without calling ``__getattr__``)."""
    try:
        slot.__get__(x, Array)
    except AttributeError:
        return False
    return True


def _has_host_value(x: Array) -> bool:
    return _is_set(_VALUE_SLOT, x)


def _from_buffer(buf, aval, device, committed: bool = False) -> Array:
    """An Array holding the device buffer ``buf`` of ``aval``; its host value is made lazily."""
    x = object.__new__(Array)
    x._weak_type = aval.weak_type
    x._aval = aval
    x._buf = buf
    x._dev = device
    x._committed = committed
    return x


def _mark_deleted(x: Array) -> None:
    x.aval  # noqa: B018  (computed while the value exists: a deleted array keeps its type)
    if _has_host_value(x):
        del x._value
    x._buf = _DELETED


def _rebuild(value, weak_type):
    return _new_array(value, weak_type)


class _IndexUpdateHelper:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.array, idx)


class _IndexUpdateRef:
    """``x.at[idx]``: each method returns a new array.

    Every method takes JAX's keyword-only options: ``mode`` (see
    ``functrans.numpy._indexing._index_update``), ``wrap_negative_indices``
    (False: a negative integer index is out of bounds, not counted from the
    end), and ``indices_are_sorted`` / ``unique_indices``, promises that JAX
    may use for speed and functrans does not need (the results are the same
    when the promise holds).
    """

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def _index(self, wrap_negative_indices):
        if wrap_negative_indices:
            return self.index
        return _negative_out_of_bounds(self.index, tuple(_core.get_aval(self.array).shape))

    def _update(self, values, how, mode, wrap_negative_indices):
        return _fnp._index_update(self.array, self._index(wrap_negative_indices), values, how,
                                  mode=mode)

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None,
            fill_value=None, wrap_negative_indices=True):
        """``x[idx]``, with out-of-bounds indices clamped or (mode "fill") filled."""
        return _fnp._indexing._index_get(self.array, self._index(wrap_negative_indices), mode,
                                         fill_value)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
            wrap_negative_indices=True):
        """``x`` with ``x[idx] = values``."""
        return self._update(values, "set", mode, wrap_negative_indices)

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None,
              wrap_negative_indices=True):
        """``x`` with ``x[idx] = func(x[idx])`` for an elementwise ``func`` (applied
        once per time a position is indexed, as JAX's scatter_apply)."""
        return _fnp._indexing._index_apply(self.array, self._index(wrap_negative_indices),
                                           func, mode)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
            wrap_negative_indices=True):
        """``x`` with ``x[idx] += values`` (repeated indices accumulate)."""
        return self._update(values, "add", mode, wrap_negative_indices)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
                 wrap_negative_indices=True):
        """``x`` with ``x[idx] -= values`` (repeated indices accumulate)."""
        return self._update(values, "sub", mode, wrap_negative_indices)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
                 wrap_negative_indices=True):
        """``x`` with ``x[idx] *= values`` (repeated indices accumulate)."""
        return self._update(values, "mul", mode, wrap_negative_indices)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
               wrap_negative_indices=True):
        """``x`` with ``x[idx] /= values`` (repeated indices accumulate)."""
        return self._update(values, "div", mode, wrap_negative_indices)

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
              wrap_negative_indices=True):
        """``x`` with ``x[idx] **= values`` (repeated indices accumulate)."""
        return self._update(values, "pow", mode, wrap_negative_indices)

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
            wrap_negative_indices=True):
        """``x`` with ``x[idx] = minimum(x[idx], values)``."""
        return self._update(values, "min", mode, wrap_negative_indices)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
            wrap_negative_indices=True):
        """``x`` with ``x[idx] = maximum(x[idx], values)``."""
        return self._update(values, "max", mode, wrap_negative_indices)


def _is_bool_index(e) -> bool:
    if type(e) is bool:
        return True
    if isinstance(e, (list, tuple)):
        e = np.asarray(e)
    return getattr(e, "dtype", None) == dtypes.bool_


def _negative_out_of_bounds(index, shape: tuple):
    """``index`` with each negative integer index (static or in an integer array)
    made out of bounds, for ``wrap_negative_indices=False``: ``-(n + 1)`` is out
    of bounds however the index is then read (dropped, filled, or clamped to 0
    with mode "clip", as JAX clamps a negative index it does not wrap)."""
    entries = list(index) if type(index) is tuple else [index]
    # How many dims each entry indexes: an Ellipsis takes those the others leave.
    used = [0 if e is None or e is Ellipsis else
            (np.ndim(e) if _is_bool_index(e) else 1) for e in entries]
    dim, out = 0, []
    for e, k in zip(entries, used):
        if e is Ellipsis:
            dim += len(shape) - sum(used)
        elif k == 1 and not isinstance(e, slice) and not _is_bool_index(e) and dim < len(shape):
            n = shape[dim]
            if isinstance(e, (int, np.integer)):
                e = -(n + 1) if e < 0 else e
            else:
                e = _fnp.asarray(e)
                e = _fnp.where(e < 0, -(n + 1), e)
        dim += k
        out.append(e)
    return tuple(out) if type(index) is tuple else out[0]
