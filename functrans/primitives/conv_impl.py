"""Eager impl (host) of ``conv_general_dilated``, and the strided-window helpers
that the windowed reductions share (``dilate_pad``, ``window_view``).

It lives apart from ``conv.py`` to keep that file readable; this module is
imported at the end of it, so the impl is registered with its primitive (as
``conv_lower.py`` registers the lowering). Two paths, chosen per call: the host
path (im2col + BLAS, channels-last) and, for large float convolutions with small
results or grouped ones, a cached XLA:CPU program. The thresholds below are module
attributes so that tests can force either path.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..core import bind
from .conv import (
    _compute_dtype,
    _dilate_dim,
    _out_spatial,
    _sdims,
    _take,
    conv_general_dilated_p,
)


def dilate_pad(x: np.ndarray, axes, dilation, padding, fill=0) -> np.ndarray:
    """``x`` with ``dilation - 1`` elements ``fill`` between elements and ``padding``
    (negative crops) along ``axes``; ``x`` itself when nothing changes."""
    if all(d == 1 for d in dilation) and all(lo == 0 and hi == 0 for lo, hi in padding):
        return x
    shape = list(x.shape)
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    for ax, d, (lo, hi) in zip(axes, dilation, padding):
        n = x.shape[ax]
        full = _dilate_dim(n, d)
        size = max(full + lo + hi, 0)
        shape[ax] = size
        # element j of x sits at lo + j*d in the output; keep those in [0, size)
        j0 = (-lo + d - 1) // d if lo < 0 else 0
        j1 = min(n, (size - 1 - lo) // d + 1) if size - 1 - lo >= 0 else 0
        if j1 <= j0:
            src[ax] = dst[ax] = slice(0, 0)
        else:
            src[ax] = slice(j0, j1)
            dst[ax] = slice(lo + j0 * d, lo + (j1 - 1) * d + 1, d)
    out = np.full(shape, fill, x.dtype)
    out[tuple(dst)] = x[tuple(src)]
    return out


def window_view(x: np.ndarray, axes, window, strides, window_dilation, out_sizes):
    """A read-only strided view of every window of ``x`` along ``axes``.

    The result has ``x``'s dimensions with each of ``axes`` replaced by its
    number of windows (``out_sizes``), followed by one dimension per window
    dimension: ``view[..., o, ..., k] = x[..., o*stride + k*dilation, ...]``.
    """
    shape = list(x.shape)
    st = list(x.strides)
    for ax, o, s in zip(axes, out_sizes, strides):
        shape[ax] = o
        st[ax] = x.strides[ax] * s
    shape += list(window)
    st += [x.strides[ax] * d for ax, d in zip(axes, window_dilation)]
    return np.lib.stride_tricks.as_strided(x, tuple(shape), tuple(st), writeable=False)


# With few input channels (a first layer on images), the im2col matrix is built
# transposed, (K * C, N * prod(out)): one strided copy per kernel tap and channel into a
# contiguous row, then BLAS reads it as a transposed operand. That is ~2x faster to build
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
# shapes), compiled on first use. XLA's convolutions (conv_lower.py's forms) beat im2col
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


def _xla_conv(lhs, rhs, params):
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
        from ..interpreters import xla
        from ..jit import jit
        try:
            cpu = xla.devices("cpu")[0]
        except Exception:  # noqa: BLE001 - no CPU backend: the host path
            cpu = None
        fn = None if cpu is None else jit(
            functools.partial(bind, conv_general_dilated_p, **params), device=cpu)
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


@conv_general_dilated_p.def_impl
def _conv_impl(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
               dimension_numbers, feature_group_count, batch_group_count,
               preferred_element_type=None):
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    params = dict(window_strides=window_strides, padding=padding, lhs_dilation=lhs_dilation,
                  rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                  feature_group_count=feature_group_count,
                  batch_group_count=batch_group_count,
                  preferred_element_type=preferred_element_type)
    res = _xla_conv(lhs, rhs, params)
    if res is not None:
        return res
    return _conv_host(lhs, rhs, **params)


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
