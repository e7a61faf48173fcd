"""User-facing errors, and traceback filtering at the API boundary.

Every error a user can cause says which operation failed, with which shapes
or dtypes, and what to do. Public functions are wrapped in
:func:`api_boundary`, which removes functrans-internal frames from the
traceback of an escaping exception, so it ends at the user's line (plus the
one boundary frame, which pytest and IPython hide via ``__tracebackhide__``).
"""

from __future__ import annotations

import functools
import os
import types

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_FILTER = os.environ.get("FUNCTRANS_TRACEBACK_FILTERING", "on") != "off"


class FunctransTypeError(TypeError):
    """Base of the TypeErrors functrans raises about traced values."""


class ConcretizationError(FunctransTypeError):
    """A traced value was converted to a Python value (``if x > 0``, ``int(x)``, ...)
    where its value is not known: while it is staged out (make_ir, jit, control-flow
    bodies) or batched (vmap). The message names the arguments it depends on."""

    def __init__(self, tracer, what: str):
        conv = {"bool": "a Python bool (an `if`, `while`, `and`/`or` on it)",
                "int": "a Python int", "float": "a Python float", "complex": "a Python complex",
                "index": "a Python index (a shape, a slice bound or range())",
                "item": "a Python scalar with .item()", "tolist": "a Python list"}[what]
        head = (f"Abstract tracer value encountered where a concrete value is expected: "
                f"the traced array {tracer.aval.str_short()} was converted to {conv}.\n")
        if tracer.to_concrete_value() is not None:
            # float(), complex() and .tolist() of a differentiated value, as in JAX
            super().__init__(
                head + f"Its value is known (it is differentiated, not staged out), but "
                f"{what}() would drop its derivative, so functrans (like JAX) refuses it. "
                "Use x.astype(...) to change the dtype, keep the value an array, or use "
                "int(x), bool(x) or x.item(), which do work under grad, jvp and vjp.")
            return
        origin = tracer._value_origin()
        super().__init__(
            head + (origin + "\n" if origin else "") +
            "Inside a staged or batched function (make_ir, jit, vmap, lax.cond/while_loop/"
            "scan bodies, ...) an array's value is not known, only its shape and dtype. Use "
            "functrans.numpy.where or lax.cond/lax.select instead of Python control flow on "
            "array values, or mark the argument static (static_argnums / static_argnames) so "
            "its value is known while tracing.")


class TracerArrayConversionError(FunctransTypeError):
    def __init__(self, tracer):
        super().__init__(
            f"The traced array {tracer.aval.str_short()} was converted to a numpy array "
            "(np.asarray, np.array or a numpy function applied to it). Inside a transformed "
            "function its value is not known; use functrans.numpy (import functrans.numpy as "
            "fnp) instead of numpy for operations on traced values.")


class UnexpectedTracerError(FunctransTypeError):
    def __init__(self, tracer, detail: str = ""):
        msg = (f"A traced value ({tracer.aval.str_short()}) escaped the transformation that "
               "created it and was used afterwards. This happens when a function stores an "
               "intermediate value in a global, a closure or an object attribute while it is "
               "transformed. Return the value from the function instead.")
        super().__init__(msg + (f" ({detail})" if detail else ""))


class MissingRuleError(NotImplementedError):
    def __init__(self, prim_name: str, rule: str):
        what = {"impl": "evaluated eagerly", "abstract_eval": "traced",
                "jvp": "differentiated (jvp)", "transpose": "transposed (reverse mode)",
                "batch": "batched (vmap)", "lower": "lowered to StableHLO (jit)"}.get(rule, rule)
        super().__init__(f"primitive '{prim_name}' cannot be {what} yet: it has no "
                         f"'{rule}' rule")
        self.primitive = prim_name
        self.rule = rule


class ImmutableArrayError(TypeError):
    def __init__(self, cls_name="Array"):
        super().__init__(
            f"functrans {cls_name}s are immutable and do not support item assignment. "
            "Use the functional update x = x.at[idx].set(y) (or .add, .multiply, .min, .max) "
            "instead of x[idx] = y.")


def _is_internal(frame) -> bool:
    return frame.f_code.co_filename.startswith(_PACKAGE_DIR)


def filter_traceback(tb):
    """The traceback ``tb`` without frames from functrans's own files."""
    frames = []
    while tb is not None:
        if not _is_internal(tb.tb_frame):
            frames.append((tb.tb_frame, tb.tb_lasti, tb.tb_lineno))
        tb = tb.tb_next
    out = None
    for frame, lasti, lineno in reversed(frames):
        out = types.TracebackType(out, frame, lasti, lineno)
    return out


def api_boundary(fun):
    """Wraps a public function so escaping exceptions lose functrans-internal frames."""
    if not _FILTER:
        return fun

    @functools.wraps(fun)
    def boundary(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841  (read by pytest and IPython)
        try:
            return fun(*args, **kwargs)
        except Exception as e:
            # Re-raising adds this frame back; everything internal below it goes.
            raise e.with_traceback(filter_traceback(e.__traceback__))

    return boundary
