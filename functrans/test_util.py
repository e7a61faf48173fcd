"""Numerical checks of derivatives: ``check_grads`` against central differences.

Example:
    >>> import functrans.numpy as fnp
    >>> from functrans.test_util import check_grads
    >>> check_grads(fnp.sin, (fnp.asarray([0.5, 1.0]),), order=2)
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .api import jvp, vjp
from .tree_util import tree_leaves, tree_map

_EPS = {np.dtype(np.float16): 1e-1, dtypes.bfloat16: 1e-1, np.dtype(np.float32): 1e-2,
        np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 1e-2, np.dtype(np.complex128): 1e-5}
_TOL = {np.dtype(np.float16): 1e-1, dtypes.bfloat16: 1e-1, np.dtype(np.float32): 2e-2,
        np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 2e-2, np.dtype(np.complex128): 1e-5}


def _worst(tree, table, default):
    vals = [table.get(np.dtype(np.asarray(x).dtype), default) for x in tree_leaves(tree)]
    return max(vals) if vals else default


def _random_like(tree, rng):
    from . import numpy as fnp

    def one(x):
        x = np.asarray(x)
        v = rng.standard_normal(x.shape)
        if np.iscomplexobj(x):
            v = v + 1j * rng.standard_normal(x.shape)
        return fnp.asarray(v.astype(x.dtype))
    return tree_map(one, tree)


def _add_scaled(args, tangents, eps):
    from . import numpy as fnp
    return tree_map(lambda x, t: fnp.asarray(x) + eps * fnp.asarray(t), args, tangents)


def _numerical_jvp(f, args, tangents, eps):
    plus = f(*_add_scaled(args, tangents, eps))
    minus = f(*_add_scaled(args, tangents, -eps))
    return tree_map(lambda a, b: (np.asarray(a, np.complex128 if np.iscomplexobj(a) else np.float64)
                                  - np.asarray(b)) / (2 * eps), plus, minus)


def _inner(xs, ys) -> float:
    total = 0.0
    for x, y in zip(tree_leaves(xs), tree_leaves(ys)):
        total += np.real(np.sum(np.asarray(x, np.complex128) * np.asarray(y, np.complex128)))
    return float(total)


def _assert_close(what, got, want, atol, rtol):
    got_leaves, want_leaves = tree_leaves(got), tree_leaves(want)
    if len(got_leaves) != len(want_leaves):
        raise AssertionError(f"{what}: {len(got_leaves)} outputs, expected {len(want_leaves)}")
    for i, (g, w) in enumerate(zip(got_leaves, want_leaves)):
        g = np.asarray(g, np.complex128 if np.iscomplexobj(g) else np.float64)
        w = np.asarray(w)
        np.testing.assert_allclose(g, w, atol=atol, rtol=rtol,
                                   err_msg=f"{what}: output {i} differs from central differences")


def check_jvp(f, args, atol=None, rtol=None, eps=None, rng=None):
    """jvp(f) in a random direction against central differences."""
    rng = rng or np.random.default_rng(0)
    eps = eps or _worst(args, _EPS, 1e-4)
    tol = _worst(args, _TOL, 1e-5)
    atol, rtol = atol or tol, rtol or tol
    tangents = _random_like(args, rng)
    _, t_out = jvp(f, tuple(args), tuple(tangents))
    _assert_close("jvp", t_out, _numerical_jvp(f, args, tangents, eps), atol, rtol)


def check_vjp(f, args, atol=None, rtol=None, eps=None, rng=None):
    """<vjp(ct), v> against <ct, (central-difference jvp)(v)> for random v and ct."""
    rng = rng or np.random.default_rng(1)
    eps = eps or _worst(args, _EPS, 1e-4)
    tol = _worst(args, _TOL, 1e-5)
    atol, rtol = atol or tol, rtol or tol
    out, f_vjp = vjp(f, *args)
    ct = _random_like(out, rng)
    cts_in = f_vjp(ct)
    tangents = _random_like(args, rng)
    t_out = _numerical_jvp(f, args, tangents, eps)
    ip_rev = _inner(tangents, cts_in)
    ip_fwd = _inner(t_out, ct)
    np.testing.assert_allclose(ip_rev, ip_fwd, atol=atol * max(1.0, abs(ip_fwd)), rtol=rtol,
                               err_msg="vjp: <v, vjp(ct)> differs from <jvp(v), ct>")


def check_grads(f, args, order, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Checks derivatives of ``f`` at ``args`` up to ``order``, numerically.

    Forward mode: ``jvp`` in random directions against central differences.
    Reverse mode: ``vjp`` against the same differences through the identity
    ``<v, vjp(ct)> == <jvp(v), ct>``. Order k checks the derivatives of the
    order k-1 derivative functions (jvp in a fixed direction, vjp of a fixed
    cotangent).

    Args:
      f: a function of arrays (or pytrees of arrays).
      args: a tuple of arguments.
      order: the highest order of derivative to check (1, 2, ...).
      modes: "fwd", "rev" or both.
      atol, rtol, eps: tolerances and finite-difference step (default by dtype).

    Raises:
      AssertionError: naming the mode and the output that differs.
    """
    args = tuple(args)
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'fwd' and/or 'rev'")
    rng = np.random.default_rng(42)

    def check(f, args, order):
        if "fwd" in modes:
            check_jvp(f, args, atol, rtol, eps, rng)
            if order > 1:
                tangents = _random_like(args, rng)
                check(lambda *a: jvp(f, a, tuple(tangents))[1], args, order - 1)
        if "rev" in modes:
            check_vjp(f, args, atol, rtol, eps, rng)
            if order > 1:
                out = f(*args)
                ct = _random_like(out, rng)
                check(lambda *a: vjp(f, *a)[1](ct), args, order - 1)

    check(f, args, order)


__all__ = ["check_grads", "check_jvp", "check_vjp"]

