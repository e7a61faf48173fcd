"""The CPU lowering forms of conv_general_dilated (functrans/primitives/conv_cpu.py)
against each other: the measurements behind ``conv_cpu.choose_path``.

Run from the repository root (CPU only)::

    python bench/bench_conv_lowering.py [--filter SUBSTR]

Each workload is one jitted convolution (``fwd``), or the convolution that computes its
input gradient (``dlhs``) or kernel gradient (``drhs``), float32 NHWC/HWIO, stride 1 and
SAME padding unless named; each implementation is one form, forced with
``conv_cpu.FORCE_PATH`` while it compiles (a form that does not fit the convolution is
skipped). ``step/...`` workloads are the CNN training step of bench_conv.py with only its
first layer's form changed (the second layer and the gradients as chosen), because a
form's cost can depend on what XLA fuses into it.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(1, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from harness import Skip, Workload, main  # noqa: E402

DN = ("NHWC", "HWIO", "NHWC")
FORMS = ("native", "taps", "patches", "positions", "split")
# name: lhs shape, rhs shape, strides, feature groups
CONVS = {
    "28x28x1->32": ((64, 28, 28, 1), (3, 3, 1, 32), (1, 1), 1),
    "28x28x1->16 k5": ((64, 28, 28, 1), (5, 5, 1, 16), (1, 1), 1),
    "32x32x3->32": ((32, 32, 32, 3), (3, 3, 3, 32), (1, 1), 1),
    "28x28x4->32": ((64, 28, 28, 4), (3, 3, 4, 32), (1, 1), 1),
    "28x28x8->32": ((64, 28, 28, 8), (3, 3, 8, 32), (1, 1), 1),
    "14x14x32->64": ((64, 14, 14, 32), (3, 3, 32, 64), (1, 1), 1),
    "64x64x3->64 k7 s2": ((16, 64, 64, 3), (7, 7, 3, 64), (2, 2), 1),
    "14x14x64->128 1x1": ((64, 14, 14, 64), (1, 1, 64, 128), (1, 1), 1),
    "depthwise 28x28x32": ((32, 28, 28, 32), (3, 3, 1, 32), (1, 1), 32),
    "groups4 28x28x32": ((32, 28, 28, 32), (3, 3, 8, 32), (1, 1), 4),
}
PIECES = {"14x14x32->64": ("fwd", "dlhs", "drhs"), "depthwise 28x28x32": ("fwd", "dlhs", "drhs"),
          "groups4 28x28x32": ("fwd", "drhs")}


def _fn_args(name, piece):
    import functrans as ft
    import functrans.numpy as fnp
    from functrans import lax
    from functrans.core import get_aval
    from functrans.primitives.conv import _transpose_lhs, _transpose_rhs
    xs, ws, strides, g = CONVS[name]
    rng = np.random.default_rng(0)
    x = fnp.asarray(rng.standard_normal(xs).astype(np.float32))
    w = fnp.asarray((rng.standard_normal(ws) / np.sqrt(np.prod(ws[:3]))).astype(np.float32))

    def conv(a, k):
        return lax.conv_general_dilated(a, k, strides, "SAME", dimension_numbers=DN,
                                        feature_group_count=g)
    if piece == "fwd":
        return conv, (x, w)
    ct = fnp.asarray(rng.standard_normal(conv(x, w).shape).astype(np.float32))
    # the gradient's convolution alone (under vjp the forward one would be traced too)
    params = dict(ft.make_ir(conv)(x, w).ir.eqns[0].params)
    params.pop("preferred_element_type")
    if piece == "dlhs":
        return (lambda w, ct: _transpose_lhs(ct, w, get_aval(x), **params)), (w, ct)
    return (lambda x, ct: _transpose_rhs(ct, x, get_aval(w), **params)), (x, ct)


def form_factory(name, piece, form):
    def factory():
        from functrans.jit import jit
        from functrans.primitives import conv_cpu
        fn, args = _fn_args(name, piece)
        f = jit(fn)
        conv_cpu.FORCE_PATH = form
        try:
            text = f.lower(*args).as_text()
            f(*args)
        finally:
            conv_cpu.FORCE_PATH = None
        if form != "native":
            conv_cpu.FORCE_PATH = "native"
            try:
                native = jit(fn).lower(*args).as_text()
            finally:
                conv_cpu.FORCE_PATH = None
            if text == native:
                raise Skip(f"{form} does not fit this convolution")
        return lambda: f(*args).block_until_ready()
    return factory


def step_factory(form):
    def factory():
        import bench_conv
        from functrans.primitives import conv_cpu
        chosen = conv_cpu.choose_path

        def first_layer_only(platform, geom):  # the forward conv with one input feature
            if geom.c == 1 and geom.taps == 9 and conv_cpu.applies(form, geom):
                return form
            return chosen(platform, geom)
        conv_cpu.choose_path = first_layer_only
        try:
            return bench_conv.cnn_functrans()
        finally:
            conv_cpu.choose_path = chosen
    return factory


WORKLOADS = [
    Workload(f"{name}/{piece}", {form: form_factory(name, piece, form) for form in FORMS},
             description=f"{piece} of conv {CONVS[name][0]} x {CONVS[name][1]}, strides "
                         f"{CONVS[name][2]}, feature groups {CONVS[name][3]}",
             rtol=1e-3, atol=1e-3)
    for name in CONVS for piece in PIECES.get(name, ("fwd",))
] + [
    Workload("step/cnn_train_step first layer", {f: step_factory(f) for f in
                                                 ("native", "taps", "patches")},
             description="bench_conv.py's CNN training step, first layer lowered as each form",
             rtol=1e-3, atol=1e-4),
]


if __name__ == "__main__":
    main(WORKLOADS, description=__doc__.split("\n")[0])
