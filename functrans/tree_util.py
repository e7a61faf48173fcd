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
import dataclasses
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


# ----------------------------------------------------------------- key paths

class _Key:
    """Base of the key-path entries: equal and hashed by type and value."""
    __slots__ = ()

    def _value(self):
        return getattr(self, self.__match_args__[0])

    def __repr__(self):
        return f"{type(self).__name__}({self.__match_args__[0]}={self._value()!r})"

    def __eq__(self, other):
        return type(other) is type(self) and self._value() == other._value()

    def __hash__(self):
        return hash((type(self), self._value()))


class SequenceKey(_Key):
    """Key of a list or tuple child; prints as ``[0]``."""
    __slots__ = __match_args__ = ("idx",)

    def __init__(self, idx: int):
        self.idx = idx

    def __str__(self):
        return f"[{self.idx!r}]"


class DictKey(_Key):
    """Key of a dict child; prints as ``['a']``."""
    __slots__ = __match_args__ = ("key",)

    def __init__(self, key: Any):
        self.key = key

    def __str__(self):
        return f"[{self.key!r}]"


class GetAttrKey(_Key):
    """Key of an attribute child (namedtuple, dataclass); prints as ``.name``."""
    __slots__ = __match_args__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __str__(self):
        return f".{self.name}"


class FlattenedIndexKey(_Key):
    """Position of a child of a type registered without keys."""
    __slots__ = __match_args__ = ("key",)

    def __init__(self, key: int):
        self.key = key

    def __str__(self):
        return f"[<flat index {self.key}>]"


def keystr(keys: tuple, *, simple: bool = False, separator: str = "") -> str:
    """Formats a key path as JAX does; `simple` prints the bare keys.

    Example:
      >>> keystr((DictKey('a'), SequenceKey(0), GetAttrKey('w')))
      "['a'][0].w"
      >>> keystr((DictKey('a'), SequenceKey(0)), simple=True, separator='/')
      'a/0'
    """
    if simple:
        return separator.join(str(k._value()) if isinstance(k, _Key) else str(k) for k in keys)
    return separator.join(map(str, keys))


# ------------------------------------------------------------------ registry

class _NodeType:
    """How to take one node type apart and rebuild it: ``flatten(x) -> (children,
    aux)``, ``unflatten(aux, children) -> x``, ``flatten_with_keys(x) -> ([(key,
    child), ...], aux)``. `name` and `show_aux` drive the printed form."""
    __slots__ = ("type", "name", "show_aux", "flatten", "unflatten", "flatten_with_keys")

    def __init__(self, type_, name, flatten, unflatten, flatten_with_keys, show_aux=True):
        self.type, self.name, self.show_aux = type_, name, show_aux
        self.flatten, self.unflatten, self.flatten_with_keys = flatten, unflatten, flatten_with_keys

    def __repr__(self):
        return f"<pytree node type {self.name}>"


_LEAF = _NodeType(None, "*", None, None, None)
_LEAF_RECORD = (_LEAF, None, 0, 1)

_dispatch: dict = {}      # type -> _NodeType or _LEAF: the classification cache
_registered: set = set()  # types registered explicitly, built-ins included


def _node_type(t: type) -> _NodeType:
    """The node type of instances of `t`; classifies `t` on first sight."""
    entry = _dispatch.get(t)
    if entry is None:
        if issubclass(t, tuple) and hasattr(t, "_fields"):
            entry = _namedtuple_node(t)
        elif dataclasses.is_dataclass(t):
            entry = _dataclass_node(t, *_dataclass_fields(t))
        else:
            entry = _LEAF
        _dispatch[t] = entry
    return entry


def _add(t: type, entry: _NodeType) -> None:
    if t in _registered:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {t}.")
    _registered.add(t)
    _dispatch[t] = entry  # replaces an automatic classification


def _sorted_keys(d) -> list:
    """Dict keys sorted as in JAX; unorderable mixed keys by (type name, repr)."""
    try:
        return sorted(d)
    except TypeError:
        pass
    keys = sorted(d, key=_fallback_order)
    for a, b in zip(keys, keys[1:]):
        if _fallback_order(a) == _fallback_order(b):
            raise TypeError(f"Cannot order the keys of a dict in a pytree: {a!r} and {b!r} "
                            "cannot be compared and have the same type name and repr.")
    return keys


def _fallback_order(k):
    return type(k).__qualname__, repr(k)


def _dict_flatten(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], tuple(keys)


def _dict_keys(d):
    keys = _sorted_keys(d)
    return [(DictKey(k), d[k]) for k in keys], tuple(keys)


def _with_factory(flatten):
    """For defaultdict: a dict `flatten` that adds the default_factory to the aux data."""
    def flatten_defaultdict(d):
        children, keys = flatten(d)
        return children, (d.default_factory, keys)
    return flatten_defaultdict


_TUPLE = _NodeType(tuple, "tuple", lambda x: (x, None), lambda aux, ch: tuple(ch),
                   lambda x: ([(SequenceKey(i), c) for i, c in enumerate(x)], None))
_LIST = _NodeType(list, "list", lambda x: (x, None), lambda aux, ch: list(ch),
                  _TUPLE.flatten_with_keys)
_DICT = _NodeType(dict, "dict", _dict_flatten, lambda aux, ch: dict(zip(aux, ch)), _dict_keys)
_NONE = _NodeType(type(None), "None", lambda x: ((), None), lambda aux, ch: None,
                  lambda x: ((), None))
for _entry in [
        _TUPLE, _LIST, _DICT, _NONE,
        _NodeType(collections.OrderedDict, "OrderedDict", lambda d: (list(d.values()), tuple(d)),
                  lambda aux, ch: collections.OrderedDict(zip(aux, ch)),
                  lambda d: ([(DictKey(k), v) for k, v in d.items()], tuple(d))),
        _NodeType(collections.defaultdict, "defaultdict", _with_factory(_dict_flatten),
                  lambda aux, ch: collections.defaultdict(aux[0], zip(aux[1], ch)),
                  _with_factory(_dict_keys))]:
    _add(_entry.type, _entry)
del _entry


def _namedtuple_node(cls) -> _NodeType:
    keys = tuple(GetAttrKey(f) for f in cls._fields)
    # tuple.__new__ rather than cls(...): a custom __new__ must not run again.
    return _NodeType(cls, f"namedtuple[{cls.__name__}]", lambda x: (x, None),
                     lambda aux, ch: tuple.__new__(cls, ch),
                     lambda x: (list(zip(keys, x)), None), show_aux=False)


def _dataclass_fields(cls):
    data, meta = [], []
    for f in dataclasses.fields(cls):
        (meta if f.metadata.get("static", False) else data).append(f.name)
    return data, meta


def _dataclass_node(cls, data_fields, meta_fields) -> _NodeType:
    """Children: the `data_fields` attributes; aux: the `meta_fields` values."""
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    data_keys = tuple(GetAttrKey(n) for n in data_fields)
    new, set_ = object.__new__, object.__setattr__

    def aux_of(x):
        aux = tuple([getattr(x, n) for n in meta_fields])
        try:
            hash(aux)
        except TypeError:
            name, value = next((n, v) for n, v in zip(meta_fields, aux) if not _hashable(v))
            raise TypeError(
                f"Static field {cls.__qualname__}.{name} must be hashable because its value "
                f"becomes part of the PyTreeDef, but it is an unhashable "
                f"{type(value).__name__}: {value!r}. Make it hashable (e.g. a tuple) or a "
                "data field.") from None
        return aux

    def flatten(x):
        return [getattr(x, n) for n in data_fields], aux_of(x)

    def flatten_with_keys(x):
        return [(k, getattr(x, n)) for k, n in zip(data_keys, data_fields)], aux_of(x)

    def unflatten(aux, children):
        obj = new(cls)  # no __init__: frozen classes and __post_init__ checks keep working
        for name, value in zip(data_fields, children):
            set_(obj, name, value)
        for name, value in zip(meta_fields, aux):
            set_(obj, name, value)
        return obj

    return _NodeType(cls, cls.__name__, flatten, unflatten, flatten_with_keys)


def _hashable(x) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def register_pytree_node(nodetype: type, flatten_func: Callable,
                         unflatten_func: Callable) -> None:
    """Registers a type (not its subclasses) as a pytree node.

    Args:
      nodetype: the type; ValueError if it is already registered.
      flatten_func: ``x -> (children, aux_data)``; aux_data must be hashable and
        comparable with ``==``.
      unflatten_func: ``(aux_data, children) -> x``; children is a sequence.

    Example:
      >>> class Pair:
      ...     def __init__(self, a, b): self.a, self.b = a, b
      >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, ch: Pair(*ch))
      >>> tree_leaves(Pair(1, [2, 3]))
      [1, 2, 3]
    """
    def flatten_with_keys(x):
        children, aux = flatten_func(x)
        return [(FlattenedIndexKey(i), c) for i, c in enumerate(children)], aux
    _add(nodetype, _NodeType(nodetype, nodetype.__name__, flatten_func, unflatten_func,
                             flatten_with_keys))


def register_pytree_with_keys(nodetype: type, flatten_with_keys: Callable,
                              unflatten_func: Callable,
                              flatten_func: Callable | None = None) -> None:
    """Registers a node type whose children have keys (shown in key paths).

    `flatten_with_keys` is ``x -> ([(key, child), ...], aux_data)``; the
    optional `flatten_func` is a faster equivalent without keys.

    Example:
      >>> class Box:
      ...     def __init__(self, v): self.v = v
      >>> register_pytree_with_keys(Box, lambda b: ([(GetAttrKey('v'), b.v)], None),
      ...                           lambda _, ch: Box(*ch))
      >>> [keystr(p) for p, _ in tree_leaves_with_path({'b': Box(1)})]
      ["['b'].v"]
    """
    if flatten_func is None:
        def flatten_func(x):
            pairs, aux = flatten_with_keys(x)
            return [c for _, c in pairs], aux
    _add(nodetype, _NodeType(nodetype, nodetype.__name__, flatten_func, unflatten_func,
                             flatten_with_keys))


def register_pytree_node_class(cls: type) -> type:
    """Class decorator: registers `cls` with its ``tree_flatten(self)`` method and
    ``tree_unflatten(cls, aux_data, children)`` classmethod.

    Example:
      >>> @register_pytree_node_class
      ... class Scaled:
      ...     def __init__(self, x, k): self.x, self.k = x, k
      ...     def tree_flatten(self): return (self.x,), self.k
      ...     @classmethod
      ...     def tree_unflatten(cls, k, ch): return cls(ch[0], k)
      >>> tree_structure(Scaled(1.0, 2))
      PyTreeDef(CustomNode(Scaled[2], [*]))
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_dataclass(nodetype: type, data_fields=None, meta_fields=None,
                       drop_fields=()) -> type:
    """Registers a class whose attributes are its children (`data_fields`) and
    aux data (`meta_fields`, hashable); returns `nodetype`.

    Dataclasses are nodes already; this picks their fields explicitly (default:
    static fields are meta, the others data, `drop_fields` neither), or
    registers a class that is not one. Unflattening sets the attributes on
    ``object.__new__(nodetype)``, without ``__init__``.

    Example:
      >>> @dataclasses.dataclass
      ... class Opt:
      ...     lr: float
      ...     name: str
      >>> _ = register_dataclass(Opt, data_fields=['lr'], meta_fields=['name'])
      >>> tree_flatten(Opt(0.1, 'sgd'))
      ([0.1], PyTreeDef(CustomNode(Opt[('sgd',)], [*])))
    """
    is_dc = dataclasses.is_dataclass(nodetype)
    if data_fields is None or meta_fields is None:
        if not is_dc:
            raise TypeError(f"register_dataclass: data_fields and meta_fields are required "
                            f"for {nodetype}, which is not a dataclass.")
        data, meta = _dataclass_fields(nodetype)
        data_fields = [n for n in data if n not in drop_fields] if data_fields is None \
            else data_fields
        meta_fields = [n for n in meta if n not in drop_fields] if meta_fields is None \
            else meta_fields
    given = list(data_fields) + list(meta_fields) + list(drop_fields)
    if is_dc and sorted(given) != sorted(f.name for f in dataclasses.fields(nodetype)):
        raise ValueError(
            f"register_dataclass({nodetype.__name__}): data_fields, meta_fields and "
            f"drop_fields ({given}) must name every dataclass field exactly once "
            f"({[f.name for f in dataclasses.fields(nodetype)]}).")
    _add(nodetype, _dataclass_node(nodetype, data_fields, meta_fields))
    return nodetype


def register_leaf(cls: type) -> type:
    """Makes instances of `cls` leaves, although `cls` is a dataclass or a
    namedtuple (nodes by default). Returns `cls`."""
    _add(cls, _LEAF)
    return cls


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
