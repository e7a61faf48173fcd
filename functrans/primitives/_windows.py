"""Window geometry shared by the convolution (``conv.py``, ``conv_cpu.py``) and the
windowed reductions (``windowed.py``): dilated sizes, the number of windows
that fit, "SAME"/"VALID" padding, and, for the numpy impls, dilation with
padding (``dilate_pad``) and a strided view of every window (``window_view``).
"""

from __future__ import annotations

import numpy as np


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


def _out_spatial(lhs_sp, rhs_sp, window_strides, padding, lhs_dilation, rhs_dilation) -> tuple:
    out = []
    for n, k, s, (lo, hi), ld, rd in zip(lhs_sp, rhs_sp, window_strides, padding, lhs_dilation,
                                         rhs_dilation):
        padded = _dilate_dim(n, ld) + lo + hi
        out.append(_window_out_dim(max(padded, 0), _dilate_dim(k, rd), s))
    return tuple(out)


def _sdims(spec):
    return spec[2:]


def _take(shape, dims) -> tuple:
    return tuple(shape[d] for d in dims)


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
