"""How functrans.numpy's elementwise functions are built over primitives.

A function made by :func:`binary_ufunc` or :func:`unary_ufunc` first asks its
host rule (``functrans/eager.py``, the eager fast path) for the result; where
the rule declines (tracers, a function being staged out, dtypes that need
conversion semantics) it takes the general path: promote the operands with
JAX's rules, broadcast them with numpy's, and ``bind`` the primitive (or call
``general``, for functions that are a few primitives).
"""

from __future__ import annotations

from .. import eager
from ..array import ArrayOps
from ..errors import filter_traceback
from ._util import asarray, promote_args, promote_args_inexact, weak_scalar


def reraise(e):
    """Raises ``e`` again, without functrans's frames in its traceback."""
    raise e.with_traceback(filter_traceback(e.__traceback__))


_INT_FLOAT = frozenset([int, float])


def _ready_operands(x, y, inexact):
    """``(x, y, is_float)`` with ``(x, y)`` as promote_args would return them,
    for the common cases that need no conversion or broadcasting (None for
    every other case); ``is_float`` says their dtype is a real float.

    Under a transformation (reverse mode applies several primitives per user
    operation) the general promotion path is a large part of the cost: arrays
    or tracers of one dtype with equal shapes (or a rank-0 one), and a
    strongly typed float array with a Python int or float (typed weakly like
    the array, as promotion does), go straight to the primitive.
    """
    if isinstance(x, ArrayOps):
        ax = x.aval
        if isinstance(y, ArrayOps):
            ay = y.aval
            if (ax.dtype != ay.dtype or (ax.weak_type and ay.weak_type)
                    or (inexact and ax.dtype not in eager.INEXACT)):
                return None
            if ax.shape != ay.shape and ax.shape != () and ay.shape != ():
                return None
            return x, y, ax.dtype in eager.FLOATS
        if type(y) in _INT_FLOAT and ax.dtype in eager.FLOATS and not ax.weak_type:
            return x, weak_scalar(y, ax.dtype), True
    elif type(x) in _INT_FLOAT and isinstance(y, ArrayOps):
        ay = y.aval
        if ay.dtype in eager.FLOATS and not ay.weak_type:
            return weak_scalar(x, ay.dtype), y, True
    return None


def binary_ufunc(name, prim, *, fast=None, fast_dtypes=eager.NUMERIC, inexact=False,
                 general=None, doc=""):
    """Builds a numpy-style binary function over a primitive.

    Args:
      name: the functrans.numpy name.
      prim: the primitive bound on the general path (after promotion).
      fast: the primitive's computation on host values for the eager fast path
        (default: its ``impl``; a numpy ufunc where the impl converts its
        operands and the ufunc is that impl for ``fast_dtypes``).
      fast_dtypes: promoted dtypes for which ``fast`` is exact (empty: no
        fast path).
      inexact: integer inputs are promoted to the default float first.
      general: ``general(x, y)`` for the general path, given promoted and
        broadcast operands (default: bind ``prim``).
    """
    # A `general` that only special-cases bool operands (bool_or, no_bool) is
    # skipped for operands that _ready_operands found to be floats.
    float_bind = general is None or getattr(general, "bool_only", False)
    host = eager.binary(name, fast if fast is not None else prim.impl, fast_dtypes)

    def general_path(x, y):
        try:
            ready = _ready_operands(x, y, inexact)
            if ready is None:
                x, y = (promote_args_inexact if inexact else promote_args)(name, x, y)
            else:
                x, y, is_float = ready
                if float_bind and is_float:
                    return prim.bind(x, y)
            return general(x, y) if general is not None else prim.bind(x, y)
        except (TypeError, ValueError) as e:
            reraise(e)

    if not fast_dtypes:  # (no fast path)
        def fn(x, y, /):
            return general_path(x, y)
    else:
        def fn(x, y, /):
            try:
                out = host(x, y)
            except ValueError as e:  # shapes that do not broadcast: the error ends here
                raise e.with_traceback(filter_traceback(e.__traceback__)) from None
            return general_path(x, y) if out is None else out

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"Elementwise {name}, like numpy.{name}, with JAX's dtype promotion."
    return fn


def unary_ufunc(name, prim, *, fast=None, fast_dtypes=eager.INEXACT, inexact=False,
                general=None, doc=""):
    """Builds a numpy-style unary function over a primitive (see binary_ufunc)."""
    host = eager.unary(fast if fast is not None else prim.impl, fast_dtypes)

    def general_path(x):
        try:
            if isinstance(x, ArrayOps) and x.aval.dtype in eager.INEXACT:
                pass  # already an operand of an inexact dtype: nothing to promote
            elif inexact:
                (x,) = promote_args_inexact(name, x)
            else:
                x = asarray(x)
            return general(x) if general is not None else prim.bind(x)
        except (TypeError, ValueError) as e:
            reraise(e)

    def fn(x, /):
        out = host(x)
        return general_path(x) if out is None else out

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"Elementwise {name}, like numpy.{name}."
    return fn
