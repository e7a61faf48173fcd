"""Gradient transformations: pure ``(init, update)`` pairs and the small pieces optimizers are
chained from.

A :class:`GradientTransformation` is two pure functions::

    state = tx.init(params)
    updates, state = tx.update(grads, state, params)   # params: optional
    params = apply_updates(params, updates)

States are NamedTuples of pytrees (so they are pytrees themselves: they go
through ``jit``, ``tree_map`` and checkpoints unchanged). Nothing is mutated;
a training step that calls ``update`` is a pure function ``jit`` compiles whole.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Union

import numpy as np

from .. import numpy as fnp
from ..primitives.control_flow import cond
from ..tree_util import keystr, tree_flatten_with_path, tree_leaves, tree_map, tree_structure

Schedule = Callable[[Any], Any]
ScalarOrSchedule = Union[float, Schedule]


class GradientTransformation(NamedTuple):
    """``init(params) -> state`` and ``update(updates, state, params=None) -> (updates, state)``."""

    init: Callable
    update: Callable


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


def check_hyper(name: str, **values) -> None:
    """Raises a ValueError for an invalid hyper-parameter (schedules are checked when used)."""
    for k, v in values.items():
        if callable(v) or v is None:
            continue
        v = float(v)
        if k in ("b1", "b2", "decay", "momentum") and not 0.0 <= v < 1.0:
            raise ValueError(f"{name}: {k} must be in [0, 1), got {v}")
        if k in ("learning_rate", "eps", "weight_decay", "initial_accumulator_value") and v < 0:
            raise ValueError(f"{name}: {k} must be non-negative, got {v}")


def _check_trees(what: str, updates, params) -> None:
    """A clear error when the gradients' tree differs from the parameters' tree."""
    if params is None or tree_structure(updates) == tree_structure(params):
        return
    a = {keystr(p) for p, _ in tree_flatten_with_path(updates)[0]}
    b = {keystr(p) for p, _ in tree_flatten_with_path(params)[0]}
    only_u, only_p = sorted(a - b)[:10], sorted(b - a)[:10]
    detail = "; ".join(x for x in [
        f"only in the gradients: {', '.join(only_u)}" if only_u else "",
        f"only in the parameters: {', '.join(only_p)}" if only_p else ""] if x) or \
        "the same leaves in a different structure (e.g. a list vs a tuple, or static fields)"
    raise ValueError(f"{what}: the gradients/updates do not have the parameters' tree structure "
                     f"({detail})")


def _scalar_schedule_value(v):
    shape = fnp.shape(v)
    if shape != ():
        raise ValueError(f"a learning-rate schedule must return a scalar, got shape {shape}")
    return v


def _zeros_like_tree(tree, dtype=None):
    return tree_map(lambda p: fnp.zeros_like(p, dtype=dtype), tree)


def _count0():
    return fnp.zeros((), np.int32)


def _inc(count):
    # saturates instead of wrapping around after 2**31 - 1 steps
    return fnp.where(count < np.iinfo(np.int32).max, count + 1, count)


def _value(v, count):
    """A hyper-parameter that may be a schedule (a function of the step count)."""
    return v(count) if callable(v) else v


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Applies ``transforms`` in order; the state is the tuple of their states.

    Example:
        >>> from functrans import optim
        >>> tx = optim.chain(optim.clip_by_global_norm(1.0), optim.scale_by_adam(),
        ...                  optim.scale_by_learning_rate(1e-3))
    """
    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params=None):
        _check_trees("optimizer update", updates, params)
        if len(state) != len(transforms):
            raise ValueError(f"chain: the state has {len(state)} entries for {len(transforms)} "
                             "transformations; was it made by this optimizer's init?")
        new_states = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params)
            new_states.append(s)
        return updates, tuple(new_states)

    return GradientTransformation(init, update)


def apply_updates(params, updates):
    """``params + updates`` leafwise, keeping each parameter's dtype."""
    _check_trees("apply_updates", updates, params)
    def add(p, u):
        if u is None:
            return p
        p = fnp.asarray(p)
        return (p + u).astype(p.dtype)
    return tree_map(add, params, updates)


def _need_params(name, params):
    if params is None:
        raise ValueError(f"{name} needs the parameters: call update(grads, state, params)")


# --- scaling -----------------------------------------------------------------------------------


def scale(step_size: float) -> GradientTransformation:
    """Multiplies updates by ``step_size``."""
    def update(updates, state, params=None):
        return tree_map(lambda u: u * step_size, updates), state
    return GradientTransformation(lambda params: EmptyState(), update)


class ScaleByScheduleState(NamedTuple):
    count: Any


def scale_by_schedule(schedule: Schedule) -> GradientTransformation:
    """Multiplies updates by ``schedule(step)``, step counting from 0."""
    def init(params):
        return ScaleByScheduleState(_count0())

    def update(updates, state, params=None):
        s = _scalar_schedule_value(schedule(state.count))
        return tree_map(lambda u: u * fnp.asarray(s).astype(fnp.asarray(u).dtype), updates), \
            ScaleByScheduleState(_inc(state.count))
    return GradientTransformation(init, update)


def scale_by_learning_rate(learning_rate: ScalarOrSchedule, *, flip_sign: bool = True):
    """Multiplies updates by ``-learning_rate`` (a number or a schedule)."""
    sign = -1.0 if flip_sign else 1.0
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)


# --- moments -------------------------------------------------------------------------------------


class TraceState(NamedTuple):
    trace: Any


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum: ``t = g + decay * t``; the update is ``t`` (or ``g + decay * t``, Nesterov)."""
    def init(params):
        return TraceState(_zeros_like_tree(params))

    def update(updates, state, params=None):
        t = tree_map(lambda g, t: g + decay * t, updates, state.trace)
        out = tree_map(lambda g, t: g + decay * t, updates, t) if nesterov else t
        return out, TraceState(t)
    return GradientTransformation(init, update)


class ScaleByAdamState(NamedTuple):
    count: Any
    mu: Any
    nu: Any
    nu_max: Any


def _bias_correction(moment, decay, count):
    c = 1.0 - decay ** count.astype(np.float32)
    return tree_map(lambda m: m / c.astype(fnp.asarray(m).dtype), moment)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0,
                  amsgrad: bool = False) -> GradientTransformation:
    """Adam's direction: bias-corrected ``mu / (sqrt(nu) + eps)``.

    With ``amsgrad`` the running maximum of ``nu`` is used (PyTorch's AMSGrad:
    the maximum of the raw second moments, then bias-corrected).
    """
    def init(params):
        return ScaleByAdamState(_count0(), _zeros_like_tree(params), _zeros_like_tree(params),
                                _zeros_like_tree(params) if amsgrad else None)

    def update(updates, state, params=None):
        mu = tree_map(lambda g, m: b1 * m + (1 - b1) * g, updates, state.mu)
        nu = tree_map(lambda g, v: b2 * v + (1 - b2) * g * fnp.conj(g), updates, state.nu)
        count = _inc(state.count)
        nu_max = tree_map(fnp.maximum, state.nu_max, nu) if amsgrad else None
        mu_hat = _bias_correction(mu, b1, count)
        nu_hat = _bias_correction(nu_max if amsgrad else nu, b2, count)
        out = tree_map(lambda m, v: m / (fnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        return out, ScaleByAdamState(count, mu, nu, nu_max)
    return GradientTransformation(init, update)


class ScaleByRmsState(NamedTuple):
    nu: Any


def scale_by_rms(decay: float = 0.9, eps: float = 1e-8, initial_scale: float = 0.0):
    """``g / (sqrt(nu) + eps)`` with ``nu`` an exponential average of ``g**2`` (RMSProp)."""
    def init(params):
        return ScaleByRmsState(tree_map(lambda p: fnp.full_like(p, initial_scale), params))

    def update(updates, state, params=None):
        nu = tree_map(lambda g, v: decay * v + (1 - decay) * g * g, updates, state.nu)
        return tree_map(lambda g, v: g / (fnp.sqrt(v) + eps), updates, nu), ScaleByRmsState(nu)
    return GradientTransformation(init, update)


class ScaleByRssState(NamedTuple):
    sum_of_squares: Any


def scale_by_adagrad(initial_accumulator_value: float = 0.0, eps: float = 1e-10):
    """Adagrad: ``g / (sqrt(sum of all g**2) + eps)``."""
    def init(params):
        return ScaleByRssState(tree_map(lambda p: fnp.full_like(p, initial_accumulator_value),
                                        params))

    def update(updates, state, params=None):
        s = tree_map(lambda g, a: a + g * g, updates, state.sum_of_squares)
        return tree_map(lambda g, a: g / (fnp.sqrt(a) + eps), updates, s), ScaleByRssState(s)
    return GradientTransformation(init, update)


class ScaleByLionState(NamedTuple):
    mu: Any


def scale_by_lion(b1: float = 0.9, b2: float = 0.99):
    """Lion's direction: ``sign(b1 * mu + (1 - b1) * g)``; ``mu`` tracks g with ``b2``."""
    def init(params):
        return ScaleByLionState(_zeros_like_tree(params))

    def update(updates, state, params=None):
        out = tree_map(lambda g, m: fnp.sign(b1 * m + (1 - b1) * g), updates, state.mu)
        mu = tree_map(lambda g, m: b2 * m + (1 - b2) * g, updates, state.mu)
        return out, ScaleByLionState(mu)
    return GradientTransformation(init, update)


def scale_by_trust_ratio(min_norm: float = 0.0, eps: float = 0.0):
    """LAMB's layer-wise scaling: updates times ``||param|| / ||update||`` (1 if either is 0)."""
    def update(updates, state, params=None):
        _need_params("scale_by_trust_ratio", params)

        def one(u, p):
            pn = fnp.maximum(fnp.sqrt(fnp.sum(p * p)), min_norm)
            un = fnp.sqrt(fnp.sum(u * u))
            ratio = fnp.where((pn == 0) | (un == 0), 1.0, pn / (un + eps))
            return u * ratio.astype(fnp.asarray(u).dtype)
        return tree_map(one, updates, params), state
    return GradientTransformation(lambda params: EmptyState(), update)


# --- weight decay, clipping, NaNs ------------------------------------------------------------------


def _mask_tree(mask, params):
    return mask(params) if callable(mask) else mask


def add_decayed_weights(weight_decay: float = 0.0, mask=None) -> GradientTransformation:
    """Adds ``weight_decay * param`` to each update (where ``mask`` is True, if given).

    ``mask`` is a pytree of bools shaped like the params (or a function of the
    params returning one); e.g. ``lambda p: tree_map(lambda x: x.ndim > 1, p)``
    decays weight matrices but not biases.
    """
    def update(updates, state, params=None):
        _need_params("add_decayed_weights", params)
        if mask is None:
            return tree_map(lambda u, p: u + weight_decay * p, updates, params), state
        m = _mask_tree(mask, params)
        return tree_map(lambda u, p, k: u + weight_decay * p if k else u, updates, params, m), \
            state
    return GradientTransformation(lambda params: EmptyState(), update)


def clip(max_delta: float) -> GradientTransformation:
    """Clips every update element to ``[-max_delta, max_delta]``."""
    def update(updates, state, params=None):
        return tree_map(lambda u: fnp.clip(u, -max_delta, max_delta), updates), state
    return GradientTransformation(lambda params: EmptyState(), update)


def global_norm(tree):
    """The L2 norm of all leaves together."""
    return fnp.sqrt(sum(fnp.sum(fnp.real(x * fnp.conj(x))) for x in tree_leaves(tree)))


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Scales all updates by ``min(1, max_norm / global_norm)``."""
    def update(updates, state, params=None):
        g = global_norm(updates)
        factor = fnp.where(g > max_norm, max_norm / fnp.maximum(g, 1e-30), 1.0)
        return tree_map(lambda u: u * factor.astype(fnp.asarray(u).dtype), updates), state
    return GradientTransformation(lambda params: EmptyState(), update)


class ZeroNansState(NamedTuple):
    found_nan: Any


def zero_nans() -> GradientTransformation:
    """Replaces NaNs in updates with 0; the state records, per leaf, whether one was found."""
    def init(params):
        return ZeroNansState(tree_map(lambda p: fnp.zeros((), bool), params))

    def update(updates, state, params=None):
        found = tree_map(lambda u: fnp.any(fnp.isnan(u)), updates)
        return tree_map(lambda u: fnp.where(fnp.isnan(u), 0.0, u).astype(fnp.asarray(u).dtype),
                        updates), ZeroNansState(found)
    return GradientTransformation(init, update)


# --- masking, freezing, accumulation ---------------------------------------------------------------


class MaskedState(NamedTuple):
    inner_state: Any


def masked(inner: GradientTransformation, mask) -> GradientTransformation:
    """Applies ``inner`` only to the leaves where ``mask`` is True; others pass through."""
    def pick(tree, m):
        return tree_map(lambda x, k: x if k else None, tree, m)

    def init(params):
        return MaskedState(inner.init(pick(params, _mask_tree(mask, params))))

    def update(updates, state, params=None):
        m = _mask_tree(mask, params if params is not None else updates)
        sub_u, state_new = inner.update(pick(updates, m), state.inner_state,
                                        None if params is None else pick(params, m))
        # sub_u has None where the mask is False
        return tree_map(lambda u, s: u if s is None else s, updates, sub_u), \
            MaskedState(state_new)
    return GradientTransformation(init, update)


def set_to_zero() -> GradientTransformation:
    """Updates become zero (a frozen parameter)."""
    def update(updates, state, params=None):
        return tree_map(fnp.zeros_like, updates), state
    return GradientTransformation(lambda params: EmptyState(), update)


def freeze(mask) -> GradientTransformation:
    """Zero updates for the leaves where ``mask`` is True (frozen), others unchanged."""
    def update(updates, state, params=None):
        m = _mask_tree(mask, params if params is not None else updates)
        return tree_map(lambda u, k: fnp.zeros_like(u) if k else u, updates, m), state
    return GradientTransformation(lambda params: EmptyState(), update)


class MultiStepsState(NamedTuple):
    mini_step: Any
    acc_grads: Any
    inner_state: Any


def multi_steps(inner: GradientTransformation, every_k: int) -> GradientTransformation:
    """Gradient accumulation: averages ``every_k`` gradients, then applies ``inner`` once.

    Calls that do not complete a group return zero updates and leave the
    inner state unchanged; every ``every_k``-th call returns the inner
    optimizer's update for the mean gradient.
    """
    if int(every_k) < 1:
        raise ValueError(f"multi_steps: every_k must be >= 1, got {every_k}")

    def init(params):
        return MultiStepsState(_count0(), _zeros_like_tree(params), inner.init(params))

    def update(updates, state, params=None):
        acc = tree_map(lambda a, g: a + g, state.acc_grads, updates)
        last = state.mini_step == every_k - 1

        def apply(ops):
            acc, inner_state = ops
            mean = tree_map(lambda a: a / every_k, acc)
            out, new_inner = inner.update(mean, inner_state, params)
            return out, _zeros_like_tree(acc), new_inner

        def hold(ops):
            acc, inner_state = ops
            return _zeros_like_tree(acc), acc, inner_state

        out, new_acc, new_inner = cond(last, apply, hold, (acc, state.inner_state))
        step = fnp.where(last, 0, state.mini_step + 1).astype(np.int32)
        return out, MultiStepsState(step, new_acc, new_inner)
    return GradientTransformation(init, update)


__all__ = ["GradientTransformation", "EmptyState", "chain", "apply_updates", "scale",
           "scale_by_schedule", "scale_by_learning_rate", "trace", "scale_by_adam", "scale_by_rms",
           "scale_by_adagrad", "scale_by_lion", "scale_by_trust_ratio", "add_decayed_weights",
           "clip", "clip_by_global_norm", "global_norm", "zero_nans", "masked", "set_to_zero",
           "freeze", "multi_steps", "TraceState", "ScaleByAdamState", "ScaleByRmsState",
           "ScaleByRssState", "ScaleByLionState", "ScaleByScheduleState", "ZeroNansState",
           "MaskedState", "MultiStepsState"]
