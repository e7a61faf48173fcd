"""Process-wide configuration: ``functrans.config.update("enable_x64", True)``.

Options:
  enable_x64: when False (the default), 64-bit dtypes are canonicalized to
    their 32-bit counterparts (float64 -> float32, int64 -> int32, ...) exactly
    like JAX, and Python scalars default to float32/int32.
  log_compiles: log every trace/compile of ``jit`` with the reason (used by jit).
  jit_cache_size: how many argument signatures each jitted function keeps
    compiled (and, separately, traced): a positive int, 2048 by default, or the
    environment variable FUNCTRANS_JIT_CACHE_SIZE. Past it the least recently
    used signature is evicted (its executable and constant buffers are freed;
    calling it again compiles anew). JAX bounds its trace, lowering and
    compilation caches (``weakref_lru_cache``) at 2048 entries too. Lowering
    the option shrinks existing caches at once; a deleted jitted function frees
    its whole cache.

Changing an option clears the caches that depend on it (registered with
:func:`on_change`), so results never mix configurations.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable

import numpy as np



def _positive_int(name: str, value: Any, where: str = "") -> int:
    """``value`` as an int >= 1, or a ValueError naming the option."""
    if isinstance(value, str) and where:     # from the environment
        try:
            value = int(value.strip())
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"functrans.config option {name!r}{where} must be a positive int, "
                         f"got {value!r}")
    return int(value)


_VALIDATORS = {"jit_cache_size": _positive_int}

_DEFAULTS = {
    "enable_x64": os.environ.get("FUNCTRANS_ENABLE_X64", "0").lower() in ("1", "true"),
    "log_compiles": False,
    "jit_cache_size": _positive_int(
        "jit_cache_size", os.environ.get("FUNCTRANS_JIT_CACHE_SIZE", "2048"),
        " (from the environment variable FUNCTRANS_JIT_CACHE_SIZE)"),
}


class Config:
    """Holds the option values as attributes (``config.enable_x64``)."""

    def __init__(self):
        self.__dict__["_values"] = dict(_DEFAULTS)
        self.__dict__["_listeners"] = []

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"functrans.config has no option {name!r}; "
                                 f"options are {sorted(self._values)}") from None

    def __setattr__(self, name, value):
        raise AttributeError("use functrans.config.update(name, value) to change an option")

    def update(self, name: str, value: Any) -> None:
        """Sets option ``name`` to ``value``.

        Example:
            >>> import functrans as ft
            >>> ft.config.update("enable_x64", True)
            >>> ft.numpy.asarray(1.0).dtype
            dtype('float64')
            >>> ft.config.update("enable_x64", False)
        """
        if name not in self._values:
            raise AttributeError(f"functrans.config has no option {name!r}; "
                                 f"options are {sorted(self._values)}")
        check = _VALIDATORS.get(name)
        if check is not None:
            value = check(name, value)
        if self._values[name] == value:
            return
        self._values[name] = value
        for listener in self._listeners:
            listener(name)

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Registers ``listener(name)`` to run after an option changes."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def option(self, name: str, value: Any):
        """Context manager that sets an option and restores it on exit."""
        old = getattr(self, name)
        self.update(name, value)
        try:
            yield
        finally:
            self.update(name, old)

    def __repr__(self):
        return f"functrans.config({self._values})"


config = Config()
