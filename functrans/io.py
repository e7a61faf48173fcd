"""Saving and restoring pytrees: checkpoints that never run code on load.

    ft.io.save("run/ckpt.ftc", {"params": params, "opt": opt_state, "key": key}, step=100)
    tree = ft.io.restore("run/ckpt.ftc", like=template)   # validated against the template

The format (version 1), documented so other tools can read it:

    bytes 0..7    magic b"FTCKPT\\x00\\x01"
    bytes 8..15   header length H (uint64, little endian)
    bytes 16..    the header: H bytes of UTF-8 JSON
    then          the arrays' raw bytes (C order, little endian), each at the
                  offset (from the end of the header, 64-byte aligned) the header gives

The header holds ``format``, ``version``, ``step``, ``metadata`` (any JSON
value), ``tree`` (the structure, as nested JSON: dicts, lists, tuples,
NamedTuples, None, Python scalars, and other pytree nodes by type name and
child key), ``arrays`` (per array: key path, dtype, shape, offset, byte
count, sha256) and ``data_size``. Loading parses JSON and copies bytes; it
never unpickles or imports anything.

Writes are atomic: the file is written under a temporary name in the same
directory, flushed and fsynced, then renamed over the target (and the
directory fsynced), so a crash leaves the old checkpoint or the new one,
never a torn file. Restoring reads and verifies everything (sizes, checksums,
and the template's structure, shapes and dtypes) before building the result,
so an error leaves nothing half-loaded.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import struct
import tempfile
import warnings
from typing import Any

import numpy as np

from . import dtypes
from .array import Array, _new_array
from .tree_util import keystr, tree_flatten_with_path

MAGIC = b"FTCKPT\x00\x01"
VERSION = 1
_ALIGN = 64


class CheckpointError(ValueError):
    """A checkpoint file that cannot be restored: missing, truncated, corrupted, foreign,
    or not matching the template."""


# --- encoding the tree -----------------------------------------------------------------------


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _encode(x, arrays: list, path: str):
    """The JSON structure of ``x``; array leaves are appended to ``arrays``."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)) and not isinstance(x, np.ndarray):
        return {"scalar": bool(x), "type": "bool"}
    if isinstance(x, (int, np.integer)) and not isinstance(x, np.ndarray):
        return {"scalar": int(x), "type": "int"}
    if isinstance(x, (float, np.floating)) and not isinstance(x, np.ndarray):
        v = float(x)
        return {"scalar": repr(v) if not np.isfinite(v) else v, "type": "float"}
    if isinstance(x, complex):
        return {"scalar": [x.real, x.imag], "type": "complex"}
    if isinstance(x, (Array, np.ndarray)) or hasattr(x, "__array__") and hasattr(x, "shape"):
        arrays.append((path, x))
        return {"array": len(arrays) - 1}
    if isinstance(x, dict):
        keys = list(x.keys())
        for k in keys:
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dict key {k!r} at {path or 'the root'} is a "
                                f"{type(k).__name__}; checkpoint dict keys must be str or int")
        return {"dict": [[k, _encode(x[k], arrays, f"{path}[{k!r}]")] for k in keys]}
    if _is_namedtuple(x):
        return {"namedtuple": type(x).__name__, "fields": list(type(x)._fields),
                "children": [_encode(v, arrays, f"{path}.{f}")
                             for f, v in zip(type(x)._fields, x)]}
    if isinstance(x, tuple):
        return {"tuple": [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(x)]}
    if isinstance(x, list):
        return {"list": [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(x)]}
    # any other registered pytree node (dataclass modules, custom nodes): by its children's keys
    from ._tree_nodes import _LEAF, _node_type
    entry = _node_type(type(x))
    if entry is _LEAF:
        raise TypeError(f"save: cannot store a {type(x).__name__} at {path or 'the root'}: "
                        "leaves must be arrays or Python scalars, nodes must be pytrees")
    try:
        pairs = entry.flatten_with_keys(x)[0]
    except Exception:
        raise TypeError(f"save: cannot store a {type(x).__name__} at {path or 'the root'}") \
            from None
    return {"node": type(x).__qualname__,
            "keys": [keystr((k,)) for k, _ in pairs],
            "children": [_encode(v, arrays, f"{path}{keystr((k,))}") for k, v in pairs]}


def _decode(node, arrays: list):
    """Builds plain Python containers from the JSON structure (no template)."""
    if node is None:
        return None
    if "array" in node:
        return arrays[node["array"]]
    if "scalar" in node:
        t, v = node["type"], node["scalar"]
        if t == "bool":
            return bool(v)
        if t == "int":
            return int(v)
        if t == "float":
            return float(v)
        return complex(v[0], v[1])
    if "dict" in node:
        return {k: _decode(v, arrays) for k, v in node["dict"]}
    if "namedtuple" in node:
        name = node["namedtuple"]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            name = "Record"
        cls = collections.namedtuple(name, node["fields"], rename=True)
        return cls(*[_decode(v, arrays) for v in node["children"]])
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    if "node" in node:  # a custom node without a template: its children by key
        return {k: _decode(v, arrays) for k, v in zip(node["keys"], node["children"])}
    raise CheckpointError(f"unknown node in the checkpoint's tree: {str(node)[:80]}")


# --- writing -----------------------------------------------------------------------------------


def _host(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return a if a.flags.c_contiguous else a.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)


def _atomic_write(path: str, chunks) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CheckpointError(f"save: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise CheckpointError(f"save: the directory {directory!r} is not writable")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover  (some filesystems do not support it)
        pass


def save(path, tree, *, step: int | None = None, metadata: Any = None) -> None:
    """Writes ``tree`` (a pytree of arrays and Python scalars) to ``path`` atomically.

    Args:
      path: the file to write (its directory must exist).
      tree: model parameters, optimizer state, step, PRNG keys, ...
      step: an optional training step stored in the header.
      metadata: optional JSON-serialisable information (config, metrics).

    Raises:
      TypeError: a leaf that is not an array or Python scalar, or metadata that
        is not JSON; nothing is written.
      CheckpointError: the directory is missing or not writable.
    """
    path = os.fspath(path)
    arrays: list = []
    structure = _encode(tree, arrays, "")
    entries, blobs, offset = [], [], 0
    for p, x in arrays:
        a = _host(x)
        data = a.tobytes()
        pad = (-offset) % _ALIGN
        if pad:
            blobs.append(b"\0" * pad)
            offset += pad
        entries.append({"path": p or "(root)", "dtype": a.dtype.name, "shape": list(a.shape),
                        "offset": offset, "nbytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})
        blobs.append(data)
        offset += len(data)
    header = {"format": "functrans-checkpoint", "version": VERSION,
              "step": None if step is None else int(step), "metadata": metadata,
              "tree": structure, "arrays": entries, "data_size": offset}
    try:
        text = json.dumps(header, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise TypeError(f"save: metadata must be JSON-serialisable (dicts, lists, str, finite "
                        f"numbers, bools, None): {e}") from None
    _atomic_write(path, [MAGIC, struct.pack("<Q", len(text)), text] + blobs)


# --- reading -----------------------------------------------------------------------------------


def _read_header(f, path):
    head = f.read(16)
    if len(head) < 16 or head[:8] != MAGIC:
        if head[:6] == MAGIC[:6]:
            raise CheckpointError(f"{path}: a functrans checkpoint of an unsupported format "
                                  f"version ({head[6:8]!r}); this functrans reads version "
                                  f"{VERSION}")
        raise CheckpointError(f"{path} is not a functrans checkpoint (wrong magic bytes "
                              f"{head[:8]!r}); save writes them with functrans.io.save")
    (n,) = struct.unpack("<Q", head[8:16])
    text = f.read(n)
    if len(text) != n:
        raise CheckpointError(f"{path} is truncated: its header is incomplete")
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: the header is corrupted (not valid JSON)") from None
    if header.get("format") != "functrans-checkpoint" or header.get("version") != VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint format "
                              f"{header.get('format')!r} version {header.get('version')!r}")
    return header, 16 + n


def info(path) -> dict:
    """The header of a checkpoint (step, metadata, arrays) without loading its data."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        header, _ = _read_header(f, path)
    return header


def _dtype(name: str, path):
    try:
        return np.dtype(dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)
    except TypeError:
        raise CheckpointError(f"{path}: unknown dtype {name!r} in the header") from None


def restore(path, like=None, *, return_header: bool = False):
    """Reads a checkpoint written by :func:`save`.

    Args:
      path: the file.
      like: optional template pytree (e.g. the freshly initialised model and
        optimizer state). The checkpoint must have the same structure, and each
        array the template's shape and dtype; the result is built with the
        template's tree (so NamedTuples, dataclass modules and custom nodes
        come back as themselves). Without a template, builtins are rebuilt and
        other nodes come back as dicts of their children.
      return_header: also return the header (step, metadata).

    Raises:
      CheckpointError: missing, truncated, corrupted or foreign file, or a
        mismatch with ``like`` (every mismatch is listed). Nothing is returned
        half-loaded.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path!r}")
    with open(path, "rb") as f:
        header, start = _read_header(f, path)
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size != start + header["data_size"]:
            raise CheckpointError(f"{path} is truncated or has trailing bytes: expected "
                                  f"{start + header['data_size']} bytes, found {size}")
        arrays = []
        for e in header["arrays"]:
            f.seek(start + e["offset"])
            data = f.read(e["nbytes"])
            if len(data) != e["nbytes"] or hashlib.sha256(data).hexdigest() != e["sha256"]:
                raise CheckpointError(f"{path} is corrupted: the checksum of array {e['path']} "
                                      "does not match")
            dt = _dtype(e["dtype"], path)
            a = np.frombuffer(data, dtype=dt.newbyteorder("<")).reshape(tuple(e["shape"]))
            arrays.append(a.astype(dt, copy=False))
    arrays = [_new_array(a, False) for a in arrays]
    if like is not None:
        tree = _match_template(path, header, arrays, like)
    else:
        tree = _decode(header["tree"], arrays)
    return (tree, header) if return_header else tree


def _flat_saved(node, arrays, prefix="", out=None):
    """``[(key path text, leaf)]`` of the saved tree, in the order ``tree_flatten`` would
    give for the original tree (dict keys sorted, other nodes in their own order)."""
    out = [] if out is None else out
    if node is None:
        return out
    if "array" in node or "scalar" in node:
        out.append((prefix, _decode(node, arrays)))
    elif "dict" in node:
        for k, v in sorted(node["dict"], key=lambda kv: kv[0]):
            _flat_saved(v, arrays, f"{prefix}[{k!r}]", out)
    elif "namedtuple" in node:
        for f, v in zip(node["fields"], node["children"]):
            _flat_saved(v, arrays, f"{prefix}.{f}", out)
    elif "tuple" in node or "list" in node:
        for i, v in enumerate(node.get("tuple", node.get("list"))):
            _flat_saved(v, arrays, f"{prefix}[{i}]", out)
    elif "node" in node:
        for k, v in zip(node["keys"], node["children"]):
            _flat_saved(v, arrays, prefix + k, out)
    return out


def _match_template(path, header, arrays, like):
    got = _flat_saved(header["tree"], arrays)
    want, treedef = tree_flatten_with_path(like)
    want = [(keystr(p), w) for p, w in want]
    problems = []
    if [p for p, _ in got] != [p for p, _ in want]:
        got_paths = {p for p, _ in got}
        want_paths = {p for p, _ in want}
        missing = sorted(want_paths - got_paths)[:10]
        extra = sorted(got_paths - want_paths)[:10]
        problems.append(f"the checkpoint has {len(got)} leaves, the template {len(want)}"
                        + (f"; missing from the checkpoint: {', '.join(missing)}" if missing else "")
                        + (f"; not in the template: {', '.join(extra)}" if extra else "")
                        + ("; the same keys in another order or nesting"
                           if not missing and not extra else ""))
    else:
        for (where, g), (_, w) in zip(got, want):
            where = where or "(root)"
            g_arr = isinstance(g, Array)
            w_arr = hasattr(w, "shape") and hasattr(w, "dtype") and not isinstance(
                w, (int, float, bool, complex))
            if g_arr != w_arr:
                problems.append(f"{where}: the checkpoint has a "
                                f"{'array' if g_arr else type(g).__name__}, the template a "
                                f"{'array' if w_arr else type(w).__name__}")
            elif g_arr:
                ws, wd = tuple(w.shape), np.dtype(w.dtype)
                if tuple(g.shape) != ws or np.dtype(g.dtype) != wd:
                    problems.append(f"{where}: checkpoint {g.dtype}{list(g.shape)} vs template "
                                    f"{wd}{list(ws)}")
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise CheckpointError(f"{path} does not match the template (is it from another model?):"
                              f"\n  {shown}{more}")
    return treedef.unflatten([g for _, g in got])


# --- managing a directory of checkpoints --------------------------------------------------------


class CheckpointManager:
    """Keeps the last ``keep`` checkpoints of a run in ``directory``.

    Files are named ``ckpt_00000100.ftc`` by step. ``restore()`` takes the
    newest checkpoint that reads back cleanly, skipping a corrupt one with a
    warning.

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

    def __init__(self, directory, keep: int = 3, create: bool = True):
        self.directory = os.fspath(directory)
        if keep < 1:
            raise ValueError(f"CheckpointManager: keep must be >= 1, got {keep}")
        self.keep = int(keep)
        if create:
            try:
                os.makedirs(self.directory, exist_ok=True)
            except OSError as e:
                raise CheckpointError(f"cannot create the checkpoint directory "
                                      f"{self.directory!r}: {e.strerror}") from None
        if os.path.isdir(self.directory) and not os.access(self.directory, os.W_OK):
            raise CheckpointError(f"the checkpoint directory {self.directory!r} is not writable")

    def path(self, step: int) -> str:
        return os.path.join(self.directory, f"ckpt_{int(step):08d}.ftc")

    def all_steps(self) -> list:
        """Steps of the checkpoint files present, oldest first."""
        if not os.path.isdir(self.directory):
            return []
        steps = [int(m.group(1)) for n in os.listdir(self.directory)
                 if (m := self._PATTERN.match(n))]
        return sorted(steps)

    def save(self, step: int, tree, metadata=None) -> str:
        """Writes the checkpoint of ``step`` atomically, then deletes all but the newest ``keep``."""
        path = self.path(step)
        save(path, tree, step=step, metadata=metadata)
        for old in self.all_steps()[:-self.keep]:
            try:
                os.unlink(self.path(old))
            except OSError:  # pragma: no cover
                pass
        return path

    def latest_step(self):
        """The newest step whose checkpoint reads back cleanly (None if there is none)."""
        for step in reversed(self.all_steps()):
            try:
                restore(self.path(step))
                return step
            except CheckpointError as e:
                warnings.warn(f"skipping a corrupt checkpoint: {e}", RuntimeWarning, stacklevel=2)
        return None

    def restore(self, step=None, like=None, *, return_header: bool = False):
        """The checkpoint of ``step``, or the newest valid one.

        Raises:
          CheckpointError: no checkpoint (or none valid) in the directory, or a
            template mismatch.
        """
        if step is not None:
            return restore(self.path(step), like, return_header=return_header)
        steps = self.all_steps()
        if not steps:
            raise CheckpointError(f"no checkpoint in {self.directory!r}")
        for s in reversed(steps):
            try:
                return restore(self.path(s), like, return_header=return_header)
            except CheckpointError as e:
                if "does not match the template" in str(e):
                    raise
                warnings.warn(f"skipping a corrupt checkpoint: {e}", RuntimeWarning,
                              stacklevel=2)
        raise CheckpointError(f"no valid checkpoint in {self.directory!r} (all "
                              f"{len(steps)} are corrupt)")


__all__ = ["save", "restore", "info", "CheckpointManager", "CheckpointError", "MAGIC", "VERSION"]
