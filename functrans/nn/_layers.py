"""Layers. Each is a :class:`Module` (a pytree of its parameters) that runs on ONE example;
batch with ``ft.vmap(model)(xs)`` (as in Equinox). Convolutions and pooling also accept
an input with a leading batch axis, for convenience. BatchNorm is the exception: it
normalises over a batch, so it is called on the batch (see its docstring).

Convolution layouts are channels-first per example: ``(C, W)``, ``(C, H, W)``,
``(C, D, H, W)``; kernels ``(out, in / groups, *window)`` as in PyTorch.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from .. import lax
from .. import numpy as fnp
from .. import random
from . import activations
from ._module import Module, static_field

Key = Any


def _uniform_fan_in(key, shape, fan_in, dtype):
    """PyTorch's default: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    lim = 1.0 / np.sqrt(max(fan_in, 1))
    return random.uniform(key, shape, dtype, -lim, lim)


class Linear(Module):
    """``x @ weight + bias``; ``x`` of shape ``(in,)`` (or ``(..., in)``).

    ``weight`` is ``(in_features, out_features)``; both initialised uniformly in
    ``±1/sqrt(in_features)`` (PyTorch's default).
    """

    weight: Any
    bias: Any
    in_features: int = static_field()
    out_features: int = static_field()

    def __init__(self, in_features: int, out_features: int, use_bias: bool = True, *,
                 key: Key, dtype=np.float32):
        wkey, bkey = random.split(key)
        self.weight = _uniform_fan_in(wkey, (in_features, out_features), in_features, dtype)
        self.bias = _uniform_fan_in(bkey, (out_features,), in_features, dtype) if use_bias \
            else None
        self.in_features, self.out_features = int(in_features), int(out_features)

    def __call__(self, x, *, key=None):
        shape = fnp.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features} -> {self.out_features}) expects an "
                             f"input whose last axis has {self.in_features} features, got shape "
                             f"{shape}")
        y = x @ self.weight
        return y if self.bias is None else y + self.bias


class Identity(Module):
    def __call__(self, x, *, key=None):
        return x


def _tuple(v, n, what):
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(e) for e in v)
    if len(v) != n:
        raise ValueError(f"{what} needs {n} values (one per spatial dimension), got {v}")
    return v


def _padding(padding, n):
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"padding must be an int, pairs, 'SAME' or 'VALID'; got {padding!r}")
        return p
    if isinstance(padding, int):
        return tuple((padding, padding) for _ in range(n))
    out = []
    for p in padding:
        out.append((p, p) if isinstance(p, int) else (int(p[0]), int(p[1])))
    if len(out) != n:
        raise ValueError(f"padding needs {n} entries, got {padding}")
    return tuple(out)


def _batched(x, n_spatial, what):
    """``(x with a batch axis, whether the input had one)``; checks the rank."""
    nd = fnp.ndim(x)
    if nd == n_spatial + 1:
        return x[None], False
    if nd == n_spatial + 2:
        return x, True
    raise ValueError(f"{what} expects an input of shape (channels, {n_spatial} spatial dims) or "
                     f"with a leading batch axis, got shape {fnp.shape(x)}")


_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}


def _dn(n):
    s = _SPATIAL[n]
    return ("NC" + s, "OI" + s, "NC" + s)


class Conv(Module):
    """An n-dimensional convolution (use Conv1d / Conv2d / Conv3d)."""

    weight: Any
    bias: Any
    num_spatial_dims: int = static_field()
    in_channels: int = static_field()
    out_channels: int = static_field()
    kernel_size: tuple = static_field()
    stride: tuple = static_field()
    padding: Any = static_field()
    dilation: tuple = static_field()
    groups: int = static_field()

    def __init__(self, num_spatial_dims: int, in_channels: int, out_channels: int,
                 kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                 use_bias: bool = True, *, key: Key, dtype=np.float32):
        n = num_spatial_dims
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        self.num_spatial_dims = n
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.stride = _tuple(stride, n, "stride")
        self.dilation = _tuple(dilation, n, "dilation")
        self.padding = _padding(padding, n)
        fan_in = (in_channels // groups) * int(np.prod(self.kernel_size))
        wkey, bkey = random.split(key)
        self.weight = _uniform_fan_in(wkey, (out_channels, in_channels // groups)
                                      + self.kernel_size, fan_in, dtype)
        self.bias = _uniform_fan_in(bkey, (out_channels,), fan_in, dtype) if use_bias else None

    def __call__(self, x, *, key=None):
        n = self.num_spatial_dims
        xb, had_batch = _batched(x, n, type(self).__name__)
        if fnp.shape(xb)[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__}({self.in_channels} -> {self.out_channels}) "
                             f"expects {self.in_channels} input channels (channels first: "
                             f"(C, {', '.join(_SPATIAL[n])})), got shape {fnp.shape(x)}")
        y = lax.conv_general_dilated(xb, self.weight, self.stride, self.padding,
                                     rhs_dilation=self.dilation, dimension_numbers=_dn(n),
                                     feature_group_count=self.groups)
        if self.bias is not None:
            y = y + fnp.reshape(self.bias, (-1,) + (1,) * n)
        return y if had_batch else y[0]


class Conv1d(Conv):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, use_bias=True, *, key, dtype=np.float32):
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, use_bias, key=key, dtype=dtype)


class Conv2d(Conv):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, use_bias=True, *, key, dtype=np.float32):
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, use_bias, key=key, dtype=dtype)


class Conv3d(Conv):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, use_bias=True, *, key, dtype=np.float32):
        super().__init__(3, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, use_bias, key=key, dtype=dtype)


class ConvTranspose2d(Module):
    """The transpose (gradient) of a 2-d convolution, as PyTorch's ``ConvTranspose2d``.

    ``weight`` is ``(in_channels, out_channels, kh, kw)``. The output size is
    ``(in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.
    """

    weight: Any
    bias: Any
    stride: tuple = static_field()
    padding: tuple = static_field()
    output_padding: tuple = static_field()
    dilation: tuple = static_field()

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, dilation=1, use_bias=True, *, key, dtype=np.float32):
        ks = _tuple(kernel_size, 2, "kernel_size")
        self.stride = _tuple(stride, 2, "stride")
        self.padding = _tuple(padding, 2, "padding")
        self.output_padding = _tuple(output_padding, 2, "output_padding")
        self.dilation = _tuple(dilation, 2, "dilation")
        fan_in = out_channels * int(np.prod(ks))
        wkey, bkey = random.split(key)
        self.weight = _uniform_fan_in(wkey, (in_channels, out_channels) + ks, fan_in, dtype)
        self.bias = _uniform_fan_in(bkey, (out_channels,), fan_in, dtype) if use_bias else None

    def __call__(self, x, *, key=None):
        xb, had_batch = _batched(x, 2, "ConvTranspose2d")
        k = self.weight.shape[2:]
        # a stride-1 convolution of the input dilated by `stride`, with the kernel flipped and
        # its in/out axes swapped
        w = fnp.flip(fnp.swapaxes(self.weight, 0, 1), axis=(2, 3))
        pads = [(self.dilation[i] * (k[i] - 1) - self.padding[i],
                 self.dilation[i] * (k[i] - 1) - self.padding[i] + self.output_padding[i])
                for i in range(2)]
        y = lax.conv_general_dilated(xb, w, (1, 1), pads, lhs_dilation=self.stride,
                                     rhs_dilation=self.dilation, dimension_numbers=_dn(2))
        if self.bias is not None:
            y = y + fnp.reshape(self.bias, (-1, 1, 1))
        return y if had_batch else y[0]


class _Pool(Module):
    kernel_size: tuple = static_field()
    stride: tuple = static_field()
    padding: Any = static_field()
    num_spatial_dims: int = static_field()

    def __init__(self, num_spatial_dims, kernel_size, stride=None, padding=0):
        n = num_spatial_dims
        self.num_spatial_dims = n
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.stride = self.kernel_size if stride is None else _tuple(stride, n, "stride")
        self.padding = _padding(padding, n)

    def _window(self, x, init, op):
        n = self.num_spatial_dims
        xb, had_batch = _batched(x, n, type(self).__name__)
        pad = self.padding if isinstance(self.padding, str) else ((0, 0), (0, 0)) + self.padding
        y = lax.reduce_window(xb, init, op, (1, 1) + self.kernel_size, (1, 1) + self.stride, pad)
        return y if had_batch else y[0]


class MaxPool1d(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(1, kernel_size, stride, padding)

    def __call__(self, x, *, key=None):
        return self._window(x, -np.inf, lax.max)


class MaxPool2d(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(2, kernel_size, stride, padding)

    def __call__(self, x, *, key=None):
        return self._window(x, -np.inf, lax.max)


class AvgPool1d(_Pool):
    """Average over each window (padding counts as zeros, PyTorch's default)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(1, kernel_size, stride, padding)

    def __call__(self, x, *, key=None):
        return self._window(x, 0.0, lax.add) / float(np.prod(self.kernel_size))


class AvgPool2d(_Pool):
    """Average over each window (padding counts as zeros, PyTorch's default)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(2, kernel_size, stride, padding)

    def __call__(self, x, *, key=None):
        return self._window(x, 0.0, lax.add) / float(np.prod(self.kernel_size))


class GlobalAvgPool(Module):
    """The mean over the spatial axes: ``(C, *spatial) -> (C,)``."""

    def __call__(self, x, *, key=None):
        return fnp.mean(fnp.reshape(x, (fnp.shape(x)[0], -1)), axis=-1)


class GlobalMaxPool(Module):
    """The maximum over the spatial axes: ``(C, *spatial) -> (C,)``."""

    def __call__(self, x, *, key=None):
        return fnp.max(fnp.reshape(x, (fnp.shape(x)[0], -1)), axis=-1)


class Flatten(Module):
    """Reshapes one example to a vector."""

    def __call__(self, x, *, key=None):
        return fnp.reshape(x, (-1,))


class Embedding(Module):
    """A table of ``num_embeddings`` vectors; ``embedding(ids)`` looks them up."""

    weight: Any

    def __init__(self, num_embeddings: int, embedding_dim: int, *, key: Key, dtype=np.float32):
        self.weight = random.normal(key, (num_embeddings, embedding_dim), dtype)

    def __call__(self, ids, *, key=None):
        dt = fnp.asarray(ids).dtype
        if dt.kind not in "iu":
            raise TypeError(f"Embedding expects integer ids, got dtype {dt}")
        return fnp.take(self.weight, ids, axis=0)


def _check_trailing(what, shape, x):
    xs = tuple(fnp.shape(x))
    if xs[len(xs) - len(shape):] != tuple(shape) or len(xs) < len(shape):
        raise ValueError(f"{what}{tuple(shape)} normalises the trailing axes of shape "
                         f"{tuple(shape)}, but got an input of shape {xs}")


class LayerNorm(Module):
    """Normalises over the trailing ``shape`` axes, then scales and shifts."""

    weight: Any
    bias: Any
    shape: tuple = static_field()
    eps: float = static_field()

    def __init__(self, shape, eps: float = 1e-5, use_weight: bool = True, use_bias: bool = True,
                 dtype=np.float32):
        self.shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.eps = float(eps)
        self.weight = fnp.ones(self.shape, dtype) if use_weight else None
        self.bias = fnp.zeros(self.shape, dtype) if use_bias else None

    def __call__(self, x, *, key=None):
        _check_trailing("LayerNorm", self.shape, x)
        axes = tuple(range(-len(self.shape), 0))
        mean = fnp.mean(x, axis=axes, keepdims=True)
        var = fnp.var(x, axis=axes, keepdims=True)
        y = (x - mean) * lax.rsqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y


class RMSNorm(Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``shape`` axes."""

    weight: Any
    shape: tuple = static_field()
    eps: float = static_field()

    def __init__(self, shape, eps: float = 1e-6, use_weight: bool = True, dtype=np.float32):
        self.shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.eps = float(eps)
        self.weight = fnp.ones(self.shape, dtype) if use_weight else None

    def __call__(self, x, *, key=None):
        _check_trailing("RMSNorm", self.shape, x)
        axes = tuple(range(-len(self.shape), 0))
        y = x * lax.rsqrt(fnp.mean(x * x, axis=axes, keepdims=True) + self.eps)
        return y if self.weight is None else y * self.weight


class BatchNormState(NamedTuple):
    """Running statistics of a BatchNorm layer (a pytree, kept outside the model)."""

    mean: Any
    var: Any


class BatchNorm(Module):
    """Batch normalisation with its running statistics handled functionally.

    Call it on a BATCH ``(N, C, *spatial)`` (not under vmap: it needs the
    batch's statistics)::

        state = bn.init_state()
        y, state = bn(x, state, train=True)     # normalise with the batch's statistics,
                                                # update the running ones
        y, _ = bn(x, state, train=False)        # inference: the running statistics

    The running variance is the unbiased batch variance (as in PyTorch);
    ``momentum`` is the weight of the new batch.
    """

    weight: Any
    bias: Any
    num_features: int = static_field()
    eps: float = static_field()
    momentum: float = static_field()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, dtype=np.float32):
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), \
            float(momentum)
        self.weight = fnp.ones(num_features, dtype) if affine else None
        self.bias = fnp.zeros(num_features, dtype) if affine else None

    def init_state(self, dtype=np.float32) -> BatchNormState:
        return BatchNormState(fnp.zeros(self.num_features, dtype),
                              fnp.ones(self.num_features, dtype))

    def __call__(self, x, state: BatchNormState, *, train: bool, key=None):
        if fnp.ndim(x) < 2 or fnp.shape(x)[1] != self.num_features:
            raise ValueError(f"BatchNorm({self.num_features}) expects a batch of shape "
                             f"(N, {self.num_features}, ...), got {fnp.shape(x)}")
        axes = (0,) + tuple(range(2, fnp.ndim(x)))
        bshape = (1, -1) + (1,) * (fnp.ndim(x) - 2)
        if train:
            mean = fnp.mean(x, axis=axes)
            var = fnp.var(x, axis=axes)
            n = int(np.prod([fnp.shape(x)[a] for a in axes]))
            unbiased = var * (n / max(n - 1, 1))
            m = self.momentum
            state = BatchNormState(fnp.asarray((1 - m) * state.mean + m * mean),
                                   fnp.asarray((1 - m) * state.var + m * unbiased))
        else:
            mean, var = state.mean, state.var
        y = (x - fnp.reshape(mean, bshape)) * fnp.reshape(lax.rsqrt(var + self.eps), bshape)
        if self.weight is not None:
            y = y * fnp.reshape(self.weight, bshape) + fnp.reshape(self.bias, bshape)
        return y, state


class Dropout(Module):
    """Zeroes each element with probability ``p`` (scaling the rest by ``1/(1-p)``) in training;
    the identity in inference (``train=False``) or when ``p == 0``."""

    p: float = static_field(default=0.5)

    def __call__(self, x, *, key=None, train: bool = True):
        if not train or self.p == 0:
            return x
        if key is None:
            raise ValueError("Dropout needs a PRNG key in training mode: call it with key=..., "
                             "or train=False for inference")
        keep = random.bernoulli(key, 1.0 - self.p, fnp.shape(x))
        return fnp.where(keep, x / (1.0 - self.p), 0.0).astype(fnp.asarray(x).dtype)


class MultiheadAttention(Module):
    """Multi-head scaled dot-product attention on one sequence (``(L, embed_dim)``).

    ``attn(query, key_value=None, mask=None)``: self-attention when ``key_value``
    is None; ``mask`` is a boolean ``(Lq, Lk)`` array, True where attention is allowed.
    """

    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    out_proj: Linear
    num_heads: int = static_field()

    def __init__(self, embed_dim: int, num_heads: int, use_bias: bool = True, *, key: Key,
                 dtype=np.float32):
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        k1, k2, k3, k4 = random.split(key, 4)
        self.q_proj = Linear(embed_dim, embed_dim, use_bias, key=k1, dtype=dtype)
        self.k_proj = Linear(embed_dim, embed_dim, use_bias, key=k2, dtype=dtype)
        self.v_proj = Linear(embed_dim, embed_dim, use_bias, key=k3, dtype=dtype)
        self.out_proj = Linear(embed_dim, embed_dim, use_bias, key=k4, dtype=dtype)
        self.num_heads = int(num_heads)

    def __call__(self, query, key_value=None, mask=None, *, key=None):
        kv = query if key_value is None else key_value
        h = self.num_heads
        lq, e = fnp.shape(query)
        lk = fnp.shape(kv)[0]
        d = e // h
        q = fnp.transpose(fnp.reshape(self.q_proj(query), (lq, h, d)), (1, 0, 2))
        k = fnp.transpose(fnp.reshape(self.k_proj(kv), (lk, h, d)), (1, 0, 2))
        v = fnp.transpose(fnp.reshape(self.v_proj(kv), (lk, h, d)), (1, 0, 2))
        scores = fnp.matmul(q, fnp.swapaxes(k, -1, -2)) / np.float32(np.sqrt(d))
        if mask is not None:
            scores = fnp.where(mask, scores, np.float32(-1e30))
        w = activations.softmax(scores, axis=-1)
        out = fnp.reshape(fnp.transpose(fnp.matmul(w, v), (1, 0, 2)), (lq, e))
        return self.out_proj(out)


class MLP(Module):
    """``depth`` hidden layers of ``width`` units with ``activation``, then a Linear to ``out``."""

    layers: tuple
    activation: Callable = static_field()
    final_activation: Callable = static_field()

    def __init__(self, in_size: int, out_size: int, width: int, depth: int,
                 activation: Callable = activations.relu,
                 final_activation: Optional[Callable] = None, *, key: Key, dtype=np.float32):
        sizes = [in_size] + [width] * depth + [out_size]
        keys = random.split(key, len(sizes) - 1)
        self.layers = tuple(Linear(a, b, key=k, dtype=dtype)
                            for a, b, k in zip(sizes[:-1], sizes[1:], keys))
        self.activation = activation
        self.final_activation = final_activation if final_activation is not None else _identity

    def __call__(self, x, *, key=None):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.final_activation(self.layers[-1](x))


def _identity(x):
    return x


__all__ = ["Linear", "Identity", "Conv", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d",
           "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "GlobalAvgPool", "GlobalMaxPool",
           "Flatten", "Embedding", "LayerNorm", "RMSNorm", "BatchNorm", "BatchNormState",
           "Dropout", "MultiheadAttention", "MLP"]
