"""Shared fixtures for the functrans test suite.

* ``x64``: switches 64-bit mode on in functrans (and in jax, which several
  tests use as a dtype oracle) for one test, and back off afterwards.
* ``rng``: a seeded numpy Generator, so every run draws the same inputs.

jax serves only as an oracle (dtype rules, reference values). Many oracle calls
are expected to raise, and jax's traceback filtering costs more than the call
itself, so it is switched off for the session (it only changes how jax prints
its own errors).
"""

import numpy as np
import pytest

import functrans as ft


def pytest_configure(config):
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_traceback_filtering", "off")


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


def shared_data_dir(name: str):
    """Where ../shared/data/<name> is: $FUNCTRANS_SHARED_DATA/<name>, the repository's
    ../shared/data/<name>, or /work/shared/data/<name> (a clone elsewhere on this machine);
    None if none exists (the tests that need it then skip, saying so)."""
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.join(os.environ.get("FUNCTRANS_SHARED_DATA", ""), name)
                  if os.environ.get("FUNCTRANS_SHARED_DATA") else None,
                  os.path.join(here, "..", "..", "shared", "data", name),
                  os.path.join("/work", "shared", "data", name)]
    for c in candidates:
        if c and os.path.isdir(c):
            return c
    return None
