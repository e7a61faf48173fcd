"""ravel_pytree against a hand-made numpy reference."""

import numpy as np
import pytest

import functrans.numpy as fnp
from functrans.flatten_util import ravel_pytree


def test_ravel_and_unravel_round_trip():
    tree = {"b": (fnp.arange(3, dtype=fnp.int32), None), "a": fnp.ones((2, 2)) * 3.0}
    flat, unravel = ravel_pytree(tree)
    # dict keys are sorted: "a" first, then "b"
    expect = np.concatenate([np.full(4, 3.0), np.arange(3.0)]).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(flat), expect)
    back = unravel(flat)
    assert back["a"].shape == (2, 2) and back["a"].dtype == np.float32
    assert back["b"][0].dtype == np.int32 and back["b"][1] is None
    np.testing.assert_array_equal(np.asarray(back["b"][0]), np.arange(3))
    np.testing.assert_array_equal(np.asarray(unravel(flat * 2.0)["a"]), np.full((2, 2), 6.0))


def test_empty_tree_and_errors():
    flat, unravel = ravel_pytree({})
    assert flat.shape == (0,) and unravel(flat) == {}
    flat, unravel = ravel_pytree([fnp.ones(2)])
    with pytest.raises(ValueError, match=r"expected a vector of shape \(2,\)"):
        unravel(fnp.ones(3))
