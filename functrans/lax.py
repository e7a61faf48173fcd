"""functrans.lax: the primitives' own API, with JAX's lax names and signatures.

Unlike functrans.numpy, lax functions do not promote dtypes or broadcast
shapes (Python scalars are typed like the other operand); each is one
primitive, or a short composition noted in its docstring.
"""

from .primitives.elementwise import *  # noqa: F401,F403
from .primitives.elementwise import (round, integer_pow, select_n, select,  # noqa: F401
                                     convert_element_type, clamp, bitwise_and, bitwise_or,
                                     bitwise_not, bitwise_xor)
from .primitives.shape import (broadcast_in_dim, broadcast, reshape, expand_dims,  # noqa: F401
                               squeeze, transpose, rev, concatenate, pad, iota,
                               broadcasted_iota)
