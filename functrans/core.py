"""The core: abstract values, primitives, ``bind``, and the trace stack.

Glossary (used everywhere in functrans):
  aval     abstract value, a :class:`ShapedArray` (shape, dtype, weak_type)
  Trace    one active transformation; it interprets primitives applied to
           its :class:`Tracer` objects (``process_primitive``)
  MainTrace the bookkeeping record of an active transformation: its level in
           the stack, its Trace class and the data it shares with its tracers
  x_dot    a tangent, ``ct`` a cotangent, ``bdim`` a batch dimension
  Var/Lit/Eqn the IR's variables, literals and equations (see ``ir.py``)

Everything is a primitive applied with :func:`bind`. ``bind`` looks at the
arguments, finds the innermost active transformation among them (the highest
level), and hands the primitive to that transformation's Trace. With no
transformation active, ``bind`` evaluates the primitive's ``impl`` on host
arrays: that is eager mode.

The trace stack lives in a ``threading.local``: each thread has its own, and
it is restored by ``try/finally`` when a transformation ends, so an exception
inside a traced function leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Optional

import numpy as np

from . import dtypes
from .errors import (ConcretizationError, MissingRuleError, TracerArrayConversionError,
                     UnexpectedTracerError)

# --- abstract values -------------------------------------------------------------


class ShapedArray:
    """The abstract value of an array: shape, dtype and weak type.

    ``weak_type`` marks a value that came from a Python scalar and does not
    widen the other operand in type promotion (``x + 1.0`` keeps x's dtype).
    """

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None) -> "ShapedArray":
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak_type(self) -> "ShapedArray":
        return ShapedArray(self.shape, self.dtype, False) if self.weak_type else self

    def __eq__(self, other):
        return (type(other) is ShapedArray and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def str_short(self) -> str:
        """``f32[3,4]`` as the IR printer shows it."""
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.shape}, {self.dtype}{weak})"


_PY_SCALARS = (bool, int, float, complex)


def get_aval(x) -> ShapedArray:
    """The abstract value of an Array, Tracer, numpy array or Python scalar."""
    aval = getattr(x, "aval", None)
    if aval is not None:
        return aval
    if type(x) in _PY_SCALARS:
        return ShapedArray((), dtypes.scalar_dtype(x), type(x) is not bool)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, dtypes.canonicalize(x.dtype), False)
    raise TypeError(f"{type(x).__name__} {x!r} is not a valid functrans value: expected an "
                    "Array, a numpy array or a Python scalar")


def check_output(what: str, o, i: int) -> None:
    """Raises a TypeError naming ``what`` if output ``i`` is not an array value."""
    try:
        get_aval(o)
    except TypeError:
        raise TypeError(f"{what}: output {i} of the function is a {type(o).__name__} "
                        f"({o!r:.60}); outputs must be arrays, Python scalars or pytrees of "
                        "them") from None


def is_scalar_literal(x) -> bool:
    return type(x) in _PY_SCALARS


# --- primitives --------------------------------------------------------------------

_RULE_NAMES = ("impl", "abstract_eval", "jvp", "transpose", "batch", "lower")
_ALL_PRIMITIVES: dict[str, "Primitive"] = {}


class Primitive:
    """An operation of the IR, with all its rules side by side.

    Rules (each ``None`` until its family module defines it):
      impl(*np_arrays, **params) -> np.ndarray or list of them (eager mode)
      abstract_eval(*avals, **params) -> ShapedArray or list of them
      jvp(primals, tangents, **params) -> (primal_out, tangent_out)
      transpose(cts, *args, **params) -> cotangents for the linear inputs
      batch(args, bdims, **params) -> (out, out_bdim)
      lower(ctx, *operands, **params) -> StableHLO values

    ``multiple_results`` primitives return lists from every rule.
    """

    __slots__ = ("name", "multiple_results") + _RULE_NAMES + ("__weakref__",)

    def __init__(self, name: str, multiple_results: bool = False):
        if name in _ALL_PRIMITIVES:
            raise ValueError(f"a primitive named {name!r} already exists")
        self.name = name
        self.multiple_results = multiple_results
        for rule in _RULE_NAMES:
            setattr(self, rule, None)
        _ALL_PRIMITIVES[name] = self

    def __repr__(self):
        return self.name

    def bind(self, *args, **params):
        return bind(self, *args, **params)

    def rule(self, name: str) -> Callable:
        """The rule ``name``, or a :class:`MissingRuleError` naming what is missing."""
        r = getattr(self, name)
        if r is None:
            raise MissingRuleError(self.name, name)
        return r

    # Decorator-style definers, so a family module reads `@sin_p.def_jvp`.
    def def_impl(self, f):
        self.impl = f
        return f

    def def_abstract_eval(self, f):
        self.abstract_eval = f
        return f

    def def_jvp(self, f):
        self.jvp = f
        return f

    def def_transpose(self, f):
        self.transpose = f
        return f

    def def_batch(self, f):
        self.batch = f
        return f

    def def_lower(self, f):
        self.lower = f
        return f


def all_primitives() -> dict:
    """Every primitive defined so far, by name (used by the rule-registry test)."""
    from . import primitives  # noqa: F401  (defines them)
    return dict(_ALL_PRIMITIVES)


def rule_names() -> tuple:
    return _RULE_NAMES


# --- the trace stack -----------------------------------------------------------------


class MainTrace:
    """An active transformation: its level, Trace class and shared data."""

    __slots__ = ("level", "trace_type", "global_data", "alive")

    def __init__(self, level, trace_type, global_data=None):
        self.level = level
        self.trace_type = trace_type
        self.global_data = global_data
        self.alive = True

    def __repr__(self):
        return f"MainTrace({self.level}, {self.trace_type.__name__})"


class _TraceState(threading.local):
    # `stack` holds the active MainTraces, innermost last; an empty stack means
    # eager mode. `dynamic` is the IR-building trace that captures every
    # operation, even on constants, while a function is being staged out.
    stack: tuple = ()
    dynamic: Optional[MainTrace] = None


_state = _TraceState()


def is_eager() -> bool:
    """True when no transformation is active in this thread."""
    return not _state.stack


@contextlib.contextmanager
def new_main(trace_type, global_data=None, dynamic: bool = False):
    """Pushes a new transformation on this thread's trace stack for the block."""
    state = _state
    old_stack, old_dynamic = state.stack, state.dynamic
    main = MainTrace(len(old_stack) + 1, trace_type, global_data)
    state.stack = old_stack + (main,)
    if dynamic:
        state.dynamic = main
    try:
        yield main
    finally:
        main.alive = False
        # Tracers keep their main alive; dropping its data breaks the cycle
        # tracer -> trace -> main -> data -> tracers, so the (possibly large)
        # values a trace saw are freed by reference counting, not the GC.
        main.global_data = None
        state.stack, state.dynamic = old_stack, old_dynamic


class Trace:
    """One transformation's interpretation of primitives.

    Subclasses implement ``pure`` (a non-tracer value to a tracer of this
    trace), ``lift`` (a tracer of a lower trace to one of this trace) and
    ``process_primitive``.
    """

    __slots__ = ("main",)

    def __init__(self, main: MainTrace):
        self.main = main

    def full_raise(self, val):
        if not isinstance(val, Tracer):
            return self.pure(val)
        main = val._trace.main
        if main is self.main:
            return val
        if not main.alive:
            raise UnexpectedTracerError(val)
        if main.level < self.main.level:
            return self.lift(val)
        raise UnexpectedTracerError(val, detail=(
            f"a value of an inner transformation (level {main.level}) reached an outer one "
            f"(level {self.main.level})"))

    def pure(self, val):
        raise NotImplementedError

    def lift(self, val):
        raise NotImplementedError

    def process_primitive(self, primitive, tracers, params):
        raise NotImplementedError


def find_top_trace(args) -> Optional[Trace]:
    """The Trace that must handle a primitive applied to ``args`` (None: eager)."""
    top = _state.dynamic
    for x in args:
        if isinstance(x, Tracer):
            main = x._trace.main
            if not main.alive:
                raise UnexpectedTracerError(x)
            if top is None or main.level > top.level:
                top = main
    return None if top is None else top.trace_type(top)


def bind(prim: Primitive, *args, **params):
    """Applies ``prim`` to ``args``: evaluates it eagerly or hands it to a trace."""
    if _state.stack:
        trace = find_top_trace(args)
        if trace is not None:
            tracers = [trace.full_raise(a) for a in args]
            out = trace.process_primitive(prim, tracers, params)
            return out
    return eval_primitive(prim, args, params)


def eval_primitive(prim: Primitive, args, params):
    """Eager evaluation: checks types with ``abstract_eval``, runs ``impl`` on host arrays."""
    avals, vals = [], []
    for a in args:
        if type(a) is Array:
            avals.append(a.aval)
            vals.append(a._value)
        elif isinstance(a, Tracer):  # no transformation is active: it leaked
            raise UnexpectedTracerError(a)
        else:
            avals.append(get_aval(a))
            vals.append(a)
    out_avals = prim.abstract_eval(*avals, **params)
    impl = prim.impl
    if impl is None:
        raise MissingRuleError(prim.name, "impl")
    out = impl(*vals, **params)
    if prim.multiple_results:
        return [_new_array(_as_dtype(o, a.dtype), a.weak_type) for o, a in zip(out, out_avals)]
    return _new_array(_as_dtype(out, out_avals.dtype), out_avals.weak_type)


def _as_dtype(value, dtype):
    if type(value) is not np.ndarray:
        return np.asarray(value, dtype)
    return value if value.dtype == dtype else value.astype(dtype)


# --- tracers ----------------------------------------------------------------------------

# array.py needs this module's names at import time, so it is imported here,
# after them; eval_primitive (above) uses Array and _new_array only when called.
from .array import Array, ArrayOps, _new_array  # noqa: E402


class Tracer(ArrayOps):
    """A stand-in for an array inside a transformation; it knows only its aval.

    Arithmetic on a tracer calls functrans.numpy functions, which bind
    primitives, which reach the tracer's Trace.
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    @property
    def shape(self):
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    @property
    def weak_type(self):
        return self.aval.weak_type

    @property
    def ndim(self):
        return len(self.aval.shape)

    @property
    def size(self):
        return self.aval.size

    def __repr__(self):
        return f"Traced<{self.aval.str_short()}>with<{type(self._trace).__name__}>"

    # Turning a tracer into a concrete Python or numpy value is impossible:
    # its value is not known while the function is being transformed.
    def __bool__(self):
        raise ConcretizationError(self, "bool")

    def __int__(self):
        raise ConcretizationError(self, "int")

    def __float__(self):
        raise ConcretizationError(self, "float")

    def __complex__(self):
        raise ConcretizationError(self, "complex")

    def __index__(self):
        raise ConcretizationError(self, "index")

    def item(self, *args):
        raise ConcretizationError(self, "item")

    def tolist(self):
        raise ConcretizationError(self, "tolist")

    def __array__(self, dtype=None, copy=None):
        raise TracerArrayConversionError(self)

    def __hash__(self):
        raise TypeError(f"{self!r} is unhashable: a traced array cannot be a dict key or "
                        "a static argument")

    def __iter__(self):
        if not self.shape:
            raise TypeError(f"iteration over a 0-d array ({self.aval.str_short()})")
        return (self[i] for i in range(self.shape[0]))

    def __len__(self):
        if not self.shape:
            raise TypeError(f"len() of a 0-d array ({self.aval.str_short()})")
        return self.shape[0]
