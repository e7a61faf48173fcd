"""Tests of functrans.tree_util: pytrees as JAX users know them.

Expected structures and leaves are written by hand; jax.tree_util is an oracle
(when installed) for trees made of the containers both libraries share.
"""

import collections
import dataclasses
import functools
import re
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from functrans import tree as ftree
from functrans import tree_util as tu
from functrans.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey

# ------------------------------------------------------------ node types used

Point = collections.namedtuple("Point", "x y")


class Pair3(NamedTuple):
    a: Any
    b: Any
    c: Any


@dataclasses.dataclass
class Linear:
    w: Any
    b: Any


@dataclasses.dataclass(frozen=True)
class Frozen:
    x: Any
    name: str = dataclasses.field(metadata={"static": True})
    y: Any = None


@dataclasses.dataclass
class Positive:
    """__post_init__ would reject the leaves tree_map puts in: unflatten must not call it."""
    x: Any

    def __post_init__(self):
        if not (isinstance(self.x, (int, float)) and self.x > 0):
            raise ValueError("x must be a positive number")


@dataclasses.dataclass
class BadStatic:
    x: Any
    tags: Any = dataclasses.field(default=None, metadata={"static": True})


class Pair:
    """Registered with register_pytree_node (no keys)."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __eq__(self, other):
        return type(other) is Pair and (self.a, self.b) == (other.a, other.b)


tu.register_pytree_node(Pair, lambda p: ((p.a, p.b), "tag"), lambda aux, ch: Pair(*ch))


@tu.register_pytree_node_class
class Scaled:
    """Registered with the class decorator; `k` is aux data."""

    def __init__(self, x, k):
        self.x, self.k = x, k

    def __eq__(self, other):
        return type(other) is Scaled and (self.x, self.k) == (other.x, other.k)

    def tree_flatten(self):
        return (self.x,), self.k

    @classmethod
    def tree_unflatten(cls, k, children):
        return cls(children[0], k)


class Keyed:
    """Registered with keys; its flatten returns a generator (allowed)."""

    def __init__(self, **kw):
        self.kw = kw

    def __eq__(self, other):
        return type(other) is Keyed and self.kw == other.kw


tu.register_pytree_with_keys(
    Keyed,
    lambda k: ([(GetAttrKey(n), k.kw[n]) for n in sorted(k.kw)], tuple(sorted(k.kw))),
    lambda names, ch: Keyed(**dict(zip(names, ch))),
    flatten_func=lambda k: ((k.kw[n] for n in sorted(k.kw)), tuple(sorted(k.kw))))


class MyDict(dict):
    pass


class MyTuple(tuple):
    pass


def _ddict(**kw):
    return collections.defaultdict(list, kw)


ARR = np.arange(3.0)

# ------------------------------------------------------------------ the table
# (id, tree, expected leaves, expected repr of the PyTreeDef, expected num_nodes)
TREES = [
    ("leaf_int", 1, [1], "PyTreeDef(*)", 1),
    ("leaf_str", "abc", ["abc"], "PyTreeDef(*)", 1),
    ("leaf_array", ARR, [ARR], "PyTreeDef(*)", 1),
    ("none", None, [], "PyTreeDef(None)", 1),
    ("empty_list", [], [], "PyTreeDef([])", 1),
    ("empty_tuple", (), [], "PyTreeDef(())", 1),
    ("empty_dict", {}, [], "PyTreeDef({})", 1),
    ("one_tuple", (1,), [1], "PyTreeDef((*,))", 2),
    ("nested_empty", [[], ((),), {"a": {}}], [], "PyTreeDef([[], ((),), {'a': {}}])", 6),
    ("mixed", [1, (2, 3), {"b": 4, "a": 5}], [1, 2, 3, 5, 4],
     "PyTreeDef([*, (*, *), {'a': *, 'b': *}])", 8),
    ("nones", {"x": None, "y": [None, 6]}, [6], "PyTreeDef({'x': None, 'y': [None, *]})", 5),
    ("namedtuple", Point(1, [2, 3]), [1, 2, 3],
     "PyTreeDef(CustomNode(namedtuple[Point], [*, [*, *]]))", 5),
    ("typed_namedtuple", Pair3(1, None, (2,)), [1, 2],
     "PyTreeDef(CustomNode(namedtuple[Pair3], [*, None, (*,)]))", 5),
    ("ordered_dict", collections.OrderedDict([("z", 1), ("a", 2)]), [1, 2],
     "PyTreeDef(CustomNode(OrderedDict[('z', 'a')], [*, *]))", 3),
    ("defaultdict", _ddict(q=1, p=2), [2, 1],
     "PyTreeDef(CustomNode(defaultdict[(<class 'list'>, ('p', 'q'))], [*, *]))", 3),
    ("dataclass", Linear(w=1, b=2), [1, 2], "PyTreeDef(CustomNode(Linear[()], [*, *]))", 3),
    ("frozen_static", Frozen(1, "f", (2, 3)), [1, 2, 3],
     "PyTreeDef(CustomNode(Frozen[('f',)], [*, (*, *)]))", 5),
    ("post_init", Positive(7), [7], "PyTreeDef(CustomNode(Positive[()], [*]))", 2),
    ("registered", Pair(1, [2]), [1, 2], "PyTreeDef(CustomNode(Pair['tag'], [*, [*]]))", 4),
    ("node_class", Scaled(1, 2), [1], "PyTreeDef(CustomNode(Scaled[2], [*]))", 2),
    ("with_keys", Keyed(b=1, a=2), [2, 1], "PyTreeDef(CustomNode(Keyed[('a', 'b')], [*, *]))", 3),
    ("subclasses_are_leaves", [MyDict(a=1), MyTuple((2,))], [MyDict(a=1), MyTuple((2,))],
     "PyTreeDef([*, *])", 3),
    ("mixed_dict_keys", {"b": 1, 2: 3}, [3, 1], "PyTreeDef({2: *, 'b': *})", 3),
    ("tuple_dict_keys", {(1, 2): 1, (0, 5): 2}, [2, 1], "PyTreeDef({(0, 5): *, (1, 2): *})", 3),
    ("model", {"layers": [Linear(1, 2), Linear(3, None)], "opt": (Point(4, 5), {"t": 6})},
     [1, 2, 3, 4, 5, 6],
     "PyTreeDef({'layers': [CustomNode(Linear[()], [*, *]), CustomNode(Linear[()], [*, None])], "
     "'opt': (CustomNode(namedtuple[Point], [*, *]), {'t': *})})", 14),
]
IDS = [row[0] for row in TREES]


def assert_same_tree(a, b):
    """Strict structural equality: same types all the way down, same leaves."""
    assert type(a) is type(b), (a, b)
    if type(a) in (list, tuple) or isinstance(a, tuple) and hasattr(a, "_fields"):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_tree(x, y)
    elif type(a) in (dict, collections.OrderedDict, collections.defaultdict):
        keys = list(a) if type(a) is collections.OrderedDict else sorted(a, key=repr)
        assert keys == (list(b) if type(b) is collections.OrderedDict else sorted(b, key=repr))
        if type(a) is collections.defaultdict:
            assert a.default_factory is b.default_factory
        for k in keys:
            assert_same_tree(a[k], b[k])
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same_tree(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, np.ndarray):
        assert a is b
    else:
        assert a == b


# ------------------------------------------------------------------ round trips

@pytest.mark.parametrize("tree,leaves,text,num_nodes", [r[1:] for r in TREES], ids=IDS)
def test_flatten_matches_hand_written_structure(tree, leaves, text, num_nodes):
    got_leaves, treedef = tu.tree_flatten(tree)
    assert len(got_leaves) == len(leaves)
    for x, y in zip(got_leaves, leaves):
        assert_same_tree(x, y)
    assert repr(treedef) == text == str(treedef)
    assert treedef.num_leaves == len(leaves)
    assert treedef.num_nodes == num_nodes
    assert tu.tree_leaves(tree) == got_leaves
    assert tu.tree_structure(tree) == treedef


@pytest.mark.parametrize("tree", [r[1] for r in TREES], ids=IDS)
def test_round_trip(tree):
    leaves, treedef = tu.tree_flatten(tree)
    assert_same_tree(tu.tree_unflatten(treedef, leaves), tree)
    assert_same_tree(treedef.unflatten(tuple(leaves)), tree)
    assert_same_tree(treedef.unflatten(iter(leaves)), tree)
    assert_same_tree(tu.tree_map(lambda x: x, tree), tree)
    # A second flatten gives an equal, equally hashed, but new treedef.
    again = tu.tree_structure(tree)
    assert again == treedef and hash(again) == hash(treedef)
    # Unflatten rebuilds containers: no node of the result is a node of the input.
    rebuilt = treedef.unflatten(leaves)
    if treedef.num_nodes > 1 and tree is not None:
        assert rebuilt is not tree


@pytest.mark.parametrize("tree", [r[1] for r in TREES], ids=IDS)
def test_with_path_agrees_with_flatten(tree):
    pairs, treedef = tu.tree_flatten_with_path(tree)
    leaves, treedef2 = tu.tree_flatten(tree)
    assert treedef == treedef2
    assert [x for _, x in pairs] == leaves
    assert tu.tree_leaves_with_path(tree) == pairs
    assert len({p for p, _ in pairs}) == len(pairs)  # paths are distinct


@pytest.mark.parametrize("tree", [r[1] for r in TREES], ids=IDS)
def test_children_rebuild_the_tree(tree):
    treedef = tu.tree_structure(tree)
    kids = treedef.children()
    assert tu.treedef_children(treedef) == kids
    if treedef.node_data() is None:  # a leaf
        assert kids == [] and treedef.num_leaves == 1
    else:
        assert sum(k.num_leaves for k in kids) == treedef.num_leaves
        assert sum(k.num_nodes for k in kids) + 1 == treedef.num_nodes
    assert tu.treedef_is_leaf(treedef) == (treedef.num_nodes == 1)


def test_unflatten_with_tuple_leaves_gives_lists_for_list_nodes():
    treedef = tu.tree_structure([0, [0, 0]])
    out = treedef.unflatten((1, 2, 3))
    assert out == [1, [2, 3]] and type(out[1]) is list


def test_dict_order_is_sorted_and_insertion_order_independent():
    a, b = {"b": 1, "a": 2, "c": 3}, {"c": 3, "a": 2, "b": 1}
    assert tu.tree_leaves(a) == [2, 1, 3]
    assert tu.tree_structure(a) == tu.tree_structure(b)
    assert list(tu.tree_map(lambda x: x, a)) == ["a", "b", "c"]
    m1, m2 = {"b": 1, 2: 3, 1.5: 4}, {1.5: 4, "b": 1, 2: 3}
    assert tu.tree_structure(m1) == tu.tree_structure(m2)
    assert tu.tree_leaves(m1) == [4, 3, 1]  # ('float', '1.5') < ('int', '2') < ('str', "'b'")


def test_ordered_dict_keeps_insertion_order():
    a = collections.OrderedDict([("b", 1), ("a", 2)])
    b = collections.OrderedDict([("a", 2), ("b", 1)])
    assert tu.tree_leaves(a) == [1, 2]
    assert tu.tree_structure(a) != tu.tree_structure(b)


def test_dataclass_static_fields_are_aux_data():
    f1, f2 = Frozen(1, "f"), Frozen(1, "g")
    assert tu.tree_leaves(f1) == [1]
    assert tu.tree_structure(f1) != tu.tree_structure(f2)
    out = tu.tree_map(lambda x: x * 10, Frozen(1, "f", (2,)))
    assert out == Frozen(10, "f", (20,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.x = 0


def test_unflatten_does_not_call_init_or_post_init():
    out = tu.tree_map(lambda x: "not a number", Positive(3))
    assert type(out) is Positive and out.x == "not a number"


def test_dataclass_subclass_and_init_false_fields():
    @dataclasses.dataclass
    class Base:
        a: Any

    @dataclasses.dataclass
    class Child(Base):
        b: Any
        c: Any = dataclasses.field(init=False, default=5)

    child = Child(1, 2)
    assert tu.tree_leaves(child) == [1, 2, 5]
    out = tu.tree_map(lambda x: x + 1, child)
    assert (out.a, out.b, out.c) == (2, 3, 6)


def test_slots_dataclass():
    @dataclasses.dataclass(frozen=True, slots=True)
    class S:
        a: Any
        b: Any

    assert tu.tree_map(lambda x: -x, S(1, 2)) == S(-1, -2)


def test_namedtuple_unflatten_skips_custom_new():
    class Checked(collections.namedtuple("Checked", "v")):
        calls = []

        def __new__(cls, v):
            cls.calls.append(v)
            return super().__new__(cls, v)

    out = tu.tree_map(lambda x: x + 1, Checked(1))
    assert out == (2,) and type(out) is Checked and Checked.calls == [1]
    assert repr(tu.tree_structure(out)) == "PyTreeDef(CustomNode(namedtuple[Checked], [*]))"


def test_is_leaf_stops_recursion():
    tree = [1, (2, None), {"a": (3,)}]
    leaves, treedef = tu.tree_flatten(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [1, (2, None), (3,)]
    assert repr(treedef) == "PyTreeDef([*, *, {'a': *}])"
    assert tu.tree_leaves(None, is_leaf=lambda x: x is None) == [None]
    assert tu.tree_map(lambda x: x is None, [None, 1], is_leaf=lambda x: x is None) == [True, False]
    assert tu.tree_leaves(tree, is_leaf=lambda x: x is tree) == [tree]


def test_register_leaf_opts_a_dataclass_out():
    @dataclasses.dataclass
    class Opaque:
        a: Any

    assert tu.tree_leaves(Opaque(1)) == [1]  # classified (and cached) as a node first
    tu.register_leaf(Opaque)
    leaf = Opaque(1)
    assert tu.tree_leaves([leaf]) == [leaf]


def test_register_dataclass_explicit_fields():
    @dataclasses.dataclass
    class Opt:
        lr: Any
        name: str
        cache: Any = None

    tu.register_dataclass(Opt, data_fields=["lr"], meta_fields=["name"], drop_fields=["cache"])
    leaves, treedef = tu.tree_flatten(Opt(0.1, "sgd", cache=[1, 2]))
    assert leaves == [0.1] and repr(treedef) == "PyTreeDef(CustomNode(Opt[('sgd',)], [*]))"
    out = treedef.unflatten([0.2])
    assert (out.lr, out.name) == (0.2, "sgd")

    class Plain:  # not a dataclass: explicit fields required
        pass

    with pytest.raises(TypeError, match="required"):
        tu.register_dataclass(Plain)
    tu.register_dataclass(Plain, data_fields=["u"], meta_fields=[])
    p = Plain()
    p.u = 3
    assert tu.tree_map(lambda x: x + 1, p).u == 4

    @dataclasses.dataclass
    class Missing:
        a: Any
        b: Any

    with pytest.raises(ValueError, match="every dataclass field"):
        tu.register_dataclass(Missing, data_fields=["a"], meta_fields=[])


def test_key_entries():
    assert (str(SequenceKey(1)), str(DictKey("a")), str(GetAttrKey("w")),
            str(FlattenedIndexKey(2))) == ("[1]", "['a']", ".w", "[<flat index 2>]")
    assert (repr(SequenceKey(1)), repr(DictKey("a")), repr(GetAttrKey("w")),
            repr(FlattenedIndexKey(2))) == ("SequenceKey(idx=1)", "DictKey(key='a')",
                                            "GetAttrKey(name='w')", "FlattenedIndexKey(key=2)")
    assert SequenceKey(1) == SequenceKey(1) and hash(DictKey("a")) == hash(DictKey("a"))
    assert SequenceKey(1) != FlattenedIndexKey(1) and DictKey(1) != SequenceKey(1)
    assert tu.tree_leaves([SequenceKey(0), DictKey("a")]) == [SequenceKey(0), DictKey("a")]
    match SequenceKey(3):
        case SequenceKey(i):
            assert i == 3
    path = (DictKey("a"), SequenceKey(0), GetAttrKey("w"))
    assert tu.keystr(path) == "['a'][0].w"
    assert tu.keystr(path, simple=True, separator="/") == "a/0/w"
    assert tu.keystr(()) == ""


def test_key_paths_by_node_type():
    tree = {"a": [Point(1, Linear(2, 3))], "b": (Pair(4, 5), Keyed(z=6)),
            "c": collections.OrderedDict(y=7), "d": _ddict(x=8), "e": Frozen(9, "s")}
    got = [(tu.keystr(p), x) for p, x in tu.tree_leaves_with_path(tree)]
    assert got == [("['a'][0].x", 1), ("['a'][0].y.w", 2), ("['a'][0].y.b", 3),
                   ("['b'][0][<flat index 0>]", 4), ("['b'][0][<flat index 1>]", 5),
                   ("['b'][1].z", 6), ("['c']['y']", 7), ("['d']['x']", 8), ("['e'].x", 9)]


def test_map_with_path_and_is_leaf_takes_path():
    out = tu.tree_map_with_path(lambda p, x, y: (tu.keystr(p), x + y), {"a": 1, "b": [2]},
                                {"a": 10, "b": [20]})
    assert out == {"a": ("['a']", 11), "b": [("['b'][0]", 22)]}
    pairs, _ = tu.tree_flatten_with_path({"a": (1, 2), "b": (3, 4)}, is_leaf_takes_path=True,
                                         is_leaf=lambda p, x: p == (DictKey("b"),))
    assert [(tu.keystr(p), x) for p, x in pairs] == [("['a'][0]", 1), ("['a'][1]", 2),
                                                     ("['b']", (3, 4))]


# ------------------------------------------------------------ tree functions

def test_tree_map_multiple_trees_and_prefixes():
    assert tu.tree_map(lambda x, y, z: x + y + z, [1, (2,)], [10, (20,)], [100, (200,)]) \
        == [111, (222,)]
    # Leaves of the first tree receive whole subtrees of the others.
    assert tu.tree_map(lambda x, y: (x, y), [1, 2], [(3, 4), {"a": 5}]) \
        == [(1, (3, 4)), (2, {"a": 5})]
    assert tu.tree_map(lambda x, y: (x, y), [1, 2], [(3, 4), None]) == [(1, (3, 4)), (2, None)]
    # None is a node of the first tree: the others need None there too.
    assert tu.tree_map(lambda x, y: (x, y), [1, None], [(3, 4), None]) == [(1, (3, 4)), None]
    # is_leaf applies to the first tree only.
    is_tuple = lambda x: type(x) is tuple  # noqa: E731
    assert tu.tree_map(lambda x, y: (x, y), [(1, 2)], [[3, 4]], is_leaf=is_tuple) \
        == [((1, 2), [3, 4])]
    assert tu.tree_map(lambda x, y: x + y, Linear(1, 2), Linear(3, 4)) == Linear(4, 6)


def test_tree_all_reduce():
    assert tu.tree_all([True, {"a": 1}, None]) and not tu.tree_all([1, (0,)])
    assert tu.tree_all([]) and tu.tree_all([(1, 2)], is_leaf=lambda x: isinstance(x, tuple))
    assert tu.tree_reduce(lambda a, b: a + b, [1, (2, 3)]) == 6
    assert tu.tree_reduce(lambda a, b: a + b, [1, (2, 3)], 10) == 16
    assert tu.tree_reduce(lambda a, b: a + b, [], 5) == 5
    assert tu.tree_reduce(lambda a, b: a + [b], [(1, 2)], [], is_leaf=lambda x: type(x) is tuple) \
        == [(1, 2)]
    with pytest.raises(TypeError, match="empty"):
        tu.tree_reduce(lambda a, b: a + b, [None])


def test_tree_transpose():
    outer, inner = tu.tree_structure([0, 0]), tu.tree_structure((0, 0, 0))
    assert tu.tree_transpose(outer, inner, [(1, 2, 3), (4, 5, 6)]) == ([1, 4], [2, 5], [3, 6])
    assert tu.tree_transpose(outer, None, [(1, 2, 3), (4, 5, 6)]) == ([1, 4], [2, 5], [3, 6])
    out = tu.tree_transpose(tu.tree_structure({"a": 0, "b": 0}),
                            tu.tree_structure([0, (0, 0)]), {"a": [1, (2, 3)], "b": [4, (5, 6)]})
    assert out == [{"a": 1, "b": 4}, ({"a": 2, "b": 5}, {"a": 3, "b": 6})]
    assert tu.tree_transpose(tu.tree_structure(()), inner, ()) == ((), (), ())
    with pytest.raises(ValueError, match=re.escape(
            "tree_transpose: outer leaf 1 does not have the inner structure at key path [1]: "
            "expected a list of 1 child, got a leaf of type int")):
        tu.tree_transpose(outer, tu.tree_structure((0, [0])), [(1, [2]), (3, 4)])
    with pytest.raises(ValueError, match=re.escape(
            "tree_transpose: the tree does not have the outer structure at the root")):
        tu.tree_transpose(outer, inner, ((1, 2, 3), (4, 5, 6)))


def test_all_leaves_and_treedef_helpers():
    assert tu.all_leaves([1, "a", ARR]) and not tu.all_leaves([1, None])
    assert not tu.all_leaves([(1,)]) and tu.all_leaves([(1,)], is_leaf=lambda x: True)
    td = tu.treedef_tuple(map(tu.tree_structure, [1, [1, 2], None]))
    assert repr(td) == "PyTreeDef((*, [*, *], None))" and td.num_leaves == 3
    assert td == tu.tree_structure((1, [1, 2], None))
    assert tu.treedef_tuple([tu.tree_structure(1)] * 2) == tu.tree_structure((1, 2))
    assert tu.treedef_tuple([]) == tu.tree_structure(())
    assert tu.tree_structure({"a": 1}).node_data() == (dict, ("a",))
    assert tu.tree_structure(1).node_data() is None
    assert all(map(tu.treedef_is_leaf, map(tu.tree_structure, [1, None, (), {}])))
    assert not tu.treedef_is_leaf(tu.tree_structure([1]))


def test_pytreedef_is_immutable_hashable_comparable():
    td = tu.tree_structure({"a": 1})
    with pytest.raises(AttributeError):
        td._record = None
    assert td != tu.tree_structure({"b": 1}) and td != tu.tree_structure([1])
    assert td != "PyTreeDef({'a': *})" and (td == 1) is False
    assert len({td, tu.tree_structure({"a": 2}), tu.tree_structure([1])}) == 2
    assert tu.tree_structure([1, 2]) != tu.tree_structure((1, 2))
    assert tu.tree_structure(None) != tu.tree_structure(1)
    assert tu.tree_structure(Frozen(1, "a")) != tu.tree_structure(Linear(1, None))


def test_partial():
    p = tu.Partial(pow, 2, mod=5)
    leaves, treedef = tu.tree_flatten(p)
    assert leaves == [2, 5] and p(3) == 3
    q = treedef.unflatten([3, 7])
    assert isinstance(q, tu.Partial) and q(2) == 9 % 7
    assert tu.tree_map(lambda x: x + 1, tu.Partial(pow, 2))(5) == 243
    assert tu.tree_structure(tu.Partial(pow, 1)) == tu.tree_structure(tu.Partial(pow, 9))
    assert tu.tree_structure(tu.Partial(pow, 1)) != tu.tree_structure(tu.Partial(max, 1))
    # The arguments of a wrapped plain partial stay static, not children.
    inner = functools.partial(pow, 2)
    r = tu.Partial(inner, 3)
    assert tu.tree_leaves(r) == [3] and r() == 8
    assert tu.tree_leaves(tu.Partial(p)) == []


def test_short_names_module():
    assert ftree.flatten is tu.tree_flatten and ftree.unflatten is tu.tree_unflatten
    assert ftree.map is tu.tree_map and ftree.leaves is tu.tree_leaves
    assert ftree.structure is tu.tree_structure and ftree.all is tu.tree_all
    assert ftree.reduce is tu.tree_reduce and ftree.transpose is tu.tree_transpose
    assert ftree.flatten_with_path is tu.tree_flatten_with_path
    assert ftree.leaves_with_path is tu.tree_leaves_with_path
    assert ftree.map_with_path is tu.tree_map_with_path
    assert ftree.map(lambda x: x * 2, {"a": 1, "b": (2, 3)}) == {"a": 2, "b": (4, 6)}


# ------------------------------------------------------------------- errors

def test_tree_map_mismatch_names_argument_path_and_both_structures():
    with pytest.raises(ValueError) as e:
        tu.tree_map(lambda x, y: x, {"a": 1, "b": (1, 2)}, {"a": 1, "b": [1, 2, 3]})
    assert str(e.value) == (
        "tree_map: the tree at argument 1 has a different structure from argument 0 at key path "
        "['b']: expected a tuple of 2 children, got a list of 3 children. Structures: "
        "PyTreeDef({'a': *, 'b': (*, *)}) vs PyTreeDef({'a': *, 'b': [*, *, *]})")


@pytest.mark.parametrize("first,other,path,detail", [
    ({"a": 1}, {"b": 1}, "at the root", "expected a dict with keys ['a'], got a dict with keys "
     "['b']"),
    ([1, (2, 3)], [1, 5], "at key path [1]", "expected a tuple of 2 children, got a leaf of type "
     "int"),
    ({"a": [0, Point(1, {"q": 2})]}, {"a": [0, Point(1, 2)]}, "at key path ['a'][1].y",
     "expected a dict with keys ['q'], got a leaf of type int"),
    ([None], [1], "at key path [0]", "expected None, got a leaf of type int"),
    ([(1,)], [[1]], "at key path [0]", "expected a tuple of 1 child, got a list of 1 child"),
    (Linear(1, (2,)), Linear(1, (2, 3)), "at key path .b", "expected a tuple of 1 child, got a "
     "tuple of 2 children"),
    (Frozen(1, "a"), Frozen(1, "b"), "at the root", "expected a Frozen of 2 children with aux "
     "data ('a',), got a Frozen of 2 children with aux data ('b',)"),
    (Pair(1, [2]), Pair(1, [2, 3]), "at key path [<flat index 1>]",
     "expected a list of 1 child, got a list of 2 children"),
    (Point(1, 2), Pair3(1, 2, 3), "at the root",
     "expected a namedtuple[Point] of 2 children, got a namedtuple[Pair3] of 3 children"),
    (collections.OrderedDict(a=1, b=2), collections.OrderedDict(b=2, a=1), "at the root",
     "expected an OrderedDict with keys ['a', 'b'], got an OrderedDict with keys ['b', 'a']"),
])
def test_mismatch_messages(first, other, path, detail):
    for fn, name in [(tu.tree_map, "tree_map"), (tu.tree_map_with_path, "tree_map_with_path")]:
        f = (lambda x, y, z: x) if fn is tu.tree_map else (lambda p, x, y, z: x)
        with pytest.raises(ValueError) as e:
            fn(f, first, first, other)
        assert str(e.value) == (
            f"{name}: the tree at argument 2 has a different structure from argument 0 {path}: "
            f"{detail}. Structures: {tu.tree_structure(first)!r} vs {tu.tree_structure(other)!r}")


def test_flatten_up_to():
    td = tu.tree_structure([1, (2, 3)])
    assert td.flatten_up_to([{"a": 1}, (2, [3])]) == [{"a": 1}, 2, [3]]
    with pytest.raises(ValueError) as e:
        td.flatten_up_to([{"a": 1}, [2, [3]]])
    assert str(e.value) == (
        "flatten_up_to: the tree has a different structure from the PyTreeDef at key path [1]: "
        "expected a tuple of 2 children, got a list of 2 children. Structures: "
        "PyTreeDef([*, (*, *)]) vs PyTreeDef([{'a': *}, [*, [*]]])")


def test_unflatten_wrong_leaf_count():
    td = tu.tree_structure({"a": 1, "b": (2, 3)})
    for given in ([1, 2], [1, 2, 3, 4]):
        with pytest.raises(ValueError) as e:
            tu.tree_unflatten(td, given)
        assert str(e.value) == (f"tree_unflatten: PyTreeDef({{'a': *, 'b': (*, *)}}) expects 3 "
                                f"leaves, but {len(given)} were given.")
    with pytest.raises(ValueError, match="expects 0 leaves, but 1 were given"):
        tu.tree_structure(None).unflatten([1])


def test_duplicate_registration():
    class Twice:
        pass

    tu.register_pytree_node(Twice, lambda x: ((), None), lambda aux, ch: Twice())
    for register in [lambda: tu.register_pytree_node(Twice, None, None),
                     lambda: tu.register_pytree_with_keys(Twice, None, None),
                     lambda: tu.register_leaf(Twice),
                     lambda: tu.register_dataclass(Twice, [], [])]:
        with pytest.raises(ValueError, match=re.escape(f"Duplicate custom PyTreeDef type "
                                                       f"registration for {Twice}.")):
            register()
    for builtin in (list, tuple, dict, type(None), collections.OrderedDict, tu.Partial):
        with pytest.raises(ValueError, match="Duplicate"):
            tu.register_pytree_node(builtin, None, None)


def test_unhashable_static_field():
    for fn in (tu.tree_flatten, tu.tree_leaves, tu.tree_flatten_with_path):
        with pytest.raises(TypeError) as e:
            fn([BadStatic(1, tags=["a"])])
        assert str(e.value) == (
            "Static field BadStatic.tags must be hashable because its value becomes part of the "
            "PyTreeDef, but it is an unhashable list: ['a']. Make it hashable (e.g. a tuple) or a "
            "data field.")
    assert tu.tree_leaves(BadStatic(1, tags=("a",))) == [1]


def test_unorderable_dict_keys_with_equal_reprs():
    class K:
        def __repr__(self):
            return "K"

    with pytest.raises(TypeError, match="Cannot order the keys of a dict"):
        tu.tree_flatten({K(): 1, K(): 2})


def test_long_structures_are_shortened_in_errors():
    big = list(range(2000))
    with pytest.raises(ValueError) as e:
        tu.tree_map(lambda x, y: x, big, big[:-1])
    assert "expected a list of 2000 children, got a list of 1999 children" in str(e.value)
    assert len(str(e.value)) < 5000


# ------------------------------------------------------------ property tests

LEAVES = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=3),
                   st.booleans())
KEYS = st.text(max_size=4)


def _trees(leaves=LEAVES, extra_nodes=True):
    def extend(children):
        nodes = [st.lists(children, max_size=4), st.tuples(children, children),
                 st.lists(children, max_size=3).map(tuple),
                 st.dictionaries(KEYS, children, max_size=4),
                 st.builds(Point, children, children),
                 st.lists(st.tuples(KEYS, children), max_size=3).map(collections.OrderedDict)]
        if extra_nodes:
            nodes += [st.builds(Linear, children, children),
                      st.builds(Frozen, children, KEYS, children),
                      st.builds(Pair, children, children),
                      st.dictionaries(KEYS, children, max_size=3).map(
                          lambda d: collections.defaultdict(int, d))]
        return st.one_of(*nodes)
    return st.recursive(st.one_of(leaves, st.none()), extend, max_leaves=20)


@settings(max_examples=200, deadline=None, database=None)
@given(_trees())
def test_property_round_trip(tree):
    leaves, treedef = tu.tree_flatten(tree)
    assert treedef.num_leaves == len(leaves)
    assert_same_tree(treedef.unflatten(leaves), tree)
    assert tu.tree_structure(tree) == treedef and hash(tu.tree_structure(tree)) == hash(treedef)
    pairs, treedef2 = tu.tree_flatten_with_path(tree)
    assert treedef2 == treedef and [x for _, x in pairs] == leaves
    # Tag each leaf with its position; mapping over both trees pairs them up.
    tagged = treedef.unflatten(range(len(leaves)))
    pairs = tu.tree_map(lambda i, x: [i, x], tagged, tree)
    assert tu.tree_leaves(pairs) == [v for i, x in enumerate(leaves) for v in (i, x)]
    if treedef.node_data() is not None:
        assert sum(k.num_leaves for k in treedef.children()) == treedef.num_leaves


# --------------------------------------------------------------- jax oracle

ORACLE_TREES = [
    1, None, [], (), {}, (1,), [1, (2, 3), {"b": 4, "a": 5}], {"x": None, "y": [None, 6]},
    Point(1, [2, 3]), Pair3(1, None, (2,)), collections.OrderedDict([("z", 1), ("a", 2)]),
    {"a": [Point(1, (2, None))], "b": collections.OrderedDict(c={"d": 3, "a": [4, 5]})},
    [[], ((),), {"a": {}}], {(1, 2): 1, (0, 5): 2}, {2: "x", 1.5: "y"},
]


def _jax_tree_util():
    jax = pytest.importorskip("jax")
    return jax.tree_util


def _check_against_jax(tree, jtu):
    leaves, treedef = tu.tree_flatten(tree)
    jleaves, jtreedef = jtu.tree_flatten(tree)
    assert leaves == jleaves
    assert repr(treedef) == repr(jtreedef)
    assert (treedef.num_leaves, treedef.num_nodes) == (jtreedef.num_leaves, jtreedef.num_nodes)
    assert [repr(c) for c in treedef.children()] == [repr(c) for c in jtreedef.children()]
    assert tu.treedef_is_leaf(treedef) == jtu.treedef_is_leaf(jtreedef)
    pairs = tu.tree_leaves_with_path(tree)
    jpairs = jtu.tree_leaves_with_path(tree)
    assert [tu.keystr(p) for p, _ in pairs] == [jtu.keystr(p) for p, _ in jpairs]
    assert [tu.keystr(p, simple=True, separator="/") for p, _ in pairs] \
        == [jtu.keystr(p, simple=True, separator="/") for p, _ in jpairs]
    assert [repr(p) for p, _ in pairs] == [repr(p) for p, _ in jpairs]
    assert [x for _, x in pairs] == [x for _, x in jpairs]
    tagged = treedef.unflatten(range(len(leaves)))
    assert repr(tu.tree_map(lambda x: x * 2, tagged)) == repr(jtu.tree_map(lambda x: x * 2, tagged))
    assert tu.all_leaves(leaves) == jtu.all_leaves(leaves)


@pytest.mark.parametrize("tree", ORACLE_TREES, ids=[repr(t)[:40] for t in ORACLE_TREES])
def test_against_jax(tree):
    _check_against_jax(tree, _jax_tree_util())


def test_prefix_map_and_transpose_against_jax():
    jtu = _jax_tree_util()
    cases = [([1, 2], [(3, 4), None]), ([1, None], [(3, 4), None]),
             ({"a": 1, "b": (2,)}, {"a": {"x": 1}, "b": ([5],)}),
             (Point(1, 2), Point([1], (2, 3)))]
    for first, other in cases:
        f = lambda x, y: (x, y)  # noqa: E731
        assert repr(tu.tree_map(f, first, other)) == repr(jtu.tree_map(f, first, other))
        assert tu.tree_structure(first).flatten_up_to(other) \
            == jtu.tree_structure(first).flatten_up_to(other)
    tree = {"a": [1, (2, 3)], "b": [4, (5, 6)]}
    outer, inner = {"a": 0, "b": 0}, [0, (0, 0)]
    assert tu.tree_transpose(tu.tree_structure(outer), tu.tree_structure(inner), tree) \
        == jtu.tree_transpose(jtu.tree_structure(outer), jtu.tree_structure(inner), tree)
    for mismatch in [([1, (2, 3)], [1, [2, 3]]), ({"a": 1}, {"b": 1}), ([None], [1])]:
        with pytest.raises(ValueError):
            jtu.tree_map(lambda x, y: x, *mismatch)
        with pytest.raises(ValueError):
            tu.tree_map(lambda x, y: x, *mismatch)


@settings(max_examples=100, deadline=None, database=None)
@given(_trees(extra_nodes=False))
def test_property_against_jax(tree):
    _check_against_jax(tree, _jax_tree_util())
