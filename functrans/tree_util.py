"""Pytrees, as in JAX: nested containers (nodes) of leaves, flattened and rebuilt.

Nodes: list, tuple, dict (children in sorted key order), None (no children),
OrderedDict (insertion order), defaultdict (sorted keys), namedtuples,
registered types and, unlike JAX, every dataclass instance (children: its
fields, except those declared ``field(metadata={"static": True})``, which go
into the treedef; `register_leaf` opts a type out). Anything else is a leaf.

`tree_flatten`/`tree_unflatten` are on jit's dispatch path and the `PyTreeDef`
is in jit's cache key, hence: dispatch is one dict lookup on ``type(x)`` (a new
type is classified once and cached), and a `PyTreeDef` wraps nested tuples
``(node_type, aux, kids, num_leaves)`` where ``kids`` is a tuple of child
records or, when all children are leaves, their number; so ``==`` and ``hash``
are C-level tuple operations and a node of leaves is rebuilt from a slice.
"""

import collections
import functools
from typing import Any, Callable, Iterable

__all__ = [
    "PyTreeDef", "tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure", "tree_map",
    "tree_all", "tree_reduce", "tree_transpose", "all_leaves", "treedef_is_leaf",
    "treedef_tuple", "treedef_children", "SequenceKey", "DictKey", "GetAttrKey",
    "FlattenedIndexKey", "keystr", "tree_flatten_with_path", "tree_leaves_with_path",
    "tree_map_with_path", "register_pytree_node", "register_pytree_with_keys",
    "register_pytree_node_class", "register_dataclass", "register_leaf", "Partial",
]


from ._tree_nodes import (  # noqa: F401  (re-exported)
    DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey, keystr, register_dataclass,
    register_leaf, register_pytree_node, register_pytree_node_class, register_pytree_with_keys,
    _DICT, _LEAF, _LEAF_RECORD, _LIST, _NONE, _TUPLE, _dispatch, _node_type, _sorted_keys)


# -------------------------------------------------------------- flattening

def _flatten_node(entry, x, leaves, is_leaf):
    """Appends the leaves below node `x` to `leaves` and returns its record."""
    if entry is _TUPLE or entry is _LIST:  # the common cases, inlined
        children, aux = x, None
    elif entry is _DICT:
        try:
            aux = sorted(x)
        except TypeError:
            aux = _sorted_keys(x)
        children = [x[k] for k in aux]
        aux = tuple(aux)
    else:
        children, aux = entry.flatten(x)
    n_before = len(leaves)
    kids, only_leaves = [], True
    for child in children:
        if is_leaf is not None and is_leaf(child):
            leaves.append(child)
            kids.append(_LEAF_RECORD)
            continue
        child_entry = _dispatch.get(type(child)) or _node_type(type(child))
        if child_entry is _LEAF:
            leaves.append(child)
            kids.append(_LEAF_RECORD)
        else:
            only_leaves = False
            kids.append(_flatten_node(child_entry, child, leaves, is_leaf))
    return entry, aux, len(kids) if only_leaves else tuple(kids), len(leaves) - n_before


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                 ) -> tuple[list, "PyTreeDef"]:
    """Flattens a pytree into ``(leaves, treedef)``: the leaves in order (dicts by
    sorted key) and the `PyTreeDef` that rebuilds the tree. Subtrees for which
    the optional `is_leaf` is true are leaves.

    Example:
      >>> tree_flatten({'b': (1, 2), 'a': [3, None]})
      ([3, 1, 2], PyTreeDef({'a': [*, None], 'b': (*, *)}))
    """
    if is_leaf is None or not is_leaf(tree):
        entry = _dispatch.get(type(tree)) or _node_type(type(tree))
        if entry is not _LEAF:
            leaves = []
            return leaves, PyTreeDef(_flatten_node(entry, tree, leaves, is_leaf))
    return [tree], _LEAF_TREEDEF


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list:
    """The leaves of `tree`, in `tree_flatten` order.

    Example:
      >>> tree_leaves([1, {'x': 2, 'y': None}, (3,)])
      [1, 2, 3]
    """
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> "PyTreeDef":
    """The `PyTreeDef` of `tree`.

    Example:
      >>> tree_structure((1, [2, 3]))
      PyTreeDef((*, [*, *]))
    """
    return tree_flatten(tree, is_leaf)[1]


def tree_unflatten(treedef: "PyTreeDef", leaves: Iterable) -> Any:
    """Rebuilds a pytree from its `PyTreeDef` and leaves.

    Example:
      >>> tree_unflatten(tree_structure({'a': 0, 'b': (0, 0)}), [1, 2, 3])
      {'a': 1, 'b': (2, 3)}
    """
    return treedef.unflatten(leaves)


def _unflatten(record, leaves, pos):
    entry, aux, kids, _ = record
    if type(kids) is int:  # all children are leaves
        children = leaves[pos:pos + kids]
    else:
        children = []
        for kid in kids:
            if kid is _LEAF_RECORD:
                children.append(leaves[pos])
                pos += 1
            else:
                children.append(_unflatten(kid, leaves, pos))
                pos += kid[3]
    if entry is _TUPLE:
        return tuple(children)
    if entry is _DICT:
        return dict(zip(aux, children))
    if entry is _LIST:
        return children if type(children) is list else list(children)
    return entry.unflatten(aux, children)


# ----------------------------------------------------------------- PyTreeDef

class PyTreeDef:
    """The structure of a pytree: immutable, hashable, comparable with ``==``.

    Example:
      >>> td = tree_structure({'a': 1, 'b': (2, 3)})
      >>> td, td.num_leaves, td.num_nodes
      (PyTreeDef({'a': *, 'b': (*, *)}), 3, 5)
      >>> td.unflatten(['x', 'y', 'z'])
      {'a': 'x', 'b': ('y', 'z')}
    """
    __slots__ = ("_record", "_hash")

    def __init__(self, record: tuple):  # internal: made by tree_flatten
        _set(self, "_record", record)
        _set(self, "_hash", None)

    def __setattr__(self, name, value):
        raise AttributeError("PyTreeDef is immutable")

    @property
    def num_leaves(self) -> int:
        return self._record[3]

    @property
    def num_nodes(self) -> int:
        return _count_nodes(self._record)

    def __eq__(self, other):
        if type(other) is not PyTreeDef:
            return NotImplemented
        return self._record == other._record

    def __hash__(self):
        if self._hash is None:
            _set(self, "_hash", hash(self._record))
        return self._hash

    def __repr__(self):
        return f"PyTreeDef({_format(self._record)})"

    def unflatten(self, leaves: Iterable) -> Any:
        """Rebuilds the pytree from `leaves`; ValueError if their number is wrong."""
        if type(leaves) is not list and type(leaves) is not tuple:
            leaves = list(leaves)
        record = self._record
        if len(leaves) != record[3]:
            raise ValueError(f"tree_unflatten: {self!r} expects {record[3]} leaves, but "
                             f"{len(leaves)} were given.")
        if record is _LEAF_RECORD:
            return leaves[0]
        return _unflatten(record, leaves, 0)

    def children(self) -> list["PyTreeDef"]:
        """The treedefs of the root's children.

        Example:
          >>> tree_structure([1, (2, 3)]).children()
          [PyTreeDef(*), PyTreeDef((*, *))]
        """
        return [PyTreeDef(kid) for kid in _kids(self._record)]

    def node_data(self):
        """``(type, aux_data)`` of the root node, or None for a leaf."""
        entry, aux = self._record[:2]
        return None if entry is _LEAF else (entry.type, aux)

    def flatten_up_to(self, tree: Any) -> list:
        """Flattens `tree`, which has this structure as a prefix, down to this
        treedef's leaves: each leaf position takes the whole subtree found there.

        Raises:
          ValueError: naming both structures and the first differing key path.

        Example:
          >>> tree_structure([0, 0]).flatten_up_to([(1, 2), {'a': 3}])
          [(1, 2), {'a': 3}]
        """
        return _flatten_up_to(self, tree, "flatten_up_to: the tree has a different structure "
                              "from the PyTreeDef")


_set = object.__setattr__
_LEAF_TREEDEF = PyTreeDef(_LEAF_RECORD)


def _kids(record) -> tuple:
    kids = record[2]
    return (_LEAF_RECORD,) * kids if type(kids) is int else kids


def _count_nodes(record) -> int:
    kids = record[2]
    return 1 + (kids if type(kids) is int else sum(map(_count_nodes, kids)))


def _make_record(entry, aux, kids) -> tuple:
    """A record from child records, normalized as `_flatten_node` makes them."""
    kids = tuple(kids)
    if all(k is _LEAF_RECORD for k in kids):
        return entry, aux, len(kids), len(kids)
    return entry, aux, kids, sum(k[3] for k in kids)


def _format(record) -> str:
    entry, aux = record[:2]
    if entry is _LEAF:
        return "*"
    if entry is _NONE:
        return "None"
    kids = [_format(k) for k in _kids(record)]
    if entry is _TUPLE:
        return "(" + ", ".join(kids) + (",)" if len(kids) == 1 else ")")
    if entry is _LIST:
        return "[" + ", ".join(kids) + "]"
    if entry is _DICT:
        return "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(aux, kids)) + "}"
    name = f"{entry.name}[{aux!r}]" if entry.show_aux else entry.name
    return f"CustomNode({name}, [{', '.join(kids)}])"


# ------------------------------------------------- prefix matching & errors

class _Mismatch(Exception):
    """Internal: the trees differ. `trail` collects (node, node type, child
    index) from the mismatch upwards, to recover the key path."""

    def __init__(self, expected: str, got: str):
        super().__init__(expected, got)
        self.expected, self.got, self.trail = expected, got, []


def _describe(entry, aux, arity) -> str:
    """Words for one node, in structure-mismatch errors."""
    if entry is _NONE:
        return "None"
    a_name = ("an " if entry.name[0] in "AEIOUaeiou" else "a ") + entry.name
    if entry.type in (dict, collections.OrderedDict):
        return f"{a_name} with keys {list(aux)}"
    if entry.type is collections.defaultdict:
        return f"{a_name} with keys {list(aux[1])}"
    children = f"{arity} child" if arity == 1 else f"{arity} children"
    if entry.show_aux and entry is not _TUPLE and entry is not _LIST:
        return f"{a_name} of {children} with aux data {aux!r}"
    return f"{a_name} of {children}"


def _same(a, b) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:  # e.g. arrays in aux data: ambiguous truth value
        return False


def _up_to(record, x, out):
    entry, aux, kids, _ = record
    if entry is _LEAF:
        out.append(x)
        return
    x_entry = _dispatch.get(type(x)) or _node_type(type(x))
    arity = kids if type(kids) is int else len(kids)
    if x_entry is _LEAF:
        raise _Mismatch(_describe(entry, aux, arity), f"a leaf of type {type(x).__name__}")
    children, x_aux = x_entry.flatten(x)
    children = list(children)
    if x_entry is not entry or len(children) != arity or not _same(x_aux, aux):
        raise _Mismatch(_describe(entry, aux, arity), _describe(x_entry, x_aux, len(children)))
    if type(kids) is int:
        out.extend(children)
        return
    for i, (kid, child) in enumerate(zip(kids, children)):
        try:
            _up_to(kid, child, out)
        except _Mismatch as e:
            e.trail.append((x, x_entry, i))
            raise


def _flatten_up_to(treedef: PyTreeDef, tree: Any, context: str) -> list:
    out = []
    try:
        _up_to(treedef._record, tree, out)
    except _Mismatch as e:
        path = tuple(entry.flatten_with_keys(node)[0][i][0]
                     for node, entry, i in reversed(e.trail))
        where = f"at key path {keystr(path)}" if path else "at the root"
        raise ValueError(f"{context} {where}: expected {e.expected}, got {e.got}. Structures: "
                         f"{_short(treedef)} vs {_short(tree_structure(tree))}") from None
    return out


def _short(treedef: PyTreeDef, limit: int = 2000) -> str:
    text = repr(treedef)
    return text if len(text) <= limit else text[:limit] + "...)"


def _leaves_like(treedef: PyTreeDef, tree: Any, context: str) -> list:
    """`tree` flattened up to `treedef`, with a fast path for equal structures."""
    leaves, other = tree_flatten(tree)
    if other._record == treedef._record:
        return leaves
    return _flatten_up_to(treedef, tree, context)


# ----------------------------------------------------------- tree functions

def tree_map(f: Callable, tree: Any, *rest: Any,
             is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Applies `f` leafwise; the result has the structure of `tree`.

    Args:
      f: called as ``f(x, *xs)`` for each leaf ``x`` of `tree`, where ``xs`` are
        the subtrees at the same position in `rest`.
      tree: the pytree that gives the result's structure.
      *rest: pytrees that each have the structure of `tree` as a prefix.
      is_leaf: optional predicate marking extra leaves of `tree`.

    Raises:
      ValueError: if a tree in `rest` lacks the structure of `tree` as a prefix;
        the message names both structures and the key path where they differ.

    Example:
      >>> tree_map(lambda x, y: x + y, {'a': 1, 'b': 2}, {'a': 10, 'b': 20})
      {'a': 11, 'b': 22}
      >>> tree_map(lambda x, y: (x, y), [1, 2], [(3, 4), None])
      [(1, (3, 4)), (2, None)]
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = [_leaves_like(treedef, r, f"tree_map: the tree at argument {i} has a different "
                           "structure from argument 0") for i, r in enumerate(rest, 1)]
    return treedef.unflatten(list(map(f, leaves, *others)))


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """True if every leaf of `tree` is truthy.

    Example:
      >>> tree_all([True, {'a': 1}]), tree_all([True, (0,)])
      (True, False)
    """
    return all(tree_leaves(tree, is_leaf))


_NO_INITIALIZER = object()


def tree_reduce(function: Callable, tree: Any, initializer: Any = _NO_INITIALIZER,
                is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Reduces the leaves of `tree` with `function`, like `functools.reduce`.

    Example:
      >>> tree_reduce(lambda a, b: a + b, [1, (2, 3)], 10)
      16
    """
    if initializer is _NO_INITIALIZER:
        return functools.reduce(function, tree_leaves(tree, is_leaf))
    return functools.reduce(function, tree_leaves(tree, is_leaf), initializer)


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None,
                   pytree_to_transpose: Any) -> Any:
    """Turns an outer tree of inner trees into an inner tree of outer trees.

    `inner_treedef` None means: the structure of the first outer leaf.

    Example:
      >>> outer, inner = tree_structure([0, 0]), tree_structure((0, 0, 0))
      >>> tree_transpose(outer, inner, [(1, 2, 3), (4, 5, 6)])
      ([1, 4], [2, 5], [3, 6])
    """
    subtrees = _flatten_up_to(outer_treedef, pytree_to_transpose,
                              "tree_transpose: the tree does not have the outer structure")
    if inner_treedef is None:
        if not subtrees:
            raise ValueError("tree_transpose: cannot infer inner_treedef when the outer "
                             "structure has no leaves.")
        inner_treedef = tree_structure(subtrees[0])
    rows = [_flatten_up_to(inner_treedef, s, f"tree_transpose: outer leaf {i} does not "
                           "have the inner structure") for i, s in enumerate(subtrees)]
    columns = zip(*rows) if rows else [()] * inner_treedef.num_leaves
    return inner_treedef.unflatten([outer_treedef.unflatten(c) for c in columns])


def all_leaves(iterable: Iterable, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """True if every element of `iterable` is a leaf (None is not).

    Example:
      >>> all_leaves([1, 'a']), all_leaves([1, None]), all_leaves([(1,)])
      (True, False, False)
    """
    return all((is_leaf is not None and is_leaf(x))
               or (_dispatch.get(type(x)) or _node_type(type(x))) is _LEAF for x in iterable)


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """True if `treedef` has one node: a leaf, None or an empty container (as JAX)."""
    return treedef._record[2] == 0


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """The treedefs of the root's children: ``treedef.children()``."""
    return treedef.children()


def treedef_tuple(treedefs: Iterable[PyTreeDef]) -> PyTreeDef:
    """The treedef of a tuple whose children have the given treedefs.

    Example:
      >>> treedef_tuple([tree_structure(1), tree_structure([1, 2])])
      PyTreeDef((*, [*, *]))
    """
    return PyTreeDef(_make_record(_TUPLE, None, [td._record for td in treedefs]))


# --------------------------------------------------------------- with paths

def _flatten_with_path(x, path, pairs, is_leaf, takes_path):
    """Appends (path, leaf) pairs below `x` to `pairs` and returns its record."""
    if is_leaf is not None and (is_leaf(path, x) if takes_path else is_leaf(x)):
        pairs.append((path, x))
        return _LEAF_RECORD
    entry = _dispatch.get(type(x)) or _node_type(type(x))
    if entry is _LEAF:
        pairs.append((path, x))
        return _LEAF_RECORD
    keyed, aux = entry.flatten_with_keys(x)
    return _make_record(entry, aux, [
        _flatten_with_path(child, path + (key,), pairs, is_leaf, takes_path)
        for key, child in keyed])


def tree_flatten_with_path(tree: Any, is_leaf: Callable | None = None,
                           is_leaf_takes_path: bool = False) -> tuple[list, PyTreeDef]:
    """Like `tree_flatten`, but each leaf comes with its key path (a tuple of keys).

    `is_leaf` is called as ``is_leaf(x)``, or ``is_leaf(path, x)`` if
    `is_leaf_takes_path`.

    Example:
      >>> pairs, _ = tree_flatten_with_path({'a': [1, {'w': 2}]})
      >>> [(keystr(p), x) for p, x in pairs]
      [("['a'][0]", 1), ("['a'][1]['w']", 2)]
    """
    pairs = []
    record = _flatten_with_path(tree, (), pairs, is_leaf, is_leaf_takes_path)
    return pairs, PyTreeDef(record)


def tree_leaves_with_path(tree: Any, is_leaf: Callable | None = None,
                          is_leaf_takes_path: bool = False) -> list:
    """``[(path, leaf), ...]`` for the leaves of `tree`.

    Example:
      >>> tree_leaves_with_path((7,))
      [((SequenceKey(idx=0),), 7)]
    """
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]


def tree_map_with_path(f: Callable, tree: Any, *rest: Any, is_leaf: Callable | None = None,
                       is_leaf_takes_path: bool = False) -> Any:
    """Like `tree_map`, but calls ``f(path, x, *xs)``.

    Example:
      >>> tree_map_with_path(lambda p, x: keystr(p), {'a': (0, 0)})
      {'a': ("['a'][0]", "['a'][1]")}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    others = [_leaves_like(treedef, r, f"tree_map_with_path: the tree at argument {i} has a "
                           "different structure from argument 0") for i, r in enumerate(rest, 1)]
    return treedef.unflatten([f(path, x, *xs) for (path, x), *xs in zip(pairs, *others)])


# ------------------------------------------------------------------ Partial

class _CallableShim:
    """Hides a functools.partial from partial's constructor, which would merge
    its bound arguments into the new Partial's children."""
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __eq__(self, other):
        return type(other) is _CallableShim and self.fn == other.fn

    def __hash__(self):
        return hash(self.fn)


class Partial(functools.partial):
    """A `functools.partial` that is a pytree, like ``jax.tree_util.Partial``.

    The function is static (kept in the treedef, so it must be hashable); the
    bound arguments are children, so a partially applied function can be an
    argument or a result of a transformed function.

    Example:
      >>> p = Partial(pow, 2)
      >>> tree_leaves(p), p(5)
      ([2], 32)
      >>> tree_map(lambda x: x + 1, p)(5)
      243
    """

    def __new__(cls, func, *args, **kwargs):
        if isinstance(func, functools.partial):
            func = _CallableShim(func)
        return super().__new__(cls, func, *args, **kwargs)


register_pytree_node(Partial, lambda p: ((p.args, p.keywords), p.func),
                     lambda func, ch: Partial(func, *ch[0], **ch[1]))
