"""Losses, numerically stable (log-softmax and log-sigmoid forms, never log of a probability).

Each returns per-example losses (the batch is averaged by the caller, e.g. ``fnp.mean``),
except where noted.
"""

from __future__ import annotations

import numpy as np

from .. import numpy as fnp
from ..scipy import special
from .activations import one_hot, softplus


def softmax_cross_entropy(logits, labels, label_smoothing: float = 0.0):
    """Cross-entropy of ``softmax(logits)`` against one-hot / soft ``labels`` (same shape),
    or integer class ``labels`` (one fewer axis). ``label_smoothing`` mixes the targets
    with the uniform distribution."""
    logits = fnp.asarray(logits)
    labels = fnp.asarray(labels)
    n = logits.shape[-1]
    if labels.ndim == logits.ndim - 1 and np.dtype(labels.dtype).kind in "iu":
        if label_smoothing == 0.0:
            logp = special.log_softmax(logits, axis=-1)
            return -fnp.take_along_axis(logp, labels[..., None].astype(np.int32), axis=-1)[..., 0]
        labels = one_hot(labels, n, logits.dtype)
    if labels.shape != logits.shape:
        raise ValueError(f"softmax_cross_entropy: labels of shape {labels.shape} do not match "
                         f"logits {logits.shape} (give integer labels of shape "
                         f"{logits.shape[:-1]} or one-hot labels of shape {logits.shape})")
    if label_smoothing:
        labels = labels * (1 - label_smoothing) + label_smoothing / n
    return -fnp.sum(labels * special.log_softmax(logits, axis=-1), axis=-1)


def softmax_cross_entropy_with_one_hot(logits, one_hot_labels, label_smoothing: float = 0.0):
    """Cross-entropy against one-hot (or soft) labels of the logits' shape."""
    logits, one_hot_labels = fnp.asarray(logits), fnp.asarray(one_hot_labels)
    if one_hot_labels.shape != logits.shape:
        raise ValueError(f"softmax_cross_entropy_with_one_hot: labels of shape "
                         f"{one_hot_labels.shape} must have the logits' shape {logits.shape}")
    return softmax_cross_entropy(logits, one_hot_labels.astype(logits.dtype), label_smoothing)


def binary_cross_entropy_with_logits(logits, labels):
    """``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`` = ``softplus(z) - y z``, stable."""
    return softplus(logits) - labels * logits


def mse(predictions, targets):
    """Mean squared error over the last axis (per example)."""
    d = predictions - targets
    return fnp.mean(d * d, axis=-1) if fnp.ndim(d) else d * d


def huber(predictions, targets, delta: float = 1.0):
    """Quadratic within ``delta``, linear outside; elementwise."""
    a = fnp.abs(predictions - targets)
    quad = fnp.minimum(a, delta)
    return 0.5 * quad * quad + delta * (a - quad)


def l2_loss(x):
    """0.5 * sum of squares."""
    return 0.5 * fnp.sum(x * x)


def accuracy(logits, labels):
    """The fraction of correct argmax predictions (integer labels)."""
    return fnp.mean((fnp.argmax(logits, axis=-1) == labels).astype(np.float32))


__all__ = ["softmax_cross_entropy", "softmax_cross_entropy_with_one_hot", "binary_cross_entropy_with_logits", "mse", "huber",
           "l2_loss", "accuracy"]
