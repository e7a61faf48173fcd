"""functrans.io checkpoints: round trips, templates, damaged files, atomic writes, the manager."""

import dataclasses
import os
import struct
from typing import NamedTuple

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import io, optim


class State(NamedTuple):
    count: object
    mu: object


@dataclasses.dataclass(frozen=True)
class Layer:
    w: object
    b: object


def _same(a, b):
    la, ta = ft.tree_flatten(a)
    lb, tb = ft.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        if isinstance(x, (int, float, bool, complex)):
            assert type(x) is type(y) and x == y
        else:
            assert np.asarray(x).dtype == np.asarray(y).dtype
            assert np.asarray(x).shape == np.asarray(y).shape
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _tree(rng):
    return {
        "params": {"w": fnp.asarray(rng.standard_normal((3, 4)).astype(np.float32)),
                   "b": fnp.zeros(4, np.float16),
                   "layers": [fnp.ones((2,), np.int32), fnp.asarray(np.array([True, False]))]},
        "opt": State(fnp.zeros((), np.int32), (fnp.zeros(2), None)),
        "step": 12, "lr": 0.5, "flag": True, "none": None, "c": 1 + 2j,
        "key": ft.random.key(7), "empty": fnp.zeros((0, 3)),
        "u8": fnp.asarray(np.arange(5, dtype=np.uint8)),
        "cplx": fnp.asarray(np.array([1 + 1j, 2 - 1j], np.complex64)),
        "bf16": fnp.asarray(np.array([1.5, -2.0], np.float32)).astype(ft.dtypes.bfloat16),
    }


def test_round_trip_with_and_without_template(tmp_path, rng):
    tree = _tree(rng)
    path = tmp_path / "a.ftc"
    io.save(path, tree, step=12, metadata={"lr": 0.5, "note": "x"})
    back = io.restore(path, like=tree)
    _same(back, tree)
    assert isinstance(back["opt"], State)
    plain = io.restore(path)             # no template: builtins and a namedtuple by name
    assert type(plain["opt"]).__name__ == "State" and plain["opt"].count.shape == ()
    assert plain["step"] == 12 and plain["c"] == 1 + 2j and plain["none"] is None
    hdr = io.info(path)
    assert hdr["step"] == 12 and hdr["metadata"] == {"lr": 0.5, "note": "x"}
    _, hdr2 = io.restore(path, return_header=True)
    assert hdr2["version"] == io.VERSION


def test_round_trip_x64(tmp_path, x64):
    tree = {"a": fnp.asarray(np.arange(3, dtype=np.int64)), "b": fnp.asarray(np.ones(2))}
    io.save(tmp_path / "x.ftc", tree)
    _same(io.restore(tmp_path / "x.ftc", like=tree), tree)


def test_dataclass_modules_and_optimizer_state(tmp_path, rng):
    model = Layer(fnp.ones((2, 2)), fnp.zeros(2))
    tx = optim.adam(1e-3)
    tree = {"model": model, "opt": tx.init(model)}
    io.save(tmp_path / "m.ftc", tree)
    back = io.restore(tmp_path / "m.ftc", like=tree)
    assert isinstance(back["model"], Layer)
    _same(back, tree)


def test_template_mismatch_names_every_problem(tmp_path, rng):
    tree = _tree(rng)
    io.save(tmp_path / "a.ftc", tree)
    other = dict(tree)
    other["params"] = dict(tree["params"], w=fnp.zeros((4, 4)), b=fnp.zeros(4, np.float32))
    with pytest.raises(io.CheckpointError) as e:
        io.restore(tmp_path / "a.ftc", like=other)
    msg = str(e.value)
    assert "['params']['w']: checkpoint float32[3, 4] vs template float32[4, 4]" in msg
    assert "['params']['b']: checkpoint float16[4] vs template float32[4]" in msg
    fewer = {k: v for k, v in tree.items() if k != "key"}
    with pytest.raises(io.CheckpointError, match="not in the template: \\['key'\\]"):
        io.restore(tmp_path / "a.ftc", like=fewer)


def _saved(tmp_path):
    path = tmp_path / "a.ftc"
    io.save(path, {"w": fnp.asarray(np.arange(100.0, dtype=np.float32))}, step=1)
    return path


def test_truncated_corrupted_and_foreign_files(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    (tmp_path / "trunc.ftc").write_bytes(data[:-10])
    with pytest.raises(io.CheckpointError, match="truncated"):
        io.restore(tmp_path / "trunc.ftc")
    (tmp_path / "head.ftc").write_bytes(data[:20])
    with pytest.raises(io.CheckpointError, match="truncated"):
        io.restore(tmp_path / "head.ftc")
    bad = bytearray(data)
    bad[-5] ^= 0xFF
    (tmp_path / "bad.ftc").write_bytes(bytes(bad))
    with pytest.raises(io.CheckpointError, match=r"corrupted: the checksum of array \['w'\]"):
        io.restore(tmp_path / "bad.ftc")
    (tmp_path / "foreign.npz").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(io.CheckpointError, match="not a functrans checkpoint"):
        io.restore(tmp_path / "foreign.npz")
    newer = bytearray(data)
    newer[7] = 9
    (tmp_path / "newer.ftc").write_bytes(bytes(newer))
    with pytest.raises(io.CheckpointError, match="unsupported format version"):
        io.restore(tmp_path / "newer.ftc")
    with pytest.raises(io.CheckpointError, match="no checkpoint at"):
        io.restore(tmp_path / "missing.ftc")


def test_format_is_documented_layout(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    assert data[:8] == io.MAGIC == b"FTCKPT\x00\x02"
    (n,) = struct.unpack("<Q", data[8:16])
    import hashlib
    import json
    assert hashlib.sha256(data[8:16] + data[48:48 + n]).digest() == data[16:48]
    header = json.loads(data[48:48 + n])
    e = header["arrays"][0]
    raw = data[48 + n + e["offset"]:48 + n + e["offset"] + e["nbytes"]]
    assert hashlib.sha256(raw).hexdigest() == e["sha256"]
    np.testing.assert_array_equal(np.frombuffer(raw, np.float32), np.arange(100.0))
    assert len(data) == 48 + n + header["data_size"]


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        io.save(path, {"w": fnp.zeros(3)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.ftc"]  # no temporary file left


def test_bad_input_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match="JSON"):
        io.save(tmp_path / "m.ftc", {"w": fnp.zeros(2)}, metadata={"f": object()})
    with pytest.raises(TypeError, match="cannot store a object"):
        io.save(tmp_path / "o.ftc", {"w": object()})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(io.CheckpointError, match="does not exist"):
        io.save(tmp_path / "nodir" / "a.ftc", {"w": fnp.zeros(2)})


def test_unwritable_directory(tmp_path, monkeypatch):
    # simulated (the test may run as root, who can write anywhere)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK
                        else real_access(p, mode))
    with pytest.raises(io.CheckpointError, match="not writable"):
        io.save(tmp_path / "a.ftc", {"w": fnp.zeros(2)})
    m = io.CheckpointManager(tmp_path)   # restoring from a read-only directory is allowed
    with pytest.raises(io.CheckpointError, match="not writable"):
        m.save(1, {"w": fnp.zeros(2)})
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_manager_keeps_last_n_and_skips_corrupt(tmp_path):
    m = io.CheckpointManager(tmp_path / "run", keep=3)
    for step in range(1, 6):
        m.save(step, {"w": fnp.full((2,), float(step))}, metadata={"step": step})
    assert m.all_steps() == [3, 4, 5]
    assert m.restore()["w"].tolist() == [5.0, 5.0]
    assert m.restore(step=4)["w"].tolist() == [4.0, 4.0]
    # corrupt the newest: the manager falls back to the previous one, with a warning
    p = m.path(5)
    data = bytearray(p.read_bytes() if hasattr(p, "read_bytes") else open(p, "rb").read())
    data[-1] ^= 0xFF
    open(p, "wb").write(bytes(data))
    with pytest.warns(RuntimeWarning, match="corrupt"):
        assert m.restore()["w"].tolist() == [4.0, 4.0]
    with pytest.warns(RuntimeWarning):
        assert m.latest_step() == 4
    empty = io.CheckpointManager(tmp_path / "empty")
    with pytest.raises(io.CheckpointError, match="no checkpoint in"):
        empty.restore()
    assert empty.latest_step() is None


ALL_DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
              np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128,
              "bfloat16"]


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(
    ft.dtypes.bfloat16 if d == "bfloat16" else d).name)
def test_every_dtype_round_trips_bitwise(tmp_path, rng, x64, dtype):
    dt = np.dtype(ft.dtypes.bfloat16 if dtype == "bfloat16" else dtype)
    raw = rng.standard_normal((3, 4)) * 100
    if dt.kind == "c":
        raw = raw + 1j * rng.standard_normal((3, 4))
    value = raw.astype(dt) if dt.kind != "b" else raw > 0
    if dt.kind == "f":
        value.flat[0] = np.nan
        value.flat[1] = -np.inf
    tree = {"x": fnp.asarray(value), "scalar0d": fnp.asarray(value.reshape(-1)[2]),
            "nested": [(fnp.asarray(value[:0]),)]}
    io.save(tmp_path / "d.ftc", tree)
    back = io.restore(tmp_path / "d.ftc", like=tree)
    for a, b in zip(ft.tree_leaves(back), ft.tree_leaves(tree)):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        assert np.asarray(a).shape == np.asarray(b).shape
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()   # bitwise, NaNs included
