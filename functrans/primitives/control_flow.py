"""Control flow: ``cond``/``switch`` and ``while_loop`` as higher-order primitives.

A higher-order primitive holds sub-IRs in its params (``branches``,
``cond_ir``/``body_ir``); every value a sub-function closes over is made an
explicit operand first (closure conversion), so enclosing transformations see
it. Each primitive has the full set of rules:

* ``cond`` (``switch`` with an int32 index, clamped into range)
  - impl: run the chosen branch; jvp: the primal ``cond`` plus a second
    ``cond`` over the branches' jvps (taking the primal operands as inputs, so
    linearize keeps the primal computation out of the linear IR);
  - transpose: a ``cond`` over the branches transposed with the primal
    operands known (``transpose_ir``);
  - batch: an unbatched index keeps the ``cond`` with batched branches; a
    batched index evaluates every branch and selects per example (``select_n``);
  - lower: ``stablehlo.case``.
* ``while`` — impl: a loop; jvp: forward mode only (a second loop carrying
  tangents); transpose: a clear error (use ``scan`` or ``fori_loop`` with static
  bounds); batch: a batched predicate keeps iterating until every example is
  done, updating only the examples still running; lower: ``stablehlo.while``.

``scan`` (with ``fori_loop`` and ``map``) lives in ``scan.py``.
"""

from __future__ import annotations

import numpy as np

from .. import core, tree_util
from ..core import Primitive, ShapedArray, Tracer, bind, get_aval
from ..interpreters.batching import batch_ir, move_bdim, moveaxis
from ..interpreters.jvp import Zero, instantiate, jvp_ir, tangent_aval
from ..interpreters.reverse import transpose_ir
from ..interpreters.tracing import trace_hoisted
from ..ir import IR, ClosedIR, Var, dce, eval_ir

# --- shared helpers (also used by scan.py) -------------------------------------------------------
# (sub-IR transformations are the interpreters' library: jvp_ir, batch_ir, transpose_ir,
# closure_convert in ir.py; these helpers only trace and check the user's functions)


def run_ir(closed: ClosedIR, args) -> list:
    return eval_ir(closed.ir, closed.consts, list(args))


def as_value(x):
    from .. import numpy as fnp
    return x if isinstance(x, Tracer) else fnp.asarray(x)


def flatten_values(tree, what: str):
    leaves, treedef = tree_util.tree_flatten(tree)
    out = []
    for i, x in enumerate(leaves):
        core.input_aval(what, x, i)
        out.append(as_value(x))
    return out, treedef


def trace_pytree_fun(fun, in_tree, in_avals, what: str):
    """Traces ``fun`` (pytree in, pytree out); returns ``(closed, consts, out_tree)``."""
    box = []

    def flat_fun(*flat):
        out = fun(*tree_util.tree_unflatten(in_tree, flat))
        leaves, out_tree = tree_util.tree_flatten(out)
        box.append(out_tree)
        for i, o in enumerate(leaves):
            core.check_output(what, o, i)
        return [as_value(o) for o in leaves]

    closed, consts = trace_hoisted(flat_fun, in_avals, what)
    return closed, consts, box[0]


def describe_avals_mismatch(what: str, names, a_avals, b_avals, a_name, b_name):
    """A message naming each leaf whose shape or dtype differs, or None."""
    diffs = []
    for name, a, b in zip(names, a_avals, b_avals):
        if a.shape != b.shape or a.dtype != b.dtype:
            diffs.append(f"{name}: {a_name} {a.str_short()} vs {b_name} {b.str_short()}")
    if diffs:
        return f"{what}: " + "; ".join(diffs)
    return None


def leaf_names(treedef) -> list:
    """``output[0]['w']``-style names for each leaf of ``treedef``."""
    dummy = tree_util.tree_unflatten(treedef, list(range(treedef.num_leaves)))
    return [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(dummy)[0]]


def join_weak(avals_list):
    """Per position: the first aval, weakly typed only if every one is weak."""
    return [ShapedArray(a[0].shape, a[0].dtype, all(x.weak_type for x in a))
            for a in zip(*avals_list)]


def drop_outputs(closed: ClosedIR, keep) -> ClosedIR:
    ir, _ = dce(closed.ir, list(keep))
    return ClosedIR(ir, closed.consts)


# --- cond / switch -------------------------------------------------------------------------------

cond_p = Primitive("cond", multiple_results=True)


def _join_branches(traced):
    """Branches whose inputs are (all branches' consts..., operands...)."""
    all_consts, joined = [], []
    nconsts = [len(t[1]) for t in traced]
    for i, (closed, consts, *_) in enumerate(traced):
        ir = closed.ir
        own = ir.invars[:nconsts[i]]
        ops = ir.invars[nconsts[i]:]
        invars = []
        for j, (other, oc, *_) in enumerate(traced):
            invars.extend(own if j == i else [Var(get_aval(c)) for c in oc])
        joined.append(ClosedIR(IR([], invars + list(ops), ir.eqns, ir.outvars), []))
        all_consts.extend(consts)
    return joined, all_consts


def switch(index, branches, *operands):
    """Applies ``branches[index](*operands)``; ``index`` is clamped into range.

    Args:
      index: an integer scalar (may be traced).
      branches: a sequence of functions taking ``*operands`` and returning
        pytrees of the same structure, shapes and dtypes.
      operands: pytrees of arrays.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> float(lax.switch(1, [lambda x: x + 1.0, lambda x: x * 10.0], fnp.asarray(2.0)))
        20.0
    """
    return _switch(index, branches, operands, None)


def _switch(index, branches, operands, names):
    branches = list(branches)
    if not branches:
        raise ValueError("switch: branches must be a non-empty sequence of functions")
    for i, b in enumerate(branches):
        if not callable(b):
            raise TypeError(f"switch: branch {i} is a {type(b).__name__}, not a function")
    idx = as_value(index)
    idx_aval = get_aval(idx)
    if idx_aval.shape != () or idx_aval.dtype.kind not in "iub":
        raise TypeError(f"switch: index must be an integer scalar, got {idx_aval.str_short()}")
    from .elementwise import convert_element_type
    idx = convert_element_type(idx, np.int32)
    flat, in_tree = flatten_values(operands, "switch")
    in_avals = [get_aval(x) for x in flat]
    traced, out_trees, out_avals = [], [], []
    for i, b in enumerate(branches):
        closed, consts, out_tree = trace_pytree_fun(
            lambda *ops, b=b: b(*ops), in_tree, in_avals, f"switch branch {i}")
        traced.append((closed, consts))
        out_trees.append(out_tree)
        out_avals.append(closed.out_avals)
    names = names or [f"branch {i}" for i in range(len(branches))]
    what = "cond" if len(names) == 2 and names[1] == "true_fun" else "switch"
    for i in range(1, len(branches)):
        if out_trees[i] != out_trees[0]:
            raise TypeError(f"{what}: {names[0]} and {names[i]} return different tree "
                            f"structures: {out_trees[0]} vs {out_trees[i]}")
        msg = describe_avals_mismatch(f"{what}: the branches return different types",
                                      ["output" + n for n in leaf_names(out_trees[0])],
                                      out_avals[0], out_avals[i], names[0], names[i])
        if msg:
            raise TypeError(msg)
    joined, consts = _join_branches(traced)
    outs = bind(cond_p, idx, *consts, *flat, branches=tuple(joined))
    return tree_util.tree_unflatten(out_trees[0], outs)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, traceable.

    Under ``jit``, only the chosen branch runs; under ``vmap`` with a batched
    ``pred`` both run and the results are selected per example.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> float(lax.cond(fnp.asarray(3.0) > 0, lambda x: x, lambda x: -x, fnp.asarray(3.0)))
        3.0
    """
    p = as_value(pred)
    aval = get_aval(p)
    if aval.shape != ():
        raise TypeError(f"cond: pred must be a scalar (bool), got {aval.str_short()}; for an "
                        "elementwise choice use functrans.numpy.where")
    if not callable(true_fun) or not callable(false_fun):
        raise TypeError("cond: true_fun and false_fun must be functions: "
                        "cond(pred, true_fun, false_fun, *operands)")
    if aval.dtype != np.bool_:
        p = p != 0
    from .elementwise import convert_element_type
    return _switch(convert_element_type(p, np.int32), [false_fun, true_fun], operands,
                   ["false_fun", "true_fun"])


@cond_p.def_abstract_eval
def _cond_abstract_eval(index, *avals, branches):
    if index.shape != () or index.dtype != np.int32:
        raise TypeError(f"cond: index must be an int32 scalar, got {index.str_short()}")
    return join_weak([b.out_avals for b in branches])


def _clamp_index(i: int, n: int) -> int:
    return min(max(int(i), 0), n - 1)


@cond_p.def_impl
def _cond_impl(index, *args, branches):
    outs = run_ir(branches[_clamp_index(index, len(branches))], args)
    return [np.asarray(o) for o in outs]


def _cond_jvp(primals, tangents, *, branches):
    index, ops = primals[0], primals[1:]
    nonzeros = [type(t) is not Zero for t in tangents[1:]]
    primal_out = bind(cond_p, *primals, branches=branches)
    in_avals = [get_aval(x) for x in ops]
    traced = [jvp_ir(b, nonzeros, in_avals, what="cond jvp") for b in branches]
    n_out = len(primal_out)
    # the tangent cond returns only tangents (its primal outputs would be dead code)
    tangent_branches = [(drop_outputs(c, [False] * n_out + [True] * n_out), consts)
                        for c, consts, _ in traced]
    joined, consts = _join_branches(tangent_branches)
    nz_tangents = [t for t in tangents[1:] if type(t) is not Zero]
    if not any(any(nz) for _, _, nz in traced):
        return primal_out, [Zero(tangent_aval(get_aval(o))) for o in primal_out]
    tangent_out = bind(cond_p, index, *consts, *ops, *nz_tangents, branches=tuple(joined))
    return primal_out, tangent_out


cond_p.jvp = _cond_jvp


def _cond_transpose(cts, index, *args, branches):
    from ..interpreters.reverse import is_undefined
    if is_undefined(index):
        raise TypeError("cond: cannot transpose with respect to the branch index")
    lin = [is_undefined(a) for a in args]
    known_vals = [a for a, u in zip(args, lin) if not u]
    cts = [instantiate(c) if c is not None else None for c in cts]
    ct_avals = [tangent_aval(a) for a in branches[0].out_avals]
    cts = [c if c is not None else instantiate(Zero(a)) for c, a in zip(cts, ct_avals)]
    # every branch returns a cotangent (zeros where none flows) for every linear operand
    traced = [transpose_ir(b, lin, [True] * len(cts), "cond transpose", instantiate_all=True)
              for b in branches]
    joined, consts = _join_branches(traced)
    cts_in = bind(cond_p, index, *consts, *known_vals, *cts, branches=tuple(joined))
    it = iter(cts_in)
    return [None] + [next(it) if u else None for u in lin]


cond_p.transpose = _cond_transpose


def _cond_batch(args, bdims, *, branches):
    from ..interpreters.batching import batch_size
    size = batch_size(args, bdims)
    index, ops = args[0], args[1:]
    idx_bdim, op_bdims = bdims[0], bdims[1:]
    op_avals = [get_aval(x) for x in ops]
    if idx_bdim is None:
        masks = [batch_ir(b, size, op_bdims, in_avals=op_avals).out_bdims for b in branches]
        force = [0 if any(m[i] is not None for m in masks) else None
                 for i in range(len(masks[0]))]
        traced = [batch_ir(b, size, op_bdims, force, op_avals) for b in branches]
        joined, consts = _join_branches(traced)
        return bind(cond_p, index, *consts, *ops, branches=tuple(joined)), force
    # a batched index: run every branch on the whole batch and select per example
    from .elementwise import clamp, select_n_p
    from .shape import broadcast_in_dim_p
    index = clamp(np.int32(0), moveaxis(index, idx_bdim, 0), np.int32(len(branches) - 1))
    outs_per_branch = []
    for b in branches:
        closed, consts, _ = batch_ir(b, size, op_bdims, [0] * len(b.out_avals), op_avals)
        outs_per_branch.append(run_ir(closed, consts + list(ops)))
    results = []
    for cases in zip(*outs_per_branch):
        shape = get_aval(cases[0]).shape
        which = bind(broadcast_in_dim_p, index, shape=shape, broadcast_dimensions=(0,))
        if len(branches) == 1:
            results.append(cases[0])
        else:
            results.append(bind(select_n_p, which, *cases))
    return results, [0] * len(results)


cond_p.batch = _cond_batch


def _cond_lower(ctx, index, *args, branches):
    n = len(branches)
    idx_aval = ctx.avals_in[0]
    out_avals = ctx.avals_out
    if n == 1:
        return ctx.lower_ir(branches[0], list(args))
    lo = ctx.constant(0, idx_aval)
    hi = ctx.constant(n - 1, idx_aval)
    index = ctx.op("stablehlo.clamp", [lo, index, hi], [idx_aval] * 3, idx_aval)
    regions = []
    for b in branches:
        regions.append(ctx.region([], lambda rctx, b=b: (rctx.lower_ir(b, list(args)),
                                                        list(b.out_avals))))
    return ctx.op("stablehlo.case", [index], [idx_aval], list(out_avals), regions=regions)


cond_p.lower = _cond_lower


# --- while_loop ----------------------------------------------------------------------------------

while_p = Primitive("while", multiple_results=True)


def while_loop(cond_fun, body_fun, init_val):
    """Repeats ``val = body_fun(val)`` while ``cond_fun(val)``; returns the final ``val``.

    Forward-differentiable (jvp); reverse mode needs a known number of
    iterations: use ``scan`` or ``fori_loop`` with Python-int bounds.

    Example:
        >>> import functrans.numpy as fnp
        >>> from functrans import lax
        >>> int(lax.while_loop(lambda i: i < 10, lambda i: i + 3, fnp.asarray(0)))
        12
    """
    flat, in_tree = flatten_values(init_val, "while_loop")
    avals = [get_aval(x) for x in flat]
    body, body_consts, body_tree, avals = _trace_carry_fun(body_fun, in_tree, avals,
                                                           "while_loop body_fun")
    cond_ir, cond_consts, _ = trace_pytree_fun(cond_fun, tree_util.treedef_tuple([in_tree]),
                                               avals, "while_loop cond_fun")
    c_out = cond_ir.out_avals
    if len(c_out) != 1 or c_out[0].shape != () or c_out[0].dtype != np.bool_:
        got = ", ".join(a.str_short() for a in c_out)
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got {got}")
    flat = [_cast_carry(x, a) for x, a in zip(flat, avals)]
    outs = bind(while_p, *cond_consts, *body_consts, *flat, cond_ir=cond_ir, body_ir=body,
                cond_nconsts=len(cond_consts), body_nconsts=len(body_consts))
    return tree_util.tree_unflatten(in_tree, outs)


def _cast_carry(x, aval):
    """An initial carry value converted to the type ``_trace_carry_fun`` chose for it."""
    x_aval = get_aval(x)
    if x_aval.dtype != aval.dtype or x_aval.weak_type != aval.weak_type:
        from .elementwise import convert_element_type
        return convert_element_type(x, aval.dtype, weak_type=aval.weak_type)
    return x


def _trace_carry_fun(fun, in_tree, avals, what, x_tree=None, x_avals=()):
    """Traces a loop body whose (first) output must match the carry's tree, shapes and dtypes.

    JAX's rule for weakly typed initial values (Python scalars, say): a weak
    carry whose output has another dtype (or shape) is promoted to the
    strongly typed ``promote_types`` of the two and the body traced once more,
    so ``fori_loop(0, n, lambda i, c: c * 1.5, 1)`` carries a float32. After
    that every carry must keep its shape and dtype; only its weak type may
    change (the loop's results take the body's). A strong int32 carry that
    becomes float32 is still an error.

    Returns ``(closed, consts, out_tree, carry_avals)``; cast the initial
    values to ``carry_avals`` with :func:`_cast_carry`.
    """
    from ..dtypes import promote_types
    for attempt in range(2):
        if x_tree is None:
            closed, consts, out_tree = trace_pytree_fun(
                fun, tree_util.treedef_tuple([in_tree]), avals, what)
            carry_out_tree = out_tree
        else:
            both_tree = tree_util.treedef_tuple([in_tree, x_tree])
            closed, consts, out_tree = trace_pytree_fun(
                lambda c, x: fun(c, x), both_tree, list(avals) + list(x_avals), what)
            if not _is_pair(out_tree):
                raise TypeError(f"{what} must return a pair (carry, y), got a value with "
                                f"structure {out_tree}")
            carry_out_tree = tree_util.treedef_children(out_tree)[0]
        if carry_out_tree != in_tree:
            raise TypeError(f"{what}: the carry's tree structure changes from {in_tree} (input) "
                            f"to {carry_out_tree} (output)")
        out_avals = closed.out_avals[:len(avals)]
        new = [ShapedArray(a.shape, promote_types((a.dtype, True), (o.dtype, o.weak_type))[0])
               if a.weak_type and (a.shape, a.dtype) != (o.shape, o.dtype) else a
               for a, o in zip(avals, out_avals)]
        if attempt or new == list(avals):
            break
        avals = new
    msg = describe_avals_mismatch(f"{what}: the carry changes type",
                                  ["carry" + nm for nm in leaf_names(in_tree)], avals,
                                  out_avals, "input", "output")
    if msg:
        raise TypeError(msg + ". The body must return a carry of the same shapes and dtypes "
                        "as its input (convert with .astype(...) where needed)")
    return closed, consts, out_tree, list(avals)


def _is_pair(treedef) -> bool:
    dummy = tree_util.tree_unflatten(treedef, [0] * treedef.num_leaves)
    return isinstance(dummy, (tuple, list)) and len(dummy) == 2


@while_p.def_abstract_eval
def _while_abstract_eval(*avals, cond_ir, body_ir, cond_nconsts, body_nconsts):
    # the body's output types: a weakly typed initial value can come back strong (as in JAX)
    return list(body_ir.out_avals)


@while_p.def_impl
def _while_impl(*args, cond_ir, body_ir, cond_nconsts, body_nconsts):
    cc = list(args[:cond_nconsts])
    bc = list(args[cond_nconsts:cond_nconsts + body_nconsts])
    carry = list(args[cond_nconsts + body_nconsts:])
    while bool(np.asarray(run_ir(cond_ir, cc + carry)[0])):
        carry = run_ir(body_ir, bc + carry)
    return [np.asarray(c) for c in carry]


def _while_jvp(primals, tangents, *, cond_ir, body_ir, cond_nconsts, body_nconsts):
    params = dict(cond_ir=cond_ir, body_ir=body_ir, cond_nconsts=cond_nconsts,
                  body_nconsts=body_nconsts)
    primal_out = bind(while_p, *primals, **params)
    nc = cond_nconsts
    bconsts_t = tangents[nc:nc + body_nconsts]
    carry_t = tangents[nc + body_nconsts:]
    if all(type(t) is Zero for t in list(bconsts_t) + list(carry_t)):
        return primal_out, [Zero(tangent_aval(get_aval(o))) for o in primal_out]
    cc = primals[:nc]
    bc = primals[nc:nc + body_nconsts]
    carry = primals[nc + body_nconsts:]
    bc_nz = [type(t) is not Zero for t in bconsts_t]
    carry_avals = [get_aval(x) for x in carry]
    # every carry tangent is carried (zeros where none flows in): a fixed point is not needed
    jbody, jconsts, _ = jvp_ir(body_ir, bc_nz + [True] * len(carry),
                               [get_aval(x) for x in bc] + carry_avals, what="while_loop jvp")
    # jbody: (bc, carry, bc_t_nz, carry_t) -> (carry, carry_t); reorder its inputs so the
    # loop-invariant ones (consts) come first and the carry (primal, tangent) last
    ir = jbody.ir
    nb, ncar = len(bc), len(carry)
    nj = len(jconsts)
    jc_vars = ir.invars[:nj]
    bc_vars = ir.invars[nj:nj + nb]
    carry_vars = ir.invars[nj + nb:nj + nb + ncar]
    bct_vars = ir.invars[nj + nb + ncar:nj + nb + ncar + sum(bc_nz)]
    ct_vars = ir.invars[nj + nb + ncar + sum(bc_nz):]
    body2 = ClosedIR(IR([], list(jc_vars) + list(bc_vars) + list(bct_vars) + list(carry_vars)
                        + list(ct_vars), ir.eqns, ir.outvars), [])
    cvars = cond_ir.ir.invars
    cond2 = ClosedIR(IR([], list(cvars) + [Var(tangent_aval(a)) for a in carry_avals],
                        cond_ir.ir.eqns, cond_ir.ir.outvars), [])
    bct = [t for t in bconsts_t if type(t) is not Zero]
    ct = [instantiate(t) if type(t) is not Zero else instantiate(Zero(tangent_aval(a)))
          for t, a in zip(carry_t, carry_avals)]
    outs = bind(while_p, *cc, *jconsts, *bc, *bct, *carry, *ct, cond_ir=cond2, body_ir=body2,
                cond_nconsts=nc, body_nconsts=nj + nb + len(bct))
    return primal_out, outs[ncar:]


while_p.jvp = _while_jvp


def _while_transpose(cts, *args, **params):
    raise TypeError(
        "Reverse-mode differentiation (grad, vjp) of lax.while_loop is not supported: the "
        "number of iterations is not known ahead of time, so the values the backward pass "
        "needs cannot be stored. Use lax.scan, or lax.fori_loop with Python-int bounds "
        "(which becomes a scan); forward mode (jvp, jacfwd) of while_loop works.")


while_p.transpose = _while_transpose


def _while_batch(args, bdims, *, cond_ir, body_ir, cond_nconsts, body_nconsts):
    from ..interpreters.batching import batch_size
    size = batch_size(args, bdims)
    nc, nb = cond_nconsts, body_nconsts
    cc, bc, carry = args[:nc], args[nc:nc + nb], args[nc + nb:]
    cc_d, bc_d, carry_d = bdims[:nc], bdims[nc:nc + nb], bdims[nc + nb:]
    # move batch axes to 0
    cc = [moveaxis(x, d, 0) if d is not None else x for x, d in zip(cc, cc_d)]
    bc = [moveaxis(x, d, 0) if d is not None else x for x, d in zip(bc, bc_d)]
    cc_d = [None if d is None else 0 for d in cc_d]
    bc_d = [None if d is None else 0 for d in bc_d]
    batched = [d is not None for d in carry_d]
    carry_avals0 = [get_aval(x) for x in carry]
    # which carries become batched: a fixed point of the body
    for _ in range(len(carry) + 1):
        avals = batched_avals(carry_avals0, carry_d, batched, size)
        out_d = batch_ir(body_ir, size, bc_d + [0 if b else None for b in batched],
                         in_avals=[get_aval(x) for x in bc] + avals).out_bdims
        new = [b or d is not None for b, d in zip(batched, out_d)]
        if new == batched:
            break
        batched = new
    avals = batched_avals(carry_avals0, carry_d, batched, size)
    pred_d = batch_ir(cond_ir, size, cc_d + [0 if b else None for b in batched],
                      in_avals=[get_aval(x) for x in cc] + avals).out_bdims
    pred_batched = pred_d[0] is not None
    if pred_batched:
        batched = [True] * len(carry)
        avals = batched_avals(carry_avals0, carry_d, batched, size)
    carry = [move_bdim(x, d, 0, size) if b else x for x, d, b in zip(carry, carry_d, batched)]
    carry_bd = [0 if b else None for b in batched]
    cond_b, cond_consts, _ = batch_ir(cond_ir, size, cc_d + carry_bd,
                                      [0 if pred_batched else None],
                                      [get_aval(x) for x in cc] + avals)
    body_b, body_consts, _ = batch_ir(body_ir, size, bc_d + carry_bd, carry_bd,
                                      [get_aval(x) for x in bc] + avals)
    if pred_batched:
        cond_b, cond_consts, body_b, body_consts = _masked_loop(
            cond_b, cond_consts, body_b, body_consts, cc, bc, avals)
        outs = bind(while_p, *cond_consts, *body_consts, *carry, cond_ir=cond_b,
                    body_ir=body_b, cond_nconsts=len(cond_consts),
                    body_nconsts=len(body_consts))
        return outs, carry_bd
    outs = bind(while_p, *cond_consts, *cc, *body_consts, *bc, *carry, cond_ir=cond_b,
                body_ir=body_b, cond_nconsts=len(cond_consts) + len(cc),
                body_nconsts=len(body_consts) + len(bc))
    return outs, carry_bd


def batched_avals(avals, bdims, batched, size):
    """The avals of loop carries with their batch axes at 0 where ``batched``
    (broadcast to ``size`` where the value had none)."""
    out = []
    for a, d, b in zip(avals, bdims, batched):
        if b and d is None:
            out.append(ShapedArray((size,) + a.shape, a.dtype, a.weak_type))
        elif b:
            shape = list(a.shape)
            shape.insert(0, shape.pop(d))
            out.append(ShapedArray(tuple(shape), a.dtype, a.weak_type))
        else:
            out.append(a)
    return out


def _masked_loop(cond_b, cond_consts, body_b, body_consts, cc, bc, avals):
    """A batched predicate: loop while any example runs; update only the running ones."""
    from .elementwise import select_n_p
    from .reductions import reduce_or_p
    from .shape import broadcast_in_dim_p
    ncc = len(cond_consts) + len(cc)

    def cond_fn(*xs):
        pred = run_ir(cond_b, list(xs))[0]
        return [bind(reduce_or_p, pred, axes=(0,))]

    def body_fn(*xs):
        c_args, b_args, carry = xs[:ncc], xs[ncc:ncc + nbc], list(xs[ncc + nbc:])
        pred = run_ir(cond_b, list(c_args) + carry)[0]
        new = run_ir(body_b, list(b_args) + carry)
        out = []
        for old, nw in zip(carry, new):
            shape = get_aval(old).shape
            which = bind(broadcast_in_dim_p, pred, shape=shape, broadcast_dimensions=(0,))
            out.append(bind(select_n_p, which, old, nw))
        return out

    nbc = len(body_consts) + len(bc)
    c_avals = [get_aval(x) for x in list(cond_consts) + list(cc)]
    b_avals = [get_aval(x) for x in list(body_consts) + list(bc)]
    new_cond, new_cc = trace_hoisted(cond_fn, c_avals + avals, "while_loop (vmap)")
    # the body needs the cond's inputs as well: its consts are (cond args, body args)
    new_body, new_bc = trace_hoisted(body_fn, c_avals + b_avals + avals, "while_loop (vmap)")
    return (new_cond, new_cc + list(cond_consts) + list(cc), new_body,
            new_bc + list(cond_consts) + list(cc) + list(body_consts) + list(bc))


while_p.batch = _while_batch


def _while_lower(ctx, *args, cond_ir, body_ir, cond_nconsts, body_nconsts):
    # everything travels in the loop state; the consts come back unchanged each iteration
    avals = list(ctx.avals_in)
    nc, nb = cond_nconsts, body_nconsts

    def cond_region(rctx, *xs):
        pred = rctx.lower_ir(cond_ir, list(xs[:nc]) + list(xs[nc + nb:]))
        return pred, [ShapedArray((), np.bool_)]

    def body_region(rctx, *xs):
        new = rctx.lower_ir(body_ir, list(xs[nc:nc + nb]) + list(xs[nc + nb:]))
        return list(xs[:nc + nb]) + new, avals

    outs = ctx.op("stablehlo.while", list(args), avals, avals,
                  regions=[ctx.region(avals, cond_region), ctx.region(avals, body_region)])
    return outs[nc + nb:]


while_p.lower = _while_lower

__all__ = ["cond", "switch", "while_loop", "cond_p", "while_p", "run_ir", "trace_pytree_fun",
           "flatten_values"]
