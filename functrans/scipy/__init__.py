"""functrans.scipy: scipy's API over functrans primitives (``special`` for now)."""

from . import special  # noqa: F401

__all__ = ["special"]
