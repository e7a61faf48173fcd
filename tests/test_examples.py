"""The README's main job (python -m functrans.demo) and the training example: accuracy, exact
resume after a kill, and clean errors for bad input."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np

from functrans import io

ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def test_demo_trains_to_95_percent_and_writes_a_checkpoint(tmp_path):
    r = _run("functrans.demo", "--checkpoint-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    m = re.search(r"^test accuracy: (0\.\d{4})$", r.stdout, re.M)
    assert m, r.stdout
    assert float(m.group(1)) >= 0.95
    assert "epoch 20/20" in r.stdout and "ex/s" in r.stdout
    ckpts = [p for p in os.listdir(tmp_path) if p.endswith(".ftc")]
    assert len(ckpts) == 1
    tree = io.restore(tmp_path / ckpts[0])
    assert int(np.asarray(tree["step"])) == 440


def _example(ckdir, *extra):
    return ["functrans.examples.mnist", "--dataset", "digits", "--model", "mlp",
            "--batch-size", "32", "--steps", "60", "--checkpoint-dir", str(ckdir), "--quiet",
            *extra]



def test_exact_resume_after_a_kill(tmp_path):
    straight = tmp_path / "straight"
    r = _run(*_example(straight, "--save-every", "60"))
    assert r.returncode == 0, r.stderr
    killed = tmp_path / "killed"
    p = subprocess.Popen([sys.executable, "-m", *_example(killed, "--save-every", "5")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    deadline = time.time() + 120
    while time.time() < deadline:
        steps = io.CheckpointManager(killed).all_steps() if killed.exists() else []
        if steps and steps[-1] >= 20:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done = io.CheckpointManager(killed).all_steps()
    assert done and done[-1] < 60, f"the run was not interrupted (checkpoints {done})"
    r = _run(*_example(killed, "--save-every", "5", "--resume"))
    assert r.returncode == 0, r.stderr
    assert re.search(r"resumed from step \d+", r.stdout)
    a = io.restore(io.CheckpointManager(straight).path(60))
    b = io.restore(io.CheckpointManager(killed).path(60))
    import functrans as ft
    la, lb = ft.tree_leaves(a), ft.tree_leaves(b)
    assert len(la) == len(lb) > 5
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))   # bitwise


def test_example_saves_the_loss_curve_as_png(tmp_path):
    r = _run(*_example(tmp_path / "run", "--steps", "20"))
    assert r.returncode == 0, r.stderr
    png = tmp_path / "run" / "loss.png"
    assert f"loss curve: {png}" in r.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000


def test_bad_input_gives_a_message_and_no_traceback(tmp_path):
    r = _run("functrans.examples.mnist", "--data-dir", str(tmp_path / "none"), "--epochs", "1")
    assert r.returncode == 2 and "error: load_mnist" in r.stderr and "Traceback" not in r.stderr
    r = _run(*_example(tmp_path / "empty", "--resume"))
    assert r.returncode == 2 and "no checkpoint" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "empty").exists()
    ck = tmp_path / "mlp"
    assert _run(*_example(ck, "--steps", "2")).returncode == 0
    before = sorted(os.listdir(ck))
    r = _run("functrans.examples.mnist", "--dataset", "digits", "--model", "cnn", "--steps", "4",
             "--checkpoint-dir", str(ck), "--resume", "--quiet")
    assert r.returncode == 2 and "--model: checkpoint mlp, now cnn" in r.stderr
    assert "Traceback" not in r.stderr
    r = _run(*_example(ck, "--steps", "2"))         # no --resume: refuses to overwrite
    assert r.returncode == 2 and "already holds checkpoints" in r.stderr
    assert sorted(os.listdir(ck)) == before
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _run(*_example(blocker / "sub"))
    assert r.returncode == 2 and "cannot create the checkpoint directory" in r.stderr


def test_a_diverged_run_exits_1_and_bad_options_exit_2_without_traceback(tmp_path):
    # (the in-process tests in test_training_robust.py cover the cases; this checks the real
    # exit statuses of `python -m`)
    r = _run(*_example(tmp_path / "nan", "--lr", "1e30", "--schedule", "constant"))
    assert r.returncode == 1 and "training diverged" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "checkpoint:" not in r.stdout
    r = _run(*_example(tmp_path / "bad", "--lr", "nan"))
    assert r.returncode == 2 and "argument --lr" in r.stderr and "Traceback" not in r.stderr


def test_data_parallel_training_matches_one_device(tmp_path):
    # --devices 4: ft.pmap over 4 XLA host devices, each with a quarter of every batch and
    # the gradients averaged with pmean: the same run as on one device, up to rounding
    one, four = tmp_path / "one", tmp_path / "four"
    # (SGD: unlike Adam's, its update scales with the gradient, so a wrong average shows)
    sgd = ("--optimizer", "sgd", "--lr", "0.1", "--schedule", "constant", "--steps", "30",
           "--save-every", "30")
    r1 = _run(*_example(one, *sgd))
    r4 = _run(*_example(four, *sgd, "--devices", "4"))
    assert r1.returncode == 0, r1.stderr
    assert r4.returncode == 0, r4.stderr
    assert "data-parallel over 4 devices" in r4.stdout
    a = io.restore(io.CheckpointManager(one).path(30))
    b = io.restore(io.CheckpointManager(four).path(30))
    from functrans import tree_util
    la, lb = tree_util.tree_leaves(a), tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=1e-3, atol=1e-4)
    r = _run(*_example(tmp_path / "odd", "--devices", "3"))
    assert r.returncode == 2 and "does not split over --devices 3" in r.stderr
