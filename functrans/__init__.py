"""functrans: composable function transformations of numerical Python.

    import functrans as ft
    import functrans.numpy as fnp

Write pure functions over immutable arrays with ``functrans.numpy``;
``ft.make_ir`` shows the IR they trace to; ``ft.grad``, ``ft.vjp``, ``ft.jvp``
& co differentiate them, ``ft.vmap`` batches them and ``ft.jit`` compiles them
with XLA. ``ft.lax`` has control flow, ``ft.random`` keys, ``ft.nn`` layers,
``ft.optim`` optimizers, ``ft.io`` checkpoints and ``ft.data`` datasets.
"""

import warnings as _warnings

# Eager mode and constant folding compute with numpy, which warns about
# floating-point errors (log(0), 0/0, overflow) that JAX computes silently.
# numpy attributes such a warning to the Python frame that called the ufunc,
# a functrans module, so one filter matching those modules and numpy's
# messages silences them at no cost per operation, while the user's own numpy
# code and functrans's own RuntimeWarnings (e.g. io's "skipping a corrupt
# checkpoint") still warn. Two limits: a filter the user adds later comes
# first, so ``warnings.simplefilter("error")`` (or ``-W error``) makes these
# numpy warnings exceptions again; and a first import of functrans inside a
# ``warnings.catch_warnings()`` block (pytest collects tests in one) loses the
# filter when the block ends: pyproject.toml repeats it for our tests.
_warnings.filterwarnings(
    "ignore", r"(divide by zero|invalid value|overflow|underflow) encountered in",
    RuntimeWarning, r"functrans(\.|$)")

from .config import config  # noqa: E402
from . import core  # before array: array.py refers to core at import time
from . import dtypes
from .array import Array
from .core import ShapedArray, Primitive, bind
from . import numpy  # noqa: F401  (attaches Array's operators)
from . import lax, tree_util, tree, flatten_util, test_util, random  # noqa: F401
from .api import (make_ir, jvp, linearize, vjp, grad, value_and_grad, jacfwd, jacrev,
                  hessian, vmap)
from .primitives.elementwise import stop_gradient
from .custom import custom_jvp, custom_vjp
from .jit import jit, devices, device_put
from .pmap import pmap
from .explain import explain
from . import nn, optim, io, data  # noqa: F401,E402  (layers, optimizers, checkpoints, data)
from .tree_util import (tree_flatten, tree_unflatten, tree_map, tree_leaves,  # noqa: F401
                        tree_structure)

__version__ = "0.1.0"

__all__ = ["config", "core", "dtypes", "Array", "ShapedArray", "Primitive", "bind", "numpy",
           "lax", "random", "nn", "optim", "io", "data", "tree_util", "tree", "flatten_util",
           "test_util", "make_ir", "stop_gradient", "jvp", "linearize", "vjp", "grad",
           "value_and_grad", "jacfwd", "jacrev", "hessian", "vmap", "custom_jvp", "custom_vjp",
           "jit", "pmap", "explain", "devices", "device_put", "tree_flatten", "tree_unflatten", "tree_map",
           "tree_leaves", "tree_structure"]
