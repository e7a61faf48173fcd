"""``scan``, the loop with a static trip count, and ``fori_loop`` and ``map`` built on it.

``scan_p`` holds its body as a consts-free IR whose inputs are
``(consts, carry, x)`` and outputs ``(carry, y)``; its operands are
``(consts, init, xs)``; it returns ``(final carry, stacked ys)``.

Rules:

* impl: a Python loop over the body's IR.
* jvp: the body is *linearized* once, symbolically: a "known" scan computes the
  primal carry and ys and stacks the residuals each iteration needs (values
  that do not change between iterations, such as the consts themselves, are
  not stacked), and a "linear" scan maps the tangents through the linear body
  using those residuals. Under ``linearize`` the known scan runs right away
  and only the linear scan enters the linear IR.
* transpose: a scan in the opposite direction over the transposed linear
  body; cotangents of loop-invariant inputs accumulate in the carry.
* batch: the body under vmap; which carries are batched is a fixed point.
* lower: ``stablehlo.while`` over an iteration counter, slicing the xs and
  updating the stacked ys with dynamic slices.
"""

from __future__ import annotations

import numpy as np

from .. import tree_util
from ..core import Primitive, ShapedArray, Tracer, bind, get_aval
from ..interpreters.batching import batch_ir, batch_size, move_bdim, moveaxis
from ..interpreters.jvp import Zero, add_tangents, instantiate, tangent_aval
from ..interpreters.lowering import i64_array
from ..interpreters.partial_eval import save_nothing_constant
from ..interpreters.reverse import is_undefined, linearize_ir, transpose_eval
from ..interpreters.tracing import trace_hoisted
from ..ir import IR, ClosedIR, Var, dce
from .control_flow import (_cast_carry, _trace_carry_fun, as_value, batched_avals,
                           flatten_values, run_ir, while_loop)

scan_p = Primitive("scan", multiple_results=True)


def scan(f, init, xs=None, length=None, reverse: bool = False, unroll: int = 1):
    """Loops ``carry, y = f(carry, x)`` over the leading axis of ``xs``.

    Returns ``(final carry, ys)`` with the ys stacked along a new leading axis,
    like this Python loop (but traced once, differentiable in both modes,
    batchable and compiled as one loop under ``jit``)::

        def scan(f, init, xs, length=None):
            carry, ys = init, []
            for x in xs:            # or range(length) if xs is None
                carry, y = f(carry, x)
                ys.append(y)
            return carry, stack(ys)

    Args:
      f: ``(carry, x) -> (carry, y)``; the carry keeps its tree, shapes and dtypes.
      init: the initial carry (a pytree of arrays).
      xs: a pytree of arrays with a common leading axis, or None.
      length: the number of iterations (needed when ``xs`` is None).
      reverse: iterate from the end of ``xs`` (ys are still stacked in xs's order).
      unroll: accepted for JAX compatibility; the loop is not unrolled.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> total, partial = lax.scan(lambda c, x: (c + x, c + x), fnp.asarray(0.0),
        ...                           fnp.arange(4.0))
        >>> float(total), partial.tolist()
        (6.0, [0.0, 1.0, 3.0, 6.0])
    """
    init_flat, carry_tree = flatten_values(init, "scan init")
    xs_flat, x_tree = flatten_values(xs, "scan xs")
    lengths = set()
    for i, x in enumerate(xs_flat):
        a = get_aval(x)
        if a.ndim == 0:
            raise ValueError(f"scan: xs leaf {i} is a scalar ({a.str_short()}); every leaf of "
                             "xs needs a leading axis to scan over")
        lengths.add(a.shape[0])
    if length is not None:
        try:
            length = int(length)
        except TypeError:
            raise TypeError(f"scan: length must be a Python int, got {length!r}") from None
        lengths.add(length)
    if len(lengths) > 1:
        shown = ", ".join(str(get_aval(x).shape) for x in xs_flat)
        raise ValueError(f"scan: the leading axes of xs and length disagree: xs shapes {shown}"
                         + (f", length={length}" if length is not None else ""))
    if not lengths:
        raise ValueError("scan: with xs=None (or no arrays in xs), pass length=")
    length = lengths.pop()
    x_avals = [ShapedArray(get_aval(x).shape[1:], get_aval(x).dtype, get_aval(x).weak_type)
               for x in xs_flat]
    carry_avals = [get_aval(x) for x in init_flat]
    body, consts, out_tree, carry_avals = _trace_carry_fun(
        f, carry_tree, carry_avals, "scan body f", x_tree=x_tree, x_avals=x_avals)
    init_flat = [_cast_carry(x, a) for x, a in zip(init_flat, carry_avals)]
    outs = bind(scan_p, *consts, *init_flat, *xs_flat, body=body, num_consts=len(consts),
                num_carry=len(init_flat), length=length, reverse=bool(reverse), unroll=unroll)
    y_tree = tree_util.treedef_children(out_tree)[1]
    n = len(init_flat)
    return (tree_util.tree_unflatten(carry_tree, outs[:n]),
            tree_util.tree_unflatten(y_tree, outs[n:]))


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; returns ``val``.

    With Python-int (concrete) bounds it is a ``scan``, so reverse-mode
    differentiable; with traced bounds it is a ``while_loop`` (forward mode only).

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> float(lax.fori_loop(0, 5, lambda i, x: x * 2.0, fnp.asarray(1.0)))
        32.0
    """
    concrete = not isinstance(lower, Tracer) and not isinstance(upper, Tracer)
    lo_v, hi_v = as_value(lower), as_value(upper)
    lo_a, hi_a = get_aval(lo_v), get_aval(hi_v)
    for name, a in (("lower", lo_a), ("upper", hi_a)):
        if a.shape != () or a.dtype.kind not in "iu":
            raise TypeError(f"fori_loop: {name} must be an integer scalar, got {a.str_short()}")
    dtype = lo_a.dtype
    if lo_a.dtype != hi_a.dtype:
        # as in JAX, only a weakly typed (Python int) bound adopts the other's signed dtype
        if lo_a.dtype.kind == hi_a.dtype.kind == "i" and lo_a.weak_type != hi_a.weak_type:
            dtype = hi_a.dtype if lo_a.weak_type else lo_a.dtype
        else:
            raise TypeError(f"fori_loop: lower and upper must have the same dtype, got "
                            f"{lo_a.str_short()} and {hi_a.str_short()}")
    if concrete:
        lo, hi = int(np.asarray(lo_v)), int(np.asarray(hi_v))

        def step(carry, _):
            i, val = carry
            return (i + 1, body_fun(i, val)), None

        # the index is the Python int ``lo`` (weakly typed), as in JAX's scan path
        (_, val), _ = scan(step, (lo, init_val), None, length=max(hi - lo, 0))
        return val
    from .elementwise import convert_element_type
    lo_c = lo_v if lo_a.dtype == dtype else convert_element_type(lo_v, dtype)
    hi_c = hi_v if hi_a.dtype == dtype else convert_element_type(hi_v, dtype)
    _, _, val = while_loop(lambda c: c[0] < c[1],
                           lambda c: (c[0] + 1, c[1], body_fun(c[0], c[2])),
                           (lo_c, hi_c, init_val))
    return val


def map(f, xs):  # noqa: A001  (lax's name)
    """``stack([f(x) for x in xs])`` over the leading axis, as one ``scan``."""
    return scan(lambda _, x: (None, f(x)), None, xs)[1]


# --- rules ----------------------------------------------------------------------------------


def _split(seq, num_consts, num_carry):
    return (list(seq[:num_consts]), list(seq[num_consts:num_consts + num_carry]),
            list(seq[num_consts + num_carry:]))


@scan_p.def_abstract_eval
def _scan_abstract_eval(*avals, body, num_consts, num_carry, length, reverse, unroll):
    _, carry, xs = _split(avals, num_consts, num_carry)
    for i, a in enumerate(xs):
        if a.shape[:1] != (length,):
            raise TypeError(f"scan: xs operand {i} {a.str_short()} does not have a leading axis "
                            f"of length {length}")
    ys = [ShapedArray((length,) + a.shape, a.dtype, a.weak_type)
          for a in body.out_avals[num_carry:]]
    # the carries take the body's output types (a weak initial value may come back strong)
    return list(body.out_avals[:num_carry]) + ys


@scan_p.def_impl
def _scan_impl(*args, body, num_consts, num_carry, length, reverse, unroll):
    consts, carry, xs = _split(args, num_consts, num_carry)
    steps = []
    order = range(length - 1, -1, -1) if reverse else range(length)
    for i in order:
        out = run_ir(body, consts + carry + [x[i] for x in xs])
        carry = out[:num_carry]
        steps.append(out[num_carry:])
    if reverse:
        steps.reverse()
    y_avals = body.out_avals[num_carry:]
    ys = [np.stack([np.asarray(s[k]) for s in steps]) if steps
          else np.zeros((0,) + a.shape, a.dtype) for k, a in enumerate(y_avals)]
    return [np.asarray(c) for c in carry] + ys


def _scan_jvp(primals, tangents, *, body, num_consts, num_carry, length, reverse, unroll):
    nc, nk = num_consts, num_carry
    params = dict(length=length, reverse=reverse, unroll=unroll)
    consts, init, xs = _split(primals, nc, nk)
    c_t, init_t, x_t = _split(tangents, nc, nk)
    c_nz = [type(t) is not Zero for t in c_t]
    x_nz = [type(t) is not Zero for t in x_t]
    carry_nz = [type(t) is not Zero for t in init_t]
    if not any(c_nz + x_nz + carry_nz):
        out = bind(scan_p, *primals, body=body, num_consts=nc, num_carry=nk, **params)
        return out, [Zero(tangent_aval(get_aval(o))) for o in out]
    for _ in range(nk + 1):  # which carry tangents are nonzero: a fixed point
        # (constants such as zeros are made again in the linear body, not stacked)
        lin = linearize_ir(body, tuple(c_nz + carry_nz + x_nz), "scan (linearize)",
                           save_nothing_constant)
        new = [a or b for a, b in zip(carry_nz, lin.out_nonzeros[:nk])]
        if new == carry_nz:
            break
        carry_nz = new
    # A residual that is a const operand or an x itself is passed as it is; the others
    # are stacked by the known scan (one per iteration).
    kinds = ["const" if f is not None and f < nc else "x" if f is not None and f >= nc + nk
             else "stacked" for f in lin.res_fwd]
    n_primal = len(body.out_avals)
    known_ir, _ = dce(lin.known.ir, [True] * n_primal + [k == "stacked" for k in kinds])
    # the known scan: primal carry and ys, plus the stacked residuals
    outs = bind(scan_p, *lin.known_consts, *consts, *init, *xs, body=ClosedIR(known_ir, []),
                num_consts=len(lin.known_consts) + nc, num_carry=nk, **params)
    primal_out, stacked = outs[:n_primal], iter(outs[n_primal:])
    # the linear scan: its consts are the linear IR's consts, zeros for carries whose
    # tangent the body does not write, const residuals and const tangents; its carry the
    # nonzero carry tangents; its xs the stacked residuals (or xs) and the x tangents
    ir = lin.linear.ir
    nlc, nr = len(lin.linear_consts), lin.num_res
    lc_vars, res_vars, t_vars = ir.invars[:nlc], ir.invars[nlc:nlc + nr], ir.invars[nlc + nr:]
    n_ct, n_kt = sum(c_nz), sum(carry_nz)
    ct_vars, kt_vars, xt_vars = t_vars[:n_ct], t_vars[n_ct:n_ct + n_kt], t_vars[n_ct + n_kt:]
    lin_outs = iter(ir.outvars)
    t_outs = [next(lin_outs) if nz else None for nz in lin.out_nonzeros]
    zero_vars, zero_vals = [], []
    for i, a in enumerate(body.out_avals[:nk]):
        if carry_nz[i] and t_outs[i] is None:
            t = tangent_aval(a)
            t_outs[i] = Var(t)
            zero_vars.append(t_outs[i])
            zero_vals.append(np.zeros(t.shape, t.dtype))
    y_nz = lin.out_nonzeros[nk:]
    outvars = ([v for v, nz in zip(t_outs[:nk], carry_nz) if nz]
               + [v for v, nz in zip(t_outs[nk:], y_nz) if nz])
    const_res = [(v, f) for v, f, k in zip(res_vars, lin.res_fwd, kinds) if k == "const"]
    xs_res = [(v, f, k) for v, f, k in zip(res_vars, lin.res_fwd, kinds) if k != "const"]
    lin_body = ClosedIR(IR([], list(lc_vars) + zero_vars + [v for v, _ in const_res]
                           + list(ct_vars) + list(kt_vars) + [v for v, _, _ in xs_res]
                           + list(xt_vars), ir.eqns, outvars), [])
    const_vals = list(lin.linear_consts) + zero_vals + [consts[f] for _, f in const_res]
    xs_vals = [xs[f - nc - nk] if k == "x" else next(stacked) for _, f, k in xs_res]
    init_t_nz = [instantiate(t) if type(t) is not Zero else instantiate(Zero(tangent_aval(
        get_aval(c)))) for t, c, nz in zip(init_t, init, carry_nz) if nz]
    lin_out = bind(scan_p, *const_vals, *[t for t in c_t if type(t) is not Zero], *init_t_nz,
                   *xs_vals, *[t for t in x_t if type(t) is not Zero], body=lin_body,
                   num_consts=len(const_vals) + n_ct, num_carry=n_kt, **params)
    it = iter(lin_out)
    tangent_out = []
    for o, nz in zip(primal_out, carry_nz + y_nz):
        tangent_out.append(next(it) if nz else Zero(tangent_aval(get_aval(o))))
    return primal_out, tangent_out


scan_p.jvp = _scan_jvp


def _scan_transpose(cts, *args, body, num_consts, num_carry, length, reverse, unroll):
    nc, nk = num_consts, num_carry
    consts, carry, xs = _split(args, nc, nk)
    # Every carry is linear. A carry with a known value is a tangent that was
    # instantiated as zeros (it became nonzero only inside the loop): its
    # cotangent is computed like the others and dropped.
    known_carry = [not is_undefined(c) for c in carry]
    c_lin = [is_undefined(c) for c in consts]
    x_lin = [is_undefined(x) for x in xs]
    ck = [c for c, u in zip(consts, c_lin) if not u]
    xk = [x for x, u in zip(xs, x_lin) if not u]
    ir = body.ir
    c_vars = ir.invars[:nc]
    ck_vars = [v for v, u in zip(c_vars, c_lin) if not u]
    cl_vars = [v for v, u in zip(c_vars, c_lin) if u]
    n_xk = sum(1 for u in x_lin if not u)
    linear = c_lin + [True] * nk + x_lin
    out_avals = [tangent_aval(a) for a in body.out_avals]
    cts = [instantiate(Zero(a)) if (c is None or type(c) is Zero) else c
           for c, a in zip(cts, out_avals[:nk] + [ShapedArray((length,) + a.shape, a.dtype)
                                                   for a in out_avals[nk:]])]
    ct_carry, ct_ys = cts[:nk], cts[nk:]
    n_ck, n_cl = len(ck_vars), len(cl_vars)

    def body_t(*a):
        ck_v, acc, ctc = a[:n_ck], a[n_ck:n_ck + n_cl], a[n_ck + n_cl:n_ck + n_cl + nk]
        rest = a[n_ck + n_cl + nk:]
        xk_v, cty = rest[:n_xk], rest[n_xk:]
        cts_in = transpose_eval(body, linear, list(ck_v) + list(xk_v), list(ctc) + list(cty))
        cts_in = [instantiate(c) if type(c) is Zero else c for c in cts_in]
        new_acc = [add_tangents(s, c) for s, c in zip(acc, cts_in[:n_cl])]
        return new_acc + cts_in[n_cl:n_cl + nk] + cts_in[n_cl + nk:]

    in_avals = ([get_aval(c) for c in ck] + [tangent_aval(v.aval) for v in cl_vars]
                + [get_aval(c) for c in ct_carry]
                + [ShapedArray(get_aval(x).shape[1:], get_aval(x).dtype) for x in xk]
                + [ShapedArray(get_aval(c).shape[1:], get_aval(c).dtype) for c in ct_ys])
    closed, tconsts = trace_hoisted(body_t, in_avals, "scan (transpose)")
    acc0 = [instantiate(Zero(tangent_aval(v.aval))) for v in cl_vars]
    outs = bind(scan_p, *tconsts, *ck, *acc0, *ct_carry, *xk, *ct_ys, body=closed,
                num_consts=len(tconsts) + n_ck, num_carry=n_cl + nk, length=length,
                reverse=not reverse, unroll=unroll)
    ct_consts, ct_init, ct_xs = outs[:n_cl], outs[n_cl:n_cl + nk], outs[n_cl + nk:]
    it_c, it_x = iter(ct_consts), iter(ct_xs)
    return ([next(it_c) if u else None for u in c_lin]
            + [None if k else c for c, k in zip(ct_init, known_carry)]
            + [next(it_x) if u else None for u in x_lin])


scan_p.transpose = _scan_transpose


def _scan_batch(args, bdims, *, body, num_consts, num_carry, length, reverse, unroll):
    nc, nk = num_consts, num_carry
    size = batch_size(args, bdims)
    consts, init, xs = _split(args, nc, nk)
    c_d, k_d, x_d = _split(bdims, nc, nk)
    consts = [moveaxis(c, d, 0) if d is not None else c for c, d in zip(consts, c_d)]
    xs = [moveaxis(x, d, 1) if d is not None else x for x, d in zip(xs, x_d)]
    c_d = [None if d is None else 0 for d in c_d]
    x_d = [None if d is None else 0 for d in x_d]
    c_avals = [get_aval(c) for c in consts]
    x_avals = [ShapedArray(get_aval(x).shape[1:], get_aval(x).dtype) for x in xs]
    batched = [d is not None for d in k_d]

    init_avals = [get_aval(c) for c in init]

    def carry_avals():
        return batched_avals(init_avals, k_d, batched, size)

    for _ in range(nk + 1):
        k_bd = [0 if b else None for b in batched]
        out_d = batch_ir(body, size, c_d + k_bd + x_d,
                         in_avals=c_avals + carry_avals() + x_avals).out_bdims
        new = [b or d is not None for b, d in zip(batched, out_d[:nk])]
        if new == batched:
            break
        batched = new
    k_bd = [0 if b else None for b in batched]
    y_bd = [None if d is None else 0 for d in out_d[nk:]]
    closed, bconsts, _ = batch_ir(body, size, c_d + k_bd + x_d, k_bd + y_bd,
                                  c_avals + carry_avals() + x_avals)
    init = [move_bdim(c, d, 0, size) if b else c for c, d, b in zip(init, k_d, batched)]
    outs = bind(scan_p, *bconsts, *consts, *init, *xs, body=closed,
                num_consts=len(bconsts) + nc, num_carry=nk, length=length, reverse=reverse,
                unroll=unroll)
    return outs, k_bd + [None if d is None else 1 for d in y_bd]


scan_p.batch = _scan_batch


def _scan_lower(ctx, *args, body, num_consts, num_carry, length, reverse, unroll):
    nc, nk = num_consts, num_carry
    in_avals = list(ctx.avals_in)
    out_avals = list(ctx.avals_out)
    c_avals, k_avals, x_avals = _split(in_avals, nc, nk)
    y_avals = out_avals[nk:]
    i32 = ShapedArray((), np.int32)
    zero_i = ctx.constant(0, i32)
    ys0 = [ctx.broadcast(ctx.constant(0, ShapedArray((), a.dtype)), ShapedArray((), a.dtype),
                         a.shape) for a in y_avals]
    state_avals = [i32] + c_avals + k_avals + x_avals + y_avals
    n_c, n_k, n_x = len(c_avals), len(k_avals), len(x_avals)
    if length == 0:  # no iteration (XLA rejects slicing a size-1 window of an empty axis)
        return list(args[n_c:n_c + n_k]) + ys0

    def cond_region(r, i, *rest):
        n = r.constant(length, i32)
        pred = r.op("stablehlo.compare", [i, n], [i32, i32], ShapedArray((), np.bool_),
                    "comparison_direction = #stablehlo<comparison_direction LT>, "
                    "compare_type = #stablehlo<comparison_type SIGNED>")
        return [pred], [ShapedArray((), np.bool_)]

    def body_region(r, i, *rest):
        cs, ks = list(rest[:n_c]), list(rest[n_c:n_c + n_k])
        xs_full = list(rest[n_c + n_k:n_c + n_k + n_x])
        ys_acc = list(rest[n_c + n_k + n_x:])
        if reverse:
            last = r.constant(length - 1, i32)
            idx = r.op("stablehlo.subtract", [last, i], [i32, i32], i32)
        else:
            idx = i
        z = r.constant(0, i32)
        xs_t = []
        for x, a in zip(xs_full, x_avals):
            starts = [idx] + [z] * (a.ndim - 1)
            sl_aval = ShapedArray((1,) + a.shape[1:], a.dtype)
            sl = r.op("stablehlo.dynamic_slice", [x] + starts, [a] + [i32] * a.ndim, sl_aval,
                      f"slice_sizes = {i64_array(sl_aval.shape)}")
            xs_t.append(r.op("stablehlo.reshape", [sl], [sl_aval],
                             ShapedArray(a.shape[1:], a.dtype)))
        outs = r.lower_ir(body, cs + ks + xs_t)
        new_ks, ys_t = outs[:nk], outs[nk:]
        new_acc = []
        for acc, y, a in zip(ys_acc, ys_t, y_avals):
            y_aval = ShapedArray(a.shape[1:], a.dtype)
            upd_aval = ShapedArray((1,) + a.shape[1:], a.dtype)
            upd = r.op("stablehlo.reshape", [y], [y_aval], upd_aval)
            starts = [idx] + [z] * (a.ndim - 1)
            new_acc.append(r.op("stablehlo.dynamic_update_slice", [acc, upd] + starts,
                                [a, upd_aval] + [i32] * a.ndim, a))
        one = r.constant(1, i32)
        i_next = r.op("stablehlo.add", [i, one], [i32, i32], i32)
        return [i_next] + cs + new_ks + xs_full + new_acc, state_avals

    init = [zero_i] + list(args) + ys0
    outs = ctx.op("stablehlo.while", init, state_avals, state_avals,
                  regions=[ctx.region(state_avals, cond_region),
                           ctx.region(state_avals, body_region)])
    return outs[1 + n_c:1 + n_c + n_k] + outs[1 + n_c + n_k + n_x:]


scan_p.lower = _scan_lower

__all__ = ["scan", "fori_loop", "map", "scan_p"]
