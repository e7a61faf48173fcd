"""functrans.numpy.linalg: norms and the array-API products.

Decompositions (svd, qr, cholesky, eigh, solve, inv, det) need primitives of
their own and are not here yet; so the matrix norms built on singular values
(``ord=2``, ``-2``, ``'nuc'``) raise NotImplementedError for now.
"""

from __future__ import annotations

import operator

from .. import dtypes
from ..primitives.shape import reshape, squeeze
from . import _reductions as red
from . import _ufuncs as uf
from ._linalg import cross, matmul, matrix_transpose, outer, tensordot, vecdot  # noqa: F401
from ._util import asarray, normalize_axis, promote_dtypes_inexact

__all__ = ["norm", "vector_norm", "matrix_norm", "matmul", "outer", "vecdot", "tensordot",
           "cross", "matrix_transpose"]

_INF = float("inf")


def _abs_inexact(x):
    """|x| as a real float array (the default float for integers)."""
    (x,) = promote_dtypes_inexact(asarray(x))
    return uf.abs(x)


def _abs_squared(x):
    """|x|**2 as a real float array, without a square root for complex x."""
    (x,) = promote_dtypes_inexact(asarray(x))
    if dtypes.is_complex(x.dtype):
        return uf.real(uf.multiply(x, uf.conjugate(x)))
    return uf.multiply(x, x)


def _vector_norm(x, ord, axis, keepdims):
    """The vector ``ord``-norm of ``x`` over ``axis`` (an int or a tuple of ints)."""
    if ord is None or ord == 2:
        return uf.sqrt(red.sum(_abs_squared(x), axis, keepdims=keepdims))
    a = _abs_inexact(x)
    if ord == _INF:
        return red.max(a, axis, keepdims=keepdims)
    if ord == -_INF:
        return red.min(a, axis, keepdims=keepdims)
    if ord == 0:
        return red.sum(uf.not_equal(a, 0), axis, dtype=a.dtype, keepdims=keepdims)
    if ord == 1:
        return red.sum(a, axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    ord = float(ord)
    return uf.power(red.sum(uf.power(a, ord), axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    """The matrix ``ord``-norm of ``x`` over the pair of ``axes`` (rows, columns)."""
    row, col = axes
    if ord is None or ord == "fro" or ord == "f":
        return uf.sqrt(red.sum(_abs_squared(x), axes, keepdims=keepdims))
    if ord in (2, -2, "nuc"):
        raise NotImplementedError(
            f"norm: the matrix norm ord={ord!r} needs the singular values, and functrans has "
            "no SVD primitive yet; use ord='fro', 1, -1, inf or -inf, or compute the norm "
            "with numpy on concrete values")
    if ord in (1, -1):
        # The max (min) over columns of the column sums of |x|.
        reduce_cols, sum_axis = (red.max if ord == 1 else red.min), row
    elif ord in (_INF, -_INF):
        reduce_cols, sum_axis = (red.max if ord == _INF else red.min), col
    else:
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices")
    other = col if sum_axis == row else row
    sums = red.sum(_abs_inexact(x), sum_axis, keepdims=True)
    out = reduce_cols(sums, other, keepdims=True)
    return out if keepdims else squeeze(out, (row, col))


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, like numpy.linalg.norm.

    Args:
      x: array-like.
      ord: for vectors None/2, 1, inf, -inf, 0 (count of nonzeros) or any
        float p; for matrices None/'fro', 1, -1, inf, -inf (2, -2 and 'nuc'
        need an SVD and raise NotImplementedError for now).
      axis: None (the 2-norm of the flattened array when ord is None, else a
        vector norm for 1-d and a matrix norm for 2-d input), an int (vector
        norms) or a pair of ints (matrix norms).
      keepdims: keep the reduced axes with size 1.

    Returns:
      A real array (the default float for integer input).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.linalg.norm(fnp.asarray([3.0, 4.0])).item()
        5.0
        >>> fnp.linalg.norm(fnp.asarray([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
        6.0
    """
    x = asarray(x)
    if axis is None:
        if ord is None:
            res = _vector_norm(x, None, None, False)
            return _keep_all(res, x.ndim) if keepdims else res
        if x.ndim == 1:
            return _vector_norm(x, ord, 0, keepdims)
        if x.ndim == 2:
            return _matrix_norm(x, ord, (0, 1), keepdims)
        raise ValueError(f"norm: ord={ord!r} needs a 1-d or 2-d array when axis is None, got "
                         f"shape {tuple(x.shape)}; pass axis=")
    if isinstance(axis, (tuple, list)):
        if len(axis) == 1:
            axis = axis[0]
        elif len(axis) == 2:
            axes = tuple(normalize_axis("norm", operator.index(a), x.ndim) for a in axis)
            if axes[0] == axes[1]:
                raise ValueError(f"norm: duplicate axes {tuple(axis)}")
            return _matrix_norm(x, ord, axes, keepdims)
        else:
            raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis!r}")
    axis = normalize_axis("norm", operator.index(axis), x.ndim)
    return _vector_norm(x, ord, axis, keepdims)


def _keep_all(res, ndim):
    return reshape(res, (1,) * ndim)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm over ``axis`` (None: all elements, whatever the rank).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.linalg.vector_norm(fnp.ones((2, 2)), ord=1).item()
        4.0
    """
    x = asarray(x)
    res = _vector_norm(x, ord, axis, keepdims and axis is not None)
    return _keep_all(res, x.ndim) if keepdims and axis is None else res


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm over the last two axes (a batch of matrices).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.linalg.matrix_norm(fnp.ones((5, 2, 2)), ord=float("inf")).shape
        (5,)
    """
    x = asarray(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_norm: the operand must have at least 2 dimensions, got shape "
                         f"{tuple(x.shape)}")
    return _matrix_norm(x, ord, (x.ndim - 2, x.ndim - 1), keepdims)

