"""The combining scatters ``scatter_mul``, ``scatter_min`` and ``scatter_max``: their
primitives, wrappers and every rule, on the scatter machinery of
``gather_scatter.py`` (index semantics and modes are described there); and
``SCATTER_PRIMITIVES``, every scatter by the name of its combine.

Duplicate indices combine (multiply, minimum, maximum). Autodiff: scatter_mul
is linear in the operand only; its tangent with respect to the updates is
exact with duplicates, zeros included (JAX supports only unique indices
there). scatter_min/max are not linear; a tie (between updates, or with the
operand) gets the average of the tied tangents, as JAX does. vmap and jit are
the shared scatter rules; the combine region on bool is and/and/or (numpy's
ufuncs on bool), min/max propagate NaN like np.minimum/maximum and, on complex
numbers, compare lexicographically as numpy does (XLA's minimum/maximum would
compare real parts only).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import ShapedArray, bind, get_aval
from ..interpreters.jvp import Zero, instantiate, tangent_aval
from ..interpreters.reverse import is_undefined
from . import elementwise as ew
from ._slicing_common import _BOOL, _compare, _full_like
from .gather_scatter import (_def_scatter_batch, _def_scatter_lower, _inverse_gather,
                             _scatter_add, _scatter_primitive, _scatter_wrapper, scatter_add_p,
                             scatter_p)


# --- scatter_mul ----------------------------------------------------------------------------

scatter_mul_p = _scatter_primitive("scatter_mul", np.multiply)
scatter_mul = _scatter_wrapper(scatter_mul_p, "multiplied in (duplicates accumulate)",
                               "[5.0, 1.0, 42.0]")


def _scatter_mul_jvp(primals, tangents, *, dimension_numbers, mode):
    x, indices, y = primals
    t_x, _, t_y = tangents
    dn = dimension_numbers
    ans = bind(scatter_mul_p, x, indices, y, dimension_numbers=dn, mode=mode)
    t_out = Zero(tangent_aval(get_aval(ans)))
    if type(t_x) is not Zero:
        t_out = bind(scatter_mul_p, t_x, indices, y, dimension_numbers=dn, mode=mode)
    if type(t_y) is not Zero:
        # out[p] = x[p] * prod_{k -> p} y[k], so d out[p] = x[p] * sum_k t_y[k] * E[k]
        # with E[k] = prod_{j -> p, j != k} y[j], the product of the other updates
        # that hit p, computed without dividing by zero: from the product Q of
        # the nonzero updates at p and the number Z of zero updates at p,
        #   E[k] = Q / y[k] if Z == 0;  Q if Z == 1 and y[k] == 0;  else 0.
        y_shape = get_aval(y).shape
        is_zero = ew.eq(y, _full_like(y, 0))
        ones_y, zeros_y = _full_like(y, 1), _full_like(y, 0)
        safe_y = ew.select(is_zero, ones_y, y)
        ones_x = _full_like(x, 1)
        q = bind(scatter_mul_p, ones_x, indices, safe_y, dimension_numbers=dn, mode=mode)
        z = _scatter_add(_full_like(x, 0), indices, ew.select(is_zero, ones_y, zeros_y), dn, mode)
        q_k = _inverse_gather(q, indices, y_shape, dn, mode, fill_value=1)
        z_k = _inverse_gather(z, indices, y_shape, dn, mode)
        others = ew.select(is_zero,
                           ew.select(ew.eq(z_k, ones_y), q_k, zeros_y),
                           ew.select(ew.eq(z_k, zeros_y), ew.div(q_k, safe_y), zeros_y))
        spread = _scatter_add(_full_like(x, 0), indices, ew.mul(t_y, others), dn, mode)
        t_out = _add(t_out, ew.mul(x, spread))
    return ans, t_out


def _add(a, b):
    return b if type(a) is Zero else ew.add(a, b)


scatter_mul_p.def_jvp(_scatter_mul_jvp)


@scatter_mul_p.def_transpose
def _scatter_mul_transpose(ct, x, indices, updates, *, dimension_numbers, mode):
    # out = x * P elementwise (P: the product of the updates at each element),
    # so x's cotangent is ct * P. The jvp never puts a tangent in the updates
    # slot (scatter_mul is linear in them only without duplicates).
    if is_undefined(updates):
        raise NotImplementedError("scatter_mul is not linear in its updates: transposing "
                                  "with respect to them is not supported")
    t_x = bind(scatter_mul_p, ct, indices, updates, dimension_numbers=dimension_numbers,
               mode=mode)
    return [t_x, None, None]


_def_scatter_batch(scatter_mul_p)
_def_scatter_lower(scatter_mul_p, ("stablehlo.multiply", "stablehlo.and"))


# --- scatter_min, scatter_max ---------------------------------------------------------------

scatter_min_p = _scatter_primitive("scatter_min", np.minimum)
scatter_max_p = _scatter_primitive("scatter_max", np.maximum)
scatter_min = _scatter_wrapper(scatter_min_p, "combined by minimum", "[1.0, 1.0, 1.0]")
scatter_max = _scatter_wrapper(scatter_max_p, "combined by maximum", "[5.0, 1.0, 7.0]")


def _safe_reciprocal(n):
    """1 / n, and 0 where n is 0 (windows a "drop" scatter dropped have no count)."""
    zero = ew.eq(n, _full_like(n, 0))
    ones = _full_like(n, 1)
    return ew.select(zero, _full_like(n, 0), ew.div(ones, ew.select(zero, ones, n)))


def _scatter_extremal_jvp(prim):
    def rule(primals, tangents, *, dimension_numbers, mode):
        x, indices, y = primals
        t_x, _, t_y = tangents
        dn = dimension_numbers
        ans = bind(prim, x, indices, y, dimension_numbers=dn, mode=mode)
        if type(t_x) is Zero and type(t_y) is Zero:
            return ans, Zero(tangent_aval(get_aval(ans)))
        t_x, t_y = instantiate(t_x), instantiate(t_y)
        # JAX's scheme: a tie's tangent is the average over the tied values
        # (the updates equal to the result, and the operand if it kept its
        # value). Everything is read back per update element; each update adds
        # its share of the correction to the operand's tangent, so the
        # scatter_add leaves t_x alone where no update landed.
        y_shape = get_aval(y).shape
        back = lambda a: _inverse_gather(a, indices, y_shape, dn, mode)
        initial, target = back(x), back(ans)
        ones_y, zeros_y = _full_like(y, 1), _full_like(y, 0)
        won = ew.eq(y, target)
        kept = ew.eq(initial, target)
        zeros_x = _full_like(x, 0)
        num_won = back(_scatter_add(zeros_x, indices, ew.select(won, ones_y, zeros_y), dn, mode))
        num_refs = back(_scatter_add(zeros_x, indices, ones_y, dn, mode))
        share = _safe_reciprocal(ew.add(num_won, ew.select(kept, ones_y, zeros_y)))
        update_coef = ew.select(won, share, zeros_y)
        operand_coef = ew.mul(ew.sub(ew.select(kept, share, zeros_y), ones_y),
                              _safe_reciprocal(num_refs))
        t_updates = ew.add(ew.mul(back(t_x), operand_coef), ew.mul(t_y, update_coef))
        return ans, _scatter_add(t_x, indices, t_updates, dn, mode)
    prim.def_jvp(rule)
    return rule


_scatter_extremal_jvp(scatter_min_p)
_scatter_extremal_jvp(scatter_max_p)


def _complex_extremum(ctx, old, new, aval: ShapedArray, direction: str) -> str:
    """np.minimum/np.maximum of two complex scalars: XLA's minimum/maximum compare
    only real parts, numpy orders lexicographically (real, then imaginary) and
    returns a NaN operand (the first if both are NaN)."""
    part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
    pred = aval.update(dtype=_BOOL)
    o_re, o_im, n_re, n_im = (ctx.op(f"stablehlo.{k}", [v], [aval], part)
                              for v in (old, new) for k in ("real", "imag"))

    def is_nan(re, im):
        return ctx.op("stablehlo.or", [_compare(ctx, re, re, part, "NE"),
                                       _compare(ctx, im, im, part, "NE")], [pred] * 2, pred)

    def both(op, a, b):
        return ctx.op(f"stablehlo.{op}", [a, b], [pred] * 2, pred)

    old_nan, new_nan = is_nan(o_re, o_im), is_nan(n_re, n_im)
    before = both("or", _compare(ctx, n_re, o_re, part, direction),
                  both("and", _compare(ctx, n_re, o_re, part, "EQ"),
                       _compare(ctx, n_im, o_im, part, direction)))
    take_new = both("and", ctx.op("stablehlo.not", [old_nan], [pred], pred),
                    both("or", new_nan, before))
    return ctx.op("stablehlo.select", [take_new, new, old], [pred, aval, aval], aval)


_def_scatter_batch(scatter_min_p)
_def_scatter_batch(scatter_max_p)
_def_scatter_lower(scatter_min_p, ("stablehlo.minimum", "stablehlo.and"),
                   lambda inner, old, new, aval: _complex_extremum(inner, old, new, aval, "LT"))
_def_scatter_lower(scatter_max_p, ("stablehlo.maximum", "stablehlo.or"),
                   lambda inner, old, new, aval: _complex_extremum(inner, old, new, aval, "GT"))

SCATTER_PRIMITIVES = {"set": scatter_p, "add": scatter_add_p, "mul": scatter_mul_p,
                      "min": scatter_min_p, "max": scatter_max_p}
