"""jit: functrans.jit vs jax.jit, PyTorch (eager, torch.compile, torch.func) and numpy by hand.

Run from the repository root::

    python bench/bench_jit.py                    # everything
    python bench/bench_jit.py --filter dispatch  # one workload
    python bench/bench_jit.py --filter first_call --samples 5

Workloads (see bench/README.md for the method and results):
  jit/dispatch:           a jitted ``x + 1`` on a (10,) float32 vector, blocking on
                          the result: the per-call overhead of a cache hit.
  jit/first_call_mlp:     in a fresh process, the first call of the jitted SGD step
                          of the MLP below (trace + lower + compile + run); timed
                          inside the child, imports and data excluded.
  jit/mlp_train_step:     one SGD step (value_and_grad + update) of a 784-512-512-10
                          tanh MLP, softmax cross-entropy, batch 128.
  jit/hvp:                a jitted Hessian-vector product (forward over reverse) of
                          that MLP's loss with respect to its parameters.
  jit/per_example_grads:  jit(vmap(grad)) of a 784-128-10 MLP's loss, 128 examples.

A workload whose functrans rules are missing (a primitive without a ``lower`` or
``batch`` rule) is skipped with the error as its note.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(1, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from harness import BASELINE, Skip, Workload, main, ratio_lines  # noqa: E402
from bench_ad import mlp_data as _mlp_data, mlp_loss  # noqa: E402  (one MLP for both)

LR = 0.01


def _jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("jax is not installed")
    return jax, jnp


def _torch():
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed")
    return torch


# --------------------------------------------------------------- dispatch


def dispatch_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    f = ft.jit(lambda x: x + 1.0)
    x = fnp.ones(10)
    return lambda: f(x).block_until_ready()


def dispatch_jax():
    jax, jnp = _jax()
    f = jax.jit(lambda x: x + 1.0)
    x = jax.device_put(np.ones(10, np.float32), jax.devices("cpu")[0])
    return lambda: f(x).block_until_ready()


# --------------------------------------------------------------- the MLP


BIG = (784, 512, 512, 10)
SMALL = (784, 128, 10)
BATCH = 128


def _ft_loss():
    import functrans.numpy as fnp
    from functrans.scipy.special import logsumexp
    return lambda p, x, y: mlp_loss(fnp, logsumexp, p, x, y)


def _ft_sgd_step():
    import functrans as ft
    loss = _ft_loss()

    def step(p, x, y):
        value, g = ft.value_and_grad(loss)(p, x, y)
        return [a - LR * b for a, b in zip(p, g)], value
    return step


def _jax_sgd_step():
    jax, jnp = _jax()
    from jax.scipy.special import logsumexp

    def step(p, x, y):
        value, g = jax.value_and_grad(lambda p: mlp_loss(jnp, logsumexp, p, x, y))(p)
        return [a - LR * b for a, b in zip(p, g)], value
    return step


def train_step_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    params, x, labels = _mlp_data(BIG, BATCH)
    step = ft.jit(_ft_sgd_step(), donate_argnums=0)
    state = {"p": [fnp.asarray(a) for a in params]}
    x, labels = fnp.asarray(x), fnp.asarray(labels)
    p0 = [fnp.asarray(a) for a in params]
    first = {}

    def run():
        if "out" not in first:  # the checked output: one step from the initial params
            first["out"] = ft.jit(_ft_sgd_step())(p0, x, labels)[0][0]
            return first["out"]
        state["p"], value = step(state["p"], x, labels)
        return value.block_until_ready()
    return run


def train_step_jax():
    jax, jnp = _jax()
    params, x, labels = _mlp_data(BIG, BATCH)
    cpu = jax.devices("cpu")[0]
    step = jax.jit(_jax_sgd_step(), donate_argnums=0)
    state = {"p": [jax.device_put(a, cpu) for a in params]}
    x, labels = jax.device_put(x, cpu), jax.device_put(labels, cpu)
    p0 = [jax.device_put(a, cpu) for a in params]
    first = {}

    def run():
        if "out" not in first:
            first["out"] = jax.jit(_jax_sgd_step())(p0, x, labels)[0][0]
            return first["out"]
        state["p"], value = step(state["p"], x, labels)
        return value.block_until_ready()
    return run


def _torch_step(torch, compiled=False):
    params, x, labels = _mlp_data(BIG, BATCH)
    p = [torch.from_numpy(a.copy()).requires_grad_(True) for a in params]
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)

    def lse(a, axis, keepdims):
        return torch.logsumexp(a, dim=axis, keepdim=keepdims)

    def grads(p):
        loss = mlp_loss(torch, lse, p, x, labels)
        return loss, torch.autograd.grad(loss, p)

    if compiled:
        grads = torch.compile(grads)
    first = {}

    def run():
        loss, gs = grads(p)
        with torch.no_grad():
            if "out" not in first:
                first["out"] = (p[0] - LR * gs[0]).detach().numpy()
                return first["out"]
            for a, g in zip(p, gs):
                a.sub_(LR * g)
        return loss
    return run


def train_step_torch():
    return _torch_step(_torch())


def train_step_torch_compile():
    return _torch_step(_torch(), compiled=True)


def train_step_numpy():
    """A hand-written forward, backward and update of the same network."""
    params, x, labels = _mlp_data(BIG, BATCH)
    params = [a.copy() for a in params]
    first = {}

    def run():
        hs, h = [x], x
        for i in range(0, len(params) - 2, 2):
            h = np.tanh(h @ params[i] + params[i + 1])
            hs.append(h)
        logits = h @ params[-2] + params[-1]
        m = logits.max(axis=-1, keepdims=True)
        z = np.exp(logits - m)
        s = z.sum(axis=-1, keepdims=True)
        loss = -np.mean(np.sum((logits - m - np.log(s)) * labels, axis=-1))
        d = (z / s * labels.sum(axis=-1, keepdims=True) - labels) / BATCH
        grads = [None] * len(params)
        grads[-2], grads[-1] = hs[-1].T @ d, d.sum(0)
        d = d @ params[-2].T
        for i in range(len(params) - 4, -1, -2):
            d = d * (1 - hs[i // 2 + 1] ** 2)
            grads[i], grads[i + 1] = hs[i // 2].T @ d, d.sum(0)
            if i:
                d = d @ params[i].T
        if "out" not in first:
            first["out"] = params[0] - LR * grads[0]
            return first["out"]
        for a, g in zip(params, grads):
            a -= LR * g
        return loss
    return run


# --------------------------------------------------------------- Hessian-vector product


def hvp_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    params, x, labels = _mlp_data(BIG, BATCH)
    loss = _ft_loss()
    p = [fnp.asarray(a) for a in params]
    v = [fnp.asarray(np.ones_like(a) * 1e-2) for a in params]
    x, labels = fnp.asarray(x), fnp.asarray(labels)

    @ft.jit
    def hvp(p, v):
        return ft.jvp(lambda p: ft.grad(loss)(p, x, labels), (p,), (v,))[1]
    return lambda: hvp(p, v)[0].block_until_ready()


def hvp_jax():
    jax, jnp = _jax()
    from jax.scipy.special import logsumexp
    params, x, labels = _mlp_data(BIG, BATCH)
    cpu = jax.devices("cpu")[0]
    p = [jax.device_put(a, cpu) for a in params]
    v = [jax.device_put(np.ones_like(a) * 1e-2, cpu) for a in params]
    x, labels = jax.device_put(x, cpu), jax.device_put(labels, cpu)
    loss = lambda p: mlp_loss(jnp, logsumexp, p, x, labels)  # noqa: E731

    @jax.jit
    def hvp(p, v):
        return jax.jvp(jax.grad(loss), (p,), (v,))[1]
    return lambda: hvp(p, v)[0].block_until_ready()


def hvp_torch():
    torch = _torch()
    from torch.func import grad, jvp
    params, x, labels = _mlp_data(BIG, BATCH)
    p = tuple(torch.from_numpy(a.copy()) for a in params)
    v = tuple(torch.from_numpy(np.ones_like(a) * 1e-2) for a in params)
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)

    def lse(a, axis, keepdims):
        return torch.logsumexp(a, dim=axis, keepdim=keepdims)

    loss = lambda p: mlp_loss(torch, lse, list(p), x, labels)  # noqa: E731
    return lambda: jvp(grad(loss), (p,), (v,))[1][0]


# --------------------------------------------------------------- per-example gradients


def peg_functrans():
    import functrans as ft
    import functrans.numpy as fnp
    params, x, labels = _mlp_data(SMALL, BATCH)
    loss = _ft_loss()
    p = [fnp.asarray(a) for a in params]
    x, labels = fnp.asarray(x), fnp.asarray(labels)
    f = ft.jit(ft.vmap(ft.grad(loss), in_axes=(None, 0, 0)))
    return lambda: f(p, x, labels)[0].block_until_ready()


def peg_jax():
    jax, jnp = _jax()
    from jax.scipy.special import logsumexp
    params, x, labels = _mlp_data(SMALL, BATCH)
    cpu = jax.devices("cpu")[0]
    p = [jax.device_put(a, cpu) for a in params]
    x, labels = jax.device_put(x, cpu), jax.device_put(labels, cpu)
    loss = lambda p, x, y: mlp_loss(jnp, logsumexp, p, x, y)  # noqa: E731
    f = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    return lambda: f(p, x, labels)[0].block_until_ready()


def _peg_torch(compiled):
    torch = _torch()
    from torch.func import grad, vmap
    params, x, labels = _mlp_data(SMALL, BATCH)
    p = [torch.from_numpy(a.copy()) for a in params]
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)

    def lse(a, axis, keepdims):
        return torch.logsumexp(a, dim=axis, keepdim=keepdims)

    f = vmap(grad(lambda p, x, y: mlp_loss(torch, lse, p, x, y)), in_dims=(None, 0, 0))
    if compiled:
        f = torch.compile(f)
    return lambda: f(p, x, labels)[0]


def peg_torch():
    return _peg_torch(False)


def peg_torch_compile():
    return _peg_torch(True)


# --------------------------------------------------------------- first call, fresh process

_FIRST_CALL_CHILD = "--first-call-child"


def _first_call_child(impl: str) -> None:
    """Runs in a fresh interpreter: prints the seconds of the first jitted step call."""
    import time
    params, x, labels = _mlp_data(BIG, BATCH)
    if impl == "functrans":
        import functrans as ft
        import functrans.numpy as fnp
        p = [fnp.asarray(a) for a in params]
        x, labels = fnp.asarray(x), fnp.asarray(labels)
        ft.devices()                     # start the backend outside the timed region
        step = ft.jit(_ft_sgd_step())
        t0 = time.perf_counter()
        step(p, x, labels)[1].block_until_ready()
    else:
        jax, _ = _jax()
        cpu = jax.devices("cpu")[0]
        p = [jax.device_put(a, cpu) for a in params]
        x, labels = jax.device_put(x, cpu), jax.device_put(labels, cpu)
        step = jax.jit(_jax_sgd_step())
        t0 = time.perf_counter()
        step(p, x, labels)[1].block_until_ready()
    print(json.dumps({"seconds": time.perf_counter() - t0}))


def first_call(impl: str, runs: int) -> list:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), _FIRST_CALL_CHILD, impl],
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
        times.append(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
    return times


def report_first_call(runs: int = 5) -> str:
    lines = [f"== jit/first_call_mlp: first call of the jitted SGD step (784-512-512-10, batch "
             f"{BATCH}) in a fresh process: trace + lower + compile + run; {runs} processes each"]
    meds = {}
    for impl in ("functrans", "jax"):
        try:
            ts = first_call(impl, runs)
        except (RuntimeError, subprocess.TimeoutExpired, Skip) as e:
            lines.append(f"  note: skipping {impl}: {e}")
            continue
        meds[impl] = statistics.median(ts)
        lines.append(f"  {impl:10s} median {meds[impl] * 1e3:8.1f} ms   "
                     f"(min {min(ts) * 1e3:.1f}, max {max(ts) * 1e3:.1f})")
    if len(meds) == 2:
        r = meds["functrans"] / meds["jax"]
        lines.append(f"  functrans/jax = {r:.2f}  -> {'MET' if r <= 1 else 'NOT MET'} "
                     "(goal: no slower than jax)")
    return "\n".join(lines)


# --------------------------------------------------------------- table and summary

WORKLOADS = [
    Workload("jit/dispatch", {"functrans": dispatch_functrans, "jax": dispatch_jax},
             description="jitted x + 1 on (10,) float32, blocking on the result"),
    Workload("jit/mlp_train_step",
             {"functrans": train_step_functrans, "numpy": train_step_numpy,
              "torch": train_step_torch, "torch.compile": train_step_torch_compile,
              "jax": train_step_jax},
             description="SGD step of a 784-512-512-10 tanh MLP, batch 128 (jitted; torch "
                         "eager/compiled; numpy by hand)", rtol=1e-3, atol=1e-5),
    Workload("jit/hvp", {"functrans": hvp_functrans, "torch": hvp_torch, "jax": hvp_jax},
             description="jitted Hessian-vector product of the MLP loss w.r.t. its parameters",
             rtol=1e-3, atol=1e-5),
    Workload("jit/per_example_grads",
             {"functrans": peg_functrans, "torch": peg_torch, "torch.compile": peg_torch_compile,
              "jax": peg_jax},
             description="jit(vmap(grad)) of a 784-128-10 MLP loss over 128 examples",
             rtol=1e-3, atol=1e-6),
]


def summary(all_results):
    lines = ratio_lines(all_results, 22)
    goals = []

    def ratio(w, peer):
        res = all_results.get(w, {})
        if BASELINE in res and peer in res:
            return res[peer].median_ns / res[BASELINE].median_ns
        return None

    r = ratio("jit/dispatch", "jax")
    if r is not None:
        goals.append(f"  dispatch at most 1.5x jax.jit:       functrans/jax time = {1 / r:.2f}"
                     f"  -> {'MET' if 1 / r <= 1.5 else 'NOT MET'}")
    for w in ("jit/mlp_train_step", "jit/hvp", "jit/per_example_grads"):
        r = ratio(w, "jax")
        if r is not None:
            goals.append(f"  {w[4:]:22s} >= 0.95x jax throughput: functrans/jax = {r:.2f}"
                         f"  -> {'MET' if r >= 0.95 else 'NOT MET'}")
    if goals:
        lines.append("goals (issue 5), same run")
        lines.extend(goals)
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == _FIRST_CALL_CHILD:
        _first_call_child(sys.argv[2])
        sys.exit(0)
    argv = sys.argv[1:]
    filters = [argv[i + 1] for i, a in enumerate(argv) if a == "--filter" and i + 1 < len(argv)]
    run_first = not filters or any(f in "jit/first_call_mlp" for f in filters)
    run_harness = not filters or any(f in w.name for w in WORKLOADS for f in filters)
    text = ""
    if run_first:
        samples = [argv[i + 1] for i, a in enumerate(argv) if a == "--samples"]
        text = report_first_call(min(int(samples[0]), 7) if samples else 5)
    if run_harness:
        main(WORKLOADS, argv, description=__doc__.split("\n")[0],
             epilogue=lambda r: "\n\n".join(t for t in (summary(r), text) if t))
    else:
        print(text)
