"""A small, exact-resume training loop shared by ``functrans.demo`` and ``functrans.examples.mnist``.

Everything that decides the result is a pure function of the checkpointed state:
the model, the optimizer state, the step counter and one PRNG key. Epoch ``e``
shuffles with ``fold_in(key, e)``; a run resumed from a checkpoint at step ``s``
skips the first ``s mod steps_per_epoch`` batches of its epoch, so N steps in one
go and N/2 + save + restore + N/2 give bitwise-identical parameters.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Callable, NamedTuple

import numpy as np

import functrans as ft
import functrans.numpy as fnp
from functrans import data, io, nn, optim, random
from functrans.nn._module import _accepts


class NonFiniteLossError(RuntimeError):
    """Training diverged: the loss (or a parameter) became NaN or infinite.

    ``fit`` raises it before writing a checkpoint of the diverged state, so the newest
    checkpoint on disk is always a finite one. Attributes: ``step``, ``loss``
    (a float, possibly finite when only the parameters are not) and
    ``last_checkpoint`` (the path of the newest checkpoint, or None).
    """

    def __init__(self, step: int, loss: float, last_checkpoint: str | None = None,
                 what: str = "the loss"):
        self.step, self.loss, self.last_checkpoint = step, loss, last_checkpoint
        where = (f"the newest checkpoint, {last_checkpoint}, is from before that"
                 if last_checkpoint else "no checkpoint was written")
        value = f" ({loss})" if what == "the loss" else ""
        super().__init__(
            f"training diverged: {what} is not finite{value} at step {step}; stopped without "
            f"saving it ({where}). Try a lower learning rate (--lr), or check the data for "
            "NaN/inf inputs or wrong labels")


@ft.jit
def _all_finite(tree):
    """Whether every float leaf of ``tree`` is finite: one jitted reduction, one sync."""
    leaves = [fnp.all(fnp.isfinite(leaf)) for leaf in ft.tree_leaves(tree)
              if hasattr(leaf, "dtype") and fnp.issubdtype(leaf.dtype, fnp.inexact)]
    return fnp.all(fnp.stack(leaves)) if leaves else fnp.asarray(True)


class TrainState(NamedTuple):
    model: object
    opt_state: object
    step: object       # int32 scalar array
    key: object        # the run's PRNG key (never split in place: epochs fold it in)


def _apply(model, x, **kwargs):
    """``model(x, **kwargs)`` passing only the keyword arguments its ``__call__`` takes."""
    return model(x, **{k: v for k, v in kwargs.items() if _accepts(model, k)})


def classification_loss(model, x, y, key=None):
    """Mean softmax cross-entropy of ``vmap(model)`` on a batch (dropout keys per example)."""
    if key is None:
        logits = ft.vmap(lambda xi: _apply(model, xi, train=False))(x)
    else:
        keys = random.split(key, x.shape[0])
        logits = ft.vmap(lambda xi, k: _apply(model, xi, key=k))(x, keys)
    return fnp.mean(nn.softmax_cross_entropy(logits, y))


def make_step(tx: optim.GradientTransformation, loss: Callable = classification_loss,
              stochastic: bool = False):
    """The jitted training step ``(state, x, y) -> (state, loss)``; donates the old state."""
    def step(state: TrainState, x, y):
        k = random.fold_in(state.key, state.step) if stochastic else None
        value, grads = ft.value_and_grad(loss)(state.model, x, y, k)
        updates, opt_state = tx.update(grads, state.opt_state, state.model)
        model = optim.apply_updates(state.model, updates)
        return TrainState(model, opt_state, state.step + 1, state.key), value
    return ft.jit(step, donate_argnums=(0,))


def make_parallel_step(tx: optim.GradientTransformation, devices: int,
                       loss: Callable = classification_loss, stochastic: bool = False):
    """``make_step``'s step, data-parallel over ``devices`` devices with ``ft.pmap``: each
    device takes ``batch / devices`` examples, the gradients (and the loss) are averaged
    with ``lax.pmean``, and every device applies the same update. The state goes in and
    comes out whole (replicated; copy 0 is returned), so checkpoints and ``fit`` are the
    same as for ``make_step``. Dropout keys differ per device (``fold_in`` of the device
    index), so a stochastic model's run differs from the one-device run."""
    from functrans import lax

    def step(state: TrainState, x, y):
        k = None
        if stochastic:
            k = random.fold_in(random.fold_in(state.key, state.step), lax.axis_index("batch"))
        value, grads = ft.value_and_grad(loss)(state.model, x, y, k)
        grads, value = lax.pmean((grads, value), "batch")
        updates, opt_state = tx.update(grads, state.opt_state, state.model)
        model = optim.apply_updates(state.model, updates)
        return TrainState(model, opt_state, state.step + 1, state.key), value

    parallel = ft.pmap(step, "batch", in_axes=(None, 0, 0))

    def run(state: TrainState, x, y):
        if len(x) % devices:
            raise ValueError(f"the batch of {len(x)} does not split over {devices} devices")
        shard = lambda a: fnp.reshape(a, (devices, len(a) // devices) + a.shape[1:])  # noqa: E731
        new, value = parallel(state, shard(fnp.asarray(x)), shard(fnp.asarray(y)))
        return ft.tree_map(lambda a: a[0], new), value[0]
    return run


@ft.jit
def predict(model, x):
    """Logits of ``vmap(model)`` on a batch, in inference mode (jitted)."""
    return ft.vmap(lambda xi: _apply(model, xi, train=False))(x)


def evaluate(model, x, y, batch_size: int = 1000) -> float:
    """Accuracy of the model over ``(x, y)``, in jitted batches."""
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = predict(model, x[i:i + batch_size])
        correct += int(np.sum(np.asarray(fnp.argmax(logits, axis=-1)) == y[i:i + batch_size]))
    return correct / len(x)


class Progress:
    """One line per update: ``epoch 3/20  step 120/460  loss 0.1234  5,120 ex/s``.

    The throughput is measured since the previous line (so the first line includes
    compilation). On a terminal the line is rewritten in place; otherwise one line
    per epoch.
    """

    def __init__(self, total_steps: int, steps_per_epoch: int, stream=None):
        self.total, self.per_epoch = total_steps, steps_per_epoch
        self.stream = stream or sys.stdout
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.t_last, self.examples = time.perf_counter(), 0

    def update(self, step: int, loss: float, batch: int, end_of_epoch: bool):
        self.examples += batch
        if not (self.tty or end_of_epoch or step == self.total):
            return
        now = time.perf_counter()
        rate = self.examples / max(now - self.t_last, 1e-9)
        self.t_last, self.examples = now, 0
        epoch = (step - 1) // self.per_epoch + 1
        epochs = math.ceil(self.total / self.per_epoch)
        line = (f"epoch {epoch}/{epochs}  step {step}/{self.total}  loss {loss:.4f}  "
                f"{rate:,.0f} ex/s")
        if self.tty:
            self.stream.write("\r" + line.ljust(70))
            if step == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def fit(state: TrainState, step_fn, x, y, *, batch_size: int, total_steps: int,
        manager: io.CheckpointManager | None = None, save_every: int = 0, progress=True,
        on_step: Callable | None = None, history: list | None = None,
        metadata=None) -> TrainState:
    """Runs ``step_fn`` from ``state.step`` up to ``total_steps`` (see the module docstring).

    Checkpoints (if ``manager``) every ``save_every`` steps and at the end, with
    ``metadata`` (JSON: e.g. the hyper-parameters) in each checkpoint's header;
    appends ``(step, loss)`` to ``history``.

    Raises:
      NonFiniteLossError: the loss or a parameter became NaN or infinite. The loss is
        checked at every step where it is read anyway (``history``, ``progress`` or
        ``on_step``), otherwise at each checkpoint and at the end; the state is checked
        before every checkpoint, which is therefore never written for a diverged run.
      ValueError: ``batch_size`` is larger than the dataset.
    """
    per_epoch = len(x) // batch_size
    if per_epoch == 0:
        raise ValueError(f"fit: batch_size {batch_size} is larger than the dataset ({len(x)})")
    bar = Progress(total_steps, per_epoch) if progress else None
    step = int(np.asarray(state.step))
    last_saved = None
    if manager is not None:
        steps = manager.all_steps()
        last_saved = manager.path(steps[-1]) if steps else None

    def check(loss, lv=None):
        lv = float(np.asarray(loss)) if lv is None else lv
        if not math.isfinite(lv):
            raise NonFiniteLossError(step, lv, last_saved)
        return lv

    while step < total_steps:
        epoch, skip = divmod(step, per_epoch)
        batches = data.batches(x, y, batch_size, key=random.fold_in(state.key, epoch),
                               drop_last=True)
        for i, (xb, yb) in enumerate(batches):
            if i < skip:
                continue
            state, loss = step_fn(state, xb, yb)
            step += 1
            last = step == total_steps
            end = (i + 1 == per_epoch)
            lv = None
            if history is not None or bar is not None or on_step is not None:
                lv = check(loss)   # the loss is read here anyway: checking it costs nothing
                if history is not None:
                    history.append((step, lv))
                if bar is not None:
                    bar.update(step, lv, len(xb), end)
                if on_step is not None:
                    on_step(step, lv)
            save = manager is not None and ((save_every and step % save_every == 0) or last)
            if save or last:
                lv = check(loss, lv)
                if not bool(np.asarray(_all_finite(state))):
                    raise NonFiniteLossError(step, lv, last_saved, what="a parameter")
            if save:
                last_saved = manager.save(step, state._asdict(), metadata=metadata)
            if last:
                break
    return state


def restore_state(manager: io.CheckpointManager, template: TrainState, *, step=None,
                  return_header: bool = False):
    """The checkpoint of ``step`` (default: the newest valid one) of ``manager``, validated
    against ``template`` (with ``return_header``: ``(state, header)``, the header's
    ``"metadata"`` and ``"step"`` being those it was saved with)."""
    tree, header = manager.restore(step, like=template._asdict(), return_header=True)
    state = TrainState(**tree)
    return (state, header) if return_header else state


# --- command-line values (argparse types shared by the demo and the examples) -----------------


def _number(kind, low, inclusive, what):
    """An argparse ``type=`` for the command lines: a finite ``kind`` (int or float) >=
    (or > unless ``inclusive``) ``low``; argparse turns the error into ``argument --x: ...``
    and exit status 2."""
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value
    convert.__name__ = kind.__name__   # argparse names the type in its own messages
    return convert


positive_int = _number(int, 1, True, "an integer >= 1")
count = _number(int, 0, True, "an integer >= 0")
positive = _number(float, 0.0, False, "a finite number > 0")
nonnegative = _number(float, 0.0, True, "a finite number >= 0")


def save_curve(path: str, history: list, title: str) -> bool:
    """Writes the loss curve as a PNG if matplotlib is installed; returns whether it did."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    steps, losses = zip(*history) if history else ((), ())
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, losses, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


__all__ = ["TrainState", "NonFiniteLossError", "classification_loss", "make_step", "predict",
           "evaluate", "Progress", "fit", "restore_state", "save_curve", "positive_int", "count",
           "positive", "nonnegative"]
