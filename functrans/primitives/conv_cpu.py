"""How ``conv_general_dilated`` (``conv.py``) runs on the CPU: the kernels behind its
impl and lower rules, which live in ``conv.py`` and call into this module.

Eager (the impl rule): two paths, chosen per call. The host path works
channels-last: one strided *view* of every window of the padded lhs, copied
into an im2col matrix (in cache-sized blocks), and BLAS matmuls (batched over
the groups); large float convolutions with small results, or grouped ones,
run as a cached XLA:CPU program instead. The thresholds are module attributes
so that tests can force either path.

Compiled (the lower rule): every platform can take the *native* form, one
``stablehlo.convolution``; it is what GPUs get (cuDNN). On the CPU the rule
may instead emit an equivalent program of slices, elementwise ops and
``stablehlo.dot_general``, chosen per convolution by :func:`choose_path` from
the shapes (the numbers behind the choice are in its comment). The forms, all
on the canonical layout (lhs ``(N, *S, C)`` after dilation and padding, rhs
``(*K, I, O)``, result ``(N, *P, O)``):

* ``"taps"``: for a small contraction (a depthwise layer: ``K * I`` of a few
  dozen), the result is a sum of ``K * I`` broadcast products, one per kernel
  tap and input feature: ``tap_slice[..., c] * rhs[tap, c, :]``. XLA fuses
  the sum into one loop over the output, with no im2col matrix.
* ``"patches"``: im2col: the ``K`` tap slices concatenated along the feature
  axis, ``(N, *P, K * C)`` (with one input feature, transposed: ``(K, N *
  P)``), and one ``dot_general`` with the rhs as a ``(K * I, O)`` matrix
  (feature or batch groups as dot batch dimensions).
* ``"positions"``: for a huge window and few output positions (a kernel
  gradient written as a convolution: window = the image, output = the
  kernel), one window slice ``(N, *K, C)`` per output position, stacked, and
  one ``dot_general`` contracting the window and features with the rhs.
* ``"split"``: a feature- or batch-grouped convolution as one ungrouped
  convolution per group (each lowered by the same choice), concatenated.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import dtypes
from ..core import ShapedArray, bind
from ..interpreters.lowering import i64_array
from ._windows import (_dilate_dim, _out_spatial, _sdims, _take, _window_out_dim, dilate_pad,
                       window_view)
from .linalg import DOT_PRECISION


def _compute_dtype(in_dtype, out_dtype):
    """The dtype both paths compute in: float16/bfloat16 widen to float32."""
    def widen(d):
        return np.dtype(np.float32) if d in (dtypes.float16, dtypes.bfloat16) else np.dtype(d)
    return np.result_type(widen(in_dtype), widen(out_dtype))


# --- eager: the host path and the XLA:CPU path ----------------------------------------------------


# than the (N * prod(out), K * C) matrix (whose rows are a few elements long), and
# np.matmul on it is ~2x faster than np.dot on the row-major matrix: for the first layer
# of the CNN benchmark, (128,28,28,1)x(3,3,1,32), matrix and product take 0.83-0.89 ms
# instead of 1.39-1.50 ms, the whole impl 1.8-1.9 instead of 2.1-2.2 ms (min and median of
# 9 interleaved rounds, 2-core AMD EPYC). With many channels the window view wins.
_FEW_CHANNELS = 4


def _im2col_t_by_taps(x, win, strides, rhs_dilation, out_sp, kdim):
    """The (prod(win) * C, N * prod(out)) transposed im2col matrix of channels-last ``x``."""
    n, c = x.shape[0], x.shape[-1]
    cols = np.empty((kdim, n) + tuple(out_sp), x.dtype)
    for k, tap in enumerate(np.ndindex(*win)):
        idx = (slice(None),) + tuple(
            slice(t * d, t * d + (o - 1) * s + 1, s)
            for t, d, o, s in zip(tap, rhs_dilation, out_sp, strides)) + (slice(None),)
        cols[k * c:(k + 1) * c] = np.moveaxis(x[idx], -1, 0)
    return cols.reshape(kdim, -1)


# With many channels the im2col matrix is large (the second layer of the CNN benchmark,
# (128,14,14,32)x(3,3,32,64), makes a 29 MB one), and writing it out then reading it back
# into BLAS is memory-bound; so are the page faults of a fresh padded input and matrix
# each call (~3 us each in a VM). Padding a block of images at a time and building its
# rows into one buffer that stays in cache, each block multiplied straight into its rows
# of the output, takes 6.6-7.1 ms there instead of 9.3-12 (median of 20 calls, 2-core AMD
# EPYC; blocks of 1-4 MB are best).
_IM2COL_BLOCK_BYTES = 3 << 20


def _im2col_matmul_blocked(x, w2, pad, win, strides, rhs_dilation, out_sp):
    """The ungrouped convolution of channels-last ``x`` (N, *S, C) with ``w2``
    (prod(win) * C, O) as im2col @ ``w2``, without materializing the whole im2col
    matrix: ``pad`` (dilation and padding) is applied to a block of whole images at a
    time, and the block's rows (runs of the first output dimension when one image is
    too large) are copied into a buffer reused for every block."""
    n, nsp = x.shape[0], len(win)
    kdim, o = w2.shape
    sp_axes = tuple(range(1, nsp + 1))
    res = np.empty((n,) + out_sp + (o,), np.result_type(x.dtype, w2.dtype))
    per_image = math.prod(out_sp) * kdim * x.dtype.itemsize
    step = max(1, _IM2COL_BLOCK_BYTES // per_image)
    step0 = out_sp[0] if step > 1 else max(1, out_sp[0] * _IM2COL_BLOCK_BYTES // per_image)
    buf = None
    for i in range(0, n, step):
        xb = pad(x[i:i + step])
        # (n_b, *out, *K, C): every window of the block
        pb = np.moveaxis(window_view(xb, sp_axes, win, strides, rhs_dilation, out_sp), 1 + nsp, -1)
        for j in range(0, out_sp[0], step0):
            src = pb[:, j:j + step0]
            rows = src.size // kdim
            if buf is None or buf.shape[0] < rows:
                buf = np.empty((rows, kdim), x.dtype)
            dst = buf[:rows]
            dst.reshape(src.shape)[...] = src
            np.matmul(dst, w2, out=res[i:i + step, j:j + step0].reshape(rows, o))
    return res


# Large eager convolutions run as a compiled XLA:CPU program, as JAX runs every eager
# operation: one jitted convolution per set of parameters (jit caches the executable per
# shapes), compiled on first use. XLA's convolutions (the lowering forms below) beat im2col
# + OpenBLAS on the benchmark machine (2-core AMD EPYC, float32, median of 20, ms):
#
#   convolution                                   XLA   im2col + BLAS
#   (64,14,14,32)x(3,3,32,64)          forward    2.65    3.93
#                                      dlhs       2.67    6.19
#                                      drhs       6.90   13.8
#   depthwise (32,28,28,32)x(3,3,1,32) forward    0.61   14.5
#                                      drhs       2.92    8.09
#   (64,28,28,8)x(3,3,8,32)            forward    2.30    3.76
#
# while a small one is as fast on the host (a first layer, (64,28,28,1)x(3,3,1,32), 29
# MFLOP: 0.58 vs 0.62 ms) and compiling costs ~50-100 ms once per shape. But XLA's result
# is a fresh buffer whose pages are faulted in on every call (~4 us per 4 KB page in
# this VM; glibc's malloc settings do not change it): a (64,14,14,64) result costs 784
# faults, and the forward above then takes ~7 ms instead of 2.65. So an ungrouped
# convolution takes XLA when it has XLA_MIN_FLOPS flops and a result of at most
# XLA_MAX_RESULT_BYTES (the gradients: the kernel's is small, the input's is the input),
# a grouped one (whose host path is a batched matmul of small matrices) from
# XLA_MIN_FLOPS_GROUPED flops; float32/float64 only. The rest, and any convolution XLA
# fails to compile, take the host path below. Tests set these to force either path.
XLA_MIN_FLOPS = 50e6
XLA_MAX_RESULT_BYTES = 2 << 20
XLA_MIN_FLOPS_GROUPED = 1e6
_xla_convs: dict = {}    # parameters -> jitted convolution, or None where XLA failed
_XLA_CACHE_SIZE = 256


def _xla_conv(prim, lhs, rhs, params):
    """The convolution as a compiled XLA:CPU program, or None (the host path applies)."""
    if lhs.dtype != rhs.dtype or lhs.dtype not in (np.float32, np.float64):
        return None
    dn = params["dimension_numbers"]
    o = rhs.shape[dn.rhs_spec[0]]
    n_out = lhs.shape[dn.lhs_spec[0]] // params["batch_group_count"]
    grouped = params["feature_group_count"] > 1 or params["batch_group_count"] > 1
    out_sp = _out_spatial(_take(lhs.shape, dn.lhs_spec[2:]), _take(rhs.shape, dn.rhs_spec[2:]),
                          params["window_strides"], params["padding"], params["lhs_dilation"],
                          params["rhs_dilation"])
    results = n_out * math.prod(out_sp) * o
    flops = 2 * results * math.prod(_take(rhs.shape, dn.rhs_spec[1:]))
    if grouped:
        if flops < XLA_MIN_FLOPS_GROUPED:
            return None
    elif flops < XLA_MIN_FLOPS or results * lhs.dtype.itemsize > XLA_MAX_RESULT_BYTES:
        return None
    key = tuple(sorted(params.items()))
    fn = _xla_convs.get(key, False)
    if fn is False:
        from ..interpreters import xla  # (only when a conv runs eagerly: keeps import light)
        from ..jit import jit  # jit sits above the primitives (the api layer)
        try:
            cpu = xla.devices("cpu")[0]
        except Exception:  # noqa: BLE001 - no CPU backend: the host path
            cpu = None
        fn = None if cpu is None else jit(
            functools.partial(bind, prim, **params), device=cpu)
        if len(_xla_convs) >= _XLA_CACHE_SIZE:
            _xla_convs.clear()
        _xla_convs[key] = fn
    if fn is None:
        return None
    want = np.dtype(lhs.dtype if params["preferred_element_type"] is None
                    else params["preferred_element_type"])
    try:
        res = np.asarray(fn(lhs, rhs))
    except Exception:  # noqa: BLE001 - XLA could not compile or run it: the host path
        _xla_convs[key] = None
        return None
    return res if res.dtype == want else None   # (float64 with x64 off: the host path)


def _conv_host(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
               dimension_numbers, feature_group_count, batch_group_count,
               preferred_element_type=None):
    """The host path: im2col (in cache-sized blocks) and BLAS."""
    dn = dimension_numbers
    nsp = lhs.ndim - 2
    out_dtype = np.dtype(lhs.dtype if preferred_element_type is None else preferred_element_type)
    compute = _compute_dtype(lhs.dtype, out_dtype)
    # channels-last working layouts: lhs (N, *S, C), rhs (*K, I, O)
    x = np.transpose(lhs, (dn.lhs_spec[0],) + _sdims(dn.lhs_spec) + (dn.lhs_spec[1],))
    w = np.transpose(rhs, _sdims(dn.rhs_spec) + (dn.rhs_spec[1], dn.rhs_spec[0]))
    x = x.astype(compute, copy=False)
    w = w.astype(compute, copy=False)
    sp_axes = tuple(range(1, nsp + 1))
    win = w.shape[:nsp]
    out_sp = _out_spatial(x.shape[1:1 + nsp], win, window_strides, padding, lhs_dilation,
                          rhs_dilation)
    n, c = x.shape[0], x.shape[-1]
    o = w.shape[-1]
    g, b = feature_group_count, batch_group_count
    n_out = n // b
    kdim = math.prod(win) * c // g
    m = math.prod(out_sp)
    if m * n_out * o == 0 or kdim == 0:
        res = np.zeros((n_out,) + out_sp + (o,), compute)
    elif g == 1 and b == 1 and c > _FEW_CHANNELS:
        # rows (n, *out); columns (*K, C) to match w's (*K, I) rows
        res = _im2col_matmul_blocked(
            x, w.reshape(kdim, o), lambda xb: dilate_pad(xb, sp_axes, lhs_dilation, padding),
            win, window_strides, rhs_dilation, out_sp)
    else:
        x = dilate_pad(x, sp_axes, lhs_dilation, padding)
        # (N, *out, C, *K): every window, then the im2col matrix (one copy)
        patches = window_view(x, sp_axes, win, window_strides, rhs_dilation, out_sp)
        if g == 1 and b == 1:
            cols = _im2col_t_by_taps(x, win, window_strides, rhs_dilation, out_sp, kdim).T
            res = np.matmul(cols, w.reshape(kdim, o))
        elif g > 1:
            # (G, n*m, K*Cg) @ (G, K*Cg, Og)
            p = patches.reshape((n,) + out_sp + (g, c // g) + win)
            p = np.moveaxis(p, 1 + nsp, 0)            # (G, N, *out, Cg, *K)
            p = np.moveaxis(p, 2 + nsp, -1)           # (G, N, *out, *K, Cg)
            cols = p.reshape(g, n * m, kdim)
            wg = w.reshape(win + (c // g, g, o // g))
            wg = np.moveaxis(wg, nsp + 1, 0).reshape(g, kdim, o // g)
            res = np.matmul(cols, wg)                 # (G, n*m, Og)
            res = np.moveaxis(res, 0, 1)              # (n*m, G, Og)
        else:
            # batch groups: lhs batch split (B, N/B) group-major, output features (B, O/B)
            p = patches.reshape((b, n_out) + out_sp + (c,) + win)
            p = np.moveaxis(p, 2 + nsp, -1)           # (B, N/B, *out, *K, C)
            cols = p.reshape(b, n_out * m, kdim)
            wb = w.reshape(win + (c, b, o // b))
            wb = np.moveaxis(wb, nsp + 1, 0).reshape(b, kdim, o // b)
            res = np.matmul(cols, wb)                 # (B, n_out*m, Ob)
            res = np.moveaxis(res, 0, 1)              # (n_out*m, B, Ob)
        res = res.reshape((n_out,) + out_sp + (o,))
    # back from (N, *S, O) to out_spec's order
    canon = (dn.out_spec[0],) + _sdims(dn.out_spec) + (dn.out_spec[1],)
    res = np.transpose(res, np.argsort(canon))
    if res.dtype.kind == "c" and out_dtype.kind != "c":
        res = res.real
    return res.astype(out_dtype, copy=False)


# --- compiled: the lowering forms ---------------------------------------------------------------

# Tests and benchmarks set this to one of PATHS to force that form on the CPU (a form that
# does not apply to a convolution falls back to native).
FORCE_PATH = None

PATHS = ("native", "taps", "patches", "positions", "split")


class _Geometry:
    """A convolution's canonical shapes: lhs (N, *S, C) after lhs dilation and padding,
    rhs (*K, I, O), result (N // B, *P, O)."""

    def __init__(self, la, ra, window_strides, padding, lhs_dilation, rhs_dilation,
                 dimension_numbers, feature_group_count, batch_group_count):
        lhs_spec, rhs_spec, _ = dimension_numbers
        self.n = la.shape[lhs_spec[0]]
        self.c = la.shape[lhs_spec[1]]
        self.i = ra.shape[rhs_spec[1]]
        self.o = ra.shape[rhs_spec[0]]
        self.win = tuple(ra.shape[d] for d in rhs_spec[2:])
        self.g, self.b = feature_group_count, batch_group_count
        self.strides, self.rhs_dilation = tuple(window_strides), tuple(rhs_dilation)
        self.padded = tuple(max(_dilate_dim(la.shape[d], ld) + lo + hi, 0) for d, ld, (lo, hi)
                            in zip(lhs_spec[2:], lhs_dilation, padding))
        self.out = tuple(_window_out_dim(s, _dilate_dim(k, r), st) for s, k, r, st
                         in zip(self.padded, self.win, self.rhs_dilation, self.strides))
        self.taps = math.prod(self.win)
        self.positions = math.prod(self.out)

    def group(self) -> "_Geometry":
        """The geometry of one group's convolution (feature or batch group), ungrouped."""
        sub = object.__new__(_Geometry)
        sub.__dict__.update(self.__dict__)
        sub.n = self.n // self.b
        sub.c = self.i
        sub.o = self.o // (self.g * self.b)
        sub.g = sub.b = 1
        return sub


# --- choosing the form --------------------------------------------------------------------
#
# Measured with bench/bench_conv_lowering.py (which re-measures all of this) on the benchmark
# machine: 2-core AMD EPYC with AVX-512, shared with other jobs (IQRs of 10-40%), jaxlib
# 0.10.2, float32 NHWC/HWIO, stride 1, SAME; medians of 9 interleaved samples, ms. "native"
# is XLA's own (Eigen) convolution: xla.py keeps convolutions away from YNNPACK, whose
# convolutions were 1.7-2x slower. dlhs/drhs: the convolutions of the input and kernel
# gradients.
#
#   convolution                          native    taps  patches  positions   split
#   (64,28,28,1)x(3,3,1,32)      fwd       1.65    0.38    0.77
#   (64,28,28,1)x(5,5,1,16)      fwd       2.73    0.78    2.77
#   (32,32,32,3)x(3,3,3,32)      fwd       1.45    0.83    1.49
#   (64,28,28,4)x(3,3,4,32)      fwd       2.25    1.74    1.69
#   (64,28,28,8)x(3,3,8,32)      fwd       2.01    4.54    4.79
#   (64,14,14,32)x(3,3,32,64)    fwd       3.19            6.43     8.75
#                                dlhs      5.92           22.9     30.4
#                                drhs      4.90            8.68     8.32
#   (16,64,64,3)x(7,7,3,64) s2   fwd       5.48    9.27    6.36
#   (64,14,14,64)x(1,1,64,128)   fwd       2.32    6.42    2.53     3.54
#   depthwise (32,28,28,32)x(3,3,1,32)
#                                fwd      23.8     0.50   36.6               24.6
#                                dlhs     22.5     0.44   31.6               23.9
#                                drhs      6.27                    30.8       3.37
#   4 groups (32,28,28,32)x(3,3,8,32)
#                                fwd       6.40    3.01   28.2                5.46
#                                drhs    251                       29.2       6.23
#   kernel gradients (drhs) with 2, 8 and 64 batch groups (earlier runs, minimum of 5):
#   native 131, 473, 1809 against split 3.8, 3.1, 2.4.
#
# Alone, "taps" is the fastest form for a first layer; inside a training step it is not:
# XLA fuses the elementwise sum into each of its consumers and recomputes it there, and
# one consumer is the max pool's window reduction with an argmax (a scalar loop), which
# then costs ~5 ms instead of 0.3. The CNN step of bench_conv.py with its first layer as
# native / taps / patches: 14.5 / 16.0 / 13.6 ms (medians; minima of 9 rounds in another
# run 13.4 / 14.7 / 12.4); with 3 input features 14.4 / 23.3 / 13.5, with 4 14.3 / 29.0 /
# 13.7, a 5x5 first layer 14.4 / 22.0 / 13.3 (minima of 7); with average pooling instead
# taps and patches tie (11.4). A depthwise layer (3x3, 32 groups) before a max pool: taps
# 25 ms per step, split 71, native 93, so grouped convolutions keep "taps".
#
# So, on the CPU: an ungrouped convolution with a small contraction (K * I up to ~40: first
# layers) as "patches", every other ungrouped one native (XLA's convolution beats im2col +
# dot_general once the contraction is real: the patch matrix costs as much as the dot, and
# more once it outgrows the allocator's reuse); a grouped one as "taps" while K * I is
# small (up to ~100 terms: its native convolution is slow), else one ungrouped convolution
# per group ("split"); every batch-grouped one (XLA:CPU's batch_group_count convolution is
# 2-750x slower) as "split", or "positions" when there are too many groups to unroll.
PATCHES_MAX_TERMS = 40
TAPS_MAX_TERMS_GROUPED = 96


def choose_path(platform, geom: _Geometry) -> str:
    """Which form lowers a convolution with these canonical shapes on ``platform``."""
    if platform != "cpu":
        return "native"
    if FORCE_PATH is not None:
        return FORCE_PATH if applies(FORCE_PATH, geom) else "native"
    if geom.b > 1:
        if applies("split", geom):
            return "split"
        if geom.o // geom.b > 1 and applies("positions", geom):
            return "positions"
        return "native"
    terms = geom.taps * geom.i
    if geom.g == 1:
        return "patches" if terms <= PATCHES_MAX_TERMS and applies("patches", geom) else "native"
    if terms <= TAPS_MAX_TERMS_GROUPED and applies("taps", geom):
        return "taps"
    return "split" if applies("split", geom) else "native"


# The forms unroll a Python loop into the module (one slice per tap, per tap and feature,
# or per output position); beyond this many, even a forced form falls back to native.
MAX_UNROLL = 256


def applies(path: str, geom: _Geometry) -> bool:
    """Whether ``path`` can lower this convolution (every form handles strides, padding,
    dilations and feature groups; "taps" has no batch groups)."""
    if path == "native":
        return True
    if geom.positions == 0 or geom.n // geom.b == 0 or geom.o == 0 or geom.taps == 0 \
            or geom.i == 0:
        return False  # an empty result or contraction: the native op handles the edge cases
    if path == "taps":
        return geom.b == 1 and geom.taps * geom.i <= MAX_UNROLL
    if path == "patches":
        return geom.taps <= MAX_UNROLL
    if path == "split":
        return (geom.g > 1 or geom.b > 1) and geom.g * geom.b <= MAX_UNROLL
    return path == "positions" and geom.positions <= MAX_UNROLL


def _native(ctx, lhs, rhs, la, ra, res_aval, *, window_strides, padding, lhs_dilation,
            rhs_dilation, dimension_numbers, feature_group_count, batch_group_count):
    """One ``stablehlo.convolution``."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    nsp = la.ndim - 2

    def ints(xs):
        return "[" + ", ".join(map(str, xs)) + "]"

    dn = (f"#stablehlo.conv<raw input_batch_dimension = {lhs_spec[0]}, "
          f"input_feature_dimension = {lhs_spec[1]}, "
          f"input_spatial_dimensions = {ints(lhs_spec[2:])}, "
          f"kernel_input_feature_dimension = {rhs_spec[1]}, "
          f"kernel_output_feature_dimension = {rhs_spec[0]}, "
          f"kernel_spatial_dimensions = {ints(rhs_spec[2:])}, "
          f"output_batch_dimension = {out_spec[0]}, "
          f"output_feature_dimension = {out_spec[1]}, "
          f"output_spatial_dimensions = {ints(out_spec[2:])}>")
    pad_text = ", ".join(f"[{lo}, {hi}]" for lo, hi in padding)
    precision = f"#stablehlo<precision {DOT_PRECISION}>"
    attrs = [f"batch_group_count = {batch_group_count} : i64",
             f"dimension_numbers = {dn}",
             f"feature_group_count = {feature_group_count} : i64",
             f"precision_config = [{precision}, {precision}]"]
    if nsp:
        attrs += [f"lhs_dilation = {i64_array(lhs_dilation)}",
                  f"padding = dense<[{pad_text}]> : tensor<{nsp}x2xi64>",
                  f"rhs_dilation = {i64_array(rhs_dilation)}",
                  f"window_strides = {i64_array(window_strides)}"]
    return ctx.op("stablehlo.convolution", [lhs, rhs], [la, ra], res_aval, ", ".join(attrs))


# --- building blocks: values are (name, aval) pairs ----------------------------------------


class _Builder:
    def __init__(self, ctx):
        self.ctx = ctx

    def transpose(self, x, perm):
        name, aval = x
        perm = tuple(perm)
        if perm == tuple(range(aval.ndim)):
            return x
        out = ShapedArray(tuple(aval.shape[p] for p in perm), aval.dtype)
        return self.ctx.op("stablehlo.transpose", [name], [aval], out,
                           f"permutation = {i64_array(perm)}"), out

    def reshape(self, x, shape):
        name, aval = x
        shape = tuple(int(d) for d in shape)
        if shape == tuple(aval.shape):
            return x
        out = ShapedArray(shape, aval.dtype)
        return self.ctx.op("stablehlo.reshape", [name], [aval], out), out

    def slice(self, x, start, limit, strides=None):
        name, aval = x
        strides = tuple(strides) if strides is not None else (1,) * aval.ndim
        if tuple(start) == (0,) * aval.ndim and tuple(limit) == tuple(aval.shape) \
                and strides == (1,) * aval.ndim:
            return x
        shape = tuple(max(0, -(-(hi - lo) // s)) for lo, hi, s in zip(start, limit, strides))
        out = ShapedArray(shape, aval.dtype)
        return self.ctx.op("stablehlo.slice", [name], [aval], out,
                           f"start_indices = {i64_array(start)}, "
                           f"limit_indices = {i64_array(limit)}, "
                           f"strides = {i64_array(strides)}"), out

    def pad(self, x, lo, hi, interior):
        name, aval = x
        if not any(lo) and not any(hi) and not any(interior):
            return x
        shape = tuple(_dilate_dim(d, i + 1) + a + b
                      for d, a, b, i in zip(aval.shape, lo, hi, interior))
        zero_aval = ShapedArray((), aval.dtype)
        zero = self.ctx.constant(0, zero_aval)
        out = ShapedArray(shape, aval.dtype)
        return self.ctx.op("stablehlo.pad", [name, zero], [aval, zero_aval], out,
                           f"edge_padding_low = {i64_array(lo)}, "
                           f"edge_padding_high = {i64_array(hi)}, "
                           f"interior_padding = {i64_array(interior)}"), out

    def concatenate(self, xs, dim):
        if len(xs) == 1:
            return xs[0]
        avals = [a for _, a in xs]
        shape = list(avals[0].shape)
        shape[dim] = sum(a.shape[dim] for a in avals)
        out = ShapedArray(tuple(shape), avals[0].dtype)
        return self.ctx.op("stablehlo.concatenate", [n for n, _ in xs], avals, out,
                           f"dimension = {dim} : i64"), out

    def broadcast(self, x, shape, dims):
        name, aval = x
        out = ShapedArray(tuple(shape), aval.dtype)
        return self.ctx.broadcast(name, aval, shape, dims), out

    def binary(self, opname, x, y):
        return self.ctx.op(opname, [x[0], y[0]], [x[1], y[1]], x[1]), x[1]

    def dot(self, x, y, contract, batch=((), ())):
        """``stablehlo.dot_general``; the result is (batch, x's free dims, y's free dims)."""
        (xn, xa), (yn, ya) = x, y
        (xc, yc), (xb, yb) = contract, batch
        free_x = [d for d in range(xa.ndim) if d not in xc and d not in xb]
        free_y = [d for d in range(ya.ndim) if d not in yc and d not in yb]
        shape = ([xa.shape[d] for d in xb] + [xa.shape[d] for d in free_x]
                 + [ya.shape[d] for d in free_y])
        out = ShapedArray(tuple(shape), xa.dtype)
        fields = [f"{name} = [{', '.join(map(str, dims))}]" for name, dims in
                  (("lhs_batching_dimensions", xb), ("rhs_batching_dimensions", yb),
                   ("lhs_contracting_dimensions", xc), ("rhs_contracting_dimensions", yc))
                  if dims]
        precision = f"#stablehlo<precision {DOT_PRECISION}>"
        return self.ctx.op("stablehlo.dot_general", [xn, yn], [xa, ya], out,
                           f"dot_dimension_numbers = #stablehlo.dot<{', '.join(fields)}>, "
                           f"precision_config = [{precision}, {precision}]"), out

    def canonical_operands(self, lhs, rhs, dn, padding, lhs_dilation):
        """lhs as (N, *S, C), dilated and padded; rhs as (*K, I, O)."""
        lhs_spec, rhs_spec, _ = dn
        x = self.transpose(lhs, (lhs_spec[0],) + tuple(lhs_spec[2:]) + (lhs_spec[1],))
        lo = (0,) + tuple(p[0] for p in padding) + (0,)
        hi = (0,) + tuple(p[1] for p in padding) + (0,)
        interior = (0,) + tuple(d - 1 for d in lhs_dilation) + (0,)
        x = self.pad(x, lo, hi, interior)
        w = self.transpose(rhs, tuple(rhs_spec[2:]) + (rhs_spec[1], rhs_spec[0]))
        return x, w

    def tap_slice(self, x, tap, geom):
        """(N, *P, C): the lhs elements that kernel tap ``tap`` meets at every output position."""
        return self.slice(x, *_tap_window(x[1].shape[0], tap, geom, (x[1].shape[-1],)))

    def window_slice(self, x, pos, geom):
        """(N, *K, C): the window of output position ``pos``."""
        n, c = x[1].shape[0], x[1].shape[-1]
        start = (0,) + tuple(p * st for p, st in zip(pos, geom.strides)) + (0,)
        limit = (n,) + tuple(s + (k - 1) * d + 1 for s, k, d
                             in zip(start[1:-1], geom.win, geom.rhs_dilation)) + (c,)
        return self.slice(x, start, limit, (1,) + geom.rhs_dilation + (1,))


def _tap_window(n, tap, geom, feature):
    """(start, limit, strides) of a tap slice of (N, *S, *feature), feature = (C,) or ()."""
    zeros = (0,) * len(feature)
    start = (0,) + tuple(t * d for t, d in zip(tap, geom.rhs_dilation))
    limit = (n,) + tuple(s + (o - 1) * st + 1 for s, o, st
                         in zip(start[1:], geom.out, geom.strides))
    return start + zeros, limit + tuple(feature), (1,) + geom.strides + (1,) * len(feature)


# --- the forms ------------------------------------------------------------------------------


def _taps(b: _Builder, x, w, geom: _Geometry):
    """sum over taps t and group features ci of lhs features {g*I + ci} broadcast to their
    group's outputs, times rhs[t, ci, :]."""
    nsp = len(geom.win)
    g, i, o = geom.g, geom.i, geom.o
    res_shape = (geom.n,) + geom.out + (o,)
    acc = None
    for tap in np.ndindex(*geom.win):
        s = b.tap_slice(x, tap, geom)                                  # (N, *P, C)
        wt = b.reshape(b.slice(w, tap + (0, 0), tuple(t + 1 for t in tap) + (i, o)), (i, o))
        for ci in range(i):
            lim = s[1].shape[:-1] + (geom.c,)
            feat = b.slice(s, (0,) * (nsp + 1) + (ci,), lim,
                           (1,) * (nsp + 1) + (i,))                    # (N, *P, G)
            if g == 1:
                feat = b.broadcast(feat, res_shape, tuple(range(nsp + 2)))
            else:
                og = o // g
                feat = b.broadcast(feat, res_shape[:-1] + (g, og), tuple(range(nsp + 2)))
                feat = b.reshape(feat, res_shape)
            wv = b.reshape(b.slice(wt, (ci, 0), (ci + 1, o)), (o,))
            term = b.binary("stablehlo.multiply", feat,
                            b.broadcast(wv, res_shape, (nsp + 1,)))
            acc = term if acc is None else b.binary("stablehlo.add", acc, term)
    # (XLA fuses this sum into each consumer and recomputes it there; an
    # optimization_barrier does not stop that: XLA:CPU removes barriers before fusion)
    return acc


def _patches(b: _Builder, x, w, geom: _Geometry):
    nsp = len(geom.win)
    g, bg, i, o = geom.g, geom.b, geom.i, geom.o
    t, c = geom.taps, geom.c
    sp = tuple(range(1, nsp + 1))
    if g == 1 and bg == 1 and c == 1:
        # one input feature: the (T, N * P) transposed patch matrix is the tap slices
        # stacked along a new major axis (block copies, not a 1-element interleave; XLA
        # fuses the slices into the concatenation as long as no reshape flattens them
        # first: 0.14 instead of 0.53 ms for the CNN's first layer); the dot reads it as
        # a transposed operand
        x2 = b.reshape(x, x[1].shape[:-1])                           # (N, *S)
        rows = []
        for tap in np.ndindex(*geom.win):
            sl = b.slice(x2, *_tap_window(x2[1].shape[0], tap, geom, ()))
            rows.append(b.reshape(sl, (1,) + sl[1].shape))               # (1, N, *P)
        cols_t = b.reshape(b.concatenate(rows, 0), (t, geom.n * geom.positions))
        y = b.dot(cols_t, b.reshape(w, (t, o)), ((0,), (0,)))           # (N * P, O)
        return b.reshape(y, (geom.n,) + geom.out + (o,))
    cols = b.concatenate([b.tap_slice(x, tap, geom) for tap in np.ndindex(*geom.win)],
                         nsp + 1)                                      # (N, *P, T * C)
    if g == 1 and bg == 1:
        wm = b.reshape(w, (t * i, o))
        return b.dot(cols, wm, ((nsp + 1,), (0,)))
    if g > 1:
        cols = b.reshape(cols, cols[1].shape[:-1] + (t, g, i))         # (N, *P, T, G, I)
        wm = b.reshape(w, (t, i, g, o // g))
        y = b.dot(cols, wm, ((nsp + 1, nsp + 3), (0, 1)), ((nsp + 2,), (2,)))  # (G, N, *P, Og)
        y = b.transpose(y, (1,) + tuple(s + 1 for s in sp) + (0, nsp + 2))
        return b.reshape(y, (geom.n,) + geom.out + (o,))
    nb = geom.n // bg
    cols = b.reshape(cols, (bg, nb) + geom.out + (t * c,))             # (B, N/B, *P, T * C)
    wm = b.reshape(w, (t * i, bg, o // bg))
    y = b.dot(cols, wm, ((nsp + 2,), (0,)), ((0,), (1,)))              # (B, N/B, *P, Ob)
    y = b.transpose(y, (1,) + tuple(s + 1 for s in sp) + (0, nsp + 2))
    return b.reshape(y, (nb,) + geom.out + (o,))


def _positions(b: _Builder, x, w, geom: _Geometry):
    g, bg, i, o = geom.g, geom.b, geom.i, geom.o
    t, c = geom.taps, geom.c
    wins = []
    for pos in np.ndindex(*geom.out):
        s = b.window_slice(x, pos, geom)                               # (N, *K, C)
        wins.append(b.reshape(s, (1,) + s[1].shape))
    stack = b.concatenate(wins, 0)                                     # (P, N, *K, C)
    p = geom.positions
    stack = b.reshape(stack, (p, geom.n, t * c))                       # (P, N, T * C)
    if g == 1 and bg == 1:
        y = b.dot(stack, b.reshape(w, (t * i, o)), ((2,), (0,)))       # (P, N, O)
        y = b.transpose(y, (1, 0, 2))
        return b.reshape(y, (geom.n,) + geom.out + (o,))
    if g > 1:
        stack = b.reshape(stack, (p, geom.n, t, g, i))
        wm = b.reshape(w, (t, i, g, o // g))
        y = b.dot(stack, wm, ((2, 4), (0, 1)), ((3,), (2,)))           # (G, P, N, Og)
        y = b.transpose(y, (2, 1, 0, 3))
        return b.reshape(y, (geom.n,) + geom.out + (o,))
    nb = geom.n // bg
    stack = b.reshape(stack, (p, bg, nb, t * c))
    wm = b.reshape(w, (t * i, bg, o // bg))
    y = b.dot(stack, wm, ((3,), (0,)), ((1,), (1,)))                   # (B, P, N/B, Ob)
    y = b.transpose(y, (2, 1, 0, 3))
    return b.reshape(y, (nb,) + geom.out + (o,))


def _native_canonical(b: _Builder, x, w, geom: _Geometry):
    """One ``stablehlo.convolution`` on the canonical operands (already padded)."""
    nsp = len(geom.win)
    sp = tuple(range(1, nsp + 1))
    # (lhs_spec, rhs_spec, out_spec), as a ConvDimensionNumbers
    dn = ((0, nsp + 1) + sp, (nsp + 1, nsp) + tuple(range(nsp)), (0, nsp + 1) + sp)
    out = ShapedArray((geom.n // geom.b,) + geom.out + (geom.o,), x[1].dtype)
    name = _native(b.ctx, x[0], w[0], x[1], w[1], out, window_strides=geom.strides,
                   padding=((0, 0),) * nsp, lhs_dilation=(1,) * nsp,
                   rhs_dilation=geom.rhs_dilation, dimension_numbers=dn,
                   feature_group_count=geom.g, batch_group_count=geom.b)
    return name, out


def _split(b: _Builder, x, w, geom: _Geometry):
    """One ungrouped convolution per feature or batch group, concatenated along features."""
    nsp = len(geom.win)
    sub = geom.group()
    path = choose_path("cpu", sub)
    outs = []
    for k in range(geom.g * geom.b):
        xs, xa = x[1].shape, w[1].shape
        if geom.g > 1:   # the group's input features, its output features
            xk = b.slice(x, (0,) * (nsp + 1) + (k * sub.c,), xs[:-1] + ((k + 1) * sub.c,))
        else:            # the group's batch block
            xk = b.slice(x, (k * sub.n,) + (0,) * (nsp + 1), ((k + 1) * sub.n,) + xs[1:])
        wk = b.slice(w, (0,) * (nsp + 1) + (k * sub.o,), xa[:-1] + ((k + 1) * sub.o,))
        outs.append(_FORMS[path](b, xk, wk, sub))
    return b.concatenate(outs, nsp + 1)


_FORMS = {"native": _native_canonical, "taps": _taps, "patches": _patches,
          "positions": _positions, "split": _split}
