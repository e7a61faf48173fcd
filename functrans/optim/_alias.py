"""Named optimizers, each a ``chain`` of the transformations in ``_transform.py``."""

from __future__ import annotations

from ._transform import (ScalarOrSchedule, add_decayed_weights, chain, check_hyper,
                         scale_by_adagrad, scale_by_adam, scale_by_learning_rate, scale_by_lion,
                         scale_by_rms, scale_by_trust_ratio, trace)


def sgd(learning_rate: ScalarOrSchedule, momentum: float = 0.0, nesterov: bool = False,
        weight_decay: float = 0.0):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay
    added to the gradient (PyTorch's ``SGD`` and its defaults)."""
    check_hyper("sgd", learning_rate=learning_rate, momentum=momentum,
                weight_decay=weight_decay)
    if nesterov and not momentum:
        raise ValueError("sgd: nesterov=True needs a momentum > 0")
    parts = []
    if weight_decay:
        parts.append(add_decayed_weights(weight_decay))
    if momentum:
        parts.append(trace(momentum, nesterov))
    parts.append(scale_by_learning_rate(learning_rate))
    return chain(*parts)


def adam(learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         eps_root: float = 0.0, amsgrad: bool = False):
    """Adam (Kingma & Ba, 2015); ``amsgrad`` as in PyTorch."""
    check_hyper("adam", learning_rate=learning_rate, b1=b1, b2=b2, eps=eps)
    return chain(scale_by_adam(b1, b2, eps, eps_root, amsgrad),
                 scale_by_learning_rate(learning_rate))


def adamw(learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          weight_decay: float = 1e-2, mask=None, amsgrad: bool = False):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``-lr * (adam + wd * param)``
    (PyTorch's ``AdamW`` and its defaults)."""
    check_hyper("adamw", learning_rate=learning_rate, b1=b1, b2=b2, eps=eps,
                weight_decay=weight_decay)
    return chain(scale_by_adam(b1, b2, eps, amsgrad=amsgrad),
                 add_decayed_weights(weight_decay, mask), scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate: ScalarOrSchedule, decay: float = 0.99, eps: float = 1e-8,
            momentum: float = 0.0, nesterov: bool = False):
    """RMSProp (PyTorch's form and defaults: ``decay`` is its ``alpha``, ``eps`` outside the
    square root, no centering)."""
    check_hyper("rmsprop", learning_rate=learning_rate, decay=decay, eps=eps,
                momentum=momentum)
    parts = [scale_by_rms(decay, eps)]
    if momentum:
        parts.append(trace(momentum, nesterov))
    parts.append(scale_by_learning_rate(learning_rate))
    return chain(*parts)


def adagrad(learning_rate: ScalarOrSchedule, eps: float = 1e-10,
            initial_accumulator_value: float = 0.0):
    """Adagrad: steps scaled by the root of the running sum of squared gradients (PyTorch's
    defaults)."""
    check_hyper("adagrad", learning_rate=learning_rate, eps=eps,
                initial_accumulator_value=initial_accumulator_value)
    return chain(scale_by_adagrad(initial_accumulator_value, eps),
                 scale_by_learning_rate(learning_rate))


def lamb(learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-6,
         weight_decay: float = 0.0, mask=None):
    """LAMB (You et al., 2020): Adam's direction plus weight decay, scaled per layer by the
    trust ratio ``||param|| / ||update||``."""
    check_hyper("lamb", learning_rate=learning_rate, b1=b1, b2=b2, eps=eps,
                weight_decay=weight_decay)
    return chain(scale_by_adam(b1, b2, eps), add_decayed_weights(weight_decay, mask),
                 scale_by_trust_ratio(), scale_by_learning_rate(learning_rate))


def lion(learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.99,
         weight_decay: float = 1e-3, mask=None):
    """Lion (Chen et al., 2023): the sign of an interpolated momentum, with decoupled decay."""
    check_hyper("lion", learning_rate=learning_rate, b1=b1, b2=b2, weight_decay=weight_decay)
    return chain(scale_by_lion(b1, b2), add_decayed_weights(weight_decay, mask),
                 scale_by_learning_rate(learning_rate))


__all__ = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "lamb", "lion"]
