"""``CheckpointManager``: the checkpoints of a training run in one directory.

Files are named ``ckpt_00000100.ftc`` by step and written with
:func:`functrans.io.save`; the semantics (fallback past damage, no step below a
valid newer one, temporaries of killed writers removed) are in the class's
docstring.
"""

from __future__ import annotations

import os
import re
import time
import warnings

import numpy as np

from .format import CheckpointError, TemplateMismatchError, _host_name, restore, save


class CheckpointManager:
    """Keeps the last ``keep`` checkpoints of a run in ``directory``.

    Files are named ``ckpt_00000100.ftc`` by step. ``restore()`` takes the
    newest checkpoint that reads back cleanly, skipping a damaged one (any
    corruption, or something that is not a regular file) with a warning that
    names it. ``save()`` refuses to write a step below an existing valid
    checkpoint's (that is a new run in a used directory: resume it, use another
    directory, or :meth:`clear` it); damaged checkpoints of higher steps are
    moved aside to ``NAME.corrupt`` so the run can go on from the one restored.
    Temporary files that a killed writer left behind are removed by ``save``
    and ``clear``. A read-only directory can be restored from.

    Example:
        >>> import tempfile, functrans.numpy as fnp
        >>> from functrans.io import CheckpointManager
        >>> m = CheckpointManager(tempfile.mkdtemp(), keep=2)
        >>> for step in (1, 2, 3):
        ...     _ = m.save(step, {"w": fnp.ones(2) * step})
        >>> m.all_steps()
        [2, 3]
        >>> m.restore()["w"].tolist()
        [3.0, 3.0]
    """

    _PATTERN = re.compile(r"^ckpt_(\d+)\.ftc$")
    _TEMP = re.compile(r"^\.ckpt_\d+\.ftc\.([A-Za-z0-9-]+)\.(\d+)\.[0-9a-f]+\.tmp$")
    STALE_SECONDS = 24 * 3600   # a temporary of another host this old is abandoned

    def __init__(self, directory, keep: int = 3, create: bool = True):
        self.directory = os.fspath(directory)
        if isinstance(keep, bool) or not isinstance(keep, (int, np.integer)) or keep < 1:
            raise ValueError(f"CheckpointManager: keep must be an int >= 1, got {keep!r}")
        self.keep = int(keep)
        self._corrupt: set = set()
        if create:
            try:
                os.makedirs(self.directory, exist_ok=True)
            except OSError as e:
                raise CheckpointError(f"cannot create the checkpoint directory "
                                      f"{self.directory!r}: {e.strerror}") from None
        elif os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise CheckpointError(f"the checkpoint directory {self.directory!r} is not a "
                                  "directory")

    def path(self, step: int) -> str:
        return os.path.join(self.directory, f"ckpt_{int(step):08d}.ftc")

    def _entries(self):
        try:
            return list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        except OSError as e:
            raise CheckpointError(f"cannot list the checkpoint directory {self.directory!r}: "
                                  f"{e.strerror}") from None

    def all_steps(self) -> list:
        """Steps of the checkpoint files present (regular files only), oldest first."""
        steps = []
        for entry in self._entries():
            m = self._PATTERN.match(entry.name)
            if m and entry.is_file():
                steps.append(int(m.group(1)))
        return sorted(steps)

    def _stale_temporaries(self) -> list:
        host = _host_name()
        stale, now = [], time.time()
        for entry in self._entries():
            m = self._TEMP.match(entry.name)
            if not m or not entry.is_file():
                continue
            if m.group(1) == host:
                pid = int(m.group(2))
                if pid != os.getpid() and not _alive(pid):
                    stale.append(entry.path)
            else:
                try:
                    if now - entry.stat().st_mtime > self.STALE_SECONDS:
                        stale.append(entry.path)
                except OSError:
                    pass
        return stale

    def _remove_temporaries(self) -> None:
        for p in self._stale_temporaries():
            try:
                os.unlink(p)
            except OSError:
                pass

    def clear(self) -> None:
        """Deletes every checkpoint of this directory (and stale temporary files): a new run."""
        for step in self.all_steps():
            try:
                os.unlink(self.path(step))
            except FileNotFoundError:
                pass
            except OSError as e:
                raise CheckpointError(f"cannot delete {self.path(step)!r}: {e.strerror}") \
                    from None
        self._corrupt.clear()
        self._remove_temporaries()

    def _check(self, step: int) -> None:
        """Reads ``step``'s checkpoint whole (raises CheckpointError if it is damaged)."""
        restore(self.path(step))

    def save(self, step: int, tree, metadata=None) -> str:
        """Writes the checkpoint of ``step`` atomically, then deletes all but the newest
        ``keep``; returns its path (which exists when this returns).

        Raises:
          CheckpointError: a valid checkpoint of a higher step is already in the
            directory (a new run in a used directory), or the directory is not writable.
          TypeError: as :func:`save`.
        """
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"CheckpointManager.save: step must be an int >= 0, got {step!r}")
        step = int(step)
        higher = [s for s in self.all_steps() if s > step]
        for s in higher:
            if self.path(s) not in self._corrupt:
                try:
                    self._check(s)
                except CheckpointError:
                    self._corrupt.add(self.path(s))
                    continue
                raise CheckpointError(
                    f"save: {self.directory!r} already holds a checkpoint of step {s}, after "
                    f"step {step}: it is another run's. Resume that run (restore it first), "
                    "use another directory, or call clear() to start over")
        for s in higher:  # damaged ones only (checked above): moved aside, kept for inspection
            p = self.path(s)
            try:
                os.replace(p, p + ".corrupt")
                warnings.warn(f"moved the damaged checkpoint {p} aside to {p}.corrupt",
                              RuntimeWarning, stacklevel=2)
            except OSError as e:
                raise CheckpointError(f"save: cannot move the damaged checkpoint {p!r} "
                                      f"aside: {e.strerror}") from None
            self._corrupt.discard(p)
        self._remove_temporaries()
        path = self.path(step)
        save(path, tree, step=step, metadata=metadata)
        for old in self.all_steps()[:-self.keep]:
            if old != step:
                try:
                    os.unlink(self.path(old))
                except OSError:  # pragma: no cover
                    pass
        return path

    def latest_step(self):
        """The newest step whose checkpoint reads back cleanly (None if there is none)."""
        for step in reversed(self.all_steps()):
            try:
                self._check(step)
                return step
            except CheckpointError as e:
                self._skip(e)
        return None

    def _skip(self, e: CheckpointError) -> None:
        warnings.warn(f"skipping a damaged checkpoint: {e}", RuntimeWarning, stacklevel=3)

    def restore(self, step=None, like=None, *, return_header: bool = False):
        """The checkpoint of ``step``, or the newest valid one.

        Raises:
          CheckpointError: no checkpoint (or none valid) in the directory.
          TemplateMismatchError: the newest valid checkpoint does not match ``like``.
        """
        if step is not None:
            return restore(self.path(step), like, return_header=return_header)
        steps = self.all_steps()
        if not steps:
            raise CheckpointError(f"no checkpoint in {self.directory!r}")
        for s in reversed(steps):
            try:
                return restore(self.path(s), like, return_header=return_header)
            except TemplateMismatchError:
                raise
            except CheckpointError as e:
                self._corrupt.add(self.path(s))
                self._skip(e)
        raise CheckpointError(f"no valid checkpoint in {self.directory!r} (all "
                              f"{len(steps)} are damaged)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists
        return True
    return True


__all__ = ["CheckpointManager"]
