"""Pytree node types: key-path entries and the registry of container types.

``tree_util`` flattens and rebuilds trees; this module says what a node is:
the built-in containers, namedtuples, dataclasses, and types registered with
``register_pytree_node`` & co (all re-exported by ``functrans.tree_util``).
"""

import collections
import dataclasses
from typing import Any, Callable

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
      >>> from functrans.tree_util import *
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
      >>> from functrans.tree_util import *
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
      >>> from functrans.tree_util import *
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
      >>> from functrans.tree_util import *
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
