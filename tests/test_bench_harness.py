"""bench/harness.py: in-process and --isolate runs of a tiny benchmark file."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

_BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def bench_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(_BENCH))
    src = textwrap.dedent('''
        import numpy as np
        from harness import Skip, Workload

        def fast():
            x = np.arange(10.0)
            return lambda: x * 2

        def slow():
            x = np.arange(10.0)
            return lambda: sum(float(v) * 2 for v in x) * 0 + x * 2

        def skipped():
            raise Skip("not here")

        def wrong():
            return lambda: np.arange(10.0) * 3

        WORKLOADS = [Workload("double", {"functrans": fast, "numpy": slow, "torch": skipped}),
                     Workload("disagree", {"functrans": fast, "numpy": wrong})]
        ''')
    path = tmp_path / "bench_tiny.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("bench_tiny", path)
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_tiny", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("isolate", [False, True])
def test_run_workload_times_each_implementation_and_reports_skips(bench_module, isolate):
    import harness
    logs = []
    results, skipped = harness.run_workload(bench_module.WORKLOADS[0], samples=3,
                                            min_sample_ms=0.1, warmup_ms=1, log=logs.append,
                                            isolate=isolate)
    assert set(results) == {"functrans", "numpy"}
    assert skipped == {"torch": "not here"}
    for r in results.values():
        assert len(r.samples_ns) == 3 and r.median_ns > 0 and r.inner_loops >= 1


@pytest.mark.parametrize("isolate", [False, True])
def test_run_workload_refuses_to_time_different_work(bench_module, isolate):
    import harness
    with pytest.raises(RuntimeError, match="disagrees"):
        harness.run_workload(bench_module.WORKLOADS[1], samples=2, min_sample_ms=0.1,
                             warmup_ms=1, log=lambda *_: None, isolate=isolate)


@pytest.mark.parametrize("isolate", [False, True])
def test_settled_run_settles_every_process_and_warms_before_each_sample(
        bench_module, isolate, monkeypatch):
    import harness
    events = []
    cls = harness._Isolated if isolate else harness._InProcess
    for op in ("settle", "warm", "sample"):
        orig = getattr(cls, op)

        def wrapped(self, *args, _orig=orig, _op=op):
            events.append((_op, self))
            return _orig(self, *args)
        monkeypatch.setattr(cls, op, wrapped)
    results, _ = harness.run_workload(bench_module.WORKLOADS[0], samples=3,
                                      min_sample_ms=0.1, warmup_ms=1, log=lambda *_: None,
                                      isolate=isolate, settle=True)
    assert set(results) == {"functrans", "numpy"}
    runners = {r for _, r in events}
    assert len(runners) == 2
    # each of the 6 samples: every runner settles, then the sampled one is warmed
    assert len(events) == 6 * 4
    for i in range(0, len(events), 4):
        chunk = events[i:i + 4]
        assert [op for op, _ in chunk] == ["settle", "settle", "warm", "sample"]
        assert {r for _, r in chunk[:2]} == runners and chunk[2][1] is chunk[3][1]


def test_settle_waits_while_the_process_is_busy(monkeypatch):
    # a fake CPU clock: busy (CPU time grows as fast as wall time) for the first
    # `busy_windows` windows, idle after; _settle returns at the first idle window
    monkeypatch.syspath_prepend(str(_BENCH))     # (alone, no other test has imported it)
    import harness
    state = {"cpu": 0.0, "windows": 0, "busy_windows": 0}

    def process_time():
        return state["cpu"]

    def sleep(dt):
        state["windows"] += 1
        if state["windows"] <= state["busy_windows"]:
            state["cpu"] += dt

    monkeypatch.setattr(harness.time, "process_time", process_time)
    monkeypatch.setattr(harness.time, "sleep", sleep)
    for busy in (0, 3, 10):
        state.update(windows=0, busy_windows=busy)
        harness._settle(window_s=0.005, max_s=60.0)
        assert state["windows"] == busy + 1
    state.update(windows=0, busy_windows=10 ** 9)      # never idle: stops at max_s
    assert harness._settle(window_s=0.0, max_s=0.05) >= 0.05
