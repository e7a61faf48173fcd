"""pmap: one replica per device with XLA's cross-replica collectives. Several CPU
devices exist only when XLA_FLAGS asks for them before jax starts, so the multi-device
checks run in a fresh Python process against jax.pmap as the oracle; this process (one
device) checks pmap over one device, its errors and the lowering."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import lax

jax = pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = textwrap.dedent(r'''
    import json, os, sys
    import numpy as np
    import jax, jax.numpy as jnp
    import functrans as ft, functrans.numpy as fnp
    from functrans import lax
    assert len(ft.devices()) == 4, ft.devices()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3)).astype(np.float32)
    Z = rng.standard_normal((3, 4, 2)).astype(np.float32)    # mapped along axis 1

    CASES = {
        "psum": (lambda T, n, L: T.pmap(lambda a: a / L.psum(a, "d"), "d"), (X,)),
        "pmean": (lambda T, n, L: T.pmap(lambda a: a - L.pmean(a, "d"), "d"), (X,)),
        "pmax-pmin": (lambda T, n, L: T.pmap(lambda a: L.pmax(a, "d") * a - L.pmin(a, "d"),
                                             "d"), (X,)),
        "all_gather": (lambda T, n, L: T.pmap(lambda a: L.all_gather(a, "d"), "d"), (X,)),
        "all_gather-axis1": (lambda T, n, L: T.pmap(lambda a: L.all_gather(a, "d", axis=1),
                                                    "d"), (X,)),
        "all_gather-tiled": (lambda T, n, L: T.pmap(
            lambda a: L.all_gather(a, "d", tiled=True), "d"), (X,)),
        "axis_index": (lambda T, n, L: T.pmap(lambda a: a * L.axis_index("d"), "d"), (X,)),
        "ppermute-ring": (lambda T, n, L: T.pmap(
            lambda a: L.ppermute(a, "d", [(k, (k + 1) % 4) for k in range(4)]), "d"), (X,)),
        "ppermute-partial": (lambda T, n, L: T.pmap(
            lambda a: L.ppermute(a, "d", [(0, 2), (3, 1)]), "d"), (X,)),
        "psum_scatter": (lambda T, n, L: T.pmap(
            lambda a: L.psum_scatter(n.tile(a, (4, 1)), "d"), "d"), (X,)),
        "psum_scatter-tiled": (lambda T, n, L: T.pmap(
            lambda a: L.psum_scatter(n.tile(a, 4), "d", tiled=True), "d"), (X,)),
        "grad-ppermute-psum_scatter": (lambda T, n, L: T.pmap(T.grad(lambda a: n.sum(
            n.sin(L.psum_scatter(n.tile(a, 4), "d", tiled=True)))
            + n.sum(L.ppermute(a, "d", [(k, (k + 1) % 4) for k in range(4)]) ** 2)), "d"),
            (X,)),
        "psum-int": (lambda T, n, L: T.pmap(lambda a: L.psum(1, "d") + 0 * a.astype(int),
                                            "d"), (X,)),
        "psum-tree": (lambda T, n, L: T.pmap(lambda a: L.psum({"u": a, "v": (2 * a,)}, "d"),
                                             "d"), (X,)),
        "grad": (lambda T, n, L: T.pmap(T.grad(
            lambda a: n.sum(n.sin(a) * L.psum(a ** 2, "d"))), "d"), (X,)),
        "grad-all_gather": (lambda T, n, L: T.pmap(T.grad(
            lambda a: n.sum(n.cos(L.all_gather(a, "d")) * n.arange(3.0))), "d"), (X,)),
        "jit-inside": (lambda T, n, L: T.pmap(T.jit(lambda a: a / L.psum(a, "d")), "d"), (X,)),
        "vmap-inside": (lambda T, n, L: T.pmap(T.vmap(lambda r: r - L.pmean(r, "d")), "d"),
                        (Z.transpose(1, 0, 2),)),
        # (a predicate that is the same on every device: a collective inside a branch
        # only some devices take would wait for the others forever, in XLA as in JAX)
        "cond-inside": (lambda T, n, L: T.pmap(lambda a: L.cond(
            L.psum(a[0], "d") > 0, lambda b: L.psum(b, "d"), lambda b: 2.0 * b, a), "d"),
            (X,)),
        "fori-inside": (lambda T, n, L: T.pmap(lambda a: L.fori_loop(
            0, 3, lambda k, c: c + L.pmean(c, "d"), a), "d"), (X,)),
        "in_axes": (lambda T, n, L: T.pmap(lambda z, w: L.psum(z * w, "d"), "d",
                                           in_axes=(1, None)), (Z, X[0, :2])),
        "out_axes": (lambda T, n, L: T.pmap(lambda a: a * 2.0, "d", out_axes=1), (X,)),
        "out_axes None": (lambda T, n, L: T.pmap(lambda a: (L.psum(a, "d"), a), "d",
                                                 out_axes=(None, 0)), (X,)),
        "no-name": (lambda T, n, L: T.pmap(lambda a: n.tanh(a) @ n.ones((3, 2))), (X,)),
        # the pmap inside other transformations
        "grad(pmap)": (lambda T, n, L: T.grad(lambda xs: n.sum(T.pmap(
            lambda a: n.sin(a) * L.psum(a * a, "d"), "d")(xs))), (X,)),
        "grad(pmap) replicated input": (lambda T, n, L: T.grad(lambda w: n.sum(T.pmap(
            lambda a, v: n.tanh(a * v) * L.pmean(a, "d"), "d", in_axes=(0, None))(
            n.asarray(X), w))), (X[0],)),
        "value_and_grad(pmap) both": (lambda T, n, L: T.value_and_grad(
            lambda xs, w: n.sum(T.pmap(lambda a, v: n.exp(a * v) / L.psum(a, "d"), "d",
                                       in_axes=(0, None))(xs, w)), argnums=(0, 1)),
            (X + 3.0, X[0])),
        "jvp(pmap)": (lambda T, n, L: lambda xs: T.jvp(T.pmap(
            lambda a: n.sin(a) * L.pmean(a, "d"), "d"), (xs,), (n.ones_like(xs),)), (X,)),
        "vmap(pmap)": (lambda T, n, L: T.vmap(T.pmap(lambda a: a / L.psum(a, "d"), "d")),
                       (Z,)),
        "vmap(pmap) in_axes": (lambda T, n, L: T.vmap(T.pmap(
            lambda a, v: a * L.psum(v, "d"), "d", in_axes=(0, None)), in_axes=(None, 0)),
            (X, Z[:, 0, :].repeat(2, axis=1)[:, :3])),
        "multi-output": (lambda T, n, L: T.pmap(
            lambda a: (a.sum(), L.psum(a, "d"), a.astype(n.int32)), "d"), (X * 3,)),
    }
    out = {}
    for name, (make, args) in CASES.items():
        try:
            got = make(ft, fnp, lax)(*[fnp.asarray(a) for a in args])
            want = make(jax, jnp, jax.lax)(*args)
            g, w = ft.tree_leaves(got), jax.tree_util.tree_leaves(want)
            ok = len(g) == len(w) and all(
                np.asarray(a).shape == np.asarray(b).shape and
                np.asarray(a).dtype == np.asarray(b).dtype and
                np.allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-5)
                for a, b in zip(g, w))
            out[name] = "ok" if ok else f"differs: {[np.asarray(a) for a in g]} vs " \
                                         f"{[np.asarray(b) for b in w]}"
        except Exception as e:
            out[name] = f"{type(e).__name__}: {e}"

    # data parallelism: each device takes a shard of the batch and averages gradients
    w = fnp.asarray(rng.standard_normal((3, 2)).astype(np.float32))
    xs = rng.standard_normal((4, 8, 3)).astype(np.float32)
    ys = rng.standard_normal((4, 8, 2)).astype(np.float32)

    def loss(w, x, y):
        return fnp.mean((fnp.tanh(x @ w) - y) ** 2)

    step = ft.pmap(lambda w, x, y: w - 0.1 * lax.pmean(ft.grad(loss)(w, x, y), "dev"),
                   "dev", in_axes=(None, 0, 0))
    new = np.asarray(step(w, fnp.asarray(xs), fnp.asarray(ys)))
    full = np.asarray(w - 0.1 * ft.grad(loss)(w, fnp.asarray(xs.reshape(32, 3)),
                                               fnp.asarray(ys.reshape(32, 2))))
    out["data-parallel step"] = "ok" if all(
        np.allclose(new[k], full, rtol=1e-5, atol=1e-6) for k in range(4)) else "differs"
    # the second call hits the cache and agrees
    again = np.asarray(step(w, fnp.asarray(xs), fnp.asarray(ys)))
    out["cached call"] = "ok" if np.array_equal(again, new) else "differs"
    # fewer devices than available: the first two
    two = ft.pmap(lambda a: lax.psum(a, "d"), "d")(fnp.asarray(X[:2]))
    out["two of four"] = "ok" if np.allclose(np.asarray(two), X[:2].sum(0)) else "differs"
    try:
        ft.pmap(lambda a: a, "d")(fnp.ones((5, 2)))
        out["too many"] = "no error"
    except ValueError as e:
        out["too many"] = "ok" if "only 4 device(s)" in str(e) else str(e)
    print("RESULTS " + json.dumps(out))
''')


def test_pmap_over_four_cpu_devices_matches_jax_pmap():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600, cwd=str(ROOT))
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-4000:]
    results = json.loads(line[len("RESULTS "):])
    bad = {k: v for k, v in results.items() if v != "ok"}
    assert not bad, bad
    assert len(results) >= 35


def test_pmap_over_one_device_matches_vmap():
    x = fnp.asarray(np.arange(3, dtype=np.float32).reshape(1, 3) + 1)
    f = ft.grad(lambda a: fnp.sum(fnp.sin(a) * lax.psum(a ** 2, "d") + lax.axis_index("d")))
    np.testing.assert_allclose(np.asarray(ft.pmap(f, "d")(x)),
                               np.asarray(ft.vmap(f, axis_name="d")(x)), rtol=1e-6)
    # and transformed from outside: grad, vmap and hessian of the pmap
    g = lambda a: fnp.sin(a) * lax.psum(a * a, "d")  # noqa: E731
    loss_p = lambda xs: fnp.sum(ft.pmap(g, "d")(xs))  # noqa: E731
    loss_v = lambda xs: fnp.sum(ft.vmap(g, axis_name="d")(xs))  # noqa: E731
    np.testing.assert_allclose(np.asarray(ft.grad(loss_p)(x)), np.asarray(ft.grad(loss_v)(x)),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ft.hessian(loss_p)(x)),
                               np.asarray(ft.hessian(loss_v)(x)), rtol=1e-4, atol=1e-5)
    xs = fnp.stack([x, 2.0 * x])
    np.testing.assert_allclose(np.asarray(ft.vmap(ft.pmap(g, "d"))(xs)),
                               np.asarray(ft.vmap(ft.vmap(g, axis_name="d"))(xs)), rtol=1e-6)
    # collectives over an enclosing named vmap inside the pmapped function, also when no
    # operand of the pmap is batched by that vmap
    h = lambda a: a / lax.psum(a, "v") + lax.psum(1.0, "v")  # noqa: E731
    np.testing.assert_allclose(
        np.asarray(ft.vmap(ft.pmap(h, "d"), axis_name="v")(xs)),
        np.asarray(ft.vmap(ft.vmap(h, axis_name="d"), axis_name="v")(xs)), rtol=1e-6)
    k = ft.vmap(lambda b: ft.pmap(lambda a: lax.psum(a, "v"), "d")(fnp.ones((1, 2))) + b,
                axis_name="v")
    np.testing.assert_allclose(np.asarray(k(xs[:, :, :2])), 2.0 + np.asarray(xs[:, :, :2]))


def test_pmap_lowers_collectives_to_cross_replica_ops():
    from functrans.interpreters import lowering
    from functrans.interpreters.tracing import trace_to_ir
    from functrans.primitives.collectives import all_gather, axis_index, psum
    ir = trace_to_ir(lambda a: [psum(a, "d") + all_gather(a, "d")[0] + axis_index("d")],
                     [ft.ShapedArray((3,), np.float32)], axis_name="d", axis_size=4)
    text = lowering.lower_ir(ir, "f", platform="cpu", replica_axes={"d": 4}).text
    assert "mhlo.num_replicas = 4" in text
    for op in ("stablehlo.all_reduce", "stablehlo.all_gather", "stablehlo.replica_id"):
        assert op in text
    assert "dense<[[0, 1, 2, 3]]>" in text
    with pytest.raises(NameError, match="psum: unbound axis name 'd'"):
        lowering.lower_ir(ir, "f", platform="cpu")


def test_pmap_errors():
    n = len(ft.devices())
    x = fnp.ones((n + 1, 2))
    with pytest.raises(ValueError, match=rf"size {n + 1} but only {n} device"):
        ft.pmap(lambda a: a, "d")(x)
    with pytest.raises(ValueError, match="inconsistent sizes"):
        ft.pmap(lambda a, b: a + b)(fnp.ones((1, 2)), fnp.ones((2, 2)))
    with pytest.raises(ValueError, match="no argument is mapped"):
        ft.pmap(lambda a: a, in_axes=None)(fnp.ones(2))
    with pytest.raises(NotImplementedError, match=r"pmap\(<lambda>\) inside jit"):
        ft.jit(lambda a: ft.pmap(lambda b: b * 2.0)(a))(fnp.ones((1, 2)))
    with pytest.raises(NameError, match="unbound axis name 'e'"):
        ft.pmap(lambda a: lax.psum(a, "e"), "d")(fnp.ones((1, 2)))
    with pytest.raises(TypeError, match="keyword arguments"):
        ft.pmap(lambda a, b=1: a)(fnp.ones((1, 2)), b=2)
