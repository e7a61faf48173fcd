"""Arrays, the trace stack, tracers, user-facing errors and the primitive registry."""

import pickle
import threading
import traceback

import numpy as np
import pytest

import functrans as ft
import functrans.numpy as fnp
from functrans import core
from functrans.core import ShapedArray


# --- Array ------------------------------------------------------------------------------------


def test_array_attributes_match_numpy():
    ref = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = fnp.asarray(ref)
    assert (x.shape, x.dtype, x.ndim, x.size) == (ref.shape, ref.dtype, ref.ndim, ref.size)
    assert x.aval == ShapedArray((2, 3, 4), np.float32)
    np.testing.assert_array_equal(np.asarray(x.T), ref.T)
    np.testing.assert_array_equal(np.asarray(x.reshape(4, 6)), ref.reshape(4, 6))
    np.testing.assert_array_equal(np.asarray(x.reshape((6, -1))), ref.reshape((6, -1)))
    assert x.astype(np.int8).dtype == np.int8
    assert x.tolist() == ref.tolist()
    assert fnp.asarray(3.5).item() == 3.5
    assert len(x) == 2 and [a.shape for a in x] == [(3, 4), (3, 4)]


def test_array_is_immutable_and_host_view_is_zero_copy_read_only():
    src = np.arange(4.0, dtype=np.float32)
    x = fnp.asarray(src)
    src[0] = 100.0  # asarray copied: the Array does not see later writes
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
    view = np.asarray(x)
    assert np.shares_memory(view, np.asarray(x)) and not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = 5.0
    with pytest.raises(TypeError, match=r"immutable.*\.at\[idx\]\.set"):
        x[0] = 1.0
    with pytest.raises(TypeError, match="immutable"):
        del x[0]
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_dlpack_round_trip():
    x = fnp.arange(6.0).reshape(2, 3)
    y = np.from_dlpack(x)
    np.testing.assert_array_equal(y, np.asarray(x))
    assert x.__dlpack_device__() == y.__dlpack_device__()


def test_repr_and_str():
    assert repr(fnp.asarray([1.0, 2.0])) == "Array([1., 2.], dtype=float32)"
    assert repr(fnp.asarray(2.0)) == "Array(2., dtype=float32, weak_type=True)"
    assert str(fnp.asarray([1, 2])) == "[1 2]"
    assert f"{fnp.asarray(1.25):.1f}" == "1.2"


def test_pickle_round_trip_keeps_dtype_and_weak_type():
    for x in (fnp.arange(5.0), fnp.asarray(2.0), fnp.asarray([True, False])):
        y = pickle.loads(pickle.dumps(x))
        assert y.dtype == x.dtype and y.weak_type == x.weak_type
        np.testing.assert_array_equal(np.asarray(y), np.asarray(x))


def test_scalar_conversions():
    assert float(fnp.asarray(2.5)) == 2.5 and int(fnp.asarray(3)) == 3
    assert bool(fnp.asarray(True)) and complex(fnp.asarray(1j)) == 1j
    assert [10, 20, 30][fnp.asarray(1)] == 20
    with pytest.raises(TypeError, match="only integer arrays"):
        [1, 2][fnp.asarray(1.0)]
    with pytest.raises(TypeError, match="unhashable"):
        hash(fnp.ones(2))


def test_numpy_on_the_left_defers_to_array():
    out = np.ones(3, np.float32) + fnp.ones(3)
    assert isinstance(out, ft.Array)


def test_asarray_rejects_ragged_and_objects():
    with pytest.raises(TypeError, match="functrans Array"):
        fnp.asarray([[1, 2], [3]])
    with pytest.raises(TypeError, match="functrans Array"):
        fnp.asarray(object())


def test_default_dtypes_and_x64():
    assert fnp.asarray(np.ones(2, np.float64)).dtype == np.float32
    assert fnp.asarray([1, 2]).dtype == np.int32
    assert fnp.asarray(1.0).weak_type and not fnp.asarray([1.0]).weak_type
    with ft.config.option("enable_x64", True):
        assert fnp.asarray(np.ones(2, np.float64)).dtype == np.float64
        assert fnp.asarray(1.0).dtype == np.float64
        assert (fnp.ones(2, dtype=np.float32) + 1.0).dtype == np.float32
    assert fnp.asarray(1.0).dtype == np.float32


# --- the trace stack -----------------------------------------------------------------------------


def test_trace_stack_is_restored_after_an_exception():
    def bad(x):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        ft.make_ir(bad)(fnp.ones(2))
    assert core.is_eager() and core._state.dynamic is None
    assert (fnp.ones(2) + 1.0).tolist() == [2.0, 2.0]


def test_trace_stack_is_per_thread():
    started, release = threading.Event(), threading.Event()
    seen = {}

    def traced(x):
        started.set()
        release.wait(5)
        return x * 2.0

    t = threading.Thread(target=lambda: seen.setdefault("ir", ft.make_ir(traced)(fnp.ones(2))))
    t.start()
    started.wait(5)
    # While the other thread is tracing, this one is still eager.
    assert core.is_eager()
    y = fnp.ones(2) * 3.0
    assert isinstance(y, ft.Array) and y.tolist() == [3.0, 3.0]
    release.set()
    t.join(5)
    assert [e.prim.name for e in seen["ir"].eqns] == ["mul"]


def test_leaked_tracer_is_detected_when_used():
    leaked = []

    def f(x):
        leaked.append(x)
        return x
    ft.make_ir(f)(fnp.ones(2))
    with pytest.raises(TypeError, match="escaped the transformation"):
        fnp.sin(leaked[0])
    with pytest.raises(TypeError, match="escaped the transformation"):
        ft.make_ir(lambda y: y + leaked[0])(fnp.ones(2))


@pytest.mark.parametrize("convert,what", [
    (bool, "Python bool"), (int, "Python int"), (float, "Python float"),
    (lambda t: range(t), "Python index"), (lambda t: t.item(), r"\.item\(\)"),
])
def test_concretization_errors_explain_what_to_do(convert, what):
    with pytest.raises(TypeError, match=what) as info:
        ft.make_ir(convert)(fnp.ones((), dtype=fnp.int32))
    assert "static_argnums" in str(info.value)


def test_if_on_a_tracer_points_to_where():
    def f(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(TypeError, match="functrans.numpy.where") as info:
        ft.make_ir(f)(fnp.ones(()))
    assert "bool[]" in str(info.value)


def test_numpy_conversion_of_a_tracer_is_a_clear_error():
    with pytest.raises(TypeError, match="use functrans.numpy"):
        ft.make_ir(lambda x: np.sin(x))(fnp.ones(3))
    with pytest.raises(TypeError, match="converted to a numpy array"):
        ft.make_ir(lambda x: np.asarray(x))(fnp.ones(3))


def test_tracer_setitem_points_to_at():
    def f(x):
        x[0] = 1.0
        return x
    with pytest.raises(TypeError, match=r"\.at\[idx\]\.set"):
        ft.make_ir(f)(fnp.ones(3))


# --- errors raised at the user's call ----------------------------------------------------------


def _last_frame(exc):
    return traceback.extract_tb(exc.__traceback__)[-1]


def _user_frames(exc):
    return [f for f in traceback.extract_tb(exc.__traceback__) if "/functrans/" not in f.filename]


def test_broadcast_error_names_op_and_shapes_and_ends_in_user_code():
    a, b = fnp.ones(3), fnp.ones(4)
    with pytest.raises(ValueError, match=r"add: incompatible shapes for broadcasting: \(3,\) and \(4,\)") as info:
        a + b  # noqa: B018
    frames = traceback.extract_tb(info.value.__traceback__)
    internal = [f for f in frames if "/functrans/" in f.filename]
    assert len(internal) <= 1  # at most the one boundary frame
    assert _user_frames(info.value)[-1].name.startswith("test_broadcast_error")


def test_traced_shape_error_traceback_is_filtered():
    def f(x, y):
        return fnp.reshape(x, (5,)) + y
    with pytest.raises(ValueError, match=r"reshape: cannot reshape an array of shape \(2, 3\)") as info:
        ft.make_ir(f)(fnp.ones((2, 3)), fnp.ones(5))
    frames = traceback.extract_tb(info.value.__traceback__)
    internal = [fr for fr in frames if "/functrans/" in fr.filename]
    assert len(internal) <= 2  # make_ir's boundary and reshape's boundary
    assert frames[-1].name == "f" or internal[-1] == frames[-1]
    assert "f" in [fr.name for fr in _user_frames(info.value)]


def test_dtype_error_names_op_and_dtype():
    from functrans import lax
    with pytest.raises(TypeError, match=r"sin: operand must be floating-point or complex, got int32"):
        lax.sin(fnp.arange(3))
    with pytest.raises(TypeError, match=r"add requires arguments of the same dtype, got f32\[3\], i32\[3\]"):
        lax.add(fnp.ones(3), fnp.arange(3))


# --- registry -------------------------------------------------------------------------------------

# Every primitive has every rule, except these explicit gaps: transpose rules
# exist only for linear primitives (the autodiff tests check each linear one has
# its rule); iota has no operand, so vmap never reaches a batch rule for it.
_ALLOWED_MISSING = {("transpose", None), ("batch", "iota")}


def test_every_primitive_has_every_rule():
    prims = {n: p for n, p in core.all_primitives().items() if not n.startswith("test_")}
    assert len(prims) >= 100
    missing = [(name, rule) for name, p in prims.items() for rule in core.rule_names()
               if getattr(p, rule) is None and (rule, None) not in _ALLOWED_MISSING
               and (rule, name) not in _ALLOWED_MISSING]
    assert missing == []


def test_required_primitive_set_exists():
    required = """neg sign floor ceil round is_finite exp exp2 log log1p expm1 tanh logistic sin
    cos tan asin acos atan sinh cosh asinh acosh atanh sqrt rsqrt cbrt abs erf erf_inv lgamma
    digamma integer_pow not add sub mul div rem pow max min atan2 nextafter and or xor
    shift_left shift_right_arithmetic shift_right_logical eq ne lt le gt ge select_n
    convert_element_type iota broadcast_in_dim reshape transpose squeeze rev slice
    dynamic_slice dynamic_update_slice concatenate pad gather scatter scatter_add scatter_mul
    scatter_min scatter_max reduce_sum reduce_prod reduce_max reduce_min reduce_and reduce_or
    argmax argmin cumsum cumprod cummax sort dot_general stop_gradient""".split()
    assert sorted(set(required) - set(core.all_primitives())) == []


def test_missing_rule_error_names_primitive_and_transformation():
    from functrans.errors import MissingRuleError
    p = core.all_primitives().get("test_rule_lookup") or core.Primitive("test_rule_lookup")
    with pytest.raises(MissingRuleError, match="primitive 'test_rule_lookup' cannot be differentiated"):
        p.rule("jvp")
    with pytest.raises(MissingRuleError, match="cannot be lowered to StableHLO"):
        p.rule("lower")


def test_eval_host_pair_is_bind_where_it_applies_and_declines_elsewhere(x64):
    # eager.eval_host_pair skips bind for reverse mode's commonest products and
    # sums: it must return exactly what bind returns (value, dtype, aval, weak
    # type), and None for every case where that is not guaranteed.
    from functrans.core import bind
    from functrans.eager import eval_host_pair
    from functrans.primitives import elementwise as ew
    from functrans.primitives._rules import weak_scalar
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        a = fnp.asarray(rng.standard_normal(5).astype(dtype))
        b = fnp.asarray(rng.standard_normal(5).astype(dtype))
        half = weak_scalar(0.5, np.dtype(dtype))
        assert eval_host_pair(np.multiply, a, b) is None  # aval not made yet: bind makes it
        a.aval, b.aval, half.aval  # (results of eager primitives carry theirs)
        for ufunc, prim in ((np.multiply, ew.mul_p), (np.add, ew.add_p)):
            for x, y in ((a, b), (a, half)):
                got, want = eval_host_pair(ufunc, x, y), bind(prim, x, y)
                assert got is not None
                np.testing.assert_array_equal(got, want)
                assert got.aval == want.aval and got.dtype == want.dtype
    f32 = fnp.asarray(np.ones(5, np.float32))
    f32.aval
    declined = [
        (fnp.asarray(np.ones(5, np.int32)), fnp.asarray(np.ones(5, np.int32))),  # not float
        (weak_scalar(0.5, np.dtype(np.float32)), f32),          # weak first operand
        (f32, fnp.asarray(np.ones(3, np.float32))),             # other shapes
        (f32, fnp.asarray(np.ones(5, np.float64))),             # other dtypes
        (f32, fnp.asarray(np.float32(2.0))),                    # strong rank-0 operand
        (f32, 2.0),                                             # not an Array
    ]
    for x, y in declined:
        getattr(x, "aval", None), getattr(y, "aval", None)
        assert eval_host_pair(np.multiply, x, y) is None
    # while a function is staged out (make_ir, jit) every operation is recorded
    seen = []
    ft.make_ir(lambda x: seen.append(eval_host_pair(np.multiply, f32, f32)) or x)(1.0)
    assert seen == [None]
