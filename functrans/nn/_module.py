"""``Module``: a layer is a frozen dataclass that is a pytree of its parameters.

    class Affine(nn.Module):
        weight: Any
        bias: Any
        scale: float = nn.static_field(default=1.0)   # a hyper-parameter: not a leaf

        def __call__(self, x):
            return self.scale * (x @ self.weight + self.bias)

Every subclass of :class:`Module` becomes a dataclass automatically. Its
fields are the pytree's children (parameters, sub-modules, lists of them),
except the fields marked with :func:`static_field`, which are hyper-parameters
kept in the tree structure (they must be hashable). Instances are immutable
after ``__init__``; ``grad(loss)(model, x, y)`` returns a model-shaped pytree of
gradients, and ``tree_map`` over a model maps its parameters.

A subclass may write its own ``__init__`` (assigning fields with
``self.name = value``, as in Equinox) — typically taking a keyword-only PRNG
``key`` to initialise its parameters.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Sequence

import numpy as np

from .. import numpy as fnp
from .. import random
from ..dtypes import short_name
from ..primitives.control_flow import switch
from ..tree_util import tree_flatten, tree_leaves, tree_map, tree_unflatten


def static_field(**kwargs):
    """A dataclass field that is part of the tree structure, not a leaf (a hyper-parameter)."""
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata["static"] = True
    return dataclasses.field(metadata=metadata, **kwargs)


class Module:
    """The base class of layers: a frozen dataclass that is a pytree (see the module docstring)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own_init = "__init__" in cls.__dict__
        dataclasses.dataclass(init=not own_init, repr=False, eq=False)(cls)
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self, *args, **kw):
            depth = self.__dict__.get("_ft_initializing", 0)
            object.__setattr__(self, "_ft_initializing", depth + 1)
            try:
                init(self, *args, **kw)
            finally:
                if depth:
                    object.__setattr__(self, "_ft_initializing", depth)
                else:
                    del self.__dict__["_ft_initializing"]
            if not depth:
                missing = [f.name for f in dataclasses.fields(self)
                           if f.name not in self.__dict__]
                if missing:
                    raise TypeError(f"{type(self).__name__}.__init__ did not set the field(s) "
                                    f"{', '.join(missing)}")
                check = getattr(self, "__check_init__", None)
                if check is not None:
                    check()

        cls.__init__ = __init__

    def __setattr__(self, name, value):
        if self.__dict__.get("_ft_initializing"):
            object.__setattr__(self, name, value)
            return
        raise dataclasses.FrozenInstanceError(
            f"cannot assign to field {name!r}: {type(self).__name__} is immutable. Build a new "
            "one, e.g. with module.replace(name=value) or functrans.tree_util.tree_map")

    def replace(self, **changes):
        """A copy with some fields changed (``dataclasses.replace`` would call ``__init__``,
        whose arguments are not the fields)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise TypeError(f"{type(self).__name__}.replace: no field(s) {sorted(unknown)}")
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def __delattr__(self, name):
        raise dataclasses.FrozenInstanceError(f"cannot delete {name!r}: modules are immutable")

    def __repr__(self):
        return _repr(self, 0)


# --- repr with parameter counts ----------------------------------------------------------------


def _is_array(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, type)


def count_params(tree) -> int:
    """The number of array elements among the leaves of ``tree`` (e.g. a model)."""
    return int(sum(int(np.prod(x.shape)) for x in tree_leaves(tree) if _is_array(x)))


def _short(x) -> str:
    if _is_array(x):
        return f"{short_name(np.dtype(x.dtype))}[{','.join(map(str, x.shape))}]"
    if isinstance(x, Module):
        return None
    if callable(x):
        return getattr(x, "__name__", type(x).__name__)
    return repr(x)


def _repr(m: Module, indent: int) -> str:
    pad = "  " * (indent + 1)
    lines = []
    for f in dataclasses.fields(m):
        v = m.__dict__.get(f.name)
        if isinstance(v, Module):
            lines.append(f"{pad}{f.name}={_repr(v, indent + 1)},")
        elif isinstance(v, (list, tuple)) and v and all(isinstance(e, Module) for e in v):
            inner = "".join(f"{pad}  {_repr(e, indent + 2)},\n" for e in v)
            lines.append(f"{pad}{f.name}=[\n{inner}{pad}],")
        else:
            lines.append(f"{pad}{f.name}={_short(v)},")
    n = count_params(m)
    head = f"{type(m).__name__}(  # {n:,} parameters" if n else f"{type(m).__name__}("
    if not lines:
        return f"{type(m).__name__}()"
    return head + "\n" + "\n".join(lines) + "\n" + "  " * indent + ")"


# --- combinators -------------------------------------------------------------------------------


class Sequential(Module):
    """Applies layers in order. A layer may be a Module or any function (e.g. an activation).

    Keyword arguments of the call (``key=``, ``train=``) are passed to the layers
    that accept them; a ``key`` is split among the layers that take one.
    """

    layers: tuple

    def __init__(self, layers: Sequence):
        # plain functions become Lambda layers, so every leaf of the tree is an array
        self.layers = tuple(lay if isinstance(lay, Module) else Lambda(lay) for lay in layers)

    def __call__(self, x, *, key=None, **kwargs):
        keyed = [i for i, lay in enumerate(self.layers) if _accepts(lay, "key")]
        keys = {}
        if key is not None and keyed:
            keys = dict(zip(keyed, random.split(key, len(keyed))))
        for i, layer in enumerate(self.layers):
            kw = {k: v for k, v in kwargs.items() if _accepts(layer, k)}
            if i in keys:
                kw["key"] = keys[i]
            x = layer(x, **kw)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(self.layers[i])
        return self.layers[i]

    def __len__(self):
        return len(self.layers)


@functools.lru_cache(maxsize=1024)
def _accepts_cached(fn, name) -> bool:
    import inspect
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _accepts(layer, name) -> bool:
    fn = type(layer).__call__ if isinstance(layer, Module) else layer
    try:
        return _accepts_cached(fn, name)
    except TypeError:  # unhashable callable
        return False


class Parallel(Module):
    """Applies several layers to the same input and combines their outputs.

    ``combine`` (static) receives the list of outputs; the default returns a tuple.
    """

    layers: tuple
    combine: Callable = static_field(default=tuple)

    def __init__(self, layers: Sequence, combine: Callable = tuple):
        self.layers = tuple(lay if isinstance(lay, Module) else Lambda(lay) for lay in layers)
        self.combine = combine

    def __call__(self, x, **kwargs):
        outs = [layer(x, **{k: v for k, v in kwargs.items() if _accepts(layer, k)})
                for layer in self.layers]
        return self.combine(outs)


class Switch(Module):
    """Chooses one branch with ``lax.switch`` on a runtime index (or ``lax.cond`` on a bool).

    The call is ``switch(index, x)``; every branch must return the same shapes and dtypes.
    Under ``jit`` only the chosen branch runs.
    """

    branches: tuple

    def __init__(self, branches: Sequence):
        self.branches = tuple(b if isinstance(b, Module) else Lambda(b) for b in branches)
        if not self.branches:
            raise ValueError("Switch needs at least one branch")

    def __call__(self, index, x):
        idx = fnp.asarray(index)
        if idx.dtype == np.bool_:
            idx = idx.astype(np.int32)
        return switch(idx, [lambda v, b=b: b(v) for b in self.branches], x)


class Lambda(Module):
    """Wraps a parameter-free function as a layer (for use in Sequential)."""

    fn: Callable = static_field()

    def __call__(self, x, **kwargs):
        return self.fn(x)


# --- utilities ---------------------------------------------------------------------------------


def is_array(x) -> bool:
    """True for array leaves (functrans Arrays, numpy arrays, tracers)."""
    return _is_array(x)


def is_inexact_array(x) -> bool:
    """True for floating-point or complex array leaves (the trainable kind)."""
    return _is_array(x) and np.dtype(x.dtype).kind in "fc"


def partition(tree, filter_spec: Callable = is_inexact_array):
    """Splits ``tree`` into ``(selected, rest)``: two trees of its structure with None where
    a leaf belongs to the other (e.g. trainable arrays vs everything else).

    ``combine(selected, rest)`` puts them back together.
    """
    leaves, treedef = tree_flatten(tree)
    keep = [bool(filter_spec(x)) for x in leaves]
    return (tree_unflatten(treedef, [x if k else None for x, k in zip(leaves, keep)]),
            tree_unflatten(treedef, [None if k else x for x, k in zip(leaves, keep)]))


def combine(*trees):
    """The inverse of :func:`partition`: per leaf position, the first non-None value."""
    flats = []
    treedef = None
    for t in trees:
        leaves, td = tree_flatten(t, is_leaf=lambda x: x is None)
        treedef = treedef or td
        flats.append(leaves)
    merged = [next((x for x in xs if x is not None), None) for xs in zip(*flats)]
    return tree_unflatten(treedef, merged)


def cast(tree, dtype, filter_spec: Callable = is_inexact_array):
    """``tree`` with the selected array leaves (by default the floating ones) cast to ``dtype``."""
    return tree_map(lambda x: x.astype(dtype) if filter_spec(x) else x, tree)


__all__ = ["Module", "static_field", "Sequential", "Parallel", "Switch", "Lambda",
           "count_params", "partition", "combine", "cast", "is_array", "is_inexact_array"]
