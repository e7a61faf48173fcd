"""Learning-rate schedules: functions from the step count (0, 1, ...) to a value.

Each works on a Python int and on a traced count (inside ``jit``), so an
optimizer's update stays one compiled function.
"""

from __future__ import annotations

import numpy as np

from .. import numpy as fnp


def _f(count):
    return fnp.asarray(count).astype(np.float32)


def constant_schedule(value: float):
    """Always ``value``."""
    return lambda count: fnp.full((), value, np.float32)


def linear_schedule(init_value: float, end_value: float, transition_steps: int,
                    transition_begin: int = 0):
    """``init_value`` until ``transition_begin``, then linearly to ``end_value`` over
    ``transition_steps`` steps, then ``end_value``."""
    if transition_steps <= 0:
        return constant_schedule(init_value)

    def schedule(count):
        frac = fnp.clip((_f(count) - transition_begin) / transition_steps, 0.0, 1.0)
        return init_value + frac * (end_value - init_value)
    return schedule


def cosine_decay_schedule(init_value: float, decay_steps: int, alpha: float = 0.0,
                          exponent: float = 1.0):
    """Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps``."""
    if decay_steps <= 0:
        raise ValueError(f"cosine_decay_schedule: decay_steps must be positive, got {decay_steps}")

    def schedule(count):
        frac = fnp.minimum(_f(count), decay_steps) / decay_steps
        cosine = 0.5 * (1 + fnp.cos(np.pi * frac)) ** exponent
        return init_value * ((1 - alpha) * cosine + alpha)
    return schedule


def exponential_decay(init_value: float, transition_steps: int, decay_rate: float,
                      transition_begin: int = 0, staircase: bool = False, end_value=None):
    """``init_value * decay_rate ** ((count - transition_begin) / transition_steps)``,
    bounded by ``end_value`` if given."""
    if transition_steps <= 0:
        raise ValueError("exponential_decay: transition_steps must be positive")

    def schedule(count):
        p = fnp.maximum(_f(count) - transition_begin, 0.0) / transition_steps
        if staircase:
            p = fnp.floor(p)
        v = init_value * fnp.asarray(decay_rate, np.float32) ** p
        if end_value is not None:
            v = fnp.maximum(v, end_value) if decay_rate < 1 else fnp.minimum(v, end_value)
        return v
    return schedule


def piecewise_constant_schedule(init_value: float, boundaries_and_scales: dict = None):
    """``init_value`` times the product of every scale whose boundary step was reached."""
    items = sorted((boundaries_and_scales or {}).items())

    def schedule(count):
        v = fnp.full((), init_value, np.float32)
        c = fnp.asarray(count)
        for boundary, s in items:
            v = fnp.where(c >= boundary, v * s, v)
        return v
    return schedule


def join_schedules(schedules, boundaries):
    """``schedules[i]`` between ``boundaries[i-1]`` and ``boundaries[i]``; each schedule
    counts from 0 at its own start."""
    if len(schedules) != len(boundaries) + 1:
        raise ValueError(f"join_schedules: {len(schedules)} schedules need "
                         f"{len(schedules) - 1} boundaries, got {len(boundaries)}")

    def schedule(count):
        c = fnp.asarray(count)
        out = schedules[0](c)
        for b, s in zip(boundaries, schedules[1:]):
            out = fnp.where(c >= b, s(c - b), out)
        return out
    return schedule


def warmup_cosine_decay_schedule(init_value: float, peak_value: float, warmup_steps: int,
                                 decay_steps: int, end_value: float = 0.0):
    """Linear warmup from ``init_value`` to ``peak_value`` over ``warmup_steps``, then cosine
    decay to ``end_value`` at step ``decay_steps`` (counted from the start)."""
    alpha = end_value / peak_value if peak_value else 0.0
    return join_schedules([linear_schedule(init_value, peak_value, warmup_steps),
                           cosine_decay_schedule(peak_value, max(decay_steps - warmup_steps, 1),
                                                 alpha)], [warmup_steps])


def warmup_constant_schedule(init_value: float, peak_value: float, warmup_steps: int):
    """Linear warmup, then constant."""
    return linear_schedule(init_value, peak_value, warmup_steps)


__all__ = ["constant_schedule", "linear_schedule", "cosine_decay_schedule", "exponential_decay",
           "piecewise_constant_schedule", "join_schedules", "warmup_cosine_decay_schedule",
           "warmup_constant_schedule"]
