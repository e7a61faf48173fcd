"""``jit``: trace a function to the IR, lower it to StableHLO, compile it with XLA, run it.

    @ft.jit
    def step(params, x, y):
        ...

A call of a jitted function, with no transformation active, takes these steps:

1. flatten the arguments (pytrees) and build the cache key: the argument tree
   structure, each leaf's (shape, dtype, weak_type), the static arguments, the
   x64 mode and the device;
2. on a miss, trace the function to a ClosedIR, lower it to StableHLO
   (``interpreters/lowering.py``), compile it (``interpreters/xla.py``) and
   store the executable with the device buffers of its large constants;
   each jitted function keeps at most ``config.jit_cache_size`` executables
   (and as many traces), evicting the least recently used (see ``_LRU``);
3. put the leaves on the device (an Array keeps its device buffer, so it is
   sent only once), execute, and wrap the output buffers in Arrays that stay on
   the device until read (``np.asarray`` of one is a zero-copy view on the CPU).

Under another transformation (a tracer among the arguments, or inside
``make_ir``/another ``jit``) the call binds the ``jit_call`` primitive, whose
params hold the traced sub-IR: ``grad(jit(f))`` differentiates the sub-IR,
``vmap(jit(f))`` batches it, ``jit(g)`` of a function calling ``jit(f)``
inlines it. Its rules are in ``jit_call.py``.

``ft.config.update("log_compiles", True)`` logs every trace and compile with
the reason (which argument's shape, dtype or static value changed) on the
``functrans.jit`` logger.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import operator
import time
import weakref
from collections import OrderedDict

import numpy as np

from . import core, dtypes, tree_util
from .array import Array, _DELETED, _from_buffer, _has_host_value, _mark_deleted
from .config import config
from .core import Tracer, bind, get_aval, input_aval
from .errors import _FILTER, UnexpectedTracerError, api_boundary, filter_traceback
from .interpreters import lowering, xla
from .interpreters.tracing import arg_leaf_names, trace_to_ir
# the primitive jit binds under transformations, and its process-wide caches
from .ir import closure_convert
from .jit_call import forget, jit_call_p

logger = logging.getLogger("functrans.jit")

_x64 = config._values  # read on every call: one dict lookup instead of Config.__getattr__


_LEAF_TREEDEF = tree_util.tree_structure(0)


@functools.lru_cache(maxsize=None)
def _default_device():
    return xla.default_device()


def _clear_default_device(name):
    _default_device.cache_clear()


config.on_change(_clear_default_device)


# --- the per-function caches ---------------------------------------------------------------


class _LRU(OrderedDict):
    """A jitted function's cache of executables (or traces) by key, bounded by
    ``config.jit_cache_size``: a hit moves its key to the end, an insert past the
    bound evicts from the front (the least recently used). An evicted entry is
    dropped: its executable and constant buffers are freed once no ``Compiled``
    or in-flight call holds them, and calling with its key again recompiles.
    JAX bounds its per-signature caches the same way (``weakref_lru_cache``,
    2048 entries; its C++ dispatch cache, 8192 entries shared by all functions).
    """

    def lookup(self, key):
        try:
            self.move_to_end(key)
        except KeyError:     # (a miss; in another thread, an entry may go at any time)
            return None
        return self.get(key)

    def insert(self, key, entry) -> list:
        """Stores ``entry`` as the most recent; returns the evicted entries."""
        self[key] = entry
        self.move_to_end(key)
        return self.trim()

    def trim(self) -> list:
        evicted = []
        size = config.jit_cache_size
        while len(self) > size:
            evicted.append(self.popitem(last=False)[1])
        return evicted


# Every Jitted (weakly), so that lowering jit_cache_size shrinks their caches at once.
_all_jitted: "weakref.WeakSet[Jitted]" = weakref.WeakSet()


def _resize_caches(name):
    if name == "jit_cache_size":
        for j in list(_all_jitted):
            j._trim_caches()


config.on_change(_resize_caches)


# --- devices ------------------------------------------------------------------------------


def devices(backend: str | None = None) -> list:
    """The devices of ``backend`` ('cpu', 'gpu'...; default: the default backend).

    Example:
        >>> import functrans as ft
        >>> ft.devices()[0].platform
        'cpu'
    """
    return xla.devices(backend)


def _put_leaf(x, device):
    if type(x) is Array:
        buf = x._buf
        if buf is _DELETED:
            x._value  # noqa: B018  (raises the donated-array error)
        if buf is not None and x._dev is device:
            return x
        # a private copy: the buffer may be donated later, and the host value is shared
        out = _from_buffer(xla.device_put(x._value, device, copy=True), x.aval, device, True)
        return out
    aval = get_aval(x)
    value = np.asarray(x, aval.dtype)
    return _from_buffer(xla.device_put(value, device, copy=True), aval, device, True)


@api_boundary
def device_put(x, device=None):
    """``x`` (a pytree of arrays) committed to ``device`` (default: the default device).

    The result's buffers live on the device; jitted functions called with it run
    there. Reading it back (``np.asarray``) is a zero-copy view on the CPU.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> y = ft.device_put(fnp.arange(3.0))
        >>> y.device == ft.devices()[0], y.committed
        (True, True)
    """
    device = _default_device() if device is None else device
    return tree_util.tree_map(lambda leaf: _put_leaf(leaf, device), x)


# --- the jitted function -------------------------------------------------------------------


class _Trace:
    """A traced function for one key (device-independent)."""

    __slots__ = ("closed", "out_tree", "leaf_names", "donated", "hoisted", "consts",
                 "__weakref__")

    def __init__(self, closed, out_tree, leaf_names, donated):
        self.closed = closed
        self.out_tree = out_tree
        self.leaf_names = leaf_names
        self.donated = donated
        self.hoisted, self.consts = closure_convert(closed)
        # what jit_call caches process-wide for the trace (grad/vmap of the jitted
        # function) goes with it
        weakref.finalize(self, forget, self.hoisted).atexit = False


class _Executable:
    """A compiled program for one key: the executable, const buffers, output types."""

    __slots__ = ("exe", "const_bufs", "out_avals", "out_tree", "donated", "lowered", "device",
                 "any_donated", "handlers", "single", "__weakref__")

    def __init__(self, exe, const_bufs, lowered, out_tree, donated, device):
        self.exe = exe
        self.const_bufs = const_bufs
        self.out_avals = lowered.out_avals
        self.out_tree = out_tree
        self.donated = donated
        self.any_donated = any(donated)
        self.lowered = lowered
        self.device = device
        self.handlers = xla.result_handlers(self.out_avals, device)
        self.single = out_tree == _LEAF_TREEDEF


class Jitted:
    """A function compiled by :func:`jit`; call it like the original function.

    ``.lower(*args)`` and ``.trace(*args)`` give the stages ahead of time.
    """

    def __init__(self, fun, static_argnums=None, static_argnames=None, donate_argnums=None,
                 device=None, donate_argnames=None):
        functools.update_wrapper(self, fun)
        self.fun = fun
        name = getattr(fun, "__name__", None)
        self._name = name if isinstance(name, str) else type(fun).__name__
        nums, names, donate, donate_names = _resolve_argnums(
            fun, self._name, static_argnums, static_argnames, donate_argnums, donate_argnames)
        self._static_argnums = frozenset(nums)
        self._static_argnames = frozenset(names)
        self._donate_argnums = frozenset(donate)
        self._donate_argnames = frozenset(donate_names)
        self._device = device
        self._simple = not nums and not names
        self._cache = _LRU()         # key -> _Executable
        self._traces = _LRU()        # key without the device -> _Trace
        self._last = None            # (key, leaf names) of the latest miss, for log_compiles
        self._memo_key = self._memo = None   # the latest hit (a repeated call skips the LRU)
        _all_jitted.add(self)

    def __repr__(self):
        return f"<jit({self._name})>"

    def __get__(self, obj, objtype=None):
        # a jitted method: the instance is the first argument
        if obj is None:
            return self
        return functools.partial(self, obj)

    # -- the cache key

    def _flatten(self, args, kwargs):
        """``(flat leaves, in_tree, static key, rebuild)``; rebuild(leaves) calls fun."""
        nargs = len(args)
        statics = []
        if self._simple:
            dyn_args, dyn_kwargs = args, kwargs
        else:
            # (a static argument not passed positionally may come by keyword or default)
            static_pos = {i % nargs for i in self._static_argnums if -nargs <= i < nargs}
            dyn_args = tuple(a for i, a in enumerate(args) if i not in static_pos)
            statics = [(i, args[i]) for i in sorted(static_pos)]
            dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
            statics += [(k, kwargs[k]) for k in sorted(kwargs) if k in self._static_argnames]
        static_key = tuple(statics)
        if statics:
            try:
                hash(static_key)
            except TypeError:
                for where, v in statics:
                    try:
                        hash(v)
                    except TypeError as e:
                        what = (f"argument {where}" if isinstance(where, int)
                                else f"argument {where!r}")
                        raise TypeError(
                            f"jit({self._name}): static {what} of type {type(v).__name__} is "
                            f"not hashable ({e}); static arguments are part of the compile "
                            "cache key. Pass a tuple instead of a list, or make the argument "
                            "non-static (arrays must not be static).") from None
        flat, in_tree = tree_util.tree_flatten((dyn_args, dyn_kwargs) if kwargs or statics
                                               else dyn_args)
        return flat, in_tree, static_key, (dyn_args, dyn_kwargs, statics)

    def _rebuild_call(self, in_tree, form, statics):
        fun = self.fun
        general = bool(form[1]) or bool(statics)

        def call(*leaves):
            dyn = tree_util.tree_unflatten(in_tree, leaves)
            if not general:
                return fun(*dyn)
            dyn_args, dyn_kwargs = dyn
            pos = dict((w, v) for w, v in statics if isinstance(w, int))
            kw = dict((w, v) for w, v in statics if not isinstance(w, int))
            it = iter(dyn_args)
            n = len(dyn_args) + len(pos)
            full = [pos[i] if i in pos else next(it) for i in range(n)]
            return fun(*full, **dyn_kwargs, **kw)

        return call

    # -- calling

    def __call__(self, *args, **kwargs):
        __tracebackhide__ = True  # noqa: F841  (read by pytest and IPython)
        try:
            if core._state.stack:
                return self._call_traced(args, kwargs)
            # The dispatch fast path: positional Arrays only (the common case).
            if not kwargs and self._simple:
                avals = []
                committed = self._device
                for x in args:
                    if type(x) is not Array:
                        break
                    a = x._aval
                    avals.append(a if a is not None else x.aval)
                    if committed is None and x._committed:
                        committed = x._dev
                else:
                    device = committed if committed is not None else _default_device()
                    in_tree = _tuple_treedef(len(args))
                    key = (in_tree, tuple(avals), (), _x64["enable_x64"], device)
                    # the latest key first: a tuple compare is identity checks when the
                    # avals are the same objects (no Python __hash__ calls)
                    if key == self._memo_key:
                        entry = self._memo
                    else:
                        entry = self._cache.lookup(key)
                        if entry is not None:
                            self._memo_key, self._memo = key, entry
                    if entry is None:
                        entry = self._compile(key, args, in_tree, (args, {}, []), avals,
                                              device)
                    return _execute(entry, args, avals, device, committed is not None)
            return self._call_general(args, kwargs)
        except Exception as e:
            raise e.with_traceback(filter_traceback(e.__traceback__)) if _FILTER else e

    def _call_general(self, args, kwargs):
        flat, in_tree, static_key, form = self._flatten(args, kwargs)
        avals = []
        committed = self._device
        for i, x in enumerate(flat):
            if type(x) is Array:
                a = x._aval
                if a is None:
                    a = x.aval
                if committed is None and x._committed:
                    committed = x._dev
            elif isinstance(x, Tracer):
                raise UnexpectedTracerError(x)
            else:
                a = _arg_aval(self._name, x, i)
            avals.append(a)
        device = committed if committed is not None else _default_device()
        key = (in_tree, tuple(avals), static_key, _x64["enable_x64"], device)
        if key == self._memo_key:
            entry = self._memo
        else:
            entry = self._cache.lookup(key)
            if entry is None:
                entry = self._compile(key, flat, in_tree, form, avals, device)
            self._memo_key, self._memo = key, entry
        return _execute(entry, flat, avals, device, committed is not None)

    def _store(self, key, entry: _Executable) -> None:
        """Caches ``entry``; an evicted memo is forgotten too (it would keep it alive)."""
        if self._cache.insert(key, entry) and self._memo_key not in self._cache:
            self._memo_key = self._memo = None

    def _without_caches(self) -> "Jitted":
        """A copy sharing all but the caches: what a ``Compiled`` keeps to check its
        arguments, so that it does not keep every executable of ``self`` alive."""
        spec = copy.copy(self)
        spec._cache, spec._traces = _LRU(), _LRU()
        spec._last = spec._memo_key = spec._memo = None
        return spec

    def _trim_caches(self) -> None:
        self._traces.trim()
        if self._cache.trim() and self._memo_key not in self._cache:
            self._memo_key = self._memo = None

    def _get_trace(self, key, flat, in_tree, form, avals) -> _Trace:
        tkey = key[:4]
        tr = self._traces.lookup(tkey)
        if tr is not None:
            return tr
        self._log_miss("tracing", key, flat, form)
        box = []
        call = self._rebuild_call(in_tree, form, form[2])

        def flat_fun(*leaves):
            out = call(*leaves)
            out_flat, out_tree = tree_util.tree_flatten(out)
            box.append(out_tree)
            return out_flat

        closed = trace_to_ir(flat_fun, avals, f"jit({self._name})",
                             arg_names=lambda: self._leaf_names(form))
        tr = _Trace(closed, box[0], self._leaf_names(form),
                    self._donated_leaves(form, in_tree))
        # (a trace closing over tracers is good for this call only)
        if not any(isinstance(c, Tracer) for c in closed.consts):
            self._traces.insert(tkey, tr)
        return tr

    def _compile(self, key, flat, in_tree, form, avals, device) -> _Executable:
        tr = self._get_trace(key, flat, in_tree, form, avals)
        t0 = time.perf_counter()
        lowered = lowering.lower_ir(tr.closed, self._name, donated=tr.donated,
                                    platform=xla.device_platform(device))
        exe = xla.compile(lowered.text, device, self._name)
        const_bufs = [_const_buffer(c, device) for c in lowered.const_args]
        entry = _Executable(exe, const_bufs, lowered, tr.out_tree, tr.donated, device)
        self._store(key, entry)
        if config.log_compiles:
            logger.warning("jit(%s): compiled for %s in %.1f ms", self._name, device,
                           (time.perf_counter() - t0) * 1e3)
        return entry

    def _call_traced(self, args, kwargs):
        from . import numpy as fnp
        flat, in_tree, static_key, form = self._flatten(args, kwargs)
        flat = [x if isinstance(x, (Tracer, Array)) or type(x) in core._PY_SCALARS
                else fnp.asarray(x) for x in flat]
        avals = [get_aval(x) for x in flat]
        key = (in_tree, tuple(avals), static_key, _x64["enable_x64"])
        tr = self._get_trace(key, flat, in_tree, form, avals)
        outs = bind(jit_call_p, *tr.consts, *flat, closed=tr.hoisted, name=self._name)
        return tree_util.tree_unflatten(tr.out_tree, outs)

    # -- donation and names

    def _donated_leaves(self, form, in_tree):
        n = in_tree.num_leaves
        if not self._donate_argnums and not self._donate_argnames:
            return (False,) * n
        dyn_args, dyn_kwargs, statics = form
        static_pos = [w for w, _ in statics if isinstance(w, int)]
        flags = []
        it = iter(dyn_args)
        nargs = len(dyn_args) + len(static_pos)
        for i in range(nargs):
            if i in static_pos:
                continue
            donate = i in self._donate_argnums or (i - nargs) in self._donate_argnums
            flags += [donate] * len(tree_util.tree_leaves(next(it)))
        for k in sorted(dyn_kwargs):   # (the order tree_flatten gives a dict)
            flags += [k in self._donate_argnames] * len(tree_util.tree_leaves(dyn_kwargs[k]))
        flags += [False] * (n - len(flags))
        return tuple(flags)

    def _leaf_names(self, form):
        dyn_args, dyn_kwargs, statics = form
        return arg_leaf_names(self.fun, dyn_args, dyn_kwargs,
                              {w for w, _ in statics if isinstance(w, int)})

    def _log_miss(self, what, key, flat, form):
        if not config.log_compiles:
            return
        names = self._leaf_names(form)
        in_tree, avals, static_key, x64 = key[:4]
        sig = ", ".join(f"{n}: {a.str_short()}{'~' if a.weak_type else ''}"
                        for n, a in zip(names, avals))
        reason = ("first call" if not self._traces else
                  "a new signature (the earlier ones were traced before log_compiles was on)")
        if self._last is not None:
            reason = _explain(self._last, (key, names))
        logger.warning("jit(%s): %s for (%s) because %s", self._name, what, sig, reason)
        self._last = (key, names)

    # -- ahead of time

    @api_boundary
    def trace(self, *args, **kwargs) -> "Traced":
        """Traces for these arguments (shapes and dtypes matter, not values): our IR."""
        flat, in_tree, static_key, form = self._flatten(args, kwargs)
        avals = [_arg_aval(self._name, x, i) for i, x in enumerate(flat)]
        key = (in_tree, tuple(avals), static_key, _x64["enable_x64"])
        return Traced(self, self._get_trace(key, flat, in_tree, form, avals), key)

    @api_boundary
    def lower(self, *args, **kwargs) -> "Lowered":
        """Traces and lowers for these arguments; ``.as_text()`` is the StableHLO module."""
        return self.trace(*args, **kwargs).lower()


class Traced:
    """``jit(f).trace(*args)``: the traced IR; ``str()`` prints it, ``.lower()`` goes on."""

    def __init__(self, jitted, tr, key):
        self._jitted, self._trace, self._key = jitted, tr, key
        self.ir = tr.closed

    def __str__(self):
        return str(self.ir)

    __repr__ = __str__

    @property
    def out_info(self):
        return tree_util.tree_unflatten(self._trace.out_tree, self.ir.out_avals)

    def lower(self, device=None) -> "Lowered":
        j = self._jitted
        device = device or j._device or _default_device()
        lowered = lowering.lower_ir(self.ir, j._name, donated=self._trace.donated,
                                    platform=xla.device_platform(device))
        return Lowered(j, self._trace, self._key, lowered, device)


class Lowered:
    """``jit(f).lower(*args)``: the StableHLO module; ``.compile()`` compiles it."""

    def __init__(self, jitted, tr, key, lowered, device):
        self._jitted, self._trace, self._key = jitted, tr, key
        self._lowered, self._device = lowered, device

    def as_text(self) -> str:
        return self._lowered.text

    def __str__(self):
        return self._lowered.text

    def compile(self) -> "Compiled":
        j = self._jitted
        device = self._device
        exe = xla.compile(self._lowered.text, device, j._name)
        const_bufs = [_const_buffer(c, device) for c in self._lowered.const_args]
        entry = _Executable(exe, const_bufs, self._lowered, self._trace.out_tree,
                            self._trace.donated, device)
        key = self._key + (device,)
        if key not in j._cache:
            j._store(key, entry)
        return Compiled(j, entry, self._key)


class Compiled:
    """A compiled jitted function for one argument signature; call it with matching args."""

    def __init__(self, jitted, entry, key):
        self._jitted, self._entry, self._key = jitted._without_caches(), entry, key

    def as_text(self) -> str:
        return self._entry.lowered.text

    @api_boundary
    def __call__(self, *args, **kwargs):
        j = self._jitted
        flat, in_tree, static_key, form = j._flatten(args, kwargs)
        avals = [_arg_aval(j._name, x, i) for i, x in enumerate(flat)]
        key = (in_tree, tuple(avals), static_key, _x64["enable_x64"])
        if key != self._key:
            raise TypeError(f"jit({j._name}) compiled ahead of time for "
                            f"{_sig(self._key[1])} was called with {_sig(avals)}; "
                            "call the jitted function itself to compile for new types")
        return _execute(self._entry, flat, avals, self._entry.device, False)


def _sig(avals):
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _index_tuple(x, what: str) -> tuple:
    try:
        return (operator.index(x),)
    except TypeError:
        pass
    try:
        return tuple(operator.index(i) for i in x)
    except TypeError:
        raise TypeError(f"jit: {what} must be an int or a sequence of ints, got {x!r}") from None


def _str_tuple(x, what: str) -> tuple:
    try:
        names = (x,) if isinstance(x, str) else tuple(x)
    except TypeError:
        names = (x,)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"jit: {what} must be a str or a sequence of str, got {x!r}")
    return names


def _infer_argnums_and_argnames(sig, argnums, argnames, what):
    """JAX's rule: given numbers name their positional-or-keyword parameters and the
    other way round; given both (or no signature), each is taken as it is."""
    given_both = argnums is not None and argnames is not None
    argnums = () if argnums is None else _index_tuple(argnums, what + "_argnums")
    if sig is None or given_both:
        return argnums, () if argnames is None else _str_tuple(argnames, what + "_argnames")
    params = [(i, k) for i, (k, p) in enumerate(sig.parameters.items())
              if p.kind is p.POSITIONAL_OR_KEYWORD]
    if argnames is not None:
        argnames = _str_tuple(argnames, what + "_argnames")
        return tuple(i for i, k in params if k in argnames), argnames
    return argnums, tuple(k for i, k in params if i in argnums)


def _check_argnums(name, sig, argnums, what):
    """Positions must exist (counting from either end) unless ``fun`` takes ``*args``."""
    kinds = [p.kind for p in sig.parameters.values()]
    if inspect.Parameter.VAR_POSITIONAL in kinds or not argnums:
        return
    n = sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for k in kinds)
    bad = [i for i in argnums if not -n <= i < n]
    if bad:
        raise ValueError(f"jit({name}): {what}={argnums} names position(s) {tuple(bad)}, but "
                         f"{name} takes {n} positional argument(s) {_signature_text(sig)}")


def _check_argnames(name, sig, argnames, what):
    """Names must be keyword parameters, or anything but a positional-only one with ``**kw``."""
    params = sig.parameters
    pos_only = {k for k, p in params.items()
                if p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL) and k in argnames}
    if pos_only:
        raise ValueError(f"jit({name}): {what} names {sorted(pos_only)}, which "
                         f"{name}{_signature_text(sig)} takes only by position; use "
                         f"{what.replace('names', 'nums')}")
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    unknown = [k for k in argnames if k not in params
               or params[k].kind not in (params[k].POSITIONAL_OR_KEYWORD, params[k].KEYWORD_ONLY)]
    if unknown:
        raise ValueError(f"jit({name}): {what} names {unknown}, but {name}"
                         f"{_signature_text(sig)} has no such parameter")


def _signature_text(sig) -> str:
    return str(sig) if sig is not None else ""


def _resolve_argnums(fun, name, static_argnums, static_argnames, donate_argnums,
                     donate_argnames):
    """Validates and completes jit's argument specification at ``jit`` time, as JAX does.

    Returns ``(static nums, static names, donate nums, donate names)``. A
    function without a signature (some builtins) is not checked.
    """
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        sig = None
        if donate_argnames is not None:
            raise ValueError(f"jit({name}): the signature of {fun!r} is not available; "
                             "pass donate_argnums instead of donate_argnames") from None
    nums, names = _infer_argnums_and_argnames(sig, static_argnums, static_argnames, "static")
    dnums, dnames = _infer_argnums_and_argnames(sig, donate_argnums, donate_argnames, "donate")
    if sig is not None:
        _check_argnums(name, sig, nums, "static_argnums")
        _check_argnames(name, sig, names, "static_argnames")
        _check_argnums(name, sig, dnums, "donate_argnums")
        _check_argnames(name, sig, dnames, "donate_argnames")
    # (as in JAX, only names are compared: a static position of ``*args`` is simply not
    # donated)
    both = sorted(set(names) & set(dnames))
    if both:
        raise ValueError(f"jit({name}): an argument cannot be both static and donated: "
                         f"{both} (static_argnums={nums}, static_argnames={names}, "
                         f"donate_argnums={dnums}, donate_argnames={dnames})")
    return nums, names, dnums, dnames


def _arg_aval(name, x, i):
    try:
        return input_aval(f"jit({name})", x, i, "; mark the argument static (static_argnums/"
                          "static_argnames) if it is a configuration value")
    except dtypes.ScalarOverflowError:
        dtypes.check_python_int(x, f"jit({name}) argument leaf {i}")
        raise


def _explain(old, new) -> str:
    """Why key ``new`` missed, compared with the previous miss ``old``."""
    (okey, _), (nkey, nnames) = old, new
    if okey[0] != nkey[0]:
        return f"the argument structure changed from {okey[0]} to {nkey[0]}"
    diffs = []
    for n, a, b in zip(nnames, okey[1], nkey[1]):
        if a != b:
            what = " and ".join(w for w, changed in (
                ("shape", a.shape != b.shape), ("dtype", a.dtype != b.dtype),
                ("weak type", a.weak_type != b.weak_type)) if changed) or "type"
            diffs.append(f"{n} changed {what}: {a.str_short()}{'~' * a.weak_type} -> "
                         f"{b.str_short()}{'~' * b.weak_type}")
    if okey[2] != nkey[2]:
        diffs.append(f"static arguments changed: {okey[2]} -> {nkey[2]}")
    if okey[3] != nkey[3]:
        diffs.append(f"enable_x64 changed: {okey[3]} -> {nkey[3]}")
    if len(okey) > 4 and len(nkey) > 4 and okey[4] != nkey[4]:
        diffs.append(f"device changed: {okey[4]} -> {nkey[4]}")
    return "; ".join(diffs) if diffs else "no cached entry matches (a new combination)"


# --- execution ------------------------------------------------------------------------------


def _const_buffer(c, device):
    if type(c) is Array and c._buf is not None and c._buf is not _DELETED and c._dev is device:
        return c._buf
    return xla.device_put(np.asarray(c), device)


@functools.lru_cache(maxsize=64)
def _tuple_treedef(n: int):
    return tree_util.tree_structure((0,) * n)


def _execute(entry: _Executable, flat, avals, device, committed):
    bufs = list(entry.const_bufs) if entry.const_bufs else []
    donated = entry.donated if entry.any_donated else None
    i = 0
    for x in flat:
        if type(x) is Array:
            buf = x._buf
            if buf is not None and x._dev is device and not (donated and donated[i]):
                bufs.append(buf)
            else:
                bufs.append(_put_arg(x, buf, device, donated is not None and donated[i]))
        else:
            bufs.append(xla.device_put(np.asarray(x, avals[i].dtype), device))
        i += 1
    outs = xla.execute(entry.exe, bufs, entry.handlers)
    if entry.single:
        return _from_buffer(outs[0], entry.out_avals[0], device, committed)
    vals = [_from_buffer(o, a, device, committed) for o, a in zip(outs, entry.out_avals)]
    return tree_util.tree_unflatten(entry.out_tree, vals)


def _put_arg(x: Array, buf, device, donate: bool):
    """The device buffer for Array ``x`` that is not on ``device`` yet, or is donated."""
    if buf is _DELETED:
        x._value  # noqa: B018  (raises the donated-array error)
    if donate:
        if buf is not None and x._dev is device and not _has_host_value(x):
            # the Array's own buffer (its aval is set: it was made by _from_buffer),
            # shared with nobody: XLA takes it
            x._buf = _DELETED
            return buf
        out = xla.device_put(x._value, device, copy=True)  # a copy: the host value may be shared
        _mark_deleted(x)
        return out
    out = xla.device_put(x._value, device)
    if buf is None:            # keep it: the next call sends nothing
        x._buf, x._dev, x._committed = out, device, False
    return out


# --- the public constructor ---------------------------------------------------------------


def jit(fun=None, *, static_argnums=None, static_argnames=None, donate_argnums=None,
        donate_argnames=None, device=None):
    """Compiles ``fun`` with XLA: traced once per argument signature, then run compiled.

    Args:
      fun: a function of arrays (pytrees of arrays, Python scalars) returning
        arrays or pytrees of arrays.
      static_argnums, static_argnames: arguments passed as Python values (not
        traced); they must be hashable, and each new value compiles anew. As in
        JAX, given only one of the two, the other is inferred from ``fun``'s
        signature, and both are checked against it here (a ValueError for a
        position or name ``fun`` does not take).
      donate_argnums, donate_argnames: arguments whose buffers XLA may reuse
        for the outputs (e.g. parameters updated by a training step); a donated
        array cannot be used after the call.
      device: the device to run on (default: the device of committed
        arguments, else the default device).

    Returns:
      A :class:`Jitted` function (with ``.lower``/``.trace`` for ahead-of-time use).
      Without ``fun``, a decorator.

    Example:
        >>> import functrans as ft, functrans.numpy as fnp
        >>> f = ft.jit(lambda x, y: x * y + 1.0)
        >>> f(fnp.arange(3.0), 2.0).tolist()
        [1.0, 3.0, 5.0]
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames,
                                 donate_argnums=donate_argnums,
                                 donate_argnames=donate_argnames, device=device)
    if not callable(fun):
        raise TypeError(f"jit: expected a function, got {type(fun).__name__}")
    return Jitted(fun, static_argnums, static_argnames, donate_argnums, device, donate_argnames)


__all__ = ["jit", "Jitted", "Traced", "Lowered", "Compiled", "devices", "device_put",
           "jit_call_p"]
