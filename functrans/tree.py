"""Short names for the pytree functions of `functrans.tree_util`, like ``jax.tree``.

    >>> from functrans import tree
    >>> tree.map(lambda x: x * 2, {'a': 1, 'b': (2, 3)})
    {'a': 2, 'b': (4, 6)}
"""

from .tree_util import (  # noqa: F401
    tree_all as all,
    tree_flatten as flatten,
    tree_flatten_with_path as flatten_with_path,
    tree_leaves as leaves,
    tree_leaves_with_path as leaves_with_path,
    tree_map as map,
    tree_map_with_path as map_with_path,
    tree_reduce as reduce,
    tree_structure as structure,
    tree_transpose as transpose,
    tree_unflatten as unflatten,
)

__all__ = ["flatten", "unflatten", "map", "leaves", "structure", "all", "reduce", "transpose",
           "flatten_with_path", "leaves_with_path", "map_with_path"]
