"""Lowering the IR to StableHLO text (the first half of ``jit``).

:func:`lower_ir` turns a :class:`~functrans.ir.ClosedIR` into the text of an
MLIR module whose ``@main`` function takes the IR's inputs (and its large
constants) and returns its outputs. Each equation is lowered by its
primitive's ``lower`` rule::

    lower(ctx, *operands, **params) -> value name, or a list of them

where ``operands`` are SSA value names (``"%3"``) and ``ctx`` is a
:class:`LoweringContext` holding ``avals_in`` and ``avals_out`` of the
equation. A rule emits operations with :meth:`LoweringContext.op`, which
writes MLIR's *generic* form, ``%5 = "stablehlo.add"(%3, %4) : (...) -> ...``:
one uniform syntax for every operation, which jaxlib's parser accepts.

Rule helpers (used by the primitive modules):
  ir_type(aval)                 ``tensor<2x3xf32>``
  defelementwise(prim, "stablehlo.sine")
                                an elementwise primitive as one StableHLO op,
                                broadcasting rank-0 operands first
  ctx.constant(value, aval)     a dense constant
  ctx.broadcast(x, aval, shape, dims)  stablehlo.broadcast_in_dim
  ctx.convert(x, aval, dtype)   stablehlo.convert
  ctx.region(arg_avals, body)   a region (reduce/sort/while bodies)
  ctx.lower_ir(closed_ir, args) inline a sub-IR (calls, custom rules, branches)
  ctx.platform                  the target platform ("cpu", "gpu", ...; None: unknown):
                                a rule may emit a different, equivalent program per platform

Ordered effects (see ``effects.py``): the rule of a primitive with an ordered
effect takes the ordering token with ``ctx.get_token()``, passes it to its
operation (``TOKEN`` is the type ``!stablehlo.token`` in ``ctx.op``'s avals) and
hands the operation's new token to ``ctx.set_token(t)``; ``ctx.thread_token(values,
avals)`` does both with a ``stablehlo.optimization_barrier``. So one token runs
through the ordered effects in program order:

* it is made in ``@main`` the first time a rule asks for it (``stablehlo.after_all``
  with no operands), so ``@main``'s signature does not change and an effect-free
  program's text is the same as without effects. (JAX passes a token argument and
  result through ``@main`` to order effects *across* calls; a later issue can add
  that pair here, where the token is made.)
* a region's rules (a cond branch, a loop body) start from the enclosing token,
  captured from above; a higher-order equation with ordered effects whose rule does
  not set the token itself (cond, while, scan) is followed by an optimization
  barrier of the token and the equation's results, so later effects wait for it.
  An inlined sub-IR (``ctx.lower_ir``: jit_call) shares the token.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import ShapedArray, get_aval
from ..effects import has_ordered
from ..ir import ClosedIR, Lit, eqn_effects

# Closed-over arrays with more elements than this are passed to the executable
# as arguments instead of being written into the module text.
INLINE_CONST_LIMIT = 64

_ELEMENT_TYPES = {
    np.dtype(np.bool_): "i1",
    np.dtype(np.int8): "i8", np.dtype(np.int16): "i16", np.dtype(np.int32): "i32",
    np.dtype(np.int64): "i64",
    np.dtype(np.uint8): "ui8", np.dtype(np.uint16): "ui16", np.dtype(np.uint32): "ui32",
    np.dtype(np.uint64): "ui64",
    np.dtype(np.float16): "f16", np.dtype(np.float32): "f32", np.dtype(np.float64): "f64",
    np.dtype(np.complex64): "complex<f32>", np.dtype(np.complex128): "complex<f64>",
}
_ELEMENT_TYPES[np.dtype(dtypes.bfloat16)] = "bf16"


def element_type(dtype) -> str:
    """The MLIR element type of a numpy dtype (``f32``, ``ui8``, ``complex<f64>``...)."""
    try:
        return _ELEMENT_TYPES[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"jit: dtype {np.dtype(dtype)} cannot be lowered to StableHLO") from None


class _TokenType:
    """The type of the ordering token, ``!stablehlo.token``, where ``ctx.op`` takes avals."""

    def __repr__(self):
        return "TOKEN"


TOKEN = _TokenType()


def ir_type(aval: ShapedArray) -> str:
    """``tensor<2x3xf32>`` for an aval of shape (2, 3) and dtype float32."""
    if aval is TOKEN:
        return "!stablehlo.token"
    dims = "".join(f"{d}x" for d in aval.shape)
    return f"tensor<{dims}{element_type(aval.dtype)}>"


def dense_attr(value: np.ndarray) -> str:
    """``dense<...>`` for a host array: its raw bytes as hex (exact, inf/nan safe)."""
    value = np.ascontiguousarray(value)
    if value.dtype == np.bool_:
        value = value.astype(np.uint8)
    if value.size == 1 or (value.size and np.all(value == value.reshape(-1)[0])
                           and not np.iscomplexobj(value)):
        # a splat: one element's bytes
        data = value.reshape(-1)[:1].astype(value.dtype.newbyteorder("<")).tobytes()
    else:
        data = value.astype(value.dtype.newbyteorder("<")).tobytes()
    return f'dense<"0x{data.hex().upper()}">'


def i64_array(values) -> str:
    """``array<i64: 1, 2>`` (the DenseI64ArrayAttr StableHLO uses for dims and sizes)."""
    values = [int(v) for v in values]
    return "array<i64" + (": " + ", ".join(map(str, values)) if values else "") + ">"


def i64_dense(values) -> str:
    """``dense<[1, 2]> : tensor<2xi64>`` (the older elements-attr form some ops use)."""
    values = [int(v) for v in values]
    return f"dense<[{', '.join(map(str, values))}]> : tensor<{len(values)}xi64>"


class _Names:
    """Fresh SSA names for one function (shared by its nested regions)."""

    def __init__(self):
        self.n = 0

    def fresh(self) -> str:
        self.n += 1
        return f"%{self.n - 1}"


class LoweringContext:
    """Where a rule writes its operations; ``avals_in``/``avals_out`` describe the equation."""

    def __init__(self, module, names, lines, indent="    ", parent=None):
        self.module = module        # the _Module: holds extra functions, the function name
        self.names = names
        self.lines = lines
        self.indent = indent
        self.avals_in: list = []
        self.avals_out: list = []
        self.parent = parent        # the context of the enclosing region's operation
        self._token = None          # the ordering token (see get_token), made when needed
        self._token_sets = 0        # how many times set_token was called

    @property
    def platform(self):
        """The platform the module is compiled for: "cpu", "gpu" (CUDA/ROCm), ...; None
        when unknown (emit the portable form)."""
        return self.module.platform

    @property
    def replica_axes(self) -> dict:
        """The module's named replica axes (a pmap's axis name -> its number of devices):
        collectives over them lower to cross-replica operations."""
        return self.module.axes

    # -- emitting operations

    def op(self, name: str, operands, in_avals, out_avals, attrs: str = "",
           regions=None):
        """Emits one operation in generic form; returns its result name(s).

        ``out_avals`` is one aval (returns one name) or a list (returns a list).
        ``attrs`` is the text inside ``{...}``; ``regions`` a list of region texts
        from :meth:`region`.
        """
        single = isinstance(out_avals, ShapedArray) or out_avals is TOKEN
        outs = [out_avals] if single else list(out_avals)
        ins = ", ".join(operands)
        in_types = ", ".join(ir_type(a) for a in in_avals)
        out_types = ", ".join(ir_type(a) for a in outs)
        res = self.names.fresh()
        region_text = f" ({', '.join(regions)})" if regions else ""
        attr_text = f" {{{attrs}}}" if attrs else ""
        lhs = f"{res}:{len(outs)} = " if len(outs) > 1 else (f"{res} = " if outs else "")
        out_sig = out_types if len(outs) == 1 else f"({out_types})"
        self.lines.append(f'{self.indent}{lhs}"{name}"({ins}){region_text}{attr_text} : '
                          f"({in_types}) -> {out_sig}")
        if not outs:
            return []
        if len(outs) == 1:
            return res if single else [res]
        return [f"{res}#{i}" for i in range(len(outs))]

    def constant(self, value, aval: ShapedArray) -> str:
        """A constant of ``aval``'s type: ``value`` (a scalar, splat) or a host array."""
        arr = np.asarray(value, aval.dtype)
        if arr.shape != tuple(aval.shape):
            arr = np.broadcast_to(arr, aval.shape)
        res = self.names.fresh()
        self.lines.append(f"{self.indent}{res} = stablehlo.constant {dense_attr(arr)} : "
                          f"{ir_type(aval)}")
        return res

    def broadcast(self, x: str, aval: ShapedArray, shape, dims=None) -> str:
        """``stablehlo.broadcast_in_dim`` of ``x`` to ``shape`` (dims default: trailing)."""
        shape = tuple(shape)
        if dims is None:
            dims = tuple(range(len(shape) - aval.ndim, len(shape)))
        if tuple(aval.shape) == shape and tuple(dims) == tuple(range(len(shape))):
            return x
        return self.op("stablehlo.broadcast_in_dim", [x], [aval],
                       ShapedArray(shape, aval.dtype), f"broadcast_dimensions = {i64_array(dims)}")

    def convert(self, x: str, aval: ShapedArray, dtype) -> str:
        if np.dtype(dtype) == aval.dtype:
            return x
        return self.op("stablehlo.convert", [x], [aval], ShapedArray(aval.shape, dtype))

    def region(self, arg_avals, body) -> str:
        """A one-block region ``({ ^bb0(args): ... stablehlo.return })``.

        ``body(ctx, *arg_names)`` emits into a nested context and returns the
        value(s) to return, with their avals as ``(names, avals)``.
        """
        args = [self.names.fresh() for _ in arg_avals]
        lines: list = []
        inner = LoweringContext(self.module, self.names, lines, self.indent + "  ", self)
        names, avals = body(inner, *args)
        sig = ", ".join(f"{a}: {ir_type(v)}" for a, v in zip(args, arg_avals))
        ret_types = ", ".join(ir_type(a) for a in avals)
        lines.append(f'{inner.indent}"stablehlo.return"({", ".join(names)}) : ({ret_types}) -> ()')
        body_text = "\n".join(lines)
        header = f"{self.indent}^bb0({sig}):\n" if arg_avals else ""
        return f"{{\n{header}{body_text}\n{self.indent}}}"

    # -- the ordering token of ordered effects (see the module docstring)

    def get_token(self) -> str:
        """The current ordering token: made here in ``@main`` (``stablehlo.after_all``
        of nothing) the first time, or in a region, the enclosing one (captured)."""
        if self._token is None:
            if self.parent is not None:
                self._token = self.parent.get_token()
            else:
                self._token = self.op("stablehlo.after_all", [], [], TOKEN)
        return self._token

    def set_token(self, token: str) -> None:
        """Makes ``token`` (the token an ordered effect's operation returned) current."""
        self._token = token
        self._token_sets += 1

    def thread_token(self, values, avals) -> list:
        """``stablehlo.optimization_barrier`` of the token and ``values``: the values it
        returns wait for the effects before, and the new token, made current, for
        ``values`` (an effect that is the barrier itself, or that consumes them)."""
        outs = self.op("stablehlo.optimization_barrier", [self.get_token()] + list(values),
                       [TOKEN] + list(avals), [TOKEN] + list(avals))
        self.set_token(outs[0])
        return outs[1:]

    def lower_ir(self, closed: ClosedIR, args) -> list:
        """Inlines a sub-IR here: its consts become constants, its outputs are returned."""
        ir = closed.ir
        env = {}
        for v, c in zip(ir.constvars, closed.consts):
            env[v] = self.constant(_host_value(c), v.aval)
        for v, a in zip(ir.invars, args):
            env[v] = a
        _lower_eqns(self, ir.eqns, env)
        return [_read(self, env, v) for v in ir.outvars]


def _host_value(x) -> np.ndarray:
    return np.asarray(x)


def _read(ctx: LoweringContext, env, x) -> str:
    if isinstance(x, Lit):
        return ctx.constant(_host_value(x.val), x.aval)
    return env[x]


def _lower_eqns(ctx: LoweringContext, eqns, env) -> None:
    for eqn in eqns:
        ins = [_read(ctx, env, x) for x in eqn.inputs]
        ctx.avals_in = [x.aval for x in eqn.inputs]
        ctx.avals_out = [v.aval for v in eqn.outvars]
        rule = eqn.prim.rule("lower")
        sets = ctx._token_sets
        out = rule(ctx, *ins, **eqn.params)
        outs = out if eqn.prim.multiple_results else [out]
        if sets == ctx._token_sets and has_ordered(eqn_effects(eqn)):
            # (a cond or loop with ordered effects inside: later effects wait for it)
            ctx.thread_token(outs, [v.aval for v in eqn.outvars])
        for v, o in zip(eqn.outvars, outs):
            env[v] = o


class _Module:
    """A module under construction: ``@main`` plus any helper functions rules add."""

    def __init__(self, name: str, platform, axes=None):
        self.name = name
        self.platform = platform
        self.functions: list = []
        self.axes = dict(axes or {})    # a pmap's named axis -> its number of replicas


class Lowered:
    """The result of :func:`lower_ir`: module text and how to call ``@main``.

    ``const_args`` are the large closed-over arrays, passed before the IR's inputs.
    """

    def __init__(self, text: str, const_args: list, in_avals: list, out_avals: list):
        self.text = text
        self.const_args = const_args
        self.in_avals = in_avals
        self.out_avals = out_avals


def _sanitize(name: str) -> str:
    # an MLIR bare identifier is ASCII: ``def 名前(x)`` and ``<lambda>`` become underscores
    s = "".join(c if (c.isascii() and c.isalnum()) or c == "_" else "_" for c in name)
    return s if s and not s[0].isdigit() else "f_" + s


def lower_ir(closed: ClosedIR, name: str = "main", donated=None,
             platform: str | None = None, replica_axes=None) -> Lowered:
    """Lowers a ClosedIR to a StableHLO module.

    Args:
      closed: the IR with its constants.
      name: the module's name (the user's function name).
      donated: one bool per IR input; donated inputs may have their buffers
        reused for an output of the same type (``tf.aliasing_output``).
      platform: the platform of the device it will be compiled for (a device's
        ``.platform``: "cpu", "gpu"...); rules read it as ``ctx.platform``.
        None: unknown, rules emit their portable form.
      replica_axes: for a pmap, ``{axis_name: number of devices}``: the module runs one
        replica per device (``mhlo.num_replicas``) and collectives over that axis lower
        to cross-replica operations.
    """
    ir = closed.ir
    module = _Module(_sanitize(name), platform, replica_axes)
    replicas = 1
    for size in module.axes.values():
        replicas *= size
    names = _Names()
    lines: list = []
    ctx = LoweringContext(module, names, lines)
    env = {}
    args_sig = []
    const_args = []
    for v, c in zip(ir.constvars, closed.consts):
        if get_aval(c).size > INLINE_CONST_LIMIT:
            a = names.fresh()
            env[v] = a
            const_args.append(c)
            args_sig.append(f"{a}: {ir_type(v.aval)}")
    # outputs a donated input may alias: the first unclaimed output of the same type
    donated = list(donated) if donated is not None else [False] * len(ir.invars)
    claimed = set()
    for v, d in zip(ir.invars, donated):
        a = names.fresh()
        env[v] = a
        attr = ""
        if d:
            for j, o in enumerate(ir.outvars):
                if j not in claimed and o.aval.shape == v.aval.shape and \
                        o.aval.dtype == v.aval.dtype:
                    claimed.add(j)
                    attr = f" {{tf.aliasing_output = {j} : i32}}"
                    break
        args_sig.append(f"{a}: {ir_type(v.aval)}{attr}")
    # the body is written after the argument names were taken: small consts first
    for v, c in zip(ir.constvars, closed.consts):
        if v not in env:
            env[v] = ctx.constant(_host_value(c), v.aval)
    body_lines = lines
    _lower_eqns(ctx, ir.eqns, env)
    outs = [_read(ctx, env, v) for v in ir.outvars]
    out_types = ", ".join(ir_type(v.aval) for v in ir.outvars)
    body_lines.append(f"    return {', '.join(outs)} : {out_types}" if outs else "    return")
    main = (f"  func.func public @main({', '.join(args_sig)}) -> ({out_types}) {{\n"
            + "\n".join(body_lines) + "\n  }")
    funcs = "\n".join([main] + module.functions)
    text = (f"module @{module.name} attributes {{mhlo.num_replicas = {replicas} : i32, "
            f"mhlo.num_partitions = 1 : i32}} {{\n{funcs}\n}}\n")
    return Lowered(text, const_args, [v.aval for v in ir.invars],
                   [v.aval for v in ir.outvars])


# --- rule helpers ------------------------------------------------------------------------------


def broadcast_operands(ctx: LoweringContext, operands, avals, shape):
    """Rank-0 operands broadcast to ``shape`` (elementwise primitives allow scalars)."""
    return [ctx.broadcast(x, a, shape) if a.shape != tuple(shape) else x
            for x, a in zip(operands, avals)]


def elementwise_op(ctx: LoweringContext, opname: str, operands, attrs: str = "") -> str:
    """One StableHLO elementwise op on the equation's operands (scalars broadcast)."""
    out = ctx.avals_out[0]
    avals = ctx.avals_in
    ops = broadcast_operands(ctx, operands, avals, out.shape)
    in_avals = [ShapedArray(out.shape, a.dtype) for a in avals]
    return ctx.op(opname, ops, in_avals, out, attrs)


def defelementwise(prim, opname: str, attrs: str = ""):
    """``prim`` lowers to the single elementwise StableHLO op ``opname``."""
    def rule(ctx, *operands, **params):
        return elementwise_op(ctx, opname, operands, attrs)
    prim.lower = rule
    return rule


__all__ = ["INLINE_CONST_LIMIT", "TOKEN", "element_type", "ir_type", "dense_attr", "i64_array",
           "i64_dense", "LoweringContext", "Lowered", "lower_ir", "broadcast_operands",
           "elementwise_op", "defelementwise"]
