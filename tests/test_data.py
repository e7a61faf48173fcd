"""functrans.data: MNIST/Fashion-MNIST IDX loading (against the datasets' published facts),
the shipped digits, batching and shuffling, and clear errors for bad files."""

import gzip
import os
import shutil

import numpy as np
import pytest

import functrans.random as fr
from functrans import data

from conftest import shared_data_dir

MNIST = shared_data_dir("mnist")
FASHION = shared_data_dir("fashion-mnist")

needs_mnist = pytest.mark.skipif(MNIST is None,
                                 reason="../shared/data/mnist is not present on this machine")


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist(MNIST)


@needs_mnist
def test_mnist_matches_published_facts(mnist):
    (xt, yt), (xs, ys) = mnist
    assert xt.shape == (60000, 28, 28, 1) and xs.shape == (10000, 28, 28, 1)
    assert xt.dtype == np.float32 and yt.dtype == np.int32
    assert yt[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert ys[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(yt).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851,
                                        5949]
    assert np.bincount(ys).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(xt.mean() - 0.1307) < 1e-4 and abs(xs.mean() - 0.1325) < 1e-4
    assert xt.min() == 0.0 and xt.max() == 1.0


@needs_mnist
def test_mnist_normalize_flatten():
    (xt, _), _ = data.load_mnist(MNIST, normalize=True, flatten=True)
    assert xt.shape == (60000, 784)
    assert abs(xt.mean()) < 0.01 and abs(xt.std() - 1.0) < 0.01


@pytest.mark.skipif(FASHION is None, reason="../shared/data/fashion-mnist absent")
def test_fashion_mnist_with_checksums():
    (xt, yt), (xs, ys) = data.load_mnist(FASHION, kind="fashion_mnist", verify=True)
    assert yt[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(yt).tolist() == [6000] * 10 and np.bincount(ys).tolist() == [1000] * 10


@needs_mnist
def test_uncompressed_files_and_a_users_directory(tmp_path):
    for base in data.MNIST_FILES.values():
        with gzip.open(os.path.join(MNIST, base + ".gz"), "rb") as src, \
                open(tmp_path / base, "wb") as dst:
            shutil.copyfileobj(src, dst)
    (_, yt), (_, ys) = data.load_mnist(str(tmp_path), verify=True)
    assert yt[:3].tolist() == [5, 0, 4] and len(ys) == 10000


def test_missing_files_message(tmp_path):
    with pytest.raises(data.DatasetError) as e:
        data.load_mnist(tmp_path / "nowhere")
    msg = str(e.value)
    assert "train-images-idx3-ubyte[.gz]" in msg and "t10k-labels-idx1-ubyte" in msg
    assert "6bbc9ace898e44ae57da46a324031adb" in msg and "Download" in msg
    with pytest.raises(ValueError, match="kind"):
        data.load_mnist(tmp_path, kind="cifar")


def test_malformed_files(tmp_path):
    bad = tmp_path / "x.idx"
    bad.write_bytes(b"PK\x03\x04junk")
    with pytest.raises(data.DatasetError, match="not an IDX file"):
        data.read_idx(bad)
    # a valid header with too little data
    hdr = bytes([0, 0, 0x08, 3]) + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    short = tmp_path / "short.idx"
    short.write_bytes(hdr + b"\0" * 100)
    with pytest.raises(data.DatasetError, match="truncated or corrupted"):
        data.read_idx(short)
    good = tmp_path / "good.idx.gz"
    with gzip.open(good, "wb") as f:
        f.write(bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
                + bytes(range(6)))
    np.testing.assert_array_equal(data.read_idx(good), np.arange(6, dtype=np.uint8).reshape(2, 3))
    broken = tmp_path / "broken.gz"
    broken.write_bytes(b"\x1f\x8b" + b"\0" * 20)
    with pytest.raises(data.DatasetError, match="cannot read"):
        data.read_idx(broken)


def test_shipped_digits():
    (xt, yt), (xs, ys) = data.load_digits()
    assert xt.shape == (1437, 64) and xs.shape == (360, 64)
    assert np.bincount(ys).tolist() == [36] * 10
    assert np.bincount(np.concatenate([yt, ys])).tolist() == [178, 182, 177, 183, 181, 182, 181,
                                                              179, 174, 180]
    assert xt.min() == 0.0 and xt.max() == 1.0
    (xi, _), _ = data.load_digits(flatten=False)
    assert xi.shape == (1437, 8, 8, 1)


def test_batches_cover_each_example_once_and_shuffle_by_key():
    x = np.arange(10)[:, None].astype(np.float32)
    y = np.arange(10)
    plain = list(data.batches(x, y, 4))
    assert [len(b[1]) for b in plain] == [4, 4, 2]
    assert np.concatenate([b[1] for b in plain]).tolist() == list(range(10))
    assert [len(b[1]) for b in data.batches(x, y, 4, drop_last=True)] == [4, 4]
    k = fr.key(0)
    a = np.concatenate([b[1] for b in data.batches(x, y, 3, key=k)])
    b = np.concatenate([b[1] for b in data.batches(x, y, 3, key=k)])
    c = np.concatenate([b[1] for b in data.batches(x, y, 3, key=fr.fold_in(k, 1))])
    assert sorted(a.tolist()) == list(range(10))
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    for xb, yb in data.batches(x, y, 3, key=k):
        assert xb[:, 0].tolist() == yb.tolist()      # pairs stay together
    assert data.num_batches(10, 4) == 3 and data.num_batches(10, 4, drop_last=True) == 2
    with pytest.raises(ValueError, match="10 examples but y has 9"):
        list(data.batches(x, y[:9], 2))


# --- validation of the data and of the files (a corrupt file is an error, not a worse model) ---


def _idx(array, type_code=None) -> bytes:
    """The IDX encoding of ``array`` (big endian), written independently of data.read_idx."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i4"): 0x0C,
             np.dtype(">f4"): 0x0D}
    a = np.asarray(array)
    a = a.astype(a.dtype.newbyteorder(">")) if a.dtype.itemsize > 1 else a
    code = type_code or codes[a.dtype]
    return (bytes([0, 0, code, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
            + a.tobytes())


def _write(path, payload: bytes, gz: bool):
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
        return str(path) + ".gz"
    path.write_bytes(payload)
    return str(path)


def write_mnist(directory, train_labels=None, test_labels=None, train_images=None,
                gz=True):
    """Four tiny MNIST-format files (12 training and 4 test images) in ``directory``."""
    rng = np.random.default_rng(0)
    files = {
        "train_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
        if train_images is None else train_images,
        "train_labels": np.arange(12, dtype=np.uint8) % 10 if train_labels is None
        else train_labels,
        "test_images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "test_labels": np.array([3, 1, 4, 1], np.uint8) if test_labels is None else test_labels,
    }
    os.makedirs(directory, exist_ok=True)
    return {k: _write(directory / data.MNIST_FILES[k], _idx(v), gz) for k, v in files.items()}


def test_tiny_mnist_files_load(tmp_path):
    write_mnist(tmp_path)
    (xt, yt), (xs, ys) = data.load_mnist(tmp_path)
    assert xt.shape == (12, 28, 28, 1) and ys.tolist() == [3, 1, 4, 1]
    assert yt.tolist() == (np.arange(12) % 10).tolist()


@pytest.mark.parametrize("gz", [True, False])
def test_labels_outside_the_classes_are_an_error_naming_the_file(tmp_path, gz):
    labels = np.arange(12, dtype=np.uint8) % 10
    labels[[2, 5, 7]] = 255
    paths = write_mnist(tmp_path, train_labels=labels, gz=gz)
    with pytest.raises(data.DatasetError) as e:
        data.load_mnist(tmp_path)
    msg = str(e.value)
    assert paths["train_labels"] in msg and "3 of 12 labels" in msg and "255" in msg


def test_negative_labels_are_an_error(tmp_path):
    labels = np.array([3, -1, 4, 1], np.int8)            # IDX type 0x09 (signed bytes)
    paths = write_mnist(tmp_path, test_labels=labels, gz=False)
    with pytest.raises(data.DatasetError) as e:
        data.load_mnist(tmp_path)
    assert paths["test_labels"] in str(e.value) and "1 of 4 labels" in str(e.value)
    assert "-1" in str(e.value)


def test_non_finite_pixels_are_an_error_naming_the_file(tmp_path):
    images = np.random.default_rng(1).random((12, 28, 28)).astype(">f4")
    images[0, 3, 4], images[5, 0, 0] = np.nan, np.inf
    paths = write_mnist(tmp_path, train_images=images)
    with pytest.raises(data.DatasetError) as e:
        data.load_mnist(tmp_path)
    assert paths["train_images"] in str(e.value) and "2 of 9408 pixel values" in str(e.value)


def test_check_dataset():
    data.check_dataset(np.zeros((2, 3), np.float32), np.array([0, 9]), 10)
    with pytest.raises(data.DatasetError, match=r"^digits y: 1 of 2 labels .*values 10"):
        data.check_dataset(np.zeros((2, 3)), np.array([0, 10]), 10, labels="digits y")
    with pytest.raises(data.DatasetError, match="not finite"):
        data.check_dataset(np.array([[np.nan]]), np.array([0]), 10)


def test_data_longer_than_the_header_says_is_an_error(tmp_path):
    payload = _idx(np.arange(6, dtype=np.uint8).reshape(2, 3)) + b"\0"
    for gz in (True, False):
        path = _write(tmp_path / f"long{gz}.idx", payload, gz)
        with pytest.raises(data.DatasetError, match="truncated or corrupted.*trailing"):
            data.read_idx(path)


def test_absurd_headers_are_refused_before_reading(tmp_path):
    many_dims = tmp_path / "dims.idx"
    many_dims.write_bytes(bytes([0, 0, 0x08, 9]) + (1).to_bytes(4, "big") * 9)
    with pytest.raises(data.DatasetError, match="9 dimensions"):
        data.read_idx(many_dims)
    huge = tmp_path / "huge.idx"   # 2**20 x 2**20 bytes claimed, 10 present
    huge.write_bytes(bytes([0, 0, 0x08, 2]) + (2**20).to_bytes(4, "big") * 2 + b"\0" * 10)
    with pytest.raises(data.DatasetError, match="more than the 2,147,483,648 allowed"):
        data.read_idx(huge)
    short_header = tmp_path / "hdr.idx"
    short_header.write_bytes(bytes([0, 0, 0x08, 3]) + (1).to_bytes(4, "big"))
    with pytest.raises(data.DatasetError, match="incomplete header"):
        data.read_idx(short_header)


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    import tracemalloc
    bomb = tmp_path / "train-labels-idx1-ubyte.gz"
    chunk = bytes(1 << 20)
    with gzip.open(bomb, "wb", compresslevel=9) as f:       # 10 labels, then 100 MB of zeros
        f.write(bytes([0, 0, 0x08, 1]) + (10).to_bytes(4, "big") + bytes(10))
        for _ in range(100):
            f.write(chunk)
    del chunk
    assert bomb.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(data.DatasetError, match="corrupted"):
            data.read_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, f"read_idx allocated {peak:,} bytes for a 10-byte dataset"
