"""functrans.nn: layers as parameter pytrees (the Equinox design, our code).

    import functrans as ft, functrans.numpy as fnp
    from functrans import nn, random

    model = nn.Sequential([nn.Linear(784, 128, key=k1), nn.relu, nn.Linear(128, 10, key=k2)])
    logits = ft.vmap(model)(x_batch)               # a layer runs on one example
    grads = ft.grad(loss)(model, x, y)             # a model-shaped pytree of gradients

A layer is a :class:`Module`: a frozen dataclass whose fields are its
parameters (pytree leaves) and hyper-parameters (``static_field``). Also here:
activations, initializers, losses, and utilities to split a model into
trainable arrays and the rest (``partition``/``combine``), count parameters and
cast dtypes.
"""

from ._module import *  # noqa: F401,F403
from ._layers import *  # noqa: F401,F403
from .activations import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from . import activations, initializers, losses  # noqa: F401
