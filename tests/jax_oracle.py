"""Comparing a functrans result with jax's (the oracle): one helper for the test files that
check values, dtypes and weak types leaf by leaf."""

import jax
import numpy as np

import functrans as ft


def weak(x) -> bool:
    return bool(getattr(x, "weak_type", False))


def assert_same_as_jax(j_out, f_out, *, rtol=None, python_bools=False):
    """Same tree, and per leaf the same dtype, weak type and values (exactly, or to ``rtol``).

    With ``python_bools``, a Python/numpy bool from jax must be an equal bool from
    functrans, and every other functrans leaf must be an ``ft.Array``.
    """
    j_leaves, j_tree = jax.tree_util.tree_flatten(j_out)
    f_leaves, f_tree = ft.tree_flatten(f_out)
    assert len(j_leaves) == len(f_leaves), (j_tree, f_tree)
    for j, f in zip(j_leaves, f_leaves):
        if python_bools:
            if isinstance(j, (bool, np.bool_)):
                assert f is j or f == j, (f, j)
                continue
            assert type(f) is ft.Array, f"functrans gave {type(f).__name__}, jax an Array"
        j_np, f_np = np.asarray(j), np.asarray(f)
        assert f_np.dtype == j_np.dtype, (f_np.dtype, j_np.dtype)
        assert weak(f) == weak(j), f"weak type: functrans {weak(f)}, jax {weak(j)}"
        if rtol is None:
            np.testing.assert_array_equal(f_np, j_np)
        else:
            np.testing.assert_allclose(f_np, j_np, rtol=rtol)
