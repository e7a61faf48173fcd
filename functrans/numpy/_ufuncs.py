"""functrans.numpy's elementwise functions (numpy's ufuncs), and where/clip.

They live in one module per concept, each built the same way (``_ufunc.py``:
the eager fast path of ``functrans/eager.py``, then promotion, broadcasting
and bind):

  _arith.py     add ... power, maximum/minimum, negative, absolute, sign, clip
  _bitwise.py   bitwise and/or/xor, shifts, invert
  _compare.py   comparisons, logical functions, isnan & co., fmax/fmin, where,
                isclose/allclose/array_equal
  _math.py      exponentials, logarithms, trigonometry, rounding, complex
                parts, hypot, logaddexp, sinc, nan_to_num, ...

This module gathers them: the rest of functrans.numpy (and scipy.special)
reaches them as ``_ufuncs.name``.
"""

from ._arith import *  # noqa: F401,F403
from ._bitwise import *  # noqa: F401,F403
from ._compare import *  # noqa: F401,F403
from ._math import *  # noqa: F401,F403
from ._math import _zeros_keep_weak  # noqa: F401  (scipy.special's xlogy, xlog1py)
from . import _arith, _bitwise, _compare, _math

__all__ = _arith.__all__ + _bitwise.__all__ + _compare.__all__ + _math.__all__
