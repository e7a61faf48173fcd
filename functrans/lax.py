"""functrans.lax: the primitives' own API, with JAX's lax names and signatures.

Unlike functrans.numpy, lax functions do not promote dtypes or broadcast
shapes (Python scalars are typed like the other operand); each is one
primitive, or a short composition noted in its docstring.
"""

from .primitives.elementwise.compare import (eq, ne, lt, le, gt, ge,  # noqa: F401
                                             bitwise_not, bitwise_and, bitwise_or, bitwise_xor,
                                             shift_left, shift_right_arithmetic,
                                             shift_right_logical, is_finite, nextafter)
from .primitives.elementwise.select_convert import (select_n, select,  # noqa: F401
                                                    convert_element_type, bitcast_convert_type,
                                                    stop_gradient)
from .primitives.elementwise.arithmetic import (neg, add, sub, mul, div,  # noqa: F401,A004
                                                rem, max, min, clamp, sign, floor, ceil, round, abs,
                                                integer_pow, real, imag, conj, complex)
from .primitives.elementwise.functions import (exp, exp2, log, log1p, expm1, tanh,  # noqa: F401
                                               logistic, sin, cos, tan, asin, acos, atan,
                                               sinh, cosh, asinh, acosh, atanh, sqrt, rsqrt,
                                               cbrt, pow, atan2, erf, erfc, erf_inv, lgamma,
                                               digamma, polygamma)
from .primitives.shape import (broadcast_in_dim, broadcast, reshape, expand_dims,  # noqa: F401
                               squeeze, transpose, rev, concatenate, pad, iota,
                               broadcasted_iota)
from .primitives.reductions import *  # noqa: F401,F403
from .primitives.cumulative import *  # noqa: F401,F403
from .primitives.sorting import *  # noqa: F401,F403
from .primitives.linalg import *  # noqa: F401,F403
from .primitives.slicing import slice, slice_in_dim, index_in_dim  # noqa: F401,A004
from .primitives.dynamic_slicing import (dynamic_slice, dynamic_slice_in_dim,  # noqa: F401
                                         dynamic_index_in_dim, dynamic_update_slice,
                                         dynamic_update_slice_in_dim,
                                         dynamic_update_index_in_dim)
from .primitives.gather_scatter import (gather, GatherDimensionNumbers, scatter,  # noqa: F401
                                        scatter_add, ScatterDimensionNumbers)
from .primitives.scatter_combine import scatter_mul, scatter_min, scatter_max  # noqa: F401
from .primitives.control_flow import cond, switch, while_loop  # noqa: F401
from .primitives.scan import scan, fori_loop, map  # noqa: F401,A004
from .primitives.conv import (conv_general_dilated, conv, conv_with_general_padding,  # noqa: F401
                              conv_transpose, conv_dimension_numbers, ConvDimensionNumbers,
                              padtype_to_pads)
from .primitives.windowed import reduce_window  # noqa: F401
from .primitives.collectives import (psum, pmean, pmax, pmin, all_gather,  # noqa: F401
                                     ppermute, psum_scatter, axis_index, axis_size)
