"""The jit cache: each jitted function keeps at most ``config.jit_cache_size``
executables (least recently used evicted), the option is validated, and a
deleted jitted function (or an evicted entry) frees its executables.

Compiles are counted from ``log_compiles`` records, and live executables with
the XLA client's own count, so nothing here trusts the cache's bookkeeping.
"""

import gc
import logging
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans.interpreters import xla


@pytest.fixture
def cache_size():
    """Sets jit_cache_size for one test (``cache_size(n)``), restoring it afterwards."""
    old = ft.config.jit_cache_size
    yield lambda n: ft.config.update("jit_cache_size", n)
    ft.config.update("jit_cache_size", old)


@pytest.fixture
def compiles(caplog):
    """``compiles()``: how many compiles were logged since the last call."""
    caplog.set_level(logging.WARNING, logger="functrans.jit")
    seen = [0]

    def count():
        n = sum("compiled for" in r.getMessage() for r in caplog.records)
        new, seen[0] = n - seen[0], n
        return new
    with ft.config.option("log_compiles", True):
        yield count


def _fun(x):
    return x * 2.0 + 1.0


def _call(f, n):
    """f on a fresh array of shape (n,), checked against numpy."""
    x = np.arange(n, dtype=np.float32)
    out = f(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), x * 2.0 + 1.0)
    return out


def test_default_is_jax_like():
    # JAX's trace/lower/compile caches (weakref_lru_cache) hold 2048 entries
    if "FUNCTRANS_JIT_CACHE_SIZE" not in os.environ:
        assert ft.config.jit_cache_size == 2048


def test_the_bound_holds_and_the_least_recently_used_is_evicted(cache_size, compiles):
    cache_size(3)
    f = ft.jit(_fun)
    for n in (1, 2, 3):
        _call(f, n)
    assert compiles() == 3
    _call(f, 1)                      # a hit: shape 1 becomes the most recent
    _call(f, 4)                      # evicts shape 2, the least recently used
    assert compiles() == 1
    assert len(f._cache) == 3 and len(f._traces) <= 3
    _call(f, 1)
    _call(f, 3)
    _call(f, 4)
    assert compiles() == 0           # still cached
    _call(f, 2)                      # evicted: compiled again, and still correct
    assert compiles() == 1
    for n in range(5, 12):           # many more shapes: the bound holds
        _call(f, n)
    assert compiles() == 7
    assert len(f._cache) == 3 and len(f._traces) <= 3


def test_a_repeated_call_and_the_general_path_refresh_recency(cache_size, compiles):
    cache_size(2)
    f = ft.jit(lambda x, *, scale: x * scale)
    a, b, c = fnp.ones(1), fnp.ones(2), fnp.ones(3)
    f(a, scale=2.0)
    f(b, scale=2.0)
    f(a, scale=2.0)                  # keyword arguments: the general path
    f(c, scale=2.0)                  # evicts b
    assert compiles() == 3
    f(a, scale=2.0)
    assert compiles() == 0
    np.testing.assert_allclose(np.asarray(f(b, scale=3.0)), [3.0, 3.0])
    assert compiles() == 1


def test_lowering_the_option_shrinks_existing_caches(cache_size, compiles):
    cache_size(8)
    f = ft.jit(_fun)
    for n in range(1, 6):
        _call(f, n)
    assert compiles() == 5 and len(f._cache) == 5
    cache_size(2)
    assert len(f._cache) == 2 and len(f._traces) == 2
    _call(f, 4)
    _call(f, 5)                      # the two most recent are kept
    assert compiles() == 0
    _call(f, 1)
    assert compiles() == 1


def test_ahead_of_time_compile_respects_the_bound(cache_size):
    cache_size(1)
    f = ft.jit(_fun)
    _call(f, 1)
    compiled = f.lower(fnp.ones(2)).compile()
    assert len(f._cache) == 1
    np.testing.assert_allclose(np.asarray(compiled(fnp.ones(2))), [3.0, 3.0])


@pytest.mark.parametrize("bad", [0, -3, 1.5, "16", None, True])
def test_the_option_is_validated(cache_size, bad):
    cache_size(5)
    with pytest.raises(ValueError, match="jit_cache_size.*positive int"):
        ft.config.update("jit_cache_size", bad)
    assert ft.config.jit_cache_size == 5      # unchanged


def test_the_option_accepts_numpy_ints(cache_size):
    cache_size(np.int64(4))
    assert ft.config.jit_cache_size == 4 and type(ft.config.jit_cache_size) is int


def _import_with_env(value):
    env = dict(os.environ, FUNCTRANS_JIT_CACHE_SIZE=value)
    code = "import functrans as ft; print(ft.config.jit_cache_size)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_environment_variable_sets_the_default():
    out = _import_with_env("7")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "7"
    bad = _import_with_env("lots")
    assert bad.returncode != 0
    assert "FUNCTRANS_JIT_CACHE_SIZE" in bad.stderr and "positive int" in bad.stderr


def test_an_evicted_executable_is_freed(cache_size):
    cache_size(2)
    f = ft.jit(_fun)
    _call(f, 1)
    _call(f, 1)                      # a repeated call: the entry is the fast path's memo
    first = weakref.ref(next(iter(f._cache.values())))
    live = xla.live_executables()
    _call(f, 2)
    _call(f, 3)                      # evicts shape 1 (also from the memo)
    gc.collect()
    assert first() is None
    assert xla.live_executables() == live + 1   # 2 and 3 in, 1 out


def test_a_deleted_jitted_function_frees_its_executables():
    gc.collect()
    live = xla.live_executables()
    f = ft.jit(_fun)
    for n in (1, 2, 3):
        _call(f, n)
    assert xla.live_executables() == live + 3
    jitted, entry = weakref.ref(f), weakref.ref(next(iter(f._cache.values())))
    trace = weakref.ref(next(iter(f._traces.values())))
    del f
    gc.collect()
    assert jitted() is None and entry() is None and trace() is None
    assert xla.live_executables() == live


def test_a_deleted_jitted_function_frees_what_grad_and_vmap_compiled(cache_size):
    # jit_call's process-wide caches (derived sub-IRs, their executables) go with it
    cache_size(2)
    gc.collect()
    live = xla.live_executables()
    f = ft.jit(lambda x: fnp.sin(x) * 2.0)
    for n in (1, 2, 3):
        x = np.linspace(0.0, 1.0, n, dtype=np.float32)
        g = ft.grad(lambda x: f(x).sum())(fnp.asarray(x))
        np.testing.assert_allclose(np.asarray(g), 2.0 * np.cos(x), rtol=1e-6)
        v = ft.vmap(f)(fnp.asarray(np.stack([x, x])))
        np.testing.assert_allclose(np.asarray(v), 2.0 * np.sin(np.stack([x, x])), rtol=1e-6)
    assert xla.live_executables() > live
    del f
    gc.collect()
    assert xla.live_executables() == live


def test_a_compiled_stage_outlives_its_jitted_function():
    gc.collect()
    live = xla.live_executables()
    f = ft.jit(_fun)
    for n in (1, 2, 3):
        _call(f, n)
    compiled = f.lower(fnp.ones(4)).compile()
    jitted = weakref.ref(f)
    del f
    gc.collect()
    # it keeps its own executable, not the function's whole cache
    assert jitted() is None
    assert xla.live_executables() == live + 1
    np.testing.assert_allclose(np.asarray(compiled(fnp.ones(4))), [3.0] * 4)
    with pytest.raises(TypeError, match="compiled ahead of time"):
        compiled(fnp.ones(5))
    del compiled
    gc.collect()
    assert xla.live_executables() == live


def test_a_small_cache_bounds_live_executables(cache_size):
    # the memory an unbounded cache would hold: one executable per shape
    cache_size(4)
    gc.collect()
    live = xla.live_executables()
    f = ft.jit(_fun)
    for n in range(1, 41):
        _call(f, n)
    gc.collect()
    assert xla.live_executables() - live == 4
    assert len(f._cache) == 4


def _rss_mb():
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return None


@pytest.mark.slow
@pytest.mark.skipif(_rss_mb() is None, reason="needs /proc/self/statm")
def test_memory_grows_far_less_with_a_small_cache(cache_size):
    def growth(size, n=300):
        cache_size(size)
        f = ft.jit(lambda x: x * 2.0 + 1.0)
        _call(f, 1)
        gc.collect()
        r0 = _rss_mb()
        for i in range(2, n + 2):
            _call(f, i)
        gc.collect()
        return _rss_mb() - r0
    small = growth(16)
    large = growth(10_000)
    # measured: ~16 MB and ~50 MB (XLA keeps ~50 kB per compile outside our caches;
    # each cached executable holds ~0.12 MB more)
    assert large > 20, large
    assert small < large / 2, (small, large)
