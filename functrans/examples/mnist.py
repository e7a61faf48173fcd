"""Train an MLP or a small CNN on MNIST / Fashion-MNIST (or the shipped 8×8 digits).

    python -m functrans.examples.mnist --data-dir ~/data/mnist --model cnn --epochs 3
    python -m functrans.examples.mnist --data-dir ~/data/mnist --model mlp --epochs 10 \\
        --optimizer adamw --lr 1e-3 --schedule warmup_cosine --clip 1.0
    python -m functrans.examples.mnist ... --checkpoint-dir runs/cnn --resume

The data directory holds the four standard IDX files (``train-images-idx3-ubyte.gz``
& co; see ``functrans.data.load_mnist``). Every step is one jitted function; the
run is checkpointed every ``--save-every`` steps and at the end, with the loss
curve as ``loss.png`` next to the checkpoints (if matplotlib is installed), and
``--resume`` continues exactly where the newest checkpoint left off.
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
from functrans.examples.training import (TrainState, evaluate, fit, make_parallel_step,
                                         make_step, restore_state, save_curve)


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
    return (np.ascontiguousarray(xt), yt), (np.ascontiguousarray(xs), ys)


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m functrans.examples.mnist",
                                description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=["mnist", "fashion_mnist", "digits"], default="mnist")
    p.add_argument("--data-dir", default=os.environ.get("FUNCTRANS_MNIST_DIR"),
                   help="directory with the IDX files (default: $FUNCTRANS_MNIST_DIR)")
    p.add_argument("--model", choices=["mlp", "cnn"], default="cnn")
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--steps", type=int, default=0, help="total steps (overrides --epochs)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="adamw")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--schedule", choices=["constant", "cosine", "warmup_cosine"],
                   default="warmup_cosine")
    p.add_argument("--clip", type=float, default=0.0, help="clip by global norm (0: off)")
    p.add_argument("--accum-steps", type=int, default=1, help="gradient accumulation steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-dir", default=None)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--keep", type=int, default=3)
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--devices", type=int, default=1,
                   help="data-parallel over this many devices (ft.pmap; on a CPU they are "
                        "XLA host devices sharing its cores)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def run(args) -> int:
    t0 = time.perf_counter()
    (xt, yt), (xs, ys) = load(args)
    per_epoch = len(xt) // args.batch_size
    total = args.steps or int(round(args.epochs * per_epoch))
    key = random.key(args.seed)
    model = make_model(args.model, xt.shape[1:], 10, random.fold_in(key, 1))
    tx = make_optimizer(args, total)
    state = TrainState(model, tx.init(model), fnp.zeros((), np.int32), key)
    manager = None
    if args.checkpoint_dir:
        manager = io.CheckpointManager(args.checkpoint_dir, keep=args.keep,
                                       create=not args.resume)
    if args.resume:
        if manager is None:
            raise io.CheckpointError("--resume needs --checkpoint-dir")
        if not manager.all_steps():
            raise io.CheckpointError(f"--resume: no checkpoint in {args.checkpoint_dir!r}")
        state = restore_state(manager, state)
        print(f"resumed from step {int(np.asarray(state.step))}")
    elif manager is not None and manager.all_steps():
        raise io.CheckpointError(
            f"{args.checkpoint_dir!r} already holds checkpoints (steps {manager.all_steps()}); "
            "pass --resume to continue that run, or choose another --checkpoint-dir")
    print(f"{args.dataset}: {len(xt)} training / {len(xs)} test images; model {args.model} "
          f"({nn.count_params(model):,} parameters); {args.optimizer} lr {args.lr} "
          f"({args.schedule}); {total} steps of {args.batch_size}; device {ft.devices()[0]}",
          flush=True)
    history = []
    stochastic = args.model == "cnn"
    if args.devices > 1:
        if args.batch_size % args.devices:
            raise data.DatasetError(f"--batch-size {args.batch_size} does not split over "
                                    f"--devices {args.devices}")
        step_fn = make_parallel_step(tx, args.devices, stochastic=stochastic)
        print(f"data-parallel over {args.devices} devices: "
              f"{', '.join(str(d) for d in ft.devices()[:args.devices])}", flush=True)
    else:
        step_fn = make_step(tx, stochastic=stochastic)
    state = fit(state, step_fn, xt, yt,
                batch_size=args.batch_size, total_steps=total, manager=manager,
                save_every=args.save_every, progress=not args.quiet, history=history)
    acc = evaluate(state.model, xs, ys)
    elapsed = time.perf_counter() - t0
    if manager is not None:
        print(f"checkpoint: {manager.path(total)}")
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
    args = parse(argv)
    _want_devices(args.devices)
    try:
        return run(args)
    except (io.CheckpointError, data.DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
