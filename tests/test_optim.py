"""functrans.optim against PyTorch's optimizers (an oracle), numpy formulas and invariants."""

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import optim
from functrans.jit import jit

import torch  # a dev/test dependency (pyproject's [dev] extra): the reference optimizers

STEPS = 100


def _params(rng):
    return {"w": rng.standard_normal((3, 4)).astype(np.float32),
            "b": rng.standard_normal(4).astype(np.float32)}


def _grads(rng, k):
    return [{"w": rng.standard_normal((3, 4)).astype(np.float32),
             "b": rng.standard_normal(4).astype(np.float32)} for _ in range(k)]


def _run_ours(tx, params, grads, use_jit=False):
    p = ft.tree_map(fnp.asarray, params)
    state = tx.init(p)

    def step(p, s, g):
        u, s = tx.update(g, s, p)
        return optim.apply_updates(p, u), s

    if use_jit:
        step = jit(step)
    for g in grads:
        p, state = step(p, state, ft.tree_map(fnp.asarray, g))
    return ft.tree_map(np.asarray, p)


def _run_torch(make, params, grads):
    ts = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    opt = make(list(ts.values()))
    for g in grads:
        opt.zero_grad()
        for k, t in ts.items():
            t.grad = torch.tensor(g[k])
        opt.step()
    return {k: t.detach().numpy() for k, t in ts.items()}


TORCH_CASES = [
    ("sgd", lambda: optim.sgd(0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ("adam_defaults", lambda: optim.adam(1e-3), lambda ps: torch.optim.Adam(ps, lr=1e-3)),
    ("adamw_defaults", lambda: optim.adamw(1e-3), lambda ps: torch.optim.AdamW(ps, lr=1e-3)),
    ("rmsprop_defaults", lambda: optim.rmsprop(1e-3), lambda ps: torch.optim.RMSprop(ps, lr=1e-3)),
    ("adagrad_defaults", lambda: optim.adagrad(1e-2), lambda ps: torch.optim.Adagrad(ps, lr=1e-2)),
    ("sgd_defaults_wd", lambda: optim.sgd(1e-2, weight_decay=0.1),
     lambda ps: torch.optim.SGD(ps, lr=1e-2, weight_decay=0.1)),
    ("sgd_momentum", lambda: optim.sgd(0.1, momentum=0.9),
     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    ("sgd_nesterov_wd", lambda: optim.sgd(0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    ("adam", lambda: optim.adam(1e-2), lambda ps: torch.optim.Adam(ps, lr=1e-2)),
    ("adam_amsgrad", lambda: optim.adam(1e-2, b1=0.8, b2=0.9, amsgrad=True),
     lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.8, 0.9), amsgrad=True)),
    ("adamw", lambda: optim.adamw(1e-2, weight_decay=0.1),
     lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1)),
    ("rmsprop", lambda: optim.rmsprop(1e-2, decay=0.9, eps=1e-8),
     lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.9, eps=1e-8)),
    ("rmsprop_momentum", lambda: optim.rmsprop(1e-2, decay=0.95, momentum=0.5),
     lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.95, momentum=0.5)),
    ("adagrad", lambda: optim.adagrad(0.1, initial_accumulator_value=0.1, eps=1e-10),
     lambda ps: torch.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.1, eps=1e-10)),
]


@pytest.mark.parametrize("name,ours,theirs", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch(rng, name, ours, theirs):
    params = _params(rng)
    grads = _grads(rng, STEPS)
    got = _run_ours(ours(), params, grads)
    ref = _run_torch(theirs, params, grads)
    for k in params:
        np.testing.assert_allclose(got[k], ref[k], rtol=2e-5, atol=2e-6)


def _np_reference(name, params, grads):
    """The textbook update rules (PyTorch's conventions), in float64 numpy."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    st = {k: {"m": np.zeros_like(v), "v": np.zeros_like(v), "vmax": np.zeros_like(v),
              "s": np.full_like(v, 0.1), "b": None} for k, v in p.items()}
    for t, g in enumerate(grads, 1):
        for k in p:
            gk, s = g[k].astype(np.float64), st[k]
            if name == "sgd":
                p[k] -= 0.1 * gk
            elif name == "sgd_momentum":
                s["b"] = gk if s["b"] is None else 0.9 * s["b"] + gk
                p[k] -= 0.1 * s["b"]
            elif name == "sgd_nesterov_wd":
                gk = gk + 0.01 * p[k]
                s["b"] = gk if s["b"] is None else 0.8 * s["b"] + gk
                p[k] -= 0.05 * (gk + 0.8 * s["b"])
            elif name in ("adam", "adam_amsgrad", "adamw"):
                b1, b2, lr = (0.8, 0.9, 1e-2) if name == "adam_amsgrad" else (0.9, 0.999, 1e-2)
                if name == "adamw":
                    p[k] -= lr * 0.1 * p[k]
                s["m"] = b1 * s["m"] + (1 - b1) * gk
                s["v"] = b2 * s["v"] + (1 - b2) * gk ** 2
                s["vmax"] = np.maximum(s["vmax"], s["v"])
                v = s["vmax"] if name == "adam_amsgrad" else s["v"]
                p[k] -= lr * (s["m"] / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)
            elif name in ("rmsprop", "rmsprop_momentum"):
                a = 0.9 if name == "rmsprop" else 0.95
                s["v"] = a * s["v"] + (1 - a) * gk ** 2
                step = gk / (np.sqrt(s["v"]) + 1e-8)
                if name == "rmsprop_momentum":
                    s["m"] = 0.5 * s["m"] + step
                    step = s["m"]
                p[k] -= 1e-2 * step
            elif name == "adagrad":
                s["s"] = s["s"] + gk ** 2
                p[k] -= 0.1 * gk / (np.sqrt(s["s"]) + 1e-10)
    return p


@pytest.mark.parametrize("name,ours,theirs",
                         [c for c in TORCH_CASES if "defaults" not in c[0]],
                         ids=[c[0] for c in TORCH_CASES if "defaults" not in c[0]])
def test_matches_numpy_reference(rng, name, ours, theirs):
    params = _params(rng)
    grads = _grads(rng, STEPS)
    got = _run_ours(ours(), params, grads)
    ref = _np_reference(name, params, grads)
    for k in params:
        np.testing.assert_allclose(got[k], ref[k], rtol=2e-5, atol=2e-6)


def test_lion_and_lamb_match_numpy(rng):
    params = _params(rng)
    grads = _grads(rng, STEPS)
    # Lion
    lr, b1, b2, wd = 1e-2, 0.9, 0.99, 0.1
    p = {k: v.astype(np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    for g in grads:
        for k in p:
            u = np.sign(b1 * m[k] + (1 - b1) * g[k])
            m[k] = b2 * m[k] + (1 - b2) * g[k]
            p[k] = p[k] - lr * (u + wd * p[k])
    got = _run_ours(optim.lion(lr, b1, b2, weight_decay=wd), params, grads)
    for k in p:
        np.testing.assert_allclose(got[k], p[k], rtol=1e-5, atol=1e-6)
    # LAMB
    lr, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-6, 0.01
    p = {k: v.astype(np.float64) for k, v in params.items()}
    mu = {k: np.zeros_like(v) for k, v in p.items()}
    nu = {k: np.zeros_like(v) for k, v in p.items()}
    for t, g in enumerate(grads, 1):
        for k in p:
            mu[k] = b1 * mu[k] + (1 - b1) * g[k]
            nu[k] = b2 * nu[k] + (1 - b2) * g[k] ** 2
            u = (mu[k] / (1 - b1 ** t)) / (np.sqrt(nu[k] / (1 - b2 ** t)) + eps) + wd * p[k]
            ratio = np.linalg.norm(p[k]) / np.linalg.norm(u)
            p[k] = p[k] - lr * ratio * u
    got = _run_ours(optim.lamb(lr, b1, b2, eps, weight_decay=wd), params, grads)
    for k in p:
        np.testing.assert_allclose(got[k], p[k], rtol=1e-4, atol=1e-6)


def test_clip_by_global_norm(rng):
    grads = _grads(rng, 1)[0]
    norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values()))
    u, _ = optim.clip_by_global_norm(0.5).update(ft.tree_map(fnp.asarray, grads), None)
    for k in grads:
        np.testing.assert_allclose(np.asarray(u[k]), grads[k] * 0.5 / norm, rtol=1e-5)
    small, _ = optim.clip_by_global_norm(1e6).update(ft.tree_map(fnp.asarray, grads), None)
    np.testing.assert_allclose(np.asarray(small["w"]), grads["w"], rtol=1e-6)


def test_clip_zero_nans_freeze_masked():
    g = {"a": fnp.asarray(np.array([3.0, -3.0, np.nan], np.float32)),
         "b": fnp.asarray(np.array([1.0, 2.0], np.float32))}
    u, _ = optim.clip(1.0).update({"b": g["b"]}, None)
    assert np.asarray(u["b"]).tolist() == [1.0, 1.0]
    tx = optim.zero_nans()
    u, s = tx.update(g, tx.init(g))
    assert np.asarray(u["a"]).tolist() == [3.0, -3.0, 0.0]
    assert bool(s.found_nan["a"]) and not bool(s.found_nan["b"])
    u, _ = optim.freeze({"a": True, "b": False}).update(g, None)
    assert np.asarray(u["a"]).tolist() == [0.0, 0.0, 0.0] and np.asarray(u["b"]).tolist() == [1, 2]
    params = {"a": fnp.zeros(3), "b": fnp.zeros(2)}
    tx = optim.masked(optim.scale(10.0), {"a": False, "b": True})
    u, _ = tx.update(g, tx.init(params), params)
    assert np.asarray(u["b"]).tolist() == [10.0, 20.0]
    assert np.asarray(u["a"])[0] == 3.0


def test_add_decayed_weights_mask(rng):
    params = ft.tree_map(fnp.asarray, _params(rng))
    zeros = ft.tree_map(fnp.zeros_like, params)
    tx = optim.add_decayed_weights(0.5, mask=lambda p: ft.tree_map(lambda x: x.ndim > 1, p))
    u, _ = tx.update(zeros, tx.init(params), params)
    np.testing.assert_allclose(np.asarray(u["w"]), 0.5 * np.asarray(params["w"]))
    assert np.all(np.asarray(u["b"]) == 0)


@pytest.mark.parametrize("k", [1, 3])
def test_multi_steps_equals_inner_on_mean_gradient(rng, k):
    params = _params(rng)
    grads = _grads(rng, 2 * k)
    got = _run_ours(optim.multi_steps(optim.adam(1e-2), k), params, grads)
    means = [ft.tree_map(lambda *gs: np.mean(gs, axis=0), *grads[i:i + k])
             for i in range(0, 2 * k, k)]
    ref = _run_ours(optim.adam(1e-2), params, means)
    for key in params:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-5, atol=1e-6)
    # between groups, the parameters do not move
    partial = _run_ours(optim.multi_steps(optim.adam(1e-2), 3), params, grads[:2])
    np.testing.assert_array_equal(partial["w"], params["w"])


SCHEDULES = [
    (optim.constant_schedule(0.3), lambda t: 0.3),
    (optim.linear_schedule(1.0, 0.1, 10, transition_begin=2),
     lambda t: 1.0 + np.clip((t - 2) / 10, 0, 1) * (0.1 - 1.0)),
    (optim.cosine_decay_schedule(1.0, 10, alpha=0.1),
     lambda t: 1.0 * (0.9 * 0.5 * (1 + np.cos(np.pi * min(t, 10) / 10)) + 0.1)),
    (optim.exponential_decay(1.0, 4, 0.5), lambda t: 0.5 ** (t / 4)),
    (optim.exponential_decay(1.0, 4, 0.5, staircase=True, end_value=0.3),
     lambda t: max(0.5 ** (t // 4), 0.3)),
    (optim.piecewise_constant_schedule(1.0, {3: 0.5, 6: 0.1}),
     lambda t: 1.0 * (0.5 if t >= 3 else 1) * (0.1 if t >= 6 else 1)),
    (optim.warmup_cosine_decay_schedule(0.0, 1.0, 4, 12, end_value=0.1),
     lambda t: t / 4 if t < 4 else 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(t - 4, 8) / 8))),
]


@pytest.mark.parametrize("i", range(len(SCHEDULES)))
def test_schedules(i):
    sched, ref = SCHEDULES[i]
    for t in range(16):
        np.testing.assert_allclose(float(sched(t)), ref(t), rtol=1e-5, atol=1e-6)
    # traced counts work (inside jit)
    np.testing.assert_allclose(float(jit(sched)(fnp.asarray(7))), ref(7), rtol=1e-5, atol=1e-6)


def test_join_schedules_counts_from_each_start():
    s = optim.join_schedules([optim.constant_schedule(1.0), optim.linear_schedule(0.0, 1.0, 4)],
                             [5])
    assert [round(float(s(t)), 4) for t in [0, 4, 5, 7, 9]] == [1.0, 1.0, 0.0, 0.5, 1.0]


def test_schedule_as_learning_rate(rng):
    params = _params(rng)
    grads = _grads(rng, 3)
    sched = optim.linear_schedule(0.1, 0.0, 2)
    got = _run_ours(optim.sgd(sched), params, grads)
    ref = params["b"] - 0.1 * grads[0]["b"] - 0.05 * grads[1]["b"]
    np.testing.assert_allclose(got["b"], ref, rtol=1e-5)


ALL = {
    "sgd": lambda: optim.sgd(0.1, momentum=0.9), "adam": lambda: optim.adam(0.1),
    "adamw": lambda: optim.adamw(0.1), "rmsprop": lambda: optim.rmsprop(0.1),
    "adagrad": lambda: optim.adagrad(0.5), "lamb": lambda: optim.lamb(0.1),
    "lion": lambda: optim.lion(0.05, b2=0.9), "accumulate": lambda: optim.multi_steps(optim.adam(0.1), 2),
    "clipped": lambda: optim.chain(optim.clip_by_global_norm(1.0), optim.adam(0.1)),
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_optimizer_minimizes_a_quadratic_and_jits(name):
    target = {"w": fnp.asarray(np.arange(6.0, dtype=np.float32).reshape(2, 3)),
              "b": fnp.asarray(np.array([1.0, -1.0], np.float32))}

    def loss(p):
        return sum(fnp.sum((p[k] - target[k]) ** 2) for k in p)

    tx = ALL[name]()
    p = ft.tree_map(fnp.zeros_like, target)
    state = tx.init(p)

    @jit
    def step(p, state):
        g = ft.grad(loss)(p)
        u, state = tx.update(g, state, p)
        return optim.apply_updates(p, u), state

    def eager_step(p, state):
        g = ft.grad(loss)(p)
        u, state = tx.update(g, state, p)
        return optim.apply_updates(p, u), state

    # jit and eager agree step by step
    pe, se = p, state
    for _ in range(3):
        p, state = step(p, state)
        pe, se = eager_step(pe, se)
        for k in p:
            np.testing.assert_allclose(np.asarray(p[k]), np.asarray(pe[k]), rtol=1e-5, atol=1e-6)
    l0 = float(loss(ft.tree_map(fnp.zeros_like, target)))
    for _ in range(150):
        p, state = step(p, state)
    assert float(loss(p)) < 0.05 * l0
    # the state is a pytree with the same structure after an update
    assert ft.tree_structure(state) == ft.tree_structure(tx.init(p))


def test_invalid_hyper_parameters_and_trees():
    with pytest.raises(ValueError, match="learning_rate must be non-negative"):
        optim.sgd(-0.1)
    with pytest.raises(ValueError, match=r"b2 must be in \[0, 1\)"):
        optim.adam(1e-3, b2=1.5)
    with pytest.raises(ValueError, match="momentum must be in"):
        optim.sgd(0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="nesterov"):
        optim.sgd(0.1, nesterov=True)
    params = {"w": fnp.ones(2), "b": fnp.zeros(1)}
    tx = optim.adam(1e-3)
    state = tx.init(params)
    with pytest.raises(ValueError, match=r"only in the gradients: \['c'\].*only in the "
                                         r"parameters: \['b'\]"):
        tx.update({"w": fnp.ones(2), "c": fnp.zeros(1)}, state, params)
    with pytest.raises(ValueError, match="apply_updates"):
        optim.apply_updates(params, {"w": fnp.ones(2)})
    bad = optim.sgd(lambda count: fnp.ones(3))
    with pytest.raises(ValueError, match="schedule must return a scalar"):
        bad.update(params, bad.init(params), params)


@pytest.mark.parametrize("name", sorted(ALL))
def test_dtype_preserving_on_nested_pytrees(name):
    params = {"layers": [{"w": fnp.ones((2, 2), np.float16)},
                         (fnp.ones(3, np.float32), {"b": fnp.zeros(1, ft.dtypes.bfloat16)})]}
    tx = ALL[name]()
    state = tx.init(params)
    grads = ft.tree_map(lambda p: fnp.full_like(p, 0.5), params)
    for _ in range(2):
        updates, state = tx.update(grads, state, params)
        params = optim.apply_updates(params, updates)
    assert [x.dtype for x in ft.tree_leaves(params)] == [np.float16, np.float32,
                                                        ft.dtypes.bfloat16]
