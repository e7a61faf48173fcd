"""Linear algebra primitives: ``dot_general``, with the ``dot`` wrapper.

``dot_general`` contracts ``lhs`` and ``rhs`` over pairs of dimensions and
maps over pairs of batch dimensions, with XLA's params::

    dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))

The output's dimensions are: the batch dimensions (in ``lhs_batch`` order),
then lhs's free dimensions, then rhs's free dimensions (each in operand
order). Both operands have one dtype (functrans.numpy promotes first); the
output has ``preferred_element_type`` when given, else that dtype.

The impl moves every operand to a ``(batch, free, contract)`` layout and calls
BLAS through ``np.dot``/``np.matmul``, never einsum. float16/bfloat16 compute
in float32 (numpy has no fast loop for them) and bool computes in int32
(``any(a & b)`` is ``sum(a * b) != 0``).

Autodiff: dot_general is bilinear; its transpose with respect to either
operand is a dot_general of the cotangent with the other operand plus a
transpose (JAX's rule), computed in the output's dtype and cast back to the
operand's when ``preferred_element_type`` differs.

vmap moves the batch axis into the dimension numbers (a batch dimension when
both operands are mapped, a free dimension when one is); jit emits one
``stablehlo.dot_general`` (its output order is ours: batch, lhs free, rhs free).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import dtypes
from ..core import Primitive, ShapedArray, bind, get_aval
from ..interpreters.jvp import defjvp
from ..interpreters.reverse import is_undefined
from ._rules import ANY, check_dtype, check_same_dtypes
from .elementwise import convert_element_type
from .shape import transpose

__all__ = ["dot_general", "dot"]


def _check_dims(what: str, dims, ndim: int, aval: ShapedArray, dn) -> None:
    if any(type(d) is not int or not 0 <= d < ndim for d in dims):
        raise ValueError(f"dot_general: {what} dimensions {dims} are out of range for "
                         f"{aval.str_short()} (dimension_numbers={dn}); use non-negative "
                         "dimensions below the rank")


def _parse_dimension_numbers(dn):
    try:
        (lc, rc), (lb, rb) = dn
        return tuple(lc), tuple(rc), tuple(lb), tuple(rb)
    except (TypeError, ValueError):
        raise TypeError("dot_general: dimension_numbers must be ((lhs_contract, rhs_contract), "
                        f"(lhs_batch, rhs_batch)), got {dn!r}") from None


# --- dot_general ---------------------------------------------------------------------------------

dot_general_p = Primitive("dot_general")


@dot_general_p.def_abstract_eval
def _dot_general_abstract_eval(lhs: ShapedArray, rhs: ShapedArray, *, dimension_numbers,
                               preferred_element_type=None) -> ShapedArray:
    dn = dimension_numbers
    lc, rc, lb, rb = _parse_dimension_numbers(dn)
    check_dtype("dot_general", lhs, ANY, "lhs")
    check_same_dtypes("dot_general", (lhs, rhs))
    _check_dims("lhs contracting", lc, lhs.ndim, lhs, dn)
    _check_dims("rhs contracting", rc, rhs.ndim, rhs, dn)
    _check_dims("lhs batch", lb, lhs.ndim, lhs, dn)
    _check_dims("rhs batch", rb, rhs.ndim, rhs, dn)
    for name, c, b in (("lhs", lc, lb), ("rhs", rc, rb)):
        if len(set(c + b)) != len(c) + len(b):
            raise ValueError(f"dot_general: {name} contracting dimensions {c} and batch "
                             f"dimensions {b} must be distinct (dimension_numbers={dn})")
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise ValueError(f"dot_general: lhs and rhs need as many contracting and as many batch "
                         f"dimensions, got dimension_numbers={dn}")
    for what, ld, rd in (("contracting", lc, rc), ("batch", lb, rb)):
        lsz = tuple(lhs.shape[d] for d in ld)
        rsz = tuple(rhs.shape[d] for d in rd)
        if lsz != rsz:
            raise TypeError(f"dot_general: {what} dimensions must have equal sizes, but lhs "
                            f"{lhs.str_short()} has sizes {lsz} along {ld} and rhs "
                            f"{rhs.str_short()} has sizes {rsz} along {rd}")
    lfree = [d for i, d in enumerate(lhs.shape) if i not in lc and i not in lb]
    rfree = [d for i, d in enumerate(rhs.shape) if i not in rc and i not in rb]
    shape = tuple(lhs.shape[d] for d in lb) + tuple(lfree) + tuple(rfree)
    if preferred_element_type is None:
        return ShapedArray(shape, lhs.dtype, lhs.weak_type and rhs.weak_type)
    return ShapedArray(shape, preferred_element_type, False)


def _compute_dtype(dtype):
    if dtype == dtypes.bool_:
        return np.dtype(np.int32)
    if dtype in (dtypes.float16, dtypes.bfloat16):
        return np.dtype(np.float32)
    return dtype


@dot_general_p.def_impl
def _dot_general_impl(lhs, rhs, *, dimension_numbers, preferred_element_type=None):
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    out_dtype = np.dtype(lhs.dtype if preferred_element_type is None else preferred_element_type)
    # Wide enough for both the inputs and the requested output (int8 -> int32).
    compute = np.result_type(_compute_dtype(lhs.dtype), _compute_dtype(out_dtype))
    lhs = lhs.astype(compute, copy=False)
    rhs = rhs.astype(compute, copy=False)
    lf = [d for d in range(lhs.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    batch_shape = tuple(lhs.shape[d] for d in lb)
    lf_shape = tuple(lhs.shape[d] for d in lf)
    rf_shape = tuple(rhs.shape[d] for d in rf)
    m, n = math.prod(lf_shape), math.prod(rf_shape)
    k = math.prod(lhs.shape[d] for d in lc)
    # Reshaping a transposed view copies only when the layout needs it; for a
    # plain 2-d transpose (x @ w.T) np.dot passes the transpose flag to BLAS.
    a = np.transpose(lhs, tuple(lb) + tuple(lf) + tuple(lc))
    b = np.transpose(rhs, tuple(rb) + tuple(rc) + tuple(rf))
    if not lb:
        out = np.dot(a.reshape(m, k), b.reshape(k, n))
    else:
        bsz = math.prod(batch_shape)
        if k == 1:  # batched outer products (per-example weight gradients under vmap):
            # numpy's matmul loops slowly over tiny k; a broadcast multiply is exact
            out = a.reshape(bsz, m, 1) * b.reshape(bsz, 1, n)
        else:
            out = np.matmul(a.reshape(bsz, m, k), b.reshape(bsz, k, n))
    out = out.reshape(batch_shape + lf_shape + rf_shape)
    if out_dtype == dtypes.bool_:
        return out != 0
    if out.dtype.kind == "c" and out_dtype.kind != "c":
        out = out.real
    return out.astype(out_dtype, copy=False)


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """A general tensor contraction with batch dimensions (XLA's DotGeneral).

    Args:
      lhs, rhs: arrays of one dtype.
      dimension_numbers: ``((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``,
        sequences of dimensions (negative ones count from the end).
      precision: accepted for lax compatibility and ignored (the host
        computes at full precision).
      preferred_element_type: the output dtype (for example int32 for int8
        inputs), or None for the inputs' dtype.

    Returns:
      An array of shape ``batch + lhs free + rhs free``.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> x = fnp.ones((5, 2, 3)); y = fnp.ones((5, 3, 4))
        >>> lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))).shape
        (5, 2, 4)
    """
    lc, rc, lb, rb = _parse_dimension_numbers(dimension_numbers)
    lnd, rnd = get_aval(lhs).ndim, get_aval(rhs).ndim

    def norm(dims, nd):
        return tuple(int(d) + nd if -nd <= int(d) < 0 else int(d) for d in dims)

    dn = ((norm(lc, lnd), norm(rc, rnd)), (norm(lb, lnd), norm(rb, rnd)))
    pet = None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type)
    return bind(dot_general_p, lhs, rhs, dimension_numbers=dn, preferred_element_type=pet)


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix products: contracts lhs's last dimension with rhs's first.

    Operands have rank 1 or 2 (vector . vector, matrix . vector,
    vector . matrix, matrix . matrix), like ``lax.dot``.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> lax.dot(fnp.ones((2, 3)), fnp.ones(3)).tolist()
        [3.0, 3.0]
    """
    la, ra = get_aval(lhs), get_aval(rhs)
    if la.ndim not in (1, 2) or ra.ndim not in (1, 2):
        raise TypeError(f"dot: operands must be vectors or matrices, got {la.str_short()} and "
                        f"{ra.str_short()}; use dot_general (or functrans.numpy.matmul/"
                        "tensordot/einsum) for higher ranks")
    if la.shape[-1] != ra.shape[0]:
        raise TypeError(f"dot: incompatible shapes {la.shape} and {ra.shape}: the last "
                        f"dimension of lhs ({la.shape[-1]}) must equal the first of rhs "
                        f"({ra.shape[0]})")
    return dot_general(lhs, rhs, (((la.ndim - 1,), (0,)), ((), ())),
                       preferred_element_type=preferred_element_type)


# --- autodiff rules ------------------------------------------------------------------------------
#
# dot_general is bilinear: its tangent is the sum of one dot_general per
# operand tangent, and its transpose with respect to one operand is another
# dot_general of the cotangent with the other operand, followed by a
# transpose that puts that operand's dimensions back in order (JAX's rule).


def _dot_general_jvp_lhs(t, ans, lhs, rhs, **params):
    return bind(dot_general_p, t, rhs, **params)


def _dot_general_jvp_rhs(t, ans, lhs, rhs, **params):
    return bind(dot_general_p, lhs, t, **params)


def _remaining(ndim: int, *removed) -> list:
    gone = set().union(*map(set, removed))
    return [i for i in range(ndim) if i not in gone]


def _ranges_like(*xs) -> list:
    """Consecutive index ranges as long as each of ``xs``: the output dims they occupy."""
    out, start = [], 0
    for x in xs:
        out.append(tuple(range(start, start + len(x))))
        start += len(x)
    return out


@functools.lru_cache(maxsize=1024)
def _dot_transpose_dims(x_ndim: int, y_ndim: int, dimension_numbers, swap_ans: bool):
    """How to compute the cotangent of x: ``(ct_first, dims, perm)``, the
    dot_general of ct and y (``ct_first``) or of y and ct with dimension numbers
    ``dims``, then the permutation that puts x's dimensions back in order
    (static: computed once per signature)."""
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_kept = _remaining(x_ndim, x_contract, x_batch)
    y_kept = _remaining(y_ndim, y_contract, y_batch)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    # Contract ct with y over y's free and batch dims. What remains is x's batch
    # dims, then x's free dims and y's contracting dims in y's order (x's
    # contracting dims sorted by their y partner), in the order of the operands.
    x_contract_by_y = [int(x_contract[i]) for i in np.argsort(y_contract)]
    ct_first = tuple(int(i) for i in np.argsort(list(x_batch) + x_kept + x_contract_by_y))
    y_first = tuple(int(i) for i in np.argsort(list(x_batch) + x_contract_by_y + x_kept))
    if y_first == tuple(range(x_ndim)) and ct_first != y_first:
        # dot_general(y, ct) gives x's layout directly: the weight gradient of
        # x @ w is x.T @ ct, a C-ordered array, not a transposed (ct.T @ x) view
        # (BLAS is faster in that orientation, and so are the elementwise
        # updates that follow, with operands of one layout).
        return False, ((tuple(y_kept), ans_y), (tuple(y_batch), ans_batch)), y_first
    return True, ((ans_y, tuple(y_kept)), (ans_batch, tuple(y_batch))), ct_first


def _dot_transpose_operand(ct, x_aval: ShapedArray, y, dimension_numbers, swap_ans: bool):
    """The cotangent of ``x`` in ``dot_general(x, y)`` (``dot_general(y, x)`` if ``swap_ans``)."""
    y_aval = get_aval(y)
    ct_first, dims, perm = _dot_transpose_dims(x_aval.ndim, y_aval.ndim, dimension_numbers,
                                               swap_ans)
    ct_dtype = get_aval(ct).dtype
    if y_aval.dtype != ct_dtype:  # preferred_element_type: compute in the output's dtype
        y = convert_element_type(y, ct_dtype)
    operands = (ct, y) if ct_first else (y, ct)
    out = bind(dot_general_p, *operands, dimension_numbers=dims, preferred_element_type=None)
    return convert_element_type(transpose(out, perm), x_aval.dtype)


def _dot_general_transpose(ct, lhs, rhs, *, dimension_numbers, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    if is_undefined(lhs) and is_undefined(rhs):
        raise ValueError("dot_general: transpose with both operands linear (the product is "
                         "bilinear, not linear)")
    if is_undefined(lhs):
        return [_dot_transpose_operand(ct, lhs.aval, rhs, dimension_numbers, False), None]
    swapped = ((rc, lc), (rb, lb))
    return [None, _dot_transpose_operand(ct, rhs.aval, lhs, swapped, True)]


defjvp(dot_general_p, _dot_general_jvp_lhs, _dot_general_jvp_rhs)
dot_general_p.def_transpose(_dot_general_transpose)


# --- batch rule ----------------------------------------------------------------------------------
#
# No loops and no transposes: the batch axis becomes part of the dimension
# numbers. Both operands mapped: it is a new (leading) batch dimension of the
# contraction, so the output has it first. One operand mapped: it is one more
# free dimension of that operand, and the output has it where that operand's
# free dimensions are (XLA folds it into the matrix rows or columns).


def _shift_dims(dims, bdim):
    return tuple(d + (bdim is not None and d >= bdim) for d in dims)


@dot_general_p.def_batch
def _dot_general_batch(args, bdims, *, dimension_numbers, preferred_element_type=None):
    lhs, rhs = args
    lbd, rbd = bdims
    (lc, rc), (lb, rb) = dimension_numbers
    lc, lb = _shift_dims(lc, lbd), _shift_dims(lb, lbd)
    rc, rb = _shift_dims(rc, rbd), _shift_dims(rb, rbd)
    lnd, rnd = get_aval(lhs).ndim, get_aval(rhs).ndim
    if lbd is not None and rbd is not None:
        dn = ((lc, rc), ((lbd,) + lb, (rbd,) + rb))
        out_bdim = 0
    else:
        dn = ((lc, rc), (lb, rb))
        lfree = _remaining(lnd, lc, lb)
        if lbd is not None:
            out_bdim = len(lb) + lfree.index(lbd)
        else:
            out_bdim = len(lb) + len(lfree) + _remaining(rnd, rc, rb).index(rbd)
    out = bind(dot_general_p, lhs, rhs, dimension_numbers=dn,
               preferred_element_type=preferred_element_type)
    return out, out_bdim


# --- lower rule ----------------------------------------------------------------------------------

# Precision of the contraction. HIGHEST, so jit computes what the eager impl
# (numpy's float32 BLAS) computes: on a GPU, DEFAULT lets XLA use TF32 tensor
# cores for float32 (measured on an H200: 3e-4 relative error against float64
# for a 2048x2048 product, vs 2e-6 with HIGHEST, and no faster there). On the
# CPU both are full float32; for other dtypes it has no effect.
DOT_PRECISION = "HIGHEST"


@dot_general_p.def_lower
def _dot_general_lower(ctx, lhs, rhs, *, dimension_numbers, preferred_element_type=None):
    # Computes in the impl's dtype: bool as int32 (then != 0), float16/bfloat16
    # in float32, int inputs with a float preferred_element_type in their
    # result_type (float64 for int32 -> float32, as numpy); a complex product
    # with a real preferred type keeps the real part.
    la, ra = ctx.avals_in
    out_aval = ctx.avals_out[0]
    (lc, rc), (lb, rb) = dimension_numbers
    compute = np.result_type(_compute_dtype(la.dtype), _compute_dtype(out_aval.dtype))
    lhs, rhs = ctx.convert(lhs, la, compute), ctx.convert(rhs, ra, compute)
    la, ra = la.update(dtype=compute), ra.update(dtype=compute)
    fields = [f"{name} = [{', '.join(map(str, dims))}]" for name, dims in
              (("lhs_batching_dimensions", lb), ("rhs_batching_dimensions", rb),
               ("lhs_contracting_dimensions", lc), ("rhs_contracting_dimensions", rc)) if dims]
    precision = f"#stablehlo<precision {DOT_PRECISION}>"
    attrs = (f"dot_dimension_numbers = #stablehlo.dot<{', '.join(fields)}>, "
             f"precision_config = [{precision}, {precision}]")
    res_aval = out_aval.update(dtype=compute, weak_type=False)
    out = ctx.op("stablehlo.dot_general", [lhs, rhs], [la, ra], res_aval, attrs)
    if out_aval.dtype == dtypes.bool_:
        zero = ctx.constant(0, res_aval)
        return ctx.op("stablehlo.compare", [out, zero], [res_aval, res_aval], out_aval,
                      "comparison_direction = #stablehlo<comparison_direction NE>, "
                      "compare_type = #stablehlo<comparison_type SIGNED>")
    if compute.kind == "c" and out_aval.dtype.kind != "c":
        real_aval = res_aval.update(dtype=dtypes.real_dtype(compute))
        out = ctx.op("stablehlo.real", [out], [res_aval], real_aval)
        res_aval = real_aval
    return ctx.convert(out, res_aval, out_aval.dtype)
