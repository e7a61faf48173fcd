"""``python -m functrans.demo``: train a jit-compiled MLP on the 8×8 digits shipped with functrans.

It needs no download and finishes in seconds on two cores: 1,437 training
images, 360 test images (UCI optdigits, see functrans/datasets/README.md), an
MLP 64-128-128-10 trained with AdamW for 20 epochs by one jitted step function
(``value_and_grad`` + ``vmap`` + the optimizer update, compiled once by XLA).
It prints a progress line per epoch, the test accuracy on a line of its own,
and writes a checkpoint (restorable with ``functrans.io.restore``) to
``~/.cache/functrans/demo`` (or ``$XDG_CACHE_HOME/functrans/demo``), replacing
the previous demo's: each run starts afresh. A run that diverges (e.g. with a
huge ``--lr``) stops with exit status 1 and writes no checkpoint.

    python -m functrans.demo [--epochs 20] [--checkpoint-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import functrans as ft
from functrans import data, io, nn, optim, random
from functrans.examples.training import (NonFiniteLossError, TrainState, evaluate, fit,
                                         make_step, positive, positive_int)


def default_checkpoint_dir() -> str:
    """Where the demo writes its checkpoint unless told: ``$XDG_CACHE_HOME/functrans/demo``
    (``~/.cache/functrans/demo``), or, where that cannot be created, a private directory
    ``functrans-demo-<uid>`` in the temporary directory (never a path shared by users)."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):   # the XDG spec: a relative path is to be ignored
        cache = os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(cache, "functrans", "demo")
    try:
        os.makedirs(path, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    path = os.path.join(tempfile.gettempdir(), f"functrans-demo-{uid}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return tempfile.mkdtemp(prefix="functrans-demo-")
    st = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or (
            hasattr(os, "getuid") and st.st_uid != os.getuid()):
        return tempfile.mkdtemp(prefix="functrans-demo-")   # someone else's: not ours to use
    return path


def _foreign_checkpoints(manager) -> list:
    """The checkpoints in ``manager``'s directory that this demo did not write."""
    foreign = []
    for step in manager.all_steps():
        try:
            meta = io.info(manager.path(step)).get("metadata")
        except (io.CheckpointError, OSError):
            meta = None
        if not (isinstance(meta, dict) and meta.get("example") == "functrans.demo"):
            foreign.append(manager.path(step))
    return foreign


def main(argv=None) -> int:
    """Returns the exit status: 0 done, 1 training diverged, 2 bad input."""
    p = argparse.ArgumentParser(prog="python -m functrans.demo", description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=positive_int, default=20)
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--lr", type=positive, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-dir", default=None,
                   help="where to write the checkpoint (default: $XDG_CACHE_HOME/functrans/demo, "
                        "i.e. ~/.cache/functrans/demo); each demo is a fresh run that deletes "
                        "the previous demo's checkpoint there (it refuses a directory holding "
                        "other checkpoints)")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = data.load_digits(normalize=True)
    if args.batch_size > len(x_train):
        p.error(f"argument --batch-size: {args.batch_size} is larger than the "
                f"{len(x_train)} training images")
    print(f"functrans {ft.__version__} demo: {len(x_train)} training / {len(x_test)} test "
          "images of 8x8 handwritten digits (UCI optdigits, shipped with functrans)")
    key = random.key(args.seed)
    model = nn.MLP(64, 10, 128, 2, activation=nn.relu, key=random.fold_in(key, 1))
    print(f"model: MLP 64-128-128-10, {nn.count_params(model):,} parameters; "
          f"optimizer: AdamW(lr={args.lr}); device: {ft.devices()[0]}")
    tx = optim.adamw(args.lr, weight_decay=1e-4)
    state = TrainState(model, tx.init(model), ft.numpy.zeros((), "int32"), key)
    step = make_step(tx)
    steps = args.epochs * (len(x_train) // args.batch_size)
    try:
        manager = io.CheckpointManager(args.checkpoint_dir or default_checkpoint_dir(), keep=1)
        foreign = _foreign_checkpoints(manager) if args.checkpoint_dir else []
        if foreign:
            raise io.CheckpointError(
                f"--checkpoint-dir {args.checkpoint_dir!r} holds checkpoints that are not the "
                f"demo's ({', '.join(os.path.basename(f) for f in foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); the demo starts afresh and would "
                "delete them: choose another directory")
        manager.clear()   # a fresh run: an earlier demo's (longer) run must not look newer
        state = fit(state, step, x_train, y_train, batch_size=args.batch_size,
                    total_steps=steps, manager=manager,
                    metadata={"example": "functrans.demo", "hparams": vars(args)})
    except io.CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    acc = evaluate(state.model, x_test, y_test)
    print(f"checkpoint: {manager.path(steps)}")
    print(f"trained {steps} steps in {time.perf_counter() - t0:.1f} s (including compilation)")
    print(f"test accuracy: {acc:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
