"""``python -m functrans.demo``: a short tour of what functrans does today.

Eager arrays with numpy's API and JAX's dtype rules, immutability and
functional updates, pytrees, tracing a function to the IR, and reverse-mode
differentiation (linearize, then transpose). (The jit-compiled training demo
replaces this once jit lands.)
"""

from __future__ import annotations

import time

import numpy as np

import functrans as ft
import functrans.numpy as fnp


def predict(params, x):
    """A two-layer perceptron, written once for numpy-like code."""
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    return fnp.sum(h * params["w2"], axis=-1)


def main() -> None:
    print("functrans demo\n==============\n")

    print("1. Eager arrays (computed immediately on the host):")
    x = fnp.linspace(0.0, 1.0, 5)
    print("   x              =", repr(x))
    print("   sin(x) * 2 + 1 =", repr(fnp.sin(x) * 2 + 1))
    i8 = fnp.arange(4, dtype=fnp.int8)
    print("   int8 + 1 keeps int8 (Python scalars are weakly typed):", (i8 + 1).dtype)

    print("\n2. Arrays are immutable; updates are functional:")
    try:
        x[0] = 10.0
    except TypeError as e:
        print("   x[0] = 10.0  ->", type(e).__name__ + ":", str(e).split(". ")[1])
    y = x.at[0].set(10.0)
    print("   x.at[0].set(10.0) =", y.tolist(), " and x is unchanged:", x.tolist())

    print("\n3. Pytrees: nested containers of arrays")
    rng = np.random.default_rng(0)
    params = {"w1": fnp.asarray(rng.normal(size=(3, 4)).astype(np.float32)),
              "b1": fnp.zeros(4), "w2": fnp.asarray(rng.normal(size=(4,)).astype(np.float32))}
    leaves, treedef = ft.tree_flatten(params)
    print("   structure:", treedef)
    print("   shapes:   ", ft.tree_map(lambda a: a.shape, params))

    print("\n4. Tracing to the IR: what transformations see")
    batch = fnp.ones((2, 3))
    print(ft.make_ir(predict)(params, batch))

    print("\n5. Reverse mode: grad = linearize + transpose")
    loss = lambda p, x: fnp.sum(predict(p, x) ** 2)  # noqa: E731
    grads = ft.grad(loss)(params, batch)
    print("   gradient shapes:", ft.tree_map(lambda a: a.shape, grads))
    _, f_vjp = ft.vjp(lambda w2: loss({**params, "w2": w2}, batch), params["w2"])
    print("   the transposed (backward) IR for w2:")
    print(ft.make_ir(f_vjp)(fnp.asarray(1.0)))

    print("\n6. Eager speed (per call, median of 5 runs of 20,000 calls):")
    small = fnp.ones(10)
    small_np = np.ones(10, np.float32)
    for label, fn in (("functrans x + 1.0", lambda: small + 1.0),
                      ("numpy     x + 1.0", lambda: small_np + 1.0)):
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(20000):
                fn()
            runs.append((time.perf_counter() - t0) / 20000 * 1e6)
        print(f"   {label}: {sorted(runs)[2]:.2f} us")
    print("\n   (bench/bench_eager.py compares functrans, numpy, jax and PyTorch in one run.)")
    print("\nresult:", repr(predict(params, batch)))


if __name__ == "__main__":
    main()
