"""Process-wide configuration: ``functrans.config.update("enable_x64", True)``.

Options:
  enable_x64: when False (the default), 64-bit dtypes are canonicalized to
    their 32-bit counterparts (float64 -> float32, int64 -> int32, ...) exactly
    like JAX, and Python scalars default to float32/int32.
  log_compiles: log every trace/compile of ``jit`` with the reason (used by jit).

Changing an option clears the caches that depend on it (registered with
:func:`on_change`), so results never mix configurations.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable

_DEFAULTS = {
    "enable_x64": os.environ.get("FUNCTRANS_ENABLE_X64", "0").lower() in ("1", "true"),
    "log_compiles": False,
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
