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
arrays: that is eager mode. (Its hottest operations skip ``bind``'s Python
overhead where the result is the same: ``eager.py``, the one fast path.)

The trace stack lives in a ``threading.local``: each thread has its own, and
it is restored by ``try/finally`` when a transformation ends, so an exception
inside a traced function leaves nothing behind.
"""

from __future__ import annotations

import operator
import threading
from typing import Callable, Optional

import numpy as np

from . import dtypes
from .config import config
from .effects import no_effects
from .errors import (ConcretizationError, MissingRuleError, TracerArrayConversionError,
                     UnexpectedTracerError)

# --- abstract values -------------------------------------------------------------


class ShapedArray:
    """The abstract value of an array: shape, dtype and weak type.

    ``weak_type`` marks a value that came from a Python scalar and does not
    widen the other operand in type promotion (``x + 1.0`` keeps x's dtype).
    """

    # Avals are never changed after they are made. ``_key`` is the tuple of
    # the three fields, made once: hashing, comparing and the abstract-eval
    # memo (below) use it.
    __slots__ = ("shape", "dtype", "weak_type", "_key")

    def __init__(self, shape, dtype, weak_type: bool = False):
        # (conversions only where needed: avals are made for every traced operation)
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.weak_type = weak_type if type(weak_type) is bool else bool(weak_type)
        self._key = (self.shape, self.dtype, self.weak_type)

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
        return type(other) is ShapedArray and self._key == other._key

    def __hash__(self):
        return hash(self._key)

    def str_short(self) -> str:
        """``f32[3,4]`` as the IR printer shows it."""
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.shape}, {self.dtype}{weak})"


_PY_SCALARS = dtypes.PYTHON_SCALARS


def get_aval(x) -> ShapedArray:
    """The abstract value of an Array, Tracer, numpy array or Python scalar."""
    if type(x) is Array:
        aval = x._aval  # set once known (see Array.aval)
        return x.aval if aval is None else aval
    aval = getattr(x, "aval", None)
    if aval is not None:
        return aval
    if type(x) in _PY_SCALARS:
        return ShapedArray((), dtypes.scalar_dtype(x), type(x) is not bool)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, dtypes.canonicalize(x.dtype), False)
    raise TypeError(f"{type(x).__name__} {x!r} is not a valid functrans value: expected an "
                    "Array, a numpy array or a Python scalar")


def input_aval(what: str, x, i: int, hint: str = "") -> ShapedArray:
    """The aval of input leaf ``i``, or a TypeError naming ``what`` if it is not an array value."""
    try:
        return get_aval(x)
    except TypeError:
        raise TypeError(f"{what}: argument leaf {i} of type {type(x).__name__} is not an array "
                        f"or a Python scalar{hint}") from None


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

    ``same_aval`` (a property, not a rule) marks elementwise primitives whose
    result, for operands of one strongly typed float aval, is that aval: tracing
    then skips ``abstract_eval`` there (see :func:`abstract_eval`).

    ``axis_names`` (None, or ``params -> frozenset``) marks primitives that use
    named vmap axes (collectives such as ``psum``, and higher-order primitives
    whose sub-IRs hold collectives): ``bind`` hands such an application to the
    innermost batch trace of those names even when no operand is one of its
    tracers (see ``primitives/collectives.py``).

    ``effects`` (a frozenset of :class:`~functrans.effects.Effect`, empty for a pure
    primitive) or ``effects_rule`` (None, or ``params -> frozenset`` where they depend
    on the params) declare side effects: an effectful equation is never removed as
    dead code, and ordered effects are threaded with a token when lowered (see
    ``effects.py``). A higher-order primitive needs neither: the effects of the sub-IRs
    in its params are its equation's (``ir.eqn_effects``).
    """

    __slots__ = ("name", "multiple_results", "same_aval", "axis_names", "effects",
                 "effects_rule") + _RULE_NAMES + ("__weakref__",)

    def __init__(self, name: str, multiple_results: bool = False):
        if name in _ALL_PRIMITIVES:
            raise ValueError(f"a primitive named {name!r} already exists")
        self.name = name
        self.multiple_results = multiple_results
        self.same_aval = False
        self.axis_names = None
        self.effects = no_effects
        self.effects_rule = None
        for rule in _RULE_NAMES:
            setattr(self, rule, None)
        _ALL_PRIMITIVES[name] = self

    def __repr__(self):
        return self.name

    # ``prim.bind(*args, **params)`` is ``bind(prim, *args, **params)``: the
    # module-level function is installed as the method below its definition,
    # so the method costs no extra Python frame.

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

    # ``trace`` is this transformation's Trace, made once: Traces hold nothing
    # but their main, so ``bind`` reuses it instead of making one per primitive.
    __slots__ = ("level", "trace_type", "global_data", "alive", "trace", "axis_name",
                 "axis_size", "debug_info")

    def __init__(self, level, trace_type, global_data=None, axis_name=None, axis_size=None):
        self.level = level
        self.trace_type = trace_type
        self.global_data = global_data
        self.alive = True
        self.trace = trace_type(self)
        # a named axis (collectives refer to it): a named vmap's batch trace, or the IR
        # trace of a pmap's per-device function; None otherwise
        self.axis_name = axis_name
        self.axis_size = axis_size
        # for error messages: (what is transformed, the names of its flat inputs), where
        # the transformation knows them (vmap; an IR trace keeps them in its builder)
        self.debug_info = None

    def __repr__(self):
        return f"MainTrace({self.level}, {self.trace_type.__name__})"


class _TraceState(threading.local):
    # `stack` holds the active MainTraces, innermost last; an empty stack means
    # eager mode. `dynamic` is the IR-building trace that captures every
    # operation, even on constants, while a function is being staged out.
    # Only a dynamic trace sees operations on concrete Arrays: with none, an
    # operation whose operands are all Arrays is evaluated eagerly whatever
    # the stack holds, so the eager fast path (eager.py) applies to it
    # (reverse mode's rules compute on concrete primals under two traces).
    stack: tuple = ()
    dynamic: Optional[MainTrace] = None


_state = _TraceState()


def is_eager() -> bool:
    """True when no transformation is active in this thread."""
    return not _state.stack


class new_main:
    """Pushes a new transformation on this thread's trace stack for the block:
    ``with new_main(JVPTrace) as main: ...``.

    (A class rather than a contextlib generator: reverse mode enters two per call.)
    """

    __slots__ = ("main", "_old")

    def __init__(self, trace_type, global_data=None, dynamic: bool = False, axis_name=None,
                 axis_size=None):
        state = _state
        self._old = old_stack, old_dynamic = state.stack, state.dynamic
        self.main = main = MainTrace(len(old_stack) + 1, trace_type, global_data, axis_name,
                                     axis_size)
        state.stack = old_stack + (main,)
        if dynamic:
            state.dynamic = main

    def __enter__(self) -> "MainTrace":
        return self.main

    def __exit__(self, *exc):
        main = self.main
        main.alive = False
        # Tracers keep their main alive; dropping its data (and its Trace)
        # breaks the cycles tracer -> trace -> main -> data -> tracers and
        # main -> trace -> main, so the (possibly large) values a trace saw are
        # freed by reference counting, not the GC.
        main.global_data = None
        main.trace = None
        _state.stack, _state.dynamic = self._old
        return False


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


def bind(prim: Primitive, *args, **params):
    """Applies ``prim`` to ``args``: evaluates it eagerly or hands it to a trace."""
    # The innermost trace is found inline (no helper call): bind runs for every
    # primitive, and under reverse mode most binds are eager ones on host
    # arrays, made while a trace is active (the primal computations of the JVP rules).
    if _state.stack:
        top = _state.dynamic
        for x in args:
            if isinstance(x, Tracer):
                main = x._trace.main
                if not main.alive:
                    raise UnexpectedTracerError(x)
                if top is None or main.level > top.level:
                    top = main
        if prim.axis_names is not None:
            top = _named_top(prim, params, top)
        if top is not None:
            trace = top.trace
            tracers = []
            for x in args:  # trace.full_raise(x), without its call where nothing is to do
                if not isinstance(x, Tracer):
                    tracers.append(trace.pure(x))
                elif x._trace.main is top:
                    tracers.append(x)
                else:
                    tracers.append(trace.full_raise(x))
            return trace.process_primitive(prim, tracers, params)
    return eval_primitive(prim, args, params)


def _named_top(prim: Primitive, params, top):
    """For a primitive that uses named axes: the innermost trace of those names takes part
    in choosing the trace, as if an operand were one of its tracers."""
    names = prim.axis_names(params)
    if names:
        named = axis_main(names)
        if named is not None and (top is None or named.level > top.level):
            return named
    return top


def axis_main(names):
    """The innermost active trace (MainTrace) whose named axis is one of ``names`` (a
    named vmap's batch trace, a pmap's IR trace), or None."""
    for main in reversed(_state.stack):
        if main.axis_name is not None and main.axis_name in names:
            return main
    return None


Primitive.bind = bind  # see Primitive


# --- memoized abstract evaluation ----------------------------------------------------------
#
# Eager evaluation and every trace run a primitive's ``abstract_eval`` on each
# application; for the small arrays of interactive code and of reverse mode
# (which applies several primitives per user operation) that dominates the
# numpy work. Its result depends only on the input avals and the params, so
# it is memoized on them where the params are plain static values. Only
# successful results are stored: errors are raised by the rule every time.

_aval_cache: dict = {}
_AVAL_CACHE_MAX = 8192
_STATIC_PARAM_TYPES = frozenset([int, bool, str, type(None)])


def _static_key(v):
    """A hashable key for a param value that tells apart values which compare
    equal but may type differently (``1``, ``1.0``, ``True``), or None when the
    value is not a plain static value (then nothing is memoized)."""
    t = type(v)
    if t in _STATIC_PARAM_TYPES:
        return (t, v)
    if t is tuple:
        parts = []
        for e in v:
            if type(e) is int:  # (shapes, axes) a bare int: every other element is tagged
                parts.append(e)
                continue
            k = _static_key(e)
            if k is None:
                return None
            parts.append(k)
        return tuple(parts)
    if isinstance(v, np.dtype):
        return v
    return None


def _params_key(params):
    if not params:
        return ()
    key = []
    for name, v in params.items():
        k = _static_key(v)
        if k is None:
            return None
        key.append((name, k))
    return tuple(key)


def abstract_eval(prim: Primitive, avals, params):
    """``prim.abstract_eval(*avals, **params)``, memoized (see above)."""
    if prim.same_aval and not params:
        # Reverse mode's linear equations (t * residual, t1 + t2) mostly combine
        # operands of one strong float aval, whose result is that aval.
        first = avals[0]
        if first.dtype in _HOST_FLOATS and not first.weak_type:
            key = first._key
            for a in avals:
                if a is not first and a._key != key:
                    break
            else:
                return first
    pkey = _params_key(params) if params else ()
    if pkey is None:
        return prim.rule("abstract_eval")(*avals, **params)
    key = [prim, pkey]
    for a in avals:
        key.append(a._key)
    key = tuple(key)
    out = _aval_cache.get(key)
    if out is None:
        out = _remember_avals(key, prim.rule("abstract_eval")(*avals, **params))
    return out


# The dtypes of the elementwise shortcuts (abstract_eval above, and reverse mode's
# in eager.py): those whose numpy results have exactly the operands' dtype.
_HOST_FLOATS = frozenset([np.dtype(np.float32), np.dtype(np.float64)])


def _remember_avals(key, out):
    if len(_aval_cache) >= _AVAL_CACHE_MAX:
        _aval_cache.clear()
    if type(out) is list:
        out = tuple(out)  # shared between callers: never mutated
    _aval_cache[key] = out
    return out


def clear_caches(*_):
    """Empties the abstract-eval memo (a config change may change dtype rules)."""
    _aval_cache.clear()


config.on_change(clear_caches)


def eval_primitive(prim: Primitive, args, params):
    """Eager evaluation: checks types with ``abstract_eval``, runs ``impl`` on host arrays."""
    vals = []
    key = [prim, None]
    for a in args:
        if type(a) is Array:
            vals.append(a._value)
            aval = a._aval
            key.append((aval or a.aval)._key)  # (Array.aval makes the aval once)
        elif isinstance(a, Tracer):  # no transformation is active: it leaked
            raise UnexpectedTracerError(a)
        else:
            vals.append(a)
            key.append(get_aval(a)._key)
    pkey = _params_key(params) if params else ()
    if pkey is None:
        out_avals = prim.abstract_eval(*[get_aval(a) for a in args], **params)
    else:
        key[1] = pkey
        key = tuple(key)
        out_avals = _aval_cache.get(key)
        if out_avals is None:
            out_avals = _remember_avals(
                key, prim.abstract_eval(*[get_aval(a) for a in args], **params))
    impl = prim.impl
    if impl is None:
        raise MissingRuleError(prim.name, "impl")
    try:
        out = impl(*vals, **params) if params else impl(*vals)
    except RuntimeWarning:
        out = quietly(impl, vals, params)
    if prim.multiple_results:
        return [_new_array(_as_dtype(o, a.dtype), a.weak_type) for o, a in zip(out, out_avals)]
    if type(out) is not np.ndarray or out.dtype != out_avals.dtype:
        out = _as_dtype(out, out_avals.dtype)
    # _new_array, inlined (this is every eager primitive's result), and with
    # the aval it will have, when the value agrees: Array.aval need not make it.
    x = _object_new(Array)
    x._value = out
    x._weak_type = out_avals.weak_type
    x._aval = out_avals if out.shape == out_avals.shape else None
    return x


_object_new = object.__new__


def quietly(fn, vals, params):
    """``fn(*vals, **params)`` with numpy's floating-point warnings off.

    functrans filters those warnings at import (JAX never warns about inf or NaN),
    but a filter the user adds later comes first: under ``warnings.simplefilter(
    "error")`` numpy's warning is raised as an exception out of the impl. The
    impls are pure, so it is computed again without the warning (the ``try``
    around the first call costs nothing when nothing is raised).
    """
    with np.errstate(all="ignore"):
        return fn(*vals, **params) if params else fn(*vals)


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

    # --- concrete values ---------------------------------------------------------
    #
    # As in JAX (Autograd-style differentiation, ``Tracer.to_concrete_value``):
    # a tracer whose value is known while the function runs -- the primal of
    # forward or reverse mode outside any staging trace -- can drive Python
    # control flow: ``bool``, ``int``, ``operator.index`` and ``.item()`` use
    # its value. ``float``, ``complex`` and ``.tolist()`` always raise, as in
    # JAX (they would silently drop the derivative of a differentiated value).
    # Values being staged out (make_ir, jit, control-flow bodies) or batched
    # (vmap) are never concrete.

    def to_concrete_value(self):
        """This tracer's value (an Array) where it is known now, else None."""
        return None

    def _concrete(self, what: str):
        value = self.to_concrete_value()
        if value is None:
            raise ConcretizationError(self, what)
        return value

    def __bool__(self):
        value = self.to_concrete_value()
        if value is None:
            size = self.aval.size
            if size != 1:  # (checked first, as by JAX and numpy)
                raise ValueError(
                    f"The truth value of an array with {'no' if size == 0 else 'more than one'} "
                    f"element{'s' if size == 0 else ''} ({self.aval.str_short()}) is ambiguous: "
                    "use .any() or .all()")
            raise ConcretizationError(self, "bool")
        return bool(value)

    def __int__(self):
        return int(self._concrete("int"))

    def __float__(self):
        raise ConcretizationError(self, "float")

    def __complex__(self):
        raise ConcretizationError(self, "complex")

    def __index__(self):
        return operator.index(self._concrete("index"))

    def item(self, *args):
        value = self._concrete("item")
        return value.item(*args) if type(value) is Array else np.asarray(value).item(*args)

    def tolist(self):
        raise ConcretizationError(self, "tolist")

    def _value_origin(self) -> str:
        """Why this tracer's value is unknown, in the user's terms: the transformation
        and the arguments the value depends on ('' when not known)."""
        return ""

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


def to_concrete_value(x):
    """``x``'s value where it is known now, else None: ``x`` itself when it is not a
    tracer, the value of a concrete tracer (the primal under grad, jvp or vjp outside
    any staging trace), None for a value being staged out or batched.

    Functions that need a static value (a shape, a range bound, a slice bound) use it
    instead of rejecting every tracer, so that they work under differentiation as in
    JAX (``jax.core.concrete_or_error``).
    """
    if isinstance(x, Tracer):
        return x.to_concrete_value()
    return x


# isinstance(tracer, Array) is True, as isinstance(tracer, jax.Array) is (see
# array._ArrayMeta); the C method bound to Tracer answers it without a Python frame.
type(Array).__instancecheck__ = Tracer.__instancecheck__
