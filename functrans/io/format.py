"""Saving and restoring pytrees: checkpoints that never run code on load.

    ft.io.save("run/ckpt.ftc", {"params": params, "opt": opt_state, "key": key}, step=100)
    tree = ft.io.restore("run/ckpt.ftc", like=template)   # validated against the template

The format (version 2), documented so other tools can read it:

    bytes 0..7    magic b"FTCKPT\\x00\\x02" (the last byte is the format version)
    bytes 8..15   header length H (uint64, little endian)
    bytes 16..47  SHA-256 of bytes 8..15 followed by the header
    bytes 48..    the header: H bytes of UTF-8 JSON
    then          the data: the arrays' raw bytes (C order, little endian), each at
                  the offset (from the end of the header, 64-byte aligned) the
                  header gives, with zero bytes between them

Every byte is covered by a check: the magic is compared, the length and the
header by the header's SHA-256, each array by its own SHA-256 (in the header),
the padding must be zero and the file must end where the header says. A file
that fails any check is never loaded.

The header holds ``format``, ``version``, ``step``, ``metadata`` (any JSON
value), ``tree`` (the structure, as nested JSON: dicts, lists, tuples,
NamedTuples, None, Python scalars, and other pytree nodes by type name and
child key), ``arrays`` (per array: key path, dtype, shape, offset, byte
count, sha256) and ``data_size``. Loading parses JSON and copies bytes; it
never unpickles or imports anything. Every field is validated before any
array is read, so a damaged or hostile file raises :class:`CheckpointError`
(naming the file and what is wrong) after reading at most the file's own size.

Writes are atomic: the file is written under a temporary name in the same
directory (``.NAME.HOST.PID.RANDOM.tmp``, permissions from the umask like any
file the user writes), flushed and fsynced, then renamed over the target (and
the directory fsynced), so a crash leaves the old checkpoint or the new one,
never a torn file. Restoring reads and verifies everything (sizes, checksums,
and the template's structure, shapes and dtypes) before building the result,
so an error leaves nothing half-loaded.

Version 1 files (no header checksum) are still read, with a warning.
"""

from __future__ import annotations

import collections
import errno
import hashlib
import json
import math
import os
import re
import secrets
import socket
import stat
import struct
import warnings
from typing import Any

import numpy as np

from .. import dtypes
from .._tree_nodes import _sorted_keys
from ..array import Array, _new_array
from ..config import config
from ..tree_util import keystr, tree_flatten_with_path

VERSION = 2
MAGIC = b"FTCKPT\x00" + bytes([VERSION])
_PREFIX = MAGIC[:7]
_ALIGN = 64
_SHA = 32
MAX_DEPTH = 100                  # pytree nesting a checkpoint may hold
MAX_HEADER_BYTES = 256 << 20     # a header larger than this is refused before it is read

# the dtypes a checkpoint may hold, by the name stored in the header
_DTYPES = {np.dtype(d).name: np.dtype(d) for d in dtypes._SUPPORTED}
_WIDE = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be restored: missing, truncated, corrupted, foreign,
    or not matching the template."""


class TemplateMismatchError(CheckpointError):
    """A valid checkpoint whose structure, shapes or dtypes differ from the template's."""


# --- encoding the tree -----------------------------------------------------------------------


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _json_float(v: float):
    return v if math.isfinite(v) else repr(v)


def _encode(x, arrays: list, path: str, depth: int = 0):
    """The JSON structure of ``x``; array leaves are appended to ``arrays``."""
    where = path or "the root"
    if depth > MAX_DEPTH:
        raise TypeError(f"save: the tree is nested deeper than {MAX_DEPTH} levels at {where}")
    if x is None:
        return None
    if isinstance(x, np.generic):  # numpy scalars keep their dtype: stored as 0-d arrays
        arrays.append((path, x))
        return {"array": len(arrays) - 1}
    if isinstance(x, bool):
        return {"scalar": x, "type": "bool"}
    if isinstance(x, int):
        return {"scalar": int(x), "type": "int"}
    if isinstance(x, float):
        return {"scalar": _json_float(float(x)), "type": "float"}
    if isinstance(x, complex):
        return {"scalar": [_json_float(x.real), _json_float(x.imag)], "type": "complex"}
    if isinstance(x, (Array, np.ndarray)) or (
            hasattr(x, "__array__") and hasattr(x, "shape") and hasattr(x, "dtype")):
        arrays.append((path, x))
        return {"array": len(arrays) - 1}
    if isinstance(x, dict):
        for k in x:
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dict key {k!r} at {where} is a "
                                f"{type(k).__name__}; checkpoint dict keys must be str or int")
        return {"dict": [[k, _encode(x[k], arrays, f"{path}[{k!r}]", depth + 1)]
                         for k in x]}
    if _is_namedtuple(x):
        return {"namedtuple": type(x).__name__, "fields": list(type(x)._fields),
                "children": [_encode(v, arrays, f"{path}.{f}", depth + 1)
                             for f, v in zip(type(x)._fields, x)]}
    if isinstance(x, tuple):
        return {"tuple": [_encode(v, arrays, f"{path}[{i}]", depth + 1)
                          for i, v in enumerate(x)]}
    if isinstance(x, list):
        return {"list": [_encode(v, arrays, f"{path}[{i}]", depth + 1)
                         for i, v in enumerate(x)]}
    # any other registered pytree node (dataclass modules, custom nodes): by its children's keys
    from .._tree_nodes import _LEAF, _node_type
    entry = _node_type(type(x))
    if entry is _LEAF:
        raise TypeError(f"save: cannot store a {type(x).__name__} at {where}: "
                        "leaves must be arrays or Python scalars, nodes must be pytrees")
    try:
        pairs = entry.flatten_with_keys(x)[0]
    except Exception:
        raise TypeError(f"save: cannot store a {type(x).__name__} at {where}") from None
    return {"node": type(x).__qualname__,
            "keys": [keystr((k,)) for k, _ in pairs],
            "children": [_encode(v, arrays, f"{path}{keystr((k,))}", depth + 1)
                         for k, v in pairs]}


_NAMEDTUPLES: dict = {}


def _namedtuple(name: str, fields: list):
    """One class per (name, fields), so two restores give trees ``tree_map`` accepts together."""
    key = (name, tuple(fields))
    cls = _NAMEDTUPLES.get(key)
    if cls is None:
        ident = name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "Record"
        cls = _NAMEDTUPLES[key] = collections.namedtuple(ident, fields, rename=True)
    return cls


def _scalar(node):
    t, v = node["type"], node["scalar"]
    if t == "bool":
        return bool(v)
    if t == "int":
        return int(v)
    if t == "float":
        return float(v)
    return complex(float(v[0]), float(v[1]))


def _decode(node, arrays: list):
    """Builds plain Python containers from the (validated) JSON structure (no template)."""
    if node is None:
        return None
    if "array" in node:
        return arrays[node["array"]]
    if "scalar" in node:
        return _scalar(node)
    if "dict" in node:
        return {k: _decode(v, arrays) for k, v in node["dict"]}
    if "namedtuple" in node:
        cls = _namedtuple(node["namedtuple"], node["fields"])
        return cls(*[_decode(v, arrays) for v in node["children"]])
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    # a custom node without a template: its children by key
    return {k: _decode(v, arrays) for k, v in zip(node["keys"], node["children"])}


# --- writing -----------------------------------------------------------------------------------


def _host(path: str, x) -> np.ndarray:
    """The leaf as a C-contiguous little-endian numpy array, or a TypeError saying why not."""
    where = path or "the root"
    a = np.asarray(x)
    name = a.dtype.newbyteorder("=").name if a.dtype.byteorder == ">" else a.dtype.name
    if name not in _DTYPES:
        raise TypeError(
            f"save: the array at {where} has dtype {a.dtype} ({a.dtype.kind!r} kind), which a "
            f"checkpoint cannot hold; checkpoints hold {', '.join(sorted(_DTYPES))} arrays "
            "(convert strings or objects to numbers, or keep them in metadata)")
    if name in _WIDE and not config.enable_x64:
        raise TypeError(
            f"save: the array at {where} is {name} but 64-bit types are disabled, so "
            f"functrans would restore and compute it as {_WIDE[name]} (eager and jit would "
            f"disagree). Convert it (x.astype(np.{_WIDE[name]})) or enable them with "
            "ft.config.update('enable_x64', True)")
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return a if a.flags.c_contiguous else a.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)


def _host_name() -> str:
    """This machine's name as temporary file names carry it (letters, digits, dashes)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def _temp_name(path: str) -> str:
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{_host_name()}."
                        f"{os.getpid()}.{secrets.token_hex(6)}.tmp")


def _atomic_write(path: str, chunks) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CheckpointError(f"save: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise CheckpointError(f"save: the directory {directory!r} is not writable")
    if os.path.isdir(path):
        raise CheckpointError(f"save: {path!r} is a directory; remove it or save elsewhere")
    tmp = _temp_name(os.path.abspath(path))
    try:
        # 0o666 and O_EXCL: the umask decides the permissions, as for any file the user writes
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                     0o666)
    except OSError as e:
        raise CheckpointError(f"save: cannot create a file in {directory!r}: "
                              f"{e.strerror}") from None
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


def _header_digest(length: bytes, text: bytes) -> bytes:
    return hashlib.sha256(length + text).digest()


def save(path, tree, *, step: int | None = None, metadata: Any = None) -> None:
    """Writes ``tree`` (a pytree of arrays and Python scalars) to ``path`` atomically.

    Args:
      path: the file to write (its directory must exist).
      tree: model parameters, optimizer state, step, PRNG keys, ...
      step: an optional training step stored in the header.
      metadata: optional JSON-serialisable information (config, metrics).

    Raises:
      TypeError: a leaf that is not an array or Python scalar, an array whose
        dtype a checkpoint cannot hold (strings, objects, structured), a 64-bit
        array while 64-bit types are disabled, or metadata that is not JSON;
        nothing is written.
      CheckpointError: the directory is missing or not writable.
    """
    path = os.fspath(path)
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, np.integer))):
        raise TypeError(f"save: step must be an int or None, got {step!r}")
    arrays: list = []
    structure = _encode(tree, arrays, "")
    entries, blobs, offset = [], [], 0
    for p, x in arrays:
        a = _host(p, x)
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
    except (TypeError, ValueError, RecursionError) as e:
        raise TypeError(f"save: metadata must be JSON-serialisable (dicts, lists, str, finite "
                        f"numbers, bools, None): {e}") from None
    if len(text) > MAX_HEADER_BYTES:
        raise TypeError(f"save: the tree's description takes {len(text)} bytes, more than a "
                        f"checkpoint header may ({MAX_HEADER_BYTES}); store fewer, larger arrays")
    length = struct.pack("<Q", len(text))
    _atomic_write(path, [MAGIC, length, _header_digest(length, text), text] + blobs)


# --- reading -----------------------------------------------------------------------------------


def _open(path: str):
    """Opens ``path`` for reading without blocking (a FIFO named like a checkpoint must not
    hang) and checks that it is a regular file; returns ``(file, size)``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path!r}") from None
    except OSError as e:
        what = "a directory" if e.errno == errno.EISDIR else e.strerror
        raise CheckpointError(f"cannot read the checkpoint {path!r}: {what}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else
                    "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file")
            raise CheckpointError(f"{path!r} is {kind}, not a checkpoint file")
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _read_exact(f, n: int, path: str, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise CheckpointError(f"{path} is truncated: {what} is incomplete")
    return data


def _read_header(f, size: int, path: str):
    """Reads and validates the header; returns ``(header, start of the data)``."""
    head = f.read(16)
    if len(head) < 8 or head[:7] != _PREFIX:
        raise CheckpointError(f"{path} is not a functrans checkpoint (wrong magic bytes "
                              f"{head[:8]!r}); save writes them with functrans.io.save")
    version = head[7]
    if version not in (1, VERSION):
        raise CheckpointError(f"{path}: a functrans checkpoint of an unsupported format "
                              f"version ({version}); this functrans reads versions 1 and "
                              f"{VERSION}")
    if len(head) < 16:
        raise CheckpointError(f"{path} is truncated: its header is incomplete")
    (n,) = struct.unpack("<Q", head[8:16])
    fixed = 16 + (_SHA if version >= 2 else 0)
    if n > size - fixed or n > MAX_HEADER_BYTES:
        raise CheckpointError(f"{path} is corrupted or truncated: the header length {n} does "
                              f"not fit in the file of {size} bytes")
    digest = _read_exact(f, _SHA, path, "its header checksum") if version >= 2 else None
    text = _read_exact(f, n, path, "its header")
    if digest is not None and _header_digest(head[8:16], text) != digest:
        raise CheckpointError(f"{path} is corrupted: the checksum of its header does not match")
    if digest is None:
        warnings.warn(f"{path} is a version-1 checkpoint, whose header has no checksum: "
                      "re-save it with this functrans to protect it", UserWarning, stacklevel=4)
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{path}: the header is corrupted (not valid JSON)") from None
    try:
        _validate(header, path, size - fixed - n)
    except CheckpointError:
        raise
    except Exception as e:  # a shape of JSON the checks above did not foresee
        raise CheckpointError(f"{path}: the header is malformed ({type(e).__name__}: "
                              f"{e})") from None
    return header, fixed + n


def _bad(path, msg):
    return CheckpointError(f"{path}: the header is malformed: {msg}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _validate(h, path: str, data_size: int) -> None:
    """Checks every field of a parsed header, so that decoding cannot fail or mislead."""
    if not isinstance(h, dict):
        raise _bad(path, f"a JSON {type(h).__name__} instead of an object")
    if h.get("format") != "functrans-checkpoint" or h.get("version") not in (1, VERSION):
        raise CheckpointError(f"{path}: unsupported checkpoint format {h.get('format')!r} "
                              f"version {h.get('version')!r}")
    for k in ("step", "metadata", "tree", "arrays", "data_size"):
        if k not in h:
            raise _bad(path, f"the field {k!r} is missing")
    if h["step"] is not None and not _is_int(h["step"]):
        raise _bad(path, f"step is {h['step']!r}, not an integer")
    if h["data_size"] != data_size:
        raise CheckpointError(f"{path} is truncated or has trailing bytes: the header says "
                              f"{h['data_size']!r} bytes of data, the file holds {data_size}")
    arrays = h["arrays"]
    if not isinstance(arrays, list):
        raise _bad(path, "'arrays' is not a list")
    end = 0
    for i, e in enumerate(arrays):
        if not isinstance(e, dict):
            raise _bad(path, f"array entry {i} is not an object")
        for k in ("path", "dtype", "shape", "offset", "nbytes", "sha256"):
            if k not in e:
                raise _bad(path, f"array entry {i} has no {k!r}")
        if not isinstance(e["path"], str):
            raise _bad(path, f"array entry {i}'s path is not a string")
        dt = _DTYPES.get(e["dtype"]) if isinstance(e["dtype"], str) else None
        if dt is None:
            raise _bad(path, f"array {e['path']} has an unknown dtype {e['dtype']!r}")
        shape = e["shape"]
        if not isinstance(shape, list) or len(shape) > 32 or not all(
                _is_int(d) and d >= 0 for d in shape) or math.prod(
                d for d in shape if d) * dt.itemsize >= 1 << 62:
            raise _bad(path, f"array {e['path']} has an invalid shape {str(shape)[:80]}")
        nbytes = math.prod(shape) * dt.itemsize
        if e["nbytes"] != nbytes:
            raise _bad(path, f"array {e['path']}: {e['nbytes']!r} bytes for "
                             f"{dt.name}{shape}, which takes {nbytes}")
        off = e["offset"]
        if not _is_int(off) or off < end or off - end >= _ALIGN or off % _ALIGN:
            raise _bad(path, f"array {e['path']} has an invalid offset {off!r}")
        end = off + nbytes
        if end > data_size:
            raise _bad(path, f"array {e['path']} ends at byte {end} of {data_size}")
        if not (isinstance(e["sha256"], str) and re.fullmatch(r"[0-9a-f]{64}", e["sha256"])):
            raise _bad(path, f"array {e['path']} has an invalid checksum field")
    if end != data_size:
        raise _bad(path, f"the arrays end at byte {end} of {data_size}")
    seen = [False] * len(arrays)
    _validate_tree(h["tree"], path, seen, 0)
    if not all(seen):
        raise _bad(path, f"array {seen.index(False)} is not in the tree")


_KINDS = ("array", "scalar", "dict", "namedtuple", "tuple", "list", "node")


def _validate_tree(node, path, seen, depth) -> None:
    if depth > MAX_DEPTH:
        raise _bad(path, f"the tree is nested deeper than {MAX_DEPTH} levels")
    if node is None:
        return
    kinds = [k for k in _KINDS if isinstance(node, dict) and k in node]
    if len(kinds) != 1:
        raise _bad(path, f"an unknown tree node {str(node)[:80]}")
    kind = kinds[0]
    children = []
    if kind == "array":
        i = node["array"]
        if not _is_int(i) or not 0 <= i < len(seen) or seen[i]:
            raise _bad(path, f"an invalid or repeated array index {i!r}")
        seen[i] = True
    elif kind == "scalar":
        t, v = node.get("type"), node["scalar"]
        number = (lambda u: (isinstance(u, (int, float)) and not isinstance(u, bool))
                  or u in ("nan", "inf", "-inf"))
        ok = {"bool": lambda: isinstance(v, bool), "int": lambda: _is_int(v),
              "float": lambda: number(v),
              "complex": lambda: isinstance(v, list) and len(v) == 2 and all(map(number, v))}
        if t not in ok or not ok[t]():
            raise _bad(path, f"an invalid scalar {str(node)[:80]}")
    elif kind == "dict":
        pairs = node["dict"]
        if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int))
                for p in pairs):
            raise _bad(path, "an invalid dict node")
        keys = [p[0] for p in pairs]
        if len(set(keys)) != len(keys):
            raise _bad(path, "a dict with repeated keys")
        try:
            _sorted_keys(dict.fromkeys(keys))
        except TypeError:
            raise _bad(path, "a dict whose keys cannot be ordered") from None
        children = [p[1] for p in pairs]
    elif kind in ("namedtuple", "node"):
        names = node.get("fields" if kind == "namedtuple" else "keys")
        children = node.get("children")
        if not (isinstance(node[kind], str) and isinstance(names, list)
                and isinstance(children, list) and len(names) == len(children)
                and all(isinstance(s, str) and s.isprintable() for s in names)):
            raise _bad(path, f"an invalid {kind} node")
    else:
        children = node[kind]
        if not isinstance(children, list):
            raise _bad(path, f"an invalid {kind} node")
    for c in children:
        _validate_tree(c, path, seen, depth + 1)


def info(path) -> dict:
    """The header of a checkpoint (step, metadata, arrays) without loading its data."""
    path = os.fspath(path)
    f, size = _open(path)
    with f:
        header, _ = _read_header(f, size, path)
    return header


def _read_arrays(f, header, start, path):
    """Reads, checks and builds the arrays (the padding between them must be zero)."""
    x64 = config.enable_x64
    out, pos = [], 0
    for e in header["arrays"]:
        gap = _read_exact(f, e["offset"] - pos, path, "its data")
        if gap.count(0) != len(gap):
            raise CheckpointError(f"{path} is corrupted: non-zero bytes in the padding before "
                                  f"array {e['path']}")
        data = _read_exact(f, e["nbytes"], path, f"array {e['path']}")
        pos = e["offset"] + e["nbytes"]
        if hashlib.sha256(data).hexdigest() != e["sha256"]:
            raise CheckpointError(f"{path} is corrupted: the checksum of array {e['path']} "
                                  "does not match")
        dt = _DTYPES[e["dtype"]]
        if dt.name in _WIDE and not x64:
            raise CheckpointError(
                f"{path}: array {e['path']} is {dt.name}, but 64-bit types are disabled; "
                "enable them (ft.config.update('enable_x64', True)) to restore this checkpoint")
        a = np.frombuffer(data, dtype=dt.newbyteorder("<")).reshape(tuple(e["shape"]))
        out.append(a.astype(dt, copy=False))
    return out


def restore(path, like=None, *, return_header: bool = False):
    """Reads a checkpoint written by :func:`save`.

    Args:
      path: the file.
      like: optional template pytree (e.g. the freshly initialised model and
        optimizer state). The checkpoint must have the same structure, and each
        array the template's shape and dtype; the result is built with the
        template's tree (so NamedTuples, dataclass modules and custom nodes
        come back as themselves). A Python scalar in the template takes a 0-d
        array of the same kind (bool, int, float, complex) and gives a scalar
        of the template's type; a 0-d array in the template takes a Python
        scalar of its kind. Without a template, builtins are rebuilt and other
        nodes come back as dicts of their children.
      return_header: also return the header (step, metadata).

    Raises:
      CheckpointError: missing, truncated, corrupted or foreign file (anything
        that is not a regular checkpoint file, with every byte as written).
      TemplateMismatchError: a valid checkpoint that does not match ``like``
        (every mismatch is listed). Nothing is returned half-loaded.
    """
    path = os.fspath(path)
    f, size = _open(path)
    with f:
        header, start = _read_header(f, size, path)
        arrays = _read_arrays(f, header, start, path)
    arrays = [_new_array(a, False) for a in arrays]
    if like is not None:
        tree = _match_template(path, header, arrays, like)
    else:
        tree = _decode(header["tree"], arrays)
    return (tree, header) if return_header else tree


def _flat_saved(node, arrays, prefix="", out=None):
    """``[(key path text, leaf)]`` of the saved tree, in the order ``tree_flatten`` would
    give for the original tree (dict keys sorted as tree_util does, other nodes in order)."""
    out = [] if out is None else out
    if node is None:
        return out
    if "array" in node or "scalar" in node:
        out.append((prefix, _decode(node, arrays)))
    elif "dict" in node:
        children = dict((k, v) for k, v in node["dict"])
        for k in _sorted_keys(children):
            _flat_saved(children[k], arrays, f"{prefix}[{k!r}]", out)
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


_SCALAR_KIND = {bool: "b", int: "iu", float: "f", complex: "c"}


def _kind(dtype) -> str:
    dt = np.dtype(dtype)
    return "f" if dt == dtypes.bfloat16 else dt.kind


def _python_scalar(w):
    return type(w) if type(w) in _SCALAR_KIND else None


def _native(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    return dt.newbyteorder("=") if dt.byteorder == ">" else dt


def _match_leaf(where, g, w, problems):
    """The restored leaf for checkpoint leaf ``g`` and template leaf ``w`` (or a problem)."""
    g_arr = isinstance(g, Array)
    w_type = _python_scalar(w)
    w_arr = w_type is None and hasattr(w, "shape") and hasattr(w, "dtype")
    if g_arr and w_arr:
        ws, wd = tuple(w.shape), _native(w.dtype)
        if tuple(g.shape) != ws or np.dtype(g.dtype) != wd:
            problems.append(f"{where}: checkpoint {g.dtype}{list(g.shape)} vs template "
                            f"{wd}{list(ws)}")
        return g
    if g_arr and w_type is not None:  # a Python scalar in the template, a 0-d array saved
        if g.shape == () and _kind(g.dtype) in _SCALAR_KIND[w_type]:
            return w_type(np.asarray(g).item())
        problems.append(f"{where}: the checkpoint has a {g.dtype}{list(g.shape)} array, the "
                        f"template a Python {w_type.__name__}")
        return g
    g_type = type(g)
    if w_arr:  # a Python scalar saved, an array in the template
        wd = _native(w.dtype)
        if tuple(w.shape) == () and _kind(wd) in _SCALAR_KIND[g_type]:
            try:
                value = np.asarray(g, wd)
            except OverflowError:
                value = None
            # (a float rounds to the template's precision as fnp.asarray(g, dtype) would)
            if value is not None and (g_type in (float, complex) or value.item() == g):
                return _new_array(value, False)
        problems.append(f"{where}: the checkpoint has a Python {g_type.__name__} ({g!r}), the "
                        f"template a {wd}{list(w.shape)} array")
        return g
    if w_type is None:
        problems.append(f"{where}: the checkpoint has a {g_type.__name__}, the template a "
                        f"{type(w).__name__}")
    elif g_type is not w_type:
        problems.append(f"{where}: the checkpoint has a {g_type.__name__}, the template a "
                        f"{w_type.__name__}")
    return g


def _match_template(path, header, arrays, like):
    got = _flat_saved(header["tree"], arrays)
    want, treedef = tree_flatten_with_path(like)
    want = [(keystr(p), w) for p, w in want]
    problems, leaves = [], []
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
        leaves = [_match_leaf(where or "(root)", g, w, problems)
                  for (where, g), (_, w) in zip(got, want)]
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise TemplateMismatchError(f"{path} does not match the template (is it from another "
                                    f"model?):\n  {shown}{more}")
    return treedef.unflatten(leaves)


__all__ = ["save", "restore", "info", "CheckpointError", "TemplateMismatchError", "MAGIC",
           "VERSION", "MAX_DEPTH", "MAX_HEADER_BYTES"]
