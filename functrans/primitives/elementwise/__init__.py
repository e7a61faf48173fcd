"""Elementwise primitives, one module per concept; each primitive is one row
with every rule, beside its lax wrapper:

=====================  ==============================================================
``compare.py``         comparisons, logical/bitwise ops, shifts, is_finite, nextafter
``select_convert.py``  select_n, convert_element_type, bitcast_convert_type,
                       stop_gradient
``arithmetic.py``      neg add sub mul div rem max min sign floor ceil round abs
                       integer_pow, the complex parts (real imag conj complex), clamp
``functions.py``       exp and log, trigonometric and hyperbolic functions, roots,
                       pow, atan2, erf, lgamma, digamma, polygamma
``_rows.py``           the row builders ``unary``/``binary`` and the helpers that
                       rules share
=====================  ==============================================================

To add a primitive, add its row and wrapper to the module of its concept (see
``_rows.py`` for what a row says); the table-driven tests
(tests/test_lax_elementwise.py) then ask for its test row.

Shape rule: all operands have one shape, except that rank-0 operands
broadcast (so ``mul x 2.0`` needs no broadcast equation); a tangent contributed
by a rank-0 operand alone is broadcast to the output's shape, and the
cotangent of a rank-0 operand is summed. Operands share one dtype;
functrans.numpy promotes before binding. The output is weakly typed only when
every operand is. Every op acts on each element alone, so vmap applies it to
the batched operands, lining up their batch axes.
"""

from ._rows import BINARY_PRIMITIVES as _BINARY, UNARY_PRIMITIVES as _UNARY
from .compare import (and_p, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,  # noqa: F401
                      eq, eq_p, ge, ge_p, gt, gt_p, is_finite, is_finite_p, le, le_p, lt, lt_p, ne,
                      ne_p, nextafter, nextafter_p, not_p, or_p, shift_left, shift_left_p,
                      shift_right_arithmetic, shift_right_arithmetic_p, shift_right_logical,
                      shift_right_logical_p, xor_p)
from .select_convert import (bitcast_convert_type, bitcast_convert_type_p,  # noqa: F401
                             convert_element_type, convert_element_type_p, select, select_n,
                             select_n_p, stop_gradient, stop_gradient_p)
from .arithmetic import (abs, abs_p, add, add_p, ceil, ceil_p, clamp, complex,  # noqa: F401,A004
                         complex_p, conj, conj_p, div, div_p, floor, floor_p, imag, imag_p,
                         integer_pow, integer_pow_p, max, max_p, min, min_p, mul, mul_p, neg,
                         neg_p, real, real_p, rem, rem_p, round, round_p, sign, sign_p, sub,
                         sub_p)
from .functions import (acos, acos_p, acosh, acosh_p, asin, asin_p,  # noqa: F401,A004
                        asinh, asinh_p, atan, atan2, atan2_p, atan_p, atanh, atanh_p, cbrt,
                        cbrt_p, cos, cos_p, cosh, cosh_p, digamma, digamma_p, erf, erf_inv,
                        erf_inv_p, erf_p, erfc, erfc_p, exp, exp2, exp2_p, exp_p, expm1,
                        expm1_p, lgamma, lgamma_p, log, log1p, log1p_p, log_p, logistic,
                        logistic_p, polygamma, polygamma_p, pow, pow_p, rsqrt, rsqrt_p, sin,
                        sin_p, sinh, sinh_p, sqrt, sqrt_p, tan, tan_p, tanh, tanh_p)

# The primitives without parameters (every table-driven test runs on each).
UNARY_PRIMITIVES = tuple(_UNARY)
BINARY_PRIMITIVES = tuple(_BINARY)
