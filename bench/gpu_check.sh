#!/usr/bin/env bash
# A short check (< 5 minutes) of ft.jit on a GPU machine (jax/jaxlib with the CUDA
# plugin preinstalled; no internet needed). Run from anywhere:
#
#     bash bench/gpu_check.sh            # uses this checkout via PYTHONPATH
#     INSTALL=1 bash bench/gpu_check.sh  # pip install -e . --no-deps first
#
# It prints the devices, runs jitted functions on the GPU (elementwise, dot, an
# MLP SGD step, a CNN SGD step, donation, jit(vmap(grad))) against eager results computed on the
# host with numpy, times the jitted MLP step against jax.jit on the same GPU,
# then runs the jit test files with the GPU as the default backend. Every check
# prints PASS or FAIL; the last lines are a summary.
set -u
cd "$(dirname "$0")/.."
if [ "${INSTALL:-0}" = "1" ]; then
    pip install -e . --no-deps -q || echo "note: pip install failed; using PYTHONPATH"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export FUNCTRANS_TRACEBACK_FILTERING=off
results=()

python3 - <<'EOF'
import sys, time, traceback
import numpy as np
import jax
import functrans as ft
import functrans.numpy as fnp

print("python", sys.version.split()[0], "| jax", jax.__version__, "| functrans", ft.__version__)
print("ft.devices():", ft.devices())
dev = ft.devices()[0]
print("default device:", dev, "platform:", dev.platform)
from functrans.interpreters import xla
if dev.platform == "cpu":
    print("WARNING: the default backend is the CPU; no GPU is visible to jax")
passed, failed = [], []


def check(name):
    def deco(fn):
        t0 = time.perf_counter()
        try:
            detail = fn()
            passed.append(name)
            print(f"PASS  {name}  ({time.perf_counter() - t0:.2f} s){'  ' + detail if detail else ''}")
        except Exception:
            failed.append(name)
            print(f"FAIL  {name}")
            traceback.print_exc()
        return fn
    return deco


rng = np.random.default_rng(0)


@check("fast result handlers (jaxlib's array_result_handler) are in use")
def _():
    import jaxlib._jax as ext
    if not hasattr(ext, "array_result_handler"):
        return "this jaxlib has no array_result_handler: the generic path is expected"
    # None here means every call splits its results in Python (seen with jaxlib 0.11.2
    # before xla.result_handlers learned its signature: the GPU MLP step ran ~2x slower)
    assert xla.result_handlers([ft.ShapedArray((2,), np.float32)], dev) is not None




@check("elementwise f32 on the GPU vs numpy")
def _():
    x = rng.standard_normal(1000).astype(np.float32)
    y = rng.standard_normal(1000).astype(np.float32)
    f = ft.jit(lambda x, y: fnp.sin(x) * y + fnp.exp(-x * x) - fnp.maximum(x, 0.0) / 3.0)
    out = f(fnp.asarray(x), fnp.asarray(y))
    assert out.device.platform == dev.platform, out.device
    want = np.sin(x) * y + np.exp(-x * x) - np.maximum(x, 0.0) / 3.0
    err = float(np.max(np.abs(np.asarray(out) - want)))
    assert err < 1e-5, err
    return f"max abs err {err:.2e}"


@check("elementwise f64 (x64) and int32 on the GPU")
def _():
    with ft.config.option("enable_x64", True):
        x = rng.standard_normal(100)
        out = ft.jit(lambda x: fnp.tanh(x) * 2.0 + 1.0)(fnp.asarray(x))
        assert out.dtype == np.float64
        np.testing.assert_allclose(np.asarray(out), np.tanh(x) * 2.0 + 1.0, rtol=1e-13)
    i = np.arange(-10, 10, dtype=np.int32)
    out = ft.jit(lambda i: i * 3 + 1)(fnp.asarray(i))
    np.testing.assert_array_equal(np.asarray(out), i * 3 + 1)


@check("dot f32 (256x512 @ 512x128) vs numpy float64")
def _():
    a = rng.standard_normal((256, 512)).astype(np.float32)
    b = rng.standard_normal((512, 128)).astype(np.float32)
    out = np.asarray(ft.jit(lambda a, b: a @ b)(fnp.asarray(a), fnp.asarray(b)))
    want = a.astype(np.float64) @ b.astype(np.float64)
    rel = float(np.max(np.abs(out - want)) / np.max(np.abs(want)))
    # TF32 on the GPU would show as rel ~1e-3; full f32 as ~1e-6
    assert rel < 1e-2, rel
    return f"max rel err {rel:.2e} ({'TF32-like' if rel > 1e-4 else 'full f32'})"


def mlp(sizes, batch):
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        params += [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
                   np.zeros(n, np.float32)]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return params, x, y


def loss(np_like, p, x, y):
    h = x
    for i in range(0, len(p) - 2, 2):
        h = np_like.tanh(h @ p[i] + p[i + 1])
    logits = h @ p[-2] + p[-1]
    m = np_like.max(logits, axis=-1, keepdims=True)
    logp = logits - m - np_like.log(np_like.sum(np_like.exp(logits - m), axis=-1, keepdims=True))
    return -np_like.mean(np_like.sum(logp * y, axis=-1))


def ft_step(p, x, y):
    v, g = ft.value_and_grad(lambda p: loss(fnp, p, x, y))(p)
    return [a - 0.01 * b for a, b in zip(p, g)], v


P, X, Y = mlp((784, 512, 512, 10), 128)


@check("MLP SGD step (784-512-512-10, batch 128): jit on the GPU vs eager on the host")
def _():
    p = [fnp.asarray(a) for a in P]
    x, y = fnp.asarray(X), fnp.asarray(Y)
    eager_p, eager_v = ft_step(p, x, y)
    t0 = time.perf_counter()
    jit_p, jit_v = ft.jit(ft_step)(p, x, y)
    jit_v.block_until_ready()
    first = time.perf_counter() - t0
    err = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(jit_p, eager_p))
    assert abs(float(jit_v) - float(eager_v)) < 1e-3 and err < 1e-3, (err, float(jit_v), float(eager_v))
    return f"first call {first:.2f} s, max abs param diff {err:.2e}"


@check("donation on the GPU: the donated buffer is consumed, use-after raises")
def _():
    step = ft.jit(lambda p, g: p - 0.1 * g, donate_argnums=0)
    p = ft.device_put(fnp.ones(1000))
    g = fnp.ones(1000)
    buf = p._buf
    out = step(p, g)
    assert buf.is_deleted() and p.is_deleted()
    try:
        p + 1.0
        raise AssertionError("using a donated array did not raise")
    except RuntimeError as e:
        assert "donated" in str(e)
    np.testing.assert_allclose(np.asarray(out), 0.9, rtol=1e-6)


@check("grad(jit), jit(grad(jit)), jit(vmap(grad)) per-example grads vs a host loop")
def _():
    p, x, y = mlp((20, 16, 5), 8)
    p = [fnp.asarray(a) for a in p]
    f = lambda p, x, y: loss(fnp, p, x, y)  # noqa: E731
    g_eager = ft.grad(f)(p, fnp.asarray(x), fnp.asarray(y))
    for g in (ft.grad(ft.jit(f))(p, fnp.asarray(x), fnp.asarray(y)),
              ft.jit(ft.grad(ft.jit(f)))(p, fnp.asarray(x), fnp.asarray(y))):
        for a, b in zip(g, g_eager):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    peg = ft.jit(ft.vmap(ft.grad(f), in_axes=(None, 0, 0)))(p, fnp.asarray(x), fnp.asarray(y))
    for i in range(x.shape[0]):
        gi = ft.grad(f)(p, fnp.asarray(x[i]), fnp.asarray(y[i]))
        for a, b in zip(peg, gi):
            np.testing.assert_allclose(np.asarray(a)[i], np.asarray(b), rtol=1e-4, atol=1e-6)


@check("CNN SGD step (conv, relu, max pool, dense; bench_conv's network): jit on the GPU vs jax.grad on the host")
def _():
    sys.path.insert(0, "bench")
    import bench_conv as bc
    import jax.numpy as jnp
    from functrans import nn
    params, x, y = bc._cnn_data()
    conv, pool = bc._functrans_layers()

    def take(logp, y):
        return fnp.take_along_axis(logp, y[:, None], axis=1)

    def step(p, x, y):
        v, g = ft.value_and_grad(lambda p: bc._cnn_loss(fnp, conv, pool, nn.log_softmax, take,
                                                        p, x, y))(p)
        return [a - 0.01 * b for a, b in zip(p, g)], v

    cpu = jax.devices("cpu")[0]
    jconv, jpool = bc._jax_layers()

    def jtake(logp, y):
        return jnp.take_along_axis(logp, y[:, None], axis=1)

    with jax.default_device(cpu):
        want_v, want_g = jax.value_and_grad(lambda p: bc._cnn_loss(
            jnp, jconv, jpool, jax.nn.log_softmax, jtake, p, x, y))(params)
    fstep = ft.jit(step)
    p = [ft.device_put(fnp.asarray(a)) for a in params]
    xs, ys = ft.device_put(fnp.asarray(x)), ft.device_put(fnp.asarray(y))
    t0 = time.perf_counter()
    new_p, v = fstep(p, xs, ys)
    v.block_until_ready()
    first = time.perf_counter() - t0
    assert new_p[0].device.platform == dev.platform, new_p[0].device
    assert abs(float(v) - float(want_v)) < 1e-4 * max(1.0, abs(float(want_v))), (float(v), float(want_v))
    errs = []
    for a, w, pa in zip(new_p, want_g, params):
        g = (pa - np.asarray(a)) / 0.01
        w = np.asarray(w)
        errs.append(float(np.max(np.abs(g - w)) / max(np.max(np.abs(w)), 1e-12)))
    assert max(errs) < 1e-3, errs
    fstep(new_p, xs, ys)[1].block_until_ready()
    n = 50
    t0 = time.perf_counter()
    for _ in range(n):
        new_p, v = fstep(new_p, xs, ys)
    v.block_until_ready()
    t_ft = (time.perf_counter() - t0) / n

    @jax.jit
    def jstep(p, x, y):
        v, g = jax.value_and_grad(lambda p: bc._cnn_loss(jnp, jconv, jpool, jax.nn.log_softmax,
                                                         jtake, p, x, y))(p)
        return [a - 0.01 * b for a, b in zip(p, g)], v
    d = jax.devices()[0]
    jp = [jax.device_put(a, d) for a in params]
    jx, jy = jax.device_put(x, d), jax.device_put(y, d)
    jp, jv = jstep(jp, jx, jy)
    jv.block_until_ready()
    t0 = time.perf_counter()
    for _ in range(n):
        jp, jv = jstep(jp, jx, jy)
    jv.block_until_ready()
    t_jax = (time.perf_counter() - t0) / n
    return (f"first call {first:.2f} s; max rel grad err {max(errs):.1e}; step functrans "
            f"{t_ft * 1e3:.2f} ms, jax {t_jax * 1e3:.2f} ms (jax/functrans {t_jax / t_ft:.2f})")


@check("pmap over the GPU devices (replica mode, psum/all_gather/axis_index) vs a named vmap")
def _():
    from functrans import lax
    gpus = [d for d in ft.devices() if d.platform == dev.platform]
    n = len(gpus)
    x = fnp.asarray(rng.standard_normal((n, 5)).astype(np.float32))

    def f(a):
        return (fnp.sin(a) * lax.psum(a * a, "d") + lax.axis_index("d")
                + lax.all_gather(a, "d").sum(0))
    got = ft.pmap(f, "d")(x)
    want = ft.vmap(f, axis_name="d")(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
    g = ft.grad(lambda xs: fnp.sum(ft.pmap(f, "d")(xs)))(x)
    gv = ft.grad(lambda xs: fnp.sum(ft.vmap(f, axis_name="d")(xs)))(x)
    np.testing.assert_allclose(np.asarray(g), np.asarray(gv), rtol=1e-4, atol=1e-5)
    return f"{n} device(s)"


@check("timing: jitted MLP SGD step on the GPU, functrans vs jax.jit")
def _():
    import jax.numpy as jnp

    def jax_step(p, x, y):
        v, g = jax.value_and_grad(lambda p: loss(jnp, p, x, y))(p)
        return [a - 0.01 * b for a, b in zip(p, g)], v

    def bench(step, p, x, y, block, n=200):
        p, v = step(p, x, y)
        block(v)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(n):
                p, v = step(p, x, y)
            block(v)
            best = min(best, (time.perf_counter() - t0) / n)
        return best

    fs = ft.jit(ft_step, donate_argnums=0)
    t_ft = bench(fs, [ft.device_put(fnp.asarray(a)) for a in P], ft.device_put(fnp.asarray(X)),
                 ft.device_put(fnp.asarray(Y)), lambda v: v.block_until_ready())
    js = jax.jit(jax_step, donate_argnums=0)
    d = jax.devices()[0]
    t_jax = bench(js, [jax.device_put(a, d) for a in P], jax.device_put(X, d),
                  jax.device_put(Y, d), lambda v: v.block_until_ready())
    d_ft = ft.jit(lambda x: x + 1.0)
    x10 = ft.device_put(fnp.ones(10))
    d_jax = jax.jit(lambda x: x + 1.0)
    j10 = jax.device_put(np.ones(10, np.float32), d)
    t_dft = bench(lambda p, x, y: (p, d_ft(x10)), None, None, None, lambda v: v.block_until_ready(), 2000)
    t_djax = bench(lambda p, x, y: (p, d_jax(j10)), None, None, None, lambda v: v.block_until_ready(), 2000)
    return (f"MLP step: functrans {1 / t_ft:.0f} steps/s, jax {1 / t_jax:.0f} steps/s "
            f"(functrans/jax = {t_jax / t_ft:.2f}); dispatch x+1: functrans {t_dft * 1e6:.1f} us, "
            f"jax {t_djax * 1e6:.1f} us")


print(f"\nsummary: {len(passed)} passed, {len(failed)} failed" + (f": {failed}" if failed else ""))
sys.exit(1 if failed else 0)
EOF
results+=("python checks: exit $?")

if python3 -c "import pytest" 2>/dev/null; then
    echo
    echo "== pytest tests/test_jit_api.py (GPU as the default backend)"
    timeout 90 python3 -m pytest -q -x -p no:cacheprovider tests/test_jit_api.py 2>&1 | tail -25
    results+=("tests/test_jit_api.py: exit ${PIPESTATUS[0]}")
    echo
    echo "== pytest tests/test_conv.py -k jit (convolution and pooling jitted on the GPU vs eager)"
    timeout 90 python3 -m pytest -q -p no:cacheprovider tests/test_conv.py -k "jit or off_the_cpu" 2>&1 | tail -15
    results+=("tests/test_conv.py -k jit: exit ${PIPESTATUS[0]} (124 = timed out)")
    echo
    echo "== pytest tests/test_nn.py tests/test_optim.py -k jit (layers and optimizers jitted on the GPU)"
    timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_nn.py tests/test_optim.py -k jit 2>&1 | tail -15
    results+=("tests/test_nn.py tests/test_optim.py -k jit: exit ${PIPESTATUS[0]} (124 = timed out)")
    others=$(ls tests/test_jit_*.py 2>/dev/null | grep -v test_jit_api.py)
    if [ -n "$others" ]; then
        echo
        echo "== pytest $others"
        timeout 75 python3 -m pytest -q -p no:cacheprovider $others 2>&1 | tail -25
        results+=("other jit test files: exit ${PIPESTATUS[0]} (124 = timed out)")
    fi
else
    results+=("pytest is not installed: test files not run")
fi

echo
echo "== gpu_check summary"
for r in "${results[@]}"; do echo "  $r"; done
