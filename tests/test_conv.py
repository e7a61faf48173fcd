"""Convolution and windowed reductions: lax.conv_general_dilated (and its conv,
conv_with_general_padding, conv_transpose wrappers) and lax.reduce_window.

Eager results against jax.lax as the oracle; derivatives against central
differences (check_grads) and jax's gradients; vmap against a Python loop;
jit against eager. Shapes stay small and jit checks are grouped so that each
test compiles once or twice.
"""

import numpy as np
import pytest

import functrans as ft
from functrans import dtypes, lax
from functrans.jit import jit
from functrans.test_util import check_grads

jax = pytest.importorskip("jax")

F32, F64 = np.float32, np.float64

# lhs shape, rhs shape, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, G, B
CONV_CASES = [
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "SAME", None, None, ("NHWC", "HWIO", "NHWC"), 1, 1),
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), "VALID", None, (2, 1), None, 1, 1),
    ((2, 4, 7), (6, 2, 3), (1,), ((2, -1),), (2,), None, None, 2, 1),
    ((2, 7, 4), (3, 1, 4), (2,), "SAME", None, (1,), ("NWC", "WIO", "NWC"), 4, 1),
    ((4, 3, 5, 5), (6, 3, 2, 2), (1, 1), ((1, 0), (0, 2)), (1, 2), (2, 1),
     ("NCHW", "OIHW", "NHWC"), 1, 2),
    ((2, 4, 4, 4, 2), (2, 2, 2, 2, 3), (1, 2, 1), "SAME", None, None,
     ("NHWDC", "HWDIO", "NHWDC"), 1, 1),
    ((3, 6, 6, 2), (3, 3, 2, 4), (2, 2), ((2, 1), (-1, 3)), (2, 2), None,
     ("NHWC", "HWIO", "NCHW"), 1, 1),
    ((2, 6, 5, 4), (2, 3, 2, 6), (1, 2), "SAME_LOWER", None, (2, 1),
     ("NHWC", "HWIO", "NHWC"), 2, 1),
]
CONV_IDS = [f"conv{i}" for i in range(len(CONV_CASES))]


def rand(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else -3, 4, shape).astype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    return rng.standard_normal(shape).astype(dtype)


def tol(dtype):
    return 1e-10 if np.dtype(dtype) == np.float64 else 2e-5


def close(got, want, dtype=None):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if dtype is not None:
        assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
    else:
        t = 1e-2 if got.dtype in (np.float16, dtypes.bfloat16) else tol(got.dtype)
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=t,
                                   atol=t, equal_nan=True)


def conv_fn(case, lib=lax):
    _, _, st, pad, ld, rd, dn, g, b = case
    kw = {"precision": "highest"} if lib is not lax else {}
    return lambda x, w: lib.conv_general_dilated(x, w, st, pad, ld, rd, dn, g, b, **kw)


def conv_args(case, dtype, seed=0):
    return rand(case[0], dtype, seed), rand(case[1], dtype, seed + 1)


# --- conv: values --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64])
def test_conv_matches_jax(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    args = [conv_args(case, dtype) for case in CONV_CASES]
    # the oracle compiles once: every case in one jitted jax function
    want = jax.jit(lambda args: [conv_fn(c, jax.lax)(*a) for c, a in zip(CONV_CASES, args)])(args)
    for case, a, w in zip(CONV_CASES, args, want):
        close(conv_fn(case)(*a), w, dtype)


def test_conv_int_and_preferred_type_match_jax():
    case = CONV_CASES[0]
    x, w = conv_args(case, np.int32)
    close(conv_fn(case)(x, w), conv_fn(case, jax.lax)(x, w), np.int32)
    x8, w8 = x.astype(np.int8), w.astype(np.int8)
    got = lax.conv_general_dilated(x8, w8, (1, 1), "SAME", dimension_numbers=case[6],
                                   preferred_element_type=np.int32)
    want = jax.lax.conv_general_dilated(x8, w8, (1, 1), "SAME", dimension_numbers=case[6],
                                        preferred_element_type=np.int32)
    close(got, want, np.int32)


# Ungrouped convolutions with more than a few channels take the blocked im2col path.
MANY_CHANNEL_CASES = [
    ((5, 6, 6, 6), (3, 3, 6, 4), (1, 1), "SAME", None, None, ("NHWC", "HWIO", "NHWC"), 1, 1),
    ((3, 8, 9), (5, 8, 3), (2,), ((3, -1),), (2,), (2,), ("NCW", "OIW", "NWC"), 1, 1),
    ((2, 5, 4, 3, 7), (2, 3, 2, 7, 2), (2, 1, 1), ((1, 0), (2, 1), (0, 0)), (1, 2, 1),
     (1, 1, 2), ("NHWDC", "HWDIO", "NCHWD"), 1, 1),
]


@pytest.mark.parametrize("images", [None, 2, 1 / 3, 0], ids=["whole", "images", "rows", "row"])
def test_conv_many_channels_in_blocks_matches_jax(images, monkeypatch):
    # The eager impl builds the im2col matrix a block at a time: one block for all
    # images, blocks of two images, runs of a third of one image's output rows, and
    # single output rows.
    from functrans.primitives import conv_cpu as conv_mod
    for i, case in enumerate(MANY_CHANNEL_CASES):
        x, w = conv_args(case, F32, seed=3 * i)
        want = conv_fn(case, jax.lax)(x, w)
        rows_per_image = want.size // want.shape[0] // w.shape[case[6][1].index("O")]
        per_image = rows_per_image * w.size // w.shape[case[6][1].index("O")] * 4
        block = 1 << 30 if images is None else max(1, int(images * per_image))
        monkeypatch.setattr(conv_mod, "_IM2COL_BLOCK_BYTES", block)
        close(conv_fn(case)(x, w), want, F32)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_conv_eager_xla_path_matches_jax(dtype, request, monkeypatch):
    # Large eager float convolutions run as a compiled XLA:CPU program; force that path
    # for every case (groups, dilations, dimension numbers, ranks 1-3) and both gradients.
    if dtype == F64:
        request.getfixturevalue("x64")
    from functrans.primitives import conv_cpu as conv_mod
    monkeypatch.setattr(conv_mod, "XLA_MIN_FLOPS", 0)
    monkeypatch.setattr(conv_mod, "XLA_MIN_FLOPS_GROUPED", 0)
    monkeypatch.setattr(conv_mod, "XLA_MAX_RESULT_BYTES", float("inf"))
    monkeypatch.setattr(conv_mod, "_xla_convs", {})
    args = [conv_args(case, dtype) for case in CONV_CASES]
    want = jax.jit(lambda args: [conv_fn(c, jax.lax)(*a) for c, a in zip(CONV_CASES, args)])(args)
    for case, a, w in zip(CONV_CASES, args, want):
        close(conv_fn(case)(*a), w, dtype)
    assert len(conv_mod._xla_convs) == len(CONV_CASES)
    assert all(f is not None for f in conv_mod._xla_convs.values())
    case = CONV_CASES[4]             # batch groups: its kernel gradient is batch-grouped too
    x, w = conv_args(case, dtype)
    got = ft.grad(lambda x, w: (conv_fn(case)(x, w) ** 2).sum(), (0, 1))(x, w)
    ref = jax.grad(lambda x, w: (conv_fn(case, jax.lax)(x, w) ** 2).sum(), (0, 1))(x, w)
    for g, r in zip(got, ref):
        close(g, r, dtype)
    # integers stay on the host path
    n = len(conv_mod._xla_convs)
    xi, wi = conv_args(CONV_CASES[0], np.int32)
    close(conv_fn(CONV_CASES[0])(xi, wi), conv_fn(CONV_CASES[0], jax.lax)(xi, wi), np.int32)
    assert len(conv_mod._xla_convs) == n


def test_conv_eager_path_choice(monkeypatch):
    # by default only large convolutions with small results, or grouped ones, take XLA
    from functrans.primitives import conv_cpu as conv_mod
    monkeypatch.setattr(conv_mod, "_xla_convs", {})
    x, w = rand((8, 14, 14, 32), F32), rand((3, 3, 32, 64), F32, 1)
    y = conv_fn(CONV_CASES[0])(x, w)                        # 58 MFLOP, a 0.4 MB result
    dn = ("NHWC", "HWIO", "NHWC")
    assert len(conv_mod._xla_convs) == 1
    big = rand((64, 14, 14, 32), F32)                          # a 3.2 MB result: host
    close(lax.conv_general_dilated(big, w, (1, 1), "SAME", dimension_numbers=dn),
          jax.lax.conv_general_dilated(big, w, (1, 1), "SAME", dimension_numbers=dn,
                                       precision="highest"))
    assert len(conv_mod._xla_convs) == 1
    close(y, jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn,
                                          precision="highest"))


def test_conv_wrappers_match_jax():
    x, w = rand((2, 3, 7, 7), F32), rand((4, 3, 3, 3), F32, 1)
    close(lax.conv(x, w, (2, 1), "SAME"), jax.lax.conv(x, w, (2, 1), "SAME", "highest"))
    args = ((1, 2), ((1, 0), (2, 1)), (2, 1), (1, 2))
    close(lax.conv_with_general_padding(x, w, *args),
          jax.lax.conv_with_general_padding(x, w, *args, precision="highest"))
    xt, wt = rand((2, 5, 5, 3), F32), rand((3, 3, 3, 4), F32, 1)
    for pad in ("SAME", "VALID", ((1, 2), (0, 1))):
        for tk in (False, True):
            wk = wt if not tk else rand((3, 3, 4, 3), F32, 2)
            close(lax.conv_transpose(xt, wk, (2, 2), pad, transpose_kernel=tk),
                  jax.lax.conv_transpose(xt, wk, (2, 2), pad, transpose_kernel=tk,
                                         precision="highest"))
    dn = lax.conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
    assert tuple(dn) == tuple(jax.lax.conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8),
                                                             ("NHWC", "HWIO", "NHWC")))


def test_conv_errors():
    x, w = np.ones((1, 5, 5, 3), F32), np.ones((3, 3, 2, 4), F32)
    dn = ("NHWC", "HWIO", "NHWC")
    with pytest.raises(TypeError, match=r"conv_general_dilated: the lhs feature dimension \(3\)"):
        lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn)
    with pytest.raises(TypeError, match="same rank"):
        lax.conv_general_dilated(x, np.ones((3, 3, 3), F32), (1, 1), "SAME")
    with pytest.raises(ValueError, match="window_strides"):
        lax.conv_general_dilated(x, np.ones((3, 3, 3, 4), F32), (1,), "SAME",
                                 dimension_numbers=dn)
    with pytest.raises(TypeError, match="same dtype"):
        lax.conv_general_dilated(x, np.ones((3, 3, 3, 4), np.int32), (1, 1), "SAME",
                                 dimension_numbers=dn)
    with pytest.raises(TypeError, match="exactly one 'N'"):
        lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWW", "HWIO", "NHWC"))
    with pytest.raises(ValueError, match="padding"):
        lax.conv_general_dilated(x, np.ones((3, 3, 3, 4), F32), (1, 1), "FULL",
                                 dimension_numbers=dn)


# --- conv: derivatives -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_grads(case, x64):
    x, w = conv_args(case, F64)
    f = conv_fn(case)
    check_grads(f, (x, w), order=1)
    # against jax's gradients (its transpose rules are the reference derivation)
    g = ft.grad(lambda x, w: (f(x, w) ** 2).sum(), (0, 1))(x, w)
    jf = conv_fn(case, jax.lax)
    jg = jax.jit(jax.grad(lambda x, w: (jf(x, w) ** 2).sum(), (0, 1)))(x, w)
    close(g[0], jg[0])
    close(g[1], jg[1])


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[3]], ids=["dilated", "depthwise"])
def test_conv_grads_order2(case, x64):
    check_grads(conv_fn(case), conv_args(case, F64), order=2)


def test_conv_grads_float32():
    case = CONV_CASES[0]
    check_grads(conv_fn(case), conv_args(case, F32), order=1, atol=5e-2, rtol=5e-2)


# --- conv: vmap ---------------------------------------------------------------------------------------


def _loop(f, args, in_axes):
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    return np.stack([np.asarray(f(*[a if ax is None else np.take(a, i, ax)
                                   for a, ax in zip(args, in_axes)])) for i in range(size)])


def _batched(x, axis, size=3, seed=5):
    return np.stack([rand(x.shape, x.dtype, seed + i) for i in range(size)], axis)


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv_vmap(case, x64):
    x, w = conv_args(case, F64)
    f = conv_fn(case)
    nd = x.ndim
    for in_axes in [(0, None), (None, 0), (0, 0), (nd, 1), (2, None), (None, nd), (1, nd)]:
        args = [a if ax is None else _batched(a, ax) for a, ax in zip((x, w), in_axes)]
        close(ft.vmap(f, in_axes=in_axes)(*args), _loop(f, args, in_axes))


def test_conv_nested_vmap_and_grad_compositions(x64):
    case = CONV_CASES[3]  # grouped (depthwise) 1-d
    x, w = conv_args(case, F64)
    f = conv_fn(case)
    xs, ws = _batched(_batched(x, 0, 2), 1, 3), _batched(w, 0, 2)
    got = ft.vmap(ft.vmap(f, in_axes=(1, None)), in_axes=(0, 0))(xs, ws)
    want = np.stack([_loop(f, (xs[i], ws[i]), (1, None)) for i in range(2)])
    close(got, want)

    def loss(x, w):
        return (f(x, w) ** 2).sum()
    xb = _batched(x, 0)
    # vmap of grad: per-example gradients, against a loop
    close(ft.vmap(ft.grad(loss, 1), in_axes=(0, None))(xb, w),
          _loop(ft.grad(loss, 1), (xb, w), (0, None)))
    # grad of vmap: the summed loss over the batch
    got = ft.grad(lambda x, w: ft.vmap(loss, in_axes=(0, None))(x, w).sum(), (0, 1))(xb, w)
    close(got[0], _loop(ft.grad(loss, 0), (xb, w), (0, None)))
    close(got[1], _loop(ft.grad(loss, 1), (xb, w), (0, None)).sum(0))


# --- conv: jit -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64, np.int32, np.float16])
def test_conv_jit_matches_eager(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    if dtype == np.int32 and ft.devices()[0].platform != "cpu":
        pytest.skip("XLA:GPU has no integer convolution (UNIMPLEMENTED, as for jax)")
    cases = CONV_CASES if dtype in (F32, F64) else CONV_CASES[:3]
    args = [conv_args(c, dtype, i) for i, c in enumerate(cases)]
    fns = [conv_fn(c) for c in cases]

    def all_convs(*flat):
        return [fn(flat[2 * i], flat[2 * i + 1]) for i, fn in enumerate(fns)]
    flat = [a for pair in args for a in pair]
    got = jit(all_convs)(*flat)
    for g, w in zip(got, all_convs(*flat)):
        close(g, w, np.asarray(w).dtype)


def test_conv_jit_of_grad_and_vmap(x64):
    cases = CONV_CASES[2:5]
    args = [conv_args(c, F64, i) for i, c in enumerate(cases)]

    def everything(*flat):
        outs = []
        for i, c in enumerate(cases):
            f = conv_fn(c)
            x, w = flat[2 * i], flat[2 * i + 1]
            outs += list(ft.grad(lambda x, w, f=f: (f(x, w) ** 2).sum(), (0, 1))(x, w))
            outs.append(ft.vmap(f, in_axes=(None, 0))(x, ft.numpy.stack([w, 2 * w])))
        return outs
    flat = [a for pair in args for a in pair]
    for g, w in zip(jit(everything)(*flat), everything(*flat)):
        close(g, w)


def test_conv_lowering_is_one_convolution_off_the_cpu():
    from functrans.interpreters.lowering import lower_ir
    case = CONV_CASES[0]
    ir = ft.make_ir(conv_fn(case))(*conv_args(case, F32))
    for platform in (None, "gpu", "cuda", "rocm"):
        assert lower_ir(ir, platform=platform).text.count('"stablehlo.convolution"') == 1
    # on the CPU this first-layer-like conv (9 taps x 3 features) is a patch matrix and a dot
    text = lower_ir(ir, platform="cpu").text
    assert '"stablehlo.convolution"' not in text and '"stablehlo.dot_general"' in text


# --- conv: the CPU lowering forms (conv_cpu.py) -----------------------------------------------------

DN2 = ("NHWC", "HWIO", "NHWC")
# beyond CONV_CASES: what the automatic choice sends to each form (a first layer, a
# depthwise conv, groups too big for taps, batch groups), with strides and dilations
FORM_CASES = CONV_CASES + [
    ((3, 7, 6, 1), (3, 2, 1, 4), (2, 1), ((1, 1), (0, 1)), None, (1, 2), DN2, 1, 1),
    ((2, 6, 5, 4), (3, 3, 1, 8), (2, 1), ((1, 2), (0, 1)), None, (1, 2), DN2, 4, 1),
    ((2, 5, 4, 32), (3, 3, 16, 6), (1, 2), ((1, 1), (2, 0)), (2, 1), None, DN2, 2, 1),
    ((4, 5, 5, 3), (3, 2, 3, 6), (2, 1), ((0, 1), (1, -1)), None, (1, 2), DN2, 1, 2),
]


def _forms_everything(cases):
    """Every case's conv and both of its gradients, as one function of all operands."""
    def f(*flat):
        outs = []
        for i, c in enumerate(cases):
            fn = conv_fn(c)
            x, w = flat[2 * i], flat[2 * i + 1]
            outs.append(fn(x, w))
            outs += list(ft.grad(lambda x, w, fn=fn: (fn(x, w) ** 2).sum(), (0, 1))(x, w))
        return outs
    return f


@pytest.mark.parametrize("path", ["native", "taps", "patches", "positions", "split"])
def test_conv_cpu_lowering_forms_match_eager(path, monkeypatch, x64):
    # each form (forced; a form that does not fit a conv falls back to native) on every
    # case: strides, paddings (negative too), lhs/rhs dilations, feature and batch groups,
    # dimension numbers, ranks 1-3, and the convs of both gradients
    from functrans.primitives import conv_cpu as conv_lower
    if ft.devices()[0].platform != "cpu":
        pytest.skip("the forms are the CPU lowering")
    monkeypatch.setattr(conv_lower, "FORCE_PATH", path)
    args = [a for i, c in enumerate(FORM_CASES) for a in conv_args(c, F64, i)]
    f = _forms_everything(FORM_CASES)
    jf = jit(f)
    text = jf.lower(*args).as_text()
    n_native = text.count('"stablehlo.convolution"')
    assert (n_native == 4 * len(FORM_CASES)) == (path == "native"), n_native  # 2 fwd + 2 grads
    for g, w in zip(jf(*args), f(*args)):
        close(g, w)
    # other dtypes: integers (exact), float16 (computed in float32), complex
    for dtype in (np.int32, np.float16, np.complex64):
        cases = FORM_CASES[:3] + FORM_CASES[-2:]
        xs = [conv_args(c, dtype, i) for i, c in enumerate(cases)]
        if dtype == np.complex64:
            xs = [(x + 1j * x[::-1], w - 1j * w) for x, w in xs]
        fns = [conv_fn(c) for c in cases]

        def convs(*flat, fns=fns):
            return [fn(flat[2 * i], flat[2 * i + 1]) for i, fn in enumerate(fns)]
        flat = [a for pair in xs for a in pair]
        for g, w in zip(jit(convs)(*flat), convs(*flat)):
            close(g, w, np.asarray(w).dtype)


def test_conv_cpu_form_choice(monkeypatch):
    from functrans.core import ShapedArray
    from functrans.primitives import conv_cpu as cl

    def form(lhs, rhs, g=1, b=1, platform="cpu", strides=None):
        la, ra = ShapedArray(lhs, np.float32), ShapedArray(rhs, np.float32)
        nsp = len(lhs) - 2
        dn = lax.conv_dimension_numbers(lhs, rhs, DN2 if nsp == 2 else ("NWC", "WIO", "NWC"))
        geom = cl._Geometry(la, ra, strides or (1,) * nsp, ((1, 1),) * nsp, (1,) * nsp,
                            (1,) * nsp, dn, g, b)
        return cl.choose_path(platform, geom)
    assert form((64, 28, 28, 1), (3, 3, 1, 32)) == "patches"        # a first layer
    assert form((64, 28, 28, 4), (3, 3, 4, 32)) == "patches"
    assert form((64, 28, 28, 8), (3, 3, 8, 32)) == "native"
    assert form((64, 14, 14, 32), (3, 3, 32, 64)) == "native"
    assert form((64, 28, 28, 1), (3, 3, 1, 32), platform="gpu") == "native"
    assert form((64, 28, 28, 1), (3, 3, 1, 32), platform=None) == "native"
    assert form((32, 28, 28, 32), (3, 3, 1, 32), g=32) == "taps"    # depthwise
    assert form((32, 28, 28, 32), (3, 3, 16, 32), g=2) == "split"
    assert form((32, 16, 16, 8), (14, 14, 8, 8), b=4) == "split"    # a kernel gradient
    assert form((300, 16, 16, 8), (14, 14, 8, 600), b=300) == "positions"
    assert form((300, 16, 16, 8), (14, 14, 8, 300), b=300) == "native"
    assert form((2, 5, 3), (0, 3, 4)) == "native"                   # empty window
    monkeypatch.setattr(cl, "FORCE_PATH", "taps")
    assert form((4, 16, 16, 8), (14, 14, 8, 8), b=2) == "native"    # taps has no batch groups
    assert form((4, 16, 16, 8), (14, 14, 8, 8)) == "native"         # 1568 terms: too many


# --- reduce_window -----------------------------------------------------------------------------------

# shape, window, strides, padding, base_dilation, window_dilation
RW_CASES = [
    ((2, 6, 6, 3), (1, 2, 2, 1), (1, 2, 2, 1), "VALID", None, None),
    ((2, 7, 7, 3), (1, 3, 3, 1), (1, 2, 2, 1), "SAME", None, None),
    ((5, 8), (2, 3), (1, 2), ((1, 1), (0, -1)), (2, 1), (1, 2)),
    ((9,), (3,), (2,), "SAME", None, (2,)),
    ((4, 5, 6), (2, 2, 3), (1, 1, 2), ((0, 0), (1, 1), (2, 0)), (1, 2, 1), None),
    ((3, 4), (3, 4), None, "VALID", None, None),
]
RW_IDS = [f"rw{i}" for i in range(len(RW_CASES))]


def _init(comp, dtype):
    dtype = np.dtype(dtype)
    if comp in (lax.add, jax.lax.add):
        return np.asarray(0, dtype)
    if comp in (lax.mul, jax.lax.mul):
        return np.asarray(1, dtype)
    big = (np.inf if dtype.kind == "f" else True if dtype == np.bool_ else np.iinfo(dtype).max)
    return np.asarray(-big if comp in (lax.max, jax.lax.max) and dtype != np.bool_ else
                      (False if comp in (lax.max, jax.lax.max) else big), dtype)


COMPS = [(lax.add, jax.lax.add), (lax.max, jax.lax.max), (lax.min, jax.lax.min),
         (lax.mul, jax.lax.mul)]


def rw_fn(case, comp, init=None, lib=lax):
    _, wd, ws, pad, bd, wdl = case
    return lambda x: lib.reduce_window(x, _init(comp, x.dtype) if init is None else init,
                                       comp, wd, ws, pad, bd, wdl)


@pytest.mark.parametrize("dtype", [F32, F64, np.int32, np.bool_])
def test_reduce_window_matches_jax(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    comps = COMPS[1:3] if dtype == np.bool_ else COMPS
    xs = [rand(case[0], dtype) for case in RW_CASES]
    if dtype == F32:
        for x in xs:
            x[(0,) * x.ndim] = np.nan  # NaN propagates through max/min/add/mul
    want = jax.jit(lambda xs: [rw_fn(c, jcomp, lib=jax.lax)(x) for c, x in zip(RW_CASES, xs)
                               for _, jcomp in comps])(xs)
    got = [rw_fn(c, comp)(x) for c, x in zip(RW_CASES, xs) for comp, _ in comps]
    for g, w in zip(got, want):
        close(g, w, dtype)


def test_reduce_window_other_init_values_match_jax():
    x = rand((2, 7, 7, 3), F32)
    case = RW_CASES[1]
    for (comp, jcomp), init in zip(COMPS, (1.5, 0.25, -0.5, 2.0)):
        close(rw_fn(case, comp, np.float32(init))(x),
              rw_fn(case, jcomp, np.float32(init), lib=jax.lax)(x))
    # a traced init value
    got = jit(lambda x, i: lax.reduce_window(x, i, lax.max, (1, 3, 3, 1), (1, 1, 1, 1),
                                             "SAME"))(x, np.float32(0.5))
    close(got, jax.lax.reduce_window(x, np.float32(0.5), jax.lax.max, (1, 3, 3, 1), (1, 1, 1, 1),
                                     "SAME"))


def test_reduce_window_errors():
    x = np.ones((4, 4), F32)
    with pytest.raises(TypeError, match="computation must be lax.add"):
        lax.reduce_window(x, 0.0, lambda a, b: a + b, (2, 2), (1, 1), "VALID")
    with pytest.raises(ValueError, match="window_dimensions"):
        lax.reduce_window(x, 0.0, lax.add, (2,), (1, 1), "VALID")
    with pytest.raises(TypeError, match="dtype"):
        lax.reduce_window(x, np.int32(0), lax.add, (2, 2), (1, 1), "VALID")


@pytest.mark.parametrize("case", RW_CASES, ids=RW_IDS)
def test_reduce_window_grads(case, x64):
    x = rand(case[0], F64)
    for comp, jcomp in COMPS:
        f = rw_fn(case, comp)
        second = comp in (lax.add, lax.mul) and case in (RW_CASES[0], RW_CASES[2])
        check_grads(f, (x,), order=2 if second else 1)
        if comp is lax.mul or (case[5] and max(case[5]) > 1 and comp is not lax.add):
            continue  # jax has no reverse mode for these
        g = ft.grad(lambda x, f=f: (f(x) ** 2).sum())(x)
        jf = rw_fn(case, jcomp, lib=jax.lax)
        close(g, jax.jit(jax.grad(lambda x, jf=jf: (jf(x) ** 2).sum()))(x))


def test_max_pool_grad_ties_go_to_first_position(x64):
    x = np.array([[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 0.0]])
    g = ft.grad(lambda x: lax.reduce_window(x, -np.inf, lax.max, (2, 2), (2, 2), "VALID").sum())(x)
    np.testing.assert_array_equal(g, [[0, 1, 1, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("case", RW_CASES, ids=RW_IDS)
def test_reduce_window_vmap(case, x64):
    x = rand(case[0], F64)
    for comp, _ in COMPS:
        f = rw_fn(case, comp)
        for ax in sorted({0, x.ndim // 2, x.ndim}):
            xb = _batched(x, ax)
            close(ft.vmap(f, in_axes=ax)(xb), _loop(f, (xb,), (ax,)))
    f = rw_fn(case, lax.max)
    xs = _batched(_batched(x, 0, 2), x.ndim + 1, 3)
    close(ft.vmap(ft.vmap(f, in_axes=0), in_axes=x.ndim + 1)(xs),
          np.stack([_loop(f, (xs[..., i],), (0,)) for i in range(3)]))
    # vmap of grad and grad of vmap
    loss = ft.grad(lambda x: (f(x) ** 2).sum())
    xb = _batched(x, 0)
    close(ft.vmap(loss)(xb), _loop(loss, (xb,), (0,)))
    close(ft.grad(lambda x: ft.vmap(lambda e: (f(e) ** 2).sum())(x).sum())(xb),
          _loop(loss, (xb,), (0,)))


@pytest.mark.parametrize("dtype", [F32, F64, np.int32, np.float16])
def test_reduce_window_jit_matches_eager(dtype, request):
    if dtype == F64:
        request.getfixturevalue("x64")
    xs = [rand(c[0], dtype, i) for i, c in enumerate(RW_CASES)]
    if dtype == F32:
        xs[1][0, 0, 0, 0] = np.nan

    def everything(*xs):
        return [rw_fn(c, comp)(x) for c, x in zip(RW_CASES, xs) for comp, _ in COMPS]
    for g, w in zip(jit(everything)(*xs), everything(*xs)):
        close(g, w, np.asarray(w).dtype)


def test_reduce_window_jit_of_grads(x64):
    cases = RW_CASES[1:4]
    xs = [rand(c[0], F64, i) for i, c in enumerate(cases)]

    def grads(*xs):
        outs = [ft.grad(lambda x, c=c, comp=comp: (rw_fn(c, comp)(x) ** 2).sum())(x)
                for c, x in zip(cases, xs) for comp in (lax.add, lax.max)]
        return outs + [ft.grad(lambda x: (rw_fn(cases[2], lax.mul)(x) ** 2).sum())(xs[2])]
    for g, w in zip(jit(grads)(*xs), grads(*xs)):
        close(g, w)


# --- a small CNN: conv, relu, max pool, avg pool, under grad, vmap and jit ---------------------------


def test_small_cnn_grad_matches_jax_and_jit(x64):
    dn = ("NHWC", "HWIO", "NHWC")

    def net(lib, np_):
        def f(params, x):
            w1, w2 = params
            h = lib.conv_general_dilated(x, w1, (1, 1), "SAME", dimension_numbers=dn)
            h = np_.maximum(h, 0.0)
            h = lib.reduce_window(h, -np.inf, lib.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            h = lib.conv_general_dilated(h, w2, (1, 1), "VALID", dimension_numbers=dn,
                                         feature_group_count=2)
            h = lib.reduce_window(h, 0.0, lib.add, (1, 2, 2, 1), (1, 1, 1, 1), "SAME") / 4.0
            return (h ** 2).mean()
        return f
    x = rand((2, 8, 8, 2), F64)
    params = (rand((3, 3, 2, 4), F64, 1), rand((2, 2, 2, 6), F64, 2))
    f = net(lax, ft.numpy)
    g = ft.grad(f)(params, x)
    jg = jax.jit(jax.grad(net(jax.lax, jax.numpy)))(params, x)
    for a, b in zip(g, jg):
        close(a, b)
    for a, b in zip(jit(ft.grad(f))(params, x), g):
        close(a, b)
    per_ex = ft.vmap(ft.grad(f), in_axes=(None, 0))(params, x[:, None])
    for i in range(2):
        close(per_ex[0][i], ft.grad(f)(params, x[i:i + 1])[0])


def test_every_rule_is_defined():
    prims = ft.core.all_primitives()
    for name in ("conv_general_dilated", "reduce_window_sum", "reduce_window_max",
                 "reduce_window_min", "reduce_window_prod"):
        p = prims[name]
        for rule in ("impl", "abstract_eval", "jvp", "batch", "lower"):
            assert getattr(p, rule) is not None, (name, rule)
        linear = name in ("conv_general_dilated", "reduce_window_sum")
        assert (p.transpose is not None) == linear, name
