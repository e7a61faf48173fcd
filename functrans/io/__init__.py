"""Saving and restoring pytrees: checkpoints that never run code on load, and never load a
damaged file.

    ft.io.save("run/ckpt.ftc", {"params": params, "opt": opt_state, "key": key}, step=100)
    tree = ft.io.restore("run/ckpt.ftc", like=template)   # validated against the template

    manager = ft.io.CheckpointManager("run", keep=3)       # a training run's checkpoints
    manager.save(step, state, metadata={"lr": 1e-3})
    state = manager.restore(like=state)                    # the newest valid one

``format.py`` holds the file format (documented there: every byte is covered by a
SHA-256) with ``save``, ``restore`` and ``info``; ``manager.py`` the directory of a run.
"""

from .format import (MAGIC, MAX_DEPTH, MAX_HEADER_BYTES, VERSION, CheckpointError,
                     TemplateMismatchError, info, restore, save)
from .manager import CheckpointManager

__all__ = ["save", "restore", "info", "CheckpointManager", "CheckpointError",
           "TemplateMismatchError", "MAGIC", "VERSION", "MAX_DEPTH", "MAX_HEADER_BYTES"]
