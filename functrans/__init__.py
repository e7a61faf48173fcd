"""functrans: composable function transformations of numerical Python.

    import functrans as ft
    import functrans.numpy as fnp

Write pure functions over immutable arrays with ``functrans.numpy``;
``ft.make_ir`` shows the IR they trace to; ``ft.grad``, ``ft.vjp``, ``ft.jvp``
& co differentiate them, ``ft.vmap`` batches them and ``ft.jit`` compiles them
with XLA. ``ft.lax`` has control flow, ``ft.random`` keys, ``ft.nn`` layers,
``ft.optim`` optimizers, ``ft.io`` checkpoints and ``ft.data`` datasets.
"""

from .config import config
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
from . import nn, optim, io, data  # noqa: F401,E402  (layers, optimizers, checkpoints, data)
from .tree_util import (tree_flatten, tree_unflatten, tree_map, tree_leaves,  # noqa: F401
                        tree_structure)

__version__ = "0.1.0"

__all__ = ["config", "core", "dtypes", "Array", "ShapedArray", "Primitive", "bind", "numpy",
           "lax", "random", "nn", "optim", "io", "data", "tree_util", "tree", "flatten_util",
           "test_util", "make_ir", "stop_gradient", "jvp", "linearize", "vjp", "grad",
           "value_and_grad", "jacfwd", "jacrev", "hessian", "vmap", "custom_jvp", "custom_vjp",
           "jit", "pmap", "devices", "device_put", "tree_flatten", "tree_unflatten", "tree_map",
           "tree_leaves", "tree_structure"]
