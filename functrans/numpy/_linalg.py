"""Products of functrans.numpy: matmul, dot, vdot, vecdot, inner, outer, tensordot,
einsum, kron, cross, matrix_transpose.

Every contraction is one ``dot_general``: operands are promoted to a common
dtype (JAX's rules), then the contraction is expressed with batch and
contracting dimensions instead of being broadcast, so ``x @ w`` with x of
shape (B, M, K) and w of shape (K, N) is a single (B*M, K) x (K, N) product.
"""

from __future__ import annotations

import operator

from .. import dtypes, eager
from ..array import ArrayOps
from ..primitives import elementwise as ew
from ..primitives import linalg as lp
from ..primitives import reductions as rp
from ..primitives import shape as sp
from ..primitives import slicing
from . import _ufuncs as uf
from ._util import asarray, broadcast_shapes, broadcast_to, normalize_axis, promote_dtypes

__all__ = ["matmul", "dot", "vdot", "vecdot", "inner", "outer", "tensordot", "einsum",
           "kron", "cross", "matrix_transpose"]


def _promoted(a, b):
    return promote_dtypes(asarray(a), asarray(b))


def _dot_general(a, b, contract, batch=((), ())):
    return lp.dot_general(a, b, (contract, batch))


# --- matmul --------------------------------------------------------------------------------------


_FAST_MATMUL = frozenset([dtypes.float32, dtypes.float64, dtypes.complex64, dtypes.complex128])


_MATRIX_PRODUCT = (((1,), (0,)), ((), ()))


def matmul(a, b, /):
    """Matrix product with numpy's rules (the ``@`` operator).

    1-d operands are vectors (a row on the left, a column on the right, and
    that dimension is dropped from the result); leading dimensions are batch
    dimensions that broadcast against each other.

    Raises:
      ValueError: for 0-d operands, or when the last dimension of ``a`` does
        not match the second-to-last of ``b`` (the message names both shapes).

    Example:
        >>> import functrans.numpy as fnp
        >>> (fnp.ones((4, 2, 3)) @ fnp.ones((3, 5))).shape
        (4, 2, 5)
    """
    out = eager.matmul(a, b)
    if out is not None:
        return out
    if isinstance(a, ArrayOps) and isinstance(b, ArrayOps):
        # Traced matrices of one dtype (reverse mode's x @ w): one dot_general.
        aa, ba = a.aval, b.aval
        if (aa.dtype == ba.dtype and aa.dtype in _FAST_MATMUL and len(aa.shape) == 2
                and len(ba.shape) == 2 and aa.shape[1] == ba.shape[0]):
            return lp.dot_general(a, b, _MATRIX_PRODUCT)
    a, b = _promoted(a, b)
    sa, sb = tuple(a.shape), tuple(b.shape)
    if not sa or not sb:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes {sa} "
                         f"and {sb}; use multiply (*) to scale by a scalar")
    a_vec, b_vec = len(sa) == 1, len(sb) == 1
    a_k, b_k = len(sa) - 1, (0 if b_vec else len(sb) - 2)
    if sa[a_k] != sb[b_k]:
        rows = "length" if b_vec else "second-to-last dimension"
        raise ValueError(f"matmul: shapes {sa} and {sb} are incompatible: the last dimension of "
                         f"the first operand ({sa[a_k]}) must equal the {rows} of the second "
                         f"operand ({sb[b_k]})")
    batch_a = sa[:-2] if not a_vec else ()
    batch_b = sb[:-2] if not b_vec else ()
    nb = max(len(batch_a), len(batch_b))
    off_a, off_b = nb - len(batch_a), nb - len(batch_b)

    # Classify each broadcast batch position: shared (a dot_general batch
    # dimension), or present in only one operand (a free dimension of it), in
    # which case a size-1 dimension of the other operand is squeezed away.
    drop_a, drop_b, kinds = [], [], []
    for i in range(nb):
        da = batch_a[i - off_a] if i >= off_a else None
        db = batch_b[i - off_b] if i >= off_b else None
        if da is not None and db is not None and da == db:
            kinds.append("batch")
        elif db is None or (db == 1 and da is not None):
            kinds.append("a")
            if db is not None:
                drop_b.append(i - off_b)
        elif da is None or da == 1:
            kinds.append("b")
            if da is not None:
                drop_a.append(i - off_a)
        else:
            raise ValueError(f"matmul: the batch dimensions of shapes {sa} and {sb} do not "
                             f"broadcast: {batch_a} vs {batch_b}")
    if drop_a:
        a = sp.squeeze(a, drop_a)
    if drop_b:
        b = sp.squeeze(b, drop_b)

    def new_index(dim, dropped):
        return dim - sum(1 for d in dropped if d < dim)

    a_dim = {i: new_index(i - off_a, drop_a) for i in range(nb) if kinds[i] in ("batch", "a")}
    b_dim = {i: new_index(i - off_b, drop_b) for i in range(nb) if kinds[i] in ("batch", "b")}
    batch = [i for i in range(nb) if kinds[i] == "batch"]
    dn = (((a.ndim - 1,), (0 if b_vec else b.ndim - 2,)),
          (tuple(a_dim[i] for i in batch), tuple(b_dim[i] for i in batch)))
    out = lp.dot_general(a, b, dn)
    # dot_general's order is batch, a's free dims, b's free dims; numpy's order
    # is the broadcast batch positions, then the rows of a, then the columns of b.
    got = ([("pos", i) for i in batch] + [("pos", i) for i in range(nb) if kinds[i] == "a"]
           + ([] if a_vec else ["M"]) + [("pos", i) for i in range(nb) if kinds[i] == "b"]
           + ([] if b_vec else ["N"]))
    want = [("pos", i) for i in range(nb)] + ([] if a_vec else ["M"]) + ([] if b_vec else ["N"])
    return sp.transpose(out, tuple(got.index(w) for w in want))


def matrix_transpose(x, /):
    """Swaps the last two axes (a batch of matrix transposes).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.matrix_transpose(fnp.ones((4, 2, 3))).shape
        (4, 3, 2)
    """
    x = asarray(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose: the operand must have at least 2 dimensions, got "
                         f"shape {tuple(x.shape)}")
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return sp.transpose(x, perm)


# --- dot, vdot, vecdot, inner, outer, tensordot --------------------------------------------------


def dot(a, b):
    """numpy.dot: a product over the last axis of ``a`` and the second-to-last of ``b``.

    1-d ``b`` contracts with the last axis of ``a``; 0-d operands multiply.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.dot(fnp.asarray([1, 2]), fnp.asarray([3, 4])).item()
        11
    """
    a, b = _promoted(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return uf.multiply(a, b)
    b_k = 0 if b.ndim == 1 else b.ndim - 2
    if a.shape[-1] != b.shape[b_k]:
        raise ValueError(f"dot: shapes {tuple(a.shape)} and {tuple(b.shape)} not aligned: "
                         f"{a.shape[-1]} (dim {a.ndim - 1}) != {b.shape[b_k]} (dim {b_k})")
    return _dot_general(a, b, ((a.ndim - 1,), (b_k,)))


def vdot(a, b, /):
    """The dot product of the flattened arrays, conjugating ``a`` first.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.vdot(fnp.asarray([1j, 2]), fnp.asarray([1j, 1])).item()
        (3+0j)
    """
    a, b = _promoted(a, b)
    if a.size != b.size:
        raise ValueError(f"vdot: the operands must have the same number of elements, got "
                         f"shapes {tuple(a.shape)} and {tuple(b.shape)}")
    a = sp.reshape(uf.conjugate(a), (a.size,))
    b = sp.reshape(b, (b.size,))
    return _dot_general(a, b, ((0,), (0,)))


def vecdot(x1, x2, /, *, axis=-1):
    """sum(conj(x1) * x2) along ``axis``, broadcasting the other dimensions.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.vecdot(fnp.ones((2, 3)), fnp.ones(3)).tolist()
        [3.0, 3.0]
    """
    x1, x2 = _promoted(x1, x2)
    shape = broadcast_shapes("vecdot", tuple(x1.shape), tuple(x2.shape))
    if not shape:
        raise ValueError("vecdot: operands must have at least one dimension")
    axis = normalize_axis("vecdot", operator.index(axis), len(shape))
    x1, x2 = broadcast_to(x1, shape), broadcast_to(x2, shape)
    batch = tuple(i for i in range(len(shape)) if i != axis)
    return _dot_general(uf.conjugate(x1), x2, ((axis,), (axis,)), (batch, batch))


def inner(a, b, /):
    """numpy.inner: a product over the last axes of both operands.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.inner(fnp.ones((2, 3)), fnp.ones((4, 3))).shape
        (2, 4)
    """
    a, b = _promoted(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return uf.multiply(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: the last dimensions of shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)} differ ({a.shape[-1]} != {b.shape[-1]})")
    return _dot_general(a, b, ((a.ndim - 1,), (b.ndim - 1,)))


def outer(a, b, /):
    """The outer product of the flattened operands: out[i, j] = a[i] * b[j].

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.outer(fnp.asarray([1, 2]), fnp.asarray([1, 10, 100])).tolist()
        [[1, 10, 100], [2, 20, 200]]
    """
    a, b = _promoted(a, b)
    return uf.multiply(sp.reshape(a, (a.size, 1)), sp.reshape(b, (1, b.size)))


def _axes_list(name, axes, ndim):
    if isinstance(axes, (int,)) or hasattr(axes, "__index__"):
        axes = (operator.index(axes),)
    return tuple(normalize_axis(name, operator.index(x), ndim) for x in axes)


def tensordot(a, b, axes=2):
    """Sums products over ``axes``: an int N (the last N of ``a`` with the first N
    of ``b``) or a pair of axis sequences.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.tensordot(fnp.ones((2, 3, 4)), fnp.ones((3, 4, 5))).shape
        (2, 5)
        >>> fnp.tensordot(fnp.ones((2, 3)), fnp.ones((3, 2)), axes=([0], [1])).shape
        (3, 3)
    """
    a, b = _promoted(a, b)
    if isinstance(axes, int) or (hasattr(axes, "__index__") and not hasattr(axes, "__len__")):
        n = operator.index(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(f"tensordot: axes={n} is invalid for shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)}")
        ca, cb = tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of axis sequences, got "
                            f"{axes!r}") from None
        ca = _axes_list("tensordot", axes_a, a.ndim)
        cb = _axes_list("tensordot", axes_b, b.ndim)
        if len(ca) != len(cb):
            raise ValueError(f"tensordot: axes {axes} name different numbers of axes of a and b")
    for i, j in zip(ca, cb):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: shape mismatch for sum: axis {i} of {tuple(a.shape)} "
                             f"has size {a.shape[i]} but axis {j} of {tuple(b.shape)} has size "
                             f"{b.shape[j]}")
    return _dot_general(a, b, (ca, cb))


# --- kron, cross ---------------------------------------------------------------------------------


def kron(a, b):
    """The Kronecker product: blocks ``a[i, j] * b``.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.kron(fnp.asarray([1, 10]), fnp.asarray([1, 2])).tolist()
        [1, 2, 10, 20]
    """
    a, b = _promoted(a, b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    # a[i, j] * b[k, l] laid out as (i, k, j, l), then merged pairwise.
    a = sp.reshape(a, tuple(d for s in sa for d in (s, 1)))
    b = sp.reshape(b, tuple(d for s in sb for d in (1, s)))
    return sp.reshape(uf.multiply(a, b), tuple(x * y for x, y in zip(sa, sb)))


def _component(x, i):
    """``x[..., i]``: a static slice of the last axis."""
    return slicing.index_in_dim(x, i, axis=x.ndim - 1, keepdims=False)


def _move_last(x, axis):
    axis = normalize_axis("cross", axis, x.ndim)
    perm = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
    return sp.transpose(x, perm)


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors (or 2-vectors) along the given axes.

    Two 2-vectors give the scalar z component, like numpy.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.cross(fnp.asarray([1, 0, 0]), fnp.asarray([0, 1, 0])).tolist()
        [0, 0, 1]
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _promoted(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"cross: operands must be vectors, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    a, b = _move_last(a, axisa), _move_last(b, axisb)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must be "
                         f"2 or 3), got vectors of length {na} and {nb}")
    a0, a1 = _component(a, 0), _component(a, 1)
    b0, b1 = _component(b, 0), _component(b, 1)
    z = uf.subtract(uf.multiply(a0, b1), uf.multiply(a1, b0))
    if na == 2 and nb == 2:
        return z
    a2 = _component(a, 2) if na == 3 else uf.multiply(a0, 0)
    b2 = _component(b, 2) if nb == 3 else uf.multiply(b0, 0)
    x = uf.subtract(uf.multiply(a1, b2), uf.multiply(a2, b1))
    y = uf.subtract(uf.multiply(a2, b0), uf.multiply(a0, b2))
    x, y, z = promote_dtypes(x, y, z)
    shape = broadcast_shapes("cross", tuple(x.shape), tuple(y.shape), tuple(z.shape))
    parts = [sp.expand_dims(broadcast_to(c, shape), (len(shape),)) for c in (x, y, z)]
    out = sp.concatenate(parts, len(shape))
    axisc = normalize_axis("cross", axisc, out.ndim)
    perm = list(range(out.ndim - 1))
    perm.insert(axisc, out.ndim - 1)
    return sp.transpose(out, tuple(perm))


# --- einsum --------------------------------------------------------------------------------------
# Labels are ints: a letter is its code point (so sorting them sorts like
# numpy's implicit mode, upper case first); the dimensions an ellipsis stands
# for get labels _ELLIPSIS + j.

_ELLIPSIS = 1 << 16


def _parse_term(subscripts, term, what):
    if term.count("...") > 1 or "." in term.replace("...", ""):
        raise ValueError(f"einsum: {what} subscripts {term!r} in {subscripts!r} may contain "
                         "one '...' and no other '.'")
    bad = [c for c in term.replace("...", "") if not c.isascii() or not c.isalpha()]
    if bad:
        raise ValueError(f"einsum: invalid subscript {bad[0]!r} in {subscripts!r}; use the "
                         "letters a-z and A-Z")
    if "..." in term:
        left, right = term.split("...")
        return [ord(c) for c in left], [ord(c) for c in right], True
    return [ord(c) for c in term], [], False


def _parse_einsum(subscripts, shapes):
    """(input labels per operand, output labels, size of each label)."""
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        ins, out = spec.split("->", 1)
        if "->" in out:
            raise ValueError(f"einsum: subscripts {subscripts!r} contain '->' more than once")
    else:
        ins, out = spec, None
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operands, but "
                         f"{len(shapes)} were given")
    parsed, ell_dims = [], []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        left, right, has_ell = _parse_term(subscripts, term, f"operand {i}'s")
        k = len(shape) - len(left) - len(right)
        if k < 0 or (k > 0 and not has_ell):
            raise ValueError(f"einsum: subscripts {term!r} of operand {i} name "
                             f"{len(left) + len(right)} dimensions, but the operand has shape "
                             f"{shape} (in {subscripts!r})")
        parsed.append((left, right))
        ell_dims.append(k)
    n_ell = max(ell_dims, default=0)
    ell = [_ELLIPSIS + j for j in range(n_ell)]
    in_labels = [left + ell[n_ell - k:] + right for (left, right), k in zip(parsed, ell_dims)]
    counts = {}
    for labels in in_labels:
        for lbl in labels:
            counts[lbl] = counts.get(lbl, 0) + 1
    if out is None:
        out_labels = ell + sorted(lbl for lbl, c in counts.items() if c == 1 and lbl < _ELLIPSIS)
    else:
        left, right, has_ell = _parse_term(subscripts, out, "output")
        if n_ell and not has_ell:
            raise ValueError(f"einsum: the output of {subscripts!r} has no '...' but the "
                             "operands have dimensions for their '...'; add '...' to the output")
        out_labels = left + (ell if has_ell else []) + right
        for lbl in out_labels:
            if lbl not in counts:
                raise ValueError(f"einsum: output subscript {chr(lbl)!r} of {subscripts!r} "
                                 "appears in no operand")
        if len(set(out_labels)) != len(out_labels):
            raise ValueError(f"einsum: the output subscripts of {subscripts!r} repeat a label")
    sizes = {}
    for i, (labels, shape) in enumerate(zip(in_labels, shapes)):
        for lbl, d in zip(labels, shape):
            old = sizes.get(lbl, 1)
            if old != d and old != 1 and d != 1:
                name = "an ellipsis dimension" if lbl >= _ELLIPSIS else repr(chr(lbl))
                raise ValueError(f"einsum: {name} has size {old} in an earlier operand but "
                                 f"{d} in operand {i} (shape {shape}), in {subscripts!r}; sizes "
                                 "must match or be 1")
            sizes[lbl] = max(old, d)
    return in_labels, out_labels, sizes


def _sum_labels(x, labels, keep):
    """Sums away the dimensions whose labels are not in ``keep``."""
    axes = tuple(i for i, lbl in enumerate(labels) if lbl not in keep)
    if not axes:
        return x, labels
    return rp.reduce_sum_p.bind(x, axes=axes), [lbl for lbl in labels if lbl in keep]


def _prepare(x, labels, sizes, keep):
    """Broadcasts, takes repeated-label diagonals and sums labels used nowhere else."""
    labels = list(labels)
    drop = [i for i, lbl in enumerate(labels) if x.shape[i] == 1 and sizes[lbl] != 1]
    if drop:
        x = sp.squeeze(x, drop)
        labels = [lbl for i, lbl in enumerate(labels) if i not in drop]
    for lbl in list(dict.fromkeys(labels)):
        while labels.count(lbl) > 1:
            # The diagonal without a gather: keep the entries where the two
            # indices agree (a select, so infinities elsewhere do not leak in),
            # then sum one of the two dimensions away.
            p = labels.index(lbl)
            q = labels.index(lbl, p + 1)
            n = x.shape[p]
            eye = uf.equal(sp.broadcasted_iota(dtypes.int32, (n, n), 0),
                           sp.broadcasted_iota(dtypes.int32, (n, n), 1))
            x = uf.where(sp.broadcast_in_dim(eye, tuple(x.shape), (p, q)), x, 0)
            x = rp.reduce_sum_p.bind(x, axes=(q,))
            labels.pop(q)
    return _sum_labels(x, labels, keep)


def _contract_pair(x, lx, y, ly, keep):
    x, lx = _sum_labels(x, lx, set(ly) | keep)
    y, ly = _sum_labels(y, ly, set(lx) | keep)
    batch = [lbl for lbl in lx if lbl in ly and lbl in keep]
    contract = [lbl for lbl in lx if lbl in ly and lbl not in keep]
    dn = ((tuple(lx.index(lbl) for lbl in contract), tuple(ly.index(lbl) for lbl in contract)),
          (tuple(lx.index(lbl) for lbl in batch), tuple(ly.index(lbl) for lbl in batch)))
    out = lp.dot_general(x, y, dn)
    return out, batch + [lbl for lbl in lx if lbl not in ly] + [lbl for lbl in ly if lbl not in lx]


def _contraction_path(ops, labels, out_labels, optimize):
    n = len(ops)
    if isinstance(optimize, (list, tuple)):
        path = [tuple(p) for p in optimize if p != "einsum_path"]
        return path
    if optimize is False or optimize is None:
        return [(0, 1)] * (n - 1)
    try:
        import opt_einsum
    except ImportError:  # opt_einsum comes with jax; without it, left to right
        return [(0, 1)] * (n - 1)
    symbols = {}
    for lbl in [lbl for ls in labels for lbl in ls] + list(out_labels):
        symbols.setdefault(lbl, opt_einsum.get_symbol(len(symbols)))
    eq = (",".join("".join(symbols[lbl] for lbl in ls) for ls in labels) + "->"
          + "".join(symbols[lbl] for lbl in out_labels))
    strategy = "greedy" if optimize is True else optimize
    path, _ = opt_einsum.contract_path(eq, *[tuple(x.shape) for x in ops], shapes=True,
                                       optimize=strategy)
    return list(path)


def _from_sublists(args):
    """numpy's interleaved form einsum(x, [0, 1], y, [1, 2], [0, 2]) as a string."""
    import string

    def term(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            else:
                s = operator.index(s)
                if not 0 <= s < 52:
                    raise ValueError(f"einsum: sublist labels must be in [0, 52), got {s}")
                out.append(string.ascii_letters[s])
        return "".join(out)

    operands = list(args[0::2][:len(args) // 2])
    subs = [term(s) for s in args[1::2][:len(args) // 2]]
    spec = ",".join(subs)
    if len(args) % 2:
        spec += "->" + term(args[-1])
    return spec, operands


def einsum(subscripts, /, *operands, out=None, optimize="greedy", precision=None,
           preferred_element_type=None):
    """Einstein summation, like numpy.einsum, as a sequence of dot_generals.

    Supports explicit (``"ij,jk->ik"``) and implicit (``"ij,jk"``) outputs,
    ``...`` broadcasting, repeated labels within an operand (diagonals and
    traces), labels summed away, and numpy's interleaved form
    ``einsum(x, [0, 1], y, [1, 2])``. Operands are contracted pairwise in the
    order ``opt_einsum`` finds (``optimize``: "greedy", "optimal", ..., an
    explicit path, or False for left to right).

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.einsum("ij,jk->ik", fnp.ones((2, 3)), fnp.ones((3, 4))).shape
        (2, 4)
        >>> fnp.einsum("ii", fnp.eye(3)).item()
        3.0
    """
    if out is not None:
        raise NotImplementedError("einsum: out= is not supported; arrays are immutable")
    if not isinstance(subscripts, str):
        subscripts, operands = _from_sublists((subscripts,) + operands)
    if not operands:
        raise ValueError("einsum: at least one operand is required")
    ops = promote_dtypes(*[asarray(x) for x in operands])
    result_dtype = ops[0].dtype
    if preferred_element_type is not None:
        result_dtype = dtypes.canonicalize(preferred_element_type)
    compute = dtypes.int32 if result_dtype == dtypes.bool_ else result_dtype
    ops = [ew.convert_element_type(x, compute) if x.dtype != compute else x for x in ops]
    in_labels, out_labels, sizes = _parse_einsum(subscripts, [tuple(x.shape) for x in ops])

    def needed(skip):
        keep = set(out_labels)
        for j, ls in enumerate(labels):
            if j not in skip:
                keep.update(ls)
        return keep

    labels = list(in_labels)
    prepared = []
    for i, x in enumerate(ops):
        x, ls = _prepare(x, in_labels[i], sizes, needed({i}))
        prepared.append(x)
        labels[i] = ls
    ops = prepared
    if len(ops) > 1:
        for group in _contraction_path(ops, labels, out_labels, optimize):
            group = sorted(group, reverse=True)
            items = [(ops.pop(j), labels.pop(j)) for j in group]
            x, lx = items.pop()
            while items:
                y, ly = items.pop()
                keep = needed(()) | {lbl for _, ls in items for lbl in ls}
                x, lx = _contract_pair(x, lx, y, ly, keep)
            ops.append(x)
            labels.append(lx)
        if len(ops) != 1:
            raise ValueError(f"einsum: the contraction path {optimize!r} leaves {len(ops)} "
                             f"operands of {subscripts!r} uncontracted")
    x, lx = _sum_labels(ops[0], labels[0], set(out_labels))
    x = sp.transpose(x, tuple(lx.index(lbl) for lbl in out_labels))
    if result_dtype == dtypes.bool_:
        return uf.not_equal(x, 0)
    return x
