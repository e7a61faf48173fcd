"""The one module that touches jaxlib's (non-public) runtime API.

Everything functrans needs from jaxlib goes through the small surface below:
backends and devices, moving host arrays to a device and back, compiling
StableHLO text into an executable, and running it. jaxlib's runtime API is not
public and changes between releases; keeping it here means one file absorbs
those changes. Verified against jax/jaxlib 0.10.2 (CPU) and 0.11.x (CUDA); see
docs/jaxlib.md.

jax itself is used only for these runtime objects (buffers are jax ``Array``
objects, placed with jaxlib's ``batched_device_put``). Nothing here traces or
transforms.
"""

from __future__ import annotations

import functools
import re

import numpy as np

_XLA_ERROR_LINE = re.compile(r"(error|Error|ERROR)[^\n]*")


@functools.lru_cache(maxsize=None)
def _jax():
    # Imported lazily: eager functrans never needs jax, and importing it costs ~0.5 s.
    import jax
    import jax.extend  # noqa: F401  (not imported by `import jax`)
    from jax.sharding import SingleDeviceSharding
    from jaxlib import xla_client
    import jaxlib._jax as jaxlib_ext
    return jax, xla_client, jaxlib_ext, SingleDeviceSharding


def backend(platform: str | None = None):
    """jaxlib's client for ``platform`` ('cpu', 'gpu'/'cuda'), or the default one."""
    jax = _jax()[0]
    return jax.extend.backend.get_backend(platform)


def devices(platform: str | None = None) -> list:
    """The devices of ``platform`` (default: the default backend's)."""
    return list(backend(platform).devices())


def default_device():
    return devices()[0]


def device_platform(device) -> str:
    return device.platform


def is_buffer(x) -> bool:
    """Whether ``x`` is a device buffer made by this module."""
    return type(x).__name__ == "ArrayImpl" and hasattr(x, "addressable_shards")


@functools.lru_cache(maxsize=4096)
def _placement(shape, dtype, device):
    jax, _, _, SingleDeviceSharding = _jax()
    from jax.core import ShapedArray as JaxShapedArray
    return JaxShapedArray(shape, dtype), SingleDeviceSharding(device)


def device_put(value: np.ndarray, device, copy: bool = False):
    """A buffer on ``device`` holding ``value`` (a host numpy array).

    On the CPU the buffer may share ``value``'s memory (zero copy) unless
    ``copy``; that is safe because functrans never writes a host array after
    creating it, except through donation, which must pass ``copy=True``.
    """
    ext = _jax()[2]
    value = np.asarray(value)
    aval, sharding = _placement(value.shape, value.dtype, device)
    # enable_x64: our dtypes are already canonical (functrans's own x64 mode);
    # jax's mode must not narrow a float64 buffer to float32.
    return ext.batched_device_put(aval, sharding, [value], [device], True, copy,
                                  enable_x64=True)


def buffer_device(buf):
    return next(iter(buf.devices()))


def to_numpy(buf) -> np.ndarray:
    """The buffer's value on the host (a zero-copy, read-only view on the CPU)."""
    return np.asarray(buf)


def is_deleted(buf) -> bool:
    return buf.is_deleted()


def block_until_ready(buf):
    return buf.block_until_ready()


class CompileError(RuntimeError):
    """XLA rejected a module; the message names the function and the failing operation."""


# XLA:CPU options, set per compilation (CompileOptions.env_option_overrides: DebugOptions
# fields by name). jaxlib 0.10's XLA:CPU hands dots, convolutions and reductions to
# YNNPACK by default; its convolutions measured 1.7-2x slower than XLA's own (Eigen) ones
# on the benchmark machine (2-core AMD EPYC, AVX-512; float32 NHWC, min of 5 interleaved
# rounds): (64,14,14,32)x(3,3,32,64) 5.1 vs 2.7 ms, its input gradient 5.3 vs 2.8 ms, its
# kernel gradient 6.8-7.7 vs 4.0-4.3 ms; only a single-input-feature conv was faster in
# YNNPACK (0.5 vs 1.6 ms), and conv_cpu.py lowers those as a patch matrix and a dot.
# So YNNPACK keeps dots and reductions (where it is as fast or faster) but not
# convolutions. The conv3x3 CNN training step of bench_conv.py: 15.3-16.1 ms instead
# of 23.6-24.3 ms. A jaxlib without the option (older, or a renamed flag) compiles
# without it: _CPU_OPTIONS is dropped after the first rejection.
_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type":
                "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"}
_cpu_options_ok = [True]


def _compile_options(platform: str):
    xla_client = _jax()[1]
    opts = xla_client.CompileOptions()
    if platform == "cpu" and _cpu_options_ok[0]:
        opts.env_option_overrides = list(_CPU_OPTIONS.items())
    return opts


def compile(module_text: str, device, name: str = "fun"):
    """Compiles StableHLO text for one device; returns a loaded executable."""
    client = backend(device.platform) if device is not None else backend()
    platform = device.platform if device is not None else client.platform
    return _compile(client, module_text, (device,), platform, name, lambda opts: None)


def compile_replicated(module_text: str, devices: list, name: str = "fun"):
    """Compiles a replica-mode module (``mhlo.num_replicas = len(devices)``: one copy of
    the program per device, collectives across them) for ``devices``, replica i on
    ``devices[i]``."""
    xla_client = _jax()[1]
    platform = devices[0].platform
    n = len(devices)

    def replicas(opts):
        build = opts.executable_build_options
        build.num_replicas = n
        build.num_partitions = 1
        build.device_assignment = xla_client.DeviceAssignment.create(
            np.asarray([d.id for d in devices]).reshape(n, 1))
    return _compile(backend(platform), module_text, tuple(devices), platform, name, replicas)


def _compile(client, module_text, devices: tuple, platform, name, configure):
    """``compile_and_load`` with this module's options (``configure(opts)`` adds to them);
    a CPU option this jaxlib does not know is dropped and the compile retried."""
    xla_client = _jax()[1]

    def options():
        opts = _compile_options(platform)
        configure(opts)
        return opts
    device_list = xla_client.DeviceList(devices)
    try:
        try:
            return client.compile_and_load(module_text, device_list, options())
        except Exception as e:
            if platform != "cpu" or not _cpu_options_ok[0] or \
                    not any(k in str(e) for k in _CPU_OPTIONS):
                raise
            _cpu_options_ok[0] = False  # this jaxlib does not know the option
            return client.compile_and_load(module_text, device_list, options())
    except Exception as e:  # jaxlib raises XlaRuntimeError / ValueError with C++ text
        raise CompileError(_summarize_compile_error(name, module_text, str(e))) from None


@functools.lru_cache(maxsize=64)
def _replica_shardings(devices: tuple):
    """(split along axis 0, replicated) shardings over ``devices``, made once."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec
    mesh = Mesh(np.asarray(devices, dtype=object), ("replicas",))
    return NamedSharding(mesh, PartitionSpec("replicas")), NamedSharding(mesh, PartitionSpec())


def device_put_split(value: np.ndarray, devices: list):
    """One buffer over ``devices``: slice i of ``value`` (along axis 0, kept as a leading
    axis of 1) on ``devices[i]``; ``value.shape[0] == len(devices)``."""
    jax = _jax()[0]
    return jax.device_put(np.asarray(value), _replica_shardings(tuple(devices))[0])


def device_put_replicated(value: np.ndarray, devices: list):
    """One buffer holding a copy of ``value`` on each of ``devices``."""
    jax = _jax()[0]
    return jax.device_put(np.asarray(value), _replica_shardings(tuple(devices))[1])


def execute_replicated(executable, buffers: list) -> list:
    """Runs a replicated executable; returns, per output, the list of its per-device
    results as host arrays (replica order)."""
    results = executable.execute_sharded(buffers)
    return [[np.asarray(b) for b in per_device]
            for per_device in results.disassemble_into_single_device_arrays()]


def _summarize_compile_error(name: str, text: str, message: str) -> str:
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    first = lines[0] if lines else message
    # MLIR diagnostics carry `loc("...":line:col)`; name the offending op line when possible.
    m = re.search(r":(\d+):(\d+)", message)
    op_line = ""
    if m:
        n = int(m.group(1))
        src = text.splitlines()
        if 0 < n <= len(src):
            op_line = f"\n  at: {src[n - 1].strip()[:300]}"
    return (f"XLA could not compile jit({name}): {first[:500]}{op_line}\n"
            "(the StableHLO is available from jit(f).lower(*args).as_text())")


def result_handlers(out_avals, device):
    """Per-output handlers that turn ``execute``'s results into buffers (made once
    per executable: results consumed with them skip a Python callback per output),
    or None where this jaxlib has no ``array_result_handler``."""
    jax, _, ext, SingleDeviceSharding = _jax()
    make = getattr(ext, "array_result_handler", None)
    if make is None:
        return None
    from jax.core import ShapedArray as JaxShapedArray
    sharding = SingleDeviceSharding(device)
    avals = [JaxShapedArray(a.shape, a.dtype) for a in out_avals]
    # jaxlib 0.10 takes ``_skip_checks``; 0.11 (extension version >= 489) dropped it.
    for kwargs in ({"committed": True, "_skip_checks": True}, {"committed": True}):
        try:
            return [make(a, sharding, **kwargs) for a in avals]
        except TypeError:
            continue
    return None  # a different signature in another jaxlib: take the generic path


def execute(executable, buffers: list, handlers=None) -> list:
    """Runs ``executable`` on device buffers; returns its output buffers.

    ``handlers`` (from :func:`result_handlers`) makes it faster.
    """
    results = executable.execute_sharded(buffers)
    if handlers is not None:
        return results.consume_with_handlers(handlers)
    return [x[0] for x in results.disassemble_into_single_device_arrays()]


def live_buffers(platform: str | None = None) -> int:
    """How many device buffers of ``platform``'s client are alive (for leak tests)."""
    return len(backend(platform).live_arrays())


def live_executables(platform: str | None = None) -> int:
    """How many loaded executables of ``platform``'s client are alive (for leak tests)."""
    return len(backend(platform).live_executables())


__all__ = ["backend", "devices", "default_device", "device_platform", "is_buffer",
           "device_put", "buffer_device", "to_numpy", "is_deleted", "block_until_ready",
           "CompileError", "compile", "result_handlers", "execute", "live_buffers",
           "live_executables",
           "compile_replicated", "device_put_split", "device_put_replicated",
           "execute_replicated"]
