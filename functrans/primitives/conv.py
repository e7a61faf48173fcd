"""Convolution: the ``conv_general_dilated`` primitive, with JAX's lax wrappers
``conv_general_dilated``, ``conv``, ``conv_with_general_padding``,
``conv_transpose`` and ``conv_dimension_numbers``.

Params (static, hashable; the wrappers normalize them):

* ``window_strides``, ``lhs_dilation``, ``rhs_dilation``: one int >= 1 per
  spatial dimension; ``padding``: one ``(low, high)`` pair per spatial
  dimension (negative values crop).
* ``dimension_numbers``: a :class:`ConvDimensionNumbers` ``(lhs_spec, rhs_spec,
  out_spec)`` of dimension indices: ``lhs_spec = (batch, feature, *spatial)``,
  ``rhs_spec = (out feature, in feature, *spatial)``, ``out_spec = (batch,
  feature, *spatial)``, as in JAX and XLA.
* ``feature_group_count`` G: lhs features split into G groups, each convolved
  with its own block of G's share of the output features (grouped and
  depthwise convolutions). ``batch_group_count`` B: lhs batch split into B
  groups (group-major), each producing its share of the output features; the
  output batch is the lhs batch / B (it is how a grouped convolution's kernel
  gradient is written). At most one of G, B exceeds 1.
* ``preferred_element_type``: the output dtype, or None for the inputs'.

Semantics, as XLA's ConvGeneralDilated: the lhs is dilated (``lhs_dilation - 1``
zeros between elements), padded, and a kernel dilated by ``rhs_dilation`` slides
over it with ``window_strides``; each output is a sum over the window and the
group's input features (a cross-correlation: the kernel is not flipped).

The impl works channels-last: one strided *view* of every window of the padded
lhs, copied once into an im2col matrix, and one BLAS matmul (batched over the
groups). float16/bfloat16 compute in float32 and integers in their own dtype,
as ``dot_general`` does.

Autodiff: the op is bilinear; its transposes are the standard convolutions of
the cotangent (JAX's ``_conv_general_dilated_transpose_lhs``/``_rhs``): w.r.t.
the lhs, a convolution of the cotangent with the flipped kernel and
``lhs_dilation = window_strides``; w.r.t. the rhs, a convolution of the lhs
with the cotangent as the kernel (feature groups become batch groups). vmap
folds the mapped axis into the lhs batch (a mapped lhs) or into the output
features (a mapped rhs), with feature groups when both are mapped (JAX's rule).
jit emits one ``stablehlo.convolution``, or on the CPU an equivalent program of
slices and ``dot_general`` where that is faster (``conv_lower.py``).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.jvp import defjvp
from ..interpreters.reverse import is_undefined
from ._rules import COMPLEX, FLOAT, INT, UINT, check_dtype, check_same_dtypes
from .elementwise import convert_element_type
from .shape import reshape, rev, transpose

__all__ = [
    "ConvDimensionNumbers",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv_transpose",
    "conv_with_general_padding",
    "padtype_to_pads",
]


class ConvDimensionNumbers(NamedTuple):
    """Where the batch, feature and spatial dimensions of each operand are.

    ``lhs_spec = (batch, feature, *spatial)``, ``rhs_spec = (out feature, in
    feature, *spatial)``, ``out_spec = (batch, feature, *spatial)``.
    """
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


# --- shapes and parameters ----------------------------------------------------------------------


def _dilate_dim(d: int, dilation: int) -> int:
    return 0 if d == 0 else 1 + dilation * (d - 1)


def _dilate_shape(shape, dilation) -> tuple:
    return tuple(_dilate_dim(d, r) for d, r in zip(shape, dilation))


def _window_out_dim(size: int, window: int, stride: int) -> int:
    """Windows of ``window`` elements at ``stride`` that fit in ``size`` (>= 0)."""
    return max(0, (size - window) // stride + 1) if size >= window else 0


def padtype_to_pads(in_shape, window_shape, window_strides, padding) -> tuple:
    """Explicit ``(low, high)`` pads for "SAME", "SAME_LOWER" or "VALID" (as JAX).

    "SAME" pads so that the output has ``ceil(in / stride)`` elements, with
    the extra element of an odd pad at the high end ("SAME_LOWER": the low end).
    """
    if not isinstance(padding, str):
        return tuple((int(lo), int(hi)) for lo, hi in padding)
    kind = padding.upper()
    if kind == "VALID":
        return ((0, 0),) * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"padding must be 'SAME', 'SAME_LOWER', 'VALID' or a sequence of "
                         f"(low, high) pairs, got {padding!r}")
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        out = -(-n // s)
        total = max(0, (out - 1) * s + k - n)
        lo = total // 2 if kind == "SAME" else total - total // 2
        pads.append((lo, total - lo))
    return tuple(pads)


def _conv_general_permutations(dimension_numbers):
    """Index specs from layout strings such as ("NHWC", "HWIO", "NHWC") (JAX's rule:
    spatial dimensions are ordered as they appear in the rhs string)."""
    lhs_s, rhs_s, out_s = dimension_numbers
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for spec, (a, b) in zip(dimension_numbers, pairs):
        if not isinstance(spec, str) or spec.count(a) != 1 or spec.count(b) != 1 \
                or len(set(spec)) != len(spec):
            raise TypeError(f"conv_general_dilated: dimension_numbers {dimension_numbers!r}: "
                            f"{spec!r} must be a string with exactly one {a!r}, one {b!r} and "
                            "distinct letters")
    if not set(lhs_s) - {"N", "C"} == set(rhs_s) - {"O", "I"} == set(out_s) - {"N", "C"}:
        raise TypeError(f"conv_general_dilated: dimension_numbers {dimension_numbers!r} must "
                        "name the same spatial dimensions in lhs, rhs and out")

    def perm(spec, pair):
        spatial = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs_s:
            spatial = sorted(spatial, key=lambda i: rhs_s.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)

    return tuple(perm(s, p) for s, p in zip(dimension_numbers, pairs))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """Normalizes ``dimension_numbers`` to a :class:`ConvDimensionNumbers` of indices.

    Args:
      lhs_shape, rhs_shape: the operands' shapes (equal ranks, at least 2).
      dimension_numbers: None (NCHW, OIHW, NCHW: dimension order), a
        ConvDimensionNumbers (or 3-tuple of index tuples), or a 3-tuple of
        layout strings such as ``("NHWC", "HWIO", "NHWC")``.

    Example:
        >>> from functrans import lax
        >>> lax.conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
        ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    nd = len(lhs_shape)
    if nd != len(rhs_shape):
        raise TypeError(f"conv_general_dilated: lhs and rhs must have the same rank, got shapes "
                        f"{tuple(lhs_shape)} and {tuple(rhs_shape)}")
    if nd < 2:
        raise TypeError(f"conv_general_dilated: operands need rank >= 2 (batch and feature "
                        f"dimensions), got shapes {tuple(lhs_shape)} and {tuple(rhs_shape)}")
    if dimension_numbers is None:
        iota = tuple(range(nd))
        return ConvDimensionNumbers(iota, iota, iota)
    try:
        specs = tuple(dimension_numbers)
        ok = len(specs) == 3
    except TypeError:
        ok = False
    if not ok:
        raise TypeError("conv_general_dilated: dimension_numbers must be None, a "
                        "ConvDimensionNumbers or a tuple of 3 layout strings, got "
                        f"{dimension_numbers!r}")
    if all(isinstance(s, str) for s in specs):
        if any(len(s) != nd for s in specs):
            raise TypeError(f"conv_general_dilated: dimension_numbers {specs!r} must have one "
                            f"letter per dimension of the rank-{nd} operands")
        specs = _conv_general_permutations(specs)
    else:
        specs = tuple(tuple(int(d) for d in s) for s in specs)
        for name, s in zip(("lhs_spec", "rhs_spec", "out_spec"), specs):
            if sorted(s) != list(range(nd)):
                raise TypeError(f"conv_general_dilated: {name} {s} must be a permutation of "
                                f"range({nd})")
    return ConvDimensionNumbers(*specs)


def _sdims(spec):
    return spec[2:]


def _take(shape, dims) -> tuple:
    return tuple(shape[d] for d in dims)


# --- the primitive --------------------------------------------------------------------------------

conv_general_dilated_p = Primitive("conv_general_dilated")

_CONV_DTYPES = (INT, UINT, FLOAT, COMPLEX)


def _check_params(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dn,
                  feature_group_count, batch_group_count):
    op = "conv_general_dilated"
    shapes = f"lhs {lhs.str_short()} and rhs {rhs.str_short()}"
    nsp = lhs.ndim - 2
    for name, vals in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                       ("rhs_dilation", rhs_dilation), ("padding", padding)):
        if len(vals) != nsp:
            raise ValueError(f"{op}: {name} {tuple(vals)} needs {nsp} entries (one per spatial "
                             f"dimension) for {shapes}")
    for name, vals in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                       ("rhs_dilation", rhs_dilation)):
        if any(v < 1 for v in vals):
            raise ValueError(f"{op}: {name} must be positive, got {tuple(vals)}")
    g, b = feature_group_count, batch_group_count
    if g < 1 or b < 1:
        raise ValueError(f"{op}: feature_group_count and batch_group_count must be >= 1, got "
                         f"{g} and {b}")
    if g > 1 and b > 1:
        raise ValueError(f"{op}: at most one of feature_group_count ({g}) and "
                         f"batch_group_count ({b}) may exceed 1")
    n, c = lhs.shape[dn.lhs_spec[0]], lhs.shape[dn.lhs_spec[1]]
    o, i = rhs.shape[dn.rhs_spec[0]], rhs.shape[dn.rhs_spec[1]]
    if c % g or c // g != i:
        raise TypeError(f"{op}: the lhs feature dimension ({c}) must equal the rhs input feature "
                        f"dimension ({i}) times feature_group_count ({g}), for {shapes} "
                        f"(dimension_numbers={tuple(dn)})")
    if o % g:
        raise TypeError(f"{op}: the rhs output feature dimension ({o}) must be a multiple of "
                        f"feature_group_count ({g}), for {shapes}")
    if n % b or o % b:
        raise TypeError(f"{op}: the lhs batch ({n}) and the rhs output feature dimension ({o}) "
                        f"must be multiples of batch_group_count ({b}), for {shapes}")


def _out_spatial(lhs_sp, rhs_sp, window_strides, padding, lhs_dilation, rhs_dilation) -> tuple:
    out = []
    for n, k, s, (lo, hi), ld, rd in zip(lhs_sp, rhs_sp, window_strides, padding, lhs_dilation,
                                         rhs_dilation):
        padded = _dilate_dim(n, ld) + lo + hi
        out.append(_window_out_dim(max(padded, 0), _dilate_dim(k, rd), s))
    return tuple(out)


@conv_general_dilated_p.def_abstract_eval
def _conv_abstract_eval(lhs: ShapedArray, rhs: ShapedArray, *, window_strides, padding,
                        lhs_dilation, rhs_dilation, dimension_numbers, feature_group_count,
                        batch_group_count, preferred_element_type=None) -> ShapedArray:
    dn = dimension_numbers
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise TypeError(f"conv_general_dilated: lhs {lhs.str_short()} and rhs "
                        f"{rhs.str_short()} must have the same rank, at least 2")
    check_dtype("conv_general_dilated", lhs, _CONV_DTYPES, "lhs")
    check_same_dtypes("conv_general_dilated", (lhs, rhs))
    _check_params(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dn,
                  feature_group_count, batch_group_count)
    sp = _out_spatial(_take(lhs.shape, _sdims(dn.lhs_spec)), _take(rhs.shape, _sdims(dn.rhs_spec)),
                      window_strides, padding, lhs_dilation, rhs_dilation)
    shape = [0] * lhs.ndim
    shape[dn.out_spec[0]] = lhs.shape[dn.lhs_spec[0]] // batch_group_count
    shape[dn.out_spec[1]] = rhs.shape[dn.rhs_spec[0]]
    for d, size in zip(_sdims(dn.out_spec), sp):
        shape[d] = size
    if preferred_element_type is None:
        return ShapedArray(shape, lhs.dtype, lhs.weak_type and rhs.weak_type)
    return ShapedArray(shape, preferred_element_type, False)


def _compute_dtype(in_dtype, out_dtype):
    def widen(d):
        return np.dtype(np.float32) if d in (dtypes.float16, dtypes.bfloat16) else np.dtype(d)
    return np.result_type(widen(in_dtype), widen(out_dtype))


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


# --- autodiff rules ---------------------------------------------------------------------------------
#
# Bilinear: each operand's tangent gives one convolution. The transposes are
# JAX's: the lhs cotangent is a convolution of ct with the spatially flipped
# kernel whose in/out features are swapped, with lhs_dilation = the strides
# (the strided positions the forward read) and padding that makes the shapes
# meet; the rhs cotangent a convolution of the lhs with ct as the kernel, with
# the roles of batch and feature swapped in the dimension numbers.


def _conv_jvp_lhs(t, ans, lhs, rhs, **params):
    return bind(conv_general_dilated_p, t, rhs, **params)


def _conv_jvp_rhs(t, ans, lhs, rhs, **params):
    return bind(conv_general_dilated_p, lhs, t, **params)


def _spec_transpose(spec) -> tuple:
    return (spec[1], spec[0]) + tuple(spec[2:])


def _reshape_axis_out_of(src: int, size1: int, x):
    """Splits axis ``src`` into ``(size1, rest)`` (major, minor)."""
    shape = list(get_aval(x).shape)
    shape[src:src + 1] = [size1, shape[src] // size1]
    return reshape(x, tuple(shape))


def _reshape_axis_into(src: int, dst: int, x):
    """Merges axis ``src`` into axis ``dst`` (of the array without ``src``), as its major part."""
    aval = get_aval(x)
    perm = [i for i in range(aval.ndim) if i != src]
    perm.insert(dst, src)
    new_shape = [d for i, d in enumerate(aval.shape) if i != src]
    new_shape[dst] *= aval.shape[src]
    return reshape(transpose(x, tuple(perm)), tuple(new_shape))


def conv_general_vjp_lhs_padding(in_shape, window_dimensions, window_strides, out_shape, padding,
                                 lhs_dilation, rhs_dilation) -> tuple:
    """The padding of the lhs-transpose convolution (JAX's ``_conv_general_vjp_lhs_padding``)."""
    lhs_d = _dilate_shape(in_shape, lhs_dilation)
    rhs_d = _dilate_shape(window_dimensions, rhs_dilation)
    out_d = _dilate_shape(out_shape, window_strides)
    before = [k - lo - 1 for k, (lo, _) in zip(rhs_d, padding)]
    after = [ld + k - 1 - od - pb for ld, k, od, pb in zip(lhs_d, rhs_d, out_d, before)]
    return tuple(zip(before, after))


def _conv_general_vjp_rhs_padding(in_shape, window_dimensions, window_strides, out_shape, padding,
                                  lhs_dilation, rhs_dilation) -> tuple:
    lhs_d = _dilate_shape(in_shape, lhs_dilation)
    rhs_d = _dilate_shape(window_dimensions, rhs_dilation)
    out_d = _dilate_shape(out_shape, window_strides)
    pads = []
    for (lo, _), od, ld, k in zip(padding, out_d, lhs_d, rhs_d):
        pads.append((lo, od - ld + k - lo - 1))
    return tuple(pads)


def _transpose_lhs(ct, rhs, lhs_aval, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count):
    dn = dimension_numbers
    lhs_spec, rhs_spec, out_spec = dn
    g = feature_group_count
    rhs_shape = get_aval(rhs).shape
    if feature_group_count > 1:
        # the group axis moves from the kernel's output features to its input features
        rhs = _reshape_axis_out_of(rhs_spec[0], feature_group_count, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
    elif batch_group_count > 1:
        rhs = _reshape_axis_out_of(rhs_spec[0], batch_group_count, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
        g = batch_group_count
    trans_dn = ConvDimensionNumbers(out_spec, _spec_transpose(rhs_spec), lhs_spec)
    pads = conv_general_vjp_lhs_padding(
        _take(lhs_aval.shape, _sdims(lhs_spec)), _take(rhs_shape, _sdims(rhs_spec)),
        window_strides, _take(get_aval(ct).shape, _sdims(out_spec)), padding, lhs_dilation,
        rhs_dilation)
    out = bind(conv_general_dilated_p, ct, rev(rhs, tuple(_sdims(rhs_spec))),
               window_strides=tuple(lhs_dilation), padding=pads,
               lhs_dilation=tuple(window_strides), rhs_dilation=tuple(rhs_dilation),
               dimension_numbers=trans_dn, feature_group_count=g, batch_group_count=1,
               preferred_element_type=None)
    if batch_group_count > 1:
        out = _reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
        out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
    return out


def _transpose_rhs(ct, lhs, rhs_aval, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count):
    dn = dimension_numbers
    lhs_spec, rhs_spec, out_spec = dn
    g, b = feature_group_count, batch_group_count
    if b > 1:
        g, b = b, 1
    elif g > 1:
        g, b = 1, g
    trans_dn = ConvDimensionNumbers(_spec_transpose(lhs_spec), _spec_transpose(out_spec),
                                    _spec_transpose(rhs_spec))
    pads = _conv_general_vjp_rhs_padding(
        _take(get_aval(lhs).shape, _sdims(lhs_spec)), _take(rhs_aval.shape, _sdims(rhs_spec)),
        window_strides, _take(get_aval(ct).shape, _sdims(out_spec)), padding, lhs_dilation,
        rhs_dilation)
    return bind(conv_general_dilated_p, lhs, ct, window_strides=tuple(rhs_dilation),
                padding=pads, lhs_dilation=tuple(lhs_dilation),
                rhs_dilation=tuple(window_strides), dimension_numbers=trans_dn,
                feature_group_count=g, batch_group_count=b, preferred_element_type=None)


def _conv_transpose_rule(ct, lhs, rhs, *, preferred_element_type=None, **params):
    if is_undefined(lhs) and is_undefined(rhs):
        raise ValueError("conv_general_dilated: transpose with both operands linear (the "
                         "convolution is bilinear, not linear)")
    ct_dtype = get_aval(ct).dtype
    if is_undefined(lhs):
        x_aval, other = lhs.aval, rhs
    else:
        x_aval, other = rhs.aval, lhs
    if get_aval(other).dtype != ct_dtype:  # preferred_element_type: work in the output dtype
        other = convert_element_type(other, ct_dtype)
    if math.prod(get_aval(ct).shape) == 0 or math.prod(x_aval.shape) == 0:
        from ..interpreters.jvp import zeros_like_aval
        res = zeros_like_aval(x_aval)
    elif is_undefined(lhs):
        res = _transpose_lhs(ct, other, x_aval, **params)
    else:
        res = _transpose_rhs(ct, other, x_aval, **params)
    res = convert_element_type(res, x_aval.dtype)
    return [res, None] if is_undefined(lhs) else [None, res]


defjvp(conv_general_dilated_p, _conv_jvp_lhs, _conv_jvp_rhs)
conv_general_dilated_p.def_transpose(_conv_transpose_rule)


# --- batch rule (JAX's) -----------------------------------------------------------------------------


@conv_general_dilated_p.def_batch
def _conv_batch(args, bdims, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count,
                preferred_element_type=None):
    lhs, rhs = args
    lbd, rbd = bdims
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    g, b = feature_group_count, batch_group_count

    def conv(new_lhs, new_rhs, g, b):
        return bind(conv_general_dilated_p, new_lhs, new_rhs, window_strides=window_strides,
                    padding=padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                    dimension_numbers=dimension_numbers, feature_group_count=g,
                    batch_group_count=b, preferred_element_type=preferred_element_type)

    if lbd is not None and rbd is not None:
        size = get_aval(lhs).shape[lbd]
        # every example is its own group of features (or of batch, with batch groups)
        if b > 1:
            new_lhs = _reshape_axis_into(lbd, lhs_spec[0], lhs)
            b *= size
        else:
            new_lhs = _reshape_axis_into(lbd, lhs_spec[1], lhs)
            g *= size
        new_rhs = _reshape_axis_into(rbd, rhs_spec[0], rhs)
        out = conv(new_lhs, new_rhs, g, b)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    if lbd is not None:
        size = get_aval(lhs).shape[lbd]
        if b == 1:
            new_lhs = _reshape_axis_into(lbd, lhs_spec[0], lhs)
        else:
            # the examples go inside each batch group: (B, V * N/B)
            new_lhs = _reshape_axis_out_of(lhs_spec[0] + int(lbd <= lhs_spec[0]), b, lhs)
            new_lhs = _reshape_axis_into(lbd + int(lhs_spec[0] < lbd), lhs_spec[0] + 1, new_lhs)
            new_lhs = _reshape_axis_into(lhs_spec[0], lhs_spec[0], new_lhs)
        out = conv(new_lhs, rhs, g, b)
        return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
    size = get_aval(rhs).shape[rbd]
    if g == 1 and b == 1:
        new_rhs = _reshape_axis_into(rbd, rhs_spec[0], rhs)
        out = conv(lhs, new_rhs, g, b)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    # groups stay outermost in the output features: (G, V * O/G)
    groups = g if g > 1 else b
    new_rhs = _reshape_axis_out_of(rhs_spec[0] + int(rbd <= rhs_spec[0]), groups, rhs)
    new_rhs = _reshape_axis_into(rbd + int(rhs_spec[0] < rbd), rhs_spec[0] + 1, new_rhs)
    new_rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[0], new_rhs)
    out = conv(lhs, new_rhs, g, b)
    out = _reshape_axis_out_of(out_spec[1], groups, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, size, out)
    out = _reshape_axis_into(out_spec[1], out_spec[1] + 1, out)
    return out, out_spec[1]


# --- wrappers -----------------------------------------------------------------------------------------


def _ints(op: str, name: str, vals, n: int, default: int = 1) -> tuple:
    if vals is None:
        return (default,) * n
    if isinstance(vals, (int, np.integer)):
        return (int(vals),) * n
    vals = tuple(int(v) for v in vals)
    if len(vals) != n:
        raise ValueError(f"{op}: {name} {vals} needs {n} entries, one per spatial dimension")
    return vals


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None):
    """A general n-d convolution with strides, padding, dilations and groups (XLA's
    ConvGeneralDilated; JAX's ``lax.conv_general_dilated``).

    Args:
      lhs: the input, e.g. ``(N, H, W, C)`` with ``("NHWC", "HWIO", "NHWC")``.
      rhs: the kernel, e.g. ``(KH, KW, C // feature_group_count, O)`` for "HWIO".
      window_strides: one stride per spatial dimension.
      padding: "SAME", "SAME_LOWER", "VALID", or one ``(low, high)`` pair per
        spatial dimension (negative values crop).
      lhs_dilation: per spatial dimension, the dilation of the input
        (transposed convolutions); default 1.
      rhs_dilation: the dilation of the kernel (atrous convolutions); default 1.
      dimension_numbers: None (``NCHW``/``OIHW``/``NCHW``), a
        :class:`ConvDimensionNumbers` or three layout strings.
      feature_group_count: number of feature groups (``C`` for depthwise).
      batch_group_count: number of batch groups (see the module docstring).
      precision: accepted for lax compatibility; the host computes at full precision.
      preferred_element_type: the output dtype, or None for the inputs' dtype.

    Returns:
      The output in the layout of ``dimension_numbers``' out spec.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> x = fnp.ones((1, 5, 5, 1)); k = fnp.ones((3, 3, 1, 2))
        >>> y = lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        >>> y.shape, float(y[0, 2, 2, 0]), float(y[0, 0, 0, 0])
        ((1, 5, 5, 2), 9.0, 4.0)
    """
    op = "conv_general_dilated"
    la, ra = get_aval(lhs), get_aval(rhs)
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = la.ndim - 2
    window_strides = _ints(op, "window_strides", window_strides, nsp)
    lhs_dilation = _ints(op, "lhs_dilation", lhs_dilation, nsp)
    rhs_dilation = _ints(op, "rhs_dilation", rhs_dilation, nsp)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError(f"{op}: string padding {padding!r} is ambiguous with lhs_dilation "
                             f"{lhs_dilation}; give explicit (low, high) pairs, or use "
                             "conv_transpose (as JAX)")
        in_sp = _take(la.shape, _sdims(dn.lhs_spec))
        k_sp = _dilate_shape(_take(ra.shape, _sdims(dn.rhs_spec)), rhs_dilation)
        pads = padtype_to_pads(in_sp, k_sp, window_strides, padding)
    else:
        try:
            pads = tuple((int(lo), int(hi)) for lo, hi in padding)
        except (TypeError, ValueError):
            raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or a sequence of "
                             f"(low, high) pairs, got {padding!r}") from None
    pet = None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type)
    return bind(conv_general_dilated_p, lhs, rhs, window_strides=window_strides, padding=pads,
                lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation, dimension_numbers=dn,
                feature_group_count=int(feature_group_count),
                batch_group_count=int(batch_group_count), preferred_element_type=pet)


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in NCHW/OIHW layout without dilation (JAX's ``lax.conv``).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.conv(fnp.ones((2, 3, 8, 8)), fnp.ones((4, 3, 3, 3)), (2, 2), "VALID").shape
        (2, 4, 3, 3)
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in NCHW/OIHW layout (JAX's ``lax.conv_with_general_padding``).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.conv_with_general_padding(fnp.ones((1, 1, 4, 4)), fnp.ones((1, 1, 2, 2)), (1, 1),
        ...                               ((1, 1), (0, 0)), (2, 2), (1, 1)).shape
        (1, 1, 8, 6)
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                precision=precision, preferred_element_type=preferred_element_type)


def _conv_transpose_padding(k: int, s: int, padding: str):
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else -(-pad_len // 2)
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    else:
        raise ValueError(f"conv_transpose: padding must be 'SAME', 'VALID' or explicit pairs, "
                         f"got {padding!r}")
    return pad_a, pad_len - pad_a


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False, precision=None, preferred_element_type=None):
    """A transposed ("deconvolution") convolution, JAX's ``lax.conv_transpose``.

    The input is dilated by ``strides`` (lhs_dilation) and convolved with unit
    strides. Default layouts are channels-last (``NHWC``/``HWIO``/``NHWC`` and
    their 1-d and 3-d analogues). With ``transpose_kernel=True`` the kernel is
    flipped spatially and its in/out features swapped: the gradient of
    ``conv_general_dilated`` with respect to its input.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.conv_transpose(fnp.ones((1, 4, 4, 2)), fnp.ones((3, 3, 2, 5)), (2, 2), "SAME").shape
        (1, 8, 8, 5)
    """
    la, ra = get_aval(lhs), get_aval(rhs)
    nd = la.ndim
    if dimension_numbers is None:
        defaults = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"),
                    4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}
        if nd not in defaults:
            raise ValueError(f"conv_transpose: no default dimension_numbers for rank {nd}")
        dimension_numbers = defaults[nd]
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = nd - 2
    strides = _ints("conv_transpose", "strides", strides, nsp)
    rhs_dilation = _ints("conv_transpose", "rhs_dilation", rhs_dilation, nsp)
    if isinstance(padding, str):
        k_sp = _dilate_shape(_take(ra.shape, _sdims(dn.rhs_spec)), rhs_dilation)
        pads = tuple(_conv_transpose_padding(k, s, padding.upper()) for k, s in zip(k_sp, strides))
    else:
        pads = padding
    if transpose_kernel:
        rhs = rev(rhs, tuple(_sdims(dn.rhs_spec)))
        perm = list(range(nd))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = transpose(rhs, tuple(perm))
    return conv_general_dilated(lhs, rhs, (1,) * nsp, pads, strides, rhs_dilation, dn,
                                precision=precision, preferred_element_type=preferred_element_type)


from . import conv_lower  # noqa: F401  (registers the lower rule)
