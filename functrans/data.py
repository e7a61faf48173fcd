"""Datasets and batching: MNIST / Fashion-MNIST from IDX files, the shipped 8×8 digits.

    from functrans import data
    (x_train, y_train), (x_test, y_test) = data.load_mnist("~/data/mnist")
    for xb, yb in data.batches(x_train, y_train, 128, key=ft.random.key(0)):
        ...

Arrays are returned as numpy arrays (images float32 in [0, 1], or
standardised with ``normalize=True``; labels int32); batches are numpy too,
so a jitted training step receives them as ordinary inputs.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib

import numpy as np

from . import random

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# MD5 of the *decompressed* files, as published for the official datasets.
MNIST_MD5 = {
    "mnist": {"train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
              "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
              "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
              "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637"},
    "fashion_mnist": {"train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                      "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
                      "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
                      "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"},
}

DOWNLOAD = {
    "mnist": "https://storage.googleapis.com/cvdf-datasets/mnist/ (the four *-ubyte.gz files; "
             "originally http://yann.lecun.com/exdb/mnist/)",
    "fashion_mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ "
                     "(https://github.com/zalandoresearch/fashion-mnist)",
}

_MEAN_STD = {"mnist": (0.1307, 0.3081), "fashion_mnist": (0.2860, 0.3530)}


class DatasetError(FileNotFoundError):
    """A dataset file is missing or malformed; the message says what to download where."""


def _open(path):
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# Larger than any IDX dataset in use (MNIST's training images are 47 MB); a header asking
# for more is corrupt or hostile, and is refused before anything is allocated.
_IDX_MAX_BYTES = 2**31
_IDX_MAX_DIMS = 4


def _read_exactly(f, n: int, path, what: str) -> bytes:
    data = f.read(n)
    if len(data) < n:
        raise DatasetError(f"{path} is truncated (incomplete {what})")
    return data


def _read_idx(path, md5: bool = False):
    """``(array, md5 hex digest of the decompressed bytes or None)``.

    The header is read first; the body is then read with a bound computed from its
    shape, so a decompression bomb (a short header followed by gigabytes of zeros) is
    refused after reading one byte past the data, never inflated whole.
    """
    path = os.fspath(path)
    try:
        with _open(path) as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise DatasetError(f"{path} is not an IDX file (bad magic number {head!r})")
            if head[2] not in _IDX_TYPES:
                raise DatasetError(f"{path}: unknown IDX element type 0x{head[2]:02x}")
            ndim = head[3]
            if ndim > _IDX_MAX_DIMS:
                raise DatasetError(f"{path}: the IDX header claims {ndim} dimensions (at most "
                                   f"{_IDX_MAX_DIMS} are supported); the file is corrupted")
            dims = _read_exactly(f, 4 * ndim, path, "header")
            shape = struct.unpack(f">{ndim}I", dims)
            dtype = np.dtype(_IDX_TYPES[head[2]])
            expected = math.prod(shape) * dtype.itemsize
            if expected > _IDX_MAX_BYTES:
                raise DatasetError(f"{path}: the IDX header claims shape {shape} ({expected:,} "
                                   f"bytes of data, more than the {_IDX_MAX_BYTES:,} allowed); "
                                   "the file is corrupted")
            body = f.read(expected + 1)
    except DatasetError:
        raise
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"{path}: cannot read it as an IDX file ({e})") from None
    if len(body) != expected:
        found = ("more data than that (trailing bytes)" if len(body) > expected
                 else f"only {len(body)} bytes")
        raise DatasetError(f"{path} is truncated or corrupted: its header says shape {shape} "
                           f"({expected} bytes of data) but it has {found}")
    digest = hashlib.md5(head + dims + body).hexdigest() if md5 else None
    array = np.frombuffer(body, dtype).reshape(shape).astype(dtype.newbyteorder("="))
    return array, digest


def read_idx(path) -> np.ndarray:
    """Reads one IDX file (gzipped or not) into a numpy array, checking its header.

    Raises:
      DatasetError: not an IDX file, a header claiming more than 4 dimensions or
        2 GiB of data, or data shorter or longer than the header says.
    """
    return _read_idx(path)[0]


def check_dataset(x, y, num_classes: int, *, images: str = "the images",
                  labels: str = "the labels") -> None:
    """Raises DatasetError unless every label is in ``[0, num_classes)`` and every pixel
    is finite. ``images`` and ``labels`` name the sources in the message (e.g. files).

    Training on such data would not fail: an out-of-range label is clamped by the
    loss and a NaN pixel turns every parameter into NaN, so it is checked up front.
    """
    y = np.asarray(y)
    bad = (y < 0) | (y >= num_classes)
    if bad.any():
        values = np.unique(y[bad])
        shown = ", ".join(str(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
        raise DatasetError(f"{labels}: {int(bad.sum())} of {y.size} labels are outside the "
                           f"{num_classes} classes 0..{num_classes - 1} (values {shown}); "
                           "the file is corrupted or belongs to another dataset")
    x = np.asarray(x)
    if x.dtype.kind in "fc":
        nonfinite = ~np.isfinite(x)
        if nonfinite.any():
            raise DatasetError(f"{images}: {int(nonfinite.sum())} of {x.size} pixel values "
                               "are not finite (NaN or inf); the file is corrupted")


def _find(directory, base):
    for name in (base + ".gz", base):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    return None


def load_mnist(directory, kind: str = "mnist", normalize: bool = False, flatten: bool = False,
               verify: bool = False):
    """MNIST or Fashion-MNIST from the four standard IDX files in ``directory``.

    Args:
      directory: where ``train-images-idx3-ubyte.gz`` & co are (``.gz`` or not).
      kind: ``"mnist"`` or ``"fashion_mnist"`` (only used for messages, checksums
        and normalisation constants).
      normalize: standardise images with the dataset's mean and std instead of
        scaling to [0, 1].
      flatten: images as (N, 784) instead of (N, 28, 28, 1).
      verify: also check the MD5 of each decompressed file against the
        published one.

    Returns:
      ``((x_train, y_train), (x_test, y_test))``: float32 images, int32 labels.

    Raises:
      DatasetError: a file is missing (the message lists the expected names,
        where to download them and their checksums) or malformed, a label is
        outside 0..9, or a pixel is not finite (the message names the file).
    """
    if kind not in MNIST_MD5:
        raise ValueError(f"load_mnist: kind must be 'mnist' or 'fashion_mnist', got {kind!r}")
    directory = os.path.expanduser(os.fspath(directory))
    paths, missing = {}, []
    for key, base in MNIST_FILES.items():
        p = _find(directory, base) if os.path.isdir(directory) else None
        if p is None:
            missing.append(base)
        paths[key] = p
    if missing:
        sums = "\n".join(f"    {b}: md5 {MNIST_MD5[kind][b]} (decompressed)"
                         for b in MNIST_FILES.values())
        raise DatasetError(
            f"load_mnist: {len(missing)} of the {kind} files are missing from {directory!r}: "
            f"{', '.join(m + '[.gz]' for m in missing)}.\n  Download them from {DOWNLOAD[kind]} "
            f"into that directory (gzipped or not).\n  Expected files and checksums:\n{sums}")
    arrays = {}
    for k, p in paths.items():
        arrays[k], digest = _read_idx(p, md5=verify)
        want = MNIST_MD5[kind][MNIST_FILES[k]]
        if verify and digest != want:
            raise DatasetError(f"{p}: MD5 {digest} does not match the published {want}")
    for split in ("train", "test"):
        xi, yi = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if xi.ndim != 3 or yi.ndim != 1 or len(xi) != len(yi):
            raise DatasetError(f"{directory}: the {split} images {xi.shape} and labels "
                               f"{yi.shape} do not form a dataset of 28x28 images")
        check_dataset(xi, yi, 10, images=paths[f"{split}_images"],
                      labels=paths[f"{split}_labels"])
    out = []
    for split in ("train", "test"):
        x = arrays[f"{split}_images"].astype(np.float32) / 255.0
        if normalize:
            mean, std = _MEAN_STD[kind]
            x = (x - mean) / std
        x = x.reshape(len(x), -1) if flatten else x[..., None]
        out.append((x, arrays[f"{split}_labels"].astype(np.int32)))
    return tuple(out)


def load_digits(flatten: bool = True, normalize: bool = False):
    """The 8×8 handwritten digits shipped with functrans (UCI optdigits; see
    functrans/datasets/README.md): 1,437 training and 360 test images.

    The split is fixed and stratified (36 test images per class, drawn once by a
    seeded permutation). Pixels are scaled to [0, 1] (or standardised with ``normalize``).

    Returns:
      ``((x_train, y_train), (x_test, y_test))``: float32 images of shape (N, 64)
      (or (N, 8, 8, 1) with ``flatten=False``), int32 labels.
    """
    path = os.path.join(os.path.dirname(__file__), "datasets", "digits.csv.gz")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x, y = table[:, :-1] / 16.0, table[:, -1].astype(np.int32)
    # a fixed, stratified split: 36 test images per class, chosen by a seeded permutation
    # (the file's order groups writers, so taking the last images would test on few writers)
    order = np.random.default_rng(20261125).permutation(len(y))
    test = np.zeros(len(y), bool)
    for c in range(10):
        test[order[y[order] == c][:36]] = True
    if normalize:
        mean, std = x[~test].mean(), x[~test].std()
        x = (x - mean) / std
    if not flatten:
        x = x.reshape(-1, 8, 8, 1)
    return (x[~test], y[~test]), (x[test], y[test])


def batches(x, y, batch_size: int, *, key=None, drop_last: bool = False):
    """Yields ``(x_batch, y_batch)`` numpy pairs covering the data once (one epoch).

    Args:
      key: a functrans.random key to shuffle with (None: in order). Use a new
        key per epoch, e.g. ``random.fold_in(key, epoch)``: the order is then a
        pure function of the key, so a resumed run sees the same batches.
      drop_last: skip a final batch smaller than ``batch_size``.
    """
    n = len(x)
    if len(y) != n:
        raise ValueError(f"batches: x has {n} examples but y has {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be >= 1, got {batch_size}")
    if key is None:
        order = np.arange(n)
    else:
        order = np.asarray(random.permutation(key, n))
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        idx = order[i:i + batch_size]
        yield x[idx], y[idx]


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


__all__ = ["load_mnist", "load_digits", "read_idx", "check_dataset", "batches", "num_batches",
           "DatasetError", "MNIST_FILES", "MNIST_MD5"]
