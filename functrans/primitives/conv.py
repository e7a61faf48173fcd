"""Convolution: the ``conv_general_dilated`` primitive, with JAX's lax wrappers
``conv_general_dilated``, ``conv``, ``conv_with_general_padding``,
``conv_transpose`` and ``conv_dimension_numbers``.

Params (static, hashable; the wrappers normalize them):

* ``window_strides``, ``lhs_dilation``, ``rhs_dilation``: one int >= 1 per
  spatial dimension; ``padding``: one ``(low, high)`` pair per spatial
  dimension (negative values crop).
* ``dimension_numbers``: a :class:`ConvDimensionNumbers` ``(lhs_spec, rhs_spec,
  out_spec)`` of dimension indices: ``lhs_spec = (batch, feature, *spatial)``,
  ``rhs_spec = (out feature, in feature, *spatial)``, ``out_spec = (batch,
  feature, *spatial)``, as in JAX and XLA.
* ``feature_group_count`` G: lhs features split into G groups, each convolved
  with its own block of G's share of the output features (grouped and
  depthwise convolutions). ``batch_group_count`` B: lhs batch split into B
  groups (group-major), each producing its share of the output features; the
  output batch is the lhs batch / B (it is how a grouped convolution's kernel
  gradient is written). At most one of G, B exceeds 1.
* ``preferred_element_type``: the output dtype, or None for the inputs'.

Semantics, as XLA's ConvGeneralDilated: the lhs is dilated (``lhs_dilation - 1``
zeros between elements), padded, and a kernel dilated by ``rhs_dilation`` slides
over it with ``window_strides``; each output is a sum over the window and the
group's input features (a cross-correlation: the kernel is not flipped).

The impl works channels-last (im2col and BLAS), or runs large float
convolutions as a cached XLA:CPU program; float16/bfloat16 compute in float32
and integers in their own dtype, as ``dot_general`` does. Its kernels are in
``conv_cpu.py``.

Autodiff: the op is bilinear; its transposes are the standard convolutions of
the cotangent (JAX's ``_conv_general_dilated_transpose_lhs``/``_rhs``): w.r.t.
the lhs, a convolution of the cotangent with the flipped kernel and
``lhs_dilation = window_strides``; w.r.t. the rhs, a convolution of the lhs
with the cotangent as the kernel (feature groups become batch groups). vmap
folds the mapped axis into the lhs batch (a mapped lhs) or into the output
features (a mapped rhs), with feature groups when both are mapped (JAX's rule).
jit emits one ``stablehlo.convolution``, or on the CPU an equivalent program of
slices and ``dot_general`` where that is faster (the forms are in
``conv_cpu.py``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.jvp import defjvp, zeros_like_aval
from ..interpreters.reverse import is_undefined
from . import conv_cpu
from ._rules import COMPLEX, FLOAT, INT, UINT, check_dtype, check_same_dtypes
from ._windows import _dilate_shape, _out_spatial, _sdims, _take, padtype_to_pads
from .conv_cpu import _compute_dtype
from .elementwise import convert_element_type
from .shape import reshape, rev, transpose

__all__ = [
    "ConvDimensionNumbers",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv_transpose",
    "conv_with_general_padding",
    "padtype_to_pads",
]


class ConvDimensionNumbers(NamedTuple):
    """Where the batch, feature and spatial dimensions of each operand are.

    ``lhs_spec = (batch, feature, *spatial)``, ``rhs_spec = (out feature, in
    feature, *spatial)``, ``out_spec = (batch, feature, *spatial)``.
    """
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


# --- shapes and parameters ----------------------------------------------------------------------


def _conv_general_permutations(dimension_numbers):
    """Index specs from layout strings such as ("NHWC", "HWIO", "NHWC") (JAX's rule:
    spatial dimensions are ordered as they appear in the rhs string)."""
    lhs_s, rhs_s, out_s = dimension_numbers
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for spec, (a, b) in zip(dimension_numbers, pairs):
        if not isinstance(spec, str) or spec.count(a) != 1 or spec.count(b) != 1 \
                or len(set(spec)) != len(spec):
            raise TypeError(f"conv_general_dilated: dimension_numbers {dimension_numbers!r}: "
                            f"{spec!r} must be a string with exactly one {a!r}, one {b!r} and "
                            "distinct letters")
    if not set(lhs_s) - {"N", "C"} == set(rhs_s) - {"O", "I"} == set(out_s) - {"N", "C"}:
        raise TypeError(f"conv_general_dilated: dimension_numbers {dimension_numbers!r} must "
                        "name the same spatial dimensions in lhs, rhs and out")

    def perm(spec, pair):
        spatial = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs_s:
            spatial = sorted(spatial, key=lambda i: rhs_s.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)

    return tuple(perm(s, p) for s, p in zip(dimension_numbers, pairs))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """Normalizes ``dimension_numbers`` to a :class:`ConvDimensionNumbers` of indices.

    Args:
      lhs_shape, rhs_shape: the operands' shapes (equal ranks, at least 2).
      dimension_numbers: None (NCHW, OIHW, NCHW: dimension order), a
        ConvDimensionNumbers (or 3-tuple of index tuples), or a 3-tuple of
        layout strings such as ``("NHWC", "HWIO", "NHWC")``.

    Example:
        >>> from functrans import lax
        >>> lax.conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
        ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    nd = len(lhs_shape)
    if nd != len(rhs_shape):
        raise TypeError(f"conv_general_dilated: lhs and rhs must have the same rank, got shapes "
                        f"{tuple(lhs_shape)} and {tuple(rhs_shape)}")
    if nd < 2:
        raise TypeError(f"conv_general_dilated: operands need rank >= 2 (batch and feature "
                        f"dimensions), got shapes {tuple(lhs_shape)} and {tuple(rhs_shape)}")
    if dimension_numbers is None:
        iota = tuple(range(nd))
        return ConvDimensionNumbers(iota, iota, iota)
    try:
        specs = tuple(dimension_numbers)
        ok = len(specs) == 3
    except TypeError:
        ok = False
    if not ok:
        raise TypeError("conv_general_dilated: dimension_numbers must be None, a "
                        "ConvDimensionNumbers or a tuple of 3 layout strings, got "
                        f"{dimension_numbers!r}")
    if all(isinstance(s, str) for s in specs):
        if any(len(s) != nd for s in specs):
            raise TypeError(f"conv_general_dilated: dimension_numbers {specs!r} must have one "
                            f"letter per dimension of the rank-{nd} operands")
        specs = _conv_general_permutations(specs)
    else:
        specs = tuple(tuple(int(d) for d in s) for s in specs)
        for name, s in zip(("lhs_spec", "rhs_spec", "out_spec"), specs):
            if sorted(s) != list(range(nd)):
                raise TypeError(f"conv_general_dilated: {name} {s} must be a permutation of "
                                f"range({nd})")
    return ConvDimensionNumbers(*specs)


# --- the primitive --------------------------------------------------------------------------------

conv_general_dilated_p = Primitive("conv_general_dilated")

_CONV_DTYPES = (INT, UINT, FLOAT, COMPLEX)


def _check_params(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dn,
                  feature_group_count, batch_group_count):
    op = "conv_general_dilated"
    shapes = f"lhs {lhs.str_short()} and rhs {rhs.str_short()}"
    nsp = lhs.ndim - 2
    for name, vals in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                       ("rhs_dilation", rhs_dilation), ("padding", padding)):
        if len(vals) != nsp:
            raise ValueError(f"{op}: {name} {tuple(vals)} needs {nsp} entries (one per spatial "
                             f"dimension) for {shapes}")
    for name, vals in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                       ("rhs_dilation", rhs_dilation)):
        if any(v < 1 for v in vals):
            raise ValueError(f"{op}: {name} must be positive, got {tuple(vals)}")
    g, b = feature_group_count, batch_group_count
    if g < 1 or b < 1:
        raise ValueError(f"{op}: feature_group_count and batch_group_count must be >= 1, got "
                         f"{g} and {b}")
    if g > 1 and b > 1:
        raise ValueError(f"{op}: at most one of feature_group_count ({g}) and "
                         f"batch_group_count ({b}) may exceed 1")
    n, c = lhs.shape[dn.lhs_spec[0]], lhs.shape[dn.lhs_spec[1]]
    o, i = rhs.shape[dn.rhs_spec[0]], rhs.shape[dn.rhs_spec[1]]
    if c % g or c // g != i:
        raise TypeError(f"{op}: the lhs feature dimension ({c}) must equal the rhs input feature "
                        f"dimension ({i}) times feature_group_count ({g}), for {shapes} "
                        f"(dimension_numbers={tuple(dn)})")
    if o % g:
        raise TypeError(f"{op}: the rhs output feature dimension ({o}) must be a multiple of "
                        f"feature_group_count ({g}), for {shapes}")
    if n % b or o % b:
        raise TypeError(f"{op}: the lhs batch ({n}) and the rhs output feature dimension ({o}) "
                        f"must be multiples of batch_group_count ({b}), for {shapes}")


@conv_general_dilated_p.def_abstract_eval
def _conv_abstract_eval(lhs: ShapedArray, rhs: ShapedArray, *, window_strides, padding,
                        lhs_dilation, rhs_dilation, dimension_numbers, feature_group_count,
                        batch_group_count, preferred_element_type=None) -> ShapedArray:
    dn = dimension_numbers
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise TypeError(f"conv_general_dilated: lhs {lhs.str_short()} and rhs "
                        f"{rhs.str_short()} must have the same rank, at least 2")
    check_dtype("conv_general_dilated", lhs, _CONV_DTYPES, "lhs")
    check_same_dtypes("conv_general_dilated", (lhs, rhs))
    _check_params(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dn,
                  feature_group_count, batch_group_count)
    sp = _out_spatial(_take(lhs.shape, _sdims(dn.lhs_spec)), _take(rhs.shape, _sdims(dn.rhs_spec)),
                      window_strides, padding, lhs_dilation, rhs_dilation)
    shape = [0] * lhs.ndim
    shape[dn.out_spec[0]] = lhs.shape[dn.lhs_spec[0]] // batch_group_count
    shape[dn.out_spec[1]] = rhs.shape[dn.rhs_spec[0]]
    for d, size in zip(_sdims(dn.out_spec), sp):
        shape[d] = size
    if preferred_element_type is None:
        return ShapedArray(shape, lhs.dtype, lhs.weak_type and rhs.weak_type)
    return ShapedArray(shape, preferred_element_type, False)


@conv_general_dilated_p.def_impl
def _conv_impl(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
               dimension_numbers, feature_group_count, batch_group_count,
               preferred_element_type=None):
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    params = dict(window_strides=window_strides, padding=padding, lhs_dilation=lhs_dilation,
                  rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                  feature_group_count=feature_group_count,
                  batch_group_count=batch_group_count,
                  preferred_element_type=preferred_element_type)
    res = conv_cpu._xla_conv(conv_general_dilated_p, lhs, rhs, params)
    if res is not None:
        return res
    return conv_cpu._conv_host(lhs, rhs, **params)


# --- autodiff rules ---------------------------------------------------------------------------------
#
# Bilinear: each operand's tangent gives one convolution. The transposes are
# JAX's: the lhs cotangent is a convolution of ct with the spatially flipped
# kernel whose in/out features are swapped, with lhs_dilation = the strides
# (the strided positions the forward read) and padding that makes the shapes
# meet; the rhs cotangent a convolution of the lhs with ct as the kernel, with
# the roles of batch and feature swapped in the dimension numbers.


def _conv_jvp_lhs(t, ans, lhs, rhs, **params):
    return bind(conv_general_dilated_p, t, rhs, **params)


def _conv_jvp_rhs(t, ans, lhs, rhs, **params):
    return bind(conv_general_dilated_p, lhs, t, **params)


def _spec_transpose(spec) -> tuple:
    return (spec[1], spec[0]) + tuple(spec[2:])


def _reshape_axis_out_of(src: int, size1: int, x):
    """Splits axis ``src`` into ``(size1, rest)`` (major, minor)."""
    shape = list(get_aval(x).shape)
    shape[src:src + 1] = [size1, shape[src] // size1]
    return reshape(x, tuple(shape))


def _reshape_axis_into(src: int, dst: int, x):
    """Merges axis ``src`` into axis ``dst`` (of the array without ``src``), as its major part."""
    aval = get_aval(x)
    perm = [i for i in range(aval.ndim) if i != src]
    perm.insert(dst, src)
    new_shape = [d for i, d in enumerate(aval.shape) if i != src]
    new_shape[dst] *= aval.shape[src]
    return reshape(transpose(x, tuple(perm)), tuple(new_shape))


def conv_general_vjp_lhs_padding(in_shape, window_dimensions, window_strides, out_shape, padding,
                                 lhs_dilation, rhs_dilation) -> tuple:
    """The padding of the lhs-transpose convolution (JAX's ``_conv_general_vjp_lhs_padding``)."""
    lhs_d = _dilate_shape(in_shape, lhs_dilation)
    rhs_d = _dilate_shape(window_dimensions, rhs_dilation)
    out_d = _dilate_shape(out_shape, window_strides)
    before = [k - lo - 1 for k, (lo, _) in zip(rhs_d, padding)]
    after = [ld + k - 1 - od - pb for ld, k, od, pb in zip(lhs_d, rhs_d, out_d, before)]
    return tuple(zip(before, after))


def _conv_general_vjp_rhs_padding(in_shape, window_dimensions, window_strides, out_shape, padding,
                                  lhs_dilation, rhs_dilation) -> tuple:
    lhs_d = _dilate_shape(in_shape, lhs_dilation)
    rhs_d = _dilate_shape(window_dimensions, rhs_dilation)
    out_d = _dilate_shape(out_shape, window_strides)
    pads = []
    for (lo, _), od, ld, k in zip(padding, out_d, lhs_d, rhs_d):
        pads.append((lo, od - ld + k - lo - 1))
    return tuple(pads)


def _transpose_lhs(ct, rhs, lhs_aval, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count):
    dn = dimension_numbers
    lhs_spec, rhs_spec, out_spec = dn
    g = feature_group_count
    rhs_shape = get_aval(rhs).shape
    if feature_group_count > 1:
        # the group axis moves from the kernel's output features to its input features
        rhs = _reshape_axis_out_of(rhs_spec[0], feature_group_count, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
    elif batch_group_count > 1:
        rhs = _reshape_axis_out_of(rhs_spec[0], batch_group_count, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
        g = batch_group_count
    trans_dn = ConvDimensionNumbers(out_spec, _spec_transpose(rhs_spec), lhs_spec)
    pads = conv_general_vjp_lhs_padding(
        _take(lhs_aval.shape, _sdims(lhs_spec)), _take(rhs_shape, _sdims(rhs_spec)),
        window_strides, _take(get_aval(ct).shape, _sdims(out_spec)), padding, lhs_dilation,
        rhs_dilation)
    out = bind(conv_general_dilated_p, ct, rev(rhs, tuple(_sdims(rhs_spec))),
               window_strides=tuple(lhs_dilation), padding=pads,
               lhs_dilation=tuple(window_strides), rhs_dilation=tuple(rhs_dilation),
               dimension_numbers=trans_dn, feature_group_count=g, batch_group_count=1,
               preferred_element_type=None)
    if batch_group_count > 1:
        out = _reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
        out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
    return out


def _transpose_rhs(ct, lhs, rhs_aval, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count):
    dn = dimension_numbers
    lhs_spec, rhs_spec, out_spec = dn
    g, b = feature_group_count, batch_group_count
    if b > 1:
        g, b = b, 1
    elif g > 1:
        g, b = 1, g
    trans_dn = ConvDimensionNumbers(_spec_transpose(lhs_spec), _spec_transpose(out_spec),
                                    _spec_transpose(rhs_spec))
    pads = _conv_general_vjp_rhs_padding(
        _take(get_aval(lhs).shape, _sdims(lhs_spec)), _take(rhs_aval.shape, _sdims(rhs_spec)),
        window_strides, _take(get_aval(ct).shape, _sdims(out_spec)), padding, lhs_dilation,
        rhs_dilation)
    return bind(conv_general_dilated_p, lhs, ct, window_strides=tuple(rhs_dilation),
                padding=pads, lhs_dilation=tuple(lhs_dilation),
                rhs_dilation=tuple(window_strides), dimension_numbers=trans_dn,
                feature_group_count=g, batch_group_count=b, preferred_element_type=None)


def _conv_transpose_rule(ct, lhs, rhs, *, preferred_element_type=None, **params):
    if is_undefined(lhs) and is_undefined(rhs):
        raise ValueError("conv_general_dilated: transpose with both operands linear (the "
                         "convolution is bilinear, not linear)")
    ct_dtype = get_aval(ct).dtype
    if is_undefined(lhs):
        x_aval, other = lhs.aval, rhs
    else:
        x_aval, other = rhs.aval, lhs
    if get_aval(other).dtype != ct_dtype:  # preferred_element_type: work in the output dtype
        other = convert_element_type(other, ct_dtype)
    if math.prod(get_aval(ct).shape) == 0 or math.prod(x_aval.shape) == 0:
        res = zeros_like_aval(x_aval)
    elif is_undefined(lhs):
        res = _transpose_lhs(ct, other, x_aval, **params)
    else:
        res = _transpose_rhs(ct, other, x_aval, **params)
    res = convert_element_type(res, x_aval.dtype)
    return [res, None] if is_undefined(lhs) else [None, res]


defjvp(conv_general_dilated_p, _conv_jvp_lhs, _conv_jvp_rhs)
conv_general_dilated_p.def_transpose(_conv_transpose_rule)


# --- batch rule (JAX's) -----------------------------------------------------------------------------


@conv_general_dilated_p.def_batch
def _conv_batch(args, bdims, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count,
                preferred_element_type=None):
    lhs, rhs = args
    lbd, rbd = bdims
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    g, b = feature_group_count, batch_group_count

    def conv(new_lhs, new_rhs, g, b):
        return bind(conv_general_dilated_p, new_lhs, new_rhs, window_strides=window_strides,
                    padding=padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                    dimension_numbers=dimension_numbers, feature_group_count=g,
                    batch_group_count=b, preferred_element_type=preferred_element_type)

    if lbd is not None and rbd is not None:
        size = get_aval(lhs).shape[lbd]
        # every example is its own group of features (or of batch, with batch groups)
        if b > 1:
            new_lhs = _reshape_axis_into(lbd, lhs_spec[0], lhs)
            b *= size
        else:
            new_lhs = _reshape_axis_into(lbd, lhs_spec[1], lhs)
            g *= size
        new_rhs = _reshape_axis_into(rbd, rhs_spec[0], rhs)
        out = conv(new_lhs, new_rhs, g, b)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    if lbd is not None:
        size = get_aval(lhs).shape[lbd]
        if b == 1:
            new_lhs = _reshape_axis_into(lbd, lhs_spec[0], lhs)
        else:
            # the examples go inside each batch group: (B, V * N/B)
            new_lhs = _reshape_axis_out_of(lhs_spec[0] + int(lbd <= lhs_spec[0]), b, lhs)
            new_lhs = _reshape_axis_into(lbd + int(lhs_spec[0] < lbd), lhs_spec[0] + 1, new_lhs)
            new_lhs = _reshape_axis_into(lhs_spec[0], lhs_spec[0], new_lhs)
        out = conv(new_lhs, rhs, g, b)
        return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
    size = get_aval(rhs).shape[rbd]
    if g == 1 and b == 1:
        new_rhs = _reshape_axis_into(rbd, rhs_spec[0], rhs)
        out = conv(lhs, new_rhs, g, b)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    # groups stay outermost in the output features: (G, V * O/G)
    groups = g if g > 1 else b
    new_rhs = _reshape_axis_out_of(rhs_spec[0] + int(rbd <= rhs_spec[0]), groups, rhs)
    new_rhs = _reshape_axis_into(rbd + int(rhs_spec[0] < rbd), rhs_spec[0] + 1, new_rhs)
    new_rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[0], new_rhs)
    out = conv(lhs, new_rhs, g, b)
    out = _reshape_axis_out_of(out_spec[1], groups, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, size, out)
    out = _reshape_axis_into(out_spec[1], out_spec[1] + 1, out)
    return out, out_spec[1]


# --- lower rule: one stablehlo.convolution, or on the CPU a faster equivalent --------------------


@conv_general_dilated_p.def_lower
def _conv_lower(ctx, lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count,
                preferred_element_type=None):
    la, ra = ctx.avals_in
    out_aval = ctx.avals_out[0]
    compute = _compute_dtype(la.dtype, out_aval.dtype)
    lhs, rhs = ctx.convert(lhs, la, compute), ctx.convert(rhs, ra, compute)
    la, ra = la.update(dtype=compute), ra.update(dtype=compute)
    res_aval = out_aval.update(dtype=compute, weak_type=False)
    geom = conv_cpu._Geometry(la, ra, window_strides, padding, lhs_dilation, rhs_dilation,
                     dimension_numbers, feature_group_count, batch_group_count)
    path = conv_cpu.choose_path(ctx.platform, geom)
    if path == "native":
        out = conv_cpu._native(ctx, lhs, rhs, la, ra, res_aval, window_strides=window_strides,
                      padding=padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                      dimension_numbers=dimension_numbers,
                      feature_group_count=feature_group_count,
                      batch_group_count=batch_group_count)
    else:
        b = conv_cpu._Builder(ctx)
        x, w = b.canonical_operands((lhs, la), (rhs, ra), dimension_numbers, padding,
                                    lhs_dilation)
        y = conv_cpu._FORMS[path](b, x, w, geom)             # (N // B, *P, O)
        out_spec = dimension_numbers.out_spec
        canon = (out_spec[0],) + tuple(out_spec[2:]) + (out_spec[1],)
        out, _ = b.transpose(y, tuple(int(d) for d in np.argsort(canon)))
    if compute.kind == "c" and out_aval.dtype.kind != "c":
        real_aval = res_aval.update(dtype=dtypes.real_dtype(compute))
        out = ctx.op("stablehlo.real", [out], [res_aval], real_aval)
        res_aval = real_aval
    return ctx.convert(out, res_aval, out_aval.dtype)


# --- wrappers -----------------------------------------------------------------------------------------


def _ints(op: str, name: str, vals, n: int, default: int = 1) -> tuple:
    if vals is None:
        return (default,) * n
    if isinstance(vals, (int, np.integer)):
        return (int(vals),) * n
    vals = tuple(int(v) for v in vals)
    if len(vals) != n:
        raise ValueError(f"{op}: {name} {vals} needs {n} entries, one per spatial dimension")
    return vals


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None):
    """A general n-d convolution with strides, padding, dilations and groups (XLA's
    ConvGeneralDilated; JAX's ``lax.conv_general_dilated``).

    Args:
      lhs: the input, e.g. ``(N, H, W, C)`` with ``("NHWC", "HWIO", "NHWC")``.
      rhs: the kernel, e.g. ``(KH, KW, C // feature_group_count, O)`` for "HWIO".
      window_strides: one stride per spatial dimension.
      padding: "SAME", "SAME_LOWER", "VALID", or one ``(low, high)`` pair per
        spatial dimension (negative values crop).
      lhs_dilation: per spatial dimension, the dilation of the input
        (transposed convolutions); default 1.
      rhs_dilation: the dilation of the kernel (atrous convolutions); default 1.
      dimension_numbers: None (``NCHW``/``OIHW``/``NCHW``), a
        :class:`ConvDimensionNumbers` or three layout strings.
      feature_group_count: number of feature groups (``C`` for depthwise).
      batch_group_count: number of batch groups (see the module docstring).
      precision: accepted for lax compatibility; the host computes at full precision.
      preferred_element_type: the output dtype, or None for the inputs' dtype.

    Returns:
      The output in the layout of ``dimension_numbers``' out spec.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> x = fnp.ones((1, 5, 5, 1)); k = fnp.ones((3, 3, 1, 2))
        >>> y = lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        >>> y.shape, float(y[0, 2, 2, 0]), float(y[0, 0, 0, 0])
        ((1, 5, 5, 2), 9.0, 4.0)
    """
    op = "conv_general_dilated"
    la, ra = get_aval(lhs), get_aval(rhs)
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = la.ndim - 2
    window_strides = _ints(op, "window_strides", window_strides, nsp)
    lhs_dilation = _ints(op, "lhs_dilation", lhs_dilation, nsp)
    rhs_dilation = _ints(op, "rhs_dilation", rhs_dilation, nsp)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError(f"{op}: string padding {padding!r} is ambiguous with lhs_dilation "
                             f"{lhs_dilation}; give explicit (low, high) pairs, or use "
                             "conv_transpose (as JAX)")
        in_sp = _take(la.shape, _sdims(dn.lhs_spec))
        k_sp = _dilate_shape(_take(ra.shape, _sdims(dn.rhs_spec)), rhs_dilation)
        pads = padtype_to_pads(in_sp, k_sp, window_strides, padding)
    else:
        try:
            pads = tuple((int(lo), int(hi)) for lo, hi in padding)
        except (TypeError, ValueError):
            raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or a sequence of "
                             f"(low, high) pairs, got {padding!r}") from None
    pet = None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type)
    return bind(conv_general_dilated_p, lhs, rhs, window_strides=window_strides, padding=pads,
                lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation, dimension_numbers=dn,
                feature_group_count=int(feature_group_count),
                batch_group_count=int(batch_group_count), preferred_element_type=pet)


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in NCHW/OIHW layout without dilation (JAX's ``lax.conv``).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.conv(fnp.ones((2, 3, 8, 8)), fnp.ones((4, 3, 3, 3)), (2, 2), "VALID").shape
        (2, 4, 3, 3)
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in NCHW/OIHW layout (JAX's ``lax.conv_with_general_padding``).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.conv_with_general_padding(fnp.ones((1, 1, 4, 4)), fnp.ones((1, 1, 2, 2)), (1, 1),
        ...                               ((1, 1), (0, 0)), (2, 2), (1, 1)).shape
        (1, 1, 8, 6)
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                precision=precision, preferred_element_type=preferred_element_type)


def _conv_transpose_padding(k: int, s: int, padding: str):
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else -(-pad_len // 2)
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    else:
        raise ValueError(f"conv_transpose: padding must be 'SAME', 'VALID' or explicit pairs, "
                         f"got {padding!r}")
    return pad_a, pad_len - pad_a


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False, precision=None, preferred_element_type=None):
    """A transposed ("deconvolution") convolution, JAX's ``lax.conv_transpose``.

    The input is dilated by ``strides`` (lhs_dilation) and convolved with unit
    strides. Default layouts are channels-last (``NHWC``/``HWIO``/``NHWC`` and
    their 1-d and 3-d analogues). With ``transpose_kernel=True`` the kernel is
    flipped spatially and its in/out features swapped: the gradient of
    ``conv_general_dilated`` with respect to its input.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.conv_transpose(fnp.ones((1, 4, 4, 2)), fnp.ones((3, 3, 2, 5)), (2, 2), "SAME").shape
        (1, 8, 8, 5)
    """
    la, ra = get_aval(lhs), get_aval(rhs)
    nd = la.ndim
    if dimension_numbers is None:
        defaults = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"),
                    4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}
        if nd not in defaults:
            raise ValueError(f"conv_transpose: no default dimension_numbers for rank {nd}")
        dimension_numbers = defaults[nd]
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = nd - 2
    strides = _ints("conv_transpose", "strides", strides, nsp)
    rhs_dilation = _ints("conv_transpose", "rhs_dilation", rhs_dilation, nsp)
    if isinstance(padding, str):
        k_sp = _dilate_shape(_take(ra.shape, _sdims(dn.rhs_spec)), rhs_dilation)
        pads = tuple(_conv_transpose_padding(k, s, padding.upper()) for k, s in zip(k_sp, strides))
    else:
        pads = padding
    if transpose_kernel:
        rhs = rev(rhs, tuple(_sdims(dn.rhs_spec)))
        perm = list(range(nd))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = transpose(rhs, tuple(perm))
    return conv_general_dilated(lhs, rhs, (1,) * nsp, pads, strides, rhs_dilation, dn,
                                precision=precision, preferred_element_type=preferred_element_type)
