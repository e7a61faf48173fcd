"""Differentiation rules (jvp and transpose) of the slicing primitives.

They live apart from ``slicing.py`` to keep both files readable; this module
is imported at the end of it, so every rule is registered with its primitive.
Rules are written with ``bind`` and the lax-level wrappers, so they can be
differentiated again and traced.

Linearity, per primitive:

* slice, dynamic_slice, gather: linear in the operand.
* dynamic_update_slice, scatter_add, scatter: linear in the operand and the
  update(s) together.
* scatter_mul: linear in the operand only; scatter_min/max: not linear.

Index operands (start indices, gather/scatter indices) are integers: their
tangent is always a symbolic Zero and their cotangent None.

Out-of-bounds windows. A gather in mode "fill" reads ``fill_value`` for a
window that does not fit; the tangent there is 0 (not the fill value), and in
the transpose those windows contribute nothing: a scatter_add in mode "drop",
which drops exactly the windows the gather filled. Mode "clip" pairs with
"clip": both clamp a start the same way. Mode "promise_in_bounds" reads as
"clip" does but, as in JAX, transposes to a "drop" scatter_add: a clamped
window gets no cotangent (its tangent, a gather in the same mode, is read
clamped, so jvp and vjp disagree there, as JAX's do). dynamic_slice and
dynamic_update_slice clamp their starts identically for equal window sizes, so
each is the other's transpose with the same start operands (bound directly:
the lax wrappers would wrap negative starts a second time).

Duplicate indices. ``scatter`` (overwrite) keeps one of the updates that hit
an element. Its rules use JAX's scheme: scatter a distinct id per update
window, gather the ids back, and keep only the operand elements no update
reached and the update elements whose id won. The jvp's primal output and
tangent are then scatter_adds of the masked values, so they agree on the
winner even where a backend's choice among duplicates is not deterministic
(and reverse mode, which transposes that tangent, needs no scatter transpose).
The scatter transpose, for linear functions written with scatter, masks the
cotangent and its gather back the same way, exact with duplicates.
scatter_min/max give a tie (between updates, or with the
operand) the average of the tied tangents, as JAX does. scatter_mul's tangent
with respect to the updates is exact with duplicates, zeros included (JAX
supports only unique indices there).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..array import _new_array
from ..core import ShapedArray, bind, get_aval
from ..interpreters.jvp import Zero, deflinear, instantiate, tangent_aval, zeros_like_aval
from ..interpreters.reverse import is_undefined
from . import elementwise as ew
from .shape import broadcast_in_dim, iota, pad, reshape
from .slicing import (GatherDimensionNumbers, ScatterDimensionNumbers, dynamic_slice_p,
                      dynamic_update_slice_p, gather_p, scatter_add_p, scatter_max_p,
                      scatter_min_p, scatter_mul_p, scatter_p, slice_p)


def _aval(x):
    """The aval of a transpose-rule argument, linear (undefined) or not."""
    return x.aval if is_undefined(x) else get_aval(x)


def _zeros(shape, dtype):
    return zeros_like_aval(ShapedArray(tuple(shape), dtype))


def _scalar(value, dtype):
    return _new_array(np.asarray(value, dtype), False)


def _full_like(x, value):
    """An array of ``value`` with x's shape, dtype and weak type."""
    aval = get_aval(x)
    return broadcast_in_dim(_new_array(np.asarray(value, aval.dtype), aval.weak_type),
                            aval.shape, ())


def _linear_jvp(prim, linear):
    """A jvp for ``prim`` linear in the inputs ``linear`` together (the others are indices).

    The tangent is ``prim`` applied to those inputs' tangents (Zeros instantiated)
    with the other inputs' primal values in place.
    """
    def rule(primals, tangents, **params):
        ans = bind(prim, *primals, **params)
        if all(type(tangents[i]) is Zero for i in linear):
            return ans, Zero(tangent_aval(get_aval(ans)))
        args = list(primals)
        for i in linear:
            args[i] = instantiate(tangents[i])
        return ans, bind(prim, *args, **params)
    prim.def_jvp(rule)
    return rule


# --- slice ----------------------------------------------------------------------------------

deflinear(slice_p)


@slice_p.def_transpose
def _slice_transpose(ct, x, *, start_indices, limit_indices, strides):
    # Zero padding puts each element back: low = start, interior = stride - 1,
    # high = whatever is left past the last element read.
    shape = x.aval.shape
    out_shape = get_aval(ct).shape
    strides = strides or (1,) * len(shape)
    config = []
    for lo, n, s, d in zip(start_indices, out_shape, strides, shape):
        end = lo + (n - 1) * s + 1 if n else lo
        config.append((lo, d - end, s - 1 if n else 0))
    return [pad(ct, _scalar(0, get_aval(ct).dtype), config)]


# --- dynamic_slice, dynamic_update_slice ----------------------------------------------------

_linear_jvp(dynamic_slice_p, (0,))


@dynamic_slice_p.def_transpose
def _dynamic_slice_transpose(ct, x, *starts, slice_sizes):
    # dynamic_update_slice clamps its starts exactly as dynamic_slice did.
    zeros = _zeros(x.aval.shape, get_aval(ct).dtype)
    return [bind(dynamic_update_slice_p, zeros, ct, *starts)] + [None] * len(starts)


_linear_jvp(dynamic_update_slice_p, (0, 1))


@dynamic_update_slice_p.def_transpose
def _dynamic_update_slice_transpose(ct, x, update, *starts):
    # The operand's elements under the window were overwritten (cotangent 0);
    # the update's cotangent is the window of ct.
    update_shape = _aval(update).shape
    dtype = get_aval(ct).dtype
    t_x = t_update = None
    if is_undefined(x):
        t_x = bind(dynamic_update_slice_p, ct, _zeros(update_shape, dtype), *starts)
    if is_undefined(update):
        t_update = bind(dynamic_slice_p, ct, *starts, slice_sizes=update_shape)
    return [t_x, t_update] + [None] * len(starts)


# --- gather ---------------------------------------------------------------------------------


def _gather_jvp(primals, tangents, *, dimension_numbers, slice_sizes, mode, fill_value):
    x, indices = primals
    ans = bind(gather_p, x, indices, dimension_numbers=dimension_numbers,
               slice_sizes=slice_sizes, mode=mode, fill_value=fill_value)
    t = tangents[0]
    if type(t) is Zero:
        return ans, Zero(tangent_aval(get_aval(ans)))
    # A filled (out-of-bounds) window is constant: its tangent is 0.
    t_out = bind(gather_p, t, indices, dimension_numbers=dimension_numbers,
                 slice_sizes=slice_sizes, mode=mode, fill_value=0 if mode == "fill" else None)
    return ans, t_out


gather_p.def_jvp(_gather_jvp)


def _scatter_dnums_of_gather(dn: GatherDimensionNumbers) -> ScatterDimensionNumbers:
    return ScatterDimensionNumbers(update_window_dims=dn.offset_dims,
                                   inserted_window_dims=dn.collapsed_slice_dims,
                                   scatter_dims_to_operand_dims=dn.start_index_map)


@gather_p.def_transpose
def _gather_transpose(ct, x, indices, *, dimension_numbers, slice_sizes, mode, fill_value):
    assert is_undefined(x) and not is_undefined(indices)
    zeros = _zeros(x.aval.shape, get_aval(ct).dtype)
    t_x = bind(scatter_add_p, zeros, indices, ct,
               dimension_numbers=_scatter_dnums_of_gather(dimension_numbers),
               mode="clip" if mode == "clip" else "drop")  # see the module docstring
    return [t_x, None]


# --- the scatters: shared helpers -----------------------------------------------------------


def _inverse_gather(operand, indices, updates_shape, dn: ScatterDimensionNumbers, mode,
                    fill_value=0):
    """The gather that reads back, per update element, the operand element it was
    scattered to (``fill_value`` for a window a "drop" scatter dropped).
    """
    sizes = iter(updates_shape[d] for d in dn.update_window_dims)
    slice_sizes = tuple(1 if d in dn.inserted_window_dims else next(sizes)
                        for d in range(get_aval(operand).ndim))
    gdn = GatherDimensionNumbers(offset_dims=dn.update_window_dims,
                                 collapsed_slice_dims=dn.inserted_window_dims,
                                 start_index_map=dn.scatter_dims_to_operand_dims)
    gmode = "clip" if mode == "clip" else "fill"
    return bind(gather_p, operand, indices, dimension_numbers=gdn, slice_sizes=slice_sizes,
                mode=gmode, fill_value=fill_value if gmode == "fill" else None)


def _scatter_add(operand, indices, updates, dn, mode):
    return bind(scatter_add_p, operand, indices, updates, dimension_numbers=dn, mode=mode)


def _winner_masks(operand_shape, indices, updates_shape, dn, mode):
    """Which operand elements no update reached, and which update elements won.

    Each update window gets an id (1, 2, ...); scattering the ids with the
    scatter's own indices and mode, then gathering them back, tells each
    update element whether it is the one its target kept.
    """
    ids_shape = tuple(1 if d in dn.update_window_dims else n
                      for d, n in enumerate(updates_shape))
    num_ids = math.prod(ids_shape)
    id_dtype = dtypes.int32
    ids = ew.add(reshape(iota(id_dtype, num_ids), ids_shape), _scalar(1, id_dtype))
    ids = broadcast_in_dim(ids, tuple(updates_shape), tuple(range(len(updates_shape))))
    scattered = bind(scatter_p, _zeros(operand_shape, id_dtype), indices, ids,
                     dimension_numbers=dn, mode=mode)
    untouched = ew.eq(scattered, _full_like(scattered, 0))
    won = ew.eq(ids, _inverse_gather(scattered, indices, updates_shape, dn, mode))
    return untouched, won


def _mask(which, x):
    return ew.select(which, x, _full_like(x, 0))


# --- scatter_add ----------------------------------------------------------------------------

_linear_jvp(scatter_add_p, (0, 2))


@scatter_add_p.def_transpose
def _scatter_add_transpose(ct, x, indices, updates, *, dimension_numbers, mode):
    assert not is_undefined(indices)
    t_x = ct if is_undefined(x) else None
    t_updates = None
    if is_undefined(updates):
        t_updates = _inverse_gather(ct, indices, updates.aval.shape, dimension_numbers, mode)
    return [t_x, None, t_updates]


# --- scatter (overwrite) --------------------------------------------------------------------


def _scatter_jvp(primals, tangents, *, dimension_numbers, mode):
    x, indices, updates = primals
    t_x, _, t_updates = tangents
    if type(t_x) is Zero and type(t_updates) is Zero:
        ans = bind(scatter_p, x, indices, updates, dimension_numbers=dimension_numbers,
                   mode=mode)
        return ans, Zero(tangent_aval(get_aval(ans)))
    t_x, t_updates = instantiate(t_x), instantiate(t_updates)
    dn = dimension_numbers
    untouched, won = _winner_masks(get_aval(x).shape, indices, get_aval(updates).shape, dn, mode)
    ans = _scatter_add(_mask(untouched, x), indices, _mask(won, updates), dn, mode)
    t_out = _scatter_add(_mask(untouched, t_x), indices, _mask(won, t_updates), dn, mode)
    return ans, t_out


scatter_p.def_jvp(_scatter_jvp)


@scatter_p.def_transpose
def _scatter_transpose(ct, x, indices, updates, *, dimension_numbers, mode):
    # Only the elements no update reached pass the operand's cotangent on, and
    # only the winning update elements receive one (exact with duplicates).
    assert not is_undefined(indices)
    dn = dimension_numbers
    x_shape, updates_shape = _aval(x).shape, _aval(updates).shape
    untouched, won = _winner_masks(x_shape, indices, updates_shape, dn, mode)
    t_x = _mask(untouched, ct) if is_undefined(x) else None
    t_updates = None
    if is_undefined(updates):
        t_updates = _mask(won, _inverse_gather(ct, indices, updates_shape, dn, mode))
    return [t_x, None, t_updates]


# --- scatter_mul ----------------------------------------------------------------------------


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


# --- scatter_min, scatter_max ---------------------------------------------------------------


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
