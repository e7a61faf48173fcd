"""functrans.numpy: numpy's API over functrans primitives.

Port numerical code by changing ``import numpy as np`` to
``import functrans.numpy as fnp``. Differences from numpy, on purpose (the
same as JAX's):

* Arrays are immutable: ``x[i] = v`` raises; use ``x = x.at[i].set(v)``.
* Default dtypes are float32/int32 (64-bit only with ``enable_x64``);
  Python scalars are weakly typed, so ``int8_array + 1`` stays int8 and
  ``float16_array * 2.0`` stays float16; ``int32 + float16`` is float16
  (numpy: float64 for some mixes). Creation functions and integer division
  follow the same rules.
* Out-of-bounds indices do not raise: reads clamp (``x[7]`` on length 5 is
  ``x[4]``; an integer array index too), ``take``/``take_along_axis`` fill
  (NaN for floats) by default, and out-of-bounds updates of ``x.at[i]`` are
  dropped; ``mode=`` chooses ("clip", "fill", "drop", "promise_in_bounds"),
  because values are not always known when a function is traced.
* Functions whose output shape depends on values (``nonzero``, boolean mask
  indexing, ``unique``) need concrete inputs: they fail inside jit/vmap.
* Integer division by zero gives XLA's values, eagerly too (``5 // 0`` is -2,
  ``5 % 0`` is 0), and no numpy RuntimeWarning leaves a functrans operation
  (``log(0.0)`` is ``-inf`` silently, as under jit).
* ``median``/``quantile`` of an empty slice raise (numpy: NaN and a warning).
"""

import numpy as _np

from ..array import attach_numpy as _attach_numpy
from .. import dtypes as _dtypes
from ._util import asarray, array, broadcast_to, broadcast_shapes as _broadcast_shapes_op  # noqa: F401
from ._ufuncs import *  # noqa: F401,F403
from ._creation import *  # noqa: F401,F403
from ._shape import *  # noqa: F401,F403
from ._reductions import *  # noqa: F401,F403
from ._sorting import *  # noqa: F401,F403
from ._selection import *  # noqa: F401,F403
from ._indexing import _getitem, _index_update  # noqa: F401
from ._linalg import *  # noqa: F401,F403
from . import linalg  # noqa: F401



class _ScalarType(type):
    """The type of ``fnp.float32`` and its kin: usable wherever numpy takes a dtype
    (``x.astype(fnp.float32)``, ``x.dtype == fnp.float32``), and, called, an Array
    rather than a numpy scalar, as in JAX: ``fnp.float32(1.0)`` is a strongly
    typed 0-d float32 Array, so it promotes like one (``fnp.float32(1) * x``).
    """

    dtype: _np.dtype

    @property
    def __numpy_dtype__(cls):  # (numpy 2.4's protocol for np.dtype(fnp.float32))
        return cls.dtype

    def __hash__(cls):
        return hash(cls.dtype.type)

    def __eq__(cls, other):
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other):
        return not cls == other

    def __call__(cls, x):
        return asarray(x, cls.dtype)

    def __instancecheck__(cls, x):
        return isinstance(x, cls.dtype.type)

    def __repr__(cls):
        return f"<class 'functrans.numpy.{cls.__name__}'>"


def _scalar_type(dtype) -> _ScalarType:
    name = "bool" if dtype == _dtypes.bool_ else dtype.name
    return _ScalarType(name, (), {"dtype": dtype, "__module__": __name__,
                                  "__doc__": f"The {name} dtype; calling it makes a 0-d Array."})


bool_ = _scalar_type(_dtypes.bool_)
int8, int16, int32, int64 = (_scalar_type(d) for d in (_dtypes.int8, _dtypes.int16, _dtypes.int32, _dtypes.int64))
uint8, uint16, uint32, uint64 = (_scalar_type(d) for d in (_dtypes.uint8, _dtypes.uint16, _dtypes.uint32, _dtypes.uint64))
float16, float32, float64 = (_scalar_type(d) for d in (_dtypes.float16, _dtypes.float32, _dtypes.float64))
bfloat16 = _scalar_type(_dtypes.bfloat16)
complex64, complex128 = _scalar_type(_dtypes.complex64), _scalar_type(_dtypes.complex128)
# numpy's abstract scalar classes, as in JAX: for issubdtype(x.dtype, fnp.floating)
generic, number, inexact, floating, complexfloating = (
    _np.generic, _np.number, _np.inexact, _np.floating, _np.complexfloating)
integer, signedinteger, unsignedinteger = _np.integer, _np.signedinteger, _np.unsignedinteger
character, flexible = _np.character, _np.flexible
dtype = _np.dtype
result_type = _dtypes.result_type
promote_types = lambda a, b: _dtypes.promote_types((_dtypes.canonicalize(a), False), (_dtypes.canonicalize(b), False))[0]  # noqa: E731
finfo, iinfo = _dtypes.finfo, _dtypes.iinfo
pi, e, inf, nan, newaxis = _np.pi, _np.e, float("inf"), float("nan"), None
from ..array import Array as ndarray  # noqa: E402,F401


def broadcast_shapes(*shapes):
    """The shape numpy broadcasting gives to ``shapes``."""
    return _broadcast_shapes_op("broadcast_shapes", *shapes)


def shape(a):
    return tuple(asarray(a).shape)


def ndim(a):
    return asarray(a).ndim


def size(a, axis=None):
    a = asarray(a)
    return a.size if axis is None else a.shape[axis]


def astype(x, dtype, /, *, copy=True):
    """x converted to ``dtype`` (canonicalized: float64 -> float32 unless x64).

    The result is strongly typed, as in JAX: ``fnp.asarray(1.0).astype(fnp.float32)``
    promotes like a float32 array, no longer like a Python float.
    """
    return asarray(x, dtype)


def iscomplexobj(x):
    return _dtypes.is_complex(asarray(x).dtype)


_BFLOAT16_BASES = (_np.floating, _np.inexact, _np.number, _np.generic)


def issubdtype(arg1, arg2) -> bool:
    """Whether dtype ``arg1`` is ``arg2`` or below it in numpy's hierarchy of scalar types.

    As numpy.issubdtype, except that bfloat16 is a floating dtype (in numpy it is
    not), as in JAX.

    Example:
        >>> import functrans.numpy as fnp
        >>> fnp.issubdtype(fnp.bfloat16, fnp.floating), fnp.issubdtype(fnp.int8, fnp.inexact)
        (True, False)
    """
    if arg2 in _BFLOAT16_BASES and not (isinstance(arg1, type) and issubclass(arg1, _np.generic)):
        if _np.dtype(arg1) == _dtypes.bfloat16:
            return True
    return _np.issubdtype(arg1, arg2)


_attach_numpy(__import__(__name__, fromlist=["_"]))
