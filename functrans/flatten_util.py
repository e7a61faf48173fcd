"""``ravel_pytree``: a pytree of arrays as one flat vector, and the way back."""

from __future__ import annotations

import numpy as np

from . import dtypes
from .tree_util import tree_flatten, tree_unflatten


def ravel_pytree(pytree):
    """Flattens a pytree of arrays into a 1-d array.

    Leaves are raveled and concatenated in ``tree_leaves`` order, promoted to
    their common dtype. The returned ``unravel`` rebuilds the pytree (with
    each leaf's original shape and dtype) from a vector of the same size.

    Returns:
      ``(flat, unravel)``.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans.flatten_util import ravel_pytree
        >>> flat, unravel = ravel_pytree({"a": fnp.ones(2), "b": fnp.zeros((1, 2))})
        >>> flat.tolist()
        [1.0, 1.0, 0.0, 0.0]
        >>> unravel(flat)["b"].shape
        (1, 2)
    """
    from . import numpy as fnp

    leaves, treedef = tree_flatten(pytree)
    leaves = [fnp.asarray(x) for x in leaves]
    shapes = [tuple(x.shape) for x in leaves]
    leaf_dtypes = [x.dtype for x in leaves]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    total = sum(sizes)
    if leaves:
        common = dtypes.promote_types(*[(x.dtype, x.weak_type) for x in leaves])[0]
        flat = fnp.concatenate([fnp.ravel(x).astype(common) for x in leaves])
    else:
        common = dtypes.default_float()
        flat = fnp.zeros(0, common)
    offsets = np.cumsum([0] + sizes)

    def unravel(vector):
        vector = fnp.asarray(vector)
        if tuple(vector.shape) != (total,):
            raise ValueError(f"unravel: expected a vector of shape ({total},) for a pytree of "
                             f"{len(leaves)} leaves, got shape {tuple(vector.shape)}")
        if vector.dtype != common:
            raise TypeError(f"unravel: expected a vector of dtype {common} (the dtype "
                            f"ravel_pytree produced), got {vector.dtype}")
        parts = [fnp.reshape(vector[int(lo):int(hi)], shape).astype(dt)
                 for lo, hi, shape, dt in zip(offsets[:-1], offsets[1:], shapes, leaf_dtypes)]
        return tree_unflatten(treedef, parts)

    return flat, unravel
