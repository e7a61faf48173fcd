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
* Out-of-bounds gather indices are clamped, out-of-bounds scatter updates are
  dropped (numpy raises IndexError), because values are not always known
  when a function is traced.
* Functions whose output shape depends on values (``nonzero``, boolean mask
  indexing, ``unique``) need concrete inputs: they fail inside jit/vmap.
* Eager mode computes on the host with numpy and may emit numpy's
  RuntimeWarning for invalid values (e.g. ``log(-1.0)``); jit does not.
"""

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

bool_ = _dtypes.bool_.type
int8, int16, int32, int64 = (d.type for d in (_dtypes.int8, _dtypes.int16, _dtypes.int32, _dtypes.int64))
uint8, uint16, uint32, uint64 = (d.type for d in (_dtypes.uint8, _dtypes.uint16, _dtypes.uint32, _dtypes.uint64))
float16, float32, float64 = (d.type for d in (_dtypes.float16, _dtypes.float32, _dtypes.float64))
bfloat16 = _dtypes.bfloat16.type
complex64, complex128 = _dtypes.complex64.type, _dtypes.complex128.type
dtype = _dtypes.np.dtype
result_type = _dtypes.result_type
promote_types = lambda a, b: _dtypes.promote_types((_dtypes.canonicalize(a), False), (_dtypes.canonicalize(b), False))[0]  # noqa: E731
finfo, iinfo = _dtypes.finfo, _dtypes.iinfo
pi, e, inf, nan, newaxis = _dtypes.np.pi, _dtypes.np.e, float("inf"), float("nan"), None
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
    """x converted to ``dtype`` (canonicalized: float64 -> float32 unless x64)."""
    return asarray(x, dtype)


def iscomplexobj(x):
    return _dtypes.is_complex(asarray(x).dtype)


def issubdtype(arg1, arg2):
    return _dtypes.np.issubdtype(arg1, arg2)


_attach_numpy(__import__(__name__, fromlist=["_"]))
