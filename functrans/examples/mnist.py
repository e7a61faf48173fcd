"""Train an MLP or a small CNN on MNIST / Fashion-MNIST (or the shipped 8×8 digits).

    python -m functrans.examples.mnist --data-dir ~/data/mnist --model cnn --epochs 3
    python -m functrans.examples.mnist --data-dir ~/data/mnist --model mlp --epochs 10 \\
        --optimizer adamw --lr 1e-3 --schedule warmup_cosine --clip 1.0
    python -m functrans.examples.mnist ... --checkpoint-dir runs/cnn --resume

The data directory holds the four standard IDX files (``train-images-idx3-ubyte.gz``
& co; see ``functrans.data.load_mnist``). Every step is one jitted function; the
run is checkpointed every ``--save-every`` steps and at the end, with the loss
curve as ``loss.png`` next to the checkpoints (if matplotlib is installed), and
``--resume`` continues exactly where the newest checkpoint left off (refusing
hyper-parameters that differ from the checkpoint's, see ``--help``). A run whose
loss becomes NaN or infinite stops with exit status 1 before it writes a
checkpoint of the diverged state.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import functrans as ft
import functrans.numpy as fnp
from functrans import data, io, nn, optim, random
from functrans.examples.training import (NonFiniteLossError, TrainState, count, evaluate, fit,
                                         make_parallel_step, make_step, nonnegative, positive,
                                         positive_int, restore_state, save_curve)


def make_model(name: str, in_shape, num_classes: int, key):
    """``mlp``: 784-512-512-10 ReLU; ``cnn``: two 3x3 conv blocks + dropout + a dense head."""
    k1, k2, k3, k4 = random.split(key, 4)
    if name == "mlp":
        d = int(np.prod(in_shape))
        return nn.Sequential([nn.Flatten(), nn.Linear(d, 512, key=k1), nn.relu,
                              nn.Linear(512, 512, key=k2), nn.relu,
                              nn.Linear(512, num_classes, key=k3)])
    c, h, w = in_shape
    hh, ww = h // 4, w // 4
    return nn.Sequential([
        nn.Conv2d(c, 32, 3, padding=1, key=k1), nn.relu, nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, key=k2), nn.relu, nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(64 * hh * ww, 128, key=k3), nn.relu, nn.Dropout(0.25),
        nn.Linear(128, num_classes, key=k4)])


def make_optimizer(args, total_steps: int):
    if args.schedule == "constant":
        lr = args.lr
    elif args.schedule == "cosine":
        lr = optim.cosine_decay_schedule(args.lr, total_steps, alpha=0.01)
    else:
        warm = max(1, total_steps // 20)
        lr = optim.warmup_cosine_decay_schedule(0.0, args.lr, warm, total_steps, args.lr * 0.01)
    base = {"sgd": lambda: optim.sgd(lr, momentum=0.9, nesterov=True),
            "adam": lambda: optim.adam(lr),
            "adamw": lambda: optim.adamw(lr, weight_decay=args.weight_decay)}[args.optimizer]()
    parts = [optim.clip_by_global_norm(args.clip)] if args.clip else []
    tx = optim.chain(*parts, base)
    if args.accum_steps > 1:
        tx = optim.multi_steps(tx, args.accum_steps)
    return tx


class UsageError(ValueError):
    """A command-line value that does not fit the data or the checkpoint (exit status 2)."""


def load(args):
    if args.dataset == "digits":
        (xt, yt), (xs, ys) = data.load_digits(flatten=False, normalize=True)
    else:
        if not args.data_dir:
            raise data.DatasetError(
                f"--data-dir is required for {args.dataset}: a directory with the four IDX "
                f"files ({', '.join(f + '.gz' for f in data.MNIST_FILES.values())})")
        (xt, yt), (xs, ys) = data.load_mnist(args.data_dir, kind=args.dataset, normalize=True)
    # channels first per example: (N, 1, H, W)
    xt, xs = np.moveaxis(xt, -1, 1), np.moveaxis(xs, -1, 1)
    if args.limit:
        xt, yt = xt[:args.limit], yt[:args.limit]
    data.check_dataset(xt, yt, 10, images=f"the {args.dataset} training images",
                       labels=f"the {args.dataset} training labels")
    data.check_dataset(xs, ys, 10, images=f"the {args.dataset} test images",
                       labels=f"the {args.dataset} test labels")
    return (np.ascontiguousarray(xt), yt), (np.ascontiguousarray(xs), ys)


# --- the hyper-parameters and the command line -----------------------------------------------

# The hyper-parameters an exact resume depends on, stored in every checkpoint's metadata,
# by the option that sets them. The total number of steps only matters for a schedule
# that decays over it: with --schedule constant, a resumed run may train longer.
_HPARAMS = {"dataset": "--dataset", "limit": "--limit", "model": "--model",
            "optimizer": "--optimizer", "lr": "--lr", "schedule": "--schedule",
            "weight_decay": "--weight-decay", "clip": "--clip", "accum_steps": "--accum-steps",
            "batch_size": "--batch-size", "seed": "--seed", "devices": "--devices",
            "total_steps": "--steps/--epochs (total steps)"}


def hparams(args, total_steps: int) -> dict:
    """The JSON record of what the run's result depends on (see ``_HPARAMS``)."""
    h = {k: getattr(args, k) for k in _HPARAMS if k != "total_steps"}
    if args.optimizer != "adamw":
        h["weight_decay"] = None          # only adamw uses it
    h["total_steps"] = total_steps
    return h


def hparam_changes(saved: dict, now: dict, *, training: bool) -> list:
    """``["--lr: checkpoint 0.001, now 0.01", ...]`` for each hyper-parameter that differs.

    The total steps count only when there is still something to train and the
    schedule depends on them (not ``constant``).
    """
    fmt = lambda v: "none" if v is None else str(v)  # noqa: E731
    out = []
    for k, option in _HPARAMS.items():
        if k == "total_steps" and (not training or now.get("schedule") == "constant"):
            continue
        if k in saved and saved[k] != now[k]:
            out.append(f"{option}: checkpoint {fmt(saved[k])}, now {fmt(now[k])}")
        elif k not in saved:
            out.append(f"{option}: not recorded in the checkpoint, now {fmt(now[k])}")
    return out


def parse(argv):
    p = argparse.ArgumentParser(
        prog="python -m functrans.examples.mnist", description=__doc__.split("\n")[0],
        epilog="Every checkpoint records the hyper-parameters an exact resume depends on "
               "(--dataset, --limit, --model, --optimizer, --lr, --schedule, --weight-decay, "
               "--clip, --accum-steps, --batch-size, --seed, --devices, and the total steps "
               "unless --schedule is constant). --resume refuses to continue with different "
               "ones, listing them, unless --allow-changed-hparams is given. With --schedule "
               "constant a resumed run may train longer (a larger --steps or --epochs).")
    p.add_argument("--dataset", choices=["mnist", "fashion_mnist", "digits"], default="mnist")
    p.add_argument("--data-dir", default=os.environ.get("FUNCTRANS_MNIST_DIR"),
                   help="directory with the IDX files (default: $FUNCTRANS_MNIST_DIR)")
    p.add_argument("--model", choices=["mlp", "cnn"], default="cnn")
    p.add_argument("--epochs", type=positive, default=3)
    p.add_argument("--steps", type=count, default=0,
                   help="total steps (overrides --epochs; 0: use --epochs)")
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="adamw")
    p.add_argument("--lr", type=positive, default=1e-3)
    p.add_argument("--weight-decay", type=nonnegative, default=1e-4,
                   help="AdamW's decoupled weight decay")
    p.add_argument("--schedule", choices=["constant", "cosine", "warmup_cosine"],
                   default="warmup_cosine")
    p.add_argument("--clip", type=nonnegative, default=0.0,
                   help="clip by global norm (0: off)")
    p.add_argument("--accum-steps", type=positive_int, default=1,
                   help="gradient accumulation steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-dir", default=None)
    p.add_argument("--save-every", type=count, default=500,
                   help="checkpoint every N steps (0: only at the end)")
    p.add_argument("--keep", type=positive_int, default=3,
                   help="how many checkpoints to keep")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest checkpoint (with the same hyper-parameters)")
    p.add_argument("--allow-changed-hparams", action="store_true",
                   help="with --resume: continue even if hyper-parameters differ from the "
                        "checkpoint's (printing each change); the run is then no longer the "
                        "one an uninterrupted run would have given")
    p.add_argument("--limit", type=count, default=0,
                   help="use only the first N training images (0: all)")
    p.add_argument("--devices", type=positive_int, default=1,
                   help="data-parallel over this many devices (ft.pmap; on a CPU they are "
                        "XLA host devices sharing its cores)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.allow_changed_hparams and not args.resume:
        p.error("--allow-changed-hparams only makes sense with --resume")
    if args.resume and not args.checkpoint_dir:
        p.error("--resume needs --checkpoint-dir (the run to continue)")
    return args


def _resume(args, manager, state, hp, total):
    """Restores the newest checkpoint after checking its hyper-parameters against ``hp``."""
    if not manager.all_steps():
        raise io.CheckpointError(f"--resume: no checkpoint in {args.checkpoint_dir!r}")
    # the header first (the newest valid checkpoint, read without a template): other
    # hyper-parameters often mean another tree (--clip, --schedule, --model), and the
    # differences say more than the template mismatch they would cause
    _, header = manager.restore(return_header=True)
    step = header["step"]
    meta = header.get("metadata")
    saved = meta.get("hparams") if isinstance(meta, dict) else None
    changes = []
    if not isinstance(saved, dict):
        print("warning: the checkpoint does not record its hyper-parameters (written by an "
              "older functrans); they cannot be checked", file=sys.stderr)
    else:
        changes = hparam_changes(saved, hp, training=step < total)
        if changes and not args.allow_changed_hparams:
            raise UsageError(
                f"--resume: the checkpoint of step {step} in {args.checkpoint_dir!r} was "
                "trained with other hyper-parameters:\n  " + "\n  ".join(changes)
                + "\nRun with the checkpoint's values, or pass --allow-changed-hparams to "
                "continue with the new ones (the result then differs from an uninterrupted run)")
        if changes:
            print("resuming with changed hyper-parameters:\n  " + "\n  ".join(changes))
    try:
        state = restore_state(manager, state, step=step)
    except io.CheckpointError as e:
        if not changes:
            raise
        raise io.CheckpointError(f"{e}\n(the changed hyper-parameters change what the "
                                 "checkpoint must hold, which a resume cannot do)") from None
    print(f"resumed from step {step} ({manager.path(step)})")
    return state


def run(args) -> int:
    t0 = time.perf_counter()
    (xt, yt), (xs, ys) = load(args)
    per_epoch = len(xt) // args.batch_size
    if per_epoch == 0:
        raise UsageError(f"--batch-size {args.batch_size} is larger than the {len(xt)} "
                         f"training images{' (--limit)' if args.limit else ''}")
    total = args.steps or int(round(args.epochs * per_epoch))
    if total < 1:
        raise UsageError(f"--epochs {args.epochs} is less than one step of {args.batch_size} "
                         f"images ({per_epoch} steps per epoch)")
    if args.devices > 1:
        if args.batch_size % args.devices:
            raise UsageError(f"--batch-size {args.batch_size} does not split over "
                             f"--devices {args.devices}")
        if args.devices > len(ft.devices()):
            raise UsageError(f"--devices {args.devices}: only {len(ft.devices())} devices "
                             f"are available ({ft.devices()[0].platform})")
    key = random.key(args.seed)
    model = make_model(args.model, xt.shape[1:], 10, random.fold_in(key, 1))
    tx = make_optimizer(args, total)
    state = TrainState(model, tx.init(model), fnp.zeros((), np.int32), key)
    hp = hparams(args, total)
    manager = None
    if args.checkpoint_dir:
        manager = io.CheckpointManager(args.checkpoint_dir, keep=args.keep,
                                       create=not args.resume)
    if args.resume:
        state = _resume(args, manager, state, hp, total)
    elif manager is not None and manager.all_steps():
        raise io.CheckpointError(
            f"{args.checkpoint_dir!r} already holds checkpoints (steps {manager.all_steps()}); "
            "pass --resume to continue that run, or choose another --checkpoint-dir")
    start = int(np.asarray(state.step))
    print(f"{args.dataset}: {len(xt)} training / {len(xs)} test images; model {args.model} "
          f"({nn.count_params(model):,} parameters); {args.optimizer} lr {args.lr} "
          f"({args.schedule}); {total} steps of {args.batch_size}; device {ft.devices()[0]}",
          flush=True)
    history = []
    if start >= total:
        print(f"the checkpoint is already at step {start} >= {total} steps (--steps/--epochs):"
              " nothing to train; evaluating the restored model", flush=True)
    else:
        stochastic = args.model == "cnn"
        if args.devices > 1:
            step_fn = make_parallel_step(tx, args.devices, stochastic=stochastic)
            print(f"data-parallel over {args.devices} devices: "
                  f"{', '.join(str(d) for d in ft.devices()[:args.devices])}", flush=True)
        else:
            step_fn = make_step(tx, stochastic=stochastic)
        state = fit(state, step_fn, xt, yt,
                    batch_size=args.batch_size, total_steps=total, manager=manager,
                    save_every=args.save_every, progress=not args.quiet, history=history,
                    metadata={"example": "functrans.examples.mnist", "hparams": hp})
    acc = evaluate(state.model, xs, ys)
    elapsed = time.perf_counter() - t0
    if manager is not None:
        # the checkpoint of the evaluated state: written by fit at its last step, or restored
        print(f"checkpoint: {manager.path(int(np.asarray(state.step)))}")
        png = os.path.join(args.checkpoint_dir, "loss.png")
        if history and save_curve(png, history, f"{args.model} on {args.dataset}"):
            print(f"loss curve: {png}")
    print(f"time: {elapsed:.1f} s")
    print(f"test accuracy: {acc:.4f}")
    return 0


def _want_devices(n: int) -> None:
    """On a CPU-only machine, ask XLA for ``n`` host devices (before jax starts)."""
    if n <= 1 or "jax" in sys.modules:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()


def main(argv=None) -> int:
    """The command line; returns the exit status: 0 done, 1 training diverged, 2 bad input
    (options, data or checkpoint; argparse's own errors exit 2 as well), 130 interrupted."""
    args = parse(argv)
    _want_devices(args.devices)
    try:
        return run(args)
    except (io.CheckpointError, data.DatasetError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except NonFiniteLossError as e:
        hint = ("\n(to continue from that checkpoint with a lower --lr: --resume "
                "--allow-changed-hparams)" if e.last_checkpoint else "")
        print(f"error: {e}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
