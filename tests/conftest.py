"""Shared fixtures for the functrans test suite.

* ``x64``: switches 64-bit mode on in functrans (and in jax, which several
  tests use as a dtype oracle) for one test, and back off afterwards.
* ``rng``: a seeded numpy Generator, so every run draws the same inputs.
"""

import numpy as np
import pytest

import functrans as ft


def _set_x64(value: bool) -> None:
    ft.config.update("enable_x64", value)
    try:
        import jax
    except ImportError:  # jax is only an oracle; tests that need it skip on their own
        return
    jax.config.update("jax_enable_x64", value)


@pytest.fixture
def x64():
    """64-bit mode (functrans and jax) for the duration of one test."""
    _set_x64(True)
    try:
        yield True
    finally:
        _set_x64(False)


@pytest.fixture
def rng():
    """A numpy Generator with a fixed seed."""
    return np.random.default_rng(0)
