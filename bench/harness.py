"""A small benchmark harness for functrans and its peers (numpy, jax, torch).

A benchmark file defines :class:`Workload` objects and hands them to
:func:`main`::

    from harness import Workload, main

    def functrans_add():
        import functrans.numpy as fnp
        x = fnp.ones(10, dtype=fnp.float32)   # inputs: built here, not timed
        return lambda: x + 1.0                # the timed call

    def jax_add():
        import jax.numpy as jnp
        x = jnp.ones(10, dtype=jnp.float32)
        return lambda: (x + 1.0).block_until_ready()

    main([Workload("add", {"functrans": functrans_add, "jax": jax_add})])

Rules for workload authors
--------------------------
* Each implementation is a *factory*: a zero-argument function that builds its
  inputs (outside the timed region) and returns a zero-argument callable. Only
  calls of that callable are timed.
* The callable must finish the work before it returns. jax dispatches
  asynchronously, even in eager mode: a jax callable must end with
  ``.block_until_ready()`` on its result (or ``jax.block_until_ready(tree)``),
  otherwise the benchmark measures only the dispatch. The same holds for
  jitted functrans functions whose results live on a device. The harness
  cannot do this for you, because only the author knows what the result is.
* The callable's return value is used once, before timing, to check that all
  implementations computed the same thing (``np.allclose`` against the first
  implementation, which should be ``functrans``); set ``check=False`` on the
  Workload when outputs are not comparable. Return values are converted with
  ``np.asarray`` (``to_numpy`` on the Workload overrides that, e.g. for pytrees).
* A factory whose module is missing (``ModuleNotFoundError``) is skipped with
  a printed note, so the harness runs without jax or torch installed. A
  factory can also ``raise Skip("reason")``. Any other exception in a factory
  or in the first (untimed) call is reported as a failure of that
  implementation, and the others still run.
* ``ops`` on a Workload is the number of operations one call performs; when it
  is more than 1 the report adds a per-op time (median / ops).
* Never assert on times: benchmarks report, they do not pass or fail.

Method
------
For each implementation: warm up (at least ``warmup_ms`` of calls, at least 3),
then choose an inner loop count ``n`` (1, 2 or 5 x 10^k) so that one sample
of ``n`` back-to-back calls takes at least ``min_sample_ms`` (default 2 ms),
from the best of three short trial loops. Then ``samples`` rounds are run; in each round every implementation of
the workload takes one sample, in rotating order (round-robin), so slow drifts
and bursts of machine noise hit all peers alike. A sample's value is its
elapsed ``time.perf_counter_ns`` divided by ``n``. The garbage collector stays
enabled (its cost is part of a real program's cost), but ``gc.collect()`` runs
before each round so that no implementation inherits another's garbage.

Settling (``settle=True`` on a Workload, or ``--settle``): thread pools keep
spinning after a call returns (OpenBLAS's workers for ~0.1 s, torch's OpenMP
workers for ~10 ms), and in round-robin order the next implementation competes
with them for the cores: on 2 cores a 4 ms torch convolution takes 14-22 ms
right after a numpy matmul. With settling, before each sample the harness waits
until every process of the run is idle (its CPU time grows by < 5% over 5 ms,
at most 1 s), then makes one untimed call of the implementation (waking its own
pool), then times the sample: each implementation is measured as it runs in a
loop of its own, as a training script runs it. Use it for workloads that
multithread (BLAS, convolutions, XLA programs); it costs up to ~0.1 s per sample.

The report gives, per implementation, the median time per call, the
interquartile range (IQR, q75 - q25) of the samples, and the ratio of its
median to functrans's median (``numpy/functrans`` < 1 means numpy is faster).
The spread of that ratio is the IQR of the per-round ratios (rounds pair up
samples taken moments apart). Only ratios within one run are meaningful:
absolute numbers from different runs or machines are not comparable.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any, Callable

import numpy as np

__all__ = ["Workload", "Skip", "Result", "run_workload", "machine_info", "main",
           "PEER_ORDER"]

#: Report order of the usual implementations; others follow in given order.
PEER_ORDER = ("functrans", "numpy", "jax", "torch")
#: The implementation that ratios are taken against.
BASELINE = "functrans"


class Skip(Exception):
    """Raised by a factory to skip its implementation, with a reason."""


@dataclasses.dataclass
class Workload:
    """A named piece of work with one factory per implementation.

    Attributes:
      name: shown in the report and matched by ``--filter``.
      impls: implementation name -> factory; a factory builds inputs and
        returns the zero-argument callable that is timed.
      ops: operations per call; > 1 adds a per-op column (median / ops).
      description: one line printed under the workload's title.
      check: compare each implementation's output with the first one's.
      rtol, atol: tolerances of that comparison (``np.allclose``).
      to_numpy: converts an output for the comparison (default ``np.asarray``).
      settle: before each sample, wait for an idle machine and make one untimed
        call (see "Settling" above).
    """

    name: str
    impls: dict[str, Callable[[], Callable[[], Any]]]
    ops: int = 1
    description: str = ""
    check: bool = True
    rtol: float = 1e-4
    atol: float = 1e-6
    to_numpy: Callable[[Any], np.ndarray] | None = None
    settle: bool = False


@dataclasses.dataclass
class Result:
    """Timing of one implementation of one workload (times in ns per call)."""

    impl: str
    samples_ns: list[float]
    inner_loops: int
    median_ns: float
    q1_ns: float
    q3_ns: float

    @property
    def iqr_ns(self) -> float:
        return self.q3_ns - self.q1_ns


def _quartiles(xs) -> tuple[float, float, float]:
    q1, med, q3 = np.percentile(np.asarray(xs, dtype=np.float64), [25, 50, 75])
    return float(q1), float(med), float(q3)


def _to_numpy(out: Any) -> np.ndarray:
    if hasattr(out, "detach"):  # torch.Tensor (np.asarray works too, but not with grad)
        out = out.detach().cpu().numpy()
    return np.asarray(out)


def _time_loop(fn: Callable[[], Any], n: int) -> int:
    """Elapsed ns of ``n`` back-to-back calls of ``fn``."""
    rng = range(n)
    t0 = time.perf_counter_ns()
    for _ in rng:
        fn()
    return time.perf_counter_ns() - t0


def _calibrate(fn: Callable[[], Any], min_sample_ns: int, warmup_ns: int) -> int:
    """Warms ``fn`` up, then returns the inner loop count for one sample.

    The per-call estimate is the best of 3 trials of at least 0.2 ms, so that a
    burst of machine noise during calibration does not shrink the loop count.
    """
    t_end = time.perf_counter_ns() + warmup_ns
    calls = 0
    while calls < 3 or time.perf_counter_ns() < t_end:
        fn()
        calls += 1
    k = 1
    while True:
        best = min(_time_loop(fn, k) for _ in range(3))
        if best >= 200_000:
            break
        k *= 2
    per_call = max(best / k, 1.0)
    scale = 1
    while True:
        for mult in (1, 2, 5):
            if scale * mult * per_call >= min_sample_ns:
                return scale * mult
        scale *= 10


def _settle(window_s: float = 0.005, busy: float = 0.05, max_s: float = 1.0) -> float:
    """Waits until this process's threads are idle: its CPU time grows by less than
    ``busy`` of a ``window_s`` sleep (spinning pool workers have gone to sleep), at
    most ``max_s``. Returns the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_s:
        c0 = time.process_time()
        time.sleep(window_s)
        if time.process_time() - c0 < busy * window_s:
            break
    return time.perf_counter() - t0


def _order(names) -> list[str]:
    known = [p for p in PEER_ORDER if p in names]
    return known + [p for p in names if p not in known]


def _setup_error(e: BaseException) -> str:
    """Why a factory did not give a callable, as the report says it."""
    if isinstance(e, ModuleNotFoundError):
        return f"not installed ({e})"
    if isinstance(e, Skip):
        return str(e) or "skipped"
    return f"setup failed: {type(e).__name__}: {e}"


class _InProcess:
    """One implementation run in this process (the default)."""

    def __init__(self, w: Workload, name: str):
        self.fn = w.impls[name]()
        self.convert = w.to_numpy or _to_numpy

    def first(self, convert: bool):
        out = self.fn()
        return self.convert(out) if convert else out

    def calibrate(self, min_ns: int, warm_ns: int) -> int:
        return _calibrate(self.fn, min_ns, warm_ns)

    def sample(self, n: int) -> int:
        return _time_loop(self.fn, n)

    def settle(self) -> float:
        return _settle()

    def warm(self) -> None:
        self.fn()

    def collect(self) -> None:
        pass  # run_workload collects this process's garbage at each round

    def close(self) -> None:
        pass


def _worker(conn, module_file: str, workload: str, impl: str) -> None:
    """The process of one implementation under ``--isolate``: imports the
    benchmark file (its WORKLOADS), builds the callable and serves requests."""
    try:
        spec = importlib.util.spec_from_file_location("_isolated_bench", module_file)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        w = next(x for x in mod.WORKLOADS if x.name == workload)
        runner = _InProcess(w, impl)
    except BaseException as e:  # noqa: BLE001 - reported by the parent
        conn.send(("setup", _setup_error(e)))
        return
    conn.send(("ready", None))
    while True:
        op, *args = conn.recv()
        if op == "stop":
            return
        try:
            if op == "collect":  # the start of a round, as gc.collect() in-process
                gc.collect()
                conn.send(("ok", None))
                continue
            conn.send(("ok", getattr(runner, op)(*args)))
        except Exception as e:  # noqa: BLE001 - reported by the parent
            conn.send(("error", f"{type(e).__name__}: {e}"))


class _Isolated:
    """One implementation in a process of its own (``--isolate``), driven over a
    pipe: its libraries' thread pools (torch's OpenMP, XLA's) do not share a
    process with the other implementations'."""

    def __init__(self, w: Workload, name: str):
        import multiprocessing
        factory = w.impls[name]
        module_file = getattr(sys.modules.get(factory.__module__), "__file__", None)
        if module_file is None:
            raise RuntimeError(f"--isolate needs {name}'s factory in a benchmark file with "
                               "a module-level WORKLOADS list")
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, module_file, w.name, name),
                                daemon=True)
        self.proc.start()
        child.close()
        status, why = self.conn.recv()
        if status != "ready":
            self.close()
            raise Skip(why)

    def _call(self, *msg):
        self.conn.send(msg)
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(value)
        return value

    def first(self, convert: bool):
        return self._call("first", convert)

    def calibrate(self, min_ns: int, warm_ns: int) -> int:
        return self._call("calibrate", min_ns, warm_ns)

    def sample(self, n: int) -> int:
        return self._call("sample", n)

    def settle(self) -> float:
        return self._call("settle")

    def warm(self) -> None:
        self._call("warm")

    def collect(self) -> None:
        self._call("collect")

    def close(self) -> None:
        try:
            self.conn.send(("stop",))
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()


def run_workload(w: Workload, *, samples: int = 15, min_sample_ms: float = 2.0,
                 warmup_ms: float = 50.0, impls: set[str] | None = None,
                 log=print, isolate: bool = False,
                 settle: bool | None = None) -> tuple[dict[str, Result], dict[str, str]]:
    """Times every implementation of ``w``, interleaved.

    With ``isolate``, each implementation runs in a process of its own (same
    interleaving, driven over pipes), so libraries with thread pools do not
    compete inside one process. ``settle`` (default: ``w.settle``) waits for
    idle processes and makes one untimed call before each sample.

    Returns ``(results, skipped)``: results by implementation name, and the
    reason for each implementation that did not run. Raises ``RuntimeError``
    when outputs disagree (the benchmark would compare different work).
    """
    runners: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    try:
        return _run(w, runners, skipped, samples, min_sample_ms, warmup_ms, impls, log,
                    _Isolated if isolate else _InProcess,
                    w.settle if settle is None else settle)
    finally:
        for r in runners.values():
            r.close()


def _run(w, runners, skipped, samples, min_sample_ms, warmup_ms, impls, log, runner_type,
         settle):
    for name in _order(list(w.impls)):
        if impls is not None and name not in impls:
            continue
        try:
            runners[name] = runner_type(w, name)
        except Exception as e:  # noqa: BLE001 - e.g. a broken import; reported
            skipped[name] = _setup_error(e)
    for name, why in skipped.items():
        log(f"  note: skipping {name}: {why}")
    if not runners:
        return {}, skipped

    # One untimed call each: a smoke test (an implementation that raises is
    # reported and left out, so one unsupported operation does not stop the
    # run) and the outputs for the cross-check.
    check = w.check and len(runners) > 1
    outs = {}
    for name in list(runners):
        try:
            outs[name] = runners[name].first(check)
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            runners.pop(name).close()
            skipped[name] = f"failed: {type(e).__name__}: {e}"
            log(f"  note: skipping {name}: {skipped[name]}")
    if not runners:
        return {}, skipped

    if check and len(outs) > 1:
        ref_name = next(iter(outs))
        ref = outs[ref_name]
        for name, out in outs.items():
            if out.shape != ref.shape or not np.allclose(
                    out.astype(np.float64), ref.astype(np.float64),
                    rtol=w.rtol, atol=w.atol, equal_nan=True):
                err = (np.max(np.abs(out.astype(np.float64) - ref)) if out.shape == ref.shape
                       else f"shape {out.shape} vs {ref.shape}")
                raise RuntimeError(f"{w.name}: {name} disagrees with {ref_name} "
                                   f"(max abs diff {err}); refusing to time different work")

    min_ns, warm_ns = int(min_sample_ms * 1e6), int(warmup_ms * 1e6)
    loops = {name: r.calibrate(min_ns, warm_ns) for name, r in runners.items()}
    times: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for s in range(samples):
        gc.collect()
        for r in runners.values():
            r.collect()
        k = s % len(names)
        for name in names[k:] + names[:k]:  # rotate who goes first
            n = loops[name]
            if settle:
                for r in runners.values():
                    r.settle()
                runners[name].warm()
            times[name].append(runners[name].sample(n) / n)

    results = {}
    for name in names:
        q1, med, q3 = _quartiles(times[name])
        results[name] = Result(name, times[name], loops[name], med, q1, q3)
    return results, skipped


# ---------------------------------------------------------------- machine info

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(mod: str) -> str | None:
    try:
        m = importlib.import_module(mod)
    except Exception:  # ImportError, or a broken install
        return None
    return getattr(m, "__version__", "?")


def _git_rev() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    return rev.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def machine_info() -> dict[str, Any]:
    """The machine and software that a run's numbers belong to."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "os": platform.platform(),
        "python": sys.version.split()[0] + f" ({platform.python_implementation()})",
        "numpy": np.__version__,
        "jax": _version("jax"),
        "torch": _version("torch"),
        "functrans_git": _git_rev(),
    }
    if info["torch"] is not None:
        import torch
        info["torch_threads"] = torch.get_num_threads()
    blas_env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                           "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                           "MKL_NUM_THREADS") if k in os.environ}
    if blas_env:
        info["env"] = blas_env
    return info


def format_machine(info: dict[str, Any]) -> str:
    missing = lambda v: "not installed" if v is None else v  # noqa: E731
    lines = [
        f"date:      {info['date']}",
        f"cpu:       {info['cpu']}  ({info['cores']} cores, {info['usable_cores']} usable)",
        f"os:        {info['os']}",
        f"python:    {info['python']}",
        f"numpy:     {info['numpy']}",
        f"jax:       {missing(info['jax'])}",
        f"torch:     {missing(info['torch'])}"
        + (f" ({info['torch_threads']} threads)" if "torch_threads" in info else ""),
        f"functrans: git {info['functrans_git'] or '?'}",
    ]
    if "env" in info:
        lines.append("env:       " + " ".join(f"{k}={v}" for k, v in info["env"].items()))
    return "\n".join(lines)


# ---------------------------------------------------------------- report

def _fmt_us(ns: float) -> str:
    us = ns / 1e3
    return f"{us:.3f}" if us < 10 else f"{us:.2f}" if us < 100 else f"{us:.1f}" if us < 1e4 else f"{us:.0f}"


def ratio_stats(results: dict[str, Result], name: str, base: str = BASELINE):
    """(ratio of medians, q1, q3 of per-round ratios) of ``name`` vs ``base``."""
    r, b = results[name], results[base]
    paired = np.asarray(r.samples_ns) / np.asarray(b.samples_ns)
    q1, _, q3 = _quartiles(paired)
    return r.median_ns / b.median_ns, q1, q3


def ratio_lines(all_results: dict[str, dict[str, Result]], width: int = 20) -> list[str]:
    """One line per workload: each peer's median over functrans's (same run)."""
    lines = ["summary (ratio = peer median / functrans median; < 1: peer faster)"]
    for name, res in all_results.items():
        if BASELINE not in res:
            lines.append(f"  {name:{width}s} functrans did not run (see the note above its table)")
            continue
        base = res[BASELINE].median_ns
        parts = [f"{p}/functrans = {res[p].median_ns / base:.3g}" for p in res if p != BASELINE]
        lines.append(f"  {name:{width}s} " + ", ".join(parts))
    return lines


def format_table(w: Workload, results: dict[str, Result]) -> str:
    has_base = BASELINE in results
    headers = ["impl", "median µs/call", "IQR µs", "IQR %"]
    if w.ops > 1:
        headers.append("µs/op")
    headers += ["loops"]
    if has_base:
        headers += [f"x/{BASELINE}", "per-round q1..q3", "reading"]
    rows = []
    for name, r in results.items():
        row = [name, _fmt_us(r.median_ns), _fmt_us(r.iqr_ns),
               f"{100 * r.iqr_ns / r.median_ns:.1f}"]
        if w.ops > 1:
            row.append(_fmt_us(r.median_ns / w.ops))
        row.append(str(r.inner_loops))
        if has_base:
            if name == BASELINE:
                row += ["1", "", ""]
            else:
                ratio, q1, q3 = ratio_stats(results, name)
                reading = (f"{BASELINE} {1 / ratio:.1f}x slower" if ratio < 1
                           else f"{BASELINE} {ratio:.1f}x faster")
                row += [f"{name}/{BASELINE} = {ratio:.3g}", f"{q1:.3g}..{q3:.3g}", reading]
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    left = {0, len(headers) - 1} if has_base else {0}
    fmt = lambda cells: "  ".join(  # noqa: E731
        c.ljust(wd) if i in left else c.rjust(wd) for i, (c, wd) in enumerate(zip(cells, widths)))
    out = [fmt(headers).rstrip(), fmt(["-" * wd for wd in widths])]
    out += [fmt(r).rstrip() for r in rows]
    return "\n".join(out)


def _result_json(w: Workload, results: dict[str, Result], skipped: dict[str, str],
                 settled: bool = False) -> dict:
    d: dict[str, Any] = {"name": w.name, "description": w.description, "ops": w.ops,
                         "settled": settled, "skipped": skipped, "impls": {}}
    for name, r in results.items():
        e = {"median_ns": r.median_ns, "q1_ns": r.q1_ns, "q3_ns": r.q3_ns,
             "iqr_ns": r.iqr_ns, "inner_loops": r.inner_loops, "samples_ns": r.samples_ns}
        if w.ops > 1:
            e["median_ns_per_op"] = r.median_ns / w.ops
        if BASELINE in results and name != BASELINE:
            ratio, q1, q3 = ratio_stats(results, name)
            e[f"ratio_vs_{BASELINE}"] = ratio
            e[f"ratio_vs_{BASELINE}_q1"] = q1
            e[f"ratio_vs_{BASELINE}_q3"] = q3
        d["impls"][name] = e
    return d


# ---------------------------------------------------------------- command line

def main(workloads: list[Workload], argv: list[str] | None = None,
         description: str | None = None, epilogue: Callable[[dict], str] | None = None) -> dict:
    """Command line entry point: parses ``argv``, runs, prints, writes JSON.

    ``epilogue(all_results)``, if given, returns extra text printed at the end
    (e.g. a summary against a goal); ``all_results`` maps workload name to its
    ``{impl: Result}``. Returns the JSON-able report.
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--samples", type=int, default=15, help="samples per implementation (default 15)")
    p.add_argument("--filter", action="append", default=[], metavar="SUBSTR",
                   help="run only workloads whose name contains SUBSTR (repeatable)")
    p.add_argument("--impls", default=None,
                   help="comma-separated implementations to run (default: all)")
    p.add_argument("--min-sample-ms", type=float, default=2.0,
                   help="minimum duration of one sample (default 2 ms)")
    p.add_argument("--warmup-ms", type=float, default=50.0,
                   help="warmup per implementation (default 50 ms)")
    p.add_argument("--json", metavar="PATH", help="also write results as JSON to PATH")
    p.add_argument("--list", action="store_true", help="list workloads and exit")
    p.add_argument("--isolate", action="store_true",
                   help="run each implementation in a process of its own (interleaved as "
                        "usual): thread pools of torch, XLA and BLAS do not compete in one "
                        "process")
    p.add_argument("--settle", action="store_true",
                   help="before each sample, wait until no thread pool spins and make one "
                        "untimed call (on for workloads that set settle=True)")
    args = p.parse_args(argv)

    selected = [w for w in workloads
                if not args.filter or any(f in w.name for f in args.filter)]
    if args.list:
        for w in selected:
            print(f"{w.name}: {w.description}  [{', '.join(_order(list(w.impls)))}]")
        return {}
    impls = set(args.impls.split(",")) if args.impls else None

    info = machine_info()
    print(format_machine(info))
    print(f"method:    {args.samples} interleaved samples per impl, each >= "
          f"{args.min_sample_ms:g} ms; median and IQR of time per call"
          + ("; each impl in its own process (--isolate)" if args.isolate else "")
          + ("; every sample settled (--settle)" if args.settle else ""))
    report: dict[str, Any] = {"machine": info, "settings": vars(args), "workloads": []}
    all_results: dict[str, dict[str, Result]] = {}
    for w in selected:
        settle = args.settle or w.settle
        print(f"\n== {w.name}" + (f": {w.description}" if w.description else "")
              + ("\n   (settled: idle machine and one untimed call before each sample)"
                 if settle else ""))
        results, skipped = run_workload(w, samples=args.samples,
                                        min_sample_ms=args.min_sample_ms,
                                        warmup_ms=args.warmup_ms, impls=impls,
                                        isolate=args.isolate, settle=settle)
        all_results[w.name] = results
        if results:
            print(format_table(w, results))
        report["workloads"].append(_result_json(w, results, skipped, settle))
    if epilogue is not None:
        text = epilogue(all_results)
        if text:
            print("\n" + text)
            report["summary"] = text
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nwrote {args.json}")
    return report
