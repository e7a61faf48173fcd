"""Training scripts that never lose or corrupt a run: validated options, data and
hyper-parameters on resume, a diverged run stopped before it writes a NaN checkpoint,
and the demo's fresh, per-user runs. The command lines run in-process (``main([...])``)."""

import os
import re

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import demo, io, nn, optim, random
from functrans.examples import mnist
from functrans.examples.training import NonFiniteLossError, TrainState, fit, make_step

from test_data import write_mnist


def _example(ckdir, *extra):
    args = ["--dataset", "digits", "--model", "mlp", "--batch-size", "32", "--quiet"]
    if ckdir is not None:
        args += ["--checkpoint-dir", str(ckdir)]
    return args + list(extra)


def _finite(tree) -> bool:
    return all(np.all(np.isfinite(np.asarray(leaf))) for leaf in ft.tree_leaves(tree)
               if np.asarray(leaf).dtype.kind == "f")


# --- every numeric option is checked by argparse (exit status 2, no traceback) ---------------

BAD_EXAMPLE = [("--batch-size", "0"), ("--epochs", "-1"), ("--epochs", "nan"),
               ("--epochs", "0"), ("--steps", "-5"), ("--accum-steps", "0"), ("--keep", "0"),
               ("--clip", "-1"), ("--clip", "inf"), ("--lr", "nan"), ("--lr", "inf"),
               ("--lr", "0"), ("--lr", "-0.1"), ("--limit", "-5"), ("--save-every", "-1"),
               ("--devices", "0"), ("--weight-decay", "nan"), ("--weight-decay", "-1"),
               ("--batch-size", "x"), ("--seed", "1.5")]


@pytest.mark.parametrize("option,value", BAD_EXAMPLE)
def test_example_rejects_a_bad_number(option, value, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        mnist.main(_example(tmp_path / "ck", option, value))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and value in err
    assert not (tmp_path / "ck").exists()


BAD_DEMO = [("--epochs", "0"), ("--epochs", "-1"), ("--batch-size", "0"), ("--lr", "nan"),
            ("--lr", "inf"), ("--lr", "-1"), ("--lr", "0"), ("--epochs", "2.5")]


@pytest.mark.parametrize("option,value", BAD_DEMO)
def test_demo_rejects_a_bad_number(option, value, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        demo.main([option, value, "--checkpoint-dir", str(tmp_path / "ck")])
    assert e.value.code == 2
    assert f"argument {option}:" in capsys.readouterr().err
    assert not (tmp_path / "ck").exists()


def test_a_batch_larger_than_the_dataset_is_a_clean_error(capsys, tmp_path):
    assert mnist.main(_example(tmp_path / "ck", "--limit", "10", "--steps", "3")) == 2
    assert "--batch-size 32 is larger than the 10 training images" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        demo.main(["--batch-size", "5000", "--checkpoint-dir", str(tmp_path / "demo")])
    assert e.value.code == 2
    assert "5000 is larger than the 1437 training images" in capsys.readouterr().err
    assert mnist.main(_example(None, "--epochs", "0.001")) == 2
    assert "less than one step" in capsys.readouterr().err


def test_allow_changed_hparams_needs_resume_which_needs_a_directory(capsys):
    with pytest.raises(SystemExit) as e:
        mnist.main(_example(None, "--allow-changed-hparams"))
    assert e.value.code == 2 and "only makes sense with --resume" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        mnist.main(_example(None, "--resume"))
    assert e.value.code == 2 and "--resume needs --checkpoint-dir" in capsys.readouterr().err


# --- bad data: an error naming the file, before training --------------------------------------


def test_example_refuses_labels_outside_the_classes(capsys, tmp_path):
    labels = np.arange(12, dtype=np.uint8) % 10
    labels[[0, 11]] = 255
    paths = write_mnist(tmp_path / "data", train_labels=labels)
    code = mnist.main(["--data-dir", str(tmp_path / "data"), "--model", "mlp", "--batch-size",
                       "4", "--steps", "2", "--quiet", "--checkpoint-dir", str(tmp_path / "ck")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and paths["train_labels"] in err
    assert "2 of 12 labels" in err
    assert not (tmp_path / "ck").exists()


# --- a diverging run stops, and its newest checkpoint stays finite ----------------------------


def _tiny_problem(nan_pixels=False):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    if nan_pixels:
        x[10, 2] = np.nan
    y = (x[:, 0] > 0).astype(np.int32)
    model = nn.Linear(5, 2, key=random.key(1))
    tx = optim.sgd(0.1)
    state = TrainState(model, tx.init(model), fnp.zeros((), np.int32), random.key(0))
    return state, make_step(tx), x, y


def test_nan_pixels_stop_fit_before_any_checkpoint(tmp_path):
    state, step_fn, x, y = _tiny_problem(nan_pixels=True)
    manager = io.CheckpointManager(tmp_path, keep=5)
    with pytest.raises(NonFiniteLossError, match=r"not finite \(nan\) at step \d+") as e:
        fit(state, step_fn, x, y, batch_size=8, total_steps=40, manager=manager, save_every=4,
            progress=False)
    newest = manager.all_steps()
    # the NaN row is in one batch of the first epoch (8 steps): nothing after it is saved
    assert e.value.step <= 8 and all(s < e.value.step for s in newest)
    for s in newest:
        assert _finite(io.restore(manager.path(s)))


def _poisoned(step_fn, at):
    """``step_fn`` whose state and loss become NaN from step ``at`` on."""
    def run(state, xb, yb):
        state, loss = step_fn(state, xb, yb)
        if int(np.asarray(state.step)) >= at:
            model = ft.tree_map(lambda a: a * np.float32(np.nan), state.model)
            state, loss = state._replace(model=model), loss * np.float32(np.nan)
        return state, loss
    return run


def test_divergence_is_caught_at_the_next_checkpoint_without_a_per_step_sync(tmp_path):
    state, step_fn, x, y = _tiny_problem()
    manager = io.CheckpointManager(tmp_path, keep=5)
    with pytest.raises(NonFiniteLossError) as e:
        fit(state, _poisoned(step_fn, 7), x, y, batch_size=8, total_steps=40, manager=manager,
            save_every=5, progress=False)
    assert e.value.step == 10 and e.value.last_checkpoint == manager.path(5)
    assert "step 10" in str(e.value) and manager.path(5) in str(e.value)
    assert manager.all_steps() == [5]
    assert _finite(io.restore(manager.path(5)))


def test_divergence_is_caught_at_its_step_where_the_loss_is_read(tmp_path):
    state, step_fn, x, y = _tiny_problem()
    history = []
    with pytest.raises(NonFiniteLossError) as e:
        fit(state, _poisoned(step_fn, 7), x, y, batch_size=8, total_steps=40, progress=False,
            history=history)
    assert e.value.step == 7 and np.isnan(e.value.loss) and len(history) == 6
    assert "lower learning rate" in str(e.value)


def test_only_nan_parameters_are_caught_too(tmp_path):
    state, step_fn, x, y = _tiny_problem()

    def nan_weights(state, xb, yb):       # a finite loss, but NaN parameters at step 4
        state, loss = step_fn(state, xb, yb)
        if int(np.asarray(state.step)) == 4:
            state = state._replace(model=ft.tree_map(lambda a: a * np.float32(np.nan),
                                                     state.model))
        return state, loss
    with pytest.raises(NonFiniteLossError, match="a parameter is not finite at step 4"):
        fit(state, nan_weights, x, y, batch_size=8, total_steps=8,
            manager=io.CheckpointManager(tmp_path), save_every=2, progress=False)
    assert io.CheckpointManager(tmp_path).all_steps() == [2]


@pytest.mark.parametrize("lr", ["1e30"])
def test_a_diverging_example_exits_1_with_a_hint(lr, capsys, tmp_path):
    ck = tmp_path / "ck"
    code = mnist.main(_example(ck, "--lr", lr, "--steps", "20", "--save-every", "1",
                               "--schedule", "constant"))
    out, err = capsys.readouterr()
    assert code == 1 and "training diverged" in err and "--lr" in err
    assert "checkpoint:" not in out and "test accuracy" not in out
    m = io.CheckpointManager(ck)
    step = int(re.search(r"at step (\d+)", err).group(1))
    assert all(s < step for s in m.all_steps())
    for s in m.all_steps():
        assert _finite(io.restore(m.path(s)))


def test_a_diverging_demo_exits_1_and_writes_no_checkpoint(capsys, tmp_path):
    assert demo.main(["--lr", "1e30", "--epochs", "1", "--checkpoint-dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "training diverged" in err and "checkpoint:" not in out
    assert io.CheckpointManager(tmp_path).all_steps() == []


# --- resume: the same hyper-parameters, or an explicit flag ------------------------------------


def test_resume_refuses_changed_hyperparameters(capsys, tmp_path):
    ck = tmp_path / "ck"
    assert mnist.main(_example(ck, "--steps", "6", "--clip", "1")) == 0
    capsys.readouterr()
    meta = io.info(io.CheckpointManager(ck).path(6))["metadata"]["hparams"]
    assert meta["lr"] == 0.001 and meta["batch_size"] == 32 and meta["clip"] == 1.0
    assert meta["model"] == "mlp" and meta["total_steps"] == 6 and meta["seed"] == 0
    before = sorted(os.listdir(ck))
    assert mnist.main(_example(ck, "--steps", "6", "--clip", "1", "--resume", "--lr", "0.01",
                               "--batch-size", "16")) == 2
    err = capsys.readouterr().err
    assert "--lr: checkpoint 0.001, now 0.01" in err
    assert "--batch-size: checkpoint 32, now 16" in err
    assert "--allow-changed-hparams" in err
    assert mnist.main(_example(ck, "--steps", "12", "--clip", "1", "--resume")) == 2  # cosine
    assert "(total steps): checkpoint 6, now 12" in capsys.readouterr().err
    assert sorted(os.listdir(ck)) == before
    assert mnist.main(_example(ck, "--steps", "8", "--clip", "1", "--resume", "--lr", "0.01",
                               "--allow-changed-hparams")) == 0
    out = capsys.readouterr().out
    assert "--lr: checkpoint 0.001, now 0.01" in out and "resumed from step 6" in out
    assert io.info(io.CheckpointManager(ck).path(8))["metadata"]["hparams"]["lr"] == 0.01


def test_a_constant_schedule_may_train_longer(capsys, tmp_path):
    ck = tmp_path / "ck"
    assert mnist.main(_example(ck, "--steps", "4", "--schedule", "constant")) == 0
    assert mnist.main(_example(ck, "--steps", "6", "--schedule", "constant", "--resume")) == 0
    out = capsys.readouterr().out
    assert "resumed from step 4" in out and f"checkpoint: {io.CheckpointManager(ck).path(6)}" in out


def test_resume_with_nothing_left_to_train_says_so(capsys, tmp_path):
    ck = tmp_path / "ck"
    assert mnist.main(_example(ck, "--steps", "6")) == 0
    capsys.readouterr()
    assert mnist.main(_example(ck, "--steps", "4", "--resume")) == 0
    out = capsys.readouterr().out
    assert "already at step 6 >= 4 steps" in out and "nothing to train" in out
    printed = re.search(r"^checkpoint: (.*)$", out, re.M).group(1)
    assert os.path.exists(printed) and printed == io.CheckpointManager(ck).path(6)
    assert io.CheckpointManager(ck).all_steps() == [6]


# --- the demo: a fresh run each time, in a per-user directory ----------------------------------


def test_demo_twice_in_one_directory_starts_afresh(capsys, tmp_path):
    assert demo.main(["--epochs", "2", "--checkpoint-dir", str(tmp_path)]) == 0
    assert demo.main(["--epochs", "1", "--checkpoint-dir", str(tmp_path)]) == 0
    outs = re.findall(r"^checkpoint: (.*)$", capsys.readouterr().out, re.M)
    assert len(outs) == 2 and os.path.exists(outs[1]) and not os.path.exists(outs[0])
    assert io.CheckpointManager(tmp_path).all_steps() == [22]     # 1437 // 64 steps


def test_demo_refuses_to_delete_another_runs_checkpoints(capsys, tmp_path):
    io.CheckpointManager(tmp_path).save(3, {"w": np.ones(2, np.float32)})
    assert demo.main(["--epochs", "1", "--checkpoint-dir", str(tmp_path)]) == 2
    assert "not the demo's" in capsys.readouterr().err
    assert io.CheckpointManager(tmp_path).all_steps() == [3]


def test_demo_default_directory_is_per_user(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert demo.default_checkpoint_dir() == str(tmp_path / "cache" / "functrans" / "demo")
    assert os.path.isdir(tmp_path / "cache" / "functrans" / "demo")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    os.makedirs(tmp_path / "tmp")
    fallback = demo.default_checkpoint_dir()
    assert fallback == str(tmp_path / "tmp" / f"functrans-demo-{os.getuid()}")
    assert os.stat(fallback).st_mode & 0o077 == 0
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo.default_checkpoint_dir() == str(tmp_path / "home" / ".cache" / "functrans" /
                                                "demo")


def test_help_documents_what_a_resume_checks(capsys):
    with pytest.raises(SystemExit) as e:
        mnist.main(["--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "total steps unless --schedule is constant" in out and "--allow-changed-hparams" in out
