"""Checkpoints under attack: every damaged or hostile file raises CheckpointError (never a
silent load, never another exception), the manager falls back past damage, rotation never
deletes what it wrote, and save refuses what restore could not give back exactly."""

import hashlib
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
from typing import NamedTuple

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import io


class Opt(NamedTuple):
    count: object
    mu: object


def _small_tree():
    return {"params": {"w": fnp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
                       "b": fnp.asarray(np.array([7.0, -1.0], np.float32))},
            "opt": Opt(fnp.zeros((), np.int32), [fnp.ones(3, np.float16)]),
            "step": 3, "lr": 0.25, "name": None, "flag": True}


def _leaves_equal(a, b):
    la, ta = ft.tree_flatten(a)
    lb, tb = ft.tree_flatten(b)
    if ta != tb:
        return False
    for x, y in zip(la, lb):
        if type(x) in (int, float, bool, complex) or type(y) in (int, float, bool, complex):
            if type(x) is not type(y) or x != y:
                return False
        elif (np.asarray(x).dtype != np.asarray(y).dtype
              or np.asarray(x).tobytes() != np.asarray(y).tobytes()):
            return False
    return True


def _layout(data: bytes):
    (n,) = struct.unpack("<Q", data[8:16])
    return n, 48 + n     # header length, start of the data


def _craft(path, header, data=b"", version=2, length=None):
    """A file with ``header`` (a dict, or raw bytes) and a *valid* header checksum."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = struct.pack("<Q", len(text) if length is None else length)
    if version == 1:
        blob = b"FTCKPT\x00\x01" + n + text + data
    else:
        blob = b"FTCKPT\x00\x02" + n + hashlib.sha256(n + text).digest() + text + data
    path.write_bytes(blob)
    return path


def _valid_header(tmp_path):
    p = tmp_path / "ok.ftc"
    io.save(p, {"a": fnp.asarray(np.arange(4, dtype=np.float32)), "s": 1}, step=5)
    data = p.read_bytes()
    n, start = _layout(data)
    return json.loads(data[48:48 + n]), data[start:]


# --- every byte is checked ----------------------------------------------------------------


def _expect_error(path, like):
    """restore must raise CheckpointError naming the file, with and without the template."""
    for template in (None, like):
        try:
            io.restore(path, like=template)
        except io.CheckpointError as e:
            assert str(path) in str(e), str(e)
        except Exception as e:  # noqa: BLE001  (the point: any other exception is a failure)
            return f"{type(e).__name__}: {e}"
        else:
            return "loaded silently"
    return None


def _flip_failures(path, data, positions, bits, tree):
    """Flips each of ``bits`` of each byte at ``positions``; returns what was not detected."""
    failures = []
    for i in positions:
        for bit in bits:
            d = bytearray(data)
            d[i] ^= 1 << bit
            path.write_bytes(bytes(d))
            problem = _expect_error(path, tree)
            if problem:
                failures.append((i, bit, problem))
    return failures


def test_every_bit_flip_of_the_header_is_detected(tmp_path):
    tree = _small_tree()
    good = tmp_path / "good.ftc"
    io.save(good, tree, step=3, metadata={"lr": 0.25, "note": "run"})
    data = good.read_bytes()
    _, start = _layout(data)
    # magic, length, checksum and every header byte, every bit
    failures = _flip_failures(tmp_path / "bad.ftc", data, range(start), range(8), tree)
    assert not failures, f"{len(failures)} of {start * 8} flips: {failures[:5]}"
    assert _leaves_equal(io.restore(good, like=tree), tree)  # the control still loads


def test_every_bit_flip_of_the_data_and_padding_is_detected(tmp_path):
    tree = _small_tree()
    good = tmp_path / "good.ftc"
    io.save(good, tree)
    data = good.read_bytes()
    _, start = _layout(data)
    assert len(data) - start > 64   # there is padding between the arrays
    failures = _flip_failures(tmp_path / "bad.ftc", data, range(start, len(data)), (0, 3, 7),
                              tree)
    assert not failures, failures[:5]


def test_every_truncation_and_any_trailing_bytes_are_detected(tmp_path):
    tree = _small_tree()
    good = tmp_path / "good.ftc"
    io.save(good, tree)
    data = good.read_bytes()
    bad = tmp_path / "bad.ftc"
    failures = []
    for cut in range(len(data)):
        bad.write_bytes(data[:cut])
        problem = _expect_error(bad, tree)
        if problem:
            failures.append((cut, problem))
    for extra in (b"\0", b"x" * 100):
        bad.write_bytes(data + extra)
        problem = _expect_error(bad, tree)
        if problem:
            failures.append(("trailing", problem))
    assert not failures, failures[:5]


def _deep(depth):
    node = None
    for _ in range(depth):
        node = {"list": [node]}
    return node


CRAFTED = {
    "a list instead of the header object": lambda h: [h],
    "a missing key": lambda h: {k: v for k, v in h.items() if k != "arrays"},
    "a list where a dict node belongs": lambda h: dict(h, tree=[1, 2]),
    "a 450-deep tree": lambda h: dict(h, tree=_deep(450)),
    "an array index out of range": lambda h: dict(h, tree={"dict": [["a", {"array": 3}],
                                                                     ["s", None]]}),
    "an array used twice": lambda h: dict(h, tree={"list": [{"array": 0}, {"array": 0}]}),
    "an array not in the tree": lambda h: dict(h, tree=None),
    "a negative dimension": lambda h: dict(h, arrays=[dict(h["arrays"][0], shape=[-4])]),
    "a huge dimension": lambda h: dict(h, arrays=[dict(h["arrays"][0], shape=[2 ** 70, 0])]),
    "a shape that does not match the bytes": lambda h: dict(
        h, arrays=[dict(h["arrays"][0], shape=[8])]),
    "an object dtype": lambda h: dict(h, arrays=[dict(h["arrays"][0], dtype="object")]),
    "a string dtype": lambda h: dict(h, arrays=[dict(h["arrays"][0], dtype="<U1")]),
    "a dtype that is not a string": lambda h: dict(h, arrays=[dict(h["arrays"][0], dtype=[1])]),
    "an offset past the data": lambda h: dict(h, arrays=[dict(h["arrays"][0], offset=64)]),
    "a float offset": lambda h: dict(h, arrays=[dict(h["arrays"][0], offset=0.0)]),
    "a non-hex checksum": lambda h: dict(h, arrays=[dict(h["arrays"][0], sha256="z" * 64)]),
    "a wrong data size": lambda h: dict(h, data_size=2 ** 63),
    "a step that is a string": lambda h: dict(h, step="5"),
    "a scalar of an unknown type": lambda h: dict(h, tree={"dict": [
        ["a", {"array": 0}], ["s", {"scalar": 1, "type": "decimal"}]]}),
    "an int scalar holding a string": lambda h: dict(h, tree={"dict": [
        ["a", {"array": 0}], ["s", {"scalar": "1", "type": "int"}]]}),
    "a namedtuple with fewer fields than children": lambda h: dict(h, tree={
        "namedtuple": "T", "fields": ["a"], "children": [{"array": 0}, None]}),
    "a dict key that is a list": lambda h: dict(h, tree={"dict": [[["a"], {"array": 0}]]}),
    "repeated dict keys": lambda h: dict(h, tree={"dict": [["a", {"array": 0}], ["a", None]]}),
    "a node of two kinds": lambda h: dict(h, tree={"array": 0, "list": []}),
    "another format": lambda h: dict(h, format="other"),
    "another version": lambda h: dict(h, version=99),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_headers_with_valid_checksums_raise_checkpoint_error(tmp_path, case):
    header, data = _valid_header(tmp_path)
    path = _craft(tmp_path / "crafted.ftc", CRAFTED[case](header), data)
    with pytest.raises(io.CheckpointError, match=str(path).replace("\\", "\\\\")):
        io.restore(path)
    with pytest.raises(io.CheckpointError):
        io.restore(path, like={"a": fnp.zeros(4), "s": 1})
    with pytest.raises(io.CheckpointError):
        io.info(path)


@pytest.mark.parametrize("text", [b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000,
                                  b'{"format": NaN}', b"1e999", b""],
                         ids=["not-utf8", "deeply-nested", "nan", "inf", "empty"])
def test_unparseable_headers_raise_checkpoint_error(tmp_path, text):
    path = _craft(tmp_path / "x.ftc", text)
    with pytest.raises(io.CheckpointError):
        io.restore(path)


def test_a_huge_header_length_is_refused_before_reading(tmp_path):
    header, data = _valid_header(tmp_path)
    text = json.dumps(header).encode()
    for length in (2 ** 63, 2 ** 40, len(text) + len(data) + 1):
        path = _craft(tmp_path / "big.ftc", header, data, length=length)
        tracemalloc.start()
        try:
            with pytest.raises(io.CheckpointError, match="header length"):
                io.restore(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20, peak


def test_version_1_files_are_still_read_with_a_warning(tmp_path):
    arr = np.arange(4, dtype=np.float32)
    header = {"format": "functrans-checkpoint", "version": 1, "step": 2, "metadata": None,
              "tree": {"dict": [["a", {"array": 0}]]},
              "arrays": [{"path": "['a']", "dtype": "float32", "shape": [4], "offset": 0,
                          "nbytes": 16, "sha256": hashlib.sha256(arr.tobytes()).hexdigest()}],
              "data_size": 16}
    path = _craft(tmp_path / "v1.ftc", header, arr.tobytes(), version=1)
    with pytest.warns(UserWarning, match="version-1"):
        back = io.restore(path)
    np.testing.assert_array_equal(np.asarray(back["a"]), arr)


def test_fifos_and_directories_are_refused_without_blocking(tmp_path):
    d = tmp_path / "dir.ftc"
    d.mkdir()
    with pytest.raises(io.CheckpointError, match="directory"):
        io.restore(d)
    fifo = tmp_path / "fifo.ftc"
    os.mkfifo(fifo)
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("blocked")))
    signal.alarm(10)
    try:
        with pytest.raises(io.CheckpointError, match="FIFO"):
            io.restore(fifo)
    finally:
        signal.alarm(0)
    with pytest.raises(io.CheckpointError, match="is a directory"):
        io.save(d, {"a": fnp.zeros(1)})


# --- the manager ------------------------------------------------------------------------------


def _state(step):
    return {"w": fnp.full((3,), float(step)), "step": fnp.asarray(np.int32(step))}


def _flip_header_byte(path):
    data = bytearray(open(path, "rb").read())
    data[60] ^= 0x04
    open(path, "wb").write(bytes(data))


def test_manager_falls_back_past_a_bad_header_and_non_files(tmp_path):
    m = io.CheckpointManager(tmp_path, keep=3)
    for s in (2, 4, 6):
        m.save(s, _state(s))
    _flip_header_byte(m.path(6))
    os.mkdir(m.path(8))             # a directory named like a newer checkpoint
    os.mkfifo(m.path(9))            # and a FIFO
    assert m.all_steps() == [2, 4, 6]
    fresh = io.CheckpointManager(tmp_path, keep=3)
    with pytest.warns(RuntimeWarning, match="ckpt_00000006.ftc") as rec:
        back = fresh.restore(like=_state(0))
    assert len(rec) == 1 and "damaged" in str(rec[0].message)
    np.testing.assert_array_equal(np.asarray(back["w"]), [4.0, 4.0, 4.0])
    with pytest.warns(RuntimeWarning, match="ckpt_00000006.ftc"):
        assert io.CheckpointManager(tmp_path).latest_step() == 4
    # the run goes on from step 4: the damaged step 6 is moved aside, not overwritten blindly
    with pytest.warns(RuntimeWarning, match="moved the damaged checkpoint"):
        path = fresh.save(5, _state(5))
    assert os.path.exists(path) and fresh.all_steps() == [2, 4, 5]
    assert os.path.exists(m.path(6) + ".corrupt")


def test_manager_template_mismatch_is_not_skipped_as_damage(tmp_path):
    m = io.CheckpointManager(tmp_path)
    m.save(1, _state(1))
    with pytest.raises(io.TemplateMismatchError, match="does not match the template"):
        m.restore(like={"w": fnp.zeros(4), "step": fnp.asarray(np.int32(0))})


def test_save_never_returns_a_path_that_does_not_exist(tmp_path):
    m = io.CheckpointManager(tmp_path, keep=1)
    assert os.path.exists(m.save(50, _state(50)))
    # a lower step in a used directory (a new run): refused, the old run untouched
    with pytest.raises(io.CheckpointError, match="already holds a checkpoint of step 50"):
        m.save(10, _state(10))
    assert m.all_steps() == [50] and not os.path.exists(m.path(10))
    assert os.path.exists(m.save(50, _state(50)))    # the same step again: replaced
    m.clear()
    assert m.all_steps() == []
    for s in (10, 20):
        p = m.save(s, _state(s))
        assert os.path.exists(p) and m.all_steps() == [s]


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_manager_removes_only_stale_temporaries(tmp_path):
    host = "".join(c if c.isalnum() or c == "-" else "-" for c in socket.gethostname())[:32]
    dead = tmp_path / f".ckpt_00000003.ftc.{host}.{_dead_pid()}.ab12cd.tmp"
    live = tmp_path / f".ckpt_00000003.ftc.{host}.1.ab12ce.tmp"          # pid 1 runs
    old_other = tmp_path / ".ckpt_00000003.ftc.otherhost.123.ab12cf.tmp"
    new_other = tmp_path / ".ckpt_00000003.ftc.otherhost.124.ab12d0.tmp"
    foreign = tmp_path / ".notes.txt.tmp"
    for p in (dead, live, old_other, new_other, foreign):
        p.write_bytes(b"x" * 1000)
    os.utime(old_other, (time.time() - 3 * 86400,) * 2)
    m = io.CheckpointManager(tmp_path)
    m.save(1, _state(1))
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"ckpt_00000001.ftc", live.name, new_other.name, foreign.name}


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        io.save(tmp_path / "a.ftc", _state(1))
        io.CheckpointManager(tmp_path / "run").save(1, _state(1))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.ftc").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "run" / "ckpt_00000001.ftc").st_mode) == 0o640


def test_restore_from_a_read_only_directory(tmp_path, monkeypatch):
    m = io.CheckpointManager(tmp_path)
    m.save(3, _state(3))
    os.chmod(tmp_path, 0o555)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK
                        else real_access(p, mode))   # root ignores the mode bits
    try:
        ro = io.CheckpointManager(tmp_path, create=False)
        np.testing.assert_array_equal(np.asarray(ro.restore()["w"]), [3.0] * 3)
        assert ro.latest_step() == 3
        with pytest.raises(io.CheckpointError, match="not writable"):
            ro.save(4, _state(4))
    finally:
        os.chmod(tmp_path, 0o755)


_WRITER = textwrap.dedent("""
    import sys, numpy as np
    import functrans.numpy as fnp
    from functrans import io
    m = io.CheckpointManager(sys.argv[1], keep=2)
    step = m.latest_step() or 0
    print("ready", flush=True)
    while True:
        step += 1
        m.save(step, {"w": fnp.full((1 << 20,), float(step)), "step": step})
""")


def _kill_loop(tmp_path, kills):
    run = tmp_path / "run"
    rng = np.random.default_rng(0)
    for _ in range(kills):
        p = subprocess.Popen([sys.executable, "-c", _WRITER, str(run)], stdout=subprocess.PIPE)
        assert p.stdout.readline().strip() == b"ready"
        deadline = time.time() + 120     # a loaded machine may take long for the first save
        while not io.CheckpointManager(run, create=False).all_steps() and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 0.3)))
        p.send_signal(signal.SIGKILL)
        p.wait()
        m = io.CheckpointManager(run, keep=2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")    # no damaged checkpoint may be left behind
            tree = m.restore()
        np.testing.assert_array_equal(np.asarray(tree["w"]),
                                      np.full(1 << 20, float(tree["step"]), np.float32))
    m.save(m.latest_step() + 1, {"w": fnp.zeros(1), "step": 0})
    assert not [p for p in os.listdir(run) if p.endswith(".tmp")]   # killed writers' leftovers
    assert len(m.all_steps()) == 2


def test_kill_during_save_loop(tmp_path):
    _kill_loop(tmp_path, 3)


@pytest.mark.slow
def test_kill_during_save_loop_long(tmp_path):
    _kill_loop(tmp_path, 20)


# --- what save accepts is what restore gives back ---------------------------------------------


@pytest.mark.parametrize("leaf", [np.array([object(), 1], dtype=object), np.array(["ab", "c"]),
                                  np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f4")]),
                                  np.array([b"x"]), np.array(["2020-01-01"], "datetime64[D]")],
                         ids=["object", "str", "structured", "bytes", "datetime"])
def test_save_refuses_dtypes_restore_cannot_give_back(tmp_path, leaf):
    with pytest.raises(TypeError, match=r"save: the array at \['x'\] has dtype"):
        io.save(tmp_path / "a.ftc", {"x": leaf})
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_64_bit_leaves_when_x64_is_off(tmp_path):
    for leaf in (np.zeros(2), np.arange(2), np.float64(1.5), np.zeros(2, np.complex128)):
        with pytest.raises(TypeError, match="64-bit types are disabled"):
            io.save(tmp_path / "a.ftc", {"x": leaf})
    assert list(tmp_path.iterdir()) == []


def test_64_bit_checkpoints_restore_only_with_x64(tmp_path, x64):
    tree = {"x": np.arange(3.0), "y": np.int64(2 ** 40)}
    io.save(tmp_path / "a.ftc", tree)
    back = io.restore(tmp_path / "a.ftc", like=tree)
    assert back["x"].dtype == np.float64 and int(back["y"]) == 2 ** 40
    ft.config.update("enable_x64", False)
    with pytest.raises(io.CheckpointError, match="64-bit types are disabled"):
        io.restore(tmp_path / "a.ftc")


def test_numpy_scalars_keep_their_dtype(tmp_path):
    tree = {"a": np.float32(1.5), "b": np.int8(-3), "c": np.bool_(True), "d": np.uint16(7)}
    io.save(tmp_path / "a.ftc", tree)
    back = io.restore(tmp_path / "a.ftc")
    for k, v in tree.items():
        assert np.asarray(back[k]).dtype == v.dtype and np.asarray(back[k]).item() == v.item()
    assert _leaves_equal(io.restore(tmp_path / "a.ftc", like=tree),
                         {k: fnp.asarray(v) for k, v in tree.items()})


def test_mixed_int_and_str_dict_keys_round_trip(tmp_path):
    tree = {1: fnp.ones(2), "a": fnp.zeros(2), 0: {"z": 1.5, 3: fnp.full((1,), 3.0)}}
    io.save(tmp_path / "a.ftc", tree)
    assert _leaves_equal(io.restore(tmp_path / "a.ftc", like=tree), tree)
    assert _leaves_equal(io.restore(tmp_path / "a.ftc"), tree)


def test_big_endian_leaves_restore_with_their_own_tree_as_template(tmp_path):
    tree = {"w": np.arange(6, dtype=">f4").reshape(2, 3), "i": np.array([1, -2], ">i2")}
    io.save(tmp_path / "a.ftc", tree)
    back = io.restore(tmp_path / "a.ftc", like=tree)
    for k in tree:
        np.testing.assert_array_equal(np.asarray(back[k]), tree[k])
        assert np.asarray(back[k]).dtype == tree[k].dtype.newbyteorder("=")


def test_non_finite_python_scalars_round_trip(tmp_path):
    tree = {"a": float("nan"), "b": float("-inf"), "c": complex(float("inf"), float("nan")),
            "d": -0.0, "e": 2 ** 80}
    io.save(tmp_path / "a.ftc", tree)
    back = io.restore(tmp_path / "a.ftc")
    assert np.isnan(back["a"]) and back["b"] == -np.inf and back["e"] == 2 ** 80
    assert back["c"].real == np.inf and np.isnan(back["c"].imag)
    assert str(back["d"]) == "-0.0"


def test_python_scalars_in_the_template_take_0d_arrays(tmp_path):
    fresh = {"step": 0, "lr": 0.1, "done": False, "w": fnp.zeros(2)}
    advanced = ft.jit(lambda s: {"step": s["step"] + 1, "lr": s["lr"] * 2,
                                 "done": s["step"] > 5, "w": s["w"] + 1})(fresh)
    assert isinstance(advanced["step"], ft.Array)
    io.save(tmp_path / "a.ftc", advanced)
    back = io.restore(tmp_path / "a.ftc", like=fresh)
    assert type(back["step"]) is int and back["step"] == 1
    assert type(back["lr"]) is float and back["lr"] == np.float32(0.2)
    assert type(back["done"]) is bool and back["done"] is False
    # an int template for a float value (or a bool one for an int) stays an error
    with pytest.raises(io.TemplateMismatchError, match=r"\['lr'\].*Python int"):
        io.restore(tmp_path / "a.ftc", like=dict(fresh, lr=0))
    with pytest.raises(io.TemplateMismatchError, match=r"\['step'\].*Python bool"):
        io.restore(tmp_path / "a.ftc", like=dict(fresh, step=False))
    # and the other way: a Python scalar saved, a 0-d array in the template
    io.save(tmp_path / "b.ftc", fresh)
    back = io.restore(tmp_path / "b.ftc", like=advanced)
    assert isinstance(back["step"], ft.Array) and back["step"].dtype == np.int32
    with pytest.raises(io.TemplateMismatchError, match=r"\['step'\]"):
        io.restore(tmp_path / "b.ftc", like=dict(advanced, step=fnp.zeros(())))
    with pytest.raises(io.TemplateMismatchError, match=r"\['lr'\]: the checkpoint has a float"):
        io.restore(tmp_path / "b.ftc", like=dict(fresh, lr=1))


def test_two_restores_without_template_combine_with_tree_map(tmp_path):
    tree = {"opt": Opt(fnp.zeros(()), [fnp.ones(2)]), "w": fnp.ones(3)}
    io.save(tmp_path / "a.ftc", tree)
    a, b = io.restore(tmp_path / "a.ftc"), io.restore(tmp_path / "a.ftc")
    total = ft.tree_map(lambda x, y: x + y, a, b)
    np.testing.assert_array_equal(np.asarray(total["w"]), [2.0, 2.0, 2.0])
